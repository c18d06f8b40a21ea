//! The correlator's decided semantics, one behaviour per test: sliding windows and their
//! boundaries, the reset after an alert, each type's measure, lateness, arrival time, memory
//! bounds under a flood of keys, snapshots, partitions and the thread-safe wrapper.

#[path = "correlate_util.rs"]
mod util;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use siem_core::correlate::{
    BaseRule, CorrelationSet, Correlator, CorrelatorConfig, Detection, Partition, SharedCorrelator,
    Snapshot, SnapshotError,
};
use siem_core::event::Event;
use util::{Loaded, at, event, run};

/// One correlation `correlation` over detection rules `r0`, `r1`, `r2`.
fn rules(correlation: &str) -> (Arc<CorrelationSet>, [BaseRule; 3]) {
    let text = format!(
        "title: r0\nname: r0\n---\ntitle: r1\nname: r1\n---\ntitle: r2\nname: r2\n---\ntitle: corr\nid: c0\nlevel: high\ncorrelation:\n{correlation}"
    );
    let loaded = Loaded::from_text(&text, None).unwrap();
    let set = loaded.set();
    let base = |n: &str| {
        loaded
            .detection(n)
            .and_then(|i| set.base_rule(i))
            .unwrap_or(BaseRule(u32::MAX))
    };
    let b = [base("r0"), base("r1"), base("r2")];
    (set, b)
}

fn ip(seconds: i64, ip: &str) -> Event {
    event(seconds, &[("source.ip", ip)])
}

fn values(alerts: &[siem_core::Alert]) -> Vec<String> {
    alerts
        .iter()
        .map(|a| {
            a.value
                .as_ref()
                .map(|v| v.to_text().into_owned())
                .unwrap_or_default()
        })
        .collect()
}

#[test]
fn a_burst_fires_once_per_threshold_and_resets() {
    let (set, [r0, ..]) = rules(
        "  type: event_count\n  rules: [r0]\n  group-by: [source.ip]\n  timespan: 1m\n  condition: {gte: 5}\n",
    );
    let burst: Vec<_> = (0..12).map(|i| (r0, ip(i, "192.0.2.1"))).collect();
    let alerts = run(&set, CorrelatorConfig::default(), &burst);
    assert_eq!(values(&alerts), ["5", "5"]);
    // Fired at the 5th and 10th detection, each window covering its own five.
    assert_eq!(alerts[0].window.unwrap().start, at(0));
    assert_eq!(alerts[0].window.unwrap().end, at(4));
    assert_eq!(alerts[1].window.unwrap().start, at(5));
    assert_eq!(alerts[1].timestamp, at(9));
    // Samples: the newest five events of each window (the default), oldest first.
    assert_eq!(alerts[1].events.len(), 5);
    assert_eq!(alerts[1].events[0].timestamp, Some(at(5)));
}

#[test]
fn windows_slide_and_include_both_ends() {
    let (set, [r0, ..]) = rules(
        "  type: event_count\n  rules: [r0]\n  group-by: [source.ip]\n  timespan: 5m\n  condition: {gte: 3}\n",
    );
    // Across a fixed 5-minute boundary (10:04 .. 10:06): a bucketed engine would miss it.
    let across: Vec<_> = [240, 300, 360].iter().map(|&s| (r0, ip(s, "a"))).collect();
    assert_eq!(run(&set, CorrelatorConfig::default(), &across).len(), 1);
    // Exactly 300 s between first and last: together.
    let exact: Vec<_> = [0, 150, 300].iter().map(|&s| (r0, ip(s, "a"))).collect();
    assert_eq!(run(&set, CorrelatorConfig::default(), &exact).len(), 1);
    // One nanosecond more: apart.
    let mut last = ip(300, "a");
    last.timestamp = Some(at(300) + chrono::Duration::nanoseconds(1));
    let apart = vec![(r0, ip(0, "a")), (r0, ip(150, "a")), (r0, last)];
    assert!(run(&set, CorrelatorConfig::default(), &apart).is_empty());
    // An old event drops out while new ones come: 0, 200, 400, 500 → the third in a window is
    // at 500 (200, 400, 500).
    let sliding: Vec<_> = [0, 200, 400, 500]
        .iter()
        .map(|&s| (r0, ip(s, "a")))
        .collect();
    let alerts = run(&set, CorrelatorConfig::default(), &sliding);
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].window.unwrap().start, at(200));
    assert_eq!(alerts[0].window.unwrap().end, at(500));
    // Groups never mix.
    let mixed: Vec<_> = [(0, "a"), (1, "b"), (2, "a"), (3, "b")]
        .iter()
        .map(|&(s, g)| (r0, ip(s, g)))
        .collect();
    assert!(run(&set, CorrelatorConfig::default(), &mixed).is_empty());
}

