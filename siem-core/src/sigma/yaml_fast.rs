//! A fast reader for the YAML that Sigma rules use, producing the same `yaml_serde::Value` tree
//! as `yaml_serde` (libyaml underneath), or declining.
//!
//! Why: parsing rule texts through libyaml's event stream and serde's visitor was about half of
//! the time needed to load SigmaHQ's rules. Rules use a small part of YAML: block mappings and
//! sequences, plain / single- / double-quoted scalars, `|` and `>` block scalars, flow sequences,
//! comments and `---` documents. This reader handles exactly that part and returns `None` for
//! anything else (anchors, aliases, tags, flow mappings, complex keys, tabs, CR line ends,
//! directives, `...`, odd indentation, any syntax error), so the caller falls back to
//! `yaml_serde` and correctness never depends on this subset being complete: whatever the fast
//! reader accepts, it must read as `yaml_serde` does (`tests/yaml_fast.rs` checks this on every
//! SigmaHQ YAML file and on generated documents).
//!
//! Scalars follow libyaml's scanner (plain-scalar folding and termination, quoted-scalar escapes
//! and folding, block-scalar indentation and chomping), and plain scalars are typed as
//! `yaml_serde` types them (YAML 1.2 core schema: null, bool, int, float, string). The same
//! bounds as the `yaml_serde` path apply (nodes, string bytes, depth): the reader declines when
//! a bound would be exceeded, so the fallback reports the error.
//!
//! Cost: one pass over the text plus the tree it builds; no recursion deeper than
//! [`MAX_DEPTH`](super::yaml::MAX_DEPTH) collections.

use yaml_serde::{Mapping, Value};

use super::yaml::{MAX_DEPTH, MAX_NODES, MAX_STRING_BYTES};

/// Longest simple key libyaml accepts is 1024 characters; stay below it in bytes.
const MAX_KEY_BYTES: usize = 1000;

/// Reads every document of `text`, or `None` when the text is outside the subset this reader
/// handles (the caller then uses `yaml_serde`, which also reports any error).
pub(crate) fn load(text: &str) -> Option<Vec<Value>> {
    if !printable(text) {
        return None;
    }
    let mut reader = Reader {
        s: text.as_bytes(),
        text,
        pos: 0,
        line_start: 0,
        nodes: MAX_NODES,
        bytes: MAX_STRING_BYTES,
    };
    reader.stream()
}

/// Whether every character is one the subset allows: libyaml's printable set minus tabs, CR,
/// the Unicode line breaks (NEL, LS, PS) and byte-order marks, which would change where lines
/// and indentation are.
fn printable(text: &str) -> bool {
    let bytes = text.as_bytes();
    if bytes
        .iter()
        .all(|&b| b == b'\n' || (0x20..0x7f).contains(&b))
    {
        return true;
    }
    text.chars().all(|c| match c {
        '\n' | ' '..='~' => true,
        '\u{0}'..='\u{9f}' => false,
        '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}' => false,
        _ => true,
    })
}

/// What follows the blank lines and comments at the reader's position.
enum Next {
    /// Content at this column.
    Content(usize),
    /// `---` or `...` at column 0.
    Marker,
    /// End of text.
    Eof,
}

/// What a scalar at the start of a node turned out to be.
enum Start {
    /// A mapping key (the reader is at its `:`).
    Key(Value),
    /// A scalar value.
    Scalar(Value),
}

/// Where a block node starts, which decides what it may be.
#[derive(Clone, Copy, PartialEq)]
enum Ctx {
    /// At the top of a document: a mapping or a block sequence.
    Top,
    /// After `key: ` on the key's line: a scalar, flow sequence or block scalar.
    MapValue,
    /// After `- ` on the entry's line: anything (a compact mapping or sequence too).
    SeqItem,
    /// On a line of its own below its key or entry: anything.
    Below,
}

