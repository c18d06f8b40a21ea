//! [`SharedCorrelator`]: a correlator behind `&self`, sharded by group.

use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};

use super::engine::{Correlator, CorrelatorConfig, CorrelatorStats, Detection, Forward, Partition};
use super::set::{CorrelationSet, Owners};
use super::snapshot::{RestoreReport, Snapshot, SnapshotError};
use crate::alert::Alert;

/// A thread-safe correlator: `shards` correlators, each owning one partition of the groups
/// (by [`stable_hash`](super::stable_hash) of the group's values) behind its own `Mutex`.
///
/// A detection locks only the shards that own one of the groups it updates, one at a time, so
/// threads working on different groups rarely wait for each other; chained detections for a
/// group of another shard are delivered to it before [`SharedCorrelator::process`] returns.
/// This is what the `Engine` facade holds to correlate from `&self`.
///
/// Each shard keeps its own clocks: lateness is measured against the newest event time *that
/// shard* has seen, so with several shards a detection may be accepted that a single
/// correlator would have found late. With `lateness` 0 (the default) and in-order input, the
/// shards together raise exactly the alerts of one correlator, with one exception: a
/// correlation over two or more correlations that both fire on the same detection in
/// different shards sees the two at the same time, and ties go by arrival, which then depends
/// on the order the shards deliver them in (the shard's own fire first, the other shard's
/// after; one correlator applies them in rule order). Simultaneous events have no order in
/// Sigma, so either is a valid reading, but they can differ: which fire completes the outer
/// window and which starts the next (its `rules` and window start), and for
/// `temporal_ordered` whether the order holds. Chains over one correlation (the
/// specification's brute force then success) are not affected.
///
/// The caps of the configuration ([`CorrelatorConfig::max_groups`],
/// [`CorrelatorConfig::max_pending`], [`CorrelatorConfig::max_sample_bytes`]) hold for all
/// shards together: each shard gets its share, rounded up. Groups are spread by a hash, so the
/// shares fill evenly; under a flood of distinct keys each shard evicts from its own share.
///
/// ```
/// use std::sync::Arc;
/// use siem_core::correlate::{CorrelationSet, CorrelatorConfig, SharedCorrelator};
/// use siem_core::sigma::{RuleMeta, correlation::CorrelationRule};
///
/// let doc: yaml_serde::Value = yaml_serde::from_str(
///     "correlation: {type: event_count, rules: [r], group-by: [source.ip], timespan: 1m, condition: {gte: 2}}",
/// ).unwrap();
/// let rule = CorrelationRule::from_yaml(RuleMeta { title: "t".into(), ..RuleMeta::default() }, &doc).unwrap();
/// let set = Arc::new(CorrelationSet::build(vec![rule], |_: &str| Some(0u32)).unwrap());
/// let shared = Arc::new(SharedCorrelator::new(set, CorrelatorConfig::default(), 8));
/// std::thread::scope(|s| {
///     for _ in 0..2 {
///         let shared = shared.clone();
///         s.spawn(move || shared.stats());
///     }
/// });
/// ```
#[derive(Debug)]
pub struct SharedCorrelator {
    set: Arc<CorrelationSet>,
    shards: Vec<Mutex<Correlator>>,
}

/// The configuration of shard `index` of `count`: its partition, and its share (rounded up)
/// of the caps, which `config` states for all shards together.
fn shard_config(config: &CorrelatorConfig, index: u32, count: u32) -> CorrelatorConfig {
    let share = |total: usize| total.div_ceil(count.max(1) as usize);
    CorrelatorConfig {
        partition: Some(Partition { index, count }),
        max_groups: share(config.max_groups).max(1),
        max_pending: share(config.max_pending),
        max_sample_bytes: share(config.max_sample_bytes),
        ..config.clone()
    }
}

impl SharedCorrelator {
    /// `shards` correlators (at least 1) with `config`, each owning one partition
    /// (`config.partition` is replaced).
    pub fn new(
        set: Arc<CorrelationSet>,
        config: CorrelatorConfig,
        shards: usize,
    ) -> SharedCorrelator {
        let count = shards.clamp(1, u32::MAX as usize) as u32;
        let shards = (0..count)
            .map(|index| {
                Mutex::new(Correlator::new(
                    set.clone(),
                    shard_config(&config, index, count),
                ))
            })
            .collect();
        SharedCorrelator { set, shards }
    }

    /// How many shards there are.
    pub fn shards(&self) -> usize {
        self.shards.len()
    }

    fn lock(&self, shard: u32) -> MutexGuard<'_, Correlator> {
        // A panic while holding the lock cannot leave a shard half-updated in a way later calls
        // would misread (each update completes or does not touch the group), so keep going.
        self.shards[shard as usize]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Offers one detection (see [`Correlator::process`]).
    pub fn process(&self, detection: &Detection<'_>) -> Vec<Alert> {
        let mut alerts = Vec::new();
        let mut forwards = Vec::new();
        match self
            .set
            .owners(detection.rule, detection.event, self.shards.len() as u32)
        {
            Owners::None => {}
            Owners::One(shard) => {
                // Every group it updates is this shard's: no need to check each again.
                let mut owned = *detection;
                owned.owned = true;
                let mut correlator = self.lock(shard);
                alerts = correlator.process(&owned);
                forwards = correlator.take_forwards();
            }
            Owners::Many(shards) => {
                for shard in shards {
                    let mut correlator = self.lock(shard);
                    alerts.extend(correlator.process(detection));
                    forwards.extend(correlator.take_forwards());
                }
            }
        }
        if !forwards.is_empty() {
            self.deliver(forwards, &mut alerts);
        }
        alerts
    }

