//! Logstash-compatible grok expressions.
//!
//! An expression is a regular expression with pattern references: `%{NAME}`,
//! `%{NAME:field}` and `%{NAME:field:int}` / `:float`, plus ordinary named groups
//! `(?<field>...)` / `(?P<field>...)`. Field names are ECS dotted names (`source.ip`) or
//! Logstash's `[source][ip]`, which is read as `source.ip`. A capture named `@timestamp` is
//! parsed into the event time (ISO 8601, `HTTPDATE`, `SYSLOGTIMESTAMP`, epoch, ...); a capture
//! whose name ends in `.ip` becomes an address when it is one.
//!
//! The pattern library is Logstash's `grok-patterns` (Apache-2.0, see the header of
//! `grok-patterns` next to this file): `IP`, `IPV4`, `IPV6`, `HOSTNAME`, `IPORHOST`,
//! `LOGLEVEL`, `TIMESTAMP_ISO8601`, `HTTPDATE`, `SYSLOGTIMESTAMP`, `NUMBER`, `INT`, `POSINT`,
//! `WORD`, `NOTSPACE`, `SPACE`, `DATA`, `GREEDYDATA`, `QUOTEDSTRING`, `URIPATHPARAM`, `URI`,
//! `PATH`, `USERNAME`, `USER`, `EMAILADDRESS`, `MONTH`, `DAY`, `YEAR`, `TIME`,
//! `COMBINEDAPACHELOG`, `SYSLOGBASE`, ...
//!
//! Expressions compile to one [`regex::Regex`], which matches in time linear in the line
//! whatever the expression (no backtracking blow-up on hostile input). The price is that
//! look-around is not available; the library's few look-around guards were rewritten (see
//! `grok-patterns`). The `grok` crate was considered: its default engine is Oniguruma (C) and
//! its `regex` backend cannot compile the stock library, so siem carries its own ~300 lines.
//!
//! Matching is unanchored, as in Logstash: write `^...$` to anchor. Compile once, match
//! many times; a compiled [`Grok`] is cheap to clone and shareable across threads.
//!
//! ```
//! use siem_core::parse::grok::Grok;
//! let grok = Grok::compile("%{LOGLEVEL:log.level} %{TIMESTAMP_ISO8601:@timestamp} %{WORD:log.logger} %{GREEDYDATA:message}").unwrap();
//! let event = grok.parse("ERROR 2024-05-01 10:00:00,123 views Internal Server Error: /admin/", chrono_tz::UTC, chrono::Utc::now()).unwrap();
//! assert_eq!(event.get_str("log.level"), Some("ERROR"));
//! assert_eq!(event.get_str("message"), Some("Internal Server Error: /admin/"));
//! assert!(event.timestamp.is_some());
//! ```

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use compact_str::CompactString;
use regex::{Regex, RegexBuilder};

use super::time;
use crate::event::Event;

/// The pattern library source (Logstash `grok-patterns`, adapted).
pub const PATTERNS: &str = include_str!("grok-patterns");

/// Deepest chain of pattern references followed; deeper (or cyclic) definitions are an error.
pub const MAX_EXPANSION_DEPTH: usize = 32;

/// The largest compiled program accepted, in bytes (the `regex` crate's size limit).
pub const MAX_REGEX_SIZE: usize = 32 << 20;

/// Why a grok expression does not compile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrokError {
    /// `%{NAME}` names no pattern.
    #[error("unknown grok pattern %{{{0}}}")]
    UnknownPattern(String),
    /// A `%{` without its `}`, or an empty name.
    #[error("malformed pattern reference at byte {0}")]
    BadReference(usize),
    /// A conversion other than `int` and `float`.
    #[error("unknown conversion {0:?} (expected int or float)")]
    BadConversion(String),
    /// Patterns refer to each other too deeply (or in a cycle).
    #[error("pattern references nest deeper than {MAX_EXPANSION_DEPTH} (a cycle?) at %{{{0}}}")]
    TooDeep(String),
    /// The expanded regular expression does not compile.
    #[error("the expanded regular expression does not compile: {0}")]
    Regex(String),
}

/// How a capture is converted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Conversion {
    Text,
    Int,
    Float,
}

