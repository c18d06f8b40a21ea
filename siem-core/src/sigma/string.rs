//! Sigma strings: wildcards, escaping, placeholders and case folding.
//!
//! A Sigma string value is text in which `*` matches any run of characters and `?` exactly one,
//! and a backslash escapes `*`, `?` and itself (the rules specification's "Escape Character"
//! section):
//!
//! | written  | means                                     |
//! |----------|-------------------------------------------|
//! | `\*`     | a literal `*`                             |
//! | `\\*`    | a literal backslash, then the wildcard    |
//! | `\\\*`   | a literal backslash and a literal `*`     |
//! | `\\`     | one backslash                             |
//! | `\x`     | a backslash and `x` (nothing to escape)   |
//!
//! With the `expand` modifier `%name%` is a placeholder and `\%` a literal percent sign.

use std::borrow::Cow;

/// One piece of a parsed Sigma string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Token {
    /// Literal bytes (UTF-8 unless an encoding modifier turned them into UTF-16).
    Lit(Vec<u8>),
    /// `*`: any run of characters, possibly empty.
    Star,
    /// `?`: exactly one character.
    One,
    /// One of the five dash characters `windash` makes interchangeable.
    Dash,
    /// `%name%` under `expand`.
    Placeholder(String),
}

/// The characters the `windash` modifier treats as interchangeable: `-`, `/`, en dash, em dash
/// and horizontal bar.
pub const WINDASH_CHARS: [char; 5] = ['-', '/', '\u{2013}', '\u{2014}', '\u{2015}'];

/// Parses `raw` as a Sigma string. `%name%` placeholders are recognised only when
/// `placeholders` is set (the `expand` modifier).
pub(crate) fn parse(raw: &str, placeholders: bool) -> Vec<Token> {
    let mut out = Vec::new();
    let mut lit = String::new();
    let mut chars = raw.chars().peekable();
    fn flush(out: &mut Vec<Token>, lit: &mut String) {
        if !lit.is_empty() {
            out.push(Token::Lit(std::mem::take(lit).into_bytes()));
        }
    }
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.peek() {
                Some(&next @ ('*' | '?' | '\\')) => {
                    lit.push(next);
                    chars.next();
                }
                Some('%') if placeholders => {
                    lit.push('%');
                    chars.next();
                }
                // Nothing to escape: the backslash is literal.
                _ => lit.push('\\'),
            },
            '*' => {
                flush(&mut out, &mut lit);
                if out.last() != Some(&Token::Star) {
                    out.push(Token::Star);
                }
            }
            '?' => {
                flush(&mut out, &mut lit);
                out.push(Token::One);
            }
            '%' if placeholders => {
                // A placeholder runs to the next unescaped `%`; without one the `%` is literal.
                let rest: String = chars.clone().take_while(|&c| c != '%').collect();
                let closed = chars.clone().nth(rest.chars().count()) == Some('%');
                if closed && !rest.is_empty() {
                    flush(&mut out, &mut lit);
                    out.push(Token::Placeholder(rest.clone()));
                    for _ in 0..=rest.chars().count() {
                        chars.next();
                    }
                } else {
                    lit.push('%');
                }
            }
            c => lit.push(c),
        }
    }
    flush(&mut out, &mut lit);
    out
}

/// Renders tokens back into Sigma syntax (escaping what needs it). Used for messages and for
/// values a pipeline writes back.
pub(crate) fn render(tokens: &[Token]) -> String {
    let mut out = String::new();
    for token in tokens {
        match token {
            Token::Lit(bytes) => {
                for c in String::from_utf8_lossy(bytes).chars() {
                    if matches!(c, '*' | '?' | '\\') {
                        out.push('\\');
                    }
                    out.push(c);
                }
            }
            Token::Star => out.push('*'),
            Token::One => out.push('?'),
            Token::Dash => out.push('-'),
            Token::Placeholder(name) => {
                out.push('%');
                out.push_str(name);
                out.push('%');
            }
        }
    }
    out
}

