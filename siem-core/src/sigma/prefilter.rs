//! The literal prefilter: skip rules whose required literals cannot be in the event.
//!
//! For each rule the compiler's program yields a *need*: a set of (field, kind, literal)
//! needles of which at least one must be found in the field's folded text if the rule is to
//! match. It is derived soundly from the program: an item's need is the union over its values
//! (for `all`, any one value's), each value's the union over its alternatives of one needle every
//! alternative requires; `and` takes its most selective child's need, `or` the union of all
//! children's; a regular expression's is the literals one of which its every match contains
//! (`lazy_regex::required_literals`); `not`, `neq`, `null`, `exists`, comparisons, CIDR and field
//! references have none, which makes their enclosing `or` (or the whole rule) have none, and such
//! rules are always evaluated.
//!
//! A rule's need is a conjunction of such clauses: a top-level `and` (a selection's items, or
//! `selection_a and selection_b`) keeps up to [`MAX_CLAUSES`] of its children's needs, the
//! further ones only over fields its logsource group scans anyway (a clause over a new field
//! would cost every event of the group a lookup and a scan), and the rule is evaluated only
//! when every clause had a needle found. On SigmaHQ's rules and the Windows corpus: 8.9 rules
//! evaluated per event with one clause, 8.1 with further clauses looked up by hash only, 5.8
//! with substring clauses too (`match_trace`), which made matching 6.6% fewer instructions per
//! event for 0.3 MB more resident memory with the rules loaded and 2.2 MB more once the
//! corpus has built every automaton it reaches (larger automata over the same fields).
//!
//! Needles come in three kinds, each looked up its cheapest way, per field over all rules:
//!
//! - **exact**: the folded text equals the literal (a value without wildcards, a number, a
//!   boolean): one hash probe per element;
//! - **basename**: the folded text, from its last backslash on, equals the literal's part
//!   from its last backslash on (`Image|endswith: '\whoami.exe'`, and `'\internet
//!   explorer\iertutil.dll'` by its `\iertutil.dll`): one hash probe per element;
//! - **substring**: a literal piece of any other pattern: one Aho-Corasick automaton per field
//!   over all rules' pieces.

use super::needles::NeedleAutomaton;
use hashbrown::HashMap;

/// An automaton whose DFA would stay under this many bytes (estimated from its literals' total
/// length) is built as a DFA (fastest); larger sets as a hashed set (`needles::Hashed`) of
/// 4-byte windows, whose memory stays near the literals' own size.
pub(crate) const DFA_MAX_BYTES: usize = 512 << 10;

use super::compile::{Expr, FieldId, Item, Matcher, Mode, Num, Target, Test};
use super::pattern::Pattern;

/// Where a needle must be found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum NeedTarget {
    Field(FieldId),
    Keywords,
}

/// How a needle is found in an element's folded text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum NeedKind {
    /// The text equals the needle.
    Exact,
    /// The text, from its last backslash on, equals the needle (which starts with that
    /// backslash and holds no other).
    Basename,
    /// The text contains the needle.
    Substring,
}

type Needle = (NeedTarget, NeedKind, Vec<u8>);
type Need = Vec<Needle>;

/// Both needs' needles. Duplicates are harmless (the index keeps one entry per needle) and
/// removing them here would be quadratic in a long value list.
fn union(mut a: Need, b: Need) -> Need {
    a.extend(b);
    a
}

/// Larger is better: needs without a [`WEAK_VALUES`] value, then needs looked up by hash only
/// (no text scanned: an exact value or a basename costs one probe per element, however long
/// the text), then the shortest needle's length, then fewer needles.
fn score(need: &Need) -> (bool, bool, usize, std::cmp::Reverse<usize>) {
    let hashed = need.iter().all(|(_, k, _)| *k != NeedKind::Substring);
    let shortest = need
        .iter()
        .map(|(_, _, n)| n.len())
        .min()
        .unwrap_or(usize::MAX);
    let weak = need
        .iter()
        .any(|(_, k, n)| *k == NeedKind::Exact && WEAK_VALUES.contains(&n.as_slice()));
    (!weak, hashed, shortest, std::cmp::Reverse(need.len()))
}

