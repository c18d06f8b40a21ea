//! Decoders for the programs that write auth logs (sshd, sudo, su, PAM, the shadow utilities,
//! cron, dropbear, login, pkexec, vsftpd), applied to a syslog message.
//!
//! [`decode`] reads `process.name` and `message` of an event, whatever parser made it (syslog,
//! or a JSON journald record that has both), and adds ECS fields. It is what
//! [`syslog::parse`](super::syslog::parse) calls on every line it reads.
//!
//! # Logsource
//!
//! The program decides the Sigma logsource, `product: linux` with the service named in Sigma's
//! taxonomy and used by SigmaHQ's `rules/linux/` rules:
//!
//! | program (`process.name`) | service |
//! | --- | --- |
//! | `sshd`, `sshd-session`, `sshd-auth` | `sshd` |
//! | `sudo` | `sudo` |
//! | `cron`, `crond`, `CRON`, `anacron`, `crontab` | `cron` |
//! | `vsftpd` | `vsftpd` |
//! | `clamd`, `freshclam`, `clamav-*` | `clamav` (no decoder) |
//! | `guacd`, `guacamole` | `guacamole` (no decoder) |
//! | `su`, `login`, `systemd-logind`, `pkexec`, `dropbear`, `useradd`, `userdel`, `usermod`, `groupadd`, `groupdel`, `groupmod`, `passwd`, `chpasswd`, `chage`, `gpasswd`, `newusers`, `chsh`, `chfn`, and any program whose message comes from a PAM module | `auth` (Sigma's `auth.log`) |
//!
//! A path or a `(pam_unix)` suffix on the name is ignored (`/usr/sbin/cron`,
//! `sshd(pam_unix)`). Other programs keep the syslog logsource (`service: syslog`).
//! The logsource is set for a known program even when its message is not recognised, so
//! keyword rules for that service still see the event.
//!
//! # Fields
//!
//! A recognised message sets `event.kind: event`, `event.category` and `event.type` (ECS
//! lists), `event.action`, and `event.outcome` (`success` / `failure`) when the message says,
//! plus what it carries:
//!
//! - `user.name`: the user logging in / running the command / owning the session;
//!   `user.target.name` (and `.id`, `.group.id`): the account acted upon (sudo's `USER=`, su's
//!   target, the account `useradd` creates); `user.changes.name` for a rename;
//!   `group.name` / `group.id` for group changes; `related.user` for other users named;
//! - `source.ip` (as an address; IPv4-mapped IPv6 addresses are reduced to IPv4) or
//!   `source.domain` (a host name), `source.port`; `source.address` keeps the text as written
//!   when it is not a plain IP address (a host name, `::ffff:1.2.3.4`, `192.030.0.6`);
//!   `destination.ip` / `destination.port` for sshd's `Connection from ... on ...`;
//! - `process.command_line` (sudo `COMMAND=`, pkexec, cron `CMD`), `process.working_directory`
//!   (sudo `PWD=`, pkexec `CWD=`); `system.auth.sudo.tty` for the terminal (the name Elastic's
//!   auth module uses; ECS has no string field for it);
//! - `event.reason` for the reason a message gives (`user NOT in sudoers`,
//!   `not listed in AllowUsers`, ...).
//!
//! `event.action` values (an action ending in an attempt that did not succeed has
//! `event.outcome: failure`):
//!
//! | action | messages |
//! | --- | --- |
//! | `ssh-login` | sshd `Accepted <method> for`, `Failed <method> for`, `error: PAM: ... for`; dropbear password / pubkey attempts |
//! | `ssh-invalid-user` | `Invalid user`, `input_userauth_request: invalid user`, dropbear `login attempt for nonexistent user` |
//! | `ssh-user-not-allowed`, `ssh-root-login-refused` | `User x from y not allowed because ...`, `ROOT LOGIN REFUSED FROM` |
//! | `ssh-max-auth-attempts` | `maximum authentication attempts exceeded`, `Disconnecting: Too many authentication failures`, dropbear `Max auth tries reached` |
//! | `ssh-preauth-disconnect` | a connection closed, reset or disconnected before authentication (`[preauth]`, `authenticating user`, `invalid user`) |
//! | `ssh-disconnect`, `ssh-connection` | other disconnects; `Connection from x port p on y port q` |
//! | `ssh-session-opened`, `ssh-session-closed` | `Starting session:`, `Close session:` |
//! | `ssh-key-exchange-failed` | `Unable to negotiate with`, `no matching ... found` |
//! | `ssh-auth-timeout` | `Timeout before authentication` |
//! | `ssh-protocol-error` | `ssh_dispatch_run_fatal`, `kex_exchange_identification`, `banner exchange: ... invalid format`, `Bad protocol version identification`, `Did not receive identification string`, obfuscated-handshake failures |
//! | `ssh-connection-refused` | TCP wrappers `refused connect from` |
//! | `ssh-reverse-mapping-failed` | `reverse mapping checking getaddrinfo ... failed`, `Address x maps to y, but this does not map back` |
//! | `pam-authentication-failure` | PAM `authentication failure; ... rhost= user=`, `check pass; user unknown`, `N more authentication failures`, `auth could not identify password` |
//! | `account-locked` | `pam_tally2` / `pam_faillock` lock messages |
//! | `session-opened`, `session-closed` | PAM `session opened/closed for user`, systemd-logind `New session` / `Removed session` |
//! | `user-password-change` | PAM `password changed for`, `passwd`/`usermod`/`chpasswd` password changes |
//! | `sudo-command` | sudo `user : TTY=... ; PWD=... ; USER=... ; COMMAND=...` (failure with `event.reason` for `user NOT in sudoers`, `N incorrect password attempts`, `command not allowed`, ...) |
//! | `su` | su `Successful su`, `FAILED su`, `+ tty a:b`, `(to root) a on tty`, `'su root' failed for` |
//! | `pkexec-command` | pkexec `Executing command` / `Error executing command` |
//! | `login` | login `ROOT LOGIN ON`, `LOGIN ON ... BY`, `FAILED LOGIN`; vsftpd `OK LOGIN` / `FAIL LOGIN` |
//! | `user-created`, `user-deleted`, `user-modified`, `group-created`, `group-deleted`, `user-added-to-group`, `user-removed-from-group` | useradd, userdel, usermod, groupadd, groupdel, gpasswd, chage |
//! | `cron-command`, `crontab-replaced`, `crontab-edited`, `crontab-listed`, `crontab-deleted`, `crontab-reloaded` | cron `(user) CMD (command)`, `(user) REPLACE (user)`, `BEGIN EDIT`, `LIST`, `DELETE`, `RELOAD` |
//! | `login` (failure) | mail and FTP servers: Courier `LOGIN FAILED`, Cyrus / sieve `badlogin:`, UW IMAP `Login failed`, solid-pop3d, Dovecot `auth failed` / `pam(u,addr): ... failed` / `unknown user`, Postfix `SASL ... authentication failed`, wu-ftpd, gssftpd, ProFTPD, Pure-FTPd; Webmin; Proxmox `pvedaemon` |
//! | `smtp-reject`, `smtp-connection`, `smtp-reverse-mapping-failed` | Postfix `reject: RCPT from ...`, `lost connection after ...`, `improper command pipelining`, postscreen `PREGREET` / `HANGUP`, `hostname x does not resolve to address y` |
//! | `dns-query-denied`, `dns-zone-transfer-denied` | BIND `client a#p: query ... denied`, `zone transfer ... denied`, `bad zone transfer request` |
//! | `connection-refused` | xinetd `FAIL: service reason from=addr` |
//!
//! The mail, FTP, DNS, xinetd, Webmin and Proxmox decoders (programs `imapd`, `pop3d`,
//! `cyrus/*`, `sieve`, `dovecot`, `*-login`, `auth-worker`, `postfix/*`, `named`, `xinetd`,
//! `webmin`, `wu-ftpd`, `ftpd`, `proftpd`, `pure-ftpd`, `pvedaemon`) keep `service: syslog`:
//! Sigma names no service for them.
//!
//! # Cost and safety
//!
//! Hand-written prefix matching on the message (no regular expressions), dispatched on the
//! program name and then on the message's first byte; a message no decoder knows costs a few
//! comparisons. Every decoder is total: it reads `&str` slices at ASCII delimiters only and
//! never indexes past what it checked.
//!
//! ```
//! use siem_core::event::{Event, Value};
//! use siem_core::parse::programs;
//!
//! // A journald record as JSON: process.name and message are all a decoder needs.
//! let mut event = Event::from_json(r#"{"process":{"name":"sudo"},
//!     "message":"alice : user NOT in sudoers ; TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/cat /etc/shadow"}"#).unwrap();
//! assert!(programs::decode(&mut event));
//! assert_eq!(event.logsource.service.as_deref(), Some("sudo"));
//! assert_eq!(event.get_str("user.name"), Some("alice"));
//! assert_eq!(event.get_str("user.target.name"), Some("root"));
//! assert_eq!(event.get_str("process.command_line"), Some("/bin/cat /etc/shadow"));
//! assert_eq!(event.get_str("event.outcome"), Some("failure"));
//! assert_eq!(event.get_str("event.reason"), Some("user NOT in sudoers"));
//! ```

