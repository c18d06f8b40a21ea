//! Ground truth from the Sigma specification (rules specification, modifiers appendix, filters
//! specification, the specification repository's test rules and extracted examples) and from
//! Chainsaw's conversion cases.

use siem_core::event::{Event, LogSource};
use siem_core::sigma::{
    Condition, DetectionNode, ErrorKind, FilterTargets, RuleSet, SigmaDocument, parse_documents,
};

/// A rule set from one YAML text that must load without errors.
fn rules(yaml: &str) -> RuleSet {
    let (rules, errors) = RuleSet::builder().add_yaml(yaml, Some("test.yml")).build();
    assert!(errors.is_empty(), "{errors:#?}");
    rules
}

/// A rule with this detection (indented two spaces) and no logsource.
fn detection(detection: &str) -> String {
    format!("title: t\nid: r\ndetection:\n{detection}\n")
}

fn event(json: &str) -> Event {
    Event::from_json(json).unwrap()
}

fn matches(rule_detection: &str, json: &str) -> bool {
    let rules = rules(&detection(rule_detection));
    let event = event(json);
    let fast = !rules.matches(&event).is_empty();
    // Every check also goes through the reference interpreter.
    let (docs, _) = parse_documents(&detection(rule_detection), None);
    let SigmaDocument::Rule(rule) = &docs[0] else {
        panic!()
    };
    let reference =
        siem_core::sigma::reference::evaluate(rule, &event, &Default::default()).unwrap();
    assert_eq!(fast, reference, "compiled and reference disagree on {json}");
    fast
}

fn error(yaml: &str) -> ErrorKind {
    let (_, errors) = RuleSet::builder().add_yaml(yaml, Some("bad.yml")).build();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    errors.into_iter().next().unwrap().kind
}

// ---- The rules specification ------------------------------------------------------------

