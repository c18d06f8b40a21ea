//! Sigma: rules, conditions, modifiers, filters, correlations and processing pipelines,
//! compiled into a [`RuleSet`](crate::sigma) that matches [`Event`](crate::event::Event)s.

pub mod correlation;
mod meta;

pub use meta::{Level, RuleMeta, Status};
