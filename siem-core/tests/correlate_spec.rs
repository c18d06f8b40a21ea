//! Ground truth from the Sigma specification: its schema tests and every correlation example it
//! contains (incl. the four-document brute-force-then-success chain and the field-alias
//! example, run on synthetic detections), Hayabusa's correlation rules, and siem's own example
//! rules in `examples/rules/`.

#[path = "correlate_util.rs"]
mod util;

use std::path::{Path, PathBuf};

use siem_core::correlate::{BuildError, CorrelationId, CorrelationSet, CorrelatorConfig};
use siem_core::sigma::RuleMeta;
use siem_core::sigma::correlation::{
    CompareOp, CorrelationErrorKind, CorrelationRule, CorrelationType,
};
use util::{Loaded, event, run};

fn spec() -> PathBuf {
    siem_testkit::corpus("sigma-specification")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn example(name: &str) -> String {
    read(&spec().join("extracted-examples/correlation").join(name))
}

#[test]
fn every_schema_test_parses_and_validates() {
    let dir = spec().join("tests/schema/correlation");
    let mut seen = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = read(&path);
        let loaded = Loaded::from_text(&text, path.to_str())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(loaded.correlations.len(), 1, "{}", path.display());
        let rule = &loaded.correlations[0];
        assert!(!rule.meta.title.is_empty());
        seen.push(rule.kind);
    }
    // One schema test per correlation type (event_count twice: plain and ECS).
    for kind in CorrelationType::ALL {
        assert!(seen.contains(&kind), "no schema test for {kind}");
    }
    assert_eq!(seen.len(), 8);
}

#[test]
fn the_complete_type_examples_parse_as_the_specification_describes() {
    // (file, type, group-by, timespan in seconds, operator, threshold, field)
    type Case = (
        &'static str,
        CorrelationType,
        &'static [&'static str],
        i64,
        CompareOp,
        f64,
        &'static [&'static str],
    );
    let cases: &[Case] = &[
        (
            "06_event_count_event_count.yml",
            CorrelationType::EventCount,
            &["ComputerName"],
            3600,
            CompareOp::Gte,
            100.0,
            &[],
        ),
        (
            "07_value_count_value_count.yml",
            CorrelationType::ValueCount,
            &["ComputerName", "WorkstationName"],
            86_400,
            CompareOp::Gte,
            100.0,
            &["User"],
        ),
        (
            "10_value_sum_value_sum.yml",
            CorrelationType::ValueSum,
            &["SourceIP", "User"],
            3600,
            CompareOp::Gt,
            1_000_000.0,
            &["bytes_sent"],
        ),
        (
            "11_value_average_value_avg.yml",
            CorrelationType::ValueAvg,
            &["SourceIP", "User"],
            86_400,
            CompareOp::Gt,
            500.0,
            &["BytesOut"],
        ),
        (
            "12_value_percentile_value_percentile.yml",
            CorrelationType::ValuePercentile,
            &["ComputerName"],
            86_400,
            CompareOp::Lte,
            1.0,
            &["image"],
        ),
    ];
    for (file, kind, group_by, seconds, op, threshold, field) in cases {
        let loaded = Loaded::from_text(&example(file), Some(file)).unwrap();
        let rule = &loaded.correlations[0];
        assert_eq!(rule.kind, *kind, "{file}");
        assert_eq!(rule.group_by, *group_by, "{file}");
        assert_eq!(rule.timespan.seconds(), *seconds, "{file}");
        assert_eq!(rule.condition.bounds.len(), 1, "{file}");
        assert_eq!(rule.condition.bounds[0].op, *op, "{file}");
        assert_eq!(rule.condition.bounds[0].value, *threshold, "{file}");
        assert_eq!(rule.condition.field, *field, "{file}");
        assert!(!rule.generate, "{file}: generate defaults to false");
    }
    // The percentile example gives no percentile: the median is used, and siem says so.
    let p = Loaded::from_text(&example("12_value_percentile_value_percentile.yml"), None).unwrap();
    assert!(
        p.correlations[0]
            .warnings()
            .iter()
            .any(|w| w.contains("median"))
    );

    // Temporal examples without a condition require every rule.
    for (file, kind, rules) in [
        (
            "08_temporal_proximity_temporal.yml",
            CorrelationType::Temporal,
            3,
        ),
        (
            "09_ordered_temporal_proximity_temporal_ordered.yml",
            CorrelationType::TemporalOrdered,
            2,
        ),
    ] {
        let doc = util::documents(&example(file)).remove(0);
        // These fragments have no title; the metadata is the loader's business.
        let rule = CorrelationRule::from_yaml(
            RuleMeta {
                title: file.into(),
                ..RuleMeta::default()
            },
            &doc,
        )
        .unwrap();
        assert_eq!(rule.kind, kind);
        assert!(!rule.condition_given);
        assert!(
            rule.condition.holds(rules as f64) && !rule.condition.holds(rules as f64 - 1.0),
            "{file}"
        );
    }
}

