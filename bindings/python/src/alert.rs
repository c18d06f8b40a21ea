//! `siem.Alert` and `siem.Rule`: read-only views of siem-core's `Alert` and `RuleMeta`.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};
use siem_core::alert::{Alert, AlertKind};
use siem_core::sigma::RuleMeta;

use crate::convert::{json_to_py, time_to_py, value_to_py};

/// An alert: a detection (one event matched one rule) or a correlation (a correlation rule's
/// condition held over a window). Immutable; `to_dict()` is the JSON object
/// `siem scan --output jsonl` prints.
#[pyclass(frozen, module = "siem", name = "Alert")]
pub struct PyAlert {
    pub inner: Alert,
}

impl PyAlert {
    /// Wraps alerts into a Python list of `siem.Alert`.
    pub fn list(py: Python<'_>, alerts: Vec<Alert>) -> PyResult<Bound<'_, PyList>> {
        let list = PyList::empty(py);
        for inner in alerts {
            list.append(Bound::new(py, PyAlert { inner })?)?;
        }
        Ok(list)
    }
}

#[pymethods]
impl PyAlert {
    /// `"detection"` or `"correlation"`.
    #[getter]
    fn kind(&self) -> &'static str {
        self.inner.kind.as_str()
    }

    /// The rule that raised the alert.
    #[getter]
    fn rule(&self) -> PyRule {
        PyRule {
            meta: Arc::clone(&self.inner.rule),
        }
    }

    /// When it happened (aware, UTC): the event's time for a detection, the window's end for a
    /// correlation.
    #[getter]
    fn timestamp<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        time_to_py(py, self.inner.timestamp)
    }

    /// The matching event as a nested ECS dict (detections), else `None`.
    #[getter]
    fn event<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.inner
            .event
            .as_ref()
            .map(|e| json_to_py(py, &e.to_json()))
            .transpose()
    }

    /// The correlation's group: each `group-by` field, as written in the rule, to its value
    /// (`{}` for detections and correlations without `group-by`).
    #[getter]
    fn group<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        for (name, value) in &self.inner.group {
            dict.set_item(PyString::new(py, name), value_to_py(py, value)?)?;
        }
        Ok(dict)
    }

    /// The measured value of a correlation (count, distinct count, sum, ...), else `None`.
    #[getter]
    fn value<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.inner
            .value
            .as_ref()
            .map(|v| value_to_py(py, v))
            .transpose()
    }

    /// `(start, end)` of a correlation's window (aware datetimes), else `None`.
    #[getter]
    fn window<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyTuple>>> {
        match &self.inner.window {
            Some(w) => Ok(Some(PyTuple::new(
                py,
                [time_to_py(py, w.start)?, time_to_py(py, w.end)?],
            )?)),
            None => Ok(None),
        }
    }

    /// Ids (or names) of the rules that contributed to a correlation.
    #[getter]
    fn rules(&self) -> Vec<String> {
        self.inner.rules.iter().map(|r| r.to_string()).collect()
    }

    /// A bounded sample of a correlation's events (nested ECS dicts), oldest first.
    #[getter]
    fn events<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        for e in &self.inner.events {
            list.append(json_to_py(py, &e.to_json())?)?;
        }
        Ok(list)
    }

    /// Whether some event had no timestamp and its arrival time was used instead
    /// (`"timestamp_source": "arrival"` in the JSON).
    #[getter]
    fn arrival_time(&self) -> bool {
        self.inner.arrival_time
    }

    /// The alert as one line of JSON, exactly as `siem scan --output jsonl` prints it.
    fn to_json(&self) -> String {
        self.inner.to_json()
    }

    /// The alert as a dict: exactly `json.loads(alert.to_json())`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(py, &self.inner.to_json())
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other
            .cast::<PyAlert>()
            .is_ok_and(|o| o.get().inner == self.inner)
    }

    fn __repr__(&self) -> String {
        let rule = &self.inner.rule;
        match self.inner.kind {
            AlertKind::Detection => format!(
                "<siem.Alert detection rule={:?} title={:?} level={}>",
                rule.handle(),
                rule.title,
                rule.level.unwrap_or_default().as_str()
            ),
            AlertKind::Correlation => {
                let group: Vec<String> = self
                    .inner
                    .group
                    .iter()
                    .map(|(k, v)| format!("{k}={}", v.to_text()))
                    .collect();
                format!(
                    "<siem.Alert correlation rule={:?} title={:?} level={} group={{{}}}>",
                    rule.handle(),
                    rule.title,
                    rule.level.unwrap_or_default().as_str(),
                    group.join(", ")
                )
            }
        }
    }
}

/// A rule's metadata, as alerts carry it.
#[pyclass(frozen, module = "siem", name = "Rule")]
pub struct PyRule {
    pub meta: Arc<RuleMeta>,
}

#[pymethods]
impl PyRule {
    /// `id` (a UUID in SigmaHQ rules; `""` when the rule has none).
    #[getter]
    fn id(&self) -> &str {
        &self.meta.id
    }

    /// `name`, the handle correlation rules may use instead of the id.
    #[getter]
    fn name(&self) -> Option<&str> {
        self.meta.name.as_deref()
    }

    /// `title`.
    #[getter]
    fn title(&self) -> &str {
        &self.meta.title
    }

    /// `level`: `informational`, `low`, `medium`, `high` or `critical` (`medium` when unset, as
    /// in the alert JSON).
    #[getter]
    fn level(&self) -> &'static str {
        self.meta.level.unwrap_or_default().as_str()
    }

    /// `tags`, e.g. `attack.t1110`.
    #[getter]
    fn tags(&self) -> Vec<String> {
        self.meta.tags.iter().map(|t| t.to_string()).collect()
    }

    /// `status` (`stable`, `test`, ...), when given.
    #[getter]
    fn status(&self) -> Option<&'static str> {
        self.meta.status.map(|s| s.as_str())
    }

    /// `description`, when given.
    #[getter]
    fn description(&self) -> Option<&str> {
        self.meta.description.as_deref()
    }

    /// `author`, when given (SigmaHQ's licence asks that alerts keep it).
    #[getter]
    fn author(&self) -> Option<&str> {
        self.meta.author.as_deref()
    }

    /// `references`.
    #[getter]
    fn references(&self) -> Vec<String> {
        self.meta.references.clone()
    }

    /// `falsepositives`.
    #[getter]
    fn falsepositives(&self) -> Vec<String> {
        self.meta.falsepositives.clone()
    }

    /// The rule's `logsource` (`product`, `category`, `service` when set).
    #[getter]
    fn logsource<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        let ls = &self.meta.logsource;
        for (key, value) in [
            ("product", &ls.product),
            ("category", &ls.category),
            ("service", &ls.service),
        ] {
            if let Some(v) = value {
                dict.set_item(key, v.as_str())?;
            }
        }
        Ok(dict)
    }

    /// The file the rule came from, when it came from a file.
    #[getter]
    fn path(&self) -> Option<&str> {
        self.meta.path.as_deref()
    }

    /// The rule as the alert JSON's `rule` object.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let alert = Alert::detection(
            Arc::clone(&self.meta),
            siem_core::Event::new(),
            chrono::DateTime::UNIX_EPOCH,
        );
        json_to_py(py, &alert.to_json())?.get_item("rule")
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other
            .cast::<PyRule>()
            .is_ok_and(|o| *o.get().meta == *self.meta)
    }

    fn __repr__(&self) -> String {
        format!(
            "<siem.Rule id={:?} title={:?} level={}>",
            self.meta.handle(),
            self.meta.title,
            self.level()
        )
    }
}
