//! # siem-store
//!
//! Outputs for siem: where alerts and events are kept.
#![warn(missing_docs)]