#[test]
fn ranges_and_single_event_conditions() {
    // "101 to 200" on a count fires as soon as the count reaches 101.
    let (set, [r0, ..]) =
        rules("  type: event_count\n  rules: [r0]\n  timespan: 1h\n  condition: {gt: 3, lte: 5}\n");
    let d: Vec<_> = (0..10).map(|i| (r0, ip(i, "x"))).collect();
    assert_eq!(
        values(&run(&set, CorrelatorConfig::default(), &d)),
        ["4", "4"]
    );
    // lt: a single event satisfies it: every detection fires (and the rule says so).
    let (set, _) =
        rules("  type: event_count\n  rules: [r0]\n  timespan: 1h\n  condition: {lt: 3}\n");
    assert_eq!(set.warnings().len(), 1);
    assert_eq!(
        values(&run(&set, CorrelatorConfig::default(), &d[..3])),
        ["1", "1", "1"]
    );
}

#[test]
fn value_count_counts_distinct_values_once() {
    let (set, [r0, ..]) = rules(
        "  type: value_count\n  rules: [r0]\n  group-by: [source.ip]\n  timespan: 5m\n  condition: {gt: 3, field: user.name}\n",
    );
    let login = |s: i64, user: &str| event(s, &[("source.ip", "10.1.1.1"), ("user.name", user)]);
    // Four attempts but only three users.
    let repeats: Vec<_> = [("root", 0), ("admin", 1), ("root", 2), ("guest", 3)]
        .iter()
        .map(|&(u, s)| (r0, login(s, u)))
        .collect();
    assert!(run(&set, CorrelatorConfig::default(), &repeats).is_empty());
    // A fourth user fires; the window starts at the oldest *latest* occurrence of the four.
    let mut more = repeats.clone();
    more.push((r0, login(4, "oracle")));
    let alerts = run(&set, CorrelatorConfig::default(), &more);
    assert_eq!(values(&alerts), ["4"]);
    assert_eq!(alerts[0].window.unwrap().start, at(1));
    // Events without the field are not values.
    let missing: Vec<_> = (0..6).map(|i| (r0, ip(i, "10.1.1.1"))).collect();
    assert!(run(&set, CorrelatorConfig::default(), &missing).is_empty());
    // Many distinct values spread over time: only those within 5 minutes count, however many
    // were seen before (the state keeps only the newest four).
    let spread: Vec<_> = (0..50)
        .map(|i| (r0, login(i * 101, &format!("u{i}"))))
        .collect();
    assert!(run(&set, CorrelatorConfig::default(), &spread).is_empty());
}

#[test]
fn value_count_over_a_list_of_fields_counts_combinations() {
    let (set, [r0, ..]) = rules(
        "  type: value_count\n  rules: [r0]\n  timespan: 5m\n  condition: {gte: 3, field: [user.name, host.name]}\n",
    );
    let e = |s, u, h| event(s, &[("user.name", u), ("host.name", h)]);
    let d = vec![
        (r0, e(0, "a", "h1")),
        (r0, e(1, "a", "h2")),
        (r0, e(2, "a", "h1")),
        (r0, e(3, "b", "h1")),
    ];
    assert_eq!(values(&run(&set, CorrelatorConfig::default(), &d)), ["3"]);
}

