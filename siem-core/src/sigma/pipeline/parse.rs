//! Reading pipeline YAML into [`Pipeline`]s, with an error naming the key, condition or
//! transformation at fault.

use indexmap::IndexMap;
use regex::Regex;
use yaml_serde::{Mapping, Value as Yaml};

use super::condition::{
    CondExpr, Conditions, DetectionItemCondition, FieldNameCondition, Logic, RuleCondition, Scalar,
    StateOp,
};
use super::transform::{ConvertTarget, Transformation, condition_node};
use super::{Pipeline, PipelineError, ProcessingItem};
use crate::sigma::ast::SigmaValue;
use crate::sigma::compile::REGEX_SIZE_LIMIT;
use crate::sigma::yaml::{kind_of, load_documents, scalar_text};

const TOP_LEVEL: &[&str] = &[
    "name",
    "priority",
    "vars",
    "transformations",
    "postprocessing",
    "finalizers",
    "allowed_backends",
];

/// Deepest nesting of parentheses and `not` in a condition expression.
const MAX_EXPR_DEPTH: usize = 64;

pub(super) fn pipeline(text: &str) -> Result<Pipeline, PipelineError> {
    let mut docs = load_documents(text).into_iter();
    let doc = match docs.next() {
        None => Yaml::Null,
        Some(Err(e)) => return Err(PipelineError::Yaml(e.to_string())),
        Some(Ok(v)) => v,
    };
    if docs.next().is_some() {
        return Err(PipelineError::Shape(
            "a pipeline is one YAML document; this text holds several".into(),
        ));
    }
    let map = match doc {
        Yaml::Mapping(m) => m,
        Yaml::Null => Mapping::new(),
        other => {
            return Err(PipelineError::Shape(format!(
                "a pipeline must be a mapping, got {}",
                kind_of(&other)
            )));
        }
    };
    for key in map.keys() {
        let name = scalar_text(key).unwrap_or_default();
        if !TOP_LEVEL.contains(&name.as_str()) {
            return Err(PipelineError::UnknownKey(name));
        }
    }
    let shape = |m: String| PipelineError::Shape(m);
    let name = match map.get("name") {
        None | Some(Yaml::Null) => String::new(),
        Some(v) => scalar_text(v).ok_or_else(|| shape("`name` must be a string".into()))?,
    };
    let priority = match map.get("priority") {
        None | Some(Yaml::Null) => 0,
        Some(Yaml::Number(n)) => n
            .as_i64()
            .ok_or_else(|| shape("`priority` must be an integer".into()))?,
        Some(v) => scalar_text(v)
            .and_then(|s| s.trim().parse().ok())
            .ok_or_else(|| shape("`priority` must be an integer".into()))?,
    };
    let mut vars = IndexMap::new();
    match map.get("vars") {
        None | Some(Yaml::Null) => {}
        Some(Yaml::Mapping(m)) => {
            for (k, v) in m {
                let key =
                    scalar_text(k).ok_or_else(|| shape("`vars` keys must be strings".into()))?;
                let values = match v {
                    Yaml::Sequence(items) => {
                        items.iter().map(scalar_text).collect::<Option<Vec<_>>>()
                    }
                    other => scalar_text(other).map(|s| vec![s]),
                }
                .ok_or_else(|| {
                    shape(format!(
                        "`vars.{key}` must be a string, a number or a list of them"
                    ))
                })?;
                vars.insert(key, values);
            }
        }
        Some(_) => return Err(shape("`vars` must be a mapping".into())),
    }
    let items = match map.get("transformations") {
        None | Some(Yaml::Null) => Vec::new(),
        Some(Yaml::Sequence(items)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| processing_item(i, item))
            .collect::<Result<Vec<_>, _>>()?,
        Some(_) => return Err(shape("`transformations` must be a list".into())),
    };
    Ok(Pipeline {
        name,
        priority,
        vars,
        items: items.into(),
    })
}

/// The keys of one mapping, taken one by one so that leftovers can be reported.
struct Params {
    map: Mapping,
}

impl Params {
    fn take(&mut self, key: &str) -> Option<Yaml> {
        self.map.shift_remove(key).filter(|v| !v.is_null())
    }

