//! Transformations and how a [`PipelineSet`] applies them to a rule.
//!
//! The rule's detection is first turned into a working tree in pySigma's shape: every detection
//! item has at most one field (an item with alternative fields becomes an OR of single-field
//! items) and remembers which processing items changed it, so that field-name and
//! `processing_item_applied` conditions see exactly what pySigma's would. When the pipeline is
//! done, ORs of items that differ only in their field fold back into one item with alternative
//! fields, the form the compiler evaluates fastest.

use std::collections::{HashMap, HashSet};

use compact_str::CompactString;
use indexmap::IndexMap;
use regex::Regex;
use yaml_serde::{Mapping, Value as Yaml};

use super::condition::Scalar;
use super::{PipelineSet, ProcessingItem};
use crate::event::LogSource;
use crate::sigma::ast::{
    DetectionItem, DetectionNode, Modifier, SigmaRule, SigmaValue, parse_detection,
};
use crate::sigma::compile::MAX_EXPANSION;
use crate::sigma::condition::Condition;
use crate::sigma::string::{self, Token};

/// What `convert_type` converts values to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConvertTarget {
    /// `str`.
    Str,
    /// `num`.
    Num,
}

/// A transformation (the `type` of a processing item, with its parameters).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Transformation {
    /// `field_name_mapping`: each field named in `mapping` becomes its target; several targets
    /// make an OR of the item over them. A `null` key maps keyword items to fields.
    FieldNameMapping {
        /// Source field (`None`: keywords) to targets.
        mapping: Vec<(Option<String>, Vec<String>)>,
    },
    /// `field_name_prefix_mapping`: the first source prefix a field starts with is replaced by
    /// the target prefix(es).
    FieldNamePrefixMapping {
        /// Source prefix to target prefixes.
        mapping: Vec<(String, Vec<String>)>,
    },
    /// `field_name_prefix`: `prefix` is put before every field name.
    FieldNamePrefix {
        /// `prefix`.
        prefix: String,
    },
    /// `field_name_suffix`: `suffix` is put after every field name.
    FieldNameSuffix {
        /// `suffix`.
        suffix: String,
    },
    /// `drop_detection_item`: the selected detection items are removed (their constraint
    /// disappears; a selection left empty matches everything).
    DropDetectionItem,
    /// `add_condition`: a new search identifier from `conditions` is ANDed (or, `negated`,
    /// AND NOTed) to every condition of the rule.
    AddCondition {
        /// `conditions`: a detection mapping (`field|modifiers: value(s)`).
        conditions: Mapping,
        /// `name` of the new search identifier (default: a generated `_cond_N`, which
        /// `them` skips).
        name: Option<String>,
        /// `template`: `$category`, `$product` and `$service` in string values are replaced
        /// by the rule's logsource.
        template: bool,
        /// `negated`.
        negated: bool,
    },
    /// `change_logsource`: the rule's logsource becomes exactly these parts.
    ChangeLogsource {
        /// `category`.
        category: Option<String>,
        /// `product`.
        product: Option<String>,
        /// `service`.
        service: Option<String>,
    },
    /// `replace_string`: `regex` is replaced by `replacement` in string (and number) values,
    /// on their plain form (wildcards as `*` / `?`, literal ones escaped), as pySigma does.
    ReplaceString {
        /// `regex`.
        regex: Regex,
        /// `replacement`, converted from Python's `\1` / `\g<name>` syntax to the `regex`
        /// crate's.
        replacement: String,
        /// `skip_special`: only replace inside the plain parts, leaving wildcards alone.
        skip_special: bool,
        /// `interpret_special`: with `skip_special`, wildcards in the result are wildcards.
        interpret_special: bool,
    },
    /// `map_string`: a string value equal to a key becomes the target value(s).
    MapString {
        /// Source value to target values.
        mapping: Vec<(String, Vec<String>)>,
    },
    /// `set_value`: every value of the selected items becomes `value`.
    SetValue {
        /// The value.
        value: SigmaValue,
    },
    /// `convert_type`: values become strings or numbers.
    ConvertType {
        /// `target_type`.
        target: ConvertTarget,
    },
    /// `value_placeholders`: `%name%` placeholders (values with `expand`) are replaced by the
    /// pipeline variable `name` (several values: OR).
    ValuePlaceholders {
        /// `include`: only these placeholders.
        include: Option<Vec<String>>,
        /// `exclude`: all but these.
        exclude: Option<Vec<String>>,
    },
    /// `wildcard_placeholders`: placeholders become `*`.
    WildcardPlaceholders {
        /// `include`.
        include: Option<Vec<String>>,
        /// `exclude`.
        exclude: Option<Vec<String>>,
    },
    /// `rule_failure`: the rule is rejected with `message`.
    RuleFailure {
        /// `message`.
        message: String,
    },
    /// `detection_item_failure`: the rule is rejected with `message` when a selected
    /// detection item exists.
    DetectionItemFailure {
        /// `message`.
        message: String,
    },
    /// `strict_field_mapping_failure`: the rule is rejected when one of its fields was not
    /// produced by a field mapping.
    StrictFieldMappingFailure,
    /// `set_state`: sets a pipeline state variable (read by `processing_state` conditions).
    SetState {
        /// `key`.
        key: String,
        /// `val`.
        value: Scalar,
    },
    /// `add_field`: names added to the rule's `fields`.
    AddField {
        /// `field`.
        fields: Vec<String>,
    },
    /// `remove_field`: names removed from the rule's `fields`.
    RemoveField {
        /// `field`.
        fields: Vec<String>,
    },
    /// `set_field`: the rule's `fields` replaced.
    SetField {
        /// `fields`.
        fields: Vec<String>,
    },
    /// `set_custom_attribute`: accepted; siem keeps no custom attributes, so it has no effect.
    SetCustomAttribute {
        /// `attribute`.
        attribute: String,
        /// `value`.
        value: Scalar,
    },
}

