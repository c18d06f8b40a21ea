//! Processing pipelines in pySigma's YAML format: field mappings, added conditions, logsource
//! changes and the like, applied to each rule's tree before it is compiled.
//!
//! A Sigma rule names fields in the Sigma taxonomy (`CommandLine`, `EventID`, `cs-uri-query`);
//! the events a parser produces name them in ECS or in the source's own shape
//! (`winlog.event_data.CommandLine`, `winlog.event_id`, `url.query`). A processing pipeline
//! bridges the two by rewriting the rule, exactly as pySigma does before it converts a rule into
//! a query: users bring the pipelines they already have.
//!
//! # Format
//!
//! The schema is pySigma's (<https://sigmahq-pysigma.readthedocs.io>, "Processing Pipelines"):
//!
//! ```yaml
//! name: my mapping
//! priority: 30                # pipelines run in ascending priority (stable for ties)
//! vars:                       # values for `value_placeholders`
//!   admins: [root, alice]
//! transformations:
//!   - id: cmdline             # optional; lets later items test `processing_item_applied`
//!     type: field_name_mapping
//!     mapping:
//!       CommandLine: process.command_line
//!       Image: [process.executable, process.name]   # one-to-many: OR of the alternatives
//!     rule_conditions:        # which rules (default: all)
//!       - type: logsource
//!         product: windows
//!     rule_cond_op: and       # or `or`; or `rule_cond_expr: "a and not b"` over named conditions
//!     rule_cond_not: false
//!     detection_item_conditions: []   # which detection items (value conditions, ...)
//!     field_name_conditions: []       # which field names (include_fields / exclude_fields ...)
//!     field_name_cond_not: false
//! ```
//!
//! Transformation types: `field_name_mapping`, `field_name_prefix_mapping`,
//! `field_name_prefix`, `field_name_suffix`, `drop_detection_item`, `add_condition`,
//! `change_logsource`, `replace_string`, `map_string`, `set_value`, `convert_type`,
//! `value_placeholders`, `wildcard_placeholders`, `rule_failure`, `detection_item_failure`,
//! `strict_field_mapping_failure`, `set_state`, `add_field`, `remove_field`, `set_field`,
//! `set_custom_attribute`. Rule conditions: `logsource`, `contains_detection_item`,
//! `contains_field`, `processing_item_applied`, `processing_state`, `is_sigma_rule`,
//! `is_sigma_correlation_rule`, `rule_attribute`, `tag`. Detection item conditions:
//! `match_string`, `match_value`, `contains_wildcard`, `is_null`, `processing_item_applied`,
//! `processing_state`. Field name conditions: `include_fields`, `exclude_fields` (modes
//! `plain` and `re`), `processing_item_applied`, `processing_state`.
//!
//! RSigma's additions to `add_condition` are read too: `prepend` (siem always puts the added
//! condition first) and `field_refs` (`field: other_field`, a `fieldref` item).
//!
//! Not supported, each refused with an error naming it: `field_name_transform` (needs a
//! Python function), `query_expression_placeholders` and `regex` (they produce backend query
//! text), `hashes_fields`, `case` and `nest`. The query-stage keys `postprocessing` and
//! `finalizers` are accepted and ignored: they rewrite the query text a backend emits, and
//! siem matches the rule itself.
//!
//! # Semantics that differ from pySigma
//!
//! - Pipelines run on each rule and on each filter separately (the filter's detection is
//!   rewritten like a rule's), where pySigma merges filters into rules first. With conditions
//!   that pick the same rules and filters this gives the same result.
//! - Correlation rules are kept raw by the loader, so pipelines do not rewrite their
//!   `group-by` fields; [`PipelineSet::map_field_name`] gives the mapping for that use.
//! - `set_custom_attribute` and `set_state` change nothing siem evaluates beyond the pipeline
//!   state (which `processing_state` conditions read).
//!
//! # Bundled pipelines
//!
//! [`Pipeline::bundled`] returns the pipelines shipped with siem (`windows`, `ecs`; see
//! [`BUNDLED`]); [`PipelineSet::defaults`] is the set a caller that names no pipeline should use.
//!
//! **Default.** Rules written in the Sigma taxonomy (all of SigmaHQ's) only match siem's
//! events through these pipelines, and each of them touches only rules of its own logsources
//! (Windows products; webserver, proxy, firewall, DNS categories; sudo), leaving names with a dot
//! (ECS) alone. So the default is to apply both: `siem scan` and `siem rules check` do unless
//! given `--pipeline` (which replaces the set) or `--no-default-pipelines`; an embedding
//! application building a [`RuleSetBuilder`] or an `Engine` installs
//! `PipelineSet::defaults()` the same way unless its user configured pipelines.
//!
//! # Example
//!
//! ```
//! use siem_core::sigma::{RuleSet, pipeline::{Pipeline, PipelineSet}};
//! use siem_core::event::{Event, LogSource};
//!
//! let pipeline = Pipeline::from_yaml(r#"
//! name: ecs process
//! transformations:
//!   - type: field_name_mapping
//!     mapping:
//!       CommandLine: process.command_line
//! "#).unwrap();
//! let mut builder = RuleSet::builder();
//! PipelineSet::new(vec![pipeline]).install(&mut builder);
//! let (rules, errors) = builder
//!     .add_yaml("title: t\nlogsource: {category: process_creation}\ndetection:\n  sel:\n    CommandLine|contains: whoami\n  condition: sel\n", None)
//!     .build();
//! assert!(errors.is_empty());
//! let mut event = Event::new();
//! event.logsource = LogSource::new(None, Some("process_creation"), None);
//! event.insert("process.command_line", "cmd /c whoami");
//! assert_eq!(rules.matches(&event).len(), 1);
//! ```
//!
//! # Cost
//!
//! A pipeline runs once per rule at build time (a few microseconds per rule and transformation);
//! matching pays nothing for it.

