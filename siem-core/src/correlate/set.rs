//! [`CorrelationSet`]: correlation rules with their references resolved, built once.

use std::collections::HashMap;
use std::sync::Arc;

use compact_str::CompactString;

use super::key::{Fields, GroupKey};
use crate::event::Value;
use crate::sigma::RuleMeta;
use crate::sigma::correlation::{Condition, CorrelationRule, CorrelationType};

/// A detection rule as the resolver returns it: the caller's index for it (the `RuleSet`'s
/// `RuleId`) and the id alerts should name it by.
///
/// A plain `u32` converts into one with an empty id; alerts then name the rule by the reference
/// written in the correlation rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedRule {
    /// The caller's index of the detection rule.
    pub index: u32,
    /// The rule's `id` (or name), for an alert's `rules` list; empty to use the reference as
    /// written.
    pub id: CompactString,
}

impl From<u32> for ResolvedRule {
    fn from(index: u32) -> Self {
        ResolvedRule {
            index,
            id: CompactString::default(),
        }
    }
}

impl<S: Into<CompactString>> From<(u32, S)> for ResolvedRule {
    fn from((index, id): (u32, S)) -> Self {
        ResolvedRule {
            index,
            id: id.into(),
        }
    }
}

/// A detection rule referenced by the set, as a dense index (`0..set.base_rules().len()`).
///
/// Get it once per detection rule with [`CorrelationSet::base_rule`] and pass it in each
/// [`Detection`](super::Detection).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BaseRule(pub u32);

/// The partitions owning the groups a detection updates ([`CorrelationSet::owners`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Owners {
    /// It updates no group (every `group-by` field is missing).
    None,
    One(u32),
    /// Several, ascending.
    Many(Vec<u32>),
}

/// A correlation rule of the set, by position in [`CorrelationSet::rules`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CorrelationId(pub u32);

/// Why a set of correlation rules cannot be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// A reference names no correlation and the resolver knows no detection rule by it.
    #[error(
        "correlation rule {rule:?} refers to {reference:?}, which is neither a loaded rule's id nor its name"
    )]
    UnknownRule {
        /// The referring correlation (its id, name or title).
        rule: String,
        /// The reference.
        reference: String,
    },
    /// A reference names both a correlation rule and a detection rule.
    #[error(
        "correlation rule {rule:?} refers to {reference:?}, which names both a correlation rule and a detection rule"
    )]
    Ambiguous {
        /// The referring correlation.
        rule: String,
        /// The reference.
        reference: String,
    },
    /// Two references of one correlation resolve to the same rule (e.g. its id and its name).
    #[error("correlation rule {rule:?} refers to the same rule twice ({first:?} and {second:?})")]
    SameRule {
        /// The referring correlation.
        rule: String,
        /// The first reference.
        first: String,
        /// The second reference.
        second: String,
    },
    /// Two correlation rules share an id or a name.
    #[error("two correlation rules are called {0:?}")]
    DuplicateCorrelation(String),
    /// Correlation rules refer to each other in a circle.
    #[error("correlation rules refer to each other in a cycle: {}", .0.join(" -> "))]
    Cycle(Vec<String>),
    /// More distinct referenced rules than the correlator can index.
    #[error("correlation rule {0:?} refers to more than 65535 rules")]
    TooManyRules(String),
}

/// Where a reference of a correlation rule points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    Detection(BaseRule),
    Correlation(CorrelationId),
}

/// A referenced rule feeds slot `slot` of correlation `corr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Feed {
    pub corr: u32,
    pub slot: u16,
}

/// One referenced rule of a correlation, resolved, with the fields to read from its events.
#[derive(Debug, Clone)]
pub(crate) struct SlotPlan {
    pub target: Target,
    /// How alerts name the rule (`rules` list).
    pub ident: CompactString,
    /// For each `group-by` entry, the field to read in this rule's events (aliases applied).
    pub group_fields: Vec<CompactString>,
    /// Where the correlator's [`FieldHint`](crate::event::FieldHint)s for `group_fields`
    /// start (one per field, numbered across the set; see [`CorrelationSet::field_hints`]).
    pub hint: u32,
}