#[test]
fn the_fragments_read_as_their_section_says() {
    // 01: identification only, no correlation section.
    let doc = util::documents(&example("01_identification.yml")).remove(0);
    let err = CorrelationRule::from_yaml(util::meta_of(&doc, None), &doc).unwrap_err();
    assert_eq!(err.kind, CorrelationErrorKind::MissingSection);
    assert!(err.to_string().contains("login brute force"), "{err}");
    // 02: a correlation with rules but neither type nor timespan.
    let doc = util::documents(&example("02_related_rules.yml")).remove(0);
    let err = CorrelationRule::from_yaml(util::meta_of(&doc, None), &doc).unwrap_err();
    assert_eq!(err.kind, CorrelationErrorKind::Missing("type"));
    assert!(
        err.to_string()
            .contains("0e95725d-7320-415d-80f7-004da920fc11"),
        "{err}"
    );

    // 03, 04, 05: a group-by list and two conditions, placed into a complete section.
    let with = |key: &str, fragment: &str| {
        let value = util::documents(&example(fragment))
            .remove(0)
            .get(key)
            .cloned()
            .unwrap();
        let mut doc: yaml_serde::Value = yaml_serde::from_str(
            "title: t\ncorrelation: {type: event_count, rules: [r], timespan: 1h, condition: {gte: 1}}",
        )
        .unwrap();
        doc.get_mut("correlation")
            .unwrap()
            .as_mapping_mut()
            .unwrap()
            .insert(key.into(), value);
        CorrelationRule::from_yaml(
            RuleMeta {
                title: "t".into(),
                ..RuleMeta::default()
            },
            &doc,
        )
        .unwrap()
    };
    assert_eq!(
        with("group-by", "03_grouping.yml").group_by,
        ["TargetUserName", "TargetDomainName"]
    );
    let gte = with("condition", "04_condition.yml").condition;
    assert!(gte.holds(100.0) && !gte.holds(99.0));
    // "Example "101 to 200"": gt 100 and lte 200.
    let range = with("condition", "05_condition.yml").condition;
    assert!(!range.holds(100.0) && range.holds(101.0) && range.holds(200.0) && !range.holds(201.0));
    assert_eq!(range.bounds.len(), 2);
}

#[test]
fn an_unresolvable_reference_is_reported_with_the_rule() {
    // 02's `firewall_block`, referenced by name with no rule of that name loaded.
    let doc: yaml_serde::Value = yaml_serde::from_str(
        "title: login brute force\nid: 0e95725d-7320-415d-80f7-004da920fc11\ncorrelation:\n  type: event_count\n  rules: [5638f7c0-ac70-491d-8465-2a65075e0d86, firewall_block]\n  timespan: 1h\n  condition: {gte: 10}\n",
    )
    .unwrap();
    let rule = CorrelationRule::from_yaml(util::meta_of(&doc, None), &doc).unwrap();
    let err = CorrelationSet::build(vec![rule], |r: &str| {
        (r == "5638f7c0-ac70-491d-8465-2a65075e0d86").then_some(0u32)
    })
    .unwrap_err();
    assert_eq!(
        err,
        BuildError::UnknownRule {
            rule: "0e95725d-7320-415d-80f7-004da920fc11".into(),
            reference: "firewall_block".into()
        }
    );
}

