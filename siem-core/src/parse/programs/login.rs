//! login, systemd-logind, pkexec and vsftpd messages.

use super::Keywords;
use crate::event::{Event, static_name};

use super::{Outcome, classify, pam, set_source, set_user, split_once};

const AUTH: Keywords = keywords!["authentication"];
const SESSION: Keywords = keywords!["session"];
const PROCESS: Keywords = keywords!["process"];
const START: Keywords = keywords!["start"];
const END: Keywords = keywords!["end"];
const INFO: Keywords = keywords!["info"];
const DENIED: Keywords = keywords!["start", "denied"];

/// login: `ROOT LOGIN ON tty2`, `LOGIN ON tty1 BY alice`, `FAILED LOGIN 1 FROM host FOR root, reason`.
pub(super) fn decode_login(message: &str, event: &mut Event) -> bool {
    let m = message.trim();
    if pam::is_pam_message(m) {
        return pam::decode(m, false, event);
    }
    if let Some(rest) = m.strip_prefix("ROOT LOGIN ON ") {
        classify(event, AUTH, START, "login", Some(Outcome::Success));
        event.insert_static(static_name!("user.name"), "root");
        login_from(rest, event);
        return true;
    }
    if let Some(rest) = m.strip_prefix("LOGIN ON ") {
        let Some((_, user)) = split_once(rest, " BY ") else {
            return false;
        };
        let user = login_from(user, event);
        classify(event, AUTH, START, "login", Some(Outcome::Success));
        set_user(event, user);
        return true;
    }
    if let Some(rest) = m.strip_prefix("FAILED LOGIN ") {
        // `FAILED LOGIN 1 FROM (null) FOR root, Authentication failure`
        classify(event, AUTH, INFO, "login", Some(Outcome::Failure));
        if let Some((head, who)) = split_once(rest, " FOR ") {
            let (user, reason) = split_once(who, ", ").unwrap_or((who, ""));
            set_user(event, user);
            if !reason.is_empty() {
                event.insert_static(static_name!("event.reason"), reason);
            }
            if let Some((_, from)) = split_once(head, " FROM ")
                && from != "(null)"
            {
                set_source(event, from, None);
            }
        }
        return true;
    }
    false
}

/// `... FROM host` at the end of a login message: sets the source, returns the text before.
fn login_from<'a>(s: &'a str, event: &mut Event) -> &'a str {
    match split_once(s, " FROM ") {
        Some((before, from)) => {
            set_source(event, from, None);
            before
        }
        None => s,
    }
}

/// systemd-logind: `New session 3 of user alice.`, `Removed session 3.`
pub(super) fn decode_logind(message: &str, event: &mut Event) -> bool {
    let m = message.trim();
    if let Some(rest) = m.strip_prefix("New session ") {
        let Some((id, user)) = split_once(rest, " of user ") else {
            return false;
        };
        classify(
            event,
            SESSION,
            START,
            "session-opened",
            Some(Outcome::Success),
        );
        set_user(event, user.strip_suffix('.').unwrap_or(user));
        event.insert_static(static_name!("session.id"), id);
        return true;
    }
    if let Some(rest) = m.strip_prefix("Removed session ") {
        classify(
            event,
            SESSION,
            END,
            "session-closed",
            Some(Outcome::Success),
        );
        event.insert_static(
            static_name!("session.id"),
            rest.strip_suffix('.').unwrap_or(rest),
        );
        return true;
    }
    pam::is_pam_message(m) && pam::decode(m, false, event)
}

