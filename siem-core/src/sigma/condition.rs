//! Sigma conditions: the expression under `detection.condition`.
//!
//! Grammar (operators are case-insensitive; precedence from loosest to tightest as the rules
//! specification lists it: `or`, `and`, `not`, `x of`, parentheses):
//!
//! ```text
//! expr     := and ("or" and)*
//! and      := not ("and" not)*
//! not      := "not" not | primary
//! primary  := "(" expr ")" | quant "of" target | identifier
//! quant    := "1" | "any" | "all"
//! target   := "them" | pattern          (pattern: an identifier with `*` wildcards)
//! ```
//!
//! The Sigma 1 aggregation syntax (`selection | count() by x > 5`, `a | near b`) is recognised
//! and rejected with its own error: Sigma 2 expresses it with correlation rules.

use std::fmt;

use super::error::ErrorKind;

/// Deepest nesting of parentheses and `not` accepted.
pub const MAX_CONDITION_DEPTH: usize = 64;

/// A parsed condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// All must hold.
    And(Vec<Condition>),
    /// One must hold.
    Or(Vec<Condition>),
    /// Negation.
    Not(Box<Condition>),
    /// A search identifier by name.
    Identifier(String),
    /// `1 of x` / `any of x`: one of the selected identifiers holds.
    OneOf(Selector),
    /// `all of x`: every selected identifier holds.
    AllOf(Selector),
}

/// What `1 of` / `all of` range over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// `them`: every search identifier not starting with `_`.
    Them,
    /// A name pattern in which `*` matches any run of characters.
    Pattern(String),
}

impl Selector {
    /// The identifiers, among `names` (in their order), this selector picks.
    pub fn select<'n>(&self, names: impl IntoIterator<Item = &'n str>) -> Vec<&'n str> {
        match self {
            Selector::Them => names.into_iter().filter(|n| !n.starts_with('_')).collect(),
            Selector::Pattern(p) => names.into_iter().filter(|n| glob_match(p, n)).collect(),
        }
    }
}

/// `*`-only glob matching for identifier patterns.
pub(crate) fn glob_match(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !name.starts_with(first) || name.len() < first.len() + last.len() || !name.ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(at) => rest = &rest[at + middle.len()..],
            None => return false,
        }
    }
    true
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn join(f: &mut fmt::Formatter<'_>, items: &[Condition], op: &str) -> fmt::Result {
            f.write_str("(")?;
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    write!(f, " {op} ")?;
                }
                write!(f, "{item}")?;
            }
            f.write_str(")")
        }
        match self {
            Condition::And(items) => join(f, items, "and"),
            Condition::Or(items) => join(f, items, "or"),
            Condition::Not(inner) => write!(f, "not {inner}"),
            Condition::Identifier(name) => f.write_str(name),
            Condition::OneOf(Selector::Them) => f.write_str("1 of them"),
            Condition::OneOf(Selector::Pattern(p)) => write!(f, "1 of {p}"),
            Condition::AllOf(Selector::Them) => f.write_str("all of them"),
            Condition::AllOf(Selector::Pattern(p)) => write!(f, "all of {p}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok<'a> {
    Open,
    Close,
    And,
    Or,
    Not,
    Of,
    Them,
    Quant(&'a str),
    Word(&'a str),
}

impl Tok<'_> {
    fn describe(&self) -> String {
        match self {
            Tok::Open => "`(`".into(),
            Tok::Close => "`)`".into(),
            Tok::And => "`and`".into(),
            Tok::Or => "`or`".into(),
            Tok::Not => "`not`".into(),
            Tok::Of => "`of`".into(),
            Tok::Them => "`them`".into(),
            Tok::Quant(w) | Tok::Word(w) => format!("`{w}`"),
        }
    }
}

fn lex(text: &str) -> Result<Vec<(usize, Tok<'_>)>, ErrorKind> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b' ' | b'\t' | b'\r' | b'\n' => i += 1,
            b'(' => {
                out.push((i, Tok::Open));
                i += 1;
            }
            b')' => {
                out.push((i, Tok::Close));
                i += 1;
            }
            b'|' => return Err(ErrorKind::UnsupportedAggregation(text.to_string())),
            _ => {
                let start = i;
                while i < bytes.len()
                    && !matches!(bytes[i], b' ' | b'\t' | b'\r' | b'\n' | b'(' | b')' | b'|')
                {
                    i += 1;
                }
                // Boundaries are ASCII bytes, so the slice is on character boundaries.
                let word = &text[start..i];
                let tok = match word.to_ascii_lowercase().as_str() {
                    "and" => Tok::And,
                    "or" => Tok::Or,
                    "not" => Tok::Not,
                    "of" => Tok::Of,
                    "them" => Tok::Them,
                    "near" => return Err(ErrorKind::UnsupportedAggregation(text.to_string())),
                    "all" | "any" => Tok::Quant(word),
                    _ if word.bytes().all(|b| b.is_ascii_digit()) => Tok::Quant(word),
                    _ => Tok::Word(word),
                };
                out.push((start, tok));
            }
        }
    }
    Ok(out)
}

