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
use super::string::fold_case;

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
    /// Folded strings one of which every match contains (see [`required_literals`]), for the
    /// prefilter; `None` when the expression requires none worth looking for.
    required: Option<Box<[Box<[u8]>]>>,
}

/// Required literals shorter than this are not worth a prefilter needle: found in nearly every
/// text, they would only add automaton work to evaluating the rule anyway.
const REQUIRED_MIN: usize = 3;
/// A disjunction of more required literals than this is left alone (an alternation of many
/// branches), to keep the prefilter's automata small.
const REQUIRED_MAX: usize = 64;

/// Folded strings such that every text the expression matches contains, folded, at least one of
/// them; `None` when there is no such set of strings of at least [`REQUIRED_MIN`] bytes.
///
/// Sound by construction: a literal run of a concatenation is matched byte for byte (a class
/// whose characters all fold to the same text counts as that text; zero-width assertions sit
/// between characters and do not break a run), a repetition at least once requires what its
/// body requires, an alternation one of its branches' requirements. Folding maps each character
/// on its own, so a text containing a run contains the folded run once folded.
pub(crate) fn required_literals(hir: &Hir) -> Option<Vec<Vec<u8>>> {
    let need = required(hir)?;
    (need.len() <= REQUIRED_MAX && need.iter().all(|n| n.len() >= REQUIRED_MIN)).then_some(need)
}

fn required(hir: &Hir) -> Option<Vec<Vec<u8>>> {
    match hir.kind() {
        HirKind::Literal(_) | HirKind::Class(_) | HirKind::Concat(_) => {
            concat_required(std::slice::from_ref(hir))
        }
        HirKind::Alternation(branches) => {
            let mut any = Vec::new();
            for branch in branches {
                any.extend(required(branch)?);
                if any.len() > REQUIRED_MAX {
                    return None;
                }
            }
            Some(any)
        }
        HirKind::Repetition(r) if r.min >= 1 => required(&r.sub),
        HirKind::Capture(c) => required(&c.sub),
        HirKind::Repetition(_) | HirKind::Empty | HirKind::Look(_) => None,
    }
}

/// Larger is better: the shortest string's length, then fewer strings.
fn required_score(need: &[Vec<u8>]) -> (usize, std::cmp::Reverse<usize>) {
    let shortest = need.iter().map(Vec::len).min().unwrap_or(0);
    (shortest, std::cmp::Reverse(need.len()))
}

/// The best requirement among a concatenation's literal runs and its other parts' own.
fn concat_required(parts: &[Hir]) -> Option<Vec<Vec<u8>>> {
    let mut best: Option<Vec<Vec<u8>>> = None;
    let mut consider = |need: Vec<Vec<u8>>| {
        if best
            .as_ref()
            .is_none_or(|b| required_score(&need) > required_score(b))
        {
            best = Some(need);
        }
    };
    let mut run = String::new();
    let mut parts: Vec<&Hir> = parts.iter().rev().collect();
    while let Some(part) = parts.pop() {
        let piece = match part.kind() {
            HirKind::Concat(inner) => {
                parts.extend(inner.iter().rev());
                continue;
            }
            HirKind::Empty | HirKind::Look(_) => continue,
            HirKind::Literal(lit) => std::str::from_utf8(&lit.0).ok().map(fold_case),
            HirKind::Class(class) => class_text(class).map(std::borrow::Cow::Owned),
            _ => None,
        };
        match piece {
            Some(text) => run.push_str(&text),
            None => {
                if !run.is_empty() {
                    consider(vec![std::mem::take(&mut run).into_bytes()]);
                }
                // A literal or class that is no text requires nothing on its own (and asking
                // `required` would come straight back here).
                if !matches!(part.kind(), HirKind::Literal(_) | HirKind::Class(_))
                    && let Some(need) = required(part)
                {
                    consider(need);
                }
            }
        }
    }
    if !run.is_empty() {
        consider(vec![run.into_bytes()]);
    }
    best
}