use compact_str::CompactString;

use crate::event::{Event, MESSAGE, StaticName, Value, static_name};

/// An ECS keyword list (`event.category`, `event.type`) known at compile time: set on an event
/// as a borrowed [`Value::static_list`], so classifying a line allocates nothing.
pub(crate) type Keywords = &'static [Value];

/// A [`Keywords`] constant: `keywords!["connection", "end"]`.
macro_rules! keywords {
    ($($word:literal),+ $(,)?) => {
        &[$(crate::event::Value::static_str($word)),+]
    };
}

mod cron;
mod dropbear;
mod login;
mod pam;
mod services;
mod shadow;
mod sshd;
mod su;
mod sudo;

/// Decodes `message` of the program named in `process.name` into ECS fields and sets the
/// logsource; returns whether a decoder recognised the line. Usable on events from any source
/// (e.g. a JSON journald record that has process.name and message).
pub fn decode(event: &mut Event) -> bool {
    let Some(program) = event.get_str("process.name") else {
        return false;
    };
    // The event is about to be written to, so the two inputs are copied out first.
    let program = CompactString::from(program);
    let message = CompactString::from(event.get_str(MESSAGE).unwrap_or_default());
    decode_parts(&program, &message, event)
}

/// [`decode`] with the program name and message given separately (the syslog parser passes
/// slices of the line it is reading, so nothing is copied).
pub(crate) fn decode_parts(program: &str, message: &str, event: &mut Event) -> bool {
    let (base, pam_tagged) = program_base(program);
    let Some(kind) = Program::from_name(base) else {
        // Any program may log through a PAM module (`pure-ftpd: (pam_unix) ...`, `xyz(pam_unix)`).
        if (pam_tagged || pam::is_pam_message(message)) && pam::decode(message, pam_tagged, event) {
            set_service(event, const { CompactString::const_new("auth") });
            return true;
        }
        return false;
    };
    set_service(event, kind.service());
    if pam_tagged {
        return pam::decode(message, true, event);
    }
    match kind {
        Program::Sshd => sshd::decode(message, event),
        Program::Sudo => sudo::decode(message, event),
        Program::Su => su::decode(message, event),
        Program::Cron => cron::decode(message, event),
        Program::Shadow => shadow::decode(message, event),
        Program::Dropbear => dropbear::decode(message, event),
        Program::Login => login::decode_login(message, event),
        Program::Logind => login::decode_logind(message, event),
        Program::Pkexec => login::decode_pkexec(message, event),
        Program::Vsftpd => login::decode_vsftpd(message, event),
        Program::Pam => pam::is_pam_message(message) && pam::decode(message, false, event),
        Program::Mail => services::decode_mail(message, event),
        Program::Dovecot => services::decode_dovecot(message, event),
        Program::Postfix => services::decode_postfix(message, event),
        Program::Named => services::decode_named(message, event),
        Program::Xinetd => services::decode_xinetd(message, event),
        Program::Webmin => services::decode_webmin(message, event),
        Program::Ftp => services::decode_ftp(message, event),
        Program::Proxmox => services::decode_proxmox(message, event),
        Program::LogsourceOnly(_) => false,
    }
}