#[test]
fn temporal_needs_every_rule_and_ordered_needs_their_order() {
    let (set, [r0, r1, r2]) =
        rules("  type: temporal\n  rules: [r0, r1, r2]\n  group-by: [user.name]\n  timespan: 1m\n");
    let u = |s: i64, name: &str| event(s, &[("user.name", name)]);
    let any_order = vec![
        (r2, u(0, "eve")),
        (r0, u(10, "eve")),
        (r0, u(15, "eve")),
        (r1, u(20, "eve")),
    ];
    let alerts = run(&set, CorrelatorConfig::default(), &any_order);
    assert_eq!(values(&alerts), ["3"]);
    assert_eq!(alerts[0].rules, ["r0", "r1", "r2"]);
    // The tightest stretch holding one of each: r2@0 .. r1@20.
    assert_eq!(alerts[0].window.unwrap().start, at(0));
    assert!(run(&set, CorrelatorConfig::default(), &any_order[1..]).is_empty());

    let (set, [r0, r1, r2]) = rules(
        "  type: temporal_ordered\n  rules: [r0, r1, r2]\n  group-by: [user.name]\n  timespan: 1m\n",
    );
    assert!(run(&set, CorrelatorConfig::default(), &any_order).is_empty());
    let ordered = vec![
        (r0, u(0, "eve")),
        (r2, u(5, "eve")),
        (r0, u(10, "eve")),
        (r1, u(20, "eve")),
        (r2, u(30, "eve")),
    ];
    let alerts = run(&set, CorrelatorConfig::default(), &ordered);
    assert_eq!(values(&alerts), ["3"]);
    // The latest start of an in-order match: r0@10.
    assert_eq!(alerts[0].window.unwrap().start, at(10));
    // The whole sequence must fit in the timespan.
    let slow = vec![(r0, u(0, "eve")), (r1, u(40, "eve")), (r2, u(61, "eve"))];
    assert!(run(&set, CorrelatorConfig::default(), &slow).is_empty());
    // Same second, arrival order decides.
    let ties = vec![(r0, u(0, "eve")), (r1, u(0, "eve")), (r2, u(0, "eve"))];
    assert_eq!(run(&set, CorrelatorConfig::default(), &ties).len(), 1);
    let ties_reversed = vec![(r2, u(0, "eve")), (r1, u(0, "eve")), (r0, u(0, "eve"))];
    assert!(run(&set, CorrelatorConfig::default(), &ties_reversed).is_empty());
}

#[test]
fn numeric_aggregations() {
    let bytes = |s: i64, b: &str| event(s, &[("source.ip", "10.0.0.9"), ("source.bytes", b)]);
    let (set, [r0, ..]) = rules(
        "  type: value_sum\n  rules: [r0]\n  group-by: [source.ip]\n  timespan: 1h\n  condition: {gt: 1000000, field: source.bytes}\n",
    );
    let mut d = vec![
        (r0, bytes(0, "600000")),
        (r0, bytes(10, "n/a")),
        (r0, bytes(20, "400000")),
    ];
    assert!(
        run(&set, CorrelatorConfig::default(), &d).is_empty(),
        "exactly 1,000,000 is not more"
    );
    d.push((r0, bytes(30, "1")));
    assert_eq!(
        values(&run(&set, CorrelatorConfig::default(), &d)),
        ["1000001"]
    );

    let (set, [r0, ..]) = rules(
        "  type: value_avg\n  rules: [r0]\n  timespan: 1h\n  condition: {gt: 500, field: source.bytes}\n",
    );
    let d = vec![
        (r0, bytes(0, "100")),
        (r0, bytes(1, "800")),
        (r0, bytes(2, "900")),
    ];
    let alerts = run(&set, CorrelatorConfig::default(), &d);
    assert_eq!(values(&alerts), ["600.0"]);

    let (set, [r0, ..]) = rules(
        "  type: value_percentile\n  rules: [r0]\n  timespan: 1h\n  condition: {gte: 900, field: source.bytes, percentile: 75}\n",
    );
    let d: Vec<_> = [100, 200, 900, 950]
        .iter()
        .enumerate()
        .map(|(i, b)| (r0, bytes(i as i64, &b.to_string())))
        .collect();
    // p75 of [100, 200, 900] is 900 (rank ceil(2.25) = 3): fires and resets; then 950 alone is
    // a window whose p75 is 950.
    assert_eq!(
        values(&run(&set, CorrelatorConfig::default(), &d)),
        ["900", "950"]
    );
}

