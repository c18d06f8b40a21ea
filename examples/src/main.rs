//! `siem`: the command-line program and reference server.
//!
//! One module per subcommand under `cmd/`. To add a subcommand: write `cmd/<name>.rs` with an
//! `Args` struct (clap `Args`) and a `run(Args) -> ExitCode`, declare it in `cmd/mod.rs`, and
//! add a variant to [`Command`] plus its arm in `main`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cmd;

/// Detection engine for security events: Sigma rules over ECS events.
#[derive(Debug, Parser)]
#[command(name = "siem", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Parse log lines into ECS JSON events, one per line.
    Parse(cmd::parse::Args),
    /// Work with Sigma rules: `siem rules check PATH...` compiles them and reports failures.
    Rules(cmd::rules::Args),
    /// Scan log files with Sigma rules and print the alerts.
    Scan(cmd::scan::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Parse(args) => cmd::parse::run(args),
        Command::Rules(args) => cmd::rules::run(args),
        Command::Scan(args) => cmd::scan::run(args),
    }
}