impl Transformation {
    /// The pySigma `type` name.
    pub fn type_name(&self) -> &'static str {
        match self {
            Transformation::FieldNameMapping { .. } => "field_name_mapping",
            Transformation::FieldNamePrefixMapping { .. } => "field_name_prefix_mapping",
            Transformation::FieldNamePrefix { .. } => "field_name_prefix",
            Transformation::FieldNameSuffix { .. } => "field_name_suffix",
            Transformation::DropDetectionItem => "drop_detection_item",
            Transformation::AddCondition { .. } => "add_condition",
            Transformation::ChangeLogsource { .. } => "change_logsource",
            Transformation::ReplaceString { .. } => "replace_string",
            Transformation::MapString { .. } => "map_string",
            Transformation::SetValue { .. } => "set_value",
            Transformation::ConvertType { .. } => "convert_type",
            Transformation::ValuePlaceholders { .. } => "value_placeholders",
            Transformation::WildcardPlaceholders { .. } => "wildcard_placeholders",
            Transformation::RuleFailure { .. } => "rule_failure",
            Transformation::DetectionItemFailure { .. } => "detection_item_failure",
            Transformation::StrictFieldMappingFailure => "strict_field_mapping_failure",
            Transformation::SetState { .. } => "set_state",
            Transformation::AddField { .. } => "add_field",
            Transformation::RemoveField { .. } => "remove_field",
            Transformation::SetField { .. } => "set_field",
            Transformation::SetCustomAttribute { .. } => "set_custom_attribute",
        }
    }

    /// For the field-name transformations: what `field` maps to, or `None` when this
    /// transformation leaves it alone.
    fn map_name(&self, field: Option<&str>) -> Option<Vec<String>> {
        match self {
            Transformation::FieldNameMapping { mapping } => mapping
                .iter()
                .find(|(k, _)| k.as_deref() == field)
                .map(|(_, v)| v.clone()),
            Transformation::FieldNamePrefixMapping { mapping } => {
                let field = field?;
                mapping.iter().find_map(|(src, dest)| {
                    field
                        .strip_prefix(src.as_str())
                        .map(|rest| dest.iter().map(|d| format!("{d}{rest}")).collect())
                })
            }
            Transformation::FieldNamePrefix { prefix } => {
                field.map(|f| vec![format!("{prefix}{f}")])
            }
            Transformation::FieldNameSuffix { suffix } => {
                field.map(|f| vec![format!("{f}{suffix}")])
            }
            _ => None,
        }
    }

    fn is_field_mapping(&self) -> bool {
        matches!(
            self,
            Transformation::FieldNameMapping { .. }
                | Transformation::FieldNamePrefixMapping { .. }
                | Transformation::FieldNamePrefix { .. }
                | Transformation::FieldNameSuffix { .. }
        )
    }
}

/// A detection item of the working tree: at most one field, plus the ids of the processing
/// items that changed it.
#[derive(Debug, Clone)]
pub(crate) struct WItem {
    pub field: Option<String>,
    pub modifiers: Vec<Modifier>,
    pub values: Vec<SigmaValue>,
    pub applied: Vec<String>,
}

/// What kind of value pySigma would see for a value of an item (its modifiers decide: `re`
/// makes regular expressions, `cidr` networks, and so on).
pub(crate) enum ValueKind<'a> {
    /// A Sigma string (raw text, wildcards and escapes as written).
    Str(&'a str),
    /// A number.
    Num,
    /// A boolean.
    Bool,
    /// `null`.
    Null,
    /// A regular expression, network, field reference, existence test or expansion.
    Other,
}

impl WItem {
    pub fn expands(&self) -> bool {
        self.modifiers.contains(&Modifier::Expand)
    }

    fn typed(&self) -> bool {
        self.modifiers.iter().any(|m| {
            matches!(
                m,
                Modifier::Re
                    | Modifier::Cidr
                    | Modifier::FieldRef
                    | Modifier::Exists
                    | Modifier::Lt
                    | Modifier::Lte
                    | Modifier::Gt
                    | Modifier::Gte
                    | Modifier::Minute
                    | Modifier::Hour
                    | Modifier::Day
                    | Modifier::Week
                    | Modifier::Month
                    | Modifier::Year
                    | Modifier::Windash
                    | Modifier::Base64Offset
            )
        })
    }

