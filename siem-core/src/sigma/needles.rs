//! Multi-needle automata of a concrete type.
//!
//! `aho_corasick::AhoCorasick` holds its automaton behind a trait object, so every byte of a
//! search goes through a virtual call for its transition (about 22 instructions per byte in
//! the matcher's profile). Keeping the DFA itself lets the search loops be compiled for it: the
//! same automata, the same matches, a third of the instructions. Sets too large for a DFA are
//! found by hashing 4-byte windows ([`Hashed`]), not by an NFA walk that misses cache on
//! nearly every byte.

use aho_corasick::automaton::{Automaton, OverlappingState};
use aho_corasick::{Anchored, Input, MatchKind, dfa, nfa};

/// A multi-needle matcher (every occurrence of every needle, as Aho-Corasick's standard
/// semantics report them) over byte needles: a DFA (fastest; its tables grow with states times
/// byte classes), or for larger sets a [`Hashed`] set (memory near the needles' own size).
/// Cost: what [`NeedleAutomaton::memory_usage`] reports.
#[derive(Debug, Clone)]
pub(crate) enum NeedleAutomaton {
    /// A DFA without a prefilter, copied into [`Dense`]'s layout.
    Dense(Dense),
    /// A DFA with a prefilter (which skips ahead with SIMD on long texts).
    Dfa(dfa::DFA),
    /// Sets too large for a DFA: every 4-byte window of the text tested against a bit set.
    Hashed(Hashed),
    /// What a [`Hashed`] set's needles shorter than a window are found with, when they are too
    /// many for a DFA.
    Nfa(nfa::contiguous::NFA),
}

/// Bytes per window of a [`Hashed`] set.
const WINDOW: usize = 4;

/// Multiplier of the windows' hash (Knuth's, odd: a bijection on `u32`).
const WINDOW_HASH: u32 = 0x9E37_79B1;

/// A needle set too large for a DFA, found by hashing: each needle of [`WINDOW`] bytes or more
/// contributes one fingerprint, its rarest window of 4 bytes at offset `j`; every window of the
/// text is hashed into a bit set of the fingerprints' hashes (a few KB: in L1 cache), and only a
/// window whose bit is set is looked up among the fingerprints, its needles compared in place.
///
/// Why not the contiguous NFA it replaces: with thousands of needles (the process creation
/// `CommandLine` literals of SigmaHQ: 5,546) the NFA's states spread over megabytes, and every
/// byte of text moved to a state that was not in cache: 240 CPU cycles per byte of command line
/// measured (`rdtsc` around each target's scan), where this costs about 7 instructions per byte
/// and a lookup per candidate window (a set bit: under 1/16 of the windows a text of random
/// bytes would hold, plus the fingerprints it really holds).
///
/// Exact: an occurrence of a needle at `q` has its fingerprint window at `q + j`, which hashes
/// to a set bit and is found among the fingerprints, and the needle is then compared whole.
/// Needles shorter than a window are found by a small automaton of their own. Each occurrence is
/// reported once, as the other automata do.
#[derive(Clone)]
pub(crate) struct Hashed {
    /// `32 - log2(bits in the set)`: a window's bit is `hash >> shift`.
    shift: u32,
    bits: Box<[u64]>,
    /// Fingerprint window -> its range in `entries`.
    windows: hashbrown::HashMap<u32, (u32, u32), foldhash::fast::FixedState>,
    /// The needles whose fingerprint a window is, by window.
    entries: Box<[Entry]>,
    needles: Box<[Box<[u8]>]>,
    /// The needles shorter than a window, and their ids in the whole set.
    short: Option<(Box<NeedleAutomaton>, Box<[u32]>)>,
}

/// A needle of a [`Hashed`] set under one of its fingerprint windows.
#[derive(Clone, Copy)]
struct Entry {
    needle: u32,
    /// Where the fingerprint window is in the needle.
    j: u32,
    /// The needle's first 8 bytes (little-endian, zero-padded), compared in a register.
    head: u64,
    /// `head`'s bytes that belong to the needle.
    mask: u64,
}

impl std::fmt::Debug for Hashed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hashed")
            .field("patterns", &self.needles.len())
            .field("bits", &(self.bits.len() * 64))
            .field("windows", &self.windows.len())
            .field("short", &self.short.as_ref().map(|(_, ids)| ids.len()))
            .finish()
    }
}

