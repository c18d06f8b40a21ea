//! The decoder of the fast path for event objects: the compact string `node/lib/encode.js`
//! writes while walking an object in JavaScript, read back into [`Event`]s with the same
//! semantics as the Node-API walk in [`crate::convert`] (flattening, precedence, `@timestamp`,
//! `logsource`, numbers, the bounds, the errors).
//!
//! ```text
//! event  = '{' entry* '}'
//! entry  = 'K' key NUL value
//! value  = 's' text NUL | 'n' number NUL | 'd' epoch-ms NUL | 'i' bigint NUL
//!        | 't' | 'f' | 'z' | '{' entry* '}' | '[' value* ']'
//! ```
//!
//! The text comes from a hidden method any script could call with any string, so decoding is
//! total: malformed input is an error ([`DecodeError::Malformed`]), never a panic, nesting is
//! bounded by [`MAX_DEPTH`] and the values of one event by [`MAX_VALUES`].

use chrono::{DateTime, Utc};
use compact_str::CompactString;
use siem_core::event::{Event, FieldHasher, FieldMap, LogSource, Value, format_timestamp};

use crate::convert::{
    EventError, EventSink, MAX_DEPTH, MAX_VALUES, MapSink, Sink, number_value, parse_timestamp,
    timestamp_from_millis,
};

/// Why an encoded text could not be decoded.
#[derive(Debug)]
pub enum DecodeError {
    /// The event is not an event (the same errors the Node-API walk reports); `usize` is its
    /// position in the batch.
    Event(EventError, usize),
    /// The text does not follow the grammar: not written by `encode.js`.
    Malformed(usize),
}

struct Reader<'a> {
    text: &'a str,
    pos: usize,
    values: usize,
}

type Res<T> = Result<T, Fail>;

enum Fail {
    Event(EventError),
    Malformed,
}

impl From<EventError> for Fail {
    fn from(e: EventError) -> Self {
        Fail::Event(e)
    }
}

