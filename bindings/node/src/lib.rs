//! # siem-node
//!
//! The Node.js binding of siem: [`Engine`] wraps [`siem_core::Engine`] and adds nothing but
//! JavaScript conventions. The npm package in `node/` loads the library this crate builds
//! (`node/scripts/build.mjs`), registers the error classes and re-exports everything.
//!
//! # Crossing the boundary
//!
//! - **In**: event objects are walked field by field through Node-API ([`convert`]); lines are
//!   read as UTF-8 from strings or as raw bytes from `Buffer`s.
//! - **Out**: alerts (and parsed events) are written as their contract JSON
//!   ([`siem_core::Alert::to_json`]) and handed to `JSON.parse` in one call per batch. That makes
//!   each alert object *exactly* `JSON.parse` of the JSON `siem scan --output jsonl` prints, and
//!   it is cheaper than building the nested objects with one Node-API call per property. A call
//!   that raises no alert (most of them) returns a fresh empty array and never touches JSON.
//!
//! # Threads
//!
//! The engine is `Send + Sync` and shared (`Arc`) with the async variants, which run matching on
//! the libuv thread pool: conversion of the input happens on the JavaScript thread before the
//! work is queued, conversion of the alerts after it completes, and nothing in between touches
//! JavaScript. Several async calls on one engine may run at once; the engine's locks order them.
#![warn(missing_docs)]
#![deny(clippy::all)]

mod convert;
mod decode;
mod errors;
mod js;
mod options;

use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::{DateTime, Utc};
use napi::bindgen_prelude::{ToNapiValue, TypeName, Unknown};
use napi::{Env, Error, JsValue, Result, Status, Task, ValueType, sys};
use napi_derive::napi;
use siem_core::alert::Alert;
use siem_core::engine::Engine as CoreEngine;
use siem_core::event::Event;
use siem_core::parse::{FormatSpec, ParseOptions, Parser};

use crate::convert::{ConvertError, EventError, event_from_js};
use crate::decode::{DecodeError, decode_events};
use crate::errors::RuleProblem;
use crate::js::{Js, Kind, Raw};
pub use crate::options::{CorrelatorOptions, EngineOptions, Logsource, PolicyOptions, RuleText};

/// A JavaScript value built by hand, returned as is.
pub struct RawValue(Raw);

impl TypeName for RawValue {
    fn type_name() -> &'static str {
        "unknown"
    }

    fn value_type() -> ValueType {
        ValueType::Unknown
    }
}

impl ToNapiValue for RawValue {
    unsafe fn to_napi_value(_env: sys::napi_env, val: Self) -> Result<sys::napi_value> {
        Ok(val.0)
    }
}

/// Parsers by format name, for `processLine(line, format)` with a format other than the
/// engine's own. Bounded: grok expressions make the names open-ended.
const MAX_CACHED_PARSERS: usize = 16;

struct Shared {
    engine: CoreEngine,
    parse_options: ParseOptions,
    parsers: Mutex<Vec<(String, Parser)>>,
}

impl Shared {
    /// The parser for `format` (the engine's own when `None`).
    fn parser(&self, format: Option<&str>) -> Result<Parser> {
        let Some(format) = format else {
            return Ok(self.engine.parser().clone());
        };
        let mut cache = self
            .parsers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((_, parser)) = cache.iter().find(|(name, _)| name == format) {
            return Ok(parser.clone());
        }
        let parser = build_parser(&self.parse_options, format)?;
        if cache.len() >= MAX_CACHED_PARSERS {
            cache.remove(0);
        }
        cache.push((format.to_string(), parser.clone()));
        Ok(parser)
    }
}

fn build_parser(base: &ParseOptions, format: &str) -> Result<Parser> {
    let spec: FormatSpec = format
        .parse()
        .map_err(|e: String| Error::new(Status::InvalidArg, e))?;
    Parser::new(ParseOptions {
        format: spec,
        ..base.clone()
    })
    .map_err(|e| Error::new(Status::InvalidArg, e.to_string()))
}

/// Throws a conversion failure: an `EventError` for a bad event, the pending exception for a
/// JavaScript one.
fn throw_convert(js: Js, error: ConvertError, index: Option<usize>) -> Error {
    match error {
        ConvertError::Js(e) => e,
        ConvertError::Event(e) => match errors::event_error(js, &e, index) {
            Ok(value) => js.throw(value),
            Err(e) => e,
        },
    }
}