impl Hashed {
    /// The set over `needles` (case-sensitive). `None` when the short needles' automaton
    /// cannot be built.
    fn new<P: AsRef<[u8]>>(needles: &[P]) -> Option<Hashed> {
        let mut short_needles: Vec<&[u8]> = Vec::new();
        let mut short_ids = Vec::new();
        let mut fingerprints: Vec<(u32, u32, u32)> = Vec::with_capacity(needles.len());
        for (id, needle) in needles.iter().enumerate() {
            let n = needle.as_ref();
            if n.len() < WINDOW {
                short_needles.push(n);
                short_ids.push(id as u32);
                continue;
            }
            // The rarest window: fewer texts hold it.
            let j = rarest_window(n, WINDOW).unwrap_or(0);
            let window = u32::from_le_bytes([n[j], n[j + 1], n[j + 2], n[j + 3]]);
            fingerprints.push((window, id as u32, j as u32));
        }
        fingerprints.sort_unstable();
        // About 16 bits per distinct fingerprint (at most 1/16 of the bits set), 4 KB to 32 KB.
        let distinct = fingerprints.len().max(1);
        let log2 = (distinct * 16)
            .next_power_of_two()
            .trailing_zeros()
            .clamp(15, 18);
        let mut bits = vec![0u64; (1usize << log2) / 64].into_boxed_slice();
        let shift = 32 - log2;
        let mut windows = hashbrown::HashMap::with_hasher(foldhash::fast::FixedState::default());
        let mut start = 0;
        while start < fingerprints.len() {
            let window = fingerprints[start].0;
            let end = start
                + fingerprints[start..]
                    .iter()
                    .take_while(|f| f.0 == window)
                    .count();
            let h = (window.wrapping_mul(WINDOW_HASH) >> shift) as usize;
            bits[h / 64] |= 1 << (h % 64);
            windows.insert(window, (start as u32, end as u32));
            start = end;
        }
        let short = if short_needles.is_empty() {
            None
        } else {
            // Few and short (each under 4 bytes): a small DFA, or an NFA should they be many.
            let bytes: usize = short_needles.iter().map(|n| n.len()).sum();
            let automaton = if bytes * 256 <= crate::sigma::prefilter::DFA_MAX_BYTES {
                NeedleAutomaton::build(&short_needles, true, false)?
            } else {
                nfa::contiguous::NFA::builder()
                    .match_kind(MatchKind::Standard)
                    .build(&short_needles)
                    .ok()
                    .map(NeedleAutomaton::Nfa)?
            };
            Some((Box::new(automaton), short_ids.into_boxed_slice()))
        };
        let entries = fingerprints
            .iter()
            .map(|&(_, id, j)| {
                let n = needles[id as usize].as_ref();
                let mut head = [0u8; 8];
                let k = n.len().min(8);
                head[..k].copy_from_slice(&n[..k]);
                Entry {
                    needle: id,
                    j,
                    head: u64::from_le_bytes(head),
                    mask: if k == 8 {
                        u64::MAX
                    } else {
                        (1u64 << (8 * k)) - 1
                    },
                }
            })
            .collect();
        Some(Hashed {
            shift,
            bits,
            windows,
            entries,
            needles: needles.iter().map(|n| Box::from(n.as_ref())).collect(),
            short,
        })
    }

    /// Calls `found` with every needle occurrence in `haystack` (each once); stops early when
    /// `found` returns `true`. Returns whether it stopped early.
    #[inline]
    fn find(&self, haystack: &[u8], mut found: impl FnMut(usize) -> bool) -> bool {
        if let Some((automaton, ids)) = &self.short {
            let mut stopped = false;
            // A trait object: `for_each_overlapping` is generic over its callback and calls
            // this function, so a closure type here would instantiate them without end.
            let each: &mut dyn FnMut(usize) = &mut |p| {
                stopped = stopped || found(ids[p] as usize);
            };
            automaton.for_each_overlapping(haystack, each);
            if stopped {
                return true;
            }
        }
        if haystack.len() < WINDOW {
            return false;
        }
        // Four windows from each 8-byte load (positions i..i+4), then the last few one by one.
        let mut i = 0;
        while let Some(chunk) = haystack.get(i..i + 8) {
            let eight = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
            for k in 0..4 {
                let window = (eight >> (8 * k)) as u32;
                if self.maybe(window) && self.candidate(haystack, i + k, window, &mut found) {
                    return true;
                }
            }
            i += 4;
        }
        while let Some(w) = haystack.get(i..i + WINDOW) {
            let window = u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
            if self.maybe(window) && self.candidate(haystack, i, window, &mut found) {
                return true;
            }
            i += 1;
        }
        false
    }

    /// Whether some needle's fingerprint hashes like `window` (a bit set probe).
    #[inline(always)]
    fn maybe(&self, window: u32) -> bool {
        let h = (window.wrapping_mul(WINDOW_HASH) >> self.shift) as usize;
        debug_assert!(h / 64 < self.bits.len());
        // SAFETY: `h < 1 << (32 - shift)`, the set's size in bits (`new`), so `h / 64` is
        // below `bits.len()`.
        let word = unsafe { *self.bits.get_unchecked(h / 64) };
        word & (1 << (h % 64)) != 0
    }

    /// The needles whose fingerprint is `window`, found at `i`, compared whole.
    #[inline(never)]
    fn candidate(
        &self,
        haystack: &[u8],
        i: usize,
        window: u32,
        found: &mut impl FnMut(usize) -> bool,
    ) -> bool {
        let Some(&(start, end)) = self.windows.get(&window) else {
            return false;
        };
        for entry in &self.entries[start as usize..end as usize] {
            let Some(at) = i.checked_sub(entry.j as usize) else {
                continue;
            };
            // The first 8 bytes in a register (the prefilter's needles have at most 8), the
            // rest, if any, compared after.
            let hit = match haystack.get(at..at + 8) {
                Some(head) => {
                    let head = u64::from_le_bytes(head.try_into().unwrap_or_default());
                    head & entry.mask == entry.head && {
                        let needle = &self.needles[entry.needle as usize];
                        needle.len() <= 8 || haystack.get(at..at + needle.len()) == Some(needle)
                    }
                }
                None => {
                    let needle = &self.needles[entry.needle as usize];
                    haystack.get(at..at + needle.len()) == Some(&needle[..])
                }
            };
            if hit && found(entry.needle as usize) {
                return true;
            }
        }
        false
    }

