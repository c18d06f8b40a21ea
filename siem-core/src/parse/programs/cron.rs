//! cron / crond / crontab: `(root) CMD (command)`, `(alice) REPLACE (alice)`,
//! `(alice) BEGIN EDIT (alice)`, `LIST`, `DELETE`, `RELOAD`, and PAM session messages.

use super::Keywords;
use crate::event::{Event, static_name};

use super::{Outcome, classify, pam, set_user, split_once};

const PROCESS: Keywords = keywords!["process"];
const CONFIGURATION: Keywords = keywords!["configuration"];
const START: Keywords = keywords!["start"];
const CHANGE: Keywords = keywords!["change"];
const DELETION: Keywords = keywords!["deletion"];
const ACCESS: Keywords = keywords!["access"];
const INFO: Keywords = keywords!["info"];

pub(super) fn decode(message: &str, event: &mut Event) -> bool {
    let m = message.trim();
    if pam::is_pam_message(m) {
        return pam::decode(m, false, event);
    }
    let Some(rest) = m.strip_prefix('(') else {
        return false;
    };
    let Some((user, rest)) = split_once(rest, ") ") else {
        return false;
    };
    let (verb, argument) = match split_once(rest, " (") {
        Some((verb, argument)) => (verb, argument.strip_suffix(')').unwrap_or(argument)),
        None => (rest, ""),
    };
    let (category, kind, action): (Keywords, Keywords, &str) = match verb {
        "CMD" => (PROCESS, START, "cron-command"),
        "REPLACE" => (CONFIGURATION, CHANGE, "crontab-replaced"),
        "BEGIN EDIT" | "END EDIT" => (CONFIGURATION, ACCESS, "crontab-edited"),
        "LIST" => (CONFIGURATION, ACCESS, "crontab-listed"),
        "DELETE" => (CONFIGURATION, DELETION, "crontab-deleted"),
        "RELOAD" => (CONFIGURATION, INFO, "crontab-reloaded"),
        _ => return false,
    };
    classify(
        event,
        category,
        kind,
        action,
        (verb == "CMD").then_some(Outcome::Success),
    );
    if user != "CRON" {
        set_user(event, user);
    }
    if verb == "CMD" {
        event.insert_static(static_name!("process.command_line"), argument.trim());
    } else if !argument.is_empty() && argument != user && verb != "RELOAD" {
        event.insert_static(static_name!("user.target.name"), argument);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let mut e = Event::new();
        assert!(decode(
            "(root) CMD (   cd / && run-parts --report /etc/cron.hourly)",
            &mut e
        ));
        assert_eq!(e.get_str("user.name"), Some("root"));
        assert_eq!(
            e.get_str("process.command_line"),
            Some("cd / && run-parts --report /etc/cron.hourly")
        );
        let mut e = Event::new();
        assert!(decode("(root) REPLACE (alice)", &mut e));
        assert_eq!(e.get_str("event.action"), Some("crontab-replaced"));
        assert_eq!(e.get_str("user.target.name"), Some("alice"));
        let mut e = Event::new();
        assert!(!decode(
            "(CRON) info (No MTA installed, discarding output)",
            &mut e
        ));
    }
}
