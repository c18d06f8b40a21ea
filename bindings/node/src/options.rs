//! The options object of `new Engine({...})` and how it becomes an [`EngineBuilder`].

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use napi::Either;
use napi_derive::napi;
use siem_core::alert::policy::PolicyConfig;
use siem_core::correlate::CorrelatorConfig;
use siem_core::engine::{DEFAULT_LATENESS, EngineBuilder};
use siem_core::event::LogSource;
use siem_core::parse::{DEFAULT_MAX_LINE_BYTES, FormatSpec, ParseOptions};

use siem_collect::rules::{read_pipeline, read_rules};
use siem_core::sigma::pipeline::{Pipeline, PipelineSet};

use crate::errors::RuleProblem;

/// A rule text with the name it is reported under.
#[napi(object)]
pub struct RuleText {
    /// The YAML of one or more Sigma documents.
    pub yaml: String,
    /// The name errors and alerts (`rule.path`) give it, e.g. the file it came from.
    pub path: Option<String>,
}

/// A Sigma logsource: which rules see an event.
#[napi(object)]
#[derive(Default, Clone)]
pub struct Logsource {
    /// Sigma `product`, e.g. `linux`, `windows`, `nodejs`.
    pub product: Option<String>,
    /// Sigma `category`, e.g. `webserver`, `application`.
    pub category: Option<String>,
    /// Sigma `service`, e.g. `sshd`.
    pub service: Option<String>,
}

impl Logsource {
    /// The siem-core logsource.
    pub fn to_core(&self) -> LogSource {
        LogSource::new(
            self.product.as_deref(),
            self.category.as_deref(),
            self.service.as_deref(),
        )
    }
}

/// Bounds and timing of the correlation state (see `CorrelatorConfig` in siem-core).
#[napi(object)]
#[derive(Default)]
pub struct CorrelatorOptions {
    /// Most groups held at once; the least recently updated is evicted beyond. Default 1,000,000.
    pub max_groups: Option<u32>,
    /// Most detections waiting for reordering. Default 100,000.
    pub max_pending: Option<u32>,
    /// How many of a window's newest events a correlation alert carries. Default 5.
    pub sample_events: Option<u32>,
    /// Most bytes of sampled events held at once, over all groups; the oldest samples go first
    /// beyond. Default 64 MiB.
    pub max_sample_bytes: Option<f64>,
    /// Most values one group keeps. Default 10,000.
    pub max_values_per_group: Option<u32>,
    /// Milliseconds an event's time may lie ahead of its arrival before arrival time is used
    /// instead; `null` trusts every timestamp. Default one hour.
    pub max_clock_skew: Option<Either<f64, napi::bindgen_prelude::Null>>,
}

/// The alert lifecycle: suppression of repeats, cooldown, a rate cap. Off by default.
#[napi(object)]
#[derive(Default)]
pub struct PolicyOptions {
    /// Milliseconds during which another alert of the same rule and group is suppressed.
    pub suppress_repeats: Option<f64>,
    /// Milliseconds during which any other alert of the same rule is suppressed.
    pub cooldown: Option<f64>,
    /// Most alerts let through in any sliding hour.
    pub max_alerts_per_hour: Option<u32>,
    /// For detection alerts, the event fields whose values form the group of `suppressRepeats`.
    pub detection_group_fields: Option<Vec<String>>,
}

/// Options of `new Engine(options)`.
#[napi(object)]
#[derive(Default)]
pub struct EngineOptions {
    /// Sigma rules (detections, filters, correlations, in any mix): paths of rule files or
    /// folders (searched recursively for `*.yml` / `*.yaml`), YAML texts (a string holding a
    /// line break is YAML), or `{ yaml, path }` objects.
    pub rules: Option<Vec<Either<String, RuleText>>>,
    /// pySigma processing pipelines that rewrite the rules (and correlation rules' `group-by`
    /// fields) before they compile: bundled names (`windows`: Sigma's Windows field names onto
    /// the parsed `winlog.*` fields; `ecs`: webserver, proxy, firewall, DNS and Linux names
    /// onto ECS), pipeline file paths, or a pipeline's YAML text (a string holding a line
    /// break). Left out (or `null`): the engine's defaults, `['windows', 'ecs']`, each of which
    /// only touches rules of its own logsources; `[]`: the rules as written.
    pub pipelines: Option<Either<Vec<String>, napi::bindgen_prelude::Null>>,
    /// Load the rules that compile and keep the others' errors in `engine.errors` instead of
    /// throwing a `RuleError`.
    pub lenient: Option<bool>,
    /// How `processLine` reads lines when it is given no format: `auto` (default), `syslog`,
    /// `json`, `apache`, `nginx`, `cef`, `leef`, `kv` or `grok:<expression>`.
    pub format: Option<String>,
    /// IANA time zone of timestamps that carry none (classic syslog). Default `UTC`.
    pub timezone: Option<String>,
    /// Logsource given to parsed lines where the parser cannot tell.
    pub logsource: Option<Logsource>,
    /// Whether `logsource` replaces what the parser found instead of filling gaps.
    pub logsource_override: Option<bool>,
    /// Longest line read; longer ones are cut and tagged. Default 1 MiB.
    pub max_line_bytes: Option<u32>,
    /// Milliseconds a detection waits for out-of-order ones before correlation (default 2000).
    /// Call `tick()` now and then so that waiting detections are applied on a quiet stream.
    pub lateness: Option<f64>,
    /// Bounds of the correlation state.
    pub correlator: Option<CorrelatorOptions>,
    /// The alert lifecycle policy.
    pub policy: Option<PolicyOptions>,
    /// Independently locked shards of the correlation state (default 8).
    pub shards: Option<u32>,
}