    fn memory_usage(&self) -> usize {
        self.bits.len() * 8
            + self.windows.len() * 16
            + self.entries.len() * std::mem::size_of::<Entry>()
            + self.needles.iter().map(|n| n.len() + 16).sum::<usize>()
            + self
                .short
                .as_ref()
                .map_or(0, |(a, ids)| a.memory_usage() + ids.len() * 4)
    }
}

/// The transitions of an `aho_corasick` DFA without a prefilter, in a layout whose scan loop
/// takes about half the instructions per byte of the crate's `next_state`: state ids
/// premultiplied by a power-of-two stride (a transition is `trans[state | class]`, no bounds
/// check: see the SAFETY argument in [`Dense::scan`]), and match states numbered first, so one
/// comparison tells whether a state reports needles. Same states and the same matches as the
/// DFA it is copied from; memory about the same (the crate's DFA is dropped).
#[derive(Clone)]
pub(crate) struct Dense {
    classes: Box<[u8; 256]>,
    /// log2 of the stride: a state's id is its number shifted left by this.
    shift: u32,
    /// `[state | class]`: the next state's id. Every entry is `o << shift` for a state number
    /// `o < states`, and `trans.len() == states << shift`.
    trans: Box<[u32]>,
    start: u32,
    /// Ids below this are match states.
    match_limit: u32,
    /// `[o]..[o + 1]`: match state `o`'s needles in `match_ids`.
    match_starts: Box<[u32]>,
    match_ids: Box<[u32]>,
    patterns: usize,
    /// A SIMD test that skips the start of a text no needle can begin in (`None` when a needle
    /// is shorter than two bytes or the CPU lacks SSSE3).
    filter: Option<FingerprintFilter>,
}

impl std::fmt::Debug for Dense {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dense")
            .field("states", &(self.trans.len() >> self.shift))
            .field("stride", &(1usize << self.shift))
            .field("patterns", &self.patterns)
            .field("filter", &self.filter.is_some())
            .finish()
    }
}

impl Dense {
    /// Copies the states of `dfa` (built over `needles`, ASCII case-insensitively when
    /// `ascii_case_insensitive`) reachable from its unanchored start. `None` when their table
    /// would not be addressable with `u32` ids.
    ///
    /// Byte classes come from the needles: a byte in no needle moves every state to where any
    /// other such byte does (no needle continues with it: back to the start), and an ASCII
    /// letter of a case-insensitive DFA where its other case does; every other byte gets its
    /// own class. So each state's transitions are asked for once per class, not per byte
    /// (asking for all 256 made the copy cost more than building the DFA).
    fn from_dfa<P: AsRef<[u8]>>(
        dfa: &dfa::DFA,
        needles: &[P],
        ascii_case_insensitive: bool,
    ) -> Option<Dense> {
        let key = |b: u8| {
            if ascii_case_insensitive {
                b.to_ascii_lowercase()
            } else {
                b
            }
        };
        let mut in_needle = [false; 256];
        for needle in needles {
            for &b in needle.as_ref() {
                in_needle[usize::from(key(b))] = true;
            }
        }
        let mut classes = Box::new([0u8; 256]);
        let mut representatives: Vec<u8> = Vec::new();
        // `[key]`: its class, or `u16::MAX`; `other`: the class of bytes in no needle.
        let mut class_of = [u16::MAX; 256];
        let mut other = u16::MAX;
        for b in 0..=255u8 {
            let slot = if in_needle[usize::from(key(b))] {
                &mut class_of[usize::from(key(b))]
            } else {
                &mut other
            };
            if *slot == u16::MAX {
                *slot = representatives.len() as u16;
                representatives.push(b);
            }
            classes[usize::from(b)] = *slot as u8;
        }
        let start = dfa.start_state(Anchored::No).ok()?;
        // `[sid]`: the number given to the crate's state `sid` (`u32::MAX`: none yet). Its ids
        // index its own table, so this is at most as large as that table.
        let mut number: Vec<u32> = Vec::new();
        let mut numbered = |sid: aho_corasick::automaton::StateID, order: &mut Vec<_>| {
            let at = sid.as_usize();
            if number.len() <= at {
                number.resize(at + 1, u32::MAX);
            }
            if number[at] == u32::MAX {
                number[at] = order.len() as u32;
                order.push(sid);
            }
            number[at]
        };
        let mut order = Vec::new();
        numbered(start, &mut order);
        let stride = representatives.len();
        // `[o * stride + class]`: the number of state `o`'s successor on `class`.
        let mut next: Vec<u32> = Vec::new();
        let mut i = 0;
        while let Some(&sid) = order.get(i) {
            for &byte in &representatives {
                let to = dfa.next_state(Anchored::No, sid, byte);
                next.push(numbered(to, &mut order));
            }
            i += 1;
        }
        let states = order.len();
        let shift = representatives.len().next_power_of_two().trailing_zeros();
        if states.checked_mul(1 << shift)? > u32::MAX as usize {
            return None;
        }
        // Match states first.
        let matching: Vec<bool> = order.iter().map(|&sid| dfa.is_match(sid)).collect();
        let mut renumbered = vec![0u32; states];
        let mut by_number = Vec::with_capacity(states);
        for wanted in [true, false] {
            for o in (0..states).filter(|&o| matching[o] == wanted) {
                renumbered[o] = by_number.len() as u32;
                by_number.push(o);
            }
        }
        let matches = matching.iter().filter(|&&m| m).count();
        let mut trans = vec![0u32; states << shift].into_boxed_slice();
        for (new, &old) in by_number.iter().enumerate() {
            for class in 0..stride {
                trans[new << shift | class] =
                    renumbered[next[old * stride + class] as usize] << shift;
            }
        }
        let mut match_starts = Vec::with_capacity(matches + 1);
        let mut match_ids = Vec::new();
        for &old in &by_number[..matches] {
            match_starts.push(match_ids.len() as u32);
            let sid = order[old];
            for k in 0..dfa.match_len(sid) {
                match_ids.push(dfa.match_pattern(sid, k).as_u32());
            }
        }
        match_starts.push(match_ids.len() as u32);
        Some(Dense {
            classes,
            shift,
            trans,
            start: renumbered[0] << shift,
            match_limit: (matches as u32) << shift,
            match_starts: match_starts.into_boxed_slice(),
            match_ids: match_ids.into_boxed_slice(),
            patterns: dfa.patterns_len(),
            filter: FingerprintFilter::new(needles, ascii_case_insensitive),
        })
    }

