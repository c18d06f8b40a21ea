//! Evaluating compiled programs against one event.
//!
//! Per event, each field id a rule asks for is resolved once (one hash probe, or a walk through
//! a list of objects), its values flattened into elements, and each element's text and folded
//! text computed at most once, on first use. All of it lives in buffers that are reused from
//! event to event, so the common case allocates nothing.

use std::net::IpAddr;

use chrono::{DateTime, Datelike, NaiveDateTime, Timelike, Utc};

use super::compile::{
    Cidr, Expr, FieldTable, Item, Matcher, Mode, Num, RefMode, Target, Test, TimePart, ValueSet,
};
use super::string::{fold_into, folds_beyond_ascii, needs_folding};
use crate::event::{Event, FieldHint, Value};

/// Most bytes a per-thread matching buffer (the folding arena here, the joined keyword strings
/// of [`MatchScratch`](super::MatchScratch)) keeps between events: one huge event does not
/// leave its buffers grown for the thread's life.
pub(crate) const SCRATCH_KEEP: usize = 1 << 20;

/// The special field name that reads [`Event::timestamp`] when the event has no such field.
pub const TIMESTAMP_FIELD: &str = "@timestamp";

#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    generation: u32,
    start: u32,
    end: u32,
    present: bool,
    null: bool,
    /// Where the field was in the last event that had it: kept across events (the generation
    /// does not reset it), since events of one source list their fields in the same order.
    hint: FieldHint,
}

#[derive(Debug, Clone, Copy)]
enum Text<'e> {
    Unset,
    None,
    Borrowed(&'e str),
    /// Byte range in the arena (`usize`: an event's texts may exceed 4 GiB in principle).
    Arena(usize, usize),
}

#[derive(Debug, Clone, Copy)]
enum ElemValue<'e> {
    Value(&'e Value),
    Timestamp(DateTime<Utc>),
}

#[derive(Debug, Clone, Copy)]
struct Elem<'e> {
    value: ElemValue<'e>,
    text: Text<'e>,
    folded: Text<'e>,
}

/// Reusable per-thread evaluation buffers. Owned, so it outlives any one event; see the module
/// docs for what it caches.
#[derive(Debug, Default)]
pub(crate) struct EvalBuffers {
    generation: u32,
    slots: Vec<Slot>,
    elems: Vec<Elem<'static>>,
    arena: String,
}

