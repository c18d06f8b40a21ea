//! From the rule tree to a program: field names interned into the rule set's field table,
//! values folded and split into literal pieces, numbers parsed, regular expressions and CIDR
//! networks built, placeholders filled, every modifier combination checked.

use std::collections::HashMap;
use std::net::IpAddr;

use base64::Engine as _;
use compact_str::CompactString;

use super::ast::{Detection, DetectionItem, DetectionNode, Modifier, SigmaRule, SigmaValue};
use super::condition::Condition;
use super::error::ErrorKind;
use super::pattern::Pattern;
use super::string::{self, Token};

/// Most alternatives one value may expand into (placeholders, windash under an encoding).
pub const MAX_EXPANSION: usize = 4096;
/// Regular expression size limit (compiled program bytes).
pub const REGEX_SIZE_LIMIT: usize = 4 << 20;

/// Index of a field name in the rule set's field table.
pub(crate) type FieldId = u32;

/// Interned field names.
#[derive(Debug, Default, Clone)]
pub(crate) struct FieldTable {
    pub names: Vec<CompactString>,
    /// Each name's [`crate::event::field_hash`]: an event looks the name up without hashing it.
    pub hashes: Vec<u64>,
    /// foldhash, not SipHash: names come from rules, and a flood of colliding names only costs
    /// the loader of those rules time.
    index: hashbrown::HashMap<CompactString, FieldId, foldhash::fast::FixedState>,
}

impl FieldTable {
    pub fn intern(&mut self, name: &str) -> FieldId {
        if let Some(&id) = self.index.get(name) {
            return id;
        }
        let id = self.names.len() as FieldId;
        self.names.push(name.into());
        self.hashes.push(crate::event::field_hash(name));
        self.index.insert(name.into(), id);
        id
    }
}

/// Values given to the builder for `expand` placeholders.
pub(crate) type Placeholders = HashMap<String, Vec<String>>;

/// A rule's compiled condition over its items.
#[derive(Debug, Clone)]
pub(crate) enum Expr {
    And(Box<[Expr]>),
    Or(Box<[Expr]>),
    Not(Box<Expr>),
    Item(u32),
    Const(bool),
}

/// A compiled rule (or filter) body.
#[derive(Debug, Clone, Default)]
pub(crate) struct Program {
    pub expr: Option<Expr>,
    pub items: Vec<Item>,
}

/// Where an item looks.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    /// These fields, as alternatives.
    Fields(Box<[FieldId]>),
    /// Every string value of the event.
    Keywords,
}

/// How values combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// One value matches one element.
    Any,
    /// Every value matches some element.
    All,
    /// (`neq`) the field is present and some element matches none of the values.
    None,
}

/// What an item tests.
#[derive(Debug, Clone)]
pub(crate) enum Test {
    Exists(bool),
    Null,
    Match {
        mode: Mode,
        values: Box<[Box<[Matcher]>]>,
        /// For `Mode::Any` items with several case-insensitive values of one kind (`contains`,
        /// `endswith`, equality): those values tested together, once per element.
        set: Option<Box<ValueSet>>,
    },
}

/// Fewest values of one kind (`contains`, `endswith`, equality) in one item worth a
/// [`ValueSet`]: below this, testing them one by one costs less than building and running one.
pub(crate) const VALUE_SET_MIN: usize = 4;

/// What a [`ValueSet`]'s values ask of an element's folded text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SetKind {
    /// It contains one of them.
    Contains,
    /// It ends with one of them.
    EndsWith,
    /// It equals one of them.
    Equals,
}

/// The case-insensitive values of one `Mode::Any` item tested together, when enough of them
/// are of one kind: an item with N such values over M elements costs M tests of the set instead
/// of N×M tests of a value (SigmaHQ's web and PowerShell rules list dozens of `contains` values
/// per field; process creation rules dozens of `Image|endswith` and `OriginalFileName`
/// values). `contains` values are searched with one Aho-Corasick automaton, `endswith` values
/// with one anchored automaton over the reversed values walked back from the text's end (most
/// texts leave it within a few bytes), equality with one hash probe. Built on first use, so
/// rules that never reach full evaluation cost nothing at load.
#[derive(Debug, Clone)]
pub(crate) struct ValueSet {
    kind: SetKind,
    needles: Box<[Box<[u8]>]>,
    /// Per value of the item: whether this set stands for it.
    pub covered: Box<[bool]>,
    matcher: std::sync::OnceLock<Option<SetMatcher>>,
}

/// A [`ValueSet`]'s values, built for testing.
#[derive(Debug, Clone)]
pub(crate) enum SetMatcher {
    Contains(super::needles::NeedleAutomaton),
    /// Over the reversed values, anchored at the start. A contiguous NFA: a DFA's tables
    /// (states x byte classes) made the sets SigmaHQ's rules reach on the Windows corpus 4 MB
    /// of resident memory, and a walk back from a text's end takes a few steps.
    EndsWith(aho_corasick::nfa::contiguous::NFA),
    Equals(hashbrown::HashSet<Box<[u8]>, foldhash::fast::FixedState>),
}

