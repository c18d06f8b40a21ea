//! Property tests: the streaming correlator against a naive reference that recomputes every
//! window from the full list of detections, on generated rules and event streams (out of order,
//! with and without timestamps, chains of correlations). Also: snapshot/restore at any point
//! and N partitions give exactly the alerts of one uninterrupted correlator.

#[path = "correlate_util.rs"]
mod util;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use proptest::prelude::*;
use siem_core::alert::Alert;
use siem_core::correlate::{
    CorrelationSet, Correlator, CorrelatorConfig, Detection, Partition, ResolvedRule,
    SharedCorrelator, Snapshot,
};
use siem_core::event::{Event, Value};
use siem_core::sigma::correlation::{CorrelationRule, CorrelationType};

const BASES: u32 = 3;

// ---------------------------------------------------------------------------------------------
// Generated input

#[derive(Debug, Clone)]
struct RuleSpec {
    kind: CorrelationType,
    /// References: base rules `b0..b2` or earlier correlations `c0..`.
    refs: Vec<String>,
    group: bool,
    timespan: i64,
    op: &'static str,
    threshold: i64,
    percentile: Option<u8>,
}

#[derive(Debug, Clone)]
struct Input {
    base: u32,
    /// Seconds after the epoch of the test, or none (arrival time).
    time: Option<i64>,
    g: Option<&'static str>,
    v: Option<&'static str>,
}

fn rule_spec(index: usize) -> impl Strategy<Value = RuleSpec> {
    let kinds = prop::sample::select(CorrelationType::ALL.to_vec());
    let ops = prop::sample::select(vec![
        "gt", "gte", "lt", "lte", "eq", "neq", "gte", "gte", "gt",
    ]);
    (
        kinds,
        prop::collection::vec(0..(BASES as usize + index), 1..=3),
        any::<bool>(),
        1i64..=12,
        ops,
        0i64..=5,
        prop::option::of(0u8..=100),
    )
        .prop_map(
            move |(kind, refs, group, timespan, op, threshold, percentile)| {
                let mut names: Vec<String> = Vec::new();
                for r in refs {
                    let name = if r < BASES as usize {
                        format!("b{r}")
                    } else {
                        format!("c{}", r - BASES as usize)
                    };
                    if !names.contains(&name) {
                        names.push(name);
                    }
                }
                RuleSpec {
                    kind,
                    refs: names,
                    group,
                    timespan,
                    op,
                    threshold,
                    percentile,
                }
            },
        )
}

fn yaml(spec: &RuleSpec, index: usize) -> String {
    let mut s = format!(
        "title: rule {index}\nname: c{index}\ncorrelation:\n  type: {}\n  rules: [{}]\n  timespan: {}s\n",
        spec.kind,
        spec.refs.join(", "),
        spec.timespan
    );
    if spec.group {
        s.push_str("  group-by: [g]\n");
    }
    let temporal_default = spec.kind.is_temporal() && spec.threshold == 0;
    if !temporal_default {
        s.push_str(&format!(
            "  condition:\n    {}: {}\n",
            spec.op, spec.threshold
        ));
        if spec.kind.uses_field() {
            s.push_str("    field: v\n");
        }
        if spec.kind == CorrelationType::ValuePercentile
            && let Some(p) = spec.percentile
        {
            s.push_str(&format!("    percentile: {p}\n"));
        }
    }
    s
}

/// Parses the generated rules, replacing any the parser rejects (unsatisfiable conditions) by a
/// plain `gte: 2`, which also exercises the parser on every generated condition.
fn build(specs: &[RuleSpec]) -> (Arc<CorrelationSet>, Vec<CorrelationRule>) {
    let mut rules = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        let mut text = yaml(spec, i);
        let doc = util::documents(&text).remove(0);
        let rule = match CorrelationRule::from_yaml(util::meta_of(&doc, None), &doc) {
            Ok(r) => r,
            Err(_) => {
                let mut fixed = spec.clone();
                fixed.op = "gte";
                fixed.threshold = 2.min(if spec.kind.is_temporal() {
                    spec.refs.len() as i64
                } else {
                    2
                });
                text = yaml(&fixed, i);
                let doc = util::documents(&text).remove(0);
                CorrelationRule::from_yaml(util::meta_of(&doc, None), &doc)
                    .expect("fallback rule parses")
            }
        };
        rules.push(rule);
    }
    let set = CorrelationSet::build(rules.clone(), |r: &str| {
        r.strip_prefix('b')
            .and_then(|n| n.parse::<u32>().ok())
            .map(|i| ResolvedRule {
                index: i,
                id: r.into(),
            })
    })
    .expect("generated rules resolve");
    (Arc::new(set), rules)
}

