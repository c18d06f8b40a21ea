//! Alerts: what the engine reports, in the one JSON shape every front end shares.
//!
//! An [`Alert`] is either a **detection** (one event matched one rule) or a **correlation**
//! (a Sigma correlation rule's condition held over a window of detections). Its JSON, from
//! [`Alert::to_json`], is exactly what `siem scan --output jsonl` prints, what Python's
//! `Alert.to_dict()` returns and what Node receives:
//!
//! ```text
//! {"@timestamp": "...", "kind": "detection" | "correlation",
//!  "rule": {"id": "...", "title": "...", "level": "...", "tags": [...], ...},
//!  "event": {...ECS...},                       // detection
//!  "group": {"source.ip": "203.0.113.7"},      // correlation; {} without group-by
//!  "value": 8, "window": {"start": "...", "end": "..."}, "rules": ["..."], "events": [...]}
//! ```
//!
//! For a correlation alert ([`crate::correlate`]): `@timestamp` is the time of the detection
//! that completed the window (`window.end`); `group` maps each `group-by` name, as written in
//! the rule, to its value (`null` when the events lacked the field); `value` is the measured
//! value (an integer for event, distinct-value and rule counts and exact integer sums, else a
//! float); `rules` names the referenced rules that contributed (by id, else as referenced);
//! `events` is a bounded sample of the window's newest events, oldest first. When the times
//! involved are arrival times (the events carried no usable timestamp), the alert ends with
//! `"timestamp_source":"arrival"`; this holds for detections too.
//!
//! What reaches the sinks is decided by the alert lifecycle in [`policy`]: suppression of
//! repeats, a cooldown per rule and a cap on alerts per hour.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use compact_str::CompactString;

use crate::event::{Event, Value, format_timestamp, write_json_string, write_json_value};
use crate::sigma::RuleMeta;

pub mod policy;

/// Whether an alert comes from a single event or from a correlation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlertKind {
    /// One event matched a detection rule.
    Detection,
    /// A correlation rule's condition held over a window.
    Correlation,
}

impl AlertKind {
    /// `"detection"` or `"correlation"`.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::Detection => "detection",
            AlertKind::Correlation => "correlation",
        }
    }
}

/// The time span a correlation alert covers: its first and last contributing events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Timestamp of the first contributing event.
    pub start: DateTime<Utc>,
    /// Timestamp of the last contributing event.
    pub end: DateTime<Utc>,
}

/// An alert. See the [module docs](self) for its JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// When it happened: the matching event's time for a detection, the window's end for a
    /// correlation.
    pub timestamp: DateTime<Utc>,
    /// Detection or correlation.
    pub kind: AlertKind,
    /// The rule that raised it.
    pub rule: Arc<RuleMeta>,
    /// The matching event (detections).
    pub event: Option<Event>,
    /// The correlation's group: each `group-by` field, as written in the rule, to its value
    /// (correlations; empty without `group-by`).
    pub group: Vec<(CompactString, Value)>,
    /// The measured value: count, distinct count, sum, average or percentile (correlations).
    pub value: Option<Value>,
    /// The window's first and last timestamps (correlations).
    pub window: Option<Window>,
    /// Ids (or names, for rules without an id) of the contributing rules (correlations).
    pub rules: Vec<CompactString>,
    /// A bounded sample of the contributing events (correlations).
    pub events: Vec<Event>,
    /// True when some contributing event had no timestamp and its arrival time was used.
    pub arrival_time: bool,
}

impl Alert {
    /// A detection alert for `event` matching `rule`, timed at the event's timestamp or `now`.
    pub fn detection(rule: Arc<RuleMeta>, event: Event, now: DateTime<Utc>) -> Alert {
        let arrival_time = event.timestamp.is_none();
        Alert {
            timestamp: event.timestamp.unwrap_or(now),
            kind: AlertKind::Detection,
            rule,
            event: Some(event),
            group: Vec::new(),
            value: None,
            window: None,
            rules: Vec::new(),
            events: Vec::new(),
            arrival_time,
        }
    }

    /// The alert as one line of JSON (the `siem scan --output jsonl` shape).
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(512);
        self.write_json(&mut out);
        out
    }

    /// Appends [`Alert::to_json`] to `out`.
    pub fn write_json(&self, out: &mut String) {
        out.push_str("{\"@timestamp\":");
        write_json_string(out, &format_timestamp(self.timestamp));
        out.push_str(",\"kind\":");
        write_json_string(out, self.kind.as_str());
        out.push_str(",\"rule\":");
        write_rule(out, &self.rule);
        if let Some(event) = &self.event {
            out.push_str(",\"event\":");
            event.write_json(out);
        }
        if self.kind == AlertKind::Correlation {
            out.push_str(",\"group\":{");
            for (i, (name, value)) in self.group.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_string(out, name);
                out.push(':');
                write_json_value(out, value);
            }
            out.push('}');
            if let Some(value) = &self.value {
                out.push_str(",\"value\":");
                write_json_value(out, value);
            }
            if let Some(window) = &self.window {
                out.push_str(",\"window\":{\"start\":");
                write_json_string(out, &format_timestamp(window.start));
                out.push_str(",\"end\":");
                write_json_string(out, &format_timestamp(window.end));
                out.push('}');
            }
            out.push_str(",\"rules\":[");
            for (i, id) in self.rules.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_string(out, id);
            }
            out.push_str("],\"events\":[");
            for (i, event) in self.events.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                event.write_json(out);
            }
            out.push(']');
        }
        if self.arrival_time {
            out.push_str(",\"timestamp_source\":\"arrival\"");
        }
        out.push('}');
    }

    /// The alert as a `serde_json` value (same shape as [`Alert::to_json`]).
    pub fn to_json_value(&self) -> serde_json::Value {
        serde_json::from_str(&self.to_json()).expect("siem writes valid JSON")
    }
}