/// Turns an empty vector of one lifetime into an empty vector of another, keeping its
/// allocation (an in-place `collect`, which the standard library performs for equal layouts).
fn recycle<'a, 'b>(mut v: Vec<Elem<'a>>) -> Vec<Elem<'b>> {
    v.clear();
    v.into_iter()
        .map(|_| unreachable!("the vector is empty"))
        .collect()
}

/// The evaluation of one event.
pub(crate) struct Eval<'e, 'b> {
    event: &'e Event,
    fields: &'b FieldTable,
    generation: u32,
    slots: &'b mut Vec<Slot>,
    elems: Vec<Elem<'e>>,
    arena: &'b mut String,
    keywords: Option<(u32, u32)>,
    /// Whether the event has a list holding objects (only then can a dotted name reach into one).
    lists: Option<bool>,
    buffers_elems: &'b mut Vec<Elem<'static>>,
}

impl<'e, 'b> Eval<'e, 'b> {
    pub fn new(event: &'e Event, fields: &'b FieldTable, buffers: &'b mut EvalBuffers) -> Self {
        buffers.generation = buffers.generation.wrapping_add(1);
        if buffers.generation == 0 {
            // Wrapped around: old generations could collide, so forget them.
            buffers.slots.iter_mut().for_each(|s| s.generation = 0);
            buffers.generation = 1;
        }
        if buffers.slots.len() < fields.names.len() {
            buffers.slots.resize(fields.names.len(), Slot::default());
        }
        buffers.arena.clear();
        if buffers.arena.capacity() > SCRATCH_KEEP {
            buffers.arena = String::new();
        }
        let elems = recycle(std::mem::take(&mut buffers.elems));
        Eval {
            event,
            fields,
            generation: buffers.generation,
            slots: &mut buffers.slots,
            elems,
            arena: &mut buffers.arena,
            keywords: None,
            lists: None,
            buffers_elems: &mut buffers.elems,
        }
    }

    /// Resolves a field (once per event): its elements' range and whether it is present/null.
    ///
    /// Inlined for the common case, a field already resolved for this event (about three of
    /// every four calls on Windows events); the lookup itself stays out of line.
    #[inline]
    fn resolve(&mut self, id: u32) -> Slot {
        let slot = self.slots[id as usize];
        if slot.generation == self.generation {
            return slot;
        }
        self.resolve_afresh(id, slot)
    }

    #[inline(never)]
    fn resolve_afresh(&mut self, id: u32, slot: Slot) -> Slot {
        let start = self.elems.len() as u32;
        let name = self.fields.names[id as usize].as_str();
        let mut hint = slot.hint;
        let hash = self.fields.hashes[id as usize];
        let (present, null) = match self.event.get_hinted_hashed(name, hash, &mut hint) {
            Some(value) => {
                push_flat(&mut self.elems, value);
                (true, value.is_null())
            }
            None => self.resolve_missing(name),
        };
        let slot = Slot {
            generation: self.generation,
            start,
            end: self.elems.len() as u32,
            present,
            null,
            hint,
        };
        self.slots[id as usize] = slot;
        slot
    }

    /// A field the event does not hold by its name: through lists of objects
    /// (`threat.enrichments.indicator.ip`), or the event's timestamp for [`TIMESTAMP_FIELD`].
    /// Pushes the elements found; returns whether the field is present and whether it is null.
    #[inline]
    fn resolve_missing(&mut self, name: &str) -> (bool, bool) {
        // Most misses, answered inline: no list of objects to look through (known after the
        // event's first miss), and not the timestamp's name.
        if self.lists == Some(false) && name.len() != TIMESTAMP_FIELD.len() {
            return (false, false);
        }
        self.resolve_missing_slowly(name)
    }

    /// [`resolve_missing`](Self::resolve_missing) past its inline answer. Out of line, so the
    /// common path of `resolve_afresh` keeps a small frame.
    #[inline(never)]
    fn resolve_missing_slowly(&mut self, name: &str) -> (bool, bool) {
        let mut present = false;
        let mut null = false;
        let event = self.event;
        // Only a list holding objects can lead to a field (`threat.enrichments` ->
        // `threat.enrichments.indicator.ip`); lists of strings (`event.category`) are in nearly
        // every event and lead nowhere, so they do not make every missing field's name be
        // searched for dots.
        let lists = *self.lists.get_or_insert_with(|| {
            event.fields().any(|(_, v)| {
                matches!(v, Value::List(items)
                    if items.iter().any(|i| matches!(i, Value::Object(_))))
            })
        });
        if lists {
            for (split, _) in name.match_indices('.') {
                if let Some(Value::List(items)) = event.get(&name[..split]) {
                    for item in items.iter() {
                        if let Value::Object(map) = item
                            && let Some(value) = map.get(&name[split + 1..])
                        {
                            present = true;
                            null |= value.is_null();
                            push_flat(&mut self.elems, value);
                        }
                    }
                }
            }
        }
        if !present
            && name == TIMESTAMP_FIELD
            && let Some(ts) = event.timestamp
        {
            present = true;
            self.elems.push(Elem {
                value: ElemValue::Timestamp(ts),
                text: Text::Unset,
                folded: Text::Unset,
            });
        }
        (present, null)
    }

    /// Every string value of the event (keyword search), resolved once per event.
    fn keywords(&mut self) -> (u32, u32) {
        if let Some(range) = self.keywords {
            return range;
        }
        let start = self.elems.len() as u32;
        let elems = &mut self.elems;
        each_keyword_string(self.event, &mut |value, s| {
            elems.push(Elem {
                value: ElemValue::Value(value),
                text: Text::Borrowed(s),
                folded: Text::Unset,
            })
        });
        let range = (start, self.elems.len() as u32);
        self.keywords = Some(range);
        range
    }

    fn ensure_text(&mut self, i: usize) {
        if !matches!(self.elems[i].text, Text::Unset) {
            return;
        }
        let text = match self.elems[i].value {
            ElemValue::Value(Value::Str(s)) => Text::Borrowed(s.as_str()),
            ElemValue::Value(Value::Null | Value::Object(_) | Value::List(_)) => Text::None,
            ElemValue::Value(Value::Bool(b)) => Text::Borrowed(if *b { "true" } else { "false" }),
            // An integer (a Windows event's `EventID`) written into the arena directly: through
            // `to_text` it was a `String` allocated and freed per element.
            ElemValue::Value(Value::Int(n)) => {
                let start = self.arena.len();
                push_decimal(self.arena, *n);
                Text::Arena(start, self.arena.len())
            }
            ElemValue::Value(other) => {
                let start = self.arena.len();
                self.arena.push_str(&other.to_text());
                Text::Arena(start, self.arena.len())
            }
            ElemValue::Timestamp(ts) => {
                let start = self.arena.len();
                self.arena.push_str(&crate::event::format_timestamp(ts));
                Text::Arena(start, self.arena.len())
            }
        };
        self.elems[i].text = text;
    }

    fn ensure_folded(&mut self, i: usize) {
        if !matches!(self.elems[i].folded, Text::Unset) {
            return;
        }
        self.ensure_text(i);
        let folded = match self.elems[i].text {
            Text::None | Text::Unset => Text::None,
            Text::Borrowed(s) if !needs_folding(s) => Text::Borrowed(s),
            Text::Borrowed(s) => {
                let start = self.arena.len();
                fold_into(s, self.arena);
                Text::Arena(start, self.arena.len())
            }
            Text::Arena(a, b) => {
                let source = self.arena.get(a..b).unwrap_or_default();
                if needs_folding(source) {
                    let owned = source.to_string();
                    let start = self.arena.len();
                    fold_into(&owned, self.arena);
                    Text::Arena(start, self.arena.len())
                } else {
                    Text::Arena(a, b)
                }
            }
        };
        self.elems[i].folded = folded;
    }

    fn get(&self, text: Text<'e>) -> Option<&str> {
        match text {
            Text::Borrowed(s) => Some(s),
            Text::Arena(a, b) => self.arena.get(a..b),
            Text::None | Text::Unset => None,
        }
    }

    fn text(&mut self, i: usize, cased: bool) -> Option<&str> {
        if cased {
            self.ensure_text(i);
            self.get(self.elems[i].text)
        } else {
            self.ensure_folded(i);
            self.get(self.elems[i].folded)
        }
    }

    /// Evaluates a compiled expression.
    pub fn expr(&mut self, expr: &Expr, items: &[Item]) -> bool {
        match expr {
            Expr::And(parts) => parts.iter().all(|p| self.expr(p, items)),
            Expr::Or(parts) => parts.iter().any(|p| self.expr(p, items)),
            Expr::Not(inner) => !self.expr(inner, items),
            Expr::Item(i) => self.item(&items[*i as usize]),
            Expr::Const(b) => *b,
        }
    }

    fn item(&mut self, item: &Item) -> bool {
        match &item.target {
            Target::Fields(ids) => ids.iter().any(|&id| {
                let slot = self.resolve(id);
                match &item.test {
                    Test::Exists(want) => slot.present == *want,
                    Test::Null => !slot.present || slot.null,
                    Test::Match { mode, values, set } => {
                        self.range(slot.start, slot.end, *mode, values, set.as_deref())
                    }
                }
            }),
            Target::Keywords => {
                let (start, end) = self.keywords();
                match &item.test {
                    Test::Match { mode, values, set } => {
                        self.range(start, end, *mode, values, set.as_deref())
                    }
                    // The compiler gives keyword items only value tests.
                    Test::Exists(_) | Test::Null => false,
                }
            }
        }
    }

    fn range(
        &mut self,
        start: u32,
        end: u32,
        mode: Mode,
        values: &[Box<[Matcher]>],
        set: Option<&ValueSet>,
    ) -> bool {
        let (start, end) = (start as usize, end as usize);
        if let Some(set) = set
            && let Some(matcher) = set.matcher()
        {
            // `Mode::Any`: the set's values first, all at once per element, then the others.
            if (start..end).any(|e| {
                self.text(e, false)
                    .is_some_and(|t| matcher.is_match(t.as_bytes()))
            }) {
                return true;
            }
            return values
                .iter()
                .zip(set.covered.iter())
                .filter(|(_, covered)| !**covered)
                .any(|(alts, _)| (start..end).any(|e| self.alternatives(e, alts)));
        }
        match mode {
            // Element by element, so that an element's address is read once for all of a
            // `cidr` list's networks (an Office rule lists a hundred), not once per network.
            Mode::Any => (start..end).any(|e| {
                let mut ip = None;
                values.iter().any(|alts| {
                    alts.iter().any(|m| match m {
                        Matcher::Cidr(cidr) => ip
                            .get_or_insert_with(|| address(&self.elems[e]))
                            .is_some_and(|ip| cidr_contains(cidr, ip)),
                        other => self.matcher(e, other),
                    })
                })
            }),
            Mode::All => values
                .iter()
                .all(|alts| (start..end).any(|e| self.alternatives(e, alts))),
            Mode::None => {
                start < end
                    && (start..end).any(|e| values.iter().all(|alts| !self.alternatives(e, alts)))
            }
        }
    }

    fn alternatives(&mut self, e: usize, alts: &[Matcher]) -> bool {
        alts.iter().any(|m| self.matcher(e, m))
    }

    fn matcher(&mut self, e: usize, matcher: &Matcher) -> bool {
        match matcher {
            Matcher::Text { cased, pattern } => self
                .text(e, *cased)
                .is_some_and(|t| pattern.is_match(t.as_bytes())),
            Matcher::Regex(regex) => self.text(e, true).is_some_and(|t| regex.is_match(t)),
            Matcher::NumEq(n) => number(&self.elems[e], false)
                .is_some_and(|v| v.cmp(*n) == Some(std::cmp::Ordering::Equal)),
            Matcher::BoolEq(b) => {
                matches!(self.elems[e].value, ElemValue::Value(Value::Bool(v)) if v == b)
            }
            Matcher::Cmp(op, n) => number(&self.elems[e], true)
                .and_then(|v| v.cmp(*n))
                .is_some_and(|o| op.holds(o)),
            Matcher::Cidr(cidr) => {
                address(&self.elems[e]).is_some_and(|ip| cidr_contains(cidr, ip))
            }
            Matcher::Time(part, op, n) => {
                time(&self.elems[e]).is_some_and(|t| op.holds(time_part(&t, *part).cmp(n)))
            }
            Matcher::FieldRef { field, mode, cased } => {
                let slot = self.resolve(*field);
                for r in slot.start as usize..slot.end as usize {
                    self.ensure_cased_or_folded(r, *cased);
                }
                self.ensure_cased_or_folded(e, *cased);
                let Some(a) = self.get(self.pick(e, *cased)) else {
                    return false;
                };
                (slot.start as usize..slot.end as usize).any(|r| {
                    self.get(self.pick(r, *cased)).is_some_and(|b| match mode {
                        RefMode::Equal => a == b,
                        RefMode::Contains => a.contains(b),
                        RefMode::StartsWith => a.starts_with(b),
                        RefMode::EndsWith => a.ends_with(b),
                    })
                })
            }
        }
    }

    fn ensure_cased_or_folded(&mut self, i: usize, cased: bool) {
        if cased {
            self.ensure_text(i)
        } else {
            self.ensure_folded(i)
        }
    }

    fn pick(&self, i: usize, cased: bool) -> Text<'e> {
        if cased {
            self.elems[i].text
        } else {
            self.elems[i].folded
        }
    }

    /// Element texts of a field, folded: what the prefilter scans. With each text, when
    /// `integers` is set, for a float element holding an integer exactly, that integer (numeric
    /// equality's exact needle).
    ///
    /// With `raw`, an element whose text is ASCII is handed over as it is, not folded: for ASCII
    /// text folding only lowercases, which a caller matching ASCII letters of either case does
    /// not need (the prefilter's case-insensitive DFAs). Other texts are folded as usual. (The
    /// prefilter's unfolded scans use [`raw_texts`](Self::raw_texts).)
    pub fn folded_texts(
        &mut self,
        id: u32,
        raw: bool,
        integers: bool,
        out: &mut dyn FnMut(&str, Option<i64>),
    ) {
        let slot = self.resolve(id);
        self.folded_range(slot.start as usize, slot.end as usize, raw, integers, out);
    }

    /// Folded texts of every string value (keyword search); `raw` and `integers` as in
    /// [`folded_texts`](Self::folded_texts). (The prefilter's unfolded keyword scans use
    /// [`raw_keywords`](Self::raw_keywords).)
    pub fn folded_keywords(
        &mut self,
        raw: bool,
        integers: bool,
        out: &mut dyn FnMut(&str, Option<i64>),
    ) {
        let (start, end) = self.keywords();
        self.folded_range(start as usize, end as usize, raw, integers, out);
    }

    /// Whether the event holds field `id` with at least one element (resolving it, once per
    /// event, as every other read does).
    #[inline]
    pub fn has_elements(&mut self, id: u32) -> bool {
        let slot = self.resolve(id);
        slot.end > slot.start
    }

    /// A field's element texts for a caller that takes ASCII texts unfolded (`raw` of
    /// [`folded_texts`](Self::folded_texts), without the integers): an ASCII text as it is,
    /// any other folded. Generic over `out`, for the prefilter's substring-only fields.
    pub fn raw_texts(&mut self, id: u32, mut out: impl FnMut(&str)) {
        let slot = self.resolve(id);
        for e in slot.start as usize..slot.end as usize {
            self.ensure_text(e);
            if let Some(text) = self.get(self.elems[e].text)
                && text.is_ascii()
            {
                out(text);
                continue;
            }
            self.ensure_folded(e);
            if let Some(t) = self.get(self.elems[e].folded) {
                out(t);
            }
        }
    }

    /// Keyword search's strings for a caller that takes ASCII texts unfolded (`raw` of
    /// [`folded_keywords`](Self::folded_keywords)), read straight from the event: the strings
    /// [`keywords`](Self::keywords) lists, without listing them as elements (only the
    /// evaluation of keyword rules needs those, and few events reach it). An ASCII string is
    /// handed over as it is, any other folded into the arena first.
    pub fn raw_keywords(&mut self, mut out: impl FnMut(&str)) {
        if let Some((start, end)) = self.keywords {
            self.folded_range(start as usize, end as usize, true, false, &mut |t, _| {
                out(t)
            });
            return;
        }
        let arena = &mut *self.arena;
        each_keyword_string(self.event, &mut |_, s| {
            if s.is_ascii() {
                out(s);
            } else {
                let start = arena.len();
                fold_into(s, arena);
                out(arena.get(start..).unwrap_or_default());
            }
        });
    }

    /// [`raw_keywords`](Self::raw_keywords)' strings of `min_len` bytes or more, each followed
    /// by `separator`, in `out` (cleared first), for an ASCII case-insensitive automaton. The
    /// strings are appended as they are and checked at once, instead of one `is_ascii` per
    /// string (a Windows event holds 25): all ASCII, or their other characters unchanged by
    /// folding (`Microsoft® Windows®`, in every process creation), they need no folding. Only
    /// an event with a string folding would change is joined again, folding it.
    pub fn join_keywords(&mut self, min_len: usize, separator: u8, out: &mut Vec<u8>) {
        out.clear();
        if self.keywords.is_none() && separator.is_ascii() {
            // Folding can lengthen a string (`İ` is two characters folded): a string too short
            // as it is may not be once folded.
            let mut short_non_ascii = false;
            each_keyword_string(self.event, &mut |_, s| {
                if s.len() >= min_len {
                    out.extend_from_slice(s.as_bytes());
                    out.push(separator);
                } else {
                    short_non_ascii |= !s.is_ascii();
                }
            });
            if !short_non_ascii
                && (out.is_ascii() || {
                    debug_assert!(std::str::from_utf8(out).is_ok());
                    // SAFETY: `out` is whole `&str`s, each followed by the separator, which is
                    // ASCII (tested above): UTF-8. (Validating it again cost ~120 instructions
                    // per generated Sysmon event: a process creation's `Product` holds a `®`.)
                    !folds_beyond_ascii(unsafe { std::str::from_utf8_unchecked(out) })
                })
            {
                return;
            }
            out.clear();
        }
        self.raw_keywords(|text| {
            if text.len() >= min_len {
                out.extend_from_slice(text.as_bytes());
                out.push(separator);
            }
        });
    }

    /// The texts of elements `start..end`, folded; with `raw`, an element whose text is ASCII
    /// as it is (for ASCII text folding only lowercases, which the prefilter's
    /// case-insensitive DFAs do not need). With `integers`, a float element's integer form.
    fn folded_range(
        &mut self,
        start: usize,
        end: usize,
        raw: bool,
        integers: bool,
        out: &mut dyn FnMut(&str, Option<i64>),
    ) {
        for e in start..end {
            let integer = match self.elems[e].value {
                ElemValue::Value(Value::Float(f))
                    if integers && f.fract() == 0.0 && f.abs() < (1u64 << 53) as f64 =>
                {
                    Some(*f as i64)
                }
                _ => None,
            };
            if raw {
                // Keyword elements and strings already read have their text set.
                let text = match self.elems[e].text {
                    Text::Borrowed(s) => Some(s),
                    _ => {
                        self.ensure_text(e);
                        self.get(self.elems[e].text)
                    }
                };
                if let Some(text) = text
                    && text.is_ascii()
                {
                    out(text, integer);
                    continue;
                }
            }
            self.ensure_folded(e);
            if let Some(t) = self.get(self.elems[e].folded) {
                out(t, integer);
            }
        }
    }

    /// Hands the buffers back for the next event.
    pub fn finish(self) {
        *self.buffers_elems = recycle(self.elems);
    }
}

