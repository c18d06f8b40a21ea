//! Rule files and processing pipelines from disk.
//!
//! Temporary: replaced by `siem_collect::rules` when it lands on main.

use std::path::{Path, PathBuf};

use pyo3::prelude::*;
use siem_core::engine::EngineBuilder;

/// Reads the rule files under `paths` (folders searched recursively for `*.yml` / `*.yaml`,
/// sorted): each file's path with its text or the reason it could not be read.
pub fn read_rules(paths: &[PathBuf]) -> Vec<(String, Result<String, String>)> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found = Vec::new();
            walk(path, 0, &mut found, &mut out);
            found.sort();
            for f in found {
                let text = std::fs::read_to_string(&f).map_err(|e| e.to_string());
                out.push((f.to_string_lossy().into_owned(), text));
            }
        } else {
            let text = std::fs::read_to_string(path).map_err(|e| e.to_string());
            out.push((path.to_string_lossy().into_owned(), text));
        }
    }
    out
}

fn walk(
    dir: &Path,
    depth: usize,
    found: &mut Vec<PathBuf>,
    out: &mut Vec<(String, Result<String, String>)>,
) {
    if depth > 64 {
        return;
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            out.push((dir.to_string_lossy().into_owned(), Err(e.to_string())));
            return;
        }
    };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() => walk(&path, depth + 1, found, out),
            Ok(_)
                if path.extension().and_then(|e| e.to_str()).is_some_and(|e| {
                    e.eq_ignore_ascii_case("yml") || e.eq_ignore_ascii_case("yaml")
                }) =>
            {
                found.push(path)
            }
            _ => {}
        }
    }
}

/// Installs the processing pipelines named in `pipelines=[...]`.
pub fn install_pipelines(
    _py: Python<'_>,
    _builder: &mut EngineBuilder,
    pipelines: Option<&Bound<'_, PyAny>>,
) -> PyResult<()> {
    match pipelines.filter(|p| !p.is_none()) {
        None => Ok(()),
        Some(p) if p.len().unwrap_or(1) == 0 => Ok(()),
        Some(_) => Err(pyo3::exceptions::PyNotImplementedError::new_err(
            "processing pipelines arrive with siem_collect::rules",
        )),
    }
}
