//! Sigma correlation rules: the model, read from a YAML document, and validated.
//!
//! A correlation rule (Sigma specification v2.1, *Sigma Correlation Rules*) is a YAML document
//! with a `correlation:` section that refers to other rules by `id` or `name` and says what to
//! measure over their matches per group and time span:
//!
//! ```yaml
//! title: Many failed logins
//! id: 0e95725d-7320-415d-80f7-004da920fc11
//! correlation:
//!     type: event_count
//!     rules:
//!         - 5638f7c0-ac70-491d-8465-2a65075e0d86
//!     group-by:
//!         - ComputerName
//!     timespan: 1h
//!     condition:
//!         gte: 100
//! ```
//!
//! [`CorrelationRule::from_yaml`] reads the `correlation` section of one document; the rule's
//! metadata ([`RuleMeta`]: title, id, name, level, ...) is read by the Sigma loader and handed in.
//! Everything that can be checked without the other rules is checked here, with an error that
//! names the rule and the key at fault ([`CorrelationError`]). Checks that need the referenced
//! rules (unknown references, cycles between correlations) happen when a
//! [`CorrelationSet`](crate::correlate::CorrelationSet) is built.
//!
//! # What is accepted
//!
//! - `type`: `event_count`, `value_count`, `temporal`, `temporal_ordered`, `value_sum`,
//!   `value_avg`, `value_percentile`.
//! - `rules`: a list of rule ids or names (a single string is accepted too); no duplicates.
//! - `group-by`: a list of field names (or one string); optional: without it every match falls
//!   into one group (the alert's `group` is `{}`).
//! - `timespan`: "number + letter (in lowercase)": `Xs`, `Xm`, `Xh`, `Xd`, exactly as the
//!   specification lists them.
//! - `condition`: a map of one or more of `gt`, `gte`, `lt`, `lte`, `eq`, `neq` (all must hold:
//!   "To define a range, you can use the conjunction 'AND' in the mapping"), plus `field` for the
//!   `value_*` types (a string, or for `value_count` a list: the distinct *combinations* are
//!   counted, "linked by an AND" as the specification says of multiple fields) and, for
//!   `value_percentile`, `percentile` (pySigma's key, 0–100; 50, the median, when absent).
//!   `temporal` and `temporal_ordered` may omit it; they then require every referenced rule
//!   (`gte: <number of rules>`, pySigma's default).
//! - `aliases`: `alias name → { rule name → field name }`.
//! - `generate`: boolean, default `false`.
//!
//! Thresholds are numbers (integers or, for the averaged and percentile types, fractions); a
//! condition that no value can satisfy (`gt: 5` with `lt: 3`, or a count `lt: 0`) is rejected.
//! Conditions that a single event already satisfies are valid but almost never what the author
//! meant under sliding windows; [`CorrelationRule::warnings`] lists them.

use std::fmt;
use std::sync::Arc;

use compact_str::CompactString;
use yaml_serde::Value as Yaml;

use super::RuleMeta;

/// The correlation `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CorrelationType {
    /// `event_count`: how many matching events per group within the time span.
    EventCount,
    /// `value_count`: how many distinct values of `field` per group within the time span.
    ValueCount,
    /// `temporal`: how many of the referenced rules matched per group within the time span.
    Temporal,
    /// `temporal_ordered`: like `temporal`, in the order the rules are listed.
    TemporalOrdered,
    /// `value_sum`: the sum of a numeric `field`.
    ValueSum,
    /// `value_avg`: the average of a numeric `field`.
    ValueAvg,
    /// `value_percentile`: a percentile of a numeric `field`.
    ValuePercentile,
}

impl CorrelationType {
    /// Every type, in the specification's order.
    pub const ALL: [CorrelationType; 7] = [
        CorrelationType::EventCount,
        CorrelationType::ValueCount,
        CorrelationType::Temporal,
        CorrelationType::TemporalOrdered,
        CorrelationType::ValueSum,
        CorrelationType::ValueAvg,
        CorrelationType::ValuePercentile,
    ];

    /// The name as written in Sigma (`event_count`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            CorrelationType::EventCount => "event_count",
            CorrelationType::ValueCount => "value_count",
            CorrelationType::Temporal => "temporal",
            CorrelationType::TemporalOrdered => "temporal_ordered",
            CorrelationType::ValueSum => "value_sum",
            CorrelationType::ValueAvg => "value_avg",
            CorrelationType::ValuePercentile => "value_percentile",
        }
    }

    /// Parses a Sigma correlation type name (exact, lowercase as in the specification).
    ///
    /// ```
    /// use siem_core::sigma::correlation::CorrelationType;
    /// assert_eq!(CorrelationType::parse("value_count"), Some(CorrelationType::ValueCount));
    /// assert_eq!(CorrelationType::parse("count"), None);
    /// ```
    pub fn parse(s: &str) -> Option<CorrelationType> {
        CorrelationType::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// Whether the type reads `condition.field`.
    pub fn uses_field(self) -> bool {
        matches!(
            self,
            CorrelationType::ValueCount
                | CorrelationType::ValueSum
                | CorrelationType::ValueAvg
                | CorrelationType::ValuePercentile
        )
    }

    /// Whether the type aggregates a numeric field (sum, average, percentile).
    pub fn is_numeric(self) -> bool {
        matches!(
            self,
            CorrelationType::ValueSum
                | CorrelationType::ValueAvg
                | CorrelationType::ValuePercentile
        )
    }

    /// Whether the type is `temporal` or `temporal_ordered` (the condition is optional).
    pub fn is_temporal(self) -> bool {
        matches!(
            self,
            CorrelationType::Temporal | CorrelationType::TemporalOrdered
        )
    }

    /// Whether the measured value is a count that grows by at most one per event (event,
    /// distinct-value and rule counts), which lets the correlator saturate its state.
    pub fn is_count(self) -> bool {
        !self.is_numeric()
    }
}