struct Reader<'a> {
    s: &'a [u8],
    text: &'a str,
    pos: usize,
    line_start: usize,
    /// Nodes still allowed (the `yaml_serde` path's budget).
    nodes: usize,
    /// String bytes still allowed.
    bytes: usize,
}

fn blankz(b: u8) -> bool {
    b == b' ' || b == b'\n' || b == 0
}

impl<'a> Reader<'a> {
    /// The byte at the position, 0 at the end (NUL cannot occur: `printable` refused it).
    fn peek(&self) -> u8 {
        self.s.get(self.pos).copied().unwrap_or(0)
    }

    fn at(&self, i: usize) -> u8 {
        self.s.get(self.pos + i).copied().unwrap_or(0)
    }

    fn col(&self) -> usize {
        self.pos - self.line_start
    }

    fn newline(&mut self) {
        self.pos += 1;
        self.line_start = self.pos;
    }

    fn skip_spaces(&mut self) {
        while self.peek() == b' ' {
            self.pos += 1;
        }
    }

    fn skip_comment(&mut self) {
        match memchr(b'\n', &self.s[self.pos..]) {
            Some(i) => self.pos += i,
            None => self.pos = self.s.len(),
        }
    }

    fn at_marker(&self) -> bool {
        self.col() == 0
            && (self.s[self.pos..].starts_with(b"---") || self.s[self.pos..].starts_with(b"..."))
            && blankz(self.at(3))
    }

    /// Whether only spaces precede the position on its line.
    fn at_indent(&self) -> bool {
        self.s[self.line_start..self.pos].iter().all(|&b| b == b' ')
    }

    fn charge(&mut self, bytes: usize) -> Option<()> {
        self.nodes = self.nodes.checked_sub(1)?;
        self.bytes = self.bytes.checked_sub(bytes)?;
        Some(())
    }

    fn string(&mut self, s: String) -> Option<Value> {
        self.charge(s.len())?;
        Some(Value::String(s))
    }

    /// Skips blank lines and comment lines (from a line's indentation or an empty position).
    fn next_content(&mut self) -> Next {
        loop {
            self.skip_spaces();
            match self.peek() {
                b'#' => self.skip_comment(),
                b'\n' => self.newline(),
                0 => return Next::Eof,
                _ if self.at_marker() => return Next::Marker,
                _ => return Next::Content(self.col()),
            }
        }
    }

    /// Ends the line a scalar or flow sequence ended on: spaces, then a comment (after a space)
    /// or the line break. A value that already ended on a later line's indentation is done.
    fn end_line(&mut self) -> Option<()> {
        if self.at_indent() {
            return Some(());
        }
        self.skip_spaces();
        match self.peek() {
            b'\n' => self.newline(),
            0 => {}
            b'#' if self.s.get(self.pos.wrapping_sub(1)) == Some(&b' ') => self.skip_comment(),
            _ => return None,
        }
        Some(())
    }

    fn stream(&mut self) -> Option<Vec<Value>> {
        let mut docs = Vec::new();
        loop {
            let explicit = match self.next_content() {
                Next::Eof => {
                    if docs.is_empty() {
                        self.charge(0)?;
                        docs.push(Value::Null);
                    }
                    return Some(docs);
                }
                Next::Marker if self.s[self.pos] == b'-' => {
                    self.pos += 3;
                    // `--- value` and `--- |` are valid YAML but not in the subset.
                    self.skip_spaces();
                    match self.peek() {
                        b'\n' | 0 => {}
                        b'#' if self.s[self.pos - 1] == b' ' => self.skip_comment(),
                        _ => return None,
                    }
                    true
                }
                Next::Marker => return None,
                Next::Content(_) => false,
            };
            if !explicit && !docs.is_empty() {
                return None;
            }
            let doc = match self.next_content() {
                Next::Eof | Next::Marker => {
                    self.charge(0)?;
                    Value::Null
                }
                Next::Content(_) => {
                    let doc = self.block_node(-1, 0, Ctx::Top)?;
                    match self.next_content() {
                        Next::Content(_) => return None,
                        Next::Eof | Next::Marker => {}
                    }
                    doc
                }
            };
            docs.push(doc);
        }
    }

