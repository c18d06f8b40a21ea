//! `siem scan`: log files in, alerts out.
//!
//! Loads Sigma rules (`--rules`, repeatable; files or folders; detection, filter and
//! correlation rules) through the processing pipelines (the bundled `windows` + `ecs` by
//! default, see [`super::rules`]) into an [`Engine`], then reads each FILE (`-` is stdin) line by
//! line with the bounded line reader, parses every line as `siem parse` does and hands the event
//! to the engine, which matches it (routed by logsource) and feeds the correlator. Every alert
//! is printed: a table for people (`--output table`, the default) or, with `--output jsonl`,
//! one JSON object per alert exactly as `Alert::to_json` writes it (`"kind": "detection"` or
//! `"correlation"`). At the end of the input the correlator is flushed, so correlations still
//! waiting for late events are reported.
//!
//! With `--threads N` (default: the available cores) the lines are parsed and matched by N
//! worker threads in batches while the calling thread reads the input and runs one ordered
//! stage (correlation, alert policy, output) over the results in input order; see [`Pipeline`].
//! The alerts and their order are the same for every N; memory stays bounded by the batches
//! in flight whatever the size of the input.
//!
//! Rules that fail to load are reported on stderr and the scan goes on with the others. On
//! stderr: progress (refreshed every second when stderr is a terminal, else a line every 30
//! seconds) and a summary at the end: events read, parse failures, lines cut, alerts by rule.

use std::collections::{BTreeMap, HashMap};
use std::io::{self, BufWriter, ErrorKind, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use chrono::{SecondsFormat, Utc};
use siem_collect::lines::{LineReader, LineStats};
use siem_core::alert::{Alert, AlertKind};
use siem_core::engine::Engine;
use siem_core::event::{Event, PARSE_FAILURE_TAG};
use siem_core::sigma::RuleId;

use super::input::{InputArgs, Inputs, Opened};
use super::rules::{LoadArgs, load};

/// How alerts are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    /// Aligned columns: time, level, rule title, a short event summary.
    Table,
    /// One JSON alert per line (`Alert::to_json`).
    Jsonl,
}

/// Arguments of `siem scan`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Sigma rule file or folder (searched recursively for *.yml / *.yaml). Repeatable.
    #[arg(long = "rules", required = true, value_name = "PATH")]
    rules: Vec<PathBuf>,

    #[command(flatten)]
    load: LoadArgs,

    #[command(flatten)]
    input: InputArgs,

    /// Output: `table` for people, `jsonl` for one JSON alert per line.
    #[arg(long, short, value_enum, default_value_t = Output::Table)]
    output: Output,

    /// Worker threads that parse and match lines (default: the available cores). With 1 the
    /// scan runs on the calling thread alone. Correlation and output stay on one ordered stage,
    /// so the alerts and their order do not depend on this number.
    #[arg(long, value_parser = parse_threads)]
    threads: Option<usize>,

    /// Files to scan; `-` reads standard input.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

fn parse_threads(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".to_string()),
        Ok(n) => Ok(n),
        Err(e) => Err(format!("{s:?} is not a thread count: {e}")),
    }
}

/// Counters over the whole scan.
#[derive(Debug, Default)]
struct Summary {
    read: LineStats,
    events: u64,
    blank: u64,
    failures: u64,
    alerts: u64,
    /// Alerts per rule, keyed by the rule's handle, with its title.
    by_rule: HashMap<String, (String, u64)>,
    files_failed: u64,
}

/// Progress on stderr: refreshed in place on a terminal, an occasional line otherwise.
struct Progress {
    terminal: bool,
    every: Duration,
    last: Instant,
    shown: bool,
}

impl Progress {
    fn new() -> Self {
        let terminal = io::stderr().is_terminal();
        Progress {
            terminal,
            every: if terminal {
                Duration::from_secs(1)
            } else {
                Duration::from_secs(30)
            },
            last: Instant::now(),
            shown: false,
        }
    }

    fn tick(&mut self, summary: &Summary) {
        if self.last.elapsed() < self.every {
            return;
        }
        self.last = Instant::now();
        let text = format!(
            "siem scan: {} events, {} alerts so far",
            summary.events, summary.alerts
        );
        if self.terminal {
            eprint!("\r{text}");
            self.shown = true;
        } else {
            eprintln!("{text}");
        }
    }

    fn finish(&self) {
        if self.shown {
            eprint!("\r\x1b[K");
        }
    }
}

