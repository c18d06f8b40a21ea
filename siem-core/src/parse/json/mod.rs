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

    /// The reference implementation: the whole line read into a tree first, then converted
    /// (the path every line took before the streaming reader). Fast paths must equal it.
    fn reference(text: &str) -> Result<(Event, Kind), JsonError> {
        let value = reader::parse(text)?;
        convert(text, &value, chrono_tz::UTC, fixed_now())
    }

    fn fixed_now() -> DateTime<Utc> {
        "2024-06-01T00:00:00Z".parse().unwrap()
    }

    type Fields = Vec<(String, Value)>;

    /// An event's fields (sorted by name: the streaming path may emit them in another order
    /// when `EventData` precedes `System`), timestamp and logsource.
    fn summary(e: &Event) -> (Fields, Option<DateTime<Utc>>, String) {
        let mut f: Fields = e
            .fields()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        f.sort_by(|a, b| a.0.cmp(&b.0));
        (f, e.timestamp, e.logsource.to_string())
    }

    fn assert_same_as_reference(text: &str) {
        let fast = parse_kind(text, chrono_tz::UTC, fixed_now());
        let slow = reference(text);
        match (fast, slow) {
            (Ok((fast, fast_kind)), Ok((slow, slow_kind))) => {
                assert_eq!(fast_kind, slow_kind, "{text:.300}");
                assert_eq!(summary(&fast), summary(&slow), "{text:.300}");
            }
            (Err(fast), Err(slow)) => assert_eq!(fast, slow, "{text:.300}"),
            (fast, slow) => panic!(
                "fast {:?} but reference {:?}: {text:.300}",
                fast.map(|(_, k)| k),
                slow.map(|(_, k)| k)
            ),
        }
    }

    /// Every event of the windows-evtx-json corpus (evtx_dump output of DeepBlueCLI,
    /// EVTX-ATTACK-SAMPLES and EVTX-to-MITRE-ATTACK) through the fast path and the reference.
    #[test]
    fn every_corpus_event_equals_the_reference() {
        let root = siem_testkit::corpus("windows-evtx-json");
        let mut dirs = vec![root];
        let mut compared = 0;
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                    continue;
                }
                if path.extension().is_none_or(|e| e != "jsonl") {
                    continue;
                }
                let bytes = std::fs::read(&path).unwrap();
                let text = String::from_utf8_lossy(&bytes);
                for line in text.lines().filter(|l| l.trim_start().starts_with('{')) {
                    assert!(starts_like_evtx(line), "{}: {line:.100}", path.display());
                    assert_same_as_reference(line);
                    compared += 1;
                }
            }
        }
        assert!(compared >= 26_365, "{compared}");
    }

    /// Nesting past [`MAX_DEPTH`] under `System` or `EventData` is refused by the streaming
    /// path exactly as by the reference (same error, same offset), and never overflows the
    /// stack.
    #[test]
    fn deep_nesting_is_refused_like_the_reference() {
        for depth in [MAX_DEPTH - 3, MAX_DEPTH, MAX_DEPTH + 5, 10_000] {
            let inner = format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth));
            let system = format!("{{\"Event\":{{\"System\":{inner}}}}}");
            let data = format!("{{\"Event\":{{\"System\":{{}},\"EventData\":{inner}}}}}");
            assert_same_as_reference(&system);
            assert_same_as_reference(&data);
            if depth > MAX_DEPTH {
                assert!(parse(&system, chrono_tz::UTC, fixed_now()).is_err());
            }
        }
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// A JSON value written by hand, so objects can repeat keys and strings can be escaped
        /// in several ways.
        #[derive(Debug, Clone)]
        enum Node {
            Null,
            Bool(bool),
            /// The number's text as written (huge integers, exponents, negative zero).
            Num(String),
            /// The text, and whether to write every non-ASCII or quote character as `\u`.
            Str(String, bool),
            Arr(Vec<Node>),
            Obj(Vec<(String, Node)>),
        }

        fn write_str(out: &mut String, s: &str, unicode_escapes: bool) {
            if !unicode_escapes {
                out.push_str(&serde_json::to_string(s).unwrap());
                return;
            }
            out.push('"');
            for c in s.chars() {
                if c.is_ascii_alphanumeric() || c == ' ' {
                    out.push(c);
                } else {
                    let mut units = [0u16; 2];
                    for unit in c.encode_utf16(&mut units) {
                        out.push_str(&format!("\\u{unit:04X}"));
                    }
                }
            }
            out.push('"');
        }

        fn write(out: &mut String, node: &Node) {
            match node {
                Node::Null => out.push_str("null"),
                Node::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
                Node::Num(n) => out.push_str(n),
                Node::Str(s, u) => write_str(out, s, *u),
                Node::Arr(items) => {
                    out.push('[');
                    for (i, item) in items.iter().enumerate() {
                        if i > 0 {
                            out.push_str(", ");
                        }
                        write(out, item);
                    }
                    out.push(']');
                }
                Node::Obj(members) => {
                    out.push('{');
                    for (i, (key, value)) in members.iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        write_str(out, key, i % 3 == 2);
                        out.push(':');
                        write(out, value);
                    }
                    out.push('}');
                }
            }
        }

        fn text() -> impl Strategy<Value = String> {
            prop_oneof![
                "[a-zA-Z0-9 ._-]{0,12}",
                "[a-z\"\\\\/\n\t\u{1}é€😀]{0,12}",
                Just("0x8020000000000000".to_string()),
                Just("2024-05-01T10:00:00.123Z".to_string()),
                Just("Microsoft-Windows-Sysmon/Operational".to_string()),
                Just("Security".to_string()),
                "[0-9]{1,6}",
            ]
        }

        fn number() -> impl Strategy<Value = String> {
            prop_oneof![
                any::<i64>().prop_map(|i| i.to_string()),
                (0u32..20000).prop_map(|i| i.to_string()),
                any::<f64>()
                    .prop_filter("finite", |f| f.is_finite())
                    .prop_map(|f| format!("{f:e}")),
                "-?[1-9][0-9]{18,30}",
                Just("-0".to_string()),
                Just("1e400".to_string()),
                Just("4.0".to_string()),
            ]
        }

        fn scalar() -> impl Strategy<Value = Node> {
            prop_oneof![
                Just(Node::Null),
                any::<bool>().prop_map(Node::Bool),
                number().prop_map(Node::Num),
                (text(), any::<bool>()).prop_map(|(s, u)| Node::Str(s, u)),
            ]
        }

        /// Keys the Windows reader looks for, and others.
        fn key() -> impl Strategy<Value = String> {
            prop_oneof![
                prop::sample::select(vec![
                    "Provider",
                    "EventID",
                    "Version",
                    "Level",
                    "Task",
                    "Opcode",
                    "Keywords",
                    "TimeCreated",
                    "EventRecordID",
                    "Correlation",
                    "Execution",
                    "Channel",
                    "Computer",
                    "Security",
                    "#attributes",
                    "#text",
                    "Name",
                    "Guid",
                    "EventSourceName",
                    "Qualifiers",
                    "SystemTime",
                    "ActivityID",
                    "ProcessID",
                    "ThreadID",
                    "UserID",
                    "Data",
                    "CommandLine",
                    "Image",
                    "SubjectUserName",
                    "EventType",
                    "xmlns",
                    "Message",
                    "Keyword",
                ])
                .prop_map(str::to_string),
                "[A-Za-z#é\"\\\\]{1,10}",
            ]
        }

        fn node() -> impl Strategy<Value = Node> {
            scalar().prop_recursive(5, 48, 6, |inner| {
                prop_oneof![
                    proptest::collection::vec(inner.clone(), 0..4).prop_map(Node::Arr),
                    proptest::collection::vec((key(), inner), 0..6).prop_map(Node::Obj),
                ]
            })
        }

        fn members() -> impl Strategy<Value = Vec<(String, Node)>> {
            proptest::collection::vec((key(), node()), 0..10)
        }

        /// `{"Event": {...}}` with a System object, EventData in any form, and other
        /// members, in any order.
        fn evtx_line() -> impl Strategy<Value = String> {
            (
                members(),
                prop_oneof![members().prop_map(Node::Obj), node(), Just(Node::Null)],
                members(),
                any::<bool>(),
                0usize..3,
            )
                .prop_map(|(system, data, mut others, data_first, rendering)| {
                    let mut event = vec![("System".to_string(), Node::Obj(system))];
                    let data = ("EventData".to_string(), data);
                    if data_first {
                        event.insert(0, data);
                    } else {
                        event.push(data);
                    }
                    if rendering > 0 {
                        others.push((
                            "RenderingInfo".to_string(),
                            Node::Obj(vec![
                                ("Message".to_string(), Node::Str("m".into(), false)),
                                ("Level".to_string(), Node::Str("Warning".into(), false)),
                            ]),
                        ));
                    }
                    event.extend(others);
                    let mut out = String::new();
                    write(
                        &mut out,
                        &Node::Obj(vec![("Event".to_string(), Node::Obj(event))]),
                    );
                    out
                })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            /// Windows-shaped lines with random System and EventData contents: the streaming
            /// path equals the reference.
            #[test]
            fn evtx_shaped_lines_equal_the_reference(line in evtx_line()) {
                assert_same_as_reference(&line);
                // The streaming path itself read it (not the tree fallback).
                let mut event = crate::parse::new_event(&line, 64);
                prop_assert_eq!(windows::nested_stream(&line, &mut event), Ok(true));
            }

            /// Any JSON object (and cut or damaged ones): same result as the reference.
            #[test]
            fn any_object_equals_the_reference(
                top in members(),
                cut in any::<prop::sample::Index>(),
                damage in any::<bool>(),
            ) {
                let mut line = String::new();
                write(&mut line, &Node::Obj(top));
                assert_same_as_reference(&line);
                if damage {
                    let mut at = cut.index(line.len() + 1);
                    while !line.is_char_boundary(at) {
                        at -= 1;
                    }
                    assert_same_as_reference(&line[..at]);
                }
            }

            /// A string scan that finds quotes and backslashes eight bytes at a time finds the
            /// same ones as a byte-by-byte search.
            #[test]
            fn string_bodies_read_like_serde_json(s in "[a-z\"\\\\é😀\u{0}-\u{1f}]{0,80}") {
                let text = format!("{{\"Event\":{{\"System\":{{\"Channel\":{0}}},\"EventData\":{{\"K\":{0}}}}}}}", serde_json::to_string(&s).unwrap());
                let event = parse(&text, chrono_tz::UTC, fixed_now()).unwrap();
                let expected = (!s.is_empty()).then_some(s.as_str());
                prop_assert_eq!(event.get_str("winlog.channel"), expected);
                prop_assert_eq!(event.get_str("winlog.event_data.K"), Some(s.as_str()));
            }
        }
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
