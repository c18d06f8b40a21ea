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
/// its pieces give the same bytes. ASCII text takes a byte-wise fast path, and text without
/// uppercase letters is borrowed, not copied.
///
/// ```
/// use siem_core::sigma::fold_case;
/// assert_eq!(fold_case("C:\\Windows\\ÄÖ"), "c:\\windows\\äö");
/// assert!(matches!(fold_case("already lower"), std::borrow::Cow::Borrowed(_)));
/// ```
pub fn fold_case(text: &str) -> Cow<'_, str> {
    if text.is_ascii() {
        if text.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(text.to_ascii_lowercase())
        } else {
            Cow::Borrowed(text)
        }
    } else {
        let mut changed = false;
        for c in text.chars() {
            let mut lower = c.to_lowercase();
            if lower.next() != Some(c) || lower.next().is_some() {
                changed = true;
                break;
            }
        }
        if !changed {
            return Cow::Borrowed(text);
        }
        let mut out = String::with_capacity(text.len());
        for c in text.chars() {
            out.extend(c.to_lowercase());
        }
        Cow::Owned(out)
    }
}

/// Appends the folded `text` to `out` (see [`fold_case`]). Runs of ASCII are lowercased in
/// bulk; only non-ASCII characters go through Unicode's tables, so mostly-ASCII text (a Windows
/// event whose product name holds a `®`) folds nearly as fast as ASCII.
pub(crate) fn fold_into(text: &str, out: &mut String) {
    let mut rest = text;
    while !rest.is_empty() {
        let ascii = rest
            .as_bytes()
            .iter()
            .position(|b| !b.is_ascii())
            .unwrap_or(rest.len());
        let (run, tail) = rest.split_at(ascii);
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

/// Whether folding changes `text` (see [`fold_case`]), with the same ASCII fast path.
pub(crate) fn needs_folding(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
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
        let mut lower = c.to_lowercase();
        if lower.next() != Some(c) || lower.next().is_some() {
            return true;
        }
        i += c.len_utf8();
    }
    false
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