/// A bad option: thrown as a `TypeError`-like plain error by the caller.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct OptionError(pub String);

fn duration_ms(name: &str, ms: f64) -> Result<Duration, OptionError> {
    if ms.is_finite() && ms >= 0.0 {
        Ok(Duration::from_secs_f64(ms / 1000.0))
    } else {
        Err(OptionError(format!(
            "{name} must be a non-negative number of milliseconds, got {ms}"
        )))
    }
}

/// The parse options of an engine's options (also used by the module-level `parse`).
pub fn parse_options(options: &EngineOptions) -> Result<ParseOptions, OptionError> {
    let mut parse = ParseOptions::default();
    if let Some(format) = &options.format {
        parse.format = FormatSpec::from_str(format).map_err(OptionError)?;
    }
    if let Some(tz) = &options.timezone {
        parse.timezone = chrono_tz::Tz::from_str(tz)
            .map_err(|_| OptionError(format!("unknown time zone {tz:?}")))?;
    }
    if let Some(ls) = &options.logsource {
        parse.logsource = ls.to_core();
    }
    parse.logsource_override = options.logsource_override.unwrap_or(false);
    parse.max_line_bytes = options
        .max_line_bytes
        .map_or(DEFAULT_MAX_LINE_BYTES, |n| n.max(1) as usize);
    Ok(parse)
}

/// The pipelines of `options.pipelines`, or `None` for the engine's defaults.
pub fn pipeline_set(options: &EngineOptions) -> Result<Option<PipelineSet>, OptionError> {
    let Some(Either::A(specs)) = &options.pipelines else {
        return Ok(None);
    };
    let mut pipelines = Vec::with_capacity(specs.len());
    for (i, spec) in specs.iter().enumerate() {
        let pipeline = if spec.contains('\n') {
            Pipeline::from_yaml(spec)
                .map_err(|e| OptionError(format!("pipelines[{i}]: YAML text: {e}")))?
        } else {
            // A bundled name, else a file (see `read_pipeline` for which wins).
            read_pipeline(spec).map_err(|e| OptionError(format!("pipelines[{i}]: {e}")))?
        };
        pipelines.push(pipeline);
    }
    Ok(Some(PipelineSet::new(pipelines)))
}

/// Everything but the rules: parse options, pipelines, correlator, policy, shards.
pub fn configure(builder: &mut EngineBuilder, options: &EngineOptions) -> Result<(), OptionError> {
    builder.parse_options(parse_options(options)?);
    if let Some(set) = pipeline_set(options)? {
        builder.pipelines(set);
    }
    let mut correlator = CorrelatorConfig {
        lateness: DEFAULT_LATENESS,
        ..CorrelatorConfig::default()
    };
    if let Some(ms) = options.lateness {
        correlator.lateness = duration_ms("lateness", ms)?;
    }
    if let Some(c) = &options.correlator {
        if let Some(n) = c.max_groups {
            correlator.max_groups = n as usize;
        }
        if let Some(n) = c.max_pending {
            correlator.max_pending = n as usize;
        }
        if let Some(n) = c.sample_events {
            correlator.sample_events = n as usize;
        }
        if let Some(n) = c.max_sample_bytes {
            if !(n >= 0.0 && n.is_finite()) {
                return Err(OptionError(format!(
                    "correlator.maxSampleBytes must be a non-negative number, got {n}"
                )));
            }
            correlator.max_sample_bytes = n as usize;
        }
        if let Some(n) = c.max_values_per_group {
            correlator.max_values_per_group = n as usize;
        }
        match &c.max_clock_skew {
            Some(Either::A(ms)) => {
                correlator.max_clock_skew = Some(duration_ms("correlator.maxClockSkew", *ms)?)
            }
            Some(Either::B(_)) => correlator.max_clock_skew = None,
            None => {}
        }
    }
    builder.correlator(correlator);
    if let Some(p) = &options.policy {
        let mut policy = PolicyConfig::default();
        if let Some(ms) = p.suppress_repeats {
            policy.suppress_repeats = Some(duration_ms("policy.suppressRepeats", ms)?);
        }
        if let Some(ms) = p.cooldown {
            policy.cooldown = Some(duration_ms("policy.cooldown", ms)?);
        }
        policy.max_alerts_per_hour = p.max_alerts_per_hour;
        if let Some(fields) = &p.detection_group_fields {
            policy.detection_group_fields = fields.iter().map(|f| f.as_str().into()).collect();
        }
        builder.policy(policy);
    }
    if let Some(shards) = options.shards {
        builder.shards(shards as usize);
    }
    Ok(())
}

/// Adds the rules of the options to the builder; returns the files that could not be read.
pub fn add_rules(builder: &mut EngineBuilder, options: &EngineOptions) -> Vec<RuleProblem> {
    let mut problems = Vec::new();
    let Some(sources) = &options.rules else {
        return problems;
    };
    let mut paths = Vec::new();
    for source in sources {
        match source {
            Either::A(text) if text.contains('\n') => {
                builder.rules_yaml(text, None);
            }
            Either::A(path) => paths.push(path.clone()),
            Either::B(RuleText { yaml, path }) => {
                builder.rules_yaml(yaml, path.as_deref());
            }
        }
    }
    let (files, errors) = read_rules(&paths);
    for file in &files {
        builder.rules_yaml(&file.text, Some(&file.path.to_string_lossy()));
    }
    for e in errors {
        let path = e.path().map(|p: &Path| p.to_string_lossy().into_owned());
        problems.push(RuleProblem {
            reason: e.reason(),
            message: e.to_string(),
            path,
            rule_id: None,
            document: 0,
        });
    }
    problems
}
