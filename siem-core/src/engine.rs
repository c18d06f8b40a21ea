//! [`Engine`]: the one facade every caller uses — the CLI, the server, Python and Node.
//!
//! An engine is built once from Sigma rules (detection, filter and correlation rules, in any
//! mix of files), parse options and limits, and then turns events or raw lines into
//! [`Alert`]s:
//!
//! ```text
//! line ─ Parser ─▶ Event ─ RuleSet ─▶ matches ─┬─ detection alerts (rules that generate them)
//!                                              └─ Correlator ─▶ correlation alerts
//!                                all alerts ─ AlertPolicy (suppression, cooldown, cap) ─▶ caller
//! ```
//!
//! It is `Send + Sync`: share one engine (in an `Arc`) between threads. The compiled rules are
//! immutable; the correlation state is sharded behind one lock per shard, and the alert policy
//! behind one lock, so threads contend only when they touch the same shard.
//!
//! # Time
//!
//! `siem-core` reads no clock except here: [`Engine::process_event`] and
//! [`Engine::process_line`] take the arrival time from the system clock; the `_at` variants take
//! it from the caller (tests, replays). Correlation windows run on event time; detections may
//! arrive out of order by up to [`CorrelatorConfig::lateness`] (the engine's default is two
//! seconds: threads of one web application log a few microseconds out of order). Detections
//! wait that long, in event time, before they are applied, so a live caller should call
//! [`Engine::tick`] now and then (the Python and Node integrations do), and a caller at the end
//! of its input calls [`Engine::flush`].
//!
//! # Example
//!
//! ```
//! use siem_core::engine::Engine;
//!
//! let rule = r#"
//! title: Failed SSH password
//! id: 8d3f2a5e-1111-4c2b-9a35-2f1f7a6b0c01
//! logsource: {product: linux, service: sshd}
//! detection:
//!   failed:
//!     event.action: ssh-login
//!     event.outcome: failure
//!   condition: failed
//! level: medium
//! "#;
//! let mut builder = Engine::builder();
//! builder.rules_yaml(rule, Some("ssh.yml"));
//! let (engine, errors) = builder.build();
//! assert!(errors.is_empty());
//! let alerts = engine.process_line(
//!     b"Oct 11 22:14:15 web1 sshd[4242]: Failed password for root from 203.0.113.7 port 51122 ssh2",
//! );
//! assert_eq!(alerts.len(), 1);
//! assert_eq!(alerts[0].rule.title, "Failed SSH password");
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::alert::Alert;
use crate::alert::policy::{AlertPolicy, PolicyConfig, PolicyStats};
use crate::correlate::{
    BaseRule, CorrelationSet, CorrelatorConfig, CorrelatorStats, Detection, RestoreReport,
    SharedCorrelator, Snapshot, SnapshotError,
};
use crate::event::{Event, PARSE_FAILURE_TAG};
use crate::parse::{ParseConfigError, ParseOptions, Parsed, Parser};
use crate::sigma::correlation::{CorrelationRule, FieldAlias};
use crate::sigma::pipeline::PipelineSet;
use crate::sigma::{ErrorKind, RawCorrelation, RuleError, RuleId, RuleSet, RuleSetBuilder};

/// The default lateness of an engine's correlator: two seconds.
pub const DEFAULT_LATENESS: Duration = Duration::from_secs(2);

/// Builds an [`Engine`]. Obtained from [`Engine::builder`].
pub struct EngineBuilder {
    rules: RuleSetBuilder,
    /// Taken (installed into `rules`) by the first build.
    pipelines: Option<PipelineSet>,
    /// What the correlation rules' field names are mapped with (a copy of `pipelines`).
    field_mapping: PipelineSet,
    parse: ParseOptions,
    correlator: CorrelatorConfig,
    policy: PolicyConfig,
    shards: usize,
}

impl Default for EngineBuilder {
    fn default() -> Self {
        EngineBuilder {
            rules: RuleSet::builder(),
            pipelines: Some(PipelineSet::defaults()),
            field_mapping: PipelineSet::defaults(),
            parse: ParseOptions::default(),
            correlator: CorrelatorConfig {
                lateness: DEFAULT_LATENESS,
                ..CorrelatorConfig::default()
            },
            policy: PolicyConfig::default(),
            shards: 8,
        }
    }
}