mod condition;
mod parse;
mod transform;

use std::sync::Arc;

use indexmap::IndexMap;

pub use condition::{
    CondExpr, Conditions, DetectionItemCondition, FieldNameCondition, Logic, RuleCondition, Scalar,
    StateOp,
};
pub use transform::{ConvertTarget, Transformation};

use super::ast::SigmaRule;
use super::ruleset::RuleSetBuilder;

/// The pipelines shipped with siem, by name, as YAML text (embedded at build time).
///
/// - `windows`: the Sigma Windows taxonomy (Sysmon and Security channel names) onto the
///   fields siem's Windows event parser emits (`winlog.event_data.<Name>`, `winlog.event_id`,
///   `winlog.channel`, ...), for both JSON shapes it reads; Security 4688 process creation as
///   an alternative to Sysmon 1 (`Image` is `Image` or `NewProcessName`, ...), Defender
///   antivirus names, Sysmon for Linux.
/// - `ecs`: webserver (W3C names such as `cs-uri-query`), proxy, firewall, DNS and Linux
///   (sudo) rules onto the ECS fields siem's parsers emit.
pub const BUNDLED: &[(&str, &str)] = &[
    ("windows", include_str!("../../../pipelines/windows.yml")),
    ("ecs", include_str!("../../../pipelines/ecs.yml")),
];

/// The bundled pipelines a caller that names none should apply: every one of them, since each
/// only touches rules of its own logsources.
pub const DEFAULT_PIPELINES: &[&str] = &["windows", "ecs"];

/// Why a pipeline could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PipelineError {
    /// Not YAML, or YAML the loader refuses (too large, too deep, alias bombs).
    #[error("invalid YAML: {0}")]
    Yaml(String),
    /// The document is not a mapping, or a key has a value of the wrong shape.
    #[error("{0}")]
    Shape(String),
    /// A top-level key pySigma does not define.
    #[error(
        "unknown key `{0}`: a pipeline has name, priority, vars, transformations, postprocessing, finalizers, allowed_backends"
    )]
    UnknownKey(String),
    /// A problem in one processing item (transformation).
    #[error("transformation {item}: {message}")]
    Item {
        /// The item's `id`, else its 1-based position.
        item: String,
        /// What is wrong.
        message: String,
    },
}

/// A processing pipeline: a named, prioritised list of [`ProcessingItem`]s.
///
/// Built from YAML ([`Pipeline::from_yaml`]) or taken from the bundled ones
/// ([`Pipeline::bundled`]). Cheap to clone (items are shared).
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// `name` (empty when the YAML gives none).
    pub name: String,
    /// `priority`: lower runs first (pySigma's convention: 10 logsource, 20 field mapping,
    /// 100 user).
    pub priority: i64,
    /// `vars`: placeholder values for `value_placeholders`, each a list of Sigma strings.
    pub vars: IndexMap<String, Vec<String>>,
    /// `transformations`, in order.
    pub items: Arc<[ProcessingItem]>,
}

/// One entry of `transformations`: a transformation and the conditions that select where it
/// applies.
#[derive(Debug, Clone)]
pub struct ProcessingItem {
    /// `id`, which `processing_item_applied` conditions refer to.
    pub id: Option<String>,
    /// What it does.
    pub transformation: Transformation,
    /// `rule_conditions` with `rule_cond_op` / `rule_cond_expr` / `rule_cond_not`.
    pub rule_conditions: Conditions<RuleCondition>,
    /// `detection_item_conditions` with their op / expr / not.
    pub detection_item_conditions: Conditions<DetectionItemCondition>,
    /// `field_name_conditions` with their op / expr / not.
    pub field_name_conditions: Conditions<FieldNameCondition>,
}