    /// Like [`scan`](Self::scan), but skips, with the [`FingerprintFilter`] when there is one,
    /// the stretches of `haystack` in which no needle can begin: most texts hold no needle, and
    /// the filter tests 16 positions in about 20 instructions where the DFA takes about 4 per
    /// byte.
    ///
    /// The DFA starts (in its start state) where the filter's first candidate block allows an
    /// occurrence to begin, and hands back to the filter once it is past that block and in its
    /// start state again: no occurrence is then under way (the start state is where a text
    /// ending in no needle's proper prefix leads), so every occurrence still to come begins at
    /// that position or later, where the filter looks for it. A long text with a false
    /// candidate near its start (a keyword scan of a long `Message`) is not DFA-scanned to its
    /// end.
    #[inline]
    fn find(&self, haystack: &[u8], mut found: impl FnMut(usize) -> bool) -> bool {
        let Some(filter) = &self.filter else {
            return self.scan(haystack, found);
        };
        let mut at = 0;
        loop {
            let rest = &haystack[at..];
            let from = if rest.len() >= FILTER_MIN_LEN {
                match filter.first(rest) {
                    Some(from) => at + from,
                    None => return false,
                }
            } else if rest.len() >= FINGERPRINT {
                // A short text, copied into a zero-padded block: the padding adds candidates at
                // most (false ones), every position of the text is tested as it is.
                let mut padded = [0u8; FILTER_MIN_LEN];
                padded[..rest.len()].copy_from_slice(rest);
                match filter.first(&padded) {
                    Some(_) => at,
                    None => return false,
                }
            } else {
                // Shorter than any needle.
                return false;
            };
            // The candidate block ends 16 positions after its start (`from + back`); past it,
            // the DFA may stop in its start state. (Stopping earlier would be exact too, the
            // filter looking again from there; this saves filtering the same block twice.)
            match self.scan_until_idle(haystack, from, from + filter.back + 16, &mut found) {
                Scanned::Stopped => return true,
                Scanned::End => return false,
                Scanned::Idle(next) => at = next,
            }
        }
    }

    /// Runs the DFA from its start state at `from`, like [`scan`](Self::scan), until it is in its
    /// start state again at a position `busy_until` or later (or the text ends).
    #[inline]
    fn scan_until_idle(
        &self,
        haystack: &[u8],
        from: usize,
        busy_until: usize,
        found: &mut impl FnMut(usize) -> bool,
    ) -> Scanned {
        let busy_until = busy_until.min(haystack.len());
        let Some(mut sid) = self.scan_from(self.start as usize, &haystack[from..busy_until], found)
        else {
            return Scanned::Stopped;
        };
        // Then byte by byte, until the start state.
        for (i, &byte) in haystack.iter().enumerate().skip(busy_until) {
            if sid == self.start as usize {
                return Scanned::Idle(i);
            }
            sid = self.step(sid, byte);
            if sid < self.match_limit as usize && self.report(sid, found) {
                return Scanned::Stopped;
            }
        }
        Scanned::End
    }

    /// One transition.
    #[inline(always)]
    fn step(&self, sid: usize, byte: u8) -> usize {
        let at = sid | usize::from(self.classes[usize::from(byte)]);
        debug_assert!(at < self.trans.len());
        // SAFETY: `sid` is `o << shift` for a state number `o < states` (the start, or a value
        // read from `trans`, all of which are such ids: `from_dfa` writes nothing else and
        // nothing changes them after), and a class is below the stride `1 << shift` (`shift`
        // rounds the class count up to a power of two), so
        // `at = sid | class < (o + 1) << shift <= states << shift == trans.len()`.
        (unsafe { *self.trans.get_unchecked(at) }) as usize
    }