    /// A block node at the position (content, not a comment). `owner` is the column of the
    /// block collection it belongs to (libyaml's current indentation, -1 at the top).
    fn block_node(&mut self, owner: isize, depth: usize, ctx: Ctx) -> Option<Value> {
        let c = self.col();
        match self.peek() {
            b'-' if blankz(self.at(1)) => {
                if ctx == Ctx::MapValue {
                    return None;
                }
                self.block_seq(c, depth)
            }
            b'[' if ctx != Ctx::Top => {
                let v = self.flow_seq(owner, depth)?;
                self.end_line()?;
                Some(v)
            }
            b'|' | b'>' if ctx != Ctx::Top => {
                let literal = self.peek() == b'|';
                let s = self.block_scalar(owner, literal)?;
                self.string(s)
            }
            _ => match self.start(owner)? {
                Start::Key(key) => {
                    if ctx == Ctx::MapValue {
                        return None;
                    }
                    self.block_map(c, key, depth)
                }
                Start::Scalar(v) => {
                    if ctx == Ctx::Top {
                        return None;
                    }
                    self.end_line()?;
                    Some(v)
                }
            },
        }
    }

    /// A quoted or plain scalar at the position, telling a mapping key from a value.
    fn start(&mut self, owner: isize) -> Option<Start> {
        let begin = self.pos;
        let line = self.line_start;
        match self.peek() {
            q @ (b'\'' | b'"') => {
                let s = self.quoted(q == b'\'')?;
                let after = self.pos;
                self.skip_spaces();
                if self.peek() == b':' && blankz(self.at(1)) {
                    if self.line_start != line || self.pos - begin > MAX_KEY_BYTES {
                        return None;
                    }
                    Some(Start::Key(self.string(s)?))
                } else {
                    self.pos = after;
                    Some(Start::Scalar(self.string(s)?))
                }
            }
            _ => {
                let (text, crossed) = self.plain(owner, false)?;
                if self.peek() == b':' && blankz(self.at(1)) {
                    if crossed || self.line_start != line || self.pos - begin > MAX_KEY_BYTES {
                        return None;
                    }
                    Some(Start::Key(self.resolve(text)?))
                } else {
                    Some(Start::Scalar(self.resolve(text)?))
                }
            }
        }
    }

    fn block_map(&mut self, c: usize, first: Value, depth: usize) -> Option<Value> {
        if depth >= MAX_DEPTH {
            return None;
        }
        self.charge(0)?;
        let mut map = Mapping::new();
        let mut key = first;
        loop {
            let value = self.after_indicator(c, depth, Ctx::MapValue)?;
            if map.insert(key, value).is_some() {
                // Duplicate key: `yaml_serde`'s path reports it.
                return None;
            }
            match self.next_content() {
                Next::Eof | Next::Marker => break,
                Next::Content(c2) if c2 < c => break,
                Next::Content(c2) if c2 == c => match self.start(c as isize)? {
                    Start::Key(k) => key = k,
                    Start::Scalar(_) => return None,
                },
                Next::Content(_) => return None,
            }
        }
        Some(Value::Mapping(map))
    }

    /// The node after a key's `:` or an entry's `-` (`ctx` says which; `self.pos` is at the
    /// indicator): on the same line, or [`below`](Self::below) when the line ends there.
    fn after_indicator(&mut self, c: usize, depth: usize, ctx: Ctx) -> Option<Value> {
        let key = ctx == Ctx::MapValue;
        self.pos += 1;
        self.skip_spaces();
        match self.peek() {
            b'\n' | 0 => self.below(c, depth, key),
            b'#' => {
                self.skip_comment();
                self.below(c, depth, key)
            }
            _ => self.block_node(c as isize, depth + 1, ctx),
        }
    }

