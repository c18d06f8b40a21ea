//! Correlation throughput and memory.
//!
//! - `event_count/1M_live_groups`: detections spread over one million source addresses, all
//!   groups live (each address recurs within the time span), none reaching the threshold, so
//!   every detection is a pure window update: hash the group key, find the group, slide its
//!   ring, check the condition, move it to the back of the expiry queue. The event comes
//!   cache-hot, as from a parser (see `Stream`).
//! - `event_count/1M_live_groups/cold_events`: the same, each detection's event fetched from a
//!   million stored events (the memory misses of fetching the event counted too).
//! - `event_count/10k_live_groups`: the same over ten thousand groups, whose state fits in the
//!   processor's caches: the cost of the work itself, without memory latency.
//! - `event_count/flood_1M_cap`: every detection is a new address (a flood of distinct keys)
//!   with the cap at one million groups: each update also evicts the stalest group.
//! - `value_count/100k_groups`: distinct-user counting per address.
//!
//! Each `event_count` case runs twice: one detection at a time (`Correlator::process`), and in
//! batches of 256 (`.../batch`, `Correlator::process_batch`, which computes the group keys of a
//! batch first and prefetches their index buckets and slots, so that the memory misses of
//! several updates overlap).
//!
//! The time measured is the benchmark thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`), so the
//! figures are per core even on a machine busy with other work (cache sharing with the other
//! work still shows).
//!
//! Bytes per group are measured with a counting allocator (everything the correlator allocates
//! while one million groups are created, divided by one million) and printed next to the
//! correlator's own accounting (`Correlator::state_bytes`).
//!
//! Run: `cargo bench -p siem-benches --bench correlate`

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use compact_str::CompactString;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use siem_benches::clock::{cpu_iter, thread_cpu_time};
use siem_core::correlate::{BaseRule, CorrelationSet, Correlator, CorrelatorConfig, Detection};
use siem_core::event::Event;
use siem_core::sigma::RuleMeta;
use siem_core::sigma::correlation::CorrelationRule;

/// Counts live heap bytes.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const GROUPS: usize = 1_000_000;

/// Detections per `process_batch` call in the `/batch` cases.
const BATCH: usize = 256;

fn set(yaml: &str) -> (Arc<CorrelationSet>, BaseRule) {
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

fn address(i: usize) -> String {
    format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255)
}

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
struct Stream {
    addresses: Vec<CompactString>,
    users: Vec<CompactString>,
    event: Event,
    /// Hot events for the batched cases, one per detection of a batch.
    pool: Vec<Event>,
    events: Vec<Event>,
    next: usize,
    time: DateTime<Utc>,
    step: chrono::Duration,
}

