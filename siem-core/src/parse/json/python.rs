//! Python `logging` records as JSON (python-json-logger and similar formatters, Django's
//! loggers) onto ECS, following Elastic's `ecs-logging-python` names:
//!
//! | record attribute | ECS field |
//! | --- | --- |
//! | `levelname` | `log.level` (lower case) |
//! | `name` | `log.logger` |
//! | `message` (else `msg`) | `message` |
//! | `created` (else `asctime`, `timestamp`) | `@timestamp` |
//! | `pathname` (else `filename`) | `log.origin.file.name` |
//! | `lineno` | `log.origin.file.line` |
//! | `funcName` | `log.origin.function` |
//! | `process` / `processName` | `process.pid` / `process.name` |
//! | `thread` / `threadName` | `process.thread.id` / `process.thread.name` |
//! | `exc_info` (else `exc_text`, `stack_info`) | `error.stack_trace`, with `error.type` and `error.message` from its last line |
//! | `status_code` (Django) | `http.response.status_code` |
//! | `request` (Django, `<WSGIRequest: GET '/path'>`) | `http.request.method`, `url.original` |
//!
//! `module`, `msecs`, `relativeCreated`, `levelno`, `args` and `taskName` are dropped (they
//! repeat other fields); any other key (the `extra=` of the logging call) is kept under its
//! own name. Logsource: product `django` for loggers named `django` or `django.*`, else
//! `python`; category `application` (SigmaHQ's `rules/application/django` and `python`).

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use compact_str::CompactString;

use super::reader::J;
use crate::event::{Event, LogSource, Value};
use crate::parse::k;
use crate::parse::time;

/// Whether a top-level object looks like a Python log record.
pub(crate) fn is_record(obj: &J<'_>) -> bool {
    if obj.get("levelname").is_some() {
        return true;
    }
    let named = obj.get("name").is_some_and(|n| n.as_str().is_some());
    let has_message = obj.get("message").is_some() || obj.get("msg").is_some();
    named
        && has_message
        && ["funcName", "lineno", "pathname", "created", "levelno"]
            .iter()
            .any(|key| obj.get(key).is_some())
}

fn text(j: &J<'_>) -> Option<String> {
    Some(match j {
        J::Str(s) => s.to_string(),
        J::Int(i) => i.to_string(),
        J::Float(f) => f.to_string(),
        J::Bool(b) => b.to_string(),
        _ => return None,
    })
}

/// Reads a Python log record.
pub(crate) fn record(obj: &J<'_>, tz: Tz, now: DateTime<Utc>, event: &mut Event) {
    let get = |key: &str| obj.get(key);
    event.timestamp = match get("created") {
        Some(J::Float(f)) => time::from_epoch_f64(*f),
        Some(J::Int(i)) => DateTime::from_timestamp(*i, 0),
        _ => None,
    }
    .or_else(|| {
        ["asctime", "timestamp", "@timestamp", "time"]
            .iter()
            .find_map(|key| {
                get(key)
                    .and_then(J::as_str)
                    .and_then(|t| time::parse_any(t, tz, now))
            })
    });
    if let Some(level) = get("levelname").and_then(J::as_str) {
        event.insert(k("log.level"), level.to_ascii_lowercase());
    }
    let logger = get("name").and_then(J::as_str);
    if let Some(name) = logger {
        event.insert(k("log.logger"), name);
    }
    if let Some(m) = get("message").or_else(|| get("msg")).and_then(text) {
        event.insert(k("message"), m);
    }
    if let Some(file) = get("pathname")
        .or_else(|| get("filename"))
        .and_then(J::as_str)
    {
        event.insert(k("log.origin.file.name"), file);
    }
    if let Some(line) = get("lineno").and_then(J::as_int) {
        event.insert(k("log.origin.file.line"), line);
    }
    if let Some(f) = get("funcName").and_then(J::as_str) {
        event.insert(k("log.origin.function"), f);
    }
    if let Some(pid) = get("process").and_then(J::as_int) {
        event.insert(k("process.pid"), pid);
    }
    if let Some(name) = get("processName").and_then(J::as_str) {
        event.insert(k("process.name"), name);
    }
    if let Some(tid) = get("thread").and_then(J::as_int) {
        event.insert(k("process.thread.id"), tid);
    }
    if let Some(name) = get("threadName").and_then(J::as_str) {
        event.insert(k("process.thread.name"), name);
    }
    let trace = ["exc_info", "exc_text", "stack_info"]
        .iter()
        .find_map(|key| {
            get(key)
                .and_then(J::as_str)
                .filter(|t| !t.is_empty() && *t != "None")
        });
    if let Some(trace) = trace {
        event.insert(k("error.stack_trace"), trace);
        // The last line of a traceback is `Type: message` (or just `Type`).
        if let Some(last) = trace.trim_end().lines().last() {
            let (ty, msg) = match last.split_once(": ") {
                Some((t, m)) => (t, Some(m)),
                None => (last, None),
            };
            if !ty.is_empty() && !ty.contains(' ') {
                event.insert(k("error.type"), ty);
                if let Some(m) = msg {
                    event.insert(k("error.message"), m);
                }
            }
        }
    }
    if let Some(status) = get("status_code").and_then(J::as_int) {
        event.insert(k("http.response.status_code"), status);
    }
    if let Some(request) = get("request") {
        match request.as_str().and_then(django_request) {
            Some((method, path)) => {
                event.insert(k("http.request.method"), method);
                event.insert(k("url.original"), path);
            }
            None => put_extra(event, "request", request),
        }
    }
    const MAPPED: &[&str] = &[
        "created",
        "asctime",
        "timestamp",
        "@timestamp",
        "time",
        "levelname",
        "name",
        "message",
        "msg",
        "pathname",
        "filename",
        "lineno",
        "funcName",
        "process",
        "processName",
        "thread",
        "threadName",
        "exc_info",
        "exc_text",
        "stack_info",
        "status_code",
        "request",
        "module",
        "msecs",
        "relativeCreated",
        "levelno",
        "args",
        "taskName",
    ];
    for (key, value) in obj.members() {
        if MAPPED.contains(&key.as_ref())
            || key == "event.original"
            || key == "tags"
            || key == "logsource"
        {
            continue;
        }
        put_extra(event, key, value);
    }
    let product = if logger.is_some_and(is_django_logger) {
        "django"
    } else {
        "python"
    };
    event.insert(k("event.kind"), "event");
    event.logsource = LogSource::new(Some(product), Some("application"), None);
}

