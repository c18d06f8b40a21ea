//! Grok: an arbitrary expression (first line) compiles or fails cleanly, and matching an
//! arbitrary text (the rest) never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use siem_core::parse::grok::Grok;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (expression, input) = text.split_once('\n').unwrap_or((text, ""));
    if expression.len() > 256 {
        return;
    }
    let now = "2026-01-01T00:00:00Z".parse().unwrap();
    if let Ok(grok) = Grok::compile(expression) {
        let _ = grok.parse(input, chrono_tz::UTC, now);
    }
    // The library patterns against the same text.
    for expression in [
        "%{COMBINEDAPACHELOG}",
        "%{SYSLOGBASE} %{GREEDYDATA:message}",
        "%{IP:source.ip} %{TIMESTAMP_ISO8601:@timestamp}",
    ] {
        let _ = Grok::compile(expression)
            .unwrap()
            .parse(input, chrono_tz::UTC, now);
    }
});