/// The alerts as an array of plain objects (`JSON.parse` of their contract JSON).
fn alerts_to_js(js: Js, alerts: &[Alert]) -> Result<Raw> {
    if alerts.is_empty() {
        return js.create_array(0);
    }
    let mut text = String::with_capacity(alerts.len() * 768);
    text.push('[');
    for (i, alert) in alerts.iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        alert.write_json(&mut text);
    }
    text.push(']');
    errors::json_parse(js, &text)
}

/// The bytes of a line given as a string (UTF-8) or a `Buffer` (as is).
fn with_line<T>(
    js: Js,
    value: Raw,
    f: impl FnOnce(&[u8]) -> T,
) -> std::result::Result<T, ConvertError> {
    match js.kind(value)? {
        Kind::String => Ok(js.with_str(value, |s| f(s.as_bytes()))?),
        Kind::Object if js.is_buffer(value)? => {
            let mut data = std::ptr::null_mut();
            let mut len = 0usize;
            js::check(
                unsafe { sys::napi_get_buffer_info(js.env, value, &mut data, &mut len) },
                "buffer",
            )?;
            let bytes = if data.is_null() || len == 0 {
                &[][..]
            } else {
                // SAFETY: Node-API hands out the view's bytes, alive while `value` is.
                unsafe { std::slice::from_raw_parts(data.cast::<u8>(), len) }
            };
            Ok(f(bytes))
        }
        other => Err(ConvertError::Event(EventError::Field {
            field: "line".into(),
            reason: format!(
                "a line must be a string or a Buffer, got {}",
                other.describe()
            ),
        })),
    }
}

/// Calls `f` for each element of an array, each in its own handle scope.
fn for_each_element(
    js: Js,
    array: Raw,
    what: &str,
    mut f: impl FnMut(usize, Raw) -> std::result::Result<(), ConvertError>,
) -> std::result::Result<(), (ConvertError, Option<usize>)> {
    let not_array = || {
        ConvertError::Event(EventError::Field {
            field: what.to_string(),
            reason: format!("{what} must be an array"),
        })
    };
    match js.kind(array) {
        Ok(Kind::Object) => {}
        Ok(_) => return Err((not_array(), None)),
        Err(e) => return Err((e.into(), None)),
    }
    if !js.is_array(array).map_err(|e| (e.into(), None))? {
        return Err((not_array(), None));
    }
    let len = js.array_len(array).map_err(|e| (e.into(), None))?;
    for i in 0..len {
        let index = i as usize;
        let mut failure = None;
        js.scoped(|| {
            let item = js.element(array, i)?;
            if let Err(e) = f(index, item) {
                failure = Some(e);
            }
            Ok(())
        })
        .map_err(|e| (e.into(), Some(index)))?;
        if let Some(e) = failure {
            return Err((e, Some(index)));
        }
    }
    Ok(())
}

fn events_from_array(js: Js, array: Raw) -> Result<Vec<Event>> {
    let mut events = Vec::new();
    for_each_element(js, array, "events", |_, item| {
        events.push(event_from_js(js, item)?);
        Ok(())
    })
    .map_err(|(e, index)| throw_convert(js, e, index))?;
    Ok(events)
}

/// Decodes the fast path's text (see `node/lib/encode.js`): one string, or an array of strings
/// (a batch in chunks) whose events are decoded in order, all before any is processed. Throws
/// like the walk would.
fn decode(js: Js, text: Raw, batch: bool) -> Result<Vec<Event>> {
    decode_all(js, text).map_err(|e| match e {
        (Some(DecodeError::Event(e, index)), _) => {
            throw_convert(js, ConvertError::Event(e), batch.then_some(index))
        }
        (Some(DecodeError::Malformed(at)), _) => malformed(at),
        (None, e) => e,
    })
}

fn malformed(at: usize) -> Error {
    Error::new(
        Status::InvalidArg,
        format!("malformed encoded event at byte {at} (not written by lib/encode.js)"),
    )
}

type DecodeFailure = (Option<DecodeError>, Error);

fn decode_all(js: Js, text: Raw) -> std::result::Result<Vec<Event>, DecodeFailure> {
    let napi = |e: Error| (None, e);
    let mut events = Vec::new();
    let chunk = |value: Raw, events: &mut Vec<Event>| -> std::result::Result<(), DecodeFailure> {
        let text = js.string_utf16(value).map_err(napi)?;
        decode_events(&text, events).map_err(|e| (Some(e), Error::from_status(Status::InvalidArg)))
    };
    if js.kind(text).map_err(napi)? == Kind::String {
        chunk(text, &mut events)?;
        return Ok(events);
    }
    if !js.is_array(text).map_err(napi)? {
        return Err(napi(Error::new(
            Status::InvalidArg,
            "an encoded batch is a string or an array of strings".to_string(),
        )));
    }
    let len = js.array_len(text).map_err(napi)?;
    for i in 0..len {
        let item = js.element(text, i).map_err(napi)?;
        if js.kind(item).map_err(napi)? != Kind::String {
            return Err(napi(Error::new(
                Status::InvalidArg,
                "an encoded batch is a string or an array of strings".to_string(),
            )));
        }
        chunk(item, &mut events)?;
    }
    Ok(events)
}

