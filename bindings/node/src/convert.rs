//! JavaScript objects to [`Event`]s, by walking them through Node-API (no JSON text in between).
//!
//! The walk gives the same event [`Event::from_json`] reads from `JSON.stringify(object)`,
//! with these JavaScript additions:
//!
//! - nested objects flatten to dotted names (`{source: {ip}}` is `source.ip`); on a collision
//!   the name that came from fewer levels of nesting wins (a flat `"source.ip"` key beats
//!   `source: {ip}`), as Sigma asks for dotted field names;
//! - numbers without a fractional part become integers, others floats; a `BigInt` becomes an
//!   integer when it fits 64 bits;
//! - a `Date` is `@timestamp` at the top level and an RFC 3339 string elsewhere; `@timestamp`
//!   may also be an RFC 3339 string or epoch milliseconds;
//! - a top-level `logsource: {product, category, service}` becomes the event's logsource;
//! - `undefined` properties are skipped (in arrays they are `null`), as `JSON.stringify` does.
//!
//! What cannot be an event value is refused with an [`EventError`] naming the field: functions,
//! symbols, binary data, unreadable dates, integers beyond 64 bits, nesting deeper than
//! [`MAX_DEPTH`] (a cycle ends there) and more than [`MAX_VALUES`] values.

use chrono::{DateTime, Utc};
use compact_str::CompactString;
use siem_core::event::{Event, FieldHasher, FieldMap, LogSource, Value, format_timestamp};

use crate::js::{Js, Kind, Raw};

/// Deepest nesting of objects and arrays in an event.
pub const MAX_DEPTH: u16 = 64;
/// Most values (fields and list elements) in one event.
pub const MAX_VALUES: usize = 100_000;

/// Why a JavaScript value is not an event.
#[derive(Debug, Clone, thiserror::Error)]
pub enum EventError {
    /// The value is not a plain object.
    #[error("an event must be an object, got {0}")]
    NotAnObject(&'static str),
    /// A field holds something an event cannot.
    #[error("field `{field}`: {reason}")]
    Field {
        /// The dotted name of the field.
        field: String,
        /// What is wrong with its value.
        reason: String,
    },
    /// More values than [`MAX_VALUES`].
    #[error("the event holds more than {MAX_VALUES} values")]
    TooManyValues,
}

impl EventError {
    /// The dotted name of the field at fault, when one is.
    pub fn field(&self) -> Option<&str> {
        match self {
            EventError::Field { field, .. } => Some(field),
            _ => None,
        }
    }

