//! `siem.Engine`: the Rust `Engine` facade with Python conventions.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString};
use siem_core::alert::Alert;
use siem_core::alert::policy::{PolicyClock, PolicyConfig};
use siem_core::correlate::CorrelatorConfig;
use siem_core::engine::{DEFAULT_LATENESS, Engine, EngineSnapshot};
use siem_core::event::{Event, LogSource};
use siem_core::parse::{FormatSpec, ParseOptions, Parser};
use siem_core::sigma::pipeline::{Pipeline, PipelineSet};

use crate::alert::{PyAlert, PyRule};
use crate::convert::{
    datetime_to_utc, event_from_py, event_from_py_sized, json_to_py, py_str, type_name,
};
use crate::errors::{self, RuleFailure};
use siem_collect::rules::{ReadError, read_pipeline, read_rules, read_text};

/// How many items of an iterable `process_batch` converts before it releases the GIL to
/// process them: large enough that the hand-over is rare, small enough that a batch of any
/// length needs little memory beyond its alerts.
const BATCH_CHUNK: usize = 512;

/// How many parsers for formats other than the engine's own are kept.
const PARSER_CACHE: usize = 16;

/// A compiled detection engine (rules, parser, correlation state, alert policy).
///
/// Build it once and share it: it is safe to use from several threads at once, and releases
/// the GIL while it parses and matches.
#[pyclass(frozen, module = "siem", name = "Engine")]
pub struct PyEngine {
    engine: Arc<Engine>,
    options: ParseOptions,
    /// Parsers for formats asked for per call, by format string.
    parsers: Mutex<Vec<(String, Arc<Parser>)>>,
    rule_errors: Vec<RuleFailure>,
}

/// One item of a batch, converted while the GIL is held.
enum Item {
    Event(Event),
    Line(Vec<u8>),
}

/// Reads a line argument: `str` or `bytes` (any bytes: invalid UTF-8 is replaced and tagged).
fn line_bytes(obj: &Bound<'_, PyAny>) -> PyResult<Option<Vec<u8>>> {
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Some(s.to_cow()?.as_bytes().to_vec()));
    }
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(Some(b.as_bytes().to_vec()));
    }
    if obj.is_instance_of::<pyo3::types::PyByteArray>() {
        return Ok(Some(obj.extract::<Vec<u8>>()?));
    }
    Ok(None)
}

/// A duration given in seconds (int or float) or as a `datetime.timedelta`.
fn duration(obj: &Bound<'_, PyAny>, option: &str) -> PyResult<Duration> {
    let py = obj.py();
    if let Ok(seconds) = obj.extract::<f64>() {
        if obj.is_instance_of::<pyo3::types::PyBool>() {
            return Err(errors::parse_error(
                py,
                format!("{option}: expected seconds or a timedelta, got bool"),
                Some(option),
            ));
        }
        return Duration::try_from_secs_f64(seconds).map_err(|_| {
            errors::parse_error(
                py,
                format!("{option}: {seconds} is not a duration in seconds (0 or more)"),
                Some(option),
            )
        });
    }
    obj.extract::<Duration>().map_err(|_| {
        errors::parse_error(
            py,
            format!(
                "{option}: expected seconds or a timedelta (not negative), got {}",
                type_name(obj)
            ),
            Some(option),
        )
    })
}

fn usize_option(obj: &Bound<'_, PyAny>, option: &str) -> PyResult<usize> {
    obj.extract::<usize>().map_err(|_| {
        errors::parse_error(
            obj.py(),
            format!(
                "{option}: expected a whole number (0 or more), got {}",
                obj.repr().map(|r| r.to_string()).unwrap_or_default()
            ),
            Some(option),
        )
    })
}