enum Failure {
    Input(io::Error),
    Output(io::Error),
    /// A worker thread panicked (a bug): the scan cannot go on in order.
    Worker(String),
}

/// Opens each FILE in turn (`-` is stdin, read once) and hands it to `scan`. A file that cannot
/// be opened or read is reported and counted, and the next one is scanned; only an output or
/// worker failure stops the scan.
fn for_each_input(
    files: &[PathBuf],
    summary: &mut Summary,
    mut scan: impl FnMut(Box<dyn Read>, &mut Summary) -> Result<(), Failure>,
) -> Result<(), Failure> {
    let mut inputs = Inputs::new("siem scan");
    for path in files {
        let input = match inputs.open(path) {
            Opened::Reader(input) => input,
            Opened::Skipped => continue,
            Opened::Failed => {
                summary.files_failed += 1;
                continue;
            }
        };
        match scan(input, summary) {
            Ok(()) => {}
            Err(Failure::Input(e)) => {
                eprintln!("siem scan: error reading {}: {e}", path.display());
                summary.files_failed += 1;
            }
            Err(other) => return Err(other),
        }
    }
    Ok(())
}

/// Runs `siem scan`.
pub fn run(args: Args) -> ExitCode {
    let options = args.input.parse_options();
    let loaded = match load(&args.rules, &args.load, options) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("siem scan: {e}");
            return ExitCode::from(2);
        }
    };
    for f in &loaded.failures {
        eprintln!("siem scan: skipped {f}");
    }
    if loaded.engine.rules().is_empty() {
        eprintln!("siem scan: no rule compiled; nothing to scan for");
        return ExitCode::from(2);
    }
    eprintln!(
        "siem scan: {} of {} rules loaded",
        loaded.compiled(),
        loaded.total
    );
    let engine = &loaded.engine;
    let threads = args.threads.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(std::num::NonZeroUsize::get)
            .unwrap_or(1)
    });
    let stdout = io::stdout();
    // Not locked for the whole scan: a parallel scan writes from its output thread.
    let mut out = BufWriter::with_capacity(1 << 16, stdout);
    let mut summary = Summary::default();
    let mut progress = Progress::new();
    let mut scanner = Scanner {
        engine,
        output: args.output,
        line: String::with_capacity(4096),
        alerts: Vec::new(),
        sink: None,
        outbox: Vec::new(),
    };
    if args.output == Output::Table {
        let _ = writeln!(
            out,
            "{:<20}  {:<13}  {:<48}  EVENT",
            "TIME", "LEVEL", "RULE"
        );
    }
    let scanned = if threads <= 1 {
        for_each_input(&args.files, &mut summary, |input, summary| {
            scanner.scan(input, &mut out, summary, &mut progress)
        })
    } else {
        // The header goes out before the output thread writes anything.
        if let Err(e) = out.flush() {
            return finish_failed(Failure::Output(e), &progress);
        }
        std::thread::scope(|scope| {
            let (sink, batches) = mpsc::sync_channel(OUTSTANDING_PER_WORKER as usize * threads);
            let output = args.output;
            let writer = scope.spawn(move || write_alerts(batches, output));
            scanner.sink = Some(sink);
            let mut pipeline = Pipeline::start(scope, engine, threads);
            let scanned = for_each_input(&args.files, &mut summary, |input, summary| {
                scanner.scan_parallel(input, &mut out, summary, &mut progress, &mut pipeline)
            })
            .and_then(|()| {
                scanner.finish_parallel(&mut pipeline, &mut out, &mut summary, &mut progress)
            })
            .and_then(|()| {
                // End of input: correlations still waiting for late events are decided now.
                for alert in engine.flush() {
                    count(&alert, &mut summary);
                    scanner.outbox.push(alert);
                }
                scanner.ship().map_err(Failure::Output)
            });
            // Closing the channel ends the output thread; its error, if any, says why the
            // scan could not hand it alerts.
            scanner.sink = None;
            let written = writer
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("the output thread panicked")));
            match (scanned, written) {
                (Err(Failure::Output(_)), Err(e)) | (Ok(()), Err(e)) => Err(Failure::Output(e)),
                (scanned, _) => scanned,
            }
        })
    };
    if let Err(failure) = scanned {
        return finish_failed(failure, &progress);
    }
    // End of input: correlations still waiting for late events are decided now.
    let rest = engine.flush();
    let flushed = rest
        .iter()
        .try_for_each(|a| scanner.emit(a, &mut out, &mut summary));
    progress.finish();
    if let Err(e) = flushed.and_then(|()| out.flush())
        && e.kind() != ErrorKind::BrokenPipe
    {
        eprintln!("siem scan: cannot write the output: {e}");
        return ExitCode::FAILURE;
    }
    print_summary(&summary);
    if summary.files_failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Ends a scan that could not go on: a closed output is a normal end (`siem scan ... | head`).