    /// The value of a key or entry whose line ends after its indicator: the node on the
    /// following lines when indented more than `c` (or a sequence at `c` under a key), else null.
    fn below(&mut self, c: usize, depth: usize, key: bool) -> Option<Value> {
        match self.next_content() {
            Next::Content(c2) if c2 > c => self.block_node(c as isize, depth + 1, Ctx::Below),
            Next::Content(c2) if key && c2 == c && self.peek() == b'-' && blankz(self.at(1)) => {
                self.block_seq(c, depth + 1)
            }
            _ => {
                self.charge(0)?;
                Some(Value::Null)
            }
        }
    }

    fn block_seq(&mut self, c: usize, depth: usize) -> Option<Value> {
        if depth >= MAX_DEPTH {
            return None;
        }
        self.charge(0)?;
        let mut items = Vec::new();
        loop {
            let item = self.after_indicator(c, depth, Ctx::SeqItem)?;
            items.push(item);
            match self.next_content() {
                Next::Content(c2) if c2 == c && self.peek() == b'-' && blankz(self.at(1)) => {}
                Next::Content(c2) if c2 > c => return None,
                // Less indented, or a key of the mapping this indentless sequence belongs to
                // (the caller checks it is one).
                _ => break,
            }
        }
        Some(Value::Sequence(items))
    }

    fn flow_seq(&mut self, owner: isize, depth: usize) -> Option<Value> {
        if depth >= MAX_DEPTH {
            return None;
        }
        self.charge(0)?;
        self.pos += 1;
        let mut items = Vec::new();
        loop {
            self.flow_space(owner)?;
            let item = match self.peek() {
                b']' if items.is_empty() => {
                    self.pos += 1;
                    break;
                }
                b'[' => self.flow_seq(owner, depth + 1)?,
                q @ (b'\'' | b'"') => {
                    let s = self.quoted(q == b'\'')?;
                    self.string(s)?
                }
                b'-' if !blankz(self.at(1)) && !b",[]{}".contains(&self.at(1)) => {
                    let (text, crossed) = self.plain(owner, true)?;
                    if crossed {
                        return None;
                    }
                    self.resolve(text)?
                }
                b'-' | b'?' | b':' => return None,
                b => {
                    if b"]{},#&*!|>%@`".contains(&b) {
                        return None;
                    }
                    let (text, crossed) = self.plain(owner, true)?;
                    if crossed {
                        return None;
                    }
                    self.resolve(text)?
                }
            };
            items.push(item);
            self.flow_space(owner)?;
            match self.peek() {
                b',' => {
                    self.pos += 1;
                    self.flow_space(owner)?;
                    // A trailing comma is valid YAML but not in the subset.
                    if self.peek() == b']' {
                        return None;
                    }
                }
                b']' => {
                    self.pos += 1;
                    break;
                }
                _ => return None,
            }
        }
        Some(Value::Sequence(items))
    }

    /// Spaces, line breaks and comments inside a flow sequence. Continuation lines must be
    /// indented more than the block they are in (libyaml is laxer; declining is safe).
    fn flow_space(&mut self, owner: isize) -> Option<()> {
        loop {
            match self.peek() {
                b' ' => self.pos += 1,
                b'\n' => {
                    self.newline();
                    self.skip_spaces();
                    if self.peek() != b'\n' && (self.col() as isize) <= owner || self.at_marker() {
                        return None;
                    }
                }
                b'#' if self.s.get(self.pos.wrapping_sub(1)) == Some(&b' ') || self.at_indent() => {
                    self.skip_comment()
                }
                _ => return Some(()),
            }
        }
    }