fn time_arg(js: Js, value: Option<Unknown>) -> Result<DateTime<Utc>> {
    let Some(value) = value else {
        return Ok(Utc::now());
    };
    let raw = value.raw();
    let ms = match js.kind(raw)? {
        Kind::Undefined => return Ok(Utc::now()),
        Kind::Number => js.number(raw)?,
        Kind::Object if js.is_date(raw)? => js.date_value(raw)?,
        other => {
            return Err(Error::new(
                Status::InvalidArg,
                format!(
                    "a time must be a Date or epoch milliseconds, got {}",
                    other.describe()
                ),
            ));
        }
    };
    if !ms.is_finite() {
        return Err(Error::new(Status::InvalidArg, "invalid time".to_string()));
    }
    DateTime::from_timestamp_millis(ms as i64)
        .ok_or_else(|| Error::new(Status::InvalidArg, format!("time {ms} out of range")))
}

/// What an async call hands to the thread pool.
enum Work {
    Events(Vec<Event>),
    Lines(Vec<Vec<u8>>, Parser),
}

/// `process*Async`: matching on the libuv thread pool.
pub struct ProcessTask {
    shared: Arc<Shared>,
    work: Option<Work>,
}

impl Task for ProcessTask {
    type Output = Vec<Alert>;
    type JsValue = RawValue;

    fn compute(&mut self) -> Result<Self::Output> {
        let engine = &self.shared.engine;
        Ok(match self.work.take() {
            Some(Work::Events(events)) => engine.process_batch(events),
            Some(Work::Lines(lines, parser)) => {
                let now = Utc::now();
                let mut alerts = Vec::new();
                for line in lines {
                    alerts.extend(engine.process_event_at(parser.parse(&line).event, now));
                }
                alerts
            }
            None => Vec::new(),
        })
    }

    fn resolve(&mut self, env: Env, alerts: Self::Output) -> Result<Self::JsValue> {
        alerts_to_js(Js::new(env.raw()), &alerts).map(RawValue)
    }
}

/// A detection engine: Sigma rules compiled once, correlation state inside.
///
/// ```js
/// const { Engine } = require('siem')
/// const engine = new Engine({ rules: ['rules/'] })
/// for (const alert of engine.processLine(line)) console.log(alert.rule.title)
/// ```
///
/// Building costs the rules' compilation (milliseconds for a few rules, about a second for all
/// of SigmaHQ): build one engine and keep it. Every call is synchronous and runs on the calling
/// thread unless it ends in `Async`.
#[napi]
pub struct Engine {
    shared: Arc<Shared>,
    problems: Vec<RuleProblem>,
    /// Events of a batch being handed over in encoded chunks (`_stageEncoded`), decoded as
    /// each chunk arrives so that its string dies young, processed together at the end.
    staged: Vec<Event>,
}

#[napi]
impl Engine {
    /// Compiles the rules. Throws a `RuleError` (with `path`, `ruleId`, `reason`, and `errors`
    /// listing every failure) when a rule does not load, unless `lenient` is set.
    #[napi(constructor)]
    pub fn new(env: Env, options: Option<EngineOptions>) -> Result<Self> {
        let options = options.unwrap_or_default();
        let mut builder = CoreEngine::builder();
        options::configure(&mut builder, &options)
            .map_err(|e| Error::new(Status::InvalidArg, e.0))?;
        let mut problems = options::add_rules(&mut builder, &options);
        let (engine, rule_errors) = builder
            .try_build()
            .map_err(|e| Error::new(Status::InvalidArg, e.to_string()))?;
        problems.extend(rule_errors.iter().map(RuleProblem::from));
        if !problems.is_empty() && !options.lenient.unwrap_or(false) {
            let js = Js::new(env.raw());
            return Err(match errors::rule_errors(js, &problems) {
                Ok(value) => js.throw(value),
                Err(e) => e,
            });
        }
        let parse_options =
            options::parse_options(&options).map_err(|e| Error::new(Status::InvalidArg, e.0))?;
        Ok(Engine {
            shared: Arc::new(Shared {
                engine,
                parse_options,
                parsers: Mutex::new(Vec::new()),
            }),
            problems,
            staged: Vec::new(),
        })
    }

