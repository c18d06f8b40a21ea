//! `siem rules check`: compile Sigma rule files and folders and report every rule that fails.
//!
//! Also home of what `siem scan` shares with it: the rule-loading options (`--pipeline`,
//! `--no-default-pipelines`, `--placeholder`) and [`load`], which reads and transforms the
//! rules and builds the [`Engine`] (detection rules compiled, correlation rules resolved),
//! reporting what failed. Correlation rules are checked too.
//!
//! Pipelines: without `--pipeline`, the bundled default pipelines (`windows` and `ecs`, see
//! `siem_core::sigma::pipeline::DEFAULT_PIPELINES`) are applied, since they only touch rules of
//! their own logsources and make SigmaHQ's rules match the events siem's parsers produce. Any
//! `--pipeline` replaces that default set (name the bundled ones too to keep them);
//! `--no-default-pipelines` loads rules untransformed.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use siem_collect::rules::{read_pipeline, read_placeholder_values, read_rules};
use siem_core::engine::Engine;
use siem_core::parse::ParseOptions;
use siem_core::sigma::pipeline::PipelineSet;
use siem_core::sigma::{RuleError, SigmaDocument, parse_documents};

/// Options that say how rules are loaded, shared by `rules check` and `scan`.
#[derive(Debug, Clone, clap::Args)]
pub struct LoadArgs {
    /// Processing pipeline to apply: a bundled name (`windows`, `ecs`) or a pySigma pipeline
    /// YAML file. Repeatable; pipelines run in priority order. Replaces the default set.
    #[arg(long = "pipeline", value_name = "NAME|FILE")]
    pub pipelines: Vec<String>,

    /// Apply no pipeline unless --pipeline names one (by default the bundled `windows` and
    /// `ecs` pipelines are applied).
    #[arg(long)]
    pub no_default_pipelines: bool,

    /// Values for an `expand` placeholder: NAME=FILE, one value per line. Repeatable.
    #[arg(long = "placeholder", value_name = "NAME=FILE", value_parser = parse_placeholder)]
    pub placeholders: Vec<(String, PathBuf)>,
}

fn parse_placeholder(s: &str) -> Result<(String, PathBuf), String> {
    let (name, file) = s
        .split_once('=')
        .ok_or_else(|| format!("expected NAME=FILE, got {s:?}"))?;
    let name = name.trim().trim_matches('%');
    if name.is_empty() || file.is_empty() {
        return Err(format!("expected NAME=FILE, got {s:?}"));
    }
    Ok((name.to_string(), PathBuf::from(file)))
}

/// One rule (or file) that did not load.
#[derive(Debug, Clone)]
pub struct Failure {
    /// The file.
    pub path: String,
    /// The rule's id (else name or title), when the document got that far.
    pub id: Option<String>,
    /// Why.
    pub reason: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.id {
            Some(id) => write!(f, "{}: rule {id}: {}", self.path, self.reason),
            None => write!(f, "{}: {}", self.path, self.reason),
        }
    }
}

impl From<&RuleError> for Failure {
    fn from(e: &RuleError) -> Self {
        Failure {
            path: e.path.clone().unwrap_or_else(|| "<input>".into()),
            id: e
                .rule
                .as_ref()
                .map(|r| r.to_string())
                .or_else(|| (e.document > 1).then(|| format!("(document {})", e.document))),
            reason: e.kind.to_string(),
        }
    }
}

/// What [`load`] produced.
#[derive(Debug)]
pub struct Loaded {
    /// The engine: compiled detection rules and resolved correlation rules.
    pub engine: Engine,
    /// Rules found: detection rules, filters and correlation rules, plus documents and files
    /// that could not be read (each counts as one rule that did not load).
    pub total: usize,
    /// Correlation rules found.
    pub correlations: usize,
    /// Everything that failed: unreadable files, documents that do not parse, rules that do
    /// not compile, correlation rules that do not resolve.
    pub failures: Vec<Failure>,
}

impl Loaded {
    /// Rules that loaded.
    pub fn compiled(&self) -> usize {
        self.total.saturating_sub(self.failures.len())
    }
}

