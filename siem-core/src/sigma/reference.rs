//! A reference interpreter: the rule tree evaluated straight from the specification, with no
//! compilation, interning, folding shortcuts, literal splitting or prefiltering.
//!
//! It exists to be obviously right, not fast: values are expanded the way pySigma's modifiers
//! expand them (every windash permutation, every Base64 offset, every placeholder value spelled
//! out), wildcards are matched by a set-of-positions automaton over the text, and fields are
//! read through [`Event::for_each_value`]. The tests generate rules and events and require
//! [`RuleSet`](super::RuleSet) to agree with it.
//!
//! ```
//! use siem_core::sigma::{parse_documents, reference, SigmaDocument};
//! use siem_core::event::Event;
//! let (docs, _) = parse_documents("title: t\ndetection:\n  s: {a|contains: X}\n  condition: s\n", None);
//! let SigmaDocument::Rule(rule) = &docs[0] else { unreachable!() };
//! let mut event = Event::new();
//! event.insert("a", "xyz");
//! assert_eq!(reference::evaluate(rule, &event, &Default::default()), Ok(true));
//! ```

use std::collections::HashMap;
use std::net::IpAddr;

use base64::Engine as _;
use chrono::{DateTime, Datelike, NaiveDateTime, Timelike, Utc};

use super::ast::{DetectionItem, DetectionNode, Modifier, SigmaRule, SigmaValue};
use super::condition::{Condition, Selector};
use crate::event::{Event, Value};

/// Evaluates `rule` on `event`. `placeholders` fills `expand` placeholders. `Err` when the rule
/// uses something the interpreter cannot give a meaning to (which the compiler rejects too).
pub fn evaluate(
    rule: &SigmaRule,
    event: &Event,
    placeholders: &HashMap<String, Vec<String>>,
) -> Result<bool, String> {
    let interpreter = Interpreter {
        rule,
        event,
        placeholders,
    };
    for condition in &rule.detection.conditions {
        if interpreter.condition(condition)? {
            return Ok(true);
        }
    }
    Ok(false)
}

struct Interpreter<'a> {
    rule: &'a SigmaRule,
    event: &'a Event,
    placeholders: &'a HashMap<String, Vec<String>>,
}

/// A piece of a string pattern.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Lit(Vec<u8>),
    Star,
    One,
    Hole(String),
}

/// A value after its modifiers: the ways it can match one element.
#[derive(Debug, Clone)]
enum Shape {
    Strings(Vec<Vec<Piece>>),
    Number(Option<i64>, f64, String),
    Boolean(bool),
    Regex(regex::Regex),
    Network(IpAddr, u32),
    Compare(Modifier, Option<i64>, f64),
    Time(Modifier, Option<Modifier>, i64),
    Reference(String, bool, bool),
}

/// What one element of a field is.
#[derive(Debug, Clone)]
enum Element {
    Value(Value),
    Timestamp(DateTime<Utc>),
}

impl Element {
    fn text(&self) -> Option<String> {
        match self {
            Element::Value(Value::Null | Value::List(_) | Value::Object(_)) => None,
            Element::Value(v) => Some(v.to_text().into_owned()),
            Element::Timestamp(t) => Some(crate::event::format_timestamp(*t)),
        }
    }
}

fn lowercase(text: &str) -> String {
    text.chars().flat_map(char::to_lowercase).collect()
}

fn lowercase_bytes(bytes: &[u8]) -> Vec<u8> {
    match std::str::from_utf8(bytes) {
        Ok(s) => lowercase(s).into_bytes(),
        Err(_) => bytes.iter().map(u8::to_ascii_lowercase).collect(),
    }
}

