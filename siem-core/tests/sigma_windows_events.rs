//! SigmaHQ's Windows rules on real Windows events, read as `siem scan` reads them: each JSON
//! document through siem's JSON parser (`winlog.*` fields, logsource from channel, provider and
//! event id) and the rules through the default pipelines (`windows`, `ecs`), which map the Sigma
//! taxonomy (`EventID`, `CommandLine`, ...) onto those fields. SigmaHQ's regression data runs the
//! same way in `sigma_regression.rs`.

use std::path::Path;

use siem_core::event::{Event, Value};
use siem_core::parse::{FormatSpec, ParseOptions, Parser};
use siem_core::sigma::pipeline::PipelineSet;
use siem_core::sigma::{RuleId, RuleSet};

/// A JSON document as siem's JSON parser reads it (one document per line).
fn windows_event(doc: &serde_json::Value) -> Option<Event> {
    thread_local! {
        static PARSER: Parser = Parser::new(ParseOptions {
            format: FormatSpec::Json,
            ..ParseOptions::default()
        })
        .unwrap();
    }
    let line = serde_json::to_string(doc).unwrap();
    let parsed = PARSER.with(|p| p.parse(line.as_bytes()));
    let windows = parsed.event.logsource.product.as_deref() == Some("windows");
    windows.then_some(parsed.event)
}

/// Every JSON document of a file (JSON Lines, or several concatenated documents).
pub fn json_documents(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap();
    serde_json::Deserializer::from_str(&text)
        .into_iter::<serde_json::Value>()
        .map(|v| v.unwrap())
        .collect()
}

fn windows_rules() -> RuleSet {
    let root = siem_testkit::corpus("sigma");
    let mut builder = RuleSet::builder();
    PipelineSet::defaults().install(&mut builder);
    let mut stack = vec![
        root.join("rules/windows"),
        root.join("rules-emerging-threats"),
        root.join("rules-threat-hunting/windows"),
    ];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "yml") {
                let rel = path.strip_prefix(&root).unwrap().display().to_string();
                builder.add_yaml(&std::fs::read_to_string(&path).unwrap(), Some(&rel));
            }
        }
    }
    builder.build().0
}

/// Chainsaw's sample: `EventID: 4624` selects exactly records 31794 and 31799.
#[test]
fn chainsaw_sample_selects_exactly_the_two_logons() {
    let path = siem_testkit::corpus_file("chainsaw-tests", "tests/evtx/security_sample.jsonl");
    let mut builder = RuleSet::builder();
    PipelineSet::defaults().install(&mut builder);
    let (rules, errors) = builder
        .add_yaml(
            "title: any logon\nid: logon\nlogsource: {product: windows, service: security}\ndetection:\n  sel:\n    EventID: 4624\n  condition: sel\n",
            None,
        )
        .build();
    assert!(errors.is_empty());
    let records: Vec<i64> = json_documents(&path)
        .iter()
        .filter_map(windows_event)
        .filter(|e| !rules.matches(e).is_empty())
        .filter_map(|e| e.get("winlog.record_id").and_then(Value::as_i64))
        .collect();
    assert_eq!(records, [31794, 31799]);
}

/// On real events, the prefiltered result equals evaluating every routed rule.
#[test]
fn prefilter_agrees_with_exhaustive_evaluation_on_real_events() {
    let rules = windows_rules();
    let root = siem_testkit::corpus("windows-evtx-json");
    let mut files = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "jsonl") {
                files.push(path);
            }
        }
    }
    files.sort();
    let (mut events, mut hits) = (0usize, 0usize);
    let mut fired: std::collections::BTreeSet<RuleId> = Default::default();
    for file in files.iter().step_by(3) {
        for doc in json_documents(file).iter().step_by(7) {
            let Some(event) = windows_event(doc) else {
                continue;
            };
            let fast = rules.matches(&event);
            assert_eq!(
                fast,
                rules.matches_exhaustive(&event),
                "{}: {}",
                file.display(),
                event.to_json()
            );
            events += 1;
            hits += fast.len();
            fired.extend(fast);
        }
    }
    println!(
        "{events} events, {hits} detections, {} distinct rules fired",
        fired.len()
    );
    assert!(events > 1000 && hits > 0);
}
