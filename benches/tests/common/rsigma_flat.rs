//! How the RSigma comparisons (the differential test and the `scan_windows` bench) feed
//! RSigma: an `evtx_dump` record flattened to taxonomy-named top-level keys, and the logsource
//! siem's router would give it. See `docs/rsigma-differences.md`.

use serde_json::{Map, Value};

fn text_of(v: &Value) -> Option<Value> {
    match v {
        Value::Object(o) => o.get("#text").cloned(),
        other => Some(other.clone()),
    }
}

fn int_of(v: &Value) -> Option<i64> {
    match text_of(v)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A flattened record: the object, its channel, event id and Sysmon `EventType`.
pub type Flat = (Value, Option<String>, Option<i64>, Option<String>);

/// An `evtx_dump` record as the flat, taxonomy-named object Sigma tools feed RSigma, plus the
/// channel, event id and Sysmon `EventType` routing needs.
pub fn flatten(doc: &Value) -> Option<Flat> {
    let event = doc.get("Event")?;
    let system = event.get("System")?.as_object()?;
    let mut flat = Map::new();
    let eid = system.get("EventID").and_then(int_of);
    if let Some(id) = eid {
        flat.insert("EventID".into(), Value::from(id));
    }
    let channel = system
        .get("Channel")
        .and_then(|c| c.as_str())
        .map(str::to_string);
    if let Some(c) = &channel {
        flat.insert("Channel".into(), Value::from(c.as_str()));
    }
    if let Some(p) = event.pointer("/System/Provider/#attributes/Name") {
        flat.insert("Provider_Name".into(), p.clone());
    }
    for key in [
        "Computer",
        "EventRecordID",
        "Level",
        "Keywords",
        "Task",
        "Opcode",
        "Version",
    ] {
        if let Some(v) = system.get(key).and_then(text_of)
            && !v.is_null()
        {
            flat.insert(key.into(), v);
        }
    }
    let data = |obj: &Map<String, Value>, flat: &mut Map<String, Value>| {
        for (k, v) in obj {
            if k.starts_with('#') {
                continue;
            }
            let value = if k == "Data" {
                match v {
                    Value::Array(items) => Value::Array(items.iter().filter_map(text_of).collect()),
                    other => text_of(other).unwrap_or(Value::Null),
                }
            } else {
                text_of(v).unwrap_or(Value::Null)
            };
            if k.contains(' ') {
                flat.entry(k.replace(' ', ""))
                    .or_insert_with(|| value.clone());
            }
            flat.entry(k.clone()).or_insert(value);
        }
    };
    match event.get("EventData") {
        Some(Value::Object(o)) => data(o, &mut flat),
        Some(Value::Array(items)) => {
            let mut obj = Map::new();
            obj.insert("Data".into(), Value::Array(items.clone()));
            data(&obj, &mut flat);
        }
        _ => {}
    }
    if let Some(Value::Object(user_data)) = event.get("UserData") {
        for v in user_data.values() {
            if let Value::Object(o) = v {
                data(o, &mut flat);
            }
        }
    }
    let event_type = flat
        .get("EventType")
        .and_then(|v| v.as_str())
        .map(str::to_string);
    Some((Value::Object(flat), channel, eid, event_type))
}

pub fn rsigma_logsource(
    ls: &siem_core::LogSource,
    category: Option<&str>,
) -> rsigma_parser::LogSource {
    rsigma_parser::LogSource {
        category: category.map(str::to_string),
        product: ls.product.as_ref().map(|s| s.to_string()),
        service: ls.service.as_ref().map(|s| s.to_string()),
        ..Default::default()
    }
}

/// The categories whose events siem's router also gives to `registry_event` rules.
pub fn implied(category: Option<&str>) -> Option<&'static str> {
    match category {
        Some("registry_add" | "registry_delete" | "registry_set" | "registry_rename") => {
            Some("registry_event")
        }
        _ => None,
    }
}
