//! Processing pipelines: each transformation and condition type with pipelines written after
//! the ones users bring (pySigma's documentation examples, pySigma-pipeline-windows' audit
//! pipeline, RSigma's sysmon pipeline), checked both on the rewritten rule tree and on what the
//! compiled rules then match.

use siem_core::event::{Event, LogSource, Value};
use siem_core::sigma::pipeline::{Pipeline, PipelineSet};
use siem_core::sigma::{
    DetectionNode, RuleError, RuleSet, SigmaDocument, SigmaRule, SigmaValue, parse_documents,
};

fn pipeline(yaml: &str) -> Pipeline {
    Pipeline::from_yaml(yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"))
}

fn rule(yaml: &str) -> SigmaRule {
    let (docs, errors) = parse_documents(yaml, None);
    assert!(errors.is_empty(), "{errors:?}");
    match docs.into_iter().next() {
        Some(SigmaDocument::Rule(r)) => r,
        other => panic!("not a rule: {other:?}"),
    }
}

fn transformed(pipelines: &[&str], yaml: &str) -> Result<SigmaRule, String> {
    let set = PipelineSet::new(pipelines.iter().map(|p| pipeline(p)).collect());
    let mut r = rule(yaml);
    set.apply(&mut r).map(|()| r)
}

fn build(pipelines: &[&str], yamls: &[&str]) -> (RuleSet, Vec<RuleError>) {
    let mut builder = RuleSet::builder();
    PipelineSet::new(pipelines.iter().map(|p| pipeline(p)).collect()).install(&mut builder);
    for y in yamls {
        builder.add_yaml(y, Some("rule.yml"));
    }
    builder.build()
}

fn event(ls: (Option<&str>, Option<&str>, Option<&str>), fields: &[(&str, Value)]) -> Event {
    let mut e = Event::new();
    e.logsource = LogSource::new(ls.0, ls.1, ls.2);
    for (k, v) in fields {
        e.insert(*k, v.clone());
    }
    e
}

/// Every item of a node, with its field names.
fn items(node: &DetectionNode, out: &mut Vec<(Vec<String>, Vec<SigmaValue>)>) {
    match node {
        DetectionNode::AllOf(c) | DetectionNode::AnyOf(c) => c.iter().for_each(|n| items(n, out)),
        DetectionNode::Item(i) => out.push((
            i.fields.iter().map(|f| f.to_string()).collect(),
            i.values.clone(),
        )),
    }
}

fn all_items(r: &SigmaRule) -> Vec<(Vec<String>, Vec<SigmaValue>)> {
    let mut out = Vec::new();
    for n in r.detection.identifiers.values() {
        items(n, &mut out);
    }
    out
}

const PROC_RULE: &str = r#"
title: Whoami
id: 11111111-1111-1111-1111-111111111111
tags: [attack.discovery, attack.t1033]
level: high
status: test
date: 2023-05-01
fields: [CommandLine, User]
logsource: {category: process_creation, product: windows}
detection:
    selection:
        Image|endswith: '\whoami.exe'
        CommandLine|contains: '/all'
    condition: selection
"#;

#[test]
fn one_to_one_and_one_to_many_mappings() {
    let p = r#"
name: ecs
transformations:
  - id: map
    type: field_name_mapping
    mapping:
      CommandLine: process.command_line
      Image: [process.executable, process.name]
      User: user.name
    rule_conditions:
      - type: logsource
        product: windows
"#;
    let r = transformed(&[p], PROC_RULE).unwrap();
    let fields: Vec<Vec<String>> = all_items(&r).into_iter().map(|(f, _)| f).collect();
    assert_eq!(
        fields,
        vec![
            vec!["process.executable".to_string(), "process.name".to_string()],
            vec!["process.command_line".to_string()]
        ]
    );
    // The rule's `fields` list is mapped too.
    assert_eq!(r.meta.fields, ["process.command_line", "user.name"]);

    let (rules, errors) = build(&[p], &[PROC_RULE]);
    assert!(errors.is_empty(), "{errors:?}");
    let ls = (Some("windows"), Some("process_creation"), None);
    let cmd = ("process.command_line", Value::from("whoami /all"));
    // Either alternative of the one-to-many mapping matches.
    for image in ["process.executable", "process.name"] {
        let e = event(
            ls,
            &[
                (image, Value::from(r"C:\Windows\System32\whoami.exe")),
                cmd.clone(),
            ],
        );
        assert_eq!(rules.matches(&e).len(), 1, "{image}");
    }
    // The old names no longer do.
    let e = event(
        ls,
        &[
            ("Image", Value::from(r"C:\x\whoami.exe")),
            ("CommandLine", Value::from("whoami /all")),
        ],
    );
    assert!(rules.matches(&e).is_empty());
}

/// pySigma's documentation example ("Fixing the field naming mess"): a failure for Image
/// values with a path, a replacement keeping only the file name, a one-to-many mapping and a
/// prefix for every field the mapping did not touch, then an added index condition.
const DOC_EXAMPLE: &str = r#"
name: Fixing the field naming mess
priority: 30
transformations:
  - id: image_fail_path
    type: detection_item_failure
    message: Image must only contain file name without any further path components.
    field_name_conditions:
      - type: include_fields
        fields: [Image]
    detection_item_conditions:
      - type: match_string
        cond: any
        pattern: "^\\*\\\\?[^\\\\]+$"
        negate: true
  - id: image_file_only
    type: replace_string
    regex: "^\\*\\\\([^\\\\]+)$"
    replacement: "\\1"
    field_name_conditions:
      - type: include_fields
        fields: [Image]
  - id: field_mapping
    type: field_name_mapping
    mapping:
      EventID: [event_id, evtid]
  - id: windows_field_prefix
    type: field_name_prefix
    prefix: "win."
    field_name_cond_not: true
    field_name_conditions:
      - type: processing_item_applied
        processing_item_id: field_mapping
  - id: index_condition
    type: add_condition
    conditions:
      index: winevent
    rule_conditions:
      - type: logsource
        product: windows
"#;

#[test]
fn pysigma_documentation_example() {
    let ok = r#"
title: t
logsource: {product: windows, service: security}
detection:
    sel:
        EventID: 4688
        Image|endswith: '\cmd.exe'
    condition: sel
"#;
    let r = transformed(&[DOC_EXAMPLE], ok).unwrap();
    let items = all_items(&r);
    // Image|endswith '\cmd.exe' is `*\cmd.exe` to pySigma: the replacement keeps `cmd.exe`.
    assert!(
        items.contains(&(
            vec!["win.Image".into()],
            vec![SigmaValue::String("cmd.exe".into())]
        )),
        "{items:?}"
    );
    assert!(
        items.contains(&(
            vec!["event_id".into(), "evtid".into()],
            vec![SigmaValue::Int(4688)]
        )),
        "{items:?}"
    );
    // Added after the prefix step, the index condition keeps its name.
    assert!(
        items.contains(&(
            vec!["index".into()],
            vec![SigmaValue::String("winevent".into())]
        )),
        "{items:?}"
    );
    assert_eq!(r.detection.conditions[0].to_string(), "(_cond_1 and sel)");

    let with_path = ok.replace(
        r"Image|endswith: '\cmd.exe'",
        r"Image: 'C:\Windows\cmd.exe'",
    );
    let err = transformed(&[DOC_EXAMPLE], &with_path).unwrap_err();
    assert!(err.contains("Image must only contain file name"), "{err}");
    assert!(err.contains("`image_fail_path`"), "{err}");

    // Through the builder the failure is a rule error naming the rule.
    let (rules, errors) = build(&[DOC_EXAMPLE], &[&with_path, ok]);
    assert_eq!((rules.len(), errors.len()), (1, 1));
    assert!(
        errors[0].to_string().contains("transformation failed"),
        "{}",
        errors[0]
    );
}

#[test]
fn add_condition_plain_negated_and_templated() {
    let p = r#"
transformations:
  - type: add_condition
    conditions:
      source: 'WinEventLog:$service'
      index|startswith: ['$product', 'x']
    template: true
  - type: add_condition
    name: not_test
    negated: true
    conditions:
      host.name: test-host
"#;
    let r = r#"
title: t
logsource: {product: windows, service: security}
detection:
    sel1: {EventID: 4625}
    sel2: {EventID: 4624}
    condition: 1 of them
"#;
    let t = transformed(&[p], r).unwrap();
    assert_eq!(
        t.detection.conditions[0].to_string(),
        "(not not_test and (_cond_1 and 1 of them))"
    );
    let items = all_items(&t);
    assert!(items.contains(&(
        vec!["source".into()],
        vec![SigmaValue::String("WinEventLog:security".into())]
    )));
    assert!(items.contains(&(
        vec!["index".into()],
        vec![
            SigmaValue::String("windows".into()),
            SigmaValue::String("x".into())
        ]
    )));

    let (rules, errors) = build(&[p], &[r]);
    assert!(errors.is_empty(), "{errors:?}");
    let ls = (Some("windows"), None, Some("security"));
    let base = [
        ("EventID", Value::Int(4625)),
        ("source", Value::from("WinEventLog:Security")),
        ("index", Value::from("windows-2024")),
    ];
    assert_eq!(rules.matches(&event(ls, &base)).len(), 1);
    // `them` does not cover the added identifiers: without EventID nothing matches.
    assert!(rules.matches(&event(ls, &base[1..])).is_empty());
    let mut on_test = base.to_vec();
    on_test.push(("host.name", Value::from("TEST-HOST")));
    assert!(rules.matches(&event(ls, &on_test)).is_empty());
}

#[test]
fn change_logsource_changes_routing() {
    // RSigma's / pySigma's sysmon pipeline pattern: an EventID condition, then the logsource
    // becomes the Sysmon service.
    let p = r#"
name: sysmon
priority: 10
transformations:
  - id: sysmon_process_creation
    type: add_condition
    conditions:
      EventID: 1
    rule_conditions:
      - type: logsource
        category: process_creation
        product: windows
  - id: sysmon_logsource
    type: change_logsource
    product: windows
    service: sysmon
    rule_conditions:
      - type: logsource
        product: windows
"#;
    let (rules, errors) = build(&[p], &[PROC_RULE]);
    assert!(errors.is_empty());
    let meta = rules.rule(siem_core::sigma::RuleId(0));
    assert_eq!(meta.logsource.to_string(), "product=windows,service=sysmon");
    let fields = [
        ("EventID", Value::Int(1)),
        ("Image", Value::from(r"C:\Windows\System32\whoami.exe")),
        ("CommandLine", Value::from("whoami /all")),
    ];
    // A Sysmon event without a category now reaches the rule; the EventID condition decides.
    assert_eq!(
        rules
            .matches(&event((Some("windows"), None, Some("sysmon")), &fields))
            .len(),
        1
    );
    let mut eid3 = fields.to_vec();
    eid3[0].1 = Value::Int(3);
    assert!(
        rules
            .matches(&event((Some("windows"), None, Some("sysmon")), &eid3))
            .is_empty()
    );
    assert!(
        rules
            .matches(&event(
                (Some("windows"), Some("process_creation"), None),
                &fields
            ))
            .is_empty()
    );
}

/// pySigma-pipeline-windows' audit pipeline, written as YAML: process_creation rules become
/// Security 4688 rules with renamed fields.
#[test]
fn windows_audit_pipeline_equivalent() {
    let p = r#"
name: Map generic log sources to Windows audit logs
priority: 10
transformations:
  - id: windows_process_creation_condition
    type: add_condition
    conditions: {EventID: 4688}
    rule_conditions: [{type: logsource, category: process_creation, product: windows}]
  - id: windows_process_creation_logsource
    type: change_logsource
    product: windows
    service: security
    rule_conditions: [{type: logsource, category: process_creation, product: windows}]
  - id: windows_audit_fieldmappings
    type: field_name_mapping
    mapping:
      Image: NewProcessName
      ParentImage: ParentProcessName
      Details: NewValue
      LogonId: SubjectLogonId
    rule_conditions: [{type: logsource, product: windows, service: security}]
"#;
    let (rules, errors) = build(&[p], &[PROC_RULE]);
    assert!(errors.is_empty());
    let e = event(
        (Some("windows"), Some("process_creation"), Some("security")),
        &[
            ("EventID", Value::Int(4688)),
            (
                "NewProcessName",
                Value::from(r"C:\Windows\System32\whoami.exe"),
            ),
            ("CommandLine", Value::from("whoami /all")),
        ],
    );
    assert_eq!(rules.matches(&e).len(), 1);
}

#[test]
fn processing_item_applied_and_state_conditions() {
    let p = r#"
transformations:
  - id: mark
    type: set_state
    key: backend_index
    val: 3
    rule_conditions: [{type: tag, tag: attack.t1033}]
  - id: cmd
    type: field_name_mapping
    mapping: {CommandLine: process.command_line}
  - id: suffix_unmapped
    type: field_name_suffix
    suffix: .keyword
    detection_item_conditions:
      - type: processing_item_applied
        processing_item_id: cmd
    detection_item_cond_not: true
  - id: fail_when_state
    type: rule_failure
    message: state reached
    rule_conditions:
      - type: processing_state
        key: backend_index
        val: 2
        op: gt
      - type: processing_item_applied
        processing_item_id: mark
"#;
    let err = transformed(&[p], PROC_RULE).unwrap_err();
    assert!(err.contains("state reached"), "{err}");
    let untagged = PROC_RULE.replace("attack.t1033", "attack.t9999");
    let r = transformed(&[p], &untagged).unwrap();
    let fields: Vec<Vec<String>> = all_items(&r).into_iter().map(|(f, _)| f).collect();
    assert_eq!(
        fields,
        vec![
            vec!["Image.keyword".to_string()],
            vec!["process.command_line".to_string()]
        ]
    );
}

#[test]
fn rule_condition_logic_op_not_and_expression() {
    let map = |extra: &str| {
        format!(
            r#"
transformations:
  - type: field_name_prefix
    prefix: "x."
{extra}
"#
        )
    };
    let case = |extra: &str| {
        let r = transformed(&[&map(extra)], PROC_RULE).unwrap();
        all_items(&r)[0].0[0].starts_with("x.")
    };
    let two = "    rule_conditions:\n      - {type: logsource, product: linux}\n      - {type: tag, tag: attack.t1033}\n";
    assert!(!case(two));
    assert!(case(&format!("{two}    rule_cond_op: or\n")));
    assert!(case(&format!("{two}    rule_cond_not: true\n")));
    let expr = "    rule_conditions:\n      lin: {type: logsource, product: linux}\n      t: {type: tag, tag: attack.t1033}\n      lvl: {type: rule_attribute, attribute: level, value: medium, op: gte}\n";
    assert!(case(&format!(
        "{expr}    rule_cond_expr: (lin or t) and lvl\n"
    )));
    assert!(!case(&format!(
        "{expr}    rule_cond_expr: lin or (t and not lvl)\n"
    )));
    let attrs = [
        "{type: rule_attribute, attribute: date, value: '2023-01-01', op: gte}",
        "{type: rule_attribute, attribute: status, value: experimental, op: gt}",
        "{type: rule_attribute, attribute: id, value: 11111111-1111-1111-1111-111111111111}",
        "{type: rule_attribute, attribute: tags, value: attack.discovery, op: in}",
        "{type: contains_field, field: CommandLine}",
        "{type: contains_detection_item, field: CommandLine, value: '/all'}",
        "{type: is_sigma_rule}",
    ];
    for a in attrs {
        assert!(case(&format!("    rule_conditions: [{a}]\n")), "{a}");
    }
    assert!(!case(
        "    rule_conditions: [{type: is_sigma_correlation_rule}]\n"
    ));
    assert!(!case(
        "    rule_conditions: [{type: rule_attribute, attribute: level, value: critical, op: gte}]\n"
    ));
}

#[test]
fn field_name_conditions_include_exclude_and_regex() {
    let p = r#"
transformations:
  - type: field_name_prefix
    prefix: "a."
    field_name_conditions:
      - {type: include_fields, fields: [Image]}
  - type: field_name_prefix
    prefix: "b."
    field_name_conditions:
      - {type: exclude_fields, fields: ['^a\.', 'Parent.*'], mode: re}
"#;
    let r = transformed(&[p], PROC_RULE).unwrap();
    let fields: Vec<String> = all_items(&r)
        .into_iter()
        .map(|(f, _)| f[0].clone())
        .collect();
    assert_eq!(fields, ["a.Image", "b.CommandLine"]);
}

#[test]
fn drop_detection_item_removes_the_constraint() {
    let p = r#"
transformations:
  - type: drop_detection_item
    field_name_conditions:
      - {type: include_fields, fields: [EventID]}
"#;
    let r = r#"
title: t
logsource: {product: windows, service: security}
detection:
    sel:
        EventID: 4625
        TargetUserName: admin
    only:
        EventID: 1
    condition: sel and only
"#;
    let (rules, errors) = build(&[p], &[r]);
    assert!(errors.is_empty(), "{errors:?}");
    let e = event(
        (Some("windows"), None, Some("security")),
        &[
            ("TargetUserName", Value::from("Admin")),
            ("EventID", Value::Int(7)),
        ],
    );
    assert_eq!(rules.matches(&e).len(), 1);
}

#[test]
fn value_transformations() {
    let p = r#"
vars:
  admins: [root, 'adm*']
transformations:
  - type: map_string
    mapping:
      'sudo': [sudo, doas]
    field_name_conditions: [{type: include_fields, fields: [process.name]}]
  - type: convert_type
    target_type: str
    field_name_conditions: [{type: include_fields, fields: [port]}]
  - type: set_value
    value: 'ignored'
    detection_item_conditions: [{type: match_value, cond: any, value: 'replace me'}]
  - type: value_placeholders
    include: [admins]
  - type: wildcard_placeholders
"#;
    let r = r#"
title: t
logsource: {product: linux}
detection:
    sel:
        process.name: sudo
        port: 22
        user.name|expand: '%admins%'
        host.name|expand: 'srv-%site%'
        note: 'replace me'
    condition: sel
"#;
    let t = transformed(&[p], r).unwrap();
    let items = all_items(&t);
    let s = |v: &str| SigmaValue::String(v.into());
    assert_eq!(items[0].1, vec![s("sudo"), s("doas")]);
    assert_eq!(items[1].1, vec![s("22")]);
    assert_eq!(items[2].1, vec![s("root"), s("adm*")]);
    assert_eq!(items[3].1, vec![s("srv-*")]);
    assert_eq!(items[4].1, vec![s("ignored")]);
    let (rules, errors) = build(&[p], &[r]);
    assert!(errors.is_empty(), "{errors:?}");
    let e = event(
        (Some("linux"), None, None),
        &[
            ("process.name", Value::from("doas")),
            ("port", Value::from("22")),
            ("user.name", Value::from("admin2")),
            ("host.name", Value::from("srv-paris")),
            ("note", Value::from("ignored")),
        ],
    );
    assert_eq!(rules.matches(&e).len(), 1);

    // A placeholder without a variable fails the rule, naming the variable.
    let missing = "transformations:\n  - type: value_placeholders\n";
    let err = transformed(&[missing], r).unwrap_err();
    assert!(err.contains("`admins` does not exist"), "{err}");
}

#[test]
fn fieldref_and_keyword_mappings() {
    let p = r#"
transformations:
  - type: field_name_mapping
    mapping:
      SubjectUserName: user.name
      TargetUserName: user.target.name
      ~: message
"#;
    let r = r#"
title: t
logsource: {product: windows}
detection:
    sel:
        TargetUserName|fieldref: SubjectUserName
    kw:
        - 'mimikatz'
    condition: sel and kw
"#;
    let t = transformed(&[p], r).unwrap();
    let items = all_items(&t);
    assert_eq!(
        items[0],
        (
            vec!["user.target.name".into()],
            vec![SigmaValue::String("user.name".into())]
        )
    );
    // A keyword mapped onto a field keeps its substring meaning.
    assert_eq!(
        items[1],
        (
            vec!["message".into()],
            vec![SigmaValue::String("*mimikatz*".into())]
        )
    );
}

#[test]
fn strict_field_mapping_failure_names_unmapped_fields() {
    let p = r#"
transformations:
  - type: field_name_mapping
    mapping: {CommandLine: process.command_line}
  - type: strict_field_mapping_failure
"#;
    let err = transformed(&[p], PROC_RULE).unwrap_err();
    assert!(
        err.ends_with("the following fields are not mapped: Image"),
        "{err}"
    );
}

#[test]
fn priorities_order_pipelines_and_share_state() {
    let late = r#"
name: late
priority: 50
transformations:
  - type: field_name_prefix
    prefix: "late."
    field_name_conditions: [{type: processing_item_applied, processing_item_id: early_map}]
    detection_item_conditions: [{type: processing_item_applied, processing_item_id: early_map}]
"#;
    let early = r#"
name: early
priority: 5
transformations:
  - id: early_map
    type: field_name_mapping
    mapping: {Image: proc}
"#;
    // Given late first, it still runs second and sees the earlier pipeline's item.
    let r = transformed(&[late, early], PROC_RULE).unwrap();
    let fields: Vec<String> = all_items(&r)
        .into_iter()
        .map(|(f, _)| f[0].clone())
        .collect();
    // Field-name `processing_item_applied` looks at the names produced by mappings of the
    // `fields` list and field references (pySigma's tracking); Image is in neither here.
    assert_eq!(fields, ["proc", "CommandLine"]);
}

#[test]
fn filters_are_rewritten_like_rules() {
    let p = "transformations:\n  - type: field_name_mapping\n    mapping: {User: user.name, CommandLine: process.command_line}\n";
    let filter = r#"
title: not for the admin
logsource: {category: process_creation, product: windows}
filter:
    rules: [11111111-1111-1111-1111-111111111111]
    sel:
        User: admin
    condition: sel
"#;
    let (rules, errors) = build(&[p], &[PROC_RULE, filter]);
    assert!(errors.is_empty(), "{errors:?}");
    let ls = (Some("windows"), Some("process_creation"), None);
    let base = [
        ("Image", Value::from(r"C:\w\whoami.exe")),
        ("process.command_line", Value::from("whoami /all")),
    ];
    assert_eq!(rules.matches(&event(ls, &base)).len(), 1);
    let mut admin = base.to_vec();
    admin.push(("user.name", Value::from("admin")));
    assert!(rules.matches(&event(ls, &admin)).is_empty());
}

#[test]
fn pipeline_errors_are_precise() {
    let cases = [
        (
            "transformations:\n  - type: nest\n",
            "transformation 1: `nest` is not supported",
        ),
        (
            "transformations:\n  - id: q\n    type: query_expression_placeholders\n",
            "transformation `q`: `query_expression_placeholders` is not supported",
        ),
        (
            "transformations:\n  - type: bogus\n",
            "unknown transformation type `bogus`",
        ),
        (
            "transformations:\n  - type: field_name_prefix\n",
            "missing `prefix`",
        ),
        (
            "transformations:\n  - type: field_name_prefix\n    prefix: x\n    colour: red\n",
            "unknown parameter `colour` for transformation type `field_name_prefix`",
        ),
        ("backend: splunk\n", "unknown key `backend`"),
        (
            "transformations:\n  - type: drop_detection_item\n    rule_conditions: [{type: weather}]\n",
            "unknown rule condition type `weather`",
        ),
        (
            "transformations:\n  - type: drop_detection_item\n    detection_item_conditions: [{type: match_string, pattern: a}]\n",
            "missing `cond`",
        ),
        (
            "transformations:\n  - type: replace_string\n    regex: '(?<=a)b'\n",
            "invalid regular expression",
        ),
        (
            "transformations:\n  - type: drop_detection_item\n    rule_conditions: [{type: is_sigma_rule}]\n    rule_cond_expr: x\n",
            "needs `rule_conditions` as a mapping",
        ),
        (
            "transformations: {a: 1}\n",
            "`transformations` must be a list",
        ),
        ("[1, 2]\n", "a pipeline must be a mapping"),
    ];
    for (yaml, want) in cases {
        let err = Pipeline::from_yaml(yaml).unwrap_err().to_string();
        assert!(err.contains(want), "{yaml}: got {err:?}, want {want:?}");
    }
    // Query-stage sections are accepted and ignored.
    let p = pipeline(
        "name: q\npostprocessing:\n  - type: template\n    template: x\nfinalizers:\n  - type: concat\n",
    );
    assert!(p.items.is_empty());
}

#[test]
fn correlation_group_by_fields_can_be_mapped() {
    let set = PipelineSet::defaults();
    let ls = LogSource::new(Some("windows"), None, Some("security"));
    assert_eq!(
        set.map_field_name("IpAddress", &ls),
        ["winlog.event_data.IpAddress"]
    );
    assert_eq!(set.map_field_name("EventID", &ls), ["winlog.event_id"]);
    let web = LogSource::new(None, Some("webserver"), None);
    assert_eq!(set.map_field_name("c-ip", &web), ["source.ip"]);
}

/// The bundled pipelines rewrite every SigmaHQ rule into one that still compiles: the default
/// set refuses no rule the loader accepts without it.
#[test]
fn default_pipelines_keep_every_sigmahq_rule_compiling() {
    let root = siem_testkit::corpus("sigma");
    let mut files = Vec::new();
    let mut stack: Vec<std::path::PathBuf> =
        ["rules", "rules-threat-hunting", "rules-emerging-threats"]
            .iter()
            .map(|d| root.join(d))
            .collect();
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "yml") {
                files.push(path);
            }
        }
    }
    files.sort();
    let load = |pipelines: bool| {
        let mut builder = RuleSet::builder();
        if pipelines {
            PipelineSet::defaults().install(&mut builder);
        }
        for f in &files {
            builder.add_yaml(&std::fs::read_to_string(f).unwrap(), f.to_str());
        }
        builder.build()
    };
    let (plain, plain_errors) = load(false);
    let (mapped, mapped_errors) = load(true);
    println!(
        "{} rules, {} errors without pipelines; {} rules, {} errors with",
        plain.len(),
        plain_errors.len(),
        mapped.len(),
        mapped_errors.len()
    );
    let plain_msgs: Vec<String> = plain_errors.iter().map(|e| e.to_string()).collect();
    let new: Vec<String> = mapped_errors
        .iter()
        .map(|e| e.to_string())
        .filter(|e| !plain_msgs.contains(e))
        .collect();
    assert_eq!(
        plain.len(),
        mapped.len(),
        "rules lost to the pipelines:\n{}",
        new.join("\n")
    );
    assert!(plain.len() > 3700);
}

