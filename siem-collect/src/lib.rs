//! # siem-collect
//!
//! Inputs for siem: where lines and rules come from. Everything here does I/O so that
//! [`siem_core`] does not have to.
//!
//! - [`lines`]: a bounded line reader over any [`std::io::Read`] (files, stdin), which cuts
//!   over-long lines without buffering them whole and counts what it cut.
//! - [`rules`]: Sigma rule files and folders, processing pipelines (bundled or from a file) and
//!   placeholder value files.
#![warn(missing_docs)]

pub mod lines;
pub mod rules;
