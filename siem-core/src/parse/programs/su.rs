//! su (shadow-utils and util-linux): `Successful su for root by alice`, `FAILED su for root by
//! alice`, `+ pts/0 alice:root`, `(to root) alice on pts/0`, `FAILED SU (to root) alice on pts/0`,
//! `'su root' failed for lonvick on /dev/pts/8` (RFC 3164's example), and PAM messages.

use super::Keywords;
use crate::event::{Event, static_name};

use super::{Outcome, classify, pam, set_user, split_once};

const AUTH: Keywords = keywords!["authentication"];
const START: Keywords = keywords!["start"];
const INFO: Keywords = keywords!["info"];

pub(super) fn decode(message: &str, event: &mut Event) -> bool {
    let m = message.trim();
    if pam::is_pam_message(m) {
        return pam::decode(m, false, event);
    }
    let (outcome, user, target) = if let Some(rest) = m.strip_prefix("Successful su for ") {
        let Some((target, user)) = split_once(rest, " by ") else {
            return false;
        };
        (Outcome::Success, user, target)
    } else if let Some(rest) = m.strip_prefix("FAILED su for ") {
        let Some((target, user)) = split_once(rest, " by ") else {
            return false;
        };
        (Outcome::Failure, user, target)
    } else if let Some(rest) = m.strip_prefix("FAILED SU (to ") {
        let Some((target, rest)) = split_once(rest, ") ") else {
            return false;
        };
        let user = split_once(rest, " on ").map_or(rest, |(u, _)| u);
        (Outcome::Failure, user, target)
    } else if let Some(rest) = m.strip_prefix("(to ") {
        let Some((target, rest)) = split_once(rest, ") ") else {
            return false;
        };
        let user = split_once(rest, " on ").map_or(rest, |(u, _)| u);
        (Outcome::Success, user, target)
    } else if let Some(rest) = m.strip_prefix("'su ") {
        // 'su root' failed for lonvick on /dev/pts/8
        let Some((target, rest)) = split_once(rest, "' failed for ") else {
            return false;
        };
        let user = split_once(rest, " on ").map_or(rest, |(u, _)| u);
        (Outcome::Failure, user, target)
    } else if let Some(rest) = m.strip_prefix("+ ").or_else(|| m.strip_prefix("- ")) {
        // `+ /dev/pts/0 alice:root` (success) / `- /dev/pts/0 alice:root` (failure)
        let outcome = if m.starts_with('+') {
            Outcome::Success
        } else {
            Outcome::Failure
        };
        let Some((_tty, users)) = rest.split_once(' ') else {
            return false;
        };
        let Some((user, target)) = users.split_once(':') else {
            return false;
        };
        (outcome, user, target)
    } else if m.starts_with("pam_authenticate: ") {
        classify(event, AUTH, INFO, "su", Some(Outcome::Failure));
        event.insert_static(static_name!("event.reason"), m);
        return true;
    } else {
        return false;
    };
    let kind = if outcome == Outcome::Success {
        START
    } else {
        INFO
    };
    classify(event, AUTH, kind, "su", Some(outcome));
    set_user(event, user.trim());
    if !target.is_empty() {
        event.insert_static(static_name!("user.target.name"), target.trim());
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        for (message, user, target, outcome) in [
            (
                "Successful su for root by alice",
                "alice",
                "root",
                "success",
            ),
            ("FAILED su for root by alice", "alice", "root", "failure"),
            ("+ /dev/pts/0 alice:root", "alice", "root", "success"),
            ("- pts/0 alice:root", "alice", "root", "failure"),
            ("(to root) alice on pts/0", "alice", "root", "success"),
            (
                "FAILED SU (to root) alice on pts/0",
                "alice",
                "root",
                "failure",
            ),
            (
                "'su root' failed for lonvick on /dev/pts/8",
                "lonvick",
                "root",
                "failure",
            ),
        ] {
            let mut e = Event::new();
            assert!(decode(message, &mut e), "{message}");
            assert_eq!(e.get_str("user.name"), Some(user), "{message}");
            assert_eq!(e.get_str("user.target.name"), Some(target), "{message}");
            assert_eq!(e.get_str("event.outcome"), Some(outcome), "{message}");
        }
    }
}
