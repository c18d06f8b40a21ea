//! Reading Sigma rules, processing pipelines and placeholder values from disk.
//!
//! [`read_rules`] takes files and folders as a user names them on a command line: a folder is
//! searched recursively for `*.yml` / `*.yaml` files (hidden entries such as `.git` skipped,
//! symbolic links to folders not followed, so a link cycle cannot loop), every file found is
//! read in sorted path order, and each one that cannot be read is reported on its own while the
//! others load. What comes back is text with its path, ready for
//! [`RuleSetBuilder::add_yaml`](siem_core::sigma::RuleSetBuilder::add_yaml).
//!
//! ```no_run
//! use siem_collect::rules::read_rules;
//! use siem_core::sigma::RuleSet;
//!
//! let (files, errors) = read_rules(&["rules/windows", "my-rule.yml"]);
//! for e in &errors {
//!     eprintln!("{e}");
//! }
//! let mut builder = RuleSet::builder();
//! for f in &files {
//!     builder.add_yaml(&f.text, Some(&f.path.to_string_lossy()));
//! }
//! let (rules, rule_errors) = builder.build();
//! ```

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use siem_core::sigma::MAX_TEXT_BYTES;
use siem_core::sigma::pipeline::{BUNDLED, Pipeline, PipelineError};

/// Deepest folder nesting followed under a rule folder.
pub const MAX_DEPTH: usize = 64;

/// One rule file's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleFile {
    /// The path as found (under the folder the user gave, or the file itself).
    pub path: PathBuf,
    /// The file's text.
    pub text: String,
}

/// Why a rule file, pipeline or placeholder file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The operating system refused (missing file, permissions, ...).
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// Larger than a Sigma text may be.
    #[error("{}: {size} bytes, more than the {limit} bytes a rule or pipeline file may hold", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        size: u64,
        /// The limit ([`MAX_TEXT_BYTES`]).
        limit: usize,
    },
    /// Not UTF-8 text.
    #[error("{}: not UTF-8 text", path.display())]
    NotUtf8 {
        /// The file.
        path: PathBuf,
    },
    /// Folders nested deeper than [`MAX_DEPTH`].
    #[error("{}: folders nested deeper than {MAX_DEPTH} levels", path.display())]
    TooDeep {
        /// The folder not entered.
        path: PathBuf,
    },
    /// A pipeline file that is not a valid pipeline.
    #[error("{}: {source}", path.display())]
    Pipeline {
        /// The pipeline file.
        path: PathBuf,
        /// What is wrong with it.
        source: PipelineError,
    },
    /// A pipeline name that is neither bundled nor an existing file.
    #[error(
        "pipeline {name:?}: not a bundled pipeline ({}) and no such file",
        bundled_names()
    )]
    UnknownPipeline {
        /// The name as given.
        name: String,
    },
}

impl ReadError {
    /// The file or folder at fault (none for an unknown pipeline name).
    pub fn path(&self) -> Option<&Path> {
        match self {
            ReadError::Io { path, .. }
            | ReadError::TooLarge { path, .. }
            | ReadError::NotUtf8 { path }
            | ReadError::TooDeep { path }
            | ReadError::Pipeline { path, .. } => Some(path),
            ReadError::UnknownPipeline { .. } => None,
        }
    }

    /// The message without the path in front.
    pub fn reason(&self) -> String {
        let text = self.to_string();
        match self.path() {
            Some(p) => text
                .strip_prefix(&format!("{}: ", p.display()))
                .map(str::to_string)
                .unwrap_or(text),
            None => text,
        }
    }
}

fn bundled_names() -> String {
    BUNDLED
        .iter()
        .map(|(n, _)| *n)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether a path names a rule file by its extension (`.yml` / `.yaml`, any case).
pub fn is_rule_file(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("yml") || e.eq_ignore_ascii_case("yaml"))
}

