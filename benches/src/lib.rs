//! Shared helpers for the benchmarks (corpus loading, event generation, CPU-time measurement).

pub mod clock;
pub mod corpus;
pub mod correlation;
pub mod sysmon;