impl fmt::Display for CorrelationType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A `timespan`: a positive whole number of seconds, minutes, hours or days.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Timespan {
    spec: CompactString,
    seconds: i64,
}

/// The longest timespan accepted: 10 years (longer windows are certainly mistakes, and keeping
/// spans well inside `i64` nanoseconds keeps window arithmetic exact).
pub const MAX_TIMESPAN_SECONDS: i64 = 10 * 366 * 86_400;

impl Timespan {
    /// Parses `Xs`, `Xm`, `Xh` or `Xd` ("number + letter (in lowercase)").
    ///
    /// ```
    /// use siem_core::sigma::correlation::Timespan;
    /// assert_eq!(Timespan::parse("90m").unwrap().seconds(), 5400);
    /// assert!(Timespan::parse("1H").is_none());
    /// assert!(Timespan::parse("0s").is_none());
    /// ```
    pub fn parse(spec: &str) -> Option<Timespan> {
        let unit = spec.chars().last()?;
        let digits = spec.get(..spec.len() - unit.len_utf8())?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let count: i64 = digits.parse().ok()?;
        let scale = match unit {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return None,
        };
        let seconds = count.checked_mul(scale)?;
        if seconds <= 0 || seconds > MAX_TIMESPAN_SECONDS {
            return None;
        }
        Some(Timespan {
            spec: spec.into(),
            seconds,
        })
    }

    /// A timespan of `seconds` (1 ..= [`MAX_TIMESPAN_SECONDS`]), written as `<seconds>s`.
    pub fn from_seconds(seconds: i64) -> Option<Timespan> {
        Timespan::parse(&format!("{seconds}s"))
    }

    /// The length in seconds.
    pub fn seconds(&self) -> i64 {
        self.seconds
    }

    /// The length in nanoseconds (the correlator's time unit).
    pub fn nanos(&self) -> i64 {
        // MAX_TIMESPAN_SECONDS keeps this far from overflow.
        self.seconds * 1_000_000_000
    }

    /// As written in the rule (`90m`).
    pub fn as_str(&self) -> &str {
        &self.spec
    }
}

impl fmt::Display for Timespan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.spec)
    }
}

/// A comparison operator of a correlation `condition`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    /// `gt`: greater than.
    Gt,
    /// `gte`: greater than or equal.
    Gte,
    /// `lt`: less than.
    Lt,
    /// `lte`: less than or equal.
    Lte,
    /// `eq`: equal.
    Eq,
    /// `neq`: not equal.
    Neq,
}

impl CompareOp {
    /// Every operator, in the specification's order.
    pub const ALL: [CompareOp; 6] = [
        CompareOp::Gt,
        CompareOp::Gte,
        CompareOp::Lt,
        CompareOp::Lte,
        CompareOp::Eq,
        CompareOp::Neq,
    ];

    /// The key as written in Sigma (`gte`).
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Gt => "gt",
            CompareOp::Gte => "gte",
            CompareOp::Lt => "lt",
            CompareOp::Lte => "lte",
            CompareOp::Eq => "eq",
            CompareOp::Neq => "neq",
        }
    }

    /// Parses a condition key.
    pub fn parse(s: &str) -> Option<CompareOp> {
        CompareOp::ALL.into_iter().find(|op| op.as_str() == s)
    }

    /// Whether `value <op> threshold` holds.
    pub fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            CompareOp::Gt => value > threshold,
            CompareOp::Gte => value >= threshold,
            CompareOp::Lt => value < threshold,
            CompareOp::Lte => value <= threshold,
            CompareOp::Eq => value == threshold,
            CompareOp::Neq => value != threshold,
        }
    }
}

/// One `op: threshold` criterion of a condition.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bound {
    /// The operator.
    pub op: CompareOp,
    /// The threshold.
    pub value: f64,
}

impl fmt::Display for Bound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.op.as_str(), self.value)
    }
}

/// A correlation `condition`: bounds that must all hold, plus `field` and `percentile`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Condition {
    /// The comparisons, all of which must hold (one for a plain condition, two for a range).
    pub bounds: Vec<Bound>,
    /// `field`: the field(s) a `value_*` type reads; empty for the other types.
    pub field: Vec<CompactString>,
    /// `percentile` (0–100) for `value_percentile`.
    pub percentile: Option<f64>,
}

impl Condition {
    /// Whether `value` satisfies every bound.
    ///
    /// ```
    /// use siem_core::sigma::correlation::{Bound, CompareOp, Condition};
    /// let range = Condition {
    ///     bounds: vec![Bound { op: CompareOp::Gt, value: 100.0 }, Bound { op: CompareOp::Lte, value: 200.0 }],
    ///     ..Condition::default()
    /// };
    /// assert!(range.holds(101.0) && range.holds(200.0));
    /// assert!(!range.holds(100.0) && !range.holds(201.0));
    /// ```
    pub fn holds(&self, value: f64) -> bool {
        self.bounds.iter().all(|b| b.op.holds(value, b.value))
    }

