//! Lines per second per core for the parsers `parse_syslog` and `parse_formats` do not cover:
//! RFC 5424 syslog, nginx and Apache error logs, CEF, LEEF, key=value (iptables and
//! FortiGate-style), grok (the Django verbose format), ECS JSON and Python/Django JSON records.
//!
//! `cargo bench -p siem-benches --bench parse_others`
//!
//! The public corpora hold few or no lines of these formats, so each batch is 1,000 lines built
//! here in the shape the format's documentation (and the conformance suite's cases) give, with
//! addresses, users, ports, times and messages varied per line so that no two lines are alike.
//! Before timing, every line of a batch is parsed once and must come out as the format named
//! (no parse-failure tag), so a parser that stopped reading its format fails the bench instead of
//! timing the failure path. Same method as `parse_formats`: `Parser::parse` per line, the batch
//! as `Throughput::Elements`, the thread's CPU time.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use siem_benches::clock::cpu_iter;
use siem_core::event::PARSE_FAILURE_TAG;
use siem_core::parse::{Format, FormatSpec, ParseOptions, Parser};

const LINES: usize = 1_000;

/// The Django verbose format (`{levelname} {asctime} {module} {message}`) as grok, the issue's
/// own example.
const DJANGO_GROK: &str = "%{LOGLEVEL:log.level} %{TIMESTAMP_ISO8601:@timestamp} %{WORD:log.logger} %{GREEDYDATA:message}";

fn parser(format: FormatSpec) -> Parser {
    Parser::new(ParseOptions {
        format,
        reference_time: Some("2026-01-01T00:00:00Z".parse().unwrap()),
        ..ParseOptions::default()
    })
    .unwrap()
}

/// `LINES` lines from `line(i)`.
fn batch(line: impl Fn(usize) -> String) -> Vec<Vec<u8>> {
    (0..LINES).map(|i| line(i).into_bytes()).collect()
}

fn ip(i: usize) -> String {
    format!("203.0.{}.{}", (i / 250) % 250 + 1, i % 250 + 1)
}

const USERS: [&str; 5] = ["alice", "bob", "carol", "dave", "root"];
const PATHS: [&str; 4] = ["/login", "/admin/", "/api/v1/items", "/static/app.js"];

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

fn nginx_error(i: usize) -> String {
    format!(
        "2026/03/{:02} {:02}:{:02}:{:02} [error] {}#0: *{i} open() \"/var/www/html{}\" failed (2: No such file or directory), client: {}, server: example.com, request: \"GET {} HTTP/1.1\", host: \"example.com\"",
        i % 28 + 1,
        i % 24,
        i % 60,
        (i * 7) % 60,
        1000 + i % 7,
        PATHS[i % PATHS.len()],
        ip(i),
        PATHS[i % PATHS.len()],
    )
}

fn apache_error(i: usize) -> String {
    format!(
        "[Sat Mar {:02} {:02}:{:02}:{:02}.{:06} 2026] [auth_basic:error] [pid {}:tid {}] [client {}:{}] AH01618: user {} not found: {}",
        i % 28 + 1,
        i % 24,
        i % 60,
        (i * 7) % 60,
        i * 37 % 1_000_000,
        2000 + i % 50,
        140_000_000 + i,
        ip(i),
        40000 + i % 20000,
        USERS[i % USERS.len()],
        PATHS[i % PATHS.len()],
    )
}

fn cef(i: usize) -> String {
    format!(
        "CEF:0|Security|threatmanager|1.0|{}|worm successfully stopped|{}|src={} dst={} spt={} dpt=445 suser={} act=blocked msg=detected a \\= in packet {i}",
        100 + i % 20,
        i % 11,
        ip(i),
        ip(i + 3),
        1024 + i,
        USERS[i % USERS.len()],
    )
}

fn leef(i: usize) -> String {
    format!(
        "LEEF:1.0|Microsoft|MSExchange|4.0 SP1|{}|src={}\tdst={}\tsev={}\tcat=anomaly\tsrcPort={}\tdstPort=21\tusrName={}",
        15000 + i % 500,
        ip(i),
        ip(i + 5),
        i % 10,
        1024 + i,
        USERS[i % USERS.len()],
    )
}

fn iptables(i: usize) -> String {
    format!(
        "IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC={} DST=10.0.0.5 LEN=60 TOS=0x00 PREC=0x00 TTL={} ID={} DF PROTO=TCP SPT={} DPT={} WINDOW=29200 RES=0x00 SYN URGP=0",
        ip(i),
        40 + i % 24,
        i * 13 % 65536,
        1024 + i,
        [22, 23, 80, 443, 3389][i % 5],
    )
}