/// Reads a logsource: a dict of `product` / `category` / `service`, or the `key=value,...`
/// text the CLI's `--logsource` takes.
fn logsource(obj: &Bound<'_, PyAny>) -> PyResult<LogSource> {
    let py = obj.py();
    let bad = |m: String| errors::parse_error(py, format!("logsource: {m}"), Some("logsource"));
    if let Ok(s) = obj.cast::<PyString>() {
        return LogSource::parse_spec(&s.to_cow()?).map_err(bad);
    }
    let Ok(dict) = obj.cast::<PyDict>() else {
        return Err(bad(format!(
            "expected a dict of product/category/service or \"key=value,...\", got {}",
            type_name(obj)
        )));
    };
    let mut ls = LogSource::default();
    for (k, v) in dict.iter() {
        let key: String = k
            .extract()
            .map_err(|_| bad("keys must be strings".into()))?;
        let value = if v.is_none() {
            None
        } else {
            Some(py_str(v.cast::<PyString>().map_err(|_| {
                bad(format!("{key}: expected a string, got {}", type_name(&v)))
            })?)?)
        };
        match key.as_str() {
            "product" => ls.product = value,
            "category" => ls.category = value,
            "service" => ls.service = value,
            other => {
                return Err(bad(format!(
                    "unknown key {other:?}: expected product, category or service"
                )));
            }
        }
    }
    Ok(ls)
}

/// Builds parse options from the keyword arguments shared by `Engine(...)` and `siem.parse`.
pub fn parse_options(
    py: Python<'_>,
    format: Option<&str>,
    timezone: Option<&str>,
    logsource_arg: Option<&Bound<'_, PyAny>>,
    logsource_override: bool,
    max_line_bytes: Option<usize>,
    reference_time: Option<&Bound<'_, PyAny>>,
) -> PyResult<ParseOptions> {
    let mut options = ParseOptions::default();
    if let Some(format) = format {
        options.format = format
            .parse::<FormatSpec>()
            .map_err(|e| errors::parse_error(py, e, Some("format")))?;
    }
    if let Some(tz) = timezone {
        options.timezone = tz.parse::<chrono_tz::Tz>().map_err(|_| {
            errors::parse_error(
                py,
                format!("timezone: unknown time zone {tz:?} (an IANA name such as \"Europe/Berlin\" or \"UTC\")"),
                Some("timezone"),
            )
        })?;
    }
    if let Some(ls) = logsource_arg.filter(|l| !l.is_none()) {
        options.logsource = logsource(ls)?;
    }
    options.logsource_override = logsource_override;
    if let Some(max) = max_line_bytes {
        if max == 0 {
            return Err(errors::parse_error(
                py,
                "max_line_bytes: must be at least 1".into(),
                Some("max_line_bytes"),
            ));
        }
        options.max_line_bytes = max;
    }
    if let Some(t) = reference_time.filter(|t| !t.is_none()) {
        options.reference_time = Some(datetime_to_utc(t).map_err(|e| {
            errors::parse_error(py, format!("reference_time: {e}"), Some("reference_time"))
        })?);
    }
    Ok(options)
}

/// Builds a parser, reporting a grok expression that does not compile as `siem.ParseError`.
pub fn new_parser(py: Python<'_>, options: ParseOptions) -> PyResult<Parser> {
    Parser::new(options).map_err(|e| errors::parse_error(py, e.to_string(), Some("format")))
}

/// Applies the keys of a `correlator={...}` dict (the fields of Rust's `CorrelatorConfig`).
fn correlator_config(dict: &Bound<'_, PyDict>, config: &mut CorrelatorConfig) -> PyResult<()> {
    let py = dict.py();
    for (k, v) in dict.iter() {
        let key: String = k.extract()?;
        let option = format!("correlator.{key}");
        match key.as_str() {
            "lateness" => config.lateness = duration(&v, &option)?,
            "max_groups" => config.max_groups = usize_option(&v, &option)?.max(1),
            "max_pending" => config.max_pending = usize_option(&v, &option)?,
            "sample_events" => config.sample_events = usize_option(&v, &option)?,
            "max_sample_bytes" => config.max_sample_bytes = usize_option(&v, &option)?,
            "max_values_per_group" => {
                config.max_values_per_group = usize_option(&v, &option)?.max(1)
            }
            "max_clock_skew" => {
                config.max_clock_skew = if v.is_none() {
                    None
                } else {
                    Some(duration(&v, &option)?)
                }
            }
            other => {
                return Err(errors::parse_error(
                    py,
                    format!(
                        "correlator: unknown option {other:?} (expected lateness, max_groups, \
                         max_pending, sample_events, max_sample_bytes, max_values_per_group or \
                         max_clock_skew)"
                    ),
                    Some("correlator"),
                ));
            }
        }
    }
    Ok(())
}

