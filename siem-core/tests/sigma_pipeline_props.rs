//! Property tests of processing pipelines:
//!
//! - any text given as a pipeline, and any generated pipeline applied to generated rules, is
//!   read, applied and compiled without panicking (errors are values);
//! - a one-to-many field mapping means, per detection item, the OR of the item over each
//!   target field (pySigma's definition): the rule the pipeline rewrites (and folds back into
//!   items with alternative fields), compiled, matches exactly the events on which the
//!   reference interpreter finds the hand-expanded OR tree true.

use std::collections::HashMap;

use compact_str::CompactString;
use proptest::prelude::*;
use siem_core::event::{Event, Value};
use siem_core::sigma::pipeline::{Pipeline, PipelineSet};
use siem_core::sigma::{
    DetectionItem, DetectionNode, RuleSet, SigmaDocument, SigmaRule, parse_documents, reference,
};

fn word() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["a", "ab", "B", "x", "é", "-", "1", " ", "ß"])
        .prop_map(str::to_string)
}

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(word(), 0..3).prop_map(|w| w.concat())
}

fn value() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![4 => text(), 1 => Just("*".to_string()), 1 => Just("?".to_string())],
        1..3,
    )
    .prop_map(|p| p.concat())
}

fn quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// One detection item as YAML: a field of the mapping's domain with modifiers and values.
fn item() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec!["a", "b", "c"]),
        prop::sample::select(vec![
            "",
            "|contains",
            "|startswith",
            "|endswith",
            "|contains|all",
            "|cased",
        ]),
        prop::collection::vec(value(), 1..3),
    )
        .prop_map(|(f, m, vs)| {
            let vs: Vec<String> = vs.iter().map(|v| quoted(v)).collect();
            format!("{f}{m}: [{}]", vs.join(", "))
        })
}

/// A selection: a mapping of items (AND), or a list of such mappings (OR).
fn selection() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(item(), 1..3).prop_map(|items| format!("{{{}}}", items.join(", "))),
        prop::collection::vec(prop::collection::vec(item(), 1..3), 1..3).prop_map(|maps| {
            let maps: Vec<String> = maps
                .iter()
                .map(|m| format!("{{{}}}", m.join(", ")))
                .collect();
            format!("[{}]", maps.join(", "))
        }),
        // A null test and an existence test: negative semantics go through the mapping too.
        Just("{a: null}".to_string()),
        Just("{b|exists: false}".to_string()),
    ]
}

fn condition() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "s1",
        "s1 and s2",
        "s1 or not s2",
        "not s1",
        "1 of s*",
        "all of them",
        "s1 and not (s2 or s3)",
    ])
    .prop_map(str::to_string)
}

fn rule_yaml() -> impl Strategy<Value = String> {
    (selection(), selection(), selection(), condition()).prop_map(|(s1, s2, s3, c)| {
        format!(
            "title: t\nid: r\ndetection:\n  s1: {s1}\n  s2: {s2}\n  s3: {s3}\n  condition: {c}\n"
        )
    })
}

fn event() -> impl Strategy<Value = Event> {
    prop::collection::vec(
        (
            prop::sample::select(vec!["a", "b", "c", "x", "y", "b2"]),
            text(),
        ),
        0..5,
    )
    .prop_map(|fields| {
        let mut e = Event::new();
        for (k, v) in fields {
            e.insert(k, Value::from(v));
        }
        e
    })
}

const MAPPING: &str = "name: m\ntransformations:\n  - id: map\n    type: field_name_mapping\n    mapping:\n      a: [x, y]\n      b: b2\n";

/// The rule with pySigma's meaning of the mapping written out: every item on `a` becomes the
/// OR of the same item on `x` and on `y`, `b` is renamed `b2`.
fn expanded(node: &DetectionNode) -> DetectionNode {
    match node {
        DetectionNode::AllOf(c) => DetectionNode::AllOf(c.iter().map(expanded).collect()),
        DetectionNode::AnyOf(c) => DetectionNode::AnyOf(c.iter().map(expanded).collect()),
        DetectionNode::Item(item) => {
            let on = |f: &str| {
                DetectionNode::Item(DetectionItem {
                    fields: vec![CompactString::from(f)],
                    ..item.clone()
                })
            };
            match item.fields.first().map(|f| f.as_str()) {
                Some("a") => DetectionNode::AnyOf(vec![on("x"), on("y")]),
                Some("b") => on("b2"),
                _ => node.clone(),
            }
        }
    }
}

