//! The conditions of a processing item: which rules, detection items and field names it
//! applies to, and how they combine (`*_cond_op`, `*_cond_expr`, `*_cond_not`).

use regex::Regex;

use super::transform::{Run, ValueKind, WItem, Work, plain};
use crate::sigma::meta::{Level, Status};

/// A YAML scalar as pipelines use it: state values, attribute values, match values.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    /// `null`.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string.
    Str(String),
}

impl Scalar {
    /// Compares like Python does for the types pipelines use: numbers with numbers, strings
    /// with strings, booleans with booleans; `None` across kinds.
    fn partial_cmp(&self, other: &Scalar) -> Option<std::cmp::Ordering> {
        use Scalar::*;
        match (self, other) {
            (Int(a), Int(b)) => a.partial_cmp(b),
            (Int(a), Float(b)) => (*a as f64).partial_cmp(b),
            (Float(a), Int(b)) => a.partial_cmp(&(*b as f64)),
            (Float(a), Float(b)) => a.partial_cmp(b),
            (Str(a), Str(b)) => a.partial_cmp(b),
            (Bool(a), Bool(b)) => a.partial_cmp(b),
            (Null, Null) => Some(std::cmp::Ordering::Equal),
            _ => None,
        }
    }

    /// The value as text (for messages and for `rule_attribute` on text attributes).
    pub fn text(&self) -> String {
        match self {
            Scalar::Null => "null".into(),
            Scalar::Bool(b) => b.to_string(),
            Scalar::Int(i) => i.to_string(),
            Scalar::Float(f) => f.to_string(),
            Scalar::Str(s) => s.clone(),
        }
    }
}

/// A comparison of `processing_state` and `rule_attribute` conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateOp {
    /// `eq` (the default).
    Eq,
    /// `ne`.
    Ne,
    /// `gte` (also `ge`).
    Gte,
    /// `gt`.
    Gt,
    /// `lte` (also `le`).
    Lte,
    /// `lt`.
    Lt,
    /// `in` (list attributes only).
    In,
    /// `not_in` (list attributes only).
    NotIn,
}

impl StateOp {
    pub(super) fn parse(s: &str) -> Option<StateOp> {
        Some(match s {
            "eq" => StateOp::Eq,
            "ne" => StateOp::Ne,
            "gte" | "ge" => StateOp::Gte,
            "gt" => StateOp::Gt,
            "lte" | "le" => StateOp::Lte,
            "lt" => StateOp::Lt,
            "in" => StateOp::In,
            "not_in" => StateOp::NotIn,
            _ => return None,
        })
    }

    fn holds(self, ordering: Option<std::cmp::Ordering>) -> bool {
        use std::cmp::Ordering::*;
        match (self, ordering) {
            (StateOp::Eq, o) => o == Some(Equal),
            (StateOp::Ne, o) => o != Some(Equal),
            (StateOp::Gte, Some(o)) => o != Less,
            (StateOp::Gt, Some(o)) => o == Greater,
            (StateOp::Lte, Some(o)) => o != Greater,
            (StateOp::Lt, Some(o)) => o == Less,
            _ => false,
        }
    }
}

/// How the conditions of one kind combine.
#[derive(Debug, Clone, PartialEq)]
pub enum Logic {
    /// All must hold (`*_cond_op: and`, the default).
    All,
    /// One must hold (`*_cond_op: or`).
    Any,
    /// A boolean expression over the conditions' names (`*_cond_expr`).
    Expression(CondExpr),
}

/// A `*_cond_expr` expression: `and`, `or`, `not` and parentheses over condition names.
#[derive(Debug, Clone, PartialEq)]
pub enum CondExpr {
    /// The condition at this index.
    Condition(usize),
    /// All hold.
    And(Vec<CondExpr>),
    /// One holds.
    Or(Vec<CondExpr>),
    /// Negation.
    Not(Box<CondExpr>),
}

impl CondExpr {
    fn eval(&self, f: &mut dyn FnMut(usize) -> bool) -> bool {
        match self {
            CondExpr::Condition(i) => f(*i),
            CondExpr::And(items) => items.iter().all(|e| e.eval(f)),
            CondExpr::Or(items) => items.iter().any(|e| e.eval(f)),
            CondExpr::Not(inner) => !inner.eval(f),
        }
    }
}

/// The conditions of one kind on a processing item, with their combination and negation.
#[derive(Debug, Clone, PartialEq)]
pub struct Conditions<C> {
    /// The conditions with their names (the keys of a mapping, or positions `1`, `2`, ... of a
    /// list).
    pub conditions: Vec<(String, C)>,
    /// How they combine.
    pub logic: Logic,
    /// `*_cond_not`: negate the combined result.
    pub negated: bool,
}

