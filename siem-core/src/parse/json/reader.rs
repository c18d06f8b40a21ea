//! A small JSON reader that borrows from the input: one pass over the bytes into a tree whose
//! strings point into the text unless they hold escapes. It exists because building a
//! `serde_json::Value` and then an [`Event`](crate::event::Event) from it costs twice the
//! allocations; the Windows event path needs to stay under a few microseconds per event.
//!
//! The reader accepts exactly JSON (RFC 8259) except that it tolerates raw control characters
//! inside strings and replaces lone UTF-16 surrogates in `\u` escapes with U+FFFD, as
//! event-log exporters produce both. Nesting is bounded by [`MAX_DEPTH`].

use std::borrow::Cow;

/// Deepest nesting of arrays and objects accepted; deeper input is an error, not a stack
/// overflow.
pub const MAX_DEPTH: usize = 128;

/// A parsed JSON value borrowing from the text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum J<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Cow<'a, str>),
    Arr(Vec<J<'a>>),
    /// Members in input order; duplicates kept (readers take the last).
    Obj(Vec<(Cow<'a, str>, J<'a>)>),
}

impl<'a> J<'a> {
    /// The member `key` of an object (the last one when repeated).
    pub(crate) fn get(&self, key: &str) -> Option<&J<'a>> {
        match self {
            J::Obj(members) => members.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            J::Str(s) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn members(&self) -> &[(Cow<'a, str>, J<'a>)] {
        match self {
            J::Obj(members) => members,
            _ => &[],
        }
    }

    /// An integer, from a JSON number or a string of digits.
    pub(crate) fn as_int(&self) -> Option<i64> {
        match self {
            J::Int(i) => Some(*i),
            J::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Some(*f as i64),
            J::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    pub(crate) fn kind(&self) -> &'static str {
        match self {
            J::Null => "null",
            J::Bool(_) => "a boolean",
            J::Int(_) | J::Float(_) => "a number",
            J::Str(_) => "a string",
            J::Arr(_) => "an array",
            J::Obj(_) => "an object",
        }
    }
}

/// Where and why the text is not JSON.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid JSON at byte {offset}: {what}")]
pub struct SyntaxError {
    /// Byte offset of the problem in the text.
    pub offset: usize,
    /// What was expected or found.
    pub what: &'static str,
}

pub(crate) struct Reader<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Reader { text, at: 0 }
    }

    pub(crate) fn position(&self) -> usize {
        self.at
    }

    fn err<T>(&self, what: &'static str) -> Result<T, SyntaxError> {
        Err(SyntaxError {
            offset: self.at,
            what,
        })
    }

    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    /// Skips whitespace. Compact JSON (what exporters write, one event per line) has none
    /// between tokens: one compare decides that, inline; the loop is out of line.
    #[inline(always)]
    pub(crate) fn skip_ws(&mut self) {
        if self.bytes().get(self.at).is_some_and(|&c| c <= b' ') {
            self.skip_ws_loop();
        }
    }

    #[inline(never)]
    fn skip_ws_loop(&mut self) {
        let b = self.bytes();
        while self.at < b.len() && matches!(b[self.at], b' ' | b'\t' | b'\n' | b'\r') {
            self.at += 1;
        }
    }

    pub(crate) fn at_end(&mut self) -> bool {
        self.skip_ws();
        self.at >= self.text.len()
    }