/// What the correlator needs of one correlation rule, precomputed.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub kind: CorrelationType,
    pub timespan: i64,
    /// How many entries of a count the state keeps (see `Condition::count_saturation`).
    pub saturation: u32,
    pub percentile: f64,
    pub condition: Condition,
    pub slots: Vec<SlotPlan>,
    /// Bit `n`: whether the condition holds for the count `n` (counts below 64), so that a
    /// count's test is a bit test.
    pub count_holds: u64,
}

impl Plan {
    pub fn condition_holds(&self, measured: f64) -> bool {
        self.condition.holds(measured)
    }

    /// [`Plan::condition_holds`] for a whole number.
    #[inline]
    pub fn count_holds(&self, n: u32) -> bool {
        match 1u64.checked_shl(n) {
            Some(bit) => self.count_holds & bit != 0,
            None => self.condition.holds(f64::from(n)),
        }
    }
}

/// Correlation rules with every reference resolved: immutable, cheap to share (`Arc`), built
/// once from the loaded rules and handed to each [`Correlator`](super::Correlator).
///
/// Building resolves each entry of each `rules` list, first against the other correlation rules
/// of the set (by `id` or `name`: correlations of correlations), then through the caller's
/// resolver (detection rules, typically `RuleSet`'s lookup by id or name), and rejects unknown,
/// ambiguous and duplicate references and cycles between correlations ([`BuildError`]).
///
/// ```
/// use siem_core::correlate::CorrelationSet;
/// use siem_core::sigma::{RuleMeta, correlation::CorrelationRule};
///
/// let doc: yaml_serde::Value = yaml_serde::from_str(
///     "correlation: {type: event_count, rules: [failed_login], group-by: [source.ip], timespan: 10m, condition: {gte: 5}}",
/// ).unwrap();
/// let rule = CorrelationRule::from_yaml(RuleMeta { title: "SSH brute force".into(), ..RuleMeta::default() }, &doc).unwrap();
/// // The detection rule `failed_login` is the caller's rule number 7.
/// let set = CorrelationSet::build(vec![rule], |r: &str| (r == "failed_login").then_some(7u32)).unwrap();
/// let base = set.base_rule(7).unwrap();
/// assert_eq!(set.base_rules()[base.0 as usize].index, 7);
/// // Referenced rules do not raise their own alerts unless a correlation says `generate: true`.
/// assert!(!set.emits_detection_alerts(7));
/// assert!(set.emits_detection_alerts(8));
/// ```
#[derive(Debug, Clone)]
pub struct CorrelationSet {
    rules: Vec<CorrelationRule>,
    pub(crate) plans: Vec<Plan>,
    base: Vec<ResolvedRule>,
    by_index: HashMap<u32, BaseRule>,
    pub(crate) base_feeds: Vec<Vec<Feed>>,
    pub(crate) corr_feeds: Vec<Vec<Feed>>,
    base_generate: Vec<bool>,
    corr_emit: Vec<bool>,
    /// How many `group-by` fields all slots read together (see [`SlotPlan::hint`]).
    pub(crate) field_hints: usize,
}

