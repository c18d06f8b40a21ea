//! `programs::decode` on arbitrary messages for every program it knows: no panic, and the
//! fields it sets have the types ECS gives them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use siem_core::event::{Event, Value};
use siem_core::parse::programs;

const PROGRAMS: [&str; 16] = [
    "sshd", "sshd-session", "sudo", "su", "cron", "CRON", "useradd", "usermod", "passwd", "dropbear", "login",
    "systemd-logind", "pkexec", "vsftpd", "sshd(pam_unix)", "pure-ftpd",
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, message)) = data.split_first() else { return };
    let mut event = Event::new();
    event.insert("process.name", PROGRAMS[usize::from(selector) % PROGRAMS.len()]);
    event.insert("message", String::from_utf8_lossy(message).as_ref());
    let recognised = programs::decode(&mut event);
    for (name, value) in event.fields() {
        match name {
            "source.ip" | "destination.ip" => assert!(matches!(value, Value::Ip(_))),
            "source.port" | "destination.port" => {
                assert!(matches!(value, Value::Int(p) if (0..=65535).contains(p)))
            }
            "event.category" | "event.type" => assert!(matches!(value, Value::List(_))),
            "event.outcome" => assert!(matches!(value.as_str(), Some("success" | "failure"))),
            _ => {}
        }
    }
    if recognised {
        assert!(event.get("event.action").is_some());
        assert!(event.logsource.product.as_deref() == Some("linux"));
    }
});
