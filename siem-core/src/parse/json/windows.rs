//! Windows events as JSON, in any of the three common shapes, normalized to one
//! winlogbeat-like ECS form so that one Sigma field-mapping pipeline serves them all.
//!
//! - **Nested** (`evtx_dump`, the `evtx` crate and its Python bindings, SigmaHQ's regression
//!   data): `{"Event":{"System":{...},"EventData":{...}}}`; `EventID` may be a number, a string
//!   or `{"#attributes":{"Qualifiers":N},"#text":ID}`; `Channel` may be null; `EventData` may be
//!   absent or hold unnamed `Data` (`{"#text":...}` or an array).
//! - **Flat** (NXLog `im_msvistalog`, Azure Sentinel / OTRF exports): `EventID`, `Channel`,
//!   `Hostname`, `SourceName`, `TimeCreated` / `EventTime`, ... at the top level with the
//!   EventData fields beside them.
//! - **winlogbeat** output, which is ECS already (`winlog.*`): passed through, logsource added.
//!
//! Output fields (as winlogbeat writes them): `winlog.channel`, `winlog.event_id` (integer),
//! `winlog.provider_name`, `winlog.provider_guid` (in braces), `winlog.computer_name`,
//! `winlog.record_id`, `winlog.process.pid`, `winlog.process.thread.id`, `winlog.task`,
//! `winlog.opcode` (standard opcode names), `winlog.keywords` (standard keyword names, e.g.
//! `Audit Failure`), `winlog.version`, `winlog.user.identifier` (the System `UserID`),
//! `winlog.activity_id`, every EventData field as `winlog.event_data.<Name>` with its value as
//! given (numbers stay numbers, strings keep their spaces; unnamed data as `param1`, `param2`,
//! ...), UserData flattened under `winlog.user_data.` with the element name in
//! `winlog.user_data.xml_name`; and ECS `event.code` (the id as a string), `event.provider`,
//! `host.name`, `log.level` (`information`, `warning`, ...), `event.outcome` for audit events,
//! `@timestamp` from `System.TimeCreated.SystemTime`. Not winlogbeat: `winlog.keywords_raw`
//! keeps the keyword mask as `0x...` text, because Sigma rules test it (`Keywords:
//! '0x8010000000000000'`).
//!
//! Logsource: product `windows`, service from the channel (Sigma's taxonomy), category from
//! (channel, event id): Sysmon ids, Security 4688, PowerShell 4103/4104, classic PowerShell
//! 400/600/800, Defender detections. Sysmon for Linux (`Linux-Sysmon/Operational`) gives product
//! `linux`, service `sysmon`.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use compact_str::{CompactString, ToCompactString};

use std::borrow::Cow;

use super::reader::{J, Reader, SyntaxError};
use crate::event::{Event, LogSource, StaticName, Value, static_name};
use crate::parse::k;
use crate::parse::time;

/// The System part of a Windows event, gathered from either JSON shape. Strings borrow from
/// the input text unless they held escapes.
#[derive(Default)]
struct System<'a> {
    channel: Option<Cow<'a, str>>,
    event_id: Option<i64>,
    qualifiers: Option<i64>,
    provider_name: Option<Cow<'a, str>>,
    provider_guid: Option<Cow<'a, str>>,
    event_source_name: Option<Cow<'a, str>>,
    computer: Option<Cow<'a, str>>,
    record_id: Option<i64>,
    pid: Option<i64>,
    tid: Option<i64>,
    task: Option<Value>,
    opcode: Option<Value>,
    keywords: Option<u64>,
    version: Option<i64>,
    level: Option<i64>,
    level_name: Option<CompactString>,
    user_id: Option<Cow<'a, str>>,
    user_name: Option<Cow<'a, str>>,
    user_domain: Option<Cow<'a, str>>,
    user_type: Option<Cow<'a, str>>,
    activity_id: Option<Cow<'a, str>>,
    related_activity_id: Option<Cow<'a, str>>,
    time: Option<DateTime<Utc>>,
    message: Option<Cow<'a, str>>,
    keyword_names: Option<Vec<Value>>,
    audit: Option<&'static str>,
}

/// An element of `System` that holds a field [`System::set_leaf`] reads.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Element {
    Provider,
    EventId,
    Version,
    Level,
    Task,
    Opcode,
    Keywords,
    TimeCreated,
    EventRecordId,
    Correlation,
    Execution,
    Channel,
    Computer,
    Security,
}

/// A System field: where a scalar at a known path goes.
#[derive(Clone, Copy)]
enum Leaf {
    ProviderName,
    ProviderGuid,
    EventSourceName,
    EventId,
    Qualifiers,
    Version,
    Level,
    Task,
    Opcode,
    Keywords,
    Time,
    RecordId,
    ActivityId,
    RelatedActivityId,
    Pid,
    Tid,
    Channel,
    Computer,
    UserId,
}

impl Element {
    /// The element named `key` (a member of `System`).
    #[inline]
    fn of(key: &str) -> Option<Element> {
        Some(match key {
            "Provider" => Element::Provider,
            "EventID" => Element::EventId,
            "Version" => Element::Version,
            "Level" => Element::Level,
            "Task" => Element::Task,
            "Opcode" => Element::Opcode,
            "Keywords" => Element::Keywords,
            "TimeCreated" => Element::TimeCreated,
            "EventRecordID" => Element::EventRecordId,
            "Correlation" => Element::Correlation,
            "Execution" => Element::Execution,
            "Channel" => Element::Channel,
            "Computer" => Element::Computer,
            "Security" => Element::Security,
            _ => return None,
        })
    }

    /// The field a scalar written as the element itself sets (`"EventID": 4624`).
    #[inline]
    fn scalar(self) -> Option<Leaf> {
        Some(match self {
            Element::EventId => Leaf::EventId,
            Element::Version => Leaf::Version,
            Element::Level => Leaf::Level,
            Element::Task => Leaf::Task,
            Element::Opcode => Leaf::Opcode,
            Element::Keywords => Leaf::Keywords,
            Element::EventRecordId => Leaf::RecordId,
            Element::Channel => Leaf::Channel,
            Element::Computer => Leaf::Computer,
            _ => return None,
        })
    }

    /// The field the element's `#text` sets (`"EventID": {"#text": 4624}`).
    #[inline]
    fn text(self) -> Option<Leaf> {
        (self == Element::EventId).then_some(Leaf::EventId)
    }

    /// The field an attribute of the element sets (`"Execution": {"#attributes":
    /// {"ProcessID": 4}}`).
    #[inline]
    fn attribute(self, name: &str) -> Option<Leaf> {
        Some(match (self, name) {
            (Element::Provider, "Name") => Leaf::ProviderName,
            (Element::Provider, "Guid") => Leaf::ProviderGuid,
            (Element::Provider, "EventSourceName") => Leaf::EventSourceName,
            (Element::EventId, "Qualifiers") => Leaf::Qualifiers,
            (Element::TimeCreated, "SystemTime") => Leaf::Time,
            (Element::Correlation, "ActivityID") => Leaf::ActivityId,
            (Element::Correlation, "RelatedActivityID") => Leaf::RelatedActivityId,
            (Element::Execution, "ProcessID") => Leaf::Pid,
            (Element::Execution, "ThreadID") => Leaf::Tid,
            (Element::Security, "UserID") => Leaf::UserId,
            _ => return None,
        })
    }
}

impl<'a> System<'a> {
    /// Sets the System field at `path` (relative to the `System` object, `#attributes`
    /// included) from a scalar. Unknown paths are ignored.
    fn set(&mut self, path: &[&str], value: J<'a>) {
        let leaf = match path {
            [element] => Element::of(element).and_then(Element::scalar),
            [element, "#text"] => Element::of(element).and_then(Element::text),
            [element, "#attributes", attr] => Element::of(element).and_then(|e| e.attribute(attr)),
            _ => None,
        };
        if let Some(leaf) = leaf {
            self.set_leaf(leaf, value);
        }
    }

    /// Sets one System field from a scalar (a value of the wrong type clears it).
    fn set_leaf(&mut self, leaf: Leaf, value: J<'a>) {
        let text = |v: J<'a>| match v {
            J::Str(s) if !s.is_empty() => Some(s),
            _ => None,
        };
        match leaf {
            Leaf::ProviderName => self.provider_name = text(value),
            Leaf::ProviderGuid => self.provider_guid = text(value),
            Leaf::EventSourceName => self.event_source_name = text(value),
            Leaf::EventId => self.event_id = value.as_int(),
            Leaf::Qualifiers => self.qualifiers = value.as_int(),
            Leaf::Version => self.version = value.as_int(),
            Leaf::Level => self.level = value.as_int(),
            Leaf::Task => self.task = scalar(&value),
            Leaf::Opcode => {
                self.opcode = value.as_int().map(|op| {
                    opcode_name(op).map_or_else(|| Value::from(op.to_string()), Value::from)
                })
            }
            Leaf::Keywords => self.keywords = keywords_of(Some(&value)),
            Leaf::Time => {
                self.time = value
                    .as_str()
                    .and_then(|t| evtx_time(t).or_else(|| time::parse_iso(t, chrono_tz::UTC)))
            }
            Leaf::RecordId => self.record_id = value.as_int(),
            Leaf::ActivityId => self.activity_id = text(value),
            Leaf::RelatedActivityId => self.related_activity_id = text(value),
            Leaf::Pid => self.pid = value.as_int(),
            Leaf::Tid => self.tid = value.as_int(),
            Leaf::Channel => self.channel = text(value),
            Leaf::Computer => self.computer = text(value),
            Leaf::UserId => self.user_id = text(value),
        }
    }
}

