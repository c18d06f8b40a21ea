//! Differential test against RSigma (`rsigma-eval` / `rsigma-parser` 0.23): all of SigmaHQ's
//! `rules/` over the 26,365 Windows events of `windows-evtx-json/`, compared as sets of
//! (rule id, event index) matches. Every difference must be listed, with its reason, in
//! `docs/rsigma-differences.md`; the test reads that file's tables and fails on any difference
//! (or any listed difference) that does not agree.
//!
//! The two engines get the same events, each the way it expects them:
//!
//! - siem: each line through siem's own JSON parser (the Windows normalizer, `winlog.*`
//!   fields, logsource from channel and event id) and the default pipelines (`windows`, `ecs`),
//!   routing on, exactly as `siem scan` runs.
//! - RSigma: each line's `Event.System` and `Event.EventData` / `Event.UserData` flattened to
//!   top-level keys named as the Sigma taxonomy names them (`EventID`, `Channel`,
//!   `Provider_Name`, `Computer`, ..., EventData keys as they are plus a copy without spaces),
//!   a pipeline doing SigmaHQ's `tests/thor.yml` renames (4688 `NewProcessName` / Defender
//!   `ThreatName`), and `Engine::evaluate_with_logsource` with the event's Sigma logsource
//!   (the same channel / event-id table siem's router uses, plus the `registry_*` to
//!   `registry_event` implication), so both route alike.
//!
//! Cost: about 40 seconds in a debug build on two cores (both engines load 3,141 rules and see
//! every event), so it runs with the ordinary test command.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use rsigma_eval::Engine;
use rsigma_eval::event::JsonEvent;
use rsigma_eval::pipeline::parse_pipeline;
use serde_json::Value;

#[path = "common/rsigma_flat.rs"]
mod rsigma_flat;
use rsigma_flat::{flatten, implied, rsigma_logsource};
use siem_core::parse::json::windows;
use siem_core::parse::{FormatSpec, ParseOptions, Parser};
use siem_core::sigma::RuleSet;
use siem_core::sigma::pipeline::PipelineSet;

/// RSigma's pipeline: thor.yml's field renames, as siem's `windows` pipeline has them, on the
/// taxonomy names RSigma's events carry.
const RSIGMA_PIPELINE: &str = r#"
name: thor renames
priority: 10
transformations:
  - id: process_creation_4688
    type: field_name_mapping
    mapping:
      Image: [Image, NewProcessName]
      ParentImage: [ParentImage, ParentProcessName]
    rule_conditions:
      - type: logsource
        product: windows
        category: process_creation
  - id: defender_antivirus
    type: field_name_mapping
    mapping:
      Signature: [Signature, ThreatName]
      Filename: [Filename, Path]
    rule_conditions:
      - type: logsource
        category: antivirus
"#;

fn files_under(root: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
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

/// A row of `docs/rsigma-differences.md`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Listed {
    siem_only: usize,
    rsigma_only: usize,
}

/// The differences the document lists: matches per rule id, and rules only one engine loads.
fn listed() -> (BTreeMap<String, Listed>, BTreeMap<String, String>) {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/rsigma-differences.md"
    ))
    .expect("docs/rsigma-differences.md");
    let mut matches = BTreeMap::new();
    let mut loads = BTreeMap::new();
    for line in doc.lines() {
        let cells: Vec<&str> = line
            .trim()
            .trim_matches('|')
            .split('|')
            .map(str::trim)
            .collect();
        match cells.as_slice() {
            ["match", id, _title, siem, rsigma, ..] => {
                matches.insert(
                    id.trim_matches('`').to_string(),
                    Listed {
                        siem_only: siem.parse().expect("siem-only count"),
                        rsigma_only: rsigma.parse().expect("rsigma-only count"),
                    },
                );
            }
            ["load", id, _title, engine, ..] => {
                loads.insert(id.trim_matches('`').to_string(), engine.to_string());
            }
            _ => {}
        }
    }
    (matches, loads)
}