impl<C> Default for Conditions<C> {
    fn default() -> Self {
        Conditions {
            conditions: Vec::new(),
            logic: Logic::All,
            negated: false,
        }
    }
}

impl<C> Conditions<C> {
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.conditions.is_empty()
    }

    /// Combines `f` over the conditions, then negates if asked.
    pub(super) fn eval(&self, mut f: impl FnMut(&C) -> bool) -> bool {
        let result = match &self.logic {
            Logic::All => self.conditions.iter().all(|(_, c)| f(c)),
            Logic::Any => self.conditions.iter().any(|(_, c)| f(c)),
            Logic::Expression(e) => {
                e.eval(&mut |i| self.conditions.get(i).is_some_and(|(_, c)| f(c)))
            }
        };
        result != self.negated
    }
}

/// A condition on the rule (`rule_conditions`).
#[derive(Debug, Clone, PartialEq)]
pub enum RuleCondition {
    /// `logsource`: every part given equals the rule's (case-insensitively).
    Logsource {
        /// `category`.
        category: Option<String>,
        /// `product`.
        product: Option<String>,
        /// `service`.
        service: Option<String>,
    },
    /// `contains_detection_item`: some detection item has this field and this value.
    ContainsDetectionItem {
        /// `field` (`None`: keyword items).
        field: Option<String>,
        /// `value`.
        value: Scalar,
    },
    /// `contains_field`: some detection item has this field.
    ContainsField {
        /// `field`.
        field: Option<String>,
    },
    /// `processing_item_applied`: an item with this id applied to the rule earlier.
    ProcessingItemApplied {
        /// `processing_item_id`.
        id: String,
    },
    /// `processing_state`: the pipeline state's `key` compares to `value`.
    ProcessingState {
        /// `key`.
        key: String,
        /// `val`.
        value: Scalar,
        /// `op`.
        op: StateOp,
    },
    /// `is_sigma_rule`: always true here (pipelines see detection rules and filters).
    IsSigmaRule,
    /// `is_sigma_correlation_rule`: always false here (correlations are not rewritten).
    IsSigmaCorrelationRule,
    /// `rule_attribute`: a metadata attribute compares to `value`.
    RuleAttribute {
        /// `attribute` (`id`, `title`, `level`, `status`, `date`, `tags`, ...).
        attribute: String,
        /// `value`.
        value: Scalar,
        /// `op`.
        op: StateOp,
    },
    /// `tag`: the rule has this tag.
    Tag {
        /// `tag`.
        tag: String,
    },
}

/// A condition on a detection item (`detection_item_conditions`).
#[derive(Debug, Clone)]
pub enum DetectionItemCondition {
    /// `match_string`: string values match `pattern` at their start (`negate` flips each
    /// value's result); `cond: any|all` over the values.
    MatchString {
        /// `pattern`, anchored at the start as Python's `re.match` is.
        pattern: Regex,
        /// `negate`.
        negate: bool,
        /// `cond: all` (else `any`).
        all: bool,
    },
    /// `match_value`: a value equals `value`.
    MatchValue {
        /// `value`.
        value: Scalar,
        /// `cond: all` (else `any`).
        all: bool,
    },
    /// `contains_wildcard`: a string value has an unescaped `*` or `?`.
    ContainsWildcard {
        /// `cond: all` (else `any`).
        all: bool,
    },
    /// `is_null`: a value is `null`.
    IsNull {
        /// `cond: all` (else `any`).
        all: bool,
    },
    /// `processing_item_applied`: an item with this id changed this detection item.
    ProcessingItemApplied {
        /// `processing_item_id`.
        id: String,
    },
    /// `processing_state`.
    ProcessingState {
        /// `key`.
        key: String,
        /// `val`.
        value: Scalar,
        /// `op`.
        op: StateOp,
    },
}

impl PartialEq for DetectionItemCondition {
    fn eq(&self, other: &Self) -> bool {
        format!("{self:?}") == format!("{other:?}")
    }
}