/// Parses the wildcard and escape syntax of the rules specification.
fn pieces(raw: &str, holes: bool) -> Vec<Piece> {
    let chars: Vec<char> = raw.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let mut lit = String::new();
    let push_lit = |out: &mut Vec<Piece>, lit: &mut String| {
        if !lit.is_empty() {
            out.push(Piece::Lit(std::mem::take(lit).into_bytes()));
        }
    };
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' {
            match chars.get(i + 1) {
                Some(&n) if n == '*' || n == '?' || n == '\\' || (holes && n == '%') => {
                    lit.push(n);
                    i += 2;
                }
                _ => {
                    lit.push('\\');
                    i += 1;
                }
            }
        } else if c == '*' {
            push_lit(&mut out, &mut lit);
            out.push(Piece::Star);
            i += 1;
        } else if c == '?' {
            push_lit(&mut out, &mut lit);
            out.push(Piece::One);
            i += 1;
        } else if c == '%' && holes {
            let close = chars[i + 1..].iter().position(|&x| x == '%');
            match close {
                Some(len) if len > 0 => {
                    push_lit(&mut out, &mut lit);
                    out.push(Piece::Hole(chars[i + 1..i + 1 + len].iter().collect()));
                    i += len + 2;
                }
                _ => {
                    lit.push('%');
                    i += 1;
                }
            }
        } else {
            lit.push(c);
            i += 1;
        }
    }
    push_lit(&mut out, &mut lit);
    out
}

/// Whether `text` matches `pattern`: the set of text positions reachable after each piece.
fn wildcard_match(pattern: &[Piece], text: &[u8]) -> bool {
    let n = text.len();
    let boundary = |p: usize| p == n || (p < n && (text[p] & 0xC0) != 0x80);
    let mut reach = vec![false; n + 1];
    reach[0] = true;
    for piece in pattern {
        let mut next = vec![false; n + 1];
        match piece {
            Piece::Star => {
                if let Some(first) = reach.iter().position(|&r| r) {
                    for r in next.iter_mut().skip(first) {
                        *r = true;
                    }
                }
            }
            Piece::Lit(l) => {
                for p in 0..=n {
                    if reach[p] && text[p..].starts_with(l) {
                        next[p + l.len()] = true;
                    }
                }
            }
            Piece::One => {
                for p in 0..n {
                    if reach[p] && boundary(p) {
                        let width = match text[p] {
                            0xC0..=0xDF => 2,
                            0xE0..=0xEF => 3,
                            0xF0..=0xF7 => 4,
                            _ => 1,
                        };
                        if p + width <= n {
                            next[p + width] = true;
                        }
                    }
                }
            }
            Piece::Hole(_) => return false,
        }
        reach = next;
    }
    reach[n]
}

/// Most windash variants the interpreter spells out for one value; beyond, [`evaluate`] gives
/// up with an error rather than exhaust memory.
pub const MAX_WINDASH_VARIANTS: usize = 15_625;

const DASHES: [char; 5] = ['-', '/', '\u{2013}', '\u{2014}', '\u{2015}'];

/// pySigma's windash: each `-` or `/` preceded by a non-word character (or the start of the
/// literal) and followed by a word character becomes each of the five dashes, in every
/// combination.
fn windash(pattern: Vec<Piece>) -> Result<Vec<Vec<Piece>>, String> {
    let word = |c: char| c.is_alphanumeric() || c == '_';
    // Adjacent literals (from a placeholder's value) form one text.
    let mut merged: Vec<Piece> = Vec::new();
    for piece in pattern {
        match (merged.last_mut(), piece) {
            (Some(Piece::Lit(a)), Piece::Lit(b)) => a.extend_from_slice(&b),
            (_, piece) => merged.push(piece),
        }
    }
    let pattern = merged;
    let mut variants: Vec<Vec<Piece>> = vec![Vec::new()];
    for piece in pattern {
        let Piece::Lit(bytes) = &piece else {
            variants.iter_mut().for_each(|v| v.push(piece.clone()));
            continue;
        };
        let Ok(text) = std::str::from_utf8(bytes) else {
            variants.iter_mut().for_each(|v| v.push(piece.clone()));
            continue;
        };
        let chars: Vec<char> = text.chars().collect();
        let mut alternatives: Vec<String> = vec![String::new()];
        for (i, &c) in chars.iter().enumerate() {
            let flag = (c == '-' || c == '/')
                && (i == 0 || !word(chars[i - 1]))
                && i + 1 < chars.len()
                && word(chars[i + 1]);
            if flag {
                if variants.len() * alternatives.len() * DASHES.len() > MAX_WINDASH_VARIANTS {
                    return Err(format!(
                        "too many windash variants (more than {MAX_WINDASH_VARIANTS})"
                    ));
                }
                alternatives = alternatives
                    .iter()
                    .flat_map(|a| DASHES.iter().map(move |d| format!("{a}{d}")))
                    .collect();
            } else {
                alternatives.iter_mut().for_each(|a| a.push(c));
            }
        }
        variants = variants
            .iter()
            .flat_map(|v| {
                alternatives.iter().map(move |a| {
                    let mut v = v.clone();
                    v.push(Piece::Lit(a.clone().into_bytes()));
                    v
                })
            })
            .collect();
    }
    Ok(variants)
}