fn inputs() -> impl Strategy<Value = Vec<Input>> {
    let g = prop::sample::select(vec![Some("a"), Some("b"), Some("c"), None]);
    let v = prop::sample::select(vec![
        Some("1"),
        Some("2"),
        Some("3"),
        Some("x"),
        Some("4.5"),
        None,
        Some("-2"),
    ]);
    let time = prop_oneof![9 => (0i64..40).prop_map(Some), 1 => Just(None)];
    prop::collection::vec((0..BASES, time, g, v), 0..70).prop_map(|items| {
        items
            .into_iter()
            .map(|(base, time, g, v)| Input { base, time, g, v })
            .collect()
    })
}

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 1, 10, 0, 0).unwrap()
}

fn to_event(i: usize, input: &Input) -> Event {
    let mut e = Event::new();
    e.timestamp = input.time.map(|s| start() + chrono::Duration::seconds(s));
    // Every third event lists `v` before `g` (as events of another source would), so that the
    // correlator's field hints (`Event::get_hinted`) are stale as well as right.
    let v_first = i.is_multiple_of(3);
    if v_first && let Some(v) = input.v {
        e.insert("v", v);
    }
    e.insert("id", i as i64);
    if let Some(g) = input.g {
        e.insert("g", g);
    }
    if !v_first && let Some(v) = input.v {
        e.insert("v", v);
    }
    e
}

fn arrival(i: usize) -> DateTime<Utc> {
    start() + chrono::Duration::seconds(1000 + i as i64)
}

fn config(lateness: u64, samples: usize) -> CorrelatorConfig {
    CorrelatorConfig {
        lateness: Duration::from_secs(lateness),
        sample_events: samples,
        max_clock_skew: None,
        ..CorrelatorConfig::default()
    }
}

// ---------------------------------------------------------------------------------------------
// The naive reference

/// An alert reduced to comparable text, in the format the naive reference writes.
fn canon(a: &Alert) -> String {
    let ids: Vec<String> = a
        .events
        .iter()
        .map(|e| {
            e.get("id")
                .map(|v| v.to_text().into_owned())
                .unwrap_or_default()
        })
        .collect();
    format!(
        "{} t={} group={:?} value={} window={:?} rules={:?} events={:?} arrival={}",
        a.rule.title,
        a.timestamp.timestamp_nanos_opt().unwrap_or(0),
        a.group
            .iter()
            .map(|(k, v)| format!("{k}={}", v.to_text()))
            .collect::<Vec<_>>(),
        a.value
            .as_ref()
            .map(|v| v.to_text().into_owned())
            .unwrap_or_default(),
        a.window
            .map(|w| (w.start.timestamp_nanos_opt(), w.end.timestamp_nanos_opt()))
            .expect("a correlation alert has its window"),
        a.rules,
        ids,
        a.arrival_time
    )
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Num {
    Int(i64),
    Float(f64),
}

impl Num {
    fn parse(s: &str) -> Option<Num> {
        if let Ok(i) = s.trim().parse::<i64>() {
            return Some(Num::Int(i));
        }
        s.trim()
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(Num::Float)
    }
    fn f(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }
    fn text(self) -> String {
        match self {
            Num::Int(i) => Value::Int(i).to_text().into_owned(),
            Num::Float(f) => Value::Float(f).to_text().into_owned(),
        }
    }
}

/// One detection as the reference sees it.
#[derive(Debug, Clone)]
struct Det {
    time: i64,
    slot: usize,
    id: Option<i64>,
    v: Option<String>,
}

struct Reference<'a> {
    rules: &'a [CorrelationRule],
    set: &'a CorrelationSet,
    samples: usize,
    /// (correlation, clock, group text) → detections since the group's last alert.
    lists: HashMap<(usize, bool, String), Vec<Det>>,
    alerts: Vec<String>,
}

/// What flows along a feed: a base detection's fields, or an inner alert's group.
#[derive(Clone)]
struct Source {
    fields: BTreeMap<String, String>,
    id: Option<i64>,
}

