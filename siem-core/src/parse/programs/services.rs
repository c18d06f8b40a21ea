//! Network services whose failed logins and refusals are worth an event: mail servers
//! (Courier, Cyrus, UW IMAP, solid-pop3d, Dovecot, Postfix), FTP servers (wu-ftpd, gssftpd,
//! ProFTPD, Pure-FTPd), BIND `named`, xinetd, Webmin and Proxmox VE. Each decoder reads the
//! client address (and user, when the message names one) of the message shapes fail2ban's
//! filters are written for; the logsource stays `service: syslog` (Sigma has no service names
//! for these).

use super::Keywords;
use crate::event::{Event, static_name};

use super::{
    Outcome, classify, find_from, pam, rsplit_once, set_source, set_user, split_host_port,
    split_once, word,
};

const AUTH: Keywords = keywords!["authentication"];
const NETWORK: Keywords = keywords!["network"];
const INFO: Keywords = keywords!["info"];
const START: Keywords = keywords!["start"];
const DENIED: Keywords = keywords!["denied"];
const CONNECTION_END: Keywords = keywords!["connection", "end"];

/// A failed login to a service: `login` / failure.
fn failed_login(event: &mut Event, user: &str, address: &str, port: Option<&str>) {
    classify(event, AUTH, INFO, "login", Some(Outcome::Failure));
    set_user(event, user);
    set_source(event, address, port);
}

/// `NAME[ADDR]` / `[ADDR]` / `[ADDR]:PORT` → (ADDR, PORT): the bracketed address mail servers
/// write after the client's name.
fn bracketed(s: &str) -> Option<(&str, Option<&str>)> {
    let open = s.find('[')?;
    let close = open + 1 + s.get(open + 1..)?.find(']')?;
    let address = s.get(open + 1..close)?;
    let port = s
        .get(close + 1..)
        .and_then(|r| r.strip_prefix(':'))
        .map(|r| r.split(|c: char| !c.is_ascii_digit()).next().unwrap_or(""))
        .filter(|p| !p.is_empty());
    Some((address, port))
}

/// Courier, Cyrus (imapd, pop3d, sieve), UW IMAP and solid-pop3d.
pub(super) fn decode_mail(message: &str, event: &mut Event) -> bool {
    let m = message.trim();
    if pam::is_pam_message(m) {
        return pam::decode(m, false, event);
    }
    // Courier: `LOGIN FAILED, user=x, ip=[::ffff:1.2.3.4]`
    if let Some(rest) = m.strip_prefix("LOGIN FAILED, ") {
        let user = split_once(rest, "user=").map_or("", |(_, u)| u.split(',').next().unwrap_or(""));
        let Some((_, ip)) = split_once(rest, "ip=[") else {
            return false;
        };
        let address = ip.split(']').next().unwrap_or("");
        failed_login(event, user, address, None);
        return true;
    }
    // Cyrus: `badlogin: name [1.2.3.4] mech [SASL(-13): ...]`, sieve `badlogin: name[1.2.3.4] PLAIN ...`
    if let Some(rest) = m.strip_prefix("badlogin: ") {
        let Some((address, _)) = bracketed(rest) else {
            return false;
        };
        classify(event, AUTH, INFO, "login", Some(Outcome::Failure));
        set_source(event, address, None);
        return true;
    }
    // UW IMAP: `Login failed user=x auth=x host=name [1.2.3.4]`, `Login excessive login failures ...`,
    // `Login disabled user=...`, `Failed uwmaster override of user=...`
    if m.starts_with("Login failed ")
        || m.starts_with("Login excessive login failures ")
        || m.starts_with("Login disabled ")
        || m.starts_with("Failed uwmaster override ")
    {
        let Some((_, host)) = split_once(m, "host=") else {
            return false;
        };
        let Some((address, _)) = bracketed(host) else {
            return false;
        };
        let user = split_once(m, "user=").map_or("", |(_, u)| word(u).0);
        failed_login(event, user, address, None);
        return true;
    }
    // solid-pop3d: `authentication failed: no such user: adrian - 1.2.3.4`, `root login not allowed - 1.2.3.4`, ...
    if (m.contains("authentication failed")
        || m.contains("login not allowed")
        || m.contains("APOP secret"))
        && let Some((head, address)) = rsplit_once(m, " - ")
    {
        let user = rsplit_once(head, "user ")
            .or_else(|| rsplit_once(head, "user: "))
            .map_or("", |(_, u)| u);
        failed_login(event, user.trim(), address, None);
        return true;
    }
    false
}

