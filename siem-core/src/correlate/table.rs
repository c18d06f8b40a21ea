//! Per-(correlation, clock) group tables: a compact hash index over a slab of groups, an
//! expiry/eviction queue, and the per-type window state.
//!
//! # Layout and cost
//!
//! A table keeps, per group: a [`Slot`] (the encoded key, its hash, the time of the last update
//! and up to [`INLINE`] timestamps of window state: 96 bytes), one 8-byte entry in the
//! [`Index`](super::index::Index) (tag and slot; 10.7–21.3 bytes per group with its load
//! factor), and one entry of the queue (16 bytes). An `event_count` rule whose condition needs at
//! most six timestamps (`gte: 5`, `gt: 5`, ...) keeps its ring inside the slot, so looking a
//! group up brings its window into the cache too; such a group costs about 134 bytes in all
//! (measured in the `correlate` bench). The index's home bucket is a function of the key's hash,
//! so a batch can prefetch the bucket, then the slot, of each of its detections before applying
//! any ([`Groups::prefetch_bucket`], [`Groups::prefetch_slot`]).
//!
//! # The queue: expiry and eviction
//!
//! Each group has one entry `(time, slot)` in a FIFO queue, made when the group was created;
//! an update only records the group's new time in its slot. When the entry reaches the front of
//! the queue (because the front's time has left the timespan, or because a group must be
//! evicted), the group's current time decides: if the group was updated since its entry was
//! made, the entry goes to the back with the new time (a second chance); otherwise the group is
//! removed. So the groups removed on expiry are exactly idle ones (every event older than the
//! timespan), and the group evicted at the cap is the oldest-queued group that has not been
//! updated since: least recently updated, up to the order within one pass of the queue. The
//! front's time never exceeds any group's last update, so a front inside the timespan means no
//! group can have expired and the common update touches no other group.

use std::collections::VecDeque;
use std::sync::Arc;

use compact_str::CompactString;

use super::index::Index;
use super::key::{GroupKey, Num, percentile, sum};
use super::samples::{Sample, SampleBudget};
use super::set::Plan;
use crate::event::{Event, Value};
use crate::prefetch::{prefetch, prefetch_at};
use crate::sigma::correlation::CorrelationType;

/// "No time": an empty stage or rule slot.
pub(crate) const NONE: i64 = i64::MIN;

/// Rings and per-rule rows up to this length live inside the group's [`Slot`], on the cache
/// lines its lookup has already loaded; longer ones (large thresholds, many rules) get storage of
/// their own so that memory follows what is actually held.
pub(crate) const INLINE: usize = 6;

/// One group.
#[derive(Debug, Clone)]
pub(crate) struct Slot {
    pub key: CompactString,
    pub hash: u64,
    /// Time of the group's last update (its newest detection).
    pub last: i64,
    /// Short window state: an `event_count` ring, or a `temporal`/`temporal_ordered` row.
    pub inline: [i64; INLINE],
    /// Ring head and length for an inline ring.
    pub head: u8,
    /// Ring length for an inline ring.
    pub len: u8,
    pub live: bool,
}

/// The groups of one table: index, slab, free list and queue (see the module docs).
#[derive(Debug, Default)]
pub(crate) struct Groups {
    index: Index,
    pub slots: Vec<Slot>,
    free: Vec<u32>,
    /// One entry per live group: (a time not later than its last update, slot).
    queue: VecDeque<(i64, u32)>,
}

impl Groups {
    pub fn live(&self) -> usize {
        self.queue.len()
    }

    pub fn find(&self, hash: u64, key: &str) -> Option<u32> {
        self.index.find(hash, |i| {
            self.slots.get(i as usize).is_some_and(|s| s.key == key)
        })
    }

    /// The slot of the group with `key` (whose hash is `hash`), compared by value.
    #[inline]
    pub fn find_key(&self, hash: u64, key: &GroupKey<'_>) -> Option<u32> {
        self.index.find(hash, |i| {
            self.slots
                .get(i as usize)
                .is_some_and(|s| key.matches(&s.key))
        })
    }

    /// Starts fetching the index bucket of `hash` (first step of a batch; see
    /// [`Correlator::process_batch`](super::Correlator::process_batch)).
    #[inline]
    pub fn prefetch_bucket(&self, hash: u64) {
        self.index.prefetch(hash);
    }

