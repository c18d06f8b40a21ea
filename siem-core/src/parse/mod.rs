//! Parsers: raw log lines in, ECS [`Event`]s out.
//!
//! A [`Parser`] is built once from [`ParseOptions`] (which format, which time zone for
//! timestamps that carry none, the longest line accepted, logsource tags) and then turns each
//! line into a [`Parsed`]: always an event, never an error, because a SIEM must not lose input.
//! A line no format fits still becomes an event holding `event.original`, `message` and the
//! tag [`PARSE_FAILURE_TAG`](crate::event::PARSE_FAILURE_TAG), with the reason in
//! `error.message`; [`Parsed::format`] says which format was chosen.
//!
//! ```
//! use siem_core::parse::{Parser, ParseOptions, Format};
//!
//! let parser = Parser::new(ParseOptions::default()).unwrap();
//! let parsed = parser.parse(b"not a log line anyone knows");
//! assert_eq!(parsed.format, Format::Unparsed);
//! assert_eq!(parsed.event.original(), Some("not a log line anyone knows"));
//! ```

use chrono::{DateTime, Utc};

use crate::event::{Event, LogSource};

pub mod access;
pub mod cef;
pub mod grok;
pub mod json;
pub mod kv;
pub mod leef;
pub mod programs;
pub mod syslog;
pub mod time;

/// A log format: what a caller asks for ([`FormatSpec`] in `ParseOptions`) and what a parser
/// reports having read ([`Parsed::format`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// Syslog, RFC 5424.
    Rfc5424,
    /// Syslog, RFC 3164 (BSD) and its real-world variants.
    Rfc3164,
    /// A JSON object (ECS passes through; Windows and Python/Django records are recognised).
    Json,
    /// Apache access log (common, combined, vhost).
    ApacheAccess,
    /// Apache error log.
    ApacheError,
    /// nginx access log.
    NginxAccess,
    /// nginx error log.
    NginxError,
    /// ArcSight Common Event Format.
    Cef,
    /// IBM QRadar Log Event Extended Format.
    Leef,
    /// `key=value` pairs and logfmt.
    Kv,
    /// A user-supplied grok expression.
    Grok,
    /// Nothing fit: the event holds the raw line and a parse-failure tag.
    Unparsed,
}

impl Format {
    /// The name used in output and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Format::Rfc5424 => "rfc5424",
            Format::Rfc3164 => "rfc3164",
            Format::Json => "json",
            Format::ApacheAccess => "apache_access",
            Format::ApacheError => "apache_error",
            Format::NginxAccess => "nginx_access",
            Format::NginxError => "nginx_error",
            Format::Cef => "cef",
            Format::Leef => "leef",
            Format::Kv => "kv",
            Format::Grok => "grok",
            Format::Unparsed => "unparsed",
        }
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Which parser a caller asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum FormatSpec {
    /// Per line, the format that fits (JSON, RFC 5424, RFC 3164, CEF, LEEF, access log, key=value).
    #[default]
    Auto,
    /// Syslog (RFC 5424 or RFC 3164, whichever the line is), with program decoders.
    Syslog,
    /// JSON objects.
    Json,
    /// Apache access or error log.
    Apache,
    /// nginx access or error log.
    Nginx,
    /// CEF.
    Cef,
    /// LEEF.
    Leef,
    /// key=value / logfmt.
    Kv,
    /// A grok expression, e.g. `%{LOGLEVEL:log.level} %{GREEDYDATA:message}`.
    Grok(String),
}

impl std::str::FromStr for FormatSpec {
    type Err = String;

    /// Parses the `--format` argument: `auto|syslog|json|apache|nginx|cef|leef|kv|grok:<expr>`.
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "auto" => FormatSpec::Auto,
            "syslog" => FormatSpec::Syslog,
            "json" => FormatSpec::Json,
            "apache" => FormatSpec::Apache,
            "nginx" => FormatSpec::Nginx,
            "cef" => FormatSpec::Cef,
            "leef" => FormatSpec::Leef,
            "kv" | "logfmt" => FormatSpec::Kv,
            _ => match s.strip_prefix("grok:") {
                Some(expr) => FormatSpec::Grok(expr.to_string()),
                None => {
                    return Err(format!(
                        "unknown format {s:?}: expected auto, syslog, json, apache, nginx, cef, leef, kv or grok:<expression>"
                    ));
                }
            },
        })
    }
}

/// Options for building a [`Parser`].
#[derive(Debug, Clone)]
pub struct ParseOptions {
    /// Which format to read; [`FormatSpec::Auto`] detects per line.
    pub format: FormatSpec,
    /// The zone of timestamps that carry no offset (classic syslog, many application logs).
    pub timezone: chrono_tz::Tz,
    /// "Now", for giving yearless timestamps a year: the year is the reference's, or the
    /// previous one when the date would otherwise lie in the future. `None` means the clock.
    pub reference_time: Option<DateTime<Utc>>,
    /// Lines longer than this many bytes are cut here and tagged; the event keeps the cut line.
    pub max_line_bytes: usize,
    /// Logsource parts to assign. Fills what the parser could not tell; with
    /// [`ParseOptions::logsource_override`] it replaces what it could.
    pub logsource: LogSource,
    /// Whether [`ParseOptions::logsource`] replaces the parser's own logsource parts.
    pub logsource_override: bool,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            format: FormatSpec::Auto,
            timezone: chrono_tz::UTC,
            reference_time: None,
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
            logsource: LogSource::default(),
            logsource_override: false,
        }
    }
}

/// The default longest line: 1 MiB.
pub const DEFAULT_MAX_LINE_BYTES: usize = 1 << 20;

/// A configuration error found when building a [`Parser`] (a bad grok expression, say).
#[derive(Debug, thiserror::Error)]
pub enum ParseConfigError {
    /// The grok expression does not compile.
    #[error("invalid grok expression: {0}")]
    Grok(String),
}

/// One parsed line: the event and the format it was read as.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    /// The event; for unreadable input it holds the raw line and a parse-failure tag.
    pub event: Event,
    /// The format chosen; [`Format::Unparsed`] when none fit.
    pub format: Format,
}

/// A reusable, thread-safe parser. Building it compiles what the options need (grok
/// expressions); parsing a line allocates only the event's own fields.
#[derive(Debug, Clone)]
pub struct Parser {
    options: ParseOptions,
    reference_time: Option<DateTime<Utc>>,
}

impl Parser {
    /// Builds a parser.
    pub fn new(options: ParseOptions) -> Result<Parser, ParseConfigError> {
        Ok(Parser {
            reference_time: options.reference_time,
            options,
        })
    }

    /// The options this parser was built with.
    pub fn options(&self) -> &ParseOptions {
        &self.options
    }

    /// Parses one line (without its line terminator). Never fails: see the [module docs](self).
    pub fn parse(&self, line: &[u8]) -> Parsed {
        let _ = self.reference_time;
        let text = String::from_utf8_lossy(line);
        let mut event = Event::with_original(&text);
        event.insert(crate::event::MESSAGE, text.as_ref());
        event.insert("error.message", "no parser has been implemented yet");
        event.add_tag(crate::event::PARSE_FAILURE_TAG);
        self.apply_logsource(&mut event);
        Parsed {
            event,
            format: Format::Unparsed,
        }
    }

    fn apply_logsource(&self, event: &mut Event) {
        if self.options.logsource_override {
            event.logsource.override_with(&self.options.logsource);
        } else {
            event.logsource.fill_from(&self.options.logsource);
        }
    }
}