/// Calls `f` with every string value of `event` keyword search reads, and its text: strings
/// inside lists and objects too, and `event.original` only when the event holds no other
/// string. `event.original` repeats what the parser extracted (with JSON escaping on top for
/// JSON events), and ECS declares it not indexed, so a full-text search in Elasticsearch does
/// not see it either.
fn each_keyword_string<'e>(event: &'e Event, f: &mut impl FnMut(&'e Value, &'e str)) {
    /// Whether it saw a string.
    fn walk<'e>(value: &'e Value, f: &mut impl FnMut(&'e Value, &'e str)) -> bool {
        match value {
            Value::Str(s) => {
                f(value, s);
                true
            }
            Value::List(items) => items.iter().fold(false, |any, v| walk(v, f) | any),
            Value::Object(map) => map.values().fold(false, |any, v| walk(v, f) | any),
            _ => false,
        }
    }
    let mut original = None;
    let mut any = false;
    for (name, value) in event.fields() {
        // A top-level string, most of an event's values, without a call to `walk`.
        match value {
            _ if name == crate::event::ORIGINAL => original = Some(value),
            Value::Str(s) => {
                f(value, s);
                any = true;
            }
            Value::List(_) | Value::Object(_) => any |= walk(value, f),
            _ => {}
        }
    }
    if let Some(value) = original
        && !any
    {
        walk(value, f);
    }
}