    /// Starts fetching the slot that most likely holds the key with `hash` (second step of a
    /// batch, once its bucket is in the cache): both cache lines a slot can span.
    #[inline]
    pub fn prefetch_slot(&self, hash: u64) {
        if let Some(s) = self
            .index
            .candidate(hash)
            .and_then(|i| self.slots.get(i as usize))
        {
            prefetch(s);
            prefetch_at(s, std::mem::size_of::<Slot>() - 1);
        }
    }

    /// Adds a group (the caller has made room) and returns its slot.
    pub fn insert(&mut self, hash: u64, key: CompactString, now: i64) -> u32 {
        let slot = Slot {
            key,
            hash,
            last: now,
            inline: [NONE; INLINE],
            head: 0,
            len: 0,
            live: true,
        };
        let i = match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = slot;
                i
            }
            None => {
                self.slots.push(slot);
                self.slots.len() as u32 - 1
            }
        };
        self.index.insert(hash, i);
        self.queue.push_back((now, i));
        i
    }

    /// Records an update of `slot` at `now` (not earlier than its last one).
    pub fn touch(&mut self, slot: u32, now: i64) {
        self.slots[slot as usize].last = now;
    }

    /// The time of the queue's front: no live group was updated before it.
    pub fn front_time(&self) -> Option<i64> {
        self.queue.front().map(|&(t, _)| t)
    }

    /// Removes and returns a group whose last update is before `min`, if the front of the queue
    /// says there can be one (groups updated since they were queued go to the back).
    pub fn pop_expired(&mut self, min: i64) -> Option<u32> {
        while let Some(&(t, i)) = self.queue.front() {
            if t >= min {
                return None;
            }
            self.queue.pop_front();
            let last = self.slots[i as usize].last;
            if last < min {
                self.free_slot(i);
                return Some(i);
            }
            self.queue.push_back((last, i));
        }
        None
    }

    /// Removes and returns the oldest-queued group not updated since it was queued.
    pub fn pop_oldest(&mut self) -> Option<u32> {
        while let Some((t, i)) = self.queue.pop_front() {
            let last = self.slots[i as usize].last;
            if last > t {
                self.queue.push_back((last, i));
                continue;
            }
            self.free_slot(i);
            return Some(i);
        }
        None
    }

    fn free_slot(&mut self, i: u32) {
        let hash = self.slots[i as usize].hash;
        self.index.remove(hash, i);
        let s = &mut self.slots[i as usize];
        s.live = false;
        s.key = CompactString::default();
        self.free.push(i);
    }

    /// Removes the group just added by [`Groups::insert`] (its queue entry is the newest).
    pub fn undo_insert(&mut self, slot: u32) {
        if self.queue.back().is_some_and(|&(_, i)| i == slot) {
            self.queue.pop_back();
            self.free_slot(slot);
        }
    }

    /// Live slots in queue order (roughly least to most recently updated).
    pub fn in_order(&self) -> Vec<u32> {
        self.queue.iter().map(|&(_, i)| i).collect()
    }

    /// Bytes held (capacities, not lengths), for memory accounting.
    pub fn heap_bytes(&self) -> usize {
        self.index.heap_bytes()
            + self.slots.capacity() * std::mem::size_of::<Slot>()
            + self
                .slots
                .iter()
                .map(|s| {
                    if s.key.is_heap_allocated() {
                        s.key.capacity()
                    } else {
                        0
                    }
                })
                .sum::<usize>()
            + self.free.capacity() * 4
            + self.queue.capacity() * std::mem::size_of::<(i64, u32)>()
    }
}

/// A ring of timestamps (`event_count`): inside the slot up to [`INLINE`] entries, else a deque
/// per group.
#[derive(Debug)]
pub(crate) enum Rings {
    Inline {
        m: u8,
    },
    /// `overflow`: per group, the timestamps dropped beyond the per-group limit (see
    /// [`Overflow`]).
    Deque {
        data: Vec<VecDeque<i64>>,
        overflow: Vec<Overflow>,
    },
}

/// Entries dropped from a group's state because a condition needs more than
/// `max_values_per_group` of them (thresholds above the limit only; `values_dropped` counts
/// each). They are kept as counts in at most [`OVERFLOW_BUCKETS`] time-ordered buckets, each
/// holding up to `need / OVERFLOW_BUCKETS` entries with its first and last time; a bucket stops
/// counting when its last entry leaves the window. So a large threshold can still be reached,
/// and the count overestimates by less than one bucket (about 1/16 of the threshold) at the
/// window's edge.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Overflow {
    /// (count, first time, last time), oldest first.
    buckets: VecDeque<(u64, i64, i64)>,
    total: u64,
}

