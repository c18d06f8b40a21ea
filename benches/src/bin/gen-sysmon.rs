//! Writes the one million generated Sysmon-shaped events of benchmark 1 (the very sequence
//! `benches/benches/sysmon_1m.rs` matches, seed `0x5EED_2026`) as JSON lines, for
//! whole-program runs of `siem scan`: `gen-sysmon OUT [EVENTS] [SEED]`.
//!
//! Run: `cargo run --release -p siem-benches --bin gen-sysmon -- /tmp/sysmon-1m.jsonl`

use std::io::{BufWriter, Write};

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let Some(out) = args.next() else {
        eprintln!("usage: gen-sysmon OUT [EVENTS] [SEED]");
        std::process::exit(2);
    };
    let events: u64 = args
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let seed: u64 = args
        .next()
        .and_then(|s| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok())
        .unwrap_or(0x5EED_2026);
    let mut file = BufWriter::new(std::fs::File::create(&out)?);
    for i in 0..events {
        writeln!(file, "{}", siem_benches::sysmon::event(seed, i))?;
    }
    file.flush()
}
