//! Ground truth for the non-syslog parsers, from public corpora (see docs/conformance.md):
//!
//! - CrowdSec hub `parser.assert` for `nginx_http-logs`, `nginx-http-malformed`,
//!   `nginx_req_limit_exceeded`, `apache2-logs`, `apache2-malformed`, `iptables-logs`: every
//!   assertion on a parsed field is mapped onto the ECS field siem writes and compared;
//! - every event of `windows-evtx-json/` (26,365, nested shape) and of
//!   `otrf-security-datasets/` (flat shape): Windows logsource, the channel / event id / time read
//!   by an independent reference (serde_json + chrono), each file's `MANIFEST.tsv` histogram, and
//!   the category SigmaHQ's `tests/thor.yml` gives for (service, EventID);
//! - `sigma/regression_data/**/*.json` (read as JSON streams): each rule's logsource is met by at
//!   least `match_count` events;
//! - `loghub/Apache` (an Apache error log) against its structured CSV.
//!
//! Each corpus must pass at least 99 % of its checks; the misses are printed (run with
//! `--nocapture`) and listed with reasons in docs/conformance.md.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDateTime, Utc};
use siem_core::event::{Event, PARSE_FAILURE_TAG, Value};
use siem_core::parse::{Format, FormatSpec, ParseOptions, Parser, json};

/// Pass/fail counts for one corpus, with the first misses for the report.
struct Tally {
    corpus: &'static str,
    checks: usize,
    passed: usize,
    skipped: usize,
    skipped_why: BTreeMap<String, usize>,
    misses: Vec<String>,
}

impl Tally {
    fn new(corpus: &'static str) -> Self {
        Tally {
            corpus,
            checks: 0,
            passed: 0,
            skipped: 0,
            skipped_why: BTreeMap::new(),
            misses: Vec::new(),
        }
    }

    fn check(&mut self, ok: bool, what: impl FnOnce() -> String) {
        self.checks += 1;
        if ok {
            self.passed += 1;
        } else {
            self.misses.push(what());
        }
    }

    fn skip(&mut self, why: String) {
        self.skipped += 1;
        *self.skipped_why.entry(why).or_default() += 1;
    }

    fn finish(self) {
        let rate = if self.checks == 0 {
            0.0
        } else {
            self.passed as f64 * 100.0 / self.checks as f64
        };
        eprintln!(
            "CONFORMANCE {}: {}/{} checks passed ({rate:.2} %), {} not applicable",
            self.corpus, self.passed, self.checks, self.skipped
        );
        if !self.skipped_why.is_empty() {
            eprintln!("  not applicable: {:?}", self.skipped_why);
        }
        for miss in self.misses.iter().take(40) {
            eprintln!("  MISS {}: {miss}", self.corpus);
        }
        if self.misses.len() > 40 {
            eprintln!("  ... {} more", self.misses.len() - 40);
        }
        assert!(self.checks > 0, "{}: nothing was checked", self.corpus);
        assert!(
            rate >= 99.0,
            "{}: pass rate {rate:.2} % is under 99 %",
            self.corpus
        );
    }
}

fn parser(format: FormatSpec) -> Parser {
    Parser::new(ParseOptions {
        format,
        timezone: chrono_tz::UTC,
        reference_time: Some("2026-01-01T00:00:00Z".parse().unwrap()),
        ..ParseOptions::default()
    })
    .unwrap()
}

fn text(event: &Event, field: &str) -> Option<String> {
    event.get(field).map(|v| v.to_text().into_owned())
}

// ---------------------------------------------------------------------------------------------
// CrowdSec parser.assert

/// One `results[stage][parser][i].Evt.<Kind>["key"] == "value"` assertion.
#[derive(Debug)]
struct Assertion {
    stage: String,
    parser: String,
    index: usize,
    kind: String,
    key: String,
    expected: String,
}

fn read_assertions(path: &Path) -> (Vec<Assertion>, Vec<(String, usize, bool)>) {
    let re = regex::Regex::new(
        r#"^results\["(s0[0-2]-[a-z]+)"\]\["([^"]+)"\]\[(\d+)\]\.Evt\.(Parsed|Meta|Unmarshaled\["iptables"\])\["([^"]+)"\] == "(.*)"$"#,
    )
    .unwrap();
    let success = regex::Regex::new(
        r#"^results\["(s0[0-2]-[a-z]+)"\]\["[^"]+"\]\[(\d+)\]\.Success == (true|false)$"#,
    )
    .unwrap();
    let text = std::fs::read_to_string(path).unwrap();
    let mut out = Vec::new();
    let mut successes = Vec::new();
    for line in text.lines() {
        if let Some(c) = re.captures(line) {
            // The expected value is a Go/JSON string literal.
            let expected: String = serde_json::from_str(&format!("\"{}\"", &c[6])).unwrap();
            out.push(Assertion {
                stage: c[1].to_string(),
                parser: c[2].to_string(),
                index: c[3].parse().unwrap(),
                kind: c[4].to_string(),
                key: c[5].to_string(),
                expected,
            });
        } else if let Some(c) = success.captures(line) {
            successes.push((c[1].to_string(), c[2].parse().unwrap(), &c[3] == "true"));
        }
    }
    (out, successes)
}