    /// For a count that grows by one at a time: the smallest `m` such that every count `>= m`
    /// gives the same answer as `m`. The correlator never needs to know a count beyond it,
    /// which is what bounds its per-group state (see the [correlate](crate::correlate) docs).
    ///
    /// ```
    /// use siem_core::sigma::correlation::{Bound, CompareOp, Condition};
    /// let gte5 = Condition { bounds: vec![Bound { op: CompareOp::Gte, value: 5.0 }], ..Condition::default() };
    /// assert_eq!(gte5.count_saturation(), 5);
    /// let gt5 = Condition { bounds: vec![Bound { op: CompareOp::Gt, value: 5.0 }], ..Condition::default() };
    /// assert_eq!(gt5.count_saturation(), 6);
    /// ```
    pub fn count_saturation(&self) -> u32 {
        let mut m: u32 = 1;
        for b in &self.bounds {
            // Past ceil(threshold) + 1 no operator changes its answer any more.
            let edge = if b.value.is_finite() {
                b.value.max(0.0).floor()
            } else {
                0.0
            };
            let edge = if edge > f64::from(u32::MAX - 2) {
                f64::from(u32::MAX - 2)
            } else {
                edge
            };
            // Checked above: edge is a non-negative whole number below u32::MAX - 1.
            let edge = edge as u32;
            let need = match b.op {
                CompareOp::Gte | CompareOp::Lt if b.value.fract() == 0.0 => edge,
                _ => edge + 1,
            };
            m = m.max(need);
        }
        m.max(1)
    }

    /// The whole numbers at which the answer of the condition can change, plus 0 and 1: between
    /// two neighbouring candidates every count answers alike, so checking the candidates decides
    /// satisfiability without walking up to a large threshold.
    fn count_candidates(&self) -> Vec<u32> {
        let mut out = vec![0, 1, self.count_saturation()];
        for b in &self.bounds {
            let base = if b.value.is_finite() {
                b.value.max(0.0).floor().min(f64::from(u32::MAX - 4))
            } else {
                0.0
            };
            // Bounded above, so the cast is exact.
            let base = base as u32;
            out.extend([base.saturating_sub(1), base, base + 1, base + 2]);
        }
        out
    }

    /// Whether some count `c >= min` satisfies the condition.
    fn count_satisfiable(&self, min: u32) -> bool {
        self.count_candidates()
            .into_iter()
            .filter(|&c| c >= min)
            .any(|c| self.holds(f64::from(c)))
    }

    /// Whether some real value satisfies the condition (for sums, averages, percentiles).
    fn real_satisfiable(&self) -> bool {
        let mut lo = f64::NEG_INFINITY;
        let mut lo_incl = false;
        let mut hi = f64::INFINITY;
        let mut hi_incl = false;
        let mut eq: Option<f64> = None;
        let mut neq = Vec::new();
        for b in &self.bounds {
            match b.op {
                CompareOp::Gt if b.value >= lo => {
                    lo_incl = false;
                    lo = b.value;
                }
                CompareOp::Gte if b.value > lo => {
                    lo_incl = true;
                    lo = b.value;
                }
                CompareOp::Lt if b.value <= hi => {
                    hi_incl = false;
                    hi = b.value;
                }
                CompareOp::Lte if b.value < hi => {
                    hi_incl = true;
                    hi = b.value;
                }
                CompareOp::Eq => {
                    if eq.is_some_and(|e| e != b.value) {
                        return false;
                    }
                    eq = Some(b.value);
                }
                CompareOp::Neq => neq.push(b.value),
                _ => {}
            }
        }
        if let Some(e) = eq {
            return self.holds(e);
        }
        if lo > hi || (lo == hi && !(lo_incl && hi_incl)) {
            return false;
        }
        // A non-empty interval of reals minus finitely many points is non-empty unless it is a
        // single point that is excluded.
        !(lo == hi && neq.contains(&lo))
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.bounds.iter().enumerate() {
            if i > 0 {
                f.write_str(" and ")?;
            }
            write!(f, "{b}")?;
        }
        Ok(())
    }
}

/// One `aliases` entry: a name usable in `group-by` and the field it stands for in the events of
/// each referenced rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldAlias {
    /// The alias, as used in `group-by`.
    pub alias: CompactString,
    /// `(rule reference, field name)`: in events matched by that rule, read this field.
    pub fields: Vec<(CompactString, CompactString)>,
}

impl FieldAlias {
    /// The field to read for events of the rule referenced as `rule`, if the alias names one.
    pub fn field_for(&self, rule: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(r, _)| r == rule)
            .map(|(_, f)| f.as_str())
    }
}

/// A parsed and validated Sigma correlation rule.
///
/// Cheap to clone: the metadata is shared.
#[derive(Debug, Clone, PartialEq)]
pub struct CorrelationRule {
    /// The rule's metadata (title, id, name, level, tags, ...), shared with its alerts.
    pub meta: Arc<RuleMeta>,
    /// `correlation.type`.
    pub kind: CorrelationType,
    /// `correlation.rules`: references by id or name, as written.
    pub rules: Vec<CompactString>,
    /// `correlation.group-by`: field names or aliases, as written.
    pub group_by: Vec<CompactString>,
    /// `correlation.aliases`, in the order written.
    pub aliases: Vec<FieldAlias>,
    /// `correlation.timespan`.
    pub timespan: Timespan,
    /// `correlation.condition` (for temporal types without one: `gte: <number of rules>`).
    pub condition: Condition,
    /// Whether the condition was written in the rule (false for a defaulted temporal one).
    pub condition_given: bool,
    /// `correlation.generate`: whether the referenced rules also raise their own alerts.
    pub generate: bool,
}