/// Exact values most events of their field hold (`Initiated: 'true'` on a network connection,
/// a flag's `0` or `1`): a clause needing one is ranked below every other, whatever its
/// length, so a rule's first clause, the one its group's events are scanned for, is a
/// selective one where the rule has any.
const WEAK_VALUES: [&[u8]; 4] = [b"true", b"false", b"0", b"1"];

/// The part of folded `text` a basename needle is compared with: from its last backslash on.
#[inline]
pub(crate) fn basename(text: &[u8]) -> Option<&[u8]> {
    let at = memchr::memrchr(b'\\', text)?;
    text.get(at..)
}

fn fold(bytes: &[u8], cased: bool) -> Vec<u8> {
    if !cased {
        // The compiler folded the pattern's literals already.
        return bytes.to_vec();
    }
    // The prefilter looks at folded text; a cased literal is found there folded, which holds for
    // UTF-8 text because folding maps each character on its own. Non-UTF-8 literals (UTF-16
    // encodings) never occur in an event's text, so any needle for them is sound.
    match std::str::from_utf8(bytes) {
        Ok(text) => super::string::fold_case(text).into_owned().into_bytes(),
        Err(_) => bytes.to_vec(),
    }
}

/// Substring needles are cut to at most this many bytes: any piece of a required literal is
/// required too, and short needles keep the automata small enough to be DFAs (their states grow
/// with the needles' total length).
pub(crate) const NEEDLE_MAX: usize = 8;

/// How unusual a byte is in event text (larger is rarer), to cut needles to their rarest piece.
fn rarity(b: u8) -> u32 {
    match b {
        b'e' | b't' | b'a' | b'o' | b'i' | b'n' | b's' | b'r' | b' ' => 1,
        b'l' | b'c' | b'd' | b'h' | b'u' | b'm' | b'.' | b'\\' | b'/' | b'-' | b':' | b'_' => 2,
        b'a'..=b'z' | b'0'..=b'9' => 3,
        _ => 4,
    }
}

/// Text that most events of some source hold, folded: the paths and names every Windows event
/// carries (`c:\windows\system32\`, `\program files`, `nt authority`, `kerberos`), the
/// directories every Linux path starts with. A byte of a needle inside one of these counts as
/// common whatever the byte: the piece `:\window` of `:\windows\sysnative\` scores well byte
/// by byte, yet nearly every Windows event's `Image` holds it, which made its rule a candidate
/// for nearly every process creation. Chosen from what the formats are (not from a test
/// corpus), so the cut favours the part of a needle that tells it apart.
const COMMON_TEXT: &[&[u8]] = &[
    b":\\",
    b"\\windows\\",
    b"\\system32\\",
    b"\\syswow64\\",
    b"\\program files",
    b" (x86)\\",
    b"\\programdata\\",
    b"\\users\\",
    b"\\appdata\\",
    b"\\local\\",
    b"\\roaming\\",
    b"\\microsoft\\",
    b"\\windowspowershell\\v1.0\\",
    b"\\microsoft.net\\framework",
    b"\\device\\harddiskvolume",
    b"\\software\\",
    b"\\currentversion\\",
    b"\\currentcontrolset\\",
    b"\\services\\",
    b"hklm\\",
    b"hkcu\\",
    b"hkey_local_machine\\",
    b"\\registry\\machine\\",
    b"nt authority\\",
    b".exe",
    b".dll",
    b"/usr/",
    b"/bin/",
    b"/etc/",
    b"/var/",
    b"/home/",
    // Windows Security events' own vocabulary: the authentication packages of every logon,
    // the `Se...Privilege` names of every special logon, the providers' names. Mimikatz's
    // `kerberos::tgt` and `privilege::driver` were cut to `kerberos` and `privileg`, and the
    // rule was a candidate on most Security events.
    b"kerberos",
    b"privilege",
    b"negotiate",
    b"microsoft-windows-",
];

