//! A bounded line reader over any [`Read`]: files, stdin, sockets.
//!
//! [`LineReader`] yields the raw bytes of each line (without `\n` or `\r\n`), never buffers
//! more than its read buffer plus `max_line_bytes`, and never loses a line:
//!
//! - a line longer than `max_line_bytes` is cut there; the rest of it is read and discarded
//!   without being stored, and [`Line::dropped`] says how many bytes went;
//! - the last line is yielded even without a final newline;
//! - empty lines are yielded (callers decide whether they mean anything);
//! - bytes are not interpreted: invalid UTF-8 reaches the parser, which handles it.
//!
//! A line that fits in the read buffer is handed out as a slice of it (no copy); only lines
//! that span buffer refills are assembled in a second buffer.
//!
//! ```
//! use siem_collect::lines::LineReader;
//! let input: &[u8] = b"short\r\nthis one is too long\nlast";
//! let mut reader = LineReader::new(input, 8);
//! let mut seen = Vec::new();
//! while let Some(line) = reader.next_line().unwrap() {
//!     seen.push((String::from_utf8_lossy(line.bytes).into_owned(), line.dropped));
//! }
//! assert_eq!(seen, [("short".into(), 0), ("this one".into(), 12), ("last".into(), 0)]);
//! assert_eq!(reader.stats().cut_lines, 1);
//! ```

use std::io::{self, ErrorKind, Read};

/// The default read buffer size: 64 KiB.
pub const DEFAULT_BUFFER_BYTES: usize = 64 * 1024;

/// One line read by a [`LineReader`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line<'a> {
    /// The line's bytes, without its terminator, cut at the reader's limit.
    pub bytes: &'a [u8],
    /// How many bytes of this line were over the limit and discarded (0 for most lines).
    pub dropped: u64,
    /// The 1-based line number in the input.
    pub number: u64,
}

/// What a [`LineReader`] has read so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LineStats {
    /// Lines yielded.
    pub lines: u64,
    /// Bytes of those lines, terminators excluded, before cutting.
    pub bytes: u64,
    /// Lines that were longer than the limit and cut.
    pub cut_lines: u64,
    /// Bytes discarded from cut lines.
    pub dropped_bytes: u64,
}

impl std::ops::AddAssign for LineStats {
    fn add_assign(&mut self, other: LineStats) {
        self.lines += other.lines;
        self.bytes += other.bytes;
        self.cut_lines += other.cut_lines;
        self.dropped_bytes += other.dropped_bytes;
    }
}

/// Reads lines of at most `max_line_bytes` from a [`Read`]. See the [module docs](self).
///
/// Memory: one read buffer (64 KiB by default) plus at most `max_line_bytes` for a line that
/// spans refills.
#[derive(Debug)]
pub struct LineReader<R> {
    inner: R,
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    eof: bool,
    max: usize,
    long: Vec<u8>,
    stats: LineStats,
}

impl<R: Read> LineReader<R> {
    /// A reader cutting lines at `max_line_bytes`, with the default buffer.
    pub fn new(inner: R, max_line_bytes: usize) -> Self {
        Self::with_buffer(inner, max_line_bytes, DEFAULT_BUFFER_BYTES)
    }

    /// A reader with a read buffer of `buffer_bytes` (at least 1).
    pub fn with_buffer(inner: R, max_line_bytes: usize, buffer_bytes: usize) -> Self {
        LineReader {
            inner,
            buf: vec![0; buffer_bytes.max(1)].into_boxed_slice(),
            start: 0,
            end: 0,
            eof: false,
            max: max_line_bytes,
            long: Vec::new(),
            stats: LineStats::default(),
        }
    }

    /// Counts so far.
    pub fn stats(&self) -> LineStats {
        self.stats
    }

    /// The wrapped reader.
    pub fn into_inner(self) -> R {
        self.inner
    }