#[test]
fn detections_without_a_group_by_value_are_not_counted_and_without_group_by_all_are_one_group() {
    let (set, [r0, ..]) = rules(
        "  type: event_count\n  rules: [r0]\n  group-by: [source.ip, user.name]\n  timespan: 1m\n  condition: {gte: 2}\n",
    );
    // Events with a source address but no user name: no group, nothing counted.
    let alerts = run(
        &set,
        CorrelatorConfig::default(),
        &[(r0, ip(0, "a")), (r0, ip(1, "a")), (r0, ip(2, "a"))],
    );
    assert!(alerts.is_empty(), "{alerts:?}");
    let (set, [r0, ..]) =
        rules("  type: event_count\n  rules: [r0]\n  timespan: 1m\n  condition: {gte: 2}\n");
    let alerts = run(
        &set,
        CorrelatorConfig::default(),
        &[(r0, ip(0, "a")), (r0, ip(1, "b"))],
    );
    assert_eq!(alerts[0].to_json_value()["group"], serde_json::json!({}));
}

#[test]
fn out_of_order_within_lateness_is_exact_and_beyond_it_is_dropped() {
    let (set, [r0, ..]) = rules(
        "  type: event_count\n  rules: [r0]\n  group-by: [source.ip]\n  timespan: 10s\n  condition: {gte: 3}\n",
    );
    // In time order 0, 6, 13, 15: three within 10 s only at 15 (6, 13, 15). Arriving shuffled:
    let shuffled = vec![
        (r0, ip(13, "a")),
        (r0, ip(15, "a")),
        (r0, ip(0, "a")),
        (r0, ip(6, "a")),
    ];
    let config = CorrelatorConfig {
        lateness: Duration::from_secs(15),
        ..CorrelatorConfig::default()
    };
    let alerts = run(&set, config.clone(), &shuffled);
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].window.unwrap().start, at(6));
    assert_eq!(alerts[0].window.unwrap().end, at(15));
    let mut in_order = shuffled.clone();
    in_order.sort_by_key(|(_, e)| e.timestamp);
    assert_eq!(run(&set, config, &in_order), alerts);

    // With no lateness, the detections older than the newest are dropped and counted.
    let mut c = Correlator::new(set.clone(), CorrelatorConfig::default());
    for (rule, e) in &shuffled {
        c.process(&Detection::new(*rule, e, at(100)));
    }
    assert_eq!(c.stats().late_dropped, 2);
    // Waiting detections are applied by advancing time.
    let mut c = Correlator::new(
        set,
        CorrelatorConfig {
            lateness: Duration::from_secs(60),
            ..CorrelatorConfig::default()
        },
    );
    for s in [0, 1, 2] {
        assert!(
            c.process(&Detection::new(r0, &ip(s, "a"), at(100)))
                .is_empty()
        );
    }
    assert_eq!(c.stats().pending, 3);
    assert_eq!(c.advance_to(at(2)).len(), 1);
}