fn finish_failed(failure: Failure, progress: &Progress) -> ExitCode {
    progress.finish();
    match failure {
        Failure::Output(e) if e.kind() == ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Failure::Output(e) => {
            eprintln!("siem scan: cannot write the output: {e}");
            ExitCode::FAILURE
        }
        Failure::Input(e) => {
            eprintln!("siem scan: error reading the input: {e}");
            ExitCode::FAILURE
        }
        Failure::Worker(e) => {
            eprintln!("siem scan: internal error in a worker thread: {e}");
            ExitCode::FAILURE
        }
    }
}

fn print_summary(summary: &Summary) {
    eprintln!(
        "siem scan: {} events read, {} parse failures, {} lines cut ({} bytes dropped), {} blank lines skipped, {} alerts",
        summary.events,
        summary.failures,
        summary.read.cut_lines,
        summary.read.dropped_bytes,
        summary.blank,
        summary.alerts
    );
    let mut by_rule: Vec<(&String, &(String, u64))> = summary.by_rule.iter().collect();
    // Most frequent first, then by title, so the output is stable.
    by_rule.sort_by(|a, b| b.1.1.cmp(&a.1.1).then(a.1.0.cmp(&b.1.0)).then(a.0.cmp(b.0)));
    for (handle, (title, count)) in by_rule {
        eprintln!("{count:>8}  {title} ({handle})");
    }
}

struct Scanner<'a> {
    engine: &'a Engine,
    output: Output,
    line: String,
    /// Alerts of one event, reused.
    alerts: Vec<Alert>,
    /// In a parallel scan, where alerts go to be written (see [`write_alerts`]).
    sink: Option<mpsc::SyncSender<Vec<Alert>>>,
    /// Alerts not yet handed to `sink`.
    outbox: Vec<Alert>,
}