/// `SystemTime` as `evtx_dump` writes it, `2019-03-19T23:36:55.906117Z` (27 bytes, six
/// digits of fraction, `Z`), read at fixed positions; `None` for anything else, which
/// [`time::parse_iso`] then reads. Where this gives a time it is the one `parse_iso` gives
/// (the same date and time checks, a second of 60 read as 59; a property test compares them):
/// the general reader's length scans and offset handling cost about 550 instructions per event.
#[inline]
fn evtx_time(text: &str) -> Option<DateTime<Utc>> {
    let b: &[u8; 27] = text.as_bytes().try_into().ok()?;
    if [b[4], b[7], b[10], b[13], b[16], b[19], b[26]] != *b"--T::.Z" {
        return None;
    }
    let number = |from: usize, to: usize| {
        b[from..to].iter().try_fold(0u32, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    let date =
        chrono::NaiveDate::from_ymd_opt(number(0, 4)? as i32, number(5, 7)?, number(8, 10)?)?;
    let time = chrono::NaiveTime::from_hms_micro_opt(
        number(11, 13)?,
        number(14, 16)?,
        number(17, 19)?.min(59),
        number(20, 26)?,
    )?;
    Some(date.and_time(time).and_utc())
}

/// Calls `f` with the path and value of every scalar (or array) under `j`.
fn walk_dom<'a, 'b>(
    j: &'b J<'a>,
    path: &mut Vec<&'b str>,
    f: &mut dyn FnMut(&[&'b str], &'b J<'a>),
) {
    match j {
        J::Obj(members) => {
            for (key, value) in members {
                path.push(key.as_ref());
                walk_dom(value, path, f);
                path.pop();
            }
        }
        leaf => f(path, leaf),
    }
}

fn str_of<'j>(node: Option<&'j J<'j>>) -> Option<Cow<'j, str>> {
    node?.as_str().map(Cow::Borrowed)
}

/// A scalar's text (numbers in decimal), for fields some exporters write as numbers and others
/// as strings.
fn int_of(node: Option<&J<'_>>) -> Option<i64> {
    node?.as_int()
}

/// A keyword mask from `0x8010000000000000`, a decimal string, or a (signed) JSON number.
fn keywords_of(node: Option<&J<'_>>) -> Option<u64> {
    match node? {
        J::Int(i) => Some(*i as u64),
        J::Float(f) if f.is_finite() => Some(*f as i64 as u64),
        J::Str(s) => {
            let s = s.trim();
            match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
                Some(hex) => hex_u64(hex),
                None => s
                    .parse::<u64>()
                    .ok()
                    .or_else(|| s.parse::<i64>().ok().map(|i| i as u64)),
            }
        }
        _ => None,
    }
}

/// `u64::from_str_radix(hex, 16)`, with up to 16 plain hex digits (every keyword mask) read
/// by hand: the generic reader costs a few hundred instructions on every Windows event.
fn hex_u64(hex: &str) -> Option<u64> {
    if hex.is_empty() || hex.len() > 16 {
        return u64::from_str_radix(hex, 16).ok();
    }
    let mut value = 0u64;
    for &c in hex.as_bytes() {
        let digit = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            // A sign or anything else: std decides.
            _ => return u64::from_str_radix(hex, 16).ok(),
        };
        value = value << 4 | u64::from(digit);
    }
    Some(value)
}

/// The standard keyword bits (winmeta.xml) and their rendered names.
const KEYWORD_NAMES: [(u64, &str); 8] = [
    (0x0001_0000_0000_0000, "Response Time"),
    (0x0002_0000_0000_0000, "WDI Context"),
    (0x0004_0000_0000_0000, "WDI Diag"),
    (0x0008_0000_0000_0000, "SQM"),
    (0x0010_0000_0000_0000, "Audit Failure"),
    (0x0020_0000_0000_0000, "Audit Success"),
    (0x0040_0000_0000_0000, "Correlation Hint"),
    (0x0080_0000_0000_0000, "Classic"),
];

/// `winlog.keywords` for a mask: the names of its standard bits ([`KEYWORD_NAMES`], in that
/// order), or `None` when it has none. One standard bit (`Audit Success` or `Audit Failure`
/// on every audit event) gives a static one-element list: no allocation to build it and none
/// to free with the event.
fn keyword_list(mask: u64) -> Option<Value> {
    static ONE: [[Value; 1]; 8] = [
        [Value::static_str(KEYWORD_NAMES[0].1)],
        [Value::static_str(KEYWORD_NAMES[1].1)],
        [Value::static_str(KEYWORD_NAMES[2].1)],
        [Value::static_str(KEYWORD_NAMES[3].1)],
        [Value::static_str(KEYWORD_NAMES[4].1)],
        [Value::static_str(KEYWORD_NAMES[5].1)],
        [Value::static_str(KEYWORD_NAMES[6].1)],
        [Value::static_str(KEYWORD_NAMES[7].1)],
    ];
    let standard = mask & KEYWORD_NAMES.iter().fold(0, |all, (bit, _)| all | bit);
    if standard == 0 {
        return None;
    }
    if standard.is_power_of_two() {
        let i = KEYWORD_NAMES.iter().position(|&(bit, _)| bit == standard)?;
        return Some(Value::static_list(&ONE[i]));
    }
    let names: Vec<Value> = KEYWORD_NAMES
        .iter()
        .filter(|(bit, _)| mask & bit != 0)
        .map(|(_, n)| Value::Str(CompactString::const_new(n)))
        .collect();
    Some(Value::List(names.into()))
}

/// The standard opcode names (winmeta.xml).
fn opcode_name(op: i64) -> Option<&'static str> {
    Some(match op {
        0 => "Info",
        1 => "Start",
        2 => "Stop",
        3 => "DCStart",
        4 => "DCStop",
        7 => "Extension",
        8 => "Reply",
        9 => "Resume",
        10 => "Suspend",
        11 => "Send",
        240 => "Receive",
        _ => return None,
    })
}

/// The rendered name of a level, as winlogbeat writes `log.level`.
fn level_name(level: i64) -> Option<&'static str> {
    Some(match level {
        // 0 is "LogAlways"; Windows renders it as Information (all Security events).
        0 | 4 => "information",
        1 => "critical",
        2 => "error",
        3 => "warning",
        5 => "verbose",
        _ => return None,
    })
}

/// Reads the nested (`evtx_dump`) shape from a parsed tree: `ev` is the value of the top-level
/// `Event` member. Returns `false` when it has no `System` object.
pub(crate) fn nested(ev: &J<'_>, event: &mut Event) -> bool {
    let Some(system) = ev.get("System").filter(|s| matches!(s, J::Obj(_))) else {
        return false;
    };
    let mut sys = System::default();
    walk_dom(system, &mut Vec::new(), &mut |path, leaf| {
        sys.set(path, leaf.clone())
    });
    if let Some(info) = ev.get("RenderingInfo") {
        rendering_info(&mut sys, info);
    }
    emit_system(&sys, event);
    if let Some(data) = ev.get("EventData") {
        event_data(data, event);
    }
    for (key, value) in ev.members() {
        other_member(key, value, event);
    }
    finish(&sys, event, event_type_of(event));
    true
}

/// Forwarded events carry the rendered strings: they win over the numbers.
fn rendering_info<'a>(sys: &mut System<'a>, info: &J<'a>) {
    sys.message = info
        .get("Message")
        .and_then(J::as_str)
        .map(|m| Cow::Owned(m.to_string()));
    if let Some(task) = info
        .get("Task")
        .and_then(J::as_str)
        .filter(|t| !t.is_empty())
    {
        sys.task = Some(Value::from(task));
    }
    if let Some(op) = info
        .get("Opcode")
        .and_then(J::as_str)
        .filter(|t| !t.is_empty())
    {
        sys.opcode = Some(Value::from(op));
    }
    if let Some(level) = info
        .get("Level")
        .and_then(J::as_str)
        .filter(|t| !t.is_empty())
    {
        sys.level_name = Some(CompactString::from(level.to_ascii_lowercase()));
    }
    if let Some(words) = info.get("Keywords").and_then(|kw| kw.get("Keyword")) {
        let names: Vec<Value> = match words {
            J::Arr(items) => items
                .iter()
                .filter_map(J::as_str)
                .map(Value::from)
                .collect(),
            J::Str(s) => vec![Value::from(s.as_ref())],
            _ => Vec::new(),
        };
        if !names.is_empty() {
            sys.keyword_names = Some(names);
        }
    }
}