/// pkexec: `alice: Executing command [USER=root] [TTY=/dev/pts/0] [CWD=/home/alice] [COMMAND=/usr/bin/id]`,
/// `alice: Error executing command as another user: Not authorized [USER=root] ...`
pub(super) fn decode_pkexec(message: &str, event: &mut Event) -> bool {
    let m = message.trim();
    if pam::is_pam_message(m) {
        return pam::decode(m, false, event);
    }
    let Some((user, rest)) = split_once(m, ": ") else {
        return false;
    };
    let success = rest.starts_with("Executing command");
    if !success && !rest.starts_with("Error executing command") {
        return false;
    }
    let outcome = if success {
        Outcome::Success
    } else {
        Outcome::Failure
    };
    classify(
        event,
        PROCESS,
        if success { START } else { DENIED },
        "pkexec-command",
        Some(outcome),
    );
    set_user(event, user);
    let bracket = |key: &str| -> Option<&str> {
        let start = rest.find(key)? + key.len();
        let tail = rest.get(start..)?;
        // COMMAND is last and may contain `]`: it runs to the final `]`.
        let end = if key == "[COMMAND=" {
            tail.rfind(']')?
        } else {
            tail.find(']')?
        };
        tail.get(..end)
    };
    if let Some(target) = bracket("[USER=") {
        event.insert_static(static_name!("user.target.name"), target);
    }
    if let Some(cwd) = bracket("[CWD=") {
        event.insert_static(static_name!("process.working_directory"), cwd);
    }
    if let Some(command) = bracket("[COMMAND=") {
        event.insert_static(static_name!("process.command_line"), command);
    }
    if !success && let Some((reason, _)) = split_once(rest, " [") {
        event.insert_static(static_name!("event.reason"), reason);
    }
    true
}

/// vsftpd: PAM messages and `[user] OK LOGIN: Client "1.2.3.4"` / `[user] FAIL LOGIN: Client "1.2.3.4"`.
pub(super) fn decode_vsftpd(message: &str, event: &mut Event) -> bool {
    let m = message.trim();
    if pam::is_pam_message(m) {
        return pam::decode(m, false, event);
    }
    if m.starts_with("authentication failure; ") {
        // Some builds log the PAM text without the `pam_unix(vsftpd:auth): ` prefix.
        return pam::decode(m, true, event);
    }
    let (user, rest) = match m.strip_prefix('[').and_then(|r| split_once(r, "] ")) {
        Some((user, rest)) => (user, rest),
        None => ("", m),
    };
    let outcome = if rest.starts_with("OK LOGIN: ") {
        Outcome::Success
    } else if rest.starts_with("FAIL LOGIN: ") {
        Outcome::Failure
    } else {
        return false;
    };
    classify(
        event,
        AUTH,
        if outcome == Outcome::Success {
            START
        } else {
            INFO
        },
        "login",
        Some(outcome),
    );
    set_user(event, user);
    if let Some((_, client)) = rest.split_once("Client \"")
        && let Some((address, _)) = client.split_once('"')
    {
        set_source(event, address, None);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let mut e = Event::new();
        assert!(decode_pkexec(
            "alice: Executing command [USER=root] [TTY=/dev/pts/0] [CWD=/home/alice] [COMMAND=/usr/bin/env [x]]",
            &mut e
        ));
        assert_eq!(e.get_str("process.command_line"), Some("/usr/bin/env [x]"));
        assert_eq!(e.get_str("user.target.name"), Some("root"));
        let mut e = Event::new();
        assert!(decode_login("ROOT LOGIN ON tty2", &mut e));
        assert_eq!(e.get_str("user.name"), Some("root"));
        let mut e = Event::new();
        assert!(decode_logind("New session 3 of user alice.", &mut e));
        assert_eq!(e.get_str("user.name"), Some("alice"));
        let mut e = Event::new();
        assert!(decode_vsftpd(
            "[username] FAIL LOGIN: Client \"192.0.2.222\"",
            &mut e
        ));
        assert_eq!(
            e.get("source.ip")
                .map(|v| v.to_text().into_owned())
                .as_deref(),
            Some("192.0.2.222")
        );
        let mut e = Event::new();
        assert!(decode_vsftpd(
            "authentication failure; logname= uid=0 euid=0 tty= ruser= rhost=192.0.2.223 user=tester",
            &mut e
        ));
        assert_eq!(e.get_str("user.name"), Some("tester"));
    }
}