/// Escapes `text` so that it parses back as exactly that literal text: the inverse of the
/// wildcard parsing, for pipelines and callers that build rule values from data.
///
/// ```
/// use siem_core::sigma::escape_value;
/// assert_eq!(escape_value(r"C:\dir\*.exe?"), r"C:\\dir\\\*.exe\?");
/// ```
pub fn escape_value(text: &str) -> String {
    render(&[Token::Lit(text.as_bytes().to_vec())])
}

/// Case folding as siem's matcher applies it: every character mapped on its own through
/// Unicode's lowercase mapping (`char::to_lowercase`), so folding a text and folding each of
/// its pieces give the same bytes. ASCII is tested and lowercased eight bytes at a time (the
/// matcher's own folding), and text that folding leaves unchanged is borrowed, not copied.
///
/// ```
/// use siem_core::sigma::fold_case;
/// assert_eq!(fold_case("C:\\Windows\\ÄÖ"), "c:\\windows\\äö");
/// assert!(matches!(fold_case("already lower"), std::borrow::Cow::Borrowed(_)));
/// ```
pub fn fold_case(text: &str) -> Cow<'_, str> {
    if !needs_folding(text) {
        return Cow::Borrowed(text);
    }
    let mut out = String::new();
    fold_into(text, &mut out);
    Cow::Owned(out)
}

/// Bit 7 of every byte: set in a word holding a non-ASCII byte.
const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// Of a word of eight ASCII bytes, `0x20` in every byte that is an uppercase letter and 0
/// elsewhere (adding `0x80 - b'A'` sets bit 7 from `A` up, adding `0x80 - b'Z' - 1` from past
/// `Z` up; no byte carries into the next because every byte is below `0x80`).
#[inline]
fn ascii_upper_bits(word: u64) -> u64 {
    let from_a = word.wrapping_add(0x3f3f_3f3f_3f3f_3f3f);
    let past_z = word.wrapping_add(0x2525_2525_2525_2525);
    ((from_a ^ past_z) & HIGH_BITS) >> 2
}

/// How many leading bytes of `bytes` are ASCII, eight at a time.
#[inline]
fn ascii_prefix_len(bytes: &[u8]) -> usize {
    let mut chunks = bytes.chunks_exact(8);
    let mut len = 0;
    for chunk in &mut chunks {
        let word = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
        if word & HIGH_BITS != 0 {
            return len + (word & HIGH_BITS).trailing_zeros() as usize / 8;
        }
        len += 8;
    }
    len + chunks
        .remainder()
        .iter()
        .position(|b| !b.is_ascii())
        .unwrap_or(chunks.remainder().len())
}

/// Appends the folded `text` to `out` (see [`fold_case`]). Runs of ASCII (found eight bytes at
/// a time) are lowercased in bulk; only non-ASCII characters go through Unicode's tables, so
/// mostly-ASCII text (a Windows event whose product name holds a `®`) folds nearly as fast as
/// ASCII.
pub(crate) fn fold_into(text: &str, out: &mut String) {
    out.reserve(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        let (run, tail) = rest.split_at(ascii_prefix_len(rest.as_bytes()));
        let start = out.len();
        out.push_str(run);
        if let Some(pushed) = out.get_mut(start..) {
            pushed.make_ascii_lowercase();
        }
        let mut chars = tail.chars();
        match chars.next() {
            Some(c) => out.extend(c.to_lowercase()),
            None => break,
        }
        rest = chars.as_str();
    }
}