/// A member of `Event` other than `System`, `EventData` and `RenderingInfo`: `UserData`
/// (flattened under `winlog.user_data`), or anything else (`ProcessingErrorData`, ...) under
/// `winlog.<name>`.
fn other_member(key: &str, value: &J<'_>, event: &mut Event) {
    match key {
        "#attributes" | "System" | "EventData" | "RenderingInfo" => {}
        "UserData" => {
            for (element, body) in value.members() {
                if element == "#attributes" {
                    continue;
                }
                event.insert(k("winlog.user_data.xml_name"), element.as_ref());
                flatten(
                    event,
                    CompactString::const_new("winlog.user_data"),
                    body,
                    true,
                );
            }
        }
        _ => {
            let mut name = CompactString::const_new("winlog.");
            name.push_str(key);
            flatten(event, name, value, true);
        }
    }
}

/// Reads the nested shape straight from the text, without building a tree for the parts that
/// are flat (System and EventData scalars): the fast path for `evtx_dump` lines. Returns
/// `Ok(false)`, with `event` in an unspecified state, when the text is not that shape.
pub(crate) fn nested_stream(text: &str, event: &mut Event) -> Result<bool, SyntaxError> {
    let mut r = Reader::new(text);
    r.object_start(0)?;
    let mut first = true;
    let mut found = false;
    while let Some(key) = r.member(&mut first)? {
        if key != "Event" || found || r.peek() != Some(b'{') {
            // Not the shape this path reads (members besides `Event` are not expected).
            return Ok(false);
        }
        found = true;
        if !stream_event(&mut r, event)? {
            return Ok(false);
        }
    }
    if !r.at_end() {
        return Err(SyntaxError {
            offset: r.position(),
            what: "trailing characters after the JSON value",
        });
    }
    Ok(found)
}

fn stream_event<'a>(r: &mut Reader<'a>, event: &mut Event) -> Result<bool, SyntaxError> {
    r.object_start(1)?;
    // Built in place and never moved (`System` is several hundred bytes: an `Option<System>` set
    // from a local cost two copies of it per event).
    let mut sys = System::default();
    let mut have_sys = false;
    let mut rendering: Option<J<'a>> = None;
    let mut first = true;
    let mut param = 0;
    while let Some(key) = r.member(&mut first)? {
        match key.as_ref() {
            "System" if r.peek() == Some(b'{') && !have_sys => {
                have_sys = true;
                let start = r.position();
                if !system_common(r, &mut sys) {
                    // Not the usual layout: read it again, generally, from its `{`.
                    r.rewind(start);
                    sys = System::default();
                    stream_system(r, 2, Scope::System, &mut sys)?;
                }
                // System comes first in evtx_dump output: the winlog fields lead the event.
                emit_system(&sys, event);
            }
            "EventData" if r.peek() == Some(b'{') => {
                r.object_start(2)?;
                let mut inner_first = true;
                while let Some(name) = r.member(&mut inner_first)? {
                    let value = r.value(3)?;
                    match (name.as_ref(), value) {
                        // Named scalar data, the common case: the value moves into the event
                        // (an unescaped string keeps its buffer).
                        (
                            key,
                            value @ (J::Str(_) | J::Int(_) | J::Float(_) | J::Bool(_) | J::Null),
                        ) if !key.starts_with('#') && key != "Data" => {
                            match super::names::event_data_static(key) {
                                Some(name) => event.insert_static_large(name, into_value(value)),
                                None => event.insert(data_name(key), into_value(value)),
                            }
                        }
                        (key, value) => event_data_member(key, &value, event, &mut param),
                    }
                }
            }
            "RenderingInfo" => rendering = Some(r.value(2)?),
            // The event's own attributes (`{"xmlns": "http://schemas.microsoft.com/..."}` on
            // every evtx_dump line) are dropped ([`other_member`]): in that usual form they
            // are checked and skipped without building the object (its vector and its drop
            // cost more than a System field); anything else is read as before.
            "#attributes" if skip_xmlns(r) => {}
            other => {
                let value = r.value(2)?;
                if other == "EventData" {
                    event_data(&value, event);
                } else {
                    other_member(other, &value, event);
                }
            }
        }
    }
    if !have_sys {
        return Ok(false);
    }
    if let Some(info) = &rendering {
        rendering_info(&mut sys, info);
        // Replaces the numeric task, opcode and level written from System.
        emit_system(&sys, event);
    }
    finish(&sys, event, event_type_of(event));
    Ok(true)
}

/// Consumes `{"xmlns":"..."}` (no whitespace but before the string, any string contents,
/// escapes included) and returns `true`; otherwise rewinds and returns `false`,
/// for the caller to read the value in full (which reports any error).
fn skip_xmlns(r: &mut Reader<'_>) -> bool {
    let start = r.position();
    if r.eat(b"{\"xmlns\":") && matches!(r.scalar(), Some(J::Str(_))) && r.eat(b"}") {
        return true;
    }
    r.rewind(start);
    false
}

/// Where [`stream_system`] is inside `System`: which of the objects holding fields, if any.
#[derive(Clone, Copy)]
enum Scope {
    /// `System` itself: its members are elements.
    System,
    /// A known element's object: `#attributes` and `#text` may hold fields.
    Element(Element),
    /// A known element's `#attributes`: each member may be a field.
    Attributes(Element),
    /// Anywhere else: values are read (and checked) but not used.
    Ignored,
}

/// Streams the `System` object (its `{` next), passing every scalar or array at a path that
/// holds a field to [`System::set_leaf`] without building the object (the paths are the ones
/// [`System::set`] reads, classified key by key instead of kept as strings).
fn stream_system<'a>(
    r: &mut Reader<'a>,
    depth: usize,
    scope: Scope,
    sys: &mut System<'a>,
) -> Result<(), SyntaxError> {
    r.object_start(depth)?;
    let mut first = true;
    while let Some(key) = r.member(&mut first)? {
        if r.peek() == Some(b'{') {
            let inner = match scope {
                Scope::System => Element::of(&key).map_or(Scope::Ignored, Scope::Element),
                Scope::Element(element) if key == "#attributes" => Scope::Attributes(element),
                _ => Scope::Ignored,
            };
            stream_system(r, depth + 1, inner, sys)?;
        } else {
            let value = r.value(depth + 1)?;
            let leaf = match scope {
                Scope::System => Element::of(&key).and_then(Element::scalar),
                Scope::Element(element) if key == "#text" => element.text(),
                Scope::Attributes(element) => element.attribute(&key),
                _ => None,
            };
            if let Some(leaf) = leaf {
                sys.set_leaf(leaf, value);
            }
        }
    }
    Ok(())
}

/// Reads `System` (its `{` next, no whitespace before it) when it is written the way
/// `evtx_dump` writes it: the members in their schema order, each optional one present or
/// not, no whitespace between tokens, every field a scalar. The keys and the punctuation
/// around them are matched as literal bytes ([`Reader::eat`]) and each value goes to
/// [`System::set_leaf`] as [`stream_system`] would send it, so a text read here gives the
/// same `System` as the general walk. Returns `false` at the first byte that departs from
/// this layout (an unknown, escaped or repeated key, whitespace, an object where a scalar
/// goes, invalid JSON): the caller rewinds and reads the object with [`stream_system`], which
/// also reports any error. About a third of the general walk's instructions on the usual
/// event: it skips reading and classifying ~26 keys and the nested object frames.
fn system_common<'a>(r: &mut Reader<'a>, sys: &mut System<'a>) -> bool {
    system_common_inner(r, sys).is_some()
}

fn system_common_inner<'a>(r: &mut Reader<'a>, sys: &mut System<'a>) -> Option<()> {
    /// Consumes the literal or gives up on the layout.
    macro_rules! expect {
        ($literal:literal) => {
            r.eat($literal).then_some(())?
        };
    }
    /// Reads a scalar into the field, or gives up on the layout.
    macro_rules! leaf {
        ($leaf:expr) => {{
            let value = r.scalar()?;
            sys.set_leaf($leaf, value);
        }};
    }
    expect!(b"{\"Provider\":{\"#attributes\":{\"Name\":");
    leaf!(Leaf::ProviderName);
    if r.eat(b",\"Guid\":") {
        leaf!(Leaf::ProviderGuid);
    }
    if r.eat(b",\"EventSourceName\":") {
        leaf!(Leaf::EventSourceName);
    }
    expect!(b"}},\"EventID\":");
    if r.eat(b"{\"#attributes\":{\"Qualifiers\":") {
        leaf!(Leaf::Qualifiers);
        expect!(b"},\"#text\":");
        leaf!(Leaf::EventId);
        expect!(b"}");
    } else {
        leaf!(Leaf::EventId);
    }
    if r.eat(b",\"Version\":") {
        leaf!(Leaf::Version);
    }
    expect!(b",\"Level\":");
    leaf!(Leaf::Level);
    expect!(b",\"Task\":");
    leaf!(Leaf::Task);
    if r.eat(b",\"Opcode\":") {
        leaf!(Leaf::Opcode);
    }
    expect!(b",\"Keywords\":");
    leaf!(Leaf::Keywords);
    expect!(b",\"TimeCreated\":{\"#attributes\":{\"SystemTime\":");
    leaf!(Leaf::Time);
    expect!(b"}},\"EventRecordID\":");
    leaf!(Leaf::RecordId);
    if r.eat(b",\"Correlation\":") && !r.eat(b"null") {
        expect!(b"{\"#attributes\":{\"ActivityID\":");
        leaf!(Leaf::ActivityId);
        if r.eat(b",\"RelatedActivityID\":") {
            leaf!(Leaf::RelatedActivityId);
        }
        expect!(b"}}");
    }
    if r.eat(b",\"Execution\":{\"#attributes\":{\"ProcessID\":") {
        leaf!(Leaf::Pid);
        expect!(b",\"ThreadID\":");
        leaf!(Leaf::Tid);
        expect!(b"}}");
    }
    expect!(b",\"Channel\":");
    leaf!(Leaf::Channel);
    expect!(b",\"Computer\":");
    leaf!(Leaf::Computer);
    if r.eat(b",\"Security\":") && !r.eat(b"null") {
        expect!(b"{\"#attributes\":{\"UserID\":");
        leaf!(Leaf::UserId);
        expect!(b"}}");
    }
    expect!(b"}");
    Some(())
}