#[test]
fn events_without_a_timestamp_use_arrival_time_apart_from_event_time() {
    let (set, [r0, ..]) = rules(
        "  type: event_count\n  rules: [r0]\n  group-by: [source.ip]\n  timespan: 1m\n  condition: {gte: 3}\n",
    );
    let untimed = || {
        let mut e = Event::new();
        e.insert("source.ip", "a");
        e
    };
    let mut c = Correlator::new(set.clone(), CorrelatorConfig::default());
    // Two timed (in 2016) and two untimed: neither clock reaches three.
    let old = |s| {
        let mut e = ip(0, "a");
        e.timestamp =
            Some(chrono::TimeZone::with_ymd_and_hms(&Utc, 2016, 9, 19, 16, 50, s).unwrap());
        e
    };
    let now = at(0);
    assert!(c.process(&Detection::new(r0, &old(0), now)).is_empty());
    assert!(c.process(&Detection::new(r0, &untimed(), now)).is_empty());
    assert!(c.process(&Detection::new(r0, &old(1), now)).is_empty());
    assert!(
        c.process(&Detection::new(
            r0,
            &untimed(),
            now + chrono::Duration::seconds(1)
        ))
        .is_empty()
    );
    let alerts = c.process(&Detection::new(
        r0,
        &untimed(),
        now + chrono::Duration::seconds(2),
    ));
    assert_eq!(alerts.len(), 1);
    assert!(alerts[0].arrival_time);
    assert_eq!(alerts[0].timestamp, now + chrono::Duration::seconds(2));
    assert!(
        alerts[0]
            .to_json()
            .ends_with(r#","timestamp_source":"arrival"}"#)
    );
    assert_eq!(c.stats().arrival_timed, 3);

    // A timestamp days ahead of arrival is not trusted with the event-time windows.
    let mut future = ip(0, "a");
    future.timestamp = Some(now + chrono::Duration::days(3));
    let mut c = Correlator::new(set, CorrelatorConfig::default());
    c.process(&Detection::new(r0, &future, now));
    assert_eq!(c.stats().future_retimed, 1);
    // ... so an ordinary detection afterwards is not late.
    c.process(&Detection::new(r0, &ip(0, "a"), now));
    assert_eq!(c.stats().late_dropped, 0);
}

#[test]
fn a_flood_of_distinct_keys_stays_under_the_cap() {
    let (set, [r0, ..]) = rules(
        "  type: event_count\n  rules: [r0]\n  group-by: [source.ip]\n  timespan: 1h\n  condition: {gte: 5}\n",
    );
    let cap = 1_000;
    let mut c = Correlator::new(
        set,
        CorrelatorConfig {
            max_groups: cap,
            sample_events: 0,
            ..CorrelatorConfig::default()
        },
    );
    let mut alerts = Vec::new();
    let mut bytes_at_cap = 0;
    for i in 0..50_000u32 {
        let t = i64::from(i / 10);
        let e = ip(t, &format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255));
        alerts.extend(c.process(&Detection::new(r0, &e, at(t))));
        // The attacker keeps hammering, more often than the cap turns over: as a recently updated
        // group it is never evicted.
        if i % 500 == 0 {
            alerts.extend(c.process(&Detection::new(r0, &ip(t, "203.0.113.66"), at(t))));
        }
        assert!(c.live_groups() <= cap);
        if i == cap as u32 * 2 {
            bytes_at_cap = c.state_bytes();
        }
    }
    let stats = c.stats();
    assert_eq!(stats.groups_live, cap as u64);
    assert_eq!(stats.groups_evicted, stats.groups_created - cap as u64);
    assert!(stats.groups_evicted > 48_000, "{stats:?}");
    // Memory stays where it was when the cap was first reached (allowing queue slack).
    assert!(
        c.state_bytes() <= bytes_at_cap * 2,
        "{} vs {}",
        c.state_bytes(),
        bytes_at_cap
    );
    let attacker: Vec<_> = alerts
        .iter()
        .filter(|a| a.group[0].1.to_text() == "203.0.113.66")
        .collect();
    assert_eq!(
        attacker.len(),
        20,
        "100 detections of the attacker, 5 per alert"
    );
}