/// How many buckets an [`Overflow`] uses at most.
pub(crate) const OVERFLOW_BUCKETS: u64 = 16;

impl Overflow {
    /// How many dropped entries still count at window start `min` (forgets expired buckets).
    fn live(&mut self, min: i64) -> u64 {
        while let Some(&(n, _, last)) = self.buckets.front() {
            if last >= min {
                break;
            }
            self.total -= n;
            self.buckets.pop_front();
        }
        self.total
    }

    fn count(&self) -> u64 {
        self.total
    }

    /// Adds one dropped entry at `t` (not earlier than the previous ones) for a condition
    /// needing `need` entries.
    fn add(&mut self, t: i64, need: u32) {
        let cap = u64::from(need).div_ceil(OVERFLOW_BUCKETS).max(1);
        match self.buckets.back_mut() {
            Some((n, _, last)) if *n < cap => {
                *n += 1;
                *last = t;
            }
            _ => self.buckets.push_back((1, t, t)),
        }
        self.total += 1;
    }

    /// Forgets the oldest dropped entry (the count is saturated).
    fn remove_oldest(&mut self) {
        if let Some((n, _, _)) = self.buckets.front_mut() {
            *n -= 1;
            self.total -= 1;
            if *n == 0 {
                self.buckets.pop_front();
            }
        }
    }

    /// The earliest time the counted entries can have inside a window starting at `min`.
    fn start(&self, min: i64) -> i64 {
        self.buckets
            .front()
            .map_or(min, |&(_, first, _)| first.max(min))
    }

    fn heap_bytes(&self) -> usize {
        self.buckets.capacity() * 24
    }

    /// A saved overflow made consistent (a snapshot is input like any other).
    fn sanitized(&self) -> Overflow {
        let buckets: VecDeque<(u64, i64, i64)> = self
            .buckets
            .iter()
            .copied()
            .filter(|&(n, _, _)| n > 0)
            .collect();
        let total = buckets
            .iter()
            .fold(0u64, |acc, &(n, _, _)| acc.saturating_add(n));
        Overflow { buckets, total }
    }
}

impl Rings {
    fn new(m: u32) -> Rings {
        if m as usize <= INLINE {
            // m <= INLINE (6), so it fits a u8.
            Rings::Inline { m: m as u8 }
        } else {
            Rings::Deque {
                data: Vec::new(),
                overflow: Vec::new(),
            }
        }
    }

    fn ensure(&mut self, n: usize) {
        if let Rings::Deque { data, overflow } = self
            && data.len() < n
        {
            data.resize_with(n, VecDeque::new);
            overflow.resize(n, Overflow::default());
        }
    }

    fn clear(&mut self, slot: &mut Slot, i: usize) {
        match self {
            Rings::Inline { .. } => {
                slot.len = 0;
                slot.head = 0;
            }
            Rings::Deque { data, overflow } => {
                data[i] = VecDeque::new();
                overflow[i] = Overflow::default();
            }
        }
    }

    /// Drops timestamps before `min`, appends `t`, keeps at most `cap` (and at most `limit`,
    /// counting the rest as overflow); returns (count, oldest) and the number of entries moved
    /// to the overflow.
    fn push(
        &mut self,
        slot: &mut Slot,
        i: usize,
        min: i64,
        t: i64,
        cap: u32,
        limit: usize,
    ) -> (u32, i64, u64) {
        match self {
            Rings::Inline { m } => {
                let (n, oldest) = push_inline(slot, *m, min, t);
                (n, oldest, 0)
            }
            Rings::Deque { data, overflow } => {
                let d = &mut data[i];
                let over = &mut overflow[i];
                while d.front().is_some_and(|&x| x < min) {
                    d.pop_front();
                }
                let mut moved = 0;
                let dropped = over.live(min);
                if d.len() as u64 + dropped >= u64::from(cap) {
                    // Saturated: the oldest entry is no longer needed.
                    if dropped > 0 {
                        over.remove_oldest();
                    } else {
                        d.pop_front();
                    }
                } else if d.len() >= limit.max(1)
                    && let Some(old) = d.pop_front()
                {
                    over.add(old, cap);
                    moved = 1;
                }
                d.push_back(t);
                let kept = d.front().copied().unwrap_or(t);
                let oldest = if over.count() > 0 {
                    over.start(min).min(kept)
                } else {
                    kept
                };
                let count = (d.len() as u64 + over.count()).min(u64::from(u32::MAX)) as u32;
                (count, oldest, moved)
            }
        }
    }