/// How rare each byte of `needle` is as part of it: [`rarity`], or 0 inside an occurrence of
/// [`COMMON_TEXT`].
fn rarities(needle: &[u8]) -> Vec<u32> {
    // One pass over the needle for all of them (a `memmem` per fragment and needle made loading
    // SigmaHQ's rules take 254 ms instead of 183, `rule_load`'s median).
    static COMMON: std::sync::LazyLock<aho_corasick::AhoCorasick> =
        std::sync::LazyLock::new(|| {
            aho_corasick::AhoCorasick::new(COMMON_TEXT).expect("a few short literals build")
        });
    let mut out: Vec<u32> = needle.iter().map(|&b| rarity(b)).collect();
    for m in COMMON.find_overlapping_iter(needle) {
        out[m.range()].fill(0);
    }
    out
}

/// The rarest window of at most [`NEEDLE_MAX`] bytes of `needle` by [`rarities`], at a
/// character boundary (the first such window on ties). Linear in the needle's length: window
/// scores come from prefix sums (summing each window afresh was 7% of loading SigmaHQ's rules).
fn cut(needle: &[u8]) -> &[u8] {
    if needle.len() <= NEEDLE_MAX {
        return needle;
    }
    let boundary = |i: usize| i == needle.len() || (needle[i] as i8) >= -0x40;
    let mut prefix = Vec::with_capacity(needle.len() + 1);
    prefix.push(0u32);
    let mut total = 0u32;
    for r in rarities(needle) {
        total += r;
        prefix.push(total);
    }
    let mut best: Option<(u32, usize, usize)> = None;
    for start in (0..needle.len()).filter(|&i| boundary(i)) {
        let mut end = (start + NEEDLE_MAX).min(needle.len());
        while end > start && !boundary(end) {
            end -= 1;
        }
        if end == start {
            continue;
        }
        let score = prefix[end] - prefix[start];
        if best.is_none_or(|(s, _, _)| score > s) {
            best = Some((score, start, end));
        }
    }
    match best {
        Some((_, start, end)) => &needle[start..end],
        None => needle,
    }
}

/// Needles one of which an element matched by `matcher` holds, `None` when there are none.
fn matcher_needles(matcher: &Matcher) -> Option<Vec<(NeedKind, Vec<u8>)>> {
    let one = match matcher {
        Matcher::Text { cased, pattern } => match pattern {
            Pattern::Exact(lit) => (NeedKind::Exact, fold(lit, *cased)),
            // A text ending with `\internet explorer\iertutil.dll` has `\iertutil.dll` as its
            // basename: the literal from its last backslash on, when something follows it.
            Pattern::Suffix(lit)
                if memchr::memrchr(b'\\', lit).is_some_and(|at| at + 1 < lit.len()) =>
            {
                let at = memchr::memrchr(b'\\', lit).unwrap_or(0);
                (NeedKind::Basename, fold(&lit[at..], *cased))
            }
            _ => {
                let best = pattern.literals().into_iter().max_by_key(|l| l.len())?;
                if best.is_empty() {
                    return None;
                }
                (NeedKind::Substring, cut(&fold(best, *cased)).to_vec())
            }
        },
        // A regular expression's required literals (already folded), any one of them.
        Matcher::Regex(regex) => {
            return regex.required().map(|any| {
                any.iter()
                    .map(|lit| (NeedKind::Substring, cut(lit).to_vec()))
                    .collect()
            });
        }
        // A numeric element equal to `n` is an integer whose text is `n`'s decimal form, or a
        // float that the scan also looks up under its integer's decimal form (when it has one
        // exactly: |n| < 2^53).
        Matcher::NumEq(Num::Int(n)) if n.unsigned_abs() < (1u64 << 53) => {
            (NeedKind::Exact, n.to_string().into_bytes())
        }
        Matcher::BoolEq(b) => (NeedKind::Exact, b.to_string().into_bytes()),
        _ => return None,
    };
    Some(vec![one])
}

