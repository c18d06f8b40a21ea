//! JSON lines: ECS passthrough, Windows events (evtx_dump nested and winlogbeat-like flat
//! shapes), Python and Django log records.
//!
//! Each JSON object is recognised by its keys:
//!
//! | keys | read as | module |
//! | --- | --- | --- |
//! | `Event.System` | Windows event, nested `evtx_dump` shape | [`windows`] |
//! | `winlog` (an object) | winlogbeat output (already ECS): passed through, logsource added | [`windows`] |
//! | `EventID` with `Channel`/`SourceName`/`ProviderGuid` | Windows event, flat (NXLog / Sentinel) shape | [`windows`] |
//! | `levelname`, or `name` + `message` + a record attribute | Python `logging` record (Django too) | `python` |
//! | anything else | ECS, through [`Event::from_json`] | |
//!
//! A line is read by a borrowing one-pass reader (strings without escapes are not copied),
//! then converted straight into the event; a Windows event of ~40 fields costs a few
//! microseconds. Nesting deeper than [`MAX_DEPTH`] is refused.
//!
//! Files that hold several JSON documents back to back (SigmaHQ's regression data) are read
//! with [`stream`].
//!
//! ```
//! use siem_core::parse::json;
//! let line = r##"{"Event":{"System":{"EventID":4688,"Channel":"Security","Computer":"pc1",
//!   "TimeCreated":{"#attributes":{"SystemTime":"2024-05-01T10:00:00Z"}}},
//!   "EventData":{"NewProcessName":"C:\\Windows\\System32\\cmd.exe"}}}"##;
//! let event = json::parse(line, chrono_tz::UTC, chrono::Utc::now()).unwrap();
//! assert_eq!(event.get_str("winlog.event_data.NewProcessName"), Some(r"C:\Windows\System32\cmd.exe"));
//! assert_eq!(event.logsource.to_string(), "product=windows,category=process_creation,service=security");
//! ```

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use compact_str::CompactString;

use crate::event::{Event, EventJsonError, ORIGINAL, Value};

mod names;
mod python;
mod reader;
pub mod windows;

use reader::J;
pub use reader::{MAX_DEPTH, SyntaxError};

/// Why a text is not a JSON event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonError {
    /// Not JSON.
    #[error(transparent)]
    Syntax(#[from] SyntaxError),
    /// JSON, but not an object.
    #[error("a JSON event must be an object, got {0}")]
    NotAnObject(&'static str),
}

/// Which kind of JSON record a line held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// ECS (or any other JSON), passed through.
    Ecs,
    /// A Windows event in the nested `evtx_dump` shape.
    WindowsNested,
    /// A Windows event in the flat shape.
    WindowsFlat,
    /// winlogbeat output.
    Winlogbeat,
    /// A Python (or Django) `logging` record.
    Python,
}

/// Parses one JSON object into an event (`event.original` is the text, unless the object
/// carries its own).
pub fn parse(text: &str, tz: Tz, now: DateTime<Utc>) -> Result<Event, JsonError> {
    parse_kind(text, tz, now).map(|(event, _)| event)
}

/// Like [`parse`], also saying which kind of record it was.
pub fn parse_kind(text: &str, tz: Tz, now: DateTime<Utc>) -> Result<(Event, Kind), JsonError> {
    if starts_like_evtx(text) {
        // Fast path: System and EventData read straight from the text into the event.
        let mut event = crate::parse::new_event(text, 64);
        if windows::nested_stream(text, &mut event)? {
            return Ok((event, Kind::WindowsNested));
        }
    }
    let value = reader::parse(text)?;
    convert(text, &value, tz, now)
}

/// Whether the text opens with `{"Event":`, the evtx_dump shape (whitespace allowed).
fn starts_like_evtx(text: &str) -> bool {
    let rest = text.trim_start().strip_prefix('{').map(str::trim_start);
    rest.is_some_and(|r| r.starts_with("\"Event\""))
}

