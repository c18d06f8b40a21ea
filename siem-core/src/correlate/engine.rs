//! [`Correlator`]: the streaming evaluation of a [`CorrelationSet`].

use std::cmp::Ordering;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use compact_str::CompactString;

use super::key::{
    Fields, GroupFields, GroupKey, NanosCache, Num, encode_key, from_nanos, to_nanos,
};
use super::reorder::Reorder;
use super::samples::{SampleBudget, sample_bytes};
use super::set::{BaseRule, CorrelationId, CorrelationSet, Feed};
use super::table::{Fire, Input, Limits, NONE, Table};
use crate::alert::{Alert, AlertKind, Window};
use crate::event::{Event, FieldHint, Value};
use crate::prefetch::{prefetch, prefetch_at};
use crate::sigma::correlation::CorrelationType;

/// A detection: a referenced detection rule matched an event.
///
/// The event's `@timestamp` is its time; `arrival` is when the caller received it, used for
/// events without a timestamp (and those too far in the future, see
/// [`CorrelatorConfig::max_clock_skew`]).
#[derive(Debug, Clone, Copy)]
pub struct Detection<'a> {
    /// Which referenced rule matched ([`CorrelationSet::base_rule`]).
    pub rule: BaseRule,
    /// The event it matched; group-by values and `field` values are read from it.
    pub event: &'a Event,
    /// When the event arrived (the caller's clock; `siem-core` has none).
    pub arrival: DateTime<Utc>,
    /// `event`'s shared allocation, when the caller has one ([`Detection::shared`]).
    shared: Option<&'a Arc<Event>>,
    /// The caller has routed the detection to the one partition owning every group it updates
    /// ([`SharedCorrelator`](super::SharedCorrelator)): the partition check is skipped.
    pub(crate) owned: bool,
}

impl<'a> Detection<'a> {
    /// A detection of `rule` on `event`, arrived at `arrival`.
    ///
    /// A detection that waits in the reorder buffer (`lateness` above zero), or whose event is
    /// kept as a sample of an alert, costs a copy of `event`; [`Detection::shared`] avoids it.
    pub fn new(rule: BaseRule, event: &'a Event, arrival: DateTime<Utc>) -> Self {
        Detection {
            rule,
            event,
            arrival,
            shared: None,
            owned: false,
        }
    }

    /// A detection of `rule` on an event the caller already holds in an `Arc`: the reorder
    /// buffer and the alerts' samples share it (a reference count) instead of copying it.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use chrono::Utc;
    /// # use siem_core::correlate::{CorrelationSet, Detection};
    /// # use siem_core::event::Event;
    /// # use siem_core::sigma::{RuleMeta, correlation::CorrelationRule};
    /// # let doc: yaml_serde::Value = yaml_serde::from_str(
    /// #     "correlation: {type: event_count, rules: [r], group-by: [source.ip], timespan: 1m, condition: {gte: 2}}",
    /// # ).unwrap();
    /// # let rule = CorrelationRule::from_yaml(RuleMeta { title: "t".into(), ..RuleMeta::default() }, &doc).unwrap();
    /// # let set = CorrelationSet::build(vec![rule], |_: &str| Some(0u32)).unwrap();
    /// let event = Arc::new(Event::new());
    /// let detection = Detection::shared(set.base_rule(0).unwrap(), &event, Utc::now());
    /// assert!(std::ptr::eq(detection.event, &*event));
    /// ```
    pub fn shared(rule: BaseRule, event: &'a Arc<Event>, arrival: DateTime<Utc>) -> Self {
        Detection {
            rule,
            event,
            arrival,
            shared: Some(event),
            owned: false,
        }
    }
}

/// Partition `index` of `count`: the share of groups a correlator owns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Partition {
    /// Which partition, `0..count`.
    pub index: u32,
    /// How many partitions there are (at least 1).
    pub count: u32,
}

/// How a [`Correlator`] bounds its memory and treats time. See the [module docs](super) for the
/// semantics of each setting.
#[derive(Debug, Clone, PartialEq)]
pub struct CorrelatorConfig {
    /// The most groups (one per correlation rule, group-by values and clock) held at once.
    /// At the cap, the least recently updated group is evicted (see the [module
    /// docs](super#memory); counted in [`CorrelatorStats::groups_evicted`]). Default 1,000,000.
    pub max_groups: usize,
    /// How far behind the newest event time a detection may arrive and still be correlated in
    /// event-time order. Later ones are dropped and counted
    /// ([`CorrelatorStats::late_dropped`]). Detections wait up to this long (in event time)
    /// before they are applied; [`Correlator::flush`] applies them all. Default 0: applied at
    /// once, and anything older than the newest event seen is late.
    pub lateness: Duration,
    /// The most detections waiting for reordering; beyond it the oldest is applied early
    /// ([`CorrelatorStats::reorder_overflow`]). Default 100,000.
    pub max_pending: usize,
    /// How many of a window's newest events an alert carries (`events`). Each group keeps that
    /// many (shared) events, within [`CorrelatorConfig::max_sample_bytes`]. Default 5; 0 keeps
    /// none.
    pub sample_events: usize,
    /// The most bytes of sampled events held at once, over all groups (each event counted by
    /// [`Event::heap_bytes`] for every group holding it, so shared events make this an upper
    /// bound). Past it the oldest samples, over all groups, are dropped first, so the groups
    /// active now keep theirs ([`CorrelatorStats::samples_evicted`]); an event larger than the
    /// whole budget is not sampled. Without this, memory would follow the input's event sizes:
    /// a million groups with five events of a few hundred bytes each held about 2 GB in the
    /// `correlate` bench, and Windows events are several times larger. Default 64 MiB.
    pub max_sample_bytes: usize,
    /// The most values one group keeps: for `value_sum`, `value_avg` and `value_percentile`
    /// the oldest beyond it are dropped; for counts whose threshold exceeds it the older entries
    /// are only counted (see the [module docs](super#memory)). Either is counted in
    /// [`CorrelatorStats::values_dropped`]. Default 10,000.
    pub max_values_per_group: usize,
    /// A detection whose event time lies further ahead of its arrival than this is correlated
    /// by arrival time instead (a forged or badly skewed clock must not push the event-time
    /// windows of everyone else into the future). `None` trusts every timestamp. Default one
    /// hour.
    pub max_clock_skew: Option<Duration>,
    /// The partition this correlator owns, `None` for all groups. Detections for groups of
    /// other partitions are ignored; chained detections for them become
    /// [`Forward`]s ([`Correlator::take_forwards`]).
    pub partition: Option<Partition>,
}