    /// A plain scalar (libyaml's `scan_plain_scalar`): its text and whether it went on past its
    /// first line (a key cannot). Ends at `: `, at ` #`, at a line indented no more than `owner`
    /// (block context), at a document marker, or at a flow indicator (flow context). The reader
    /// is left after the blanks and line breaks that followed it.
    fn plain(&mut self, owner: isize, flow: bool) -> Option<(PlainText<'a>, bool)> {
        let first = self.peek();
        if blankz(first)
            || b",[]{}#&*!|>'\"%@`".contains(&first)
            || (matches!(first, b'-' | b'?' | b':') && blankz(self.at(1)))
        {
            return None;
        }
        let indent = owner + 1;
        let start = self.pos;
        let mut end = self.pos;
        let mut owned: Option<String> = None;
        let mut leading_blanks = false;
        let mut whitespaces = 0usize;
        let mut trailing_breaks = 0usize;
        let mut crossed = false;
        loop {
            if self.at_marker() || self.peek() == b'#' {
                break;
            }
            let chunk = self.pos;
            while !blankz(self.peek()) {
                let b = self.peek();
                if flow && b == b':' && b",?[]{}".contains(&self.at(1)) {
                    return None;
                }
                if (b == b':' && blankz(self.at(1))) || (flow && b",[]{}".contains(&b)) {
                    break;
                }
                self.pos += 1;
            }
            if self.pos > chunk {
                if leading_blanks {
                    let s = owned.get_or_insert_with(|| self.text[start..end].to_owned());
                    if trailing_breaks == 0 {
                        s.push(' ');
                    } else {
                        s.extend(std::iter::repeat_n('\n', trailing_breaks));
                    }
                    crossed = true;
                    leading_blanks = false;
                    trailing_breaks = 0;
                    s.push_str(self.text.get(chunk..self.pos)?);
                } else if let Some(s) = owned.as_mut() {
                    s.extend(std::iter::repeat_n(' ', whitespaces));
                    s.push_str(self.text.get(chunk..self.pos)?);
                }
                whitespaces = 0;
                end = self.pos;
            }
            if !matches!(self.peek(), b' ' | b'\n') {
                break;
            }
            self.fold_blanks(&mut leading_blanks, &mut whitespaces, &mut trailing_breaks);
            if !flow && (self.col() as isize) < indent {
                break;
            }
        }
        let text = match owned {
            Some(s) => PlainText::Owned(s),
            None => PlainText::Borrowed(self.text.get(start..end)?),
        };
        Some((text, crossed))
    }

    /// Consumes the blanks and line breaks between two words of a multi-line plain or quoted
    /// scalar, counting them as libyaml's scanners do: spaces before the first break add to
    /// `whitespaces`; the first break clears them and sets `leading_blanks`; each later break
    /// adds to `trailing_breaks`. Returns whether this call saw that first break.
    fn fold_blanks(
        &mut self,
        leading_blanks: &mut bool,
        whitespaces: &mut usize,
        trailing_breaks: &mut usize,
    ) -> bool {
        let mut first_break = false;
        while matches!(self.peek(), b' ' | b'\n') {
            if self.peek() == b' ' {
                if !*leading_blanks {
                    *whitespaces += 1;
                }
                self.pos += 1;
            } else {
                if !*leading_blanks {
                    *whitespaces = 0;
                    *leading_blanks = true;
                    first_break = true;
                } else {
                    *trailing_breaks += 1;
                }
                self.newline();
            }
        }
        first_break
    }