    fn times(&self, slot: &Slot, i: usize) -> Vec<i64> {
        match self {
            Rings::Inline { m } => (0..slot.len)
                .map(|k| slot.inline[usize::from((slot.head + k) % *m)])
                .collect(),
            Rings::Deque { data, .. } => data[i].iter().copied().collect(),
        }
    }

    fn overflow(&self, i: usize) -> Overflow {
        match self {
            Rings::Inline { .. } => Overflow::default(),
            Rings::Deque { overflow, .. } => overflow[i].clone(),
        }
    }

    fn heap_bytes(&self) -> usize {
        match self {
            Rings::Inline { .. } => 0,
            Rings::Deque { data, overflow } => {
                overflow.capacity() * std::mem::size_of::<Overflow>()
                    + overflow.iter().map(Overflow::heap_bytes).sum::<usize>()
                    + data.capacity() * std::mem::size_of::<VecDeque<i64>>()
                    + data.iter().map(|d| d.capacity() * 8).sum::<usize>()
            }
        }
    }
}

/// [`Rings::push`] for a ring of `m` entries inside the slot: drops timestamps before `min`,
/// appends `t`, keeps the newest `m`; returns the count and the oldest timestamp.
#[inline]
fn push_inline(slot: &mut Slot, m: u8, min: i64, t: i64) -> (u32, i64) {
    // Positions wrap by a comparison, not a division (h, l < m <= INLINE).
    let next = |x: u8| if x + 1 >= m { 0 } else { x + 1 };
    let (mut h, mut l) = (slot.head, slot.len);
    while l > 0 && slot.inline[usize::from(h)] < min {
        h = next(h);
        l -= 1;
    }
    if l >= m {
        // Saturated: the oldest entry is no longer needed (see the module docs).
        h = next(h);
        l -= 1;
    }
    let tail = if h + l >= m { h + l - m } else { h + l };
    slot.inline[usize::from(tail)] = t;
    l += 1;
    slot.head = h;
    slot.len = l;
    (u32::from(l), slot.inline[usize::from(h)])
}

/// Per-rule rows (`temporal`, `temporal_ordered`): inside the slot up to [`INLINE`] rules, else
/// one flat array of `width` entries per group.
fn row<'a>(slot: &'a mut Slot, flat: &'a mut [i64], i: usize, width: usize) -> &'a mut [i64] {
    if width <= INLINE {
        &mut slot.inline[..width]
    } else {
        &mut flat[i * width..(i + 1) * width]
    }
}

fn row_ref<'a>(slot: &'a Slot, flat: &'a [i64], i: usize, width: usize) -> &'a [i64] {
    if width <= INLINE {
        &slot.inline[..width]
    } else {
        &flat[i * width..(i + 1) * width]
    }
}

/// The window state of one correlation type, one entry per slot.
#[derive(Debug)]
pub(crate) enum Store {
    /// `event_count`: the newest `saturation` timestamps.
    Count(Rings),
    /// `value_count`: up to `saturation` distinct values with their latest timestamp, oldest
    /// first.
    Distinct {
        sets: Vec<VecDeque<(CompactString, i64)>>,
        overflow: Vec<Overflow>,
    },
    /// `temporal`: per referenced rule, its latest timestamp (in the slot, or `latest` for
    /// more than [`INLINE`] rules).
    Temporal { width: usize, latest: Vec<i64> },
    /// `temporal_ordered`: per stage `k`, the latest start time of an in-order match of the
    /// first `k + 1` rules (in the slot, or `start` for more than [`INLINE`] rules).
    Ordered { width: usize, start: Vec<i64> },
    /// `value_sum`, `value_avg`, `value_percentile`: every (timestamp, number) in the window, up
    /// to the configured cap.
    Values(Vec<VecDeque<(i64, Num)>>),
}

/// A detection's contribution beyond its time and rule.
pub(crate) enum Input {
    None,
    Distinct(CompactString),
    Number(Num),
}

/// A condition that held: what the alert reports.
pub(crate) struct Fire {
    pub value: Value,
    pub start: i64,
    /// Slots (positions in `rules`) that contributed, ascending.
    pub rules: Vec<u16>,
}