#[derive(Debug, Clone)]
struct Capture {
    group: usize,
    field: CompactString,
    conversion: Conversion,
}

/// A compiled grok expression.
#[derive(Debug, Clone)]
pub struct Grok {
    expression: String,
    regex: Regex,
    captures: Vec<Capture>,
}

fn library() -> &'static HashMap<&'static str, &'static str> {
    static LIBRARY: OnceLock<HashMap<&'static str, &'static str>> = OnceLock::new();
    LIBRARY.get_or_init(|| {
        PATTERNS
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .filter_map(|l| l.split_once(' '))
            .collect()
    })
}

/// `[a][b]` → `a.b`; other names unchanged.
fn field_name(raw: &str) -> CompactString {
    if raw.starts_with('[') && raw.ends_with(']') {
        let inner = &raw[1..raw.len() - 1];
        return CompactString::from(inner.replace("][", "."));
    }
    CompactString::from(raw)
}

struct Compiler<'p> {
    extra: &'p HashMap<String, String>,
    out: String,
    captures: Vec<(String, CompactString, Conversion)>,
}

impl Compiler<'_> {
    fn lookup(&self, name: &str) -> Option<String> {
        self.extra
            .get(name)
            .cloned()
            .or_else(|| library().get(name).map(|s| s.to_string()))
    }

    /// Expands `text` into `self.out`, renaming every named group to `gN`.
    fn expand(&mut self, text: &str, depth: usize, context: &str) -> Result<(), GrokError> {
        if depth > MAX_EXPANSION_DEPTH {
            return Err(GrokError::TooDeep(context.to_string()));
        }
        let b = text.as_bytes();
        let mut i = 0;
        let mut literal_start = 0;
        let mut in_class = false;
        while i < b.len() {
            match b[i] {
                b'\\' => {
                    i += 2;
                    continue;
                }
                b'[' if !in_class => in_class = true,
                b']' if in_class => in_class = false,
                b'%' if !in_class && b.get(i + 1) == Some(&b'{') => {
                    self.out.push_str(&text[literal_start..i]);
                    let close = text[i..]
                        .find('}')
                        .map(|c| i + c)
                        .ok_or(GrokError::BadReference(i))?;
                    let inside = &text[i + 2..close];
                    let mut parts = inside.splitn(3, ':');
                    let name = parts.next().unwrap_or_default();
                    if name.is_empty()
                        || !name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
                    {
                        return Err(GrokError::BadReference(i));
                    }
                    let field = parts.next().filter(|f| !f.is_empty());
                    let conversion = match parts.next() {
                        None => Conversion::Text,
                        Some("int") => Conversion::Int,
                        Some("float") => Conversion::Float,
                        Some(other) => return Err(GrokError::BadConversion(other.to_string())),
                    };
                    let definition = self
                        .lookup(name)
                        .ok_or_else(|| GrokError::UnknownPattern(name.to_string()))?;
                    match field {
                        Some(field) => {
                            let group = format!("g{}", self.captures.len());
                            self.captures
                                .push((group.clone(), field_name(field), conversion));
                            self.out.push_str("(?P<");
                            self.out.push_str(&group);
                            self.out.push('>');
                            self.expand(&definition, depth + 1, name)?;
                            self.out.push(')');
                        }
                        None => {
                            self.out.push_str("(?:");
                            self.expand(&definition, depth + 1, name)?;
                            self.out.push(')');
                        }
                    }
                    i = close + 1;
                    literal_start = i;
                    continue;
                }
                b'(' if !in_class && b.get(i + 1) == Some(&b'?') => {
                    // A named group: (?<name>  or  (?P<name>   (but not look-behind (?<= (?<!).
                    let after = &text[i + 2..];
                    let name_start = if after.starts_with("P<") {
                        Some(i + 4)
                    } else if after.starts_with('<')
                        && !after.starts_with("<=")
                        && !after.starts_with("<!")
                    {
                        Some(i + 3)
                    } else {
                        None
                    };
                    if let Some(start) = name_start
                        && let Some(end) = text[start..].find('>').map(|e| start + e)
                    {
                        self.out.push_str(&text[literal_start..i]);
                        let group = format!("g{}", self.captures.len());
                        self.captures.push((
                            group.clone(),
                            field_name(&text[start..end]),
                            Conversion::Text,
                        ));
                        self.out.push_str("(?P<");
                        self.out.push_str(&group);
                        self.out.push('>');
                        i = end + 1;
                        literal_start = i;
                        continue;
                    }
                }
                _ => {}
            }
            i += 1;
        }
        if literal_start < text.len() {
            self.out.push_str(&text[literal_start.min(text.len())..]);
        }
        Ok(())
    }
}