/// The program name without a directory and without a `(pam_unix)` suffix, and whether the
/// suffix was there (then the whole message is a PAM message body).
fn program_base(program: &str) -> (&str, bool) {
    // `postfix/smtpd` keeps its name; a path (`/usr/sbin/cron`) loses its directory. (Byte
    // searches: `str::rfind` with a `char` costs more than the rest of this function.)
    let base = match program.as_bytes().first() {
        Some(b'/') => {
            memchr::memrchr(b'/', program.as_bytes()).map_or(program, |i| &program[i + 1..])
        }
        _ => program,
    };
    if !base.ends_with(')') {
        return (base, false);
    }
    if let Some(stripped) = base.strip_suffix("(pam_unix)") {
        return (stripped, true);
    }
    // `auth-worker(304)`: a pid in parentheses.
    let inner = &base[..base.len() - 1];
    match memchr::memrchr(b'(', inner.as_bytes()) {
        Some(i) if is_digits(&inner[i + 1..]) => (&inner[..i], false),
        _ => (base, false),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Program {
    Sshd,
    Sudo,
    Su,
    Cron,
    Shadow,
    Dropbear,
    Login,
    Logind,
    Pkexec,
    Vsftpd,
    /// Programs known to write PAM messages and nothing else siem decodes.
    Pam,
    /// Courier, Cyrus, UW IMAP, solid-pop3d.
    Mail,
    Dovecot,
    Postfix,
    Named,
    Xinetd,
    Webmin,
    /// wu-ftpd, gssftpd, ProFTPD, Pure-FTPd.
    Ftp,
    Proxmox,
    /// A Sigma service with no decoder here.
    LogsourceOnly(&'static str),
}

impl Program {
    fn from_name(name: &str) -> Option<Program> {
        const TABLE: &[(&str, Program)] = &[
            ("sshd", Program::Sshd),
            ("sshd-session", Program::Sshd),
            ("sshd-auth", Program::Sshd),
            ("sudo", Program::Sudo),
            ("su", Program::Su),
            ("cron", Program::Cron),
            ("crond", Program::Cron),
            ("anacron", Program::Cron),
            ("crontab", Program::Cron),
            ("useradd", Program::Shadow),
            ("userdel", Program::Shadow),
            ("usermod", Program::Shadow),
            ("groupadd", Program::Shadow),
            ("groupdel", Program::Shadow),
            ("groupmod", Program::Shadow),
            ("passwd", Program::Shadow),
            ("chpasswd", Program::Shadow),
            ("chage", Program::Shadow),
            ("gpasswd", Program::Shadow),
            ("newusers", Program::Shadow),
            ("chsh", Program::Shadow),
            ("chfn", Program::Shadow),
            ("dropbear", Program::Dropbear),
            ("login", Program::Login),
            ("systemd-logind", Program::Logind),
            ("pkexec", Program::Pkexec),
            ("vsftpd", Program::Vsftpd),
            ("polkitd", Program::Pam),
            ("gdm-password", Program::Pam),
            ("gdm", Program::Pam),
            ("lightdm", Program::Pam),
            ("sddm", Program::Pam),
            ("xrdp-sesman", Program::Pam),
            ("systemd", Program::Pam),
            ("clamd", Program::LogsourceOnly("clamav")),
            ("freshclam", Program::LogsourceOnly("clamav")),
            ("clamav", Program::LogsourceOnly("clamav")),
            ("clamav-milter", Program::LogsourceOnly("clamav")),
            ("guacd", Program::LogsourceOnly("guacamole")),
            ("guacamole", Program::LogsourceOnly("guacamole")),
            ("imapd", Program::Mail),
            ("imapd-ssl", Program::Mail),
            ("pop3d", Program::Mail),
            ("pop3d-ssl", Program::Mail),
            ("courierpop3login", Program::Mail),
            ("courierpop3d", Program::Mail),
            ("imap", Program::Mail),
            ("imaps", Program::Mail),
            ("pop3", Program::Mail),
            ("pop3s", Program::Mail),
            ("ipop3d", Program::Mail),
            ("sieve", Program::Mail),
            ("timsieved", Program::Mail),
            ("solid-pop3d", Program::Mail),
            ("dovecot", Program::Dovecot),
            ("dovecot-auth", Program::Dovecot),
            ("auth", Program::Dovecot),
            ("auth-worker", Program::Dovecot),
            ("named", Program::Named),
            ("xinetd", Program::Xinetd),
            ("webmin", Program::Webmin),
            ("wu-ftpd", Program::Ftp),
            ("ftpd", Program::Ftp),
            ("proftpd", Program::Ftp),
            ("pure-ftpd", Program::Ftp),
            ("pvedaemon", Program::Proxmox),
            ("pveproxy", Program::Proxmox),
        ];
        // Names are short; a linear scan with a cheap length check beats hashing here.
        let known = TABLE
            .iter()
            .find(|(known, _)| known.len() == name.len() && known.eq_ignore_ascii_case(name))
            .map(|&(_, program)| program);
        known.or_else(|| {
            if name.starts_with("postfix") {
                Some(Program::Postfix)
            } else if name.starts_with("cyrus/") {
                Some(Program::Mail)
            } else if name.ends_with("-login") {
                Some(Program::Dovecot)
            } else {
                None
            }
        })
    }

    /// The logsource service, as a `CompactString` built at compile time (a `&'static str`
    /// would be copied byte by byte on every line).
    fn service(self) -> CompactString {
        const AUTH: CompactString = CompactString::const_new("auth");
        const SYSLOG: CompactString = CompactString::const_new("syslog");
        match self {
            Program::Sshd => const { CompactString::const_new("sshd") },
            Program::Sudo => const { CompactString::const_new("sudo") },
            Program::Cron => const { CompactString::const_new("cron") },
            Program::Vsftpd => const { CompactString::const_new("vsftpd") },
            Program::LogsourceOnly(service) => CompactString::const_new(service),
            Program::Mail
            | Program::Dovecot
            | Program::Postfix
            | Program::Named
            | Program::Xinetd
            | Program::Webmin
            | Program::Ftp
            | Program::Proxmox => SYSLOG,
            Program::Su
            | Program::Shadow
            | Program::Dropbear
            | Program::Login
            | Program::Logind
            | Program::Pkexec
            | Program::Pam => AUTH,
        }
    }
}

fn set_service(event: &mut Event, service: CompactString) {
    event.logsource.product = Some(const { CompactString::const_new("linux") });
    event.logsource.service = Some(service);
}

/// ECS `event.outcome`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Success,
    Failure,
}

#[inline]
fn static_str(s: &'static str) -> Value {
    Value::Str(CompactString::const_new(s))
}

/// Sets `event.kind`, `event.category`, `event.type`, `event.action` and `event.outcome`.
pub(crate) fn classify(
    event: &mut Event,
    category: Keywords,
    kind: Keywords,
    action: &'static str,
    outcome: Option<Outcome>,
) {
    event.insert_static(static_name!("event.kind"), static_str("event"));
    event.insert_static(static_name!("event.category"), Value::static_list(category));
    event.insert_static(static_name!("event.type"), Value::static_list(kind));
    event.insert_static(static_name!("event.action"), static_str(action));
    if let Some(outcome) = outcome {
        let text = match outcome {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
        };
        event.insert_static(static_name!("event.outcome"), static_str(text));
    }
}

/// Sets `user.name` (when non-empty).
pub(crate) fn set_user(event: &mut Event, name: &str) {
    if !name.is_empty() {
        event.insert_static(static_name!("user.name"), name);
    }
}

/// Sets `source.ip` or `source.domain` (and `source.address` unless the text is a plain IP)
/// from an address as a log writes it (an IP address, possibly IPv4-mapped IPv6 or in brackets,
/// or a host name), and `source.port` when `port` is a port number.
pub(crate) fn set_source(event: &mut Event, address: &str, port: Option<&str>) {
    let names = [
        static_name!("source.address"),
        static_name!("source.ip"),
        static_name!("source.domain"),
        static_name!("source.port"),
    ];
    set_endpoint(event, names, address, port);
}

/// Like [`set_source`], for `destination.*`.
pub(crate) fn set_destination(event: &mut Event, address: &str, port: Option<&str>) {
    let names = [
        static_name!("destination.address"),
        static_name!("destination.ip"),
        static_name!("destination.domain"),
        static_name!("destination.port"),
    ];
    set_endpoint(event, names, address, port);
}

/// `names`: the side's `.address`, `.ip`, `.domain` and `.port` fields.
fn set_endpoint(event: &mut Event, names: [&StaticName; 4], address: &str, port: Option<&str>) {
    let [address_key, ip_key, domain_key, port_key] = names;
    let address = address.trim();
    let address = address
        .strip_prefix('[')
        .and_then(|a| a.strip_suffix(']'))
        .unwrap_or(address);
    if !address.is_empty() {
        match crate::parse::parse_ip(address) {
            // `.address` would only repeat a plain IP; the IPv4-mapped form keeps its text.
            Ok(ip) => {
                let canonical = ip.to_canonical();
                if canonical != ip {
                    event.insert_static(address_key, address);
                }
                event.insert_static(ip_key, Value::Ip(canonical));
            }
            Err(_) => {
                event.insert_static(address_key, address);
                if is_host_name(address) {
                    event.insert_static(domain_key, address);
                }
            }
        }
    }
    if let Some(port) = port.and_then(|p| p.parse::<u16>().ok()) {
        event.insert_static(port_key, Value::Int(i64::from(port)));
    }
}

/// Whether `s` looks like a DNS name: letters, digits, `.`, `-`, `_`, at least one letter.
pub(crate) fn is_host_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_'))
        && s.bytes().any(|c| c.is_ascii_alphabetic())
}

/// Byte offset of the first `needle` in `hay` at or after `from`. Short fixed needles on short
/// messages are the decoders' whole diet; scanning with `memchr` for the needle's first
/// non-space byte (`f` of ` from `) skips the setup a general substring search pays per call.
#[inline]
pub(crate) fn find_from(hay: &str, needle: &str, from: usize) -> Option<usize> {
    let h = hay.as_bytes();
    let n = needle.as_bytes();
    let k = n.iter().position(|&c| c != b' ')?;
    let mut pos = from + k;
    while let Some(i) = crate::parse::find_byte(n[k], h.get(pos..)?) {
        let start = pos + i - k;
        if h.get(start..start + n.len()) == Some(n) {
            return Some(start);
        }
        pos += i + 1;
    }
    None
}

/// [`str::split_once`] through [`find_from`].
#[inline]
pub(crate) fn split_once<'a>(hay: &'a str, needle: &str) -> Option<(&'a str, &'a str)> {
    let at = find_from(hay, needle, 0)?;
    Some((hay.get(..at)?, hay.get(at + needle.len()..)?))
}

