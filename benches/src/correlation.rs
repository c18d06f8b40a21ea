//! The correlation benchmark's workload, shared by `benches/correlate.rs` (criterion) and
//! `examples/correlate_callgrind.rs` (the same feed under callgrind): a one-rule `event_count`
//! set and a stream of detections over many groups.

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use compact_str::CompactString;
use siem_core::correlate::{BaseRule, CorrelationSet, Correlator, CorrelatorConfig, Detection};
use siem_core::event::Event;
use siem_core::sigma::RuleMeta;
use siem_core::sigma::correlation::CorrelationRule;

/// Detections per `process_batch` call in the `/batch` cases.
pub const BATCH: usize = 256;

/// The correlation set of one rule (`yaml`) over the base rule `failed_login`, and that base
/// rule.
pub fn set(yaml: &str) -> (Arc<CorrelationSet>, BaseRule) {
    let doc: yaml_serde::Value = yaml_serde::from_str(yaml).unwrap();
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
    (Arc::new(set), base)
}

/// The `i`-th group's source address.
fn address(i: usize) -> String {
    format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255)
}

/// The stream's first event time.
fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 1, 0, 0, 0).unwrap()
}

/// A stream over the groups in a scattered order, with event time advancing so that a full pass
/// over all groups spans 20 minutes (inside the 1 h time span, below the threshold).
///
/// Two ways to hand the correlator its events:
///
/// - hot (`feed`): like a parser, which hands over the event it has just built, the stream
///   fills one event per detection (sets its `source.ip`, and `user.name`, from precomputed
///   values read in order; the time includes these inserts). What is measured is the
///   correlator's own work and its own memory traffic (group index, slot).
/// - cold (`feed_cold`): one million events built beforehand and visited in turn, each a
///   separate heap allocation that is no longer in any cache when its turn comes back: this adds
///   the cost of fetching a stored event from memory (two to three cache misses) to every update.
pub struct Stream {
    addresses: Vec<CompactString>,
    users: Vec<CompactString>,
    event: Event,
    /// Hot events for the batched cases, one per detection of a batch.
    pool: Vec<Event>,
    events: Vec<Event>,
    next: usize,
    /// The time of the last detection fed.
    pub time: DateTime<Utc>,
    /// How far the time advances per detection.
    pub step: chrono::Duration,
}

impl Stream {
    pub fn new(groups: usize, users: usize, cold: bool) -> Stream {
        // Addresses are scattered over the groups by a fixed odd multiplier, so the
        // correlator's state is hit in a cache-hostile order.
        let scattered = |k: usize| ((k as u64 * 2_654_435_761) % groups as u64) as usize;
        let addresses: Vec<CompactString> = (0..groups)
            .map(|k| CompactString::from(address(scattered(k))))
            .collect();
        let users: Vec<CompactString> = if users > 0 {
            (0..groups)
                .map(|k| CompactString::from(format!("user{}", (scattered(k) * 7) % users)))
                .collect()
        } else {
            Vec::new()
        };
        let build = |k: usize| {
            let mut e = Event::new();
            e.insert("source.ip", addresses[k].clone());
            e.insert("event.outcome", "failure");
            if let Some(u) = users.get(k) {
                e.insert("user.name", u.clone());
            }
            e
        };
        let event = build(0);
        let pool = (0..BATCH).map(build).collect();
        let events = if cold {
            (0..groups).map(build).collect()
        } else {
            Vec::new()
        };
        let step = chrono::Duration::nanoseconds(20 * 60 * 1_000_000_000 / groups as i64);
        Stream {
            addresses,
            users,
            event,
            pool,
            events,
            next: 0,
            time: start(),
            step,
        }
    }

    /// `n` detections, each on the one hot event refilled for its group.
    pub fn feed(&mut self, correlator: &mut Correlator, base: BaseRule, n: usize) -> usize {
        let mut alerts = 0;
        for _ in 0..n {
            let i = self.next % self.addresses.len();
            self.next += 1;
            self.time += self.step;
            let event = &mut self.event;
            event.insert("source.ip", self.addresses[i].clone());
            if let Some(u) = self.users.get(i) {
                event.insert("user.name", u.clone());
            }
            event.timestamp = Some(self.time);
            alerts += correlator
                .process(&Detection::new(base, event, self.time))
                .len();
        }
        alerts
    }

    /// `n` detections in batches of [`BATCH`], each batch on the hot events of the pool
    /// refilled for its groups.
    pub fn feed_batch(&mut self, correlator: &mut Correlator, base: BaseRule, n: usize) -> usize {
        let mut alerts = 0;
        let mut left = n;
        while left > 0 {
            let k = left.min(BATCH);
            left -= k;
            for event in &mut self.pool[..k] {
                let i = self.next % self.addresses.len();
                self.next += 1;
                self.time += self.step;
                event.insert("source.ip", self.addresses[i].clone());
                if let Some(u) = self.users.get(i) {
                    event.insert("user.name", u.clone());
                }
                event.timestamp = Some(self.time);
            }
            let time = self.time;
            let detections: Vec<Detection> = self.pool[..k]
                .iter()
                .map(|e| Detection::new(base, e, time))
                .collect();
            alerts += correlator.process_batch(&detections).len();
        }
        alerts
    }

    /// `n` detections in batches of [`BATCH`] on the stored events (built with `cold`).
    pub fn feed_cold_batch(
        &mut self,
        correlator: &mut Correlator,
        base: BaseRule,
        n: usize,
    ) -> usize {
        let mut alerts = 0;
        let mut left = n;
        while left > 0 {
            let k = left.min(BATCH);
            left -= k;
            let first = self.next;
            for j in 0..k {
                self.time += self.step;
                let len = self.events.len();
                self.events[(first + j) % len].timestamp = Some(self.time);
            }
            self.next += k;
            let time = self.time;
            let len = self.events.len();
            let detections: Vec<Detection> = (0..k)
                .map(|j| Detection::new(base, &self.events[(first + j) % len], time))
                .collect();
            alerts += correlator.process_batch(&detections).len();
        }
        alerts
    }

    /// `n` detections on the stored events (built with `cold`), visited in turn.
    pub fn feed_cold(&mut self, correlator: &mut Correlator, base: BaseRule, n: usize) -> usize {
        let mut alerts = 0;
        for _ in 0..n {
            let i = self.next % self.events.len();
            self.next += 1;
            self.time += self.step;
            let event = &mut self.events[i];
            event.timestamp = Some(self.time);
            alerts += correlator
                .process(&Detection::new(base, event, self.time))
                .len();
        }
        alerts
    }
}

/// The correlator's configuration in these benches: at most `max_groups` live groups, no
/// sampled events kept with alerts.
pub fn config(max_groups: usize) -> CorrelatorConfig {
    CorrelatorConfig {
        max_groups,
        sample_events: 0,
        ..CorrelatorConfig::default()
    }
}
