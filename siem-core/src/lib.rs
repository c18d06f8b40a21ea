//! # siem-core
//!
//! The detection engine behind siem: pure computation, no files, sockets, threads or async, so
//! the same compiled engine runs inside a Rust program, a Django process (through the Python
//! package), a Node service and the reference server.
//!
//! Data flows through these modules:
//!
//! ```text
//! bytes ─ parse ─▶ Event ─ sigma (RuleSet) ─▶ detection ─ correlate ─▶ Alert ─ alert policy ─▶ sinks
//! ```
//!
//! - [`event`]: the one [`Event`](event::Event) type (ECS fields, `@timestamp`, logsource).
//! - [`parse`]: syslog, auth-program decoders, access logs, JSON / Windows, CEF, LEEF, kv, grok.
//! - [`sigma`]: the Sigma rule compiler and matcher.
//! - [`correlate`]: streaming Sigma correlation rules over sliding windows.
//! - [`alert`]: the [`Alert`](alert::Alert) type and its JSON, and the alert lifecycle policy.
//! - [`engine`]: the [`Engine`](engine::Engine) facade that ties them together.
#![warn(missing_docs)]

pub mod alert;
pub mod correlate;
pub mod engine;
pub mod event;
pub mod parse;
mod prefetch;
pub mod sigma;

pub use alert::{Alert, AlertKind};
pub use engine::{Engine, EngineBuilder};
pub use event::{Event, LogSource, Value};
