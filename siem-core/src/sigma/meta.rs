//! Rule metadata: what an alert tells about the rule that raised it.

use compact_str::CompactString;

use crate::event::LogSource;

/// A Sigma rule `level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Level {
    /// `informational`
    Informational,
    /// `low`
    Low,
    /// `medium` (also the level assumed when a rule gives none)
    #[default]
    Medium,
    /// `high`
    High,
    /// `critical`
    Critical,
}

impl Level {
    /// The name as written in Sigma.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Informational => "informational",
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
            Level::Critical => "critical",
        }
    }

    /// Parses a Sigma level name (case-insensitive).
    ///
    /// ```
    /// use siem_core::sigma::Level;
    /// assert_eq!(Level::parse("High"), Some(Level::High));
    /// assert_eq!(Level::parse("urgent"), None);
    /// ```
    pub fn parse(s: &str) -> Option<Level> {
        Some(match s.to_ascii_lowercase().as_str() {
            "informational" => Level::Informational,
            "low" => Level::Low,
            "medium" => Level::Medium,
            "high" => Level::High,
            "critical" => Level::Critical,
            _ => return None,
        })
    }
}

/// A Sigma rule `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// `stable`
    Stable,
    /// `test`
    Test,
    /// `experimental`
    Experimental,
    /// `deprecated`
    Deprecated,
    /// `unsupported`
    Unsupported,
}

impl Status {
    /// The name as written in Sigma.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Stable => "stable",
            Status::Test => "test",
            Status::Experimental => "experimental",
            Status::Deprecated => "deprecated",
            Status::Unsupported => "unsupported",
        }
    }

    /// Parses a Sigma status name (case-insensitive).
    pub fn parse(s: &str) -> Option<Status> {
        Some(match s.to_ascii_lowercase().as_str() {
            "stable" => Status::Stable,
            "test" | "testing" => Status::Test,
            "experimental" => Status::Experimental,
            "deprecated" => Status::Deprecated,
            "unsupported" => Status::Unsupported,
            _ => return None,
        })
    }
}

/// The metadata of a detection or correlation rule, kept from its YAML.
///
/// Shared by every alert the rule raises (behind an `Arc`), so it costs nothing per alert.
/// The Detection Rule License of SigmaHQ's rules asks that alerts keep the rule's author,
/// which is why [`RuleMeta::author`] travels with every alert.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RuleMeta {
    /// `id` (a UUID in SigmaHQ rules). Empty when the rule has none.
    pub id: CompactString,
    /// `name`, the stable handle correlation rules may use instead of the id.
    pub name: Option<CompactString>,
    /// `title`.
    pub title: String,
    /// `description`.
    pub description: Option<String>,
    /// `level`.
    pub level: Option<Level>,
    /// `status`.
    pub status: Option<Status>,
    /// `tags`, e.g. `attack.t1110` and `attack.credential-access`.
    pub tags: Vec<CompactString>,
    /// `references`.
    pub references: Vec<String>,
    /// `falsepositives`.
    pub falsepositives: Vec<String>,
    /// `author`.
    pub author: Option<String>,
    /// `date`, as written.
    pub date: Option<CompactString>,
    /// `modified`, as written.
    pub modified: Option<CompactString>,
    /// `logsource` of the rule (`product`, `category`, `service`, lowercased as Sigma asks).
    pub logsource: LogSource,
    /// `logsource.definition`: how the source must be configured; never evaluated.
    pub logsource_definition: Option<String>,
    /// Any other `logsource` keys, in rule order, with their values as text.
    pub logsource_custom: Vec<(CompactString, String)>,
    /// `fields`: event fields worth showing to an analyst.
    pub fields: Vec<CompactString>,
    /// `related`: other rules this one derives from, obsoletes, and so on.
    pub related: Vec<RelatedRule>,
    /// `taxonomy` (`sigma` when absent).
    pub taxonomy: Option<CompactString>,
    /// `license` (an SPDX id).
    pub license: Option<CompactString>,
    /// The file the rule came from, when it came from a file.
    pub path: Option<String>,
}

impl RuleMeta {
    /// The handle alerts and messages use for the rule: its `id`, else its `name`, else its
    /// `title`.
    pub fn handle(&self) -> &str {
        if !self.id.is_empty() {
            &self.id
        } else if let Some(name) = &self.name {
            name
        } else {
            &self.title
        }
    }
}

/// One entry of a rule's `related` list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelatedRule {
    /// The related rule's id.
    pub id: CompactString,
    /// The relation as written: `derived`, `obsolete`, `merged`, `renamed` or `similar`.
    pub kind: CompactString,
}