/// Whether folding changes `text` (see [`fold_case`]): ASCII is tested eight bytes at a time,
/// only non-ASCII characters go through Unicode's tables.
pub(crate) fn needs_folding(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if let Some(chunk) = bytes.get(i..i + 8) {
            let word = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
            if word & HIGH_BITS == 0 {
                if ascii_upper_bits(word) != 0 {
                    return true;
                }
                i += 8;
                continue;
            }
        }
        let b = bytes[i];
        if b.is_ascii() {
            if b.is_ascii_uppercase() {
                return true;
            }
            i += 1;
            continue;
        }
        let Some(c) = text.get(i..).and_then(|t| t.chars().next()) else {
            return false;
        };
        if folding_changes(c) {
            return true;
        }
        i += c.len_utf8();
    }
    false
}

/// Whether folding (Unicode's lowercase mapping) changes `c`.
#[inline]
fn folding_changes(c: char) -> bool {
    let mut lower = c.to_lowercase();
    lower.next() != Some(c) || lower.next().is_some()
}

/// Whether folding changes a non-ASCII character of `text`; ASCII letters are not looked at.
/// Text for which this is `false` (`Microsoft® Windows®`) is found by an ASCII
/// case-insensitive automaton as it is: folding would only lowercase its ASCII letters. Runs of
/// ASCII are skipped eight bytes at a time.
pub(crate) fn folds_beyond_ascii(text: &str) -> bool {
    let mut rest = text;
    loop {
        rest = rest
            .get(ascii_prefix_len(rest.as_bytes())..)
            .unwrap_or_default();
        let mut chars = rest.chars();
        let Some(c) = chars.next() else {
            return false;
        };
        if folding_changes(c) {
            return true;
        }
        rest = chars.as_str();
    }
}

/// Folds literal bytes: Unicode folding when they are UTF-8, ASCII folding otherwise (UTF-16
/// produced by the encoding modifiers).
pub(crate) fn fold_bytes(bytes: &[u8]) -> Vec<u8> {
    match std::str::from_utf8(bytes) {
        Ok(text) => fold_case(text).into_owned().into_bytes(),
        Err(_) => bytes.to_ascii_lowercase(),
    }
}

/// Whether `c` is a word character as a regular expression's `\w` sees it.
fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The `windash` modifier: every `-` or `/` that starts a word after a non-word character (the
/// regular expression `\B[-/]\b` pySigma uses, applied to each literal piece on its own) becomes
/// a [`Token::Dash`] that matches any of [`WINDASH_CHARS`].
pub(crate) fn windash(tokens: Vec<Token>) -> Vec<Token> {
    let mut out = Vec::with_capacity(tokens.len());
    for token in tokens {
        let Token::Lit(bytes) = token else {
            out.push(token);
            continue;
        };
        let text = match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(encoded) => {
                // Encoded bytes: no dashes to interchange.
                out.push(Token::Lit(encoded.into_bytes()));
                continue;
            }
        };
        let chars: Vec<char> = text.chars().collect();
        let mut lit = String::new();
        for (i, &c) in chars.iter().enumerate() {
            let starts_word = matches!(c, '-' | '/')
                && (i == 0 || !is_word(chars[i - 1]))
                && chars.get(i + 1).is_some_and(|&n| is_word(n));
            if starts_word {
                if !lit.is_empty() {
                    out.push(Token::Lit(std::mem::take(&mut lit).into_bytes()));
                }
                out.push(Token::Dash);
            } else {
                lit.push(c);
            }
        }
        if !lit.is_empty() {
            out.push(Token::Lit(lit.into_bytes()));
        }
    }
    out
}