/// Reads a whole text file of at most [`MAX_TEXT_BYTES`] bytes.
pub fn read_text(path: &Path) -> Result<String, ReadError> {
    let io_err = |source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = fs::File::open(path).map_err(io_err)?;
    let mut bytes = Vec::new();
    // Read one byte past the limit to tell "at the limit" from "over it" without trusting the
    // size the file system reports (a pipe or a growing file has none).
    file.take(MAX_TEXT_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(io_err)?;
    if bytes.len() > MAX_TEXT_BYTES {
        let size = fs::metadata(path)
            .map(|m| m.len())
            .unwrap_or(bytes.len() as u64);
        return Err(ReadError::TooLarge {
            path: path.to_path_buf(),
            size,
            limit: MAX_TEXT_BYTES,
        });
    }
    String::from_utf8(bytes).map_err(|_| ReadError::NotUtf8 {
        path: path.to_path_buf(),
    })
}

/// Reads the rule files under `paths` (files as given, folders searched recursively for
/// `*.yml` / `*.yaml`), in sorted order within each folder; one error per path that could not
/// be read.
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

/// A pipeline by bundled name (`windows`, `ecs`) or file path. A bundled name wins unless the
/// argument looks like a path (has a separator or a `.yml` / `.yaml` extension).
pub fn read_pipeline(spec: &str) -> Result<Pipeline, ReadError> {
    let path = Path::new(spec);
    let looks_like_path =
        spec.contains(std::path::MAIN_SEPARATOR) || spec.contains('/') || is_rule_file(path);
    if !looks_like_path && let Some(p) = Pipeline::bundled(spec) {
        return Ok(p);
    }
    if !path.exists() {
        return Err(ReadError::UnknownPipeline {
            name: spec.to_string(),
        });
    }
    let text = read_text(path)?;
    Pipeline::from_yaml(&text).map_err(|source| ReadError::Pipeline {
        path: path.to_path_buf(),
        source,
    })
}

/// The values of a placeholder file: one value per line, blank lines and lines starting with
/// `#` skipped, surrounding whitespace trimmed.
pub fn read_placeholder_values(path: &Path) -> Result<Vec<String>, ReadError> {
    Ok(read_text(path)?
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("siem-collect-rules-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn folders_are_read_recursively_and_sorted() {
        let dir = scratch("walk");
        fs::create_dir_all(dir.join("b/deeper")).unwrap();
        fs::create_dir_all(dir.join(".git")).unwrap();
        fs::write(dir.join("b/deeper/z.yaml"), "title: z").unwrap();
        fs::write(dir.join("b/a.yml"), "title: a").unwrap();
        fs::write(dir.join("c.YML"), "title: c").unwrap();
        fs::write(dir.join("notes.txt"), "not a rule").unwrap();
        fs::write(dir.join(".git/x.yml"), "hidden").unwrap();
        fs::write(dir.join("bad.yml"), [0xff, 0xfe]).unwrap();
        let (files, errors) = read_rules(&[dir.clone(), dir.join("missing.yml")]);
        let names: Vec<String> = files
            .iter()
            .map(|f| {
                f.path
                    .strip_prefix(&dir)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/")
            })
            .collect();
        assert_eq!(names, ["b/a.yml", "b/deeper/z.yaml", "c.YML"]);
        assert_eq!(files[0].text, "title: a");
        assert_eq!(errors.len(), 2);
        assert!(
            errors[0].to_string().ends_with("bad.yml: not UTF-8 text"),
            "{}",
            errors[0]
        );
        assert!(
            errors[1].to_string().contains("missing.yml"),
            "{}",
            errors[1]
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn symlinked_folders_are_not_followed() {
        let dir = scratch("loop");
        fs::write(dir.join("r.yml"), "title: r").unwrap();
        std::os::unix::fs::symlink(&dir, dir.join("loop")).unwrap();
        let (files, errors) = read_rules(&[&dir]);
        assert_eq!((files.len(), errors.len()), (1, 0));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn pipelines_by_name_or_file() {
        assert_eq!(read_pipeline("windows").unwrap().name, "windows");
        let err = read_pipeline("nonesuch").unwrap_err().to_string();
        assert!(
            err.contains("not a bundled pipeline (windows, ecs)"),
            "{err}"
        );
        let dir = scratch("pipeline");
        let f = dir.join("p.yml");
        fs::write(&f, "name: mine\ntransformations:\n  - type: bogus\n").unwrap();
        let err = read_pipeline(f.to_str().unwrap()).unwrap_err().to_string();
        assert!(
            err.contains("p.yml: transformation 1: unknown transformation type `bogus`"),
            "{err}"
        );
        fs::write(&f, "name: mine\n").unwrap();
        assert_eq!(read_pipeline(f.to_str().unwrap()).unwrap().name, "mine");
        fs::write(dir.join("values.txt"), "# admins\nroot\n\n  alice  \n").unwrap();
        assert_eq!(
            read_placeholder_values(&dir.join("values.txt")).unwrap(),
            ["root", "alice"]
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}