    fn fill(&mut self) -> io::Result<()> {
        loop {
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(());
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(());
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Appends to the assembled line up to the limit; counts the rest as dropped.
    fn push(long: &mut Vec<u8>, max: usize, piece: &[u8], dropped: &mut u64) {
        let room = max.saturating_sub(long.len());
        let take = room.min(piece.len());
        long.extend_from_slice(&piece[..take]);
        *dropped += (piece.len() - take) as u64;
    }

    fn count(&mut self, kept: usize, dropped: u64) -> u64 {
        self.stats.lines += 1;
        self.stats.bytes += kept as u64 + dropped;
        if dropped > 0 {
            self.stats.cut_lines += 1;
            self.stats.dropped_bytes += dropped;
        }
        self.stats.lines
    }

    /// The next line, or `None` at the end of the input.
    pub fn next_line(&mut self) -> io::Result<Option<Line<'_>>> {
        self.long.clear();
        let mut assembling = false;
        let mut pending_cr = false;
        let mut dropped = 0u64;
        loop {
            if self.start < self.end {
                if pending_cr {
                    pending_cr = false;
                    if self.buf[self.start] != b'\n' {
                        Self::push(&mut self.long, self.max, b"\r", &mut dropped);
                    }
                }
                let avail = &self.buf[self.start..self.end];
                if let Some(i) = memchr::memchr(b'\n', avail) {
                    let mut content = &avail[..i];
                    if let Some(rest) = content.strip_suffix(b"\r") {
                        content = rest;
                    }
                    if !assembling {
                        // The whole line is in the buffer: hand out a slice of it.
                        let keep = content.len().min(self.max);
                        let cut = (content.len() - keep) as u64;
                        let from = self.start;
                        self.start += i + 1;
                        let number = self.count(keep, cut);
                        return Ok(Some(Line {
                            bytes: &self.buf[from..from + keep],
                            dropped: cut,
                            number,
                        }));
                    }
                    Self::push(&mut self.long, self.max, content, &mut dropped);
                    self.start += i + 1;
                    let number = self.count(self.long.len(), dropped);
                    return Ok(Some(Line {
                        bytes: &self.long,
                        dropped,
                        number,
                    }));
                }
                // No newline in what is buffered.
                if !assembling && self.end - self.start < self.buf.len() {
                    // Room to read more: keep the line contiguous in the buffer.
                    self.buf.copy_within(self.start..self.end, 0);
                    self.end -= self.start;
                    self.start = 0;
                } else {
                    // The line is longer than the buffer: assemble it, up to the limit.
                    assembling = true;
                    let mut piece = &self.buf[self.start..self.end];
                    if let Some(rest) = piece.strip_suffix(b"\r") {
                        piece = rest;
                        pending_cr = true;
                    }
                    Self::push(&mut self.long, self.max, piece, &mut dropped);
                    self.start = 0;
                    self.end = 0;
                }
            } else {
                self.start = 0;
                self.end = 0;
            }
            if self.eof {
                // The last line has no terminator (a lone trailing `\r` is taken as one).
                if self.start < self.end {
                    let mut content = &self.buf[self.start..self.end];
                    if let Some(rest) = content.strip_suffix(b"\r") {
                        content = rest;
                    }
                    let keep = content.len().min(self.max);
                    let cut = (content.len() - keep) as u64;
                    let from = self.start;
                    self.start = self.end;
                    let number = self.count(keep, cut);
                    return Ok(Some(Line {
                        bytes: &self.buf[from..from + keep],
                        dropped: cut,
                        number,
                    }));
                }
                if assembling {
                    let number = self.count(self.long.len(), dropped);
                    return Ok(Some(Line {
                        bytes: &self.long,
                        dropped,
                        number,
                    }));
                }
                return Ok(None);
            }
            self.fill()?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A reader that hands out at most `chunk` bytes per call, and sometimes `Interrupted`.
    struct Trickle<'a> {
        data: &'a [u8],
        chunk: usize,
        interrupt: bool,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            self.interrupt = !self.interrupt;
            if self.interrupt {
                return Err(io::Error::new(ErrorKind::Interrupted, "signal"));
            }
            let n = self.chunk.min(out.len()).min(self.data.len());
            out[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    fn read_all(
        data: &[u8],
        max: usize,
        buffer: usize,
        chunk: usize,
    ) -> (Vec<(Vec<u8>, u64)>, LineStats) {
        let mut reader = LineReader::with_buffer(
            Trickle {
                data,
                chunk,
                interrupt: false,
            },
            max,
            buffer,
        );
        let mut out = Vec::new();
        while let Some(line) = reader.next_line().unwrap() {
            out.push((line.bytes.to_vec(), line.dropped));
        }
        (out, reader.stats())
    }

    /// The obvious implementation: split everything in memory.
    fn reference(data: &[u8], max: usize) -> Vec<(Vec<u8>, u64)> {
        if data.is_empty() {
            return Vec::new();
        }
        let mut parts: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
        if data.ends_with(b"\n") {
            parts.pop();
        }
        parts
            .into_iter()
            .map(|p| {
                let p = p.strip_suffix(b"\r").unwrap_or(p);
                let keep = p.len().min(max);
                (p[..keep].to_vec(), (p.len() - keep) as u64)
            })
            .collect()
    }

    #[test]
    fn crlf_cut_and_final_line() {
        let data = b"a\r\nbb\n\nccc\r\r\ndddddddddd\neee";
        for buffer in [1, 2, 3, 5, 64] {
            for chunk in [1, 2, 7, 100] {
                let (lines, stats) = read_all(data, 4, buffer, chunk);
                assert_eq!(lines, reference(data, 4), "buffer {buffer} chunk {chunk}");
                assert_eq!(stats.lines, 6);
                assert_eq!(stats.cut_lines, 1);
                assert_eq!(stats.dropped_bytes, 6);
            }
        }
    }

    #[test]
    fn memory_stays_bounded_on_a_huge_line() {
        let data = vec![b'x'; 5_000_000];
        let mut reader = LineReader::with_buffer(&data[..], 100, 4096);
        let line = reader.next_line().unwrap().unwrap();
        assert_eq!(line.bytes.len(), 100);
        assert_eq!(line.dropped, 4_999_900);
        assert!(reader.long.capacity() < 10_000);
        assert!(reader.next_line().unwrap().is_none());
    }

    proptest! {
        #[test]
        fn matches_the_reference(
            data in proptest::collection::vec(prop_oneof![Just(b'\n'), Just(b'\r'), Just(b'a'), Just(0xffu8)], 0..300),
            max in 0usize..20,
            buffer in 1usize..40,
            chunk in 1usize..50,
        ) {
            let (lines, stats) = read_all(&data, max, buffer, chunk);
            let expected = reference(&data, max);
            prop_assert_eq!(stats.lines as usize, expected.len());
            prop_assert_eq!(stats.dropped_bytes, expected.iter().map(|(_, d)| d).sum::<u64>());
            prop_assert_eq!(lines, expected);
        }
    }
}