/// Applies the keys of a `policy={...}` dict (the fields of Rust's `PolicyConfig`).
fn policy_config(dict: &Bound<'_, PyDict>, config: &mut PolicyConfig) -> PyResult<()> {
    let py = dict.py();
    let optional_duration = |v: &Bound<'_, PyAny>, option: &str| -> PyResult<Option<Duration>> {
        if v.is_none() {
            Ok(None)
        } else {
            duration(v, option).map(Some)
        }
    };
    for (k, v) in dict.iter() {
        let key: String = k.extract()?;
        let option = format!("policy.{key}");
        match key.as_str() {
            "suppress_repeats" => config.suppress_repeats = optional_duration(&v, &option)?,
            "cooldown" => config.cooldown = optional_duration(&v, &option)?,
            "max_alerts_per_hour" => {
                config.max_alerts_per_hour = if v.is_none() {
                    None
                } else {
                    Some(v.extract::<u32>().map_err(|_| {
                        errors::parse_error(
                            py,
                            format!("{option}: expected a whole number"),
                            Some("policy"),
                        )
                    })?)
                }
            }
            "detection_group_fields" => {
                config.detection_group_fields = v
                    .extract::<Vec<String>>()
                    .map_err(|_| {
                        errors::parse_error(
                            py,
                            format!("{option}: expected a list of field names"),
                            Some("policy"),
                        )
                    })?
                    .into_iter()
                    .map(Into::into)
                    .collect()
            }
            "clock" => {
                let clock: String = v.extract()?;
                config.clock = match clock.as_str() {
                    "alert_time" => PolicyClock::AlertTime,
                    "arrival" => PolicyClock::Arrival,
                    other => {
                        return Err(errors::parse_error(
                            py,
                            format!("{option}: {other:?} is not alert_time or arrival"),
                            Some("policy"),
                        ));
                    }
                }
            }
            "max_keys" => config.max_keys = usize_option(&v, &option)?.max(1),
            other => {
                return Err(errors::parse_error(
                    py,
                    format!(
                        "policy: unknown option {other:?} (expected suppress_repeats, cooldown, \
                         max_alerts_per_hour, detection_group_fields, clock or max_keys)"
                    ),
                    Some("policy"),
                ));
            }
        }
    }
    Ok(())
}

/// One entry of `rules=[...]`: a YAML text or a file or folder path.
enum RuleSource {
    Yaml { text: String, name: String },
    Path(PathBuf),
}

fn rule_sources(rules: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<RuleSource>> {
    let Some(rules) = rules.filter(|r| !r.is_none()) else {
        return Ok(Vec::new());
    };
    // A single string or path is one entry, not a sequence of characters.
    let items: Vec<Bound<'_, PyAny>> =
        if rules.is_instance_of::<PyString>() || rules.hasattr("__fspath__")? {
            vec![rules.clone()]
        } else {
            rules.try_iter()?.collect::<PyResult<_>>()?
        };
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        if let Ok(s) = item.cast::<PyString>() {
            let text = s.to_cow()?.into_owned();
            // YAML rules span lines; a one-line string names a file or folder.
            if text.contains('\n') {
                out.push(RuleSource::Yaml {
                    text,
                    name: format!("<rules[{i}]>"),
                });
            } else {
                out.push(RuleSource::Path(PathBuf::from(text)));
            }
        } else if item.hasattr("__fspath__")? {
            out.push(RuleSource::Path(item.extract::<PathBuf>()?));
        } else {
            return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                "rules[{i}]: expected a YAML string or a file or folder path, got {}",
                type_name(item)
            )));
        }
    }
    Ok(out)
}

