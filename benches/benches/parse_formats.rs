//! Lines per second per core for each parser but RFC 3164 syslog (`parse_syslog`), on corpus
//! lines where the corpora hold the format, else on documentation examples or generated lines.
//!
//! `cargo bench -p siem-benches --bench parse_formats`
//!
//! Each benchmark parses a fixed batch of real lines through [`Parser::parse`] (what every
//! caller uses: UTF-8 check, format dispatch, event construction, logsource, dropping the
//! event) and reports the batch as `Throughput::Elements`, so criterion prints lines (events)
//! per second. Targets: Apache combined >= 1,000,000 lines/s, Windows evtx_dump JSON >=
//! 300,000 events/s.
//!
//! The time measured is the benchmark thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`), not wall
//! time, so the figures are per core even on a machine busy with other work; run on an idle
//! machine they agree with wall time.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use siem_benches::clock::cpu_iter;
use siem_core::event::PARSE_FAILURE_TAG;
use siem_core::parse::{Format, FormatSpec, ParseOptions, Parser};

fn lines(path: &Path) -> Vec<Vec<u8>> {
    std::fs::read(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

fn parser(format: FormatSpec) -> Parser {
    Parser::new(ParseOptions {
        format,
        reference_time: Some("2026-01-01T00:00:00Z".parse().unwrap()),
        ..ParseOptions::default()
    })
    .unwrap()
}

fn bench_batch(c: &mut Criterion, name: &str, parser: &Parser, batch: &[Vec<u8>]) {
    assert!(!batch.is_empty(), "{name}: no lines");
    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Elements(batch.len() as u64));
    group.bench_function(name, |b| {
        cpu_iter(b, || {
            for line in batch {
                black_box(parser.parse(black_box(line)));
            }
        })
    });
    group.finish();
}

/// The combined-format access lines of the CrowdSec web tests (well-formed requests only).
fn combined_lines() -> Vec<Vec<u8>> {
    let tests = siem_testkit::corpus("crowdsec-hub").join("tests");
    let mut out = Vec::new();
    for dir in [
        "nginx-http-sqli-probing",
        "nginx-http-xss-probing",
        "nginx-http-path-traversal",
        "nginx-http-generic-bf",
        "nginx-http-sensitive-files",
        "apache2-http-sensitive-files",
        "nginx_http-logs",
    ] {
        for entry in std::fs::read_dir(tests.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "log") {
                out.extend(lines(&path).into_iter().filter(|l| {
                    // Access lines only (the nginx error lines also start with a digit).
                    l.first().is_some_and(u8::is_ascii_digit)
                        && l.get(4) != Some(&b'/')
                        && l.ends_with(b"\"")
                }));
            }
        }
    }
    out
}

fn windows_lines(limit: usize) -> Vec<Vec<u8>> {
    let root = siem_testkit::corpus("windows-evtx-json");
    // A mix of channels: Security logons and account changes, Sysmon, System, Application.
    // (PowerShell script blocks, tens of kilobytes each, are benchmarked on their own.)
    let files = [
        "deepbluecli/evtx/smb-password-guessing-security.jsonl",
        "deepbluecli/evtx/metasploit-sysmon.jsonl",
        "deepbluecli/evtx/sliver-sysmon.jsonl",
        "deepbluecli/evtx/metasploit-psexec-native-target-system.jsonl",
        "deepbluecli/evtx/many-events-application.jsonl",
        "deepbluecli/evtx/new-user-security.jsonl",
        "deepbluecli/evtx/mimikatz-privesc-hashdump.jsonl",
    ];
    let mut per_file: Vec<Vec<Vec<u8>>> = files.iter().map(|f| lines(&root.join(f))).collect();
    let mut out = Vec::new();
    // Round-robin so the batch is not one file's events.
    while out.len() < limit && per_file.iter().any(|f| !f.is_empty()) {
        for f in per_file.iter_mut() {
            if let Some(line) = f.pop() {
                out.push(line);
            }
        }
    }
    out.truncate(limit);
    out
}