    /// The rules that did not load (with `lenient: true`), as `RuleError`s; empty otherwise.
    #[napi(getter, ts_return_type = "RuleError[]")]
    pub fn errors(&self, env: Env) -> Result<RawValue> {
        let js = Js::new(env.raw());
        let list = js.create_array(self.problems.len())?;
        for (i, problem) in self.problems.iter().enumerate() {
            js.set_element(list, i as u32, errors::rule_error(js, problem)?)?;
        }
        Ok(RawValue(list))
    }

    /// How many detection rules (including those only correlations use) are loaded.
    #[napi(getter)]
    pub fn rule_count(&self) -> u32 {
        self.shared.engine.rules().len() as u32
    }

    /// How many correlation rules are loaded.
    #[napi(getter)]
    pub fn correlation_count(&self) -> u32 {
        self.shared
            .engine
            .correlations()
            .map_or(0, |set| set.len() as u32)
    }

    /// Matches one ECS event object (nested or dotted keys; `@timestamp` as a `Date`, an RFC 3339
    /// string or epoch milliseconds) and returns its alerts. Throws an `EventError` for a value
    /// that is not an event.
    #[napi(ts_args_type = "event: EcsEvent", ts_return_type = "Alert[]")]
    pub fn process(&self, env: Env, event: Unknown) -> Result<RawValue> {
        let js = Js::new(env.raw());
        let event = event_from_js(js, event.raw()).map_err(|e| throw_convert(js, e, None))?;
        let alerts = self.shared.engine.process_event(event);
        alerts_to_js(js, &alerts).map(RawValue)
    }