/// Groups and state for one correlation rule and one clock.
#[derive(Debug)]
pub(crate) struct Table {
    pub groups: Groups,
    pub store: Store,
    /// For counts and numeric types over several rules: per slot × rule, the rule's latest
    /// timestamp in the group (which rules contributed to a window).
    pub rule_latest: Option<(usize, Vec<i64>)>,
    /// The newest `sample_events` detections of each group.
    pub samples: Option<Vec<VecDeque<Sample>>>,
}

/// Limits the tables need from the correlator's configuration.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub sample_events: usize,
    pub max_values: usize,
}

impl Table {
    pub fn new(plan: &Plan, limits: Limits) -> Table {
        let width = plan.slots.len();
        let store = match plan.kind {
            CorrelationType::EventCount => Store::Count(Rings::new(plan.saturation.max(1))),
            CorrelationType::ValueCount => Store::Distinct {
                sets: Vec::new(),
                overflow: Vec::new(),
            },
            CorrelationType::Temporal => Store::Temporal {
                width,
                latest: Vec::new(),
            },
            CorrelationType::TemporalOrdered => Store::Ordered {
                width,
                start: Vec::new(),
            },
            _ => Store::Values(Vec::new()),
        };
        let rule_latest = (width > 1 && !plan.kind.is_temporal()).then(|| (width, Vec::new()));
        let samples = (limits.sample_events > 0).then(Vec::new);
        Table {
            groups: Groups::default(),
            store,
            rule_latest,
            samples,
        }
    }

    /// Makes every per-slot array long enough for `slot`.
    pub fn ensure(&mut self, slot: u32) {
        let n = slot as usize + 1;
        match &mut self.store {
            Store::Count(r) => r.ensure(n),
            Store::Distinct { sets, overflow } => {
                if sets.len() < n {
                    sets.resize_with(n, VecDeque::new);
                    overflow.resize(n, Overflow::default());
                }
            }
            Store::Temporal {
                width,
                latest: flat,
            }
            | Store::Ordered { width, start: flat } => {
                if *width > INLINE && flat.len() < n * *width {
                    flat.resize(n * *width, NONE)
                }
            }
            Store::Values(v) => {
                if v.len() < n {
                    v.resize_with(n, VecDeque::new)
                }
            }
        }
        if let Some((w, v)) = &mut self.rule_latest
            && v.len() < n * *w
        {
            v.resize(n * *w, NONE);
        }
        if let Some(s) = &mut self.samples
            && s.len() < n
        {
            s.resize_with(n, VecDeque::new);
        }
    }

    /// Empties the window state of `slot` (after it fired, or when the slot is freed); its
    /// samples' bytes go back to `budget`.
    pub fn clear(&mut self, slot: u32, budget: &mut SampleBudget) {
        let i = slot as usize;
        let s = &mut self.groups.slots[i];
        match &mut self.store {
            Store::Count(r) => r.clear(s, i),
            Store::Distinct { sets, overflow } => {
                sets[i] = VecDeque::new();
                overflow[i] = Overflow::default();
            }
            Store::Temporal {
                width,
                latest: flat,
            }
            | Store::Ordered { width, start: flat } => row(s, flat, i, *width).fill(NONE),
            Store::Values(v) => v[i] = VecDeque::new(),
        }
        if let Some((w, v)) = &mut self.rule_latest {
            v[i * *w..(i + 1) * *w].fill(NONE);
        }
        if let Some(s) = &mut self.samples {
            for sample in std::mem::take(&mut s[i]) {
                budget.release(&sample);
            }
        }
    }

    /// Records a sample for `slot` (this table is number `table` to `budget`), keeping the
    /// newest `cap`. The caller has made room in `budget` for `bytes`.
    #[inline]
    #[allow(clippy::too_many_arguments)]
    pub fn sample(
        &mut self,
        table: u32,
        slot: u32,
        time: i64,
        event: Arc<Event>,
        bytes: u32,
        cap: usize,
        budget: &mut SampleBudget,
    ) {
        if let Some(samples) = &mut self.samples {
            let d = &mut samples[slot as usize];
            if d.len() >= cap
                && let Some(old) = d.pop_front()
            {
                budget.release_pushed_out(table, slot, &old);
            }
            d.push_back(budget.take(table, slot, time, event, bytes));
        }
    }