/// The reference reading of a CrowdSec time string, by chrono, independent of siem's parsers.
fn reference_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_str(s, "%d/%b/%Y:%H:%M:%S %z")
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(s, "%a %b %d %H:%M:%S%.f %Y")
                .ok()
                .map(|n| n.and_utc())
        })
        .or_else(|| {
            NaiveDateTime::parse_from_str(s, "%Y/%m/%d %H:%M:%S")
                .ok()
                .map(|n| n.and_utc())
        })
        .or_else(|| {
            DateTime::parse_from_rfc3339(s)
                .ok()
                .map(|t| t.with_timezone(&Utc))
        })
}

enum Actual {
    /// The CrowdSec key has no counterpart in siem's output (enrichment, bookkeeping, or a
    /// syslog-header field that the syslog parser owns).
    NotApplicable,
    /// The value siem wrote (`None`: field absent).
    Value(Option<String>),
    /// A boolean judgement made directly.
    Holds(bool),
}

/// Maps a CrowdSec field onto what siem wrote.
fn crowdsec_actual(event: &Event, kind: &str, key: &str, expected: &str) -> Actual {
    let dash = |v: Option<String>| Actual::Value(Some(v.unwrap_or_else(|| "-".to_string())));
    let ip = || text(event, "source.ip").or_else(|| text(event, "source.address"));
    let is_error = event
        .get("event.type")
        .is_some_and(|t| t.to_text().contains("error"));
    if kind.starts_with("Unmarshaled") {
        let field = match key {
            "IN" => "iptables.input_device",
            "OUT" => "iptables.output_device",
            "SRC" => "source.ip",
            "DST" => "destination.ip",
            "SPT" => "source.port",
            "DPT" => "destination.port",
            "PROTO" => {
                return Actual::Value(
                    text(event, "network.transport").map(|t| t.to_ascii_uppercase()),
                );
            }
            "LEN" => return Actual::Value(last_len(event)),
            "TTL" => "iptables.ttl",
            "ID" => "iptables.id",
            "TOS" => "iptables.tos",
            "PREC" => "iptables.precedence_bits",
            "WINDOW" => "iptables.tcp.window",
            "RES" => "iptables.tcp.reserved_bits",
            "URGP" => "iptables.tcp.urgp",
            "MAC" => "iptables.mac",
            _ => return Actual::NotApplicable,
        };
        let value = text(event, field);
        // CrowdSec writes an empty string for `OUT=`; siem leaves the field out.
        return Actual::Value(if expected.is_empty() && value.is_none() {
            Some(String::new())
        } else {
            value
        });
    }
    match (kind, key) {
        // Syslog header, datasource bookkeeping and enrichers siem does not have.
        (_, "logsource" | "machine" | "datasource_path" | "datasource_type") => {
            Actual::NotApplicable
        }
        ("Parsed", "timestamp") if event.get("iptables.length").is_some() => Actual::NotApplicable,
        ("Parsed", "program" | "message") if event.get("iptables.length").is_some() => {
            Actual::NotApplicable
        }
        (_, "request_path") => {
            Actual::Value(text(event, "url.path").or_else(|| text(event, "url.original")))
        }
        (
            _,
            "file_dir" | "file_ext" | "file_frag" | "file_name" | "static_ressource"
            | "impact_completion" | "http_args" | "http_args_len" | "ident",
        ) => Actual::NotApplicable,
        ("Meta", "sub_type") => match expected {
            "auth_fail" => Actual::Holds(
                event.get_str("event.outcome") == Some("failure")
                    && event.get("user.name").is_some(),
            ),
            // Message classes siem does not name (the message text is kept).
            _ => Actual::NotApplicable,
        },
        ("Parsed", "program") => Actual::Value(event.logsource.service.as_deref().map(|s| {
            if s == "apache" {
                "apache2".to_string()
            } else {
                s.to_string()
            }
        })),
        ("Parsed", "message") => {
            Actual::Value(event.message().or(event.original()).map(str::to_string))
        }
        (_, "remote_addr" | "clientip" | "client" | "source_ip") => Actual::Value(ip()),
        (_, "src_ip") => Actual::Value(text(event, "source.ip")),
        (_, "dst_ip") => Actual::Value(text(event, "destination.ip")),
        (_, "src_port") => Actual::Value(text(event, "source.port")),
        (_, "dst_port") => Actual::Value(text(event, "destination.port")),
        (_, "proto") => {
            Actual::Value(text(event, "network.transport").map(|t| t.to_ascii_uppercase()))
        }
        (_, "int_eth") => Actual::Value(text(event, "observer.ingress.interface.name")),
        (_, "length") => Actual::Value(last_len(event)),
        (_, "remote_user" | "auth") => dash(text(event, "user.name")),
        (_, "username") => Actual::Value(text(event, "user.name")),
        (_, "time_local" | "timestamp" | "time") => {
            let want = reference_time(expected);
            Actual::Holds(want.is_some() && want == event.timestamp)
        }
        (_, "verb" | "http_verb") => Actual::Value(text(event, "http.request.method")),
        (_, "request" | "rawrequest" | "http_path" | "target_uri") => {
            Actual::Value(text(event, "url.original"))
        }
        (_, "http_version" | "httpversion") => Actual::Value(text(event, "http.version")),
        (_, "status" | "response" | "http_status") => {
            Actual::Value(text(event, "http.response.status_code"))
        }
        (_, "body_bytes_sent" | "bytes") => Actual::Value(text(event, "http.response.body.bytes")),
        (_, "http_referer" | "referrer") => dash(text(event, "http.request.referrer")),
        (_, "http_user_agent") => dash(text(event, "user_agent.original")),
        (_, "target_fqdn") => {
            Actual::Value(text(event, "destination.domain").or_else(|| text(event, "url.domain")))
        }
        (_, "port") => Actual::Value(text(event, "destination.port")),
        (_, "loglevel") => Actual::Value(text(event, "log.level")),
        (_, "pid") => Actual::Value(text(event, "process.pid")),
        (_, "tid") => Actual::Value(text(event, "process.thread.id")),
        (_, "cid") => Actual::Value(text(event, "nginx.error.connection_id")),
        (_, "module") => Actual::Value(text(event, "apache.error.module")),
        (_, "errorcode") => Actual::Value(text(event, "error.code")),
        (_, "clientport") => Actual::Value(text(event, "source.port")),
        (_, "proxy_errorcode") => Actual::Value(text(event, "apache.error.os_error.code")),
        (_, "proxy_errormessage") => Actual::Value(text(event, "apache.error.os_error.message")),
        ("Meta", "log_type") => Actual::Holds(match expected {
            "http_access-log" => {
                !is_error && event.logsource.category.as_deref() == Some("webserver")
            }
            "http_error-log" => {
                is_error && event.logsource.category.as_deref() == Some("webserver")
            }
            "iptables_drop" => event.logsource.category.as_deref() == Some("firewall"),
            _ => false,
        }),
        ("Meta", "service") => Actual::Holds(match expected {
            "http" => event.logsource.category.as_deref() == Some("webserver"),
            transport => event.get_str("network.transport") == Some(transport),
        }),
        _ => Actual::NotApplicable,
    }
}

