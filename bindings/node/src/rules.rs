//! Reading rule files and folders named in `new Engine({ rules: [...] })`.
//!
//! A folder is searched recursively for `*.yml` / `*.yaml` (hidden entries skipped, linked
//! folders not followed, nesting bounded), files are read in sorted order, each at most
//! [`MAX_TEXT_BYTES`]; every path that cannot be read is reported on its own.

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use siem_core::sigma::MAX_TEXT_BYTES;

/// Deepest folder nesting followed under a rule folder.
pub const MAX_DEPTH: usize = 64;

/// One rule file's text.
pub struct RuleFile {
    pub path: PathBuf,
    pub text: String,
}

/// Why a rule file or folder could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("{}: more than the {MAX_TEXT_BYTES} bytes a rule file may hold", path.display())]
    TooLarge { path: PathBuf },
    #[error("{}: not UTF-8 text", path.display())]
    NotUtf8 { path: PathBuf },
    #[error("{}: folders nested deeper than {MAX_DEPTH} levels", path.display())]
    TooDeep { path: PathBuf },
}

impl ReadError {
    pub fn path(&self) -> Option<&Path> {
        match self {
            ReadError::Io { path, .. }
            | ReadError::TooLarge { path }
            | ReadError::NotUtf8 { path }
            | ReadError::TooDeep { path } => Some(path),
        }
    }

    /// The message without the path in front.
    pub fn reason(&self) -> String {
        match self {
            ReadError::Io { source, .. } => source.to_string(),
            ReadError::TooLarge { .. } => {
                format!("more than the {MAX_TEXT_BYTES} bytes a rule file may hold")
            }
            ReadError::NotUtf8 { .. } => "not UTF-8 text".to_string(),
            ReadError::TooDeep { .. } => format!("folders nested deeper than {MAX_DEPTH} levels"),
        }
    }
}

fn is_rule_file(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("yml") || e.eq_ignore_ascii_case("yaml"))
}

fn read_text(path: &Path) -> Result<String, ReadError> {
    let io_err = |source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = fs::File::open(path).map_err(io_err)?;
    let mut bytes = Vec::new();
    file.take(MAX_TEXT_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(io_err)?;
    if bytes.len() > MAX_TEXT_BYTES {
        return Err(ReadError::TooLarge {
            path: path.to_path_buf(),
        });
    }
    String::from_utf8(bytes).map_err(|_| ReadError::NotUtf8 {
        path: path.to_path_buf(),
    })
}

/// Reads the rule files under `paths`.
pub fn read_rules<P: AsRef<Path>>(paths: &[P]) -> (Vec<RuleFile>, Vec<ReadError>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        let path = path.as_ref();
        match fs::metadata(path) {
            Err(source) => errors.push(ReadError::Io {
                path: path.to_path_buf(),
                source,
            }),
            Ok(m) if m.is_dir() => {
                let mut found = Vec::new();
                walk(path, 0, &mut found, &mut errors);
                found.sort();
                for f in found {
                    match read_text(&f) {
                        Ok(text) => files.push(RuleFile { path: f, text }),
                        Err(e) => errors.push(e),
                    }
                }
            }
            Ok(_) => match read_text(path) {
                Ok(text) => files.push(RuleFile {
                    path: path.to_path_buf(),
                    text,
                }),
                Err(e) => errors.push(e),
            },
        }
    }
    (files, errors)
}

fn walk(dir: &Path, depth: usize, out: &mut Vec<PathBuf>, errors: &mut Vec<ReadError>) {
    if depth > MAX_DEPTH {
        errors.push(ReadError::TooDeep {
            path: dir.to_path_buf(),
        });
        return;
    }
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(source) => {
            errors.push(ReadError::Io {
                path: dir.to_path_buf(),
                source,
            });
            return;
        }
    };
    for entry in entries {
        let entry = match entry {
            Ok(e) => e,
            Err(source) => {
                errors.push(ReadError::Io {
                    path: dir.to_path_buf(),
                    source,
                });
                continue;
            }
        };
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        // `file_type` does not follow symbolic links: a linked folder is not entered.
        match entry.file_type() {
            Ok(t) if t.is_dir() => walk(&path, depth + 1, out, errors),
            Ok(_) if is_rule_file(&path) => out.push(path),
            Ok(_) => {}
            Err(source) => errors.push(ReadError::Io { path, source }),
        }
    }
}
