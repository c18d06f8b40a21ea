//! Test support shared by siem's crates: where the public test corpora live.
//!
//! The corpora (SigmaHQ rules, fail2ban and CrowdSec samples, loghub, Windows events, ...) are
//! not part of this repository. Tests find them in `$SIEM_CORPORA`, or in `../shared/corpora`
//! beside the checkout (looking upwards from the crate being tested). When a corpus is absent,
//! [`corpus`] panics with the upstream repository and commit to fetch: a test that needs a corpus
//! never passes silently without it.

use std::path::{Path, PathBuf};

/// Upstream of each corpus folder: (folder, repository, commit, note).
pub const UPSTREAMS: &[(&str, &str, &str, &str)] = &[
    (
        "sigma",
        "https://github.com/SigmaHQ/sigma",
        "8eaafff1f2845a696050e05e72ba1140ee190698",
        "rules*/, deprecated/, unsupported/, regression_data/, tests/; REGRESSION_INDEX.tsv is made from regression_data/*/info.yml",
    ),
    (
        "sigma-specification",
        "https://github.com/SigmaHQ/sigma-specification",
        "ba9251aa834b11a70dbf80836b453dba99c5159e",
        "specification/, json-schema/, tests/; extracted-examples/ are the spec's YAML examples saved one per file",
    ),
    (
        "hayabusa-rules",
        "https://github.com/Yamato-Security/hayabusa-rules",
        "be4ff15987f19e6287695718d8c8c64255e96054",
        "hayabusa/, config/",
    ),
    (
        "fail2ban",
        "https://github.com/fail2ban/fail2ban",
        "deffcbcd1712a3a0cbd79c1da324096ebf36d306",
        "fail2ban/tests/files/logs/, config/filter.d/",
    ),
    (
        "crowdsec-hub",
        "https://github.com/crowdsecurity/hub",
        "b03cb59b2131ebfc5300f5f14828e29967efd1a5",
        "tests/, parsers/, scenarios/; sec-lists from crowdsecurity/sec-lists 1149fa30e8b184c3e17c4f0ad11997a762f8a237",
    ),
    (
        "loghub",
        "https://github.com/logpai/loghub",
        "dd61d0952749ee7963bde24220d1be5ede023033",
        "the *_2k.log files and their *_2k.log_structured.csv",
    ),
    (
        "rsyslog-syslog-vectors",
        "https://github.com/rsyslog/rsyslog",
        "b30367b1466d72be41d920ef3253ef2c6a20016d",
        "tests/testsuites/ parser vectors (see SOURCE.md)",
    ),
    (
        "windows-evtx-json",
        "https://github.com/sans-blue-team/DeepBlueCLI (2eecc656), https://github.com/sbousseaden/EVTX-ATTACK-SAMPLES (4ceed2f4), https://github.com/Yamato-Security/hayabusa-sample-evtx (071da2e1)",
        "see SOURCE.md",
        "each .evtx converted to JSON Lines with the PyPI package evtx 0.14.0",
    ),
    (
        "otrf-security-datasets",
        "https://github.com/OTRF/Security-Datasets",
        "d9d40ef123d2c87d5d3df28c96bcab4f0faccc87",
        "datasets unzipped to JSON Lines",
    ),
    (
        "chainsaw-tests",
        "https://github.com/WithSecureLabs/chainsaw",
        "f219fadcd0bef254da1ab24b0436a5c3edf5d469",
        "tests/, mappings/",
    ),
];

/// The root of the corpora, if it can be found: `$SIEM_CORPORA`, else the first
/// `shared/corpora` found beside this crate's directory or any of its parents.
pub fn corpora_root() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("SIEM_CORPORA") {
        return Some(PathBuf::from(dir));
    }
    let start = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::current_dir().ok())?;
    start
        .ancestors()
        .map(|dir| dir.join("shared").join("corpora"))
        .find(|candidate| candidate.is_dir())
}

/// The directory of one corpus (`corpus("sigma")`), or a panic that says how to get it.
pub fn corpus(name: &str) -> PathBuf {
    match corpora_root().map(|root| root.join(name)) {
        Some(dir) if dir.is_dir() => dir,
        found => panic!("{}", missing_message(name, found.as_deref())),
    }
}

/// A file inside a corpus (`corpus_file("sigma", "REGRESSION_INDEX.tsv")`), or a panic that says
/// how to get it.
pub fn corpus_file(name: &str, relative: &str) -> PathBuf {
    let path = corpus(name).join(relative);
    assert!(
        path.exists(),
        "corpus file {} is missing.\n{}",
        path.display(),
        missing_message(name, None)
    );
    path
}

fn missing_message(name: &str, looked_at: Option<&Path>) -> String {
    let upstream = UPSTREAMS
        .iter()
        .find(|(folder, ..)| *folder == name)
        .map(|(folder, repo, commit, note)| {
            format!("  {folder}/: {repo} at commit {commit} ({note})")
        })
        .unwrap_or_else(|| format!("  {name}/: not a known corpus"));
    format!(
        "the test corpus `{name}` was not found{}.\n\
         siem's tests read public data from $SIEM_CORPORA or from ../shared/corpora beside the checkout.\n\
         Fetch it from its upstream and point SIEM_CORPORA at the folder holding it:\n{upstream}\n\
         (each corpus folder's SOURCE.md gives the exact paths taken and any conversion)",
        looked_at
            .map(|p| format!(" (looked at {})", p.display()))
            .unwrap_or_default()
    )
}