    pub fn kind<'a>(&self, value: &'a SigmaValue) -> ValueKind<'a> {
        if self.typed() {
            return ValueKind::Other;
        }
        match value {
            SigmaValue::String(s) => ValueKind::Str(s),
            SigmaValue::Int(_) | SigmaValue::Float(_) => ValueKind::Num,
            SigmaValue::Bool(_) => ValueKind::Bool,
            SigmaValue::Null => ValueKind::Null,
        }
    }

    /// The item as pySigma holds it after parsing: `contains`, `startswith` and `endswith`
    /// already turned into wildcards around string values (pySigma applies modifiers when it
    /// reads a rule; siem keeps them for the compiler). Value conditions and value
    /// transformations look at this form, so a pattern like `^\*\\` sees the `*` of an
    /// `endswith`. `None` when there is nothing to bake or the values are not plain strings.
    pub fn baked(&self) -> Option<WItem> {
        let wraps = |m: &Modifier| {
            matches!(
                m,
                Modifier::Contains | Modifier::StartsWith | Modifier::EndsWith
            )
        };
        if !self.modifiers.iter().any(wraps)
            || self.typed()
            || self.modifiers.iter().any(|m| {
                matches!(
                    m,
                    Modifier::Base64 | Modifier::Utf16le | Modifier::Utf16be | Modifier::Utf16
                )
            })
            || !self
                .values
                .iter()
                .all(|v| matches!(v, SigmaValue::String(_)))
        {
            return None;
        }
        let before = self
            .modifiers
            .iter()
            .any(|m| matches!(m, Modifier::Contains | Modifier::EndsWith));
        let after = self
            .modifiers
            .iter()
            .any(|m| matches!(m, Modifier::Contains | Modifier::StartsWith));
        let expand = self.expands();
        let values = self
            .values
            .iter()
            .map(|v| match v {
                SigmaValue::String(s) => {
                    let tokens = string::parse(s, expand);
                    let mut out = String::with_capacity(s.len() + 2);
                    if before && tokens.first() != Some(&Token::Star) {
                        out.push('*');
                    }
                    out.push_str(s);
                    if after && tokens.last() != Some(&Token::Star) {
                        out.push('*');
                    }
                    SigmaValue::String(out)
                }
                other => other.clone(),
            })
            .collect();
        Some(WItem {
            field: self.field.clone(),
            modifiers: self
                .modifiers
                .iter()
                .filter(|m| !wraps(m))
                .copied()
                .collect(),
            values,
            applied: self.applied.clone(),
        })
    }

    pub fn was_processed_by(&self, id: &str) -> bool {
        self.applied.iter().any(|a| a == id)
    }

    /// The fields a `fieldref` item refers to.
    pub fn field_refs(&self) -> impl Iterator<Item = &str> {
        let refs = self.modifiers.contains(&Modifier::FieldRef);
        self.values.iter().filter_map(move |v| match v {
            SigmaValue::String(s) if refs => Some(s.as_str()),
            _ => None,
        })
    }

    fn into_item(self) -> DetectionItem {
        DetectionItem {
            fields: self
                .field
                .map(|f| vec![CompactString::from(f)])
                .unwrap_or_default(),
            modifiers: self.modifiers,
            values: self.values,
        }
    }
}

/// Whether a value of `item` equals a scalar from a pipeline, comparing like pySigma does
/// (strings with strings, numbers with numbers).
pub(crate) fn scalar_eq(item: &WItem, value: &SigmaValue, scalar: &Scalar) -> bool {
    match (item.kind(value), value, scalar) {
        (ValueKind::Str(s), _, Scalar::Str(w)) => s == w,
        (ValueKind::Num, SigmaValue::Int(i), Scalar::Int(w)) => i == w,
        (ValueKind::Num, SigmaValue::Int(i), Scalar::Float(w)) => (*i as f64) == *w,
        (ValueKind::Num, SigmaValue::Float(f), Scalar::Int(w)) => *f == (*w as f64),
        (ValueKind::Num, SigmaValue::Float(f), Scalar::Float(w)) => f == w,
        (ValueKind::Bool, SigmaValue::Bool(b), Scalar::Bool(w)) => b == w,
        (ValueKind::Null, _, Scalar::Null) => true,
        _ => false,
    }
}

#[derive(Debug, Clone)]
enum WNode {
    All(Vec<WNode>),
    Any(Vec<WNode>),
    Item(WItem),
    Dropped,
}

impl WNode {
    fn from_node(node: DetectionNode) -> WNode {
        match node {
            DetectionNode::AllOf(c) => WNode::All(c.into_iter().map(WNode::from_node).collect()),
            DetectionNode::AnyOf(c) => WNode::Any(c.into_iter().map(WNode::from_node).collect()),
            DetectionNode::Item(item) => {
                let single = |field: Option<String>| {
                    WNode::Item(WItem {
                        field,
                        modifiers: item.modifiers.clone(),
                        values: item.values.clone(),
                        applied: Vec::new(),
                    })
                };
                match item.fields.len() {
                    0 => single(None),
                    1 => single(Some(item.fields[0].to_string())),
                    _ => WNode::Any(
                        item.fields
                            .iter()
                            .map(|f| single(Some(f.to_string())))
                            .collect(),
                    ),
                }
            }
        }
    }