fn formats(c: &mut Criterion) {
    let combined = combined_lines();
    bench_batch(c, "apache_combined", &parser(FormatSpec::Apache), &combined);
    bench_batch(
        c,
        "auto/apache_combined",
        &parser(FormatSpec::Auto),
        &combined,
    );

    let windows = windows_lines(2000);
    bench_batch(c, "windows_evtx_json", &parser(FormatSpec::Json), &windows);
    bench_batch(
        c,
        "auto/windows_evtx_json",
        &parser(FormatSpec::Auto),
        &windows,
    );

    // Yardsticks on the same batch: serde_json into a `serde_json::Value` only (no event), and
    // serde_json into an `Event` through the generic ECS path (`Event::from_json`).
    let mut group = c.benchmark_group("yardstick");
    group.throughput(Throughput::Elements(windows.len() as u64));
    group.bench_function("serde_json_value/windows_evtx_json", |b| {
        cpu_iter(b, || {
            for line in &windows {
                black_box(serde_json::from_slice::<serde_json::Value>(black_box(line)).unwrap());
            }
        })
    });
    group.bench_function("event_from_json/windows_evtx_json", |b| {
        cpu_iter(b, || {
            for line in &windows {
                let text = std::str::from_utf8(black_box(line)).unwrap();
                black_box(siem_core::Event::from_json(text).unwrap());
            }
        })
    });

    // Floor: building the same events field by field from ready-made keys and values (what any
    // parser producing these events pays for the Event map, its allocations and its drop).
    for (name, format, batch) in [
        ("event_build/apache_combined", FormatSpec::Apache, &combined),
        ("event_build/windows_evtx_json", FormatSpec::Json, &windows),
    ] {
        let p = parser(format);
        let prepared: Vec<Vec<(compact_str::CompactString, siem_core::Value)>> = batch
            .iter()
            .map(|l| {
                p.parse(l)
                    .event
                    .fields()
                    .map(|(k, v)| (compact_str::CompactString::from(k), v.clone()))
                    .collect()
            })
            .collect();
        group.throughput(Throughput::Elements(batch.len() as u64));
        group.bench_function(name, |b| {
            cpu_iter(b, || {
                for fields in &prepared {
                    let mut event = siem_core::Event::with_capacity(fields.len());
                    for (k, v) in fields {
                        event.insert(k.clone(), v.clone());
                    }
                    black_box(event);
                }
            })
        });
    }
    group.finish();

    let powershell = lines(&siem_testkit::corpus_file(
        "windows-evtx-json",
        "deepbluecli/evtx/Powershell-Invoke-Obfuscation-many.jsonl",
    ));
    bench_batch(
        c,
        "windows_evtx_json_powershell_4104",
        &parser(FormatSpec::Json),
        &powershell,
    );

    let otrf = lines(&siem_testkit::corpus("otrf-security-datasets").join(
        "datasets/atomic/windows/credential_access/host/covenant_dcsync_dcerpc_drsuapi_DsGetNCChanges_2020-08-05020926.json",
    ));
    bench_batch(c, "windows_flat_json", &parser(FormatSpec::Json), &otrf);

    let apache_error = lines(&siem_testkit::corpus("loghub").join("Apache/Apache_2k.log"));
    bench_batch(
        c,
        "apache_error",
        &parser(FormatSpec::Apache),
        &apache_error,
    );

    let nginx_error = lines(&siem_testkit::corpus_file(
        "crowdsec-hub",
        "tests/nginx_req_limit_exceeded/nginx_req_limit_exceeded.log",
    ));
    bench_batch(c, "nginx_error", &parser(FormatSpec::Nginx), &nginx_error);

    let iptables = lines(&siem_testkit::corpus_file(
        "crowdsec-hub",
        "tests/iptables-scan-multi-port/iptables-scan-multi-port.log",
    ));
    bench_batch(c, "kv_netfilter", &parser(FormatSpec::Kv), &iptables);

    // The corpora hold no CEF/LEEF/logfmt; these are the vendor documentation's examples.
    let cef: Vec<Vec<u8>> = vec![
        b"CEF:0|Security|threatmanager|1.0|100|worm successfully stopped|10|src=10.0.0.1 dst=2.1.2.2 spt=1232".to_vec(),
        br"CEF:0|security|threatmanager|1.0|100|detected a \| in message|10|src=10.0.0.1 act=blocked a \| dst=1.1.1.1".to_vec(),
        b"CEF:0|Trend Micro|Deep Security Agent|10.0|4000000|Eicar_test_file|6|cn1=1 cn1Label=Host ID dvchost=hostname cn2=205 cn2Label=Quarantine File Size filePath=C:\\Users\\trend\\Desktop\\eicar.exe act=Delete msg=Realtime TrendMicroDsMalwareTarget=N/A duser=administrator".to_vec(),
    ];
    bench_batch(c, "cef", &parser(FormatSpec::Cef), &cef);
    let leef: Vec<Vec<u8>> = vec![
        b"LEEF:1.0|Microsoft|MSExchange|4.0 SP1|15345|src=192.0.2.0\tdst=172.50.123.1\tsev=5\tcat=anomaly\tsrcPort=81\tdstPort=21\tusrName=joe.black".to_vec(),
        b"LEEF:2.0|Lancope|StealthWatch|1.0|41|^|src=10.0.1.8^dst=10.0.0.5^sev=5^srcPort=81^dstPort=21".to_vec(),
    ];
    bench_batch(c, "leef", &parser(FormatSpec::Leef), &leef);
    let logfmt: Vec<Vec<u8>> = vec![
        br#"time=2024-05-01T10:00:00Z level=warn msg="disk \"sda\" full" component=store pct=97"#.to_vec(),
        br#"ts=2024-05-01T10:00:01.5Z level=info msg="request served" method=GET path=/api/v1/items status=200 duration=3.2ms"#.to_vec(),
    ];
    bench_batch(c, "kv_logfmt", &parser(FormatSpec::Kv), &logfmt);

    let grok = parser(FormatSpec::Grok("%{IPORHOST:source.ip} %{USER:ident} %{USER:user.name} \\[%{HTTPDATE:@timestamp}\\] \"%{WORD:http.request.method} %{NOTSPACE:url.original} HTTP/%{NUMBER:http.version}\" %{INT:http.response.status_code:int} %{INT:http.response.body.bytes:int}".into()));
    bench_batch(c, "grok_common_log", &grok, &combined);

    let python: Vec<Vec<u8>> = vec![
        br#"{"asctime":"2024-05-01 10:00:00,123","levelname":"ERROR","name":"django.request","message":"Internal Server Error: /admin/","pathname":"/srv/app/views.py","lineno":42,"funcName":"get","status_code":500,"request":"<WSGIRequest: GET '/admin/'>"}"#.to_vec(),
    ];
    bench_batch(c, "json_python", &parser(FormatSpec::Json), &python);

    let syslog = parser(FormatSpec::Syslog);
    let rfc5424 = generated(&syslog, Format::Rfc5424, rfc5424);
    bench_batch(c, "syslog_rfc5424", &syslog, &rfc5424);
    let json = parser(FormatSpec::Json);
    let ecs = generated(&json, Format::Json, ecs_json);
    bench_batch(c, "json_ecs", &json, &ecs);
}

