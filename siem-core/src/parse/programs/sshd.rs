//! OpenSSH `sshd` messages (also `sshd-session` / `sshd-auth` of OpenSSH 9.8+).
//!
//! User names are attacker-controlled text: `Invalid user a from 1.2.3.4 from 5.6.7.8` names
//! the user `a from 1.2.3.4`. Each matcher therefore anchors on the part of the message sshd
//! writes itself (the fixed tail ` from ADDR port N ssh2`, the last ` port N`) and takes the
//! user name as whatever lies before it.

use super::Keywords;
use crate::event::{Event, static_name};

use super::{
    Outcome, address_and_port, classify, find_from, is_digits, pam, rsplit_once, set_destination,
    set_source, set_user, split_once, word,
};

const AUTH: Keywords = keywords!["authentication"];
const NETWORK: Keywords = keywords!["network"];
const SESSION: Keywords = keywords!["session"];
const INFO: Keywords = keywords!["info"];
const START: Keywords = keywords!["start"];
const END: Keywords = keywords!["end"];
const CONNECTION_END: Keywords = keywords!["connection", "end"];
const CONNECTION_START: Keywords = keywords!["connection", "start"];
const PROTOCOL: Keywords = keywords!["protocol", "error"];
const DENIED: Keywords = keywords!["denied"];

pub(super) fn decode(message: &str, event: &mut Event) -> bool {
    let mut m = message.trim_end();
    // rsyslog's repeat folding: `message repeated 3 times: [ Failed password for ...]`.
    if let Some(rest) = m.strip_prefix("message repeated ")
        && let Some((_, inner)) = split_once(rest, ": [")
    {
        m = inner.strip_suffix(']').unwrap_or(inner).trim();
    }
    // Solaris adds a message id: `[ID 800047 auth.info] Failed ...`.
    if let Some(rest) = m.strip_prefix("[ID ")
        && let Some((_, after)) = split_once(rest, "] ")
    {
        m = after;
    }
    // journald may put a kernel timestamp first: `kernel:[  970.699396]: Failed ...`.
    if let Some(rest) = m.strip_prefix("kernel:")
        && let Some((_, after)) = rest.split_once(']')
    {
        m = after.strip_prefix(':').unwrap_or(after).trim_start();
    }
    for _ in 0..2 {
        if let Some(rest) = m
            .strip_prefix("error: ")
            .or_else(|| m.strip_prefix("fatal: "))
        {
            m = rest;
        }
    }
    let (m, preauth) = match m.strip_suffix("[preauth]") {
        Some(rest) => (rest.trim_end(), true),
        None => (m, false),
    };
    match m.as_bytes().first() {
        Some(b'A') => accepted(m, event) || address_maps(m, event),
        Some(b'B') => bad_version(m, event),
        Some(b'C') => connection(m, preauth, event),
        Some(b'D') => d_messages(m, preauth, event),
        Some(b'F') => failed(m, event),
        Some(b'I') => invalid_user(m, event),
        Some(b'M') => magic_value(m, event),
        Some(b'P') => pam_error(m, event),
        Some(b'R') => received_disconnect(m, preauth, event) || root_refused(m, event),
        Some(b'S') => starting_session(m, event),
        Some(b'T') => timeout(m, event),
        Some(b'U') => user_not_allowed(m, event) || unable_to_negotiate(m, event),
        Some(b'b') => banner(m, event),
        Some(b'i') => input_userauth(m, event),
        Some(b'k') => kex(m, event),
        Some(b'm') => max_attempts(m, event),
        Some(b'n') => no_matching(m, event),
        Some(b'p' | b'(') => pam::decode(m, false, event),
        Some(b'r') => refused_connect(m, event) || reverse_mapping(m, event),
        Some(b's') => dispatch_fatal(m, event),
        _ => false,
    }
}

/// The part of a login message after ` for `: `[invalid user ]USER from ADDR[ port N][ sshV][: info]`.
struct Login<'a> {
    user: &'a str,
    invalid: bool,
    address: &'a str,
    port: Option<&'a str>,
}