impl SetMatcher {
    /// Whether one of the set's values matches `text` (folded).
    #[inline]
    pub(crate) fn is_match(&self, text: &[u8]) -> bool {
        use aho_corasick::automaton::Automaton;
        match self {
            SetMatcher::Contains(automaton) => automaton.is_match(text),
            SetMatcher::EndsWith(nfa) => {
                let Ok(mut sid) = nfa.start_state(aho_corasick::Anchored::Yes) else {
                    return false;
                };
                for (walked, &byte) in text.iter().rev().enumerate() {
                    sid = nfa.next_state(aho_corasick::Anchored::Yes, sid, byte);
                    if nfa.is_special(sid) {
                        // A match state also reports the needles that are suffixes of its path
                        // (the failure links' matches, copied in): a value is a suffix of the
                        // text only when it is the whole path walked.
                        if nfa.is_match(sid)
                            && (0..nfa.match_len(sid))
                                .any(|i| nfa.pattern_len(nfa.match_pattern(sid, i)) == walked + 1)
                        {
                            return true;
                        }
                        if nfa.is_dead(sid) {
                            return false;
                        }
                    }
                }
                false
            }
            SetMatcher::Equals(set) => set.contains(text),
        }
    }
}

impl ValueSet {
    /// The set for `values` when enough of them are case-insensitive tests of one kind: values
    /// whose alternatives all are (a `windash` value's dash variants) stand for all of them.
    pub(crate) fn for_values(values: &[Box<[Matcher]>]) -> Option<Box<ValueSet>> {
        fn needle(m: &Matcher, kind: SetKind) -> Option<&[u8]> {
            match (m, kind) {
                (
                    Matcher::Text {
                        cased: false,
                        pattern: Pattern::Contains(finder),
                    },
                    SetKind::Contains,
                ) => Some(finder.needle()),
                // An empty suffix matches every text: the reversed automaton's start state would
                // be a match state its walk never tests, so such a value stays on its own.
                (
                    Matcher::Text {
                        cased: false,
                        pattern: Pattern::Suffix(lit),
                    },
                    SetKind::EndsWith,
                ) if !lit.is_empty() => Some(&lit[..]),
                (
                    Matcher::Text {
                        cased: false,
                        pattern: Pattern::Exact(lit),
                    },
                    SetKind::Equals,
                ) => Some(&lit[..]),
                _ => None,
            }
        }
        let of_kind = |alts: &[Matcher], kind| alts.iter().all(|m| needle(m, kind).is_some());
        // The kind with the most needles (an item's values share their modifiers, so nearly
        // always the only one); counted without collecting (this runs for every item loaded).
        let (kind, count) = [SetKind::Contains, SetKind::EndsWith, SetKind::Equals]
            .into_iter()
            .map(|kind| {
                let count: usize = values
                    .iter()
                    .filter(|v| of_kind(v, kind))
                    .map(|v| v.len())
                    .sum();
                (kind, count)
            })
            .max_by_key(|&(_, count)| count)?;
        if count < VALUE_SET_MIN {
            return None;
        }
        let covered: Box<[bool]> = values.iter().map(|v| of_kind(v, kind)).collect();
        let needles: Box<[Box<[u8]>]> = values
            .iter()
            .zip(covered.iter())
            .filter(|(_, covered)| **covered)
            .flat_map(|(v, _)| v.iter().filter_map(|m| needle(m, kind)).map(Box::from))
            .collect();
        Some(Box::new(ValueSet {
            kind,
            needles,
            covered,
            matcher: std::sync::OnceLock::new(),
        }))
    }

    /// The matcher, `None` when it could not be built (the values are then tested one by one).
    pub(crate) fn matcher(&self) -> Option<&SetMatcher> {
        self.matcher
            .get_or_init(|| match self.kind {
                SetKind::Contains => {
                    // A DFA only for small sets: its tables (states x byte classes) cost build
                    // time and memory that a hashed set of 4-byte windows, nearly as fast on
                    // short texts, does not.
                    let bytes: usize = self.needles.iter().map(|n| n.len()).sum();
                    super::needles::NeedleAutomaton::build(&self.needles, bytes <= 256, false)
                        .map(SetMatcher::Contains)
                }
                SetKind::EndsWith => {
                    let reversed: Vec<Vec<u8>> = self
                        .needles
                        .iter()
                        .map(|n| n.iter().rev().copied().collect())
                        .collect();
                    aho_corasick::nfa::contiguous::NFA::builder()
                        .match_kind(aho_corasick::MatchKind::Standard)
                        .prefilter(false)
                        .build(&reversed)
                        .ok()
                        .map(SetMatcher::EndsWith)
                }
                SetKind::Equals => Some(SetMatcher::Equals(self.needles.iter().cloned().collect())),
            })
            .as_ref()
    }
}

/// A compiled detection item.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    pub target: Target,
    pub test: Test,
}

/// A number from a rule or an event.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Num {
    Int(i64),
    Float(f64),
}

impl Num {
    pub fn cmp(self, other: Num) -> Option<std::cmp::Ordering> {
        match (self, other) {
            (Num::Int(a), Num::Int(b)) => Some(a.cmp(&b)),
            (a, b) => a.as_f64().partial_cmp(&b.as_f64()),
        }
    }

    pub fn as_f64(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }

    /// Parses decimal text (surrounding whitespace allowed).
    pub fn parse(text: &str) -> Option<Num> {
        let t = text.trim();
        if let Ok(i) = t.parse::<i64>() {
            return Some(Num::Int(i));
        }
        let looks_numeric = !t.is_empty()
            && t.bytes()
                .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'));
        match t.parse::<f64>() {
            Ok(f) if looks_numeric && f.is_finite() => Some(Num::Float(f)),
            _ => None,
        }
    }
}

/// Comparison operators of the numeric and time modifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq,
    Lt,
    Lte,
    Gt,
    Gte,
}

impl CmpOp {
    pub fn holds(self, ord: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::*;
        match self {
            CmpOp::Eq => ord == Equal,
            CmpOp::Lt => ord == Less,
            CmpOp::Lte => ord != Greater,
            CmpOp::Gt => ord == Greater,
            CmpOp::Gte => ord != Less,
        }
    }
}

/// The time part a time modifier extracts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimePart {
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Year,
}

/// An IP network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cidr {
    pub v4: bool,
    pub network: u128,
    pub mask: u128,
}

impl Cidr {
    /// Parses `a.b.c.d/n`, `x::y/n`, or a single address. Host bits must be zero.
    pub fn parse(text: &str) -> Result<Cidr, String> {
        let (addr, prefix) = match text.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text.trim(), None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("`{text}` is not an IP network"))?;
        let (v4, bits, value) = match addr {
            IpAddr::V4(a) => (true, 32u32, u128::from(u32::from(a))),
            IpAddr::V6(a) => (false, 128u32, u128::from(a)),
        };
        let prefix = match prefix {
            None => bits,
            Some(p) => p
                .parse::<u32>()
                .ok()
                .filter(|p| *p <= bits)
                .ok_or_else(|| format!("`{text}` has an invalid prefix length"))?,
        };
        let mask = if prefix == 0 {
            0
        } else {
            (u128::MAX << (bits - prefix)) & (u128::MAX >> (128 - bits))
        };
        if value & !mask != 0 {
            return Err(format!("`{text}` has host bits set"));
        }
        Ok(Cidr {
            v4,
            network: value,
            mask,
        })
    }

    /// Whether `ip` lies inside (IPv4-mapped IPv6 addresses count as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        match ip {
            IpAddr::V4(a) if self.v4 => u128::from(u32::from(a)) & self.mask == self.network,
            IpAddr::V6(a) if !self.v4 => u128::from(a) & self.mask == self.network,
            _ => false,
        }
    }
}

/// How a field reference compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RefMode {
    Equal,
    Contains,
    StartsWith,
    EndsWith,
}

/// One way a value can match one element.
#[derive(Debug, Clone)]
pub(crate) enum Matcher {
    /// A string pattern over the element's text (folded unless cased).
    Text { cased: bool, pattern: Pattern },
    /// A regular expression searched in the element's text.
    Regex(super::lazy_regex::LazyRegex),
    /// Numeric equality with a numeric element (a YAML number's other half).
    NumEq(Num),
    /// Equality with a boolean element (a YAML boolean's other half).
    BoolEq(bool),
    /// `lt` / `lte` / `gt` / `gte` against a number or numeric text.
    Cmp(CmpOp, Num),
    /// Address inside a network.
    Cidr(Cidr),
    /// Part of a timestamp compared with a number.
    Time(TimePart, CmpOp, i64),
    /// Another field of the same event.
    FieldRef {
        field: FieldId,
        mode: RefMode,
        cased: bool,
    },
}

/// A value on its way through the modifier chain.
#[derive(Debug, Clone)]
enum Typed {
    Str(Vec<Token>),
    Alt(Vec<Vec<Token>>),
    Num(Num, String),
    Bool(bool),
    Null,
    Regex {
        pattern: String,
        i: bool,
        m: bool,
        s: bool,
    },
    Cidr(Cidr),
    Cmp(CmpOp, Num),
    Time(TimePart, CmpOp, i64),
    FieldRef {
        name: String,
        starts: bool,
        ends: bool,
    },
}

impl Typed {
    fn kind(&self) -> &'static str {
        match self {
            Typed::Str(_) | Typed::Alt(_) => "a string",
            Typed::Num(..) => "a number",
            Typed::Bool(_) => "a boolean",
            Typed::Null => "null",
            Typed::Regex { .. } => "a regular expression",
            Typed::Cidr(_) => "a CIDR network",
            Typed::Cmp(..) => "a numeric comparison",
            Typed::Time(..) => "a time part",
            Typed::FieldRef { .. } => "a field reference",
        }
    }

    /// The value as string alternatives, converting numbers and booleans to their text.
    fn strings(self) -> Option<Vec<Vec<Token>>> {
        match self {
            Typed::Str(t) => Some(vec![t]),
            Typed::Alt(a) => Some(a),
            Typed::Num(_, text) => Some(vec![vec![Token::Lit(text.into_bytes())]]),
            Typed::Bool(b) => Some(vec![vec![Token::Lit(b.to_string().into_bytes())]]),
            _ => None,
        }
    }
}

fn from_strings(mut alts: Vec<Vec<Token>>) -> Typed {
    if alts.len() == 1 {
        Typed::Str(alts.remove(0))
    } else {
        Typed::Alt(alts)
    }
}