fn event_type_of(event: &Event) -> Option<CompactString> {
    event
        .get_str("winlog.event_data.EventType")
        .map(CompactString::from)
}

/// A JSON scalar as a [`Value`] (strings of digits stay strings).
fn scalar(j: &J<'_>) -> Option<Value> {
    Some(match j {
        J::Int(i) => Value::Int(*i),
        J::Float(f) => Value::Float(*f),
        J::Str(s) => Value::from(s.as_ref()),
        J::Bool(b) => Value::Bool(*b),
        _ => return None,
    })
}

/// Converts a JSON value as [`value_of`] does, moving a string decoded from escapes (owned)
/// rather than copying it. Scalars are matched by value here: converting through a
/// reference left a drop of the `J` to run on every EventData value.
#[inline]
fn into_value(j: J<'_>) -> Value {
    match j {
        J::Str(Cow::Borrowed(s)) => Value::Str(CompactString::from(s)),
        J::Str(Cow::Owned(s)) => Value::Str(CompactString::from(s)),
        J::Int(i) => Value::Int(i),
        J::Float(f) => Value::Float(f),
        J::Bool(b) => Value::Bool(b),
        J::Null => Value::Null,
        other => value_of(&other),
    }
}

/// Converts a JSON value for an event: objects inside arrays become [`Value::Object`].
pub(crate) fn value_of(j: &J<'_>) -> Value {
    match j {
        J::Null => Value::Null,
        J::Bool(b) => Value::Bool(*b),
        J::Int(i) => Value::Int(*i),
        J::Float(f) => Value::Float(*f),
        J::Str(s) => Value::Str(CompactString::from(s.as_ref())),
        J::Arr(items) => Value::List(items.iter().map(value_of).collect()),
        J::Obj(_) => {
            let mut inner = Event::new();
            flatten(&mut inner, CompactString::default(), j, false);
            let map = inner
                .fields()
                .map(|(k, v)| (CompactString::from(k), v.clone()))
                .collect();
            Value::Object(Box::new(map))
        }
    }
}

/// Writes `j` at `name`, flattening objects with dots. XML-derived structure is folded the way
/// winlogbeat reads the XML: `#text` is the element's own value, `#attributes` members become
/// children (namespace declarations dropped).
fn flatten(event: &mut Event, name: CompactString, j: &J<'_>, xml: bool) {
    match j {
        J::Obj(members) => {
            for (key, value) in members {
                if xml && key == "#attributes" {
                    for (attr_name, attr_value) in value.members() {
                        if attr_name.starts_with("xmlns") {
                            continue;
                        }
                        flatten(event, join(&name, attr_name), attr_value, xml);
                    }
                } else if xml && key == "#text" {
                    if name.is_empty() {
                        event.insert("#text", value_of(value));
                    } else {
                        event.insert(name.clone(), value_of(value));
                    }
                } else {
                    flatten(event, join(&name, key), value, xml);
                }
            }
        }
        other => {
            if !name.is_empty() {
                event.insert(name, value_of(other));
            }
        }
    }
}

fn join(prefix: &str, key: &str) -> CompactString {
    if prefix.is_empty() {
        return CompactString::from(key);
    }
    let mut name = CompactString::with_capacity(prefix.len() + 1 + key.len());
    name.push_str(prefix);
    name.push('.');
    name.push_str(key);
    name
}

fn data_name(key: &str) -> CompactString {
    if let Some(name) = super::names::event_data(key) {
        return CompactString::const_new(name);
    }
    let mut name = CompactString::with_capacity(18 + key.len());
    name.push_str("winlog.event_data.");
    name.push_str(key);
    name
}

/// One member of `EventData`: named data (`"TargetUserName": "bob"`), unnamed `Data`
/// (`{"#text": ...}` or an array of them, numbered `param1`, `param2`, ... as winlogbeat does),
/// `#text`, or the element's `#attributes` (dropped).
fn event_data_member(key: &str, value: &J<'_>, event: &mut Event, param: &mut usize) {
    let mut unnamed = |event: &mut Event, j: &J<'_>| {
        *param += 1;
        let name = data_name(&format!("param{param}"));
        match j {
            J::Obj(_) => match j.get("#text") {
                Some(text) => event.insert(name, value_of(text)),
                None => flatten(event, name, j, true),
            },
            other => event.insert(name, value_of(other)),
        }
    };
    match key {
        "#attributes" => {}
        "#text" => unnamed(event, value),
        "Data" => match value {
            J::Arr(items) => items.iter().for_each(|item| unnamed(event, item)),
            J::Null => {}
            other => unnamed(event, other),
        },
        _ => match value {
            J::Obj(_) => flatten(event, data_name(key), value, true),
            other => event.insert(data_name(key), value_of(other)),
        },
    }
}

/// `EventData` of the nested shape, from a tree.
fn event_data(data: &J<'_>, event: &mut Event) {
    let mut param = 0;
    match data {
        J::Obj(members) => {
            for (key, value) in members {
                event_data_member(key, value, event, &mut param);
            }
        }
        J::Null => {}
        other => event_data_member("#text", other, event, &mut param),
    }
}

fn emit_system(sys: &System<'_>, event: &mut Event) {
    if let Some(ts) = sys.time {
        event.timestamp = Some(ts);
    }
    let put = |event: &mut Event, name: &StaticName, value: &Option<Cow<'_, str>>| {
        if let Some(v) = value {
            event.insert_static_large(name, v.as_ref());
        }
    };
    if let Some(channel) = &sys.channel {
        event.insert_static_large(static_name!("winlog.channel"), system_value(channel));
    }
    if let Some(id) = sys.event_id {
        event.insert_static_large(static_name!("winlog.event_id"), id);
    }
    if let Some(q) = sys.qualifiers {
        event.insert_static_large(static_name!("winlog.event_id_qualifiers"), q);
    }
    if let Some(name) = &sys.provider_name {
        event.insert_static_large(static_name!("winlog.provider_name"), system_value(name));
    }
    if let Some(g) = &sys.provider_guid {
        if let Some(braced) = super::names::braced_guid(g) {
            event.insert_static_large(
                static_name!("winlog.provider_guid"),
                Value::static_str(braced),
            );
        } else if g.starts_with('{') {
            event.insert_static_large(static_name!("winlog.provider_guid"), g.as_ref());
        } else {
            let mut braced = CompactString::with_capacity(g.len() + 2);
            braced.push('{');
            braced.push_str(g);
            braced.push('}');
            event.insert_static_large(static_name!("winlog.provider_guid"), braced);
        }
    }
    put(
        event,
        static_name!("winlog.event_source_name"),
        &sys.event_source_name,
    );
    put(event, static_name!("winlog.computer_name"), &sys.computer);
    if let Some(r) = sys.record_id {
        event.insert_static_large(static_name!("winlog.record_id"), r);
    }
    if let Some(p) = sys.pid {
        event.insert_static_large(static_name!("winlog.process.pid"), p);
    }
    if let Some(t) = sys.tid {
        event.insert_static_large(static_name!("winlog.process.thread.id"), t);
    }
    if let Some(t) = &sys.task {
        event.insert_static_large(static_name!("winlog.task"), t.clone());
    }
    if let Some(o) = &sys.opcode {
        event.insert_static_large(static_name!("winlog.opcode"), o.clone());
    }
    if let Some(names) = &sys.keyword_names {
        event.insert_static_large(
            static_name!("winlog.keywords"),
            Value::List(names.clone().into()),
        );
    } else if let Some(names) = sys.keywords.and_then(keyword_list) {
        event.insert_static_large(static_name!("winlog.keywords"), names);
    }
    if let Some(mask) = sys.keywords {
        event.insert_static_large(static_name!("winlog.keywords_raw"), hex_mask(mask));
    }
    if let Some(v) = sys.version {
        event.insert_static_large(static_name!("winlog.version"), v);
    }
    put(event, static_name!("winlog.user.identifier"), &sys.user_id);
    put(event, static_name!("winlog.user.name"), &sys.user_name);
    put(event, static_name!("winlog.user.domain"), &sys.user_domain);
    put(event, static_name!("winlog.user.type"), &sys.user_type);
    put(event, static_name!("winlog.activity_id"), &sys.activity_id);
    put(
        event,
        static_name!("winlog.related_activity_id"),
        &sys.related_activity_id,
    );
}

