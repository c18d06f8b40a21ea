//! The correlation benchmark's workload, shared by `benches/correlate.rs` (criterion) and
//! `examples/correlate_callgrind.rs` (the same feed under callgrind): a one-rule `event_count`
//! set and a stream of detections over many groups.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use compact_str::CompactString;

use crate::clock::thread_cpu_time;
use siem_core::alert::Alert;
use siem_core::correlate::{BaseRule, CorrelationSet, Correlator, CorrelatorConfig, Detection};
use siem_core::engine::Engine;
use siem_core::event::Event;
use siem_core::sigma::RuleId;
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
/// - hot: like a parser, which hands over the events it has just built, the stream refills a
///   pool of [`BATCH`] events ([`Stream::fill`]: each event's `source.ip`, and `user.name`,
///   from precomputed values read in order, and its time), then hands them to the correlator
///   ([`Stream::run`], one at a time or as one batch). The events are in the cache, as a
///   parser's output is; the correlator's own memory traffic (group index, slot) is what it
///   is. The refill is the parser's work, measured in the parsing benches: the `_timed`
///   functions count the thread's CPU time of `run` only.
/// - cold (`feed_cold`): one million events built beforehand and visited in turn, each a
///   separate heap allocation that is no longer in any cache when its turn comes back: this adds
///   the cost of fetching a stored event from memory (two to three cache misses) to every update.
pub struct Stream {
    addresses: Vec<CompactString>,
    users: Vec<CompactString>,
    /// Hot events, refilled for each chunk of up to [`BATCH`] detections.
    pool: Vec<Event>,
    /// The time of each detection of the chunk in `pool` (or of the next cold chunk).
    times: Vec<DateTime<Utc>>,
    events: Vec<Event>,
    next: usize,
    /// The time of the last detection fed.
    pub time: DateTime<Utc>,
    /// How far the time advances per detection.
    pub step: chrono::Duration,
    /// Stamp each event with its time truncated to the second, as syslog writes it: the many
    /// detections of one second are then released together from a reorder buffer.
    pub whole_seconds: bool,
    /// Hand the events over in `Arc`s ([`Detection::shared`]), as the `Engine` does, so that
    /// a reorder buffer shares them instead of copying them: [`Stream::fill`] builds a new
    /// `Arc` per detection (the parser's fresh event), which the correlator drops when done.
    pub share_events: bool,
    shared_pool: Vec<Arc<Event>>,
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
            pool,
            times: Vec::with_capacity(BATCH),
            events,
            next: 0,
            time: start(),
            step,
            whole_seconds: false,
            share_events: false,
            shared_pool: Vec::with_capacity(BATCH),
        }
    }

    /// Refills the first `k` (at most [`BATCH`]) events of the pool for the next `k` detections.
    pub fn fill(&mut self, k: usize) {
        self.times.clear();
        self.shared_pool.clear();
        for event in &mut self.pool[..k] {
            let i = self.next % self.addresses.len();
            self.next += 1;
            self.time += self.step;
            event.insert("source.ip", self.addresses[i].clone());
            if let Some(u) = self.users.get(i) {
                event.insert("user.name", u.clone());
            }
            let time = if self.whole_seconds {
                DateTime::from_timestamp(self.time.timestamp(), 0).unwrap_or(self.time)
            } else {
                self.time
            };
            event.timestamp = Some(time);
            self.times.push(time);
            if self.share_events {
                self.shared_pool.push(Arc::new(event.clone()));
            }
        }
    }

    /// The first `k` events of the pool (as [`Stream::fill`] left them) to the correlator: one
    /// at a time (each arrived at its own time), or as one batch (arrived at the last time).
    pub fn run(&self, correlator: &mut Correlator, base: BaseRule, k: usize, batch: bool) -> usize {
        if batch {
            let time = self.times[k - 1];
            let detections: Vec<Detection> = self.pool[..k]
                .iter()
                .map(|e| Detection::new(base, e, time))
                .collect();
            correlator.process_batch(&detections).len()
        } else if self.share_events {
            self.shared_pool[..k]
                .iter()
                .zip(&self.times)
                .map(|(e, &t)| correlator.process(&Detection::shared(base, e, t)).len())
                .sum()
        } else {
            self.pool[..k]
                .iter()
                .zip(&self.times)
                .map(|(e, &t)| correlator.process(&Detection::new(base, e, t)).len())
                .sum()
        }
    }

    /// `n` hot detections, one at a time or in batches of [`BATCH`]: [`Stream::fill`] and
    /// [`Stream::run`] per chunk of [`BATCH`]. Returns the alerts and the thread CPU time the
    /// correlator took (`run` only).
    pub fn feed_timed(
        &mut self,
        correlator: &mut Correlator,
        base: BaseRule,
        n: usize,
        batch: bool,
    ) -> (usize, Duration) {
        let mut alerts = 0;
        let mut spent = Duration::ZERO;
        for k in chunks(n) {
            self.fill(k);
            let start = thread_cpu_time();
            alerts += self.run(correlator, base, k, batch);
            spent += thread_cpu_time().saturating_sub(start);
        }
        (alerts, spent)
    }

    /// `n` hot detections one at a time (see [`Stream::feed_timed`]).
    pub fn feed(&mut self, correlator: &mut Correlator, base: BaseRule, n: usize) -> usize {
        self.feed_timed(correlator, base, n, false).0
    }

    /// `n` detections on the stored events (built with `cold`), visited in turn, one at a time
    /// or in batches of [`BATCH`]. Returns the alerts and the thread CPU time of the
    /// correlator's part: the times are computed beforehand, but each event's timestamp is set
    /// in the timed part, just before the correlator reads the event, so that the event is
    /// fetched from memory there (and only there).
    pub fn feed_cold_timed(
        &mut self,
        correlator: &mut Correlator,
        base: BaseRule,
        n: usize,
        batch: bool,
    ) -> (usize, Duration) {
        let mut alerts = 0;
        let mut spent = Duration::ZERO;
        let len = self.events.len();
        for k in chunks(n) {
            self.times.clear();
            for _ in 0..k {
                self.time += self.step;
                self.times.push(self.time);
            }
            let first = self.next;
            self.next += k;
            let start = thread_cpu_time();
            if batch {
                for (j, &t) in self.times.iter().enumerate() {
                    self.events[(first + j) % len].timestamp = Some(t);
                }
                let time = self.time;
                let detections: Vec<Detection> = (0..k)
                    .map(|j| Detection::new(base, &self.events[(first + j) % len], time))
                    .collect();
                alerts += correlator.process_batch(&detections).len();
            } else {
                for (j, &t) in self.times.iter().enumerate() {
                    let event = &mut self.events[(first + j) % len];
                    event.timestamp = Some(t);
                    alerts += correlator.process(&Detection::new(base, event, t)).len();
                }
            }
            spent += thread_cpu_time().saturating_sub(start);
        }
        (alerts, spent)
    }
}