impl Default for CorrelatorConfig {
    fn default() -> Self {
        CorrelatorConfig {
            max_groups: 1_000_000,
            lateness: Duration::ZERO,
            max_pending: 100_000,
            sample_events: 5,
            max_sample_bytes: 64 << 20,
            max_values_per_group: 10_000,
            max_clock_skew: Some(Duration::from_secs(3600)),
            partition: None,
        }
    }
}

/// What a [`Correlator`] has done, for monitoring. Counters only grow; `groups_live` and
/// `pending` are current values.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CorrelatorStats {
    /// Detections offered to [`Correlator::process`].
    pub detections: u64,
    /// Detections of rules no correlation refers to (ignored).
    pub unreferenced: u64,
    /// Detections older than the lateness allows, dropped.
    pub late_dropped: u64,
    /// Detections timed by arrival because they had no timestamp.
    pub arrival_timed: u64,
    /// Detections timed by arrival because their timestamp was too far ahead of arrival.
    pub future_retimed: u64,
    /// Detections applied early because the reorder buffer was full.
    pub reorder_overflow: u64,
    /// Detections of groups owned by another partition, ignored.
    pub not_owned: u64,
    /// Detections a `value_*` rule ignored because the field was missing or not a number.
    pub missing_value: u64,
    /// Detections not counted because a `group-by` field was missing or null.
    pub missing_group: u64,
    /// Updates of a group's window (one per detection and correlation rule it feeds).
    pub updates: u64,
    /// Times a condition held (alerts raised, plus silent fires of inner chain rules).
    pub fires: u64,
    /// Alerts returned.
    pub alerts: u64,
    /// Groups created.
    pub groups_created: u64,
    /// Groups dropped because every event of theirs left the time span.
    pub groups_expired: u64,
    /// Groups dropped early because the cap on groups was reached.
    pub groups_evicted: u64,
    /// Values dropped by the per-group cap of the `value_*` types.
    pub values_dropped: u64,
    /// Sampled events dropped (oldest first) to stay within
    /// [`CorrelatorConfig::max_sample_bytes`], or not taken because one event exceeds it.
    #[serde(default)]
    pub samples_evicted: u64,
    /// Chained detections handed to other partitions.
    pub forwarded: u64,
    /// Groups currently held.
    pub groups_live: u64,
    /// Detections currently waiting for reordering.
    pub pending: u64,
    /// Bytes of sampled events currently held (see [`CorrelatorConfig::max_sample_bytes`]).
    #[serde(default)]
    pub sample_bytes: u64,
}

/// A chained detection for a group another partition owns: correlation `from` fired and the
/// correlations that refer to it must see it. Deliver it with [`Correlator::process_forward`]
/// to the correlator owning [`Forward::partition`].
#[derive(Debug, Clone)]
pub struct Forward {
    /// The partition that owns the group.
    pub partition: u32,
    /// The correlation rule that fired.
    pub from: CorrelationId,
    pub(crate) time: i64,
    pub(crate) arrival_clock: bool,
    pub(crate) group: Vec<(CompactString, Value)>,
    pub(crate) sample: Option<Arc<Event>>,
}

/// Which clock a group lives on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Clock {
    Event = 0,
    Arrival = 1,
}

/// A detection waiting in the reorder buffer.
#[derive(Debug)]
pub(crate) struct Pending {
    pub time: i64,
    pub seq: u64,
    pub rule: BaseRule,
    pub event: Arc<Event>,
    /// [`Detection::owned`].
    pub owned: bool,
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        (self.time, self.seq) == (other.time, other.seq)
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Pending {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.time, self.seq).cmp(&(other.time, other.seq))
    }
}

/// A fired inner correlation, waiting to be applied to the correlations that refer to it.
struct Derived {
    corr: u32,
    /// Delivered from another partition, which already forwarded it to every other owner.
    forwarded: bool,
    group: Vec<(CompactString, Value)>,
    sample: Option<Arc<Event>>,
}

/// The event of a detection, shared lazily: the caller's `Arc` if it has one, else cloned into
/// an `Arc` of its own, and only when a sample is kept.
struct SampleSource<'a> {
    event: &'a Event,
    shared: Option<&'a Arc<Event>>,
    made: Option<Arc<Event>>,
    /// The event's [`sample_bytes`], once measured.
    bytes: Option<u32>,
    wanted: bool,
}

impl SampleSource<'_> {
    /// The shared event and its size ([`sample_bytes`], measured once per detection).
    fn get(&mut self) -> Option<(Arc<Event>, u32)> {
        if !self.wanted {
            return None;
        }
        let bytes = *self.bytes.get_or_insert_with(|| match self.shared {
            Some(shared) => sample_bytes(shared),
            None => sample_bytes(self.event),
        });
        if let Some(shared) = self.shared {
            return Some((shared.clone(), bytes));
        }
        Some((
            self.made
                .get_or_insert_with(|| Arc::new(self.event.clone()))
                .clone(),
            bytes,
        ))
    }
}

