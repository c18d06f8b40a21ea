//! Benchmark 1, generated half: one million Sysmon-shaped events (process creation, network,
//! file, registry; `siem_benches::sysmon`, deterministic, with a planted hit every 5,000
//! events) through all of SigmaHQ's `rules/` in siem and in RSigma, side by side.
//!
//! `cargo bench -p siem-benches --bench sysmon_1m` (`SYSMON_EVENTS=100000` for a shorter run)
//!
//! Events are generated as `evtx_dump` JSON lines in chunks of 20,000 (never all in memory);
//! each chunk is parsed for siem (siem's JSON parser) and flattened for RSigma (as the
//! differential test feeds it) outside the timed sections, then matched by both engines, in
//! alternating order. Only matching is timed: `RuleSet::matches_into` against RSigma's
//! `Engine::evaluate_with_logsource` (its candidate index on, logsource routing given the same
//! logsource siem's parser derives). Both engines' (event, rule id) match sets must be equal.
//! Single-threaded. Prints the rates and the ratio, and `FIGURE|` rows for `benches/run.sh`.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use rsigma_eval::event::JsonEvent;
use siem_benches::{corpus, sysmon};
use siem_core::parse::json::windows;
use siem_core::parse::{FormatSpec, ParseOptions, Parser};
use siem_core::sigma::MatchScratch;

#[path = "../tests/common/rsigma_flat.rs"]
mod rsigma_flat;

const SEED: u64 = 0x5EED_2026;
const CHUNK: u64 = 20_000;

fn main() {
    // `cargo bench` passes `--bench` and criterion-style filters; this bench takes none.
    let total: u64 = std::env::var("SYSMON_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let texts = corpus::sigmahq_rule_texts();
    let rules = corpus::siem_rule_set(&texts);
    let engine = corpus::rsigma_engine(&texts);
    let parser = Parser::new(ParseOptions {
        format: FormatSpec::Json,
        ..ParseOptions::default()
    })
    .expect("json parser");

    let mut scratch = MatchScratch::new();
    let mut out = Vec::new();
    let (mut siem_time, mut rsigma_time) = (Duration::ZERO, Duration::ZERO);
    let mut siem_hits: BTreeSet<(u64, String)> = BTreeSet::new();
    let mut rsigma_hits: BTreeSet<(u64, String)> = BTreeSet::new();
    let mut start = 0;
    while start < total {
        let end = (start + CHUNK).min(total);
        let lines: Vec<String> = (start..end).map(|i| sysmon::event(SEED, i)).collect();
        let events: Vec<_> = lines
            .iter()
            .map(|l| parser.parse(l.as_bytes()).event)
            .collect();
        let flat: Vec<_> = lines
            .iter()
            .map(|l| {
                let doc: serde_json::Value = serde_json::from_str(l).expect("generated JSON");
                let (flat, channel, eid, event_type) =
                    rsigma_flat::flatten(&doc).expect("a Windows event");
                let ls = windows::logsource(channel.as_deref(), eid, event_type.as_deref());
                let category = ls.category.as_deref();
                let mut routes = vec![rsigma_flat::rsigma_logsource(&ls, category)];
                if let Some(parent) = rsigma_flat::implied(category) {
                    routes.push(rsigma_flat::rsigma_logsource(&ls, Some(parent)));
                }
                (flat, routes)
            })
            .collect();
        drop(lines);
        let mut run_siem = || {
            let t = Instant::now();
            let mut chunk_hits = Vec::new();
            for (i, event) in events.iter().enumerate() {
                rules.matches_into(event, &mut scratch, &mut out);
                for id in &out {
                    chunk_hits.push((start + i as u64, *id));
                }
            }
            siem_time += t.elapsed();
            for (i, id) in chunk_hits {
                siem_hits.insert((i, rules.rule(id).id.to_string()));
            }
        };
        let mut run_rsigma = || {
            let t = Instant::now();
            let mut chunk_hits = Vec::new();
            for (i, (event, routes)) in flat.iter().enumerate() {
                let event = JsonEvent::borrow(event);
                for ls in routes {
                    for r in engine.evaluate_with_logsource(&event, ls) {
                        chunk_hits.push((start + i as u64, r.header.rule_id.clone()));
                    }
                }
            }
            rsigma_time += t.elapsed();
            for (i, id) in chunk_hits {
                if let Some(id) = id {
                    rsigma_hits.insert((i, id));
                }
            }
        };
        // Alternate which engine goes first, so neither always meets a warm (or cold) cache.
        if (start / CHUNK).is_multiple_of(2) {
            run_siem();
            run_rsigma();
        } else {
            run_rsigma();
            run_siem();
        }
        start = end;
    }

    let siem_rate = total as f64 / siem_time.as_secs_f64();
    let rsigma_rate = total as f64 / rsigma_time.as_secs_f64();
    println!(
        "sysmon_1m: {total} events, {} rules; siem {:.0} events/s ({} matches), RSigma {:.0} events/s ({} matches), ratio {:.2}x",
        rules.len(),
        siem_rate,
        siem_hits.len(),
        rsigma_rate,
        rsigma_hits.len(),
        siem_rate / rsigma_rate
    );
    let only_siem: Vec<_> = siem_hits.difference(&rsigma_hits).collect();
    let only_rsigma: Vec<_> = rsigma_hits.difference(&siem_hits).collect();
    for d in only_siem.iter().take(20) {
        println!("siem only: {d:?}");
    }
    for d in only_rsigma.iter().take(20) {
        println!("rsigma only: {d:?}");
    }
    let cmd = "`cargo bench -p siem-benches --bench sysmon_1m`";
    println!(
        "FIGURE| Sysmon-shaped events ({total}, generated), all SigmaHQ rules: siem match | {siem_rate:.0} | events/s | {cmd} |"
    );
    println!(
        "FIGURE| same events: RSigma `evaluate_with_logsource` (index on) | {rsigma_rate:.0} | events/s | {cmd} |"
    );
    println!(
        "FIGURE| same events: siem / RSigma ({} identical matches) | {:.2} | ratio | {cmd} |",
        siem_hits.len(),
        siem_rate / rsigma_rate
    );
    assert!(
        only_siem.is_empty() && only_rsigma.is_empty(),
        "match sets differ: {} siem only, {} RSigma only",
        only_siem.len(),
        only_rsigma.len()
    );
    assert!(!siem_hits.is_empty(), "the planted hits must match");
}
