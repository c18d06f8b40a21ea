//! Streaming correlation: Sigma correlation rules over sliding event-time windows, keyed by
//! (rule, group), with bounded, snapshotable state.