/// Dovecot: `imap-login: Aborted login (auth failed, 1 attempts): user=<u>, method=PLAIN, rip=1.2.3.4, ...`,
/// `auth-worker(304): pam(u,1.2.3.4): pam_authenticate() failed: ...`, `auth: passwd-file(u,1.2.3.4): unknown user`.
pub(super) fn decode_dovecot(message: &str, event: &mut Event) -> bool {
    let mut m = message.trim();
    // `dovecot: imap-login: ...`, `auth-worker(304): ...`, `Info: ...` prefixes.
    for _ in 0..4 {
        let (head, rest) = match split_once(m, ": ") {
            Some(parts) => parts,
            None => break,
        };
        let head_base = head.split('(').next().unwrap_or(head);
        if matches!(
            head_base,
            "dovecot" | "auth" | "auth-worker" | "Info" | "Warning" | "Error"
        ) || head_base.ends_with("-login")
        {
            m = rest;
        } else {
            break;
        }
    }
    if pam::is_pam_message(m) && !m.starts_with("pam(") {
        return pam::decode(m, false, event);
    }
    if let Some((_, rip)) = split_once(m, "rip=") {
        let address = rip.split([',', ' ']).next().unwrap_or("");
        let user = split_once(m, "user=<").map_or("", |(_, u)| u.split('>').next().unwrap_or(""));
        let failed = [
            "auth failed",
            "plaintext auth",
            "no auth attempts",
            "before auth",
            "finish SASL auth",
        ]
        .iter()
        .any(|needle| m.contains(needle));
        if failed {
            failed_login(event, user, address, None);
        } else if m.starts_with("Login: ") {
            classify(event, AUTH, START, "login", Some(Outcome::Success));
            set_user(event, user);
            set_source(event, address, None);
        } else {
            classify(event, NETWORK, CONNECTION_END, "disconnect", None);
            set_user(event, user);
            set_source(event, address, None);
        }
        return true;
    }
    // Password database lookups: `pam(u,1.2.3.4): ...`, `sql(u,1.2.3.4,<session>): ...`
    let lookup = [
        "pam(",
        "sql(",
        "ldap(",
        "passwd-file(",
        "passwd(",
        "shadow(",
        "checkpassword(",
    ]
    .iter()
    .find_map(|db| find_from(m, db, 0).map(|at| at + db.len()));
    if let Some(start) = lookup
        && let Some(inside) = m
            .get(start..)
            .and_then(|r| r.split_once(')'))
            .map(|(inside, _)| inside)
    {
        let mut parts = inside.split(',');
        let user = parts.next().unwrap_or("");
        let address = parts.next().unwrap_or("");
        let tail = m.get(start + inside.len()..).unwrap_or_default();
        let failed = [
            "failed",
            "unknown user",
            "mismatch",
            "invalid credentials",
            "Permission denied",
        ]
        .iter()
        .any(|needle| tail.contains(needle));
        if !failed || address.is_empty() {
            return false;
        }
        failed_login(event, user, address, None);
        return true;
    }
    false
}