    /// Parses one line (a string, or a `Buffer` of raw bytes) and matches it. `format` overrides
    /// the engine's format for this call (`auto`, `syslog`, `json`, `apache`, `nginx`, `cef`,
    /// `leef`, `kv`, `grok:<expression>`).
    #[napi(
        ts_args_type = "line: string | Buffer, format?: string",
        ts_return_type = "Alert[]"
    )]
    pub fn process_line(
        &self,
        env: Env,
        line: Unknown,
        format: Option<String>,
    ) -> Result<RawValue> {
        let js = Js::new(env.raw());
        let parser = self.shared.parser(format.as_deref())?;
        let event = with_line(js, line.raw(), |bytes| parser.parse(bytes).event)
            .map_err(|e| throw_convert(js, e, None))?;
        let alerts = self.shared.engine.process_event(event);
        alerts_to_js(js, &alerts).map(RawValue)
    }

    /// Matches events in order and returns the alerts of all of them, in order: one crossing
    /// of the boundary for the whole batch. An `EventError` names the bad event's `index`; no
    /// event of the batch is processed then.
    #[napi(ts_args_type = "events: EcsEvent[]", ts_return_type = "Alert[]")]
    pub fn process_batch(&self, env: Env, events: Unknown) -> Result<RawValue> {
        let js = Js::new(env.raw());
        let events = events_from_array(js, events.raw())?;
        let alerts = self.shared.engine.process_batch(events);
        alerts_to_js(js, &alerts).map(RawValue)
    }

    /// `processLine` over an array of lines, in one call.
    #[napi(
        ts_args_type = "lines: Array<string | Buffer>, format?: string",
        ts_return_type = "Alert[]"
    )]
    pub fn process_lines(
        &self,
        env: Env,
        lines: Unknown,
        format: Option<String>,
    ) -> Result<RawValue> {
        let js = Js::new(env.raw());
        let parser = self.shared.parser(format.as_deref())?;
        let engine = &self.shared.engine;
        let now = Utc::now();
        let mut alerts = Vec::new();
        for_each_element(js, lines.raw(), "lines", |_, item| {
            let event = with_line(js, item, |bytes| parser.parse(bytes).event)?;
            alerts.extend(engine.process_event_at(event, now));
            Ok(())
        })
        .map_err(|(e, index)| throw_convert(js, e, index))?;
        alerts_to_js(js, &alerts).map(RawValue)
    }

    /// `process` on the libuv thread pool: the event is read now, matched off the event loop.
    #[napi(ts_args_type = "event: EcsEvent", ts_return_type = "Promise<Alert[]>")]
    pub fn process_async(&self, env: Env, event: Unknown) -> Result<RawValue> {
        let js = Js::new(env.raw());
        let work = event_from_js(js, event.raw()).map(|e| Work::Events(vec![e]));
        self.spawn(js, work.map_err(|e| (e, None)))
    }

    /// `processLine` on the libuv thread pool.
    #[napi(
        ts_args_type = "line: string | Buffer, format?: string",
        ts_return_type = "Promise<Alert[]>"
    )]
    pub fn process_line_async(
        &self,
        env: Env,
        line: Unknown,
        format: Option<String>,
    ) -> Result<RawValue> {
        let js = Js::new(env.raw());
        let parser = self.shared.parser(format.as_deref())?;
        let work = with_line(js, line.raw(), <[u8]>::to_vec).map(|l| Work::Lines(vec![l], parser));
        self.spawn(js, work.map_err(|e| (e, None)))
    }

    /// `processBatch` on the libuv thread pool: the events are read on the JavaScript thread,
    /// then matched off it, so a large batch does not block the event loop while it is matched.
    /// A bad event rejects the promise with an `EventError`.
    #[napi(
        ts_args_type = "events: EcsEvent[]",
        ts_return_type = "Promise<Alert[]>"
    )]
    pub fn process_batch_async(&self, env: Env, events: Unknown) -> Result<RawValue> {
        let js = Js::new(env.raw());
        let mut list = Vec::new();
        let work = for_each_element(js, events.raw(), "events", |_, item| {
            list.push(event_from_js(js, item)?);
            Ok(())
        })
        .map(|()| Work::Events(list));
        self.spawn(js, work)
    }

    /// `processLines` on the libuv thread pool: lines are copied on the JavaScript thread,
    /// parsed and matched off it.
    #[napi(
        ts_args_type = "lines: Array<string | Buffer>, format?: string",
        ts_return_type = "Promise<Alert[]>"
    )]
    pub fn process_lines_async(
        &self,
        env: Env,
        lines: Unknown,
        format: Option<String>,
    ) -> Result<RawValue> {
        let js = Js::new(env.raw());
        let parser = self.shared.parser(format.as_deref())?;
        let mut list = Vec::new();
        let work = for_each_element(js, lines.raw(), "lines", |_, item| {
            list.push(with_line(js, item, <[u8]>::to_vec)?);
            Ok(())
        })
        .map(|()| Work::Lines(list, parser));
        self.spawn(js, work)
    }

    /// `process` of an event encoded by `lib/encode.js` (the loader's fast path).
    #[napi(js_name = "_processEncoded", skip_typescript)]
    pub fn process_encoded(&self, env: Env, text: Unknown) -> Result<RawValue> {
        let js = Js::new(env.raw());
        let events = decode(js, text.raw(), false)?;
        let alerts = self.shared.engine.process_batch(events);
        alerts_to_js(js, &alerts).map(RawValue)
    }

    /// `processBatch` of events encoded by `lib/encode.js` (the loader's fast path).
    #[napi(js_name = "_processBatchEncoded", skip_typescript)]
    pub fn process_batch_encoded(&self, env: Env, text: Unknown) -> Result<RawValue> {
        let js = Js::new(env.raw());
        let events = decode(js, text.raw(), true)?;
        let alerts = self.shared.engine.process_batch(events);
        alerts_to_js(js, &alerts).map(RawValue)
    }

    /// Decodes one chunk of a batch encoded by `lib/encode.js` and keeps its events for
    /// `_processStaged`. On a bad event the staged events are dropped and the `EventError`
    /// names the event's index in the whole batch.
    #[napi(js_name = "_stageEncoded", skip_typescript)]
    pub fn stage_encoded(&mut self, env: Env, text: Unknown) -> Result<()> {
        let js = Js::new(env.raw());
        let text = match js.string_utf16(text.raw()) {
            Ok(text) => text,
            Err(e) => {
                self.staged.clear();
                return Err(e);
            }
        };
        match decode_events(&text, &mut self.staged) {
            Ok(()) => Ok(()),
            Err(DecodeError::Event(e, index)) => {
                self.staged.clear();
                Err(throw_convert(js, ConvertError::Event(e), Some(index)))
            }
            Err(DecodeError::Malformed(at)) => {
                self.staged.clear();
                Err(malformed(at))
            }
        }
    }

    /// Drops the staged events (a batch abandoned half-way).
    #[napi(js_name = "_clearStaged", skip_typescript)]
    pub fn clear_staged(&mut self) {
        self.staged.clear();
    }

    /// Processes the staged events as one batch.
    #[napi(js_name = "_processStaged", skip_typescript)]
    pub fn process_staged(&mut self, env: Env) -> Result<RawValue> {
        let js = Js::new(env.raw());
        let events = std::mem::take(&mut self.staged);
        let alerts = self.shared.engine.process_batch(events);
        alerts_to_js(js, &alerts).map(RawValue)
    }

    /// Processes the staged events as one batch on the libuv thread pool.
    #[napi(js_name = "_processStagedAsync", skip_typescript)]
    pub fn process_staged_async(&mut self, env: Env) -> Result<RawValue> {
        let js = Js::new(env.raw());
        let events = std::mem::take(&mut self.staged);
        self.spawn(js, Ok(Work::Events(events)))
    }

    /// `processBatchAsync` (and `processAsync`) of events encoded by `lib/encode.js`.
    #[napi(js_name = "_processBatchEncodedAsync", skip_typescript)]
    pub fn process_batch_encoded_async(
        &self,
        env: Env,
        text: Unknown,
        batch: bool,
    ) -> Result<RawValue> {
        let js = Js::new(env.raw());
        let work = match decode_all(js, text.raw()) {
            Ok(events) => Ok(Work::Events(events)),
            Err((Some(DecodeError::Event(e, index)), _)) => {
                Err((ConvertError::Event(e), batch.then_some(index)))
            }
            Err((Some(DecodeError::Malformed(at)), _)) => return Err(malformed(at)),
            Err((None, e)) => return Err(e),
        };
        self.spawn(js, work)
    }

    /// Queues the work, or returns a promise rejected with the conversion error.
    fn spawn(
        &self,
        js: Js,
        work: std::result::Result<Work, (ConvertError, Option<usize>)>,
    ) -> Result<RawValue> {
        let env = Env::from_raw(js.env);
        match work {
            Ok(work) => {
                let promise = env.spawn(ProcessTask {
                    shared: Arc::clone(&self.shared),
                    work: Some(work),
                })?;
                Ok(RawValue(promise.promise_object().raw()))
            }
            Err((ConvertError::Js(e), _)) => Err(e),
            Err((ConvertError::Event(e), index)) => {
                let error = errors::event_error(js, &e, index)?;
                let mut deferred = std::ptr::null_mut();
                let mut promise = std::ptr::null_mut();
                js::check(
                    unsafe { sys::napi_create_promise(js.env, &mut deferred, &mut promise) },
                    "create promise",
                )?;
                js::check(
                    unsafe { sys::napi_reject_deferred(js.env, deferred, error) },
                    "reject promise",
                )?;
                Ok(RawValue(promise))
            }
        }
    }

    /// Parses one line into its ECS event object (what rules see), without matching it.
    #[napi(
        ts_args_type = "line: string | Buffer, format?: string",
        ts_return_type = "EcsObject"
    )]
    pub fn parse(&self, env: Env, line: Unknown, format: Option<String>) -> Result<RawValue> {
        let js = Js::new(env.raw());
        let parser = self.shared.parser(format.as_deref())?;
        parse_to_js(js, &parser, line.raw())
    }

    /// Applies the detections that have waited out the lateness by `now` (default: the clock)
    /// and returns the alerts they raise. Call it now and then on a live stream (the Express
    /// middleware and the pino transport do, from an unref'd interval).
    #[napi(ts_args_type = "now?: Date | number", ts_return_type = "Alert[]")]
    pub fn tick(&self, env: Env, now: Option<Unknown>) -> Result<RawValue> {
        let js = Js::new(env.raw());
        let now = time_arg(js, now)?;
        let alerts = self.shared.engine.tick(now);
        alerts_to_js(js, &alerts).map(RawValue)
    }

    /// Applies every waiting detection (end of input) and returns the alerts they raise.
    #[napi(ts_return_type = "Alert[]")]
    pub fn flush(&self, env: Env) -> Result<RawValue> {
        let js = Js::new(env.raw());
        let alerts = self.shared.engine.flush();
        alerts_to_js(js, &alerts).map(RawValue)
    }

    /// The correlation state (open windows, waiting detections) as JSON text, to hand to
    /// `restore` after a restart. Its size grows with the live groups.
    #[napi]
    pub fn snapshot(&self) -> Result<String> {
        serde_json::to_string(&self.shared.engine.snapshot())
            .map_err(|e| Error::new(Status::GenericFailure, e.to_string()))
    }

    /// Replaces the correlation state with a snapshot taken by an engine with the same
    /// correlation rules and shard count; state of rules since removed is dropped and reported.
    /// Throws (leaving the state as it was) when the text is not such a snapshot.
    #[napi]
    pub fn restore(&self, snapshot: String) -> Result<RestoreReport> {
        let snapshot = serde_json::from_str(&snapshot).map_err(|e| {
            Error::new(
                Status::InvalidArg,
                format!("unreadable engine snapshot: {e}"),
            )
        })?;
        let report = self
            .shared
            .engine
            .restore(&snapshot)
            .map_err(|e| Error::new(Status::InvalidArg, e.to_string()))?;
        Ok(RestoreReport {
            groups_restored: report.groups_restored as u32,
            groups_dropped: report.groups_dropped as u32,
            rules_dropped: report
                .rules_dropped
                .into_iter()
                .map(|(rule, reason)| DroppedRule { rule, reason })
                .collect(),
            pending_dropped: report.pending_dropped as u32,
        })
    }

    /// Counters of the engine, its correlator and its alert policy (they only grow, except the
    /// correlator's `groupsLive` and `pending`).
    #[napi]
    pub fn stats(&self) -> EngineStats {
        let s = self.shared.engine.stats();
        let c = &s.correlator;
        let p = &s.policy;
        EngineStats {
            events: s.events as f64,
            parse_failures: s.parse_failures as f64,
            detections: s.detections as f64,
            alerts: s.alerts as f64,
            correlator: CorrelatorStats {
                detections: c.detections as f64,
                late_dropped: c.late_dropped as f64,
                arrival_timed: c.arrival_timed as f64,
                future_retimed: c.future_retimed as f64,
                reorder_overflow: c.reorder_overflow as f64,
                missing_value: c.missing_value as f64,
                missing_group: c.missing_group as f64,
                fires: c.fires as f64,
                alerts: c.alerts as f64,
                groups_created: c.groups_created as f64,
                groups_expired: c.groups_expired as f64,
                groups_evicted: c.groups_evicted as f64,
                values_dropped: c.values_dropped as f64,
                samples_evicted: c.samples_evicted as f64,
                sample_bytes: c.sample_bytes as f64,
                groups_live: c.groups_live as f64,
                pending: c.pending as f64,
            },
            policy: PolicyStats {
                seen: p.seen as f64,
                emitted: p.emitted as f64,
                suppressed_repeat: p.suppressed_repeat as f64,
                suppressed_cooldown: p.suppressed_cooldown as f64,
                suppressed_rate: p.suppressed_rate as f64,
            },
        }
    }
}

