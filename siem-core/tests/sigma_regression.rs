//! SigmaHQ's regression data, end to end: each of the 202 rules of
//! `sigma/REGRESSION_INDEX.tsv`, loaded from its file with the default pipelines
//! ([`PipelineSet::defaults`]) and logsource routing on, must match the events of its JSON file
//! (parsed by siem's own parser, exactly as `siem scan` reads them) at least `match_count`
//! times. This is SigmaHQ's own CI check (its runner uses `tests/thor.yml`); the JSON files are
//! the `.evtx` records in `evtx_dump` shape, some holding several concatenated documents.

use std::path::Path;

use siem_core::Event;
use siem_core::parse::{FormatSpec, ParseOptions, Parser};
use siem_core::sigma::RuleSet;
use siem_core::sigma::pipeline::PipelineSet;

/// The documents of a file that holds one or more JSON values one after another.
fn json_stream(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::Deserializer::from_str(&text)
        .into_iter::<serde_json::Value>()
        .map(|d| d.unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .collect()
}

/// Events as the JSON parser reads them: each document on one line.
fn events(path: &Path, parser: &Parser) -> Vec<Event> {
    json_stream(path)
        .iter()
        .map(|doc| parser.parse(serde_json::to_string(doc).unwrap().as_bytes()).event)
        .collect()
}

#[test]
fn every_regression_rule_matches_its_events() {
    let root = siem_testkit::corpus("sigma");
    let index = std::fs::read_to_string(root.join("REGRESSION_INDEX.tsv")).unwrap();
    let parser = Parser::new(ParseOptions {
        format: FormatSpec::Json,
        ..ParseOptions::default()
    })
    .unwrap();
    let mut checked = 0;
    let mut misses = Vec::new();
    for line in index.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let (rule_path, rule_id, json_path, min) = (cols[0], cols[1], cols[4], cols[5]);
        let min: usize = min.parse().unwrap_or(1);
        checked += 1;
        let text = std::fs::read_to_string(root.join(rule_path)).unwrap();
        let mut builder = RuleSet::builder();
        PipelineSet::defaults().install(&mut builder);
        let (rules, errors) = builder.add_yaml(&text, Some(rule_path)).build();
        if !errors.is_empty() {
            misses.push(format!("{rule_path}: does not compile: {}", errors[0]));
            continue;
        }
        let Some(id) = rules.lookup(rule_id) else {
            misses.push(format!("{rule_path}: no rule with id {rule_id}"));
            continue;
        };
        let events = events(&root.join(json_path), &parser);
        let fired = events.iter().filter(|e| rules.matches(e).contains(&id)).count();
        if fired < min {
            // Say why: routing (logsource) or the detection itself.
            let unrouted = events
                .iter()
                .filter(|e| rules.evaluate(id, e) && !rules.matches(e).contains(&id))
                .count();
            let reason = if unrouted > 0 {
                format!(
                    "{unrouted} event(s) match the detection but are not routed to the rule (rule logsource {}, event logsources {:?})",
                    rules.rule(id).logsource,
                    events.iter().map(|e| e.logsource.to_string()).collect::<Vec<_>>()
                )
            } else {
                let source = rules.source(id);
                format!(
                    "the detection matches none of them; fields the rule reads after the pipelines: {:?}",
                    rules.field_names().collect::<Vec<_>>()
                ) + &format!(" (conditions {:?})", source.detection.conditions.iter().map(|c| c.to_string()).collect::<Vec<_>>())
            };
            misses.push(format!(
                "{rule_path} ({rule_id}): fired on {fired} of {} events, expected at least {min}: {reason}",
                events.len()
            ));
        }
    }
    println!("{checked} regression cases checked, {} missed", misses.len());
    for m in &misses {
        println!("MISS {m}");
    }
    assert_eq!(checked, 202, "REGRESSION_INDEX.tsv should list 202 cases");
    assert!(misses.is_empty(), "{} of {checked} missed:\n{}", misses.len(), misses.join("\n"));
}