/// What is wrong with a correlation rule, with the rule it is about.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("correlation rule {rule}: {kind}")]
pub struct CorrelationError {
    /// The rule: its title, id and file when known.
    pub rule: String,
    /// What is wrong.
    pub kind: CorrelationErrorKind,
}

/// The kinds of [`CorrelationError`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum CorrelationErrorKind {
    /// The document has no `correlation:` section.
    #[error("the document has no `correlation` section")]
    MissingSection,
    /// A key has a value of the wrong YAML kind.
    #[error("`{key}` must be {expected}, got {got}")]
    WrongKind {
        /// The key, e.g. `correlation.rules`.
        key: String,
        /// What was expected.
        expected: &'static str,
        /// What was found.
        got: &'static str,
    },
    /// A mandatory key is absent.
    #[error("`correlation.{0}` is missing (it is mandatory)")]
    Missing(&'static str),
    /// A key the specification does not define.
    #[error(
        "unknown key `correlation.{0}` (expected type, rules, group-by, timespan, condition, aliases, generate)"
    )]
    UnknownKey(String),
    /// `type` is not a correlation type.
    #[error(
        "`correlation.type` {0:?} is not a correlation type (expected event_count, value_count, temporal, temporal_ordered, value_sum, value_avg or value_percentile)"
    )]
    UnknownType(String),
    /// `timespan` is not `number + letter`.
    #[error(
        "`correlation.timespan` {0:?} is invalid: expected a positive number followed by s, m, h or d (e.g. 90m), at most 10 years"
    )]
    Timespan(String),
    /// `rules` is empty.
    #[error("`correlation.rules` is empty")]
    NoRules,
    /// A reference or group-by field is listed twice.
    #[error("`correlation.{key}` lists {value:?} twice")]
    Duplicate {
        /// `rules` or `group-by`.
        key: &'static str,
        /// The repeated entry.
        value: String,
    },
    /// The type needs a condition and has none.
    #[error("{0} needs a `condition`")]
    MissingCondition(CorrelationType),
    /// The condition has no comparison.
    #[error("`correlation.condition` has no comparison (gt, gte, lt, lte, eq or neq)")]
    NoComparison,
    /// A condition key the specification does not define.
    #[error(
        "unknown key `correlation.condition.{0}` (expected gt, gte, lt, lte, eq, neq, field or percentile)"
    )]
    UnknownConditionKey(String),
    /// A threshold that is not a finite number.
    #[error("`correlation.condition.{op}` must be a number, got {got}")]
    Threshold {
        /// The operator key.
        op: &'static str,
        /// What was found.
        got: String,
    },
    /// The condition can never hold.
    #[error("`correlation.condition` ({0}) can never hold")]
    Unsatisfiable(String),
    /// A `value_*` type without `condition.field`.
    #[error("{0} needs `condition.field` (the field whose values it measures)")]
    MissingField(CorrelationType),
    /// `condition.field` on a type that does not read one.
    #[error(
        "`condition.field` is only read by value_count, value_sum, value_avg and value_percentile, not by {0}"
    )]
    UnexpectedField(CorrelationType),
    /// A numeric aggregation over more than one field.
    #[error("{kind} aggregates one numeric field, but `condition.field` lists {count}")]
    TooManyFields {
        /// The type.
        kind: CorrelationType,
        /// How many fields were listed.
        count: usize,
    },
    /// An empty field name.
    #[error("`correlation.{0}` contains an empty name")]
    EmptyName(&'static str),
    /// `percentile` out of range or on the wrong type.
    #[error("`correlation.condition.percentile` {0}")]
    Percentile(String),
    /// A string condition (pySigma's extended temporal conditions).
    #[error(
        "`correlation.condition` is a string ({0:?}): siem reads the specification's condition map (gt, gte, lt, lte, eq, neq); boolean expressions over rule names are a pySigma extension it does not support"
    )]
    ExpressionCondition(String),
    /// An alias maps a rule the correlation does not reference.
    #[error("alias {alias:?} maps rule {rule:?}, which `correlation.rules` does not list")]
    AliasUnknownRule {
        /// The alias.
        alias: String,
        /// The rule reference inside it.
        rule: String,
    },
}

impl CorrelationRule {
    /// Reads the `correlation` section of one YAML document (the whole document, as the Sigma
    /// loader keeps it) and validates it. `meta` is the document's metadata.
    ///
    /// ```
    /// use siem_core::sigma::{RuleMeta, correlation::{CorrelationRule, CorrelationType}};
    /// let doc: yaml_serde::Value = yaml_serde::from_str(r#"
    /// title: Many failed logins
    /// correlation:
    ///     type: event_count
    ///     rules: [failed_login]
    ///     group-by: [source.ip]
    ///     timespan: 10m
    ///     condition: {gte: 5}
    /// "#).unwrap();
    /// let meta = RuleMeta { title: "Many failed logins".into(), ..RuleMeta::default() };
    /// let rule = CorrelationRule::from_yaml(meta, &doc).unwrap();
    /// assert_eq!(rule.kind, CorrelationType::EventCount);
    /// assert_eq!(rule.timespan.seconds(), 600);
    /// assert!(rule.condition.holds(5.0) && !rule.condition.holds(4.0));
    /// ```
    pub fn from_yaml(meta: RuleMeta, document: &Yaml) -> Result<CorrelationRule, CorrelationError> {
        let context = describe(&meta);
        let err = |kind| CorrelationError {
            rule: context.clone(),
            kind,
        };
        let section = match document.get("correlation") {
            Some(s) => s,
            None => return Err(err(CorrelationErrorKind::MissingSection)),
        };
        Self::from_section(meta, section).map_err(err)
    }

