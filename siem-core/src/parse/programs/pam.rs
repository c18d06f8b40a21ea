//! Linux-PAM module messages, whatever program logs them: `pam_unix(sshd:auth): ...`,
//! `pam_unix: ...`, the pre-0.99 `(pam_unix) ...`, a tag like `sshd(pam_unix)`, sshd's
//! `PAM 2 more authentication failures; ...`, and the lock messages of `pam_tally2` and
//! `pam_faillock`.

use super::Keywords;
use crate::event::{Event, static_name};

use super::{Outcome, classify, find_from, rsplit_once, set_source, set_user, split_once};

const AUTH: Keywords = keywords!["authentication"];
const SESSION: Keywords = keywords!["session"];
const IAM: Keywords = keywords!["iam"];
const INFO: Keywords = keywords!["info"];
const START: Keywords = keywords!["start"];
const END: Keywords = keywords!["end"];
const USER_CHANGE: Keywords = keywords!["user", "change"];

/// Whether `message` starts the way a PAM module's message does.
pub(super) fn is_pam_message(message: &str) -> bool {
    message.starts_with("pam_") || message.starts_with("(pam_unix)") || message.starts_with("PAM ")
}

/// Decodes a PAM message. `bare` is set when the program tag already said `(pam_unix)`, so
/// `message` is the module's text without a prefix.
pub(super) fn decode(message: &str, bare: bool, event: &mut Event) -> bool {
    let message = message.trim_end();
    if bare {
        return body(message, event);
    }
    if let Some(rest) = message.strip_prefix("(pam_unix) ") {
        return body(rest, event);
    }
    if let Some(rest) = message.strip_prefix("PAM ") {
        // sshd: `PAM 2 more authentication failures; logname= ...`
        return body(rest, event);
    }
    let Some(rest) = message.strip_prefix("pam_") else {
        return false;
    };
    let Some((head, text)) = split_once(rest, ": ") else {
        return false;
    };
    let module = head.split_once('(').map_or(head, |(m, _)| m);
    match module {
        "tally" | "tally2" => tally(text, event),
        "faillock" => faillock(text, event),
        _ => body(text, event),
    }
}

fn body(text: &str, event: &mut Event) -> bool {
    if let Some(kv) = text.strip_prefix("authentication failure; ") {
        auth_failure(kv, event);
        return true;
    }
    if let Some((count, rest)) = split_once(text, " more authentication failure")
        && super::is_digits(count)
    {
        let kv = split_once(rest, "; ").map_or("", |(_, kv)| kv);
        auth_failure(kv, event);
        return true;
    }
    if let Some(rest) = text.strip_prefix("session opened for user ") {
        session(rest, true, event);
        return true;
    }
    if let Some(rest) = text.strip_prefix("session closed for user ") {
        session(rest, false, event);
        return true;
    }
    if text.starts_with("check pass; user unknown") {
        classify(
            event,
            AUTH,
            INFO,
            "pam-authentication-failure",
            Some(Outcome::Failure),
        );
        event.insert_static(static_name!("event.reason"), "user unknown");
        return true;
    }
    if let Some(rest) = text.strip_prefix("auth could not identify password for [") {
        classify(
            event,
            AUTH,
            INFO,
            "pam-authentication-failure",
            Some(Outcome::Failure),
        );
        set_user(event, rest.strip_suffix(']').unwrap_or(rest));
        event.insert_static(static_name!("event.reason"), "could not identify password");
        return true;
    }
    if let Some(user) = text.strip_prefix("password changed for ") {
        classify(
            event,
            IAM,
            USER_CHANGE,
            "user-password-change",
            Some(Outcome::Success),
        );
        event.insert_static(static_name!("user.target.name"), user);
        return true;
    }
    if let Some(rest) = text.strip_prefix("account ")
        && let Some((user, _)) = split_once(rest, " has expired")
    {
        classify(
            event,
            AUTH,
            INFO,
            "pam-authentication-failure",
            Some(Outcome::Failure),
        );
        set_user(event, user);
        event.insert_static(static_name!("event.reason"), "account expired");
        return true;
    }
    false
}

/// `logname= uid=0 euid=0 tty=ssh ruser= rhost=1.2.3.4  user=root`
///
/// `ruser` and `user` may be chosen by whoever is logging in and can hold ` rhost=...`; the
/// real `rhost=` is the first one whose value is followed by the end or by ` user=` (PAM
/// writes `rhost` second to last and `user` last).
fn auth_failure(kv: &str, event: &mut Event) {
    classify(
        event,
        AUTH,
        INFO,
        "pam-authentication-failure",
        Some(Outcome::Failure),
    );
    let ruser_at = find_from(kv, "ruser=", 0).map(|i| i + 6);
    let search_from = ruser_at.unwrap_or(0);
    let tail = kv.get(search_from..).unwrap_or_default();
    let mut found = None;
    let mut next = find_from(tail, "rhost=", 0);
    while let Some(at) = next {
        next = find_from(tail, "rhost=", at + 1);
        if at > 0 && tail.as_bytes().get(at - 1) != Some(&b' ') {
            continue;
        }
        let value_start = at + 6;
        let after = &tail[value_start..];
        let (host, rest) = super::word(after);
        let rest = rest.trim_start();
        if rest.is_empty() || rest.starts_with("user=") {
            found = Some((at, host, rest.strip_prefix("user=")));
            break;
        }
    }
    let (ruser, host, user) = match found {
        Some((at, host, user)) => (ruser_at.map(|_| tail[..at].trim_end()), host, user),
        None => {
            // No usable rhost: take `user=` at the end if there is one.
            let user = rsplit_once(kv, " user=").map(|(_, u)| u);
            (None, "", user)
        }
    };
    let user = user.map(str::trim_end).filter(|u| !u.is_empty());
    match (user, ruser.filter(|r| !r.is_empty())) {
        (Some(user), ruser) => {
            set_user(event, user);
            if let Some(ruser) = ruser.filter(|r| *r != user) {
                event.insert_static(static_name!("related.user"), ruser);
            }
        }
        (None, Some(ruser)) => set_user(event, ruser),
        (None, None) => {}
    }
    if !host.is_empty() {
        set_source(event, host, None);
    }
}