fn item_need(item: &Item) -> Option<Need> {
    let Test::Match { mode, values, .. } = &item.test else {
        return None;
    };
    let targets: Vec<NeedTarget> = match &item.target {
        Target::Fields(ids) => ids.iter().map(|&id| NeedTarget::Field(id)).collect(),
        Target::Keywords => vec![NeedTarget::Keywords],
    };
    let value_need = |alts: &[Matcher]| -> Option<Need> {
        let mut need = Vec::new();
        for alt in alts {
            for (kind, needle) in matcher_needles(alt)? {
                for &t in &targets {
                    need.push((t, kind, needle.clone()));
                }
            }
        }
        Some(need)
    };
    match mode {
        Mode::None => None,
        Mode::Any => values
            .iter()
            .try_fold(Vec::new(), |acc, v| Some(union(acc, value_need(v)?))),
        Mode::All => values
            .iter()
            .filter_map(|v| value_need(v))
            .max_by_key(score),
    }
}

/// The need of an expression, `None` when the rule must always be evaluated.
pub(crate) fn need(expr: &Expr, items: &[Item]) -> Option<Need> {
    match expr {
        Expr::Item(i) => item_need(&items[*i as usize]),
        Expr::And(parts) => parts
            .iter()
            .filter_map(|p| need(p, items))
            .max_by_key(score),
        Expr::Or(parts) => parts
            .iter()
            .try_fold(Vec::new(), |acc, p| Some(union(acc, need(p, items)?))),
        Expr::Not(_) | Expr::Const(true) => None,
        Expr::Const(false) => Some(Vec::new()),
    }
}

/// Most clauses one rule's need keeps (its `and`'s most selective children): each further
/// clause costs a bit per found needle and may add a target to scan.
pub(crate) const MAX_CLAUSES: usize = 3;

/// The need of a rule as a conjunction of clauses, each a disjunction of needles: a rule is a
/// candidate only when every clause had a needle found. A top-level `and` contributes its
/// conjuncts' needs, through nested `and`s (the [`MAX_CLAUSES`] most selective), anything else
/// one clause, as [`need`] gives it. `None` when the rule must always be evaluated.
pub(crate) fn needs(expr: &Expr, items: &[Item]) -> Option<Vec<Need>> {
    /// The needs of an `and`'s children, through nested `and`s: `selection and not filter`
    /// is `And[And[items of selection], Not[..]]`, and each item of the selection is a clause
    /// of its own (taking only the best-scored one made `Initiated: 'true'` the whole need of
    /// eleven network rules, and every network connection their candidate).
    fn conjuncts(parts: &[Expr], items: &[Item], clauses: &mut Vec<Need>) {
        for part in parts {
            match part {
                Expr::And(inner) => conjuncts(inner, items, clauses),
                other => clauses.extend(need(other, items)),
            }
        }
    }
    match expr {
        Expr::And(parts) => {
            let mut clauses = Vec::new();
            conjuncts(parts, items, &mut clauses);
            if clauses.is_empty() {
                return None;
            }
            clauses.sort_by_key(|c| std::cmp::Reverse(score(c)));
            clauses.truncate(MAX_CLAUSES);
            Some(clauses)
        }
        other => need(other, items).map(|n| vec![n]),
    }
}

/// Folded needle bytes to the clauses they satisfy.
pub(crate) type NeedleMap = HashMap<Box<[u8]>, Box<[u32]>, foldhash::fast::FixedState>;

/// Every needle of one target (a field, or the keywords) from the rules of one logsource group,
/// by kind. Splitting by group keeps each event's automata to the needles of the rules it is
/// routed to: small automata are DFAs with a fast prefilter, and a Windows event's keyword scan
/// does not carry the Linux rules' keywords.
#[derive(Debug)]
pub(crate) struct TargetIndex {
    pub target: NeedTarget,
    pub exact: NeedleMap,
    pub basename: NeedleMap,
    /// Over the substring needles, built on first use.
    pub substrings: Substrings,
    /// `[pattern]`: the clauses a found substring satisfies.
    pub needle_clauses: Box<[Box<[u32]>]>,
    /// The shortest substring needle's length: shorter texts are not scanned.
    pub min_len: usize,
}