    /// A single- or double-quoted scalar (libyaml's `scan_flow_scalar`), the reader at its
    /// opening quote and left after its closing one.
    fn quoted(&mut self, single: bool) -> Option<String> {
        let quote = if single { b'\'' } else { b'"' };
        self.pos += 1;
        // Fast path: one line, no escapes.
        let rest = &self.s[self.pos..];
        let stop = |b: u8| b == quote || b == b'\n' || (!single && b == b'\\');
        if let Some(i) = rest.iter().position(|&b| stop(b))
            && rest[i] == quote
            && !(single && rest.get(i + 1) == Some(&b'\''))
        {
            let s = self.text.get(self.pos..self.pos + i)?.to_owned();
            self.pos += i + 1;
            return Some(s);
        }
        let mut s = String::new();
        let mut whitespaces = 0usize;
        let mut leading_break = false;
        let mut trailing_breaks = 0usize;
        loop {
            if self.at_marker() || self.peek() == 0 {
                return None;
            }
            let mut leading_blanks = false;
            let mut run = self.pos;
            while !blankz(self.peek()) {
                let b = self.peek();
                if single && b == b'\'' && self.at(1) == b'\'' {
                    s.push_str(self.text.get(run..self.pos)?);
                    s.push('\'');
                    self.pos += 2;
                    run = self.pos;
                } else if b == quote {
                    break;
                } else if !single && b == b'\\' && self.at(1) == b'\n' {
                    s.push_str(self.text.get(run..self.pos)?);
                    self.pos += 1;
                    self.newline();
                    run = self.pos;
                    leading_blanks = true;
                    break;
                } else if !single && b == b'\\' {
                    s.push_str(self.text.get(run..self.pos)?);
                    let len = match self.at(1) {
                        b'0' => {
                            s.push('\0');
                            0
                        }
                        b'a' => {
                            s.push('\x07');
                            0
                        }
                        b'b' => {
                            s.push('\x08');
                            0
                        }
                        b't' => {
                            s.push('\t');
                            0
                        }
                        b'n' => {
                            s.push('\n');
                            0
                        }
                        b'v' => {
                            s.push('\x0b');
                            0
                        }
                        b'f' => {
                            s.push('\x0c');
                            0
                        }
                        b'r' => {
                            s.push('\r');
                            0
                        }
                        b'e' => {
                            s.push('\x1b');
                            0
                        }
                        b' ' => {
                            s.push(' ');
                            0
                        }
                        b'"' => {
                            s.push('"');
                            0
                        }
                        b'/' => {
                            s.push('/');
                            0
                        }
                        b'\\' => {
                            s.push('\\');
                            0
                        }
                        b'N' => {
                            s.push('\u{85}');
                            0
                        }
                        b'_' => {
                            s.push('\u{a0}');
                            0
                        }
                        b'L' => {
                            s.push('\u{2028}');
                            0
                        }
                        b'P' => {
                            s.push('\u{2029}');
                            0
                        }
                        b'x' => 2,
                        b'u' => 4,
                        b'U' => 8,
                        _ => return None,
                    };
                    self.pos += 2;
                    if len > 0 {
                        let hex = self.s.get(self.pos..self.pos + len)?;
                        let mut value = 0u32;
                        for &h in hex {
                            value = (value << 4) | char::from(h).to_digit(16)?;
                        }
                        s.push(char::from_u32(value)?);
                        self.pos += len;
                    }
                    run = self.pos;
                } else {
                    self.pos += 1;
                }
            }
            s.push_str(self.text.get(run..self.pos)?);
            if self.peek() == quote {
                break;
            }
            // Blanks and breaks between the words of a multi-line scalar fold.
            if self.fold_blanks(&mut leading_blanks, &mut whitespaces, &mut trailing_breaks) {
                leading_break = true;
            }
            if leading_blanks {
                if leading_break && trailing_breaks == 0 {
                    s.push(' ');
                }
                s.extend(std::iter::repeat_n('\n', trailing_breaks));
                leading_break = false;
                trailing_breaks = 0;
            } else {
                s.extend(std::iter::repeat_n(' ', whitespaces));
            }
            whitespaces = 0;
        }
        self.pos += 1;
        Some(s)
    }