fn concat_literal(pattern: &[Piece]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    for piece in pattern {
        match piece {
            Piece::Lit(l) => out.extend_from_slice(l),
            _ => return Err("encoding a value with wildcards".into()),
        }
    }
    Ok(out)
}

impl Interpreter<'_> {
    fn condition(&self, condition: &Condition) -> Result<bool, String> {
        match condition {
            Condition::And(items) => {
                for c in items {
                    if !self.condition(c)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Condition::Or(items) => {
                for c in items {
                    if self.condition(c)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Condition::Not(inner) => Ok(!self.condition(inner)?),
            Condition::Identifier(name) => self.identifier(name),
            Condition::OneOf(selector) | Condition::AllOf(selector) => {
                let names: Vec<&str> = self
                    .rule
                    .detection
                    .identifiers
                    .keys()
                    .map(String::as_str)
                    .collect();
                let chosen: Vec<&str> = match selector {
                    Selector::Them => names.into_iter().filter(|n| !n.starts_with('_')).collect(),
                    Selector::Pattern(p) => {
                        names.into_iter().filter(|n| name_matches(p, n)).collect()
                    }
                };
                if chosen.is_empty() {
                    return Err("selector matches nothing".into());
                }
                let mut results = Vec::new();
                for name in chosen {
                    results.push(self.identifier(name)?);
                }
                Ok(if matches!(condition, Condition::OneOf(_)) {
                    results.iter().any(|&r| r)
                } else {
                    results.iter().all(|&r| r)
                })
            }
        }
    }

    fn identifier(&self, name: &str) -> Result<bool, String> {
        let node = self
            .rule
            .detection
            .identifiers
            .get(name)
            .ok_or_else(|| format!("unknown identifier {name}"))?;
        self.node(node)
    }

    fn node(&self, node: &DetectionNode) -> Result<bool, String> {
        match node {
            DetectionNode::AllOf(children) => {
                let mut all = true;
                for c in children {
                    all &= self.node(c)?;
                }
                Ok(all)
            }
            DetectionNode::AnyOf(children) => {
                let mut any = false;
                for c in children {
                    any |= self.node(c)?;
                }
                Ok(any)
            }
            DetectionNode::Item(item) => self.item(item),
        }
    }

    /// The elements of a field: every value reached (lists flattened), and the event's
    /// timestamp for `@timestamp` when no such field exists.
    fn elements(&self, field: &str) -> (bool, bool, Vec<Element>) {
        let mut found = Vec::new();
        let present = self
            .event
            .for_each_value(field, &mut |v| found.push(v.clone()));
        let null = found.iter().any(Value::is_null);
        let mut out = Vec::new();
        fn flatten(v: Value, out: &mut Vec<Element>) {
            match v {
                Value::List(items) => items.into_owned().into_iter().for_each(|i| flatten(i, out)),
                other => out.push(Element::Value(other)),
            }
        }
        for v in found {
            flatten(v, &mut out);
        }
        if !present
            && field == super::eval::TIMESTAMP_FIELD
            && let Some(ts) = self.event.timestamp
        {
            return (true, false, vec![Element::Timestamp(ts)]);
        }
        (present, null, out)
    }

    fn item(&self, item: &DetectionItem) -> Result<bool, String> {
        let has = |m: Modifier| item.modifiers.contains(&m);
        if item.is_keyword() {
            let mut strings = Vec::new();
            self.event.keyword_strings(&mut |s| {
                strings.push(Element::Value(Value::from(s)));
                false
            });
            return self.test(item, &strings, true);
        }
        for field in &item.fields {
            let (present, null, elements) = self.elements(field);
            let result = if has(Modifier::Exists) {
                match item.values.first() {
                    Some(SigmaValue::Bool(b)) => present == *b,
                    Some(SigmaValue::String(s)) => present == s.eq_ignore_ascii_case("true"),
                    _ => return Err("exists needs a boolean".into()),
                }
            } else if matches!(item.values.first(), Some(SigmaValue::Null)) {
                !present || null
            } else if has(Modifier::Neq) {
                present && !elements.is_empty() && {
                    let mut any = false;
                    for e in &elements {
                        let mut differs = true;
                        for v in &item.values {
                            if self.value_matches(item, v, e, false)? {
                                differs = false;
                            }
                        }
                        any |= differs;
                    }
                    any
                }
            } else {
                self.test(item, &elements, false)?
            };
            if result {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn test(
        &self,
        item: &DetectionItem,
        elements: &[Element],
        keyword: bool,
    ) -> Result<bool, String> {
        let mut per_value = Vec::new();
        for v in &item.values {
            let mut any = false;
            for e in elements {
                any |= self.value_matches(item, v, e, keyword)?;
            }
            per_value.push(any);
        }
        Ok(if item.modifiers.contains(&Modifier::All) {
            per_value.iter().all(|&b| b)
        } else {
            per_value.iter().any(|&b| b)
        })
    }

    fn shape(
        &self,
        item: &DetectionItem,
        value: &SigmaValue,
        keyword: bool,
    ) -> Result<Shape, String> {
        let expand = item.modifiers.contains(&Modifier::Expand);
        let cased = item.modifiers.contains(&Modifier::Cased);
        let mut shape = match value {
            SigmaValue::String(s) => Shape::Strings(vec![pieces(s, expand)]),
            SigmaValue::Int(i) => Shape::Number(Some(*i), *i as f64, i.to_string()),
            SigmaValue::Float(f) => Shape::Number(None, *f, f.to_string()),
            SigmaValue::Bool(b) => Shape::Boolean(*b),
            SigmaValue::Null => return Err("null with modifiers".into()),
        };
        let as_strings = |shape: &Shape| -> Result<Vec<Vec<Piece>>, String> {
            match shape {
                Shape::Strings(v) => Ok(v.clone()),
                Shape::Number(_, _, t) => Ok(vec![vec![Piece::Lit(t.clone().into_bytes())]]),
                Shape::Boolean(b) => Ok(vec![vec![Piece::Lit(b.to_string().into_bytes())]]),
                _ => Err("string modifier on a non-string".into()),
            }
        };
        let mut explicit_anchor = false;
        for &m in &item.modifiers {
            shape = match m {
                Modifier::All | Modifier::Neq | Modifier::Cased | Modifier::Exists => shape,
                Modifier::Contains | Modifier::StartsWith | Modifier::EndsWith => {
                    explicit_anchor = true;
                    match shape {
                        Shape::Regex(_) => shape,
                        Shape::Reference(f, s, e) => Shape::Reference(
                            f,
                            s || m != Modifier::EndsWith,
                            e || m != Modifier::StartsWith,
                        ),
                        other => Shape::Strings(
                            as_strings(&other)?
                                .into_iter()
                                .map(|mut p| {
                                    if m != Modifier::StartsWith {
                                        p.insert(0, Piece::Star);
                                    }
                                    if m != Modifier::EndsWith {
                                        p.push(Piece::Star);
                                    }
                                    p
                                })
                                .collect(),
                        ),
                    }
                }
                Modifier::Windash => {
                    let mut out = Vec::new();
                    for p in as_strings(&shape)? {
                        out.extend(windash(p)?);
                    }
                    Shape::Strings(out)
                }
                Modifier::Base64 | Modifier::Base64Offset => {
                    let mut out = Vec::new();
                    for p in as_strings(&shape)? {
                        let bytes = concat_literal(&p)?;
                        let engine = base64::engine::general_purpose::STANDARD;
                        if m == Modifier::Base64 {
                            out.push(vec![Piece::Lit(engine.encode(&bytes).into_bytes())]);
                        } else {
                            // pySigma: encode with 0, 1, 2 leading bytes and cut the characters
                            // that depend on the unknown neighbours.
                            for shift in 0..3usize {
                                let mut padded = vec![b' '; shift];
                                padded.extend_from_slice(&bytes);
                                let encoded = engine.encode(&padded);
                                let start = [0usize, 2, 3][shift];
                                let cut = [0usize, 3, 2][(bytes.len() + shift) % 3];
                                let end = encoded.len().saturating_sub(cut).max(start);
                                out.push(vec![Piece::Lit(
                                    encoded.as_bytes()[start.min(end)..end].to_vec(),
                                )]);
                            }
                        }
                    }
                    Shape::Strings(out)
                }
                Modifier::Utf16le | Modifier::Utf16be | Modifier::Utf16 => {
                    let mut out = Vec::new();
                    for p in as_strings(&shape)? {
                        let mut encoded = Vec::new();
                        if m == Modifier::Utf16 {
                            encoded.push(Piece::Lit(vec![0xFF, 0xFE]));
                        }
                        for piece in p {
                            match piece {
                                Piece::Lit(l) => {
                                    let text = String::from_utf8(l)
                                        .map_err(|_| "double encoding".to_string())?;
                                    let mut bytes = Vec::new();
                                    for unit in text.encode_utf16() {
                                        if m == Modifier::Utf16be {
                                            bytes.extend_from_slice(&unit.to_be_bytes());
                                        } else {
                                            bytes.extend_from_slice(&unit.to_le_bytes());
                                        }
                                    }
                                    encoded.push(Piece::Lit(bytes));
                                }
                                Piece::Star => encoded.push(Piece::Star),
                                _ => return Err("`?` under an encoding".into()),
                            }
                        }
                        out.push(encoded);
                    }
                    Shape::Strings(out)
                }
                Modifier::Expand => {
                    let mut out = Vec::new();
                    for p in as_strings(&shape)? {
                        let mut partial: Vec<Vec<Piece>> = vec![Vec::new()];
                        for piece in p {
                            if let Piece::Hole(name) = &piece {
                                let values = self
                                    .placeholders
                                    .get(name)
                                    .filter(|v| !v.is_empty())
                                    .ok_or("unfilled placeholder")?;
                                partial = partial
                                    .iter()
                                    .flat_map(|pre| {
                                        values.iter().map(move |v| {
                                            let mut x = pre.clone();
                                            x.extend(pieces(v, false));
                                            x
                                        })
                                    })
                                    .collect();
                            } else {
                                partial.iter_mut().for_each(|x| x.push(piece.clone()));
                            }
                        }
                        out.extend(partial);
                    }
                    Shape::Strings(out)
                }
                Modifier::Re => match value {
                    SigmaValue::String(s) => {
                        Shape::Regex(regex::Regex::new(s).map_err(|e| e.to_string())?)
                    }
                    _ => return Err("re needs a string".into()),
                },
                Modifier::ReIgnoreCase | Modifier::ReMultiline | Modifier::ReDotAll => {
                    match value {
                        SigmaValue::String(s) => {
                            let has = |m: Modifier| item.modifiers.contains(&m);
                            Shape::Regex(
                                regex::RegexBuilder::new(s)
                                    .case_insensitive(has(Modifier::ReIgnoreCase))
                                    .multi_line(has(Modifier::ReMultiline))
                                    .dot_matches_new_line(has(Modifier::ReDotAll))
                                    .build()
                                    .map_err(|e| e.to_string())?,
                            )
                        }
                        _ => return Err("regex flag without re".into()),
                    }
                }
                Modifier::Cidr => {
                    let SigmaValue::String(s) = value else {
                        return Err("cidr needs a string".into());
                    };
                    let (addr, bits) = s.split_once('/').unwrap_or((s, ""));
                    let addr: IpAddr =
                        addr.trim().parse().map_err(|_| "bad network".to_string())?;
                    let max = if addr.is_ipv4() { 32 } else { 128 };
                    let bits = if bits.is_empty() {
                        max
                    } else {
                        bits.parse().map_err(|_| "bad prefix".to_string())?
                    };
                    if bits > max {
                        return Err("prefix longer than the address".into());
                    }
                    Shape::Network(addr, bits)
                }
                Modifier::Lt | Modifier::Lte | Modifier::Gt | Modifier::Gte => match shape {
                    Shape::Number(exact, n, _) => Shape::Compare(m, exact, n),
                    Shape::Time(part, None, n) => Shape::Time(part, Some(m), n),
                    Shape::Strings(ref p) => {
                        let text =
                            String::from_utf8(concat_literal(&p[0])?).map_err(|e| e.to_string())?;
                        let n: f64 = text
                            .trim()
                            .parse()
                            .map_err(|_| "not a number".to_string())?;
                        Shape::Compare(m, text.trim().parse::<i64>().ok(), n)
                    }
                    _ => return Err("comparison of a non-number".into()),
                },
                Modifier::Minute
                | Modifier::Hour
                | Modifier::Day
                | Modifier::Week
                | Modifier::Month
                | Modifier::Year => {
                    let n = match value {
                        SigmaValue::Int(i) => *i,
                        SigmaValue::String(s) => s
                            .trim()
                            .parse()
                            .map_err(|_| "time part needs an integer".to_string())?,
                        _ => return Err("time part needs an integer".into()),
                    };
                    Shape::Time(m, None, n)
                }
                Modifier::FieldRef => match value {
                    SigmaValue::String(s) => Shape::Reference(s.clone(), false, false),
                    _ => return Err("fieldref needs a name".into()),
                },
            };
        }
        if keyword && !explicit_anchor && !item.modifiers.contains(&Modifier::Re) {
            if let Shape::Strings(p) = shape {
                shape = Shape::Strings(
                    p.into_iter()
                        .map(|mut p| {
                            p.insert(0, Piece::Star);
                            p.push(Piece::Star);
                            p
                        })
                        .collect(),
                );
            } else if let Shape::Number(_, _, t) = &shape {
                shape = Shape::Strings(vec![vec![
                    Piece::Star,
                    Piece::Lit(t.clone().into_bytes()),
                    Piece::Star,
                ]]);
            } else if let Shape::Boolean(b) = &shape {
                shape = Shape::Strings(vec![vec![
                    Piece::Star,
                    Piece::Lit(b.to_string().into_bytes()),
                    Piece::Star,
                ]]);
            }
        }
        let _ = cased;
        Ok(shape)
    }

    fn value_matches(
        &self,
        item: &DetectionItem,
        value: &SigmaValue,
        element: &Element,
        keyword: bool,
    ) -> Result<bool, String> {
        let cased = item.modifiers.contains(&Modifier::Cased);
        let shape = self.shape(item, value, keyword)?;
        let text = element.text();
        let fold = |t: &str| if cased { t.to_string() } else { lowercase(t) };
        let string_match = |patterns: &[Vec<Piece>], text: &Option<String>| -> bool {
            let Some(text) = text else { return false };
            let haystack = fold(text);
            patterns.iter().any(|p| {
                let p: Vec<Piece> = p
                    .iter()
                    .map(|piece| match piece {
                        Piece::Lit(l) if !cased => Piece::Lit(lowercase_bytes(l)),
                        other => other.clone(),
                    })
                    .collect();
                wildcard_match(&p, haystack.as_bytes())
            })
        };
        let number = |parse: bool| -> Option<f64> {
            match element {
                Element::Value(Value::Int(i)) => Some(*i as f64),
                Element::Value(Value::Float(f)) => Some(*f),
                Element::Value(Value::Str(s)) if parse => {
                    s.trim().parse::<f64>().ok().filter(|f| f.is_finite())
                }
                _ => None,
            }
        };
        Ok(match shape {
            Shape::Strings(p) => string_match(&p, &text),
            Shape::Number(exact, n, t) => {
                string_match(&[vec![Piece::Lit(t.into_bytes())]], &text)
                    || match (element, exact) {
                        (Element::Value(Value::Int(i)), Some(e)) => *i == e,
                        (Element::Value(Value::Int(i)), None) => (*i as f64) == n,
                        (Element::Value(Value::Float(f)), _) => *f == n,
                        _ => false,
                    }
            }
            Shape::Boolean(b) => {
                string_match(&[vec![Piece::Lit(b.to_string().into_bytes())]], &text)
                    || matches!(element, Element::Value(Value::Bool(v)) if *v == b)
            }
            Shape::Regex(re) => text.is_some_and(|t| re.is_match(&t)),
            Shape::Network(net, bits) => {
                let ip = match element {
                    Element::Value(Value::Ip(ip)) => Some(*ip),
                    Element::Value(Value::Str(s)) => s.trim().parse::<IpAddr>().ok(),
                    _ => None,
                };
                ip.is_some_and(|ip| in_network(ip, net, bits))
            }
            Shape::Compare(op, exact, n) => {
                let exact = match (element, exact) {
                    (Element::Value(Value::Int(i)), Some(e)) => Some(i.cmp(&e)),
                    (Element::Value(Value::Str(s)), Some(e)) => {
                        s.trim().parse::<i64>().ok().map(|i| i.cmp(&e))
                    }
                    _ => None,
                };
                let ord = exact.or_else(|| number(true).and_then(|v| v.partial_cmp(&n)));
                ord.is_some_and(|o| match op {
                    Modifier::Lt => o.is_lt(),
                    Modifier::Lte => o.is_le(),
                    Modifier::Gt => o.is_gt(),
                    _ => o.is_ge(),
                })
            }
            Shape::Time(part, op, n) => {
                let t = match element {
                    Element::Timestamp(ts) => Some(ts.naive_utc()),
                    Element::Value(Value::Str(s)) => read_time(s),
                    _ => None,
                };
                t.is_some_and(|t| {
                    let v = match part {
                        Modifier::Minute => i64::from(t.minute()),
                        Modifier::Hour => i64::from(t.hour()),
                        Modifier::Day => i64::from(t.day()),
                        Modifier::Week => i64::from(t.iso_week().week()),
                        Modifier::Month => i64::from(t.month()),
                        _ => i64::from(t.year()),
                    };
                    match op {
                        None => v == n,
                        Some(Modifier::Lt) => v < n,
                        Some(Modifier::Lte) => v <= n,
                        Some(Modifier::Gt) => v > n,
                        _ => v >= n,
                    }
                })
            }
            Shape::Reference(other, starts, ends) => {
                let Some(a) = text.map(|t| fold(&t)) else {
                    return Ok(false);
                };
                let (_, _, refs) = self.elements(&other);
                refs.iter()
                    .filter_map(Element::text)
                    .map(|b| fold(&b))
                    .any(|b| match (starts, ends) {
                        (true, true) => a.contains(&b),
                        (true, false) => a.starts_with(&b),
                        (false, true) => a.ends_with(&b),
                        (false, false) => a == b,
                    })
            }
        })
    }
}

fn name_matches(pattern: &str, name: &str) -> bool {
    // Recursive `*` matching, written independently of the compiler's.
    fn go(p: &[char], n: &[char]) -> bool {
        match p.split_first() {
            None => n.is_empty(),
            Some(('*', rest)) => (0..=n.len()).any(|i| go(rest, &n[i..])),
            Some((c, rest)) => n.first() == Some(c) && go(rest, &n[1..]),
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    go(&p, &n)
}

fn in_network(ip: IpAddr, net: IpAddr, bits: u32) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        other => other,
    };
    let (a, b): (Vec<u8>, Vec<u8>) = match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (a.octets().to_vec(), b.octets().to_vec()),
        (IpAddr::V6(a), IpAddr::V6(b)) => (a.octets().to_vec(), b.octets().to_vec()),
        _ => return false,
    };
    (0..bits as usize).all(|bit| {
        let mask = 0x80u8 >> (bit % 8);
        (a[bit / 8] & mask) == (b[bit / 8] & mask)
    })
}

fn read_time(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.naive_local());
    }
    ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
}