    /// Drops the oldest sample of `slot` if it is the one numbered `seq` (see
    /// [`SampleBudget`]); returns whether it did.
    pub fn evict_sample(&mut self, slot: u32, seq: u32, budget: &mut SampleBudget) -> bool {
        let Some(d) = self.samples.as_mut().and_then(|s| s.get_mut(slot as usize)) else {
            return false;
        };
        if d.front().is_some_and(|s| s.seq == seq)
            && let Some(old) = d.pop_front()
        {
            budget.release(&old);
            return true;
        }
        false
    }

    /// Whether `slot` still holds the sample numbered `seq`.
    pub fn holds_sample(&self, slot: u32, seq: u32) -> bool {
        self.samples
            .as_ref()
            .and_then(|s| s.get(slot as usize))
            .is_some_and(|d| d.iter().any(|s| s.seq == seq))
    }

    /// The sampled events of `slot` at or after `min`, oldest first.
    pub fn samples_since(&self, slot: u32, min: i64) -> Vec<Event> {
        match &self.samples {
            Some(s) => s[slot as usize]
                .iter()
                .filter(|s| s.time >= min)
                .map(|s| (*s.event).clone())
                .collect(),
            None => Vec::new(),
        }
    }

    /// Applies one detection of rule `rule` (a slot of the plan) at time `t` to group `slot` and
    /// reports whether the condition holds over the window `[t - timespan, t]`. Returns the
    /// number of values dropped by the per-group cap alongside.
    ///
    /// The common case (an `event_count` ring inside the slot, below the threshold) is inlined
    /// into the caller: no call, nothing returned through memory; the rest is
    /// [`Table::update_other`].
    #[inline(always)]
    pub fn update(
        &mut self,
        slot: u32,
        plan: &Plan,
        rule: u16,
        t: i64,
        input: Input,
        limits: Limits,
    ) -> (Option<Fire>, u64) {
        if self.rule_latest.is_none()
            && let Store::Count(Rings::Inline { m }) = self.store
        {
            let min = t.saturating_sub(plan.timespan);
            let (n, oldest) = push_inline(&mut self.groups.slots[slot as usize], m, min, t);
            if !plan.count_holds(n) {
                return (None, 0);
            }
            return (self.fire_count(slot, n, oldest, min), 0);
        }
        self.update_other(slot, plan, rule, t, input, limits)
    }

    /// The condition of an inline `event_count` ring held with `n` entries, the oldest at
    /// `oldest`.
    #[cold]
    #[inline(never)]
    fn fire_count(&self, slot: u32, n: u32, oldest: i64, min: i64) -> Option<Fire> {
        self.finish(slot, true, || count_value(f64::from(n)), oldest, None, min)
    }