impl EngineBuilder {
    /// Adds the Sigma documents of one YAML text (a rule file's content); `path` names it in
    /// errors. Rules that do not compile are reported by [`EngineBuilder::build`].
    pub fn rules_yaml(&mut self, text: &str, path: Option<&str>) -> &mut Self {
        self.rules.add_yaml(text, path);
        self
    }

    /// The processing pipelines every rule goes through before it is compiled (field-name
    /// mapping onto the fields siem's parsers emit, and the like). Replaces the default set,
    /// the bundled `windows` and `ecs` pipelines
    /// ([`DEFAULT_PIPELINES`](crate::sigma::pipeline::DEFAULT_PIPELINES)), which only touch
    /// rules of their logsources; pass an empty set for rules as written. Correlation rules'
    /// `group-by`, alias and `field` names are mapped with the same set, through the logsource
    /// of the rules they refer to.
    pub fn pipelines(&mut self, pipelines: PipelineSet) -> &mut Self {
        self.field_mapping = pipelines.clone();
        self.pipelines = Some(pipelines);
        self
    }

    /// The rule set builder, for what this builder does not forward (placeholders, category
    /// implications, transformations such as processing pipelines).
    pub fn rules(&mut self) -> &mut RuleSetBuilder {
        &mut self.rules
    }

    /// How raw lines are parsed ([`Engine::process_line`], [`Engine::parse`]).
    pub fn parse_options(&mut self, options: ParseOptions) -> &mut Self {
        self.parse = options;
        self
    }

    /// How the correlator bounds its memory and treats time. The engine's default differs from
    /// [`CorrelatorConfig::default`] only in `lateness` ([`DEFAULT_LATENESS`]).
    pub fn correlator(&mut self, config: CorrelatorConfig) -> &mut Self {
        self.correlator = config;
        self
    }

    /// The alert lifecycle: suppression of repeats, cooldown, a cap per hour. Off by default.
    pub fn policy(&mut self, config: PolicyConfig) -> &mut Self {
        self.policy = config;
        self
    }

    /// How many independently locked shards the correlation state is split into (default 8;
    /// at least 1). More shards, less contention between threads.
    pub fn shards(&mut self, shards: usize) -> &mut Self {
        self.shards = shards.max(1);
        self
    }

    /// Compiles everything. Returns the engine and every rule that could not be loaded —
    /// detection rules, filters and correlation rules alike, each with its file, id and reason;
    /// the others are in the engine. A caller that wants all-or-nothing checks that the list is
    /// empty.
    ///
    /// # Errors
    ///
    /// Only the parse options can make the build fail (a grok expression that does not
    /// compile): see [`EngineBuilder::try_build`].
    pub fn build(&mut self) -> (Engine, Vec<RuleError>) {
        self.try_build()
            .expect("parse options are valid; use try_build to handle bad ones")
    }

    /// Like [`EngineBuilder::build`], reporting invalid parse options as an error.
    pub fn try_build(&mut self) -> Result<(Engine, Vec<RuleError>), ParseConfigError> {
        let parser = Parser::new(self.parse.clone())?;
        if let Some(pipelines) = self.pipelines.take() {
            pipelines.install(&mut self.rules);
        }
        let (rules, mut errors) = self.rules.build();
        let correlations = build_correlations(&rules, &self.field_mapping, &mut errors);
        let rule_count = rules.len();
        let (base, emits) = match &correlations {
            Some(set) => (
                (0..rule_count as u32).map(|i| set.base_rule(i)).collect(),
                (0..rule_count as u32)
                    .map(|i| set.emits_detection_alerts(i))
                    .collect(),
            ),
            None => (vec![None; rule_count], vec![true; rule_count]),
        };
        let correlator = correlations
            .as_ref()
            .map(|set| SharedCorrelator::new(set.clone(), self.correlator.clone(), self.shards));
        let engine = Engine {
            parser,
            rules,
            correlations,
            correlator,
            correlator_config: self.correlator.clone(),
            base,
            emits,
            policy: Mutex::new(AlertPolicy::new(self.policy.clone())),
            counters: Counters::default(),
        };
        Ok((engine, errors))
    }
}