#[test]
fn cycles_ambiguity_and_double_references_are_rejected() {
    let parse = |yaml: &str| {
        let doc = util::documents(yaml).remove(0);
        CorrelationRule::from_yaml(util::meta_of(&doc, None), &doc).unwrap()
    };
    let a = parse(
        "title: A\nname: a\ncorrelation: {type: event_count, rules: [b], timespan: 1m, condition: {gte: 2}}",
    );
    let b = parse(
        "title: B\nname: b\ncorrelation: {type: event_count, rules: [c], timespan: 1m, condition: {gte: 2}}",
    );
    let c = parse("title: C\nname: c\ncorrelation: {type: temporal, rules: [a, x], timespan: 1m}");
    let resolve = |r: &str| (r == "x").then_some(0u32);
    match CorrelationSet::build(vec![a.clone(), b.clone(), c], resolve) {
        Err(BuildError::Cycle(path)) => assert_eq!(path, ["a", "b", "c", "a"]),
        other => panic!("expected a cycle, got {other:?}"),
    }
    let selfish = parse(
        "title: S\nname: s\ncorrelation: {type: event_count, rules: [s], timespan: 1m, condition: {gte: 2}}",
    );
    assert!(matches!(
        CorrelationSet::build(vec![selfish], resolve),
        Err(BuildError::Cycle(_))
    ));
    // `b` names a correlation and (through the resolver) a detection rule.
    let c2 = parse(
        "title: C\nname: c\ncorrelation: {type: event_count, rules: [x], timespan: 1m, condition: {gte: 2}}",
    );
    let err = CorrelationSet::build(vec![a.clone(), b, c2], |r: &str| {
        (r == "x" || r == "b").then_some(0u32)
    })
    .unwrap_err();
    assert!(
        matches!(err, BuildError::Ambiguous { ref reference, .. } if reference == "b"),
        "{err}"
    );
    // A rule referenced by its id and by its name.
    let twice =
        parse("title: T\ncorrelation: {type: temporal, rules: [rule-id, rule_name], timespan: 1m}");
    let err = CorrelationSet::build(vec![twice], |r: &str| {
        (r == "rule-id" || r == "rule_name").then_some(4u32)
    })
    .unwrap_err();
    assert!(matches!(err, BuildError::SameRule { .. }), "{err}");
    // Two correlations with one name.
    let a2 = parse(
        "title: A2\nname: a\ncorrelation: {type: event_count, rules: [x], timespan: 1m, condition: {gte: 2}}",
    );
    let a3 = parse(
        "title: A3\nname: a\ncorrelation: {type: event_count, rules: [x], timespan: 1m, condition: {gte: 2}}",
    );
    assert_eq!(
        CorrelationSet::build(vec![a2, a3], resolve).unwrap_err(),
        BuildError::DuplicateCorrelation("a".into())
    );
}