fn login_tail(s: &str) -> Option<Login<'_>> {
    let (invalid, s) = match s
        .strip_prefix("invalid user ")
        .or_else(|| s.strip_prefix("illegal user "))
    {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    // The first ` from ADDR[ port N][ sshV]` that ends the message or is followed by sshd's
    // `: <auth info>`: a user name holding ` from x port y ssh2` is then skipped, because what
    // follows it is another ` from`, not the end.
    let mut next = find_from(s, " from ", 0);
    while let Some(at) = next {
        next = find_from(s, " from ", at + 1);
        let (address, port, mut rest) = address_and_port(&s[at + 6..]);
        if let Some(r) = rest
            .strip_prefix(" ssh2")
            .or_else(|| rest.strip_prefix(" ssh1"))
        {
            rest = r;
        }
        if address.is_empty() {
            continue;
        }
        if rest.is_empty() || rest.starts_with(": ") {
            return Some(Login {
                user: &s[..at],
                invalid,
                address,
                port,
            });
        }
    }
    None
}

fn put_login(event: &mut Event, login: &Login<'_>, action: &'static str, outcome: Outcome) {
    let kind = if outcome == Outcome::Success {
        START
    } else {
        INFO
    };
    classify(event, AUTH, kind, action, Some(outcome));
    if login.invalid || !login.user.is_empty() {
        event.insert_static(static_name!("user.name"), login.user);
    }
    set_source(event, login.address, login.port);
}

/// `Accepted password for root from 1.2.3.4 port 22 ssh2[: RSA SHA256:...]`
fn accepted(m: &str, event: &mut Event) -> bool {
    let Some(rest) = m.strip_prefix("Accepted ") else {
        return false;
    };
    let Some((_method, tail)) = split_once(rest, " for ") else {
        return false;
    };
    let Some(login) = login_tail(tail) else {
        return false;
    };
    put_login(event, &login, "ssh-login", Outcome::Success);
    true
}

/// `Failed password for [invalid user ]root from 1.2.3.4 port 22 ssh2`
fn failed(m: &str, event: &mut Event) -> bool {
    let Some(rest) = m.strip_prefix("Failed ") else {
        return false;
    };
    let Some((_method, tail)) = split_once(rest, " for ") else {
        return false;
    };
    let Some(login) = login_tail(tail) else {
        return false;
    };
    put_login(event, &login, "ssh-login", Outcome::Failure);
    true
}

/// `error: maximum authentication attempts exceeded for [invalid user ]root from 1.2.3.4 port 22 ssh2`
fn max_attempts(m: &str, event: &mut Event) -> bool {
    let Some(tail) = m.strip_prefix("maximum authentication attempts exceeded for ") else {
        return false;
    };
    let Some(login) = login_tail(tail) else {
        return false;
    };
    put_login(event, &login, "ssh-max-auth-attempts", Outcome::Failure);
    true
}

/// `Invalid user admin from 1.2.3.4[ port 22]` (the user may be empty or hold spaces).
fn invalid_user(m: &str, event: &mut Event) -> bool {
    let Some(rest) = m.strip_prefix("Invalid user ") else {
        return false;
    };
    let Some((user, tail)) =
        rsplit_once(rest, " from ").or_else(|| rest.strip_prefix("from ").map(|t| ("", t)))
    else {
        return false;
    };
    let (address, port, _) = address_and_port(tail);
    classify(
        event,
        AUTH,
        INFO,
        "ssh-invalid-user",
        Some(Outcome::Failure),
    );
    event.insert_static(static_name!("user.name"), user);
    set_source(event, address, port);
    true
}

/// `input_userauth_request: invalid user admin`
fn input_userauth(m: &str, event: &mut Event) -> bool {
    let Some(user) = m.strip_prefix("input_userauth_request: invalid user ") else {
        return false;
    };
    classify(
        event,
        AUTH,
        INFO,
        "ssh-invalid-user",
        Some(Outcome::Failure),
    );
    event.insert_static(static_name!("user.name"), user);
    true
}

/// `User root from 1.2.3.4 not allowed because not listed in AllowUsers`,
/// `User root not allowed because account is locked`
fn user_not_allowed(m: &str, event: &mut Event) -> bool {
    let Some(rest) = m.strip_prefix("User ") else {
        return false;
    };
    let Some((who, reason)) = rsplit_once(rest, " not allowed because ") else {
        return false;
    };
    classify(
        event,
        AUTH,
        INFO,
        "ssh-user-not-allowed",
        Some(Outcome::Failure),
    );
    match rsplit_once(who, " from ") {
        Some((user, address)) => {
            set_user(event, user);
            set_source(event, address, None);
        }
        None => set_user(event, who),
    }
    event.insert_static(static_name!("event.reason"), reason);
    true
}