/// Postfix (`postfix/smtpd`, `postfix/postscreen`, ...): SASL failures, rejects and the
/// connection-level complaints fail2ban bans for.
pub(super) fn decode_postfix(message: &str, event: &mut Event) -> bool {
    let m = message.trim();
    // `warning: name[1.2.3.4]: SASL LOGIN authentication failed: ...[, sasl_username=u]`
    if let Some(rest) = m.strip_prefix("warning: ")
        && let Some((client, tail)) = split_once(rest, ": SASL ").or_else(|| {
            // `name[1.2.3.4]:55729: SASL ...`
            find_from(rest, "]:", 0).and_then(|at| {
                let after = rest.get(at + 2..)?;
                let end = after.find(": SASL ")?;
                Some((rest.get(..at + 2 + end)?, after.get(end + 7..)?))
            })
        })
        && find_from(tail, "authentication failed", 0).is_some()
    {
        let Some((address, port)) = bracketed(client) else {
            return false;
        };
        let user = split_once(tail, "sasl_username=")
            .map_or("", |(_, u)| u.split(',').next().unwrap_or(""));
        failed_login(event, user.trim(), address, port);
        return true;
    }
    // `warning: hostname x does not resolve to address 1.2.3.4: ...`
    if let Some(rest) = m.strip_prefix("warning: hostname ")
        && let Some((_, tail)) = split_once(rest, " does not resolve to address ")
    {
        let address = tail.split([':', ' ']).next().unwrap_or("");
        classify(event, NETWORK, INFO, "smtp-reverse-mapping-failed", None);
        set_source(event, address, None);
        return true;
    }
    // Rejections: `NOQUEUE: reject: RCPT from name[1.2.3.4]: 554 ...`, `ID: milter-reject: DATA from ...`
    if let Some((_, tail)) = split_once(m, "reject: ")
        && let Some((_, client)) = split_once(tail, " from ")
        && let Some((address, port)) = bracketed(client)
    {
        classify(
            event,
            NETWORK,
            DENIED,
            "smtp-reject",
            Some(Outcome::Failure),
        );
        set_source(event, address, port);
        if let Some((_, reason)) = split_once(client, "]: ") {
            event.insert_static(static_name!("event.reason"), reason);
        }
        return true;
    }
    // Connection-level: `lost connection after CONNECT from name[1.2.3.4]`, `improper command
    // pipelining after ...`, `too many errors after ...`, `disconnect from name[1.2.3.4] ... auth=0/1`,
    // postscreen `PREGREET ... from [1.2.3.4]:port`, rate limits.
    let client = match rsplit_once(m, " from ") {
        Some((_, client)) => client,
        None => match m.strip_prefix("disconnect from ") {
            Some(client) => client,
            None => return false,
        },
    };
    let Some((address, port)) = bracketed(client) else {
        return false;
    };
    let failed = [
        "auth=0/",
        "improper command pipelining",
        "too many errors",
        "lost connection",
        "PREGREET",
        "HANGUP",
        "LIMIT",
        "limit exceeded",
    ]
    .iter()
    .any(|needle| m.contains(needle));
    let kind: Keywords = if failed { DENIED } else { CONNECTION_END };
    classify(
        event,
        NETWORK,
        kind,
        "smtp-connection",
        failed.then_some(Outcome::Failure),
    );
    set_source(event, address, port);
    true
}

/// BIND: `client [@0x7f6450002ef0 ]1.2.3.4#53[ (name)]: [view v: ]query (cache) 'x/A/IN' denied`,
/// `zone transfer 'x/AXFR/IN' denied`, `bad zone transfer request: ...`
pub(super) fn decode_named(message: &str, event: &mut Event) -> bool {
    let m = message.trim();
    let Some((_, rest)) = split_once(m, "client ") else {
        return false;
    };
    let rest = match rest.strip_prefix('@') {
        Some(r) => word(r).1.trim_start(),
        None => rest,
    };
    let (endpoint, tail) = word(rest);
    let endpoint = endpoint.trim_end_matches(':');
    let Some((address, port)) = endpoint.rsplit_once('#') else {
        return false;
    };
    let action = if tail.contains("zone transfer") {
        "dns-zone-transfer-denied"
    } else if tail.contains("denied") {
        "dns-query-denied"
    } else {
        return false;
    };
    classify(event, NETWORK, DENIED, action, Some(Outcome::Failure));
    set_source(event, address, Some(port));
    true
}

/// xinetd: `FAIL: telnet address from=1.2.3.4`
pub(super) fn decode_xinetd(message: &str, event: &mut Event) -> bool {
    let m = message.trim();
    let Some(rest) = m.strip_prefix("FAIL: ") else {
        return false;
    };
    let Some((_, address)) = split_once(rest, "from=") else {
        return false;
    };
    classify(
        event,
        NETWORK,
        DENIED,
        "connection-refused",
        Some(Outcome::Failure),
    );
    set_source(event, word(address).0, None);
    true
}