    /// The message without the field name in front.
    pub fn reason(&self) -> String {
        match self {
            EventError::Field { reason, .. } => reason.clone(),
            other => other.to_string(),
        }
    }
}

/// A conversion failure: a bad event, or a JavaScript exception thrown while reading it (a
/// getter, a Proxy trap).
#[derive(Debug)]
pub enum ConvertError {
    Event(EventError),
    Js(napi::Error),
}

impl From<napi::Error> for ConvertError {
    fn from(e: napi::Error) -> Self {
        ConvertError::Js(e)
    }
}

impl From<EventError> for ConvertError {
    fn from(e: EventError) -> Self {
        ConvertError::Event(e)
    }
}

type Res<T> = std::result::Result<T, ConvertError>;

fn field_error(field: &str, reason: impl Into<String>) -> ConvertError {
    ConvertError::Event(EventError::Field {
        field: field.to_string(),
        reason: reason.into(),
    })
}

/// Where flattened fields go: the event itself, or the map of an object inside a list. Both
/// keep, per entry, the nesting depth it came from so that the shallower name wins.
pub(crate) trait Sink {
    fn put(&mut self, name: &str, value: Value, depth: u16);
}

pub(crate) struct EventSink {
    pub(crate) event: Event,
    pub(crate) depths: Vec<u16>,
}

impl Sink for EventSink {
    fn put(&mut self, name: &str, value: Value, depth: u16) {
        if self.event.get(name).is_some() {
            // A collision is rare (the same name flat and nested): find its slot the slow way.
            let index = self
                .event
                .fields()
                .position(|(k, _)| k == name)
                .unwrap_or(0);
            if let Some(previous) = self.depths.get_mut(index)
                && depth <= *previous
            {
                *previous = depth;
                self.event.insert(name, value);
            }
        } else {
            self.event.insert(name, value);
            self.depths.push(depth);
        }
    }
}

pub(crate) struct MapSink {
    pub(crate) fields: FieldMap,
    pub(crate) depths: Vec<u16>,
}

impl Sink for MapSink {
    fn put(&mut self, name: &str, value: Value, depth: u16) {
        match self.fields.get_index_of(name) {
            Some(index) => {
                if let Some(previous) = self.depths.get_mut(index)
                    && depth <= *previous
                {
                    *previous = depth;
                    self.fields[index] = value;
                }
            }
            None => {
                self.fields.insert(CompactString::from(name), value);
                self.depths.push(depth);
            }
        }
    }
}

/// Converts one JavaScript value into an event.
pub fn event_from_js(js: Js, value: Raw) -> Res<Event> {
    match js.kind(value)? {
        Kind::Object => {
            if js.is_array(value)? {
                return Err(EventError::NotAnObject("an array").into());
            }
            if js.is_date(value)? {
                return Err(EventError::NotAnObject("a Date").into());
            }
        }
        other => return Err(EventError::NotAnObject(other.describe()).into()),
    }
    let keys = js.own_keys(value)?;
    let count = js.array_len(keys)?;
    let mut walker = Walker { js, values: 0 };
    let mut sink = EventSink {
        event: Event::with_capacity(count as usize + 4),
        depths: Vec::with_capacity(count as usize + 4),
    };
    let mut name = String::with_capacity(64);
    for i in 0..count {
        let key = js.element(keys, i)?;
        name.clear();
        js.with_str(key, |k| name.push_str(k))?;
        let item = js.property(value, key)?;
        match name.as_str() {
            "@timestamp" => {
                if let Some(ts) = walker.timestamp(item)? {
                    sink.event.timestamp = Some(ts);
                }
            }
            "logsource" => match walker.logsource(item)? {
                Some(logsource) => sink.event.logsource = logsource,
                // Not ours: an application field that happens to be called `logsource`.
                None => walker.field(&mut sink, &mut name, item, 0)?,
            },
            _ => walker.field(&mut sink, &mut name, item, 0)?,
        }
    }
    Ok(sink.event)
}

struct Walker {
    js: Js,
    values: usize,
}

impl Walker {
    fn count(&mut self) -> Res<()> {
        self.values += 1;
        if self.values > MAX_VALUES {
            return Err(EventError::TooManyValues.into());
        }
        Ok(())
    }

    /// `@timestamp`: a `Date`, an RFC 3339 string or epoch milliseconds; `undefined` is absent.
    fn timestamp(&mut self, value: Raw) -> Res<Option<DateTime<Utc>>> {
        let js = self.js;
        let bad = |shown: String| {
            field_error(
                "@timestamp",
                format!(
                    "unreadable timestamp {shown}: expected a Date, an RFC 3339 string or epoch milliseconds"
                ),
            )
        };
        match js.kind(value)? {
            Kind::Undefined => Ok(None),
            Kind::String => {
                let text = js.string(value)?;
                parse_timestamp(&text)
                    .map(Some)
                    .ok_or_else(|| bad(format!("{text:?}")))
            }
            Kind::Number => {
                let ms = js.number(value)?;
                timestamp_from_millis(ms)
                    .map(Some)
                    .ok_or_else(|| bad(ms.to_string()))
            }
            Kind::Object if js.is_date(value)? => {
                let ms = js.date_value(value)?;
                timestamp_from_millis(ms)
                    .map(Some)
                    .ok_or_else(|| bad("Invalid Date".to_string()))
            }
            other => Err(bad(other.describe().to_string())),
        }
    }

