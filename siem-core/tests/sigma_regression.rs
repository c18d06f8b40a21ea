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
        .map(|doc| {
            parser
                .parse(serde_json::to_string(doc).unwrap().as_bytes())
                .event
        })
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
        let fired = events
            .iter()
            .filter(|e| rules.matches(e).contains(&id))
            .count();
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
                    events
                        .iter()
                        .map(|e| e.logsource.to_string())
                        .collect::<Vec<_>>()
                )
            } else {
                let source = rules.source(id);
                format!(
                    "the detection matches none of them; fields the rule reads after the pipelines: {:?}",
                    rules.field_names().collect::<Vec<_>>()
                ) + &format!(
                    " (conditions {:?})",
                    source
                        .detection
                        .conditions
                        .iter()
                        .map(|c| c.to_string())
                        .collect::<Vec<_>>()
                )
            };
            misses.push(format!(
                "{rule_path} ({rule_id}): fired on {fired} of {} events, expected at least {min}: {reason}",
                events.len()
            ));
        }
    }
    println!(
        "{checked} regression cases checked, {} missed",
        misses.len()
    );
    for m in &misses {
        println!("MISS {m}");
    }
    assert_eq!(checked, 202, "REGRESSION_INDEX.tsv should list 202 cases");
    assert!(
        misses.is_empty(),
        "{} of {checked} missed:\n{}",
        misses.len(),
        misses.join("\n")
    );
}

fn security_sample_events() -> Vec<Event> {
    let path = siem_testkit::corpus_file("chainsaw-tests", "tests/evtx/security_sample.jsonl");
    let parser = Parser::new(ParseOptions {
        format: FormatSpec::Json,
        ..ParseOptions::default()
    })
    .unwrap();
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| parser.parse(l.as_bytes()).event)
        .collect()
}

fn with_defaults(rule: &str) -> RuleSet {
    let mut builder = RuleSet::builder();
    PipelineSet::defaults().install(&mut builder);
    let (rules, errors) = builder.add_yaml(rule, None).build();
    assert!(errors.is_empty(), "{errors:?}");
    rules
}

/// Chainsaw's `hunt` with its any-logon rule (`Event.System.EventID: 4624`) prints exactly two
/// detections; the same rule in Sigma, through siem's parser and the default pipelines, selects
/// the same two events with the values Chainsaw's table shows (read from its expected output).
#[test]
fn chainsaw_hunt_any_logon_table() {
    let expected = std::fs::read_to_string(siem_testkit::corpus_file(
        "chainsaw-tests",
        "tests/evtx/clo_hunt_r_any_logon.txt",
    ))
    .unwrap();
    // Rows of the box-drawing table, ANSI colours removed: timestamp, detections, event id,
    // record id, computer, user, logon type, IP address.
    let plain = regex::Regex::new("\x1b\\[[0-9;]*m")
        .unwrap()
        .replace_all(&expected, "");
    let rows: Vec<Vec<String>> = plain
        .lines()
        .filter(|l| l.starts_with('│') && !l.contains("timestamp"))
        .map(|l| {
            l.split('│')
                .map(|c| c.trim().to_string())
                .filter(|c| !c.is_empty())
                .collect()
        })
        .collect();
    assert_eq!(rows.len(), 2, "{plain}");

    let rules = with_defaults(
        "title: Any Logon\nid: any-logon\nlogsource: {product: windows, service: security}\ndetection:\n  sel:\n    EventID: 4624\n  condition: sel\n",
    );
    let hits: Vec<Event> = security_sample_events()
        .into_iter()
        .filter(|e| !rules.matches(e).is_empty())
        .collect();
    assert_eq!(hits.len(), rows.len());
    for (event, row) in hits.iter().zip(&rows) {
        let text = |f: &str| {
            event
                .get(f)
                .map(|v| v.to_text().into_owned())
                .unwrap_or_default()
        };
        let time = event
            .timestamp
            .unwrap()
            .format("%Y-%m-%d %H:%M:%S")
            .to_string();
        let got = [
            time,
            text("winlog.event_id"),
            text("winlog.record_id"),
            text("winlog.computer_name"),
            text("winlog.event_data.TargetUserName"),
            text("winlog.event_data.LogonType"),
            text("winlog.event_data.IpAddress"),
        ];
        let want = [
            &row[0], &row[2], &row[3], &row[4], &row[5], &row[6], &row[7],
        ];
        assert_eq!(got.iter().collect::<Vec<_>>(), want, "{}", event.to_json());
    }
}

/// Chainsaw's `search 4624` finds the same two records (its JSON output, read here); a Sigma
/// keyword rule does too: keywords search every string of the event.
#[test]
fn chainsaw_search_matches_a_keyword_rule() {
    let expected: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(siem_testkit::corpus_file(
            "chainsaw-tests",
            "tests/evtx/clo_search_qj_simple_string.txt",
        ))
        .unwrap(),
    )
    .unwrap();
    let want: Vec<i64> = expected
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["Event"]["System"]["EventRecordID"].as_i64().unwrap())
        .collect();
    let rules = with_defaults(
        "title: search\nid: search\ndetection:\n  keywords:\n    - '4624'\n  condition: keywords\n",
    );
    let got: Vec<i64> = security_sample_events()
        .iter()
        .filter(|e| !rules.matches(e).is_empty())
        .filter_map(|e| e.get("winlog.record_id").and_then(|v| v.as_i64()))
        .collect();
    assert_eq!(got, want);
    assert_eq!(got, [31794, 31799]);
}