#[test]
fn siem_and_rsigma_agree_on_sigmahq_rules_over_windows_events() {
    let sigma = siem_testkit::corpus("sigma");
    let rule_files = files_under(&sigma.join("rules"), "yml");
    let texts: Vec<(String, String)> = rule_files
        .iter()
        .map(|p| {
            let rel = p
                .strip_prefix(&sigma)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (rel, std::fs::read_to_string(p).unwrap())
        })
        .collect();

    // siem: default pipelines, routing on.
    let t = Instant::now();
    let mut builder = RuleSet::builder();
    PipelineSet::defaults().install(&mut builder);
    for (path, text) in &texts {
        builder.add_yaml(text, Some(path));
    }
    let (ours, our_errors) = builder.build();
    let ours_loaded: BTreeSet<String> = ours.rules().map(|(_, m)| m.id.to_string()).collect();
    println!(
        "siem: {} rules, {} errors, {:?}",
        ours.len(),
        our_errors.len(),
        t.elapsed()
    );

    // RSigma: its parser, the thor pipeline.
    let t = Instant::now();
    let mut engine = Engine::new();
    engine.add_pipeline(parse_pipeline(RSIGMA_PIPELINE).expect("pipeline"));
    let mut rsigma_rules = Vec::new();
    let mut rsigma_parse_failures = 0;
    for (_, text) in &texts {
        match rsigma_parser::parse_sigma_yaml(text) {
            Ok(c) => {
                rsigma_parse_failures += c.errors.len();
                rsigma_rules.extend(c.rules);
            }
            Err(_) => rsigma_parse_failures += 1,
        }
    }
    let failed: BTreeSet<usize> = engine
        .add_rules(rsigma_rules.iter())
        .into_iter()
        .map(|(i, _)| i)
        .collect();
    let rsigma_loaded: BTreeSet<String> = rsigma_rules
        .iter()
        .enumerate()
        .filter(|(i, _)| !failed.contains(i))
        .filter_map(|(_, r)| r.id.clone())
        .collect();
    println!(
        "rsigma: {} rules, {} parse and {} compile failures, {:?}",
        engine.rule_count(),
        rsigma_parse_failures,
        failed.len(),
        t.elapsed()
    );

    // Events.
    let parser = Parser::new(ParseOptions {
        format: FormatSpec::Json,
        ..ParseOptions::default()
    })
    .unwrap();
    let event_root = siem_testkit::corpus("windows-evtx-json");
    let mut index = 0usize;
    let mut compared = 0usize;
    // Where each event index comes from, for the difference report.
    let mut origin: Vec<(usize, PathBuf, usize)> = Vec::new();
    let mut siem_hits: BTreeSet<(String, usize)> = BTreeSet::new();
    let mut rsigma_hits: BTreeSet<(String, usize)> = BTreeSet::new();
    let (mut siem_time, mut rsigma_time) = (std::time::Duration::ZERO, std::time::Duration::ZERO);
    for file in files_under(&event_root, "jsonl") {
        let text = std::fs::read_to_string(&file).unwrap();
        let rel = file.strip_prefix(&event_root).unwrap().to_path_buf();
        origin.push((index, rel, 0));
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let i = index;
            index += 1;
            let Ok(doc) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            let Some((flat, channel, eid, event_type)) = flatten(&doc) else {
                continue;
            };
            compared += 1;
            let t = Instant::now();
            let event = parser.parse(line.as_bytes()).event;
            for id in ours.matches(&event) {
                siem_hits.insert((ours.rule(id).id.to_string(), i));
            }
            siem_time += t.elapsed();

            let t = Instant::now();
            let ls = windows::logsource(channel.as_deref(), eid, event_type.as_deref());
            let jevent = JsonEvent::borrow(&flat);
            let category = ls.category.as_deref();
            for cat in [category, implied(category)] {
                if cat.is_none() && category.is_some() {
                    continue;
                }
                for r in engine.evaluate_with_logsource(&jevent, &rsigma_logsource(&ls, cat)) {
                    if let Some(id) = &r.header.rule_id {
                        rsigma_hits.insert((id.clone(), i));
                    }
                }
            }
            rsigma_time += t.elapsed();
        }
    }
    println!(
        "{index} events, {compared} compared; siem {} matches in {siem_time:?}, rsigma {} in {rsigma_time:?}",
        siem_hits.len(),
        rsigma_hits.len()
    );

    // Differences by rule.
    let titles: BTreeMap<String, String> = ours
        .rules()
        .map(|(_, m)| (m.id.to_string(), m.title.clone()))
        .chain(
            rsigma_rules
                .iter()
                .filter_map(|r| Some((r.id.clone()?, r.title.clone()))),
        )
        .collect();
    let mut found: BTreeMap<String, Listed> = BTreeMap::new();
    let locate = |i: usize| {
        let at = origin.partition_point(|(start, _, _)| *start <= i) - 1;
        format!("{}:{}", origin[at].1.display(), i - origin[at].0 + 1)
    };
    for (id, i) in siem_hits.difference(&rsigma_hits) {
        found.entry(id.clone()).or_default().siem_only += 1;
        println!("siem only: {id} on event {i} ({})", locate(*i));
    }
    for (id, i) in rsigma_hits.difference(&siem_hits) {
        found.entry(id.clone()).or_default().rsigma_only += 1;
        println!("rsigma only: {id} on event {i} ({})", locate(*i));
    }
    let mut load_diff: BTreeMap<String, String> = BTreeMap::new();
    for id in ours_loaded.difference(&rsigma_loaded) {
        load_diff.insert(id.clone(), "siem".into());
    }
    for id in rsigma_loaded.difference(&ours_loaded) {
        load_diff.insert(id.clone(), "rsigma".into());
    }

    println!("match differences (siem only / rsigma only):");
    for (id, d) in &found {
        println!(
            "| match | `{id}` | {} | {} | {} | |",
            titles.get(id).map(String::as_str).unwrap_or("?"),
            d.siem_only,
            d.rsigma_only
        );
    }
    println!("rules only one engine loads:");
    for (id, engine) in &load_diff {
        println!(
            "| load | `{id}` | {} | {engine} | |",
            titles.get(id).map(String::as_str).unwrap_or("?")
        );
    }

    let (doc_matches, doc_loads) = listed();
    let mut problems = Vec::new();
    for (id, d) in &found {
        match doc_matches.get(id) {
            None => problems.push(format!(
                "{id}: {d:?} not listed in docs/rsigma-differences.md"
            )),
            Some(l) if l != d => {
                problems.push(format!("{id}: found {d:?}, the document lists {l:?}"))
            }
            Some(_) => {}
        }
    }
    for id in doc_matches.keys() {
        if !found.contains_key(id) {
            problems.push(format!(
                "{id}: listed in the document but no longer differs"
            ));
        }
    }
    if load_diff != doc_loads {
        problems.push(format!(
            "rules only one engine loads: found {load_diff:?}, the document lists {doc_loads:?}"
        ));
    }
    assert!(
        siem_hits.len() > 1000,
        "too few matches to compare: {}",
        siem_hits.len()
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
