//! SigmaHQ's Windows rules on real Windows events.
//!
//! Until the Windows event parser lands, this file carries a small test-only loader (the same
//! one the `sigma_match` bench uses): it reads `evtx_dump`-shaped JSON, names `Event.System.*`
//! and `Event.EventData.*` fields the way the Sigma taxonomy does (`EventID`, `Channel`,
//! `Provider_Name`, `CommandLine`, ...) and derives the logsource from the channel and, for
//! Sysmon, the event id (as SigmaHQ's `tests/thor.yml` does).

use std::path::Path;

use siem_core::event::{Event, LogSource, Value};
use siem_core::sigma::{RuleId, RuleSet};

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

/// An `evtx_dump` JSON record as a Sigma-taxonomy event.
pub fn windows_event(json: &serde_json::Value) -> Option<Event> {
    let root = json.get("Event")?;
    let system = root.get("System")?.as_object()?;
    let mut event = Event::new();
    for (key, value) in system {
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
    event.timestamp = event
        .get_str("TimeCreated_SystemTime")
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&chrono::Utc));
    let id = match event.get("EventID") {
        Some(Value::Int(i)) => *i,
        Some(Value::Str(s)) => s.parse().unwrap_or(-1),
        _ => -1,
    };
    let channel = event.get_str("Channel").unwrap_or_default().to_string();
    let (service, category) = match channel.as_str() {
        "Microsoft-Windows-Sysmon/Operational" => (Some("sysmon"), sysmon_category(id, &event)),
        "Security" => (Some("security"), None),
        "System" => (Some("system"), None),
        "Application" => (Some("application"), None),
        "Microsoft-Windows-PowerShell/Operational" | "PowerShellCore/Operational" => (
            Some("powershell"),
            match id {
                4104 => Some("ps_script"),
                4103 => Some("ps_module"),
                _ => None,
            },
        ),
        "Windows PowerShell" => (
            Some("powershell-classic"),
            match id {
                400 => Some("ps_classic_start"),
                600 => Some("ps_classic_provider_start"),
                800 => Some("ps_classic_script"),
                _ => None,
            },
        ),
        "Microsoft-Windows-TaskScheduler/Operational" => (Some("taskscheduler"), None),
        "Microsoft-Windows-WMI-Activity/Operational" => (Some("wmi"), None),
        "Microsoft-Windows-Windows Defender/Operational" => (Some("windefend"), None),
        "Microsoft-Windows-Bits-Client/Operational" => (Some("bits-client"), None),
        "Microsoft-Windows-DNS-Client/Operational" => (Some("dns-client"), None),
        "Microsoft-Windows-NTLM/Operational" => (Some("ntlm"), None),
        "Microsoft-Windows-CodeIntegrity/Operational" => (Some("codeintegrity-operational"), None),
        "Microsoft-Windows-Windows Firewall With Advanced Security/Firewall" => {
            (Some("firewall-as"), None)
        }
        "Microsoft-Windows-AppLocker/EXE and DLL"
        | "Microsoft-Windows-AppLocker/MSI and Script" => (Some("applocker"), None),
        "Microsoft-Windows-TerminalServices-LocalSessionManager/Operational" => {
            (Some("terminalservices-localsessionmanager"), None)
        }
        _ => (None, None),
    };
    event.logsource = LogSource::new(Some("windows"), category, service);
    Some(event)
}

/// Every JSON document of a file (JSON Lines, or several concatenated documents).
pub fn json_documents(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap();
    serde_json::Deserializer::from_str(&text)
        .into_iter::<serde_json::Value>()
        .map(|v| v.unwrap())
        .collect()
}

fn windows_rules() -> RuleSet {
    let root = siem_testkit::corpus("sigma");
    let mut builder = RuleSet::builder();
    let mut stack = vec![
        root.join("rules/windows"),
        root.join("rules-emerging-threats"),
        root.join("rules-threat-hunting/windows"),
    ];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "yml") {
                let rel = path.strip_prefix(&root).unwrap().display().to_string();
                builder.add_yaml(&std::fs::read_to_string(&path).unwrap(), Some(&rel));
            }
        }
    }
    builder.build().0
}

/// SigmaHQ's regression data: each tested rule must fire on its own recorded event. Events from
/// the Sysmon channel need no field mapping, so they are checked here with routing on; the
/// others (Security 4688 as process creation and the like) need a processing pipeline.
#[test]
fn regression_events_fire_their_rules() {
    let root = siem_testkit::corpus("sigma");
    let rules = windows_rules();
    let index = std::fs::read_to_string(root.join("REGRESSION_INDEX.tsv")).unwrap();
    let (mut checked, mut failed) = (0, Vec::new());
    for line in index.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let (rule_id, json_path) = (cols[1], cols[4]);
        let Some(id) = rules.lookup(rule_id) else {
            continue;
        };
        let events: Vec<Event> = json_documents(&root.join(json_path))
            .iter()
            .filter_map(windows_event)
            .collect();
        if events
            .iter()
            .any(|e| e.get_str("Channel") != Some("Microsoft-Windows-Sysmon/Operational"))
        {
            continue;
        }
        checked += 1;
        let fired = events
            .iter()
            .filter(|e| rules.matches(e).contains(&id))
            .count();
        let min: usize = cols[5].parse().unwrap_or(1);
        if fired < min {
            failed.push(format!(
                "{} ({rule_id}): fired on {fired} of {} events, expected {min}",
                cols[0],
                events.len()
            ));
        }
    }
    println!("{checked} regression cases checked");
    assert!(checked >= 190, "only {checked} regression cases found");
    assert!(
        failed.is_empty(),
        "{} failures:\n{}",
        failed.len(),
        failed.join("\n")
    );
}

/// Chainsaw's sample: `EventID: 4624` selects exactly records 31794 and 31799.
#[test]
fn chainsaw_sample_selects_exactly_the_two_logons() {
    let path = siem_testkit::corpus_file("chainsaw-tests", "tests/evtx/security_sample.jsonl");
    let (rules, errors) = RuleSet::builder()
        .add_yaml(
            "title: any logon\nid: logon\nlogsource: {product: windows, service: security}\ndetection:\n  sel:\n    EventID: 4624\n  condition: sel\n",
            None,
        )
        .build();
    assert!(errors.is_empty());
    let records: Vec<i64> = json_documents(&path)
        .iter()
        .filter_map(windows_event)
        .filter(|e| !rules.matches(e).is_empty())
        .filter_map(|e| e.get("EventRecordID").and_then(Value::as_i64))
        .collect();
    assert_eq!(records, [31794, 31799]);
}

/// On real events, the prefiltered result equals evaluating every routed rule.
#[test]
fn prefilter_agrees_with_exhaustive_evaluation_on_real_events() {
    let rules = windows_rules();
    let root = siem_testkit::corpus("windows-evtx-json");
    let mut files = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "jsonl") {
                files.push(path);
            }
        }
    }
    files.sort();
    let (mut events, mut hits) = (0usize, 0usize);
    let mut fired: std::collections::BTreeSet<RuleId> = Default::default();
    for file in files.iter().step_by(3) {
        for doc in json_documents(file).iter().step_by(7) {
            let Some(event) = windows_event(doc) else {
                continue;
            };
            let fast = rules.matches(&event);
            assert_eq!(
                fast,
                rules.matches_exhaustive(&event),
                "{}: {}",
                file.display(),
                event.to_json()
            );
            events += 1;
            hits += fast.len();
            fired.extend(fast);
        }
    }
    println!(
        "{events} events, {hits} detections, {} distinct rules fired",
        fired.len()
    );
    assert!(events > 1000 && hits > 0);
}
