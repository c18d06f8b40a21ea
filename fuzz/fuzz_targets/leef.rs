//! LEEF 1.0/2.0: arbitrary text never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use siem_core::parse::leef;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let now = "2026-01-01T00:00:00Z".parse().unwrap();
    let _ = leef::parse(text, chrono_tz::America::New_York, now);
    let _ = leef::parse(&format!("LEEF:2.0|v|p|1|e|^|{text}"), chrono_tz::UTC, now);
});