/// A channel or provider name as a value: the static text when it is a common long one (no
/// allocation), else a copy.
#[inline]
fn system_value(text: &str) -> Value {
    match super::names::system_text(text) {
        Some(known) => Value::static_str(known),
        None => Value::from(text),
    }
}

/// `0x` and the mask in 16 lower-case hex digits (what `format!("0x{mask:016x}")` gives,
/// without the formatting machinery: this is on every Windows event's path).
fn hex_mask(mask: u64) -> CompactString {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = [b'0'; 18];
    text[1] = b'x';
    for (i, slot) in text[2..].iter_mut().enumerate() {
        *slot = DIGITS[((mask >> (60 - 4 * i)) & 0xf) as usize];
    }
    // Only ASCII digits were written.
    CompactString::from_utf8(text).unwrap_or_default()
}

/// ECS fields and the logsource, after the winlog fields.
fn finish(sys: &System<'_>, event: &mut Event, event_type: Option<CompactString>) {
    if let Some(id) = sys.event_id {
        event.insert_static_large(static_name!("event.code"), id.to_compact_string());
    }
    if let Some(p) = &sys.provider_name {
        event.insert_static_large(static_name!("event.provider"), system_value(p));
    }
    event.insert_static_large(
        static_name!("event.kind"),
        Value::Str(CompactString::const_new("event")),
    );
    if let Some(c) = &sys.computer {
        event.insert_static_large(static_name!("host.name"), c.as_ref());
    }
    match &sys.level_name {
        Some(level) => event.insert_static_large(static_name!("log.level"), level.clone()),
        None => {
            if let Some(level) = sys.level.and_then(level_name) {
                event.insert_static_large(
                    static_name!("log.level"),
                    Value::Str(CompactString::const_new(level)),
                );
            }
        }
    }
    let audit = sys.audit.or_else(|| {
        let mask = sys.keywords?;
        if mask & 0x0020_0000_0000_0000 != 0 {
            Some("success")
        } else if mask & 0x0010_0000_0000_0000 != 0 {
            Some("failure")
        } else {
            None
        }
    });
    if let Some(outcome) = audit {
        event.insert_static_large(
            static_name!("event.outcome"),
            Value::Str(CompactString::const_new(outcome)),
        );
    }
    if let Some(m) = sys.message.as_deref().filter(|m| !m.is_empty()) {
        event.insert_if_absent(k("message"), m);
    }
    if let Some((module, dataset)) = sys.channel.as_deref().and_then(module_dataset) {
        event.insert_static_large(
            static_name!("event.module"),
            Value::Str(CompactString::const_new(module)),
        );
        if let Some(dataset) = dataset {
            event.insert_static_large(
                static_name!("event.dataset"),
                Value::Str(CompactString::const_new(dataset)),
            );
        }
    }
    event.logsource = logsource(sys.channel.as_deref(), sys.event_id, event_type.as_deref());
}

/// Elastic Agent's `event.module` / `event.dataset` for a channel.
fn module_dataset(channel: &str) -> Option<(&'static str, Option<&'static str>)> {
    Some(match channel {
        "Security" => ("system", Some("system.security")),
        "System" => ("system", Some("system.system")),
        "Application" => ("system", Some("system.application")),
        "Microsoft-Windows-Sysmon/Operational" => ("windows", Some("windows.sysmon_operational")),
        "Windows PowerShell" => ("windows", Some("windows.powershell")),
        "Microsoft-Windows-PowerShell/Operational" => {
            ("windows", Some("windows.powershell_operational"))
        }
        "ForwardedEvents" => ("windows", Some("windows.forwarded")),
        "Microsoft-Windows-Windows Defender/Operational" => {
            ("windows", Some("windows.windows_defender"))
        }
        c if c.starts_with("Linux-Sysmon/") => return None,
        _ => ("windows", None),
    })
}

/// The Sigma service for a Windows event channel (Sigma taxonomy appendix and SigmaHQ's
/// `tests/thor.yml`), compared case-insensitively.
///
/// ```
/// use siem_core::parse::json::windows::channel_service;
/// assert_eq!(channel_service("Microsoft-Windows-Sysmon/Operational"), Some("sysmon"));
/// assert_eq!(channel_service("Windows PowerShell"), Some("powershell-classic"));
/// assert_eq!(channel_service("Some/Other"), None);
/// ```
pub fn channel_service(channel: &str) -> Option<&'static str> {
    const TABLE: &[(&str, &str)] = &[
        ("Security", "security"),
        ("System", "system"),
        ("Application", "application"),
        ("Microsoft-Windows-Sysmon/Operational", "sysmon"),
        ("Windows PowerShell", "powershell-classic"),
        ("Microsoft-Windows-PowerShell/Operational", "powershell"),
        ("PowerShellCore/Operational", "powershell"),
        (
            "Microsoft-Windows-TaskScheduler/Operational",
            "taskscheduler",
        ),
        ("Microsoft-Windows-WMI-Activity/Operational", "wmi"),
        (
            "Microsoft-Windows-Windows Defender/Operational",
            "windefend",
        ),
        ("Microsoft-Windows-Bits-Client/Operational", "bits-client"),
        ("DNS Server", "dns-server"),
        (
            "Microsoft-Windows-DNS-Server/Analytical",
            "dns-server-analytic",
        ),
        ("Microsoft-Windows-DNS-Server/Audit", "dns-server-audit"),
        ("Microsoft-Windows-AppLocker/MSI and Script", "applocker"),
        ("Microsoft-Windows-AppLocker/EXE and DLL", "applocker"),
        (
            "Microsoft-Windows-AppLocker/Packaged app-Deployment",
            "applocker",
        ),
        (
            "Microsoft-Windows-AppLocker/Packaged app-Execution",
            "applocker",
        ),
        (
            "Microsoft-Windows-CodeIntegrity/Operational",
            "codeintegrity-operational",
        ),
        ("Microsoft-Windows-NTLM/Operational", "ntlm"),
        ("Microsoft-Windows-DHCP-Server/Operational", "dhcp"),
        ("Microsoft-Windows-PrintService/Admin", "printservice-admin"),
        (
            "Microsoft-Windows-PrintService/Operational",
            "printservice-operational",
        ),
        ("Microsoft-Windows-SmbClient/Security", "smbclient-security"),
        (
            "Microsoft-Windows-SmbClient/Connectivity",
            "smbclient-connectivity",
        ),
        (
            "Microsoft-Windows-SMBServer/Connectivity",
            "smbserver-connectivity",
        ),
        (
            "Microsoft-Windows-TerminalServices-LocalSessionManager/Operational",
            "terminalservices-localsessionmanager",
        ),
        ("MSExchange Management", "msexchange-management"),
        (
            "Microsoft-Windows-Windows Firewall With Advanced Security/Firewall",
            "firewall-as",
        ),
        (
            "Microsoft-Windows-Security-Mitigations/Kernel Mode",
            "security-mitigations",
        ),
        (
            "Microsoft-Windows-Security-Mitigations/User Mode",
            "security-mitigations",
        ),
        (
            "Microsoft-Windows-Diagnosis-Scripted/Operational",
            "diagnosis-scripted",
        ),
        ("Microsoft-Windows-Shell-Core/Operational", "shell-core"),
        ("OpenSSH/Operational", "openssh"),
        ("Microsoft-Windows-LDAP-Client/Debug", "ldap"),
        (
            "Microsoft-Windows-BitLocker/BitLocker Management",
            "bitlocker",
        ),
        ("Microsoft-Windows-VHDMP/Operational", "vhdmp"),
        (
            "Microsoft-Windows-AppXDeploymentServer/Operational",
            "appxdeployment-server",
        ),
        ("Microsoft-Windows-LSA/Operational", "lsa-server"),
        (
            "Microsoft-Windows-AppxPackaging/Operational",
            "appxpackaging-om",
        ),
        (
            "Microsoft-Windows-DNS Client Events/Operational",
            "dns-client",
        ),
        (
            "Microsoft-Windows-AppModel-Runtime/Admin",
            "appmodel-runtime",
        ),
        ("Microsoft-Windows-CAPI2/Operational", "capi2"),
        (
            "Microsoft-Windows-CertificateServicesClient-Lifecycle-System/Operational",
            "certificateservicesclient-lifecycle-system",
        ),
        (
            "Microsoft-Windows-Kernel-ShimEngine/Operational",
            "kernel-shimengine",
        ),
        (
            "Microsoft-Windows-Kernel-ShimEngine/Diagnostic",
            "kernel-shimengine",
        ),
        (
            "Microsoft-Windows-Application-Experience/Program-Telemetry",
            "application-experience",
        ),
        (
            "Microsoft-Windows-Application-Experience/Program-Compatibility-Assistant",
            "application-experience",
        ),
        ("Microsoft-Windows-Ntfs/Operational", "ntfs"),
        ("Microsoft-Windows-Hyper-V-Worker", "hyper-v-worker"),
        ("Microsoft-Windows-Hyper-V-Worker-Admin", "hyper-v-worker"),
        (
            "Microsoft-Windows-Kernel-EventTracing",
            "kernel-event-tracing",
        ),
        (
            "Microsoft-Windows-Kernel-EventTracing/Admin",
            "kernel-event-tracing",
        ),
        ("Microsoft-Windows-SENSE/Operational", "sense"),
        ("Microsoft-ServiceBus-Client/Admin", "servicebus-client"),
        (
            "Microsoft-ServiceBus-Client/Operational",
            "servicebus-client",
        ),
        (
            "Microsoft-IIS-Configuration/Operational",
            "iis-configuration",
        ),
        (
            "Microsoft-Windows-DriverFrameworks-UserMode/Operational",
            "driver-framework",
        ),
        ("Linux-Sysmon/Operational", "sysmon"),
    ];
    TABLE
        .iter()
        .find(|(c, _)| c.eq_ignore_ascii_case(channel))
        .map(|(_, s)| *s)
}