    fn string(&mut self, key: &str) -> Result<Option<String>, String> {
        match self.take(key) {
            None => Ok(None),
            Some(v) => scalar_text(&v)
                .map(Some)
                .ok_or_else(|| format!("`{key}` must be a string, got {}", kind_of(&v))),
        }
    }

    fn required(&mut self, key: &str) -> Result<String, String> {
        self.string(key)?.ok_or_else(|| format!("missing `{key}`"))
    }

    fn boolean(&mut self, key: &str) -> Result<bool, String> {
        match self.take(key) {
            None => Ok(false),
            Some(Yaml::Bool(b)) => Ok(b),
            Some(v) => match scalar_text(&v).as_deref() {
                Some("true" | "True") => Ok(true),
                Some("false" | "False") => Ok(false),
                _ => Err(format!("`{key}` must be true or false")),
            },
        }
    }

    fn strings(&mut self, key: &str) -> Result<Option<Vec<String>>, String> {
        match self.take(key) {
            None => Ok(None),
            Some(Yaml::Sequence(items)) => items
                .iter()
                .map(|i| scalar_text(i).ok_or_else(|| format!("`{key}` must be a list of strings")))
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(v) => scalar_text(&v)
                .map(|s| Some(vec![s]))
                .ok_or_else(|| format!("`{key}` must be a string or a list of strings")),
        }
    }

    fn scalar(&mut self, key: &str) -> Result<Option<Scalar>, String> {
        match self.map.shift_remove(key) {
            None => Ok(None),
            Some(v) => scalar(&v)
                .map(Some)
                .ok_or_else(|| format!("`{key}` must be a scalar, got {}", kind_of(&v))),
        }
    }

    fn finish(self, what: &str) -> Result<(), String> {
        match self.map.keys().next() {
            None => Ok(()),
            Some(k) => Err(format!(
                "unknown parameter `{}` for {what}",
                scalar_text(k).unwrap_or_else(|| kind_of(k).to_string())
            )),
        }
    }
}

fn scalar(v: &Yaml) -> Option<Scalar> {
    Some(match v {
        Yaml::Null => Scalar::Null,
        Yaml::Bool(b) => Scalar::Bool(*b),
        Yaml::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Scalar::Int(i),
            (None, Some(f)) => Scalar::Float(f),
            _ => Scalar::Str(n.to_string()),
        },
        Yaml::String(s) => Scalar::Str(s.clone()),
        Yaml::Tagged(t) => return scalar(&t.value),
        _ => return None,
    })
}

fn sigma_value(s: Scalar) -> SigmaValue {
    match s {
        Scalar::Null => SigmaValue::Null,
        Scalar::Bool(b) => SigmaValue::Bool(b),
        Scalar::Int(i) => SigmaValue::Int(i),
        Scalar::Float(f) => SigmaValue::Float(f),
        Scalar::Str(s) => SigmaValue::String(s),
    }
}

/// A Python regular expression for `re.match`: anchored at the start.
fn python_regex(pattern: &str, anchored: bool) -> Result<Regex, String> {
    let text = if anchored {
        format!("^(?:{pattern})")
    } else {
        pattern.to_string()
    };
    regex::RegexBuilder::new(&text)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| format!("invalid regular expression `{pattern}`: {e}"))
}

/// Python `re.sub` replacement syntax (`\1`, `\g<1>`, `\g<name>`, `\\`) to the `regex`
/// crate's (`${1}`, `${name}`, `$$` for a dollar).
fn python_replacement(text: &str) -> Result<String, String> {
    let mut out = String::with_capacity(text.len() + 8);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' => out.push_str("$$"),
            '\\' => match chars.next() {
                Some(d) if d.is_ascii_digit() => {
                    let mut n = d.to_string();
                    if let Some(&e) = chars.peek()
                        && e.is_ascii_digit()
                    {
                        n.push(e);
                        chars.next();
                    }
                    out.push_str(&format!("${{{n}}}"));
                }
                Some('g') => {
                    if chars.next() != Some('<') {
                        return Err("`\\g` in the replacement must be followed by <group>".into());
                    }
                    let name: String = chars.by_ref().take_while(|&c| c != '>').collect();
                    if name.is_empty() {
                        return Err("empty group name in the replacement".into());
                    }
                    out.push_str(&format!("${{{name}}}"));
                }
                Some('\\') => out.push('\\'),
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            },
            c => out.push(c),
        }
    }
    Ok(out)
}