    /// A `|` or `>` block scalar (libyaml's `scan_block_scalar`); `owner` is libyaml's current
    /// indentation. The reader is left at the indentation of the first line after it.
    fn block_scalar(&mut self, owner: isize, literal: bool) -> Option<String> {
        self.pos += 1;
        let mut chomping = 0i8;
        let mut increment = 0usize;
        let digit = |b: u8| b.is_ascii_digit().then(|| usize::from(b - b'0'));
        match self.peek() {
            b'+' | b'-' => {
                chomping = if self.peek() == b'+' { 1 } else { -1 };
                self.pos += 1;
                if let Some(d) = digit(self.peek()) {
                    if d == 0 {
                        return None;
                    }
                    increment = d;
                    self.pos += 1;
                }
            }
            b => {
                if let Some(d) = digit(b) {
                    if d == 0 {
                        return None;
                    }
                    increment = d;
                    self.pos += 1;
                    if matches!(self.peek(), b'+' | b'-') {
                        chomping = if self.peek() == b'+' { 1 } else { -1 };
                        self.pos += 1;
                    }
                }
            }
        }
        self.skip_spaces();
        if self.peek() == b'#' {
            self.skip_comment();
        }
        match self.peek() {
            b'\n' => self.newline(),
            0 => {}
            _ => return None,
        }
        let mut indent = if increment == 0 {
            0
        } else if owner >= 0 {
            owner as usize + increment
        } else {
            increment
        };
        let mut s = String::new();
        let mut leading_break = false;
        let mut trailing_breaks = 0usize;
        self.block_breaks(owner, &mut indent, &mut trailing_breaks);
        let mut leading_blank = false;
        while self.col() == indent && self.peek() != 0 {
            let trailing_blank = self.peek() == b' ';
            if !literal && leading_break && !leading_blank && !trailing_blank {
                if trailing_breaks == 0 {
                    s.push(' ');
                }
            } else if leading_break {
                s.push('\n');
            }
            leading_break = false;
            s.extend(std::iter::repeat_n('\n', trailing_breaks));
            trailing_breaks = 0;
            leading_blank = self.peek() == b' ';
            let line = self.pos;
            self.skip_comment();
            s.push_str(self.text.get(line..self.pos)?);
            if self.peek() == b'\n' {
                self.newline();
                leading_break = true;
            }
            self.block_breaks(owner, &mut indent, &mut trailing_breaks);
        }
        if chomping != -1 && leading_break {
            s.push('\n');
        }
        if chomping == 1 {
            s.extend(std::iter::repeat_n('\n', trailing_breaks));
        }
        Some(s)
    }

    /// libyaml's `scan_block_scalar_breaks`: skips indentation and empty lines, counting them,
    /// and settles the indentation when it is still unknown.
    fn block_breaks(&mut self, owner: isize, indent: &mut usize, breaks: &mut usize) {
        let mut max_indent = 0usize;
        loop {
            while (*indent == 0 || self.col() < *indent) && self.peek() == b' ' {
                self.pos += 1;
            }
            max_indent = max_indent.max(self.col());
            if self.peek() != b'\n' {
                break;
            }
            *breaks += 1;
            self.newline();
        }
        if *indent == 0 {
            *indent = max_indent.max((owner + 1).max(1) as usize);
        }
    }

    /// Types a plain scalar as `yaml_serde` does (`visit_untagged_scalar`).
    fn resolve(&mut self, text: PlainText<'_>) -> Option<Value> {
        let v = text.as_str();
        let value = match v {
            "" | "~" | "null" | "Null" | "NULL" => Value::Null,
            "true" | "True" | "TRUE" => Value::Bool(true),
            "false" | "False" | "FALSE" => Value::Bool(false),
            _ if !matches!(v.as_bytes()[0], b'0'..=b'9' | b'+' | b'-' | b'.') => {
                return self.string(text.into_string());
            }
            _ => {
                if let Some(n) = parse_unsigned_int(v, u64::from_str_radix) {
                    Value::Number(n.into())
                } else if let Some(n) = parse_negative_int(v, i64::from_str_radix) {
                    Value::Number(n.into())
                } else if parse_unsigned_int(v, u128::from_str_radix).is_some()
                    || parse_negative_int(v, i128::from_str_radix).is_some()
                {
                    // `yaml_serde` hands these to `visit_u128`, which the loader refuses.
                    return None;
                } else if let Some(f) = (!digits_but_not_number(v)).then(|| parse_f64(v)).flatten()
                {
                    Value::Number(f.into())
                } else {
                    return self.string(text.into_string());
                }
            }
        };
        self.charge(0)?;
        Some(value)
    }
}