/// The length CrowdSec reports for netfilter lines: the last `LEN=` (the UDP length if any).
fn last_len(event: &Event) -> Option<String> {
    text(event, "iptables.udp.length")
        .or_else(|| text(event, "iptables.l4.length"))
        .or_else(|| text(event, "iptables.length"))
}

#[test]
fn crowdsec_access_error_and_iptables_logs() {
    let tests = siem_testkit::corpus("crowdsec-hub").join("tests");
    let mut tally = Tally::new("crowdsec-hub");
    for (dir, log, spec) in [
        ("nginx_http-logs", "nginx_http-logs.log", FormatSpec::Nginx),
        (
            "nginx-http-malformed",
            "nginx_http-logs.log",
            FormatSpec::Nginx,
        ),
        (
            "nginx_req_limit_exceeded",
            "nginx_req_limit_exceeded.log",
            FormatSpec::Nginx,
        ),
        ("apache2-logs", "apache2-logs.log", FormatSpec::Apache),
        ("apache2-malformed", "apache2-logs.log", FormatSpec::Apache),
        ("iptables-logs", "iptables-logs.log", FormatSpec::Auto),
    ] {
        let dir = tests.join(dir);
        let log_path = if dir.join(log).exists() {
            dir.join(log)
        } else {
            first_log(&dir)
        };
        let raw = std::fs::read(&log_path).unwrap();
        let lines: Vec<&[u8]> = raw
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .collect();
        let parser = parser(spec);
        let events: Vec<Event> = lines.iter().map(|l| parser.parse(l).event).collect();
        let (assertions, successes) = read_assertions(&dir.join("parser.assert"));
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        // Later stages only see the lines an earlier stage accepted: map their indexes back.
        let accepted: Vec<usize> = {
            let mut ok: BTreeMap<usize, bool> = (0..lines.len()).map(|i| (i, true)).collect();
            for (stage, index, success) in &successes {
                if stage == "s01-parse" {
                    ok.insert(*index, *success);
                }
            }
            ok.into_iter().filter(|(_, s)| *s).map(|(i, _)| i).collect()
        };
        for (stage, index, success) in successes {
            if stage != "s01-parse" {
                continue;
            }
            let Some(event) = events.get(index) else {
                continue;
            };
            if !success {
                // CrowdSec refuses it; siem is more lenient (documented), so no claim either way.
                tally.skip(format!("{name}[{index}] Success == false"));
                continue;
            }
            tally.check(!event.has_tag(PARSE_FAILURE_TAG), || {
                format!(
                    "{name}[{index}] expected to parse: {:?}",
                    event.get_str("error.message")
                )
            });
        }
        let mut seen = HashSet::new();
        for a in assertions {
            if a.stage == "s00-raw" {
                continue;
            }
            let line = if a.stage == "s01-parse" {
                Some(a.index)
            } else {
                accepted.get(a.index).copied()
            };
            let Some(line) = line else { continue };
            // The http-logs enricher splits `request` into path and arguments.
            let key = if a.parser == "crowdsecurity/http-logs" && a.key == "request" {
                "request_path".to_string()
            } else {
                a.key.clone()
            };
            if !seen.insert((line, a.kind.clone(), key.clone(), a.expected.clone())) {
                continue;
            }
            let a = Assertion {
                index: line,
                key,
                ..a
            };
            let Some(event) = events.get(a.index) else {
                tally.check(false, || format!("{name}[{}] no such line", a.index));
                continue;
            };
            match crowdsec_actual(event, &a.kind, &a.key, &a.expected) {
                Actual::NotApplicable => tally.skip(format!("{}[{}]", a.kind, a.key)),
                Actual::Holds(ok) => tally.check(ok, || {
                    format!(
                        "{name}[{}] {}[{}] == {:?} does not hold",
                        a.index, a.kind, a.key, a.expected
                    )
                }),
                Actual::Value(got) => {
                    tally.check(got.as_deref() == Some(a.expected.as_str()), || {
                        format!(
                            "{name}[{}] {}[{}]: expected {:?}, siem has {:?}",
                            a.index, a.kind, a.key, a.expected, got
                        )
                    })
                }
            }
        }
    }
    tally.finish();
}