#[test]
fn failed_logins_followed_by_successful_login() {
    // The specification's complete example: two detection rules, an event_count correlation
    // and a temporal_ordered correlation chained on it.
    let loaded = Loaded::from_text(
        &example("16_failed_logins_followed_by_successful_login.yml"),
        Some("16.yml"),
    )
    .unwrap();
    let set = loaded.set();
    let failed = loaded.base(&set, "failed_login");
    let success = loaded.base(&set, "successful_login");

    // `generate` is absent: only the outermost correlation raises alerts.
    assert!(!set.emits_detection_alerts(loaded.detection("failed_login").unwrap()));
    assert!(!set.emits_detection_alerts(loaded.detection("successful_login").unwrap()));
    let outer = set
        .rules()
        .iter()
        .position(|r| r.meta.id == "b180ead8-d58f-40b2-ae54-c8940995b9b6")
        .unwrap();
    let inner = set
        .rules()
        .iter()
        .position(|r| r.meta.id == "a8418a5a-5fc4-46b5-b23b-6c73beb19d41")
        .unwrap();
    assert!(set.emits_correlation_alerts(CorrelationId(outer as u32)));
    assert!(!set.emits_correlation_alerts(CorrelationId(inner as u32)));

    let login = |seconds: i64, user: &str, id: &str| event(seconds, &[("User", user), ("id", id)]);
    let scenario = |failures: usize, gap: i64, success_after: i64| {
        let mut detections = Vec::new();
        for i in 0..failures {
            detections.push((failed, login(i as i64 * gap, "alice", &format!("f{i}"))));
            if i % 2 == 0 {
                // Another user's failures, too few to matter.
                detections.push((failed, login(i as i64 * gap, "bob", "noise")));
            }
        }
        let last = (failures as i64 - 1).max(0) * gap;
        detections.push((success, login(last + success_after, "alice", "s")));
        detections.push((success, login(last + success_after, "bob", "s-bob")));
        run(&set, CorrelatorConfig::default(), &detections)
    };

    let alerts = scenario(10, 30, 60);
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    let json = alerts[0].to_json_value();
    assert_eq!(json["kind"], "correlation");
    assert_eq!(json["rule"]["id"], "b180ead8-d58f-40b2-ae54-c8940995b9b6");
    assert_eq!(json["rule"]["level"], "high");
    assert_eq!(json["rule"]["author"], "Florian Roth (Nextron Systems)");
    assert_eq!(json["group"], serde_json::json!({"User": "alice"}));
    assert_eq!(json["value"], 2);
    // The window runs from the inner alert (the tenth failure) to the success.
    assert_eq!(json["window"]["start"], "2024-05-01T10:04:30Z");
    assert_eq!(json["window"]["end"], "2024-05-01T10:05:30Z");
    assert_eq!(json["@timestamp"], "2024-05-01T10:05:30Z");
    assert_eq!(
        json["rules"],
        serde_json::json!([
            "a8418a5a-5fc4-46b5-b23b-6c73beb19d41",
            "4d0a2c83-c62c-4ed4-b475-c7e23a9269b8"
        ])
    );
    let ids: Vec<&str> = json["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["f9", "s"]);

    // Nine failures are not "multiple failed logins" (gte: 10).
    assert!(scenario(9, 30, 60).is_empty());
    // Failures spread beyond ten minutes never make ten in one window.
    assert!(scenario(10, 70, 60).is_empty());
    // The success comes more than ten minutes after the burst.
    assert!(scenario(10, 30, 601).is_empty());
    // Exactly ten minutes is still "within" (both ends of a window are inclusive).
    assert_eq!(scenario(10, 30, 600).len(), 1);
    // A success before the failures is out of order.
    let mut detections = vec![(success, login(0, "alice", "s"))];
    for i in 0..10 {
        detections.push((failed, login(10 + i, "alice", "f")));
    }
    assert!(run(&set, CorrelatorConfig::default(), &detections).is_empty());
}

#[test]
fn field_name_aliases_join_different_fields() {
    // Examples 13 and 14 (two detection rules by name) with 15 (a temporal correlation over
    // aliases `internal_ip` / `remote_ip`).
    let mut loaded = Loaded::default();
    for file in [
        "13_field_name_aliases_example.yml",
        "14_field_name_aliases_example.yml",
        "15_field_name_aliases_example.yml",
    ] {
        loaded.add(&example(file), Some(file)).unwrap();
    }
    let set = loaded.set();
    assert!(set.warnings().is_empty(), "{:?}", set.warnings());
    let error = loaded.base(&set, "internal_error");
    let connection = loaded.base(&set, "new_network_connection");
    let http_500 = |s, src, dst| {
        event(
            s,
            &[
                ("http.response.status_code", "500"),
                ("source.ip", src),
                ("destination.ip", dst),
            ],
        )
    };
    let conn = |s, src, dst| {
        event(
            s,
            &[
                ("event.category", "network"),
                ("source.ip", src),
                ("destination.ip", dst),
            ],
        )
    };

    // The server 10.0.0.5 answered 500 to 203.0.113.9, then opened a connection to it.
    let alerts = run(
        &set,
        CorrelatorConfig::default(),
        &[
            (error, http_500(0, "203.0.113.9", "10.0.0.5")),
            (connection, conn(4, "10.0.0.5", "203.0.113.9")),
        ],
    );
    assert_eq!(alerts.len(), 1);
    let json = alerts[0].to_json_value();
    assert_eq!(
        json["group"],
        serde_json::json!({"internal_ip": "10.0.0.5", "remote_ip": "203.0.113.9"})
    );
    assert_eq!(json["value"], 2);

    // The same addresses in the same fields of both events do not join.
    let none = run(
        &set,
        CorrelatorConfig::default(),
        &[
            (error, http_500(0, "203.0.113.9", "10.0.0.5")),
            (connection, conn(4, "203.0.113.9", "10.0.0.5")),
        ],
    );
    assert!(none.is_empty());
    // Nor further apart than the 10 s timespan.
    let late = run(
        &set,
        CorrelatorConfig::default(),
        &[
            (error, http_500(0, "203.0.113.9", "10.0.0.5")),
            (connection, conn(11, "10.0.0.5", "203.0.113.9")),
        ],
    );
    assert!(late.is_empty());
}

#[test]
fn hayabusa_correlation_rules_parse() {
    let root = siem_testkit::corpus("hayabusa-rules");
    let dir = root.join("hayabusa/builtin/Security/LogonLogoff/Logon");
    let mut found = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if !path.to_string_lossy().ends_with("_Correlation.yml") {
            continue;
        }
        found += 1;
        let loaded = Loaded::from_text(&read(&path), path.to_str())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(
            (loaded.correlations.len(), loaded.detections.len()),
            (1, 1),
            "{}",
            path.display()
        );
        let set = loaded.set();
        assert!(
            !set.emits_detection_alerts(0),
            "{}: the referenced rule is silenced",
            path.display()
        );
        let rule = &loaded.correlations[0];
        assert_eq!(rule.timespan.seconds(), 300);
        assert!(rule.warnings().is_empty(), "{:?}", rule.warnings());
        assert!(rule.meta.tags.iter().any(|t| t == "attack.t1110.003"));
    }
    assert_eq!(found, 3);
}