impl CorrelationSet {
    /// Resolves and checks `rules`. `resolve` maps a reference (an `id` or a `name`) to a
    /// detection rule; it may return a `u32` index or a [`ResolvedRule`] with the rule's id.
    pub fn build<R, F>(
        rules: Vec<CorrelationRule>,
        resolve: F,
    ) -> Result<CorrelationSet, BuildError>
    where
        F: Fn(&str) -> Option<R>,
        R: Into<ResolvedRule>,
    {
        // Names and ids of correlations must be unique: they are what references point at.
        let mut names: HashMap<&str, u32> = HashMap::new();
        for (i, rule) in rules.iter().enumerate() {
            let i = i as u32;
            let mut own = Vec::new();
            if !rule.meta.id.is_empty() {
                own.push(rule.meta.id.as_str());
            }
            if let Some(name) = rule.meta.name.as_deref() {
                own.push(name);
            }
            own.dedup();
            for n in own {
                if names.insert(n, i).is_some() {
                    return Err(BuildError::DuplicateCorrelation(n.to_string()));
                }
            }
        }

        let mut base: Vec<ResolvedRule> = Vec::new();
        let mut by_index: HashMap<u32, BaseRule> = HashMap::new();
        let mut plans = Vec::with_capacity(rules.len());
        let mut edges: Vec<Vec<u32>> = vec![Vec::new(); rules.len()];
        let mut field_hints = 0u32;
        for (ci, rule) in rules.iter().enumerate() {
            if rule.rules.len() > usize::from(u16::MAX) {
                return Err(BuildError::TooManyRules(rule.ident().to_string()));
            }
            let mut slots: Vec<SlotPlan> = Vec::with_capacity(rule.rules.len());
            for reference in &rule.rules {
                let corr = names.get(reference.as_str()).copied();
                let det = resolve(reference).map(Into::into);
                let (target, ident) = match (corr, det) {
                    (Some(_), Some(_)) => {
                        return Err(BuildError::Ambiguous {
                            rule: rule.ident().to_string(),
                            reference: reference.to_string(),
                        });
                    }
                    (Some(c), None) => {
                        edges[ci].push(c);
                        (
                            Target::Correlation(CorrelationId(c)),
                            CompactString::from(rules[c as usize].ident()),
                        )
                    }
                    (None, Some(r)) => {
                        let ident = if r.id.is_empty() {
                            reference.clone()
                        } else {
                            r.id.clone()
                        };
                        let b = *by_index.entry(r.index).or_insert_with(|| {
                            base.push(r.clone());
                            BaseRule(base.len() as u32 - 1)
                        });
                        (Target::Detection(b), ident)
                    }
                    (None, None) => {
                        return Err(BuildError::UnknownRule {
                            rule: rule.ident().to_string(),
                            reference: reference.to_string(),
                        });
                    }
                };
                if let Some(prev) = slots.iter().position(|s| s.target == target) {
                    return Err(BuildError::SameRule {
                        rule: rule.ident().to_string(),
                        first: rule.rules[prev].to_string(),
                        second: reference.to_string(),
                    });
                }
                let group_fields: Vec<CompactString> = rule
                    .group_by
                    .iter()
                    .map(|g| CompactString::from(rule.group_field(g, reference)))
                    .collect();
                let hint = field_hints;
                field_hints = field_hints.saturating_add(group_fields.len() as u32);
                slots.push(SlotPlan {
                    target,
                    ident,
                    group_fields,
                    hint,
                });
            }
            let saturation = if rule.kind.is_temporal() {
                rule.rules.len() as u32
            } else {
                rule.condition.count_saturation()
            };
            plans.push(Plan {
                kind: rule.kind,
                timespan: rule.timespan.nanos(),
                saturation,
                percentile: rule.condition.percentile.unwrap_or(50.0),
                condition: rule.condition.clone(),
                slots,
                count_holds: (0..64u32)
                    .filter(|&n| rule.condition.holds(f64::from(n)))
                    .fold(0, |mask, n| mask | 1 << n),
            });
        }
        if let Some(cycle) = find_cycle(&edges) {
            return Err(BuildError::Cycle(
                cycle
                    .iter()
                    .map(|&c| rules[c as usize].ident().to_string())
                    .collect(),
            ));
        }

        let mut base_feeds = vec![Vec::new(); base.len()];
        let mut corr_feeds = vec![Vec::new(); rules.len()];
        let mut base_generate = vec![false; base.len()];
        let mut corr_referenced = vec![false; rules.len()];
        let mut corr_generate = vec![false; rules.len()];
        for (ci, plan) in plans.iter().enumerate() {
            let generate = rules[ci].generate;
            for (si, slot) in plan.slots.iter().enumerate() {
                let feed = Feed {
                    corr: ci as u32,
                    slot: si as u16,
                };
                match slot.target {
                    Target::Detection(b) => {
                        base_feeds[b.0 as usize].push(feed);
                        base_generate[b.0 as usize] |= generate;
                    }
                    Target::Correlation(c) => {
                        corr_feeds[c.0 as usize].push(feed);
                        corr_referenced[c.0 as usize] = true;
                        corr_generate[c.0 as usize] |= generate;
                    }
                }
            }
        }
        let corr_emit = (0..rules.len())
            .map(|c| !corr_referenced[c] || corr_generate[c])
            .collect();
        Ok(CorrelationSet {
            rules,
            plans,
            base,
            by_index,
            field_hints: field_hints as usize,
            base_feeds,
            corr_feeds,
            base_generate,
            corr_emit,
        })
    }