fn fortigate(i: usize) -> String {
    format!(
        "date=2026-03-{:02} time={:02}:{:02}:{:02} devname=\"FGT60E\" devid=\"FGT60E000000{}\" logid=\"0000000013\" type=\"traffic\" subtype=\"forward\" level=\"notice\" srcip={} srcport={} srcintf=\"port1\" dstip=10.0.0.{} dstport={} dstintf=\"wan1\" proto=6 action=\"deny\" policyid={} service=\"HTTPS\" sentbyte={} rcvdbyte=0",
        i % 28 + 1,
        i % 24,
        i % 60,
        (i * 7) % 60,
        i % 10,
        ip(i),
        1024 + i,
        i % 250 + 1,
        [22, 80, 443][i % 3],
        i % 40,
        i * 61 % 100_000,
    )
}

fn django_verbose(i: usize) -> String {
    format!(
        "{} 2026-03-{:02} {:02}:{:02}:{:02},{:03} {} Login failed for user {} from {}",
        ["WARNING", "ERROR", "INFO"][i % 3],
        i % 28 + 1,
        i % 24,
        i % 60,
        (i * 7) % 60,
        i % 1000,
        ["views", "auth", "middleware"][i % 3],
        USERS[i % USERS.len()],
        ip(i),
    )
}

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

fn django_json(i: usize) -> String {
    format!(
        r#"{{"asctime":"2026-03-{:02} {:02}:{:02}:{:02},{:03}","levelname":"WARNING","name":"django.security.SuspiciousOperation","module":"base","funcName":"get_response","lineno":{},"process":{},"thread":{},"message":"Invalid HTTP_HOST header: 'evil-{i}.example'. You may need to add it to ALLOWED_HOSTS.","client_ip":"{}"}}"#,
        i % 28 + 1,
        i % 24,
        i % 60,
        (i * 7) % 60,
        i % 1000,
        100 + i % 400,
        2000 + i % 50,
        140_000_000 + i,
        ip(i),
    )
}

/// Times `lines` through a parser for `spec`, after checking that each comes out as `format`.
fn bench(c: &mut Criterion, name: &str, spec: FormatSpec, format: Format, lines: &[Vec<u8>]) {
    let parser = parser(spec);
    for line in lines {
        let parsed = parser.parse(line);
        assert_eq!(
            parsed.format,
            format,
            "{name}: {}",
            String::from_utf8_lossy(line)
        );
        assert!(
            !parsed.event.has_tag(PARSE_FAILURE_TAG),
            "{name}: {}",
            String::from_utf8_lossy(line)
        );
    }
    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Elements(lines.len() as u64));
    group.bench_function(name, |b| {
        cpu_iter(b, || {
            for line in lines {
                black_box(parser.parse(black_box(line)));
            }
        })
    });
    group.finish();
}

/// A case: its name, the `--format` it is parsed with, the format each line must come out as,
/// and the line generator.
type Case = (&'static str, FormatSpec, Format, fn(usize) -> String);

fn others(c: &mut Criterion) {
    let cases: [Case; 10] = [
        (
            "syslog_rfc5424",
            FormatSpec::Syslog,
            Format::Rfc5424,
            rfc5424,
        ),
        (
            "nginx_error",
            FormatSpec::Nginx,
            Format::NginxError,
            nginx_error,
        ),
        (
            "apache_error",
            FormatSpec::Apache,
            Format::ApacheError,
            apache_error,
        ),
        ("cef", FormatSpec::Cef, Format::Cef, cef),
        ("leef", FormatSpec::Leef, Format::Leef, leef),
        ("kv_iptables", FormatSpec::Kv, Format::Kv, iptables),
        ("kv_fortigate", FormatSpec::Kv, Format::Kv, fortigate),
        (
            "grok_django_verbose",
            FormatSpec::Grok(DJANGO_GROK.to_string()),
            Format::Grok,
            django_verbose,
        ),
        ("json_ecs", FormatSpec::Json, Format::Json, ecs_json),
        ("json_django", FormatSpec::Json, Format::Json, django_json),
    ];
    for (name, spec, format, line) in cases {
        bench(c, name, spec, format, &batch(line));
    }
}

criterion_group!(benches, others);
criterion_main!(benches);