    fn deliver(&self, mut forwards: Vec<Forward>, alerts: &mut Vec<Alert>) {
        while let Some(forward) = forwards.pop() {
            let mut correlator = self.lock(forward.partition);
            alerts.extend(correlator.process_forward(forward));
            forwards.extend(correlator.take_forwards());
        }
    }

    /// Replaces the state of every shard with [`SharedCorrelator::snapshot`]'s output, in
    /// place (callers holding the correlator behind `&self` keep using it). The snapshots must
    /// come from a correlator with as many shards; all of them are read before any shard is
    /// replaced, so an error leaves the state untouched.
    pub fn restore_in_place(
        &self,
        config: &CorrelatorConfig,
        snapshots: &[Snapshot],
    ) -> Result<RestoreReport, SnapshotError> {
        let count = self.shards.len() as u32;
        if snapshots.len() != self.shards.len() {
            return Err(SnapshotError::Partition {
                found: snapshots.first().and_then(|s| s.partition),
                configured: Some(Partition { index: 0, count }),
            });
        }
        let mut report = RestoreReport::default();
        let mut fresh = Vec::with_capacity(snapshots.len());
        for (index, snapshot) in snapshots.iter().enumerate() {
            let config = shard_config(config, index as u32, count);
            let (correlator, r) = Correlator::restore(self.set.clone(), config, snapshot)?;
            report.groups_restored += r.groups_restored;
            report.groups_dropped += r.groups_dropped;
            report.pending_dropped += r.pending_dropped;
            for dropped in r.rules_dropped {
                if !report.rules_dropped.contains(&dropped) {
                    report.rules_dropped.push(dropped);
                }
            }
            fresh.push(correlator);
        }
        for (shard, correlator) in fresh.into_iter().enumerate() {
            *self.lock(shard as u32) = correlator;
        }
        Ok(report)
    }

    /// Applies every waiting detection of every shard (see [`Correlator::flush`]).
    pub fn flush(&self) -> Vec<Alert> {
        self.each(Correlator::flush)
    }

    /// See [`Correlator::advance_to`].
    pub fn advance_to(&self, time: DateTime<Utc>) -> Vec<Alert> {
        self.each(|c| c.advance_to(time))
    }

    fn each(&self, mut f: impl FnMut(&mut Correlator) -> Vec<Alert>) -> Vec<Alert> {
        let mut alerts = Vec::new();
        let mut forwards = Vec::new();
        for shard in 0..self.shards.len() as u32 {
            let mut correlator = self.lock(shard);
            alerts.extend(f(&mut correlator));
            forwards.extend(correlator.take_forwards());
        }
        self.deliver(forwards, &mut alerts);
        alerts
    }

    /// The shards' counters added up (a detection offered to two shards counts twice in
    /// `detections`).
    pub fn stats(&self) -> CorrelatorStats {
        let mut total = CorrelatorStats::default();
        for shard in 0..self.shards.len() as u32 {
            let s = self.lock(shard).stats();
            total.detections += s.detections;
            total.unreferenced += s.unreferenced;
            total.late_dropped += s.late_dropped;
            total.arrival_timed += s.arrival_timed;
            total.future_retimed += s.future_retimed;
            total.reorder_overflow += s.reorder_overflow;
            total.not_owned += s.not_owned;
            total.missing_value += s.missing_value;
            total.missing_group += s.missing_group;
            total.updates += s.updates;
            total.fires += s.fires;
            total.alerts += s.alerts;
            total.groups_created += s.groups_created;
            total.groups_expired += s.groups_expired;
            total.groups_evicted += s.groups_evicted;
            total.values_dropped += s.values_dropped;
            total.samples_evicted += s.samples_evicted;
            total.sample_bytes += s.sample_bytes;
            total.forwarded += s.forwarded;
            total.groups_live += s.groups_live;
            total.pending += s.pending;
        }
        total
    }

    /// One snapshot per shard, in shard order.
    pub fn snapshot(&self) -> Vec<Snapshot> {
        (0..self.shards.len() as u32)
            .map(|s| self.lock(s).snapshot())
            .collect()
    }

    /// Rebuilds a shared correlator from [`SharedCorrelator::snapshot`]'s output (the number of
    /// shards is the number of snapshots).
    pub fn restore(
        set: Arc<CorrelationSet>,
        config: CorrelatorConfig,
        snapshots: &[Snapshot],
    ) -> Result<(SharedCorrelator, RestoreReport), SnapshotError> {
        let count = snapshots.len().max(1) as u32;
        let mut shards = Vec::with_capacity(snapshots.len());
        let mut report = RestoreReport::default();
        for (index, snapshot) in snapshots.iter().enumerate() {
            let config = shard_config(&config, index as u32, count);
            let (correlator, r) = Correlator::restore(set.clone(), config, snapshot)?;
            report.groups_restored += r.groups_restored;
            report.groups_dropped += r.groups_dropped;
            report.pending_dropped += r.pending_dropped;
            for dropped in r.rules_dropped {
                if !report.rules_dropped.contains(&dropped) {
                    report.rules_dropped.push(dropped);
                }
            }
            shards.push(Mutex::new(correlator));
        }
        if shards.is_empty() {
            return Ok((SharedCorrelator::new(set, config, 1), report));
        }
        Ok((SharedCorrelator { set, shards }, report))
    }
}
