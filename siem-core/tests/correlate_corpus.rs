//! Correlation on real attack data.
//!
//! - Hayabusa's three Sigma correlation rules on DeepBlueCLI's Windows event logs: PW Guessing
//!   must fire for the attacking source (192.168.198.149 / Administrator) and for no other
//!   group, PW Spray must fire for 172.16.144.128, and no rule fires on the other files.
//!
//! The detection step (a Sigma rule matching an event with Hayabusa's field mapping) is a small
//! stand-in written for these rules, so that the test exercises the correlator on the real
//! event streams. The CrowdSec ssh scenarios and the example rules run end to end, through the
//! real parsers, rule compiler and engine, in `engine_e2e.rs`.

#[path = "correlate_util.rs"]
mod util;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use chrono::{DateTime, Utc};
use siem_core::alert::Alert;
use siem_core::correlate::{CorrelatorConfig, Detection};
use siem_core::event::{Event, Value};
use util::Loaded;

// ---------------------------------------------------------------------------------------------
// Hayabusa on DeepBlueCLI

/// Hayabusa's `eventkey_alias.txt`: Sigma field name → path in evtx_dump JSON.
fn aliases() -> Vec<(String, String)> {
    let path = siem_testkit::corpus_file("hayabusa-rules", "config/eventkey_alias.txt");
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once(','))
        .map(|(a, p)| (a.trim().to_string(), p.trim().to_string()))
        .collect()
}

/// An evtx_dump record as the event a Sigma rule sees: Hayabusa's field names, `@timestamp`
/// from `System.TimeCreated`.
fn windows_event(line: &str, aliases: &[(String, String)]) -> Event {
    let raw = Event::from_json(line).expect("evtx JSON");
    let mut e = Event::new();
    let ts = raw
        .get_str("Event.System.TimeCreated.#attributes.SystemTime")
        .expect("SystemTime");
    e.timestamp = Some(
        DateTime::parse_from_rfc3339(ts)
            .unwrap()
            .with_timezone(&Utc),
    );
    for (alias, path) in aliases {
        // EventID may be `{"#attributes": {...}, "#text": 4625}`.
        let value = raw.get(path).or_else(|| raw.get(&format!("{path}.#text")));
        if let Some(v) = value {
            e.insert(alias.as_str(), v.clone());
        }
    }
    e
}

fn text<'a>(e: &'a Event, f: &str) -> std::borrow::Cow<'a, str> {
    e.get(f).map(Value::to_text).unwrap_or_default()
}

/// The three Hayabusa base rules' detections, written out (the `sigma` branch compiles them).
fn hayabusa_match(rule: &str, e: &Event) -> bool {
    let security = text(e, "Channel") == "Security";
    match rule {
        // selection: EventID 4625, SubStatus 0xc000006a; filter: IpAddress "-" or
        // TargetUserName|endswith "$".
        "incorrect_password" => {
            security
                && text(e, "EventID") == "4625"
                && text(e, "SubStatus") == "0xc000006a"
                && text(e, "IpAddress") != "-"
                && !text(e, "TargetUserName").ends_with('$')
        }
        // selection: EventID 4625, SubStatus 0xc0000064; filter: IpAddress "-".
        "non_existent_user" => {
            security
                && text(e, "EventID") == "4625"
                && text(e, "SubStatus") == "0xc0000064"
                && text(e, "IpAddress") != "-"
        }
        // selection: EventID 4648; filter: IpAddress "-".
        "explicit_logon" => security && text(e, "EventID") == "4648" && text(e, "IpAddress") != "-",
        other => panic!("unknown rule {other}"),
    }
}