    /// A top-level `logsource` object whose parts are strings; `None` when it is not one.
    fn logsource(&mut self, value: Raw) -> Res<Option<LogSource>> {
        let js = self.js;
        if js.kind(value)? != Kind::Object || js.is_array(value)? || js.is_date(value)? {
            return Ok(None);
        }
        let mut logsource = LogSource::default();
        for (name, slot) in [
            (c"product", &mut logsource.product),
            (c"category", &mut logsource.category),
            (c"service", &mut logsource.service),
        ] {
            let part = js.named(value, name)?;
            match js.kind(part)? {
                Kind::String => *slot = Some(js.with_str(part, |s| CompactString::from(s))?),
                Kind::Undefined | Kind::Null => {}
                _ => return Ok(None),
            }
        }
        Ok(Some(logsource))
    }

    /// Puts the value at `name` (flattening objects below it) into `sink`.
    fn field(&mut self, sink: &mut dyn Sink, name: &mut String, value: Raw, depth: u16) -> Res<()> {
        let js = self.js;
        let kind = js.kind(value)?;
        if kind == Kind::Object && !js.is_array(value)? && !js.is_date(value)? {
            if js.is_buffer(value)? {
                return Err(binary(name));
            }
            if depth >= MAX_DEPTH {
                return Err(too_deep(name));
            }
            // Objects count too: a cyclic object fanning out to itself must not take
            // exponential time before the depth bound ends it.
            self.count()?;
            let keys = js.own_keys(value)?;
            let count = js.array_len(keys)?;
            // An empty object carries no fields.
            let base = name.len();
            for i in 0..count {
                let key = js.element(keys, i)?;
                name.push('.');
                js.with_str(key, |k| name.push_str(k))?;
                let item = js.property(value, key)?;
                let result = self.field(sink, name, item, depth + 1);
                name.truncate(base);
                result?;
            }
            return Ok(());
        }
        if kind == Kind::Undefined {
            return Ok(());
        }
        let value = self.value(name, value, kind, depth)?;
        sink.put(name, value, depth);
        Ok(())
    }

    /// A value that is not a nested object of fields: a scalar, a `Date`, a list (whose objects
    /// are kept as flattened [`Value::Object`]s).
    fn value(&mut self, name: &str, value: Raw, kind: Kind, depth: u16) -> Res<Value> {
        let js = self.js;
        self.count()?;
        Ok(match kind {
            Kind::Undefined | Kind::Null => Value::Null,
            Kind::Boolean => Value::Bool(js.boolean(value)?),
            Kind::Number => number_value(js.number(value)?),
            Kind::String => Value::Str(js.with_str(value, |s| CompactString::from(s))?),
            Kind::BigInt => match js.bigint_i64(value)? {
                Some(i) => Value::Int(i),
                None => return Err(field_error(name, "BigInt out of the 64-bit integer range")),
            },
            Kind::Object if js.is_array(value)? => {
                if depth >= MAX_DEPTH {
                    return Err(too_deep(name));
                }
                let len = js.array_len(value)?;
                let mut items = Vec::with_capacity(len.min(1024) as usize);
                for i in 0..len {
                    let item = js.element(value, i)?;
                    items.push(self.list_item(name, item, depth + 1)?);
                }
                Value::List(items.into())
            }
            Kind::Object if js.is_date(value)? => {
                let ms = js.date_value(value)?;
                match timestamp_from_millis(ms) {
                    Some(ts) => Value::Str(CompactString::from(format_timestamp(ts))),
                    None => return Err(field_error(name, "Invalid Date")),
                }
            }
            Kind::Object => {
                return Err(field_error(name, "an object here must be a list element"));
            }
            other => {
                return Err(field_error(
                    name,
                    format!("{} is not an event value", other.describe()),
                ));
            }
        })
    }