fn convert(
    text: &str,
    value: &J<'_>,
    tz: Tz,
    now: DateTime<Utc>,
) -> Result<(Event, Kind), JsonError> {
    if !matches!(value, J::Obj(_)) {
        return Err(JsonError::NotAnObject(value.kind()));
    }
    if let Some(ev) = value.get("Event").filter(|e| e.get("System").is_some()) {
        let mut event = crate::parse::new_event(text, 64);
        if windows::nested(ev, &mut event) {
            return Ok((event, Kind::WindowsNested));
        }
    }
    if matches!(value.get("winlog"), Some(J::Obj(_))) {
        let mut event = ecs(text, value);
        windows::winlogbeat(&mut event);
        return Ok((event, Kind::Winlogbeat));
    }
    if windows::is_flat(value) {
        let mut event = crate::parse::new_event(text, 64 + value.members().len());
        windows::flat(value, tz, &mut event);
        return Ok((event, Kind::WindowsFlat));
    }
    if python::is_record(value) {
        let mut event = crate::parse::new_event(text, 16 + value.members().len());
        python::record(value, tz, now, &mut event);
        return Ok((event, Kind::Python));
    }
    let mut event = ecs(text, value);
    // ECS records from a Django application (ecs-logging) are Django's too.
    if event.logsource.is_empty()
        && event
            .get_str("log.logger")
            .is_some_and(python::is_django_logger)
    {
        event.logsource = crate::event::LogSource::new(Some("django"), Some("application"), None);
    }
    Ok((event, Kind::Ecs))
}

/// ECS passthrough with [`Event::from_json`]'s exact semantics; an unreadable `@timestamp` is
/// reported in `error.message` rather than losing the record.
fn ecs(text: &str, value: &J<'_>) -> Event {
    let mut event = match Event::from_json(text) {
        Ok(event) => event,
        Err(err) => {
            // Either the timestamp is unreadable or serde_json is stricter than this reader
            // (raw control characters, lone surrogates): convert the tree we already have.
            let mut event = Event::new();
            for (key, member) in value.members() {
                if key == "@timestamp" {
                    continue;
                }
                put(&mut event, CompactString::from(key.as_ref()), member);
            }
            let reason = match err {
                EventJsonError::Timestamp(raw) => {
                    format!("unreadable @timestamp {raw}: expected RFC 3339 or epoch milliseconds")
                }
                other => other.to_string(),
            };
            event.insert("error.message", reason);
            event
        }
    };
    event.insert_if_absent(ORIGINAL, text);
    event
}

/// Flattens a tree value into the event (fallback path only).
fn put(event: &mut Event, name: CompactString, value: &J<'_>) {
    match value {
        J::Obj(members) if !members.is_empty() => {
            for (key, member) in members {
                let mut child = name.clone();
                child.push('.');
                child.push_str(key);
                put(event, child, member);
            }
        }
        J::Obj(_) => event.insert(name, Value::Object(Box::default())),
        J::Null => event.insert(name, Value::Null),
        J::Bool(b) => event.insert(name, *b),
        J::Int(i) => event.insert(name, *i),
        J::Float(f) => event.insert(name, *f),
        J::Str(s) => event.insert(name, s.as_ref()),
        J::Arr(items) => event.insert(
            name,
            Value::List(items.iter().map(windows::value_of).collect()),
        ),
    }
}

/// Reads a text holding several JSON documents back to back (whitespace between them, or
/// none), one event per document. After a syntax error the stream ends: the position of the
/// next document cannot be known.
///
/// ```
/// use siem_core::parse::json;
/// let text = r#"{"a":1} {"a":2}
/// {"a":3}"#;
/// let events: Vec<_> = json::stream(text, chrono_tz::UTC, chrono::Utc::now()).collect();
/// assert_eq!(events.len(), 3);
/// assert!(events.iter().all(|e| e.is_ok()));
/// ```
pub fn stream(text: &str, tz: Tz, now: DateTime<Utc>) -> JsonStream<'_> {
    JsonStream {
        text,
        reader: reader::Reader::new(text),
        tz,
        now,
        done: false,
    }
}

/// The iterator of [`stream`].
pub struct JsonStream<'a> {
    text: &'a str,
    reader: reader::Reader<'a>,
    tz: Tz,
    now: DateTime<Utc>,
    done: bool,
}

