//! Benchmark 3: loading all of SigmaHQ's `rules/` (3,141 files): time and resident memory, for
//! siem (default pipelines, as `siem scan` loads rules) or RSigma (its parser and engine, with
//! the thor renames pipeline, as the differential test loads them). One engine per process, so
//! each one's memory is its own:
//!
//! `cargo run --release -p siem-benches --example rule_load -- siem`
//! `cargo run --release -p siem-benches --example rule_load -- rsigma`
//!
//! The rule texts are read first; RSS is read from `/proc/self/status` before and after the
//! first build (`VmRSS`: resident now; `VmHWM`: peak). The time is the median of five builds.
//! siem builds some structures on first use (the prefilter's automata, `contains` automata,
//! regular expressions): for siem the rules then match the Windows corpus once, streamed line by
//! line, and the resident memory after that is reported too, lazily built structures included.
//! Prints `FIGURE|` rows for `benches/run.sh`.

use std::time::Instant;

use siem_benches::corpus;

fn status(key: &str) -> f64 {
    let text = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    text.lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn main() {
    let which = std::env::args().nth(1).unwrap_or_else(|| "siem".into());
    let texts = corpus::sigmahq_rule_texts();
    let before = status("VmRSS:");
    let build = || -> (usize, Box<dyn std::any::Any>) {
        match which.as_str() {
            "rsigma" => {
                let engine = corpus::rsigma_engine(&texts);
                (engine.rule_count(), Box::new(engine))
            }
            _ => {
                let rules = corpus::siem_rule_set(&texts);
                (rules.len(), Box::new(rules))
            }
        }
    };
    let t = Instant::now();
    let (count, loaded) = build();
    let first = t.elapsed();
    let (rss, hwm) = (status("VmRSS:"), status("VmHWM:"));
    // siem: the first build's rules match the Windows corpus once.
    let after_matching = loaded
        .downcast_ref::<siem_core::sigma::RuleSet>()
        .map(|rules| {
            use std::io::BufRead;
            let parser = siem_core::parse::Parser::new(siem_core::parse::ParseOptions {
                format: siem_core::parse::FormatSpec::Json,
                ..Default::default()
            })
            .expect("the JSON parser");
            let mut matches = 0;
            for file in corpus::files(&siem_testkit::corpus("windows-evtx-json"), "jsonl") {
                let reader = std::io::BufReader::new(std::fs::File::open(&file).expect("readable"));
                for line in reader.lines() {
                    let line = line.expect("readable events");
                    if !line.trim().is_empty() {
                        matches += rules.matches(&parser.parse(line.as_bytes()).event).len();
                    }
                }
            }
            (status("VmRSS:"), matches)
        });
    drop(loaded);
    let mut times = vec![first.as_secs_f64()];
    // An optional second argument sets the number of builds (1 for callgrind).
    let runs: usize = std::env::args()
        .nth(2)
        .and_then(|n| n.parse().ok())
        .unwrap_or(5);
    for _ in 1..runs.max(1) {
        let t = Instant::now();
        let (_, loaded) = build();
        times.push(t.elapsed().as_secs_f64());
        drop(loaded);
    }
    times.sort_by(f64::total_cmp);
    let median_ms = times[times.len() / 2] * 1000.0;
    let name = if which == "rsigma" { "RSigma" } else { "siem" };
    println!(
        "{name}: {count} rules from {} files; load {median_ms:.0} ms (median of {runs}, first {:.0} ms); RSS {before:.1} MB before, {rss:.1} MB loaded, peak {hwm:.1} MB",
        texts.len(),
        first.as_secs_f64() * 1000.0
    );
    let cmd = format!("`cargo run --release -p siem-benches --example rule_load -- {which}`");
    println!(
        "FIGURE| load all {} SigmaHQ rules: {name} | {median_ms:.0} | ms | {cmd} |",
        texts.len()
    );
    println!(
        "FIGURE| resident memory with the rules loaded: {name} (rule texts {before:.1} MB of it) | {rss:.1} | MB (VmRSS) | {cmd} |"
    );
    println!(
        "FIGURE| peak resident memory while loading: {name} | {hwm:.1} | MB (VmHWM) | {cmd} |"
    );
    if let Some((rss, matches)) = after_matching {
        println!(
            "FIGURE| resident memory after matching the Windows corpus once ({matches} matches; lazily built automata and regexes included): {name} | {rss:.1} | MB (VmRSS) | {cmd} |"
        );
    }
}