/// Expands windash positions into concrete dashes (needed before an encoding).
fn expand_dashes(tokens: Vec<Token>, field: &str) -> Result<Vec<Vec<Token>>, ErrorKind> {
    let mut out: Vec<Vec<Token>> = vec![Vec::new()];
    for token in tokens {
        if token == Token::Dash {
            if out.len() * WINDASH_LEN > MAX_EXPANSION {
                return Err(ErrorKind::TooManyValues {
                    field: field.into(),
                    limit: MAX_EXPANSION,
                });
            }
            out = out
                .into_iter()
                .flat_map(|prefix| {
                    string::WINDASH_CHARS.iter().map(move |c| {
                        let mut v = prefix.clone();
                        v.push(Token::Lit(c.to_string().into_bytes()));
                        v
                    })
                })
                .collect();
        } else {
            for v in &mut out {
                v.push(token.clone());
            }
        }
    }
    Ok(out.into_iter().map(string::normalize).collect())
}

const WINDASH_LEN: usize = string::WINDASH_CHARS.len();

/// Most windash positions in one value expanded into concrete variants (`5^2`); a value with
/// more keeps its positions as glob tokens, matching any dash.
const WINDASH_EXPAND_MAX: usize = 2;

/// The plain bytes of a wildcard-free string, for the encoding modifiers.
fn plain_bytes(tokens: &[Token], modifier: Modifier, field: &str) -> Result<Vec<u8>, ErrorKind> {
    let mut out = Vec::new();
    for token in tokens {
        match token {
            Token::Lit(l) => out.extend_from_slice(l),
            _ => {
                return Err(ErrorKind::IllegalModifiers {
                    field: field.into(),
                    reason: format!(
                        "`{}` cannot encode a value with wildcards or placeholders",
                        modifier.as_str()
                    ),
                });
            }
        }
    }
    Ok(out)
}

fn base64_offsets(bytes: &[u8]) -> Vec<Vec<Token>> {
    let engine = base64::engine::general_purpose::STANDARD;
    (0..3usize)
        .map(|i| {
            let mut shifted = vec![b' '; i];
            shifted.extend_from_slice(bytes);
            let encoded = engine.encode(&shifted);
            let start = [0, 2, 3][i];
            let end = match (bytes.len() + i) % 3 {
                0 => encoded.len(),
                1 => encoded.len().saturating_sub(3),
                _ => encoded.len().saturating_sub(2),
            };
            let piece = encoded.get(start..end.max(start)).unwrap_or_default();
            vec![Token::Lit(piece.as_bytes().to_vec())]
        })
        .collect()
}

fn utf16(tokens: Vec<Token>, modifier: Modifier, field: &str) -> Result<Vec<Token>, ErrorKind> {
    let mut out = Vec::with_capacity(tokens.len() + 1);
    if modifier == Modifier::Utf16 {
        out.push(Token::Lit(vec![0xFF, 0xFE]));
    }
    for token in tokens {
        match token {
            Token::Lit(bytes) => {
                let text = String::from_utf8(bytes).map_err(|_| ErrorKind::IllegalModifiers {
                    field: field.into(),
                    reason: format!(
                        "`{}` applies to text, not to already encoded bytes",
                        modifier.as_str()
                    ),
                })?;
                let mut encoded = Vec::with_capacity(text.len() * 2);
                for unit in text.encode_utf16() {
                    let pair = if modifier == Modifier::Utf16be {
                        unit.to_be_bytes()
                    } else {
                        unit.to_le_bytes()
                    };
                    encoded.extend_from_slice(&pair);
                }
                out.push(Token::Lit(encoded));
            }
            Token::Star => out.push(Token::Star),
            Token::One | Token::Dash | Token::Placeholder(_) => {
                return Err(ErrorKind::IllegalModifiers {
                    field: field.into(),
                    reason: format!(
                        "`{}` cannot encode `?` wildcards or windash positions (only `*` survives an encoding)",
                        modifier.as_str()
                    ),
                });
            }
        }
    }
    Ok(string::normalize(out))
}

/// Compiles rules (and filters) into programs over one field table.
pub(crate) struct Compiler<'a> {
    pub fields: &'a mut FieldTable,
    pub placeholders: &'a Placeholders,
}

