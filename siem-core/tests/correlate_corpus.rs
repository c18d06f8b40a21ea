//! Correlation on real attack data.
//!
//! - Hayabusa's three Sigma correlation rules on DeepBlueCLI's Windows event logs: PW Guessing
//!   must fire for the attacking source (192.168.198.149 / Administrator) and for no other
//!   group, PW Spray must fire for 172.16.144.128, and no rule fires on the other files.
//! - CrowdSec's ssh brute-force scenarios (leaky buckets) re-expressed as Sigma correlations
//!   over their hub tests: each fires for the sources the scenario test expects, and not for
//!   the others (including the tests that list a scenario precisely to show it stays quiet).
//!
//! The detection step (a Sigma rule matching an event, with Hayabusa's field mapping or an sshd
//! decoder) belongs to other parts of siem; here it is a small stand-in written for these
//! rules, so that the test exercises the correlator on the real event streams. End-to-end runs
//! through the `RuleSet` and the sshd parser are the integrator's tests.

#[path = "correlate_util.rs"]
mod util;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use chrono::{DateTime, NaiveDateTime, Utc};
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

// ---------------------------------------------------------------------------------------------
// CrowdSec's ssh scenarios

/// CrowdSec's ssh-bf and ssh-slow-bf scenario files (leaky buckets: capacity 5 leaking one per
/// 10 s, capacity 10 leaking one per 60 s, grouped by source address, the `_user-enum` variants
/// counting distinct target users), re-expressed as Sigma correlations over one sshd failure
/// rule. A leaky bucket of capacity `c` and leak period `p` overflows on the `c+1`-th event
/// when they come faster than one per `p`; the sliding-window form is "more than `c` within
/// `c·p` (rounded up)".
const CROWDSEC_AS_SIGMA: &str = r#"
title: SSH failed authentication
name: ssh_failed_auth
logsource: {product: linux, service: sshd}
detection:
    selection: {event.category: authentication, event.outcome: failure}
    condition: selection
---
title: crowdsecurity/ssh-bf
correlation: {type: event_count, rules: [ssh_failed_auth], group-by: [source.ip], timespan: 1m, condition: {gt: 5}}
---
title: crowdsecurity/ssh-bf_user-enum
correlation: {type: value_count, rules: [ssh_failed_auth], group-by: [source.ip], timespan: 1m, condition: {gt: 5, field: user.name}}
---
title: crowdsecurity/ssh-slow-bf
correlation: {type: event_count, rules: [ssh_failed_auth], group-by: [source.ip], timespan: 10m, condition: {gt: 10}}
---
title: crowdsecurity/ssh-slow-bf_user-enum
correlation: {type: value_count, rules: [ssh_failed_auth], group-by: [source.ip], timespan: 10m, condition: {gt: 10, field: user.name}}
"#;

/// A stand-in for the sshd decoder: the failure messages CrowdSec's `sshd-logs` parser marks
/// `ssh_failed-auth`, as ECS fields, with the syslog time (yearless: 2024 assumed).
fn sshd_event(line: &str) -> Option<Event> {
    use regex::Regex;
    use std::sync::LazyLock;
    static IP: &str = r"(?P<ip>[0-9a-fA-F:.]+)";
    static FAILURES: LazyLock<Vec<Regex>> = LazyLock::new(|| {
        [
            format!(r"Failed \S+ for (?:invalid user )?(?P<user>\S+) from {IP}"),
            format!(r"Invalid user\s*(?P<user>\S*) from {IP}"),
            format!(r"Connection (?:closed|reset) by (?:(?:authenticating|invalid) user (?P<user>\S+) )?{IP} port \d+ \[preauth\]"),
            format!(r"Disconnected from (?:authenticating|invalid) user (?P<user>\S+) {IP} port \d+ \[preauth\]"),
            format!(r"User (?P<user>\S+) from {IP}(?: port \d+)? not allowed because not listed in AllowUsers"),
            format!(r"banner exchange: Connection from {IP} port \d+: invalid format"),
            format!(r"pam_\S+\(sshd:auth\): authentication failure;.* rhost={IP}(?:\s+user=(?P<user>\S+))?"),
            format!(r"Magic value check failed \(\d+\) on obfuscated handshake from {IP}"),
        ]
        .iter()
        .map(|p| Regex::new(p).unwrap())
        .collect()
    });
    static HEADER: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^(?P<ts>\w{3} +\d+ \d\d:\d\d:\d\d) \S+ (?P<prog>sshd(?:-session)?)\[\d+\]: (?P<msg>.*)$").unwrap()
    });
    let header = HEADER.captures(line.trim_end())?;
    let ts = NaiveDateTime::parse_from_str(&format!("2024 {}", &header["ts"]), "%Y %b %e %H:%M:%S")
        .ok()?;
    let msg = &header["msg"];
    let caps = FAILURES.iter().find_map(|r| r.captures(msg))?;
    let mut e = Event::new();
    e.timestamp = Some(ts.and_utc());
    e.insert("event.category", "authentication");
    e.insert("event.outcome", "failure");
    e.insert("source.ip", caps["ip"].trim_end_matches('.'));
    if let Some(user) = caps.name("user").filter(|u| !u.as_str().is_empty()) {
        e.insert("user.name", user.as_str());
    }
    Some(e)
}

