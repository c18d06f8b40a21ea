//! The alert lifecycle: suppression of repeats per (rule, group), a cooldown per rule, a global
//! cap per sliding hour, on detection and correlation alerts alike, with counters.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use compact_str::CompactString;
use siem_core::alert::policy::{AlertPolicy, PolicyClock, PolicyConfig, Verdict};
use siem_core::alert::{Alert, AlertKind, Window};
use siem_core::event::{Event, Value};
use siem_core::sigma::RuleMeta;

fn at(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 1, 10, 0, 0).unwrap() + chrono::Duration::minutes(minutes)
}

fn rule(id: &str) -> Arc<RuleMeta> {
    Arc::new(RuleMeta {
        id: id.into(),
        title: format!("rule {id}"),
        ..RuleMeta::default()
    })
}

fn detection(rule: &Arc<RuleMeta>, minute: i64, ip: &str) -> Alert {
    let mut e = Event::new();
    e.timestamp = Some(at(minute));
    e.insert("source.ip", ip);
    Alert::detection(rule.clone(), e, at(minute))
}

fn correlation(rule: &Arc<RuleMeta>, minute: i64, ip: &str) -> Alert {
    Alert {
        timestamp: at(minute),
        kind: AlertKind::Correlation,
        rule: rule.clone(),
        event: None,
        group: vec![(CompactString::from("source.ip"), Value::from(ip))],
        value: Some(Value::Int(5)),
        window: Some(Window {
            start: at(minute - 1),
            end: at(minute),
        }),
        rules: vec!["r".into()],
        events: Vec::new(),
        arrival_time: false,
    }
}

#[test]
fn repeats_are_suppressed_per_rule_and_group() {
    let mut p = AlertPolicy::new(PolicyConfig {
        suppress_repeats: Some(Duration::from_secs(15 * 60)),
        ..PolicyConfig::default()
    });
    let r = rule("r1");
    // Correlation alerts: grouped by their group.
    assert_eq!(p.admit(&correlation(&r, 0, "a"), None), Verdict::Emit);
    assert_eq!(p.admit(&correlation(&r, 1, "b"), None), Verdict::Emit);
    assert_eq!(
        p.admit(&correlation(&r, 5, "a"), None),
        Verdict::SuppressedRepeat
    );
    assert_eq!(
        p.admit(&correlation(&r, 14, "a"), None),
        Verdict::SuppressedRepeat
    );
    // The period runs from the alert let through, not from the suppressed ones.
    assert_eq!(p.admit(&correlation(&r, 15, "a"), None), Verdict::Emit);
    // Another rule with the same group is not a repeat.
    assert_eq!(
        p.admit(&correlation(&rule("r2"), 16, "a"), None),
        Verdict::Emit
    );
    // Detection alerts without group fields: the rule alone is the key.
    assert_eq!(p.admit(&detection(&r, 20, "x"), None), Verdict::Emit);
    assert_eq!(
        p.admit(&detection(&r, 21, "y"), None),
        Verdict::SuppressedRepeat
    );
    let s = p.stats();
    assert_eq!((s.seen, s.emitted, s.suppressed_repeat), (8, 5, 3));
}

#[test]
fn detection_alerts_group_by_configured_fields() {
    let mut p = AlertPolicy::new(PolicyConfig {
        suppress_repeats: Some(Duration::from_secs(600)),
        detection_group_fields: vec!["source.ip".into()],
        ..PolicyConfig::default()
    });
    let r = rule("r1");
    assert_eq!(p.admit(&detection(&r, 0, "a"), None), Verdict::Emit);
    assert_eq!(p.admit(&detection(&r, 1, "b"), None), Verdict::Emit);
    assert_eq!(
        p.admit(&detection(&r, 2, "a"), None),
        Verdict::SuppressedRepeat
    );
}

#[test]
fn a_cooldown_silences_the_whole_rule() {
    let mut p = AlertPolicy::new(PolicyConfig {
        cooldown: Some(Duration::from_secs(15 * 60)),
        ..PolicyConfig::default()
    });
    let r = rule("r1");
    assert_eq!(p.admit(&correlation(&r, 0, "a"), None), Verdict::Emit);
    assert_eq!(
        p.admit(&correlation(&r, 3, "b"), None),
        Verdict::SuppressedCooldown
    );
    assert_eq!(
        p.admit(&detection(&r, 4, "c"), None),
        Verdict::SuppressedCooldown
    );
    assert_eq!(
        p.admit(&correlation(&rule("r2"), 4, "b"), None),
        Verdict::Emit
    );
    assert_eq!(p.admit(&correlation(&r, 15, "b"), None), Verdict::Emit);
    assert_eq!(p.stats().suppressed_cooldown, 2);
}