/// `ROOT LOGIN REFUSED FROM 1.2.3.4[ port 22]`
fn root_refused(m: &str, event: &mut Event) -> bool {
    let Some(rest) = m.strip_prefix("ROOT LOGIN REFUSED FROM ") else {
        return false;
    };
    let (address, port, _) = address_and_port(rest);
    classify(
        event,
        AUTH,
        INFO,
        "ssh-root-login-refused",
        Some(Outcome::Failure),
    );
    event.insert_static(static_name!("user.name"), "root");
    set_source(event, address, port);
    true
}

/// Who an sshd disconnect message names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Nobody,
    /// `authenticating user x`: connected, tried, did not finish.
    Authenticating,
    /// `invalid user x`
    Invalid,
    /// `user x`: a logged-in user.
    User,
}

struct Peer<'a> {
    who: Who,
    user: &'a str,
    address: &'a str,
    port: Option<&'a str>,
}

/// `[authenticating user U |invalid user U |user U ]ADDR[ port N]` (from the right: the address
/// is the last word before ` port N`, the user everything before it).
fn peer_tail(s: &str) -> Option<Peer<'_>> {
    let (head, port) = match rsplit_once(s, " port ") {
        Some((head, port)) if is_digits(port) => (head, Some(port)),
        _ => (s, None),
    };
    let (who_text, address) = head.rsplit_once(' ').unwrap_or(("", head));
    if address.is_empty() {
        return None;
    }
    let (who, user) = if who_text.is_empty() {
        (Who::Nobody, "")
    } else if let Some(user) = who_text.strip_prefix("authenticating user ") {
        (Who::Authenticating, user)
    } else if let Some(user) = who_text.strip_prefix("invalid user ") {
        (Who::Invalid, user)
    } else if let Some(user) = who_text.strip_prefix("user ") {
        (Who::User, user)
    } else {
        return None;
    };
    Some(Peer {
        who,
        user,
        address,
        port,
    })
}

/// A connection that ended: before authentication it is a failed attempt.
fn put_disconnect(event: &mut Event, peer: &Peer<'_>, preauth: bool) {
    if preauth || matches!(peer.who, Who::Authenticating | Who::Invalid) {
        classify(
            event,
            AUTH,
            INFO,
            "ssh-preauth-disconnect",
            Some(Outcome::Failure),
        );
    } else if peer.who == Who::User {
        classify(event, SESSION, END, "ssh-disconnect", None);
    } else {
        classify(event, NETWORK, CONNECTION_END, "ssh-disconnect", None);
    }
    if peer.who != Who::Nobody {
        event.insert_static(static_name!("user.name"), peer.user);
    }
    set_source(event, peer.address, peer.port);
}

/// `Connection closed by ...`, `Connection reset by ...`, `Connection from A port P on B port Q`,
/// `Close session: user U from A port P id N`
fn connection(m: &str, preauth: bool, event: &mut Event) -> bool {
    if let Some(rest) = m
        .strip_prefix("Connection closed by ")
        .or_else(|| m.strip_prefix("Connection reset by "))
    {
        let Some(peer) = peer_tail(rest) else {
            return false;
        };
        put_disconnect(event, &peer, preauth);
        return true;
    }
    if let Some(rest) = m.strip_prefix("Connection from ") {
        let (address, port, rest) = address_and_port(rest);
        if port.is_none() && !rest.is_empty() {
            return false;
        }
        classify(event, NETWORK, CONNECTION_START, "ssh-connection", None);
        set_source(event, address, port);
        if let Some(local) = rest.strip_prefix(" on ") {
            let (address, port, _) = address_and_port(local);
            set_destination(event, address, port);
        }
        return true;
    }
    if let Some(rest) = m.strip_prefix("Close session: user ") {
        let Some((user, tail)) = rsplit_once(rest, " from ") else {
            return false;
        };
        let (address, port, _) = address_and_port(tail);
        classify(event, SESSION, END, "ssh-session-closed", None);
        set_user(event, user);
        set_source(event, address, port);
        return true;
    }
    false
}