/// Reads `pipelines=[...]`: `None` keeps the engine's default pipelines (`Ok(None)`); otherwise
/// the set of the pipelines listed, each a bundled name, a file path (`str` or
/// `os.PathLike`) or a YAML text (a `str` spanning several lines). `[]` is the empty set: rules
/// as written.
fn pipeline_set(
    py: Python<'_>,
    pipelines: Option<&Bound<'_, PyAny>>,
) -> PyResult<Option<PipelineSet>> {
    let Some(pipelines) = pipelines.filter(|p| !p.is_none()) else {
        return Ok(None);
    };
    // A single name, path or text is one entry, not a sequence of characters.
    let items: Vec<Bound<'_, PyAny>> =
        if pipelines.is_instance_of::<PyString>() || pipelines.hasattr("__fspath__")? {
            vec![pipelines.clone()]
        } else {
            pipelines.try_iter()?.collect::<PyResult<_>>()?
        };
    let bad = |i: usize, message: String| {
        errors::parse_error(py, format!("pipelines[{i}]: {message}"), Some("pipelines"))
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let pipeline = if let Ok(s) = item.cast::<PyString>() {
            let text = s.to_cow()?;
            if text.contains('\n') {
                Pipeline::from_yaml(&text).map_err(|e| bad(i, format!("YAML text: {e}")))?
            } else {
                // A bundled name, else a file (see `read_pipeline` for which wins).
                read_pipeline(&text).map_err(|e| bad(i, e.to_string()))?
            }
        } else if item.hasattr("__fspath__")? {
            // A path object is always a file, even when it reads like a bundled name.
            let path: PathBuf = item.extract()?;
            pipeline_file(&path).map_err(|e| bad(i, e.to_string()))?
        } else {
            return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                "pipelines[{i}]: expected a bundled pipeline name, a file path or a YAML \
                 string, got {}",
                type_name(item)
            )));
        };
        out.push(pipeline);
    }
    Ok(Some(PipelineSet::new(out)))
}

fn pipeline_file(path: &Path) -> Result<Pipeline, ReadError> {
    let text = read_text(path)?;
    Pipeline::from_yaml(&text).map_err(|source| ReadError::Pipeline {
        path: path.to_path_buf(),
        source,
    })
}