impl Pipeline {
    /// Reads a pipeline from pySigma YAML.
    ///
    /// ```
    /// use siem_core::sigma::pipeline::Pipeline;
    /// let p = Pipeline::from_yaml("name: x\npriority: 20\ntransformations:\n  - type: field_name_prefix\n    prefix: 'winlog.'\n").unwrap();
    /// assert_eq!((p.name.as_str(), p.priority, p.items.len()), ("x", 20, 1));
    /// let err = Pipeline::from_yaml("transformations:\n  - type: nest\n").unwrap_err();
    /// assert!(err.to_string().contains("`nest` is not supported"));
    /// ```
    pub fn from_yaml(text: &str) -> Result<Pipeline, PipelineError> {
        parse::pipeline(text)
    }

    /// A bundled pipeline by name (see [`BUNDLED`]), or `None`.
    pub fn bundled(name: &str) -> Option<Pipeline> {
        let (_, text) = BUNDLED.iter().find(|(n, _)| *n == name)?;
        // The bundled texts are tested to parse; a failure here is a build defect, reported as
        // absence rather than a panic.
        Pipeline::from_yaml(text).ok()
    }

    /// Applies this pipeline alone to a rule (see [`PipelineSet::apply`]).
    pub fn apply(&self, rule: &mut SigmaRule) -> Result<(), String> {
        PipelineSet::new(vec![self.clone()]).apply(rule)
    }
}

/// Several pipelines resolved into one, as pySigma's resolver does: sorted by priority
/// (stable), their items run in that order on each rule with one shared per-rule state (so an
/// item may test whether an item of an earlier pipeline applied), `vars` merged (later
/// pipelines win).
///
/// Immutable and `Send + Sync`: [`install`](Self::install) hands it to a
/// [`RuleSetBuilder`] as a transformation.
#[derive(Debug, Clone, Default)]
pub struct PipelineSet {
    pipelines: Vec<Pipeline>,
    vars: IndexMap<String, Vec<String>>,
}

impl PipelineSet {
    /// Resolves `pipelines` (any order) into one set.
    pub fn new(mut pipelines: Vec<Pipeline>) -> PipelineSet {
        pipelines.sort_by_key(|p| p.priority);
        let mut vars = IndexMap::new();
        for p in &pipelines {
            for (k, v) in &p.vars {
                vars.insert(k.clone(), v.clone());
            }
        }
        PipelineSet { pipelines, vars }
    }

    /// The bundled pipelines named in [`DEFAULT_PIPELINES`]: what to apply when the caller
    /// names none.
    pub fn defaults() -> PipelineSet {
        PipelineSet::new(
            DEFAULT_PIPELINES
                .iter()
                .filter_map(|n| Pipeline::bundled(n))
                .collect(),
        )
    }

    /// The pipelines, in the order they run.
    pub fn pipelines(&self) -> &[Pipeline] {
        &self.pipelines
    }

    /// Whether the set holds no pipeline.
    pub fn is_empty(&self) -> bool {
        self.pipelines.is_empty()
    }

    /// Rewrites `rule` with every item whose rule conditions hold, in order. An `Err` says
    /// which pipeline and item refused the rule and why (`rule_failure`, a missing variable,
    /// ...).
    pub fn apply(&self, rule: &mut SigmaRule) -> Result<(), String> {
        transform::apply(self, rule)
    }

    /// Adds this set to `builder` as a transformation, so every rule and filter it compiles is
    /// rewritten first. Returns the builder for chaining.
    pub fn install(self, builder: &mut RuleSetBuilder) -> &mut RuleSetBuilder {
        if self.is_empty() {
            return builder;
        }
        builder.transform(move |rule| self.apply(rule))
    }

    /// What the field-name transformations that need no rule context (no rule or detection
    /// item condition other than a logsource one that `logsource` satisfies) make of `field`:
    /// for mapping correlation rules' `group-by` fields, which the loader keeps raw. Returns
    /// the field unchanged when nothing maps it.
    pub fn map_field_name(&self, field: &str, logsource: &crate::event::LogSource) -> Vec<String> {
        transform::map_field_name(self, field, logsource)
    }

    fn items(&self) -> impl Iterator<Item = (&Pipeline, usize, &ProcessingItem)> {
        self.pipelines.iter().flat_map(|p| {
            p.items
                .iter()
                .enumerate()
                .map(move |(i, item)| (p, i, item))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_pipelines_parse() {
        for (name, text) in BUNDLED {
            let p = Pipeline::from_yaml(text).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(p.name, *name);
            assert!(!p.items.is_empty());
        }
        assert_eq!(
            PipelineSet::defaults().pipelines().len(),
            DEFAULT_PIPELINES.len()
        );
    }

    #[test]
    fn pipeline_set_is_send_sync() {
        fn check<T: Send + Sync>() {}
        check::<PipelineSet>();
    }
}