    /// Like [`CorrelationRule::from_yaml`], from the value of the `correlation` key alone.
    pub fn from_section(
        meta: RuleMeta,
        section: &Yaml,
    ) -> Result<CorrelationRule, CorrelationErrorKind> {
        let map = section
            .as_mapping()
            .ok_or_else(|| wrong("correlation", "a mapping", section))?;
        let mut kind_value = None;
        let mut rules_value = None;
        let mut group_by_value = None;
        let mut timespan_value = None;
        let mut condition_value = None;
        let mut aliases_value = None;
        let mut generate_value = None;
        for (key, value) in map {
            let key = key
                .as_str()
                .ok_or_else(|| wrong("correlation", "a mapping with string keys", key))?;
            match key {
                "type" => kind_value = Some(value),
                "rules" => rules_value = Some(value),
                "group-by" => group_by_value = Some(value),
                "timespan" => timespan_value = Some(value),
                "condition" => condition_value = Some(value),
                "aliases" => aliases_value = Some(value),
                "generate" => generate_value = Some(value),
                other => return Err(CorrelationErrorKind::UnknownKey(other.to_string())),
            }
        }

        let kind_value = kind_value.ok_or(CorrelationErrorKind::Missing("type"))?;
        let kind_name = kind_value
            .as_str()
            .ok_or_else(|| wrong("correlation.type", "a string", kind_value))?;
        let kind = CorrelationType::parse(kind_name)
            .ok_or_else(|| CorrelationErrorKind::UnknownType(kind_name.to_string()))?;

        let rules = string_list(
            rules_value.ok_or(CorrelationErrorKind::Missing("rules"))?,
            "rules",
        )?;
        if rules.is_empty() {
            return Err(CorrelationErrorKind::NoRules);
        }
        no_duplicates(&rules, "rules")?;

        let group_by = match group_by_value {
            None | Some(Yaml::Null) => Vec::new(),
            Some(v) => string_list(v, "group-by")?,
        };
        no_duplicates(&group_by, "group-by")?;

        let timespan_value = timespan_value.ok_or(CorrelationErrorKind::Missing("timespan"))?;
        let spec = timespan_value.as_str().ok_or_else(|| {
            wrong(
                "correlation.timespan",
                "a string such as 5m",
                timespan_value,
            )
        })?;
        let timespan = Timespan::parse(spec)
            .ok_or_else(|| CorrelationErrorKind::Timespan(spec.to_string()))?;

        let (condition, condition_given) = match condition_value {
            None | Some(Yaml::Null) => {
                if !kind.is_temporal() {
                    return Err(CorrelationErrorKind::MissingCondition(kind));
                }
                // pySigma's default, and the specification's "All events defined by the rules
                // referred by the rule field must occur in the time frame".
                let all = Bound {
                    op: CompareOp::Gte,
                    value: rules.len() as f64,
                };
                (
                    Condition {
                        bounds: vec![all],
                        ..Condition::default()
                    },
                    false,
                )
            }
            Some(Yaml::String(s)) => {
                return Err(CorrelationErrorKind::ExpressionCondition(s.clone()));
            }
            Some(v) => (parse_condition(v)?, true),
        };
        check_condition(kind, &condition, rules.len())?;

        let aliases = match aliases_value {
            None | Some(Yaml::Null) => Vec::new(),
            Some(v) => parse_aliases(v, &rules)?,
        };

        let generate = match generate_value {
            None | Some(Yaml::Null) => false,
            Some(Yaml::Bool(b)) => *b,
            Some(v) => return Err(wrong("correlation.generate", "true or false", v)),
        };

        Ok(CorrelationRule {
            meta: Arc::new(meta),
            kind,
            rules,
            group_by,
            aliases,
            timespan,
            condition,
            condition_given,
            generate,
        })
    }

    /// The handle other correlations use for this one: its `id`, else its `name`, else its title.
    pub fn ident(&self) -> &str {
        if !self.meta.id.is_empty() {
            &self.meta.id
        } else if let Some(name) = &self.meta.name {
            name
        } else {
            &self.meta.title
        }
    }

    /// Whether `reference` (an entry of some `rules` list) names this rule, by id or name.
    pub fn is_named(&self, reference: &str) -> bool {
        (!self.meta.id.is_empty() && self.meta.id == reference)
            || self.meta.name.as_deref().is_some_and(|n| n == reference)
    }

    /// The alias entry for a `group-by` name, if it is an alias.
    pub fn alias(&self, name: &str) -> Option<&FieldAlias> {
        self.aliases.iter().find(|a| a.alias == name)
    }

    /// The field to read for group-by entry `name` in events matched by the rule referenced as
    /// `rule`: the alias's field for that rule, else `name` itself.
    pub fn group_field<'a>(&'a self, name: &'a str, rule: &str) -> &'a str {
        self.alias(name)
            .and_then(|a| a.field_for(rule))
            .unwrap_or(name)
    }

