//! Multi-needle automata of a concrete type.
//!
//! `aho_corasick::AhoCorasick` holds its automaton behind a trait object, so every byte of a
//! search goes through a virtual call for its transition (about 22 instructions per byte in
//! the matcher's profile). Keeping the DFA or contiguous NFA itself lets the search loops be
//! compiled for it: the same automata, the same matches, a third of the instructions.

use aho_corasick::automaton::{Automaton, OverlappingState};
use aho_corasick::{Anchored, Input, MatchKind, dfa, nfa};

/// An Aho-Corasick automaton (standard match semantics, unanchored) over byte needles, as a
/// DFA (fastest; its tables grow with states times byte classes) or a contiguous NFA (memory
/// near the needles' own size). Cost: what [`NeedleAutomaton::memory_usage`] reports.
#[derive(Debug, Clone)]
pub(crate) enum NeedleAutomaton {
    Dfa(dfa::DFA),
    Nfa(nfa::contiguous::NFA),
}

impl NeedleAutomaton {
    /// Builds the automaton over `needles`, a DFA when `dfa` is true. `None` when it cannot be
    /// built (more states than the automaton can address).
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
            dfa::DFA::builder()
                .match_kind(MatchKind::Standard)
                .ascii_case_insensitive(ascii_case_insensitive)
                .build(needles)
                .ok()
                .map(NeedleAutomaton::Dfa)
        } else {
            nfa::contiguous::NFA::builder()
                .match_kind(MatchKind::Standard)
                .build(needles)
                .ok()
                .map(NeedleAutomaton::Nfa)
        }
    }

    /// How many needles it was built over.
    pub fn patterns_len(&self) -> usize {
        match self {
            NeedleAutomaton::Dfa(a) => a.patterns_len(),
            NeedleAutomaton::Nfa(a) => a.patterns_len(),
        }
    }

    /// Heap memory of the automaton.
    pub fn memory_usage(&self) -> usize {
        match self {
            NeedleAutomaton::Dfa(a) => a.memory_usage(),
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
            NeedleAutomaton::Dfa(a) => run(a, haystack),
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
            NeedleAutomaton::Dfa(a) => run(a, haystack, found),
            NeedleAutomaton::Nfa(a) => run(a, haystack, found),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aho_corasick::AhoCorasick;
    use proptest::prelude::*;

    proptest! {
        /// Both kinds find exactly what `AhoCorasick` (the trait-object wrapper) finds.
        #[test]
        fn finds_what_aho_corasick_finds(
            needles in prop::collection::vec("[ab\\\\.]{1,4}", 1..12),
            haystack in "[abc\\\\.]{0,40}",
        ) {
            let reference = AhoCorasick::builder()
                .match_kind(MatchKind::Standard)
                .build(&needles)
                .unwrap();
            let mut expected: Vec<usize> = reference
                .find_overlapping_iter(haystack.as_bytes())
                .map(|m| m.pattern().as_usize())
                .collect();
            expected.sort_unstable();
            for dfa in [true, false] {
                let a = NeedleAutomaton::build(&needles, dfa, false).unwrap();
                prop_assert_eq!(a.patterns_len(), needles.len());
                let mut found = Vec::new();
                a.for_each_overlapping(haystack.as_bytes(), |p| found.push(p));
                found.sort_unstable();
                prop_assert_eq!(&found, &expected);
                prop_assert_eq!(a.is_match(haystack.as_bytes()), reference.is_match(haystack.as_bytes()));
            }
        }
    }
}
