//! Compiled string patterns: a Sigma string after its modifiers, split into literal pieces so
//! that the common shapes are plain byte comparisons or one `memmem` search, and the rest a
//! greedy glob over `*`-separated segments (no regular expressions, no backtracking).
//!
//! Semantics, shared with the reference interpreter: a literal matches its bytes, `?` one
//! UTF-8 character at a character boundary, a windash position one of the five dash
//! characters, `*` any run of bytes. Patterns that hold non-UTF-8 literals (UTF-16 encodings)
//! contain no `?` or windash positions (the compiler refuses that combination), so every
//! segment is either plain bytes or UTF-8 text matched at character boundaries.

use std::sync::OnceLock;

use memchr::memmem::Finder;

use super::string::{Token, WINDASH_CHARS};

/// A `memmem` searcher for one literal, built on its first search (thread-safe: `OnceLock`).
/// A built [`Finder`] is 288 bytes of SIMD tables and costs about 1,500 instructions to make;
/// SigmaHQ's rules hold some 25,000 `contains` literals, most of which a stream never
/// searches (the prefilter skips their rules, or a [`ValueSet`](super::compile::ValueSet)
/// automaton searches them together), so building them all at load was 7 MB and 3% of the
/// load time. Cost before first use: the literal and 16 bytes.
#[derive(Debug)]
pub(crate) struct LazyFinder {
    needle: Box<[u8]>,
    finder: OnceLock<Box<Finder<'static>>>,
}

impl LazyFinder {
    pub(crate) fn new(needle: Box<[u8]>) -> LazyFinder {
        LazyFinder {
            needle,
            finder: OnceLock::new(),
        }
    }

    /// The literal searched for.
    #[inline]
    pub(crate) fn needle(&self) -> &[u8] {
        &self.needle
    }

    /// The first occurrence of the literal in `text` (builds the searcher on first call).
    #[inline]
    pub(crate) fn find(&self, text: &[u8]) -> Option<usize> {
        self.finder
            .get_or_init(|| Box::new(Finder::new(&self.needle[..]).into_owned()))
            .find(text)
    }
}

impl Clone for LazyFinder {
    fn clone(&self) -> LazyFinder {
        LazyFinder::new(self.needle.clone())
    }
}

/// One token of a glob segment.
#[derive(Debug, Clone)]
pub(crate) enum SegTok {
    Lit(Box<[u8]>),
    One,
    Dash,
}

/// A run of tokens between two `*`.
#[derive(Debug, Clone)]
pub(crate) struct Segment {
    toks: Box<[SegTok]>,
    /// Finder for the first token when it is a literal (the usual case).
    first: Option<Box<LazyFinder>>,
    /// Upper bound of the bytes the segment can span.
    max_len: usize,
    /// Whether the segment is one literal.
    plain: bool,
}

/// A compiled string pattern.
#[derive(Debug, Clone)]
pub(crate) enum Pattern {
    /// `*`: anything.
    Any,
    /// No wildcard: equality.
    Exact(Box<[u8]>),
    /// `lit*`.
    Prefix(Box<[u8]>),
    /// `*lit`.
    Suffix(Box<[u8]>),
    /// `*lit*`.
    Contains(Box<LazyFinder>),
    /// Anything else.
    Glob {
        segments: Box<[Segment]>,
        anchored_start: bool,
        anchored_end: bool,
    },
}

/// UTF-8 sequence length announced by a lead byte (1 for ASCII and for bytes that cannot lead).
#[inline]
pub(crate) fn char_len(lead: u8) -> usize {
    match lead {
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF7 => 4,
        _ => 1,
    }
}

#[inline]
fn is_boundary(text: &[u8], at: usize) -> bool {
    at == text.len() || (at < text.len() && (text[at] as i8) >= -0x40)
}

/// Length of the windash character at `at`, if there is one.
#[inline]
fn dash_at(text: &[u8], at: usize) -> Option<usize> {
    let len = char_len(*text.get(at)?);
    let c = std::str::from_utf8(text.get(at..at + len)?)
        .ok()?
        .chars()
        .next()?;
    WINDASH_CHARS.contains(&c).then_some(len)
}