/// Appends `n` in decimal, as `n.to_string()` writes it.
fn push_decimal(out: &mut String, n: i64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = n.unsigned_abs();
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    if n < 0 {
        out.push('-');
    }
    // The digits are ASCII.
    out.push_str(std::str::from_utf8(&digits[at..]).unwrap_or_default());
}

fn push_flat<'e>(out: &mut Vec<Elem<'e>>, value: &'e Value) {
    match value {
        Value::List(items) => items.iter().for_each(|v| push_flat(out, v)),
        other => out.push(Elem {
            value: ElemValue::Value(other),
            text: Text::Unset,
            folded: Text::Unset,
        }),
    }
}

fn number(elem: &Elem<'_>, parse_text: bool) -> Option<Num> {
    match elem.value {
        ElemValue::Value(Value::Int(i)) => Some(Num::Int(*i)),
        ElemValue::Value(Value::Float(f)) => Some(Num::Float(*f)),
        ElemValue::Value(Value::Str(s)) if parse_text => Num::parse(s),
        _ => None,
    }
}

fn address(elem: &Elem<'_>) -> Option<IpAddr> {
    match elem.value {
        ElemValue::Value(Value::Ip(ip)) => Some(*ip),
        ElemValue::Value(Value::Str(s)) => crate::parse::parse_ip(s.trim()).ok(),
        _ => None,
    }
}