/// `Starting session: shell on pts/0 for root from 1.2.3.4 port 22 id 0`
fn starting_session(m: &str, event: &mut Event) -> bool {
    let Some(rest) = m.strip_prefix("Starting session: ") else {
        return false;
    };
    let Some((_, tail)) = split_once(rest, " for ") else {
        return false;
    };
    let Some((user, tail)) = rsplit_once(tail, " from ") else {
        return false;
    };
    let (address, port, _) = address_and_port(tail);
    classify(
        event,
        SESSION,
        START,
        "ssh-session-opened",
        Some(Outcome::Success),
    );
    set_user(event, user);
    set_source(event, address, port);
    true
}

/// `Did not receive identification string from ...`, `Disconnected from ...`,
/// `Disconnecting: Too many authentication failures[ for U]`, `Disconnecting invalid user U A port P: reason`
fn d_messages(m: &str, preauth: bool, event: &mut Event) -> bool {
    if let Some(rest) = m.strip_prefix("Disconnected from ") {
        let Some(peer) = peer_tail(rest) else {
            return false;
        };
        put_disconnect(event, &peer, preauth);
        return true;
    }
    if let Some(rest) = m.strip_prefix("Disconnecting: ") {
        let Some(rest) = rest.strip_prefix("Too many authentication failures") else {
            return false;
        };
        classify(
            event,
            AUTH,
            INFO,
            "ssh-max-auth-attempts",
            Some(Outcome::Failure),
        );
        if let Some(user) = rest.strip_prefix(" for ") {
            let user = user.strip_prefix("invalid user ").unwrap_or(user);
            event.insert_static(static_name!("user.name"), user);
        }
        return true;
    }
    if let Some(rest) = m.strip_prefix("Disconnecting ") {
        // The reason follows the first `: ` after a complete ` port N`.
        for (at, _) in rest.match_indices(": ") {
            if let Some(peer) = peer_tail(&rest[..at]) {
                let reason = &rest[at + 2..];
                if reason.starts_with("Too many authentication failures") {
                    classify(
                        event,
                        AUTH,
                        INFO,
                        "ssh-max-auth-attempts",
                        Some(Outcome::Failure),
                    );
                    if peer.who != Who::Nobody {
                        event.insert_static(static_name!("user.name"), peer.user);
                    }
                    set_source(event, peer.address, peer.port);
                } else {
                    put_disconnect(event, &peer, true);
                }
                event.insert_static(static_name!("event.reason"), reason);
                return true;
            }
        }
        return false;
    }
    if let Some(rest) = m.strip_prefix("Did not receive identification string from ") {
        let (address, port, _) = address_and_port(rest);
        classify(
            event,
            NETWORK,
            PROTOCOL,
            "ssh-protocol-error",
            Some(Outcome::Failure),
        );
        set_source(event, address, port);
        event.insert_static(
            static_name!("event.reason"),
            "did not receive identification string",
        );
        return true;
    }
    false
}

/// `Received disconnect from A[ port P]:[ ]11: reason`
fn received_disconnect(m: &str, preauth: bool, event: &mut Event) -> bool {
    let Some(rest) = m.strip_prefix("Received disconnect from ") else {
        return false;
    };
    let (address, port, tail) = match split_once(rest, " port ") {
        Some((address, after)) if !address.contains(' ') => {
            let end = after
                .bytes()
                .position(|c| !c.is_ascii_digit())
                .unwrap_or(after.len());
            (address, Some(&after[..end]), &after[end..])
        }
        _ => match split_once(rest, ": ") {
            Some((address, tail)) => (address, None, tail),
            None => return false,
        },
    };
    let reason = tail.trim_start_matches([':', ' ']);
    // Skip the numeric disconnect code.
    let reason = match split_once(reason, ": ") {
        Some((code, text)) if is_digits(code) => text,
        _ => reason,
    };
    let peer = Peer {
        who: Who::Nobody,
        user: "",
        address,
        port,
    };
    put_disconnect(event, &peer, preauth);
    if !reason.is_empty() {
        event.insert_static(static_name!("event.reason"), reason);
    }
    true
}

/// `Unable to negotiate with A port P: no matching ... found. Their offer: ...`,
/// `Unable to negotiate a key exchange method`
fn unable_to_negotiate(m: &str, event: &mut Event) -> bool {
    let Some(rest) = m.strip_prefix("Unable to negotiate ") else {
        return false;
    };
    classify(
        event,
        NETWORK,
        PROTOCOL,
        "ssh-key-exchange-failed",
        Some(Outcome::Failure),
    );
    if let Some(rest) = rest.strip_prefix("with ") {
        let (address, port, tail) = address_and_port(rest);
        set_source(event, address.trim_end_matches(':'), port);
        let reason = tail.trim_start_matches([':', ' ']);
        if !reason.is_empty() {
            event.insert_static(static_name!("event.reason"), reason);
        }
    }
    true
}