#[pymethods]
impl PyEngine {
    /// See `siem/_siem.pyi` for the documentation of every argument.
    #[new]
    #[pyo3(signature = (
        rules = None,
        pipelines = None,
        *,
        lenient = false,
        format = "auto",
        timezone = "UTC",
        logsource = None,
        logsource_override = false,
        max_line_bytes = None,
        reference_time = None,
        placeholders = None,
        routing = true,
        correlator = None,
        policy = None,
        shards = 8,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        rules: Option<&Bound<'_, PyAny>>,
        pipelines: Option<&Bound<'_, PyAny>>,
        lenient: bool,
        format: &str,
        timezone: &str,
        logsource: Option<&Bound<'_, PyAny>>,
        logsource_override: bool,
        max_line_bytes: Option<usize>,
        reference_time: Option<&Bound<'_, PyAny>>,
        placeholders: Option<&Bound<'_, PyDict>>,
        routing: bool,
        correlator: Option<&Bound<'_, PyDict>>,
        policy: Option<&Bound<'_, PyDict>>,
        shards: usize,
    ) -> PyResult<PyEngine> {
        let options = parse_options(
            py,
            Some(format),
            Some(timezone),
            logsource,
            logsource_override,
            max_line_bytes,
            reference_time,
        )?;
        let mut builder = Engine::builder();
        builder.parse_options(options.clone()).shards(shards);
        let mut correlator_cfg = CorrelatorConfig {
            lateness: DEFAULT_LATENESS,
            ..CorrelatorConfig::default()
        };
        if let Some(c) = correlator {
            correlator_config(c, &mut correlator_cfg)?;
        }
        builder.correlator(correlator_cfg);
        let mut policy_cfg = PolicyConfig::default();
        if let Some(p) = policy {
            policy_config(p, &mut policy_cfg)?;
        }
        builder.policy(policy_cfg);
        builder.rules().routing(routing);
        if let Some(placeholders) = placeholders {
            for (k, v) in placeholders.iter() {
                let name: String = k.extract()?;
                let values: Vec<String> = if v.is_instance_of::<PyString>() {
                    vec![v.extract()?]
                } else {
                    v.extract().map_err(|_| {
                        errors::parse_error(
                            py,
                            format!("placeholders[{name:?}]: expected a list of strings"),
                            Some("placeholders"),
                        )
                    })?
                };
                builder.rules().placeholder(&name, values);
            }
        }
        if let Some(set) = pipeline_set(py, pipelines)? {
            builder.pipelines(set);
        }

        let sources = rule_sources(rules)?;
        let mut failures = Vec::new();
        // Reading files and compiling can take a while for large rule folders: without the GIL.
        let (engine, rule_errors) = py
            .detach(|| {
                let mut paths = Vec::new();
                for source in &sources {
                    match source {
                        RuleSource::Yaml { text, name } => {
                            builder.rules_yaml(text, Some(name));
                        }
                        RuleSource::Path(p) => paths.push(p.clone()),
                    }
                }
                let (files, read_errors) = read_rules(&paths);
                for file in &files {
                    builder.rules_yaml(&file.text, Some(&file.path.to_string_lossy()));
                }
                failures.extend(read_errors.iter().map(|e| RuleFailure {
                    path: e.path().map(|p| p.to_string_lossy().into_owned()),
                    rule_id: None,
                    reason: e.reason(),
                    document: None,
                }));
                builder.try_build()
            })
            .map_err(|e| errors::parse_error(py, e.to_string(), Some("format")))?;
        failures.extend(rule_errors.iter().map(RuleFailure::from_rule_error));
        if !failures.is_empty() && !lenient {
            return Err(errors::rule_error(py, &failures));
        }
        Ok(PyEngine {
            engine: Arc::new(engine),
            options,
            parsers: Mutex::new(Vec::new()),
            rule_errors: failures,
        })
    }

    /// Processes one event (a dict of ECS fields, nested or dotted keys) and returns its
    /// alerts.
    fn process<'py>(
        &self,
        py: Python<'py>,
        event: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyList>> {
        let event = event_from_py(event)?;
        let engine = &self.engine;
        let alerts = py.detach(|| engine.process_event(event));
        PyAlert::list(py, alerts)
    }

    /// Parses one raw log line (`str` or `bytes`) and processes it.
    #[pyo3(signature = (line, format = None))]
    fn process_line<'py>(
        &self,
        py: Python<'py>,
        line: &Bound<'py, PyAny>,
        format: Option<&str>,
    ) -> PyResult<Bound<'py, PyList>> {
        let bytes = line_bytes(line)?.ok_or_else(|| {
            errors::event_error(
                py,
                format!(
                    "a line must be str or bytes, got {}; use process() for dict events",
                    type_name(line)
                ),
                None,
            )
        })?;
        let parser = self.parser_for(py, format)?;
        let engine = &self.engine;
        let alerts = py.detach(|| match &parser {
            None => engine.process_line(&bytes),
            Some(p) => engine.process_event(p.parse(&bytes).event),
        });
        PyAlert::list(py, alerts)
    }

    /// Processes an iterable of events (dicts) and raw lines (`str` / `bytes`) in order, and
    /// returns the alerts of all of them. Converts a chunk of items, then releases the GIL
    /// while it parses and matches the chunk.
    #[pyo3(signature = (items, format = None))]
    fn process_batch<'py>(
        &self,
        py: Python<'py>,
        items: &Bound<'py, PyAny>,
        format: Option<&str>,
    ) -> PyResult<Bound<'py, PyList>> {
        let parser = self.parser_for(py, format)?;
        let engine = &self.engine;
        let mut iter = items.try_iter()?;
        let mut alerts: Vec<Alert> = Vec::new();
        let mut fields = 0;
        loop {
            let mut chunk: Vec<Item> = Vec::with_capacity(BATCH_CHUNK);
            for item in iter.by_ref().take(BATCH_CHUNK) {
                let item = item?;
                match line_bytes(&item)? {
                    Some(bytes) => chunk.push(Item::Line(bytes)),
                    None => {
                        let event = event_from_py_sized(&item, fields)?;
                        fields = event.len();
                        chunk.push(Item::Event(event));
                    }
                }
            }
            if chunk.is_empty() {
                break;
            }
            let done = chunk.len() < BATCH_CHUNK;
            let found = py.detach(|| {
                let parser = parser.as_deref().unwrap_or(engine.parser());
                engine.process_batch_at(
                    chunk.into_iter().map(|item| match item {
                        Item::Event(e) => e,
                        Item::Line(bytes) => parser.parse(&bytes).event,
                    }),
                    Utc::now(),
                )
            });
            alerts.extend(found);
            if done {
                break;
            }
        }
        PyAlert::list(py, alerts)
    }

    /// Parses one raw line with the engine's parse options (or `format`) and returns the ECS
    /// event as a nested dict, without matching it.
    #[pyo3(signature = (line, format = None))]
    fn parse<'py>(
        &self,
        py: Python<'py>,
        line: &Bound<'py, PyAny>,
        format: Option<&str>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let bytes = line_bytes(line)?.ok_or_else(|| {
            errors::event_error(
                py,
                format!("a line must be str or bytes, got {}", type_name(line)),
                None,
            )
        })?;
        let parser = self.parser_for(py, format)?;
        let engine = &self.engine;
        let json = py.detach(|| {
            match &parser {
                None => engine.parse(&bytes),
                Some(p) => p.parse(&bytes),
            }
            .event
            .to_json()
        });
        json_to_py(py, &json)
    }

    /// Applies the detections held back for late events whose time is at least the lateness
    /// before `now` (default: the clock) and returns the alerts they raise. Live callers call
    /// it now and then so that a quiet stream still gets its correlation alerts.
    #[pyo3(signature = (now = None))]
    fn tick<'py>(
        &self,
        py: Python<'py>,
        now: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyList>> {
        let now = match now.filter(|n| !n.is_none()) {
            Some(n) => datetime_to_utc(n)?,
            None => Utc::now(),
        };
        let engine = &self.engine;
        let alerts = py.detach(|| engine.tick(now));
        PyAlert::list(py, alerts)
    }

    /// Applies every held-back detection (end of input) and returns the alerts they raise.
    fn flush<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let engine = &self.engine;
        let alerts = py.detach(|| engine.flush());
        PyAlert::list(py, alerts)
    }

    /// The counters of the engine, its correlator and its alert policy.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let stats = self.engine.stats();
        let json = serde_json::to_string(&stats)
            .map_err(|e| errors::siem_error(py, format!("stats: {e}")))?;
        json_to_py(py, &json)
    }

    /// The correlation state (open windows) as JSON bytes, to hand to `restore` after a
    /// restart.
    fn snapshot<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let engine = &self.engine;
        let json = py
            .detach(|| serde_json::to_vec(&engine.snapshot()))
            .map_err(|e| errors::siem_error(py, format!("snapshot: {e}")))?;
        Ok(PyBytes::new(py, &json))
    }

    /// Replaces the correlation state with a snapshot taken by an engine with the same
    /// correlation rules and shard count. Returns what was kept and dropped.
    fn restore<'py>(
        &self,
        py: Python<'py>,
        snapshot: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let bytes = line_bytes(snapshot)?.ok_or_else(|| {
            pyo3::exceptions::PyTypeError::new_err(format!(
                "restore() takes the bytes (or str) snapshot() returned, got {}",
                type_name(snapshot)
            ))
        })?;
        let engine = &self.engine;
        let report = py
            .detach(|| {
                let snapshot: EngineSnapshot = serde_json::from_slice(&bytes)
                    .map_err(|e| format!("unreadable engine snapshot: {e}"))?;
                engine.restore(&snapshot).map_err(|e| e.to_string())
            })
            .map_err(|e| errors::siem_error(py, e))?;
        let dict = PyDict::new(py);
        dict.set_item("groups_restored", report.groups_restored)?;
        dict.set_item("groups_dropped", report.groups_dropped)?;
        dict.set_item("rules_dropped", report.rules_dropped)?;
        dict.set_item("pending_dropped", report.pending_dropped)?;
        Ok(dict)
    }

    /// The compiled detection rules (metadata), in load order.
    #[getter]
    fn rules(&self) -> Vec<PyRule> {
        self.engine
            .rules()
            .rules()
            .map(|(_, meta)| PyRule {
                meta: Arc::clone(meta),
            })
            .collect()
    }

    /// The loaded correlation rules (metadata).
    #[getter]
    fn correlation_rules(&self) -> Vec<PyRule> {
        self.engine
            .correlations()
            .map(|set| {
                set.rules()
                    .iter()
                    .map(|r| PyRule {
                        meta: Arc::clone(&r.meta),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The rules that could not be loaded (with `lenient=True`), as `siem.RuleError`s.
    #[getter]
    fn rule_errors<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        for f in &self.rule_errors {
            list.append(f.to_exception(py)?)?;
        }
        Ok(list)
    }

    fn __repr__(&self) -> String {
        format!(
            "<siem.Engine rules={} correlation_rules={} rule_errors={}>",
            self.engine.rules().len(),
            self.engine.correlations().map_or(0, |s| s.len()),
            self.rule_errors.len()
        )
    }
}

impl PyEngine {
    /// The parser for `format`: `None` for the engine's own (no format given, or the same
    /// one), else a cached parser with the engine's other options.
    fn parser_for(&self, py: Python<'_>, format: Option<&str>) -> PyResult<Option<Arc<Parser>>> {
        let Some(format) = format else {
            return Ok(None);
        };
        let spec = format
            .parse::<FormatSpec>()
            .map_err(|e| errors::parse_error(py, e, Some("format")))?;
        if spec == self.options.format {
            return Ok(None);
        }
        let mut cache = self.parsers.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, parser)) = cache.iter().find(|(f, _)| f == format) {
            return Ok(Some(Arc::clone(parser)));
        }
        let parser = Arc::new(new_parser(
            py,
            ParseOptions {
                format: spec,
                ..self.options.clone()
            },
        )?);
        if cache.len() >= PARSER_CACHE {
            cache.remove(0);
        }
        cache.push((format.to_string(), Arc::clone(&parser)));
        Ok(Some(parser))
    }
}

/// `siem.parse(line, format="auto", ...)`: one raw log line as a nested ECS dict.
#[pyfunction]
#[pyo3(signature = (line, format = "auto", *, timezone = "UTC", logsource = None, logsource_override = false, max_line_bytes = None, reference_time = None))]
#[allow(clippy::too_many_arguments)]
pub fn parse<'py>(
    py: Python<'py>,
    line: &Bound<'py, PyAny>,
    format: &str,
    timezone: &str,
    logsource: Option<&Bound<'py, PyAny>>,
    logsource_override: bool,
    max_line_bytes: Option<usize>,
    reference_time: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let bytes = line_bytes(line)?.ok_or_else(|| {
        errors::event_error(
            py,
            format!("a line must be str or bytes, got {}", type_name(line)),
            None,
        )
    })?;
    let options = parse_options(
        py,
        Some(format),
        Some(timezone),
        logsource,
        logsource_override,
        max_line_bytes,
        reference_time,
    )?;
    let parser = cached_parser(py, options)?;
    let json = py.detach(|| parser.parse(&bytes).event.to_json());
    json_to_py(py, &json)
}