/// The folded text every character of `class` folds to, when it is one (`[Kk]` from `(?i)k`);
/// classes of more than a few characters are not looked at.
fn class_text(class: &Class) -> Option<String> {
    let chars: Vec<char> = match class {
        Class::Unicode(c) => {
            let mut chars = Vec::new();
            for r in c.ranges() {
                for ch in r.start()..=r.end() {
                    chars.push(ch);
                    if chars.len() > 4 {
                        return None;
                    }
                }
            }
            chars
        }
        Class::Bytes(c) => {
            let mut chars = Vec::new();
            for r in c.ranges() {
                if !r.end().is_ascii() {
                    return None;
                }
                for b in r.start()..=r.end() {
                    chars.push(char::from(b));
                    if chars.len() > 4 {
                        return None;
                    }
                }
            }
            chars
        }
    };
    let (first, rest) = chars.split_first()?;
    let folded = |c: &char| c.to_lowercase().collect::<String>();
    let text = folded(first);
    rest.iter().all(|c| folded(c) == text).then_some(text)
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
            required: required_literals(&hir)
                .map(|need| need.into_iter().map(Vec::into_boxed_slice).collect()),
        })
    }

    /// Folded strings one of which every match contains, for the prefilter: see
    /// [`required_literals`].
    pub fn required(&self) -> Option<&[Box<[u8]>]> {
        self.required.as_deref()
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
    use proptest::prelude::*;

    fn required_of(pattern: &str, i: bool) -> Option<Vec<String>> {
        let regex = LazyRegex::new(pattern, i, false, false).unwrap();
        regex.required().map(|any| {
            any.iter()
                .map(|l| String::from_utf8(l.to_vec()).unwrap())
                .collect()
        })
    }

    #[test]
    fn required_literals_of_sigma_expressions() {
        let some = |v: &[&str]| Some(v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        // SigmaHQ's `HackTool - WSASS Execution` and similar.
        assert_eq!(
            required_of(r"\$PSHome\[\s*\d{1,3}\s*\]\s*\+\s*\$PSHome\[", false),
            some(&["$pshome["])
        );
        assert_eq!(
            required_of(r"\$VerbosePreference\.ToString\(", false),
            some(&["$verbosepreference.tostring("])
        );
        // Case-insensitive letters are classes of one folded text each.
        assert_eq!(required_of("(?i)mimikatz", false), some(&["mimikatz"]));
        assert_eq!(required_of("mimi(?i:KATZ)", false), some(&["mimikatz"]));
        assert_eq!(required_of("Mimikatz", true), some(&["mimikatz"]));
        // Alternations need one of their branches'; anchors and boundaries do not break a run.
        assert_eq!(
            required_of(r"^(cmd|powershell)\b", false),
            some(&["cmd", "powershell"])
        );
        // Of a concatenation's requirements, the one whose shortest string is longest.
        assert_eq!(
            required_of(r"^(cmd|powershell)\.exe\b", false),
            some(&[".exe"])
        );
        assert_eq!(required_of(r"(?:abc)+x", false), some(&["abc"]));
        // Nothing worth a needle.
        assert_eq!(required_of(r"\w+\s+\d", false), None);
        assert_eq!(required_of("(abc)?x", false), None);
        assert_eq!(required_of("(abcd|)", false), None);
        assert_eq!(required_of("ab", false), None);
        assert_eq!(required_of(r"\p{Greek}abc", false), some(&["abc"]));
    }

    /// A regular expression with a text it matches (so that matches are not left to chance).
    fn pattern_and_match() -> impl Strategy<Value = (String, String)> {
        let piece = prop::sample::select(vec!["a", "B", "abc", "-e", "É", "\\", ".x", "K"]);
        let leaf = prop_oneof![
            piece.prop_map(|p| (regex::escape(p), p.to_string())),
            Just(("[aA]".to_string(), "A".to_string())),
            Just(("\\d".to_string(), "7".to_string())),
            Just((".".to_string(), "q".to_string())),
            Just(("\\s+".to_string(), "  ".to_string())),
        ];
        leaf.prop_recursive(4, 24, 3, |inner| {
            prop_oneof![
                (inner.clone(), inner.clone())
                    .prop_map(|((p, m), (q, n))| (format!("{p}{q}"), format!("{m}{n}"))),
                (inner.clone(), inner.clone(), any::<bool>()).prop_map(|((p, m), (q, n), left)| {
                    (format!("(?:{p}|{q})"), if left { m } else { n })
                }),
                (inner.clone(), 0u32..3, 0u32..2).prop_map(|((p, m), min, extra)| {
                    let k = min + extra;
                    (format!("(?:{p}){{{min},{k}}}"), m.repeat(k as usize))
                }),
                inner
                    .clone()
                    .prop_map(|(p, m)| (format!("(?i:{p})"), m.to_uppercase())),
                inner.prop_map(|(p, m)| (format!("({p})"), m)),
            ]
        })
    }

    proptest! {
        /// Every text an expression matches holds, once folded, one of its required literals.
        #[test]
        fn required_literals_are_in_every_match(
            (pattern, matched) in pattern_and_match(),
            before in "[a-zA-Z .\\\\-]{0,6}",
            after in "[a-zA-Z .\\\\-]{0,6}",
            i in any::<bool>(),
        ) {
            let regex = LazyRegex::new(&pattern, i, false, false).unwrap();
            for text in [format!("{before}{matched}{after}"), format!("{before}{after}")] {
                if regex.is_match(&text) && let Some(any) = regex.required() {
                    let folded = fold_case(&text);
                    prop_assert!(
                        any.iter().any(|l| memchr::memmem::find(folded.as_bytes(), l).is_some()),
                        "{pattern} matches {text:?}, which holds none of {any:?}"
                    );
                }
            }
            let text = format!("{before}{matched}{after}");
            prop_assert!(regex.is_match(&text), "{pattern} on {text:?}");
        }
    }

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