/// `fatal: no matching mac found: client ... server ...`
fn no_matching(m: &str, event: &mut Event) -> bool {
    if !m.starts_with("no matching ") {
        return false;
    }
    classify(
        event,
        NETWORK,
        PROTOCOL,
        "ssh-key-exchange-failed",
        Some(Outcome::Failure),
    );
    true
}

/// `Timeout before authentication for A[ port P]`, `... for connection from A to B, pid = N`
fn timeout(m: &str, event: &mut Event) -> bool {
    let Some(rest) = m.strip_prefix("Timeout before authentication for ") else {
        return false;
    };
    let rest = rest.strip_prefix("connection from ").unwrap_or(rest);
    let (address, port, _) = address_and_port(rest);
    classify(
        event,
        AUTH,
        INFO,
        "ssh-auth-timeout",
        Some(Outcome::Failure),
    );
    set_source(event, address, port);
    true
}

/// `ssh_dispatch_run_fatal: Connection from [... user U ]A port P: reason`
fn dispatch_fatal(m: &str, event: &mut Event) -> bool {
    let Some(rest) = m.strip_prefix("ssh_dispatch_run_fatal: ") else {
        return false;
    };
    classify(
        event,
        NETWORK,
        PROTOCOL,
        "ssh-protocol-error",
        Some(Outcome::Failure),
    );
    if let Some(rest) = rest.strip_prefix("Connection from ") {
        for (at, _) in rest.match_indices(": ") {
            if let Some(peer) = peer_tail(&rest[..at]) {
                if peer.who != Who::Nobody {
                    event.insert_static(static_name!("user.name"), peer.user);
                }
                set_source(event, peer.address, peer.port);
                event.insert_static(static_name!("event.reason"), &rest[at + 2..]);
                break;
            }
        }
    }
    true
}

/// `banner exchange: Connection from A port P: invalid format`
fn banner(m: &str, event: &mut Event) -> bool {
    let Some(rest) = m.strip_prefix("banner exchange: Connection from ") else {
        return false;
    };
    let (address, port, tail) = address_and_port(rest);
    classify(
        event,
        NETWORK,
        PROTOCOL,
        "ssh-protocol-error",
        Some(Outcome::Failure),
    );
    set_source(event, address.trim_end_matches(':'), port);
    let reason = tail.trim_start_matches([':', ' ']);
    if !reason.is_empty() {
        event.insert_static(static_name!("event.reason"), reason);
    }
    true
}

/// `kex_exchange_identification: Connection closed by remote host` (no address in the line)
fn kex(m: &str, event: &mut Event) -> bool {
    let Some(reason) = m.strip_prefix("kex_exchange_identification: ") else {
        return false;
    };
    classify(
        event,
        NETWORK,
        PROTOCOL,
        "ssh-protocol-error",
        Some(Outcome::Failure),
    );
    event.insert_static(static_name!("event.reason"), reason);
    true
}

/// `Bad protocol version identification '...' from A[ port P]`
fn bad_version(m: &str, event: &mut Event) -> bool {
    let Some(rest) = m.strip_prefix("Bad protocol version identification ") else {
        return false;
    };
    let Some((_, tail)) = rsplit_once(rest, " from ") else {
        return false;
    };
    let (address, port, _) = address_and_port(tail);
    classify(
        event,
        NETWORK,
        PROTOCOL,
        "ssh-protocol-error",
        Some(Outcome::Failure),
    );
    set_source(event, address, port);
    event.insert_static(
        static_name!("event.reason"),
        "bad protocol version identification",
    );
    true
}

/// `Magic value check failed (N) on obfuscated handshake from A port P`
fn magic_value(m: &str, event: &mut Event) -> bool {
    let Some(rest) = m.strip_prefix("Magic value check failed ") else {
        return false;
    };
    let Some((_, tail)) = rsplit_once(rest, " from ") else {
        return false;
    };
    let (address, port, _) = address_and_port(tail);
    classify(
        event,
        NETWORK,
        PROTOCOL,
        "ssh-protocol-error",
        Some(Outcome::Failure),
    );
    set_source(event, address, port);
    true
}

