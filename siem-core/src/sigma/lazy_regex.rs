//! A `re` value's regular expression, checked when the rule is compiled and built on first use.
//!
//! Building a `regex::Regex` (a Thompson NFA forward and reversed, a one-pass DFA, literal
//! prefilters) costs 50-500 µs per SigmaHQ pattern: about a tenth of loading all SigmaHQ rules,
//! for expressions most event streams never reach because the prefilter and logsource routing
//! skip their rules. So the compiler only parses the pattern (which finds every syntax error,
//! with the regex crate's own message) and bounds the compiled program's size from the parsed
//! tree; only a pattern whose bound could exceed [`REGEX_SIZE_LIMIT`] is built at once, so a
//! too-large expression is still a load error, never a silent non-match.

use std::sync::OnceLock;

use regex_syntax::hir::{Class, Hir, HirKind};
use regex_syntax::utf8::Utf8Sequences;

use super::compile::REGEX_SIZE_LIMIT;

/// Nesting bound, as for the eager build.
const NEST_LIMIT: u32 = 64;

/// A regular expression built on first match (thread-safe: `OnceLock`). Cost before first use:
/// the pattern text; after: the `Regex`.
#[derive(Debug, Clone)]
pub(crate) struct LazyRegex {
    pattern: Box<str>,
    i: bool,
    m: bool,
    s: bool,
    regex: OnceLock<Option<regex::Regex>>,
}

fn builder(pattern: &str, i: bool, m: bool, s: bool) -> regex::RegexBuilder {
    let mut b = regex::RegexBuilder::new(pattern);
    b.case_insensitive(i)
        .multi_line(m)
        .dot_matches_new_line(s)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .nest_limit(NEST_LIMIT);
    b
}

/// An upper bound on the compiled NFA's size in transitions (saturating): each item counted as
/// if compiled on its own, every repetition's copy in full.
/// Recursion depth is bounded by the parser's nest limit.
fn size_bound(hir: &Hir) -> u64 {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => 1,
        HirKind::Literal(lit) => lit.0.len() as u64 + 1,
        // Each range becomes byte-range transitions along its UTF-8 sequences (counted without
        // the suffix sharing the compiler does).
        HirKind::Class(Class::Unicode(c)) => c
            .ranges()
            .iter()
            .flat_map(|r| Utf8Sequences::new(r.start(), r.end()))
            .map(|seq| seq.len() as u64 + 1)
            .sum::<u64>()
            .saturating_add(1),
        HirKind::Class(Class::Bytes(c)) => (c.ranges().len() as u64).saturating_mul(4) + 1,
        HirKind::Repetition(r) => {
            let copies = u64::from(r.max.unwrap_or(r.min)) + 1;
            size_bound(&r.sub).saturating_mul(copies).saturating_add(2)
        }
        HirKind::Capture(c) => size_bound(&c.sub).saturating_add(2),
        HirKind::Concat(subs) | HirKind::Alternation(subs) => {
            subs.iter().fold(subs.len() as u64 + 1, |acc, h| {
                acc.saturating_add(size_bound(h))
            })
        }
    }
}

impl LazyRegex {
    /// Checks `pattern` (syntax, and size when it could exceed the limit); the error is the regex
    /// crate's message.
    pub fn new(pattern: &str, i: bool, m: bool, s: bool) -> Result<LazyRegex, String> {
        let hir = regex_syntax::ParserBuilder::new()
            .case_insensitive(i)
            .multi_line(m)
            .dot_matches_new_line(s)
            .nest_limit(NEST_LIMIT)
            .build()
            .parse(pattern)
            .map_err(|e| e.to_string())?;
        let regex = OnceLock::new();
        // 64 bytes per transition over-counts the NFA's memory; the unanchored prefix and
        // the match state add a constant.
        let bound = size_bound(&hir).saturating_add(16).saturating_mul(64);
        if bound > REGEX_SIZE_LIMIT as u64 {
            let built = builder(pattern, i, m, s)
                .build()
                .map_err(|e| e.to_string())?;
            let _ = regex.set(Some(built));
        }
        Ok(LazyRegex {
            pattern: pattern.into(),
            i,
            m,
            s,
            regex,
        })
    }

    /// Whether the expression matches somewhere in `text` (builds it on first call).
    #[inline]
    pub fn is_match(&self, text: &str) -> bool {
        self.regex
            .get_or_init(|| builder(&self.pattern, self.i, self.m, self.s).build().ok())
            .as_ref()
            .is_some_and(|r| r.is_match(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_and_matches_as_the_eager_build() {
        for (p, i) in [
            ("a(b", false),
            ("(?<=a)b", false),
            ("\\w{1000}{1000}", false),
            ("(?i)pass[0-9]{2,}", false),
            ("^cmd\\.exe$", true),
            ("\\p{Greek}+x", false),
            ("://\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}", false),
            ("-k\\s\\w{1,64}(?:\\s?(?:-p|-s))?", false),
            ("\\w{1,20000}", false),
            ("", false),
        ] {
            let eager = builder(p, i, false, false).build();
            let lazy = LazyRegex::new(p, i, false, false);
            assert_eq!(eager.is_err(), lazy.is_err(), "{p}");
            if let (Err(a), Err(b)) = (&eager, &lazy) {
                assert_eq!(a.to_string(), *b, "{p}");
            }
            if let (Ok(a), Ok(b)) = (eager, lazy) {
                for t in ["", "ab", "PASS12", "Cmd.EXE", "αβγx", "pass1"] {
                    assert_eq!(a.is_match(t), b.is_match(t), "{p} on {t}");
                }
            }
        }
    }
}