fn parse_to_js(js: Js, parser: &Parser, line: Raw) -> Result<RawValue> {
    let event = with_line(js, line, |bytes| parser.parse(bytes).event)
        .map_err(|e| throw_convert(js, e, None))?;
    errors::json_parse(js, &event.to_json()).map(RawValue)
}

/// What `restore` kept and dropped.
#[napi(object)]
pub struct RestoreReport {
    /// Groups restored.
    pub groups_restored: u32,
    /// Groups dropped (rule gone or changed, state that does not fit, the cap on groups).
    pub groups_dropped: u32,
    /// Rules of the snapshot whose state was dropped, with the reason.
    pub rules_dropped: Vec<DroppedRule>,
    /// Waiting detections dropped because no correlation refers to their rule any more.
    pub pending_dropped: u32,
}

/// A rule whose restored state was dropped.
#[napi(object)]
pub struct DroppedRule {
    /// The correlation rule.
    pub rule: String,
    /// Why its state was dropped.
    pub reason: String,
}

/// Counters of an engine.
#[napi(object)]
pub struct EngineStats {
    /// Events processed (lines count once parsed).
    pub events: f64,
    /// Lines no parser could read (still processed, as events holding the raw line).
    pub parse_failures: f64,
    /// (rule, event) matches.
    pub detections: f64,
    /// Alerts returned (after the alert policy).
    pub alerts: f64,
    /// The correlator's counters.
    pub correlator: CorrelatorStats,
    /// The alert policy's counters.
    pub policy: PolicyStats,
}