impl TargetIndex {
    /// Heap memory, roughly.
    pub fn memory_usage(&self) -> usize {
        let map = |m: &NeedleMap| {
            m.iter()
                .map(|(k, v)| k.len() + v.len() * 4 + 48)
                .sum::<usize>()
        };
        map(&self.exact)
            + map(&self.basename)
            + self.substrings.memory_usage()
            + self
                .needle_clauses
                .iter()
                .map(|r| r.len() * 4 + 16)
                .sum::<usize>()
    }

    /// Literal count over all kinds.
    pub fn literals(&self) -> usize {
        self.exact.len() + self.basename.len() + self.needle_clauses.len()
    }
}

/// One target's substring needles and the Aho-Corasick automaton over them, built on the first
/// event that scans the target (thread-safe: `OnceLock`). Building every automaton of SigmaHQ's
/// rules is about a seventh of loading them, and an application whose events only ever reach
/// some logsources (a web app's, say) never needs the others'. Cost before first use: the
/// needles (at most [`NEEDLE_MAX`] bytes each); after: the automaton.
#[derive(Debug)]
pub(crate) struct Substrings {
    needles: Box<[Box<[u8]>]>,
    automaton: std::sync::OnceLock<Option<Scanner>>,
}

/// What scans one target's texts for its substring needles, built on first use.
#[derive(Debug)]
pub(crate) struct Scanner {
    pub automaton: NeedleAutomaton,
    /// The automaton matches ASCII letters of either case (the DFAs): an ASCII text can be
    /// scanned unfolded, which for ASCII is what folding would give but lowercased.
    pub ascii_case_insensitive: bool,
    /// A byte in no needle (in neither ASCII case), to join texts by for one scan: no
    /// occurrence can span it. `None` when every candidate byte is in some needle.
    pub separator: Option<u8>,
}

impl Substrings {
    fn new(needles: Vec<Vec<u8>>) -> Substrings {
        Substrings {
            needles: needles.into_iter().map(Vec::into_boxed_slice).collect(),
            automaton: std::sync::OnceLock::new(),
        }
    }

    /// Whether there are no substring needles (nothing to scan for).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.needles.is_empty()
    }

    /// The scanner (its automaton), built on first call. `None` when there are no needles or it
    /// could not be built (it would take patterns far beyond any rule set's); the caller then
    /// treats every needle as found, which keeps results exact.
    #[inline]
    pub fn scanner(&self) -> Option<&Scanner> {
        if self.needles.is_empty() {
            return None;
        }
        self.automaton
            .get_or_init(|| {
                // A DFA is the fastest overlapping scanner but its tables grow with the
                // automaton's states (about 256 bytes each with SigmaHQ's byte classes: 36 MB
                // for the 5,700 CommandLine literals of the Windows rules); above the budget a
                // hashed set of 4-byte windows keeps memory near the literals' own size.
                let bytes: usize = self.needles.iter().map(|n| n.len()).sum();
                // The DFA matches ASCII letters of either case at no cost per byte (its
                // transitions are over byte classes). The hashed set compares bytes as they
                // are, so it stays case-sensitive and scans folded text.
                let dfa = bytes * 256 <= DFA_MAX_BYTES;
                let automaton = NeedleAutomaton::build(&self.needles, dfa, dfa)?;
                let separator = (0..=u8::MAX).find(|&b| {
                    !self.needles.iter().any(|n| {
                        n.iter()
                            .any(|&c| c == b || (dfa && c.eq_ignore_ascii_case(&b)))
                    })
                });
                Some(Scanner {
                    automaton,
                    ascii_case_insensitive: dfa,
                    separator,
                })
            })
            .as_ref()
    }

    /// Heap memory: the needles, and the automaton once built.
    pub fn memory_usage(&self) -> usize {
        self.needles.iter().map(|n| n.len() + 16).sum::<usize>()
            + self
                .automaton
                .get()
                .and_then(Option::as_ref)
                .map_or(0, |s| s.automaton.memory_usage())
    }
}

