//! Apache / nginx access and error lines: arbitrary text never panics; a parsed line keeps the
//! line as `event.original` and has the web logsource.
#![no_main]

use libfuzzer_sys::fuzz_target;
use siem_core::parse::access::{self, Server};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let now = "2026-01-01T00:00:00Z".parse().unwrap();
    for server in [Server::Apache, Server::Nginx, Server::Unknown] {
        if let Ok(event) = access::parse(text, server, chrono_tz::Europe::Paris, now) {
            assert_eq!(event.original(), Some(text));
            assert_eq!(event.logsource.category.as_deref(), Some("webserver"));
            assert!(event.timestamp.is_some());
        }
    }
});
