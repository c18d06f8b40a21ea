//! Sigma matching throughput: SigmaHQ's Windows rules (`rules/windows`, emerging threats,
//! Windows threat hunting) over the 26k real events of `windows-evtx-json/`, read as `siem scan`
//! reads them: siem's JSON parser for the events, the default pipelines for the rules. The rule
//! set alone is timed (events parsed beforehand); `scan_windows` measures all of `rules/` next
//! to RSigma, parsing included.
//!
//! `cargo bench -p siem-benches --bench sigma_match`

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use siem_core::event::Event;
use siem_core::parse::{FormatSpec, ParseOptions, Parser};
use siem_core::sigma::pipeline::PipelineSet;
use siem_core::sigma::{MatchScratch, RuleSet};

fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == ext) {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn rule_texts() -> Vec<(String, String)> {
    let root = siem_testkit::corpus("sigma");
    [
        "rules/windows",
        "rules-emerging-threats",
        "rules-threat-hunting/windows",
    ]
    .iter()
    .flat_map(|d| files(&root.join(d), "yml"))
    .map(|p| {
        (
            p.display().to_string(),
            std::fs::read_to_string(&p).unwrap(),
        )
    })
    .collect()
}

fn build(texts: &[(String, String)]) -> RuleSet {
    let mut builder = RuleSet::builder();
    PipelineSet::defaults().install(&mut builder);
    for (path, text) in texts {
        builder.add_yaml(text, Some(path));
    }
    builder.build().0
}

fn events() -> Vec<Event> {
    let parser = Parser::new(ParseOptions {
        format: FormatSpec::Json,
        ..ParseOptions::default()
    })
    .unwrap();
    let root = siem_testkit::corpus("windows-evtx-json");
    files(&root, "jsonl")
        .iter()
        .flat_map(|p| {
            let text = std::fs::read_to_string(p).unwrap();
            text.lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| parser.parse(l.as_bytes()).event)
                .collect::<Vec<_>>()
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let texts = rule_texts();
    let rules = build(&texts);
    let events = events();
    let detections: usize = events.iter().map(|e| rules.matches(e).len()).sum();
    eprintln!(
        "{} rules, {} events, {} detections",
        rules.len(),
        events.len(),
        detections
    );
    eprintln!("prefilter: {:?}", rules.prefilter_stats());

    let mut group = c.benchmark_group("sigma_match");
    group.throughput(Throughput::Elements(events.len() as u64));
    group.sample_size(20);
    group.bench_function("windows_rules/evtx_events", |b| {
        let mut scratch = MatchScratch::new();
        let mut out = Vec::new();
        b.iter(|| {
            let mut n = 0;
            for event in &events {
                rules.matches_into(black_box(event), &mut scratch, &mut out);
                n += out.len();
            }
            n
        })
    });
    group.bench_function("windows_rules/evtx_events/no_prefilter", |b| {
        b.iter(|| {
            events
                .iter()
                .map(|e| rules.matches_exhaustive(black_box(e)).len())
                .sum::<usize>()
        })
    });
    group.finish();

    let mut group = c.benchmark_group("sigma_compile");
    group.throughput(Throughput::Elements(texts.len() as u64));
    group.sample_size(10);
    group.bench_function("windows_rules", |b| {
        b.iter(|| build(black_box(&texts)).len())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