/// A name mapping: source (`None`: keywords) to its targets.
type NameMapping = Vec<(Option<String>, Vec<String>)>;

fn mapping(value: Option<Yaml>, key: &str) -> Result<NameMapping, String> {
    let Some(Yaml::Mapping(m)) = value else {
        return Err(format!("`{key}` must be a mapping"));
    };
    m.iter()
        .map(|(k, v)| {
            let source = match k {
                Yaml::Null => None,
                other => Some(
                    scalar_text(other).ok_or_else(|| format!("`{key}` keys must be strings"))?,
                ),
            };
            let targets = match v {
                Yaml::Sequence(items) => items.iter().map(scalar_text).collect::<Option<Vec<_>>>(),
                other => scalar_text(other).map(|s| vec![s]),
            }
            .ok_or_else(|| {
                format!(
                    "`{key}.{}` must be a string or a list of strings",
                    source.as_deref().unwrap_or("null")
                )
            })?;
            Ok((source, targets))
        })
        .collect()
}

fn processing_item(index: usize, value: &Yaml) -> Result<ProcessingItem, PipelineError> {
    let Yaml::Mapping(map) = value else {
        return Err(PipelineError::Item {
            item: (index + 1).to_string(),
            message: format!("must be a mapping, got {}", kind_of(value)),
        });
    };
    let mut params = Params { map: map.clone() };
    let id = params.string("id").ok().flatten();
    let label = id
        .as_ref()
        .map(|i| format!("`{i}`"))
        .unwrap_or_else(|| (index + 1).to_string());
    let fail = |message: String| PipelineError::Item {
        item: label.clone(),
        message,
    };
    let ty = params.required("type").map_err(&fail)?;
    let rule_conditions = conditions(&mut params, "rule", rule_condition).map_err(&fail)?;
    let detection_item_conditions =
        conditions(&mut params, "detection_item", detection_item_condition).map_err(&fail)?;
    let field_name_conditions =
        conditions(&mut params, "field_name", field_name_condition).map_err(&fail)?;
    let transformation = transformation(&ty, &mut params).map_err(&fail)?;
    params
        .finish(&format!("transformation type `{ty}`"))
        .map_err(&fail)?;
    Ok(ProcessingItem {
        id,
        transformation,
        rule_conditions,
        detection_item_conditions,
        field_name_conditions,
    })
}