fn first_log(dir: &Path) -> PathBuf {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|e| e == "log"))
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// Windows events

/// (service, EventID) → the categories SigmaHQ's `tests/thor.yml` assigns, with the `EventType`
/// condition when there is one.
struct Thor {
    rules: Vec<(String, String, Vec<i64>, Option<String>)>,
}

impl Thor {
    fn load() -> Thor {
        let text =
            std::fs::read_to_string(siem_testkit::corpus_file("sigma", "tests/thor.yml")).unwrap();
        let doc: serde_json::Value = yaml_serde::from_str(&text).unwrap();
        let mut rules = Vec::new();
        for (_, entry) in doc["logsources"].as_object().unwrap() {
            let Some(category) = entry["category"].as_str() else {
                continue;
            };
            let conditions = &entry["conditions"];
            let ids: Vec<i64> = match &conditions["EventID"] {
                serde_json::Value::Number(n) => vec![n.as_i64().unwrap()],
                serde_json::Value::Array(items) => {
                    items.iter().filter_map(|i| i.as_i64()).collect()
                }
                _ => continue,
            };
            let service = conditions["service"]
                .as_str()
                .or(entry["rewrite"]["service"].as_str())
                .unwrap_or_default();
            let event_type = conditions["EventType"].as_str().map(str::to_string);
            rules.push((category.to_string(), service.to_string(), ids, event_type));
        }
        assert!(
            rules.len() > 30,
            "thor.yml: only {} category rules",
            rules.len()
        );
        Thor { rules }
    }

    /// The categories thor.yml allows for an event. thor.yml calls Sysmon 24
    /// `clipboard_change`; the Sigma taxonomy appendix (which siem follows) `clipboard_capture`.
    fn categories(&self, service: &str, id: i64, event_type: Option<&str>) -> HashSet<&str> {
        self.rules
            .iter()
            .filter(|(_, s, ids, t)| {
                s == service
                    && ids.contains(&id)
                    && t.as_deref().is_none_or(|t| Some(t) == event_type)
            })
            .map(|(c, ..)| {
                if c == "clipboard_change" {
                    "clipboard_capture"
                } else {
                    c.as_str()
                }
            })
            .collect()
    }