/// `refused connect from NAME (ADDR)` (TCP wrappers)
fn refused_connect(m: &str, event: &mut Event) -> bool {
    let Some(rest) = m.strip_prefix("refused connect from ") else {
        return false;
    };
    let address = match rsplit_once(rest, " (") {
        Some((_, inside)) => inside.strip_suffix(')').unwrap_or(inside),
        None => word(rest).0,
    };
    classify(
        event,
        NETWORK,
        DENIED,
        "ssh-connection-refused",
        Some(Outcome::Failure),
    );
    set_source(event, address, None);
    true
}

/// `reverse mapping checking getaddrinfo for NAME [ADDR] failed - POSSIBLE BREAK-IN ATTEMPT!`
fn reverse_mapping(m: &str, event: &mut Event) -> bool {
    let Some(rest) = m.strip_prefix("reverse mapping checking getaddrinfo for ") else {
        return false;
    };
    let Some((name, tail)) = split_once(rest, " [") else {
        return false;
    };
    let Some((address, _)) = tail.split_once(']') else {
        return false;
    };
    classify(event, NETWORK, INFO, "ssh-reverse-mapping-failed", None);
    set_source(event, address, None);
    if super::is_host_name(name) {
        event.insert_static(static_name!("source.domain"), name);
    }
    true
}

/// `Address A maps to NAME, but this does not map back to the address - POSSIBLE BREAK-IN ATTEMPT!`
fn address_maps(m: &str, event: &mut Event) -> bool {
    let Some(rest) = m.strip_prefix("Address ") else {
        return false;
    };
    let Some((address, tail)) = split_once(rest, " maps to ") else {
        return false;
    };
    let Some((name, _)) = split_once(tail, ", but this does not map back") else {
        return false;
    };
    classify(event, NETWORK, INFO, "ssh-reverse-mapping-failed", None);
    set_source(event, address, None);
    if super::is_host_name(name) {
        event.insert_static(static_name!("source.domain"), name);
    }
    true
}