fn transformation(ty: &str, p: &mut Params) -> Result<Transformation, String> {
    Ok(match ty {
        "field_name_mapping" => Transformation::FieldNameMapping {
            mapping: mapping(p.take("mapping"), "mapping")?,
        },
        "field_name_prefix_mapping" => Transformation::FieldNamePrefixMapping {
            mapping: mapping(p.take("mapping"), "mapping")?
                .into_iter()
                .map(|(k, v)| {
                    k.map(|k| (k, v))
                        .ok_or_else(|| "a prefix mapping cannot have a null key".to_string())
                })
                .collect::<Result<_, _>>()?,
        },
        "field_name_prefix" => Transformation::FieldNamePrefix {
            prefix: p.required("prefix")?,
        },
        "field_name_suffix" => Transformation::FieldNameSuffix {
            suffix: p.required("suffix")?,
        },
        "drop_detection_item" => Transformation::DropDetectionItem,
        "add_condition" => {
            let mut conditions = match p.take("conditions") {
                None => Mapping::new(),
                Some(Yaml::Mapping(m)) => m,
                Some(_) => return Err("`conditions` must be a mapping".into()),
            };
            // RSigma's `field_refs` (field: other field) are `fieldref` items.
            match p.take("field_refs") {
                None => {}
                Some(Yaml::Mapping(refs)) => {
                    for (k, v) in refs {
                        let field = scalar_text(&k).ok_or("`field_refs` keys must be strings")?;
                        conditions.insert(Yaml::String(format!("{field}|fieldref")), v);
                    }
                }
                Some(_) => return Err("`field_refs` must be a mapping".into()),
            }
            if conditions.is_empty() {
                return Err("`conditions` must be a non-empty mapping".into());
            }
            condition_node(&conditions).map_err(|e| format!("`conditions`: {e}"))?;
            // RSigma's `prepend` puts the added condition first, where siem always puts it
            // (`added and (rule)`); the order does not change what matches.
            p.boolean("prepend")?;
            Transformation::AddCondition {
                conditions,
                name: p.string("name")?,
                template: p.boolean("template")?,
                negated: p.boolean("negated")?,
            }
        }
        "change_logsource" => Transformation::ChangeLogsource {
            category: p.string("category")?,
            product: p.string("product")?,
            service: p.string("service")?,
        },
        "replace_string" => {
            let pattern = p.required("regex")?;
            Transformation::ReplaceString {
                regex: python_regex(&pattern, false)?,
                replacement: python_replacement(&p.string("replacement")?.unwrap_or_default())?,
                skip_special: p.boolean("skip_special")?,
                interpret_special: p.boolean("interpret_special")?,
            }
        }
        "map_string" => Transformation::MapString {
            mapping: mapping(p.take("mapping"), "mapping")?
                .into_iter()
                .map(|(k, v)| (k.unwrap_or_default(), v))
                .collect(),
        },
        "set_value" => {
            let value = p.scalar("value")?.ok_or("missing `value`")?;
            let value = match p.string("force_type")?.as_deref() {
                None => sigma_value(value),
                Some("str") => SigmaValue::String(value.text()),
                Some("num") => match value {
                    Scalar::Int(i) => SigmaValue::Int(i),
                    Scalar::Float(f) => SigmaValue::Float(f),
                    other => {
                        let t = other.text();
                        if let Ok(i) = t.trim().parse() {
                            SigmaValue::Int(i)
                        } else {
                            SigmaValue::Float(t.trim().parse().map_err(|_| {
                                format!("`value` {t:?} cannot be converted to a number")
                            })?)
                        }
                    }
                },
                Some(other) => {
                    return Err(format!("`force_type` must be str or num, got {other:?}"));
                }
            };
            Transformation::SetValue { value }
        }
        "convert_type" => Transformation::ConvertType {
            target: match p.required("target_type")?.as_str() {
                "str" => ConvertTarget::Str,
                "num" => ConvertTarget::Num,
                other => return Err(format!("`target_type` must be str or num, got {other:?}")),
            },
        },
        "value_placeholders" | "wildcard_placeholders" => {
            let include = p.strings("include")?;
            let exclude = p.strings("exclude")?;
            if include.is_some() && exclude.is_some() {
                return Err("`include` and `exclude` cannot be used together".into());
            }
            if ty == "value_placeholders" {
                Transformation::ValuePlaceholders { include, exclude }
            } else {
                Transformation::WildcardPlaceholders { include, exclude }
            }
        }
        "rule_failure" => Transformation::RuleFailure {
            message: p.required("message")?,
        },
        "detection_item_failure" => Transformation::DetectionItemFailure {
            message: p.required("message")?,
        },
        "strict_field_mapping_failure" => Transformation::StrictFieldMappingFailure,
        "set_state" => Transformation::SetState {
            key: p.required("key")?,
            value: p.scalar("val")?.ok_or("missing `val`")?,
        },
        "add_field" => Transformation::AddField {
            fields: p.strings("field")?.ok_or("missing `field`")?,
        },
        "remove_field" => Transformation::RemoveField {
            fields: p.strings("field")?.ok_or("missing `field`")?,
        },
        "set_field" => Transformation::SetField {
            fields: p.strings("fields")?.ok_or("missing `fields`")?,
        },
        "set_custom_attribute" => Transformation::SetCustomAttribute {
            attribute: p.required("attribute")?,
            value: p.scalar("value")?.ok_or("missing `value`")?,
        },
        "field_name_transform" => {
            return Err(
                "`field_name_transform` is not supported: it needs a Python function".into(),
            );
        }
        "query_expression_placeholders" | "regex" => {
            return Err(format!(
                "`{ty}` is not supported: it produces backend query text, and siem matches rules directly"
            ));
        }
        "hashes_fields" | "case" | "nest" => {
            return Err(format!("`{ty}` is not supported"));
        }
        other => return Err(format!("unknown transformation type `{other}`")),
    })
}