/// Builds the pipeline set the options ask for. An error is a usage error (bad pipeline,
/// unreadable placeholder file).
pub fn pipelines(args: &LoadArgs) -> Result<PipelineSet, String> {
    if args.pipelines.is_empty() {
        return Ok(if args.no_default_pipelines {
            PipelineSet::default()
        } else {
            PipelineSet::defaults()
        });
    }
    args.pipelines
        .iter()
        .map(|p| read_pipeline(p).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()
        .map(PipelineSet::new)
}

/// Reads, transforms and compiles the rules under `paths` into an engine that parses lines
/// with `parse`. An `Err` is a usage error (a bad pipeline, placeholder file or parse option).
pub fn load(paths: &[PathBuf], args: &LoadArgs, parse: ParseOptions) -> Result<Loaded, String> {
    let pipelines = pipelines(args)?;
    let mut builder = Engine::builder();
    builder.parse_options(parse);
    for (name, file) in &args.placeholders {
        let values = read_placeholder_values(file).map_err(|e| e.to_string())?;
        builder.rules().placeholder(name, values);
    }
    builder.pipelines(pipelines);
    let (files, read_errors) = read_rules(paths);
    let mut failures: Vec<Failure> = read_errors
        .iter()
        .map(|e| Failure {
            path: e
                .path()
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default(),
            id: None,
            reason: e.reason(),
        })
        .collect();
    // A file that cannot be read holds at least one rule that did not load.
    let mut total = read_errors.len();
    let mut correlations = 0;
    for file in &files {
        let path = file.path.to_string_lossy();
        let (documents, errors) = parse_documents(&file.text, Some(&path));
        total += errors.len() + documents.len();
        failures.extend(errors.iter().map(Failure::from));
        for doc in documents {
            if matches!(doc, SigmaDocument::Correlation(_)) {
                correlations += 1;
            }
            builder.rules().add_document(doc);
        }
    }
    let (engine, errors) = builder.try_build().map_err(|e| e.to_string())?;
    failures.extend(errors.iter().map(Failure::from));
    Ok(Loaded {
        engine,
        total,
        correlations,
        failures,
    })
}

/// Arguments of `siem rules`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Compile rule files and folders; print each rule that fails and a summary.
    Check(CheckArgs),
}

#[derive(Debug, clap::Args)]
struct CheckArgs {
    /// Print one JSON object: {"compiled": N, "total": M, "errors": [{"path", "id", "reason"}]}.
    #[arg(long)]
    json: bool,

    #[command(flatten)]
    load: LoadArgs,

    /// Rule files and folders (searched recursively for *.yml / *.yaml).
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
}

/// Runs `siem rules`.
pub fn run(args: Args) -> ExitCode {
    match args.command {
        Command::Check(args) => check(args),
    }
}

fn check(args: CheckArgs) -> ExitCode {
    let loaded = match load(&args.paths, &args.load, ParseOptions::default()) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("siem rules check: {e}");
            return ExitCode::from(2);
        }
    };
    let mut text = String::new();
    if args.json {
        let errors: Vec<serde_json::Value> = loaded
            .failures
            .iter()
            .map(|f| {
                serde_json::json!({
                    "path": f.path,
                    "id": f.id,
                    "reason": f.reason,
                })
            })
            .collect();
        let out = serde_json::json!({
            "compiled": loaded.compiled(),
            "total": loaded.total,
            "correlations": loaded.correlations,
            "errors": errors,
        });
        text.push_str(&out.to_string());
        text.push('\n');
    } else {
        for f in &loaded.failures {
            text.push_str(&f.to_string());
            text.push('\n');
        }
        let correlations = match loaded.correlations {
            0 => String::new(),
            n => format!(", {n} of them correlation rules"),
        };
        text.push_str(&format!(
            "compiled {} of {} rules{correlations}\n",
            loaded.compiled(),
            loaded.total
        ));
    }
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        eprintln!("siem rules check: cannot write the output: {e}");
        return ExitCode::from(2);
    }
    if loaded.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
