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

/// What a scan printed: detections as (rule title, 1-based line of the sample) and
/// correlations as (rule title, group source.ip, value), in output order.
#[derive(Debug, Default, PartialEq)]
struct Alerts {
    detections: Vec<(String, usize)>,
    correlations: Vec<(String, String, i64)>,
}

fn alerts(o: &Output) -> Alerts {
    assert!(o.status.success(), "{}", stderr(o));
    let lines: Vec<String> = std::fs::read_to_string(SAMPLE)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    let mut got = Alerts::default();
    for l in stdout(o).lines() {
        let a: serde_json::Value = serde_json::from_str(l).unwrap();
        let title = a["rule"]["title"].as_str().unwrap().to_string();
        match a["kind"].as_str().unwrap() {
            "detection" => {
                let original = a["event"]["event"]["original"].as_str().unwrap();
                let line = lines
                    .iter()
                    .position(|l| l == original)
                    .expect("alert from a sample line")
                    + 1;
                got.detections.push((title, line));
            }
            "correlation" => got.correlations.push((
                title,
                a["group"]["source.ip"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                a["value"].as_i64().unwrap_or_default(),
            )),
            other => panic!("unknown kind {other}"),
        }
    }
    got
}

/// The detections the sample must raise, by line.
const DETECTIONS: &[(&str, usize)] = &[
    ("SSH Login Attempt For A Nonexistent User", 5),
    ("Sudo By A User Not In Sudoers", 14),
    ("Web Vulnerability Scanner User-Agent", 17),
    ("Web Vulnerability Scanner User-Agent", 18),
    ("SQL Injection Attempt In A Request", 18),
    ("Web Vulnerability Scanner User-Agent", 19),
    ("SQL Injection Attempt In A Request", 19),
    ("Path Traversal Attempt In A Request", 21),
    ("Path Traversal Attempt In A Request", 22),
    ("Interactive Root Shell Through Sudo", 23),
];

/// The correlations: five failed logins from 203.0.113.7 within ten minutes (lines 5 to 9),
/// then its successful login (line 12).
const CORRELATIONS: &[(&str, &str, i64)] = &[
    ("SSH Brute Force From One Address", "203.0.113.7", 5),
    (
        "SSH Brute Force Followed by Successful Login",
        "203.0.113.7",
        2,
    ),
];

fn expected(keep: impl Fn(&str) -> bool) -> Alerts {
    Alerts {
        detections: DETECTIONS
            .iter()
            .filter(|(t, _)| keep(t))
            .map(|(t, l)| (t.to_string(), *l))
            .collect(),
        correlations: CORRELATIONS
            .iter()
            .map(|(t, ip, v)| (t.to_string(), ip.to_string(), *v))
            .collect(),
    }
}

#[test]
fn main_job_scan_of_the_sample_log() {
    let out = siem(&["scan", "--rules", RULES, "--output", "jsonl", SAMPLE]);
    assert_eq!(alerts(&out), expected(|_| true));
    let err = stderr(&out);
    assert!(err.contains("siem scan: 13 of 13 rules loaded"), "{err}");
    assert!(
        err.contains("25 events read, 0 parse failures, 0 lines cut (0 bytes dropped), 0 blank lines skipped, 12 alerts"),
        "{err}"
    );
    assert!(
        err.contains(
            "       3  Web Vulnerability Scanner User-Agent (1e7c4b92-3f5a-4d8e-9c26-7a0b5e3d1f84)"
        ),
        "{err}"
    );
    assert!(err.contains("       1  SSH Brute Force Followed by Successful Login (332ad2e8-a1cf-45f1-9d61-16b00971f535)"), "{err}");

    // The alert JSON contract.
    let first: serde_json::Value =
        serde_json::from_str(stdout(&out).lines().next().unwrap()).unwrap();
    assert_eq!(first["@timestamp"], "2024-05-01T10:00:01.431220Z");
    assert_eq!(first["kind"], "detection");
    assert_eq!(first["rule"]["id"], "7e4b9f02-1c8d-4e6a-b5f3-0a9d2e7c4b18");
    assert_eq!(first["rule"]["level"], "medium");
    assert_eq!(first["event"]["source"]["ip"], "203.0.113.7");
    assert_eq!(first["event"]["user"]["name"], "admin");
}

#[test]
fn the_rules_written_with_sigma_field_names_need_the_ecs_pipeline() {
    // Without pipelines only the rules written with ECS names fire: the web rules (W3C names)
    // and the sudo shell rule (sudo's USER / COMMAND) go quiet.
    let out = siem(&[
        "scan",
        "--rules",
        RULES,
        "-o",
        "jsonl",
        "--no-default-pipelines",
        SAMPLE,
    ]);
    assert_eq!(
        alerts(&out),
        expected(|t| t.starts_with("SSH") || t.starts_with("Sudo By"))
    );
    // Naming the pipeline brings them back.
    let out = siem(&[
        "scan",
        "--rules",
        RULES,
        "-o",
        "jsonl",
        "--pipeline",
        "ecs",
        SAMPLE,
    ]);
    assert_eq!(alerts(&out), expected(|_| true));
}

#[test]
fn table_output_of_the_sample() {
    let out = siem(&["scan", "--rules", RULES, SAMPLE]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(
        rows.len(),
        DETECTIONS.len() + CORRELATIONS.len() + 1,
        "{text}"
    );
    assert!(rows.contains(
        &"2024-05-01T10:02:44Z  high           Sudo By A User Not In Sudoers                     host=web01 user=alice /usr/bin/cat /etc/shadow"
    ), "{text}");
    assert!(rows.contains(
        &"2024-05-01T10:00:12Z  high           SSH Brute Force From One Address                  source.ip=203.0.113.7 value=5 from 2024-05-01T10:00:01Z to 2024-05-01T10:00:12Z rules 04d59082-29c9-4301-985b-e8698ef25e5a"
    ), "{text}");
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
    assert_eq!(
        stdout(&out),
        "compiled 13 of 13 rules, 4 of them correlation rules\n"
    );

    let dir = scratch("rules-check");
    std::fs::copy(
        format!("{RULES}/linux/ssh_invalid_user.yml"),
        dir.join("good.yml"),
    )
    .unwrap();
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
    assert!(
        text.contains(&format!(
            "{bad}: rule bad-1: field `a`: unknown modifier `bogus`\n"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "{old}: rule old-1: condition `sel | count() > 5` uses the Sigma 1 aggregation syntax"
        )),
        "{text}"
    );
    assert!(text.contains("broken.yml: invalid YAML"), "{text}");
    assert!(text.ends_with("compiled 1 of 4 rules\n"), "{text}");

    let out = siem(&["rules", "check", "--json", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        (json["compiled"].as_u64(), json["total"].as_u64()),
        (Some(1), Some(4))
    );
    let errors = json["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 3);
    let bad_error = errors.iter().find(|e| e["id"] == "bad-1").unwrap();
    assert_eq!(bad_error["path"], bad.as_str());
    assert_eq!(bad_error["reason"], "field `a`: unknown modifier `bogus`");

    // scan goes on with the rules that load, reporting the others.
    let out = siem(&[
        "scan",
        "--rules",
        dir.to_str().unwrap(),
        "-o",
        "jsonl",
        SAMPLE,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "siem scan: skipped {bad}: rule bad-1: field `a`: unknown modifier `bogus`"
        )),
        "{err}"
    );
    assert!(err.contains("siem scan: 1 of 4 rules loaded"), "{err}");
    assert_eq!(stdout(&out).lines().count(), 1);
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
    let lines: Vec<usize> = alerts(&out)
        .detections
        .into_iter()
        .map(|(_, l)| l)
        .collect();
    // Lines 5-12: the invalid user `admin`, its failed password, four for root, the
    // disconnect and the accepted root login.
    assert_eq!(lines, [5, 6, 7, 8, 9, 10, 11, 12]);

    // Without the placeholder values the rule is reported and nothing is scanned for.
    let out = siem(&[
        "scan",
        "--rules",
        &rule,
        "--pipeline",
        pipeline.to_str().unwrap(),
        SAMPLE,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("placeholder %admins% has no values"),
        "{}",
        stderr(&out)
    );

    // An unknown pipeline is a usage error.
    let out = siem(&["rules", "check", "--pipeline", "nonesuch", RULES]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(
            "pipeline \"nonesuch\": not a bundled pipeline (windows, ecs) and no such file"
        ),
        "{}",
        stderr(&out)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
