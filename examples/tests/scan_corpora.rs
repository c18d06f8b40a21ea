//! End-to-end tests of `siem scan` (the built binary) on real corpus files, each asserting the
//! alerts expected: which rule fires on which line, derived from the corpus's own labels where
//! it has them.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Output, Stdio};

fn siem(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_siem"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run siem");
    let mut input = child.stdin.take().unwrap();
    if let Some(bytes) = stdin {
        input.write_all(bytes).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn alerts(o: &Output) -> Vec<serde_json::Value> {
    assert!(o.status.success(), "{}", stderr(o));
    String::from_utf8(o.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// (rule id, the line the alert's event came from), sorted.
fn rule_and_line(alerts: &[serde_json::Value]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = alerts
        .iter()
        .map(|a| {
            assert_eq!(a["kind"], "detection");
            (
                a["rule"]["id"].as_str().unwrap().to_string(),
                a["event"]["event"]["original"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

fn path(corpus: &str, rel: &str) -> String {
    siem_testkit::corpus_file(corpus, rel)
        .to_string_lossy()
        .into_owned()
}

/// SigmaHQ's webserver rules over CrowdSec's nginx samples.
#[test]
fn sigmahq_web_rules_over_crowdsec_nginx_samples() {
    let rules = path("sigma", "rules/web");
    // Nikto's user agent, three requests.
    let ua = path(
        "crowdsec-hub",
        "tests/nginx-bad-user-agent/nginx-bad-user-agent.log",
    );
    let out = siem(&["scan", "--rules", &rules, "-o", "jsonl", &ua], None);
    let got = rule_and_line(&alerts(&out));
    let lines: Vec<String> = std::fs::read_to_string(&ua)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    let mut want: Vec<(String, String)> = lines
        .iter()
        .map(|l| {
            (
                "19aa4f58-94ca-45ff-bc34-92e533c0994a".to_string(),
                l.clone(),
            )
        })
        .collect();
    want.sort();
    assert_eq!(got, want);
    assert!(
        stderr(&out).contains("3 events read, 0 parse failures"),
        "{}",
        stderr(&out)
    );

    // Sensitive files: only the `.git` probe is in SigmaHQ's source-code enumeration rule.
    let files = path(
        "crowdsec-hub",
        "tests/nginx-http-sensitive-files/nginx-http-sensitive-files.log",
    );
    let got = rule_and_line(&alerts(&siem(
        &["scan", "--rules", &rules, "-o", "jsonl", &files],
        None,
    )));
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, "953d460b-f810-420a-97a2-cfca4c98e602");
    assert!(got[0].1.contains("GET /.git/HEAD "), "{got:?}");

    // SQL injection probes: SigmaHQ's rule leaves out 404 responses (its filter_main_status),
    // and every probe in the sample got a 404.
    let sqli = path(
        "crowdsec-hub",
        "tests/nginx-http-sqli-probing/nginx-http-sqli-probing.log",
    );
    assert!(
        alerts(&siem(
            &["scan", "--rules", &rules, "-o", "jsonl", &sqli],
            None
        ))
        .is_empty()
    );
    // Answered with 200, three of them carry strings of the rule's list.
    let answered = std::fs::read_to_string(&sqli)
        .unwrap()
        .replace("\" 404 ", "\" 200 ");
    let got = rule_and_line(&alerts(&siem(
        &["scan", "--rules", &rules, "-o", "jsonl", "-"],
        Some(answered.as_bytes()),
    )));
    let urls: Vec<&str> = got
        .iter()
        .map(|(id, line)| {
            assert_eq!(id, "5513deaf-f49a-46c2-a6c8-3f111b5cb453");
            line.split('"').nth(1).unwrap()
        })
        .collect();
    assert_eq!(
        urls,
        [
            "GET /foo?a=%20union%20all%20select%20 HTTP/1.1",
            "GET /foo?a=%20union%20select%20 HTTP/1.1",
            "GET /foo?a=information_schema.tables HTTP/1.1",
        ]
    );
}

/// The project's own web rules over the same samples: they do not skip 404s.
#[test]
fn project_web_rules_over_crowdsec_nginx_samples() {
    let rules = concat!(env!("CARGO_MANIFEST_DIR"), "/rules/web");
    let traversal = path(
        "crowdsec-hub",
        "tests/nginx-http-path-traversal/nginx-http-path-traversal.log",
    );
    let got = rule_and_line(&alerts(&siem(
        &["scan", "--rules", rules, "-o", "jsonl", &traversal],
        None,
    )));
    let mut urls: Vec<&str> = got
        .iter()
        .map(|(_, l)| l.split('"').nth(1).unwrap())
        .collect();
    urls.sort();
    assert!(
        got.iter()
            .all(|(id, _)| id == "6d2f9a41-8e3c-4b05-b7a1-2c9e4f6d8b13")
    );
    // The double-encoded `../`, the encoded /etc/passwd and win.ini: 8 of the 9 lines, all but
    // `/%2Fetc%2Fgroups` (no traversal, and not a file the rule lists).
    assert_eq!(
        urls,
        [
            "GET /%252E%252E%252Ffoo1 HTTP/1.1",
            "GET /%252E%252E%252Ffoo2 HTTP/1.1",
            "GET /%252E%252E%252Ffoo3 HTTP/1.1",
            "GET /%252E%252E%252Ffoo4 HTTP/1.1",
            "GET /%252E%252E%252Ffoo5 HTTP/1.1",
            "GET /%2Fetc%2Fpasswd HTTP/1.1",
            "GET /%2fetc%2fpasswd HTTP/1.1",
            "GET /c:/win.ini HTTP/1.1",
        ]
    );
}

/// SigmaHQ's Linux rules raise nothing on loghub's 2,000 OpenSSH lines (their sshd rules look
/// for crypto and protocol errors that log does not have), while the project's invalid-user
/// rule flags exactly the lines loghub's structured CSV labels as attempts for users that do
/// not exist (templates E12 `input_userauth_request: invalid user` and E13 `Invalid user`).
#[test]
fn linux_rules_over_loghub_openssh() {
    let log = path("loghub", "OpenSSH/OpenSSH_2k.log");
    let out = siem(
        &[
            "scan",
            "--rules",
            &path("sigma", "rules/linux"),
            "-o",
            "jsonl",
            &log,
        ],
        None,
    );
    assert!(alerts(&out).is_empty());
    assert!(
        stderr(&out).contains("2000 events read, 0 parse failures"),
        "{}",
        stderr(&out)
    );

    let csv =
        std::fs::read_to_string(path("loghub", "OpenSSH/OpenSSH_2k.log_structured.csv")).unwrap();
    let lines: Vec<String> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    let mut want: Vec<(String, String)> = Vec::new();
    for (i, row) in csv.lines().skip(1).enumerate() {
        // EventId is the last `E<number>` column (the template after it may hold commas).
        let event_id = row
            .split(',')
            .rev()
            .find(|f| {
                f.len() > 1 && f.starts_with('E') && f[1..].chars().all(|c| c.is_ascii_digit())
            })
            .unwrap_or_default();
        if matches!(event_id, "E12" | "E13") {
            want.push((
                "7e4b9f02-1c8d-4e6a-b5f3-0a9d2e7c4b18".to_string(),
                lines[i].clone(),
            ));
        }
    }
    want.sort();
    let rule = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/rules/linux/ssh_invalid_user.yml"
    );
    let out = siem(&["scan", "--rules", rule, "-o", "jsonl", &log], None);
    let got = rule_and_line(&alerts(&out));
    assert_eq!(got.len(), 226);
    assert_eq!(got, want);
    let err = stderr(&out);
    assert!(err.contains("     226  SSH Login Attempt For A Nonexistent User (7e4b9f02-1c8d-4e6a-b5f3-0a9d2e7c4b18)"), "{err}");
    assert!(err.contains("226 alerts"), "{err}");
}

/// SigmaHQ's Windows rules over DeepBlueCLI's samples (evtx_dump JSON lines).
#[test]
fn sigmahq_windows_rules_over_deepbluecli() {
    let rules = path("sigma", "rules/windows");
    let cases: [(&str, &[(&str, i64)]); 2] = [
        (
            // A user created and added to a global group.
            "deepbluecli/evtx/new-user-security.jsonl",
            &[
                ("66b6be3d-55d0-4f47-9855-d69df21740ea", 4720),
                ("c43c26be-2e87-46c7-8661-284588c5a53e", 4728),
            ],
        ),
        (
            // Metasploit's psexec: the System log cleared, then the getsystem service.
            "deepbluecli/evtx/metasploit-psexec-native-target-system.jsonl",
            &[
                ("100ef69e-3327-481c-8e5c-6d80d9507556", 104),
                ("26481afe-db26-4228-b264-25a29fe6efc7", 7045),
                ("843544a7-56e0-4dcc-a44f-5cc266dd97d6", 7045),
            ],
        ),
    ];
    for (file, want) in cases {
        let got = alerts(&siem(
            &[
                "scan",
                "--rules",
                &rules,
                "-o",
                "jsonl",
                &path("windows-evtx-json", file),
            ],
            None,
        ));
        let mut got: Vec<(String, i64)> = got
            .iter()
            .map(|a| {
                (
                    a["rule"]["id"].as_str().unwrap().to_string(),
                    a["event"]["winlog"]["event_id"].as_i64().unwrap(),
                )
            })
            .collect();
        got.sort();
        let want: Vec<(String, i64)> = want.iter().map(|(id, e)| (id.to_string(), *e)).collect();
        assert_eq!(got, want, "{file}");
    }
}

/// The table output: a header, one row per alert with time, level, title and the event's
/// essentials; the summary counts alerts by rule.
#[test]
fn table_output_for_people() {
    let file = path(
        "windows-evtx-json",
        "deepbluecli/evtx/new-user-security.jsonl",
    );
    let out = siem(
        &["scan", "--rules", &path("sigma", "rules/windows"), &file],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    let rows: Vec<&str> = text.lines().collect();
    assert!(rows[0].starts_with("TIME") && rows[0].contains("LEVEL") && rows[0].contains("RULE"));
    assert_eq!(rows.len(), 3, "{text}");
    let by_title: BTreeMap<&str, &str> = rows[1..]
        .iter()
        .map(|r| {
            (
                if r.contains("Local User Creation") {
                    "create"
                } else {
                    "group"
                },
                *r,
            )
        })
        .collect();
    assert!(
        by_title["create"].starts_with("2013-10-23T16:22:39Z  low "),
        "{text}"
    );
    assert!(
        by_title["create"].contains("host=IE8Win7") && by_title["create"].contains("event_id=4720"),
        "{text}"
    );
    let err = stderr(&out);
    assert!(
        err.contains("4 events read, 0 parse failures, 0 lines cut"),
        "{err}"
    );
    assert!(
        err.contains("       1  Local User Creation (66b6be3d-55d0-4f47-9855-d69df21740ea)"),
        "{err}"
    );
}

/// SigmaHQ's Django and Python rules (keyword rules, `category: application`) over Python
/// logging records as python-json-logger writes them: the JSON reader gives Django loggers
/// `product: django` and others `product: python`, and keeps the logger name and the
/// exception's class, which the keywords find.
#[test]
fn sigmahq_application_rules_over_python_logging_records() {
    let records = concat!(
        r#"{"asctime": "2024-05-01 10:11:12,345", "levelname": "ERROR", "name": "django.security.DisallowedHost", "message": "Invalid HTTP_HOST header: 'evil.example'. You may need to add 'evil.example' to ALLOWED_HOSTS.", "status_code": 400, "request": "<WSGIRequest: GET '/admin/'>"}"#,
        "\n",
        r#"{"asctime": "2024-05-01 10:11:13,001", "levelname": "ERROR", "name": "shop.orders", "message": "order sync failed", "exc_info": "Traceback (most recent call last):\n  File \"/srv/shop/orders.py\", line 42, in sync\n    cur.execute(q)\nsqlite3.OperationalError: no such table: orders"}"#,
        "\n",
        r#"{"asctime": "2024-05-01 10:11:14,500", "levelname": "INFO", "name": "django.request", "message": "GET /products 200"}"#,
        "\n",
    );
    let rules = path("sigma", "rules/application");
    let got = alerts(&siem(
        &["scan", "--rules", &rules, "-o", "jsonl", "-"],
        Some(records.as_bytes()),
    ));
    let got: Vec<(&str, &str)> = got
        .iter()
        .map(|a| {
            (
                a["rule"]["id"].as_str().unwrap(),
                a["event"]["logsource"]["product"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("fd435618-981e-4a7c-81f8-f78ce480d616", "django"),
            ("19aefed0-ffd4-47dc-a7fc-f8b1425e84f9", "python"),
        ]
    );
}

/// SigmaHQ's sudo rule for CVE-2019-14287 tests sudo's own `USER` key (`#-1`, `#4294967295`);
/// the `ecs` pipeline maps it onto `user.target.name`, where the sudo decoder puts it.
#[test]
fn sigmahq_sudo_rule_through_the_ecs_pipeline() {
    let rules = path(
        "sigma",
        "rules-emerging-threats/2019/Exploits/CVE-2019-14287",
    );
    let lines = concat!(
        "Oct 11 22:14:15 host sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=#-1 ; COMMAND=/usr/bin/id\n",
        "Oct 11 22:14:20 host sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=#4294967295 ; COMMAND=/usr/bin/id\n",
        "Oct 11 22:14:25 host sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/id\n",
    );
    let args = [
        "scan",
        "--rules",
        rules.as_str(),
        "-o",
        "jsonl",
        "--reference-time",
        "2024-01-01T00:00:00Z",
        "-",
    ];
    let got = alerts(&siem(&args, Some(lines.as_bytes())));
    let targets: Vec<&str> = got
        .iter()
        .map(|a| {
            assert_eq!(a["rule"]["id"], "7fcc54cb-f27d-4684-84b7-436af096f858");
            a["event"]["user"]["target"]["name"].as_str().unwrap()
        })
        .collect();
    assert_eq!(targets, ["#-1", "#4294967295"]);
    // Without the pipeline the rule's `USER` is no field of these events.
    let mut bare = args.to_vec();
    bare.insert(3, "--no-default-pipelines");
    assert!(alerts(&siem(&bare, Some(lines.as_bytes()))).is_empty());
}

/// `--threads` changes nothing in what is printed: the same alerts, byte for byte, in the same
/// order, with the project's correlation rules (which need events in order) over loghub's
/// OpenSSH sample given four times (8,000 lines: several batches per worker).
#[test]
fn scan_output_does_not_depend_on_the_thread_count() {
    let rules = concat!(env!("CARGO_MANIFEST_DIR"), "/rules");
    let log = path("loghub", "OpenSSH/OpenSSH_2k.log");
    let run = |threads: &str| {
        let o = siem(
            &[
                "scan",
                "--rules",
                rules,
                "--reference-time",
                "2024-12-31T00:00:00Z",
                "-o",
                "jsonl",
                "--threads",
                threads,
                &log,
                &log,
                &log,
                &log,
            ],
            None,
        );
        assert!(o.status.success(), "{}", stderr(&o));
        o
    };
    let one = run("1");
    let parsed = alerts(&one);
    let correlations = parsed.iter().filter(|a| a["kind"] == "correlation").count();
    let detections = parsed.iter().filter(|a| a["kind"] == "detection").count();
    assert!(
        correlations > 0 && detections > 0,
        "{correlations} correlations, {detections} detections"
    );
    for threads in ["2", "3", "8"] {
        let other = run(threads);
        assert!(
            other.stdout == one.stdout,
            "--threads {threads} printed other alerts than --threads 1"
        );
    }
    let zero = siem(&["scan", "--rules", rules, "--threads", "0", &log], None);
    assert!(!zero.status.success());
    assert!(stderr(&zero).contains("at least 1"), "{}", stderr(&zero));
}