fn hayabusa_rules() -> Loaded {
    let dir =
        siem_testkit::corpus("hayabusa-rules").join("hayabusa/builtin/Security/LogonLogoff/Logon");
    let mut loaded = Loaded::default();
    for file in [
        "Sec_4625_Med_LogonFail_WrongPW_PW-Guessing_Correlation.yml",
        "Sec_4625_Med_LogonFail_UserGuessing_Correlation.yml",
        "Sec_4648_Med_ExplicitLogon_PW-Spray_Correlation.yml",
    ] {
        let path = dir.join(file);
        loaded
            .add(&std::fs::read_to_string(&path).unwrap(), path.to_str())
            .unwrap();
    }
    loaded
}

struct Run {
    alerts: Vec<Alert>,
    /// Detections per (rule name, group as the correlation sees it).
    groups: BTreeMap<(String, String), usize>,
}

fn run_hayabusa(loaded: &Loaded, file: &Path, aliases: &[(String, String)]) -> Run {
    let set = loaded.set();
    let mut correlator =
        siem_core::correlate::Correlator::new(set.clone(), CorrelatorConfig::default());
    let mut alerts = Vec::new();
    let mut groups = BTreeMap::new();
    let mut events: Vec<Event> = std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| windows_event(l, aliases))
        .collect();
    // Records are in file order; event time is what windows run on.
    events.sort_by_key(|e| e.timestamp);
    for e in &events {
        for (i, meta) in loaded.detections.iter().enumerate() {
            let name = meta.name.as_deref().unwrap();
            if !hayabusa_match(name, e) {
                continue;
            }
            let rule = &loaded.correlations[i];
            let key: Vec<String> = rule
                .group_by
                .iter()
                .map(|g| text(e, g).into_owned())
                .collect();
            *groups.entry((name.to_string(), key.join("|"))).or_insert(0) += 1;
            let base = set.base_rule(i as u32).unwrap();
            alerts.extend(correlator.process(&Detection::new(base, e, e.timestamp.unwrap())));
        }
    }
    alerts.extend(correlator.flush());
    Run { alerts, groups }
}

fn group_of(alert: &Alert, field: &str) -> String {
    alert
        .group
        .iter()
        .find(|(k, _)| k == field)
        .map(|(_, v)| v.to_text().into_owned())
        .unwrap_or_default()
}

#[test]
fn hayabusa_pw_guessing_fires_for_the_attacker_only() {
    let loaded = hayabusa_rules();
    // Detections and correlations are paired by position in each file.
    assert_eq!(
        loaded
            .detections
            .iter()
            .map(|m| m.name.clone().unwrap().to_string())
            .collect::<Vec<_>>(),
        ["incorrect_password", "non_existent_user", "explicit_logon"]
    );
    let aliases = aliases();
    let file = siem_testkit::corpus_file(
        "windows-evtx-json",
        "deepbluecli/evtx/smb-password-guessing-security.jsonl",
    );
    let run = run_hayabusa(&loaded, &file, &aliases);

    // Grouped as PW Guessing groups (its six group-by fields), the 3561 failed logons (4625)
    // form three groups: the attacker's and two single events (different user, domain).
    let group_by = &loaded.correlations[0].group_by;
    let mut all_4625: BTreeMap<String, usize> = BTreeMap::new();
    for line in std::fs::read_to_string(&file).unwrap().lines() {
        let e = windows_event(line, &aliases);
        if text(&e, "EventID") == "4625" {
            let key: Vec<String> = group_by.iter().map(|g| text(&e, g).into_owned()).collect();
            *all_4625.entry(key.join("|")).or_default() += 1;
        }
    }
    let attacker = "Administrator|.|192.168.198.149|3|-|NtLmSsp ";
    assert_eq!(all_4625.len(), 3, "{all_4625:?}");
    assert_eq!(all_4625[attacker], 3559);
    assert_eq!(all_4625.values().filter(|&&n| n == 1).count(), 2);
    // Of those, the wrong-password detections (SubStatus 0xc000006a) are all the attacker's.
    let wrong_password: Vec<_> = run
        .groups
        .iter()
        .filter(|((r, _), _)| r == "incorrect_password")
        .collect();
    assert_eq!(
        wrong_password,
        [(
            &("incorrect_password".to_string(), attacker.to_string()),
            &3558
        )]
    );

    let pw: Vec<&Alert> = run
        .alerts
        .iter()
        .filter(|a| a.rule.title == "PW Guessing")
        .collect();
    assert!(!pw.is_empty());
    for a in &pw {
        assert_eq!(group_of(a, "IpAddress"), "192.168.198.149");
        assert_eq!(group_of(a, "TargetUserName"), "Administrator");
        assert_eq!(group_of(a, "LogonProcessName"), "NtLmSsp ");
        assert_eq!(a.value, Some(Value::Int(5)));
        assert!(a.window.unwrap().end - a.window.unwrap().start <= chrono::Duration::minutes(5));
        assert_eq!(a.rules, ["5b0b75dc-9190-4047-b9a8-14164cee8a31"]);
    }
    // Every detection of the attacking group is used by exactly one alert (five each).
    assert_eq!(pw.len(), 3558 / 5);
    let json = pw[0].to_json_value();
    assert_eq!(json["rule"]["id"], "23179f25-6fce-4827-bae1-b219deaf563e");
    assert_eq!(json["group"]["IpAddress"], "192.168.198.149");
    assert_eq!(json["group"]["LogonType"], 3);
    assert_eq!(json["events"].as_array().unwrap().len(), 5);

    // One unknown-user failure: User Guessing (more than three distinct users) stays quiet.
    assert!(run.alerts.iter().all(|a| a.rule.title != "User Guessing"));
    assert!(run.alerts.iter().all(|a| a.rule.title != "PW Spray"));
}

