//! The parsed, owned rule tree: what a Sigma document says, before compilation.
//!
//! Processing pipelines (field mapping, prefixes, added conditions, logsource changes, dropped
//! items, value replacement) rewrite this tree through [`RuleSetBuilder::transform`]
//! before it is compiled, so every part of it is public and plain data.
//!
//! [`RuleSetBuilder::transform`]: super::RuleSetBuilder::transform

use compact_str::CompactString;
use indexmap::IndexMap;
use yaml_serde::{Mapping, Value as Yaml};

use super::condition::{Condition, parse_condition};
use super::error::{ErrorKind, RuleError};
use super::meta::{Level, RelatedRule, RuleMeta, Status};
use super::yaml::{self, kind_of, scalar_text};
use crate::event::LogSource;

/// A Sigma detection rule.
#[derive(Debug, Clone, PartialEq)]
pub struct SigmaRule {
    /// Metadata (id, title, level, logsource, ...).
    pub meta: RuleMeta,
    /// The `detection` section.
    pub detection: Detection,
}

/// A Sigma filter (meta rule with a `filter:` section, Sigma filters specification): its
/// detection is applied to the rules it names as `and not (filter condition)`.
#[derive(Debug, Clone, PartialEq)]
pub struct SigmaFilter {
    /// The filter's metadata, logsource and detection, in the shape of a rule so the same
    /// transformations apply to it.
    pub rule: SigmaRule,
    /// Which rules it applies to.
    pub targets: FilterTargets,
}

/// The rules a filter applies to (`filter.rules`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterTargets {
    /// `any` / `all` (or an empty list): every rule whose logsource the filter's covers.
    Any,
    /// Rules by id or name; they must also have a logsource the filter's covers.
    Rules(Vec<CompactString>),
}

/// A correlation rule, kept uninterpreted for the correlation engine.
#[derive(Debug, Clone, PartialEq)]
pub struct RawCorrelation {
    /// Its metadata.
    pub meta: RuleMeta,
    /// The whole document (after collection merging).
    pub yaml: Yaml,
    /// The file it came from.
    pub path: Option<String>,
}

/// One document of a Sigma YAML stream.
#[derive(Debug, Clone, PartialEq)]
pub enum SigmaDocument {
    /// A detection rule.
    Rule(SigmaRule),
    /// A filter.
    Filter(SigmaFilter),
    /// A correlation rule.
    Correlation(RawCorrelation),
}

/// A rule's `detection`: named search identifiers and the condition over them.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    /// Search identifiers in rule order.
    pub identifiers: IndexMap<String, DetectionNode>,
    /// The conditions (a list in the rule means OR), parsed.
    pub conditions: Vec<Condition>,
}

/// A node of a search identifier.
#[derive(Debug, Clone, PartialEq)]
pub enum DetectionNode {
    /// Every child must match (a YAML mapping). Empty means true.
    AllOf(Vec<DetectionNode>),
    /// One child must match (a YAML list of mappings). Empty means false.
    AnyOf(Vec<DetectionNode>),
    /// A detection item.
    Item(DetectionItem),
}

/// One `field|modifiers: values` entry, or a keyword list.
#[derive(Debug, Clone, PartialEq)]
pub struct DetectionItem {
    /// The event fields to test, as alternatives (the item matches when it matches on any of
    /// them). One name as written in the rule; field mappings may put several here. Empty for a
    /// keyword item, which searches every string value of the event.
    pub fields: Vec<CompactString>,
    /// The modifiers, in the order they apply.
    pub modifiers: Vec<Modifier>,
    /// The values (OR, or AND with `all`).
    pub values: Vec<SigmaValue>,
}

impl DetectionItem {
    /// Whether this is a keyword item (no field).
    pub fn is_keyword(&self) -> bool {
        self.fields.is_empty()
    }

    /// The field as messages name it: the first alternative, or empty for keywords.
    pub fn field_label(&self) -> String {
        self.fields
            .first()
            .map(|f| f.to_string())
            .unwrap_or_default()
    }
}

/// A value as written in the rule.
#[derive(Debug, Clone, PartialEq)]
pub enum SigmaValue {
    /// `null`: the field is absent or null.
    Null,
    /// A YAML boolean.
    Bool(bool),
    /// A YAML integer.
    Int(i64),
    /// A YAML float.
    Float(f64),
    /// A string in Sigma syntax (wildcards `*` `?`, backslash escapes), as written.
    String(String),
}