    /// Whether siem's category for the event agrees with thor.yml: siem's is one thor allows,
    /// and siem names one whenever thor has one.
    fn agrees(&self, event: &Event) -> Result<(), String> {
        let (Some(service), Some(id)) = (
            event.logsource.service.as_deref(),
            event.get("winlog.event_id").and_then(Value::as_i64),
        ) else {
            return Ok(());
        };
        let event_type = event.get_str("winlog.event_data.EventType");
        let allowed = self.categories(service, id, event_type);
        match event.logsource.category.as_deref() {
            Some(c) if allowed.contains(c) => Ok(()),
            None if allowed.is_empty() => Ok(()),
            ours => Err(format!(
                "{service}/{id}: category {ours:?}, thor.yml allows {allowed:?}"
            )),
        }
    }
}

/// The Sigma service of the main channels, written out here independently of the parser.
fn reference_service(channel: &str) -> Option<&'static str> {
    Some(match channel {
        "Security" => "security",
        "System" => "system",
        "Application" => "application",
        "Microsoft-Windows-Sysmon/Operational" => "sysmon",
        "Windows PowerShell" => "powershell-classic",
        "Microsoft-Windows-PowerShell/Operational" => "powershell",
        "Microsoft-Windows-TaskScheduler/Operational" => "taskscheduler",
        "Microsoft-Windows-WMI-Activity/Operational" => "wmi",
        "Microsoft-Windows-Windows Defender/Operational" => "windefend",
        "Microsoft-Windows-Bits-Client/Operational" => "bits-client",
        _ => return None,
    })
}

/// What an independent reading (serde_json, chrono) says about a nested-shape event.
fn reference_nested(
    value: &serde_json::Value,
) -> (Option<String>, Option<i64>, Option<DateTime<Utc>>) {
    let system = &value["Event"]["System"];
    let channel = system["Channel"].as_str().map(str::to_string);
    let id = &system["EventID"];
    let id = id
        .as_i64()
        .or_else(|| id.as_str().and_then(|s| s.parse().ok()))
        .or_else(|| {
            let t = &id["#text"];
            t.as_i64()
                .or_else(|| t.as_str().and_then(|s| s.parse().ok()))
        });
    let time = system["TimeCreated"]["#attributes"]["SystemTime"]
        .as_str()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc));
    (channel, id, time)
}

fn check_windows_event(
    event: &Event,
    format: Format,
    channel: Option<&str>,
    id: Option<i64>,
    time: Option<DateTime<Utc>>,
    thor: &Thor,
) -> Result<(), String> {
    if format != Format::Json {
        return Err(format!(
            "format {format}: {:?}",
            event.get_str("error.message")
        ));
    }
    let product = if channel.is_some_and(|c| c.starts_with("Linux-")) {
        "linux"
    } else {
        "windows"
    };
    if event.logsource.product.as_deref() != Some(product) {
        return Err(format!("product {:?}", event.logsource.product));
    }
    if event.get_str("winlog.channel") != channel {
        return Err(format!(
            "channel {:?}, expected {channel:?}",
            event.get_str("winlog.channel")
        ));
    }
    let got_id = event.get("winlog.event_id").and_then(Value::as_i64);
    if got_id != id || id.is_none() {
        return Err(format!("event id {got_id:?}, expected {id:?}"));
    }
    if event.get_str("event.code").map(str::to_string) != id.map(|i| i.to_string()) {
        return Err("event.code differs from the id".to_string());
    }
    if event.timestamp.is_none() || (time.is_some() && event.timestamp != time) {
        return Err(format!(
            "timestamp {:?}, expected {time:?}",
            event.timestamp
        ));
    }
    if let Some(expected) = channel.and_then(reference_service)
        && event.logsource.service.as_deref() != Some(expected)
    {
        return Err(format!(
            "service {:?}, expected {expected}",
            event.logsource.service
        ));
    }
    thor.agrees(event)
}

/// `4625:3561;4624:2` → histogram.
fn manifest_histogram(field: &str) -> BTreeMap<i64, usize> {
    field
        .split(';')
        .filter(|p| !p.is_empty())
        .filter_map(|p| p.split_once(':'))
        .map(|(id, n)| (id.parse().unwrap(), n.parse().unwrap()))
        .collect()
}