/// The streaming correlator: feed it detections in arrival order, get correlation alerts.
///
/// Single-threaded (`&mut self`); for sharing across threads see
/// [`SharedCorrelator`](super::SharedCorrelator). The semantics (windows, when an alert fires,
/// lateness, arrival time, memory bounds) are described in the [module docs](super).
///
/// ```
/// use std::sync::Arc;
/// use chrono::{TimeZone, Utc};
/// use siem_core::correlate::{CorrelationSet, Correlator, CorrelatorConfig, Detection};
/// use siem_core::event::Event;
/// use siem_core::sigma::{RuleMeta, correlation::CorrelationRule};
///
/// let doc: yaml_serde::Value = yaml_serde::from_str(
///     "correlation: {type: event_count, rules: [failed_login], group-by: [source.ip], timespan: 10m, condition: {gte: 3}}",
/// ).unwrap();
/// let rule = CorrelationRule::from_yaml(RuleMeta { title: "Brute force".into(), ..RuleMeta::default() }, &doc).unwrap();
/// let set = Arc::new(CorrelationSet::build(vec![rule], |r: &str| (r == "failed_login").then_some(0u32)).unwrap());
/// let base = set.base_rule(0).unwrap();
/// let mut correlator = Correlator::new(set, CorrelatorConfig::default());
///
/// let mut alerts = Vec::new();
/// for second in [0, 20, 40] {
///     let mut event = Event::new();
///     event.timestamp = Some(Utc.with_ymd_and_hms(2024, 5, 1, 10, 0, second).unwrap());
///     event.insert("source.ip", "203.0.113.7");
///     alerts.extend(correlator.process(&Detection::new(base, &event, Utc::now())));
/// }
/// assert_eq!(alerts.len(), 1);
/// let json = alerts[0].to_json_value();
/// assert_eq!(json["kind"], "correlation");
/// assert_eq!(json["group"]["source.ip"], "203.0.113.7");
/// assert_eq!(json["value"], 3);
/// ```
#[derive(Debug)]
pub struct Correlator {
    pub(crate) set: Arc<CorrelationSet>,
    /// Everything else, apart so that the rule set and the state can be borrowed at once (the
    /// set immutably): one detection's path takes `&CorrelationSet` from here rather than a
    /// clone of the `Arc` (two atomic operations per detection).
    pub(crate) state: State,
}

/// A [`Correlator`]'s state apart from its rule set.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) config: CorrelatorConfig,
    pub(crate) tables: Vec<[Table; 2]>,
    pub(crate) pending: Reorder,
    pub(crate) seq: u64,
    /// Newest event time seen (NONE before the first).
    pub(crate) max_seen: i64,
    /// Watermark floor raised by flushes and forced releases.
    pub(crate) floor: i64,
    /// The arrival clock (monotonic).
    pub(crate) arrival_clock: i64,
    pub(crate) stats: CorrelatorStats,
    pub(crate) forwards: Vec<Forward>,
    /// `config.lateness` and `config.max_clock_skew` in nanoseconds.
    lateness: i64,
    skew: Option<i64>,
    /// The limits of `config` the tables need.
    limits: Limits,
    /// The bytes of every table's samples (see [`SampleBudget`]).
    pub(crate) budget: SampleBudget,
    /// Day starts of the last arrival and event times converted (see [`NanosCache`]).
    nanos: [NanosCache; 2],
    /// Where each `group-by` field of the set was last found in an event (see
    /// [`Event::get_hinted`]): events of one source list their fields in the same order.
    hints: Vec<FieldHint>,
    /// Scratch for [`State::release`]: the detections one release takes out of `pending`
    /// (empty between calls; kept for its allocation).
    released: Vec<Pending>,
    /// Scratch for [`State::release`]'s chunks.
    chunk: ChunkScratch,
}

/// The vectors [`State::release`] fills per chunk: empty between calls, kept for their
/// allocations (see [`recycle`]).
#[derive(Default)]
struct ChunkScratch {
    ahead: Vec<Ahead<'static>>,
    spans: Vec<(usize, usize)>,
}

impl std::fmt::Debug for ChunkScratch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChunkScratch").finish_non_exhaustive()
    }
}

/// How many detections [`Correlator::process_batch`] looks ahead: enough lookups in flight to
/// hide memory latency (the processor tracks on the order of ten to twenty outstanding cache
/// misses), few enough that the first prefetched lines are still cached when their turn comes.
const BATCH: usize = 32;

/// A detection's arrival and event time in nanoseconds, converted once.
#[derive(Debug, Clone, Copy)]
struct Times {
    arrival: i64,
    event: Option<i64>,
}

/// A group key (`None`: a `group-by` field is missing) and its hash, computed ahead of the
/// update that uses it.
pub(crate) struct Ahead<'a> {
    key: Option<GroupKey<'a>>,
    hash: u64,
    /// The table (correlation, clock) whose index was prefetched for it.
    table: Option<(u32, u8)>,
}

/// Empties `ahead` and hands its allocation over for keys borrowing from other events: a
/// release's keys borrow the events it has just taken out of the buffer, so the vector that
/// holds them cannot outlive the call, but its memory can. (`collect` from a vector's own
/// iterator into elements of the same size and alignment reuses the allocation; were it not
/// to, this would allocate as before, and nothing else.)
fn recycle<'b>(mut ahead: Vec<Ahead<'_>>) -> Vec<Ahead<'b>> {
    ahead.clear();
    ahead
        .into_iter()
        .map(|_| unreachable!("the vector was emptied"))
        .collect()
}

fn nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