impl SigmaValue {
    /// The value as text (numbers in decimal, booleans as `true`/`false`, `null` as empty).
    pub fn text(&self) -> String {
        match self {
            SigmaValue::Null => String::new(),
            SigmaValue::Bool(b) => b.to_string(),
            SigmaValue::Int(i) => i.to_string(),
            SigmaValue::Float(f) => f.to_string(),
            SigmaValue::String(s) => s.clone(),
        }
    }
}

macro_rules! modifiers {
    ($($variant:ident => $name:literal $(| $alias:literal)*, $doc:literal;)*) => {
        /// A Sigma value modifier (modifiers appendix, v2.1).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Modifier {
            $(#[doc = $doc] $variant,)*
        }

        impl Modifier {
            /// Parses a modifier name as written after `|` (aliases included).
            pub fn parse(name: &str) -> Option<Modifier> {
                Some(match name {
                    $($name $(| $alias)* => Modifier::$variant,)*
                    _ => return None,
                })
            }

            /// The canonical name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Modifier::$variant => $name,)*
                }
            }
        }
    };
}

modifiers! {
    Contains => "contains", "`*` around the value: match anywhere.";
    StartsWith => "startswith", "`*` after the value: match at the start.";
    EndsWith => "endswith", "`*` before the value: match at the end.";
    All => "all", "All values must match (AND instead of OR).";
    Exists => "exists", "`true`: the field is present; `false`: it is absent.";
    Cased => "cased", "Match case-sensitively.";
    Neq => "neq", "The field differs from every value.";
    Windash => "windash", "`-` and `/` (and the Unicode dashes) are interchangeable where a flag starts.";
    Re => "re", "The value is a regular expression (case-sensitive, unanchored search).";
    ReIgnoreCase => "i" | "ignorecase", "`re` flag: case-insensitive.";
    ReMultiline => "m" | "multiline", "`re` flag: `^` and `$` match at line breaks.";
    ReDotAll => "s" | "dotall", "`re` flag: `.` matches newlines.";
    Base64 => "base64", "Match the Base64 encoding of the value.";
    Base64Offset => "base64offset", "Match the value Base64-encoded at any of the three byte offsets.";
    Utf16le => "utf16le" | "wide", "Encode the value as UTF-16LE before the next step.";
    Utf16be => "utf16be", "Encode the value as UTF-16BE before the next step.";
    Utf16 => "utf16", "Encode the value as UTF-16LE with a byte order mark.";
    Lt => "lt", "Numerically less than.";
    Lte => "lte", "Numerically less than or equal.";
    Gt => "gt", "Numerically greater than.";
    Gte => "gte", "Numerically greater than or equal.";
    Minute => "minute", "Minute (0-59) of a timestamp field.";
    Hour => "hour", "Hour (0-23) of a timestamp field.";
    Day => "day", "Day of month (1-31) of a timestamp field.";
    Week => "week", "ISO week (1-53) of a timestamp field.";
    Month => "month", "Month (1-12) of a timestamp field.";
    Year => "year", "Year of a timestamp field.";
    Cidr => "cidr", "The value is an IPv4 or IPv6 network; match addresses inside it.";
    Expand => "expand", "`%name%` placeholders are replaced by the values given to the builder.";
    FieldRef => "fieldref", "The value names another field of the same event to compare with.";
}

/// Reads every document of a Sigma YAML text (one rule, a multi-document file, or a legacy
/// collection), returning what could be read and an error for each document that could not.
///
/// ```
/// use siem_core::sigma::{parse_documents, SigmaDocument};
/// let (docs, errors) = parse_documents(
///     "title: t\nlogsource: {product: windows}\ndetection:\n  sel: {EventID: 4625}\n  condition: sel\n",
///     Some("r.yml"),
/// );
/// assert!(errors.is_empty());
/// assert!(matches!(&docs[0], SigmaDocument::Rule(r) if r.meta.logsource.product.as_deref() == Some("windows")));
/// ```
pub fn parse_documents(text: &str, path: Option<&str>) -> (Vec<SigmaDocument>, Vec<RuleError>) {
    let mut docs = Vec::new();
    let mut errors = Vec::new();
    for document in yaml::expand_collection(yaml::load_documents(text)) {
        let located = |kind: ErrorKind, rule: Option<CompactString>| RuleError {
            path: path.map(str::to_string),
            rule,
            document: document.index,
            kind,
        };
        let map = match document.value {
            Ok(map) => map,
            Err(kind) => {
                errors.push(located(kind, None));
                continue;
            }
        };
        let handle = handle_of(&map);
        match parse_document(map, path) {
            Ok(doc) => docs.push(doc),
            Err(kind) => errors.push(located(kind, handle)),
        }
    }
    (docs, errors)
}