/// Parsers for `siem.parse`, by their options, so that a loop calling `siem.parse` does not
/// recompile a grok expression per line. Bounded.
static PARSE_CACHE: Mutex<Vec<(String, Arc<Parser>)>> = Mutex::new(Vec::new());

fn cached_parser(py: Python<'_>, options: ParseOptions) -> PyResult<Arc<Parser>> {
    let key = format!("{options:?}");
    let mut cache = PARSE_CACHE.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, parser)) = cache.iter().find(|(k, _)| *k == key) {
        return Ok(Arc::clone(parser));
    }
    let parser = Arc::new(new_parser(py, options)?);
    if cache.len() >= PARSER_CACHE {
        cache.remove(0);
    }
    cache.push((key, Arc::clone(&parser)));
    Ok(parser)
}

/// `siem._siem._native_batch_rate(engine, lines)`: events per second of the Rust loop that
/// `process_batch` runs (parse each line, match, correlate), timed without Python objects.
/// For the benchmark script only.
#[pyfunction]
#[pyo3(name = "_native_batch_rate")]
pub fn native_batch_rate(py: Python<'_>, engine: &Bound<'_, PyEngine>, lines: Vec<Vec<u8>>) -> f64 {
    let engine = &engine.get().engine;
    py.detach(|| {
        let start = Instant::now();
        let n = lines.len();
        let alerts =
            engine.process_batch_at(lines.iter().map(|l| engine.parse(l).event), Utc::now());
        let elapsed = start.elapsed().as_secs_f64();
        std::hint::black_box(alerts);
        n as f64 / elapsed.max(1e-9)
    })
}