impl Correlator {
    /// A correlator with empty state for `set`.
    pub fn new(set: Arc<CorrelationSet>, config: CorrelatorConfig) -> Correlator {
        let limits = Limits {
            sample_events: config.sample_events,
            max_values: config.max_values_per_group,
        };
        let tables = set
            .plans
            .iter()
            .map(|p| [Table::new(p, limits), Table::new(p, limits)])
            .collect();
        let lateness = nanos(config.lateness);
        let skew = config.max_clock_skew.map(nanos);
        let max_sample_bytes = config.max_sample_bytes;
        let state = State {
            hints: vec![FieldHint::default(); set.field_hints],
            released: Vec::new(),
            chunk: ChunkScratch::default(),
            lateness,
            skew,
            config,
            tables,
            pending: Reorder::default(),
            seq: 0,
            max_seen: NONE,
            floor: NONE,
            arrival_clock: NONE,
            stats: CorrelatorStats::default(),
            forwards: Vec::new(),
            nanos: [NanosCache::default(); 2],
            limits,
            budget: SampleBudget::new(max_sample_bytes),
        };
        Correlator { set, state }
    }

    /// The rules this correlator evaluates.
    pub fn set(&self) -> &Arc<CorrelationSet> {
        &self.set
    }

    /// The configuration.
    pub fn config(&self) -> &CorrelatorConfig {
        &self.state.config
    }

    /// Counters (see [`CorrelatorStats`]).
    pub fn stats(&self) -> CorrelatorStats {
        let mut s = self.state.stats.clone();
        s.groups_live = self.state.live_groups() as u64;
        s.pending = self.state.pending.len() as u64;
        s.sample_bytes = self.state.budget.bytes as u64;
        s
    }

    /// Groups currently held.
    pub fn live_groups(&self) -> usize {
        self.state.live_groups()
    }

    /// Bytes of heap memory the correlation state holds (table capacities; sampled events are
    /// shared with alerts and not included: [`CorrelatorStats::sample_bytes`] counts those).
    /// Compare with the allocator-measured figure in the `correlate` bench.
    pub fn state_bytes(&self) -> usize {
        self.state
            .tables
            .iter()
            .flat_map(|t| t.iter())
            .map(Table::heap_bytes)
            .sum::<usize>()
            + self.state.pending.heap_bytes()
            + self.state.budget.heap_bytes()
    }

    /// Offers one detection; returns the correlation alerts it completes (possibly several, or
    /// alerts of earlier detections released from the reorder buffer).
    ///
    /// For a stream of detections, [`Correlator::process_batch`] gives the same answers faster.
    pub fn process(&mut self, detection: &Detection<'_>) -> Vec<Alert> {
        let mut out = Vec::new();
        let state = &mut self.state;
        let times = state.times(detection);
        state.process_ahead(&self.set, detection, times, &[], &mut out);
        out
    }

