//! IBM QRadar Log Event Extended Format (LEEF 1.0 and 2.0).
//!
//! ```text
//! LEEF:1.0|Vendor|Product|Version|EventID|key=value<TAB>key=value...
//! LEEF:2.0|Vendor|Product|Version|EventID|DelimiterChar|key=value<DELIM>key=value...
//! ```
//!
//! The LEEF 2.0 delimiter is one character or its hex code (`^`, `x5E`, `0x5E`, `\t`); when
//! the field is empty or absent the delimiter is a tab. A pipe inside a header field is written
//! `\|`. Some devices separate LEEF 1.0 attributes with spaces rather than tabs; when a message
//! has no tab the attributes are split CEF-style (a value runs to the space before the next
//! `key=`).
//!
//! `devTime` becomes `@timestamp`, read with `devTimeFormat` (a Java `SimpleDateFormat`
//! pattern) when given, else as epoch milliseconds or `MMM dd yyyy HH:mm:ss`. ECS mapping:
//! `src`→`source.ip`, `dst`→`destination.ip`, `srcPort`/`dstPort`→ports,
//! `usrName`→`user.name`, `proto`→`network.transport`, `sev`→`event.severity`,
//! `srcBytes`/`dstBytes`, `srcPackets`/`dstPackets`, `srcMAC`/`dstMAC`, post-NAT addresses to
//! `*.nat.*`, `url`→`url.original`, `policy`→`rule.name`; header to `observer.*` and
//! `event.code`. Other keys are kept as `leef.<key>`.
//!
//! ```
//! use siem_core::parse::leef;
//! let line = "LEEF:2.0|Lancope|StealthWatch|1.0|41|^|src=10.0.1.8^dst=10.0.0.5^sev=5^devTime=May 15 2019 18:03:36^usrName=bob";
//! let event = leef::parse(line, chrono_tz::UTC, chrono::Utc::now()).unwrap();
//! assert_eq!(event.get_str("user.name"), Some("bob"));
//! assert_eq!(event.get_str("event.code"), Some("41"));
//! assert!(event.timestamp.is_some());
//! ```

use std::borrow::Cow;
use std::net::IpAddr;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use compact_str::CompactString;

use super::{cef, time};
use crate::event::Event;
use crate::parse::k;

/// Why a text is not a LEEF message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeefError {
    /// No `LEEF:` marker.
    #[error("not LEEF: no `LEEF:` marker")]
    NoMarker,
    /// Fewer than the five `|`-separated header fields.
    #[error("not LEEF: the header has {0} of 5 `|`-separated fields")]
    ShortHeader(usize),
    /// A LEEF 2.0 delimiter field that is neither one character nor a hex code.
    #[error("not LEEF: unreadable 2.0 delimiter {0:?}")]
    Delimiter(String),
}

/// Splits `text` at unescaped `|`, at most `max` fields; returns the fields and the rest.
fn header_fields(text: &str, max: usize) -> (Vec<Cow<'_, str>>, &str) {
    let b = text.as_bytes();
    let mut fields = Vec::with_capacity(max);
    let mut start = 0;
    let mut escaped = false;
    for (i, &c) in b.iter().enumerate() {
        if fields.len() == max {
            break;
        }
        match c {
            b'\\' => escaped = !escaped,
            b'|' if !escaped => {
                let field = &text[start..i];
                fields.push(if field.contains("\\|") {
                    Cow::Owned(field.replace("\\|", "|"))
                } else {
                    Cow::Borrowed(field)
                });
                start = i + 1;
            }
            _ => escaped = false,
        }
    }
    (fields, &text[start..])
}

/// Reads the LEEF 2.0 delimiter field.
fn delimiter(field: &str) -> Option<char> {
    let f = field.trim();
    if f.is_empty() {
        return Some('\t');
    }
    if f == "\\t" {
        return Some('\t');
    }
    let mut chars = f.chars();
    if let (Some(c), None) = (chars.next(), chars.next()) {
        return Some(c);
    }
    let hex = f
        .strip_prefix("0x")
        .or_else(|| f.strip_prefix("0X"))
        .or_else(|| f.strip_prefix('x'))
        .or_else(|| f.strip_prefix('X'))?;
    let code = u32::from_str_radix(hex, 16).ok()?;
    char::from_u32(code)
}