impl Reference<'_> {
    fn slot_of(&self, c: usize, reference: &str) -> usize {
        self.rules[c]
            .rules
            .iter()
            .position(|r| r == reference)
            .unwrap()
    }

    /// Applies one detection of `reference` (a base rule `bN` or correlation `cN`) to every
    /// correlation that lists it, then the alerts it causes, breadth first.
    fn apply(&mut self, reference: &str, time: i64, arrival_clock: bool, source: Source) {
        let mut queue = vec![(reference.to_string(), source)];
        let mut next = 0;
        while next < queue.len() {
            let (reference, source) = queue[next].clone();
            next += 1;
            for c in 0..self.rules.len() {
                if !self.rules[c].rules.iter().any(|r| *r == reference) {
                    continue;
                }
                if let Some(fired) = self.update(c, &reference, time, arrival_clock, &source) {
                    queue.push((format!("c{c}"), fired));
                }
            }
        }
    }

    fn update(
        &mut self,
        c: usize,
        reference: &str,
        t: i64,
        arrival_clock: bool,
        source: &Source,
    ) -> Option<Source> {
        let rule = &self.rules[c];
        let slot = self.slot_of(c, reference);
        let group_text = if rule.group_by.is_empty() {
            String::new()
        } else {
            // Without its group-by value a detection belongs to no group.
            source.fields.get("g").cloned()?
        };
        let v = source.fields.get("v").cloned();
        if rule.kind == CorrelationType::ValueCount && v.is_none() {
            return None;
        }
        if rule.kind.is_numeric() && v.as_deref().and_then(Num::parse).is_none() {
            return None;
        }
        let key = (c, arrival_clock, group_text.clone());
        let list = self.lists.entry(key.clone()).or_default();
        list.push(Det {
            time: t,
            slot,
            id: source.id,
            v,
        });
        let span = rule.timespan.nanos();
        let window: Vec<Det> = list
            .iter()
            .filter(|d| d.time >= t - span)
            .cloned()
            .collect();
        let r = rule.rules.len();
        let latest_of =
            |pred: &dyn Fn(&Det) -> bool| window.iter().filter(|d| pred(d)).map(|d| d.time).max();
        let (measured, text, first, slots): (f64, String, i64, Vec<usize>) = match rule.kind {
            CorrelationType::EventCount => {
                let n = window.len();
                (n as f64, n.to_string(), window[0].time, present(&window, r))
            }
            CorrelationType::ValueCount => {
                let mut distinct: Vec<&String> =
                    window.iter().filter_map(|d| d.v.as_ref()).collect();
                distinct.sort();
                distinct.dedup();
                let first = distinct
                    .iter()
                    .map(|x| latest_of(&|d: &Det| d.v.as_ref() == Some(*x)).unwrap())
                    .min()
                    .unwrap();
                (
                    distinct.len() as f64,
                    distinct.len().to_string(),
                    first,
                    present(&window, r),
                )
            }
            CorrelationType::Temporal => {
                let slots: Vec<usize> = (0..r)
                    .filter(|s| window.iter().any(|d| d.slot == *s))
                    .collect();
                let first = slots
                    .iter()
                    .map(|s| latest_of(&|d: &Det| d.slot == *s).unwrap())
                    .min()
                    .unwrap();
                (slots.len() as f64, slots.len().to_string(), first, slots)
            }
            CorrelationType::TemporalOrdered => {
                // For each possible first event (latest first), how far the rules can be matched
                // in order; the value is the best length, the start the latest first event
                // reaching it.
                let reach = |from: usize| {
                    let mut stage = 0;
                    for d in &window[from..] {
                        if stage < r && d.slot == stage {
                            stage += 1;
                        }
                    }
                    stage
                };
                let mut best = 0;
                let mut first = t;
                for (i, d) in window.iter().enumerate().rev() {
                    if d.slot == 0 {
                        let k = reach(i);
                        if k > best {
                            best = k;
                            first = d.time;
                        }
                    }
                }
                (best as f64, best.to_string(), first, (0..best).collect())
            }
            kind => {
                let nums: Vec<Num> = window
                    .iter()
                    .filter_map(|d| d.v.as_deref().and_then(Num::parse))
                    .collect();
                let sum = || -> Num {
                    if nums.iter().all(|n| matches!(n, Num::Int(_))) {
                        let s: i128 = nums
                            .iter()
                            .map(|n| {
                                if let Num::Int(i) = n {
                                    i128::from(*i)
                                } else {
                                    0
                                }
                            })
                            .sum();
                        if let Ok(i) = i64::try_from(s) {
                            return Num::Int(i);
                        }
                    }
                    Num::Float(nums.iter().fold(0.0, |a, n| a + n.f()))
                };
                let value = match kind {
                    CorrelationType::ValueSum => sum(),
                    CorrelationType::ValueAvg => Num::Float(sum().f() / nums.len() as f64),
                    _ => {
                        let mut sorted = nums.clone();
                        sorted.sort_by(|a, b| a.f().total_cmp(&b.f()));
                        let p = rule.condition.percentile.unwrap_or(50.0);
                        let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
                        sorted[rank.clamp(1, sorted.len()) - 1]
                    }
                };
                (value.f(), value.text(), window[0].time, present(&window, r))
            }
        };
        if !rule.condition.holds(measured) {
            return None;
        }
        let list = self.lists.get_mut(&key).unwrap();
        let recent: Vec<&Det> = list.iter().filter(|d| d.time >= first).collect();
        let sample_ids: Vec<String> = recent[recent.len().saturating_sub(self.samples)..]
            .iter()
            .filter_map(|d| d.id.map(|i| i.to_string()))
            .collect();
        let trigger = if self.samples > 0 {
            list.last().and_then(|d| d.id)
        } else {
            None
        };
        list.clear();
        let group: Vec<String> = if rule.group_by.is_empty() {
            Vec::new()
        } else {
            vec![format!(
                "g={}",
                source.fields.get("g").cloned().unwrap_or_default()
            )]
        };
        let id = siem_core::correlate::CorrelationId(c as u32);
        if self.set.emits_correlation_alerts(id) {
            let names: Vec<String> = slots.iter().map(|&s| rule.rules[s].to_string()).collect();
            self.alerts.push(format!(
                "{} t={} group={:?} value={} window={:?} rules={:?} events={:?} arrival={}",
                rule.meta.title,
                t,
                group,
                text,
                (Some(first), Some(t)),
                names,
                if self.set.emits_correlation_alerts(id) {
                    sample_ids
                } else {
                    Vec::new()
                },
                arrival_clock
            ));
        }
        let mut fields = BTreeMap::new();
        if !rule.group_by.is_empty()
            && let Some(g) = source.fields.get("g")
        {
            fields.insert("g".to_string(), g.clone());
        }
        Some(Source {
            fields,
            id: trigger,
        })
    }
}