fn field_error(field: &str, reason: impl Into<String>) -> Fail {
    Fail::Event(EventError::Field {
        field: field.to_string(),
        reason: reason.into(),
    })
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Res<u8> {
        let b = *self.text.as_bytes().get(self.pos).ok_or(Fail::Malformed)?;
        self.pos += 1;
        Ok(b)
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    /// The text up to the next NUL (which is consumed).
    fn text(&mut self) -> Res<&'a str> {
        let rest = self.text.get(self.pos..).ok_or(Fail::Malformed)?;
        let end = memchr_nul(rest.as_bytes()).ok_or(Fail::Malformed)?;
        // NUL is ASCII: `end` is a character boundary.
        let text = rest.get(..end).ok_or(Fail::Malformed)?;
        self.pos += end + 1;
        Ok(text)
    }

    fn count(&mut self) -> Res<()> {
        self.values += 1;
        if self.values > MAX_VALUES {
            return Err(Fail::Event(EventError::TooManyValues));
        }
        Ok(())
    }

    /// Entries up to and including the closing `}`, into `sink` under `name`.
    fn entries(&mut self, sink: &mut dyn Sink, name: &mut String, depth: u16) -> Res<()> {
        if depth > MAX_DEPTH {
            return Err(Fail::Malformed);
        }
        let base = name.len();
        loop {
            match self.byte()? {
                b'}' => return Ok(()),
                b'K' => {
                    let key = self.text()?;
                    if base > 0 {
                        name.push('.');
                    }
                    name.push_str(key);
                    let result = self.entry_value(sink, name, depth);
                    name.truncate(base);
                    result?;
                }
                _ => return Err(Fail::Malformed),
            }
        }
    }

    /// The value of an entry: a nested object flattens below `name`, anything else is put.
    fn entry_value(&mut self, sink: &mut dyn Sink, name: &mut String, depth: u16) -> Res<()> {
        if self.peek() == Some(b'{') {
            self.pos += 1;
            self.count()?;
            return self.entries(sink, name, depth + 1);
        }
        let value = self.value(name, depth)?;
        sink.put(name, value, depth);
        Ok(())
    }

    fn value(&mut self, name: &str, depth: u16) -> Res<Value> {
        self.count()?;
        Ok(match self.byte()? {
            b's' => Value::Str(CompactString::from(self.text()?)),
            b'n' => number_value(self.text()?.parse::<f64>().map_err(|_| Fail::Malformed)?),
            b't' => Value::Bool(true),
            b'f' => Value::Bool(false),
            b'z' => Value::Null,
            b'i' => match self.text()?.parse::<i64>() {
                Ok(i) => Value::Int(i),
                Err(_) => return Err(field_error(name, "BigInt out of the 64-bit integer range")),
            },
            b'd' => {
                let ms = self.text()?.parse::<f64>().map_err(|_| Fail::Malformed)?;
                match timestamp_from_millis(ms) {
                    Some(ts) => Value::Str(CompactString::from(format_timestamp(ts))),
                    None => return Err(field_error(name, "Invalid Date")),
                }
            }
            b'[' => {
                if depth >= MAX_DEPTH {
                    return Err(Fail::Malformed);
                }
                let mut items = Vec::new();
                loop {
                    match self.peek() {
                        Some(b']') => {
                            self.pos += 1;
                            break;
                        }
                        Some(b'{') => {
                            self.pos += 1;
                            self.count()?;
                            let mut sink = MapSink {
                                fields: FieldMap::with_hasher(FieldHasher::default()),
                                depths: Vec::new(),
                            };
                            let mut inner = String::new();
                            self.entries(&mut sink, &mut inner, depth + 1)
                                .map_err(|e| prefix(e, name))?;
                            items.push(Value::Object(Box::new(sink.fields)));
                        }
                        Some(_) => items.push(self.value(name, depth + 1)?),
                        None => return Err(Fail::Malformed),
                    }
                }
                Value::List(items.into())
            }
            _ => return Err(Fail::Malformed),
        })
    }

    /// `@timestamp`: a date, epoch milliseconds or an RFC 3339 string.
    fn timestamp(&mut self) -> Res<DateTime<Utc>> {
        let bad = |shown: String| {
            field_error(
                "@timestamp",
                format!(
                    "unreadable timestamp {shown}: expected a Date, an RFC 3339 string or epoch milliseconds"
                ),
            )
        };
        match self.byte()? {
            b's' => {
                let text = self.text()?;
                parse_timestamp(text).ok_or_else(|| bad(format!("{text:?}")))
            }
            kind @ (b'n' | b'd') => {
                let ms: f64 = self.text()?.parse().map_err(|_| Fail::Malformed)?;
                timestamp_from_millis(ms).ok_or_else(|| {
                    if kind == b'd' && !ms.is_finite() {
                        bad("Invalid Date".into())
                    } else {
                        bad(ms.to_string())
                    }
                })
            }
            b't' | b'f' => Err(bad("a boolean".into())),
            b'z' => Err(bad("null".into())),
            b'[' | b'{' => Err(bad("an object".into())),
            b'i' => Err(bad("a BigInt".into())),
            _ => Err(Fail::Malformed),
        }
    }

    /// A top-level `logsource` object whose parts are strings; otherwise its fields.
    fn logsource(&mut self, sink: &mut EventSink) -> Res<()> {
        let mut inner = MapSink {
            fields: FieldMap::with_hasher(FieldHasher::default()),
            depths: Vec::new(),
        };
        let mut name = String::new();
        self.entries(&mut inner, &mut name, 1)?;
        let part = |key: &str| {
            // A part that is itself an object (`product: {...}`) flattened to `product.x`.
            let prefix_len = key.len();
            if inner
                .fields
                .keys()
                .any(|k| k.starts_with(key) && k.as_bytes().get(prefix_len) == Some(&b'.'))
            {
                return Err(());
            }
            match inner.fields.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Str(s)) => Ok(Some(s.clone())),
                Some(_) => Err(()),
            }
        };
        match (part("product"), part("category"), part("service")) {
            (Ok(product), Ok(category), Ok(service)) => {
                sink.event.logsource = LogSource {
                    product,
                    category,
                    service,
                };
            }
            _ => {
                // Not ours: an application field that happens to be called `logsource`.
                for ((key, value), depth) in inner.fields.into_iter().zip(inner.depths) {
                    let mut full = String::from("logsource.");
                    full.push_str(&key);
                    sink.put(&full, value, depth);
                }
            }
        }
        Ok(())
    }

    fn event(&mut self) -> Res<Event> {
        if self.byte()? != b'{' {
            return Err(Fail::Malformed);
        }
        self.values = 0;
        let mut sink = EventSink {
            event: Event::with_capacity(16),
            depths: Vec::with_capacity(16),
        };
        let mut name = String::with_capacity(64);
        loop {
            match self.byte()? {
                b'}' => return Ok(sink.event),
                b'K' => {
                    let key = self.text()?;
                    match key {
                        "@timestamp" => {
                            let ts = self.timestamp()?;
                            sink.event.timestamp = Some(ts);
                        }
                        "logsource" if self.peek() == Some(b'{') => {
                            self.pos += 1;
                            self.logsource(&mut sink)?;
                        }
                        _ => {
                            name.clear();
                            name.push_str(key);
                            self.entry_value(&mut sink, &mut name, 0)?;
                        }
                    }
                }
                _ => return Err(Fail::Malformed),
            }
        }
    }
}