/// Parses the raw correlation documents and resolves them against the rule set. A correlation
/// that does not parse, or whose references cannot be resolved, becomes a [`RuleError`] and is
/// left out; the others still load.
fn build_correlations(
    rules: &RuleSet,
    pipelines: &PipelineSet,
    errors: &mut Vec<RuleError>,
) -> Option<Arc<CorrelationSet>> {
    let mut parsed: Vec<(CorrelationRule, &RawCorrelation)> = Vec::new();
    for raw in rules.correlations() {
        match CorrelationRule::from_yaml(raw.meta.clone(), &raw.yaml) {
            Ok(mut rule) => {
                map_correlation_fields(&mut rule, rules, pipelines);
                parsed.push((rule, raw))
            }
            Err(e) => errors.push(correlation_error(raw, e.kind.to_string())),
        }
    }
    // Building fails on the first bad reference; drop the rule it names and try again, so one
    // bad correlation does not take the others down. Each round removes a rule, so this ends.
    loop {
        if parsed.is_empty() {
            return None;
        }
        let candidates: Vec<CorrelationRule> = parsed.iter().map(|(r, _)| r.clone()).collect();
        match CorrelationSet::build(candidates, |reference| {
            rules
                .lookup(reference)
                .map(|id| (id.0, rules.rule(id).id.clone()))
        }) {
            Ok(set) => return Some(Arc::new(set)),
            Err(e) => {
                let culprit = culprit_of(&e);
                let position = parsed
                    .iter()
                    .position(|(r, _)| culprit.iter().any(|c| c == r.ident()))
                    .unwrap_or(0);
                let (_, raw) = parsed.remove(position);
                errors.push(correlation_error(raw, e.to_string()));
            }
        }
    }
}

/// Maps the field names a correlation reads in its detection rules' events (`group-by`, alias
/// targets, `field`) through the pipelines that mapped those rules' own field names, so that a
/// correlation written in the Sigma taxonomy (`group-by: IpAddress`) reads the field the
/// detection rule's mapped name reads (`winlog.event_data.IpAddress`). `group-by` names stay
/// as written: they are what the alert's `group` says. A name mapped to several alternatives
/// reads the first; `field` is mapped through the first detection rule's logsource.
fn map_correlation_fields(rule: &mut CorrelationRule, rules: &RuleSet, pipelines: &PipelineSet) {
    if pipelines.is_empty() {
        return;
    }
    let detection_rules: Vec<(compact_str::CompactString, crate::event::LogSource)> = rule
        .rules
        .iter()
        .filter_map(|r| {
            rules
                .lookup(r)
                .map(|id| (r.clone(), rules.rule(id).logsource.clone()))
        })
        .collect();
    let mapped = |field: &str, logsource: &crate::event::LogSource| {
        pipelines
            .map_field_name(field, logsource)
            .into_iter()
            .next()
            .filter(|m| m != field)
    };
    let mut aliases: Vec<(
        compact_str::CompactString,
        compact_str::CompactString,
        String,
    )> = Vec::new();
    for name in &rule.group_by {
        for (reference, logsource) in &detection_rules {
            let field = rule.group_field(name, reference);
            if let Some(target) = mapped(field, logsource) {
                aliases.push((name.clone(), reference.clone(), target));
            }
        }
    }
    for (name, reference, target) in aliases {
        let position = match rule.aliases.iter().position(|a| a.alias == name) {
            Some(i) => i,
            None => {
                rule.aliases.push(FieldAlias {
                    alias: name,
                    fields: Vec::new(),
                });
                rule.aliases.len() - 1
            }
        };
        let alias = &mut rule.aliases[position];
        alias.fields.retain(|(r, _)| *r != reference);
        alias.fields.push((reference, target.into()));
    }
    if let Some((_, logsource)) = detection_rules.first() {
        for field in &mut rule.condition.field {
            if let Some(target) = mapped(field, logsource) {
                *field = target.into();
            }
        }
    }
}