/// Lines of a format the corpora hold none of, generated in its documented shape with
/// addresses, users, ports and times varied per line: 1,000 of them, each checked to parse as
/// `format` without a parse-failure tag before anything is timed.
fn generated(parser: &Parser, format: Format, line: fn(usize) -> String) -> Vec<Vec<u8>> {
    let lines: Vec<Vec<u8>> = (0..1_000).map(|i| line(i).into_bytes()).collect();
    for l in &lines {
        let parsed = parser.parse(l);
        let shown = String::from_utf8_lossy(l);
        assert_eq!(parsed.format, format, "{shown}");
        assert!(!parsed.event.has_tag(PARSE_FAILURE_TAG), "{shown}");
    }
    lines
}

fn ip(i: usize) -> String {
    format!("203.0.{}.{}", (i / 250) % 250 + 1, i % 250 + 1)
}

const USERS: [&str; 5] = ["alice", "bob", "carol", "dave", "root"];
/// RFC 5424 with structured data (the sshd message read by its decoder).
fn rfc5424(i: usize) -> String {
    format!(
        "<{}>1 2026-03-{:02}T{:02}:{:02}:{:02}.{:03}Z host{}.example.com sshd {} ID{} [origin ip=\"{}\"][meta sequenceId=\"{i}\"] Failed password for {} from {} port {} ssh2",
        32 + i % 8,
        i % 28 + 1,
        i % 24,
        i % 60,
        (i * 7) % 60,
        i % 1000,
        i % 10,
        1000 + i,
        i % 50,
        ip(i),
        USERS[i % USERS.len()],
        ip(i + 7),
        1024 + i,
    )
}

/// An ECS document as an application that logs ECS JSON writes it.
fn ecs_json(i: usize) -> String {
    format!(
        r#"{{"@timestamp":"2026-03-{:02}T{:02}:{:02}:{:02}.{:03}Z","event":{{"category":["authentication"],"action":"user_login","outcome":"failure"}},"source":{{"ip":"{}","port":{}}},"user":{{"name":"{}"}},"host":{{"name":"web-{}"}},"message":"login failed {i}"}}"#,
        i % 28 + 1,
        i % 24,
        i % 60,
        (i * 7) % 60,
        i % 1000,
        ip(i),
        1024 + i,
        USERS[i % USERS.len()],
        i % 10,
    )
}

criterion_group!(benches, formats);
criterion_main!(benches);