#[test]
fn windows_evtx_json_every_event() {
    let root = siem_testkit::corpus("windows-evtx-json");
    let thor = Thor::load();
    let parser = parser(FormatSpec::Auto);
    let mut events_tally = Tally::new("windows-evtx-json (events)");
    let mut files_tally = Tally::new("windows-evtx-json (MANIFEST histograms)");
    let mut total = 0;
    for collection in ["deepbluecli", "evtx-attack-samples", "evtx-to-mitre-attack"] {
        let dir = root.join(collection);
        let manifest = std::fs::read_to_string(dir.join("MANIFEST.tsv")).unwrap();
        for row in manifest.lines().skip(1) {
            let cols: Vec<&str> = row.split('\t').collect();
            let path = dir.join(cols[0]);
            let text = std::fs::read_to_string(&path).unwrap();
            let mut histogram = BTreeMap::new();
            let mut records = 0;
            for (n, line) in text
                .lines()
                .enumerate()
                .filter(|(_, l)| !l.trim().is_empty())
            {
                total += 1;
                records += 1;
                let reference: serde_json::Value = serde_json::from_str(line).unwrap();
                let (channel, id, time) = reference_nested(&reference);
                let parsed = parser.parse(line.as_bytes());
                if let Some(id) = parsed.event.get("winlog.event_id").and_then(Value::as_i64) {
                    *histogram.entry(id).or_insert(0usize) += 1;
                }
                let verdict = check_windows_event(
                    &parsed.event,
                    parsed.format,
                    channel.as_deref(),
                    id,
                    time,
                    &thor,
                );
                events_tally.check(verdict.is_ok(), || {
                    format!("{}:{}: {}", cols[0], n + 1, verdict.unwrap_err())
                });
            }
            let expected = manifest_histogram(cols[5]);
            let expected_records: usize = cols[3].parse().unwrap();
            files_tally.check(histogram == expected && records == expected_records, || {
                format!("{}: histogram {histogram:?} ({records} records), MANIFEST {expected:?} ({expected_records})", cols[0])
            });
        }
    }
    assert_eq!(total, 26_365, "the corpus should hold 26,365 events");
    events_tally.finish();
    files_tally.finish();
}

#[test]
fn otrf_flat_windows_events() {
    let root = siem_testkit::corpus("otrf-security-datasets").join("datasets/atomic/windows");
    let thor = Thor::load();
    let parser = parser(FormatSpec::Auto);
    let mut tally = Tally::new("otrf-security-datasets");
    let mut files = Vec::new();
    collect_files(&root, "json", &mut files);
    assert_eq!(files.len(), 11, "11 Windows datasets expected");
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        for (n, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let reference: serde_json::Value = serde_json::from_str(line).unwrap();
            let channel = reference["Channel"].as_str().map(str::to_string);
            let id = reference["EventID"]
                .as_i64()
                .or_else(|| reference["EventID"].as_str().and_then(|s| s.parse().ok()));
            let parsed = parser.parse(line.as_bytes());
            let mut verdict = check_windows_event(
                &parsed.event,
                parsed.format,
                channel.as_deref(),
                id,
                None,
                &thor,
            );
            // Every EventData-looking key is kept under winlog.event_data (a sample of them).
            for key in [
                "CommandLine",
                "Image",
                "TargetFilename",
                "SubjectUserName",
                "ProcessID",
            ] {
                if let Some(v) = reference.get(key).and_then(|v| v.as_str())
                    && parsed.event.get_str(&format!("winlog.event_data.{key}")) != Some(v)
                    && verdict.is_ok()
                {
                    verdict = Err(format!("winlog.event_data.{key} missing or changed"));
                }
            }
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            tally.check(verdict.is_ok(), || {
                format!("{name}:{}: {}", n + 1, verdict.unwrap_err())
            });
        }
    }
    tally.finish();
}

fn collect_files(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_files(&path, ext, out);
        } else if path.extension().is_some_and(|e| e == ext) {
            out.push(path);
        }
    }
    out.sort();
}