    fn into_node(self) -> Option<DetectionNode> {
        match self {
            WNode::Dropped => None,
            WNode::Item(item) => Some(DetectionNode::Item(item.into_item())),
            WNode::All(c) => Some(DetectionNode::AllOf(
                c.into_iter().filter_map(WNode::into_node).collect(),
            )),
            WNode::Any(c) => {
                // Alternatives that differ only in their field are one item with several
                // fields: the same OR, evaluated in one pass.
                let foldable = c.len() > 1
                    && c.iter()
                        .all(|n| matches!(n, WNode::Item(i) if i.field.is_some()))
                    && c.windows(2).all(|w| match (&w[0], &w[1]) {
                        (WNode::Item(a), WNode::Item(b)) => {
                            a.modifiers == b.modifiers && a.values == b.values
                        }
                        _ => false,
                    });
                if foldable {
                    let mut fields: Vec<CompactString> = Vec::new();
                    let mut first = None;
                    for n in c {
                        if let WNode::Item(i) = n {
                            if let Some(f) = &i.field
                                && !fields.iter().any(|x| x == f)
                            {
                                fields.push(f.as_str().into());
                            }
                            first.get_or_insert(i);
                        }
                    }
                    let first = first?;
                    return Some(DetectionNode::Item(DetectionItem {
                        fields,
                        modifiers: first.modifiers,
                        values: first.values,
                    }));
                }
                Some(DetectionNode::AnyOf(
                    c.into_iter().filter_map(WNode::into_node).collect(),
                ))
            }
        }
    }

    fn mark(&mut self, id: &str) {
        match self {
            WNode::All(c) | WNode::Any(c) => c.iter_mut().for_each(|n| n.mark(id)),
            WNode::Item(i) => {
                if !i.was_processed_by(id) {
                    i.applied.push(id.to_string());
                }
            }
            WNode::Dropped => {}
        }
    }

    fn any_item(&self, f: &mut dyn FnMut(&WItem) -> bool) -> bool {
        match self {
            WNode::All(c) | WNode::Any(c) => c.iter().any(|n| n.any_item(f)),
            WNode::Item(i) => f(i),
            WNode::Dropped => false,
        }
    }

    fn for_each_item(&self, f: &mut dyn FnMut(&WItem)) {
        match self {
            WNode::All(c) | WNode::Any(c) => c.iter().for_each(|n| n.for_each_item(f)),
            WNode::Item(i) => f(i),
            WNode::Dropped => {}
        }
    }
}

type ItemFn<'f> = dyn FnMut(&mut WItem) -> Result<Option<WNode>, String> + 'f;

/// Calls `f` on every detection item; a returned node replaces the item and is marked as
/// changed by `id`.
fn visit(node: &mut WNode, id: Option<&str>, f: &mut ItemFn<'_>) -> Result<(), String> {
    match node {
        WNode::All(c) | WNode::Any(c) => {
            for n in c.iter_mut() {
                visit(n, id, f)?;
            }
            c.retain(|n| !matches!(n, WNode::Dropped));
        }
        WNode::Item(item) => {
            if let Some(mut replacement) = f(item)? {
                if let Some(id) = id {
                    replacement.mark(id);
                }
                *node = replacement;
            }
        }
        WNode::Dropped => {}
    }
    Ok(())
}

/// A rule being processed.
pub(crate) struct Work<'r> {
    pub rule: &'r mut SigmaRule,
    ids: IndexMap<String, WNode>,
}

impl Work<'_> {
    pub fn any_item(&self, mut f: impl FnMut(&WItem) -> bool) -> bool {
        self.ids.values().any(|n| n.any_item(&mut f))
    }

    fn each_item(&mut self, id: Option<&str>, f: &mut ItemFn<'_>) -> Result<(), String> {
        for node in self.ids.values_mut() {
            visit(node, id, f)?;
            if matches!(node, WNode::Dropped) {
                *node = WNode::All(Vec::new());
            }
        }
        Ok(())
    }

    fn finish(self) {
        let Work { rule, ids } = self;
        rule.detection.identifiers = ids
            .into_iter()
            .map(|(k, n)| (k, n.into_node().unwrap_or(DetectionNode::AllOf(Vec::new()))))
            .collect();
    }
}

/// Per-rule pipeline state: what applied, which field names mappings produced, `set_state`
/// values.
pub(crate) struct Run<'p> {
    pub rule_applied: HashSet<&'p str>,
    pub field_applied: HashMap<String, HashSet<String>>,
    pub state: HashMap<String, Scalar>,
    mapped: HashSet<String>,
    vars: &'p IndexMap<String, Vec<String>>,
}

impl<'p> Run<'p> {
    fn new(vars: &'p IndexMap<String, Vec<String>>) -> Self {
        Run {
            rule_applied: HashSet::new(),
            field_applied: HashMap::new(),
            state: HashMap::new(),
            mapped: HashSet::new(),
            vars,
        }
    }

    /// pySigma's `track_field_processing_items`.
    fn track(&mut self, src: &str, dest: &[String], id: Option<&str>) {
        if dest.len() == 1 && dest[0] == src {
            return;
        }
        let mut ids = self.field_applied.remove(src).unwrap_or_default();
        if let Some(id) = id {
            ids.insert(id.to_string());
        }
        for d in dest {
            self.field_applied.insert(d.clone(), ids.clone());
        }
    }
}

impl ProcessingItem {
    fn matches_item(&self, item: &WItem, run: &Run<'_>) -> bool {
        self.detection_item_conditions
            .eval(|c| c.matches(item, run))
            && self
                .field_name_conditions
                .eval(|c| c.matches_item(item, run))
    }

    fn matches_field_name(&self, field: Option<&str>, run: &Run<'_>) -> bool {
        self.field_name_conditions
            .eval(|c| c.matches_name(field, run))
    }

