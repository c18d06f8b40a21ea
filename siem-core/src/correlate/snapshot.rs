//! Snapshots: a correlator's open windows as versioned, self-describing JSON.

use std::sync::Arc;

use compact_str::CompactString;

use super::engine::{Correlator, CorrelatorConfig, CorrelatorStats, Partition, Pending};
use super::key::Num;
use super::reorder::Reorder;
use super::set::CorrelationSet;
use super::table::Overflow;
use crate::event::Event;

/// The `format` field of every snapshot.
pub const SNAPSHOT_FORMAT: &str = "siem-correlator-snapshot";
/// The snapshot version this build writes and reads.
pub const SNAPSHOT_VERSION: u32 = 1;

/// A correlator's state: open windows, waiting detections, clocks and counters.
///
/// Serialized as one JSON object (`{"format":"siem-correlator-snapshot","version":1,...}`) with
/// [`Snapshot::to_json`]; read back with [`Snapshot::from_json`] and
/// [`Correlator::restore`]. Times are integers (nanoseconds since the Unix epoch); sampled events
/// are embedded as ECS JSON, so a snapshot costs about the state's size plus, per group, its
/// sampled events (set `sample_events` to 0 for small snapshots). Group state is matched to
/// rules by id (or name, or title) and kept only when the rule still computes the same thing
/// (same [fingerprint](crate::sigma::correlation::CorrelationRule::fingerprint)).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Snapshot {
    /// Always [`SNAPSHOT_FORMAT`].
    pub format: String,
    /// [`SNAPSHOT_VERSION`] at the time of writing.
    pub version: u32,
    /// The partition the correlator owned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<Partition>,
    pub(crate) max_seen: i64,
    pub(crate) floor: i64,
    pub(crate) arrival_clock: i64,
    pub(crate) seq: u64,
    /// Counters at the time of the snapshot.
    pub stats: CorrelatorStats,
    pub(crate) rules: Vec<RuleSnapshot>,
    pub(crate) pending: Vec<PendingSnapshot>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct RuleSnapshot {
    pub ident: String,
    pub fingerprint: String,
    pub groups: Vec<GroupSnapshot>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct GroupSnapshot {
    /// `event` or `arrival`.
    pub clock: String,
    pub key: String,
    pub last: i64,
    pub state: StateSnapshot,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub samples: Vec<SampleSnapshot>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct SampleSnapshot {
    pub time: i64,
    pub event: Event,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct PendingSnapshot {
    pub time: i64,
    pub seq: u64,
    /// The caller's index of the detection rule.
    pub rule: u32,
    pub event: Event,
}

/// The window state of one group.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum StateSnapshot {
    Count {
        times: Vec<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        overflow: Option<Overflow>,
    },
    Distinct {
        values: Vec<(String, i64)>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        overflow: Option<Overflow>,
    },
    Temporal {
        latest: Vec<i64>,
    },
    Ordered {
        start: Vec<i64>,
    },
    Values {
        values: Vec<(i64, Num)>,
    },
}

/// Why a snapshot cannot be read or restored.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotError {
    /// Not JSON of the snapshot shape.
    #[error("unreadable correlator snapshot: {0}")]
    Json(#[from] serde_json::Error),
    /// Another format or an unknown version.
    #[error(
        "not a siem correlator snapshot of version {SNAPSHOT_VERSION}: format {format:?}, version {version}"
    )]
    Format {
        /// The `format` found.
        format: String,
        /// The `version` found.
        version: u32,
    },
    /// The snapshot was taken by a correlator owning another partition.
    #[error(
        "the snapshot holds partition {found:?}, the correlator is configured for {configured:?}"
    )]
    Partition {
        /// The snapshot's partition.
        found: Option<Partition>,
        /// The configured partition.
        configured: Option<Partition>,
    },
}

/// What [`Correlator::restore`] kept and dropped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RestoreReport {
    /// Groups restored.
    pub groups_restored: usize,
    /// Groups dropped (rule gone or changed, state that does not fit, the cap on groups).
    pub groups_dropped: usize,
    /// Rules of the snapshot whose state was dropped, with the reason.
    pub rules_dropped: Vec<(String, String)>,
    /// Waiting detections dropped because no correlation refers to their rule any more.
    pub pending_dropped: usize,
}

impl Snapshot {
    /// The snapshot as one JSON object.
    pub fn to_json(&self) -> String {
        // Every field serializes to JSON (events through their own JSON writer).
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads a snapshot written by [`Snapshot::to_json`], checking its format and version.
    pub fn from_json(text: &str) -> Result<Snapshot, SnapshotError> {
        let snapshot: Snapshot = serde_json::from_str(text)?;
        if snapshot.format != SNAPSHOT_FORMAT || snapshot.version != SNAPSHOT_VERSION {
            return Err(SnapshotError::Format {
                format: snapshot.format,
                version: snapshot.version,
            });
        }
        Ok(snapshot)
    }
}

impl Correlator {
    /// The correlator's state (see [`Snapshot`]). Waiting detections are included; call
    /// [`Correlator::flush`] first for a snapshot without them.
    pub fn snapshot(&self) -> Snapshot {
        let set = &self.set;
        let mut rules = Vec::with_capacity(set.len());
        for (c, pair) in self.state.tables.iter().enumerate() {
            let rule = &set.rules()[c];
            let mut groups = Vec::new();
            for (k, table) in pair.iter().enumerate() {
                for slot in table.groups.in_order() {
                    let s = &table.groups.slots[slot as usize];
                    let i = slot as usize;
                    let rule_times = match &table.rule_latest {
                        Some((w, v)) => v[i * w..(i + 1) * w].to_vec(),
                        None => Vec::new(),
                    };
                    let samples = match &table.samples {
                        Some(samples) => samples[i]
                            .iter()
                            .map(|s| SampleSnapshot {
                                time: s.time,
                                event: (*s.event).clone(),
                            })
                            .collect(),
                        None => Vec::new(),
                    };
                    groups.push(GroupSnapshot {
                        clock: if k == 0 { "event" } else { "arrival" }.to_string(),
                        key: s.key.to_string(),
                        last: s.last,
                        state: table.export(slot),
                        rules: rule_times,
                        samples,
                    });
                }
            }
            rules.push(RuleSnapshot {
                ident: rule.ident().to_string(),
                fingerprint: rule.fingerprint(),
                groups,
            });
        }
        let mut pending: Vec<PendingSnapshot> = self
            .state
            .pending
            .iter()
            .map(|p| PendingSnapshot {
                time: p.time,
                seq: p.seq,
                rule: set.base_rules()[p.rule.0 as usize].index,
                event: (*p.event).clone(),
            })
            .collect();
        pending.sort_by_key(|p| (p.time, p.seq));
        Snapshot {
            format: SNAPSHOT_FORMAT.to_string(),
            version: SNAPSHOT_VERSION,
            partition: self.state.config.partition,
            max_seen: self.state.max_seen,
            floor: self.state.floor,
            arrival_clock: self.state.arrival_clock,
            seq: self.state.seq,
            stats: self.state.stats.clone(),
            rules,
            pending,
        }
    }