/// The Sigma category of a Sysmon event id. Event 12 is `registry_add` (`EventType:
/// CreateKey`) or `registry_delete` (`DeleteKey`, `DeleteValue`), else `registry_event`.
fn sysmon_category(id: i64, event_type: Option<&str>) -> Option<&'static str> {
    Some(match id {
        1 => "process_creation",
        2 => "file_change",
        3 => "network_connection",
        4 | 16 => "sysmon_status",
        5 => "process_termination",
        6 => "driver_load",
        7 => "image_load",
        8 => "create_remote_thread",
        9 => "raw_access_thread",
        10 => "process_access",
        11 => "file_event",
        12 => match event_type {
            Some(t) if t.eq_ignore_ascii_case("CreateKey") => "registry_add",
            Some(t)
                if t.eq_ignore_ascii_case("DeleteKey") || t.eq_ignore_ascii_case("DeleteValue") =>
            {
                "registry_delete"
            }
            // Without the EventType, only the umbrella category is certain.
            _ => "registry_event",
        },
        13 => "registry_set",
        14 => "registry_rename",
        15 => "create_stream_hash",
        17 | 18 => "pipe_created",
        19..=21 => "wmi_event",
        22 => "dns_query",
        23 => "file_delete",
        24 => "clipboard_capture",
        25 => "process_tampering",
        26 => "file_delete_detected",
        27 => "file_block_executable",
        28 => "file_block_shredding",
        29 => "file_executable_detected",
        255 => "sysmon_error",
        _ => return None,
    })
}

/// The Sigma logsource of a Windows event from its channel, id and (Sysmon) `EventType`.
///
/// ```
/// use siem_core::parse::json::windows::logsource;
/// let ls = logsource(Some("Security"), Some(4688), None);
/// assert_eq!(ls.to_string(), "product=windows,category=process_creation,service=security");
/// let ls = logsource(Some("Microsoft-Windows-Sysmon/Operational"), Some(12), Some("DeleteValue"));
/// assert_eq!(ls.category.as_deref(), Some("registry_delete"));
/// ```
pub fn logsource(
    channel: Option<&str>,
    event_id: Option<i64>,
    event_type: Option<&str>,
) -> LogSource {
    let service = channel.and_then(channel_service);
    let linux = channel.is_some_and(|c| c.starts_with("Linux-"));
    let category = match (service, event_id) {
        (Some("sysmon"), Some(id)) => sysmon_category(id, event_type),
        (Some("security"), Some(4688)) => Some("process_creation"),
        (Some("powershell"), Some(4103)) => Some("ps_module"),
        (Some("powershell"), Some(4104)) => Some("ps_script"),
        (Some("powershell-classic"), Some(400)) => Some("ps_classic_start"),
        (Some("powershell-classic"), Some(600)) => Some("ps_classic_provider_start"),
        (Some("powershell-classic"), Some(800)) => Some("ps_classic_script"),
        (Some("windefend"), Some(1006..=1012 | 1017..=1019 | 1115 | 1116)) => Some("antivirus"),
        _ => None,
    };
    LogSource::new(
        Some(if linux { "linux" } else { "windows" }),
        category,
        service,
    )
}

/// NXLog's own `EventType` values (its severity/audit summary); anything else under that key is
/// EventData (Sysmon registry events carry `EventType: SetValue`).
fn nxlog_event_type(s: &str) -> Option<Option<&'static str>> {
    Some(match s {
        "AUDIT_SUCCESS" => Some("success"),
        "AUDIT_FAILURE" => Some("failure"),
        "INFO" | "WARNING" | "ERROR" | "CRITICAL" | "VERBOSE" | "DEBUG" => None,
        _ => return None,
    })
}

/// Top-level keys of the flat shape that describe the event rather than being EventData (NXLog
/// `im_msvistalog`, Azure Sentinel, Logstash).
fn is_flat_system_key(key: &str) -> bool {
    matches!(
        key,
        "EventID"
            | "Channel"
            | "Hostname"
            | "Computer"
            | "SourceName"
            | "ProviderName"
            | "ProviderGuid"
            | "RecordNumber"
            | "EventRecordID"
            | "ExecutionProcessID"
            | "ExecutionThreadID"
            | "ThreadID"
            | "Task"
            | "Category"
            | "Opcode"
            | "OpcodeValue"
            | "Keywords"
            | "Version"
            | "Level"
            | "Severity"
            | "SeverityValue"
            | "UserID"
            | "AccountName"
            | "Domain"
            | "AccountType"
            | "ActivityID"
            | "RelatedActivityID"
            | "Message"
            | "TimeCreated"
            | "EventTime"
            | "EventReceivedTime"
            | "@timestamp"
            | "@version"
            | "host"
            | "port"
            | "tags"
            | "SourceModuleName"
            | "SourceModuleType"
            | "EventIdx"
            | "EventCountTotal"
            | "EventTypeOrignal"
            | "ERROR_EVT_UNRESOLVED"
            | "EventData"
            | "UserData"
    )
}

/// Whether a top-level object looks like the flat shape.
pub(crate) fn is_flat(obj: &J<'_>) -> bool {
    obj.get("EventID").is_some()
        && (obj.get("Channel").is_some()
            || obj.get("SourceName").is_some()
            || obj.get("ProviderGuid").is_some())
}

/// Reads the flat shape (`obj` is the top-level object).
pub(crate) fn flat(obj: &J<'_>, tz: Tz, event: &mut Event) {
    let mut sys = System {
        event_id: int_of(obj.get("EventID")),
        channel: str_of(obj.get("Channel")).filter(|c| !c.is_empty()),
        computer: str_of(obj.get("Hostname")).or_else(|| str_of(obj.get("Computer"))),
        provider_name: str_of(obj.get("SourceName")).or_else(|| str_of(obj.get("ProviderName"))),
        provider_guid: str_of(obj.get("ProviderGuid")),
        record_id: int_of(obj.get("RecordNumber")).or_else(|| int_of(obj.get("EventRecordID"))),
        pid: int_of(obj.get("ExecutionProcessID")),
        tid: int_of(obj.get("ThreadID")).or_else(|| int_of(obj.get("ExecutionThreadID"))),
        version: int_of(obj.get("Version")),
        keywords: keywords_of(obj.get("Keywords")),
        user_id: str_of(obj.get("UserID")),
        user_name: str_of(obj.get("AccountName")),
        user_domain: str_of(obj.get("Domain")),
        user_type: str_of(obj.get("AccountType")),
        activity_id: str_of(obj.get("ActivityID")),
        related_activity_id: str_of(obj.get("RelatedActivityID")),
        message: str_of(obj.get("Message")),
        ..System::default()
    };
    sys.task = match str_of(obj.get("Category")).filter(|c| !c.is_empty()) {
        Some(name) => Some(Value::from(name.as_ref())),
        None => obj
            .get("Task")
            .and_then(|t| t.as_int().map(Value::Int).or_else(|| scalar(t))),
    };
    sys.opcode = match str_of(obj.get("Opcode")) {
        Some(name) => Some(Value::from(name.as_ref())),
        None => int_of(obj.get("OpcodeValue"))
            .or_else(|| int_of(obj.get("Opcode")))
            .map(|op| opcode_name(op).map_or_else(|| Value::from(op.to_string()), Value::from)),
    };
    sys.level = int_of(obj.get("Level"));
    if sys.level.is_none()
        && let Some(sev) = str_of(obj.get("Severity"))
    {
        sys.level_name = Some(match sev.as_ref() {
            "INFO" => CompactString::const_new("information"),
            "WARNING" => CompactString::const_new("warning"),
            "ERROR" => CompactString::const_new("error"),
            "CRITICAL" => CompactString::const_new("critical"),
            "VERBOSE" | "DEBUG" => CompactString::const_new("verbose"),
            other => CompactString::from(other.to_ascii_lowercase()),
        });
    }
    // Time: TimeCreated (the record's), else the shipper's @timestamp, else NXLog's EventTime.
    sys.time = str_of(obj.get("TimeCreated"))
        .and_then(|t| time::parse_iso(&t, tz))
        .or_else(|| match obj.get("@timestamp") {
            Some(J::Str(t)) => time::parse_iso(t, chrono_tz::UTC),
            Some(J::Int(ms)) => DateTime::from_timestamp_millis(*ms),
            _ => None,
        })
        .or_else(|| str_of(obj.get("EventTime")).and_then(|t| time::parse_iso(&t, tz)));
    let mut event_type = None;
    if let Some(t) = str_of(obj.get("EventType")) {
        match nxlog_event_type(&t) {
            Some(audit) => sys.audit = audit,
            None => event_type = Some(CompactString::from(t.as_ref())),
        }
    }
    emit_system(&sys, event);
    for (key, value) in obj.members() {
        let key = key.as_ref();
        if key == "EventType" {
            if event_type.is_some() {
                event.insert(data_name(key), value_of(value));
            }
            continue;
        }
        if key == "EventData" {
            event_data(value, event);
            continue;
        }
        if key == "UserData" {
            flatten(event, CompactString::from("winlog.user_data"), value, true);
            continue;
        }
        if key == "tags" {
            if let J::Arr(items) = value {
                for tag in items.iter().filter_map(J::as_str) {
                    event.add_tag(tag);
                }
            }
            continue;
        }
        if is_flat_system_key(key) {
            continue;
        }
        match value {
            J::Obj(_) => flatten(event, data_name(key), value, false),
            other => event.insert(data_name(key), value_of(other)),
        }
    }
    finish(&sys, event, event_type);
}

