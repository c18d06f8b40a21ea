//! ArcSight Common Event Format (CEF).
//!
//! `CEF:Version|Device Vendor|Device Product|Device Version|Device Event Class ID|Name|Severity|Extension`
//!
//! Header fields escape `|` and `\` with a backslash; extension values escape `=` and `\`, and
//! write newlines as `\n` / `\r`. An extension value runs up to the space before the next
//! `key=`. Text before `CEF:` (a syslog header the caller did not split off) is ignored.
//!
//! ECS mapping, after Elastic's `decode_cef`: `observer.vendor` / `observer.product` /
//! `observer.version` / `event.code` / `event.severity` from the header, `message` from
//! `msg` (else the header name), and for the extension `src`→`source.ip`,
//! `dst`→`destination.ip`, `spt`/`dpt`→ports, `suser`→`source.user.name` (and `user.name`),
//! `duser`→`destination.user.name`, `act`→`event.action`, `request`→`url.original`,
//! `rt`→`@timestamp`, `shost`/`dhost`→`*.domain`, `proto`→`network.transport`,
//! `app`→`network.protocol`, ... (long names such as `sourceAddress` too). Custom fields with a
//! label (`cs1`+`cs1Label`) are kept as `cef.extensions.<label>`; every other unmapped key as
//! `cef.extensions.<key>`.
//!
//! ```
//! use siem_core::parse::cef;
//! let line = r"CEF:0|Vendor|FW|1.0|100|blocked|7|src=203.0.113.7 dst=10.0.0.1 dpt=22 msg=a\=b c cs1=Edge cs1Label=zone";
//! let event = cef::parse(line, chrono_tz::UTC, chrono::Utc::now()).unwrap();
//! assert_eq!(event.get_str("observer.vendor"), Some("Vendor"));
//! assert_eq!(event.get_str("message"), Some("a=b c"));
//! assert_eq!(event.get_str("cef.extensions.zone"), Some("Edge"));
//! ```

use std::borrow::Cow;
use std::net::IpAddr;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use compact_str::CompactString;

use super::time;
use crate::event::{Event, format_timestamp};
use crate::parse::k;

/// Why a text is not a CEF message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CefError {
    /// No `CEF:` marker.
    #[error("not CEF: no `CEF:` marker")]
    NoMarker,
    /// Fewer than the seven `|`-separated header fields.
    #[error("not CEF: the header has {0} of 7 `|`-separated fields")]
    ShortHeader(usize),
}

/// The seven CEF header fields, unescaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header<'a> {
    /// `Version` (`0` or `1`).
    pub version: Cow<'a, str>,
    /// `Device Vendor`.
    pub vendor: Cow<'a, str>,
    /// `Device Product`.
    pub product: Cow<'a, str>,
    /// `Device Version`.
    pub device_version: Cow<'a, str>,
    /// `Device Event Class ID` (signature).
    pub event_class_id: Cow<'a, str>,
    /// `Name`.
    pub name: Cow<'a, str>,
    /// `Severity` (0-10, or `Low`/`Medium`/`High`/`Very-High`/`Unknown`).
    pub severity: Cow<'a, str>,
}