    /// Calls `found` with match state `sid`'s needles; `true` when it asked to stop.
    #[inline(always)]
    fn report(&self, sid: usize, found: &mut impl FnMut(usize) -> bool) -> bool {
        let o = sid >> self.shift;
        let (from, to) = (self.match_starts[o], self.match_starts[o + 1]);
        self.match_ids[from as usize..to as usize]
            .iter()
            .any(|&p| found(p as usize))
    }

    /// Runs the DFA over `haystack`, calling `found` with every match state's needles; stops
    /// early when `found` returns `true`. Returns whether it stopped early.
    #[inline]
    fn scan(&self, haystack: &[u8], mut found: impl FnMut(usize) -> bool) -> bool {
        self.scan_from(self.start as usize, haystack, &mut found)
            .is_none()
    }

    /// [`scan`](Self::scan) from state `sid`: the state it ends in, `None` when `found` asked to
    /// stop.
    #[inline]
    fn scan_from(
        &self,
        mut sid: usize,
        haystack: &[u8],
        found: &mut impl FnMut(usize) -> bool,
    ) -> Option<usize> {
        // One transition, then the match states' needles. Four bytes per turn of the loop:
        // the loop's own compare and branch once per four bytes instead of per byte.
        macro_rules! step {
            ($byte:expr) => {
                sid = self.step(sid, $byte);
                if sid < self.match_limit as usize && self.report(sid, found) {
                    return None;
                }
            };
        }
        let mut quads = haystack.chunks_exact(4);
        for quad in &mut quads {
            step!(quad[0]);
            step!(quad[1]);
            step!(quad[2]);
            step!(quad[3]);
        }
        for &byte in quads.remainder() {
            step!(byte);
        }
        Some(sid)
    }

    fn memory_usage(&self) -> usize {
        256 + self.trans.len() * 4 + (self.match_starts.len() + self.match_ids.len()) * 4
    }
}

/// How [`Dense::scan_until_idle`] ended.
enum Scanned {
    /// `found` asked to stop.
    Stopped,
    /// The text ended.
    End,
    /// In the start state at this position.
    Idle(usize),
}

/// Texts shorter than this are scanned by the DFA alone (the filter's loads, 16 bytes at each of
/// [`FINGERPRINT`] offsets, would need a padded copy, which costs about what the DFA does on so
/// few bytes).
const FILTER_MIN_LEN: usize = 16 + FINGERPRINT - 1;

/// Bytes per fingerprint: automata with a shorter needle get no filter (a needle ending at the
/// text's last byte has its fingerprint at a position the 16-byte loads reach).
const FINGERPRINT: usize = 3;

/// Where `needle`'s rarest window of `width` bytes starts, by the sum of its bytes'
/// [`rarity`] (the first of equals): the fingerprint fewest texts hold. `None` when the needle
/// is shorter than `width`.
fn rarest_window(needle: &[u8], width: usize) -> Option<usize> {
    (0..=needle.len().checked_sub(width)?).max_by_key(|&j| {
        (
            needle[j..j + width].iter().map(|&b| rarity(b)).sum::<u32>(),
            std::cmp::Reverse(j),
        )
    })
}

/// How unusual a byte is in event text (larger is rarer), to pick each needle's fingerprint.
fn rarity(b: u8) -> u32 {
    match b.to_ascii_lowercase() {
        b'e' | b't' | b'a' | b'o' | b'i' | b'n' | b's' | b'r' | b' ' => 1,
        b'l' | b'c' | b'd' | b'h' | b'u' | b'm' | b'.' | b'\\' | b'/' | b'-' | b'_' => 2,
        b'0'..=b'9' => 2,
        b'a'..=b'z' => 3,
        _ => 4,
    }
}

/// A Teddy-like existence test (as in `aho_corasick::packed`, which has no case-insensitive
/// mode and no standard match semantics): each needle contributes one *fingerprint*,
/// [`FINGERPRINT`] adjacent bytes at offset `j` in it (its rarest such window), to one of eight
/// buckets; a position `p` of the text is a candidate when, for some bucket and every `k`, the
/// byte at `p + k` has the low and the high nibble of some fingerprint's byte `k` in that
/// bucket. Nibble tables looked up with `pshufb` test 16 positions at once.
///
/// No false negatives: an occurrence of a needle at `q` has its fingerprint at `q + j`, whose
/// nibbles are in its bucket's tables (both ASCII cases of a letter for a case-insensitive
/// automaton), so `q + j` is a candidate, and it is a position the blocks test (the window
/// ends inside the occurrence, so at the text's last byte at the latest). Hence when the first candidate is at `p` or later, every occurrence
/// starts at `p - back` or later (`back`: the largest `j`), and the DFA started there (in its
/// start state) reports every occurrence. False positives only cost a scan.
#[derive(Clone)]
struct FingerprintFilter {
    /// `[k][nibble]`: bucket bits by the low / high nibble of the fingerprints' byte `k`.
    lo: [[u8; 16]; FINGERPRINT],
    hi: [[u8; 16]; FINGERPRINT],
    back: usize,
}