/// Scenarios (of the four re-expressed) a hub test runs, and the (scenario, source) pairs its
/// `scenario.assert` expects.
fn crowdsec_expectations(test: &Path) -> (Vec<String>, BTreeSet<(String, String)>) {
    let config = std::fs::read_to_string(test.join("config.yaml")).unwrap();
    let mut scenarios = Vec::new();
    for family in ["crowdsecurity/ssh-bf", "crowdsecurity/ssh-slow-bf"] {
        if config
            .lines()
            .any(|l| l.trim().trim_start_matches("- ").trim() == family)
        {
            scenarios.push(family.to_string());
            scenarios.push(format!("{family}_user-enum"));
        }
    }
    let assert = std::fs::read_to_string(test.join("scenario.assert")).unwrap_or_default();
    let mut by_result: BTreeMap<String, (Option<String>, Vec<String>)> = BTreeMap::new();
    for line in assert.lines() {
        if let Some(rest) = line.strip_prefix("results[") {
            let idx = rest.split(']').next().unwrap_or_default().to_string();
            if let Some(s) = line.split("GetScenario() == \"").nth(1) {
                by_result.entry(idx).or_default().0 = Some(s.trim_end_matches('"').to_string());
            }
        } else if line.starts_with('"')
            && line.contains(" in results[")
            && line.contains("GetSources()")
        {
            let ip = line.split('"').nth(1).unwrap().to_string();
            let idx = line
                .split("results[")
                .nth(1)
                .unwrap()
                .split(']')
                .next()
                .unwrap()
                .to_string();
            by_result.entry(idx).or_default().1.push(ip);
        }
    }
    let expected = by_result
        .into_values()
        .filter_map(|(scenario, ips)| {
            scenario.map(|s| ips.into_iter().map(move |ip| (s.clone(), ip)))
        })
        .flatten()
        .filter(|(s, _)| scenarios.contains(s))
        .collect();
    (scenarios, expected)
}

#[test]
fn crowdsec_ssh_scenarios_fire_per_source_as_their_tests_expect() {
    let loaded = Loaded::from_text(CROWDSEC_AS_SIGMA, None).unwrap();
    let set = loaded.set();
    let base = loaded.base(&set, "ssh_failed_auth");
    let tests = siem_testkit::corpus("crowdsec-hub").join("tests");
    let mut checked = Vec::new();
    for entry in std::fs::read_dir(&tests).unwrap() {
        let dir = entry.unwrap().path();
        let (scenarios, expected) = crowdsec_expectations(&dir);
        if scenarios.is_empty() {
            continue;
        }
        let log = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|x| x == "log"))
            .unwrap();
        let text = std::fs::read_to_string(&log).unwrap();
        let events: Vec<Event> = text.lines().filter_map(sshd_event).collect();
        assert!(
            !events.is_empty(),
            "{}: the stand-in decoder read nothing",
            log.display()
        );
        let alerts = util::run(
            &set,
            CorrelatorConfig::default(),
            &events.into_iter().map(|e| (base, e)).collect::<Vec<_>>(),
        );
        let fired: BTreeSet<(String, String)> = alerts
            .iter()
            .map(|a| (a.rule.title.clone(), group_of(a, "source.ip")))
            .filter(|(s, _)| scenarios.contains(s))
            .collect();
        assert_eq!(fired, expected, "{}", dir.display());
        checked.push((
            dir.file_name().unwrap().to_string_lossy().to_string(),
            expected.len(),
        ));
    }
    checked.sort();
    let names: Vec<&str> = checked.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "ssh-bf",
            "ssh-slow-bf",
            "ssh-time-based-bf",
            "sshd-invalid-bf",
            "sshd_banner_exchange"
        ]
    );
    // ssh-bf and its user-enum fire, slow-bf fires, ssh-bf fires on the invalid-user and the
    // banner-exchange floods; the time-based test and ssh-bf within the slow test stay quiet.
    assert_eq!(checked.iter().map(|(_, n)| n).sum::<usize>(), 5);
}

#[test]
fn loghub_openssh_flags_the_heaviest_sources() {
    // 2000 real sshd lines without labels: the fail2ban-style example rule must flag the two
    // addresses behind most failures and nothing with fewer than five failures.
    let loaded = {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/rules/ssh_bruteforce.yml");
        Loaded::from_text(&std::fs::read_to_string(path).unwrap(), None).unwrap()
    };
    let set = loaded.set();
    let base = loaded.base(&set, "ssh_failed_login");
    let log = siem_testkit::corpus_file("loghub", "OpenSSH/OpenSSH_2k.log");
    // loghub's OpenSSH lines are `Dec 10 06:55:46 LabSZ sshd[24200]: ...`.
    let events: Vec<Event> = std::fs::read_to_string(log)
        .unwrap()
        .lines()
        .filter_map(sshd_event)
        .collect();
    let mut per_source: BTreeMap<String, usize> = BTreeMap::new();
    for e in &events {
        *per_source
            .entry(e.get_str("source.ip").unwrap().to_string())
            .or_default() += 1;
    }
    let alerts = util::run(
        &set,
        CorrelatorConfig::default(),
        &events.into_iter().map(|e| (base, e)).collect::<Vec<_>>(),
    );
    let flagged: BTreeSet<String> = alerts.iter().map(|a| group_of(a, "source.ip")).collect();
    let mut top: Vec<(&String, &usize)> = per_source.iter().collect();
    top.sort_by(|a, b| b.1.cmp(a.1));
    for (ip, _) in top.iter().take(2) {
        assert!(
            flagged.contains(*ip),
            "{ip} not flagged; flagged: {flagged:?}"
        );
    }
    for ip in &flagged {
        assert!(
            per_source[ip] >= 5,
            "{ip} flagged with {} failures",
            per_source[ip]
        );
    }
}