    /// The correlation rules, in the order given.
    pub fn rules(&self) -> &[CorrelationRule] {
        &self.rules
    }

    /// The correlation rule `id`.
    pub fn rule(&self, id: CorrelationId) -> Option<&CorrelationRule> {
        self.rules.get(id.0 as usize)
    }

    /// How many correlation rules the set holds.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether the set holds no correlation rule.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The detection rules the set refers to, indexed by [`BaseRule`].
    pub fn base_rules(&self) -> &[ResolvedRule] {
        &self.base
    }

    /// The dense index of the caller's detection rule `index`, if some correlation refers to it.
    /// Detections of other rules need not be offered to the correlator.
    pub fn base_rule(&self, index: u32) -> Option<BaseRule> {
        self.by_index.get(&index).copied()
    }

    /// Whether the caller's detection rule `index` should raise its own alerts: true unless
    /// correlations refer to it and none of them says `generate: true`.
    ///
    /// The specification: "`generate` defines if the rules referred from the correlation rule
    /// should be converted as stand-alone rules or if only the correlation query should be
    /// generated (default)". When several correlations refer to one rule, one `generate: true`
    /// is enough (pySigma instead disables the rule as soon as one correlation does not
    /// generate it; siem does not silence a rule an author explicitly asked for).
    pub fn emits_detection_alerts(&self, index: u32) -> bool {
        match self.by_index.get(&index) {
            Some(b) => self.base_generate[b.0 as usize],
            None => true,
        }
    }

    /// Whether the correlation rule raises alerts: always for a rule no other correlation refers
    /// to; for an inner rule of a chain only if a correlation that refers to it says
    /// `generate: true` (the specification: "only the outermost correlation rule may define
    /// meta information such as status, level, date or anything else").
    pub fn emits_correlation_alerts(&self, id: CorrelationId) -> bool {
        self.corr_emit.get(id.0 as usize).copied().unwrap_or(false)
    }

    /// Each rule's [`CorrelationRule::warnings`], with the rule's id, name or title.
    pub fn warnings(&self) -> Vec<(String, String)> {
        self.rules
            .iter()
            .flat_map(|r| {
                r.warnings()
                    .into_iter()
                    .map(move |w| (r.ident().to_string(), w))
            })
            .collect()
    }

    /// The partitions (out of `count`) that own at least one group the detection updates:
    /// where a router sends a detection of base rule `rule` read from `event` when each of
    /// `count` workers runs a correlator owning one partition (see
    /// [`CorrelatorConfig::partition`](super::CorrelatorConfig::partition)).
    pub fn partitions_for(
        &self,
        rule: BaseRule,
        event: &crate::event::Event,
        count: u32,
    ) -> Vec<u32> {
        match self.owners(rule, event, count) {
            Owners::None => Vec::new(),
            Owners::One(p) => vec![p],
            Owners::Many(v) => v,
        }
    }

    /// [`CorrelationSet::partitions_for`] without a vector for the common answers (none, or
    /// one partition: a rule that feeds one correlation, or whose groups all hash alike).
    pub(crate) fn owners(&self, rule: BaseRule, event: &crate::event::Event, count: u32) -> Owners {
        let mut owners = Owners::None;
        for feed in self.base_feeds.get(rule.0 as usize).into_iter().flatten() {
            let Some(key) = self.group_parts(feed, event) else {
                continue;
            };
            // count > 0 is the caller's; the result is < count <= u32::MAX.
            let p = (key.stable_hash() % u64::from(count.max(1))) as u32;
            owners = match owners {
                Owners::None => Owners::One(p),
                Owners::One(q) if q == p => Owners::One(q),
                Owners::One(q) => Owners::Many(vec![q, p]),
                Owners::Many(mut v) => {
                    if !v.contains(&p) {
                        v.push(p);
                    }
                    Owners::Many(v)
                }
            };
        }
        if let Owners::Many(v) = &mut owners {
            v.sort_unstable();
        }
        owners
    }