/// The referenced rules (positions) with a detection in the window, or `[0]` for one rule.
fn present(window: &[Det], r: usize) -> Vec<usize> {
    if r == 1 {
        return vec![0];
    }
    (0..r)
        .filter(|s| window.iter().any(|d| d.slot == *s))
        .collect()
}

fn reference(
    rules: &[CorrelationRule],
    set: &CorrelationSet,
    inputs: &[Input],
    lateness: i64,
    samples: usize,
) -> Vec<String> {
    let mut r = Reference {
        rules,
        set,
        samples,
        lists: HashMap::new(),
        alerts: Vec::new(),
    };
    // Arrival clock: the newest arrival so far. Event time: late detections are dropped, the
    // rest applied in (time, arrival) order.
    let mut accepted: Vec<(i64, usize)> = Vec::new();
    let mut max_seen: Option<i64> = None;
    let mut arrival_clock = i64::MIN;
    let secs = |s: i64| {
        (start() + chrono::Duration::seconds(s))
            .timestamp_nanos_opt()
            .unwrap()
    };
    let mut untimed: Vec<(usize, i64)> = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        // Detections of rules no correlation refers to are never offered.
        if set.base_rule(input.base).is_none() {
            continue;
        }
        arrival_clock = arrival_clock.max(arrival(i).timestamp_nanos_opt().unwrap());
        match input.time {
            None => untimed.push((i, arrival_clock)),
            Some(s) => {
                let t = secs(s);
                if max_seen.is_some_and(|m| t < m - lateness * 1_000_000_000) {
                    continue;
                }
                max_seen = Some(max_seen.map_or(t, |m| m.max(t)));
                accepted.push((t, i));
            }
        }
    }
    accepted.sort();
    let source = |input: &Input, i: usize| {
        let mut fields = BTreeMap::new();
        if let Some(g) = input.g {
            fields.insert("g".to_string(), g.to_string());
        }
        if let Some(v) = input.v {
            fields.insert("v".to_string(), v.to_string());
        }
        Source {
            fields,
            id: Some(i as i64),
        }
    };
    for (t, i) in accepted {
        r.apply(
            &format!("b{}", inputs[i].base),
            t,
            false,
            source(&inputs[i], i),
        );
    }
    for (i, t) in untimed {
        r.apply(
            &format!("b{}", inputs[i].base),
            t,
            true,
            source(&inputs[i], i),
        );
    }
    let mut out = r.alerts;
    out.sort();
    out
}