    /// Valid but probably unintended constructs, as sentences for `siem rules check`:
    /// conditions that one event satisfies on its own (under sliding windows they fire on
    /// nearly every match), temporal rules over one rule, aliases nothing uses, a defaulted
    /// percentile.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.kind.is_count() && self.condition.holds(1.0) {
            out.push(format!(
                "condition ({}) already holds for a single event: with sliding windows this {} rule fires on nearly every match of its rules",
                self.condition, self.kind
            ));
        }
        if self.kind.is_temporal() && self.rules.len() < 2 {
            out.push(format!(
                "{} over a single rule only repeats that rule's matches",
                self.kind
            ));
        }
        for alias in &self.aliases {
            if !self.group_by.contains(&alias.alias) {
                out.push(format!(
                    "alias {:?} is not used in group-by",
                    alias.alias.as_str()
                ));
            } else {
                for rule in &self.rules {
                    if alias.field_for(rule).is_none() {
                        out.push(format!(
                            "alias {:?} names no field for rule {:?}: its events are read at field {:?}",
                            alias.alias.as_str(),
                            rule.as_str(),
                            alias.alias.as_str()
                        ));
                    }
                }
            }
        }
        if self.kind == CorrelationType::ValuePercentile && self.condition.percentile.is_none() {
            out.push(
                "value_percentile without `condition.percentile`: the median (50) is used".into(),
            );
        }
        out
    }

    /// A canonical one-line description of what the rule computes (type, references, group-by,
    /// aliases, timespan, condition). Two rules with the same fingerprint keep compatible
    /// correlation state, which is how a restored snapshot decides what to keep.
    pub fn fingerprint(&self) -> String {
        let mut s = format!(
            "{}|rules={}|group-by={}|timespan={}s|condition={}",
            self.kind,
            self.rules.join(","),
            self.group_by.join(","),
            self.timespan.seconds(),
            self.condition
        );
        if !self.condition.field.is_empty() {
            s.push_str(&format!("|field={}", self.condition.field.join(",")));
        }
        if let Some(p) = self.condition.percentile {
            s.push_str(&format!("|percentile={p}"));
        }
        for alias in &self.aliases {
            s.push_str(&format!("|alias {}=", alias.alias));
            for (rule, field) in &alias.fields {
                s.push_str(&format!("{rule}:{field};"));
            }
        }
        s
    }
}

/// `"Title" (id ..., path)` for error messages.
fn describe(meta: &RuleMeta) -> String {
    let mut s = format!("{:?}", meta.title);
    let mut extra = Vec::new();
    if !meta.id.is_empty() {
        extra.push(format!("id {}", meta.id));
    } else if let Some(name) = &meta.name {
        extra.push(format!("name {name}"));
    }
    if let Some(path) = &meta.path {
        extra.push(path.clone());
    }
    if !extra.is_empty() {
        s.push_str(&format!(" ({})", extra.join(", ")));
    }
    s
}

fn kind_name(v: &Yaml) -> &'static str {
    match v {
        Yaml::Null => "null",
        Yaml::Bool(_) => "a boolean",
        Yaml::Number(_) => "a number",
        Yaml::String(_) => "a string",
        Yaml::Sequence(_) => "a list",
        Yaml::Mapping(_) => "a mapping",
        Yaml::Tagged(_) => "a tagged value",
    }
}

fn wrong(key: &str, expected: &'static str, got: &Yaml) -> CorrelationErrorKind {
    CorrelationErrorKind::WrongKind {
        key: key.to_string(),
        expected,
        got: kind_name(got),
    }
}

/// A list of non-empty strings, or one string.
fn string_list(
    value: &Yaml,
    key: &'static str,
) -> Result<Vec<CompactString>, CorrelationErrorKind> {
    let full = || format!("correlation.{key}");
    let items: Vec<&Yaml> = match value {
        Yaml::String(_) => vec![value],
        Yaml::Sequence(seq) => seq.iter().collect(),
        other => return Err(wrong(&full(), "a list of strings", other)),
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let s = item
            .as_str()
            .ok_or_else(|| wrong(&full(), "a list of strings", item))?;
        if s.trim().is_empty() {
            return Err(CorrelationErrorKind::EmptyName(key));
        }
        out.push(CompactString::from(s));
    }
    Ok(out)
}

fn no_duplicates(items: &[CompactString], key: &'static str) -> Result<(), CorrelationErrorKind> {
    for (i, item) in items.iter().enumerate() {
        if items[..i].contains(item) {
            return Err(CorrelationErrorKind::Duplicate {
                key,
                value: item.to_string(),
            });
        }
    }
    Ok(())
}

fn parse_condition(value: &Yaml) -> Result<Condition, CorrelationErrorKind> {
    let map = value
        .as_mapping()
        .ok_or_else(|| wrong("correlation.condition", "a mapping such as {gte: 5}", value))?;
    let mut condition = Condition::default();
    for (key, v) in map {
        let key = key
            .as_str()
            .ok_or_else(|| wrong("correlation.condition", "a mapping with string keys", key))?;
        if let Some(op) = CompareOp::parse(key) {
            let threshold = number(v).ok_or_else(|| CorrelationErrorKind::Threshold {
                op: op.as_str(),
                got: yaml_text(v),
            })?;
            condition.bounds.push(Bound {
                op,
                value: threshold,
            });
        } else if key == "field" {
            condition.field = match v {
                Yaml::String(_) | Yaml::Sequence(_) => string_list(v, "condition.field")?,
                other => {
                    return Err(wrong(
                        "correlation.condition.field",
                        "a string or a list of strings",
                        other,
                    ));
                }
            };
            no_duplicates(&condition.field, "condition.field")?;
        } else if key == "percentile" {
            let p = number(v).ok_or_else(|| {
                CorrelationErrorKind::Percentile(format!("must be a number, got {}", yaml_text(v)))
            })?;
            if !(0.0..=100.0).contains(&p) {
                return Err(CorrelationErrorKind::Percentile(format!(
                    "must be between 0 and 100, got {p}"
                )));
            }
            condition.percentile = Some(p);
        } else {
            return Err(CorrelationErrorKind::UnknownConditionKey(key.to_string()));
        }
    }
    Ok(condition)
}

