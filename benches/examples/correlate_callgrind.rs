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
//! valgrind --tool=callgrind --toggle-collect='*correlation::process_matched' \
//!     target/release/examples/correlate_callgrind 10000 200000 engine
//! ```
//!
//! Arguments: groups (10,000), detections (200,000), and a mode: none (one at a time),
//! `batch`, `reordered` (one at a time through a two-second reorder buffer with whole-second
//! timestamps, the bench's `1M_live_groups/reordered_2s`) or `engine` (the bench's
//! `engine/1M_live_groups`: `Engine::process_matched_at` with the engine's defaults). Only the
//! function named is collected: the correlator's (or the engine's stateful) part of each chunk
//! of 256 detections, as the bench times it; the refill of the events (`Stream::fill`, the
//! parser's work), matching and the warm-up that creates the groups are not, so the counts
//! divided by the detections are the cost per update of a live group.
use siem_benches::correlation::{self, Stream, chunks, config, set};
use siem_core::correlate::{BaseRule, Correlator};

/// The pool's `k` detections one at a time.
#[inline(never)]
fn hot(s: &Stream, c: &mut Correlator, base: BaseRule, k: usize) -> usize {
    s.run(c, base, k, false)
}

/// The pool's `k` detections as one batch.
#[inline(never)]
fn hot_batch(s: &Stream, c: &mut Correlator, base: BaseRule, k: usize) -> usize {
    s.run(c, base, k, true)
}

/// `n` detections in chunks of `BATCH`: refilled, then handed over by `hot` or `hot_batch`.
fn feed(s: &mut Stream, c: &mut Correlator, base: BaseRule, n: usize, batch: bool) -> usize {
    let mut alerts = 0;
    for k in chunks(n) {
        s.fill(k);
        alerts += if batch {
            hot_batch(s, c, base, k)
        } else {
            hot(s, c, base, k)
        };
    }
    alerts
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let groups: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let n: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(200_000);
    let batch = args.get(3).is_some_and(|a| a == "batch");
    let reordered = args.get(3).is_some_and(|a| a == "reordered");
    if args.get(3).is_some_and(|a| a == "engine") {
        return engine(groups, n);
    }
    let (set, base) = set(
        "correlation: {type: event_count, rules: [failed_login], group-by: [source.ip], timespan: 1h, condition: {gte: 5}}",
    );
    let mut s = Stream::new(groups, 0, false);
    let mut config = config(1_000_000);
    if reordered {
        s.whole_seconds = true;
        s.share_events = true;
        config.lateness = std::time::Duration::from_secs(2);
    }
    let mut c = Correlator::new(set, config);
    // The warm-up that creates the groups (not collected: `Stream::feed` is not `hot`).
    s.feed(&mut c, base, groups);
    let t = std::time::Instant::now();
    let a = feed(&mut s, &mut c, base, n, batch);
    let e = t.elapsed();
    println!(
        "{a} alerts, {:.2} M/s, {:?}",
        n as f64 / e.as_secs_f64() / 1e6,
        c.stats()
    );
}

/// The `engine` mode: the same stream (whole-second timestamps) through an `Engine` with its
/// defaults (`siem_benches::correlation::engine`); callgrind collects
/// `process_matched`, the engine's stateful half.
fn engine(groups: usize, n: usize) {
    let engine = correlation::engine();
    let mut s = Stream::new(groups, 0, false);
    s.whole_seconds = true;
    s.feed_engine_timed(&engine, groups);
    let t = std::time::Instant::now();
    let (alerts, _) = s.feed_engine_timed(&engine, n);
    let e = t.elapsed();
    println!(
        "{alerts} alerts, {:.2} M/s (refill and matching included), {:?}",
        n as f64 / e.as_secs_f64() / 1e6,
        engine.stats()
    );
}