/// A condition on a field name (`field_name_conditions`).
#[derive(Debug, Clone)]
pub enum FieldNameCondition {
    /// `include_fields`: the field is one of `fields` (mode `plain`) or matches one of them at
    /// its start (mode `re`).
    IncludeFields {
        /// `fields`.
        fields: Vec<String>,
        /// The compiled expressions in mode `re`.
        regexes: Option<Vec<Regex>>,
    },
    /// `exclude_fields`: the negation of `include_fields` (keyword items, which have no field,
    /// are not excluded).
    ExcludeFields {
        /// `fields`.
        fields: Vec<String>,
        /// The compiled expressions in mode `re`.
        regexes: Option<Vec<Regex>>,
    },
    /// `processing_item_applied`: for a detection item, an item with this id changed it; for a
    /// field name, a field mapping with this id produced it.
    ProcessingItemApplied {
        /// `processing_item_id`.
        id: String,
    },
    /// `processing_state`.
    ProcessingState {
        /// `key`.
        key: String,
        /// `val`.
        value: Scalar,
        /// `op`.
        op: StateOp,
    },
}

impl PartialEq for FieldNameCondition {
    fn eq(&self, other: &Self) -> bool {
        format!("{self:?}") == format!("{other:?}")
    }
}

fn state_holds(run: &Run<'_>, key: &str, value: &Scalar, op: StateOp) -> bool {
    match run.state.get(key) {
        Some(current) => op.holds(current.partial_cmp(value)),
        None => false,
    }
}

fn eq_opt(want: &Option<String>, have: &Option<compact_str::CompactString>) -> bool {
    match want {
        None => true,
        Some(w) => have.as_deref().is_some_and(|h| h.eq_ignore_ascii_case(w)),
    }
}

/// A date as written in Sigma (`YYYY-MM-DD`, or the older `YYYY/MM/DD`), for ordering.
fn date_key(s: &str) -> Option<(u32, u32, u32)> {
    let mut parts = s.trim().split(['-', '/']);
    let y = parts.next()?.parse().ok()?;
    let m = parts.next()?.parse().ok()?;
    let d = parts.next()?.parse().ok()?;
    parts.next().is_none().then_some((y, m, d))
}

fn status_rank(s: Status) -> u8 {
    match s {
        Status::Unsupported => 0,
        Status::Deprecated => 1,
        Status::Experimental => 2,
        Status::Test => 3,
        Status::Stable => 4,
    }
}

impl RuleCondition {
    pub(super) fn matches(&self, work: &Work<'_>, run: &Run<'_>) -> bool {
        let meta = &work.rule.meta;
        match self {
            RuleCondition::Logsource {
                category,
                product,
                service,
            } => {
                let ls = &meta.logsource;
                eq_opt(category, &ls.category)
                    && eq_opt(product, &ls.product)
                    && eq_opt(service, &ls.service)
            }
            RuleCondition::ContainsDetectionItem { field, value } => work.any_item(|item| {
                item.field.as_deref() == field.as_deref()
                    && item
                        .values
                        .iter()
                        .any(|v| super::transform::scalar_eq(item, v, value))
            }),
            RuleCondition::ContainsField { field } => {
                work.any_item(|item| item.field.is_some() && item.field == *field)
            }
            RuleCondition::ProcessingItemApplied { id } => run.rule_applied.contains(id.as_str()),
            RuleCondition::ProcessingState { key, value, op } => state_holds(run, key, value, *op),
            RuleCondition::IsSigmaRule => true,
            RuleCondition::IsSigmaCorrelationRule => false,
            RuleCondition::Tag { tag } => meta.tags.iter().any(|t| t.eq_ignore_ascii_case(tag)),
            RuleCondition::RuleAttribute {
                attribute,
                value,
                op,
            } => {
                let text = |s: Option<&str>| match s {
                    None => false,
                    Some(s) => match op {
                        StateOp::Eq => value.text() == s,
                        StateOp::Ne => value.text() != s,
                        _ => false,
                    },
                };
                let list = |items: &mut dyn Iterator<Item = &str>| {
                    let want = value.text();
                    let mut found = false;
                    for i in items {
                        found |= i == want;
                    }
                    match op {
                        StateOp::In => found,
                        StateOp::NotIn => !found,
                        StateOp::Ne => true,
                        _ => false,
                    }
                };
                match attribute.as_str() {
                    "id" => text(Some(&meta.id)),
                    "title" => text(Some(&meta.title)),
                    "name" => text(meta.name.as_deref()),
                    "description" => text(meta.description.as_deref()),
                    "author" => text(meta.author.as_deref()),
                    "license" => text(meta.license.as_deref()),
                    "taxonomy" => text(Some(meta.taxonomy.as_deref().unwrap_or("sigma"))),
                    "level" => {
                        let want = Level::parse(&value.text());
                        match (meta.level, want) {
                            (Some(have), Some(want)) => op.holds(have.partial_cmp(&want)),
                            _ => false,
                        }
                    }
                    "status" => {
                        let want = Status::parse(&value.text());
                        match (meta.status, want) {
                            (Some(have), Some(want)) => {
                                op.holds(status_rank(have).partial_cmp(&status_rank(want)))
                            }
                            _ => false,
                        }
                    }
                    "date" | "modified" => {
                        let have = if attribute == "date" {
                            meta.date.as_deref()
                        } else {
                            meta.modified.as_deref()
                        };
                        match (have.and_then(date_key), date_key(&value.text())) {
                            (Some(h), Some(w)) => op.holds(h.partial_cmp(&w)),
                            _ => false,
                        }
                    }
                    "tags" => list(&mut meta.tags.iter().map(|t| t.as_str())),
                    "references" => list(&mut meta.references.iter().map(String::as_str)),
                    "falsepositives" => list(&mut meta.falsepositives.iter().map(String::as_str)),
                    "fields" => list(&mut meta.fields.iter().map(|t| t.as_str())),
                    // Custom attributes are not kept by the loader.
                    _ => false,
                }
            }
        }
    }
}

