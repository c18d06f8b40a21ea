//! Streaming correlation: Sigma correlation rules over sliding event-time windows, keyed by
//! (rule, group), with bounded, snapshotable state.
//!
//! # Pieces
//!
//! - [`CorrelationSet`]: the parsed [`CorrelationRule`](crate::sigma::correlation::CorrelationRule)s
//!   with every `rules` reference resolved (to another correlation, or through the caller's
//!   resolver to a detection rule), checked for unknown references and cycles. Built once,
//!   shared in an `Arc`. It also answers which detection rules raise their own alerts
//!   ([`CorrelationSet::emits_detection_alerts`], the `generate` flag).
//! - [`Correlator`]: the state. Feed it [`Detection`]s (a referenced rule matched an event),
//!   get correlation [`Alert`](crate::alert::Alert)s back; [`Correlator::process_batch`] does
//!   the same for a slice of detections with their memory fetches overlapped.
//! - [`SharedCorrelator`]: the same behind `&self`, sharded by group, for several threads.
//! - [`Snapshot`]: the state as versioned JSON, to survive a restart.
//!
//! ```text
//! Event ─ RuleSet ─▶ (rule, event) ─ set.base_rule(rule) ─▶ Detection ─ Correlator ─▶ correlation Alerts
//! ```
//!
//! # Semantics
//!
//! The specification leaves the streaming behaviour open; siem decides it as follows, so that
//! every answer is a function of the detections alone (and is checked against a naive
//! re-computation in the property tests).
//!
//! **Groups.** "The resulting query must count events for each group specified by group-by
//! separately" and "When you use multiple fields they are linked by an AND": a group is the
//! tuple of the `group-by` values, read from each event at the field the rule's `aliases` name
//! for the rule that matched it ("The alias field names can then be referenced in `group-by`
//! attributes and are resolved to their respective field names"), else at the group-by name
//! itself. Values compare by their text, so an address read as an IP and one read as a string
//! are the same group. A detection whose event lacks a `group-by` field (or holds `null` there)
//! belongs to no group and is not counted ([`CorrelatorStats::missing_group`]), as in Splunk's
//! `stats ... by` that Sigma correlations translate to: five failed logins without a source
//! address are not a brute force from "no address". Without `group-by` all matches form one
//! group (the alert's `group` is `{}`).
//!
//! **Windows slide; they are anchored at each detection.** `timespan` "defines a time period in
//! which the correlation should be applied", and the specification warns that fixed buckets
//! cause false negatives ("a `timespan` of 1h only matches if all events appear within a full
//! hour"). siem therefore evaluates, at every detection of a group at time `t`, the window
//! `[t − timespan, t]` (both ends inclusive: events exactly `timespan` apart are together) over
//! the group's detections not yet used by an alert. Any stretch of time that satisfies a
//! condition on a growing count also satisfies it in the window ending at its last event, so no
//! burst is missed wherever it starts.
//!
//! **What is measured.**
//! - `event_count`: the detections in the window.
//! - `value_count`: the distinct values of `field` in the window ("Counts values in a field");
//!   a value seen several times counts once; with a list of fields, distinct combinations
//!   ("linked by an AND"). Detections without the field are not counted.
//! - `temporal`: how many of the referenced rules have a detection in the window ("the count of
//!   different event types (Sigma rules matching) in the given time frame"); without a
//!   condition, all of them ("All events defined by the rules referred by the rule field must
//!   occur in the time frame").
//! - `temporal_ordered`: the longest prefix of `rules` matched in order by detections in the
//!   window ("requires in addition that the events appear in the order provided in the *rule*
//!   attribute"); order is event time, ties by arrival.
//! - `value_sum`, `value_avg`: the sum and mean of `field` over the window's detections (numbers
//!   or numeric text; others are not counted). The sum is an exact integer while all values are.
//! - `value_percentile`: the nearest-rank `percentile` (pySigma's `condition.percentile`; the
//!   median when absent, after the specification's "median is a percentile 50") of `field`.
//!
//! **When an alert fires, and the reset.** When the condition holds for the window at a
//! detection, the correlator raises one alert and the window's detections are used up: the
//! group starts empty, so the next alert needs a fresh set of detections. A burst of twelve
//! failed logins against `gte: 5` raises two alerts (at the 5th and the 10th), not eight. This
//! matches how threshold tools behave (fail2ban's ban resets the failure counter; Hayabusa moves
//! its window past the counted events) and keeps alert volume proportional to the attack. The
//! alert lifecycle ([`crate::alert::policy`]) can further suppress repeats. A consequence worth
//! knowing: conditions one detection satisfies on its own (`lt`, `lte`, `neq`, `eq: 1`) fire on
//! nearly every match; [`CorrelationRule::warnings`](crate::sigma::correlation::CorrelationRule::warnings)
//! says so. A range (`gt: 100`, `lte: 200`) on a count fires when the count reaches 101,
//! because sliding windows pass through every count on the way up.
//!
//! **What an alert says.** `value` is the measured value; `window.start` is the earliest
//! timestamp of the detections the value rests on (all of the window's for counts and numbers;
//! for `value_count` the oldest latest occurrence of the counted values; for `temporal` the
//! oldest latest detection of the present rules; for `temporal_ordered` the first event of the
//! matched sequence, the latest such); `window.end` and `@timestamp` are the time of the
//! detection that completed it; `rules` lists the referenced rules with a detection in the
//! window (by id, else by the reference as written); `events` holds up to
//! [`CorrelatorConfig::sample_events`] of the window's newest events.
//!
//! **Chains.** A correlation may refer to correlations ("Allowing the user to chain multiple
//! correlations together"). An inner correlation's alert is a detection of it for the outer
//! one, at the alert's time, whose fields are the inner alert's `group` values (so an outer
//! `group-by` should use the inner rule's group-by names, or an alias to them). Inner rules raise
//! alerts of their own only when a rule referring to them says `generate: true`. Detections of
//! one input are applied to every rule they feed before the alerts they cause are applied to
//! outer rules, breadth first; cycles are rejected when the set is built.
//!
//! **Event time, lateness and arrival time.** Windows run on event time. Detections may arrive
//! out of order by up to [`CorrelatorConfig::lateness`]: they wait until the newest event time
//! seen passes theirs by the lateness (or until [`Correlator::flush`] /
//! [`Correlator::advance_to`]) and are then applied in time order, so the result equals in-order
//! processing. Older ones are dropped and counted. Detections of events without a timestamp use
//! their arrival time on a separate arrival clock: they are correlated with each other, never
//! mixed into event-time windows (a 2016 log replayed today must not meet today's arrivals), and
//! their alerts say `"timestamp_source":"arrival"`. Timestamps further ahead of arrival than
//! [`CorrelatorConfig::max_clock_skew`] are treated the same way.
//!
//! # Memory
//!
//! State is kept per (correlation rule, group, clock) and only while some detection of the
//! group lies within the rule's timespan of the newest time; idle groups are dropped as time
//! advances ([`CorrelatorStats::groups_expired`]). [`CorrelatorConfig::max_groups`] caps the
//! groups held at once. At the cap a group is evicted to make room
//! ([`CorrelatorStats::groups_evicted`]): the least recently updated one, found with a
//! second-chance queue (the oldest-queued group not updated since it was queued), so a group
//! under attack, updated all the time, outlives a flood of distinct keys (ten million source
//! addresses) that never grows memory past the cap. Eviction forgets a window early, so it can
//! miss an alert; the counters say how often it happened.
//!
//! Counts are kept exactly with bounded state. For a condition on a count, every count from
//! some `m` on gives the same answer ([`Condition::count_saturation`](crate::sigma::correlation::Condition::count_saturation):
//! `m` = 5 for `gte: 5`, 6 for `gt: 5`), and a count grows by at most one per detection, so the
//! count at any moment the condition can first hold is at most `m`. `event_count` therefore
//! keeps the newest `m` timestamps of a group (a count above `m` never has to be remembered
//! exactly), and `value_count` the `m` values seen most recently, each with its latest time
//! (a value that dropped out can only matter again by reappearing, which makes it the most
//! recent). A `gte: 5` rule costs about 134 bytes per group (measured in the `correlate` bench).
//! `value_sum`, `value_avg` and `value_percentile` must keep every value in the window, up to
//! [`CorrelatorConfig::max_values_per_group`] (beyond it the oldest are dropped). A count whose
//! condition needs more entries than that limit (`gte: 100000` with the default 10,000) keeps
//! the limit's worth and counts the older ones in 16 time buckets that expire one by one: the
//! rule still fires, the count may exceed the truth by less than a sixteenth of the threshold
//! at the window's edge, and [`CorrelatorStats::values_dropped`] says it happened. Per-group
//! memory is therefore bounded for every rule, and total memory by the cap on groups.
//!
//! The events an alert carries are the exception: their size is the input's. Each group keeps
//! its newest [`CorrelatorConfig::sample_events`] events, and all groups' samples together stay
//! within [`CorrelatorConfig::max_sample_bytes`] (64 MiB by default): past it the oldest
//! samples of any group go first ([`CorrelatorStats::samples_evicted`]), so the groups active
//! now keep theirs. A budget changes which events an alert shows, never whether it fires.
//!
//! # Sharing and partitioning
//!
//! A stable hash of a group's values ([`stable_hash`]) assigns it to one of `N` partitions; a
//! correlator configured with [`CorrelatorConfig::partition`] keeps only its share, and `N` of
//! them together raise exactly the alerts of one. A router sends each detection to
//! [`CorrelationSet::partitions_for`]; when an inner rule of a chain fires for a group whose
//! outer group lives elsewhere, the correlator hands out a [`Forward`] to deliver.
//! [`SharedCorrelator`] does all this in-process with one `Mutex` per partition.

mod engine;
mod index;
mod key;
mod reorder;
mod samples;
mod set;
mod shared;
mod snapshot;
mod table;

pub use engine::{Correlator, CorrelatorConfig, CorrelatorStats, Detection, Forward, Partition};
pub(crate) use key::push_key_part as push_group_key_part;
pub use key::stable_hash;
pub use set::{BaseRule, BuildError, CorrelationId, CorrelationSet, ResolvedRule};
pub use shared::SharedCorrelator;
pub use snapshot::{RestoreReport, SNAPSHOT_FORMAT, SNAPSHOT_VERSION, Snapshot, SnapshotError};