/// Webmin: `Invalid login as root from 1.2.3.4`, `Non-existent login as robert from 1.2.3.4`
pub(super) fn decode_webmin(message: &str, event: &mut Event) -> bool {
    let m = message.trim();
    let Some(rest) = m
        .strip_prefix("Invalid login as ")
        .or_else(|| m.strip_prefix("Non-existent login as "))
    else {
        return false;
    };
    let Some((user, address)) = rsplit_once(rest, " from ") else {
        return false;
    };
    failed_login(event, user, address, None);
    true
}

/// wu-ftpd `failed login from name [1.2.3.4]`, gssftpd `repeated login failures from 1.2.3.4 (name)`,
/// ProFTPD `name (client[1.2.3.4]): USER x (Login failed): ...`, Pure-FTPd `(?@1.2.3.4) [WARNING] Authentication failed for user [x]`.
pub(super) fn decode_ftp(message: &str, event: &mut Event) -> bool {
    let m = message.trim();
    if pam::is_pam_message(m) {
        return pam::decode(m, false, event);
    }
    if let Some(rest) = m.strip_prefix("failed login from ") {
        let address = bracketed(rest).map_or(word(rest).0, |(a, _)| a);
        failed_login(event, "", address, None);
        return true;
    }
    if let Some(rest) = m.strip_prefix("repeated login failures from ") {
        failed_login(event, "", word(rest).0, None);
        return true;
    }
    // Pure-FTPd
    if let Some(rest) = m.strip_prefix("(") {
        if let Some((who, tail)) = rest.split_once(") ")
            && let Some((_, address)) = who.rsplit_once('@')
            && let Some((_, user)) = split_once(tail, "Authentication failed for user [")
        {
            failed_login(event, user.trim_end_matches(']'), address, None);
            return true;
        }
        return false;
    }
    // ProFTPD: `host (name[1.2.3.4]): USER u (Login failed): ...`, `... - USER u: no such user found ...`,
    // `... - SECURITY VIOLATION: root login attempted`, `... - Maximum login attempts (3) exceeded`
    let Some((_, session)) = split_once(m, " (") else {
        return false;
    };
    let Some((client, tail)) = split_once(session, ")") else {
        return false;
    };
    let Some((address, _)) = bracketed(client) else {
        return false;
    };
    let tail = tail.trim_start_matches([':', ' ', '-']);
    let user = if let Some(rest) = tail.strip_prefix("USER ") {
        let end = rest.find([' ', ':']).unwrap_or(rest.len());
        &rest[..end]
    } else if let Some(rest) = tail.strip_prefix("SECURITY VIOLATION: ") {
        word(rest).0
    } else if tail.starts_with("Maximum login attempts") {
        ""
    } else {
        return false;
    };
    if !(tail.contains("Login failed")
        || tail.contains("no such user")
        || tail.contains("login attempted")
        || tail.starts_with("Maximum login attempts"))
    {
        return false;
    }
    failed_login(event, user, address, None);
    true
}

