//! Helpers shared by the `correlate_*` tests (included with `#[path]`; as a test target of its
//! own it only checks that the helpers read the specification's multi-document example).
#![allow(dead_code)]

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use compact_str::CompactString;
use siem_core::alert::Alert;
use siem_core::correlate::{
    BaseRule, CorrelationSet, Correlator, CorrelatorConfig, Detection, ResolvedRule,
};
use siem_core::event::{Event, LogSource};
use siem_core::sigma::correlation::{CorrelationError, CorrelationRule};
use siem_core::sigma::{Level, RuleMeta, Status};

/// The YAML documents of a (multi-document) text.
pub fn documents(text: &str) -> Vec<yaml_serde::Value> {
    let mut out = Vec::new();
    for de in yaml_serde::Deserializer::from_str(text) {
        let value = <yaml_serde::Value as serde::Deserialize>::deserialize(de).expect("valid YAML");
        if !value.is_null() {
            out.push(value);
        }
    }
    out
}

fn string(doc: &yaml_serde::Value, key: &str) -> Option<String> {
    doc.get(key).and_then(|v| v.as_str()).map(str::to_string)
}

fn strings(doc: &yaml_serde::Value, key: &str) -> Vec<String> {
    match doc.get(key) {
        Some(yaml_serde::Value::String(s)) => vec![s.clone()],
        Some(yaml_serde::Value::Sequence(items)) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// The metadata of a rule document, read directly (the correlation tests build rules whose
/// detection part is irrelevant, so they do not go through the Sigma loader).
pub fn meta_of(doc: &yaml_serde::Value, path: Option<&str>) -> RuleMeta {
    let logsource = doc.get("logsource");
    let part = |k: &str| logsource.and_then(|l| l.get(k)).and_then(|v| v.as_str());
    RuleMeta {
        id: string(doc, "id").unwrap_or_default().into(),
        name: string(doc, "name").map(CompactString::from),
        title: string(doc, "title").unwrap_or_default(),
        description: string(doc, "description"),
        level: string(doc, "level").and_then(|l| Level::parse(&l)),
        status: string(doc, "status").and_then(|s| Status::parse(&s)),
        tags: strings(doc, "tags")
            .into_iter()
            .map(CompactString::from)
            .collect(),
        references: strings(doc, "references"),
        falsepositives: strings(doc, "falsepositives"),
        author: string(doc, "author"),
        date: string(doc, "date").map(CompactString::from),
        modified: string(doc, "modified").map(CompactString::from),
        logsource: LogSource::new(part("product"), part("category"), part("service")),
        path: path.map(str::to_string),
        ..RuleMeta::default()
    }
}

/// The rules of some YAML files: correlation rules parsed, detection rules kept as metadata
/// (their detection logic is the `sigma` branch's business; tests decide matches themselves).
#[derive(Default)]
pub struct Loaded {
    pub correlations: Vec<CorrelationRule>,
    pub detections: Vec<RuleMeta>,
}

impl Loaded {
    pub fn from_text(text: &str, path: Option<&str>) -> Result<Loaded, CorrelationError> {
        let mut loaded = Loaded::default();
        loaded.add(text, path)?;
        Ok(loaded)
    }

    pub fn add(&mut self, text: &str, path: Option<&str>) -> Result<(), CorrelationError> {
        for doc in documents(text) {
            let meta = meta_of(&doc, path);
            if doc.get("correlation").is_some() {
                self.correlations
                    .push(CorrelationRule::from_yaml(meta, &doc)?);
            } else {
                self.detections.push(meta);
            }
        }
        Ok(())
    }

    /// The index of a detection rule by id or name.
    pub fn detection(&self, reference: &str) -> Option<u32> {
        self.detections
            .iter()
            .position(|m| m.id == reference || m.name.as_deref() == Some(reference))
            .map(|i| i as u32)
    }

    /// A correlation set resolving detection rules by id or name (with their ids for alerts).
    pub fn set(&self) -> Arc<CorrelationSet> {
        let set = CorrelationSet::build(self.correlations.clone(), |r: &str| {
            self.detection(r).map(|i| ResolvedRule {
                index: i,
                id: self.detections[i as usize].id.clone(),
            })
        })
        .expect("the rules resolve");
        Arc::new(set)
    }

    /// The dense base index of a detection rule by id or name.
    pub fn base(&self, set: &CorrelationSet, reference: &str) -> BaseRule {
        let index = self
            .detection(reference)
            .unwrap_or_else(|| panic!("no detection rule {reference}"));
        set.base_rule(index)
            .unwrap_or_else(|| panic!("no correlation refers to {reference}"))
    }
}

/// 2024-05-01 10:00:00 UTC plus `seconds`.
pub fn at(seconds: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 1, 10, 0, 0).unwrap() + chrono::Duration::seconds(seconds)
}

/// An event at `seconds` with the given fields.
pub fn event(seconds: i64, fields: &[(&str, &str)]) -> Event {
    let mut e = Event::new();
    e.timestamp = Some(at(seconds));
    for (k, v) in fields {
        e.insert(*k, *v);
    }
    e
}

/// Runs detections `(rule, event)` through a fresh correlator (arrival = event time, or the
/// last arrival for events without one), then flushes.
pub fn run(
    set: &Arc<CorrelationSet>,
    config: CorrelatorConfig,
    detections: &[(BaseRule, Event)],
) -> Vec<Alert> {
    let mut correlator = Correlator::new(set.clone(), config);
    let mut alerts = Vec::new();
    let mut arrival = at(0);
    for (rule, event) in detections {
        if let Some(t) = event.timestamp {
            arrival = arrival.max(t);
        }
        alerts.extend(correlator.process(&Detection::new(*rule, event, arrival)));
    }
    alerts.extend(correlator.flush());
    alerts
}

#[test]
fn the_specification_chain_loads() {
    let corpus = siem_testkit::corpus("sigma-specification");
    let path = corpus
        .join("extracted-examples/correlation/16_failed_logins_followed_by_successful_login.yml");
    let text = std::fs::read_to_string(&path).unwrap();
    let loaded = Loaded::from_text(&text, Some("16.yml")).unwrap();
    assert_eq!(loaded.correlations.len(), 2);
    assert_eq!(loaded.detections.len(), 2);
    assert_eq!(loaded.detection("failed_login"), Some(0));
    assert_eq!(
        loaded.detection("4d0a2c83-c62c-4ed4-b475-c7e23a9269b8"),
        Some(1)
    );
}
