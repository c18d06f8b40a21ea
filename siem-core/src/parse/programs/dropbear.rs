//! dropbear (a small SSH server): `Bad password attempt for 'root' from 1.2.3.4:5543`,
//! `Login attempt for nonexistent user from ...`, `Exit before auth ...: Max auth tries reached`,
//! `Password auth succeeded for 'root' from ...`, `Pubkey auth succeeded for ...`.

use super::Keywords;
use crate::event::{Event, static_name};

use super::{
    Outcome, classify, quoted, rsplit_once, set_source, set_user, split_host_port, split_once, word,
};

const AUTH: Keywords = keywords!["authentication"];
const INFO: Keywords = keywords!["info"];
const START: Keywords = keywords!["start"];

pub(super) fn decode(message: &str, event: &mut Event) -> bool {
    let mut m = message.trim();
    // Some builds log their own `[pid] Mmm dd hh:mm:ss ` prefix inside the message.
    if let Some(rest) = m.strip_prefix('[')
        && let Some((pid, rest)) = split_once(rest, "] ")
        && super::is_digits(pid)
    {
        m = rest;
        if let Some((_, used)) = crate::parse::time::parse_bsd_prefix(m.as_bytes()) {
            m = m.get(used..).unwrap_or_default().trim_start();
        }
    }
    let lower_first = |s: &str, prefix: &str| -> bool {
        s.len() >= prefix.len()
            && s.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
    };
    if lower_first(m, "bad password attempt for ") {
        let user = quoted(m).unwrap_or_default();
        classify(event, AUTH, INFO, "ssh-login", Some(Outcome::Failure));
        set_user(event, user);
        set_from(m, event);
        return true;
    }
    if lower_first(m, "login attempt for nonexistent user") {
        classify(
            event,
            AUTH,
            INFO,
            "ssh-invalid-user",
            Some(Outcome::Failure),
        );
        if let Some((head, _)) = rsplit_once(m, " from ")
            && let Some(user) = quoted(head)
        {
            event.insert_static(static_name!("user.name"), user);
        }
        set_from(m, event);
        return true;
    }
    if let Some(rest) = m.strip_prefix("Exit before auth") {
        if !rest.contains("Max auth tries reached") {
            return false;
        }
        classify(
            event,
            AUTH,
            INFO,
            "ssh-max-auth-attempts",
            Some(Outcome::Failure),
        );
        if let Some(user) = rest
            .split_once("(user '")
            .and_then(|(_, r)| r.split_once('\''))
            .map(|(u, _)| u)
        {
            set_user(event, user);
        } else if let Some(user) = rest
            .rsplit_once("- user '")
            .and_then(|(_, r)| r.split_once('\''))
            .map(|(u, _)| u)
            && user != "is invalid"
        {
            set_user(event, user);
        }
        // `Exit before auth from <ADDR:PORT>: ...` or `... - user 'x' from ADDR:PORT`
        if let Some(rest) = rest.strip_prefix(" from <")
            && let Some((endpoint, _)) = rest.split_once('>')
        {
            let (address, port) = split_host_port(endpoint);
            set_source(event, address, port);
        } else {
            set_from(rest, event);
        }
        return true;
    }
    if m.starts_with("Password auth succeeded for ") || m.starts_with("Pubkey auth succeeded for ")
    {
        classify(event, AUTH, START, "ssh-login", Some(Outcome::Success));
        set_user(event, quoted(m).unwrap_or_default());
        set_from(m, event);
        return true;
    }
    false
}

/// The `ADDR:PORT` after the last ` from `.
fn set_from(m: &str, event: &mut Event) {
    if let Some((_, tail)) = rsplit_once(m, " from ") {
        let (endpoint, _) = word(tail);
        let (address, port) = split_host_port(endpoint);
        set_source(event, address, port);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(e: &Event, name: &str) -> Option<String> {
        e.get(name).map(|v| v.to_text().into_owned())
    }

    #[test]
    fn forms() {
        for (message, ip, user) in [
            (
                "bad password attempt for 'root' from 198.51.100.87:5543",
                "198.51.100.87",
                Some("root"),
            ),
            (
                "login attempt for nonexistent user from ::ffff:198.51.100.215:60495",
                "198.51.100.215",
                None,
            ),
            (
                "Exit before auth (user 'root', 10 fails): Max auth tries reached - user 'root' from 1.2.3.4:60588",
                "1.2.3.4",
                Some("root"),
            ),
            (
                "[825] Jul 10 23:53:52 Bad password attempt for 'root' from 1.2.3.4:52289",
                "1.2.3.4",
                Some("root"),
            ),
            (
                "[825] Jul 10 23:57:29 Exit before auth from <192.0.2.3:52289>: (user 'root', 10 fails): Max auth tries reached - user 'root'",
                "192.0.2.3",
                Some("root"),
            ),
            (
                "[826] Jul 10 23:59:24 Exit before auth from <192.0.2.3:52325>: Max auth tries reached - user 'is invalid'",
                "192.0.2.3",
                None,
            ),
        ] {
            let mut e = Event::new();
            assert!(decode(message, &mut e), "{message}");
            assert_eq!(text(&e, "source.ip").as_deref(), Some(ip), "{message}");
            assert_eq!(text(&e, "user.name").as_deref(), user, "{message}");
        }
    }
}
