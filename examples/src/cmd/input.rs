//! The options that say how input lines are read, shared by `siem parse` and `siem scan`.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use chrono::{DateTime, Utc};
use siem_core::event::LogSource;
use siem_core::parse::{self, FormatSpec, ParseOptions};

/// How lines are parsed: format, logsource, time zone, reference time, line limit.
#[derive(Debug, clap::Args)]
pub struct InputArgs {
    /// Log format: auto, syslog, json, apache, nginx, cef, leef, kv (or logfmt), grok:<expression>.
    #[arg(long, short, default_value = "auto", value_parser = parse_format)]
    format: FormatSpec,

    /// Logsource parts for the events, e.g. `product=django,category=application`. They fill
    /// what the parser could not tell (see --logsource-override).
    #[arg(long, value_parser = parse_logsource)]
    logsource: Option<LogSource>,

    /// Let --logsource replace what the parser inferred instead of only filling gaps.
    #[arg(long, requires = "logsource")]
    logsource_override: bool,

    /// Time zone of timestamps that carry none (IANA name, e.g. Europe/Paris).
    #[arg(long, default_value = "UTC", value_parser = parse_timezone)]
    timezone: chrono_tz::Tz,

    /// "Now" for giving yearless timestamps a year (RFC 3339); default: the clock.
    #[arg(long, value_parser = parse_time)]
    reference_time: Option<DateTime<Utc>>,

    /// Longest line accepted; longer lines are cut there and tagged.
    #[arg(long, default_value_t = parse::DEFAULT_MAX_LINE_BYTES, value_parser = parse_max_line_bytes)]
    max_line_bytes: usize,
}

impl InputArgs {
    /// The parser's options these arguments describe.
    pub fn parse_options(&self) -> ParseOptions {
        ParseOptions {
            format: self.format.clone(),
            timezone: self.timezone,
            reference_time: self.reference_time,
            max_line_bytes: self.max_line_bytes,
            logsource: self.logsource.clone().unwrap_or_default(),
            logsource_override: self.logsource_override,
        }
    }
}

fn parse_format(s: &str) -> Result<FormatSpec, String> {
    s.parse()
}

fn parse_logsource(s: &str) -> Result<LogSource, String> {
    LogSource::parse_spec(s)
}

fn parse_timezone(s: &str) -> Result<chrono_tz::Tz, String> {
    s.parse::<chrono_tz::Tz>().map_err(|_| {
        format!("unknown time zone {s:?}: expected an IANA name such as UTC or Europe/Paris")
    })
}

fn parse_time(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("{s:?} is not an RFC 3339 time: {e}"))
}

fn parse_max_line_bytes(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".to_string()),
        Ok(n) => Ok(n),
        Err(e) => Err(format!("{s:?} is not a byte count: {e}")),
    }
}

/// What opening one FILE argument gave.
pub enum Opened {
    /// The stream to read.
    Reader(Box<dyn Read>),
    /// A second `-`: standard input is read once; reported, not counted as a failure.
    Skipped,
    /// The file could not be opened; reported on stderr.
    Failed,
}

/// Opens the FILE arguments of a command in turn: `-` is standard input (read once), any other
/// argument a file. Problems are reported on stderr prefixed with the command's name.
pub struct Inputs {
    command: &'static str,
    stdin_used: bool,
}

impl Inputs {
    /// An opener for `command` (e.g. `"siem scan"`), used in its messages.
    pub fn new(command: &'static str) -> Self {
        Inputs {
            command,
            stdin_used: false,
        }
    }

    /// Opens one FILE argument.
    pub fn open(&mut self, path: &Path) -> Opened {
        if path.as_os_str() == "-" {
            if self.stdin_used {
                eprintln!(
                    "{}: `-` given twice; standard input is read once",
                    self.command
                );
                return Opened::Skipped;
            }
            self.stdin_used = true;
            return Opened::Reader(Box::new(io::stdin().lock()));
        }
        match File::open(path) {
            Ok(f) => Opened::Reader(Box::new(f)),
            Err(e) => {
                eprintln!("{}: cannot open {}: {e}", self.command, path.display());
                Opened::Failed
            }
        }
    }
}