    /// The next non-whitespace byte, not consumed.
    #[inline]
    pub(crate) fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.bytes().get(self.at).copied()
    }

    /// Moves back to `at`, a position this reader was at before (a fast path that found its
    /// text not in the shape it reads hands the text to the general path from there).
    pub(crate) fn rewind(&mut self, at: usize) {
        debug_assert!(at <= self.at);
        self.at = at;
    }

    /// Consumes `literal` when the text continues with exactly these bytes (no whitespace
    /// skipped): fast paths match the fixed punctuation and keys of a known layout this way,
    /// a few word compares instead of a member read and a key compare.
    #[inline(always)]
    pub(crate) fn eat<const N: usize>(&mut self, literal: &[u8; N]) -> bool {
        match self
            .bytes()
            .get(self.at..)
            .and_then(|rest| rest.first_chunk::<N>())
        {
            Some(next) if next == literal => {
                self.at += N;
                true
            }
            _ => false,
        }
    }

    /// A string, number, boolean or null (leading whitespace skipped), or `None` at an object,
    /// an array, the end of the text or anything that is not a valid value (the position is
    /// then unspecified): for fast paths that hand anything else to the general path.
    #[inline(always)]
    pub(crate) fn scalar(&mut self) -> Option<J<'a>> {
        self.skip_ws();
        match self.bytes().get(self.at) {
            Some(b'{' | b'[') | None => None,
            Some(_) => self.value(0).ok(),
        }
    }

    /// Consumes the `{` that opens an object being streamed member by member with
    /// [`Reader::member`].
    pub(crate) fn object_start(&mut self, depth: usize) -> Result<(), SyntaxError> {
        if depth >= MAX_DEPTH {
            return self.err("nesting deeper than the limit");
        }
        if self.peek() != Some(b'{') {
            return self.err("expected `{`");
        }
        self.at += 1;
        Ok(())
    }

    /// The next member key of an object opened with [`Reader::object_start`] (its `:`
    /// consumed), or `None` after the closing `}`. `first` must start `true` for each object.
    #[inline]
    pub(crate) fn member(&mut self, first: &mut bool) -> Result<Option<Cow<'a, str>>, SyntaxError> {
        let b = self.bytes();
        // Compact JSON first: `,"key":` with no whitespace, the same steps as below without
        // the whitespace checks (any whitespace after the key is still skipped).
        if !*first && b.get(self.at) == Some(&b',') && b.get(self.at + 1) == Some(&b'"') {
            self.at += 2;
            let key = self.string()?;
            if b.get(self.at) != Some(&b':') {
                self.skip_ws();
                if b.get(self.at) != Some(&b':') {
                    return self.err("expected `:`");
                }
            }
            self.at += 1;
            return Ok(Some(key));
        }
        self.skip_ws();
        match b.get(self.at) {
            Some(b'}') => {
                self.at += 1;
                return Ok(None);
            }
            Some(b',') if !*first => {
                self.at += 1;
                self.skip_ws();
            }
            _ if *first => {}
            _ => return self.err("expected `,` or `}`"),
        }
        *first = false;
        if b.get(self.at) != Some(&b'"') {
            return self.err("expected a string key");
        }
        self.at += 1;
        let key = self.string()?;
        self.skip_ws();
        if b.get(self.at) != Some(&b':') {
            return self.err("expected `:`");
        }
        self.at += 1;
        Ok(Some(key))
    }

    /// One value (leading whitespace skipped). Strings and numbers, most of a Windows event's
    /// values, are read here, inlined into the caller; objects, arrays and literals go through
    /// [`Reader::composite`], whose frame (it recurses) costs more than reading a short string.
    #[inline]
    pub(crate) fn value(&mut self, depth: usize) -> Result<J<'a>, SyntaxError> {
        self.skip_ws();
        match self.bytes().get(self.at) {
            Some(b'"') => {
                self.at += 1;
                Ok(J::Str(self.string()?))
            }
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => self.composite(depth),
        }
    }

    /// The rest of [`Reader::value`]: anything but a string or a number (whitespace skipped).
    #[inline(never)]
    fn composite(&mut self, depth: usize) -> Result<J<'a>, SyntaxError> {
        let b = self.bytes();
        let Some(&c) = b.get(self.at) else {
            return self.err("unexpected end of input");
        };
        match c {
            b'{' => {
                if depth >= MAX_DEPTH {
                    return self.err("nesting deeper than the limit");
                }
                self.at += 1;
                let mut members = Vec::new();
                self.skip_ws();
                if b.get(self.at) == Some(&b'}') {
                    self.at += 1;
                    return Ok(J::Obj(members));
                }
                loop {
                    self.skip_ws();
                    if b.get(self.at) != Some(&b'"') {
                        return self.err("expected a string key");
                    }
                    self.at += 1;
                    let key = self.string()?;
                    self.skip_ws();
                    if b.get(self.at) != Some(&b':') {
                        return self.err("expected `:`");
                    }
                    self.at += 1;
                    let value = self.value(depth + 1)?;
                    members.push((key, value));
                    self.skip_ws();
                    match b.get(self.at) {
                        Some(b',') => self.at += 1,
                        Some(b'}') => {
                            self.at += 1;
                            return Ok(J::Obj(members));
                        }
                        _ => return self.err("expected `,` or `}`"),
                    }
                }
            }
            b'[' => {
                if depth >= MAX_DEPTH {
                    return self.err("nesting deeper than the limit");
                }
                self.at += 1;
                let mut items = Vec::new();
                self.skip_ws();
                if b.get(self.at) == Some(&b']') {
                    self.at += 1;
                    return Ok(J::Arr(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    self.skip_ws();
                    match b.get(self.at) {
                        Some(b',') => self.at += 1,
                        Some(b']') => {
                            self.at += 1;
                            return Ok(J::Arr(items));
                        }
                        _ => return self.err("expected `,` or `]`"),
                    }
                }
            }
            b'"' => {
                self.at += 1;
                Ok(J::Str(self.string()?))
            }
            b't' => self.literal("true", J::Bool(true)),
            b'f' => self.literal("false", J::Bool(false)),
            b'n' => self.literal("null", J::Null),
            b'-' | b'0'..=b'9' => self.number(),
            _ => self.err("expected a value"),
        }
    }

    fn literal(&mut self, word: &'static str, value: J<'a>) -> Result<J<'a>, SyntaxError> {
        if self.text[self.at..].starts_with(word) {
            self.at += word.len();
            Ok(value)
        } else {
            self.err("expected true, false or null")
        }
    }

    fn number(&mut self) -> Result<J<'a>, SyntaxError> {
        let b = self.bytes();
        let start = self.at;
        let mut i = self.at;
        let negative = b.get(i) == Some(&b'-');
        if negative {
            i += 1;
        }
        let digits_start = i;
        // The value of the digits, accumulated as they are scanned (one pass); it wraps past
        // 18 digits, where it is not used.
        let mut magnitude = 0i64;
        match b.get(i) {
            Some(b'0') => i += 1,
            Some(b'1'..=b'9') => {
                while let Some(&d) = b.get(i)
                    && d.is_ascii_digit()
                {
                    magnitude = magnitude.wrapping_mul(10).wrapping_add(i64::from(d - b'0'));
                    i += 1;
                }
            }
            _ => {
                self.at = i;
                return self.err("expected digits");
            }
        }
        // An integer of up to 18 digits cannot overflow an `i64`: read it here (std's generic
        // reader costs tens of instructions per number, and a Windows event holds a dozen).
        if i - digits_start <= 18 && !matches!(b.get(i), Some(b'.' | b'e' | b'E')) {
            self.at = i;
            return Ok(J::Int(if negative { -magnitude } else { magnitude }));
        }
        let mut float = false;
        if b.get(i) == Some(&b'.') {
            float = true;
            i += 1;
            if !b.get(i).is_some_and(u8::is_ascii_digit) {
                self.at = i;
                return self.err("expected digits after `.`");
            }
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
        }
        if matches!(b.get(i), Some(b'e' | b'E')) {
            float = true;
            i += 1;
            if matches!(b.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            if !b.get(i).is_some_and(u8::is_ascii_digit) {
                self.at = i;
                return self.err("expected digits in the exponent");
            }
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
        }
        self.at = i;
        let text = &self.text[start..i];
        if !float && let Ok(n) = text.parse::<i64>() {
            return Ok(J::Int(n));
        }
        match text.parse::<f64>() {
            Ok(f) => Ok(J::Float(f)),
            Err(_) => self.err("unreadable number"),
        }
    }

    /// A string body after its opening quote; consumes the closing quote. A string whose
    /// closing quote is within its first 16 bytes (most keys, many values) is found here,
    /// inlined into the caller, with one 16-byte compare ([`quote_or_backslash_mask`]);
    /// longer strings and escapes go out of line ([`Reader::long_string`]): the call and its
    /// frame cost a good part of reading a short string.
    #[inline(always)]
    fn string(&mut self) -> Result<Cow<'a, str>, SyntaxError> {
        let b = self.bytes();
        let start = self.at;
        if let Some(chunk) = b.get(start..).and_then(|rest| rest.first_chunk::<16>()) {
            let hits = quote_or_backslash_mask(chunk);
            if hits != 0 {
                let i = start + hits.trailing_zeros() as usize;
                if b[i] == b'"' {
                    self.at = i + 1;
                    return Ok(Cow::Borrowed(&self.text[start..i]));
                }
            }
        }
        self.long_string(start)
    }

    /// [`Reader::string`] past its first 16 bytes, or near the end of the text.
    #[inline(never)]
    fn long_string(&mut self, start: usize) -> Result<Cow<'a, str>, SyntaxError> {
        let b = self.bytes();
        // Most keys and values end within a few dozen bytes: eight bytes at a time (no setup)
        // first, then the vectorised search for the long ones (command lines, scripts).
        match quote_or_backslash(b, start) {
            Some(i) if b[i] == b'"' => {
                self.at = i + 1;
                Ok(Cow::Borrowed(&self.text[start..i]))
            }
            Some(i) => self.escaped_string(start, i - start),
            None => self.err("unterminated string"),
        }
    }

    /// The rest of [`Reader::string`] for a string holding an escape, `first_escape` bytes
    /// after its `start`.
    #[inline(never)]
    fn escaped_string(
        &mut self,
        start: usize,
        first_escape: usize,
    ) -> Result<Cow<'a, str>, SyntaxError> {
        let b = self.bytes();
        // Room for the text up to the first escape and some more; grows if needed.
        let mut out = String::with_capacity(first_escape + 64);
        let mut run = start;
        loop {
            let Some(i) = memchr::memchr2(b'"', b'\\', &b[self.at..]) else {
                return self.err("unterminated string");
            };
            let pos = self.at + i;
            out.push_str(&self.text[run..pos]);
            if b[pos] == b'"' {
                self.at = pos + 1;
                return Ok(Cow::Owned(out));
            }
            // An escape.
            let Some(&e) = b.get(pos + 1) else {
                return self.err("unterminated escape");
            };
            self.at = pos + 2;
            match e {
                b'"' => out.push('"'),
                b'\\' => out.push('\\'),
                b'/' => out.push('/'),
                b'b' => out.push('\u{8}'),
                b'f' => out.push('\u{c}'),
                b'n' => out.push('\n'),
                b'r' => out.push('\r'),
                b't' => out.push('\t'),
                b'u' => {
                    let hi = self.hex4()?;
                    let ch = if (0xD800..0xDC00).contains(&hi) {
                        // A high surrogate: a low one should follow.
                        if self.text[self.at..].starts_with("\\u") {
                            let save = self.at;
                            self.at += 2;
                            let lo = self.hex4()?;
                            if (0xDC00..0xE000).contains(&lo) {
                                char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))
                            } else {
                                self.at = save;
                                None
                            }
                        } else {
                            None
                        }
                    } else {
                        char::from_u32(hi)
                    };
                    out.push(ch.unwrap_or('\u{FFFD}'));
                }
                _ => {
                    self.at = pos + 1;
                    return self.err("unknown escape");
                }
            }
            run = self.at;
        }
    }

    fn hex4(&mut self) -> Result<u32, SyntaxError> {
        let Some(digits) = self.text.get(self.at..self.at + 4) else {
            return self.err("short \\u escape");
        };
        let Ok(v) = u32::from_str_radix(digits, 16) else {
            return self.err("bad \\u escape");
        };
        if !digits.bytes().all(|c| c.is_ascii_hexdigit()) {
            return self.err("bad \\u escape");
        }
        self.at += 4;
        Ok(v)
    }
}