#[test]
fn sigma_regression_data_logsources() {
    let root = siem_testkit::corpus("sigma");
    let index = std::fs::read_to_string(root.join("REGRESSION_INDEX.tsv")).unwrap();
    let now = "2026-01-01T00:00:00Z".parse().unwrap();
    let mut tally = Tally::new("sigma/regression_data");
    let mut documents = 0;
    for row in index.lines().skip(1) {
        let cols: Vec<&str> = row.split('\t').collect();
        let (json_path, min, product, wanted) = (cols[4], cols[5], cols[7], cols[8]);
        let min: usize = if min.is_empty() {
            1
        } else {
            min.parse().unwrap()
        };
        let text = std::fs::read_to_string(root.join(json_path)).unwrap();
        let mut fitting = 0;
        let mut problems = Vec::new();
        for item in json::stream(&text, chrono_tz::UTC, now) {
            documents += 1;
            let event = match item {
                Ok(e) => e,
                Err(e) => {
                    problems.push(e.to_string());
                    continue;
                }
            };
            let ls = &event.logsource;
            let registry = [
                "registry_add",
                "registry_delete",
                "registry_set",
                "registry_rename",
                "registry_event",
            ];
            let fits = ls.product.as_deref() == Some(product)
                && event.timestamp.is_some()
                && event.get("winlog.event_id").is_some()
                && (ls.category.as_deref() == Some(wanted)
                    || ls.service.as_deref() == Some(wanted)
                    || (wanted == "registry_event"
                        && ls
                            .category
                            .as_deref()
                            .is_some_and(|c| registry.contains(&c))));
            if fits {
                fitting += 1;
            } else {
                problems.push(format!("logsource {ls}"));
            }
        }
        tally.check(fitting >= min, || {
            format!(
                "{json_path}: {fitting} of the events fit `{wanted}` (need {min}): {problems:?}"
            )
        });
    }
    assert!(documents >= 202, "{documents} documents");
    tally.finish();
}

#[test]
fn loghub_apache_error_log() {
    let dir = siem_testkit::corpus("loghub").join("Apache");
    let log = std::fs::read_to_string(dir.join("Apache_2k.log")).unwrap();
    let csv = std::fs::read_to_string(dir.join("Apache_2k.log_structured.csv")).unwrap();
    let parser = parser(FormatSpec::Apache);
    let mut tally = Tally::new("loghub/Apache");
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(rows.len(), lines.len());
    for (row, line) in rows.iter().zip(&lines) {
        // LineId,Time,Level,Content,EventId,EventTemplate (no quoting in this file).
        let cols: Vec<&str> = row.splitn(4, ',').collect();
        let (id, time, level, rest) = (cols[0], cols[1], cols[2], cols[3]);
        let content = rest.rsplitn(3, ',').nth(2).unwrap_or(rest);
        let event = parser.parse(line.as_bytes()).event;
        let expected_time = NaiveDateTime::parse_from_str(time, "%a %b %d %H:%M:%S %Y")
            .ok()
            .map(|t| t.and_utc());
        let rebuilt = match text(&event, "source.ip") {
            Some(ip) => format!("[client {ip}] {}", event.message().unwrap_or_default()),
            None => event.message().unwrap_or_default().to_string(),
        };
        let ok = event.timestamp.is_some()
            && event.timestamp == expected_time
            && event.get_str("log.level") == Some(level)
            && rebuilt == content;
        tally.check(ok, || {
            format!(
                "line {id}: time {:?} level {:?} content {rebuilt:?} vs {content:?}",
                event.timestamp,
                event.get_str("log.level")
            )
        });
    }
    tally.finish();
}

