//! The bounded line reader against an in-memory split, for arbitrary bytes, limits and buffer
//! sizes taken from the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use siem_collect::lines::LineReader;

fuzz_target!(|data: &[u8]| {
    let Some((&knobs, input)) = data.split_first() else {
        return;
    };
    let max = usize::from(knobs & 0x0f);
    let buffer = usize::from(knobs >> 4) + 1;
    let mut reader = LineReader::with_buffer(input, max, buffer);
    let mut got = Vec::new();
    while let Some(line) = reader.next_line().unwrap() {
        got.push((line.bytes.to_vec(), line.dropped));
    }
    let mut expected = Vec::new();
    if !input.is_empty() {
        let mut parts: Vec<&[u8]> = input.split(|&b| b == b'\n').collect();
        if input.ends_with(b"\n") {
            parts.pop();
        }
        for p in parts {
            let p = p.strip_suffix(b"\r").unwrap_or(p);
            let keep = p.len().min(max);
            expected.push((p[..keep].to_vec(), (p.len() - keep) as u64));
        }
    }
    assert_eq!(got, expected);
});