    /// pySigma's `_apply_field_name`: the mapping of a field of the `fields` list or of a
    /// field reference, tracked.
    fn tracked(&self, field: &str, run: &mut Run<'_>) -> Vec<String> {
        match self.transformation.map_name(Some(field)) {
            Some(result) if self.matches_field_name(Some(field), run) => {
                run.track(field, &result, self.id.as_deref());
                run.mapped.insert(field.to_string());
                run.mapped.extend(result.iter().cloned());
                result
            }
            _ => vec![field.to_string()],
        }
    }
}

/// Applies a pipeline set to one rule.
pub(super) fn apply(set: &PipelineSet, rule: &mut SigmaRule) -> Result<(), String> {
    let ids = std::mem::take(&mut rule.detection.identifiers)
        .into_iter()
        .map(|(k, n)| (k, WNode::from_node(n)))
        .collect();
    let mut work = Work { rule, ids };
    let mut run = Run::new(&set.vars);
    for (pipeline, index, item) in set.items() {
        if !item.rule_conditions.is_empty()
            && !item.rule_conditions.eval(|c| c.matches(&work, &run))
        {
            continue;
        }
        if let Some(id) = &item.id {
            run.rule_applied.insert(id);
        }
        apply_item(item, &mut work, &mut run).map_err(|message| {
            let label = match &item.id {
                Some(id) => format!("`{id}`"),
                None => format!("{}", index + 1),
            };
            let name = if pipeline.name.is_empty() {
                String::new()
            } else {
                format!(" `{}`", pipeline.name)
            };
            format!(
                "pipeline{name}, transformation {label} ({}): {message}",
                item.transformation.type_name()
            )
        })?;
    }
    work.finish();
    Ok(())
}

fn apply_item(pi: &ProcessingItem, work: &mut Work<'_>, run: &mut Run<'_>) -> Result<(), String> {
    let id = pi.id.as_deref();
    let t = &pi.transformation;
    match t {
        Transformation::FieldNameMapping { .. }
        | Transformation::FieldNamePrefixMapping { .. }
        | Transformation::FieldNamePrefix { .. }
        | Transformation::FieldNameSuffix { .. } => {
            let fields = std::mem::take(&mut work.rule.meta.fields);
            work.rule.meta.fields = fields
                .iter()
                .flat_map(|f| pi.tracked(f, run))
                .map(CompactString::from)
                .collect();
            work.each_item(id, &mut |item| map_item(pi, item, run))
        }
        Transformation::DropDetectionItem => work.each_item(id, &mut |item| {
            Ok(pi.matches_item(item, run).then_some(WNode::Dropped))
        }),
        Transformation::DetectionItemFailure { message } => work.each_item(id, &mut |item| {
            if pi.matches_item(item, run) {
                Err(message.clone())
            } else {
                Ok(None)
            }
        }),
        Transformation::ReplaceString { .. }
        | Transformation::MapString { .. }
        | Transformation::SetValue { .. }
        | Transformation::ConvertType { .. } => work.each_item(id, &mut |item| {
            if !pi.matches_item(item, run) {
                return Ok(None);
            }
            // Transform the values in pySigma's form (modifier wildcards applied).
            let view = item.baked();
            let source = view.as_ref().unwrap_or(item);
            let mut modified = false;
            let mut values = Vec::with_capacity(source.values.len());
            for v in &source.values {
                match transform_value(t, source, v)? {
                    Some(new) => {
                        values.extend(new);
                        modified = true;
                    }
                    None => values.push(v.clone()),
                }
            }
            if !modified {
                return Ok(None);
            }
            if let Some(view) = view {
                *item = view;
            }
            item.values = values;
            Ok(Some(WNode::Item(item.clone())))
        }),
        Transformation::ValuePlaceholders { include, exclude }
        | Transformation::WildcardPlaceholders { include, exclude } => {
            let wildcard = matches!(t, Transformation::WildcardPlaceholders { .. });
            let vars = run.vars;
            work.each_item(id, &mut |item| {
                if !pi.matches_item(item, run) {
                    return Ok(None);
                }
                let handled = |name: &str| {
                    include.as_ref().is_none_or(|i| i.iter().any(|n| n == name))
                        && exclude
                            .as_ref()
                            .is_none_or(|e| !e.iter().any(|n| n == name))
                };
                let replace = |name: &str| -> Result<Vec<String>, String> {
                    if wildcard {
                        return Ok(vec!["*".to_string()]);
                    }
                    vars.get(name).cloned().ok_or_else(|| {
                        format!("placeholder replacement variable `{name}` does not exist")
                    })
                };
                fill_placeholders(item, &handled, &replace)
            })
        }
        Transformation::AddCondition {
            conditions,
            name,
            template,
            negated,
        } => add_condition(work, id, conditions, name.as_deref(), *template, *negated),
        Transformation::ChangeLogsource {
            category,
            product,
            service,
        } => {
            let meta = &mut work.rule.meta;
            meta.logsource =
                LogSource::new(product.as_deref(), category.as_deref(), service.as_deref());
            meta.logsource_custom.clear();
            meta.logsource_definition = None;
            Ok(())
        }
        Transformation::RuleFailure { message } => Err(message.clone()),
        Transformation::StrictFieldMappingFailure => {
            let mut unmapped: Vec<String> = Vec::new();
            for node in work.ids.values() {
                node.for_each_item(&mut |item| {
                    if let Some(f) = &item.field
                        && !run.mapped.contains(f)
                        && !unmapped.contains(f)
                    {
                        unmapped.push(f.clone());
                    }
                });
            }
            if unmapped.is_empty() {
                Ok(())
            } else {
                Err(format!(
                    "the following fields are not mapped: {}",
                    unmapped.join(", ")
                ))
            }
        }
        Transformation::SetState { key, value } => {
            run.state.insert(key.clone(), value.clone());
            Ok(())
        }
        Transformation::AddField { fields } => {
            work.rule
                .meta
                .fields
                .extend(fields.iter().map(|f| CompactString::from(f.as_str())));
            Ok(())
        }
        Transformation::RemoveField { fields } => {
            work.rule
                .meta
                .fields
                .retain(|f| !fields.iter().any(|r| r == f));
            Ok(())
        }
        Transformation::SetField { fields } => {
            work.rule.meta.fields = fields
                .iter()
                .map(|f| CompactString::from(f.as_str()))
                .collect();
            Ok(())
        }
        Transformation::SetCustomAttribute { .. } => Ok(()),
    }
}