fn check_condition(
    kind: CorrelationType,
    c: &Condition,
    rule_count: usize,
) -> Result<(), CorrelationErrorKind> {
    if c.bounds.is_empty() {
        return Err(CorrelationErrorKind::NoComparison);
    }
    if kind.uses_field() {
        if c.field.is_empty() {
            return Err(CorrelationErrorKind::MissingField(kind));
        }
        if kind.is_numeric() && c.field.len() > 1 {
            return Err(CorrelationErrorKind::TooManyFields {
                kind,
                count: c.field.len(),
            });
        }
    } else if !c.field.is_empty() {
        return Err(CorrelationErrorKind::UnexpectedField(kind));
    }
    if c.percentile.is_some() && kind != CorrelationType::ValuePercentile {
        return Err(CorrelationErrorKind::Percentile(format!(
            "is only read by value_percentile, not by {kind}"
        )));
    }
    let satisfiable = if kind.is_temporal() {
        // Between one and every referenced rule can be present in a window.
        (1..=rule_count as u32).any(|n| c.holds(f64::from(n)))
    } else if kind.is_count() {
        // A window holds at least the event that closes it, so a count of zero never fires.
        c.count_satisfiable(1)
    } else {
        c.real_satisfiable()
    };
    if !satisfiable {
        return Err(CorrelationErrorKind::Unsatisfiable(c.to_string()));
    }
    Ok(())
}

fn parse_aliases(
    value: &Yaml,
    rules: &[CompactString],
) -> Result<Vec<FieldAlias>, CorrelationErrorKind> {
    let map = value.as_mapping().ok_or_else(|| {
        wrong(
            "correlation.aliases",
            "a mapping of alias to {rule: field}",
            value,
        )
    })?;
    let mut out = Vec::with_capacity(map.len());
    for (alias, mapping) in map {
        let alias = alias
            .as_str()
            .ok_or_else(|| wrong("correlation.aliases", "a mapping with string keys", alias))?;
        let key = format!("correlation.aliases.{alias}");
        let inner = mapping
            .as_mapping()
            .ok_or_else(|| wrong(&key, "a mapping of rule name to field name", mapping))?;
        let mut fields = Vec::with_capacity(inner.len());
        for (rule, field) in inner {
            let rule = rule
                .as_str()
                .ok_or_else(|| wrong(&key, "a mapping with string keys", rule))?;
            let field = field
                .as_str()
                .ok_or_else(|| wrong(&key, "a mapping of rule name to field name", field))?;
            if field.trim().is_empty() {
                return Err(CorrelationErrorKind::EmptyName("aliases"));
            }
            if !rules.iter().any(|r| r == rule) {
                return Err(CorrelationErrorKind::AliasUnknownRule {
                    alias: alias.to_string(),
                    rule: rule.to_string(),
                });
            }
            fields.push((CompactString::from(rule), CompactString::from(field)));
        }
        out.push(FieldAlias {
            alias: alias.into(),
            fields,
        });
    }
    Ok(out)
}

fn number(v: &Yaml) -> Option<f64> {
    match v {
        Yaml::Number(n) => n.as_f64().filter(|f| f.is_finite()),
        _ => None,
    }
}

