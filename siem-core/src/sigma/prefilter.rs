//! The literal prefilter: skip rules whose required literals cannot be in the event.
//!
//! For each rule the compiler's program yields a *need*: a set of (field, literal) pairs of
//! which at least one must occur in the field's folded text if the rule is to match. It is
//! derived soundly from the program: an item's need is the union over its values (for `all`,
//! any one value's), each value's the union over its alternatives of one literal every
//! alternative's pattern requires; `and` takes its most selective child's need, `or` the union
//! of all children's; `not`, `neq`, `null`, `exists`, regular expressions, comparisons, CIDR and
//! field references have none, which makes their enclosing `or` (or the whole rule) have none,
//! and such rules are always evaluated. Literals are searched with one Aho-Corasick automaton per
//! field (plus one for keyword searches) over all rules' literals.

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

/// Automata over at most this many literals are built as DFAs (fast, memory-hungry).
pub(crate) const DFA_MAX_PATTERNS: usize = 1000;

use super::compile::{Expr, FieldId, Item, Matcher, Mode, Num, Target, Test};

/// Where a needle must be found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum NeedTarget {
    Field(FieldId),
    Keywords,
}

type Need = Vec<(NeedTarget, Vec<u8>)>;

fn union(mut a: Need, b: Need) -> Need {
    for n in b {
        if !a.contains(&n) {
            a.push(n);
        }
    }
    a
}

/// Larger is better: the shortest needle's length, then fewer needles.
fn score(need: &Need) -> (usize, std::cmp::Reverse<usize>) {
    let shortest = need
        .iter()
        .map(|(_, n)| n.len())
        .min()
        .unwrap_or(usize::MAX);
    (shortest, std::cmp::Reverse(need.len()))
}

fn matcher_needle(matcher: &Matcher) -> Option<Vec<u8>> {
    match matcher {
        Matcher::Text { cased, pattern } => {
            let best = pattern.literals().into_iter().max_by_key(|l| l.len())?;
            if best.is_empty() {
                return None;
            }
            if *cased {
                // The prefilter scans folded text; a cased literal is found there folded, which
                // holds for UTF-8 text because folding maps each character on its own.
                let text = std::str::from_utf8(best).ok()?;
                Some(super::string::fold_case(text).into_owned().into_bytes())
            } else {
                Some(best.to_vec())
            }
        }
        // A numeric element's text is its decimal form, which holds the integer's digits as long
        // as the float comparison cannot round (|n| < 2^53).
        Matcher::NumEq(Num::Int(n)) if n.unsigned_abs() < (1u64 << 53) => {
            Some(n.to_string().into_bytes())
        }
        Matcher::BoolEq(b) => Some(b.to_string().into_bytes()),
        _ => None,
    }
}

fn item_need(item: &Item) -> Option<Need> {
    let Test::Match { mode, values } = &item.test else {
        return None;
    };
    let targets: Vec<NeedTarget> = match &item.target {
        Target::Fields(ids) => ids.iter().map(|&id| NeedTarget::Field(id)).collect(),
        Target::Keywords => vec![NeedTarget::Keywords],
    };
    let value_need = |alts: &[Matcher]| -> Option<Need> {
        let mut need = Vec::new();
        for alt in alts {
            let needle = matcher_needle(alt)?;
            for &t in &targets {
                need = union(need, vec![(t, needle.clone())]);
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

/// The automata, which rules each literal vouches for, and which rules have no literals.
#[derive(Debug, Default)]
pub(crate) struct Prefilter {
    /// Where each automaton searches.
    pub targets: Vec<NeedTarget>,
    /// One automaton per target over all rules' literals for it.
    pub automata: Vec<Option<AhoCorasick>>,
    /// `[target][needle]`: the rules a found literal makes candidates.
    pub needle_rules: Vec<Vec<Box<[u32]>>>,
    /// Per rule: evaluate it whatever the event holds (no literal requirement found).
    pub always: Vec<bool>,
    /// Per rule: the targets its literals live in (to scan only what routed rules need).
    pub rule_targets: Vec<Box<[u32]>>,
}

impl Prefilter {
    pub fn build(needs: Vec<Option<Need>>) -> Prefilter {
        let rule_count = needs.len();
        let mut targets: Vec<NeedTarget> = Vec::new();
        let mut needles: Vec<Vec<Vec<u8>>> = Vec::new();
        let mut needle_rules: Vec<Vec<Vec<u32>>> = Vec::new();
        let mut index: Vec<std::collections::HashMap<Vec<u8>, u32>> = Vec::new();
        let mut always = vec![false; rule_count];
        let mut rule_targets: Vec<Vec<u32>> = vec![Vec::new(); rule_count];
        for (rule, need) in needs.into_iter().enumerate() {
            let Some(need) = need else {
                always[rule] = true;
                continue;
            };
            for (target, needle) in need {
                let t = match targets.iter().position(|x| *x == target) {
                    Some(t) => t,
                    None => {
                        targets.push(target);
                        needles.push(Vec::new());
                        needle_rules.push(Vec::new());
                        index.push(Default::default());
                        targets.len() - 1
                    }
                };
                let n = *index[t].entry(needle.clone()).or_insert_with(|| {
                    needles[t].push(needle);
                    needle_rules[t].push(Vec::new());
                    (needles[t].len() - 1) as u32
                });
                let owners = &mut needle_rules[t][n as usize];
                if owners.last() != Some(&(rule as u32)) {
                    owners.push(rule as u32);
                }
                if !rule_targets[rule].contains(&(t as u32)) {
                    rule_targets[rule].push(t as u32);
                }
            }
        }
        let automata: Vec<Option<AhoCorasick>> = needles
            .iter()
            .map(|list| {
                // A DFA is the fastest overlapping scanner but its tables grow with the pattern
                // count (about 6 KB per pattern for SigmaHQ's literals: 36 MB for the 5,700
                // CommandLine literals of the Windows rules); above the threshold the
                // contiguous NFA keeps memory near the literals' own size.
                let kind = if list.len() <= DFA_MAX_PATTERNS {
                    Some(AhoCorasickKind::DFA)
                } else {
                    None
                };
                AhoCorasick::builder()
                    .match_kind(MatchKind::Standard)
                    .kind(kind)
                    .build(list)
                    .ok()
            })
            .collect();
        // Should an automaton fail to build (it would take patterns far beyond any rule set's),
        // the rules needing it are evaluated unconditionally, which keeps results exact.
        for (rule, ts) in rule_targets.iter().enumerate() {
            if ts.iter().any(|t| automata[*t as usize].is_none()) {
                always[rule] = true;
            }
        }
        Prefilter {
            targets,
            automata,
            needle_rules: needle_rules
                .into_iter()
                .map(|per_target| per_target.into_iter().map(Vec::into_boxed_slice).collect())
                .collect(),
            always,
            rule_targets: rule_targets
                .into_iter()
                .map(Vec::into_boxed_slice)
                .collect(),
        }
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
