//! `siem parse`: log lines in, ECS JSON events out.
//!
//! Reads each FILE (`-` is stdin) line by line with a bounded reader, parses every non-blank
//! line, and prints one JSON event per line on stdout. A summary goes to stderr: lines read,
//! parse failures, lines cut, invalid UTF-8, blank lines skipped. A file that cannot be opened
//! or read is reported and skipped; the exit status is then 1.

use std::io::{self, BufWriter, ErrorKind, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use siem_collect::lines::{LineReader, LineStats};
use siem_core::event::PARSE_FAILURE_TAG;
use siem_core::parse::{INVALID_UTF8_TAG, Parser};

use super::input::{InputArgs, Inputs, Opened};

/// Arguments of `siem parse`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    input: InputArgs,

    /// Add `"siem":{"format":"..."}` to each event: the format each line was read as.
    #[arg(long)]
    show_format: bool,

    /// Files to read; `-` reads standard input.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

/// Totals over all files.
#[derive(Debug, Default)]
struct Summary {
    read: LineStats,
    blank: u64,
    failures: u64,
    invalid_utf8: u64,
    files_failed: u64,
}

/// Runs `siem parse`.
pub fn run(args: Args) -> ExitCode {
    let options = args.input.parse_options();
    let parser = match Parser::new(options) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("siem parse: {e}");
            return ExitCode::from(2);
        }
    };
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut summary = Summary::default();
    let mut inputs = Inputs::new("siem parse");
    for path in &args.files {
        let input = match inputs.open(path) {
            Opened::Reader(input) => input,
            Opened::Skipped => continue,
            Opened::Failed => {
                summary.files_failed += 1;
                continue;
            }
        };
        match parse_stream(input, &parser, args.show_format, &mut out, &mut summary) {
            Ok(()) => {}
            Err(Failure::Output(e)) if e.kind() == ErrorKind::BrokenPipe => {
                return ExitCode::SUCCESS;
            }
            Err(Failure::Output(e)) => {
                eprintln!("siem parse: cannot write the output: {e}");
                return ExitCode::FAILURE;
            }
            Err(Failure::Input(e)) => {
                eprintln!("siem parse: error reading {}: {e}", path.display());
                summary.files_failed += 1;
            }
        }
    }
    if let Err(e) = out.flush() {
        if e.kind() != ErrorKind::BrokenPipe {
            eprintln!("siem parse: cannot write the output: {e}");
            return ExitCode::FAILURE;
        }
        return ExitCode::SUCCESS;
    }
    eprintln!(
        "siem parse: {} lines read, {} parse failures, {} lines cut ({} bytes dropped), {} with invalid UTF-8, {} blank lines skipped",
        summary.read.lines,
        summary.failures,
        summary.read.cut_lines,
        summary.read.dropped_bytes,
        summary.invalid_utf8,
        summary.blank
    );
    if summary.files_failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

enum Failure {
    Input(io::Error),
    Output(io::Error),
}

fn parse_stream(
    input: impl Read,
    parser: &Parser,
    show_format: bool,
    out: &mut impl Write,
    summary: &mut Summary,
) -> Result<(), Failure> {
    let mut reader = LineReader::new(input, parser.options().max_line_bytes);
    let mut json = String::with_capacity(4096);
    let result = loop {
        let line = match reader.next_line() {
            Ok(Some(line)) => line,
            Ok(None) => break Ok(()),
            Err(e) => break Err(Failure::Input(e)),
        };
        if line.dropped == 0 && line.bytes.iter().all(u8::is_ascii_whitespace) {
            summary.blank += 1;
            continue;
        }
        let parsed = parser.parse_cut(line.bytes, line.dropped);
        if parsed.event.has_tag(PARSE_FAILURE_TAG) {
            summary.failures += 1;
        }
        if parsed.event.has_tag(INVALID_UTF8_TAG) {
            summary.invalid_utf8 += 1;
        }
        json.clear();
        parsed.event.write_json(&mut json);
        if show_format {
            // Close the event object with one more member.
            json.pop();
            if json.len() > 1 {
                json.push(',');
            }
            json.push_str("\"siem\":{\"format\":\"");
            json.push_str(parsed.format.name());
            json.push_str("\"}}");
        }
        json.push('\n');
        if let Err(e) = out.write_all(json.as_bytes()) {
            break Err(Failure::Output(e));
        }
    };
    summary.read += reader.stats();
    result
}