/// The correlation rules a build error names (the first of a cycle, the referring rule of a
/// bad reference).
fn culprit_of(error: &crate::correlate::BuildError) -> Vec<String> {
    use crate::correlate::BuildError as B;
    match error {
        B::UnknownRule { rule, .. } | B::Ambiguous { rule, .. } | B::SameRule { rule, .. } => {
            vec![rule.clone()]
        }
        B::DuplicateCorrelation(name) | B::TooManyRules(name) => vec![name.clone()],
        B::Cycle(chain) => chain.first().cloned().into_iter().collect(),
    }
}

fn correlation_error(raw: &RawCorrelation, reason: String) -> RuleError {
    let meta = &raw.meta;
    let rule = if !meta.id.is_empty() {
        Some(meta.id.clone())
    } else {
        meta.name
            .clone()
            .or_else(|| (!meta.title.is_empty()).then(|| meta.title.as_str().into()))
    };
    RuleError {
        path: raw.path.clone(),
        rule,
        document: 1,
        kind: ErrorKind::Correlation(reason),
    }
}

#[derive(Debug, Default)]
struct Counters {
    events: AtomicU64,
    parse_failures: AtomicU64,
    detections: AtomicU64,
    alerts: AtomicU64,
}

/// What an engine has done, for monitoring. Counters only grow.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct EngineStats {
    /// Events processed (lines count once parsed).
    pub events: u64,
    /// Lines no parser could read (they are still processed as events).
    pub parse_failures: u64,
    /// (rule, event) matches.
    pub detections: u64,
    /// Alerts returned to callers (after the alert policy).
    pub alerts: u64,
    /// The correlator's counters (evictions, late detections, ...).
    pub correlator: CorrelatorStats,
    /// The alert policy's counters (suppressed repeats, cooldown, rate cap).
    pub policy: PolicyStats,
}

/// The correlation state of an engine, to survive a restart: one correlator snapshot per
/// shard. Serializes to JSON (see [`Snapshot`] for what it costs).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EngineSnapshot {
    /// The shards' snapshots, in shard order.
    pub shards: Vec<Snapshot>,
}

/// The detection engine. See the [module docs](self).
pub struct Engine {
    parser: Parser,
    rules: RuleSet,
    correlations: Option<Arc<CorrelationSet>>,
    correlator: Option<SharedCorrelator>,
    correlator_config: CorrelatorConfig,
    /// For each rule of `rules`, its index among the correlations' referenced rules.
    base: Vec<Option<BaseRule>>,
    /// For each rule of `rules`, whether its matches raise detection alerts (`generate`).
    emits: Vec<bool>,
    policy: Mutex<AlertPolicy>,
    counters: Counters,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("rules", &self.rules.len())
            .field(
                "correlations",
                &self.correlations.as_ref().map_or(0, |s| s.len()),
            )
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// A builder with the defaults: auto-detected formats in UTC, routing on, the engine's
    /// correlator defaults, no alert policy.
    pub fn builder() -> EngineBuilder {
        EngineBuilder::default()
    }

    /// The compiled detection rules.
    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    /// The resolved correlation rules, when any were loaded.
    pub fn correlations(&self) -> Option<&Arc<CorrelationSet>> {
        self.correlations.as_ref()
    }

    /// The parser lines go through.
    pub fn parser(&self) -> &Parser {
        &self.parser
    }

    /// Parses one line into an event, without matching it.
    pub fn parse(&self, line: &[u8]) -> Parsed {
        self.parser.parse(line)
    }

    /// Parses and processes one line (without its terminator), arrival time from the clock.
    pub fn process_line(&self, line: &[u8]) -> Vec<Alert> {
        self.process_line_at(line, Utc::now())
    }

    /// Parses and processes one line, arrived at `arrival`.
    pub fn process_line_at(&self, line: &[u8], arrival: DateTime<Utc>) -> Vec<Alert> {
        let parsed = self.parser.parse(line);
        self.process_event_at(parsed.event, arrival)
    }