impl Grok {
    /// Compiles an expression against the built-in library.
    pub fn compile(expression: &str) -> Result<Grok, GrokError> {
        Grok::compile_with(expression, &HashMap::new())
    }

    /// Compiles an expression with extra pattern definitions (which take precedence over the
    /// library's).
    pub fn compile_with(
        expression: &str,
        patterns: &HashMap<String, String>,
    ) -> Result<Grok, GrokError> {
        let mut compiler = Compiler {
            extra: patterns,
            out: String::with_capacity(expression.len() * 4),
            captures: Vec::new(),
        };
        compiler.expand(expression, 0, "expression")?;
        let regex = RegexBuilder::new(&compiler.out)
            .size_limit(MAX_REGEX_SIZE)
            .dfa_size_limit(MAX_REGEX_SIZE)
            .build()
            .map_err(|e| GrokError::Regex(e.to_string()))?;
        let captures = compiler
            .captures
            .into_iter()
            .filter_map(|(group, field, conversion)| {
                let index = regex
                    .capture_names()
                    .position(|n| n == Some(group.as_str()))?;
                Some(Capture {
                    group: index,
                    field,
                    conversion,
                })
            })
            .collect();
        Ok(Grok {
            expression: expression.to_string(),
            regex,
            captures,
        })
    }

    /// The expression as written.
    pub fn expression(&self) -> &str {
        &self.expression
    }

    /// The expanded regular expression.
    pub fn regex(&self) -> &str {
        self.regex.as_str()
    }