impl FingerprintFilter {
    /// `None` when a needle is shorter than [`FINGERPRINT`] or there are none, or the CPU
    /// lacks SSSE3 (`pshufb`).
    fn new<P: AsRef<[u8]>>(
        needles: &[P],
        ascii_case_insensitive: bool,
    ) -> Option<FingerprintFilter> {
        #[cfg(target_arch = "x86_64")]
        {
            if needles.is_empty() || !std::arch::is_x86_feature_detected!("ssse3") {
                return None;
            }
            let mut fingerprints: Vec<(Vec<u8>, usize)> = Vec::with_capacity(needles.len());
            let mut back = 0;
            for needle in needles {
                let n = needle.as_ref();
                if n.len() < FINGERPRINT {
                    return None;
                }
                let j = rarest_window(n, FINGERPRINT)?;
                back = back.max(j);
                let key: Vec<u8> = n[j..j + FINGERPRINT].to_ascii_lowercase();
                fingerprints.push((key, j));
            }
            // Similar fingerprints share buckets (sorted, dealt in runs): fewer nibble
            // combinations per bucket than round-robin, so fewer false candidates.
            let mut keys: Vec<&[u8]> = fingerprints.iter().map(|(k, _)| k.as_slice()).collect();
            keys.sort_unstable();
            keys.dedup();
            let mut f = FingerprintFilter {
                lo: [[0; 16]; FINGERPRINT],
                hi: [[0; 16]; FINGERPRINT],
                back,
            };
            let cases = |b: u8| {
                if ascii_case_insensitive && b.is_ascii_alphabetic() {
                    [b.to_ascii_lowercase(), b.to_ascii_uppercase()]
                } else {
                    [b, b]
                }
            };
            let needle_bytes = needles.iter().map(|n| n.as_ref());
            for (&(ref key, j), n) in fingerprints.iter().zip(needle_bytes) {
                let rank = keys.binary_search(&key.as_slice()).ok()?;
                let bit = 1u8 << (rank * 8 / keys.len());
                for (k, &b) in n[j..j + FINGERPRINT].iter().enumerate() {
                    for b in cases(b) {
                        f.lo[k][usize::from(b & 15)] |= bit;
                        f.hi[k][usize::from(b >> 4)] |= bit;
                    }
                }
            }
            Some(f)
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = (needles, ascii_case_insensitive);
            None
        }
    }

    /// Where to start the DFA on `haystack` (at least [`FILTER_MIN_LEN`] bytes): `None` when no
    /// needle occurs in it, else a position no occurrence starts before (see the type's docs).
    #[inline]
    fn first(&self, haystack: &[u8]) -> Option<usize> {
        #[cfg(target_arch = "x86_64")]
        {
            // SAFETY: `new` builds a filter only after `is_x86_feature_detected!("ssse3")`.
            let block = unsafe { self.first_block(haystack) }?;
            Some(block.saturating_sub(self.back))
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = haystack;
            Some(0)
        }
    }

    /// The start of the first block of 16 positions holding a candidate, `None` when no
    /// position of `haystack` (at least [`FILTER_MIN_LEN`] bytes) is one. Positions whose
    /// fingerprint window would run past the end are not tested (no needle fits there).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "ssse3")]
    fn first_block(&self, haystack: &[u8]) -> Option<usize> {
        use std::arch::x86_64::*;
        assert!(haystack.len() >= FILTER_MIN_LEN);
        // SAFETY: each table is 16 bytes.
        let load = |t: &[u8; 16]| unsafe { _mm_loadu_si128(t.as_ptr().cast()) };
        let lo = [load(&self.lo[0]), load(&self.lo[1]), load(&self.lo[2])];
        let hi = [load(&self.hi[0]), load(&self.hi[1]), load(&self.hi[2])];
        let nibble = _mm_set1_epi8(0x0f);
        let zero = _mm_setzero_si128();
        let candidates = |at: usize| {
            debug_assert!(at + FILTER_MIN_LEN <= haystack.len());
            let mut m = _mm_set1_epi8(-1);
            for k in 0..FINGERPRINT {
                // SAFETY: `at + 15 + FINGERPRINT <= haystack.len()` (the callers below), so
                // the 16 bytes at `at + k` are inside `haystack`.
                let c = unsafe { _mm_loadu_si128(haystack.as_ptr().add(at + k).cast()) };
                let bits = _mm_and_si128(
                    _mm_shuffle_epi8(lo[k], _mm_and_si128(c, nibble)),
                    _mm_shuffle_epi8(hi[k], _mm_and_si128(_mm_srli_epi16(c, 4), nibble)),
                );
                m = _mm_and_si128(m, bits);
            }
            _mm_movemask_epi8(_mm_cmpeq_epi8(m, zero)) != 0xffff
        };
        // Positions `at..at + 16`, windows ending at `at + 15 + FINGERPRINT` at the latest.
        let last = haystack.len() - FILTER_MIN_LEN;
        let mut at = 0;
        while at < last {
            if candidates(at) {
                return Some(at);
            }
            at += 16;
        }
        // The last 16 positions (overlapping the block before, which found nothing).
        candidates(last).then_some(last)
    }
}