impl Segment {
    fn new(toks: Vec<SegTok>) -> Segment {
        let first = match toks.first() {
            Some(SegTok::Lit(lit)) => Some(Box::new(LazyFinder::new(lit.clone()))),
            _ => None,
        };
        let max_len = toks
            .iter()
            .map(|t| match t {
                SegTok::Lit(l) => l.len(),
                SegTok::One => 4,
                SegTok::Dash => 3,
            })
            .sum();
        let plain = toks.len() == 1 && matches!(toks[0], SegTok::Lit(_));
        Segment {
            toks: toks.into_boxed_slice(),
            first,
            max_len,
            plain,
        }
    }

    /// Where the segment ends when it matches at `at`.
    #[inline]
    fn match_at(&self, text: &[u8], mut at: usize) -> Option<usize> {
        for tok in self.toks.iter() {
            match tok {
                SegTok::Lit(lit) => {
                    if !text.get(at..)?.starts_with(lit) {
                        return None;
                    }
                    at += lit.len();
                }
                SegTok::One => {
                    if at >= text.len() || !is_boundary(text, at) {
                        return None;
                    }
                    at += char_len(text[at]);
                    if at > text.len() {
                        return None;
                    }
                }
                SegTok::Dash => at += dash_at(text, at)?,
            }
        }
        Some(at)
    }

    /// The leftmost match starting at or after `from`: (start, end).
    fn find(&self, text: &[u8], from: usize) -> Option<(usize, usize)> {
        let mut at = from;
        loop {
            if at > text.len() {
                return None;
            }
            let start = match &self.first {
                Some(finder) => at + finder.find(&text[at..])?,
                None => {
                    while !is_boundary(text, at) {
                        at += 1;
                    }
                    if at >= text.len() {
                        // Segments without a leading literal consume at least one character.
                        return None;
                    }
                    at
                }
            };
            if let Some(end) = self.match_at(text, start) {
                return Some((start, end));
            }
            at = start + 1;
        }
    }

    /// A match that ends exactly at the end of `text` and starts at or after `from`.
    fn match_suffix(&self, text: &[u8], from: usize) -> bool {
        if self.plain {
            let SegTok::Lit(lit) = &self.toks[0] else {
                return false;
            };
            return text.len() >= from + lit.len() && text.ends_with(lit);
        }
        let lowest = text.len().saturating_sub(self.max_len).max(from);
        (lowest..=text.len())
            .any(|start| is_boundary(text, start) && self.match_at(text, start) == Some(text.len()))
    }

    pub(crate) fn literals(&self) -> impl Iterator<Item = &[u8]> {
        self.toks.iter().filter_map(|t| match t {
            SegTok::Lit(l) => Some(&l[..]),
            _ => None,
        })
    }
}

impl Pattern {
    /// Compiles normalized tokens (adjacent literals merged, no repeated `*`, no placeholders).
    pub(crate) fn compile(tokens: &[Token]) -> Pattern {
        let lit = |t: &Token| match t {
            Token::Lit(l) => Some(l.clone().into_boxed_slice()),
            _ => None,
        };
        match tokens {
            [] => return Pattern::Exact(Box::default()),
            [Token::Star] => return Pattern::Any,
            [t] if lit(t).is_some() => return Pattern::Exact(lit(t).unwrap_or_default()),
            [t, Token::Star] if lit(t).is_some() => {
                return Pattern::Prefix(lit(t).unwrap_or_default());
            }
            [Token::Star, t] if lit(t).is_some() => {
                return Pattern::Suffix(lit(t).unwrap_or_default());
            }
            [Token::Star, t, Token::Star] if lit(t).is_some() => {
                return Pattern::Contains(Box::new(LazyFinder::new(lit(t).unwrap_or_default())));
            }
            _ => {}
        }
        let anchored_start = tokens.first() != Some(&Token::Star);
        let anchored_end = tokens.last() != Some(&Token::Star);
        let mut segments = Vec::new();
        let mut current = Vec::new();
        for token in tokens {
            match token {
                Token::Star => {
                    if !current.is_empty() {
                        segments.push(Segment::new(std::mem::take(&mut current)));
                    }
                }
                Token::Lit(l) => current.push(SegTok::Lit(l.clone().into_boxed_slice())),
                Token::One => current.push(SegTok::One),
                Token::Dash => current.push(SegTok::Dash),
                // The compiler substitutes placeholders before it compiles patterns.
                Token::Placeholder(_) => {}
            }
        }
        if !current.is_empty() {
            segments.push(Segment::new(current));
        }
        Pattern::Glob {
            segments: segments.into_boxed_slice(),
            anchored_start,
            anchored_end,
        }
    }