/// Chainsaw's Sigma mapping (`mappings/sigma-event-logs-all.yml`: Sigma field name to the
/// evtx_dump path it reads) agrees with the `windows` pipeline: an `Event.EventData.X` field is
/// `winlog.event_data.X` after it, a System field its `winlog.*` normalization.
#[test]
fn windows_pipeline_agrees_with_chainsaw_field_mappings() {
    let text = std::fs::read_to_string(siem_testkit::corpus_file(
        "chainsaw-tests",
        "mappings/sigma-event-logs-all.yml",
    ))
    .unwrap();
    let doc: yaml_serde::Value = yaml_serde::from_str(&text).unwrap();
    let fields = doc["groups"][0]["fields"].as_sequence().unwrap();
    let set = PipelineSet::defaults();
    let ls = LogSource::new(Some("windows"), None, Some("security"));
    let system = |path: &str| -> Option<&'static str> {
        Some(match path {
            "Event.System.EventID" => "winlog.event_id",
            "Event.System.Channel" => "winlog.channel",
            "Event.System.Computer" => "winlog.computer_name",
            "Event.System.EventRecordID" => "winlog.record_id",
            "Event.System.Provider" => "winlog.provider_name",
            "Event.System.Keywords" => "winlog.keywords_raw",
            "Event.System.Level" => "log.level",
            _ => return None,
        })
    };
    let mut checked = 0;
    let mut disagreements = Vec::new();
    for f in fields {
        let from = f["from"].as_str().unwrap();
        let to = f["to"].as_str().unwrap();
        // `int(...)` is Chainsaw's cast; the path inside is what counts.
        let to = to
            .strip_prefix("int(")
            .and_then(|t| t.strip_suffix(')'))
            .unwrap_or(to);
        let want = match (to.strip_prefix("Event.EventData."), system(to)) {
            (Some(name), _) => format!("winlog.event_data.{name}"),
            (None, Some(s)) => s.to_string(),
            // `EventData` (the whole object) is not a field a rule tests.
            _ => continue,
        };
        checked += 1;
        let got = set.map_field_name(from, &ls);
        // SigmaHQ's only rule with `Provider` (win_wmi_persistence) means the WMI event's own
        // `Provider` data field, not the System provider Chainsaw reads.
        if from == "Provider" {
            assert_eq!(got, ["winlog.event_data.Provider"]);
            continue;
        }
        if !got.contains(&want) {
            disagreements.push(format!("{from}: chainsaw {to} = {want}, siem {got:?}"));
        }
    }
    assert!(checked > 100, "{checked}");
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}