impl Compiler<'_> {
    /// Compiles a rule's detection: its conditions, OR-linked.
    pub fn compile_rule(
        &mut self,
        rule: &SigmaRule,
        program: &mut Program,
    ) -> Result<Expr, ErrorKind> {
        self.compile_detection(&rule.detection, program)
    }

    pub fn compile_detection(
        &mut self,
        detection: &Detection,
        program: &mut Program,
    ) -> Result<Expr, ErrorKind> {
        let mut memo: HashMap<&str, Expr> = HashMap::new();
        let mut parts = Vec::with_capacity(detection.conditions.len());
        for condition in &detection.conditions {
            parts.push(self.condition(condition, detection, program, &mut memo)?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Expr::Or(parts.into_boxed_slice())
        })
    }

    fn identifier<'d>(
        &mut self,
        name: &'d str,
        detection: &'d Detection,
        program: &mut Program,
        memo: &mut HashMap<&'d str, Expr>,
    ) -> Result<Expr, ErrorKind> {
        if let Some(expr) = memo.get(name) {
            return Ok(expr.clone());
        }
        let (key, node) = detection
            .identifiers
            .get_key_value(name)
            .ok_or_else(|| ErrorKind::UnknownIdentifier(name.to_string()))?;
        let expr = self.node(node, program)?;
        memo.insert(key.as_str(), expr.clone());
        Ok(expr)
    }

    fn condition<'d>(
        &mut self,
        condition: &'d Condition,
        detection: &'d Detection,
        program: &mut Program,
        memo: &mut HashMap<&'d str, Expr>,
    ) -> Result<Expr, ErrorKind> {
        Ok(match condition {
            Condition::And(items) => Expr::And(
                items
                    .iter()
                    .map(|c| self.condition(c, detection, program, memo))
                    .collect::<Result<_, _>>()?,
            ),
            Condition::Or(items) => Expr::Or(
                items
                    .iter()
                    .map(|c| self.condition(c, detection, program, memo))
                    .collect::<Result<_, _>>()?,
            ),
            Condition::Not(inner) => {
                Expr::Not(Box::new(self.condition(inner, detection, program, memo)?))
            }
            Condition::Identifier(name) => self.identifier(name, detection, program, memo)?,
            Condition::OneOf(selector) | Condition::AllOf(selector) => {
                let names = selector.select(detection.identifiers.keys().map(String::as_str));
                if names.is_empty() {
                    return Err(ErrorKind::EmptyPattern(condition.to_string()));
                }
                let exprs = names
                    .into_iter()
                    .map(|n| self.identifier(n, detection, program, memo))
                    .collect::<Result<Box<[_]>, _>>()?;
                if matches!(condition, Condition::OneOf(_)) {
                    Expr::Or(exprs)
                } else {
                    Expr::And(exprs)
                }
            }
        })
    }

    fn node(&mut self, node: &DetectionNode, program: &mut Program) -> Result<Expr, ErrorKind> {
        Ok(match node {
            DetectionNode::AllOf(children) => {
                let mut exprs: Vec<Expr> = children
                    .iter()
                    .map(|c| self.node(c, program))
                    .collect::<Result<_, _>>()?;
                if exprs.len() == 1 {
                    exprs.remove(0)
                } else {
                    Expr::And(exprs.into_boxed_slice())
                }
            }
            DetectionNode::AnyOf(children) => {
                let mut exprs: Vec<Expr> = children
                    .iter()
                    .map(|c| self.node(c, program))
                    .collect::<Result<_, _>>()?;
                if exprs.len() == 1 {
                    exprs.remove(0)
                } else {
                    Expr::Or(exprs.into_boxed_slice())
                }
            }
            DetectionNode::Item(item) => {
                let compiled = self.item(item)?;
                program.items.push(compiled);
                Expr::Item((program.items.len() - 1) as u32)
            }
        })
    }

    /// Compiles one detection item, checking its modifiers against its values.
    pub fn item(&mut self, item: &DetectionItem) -> Result<Item, ErrorKind> {
        let field = item.field_label();
        let illegal = |reason: String| ErrorKind::IllegalModifiers {
            field: field.clone(),
            reason,
        };
        let mods = &item.modifiers;
        let keyword = item.is_keyword();
        let target = if keyword {
            Target::Keywords
        } else {
            Target::Fields(item.fields.iter().map(|f| self.fields.intern(f)).collect())
        };
        if item.values.is_empty() {
            return Err(ErrorKind::InvalidValue {
                field,
                reason: "no values".into(),
            });
        }

        if mods.contains(&Modifier::Exists) {
            if keyword {
                return Err(illegal("`exists` needs a field".into()));
            }
            if mods.len() > 1 {
                return Err(illegal(
                    "`exists` cannot be combined with other modifiers".into(),
                ));
            }
            return match item.values.as_slice() {
                [SigmaValue::Bool(b)] => Ok(Item {
                    target,
                    test: Test::Exists(*b),
                }),
                [SigmaValue::String(s)]
                    if s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false") =>
                {
                    Ok(Item {
                        target,
                        test: Test::Exists(s.eq_ignore_ascii_case("true")),
                    })
                }
                _ => Err(ErrorKind::InvalidValue {
                    field,
                    reason: "`exists` takes one boolean value".into(),
                }),
            };
        }
        if keyword {
            for m in mods {
                if matches!(
                    m,
                    Modifier::Neq
                        | Modifier::FieldRef
                        | Modifier::Cidr
                        | Modifier::Lt
                        | Modifier::Lte
                        | Modifier::Gt
                        | Modifier::Gte
                        | Modifier::Minute
                        | Modifier::Hour
                        | Modifier::Day
                        | Modifier::Week
                        | Modifier::Month
                        | Modifier::Year
                ) {
                    return Err(illegal(format!(
                        "`{}` needs a field; keyword searches only match text",
                        m.as_str()
                    )));
                }
            }
        }
        let all = mods.contains(&Modifier::All);
        let neq = mods.contains(&Modifier::Neq);
        let cased = mods.contains(&Modifier::Cased);
        if all && item.values.len() == 1 {
            return Err(illegal("`all` needs a list of at least two values".into()));
        }
        if item.values.iter().any(|v| matches!(v, SigmaValue::Null)) {
            if !mods.is_empty() {
                return Err(illegal("`null` cannot be combined with modifiers".into()));
            }
            if keyword {
                return Err(ErrorKind::InvalidValue {
                    field,
                    reason: "a keyword cannot be null".into(),
                });
            }
            if item.values.len() > 1 {
                return Err(ErrorKind::InvalidValue {
                    field,
                    reason: "null cannot be part of a list of values (give it its own selection)"
                        .into(),
                });
            }
            return Ok(Item {
                target,
                test: Test::Null,
            });
        }
        let expand = mods.contains(&Modifier::Expand);
        // Keywords without an explicit anchoring modifier are searched anywhere in the text.
        let implicit_contains = keyword
            && !mods.iter().any(|m| {
                matches!(
                    m,
                    Modifier::Contains | Modifier::StartsWith | Modifier::EndsWith | Modifier::Re
                )
            });

        let mut values = Vec::with_capacity(item.values.len());
        for value in &item.values {
            let mut typed = match value {
                SigmaValue::Null => Typed::Null,
                SigmaValue::Bool(b) => Typed::Bool(*b),
                SigmaValue::Int(i) => Typed::Num(Num::Int(*i), i.to_string()),
                SigmaValue::Float(f) => Typed::Num(Num::Float(*f), f.to_string()),
                SigmaValue::String(s) => Typed::Str(string::normalize(string::parse(s, expand))),
            };
            let mut shaped = false;
            for &m in mods {
                typed = self.apply(m, typed, value, shaped, &field)?;
                if !matches!(m, Modifier::All | Modifier::Neq | Modifier::Cased) {
                    shaped = true;
                }
            }
            if implicit_contains {
                typed = self.apply(Modifier::Contains, typed, value, true, &field)?;
            }
            values.push(self.finish(typed, cased, &field)?);
        }
        let mode = if neq {
            Mode::None
        } else if all {
            Mode::All
        } else {
            Mode::Any
        };
        Ok(Item {
            target,
            test: Test::Match {
                set: match mode {
                    Mode::Any => ValueSet::for_values(&values),
                    Mode::All | Mode::None => None,
                },
                mode,
                values: values.into_boxed_slice(),
            },
        })
    }

    fn apply(
        &mut self,
        m: Modifier,
        typed: Typed,
        original: &SigmaValue,
        shaped: bool,
        field: &str,
    ) -> Result<Typed, ErrorKind> {
        let illegal = |reason: String| ErrorKind::IllegalModifiers {
            field: field.into(),
            reason,
        };
        let kind = typed.kind();
        let not_for = |typed: &Typed| {
            illegal(format!(
                "`{}` does not apply to {}",
                m.as_str(),
                typed.kind()
            ))
        };
        Ok(match m {
            Modifier::All | Modifier::Neq | Modifier::Cased | Modifier::Exists => typed,
            Modifier::Contains | Modifier::StartsWith | Modifier::EndsWith => match typed {
                Typed::Regex { .. } => typed, // a regular expression is searched, not anchored
                Typed::FieldRef { name, starts, ends } => Typed::FieldRef {
                    name,
                    starts: starts || matches!(m, Modifier::Contains | Modifier::StartsWith),
                    ends: ends || matches!(m, Modifier::Contains | Modifier::EndsWith),
                },
                other => {
                    let alts = other.clone().strings().ok_or_else(|| not_for(&other))?;
                    from_strings(
                        alts.into_iter()
                            .map(|mut t| {
                                if matches!(m, Modifier::Contains | Modifier::EndsWith)
                                    && t.first() != Some(&Token::Star)
                                {
                                    t.insert(0, Token::Star);
                                }
                                if matches!(m, Modifier::Contains | Modifier::StartsWith)
                                    && t.last() != Some(&Token::Star)
                                {
                                    t.push(Token::Star);
                                }
                                string::normalize(t)
                            })
                            .collect(),
                    )
                }
            },
            Modifier::Windash => {
                let alts = typed.clone().strings().ok_or_else(|| not_for(&typed))?;
                let mut out = Vec::with_capacity(alts.len());
                for t in alts {
                    let t = string::normalize(string::windash(t));
                    // One or two dash positions: their 5 or 25 concrete variants, plain
                    // literals (searched with `memmem`, or all together by the item's
                    // `ValueSet`), rather than a glob whose first piece is often a single
                    // space (`' -nop '`), tried at every space of a command line.
                    if t.iter().filter(|k| **k == Token::Dash).count() <= WINDASH_EXPAND_MAX {
                        out.extend(expand_dashes(t, field)?);
                    } else {
                        out.push(t);
                    }
                }
                from_strings(out)
            }
            Modifier::Base64
            | Modifier::Base64Offset
            | Modifier::Utf16le
            | Modifier::Utf16be
            | Modifier::Utf16 => {
                let alts = typed.clone().strings().ok_or_else(|| not_for(&typed))?;
                let mut out = Vec::new();
                for alt in alts {
                    for concrete in expand_dashes(alt, field)? {
                        match m {
                            Modifier::Base64 => {
                                let bytes = plain_bytes(&concrete, m, field)?;
                                let encoded =
                                    base64::engine::general_purpose::STANDARD.encode(bytes);
                                out.push(vec![Token::Lit(encoded.into_bytes())]);
                            }
                            Modifier::Base64Offset => {
                                let bytes = plain_bytes(&concrete, m, field)?;
                                out.extend(base64_offsets(&bytes));
                            }
                            _ => out.push(utf16(concrete, m, field)?),
                        }
                        if out.len() > MAX_EXPANSION {
                            return Err(ErrorKind::TooManyValues {
                                field: field.into(),
                                limit: MAX_EXPANSION,
                            });
                        }
                    }
                }
                from_strings(out)
            }
            Modifier::Expand => {
                let alts = typed.clone().strings().ok_or_else(|| not_for(&typed))?;
                let mut out = Vec::new();
                for alt in alts {
                    let mut partial: Vec<Vec<Token>> = vec![Vec::new()];
                    for token in alt {
                        match token {
                            Token::Placeholder(name) => {
                                let values = self
                                    .placeholders
                                    .get(&name)
                                    .filter(|v| !v.is_empty())
                                    .ok_or_else(|| ErrorKind::UnfilledPlaceholder {
                                        field: field.into(),
                                        name: name.clone(),
                                    })?;
                                if partial.len() * values.len() > MAX_EXPANSION {
                                    return Err(ErrorKind::TooManyValues {
                                        field: field.into(),
                                        limit: MAX_EXPANSION,
                                    });
                                }
                                let parsed: Vec<Vec<Token>> =
                                    values.iter().map(|v| string::parse(v, false)).collect();
                                partial = partial
                                    .into_iter()
                                    .flat_map(|prefix| {
                                        parsed.iter().map(move |p| {
                                            let mut v = prefix.clone();
                                            v.extend(p.iter().cloned());
                                            v
                                        })
                                    })
                                    .collect();
                            }
                            other => {
                                for p in &mut partial {
                                    p.push(other.clone());
                                }
                            }
                        }
                    }
                    out.extend(partial.into_iter().map(string::normalize));
                    if out.len() > MAX_EXPANSION {
                        return Err(ErrorKind::TooManyValues {
                            field: field.into(),
                            limit: MAX_EXPANSION,
                        });
                    }
                }
                from_strings(out)
            }
            Modifier::Re => {
                if shaped {
                    return Err(illegal(
                        "`re` must come before any modifier that changes the value".into(),
                    ));
                }
                match original {
                    SigmaValue::String(s) => Typed::Regex {
                        pattern: s.clone(),
                        i: false,
                        m: false,
                        s: false,
                    },
                    _ => return Err(illegal(format!("`re` needs a string value, got {kind}"))),
                }
            }
            Modifier::ReIgnoreCase | Modifier::ReMultiline | Modifier::ReDotAll => match typed {
                Typed::Regex {
                    pattern,
                    i,
                    m: ml,
                    s,
                } => Typed::Regex {
                    pattern,
                    i: i || m == Modifier::ReIgnoreCase,
                    m: ml || m == Modifier::ReMultiline,
                    s: s || m == Modifier::ReDotAll,
                },
                other => {
                    return Err(illegal(format!(
                        "`{}` is a flag of `re` and must follow it, not {}",
                        m.as_str(),
                        other.kind()
                    )));
                }
            },
            Modifier::Cidr => {
                if shaped {
                    return Err(illegal(
                        "`cidr` must come before any modifier that changes the value".into(),
                    ));
                }
                match original {
                    SigmaValue::String(s) => {
                        Typed::Cidr(Cidr::parse(s).map_err(|reason| ErrorKind::InvalidValue {
                            field: field.into(),
                            reason,
                        })?)
                    }
                    _ => {
                        return Err(illegal(format!(
                            "`cidr` needs a network as a string, got {kind}"
                        )));
                    }
                }
            }
            Modifier::Lt | Modifier::Lte | Modifier::Gt | Modifier::Gte => {
                let op = match m {
                    Modifier::Lt => CmpOp::Lt,
                    Modifier::Lte => CmpOp::Lte,
                    Modifier::Gt => CmpOp::Gt,
                    _ => CmpOp::Gte,
                };
                match typed {
                    Typed::Num(n, _) => Typed::Cmp(op, n),
                    Typed::Str(ref t) if !shaped => match t.as_slice() {
                        [Token::Lit(l)] => match std::str::from_utf8(l).ok().and_then(Num::parse) {
                            Some(n) => Typed::Cmp(op, n),
                            None => {
                                return Err(ErrorKind::InvalidValue {
                                    field: field.into(),
                                    reason: format!("`{}` needs a number", m.as_str()),
                                });
                            }
                        },
                        _ => {
                            return Err(ErrorKind::InvalidValue {
                                field: field.into(),
                                reason: format!("`{}` needs a number", m.as_str()),
                            });
                        }
                    },
                    Typed::Time(part, CmpOp::Eq, n) => Typed::Time(part, op, n),
                    other => return Err(not_for(&other)),
                }
            }
            Modifier::Minute
            | Modifier::Hour
            | Modifier::Day
            | Modifier::Week
            | Modifier::Month
            | Modifier::Year => {
                if shaped {
                    return Err(illegal(format!(
                        "`{}` must come before other value modifiers",
                        m.as_str()
                    )));
                }
                let part = match m {
                    Modifier::Minute => TimePart::Minute,
                    Modifier::Hour => TimePart::Hour,
                    Modifier::Day => TimePart::Day,
                    Modifier::Week => TimePart::Week,
                    Modifier::Month => TimePart::Month,
                    _ => TimePart::Year,
                };
                let n = match original {
                    SigmaValue::Int(i) => *i,
                    SigmaValue::String(s) => {
                        s.trim()
                            .parse::<i64>()
                            .map_err(|_| ErrorKind::InvalidValue {
                                field: field.into(),
                                reason: format!("`{}` needs an integer", m.as_str()),
                            })?
                    }
                    _ => {
                        return Err(ErrorKind::InvalidValue {
                            field: field.into(),
                            reason: format!("`{}` needs an integer", m.as_str()),
                        });
                    }
                };
                Typed::Time(part, CmpOp::Eq, n)
            }
            Modifier::FieldRef => {
                if shaped {
                    return Err(illegal(
                        "`fieldref` must come before `contains`, `startswith` or `endswith`".into(),
                    ));
                }
                match typed {
                    Typed::Str(t) => match t.as_slice() {
                        [Token::Lit(l)] => Typed::FieldRef {
                            name: String::from_utf8_lossy(l).into_owned(),
                            starts: false,
                            ends: false,
                        },
                        _ => {
                            return Err(ErrorKind::InvalidValue {
                                field: field.into(),
                                reason: "a field reference must be a field name without wildcards"
                                    .into(),
                            });
                        }
                    },
                    other => return Err(not_for(&other)),
                }
            }
        })
    }

    fn finish(
        &mut self,
        typed: Typed,
        cased: bool,
        field: &str,
    ) -> Result<Box<[Matcher]>, ErrorKind> {
        let text = |tokens: Vec<Token>| -> Result<Matcher, ErrorKind> {
            let has_bytes = tokens
                .iter()
                .any(|t| matches!(t, Token::Lit(l) if std::str::from_utf8(l).is_err()));
            if has_bytes && tokens.iter().any(|t| matches!(t, Token::One | Token::Dash)) {
                return Err(ErrorKind::IllegalModifiers {
                    field: field.into(),
                    reason: "`?` wildcards and windash positions cannot be mixed with UTF-16 encoded text".into(),
                });
            }
            let tokens: Vec<Token> = if cased {
                tokens
            } else {
                tokens
                    .into_iter()
                    .map(|t| match t {
                        Token::Lit(l) => Token::Lit(string::fold_bytes(&l)),
                        other => other,
                    })
                    .collect()
            };
            Ok(Matcher::Text {
                cased,
                pattern: Pattern::compile(&tokens),
            })
        };
        let cased_check = |what: &str| -> Result<(), ErrorKind> {
            if cased {
                return Err(ErrorKind::IllegalModifiers {
                    field: field.into(),
                    reason: format!(
                        "`cased` applies to strings and field references, not to {what}"
                    ),
                });
            }
            Ok(())
        };
        Ok(match typed {
            Typed::Str(tokens) => vec![text(tokens)?],
            Typed::Alt(alts) => alts.into_iter().map(text).collect::<Result<_, _>>()?,
            Typed::Num(n, s) => vec![text(vec![Token::Lit(s.into_bytes())])?, Matcher::NumEq(n)],
            Typed::Bool(b) => vec![
                text(vec![Token::Lit(b.to_string().into_bytes())])?,
                Matcher::BoolEq(b),
            ],
            Typed::Null => {
                return Err(ErrorKind::InvalidValue {
                    field: field.into(),
                    reason: "null cannot be part of a list of values".into(),
                });
            }
            Typed::Regex { pattern, i, m, s } => {
                cased_check("regular expressions (they are case-sensitive unless `i` is given)")?;
                let regex = super::lazy_regex::LazyRegex::new(&pattern, i, m, s).map_err(|e| {
                    ErrorKind::Regex {
                        field: field.into(),
                        pattern: pattern.clone(),
                        message: e.split_whitespace().collect::<Vec<_>>().join(" "),
                    }
                })?;
                vec![Matcher::Regex(regex)]
            }
            Typed::Cidr(c) => {
                cased_check("CIDR networks")?;
                vec![Matcher::Cidr(c)]
            }
            Typed::Cmp(op, n) => {
                cased_check("numbers")?;
                vec![Matcher::Cmp(op, n)]
            }
            Typed::Time(part, op, n) => {
                cased_check("time parts")?;
                vec![Matcher::Time(part, op, n)]
            }
            Typed::FieldRef { name, starts, ends } => {
                let mode = match (starts, ends) {
                    (true, true) => RefMode::Contains,
                    (true, false) => RefMode::StartsWith,
                    (false, true) => RefMode::EndsWith,
                    (false, false) => RefMode::Equal,
                };
                vec![Matcher::FieldRef {
                    field: self.fields.intern(&name),
                    mode,
                    cased,
                }]
            }
        }
        .into_boxed_slice())
    }
}