/// The caps of a `SharedCorrelator`'s configuration are for all its shards together.
#[test]
fn a_shared_correlator_shares_its_caps_between_shards() {
    let (set, [r0, ..]) = rules(
        "  type: event_count\n  rules: [r0]\n  group-by: [source.ip]\n  timespan: 1h\n  condition: {gte: 5}\n",
    );
    let cap = 1_000;
    let shared = SharedCorrelator::new(
        set,
        CorrelatorConfig {
            max_groups: cap,
            max_sample_bytes: 64 << 10,
            ..CorrelatorConfig::default()
        },
        8,
    );
    for i in 0..20_000u32 {
        let e = ip(0, &format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255));
        shared.process(&Detection::new(r0, &e, at(0)));
    }
    let stats = shared.stats();
    // Each shard holds its eighth, rounded up: 125.
    assert_eq!(stats.groups_live, cap as u64, "{stats:?}");
    assert!(stats.sample_bytes <= 64 << 10, "{stats:?}");
}

/// Sampled events hold the input's bytes: a flood of large events stays within
/// `max_sample_bytes`, the oldest samples go first, and the group under attack still gets its
/// newest events into its alert.
#[test]
fn sampled_events_stay_within_their_byte_budget() {
    let (set, [r0, ..]) = rules(
        "  type: event_count\n  rules: [r0]\n  group-by: [source.ip]\n  timespan: 1h\n  condition: {gte: 5}\n",
    );
    let padding = "x".repeat(2_000);
    let big = |t: i64, addr: &str| {
        let mut e = ip(t, addr);
        e.insert("message", padding.as_str());
        e
    };
    let budget = 256 << 10;
    let mut c = Correlator::new(
        set,
        CorrelatorConfig {
            max_sample_bytes: budget,
            ..CorrelatorConfig::default()
        },
    );
    let mut alerts = Vec::new();
    let mut most = 0;
    for i in 0..20_000u32 {
        let t = i64::from(i / 10);
        let e = big(t, &format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255));
        alerts.extend(c.process(&Detection::new(r0, &e, at(t))));
        if i >= 19_995 {
            alerts.extend(c.process(&Detection::new(r0, &big(t, "203.0.113.66"), at(t))));
        }
        most = most.max(c.stats().sample_bytes);
    }
    let stats = c.stats();
    assert!(most <= budget as u64, "{most} > {budget}");
    assert!(most > budget as u64 / 2, "the budget is used: {most}");
    // 20,000 samples of over 2 KB each through a 256 KiB budget: nearly all dropped.
    assert!(stats.samples_evicted > 19_000, "{stats:?}");
    // State apart from samples stays small: the budget's queue is compacted.
    assert!(c.state_bytes() < 8 << 20, "{}", c.state_bytes());
    let attacker: Vec<_> = alerts
        .iter()
        .filter(|a| a.group[0].1.to_text() == "203.0.113.66")
        .collect();
    assert_eq!(attacker.len(), 1);
    assert_eq!(attacker[0].events.len(), 5, "its newest samples survived");
}

#[test]
fn groups_expire_when_their_events_leave_the_timespan() {
    let (set, [r0, ..]) = rules(
        "  type: event_count\n  rules: [r0]\n  group-by: [source.ip]\n  timespan: 1m\n  condition: {gte: 5}\n",
    );
    let mut c = Correlator::new(set, CorrelatorConfig::default());
    for i in 0..100 {
        c.process(&Detection::new(r0, &ip(0, &format!("k{i}")), at(0)));
    }
    assert_eq!(c.live_groups(), 100);
    c.process(&Detection::new(r0, &ip(61, "late"), at(61)));
    assert_eq!(c.live_groups(), 1);
    assert_eq!(c.stats().groups_expired, 100);
    assert_eq!(c.stats().groups_evicted, 0);
}