/// [`str::rsplit_once`], scanning from the end with `memrchr`.
#[inline]
pub(crate) fn rsplit_once<'a>(hay: &'a str, needle: &str) -> Option<(&'a str, &'a str)> {
    let h = hay.as_bytes();
    let n = needle.as_bytes();
    let k = n.iter().position(|&c| c != b' ')?;
    let mut end = h.len();
    while let Some(i) = memchr::memrchr(n[k], h.get(..end)?) {
        if let Some(start) = i.checked_sub(k)
            && h.get(start..start + n.len()) == Some(n)
        {
            return Some((hay.get(..start)?, hay.get(start + n.len()..)?));
        }
        end = i;
    }
    None
}

/// Whether `s` is a non-empty run of ASCII digits.
#[inline]
pub(crate) fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit())
}

/// Splits at the first space: (first word, rest starting at the space).
#[inline]
pub(crate) fn word(s: &str) -> (&str, &str) {
    match crate::parse::find_byte(b' ', s.as_bytes()) {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, ""),
    }
}

/// Reads `ADDR[ port N]` at the start of `s`: (address, port, rest after them).
pub(crate) fn address_and_port(s: &str) -> (&str, Option<&str>, &str) {
    let (address, mut rest) = word(s);
    let mut port = None;
    if let Some(after) = rest.strip_prefix(" port ") {
        let (p, r) = word(after);
        let digits_end = p
            .bytes()
            .position(|c| !c.is_ascii_digit())
            .unwrap_or(p.len());
        if digits_end > 0 {
            port = Some(&p[..digits_end]);
            rest = &after[digits_end..];
        } else {
            rest = r;
        }
    }
    (address, port, rest)
}