// ---------------------------------------------------------------------------------------------
// Runs of the real correlator

fn streaming(set: &Arc<CorrelationSet>, inputs: &[Input], config: CorrelatorConfig) -> Vec<Alert> {
    let mut c = Correlator::new(set.clone(), config);
    let mut alerts = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        let event = to_event(i, input);
        if let Some(rule) = set.base_rule(input.base) {
            alerts.extend(c.process(&Detection::new(rule, &event, arrival(i))));
        }
    }
    alerts.extend(c.flush());
    alerts
}

/// `inputs` with their event times put in order (each shard keeps its own clock, so only
/// in-order times make shards comparable with one correlator), through a `SharedCorrelator`
/// of `count` shards and through one correlator: (the shards' alerts, the one's).
fn shared_and_one(
    set: &Arc<CorrelationSet>,
    inputs: &mut [Input],
    count: usize,
) -> (Vec<Alert>, Vec<Alert>) {
    let mut times: Vec<i64> = inputs.iter().filter_map(|x| x.time).collect();
    times.sort_unstable();
    for (input, time) in inputs.iter_mut().filter(|x| x.time.is_some()).zip(times) {
        input.time = Some(time);
    }
    let cfg = config(0, 2);
    let whole = streaming(set, inputs, cfg.clone());
    let shared = SharedCorrelator::new(set.clone(), cfg, count);
    let mut alerts = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        let event = to_event(i, input);
        let Some(rule) = set.base_rule(input.base) else {
            continue;
        };
        alerts.extend(shared.process(&Detection::new(rule, &event, arrival(i))));
    }
    alerts.extend(shared.flush());
    (alerts, whole)
}

fn sorted(alerts: &[Alert]) -> Vec<String> {
    let mut out: Vec<String> = alerts.iter().map(canon).collect();
    out.sort();
    out
}