impl Scanner<'_> {
    fn scan(
        &mut self,
        input: impl Read,
        out: &mut impl Write,
        summary: &mut Summary,
        progress: &mut Progress,
    ) -> Result<(), Failure> {
        let mut reader = LineReader::new(input, self.engine.parser().options().max_line_bytes);
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
            let parsed = self.engine.parser().parse_cut(line.bytes, line.dropped);
            summary.events += 1;
            if parsed.event.has_tag(PARSE_FAILURE_TAG) {
                summary.failures += 1;
            }
            for alert in self.engine.process_event(parsed.event) {
                self.emit(&alert, out, summary).map_err(Failure::Output)?;
            }
            progress.tick(summary);
        };
        summary.read += reader.stats();
        result
    }

    /// Reads `input` into batches for the pipeline's workers, and applies the batches that
    /// come back, in input order (see [`Pipeline`]).
    fn scan_parallel(
        &mut self,
        input: impl Read,
        out: &mut impl Write,
        summary: &mut Summary,
        progress: &mut Progress,
        pipeline: &mut Pipeline<'_>,
    ) -> Result<(), Failure> {
        let mut reader = LineReader::new(input, self.engine.parser().options().max_line_bytes);
        let result = loop {
            let line = match reader.next_line() {
                Ok(Some(line)) => line,
                Ok(None) => break Ok(()),
                Err(e) => break Err(Failure::Input(e)),
            };
            if pipeline.push(line.bytes, line.dropped) {
                let batch = pipeline.take_batch();
                if let Err(e) = self.send(batch, out, summary, progress, pipeline) {
                    break Err(e);
                }
            }
        };
        summary.read += reader.stats();
        result
    }

    /// Hands a batch to the workers, then applies every batch that is back and next in order;
    /// waits for the oldest one while too many are out, which bounds the memory in flight.
    fn send(
        &mut self,
        batch: Batch,
        out: &mut impl Write,
        summary: &mut Summary,
        progress: &mut Progress,
        pipeline: &mut Pipeline<'_>,
    ) -> Result<(), Failure> {
        pipeline.send(batch)?;
        loop {
            let outstanding = pipeline.next_seq - pipeline.next_apply;
            let done = if outstanding >= pipeline.max_outstanding {
                pipeline.recv()?
            } else {
                match pipeline.done.try_recv() {
                    Ok(done) => done,
                    Err(_) => return Ok(()),
                }
            };
            self.accept(done, out, summary, progress, pipeline)?;
        }
    }

    /// Files them in the reorder buffer and applies what is next in order.
    fn accept(
        &mut self,
        done: Result<Matched, String>,
        out: &mut impl Write,
        summary: &mut Summary,
        progress: &mut Progress,
        pipeline: &mut Pipeline<'_>,
    ) -> Result<(), Failure> {
        let done = done.map_err(Failure::Worker)?;
        pipeline.pending.insert(done.seq, done);
        while let Some(next) = pipeline.pending.remove(&pipeline.next_apply) {
            pipeline.next_apply += 1;
            self.apply(next, out, summary, progress)
                .map_err(Failure::Output)?;
        }
        Ok(())
    }

    /// The ordered stage: correlation, alert policy and output for one batch's matches.
    fn apply(
        &mut self,
        done: Matched,
        out: &mut impl Write,
        summary: &mut Summary,
        progress: &mut Progress,
    ) -> io::Result<()> {
        summary.events += done.events;
        summary.blank += done.blank;
        summary.failures += done.failures;
        let mut alerts = std::mem::take(&mut self.alerts);
        for (event, matched) in done.hits {
            alerts.clear();
            self.engine
                .process_matched_at(event, matched, Utc::now(), &mut alerts);
            if self.sink.is_some() {
                for alert in &alerts {
                    count(alert, summary);
                }
                self.outbox.append(&mut alerts);
            } else {
                for alert in &alerts {
                    self.emit(alert, out, summary)?;
                }
            }
        }
        self.alerts = alerts;
        self.ship()?;
        progress.tick(summary);
        Ok(())
    }

    /// Hands the alerts collected so far to the output thread, when there is one.
    fn ship(&mut self) -> io::Result<()> {
        if let Some(sink) = &self.sink
            && !self.outbox.is_empty()
        {
            sink.send(std::mem::take(&mut self.outbox))
                .map_err(|_| io::Error::other("the output thread has stopped"))?;
        }
        Ok(())
    }

    /// End of all input: the last partial batch, then every batch still out, in order.
    fn finish_parallel(
        &mut self,
        pipeline: &mut Pipeline<'_>,
        out: &mut impl Write,
        summary: &mut Summary,
        progress: &mut Progress,
    ) -> Result<(), Failure> {
        if !pipeline.batch.lines.is_empty() {
            let batch = pipeline.take_batch();
            self.send(batch, out, summary, progress, pipeline)?;
        }
        while pipeline.next_apply < pipeline.next_seq {
            let done = pipeline.recv()?;
            self.accept(done, out, summary, progress, pipeline)?;
        }
        Ok(())
    }

    fn emit(
        &mut self,
        alert: &Alert,
        out: &mut impl Write,
        summary: &mut Summary,
    ) -> io::Result<()> {
        count(alert, summary);
        if self.sink.is_some() {
            self.outbox.push(alert.clone());
            return Ok(());
        }
        render(alert, self.output, &mut self.line);
        out.write_all(self.line.as_bytes())
    }
}

/// Counts an alert in the summary.
fn count(alert: &Alert, summary: &mut Summary) {
    summary.alerts += 1;
    summary
        .by_rule
        .entry(alert.rule.handle().to_string())
        .or_insert_with(|| (alert.rule.title.clone(), 0))
        .1 += 1;
}

/// An alert as one output line (with its newline), in `line`.
fn render(alert: &Alert, output: Output, line: &mut String) {
    line.clear();
    match output {
        Output::Jsonl => alert.write_json(line),
        Output::Table => table_row(alert, line),
    }
    line.push('\n');
}

/// The output stage of a parallel scan: renders and writes the alerts the ordered stage sends,
/// so formatting (alert JSON with its event) runs beside correlation instead of after it.
fn write_alerts(batches: mpsc::Receiver<Vec<Alert>>, output: Output) -> io::Result<()> {
    let mut out = BufWriter::with_capacity(1 << 16, io::stdout());
    let mut line = String::with_capacity(4096);
    for batch in batches {
        for alert in &batch {
            render(alert, output, &mut line);
            out.write_all(line.as_bytes())?;
        }
    }
    out.flush()
}