/// `siem._siem._native_event_rate(engine, events)`: events per second of the Rust loop over
/// ready-made events (the dicts are converted before the clock starts). For the benchmark.
#[pyfunction]
#[pyo3(name = "_native_event_rate")]
pub fn native_event_rate(
    py: Python<'_>,
    engine: &Bound<'_, PyEngine>,
    events: &Bound<'_, PyList>,
) -> PyResult<f64> {
    let converted: Vec<Event> = events
        .iter()
        .map(|e| event_from_py(&e))
        .collect::<PyResult<_>>()?;
    let engine = &engine.get().engine;
    Ok(py.detach(|| {
        let n = converted.len();
        let start = Instant::now();
        let alerts = engine.process_batch_at(converted, Utc::now());
        let elapsed = start.elapsed().as_secs_f64();
        std::hint::black_box(alerts);
        n as f64 / elapsed.max(1e-9)
    }))
}

/// `siem._siem._native_json_rate(engine, texts)`: events per second of the Rust loop that
/// reads ECS events from JSON text (`Event::from_json`) and processes them: what a Rust
/// program that receives ECS JSON does, to compare `process_batch(dicts)` with. For the
/// benchmark script only.
#[pyfunction]
#[pyo3(name = "_native_json_rate")]
pub fn native_json_rate(py: Python<'_>, engine: &Bound<'_, PyEngine>, texts: Vec<String>) -> f64 {
    let engine = &engine.get().engine;
    py.detach(|| {
        let start = Instant::now();
        let n = texts.len();
        // Read as processed, as a program reading a stream would (the texts are valid JSON
        // objects: the benchmark writes them with json.dumps).
        let events = texts
            .iter()
            .map(|t| Event::from_json(t).unwrap_or_default());
        let alerts = engine.process_batch_at(events, Utc::now());
        let elapsed = start.elapsed().as_secs_f64();
        std::hint::black_box(alerts);
        n as f64 / elapsed.max(1e-9)
    })
}

/// `siem._siem._event_json(event)`: the JSON siem writes for an event given as a dict (the
/// conversion `process` uses). With `_event_json_from_text`, lets the tests check the dict
/// conversion against `Event::from_json`, its reference.
#[pyfunction]
#[pyo3(name = "_event_json")]
pub fn event_json(event: &Bound<'_, PyAny>) -> PyResult<String> {
    Ok(event_from_py(event)?.to_json())
}

/// `siem._siem._event_json_from_text(text)`: the JSON siem writes for an event read by
/// `Event::from_json` from JSON text.
#[pyfunction]
#[pyo3(name = "_event_json_from_text")]
pub fn event_json_from_text(py: Python<'_>, text: &str) -> PyResult<String> {
    Event::from_json(text)
        .map(|e| e.to_json())
        .map_err(|e| errors::event_error(py, e.to_string(), None))
}