fn specs() -> impl Strategy<Value = Vec<RuleSpec>> {
    (1usize..=3).prop_flat_map(|n| (0..n).map(rule_spec).collect::<Vec<_>>())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn streaming_equals_the_naive_reference(
        specs in specs(),
        inputs in inputs(),
        lateness in prop::sample::select(vec![0u64, 0, 3, 10]),
        samples in 0usize..=3,
    ) {
        let (set, rules) = build(&specs);
        let got: Vec<String> = {
            let mut v: Vec<String> = streaming(&set, &inputs, config(lateness, samples)).iter().map(canon).collect();
            v.sort();
            v
        };
        let want = reference(&rules, &set, &inputs, lateness as i64, samples);
        prop_assert_eq!(got, want);
    }

    #[test]
    fn a_snapshot_at_any_point_changes_nothing(
        specs in specs(),
        inputs in inputs(),
        cut in 0usize..70,
        lateness in prop::sample::select(vec![0u64, 3]),
    ) {
        let (set, _) = build(&specs);
        let cfg = config(lateness, 2);
        let whole = streaming(&set, &inputs, cfg.clone());

        let cut = cut.min(inputs.len());
        let mut first = Correlator::new(set.clone(), cfg.clone());
        let mut alerts = Vec::new();
        for (i, input) in inputs[..cut].iter().enumerate() {
            let event = to_event(i, input);
            if let Some(rule) = set.base_rule(input.base) {
                alerts.extend(first.process(&Detection::new(rule, &event, arrival(i))));
            }
        }
        let json = first.snapshot().to_json();
        drop(first);
        let snapshot = Snapshot::from_json(&json).unwrap();
        let (mut second, report) = Correlator::restore(set.clone(), cfg, &snapshot).unwrap();
        prop_assert_eq!(report.groups_dropped, 0);
        for (i, input) in inputs.iter().enumerate().skip(cut) {
            let event = to_event(i, input);
            if let Some(rule) = set.base_rule(input.base) {
                alerts.extend(second.process(&Detection::new(rule, &event, arrival(i))));
            }
        }
        alerts.extend(second.flush());
        // Restored sample events lose their IP typing but not their JSON.
        let json_of = |a: &[Alert]| { let mut v: Vec<String> = a.iter().map(Alert::to_json).collect(); v.sort(); v };
        prop_assert_eq!(json_of(&alerts), json_of(&whole));
    }

    #[test]
    fn partitions_together_raise_the_alerts_of_one(
        specs in specs(),
        inputs in inputs(),
        count in 2u32..=4,
        lateness in prop::sample::select(vec![0u64, 3]),
    ) {
        let (set, rules) = build(&specs);
        // A rule over two or more correlations orders their detections by event time, ties by
        // arrival; when both fire on the same detection in different partitions, the
        // partitions' delivery order decides the tie (SharedCorrelator's docs;
        // `shared_correlator_temporal_ties_go_by_delivery`).
        prop_assume!(!specs.iter().any(|s| s.refs.iter().filter(|x| x.starts_with('c')).count() >= 2));
        let chained = rules.iter().any(|r| r.rules.iter().any(|x| x.starts_with('c')));
        // With chains, forwarded detections are applied when delivered; exact equality needs
        // detections applied on arrival (see SharedCorrelator's docs).
        let lateness = if chained { 0 } else { lateness };
        let cfg = config(lateness, 2);
        let whole = streaming(&set, &inputs, cfg.clone());

        let mut parts: Vec<Correlator> = (0..count)
            .map(|index| Correlator::new(set.clone(), CorrelatorConfig { partition: Some(Partition { index, count }), ..cfg.clone() }))
            .collect();
        let mut alerts = Vec::new();
        for (i, input) in inputs.iter().enumerate() {
            let event = to_event(i, input);
            let Some(rule) = set.base_rule(input.base) else { continue };
            let mut forwards = Vec::new();
            for p in parts.iter_mut() {
                alerts.extend(p.process(&Detection::new(rule, &event, arrival(i))));
                forwards.extend(p.take_forwards());
            }
            while let Some(f) = forwards.pop() {
                let p = &mut parts[f.partition as usize];
                alerts.extend(p.process_forward(f));
                forwards.extend(p.take_forwards());
            }
        }
        for p in parts.iter_mut() {
            alerts.extend(p.flush());
        }
        prop_assert_eq!(sorted(&alerts), sorted(&whole));
    }

    /// A byte budget on samples changes which events an alert carries, never whether or when
    /// it fires: each alert equals the unbounded correlator's but for its `events`, which are
    /// the newest of the unbounded alert's (samples go oldest first); the bytes held never
    /// exceed the budget; every sample dropped is counted.
    #[test]
    fn sample_budget_keeps_the_newest_samples(
        specs in specs(),
        inputs in inputs(),
        samples in 1usize..=4,
        events_of_budget in prop::sample::select(vec![0usize, 1, 2, 3, 7]),
    ) {
        let (set, _) = build(&specs);
        let events: Vec<Event> = inputs.iter().enumerate().map(|(i, x)| to_event(i, x)).collect();
        let largest = events.iter().map(Event::heap_bytes).max().unwrap_or(0);
        let budget = events_of_budget * largest;
        let mut free = Correlator::new(set.clone(), config(0, samples));
        let mut bounded = Correlator::new(set.clone(), CorrelatorConfig {
            max_sample_bytes: budget,
            ..config(0, samples)
        });
        let without_events = |a: &Alert| Alert { events: Vec::new(), ..a.clone() }.to_json();
        let mut evicted_somewhere = false;
        for (i, (input, event)) in inputs.iter().zip(&events).enumerate() {
            let Some(rule) = set.base_rule(input.base) else { continue };
            let d = Detection::new(rule, event, arrival(i));
            let want = free.process(&d);
            let got = bounded.process(&d);
            prop_assert_eq!(want.len(), got.len());
            for (w, g) in want.iter().zip(&got) {
                prop_assert_eq!(without_events(w), without_events(g));
                prop_assert!(g.events.len() <= w.events.len());
                prop_assert_eq!(&w.events[w.events.len() - g.events.len()..], &g.events[..]);
                evicted_somewhere |= g.events.len() < w.events.len();
            }
            let stats = bounded.stats();
            prop_assert!(stats.sample_bytes as usize <= budget, "{} > {budget}", stats.sample_bytes);
            prop_assert_eq!(free.stats().samples_evicted, 0);
            if evicted_somewhere {
                prop_assert!(stats.samples_evicted > 0);
            }
        }
    }

    /// The same through `SharedCorrelator`, which routes each detection only to the shards
    /// owning its groups (a shard that owns all of them skips its own ownership check). Each
    /// shard keeps its own clock, so a detection one correlator finds late may be on time in
    /// its shard (`SharedCorrelator`'s docs): event times are put in order here.
    #[test]
    fn shared_correlator_raises_the_alerts_of_one(
        specs in specs(),
        mut inputs in inputs(),
        count in 1usize..=4,
    ) {
        let (set, _) = build(&specs);
        // The documented exception, as in `partitions_together_raise_the_alerts_of_one`.
        prop_assume!(!specs.iter().any(|s| s.refs.iter().filter(|x| x.starts_with('c')).count() >= 2));
        let (alerts, whole) = shared_and_one(&set, &mut inputs, count);
        prop_assert_eq!(sorted(&alerts), sorted(&whole));
    }
}

