//! The corpora the benches read (through `siem-testkit`, which honours `$SIEM_CORPORA`), and
//! both engines loaded with SigmaHQ's rules as the benches and the differential test load them.

use std::path::{Path, PathBuf};

use siem_core::sigma::RuleSet;
use siem_core::sigma::pipeline::PipelineSet;

/// RSigma's pipeline: SigmaHQ's `tests/thor.yml` renames, as siem's `windows` pipeline has
/// them, on the taxonomy names RSigma's events carry (as in `tests/rsigma_differential.rs`).
pub const RSIGMA_PIPELINE: &str = r#"
name: thor renames
priority: 10
transformations:
  - type: field_name_mapping
    mapping:
      Image: [Image, NewProcessName]
      ParentImage: [ParentImage, ParentProcessName]
    rule_conditions: [{type: logsource, product: windows, category: process_creation}]
  - type: field_name_mapping
    mapping:
      Signature: [Signature, ThreatName]
      Filename: [Filename, Path]
    rule_conditions: [{type: logsource, category: antivirus}]
"#;

/// Files under `dir` whose extension is `ext`, sorted.
pub fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("readable corpus directory") {
            let p = e.expect("directory entry").path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == ext) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Every rule file of SigmaHQ's `rules/` folder: (path relative to the corpus, text).
pub fn sigmahq_rule_texts() -> Vec<(String, String)> {
    sigmahq_rule_texts_in(&["rules"])
}

/// Every rule file under these folders of the SigmaHQ corpus (e.g. `rules/linux`,
/// `rules-emerging-threats`): (path relative to the corpus, text).
pub fn sigmahq_rule_texts_in(dirs: &[&str]) -> Vec<(String, String)> {
    let root = siem_testkit::corpus("sigma");
    dirs.iter()
        .flat_map(|d| files(&root.join(d), "yml"))
        .map(|p| {
            let rel = p
                .strip_prefix(&root)
                .unwrap_or(&p)
                .to_string_lossy()
                .into_owned();
            let text = std::fs::read_to_string(&p).expect("readable rule");
            (rel, text)
        })
        .collect()
}

/// siem's rule set over `texts`, through the default pipelines (as `siem scan` loads rules).
pub fn siem_rule_set(texts: &[(String, String)]) -> RuleSet {
    let mut builder = RuleSet::builder();
    PipelineSet::defaults().install(&mut builder);
    for (path, text) in texts {
        builder.add_yaml(text, Some(path));
    }
    builder.build().0
}

/// [`siem_rule_set`] over all of SigmaHQ's rules.
pub fn sigmahq_rule_set() -> RuleSet {
    siem_rule_set(&sigmahq_rule_texts())
}

/// RSigma's engine over `texts` with [`RSIGMA_PIPELINE`] (its candidate index is always on;
/// logsource routing is `evaluate_with_logsource`).
pub fn rsigma_engine(texts: &[(String, String)]) -> rsigma_eval::Engine {
    let mut engine = rsigma_eval::Engine::new();
    engine.add_pipeline(
        rsigma_eval::pipeline::parse_pipeline(RSIGMA_PIPELINE).expect("RSigma pipeline"),
    );
    let parsed: Vec<_> = texts
        .iter()
        .filter_map(|(_, t)| rsigma_parser::parse_sigma_yaml(t).ok())
        .flat_map(|c| c.rules)
        .collect();
    engine.add_rules(parsed.iter());
    engine
}

/// The non-empty lines of every `.jsonl` file of `windows-evtx-json/` (26,365 events).
pub fn windows_lines() -> Vec<String> {
    files(&siem_testkit::corpus("windows-evtx-json"), "jsonl")
        .iter()
        .flat_map(|f| {
            std::fs::read_to_string(f)
                .expect("readable events")
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}