/// The id, else name, else title of a document, for messages.
fn handle_of(map: &Mapping) -> Option<CompactString> {
    ["id", "name", "title"]
        .iter()
        .find_map(|k| map.get(*k).and_then(scalar_text).filter(|s| !s.is_empty()))
        .map(CompactString::from)
}

fn parse_document(mut map: Mapping, path: Option<&str>) -> Result<SigmaDocument, ErrorKind> {
    if map.contains_key("correlation") {
        let meta = parse_meta(&map, path)?;
        return Ok(SigmaDocument::Correlation(RawCorrelation {
            meta,
            yaml: Yaml::Mapping(map),
            path: path.map(str::to_string),
        }));
    }
    let meta = parse_meta(&map, path)?;
    if let Some(filter) = map.shift_remove("filter") {
        if map.contains_key("detection") {
            return Err(ErrorKind::InvalidKey {
                key: "filter".into(),
                expected: "alone: a document has either `detection` or `filter`, not both",
            });
        }
        let Yaml::Mapping(mut filter) = filter else {
            return Err(ErrorKind::InvalidKey {
                key: "filter".into(),
                expected: "a mapping",
            });
        };
        let targets = match filter.shift_remove("rules") {
            None => return Err(ErrorKind::Missing("filter.rules")),
            Some(Yaml::Sequence(items)) if items.is_empty() => FilterTargets::Any,
            Some(Yaml::Sequence(items)) => FilterTargets::Rules(
                items
                    .iter()
                    .map(|i| {
                        scalar_text(i)
                            .map(CompactString::from)
                            .ok_or(ErrorKind::InvalidKey {
                                key: "filter.rules".into(),
                                expected: "a list of rule ids or names",
                            })
                    })
                    .collect::<Result<_, _>>()?,
            ),
            Some(other) => match scalar_text(&other) {
                Some(s) if s.eq_ignore_ascii_case("any") || s.eq_ignore_ascii_case("all") => {
                    FilterTargets::Any
                }
                Some(s) => FilterTargets::Rules(vec![s.into()]),
                None => {
                    return Err(ErrorKind::InvalidKey {
                        key: "filter.rules".into(),
                        expected: "a list of rule ids or names, or `any`",
                    });
                }
            },
        };
        let detection = parse_detection(filter, "filter")?;
        return Ok(SigmaDocument::Filter(SigmaFilter {
            rule: SigmaRule { meta, detection },
            targets,
        }));
    }
    let detection = match map.shift_remove("detection") {
        Some(Yaml::Mapping(detection)) => parse_detection(detection, "detection")?,
        Some(_) => {
            return Err(ErrorKind::InvalidKey {
                key: "detection".into(),
                expected: "a mapping",
            });
        }
        None => return Err(ErrorKind::Missing("detection")),
    };
    Ok(SigmaDocument::Rule(SigmaRule { meta, detection }))
}

fn string_list(map: &Mapping, key: &'static str) -> Result<Vec<String>, ErrorKind> {
    match map.get(key) {
        None | Some(Yaml::Null) => Ok(Vec::new()),
        Some(Yaml::Sequence(items)) => items
            .iter()
            .filter(|i| !i.is_null())
            .map(|i| {
                scalar_text(i).ok_or(ErrorKind::InvalidKey {
                    key: key.into(),
                    expected: "a list of strings",
                })
            })
            .collect(),
        Some(other) => scalar_text(other)
            .map(|s| vec![s])
            .ok_or(ErrorKind::InvalidKey {
                key: key.into(),
                expected: "a list of strings",
            }),
    }
}

fn text(map: &Mapping, key: &'static str) -> Result<Option<String>, ErrorKind> {
    match map.get(key) {
        None | Some(Yaml::Null) => Ok(None),
        Some(value) => scalar_text(value).map(Some).ok_or(ErrorKind::InvalidKey {
            key: key.into(),
            expected: "a string",
        }),
    }
}