#[test]
fn snapshots_are_self_describing_and_checked() {
    let (set, [r0, ..]) = rules(
        "  type: event_count\n  rules: [r0]\n  group-by: [source.ip]\n  timespan: 1h\n  condition: {gte: 3}\n",
    );
    let mut c = Correlator::new(set.clone(), CorrelatorConfig::default());
    c.process(&Detection::new(r0, &ip(0, "a"), at(0)));
    c.process(&Detection::new(r0, &ip(1, "a"), at(1)));
    let json = c.snapshot().to_json();
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["format"], "siem-correlator-snapshot");
    assert_eq!(value["version"], 1);
    // The window survives: the third detection after restore fires.
    let (mut restored, report) = Correlator::restore(
        set.clone(),
        CorrelatorConfig::default(),
        &Snapshot::from_json(&json).unwrap(),
    )
    .unwrap();
    assert_eq!(report.groups_restored, 1);
    assert_eq!(
        restored
            .process(&Detection::new(r0, &ip(2, "a"), at(2)))
            .len(),
        1
    );

    // A changed rule keeps no state.
    let (changed, [c0, ..]) = rules(
        "  type: event_count\n  rules: [r0]\n  group-by: [source.ip]\n  timespan: 1h\n  condition: {gte: 4}\n",
    );
    let (mut other, report) = Correlator::restore(
        changed,
        CorrelatorConfig::default(),
        &Snapshot::from_json(&json).unwrap(),
    )
    .unwrap();
    assert_eq!(
        report.rules_dropped,
        [("c0".to_string(), "the rule changed".to_string())]
    );
    assert_eq!(other.live_groups(), 0);
    assert!(
        other
            .process(&Detection::new(c0, &ip(2, "a"), at(2)))
            .is_empty()
    );

    // Not a snapshot, another version, another partition.
    assert!(matches!(
        Snapshot::from_json("{}"),
        Err(SnapshotError::Json(_))
    ));
    let v2 = json.replace("\"version\":1", "\"version\":2");
    assert!(matches!(
        Snapshot::from_json(&v2),
        Err(SnapshotError::Format { version: 2, .. })
    ));
    let partitioned = CorrelatorConfig {
        partition: Some(Partition { index: 0, count: 2 }),
        ..CorrelatorConfig::default()
    };
    assert!(matches!(
        Correlator::restore(set, partitioned, &Snapshot::from_json(&json).unwrap()),
        Err(SnapshotError::Partition { .. })
    ));
}