    /// Processes one event, arrival time from the clock.
    pub fn process_event(&self, event: Event) -> Vec<Alert> {
        self.process_event_at(event, Utc::now())
    }

    /// Processes one event that arrived at `arrival`: matches it, feeds the correlator, and
    /// returns the alerts the alert policy lets through (detections first, then the
    /// correlations this event completed, in the order they fired).
    pub fn process_event_at(&self, event: Event, arrival: DateTime<Utc>) -> Vec<Alert> {
        let mut alerts = Vec::new();
        self.process_into(event, arrival, &mut alerts);
        alerts
    }

    /// Processes events in order, all arrived at `arrival`; the alerts of all of them, in order.
    /// Cheaper per event than calling [`Engine::process_event_at`] in a loop only by the
    /// vector it reuses; bindings use it to cross the language boundary once per batch.
    pub fn process_batch_at<I>(&self, events: I, arrival: DateTime<Utc>) -> Vec<Alert>
    where
        I: IntoIterator<Item = Event>,
    {
        let mut alerts = Vec::new();
        for event in events {
            self.process_into(event, arrival, &mut alerts);
        }
        alerts
    }

    /// [`Engine::process_batch_at`] with the arrival time from the clock.
    pub fn process_batch<I>(&self, events: I) -> Vec<Alert>
    where
        I: IntoIterator<Item = Event>,
    {
        self.process_batch_at(events, Utc::now())
    }

    /// The rules that match `event` (routing and filters applied), without correlation or alert
    /// policy: what a caller that only needs matches uses.
    pub fn matches(&self, event: &Event) -> Vec<RuleId> {
        self.rules.matches(event)
    }

    /// The first, stateless half of [`Engine::process_event_at`]: the rules `event` matches
    /// (routing and filters applied), counted in [`Engine::stats`]. It touches no correlation or
    /// policy state, so threads may call it on different events in any order; the caller then
    /// hands each event and its matches to [`Engine::process_matched_at`] in input order. This
    /// is how `siem scan --threads N` parses and matches in parallel while correlation still
    /// sees events in order. Events that match nothing need not be handed on.
    pub fn match_event(&self, event: &Event) -> Vec<RuleId> {
        self.counters.events.fetch_add(1, Ordering::Relaxed);
        if event.has_tag(PARSE_FAILURE_TAG) {
            self.counters.parse_failures.fetch_add(1, Ordering::Relaxed);
        }
        let matched = self.rules.matches(event);
        self.counters
            .detections
            .fetch_add(matched.len() as u64, Ordering::Relaxed);
        matched
    }

    /// The second, stateful half of [`Engine::process_event_at`]: feeds the correlator with an
    /// event's matches (from [`Engine::match_event`]) and appends to `out` the alerts the alert
    /// policy lets through (detections first, then the correlations this event completed).
    /// Correlation state depends on order: call it in input order, from one thread at a time
    /// per ordered stream.
    pub fn process_matched_at(
        &self,
        event: Event,
        matched: Vec<RuleId>,
        arrival: DateTime<Utc>,
        out: &mut Vec<Alert>,
    ) {
        if matched.is_empty() {
            return;
        }
        let start = out.len();
        let mut correlated = Vec::new();
        let emitting: Vec<RuleId> = matched
            .iter()
            .copied()
            .filter(|id| self.emits[id.index()])
            .collect();
        let feeds_correlation = matched.iter().any(|id| self.base[id.index()].is_some());
        let event = match &self.correlator {
            Some(correlator) if feeds_correlation => {
                // The reorder buffer and the alerts' samples share the event instead of
                // copying it. A detection alert takes it back, copied only if the correlator
                // still holds it.
                let shared = Arc::new(event);
                for &id in &matched {
                    if let Some(base) = self.base[id.index()] {
                        let mut alerts =
                            correlator.process(&Detection::shared(base, &shared, arrival));
                        // Most detections complete nothing: no iterator to build and drop.
                        if !alerts.is_empty() {
                            correlated.append(&mut alerts);
                        }
                    }
                }
                (!emitting.is_empty()).then(|| Arc::unwrap_or_clone(shared))
            }
            _ => Some(event),
        };
        if let (Some((last, rest)), Some(event)) = (emitting.split_last(), event) {
            for &id in rest {
                out.push(Alert::detection(
                    self.rules.rule(id).clone(),
                    event.clone(),
                    arrival,
                ));
            }
            out.push(Alert::detection(
                self.rules.rule(*last).clone(),
                event,
                arrival,
            ));
        }
        out.append(&mut correlated);
        self.admit(out, start, arrival);
    }

