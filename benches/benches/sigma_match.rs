//! Sigma matching throughput: SigmaHQ's Windows rules (`rules/windows`, emerging threats,
//! Windows threat hunting) over the 26k real events of `windows-evtx-json/`.
//!
//! `cargo bench -p siem-benches --bench sigma_match`
//!
//! Until the Windows event parser lands on main, events are read with a small bench-only
//! loader (the same as in `siem-core/tests/sigma_windows_events.rs`): `Event.System.*` and
//! `Event.EventData.*` become fields named like the Sigma taxonomy (`EventID`, `Channel`,
//! `Provider_Name`, `CommandLine`), and the logsource comes from the channel and, for Sysmon,
//! the event id.

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use siem_core::event::{Event, LogSource, Value};
use siem_core::sigma::{MatchScratch, RuleSet};

fn scalar(value: &serde_json::Value) -> Value {
    match value {
        serde_json::Value::Object(o) => o.get("#text").map(scalar).unwrap_or(Value::Null),
        other => Value::from_json(other.clone()),
    }
}

fn leaves(prefix: Option<&str>, value: &serde_json::Value, event: &mut Event) {
    match value {
        serde_json::Value::Object(o) if !o.contains_key("#text") => {
            for (k, v) in o {
                if k != "#attributes" {
                    leaves(Some(k), v, event);
                }
            }
        }
        other => {
            if let Some(name) = prefix {
                event.insert(name, scalar(other));
            }
        }
    }
}

fn sysmon_category(id: i64, event: &Event) -> Option<&'static str> {
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
        12 => match event.get_str("EventType") {
            Some("CreateKey") => "registry_add",
            _ => "registry_delete",
        },
        13 => "registry_set",
        14 => "registry_rename",
        15 => "create_stream_hash",
        17 | 18 => "pipe_created",
        19..=21 => "wmi_event",
        22 => "dns_query",
        23 => "file_delete",
        25 => "process_tampering",
        26 => "file_delete_detected",
        _ => return None,
    })
}

fn windows_event(json: &serde_json::Value) -> Option<Event> {
    let root = json.get("Event")?;
    let mut event = Event::new();
    for (key, value) in root.get("System")?.as_object()? {
        match value {
            serde_json::Value::Object(o) => {
                if let Some(serde_json::Value::Object(attrs)) = o.get("#attributes") {
                    for (attr, v) in attrs {
                        event.insert(format!("{key}_{attr}"), scalar(v));
                    }
                }
                if let Some(text) = o.get("#text") {
                    event.insert(key.as_str(), scalar(text));
                }
            }
            other => event.insert(key.as_str(), scalar(other)),
        }
    }
    for section in ["EventData", "UserData"] {
        if let Some(data) = root.get(section) {
            leaves(None, data, &mut event);
        }
    }
    let id = match event.get("EventID") {
        Some(Value::Int(i)) => *i,
        Some(Value::Str(s)) => s.parse().unwrap_or(-1),
        _ => -1,
    };
    let (service, category) = match event.get_str("Channel").unwrap_or_default() {
        "Microsoft-Windows-Sysmon/Operational" => (Some("sysmon"), sysmon_category(id, &event)),
        "Security" => (Some("security"), None),
        "System" => (Some("system"), None),
        "Application" => (Some("application"), None),
        "Microsoft-Windows-PowerShell/Operational" => (
            Some("powershell"),
            match id {
                4104 => Some("ps_script"),
                4103 => Some("ps_module"),
                _ => None,
            },
        ),
        "Windows PowerShell" => (
            Some("powershell-classic"),
            (id == 400).then_some("ps_classic_start"),
        ),
        "Microsoft-Windows-TaskScheduler/Operational" => (Some("taskscheduler"), None),
        "Microsoft-Windows-WMI-Activity/Operational" => (Some("wmi"), None),
        "Microsoft-Windows-Windows Defender/Operational" => (Some("windefend"), None),
        _ => (None, None),
    };
    event.logsource = LogSource::new(Some("windows"), category, service);
    Some(event)
}

fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == ext) {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn rule_texts() -> Vec<(String, String)> {
    let root = siem_testkit::corpus("sigma");
    [
        "rules/windows",
        "rules-emerging-threats",
        "rules-threat-hunting/windows",
    ]
    .iter()
    .flat_map(|d| files(&root.join(d), "yml"))
    .map(|p| {
        (
            p.display().to_string(),
            std::fs::read_to_string(&p).unwrap(),
        )
    })
    .collect()
}

fn build(texts: &[(String, String)]) -> RuleSet {
    let mut builder = RuleSet::builder();
    for (path, text) in texts {
        builder.add_yaml(text, Some(path));
    }
    builder.build().0
}

fn events() -> Vec<Event> {
    let root = siem_testkit::corpus("windows-evtx-json");
    files(&root, "jsonl")
        .iter()
        .flat_map(|p| {
            let text = std::fs::read_to_string(p).unwrap();
            serde_json::Deserializer::from_str(&text)
                .into_iter::<serde_json::Value>()
                .filter_map(|v| v.ok().as_ref().and_then(windows_event))
                .collect::<Vec<_>>()
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let texts = rule_texts();
    let rules = build(&texts);
    let events = events();
    let detections: usize = events.iter().map(|e| rules.matches(e).len()).sum();
    eprintln!(
        "{} rules, {} events, {} detections",
        rules.len(),
        events.len(),
        detections
    );
    eprintln!("prefilter: {:?}", rules.prefilter_stats());

    let mut group = c.benchmark_group("sigma_match");
    group.throughput(Throughput::Elements(events.len() as u64));
    group.sample_size(20);
    group.bench_function("windows_rules/evtx_events", |b| {
        let mut scratch = MatchScratch::new();
        let mut out = Vec::new();
        b.iter(|| {
            let mut n = 0;
            for event in &events {
                rules.matches_into(black_box(event), &mut scratch, &mut out);
                n += out.len();
            }
            n
        })
    });
    group.bench_function("windows_rules/evtx_events/no_prefilter", |b| {
        b.iter(|| {
            events
                .iter()
                .map(|e| rules.matches_exhaustive(black_box(e)).len())
                .sum::<usize>()
        })
    });
    group.finish();

    let mut group = c.benchmark_group("sigma_compile");
    group.throughput(Throughput::Elements(texts.len() as u64));
    group.sample_size(10);
    group.bench_function("windows_rules", |b| {
        b.iter(|| build(black_box(&texts)).len())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
