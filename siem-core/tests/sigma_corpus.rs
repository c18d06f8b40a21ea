//! SigmaHQ's rule repository: how much of it compiles, and that what does not fails for a
//! precise reason.
//!
//! Run with `cargo test -p siem-core --test sigma_corpus -- --nocapture` to see every failure.

use std::path::{Path, PathBuf};

use siem_core::sigma::{ErrorKind, RuleError, RuleSet};

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "yml" || e == "yaml") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Loads every file of `folder`; returns (files, rules compiled, errors).
fn load(folder: &str) -> (usize, usize, Vec<RuleError>) {
    let root = siem_testkit::corpus("sigma");
    let files = yaml_files(&root.join(folder));
    let mut builder = RuleSet::builder();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let rel = file.strip_prefix(&root).unwrap().display().to_string();
        builder.add_yaml(&text, Some(&rel));
    }
    let (rules, errors) = builder.build();
    (files.len(), rules.len(), errors)
}

fn report(folder: &str, files: usize, rules: usize, errors: &[RuleError]) -> f64 {
    let rate = rules as f64 / (rules + errors.len()) as f64;
    println!(
        "{folder}: {files} files, {rules} rules compiled, {} failed ({:.2}% compiled)",
        errors.len(),
        rate * 100.0
    );
    for e in errors {
        println!("  {e}");
    }
    rate
}

#[test]
fn main_rule_folders_compile_at_least_99_percent() {
    for folder in [
        "rules",
        "rules-threat-hunting",
        "rules-emerging-threats",
        "rules-compliance",
        "rules-placeholder",
    ] {
        let (files, rules, errors) = load(folder);
        let rate = report(folder, files, rules, &errors);
        if folder == "rules-placeholder" {
            // Without placeholder values every rule that needs one must say which.
            for e in &errors {
                assert!(
                    matches!(e.kind, ErrorKind::UnfilledPlaceholder { .. }),
                    "{e}"
                );
            }
            continue;
        }
        assert!(files > 0);
        assert!(rate >= 0.99, "{folder}: only {:.2}% compiled", rate * 100.0);
    }
}

#[test]
fn the_main_rule_folder_has_exactly_its_rule_count() {
    let (files, rules, errors) = load("rules");
    assert_eq!(files, 3141, "the corpus changed");
    assert_eq!(rules + errors.len(), 3141);
}

#[test]
fn placeholder_rules_compile_once_placeholders_have_values() {
    let root = siem_testkit::corpus("sigma");
    let mut builder = RuleSet::builder();
    let mut names = std::collections::BTreeSet::new();
    for file in yaml_files(&root.join("rules-placeholder")) {
        let text = std::fs::read_to_string(&file).unwrap();
        for (i, part) in text.split('%').enumerate() {
            if i % 2 == 1
                && !part.is_empty()
                && part.len() < 64
                && !part.contains(char::is_whitespace)
            {
                names.insert(part.to_string());
            }
        }
        builder.add_yaml(&text, Some(&file.display().to_string()));
    }
    for name in &names {
        builder.placeholder(name, [format!("{name}-value"), "x*".to_string()]);
    }
    let (rules, errors) = builder.build();
    report(
        "rules-placeholder (filled)",
        rules.len(),
        rules.len(),
        &errors,
    );
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn deprecated_and_unsupported_compile_or_give_a_precise_reason() {
    for folder in ["deprecated", "unsupported"] {
        let (files, rules, errors) = load(folder);
        report(folder, files, rules, &errors);
        for e in &errors {
            // Every failure names its file and rule, and is one of the reasons a Sigma 2
            // engine must refuse a Sigma 1 rule with, not a YAML or internal failure.
            assert!(e.path.is_some() && e.rule.is_some(), "{e}");
            assert!(
                matches!(
                    e.kind,
                    ErrorKind::UnsupportedAggregation(_)
                        | ErrorKind::Timeframe
                        | ErrorKind::InvalidKey { .. }
                        | ErrorKind::UnknownIdentifier(_)
                        | ErrorKind::Condition { .. }
                        | ErrorKind::IllegalModifiers { .. }
                        | ErrorKind::UnfilledPlaceholder { .. }
                ),
                "{e}"
            );
        }
    }
}