/// `django`, `django.request`, `django.security.DisallowedHost`, ...
pub(crate) fn is_django_logger(name: &str) -> bool {
    name == "django" || name.starts_with("django.")
}

/// `<WSGIRequest: GET '/admin/login/'>` (or `ASGIRequest`) → (method, path).
fn django_request(s: &str) -> Option<(&str, &str)> {
    let inner = s.strip_prefix('<')?.strip_suffix('>')?;
    let (_, rest) = inner.split_once(": ")?;
    let (method, path) = rest.split_once(' ')?;
    let path = path
        .strip_prefix('\'')
        .and_then(|p| p.strip_suffix('\''))
        .unwrap_or(path);
    (!method.is_empty() && method.bytes().all(|b| b.is_ascii_uppercase())).then_some((method, path))
}

fn put_extra(event: &mut Event, key: &str, value: &J<'_>) {
    if key.is_empty() || key.len() > 256 {
        return;
    }
    match value {
        J::Obj(members) => {
            for (inner, v) in members {
                let mut name = CompactString::from(key);
                name.push('.');
                name.push_str(inner);
                put_extra(event, &name, v);
            }
        }
        J::Null => event.insert(CompactString::from(key), Value::Null),
        J::Bool(b) => event.insert(CompactString::from(key), *b),
        J::Int(i) => event.insert(CompactString::from(key), *i),
        J::Float(f) => event.insert(CompactString::from(key), *f),
        J::Str(s) => event.insert(CompactString::from(key), s.as_ref()),
        J::Arr(items) => {
            let list: Vec<Value> = items
                .iter()
                .map(|i| text(i).map_or(Value::Null, Value::from))
                .collect();
            event.insert(CompactString::from(key), Value::List(list.into()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::reader::parse;
    use super::*;

    #[test]
    fn python_json_logger_record() {
        let j = parse(r#"{"asctime":"2024-05-01 10:00:00,123","levelname":"ERROR","name":"app.db","message":"query failed","pathname":"/srv/app/db.py","lineno":42,"funcName":"run","exc_info":"Traceback (most recent call last):\n  File \"x\", line 1\nValueError: bad value","user_id":7}"#).unwrap();
        assert!(is_record(&j));
        let mut e = Event::new();
        record(&j, chrono_tz::UTC, Utc::now(), &mut e);
        assert_eq!(e.get_str("log.level"), Some("error"));
        assert_eq!(e.get_str("log.logger"), Some("app.db"));
        assert_eq!(e.get("log.origin.file.line"), Some(&Value::Int(42)));
        assert_eq!(e.get_str("error.type"), Some("ValueError"));
        assert_eq!(e.get_str("error.message"), Some("bad value"));
        assert_eq!(e.get("user_id"), Some(&Value::Int(7)));
        assert_eq!(e.timestamp.unwrap().timestamp_subsec_millis(), 123);
        assert_eq!(e.logsource.product.as_deref(), Some("python"));
    }

    #[test]
    fn django_request_record() {
        let j = parse(r#"{"levelname":"WARNING","name":"django.security.DisallowedHost","message":"Invalid HTTP_HOST header","created":1714557600.25,"status_code":400,"request":"<WSGIRequest: GET '/admin/'>"}"#).unwrap();
        let mut e = Event::new();
        record(&j, chrono_tz::UTC, Utc::now(), &mut e);
        assert_eq!(
            e.logsource,
            LogSource::new(Some("django"), Some("application"), None)
        );
        assert_eq!(e.get("http.response.status_code"), Some(&Value::Int(400)));
        assert_eq!(e.get_str("http.request.method"), Some("GET"));
        assert_eq!(e.get_str("url.original"), Some("/admin/"));
        assert_eq!(e.timestamp.unwrap().timestamp_millis(), 1714557600250);
        assert!(!is_record(&parse(r#"{"name":"x","message":"y"}"#).unwrap()));
    }
}