/// Counters of the correlation state.
#[napi(object)]
pub struct CorrelatorStats {
    /// Detections of rules that correlations refer to.
    pub detections: f64,
    /// Detections older than the lateness allows, dropped.
    pub late_dropped: f64,
    /// Detections timed by arrival (no timestamp).
    pub arrival_timed: f64,
    /// Detections timed by arrival (timestamp too far ahead).
    pub future_retimed: f64,
    /// Detections applied early because too many waited.
    pub reorder_overflow: f64,
    /// Detections lacking the field a value correlation measures.
    pub missing_value: f64,
    /// Detections lacking a group-by field.
    pub missing_group: f64,
    /// Times a correlation condition held.
    pub fires: f64,
    /// Correlation alerts raised.
    pub alerts: f64,
    /// Groups created.
    pub groups_created: f64,
    /// Groups expired (window passed).
    pub groups_expired: f64,
    /// Groups evicted at the cap.
    pub groups_evicted: f64,
    /// Values dropped or only counted at the per-group cap.
    pub values_dropped: f64,
    /// Sampled events dropped (oldest first) to stay within `maxSampleBytes`.
    pub samples_evicted: f64,
    /// Bytes of sampled events held now.
    pub sample_bytes: f64,
    /// Groups held now.
    pub groups_live: f64,
    /// Detections waiting for reordering now.
    pub pending: f64,
}