/// The per-target indexes, and which rules have no literals.
#[derive(Debug, Default)]
pub(crate) struct Prefilter {
    pub indexes: Vec<TargetIndex>,
    /// Per rule: evaluate it whatever the event holds (no literal requirement found).
    pub always: Vec<bool>,
    /// Per rule: the targets its literals live in (to scan only what routed rules need).
    pub rule_targets: Vec<Box<[u32]>>,
    /// Per clause: its rule. A rule's clauses have consecutive ids.
    pub clause_rule: Box<[u32]>,
    /// Per rule: its first clause and how many it has (0 for always-evaluated rules).
    pub rule_clauses: Box<[(u32, u32)]>,
}

/// Build-time maps hash with foldhash (SipHash was 2% of loading SigmaHQ).
type BuildMap<V> = HashMap<Vec<u8>, V, foldhash::fast::FixedState>;

#[derive(Default)]
struct Building {
    exact: BuildMap<Vec<u32>>,
    basename: BuildMap<Vec<u32>>,
    substrings: Vec<Vec<u8>>,
    substring_index: BuildMap<u32>,
    substring_clauses: Vec<Vec<u32>>,
}

fn push_owner(owners: &mut Vec<u32>, rule: u32) {
    if owners.last() != Some(&rule) {
        owners.push(rule);
    }
}

fn freeze(map: BuildMap<Vec<u32>>) -> NeedleMap {
    map.into_iter()
        .map(|(k, v)| (k.into_boxed_slice(), v.into_boxed_slice()))
        .collect()
}

impl Prefilter {
    /// `needs[rule]` and `groups[rule]`, the rule's logsource group (any partition of the rules
    /// works; routing reaches whole groups).
    pub fn build(needs: Vec<Option<Vec<Need>>>, groups: &[u32]) -> Prefilter {
        let rule_count = needs.len();
        let mut targets: Vec<(NeedTarget, u32)> = Vec::new();
        let mut target_index: HashMap<(NeedTarget, u32), usize, foldhash::fast::FixedState> =
            HashMap::default();
        let mut building: Vec<Building> = Vec::new();
        let mut always = vec![false; rule_count];
        let mut rule_targets: Vec<Vec<u32>> = vec![Vec::new(); rule_count];
        // Further clauses are kept only over targets the group's first clauses scan anyway (a
        // clause over a new field would cost every event of the group a lookup and a scan).
        let mut primary: std::collections::HashSet<(NeedTarget, u32), foldhash::fast::FixedState> =
            Default::default();
        for (rule, clauses) in needs.iter().enumerate() {
            if let Some(first) = clauses.as_ref().and_then(|c| c.first()) {
                let group = groups.get(rule).copied().unwrap_or(0);
                primary.extend(first.iter().map(|(t, _, _)| (*t, group)));
            }
        }
        let needs = needs.into_iter().enumerate().map(|(rule, clauses)| {
            let group = groups.get(rule).copied().unwrap_or(0);
            clauses.map(|clauses| {
                let mut clauses = clauses.into_iter();
                let first = clauses.next();
                first
                    .into_iter()
                    .chain(
                        clauses
                            .filter(|c| c.iter().all(|(t, _, _)| primary.contains(&(*t, group)))),
                    )
                    .collect::<Vec<_>>()
            })
        });
        let mut clause_rule: Vec<u32> = Vec::new();
        let mut rule_clauses: Vec<(u32, u32)> = Vec::with_capacity(rule_count);
        for (rule, clauses) in needs.enumerate() {
            let Some(clauses) = clauses else {
                always[rule] = true;
                rule_clauses.push((clause_rule.len() as u32, 0));
                continue;
            };
            rule_clauses.push((clause_rule.len() as u32, clauses.len() as u32));
            let group = groups.get(rule).copied().unwrap_or(0);
            let tagged = clauses.into_iter().flat_map(|clause| {
                let c = clause_rule.len() as u32;
                clause_rule.push(rule as u32);
                clause.into_iter().map(move |needle| (c, needle))
            });
            let tagged: Vec<_> = tagged.collect();
            for (r, (target, kind, needle)) in tagged {
                let target = (target, group);
                let t = match target_index.get(&target) {
                    Some(&t) => t,
                    None => {
                        target_index.insert(target, targets.len());
                        targets.push(target);
                        building.push(Building::default());
                        targets.len() - 1
                    }
                };
                let b = &mut building[t];
                match kind {
                    NeedKind::Exact => push_owner(b.exact.entry(needle).or_default(), r),
                    NeedKind::Basename => push_owner(b.basename.entry(needle).or_default(), r),
                    NeedKind::Substring => {
                        let n = match b.substring_index.get(&needle) {
                            Some(&n) => n,
                            None => {
                                let n = b.substrings.len() as u32;
                                b.substring_index.insert(needle.clone(), n);
                                b.substrings.push(needle);
                                b.substring_clauses.push(Vec::new());
                                n
                            }
                        };
                        push_owner(&mut b.substring_clauses[n as usize], r);
                    }
                }
                if !rule_targets[rule].contains(&(t as u32)) {
                    rule_targets[rule].push(t as u32);
                }
            }
        }
        let mut indexes = Vec::with_capacity(targets.len());
        for ((target, _), b) in targets.into_iter().zip(building) {
            let min_len = b.substrings.iter().map(Vec::len).min().unwrap_or(0);
            indexes.push(TargetIndex {
                min_len,
                target,
                exact: freeze(b.exact),
                basename: freeze(b.basename),
                substrings: Substrings::new(b.substrings),
                needle_clauses: b
                    .substring_clauses
                    .into_iter()
                    .map(Vec::into_boxed_slice)
                    .collect(),
            });
        }
        Prefilter {
            indexes,
            always,
            rule_targets: rule_targets
                .into_iter()
                .map(Vec::into_boxed_slice)
                .collect(),
            clause_rule: clause_rule.into_boxed_slice(),
            rule_clauses: rule_clauses.into_boxed_slice(),
        }
    }

