//! The Parser in auto mode (and JSON mode) on arbitrary bytes: never panics, always returns an
//! event, and the event says why when nothing fit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use siem_core::event::PARSE_FAILURE_TAG;
use siem_core::parse::{Format, FormatSpec, ParseOptions, Parser};

fuzz_target!(|data: &[u8]| {
    let reference = Some("2026-01-01T00:00:00Z".parse().unwrap());
    for format in [FormatSpec::Auto, FormatSpec::Json, FormatSpec::Syslog] {
        let parser = Parser::new(ParseOptions {
            format,
            max_line_bytes: 4096,
            reference_time: reference,
            ..ParseOptions::default()
        })
        .unwrap();
        let parsed = parser.parse(data);
        let failed = parsed.event.has_tag(PARSE_FAILURE_TAG);
        assert_eq!(failed, parsed.format == Format::Unparsed);
        if failed {
            assert!(parsed.event.get_str("error.message").is_some());
            assert!(parsed.event.original().is_some());
        }
        // The event always serializes to valid JSON.
        let json = parsed.event.to_json();
        assert!(json.starts_with('{') && json.ends_with('}'));
    }
});