impl NeedleAutomaton {
    /// Builds the automaton over `needles`: a DFA when `dfa` is true, else a [`Hashed`] set
    /// (case-sensitive). `None` when it cannot be built (more states than the automaton can
    /// address).
    ///
    /// `ascii_case_insensitive` (DFA only) makes ASCII letters match either case. A DFA's
    /// tables are over byte classes, so this costs nothing per byte scanned; it lets the
    /// prefilter scan an ASCII text as it is instead of folding it first (for needles without
    /// uppercase ASCII, which folded needles are, a match in the text is a match in its folded
    /// form and the other way round).
    pub fn build<P: AsRef<[u8]>>(
        needles: &[P],
        dfa: bool,
        ascii_case_insensitive: bool,
    ) -> Option<NeedleAutomaton> {
        if dfa {
            let dfa = dfa::DFA::builder()
                .match_kind(MatchKind::Standard)
                .ascii_case_insensitive(ascii_case_insensitive)
                .build(needles)
                .ok()?;
            if dfa.prefilter().is_none() {
                Dense::from_dfa(&dfa, needles, ascii_case_insensitive).map(NeedleAutomaton::Dense)
            } else {
                Some(NeedleAutomaton::Dfa(dfa))
            }
        } else {
            Hashed::new(needles).map(NeedleAutomaton::Hashed)
        }
    }

    /// How many needles it was built over.
    pub fn patterns_len(&self) -> usize {
        match self {
            NeedleAutomaton::Dense(a) => a.patterns,
            NeedleAutomaton::Dfa(a) => a.patterns_len(),
            NeedleAutomaton::Hashed(a) => a.needles.len(),
            NeedleAutomaton::Nfa(a) => a.patterns_len(),
        }
    }

    /// Heap memory of the automaton.
    pub fn memory_usage(&self) -> usize {
        match self {
            NeedleAutomaton::Dense(a) => a.memory_usage(),
            NeedleAutomaton::Dfa(a) => a.memory_usage(),
            NeedleAutomaton::Hashed(a) => a.memory_usage(),
            NeedleAutomaton::Nfa(a) => a.memory_usage(),
        }
    }

    /// Whether any needle occurs in `haystack`.
    #[inline]
    pub fn is_match(&self, haystack: &[u8]) -> bool {
        fn run<A: Automaton>(a: &A, haystack: &[u8]) -> bool {
            if a.prefilter().is_none()
                && let Ok(mut sid) = a.start_state(Anchored::No)
            {
                // As in `for_each_overlapping`: the position in a register.
                for &byte in haystack {
                    sid = a.next_state(Anchored::No, sid, byte);
                    if a.is_special(sid) && a.is_match(sid) {
                        return true;
                    }
                }
                return false;
            }
            // An unanchored search of an automaton built unanchored cannot fail.
            matches!(
                a.try_find(&Input::new(haystack).earliest(true)),
                Ok(Some(_))
            )
        }
        match self {
            NeedleAutomaton::Dense(a) => a.find(haystack, |_| true),
            NeedleAutomaton::Dfa(a) => run(a, haystack),
            NeedleAutomaton::Hashed(a) => a.find(haystack, |_| true),
            NeedleAutomaton::Nfa(a) => run(a, haystack),
        }
    }