/// For winlogbeat output (already ECS): the logsource and the ECS fields winlogbeat may lack.
pub(crate) fn winlogbeat(event: &mut Event) {
    let channel = event.get_str("winlog.channel").map(CompactString::from);
    let event_id = event.get("winlog.event_id").and_then(|v| match v {
        Value::Int(i) => Some(*i),
        Value::Str(s) => s.trim().parse().ok(),
        _ => None,
    });
    let event_type = event_type_of(event);
    if let Some(id) = event_id {
        event.insert_if_absent(k("event.code"), id.to_string());
    }
    if let Some(name) = event
        .get_str("winlog.computer_name")
        .map(CompactString::from)
    {
        event.insert_if_absent(k("host.name"), name);
    }
    if let Some(p) = event
        .get_str("winlog.provider_name")
        .map(CompactString::from)
    {
        event.insert_if_absent(k("event.provider"), p);
    }
    let mut ls = logsource(channel.as_deref(), event_id, event_type.as_deref());
    ls.fill_from(&event.logsource);
    event.logsource = ls;
}

#[cfg(test)]
mod tests {
    use super::super::reader::parse;
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn nested_shape_fields() {
        let text = r##"{"Event":{"#attributes":{"xmlns":"x"},"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Security-Auditing","Guid":"54849625-5478-4994-A5BA-3E3B0328C30D"}},"EventID":{"#attributes":{"Qualifiers":16384},"#text":"4625"},"Version":0,"Level":0,"Task":12544,"Opcode":0,"Keywords":"0x8010000000000000","TimeCreated":{"#attributes":{"SystemTime":"2016-09-19T16:50:06.477878Z"}},"EventRecordID":2455,"Correlation":{"#attributes":{"ActivityID":"B864D168"}},"Execution":{"#attributes":{"ProcessID":752,"ThreadID":4068}},"Channel":"Security","Computer":"DESKTOP-M5SN04R","Security":null},"EventData":{"TargetUserName":"Administrator","LogonType":3,"LogonProcessName":"NtLmSsp ","Data":[{"#text":"a"},"b"]}}}"##;
        let j = parse(text).unwrap();
        let mut e = Event::new();
        assert!(nested(j.get("Event").unwrap(), &mut e));
        assert_eq!(e.get("winlog.event_id"), Some(&Value::Int(4625)));
        assert_eq!(e.get_str("event.code"), Some("4625"));
        assert_eq!(
            e.get_str("winlog.provider_guid"),
            Some("{54849625-5478-4994-A5BA-3E3B0328C30D}")
        );
        assert_eq!(
            e.get("winlog.keywords"),
            Some(&Value::from(vec!["Audit Failure"]))
        );
        assert_eq!(e.get_str("winlog.keywords_raw"), Some("0x8010000000000000"));
        assert_eq!(e.get_str("event.outcome"), Some("failure"));
        assert_eq!(e.get_str("log.level"), Some("information"));
        assert_eq!(e.get_str("winlog.opcode"), Some("Info"));
        assert_eq!(e.get("winlog.event_data.LogonType"), Some(&Value::Int(3)));
        assert_eq!(
            e.get_str("winlog.event_data.LogonProcessName"),
            Some("NtLmSsp ")
        );
        assert_eq!(e.get_str("winlog.event_data.param1"), Some("a"));
        assert_eq!(e.get_str("winlog.event_data.param2"), Some("b"));
        assert_eq!(e.get_str("host.name"), Some("DESKTOP-M5SN04R"));
        assert_eq!(
            e.logsource,
            LogSource::new(Some("windows"), None, Some("security"))
        );
        assert_eq!(e.timestamp.unwrap().timestamp_subsec_micros(), 477878);
    }

    #[test]
    fn user_data_is_flattened() {
        let text = r##"{"Event":{"System":{"EventID":1102,"Channel":"Security"},"UserData":{"LogFileCleared":{"#attributes":{"xmlns":"http://x"},"SubjectUserName":"Sec504","Flags":{"#attributes":{"value":"1"}}}}}}"##;
        let j = parse(text).unwrap();
        let mut e = Event::new();
        assert!(nested(j.get("Event").unwrap(), &mut e));
        assert_eq!(
            e.get_str("winlog.user_data.xml_name"),
            Some("LogFileCleared")
        );
        assert_eq!(
            e.get_str("winlog.user_data.SubjectUserName"),
            Some("Sec504")
        );
        assert_eq!(e.get_str("winlog.user_data.Flags.value"), Some("1"));
        assert!(e.get("winlog.user_data.xmlns").is_none());
    }

    proptest::proptest! {
        /// The hand-written hex reader agrees with std on any text, hex-looking or not.
        #[test]
        fn hex_u64_is_from_str_radix(text in "[+-]?[0-9a-fA-FxX ]{0,20}") {
            proptest::prop_assert_eq!(hex_u64(&text), u64::from_str_radix(&text, 16).ok());
        }

        #[test]
        fn hex_u64_reads_every_mask(mask in proptest::prelude::any::<u64>()) {
            proptest::prop_assert_eq!(hex_u64(&format!("{mask:x}")), Some(mask));
            proptest::prop_assert_eq!(hex_u64(&format!("{mask:016X}")), Some(mask));
        }

        /// The fixed-layout `SystemTime` reader against the general one, on texts in the
        /// layout (impossible dates and times, leap seconds included) and with one byte
        /// changed anywhere: where it gives a time, it is the general reader's (where it gives
        /// none, the general reader reads the text).
        #[test]
        fn evtx_time_is_parse_iso(
            text in "[0-9]{4}-(0[0-9]|1[0-3])-([0-2][0-9]|3[0-2])T([01][0-9]|2[0-4]):[0-6][0-9]:[0-6][0-9]\\.[0-9]{6}Z",
            edit in proptest::option::of((0usize..27, any::<u8>())),
        ) {
            let mut bytes = text.into_bytes();
            if let Some((at, byte)) = edit {
                bytes[at] = byte & 0x7f;
            }
            let text = String::from_utf8(bytes).unwrap_or_default();
            if let Some(fast) = evtx_time(&text) {
                proptest::prop_assert_eq!(Some(fast), time::parse_iso(&text, chrono_tz::UTC));
            }
        }

        /// Every time in the layout, as `evtx_dump` writes it, is read by the fixed-layout reader.
        #[test]
        fn evtx_time_reads_every_time(secs in 0i64..253_402_300_800, micros in 0u32..1_000_000) {
            let t = DateTime::from_timestamp(secs, micros * 1000).unwrap_or_default();
            let text = t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
            proptest::prop_assert_eq!(evtx_time(&text), Some(t));
        }
    }

    /// The System fields of `sys` as an event (what the fast and general walks feed).
    fn system_event(sys: &System<'_>) -> String {
        let mut e = Event::new();
        emit_system(sys, &mut e);
        finish(sys, &mut e, None);
        format!("{e:?}")
    }