/// pySigma's `FieldMappingTransformationBase.apply_detection_item`.
fn map_item(
    pi: &ProcessingItem,
    item: &mut WItem,
    run: &mut Run<'_>,
) -> Result<Option<WNode>, String> {
    if !pi.matches_item(item, run) {
        return Ok(None);
    }
    let mut changed = false;
    if item.modifiers.contains(&Modifier::FieldRef) {
        let mut values = Vec::with_capacity(item.values.len());
        for v in std::mem::take(&mut item.values) {
            match v {
                SigmaValue::String(name) if pi.matches_field_name(Some(&name), run) => {
                    let mapped = pi.tracked(&name, run);
                    changed |= mapped.len() != 1 || mapped[0] != name;
                    values.extend(mapped.into_iter().map(SigmaValue::String));
                }
                other => values.push(other),
            }
        }
        item.values = values;
    }
    let Some(mapping) = pi.transformation.map_name(item.field.as_deref()) else {
        return Ok(changed.then(|| WNode::Item(item.clone())));
    };
    if !pi.matches_field_name(item.field.as_deref(), run) {
        return Ok(changed.then(|| WNode::Item(item.clone())));
    }
    if let Some(f) = &item.field {
        run.mapped.insert(f.clone());
    }
    run.mapped.extend(mapping.iter().cloned());
    if item.field.is_none() {
        let expand = item.expands();
        // A keyword searched everywhere keeps its substring meaning on a field.
        for v in &mut item.values {
            if let SigmaValue::String(s) = v {
                let tokens = string::parse(s, expand);
                if tokens.first() != Some(&Token::Star) {
                    s.insert(0, '*');
                }
                if tokens.last() != Some(&Token::Star) {
                    s.push('*');
                }
            }
        }
    }
    Ok(Some(match mapping.as_slice() {
        [] => WNode::Dropped,
        [one] => {
            item.field = Some(one.clone());
            WNode::Item(item.clone())
        }
        many => WNode::Any(
            many.iter()
                .map(|f| {
                    WNode::Item(WItem {
                        field: Some(f.clone()),
                        ..item.clone()
                    })
                })
                .collect(),
        ),
    }))
}

/// A Sigma string's plain form as pySigma's `SigmaString.to_plain()` writes it: wildcards as
/// `*` and `?`, literal `*` and `?` escaped, backslashes as they are, placeholders as `%name%`.
pub(crate) fn plain(raw: &str, expand: bool) -> String {
    let mut out = String::with_capacity(raw.len());
    for token in string::parse(raw, expand) {
        match token {
            Token::Lit(bytes) => {
                for c in String::from_utf8_lossy(&bytes).chars() {
                    if c == '*' || c == '?' {
                        out.push('\\');
                    }
                    out.push(c);
                }
            }
            Token::Star => out.push('*'),
            Token::One => out.push('?'),
            Token::Dash => out.push('-'),
            Token::Placeholder(name) => {
                out.push('%');
                out.push_str(&name);
                out.push('%');
            }
        }
    }
    out
}

/// Back from plain form to Sigma syntax the way pySigma re-reads a replaced string: a
/// backslash not before `*` or `?` is doubled, so that it stays a literal backslash.
fn from_plain(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 4);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '\\' && !matches!(chars.peek(), Some('*' | '?')) {
            out.push('\\');
        }
    }
    out
}