    /// The group key of a detection for one feed, not yet encoded (`None`: a `group-by` field
    /// is missing or `null`).
    #[inline]
    pub(crate) fn group_parts<'a>(
        &self,
        feed: &Feed,
        source: &'a dyn Fields,
    ) -> Option<GroupKey<'a>> {
        let slot = &self.plans[feed.corr as usize].slots[usize::from(feed.slot)];
        GroupKey::read(&slot.group_fields, source)
    }

    /// [`CorrelationSet::group_parts`] of an event, its fields found through `hints` (the
    /// correlator's, [`CorrelationSet::field_hints`] of them): the same key, whatever the hints
    /// hold.
    #[inline(always)]
    pub(crate) fn group_parts_hinted<'a>(
        &self,
        feed: &Feed,
        event: &'a crate::event::Event,
        hints: &mut [crate::event::FieldHint],
    ) -> Option<GroupKey<'a>> {
        let slot = &self.plans[feed.corr as usize].slots[usize::from(feed.slot)];
        let start = slot.hint as usize;
        match hints.get_mut(start..start + slot.group_fields.len()) {
            Some(hints) => GroupKey::read_hinted(&slot.group_fields, event, hints),
            None => GroupKey::read(&slot.group_fields, event),
        }
    }

    /// The alert `group` of a detection for one feed: names as written in `group-by`.
    pub(crate) fn group_values(
        &self,
        feed: &Feed,
        source: &dyn Fields,
    ) -> Vec<(CompactString, Value)> {
        let rule = &self.rules[feed.corr as usize];
        let slot = &self.plans[feed.corr as usize].slots[usize::from(feed.slot)];
        rule.group_by
            .iter()
            .zip(&slot.group_fields)
            .map(|(name, field)| {
                (
                    name.clone(),
                    source.field(field).cloned().unwrap_or(Value::Null),
                )
            })
            .collect()
    }

    /// The metadata of correlation `c`, shared with its alerts.
    pub(crate) fn meta(&self, c: u32) -> Arc<RuleMeta> {
        self.rules[c as usize].meta.clone()
    }
}

/// A cycle in the reference graph, as a closed path of correlation indices, if there is one.
fn find_cycle(edges: &[Vec<u32>]) -> Option<Vec<u32>> {
    // Iterative depth-first search with colours: 0 unvisited, 1 on the stack, 2 done.
    let mut colour = vec![0u8; edges.len()];
    for start in 0..edges.len() {
        if colour[start] != 0 {
            continue;
        }
        let mut stack: Vec<(u32, usize)> = vec![(start as u32, 0)];
        colour[start] = 1;
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            if let Some(&succ) = edges[node as usize].get(*next) {
                *next += 1;
                match colour[succ as usize] {
                    0 => {
                        colour[succ as usize] = 1;
                        stack.push((succ, 0));
                    }
                    1 => {
                        let from = stack.iter().position(|&(n, _)| n == succ).unwrap_or(0);
                        let mut cycle: Vec<u32> = stack[from..].iter().map(|&(n, _)| n).collect();
                        cycle.push(succ);
                        return Some(cycle);
                    }
                    _ => {}
                }
            } else {
                colour[node as usize] = 2;
                stack.pop();
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycles_are_found_with_their_path() {
        assert_eq!(find_cycle(&[vec![1], vec![2], vec![]]), None);
        assert_eq!(
            find_cycle(&[vec![1], vec![2], vec![0]]),
            Some(vec![0, 1, 2, 0])
        );
        assert_eq!(find_cycle(&[vec![0]]), Some(vec![0, 0]));
        assert_eq!(find_cycle(&[vec![], vec![2], vec![1]]), Some(vec![1, 2, 1]));
    }
}