#[test]
fn the_hourly_cap_slides() {
    let mut p = AlertPolicy::new(PolicyConfig {
        max_alerts_per_hour: Some(3),
        ..PolicyConfig::default()
    });
    let verdicts: Vec<Verdict> = [0, 10, 20, 30, 59, 60, 61, 70]
        .iter()
        .enumerate()
        .map(|(i, &m)| p.admit(&correlation(&rule(&format!("r{i}")), m, "a"), None))
        .collect();
    use Verdict::*;
    // 0, 10, 20 fill the hour; 30 and 59 are over; at 60 the alert of minute 0 has left the
    // hour, at 70 the one of minute 10; 61 finds 10, 20, 60 inside.
    assert_eq!(
        verdicts,
        [
            Emit,
            Emit,
            Emit,
            SuppressedRate,
            SuppressedRate,
            Emit,
            SuppressedRate,
            Emit
        ]
    );
    assert_eq!(p.stats().suppressed_rate, 3);
}

#[test]
fn time_never_runs_backwards_and_arrival_time_can_drive_it() {
    let mut p = AlertPolicy::new(PolicyConfig {
        suppress_repeats: Some(Duration::from_secs(600)),
        ..PolicyConfig::default()
    });
    let r = rule("r1");
    assert_eq!(p.admit(&correlation(&r, 30, "a"), None), Verdict::Emit);
    // An alert timed before the last one is judged at the newest time: still a repeat.
    assert_eq!(
        p.admit(&correlation(&r, 0, "a"), None),
        Verdict::SuppressedRepeat
    );

    let mut p = AlertPolicy::new(PolicyConfig {
        suppress_repeats: Some(Duration::from_secs(600)),
        clock: PolicyClock::Arrival,
        ..PolicyConfig::default()
    });
    // Replayed 2016 events arriving a minute apart: the arrival clock decides.
    let old = |m| {
        let mut a = correlation(&r, 0, "a");
        a.timestamp = Utc.with_ymd_and_hms(2016, 9, 19, 16, m, 0).unwrap();
        a
    };
    assert_eq!(p.admit(&old(0), Some(at(0))), Verdict::Emit);
    assert_eq!(p.admit(&old(30), Some(at(1))), Verdict::SuppressedRepeat);
    assert_eq!(p.admit(&old(31), Some(at(11))), Verdict::Emit);
}

#[test]
fn memory_is_bounded_by_max_keys() {
    let mut p = AlertPolicy::new(PolicyConfig {
        suppress_repeats: Some(Duration::from_secs(3600)),
        max_keys: 100,
        ..PolicyConfig::default()
    });
    let r = rule("r1");
    for i in 0..10_000 {
        assert_eq!(
            p.admit(
                &correlation(&r, 0, &format!("10.0.{}.{}", i / 256, i % 256)),
                None
            ),
            Verdict::Emit
        );
    }
    assert_eq!(p.stats().keys_forgotten, 9_900);
    // The newest keys are still remembered.
    assert_eq!(
        p.admit(&correlation(&r, 1, "10.0.39.15"), None),
        Verdict::SuppressedRepeat
    );
    // The oldest were forgotten: let through again.
    assert_eq!(
        p.admit(&correlation(&r, 1, "10.0.0.0"), None),
        Verdict::Emit
    );
}

#[test]
fn filter_keeps_order_and_combines_the_limits() {
    let mut p = AlertPolicy::new(PolicyConfig {
        suppress_repeats: Some(Duration::from_secs(600)),
        max_alerts_per_hour: Some(2),
        ..PolicyConfig::default()
    });
    let r = rule("r1");
    let alerts = vec![
        correlation(&r, 0, "a"),
        correlation(&r, 1, "a"),
        correlation(&r, 2, "b"),
        correlation(&r, 3, "c"),
    ];
    let kept = p.filter(alerts, None);
    let groups: Vec<String> = kept
        .iter()
        .map(|a| a.group[0].1.to_text().into_owned())
        .collect();
    assert_eq!(groups, ["a", "b"]);
    let s = p.stats();
    assert_eq!((s.suppressed_repeat, s.suppressed_rate), (1, 1));
}
