//! `siem._siem`: the native part of the `siem` Python package (PyO3, one abi3 wheel for
//! CPython 3.9 and newer).
//!
//! It wraps siem-core's `Engine`, `Alert` and parsers with Python conventions and adds nothing
//! else: the public API, its documentation (`_siem.pyi`) and the exceptions live in the
//! pure-Python package `siem`.

#![warn(missing_docs)]

mod alert;
mod convert;
mod engine;
mod errors;

use pyo3::prelude::*;

#[pymodule]
fn _siem(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<engine::PyEngine>()?;
    m.add_class::<alert::PyAlert>()?;
    m.add_class::<alert::PyRule>()?;
    m.add_function(wrap_pyfunction!(engine::parse, m)?)?;
    m.add_function(wrap_pyfunction!(engine::native_batch_rate, m)?)?;
    m.add_function(wrap_pyfunction!(engine::native_event_rate, m)?)?;
    m.add_function(wrap_pyfunction!(engine::native_json_rate, m)?)?;
    m.add_function(wrap_pyfunction!(engine::event_json, m)?)?;
    m.add_function(wrap_pyfunction!(engine::event_json_from_text, m)?)?;
    Ok(())
}