// ---------------------------------------------------------------------------------------------
// Batches: `process_batch` is `process` on each detection in turn.

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Split anywhere into batches (longer than the correlator's look-ahead too), with evictions
    /// at a small cap and reordering: each detection's alerts, the counters, the state and what
    /// a flush releases are those of one-at-a-time processing.
    #[test]
    fn batches_equal_one_at_a_time(
        specs in specs(),
        inputs in inputs(),
        lateness in prop::sample::select(vec![0u64, 0, 3]),
        samples in 0usize..=2,
        max_groups in prop::sample::select(vec![1usize, 2, 3, 1000]),
        skew in prop::sample::select(vec![None, Some(0u64), Some(2000)]),
        cuts in prop::collection::vec(0usize..70, 0..4),
    ) {
        let (set, _) = build(&specs);
        let cfg = CorrelatorConfig {
            max_groups,
            max_clock_skew: skew.map(Duration::from_secs),
            ..config(lateness, samples)
        };
        let events: Vec<Event> = inputs.iter().enumerate().map(|(i, x)| to_event(i, x)).collect();
        let detections: Vec<Detection> = inputs
            .iter()
            .zip(&events)
            .enumerate()
            .filter_map(|(i, (x, e))| set.base_rule(x.base).map(|r| Detection::new(r, e, arrival(i))))
            .collect();
        let json = |alerts: &[Alert]| alerts.iter().map(Alert::to_json).collect::<Vec<String>>();

        let mut one = Correlator::new(set.clone(), cfg.clone());
        let want: Vec<Vec<String>> = detections.iter().map(|d| json(&one.process(d))).collect();

        let mut batched = Correlator::new(set.clone(), cfg);
        let mut got = vec![Vec::new(); detections.len()];
        let mut bounds: Vec<usize> = cuts.iter().map(|&c| c.min(detections.len())).collect();
        bounds.extend([0, detections.len()]);
        bounds.sort_unstable();
        bounds.dedup();
        for w in bounds.windows(2) {
            batched.process_batch_each(&detections[w[0]..w[1]], |i, alerts| {
                got[w[0] + i] = json(alerts);
                alerts.clear();
            });
        }
        prop_assert_eq!(&got, &want);
        prop_assert_eq!(batched.stats(), one.stats());
        prop_assert_eq!(batched.snapshot().to_json(), one.snapshot().to_json());
        prop_assert_eq!(json(&batched.flush()), json(&one.flush()));

        // And the concatenating form.
        let mut whole = Correlator::new(set.clone(), one.config().clone());
        prop_assert_eq!(json(&whole.process_batch(&detections)), want.concat());
    }
}

// ---------------------------------------------------------------------------------------------
// Totality: arbitrary rule YAML and tampered snapshots never panic.

