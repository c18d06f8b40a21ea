//! The one error type of the Sigma loader and compiler: [`RuleError`].

use std::fmt;

use compact_str::CompactString;

/// Why a rule (or a YAML document, a filter, a collection entry) could not be loaded or compiled.
///
/// Displays as `path: rule <id>: reason` so a list of them reads like compiler output; when the
/// document has no id the rule's name or title stands in, and when it has none of these, its
/// position in the YAML stream (`document 3`).
///
/// ```
/// use siem_core::sigma::RuleSet;
/// let (_, errors) = RuleSet::builder()
///     .add_yaml("title: t\nid: r1\ndetection:\n  sel:\n    a|bogus: x\n  condition: sel\n", Some("x.yml"))
///     .build();
/// assert_eq!(errors[0].to_string(), "x.yml: rule r1: field `a`: unknown modifier `bogus`");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RuleError {
    /// The file the YAML came from, when the caller said.
    pub path: Option<String>,
    /// The rule's id, else its name, else its title, when the document got that far.
    pub rule: Option<CompactString>,
    /// The 1-based position of the YAML document in its text (collections hold several).
    pub document: usize,
    /// The reason.
    pub kind: ErrorKind,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.path.as_deref().unwrap_or("<input>"))?;
        match &self.rule {
            Some(rule) => write!(f, ": rule {rule}: {}", self.kind),
            None => write!(f, ": document {}: {}", self.document, self.kind),
        }
    }
}

impl std::error::Error for RuleError {}

/// The reason inside a [`RuleError`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Not YAML, or YAML the loader refuses (anchors that expand too much, too deep nesting).
    #[error("invalid YAML: {0}")]
    Yaml(String),
    /// The text is larger than the loader accepts.
    #[error("YAML text of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// Size of the text.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The document is not a mapping.
    #[error("a Sigma document must be a mapping, got {0}")]
    NotAMapping(&'static str),
    /// A required key is missing.
    #[error("missing `{0}`")]
    Missing(&'static str),
    /// A key has a value of the wrong shape.
    #[error("`{key}` must be {expected}")]
    InvalidKey {
        /// The key, e.g. `logsource` or `detection.condition`.
        key: String,
        /// What it must be.
        expected: &'static str,
    },
    /// A legacy collection `action` the loader does not know.
    #[error("unknown collection action `{0}`: expected global, reset or repeat")]
    UnknownAction(String),
    /// `action: repeat` before any rule.
    #[error("`action: repeat` needs a previous rule in the same collection")]
    RepeatWithoutRule,
    /// The condition does not parse.
    #[error("condition `{condition}`: {message} at offset {offset}")]
    Condition {
        /// The condition text.
        condition: String,
        /// Byte offset of the offending token.
        offset: usize,
        /// What is wrong, naming the token.
        message: String,
    },
    /// A condition uses the aggregation syntax of Sigma 1 (`| count() by x > 5`, `near`).
    #[error(
        "condition `{0}` uses the Sigma 1 aggregation syntax (`| count()`, `near`), which Sigma 2 \
         replaced by correlation rules"
    )]
    UnsupportedAggregation(String),
    /// `detection.timeframe`: the window of a Sigma 1 aggregation.
    #[error(
        "`timeframe` belongs to the Sigma 1 aggregation syntax; Sigma 2 expresses time windows with \
         correlation rules"
    )]
    Timeframe,
    /// The condition names a search identifier the detection does not define.
    #[error("condition references unknown search identifier `{0}`")]
    UnknownIdentifier(String),
    /// `1 of x*` / `all of x*` where no identifier matches the pattern.
    #[error("`{0}` matches no search identifier")]
    EmptyPattern(String),
    /// A search identifier without content (`sel: {}` or `sel: []`).
    #[error("search identifier `{0}` is empty")]
    EmptyIdentifier(String),
    /// A detection item's modifier is not a Sigma modifier.
    #[error("field `{field}`: unknown modifier `{modifier}`")]
    UnknownModifier {
        /// Field name (empty for keywords).
        field: String,
        /// The modifier as written.
        modifier: String,
    },
    /// Modifiers that cannot be combined, or that do not fit the item.
    #[error("field `{field}`: {reason}")]
    IllegalModifiers {
        /// Field name (empty for keywords).
        field: String,
        /// Which combination and why.
        reason: String,
    },
    /// A value that does not fit its modifiers, or a value shape Sigma does not allow.
    #[error("field `{field}`: {reason}")]
    InvalidValue {
        /// Field name (empty for keywords).
        field: String,
        /// What is wrong with which value.
        reason: String,
    },
    /// A `re` value the regex engine rejects (syntax, unsupported look-around, size limit).
    #[error("field `{field}`: invalid regular expression `{pattern}`: {message}")]
    Regex {
        /// Field name (empty for keywords).
        field: String,
        /// The expression.
        pattern: String,
        /// The engine's message.
        message: String,
    },
    /// An `expand` placeholder no values were given for.
    #[error(
        "field `{field}`: placeholder %{name}% has no values (give them with RuleSetBuilder::placeholder)"
    )]
    UnfilledPlaceholder {
        /// Field name (empty for keywords).
        field: String,
        /// Placeholder name without the percent signs.
        name: String,
    },
    /// A rule expands into more alternatives than the compiler accepts.
    #[error("field `{field}`: expands into more than {limit} values")]
    TooManyValues {
        /// Field name (empty for keywords).
        field: String,
        /// The limit.
        limit: usize,
    },
    /// A correlation rule that does not parse, or whose references cannot be resolved.
    #[error("correlation: {0}")]
    Correlation(String),
    /// A transformation hook given to the builder rejected the rule.
    #[error("transformation failed: {0}")]
    Transform(String),
}