#[test]
fn whoami_example() {
    let yaml = r"title: Whoami Execution
description: Detects a whoami.exe execution
references:
      - https://speakerdeck.com/heirhabarov/hunting-for-privilege-escalation-in-windows-environment
author: Florian Roth
date: 2019-10-23
logsource:
    category: process_creation
    product: windows
detection:
    selection:
        Image: 'C:\Windows\System32\whoami.exe'
    condition: selection
level: high
";
    let rules = rules(yaml);
    let meta = rules.rule(siem_core::sigma::RuleId(0));
    assert_eq!(meta.title, "Whoami Execution");
    assert_eq!(meta.author.as_deref(), Some("Florian Roth"));
    assert_eq!(meta.date.as_deref(), Some("2019-10-23"));
    assert_eq!(meta.level, Some(siem_core::sigma::Level::High));
    let mut e = event(r#"{"Image":"c:\\windows\\system32\\WHOAMI.exe"}"#);
    e.logsource = LogSource::new(Some("windows"), Some("process_creation"), Some("sysmon"));
    assert_eq!(rules.matches(&e).len(), 1);
    e.logsource = LogSource::new(Some("windows"), Some("image_load"), None);
    assert!(rules.matches(&e).is_empty(), "routed away by category");
}

#[test]
fn lists_of_strings_are_keywords_or_linked() {
    let d = "  keywords:\n    - 'EVILSERVICE'\n    - 'svchost.exe -n evil'\n  condition: keywords";
    assert!(matches(d, r#"{"message":"service EvilService installed"}"#));
    assert!(matches(
        d,
        r#"{"a":{"b":["x","run svchost.exe -n evil now"]}}"#
    ));
    assert!(matches(d, r#"{"event":{"original":"evilservice"}}"#));
    assert!(!matches(d, r#"{"message":"svchost.exe -n good"}"#));
    // Keywords search strings only, not numbers.
    assert!(!matches(
        "  k:\n    - '4625'\n  condition: k",
        r#"{"EventID":4625}"#
    ));
}

#[test]
fn lists_of_maps_are_or_linked_and_maps_and_linked() {
    let d = "  selection:\n    - Image|endswith: '\\example.exe'\n    - Description|contains: 'Test executable'\n  condition: selection";
    assert!(matches(d, r#"{"Image":"C:\\x\\EXAMPLE.EXE"}"#));
    assert!(matches(d, r#"{"Description":"a test executable"}"#));
    assert!(!matches(d, r#"{"Image":"C:\\x\\example.exe.bak"}"#));
    let d = "  selection:\n    EventLog: Security\n    EventID:\n      - 517\n      - 1102\n  condition: selection";
    assert!(matches(d, r#"{"EventLog":"Security","EventID":1102}"#));
    assert!(matches(d, r#"{"EventLog":"security","EventID":"517"}"#));
    assert!(!matches(d, r#"{"EventLog":"Security","EventID":4624}"#));
    assert!(!matches(d, r#"{"EventID":517}"#));
    let d = "  selection:\n    EventLog: Security\n    EventID: 4769\n    TicketOptions: '0x40810000'\n    TicketEncryption: '0x17'\n  condition: selection";
    assert!(matches(
        d,
        r#"{"EventLog":"Security","EventID":4769,"TicketOptions":"0x40810000","TicketEncryption":"0x17"}"#
    ));
    assert!(!matches(
        d,
        r#"{"EventLog":"Security","EventID":4769,"TicketOptions":"0x40810000","TicketEncryption":"0x12"}"#
    ));
}

#[test]
fn wildcards_and_escapes_follow_the_specification() {
    let m = |value: &str, text: &str| {
        let d = format!("  s:\n    f: '{value}'\n  condition: s");
        matches(&d, &serde_json::json!({ "f": text }).to_string())
    };
    assert!(m("prog?.exe", "progA.exe"));
    assert!(!m("prog?.exe", "prog.exe"));
    assert!(m("antivirus_V*.exe", "antivirus_V21.2.1.exe"));
    assert!(m(r"C:\Windows\", r"C:\Windows\"));
    assert!(m(r"C:\\Windows", r"C:\Windows"));
    assert!(m(r"a\*b", "a*b"));
    assert!(!m(r"a\*b", "axb"));
    assert!(m(r"a\?b", "a?b"));
    assert!(!m(r"a\?b", "axb"));
    assert!(m(r"dir\\*", r"dir\anything"));
    assert!(m(r"dir\\\*", r"dir\*"));
    assert!(!m(r"dir\\\*", r"dir\x"));
    assert!(m(r"\\\\", r"\\"));
    assert!(m(r"\\\\\\", r"\\\"), "three escaped backslashes");
    assert!(!m("abc", "abcd"), "no implicit wildcards for fields");
}

#[test]
fn matching_is_case_insensitive_with_unicode_folding_unless_cased() {
    assert!(matches(
        "  s:\n    f: 'ÄRGER'\n  condition: s",
        r#"{"f":"ärger"}"#
    ));
    assert!(matches(
        "  s:\n    f|contains: 'ΣΟΦΙΑ'\n  condition: s",
        r#"{"f":"η σοφια"}"#
    ));
    assert!(!matches(
        "  s:\n    f|cased: 'Abc'\n  condition: s",
        r#"{"f":"abc"}"#
    ));
    assert!(matches(
        "  s:\n    f|cased: 'Abc'\n  condition: s",
        r#"{"f":"Abc"}"#
    ));
    assert!(matches(
        "  s:\n    f|contains|cased: 'Bc'\n  condition: s",
        r#"{"f":"aBcd"}"#
    ));
}

#[test]
fn numbers_are_strings_unless_a_modifier_asks() {
    let d = "  s:\n    EventID: 4625\n  condition: s";
    assert!(matches(d, r#"{"EventID":4625}"#));
    assert!(matches(d, r#"{"EventID":"4625"}"#));
    assert!(matches(d, r#"{"EventID":4625.0}"#));
    assert!(!matches(d, r#"{"EventID":"04625"}"#));
    assert!(matches(
        "  s:\n    EventID: '4625'\n  condition: s",
        r#"{"EventID":4625}"#
    ));
    assert!(matches(
        "  s:\n    f|endswith: 25\n  condition: s",
        r#"{"f":4625}"#
    ));
    assert!(matches(
        "  s:\n    f: true\n  condition: s",
        r#"{"f":true}"#
    ));
    assert!(matches(
        "  s:\n    f: true\n  condition: s",
        r#"{"f":"True"}"#
    ));
    assert!(!matches(
        "  s:\n    f: true\n  condition: s",
        r#"{"f":false}"#
    ));
}

#[test]
fn null_and_empty_values() {
    // The specification's valid example.
    let d = "  selection_main:\n    FieldA: 'something'\n  selection_empty1:\n    FieldB: ''\n  selection_empty2:\n    FieldB: null\n  condition: selection_main and 1 of selection_empty*";
    assert!(matches(d, r#"{"FieldA":"something"}"#), "absent is null");
    assert!(matches(d, r#"{"FieldA":"something","FieldB":null}"#));
    assert!(matches(d, r#"{"FieldA":"something","FieldB":""}"#));
    assert!(!matches(d, r#"{"FieldA":"something","FieldB":"x"}"#));
    // The `not null` construct.
    let d = "  selection:\n    EventID: 4738\n  filter:\n    PasswordLastSet: null\n  condition: selection and not filter";
    assert!(matches(
        d,
        r#"{"EventID":4738,"PasswordLastSet":"2024-01-01"}"#
    ));
    assert!(!matches(d, r#"{"EventID":4738}"#));
    assert!(!matches(d, r#"{"EventID":4738,"PasswordLastSet":null}"#));
    // `''` is not absent.
    assert!(!matches("  s:\n    f: ''\n  condition: s", "{}"));
    // The specification's invalid example.
    let kind = error(&detection(
        "  selection_main:\n    FieldA: 'something'\n    FieldB:\n      - ''\n      - null\n  condition: selection_main",
    ));
    assert!(
        kind.to_string().contains("null cannot be part of a list"),
        "{kind}"
    );
}

#[test]
fn exists() {
    let d =
        "  selection:\n    EventID: 4738\n    PasswordLastSet|exists: true\n  condition: selection";
    assert!(
        matches(d, r#"{"EventID":4738,"PasswordLastSet":null}"#),
        "presence, not value"
    );
    assert!(matches(d, r#"{"EventID":4738,"PasswordLastSet":""}"#));
    assert!(!matches(d, r#"{"EventID":4738}"#));
    assert!(matches("  s:\n    f|exists: false\n  condition: s", "{}"));
    assert!(!matches(
        "  s:\n    f|exists: false\n  condition: s",
        r#"{"f":1}"#
    ));
    assert!(matches!(
        error(&detection(
            "  s:\n    f|exists|contains: true\n  condition: s"
        )),
        ErrorKind::IllegalModifiers { .. }
    ));
    assert!(matches!(
        error(&detection("  s:\n    f|exists: maybe\n  condition: s")),
        ErrorKind::InvalidValue { .. }
    ));
}

#[test]
fn keyword_all() {
    let d = "  keywords_cmdlet:\n    '|all':\n      - 'OabVirtualDirectory'\n      - ' -ExternalUrl '\n  condition: keywords_cmdlet";
    assert!(matches(
        d,
        r#"{"message":"Set-OabVirtualDirectory -ExternalUrl http://x"}"#
    ));
    assert!(
        matches(d, r#"{"a":"oabvirtualdirectory","b":"x -externalurl y"}"#),
        "in different fields"
    );
    assert!(!matches(d, r#"{"message":"Set-OabVirtualDirectory"}"#));
}

#[test]
fn placeholders_need_expand_and_values() {
    let yaml = detection("  s:\n    User|expand: '%Administrators%'\n  condition: s");
    assert!(
        matches!(error(&yaml), ErrorKind::UnfilledPlaceholder { ref name, .. } if name == "Administrators")
    );
    let (rules, errors) = RuleSet::builder()
        .placeholder("Administrators", ["root", "adm_*"])
        .add_yaml(&yaml, None)
        .build();
    assert!(errors.is_empty());
    assert_eq!(rules.matches(&event(r#"{"User":"ROOT"}"#)).len(), 1);
    assert_eq!(rules.matches(&event(r#"{"User":"adm_bob"}"#)).len(), 1);
    assert!(rules.matches(&event(r#"{"User":"bob"}"#)).is_empty());
    // Without `expand`, `%name%` is literal.
    assert!(matches(
        "  s:\n    f: '%name%'\n  condition: s",
        r#"{"f":"%NAME%"}"#
    ));
    // `\%` escapes a percent sign under `expand`.
    let yaml = detection("  s:\n    f|expand: '\\%plain%name%'\n  condition: s");
    let (rules, errors) = RuleSet::builder()
        .placeholder("name", ["x"])
        .add_yaml(&yaml, None)
        .build();
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(rules.matches(&event(r#"{"f":"%plainx"}"#)).len(), 1);
}

#[test]
fn conditions() {
    let d = "  selection1:\n    a: 1\n  selection2:\n    b: 1\n  _hidden:\n    c: 1\n  filter_x:\n    d: 1\n";
    let c = |cond: &str, json: &str| matches(&format!("{d}  condition: {cond}"), json);
    assert!(c("1 of them", r#"{"b":1}"#));
    assert!(
        !c("1 of them", r#"{"c":1}"#),
        "them skips names starting with _"
    );
    assert!(!c("all of them", r#"{"a":1,"b":1}"#));
    assert!(
        c("all of them", r#"{"a":1,"b":1,"d":1}"#),
        "_hidden is not required by all of them"
    );
    assert!(c("all of selection*", r#"{"a":1,"b":1}"#));
    assert!(c("any of selection*", r#"{"b":1}"#));
    assert!(c("1 of selection* and not 1 of filter*", r#"{"a":1}"#));
    assert!(!c(
        "1 of selection* and not 1 of filter*",
        r#"{"a":1,"d":1}"#
    ));
    assert!(
        c("selection1 or selection2 and filter_x", r#"{"a":1}"#),
        "and binds tighter than or"
    );
    assert!(!c("(selection1 or selection2) and filter_x", r#"{"a":1}"#));
    assert!(
        c("not selection1 and selection2", r#"{"b":1}"#),
        "not binds tighter than and"
    );
    assert!(
        c("1 of _hid*", r#"{"c":1}"#),
        "patterns may select _ names explicitly"
    );
    // A list of conditions is OR-linked.
    assert!(matches(
        &format!("{d}  condition:\n    - selection1\n    - selection2"),
        r#"{"b":1}"#
    ));
    // Errors.
    assert_eq!(
        error(&detection(&format!("{d}  condition: selection3"))),
        ErrorKind::UnknownIdentifier("selection3".into())
    );
    assert!(matches!(
        error(&detection(&format!("{d}  condition: 1 of nothing*"))),
        ErrorKind::EmptyPattern(_)
    ));
    assert!(matches!(
        error(&detection(&format!("{d}  condition: selection1 and"))),
        ErrorKind::Condition { .. }
    ));
    assert!(matches!(
        error(&detection(&format!(
            "{d}  condition: selection1 | count() by a > 5"
        ))),
        ErrorKind::UnsupportedAggregation(_)
    ));
    assert!(matches!(
        error(&detection(&format!(
            "{d}  condition: selection1 | near selection2"
        ))),
        ErrorKind::UnsupportedAggregation(_)
    ));
}

#[test]
fn dotted_field_names_and_lists() {
    assert!(matches(
        "  s:\n    source.ip: 10.0.0.1\n  condition: s",
        r#"{"source":{"ip":"10.0.0.1"}}"#
    ));
    assert!(
        matches(
            "  s:\n    a.b: x\n  condition: s",
            r#"{"a.b":"x","a":{"b":"y"}}"#
        ),
        "the flat key wins"
    );
    assert!(!matches(
        "  s:\n    a.b: y\n  condition: s",
        r#"{"a.b":"x","a":{"b":"y"}}"#
    ));
    assert!(
        matches("  s:\n    tags: b\n  condition: s", r#"{"tags":["a","b"]}"#),
        "any element"
    );
    assert!(matches(
        "  s:\n    threat.enrichments.indicator.ip: 5.6.7.8\n  condition: s",
        r#"{"threat":{"enrichments":[{"indicator":{"ip":"1.2.3.4"}},{"indicator":{"ip":"5.6.7.8"}}]}}"#
    ));
}

// ---- The modifiers appendix --------------------------------------------------------------

#[test]
fn generic_modifiers() {
    let d = "  s:\n    CommandLine|contains|all:\n      - ' -a '\n      - ' -b '\n  condition: s";
    assert!(matches(d, r#"{"CommandLine":"x -b  -a y"}"#));
    assert!(!matches(d, r#"{"CommandLine":"x -a y"}"#));
    assert!(
        matches!(
            error(&detection("  s:\n    f|all: x\n  condition: s")),
            ErrorKind::IllegalModifiers { .. }
        ),
        "single value with all"
    );
    assert!(matches(
        "  s:\n    f|startswith: 'adm'\n  condition: s",
        r#"{"f":"ADMIN"}"#
    ));
    assert!(!matches(
        "  s:\n    f|startswith: 'adm'\n  condition: s",
        r#"{"f":"xadm"}"#
    ));
    assert!(matches(
        "  s:\n    f|endswith: '\\cmd.exe'\n  condition: s",
        r#"{"f":"C:\\CMD.EXE"}"#
    ));
    // neq: present and different from every value.
    let d = "  s:\n    f|neq:\n      - a\n      - b\n  condition: s";
    assert!(matches(d, r#"{"f":"c"}"#));
    assert!(!matches(d, r#"{"f":"A"}"#));
    assert!(!matches(d, "{}"));
    assert!(matches("  s:\n    f|neq: 5\n  condition: s", r#"{"f":6}"#));
    assert!(!matches("  s:\n    f|neq: 5\n  condition: s", r#"{"f":5}"#));
}

#[test]
fn windash() {
    let d = "  s:\n    CommandLine|contains|windash: ' -encodedcommand '\n  condition: s";
    for dash in ["-", "/", "\u{2013}", "\u{2014}", "\u{2015}"] {
        assert!(
            matches(
                d,
                &serde_json::json!({"CommandLine": format!("powershell {dash}EncodedCommand abc")})
                    .to_string()
            ),
            "{dash}"
        );
    }
    assert!(!matches(
        d,
        r#"{"CommandLine":"powershell +encodedcommand abc"}"#
    ));
    // Only dashes that start a word are interchangeable.
    let d = "  s:\n    f|windash: 'a-b -c'\n  condition: s";
    assert!(matches(d, r#"{"f":"a-b /c"}"#));
    assert!(!matches(d, r#"{"f":"a/b -c"}"#));
}

#[test]
fn regular_expressions() {
    assert!(
        matches(
            "  s:\n    f|re: 'ab+c'\n  condition: s",
            r#"{"f":"xxabbbcxx"}"#
        ),
        "searched, not anchored"
    );
    assert!(
        !matches("  s:\n    f|re: 'ab+c'\n  condition: s", r#"{"f":"ABBC"}"#),
        "case-sensitive by default"
    );
    assert!(matches(
        "  s:\n    f|re|i: 'ab+c'\n  condition: s",
        r#"{"f":"ABBC"}"#
    ));
    assert!(matches(
        "  s:\n    f|re|m: '^b$'\n  condition: s",
        r#"{"f":"a\nb\nc"}"#
    ));
    assert!(!matches(
        "  s:\n    f|re: '^b$'\n  condition: s",
        r#"{"f":"a\nb\nc"}"#
    ));
    assert!(matches(
        "  s:\n    f|re|s: 'a.b'\n  condition: s",
        r#"{"f":"a\nb"}"#
    ));
    assert!(!matches(
        "  s:\n    f|re: 'a.b'\n  condition: s",
        r#"{"f":"a\nb"}"#
    ));
    assert!(matches(
        "  s:\n    CommandLine|re: '(.){20,}'\n  condition: s",
        r#"{"CommandLine":"0123456789012345678901"}"#
    ));
    assert!(matches!(
        error(&detection("  s:\n    f|re: '(a'\n  condition: s")),
        ErrorKind::Regex { .. }
    ));
    assert!(
        matches!(
            error(&detection("  s:\n    f|re: '(?<=a)b'\n  condition: s")),
            ErrorKind::Regex { .. }
        ),
        "no look-around"
    );
    assert!(matches!(
        error(&detection("  s:\n    f|i: 'a'\n  condition: s")),
        ErrorKind::IllegalModifiers { .. }
    ));
    assert!(matches!(
        error(&detection("  s:\n    f|contains|re: 'a'\n  condition: s")),
        ErrorKind::IllegalModifiers { .. }
    ));
}

#[test]
fn encodings() {
    // `base64`: the value encoded.
    assert!(matches(
        "  s:\n    f|base64: 'Test'\n  condition: s",
        r#"{"f":"VGVzdA=="}"#
    ));
    assert!(matches(
        "  s:\n    f|base64|contains: 'Test'\n  condition: s",
        r#"{"f":"xxVGVzdA==xx"}"#
    ));
    // `base64offset`: the three shifted encodings (pySigma's values for `foobar`).
    let d = "  s:\n    f|base64offset|contains: 'foobar'\n  condition: s";
    for encoded in ["Zm9vYmFy", "Zvb2Jhc", "mb29iYX"] {
        assert!(
            matches(d, &format!(r#"{{"f":"..{encoded}.."}}"#)),
            "{encoded}"
        );
    }
    // The value at any offset inside an encoded text is found.
    use base64::Engine as _;
    for prefix in ["", "a", "ab", "abc"] {
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(format!("{prefix}foobar and more"));
        assert!(matches(d, &format!(r#"{{"f":"{encoded}"}}"#)), "{prefix}");
    }
    // `wide`/`utf16le`: cmd > 63 00 6d 00 64 00.
    assert!(matches(
        "  s:\n    f|wide: 'cmd'\n  condition: s",
        r#"{"f":"c\u0000m\u0000d\u0000"}"#
    ));
    assert!(matches(
        "  s:\n    f|utf16le: 'cmd'\n  condition: s",
        r#"{"f":"c\u0000m\u0000d\u0000"}"#
    ));
    // `utf16be`: 00 63 00 6d 00 64.
    assert!(matches(
        "  s:\n    f|utf16be: 'cmd'\n  condition: s",
        r#"{"f":"\u0000c\u0000m\u0000d"}"#
    ));
    // `utf16`: FF FE 63 00 6d 00 64 00, here seen through base64.
    assert!(matches(
        "  s:\n    f|utf16|base64: 'cmd'\n  condition: s",
        r#"{"f":"//5jAG0AZAA="}"#
    ));
    // The classic: a UTF-16LE, base64-encoded PowerShell command.
    let d = "  s:\n    CommandLine|wide|base64offset|contains: 'ping'\n  condition: s";
    let encoded = "cABvAHcAZQByAHMAaABlAGwAbAAgAC0AbgBvAHAAIAAtAHcAIABoAGkAZABkAGUAbgAgAC0AYwAgAHAAaQBuAGcAIAAxADAALgAwAC4AMAAuADEA";
    assert!(matches(
        d,
        &format!(r#"{{"CommandLine":"powershell -enc {encoded}"}}"#)
    ));
    assert!(!matches(
        d,
        r#"{"CommandLine":"powershell -enc cABvAHcAZQByAHMAaABlAGwAbAA="}"#
    ));
    assert!(matches!(
        error(&detection("  s:\n    f|base64: 'a*'\n  condition: s")),
        ErrorKind::IllegalModifiers { .. }
    ));
}

#[test]
fn numeric_modifiers() {
    let c = |m: &str, v: &str, json: &str| {
        matches(&format!("  s:\n    f|{m}: {v}\n  condition: s"), json)
    };
    assert!(c("lt", "10", r#"{"f":9}"#));
    assert!(!c("lt", "10", r#"{"f":10}"#));
    assert!(c("lte", "10", r#"{"f":10}"#));
    assert!(
        c("gt", "10", r#"{"f":"11"}"#),
        "numeric text compares as a number"
    );
    assert!(!c("gt", "10", r#"{"f":"9"}"#), "not as text");
    assert!(c("gte", "1.5", r#"{"f":1.5}"#));
    assert!(!c("gt", "10", r#"{"f":"abc"}"#));
    assert!(!c("gt", "10", "{}"));
    assert!(matches!(
        error(&detection("  s:\n    f|gt: abc\n  condition: s")),
        ErrorKind::InvalidValue { .. }
    ));
    assert!(matches!(
        error(&detection("  s:\n    f|contains|gt: 1\n  condition: s")),
        ErrorKind::IllegalModifiers { .. }
    ));
}

#[test]
fn time_modifiers() {
    let c = |m: &str, v: &str, json: &str| {
        matches(&format!("  s:\n    t|{m}: {v}\n  condition: s"), json)
    };
    let t = r#"{"t":"2024-05-06T07:08:09+02:00"}"#;
    assert!(c("minute", "8", t));
    assert!(c("hour", "7", t), "as written, no time zone conversion");
    assert!(c("day", "6", t));
    assert!(c("week", "19", t));
    assert!(c("month", "5", t));
    assert!(c("year", "2024", t));
    assert!(!c("hour", "5", t));
    assert!(
        c("hour", "23", r#"{"t":"2019-03-02 23:51:00.008"}"#),
        "Sysmon UtcTime format"
    );
    assert!(c("hour|gte", "7", t));
    assert!(!c("hour|gt", "7", t));
    assert!(!c("hour", "7", r#"{"t":"not a time"}"#));
    let mut e = Event::new();
    e.timestamp = Some(
        chrono::DateTime::parse_from_rfc3339("2024-05-06T22:00:00Z")
            .unwrap()
            .into(),
    );
    let rules = rules(&detection(
        "  s:\n    '@timestamp|hour': 22\n  condition: s",
    ));
    assert_eq!(
        rules.matches(&e).len(),
        1,
        "@timestamp reads the event's timestamp"
    );
}

#[test]
fn cidr() {
    let d =
        "  s:\n    DestinationIp|cidr:\n      - 10.0.0.0/8\n      - 'fe80::/10'\n  condition: s";
    assert!(matches(d, r#"{"DestinationIp":"10.1.2.3"}"#));
    assert!(!matches(d, r#"{"DestinationIp":"11.1.2.3"}"#));
    assert!(matches(d, r#"{"DestinationIp":"FE80::1"}"#));
    assert!(
        matches(d, r#"{"DestinationIp":"::ffff:10.9.9.9"}"#),
        "IPv4-mapped IPv6"
    );
    assert!(!matches(d, r#"{"DestinationIp":"not an ip"}"#));
    let mut e = Event::new();
    e.insert("source.ip", std::net::IpAddr::from([10, 0, 0, 7]));
    assert_eq!(
        rules(&detection(
            "  s:\n    source.ip|cidr: 10.0.0.0/24\n  condition: s"
        ))
        .matches(&e)
        .len(),
        1
    );
    assert!(
        matches!(
            error(&detection("  s:\n    f|cidr: 10.0.0.1/8\n  condition: s")),
            ErrorKind::InvalidValue { .. }
        ),
        "host bits"
    );
    assert!(matches!(
        error(&detection("  s:\n    f|cidr: 10.0.0.0/33\n  condition: s")),
        ErrorKind::InvalidValue { .. }
    ));
}

#[test]
fn fieldref() {
    let d = "  s:\n    TargetFilename|fieldref: Image\n  condition: s";
    assert!(matches(
        d,
        r#"{"TargetFilename":"C:\\a.exe","Image":"c:\\A.exe"}"#
    ));
    assert!(!matches(
        d,
        r#"{"TargetFilename":"C:\\a.exe","Image":"C:\\b.exe"}"#
    ));
    assert!(!matches(d, r#"{"TargetFilename":"C:\\a.exe"}"#));
    assert!(matches(
        "  s:\n    a|fieldref|contains: b\n  condition: s",
        r#"{"a":"xxYYxx","b":"yy"}"#
    ));
    assert!(matches(
        "  s:\n    a|fieldref|startswith: b\n  condition: s",
        r#"{"a":"yyxx","b":"yy"}"#
    ));
    assert!(!matches(
        "  s:\n    a|fieldref|endswith: b\n  condition: s",
        r#"{"a":"yyxx","b":"yy"}"#
    ));
    assert!(matches(
        "  s:\n    a|fieldref|neq: b\n  condition: s",
        r#"{"a":"1","b":"2"}"#
    ));
    assert!(!matches(
        "  s:\n    a|fieldref|cased: b\n  condition: s",
        r#"{"a":"X","b":"x"}"#
    ));
    assert!(matches!(
        error(&detection("  s:\n    a|fieldref: 'b*'\n  condition: s")),
        ErrorKind::InvalidValue { .. }
    ));
}

#[test]
fn illegal_combinations_are_precise() {
    let e = |d: &str| error(&detection(d)).to_string();
    assert_eq!(
        e("  s:\n    f|contains|bogus: x\n  condition: s"),
        "field `f`: unknown modifier `bogus`"
    );
    assert_eq!(
        e("  s:\n    f|cidr|contains: 10.0.0.0/8\n  condition: s"),
        "field `f`: `contains` does not apply to a CIDR network"
    );
    assert_eq!(
        e("  s:\n    f|contains|cidr: 10.0.0.0/8\n  condition: s"),
        "field `f`: `cidr` must come before any modifier that changes the value"
    );
    assert_eq!(
        e("  s:\n    f|re|cased: a\n  condition: s"),
        "field `f`: `cased` applies to strings and field references, not to regular expressions (they are case-sensitive unless `i` is given)"
    );
    assert_eq!(
        e("  s:\n    - '|gt': 5\n  condition: s"),
        "field ``: `gt` needs a field; keyword searches only match text"
    );
    assert_eq!(
        e("  s:\n    f|contains: null\n  condition: s"),
        "field `f`: `null` cannot be combined with modifiers"
    );
    assert_eq!(
        e("  s:\n    f|wide|contains: 'a?b'\n  condition: s"),
        "field `f`: `utf16le` cannot encode `?` wildcards or windash positions (only `*` survives an encoding)"
    );
    assert_eq!(
        e("  s:\n    f: {a: b}\n  condition: s"),
        "field `f`: values must be strings, numbers, booleans or null, got a mapping"
    );
    assert_eq!(
        e("  s: []\n  condition: s"),
        "search identifier `s` is empty"
    );
}

// ---- Filters -------------------------------------------------------------------------------

#[test]
fn filters_apply_to_the_rules_they_name_as_and_not() {
    let text = r"title: Data Compressed - rar.exe
id: 6f3e2987-db24-4c78-a860-b4f4095a7095
logsource:
    category: process_creation
    product: windows
detection:
    selection:
        Image|endswith: '\rar.exe'
    condition: selection
---
title: Other rule
id: 11111111-1111-1111-1111-111111111111
logsource:
    category: process_creation
    product: windows
detection:
    selection:
        Image|endswith: '\rar.exe'
    condition: selection
---
title: Filter Administrator account
description: The valid administrator account start with adm_
logsource:
    category: process_creation
    product: windows
filter:
    rules:
        - 6f3e2987-db24-4c78-a860-b4f4095a7095 # Data Compressed - rar.exe
        - df0841c0-9846-4e9f-ad8a-7df91571771b # Login on jump host
    selection:
        User|startswith: 'adm_'
    condition: selection
";
    let rules = rules(text);
    let mut e = event(r#"{"Image":"C:\\rar.exe","User":"adm_bob"}"#);
    e.logsource = LogSource::new(Some("windows"), Some("process_creation"), None);
    let hits: Vec<&str> = rules
        .matches(&e)
        .iter()
        .map(|id| rules.rule(*id).id.as_str())
        .collect();
    assert_eq!(
        hits,
        ["11111111-1111-1111-1111-111111111111"],
        "filtered out of the named rule only"
    );
    let mut e = event(r#"{"Image":"C:\\rar.exe","User":"bob"}"#);
    e.logsource = LogSource::new(Some("windows"), Some("process_creation"), None);
    assert_eq!(rules.matches(&e).len(), 2);
}

#[test]
fn filters_need_a_covering_logsource_and_may_name_rules_by_name() {
    let text = "title: r\nname: my_rule\nlogsource: {product: linux}\ndetection:\n  s: {a: 1}\n  condition: s\n---\n\
                title: f\nlogsource: {product: windows}\nfilter:\n  rules: [my_rule]\n  s: {b: 1}\n  condition: s\n---\n\
                title: g\nlogsource: {product: linux}\nfilter:\n  rules: any\n  s: {c: 1}\n  condition: s\n";
    let rules = rules(text);
    let mut e = event(r#"{"a":1,"b":1}"#);
    e.logsource = LogSource::new(Some("linux"), None, None);
    assert_eq!(
        rules.matches(&e).len(),
        1,
        "the windows filter does not cover a linux rule"
    );
    let mut e = event(r#"{"a":1,"c":1}"#);
    e.logsource = LogSource::new(Some("linux"), None, None);
    assert!(
        rules.matches(&e).is_empty(),
        "`rules: any` covers every rule of its logsource"
    );
}

#[test]
fn specification_test_files_load() {
    let root = siem_testkit::corpus("sigma-specification");
    for (file, kind) in [
        ("tests/schema/rules/rule_1.yml", "rule"),
        ("tests/schema/rules/rule_ecs.yml", "rule"),
        ("tests/schema/filter/filter_1.yml", "filter"),
        ("tests/schema/filter/filter_ecs.yml", "filter"),
    ] {
        let (docs, errors) = parse_documents(
            &std::fs::read_to_string(root.join(file)).unwrap(),
            Some(file),
        );
        assert!(errors.is_empty(), "{errors:?}");
        match (&docs[0], kind) {
            (SigmaDocument::Rule(_), "rule") => {}
            (SigmaDocument::Filter(f), "filter") => {
                assert_eq!(
                    f.targets,
                    FilterTargets::Rules(vec![
                        "6f3e2987-db24-4c78-a860-b4f4095a7095".into(),
                        "df0841c0-9846-4e9f-ad8a-7df91571771b".into()
                    ])
                );
            }
            other => panic!("{file}: {other:?}"),
        }
    }
    let (docs, _) = parse_documents(
        &std::fs::read_to_string(root.join("tests/schema/rules/rule_1.yml")).unwrap(),
        None,
    );
    let SigmaDocument::Rule(rule) = &docs[0] else {
        panic!()
    };
    assert_eq!(rule.meta.related[0].kind, "similar");
    assert_eq!(rule.meta.tags.len(), 3);
    assert_eq!(rule.meta.logsource.service.as_deref(), Some("application"));
    let rules =
        rules(&std::fs::read_to_string(root.join("tests/schema/rules/rule_ecs.yml")).unwrap());
    let mut e = event(r#"{"dns":{"question":{"name":"SigmaHQ"}}}"#);
    e.logsource = LogSource::new(None, Some("network"), Some("dns"));
    assert_eq!(rules.matches(&e).len(), 1);
    for entry in std::fs::read_dir(root.join("tests/schema/correlation")).unwrap() {
        let path = entry.unwrap().path();
        let (docs, errors) = parse_documents(&std::fs::read_to_string(&path).unwrap(), None);
        assert!(
            errors.is_empty() && matches!(docs[0], SigmaDocument::Correlation(_)),
            "{}",
            path.display()
        );
    }
}

#[test]
fn correlation_examples_keep_correlations_raw_and_load_their_rules() {
    let root = siem_testkit::corpus("sigma-specification");
    let path = root
        .join("extracted-examples/correlation/16_failed_logins_followed_by_successful_login.yml");
    let text = std::fs::read_to_string(path).unwrap();
    let rules = rules(&text);
    assert_eq!(rules.len(), 2);
    assert_eq!(rules.correlations().len(), 2);
    assert_eq!(
        rules.correlations()[1].meta.name.as_deref(),
        Some("multiple_failed_login")
    );
    assert!(rules.correlations()[0].yaml.get("correlation").is_some());
    let failed = rules.lookup("failed_login").unwrap();
    assert_eq!(
        rules.rule(failed).id,
        "53ba33fd-3a50-4468-a5ef-c583635cfa92"
    );
    assert_eq!(
        rules.lookup("4d0a2c83-c62c-4ed4-b475-c7e23a9269b8"),
        rules.lookup("successful_login")
    );
    let mut e = event(r#"{"EventID":4625}"#);
    e.logsource = LogSource::new(Some("windows"), None, Some("security"));
    assert_eq!(rules.matches(&e), [failed]);
    // Every extracted example parses (most are fragments: those are YAML, not documents).
    for entry in std::fs::read_dir(root.join("extracted-examples/correlation")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yml") {
            let (docs, errors) = parse_documents(&std::fs::read_to_string(&path).unwrap(), None);
            for doc in &docs {
                assert!(
                    !matches!(doc, SigmaDocument::Filter(_)),
                    "{}",
                    path.display()
                );
            }
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            if name.starts_with("0") && name.as_str() >= "06"
                || name.starts_with("1") && name.as_str() <= "12"
            {
                assert!(errors.is_empty(), "{name}: {errors:?}");
            }
        }
    }
}

// ---- Chainsaw's conversion cases -------------------------------------------------------------

#[test]
fn chainsaw_collection_expands_into_two_rules() {
    let text = std::fs::read_to_string(siem_testkit::corpus_file(
        "chainsaw-tests",
        "tests/convert/sigma_collection.yml",
    ))
    .unwrap();
    let (docs, errors) = parse_documents(&text, None);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(docs.len(), 2);
    for (doc, expected) in docs.iter().zip([" -Nop ", " -encodedcommand "]) {
        let SigmaDocument::Rule(rule) = doc else {
            panic!()
        };
        // What the expected output says: title, id, status, description and author carried over.
        assert_eq!(rule.meta.title, "collection");
        assert_eq!(rule.meta.id, "collection");
        assert_eq!(
            rule.meta.status,
            Some(siem_core::sigma::Status::Experimental)
        );
        assert_eq!(
            rule.meta.description.as_deref(),
            Some("A collection rule for testing")
        );
        assert_eq!(rule.meta.author.as_deref(), Some("Alex Kornitzer"));
        // detection: base (from the global document) + search, condition `search and base`.
        let names: Vec<&str> = rule
            .detection
            .identifiers
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(names, ["base", "search"]);
        assert_eq!(
            rule.detection.conditions,
            [Condition::And(vec![
                Condition::Identifier("search".into()),
                Condition::Identifier("base".into())
            ])]
        );
        let DetectionNode::AllOf(items) = &rule.detection.identifiers["search"] else {
            panic!()
        };
        let DetectionNode::Item(item) = &items[0] else {
            panic!()
        };
        assert_eq!(
            item.values[0],
            siem_core::sigma::SigmaValue::String(expected.into())
        );
    }
    let (rules, errors) = RuleSet::builder().add_yaml(&text, None).build();
    assert!(errors.is_empty());
    let hits = rules.matches(&event(
        r#"{"Image":"C:\\WINDOWS\\PowerShell.exe","CommandLine":"powershell -NOP -x"}"#,
    ));
    assert_eq!(hits.len(), 1, "contains is case-insensitive (`i* -Nop *`)");
    assert!(
        rules
            .matches(&event(
                r#"{"Image":"C:\\cmd.exe","CommandLine":"x -nop y"}"#
            ))
            .is_empty()
    );
}

#[test]
fn chainsaw_simple_contains_is_a_case_insensitive_glob() {
    let text = std::fs::read_to_string(siem_testkit::corpus_file(
        "chainsaw-tests",
        "tests/convert/sigma_simple.yml",
    ))
    .unwrap();
    let rules = rules(&text);
    assert_eq!(
        rules
            .matches(&event(r#"{"CommandLine":"powershell.exe -nOp -w hidden"}"#))
            .len(),
        1
    );
    assert!(
        rules
            .matches(&event(r#"{"CommandLine":"powershell.exe -Nop"}"#))
            .is_empty(),
        "` -Nop ` needs the trailing space"
    );
}

// ---- Routing -------------------------------------------------------------------------------

#[test]
fn logsource_routing() {
    let text = "title: reg\nlogsource: {product: windows, category: registry_event}\ndetection:\n  s: {a: 1}\n  condition: s\n---\n\
                title: any\ndetection:\n  s: {a: 1}\n  condition: s\n---\n\
                title: svc\nlogsource: {product: Windows, service: Sysmon}\ndetection:\n  s: {a: 1}\n  condition: s\n";
    let rules = rules(text);
    let titles = |e: &Event| {
        rules
            .matches(e)
            .iter()
            .map(|id| rules.rule(*id).title.clone())
            .collect::<Vec<_>>()
    };
    let mut e = event(r#"{"a":1}"#);
    assert_eq!(
        titles(&e),
        ["any"],
        "an unset event part does not satisfy a set rule part"
    );
    e.logsource = LogSource::new(Some("windows"), Some("registry_set"), Some("sysmon"));
    assert_eq!(
        titles(&e),
        ["reg", "any", "svc"],
        "registry_set implies registry_event; case-insensitive"
    );
    e.logsource = LogSource::new(Some("windows"), Some("registry_delete"), None);
    assert_eq!(titles(&e), ["reg", "any"]);
    e.logsource = LogSource::new(Some("windows"), Some("file_event"), None);
    assert_eq!(titles(&e), ["any"]);
    let (unrouted, _) = RuleSet::builder()
        .routing(false)
        .add_yaml(text, None)
        .build();
    assert_eq!(
        unrouted.matches(&event(r#"{"a":1}"#)).len(),
        3,
        "routing off: every rule sees every event"
    );
    let (custom, _) = RuleSet::builder().category_implication("file_change", "file_event").add_yaml(
        "title: fe\nlogsource: {category: file_event}\ndetection:\n  s: {a: 1}\n  condition: s\n", None).build();
    let mut e = event(r#"{"a":1}"#);
    e.logsource = LogSource::new(None, Some("file_change"), None);
    assert_eq!(custom.matches(&e).len(), 1);
}

// ---- Errors and metadata -------------------------------------------------------------------

#[test]
fn errors_name_file_rule_and_reason_and_the_rest_loads() {
    let text = "title: good\nid: g\ndetection:\n  s: {a: 1}\n  condition: s\n---\n\
                title: bad\nid: b\ndetection:\n  s: {a: 1}\n  condition: t\n---\n\
                title: no id\ndetection:\n  condition: s\n---\n\
                [not, a, mapping]\n";
    let (rules, errors) = RuleSet::builder().add_yaml(text, Some("mixed.yml")).build();
    assert_eq!(rules.len(), 1);
    let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        messages,
        [
            "mixed.yml: document 4: a Sigma document must be a mapping, got a list",
            "mixed.yml: rule b: condition references unknown search identifier `t`",
            "mixed.yml: rule no id: condition references unknown search identifier `s`",
        ]
    );
    let (_, errors) = RuleSet::builder()
        .add_yaml("title: x\ndetection: [", Some("broken.yml"))
        .build();
    assert!(
        errors[0]
            .to_string()
            .starts_with("broken.yml: document 1: invalid YAML: "),
        "{}",
        errors[0]
    );
}

#[test]
fn metadata_is_kept() {
    let text = "title: T\nid: i\nname: n\nstatus: test\ndescription: D\nreferences: [r1]\nauthor: A\ndate: 2024-01-02\nmodified: 2024-02-03\n\
                tags: [attack.t1110]\nfalsepositives: [fp]\nfields: [f1, f2]\nlevel: critical\nlicense: DRL-1.1\ntaxonomy: sigma\n\
                related: [{id: x, type: derived}]\n\
                logsource: {product: p, category: c, service: s, definition: def, custom_key: v}\n\
                detection:\n  s: {a: 1}\n  condition: s\n";
    let rules = rules(text);
    let meta = rules.rule(siem_core::sigma::RuleId(0));
    assert_eq!(meta.name.as_deref(), Some("n"));
    assert_eq!(meta.status, Some(siem_core::sigma::Status::Test));
    assert_eq!(meta.modified.as_deref(), Some("2024-02-03"));
    assert_eq!(meta.fields, ["f1", "f2"]);
    assert_eq!(meta.falsepositives, ["fp"]);
    assert_eq!(meta.logsource_definition.as_deref(), Some("def"));
    assert_eq!(
        meta.logsource_custom,
        [("custom_key".into(), "v".to_string())]
    );
    assert_eq!(meta.path.as_deref(), Some("test.yml"));
    assert_eq!(meta.license.as_deref(), Some("DRL-1.1"));
    assert!(matches!(
        error("title: x\nlevel: urgent\ndetection:\n  s: {a: 1}\n  condition: s\n"),
        ErrorKind::InvalidKey { .. }
    ));
}

#[test]
fn transformations_rewrite_the_tree_before_compilation() {
    let mut builder = RuleSet::builder();
    builder.transform(|rule| {
        fn walk(node: &mut DetectionNode) {
            match node {
                DetectionNode::AllOf(c) | DetectionNode::AnyOf(c) => c.iter_mut().for_each(walk),
                DetectionNode::Item(item) => {
                    if item.fields.first().map(|f| f.as_str()) == Some("CommandLine") {
                        item.fields = vec!["process.command_line".into(), "process.args".into()];
                    }
                }
            }
        }
        rule.detection.identifiers.values_mut().for_each(walk);
        if rule.meta.title == "reject me" {
            return Err("no".into());
        }
        Ok(())
    });
    builder.add_yaml("title: t\ndetection:\n  s: {CommandLine|contains: whoami}\n  condition: s\n---\ntitle: reject me\ndetection:\n  s: {a: 1}\n  condition: s\n", None);
    let (rules, errors) = builder.build();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].kind, ErrorKind::Transform("no".into()));
    assert_eq!(
        rules
            .matches(&event(r#"{"process":{"args":["cmd","whoami"]}}"#))
            .len(),
        1,
        "one-to-many mapping is OR"
    );
    assert_eq!(
        rules
            .matches(&event(r#"{"process":{"command_line":"whoami /all"}}"#))
            .len(),
        1
    );
    assert!(
        rules
            .matches(&event(r#"{"CommandLine":"whoami"}"#))
            .is_empty()
    );
}