/// At most this many attributes are read from one message.
pub const MAX_ATTRIBUTES: usize = 1024;

/// Splits the attribute part on `delim` into `(key, value)` pairs. A piece without `=` belongs
/// to the previous value (the delimiter appeared inside it).
pub fn attributes(text: &str, delim: char) -> Vec<(&str, Cow<'_, str>)> {
    if delim == '\t' && !text.contains('\t') && text.contains(' ') {
        return cef::extensions(text);
    }
    let mut out: Vec<(&str, Cow<'_, str>)> = Vec::new();
    for piece in text.split(delim) {
        if out.len() >= MAX_ATTRIBUTES {
            break;
        }
        match piece.split_once('=') {
            Some((key, value)) if !key.is_empty() && !key.contains(' ') => {
                out.push((key.trim(), Cow::Borrowed(value)))
            }
            _ => {
                if let Some((_, last)) = out.last_mut() {
                    let mut joined = last.to_string();
                    joined.push(delim);
                    joined.push_str(piece);
                    *last = Cow::Owned(joined);
                }
            }
        }
    }
    out
}

/// Parses a LEEF line into an event (with `event.original`).
pub fn parse(line: &str, tz: Tz, now: DateTime<Utc>) -> Result<Event, LeefError> {
    let mut event = super::new_event(line, 32);
    decode(line, tz, now, &mut event)?;
    Ok(event)
}

/// Decodes LEEF `text` (a whole line, or a syslog message) into `event`. On error the event is
/// left untouched.
pub fn decode(text: &str, tz: Tz, now: DateTime<Utc>, event: &mut Event) -> Result<(), LeefError> {
    let start = memchr::memmem::find(text.as_bytes(), b"LEEF:").ok_or(LeefError::NoMarker)?;
    let body = &text[start + 5..];
    let (mut fields, mut rest) = header_fields(body, 5);
    if fields.len() < 5 {
        return Err(LeefError::ShortHeader(fields.len()));
    }
    let version = fields[0].trim().to_string();
    let mut delim = '\t';
    if version.starts_with('2') {
        // The delimiter field, unless the sender left it out and went straight to attributes.
        if let Some(bar) = rest.find('|') {
            let candidate = &rest[..bar];
            if candidate.len() <= 6 && !candidate.contains('=') {
                delim = delimiter(candidate)
                    .ok_or_else(|| LeefError::Delimiter(candidate.to_string()))?;
                rest = &rest[bar + 1..];
            }
        }
    }
    let event_id = std::mem::take(&mut fields[4]);
    event.insert(k("leef.version"), version);
    event.insert(k("observer.vendor"), fields[1].as_ref());
    event.insert(k("observer.product"), fields[2].as_ref());
    event.insert(k("observer.version"), fields[3].as_ref());
    event.insert(k("event.code"), event_id.as_ref());
    let attrs = attributes(rest, delim);
    let format = attrs
        .iter()
        .find(|(key, _)| *key == "devTimeFormat")
        .and_then(|(_, f)| time::JavaFormat::compile(f));
    for (key, value) in &attrs {
        let v = value.as_ref();
        let target = match *key {
            "devTimeFormat" => continue,
            "devTime" => {
                let ts = match &format {
                    Some(f) => f.parse(v, tz, now),
                    None => time::parse_any(v, tz, now),
                };
                match ts {
                    Some(ts) => event.timestamp = Some(ts),
                    None => event.insert(k("leef.devTime"), v),
                }
                continue;
            }
            "src" => ("source.ip", Kind::Ip),
            "dst" => ("destination.ip", Kind::Ip),
            "srcPort" => ("source.port", Kind::Int),
            "dstPort" => ("destination.port", Kind::Int),
            "srcPostNAT" => ("source.nat.ip", Kind::Ip),
            "dstPostNAT" => ("destination.nat.ip", Kind::Ip),
            "srcPostNATPort" => ("source.nat.port", Kind::Int),
            "dstPostNATPort" => ("destination.nat.port", Kind::Int),
            "usrName" => ("user.name", Kind::Text),
            "accountName" if !attrs.iter().any(|(k2, _)| *k2 == "usrName") => {
                ("user.name", Kind::Text)
            }
            "proto" => match v.parse::<i64>() {
                Ok(n) => {
                    event.insert(k("network.iana_number"), n);
                    continue;
                }
                Err(_) => ("network.transport", Kind::Lower),
            },
            "sev" => ("event.severity", Kind::Int),
            "srcMAC" => ("source.mac", Kind::Text),
            "dstMAC" => ("destination.mac", Kind::Text),
            "srcBytes" => ("source.bytes", Kind::Int),
            "dstBytes" => ("destination.bytes", Kind::Int),
            "srcPackets" => ("source.packets", Kind::Int),
            "dstPackets" => ("destination.packets", Kind::Int),
            "url" => ("url.original", Kind::Text),
            "policy" => ("rule.name", Kind::Text),
            "msg" | "message" => ("message", Kind::Text),
            other => {
                let mut name = CompactString::from("leef.");
                name.push_str(other);
                event.insert(name, v);
                continue;
            }
        };
        let (name, kind) = target;
        match kind {
            Kind::Ip => match v.trim().parse::<IpAddr>() {
                Ok(ip) => event.insert(k(name), ip),
                Err(_) => event.insert(k(name), v),
            },
            Kind::Int => match v.trim().parse::<i64>() {
                Ok(n) => event.insert(k(name), n),
                Err(_) => event.insert(k(name), v),
            },
            Kind::Text => event.insert(k(name), v),
            Kind::Lower => event.insert(k(name), v.to_ascii_lowercase()),
        }
    }
    event.insert(k("event.kind"), "event");
    Ok(())
}

enum Kind {
    Ip,
    Int,
    Text,
    Lower,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Value;

    #[test]
    fn leef_1_tabs() {
        let line = "LEEF:1.0|Microsoft|MSExchange|4.0 SP1|15345|src=192.0.2.0\tdst=172.50.123.1\tsev=5\tcat=anomaly\tsrcPort=81\tdstPort=21\tusrName=joe.black";
        let e = parse(line, chrono_tz::UTC, Utc::now()).unwrap();
        assert_eq!(e.get_str("observer.version"), Some("4.0 SP1"));
        assert_eq!(e.get("event.severity"), Some(&Value::Int(5)));
        assert_eq!(e.get("destination.port"), Some(&Value::Int(21)));
        assert_eq!(e.get_str("leef.cat"), Some("anomaly"));
    }

    #[test]
    fn leef_2_delimiters_and_time_format() {
        for delim in ["^", "x5E", "0x5e"] {
            let line = format!(
                "LEEF:2.0|V|P|1|E|{delim}|src=10.0.0.1^devTimeFormat=yyyy-MM-dd'T'HH:mm:ss.SSSZ^devTime=2024-01-05T10:00:00.500+0100^msg=a^b"
            );
            let e = parse(&line, chrono_tz::UTC, Utc::now()).unwrap();
            assert_eq!(
                e.timestamp.map(|t| t.timestamp_millis()),
                Some(1704445200500),
                "{delim}"
            );
            assert_eq!(e.get_str("message"), Some("a^b"));
        }
        // Delimiter field left out.
        let e = parse(
            "LEEF:2.0|V|P|1|E|src=10.0.0.1\tdst=10.0.0.2",
            chrono_tz::UTC,
            Utc::now(),
        )
        .unwrap();
        assert!(e.get("destination.ip").is_some());
        assert!(matches!(
            parse("LEEF:2.0|V|P|1|E|xZZ|a=b", chrono_tz::UTC, Utc::now()),
            Err(LeefError::Delimiter(_))
        ));
    }

    #[test]
    fn leef_1_spaces_and_errors() {
        let e = parse("<13>Jan 18 11:07:53 host LEEF:1.0|Vendor|Product|1|ID|src=1.2.3.4 usrName=john smith dst=5.6.7.8", chrono_tz::UTC, Utc::now()).unwrap();
        assert_eq!(e.get_str("user.name"), Some("john smith"));
        assert_eq!(
            parse("LEEF:1.0|V|P", chrono_tz::UTC, Utc::now()).unwrap_err(),
            LeefError::ShortHeader(2)
        );
    }
}