    /// The non-empty captures of the first match, as `(field, text)` in expression order;
    /// `None` when the line does not match.
    pub fn captures<'t>(&self, line: &'t str) -> Option<Vec<(&str, &'t str)>> {
        let caps = self.regex.captures(line)?;
        Some(
            self.captures
                .iter()
                .filter_map(|c| {
                    caps.get(c.group)
                        .filter(|m| !m.is_empty())
                        .map(|m| (c.field.as_str(), m.as_str()))
                })
                .collect(),
        )
    }

    /// Matches `line` and builds an event (with `event.original`), or `None`.
    pub fn parse(&self, line: &str, tz: Tz, now: DateTime<Utc>) -> Option<Event> {
        let mut event = super::new_event(line, 16);
        self.decode(line, tz, now, &mut event).then_some(event)
    }

    /// Matches `text` and writes the captures into `event`; `false` (event untouched) when it
    /// does not match.
    pub fn decode(&self, text: &str, tz: Tz, now: DateTime<Utc>, event: &mut Event) -> bool {
        let Some(caps) = self.regex.captures(text) else {
            return false;
        };
        for capture in &self.captures {
            let Some(m) = caps.get(capture.group).filter(|m| !m.is_empty()) else {
                continue;
            };
            let value = m.as_str();
            if capture.field == "@timestamp" {
                match time::parse_any(value, tz, now) {
                    Some(ts) => event.timestamp = Some(ts),
                    None => event.insert(
                        "error.message",
                        format!(
                            "grok captured @timestamp {value:?}, which is not a time siem can read"
                        ),
                    ),
                }
                continue;
            }
            let field = capture.field.clone();
            match capture.conversion {
                Conversion::Int => match value.trim().parse::<i64>() {
                    Ok(n) => event.insert(field, n),
                    Err(_) => event.insert(field, value),
                },
                Conversion::Float => match value.trim().parse::<f64>() {
                    Ok(f) => event.insert(field, f),
                    Err(_) => event.insert(field, value),
                },
                Conversion::Text if field.ends_with(".ip") => match value.parse::<IpAddr>() {
                    Ok(ip) => event.insert(field, ip),
                    Err(_) => event.insert(field, value),
                },
                Conversion::Text => event.insert(field, value),
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Value;

    #[test]
    fn every_library_pattern_compiles() {
        for name in library().keys() {
            Grok::compile(&format!("%{{{name}}}")).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        assert!(library().len() > 70, "{}", library().len());
    }

    #[test]
    fn library_patterns_match_what_they_should() {
        let cases = [
            ("IPV4", "10.1.255.7", true),
            ("IP", "2001:db8::1", true),
            ("HOSTNAME", "www.example.com", true),
            ("TIMESTAMP_ISO8601", "2024-05-01T10:00:00.123+02:00", true),
            ("HTTPDATE", "10/Oct/2000:13:55:36 -0700", true),
            ("SYSLOGTIMESTAMP", "Jun  8 14:34:33", true),
            ("LOGLEVEL", "WARNING", true),
            ("EMAILADDRESS", "a.b@example.org", true),
            ("URI", "https://user@example.com:8443/a/b?c=d", true),
            ("POSINT", "0", false),
            ("QUOTEDSTRING", r#""a \" b""#, true),
        ];
        for (name, text, should) in cases {
            let g = Grok::compile(&format!("^%{{{name}:x}}$")).unwrap();
            assert_eq!(g.captures(text).is_some(), should, "{name} on {text:?}");
        }
    }

    #[test]
    fn fields_conversions_and_named_groups() {
        let g = Grok::compile(r"%{IP:source.ip} %{INT:[http][response][status_code]:int} (?<duration>%{NUMBER:d:float})s (?P<rest>.*)").unwrap();
        let e = g
            .parse("203.0.113.7 404 0.25s done", chrono_tz::UTC, Utc::now())
            .unwrap();
        assert_eq!(
            e.get("source.ip"),
            Some(&Value::Ip("203.0.113.7".parse().unwrap()))
        );
        assert_eq!(e.get("http.response.status_code"), Some(&Value::Int(404)));
        assert_eq!(e.get("d"), Some(&Value::Float(0.25)));
        assert_eq!(e.get_str("duration"), Some("0.25"));
        assert_eq!(e.get_str("rest"), Some("done"));
        assert!(g.parse("nope", chrono_tz::UTC, Utc::now()).is_none());
    }

    #[test]
    fn combined_apache_log_and_syslog_base() {
        let g = Grok::compile("%{COMBINEDAPACHELOG}").unwrap();
        let caps = g.captures(r#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 200 2326 "-" "curl""#).unwrap();
        assert!(caps.contains(&("clientip", "127.0.0.1")));
        assert!(caps.contains(&("request", "/a.gif")));
        let g = Grok::compile("%{SYSLOGBASE} %{GREEDYDATA:message}").unwrap();
        let caps = g
            .captures("Jun  8 14:34:33 sd-126005 sshd[123]: Failed password")
            .unwrap();
        assert!(caps.contains(&("program", "sshd")));
        assert!(caps.contains(&("pid", "123")));
    }

    #[test]
    fn compile_errors() {
        assert_eq!(
            Grok::compile("%{NOPE}").unwrap_err(),
            GrokError::UnknownPattern("NOPE".into())
        );
        assert!(matches!(
            Grok::compile("%{WORD"),
            Err(GrokError::BadReference(0))
        ));
        assert!(matches!(
            Grok::compile("%{WORD:x:date}"),
            Err(GrokError::BadConversion(_))
        ));
        assert!(matches!(
            Grok::compile("(unclosed"),
            Err(GrokError::Regex(_))
        ));
        let mut cyclic = HashMap::new();
        cyclic.insert("A".to_string(), "%{B}".to_string());
        cyclic.insert("B".to_string(), "%{A}".to_string());
        assert!(matches!(
            Grok::compile_with("%{A}", &cyclic),
            Err(GrokError::TooDeep(_))
        ));
    }

    #[test]
    fn timestamp_capture() {
        let g = Grok::compile(r"\[%{HTTPDATE:@timestamp}\]").unwrap();
        let e = g
            .parse(
                "x [10/Oct/2000:13:55:36 -0700] y",
                chrono_tz::UTC,
                Utc::now(),
            )
            .unwrap();
        assert_eq!(
            e.timestamp.unwrap().to_rfc3339(),
            "2000-10-10T20:55:36+00:00"
        );
    }
}
