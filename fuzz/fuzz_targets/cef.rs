//! CEF: arbitrary text never panics; escaping round-trips for any header and value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use siem_core::parse::cef;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let now = "2026-01-01T00:00:00Z".parse().unwrap();
    let _ = cef::parse(text, chrono_tz::UTC, now);
    // Round trip: the text as one header field and as one extension value.
    if !text.contains('\n')
        && !text.contains('\r')
        && !text.ends_with(' ')
        && !text.starts_with(' ')
    {
        let line = format!(
            "CEF:0|{}|p|1|sig|n|5|k={}",
            cef::escape_header(text),
            cef::escape_value(text)
        );
        let (header, ext) = cef::split(&line).unwrap();
        assert_eq!(header.vendor, text);
        let pairs = cef::extensions(ext);
        assert_eq!(pairs.len(), 1, "{line:?}");
        assert_eq!(pairs[0].1, text);
    }
});