impl Stream {
    fn new(groups: usize, users: usize, cold: bool) -> Stream {
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
    fn feed(&mut self, correlator: &mut Correlator, base: BaseRule, n: usize) -> usize {
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
    fn feed_batch(&mut self, correlator: &mut Correlator, base: BaseRule, n: usize) -> usize {
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
    fn feed_cold_batch(&mut self, correlator: &mut Correlator, base: BaseRule, n: usize) -> usize {
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
    fn feed_cold(&mut self, correlator: &mut Correlator, base: BaseRule, n: usize) -> usize {
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

fn config() -> CorrelatorConfig {
    CorrelatorConfig {
        max_groups: GROUPS,
        sample_events: 0,
        ..CorrelatorConfig::default()
    }
}

fn event_count(c: &mut Criterion) {
    let (set, base) = set(
        "correlation: {type: event_count, rules: [failed_login], group-by: [source.ip], timespan: 1h, condition: {gte: 5}}",
    );
    let mut stream = Stream::new(GROUPS, 0, true);

    // Memory: everything allocated while one million groups come to life.
    let before = LIVE.load(Ordering::Relaxed);
    let mut correlator = Correlator::new(set.clone(), config());
    stream.feed(&mut correlator, base, GROUPS);
    let after = LIVE.load(Ordering::Relaxed);
    assert_eq!(correlator.live_groups(), GROUPS);
    println!(
        "event_count gte 5: {} live groups, {:.1} bytes/group allocated ({:.1} by Correlator::state_bytes)",
        correlator.live_groups(),
        (after - before) as f64 / GROUPS as f64,
        correlator.state_bytes() as f64 / GROUPS as f64
    );

    let mut group = c.benchmark_group("event_count");
    group.sample_size(10);
    let batch = 200_000;
    group.throughput(Throughput::Elements(batch as u64));
    group.bench_function("1M_live_groups", |b| {
        cpu_iter(b, || stream.feed(&mut correlator, base, batch));
    });
    group.bench_function("1M_live_groups/batch", |b| {
        cpu_iter(b, || stream.feed_batch(&mut correlator, base, batch));
    });
    group.bench_function("1M_live_groups/cold_events", |b| {
        cpu_iter(b, || stream.feed_cold(&mut correlator, base, batch));
    });
    group.bench_function("1M_live_groups/cold_events/batch", |b| {
        cpu_iter(b, || stream.feed_cold_batch(&mut correlator, base, batch));
    });
    assert_eq!(correlator.live_groups(), GROUPS);
    assert_eq!(correlator.stats().alerts, 0);
    assert_eq!(correlator.stats().groups_evicted, 0);
    drop(correlator);

    // The same with state that fits in the processor's caches: the cost of the work itself.
    let small = 10_000;
    let mut small_stream = Stream::new(small, 0, false);
    let mut small_correlator = Correlator::new(set.clone(), config());
    small_stream.feed(&mut small_correlator, base, small);
    group.bench_function("10k_live_groups", |b| {
        cpu_iter(b, || small_stream.feed(&mut small_correlator, base, batch));
    });
    group.bench_function("10k_live_groups/batch", |b| {
        cpu_iter(b, || {
            small_stream.feed_batch(&mut small_correlator, base, batch)
        });
    });
    assert_eq!(small_correlator.live_groups(), small);
    assert_eq!(small_correlator.stats().alerts, 0);
    drop(small_correlator);

    // A flood: every detection a new address, one million groups held at most.
    let mut correlator = Correlator::new(set, config());
    stream.feed(&mut correlator, base, GROUPS);
    let mut round = 0usize;
    // Fresh addresses for each round, built outside the measurement.
    let mut flood = |time: &mut DateTime<Utc>, step| {
        round += 1;
        (0..batch)
            .map(|i| {
                let mut e = Event::new();
                e.insert(
                    "source.ip",
                    format!("172.{}.{}.{}", round & 255, (i >> 8) & 1023, i & 255).as_str(),
                );
                *time += step;
                e.timestamp = Some(*time);
                e
            })
            .collect::<Vec<Event>>()
    };
    for batched in [false, true] {
        let name = if batched {
            "flood_1M_cap/batch"
        } else {
            "flood_1M_cap"
        };
        group.bench_function(name, |b| {
            b.iter_custom(|iterations| {
                let mut spent = Duration::ZERO;
                for _ in 0..iterations {
                    let events = flood(&mut stream.time, stream.step);
                    let detections: Vec<Detection> = events
                        .iter()
                        .map(|e| Detection::new(base, e, e.timestamp.unwrap()))
                        .collect();
                    let start = thread_cpu_time();
                    let n = if batched {
                        detections
                            .chunks(BATCH)
                            .map(|c| correlator.process_batch(c).len())
                            .sum::<usize>()
                    } else {
                        detections
                            .iter()
                            .map(|d| correlator.process(d).len())
                            .sum::<usize>()
                    };
                    spent += thread_cpu_time().saturating_sub(start);
                    black_box(n);
                }
                spent
            });
        });
    }
    assert!(correlator.live_groups() <= GROUPS);
    println!(
        "flood: {} groups live, {} evicted, {:.1} bytes/group by Correlator::state_bytes",
        correlator.live_groups(),
        correlator.stats().groups_evicted,
        correlator.state_bytes() as f64 / correlator.live_groups() as f64
    );
    group.finish();
}

fn value_count(c: &mut Criterion) {
    let (set, base) = set(
        "correlation: {type: value_count, rules: [failed_login], group-by: [source.ip], timespan: 1h, condition: {gt: 5, field: user.name}}",
    );
    let groups = 100_000;
    let mut stream = Stream::new(groups, 3, false);
    let mut correlator = Correlator::new(set, config());
    stream.feed(&mut correlator, base, groups);
    let mut group = c.benchmark_group("value_count");
    group.sample_size(10);
    let batch = 200_000;
    group.throughput(Throughput::Elements(batch as u64));
    group.bench_function("100k_groups", |b| {
        cpu_iter(b, || stream.feed(&mut correlator, base, batch));
    });
    group.finish();
}

criterion_group!(benches, event_count, value_count);
criterion_main!(benches);