/// Literal text in Sigma syntax: `\`, `*`, `?` (and `%` under `expand`) escaped.
fn escape_literal(text: &str, percent: bool) -> String {
    let mut out = String::with_capacity(text.len() + 4);
    for c in text.chars() {
        if matches!(c, '\\' | '*' | '?') || (percent && c == '%') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn transform_value(
    t: &Transformation,
    item: &WItem,
    value: &SigmaValue,
) -> Result<Option<Vec<SigmaValue>>, String> {
    let kind = item.kind(value);
    Ok(match t {
        Transformation::ReplaceString {
            regex,
            replacement,
            skip_special,
            interpret_special,
        } => {
            let text = match (&kind, value) {
                (ValueKind::Str(raw), _) => {
                    if *skip_special {
                        let mut out = String::new();
                        for token in string::parse(raw, item.expands()) {
                            match token {
                                Token::Lit(bytes) => {
                                    let lit = String::from_utf8_lossy(&bytes);
                                    let replaced = regex.replace_all(&lit, replacement.as_str());
                                    if *interpret_special {
                                        out.push_str(&from_plain(&replaced));
                                    } else {
                                        out.push_str(&escape_literal(&replaced, item.expands()));
                                    }
                                }
                                Token::Star => out.push('*'),
                                Token::One => out.push('?'),
                                Token::Dash => out.push('-'),
                                Token::Placeholder(name) => {
                                    out.push('%');
                                    out.push_str(&name);
                                    out.push('%');
                                }
                            }
                        }
                        out
                    } else {
                        let replaced = regex
                            .replace_all(&plain(raw, item.expands()), replacement.as_str())
                            .into_owned();
                        from_plain(&replaced)
                    }
                }
                (ValueKind::Num, SigmaValue::Int(i)) => {
                    from_plain(&regex.replace_all(&i.to_string(), replacement.as_str()))
                }
                (ValueKind::Num, SigmaValue::Float(f)) => {
                    from_plain(&regex.replace_all(&f.to_string(), replacement.as_str()))
                }
                _ => return Ok(None),
            };
            Some(vec![SigmaValue::String(text)])
        }
        Transformation::MapString { mapping } => match kind {
            ValueKind::Str(raw) => {
                let key = plain(raw, item.expands());
                mapping
                    .iter()
                    .find(|(k, _)| *k == key)
                    .map(|(_, targets)| targets.iter().cloned().map(SigmaValue::String).collect())
            }
            _ => None,
        },
        Transformation::SetValue { value } => Some(vec![value.clone()]),
        Transformation::ConvertType { target } => match (target, value) {
            (ConvertTarget::Str, SigmaValue::Int(i)) => {
                Some(vec![SigmaValue::String(i.to_string())])
            }
            (ConvertTarget::Str, SigmaValue::Float(f)) => {
                Some(vec![SigmaValue::String(f.to_string())])
            }
            (ConvertTarget::Str, SigmaValue::Bool(b)) => {
                Some(vec![SigmaValue::String(b.to_string())])
            }
            (ConvertTarget::Num, SigmaValue::String(s)) => {
                let s = s.trim();
                if let Ok(i) = s.parse::<i64>() {
                    Some(vec![SigmaValue::Int(i)])
                } else if let Ok(f) = s.parse::<f64>() {
                    Some(vec![SigmaValue::Float(f)])
                } else {
                    return Err(format!("value `{s}` cannot be converted to a number"));
                }
            }
            _ => None,
        },
        _ => None,
    })
}

/// Replaces the handled `%name%` placeholders of an `expand` item. When none is left, the
/// `expand` modifier goes (the values are plain Sigma strings again).
fn fill_placeholders(
    item: &mut WItem,
    handled: &dyn Fn(&str) -> bool,
    replace: &dyn Fn(&str) -> Result<Vec<String>, String>,
) -> Result<Option<WNode>, String> {
    if !item.expands() {
        return Ok(None);
    }
    let parsed: Vec<Option<Vec<Token>>> = item
        .values
        .iter()
        .map(|v| match v {
            SigmaValue::String(s) => Some(string::parse(s, true)),
            _ => None,
        })
        .collect();
    let placeholder = |t: &Token| matches!(t, Token::Placeholder(_));
    let any_handled = parsed.iter().flatten().flatten().any(|t| match t {
        Token::Placeholder(n) => handled(n),
        _ => false,
    });
    if !any_handled {
        return Ok(None);
    }
    let remaining = parsed.iter().flatten().flatten().any(|t| match t {
        Token::Placeholder(n) => !handled(n),
        _ => false,
    });
    let mut values = Vec::new();
    for (value, tokens) in item.values.iter().zip(parsed) {
        let Some(tokens) = tokens.filter(|ts| ts.iter().any(placeholder)) else {
            values.push(match value {
                // A value without placeholders keeps its meaning once `expand` goes, except
                // for `\%`, which is then written `%`.
                SigmaValue::String(s) if !remaining => SigmaValue::String(s.replace("\\%", "%")),
                other => other.clone(),
            });
            continue;
        };
        let mut texts = vec![String::new()];
        for token in tokens {
            let pieces: Vec<String> = match token {
                Token::Lit(bytes) => {
                    vec![escape_literal(&String::from_utf8_lossy(&bytes), remaining)]
                }
                Token::Star => vec!["*".into()],
                Token::One => vec!["?".into()],
                Token::Dash => vec!["-".into()],
                Token::Placeholder(name) if handled(&name) => replace(&name)?
                    .into_iter()
                    .map(|v| if remaining { v.replace('%', "\\%") } else { v })
                    .collect(),
                Token::Placeholder(name) => vec![format!("%{name}%")],
            };
            if texts.len() * pieces.len().max(1) > MAX_EXPANSION {
                return Err(format!(
                    "placeholders expand into more than {MAX_EXPANSION} values"
                ));
            }
            texts = texts
                .iter()
                .flat_map(|t| pieces.iter().map(move |p| format!("{t}{p}")))
                .collect();
        }
        values.extend(texts.into_iter().map(SigmaValue::String));
    }
    item.values = values;
    if !remaining {
        item.modifiers.retain(|m| *m != Modifier::Expand);
    }
    Ok(Some(WNode::Item(item.clone())))
}

/// Python's `string.Template.safe_substitute` with `category`, `product` and `service`.
fn substitute(text: &str, logsource: &LogSource) -> String {
    let part = |name: &str| -> Option<String> {
        let value = match name {
            "category" => &logsource.category,
            "product" => &logsource.product,
            "service" => &logsource.service,
            _ => return None,
        };
        // pySigma substitutes Python's `None` for an unset part.
        Some(value.as_deref().unwrap_or("None").to_string())
    };
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(r) = after.strip_prefix('$') {
            out.push('$');
            rest = r;
            continue;
        }
        let (name, consumed) = if let Some(braced) = after.strip_prefix('{') {
            match braced.find('}') {
                Some(end) => (&braced[..end], end + 2),
                None => ("", 0),
            }
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], end)
        };
        match part(name) {
            Some(value) if consumed > 0 => {
                out.push_str(&value);
                rest = &after[consumed..];
            }
            _ => {
                out.push('$');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn template(value: &Yaml, logsource: &LogSource) -> Yaml {
    match value {
        Yaml::String(s) => Yaml::String(substitute(s, logsource)),
        Yaml::Sequence(items) => {
            Yaml::Sequence(items.iter().map(|i| template(i, logsource)).collect())
        }
        other => other.clone(),
    }
}

/// Parses an `add_condition` mapping into a detection node (also used to validate it when the
/// pipeline is read).
pub(super) fn condition_node(conditions: &Mapping) -> Result<DetectionNode, String> {
    let mut map = Mapping::new();
    map.insert(Yaml::String("_c".into()), Yaml::Mapping(conditions.clone()));
    map.insert(Yaml::String("condition".into()), Yaml::String("_c".into()));
    let mut detection = parse_detection(map, "detection").map_err(|e| e.to_string())?;
    detection
        .identifiers
        .shift_remove("_c")
        .ok_or_else(|| "empty conditions".to_string())
}

fn add_condition(
    work: &mut Work<'_>,
    id: Option<&str>,
    conditions: &Mapping,
    name: Option<&str>,
    template_on: bool,
    negated: bool,
) -> Result<(), String> {
    let conditions = if template_on {
        let ls = work.rule.meta.logsource.clone();
        conditions
            .iter()
            .map(|(k, v)| (k.clone(), template(v, &ls)))
            .collect()
    } else {
        conditions.clone()
    };
    let mut node = WNode::from_node(condition_node(&conditions)?);
    if let Some(id) = id {
        node.mark(id);
    }
    let name = match name {
        Some(n) => n.to_string(),
        None => (1..)
            .map(|n| format!("_cond_{n}"))
            .find(|n| !work.ids.contains_key(n))
            .unwrap_or_default(),
    };
    work.ids.insert(name.clone(), node);
    let reference = Condition::Identifier(name);
    let guard = if negated {
        Condition::Not(Box::new(reference))
    } else {
        reference
    };
    for condition in &mut work.rule.detection.conditions {
        let old = std::mem::replace(condition, Condition::And(Vec::new()));
        *condition = Condition::And(vec![guard.clone(), old]);
    }
    Ok(())
}

/// See [`PipelineSet::map_field_name`].
pub(super) fn map_field_name(set: &PipelineSet, field: &str, logsource: &LogSource) -> Vec<String> {
    use super::condition::RuleCondition;
    let mut run = Run::new(&set.vars);
    let mut names = vec![field.to_string()];
    for (_, _, pi) in set.items() {
        if !pi.transformation.is_field_mapping() || !pi.detection_item_conditions.is_empty() {
            continue;
        }
        let only_logsource = pi
            .rule_conditions
            .conditions
            .iter()
            .all(|(_, c)| matches!(c, RuleCondition::Logsource { .. }));
        if !only_logsource {
            continue;
        }
        let applies = pi.rule_conditions.is_empty()
            || pi.rule_conditions.eval(|c| match c {
                RuleCondition::Logsource {
                    category,
                    product,
                    service,
                } => {
                    let eq = |w: &Option<String>, h: &Option<CompactString>| {
                        w.as_ref()
                            .is_none_or(|w| h.as_deref().is_some_and(|h| h.eq_ignore_ascii_case(w)))
                    };
                    eq(category, &logsource.category)
                        && eq(product, &logsource.product)
                        && eq(service, &logsource.service)
                }
                _ => false,
            });
        if !applies {
            continue;
        }
        names = names.iter().flat_map(|n| pi.tracked(n, &mut run)).collect();
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_form_round_trips_like_pysigma() {
        assert_eq!(plain(r"C:\Windows\*", false), r"C:\Windows\*");
        assert_eq!(plain(r"a\*b?", false), r"a\*b?");
        assert_eq!(from_plain(r"C:\Windows\*"), r"C:\\Windows\*");
        assert_eq!(from_plain(r"a\b"), r"a\\b");
    }

    #[test]
    fn template_substitutes_like_python() {
        let ls = LogSource::new(Some("windows"), None, Some("security"));
        assert_eq!(substitute("$product/$service", &ls), "windows/security");
        assert_eq!(
            substitute("${product}x $$ $other $category", &ls),
            "windowsx $ $other None"
        );
        assert_eq!(substitute("trailing $", &ls), "trailing $");
    }
}
