//! Sigma matching throughput: SigmaHQ's Windows rules (`rules/windows`, emerging threats,
//! Windows threat hunting) over the 26k real events of `windows-evtx-json/`, read as `siem scan`
//! reads them: siem's JSON parser for the events, the default pipelines for the rules. The rule
//! set alone is timed (events parsed beforehand); `scan_windows` measures all of `rules/` next
//! to RSigma, parsing included.
//!
//! `cargo bench -p siem-benches --bench sigma_match`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use siem_benches::corpus;
use siem_core::event::Event;
use siem_core::parse::{FormatSpec, ParseOptions, Parser};
use siem_core::sigma::MatchScratch;

fn events() -> Vec<Event> {
    let parser = Parser::new(ParseOptions {
        format: FormatSpec::Json,
        ..ParseOptions::default()
    })
    .unwrap();
    let root = siem_testkit::corpus("windows-evtx-json");
    corpus::files(&root, "jsonl")
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
    let texts = corpus::sigmahq_rule_texts_in(&[
        "rules/windows",
        "rules-emerging-threats",
        "rules-threat-hunting/windows",
    ]);
    let rules = corpus::siem_rule_set(&texts);
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
        b.iter(|| corpus::siem_rule_set(black_box(&texts)).len())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
