//! Syslog parsing with the program decoders, in lines per second, on real sshd / auth lines:
//! loghub's OpenSSH sample (2000 lines), the sshd lines of the CrowdSec hub tests and fail2ban's
//! sshd sample log, all read from the corpora at start.
//!
//! The same lines also go through `syslog_loose` (the parser Vector uses), so the two figures
//! can be compared: `syslog_loose` splits the header only, while siem also builds the ECS
//! event (owned strings, typed fields) and runs the sshd / PAM decoders on the message.
//!
//! `Parser::parse` (what `siem scan` and every binding call: UTF-8 check, format detection,
//! the payload decoders, logsource) is measured on the same lines with `--format syslog` and
//! `--format auto`.
//!
//! The time measured is the benchmark thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`), so the
//! figures are per core even on a machine busy with other work.
//!
//! Run: `cargo bench -p siem-benches --bench parse_syslog`

use std::hint::black_box;

use chrono::{FixedOffset, TimeZone, Utc};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use siem_benches::clock::cpu_iter;
use siem_core::parse::{FormatSpec, ParseOptions, Parser, syslog};

/// The benchmark lines, in corpus order.
fn lines() -> Vec<String> {
    let mut lines = Vec::new();
    let loghub = siem_testkit::corpus_file("loghub", "OpenSSH/OpenSSH_2k.log");
    lines.extend(
        std::fs::read_to_string(loghub)
            .expect("loghub OpenSSH")
            .lines()
            .map(str::to_string),
    );
    let crowdsec = siem_testkit::corpus("crowdsec-hub").join("tests");
    for test in [
        "sshd-logs",
        "ssh-bf",
        "ssh-slow-bf",
        "ssh-time-based-bf",
        "sshd-invalid-bf",
        "sshd-success-logs",
        "sshd-bad-keyexchange-bf",
    ] {
        for entry in std::fs::read_dir(crowdsec.join(test)).expect("crowdsec test dir") {
            let path = entry.expect("dir entry").path();
            if path.extension().is_some_and(|e| e == "log") {
                let text = std::fs::read_to_string(&path).expect("crowdsec log");
                lines.extend(
                    text.lines()
                        .filter(|l| !l.trim().is_empty())
                        .map(str::to_string),
                );
            }
        }
    }
    let fail2ban = siem_testkit::corpus_file("fail2ban", "fail2ban/tests/files/logs/sshd");
    let text = std::fs::read_to_string(fail2ban).expect("fail2ban sshd");
    lines.extend(
        text.lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(str::to_string),
    );
    lines
}

fn bench(c: &mut Criterion) {
    let lines = lines();
    let options = ParseOptions::default();
    let now = Utc.with_ymd_and_hms(2024, 6, 1, 0, 0, 0).unwrap();
    let parsed = lines
        .iter()
        .filter(|l| syslog::parse(l, &options, now).is_some())
        .count();
    let decoded = lines
        .iter()
        .filter_map(|l| syslog::parse(l, &options, now))
        .filter(|p| p.event.get("event.action").is_some())
        .count();
    eprintln!(
        "{} lines: {parsed} read as syslog, {decoded} recognised by a program decoder",
        lines.len()
    );

    let mut group = c.benchmark_group("parse_syslog");
    group.throughput(Throughput::Elements(lines.len() as u64));
    group.bench_function("siem syslog + sshd decoders", |b| {
        cpu_iter(b, || {
            for line in &lines {
                black_box(syslog::parse(black_box(line), &options, now));
            }
        })
    });
    for (name, format) in [
        ("Parser::parse --format syslog", FormatSpec::Syslog),
        ("Parser::parse --format auto", FormatSpec::Auto),
    ] {
        let parser = Parser::new(ParseOptions {
            format,
            reference_time: Some(now),
            ..ParseOptions::default()
        })
        .unwrap();
        group.bench_function(name, |b| {
            cpu_iter(b, || {
                for line in &lines {
                    black_box(parser.parse(black_box(line.as_bytes())));
                }
            })
        });
    }
    let utc = FixedOffset::east_opt(0);
    group.bench_function("syslog_loose (header only)", |b| {
        cpu_iter(b, || {
            for line in &lines {
                black_box(syslog_loose::parse_message_with_year_tz(
                    black_box(line),
                    |_| 2024,
                    utc,
                    syslog_loose::Variant::Either,
                ));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
