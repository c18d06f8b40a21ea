//! Correlation throughput and memory.
//!
//! - `event_count/1M_live_groups`: detections spread over one million source addresses, all
//!   groups live (each address recurs within the time span), none reaching the threshold, so
//!   every detection is a pure window update: hash the group key, find the group, slide its
//!   ring, check the condition, move it to the back of the expiry queue. The events come
//!   cache-hot, as from a parser: refilled in chunks of 256 outside the timed part (see
//!   `Stream`).
//! - `event_count/1M_live_groups/cold_events`: the same, each detection's event fetched from a
//!   million stored events (the memory misses of fetching the event counted too).
//! - `event_count/1M_live_groups/reordered_2s`: the same through a reorder buffer, as the
//!   `Engine` feeds its correlator (lateness two seconds, the engine's default), with syslog's
//!   whole-second timestamps, one detection at a time, each event handed over in an `Arc` as the
//!   engine does (`Detection::shared`: the buffer shares it, the correlator drops it when
//!   applied); the detections of a second are applied together when the watermark passes it.
//! - `event_count/engine/1M_live_groups`: the same stream through the `Engine`'s stateful half
//!   (`Engine::process_matched_at`, what `siem scan`, the server and the bindings call after
//!   matching) with the engine's defaults: two-second reorder buffer, eight locked shards, five
//!   sampled events per group kept for alerts, the alert policy. Matching and the events'
//!   refill are not timed.
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
//! work still shows). It is read around each chunk of 256 detections handed to the correlator,
//! not around the refill of their events (the parsers' work, measured in their own benches).
//!
//! Bytes per group are measured with a counting allocator (everything the correlator allocates
//! while one million groups are created, divided by one million) and printed next to the
//! correlator's own accounting (`Correlator::state_bytes`).
//!
//! Run: `cargo bench -p siem-benches --bench correlate`

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use siem_benches::clock::thread_cpu_time;
use siem_benches::correlation::{self, BATCH, Stream, set};
use siem_core::correlate::{Correlator, CorrelatorConfig, Detection};
use siem_core::event::Event;

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

fn config() -> CorrelatorConfig {
    siem_benches::correlation::config(GROUPS)
}

/// Times one criterion iteration by the CPU time `f` reports (the correlator's part of a
/// feed), its alerts kept from the optimizer with `black_box`.
fn cpu_spent(b: &mut criterion::Bencher<'_>, mut f: impl FnMut() -> (usize, Duration)) {
    b.iter_custom(|iterations| {
        let mut spent = Duration::ZERO;
        for _ in 0..iterations {
            let (alerts, d) = f();
            black_box(alerts);
            spent += d;
        }
        spent
    })
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
        cpu_spent(b, || stream.feed_timed(&mut correlator, base, batch, false));
    });
    group.bench_function("1M_live_groups/batch", |b| {
        cpu_spent(b, || stream.feed_timed(&mut correlator, base, batch, true));
    });
    group.bench_function("1M_live_groups/cold_events", |b| {
        cpu_spent(b, || {
            stream.feed_cold_timed(&mut correlator, base, batch, false)
        });
    });
    group.bench_function("1M_live_groups/cold_events/batch", |b| {
        cpu_spent(b, || {
            stream.feed_cold_timed(&mut correlator, base, batch, true)
        });
    });
    assert_eq!(correlator.live_groups(), GROUPS);
    assert_eq!(correlator.stats().alerts, 0);
    assert_eq!(correlator.stats().groups_evicted, 0);
    drop(correlator);

    // The engine's path: a reorder buffer (the engine's default lateness, two seconds) and
    // syslog's whole-second timestamps, one detection at a time.
    let mut reordered_stream = Stream::new(GROUPS, 0, false);
    reordered_stream.whole_seconds = true;
    reordered_stream.share_events = true;
    let mut reordered = Correlator::new(
        set.clone(),
        CorrelatorConfig {
            lateness: Duration::from_secs(2),
            ..config()
        },
    );
    reordered_stream.feed(&mut reordered, base, GROUPS);
    group.bench_function("1M_live_groups/reordered_2s", |b| {
        cpu_spent(b, || {
            reordered_stream.feed_timed(&mut reordered, base, batch, false)
        });
    });
    assert!(
        reordered.stats().pending > 0,
        "the reorder buffer was never used"
    );
    // (The detections still waiting, which may create groups, are applied first.)
    assert!(reordered.flush().is_empty());
    let stats = reordered.stats();
    assert_eq!(reordered.live_groups(), GROUPS);
    assert_eq!(
        (stats.alerts, stats.late_dropped, stats.reorder_overflow),
        (0, 0, 0)
    );
    drop(reordered);
    drop(reordered_stream);

    // What the `Engine` (`siem scan`, the server, the bindings) adds around it: its defaults
    // (two-second reorder buffer, eight locked shards, five sampled events per group), events
    // handed over by value and shared, the alert policy.
    let mut engine_stream = Stream::new(GROUPS, 0, false);
    engine_stream.whole_seconds = true;
    let before = LIVE.load(Ordering::Relaxed);
    let engine = correlation::engine();
    engine_stream.feed_engine_timed(&engine, GROUPS);
    let after = LIVE.load(Ordering::Relaxed);
    let stats = engine.stats().correlator;
    println!(
        "engine defaults: {} live groups, one detection each, {:.1} bytes/group allocated (sampled events included: {:.1} MiB held within the default budget of 64 MiB, {} dropped oldest first)",
        stats.groups_live,
        (after - before) as f64 / GROUPS as f64,
        stats.sample_bytes as f64 / f64::from(1 << 20),
        stats.samples_evicted,
    );
    group.bench_function("engine/1M_live_groups", |b| {
        cpu_spent(b, || engine_stream.feed_engine_timed(&engine, batch));
    });
    assert!(engine.flush().is_empty());
    let stats = engine.stats().correlator;
    assert_eq!(stats.groups_live, GROUPS as u64);
    assert_eq!(
        (stats.alerts, stats.late_dropped, stats.reorder_overflow),
        (0, 0, 0)
    );
    drop(engine);
    drop(engine_stream);

    // The same with state that fits in the processor's caches: the cost of the work itself.
    let small = 10_000;
    let mut small_stream = Stream::new(small, 0, false);
    let mut small_correlator = Correlator::new(set.clone(), config());
    small_stream.feed(&mut small_correlator, base, small);
    group.bench_function("10k_live_groups", |b| {
        cpu_spent(b, || {
            small_stream.feed_timed(&mut small_correlator, base, batch, false)
        });
    });
    group.bench_function("10k_live_groups/batch", |b| {
        cpu_spent(b, || {
            small_stream.feed_timed(&mut small_correlator, base, batch, true)
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
        cpu_spent(b, || stream.feed_timed(&mut correlator, base, batch, false));
    });
    group.finish();
}

criterion_group!(benches, event_count, value_count);
criterion_main!(benches);