fn write_rule(out: &mut String, rule: &RuleMeta) {
    out.push_str("{\"id\":");
    write_json_string(out, &rule.id);
    if let Some(name) = &rule.name {
        out.push_str(",\"name\":");
        write_json_string(out, name);
    }
    out.push_str(",\"title\":");
    write_json_string(out, &rule.title);
    out.push_str(",\"level\":");
    write_json_string(out, rule.level.unwrap_or_default().as_str());
    out.push_str(",\"tags\":[");
    for (i, tag) in rule.tags.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_json_string(out, tag);
    }
    out.push(']');
    if let Some(status) = rule.status {
        out.push_str(",\"status\":");
        write_json_string(out, status.as_str());
    }
    if let Some(author) = &rule.author {
        out.push_str(",\"author\":");
        write_json_string(out, author);
    }
    if let Some(path) = &rule.path {
        out.push_str(",\"path\":");
        write_json_string(out, path);
    }
    out.push('}');
}

impl serde::Serialize for Alert {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let raw = serde_json::value::RawValue::from_string(self.to_json())
            .map_err(serde::ser::Error::custom)?;
        raw.serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn detection_json_has_the_contract_shape() {
        let rule = Arc::new(RuleMeta {
            id: "5b2d0a4e-0000-4000-8000-000000000001".into(),
            title: "Failed SSH login".into(),
            level: Some(crate::sigma::Level::High),
            tags: vec!["attack.t1110".into()],
            ..RuleMeta::default()
        });
        let mut event = Event::new();
        event.timestamp = Some(Utc.with_ymd_and_hms(2024, 5, 1, 10, 0, 0).unwrap());
        event.insert("source.ip", "203.0.113.7");
        let alert = Alert::detection(rule, event, Utc::now());
        assert_eq!(
            alert.to_json(),
            r#"{"@timestamp":"2024-05-01T10:00:00Z","kind":"detection","rule":{"id":"5b2d0a4e-0000-4000-8000-000000000001","title":"Failed SSH login","level":"high","tags":["attack.t1110"]},"event":{"@timestamp":"2024-05-01T10:00:00Z","source":{"ip":"203.0.113.7"}}}"#
        );
    }

    #[test]
    fn correlation_json_has_the_contract_shape() {
        let rule = Arc::new(RuleMeta {
            id: "887f757e-f4b1-4392-9ee2-4ffb42217147".into(),
            title: "SSH Brute Force From One Address".into(),
            level: Some(crate::sigma::Level::High),
            ..RuleMeta::default()
        });
        let t = |s| Utc.with_ymd_and_hms(2024, 5, 1, 10, 0, s).unwrap();
        let mut event = Event::new();
        event.timestamp = Some(t(9));
        event.insert("source.ip", "203.0.113.7");
        let alert = Alert {
            timestamp: t(9),
            kind: AlertKind::Correlation,
            rule,
            event: None,
            group: vec![
                ("source.ip".into(), Value::from("203.0.113.7")),
                ("user.name".into(), Value::Null),
            ],
            value: Some(Value::Int(5)),
            window: Some(Window {
                start: t(1),
                end: t(9),
            }),
            rules: vec!["04d59082-29c9-4301-985b-e8698ef25e5a".into()],
            events: vec![event],
            arrival_time: false,
        };
        assert_eq!(
            alert.to_json(),
            concat!(
                r#"{"@timestamp":"2024-05-01T10:00:09Z","kind":"correlation","#,
                r#""rule":{"id":"887f757e-f4b1-4392-9ee2-4ffb42217147","title":"SSH Brute Force From One Address","level":"high","tags":[]},"#,
                r#""group":{"source.ip":"203.0.113.7","user.name":null},"value":5,"#,
                r#""window":{"start":"2024-05-01T10:00:01Z","end":"2024-05-01T10:00:09Z"},"#,
                r#""rules":["04d59082-29c9-4301-985b-e8698ef25e5a"],"#,
                r#""events":[{"@timestamp":"2024-05-01T10:00:09Z","source":{"ip":"203.0.113.7"}}]}"#
            )
        );
        assert_eq!(
            alert.to_json_value()["group"]["user.name"],
            serde_json::Value::Null
        );
    }

    #[test]
    fn detection_without_timestamp_says_arrival_time_was_used() {
        let now = Utc.with_ymd_and_hms(2024, 5, 1, 10, 0, 0).unwrap();
        let alert = Alert::detection(Arc::new(RuleMeta::default()), Event::new(), now);
        assert_eq!(alert.timestamp, now);
        assert!(
            alert
                .to_json()
                .ends_with(r#","timestamp_source":"arrival"}"#)
        );
    }
}