/// Reads `<kind>_conditions`, `<kind>_cond_op`, `<kind>_cond_expr` and `<kind>_cond_not`.
fn conditions<C>(
    p: &mut Params,
    kind: &str,
    one: fn(Mapping) -> Result<C, String>,
) -> Result<Conditions<C>, String> {
    let key = format!("{kind}_conditions");
    let (named, list) = match p.take(&key) {
        None => (false, Vec::new()),
        Some(Yaml::Sequence(items)) => (
            false,
            items
                .into_iter()
                .enumerate()
                .map(|(i, c)| ((i + 1).to_string(), c))
                .collect(),
        ),
        Some(Yaml::Mapping(m)) => (
            true,
            m.into_iter()
                .map(|(k, v)| (scalar_text(&k).unwrap_or_default(), v))
                .collect(),
        ),
        Some(v) => {
            return Err(format!(
                "`{key}` must be a list or a mapping, got {}",
                kind_of(&v)
            ));
        }
    };
    let mut conditions = Vec::with_capacity(list.len());
    for (name, value) in list {
        let Yaml::Mapping(m) = value else {
            return Err(format!("`{key}` entry {name} must be a mapping"));
        };
        conditions.push((
            name.clone(),
            one(m).map_err(|e| format!("`{key}` entry {name}: {e}"))?,
        ));
    }
    let op = p.string(&format!("{kind}_cond_op"))?;
    let expr = p.string(&format!("{kind}_cond_expr"))?;
    let negated = p.boolean(&format!("{kind}_cond_not"))?;
    let logic = match (op.as_deref(), expr) {
        (Some(_), Some(_)) => {
            return Err(format!(
                "`{kind}_cond_op` and `{kind}_cond_expr` cannot be used together"
            ));
        }
        (Some("and") | None, None) => Logic::All,
        (Some("or"), None) => Logic::Any,
        (Some(other), None) => {
            return Err(format!("`{kind}_cond_op` must be and or or, got {other:?}"));
        }
        (None, Some(text)) => {
            if !named {
                return Err(format!(
                    "`{kind}_cond_expr` needs `{key}` as a mapping from names to conditions"
                ));
            }
            let names: Vec<&str> = conditions.iter().map(|(n, _)| n.as_str()).collect();
            let expr = parse_expr(&text, &names)?;
            Logic::Expression(expr)
        }
    };
    Ok(Conditions {
        conditions,
        logic,
        negated,
    })
}

fn op(p: &mut Params) -> Result<StateOp, String> {
    match p.string("op")? {
        None => Ok(StateOp::Eq),
        Some(s) => StateOp::parse(&s).ok_or_else(|| {
            format!("`op` must be one of eq, ne, gte, gt, lte, lt, in, not_in; got {s:?}")
        }),
    }
}

fn cond_type(p: &mut Params) -> Result<String, String> {
    p.required("type")
}

fn rule_condition(map: Mapping) -> Result<RuleCondition, String> {
    let mut p = Params { map };
    let ty = cond_type(&mut p)?;
    let c = match ty.as_str() {
        "logsource" => RuleCondition::Logsource {
            category: p.string("category")?,
            product: p.string("product")?,
            service: p.string("service")?,
        },
        "contains_detection_item" => RuleCondition::ContainsDetectionItem {
            field: p.string("field")?,
            value: p.scalar("value")?.ok_or("missing `value`")?,
        },
        "contains_field" => RuleCondition::ContainsField {
            field: p.string("field")?,
        },
        "processing_item_applied" => RuleCondition::ProcessingItemApplied {
            id: p.required("processing_item_id")?,
        },
        "processing_state" => RuleCondition::ProcessingState {
            key: p.required("key")?,
            value: p.scalar("val")?.ok_or("missing `val`")?,
            op: op(&mut p)?,
        },
        "is_sigma_rule" => RuleCondition::IsSigmaRule,
        "is_sigma_correlation_rule" => RuleCondition::IsSigmaCorrelationRule,
        "rule_attribute" => {
            let attribute = p.required("attribute")?;
            let value = p.scalar("value")?.ok_or("missing `value`")?;
            let op = op(&mut p)?;
            let text_attr = matches!(
                attribute.as_str(),
                "id" | "title" | "name" | "description" | "author" | "license" | "taxonomy"
            );
            if text_attr && !matches!(op, StateOp::Eq | StateOp::Ne) {
                return Err(format!("`{attribute}` is text: only eq and ne compare it"));
            }
            RuleCondition::RuleAttribute {
                attribute,
                value,
                op,
            }
        }
        "tag" => RuleCondition::Tag {
            tag: p.required("tag")?,
        },
        other => {
            return Err(format!(
                "unknown rule condition type `{other}` (expected logsource, contains_detection_item, contains_field, processing_item_applied, processing_state, is_sigma_rule, is_sigma_correlation_rule, rule_attribute or tag)"
            ));
        }
    };
    p.finish(&format!("rule condition `{ty}`"))?;
    Ok(c)
}

