//! The Python exceptions siem raises.
//!
//! The classes are defined in Python (`siem/_errors.py`, with their attributes and docs) and
//! looked up once; this module builds instances of them from siem's Rust errors.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList, PyType};
use siem_core::sigma::RuleError;

const MODULE: &str = "siem._errors";

static SIEM_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static RULE_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static EVENT_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static PARSE_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// Builds an exception of class `cell` (looked up in `siem._errors` by `name`) from a message
/// and keyword attributes. When the class cannot be found or called (the pure-Python part of
/// the package is missing), the error that says so is returned instead.
fn build(
    py: Python<'_>,
    cell: &PyOnceLock<Py<PyType>>,
    name: &str,
    message: String,
    kwargs: Option<&Bound<'_, PyDict>>,
) -> PyErr {
    let class = match cell.import(py, MODULE, name) {
        Ok(class) => class,
        Err(e) => return e,
    };
    match class.call((message,), kwargs) {
        Ok(instance) => PyErr::from_value(instance),
        Err(e) => e,
    }
}

/// `siem.SiemError(message)`: a failure with no more specific class.
pub fn siem_error(py: Python<'_>, message: String) -> PyErr {
    build(py, &SIEM_ERROR, "SiemError", message, None)
}

/// `siem.EventError(message, field=...)`: an event that is not a dict of ECS fields, or a field
/// value siem cannot hold.
pub fn event_error(py: Python<'_>, message: String, field: Option<&str>) -> PyErr {
    let kwargs = PyDict::new(py);
    if let Err(e) = kwargs.set_item("field", field) {
        return e;
    }
    build(py, &EVENT_ERROR, "EventError", message, Some(&kwargs))
}

/// `siem.ParseError(message, option=...)`: an option siem cannot use (a format name, a time
/// zone, a grok expression, a duration).
pub fn parse_error(py: Python<'_>, message: String, option: Option<&str>) -> PyErr {
    let kwargs = PyDict::new(py);
    if let Err(e) = kwargs.set_item("option", option) {
        return e;
    }
    build(py, &PARSE_ERROR, "ParseError", message, Some(&kwargs))
}

/// What a [`RuleError`] carries, also used for rule files that could not be read.
pub struct RuleFailure {
    /// The file, or `<rules[i]>` for a YAML string.
    pub path: Option<String>,
    /// The rule's id (else name, else title) when known.
    pub rule_id: Option<String>,
    /// Why it failed.
    pub reason: String,
    /// The 1-based YAML document within its text, when known.
    pub document: Option<usize>,
}

impl RuleFailure {
    /// From the compiler's error.
    pub fn from_rule_error(e: &RuleError) -> RuleFailure {
        RuleFailure {
            path: e.path.clone(),
            rule_id: e.rule.as_ref().map(|r| r.to_string()),
            reason: e.kind.to_string(),
            document: Some(e.document),
        }
    }

    /// Reads like compiler output: `path: rule <id>: reason`, as [`RuleError`] displays.
    pub fn message(&self) -> String {
        let path = self.path.as_deref().unwrap_or("<input>");
        match (&self.rule_id, self.document) {
            (Some(rule), _) => format!("{path}: rule {rule}: {}", self.reason),
            (None, Some(document)) => format!("{path}: document {document}: {}", self.reason),
            (None, None) => format!("{path}: {}", self.reason),
        }
    }

    fn kwargs<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let kwargs = PyDict::new(py);
        kwargs.set_item("path", self.path.as_deref())?;
        kwargs.set_item("rule_id", self.rule_id.as_deref())?;
        kwargs.set_item("reason", &self.reason)?;
        kwargs.set_item("document", self.document)?;
        Ok(kwargs)
    }

    /// A `siem.RuleError` instance for this failure alone.
    pub fn to_exception<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let class = RULE_ERROR.import(py, MODULE, "RuleError")?;
        class.call((self.message(),), Some(&self.kwargs(py)?))
    }
}

/// The `siem.RuleError` to raise for `failures` (not empty): the failure itself when there is
/// one; otherwise one error listing them all, whose `path`, `rule_id` and `reason` are the
/// first failure's and whose `errors` holds one `RuleError` per failure.
pub fn rule_error(py: Python<'_>, failures: &[RuleFailure]) -> PyErr {
    let result = (|| -> PyResult<PyErr> {
        let errors = PyList::empty(py);
        for f in failures {
            errors.append(f.to_exception(py)?)?;
        }
        let first = failures
            .first()
            .ok_or_else(|| siem_error(py, "no rule failure to report".into()))?;
        if failures.len() == 1 {
            return Ok(PyErr::from_value(errors.get_item(0)?));
        }
        let mut message = format!("{} rules failed to load:", failures.len());
        for f in failures {
            message.push_str("\n  ");
            message.push_str(&f.message());
        }
        let kwargs = first.kwargs(py)?;
        kwargs.set_item("errors", errors)?;
        let class = RULE_ERROR.import(py, MODULE, "RuleError")?;
        Ok(PyErr::from_value(class.call((message,), Some(&kwargs))?))
    })();
    result.unwrap_or_else(|e| e)
}