fn cidr_contains(cidr: &Cidr, ip: IpAddr) -> bool {
    cidr.contains(ip)
}

/// Reads a timestamp from text as written (no time zone conversion, as the modifiers appendix
/// says): RFC 3339, or `YYYY-MM-DD[ T]HH:MM:SS[.fff]`.
pub(crate) fn parse_time(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.naive_local())
        .ok()
        .or_else(|| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").ok())
        .or_else(|| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").ok())
}

fn time(elem: &Elem<'_>) -> Option<NaiveDateTime> {
    match elem.value {
        ElemValue::Timestamp(ts) => Some(ts.naive_utc()),
        ElemValue::Value(Value::Str(s)) => parse_time(s),
        _ => None,
    }
}

pub(crate) fn time_part(t: &NaiveDateTime, part: TimePart) -> i64 {
    i64::from(match part {
        TimePart::Minute => t.minute(),
        TimePart::Hour => t.hour(),
        TimePart::Day => t.day(),
        TimePart::Week => t.iso_week().week(),
        TimePart::Month => t.month(),
        TimePart::Year => return i64::from(t.year()),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn decimals_are_written_as_to_string_writes_them() {
        for n in [
            0,
            7,
            -7,
            10,
            4624,
            -100,
            1 << 40,
            i64::MAX,
            i64::MIN,
            i64::MIN + 1,
        ] {
            let mut out = String::from("x");
            super::push_decimal(&mut out, n);
            assert_eq!(out, format!("x{n}"));
        }
    }
}