/// The sizes of the chunks `n` detections are fed in: [`BATCH`] each, the last one smaller.
pub fn chunks(n: usize) -> impl Iterator<Item = usize> {
    (0..n)
        .step_by(BATCH)
        .map(move |start| (n - start).min(BATCH))
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

/// The rules of the `engine/...` cases: a detection rule every stream event matches
/// (`event.outcome: failure`, logsource product `bench`) and the benches' `event_count`
/// correlation over it.
pub const ENGINE_RULES: &str = "title: failed login
name: failed_login
logsource: {product: bench}
detection: {selection: {event.outcome: failure}, condition: selection}
---
title: bench
correlation: {type: event_count, rules: [failed_login], group-by: [source.ip], timespan: 1h, condition: {gte: 5}}
";

/// An `Engine` with [`ENGINE_RULES`] and its defaults: a two-second reorder buffer, eight
/// correlation shards, five sampled events per group, at most one million groups.
pub fn engine() -> Engine {
    let mut builder = Engine::builder();
    builder.rules_yaml(ENGINE_RULES, Some("bench.yml"));
    // The cap on groups is for all eight shards together, an eighth each: a million live
    // groups spread by a hash fill some shares past 125,000, so the cap is set with room.
    // Everything else is the engine's default (lateness, samples and their byte budget).
    builder.correlator(CorrelatorConfig {
        max_groups: 1_200_000,
        lateness: siem_core::engine::DEFAULT_LATENESS,
        ..CorrelatorConfig::default()
    });
    let (engine, errors) = builder.build();
    assert!(errors.is_empty(), "{errors:?}");
    engine
}

impl Stream {
    /// The next `k` (at most [`BATCH`]) events as the engine's ordered stage receives them:
    /// refilled ([`Stream::fill`]), copied out of the pool (the engine takes events by value),
    /// stamped with the `bench` logsource, and matched (`Engine::match_event`, as `siem scan`'s
    /// workers do).
    pub fn engine_chunk(&mut self, engine: &Engine, k: usize) -> Vec<(Event, Vec<RuleId>)> {
        self.fill(k);
        self.pool[..k]
            .iter()
            .map(|event| {
                let mut event = event.clone();
                event.logsource.product = Some("bench".into());
                let matched = engine.match_event(&event);
                assert_eq!(matched.len(), 1, "every stream event matches the rule");
                (event, matched)
            })
            .collect()
    }

    /// `n` detections through the engine's stateful half, `Engine::process_matched_at` (the
    /// correlator behind its shards' locks, the alert samples, the alert policy), one event
    /// at a time, each arrived at its own time; chunks from [`Stream::engine_chunk`]. Returns
    /// the alerts and the thread CPU time of `process_matched_at` only.
    pub fn feed_engine_timed(&mut self, engine: &Engine, n: usize) -> (usize, Duration) {
        let mut alerts = 0;
        let mut spent = Duration::ZERO;
        let mut out: Vec<Alert> = Vec::new();
        for k in chunks(n) {
            let chunk = self.engine_chunk(engine, k);
            let times = self.times.clone();
            let start = thread_cpu_time();
            process_matched(engine, chunk, &times, &mut out);
            spent += thread_cpu_time().saturating_sub(start);
            alerts += out.len();
            out.clear();
        }
        (alerts, spent)
    }
}

/// The timed part of [`Stream::feed_engine_timed`] (a function of its own so that callgrind
/// can collect it alone: `--toggle-collect='*correlation::process_matched'`).
#[inline(never)]
pub fn process_matched(
    engine: &Engine,
    chunk: Vec<(Event, Vec<RuleId>)>,
    times: &[DateTime<Utc>],
    out: &mut Vec<Alert>,
) {
    for ((event, matched), &time) in chunk.into_iter().zip(times) {
        engine.process_matched_at(event, matched, time, out);
    }
}
