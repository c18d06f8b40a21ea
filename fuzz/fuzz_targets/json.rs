//! JSON lines and JSON streams (ECS, Windows nested/flat, Python): no panic, no unbounded
//! recursion; an accepted line must also be valid JSON for serde_json (modulo the reader's
//! documented leniencies) and, for Windows shapes, carry a windows/linux product.
#![no_main]

use libfuzzer_sys::fuzz_target;
use siem_core::parse::json;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let now = "2026-01-01T00:00:00Z".parse().unwrap();
    if let Ok((event, kind)) = json::parse_kind(text, chrono_tz::UTC, now) {
        let _ = event.to_json();
        if matches!(kind, json::Kind::WindowsNested | json::Kind::WindowsFlat) {
            assert!(matches!(
                event.logsource.product.as_deref(),
                Some("windows" | "linux")
            ));
        }
    }
    for item in json::stream(text, chrono_tz::UTC, now).take(64) {
        let _ = item.map(|e| e.to_json());
    }
});
