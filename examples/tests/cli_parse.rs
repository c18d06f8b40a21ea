//! End-to-end tests of `siem parse`: the built binary run on real corpus files.

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

fn events(output: &Output) -> Vec<serde_json::Value> {
    String::from_utf8(output.stdout.clone())
        .expect("stdout is UTF-8")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn nginx_corpus_file() {
    let file =
        siem_testkit::corpus_file("crowdsec-hub", "tests/nginx_http-logs/nginx_http-logs.log");
    let out = siem(
        &[
            "parse",
            "--format",
            "nginx",
            "--show-format",
            file.to_str().unwrap(),
        ],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let events = events(&out);
    assert_eq!(events.len(), 9);
    assert_eq!(events[0]["source"]["ip"], "192.168.1.1");
    assert_eq!(events[0]["http"]["response"]["status_code"], 404);
    assert_eq!(events[0]["@timestamp"], "2020-01-04T07:25:02Z");
    assert_eq!(events[0]["siem"]["format"], "nginx_access");
    assert_eq!(events[0]["logsource"]["category"], "webserver");
    assert_eq!(events[8]["siem"]["format"], "nginx_error");
    assert_eq!(events[8]["log"]["level"], "error");
    assert!(
        stderr(&out).contains("9 lines read, 0 parse failures, 0 lines cut"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn windows_json_lines_in_auto_mode() {
    let file = siem_testkit::corpus_file(
        "windows-evtx-json",
        "deepbluecli/evtx/smb-password-guessing-security.jsonl",
    );
    let out = siem(&["parse", "--show-format", file.to_str().unwrap()], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let events = events(&out);
    assert_eq!(events.len(), 3561);
    assert!(
        events
            .iter()
            .all(|e| e["siem"]["format"] == "json" && e["winlog"]["event_id"] == 4625)
    );
    assert!(
        events
            .iter()
            .all(|e| e["logsource"]["product"] == "windows"
                && e["logsource"]["service"] == "security")
    );
    let administrator = events
        .iter()
        .filter(|e| e["winlog"]["event_data"]["TargetUserName"] == "Administrator")
        .count();
    assert!(administrator >= 3559, "{administrator}");
    assert!(stderr(&out).contains("3561 lines read, 0 parse failures"));
}

#[test]
fn stdin_with_bad_bytes_long_lines_and_blank_lines() {
    let mut input = Vec::new();
    input.extend_from_slice(b"level=info msg=\"ok\" port=80\r\n");
    input.extend_from_slice(b"\n   \n");
    input.extend_from_slice(b"caf\xe9 au lait\n");
    input.extend_from_slice(format!("k=v other={}\n", "x".repeat(200)).as_bytes());
    input.extend_from_slice(b"no newline at the end");
    let out = siem(
        &[
            "parse",
            "--max-line-bytes",
            "64",
            "--logsource",
            "product=test",
            "-",
        ],
        Some(&input),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let events = events(&out);
    assert_eq!(events.len(), 4);
    assert_eq!(events[0]["log"]["level"], "info");
    assert_eq!(events[0]["logsource"]["product"], "test");
    assert_eq!(events[1]["event"]["original"], "caf\u{FFFD} au lait");
    let tags = |e: &serde_json::Value| e["tags"].as_array().cloned().unwrap_or_default();
    assert!(tags(&events[1]).contains(&"_siem_invalid_utf8".into()));
    assert!(tags(&events[2]).contains(&"_siem_line_truncated".into()));
    assert_eq!(events[2]["event"]["original"].as_str().unwrap().len(), 64);
    assert!(
        events[2]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("bytes dropped")
    );
    assert!(tags(&events[3]).contains(&"_siem_parse_failure".into()));
    let err = stderr(&out);
    assert!(err.contains("6 lines read"), "{err}");
    assert!(err.contains("2 parse failures"), "{err}");
    assert!(err.contains("1 lines cut (146 bytes dropped)"), "{err}");
    assert!(err.contains("1 with invalid UTF-8"), "{err}");
    assert!(err.contains("2 blank lines skipped"), "{err}");
}

#[test]
fn grok_and_timezone_on_the_command_line() {
    let input = b"ERROR 2024-05-01 10:00:00,5 views Internal Server Error: /admin/\n";
    let out = siem(
        &[
            "parse",
            "--format",
            "grok:%{LOGLEVEL:log.level} %{TIMESTAMP_ISO8601:@timestamp} %{WORD:log.logger} %{GREEDYDATA:message}",
            "--timezone",
            "Europe/Paris",
            "--logsource",
            "product=django,category=application",
            "-",
        ],
        Some(input),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let events = events(&out);
    assert_eq!(events[0]["@timestamp"], "2024-05-01T08:00:00.500Z");
    assert_eq!(events[0]["log"]["logger"], "views");
    assert_eq!(events[0]["logsource"]["product"], "django");
}

#[test]
fn usage_errors() {
    let out = siem(&["parse", "--format", "xml", "-"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("unknown format"), "{}", stderr(&out));
    let out = siem(&["parse", "--format", "grok:%{NOPE}", "-"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unknown grok pattern"),
        "{}",
        stderr(&out)
    );
    let out = siem(&["parse", "--timezone", "Mars/Olympus", "-"], None);
    assert_eq!(out.status.code(), Some(2));
    let out = siem(&["parse", "/nonexistent/file.log"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("cannot open"), "{}", stderr(&out));
}