    /// A System object in `evtx_dump`'s layout: each optional member present or not, each
    /// field one of `values` (scalars of every JSON kind, escaped strings, and objects or
    /// arrays, which the fast walk must refuse).
    fn evtx_system() -> impl proptest::strategy::Strategy<Value = (String, bool)> {
        use proptest::prelude::*;
        let values = prop::sample::select(vec![
            "4625",
            "0",
            "-7",
            "1e3",
            "0.5",
            "99999999999999999999",
            "\"4624\"",
            "\"\"",
            "\"Security\"",
            "\"Microsoft-Windows-Sysmon/Operational\"",
            "\"a\\\"b\"",
            "\"\\u0041\\ud83d\\ude00\"",
            "\"0x8010000000000000\"",
            "\"0x8020000000000000\"",
            "\"2016-09-19T16:52:49.399674Z\"",
            "\"54849625-5478-4994-A5BA-3E3B0328C30D\"",
            "null",
            "true",
            "false",
            " 12",
            "{}",
            "[1]",
            "{\"#text\":1}",
        ]);
        (prop::collection::vec(values, 20), prop::collection::vec(any::<bool>(), 9))
            .prop_map(|(v, on)| {
                let scalars = v.iter().all(|v| !v.starts_with(['{', '[']));
                let mut t = format!("{{\"Provider\":{{\"#attributes\":{{\"Name\":{}", v[0]);
                if on[0] {
                    t += &format!(",\"Guid\":{}", v[1]);
                }
                if on[1] {
                    t += &format!(",\"EventSourceName\":{}", v[2]);
                }
                t += "}},\"EventID\":";
                if on[2] {
                    t += &format!("{{\"#attributes\":{{\"Qualifiers\":{}}},\"#text\":{}}}", v[3], v[4]);
                } else {
                    t += v[4];
                }
                if on[3] {
                    t += &format!(",\"Version\":{}", v[5]);
                }
                t += &format!(",\"Level\":{},\"Task\":{}", v[6], v[7]);
                if on[4] {
                    t += &format!(",\"Opcode\":{}", v[8]);
                }
                t += &format!(
                    ",\"Keywords\":{},\"TimeCreated\":{{\"#attributes\":{{\"SystemTime\":{}}}}},\"EventRecordID\":{}",
                    v[9], v[10], v[11]
                );
                if on[5] {
                    t += &format!(",\"Correlation\":{{\"#attributes\":{{\"ActivityID\":{}", v[12]);
                    if on[6] {
                        t += &format!(",\"RelatedActivityID\":{}", v[13]);
                    }
                    t += "}}";
                } else if on[6] {
                    t += ",\"Correlation\":null";
                }
                if on[7] {
                    t += &format!(",\"Execution\":{{\"#attributes\":{{\"ProcessID\":{},\"ThreadID\":{}}}}}", v[14], v[15]);
                }
                t += &format!(",\"Channel\":{},\"Computer\":{}", v[16], v[17]);
                if on[8] {
                    t += &format!(",\"Security\":{{\"#attributes\":{{\"UserID\":{}}}}}", v[18]);
                } else if on[0] {
                    t += ",\"Security\":null";
                }
                t += "}";
                (t, scalars)
            })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2048))]

        /// The literal-layout walk of System ([`system_common`]) gives what the general walk
        /// ([`stream_system`]) gives, and stops where it stops; it takes every object in the
        /// layout whose fields are scalars, and hands anything else back (here: the same
        /// text cut, or with a byte inserted: whitespace, punctuation, a letter of a key).
        #[test]
        fn system_layout_walk_equals_the_general_walk(
            (text, scalars) in evtx_system(),
            edit in proptest::prelude::any::<proptest::sample::Index>(),
            how in 0usize..6,
        ) {
            let mut text = text;
            let edited = how > 0;
            if edited {
                let at = edit.index(text.len() + 1);
                match how {
                    1 => text.truncate(at),
                    2 => text.insert(at, ' '),
                    3 => text.insert(at, ','),
                    4 => text.insert(at, 'x'),
                    _ => text.insert_str(at, "\"Level\":1,"),
                }
            }
            let mut slow_reader = Reader::new(&text);
            let mut slow = System::default();
            let general = stream_system(&mut slow_reader, 2, Scope::System, &mut slow);
            let mut fast_reader = Reader::new(&text);
            let mut fast = System::default();
            if system_common(&mut fast_reader, &mut fast) {
                proptest::prop_assert!(general.is_ok(), "{}", text);
                proptest::prop_assert_eq!(fast_reader.position(), slow_reader.position());
                proptest::prop_assert_eq!(system_event(&fast), system_event(&slow), "{}", text);
            } else {
                // The unedited layout with scalar fields is always taken.
                proptest::prop_assert!(edited || !scalars, "{}", text);
            }
        }
    }

    proptest::proptest! {
        /// The event's `#attributes` are skipped ([`skip_xmlns`]) only where the general
        /// reader reads a value, up to the same position; otherwise the reader is back where
        /// it was. The usual `{"xmlns": "..."}` is always skipped.
        #[test]
        fn xmlns_skip_reads_what_the_reader_reads(
            body in "[ a-z\"\\\\:/.{}\\[\\]]{0,12}",
            value in prop::sample::select(vec!["\"http://schemas.microsoft.com/win/2004/08/events/event\"", "\"a\\\"b\"", "1", "null", "{}", "\"x", ""]),
            closing in prop::sample::select(vec!["}", " }", "", "},\"y\":1}", "]"]),
            edit in any::<bool>(),
        ) {
            let text = if edit { format!("{{{body}{closing}") } else { format!("{{\"xmlns\":{value}{closing}") };
            let mut general = Reader::new(&text);
            let read = general.value(2);
            let mut fast = Reader::new(&text);
            if skip_xmlns(&mut fast) {
                prop_assert!(read.is_ok(), "{}", text);
                prop_assert_eq!(fast.position(), general.position());
            } else {
                prop_assert_eq!(fast.position(), 0);
                prop_assert!(edit || !value.starts_with('"') || value.len() < 3 || closing != "}" && closing != "},\"y\":1}", "{}", text);
            }
        }
    }

    proptest::proptest! {
        /// `winlog.keywords` is the list of the mask's standard keyword names, in table order,
        /// static or not (the reference: filter the table, as before the static lists).
        #[test]
        fn keyword_list_names_the_standard_bits(mask in any::<u64>(), bit in 48u32..56, only in any::<bool>()) {
            let mask = if only { (mask & !0x00ff_0000_0000_0000) | 1 << bit } else { mask };
            let expected: Vec<Value> = KEYWORD_NAMES
                .iter()
                .filter(|(b, _)| mask & b != 0)
                .map(|(_, n)| Value::from(*n))
                .collect();
            let expected = (!expected.is_empty()).then(|| Value::List(expected.into()));
            prop_assert_eq!(keyword_list(mask), expected);
        }
    }

    #[test]
    fn hex_mask_is_format_016x() {
        for mask in [0, 1, 0x8020_0000_0000_0000, u64::MAX, 0x0123_4567_89ab_cdef] {
            assert_eq!(hex_mask(mask), format!("0x{mask:016x}"));
        }
    }

    #[test]
    fn flat_shape_fields() {
        let text = r#"{"@version":"1","Keywords":-9214364837600034816,"ThreadID":4888,"Version":1,"host":"wec","Message":"permitted","SourceName":"Microsoft-Windows-Security-Auditing","Channel":"Security","ProviderGuid":"{54849625-5478-4994-A5BA-3E3B0328C30D}","EventID":5156,"RecordNumber":110748,"Hostname":"WORKSTATION5","Category":"Filtering Platform Connection","Opcode":"Info","ProcessID":"116","EventTime":"2020-08-05 02:09:26","@timestamp":"2020-08-05T06:09:29.626Z","EventType":"AUDIT_SUCCESS","tags":["mordorDataset"],"Application":"svchost.exe"}"#;
        let j = parse(text).unwrap();
        let mut e = Event::new();
        flat(&j, chrono_tz::UTC, &mut e);
        assert_eq!(e.get("winlog.event_id"), Some(&Value::Int(5156)));
        assert_eq!(e.get_str("winlog.keywords_raw"), Some("0x8020000000000000"));
        assert_eq!(e.get_str("event.outcome"), Some("success"));
        assert_eq!(
            e.get_str("winlog.task"),
            Some("Filtering Platform Connection")
        );
        assert_eq!(e.get_str("winlog.event_data.ProcessID"), Some("116"));
        assert_eq!(
            e.get_str("winlog.event_data.Application"),
            Some("svchost.exe")
        );
        assert!(e.get("winlog.event_data.EventType").is_none());
        assert!(e.get("winlog.event_data.host").is_none());
        assert_eq!(e.get_str("message"), Some("permitted"));
        assert!(e.has_tag("mordorDataset"));
        assert_eq!(
            e.timestamp.unwrap().to_rfc3339(),
            "2020-08-05T06:09:29.626+00:00"
        );
        // Sysmon's own EventType is EventData and picks the registry category.
        let j = parse(r#"{"EventID":12,"Channel":"Microsoft-Windows-Sysmon/Operational","EventType":"DeleteKey"}"#).unwrap();
        let mut e = Event::new();
        flat(&j, chrono_tz::UTC, &mut e);
        assert_eq!(e.get_str("winlog.event_data.EventType"), Some("DeleteKey"));
        assert_eq!(e.logsource.category.as_deref(), Some("registry_delete"));
    }
}
