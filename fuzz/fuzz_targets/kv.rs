//! key=value / logfmt: arbitrary text never panics; formatting a pair and reading it back gives
//! the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use siem_core::parse::kv;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let now = "2026-01-01T00:00:00Z".parse().unwrap();
    let _ = kv::parse(text, chrono_tz::UTC, now);
    assert!(kv::pairs(text).len() <= kv::MAX_PAIRS);
    let line = kv::format_pair("key", text);
    let pairs = kv::pairs(&line);
    assert_eq!(pairs.len(), 1, "{line:?}");
    assert_eq!(pairs[0].value.as_deref(), Some(text));
});