fn yaml_text(v: &Yaml) -> String {
    match v {
        Yaml::String(s) => format!("{s:?}"),
        Yaml::Number(n) => n.to_string(),
        other => kind_name(other).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<CorrelationRule, CorrelationErrorKind> {
        let doc: Yaml = yaml_serde::from_str(yaml).unwrap();
        let meta = RuleMeta {
            title: "t".into(),
            ..RuleMeta::default()
        };
        CorrelationRule::from_yaml(meta, &doc).map_err(|e| e.kind)
    }

    #[test]
    fn timespans_follow_the_specification() {
        for (spec, secs) in [
            ("1s", 1),
            ("5m", 300),
            ("1h", 3600),
            ("2d", 172_800),
            ("90m", 5400),
        ] {
            assert_eq!(Timespan::parse(spec).unwrap().seconds(), secs, "{spec}");
        }
        for bad in [
            "",
            "m",
            "5",
            "5M",
            "5w",
            "-5m",
            "5 m",
            "1.5h",
            "0m",
            "99999999999999999999d",
            "5mé",
            "é",
        ] {
            assert!(Timespan::parse(bad).is_none(), "{bad:?} must be rejected");
        }
    }

    #[test]
    fn saturation_is_the_first_count_past_every_threshold() {
        let c = |op, v| Condition {
            bounds: vec![Bound { op, value: v }],
            ..Condition::default()
        };
        for (op, v, m) in [
            (CompareOp::Gte, 5.0, 5),
            (CompareOp::Gt, 5.0, 6),
            (CompareOp::Lt, 5.0, 5),
            (CompareOp::Lte, 5.0, 6),
            (CompareOp::Eq, 5.0, 6),
            (CompareOp::Neq, 5.0, 6),
            (CompareOp::Gte, 4.5, 5),
            (CompareOp::Gt, 4.5, 5),
        ] {
            let cond = c(op, v);
            assert_eq!(cond.count_saturation(), m, "{cond}");
            // Every count from m on answers like m.
            for n in m..m + 20 {
                assert_eq!(
                    cond.holds(f64::from(n)),
                    cond.holds(f64::from(m)),
                    "{cond} at {n}"
                );
            }
        }
    }

    #[test]
    fn errors_name_the_problem() {
        use CorrelationErrorKind as K;
        let base = "title: t\ncorrelation:\n  type: event_count\n  rules: [a]\n  group-by: [x]\n  timespan: 5m\n";
        assert!(parse(&format!("{base}  condition: {{gte: 5}}\n")).is_ok());
        assert_eq!(parse("title: t\n"), Err(K::MissingSection));
        assert_eq!(
            parse(base),
            Err(K::MissingCondition(CorrelationType::EventCount))
        );
        assert_eq!(
            parse(&format!("{base}  condition: {{gt: 5, lt: 3}}\n")),
            Err(K::Unsatisfiable("gt: 5 and lt: 3".into()))
        );
        assert_eq!(
            parse(&format!("{base}  condition: {{lt: 1}}\n")),
            Err(K::Unsatisfiable("lt: 1".into()))
        );
        assert_eq!(
            parse(&format!("{base}  condition: {{gte: five}}\n")),
            Err(K::Threshold {
                op: "gte",
                got: "\"five\"".into()
            })
        );
        assert_eq!(
            parse(&format!("{base}  condition: {{above: 5}}\n")),
            Err(K::UnknownConditionKey("above".into()))
        );
        assert_eq!(
            parse(&format!("{base}  condition: {{gte: 5, field: u}}\n")),
            Err(K::UnexpectedField(CorrelationType::EventCount))
        );
        assert_eq!(
            parse(&format!("{base}  condition: {{field: u}}\n")),
            Err(K::NoComparison)
        );
        assert_eq!(
            parse(&format!("{base}  condition: a and b\n")),
            Err(K::ExpressionCondition("a and b".into()))
        );
        assert_eq!(
            parse(
                "title: t\ncorrelation:\n  type: value_count\n  rules: [a]\n  timespan: 5m\n  condition: {gte: 5}\n"
            ),
            Err(K::MissingField(CorrelationType::ValueCount))
        );
        assert_eq!(
            parse(
                "title: t\ncorrelation:\n  type: value_sum\n  rules: [a]\n  timespan: 5m\n  condition: {gte: 5, field: [a, b]}\n"
            ),
            Err(K::TooManyFields {
                kind: CorrelationType::ValueSum,
                count: 2
            })
        );
        assert_eq!(
            parse(
                "title: t\ncorrelation:\n  type: event_count\n  rules: [a, a]\n  timespan: 5m\n  condition: {gte: 5}\n"
            ),
            Err(K::Duplicate {
                key: "rules",
                value: "a".into()
            })
        );
        assert_eq!(
            parse(
                "title: t\ncorrelation:\n  type: event_count\n  rules: [a]\n  timespan: 5 minutes\n  condition: {gte: 5}\n"
            ),
            Err(K::Timespan("5 minutes".into()))
        );
        assert_eq!(
            parse(
                "title: t\ncorrelation:\n  type: event_count\n  rules: [a]\n  timespan: 5m\n  condition: {gte: 5}\n  groupby: [x]\n"
            ),
            Err(K::UnknownKey("groupby".into()))
        );
        assert_eq!(
            parse("title: t\ncorrelation:\n  type: count\n"),
            Err(K::UnknownType("count".into()))
        );
        assert_eq!(
            parse(
                "title: t\ncorrelation:\n  type: temporal\n  rules: [a, b]\n  timespan: 5m\n  condition: {gte: 3}\n"
            ),
            Err(K::Unsatisfiable("gte: 3".into()))
        );
        assert_eq!(
            parse(
                "title: t\ncorrelation:\n  type: temporal\n  rules: [a, b]\n  timespan: 5m\n  aliases: {ip: {c: source.ip}}\n"
            ),
            Err(K::AliasUnknownRule {
                alias: "ip".into(),
                rule: "c".into()
            })
        );
        assert_eq!(
            parse(
                "title: t\ncorrelation:\n  type: event_count\n  rules: [a]\n  timespan: 5m\n  condition: {gte: 5}\n  generate: yes please\n"
            ),
            Err(K::WrongKind {
                key: "correlation.generate".into(),
                expected: "true or false",
                got: "a string"
            })
        );
    }

    #[test]
    fn temporal_defaults_to_all_rules() {
        let rule = parse("title: t\ncorrelation:\n  type: temporal_ordered\n  rules: [a, b, c]\n  group-by: [u]\n  timespan: 5m\n").unwrap();
        assert!(!rule.condition_given);
        assert!(rule.condition.holds(3.0) && !rule.condition.holds(2.0));
    }

    #[test]
    fn single_event_conditions_are_flagged() {
        let rule = parse("title: t\ncorrelation:\n  type: event_count\n  rules: [a]\n  timespan: 5m\n  condition: {lt: 3}\n").unwrap();
        assert_eq!(rule.warnings().len(), 1, "{:?}", rule.warnings());
        let rule = parse("title: t\ncorrelation:\n  type: event_count\n  rules: [a]\n  timespan: 5m\n  condition: {gte: 3}\n").unwrap();
        assert!(rule.warnings().is_empty());
    }
}
