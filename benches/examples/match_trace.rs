//! How far routing and the literal prefilter narrow SigmaHQ's rules down per Windows event:
//! totals of [`RuleSet::trace`] over the `windows-evtx-json/` corpus, and the prefilter's
//! automata.
//!
//! `cargo run --release -p siem-benches --example match_trace`

use siem_benches::corpus;
use siem_core::parse::{FormatSpec, ParseOptions, Parser};
use siem_core::sigma::MatchTrace;

fn main() {
    let rules = corpus::sigmahq_rule_set();
    println!(
        "{} rules, prefilter {:?}",
        rules.len(),
        rules.prefilter_stats()
    );
    let parser = Parser::new(ParseOptions {
        format: FormatSpec::Json,
        ..ParseOptions::default()
    })
    .expect("json parser");
    // `MATCH_TRACE_SYSMON=n`: n generated Sysmon-shaped events instead of the corpus.
    let lines = match std::env::var("MATCH_TRACE_SYSMON") {
        Ok(n) => (0..n.parse::<u64>().unwrap_or(2000))
            .map(|i| siem_benches::sysmon::event(0x5EED_2026, i))
            .collect(),
        Err(_) => corpus::windows_lines(),
    };
    let mut total = MatchTrace::default();
    let mut by_category: std::collections::BTreeMap<String, (usize, MatchTrace)> =
        Default::default();
    let events: Vec<_> = lines
        .iter()
        .map(|l| parser.parse(l.as_bytes()).event)
        .collect();
    let mut scratch = siem_core::sigma::MatchScratch::new();
    let mut out = Vec::new();
    // `MATCH_TRACE_ONCE=1`: one pass over every event and nothing else (for callgrind, whose
    // instruction counts do not depend on the machine's load:
    // `valgrind --tool=callgrind --toggle-collect='*RuleSet::matches_into*' ...`).
    // `MATCH_TRACE_ONCE=n`: n passes (the first builds what rules build on first use).
    // Prints each pass's time per event; the fastest pass after the first (which builds) is the
    // figure to compare on a shared machine.
    if let Ok(passes) = std::env::var("MATCH_TRACE_ONCE") {
        let mut matched = 0;
        let mut times = Vec::new();
        for _ in 0..passes.parse::<usize>().unwrap_or(1).max(1) {
            let start = std::time::Instant::now();
            for e in &events {
                out.clear();
                rules.matches_into(e, &mut scratch, &mut out);
                matched += out.len();
            }
            times.push(start.elapsed().as_nanos() as f64 / events.len() as f64);
        }
        let best = times.iter().skip(1).copied().fold(f64::INFINITY, f64::min);
        println!(
            "{} events once: {matched} matches, ns/event per pass {:.0?}, best after the first {best:.0}",
            events.len(),
            times
        );
        return;
    }
    // `MATCH_TRACE_TOUCH=1`: what memory costs, in one run (fastest of 10 rounds each): reading
    // every string byte of every event once (what keyword search must read), matching every
    // event once, and matching each event a second time right after the first (its memory then
    // cached). The corpus's events outgrow the caches, as a stored batch does.
    if std::env::var("MATCH_TRACE_TOUCH").is_ok() {
        fn read(value: &siem_core::Value) -> u64 {
            use siem_core::Value;
            match value {
                Value::Str(s) => s.bytes().map(u64::from).sum(),
                Value::List(items) => items.iter().map(read).sum(),
                Value::Object(map) => map.values().map(read).sum(),
                _ => 1,
            }
        }
        let per_event =
            |start: std::time::Instant| start.elapsed().as_nanos() as f64 / events.len() as f64;
        let (mut touch, mut cold, mut twice, mut sum) = (f64::MAX, f64::MAX, f64::MAX, 0u64);
        for _ in 0..10 {
            let start = std::time::Instant::now();
            for e in &events {
                sum = e
                    .fields()
                    .fold(sum, |sum, (_, v)| sum.wrapping_add(read(v)));
            }
            touch = touch.min(per_event(start));
            let start = std::time::Instant::now();
            for e in &events {
                rules.matches_into(e, &mut scratch, &mut out);
            }
            cold = cold.min(per_event(start));
            let start = std::time::Instant::now();
            for e in &events {
                rules.matches_into(e, &mut scratch, &mut out);
                rules.matches_into(e, &mut scratch, &mut out);
            }
            twice = twice.min(per_event(start));
        }
        let cached = twice - cold;
        println!(
            "ns/event: reading every string {touch:.0}, matching {cold:.0}, matching again at once (cached) {cached:.0} (checksum {sum})"
        );
        // What the events hold out of line: names and strings past the 24 bytes kept inline.
        let n = events.len() as f64;
        let count = |f: &dyn Fn(&str, &siem_core::Value) -> bool| {
            let total: usize = events
                .iter()
                .map(|e| e.fields().filter(|&(k, v)| f(k, v)).count())
                .sum();
            total as f64 / n
        };
        let heap: usize = events.iter().map(|e| e.heap_bytes()).sum();
        println!(
            "per event: {:.1} fields, {:.1} names and {:.1} strings over 24 bytes, {:.0} heap bytes ({:.0} MB for all {} events)",
            count(&|_, _| true),
            count(&|k, _| k.len() > 24),
            count(&|_, v| matches!(v, siem_core::Value::Str(s) if s.len() > 24)),
            heap as f64 / n,
            heap as f64 / 1e6,
            events.len()
        );
        return;
    }
    // `MATCH_TRACE_ONLY=category/service` loops over those events only (for a profiler).
    if let Ok(only) = std::env::var("MATCH_TRACE_ONLY") {
        let chosen: Vec<_> = events
            .iter()
            .filter(|e| {
                format!(
                    "{}/{}",
                    e.logsource.category.as_deref().unwrap_or("-"),
                    e.logsource.service.as_deref().unwrap_or("-")
                ) == only
            })
            .collect();
        let start = std::time::Instant::now();
        let rounds = 400_000 / chosen.len().max(1);
        for _ in 0..rounds.max(1) {
            for e in &chosen {
                rules.matches_into(e, &mut scratch, &mut out);
            }
        }
        println!(
            "{} events x {rounds}: {:.0} ns/event",
            chosen.len(),
            start.elapsed().as_nanos() as f64 / (rounds.max(1) * chosen.len()) as f64
        );
        return;
    }
    let mut nanos: std::collections::BTreeMap<String, u128> = Default::default();
    for _ in 0..3 {
        for event in &events {
            let key = format!(
                "{}/{}",
                event.logsource.category.as_deref().unwrap_or("-"),
                event.logsource.service.as_deref().unwrap_or("-")
            );
            let start = std::time::Instant::now();
            rules.matches_into(event, &mut scratch, &mut out);
            *nanos.entry(key).or_default() += start.elapsed().as_nanos();
        }
    }
    let mut titles: std::collections::BTreeMap<String, usize> = Default::default();
    for event in &events {
        for id in rules.matches(event) {
            *titles.entry(rules.rule(id).title.clone()).or_default() += 1;
        }
    }
    let mut titles: Vec<_> = titles.into_iter().collect();
    titles.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    for (t, n) in titles.iter().take(8) {
        println!("matched {n:6} x {t}");
    }
    for event in &events {
        let t = rules.trace(event);
        let key = format!(
            "{}/{}",
            event.logsource.category.as_deref().unwrap_or("-"),
            event.logsource.service.as_deref().unwrap_or("-")
        );
        let entry = by_category.entry(key).or_default();
        entry.0 += 1;
        for acc in [&mut total, &mut entry.1] {
            acc.routed += t.routed;
            acc.always += t.always;
            acc.targets += t.targets;
            acc.scanned_bytes += t.scanned_bytes;
            acc.evaluated += t.evaluated;
            acc.matched += t.matched;
        }
    }
    let n = lines.len() as f64;
    let per = |t: &MatchTrace, n: f64| {
        format!(
            "routed {:.0}, always {:.1}, targets {:.1}, scanned {:.0} B, evaluated {:.1}, matched {:.2}",
            t.routed as f64 / n,
            t.always as f64 / n,
            t.targets as f64 / n,
            t.scanned_bytes as f64 / n,
            t.evaluated as f64 / n,
            t.matched as f64 / n
        )
    };
    println!("{} events, per event: {}", lines.len(), per(&total, n));
    let mut rows: Vec<_> = by_category.into_iter().collect();
    rows.sort_by_key(|(_, (_, t))| std::cmp::Reverse(t.evaluated));
    let all: u128 = nanos.values().sum();
    println!("total {:.0} ns/event", all as f64 / 3.0 / n);
    rows.sort_by_key(|(k, _)| std::cmp::Reverse(nanos.get(k).copied().unwrap_or(0)));
    for (k, (count, t)) in rows.iter().take(15) {
        let ns = nanos.get(k).copied().unwrap_or(0) as f64 / 3.0;
        println!(
            "{k:34} {count:6} ev, {:5.1}% of time, {:6.0} ns/ev: {}",
            100.0 * ns / (all as f64 / 3.0),
            ns / *count as f64,
            per(t, *count as f64)
        );
    }
}