/// Merges adjacent literals.
pub(crate) fn normalize(tokens: Vec<Token>) -> Vec<Token> {
    let mut out: Vec<Token> = Vec::with_capacity(tokens.len());
    for token in tokens {
        match (out.last_mut(), token) {
            (Some(Token::Lit(prev)), Token::Lit(next)) => prev.extend_from_slice(&next),
            (Some(Token::Star), Token::Star) => {}
            (_, Token::Lit(next)) if next.is_empty() => {}
            (_, token) => out.push(token),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The definition the word-at-a-time paths are checked against: every character through
    /// Unicode's lowercase mapping.
    fn fold_reference(text: &str) -> String {
        text.chars().flat_map(char::to_lowercase).collect()
    }

    proptest! {
        #[test]
        fn folding_word_at_a_time_equals_the_definition(
            text in "[a-zA-Z@\\[`{Z_0-9 ÄöİΣ®\u{7f}\u{80}]{0,40}"
        ) {
            let expected = fold_reference(&text);
            let mut out = String::from("prefix");
            fold_into(&text, &mut out);
            prop_assert_eq!(&out["prefix".len()..], expected.as_str());
            prop_assert_eq!(needs_folding(&text), expected != text);
            let folded = fold_case(&text);
            prop_assert_eq!(matches!(folded, Cow::Borrowed(_)), expected == text);
            prop_assert_eq!(folded.as_ref(), expected.as_str());
            prop_assert_eq!(ascii_prefix_len(text.as_bytes()),
                text.bytes().position(|b| !b.is_ascii()).unwrap_or(text.len()));
            // Text whose only changes under folding are ASCII letters: folding it equals
            // lowercasing its ASCII letters.
            prop_assert_eq!(
                folds_beyond_ascii(&text),
                expected != text.to_ascii_lowercase()
            );
        }
    }

    #[test]
    fn upper_bits_mark_exactly_the_uppercase_letters() {
        for b in 0u8..0x80 {
            let word = u64::from_le_bytes([b'a', b, b'@', b'[', b'A', b'Z', b'z', b'`']);
            let marks = ascii_upper_bits(word).to_le_bytes();
            assert_eq!(marks[1] == 0x20, b.is_ascii_uppercase(), "byte {b:#x}");
            assert_eq!(marks, [0, marks[1], 0, 0, 0x20, 0x20, 0, 0]);
        }
    }

    fn lit(s: &str) -> Token {
        Token::Lit(s.as_bytes().to_vec())
    }

    #[test]
    fn escapes_follow_the_specification_table() {
        assert_eq!(parse(r"a\*b", false), vec![lit("a*b")]);
        assert_eq!(parse(r"a\\*", false), vec![lit(r"a\"), Token::Star]);
        assert_eq!(parse(r"a\\\*", false), vec![lit(r"a\*")]);
        assert_eq!(parse(r"\\\\", false), vec![lit(r"\\")]);
        assert_eq!(parse(r"\\\a", false), vec![lit(r"\\a")]);
        assert_eq!(parse(r"C:\Windows\", false), vec![lit(r"C:\Windows\")]);
        assert_eq!(
            parse("a?b*", false),
            vec![lit("a"), Token::One, lit("b"), Token::Star]
        );
    }

    #[test]
    fn placeholders_only_under_expand() {
        assert_eq!(parse("%name%", false), vec![lit("%name%")]);
        assert_eq!(
            parse("%name%", true),
            vec![Token::Placeholder("name".into())]
        );
        assert_eq!(
            parse(r"\%plain%name%", true),
            vec![lit("%plain"), Token::Placeholder("name".into())]
        );
        assert_eq!(parse("50%", true), vec![lit("50%")]);
    }

    #[test]
    fn windash_marks_word_starting_dashes_only() {
        let t = windash(vec![Token::Star, lit(" -Nop a-b /c"), Token::Star]);
        assert_eq!(
            t,
            vec![
                Token::Star,
                lit(" "),
                Token::Dash,
                lit("Nop a-b "),
                Token::Dash,
                lit("c"),
                Token::Star
            ]
        );
        assert_eq!(windash(vec![lit("-x")]), vec![Token::Dash, lit("x")]);
        assert_eq!(windash(vec![lit("x -")]), vec![lit("x -")]);
    }

    #[test]
    fn folding_is_per_character() {
        assert_eq!(fold_case("ΣΑΣ"), "σασ");
        assert_eq!(fold_case("İ").chars().count(), 2);
    }
}