    /// [`Table::update`] of everything but its inlined common case.
    #[inline(never)]
    fn update_other(
        &mut self,
        slot: u32,
        plan: &Plan,
        rule: u16,
        t: i64,
        input: Input,
        limits: Limits,
    ) -> (Option<Fire>, u64) {
        let i = slot as usize;
        let min = t.saturating_sub(plan.timespan);
        if let Some((w, v)) = &mut self.rule_latest {
            v[i * *w + usize::from(rule)] = t;
        }
        // An `event_count` ring inside the slot (with `rule_latest`: several rules).
        if let Store::Count(Rings::Inline { m }) = self.store {
            let (n, oldest) = push_inline(&mut self.groups.slots[i], m, min, t);
            if !plan.count_holds(n) {
                return (None, 0);
            }
            let fire = self.finish(slot, true, || count_value(f64::from(n)), oldest, None, min);
            return (fire, 0);
        }
        let m = plan.saturation.max(1);
        let mut dropped = 0;
        // (value, start of the window's measured stretch, contributing slots if not by rule_latest)
        let s = &mut self.groups.slots[i];
        let (value, start, own_rules): (f64, i64, Option<Vec<u16>>) = match &mut self.store {
            Store::Count(rings) => {
                let (n, oldest, moved) = rings.push(s, i, min, t, m, limits.max_values);
                dropped += moved;
                (f64::from(n), oldest, None)
            }
            Store::Distinct { sets, overflow } => {
                let Input::Distinct(v) = input else {
                    return (None, 0);
                };
                let d = &mut sets[i];
                let over = &mut overflow[i];
                d.retain(|(_, latest)| *latest >= min);
                if let Some(pos) = d.iter().position(|(x, _)| *x == v) {
                    d.remove(pos);
                }
                d.push_back((v, t));
                let dropped_live = over.live(min);
                if d.len() as u64 + dropped_live > u64::from(m) {
                    // Keep the `m` values seen most recently: an older value can only matter
                    // again by reappearing, which makes it the most recent (see the module docs).
                    if dropped_live > 0 {
                        over.remove_oldest();
                    } else {
                        d.pop_front();
                    }
                } else if d.len() > limits.max_values.max(1) {
                    // Beyond the per-group limit (thresholds above it only): count, forget.
                    if let Some((_, latest)) = d.pop_front() {
                        over.add(latest, m);
                        dropped += 1;
                    }
                }
                let kept = d.front().map_or(t, |(_, l)| *l);
                let start = if over.count() > 0 {
                    over.start(min).min(kept)
                } else {
                    kept
                };
                ((d.len() as u64 + over.count()) as f64, start, None)
            }
            Store::Temporal { width, latest } => {
                let row = row(s, latest, i, *width);
                row[usize::from(rule)] = t;
                let present: Vec<u16> = (0..row.len())
                    .filter(|&r| row[r] >= min)
                    .map(|r| r as u16)
                    .collect();
                let start = present
                    .iter()
                    .map(|&r| row[usize::from(r)])
                    .min()
                    .unwrap_or(t);
                (present.len() as f64, start, Some(present))
            }
            Store::Ordered { width, start } => {
                let row = row(s, start, i, *width);
                let r = usize::from(rule);
                if r == 0 {
                    row[0] = t;
                } else if row[r - 1] != NONE && row[r - 1] >= min {
                    row[r] = row[r].max(row[r - 1]);
                }
                // Stage starts never increase along the list, so the valid stages are a prefix.
                let k = row.iter().take_while(|&&s| s != NONE && s >= min).count();
                let first = if k > 0 { row[k - 1] } else { t };
                (k as f64, first, Some((0..k as u16).collect()))
            }
            Store::Values(values) => {
                let Input::Number(x) = input else {
                    return (None, 0);
                };
                let d = &mut values[i];
                while d.front().is_some_and(|(ts, _)| *ts < min) {
                    d.pop_front();
                }
                if d.len() >= limits.max_values.max(1) {
                    d.pop_front();
                    dropped = 1;
                }
                d.push_back((t, x));
                let nums = d.iter().map(|(_, n)| *n);
                let measured = match plan.kind {
                    CorrelationType::ValueSum => sum(nums),
                    CorrelationType::ValueAvg => Num::Float(sum(nums).as_f64() / d.len() as f64),
                    _ => percentile(nums, plan.percentile).unwrap_or(x),
                };
                let start = d.front().map_or(t, |(ts, _)| *ts);
                let holds = plan_holds(plan, measured.as_f64());
                return (
                    self.finish(slot, holds, || measured.to_value(), start, None, min),
                    dropped,
                );
            }
        };
        let holds = match own_rules {
            // Counts (every type but the numeric ones) are whole numbers below 2^32.
            None => plan.count_holds(value as u32),
            Some(_) => plan_holds(plan, value),
        };
        let fire = self.finish(slot, holds, || count_value(value), start, own_rules, min);
        (fire, dropped)
    }

    /// The [`Fire`] of `slot` if the condition `holds`.
    #[inline]
    fn finish(
        &self,
        slot: u32,
        holds: bool,
        value: impl FnOnce() -> Value,
        start: i64,
        own_rules: Option<Vec<u16>>,
        min: i64,
    ) -> Option<Fire> {
        if !holds {
            return None;
        }
        let value = value();
        let rules = match (own_rules, &self.rule_latest) {
            (Some(r), _) => r,
            (None, Some((w, v))) => {
                let i = slot as usize;
                (0..*w)
                    .filter(|&r| v[i * *w + r] >= min)
                    .map(|r| r as u16)
                    .collect()
            }
            (None, None) => vec![0],
        };
        Some(Fire {
            value,
            start,
            rules,
        })
    }

