//! The subcommands, one module each.

pub mod input;
pub mod parse;
pub mod rules;
pub mod scan;