/// Lines per batch handed to a worker: enough that the hand-over costs nothing per line.
const BATCH_LINES: usize = 1024;
/// Bytes per batch (a batch also ends after a long line), so the data in flight stays small.
const BATCH_BYTES: usize = 256 * 1024;
/// Batches out per worker (sent and not yet applied): enough to keep every worker busy while
/// the ordered stage waits for the oldest one.
const OUTSTANDING_PER_WORKER: u64 = 4;

/// Lines copied out of the reader's buffer for a worker.
#[derive(Debug, Default)]
struct Batch {
    seq: u64,
    data: Vec<u8>,
    /// For each line: its end in `data` and the bytes the reader dropped from it.
    lines: Vec<(usize, u64)>,
}

/// What a worker made of a batch: the counts, and only the events that matched a rule (the
/// others need no ordered stage).
#[derive(Debug, Default)]
struct Matched {
    seq: u64,
    events: u64,
    blank: u64,
    failures: u64,
    hits: Vec<(Event, Vec<RuleId>)>,
}

/// The parallel scan: the calling thread reads lines into [`Batch`]es, numbered in input
/// order; `threads` workers parse and match them (the stateless half of the engine,
/// [`Engine::match_event`]); the calling thread puts the results back in order and runs the
/// ordered stage ([`Engine::process_matched_at`]: correlation, alert policy, output). So
/// correlation sees events in input order and the output is the same, alert for alert, as
/// with one thread, while memory is bounded by the batches out (at most
/// `OUTSTANDING_PER_WORKER` per worker), not by the input.
struct Pipeline<'scope> {
    work: Option<mpsc::SyncSender<Batch>>,
    done: mpsc::Receiver<Result<Matched, String>>,
    batch: Batch,
    next_seq: u64,
    next_apply: u64,
    max_outstanding: u64,
    pending: BTreeMap<u64, Matched>,
    _scope: std::marker::PhantomData<&'scope ()>,
}

impl<'scope> Pipeline<'scope> {
    fn start<'env>(
        scope: &'scope std::thread::Scope<'scope, 'env>,
        engine: &'env Engine,
        threads: usize,
    ) -> Self {
        let (work_tx, work_rx) = mpsc::sync_channel::<Batch>(threads * 2);
        let (done_tx, done_rx) = mpsc::channel();
        let work_rx = Arc::new(Mutex::new(work_rx));
        for _ in 0..threads {
            let work_rx = Arc::clone(&work_rx);
            let done_tx = done_tx.clone();
            scope.spawn(move || {
                loop {
                    // The lock is held only while waiting for the next batch.
                    let batch = match work_rx.lock() {
                        Ok(rx) => rx.recv(),
                        Err(_) => return,
                    };
                    let Ok(batch) = batch else { return };
                    let seq = batch.seq;
                    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        match_batch(engine, &batch)
                    }))
                    .map_err(|panic| {
                        let what = panic
                            .downcast_ref::<&str>()
                            .map(|s| s.to_string())
                            .or_else(|| panic.downcast_ref::<String>().cloned())
                            .unwrap_or_default();
                        format!("batch {seq}: {what}")
                    });
                    if done_tx.send(result).is_err() {
                        return;
                    }
                }
            });
        }
        Pipeline {
            work: Some(work_tx),
            done: done_rx,
            batch: Batch::default(),
            next_seq: 0,
            next_apply: 0,
            max_outstanding: threads as u64 * OUTSTANDING_PER_WORKER,
            pending: BTreeMap::new(),
            _scope: std::marker::PhantomData,
        }
    }

    /// Adds a line to the current batch; true when the batch is full.
    fn push(&mut self, bytes: &[u8], dropped: u64) -> bool {
        self.batch.data.extend_from_slice(bytes);
        self.batch.lines.push((self.batch.data.len(), dropped));
        self.batch.lines.len() >= BATCH_LINES || self.batch.data.len() >= BATCH_BYTES
    }

    fn take_batch(&mut self) -> Batch {
        let mut batch = std::mem::take(&mut self.batch);
        self.batch.data.reserve(BATCH_BYTES);
        self.batch.lines.reserve(BATCH_LINES);
        batch.seq = self.next_seq;
        self.next_seq += 1;
        batch
    }

    fn send(&mut self, batch: Batch) -> Result<(), Failure> {
        let sent = self.work.as_ref().map(|work| work.send(batch));
        match sent {
            Some(Ok(())) => Ok(()),
            _ => Err(Failure::Worker(
                "the worker threads have stopped".to_string(),
            )),
        }
    }

    fn recv(&mut self) -> Result<Result<Matched, String>, Failure> {
        self.done
            .recv()
            .map_err(|_| Failure::Worker("the worker threads have stopped".to_string()))
    }
}

