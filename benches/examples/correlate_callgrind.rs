//! The `correlate` bench's hot `event_count` feed (`event_count/10k_live_groups`, one at a
//! time or in batches of 256) as a plain program, for instruction counts under callgrind, which
//! are deterministic where wall-clock figures on a shared machine are not:
//!
//! ```text
//! cargo build --profile bench -p siem-benches --example correlate_callgrind
//! valgrind --tool=callgrind --toggle-collect='correlate_callgrind::hot' \
//!     target/release/examples/correlate_callgrind 10000 200000
//! valgrind --tool=callgrind --toggle-collect='correlate_callgrind::hot_batch' \
//!     target/release/examples/correlate_callgrind 10000 200000 batch
//! ```
//!
//! Arguments: groups (10,000), detections (200,000), `batch`. Only the functions `hot` and
//! `hot_batch` are collected: the refill of the event (as in the bench) and the correlator.
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use compact_str::CompactString;
use siem_core::correlate::{BaseRule, CorrelationSet, Correlator, CorrelatorConfig, Detection};
use siem_core::event::Event;
use siem_core::sigma::RuleMeta;
use siem_core::sigma::correlation::CorrelationRule;

struct S {
    addresses: Vec<CompactString>,
    event: Event,
    pool: Vec<Event>,
    next: usize,
    time: DateTime<Utc>,
    step: chrono::Duration,
}

/// `n` detections one at a time, each on the one event refilled for its group.
#[inline(never)]
fn hot(s: &mut S, c: &mut Correlator, base: BaseRule, n: usize) -> usize {
    let mut alerts = 0;
    for _ in 0..n {
        let i = s.next % s.addresses.len();
        s.next += 1;
        s.time += s.step;
        s.event.insert("source.ip", s.addresses[i].clone());
        s.event.timestamp = Some(s.time);
        alerts += c.process(&Detection::new(base, &s.event, s.time)).len();
    }
    alerts
}

/// `n` detections in batches of 256 on the pooled events refilled for their groups.
#[inline(never)]
fn hot_batch(s: &mut S, c: &mut Correlator, base: BaseRule, n: usize) -> usize {
    let mut alerts = 0;
    let mut left = n;
    while left > 0 {
        let k = left.min(256);
        left -= k;
        for event in &mut s.pool[..k] {
            let i = s.next % s.addresses.len();
            s.next += 1;
            s.time += s.step;
            event.insert("source.ip", s.addresses[i].clone());
            event.timestamp = Some(s.time);
        }
        let time = s.time;
        let d: Vec<Detection> = s.pool[..k]
            .iter()
            .map(|e| Detection::new(base, e, time))
            .collect();
        alerts += c.process_batch(&d).len();
    }
    alerts
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let groups: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let n: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(200_000);
    let batch = args.get(3).is_some_and(|a| a == "batch");
    let doc: yaml_serde::Value = yaml_serde::from_str("correlation: {type: event_count, rules: [failed_login], group-by: [source.ip], timespan: 1h, condition: {gte: 5}}").unwrap();
    let rule = CorrelationRule::from_yaml(
        RuleMeta {
            title: "bench".into(),
            ..RuleMeta::default()
        },
        &doc,
    )
    .unwrap();
    let set =
        CorrelationSet::build(vec![rule], |r: &str| (r == "failed_login").then_some(0u32)).unwrap();
    let base = set.base_rule(0).unwrap();
    let set = Arc::new(set);
    let scattered = |k: usize| ((k as u64 * 2_654_435_761) % groups as u64) as usize;
    let addresses: Vec<CompactString> = (0..groups)
        .map(|k| {
            let i = scattered(k);
            CompactString::from(format!(
                "10.{}.{}.{}",
                (i >> 16) & 255,
                (i >> 8) & 255,
                i & 255
            ))
        })
        .collect();
    let build = |k: usize| {
        let mut e = Event::new();
        e.insert("source.ip", addresses[k].clone());
        e.insert("event.outcome", "failure");
        e
    };
    let mut s = S {
        event: build(0),
        pool: (0..256).map(build).collect(),
        addresses: addresses.clone(),
        next: 0,
        time: Utc.with_ymd_and_hms(2024, 5, 1, 0, 0, 0).unwrap(),
        step: chrono::Duration::nanoseconds(20 * 60 * 1_000_000_000 / groups as i64),
    };
    let config = CorrelatorConfig {
        max_groups: 1_000_000,
        sample_events: 0,
        ..CorrelatorConfig::default()
    };
    let mut c = Correlator::new(set, config);
    hot(&mut s, &mut c, base, groups);
    let t = std::time::Instant::now();
    let a = if batch {
        hot_batch(&mut s, &mut c, base, n)
    } else {
        hot(&mut s, &mut c, base, n)
    };
    let e = t.elapsed();
    println!(
        "{a} alerts, {:.2} M/s, {:?}",
        n as f64 / e.as_secs_f64() / 1e6,
        c.stats()
    );
}
