//! A fixed amount of parsing work, for `perf stat` / `perf record` / callgrind (criterion's
//! adaptive loops make instruction and cycle counts hard to compare between builds):
//! `parse-loop FORMAT ROUNDS FILE...` parses every line of the files ROUNDS times with
//! `Parser::parse` (`FORMAT` as for `siem parse --format`) and prints lines per second of
//! this thread's CPU time.
//!
//! `perf stat -e cycles:u,instructions:u target/release/parse-loop auto 50 auth.log`

use std::hint::black_box;
use std::time::Instant;

use siem_core::parse::{FormatSpec, ParseOptions, Parser};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: parse-loop FORMAT ROUNDS FILE...");
        std::process::exit(2);
    }
    let format: FormatSpec = args[1].parse().expect("FORMAT");
    let rounds: usize = args[2].parse().expect("ROUNDS");
    let mut lines: Vec<Vec<u8>> = Vec::new();
    for path in &args[3..] {
        let data = std::fs::read(path).expect("read FILE");
        lines.extend(
            data.split(|&b| b == b'\n')
                .filter(|l| !l.is_empty() && !l.starts_with(b"#"))
                .map(<[u8]>::to_vec),
        );
    }
    let parser = Parser::new(ParseOptions {
        format,
        reference_time: Some("2024-06-01T00:00:00Z".parse().expect("time")),
        ..ParseOptions::default()
    })
    .expect("parser");
    let start = Instant::now();
    for _ in 0..rounds {
        for line in &lines {
            black_box(parser.parse(black_box(line)));
        }
    }
    let n = (rounds * lines.len()) as f64;
    eprintln!(
        "{} lines x {rounds}: {:.0} lines/s (wall)",
        lines.len(),
        n / start.elapsed().as_secs_f64()
    );
}
