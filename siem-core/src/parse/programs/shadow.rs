//! The shadow utilities (useradd, userdel, usermod, groupadd, groupdel, groupmod, passwd,
//! chpasswd, chage, gpasswd, ...): account and group changes, and PAM password changes.

use super::Keywords;
use crate::event::{Event, Value, static_name};

use super::{Outcome, classify, pam, quoted, rsplit_once, set_user, split_once};

const IAM: Keywords = keywords!["iam"];
const USER_CREATION: Keywords = keywords!["user", "creation"];
const USER_DELETION: Keywords = keywords!["user", "deletion"];
const USER_CHANGE: Keywords = keywords!["user", "change"];
const GROUP_CREATION: Keywords = keywords!["group", "creation"];
const GROUP_DELETION: Keywords = keywords!["group", "deletion"];
const GROUP_CHANGE: Keywords = keywords!["group", "change"];

pub(super) fn decode(message: &str, event: &mut Event) -> bool {
    let m = message.trim();
    if pam::is_pam_message(m) {
        return pam::decode(m, false, event);
    }
    // useradd: `new user: name=bob, UID=1001, GID=1001, home=/home/bob, shell=/bin/bash, from=/dev/pts/0`
    if let Some(rest) = m.strip_prefix("new user: ") {
        classify(
            event,
            IAM,
            USER_CREATION,
            "user-created",
            Some(Outcome::Success),
        );
        for (attribute, value) in attributes(rest) {
            match attribute {
                "name" => event.insert_static(static_name!("user.target.name"), value),
                "UID" => put_id(event, "user.target.id", value),
                "GID" => put_id(event, "user.target.group.id", value),
                _ => {}
            }
        }
        return true;
    }
    // useradd / groupadd: `new group: name=bob, GID=1001`, `group added to /etc/group: name=foo, GID=1002`
    if let Some(rest) = m.strip_prefix("new group: ").or_else(|| {
        m.strip_prefix("group added to ")
            .and_then(|r| split_once(r, ": "))
            .map(|(_, r)| r)
    }) {
        classify(
            event,
            IAM,
            GROUP_CREATION,
            "group-created",
            Some(Outcome::Success),
        );
        for (attribute, value) in attributes(rest) {
            match attribute {
                "name" => event.insert_static(static_name!("group.name"), value),
                "GID" => put_id(event, "group.id", value),
                _ => {}
            }
        }
        return true;
    }
    // useradd / usermod: `add 'bob' to group 'sudo'`, `add 'bob' to shadow group 'sudo'`
    if let Some(rest) = m.strip_prefix("add ") {
        return membership(rest, " to ", "user-added-to-group", event);
    }
    // userdel: `delete 'bob' from group 'sudo'`, `delete user 'bob'`
    if let Some(rest) = m.strip_prefix("delete user ") {
        classify(
            event,
            IAM,
            USER_DELETION,
            "user-deleted",
            Some(Outcome::Success),
        );
        event.insert_static(
            static_name!("user.target.name"),
            quoted(rest).unwrap_or(rest),
        );
        return true;
    }
    if let Some(rest) = m.strip_prefix("delete ") {
        return membership(rest, " from ", "user-removed-from-group", event);
    }
    // userdel / groupdel: `removed group 'bob' owned by 'bob'`, `removed shadow group ...`,
    // `group 'foo' removed`, `group 'foo' removed from /etc/group`
    if let Some(rest) = m
        .strip_prefix("removed group ")
        .or_else(|| m.strip_prefix("removed shadow group "))
    {
        classify(
            event,
            IAM,
            GROUP_DELETION,
            "group-deleted",
            Some(Outcome::Success),
        );
        event.insert_static(static_name!("group.name"), quoted(rest).unwrap_or(rest));
        return true;
    }
    if let Some(rest) = m.strip_prefix("group ")
        && rest.contains(" removed")
        && let Some(name) = quoted(rest)
    {
        classify(
            event,
            IAM,
            GROUP_DELETION,
            "group-deleted",
            Some(Outcome::Success),
        );
        event.insert_static(static_name!("group.name"), name);
        return true;
    }
    // usermod: `change user 'bob' password`, `change user name 'a' to 'b'`,
    // `change user 'bob' shell from '/bin/sh' to '/bin/bash'`, `lock user 'bob' password`
    if let Some(rest) = m.strip_prefix("change user name ") {
        let mut names = rest.split('\'').skip(1).step_by(2);
        let (Some(old), Some(new)) = (names.next(), names.next()) else {
            return false;
        };
        classify(
            event,
            IAM,
            USER_CHANGE,
            "user-modified",
            Some(Outcome::Success),
        );
        event.insert_static(static_name!("user.target.name"), old);
        event.insert_static(static_name!("user.changes.name"), new);
        return true;
    }
    if let Some(rest) = m.strip_prefix("change user ") {
        let Some(name) = quoted(rest) else {
            return false;
        };
        let action = if rest.ends_with(" password") {
            "user-password-change"
        } else {
            "user-modified"
        };
        classify(event, IAM, USER_CHANGE, action, Some(Outcome::Success));
        event.insert_static(static_name!("user.target.name"), name);
        return true;
    }
    if let Some(rest) = m
        .strip_prefix("lock user ")
        .or_else(|| m.strip_prefix("unlock user "))
    {
        let Some(name) = quoted(rest) else {
            return false;
        };
        classify(
            event,
            IAM,
            USER_CHANGE,
            "user-modified",
            Some(Outcome::Success),
        );
        event.insert_static(static_name!("user.target.name"), name);
        return true;
    }
    // passwd (shadow): `password for 'bob' changed by 'root'`
    if let Some(rest) = m.strip_prefix("password for ") {
        let mut names = rest.split('\'').skip(1).step_by(2);
        let Some(target) = names.next() else {
            return false;
        };
        classify(
            event,
            IAM,
            USER_CHANGE,
            "user-password-change",
            Some(Outcome::Success),
        );
        event.insert_static(static_name!("user.target.name"), target);
        if let Some(by) = names.next() {
            set_user(event, by);
        }
        return true;
    }
    // chage: `changed password expiry for bob`
    if let Some(user) = m.strip_prefix("changed password expiry for ") {
        classify(
            event,
            IAM,
            USER_CHANGE,
            "user-modified",
            Some(Outcome::Success),
        );
        event.insert_static(static_name!("user.target.name"), user);
        return true;
    }
    // gpasswd: `user bob added by root to group sudo`, `user bob removed by root from group sudo`
    if let Some(rest) = m.strip_prefix("user ") {
        let (user, rest) = super::word(rest);
        let (action, rest) = if let Some(r) = rest.strip_prefix(" added by ") {
            ("user-added-to-group", r)
        } else if let Some(r) = rest.strip_prefix(" removed by ") {
            ("user-removed-from-group", r)
        } else {
            return false;
        };
        let (by, rest) = super::word(rest);
        let Some((_, group)) = rsplit_once(rest, " group ") else {
            return false;
        };
        classify(event, IAM, GROUP_CHANGE, action, Some(Outcome::Success));
        event.insert_static(static_name!("user.target.name"), user);
        event.insert_static(static_name!("group.name"), group);
        set_user(event, by);
        return true;
    }
    false
}