fn memchr_nul(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == 0)
}

fn prefix(fail: Fail, list: &str) -> Fail {
    match fail {
        Fail::Event(EventError::Field { field, reason }) => Fail::Event(EventError::Field {
            field: format!("{list}[].{field}"),
            reason,
        }),
        other => other,
    }
}

/// Decodes the events of `text` (one or more, concatenated) into `out`.
pub fn decode_events(text: &str, out: &mut Vec<Event>) -> Result<(), DecodeError> {
    let mut reader = Reader {
        text,
        pos: 0,
        values: 0,
    };
    while reader.pos < text.len() {
        let index = out.len();
        match reader.event() {
            Ok(event) => out.push(event),
            Err(Fail::Event(e)) => return Err(DecodeError::Event(e, index)),
            Err(Fail::Malformed) => return Err(DecodeError::Malformed(reader.pos)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Result<Event, DecodeError> {
        let mut out = Vec::new();
        decode_events(text, &mut out).map(|()| out.pop().unwrap_or_default())
    }

    #[test]
    fn decodes_the_grammar() {
        let text = "{K@timestamp\0s2024-05-01T10:00:00Z\0Ksource\0{Kip\0s203.0.113.7\0Kport\0n22\0}Ka.b\0n1\0Ka\0{Kb\0n2\0}Kl\0[n1.5\0z{Kx\0{Ky\0t}}]Klogsource\0{Kproduct\0slinux\0}}";
        let event = one(text).unwrap();
        let json = Event::from_json(
            r#"{"@timestamp":"2024-05-01T10:00:00Z","source":{"ip":"203.0.113.7","port":22},"a.b":1,"a":{"b":2},"l":[1.5,null,{"x":{"y":true}}],"logsource":{"product":"linux"}}"#,
        )
        .unwrap();
        assert_eq!(event, json);
    }

    #[test]
    fn reports_event_errors_with_the_field_and_index() {
        let mut out = Vec::new();
        let err = decode_events("{}{Kb\0i99999999999999999999999\0}", &mut out).unwrap_err();
        assert!(
            matches!(err, DecodeError::Event(EventError::Field { ref field, .. }, 1) if field == "b")
        );
        assert!(matches!(
            one("{K@timestamp\0syesterday\0}"),
            Err(DecodeError::Event(EventError::Field { .. }, 0))
        ));
    }

    #[test]
    fn malformed_text_is_an_error_not_a_panic() {
        for text in [
            "",
            "{",
            "}",
            "{K",
            "{Ka",
            "{Ka\0",
            "{Ka\0q}",
            "{Ka\0[",
            "{Ka\0nx\0}",
            "x",
            "{Ka\0s\u{e9}",
            "{Ka\0[{Kb\0",
        ] {
            let mut out = Vec::new();
            if !text.is_empty() {
                assert!(decode_events(text, &mut out).is_err(), "{text:?}");
            }
        }
        // Deep nesting is bounded.
        let deep = format!("{{Ka\0{}", "{Ka\0".repeat(10_000));
        assert!(decode_events(&deep, &mut Vec::new()).is_err());
        let deep_list = format!("{{Ka\0{}", "[".repeat(10_000));
        assert!(decode_events(&deep_list, &mut Vec::new()).is_err());
    }
}