fn parse_meta(map: &Mapping, path: Option<&str>) -> Result<RuleMeta, ErrorKind> {
    let mut meta = RuleMeta {
        id: text(map, "id")?.unwrap_or_default().into(),
        name: text(map, "name")?.map(CompactString::from),
        title: text(map, "title")?.unwrap_or_default(),
        description: text(map, "description")?,
        tags: string_list(map, "tags")?
            .into_iter()
            .map(CompactString::from)
            .collect(),
        references: string_list(map, "references")?,
        falsepositives: string_list(map, "falsepositives")?,
        author: text(map, "author")?,
        date: text(map, "date")?.map(CompactString::from),
        modified: text(map, "modified")?.map(CompactString::from),
        fields: string_list(map, "fields")?
            .into_iter()
            .map(CompactString::from)
            .collect(),
        taxonomy: text(map, "taxonomy")?.map(CompactString::from),
        license: text(map, "license")?.map(CompactString::from),
        path: path.map(str::to_string),
        ..RuleMeta::default()
    };
    if let Some(level) = text(map, "level")? {
        meta.level = Some(Level::parse(&level).ok_or(ErrorKind::InvalidKey {
            key: "level".into(),
            expected: "one of informational, low, medium, high, critical",
        })?);
    }
    if let Some(status) = text(map, "status")? {
        meta.status = Some(Status::parse(&status).ok_or(ErrorKind::InvalidKey {
            key: "status".into(),
            expected: "one of stable, test, experimental, deprecated, unsupported",
        })?);
    }
    match map.get("related") {
        None | Some(Yaml::Null) => {}
        Some(Yaml::Sequence(items)) => {
            for item in items {
                let id = item.get("id").and_then(scalar_text);
                let kind = item.get("type").and_then(scalar_text);
                match (id, kind) {
                    (Some(id), Some(kind)) => meta.related.push(RelatedRule {
                        id: id.into(),
                        kind: kind.into(),
                    }),
                    _ => {
                        return Err(ErrorKind::InvalidKey {
                            key: "related".into(),
                            expected: "a list of mappings with `id` and `type`",
                        });
                    }
                }
            }
        }
        Some(_) => {
            return Err(ErrorKind::InvalidKey {
                key: "related".into(),
                expected: "a list of mappings with `id` and `type`",
            });
        }
    }
    match map.get("logsource") {
        None | Some(Yaml::Null) => {}
        Some(Yaml::Mapping(ls)) => {
            let mut logsource = LogSource::default();
            for (key, value) in ls {
                let (Some(key), Some(value)) = (scalar_text(key), scalar_text(value)) else {
                    if value.is_null() {
                        continue;
                    }
                    return Err(ErrorKind::InvalidKey {
                        key: "logsource".into(),
                        expected: "a mapping of strings",
                    });
                };
                match key.as_str() {
                    "product" => logsource.product = Some(value.into()),
                    "category" => logsource.category = Some(value.into()),
                    "service" => logsource.service = Some(value.into()),
                    "definition" => meta.logsource_definition = Some(value),
                    _ => meta.logsource_custom.push((key.into(), value)),
                }
            }
            meta.logsource = logsource;
        }
        Some(_) => {
            return Err(ErrorKind::InvalidKey {
                key: "logsource".into(),
                expected: "a mapping",
            });
        }
    }
    Ok(meta)
}

/// Parses a `detection` (or a filter's `filter`) mapping.
pub(crate) fn parse_detection(map: Mapping, section: &'static str) -> Result<Detection, ErrorKind> {
    let mut identifiers = IndexMap::new();
    let mut texts = None;
    let mut timeframe = false;
    for (key, value) in map {
        let Some(name) = scalar_text(&key) else {
            return Err(ErrorKind::InvalidKey {
                key: section.into(),
                expected: "a mapping with string keys",
            });
        };
        match name.as_str() {
            "condition" => {
                let invalid = || ErrorKind::InvalidKey {
                    key: format!("{section}.condition"),
                    expected: "a string or a list of strings",
                };
                texts = Some(match value {
                    Yaml::Sequence(items) => items
                        .iter()
                        .map(|i| scalar_text(i).ok_or_else(invalid))
                        .collect::<Result<Vec<_>, _>>()?,
                    other => vec![scalar_text(&other).ok_or_else(invalid)?],
                });
            }
            "timeframe" => timeframe = true,
            _ => {
                let node = parse_node(&name, value)?;
                identifiers.insert(name, node);
            }
        }
    }
    let Some(texts) = texts else {
        return Err(ErrorKind::Missing(if section == "filter" {
            "filter.condition"
        } else {
            "detection.condition"
        }));
    };
    if texts.is_empty() {
        return Err(ErrorKind::InvalidKey {
            key: format!("{section}.condition"),
            expected: "at least one condition",
        });
    }
    // The condition's own error (often the aggregation it uses) says more than `timeframe`.
    let conditions = texts
        .iter()
        .map(|t| parse_condition(t))
        .collect::<Result<Vec<_>, _>>()?;
    if timeframe {
        return Err(ErrorKind::Timeframe);
    }
    Ok(Detection {
        identifiers,
        conditions,
    })
}