/// `alice[(uid=1000)] by bob(uid=0)` / `root by (uid=0)` / `root`
fn session(text: &str, opened: bool, event: &mut Event) {
    let (kind, action) = if opened {
        (START, "session-opened")
    } else {
        (END, "session-closed")
    };
    classify(event, SESSION, kind, action, Some(Outcome::Success));
    let (user, by) = match split_once(text, " by ") {
        Some((user, by)) => (user, Some(by)),
        None => (text, None),
    };
    let user = strip_uid(user.trim_end());
    set_user(event, user);
    if let Some(by) = by {
        let by = strip_uid(by.trim_end());
        if !by.is_empty() && by != user {
            event.insert_static(static_name!("related.user"), by);
        }
    }
}

/// `alice(uid=1000)` → `alice`
fn strip_uid(s: &str) -> &str {
    match find_from(s, "(uid=", 0) {
        Some(i) => &s[..i],
        None => s,
    }
}

/// pam_tally2: `user zbadguy (4001) tally 6, deny 5`
fn tally(text: &str, event: &mut Event) -> bool {
    let Some(rest) = text.strip_prefix("user ") else {
        return false;
    };
    let Some((user, rest)) = split_once(rest, " (") else {
        return false;
    };
    if !rest.contains(" tally ") {
        return false;
    }
    classify(event, AUTH, INFO, "account-locked", Some(Outcome::Failure));
    set_user(event, user);
    event.insert_static(static_name!("event.reason"), text);
    true
}

/// pam_faillock: `Consecutive login failures for user root account temporarily locked`
fn faillock(text: &str, event: &mut Event) -> bool {
    let Some(rest) = text.strip_prefix("Consecutive login failures for user ") else {
        return false;
    };
    let user = split_once(rest, " account").map_or(rest, |(u, _)| u);
    classify(event, AUTH, INFO, "account-locked", Some(Outcome::Failure));
    set_user(event, user);
    event.insert_static(static_name!("event.reason"), text);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(message: &str) -> Event {
        let mut event = Event::new();
        assert!(decode(message, false, &mut event), "{message}");
        event
    }

    fn text(e: &Event, name: &str) -> Option<String> {
        e.get(name).map(|v| v.to_text().into_owned())
    }

    #[test]
    fn injected_user_names_do_not_move_the_host() {
        let e = run(
            "pam_unix(auth): authentication failure; logname= uid=0 euid=0 tty=xxx ruser=test rhost=192.0.2.151 rhost=192.0.2.1",
        );
        assert_eq!(text(&e, "source.ip").as_deref(), Some("192.0.2.1"));
        assert_eq!(
            text(&e, "user.name").as_deref(),
            Some("test rhost=192.0.2.151")
        );
        let e = run(
            "pam_unix(auth): authentication failure; logname= uid=0 euid=0 tty=xxx ruser= rhost=192.0.2.2 user=test rhost=192.0.2.152",
        );
        assert_eq!(text(&e, "source.ip").as_deref(), Some("192.0.2.2"));
        assert_eq!(
            text(&e, "user.name").as_deref(),
            Some("test rhost=192.0.2.152")
        );
    }

    #[test]
    fn forms() {
        let e = run(
            "pam_unix(sudo:auth): authentication failure; logname=zbadguy uid=4001 euid=0 tty=/dev/pts/12 ruser=zbadguy rhost=  user=zbadguy",
        );
        assert_eq!(text(&e, "user.name").as_deref(), Some("zbadguy"));
        assert!(e.get("source.address").is_none());
        let e = run(
            "(pam_unix) authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=71-13-115-12.static.mdsn.wi.charter.com  user=root",
        );
        assert_eq!(
            text(&e, "source.domain").as_deref(),
            Some("71-13-115-12.static.mdsn.wi.charter.com")
        );
        assert_eq!(text(&e, "user.name").as_deref(), Some("root"));
        let e = run("pam_unix(su:session): session opened for user root(uid=0) by alice(uid=1000)");
        assert_eq!(text(&e, "user.name").as_deref(), Some("root"));
        assert_eq!(text(&e, "related.user").as_deref(), Some("alice"));
        assert_eq!(text(&e, "event.action").as_deref(), Some("session-opened"));
        let e = run(
            "PAM 2 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=1.2.3.4  user=root",
        );
        assert_eq!(text(&e, "source.ip").as_deref(), Some("1.2.3.4"));
        let e = run("pam_tally2(sudo:auth): user zbadguy (4001) tally 6, deny 5");
        assert_eq!(text(&e, "event.action").as_deref(), Some("account-locked"));
        let e = run("pam_unix(passwd:chauthtok): password changed for bob");
        assert_eq!(text(&e, "user.target.name").as_deref(), Some("bob"));
        let mut e = Event::new();
        assert!(decode(
            "authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=218.188.2.4 ",
            true,
            &mut e
        ));
        assert_eq!(text(&e, "source.ip").as_deref(), Some("218.188.2.4"));
        let mut e = Event::new();
        assert!(!decode(
            "pam_systemd(sshd:session): New sd-bus connection (system-bus-pam-systemd-1234) opened.",
            false,
            &mut e
        ));
    }
}