    /// Whether `text` matches.
    #[inline]
    pub(crate) fn is_match(&self, text: &[u8]) -> bool {
        match self {
            Pattern::Any => true,
            Pattern::Exact(lit) => text == &lit[..],
            Pattern::Prefix(lit) => text.starts_with(lit),
            Pattern::Suffix(lit) => text.ends_with(lit),
            Pattern::Contains(finder) => finder.find(text).is_some(),
            Pattern::Glob {
                segments,
                anchored_start,
                anchored_end,
            } => glob_match(segments, *anchored_start, *anchored_end, text),
        }
    }

    /// Every literal the pattern requires to be present: the prefilter's needles.
    pub(crate) fn literals(&self) -> Vec<&[u8]> {
        match self {
            Pattern::Any => Vec::new(),
            Pattern::Exact(l) | Pattern::Prefix(l) | Pattern::Suffix(l) => vec![&l[..]],
            Pattern::Contains(f) => vec![f.needle()],
            Pattern::Glob { segments, .. } => segments.iter().flat_map(Segment::literals).collect(),
        }
    }
}

fn glob_match(segments: &[Segment], anchored_start: bool, anchored_end: bool, text: &[u8]) -> bool {
    let n = segments.len();
    if n == 0 {
        // Only `*`s (and anchors): matches anything when unanchored, the empty text otherwise.
        return !(anchored_start && anchored_end) || text.is_empty();
    }
    let mut at = 0;
    let mut first = 0;
    if anchored_start {
        match segments[0].match_at(text, 0) {
            Some(end) => at = end,
            None => return false,
        }
        first = 1;
        if n == 1 && anchored_end {
            return at == text.len();
        }
    }
    let last = if anchored_end { n - 1 } else { n };
    for segment in &segments[first.min(last)..last] {
        match segment.find(text, at) {
            Some((_, end)) => at = end,
            None => return false,
        }
    }
    if anchored_end && last >= first {
        return segments[n - 1].match_suffix(text, at);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sigma::string::{normalize, parse, windash};

    fn m(pattern: &str, text: &str) -> bool {
        Pattern::compile(&normalize(parse(pattern, false))).is_match(text.as_bytes())
    }

    #[test]
    fn shapes() {
        assert!(m("abc", "abc"));
        assert!(!m("abc", "abcd"));
        assert!(m("ab*", "abcd"));
        assert!(m("*cd", "abcd"));
        assert!(m("*bc*", "abcd"));
        assert!(m("*", ""));
        assert!(m("", ""));
        assert!(!m("", "a"));
        assert!(m("a*c", "abbbc"));
        assert!(m("a*c", "ac"));
        assert!(!m("a*c", "acb"));
        assert!(m("a?c", "abc"));
        assert!(m("a?c", "aéc"));
        assert!(!m("a?c", "ac"));
        assert!(m("*a?c*", "xxaécyy"));
        assert!(m("a*b*c", "abc"));
        assert!(m("a*b*c", "aXbXbXc"));
        assert!(!m("ab*ba", "aba"));
        assert!(m("ab*ba", "abba"));
        assert!(m("?", "é"));
        assert!(!m("??", "é"));
        assert!(m("*?", "é"));
        assert!(m("*?*", "x"));
        assert!(!m("*?*", ""));
        assert!(m("*a*a*", "aa"));
        assert!(!m("*a*a*", "a"));
    }

    #[test]
    fn windash_positions_match_every_dash() {
        let p = Pattern::compile(&normalize(windash(normalize(parse("* -Nop *", false)))));
        for dash in WINDASH_CHARS {
            assert!(
                p.is_match(format!("powershell {dash}Nop x").as_bytes()),
                "{dash}"
            );
        }
        assert!(!p.is_match(b"powershell +Nop x"));
    }
}