/// A plain scalar's text: the source slice when it is one line, else the folded copy.
enum PlainText<'a> {
    Borrowed(&'a str),
    Owned(String),
}

impl PlainText<'_> {
    fn as_str(&self) -> &str {
        match self {
            PlainText::Borrowed(s) => s,
            PlainText::Owned(s) => s,
        }
    }

    fn into_string(self) -> String {
        match self {
            PlainText::Borrowed(s) => s.to_owned(),
            PlainText::Owned(s) => s,
        }
    }
}

fn memchr(needle: u8, haystack: &[u8]) -> Option<usize> {
    haystack.iter().position(|&b| b == needle)
}

// The number parsers below are `yaml_serde` 0.10's (`de.rs`, MIT OR Apache-2.0), copied so
// scalars are typed exactly as the fallback path types them.

fn parse_unsigned_int<T>(
    scalar: &str,
    from_str_radix: fn(&str, radix: u32) -> Result<T, std::num::ParseIntError>,
) -> Option<T> {
    let unpositive = scalar.strip_prefix('+').unwrap_or(scalar);
    for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] {
        if let Some(rest) = unpositive.strip_prefix(prefix) {
            if rest.starts_with(['+', '-']) {
                return None;
            }
            if let Ok(int) = from_str_radix(rest, radix) {
                return Some(int);
            }
        }
    }
    if unpositive.starts_with(['+', '-']) {
        return None;
    }
    if digits_but_not_number(scalar) {
        return None;
    }
    from_str_radix(unpositive, 10).ok()
}

fn parse_negative_int<T>(
    scalar: &str,
    from_str_radix: fn(&str, radix: u32) -> Result<T, std::num::ParseIntError>,
) -> Option<T> {
    for (prefix, radix) in [("-0x", 16), ("-0o", 8), ("-0b", 2)] {
        if let Some(rest) = scalar.strip_prefix(prefix) {
            let negative = format!("-{rest}");
            if let Ok(int) = from_str_radix(&negative, radix) {
                return Some(int);
            }
        }
    }
    if digits_but_not_number(scalar) {
        return None;
    }
    from_str_radix(scalar, 10).ok()
}

fn parse_f64(scalar: &str) -> Option<f64> {
    let unpositive = if let Some(unpositive) = scalar.strip_prefix('+') {
        if unpositive.starts_with(['+', '-']) {
            return None;
        }
        unpositive
    } else {
        scalar
    };
    if let ".inf" | ".Inf" | ".INF" = unpositive {
        return Some(f64::INFINITY);
    }
    if let "-.inf" | "-.Inf" | "-.INF" = scalar {
        return Some(f64::NEG_INFINITY);
    }
    if let ".nan" | ".NaN" | ".NAN" = scalar {
        return Some(f64::NAN.copysign(1.0));
    }
    if let Ok(float) = unpositive.parse::<f64>()
        && float.is_finite()
    {
        return Some(float);
    }
    None
}

fn digits_but_not_number(scalar: &str) -> bool {
    // Leading zeros followed by digits make a string in YAML 1.2.
    let scalar = scalar.strip_prefix(['-', '+']).unwrap_or(scalar);
    scalar.len() > 1 && scalar.starts_with('0') && scalar[1..].bytes().all(|b| b.is_ascii_digit())
}