    /// Calls `found` with the index of every needle occurrence in `haystack` (overlapping
    /// ones too; a needle occurring twice is reported twice).
    #[inline]
    pub fn for_each_overlapping(&self, haystack: &[u8], found: impl FnMut(usize)) {
        fn run<A: Automaton>(a: &A, haystack: &[u8], mut found: impl FnMut(usize)) {
            if a.prefilter().is_none()
                && let Ok(mut sid) = a.start_state(Anchored::No)
            {
                // The crate's overlapping search keeps its position in the caller's state
                // through memory on every byte; without a prefilter to skip ahead, this loop
                // does the same transitions with the position in a register.
                for &byte in haystack {
                    sid = a.next_state(Anchored::No, sid, byte);
                    if a.is_special(sid) && a.is_match(sid) {
                        for i in 0..a.match_len(sid) {
                            found(a.match_pattern(sid, i).as_usize());
                        }
                    }
                }
                return;
            }
            let input = Input::new(haystack);
            let mut state = OverlappingState::start();
            while a.try_find_overlapping(&input, &mut state).is_ok() {
                match state.get_match() {
                    Some(m) => found(m.pattern().as_usize()),
                    None => break,
                }
            }
        }
        match self {
            NeedleAutomaton::Dense(a) => {
                let mut found = found;
                a.find(haystack, |p| {
                    found(p);
                    false
                });
            }
            NeedleAutomaton::Dfa(a) => run(a, haystack, found),
            NeedleAutomaton::Hashed(a) => {
                let mut found = found;
                a.find(haystack, |p| {
                    found(p);
                    false
                });
            }
            NeedleAutomaton::Nfa(a) => run(a, haystack, found),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aho_corasick::AhoCorasick;
    use proptest::prelude::*;

    /// A DFA without a prefilter, which `Dense::from_dfa` copies.
    fn plain_dfa(needles: &[String], ci: bool) -> dfa::DFA {
        dfa::DFA::builder()
            .match_kind(MatchKind::Standard)
            .ascii_case_insensitive(ci)
            .prefilter(false)
            .build(needles)
            .unwrap()
    }

    /// `AhoCorasick` (the trait-object wrapper) over `needles`, and the needle of every
    /// occurrence it finds in `haystack`, overlapping ones too, sorted.
    fn reference_occurrences(
        needles: &[String],
        ci: bool,
        haystack: &str,
    ) -> (AhoCorasick, Vec<usize>) {
        let reference = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .ascii_case_insensitive(ci)
            .build(needles)
            .unwrap();
        let mut expected: Vec<usize> = reference
            .find_overlapping_iter(haystack.as_bytes())
            .map(|m| m.pattern().as_usize())
            .collect();
        expected.sort_unstable();
        (reference, expected)
    }

    /// The needle of every occurrence `automaton` reports in `haystack`, sorted.
    fn occurrences(automaton: &NeedleAutomaton, haystack: &str) -> Vec<usize> {
        let mut found = Vec::new();
        automaton.for_each_overlapping(haystack.as_bytes(), |p| found.push(p));
        found.sort_unstable();
        found
    }

    proptest! {
        /// Every kind (the DFA, copied to `Dense` when it has no prefilter; the hashed set)
        /// finds exactly what `AhoCorasick` (the trait-object wrapper) finds, case-insensitive
        /// DFAs what it finds case-insensitively.
        #[test]
        fn finds_what_aho_corasick_finds(
            needles in prop::collection::vec("[abAB\\\\.é]{1,4}", 1..12),
            haystack in "[abcABC\\\\.é]{0,40}",
        ) {
            for (dfa, ci) in [(true, false), (true, true), (false, false)] {
                let (reference, expected) = reference_occurrences(&needles, ci, &haystack);
                let a = NeedleAutomaton::build(&needles, dfa, ci).unwrap();
                prop_assert_eq!(a.patterns_len(), needles.len());
                prop_assert_eq!(&occurrences(&a, &haystack), &expected);
                prop_assert_eq!(a.is_match(haystack.as_bytes()), reference.is_match(haystack.as_bytes()));
                if dfa {
                    // `build` copies only DFAs without a prefilter; this one never has one.
                    let plain = plain_dfa(&needles, ci);
                    let dense = NeedleAutomaton::Dense(Dense::from_dfa(&plain, &needles, ci).unwrap());
                    prop_assert_eq!(&occurrences(&dense, &haystack), &expected);
                    prop_assert_eq!(dense.is_match(haystack.as_bytes()), reference.is_match(haystack.as_bytes()));
                }
            }
        }
    }

    proptest! {
        /// A [`Hashed`] set finds every occurrence `AhoCorasick` finds, each once, with many
        /// needles sharing fingerprint windows (a four-letter alphabet), needles shorter than a
        /// window among them, and texts made of the needles themselves.
        #[test]
        fn hashed_finds_what_aho_corasick_finds(
            needles in prop::collection::vec("[abAé]{1,9}", 1..200),
            picks in prop::collection::vec((any::<prop::sample::Index>(), "[abé]{0,3}"), 0..30),
        ) {
            let haystack: String = picks
                .iter()
                .map(|(i, glue)| format!("{}{glue}", i.get(&needles)))
                .collect();
            let (_, expected) = reference_occurrences(&needles, false, &haystack);
            let hashed = NeedleAutomaton::Hashed(Hashed::new(&needles).unwrap());
            prop_assert_eq!(&occurrences(&hashed, &haystack), &expected);
            prop_assert_eq!(hashed.is_match(haystack.as_bytes()), !expected.is_empty());
        }
    }

    proptest! {
        /// `Dense` with its fingerprint filter finds what it finds without it, on texts long enough
        /// for the filter (every block, the overlapping last one, needles at their ends),
        /// case-sensitive and case-insensitive, and the filter's start is never past an
        /// occurrence's start.
        #[test]
        fn fingerprint_filter_loses_nothing(
            needles in prop::collection::vec("[abAB:\\\\.é]{3,8}", 1..24),
            haystack in "[abcABC:\\\\.é]{0,90}",
        ) {
            for ci in [false, true] {
                let plain = plain_dfa(&needles, ci);
                let filtered = Dense::from_dfa(&plain, &needles, ci).unwrap();
                prop_assert!(filtered.filter.is_some());
                let unfiltered = Dense { filter: None, ..filtered.clone() };
                let h = haystack.as_bytes();
                let mut expected = Vec::new();
                unfiltered.scan(h, |p| { expected.push(p); false });
                expected.sort_unstable();
                let mut found = Vec::new();
                filtered.find(h, |p| { found.push(p); false });
                found.sort_unstable();
                prop_assert_eq!(&found, &expected);
                prop_assert_eq!(filtered.find(h, |_| true), !expected.is_empty());
                if h.len() >= FILTER_MIN_LEN {
                    let reference = AhoCorasick::builder()
                        .match_kind(MatchKind::Standard)
                        .ascii_case_insensitive(ci)
                        .build(&needles)
                        .unwrap();
                    let first = reference.find_overlapping_iter(h).map(|m| m.start()).min();
                    match (filtered.filter.as_ref().unwrap().first(h), first) {
                        (None, Some(q)) => prop_assert!(false, "occurrence at {} missed", q),
                        (Some(from), Some(q)) => prop_assert!(from <= q),
                        _ => {}
                    }
                }
            }
        }
    }
}