/// Proxmox VE `pvedaemon`: `authentication failure; rhost=1.2.3.4 user=root@pam msg=...`
pub(super) fn decode_proxmox(message: &str, event: &mut Event) -> bool {
    let m = message.trim();
    let Some(rest) = m.strip_prefix("authentication failure; ") else {
        return false;
    };
    let address = split_once(rest, "rhost=").map_or("", |(_, r)| word(r).0);
    let user = split_once(rest, "user=").map_or("", |(_, r)| word(r).0);
    let (address, port) = if address.contains('.') && address.matches(':').count() == 1 {
        split_host_port(address)
    } else {
        (address, None)
    };
    failed_login(event, user, address, port);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(e: &Event) -> Option<String> {
        e.get("source.ip").map(|v| v.to_text().into_owned())
    }

    #[test]
    fn shapes() {
        type Decoder = fn(&str, &mut Event) -> bool;
        let cases: &[(Decoder, &str, &str, Option<&str>)] = &[
            (
                decode_mail,
                "LOGIN FAILED, user=tester, ip=[::ffff:192.0.2.5], port=[255]",
                "192.0.2.5",
                Some("tester"),
            ),
            (
                decode_mail,
                "badlogin: localhost.localdomain [127.0.0.1] plaintext cyrus@localdomain SASL(-13): authentication failure: checkpass failed",
                "127.0.0.1",
                None,
            ),
            (
                decode_mail,
                "badlogin: example.com[1.2.3.4] PLAIN authentication failure",
                "1.2.3.4",
                None,
            ),
            (
                decode_mail,
                "Login failed user=lizdy auth=lizdy host=h2066373.stratoserver.net [81.169.154.112]",
                "81.169.154.112",
                Some("lizdy"),
            ),
            (
                decode_mail,
                "authentication failed: no such user: adrian - 123.33.44.45",
                "123.33.44.45",
                Some("adrian"),
            ),
            (
                decode_dovecot,
                "imap-login: Disconnected (auth failed, 2 attempts): user=<username.bob>, method=PLAIN, rip=49.176.98.87, lip=113.212.99.194, TLS",
                "49.176.98.87",
                Some("username.bob"),
            ),
            (
                decode_dovecot,
                "auth-worker(304): pam(username,1.2.3.4): pam_authenticate() failed: Authentication failure (password mismatch?)",
                "1.2.3.4",
                Some("username"),
            ),
            (
                decode_postfix,
                "warning: unknown[192.0.2.152]: SASL LOGIN authentication failed: (reason unavailable), sasl_username=admin",
                "192.0.2.152",
                Some("admin"),
            ),
            (
                decode_postfix,
                "warning: unknown[192.0.2.237]:55729: SASL LOGIN authentication failed: authentication failure",
                "192.0.2.237",
                None,
            ),
            (
                decode_postfix,
                "NOQUEUE: reject: RCPT from example.com[192.0.43.10]: 450 4.7.1 : Helo command rejected: Host not found; from=<> to=<>",
                "192.0.43.10",
                None,
            ),
            (
                decode_postfix,
                "PREGREET 14 after 0.08 from [192.0.2.2]:59415: EHLO ylmf-pc\\r\\n",
                "192.0.2.2",
                None,
            ),
            (
                decode_named,
                "client @0x7f6450002ef0 192.0.2.1#23332 (example.com): bad zone transfer request: 'test.com/IN': non-authoritative zone (NOTAUTH)",
                "192.0.2.1",
                None,
            ),
            (
                decode_named,
                "client 194.145.196.18#4795: query 'ricreig.com/NS/IN' denied",
                "194.145.196.18",
                None,
            ),
            (
                decode_xinetd,
                "FAIL: telnet address from=198.51.100.169",
                "198.51.100.169",
                None,
            ),
            (
                decode_webmin,
                "Non-existent login as admin@goodeyedeer.com.au from 14.200.251.155",
                "14.200.251.155",
                Some("admin@goodeyedeer.com.au"),
            ),
            (
                decode_ftp,
                "failed login from hj-145-173-a8.bta.net.cn [202.108.145.173]",
                "202.108.145.173",
                None,
            ),
            (
                decode_ftp,
                "myhost.domain.com (123.123.123.123[123.123.123.123]): USER username (Login failed): User in /etc/ftpusers",
                "123.123.123.123",
                Some("username"),
            ),
            (
                decode_ftp,
                "(?@24.79.92.194) [WARNING] Authentication failed for user [Administrator]",
                "24.79.92.194",
                Some("Administrator"),
            ),
            (
                decode_proxmox,
                "authentication failure; rhost=192.0.2.123 user=root@pam msg=Authentication failure",
                "192.0.2.123",
                Some("root@pam"),
            ),
        ];
        for (decode, message, address, user) in cases {
            let mut e = Event::new();
            assert!(decode(message, &mut e), "{message}");
            assert_eq!(ip(&e).as_deref(), Some(*address), "{message}");
            assert_eq!(e.get_str("user.name"), *user, "{message}");
        }
    }
}