impl std::fmt::Debug for JsonStream<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonStream")
            .field("position", &self.reader.position())
            .field("done", &self.done)
            .finish()
    }
}

impl Iterator for JsonStream<'_> {
    type Item = Result<Event, JsonError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.reader.at_end() {
            return None;
        }
        let start = self.reader.position();
        match self.reader.value(0) {
            Ok(value) => {
                let end = self.reader.position();
                let doc = &self.text[start..end];
                Some(convert(doc, &value, self.tz, self.now).map(|(event, _)| event))
            }
            Err(e) => {
                self.done = true;
                Some(Err(JsonError::Syntax(e)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        Utc::now()
    }

    #[test]
    fn ecs_passthrough_keeps_original_and_reports_bad_timestamps() {
        let (e, kind) = parse_kind(r#"{"@timestamp":"2024-05-01T10:00:00Z","source":{"ip":"1.2.3.4"},"event":{"original":"raw"}}"#, chrono_tz::UTC, now()).unwrap();
        assert_eq!(kind, Kind::Ecs);
        assert_eq!(e.original(), Some("raw"));
        assert!(e.timestamp.is_some());
        let e = parse(
            r#"{"@timestamp":"yesterday","a":{"b":1}}"#,
            chrono_tz::UTC,
            now(),
        )
        .unwrap();
        assert!(e.timestamp.is_none());
        assert_eq!(e.get("a.b"), Some(&Value::Int(1)));
        assert!(e.get_str("error.message").unwrap().contains("yesterday"));
        assert_eq!(
            parse("[1]", chrono_tz::UTC, now()).unwrap_err(),
            JsonError::NotAnObject("an array")
        );
        assert!(matches!(
            parse("{", chrono_tz::UTC, now()),
            Err(JsonError::Syntax(_))
        ));
    }

    #[test]
    fn winlogbeat_gets_a_logsource() {
        let (e, kind) = parse_kind(r#"{"winlog":{"channel":"Microsoft-Windows-Sysmon/Operational","event_id":"1","computer_name":"pc"},"process":{"command_line":"cmd"}}"#, chrono_tz::UTC, now()).unwrap();
        assert_eq!(kind, Kind::Winlogbeat);
        assert_eq!(e.logsource.category.as_deref(), Some("process_creation"));
        assert_eq!(e.get_str("event.code"), Some("1"));
        assert_eq!(e.get_str("host.name"), Some("pc"));
    }

    /// The streaming fast path and the tree path must agree, field for field.
    #[test]
    fn evtx_fast_path_equals_tree_path() {
        let dir = siem_testkit::corpus("windows-evtx-json").join("deepbluecli/evtx");
        let mut compared = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "jsonl") {
                continue;
            }
            for line in std::fs::read_to_string(&path)
                .unwrap()
                .lines()
                .filter(|l| !l.is_empty())
            {
                let mut fast = crate::parse::new_event(line, 64);
                assert!(
                    windows::nested_stream(line, &mut fast).unwrap(),
                    "{line:.100}"
                );
                let tree = reader::parse(line).unwrap();
                let mut slow = crate::parse::new_event(line, 64);
                assert!(windows::nested(tree.get("Event").unwrap(), &mut slow));
                let sorted = |e: &Event| {
                    let mut f: Vec<(String, Value)> = e
                        .fields()
                        .map(|(k, v)| (k.to_string(), v.clone()))
                        .collect();
                    f.sort_by(|a, b| a.0.cmp(&b.0));
                    f
                };
                assert_eq!(sorted(&fast), sorted(&slow), "{line:.200}");
                assert_eq!(
                    (fast.timestamp, &fast.logsource),
                    (slow.timestamp, &slow.logsource)
                );
                compared += 1;
            }
        }
        assert!(compared > 8000, "{compared}");
    }

    #[test]
    fn stream_stops_at_garbage() {
        let items: Vec<_> =
            stream(r#"{"a":1}{"b":2} nonsense {"c":3}"#, chrono_tz::UTC, now()).collect();
        assert_eq!(items.len(), 3);
        assert!(items[2].is_err());
        assert_eq!(stream("  \n ", chrono_tz::UTC, now()).count(), 0);
    }
}