#[test]
fn the_shared_correlator_equals_one_correlator_across_threads() {
    let (set, [r0, r1, _]) = rules(
        "  type: value_count\n  rules: [r0, r1]\n  group-by: [source.ip]\n  timespan: 10m\n  condition: {gte: 4, field: user.name}\n",
    );
    let per_thread = 4;
    let detections: Vec<Vec<(BaseRule, Event)>> = (0..per_thread)
        .map(|t| {
            (0..2_000)
                .map(|i| {
                    let rule = if i % 3 == 0 { r1 } else { r0 };
                    let e = event(
                        i,
                        &[
                            ("source.ip", &format!("10.0.{t}.{}", i % 37)),
                            ("user.name", &format!("u{}", i % 11)),
                        ],
                    );
                    (rule, e)
                })
                .collect()
        })
        .collect();
    // Threads run at different event times; a lateness covering the spread makes the result
    // independent of how they interleave (each shard has its own clock).
    let config = CorrelatorConfig {
        lateness: Duration::from_secs(86_400),
        ..CorrelatorConfig::default()
    };
    let shared = SharedCorrelator::new(set.clone(), config.clone(), 8);
    let mut from_threads: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = detections
            .iter()
            .map(|list| {
                let shared = &shared;
                s.spawn(move || {
                    let mut out = Vec::new();
                    for (rule, e) in list {
                        out.extend(shared.process(&Detection::new(*rule, e, e.timestamp.unwrap())));
                    }
                    out.iter().map(|a| a.to_json()).collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    from_threads.extend(shared.flush().iter().map(|a| a.to_json()));
    from_threads.sort();

    let mut single = Correlator::new(set, config);
    let mut expected: Vec<String> = Vec::new();
    for list in &detections {
        for (rule, e) in list {
            expected.extend(
                single
                    .process(&Detection::new(*rule, e, e.timestamp.unwrap()))
                    .iter()
                    .map(|a| a.to_json()),
            );
        }
    }
    expected.extend(single.flush().iter().map(|a| a.to_json()));
    expected.sort();
    assert!(expected.len() > 100, "{}", expected.len());
    assert!(
        from_threads == expected,
        "{} alerts from threads, {} from one correlator",
        from_threads.len(),
        expected.len()
    );
    assert_eq!(shared.stats().alerts as usize, expected.len());
}

#[test]
fn stats_count_what_happened() {
    let (set, [r0, r1, r2]) = rules(
        "  type: value_sum\n  rules: [r0, r1]\n  group-by: [source.ip]\n  timespan: 1m\n  condition: {gte: 10, field: n}\n",
    );
    let mut c = Correlator::new(set.clone(), CorrelatorConfig::default());
    let n = |s: i64, v: &str| event(s, &[("source.ip", "a"), ("n", v)]);
    c.process(&Detection::new(r0, &n(0, "4"), at(0)));
    c.process(&Detection::new(r1, &n(1, "six"), at(1)));
    let alerts = c.process(&Detection::new(r1, &n(2, "6"), at(2)));
    assert_eq!(alerts[0].rules, ["r0", "r1"]);
    assert_eq!(values(&alerts), ["10"]);
    assert_eq!(
        r2,
        BaseRule(u32::MAX),
        "r2 is not referenced, so it has no base index"
    );
    let stats = c.stats();
    assert_eq!(
        (
            stats.detections,
            stats.missing_value,
            stats.updates,
            stats.fires,
            stats.alerts
        ),
        (3, 1, 2, 1, 1)
    );
    assert_eq!(stats.groups_created, 1);
}

#[test]
fn thresholds_above_the_per_group_limit_still_fire_with_bounded_state() {
    let (set, [r0, ..]) = rules(
        "  type: event_count\n  rules: [r0]\n  group-by: [source.ip]\n  timespan: 1h\n  condition: {gte: 50}\n",
    );
    let config = CorrelatorConfig {
        max_values_per_group: 10,
        sample_events: 0,
        ..CorrelatorConfig::default()
    };
    let burst: Vec<_> = (0..120).map(|i| (r0, ip(i, "a"))).collect();
    let mut c = Correlator::new(set.clone(), config.clone());
    let mut alerts = Vec::new();
    for (rule, e) in &burst {
        alerts.extend(c.process(&Detection::new(*rule, e, e.timestamp.unwrap())));
    }
    assert_eq!(values(&alerts), ["50", "50"]);
    assert_eq!(alerts[0].timestamp, at(49));
    assert_eq!(alerts[0].window.unwrap().start, at(0));
    // Only ten timestamps are kept per group; the rest are counted.
    assert!(c.stats().values_dropped >= 80, "{:?}", c.stats());
    assert!(c.state_bytes() < 4_096, "{}", c.state_bytes());
    // The counted ones expire with the newest of them.
    let spread: Vec<_> = (0..60).map(|i| (r0, ip(i * 100, "b"))).collect();
    assert!(run(&set, config.clone(), &spread).is_empty());

    let (set, [r0, ..]) = rules(
        "  type: value_count\n  rules: [r0]\n  timespan: 1h\n  condition: {gt: 20, field: user.name}\n",
    );
    let users: Vec<_> = (0..30)
        .map(|i| (r0, event(i, &[("user.name", &format!("u{i}"))])))
        .collect();
    let alerts = run(&set, config, &users);
    assert_eq!(values(&alerts), ["21"]);
}