    /// The window state of `slot` for a snapshot.
    pub fn export(&self, slot: u32) -> super::snapshot::StateSnapshot {
        use super::snapshot::StateSnapshot as S;
        let i = slot as usize;
        let s = &self.groups.slots[i];
        match &self.store {
            Store::Count(r) => S::Count {
                times: r.times(s, i),
                overflow: Some(r.overflow(i)).filter(|o| o.count() > 0),
            },
            Store::Distinct { sets, overflow } => S::Distinct {
                values: sets[i].iter().map(|(k, t)| (k.to_string(), *t)).collect(),
                overflow: Some(overflow[i].clone()).filter(|o| o.count() > 0),
            },
            Store::Temporal { width, latest } => S::Temporal {
                latest: row_ref(s, latest, i, *width).to_vec(),
            },
            Store::Ordered { width, start } => S::Ordered {
                start: row_ref(s, start, i, *width).to_vec(),
            },
            Store::Values(v) => S::Values {
                values: v[i].iter().copied().collect(),
            },
        }
    }

    /// Loads the window state of `slot` from a snapshot; false if it does not fit this table.
    pub fn import(
        &mut self,
        slot: u32,
        state: &super::snapshot::StateSnapshot,
        plan: &Plan,
        limits: Limits,
    ) -> bool {
        use super::snapshot::StateSnapshot as S;
        let i = slot as usize;
        let s = &mut self.groups.slots[i];
        match (&mut self.store, state) {
            (Store::Count(r), S::Count { times, overflow }) => {
                let mut prev = i64::MIN;
                for &t in times {
                    if t < prev {
                        return false;
                    }
                    prev = t;
                    r.push(s, i, i64::MIN, t, plan.saturation.max(1), usize::MAX);
                }
                match (r, overflow) {
                    (_, None) => true,
                    (Rings::Deque { overflow: o, .. }, Some(saved)) => {
                        o[i] = saved.sanitized();
                        true
                    }
                    (Rings::Inline { .. }, Some(_)) => false,
                }
            }
            (
                Store::Distinct { sets, overflow },
                S::Distinct {
                    values,
                    overflow: saved,
                },
            ) => {
                if values.len() > plan.saturation.max(1) as usize {
                    return false;
                }
                sets[i] = values
                    .iter()
                    .map(|(k, t)| (CompactString::from(k.as_str()), *t))
                    .collect();
                overflow[i] = saved.as_ref().map(Overflow::sanitized).unwrap_or_default();
                true
            }
            (
                Store::Temporal {
                    width,
                    latest: flat,
                },
                S::Temporal { latest: saved },
            )
            | (Store::Ordered { width, start: flat }, S::Ordered { start: saved })
                if saved.len() == *width =>
            {
                row(s, flat, i, *width).copy_from_slice(saved);
                true
            }
            (Store::Values(v), S::Values { values })
                if values.len() <= limits.max_values.max(1) =>
            {
                v[i] = values.iter().copied().collect();
                true
            }
            _ => false,
        }
    }

    /// Bytes held by the table, for memory accounting (capacities, including sampled events'
    /// `Arc` slots but not the shared events themselves).
    pub fn heap_bytes(&self) -> usize {
        let store = match &self.store {
            Store::Count(r) => r.heap_bytes(),
            Store::Distinct { sets, overflow } => {
                overflow.capacity() * std::mem::size_of::<Overflow>()
                    + overflow.iter().map(Overflow::heap_bytes).sum::<usize>()
                    + sets.capacity() * std::mem::size_of::<VecDeque<(CompactString, i64)>>()
                    + sets.iter().map(|d| d.capacity() * 32).sum::<usize>()
            }
            Store::Temporal { latest, .. } => latest.capacity() * 8,
            Store::Ordered { start, .. } => start.capacity() * 8,
            Store::Values(v) => {
                v.capacity() * std::mem::size_of::<VecDeque<(i64, Num)>>()
                    + v.iter().map(|d| d.capacity() * 24).sum::<usize>()
            }
        };
        let rules = self
            .rule_latest
            .as_ref()
            .map_or(0, |(_, v)| v.capacity() * 8);
        let samples = self.samples.as_ref().map_or(0, |s| {
            s.capacity() * std::mem::size_of::<VecDeque<Sample>>()
                + s.iter()
                    .map(|d| d.capacity() * std::mem::size_of::<Sample>())
                    .sum::<usize>()
        });
        self.groups.heap_bytes() + store + rules + samples
    }
}

fn plan_holds(plan: &Plan, measured: f64) -> bool {
    plan.condition_holds(measured)
}

/// Counts are whole numbers: report them as integers.
fn count_value(v: f64) -> Value {
    // Counts are at most the saturation (a u32), so the cast is exact.
    Value::Int(v as i64)
}