/// Splits `ADDR:PORT` (IPv6 addresses keep their colons: the port is after the last one).
pub(crate) fn split_host_port(s: &str) -> (&str, Option<&str>) {
    match s.rsplit_once(':') {
        Some((host, port)) if is_digits(port) && !host.is_empty() => (host, Some(port)),
        _ => (s, None),
    }
}

/// The text between the first `'` and the next one: `'root'` → `root`.
pub(crate) fn quoted(s: &str) -> Option<&str> {
    let start = s.find('\'')? + 1;
    let len = s.get(start..)?.find('\'')?;
    s.get(start..start + len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn program_names() {
        assert_eq!(program_base("/usr/sbin/cron"), ("cron", false));
        assert_eq!(program_base("sshd(pam_unix)"), ("sshd", true));
        assert_eq!(program_base("postfix/smtpd"), ("postfix/smtpd", false));
        assert_eq!(Program::from_name("CRON"), Some(Program::Cron));
        assert_eq!(Program::from_name("sshd-session"), Some(Program::Sshd));
        assert_eq!(Program::from_name("nginx"), None);
    }

    #[test]
    fn endpoints() {
        let mut e = Event::new();
        set_source(&mut e, "::ffff:1.2.3.4", Some("22"));
        assert_eq!(
            e.get("source.ip"),
            Some(&Value::Ip("1.2.3.4".parse().unwrap()))
        );
        assert_eq!(e.get_str("source.address"), Some("::ffff:1.2.3.4"));
        assert_eq!(e.get("source.port"), Some(&Value::Int(22)));
        let mut e = Event::new();
        set_source(&mut e, "example.com", Some("99999"));
        assert_eq!(e.get_str("source.domain"), Some("example.com"));
        assert!(e.get("source.port").is_none());
        let mut e = Event::new();
        set_source(&mut e, "192.030.0.6", None);
        assert_eq!(e.get_str("source.address"), Some("192.030.0.6"));
        assert!(e.get("source.ip").is_none() && e.get("source.domain").is_none());
        assert_eq!(
            split_host_port("::ffff:198.51.100.215:60495"),
            ("::ffff:198.51.100.215", Some("60495"))
        );
        assert_eq!(
            address_and_port("1.2.3.4 port 22: x"),
            ("1.2.3.4", Some("22"), ": x")
        );
        assert_eq!(address_and_port("1.2.3.4:"), ("1.2.3.4:", None, ""));
        assert_eq!(quoted("for 'root' from"), Some("root"));
        assert_eq!(
            split_once("a from b from c", " from "),
            Some(("a", "b from c"))
        );
        assert_eq!(
            rsplit_once("a from b from c", " from "),
            Some(("a from b", "c"))
        );
        assert_eq!(rsplit_once(" from c", " from "), Some(("", "c")));
        assert_eq!(split_once("afrom", " from "), None);
        assert_eq!(find_from("x from y from z", " from ", 2), Some(8));
    }
}