#[test]
fn the_shipped_examples_parse_validate_and_fire() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/rules");
    let mut loaded = Loaded::default();
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yml") {
            files += 1;
            loaded
                .add(&read(&path), path.to_str())
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        }
    }
    assert_eq!(files, 3);
    assert_eq!(loaded.correlations.len(), 4);
    let set = loaded.set();
    assert!(set.warnings().is_empty(), "{:?}", set.warnings());
    for meta in &loaded.detections {
        assert!(uuid_like(&meta.id) && meta.name.is_some(), "{}", meta.title);
    }

    // 403 burst: more than five per client address.
    let forbidden = loaded.base(&set, "http_403_response");
    let req = |s: i64, ip: &str| {
        event(
            s,
            &[("source.ip", ip), ("http.response.status_code", "403")],
        )
    };
    let five: Vec<_> = (0..5)
        .map(|i| (forbidden, req(i * 10, "198.51.100.4")))
        .collect();
    assert!(run(&set, CorrelatorConfig::default(), &five).is_empty());
    let six: Vec<_> = (0..6)
        .map(|i| (forbidden, req(i * 10, "198.51.100.4")))
        .collect();
    let alerts = run(&set, CorrelatorConfig::default(), &six);
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].rule.id, "216f6162-7118-4456-9e15-e0363b9ef346");
    assert_eq!(alerts[0].to_json_value()["value"], 6);

    // SSH: five failures within ten minutes (fail2ban maxretry 5, findtime 10m) from one address.
    let failed = loaded.base(&set, "ssh_failed_login");
    let success = loaded.base(&set, "ssh_successful_login");
    let auth = |s: i64, ip: &str, outcome: &str| {
        event(
            s,
            &[
                ("event.category", "authentication"),
                ("event.outcome", outcome),
                ("source.ip", ip),
                ("user.name", "root"),
            ],
        )
    };
    let mut detections: Vec<_> = (0..4)
        .map(|i| (failed, auth(i * 100, "192.0.2.1", "failure")))
        .collect();
    assert!(run(&set, CorrelatorConfig::default(), &detections).is_empty());
    detections.push((failed, auth(599, "192.0.2.1", "failure")));
    let alerts = run(&set, CorrelatorConfig::default(), &detections);
    let titles: Vec<&str> = alerts.iter().map(|a| a.rule.title.as_str()).collect();
    // The chain's inner rule (same condition) stays silent.
    assert_eq!(titles, ["SSH Brute Force From One Address"]);

    // ... followed by a success from that address.
    detections.push((success, auth(700, "192.0.2.1", "success")));
    detections.push((success, auth(700, "192.0.2.99", "success")));
    let alerts = run(&set, CorrelatorConfig::default(), &detections);
    let mut titles: Vec<&str> = alerts.iter().map(|a| a.rule.title.as_str()).collect();
    titles.sort();
    assert_eq!(
        titles,
        [
            "SSH Brute Force Followed by Successful Login",
            "SSH Brute Force From One Address"
        ]
    );
    let chain = alerts
        .iter()
        .find(|a| a.rule.title.starts_with("SSH Brute Force Followed"))
        .unwrap();
    assert_eq!(
        chain.to_json_value()["group"],
        serde_json::json!({"source.ip": "192.0.2.1"})
    );
    assert_eq!(chain.to_json_value()["rule"]["level"], "critical");
    // Each detection rule's own alerts are silenced by the correlations that use them.
    assert!(!set.emits_detection_alerts(loaded.detection("ssh_failed_login").unwrap()));
}

fn uuid_like(s: &str) -> bool {
    s.len() == 36 && s.chars().filter(|&c| c == '-').count() == 4
}
