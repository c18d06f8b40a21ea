//! Shared helpers for the benchmarks (corpus loading, event generation).

pub mod corpus;
pub mod sysmon;