    /// Whether every clause of rule `r` had a needle found (`seen`: the clause bit set).
    #[inline]
    pub fn clauses_seen(&self, r: usize, seen: &[u64]) -> bool {
        let (first, count) = self.rule_clauses[r];
        (first..first + count).all(|c| seen[c as usize / 64] & (1 << (c % 64)) != 0)
    }

    /// The targets the given rules' literals live in, sorted.
    pub fn targets_of(&self, rules: &[u32]) -> Box<[u32]> {
        let mut out: Vec<u32> = rules
            .iter()
            .filter(|&&r| !self.always[r as usize])
            .flat_map(|&r| self.rule_targets[r as usize].iter().copied())
            .collect();
        out.sort_unstable();
        out.dedup();
        out.into_boxed_slice()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The definition: every window summed afresh.
    fn cut_reference(needle: &[u8]) -> &[u8] {
        if needle.len() <= NEEDLE_MAX {
            return needle;
        }
        let boundary = |i: usize| i == needle.len() || (needle[i] as i8) >= -0x40;
        let rarities = rarities(needle);
        let mut best: Option<(u32, usize, usize)> = None;
        for start in (0..needle.len()).filter(|&i| boundary(i)) {
            let mut end = (start + NEEDLE_MAX).min(needle.len());
            while end > start && !boundary(end) {
                end -= 1;
            }
            if end == start {
                continue;
            }
            let score: u32 = rarities[start..end].iter().sum();
            if best.is_none_or(|(s, _, _)| score > s) {
                best = Some((score, start, end));
            }
        }
        match best {
            Some((_, start, end)) => &needle[start..end],
            None => needle,
        }
    }

    proptest! {
        #[test]
        fn cut_picks_the_reference_window(text in "[a-z0-9 .\\\\/:_=é€😀-]{0,40}", bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            prop_assert_eq!(cut(text.as_bytes()), cut_reference(text.as_bytes()));
            prop_assert_eq!(cut(&bytes), cut_reference(&bytes));
        }
    }

    #[test]
    fn cut_keeps_the_rarest_piece() {
        assert_eq!(cut(b"frombase64string"), b"ombase64");
        assert_eq!(cut(b"short"), b"short");
        // Not the `:\window` every Windows path holds.
        assert_eq!(cut(b":\\windows\\sysnative\\"), b"sysnativ");
        assert_eq!(cut(b"c:\\windows\\system32\\"), b"c:\\windo");
    }
}