    /// An element of a list: objects stay objects (flattened inside), `undefined` is `null`.
    fn list_item(&mut self, name: &str, item: Raw, depth: u16) -> Res<Value> {
        let js = self.js;
        let kind = js.kind(item)?;
        if kind == Kind::Object && !js.is_array(item)? && !js.is_date(item)? {
            if js.is_buffer(item)? {
                return Err(binary(name));
            }
            self.count()?;
            let mut sink = MapSink {
                fields: FieldMap::with_hasher(FieldHasher::default()),
                depths: Vec::new(),
            };
            let keys = js.own_keys(item)?;
            let count = js.array_len(keys)?;
            let mut inner = String::new();
            for i in 0..count {
                let key = js.element(keys, i)?;
                inner.clear();
                js.with_str(key, |k| inner.push_str(k))?;
                let value = js.property(item, key)?;
                self.field(&mut sink, &mut inner, value, depth)
                    .map_err(|e| prefix_error(e, name))?;
            }
            return Ok(Value::Object(Box::new(sink.fields)));
        }
        self.value(name, item, kind, depth)
    }
}

/// Names a field error inside a list object by the list's name too.
fn prefix_error(error: ConvertError, list: &str) -> ConvertError {
    match error {
        ConvertError::Event(EventError::Field { field, reason }) => {
            ConvertError::Event(EventError::Field {
                field: format!("{list}[].{field}"),
                reason,
            })
        }
        other => other,
    }
}

fn binary(name: &str) -> ConvertError {
    field_error(
        name,
        "binary data (Buffer, TypedArray, DataView) is not an event value: convert it to a string",
    )
}

fn too_deep(name: &str) -> ConvertError {
    // A cycle makes the name as long as the bound: show its start only.
    let shown = match name.char_indices().nth(120) {
        Some((cut, _)) => format!("{}...", &name[..cut]),
        None => name.to_string(),
    };
    field_error(
        &shown,
        format!("nested deeper than {MAX_DEPTH} levels (a cyclic object?)"),
    )
}

/// A JavaScript number as an event value: integral numbers in the 64-bit range are integers
/// (as `5` reads from JSON), the rest floats.
pub fn number_value(n: f64) -> Value {
    if n.is_finite()
        && n.fract() == 0.0
        && (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&n)
    {
        Value::Int(n as i64)
    } else {
        Value::Float(n)
    }
}

/// Epoch milliseconds (possibly fractional) as a time, `None` for NaN or out of range.
pub(crate) fn timestamp_from_millis(ms: f64) -> Option<DateTime<Utc>> {
    if !ms.is_finite() {
        return None;
    }
    let whole = ms.floor();
    let nanos = ((ms - whole) * 1e6).round() as i64;
    let whole = whole as i64;
    DateTime::from_timestamp_millis(whole)
        .and_then(|t| t.checked_add_signed(chrono::Duration::nanoseconds(nanos)))
}

/// An `@timestamp` string, read as [`Event::from_json`] reads it: RFC 3339, with a space allowed
/// for the `T`, and UTC when no offset is given.
pub fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    let text = text.replacen(' ', "T", 1);
    if let Ok(t) = DateTime::parse_from_rfc3339(&text) {
        return Some(t.with_timezone(&Utc));
    }
    chrono::NaiveDateTime::parse_from_str(&text, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|n| n.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_become_integers_when_integral_and_in_range() {
        assert_eq!(number_value(5.0), Value::Int(5));
        assert_eq!(number_value(-0.0), Value::Int(0));
        assert_eq!(number_value(1.5), Value::Float(1.5));
        assert_eq!(number_value(1e19), Value::Float(1e19));
        assert_eq!(
            number_value(-9.223_372_036_854_776e18),
            Value::Int(i64::MIN)
        );
        assert!(matches!(number_value(f64::NAN), Value::Float(f) if f.is_nan()));
    }

    #[test]
    fn timestamps_read_like_from_json() {
        for text in [
            "2024-05-01T10:00:00Z",
            "2024-05-01 10:00:00Z",
            "2024-05-01T12:00:00+02:00",
            "2024-05-01T10:00:00",
        ] {
            let json = Event::from_json(&format!(r#"{{"@timestamp":"{text}"}}"#)).unwrap();
            assert_eq!(parse_timestamp(text), json.timestamp, "{text}");
        }
        assert_eq!(parse_timestamp("yesterday"), None);
        let json = Event::from_json(r#"{"@timestamp":1714557600123}"#).unwrap();
        assert_eq!(timestamp_from_millis(1714557600123.0), json.timestamp);
        assert_eq!(timestamp_from_millis(f64::NAN), None);
        assert_eq!(timestamp_from_millis(1e300), None);
        assert_eq!(
            timestamp_from_millis(1.5).map(|t| t.timestamp_nanos_opt()),
            Some(Some(1_500_000))
        );
    }
}
