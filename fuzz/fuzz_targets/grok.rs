//! Grok: an arbitrary expression (first line) compiles or fails cleanly, and matching an
//! arbitrary text (the rest) never panics.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use siem_core::parse::grok::Grok;

/// Library expressions compiled once (compiling is the expensive part).
fn library() -> &'static [Grok] {
    static LIBRARY: OnceLock<Vec<Grok>> = OnceLock::new();
    LIBRARY.get_or_init(|| {
        [
            "%{COMBINEDAPACHELOG}",
            "%{SYSLOGBASE} %{GREEDYDATA:message}",
            "%{IP:source.ip} %{TIMESTAMP_ISO8601:@timestamp}",
        ]
        .iter()
        .map(|e| Grok::compile(e).unwrap())
        .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (expression, input) = text.split_once('\n').unwrap_or((text, ""));
    let now = "2026-01-01T00:00:00Z".parse().unwrap();
    if expression.len() <= 256
        && let Ok(grok) = Grok::compile(expression)
    {
        let _ = grok.parse(input, chrono_tz::UTC, now);
    }
    for grok in library() {
        let _ = grok.parse(text, chrono_tz::UTC, now);
    }
});