struct Parser<'a> {
    text: &'a str,
    toks: Vec<(usize, Tok<'a>)>,
    pos: usize,
    depth: usize,
}

impl<'a> Parser<'a> {
    fn error(&self, offset: usize, message: String) -> ErrorKind {
        ErrorKind::Condition {
            condition: self.text.to_string(),
            offset,
            message,
        }
    }

    fn peek(&self) -> Option<&Tok<'a>> {
        self.toks.get(self.pos).map(|(_, t)| t)
    }

    fn offset(&self) -> usize {
        self.toks.get(self.pos).map_or(self.text.len(), |(o, _)| *o)
    }

    fn expr(&mut self) -> Result<Condition, ErrorKind> {
        let mut items = vec![self.and()?];
        while self.peek() == Some(&Tok::Or) {
            self.pos += 1;
            items.push(self.and()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Condition::Or(items)
        })
    }

    fn and(&mut self) -> Result<Condition, ErrorKind> {
        let mut items = vec![self.not()?];
        while self.peek() == Some(&Tok::And) {
            self.pos += 1;
            items.push(self.not()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Condition::And(items)
        })
    }

    fn enter(&mut self) -> Result<(), ErrorKind> {
        self.depth += 1;
        if self.depth > MAX_CONDITION_DEPTH {
            return Err(self.error(
                self.offset(),
                format!("nesting deeper than {MAX_CONDITION_DEPTH} levels"),
            ));
        }
        Ok(())
    }

    fn not(&mut self) -> Result<Condition, ErrorKind> {
        if self.peek() == Some(&Tok::Not) {
            self.pos += 1;
            self.enter()?;
            let inner = self.not()?;
            self.depth -= 1;
            return Ok(Condition::Not(Box::new(inner)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Condition, ErrorKind> {
        let offset = self.offset();
        let Some(tok) = self.peek().cloned() else {
            return Err(self.error(offset, "unexpected end of condition".into()));
        };
        self.pos += 1;
        match tok {
            Tok::Open => {
                self.enter()?;
                let inner = self.expr()?;
                self.depth -= 1;
                match self.peek() {
                    Some(Tok::Close) => {
                        self.pos += 1;
                        Ok(inner)
                    }
                    Some(other) => {
                        let d = other.describe();
                        Err(self.error(self.offset(), format!("expected `)`, found {d}")))
                    }
                    None => Err(self.error(self.offset(), "missing `)`".into())),
                }
            }
            Tok::Quant(q) => {
                let all = q.eq_ignore_ascii_case("all");
                if !all && !q.eq_ignore_ascii_case("any") && q != "1" {
                    return Err(self.error(
                        offset,
                        format!("`{q} of` is not Sigma: use `1 of`, `any of` or `all of`"),
                    ));
                }
                match self.peek() {
                    Some(Tok::Of) => self.pos += 1,
                    Some(other) => {
                        let d = other.describe();
                        return Err(self.error(
                            self.offset(),
                            format!("expected `of` after `{q}`, found {d}"),
                        ));
                    }
                    None => {
                        return Err(self.error(self.offset(), format!("expected `of` after `{q}`")));
                    }
                }
                let target_offset = self.offset();
                let selector = match self.peek().cloned() {
                    Some(Tok::Them) => Selector::Them,
                    Some(Tok::Word(w)) => Selector::Pattern(w.to_string()),
                    Some(other) => {
                        return Err(self.error(
                            target_offset,
                            format!(
                                "expected `them` or an identifier pattern after `of`, found {}",
                                other.describe()
                            ),
                        ));
                    }
                    None => {
                        return Err(self.error(
                            target_offset,
                            "expected `them` or an identifier pattern after `of`".into(),
                        ));
                    }
                };
                self.pos += 1;
                Ok(if all {
                    Condition::AllOf(selector)
                } else {
                    Condition::OneOf(selector)
                })
            }
            Tok::Word(w) => {
                if w.contains('*') {
                    return Err(self.error(
                        offset,
                        format!("wildcard identifier `{w}` needs `1 of` or `all of` before it"),
                    ));
                }
                Ok(Condition::Identifier(w.to_string()))
            }
            other => Err(self.error(offset, format!("unexpected {}", other.describe()))),
        }
    }
}

/// Parses a condition string.
///
/// ```
/// use siem_core::sigma::{parse_condition, Condition, Selector};
/// let c = parse_condition("sel and not 1 of filter_*").unwrap();
/// assert_eq!(c, Condition::And(vec![
///     Condition::Identifier("sel".into()),
///     Condition::Not(Box::new(Condition::OneOf(Selector::Pattern("filter_*".into())))),
/// ]));
/// assert!(parse_condition("sel | count() > 5").is_err());
/// ```
pub fn parse_condition(text: &str) -> Result<Condition, ErrorKind> {
    let toks = lex(text)?;
    let mut parser = Parser {
        text,
        toks,
        pos: 0,
        depth: 0,
    };
    let condition = parser.expr()?;
    if let Some((offset, tok)) = parser.toks.get(parser.pos) {
        return Err(parser.error(
            *offset,
            format!("unexpected {} after a complete expression", tok.describe()),
        ));
    }
    Ok(condition)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> Condition {
        Condition::Identifier(s.into())
    }

    #[test]
    fn precedence_is_not_then_and_then_or() {
        assert_eq!(
            parse_condition("a or b and not c").unwrap(),
            Condition::Or(vec![
                id("a"),
                Condition::And(vec![id("b"), Condition::Not(Box::new(id("c")))])
            ])
        );
        assert_eq!(
            parse_condition("not a and b").unwrap(),
            Condition::And(vec![Condition::Not(Box::new(id("a"))), id("b")])
        );
        assert_eq!(
            parse_condition("(a or b) and c").unwrap(),
            Condition::And(vec![Condition::Or(vec![id("a"), id("b")]), id("c")])
        );
    }

    #[test]
    fn quantifiers() {
        assert_eq!(
            parse_condition("1 of them").unwrap(),
            Condition::OneOf(Selector::Them)
        );
        assert_eq!(
            parse_condition("any of sel*").unwrap(),
            Condition::OneOf(Selector::Pattern("sel*".into()))
        );
        assert_eq!(
            parse_condition("ALL OF them").unwrap(),
            Condition::AllOf(Selector::Them)
        );
        assert!(parse_condition("2 of them").is_err());
    }

    #[test]
    fn errors_name_the_token() {
        let e = parse_condition("a and )").unwrap_err();
        assert_eq!(
            e.to_string(),
            "condition `a and )`: unexpected `)` at offset 6"
        );
        let e = parse_condition("(a or b").unwrap_err();
        assert!(e.to_string().contains("missing `)`"));
        let e = parse_condition("a b").unwrap_err();
        assert!(
            e.to_string()
                .contains("unexpected `b` after a complete expression")
        );
        assert!(matches!(
            parse_condition("a | near b"),
            Err(ErrorKind::UnsupportedAggregation(_))
        ));
        assert!(matches!(
            parse_condition("a near b"),
            Err(ErrorKind::UnsupportedAggregation(_))
        ));
        let deep = format!("{}a{}", "(".repeat(100), ")".repeat(100));
        assert!(parse_condition(&deep).is_err());
        let nots = format!("{}a", "not ".repeat(100));
        assert!(parse_condition(&nots).is_err());
    }

    #[test]
    fn glob() {
        assert!(glob_match("sel*", "selection"));
        assert!(glob_match("*", "x"));
        assert!(glob_match("a*b*c", "axxbyyc"));
        assert!(!glob_match("a*b*c", "axxc"));
        assert!(!glob_match("ab*ba", "aba"));
        assert!(glob_match("sel", "sel"));
    }
}