fn parse_rule(yaml: &str) -> Option<SigmaRule> {
    match parse_documents(yaml, None).0.into_iter().next() {
        Some(SigmaDocument::Rule(r)) => Some(r),
        _ => None,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn one_to_many_mapping_is_the_or_of_its_alternatives(
        yaml in rule_yaml(),
        events in prop::collection::vec(event(), 1..8),
    ) {
        let Some(original) = parse_rule(&yaml) else { return Ok(()) };
        let mut builder = RuleSet::builder();
        PipelineSet::new(vec![Pipeline::from_yaml(MAPPING).unwrap()]).install(&mut builder);
        let (rules, errors) = builder.add_yaml(&yaml, None).build();
        if !errors.is_empty() {
            // The compiler refused the rule (e.g. a modifier combination); nothing to compare.
            return Ok(());
        }
        let mut want = original.clone();
        for node in want.detection.identifiers.values_mut() {
            *node = expanded(node);
        }
        let none = HashMap::new();
        for e in &events {
            let Ok(expected) = reference::evaluate(&want, e, &none) else { return Ok(()) };
            prop_assert_eq!(!rules.matches(e).is_empty(), expected, "{} on {}", yaml, e.to_json());
        }
    }

    #[test]
    fn arbitrary_text_is_read_as_a_pipeline_or_refused(text in ".{0,200}") {
        let _ = Pipeline::from_yaml(&text);
    }

    #[test]
    fn generated_pipelines_apply_and_compile_without_panicking(
        items in prop::collection::vec(transformation(), 1..5),
        yaml in rule_yaml(),
    ) {
        let text = format!("name: g\nvars:\n  v: [one, 'tw*']\ntransformations:\n{}", items.concat());
        let Ok(pipeline) = Pipeline::from_yaml(&text) else { return Ok(()) };
        let mut builder = RuleSet::builder();
        PipelineSet::new(vec![pipeline]).install(&mut builder);
        let (rules, _errors) = builder.add_yaml(&yaml, None).build();
        let mut e = Event::new();
        e.insert("a", "ab");
        let _ = rules.matches(&e);
    }
}

/// Transformations with conditions drawn from every kind, as pipeline YAML list entries.
fn transformation() -> impl Strategy<Value = String> {
    let kind = prop::sample::select(vec![
        "type: field_name_mapping\n    mapping: {a: [x, y], c: z}",
        "type: field_name_prefix_mapping\n    mapping: {'': [p., q.]}",
        "type: field_name_prefix\n    prefix: 'w.'",
        "type: field_name_suffix\n    suffix: '.k'",
        "type: drop_detection_item",
        "type: add_condition\n    conditions: {x|contains: ab, y: null}",
        "type: add_condition\n    negated: true\n    template: true\n    conditions: {z: '$product'}",
        "type: change_logsource\n    product: windows",
        "type: replace_string\n    regex: 'a(b?)'\n    replacement: '\\1*'",
        "type: replace_string\n    regex: '\\*'\n    replacement: '?'\n    skip_special: true",
        "type: map_string\n    mapping: {ab: [x, '*y']}",
        "type: set_value\n    value: 7",
        "type: convert_type\n    target_type: str",
        "type: value_placeholders",
        "type: wildcard_placeholders",
        "type: set_state\n    key: k\n    val: 3",
        "type: add_field\n    field: [f1]",
        "type: detection_item_failure\n    message: no",
    ]);
    let condition = prop::sample::select(vec![
        "",
        "\n    rule_conditions: [{type: logsource, product: windows}]\n    rule_cond_not: true",
        "\n    rule_conditions: [{type: processing_state, key: k, val: 2, op: gt}]",
        "\n    field_name_conditions: [{type: include_fields, fields: [a, b]}]",
        "\n    field_name_conditions: [{type: exclude_fields, fields: ['^w', '.*k$'], mode: re}]\n    field_name_cond_not: true",
        "\n    detection_item_conditions: [{type: match_string, cond: any, pattern: 'a.*'}]",
        "\n    detection_item_conditions: [{type: contains_wildcard, cond: all}]\n    detection_item_cond_not: true",
        "\n    detection_item_conditions: [{type: processing_item_applied, processing_item_id: i1}]",
        "\n    rule_conditions: {l: {type: logsource, product: linux}, f: {type: contains_field, field: a}}\n    rule_cond_expr: not l and f",
    ]);
    (kind, condition, 0..3u8).prop_map(|(k, c, n)| format!("  - id: i{n}\n    {k}{c}\n"))
}