fn cond_all(p: &mut Params) -> Result<bool, String> {
    match p.required("cond")?.as_str() {
        "any" => Ok(false),
        "all" => Ok(true),
        other => Err(format!("`cond` must be any or all, got {other:?}")),
    }
}

fn detection_item_condition(map: Mapping) -> Result<DetectionItemCondition, String> {
    let mut p = Params { map };
    let ty = cond_type(&mut p)?;
    let c = match ty.as_str() {
        "match_string" => DetectionItemCondition::MatchString {
            all: cond_all(&mut p)?,
            pattern: python_regex(&p.required("pattern")?, true)?,
            negate: p.boolean("negate")?,
        },
        "match_value" => DetectionItemCondition::MatchValue {
            all: cond_all(&mut p)?,
            value: p.scalar("value")?.ok_or("missing `value`")?,
        },
        "contains_wildcard" => DetectionItemCondition::ContainsWildcard {
            all: cond_all(&mut p)?,
        },
        "is_null" => DetectionItemCondition::IsNull {
            all: cond_all(&mut p)?,
        },
        "processing_item_applied" => DetectionItemCondition::ProcessingItemApplied {
            id: p.required("processing_item_id")?,
        },
        "processing_state" => DetectionItemCondition::ProcessingState {
            key: p.required("key")?,
            value: p.scalar("val")?.ok_or("missing `val`")?,
            op: op(&mut p)?,
        },
        other => {
            return Err(format!(
                "unknown detection item condition type `{other}` (expected match_string, match_value, contains_wildcard, is_null, processing_item_applied or processing_state)"
            ));
        }
    };
    p.finish(&format!("detection item condition `{ty}`"))?;
    Ok(c)
}

fn field_name_condition(map: Mapping) -> Result<FieldNameCondition, String> {
    let mut p = Params { map };
    let ty = cond_type(&mut p)?;
    let c = match ty.as_str() {
        "include_fields" | "exclude_fields" => {
            let fields = p.strings("fields")?.ok_or("missing `fields`")?;
            let regexes = match p.string("mode")?.as_deref() {
                None | Some("plain") => None,
                Some("re") => Some(
                    fields
                        .iter()
                        .map(|f| python_regex(f, true))
                        .collect::<Result<Vec<_>, _>>()?,
                ),
                Some(other) => return Err(format!("`mode` must be plain or re, got {other:?}")),
            };
            if ty == "include_fields" {
                FieldNameCondition::IncludeFields { fields, regexes }
            } else {
                FieldNameCondition::ExcludeFields { fields, regexes }
            }
        }
        "processing_item_applied" => FieldNameCondition::ProcessingItemApplied {
            id: p.required("processing_item_id")?,
        },
        "processing_state" => FieldNameCondition::ProcessingState {
            key: p.required("key")?,
            value: p.scalar("val")?.ok_or("missing `val`")?,
            op: op(&mut p)?,
        },
        other => {
            return Err(format!(
                "unknown field name condition type `{other}` (expected include_fields, exclude_fields, processing_item_applied or processing_state)"
            ));
        }
    };
    p.finish(&format!("field name condition `{ty}`"))?;
    Ok(c)
}

#[derive(Debug, PartialEq)]
enum Tok<'a> {
    Open,
    Close,
    And,
    Or,
    Not,
    Name(&'a str),
}

