//! sudo: `alice : [reason ; ]TTY=pts/0 ; PWD=/home/alice ; USER=root ; [GROUP=g ; ][ENV=... ; ]COMMAND=/bin/ls -l`,
//! and the PAM messages sudo logs.

use super::Keywords;
use crate::event::{Event, static_name};

use super::{Outcome, classify, pam, set_user, split_once};

const PROCESS: Keywords = keywords!["process"];
const AUTH_PROCESS: Keywords = keywords!["authentication", "process"];
const START: Keywords = keywords!["start"];
const DENIED: Keywords = keywords!["start", "denied"];

pub(super) fn decode(message: &str, event: &mut Event) -> bool {
    let m = message.trim();
    if pam::is_pam_message(m) {
        return pam::decode(m, false, event);
    }
    let Some((user, rest)) = split_once(m, " : ") else {
        return false;
    };
    if user.is_empty() || user.contains(' ') {
        return false;
    }
    // COMMAND= is last and may itself hold " ; ", so it is cut off first.
    let (fields, command) = match find_key(rest, "COMMAND=") {
        Some(at) => (&rest[..at], Some(&rest[at + "COMMAND=".len()..])),
        None => (rest, None),
    };
    let mut reason = None;
    let mut tty = None;
    let mut pwd = None;
    let mut target = None;
    let mut group = None;
    let mut any_key = false;
    for part in fields.split(" ; ") {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        match part.split_once('=') {
            Some(("TTY", v)) => tty = Some(v),
            Some(("PWD", v)) => pwd = Some(v),
            Some(("USER", v)) => target = Some(v),
            Some(("GROUP", v)) => group = Some(v),
            Some(("ENV" | "CHROOT" | "CWD" | "HOST", _)) => {}
            _ if !any_key && reason.is_none() => {
                reason = Some(part);
                continue;
            }
            _ => continue,
        }
        any_key = true;
    }
    if !any_key && command.is_none() {
        return false;
    }
    let outcome = if reason.is_some() {
        Outcome::Failure
    } else {
        Outcome::Success
    };
    let password = reason.is_some_and(|r| r.contains("password"));
    let category = if password { AUTH_PROCESS } else { PROCESS };
    let kind = if reason.is_some() { DENIED } else { START };
    classify(event, category, kind, "sudo-command", Some(outcome));
    set_user(event, user);
    if let Some(target) = target {
        event.insert_static(static_name!("user.target.name"), target);
    }
    if let Some(group) = group {
        event.insert_static(static_name!("user.target.group.name"), group);
    }
    if let Some(command) = command {
        event.insert_static(static_name!("process.command_line"), command);
    }
    if let Some(pwd) = pwd {
        event.insert_static(static_name!("process.working_directory"), pwd);
    }
    if let Some(tty) = tty {
        event.insert_static(static_name!("system.auth.sudo.tty"), tty);
    }
    if let Some(reason) = reason {
        event.insert_static(static_name!("event.reason"), reason);
    }
    true
}

/// The index of `key` where it starts a field (at the start or after `; `).
fn find_key(s: &str, key: &str) -> Option<usize> {
    s.match_indices(key)
        .map(|(i, _)| i)
        .find(|&i| i == 0 || s[..i].ends_with("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(message: &str) -> Event {
        let mut event = Event::new();
        assert!(decode(message, &mut event), "{message}");
        event
    }

    #[test]
    fn commands_and_refusals() {
        let e = run(
            "    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/sh -c 'a ; b ; USER=x'",
        );
        assert_eq!(e.get_str("user.name"), Some("alice"));
        assert_eq!(e.get_str("user.target.name"), Some("root"));
        assert_eq!(
            e.get_str("process.command_line"),
            Some("/bin/sh -c 'a ; b ; USER=x'")
        );
        assert_eq!(e.get_str("process.working_directory"), Some("/home/alice"));
        assert_eq!(e.get_str("system.auth.sudo.tty"), Some("pts/0"));
        assert_eq!(e.get_str("event.outcome"), Some("success"));
        let e = run(
            "bob : 3 incorrect password attempts ; TTY=pts/1 ; PWD=/tmp ; USER=root ; COMMAND=/usr/bin/id",
        );
        assert_eq!(e.get_str("event.outcome"), Some("failure"));
        assert_eq!(
            e.get_str("event.reason"),
            Some("3 incorrect password attempts")
        );
        let e = run(
            "bob : user NOT in sudoers ; TTY=pts/1 ; PWD=/tmp ; USER=#-1 ; COMMAND=/usr/bin/id",
        );
        assert_eq!(e.get_str("user.target.name"), Some("#-1"));
        let e =
            run("pam_unix(sudo:session): session opened for user root(uid=0) by alice(uid=1000)");
        assert_eq!(e.get_str("event.action"), Some("session-opened"));
        let mut e = Event::new();
        assert!(!decode(
            "unable to resolve host foo: Name or service not known",
            &mut e
        ));
    }
}