/// The position of the first quote or backslash at or after `from`: 16 bytes per step
/// ([`quote_or_backslash_mask`]) for the first 64 bytes, then `memchr2`, whose setup (it
/// dispatches to AVX2 and aligns) pays off only on longer strings.
#[inline]
fn quote_or_backslash(b: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    let chunked_end = from.saturating_add(64);
    while i < chunked_end {
        let Some(chunk) = b.get(i..).and_then(|rest| rest.first_chunk::<16>()) else {
            break;
        };
        let hits = quote_or_backslash_mask(chunk);
        if hits != 0 {
            return Some(i + hits.trailing_zeros() as usize);
        }
        i += 16;
    }
    let rest = b.get(i..)?;
    memchr::memchr2(b'"', b'\\', rest).map(|j| i + j)
}

/// A mask of the quotes and backslashes in `chunk`: bit `i` for byte `i`. Only the lowest
/// set bit is meant (on targets without SSE2, the bits past it may be wrong); zero when
/// there is none. With SSE2 (every x86_64 CPU) two byte compares and a `movemask`.
#[inline(always)]
fn quote_or_backslash_mask(chunk: &[u8; 16]) -> u32 {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    {
        use std::arch::x86_64::{
            _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
        };
        // SAFETY: the SSE2 intrinsics need the `sse2` target feature, which this block is
        // only compiled with (the `cfg` above; it is part of the x86_64 baseline), so the
        // instructions exist on every CPU the program runs on. `_mm_loadu_si128` reads 16
        // bytes from the pointer with no alignment requirement, and `chunk` is a reference to
        // exactly 16 initialised bytes. The others only compute on registers.
        unsafe {
            let bytes = _mm_loadu_si128(chunk.as_ptr().cast());
            let quotes = _mm_cmpeq_epi8(bytes, _mm_set1_epi8(b'"' as i8));
            let backslashes = _mm_cmpeq_epi8(bytes, _mm_set1_epi8(b'\\' as i8));
            // The 16 high bits of the compare results: bits 16..32 of the `i32` are zero.
            _mm_movemask_epi8(_mm_or_si128(quotes, backslashes)) as u32
        }
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    {
        let (first, second) = chunk.split_at(8);
        let low = quote_or_backslash_bits(first);
        if low != 0 {
            return 1 << (low.trailing_zeros() / 8);
        }
        let high = quote_or_backslash_bits(second);
        if high != 0 {
            1 << (8 + high.trailing_zeros() / 8)
        } else {
            0
        }
    }
}

/// The high bit of each byte of `word` that is a quote or a backslash (and possibly of
/// later bytes: only the lowest set bit is exact), from a bit trick on a `u64`: a byte equal
/// to the target becomes zero after the xor, and subtracting one borrows into its high bit.
#[cfg(any(test, not(all(target_arch = "x86_64", target_feature = "sse2"))))]
#[inline(always)]
fn quote_or_backslash_bits(word: &[u8]) -> u64 {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let x = u64::from_le_bytes(word.try_into().unwrap_or([0; 8]));
    let q = x ^ (LO * u64::from(b'"'));
    let s = x ^ (LO * u64::from(b'\\'));
    (q.wrapping_sub(LO) & !q | s.wrapping_sub(LO) & !s) & HI
}

/// Parses a text holding exactly one JSON value (surrounding whitespace allowed).
pub(crate) fn parse(text: &str) -> Result<J<'_>, SyntaxError> {
    let mut r = Reader::new(text);
    let value = r.value(0)?;
    if !r.at_end() {
        return r.err("trailing characters after the JSON value");
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The number reader's definition: an integer when `i64` holds it, else an `f64`.
    fn number_reference(text: &str) -> J<'static> {
        match text.parse::<i64>() {
            Ok(n) if !text.contains(['.', 'e', 'E']) => J::Int(n),
            _ => J::Float(text.parse().unwrap()),
        }
    }

    proptest::proptest! {
        /// Integers read by hand (up to 18 digits) and by std (longer) are what std reads.
        #[test]
        fn integers_read_like_std(text in "-?(0|[1-9][0-9]{0,25})(\\.[0-9]{1,3})?") {
            proptest::prop_assert_eq!(parse(&text), Ok(number_reference(&text)));
        }

        /// Strings as the whole text (their end near the end of the input) and as an object
        /// member, quotes and backslashes anywhere around the 8- and 16-byte steps of the scan:
        /// read as serde_json reads them.
        #[test]
        fn strings_read_like_serde_json(s in "[a-z\"\\\\é]{0,40}") {
            let text = serde_json::to_string(&s).unwrap();
            proptest::prop_assert_eq!(parse(&text), Ok(J::Str(Cow::Borrowed(s.as_str()))));
            let object = format!("{{{text}:{text}}}");
            let expected = J::Obj(vec![(Cow::Borrowed(s.as_str()), J::Str(Cow::Borrowed(s.as_str())))]);
            proptest::prop_assert_eq!(parse(&object), Ok(expected));
        }

        /// The 16-byte mask's lowest set bit is the first quote or backslash of the chunk
        /// (a byte-by-byte search), and so is the eight-byte trick's.
        #[test]
        fn chunk_mask_finds_the_first_quote_or_backslash(
            chunk in proptest::array::uniform16(proptest::prelude::any::<u8>()),
            specials in proptest::collection::vec((0usize..16, proptest::bool::ANY), 0..3),
        ) {
            let mut chunk = chunk;
            for (at, quote) in specials {
                chunk[at] = if quote { b'"' } else { b'\\' };
            }
            let first = chunk.iter().position(|&c| c == b'"' || c == b'\\');
            let mask = quote_or_backslash_mask(&chunk);
            proptest::prop_assert_eq!((mask != 0).then(|| mask.trailing_zeros() as usize), first);
            let (low, high) = chunk.split_at(8);
            let (l, h) = (quote_or_backslash_bits(low), quote_or_backslash_bits(high));
            let bits = if l != 0 {
                Some(l.trailing_zeros() as usize / 8)
            } else if h != 0 {
                Some(8 + h.trailing_zeros() as usize / 8)
            } else {
                None
            };
            proptest::prop_assert_eq!(bits, first);
        }

        #[test]
        fn every_i64_reads_back(n in proptest::prelude::any::<i64>()) {
            let text = n.to_string();
            proptest::prop_assert_eq!(parse(&text), Ok(J::Int(n)));
        }
    }

    #[test]
    fn reads_json() {
        let v = parse(r#" {"a":[1,-2.5e1,"x\"y\u00e9\ud83d\ude00",true,null,{}],"b":{"c":18446744073709551615}} "#).unwrap();
        let a = v.get("a").unwrap();
        match a {
            J::Arr(items) => {
                assert_eq!(items[0], J::Int(1));
                assert_eq!(items[1], J::Float(-25.0));
                assert_eq!(items[2].as_str(), Some("x\"yé😀"));
                assert_eq!(items[5], J::Obj(vec![]));
            }
            _ => panic!("not an array"),
        }
        assert_eq!(
            v.get("b").unwrap().get("c"),
            Some(&J::Float(18446744073709551615.0))
        );
    }

    #[test]
    fn rejects_bad_json_without_panicking() {
        for text in [
            "",
            "{",
            "{\"a\"",
            "{\"a\":}",
            "[1,]",
            "01",
            "1.",
            "1e",
            "\"\\u12\"",
            "\"\\x\"",
            "{\"a\":1}x",
            "tru",
            "\"",
            "\"\\",
        ] {
            assert!(parse(text).is_err(), "{text:?}");
        }
        let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        assert!(parse(&deep).is_err());
        let ok = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert!(parse(&ok).is_ok());
    }

    #[test]
    fn lone_surrogates_become_replacement_characters() {
        assert_eq!(parse(r#""\ud800x""#).unwrap().as_str(), Some("\u{FFFD}x"));
        assert_eq!(parse(r#""\udc00""#).unwrap().as_str(), Some("\u{FFFD}"));
        assert_eq!(
            parse(r#""\ud800\u0041""#).unwrap().as_str(),
            Some("\u{FFFD}A")
        );
    }

    mod props {
        use super::super::*;
        use proptest::prelude::*;

        fn to_serde(j: &J<'_>) -> serde_json::Value {
            match j {
                J::Null => serde_json::Value::Null,
                J::Bool(b) => serde_json::Value::Bool(*b),
                J::Int(i) => serde_json::Value::from(*i),
                J::Float(f) => serde_json::Number::from_f64(*f)
                    .map_or(serde_json::Value::Null, serde_json::Value::Number),
                J::Str(s) => serde_json::Value::String(s.to_string()),
                J::Arr(items) => serde_json::Value::Array(items.iter().map(to_serde).collect()),
                J::Obj(members) => {
                    let mut map = serde_json::Map::new();
                    for (k, v) in members {
                        map.insert(k.to_string(), to_serde(v));
                    }
                    serde_json::Value::Object(map)
                }
            }
        }

        fn json_value() -> impl Strategy<Value = serde_json::Value> {
            let leaf = prop_oneof![
                Just(serde_json::Value::Null),
                any::<bool>().prop_map(serde_json::Value::Bool),
                any::<i64>().prop_map(serde_json::Value::from),
                (-1e12f64..1e12).prop_map(serde_json::Value::from),
                any::<String>().prop_map(serde_json::Value::String),
            ];
            leaf.prop_recursive(4, 64, 8, |inner| {
                prop_oneof![
                    proptest::collection::vec(inner.clone(), 0..8)
                        .prop_map(serde_json::Value::Array),
                    proptest::collection::btree_map("[a-zA-Z0-9_\\\\\"é]{0,8}", inner, 0..8)
                        .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
                ]
            })
        }

        proptest! {
            /// The reader agrees with serde_json on whatever serde_json writes (compact or pretty).
            #[test]
            fn agrees_with_serde_json(value in json_value(), pretty in any::<bool>()) {
                let text = if pretty { serde_json::to_string_pretty(&value).unwrap() } else { serde_json::to_string(&value).unwrap() };
                let ours = parse(&text).unwrap();
                prop_assert_eq!(to_serde(&ours), value);
            }

            /// Whatever serde_json refuses, the reader refuses too, apart from its two
            /// documented leniencies (raw control characters in strings, lone surrogates).
            #[test]
            fn refuses_what_serde_json_refuses(text in "[\\[\\]{}:,\" a-z0-9.eE+\\-\\\\]{0,40}") {
                let serde_ok = serde_json::from_str::<serde_json::Value>(&text).is_ok();
                let ours_ok = parse(&text).is_ok();
                prop_assert_eq!(ours_ok, serde_ok, "{:?}", text);
            }
        }
    }
}