    /// Offers detections in order; returns the alerts of all of them, in order: exactly what
    /// calling [`Correlator::process`] on each would return, concatenated.
    ///
    /// Cost: with many live groups each update waits on memory (the group's index bucket, then
    /// its slot), one miss after the other. A batch first computes the group keys and hashes of
    /// up to 32 detections and asks the processor to fetch their index buckets, then their
    /// slots, and only then applies them one by one, so the misses of a batch overlap instead
    /// of adding up. Detections that wait for reordering (`lateness` above zero) gain nothing.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use chrono::{TimeZone, Utc};
    /// # use siem_core::correlate::{CorrelationSet, Correlator, CorrelatorConfig, Detection};
    /// # use siem_core::event::Event;
    /// # use siem_core::sigma::{RuleMeta, correlation::CorrelationRule};
    /// # let doc: yaml_serde::Value = yaml_serde::from_str(
    /// #     "correlation: {type: event_count, rules: [failed_login], group-by: [source.ip], timespan: 10m, condition: {gte: 3}}",
    /// # ).unwrap();
    /// # let rule = CorrelationRule::from_yaml(RuleMeta { title: "Brute force".into(), ..RuleMeta::default() }, &doc).unwrap();
    /// # let set = Arc::new(CorrelationSet::build(vec![rule], |r: &str| (r == "failed_login").then_some(0u32)).unwrap());
    /// let base = set.base_rule(0).unwrap();
    /// let events: Vec<Event> = (0..6)
    ///     .map(|second| {
    ///         let mut event = Event::new();
    ///         event.timestamp = Some(Utc.with_ymd_and_hms(2024, 5, 1, 10, 0, second).unwrap());
    ///         event.insert("source.ip", if second % 2 == 0 { "203.0.113.7" } else { "198.51.100.4" });
    ///         event
    ///     })
    ///     .collect();
    /// let detections: Vec<Detection> = events.iter().map(|e| Detection::new(base, e, Utc::now())).collect();
    /// let mut correlator = Correlator::new(set, CorrelatorConfig::default());
    /// let alerts = correlator.process_batch(&detections);
    /// assert_eq!(alerts.len(), 2); // the third detection of each address
    /// ```
    pub fn process_batch(&mut self, detections: &[Detection<'_>]) -> Vec<Alert> {
        let mut out = Vec::new();
        self.process_batch_each(detections, |_, alerts| out.append(alerts));
        out
    }

    /// [`Correlator::process_batch`] that hands over the alerts of each detection separately:
    /// `each(i, alerts)` for every `i` in order, with what [`Correlator::process`] would have
    /// returned for `detections[i]` (the callee may take the alerts out of the vector).
    pub fn process_batch_each(
        &mut self,
        detections: &[Detection<'_>],
        mut each: impl FnMut(usize, &mut Vec<Alert>),
    ) {
        let set = &*self.set;
        let state = &mut self.state;
        let mut ahead: Vec<Ahead<'_>> = Vec::with_capacity(BATCH);
        // Per detection of a chunk: its keys in `ahead` and its times.
        let mut spans: Vec<(usize, usize, Times)> = Vec::with_capacity(BATCH);
        let mut out = Vec::new();
        for (c, chunk) in detections.chunks(BATCH).enumerate() {
            ahead.clear();
            spans.clear();
            // Only a detection applied at once (no reordering) uses its keys while the lines
            // fetched for it are still cached; one that waits is prefetched when it is released
            // (`State::release`).
            if state.lateness == 0 && state.pending.is_empty() {
                for d in chunk {
                    let first = ahead.len();
                    let times = state.times(d);
                    let clock = state.clock_of(times);
                    state.keys_ahead(set, d.rule, d.event, clock, &mut ahead);
                    spans.push((first, ahead.len(), times));
                }
                state.prefetch_slots(&ahead);
            }
            // The updates, in order, exactly as one at a time.
            for (j, d) in chunk.iter().enumerate() {
                let (keys, times) = match spans.get(j) {
                    Some(&(first, end, times)) => (&ahead[first..end], times),
                    None => (&[][..], state.times(d)),
                };
                state.process_ahead(set, d, times, keys, &mut out);
                each(c * BATCH + j, &mut out);
                out.clear();
            }
        }
    }

    /// Applies every waiting detection (end of input, or before a snapshot that should hold no
    /// pending detections). Windows stay open; later detections older than the ones applied
    /// are late.
    pub fn flush(&mut self) -> Vec<Alert> {
        let mut out = Vec::new();
        self.state.release(&self.set, true, &mut out);
        self.state.floor = self.state.floor.max(self.state.max_seen);
        out
    }

    /// Declares that no detection older than `time` will come (e.g. the caller's wall clock
    /// minus the lateness, when input is idle) and applies the waiting detections up to it.
    pub fn advance_to(&mut self, time: DateTime<Utc>) -> Vec<Alert> {
        let mut out = Vec::new();
        self.state.floor = self.state.floor.max(to_nanos(time));
        self.state.release(&self.set, false, &mut out);
        out
    }

    /// Delivers a [`Forward`] from another partition's correlator.
    pub fn process_forward(&mut self, forward: Forward) -> Vec<Alert> {
        let mut out = Vec::new();
        let clock = if forward.arrival_clock {
            Clock::Arrival
        } else {
            Clock::Event
        };
        let mut queue = VecDeque::new();
        queue.push_back(Derived {
            corr: forward.from.0,
            forwarded: true,
            group: forward.group,
            sample: forward.sample,
        });
        self.state
            .run_derived(&self.set, forward.time, clock, queue, &mut out);
        out
    }

    /// Chained detections produced for groups of other partitions since the last call.
    pub fn take_forwards(&mut self) -> Vec<Forward> {
        std::mem::take(&mut self.state.forwards)
    }
}

impl State {
    /// Groups currently held.
    pub fn live_groups(&self) -> usize {
        self.tables
            .iter()
            .flat_map(|t| t.iter())
            .map(|t| t.groups.live())
            .sum()
    }

    /// A detection's arrival and event time in nanoseconds.
    #[inline]
    fn times(&mut self, detection: &Detection<'_>) -> Times {
        let [arrival, event] = &mut self.nanos;
        Times {
            arrival: arrival.get(detection.arrival),
            event: detection.event.timestamp.map(|t| event.get(t)),
        }
    }

    fn watermark(&self) -> i64 {
        if self.max_seen == NONE {
            return self.floor;
        }
        self.max_seen.saturating_sub(self.lateness).max(self.floor)
    }

    /// Which clock a detection is timed by (see [`Correlator::process`]): a pure function of
    /// the detection and the configuration.
    fn clock_of(&self, times: Times) -> Clock {
        match times.event {
            Some(t)
                if self
                    .skew
                    .is_none_or(|skew| t <= times.arrival.saturating_add(skew)) =>
            {
                Clock::Event
            }
            _ => Clock::Arrival,
        }
    }

    /// [`Correlator::process`] with the group keys of the detection's feeds computed ahead
    /// (one per feed, in order), or none (`ahead` empty): computed here.
    fn process_ahead(
        &mut self,
        set: &CorrelationSet,
        detection: &Detection<'_>,
        times: Times,
        ahead: &[Ahead<'_>],
        out: &mut Vec<Alert>,
    ) {
        self.stats.detections += 1;
        let arrival = times.arrival;
        self.arrival_clock = self.arrival_clock.max(arrival);
        if set
            .base_feeds
            .get(detection.rule.0 as usize)
            .is_none_or(Vec::is_empty)
        {
            self.stats.unreferenced += 1;
            return;
        }
        let event_time = times.event.filter(|&t| {
            let trusted = self
                .skew
                .is_none_or(|skew| t <= arrival.saturating_add(skew));
            if !trusted {
                self.stats.future_retimed += 1;
            }
            trusted
        });
        let Some(time) = event_time else {
            if detection.event.timestamp.is_none() {
                self.stats.arrival_timed += 1;
            }
            let clock = self.arrival_clock;
            self.apply(
                set,
                detection.rule,
                clock,
                Clock::Arrival,
                detection.event,
                detection.shared,
                detection.owned,
                ahead,
                out,
            );
            return;
        };
        if time < self.watermark() {
            self.stats.late_dropped += 1;
            return;
        }
        self.max_seen = self.max_seen.max(time);
        if self.lateness == 0 && self.pending.is_empty() {
            self.apply(
                set,
                detection.rule,
                time,
                Clock::Event,
                detection.event,
                detection.shared,
                detection.owned,
                ahead,
                out,
            );
        } else {
            self.seq += 1;
            let pending = Pending {
                time,
                seq: self.seq,
                rule: detection.rule,
                event: detection
                    .shared
                    .map_or_else(|| Arc::new(detection.event.clone()), Arc::clone),
                owned: detection.owned,
            };
            self.pending.push(pending);
            self.release(set, false, out);
        }
    }

    /// Applies the waiting detections the watermark has passed (all of them with `all`, and the
    /// oldest beyond `max_pending`), oldest first.
    ///
    /// They are taken out of the buffer first and then applied in chunks whose keys are computed
    /// and whose index buckets and slots are prefetched before any is applied, as in
    /// [`Correlator::process_batch`]: events of a busy source share their timestamps' second
    /// (syslog) or millisecond, so the watermark passing one releases many detections at once.
    /// Taking them out first changes nothing: applying a detection never reads or changes the
    /// buffer, the watermark or the floor.
    fn release(&mut self, set: &CorrelationSet, all: bool, out: &mut Vec<Alert>) {
        let mut released = std::mem::take(&mut self.released);
        loop {
            let watermark = self.watermark();
            let overflow = self.pending.len() > self.config.max_pending;
            let Some(top) = self.pending.peek() else {
                break;
            };
            if !(all || overflow || top.time <= watermark) {
                break;
            }
            let Some(p) = self.pending.pop() else {
                break;
            };
            if overflow && !all && p.time > watermark {
                self.stats.reorder_overflow += 1;
                self.floor = self.floor.max(p.time);
            }
            released.push(p);
        }
        if released.is_empty() {
            // The common call: the watermark has not passed the oldest detection.
            self.released = released;
            return;
        }
        let mut ahead: Vec<Ahead<'_>> = recycle(std::mem::take(&mut self.chunk.ahead));
        let mut spans = std::mem::take(&mut self.chunk.spans);
        for chunk in released.chunks(BATCH) {
            ahead.clear();
            spans.clear();
            if chunk.len() > 1 {
                for p in chunk {
                    let first = ahead.len();
                    self.keys_ahead(set, p.rule, &p.event, Clock::Event, &mut ahead);
                    spans.push((first, ahead.len()));
                }
                self.prefetch_slots(&ahead);
            }
            for (j, p) in chunk.iter().enumerate() {
                let keys = spans
                    .get(j)
                    .map_or(&[][..], |&(first, end)| &ahead[first..end]);
                self.apply(
                    set,
                    p.rule,
                    p.time,
                    Clock::Event,
                    &p.event,
                    Some(&p.event),
                    p.owned,
                    keys,
                    out,
                );
            }
        }
        self.chunk.ahead = recycle(ahead);
        spans.clear();
        self.chunk.spans = spans;
        released.clear();
        self.released = released;
    }

    /// Computes the group key and hash of each of `rule`'s feeds on `event` (one [`Ahead`] per
    /// feed, in order, appended to `ahead`) and starts fetching the index bucket each key's
    /// group is looked up in: the first step of a prefetched chunk.
    fn keys_ahead<'e>(
        &mut self,
        set: &CorrelationSet,
        rule: BaseRule,
        event: &'e Event,
        clock: Clock,
        ahead: &mut Vec<Ahead<'e>>,
    ) {
        let ci = clock as usize;
        for feed in set.base_feeds.get(rule.0 as usize).into_iter().flatten() {
            // A hash is read from the event's own text, not from a key just written.
            let key = set.group_parts_hinted(feed, event, &mut self.hints);
            let mut hash = 0;
            let mut table = None;
            if let Some(k) = &key {
                hash = k.hash();
                if let Some(t) = self.tables.get(feed.corr as usize) {
                    t[ci].groups.prefetch_bucket(hash);
                    table = Some((feed.corr, ci as u8));
                }
            }
            ahead.push(Ahead { key, hash, table });
        }
    }

    /// Starts fetching the slot of each key of `ahead` (second step of a prefetched chunk, once
    /// the buckets [`State::keys_ahead`] asked for have arrived).
    fn prefetch_slots(&self, ahead: &[Ahead<'_>]) {
        for a in ahead {
            if let Some((corr, ci)) = a.table {
                self.tables[corr as usize][usize::from(ci)]
                    .groups
                    .prefetch_slot(a.hash);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn apply(
        &mut self,
        set: &CorrelationSet,
        rule: BaseRule,
        time: i64,
        clock: Clock,
        event: &Event,
        shared: Option<&Arc<Event>>,
        owned: bool,
        ahead: &[Ahead<'_>],
        out: &mut Vec<Alert>,
    ) {
        let mut sample = SampleSource {
            event,
            shared,
            made: None,
            bytes: None,
            wanted: self.config.sample_events > 0,
        };
        // Fired correlations that feed others (rare: a `Vec`, cheaper to drop empty than a deque).
        let mut fired = Vec::new();
        for (n, feed) in set.base_feeds[rule.0 as usize].iter().enumerate() {
            // The key stays where it was computed (borrowing the event's values); `update`
            // encodes it only for a new group.
            // (Not moved into an `Ahead` of its own: a key is about 80 bytes.)
            let own;
            let (key, hash) = match ahead.get(n) {
                Some(a) => (&a.key, a.hash),
                None => {
                    own = set.group_parts_hinted(feed, event, &mut self.hints);
                    (&own, own.as_ref().map_or(0, GroupKey::hash))
                }
            };
            let Some(key) = key else {
                self.stats.missing_group += 1;
                continue;
            };
            if let Some(p) = self.config.partition
                && !owned
                && key.stable_hash() % u64::from(p.count.max(1)) != u64::from(p.index)
            {
                self.stats.not_owned += 1;
                continue;
            }
            self.update(
                set,
                *feed,
                key,
                hash,
                time,
                clock,
                event,
                &mut sample,
                &mut fired,
                out,
            );
        }
        if !fired.is_empty() {
            self.run_derived(set, time, clock, VecDeque::from(fired), out);
        }
    }

    /// Applies fired inner correlations to the correlations that refer to them, breadth first.
    fn run_derived(
        &mut self,
        set: &CorrelationSet,
        time: i64,
        clock: Clock,
        mut queue: VecDeque<Derived>,
        out: &mut Vec<Alert>,
    ) {
        let mut fired = Vec::new();
        while let Some(d) = queue.pop_front() {
            let fields = GroupFields(&d.group);
            let mut elsewhere: Vec<u32> = Vec::new();
            let placeholder = Event::new();
            // A forward made by a correlator of another rule set refers to nothing here.
            let Some(feeds) = set.corr_feeds.get(d.corr as usize) else {
                continue;
            };
            for feed in feeds {
                let Some(key) = set.group_parts(feed, &fields) else {
                    self.stats.missing_group += 1;
                    continue;
                };
                if let Some(p) = self.config.partition {
                    // count > 0 is checked where partitions are configured.
                    let owner = (key.stable_hash() % u64::from(p.count.max(1))) as u32;
                    if owner != p.index {
                        if !d.forwarded && !elsewhere.contains(&owner) {
                            elsewhere.push(owner);
                        }
                        continue;
                    }
                }
                let mut sample = SampleSource {
                    event: &placeholder,
                    shared: d.sample.as_ref(),
                    made: None,
                    bytes: None,
                    wanted: d.sample.is_some(),
                };
                let hash = key.hash();
                self.update(
                    set,
                    *feed,
                    &key,
                    hash,
                    time,
                    clock,
                    &fields,
                    &mut sample,
                    &mut fired,
                    out,
                );
                queue.extend(fired.drain(..));
            }
            for partition in elsewhere {
                self.stats.forwarded += 1;
                self.forwards.push(Forward {
                    partition,
                    from: CorrelationId(d.corr),
                    time,
                    arrival_clock: clock == Clock::Arrival,
                    group: d.group.clone(),
                    sample: d.sample.clone(),
                });
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn update(
        &mut self,
        set: &CorrelationSet,
        feed: Feed,
        key: &GroupKey<'_>,
        hash: u64,
        time: i64,
        clock: Clock,
        source: &dyn Fields,
        sample: &mut SampleSource<'_>,
        queue: &mut Vec<Derived>,
        out: &mut Vec<Alert>,
    ) {
        let c = feed.corr as usize;
        let plan = &set.plans[c];
        let input = match plan.kind {
            CorrelationType::EventCount => Input::None,
            _ => match self.input(set, c, source) {
                Some(input) => input,
                None => {
                    self.stats.missing_value += 1;
                    return;
                }
            },
        };
        self.stats.updates += 1;
        let ci = clock as usize;

        // Groups whose newest event has left the window can never contribute again.
        // The table is looked up once (a new group re-borrows it after `create_group`).
        let min = time.saturating_sub(plan.timespan);
        let table = &mut self.tables[c][ci];
        if table.groups.front_time().is_some_and(|t| t < min) {
            Self::expire(table, &mut self.stats, &mut self.budget, min);
        }

        let (mut table, slot) = match table.groups.find_key(hash, key) {
            Some(slot) => (table, slot),
            None => {
                let slot = self.create_group(c, ci, hash, key, time);
                (&mut self.tables[c][ci], slot)
            }
        };

        if table.samples.is_some()
            && let Some((event, bytes)) = sample.get()
        {
            self.keep_sample(c, ci, slot, time, event, bytes);
            table = &mut self.tables[c][ci];
        }
        let (fire, dropped) = table.update(slot, plan, feed.slot, time, input, self.limits);
        self.stats.values_dropped += dropped;
        table.groups.touch(slot, time);
        if let Some(fire) = fire {
            self.fired(set, feed, ci, slot, fire, time, clock, source, queue, out);
        }
    }

    /// What a detection contributes to a `value_count` or numeric correlation beyond its time
    /// (`None`: the event lacks the value).
    fn input(&self, set: &CorrelationSet, c: usize, source: &dyn Fields) -> Option<Input> {
        let rule = &set.rules()[c];
        match set.plans[c].kind {
            CorrelationType::ValueCount => {
                let values: Vec<Option<&Value>> = rule
                    .condition
                    .field
                    .iter()
                    .map(|f| source.field(f))
                    .collect();
                if values.iter().any(|v| v.is_none_or(Value::is_null)) {
                    return None;
                }
                Some(Input::Distinct(encode_key(values)))
            }
            k if k.is_numeric() => {
                let field = rule.condition.field.first().map(|f| source.field(f));
                field.flatten().and_then(Num::from_value).map(Input::Number)
            }
            _ => Some(Input::None),
        }
    }

    /// Removes the groups of `table` whose newest detection is before `min` (counted in `stats`).
    #[cold]
    fn expire(table: &mut Table, stats: &mut CorrelatorStats, budget: &mut SampleBudget, min: i64) {
        while let Some(slot) = table.groups.pop_expired(min) {
            table.clear(slot, budget);
            stats.groups_expired += 1;
        }
    }

    /// Keeps `event` (`bytes` large) as a sample of group `slot` of table (`c`, `ci`), within
    /// the sample budget: older samples of any group make room, and an event larger than the
    /// whole budget is not kept (both counted in `samples_evicted`).
    #[inline]
    pub(crate) fn keep_sample(
        &mut self,
        c: usize,
        ci: usize,
        slot: u32,
        time: i64,
        event: Arc<Event>,
        bytes: u32,
    ) {
        if !self.budget.fits(bytes) {
            self.make_sample_room(bytes);
            if !self.budget.fits(bytes) {
                self.stats.samples_evicted += 1;
                return;
            }
        }
        self.tables[c][ci].sample(
            (c * 2 + ci) as u32,
            slot,
            time,
            event,
            bytes,
            self.config.sample_events,
            &mut self.budget,
        );
        if self.budget.needs_compaction() {
            self.compact_samples();
        }
    }

    /// Drops the oldest samples, over all tables, until `bytes` more fit in the budget (or none
    /// is left).
    #[cold]
    #[inline(never)]
    fn make_sample_room(&mut self, bytes: u32) {
        while !self.budget.fits(bytes) {
            self.prefetch_evictions();
            let Some(t) = self.budget.pop_oldest() else {
                break;
            };
            let table = &mut self.tables[t.table as usize / 2][t.table as usize % 2];
            if table.evict_sample(t.slot, t.seq, &mut self.budget) {
                self.stats.samples_evicted += 1;
            }
        }
    }

    /// Starts fetching what the next evictions touch. The oldest samples are cold (their groups
    /// were last updated long ago), and each eviction walks a chain of them: the group's deque,
    /// its front sample, the event it frees. Each step is fetched a few evictions ahead, from
    /// what the step before brought in, so the chain's misses overlap.
    #[inline]
    fn prefetch_evictions(&self) {
        let deque = |i: usize| {
            let t = self.budget.peek(i)?;
            let d = self.tables.get(t.table as usize / 2)?[t.table as usize % 2]
                .samples
                .as_ref()?
                .get(t.slot as usize)?;
            Some((d, t.seq))
        };
        let front = |i: usize| deque(i).and_then(|(d, seq)| d.front().filter(|s| s.seq == seq));
        if let Some(s) = front(2) {
            s.event.prefetch_for_drop();
        }
        if let Some(s) = front(4) {
            let event: &Event = &s.event;
            for line in 0..std::mem::size_of::<Event>().div_ceil(64) {
                prefetch_at(event, line * 64);
            }
        }
        if let Some((d, _)) = deque(8)
            && let Some(s) = d.front()
        {
            prefetch(s);
        }
        if let Some((d, _)) = deque(12) {
            prefetch(d);
        }
    }

    /// Drops the budget's entries for samples no longer held.
    #[cold]
    #[inline(never)]
    fn compact_samples(&mut self) {
        let tables = &self.tables;
        self.budget.retain(|t| {
            tables[t.table as usize / 2][t.table as usize % 2].holds_sample(t.slot, t.seq)
        });
    }

    /// Adds the group `key` to table (`c`, `ci`), evicting one first at the cap.
    #[inline(never)]
    fn create_group(
        &mut self,
        c: usize,
        ci: usize,
        hash: u64,
        key: &GroupKey<'_>,
        time: i64,
    ) -> u32 {
        while self.live_groups() >= self.config.max_groups.max(1) {
            if !self.evict_one() {
                break;
            }
        }
        let table = &mut self.tables[c][ci];
        let slot = table.groups.insert(hash, key.encode(), time);
        table.ensure(slot);
        table.clear(slot, &mut self.budget);
        self.stats.groups_created += 1;
        slot
    }

    /// The condition of `feed`'s correlation held for group `slot`: the alert, the reset, and
    /// the chained detection.
    #[allow(clippy::too_many_arguments)]
    #[cold]
    fn fired(
        &mut self,
        set: &CorrelationSet,
        feed: Feed,
        ci: usize,
        slot: u32,
        fire: Fire,
        time: i64,
        clock: Clock,
        source: &dyn Fields,
        queue: &mut Vec<Derived>,
        out: &mut Vec<Alert>,
    ) {
        let c = feed.corr as usize;
        let table = &mut self.tables[c][ci];
        let events = if set.emits_correlation_alerts(CorrelationId(feed.corr)) {
            table.samples_since(slot, fire.start)
        } else {
            Vec::new()
        };
        let trigger = table
            .samples
            .as_ref()
            .and_then(|s| s[slot as usize].back().map(|s| s.event.clone()));
        table.clear(slot, &mut self.budget);
        self.stats.fires += 1;
        let group = set.group_values(&feed, source);
        if set.emits_correlation_alerts(CorrelationId(feed.corr)) {
            self.stats.alerts += 1;
            out.push(Self::alert(
                set,
                feed.corr,
                &fire,
                time,
                clock,
                group.clone(),
                events,
            ));
        }
        if !set.corr_feeds[c].is_empty() {
            queue.push(Derived {
                corr: feed.corr,
                forwarded: false,
                group,
                sample: trigger,
            });
        }
    }

    fn alert(
        set: &CorrelationSet,
        corr: u32,
        fire: &Fire,
        time: i64,
        clock: Clock,
        group: Vec<(CompactString, Value)>,
        events: Vec<Event>,
    ) -> Alert {
        let plan = &set.plans[corr as usize];
        let rules = fire
            .rules
            .iter()
            .map(|&s| plan.slots[usize::from(s)].ident.clone())
            .collect();
        Alert {
            timestamp: from_nanos(time),
            kind: AlertKind::Correlation,
            rule: set.meta(corr),
            event: None,
            group,
            value: Some(fire.value.clone()),
            window: Some(Window {
                start: from_nanos(fire.start),
                end: from_nanos(time),
            }),
            rules,
            events,
            arrival_time: clock == Clock::Arrival,
        }
    }

    /// Evicts a group: from the table whose queue front is stalest (measured against each
    /// table's own clock), the oldest-queued group not updated since (see the table docs);
    /// false if there is none.
    pub(crate) fn evict_one(&mut self) -> bool {
        let now = [self.max_seen, self.arrival_clock];
        let mut best: Option<(i64, usize, usize)> = None;
        for (c, pair) in self.tables.iter().enumerate() {
            for (k, table) in pair.iter().enumerate() {
                if let Some(front) = table.groups.front_time() {
                    let staleness = now[k].saturating_sub(front);
                    if best.is_none_or(|(s, _, _)| staleness > s) {
                        best = Some((staleness, c, k));
                    }
                }
            }
        }
        let Some((_, c, k)) = best else { return false };
        let table = &mut self.tables[c][k];
        if let Some(slot) = table.groups.pop_oldest() {
            table.clear(slot, &mut self.budget);
            self.stats.groups_evicted += 1;
            true
        } else {
            false
        }
    }
}