/// `'bob' to group 'sudo'` / `'bob' from shadow group 'sudo'`
fn membership(rest: &str, joiner: &str, action: &'static str, event: &mut Event) -> bool {
    let Some((user, group)) = rest.split_once(joiner) else {
        return false;
    };
    let (Some(user), Some(group)) = (quoted(user), quoted(group)) else {
        return false;
    };
    classify(event, IAM, GROUP_CHANGE, action, Some(Outcome::Success));
    event.insert_static(static_name!("user.target.name"), user);
    event.insert_static(static_name!("group.name"), group);
    true
}

/// `key=value, key=value` pairs.
fn attributes(s: &str) -> impl Iterator<Item = (&str, &str)> {
    s.split(", ").filter_map(|pair| pair.trim().split_once('='))
}

/// Numeric ids as integers, anything else as text.
fn put_id(event: &mut Event, name: &'static str, value: &str) {
    match value.parse::<i64>() {
        Ok(id) => event.insert(name, Value::Int(id)),
        Err(_) => event.insert(name, value),
    }
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
    fn forms() {
        let e = run(
            "new user: name=butter1, UID=0, GID=0, home=/root, shell=/bin/bash, from=/dev/pts/0",
        );
        assert_eq!(e.get_str("user.target.name"), Some("butter1"));
        assert_eq!(e.get("user.target.id"), Some(&Value::Int(0)));
        assert_eq!(e.get_str("event.action"), Some("user-created"));
        let e = run("new group: name=bob, GID=1001");
        assert_eq!(e.get_str("group.name"), Some("bob"));
        let e = run("group added to /etc/group: name=foo, GID=1002");
        assert_eq!(e.get("group.id"), Some(&Value::Int(1002)));
        let e = run("add 'bob' to shadow group 'sudo'");
        assert_eq!(
            (e.get_str("user.target.name"), e.get_str("group.name")),
            (Some("bob"), Some("sudo"))
        );
        let e = run("delete user 'bob'");
        assert_eq!(e.get_str("event.action"), Some("user-deleted"));
        let e = run("change user 'bob' password");
        assert_eq!(e.get_str("event.action"), Some("user-password-change"));
        let e = run("change user name 'a' to 'b'");
        assert_eq!(e.get_str("user.changes.name"), Some("b"));
        let e = run("user bob added by root to group sudo");
        assert_eq!(e.get_str("user.name"), Some("root"));
        let e = run("group 'foo' removed from /etc/group");
        assert_eq!(e.get_str("event.action"), Some("group-deleted"));
        let e = run("pam_unix(passwd:chauthtok): password changed for bob");
        assert_eq!(e.get_str("event.action"), Some("user-password-change"));
    }
}