/// Parses a `*_cond_expr` (`not` binds tighter than `and`, `and` tighter than `or`). Every
/// named condition must be used, as pySigma requires.
fn parse_expr(text: &str, names: &[&str]) -> Result<CondExpr, String> {
    let mut toks = Vec::new();
    let mut rest = text;
    loop {
        rest = rest.trim_start();
        let Some(c) = rest.chars().next() else { break };
        match c {
            '(' => {
                toks.push(Tok::Open);
                rest = &rest[1..];
            }
            ')' => {
                toks.push(Tok::Close);
                rest = &rest[1..];
            }
            _ => {
                let end = rest
                    .find(|c: char| c.is_whitespace() || c == '(' || c == ')')
                    .unwrap_or(rest.len());
                let word = &rest[..end];
                toks.push(match word.to_ascii_lowercase().as_str() {
                    "and" => Tok::And,
                    "or" => Tok::Or,
                    "not" => Tok::Not,
                    _ => Tok::Name(word),
                });
                rest = &rest[end..];
            }
        }
    }
    struct P<'t, 'a> {
        toks: &'t [Tok<'a>],
        pos: usize,
        names: &'t [&'t str],
        used: Vec<bool>,
        depth: usize,
    }
    impl P<'_, '_> {
        fn or(&mut self) -> Result<CondExpr, String> {
            let mut items = vec![self.and()?];
            while self.toks.get(self.pos) == Some(&Tok::Or) {
                self.pos += 1;
                items.push(self.and()?);
            }
            Ok(if items.len() == 1 {
                items.remove(0)
            } else {
                CondExpr::Or(items)
            })
        }
        fn and(&mut self) -> Result<CondExpr, String> {
            let mut items = vec![self.not()?];
            while self.toks.get(self.pos) == Some(&Tok::And) {
                self.pos += 1;
                items.push(self.not()?);
            }
            Ok(if items.len() == 1 {
                items.remove(0)
            } else {
                CondExpr::And(items)
            })
        }
        fn not(&mut self) -> Result<CondExpr, String> {
            self.depth += 1;
            if self.depth > MAX_EXPR_DEPTH {
                return Err("condition expression nests too deeply".into());
            }
            let result = match self.toks.get(self.pos) {
                Some(Tok::Not) => {
                    self.pos += 1;
                    Ok(CondExpr::Not(Box::new(self.not()?)))
                }
                Some(Tok::Open) => {
                    self.pos += 1;
                    let inner = self.or()?;
                    if self.toks.get(self.pos) != Some(&Tok::Close) {
                        return Err("missing `)` in condition expression".into());
                    }
                    self.pos += 1;
                    Ok(inner)
                }
                Some(Tok::Name(n)) => {
                    self.pos += 1;
                    let i = self.names.iter().position(|x| x == n).ok_or_else(|| {
                        format!("condition expression names unknown condition `{n}`")
                    })?;
                    self.used[i] = true;
                    Ok(CondExpr::Condition(i))
                }
                other => Err(format!(
                    "unexpected {} in condition expression",
                    match other {
                        None => "end".to_string(),
                        Some(t) => format!("{t:?}"),
                    }
                )),
            };
            self.depth -= 1;
            result
        }
    }
    let mut p = P {
        toks: &toks,
        pos: 0,
        names,
        used: vec![false; names.len()],
        depth: 0,
    };
    let expr = p.or()?;
    if p.pos != toks.len() {
        return Err(format!(
            "unexpected {:?} in condition expression",
            toks[p.pos]
        ));
    }
    if let Some(i) = p.used.iter().position(|u| !u) {
        return Err(format!(
            "condition `{}` is not used in the condition expression",
            names[i]
        ));
    }
    Ok(expr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_replacements_become_regex_crate_syntax() {
        assert_eq!(
            python_replacement(r"\1-\g<name>$").unwrap(),
            "${1}-${name}$$"
        );
        assert_eq!(python_replacement(r"a\\b").unwrap(), r"a\b");
    }

    #[test]
    fn condition_expressions_follow_precedence() {
        let e = parse_expr("a or not b and c", &["a", "b", "c"]).unwrap();
        assert_eq!(
            e,
            CondExpr::Or(vec![
                CondExpr::Condition(0),
                CondExpr::And(vec![
                    CondExpr::Not(Box::new(CondExpr::Condition(1))),
                    CondExpr::Condition(2)
                ])
            ])
        );
        assert!(parse_expr("a and", &["a"]).is_err());
        assert!(
            parse_expr("a", &["a", "b"])
                .unwrap_err()
                .contains("`b` is not used")
        );
        assert!(parse_expr(&"(".repeat(500), &["a"]).is_err());
    }
}