/// The corpora hold no CEF, LEEF or FortiGate samples; these are the vendor documentation's
/// own examples (ArcSight CEF guide, IBM LEEF guide, Fortinet log reference), checked field by
/// field.
#[test]
fn vendor_documentation_examples() {
    let mut tally = Tally::new("vendor examples (CEF, LEEF, FortiGate)");
    let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
        (
            "Sep 19 08:26:10 host CEF:0|Security|threatmanager|1.0|100|worm successfully stopped|10|src=10.0.0.1 dst=2.1.2.2 spt=1232",
            vec![
                ("observer.vendor", "Security"),
                ("observer.product", "threatmanager"),
                ("event.code", "100"),
                ("event.severity", "10"),
                ("source.ip", "10.0.0.1"),
                ("destination.ip", "2.1.2.2"),
                ("source.port", "1232"),
                ("message", "worm successfully stopped"),
            ],
        ),
        (
            r"CEF:0|security|threatmanager|1.0|100|detected a \| in message|10|src=10.0.0.1 act=blocked a \| dst=1.1.1.1",
            vec![
                ("cef.name", "detected a | in message"),
                ("event.action", "blocked a |"),
                ("destination.ip", "1.1.1.1"),
            ],
        ),
        (
            r"CEF:0|security|threatmanager|1.0|100|detected a \\ in packet|10|src=10.0.0.1 act=blocked a \\ dst=1.1.1.1",
            vec![
                ("cef.name", r"detected a \ in packet"),
                ("event.action", r"blocked a \"),
            ],
        ),
        (
            r"CEF:0|security|threatmanager|1.0|100|detected a = in message|10|src=10.0.0.1 act=blocked a \= dst=1.1.1.1",
            vec![
                ("cef.name", "detected a = in message"),
                ("event.action", "blocked a ="),
            ],
        ),
        (
            "LEEF:1.0|Microsoft|MSExchange|4.0 SP1|15345|src=192.0.2.0\tdst=172.50.123.1\tsev=5\tcat=anomaly\tsrcPort=81\tdstPort=21\tusrName=joe.black",
            vec![
                ("observer.vendor", "Microsoft"),
                ("observer.version", "4.0 SP1"),
                ("event.code", "15345"),
                ("source.ip", "192.0.2.0"),
                ("destination.port", "21"),
                ("user.name", "joe.black"),
                ("event.severity", "5"),
            ],
        ),
        (
            "LEEF:2.0|Lancope|StealthWatch|1.0|41|^|src=10.0.1.8^dst=10.0.0.5^sev=5^srcPort=81^dstPort=21",
            vec![
                ("observer.product", "StealthWatch"),
                ("source.ip", "10.0.1.8"),
                ("destination.ip", "10.0.0.5"),
                ("source.port", "81"),
            ],
        ),
        (
            r#"date=2019-05-15 time=18:03:36 logid="0000000013" type="traffic" subtype="forward" level="notice" vd="vdom1" eventtime=1557968615 srcip=10.1.100.155 srcname="pc1" srcport=40772 srcintf="port12" srcintfrole="undefined" dstip=35.197.51.42 dstname="fortiguard.com" dstport=443 dstintf="port11" dstintfrole="undefined" poluuid="707a0d88-c972-51e7-bbc7-4d421660557b" sessionid=8058 proto=6 action="close" policyid=1 policytype="policy" policymode="learn" service="HTTPS" dstcountry="United States" srccountry="Reserved" trandisp="snat" transip=172.16.200.2 transport=40772 appid=40568 app="HTTPS.BROWSER" appcat="Web.Client" apprisk="medium" duration=2 sentbyte=1850 rcvdbyte=39898 sentpkt=25 rcvdpkt=37 utmaction="allow" countapp=1 devtype="Linux PC" mastersrcmac="a2:e9:00:ec:40:01" srcmac="a2:e9:00:ec:40:01" srcserver=0 utmref=0-220586"#,
            vec![
                ("event.code", "0000000013"),
                ("source.ip", "10.1.100.155"),
                ("destination.port", "443"),
                ("event.action", "close"),
                ("network.iana_number", "6"),
                ("source.nat.ip", "172.16.200.2"),
                ("source.bytes", "1850"),
                ("destination.bytes", "39898"),
                ("rule.id", "1"),
                ("fortinet.firewall.vd", "vdom1"),
            ],
        ),
    ];
    let parser = parser(FormatSpec::Auto);
    for (line, expected) in cases {
        let event = parser.parse(line.as_bytes()).event;
        for (field, value) in expected {
            let got = text(&event, field);
            tally.check(got.as_deref() == Some(value), || {
                format!("{line:.40}: {field} = {got:?}, expected {value:?}")
            });
        }
    }
    tally.finish();
}

#[test]
fn every_corpus_line_parses_without_failure_tag_where_a_format_applies() {
    // Throughput-independent smoke check: the loghub Apache log and the CrowdSec web logs never
    // produce a parse failure in auto mode (the syslog-based files are the syslog branch's).
    let parser = parser(FormatSpec::Auto);
    let mut map: HashMap<Format, usize> = HashMap::new();
    let mut failures = Vec::new();
    let corpus = siem_testkit::corpus("loghub").join("Apache/Apache_2k.log");
    let crowdsec = siem_testkit::corpus("crowdsec-hub").join("tests");
    let mut files = vec![corpus];
    for dir in [
        "nginx_http-logs",
        "nginx-http-malformed",
        "nginx_req_limit_exceeded",
        "apache2-logs",
        "apache2-malformed",
        "nginx-http-sqli-probing",
        "nginx-http-xss-probing",
        "nginx-http-path-traversal",
        "nginx-bad-user-agent",
        "nginx-http-generic-bf",
        "apache2-http-sensitive-files",
    ] {
        files.push(first_log(&crowdsec.join(dir)));
    }
    for file in files {
        let raw = std::fs::read(&file).unwrap();
        for line in raw.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let parsed = parser.parse(line);
            *map.entry(parsed.format).or_default() += 1;
            if parsed.format == Format::Unparsed {
                failures.push(String::from_utf8_lossy(line).into_owned());
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(
        map.contains_key(&Format::ApacheError)
            && map.contains_key(&Format::ApacheAccess)
            && map.contains_key(&Format::NginxError)
    );
}