    fn process_into(&self, event: Event, arrival: DateTime<Utc>, out: &mut Vec<Alert>) {
        let matched = self.match_event(&event);
        self.process_matched_at(event, matched, arrival, out);
    }

    /// Runs the alert policy over `out[start..]`, keeping what it lets through.
    fn admit(&self, out: &mut Vec<Alert>, start: usize, arrival: DateTime<Utc>) {
        if out.len() == start {
            return;
        }
        let fresh = out.split_off(start);
        let admitted = self.lock_policy().filter(fresh, Some(arrival));
        self.counters
            .alerts
            .fetch_add(admitted.len() as u64, Ordering::Relaxed);
        out.extend(admitted);
    }

    /// Applies the detections waiting for late arrivals whose event time is at least the
    /// lateness before `now`, and returns the alerts they raise. Live callers call it
    /// periodically so that a quiet stream still gets its alerts.
    pub fn tick(&self, now: DateTime<Utc>) -> Vec<Alert> {
        let Some(correlator) = &self.correlator else {
            return Vec::new();
        };
        let lateness = chrono::Duration::from_std(self.correlator_config.lateness)
            .unwrap_or(chrono::Duration::zero());
        let mut out = correlator.advance_to(now - lateness);
        self.admit(&mut out, 0, now);
        out
    }

    /// Applies every waiting detection (end of input) and returns the alerts they raise;
    /// `now` is the arrival time the alert policy sees.
    pub fn flush_at(&self, now: DateTime<Utc>) -> Vec<Alert> {
        let Some(correlator) = &self.correlator else {
            return Vec::new();
        };
        let mut out = correlator.flush();
        self.admit(&mut out, 0, now);
        out
    }

    /// [`Engine::flush_at`] with the clock's time.
    pub fn flush(&self) -> Vec<Alert> {
        self.flush_at(Utc::now())
    }

    /// The counters of the engine, its correlator and its alert policy.
    pub fn stats(&self) -> EngineStats {
        EngineStats {
            events: self.counters.events.load(Ordering::Relaxed),
            parse_failures: self.counters.parse_failures.load(Ordering::Relaxed),
            detections: self.counters.detections.load(Ordering::Relaxed),
            alerts: self.counters.alerts.load(Ordering::Relaxed),
            correlator: self
                .correlator
                .as_ref()
                .map(|c| c.stats())
                .unwrap_or_default(),
            policy: self.lock_policy().stats().clone(),
        }
    }

    /// The correlation state (open windows), to restore after a restart with
    /// [`Engine::restore`]. Empty when no correlation rules are loaded.
    pub fn snapshot(&self) -> EngineSnapshot {
        EngineSnapshot {
            shards: self
                .correlator
                .as_ref()
                .map(|c| c.snapshot())
                .unwrap_or_default(),
        }
    }

    /// Replaces the correlation state with a snapshot taken by an engine with the same
    /// correlation rules and shard count (rules since removed are dropped and reported). On an
    /// error the state is left as it was.
    pub fn restore(&self, snapshot: &EngineSnapshot) -> Result<RestoreReport, SnapshotError> {
        match &self.correlator {
            Some(correlator) => {
                correlator.restore_in_place(&self.correlator_config, &snapshot.shards)
            }
            None => Ok(RestoreReport::default()),
        }
    }

    fn lock_policy(&self) -> MutexGuard<'_, AlertPolicy> {
        // A panic while holding the lock leaves counters, not broken invariants: carry on.
        self.policy
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