fn is_scalar(value: &Yaml) -> bool {
    matches!(
        value,
        Yaml::Null | Yaml::Bool(_) | Yaml::Number(_) | Yaml::String(_)
    ) || matches!(value, Yaml::Tagged(t) if is_scalar(&t.value))
}

fn parse_node(identifier: &str, value: Yaml) -> Result<DetectionNode, ErrorKind> {
    match value {
        Yaml::Mapping(map) => {
            if map.is_empty() {
                return Err(ErrorKind::EmptyIdentifier(identifier.into()));
            }
            let mut items = Vec::with_capacity(map.len());
            for (key, value) in map {
                let key = scalar_text(&key).ok_or_else(|| ErrorKind::InvalidValue {
                    field: String::new(),
                    reason: format!(
                        "search identifier `{identifier}` has a key that is not a string"
                    ),
                })?;
                items.push(DetectionNode::Item(parse_item(&key, value)?));
            }
            Ok(DetectionNode::AllOf(items))
        }
        Yaml::Sequence(list) => {
            if list.is_empty() {
                return Err(ErrorKind::EmptyIdentifier(identifier.into()));
            }
            if list.iter().all(is_scalar) {
                return Ok(DetectionNode::Item(item_from_values("", Vec::new(), list)?));
            }
            let children = list
                .into_iter()
                .map(|child| parse_node(identifier, child))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(DetectionNode::AnyOf(children))
        }
        Yaml::Tagged(tagged) => parse_node(identifier, tagged.value),
        scalar => Ok(DetectionNode::Item(item_from_values(
            "",
            Vec::new(),
            vec![scalar],
        )?)),
    }
}

fn parse_item(key: &str, value: Yaml) -> Result<DetectionItem, ErrorKind> {
    let mut parts = key.split('|');
    let field = parts.next().unwrap_or_default();
    let mut modifiers = Vec::new();
    for name in parts {
        modifiers.push(
            Modifier::parse(name).ok_or_else(|| ErrorKind::UnknownModifier {
                field: field.to_string(),
                modifier: name.to_string(),
            })?,
        );
    }
    let values = match value {
        Yaml::Sequence(list) => list,
        other => vec![other],
    };
    item_from_values(field, modifiers, values)
}

fn item_from_values(
    field: &str,
    modifiers: Vec<Modifier>,
    list: Vec<Yaml>,
) -> Result<DetectionItem, ErrorKind> {
    if list.is_empty() {
        return Err(ErrorKind::InvalidValue {
            field: field.into(),
            reason: "empty list of values".into(),
        });
    }
    let many = list.len() > 1;
    let mut values = Vec::with_capacity(list.len());
    for value in list {
        let value = match value {
            Yaml::Tagged(tagged) => tagged.value,
            other => other,
        };
        values.push(match value {
            Yaml::Null if many => {
                return Err(ErrorKind::InvalidValue {
                    field: field.into(),
                    reason: "null cannot be part of a list of values (give it its own selection)"
                        .into(),
                });
            }
            Yaml::Null => SigmaValue::Null,
            Yaml::Bool(b) => SigmaValue::Bool(b),
            Yaml::Number(n) => match (n.as_i64(), n.as_f64()) {
                (Some(i), _) => SigmaValue::Int(i),
                (None, Some(f)) => SigmaValue::Float(f),
                _ => SigmaValue::String(n.to_string()),
            },
            Yaml::String(s) => SigmaValue::String(s),
            other => {
                return Err(ErrorKind::InvalidValue {
                    field: field.into(),
                    reason: format!(
                        "values must be strings, numbers, booleans or null, got {}",
                        kind_of(&other)
                    ),
                });
            }
        });
    }
    Ok(DetectionItem {
        fields: if field.is_empty() {
            Vec::new()
        } else {
            vec![field.into()]
        },
        modifiers,
        values,
    })
}