fn yaml_value() -> impl Strategy<Value = yaml_serde::Value> {
    use yaml_serde::Value as Y;
    let words = prop::sample::select(vec![
        "type",
        "rules",
        "group-by",
        "timespan",
        "condition",
        "aliases",
        "generate",
        "gt",
        "gte",
        "lt",
        "lte",
        "eq",
        "neq",
        "field",
        "percentile",
        "event_count",
        "value_count",
        "temporal",
        "temporal_ordered",
        "value_sum",
        "value_avg",
        "value_percentile",
        "5m",
        "0s",
        "99999999999d",
        "b0",
        "b1",
        "g",
        "v",
        "é",
        "",
    ]);
    let leaf = prop_oneof![
        Just(Y::Null),
        any::<bool>().prop_map(Y::Bool),
        any::<i64>().prop_map(|i| Y::Number(i.into())),
        any::<f64>().prop_map(|f| Y::Number(f.into())),
        words.clone().prop_map(|w| Y::String(w.to_string())),
        ".{0,8}".prop_map(Y::String),
    ];
    leaf.prop_recursive(4, 40, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Y::Sequence),
            prop::collection::vec((words.clone(), inner), 0..6).prop_map(|entries| {
                let mut m = yaml_serde::Mapping::new();
                for (k, v) in entries {
                    m.insert(Y::String(k.to_string()), v);
                }
                Y::Mapping(m)
            }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_correlation_yaml_never_panics(section in yaml_value(), inputs in inputs()) {
        let mut doc = yaml_serde::Mapping::new();
        doc.insert("title".into(), "t".into());
        doc.insert("correlation".into(), section);
        let doc = yaml_serde::Value::Mapping(doc);
        if let Ok(rule) = CorrelationRule::from_yaml(util::meta_of(&doc, None), &doc) {
            let _ = rule.warnings();
            let _ = rule.fingerprint();
            if let Ok(set) = CorrelationSet::build(vec![rule], |r: &str| r.strip_prefix('b').and_then(|n| n.parse::<u32>().ok())) {
                let _ = streaming(&Arc::new(set), &inputs, config(3, 2));
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn tampered_snapshots_never_panic(
        specs in specs(),
        inputs in inputs(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<i64>()), 1..6),
    ) {
        let (set, _) = build(&specs);
        let cfg = config(3, 2);
        let mut c = Correlator::new(set.clone(), cfg.clone());
        let half = inputs.len() / 2;
        for (i, input) in inputs[..half].iter().enumerate() {
            let event = to_event(i, input);
            if let Some(rule) = set.base_rule(input.base) {
                c.process(&Detection::new(rule, &event, arrival(i)));
            }
        }
        let mut json = c.snapshot().to_json();
        // Replace some integers of the JSON by arbitrary ones.
        for (at, value) in edits {
            let digits: Vec<usize> = json.char_indices().filter(|(_, ch)| ch.is_ascii_digit()).map(|(i, _)| i).collect();
            if digits.is_empty() {
                break;
            }
            let start = digits[at.index(digits.len())];
            let end = json[start..].find(|ch: char| !ch.is_ascii_digit()).map_or(json.len(), |n| start + n);
            json.replace_range(start..end, &value.unsigned_abs().to_string());
        }
        if let Ok(snapshot) = Snapshot::from_json(&json)
            && let Ok((mut restored, _)) = Correlator::restore(set.clone(), cfg, &snapshot)
        {
            for (i, input) in inputs.iter().enumerate().skip(half) {
                let event = to_event(i, input);
                if let Some(rule) = set.base_rule(input.base) {
                    restored.process(&Detection::new(rule, &event, arrival(i)));
                }
            }
            restored.flush();
        }
    }
}

/// The exception `SharedCorrelator` documents, on the case the proptest above found: two
/// `event_count`s over one base rule, one grouped (its fire forwarded from another shard) and
/// one not, under a `temporal`; both fire on one detection at 7 s after the ungrouped one
/// fired alone at 6 s. One correlator applies the grouped fire first (window 6-7 s); the
/// shards apply the local one first (7-7 s). The alert is raised at the same time with the
/// same value either way; its window and samples differ.
#[test]
fn shared_correlator_temporal_ties_go_by_delivery() {
    let count = |group| RuleSpec {
        kind: CorrelationType::EventCount,
        refs: vec!["b2".into()],
        group,
        timespan: 1,
        op: "gte",
        threshold: 0,
        percentile: None,
    };
    let specs = vec![
        count(true),
        count(false),
        RuleSpec {
            kind: CorrelationType::Temporal,
            refs: vec!["c1".into(), "c0".into()],
            group: false,
            timespan: 1,
            op: "gt",
            threshold: 0,
            percentile: None,
        },
    ];
    let input = |base, time, g| Input {
        base,
        time: Some(time),
        g,
        v: Some("1"),
    };
    let mut inputs = vec![
        input(0, 0, Some("a")),
        input(0, 13, Some("a")),
        input(0, 0, Some("a")),
        input(0, 11, Some("a")),
        input(2, 10, None),
        input(2, 0, Some("a")),
        input(0, 8, Some("a")),
        input(0, 7, Some("a")),
        input(0, 0, Some("a")),
        input(0, 6, Some("a")),
    ];
    let (set, _) = build(&specs);
    let (alerts, whole) = shared_and_one(&set, &mut inputs, 2);
    let when = |a: &[Alert]| {
        a.iter()
            .map(|a| (a.timestamp, a.value.clone(), a.window.map(|w| w.end)))
            .collect::<Vec<_>>()
    };
    assert_eq!(when(&alerts), when(&whole));
    let seconds = |s| Some(start() + chrono::Duration::seconds(s));
    assert_eq!(whole[0].window.map(|w| w.start), seconds(6));
    assert_eq!(alerts[0].window.map(|w| w.start), seconds(7));
}