/// Counters of the alert policy.
#[napi(object)]
pub struct PolicyStats {
    /// Alerts offered.
    pub seen: f64,
    /// Alerts let through.
    pub emitted: f64,
    /// Suppressed as repeats.
    pub suppressed_repeat: f64,
    /// Suppressed by the cooldown.
    pub suppressed_cooldown: f64,
    /// Suppressed by the hourly cap.
    pub suppressed_rate: f64,
}

/// Parses one line into its ECS event object with the default options (`format` as for
/// `Engine.processLine`; `auto` by default).
#[napi(
    js_name = "parse",
    ts_args_type = "line: string | Buffer, format?: string",
    ts_return_type = "EcsObject"
)]
pub fn parse_line(env: Env, line: Unknown, format: Option<String>) -> Result<RawValue> {
    static PARSERS: Mutex<Vec<(String, Parser)>> = Mutex::new(Vec::new());
    let js = Js::new(env.raw());
    let name = format.unwrap_or_else(|| "auto".to_string());
    let parser = {
        let mut cache = PARSERS
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match cache.iter().find(|(n, _)| *n == name) {
            Some((_, p)) => p.clone(),
            None => {
                let p = build_parser(&ParseOptions::default(), &name)?;
                if cache.len() >= MAX_CACHED_PARSERS {
                    cache.remove(0);
                }
                cache.push((name, p.clone()));
                p
            }
        }
    };
    parse_to_js(js, &parser, line.raw())
}

/// Registers the package's error classes for this JavaScript environment (the loader calls it).
#[napi(
    js_name = "_setErrorClasses",
    ts_args_type = "ruleError: Function, eventError: Function"
)]
pub fn set_error_classes(env: Env, rule_error: Unknown, event_error: Unknown) -> Result<()> {
    errors::register(&env, rule_error.raw(), event_error.raw())
}

/// Native throughput of an engine over JSON lines, for the benchmark: the Rust loop alone.
#[napi(object)]
pub struct NativeRate {
    /// Events processed.
    pub events: u32,
    /// Alerts raised.
    pub alerts: u32,
    /// Seconds spent building events from the JSON lines and processing them.
    pub seconds: f64,
    /// `events / seconds`.
    pub events_per_second: f64,
    /// Seconds spent processing alone (events built beforehand).
    pub process_seconds: f64,
    /// `events / processSeconds`.
    pub process_events_per_second: f64,
}

/// Times `rounds` passes of `lines` (ECS JSON, one event each) through `engine` in Rust: once
/// with the events read from JSON inside the timed loop, once with them read beforehand.
/// For the benchmark only (compare with `processBatch` on the same events).
#[napi(js_name = "_nativeBatchRate")]
pub fn native_batch_rate(
    engine: &Engine,
    lines: Vec<String>,
    rounds: Option<u32>,
) -> Result<NativeRate> {
    let rounds = rounds.unwrap_or(1).max(1);
    let core = &engine.shared.engine;
    let read = |line: &String| {
        Event::from_json(line).map_err(|e| Error::new(Status::InvalidArg, e.to_string()))
    };
    let mut alerts = 0usize;
    let mut events = 0usize;
    let start = Instant::now();
    for _ in 0..rounds {
        let batch = lines.iter().map(read).collect::<Result<Vec<Event>>>()?;
        events += batch.len();
        alerts += core.process_batch(batch).len();
    }
    let seconds = start.elapsed().as_secs_f64();
    let mut process_seconds = 0.0;
    for _ in 0..rounds {
        let batch = lines.iter().map(read).collect::<Result<Vec<Event>>>()?;
        let start = Instant::now();
        let raised = core.process_batch(batch);
        process_seconds += start.elapsed().as_secs_f64();
        drop(raised);
    }
    Ok(NativeRate {
        events: events as u32,
        alerts: alerts as u32,
        seconds,
        events_per_second: events as f64 / seconds.max(1e-12),
        process_seconds,
        process_events_per_second: events as f64 / process_seconds.max(1e-12),
    })
}