/// Splits a CEF text into its header and raw extension (text before `CEF:` is skipped).
pub fn split(text: &str) -> Result<(Header<'_>, &str), CefError> {
    let start = memchr::memmem::find(text.as_bytes(), b"CEF:").ok_or(CefError::NoMarker)?;
    let body = &text[start + 4..];
    let b = body.as_bytes();
    let mut fields: [Cow<'_, str>; 7] = Default::default();
    let mut n = 0;
    let mut field_start = 0;
    let mut i = 0;
    let mut escaped = false;
    while i < b.len() && n < 7 {
        match b[i] {
            b'\\' => escaped = !escaped,
            b'|' if !escaped => {
                fields[n] = unescape_header(&body[field_start..i]);
                n += 1;
                field_start = i + 1;
            }
            _ => escaped = false,
        }
        i += 1;
    }
    if n < 7 {
        return Err(CefError::ShortHeader(n));
    }
    let [
        version,
        vendor,
        product,
        device_version,
        event_class_id,
        name,
        severity,
    ] = fields;
    let header = Header {
        version,
        vendor,
        product,
        device_version,
        event_class_id,
        name,
        severity,
    };
    Ok((header, &body[field_start..]))
}

fn unescape_header(s: &str) -> Cow<'_, str> {
    if !s.contains('\\') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some(n @ ('|' | '\\')) => out.push(n),
                Some(n) => {
                    out.push('\\');
                    out.push(n);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Escapes a header field: `\` → `\\`, `|` → `\|`.
pub fn escape_header(s: &str) -> String {
    s.replace('\\', "\\\\").replace('|', "\\|")
}

/// Escapes an extension value: `\` → `\\`, `=` → `\=`, newline → `\n`, return → `\r`.
pub fn escape_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '=' => out.push_str("\\="),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out
}

fn unescape_value(s: &str) -> Cow<'_, str> {
    if !s.contains('\\') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('r') => out.push('\r'),
                Some(n @ ('=' | '\\' | '|')) => out.push(n),
                Some(n) => {
                    out.push('\\');
                    out.push(n);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn is_key_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-' | b'[' | b']')
}

/// At most this many extension pairs are read from one message.
pub const MAX_EXTENSIONS: usize = 1024;

/// Splits a CEF extension into `(key, unescaped value)` pairs, in order.
///
/// A key is a run of `[A-Za-z0-9_.\[\]-]` preceded by a space (or the start) and followed by an
/// unescaped `=`; its value runs to the space before the next key. Trailing spaces of a value
/// are dropped; text before the first key is ignored.
pub fn extensions(ext: &str) -> Vec<(&str, Cow<'_, str>)> {
    let b = ext.as_bytes();
    // (key start, position of its `=`)
    let mut keys: Vec<(usize, usize)> = Vec::new();
    let mut backslashes = 0usize;
    for (i, &c) in b.iter().enumerate() {
        if c == b'=' && backslashes.is_multiple_of(2) {
            let mut j = i;
            while j > 0 && is_key_byte(b[j - 1]) {
                j -= 1;
            }
            if j < i && (j == 0 || b[j - 1] == b' ') {
                keys.push((j, i));
                if keys.len() >= MAX_EXTENSIONS {
                    break;
                }
            }
        }
        backslashes = if c == b'\\' { backslashes + 1 } else { 0 };
    }
    let mut out = Vec::with_capacity(keys.len());
    for (n, &(start, eq)) in keys.iter().enumerate() {
        let end = keys.get(n + 1).map_or(b.len(), |&(next, _)| next);
        let value = ext[eq + 1..end].trim_end_matches(' ');
        out.push((&ext[start..eq], unescape_value(value)));
    }
    out
}

/// Parses a CEF line into an event (with `event.original`).
pub fn parse(line: &str, tz: Tz, now: DateTime<Utc>) -> Result<Event, CefError> {
    let mut event = super::new_event(line, 32);
    decode(line, tz, now, &mut event)?;
    Ok(event)
}

/// Decodes CEF `text` (a whole line, or a syslog message) into `event`, keeping what the event
/// already holds unless a CEF field replaces it. On error the event is left untouched.
pub fn decode(text: &str, tz: Tz, now: DateTime<Utc>, event: &mut Event) -> Result<(), CefError> {
    let (header, ext) = split(text)?;
    event.insert(k("cef.version"), header.version.as_ref());
    event.insert(k("observer.vendor"), header.vendor.as_ref());
    event.insert(k("observer.product"), header.product.as_ref());
    event.insert(k("observer.version"), header.device_version.as_ref());
    event.insert(k("event.code"), header.event_class_id.as_ref());
    event.insert(k("cef.name"), header.name.as_ref());
    let severity = header.severity.trim();
    match severity.parse::<i64>() {
        Ok(n) => event.insert(k("event.severity"), n),
        Err(_) => {
            let n: Option<i64> = match severity.to_ascii_lowercase().as_str() {
                "unknown" => Some(0),
                "low" => Some(3),
                "medium" => Some(6),
                "high" => Some(8),
                "very-high" | "very high" => Some(10),
                _ => None,
            };
            if let Some(n) = n {
                event.insert(k("event.severity"), n);
            }
            event.insert(k("cef.severity"), severity);
        }
    }
    let pairs = extensions(ext);
    let label_of = |key: &str| -> Option<&str> {
        pairs.iter().find_map(|(k2, v)| {
            (k2.len() == key.len() + 5 && k2.starts_with(key) && k2.ends_with("Label"))
                .then_some(v.as_ref())
        })
    };
    let mut message = None;
    for (key, value) in &pairs {
        let v = value.as_ref();
        match ecs_target(key) {
            Some(Target::Ip(name)) => match v.parse::<IpAddr>() {
                Ok(ip) => event.insert(k(name), ip),
                Err(_) => event.insert(k(name), v),
            },
            Some(Target::Int(name)) => match v.trim().parse::<i64>() {
                Ok(n) => event.insert(k(name), n),
                Err(_) => event.insert(k(name), v),
            },
            Some(Target::Text(name)) => event.insert(k(name), v),
            Some(Target::Lower(name)) => event.insert(k(name), v.to_ascii_lowercase()),
            Some(Target::Message) => message = Some(v),
            Some(Target::UserName(name)) => {
                event.insert(k(name), v);
                // `user.name`: the acting user when known, else the target.
                if name == "source.user.name" || !event.contains("user.name") {
                    event.insert(k("user.name"), v);
                }
            }
            Some(Target::Time(name)) => match time::parse_any(v, tz, now) {
                Some(ts) if name == "@timestamp" => event.timestamp = Some(ts),
                Some(ts) => event.insert(k(name), format_timestamp(ts)),
                None => event.insert(extension_name(key), v),
            },
            Some(Target::Direction) => match v.trim() {
                "0" => event.insert(k("network.direction"), "inbound"),
                "1" => event.insert(k("network.direction"), "outbound"),
                _ => event.insert(extension_name(key), v),
            },
            None if key.ends_with("Label") && is_custom(&key[..key.len() - 5]) => {}
            None => {
                let name = match label_of(key).filter(|l| is_custom(key) && !l.is_empty()) {
                    Some(label) => extension_name(label),
                    None => extension_name(key),
                };
                event.insert(name, v);
            }
        }
    }
    event.insert(k("message"), message.unwrap_or(header.name.as_ref()));
    event.insert(k("event.kind"), "event");
    event.insert(k("event.module"), "cef");
    event.insert(k("event.dataset"), "cef.log");
    Ok(())
}

fn extension_name(key: &str) -> CompactString {
    let mut name = CompactString::from("cef.extensions.");
    name.push_str(key);
    name
}

/// Custom fields that come with a `...Label` key: `cs1`..`cs6`, `cn1`..`cn3`, `cfp1`..`cfp4`,
/// `c6a1`..`c6a4`, `deviceCustomString1`..., `flexString1`, `flexNumber1`, `flexDate1`, ...
fn is_custom(key: &str) -> bool {
    let prefixes = [
        "cs",
        "cn",
        "cfp",
        "c6a",
        "deviceCustomString",
        "deviceCustomNumber",
        "deviceCustomFloatingPoint",
        "deviceCustomIPv6Address",
        "deviceCustomDate",
        "flexString",
        "flexNumber",
        "flexDate",
    ];
    prefixes.iter().any(|p| {
        key.strip_prefix(p)
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    })
}

enum Target {
    Ip(&'static str),
    Int(&'static str),
    Text(&'static str),
    Lower(&'static str),
    Time(&'static str),
    UserName(&'static str),
    Message,
    Direction,
}

/// The ECS field for a CEF extension key (short or long name).
fn ecs_target(key: &str) -> Option<Target> {
    use Target::*;
    Some(match key {
        "src" | "sourceAddress" => Ip("source.ip"),
        "dst" | "destinationAddress" => Ip("destination.ip"),
        "spt" | "sourcePort" => Int("source.port"),
        "dpt" | "destinationPort" => Int("destination.port"),
        "suser" | "sourceUserName" => UserName("source.user.name"),
        "duser" | "destinationUserName" => UserName("destination.user.name"),
        "suid" | "sourceUserId" => Text("source.user.id"),
        "duid" | "destinationUserId" => Text("destination.user.id"),
        "sntdom" | "sourceNtDomain" => Text("source.user.domain"),
        "dntdom" | "destinationNtDomain" => Text("destination.user.domain"),
        "shost" | "sourceHostName" => Text("source.domain"),
        "dhost" | "destinationHostName" => Text("destination.domain"),
        "smac" | "sourceMacAddress" => Text("source.mac"),
        "dmac" | "destinationMacAddress" => Text("destination.mac"),
        "act" | "deviceAction" => Text("event.action"),
        "app" | "applicationProtocol" => Lower("network.protocol"),
        "proto" | "transportProtocol" => Lower("network.transport"),
        "request" | "requestUrl" => Text("url.original"),
        "requestMethod" => Text("http.request.method"),
        "requestClientApplication" => Text("user_agent.original"),
        "requestContext" => Text("http.request.referrer"),
        "msg" | "message" => Message,
        "outcome" | "eventOutcome" => Lower("event.outcome"),
        "rt" | "deviceReceiptTime" => Time("@timestamp"),
        "start" | "startTime" => Time("event.start"),
        "end" | "endTime" => Time("event.end"),
        "in" | "bytesIn" => Int("source.bytes"),
        "out" | "bytesOut" => Int("destination.bytes"),
        "dvc" | "deviceAddress" => Ip("observer.ip"),
        "dvchost" | "deviceHostName" => Text("observer.hostname"),
        "dvcmac" | "deviceMacAddress" => Text("observer.mac"),
        "deviceExternalId" => Text("observer.name"),
        "deviceInboundInterface" => Text("observer.ingress.interface.name"),
        "deviceOutboundInterface" => Text("observer.egress.interface.name"),
        "dvcpid" | "deviceProcessId" => Int("process.pid"),
        "deviceProcessName" => Text("process.name"),
        "fname" | "fileName" => Text("file.name"),
        "filePath" => Text("file.path"),
        "fsize" | "fileSize" => Int("file.size"),
        "externalId" => Text("event.id"),
        "sourceTranslatedAddress" => Ip("source.nat.ip"),
        "sourceTranslatedPort" => Int("source.nat.port"),
        "destinationTranslatedAddress" => Ip("destination.nat.ip"),
        "destinationTranslatedPort" => Int("destination.nat.port"),
        "deviceDirection" => Direction,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Value;

    #[test]
    fn header_escapes_and_extension() {
        let line = r"Sep 19 08:26:10 host CEF:0|Security|threat\|manager|1.0|100|worm \\ stopped|10|src=10.0.0.1 dst=2.1.2.2 spt=1232 suser=bob request=http://x/?a\=b rt=1557968615000 act=blocked a b";
        let e = parse(line, chrono_tz::UTC, Utc::now()).unwrap();
        assert_eq!(e.get_str("observer.product"), Some("threat|manager"));
        assert_eq!(e.get_str("cef.name"), Some(r"worm \ stopped"));
        assert_eq!(e.get("event.severity"), Some(&Value::Int(10)));
        assert_eq!(e.get("source.port"), Some(&Value::Int(1232)));
        assert_eq!(e.get_str("user.name"), Some("bob"));
        assert_eq!(e.get_str("url.original"), Some("http://x/?a=b"));
        assert_eq!(e.get_str("event.action"), Some("blocked a b"));
        assert_eq!(
            e.timestamp.map(|t| t.timestamp_millis()),
            Some(1557968615000)
        );
        assert_eq!(e.get_str("message"), Some(r"worm \ stopped"));
    }

    #[test]
    fn unescaped_equals_and_newlines() {
        let pairs = extensions(r"msg=line1\nline2 url=http://h/p?x=1&y=2 cs2=a cs2Label=Rule Name");
        assert_eq!(pairs[0], ("msg", Cow::Owned("line1\nline2".to_string())));
        assert_eq!(pairs[1].1, "http://h/p?x=1&y=2");
        let e = parse(
            r"CEF:1|V|P|1|sig|n|High|cs2=a cs2Label=Rule Name",
            chrono_tz::UTC,
            Utc::now(),
        )
        .unwrap();
        assert_eq!(e.get_str("cef.extensions.Rule Name"), Some("a"));
        assert_eq!(e.get("event.severity"), Some(&Value::Int(8)));
        assert!(e.get("cef.extensions.cs2Label").is_none());
    }

    #[test]
    fn rejects_non_cef() {
        assert_eq!(
            parse("CEF:0|a|b", chrono_tz::UTC, Utc::now()).unwrap_err(),
            CefError::ShortHeader(2)
        );
        assert_eq!(
            parse("hello", chrono_tz::UTC, Utc::now()).unwrap_err(),
            CefError::NoMarker
        );
        // Empty extension is fine.
        assert!(parse("CEF:0|a|b|c|d|e|1|", chrono_tz::UTC, Utc::now()).is_ok());
    }

    mod props {
        use super::super::*;
        use proptest::prelude::*;

        /// Extension values as CEF can carry them: anything but leading or trailing spaces
        /// (which the format cannot tell from separators).
        fn value() -> impl Strategy<Value = String> {
            any::<String>().prop_map(|s| s.trim_matches(' ').to_string())
        }

        proptest! {
            #[test]
            fn header_and_extension_escaping_round_trips(
                vendor in any::<String>(),
                name in any::<String>(),
                values in proptest::collection::vec(value(), 0..6),
            ) {
                let ext: Vec<String> = values.iter().enumerate().map(|(i, v)| format!("key{i}={}", escape_value(v))).collect();
                let line = format!("CEF:0|{}|product|1.0|sig|{}|5|{}", escape_header(&vendor), escape_header(&name), ext.join(" "));
                let (header, rest) = split(&line).unwrap();
                prop_assert_eq!(header.vendor.as_ref(), vendor.as_str());
                prop_assert_eq!(header.name.as_ref(), name.as_str());
                let pairs = extensions(rest);
                prop_assert_eq!(pairs.len(), values.len());
                for (i, ((key, got), want)) in pairs.iter().zip(&values).enumerate() {
                    let k = format!("key{i}");
                    prop_assert_eq!(*key, k.as_str());
                    prop_assert_eq!(got.as_ref(), want.as_str());
                }
            }

            #[test]
            fn total_on_any_text(text in ".{0,300}") {
                let _ = parse(&text, chrono_tz::UTC, Utc::now());
                let _ = parse(&format!("CEF:0|{text}"), chrono_tz::UTC, Utc::now());
            }
        }
    }
}
