//! `syslog::parse` on arbitrary bytes: it must not panic, and what it returns must hold
//! together (the raw line kept, the message taken from the line, a known format).
#![no_main]

use chrono::{DateTime, TimeZone, Utc};
use libfuzzer_sys::fuzz_target;
use siem_core::parse::{Format, ParseOptions, syslog};

const ZONES: [chrono_tz::Tz; 4] =
    [chrono_tz::UTC, chrono_tz::Europe::Paris, chrono_tz::America::New_York, chrono_tz::Asia::Kolkata];

fuzz_target!(|data: &[u8]| {
    // First byte: zone and reference year; the rest is the line.
    let Some((&selector, line)) = data.split_first() else { return };
    let options = ParseOptions { timezone: ZONES[usize::from(selector & 3)], ..ParseOptions::default() };
    let now: DateTime<Utc> = Utc.with_ymd_and_hms(1990 + i32::from(selector >> 2), 6, 15, 12, 0, 0).unwrap();
    let line = String::from_utf8_lossy(line);
    let Some(parsed) = syslog::parse(&line, &options, now) else { return };
    assert!(matches!(parsed.format, Format::Rfc5424 | Format::Rfc3164));
    let event = &parsed.event;
    assert_eq!(event.original(), Some(line.as_ref()));
    let message = event.message().expect("a syslog event always has a message");
    assert!(line.contains(message), "message {message:?} is not part of the line");
    if let Some(host) = event.get_str("host.hostname") {
        assert!(!host.is_empty() && !host.contains(' '));
    }
    if let Some(siem_core::event::Value::Int(p)) = event.get("log.syslog.priority") {
        assert!((0..=191).contains(p));
    }
    // Serialising must work for whatever was read.
    let json = event.to_json();
    assert!(siem_core::event::Event::from_json(&json).is_ok());
});
