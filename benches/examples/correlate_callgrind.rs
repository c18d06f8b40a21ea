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
//! `hot_batch` are collected: the refill of the event (as in the bench) and the correlator; the
//! warm-up that creates the groups (`warm`) is not, so the counts divided by the detections
//! are per update of a live group.
use siem_benches::correlation::{Stream, config, set};
use siem_core::correlate::{BaseRule, Correlator};

/// `n` detections one at a time, each on the one event refilled for its group.
#[inline(never)]
fn hot(s: &mut Stream, c: &mut Correlator, base: BaseRule, n: usize) -> usize {
    s.feed(c, base, n)
}

/// The first pass over the groups, which creates them (not collected).
#[inline(never)]
fn warm(s: &mut Stream, c: &mut Correlator, base: BaseRule, n: usize) -> usize {
    s.feed(c, base, n)
}

/// `n` detections in batches of 256 on the pooled events refilled for their groups.
#[inline(never)]
fn hot_batch(s: &mut Stream, c: &mut Correlator, base: BaseRule, n: usize) -> usize {
    s.feed_batch(c, base, n)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let groups: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let n: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(200_000);
    let batch = args.get(3).is_some_and(|a| a == "batch");
    let (set, base) = set(
        "correlation: {type: event_count, rules: [failed_login], group-by: [source.ip], timespan: 1h, condition: {gte: 5}}",
    );
    let mut s = Stream::new(groups, 0, false);
    let mut c = Correlator::new(set, config(1_000_000));
    warm(&mut s, &mut c, base, groups);
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
