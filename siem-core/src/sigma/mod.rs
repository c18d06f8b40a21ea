//! Sigma: the rule language (specification v2.1), from YAML to a compiled [`RuleSet`] that
//! matches [`Event`](crate::event::Event)s.
//!
//! # Stages
//!
//! 1. **Loading** ([`parse_documents`], [`RuleSetBuilder::add_yaml`]): YAML, read with
//!    `yaml_serde` under size, node, alias-expansion and depth bounds, becomes
//!    [`SigmaDocument`]s: detection rules, filters (meta rules with a `filter:` section) and
//!    correlation rules (kept raw as [`RawCorrelation`] for the correlation engine). Legacy
//!    multi-document collections (`action: global / reset / repeat`) are expanded.
//! 2. **The rule tree** ([`SigmaRule`], [`Detection`], [`DetectionNode`], [`DetectionItem`],
//!    [`Condition`]): plain owned data that transformations ([`RuleSetBuilder::transform`],
//!    which processing pipelines use) may rewrite before compilation.
//! 3. **Compilation** ([`RuleSetBuilder::build`]): field names are interned, string values
//!    folded and split into literal pieces, numbers, regular expressions and networks parsed,
//!    placeholders filled and modifier combinations checked. Filters are attached to the rules
//!    they name as `and not (filter)`. A rule that fails becomes a [`RuleError`] naming the file,
//!    the rule and the reason; the others load.
//! 4. **Matching** ([`RuleSet::matches`]): route the event by logsource, skip rules whose
//!    required literals are absent (Aho-Corasick per field), evaluate the rest.
//!
//! [`pipeline`] reads pySigma processing pipelines (field mappings and the like) and applies
//! them through that hook; siem bundles pipelines for its own Windows and ECS events.
//!
//! [`reference`](mod@reference) holds a plain interpreter of the rule tree, written straight from the
//! specification, that the tests compare the compiled matcher against.
//!
//! # Semantics in brief
//!
//! - Maps are AND, lists OR; a list of plain values under an identifier (or a plain list) is a
//!   keyword search over every string value of the event (substring, like a full-text search),
//!   `event.original` excepted when other text is present, as Elasticsearch does not index it
//!   ([`Event::keyword_strings`](crate::Event::keyword_strings)).
//! - Strings compare case-insensitively (each character folded by Unicode's lowercase mapping;
//!   `cased` turns that off) with `*` and `?` wildcards and backslash escapes
//!   ([`escape_value`]).
//! - Numbers and booleans in a rule are strings too (`4625` matches `"4625"` and the integer
//!   4625) unless a numeric modifier asks for a number.
//! - `null` matches an absent or null field; `''` an empty string.
//! - A field holding a list matches when any element matches.
//! - `neq`: the field is present and (some element) differs from every value.
//! - `re` searches (is not anchored), case-sensitively unless `i`; `m` and `s` as in PCRE.
//! - Time modifiers read RFC 3339 or `YYYY-MM-DD HH:MM:SS[.f]` text (as written, no time zone
//!   conversion) and the event's own timestamp under the field name `@timestamp`.
//! - `cidr` matches IPv4 and IPv6 addresses (IPv4-mapped IPv6 counts as IPv4).
//! - `fieldref` compares with another field of the same event (case-insensitively unless
//!   `cased`; with `contains` / `startswith` / `endswith`).

mod ast;
mod compile;
mod condition;
pub mod correlation;
mod error;
mod eval;
mod lazy_regex;
mod meta;
mod needles;
mod pattern;
pub mod pipeline;
mod prefilter;
pub mod reference;
mod ruleset;
mod string;
mod yaml;
mod yaml_fast;

pub use ast::{
    Detection, DetectionItem, DetectionNode, FilterTargets, Modifier, RawCorrelation,
    SigmaDocument, SigmaFilter, SigmaRule, SigmaValue, parse_documents,
};
pub use compile::{MAX_EXPANSION, REGEX_SIZE_LIMIT};
pub use condition::{Condition, MAX_CONDITION_DEPTH, Selector, parse_condition};
pub use error::{ErrorKind, RuleError};
pub use eval::TIMESTAMP_FIELD;
pub use meta::{Level, RelatedRule, RuleMeta, Status};
pub use ruleset::{
    DEFAULT_CATEGORY_IMPLICATIONS, MatchScratch, MatchTrace, PrefilterStats, RuleId, RuleSet,
    RuleSetBuilder, Transform,
};
pub use string::{WINDASH_CHARS, escape_value, fold_case};
pub use yaml::{
    MAX_DEPTH, MAX_NODES, MAX_STRING_BYTES, MAX_TEXT_BYTES, read_yaml_fast, read_yaml_serde,
};