/// `error: PAM: Authentication failure for [illegal user ]U from HOST[ via ADDR]`,
/// `PAM 2 more authentication failures; logname= ...`
fn pam_error(m: &str, event: &mut Event) -> bool {
    if m.starts_with("PAM ") && !m.starts_with("PAM: ") {
        return pam::decode(m, false, event);
    }
    let Some(rest) = m.strip_prefix("PAM: ") else {
        return false;
    };
    let Some((reason, tail)) = split_once(rest, " for ") else {
        return false;
    };
    let tail = tail
        .strip_prefix("illegal user ")
        .or_else(|| tail.strip_prefix("invalid user "))
        .unwrap_or(tail);
    let Some((user, host)) = rsplit_once(tail, " from ") else {
        return false;
    };
    let host = split_once(host, " via ").map_or(host, |(h, _)| h).trim();
    classify(event, AUTH, INFO, "ssh-login", Some(Outcome::Failure));
    set_user(event, user);
    set_source(event, host, None);
    event.insert_static(static_name!("event.reason"), reason);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Value;

    fn run(message: &str) -> Option<Event> {
        let mut event = Event::new();
        decode(message, &mut event).then_some(event)
    }

    fn text(e: &Event, name: &str) -> Option<String> {
        e.get(name).map(|v| v.to_text().into_owned())
    }

    #[test]
    fn logins_resist_injected_user_names() {
        let cases = [
            (
                "Failed password for invalid user test from 10.10.1.2 port 55555 ssh2 from 127.0.0.1 port 58946 ssh2",
                "test from 10.10.1.2 port 55555 ssh2",
                "127.0.0.1",
            ),
            (
                "Failed password for invalid user test from 127.0.0.1 port 58946 ssh2: from 10.10.1.2 port 55555 ssh2",
                "test",
                "127.0.0.1",
            ),
            (
                "Failed password for invalid user from 10.10.1.1 from 127.0.0.1 port 58946 ssh2",
                "from 10.10.1.1",
                "127.0.0.1",
            ),
            (
                "Failed password for user from 127.0.0.1 port 20000 ssh1: ruser from 1.2.3.4",
                "user",
                "127.0.0.1",
            ),
            (
                "Accepted publickey for vagrant from 192.168.121.1 port 56296 ssh2: RSA SHA256:1M4R",
                "vagrant",
                "192.168.121.1",
            ),
            (
                "Failed password for invalid user ROOT from aaaa:bbbb:cccc:1234::1:1",
                "ROOT",
                "aaaa:bbbb:cccc:1234::1:1",
            ),
            (
                "Connection closed by authenticating user test 127.0.0.1 port 12345 192.0.2.11 port 46039 [preauth]",
                "test 127.0.0.1 port 12345",
                "192.0.2.11",
            ),
            ("Invalid user  from 192.0.2.68 port 34916", "", "192.0.2.68"),
            (
                "Invalid user a from 1.2.3.4 from 5.6.7.8",
                "a from 1.2.3.4",
                "5.6.7.8",
            ),
        ];
        for (message, user, ip) in cases {
            let e = run(message).unwrap_or_else(|| panic!("{message}"));
            assert_eq!(text(&e, "user.name").as_deref(), Some(user), "{message}");
            assert_eq!(text(&e, "source.ip").as_deref(), Some(ip), "{message}");
        }
    }

    #[test]
    fn classes() {
        let cases = [
            (
                "Failed password for root from 1.2.3.4 port 22 ssh2",
                "ssh-login",
                Some("failure"),
            ),
            (
                "Accepted password for test from 192.168.121.1 port 43124 ssh2",
                "ssh-login",
                Some("success"),
            ),
            (
                "Invalid user pascal from 35.188.49.176 port 53502",
                "ssh-invalid-user",
                Some("failure"),
            ),
            (
                "Connection closed by 118.27.24.104 port 33594 [preauth]",
                "ssh-preauth-disconnect",
                Some("failure"),
            ),
            ("Connection closed by 192.0.2.5", "ssh-disconnect", None),
            (
                "Disconnected from user alice 192.0.2.5 port 22",
                "ssh-disconnect",
                None,
            ),
            (
                "Received disconnect from 198.51.100.76 port 58846:11: Bye Bye [preauth]",
                "ssh-preauth-disconnect",
                Some("failure"),
            ),
            (
                "Received disconnect from 10.0.0.1: 11: disconnected by user",
                "ssh-disconnect",
                None,
            ),
            (
                "Unable to negotiate with 1.2.3.4 port 45626: no matching key exchange method found. Their offer: x [preauth] ",
                "ssh-key-exchange-failed",
                Some("failure"),
            ),
            (
                "fatal: Timeout before authentication for 192.168.9.212 port 47056",
                "ssh-auth-timeout",
                Some("failure"),
            ),
            (
                "error: maximum authentication attempts exceeded for invalid user xxx from 192.0.2.7 port 49941 ssh2 [preauth]",
                "ssh-max-auth-attempts",
                Some("failure"),
            ),
            (
                "Disconnecting: Too many authentication failures for root [preauth]",
                "ssh-max-auth-attempts",
                Some("failure"),
            ),
            (
                "refused connect from example.com (192.168.1.1)",
                "ssh-connection-refused",
                Some("failure"),
            ),
            (
                "User root from 1.2.3.4 not allowed because not listed in AllowUsers",
                "ssh-user-not-allowed",
                Some("failure"),
            ),
            (
                "message repeated 2 times: [ Failed password for root from 1.2.3.4 port 22 ssh2]",
                "ssh-login",
                Some("failure"),
            ),
            (
                "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=5.33.63.160 user=workshop",
                "pam-authentication-failure",
                Some("failure"),
            ),
            (
                "[ID 800047 auth.info] Failed keyboard-interactive for <invalid username> from 205.186.180.55 port 42742 ssh2",
                "ssh-login",
                Some("failure"),
            ),
            (
                "Connection from 192.0.2.10 port 62004 on 192.0.2.11 port 22",
                "ssh-connection",
                None,
            ),
        ];
        for (message, action, outcome) in cases {
            let e = run(message).unwrap_or_else(|| panic!("{message}"));
            assert_eq!(e.get_str("event.action"), Some(action), "{message}");
            assert_eq!(e.get_str("event.outcome"), outcome, "{message}");
        }
        let e = run("Connection from 192.0.2.10 port 62004 on 192.0.2.11 port 22").unwrap();
        assert_eq!(e.get("destination.port"), Some(&Value::Int(22)));
        for message in [
            "Server listening on 0.0.0.0 port 22.",
            "Disconnected from totobad user ftp 92.255.85.135 port 26138 [preauth]",
            "",
            "Failed",
            "Invalid user x",
        ] {
            assert!(run(message).is_none(), "{message}");
        }
    }
}
