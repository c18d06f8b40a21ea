//! # siem-collect
//!
//! Inputs for siem: where lines and rules come from. Everything here does I/O so that
//! [`siem_core`] does not have to.
#![warn(missing_docs)]
