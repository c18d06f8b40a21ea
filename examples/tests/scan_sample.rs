//! The "main job" on a fresh machine: the project's own rules (`examples/rules/`) over the
//! bundled sample log (`examples/data/sample.log`, synthetic auth.log and nginx lines), plus
//! `siem rules check` and how `siem scan` reports rules that do not load.

use std::path::PathBuf;
use std::process::{Command, Output};

const RULES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/rules");
const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/sample.log");

fn siem(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_siem"))
        .args(args)
        .output()
        .expect("run siem")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// (rule title, 1-based line of the sample) for each alert.
fn alerts(o: &Output) -> Vec<(String, usize)> {
    assert!(o.status.success(), "{}", stderr(o));
    let lines: Vec<String> = std::fs::read_to_string(SAMPLE).unwrap().lines().map(str::to_string).collect();
    stdout(o)
        .lines()
        .map(|l| {
            let a: serde_json::Value = serde_json::from_str(l).unwrap();
            assert_eq!(a["kind"], "detection");
            let original = a["event"]["event"]["original"].as_str().unwrap();
            let line = lines.iter().position(|l| l == original).expect("alert from a sample line") + 1;
            (a["rule"]["title"].as_str().unwrap().to_string(), line)
        })
        .collect()
}

const EXPECTED: &[(&str, usize)] = &[
    ("SSH Login Attempt For A Nonexistent User", 5),
    ("SSH Failed Login", 6),
    ("SSH Failed Login", 7),
    ("SSH Failed Login", 8),
    ("Sudo By A User Not In Sudoers", 10),
    ("Web Vulnerability Scanner User-Agent", 13),
    ("Web Vulnerability Scanner User-Agent", 14),
    ("SQL Injection Attempt In A Request", 14),
    ("Web Vulnerability Scanner User-Agent", 15),
    ("SQL Injection Attempt In A Request", 15),
    ("Path Traversal Attempt In A Request", 17),
    ("Path Traversal Attempt In A Request", 18),
    ("Interactive Root Shell Through Sudo", 19),
];

#[test]
fn main_job_scan_of_the_sample_log() {
    let out = siem(&["scan", "--rules", RULES, "--output", "jsonl", SAMPLE]);
    let got = alerts(&out);
    let want: Vec<(String, usize)> = EXPECTED.iter().map(|(t, l)| (t.to_string(), *l)).collect();
    assert_eq!(got, want);
    let err = stderr(&out);
    assert!(err.contains("siem scan: 7 of 7 rules loaded"), "{err}");
    assert!(
        err.contains("21 events read, 0 parse failures, 0 lines cut (0 bytes dropped), 0 blank lines skipped, 13 alerts"),
        "{err}"
    );
    assert!(err.contains("       3  SSH Failed Login (2c0d8e1a-5b7f-4a53-9a3e-6f2b1c9d0e41)"), "{err}");

    // The alert JSON contract.
    let first: serde_json::Value = serde_json::from_str(stdout(&out).lines().next().unwrap()).unwrap();
    assert_eq!(first["@timestamp"], "2024-05-01T10:00:01.431220Z");
    assert_eq!(first["rule"]["id"], "7e4b9f02-1c8d-4e6a-b5f3-0a9d2e7c4b18");
    assert_eq!(first["rule"]["level"], "medium");
    assert_eq!(first["event"]["source"]["ip"], "203.0.113.7");
    assert_eq!(first["event"]["user"]["name"], "admin");
}

#[test]
fn the_rules_written_with_sigma_field_names_need_the_ecs_pipeline() {
    // Without pipelines only the rules written with ECS names fire: the web rules (W3C names)
    // and the sudo shell rule (sudo's USER / COMMAND) go quiet.
    let out = siem(&["scan", "--rules", RULES, "-o", "jsonl", "--no-default-pipelines", SAMPLE]);
    let got: Vec<(String, usize)> = alerts(&out);
    let want: Vec<(String, usize)> = EXPECTED
        .iter()
        .filter(|(t, _)| t.starts_with("SSH") || t.starts_with("Sudo By"))
        .map(|(t, l)| (t.to_string(), *l))
        .collect();
    assert_eq!(got, want);
    // Naming the pipeline brings them back.
    let out = siem(&["scan", "--rules", RULES, "-o", "jsonl", "--pipeline", "ecs", SAMPLE]);
    assert_eq!(alerts(&out).len(), EXPECTED.len());
}

#[test]
fn table_output_of_the_sample() {
    let out = siem(&["scan", "--rules", RULES, SAMPLE]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows.len(), EXPECTED.len() + 1, "{text}");
    assert_eq!(
        rows[5],
        "2024-05-01T10:02:44Z  high           Sudo By A User Not In Sudoers                     host=web01 user=alice /usr/bin/cat /etc/shadow"
    );
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("siem-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn rules_check_reports_every_failure() {
    let out = siem(&["rules", "check", RULES]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "compiled 7 of 7 rules\n");

    let dir = scratch("rules-check");
    std::fs::copy(format!("{RULES}/linux/ssh_failed_login.yml"), dir.join("good.yml")).unwrap();
    std::fs::write(
        dir.join("bad.yml"),
        "title: bad\nid: bad-1\nlogsource: {product: linux}\ndetection:\n  sel:\n    a|bogus: x\n  condition: sel\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("old.yaml"),
        "title: old\nid: old-1\ndetection:\n  sel: {a: 1}\n  condition: sel | count() > 5\n",
    )
    .unwrap();
    std::fs::write(dir.join("broken.yml"), "title: [unclosed\n").unwrap();
    let bad = dir.join("bad.yml").to_string_lossy().into_owned();
    let old = dir.join("old.yaml").to_string_lossy().into_owned();

    let out = siem(&["rules", "check", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains(&format!("{bad}: rule bad-1: field `a`: unknown modifier `bogus`\n")), "{text}");
    assert!(text.contains(&format!("{old}: rule old-1: condition `sel | count() > 5` uses the Sigma 1 aggregation syntax")), "{text}");
    assert!(text.contains("broken.yml: invalid YAML"), "{text}");
    assert!(text.ends_with("compiled 1 of 4 rules\n"), "{text}");

    let out = siem(&["rules", "check", "--json", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!((json["compiled"].as_u64(), json["total"].as_u64()), (Some(1), Some(4)));
    let errors = json["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 3);
    let bad_error = errors.iter().find(|e| e["id"] == "bad-1").unwrap();
    assert_eq!(bad_error["path"], bad.as_str());
    assert_eq!(bad_error["reason"], "field `a`: unknown modifier `bogus`");

    // scan goes on with the rules that load, reporting the others.
    let out = siem(&["scan", "--rules", dir.to_str().unwrap(), "-o", "jsonl", SAMPLE]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains(&format!("siem scan: skipped {bad}: rule bad-1: field `a`: unknown modifier `bogus`")), "{err}");
    assert!(err.contains("siem scan: 1 of 4 rules loaded"), "{err}");
    assert_eq!(stdout(&out).lines().count(), 3);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn pipelines_and_placeholders_from_files() {
    let dir = scratch("pipeline");
    let pipeline = dir.join("mine.yml");
    // A user pipeline that renames the rule's field onto what the sample's events carry.
    std::fs::write(
        &pipeline,
        "name: mine\ntransformations:\n  - type: field_name_mapping\n    mapping:\n      SourceAddress: source.ip\n",
    )
    .unwrap();
    let admins = dir.join("admins.txt");
    std::fs::write(&admins, "# accounts scanners try\nadmin\nroot\n").unwrap();
    std::fs::write(
        dir.join("rule.yml"),
        "title: Scanner host tries admin accounts\nid: pl-1\nlogsource: {product: linux, service: sshd}\ndetection:\n  sel:\n    SourceAddress: 203.0.113.7\n    user.name|expand: '%admins%'\n  condition: sel\n",
    )
    .unwrap();
    let rule = dir.join("rule.yml").to_string_lossy().into_owned();
    let out = siem(&[
        "scan",
        "--rules",
        &rule,
        "--pipeline",
        pipeline.to_str().unwrap(),
        "--placeholder",
        &format!("admins={}", admins.display()),
        "-o",
        "jsonl",
        SAMPLE,
    ]);
    let lines: Vec<usize> = alerts(&out).into_iter().map(|(_, l)| l).collect();
    // Lines 5-9: the invalid user `admin`, its failed password, two for root, the disconnect.
    assert_eq!(lines, [5, 6, 7, 8, 9]);

    // Without the placeholder values the rule is reported and nothing is scanned for.
    let out = siem(&["scan", "--rules", &rule, "--pipeline", pipeline.to_str().unwrap(), SAMPLE]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("placeholder %admins% has no values"), "{}", stderr(&out));

    // An unknown pipeline is a usage error.
    let out = siem(&["rules", "check", "--pipeline", "nonesuch", RULES]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("pipeline \"nonesuch\": not a bundled pipeline (windows, ecs) and no such file"), "{}", stderr(&out));
    std::fs::remove_dir_all(&dir).unwrap();
}