impl Drop for Pipeline<'_> {
    fn drop(&mut self) {
        // Closing the work channel ends the workers (the scope then joins them).
        self.work = None;
    }
}

/// A worker's job: parse and match every line of a batch.
fn match_batch(engine: &Engine, batch: &Batch) -> Matched {
    let mut done = Matched {
        seq: batch.seq,
        ..Matched::default()
    };
    let mut start = 0;
    for &(end, dropped) in &batch.lines {
        let bytes = batch.data.get(start..end).unwrap_or_default();
        start = end;
        if dropped == 0 && bytes.iter().all(u8::is_ascii_whitespace) {
            done.blank += 1;
            continue;
        }
        let parsed = engine.parser().parse_cut(bytes, dropped);
        done.events += 1;
        if parsed.event.has_tag(PARSE_FAILURE_TAG) {
            done.failures += 1;
        }
        let matched = engine.match_event(&parsed.event);
        if !matched.is_empty() {
            done.hits.push((parsed.event, matched));
        }
    }
    done
}

/// Cuts `text` to at most `max` characters, marking the cut with `…`.
fn cut(text: &str, max: usize) -> String {
    let text = text.trim();
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut s: String = text.chars().take(max.saturating_sub(1)).collect();
    s.push('…');
    s
}

/// The few fields that tell a person what the event was: where, who, from where, and the
/// most telling text (command line, script, service image, URL, message).
fn event_summary(event: &Event) -> String {
    let first = |fields: &[&str]| {
        fields.iter().find_map(|f| {
            event
                .get(f)
                .map(|v| v.to_text().into_owned())
                .filter(|t| !t.trim().is_empty() && t != "-")
        })
    };
    let mut parts = Vec::new();
    for (label, fields) in [
        ("host", &["host.name", "host.hostname"][..]),
        (
            "user",
            &[
                "user.name",
                "winlog.event_data.TargetUserName",
                "winlog.event_data.SubjectUserName",
                "winlog.event_data.User",
            ][..],
        ),
        ("src", &["source.ip", "winlog.event_data.IpAddress"][..]),
        ("event_id", &["winlog.event_id"][..]),
    ] {
        if let Some(v) = first(fields) {
            parts.push(format!("{label}={v}"));
        }
    }
    let detail = first(&[
        "process.command_line",
        "winlog.event_data.CommandLine",
        "winlog.event_data.ScriptBlockText",
        "winlog.event_data.ImagePath",
        "url.original",
        "message",
    ]);
    if let Some(d) = detail {
        parts.push(cut(&d.replace(['\n', '\r', '\t'], " "), 100));
    }
    if parts.is_empty() {
        parts.push(cut(event.original().unwrap_or(""), 100));
    }
    parts.join(" ")
}

fn table_row(alert: &Alert, out: &mut String) {
    use std::fmt::Write as _;
    let time = if alert.arrival_time {
        "-".to_string()
    } else {
        alert.timestamp.to_rfc3339_opts(SecondsFormat::Secs, true)
    };
    let level = alert.rule.level.unwrap_or_default().as_str();
    let title = cut(&alert.rule.title, 48);
    let summary = match alert.kind {
        AlertKind::Detection => alert.event.as_ref().map(event_summary).unwrap_or_default(),
        AlertKind::Correlation => correlation_summary(alert),
    };
    let _ = write!(out, "{time:<20}  {level:<13}  {title:<48}  {summary}");
}

/// A correlation alert in a few words: its group, the measured value, the window.
fn correlation_summary(alert: &Alert) -> String {
    let mut parts: Vec<String> = alert
        .group
        .iter()
        .map(|(k, v)| format!("{k}={}", v.to_text()))
        .collect();
    if let Some(v) = &alert.value {
        parts.push(format!("value={}", v.to_text()));
    }
    if let Some(w) = &alert.window {
        parts.push(format!(
            "from {} to {}",
            w.start.to_rfc3339_opts(SecondsFormat::Secs, true),
            w.end.to_rfc3339_opts(SecondsFormat::Secs, true)
        ));
    }
    if !alert.rules.is_empty() {
        parts.push(format!("rules {}", alert.rules.join(", ")));
    }
    parts.join(" ")
}