impl DetectionItemCondition {
    pub(super) fn matches(&self, item: &WItem, run: &Run<'_>) -> bool {
        // Values as pySigma holds them (`contains` & co. applied as wildcards).
        let baked = item.baked();
        let item = baked.as_ref().unwrap_or(item);
        let over = |all: bool, f: &dyn Fn(ValueKind<'_>) -> bool| {
            let mut results = item.values.iter().map(|v| f(item.kind(v)));
            if all {
                results.all(|r| r)
            } else {
                results.any(|r| r)
            }
        };
        match self {
            DetectionItemCondition::MatchString {
                pattern,
                negate,
                all,
            } => over(*all, &|v| {
                let result = match v {
                    ValueKind::Str(raw) => pattern.is_match(&plain(raw, item.expands())),
                    _ => false,
                };
                result != *negate
            }),
            DetectionItemCondition::MatchValue { value, all } => {
                let mut results = item
                    .values
                    .iter()
                    .map(|v| super::transform::scalar_eq(item, v, value));
                if *all {
                    results.all(|r| r)
                } else {
                    results.any(|r| r)
                }
            }
            DetectionItemCondition::ContainsWildcard { all } => {
                over(*all, &|v| match v {
                    ValueKind::Str(raw) => crate::sigma::string::parse(raw, item.expands())
                        .iter()
                        .any(|t| {
                            matches!(
                                t,
                                crate::sigma::string::Token::Star
                                    | crate::sigma::string::Token::One
                            )
                        }),
                    _ => false,
                })
            }
            DetectionItemCondition::IsNull { all } => over(*all, &|v| matches!(v, ValueKind::Null)),
            DetectionItemCondition::ProcessingItemApplied { id } => item.was_processed_by(id),
            DetectionItemCondition::ProcessingState { key, value, op } => {
                state_holds(run, key, value, *op)
            }
        }
    }
}

fn field_listed(fields: &[String], regexes: &Option<Vec<Regex>>, field: &str) -> bool {
    match regexes {
        None => fields.iter().any(|f| f == field),
        Some(res) => res.iter().any(|r| r.is_match(field)),
    }
}

impl FieldNameCondition {
    /// pySigma's `match_field_name`: the condition on a bare field name (`None`: keywords).
    pub(super) fn matches_name(&self, field: Option<&str>, run: &Run<'_>) -> bool {
        match self {
            FieldNameCondition::IncludeFields { fields, regexes } => {
                field.is_some_and(|f| field_listed(fields, regexes, f))
            }
            FieldNameCondition::ExcludeFields { fields, regexes } => {
                !field.is_some_and(|f| field_listed(fields, regexes, f))
            }
            FieldNameCondition::ProcessingItemApplied { id } => field.is_some_and(|f| {
                run.field_applied
                    .get(f)
                    .is_some_and(|ids| ids.contains(id.as_str()))
            }),
            FieldNameCondition::ProcessingState { key, value, op } => {
                state_holds(run, key, value, *op)
            }
        }
    }

    /// pySigma's `match_detection_item`: the item's field, or a field it references
    /// (`fieldref`); `processing_item_applied` asks whether the item itself was changed.
    pub(super) fn matches_item(&self, item: &WItem, run: &Run<'_>) -> bool {
        match self {
            FieldNameCondition::ProcessingItemApplied { id } => item.was_processed_by(id),
            _ => {
                self.matches_name(item.field.as_deref(), run)
                    || item
                        .field_refs()
                        .any(|name| self.matches_name(Some(name), run))
            }
        }
    }
}