#[test]
fn hayabusa_pw_spray_fires_for_the_sprayer() {
    let loaded = hayabusa_rules();
    let file =
        siem_testkit::corpus_file("windows-evtx-json", "deepbluecli/evtx/password-spray.jsonl");
    let run = run_hayabusa(&loaded, &file, &aliases());
    let spray: Vec<&Alert> = run
        .alerts
        .iter()
        .filter(|a| a.rule.title == "PW Spray")
        .collect();
    assert!(!spray.is_empty());
    for a in &spray {
        assert_eq!(group_of(a, "IpAddress"), "172.16.144.128");
        assert_eq!(group_of(a, "Computer"), "DESKTOP-JR78RLP");
        assert_eq!(
            a.value,
            Some(Value::Int(5)),
            "gte: 5 distinct TargetUserName"
        );
    }
    // 41 distinct users in about five minutes: at least one alert per five fresh names.
    let users: BTreeSet<String> = std::fs::read_to_string(&file)
        .unwrap()
        .lines()
        .filter_map(|l| Event::from_json(l).ok())
        .filter_map(|e| {
            e.get_str("Event.EventData.TargetUserName")
                .map(str::to_string)
        })
        .collect();
    assert!(users.len() >= 41, "{}", users.len());
    assert!(spray.len() >= 41 / 5, "{}", spray.len());
    assert!(run.alerts.iter().all(|a| a.rule.title == "PW Spray"));
}

#[test]
fn hayabusa_correlations_stay_quiet_on_the_other_deepbluecli_logs() {
    let loaded = hayabusa_rules();
    let aliases = aliases();
    let dir = siem_testkit::corpus("windows-evtx-json").join("deepbluecli/evtx");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !name.ends_with(".jsonl")
            || name == "smb-password-guessing-security.jsonl"
            || name == "password-spray.jsonl"
        {
            continue;
        }
        checked += 1;
        let run = run_hayabusa(&loaded, &path, &aliases);
        assert!(
            run.alerts.is_empty(),
            "{name}: {:?}",
            run.alerts.iter().map(|a| &a.rule.title).collect::<Vec<_>>()
        );
    }
    assert!(checked >= 20, "{checked}");
}