    /// A correlator for `set` with the state of `snapshot`: windows of rules that still exist
    /// unchanged, waiting detections, clocks and counters. The partition must match.
    pub fn restore(
        set: Arc<CorrelationSet>,
        config: CorrelatorConfig,
        snapshot: &Snapshot,
    ) -> Result<(Correlator, RestoreReport), SnapshotError> {
        if snapshot.format != SNAPSHOT_FORMAT || snapshot.version != SNAPSHOT_VERSION {
            return Err(SnapshotError::Format {
                format: snapshot.format.clone(),
                version: snapshot.version,
            });
        }
        if snapshot.partition != config.partition {
            return Err(SnapshotError::Partition {
                found: snapshot.partition,
                configured: config.partition,
            });
        }
        let mut correlator = Correlator::new(set.clone(), config);
        let mut report = RestoreReport::default();
        let limits = super::table::Limits {
            sample_events: correlator.state.config.sample_events,
            max_values: correlator.state.config.max_values_per_group,
        };
        for saved in &snapshot.rules {
            let Some(c) = set.rules().iter().position(|r| r.ident() == saved.ident) else {
                report
                    .rules_dropped
                    .push((saved.ident.clone(), "no such rule".into()));
                report.groups_dropped += saved.groups.len();
                continue;
            };
            if set.rules()[c].fingerprint() != saved.fingerprint {
                report
                    .rules_dropped
                    .push((saved.ident.clone(), "the rule changed".into()));
                report.groups_dropped += saved.groups.len();
                continue;
            }
            let plan = &set.plans[c];
            for g in &saved.groups {
                let k = match g.clock.as_str() {
                    "event" => 0,
                    "arrival" => 1,
                    _ => {
                        report.groups_dropped += 1;
                        continue;
                    }
                };
                let table = &mut correlator.state.tables[c][k];
                let hash = super::key::group_hash(&g.key);
                if table.groups.find(hash, &g.key).is_some() {
                    report.groups_dropped += 1;
                    continue;
                }
                let slot = table
                    .groups
                    .insert(hash, CompactString::from(g.key.as_str()), g.last);
                table.ensure(slot);
                table.clear(slot, &mut correlator.state.budget);
                let rules_fit = match &mut table.rule_latest {
                    Some((w, v)) if g.rules.len() == *w => {
                        v[slot as usize * *w..(slot as usize + 1) * *w].copy_from_slice(&g.rules);
                        true
                    }
                    Some(_) => false,
                    None => g.rules.is_empty(),
                };
                if !rules_fit || !table.import(slot, &g.state, plan, limits) {
                    table.clear(slot, &mut correlator.state.budget);
                    table.groups.undo_insert(slot);
                    report.groups_dropped += 1;
                    continue;
                }
                if table.samples.is_some() {
                    for s in g.samples.iter().rev().take(limits.sample_events).rev() {
                        let bytes = super::samples::sample_bytes(&s.event);
                        let event = Arc::new(s.event.clone());
                        correlator
                            .state
                            .keep_sample(c, k, slot, s.time, event, bytes);
                    }
                }
                report.groups_restored += 1;
            }
        }
        while correlator.live_groups() > correlator.state.config.max_groups.max(1) {
            if !correlator.state.evict_one() {
                break;
            }
            report.groups_restored -= 1;
            report.groups_dropped += 1;
        }

        let mut pending = Reorder::default();
        // Oldest first, so that a saved buffer is one run again (a snapshot lists its pending
        // detections sorted, but it is input like any other).
        let mut saved: Vec<&PendingSnapshot> = snapshot.pending.iter().collect();
        saved.sort_by_key(|p| (p.time, p.seq));
        for p in saved {
            match set.base_rule(p.rule) {
                Some(rule) => pending.push(Pending {
                    time: p.time,
                    seq: p.seq,
                    rule,
                    event: Arc::new(p.event.clone()),
                    owned: false,
                }),
                None => report.pending_dropped += 1,
            }
        }
        correlator.state.pending = pending;
        correlator.state.max_seen = snapshot.max_seen;
        correlator.state.floor = snapshot.floor;
        correlator.state.arrival_clock = snapshot.arrival_clock;
        correlator.state.seq = snapshot.seq;
        correlator.state.stats = snapshot.stats.clone();
        Ok((correlator, report))
    }
}
