//! [`RuleSet`]: compiled rules, routed by logsource and prefiltered by literals; and its
//! [`RuleSetBuilder`].

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use compact_str::CompactString;

use super::ast::{
    FilterTargets, RawCorrelation, SigmaDocument, SigmaFilter, SigmaRule, parse_documents,
};
use super::compile::{Compiler, Expr, FieldId, FieldTable, Placeholders, Program};
use super::error::{ErrorKind, RuleError};
use super::eval::{Eval, EvalBuffers, SCRATCH_KEEP};
use super::meta::RuleMeta;
use super::prefilter::{self, NeedTarget, Prefilter};
use crate::event::{Event, LogSource};

/// A rule's index in its [`RuleSet`]: dense, from 0 to `len() - 1`, in load order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RuleId(pub u32);

impl RuleId {
    /// The index as `usize`.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// A transformation run on each parsed rule (and each filter's detection) before compilation.
pub type Transform = Box<dyn Fn(&mut SigmaRule) -> Result<(), String> + Send + Sync>;

/// The category implications of the Sigma taxonomy: events of the first category are also seen
/// by rules of the second. `registry_event` is Sysmon events 12, 13 and 14, which the taxonomy
/// splits into `registry_add` / `registry_delete` (12), `registry_set` (13) and
/// `registry_rename` (14). The `file_*` categories are *not* implied by `file_event`: the
/// taxonomy (and SigmaHQ's THOR mapping) defines `file_event` as Sysmon event 11 (file
/// creation) only, while `file_change` (2), `file_delete` (23), `file_delete_detected` (26) and
/// `file_rename` (kernel ETW) are distinct events.
pub const DEFAULT_CATEGORY_IMPLICATIONS: &[(&str, &str)] = &[
    ("registry_add", "registry_event"),
    ("registry_delete", "registry_event"),
    ("registry_set", "registry_event"),
    ("registry_rename", "registry_event"),
];

/// Collects Sigma YAML and settings, then compiles them into a [`RuleSet`].
///
/// Rules that fail to load or compile are reported as [`RuleError`]s; the others still load.
///
/// ```
/// use siem_core::sigma::RuleSet;
/// use siem_core::event::{Event, LogSource};
///
/// let (rules, errors) = RuleSet::builder()
///     .add_yaml(r#"
/// title: Whoami Execution
/// id: 1a2b
/// logsource: {category: process_creation, product: windows}
/// detection:
///     selection:
///         Image|endswith: '\whoami.exe'
///     condition: selection
/// "#, Some("whoami.yml"))
///     .build();
/// assert!(errors.is_empty());
///
/// let mut event = Event::new();
/// event.logsource = LogSource::new(Some("windows"), Some("process_creation"), None);
/// event.insert("Image", r"C:\Windows\System32\WHOAMI.EXE");
/// let hits = rules.matches(&event);
/// assert_eq!(rules.rule(hits[0]).title, "Whoami Execution");
/// ```
pub struct RuleSetBuilder {
    documents: Vec<SigmaDocument>,
    errors: Vec<RuleError>,
    placeholders: Placeholders,
    routing: bool,
    implications: Vec<(CompactString, CompactString)>,
    transforms: Vec<Transform>,
}

impl Default for RuleSetBuilder {
    fn default() -> Self {
        RuleSetBuilder {
            documents: Vec::new(),
            errors: Vec::new(),
            placeholders: Placeholders::new(),
            routing: true,
            implications: DEFAULT_CATEGORY_IMPLICATIONS
                .iter()
                .map(|(a, b)| ((*a).into(), (*b).into()))
                .collect(),
            transforms: Vec::new(),
        }
    }
}

impl std::fmt::Debug for RuleSetBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuleSetBuilder")
            .field("documents", &self.documents.len())
            .field("errors", &self.errors.len())
            .field("placeholders", &self.placeholders)
            .field("routing", &self.routing)
            .field("implications", &self.implications)
            .field("transforms", &self.transforms.len())
            .finish()
    }
}

impl RuleSetBuilder {
    /// Parses a YAML text (one rule, several documents, or a legacy collection) and keeps its
    /// documents. `path` only labels errors and [`RuleMeta::path`]. Documents that cannot be
    /// read become errors returned by [`build`](Self::build).
    pub fn add_yaml(&mut self, text: &str, path: Option<&str>) -> &mut Self {
        let (documents, errors) = parse_documents(text, path);
        self.documents.extend(documents);
        self.errors.extend(errors);
        self
    }

    /// Adds an already parsed document.
    pub fn add_document(&mut self, document: SigmaDocument) -> &mut Self {
        self.documents.push(document);
        self
    }

    /// Gives the values of an `expand` placeholder (`%name%`, given here without the percent
    /// signs). Each value is a Sigma string (wildcards allowed); a value with a placeholder
    /// matches when any of the values matches in its place.
    pub fn placeholder<I, S>(&mut self, name: &str, values: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.placeholders.insert(
            name.to_string(),
            values.into_iter().map(Into::into).collect(),
        );
        self
    }

    /// Switches logsource routing on (the default) or off. Off, every rule sees every event.
    pub fn routing(&mut self, on: bool) -> &mut Self {
        self.routing = on;
        self
    }

    /// Lets events of category `event_category` also reach rules of category `rule_category`
    /// (in addition to [`DEFAULT_CATEGORY_IMPLICATIONS`]).
    pub fn category_implication(&mut self, event_category: &str, rule_category: &str) -> &mut Self {
        self.implications.push((
            event_category.to_ascii_lowercase().into(),
            rule_category.to_ascii_lowercase().into(),
        ));
        self
    }

    /// Forgets all category implications, the default ones included.
    pub fn clear_category_implications(&mut self) -> &mut Self {
        self.implications.clear();
        self
    }

    /// Adds a transformation run, in the order added, on every rule and on every filter's
    /// detection ([`SigmaFilter::rule`]) before compilation: the hook processing pipelines use
    /// for field mappings and the like. An `Err` rejects the rule with
    /// [`ErrorKind::Transform`].
    pub fn transform<F>(&mut self, f: F) -> &mut Self
    where
        F: Fn(&mut SigmaRule) -> Result<(), String> + Send + Sync + 'static,
    {
        self.transforms.push(Box::new(f));
        self
    }

    /// Compiles everything added so far (the builder is left empty, keeping its settings).
    /// Returns the rule set and every error, load errors first.
    pub fn build(&mut self) -> (RuleSet, Vec<RuleError>) {
        let mut errors = std::mem::take(&mut self.errors);
        let documents = std::mem::take(&mut self.documents);
        let mut fields = FieldTable::default();
        let mut rules: Vec<(Arc<SigmaRule>, Program)> = Vec::new();
        let mut filters: Vec<SigmaFilter> = Vec::new();
        let mut correlations = Vec::new();

        let located = |meta: &RuleMeta, kind: ErrorKind| RuleError {
            path: meta.path.clone(),
            rule: Some(CompactString::from(meta.handle())).filter(|h| !h.is_empty()),
            document: 1,
            kind,
        };

        for document in documents {
            match document {
                SigmaDocument::Rule(mut rule) => {
                    if let Err(e) = self.transforms.iter().try_for_each(|t| t(&mut rule)) {
                        errors.push(located(&rule.meta, ErrorKind::Transform(e)));
                        continue;
                    }
                    let mut program = Program::default();
                    let mut compiler = Compiler {
                        fields: &mut fields,
                        placeholders: &self.placeholders,
                    };
                    match compiler.compile_rule(&rule, &mut program) {
                        Ok(expr) => {
                            program.expr = Some(expr);
                            rules.push((Arc::new(rule), program));
                        }
                        Err(kind) => errors.push(located(&rule.meta, kind)),
                    }
                }
                SigmaDocument::Filter(mut filter) => {
                    if let Err(e) = self.transforms.iter().try_for_each(|t| t(&mut filter.rule)) {
                        errors.push(located(&filter.rule.meta, ErrorKind::Transform(e)));
                        continue;
                    }
                    // Compile once on the side to report a broken filter as such.
                    let mut scratch_fields = FieldTable::default();
                    let mut compiler = Compiler {
                        fields: &mut scratch_fields,
                        placeholders: &self.placeholders,
                    };
                    match compiler
                        .compile_detection(&filter.rule.detection, &mut Program::default())
                    {
                        Ok(_) => filters.push(filter),
                        Err(kind) => errors.push(located(&filter.rule.meta, kind)),
                    }
                }
                SigmaDocument::Correlation(c) => correlations.push(c),
            }
        }

        let implications = self.implications.clone();
        for filter in &filters {
            for (rule, program) in &mut rules {
                let named = match &filter.targets {
                    FilterTargets::Any => true,
                    FilterTargets::Rules(refs) => refs.iter().any(|r| {
                        r.as_str() == rule.meta.id.as_str()
                            || rule.meta.name.as_deref() == Some(r.as_str())
                    }),
                };
                if !named
                    || !covers(
                        &key(&filter.rule.meta.logsource),
                        &key(&rule.meta.logsource),
                        &implications,
                    )
                {
                    continue;
                }
                let mut compiler = Compiler {
                    fields: &mut fields,
                    placeholders: &self.placeholders,
                };
                // The detection compiled above, so this cannot fail; a failure would only skip
                // the filter for this rule.
                if let (Ok(filter_expr), Some(expr)) = (
                    compiler.compile_detection(&filter.rule.detection, program),
                    program.expr.take(),
                ) {
                    program.expr = Some(Expr::And(Box::new([
                        expr,
                        Expr::Not(Box::new(filter_expr)),
                    ])));
                }
            }
        }

        let mut by_reference = HashMap::new();
        let mut metas = Vec::with_capacity(rules.len());
        let mut groups: Vec<(LsKey, Vec<u32>)> = Vec::new();
        let mut needs = Vec::with_capacity(rules.len());
        let mut rule_groups = Vec::with_capacity(rules.len());
        let mut group_of: HashMap<LsKey, usize> = HashMap::new();
        let mut programs = Vec::with_capacity(rules.len());
        let mut sources = Vec::with_capacity(rules.len());
        for (i, (rule, program)) in rules.into_iter().enumerate() {
            let id = RuleId(i as u32);
            if !rule.meta.id.is_empty() {
                by_reference.entry(rule.meta.id.clone()).or_insert(id);
            }
            if let Some(name) = &rule.meta.name {
                by_reference.entry(name.clone()).or_insert(id);
            }
            let k = key(&rule.meta.logsource);
            match group_of.get(&k) {
                Some(&g) => {
                    groups[g].1.push(i as u32);
                    rule_groups.push(g as u32);
                }
                None => {
                    group_of.insert(k.clone(), groups.len());
                    rule_groups.push(groups.len() as u32);
                    groups.push((k, vec![i as u32]));
                }
            }
            let expr = program.expr.clone().unwrap_or(Expr::Const(false));
            needs.push(prefilter::needs(&expr, &program.items));
            metas.push(Arc::new(rule.meta.clone()));
            programs.push(CompiledRule {
                expr,
                items: program.items,
            });
            sources.push(rule);
        }
        let prefilter = Prefilter::build(needs, &rule_groups);
        let everything = Arc::new(Route::new((0..programs.len() as u32).collect(), &prefilter));
        let inner = Inner {
            everything,
            uid: NEXT_UID.fetch_add(1, Ordering::Relaxed),
            fields,
            programs,
            metas,
            sources,
            by_reference,
            correlations,
            routing: self.routing,
            groups,
            implications,
            prefilter,
        };
        (
            RuleSet {
                inner: Arc::new(inner),
            },
            errors,
        )
    }
}

static NEXT_UID: AtomicU64 = AtomicU64::new(1);

/// A logsource with its parts lowercased, for routing.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
struct LsKey {
    product: Option<CompactString>,
    category: Option<CompactString>,
    service: Option<CompactString>,
}

fn lower(part: &Option<CompactString>) -> Option<CompactString> {
    part.as_ref().map(|p| p.to_lowercase())
}

fn key(ls: &LogSource) -> LsKey {
    LsKey {
        product: lower(&ls.product),
        category: lower(&ls.category),
        service: lower(&ls.service),
    }
}

/// Whether a rule (or filter) with logsource `rule` sees events (or rules) of logsource `event`:
/// every part the rule sets must be set on the event and equal, categories up to implications.
fn covers(rule: &LsKey, event: &LsKey, implications: &[(CompactString, CompactString)]) -> bool {
    let part = |r: &Option<CompactString>, e: &Option<CompactString>| match (r, e) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(r), Some(e)) => r == e,
    };
    let category = match (&rule.category, &event.category) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(r), Some(e)) => {
            r == e
                || implications
                    .iter()
                    .any(|(child, parent)| child == e && parent == r)
        }
    };
    category && part(&rule.product, &event.product) && part(&rule.service, &event.service)
}

#[derive(Debug)]
struct CompiledRule {
    expr: Expr,
    items: Vec<super::compile::Item>,
}

struct Inner {
    uid: u64,
    fields: FieldTable,
    programs: Vec<CompiledRule>,
    metas: Vec<Arc<RuleMeta>>,
    sources: Vec<Arc<SigmaRule>>,
    by_reference: HashMap<CompactString, RuleId>,
    correlations: Vec<RawCorrelation>,
    routing: bool,
    groups: Vec<(LsKey, Vec<u32>)>,
    implications: Vec<(CompactString, CompactString)>,
    prefilter: Prefilter,
    /// The route when routing is off: every rule.
    everything: Arc<Route>,
}

/// Compiled Sigma rules, ready to match events.
///
/// Immutable, `Send + Sync`, and cheap to clone (an `Arc` inside): build once, share between
/// threads. Matching an event first routes it by logsource to the rules that may see it, then
/// skips those whose required literals are absent from the event (an Aho-Corasick scan per
/// field), and evaluates the rest. See [`RuleSetBuilder`] for an example.
#[derive(Clone)]
pub struct RuleSet {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for RuleSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuleSet")
            .field("rules", &self.inner.programs.len())
            .field("fields", &self.inner.fields.names.len())
            .field("correlations", &self.inner.correlations.len())
            .field("routing", &self.inner.routing)
            .finish()
    }
}

/// See [`RuleSet::prefilter_stats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrefilterStats {
    /// Rules with no literal the event must contain: evaluated for every event they see.
    pub always_evaluated: usize,
    /// Aho-Corasick automata (one per field holding substring literals, plus one for keywords).
    pub automata: usize,
    /// Distinct literals over all fields and kinds (exact values, basenames, substrings).
    pub literals: usize,
    /// Heap memory of the automata and hash tables, roughly.
    pub memory_bytes: usize,
}

/// What matching one event took, from [`RuleSet::trace`]: how far routing and the literal
/// prefilter narrowed the rules down. For profiling and tuning; matching itself counts nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MatchTrace {
    /// Rules the event's logsource routes to.
    pub routed: usize,
    /// Of those, rules without literals, evaluated whatever the event holds.
    pub always: usize,
    /// Prefilter targets (fields, keywords) scanned.
    pub targets: usize,
    /// Bytes of folded text the prefilter scanned with an automaton.
    pub scanned_bytes: usize,
    /// Rules fully evaluated (always-evaluated plus prefilter candidates).
    pub evaluated: usize,
    /// Rules that matched.
    pub matched: usize,
}

/// Reusable buffers for [`RuleSet::matches_into`]: keep one per thread (or per worker) to make
/// matching allocation-free in the common case. Works with any rule set; switching rule sets
/// only clears its caches.
#[derive(Debug, Default)]
pub struct MatchScratch {
    uid: u64,
    eval: EvalBuffers,
    /// Routes by the event's logsource as the parser wrote it (lowercased only on a miss).
    routes: HashMap<LogSource, Arc<Route>, foldhash::fast::RandomState>,
    candidates: Vec<u64>,
    seen: Vec<u64>,
    /// Per clause of the prefilter's rule needs: whether a needle of it was found.
    clauses: Vec<u64>,
    /// Keyword search's strings joined by a separator, scanned at once.
    joined: Vec<u8>,
}

impl MatchScratch {
    /// Empty buffers.
    pub fn new() -> Self {
        Self::default()
    }
}

thread_local! {
    static SCRATCH: RefCell<MatchScratch> = RefCell::new(MatchScratch::new());
}

/// Most distinct event logsources whose routes a scratch remembers.
const ROUTE_CACHE: usize = 1024;

impl RuleSet {
    /// A builder.
    pub fn builder() -> RuleSetBuilder {
        RuleSetBuilder::default()
    }

    /// Number of compiled detection rules.
    pub fn len(&self) -> usize {
        self.inner.programs.len()
    }

    /// Whether no rule compiled.
    pub fn is_empty(&self) -> bool {
        self.inner.programs.is_empty()
    }

    /// The metadata of a rule. Panics if `id` is not from this rule set.
    pub fn rule(&self, id: RuleId) -> &Arc<RuleMeta> {
        &self.inner.metas[id.index()]
    }

    /// The rule tree a rule was compiled from (after transformations, before filters).
    pub fn source(&self, id: RuleId) -> &SigmaRule {
        &self.inner.sources[id.index()]
    }

    /// Every rule with its id.
    pub fn rules(&self) -> impl ExactSizeIterator<Item = (RuleId, &Arc<RuleMeta>)> {
        self.inner
            .metas
            .iter()
            .enumerate()
            .map(|(i, m)| (RuleId(i as u32), m))
    }

    /// The rule whose `id` or `name` is `reference` (the first loaded, when several are).
    pub fn lookup(&self, reference: &str) -> Option<RuleId> {
        self.inner.by_reference.get(reference).copied()
    }

    /// The correlation rules found while loading, uninterpreted.
    pub fn correlations(&self) -> &[RawCorrelation] {
        &self.inner.correlations
    }

    /// Whether logsource routing is on.
    pub fn routing(&self) -> bool {
        self.inner.routing
    }

    /// The field names the rules refer to.
    pub fn field_names(&self) -> impl Iterator<Item = &str> {
        self.inner.fields.names.iter().map(|n| n.as_str())
    }

    /// What the literal prefilter holds: how many rules it cannot skip, its automata and their
    /// memory.
    pub fn prefilter_stats(&self) -> PrefilterStats {
        let pf = &self.inner.prefilter;
        PrefilterStats {
            always_evaluated: pf.always.iter().filter(|a| **a).count(),
            automata: pf
                .indexes
                .iter()
                .filter(|i| !i.substrings.is_empty())
                .count(),
            literals: pf.indexes.iter().map(|i| i.literals()).sum(),
            memory_bytes: pf.indexes.iter().map(|i| i.memory_usage()).sum(),
        }
    }

    /// The rules that match `event`, in rule order. Uses a per-thread [`MatchScratch`].
    pub fn matches(&self, event: &Event) -> Vec<RuleId> {
        let mut out = Vec::new();
        SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
            Ok(mut scratch) => self.matches_into(event, &mut scratch, &mut out),
            Err(_) => self.matches_into(event, &mut MatchScratch::new(), &mut out),
        });
        out
    }

    /// Like [`matches`](Self::matches), into the caller's buffers: `out` is cleared, then
    /// filled with the matching rules in rule order.
    pub fn matches_into(&self, event: &Event, scratch: &mut MatchScratch, out: &mut Vec<RuleId>) {
        self.run(event, scratch, out, true);
    }

    /// Evaluates every routed rule without the literal prefilter: slower, and by construction
    /// equal to [`matches`](Self::matches). Kept public so tests can check that equality.
    pub fn matches_exhaustive(&self, event: &Event) -> Vec<RuleId> {
        let mut out = Vec::new();
        self.run(event, &mut MatchScratch::new(), &mut out, false);
        out
    }

    /// Evaluates one rule on `event`, ignoring routing and the prefilter.
    pub fn evaluate(&self, id: RuleId, event: &Event) -> bool {
        let mut buffers = EvalBuffers::default();
        let mut eval = Eval::new(event, &self.inner.fields, &mut buffers);
        let program = &self.inner.programs[id.index()];
        let result = eval.expr(&program.expr, &program.items);
        eval.finish();
        result
    }

    /// Matches `event` like [`matches`](Self::matches) and reports what it took.
    pub fn trace(&self, event: &Event) -> MatchTrace {
        let mut trace = MatchTrace::default();
        let mut out = Vec::new();
        self.run_traced(
            event,
            &mut MatchScratch::new(),
            &mut out,
            true,
            Some(&mut trace),
        );
        trace
    }

    fn route(&self, event: &Event, scratch: &mut MatchScratch) -> Arc<Route> {
        if let Some(route) = scratch.routes.get(&event.logsource) {
            return route.clone();
        }
        let k = key(&event.logsource);
        let mut rules: Vec<u32> = self
            .inner
            .groups
            .iter()
            .filter(|(g, _)| covers(g, &k, &self.inner.implications))
            .flat_map(|(_, members)| members.iter().copied())
            .collect();
        rules.sort_unstable();
        let route = Arc::new(Route::new(rules, &self.inner.prefilter));
        if scratch.routes.len() >= ROUTE_CACHE {
            scratch.routes.clear();
        }
        scratch
            .routes
            .insert(event.logsource.clone(), route.clone());
        route
    }

    fn run(
        &self,
        event: &Event,
        scratch: &mut MatchScratch,
        out: &mut Vec<RuleId>,
        prefilter: bool,
    ) {
        self.run_traced(event, scratch, out, prefilter, None)
    }

    fn run_traced(
        &self,
        event: &Event,
        scratch: &mut MatchScratch,
        out: &mut Vec<RuleId>,
        prefilter: bool,
        mut trace: Option<&mut MatchTrace>,
    ) {
        out.clear();
        // Cold events (a stored batch) have their memory fetched in parallel, overlapping the
        // route lookup, instead of one miss at a time as matching reaches each string.
        event.prefetch_for_match();
        let inner = &*self.inner;
        if scratch.uid != inner.uid {
            scratch.uid = inner.uid;
            scratch.routes.clear();
        }
        let route = if inner.routing {
            self.route(event, scratch)
        } else {
            inner.everything.clone()
        };
        let pf = &inner.prefilter;
        let MatchScratch {
            eval: buffers,
            candidates,
            seen,
            clauses,
            joined,
            ..
        } = scratch;
        let mut eval = Eval::new(event, &inner.fields, buffers);
        let evaluate = |eval: &mut Eval<'_, '_>,
                        i: usize,
                        out: &mut Vec<RuleId>,
                        trace: Option<&mut MatchTrace>| {
            let program = &inner.programs[i];
            let hit = eval.expr(&program.expr, &program.items);
            if hit {
                out.push(RuleId(i as u32));
            }
            if let Some(trace) = trace {
                trace.evaluated += 1;
                trace.always += usize::from(pf.always[i]);
                trace.matched += usize::from(hit);
            }
        };
        if prefilter {
            candidates.clear();
            candidates.resize(route.width, 0);
            clauses.clear();
            clauses.resize(pf.clause_rule.len().div_ceil(64), 0);
            for &(t, field) in route.targets.iter() {
                // A field target whose field the event lacks (most of a Security event's ~30:
                // `ObjectType` on a logon) has nothing to scan; skipping it before `scan`
                // spares the target's own tables a cache line each.
                if field != KEYWORDS && !eval.has_elements(field) {
                    continue;
                }
                let bytes = scan(pf, t as usize, &mut eval, seen, candidates, clauses, joined);
                if let Some(trace) = trace.as_deref_mut() {
                    trace.targets += 1;
                    trace.scanned_bytes += bytes;
                }
            }
            // Routed candidates and routed always-evaluated rules, in rule order.
            // A candidate whose need has several clauses is evaluated only when all were seen.
            for &(w, mask, always) in route.words.iter() {
                let w = w as usize;
                let mut bits = (candidates[w] & mask) | always;
                while bits != 0 {
                    let i = w * 64 + bits.trailing_zeros() as usize;
                    bits &= bits - 1;
                    if always & (1 << (i % 64)) != 0 || pf.clauses_seen(i, clauses) {
                        evaluate(&mut eval, i, out, trace.as_deref_mut());
                    }
                }
            }
        } else {
            for &r in route.rules.iter() {
                evaluate(&mut eval, r as usize, out, trace.as_deref_mut());
            }
        }
        if let Some(trace) = trace {
            trace.routed = route.rules.len();
        }
        eval.finish();
    }
}

/// The rules an event logsource reaches, and the prefilter targets they need scanned.
#[derive(Debug)]
struct Route {
    rules: Box<[u32]>,
    /// `rules` as a bit set over all rules, by its non-zero words only: `(word, rules, the
    /// always-evaluated rules among them)`. A Security event's 146 rules fill a few of the
    /// 50 words SigmaHQ's rules take, and the candidates are read only there.
    words: Box<[(u32, u64, u64)]>,
    /// Words of a bit set over all rules.
    width: usize,
    /// The prefilter targets to scan, each with its field ([`KEYWORDS`] for keyword search).
    targets: Box<[(u32, FieldId)]>,
}

/// [`Route::targets`]' field of the keyword search target.
const KEYWORDS: FieldId = FieldId::MAX;

impl Route {
    fn new(rules: Vec<u32>, prefilter: &Prefilter) -> Route {
        let targets = prefilter
            .targets_of(&rules)
            .iter()
            .map(|&t| {
                let field = match prefilter.indexes[t as usize].target {
                    NeedTarget::Field(id) => id,
                    NeedTarget::Keywords => KEYWORDS,
                };
                (t, field)
            })
            .collect();
        let words = prefilter.always.len().div_ceil(64);
        let mut mask = vec![0u64; words];
        let mut always = vec![0u64; words];
        for &r in &rules {
            let (w, b) = (r as usize / 64, r % 64);
            mask[w] |= 1 << b;
            if prefilter.always[r as usize] {
                always[w] |= 1 << b;
            }
        }
        Route {
            rules: rules.into_boxed_slice(),
            words: (0..words)
                .filter(|&w| mask[w] != 0)
                .map(|w| (w as u32, mask[w], always[w]))
                .collect(),
            width: words,
            targets,
        }
    }
}

/// Looks target `t`'s needles up in its folded texts and marks the rules of every needle found
/// as candidates. Returns the bytes scanned by an automaton.
fn scan(
    pf: &Prefilter,
    t: usize,
    eval: &mut Eval<'_, '_>,
    seen: &mut Vec<u64>,
    candidates: &mut [u64],
    clauses: &mut [u64],
    joined: &mut Vec<u8>,
) -> usize {
    let index = &pf.indexes[t];
    let mut bytes = 0;
    let scanner = index.substrings.scanner();
    let automaton = scanner.map(|s| &s.automaton);
    // A target with only substring needles and a case-insensitive automaton scans ASCII texts
    // unfolded (folding was a third of keyword search: every string of every Windows event
    // goes through the `product: windows` keywords' DFA). Exact and basename lookups need
    // the folded text.
    let raw = index.exact.is_empty()
        && index.basename.is_empty()
        && scanner.is_some_and(|s| s.ascii_case_insensitive);
    if let Some(automaton) = automaton {
        seen.clear();
        seen.resize(automaton.patterns_len().div_ceil(64), 0);
    }
    let clause_rule = &pf.clause_rule;
    let mut mark = |found: &[u32], candidates: &mut [u64]| {
        for &c in found {
            clauses[c as usize / 64] |= 1 << (c % 64);
            let r = clause_rule[c as usize];
            candidates[r as usize / 64] |= 1 << (r % 64);
        }
    };
    if automaton.is_none() && !index.substrings.is_empty() {
        // The automaton could not be built: every substring needle counts as found, so the
        // rules needing one are evaluated in full and results stay exact.
        for found in &index.needle_clauses {
            mark(found, candidates);
        }
    }
    // Targets scanned unfolded (no exact or basename needles, by `raw`): a loop of their own
    // over the texts, without the general per-value lookups.
    if raw && let Some(scanner) = scanner {
        let automaton = &scanner.automaton;
        let min_len = index.min_len;
        let mut found = |p: usize| {
            if seen[p / 64] & (1 << (p % 64)) == 0 {
                seen[p / 64] |= 1 << (p % 64);
                mark(&index.needle_clauses[p], candidates);
            }
        };
        // Keyword search (every string of the event, 25 per Windows event): the strings joined
        // by a byte no needle holds, so no occurrence spans two of them, and scanned in one
        // call, whose fingerprint filter skips the stretches without a candidate, instead of a
        // call, and a padded copy for a short one, per string.
        if let (NeedTarget::Keywords, Some(separator)) = (&index.target, scanner.separator) {
            eval.join_keywords(min_len, separator, joined);
            automaton.for_each_overlapping(joined, &mut found);
            let bytes = joined.len();
            if joined.capacity() > SCRATCH_KEEP {
                *joined = Vec::new();
            }
            return bytes;
        }
        let each = |text: &str| {
            let b = text.as_bytes();
            if b.len() >= min_len {
                bytes += b.len();
                automaton.for_each_overlapping(b, &mut found);
            }
        };
        match index.target {
            NeedTarget::Keywords => eval.raw_keywords(each),
            NeedTarget::Field(id) => eval.raw_texts(id, each),
        }
        return bytes;
    }
    let integers = !index.exact.is_empty();
    let mut visit = |text: &str, integer: Option<i64>| {
        let b = text.as_bytes();
        if !index.exact.is_empty() {
            if let Some(rules) = index.exact.get(b) {
                mark(rules, candidates);
            }
            if let Some(n) = integer {
                let mut buf = [0u8; 24];
                let len = {
                    use std::io::Write;
                    let mut cursor = &mut buf[..];
                    let _ = write!(cursor, "{n}");
                    24 - cursor.len()
                };
                if let Some(rules) = index.exact.get(&buf[..len]) {
                    mark(rules, candidates);
                }
            }
        }
        if !index.basename.is_empty()
            && let Some(name) = prefilter::basename(b)
            && let Some(rules) = index.basename.get(name)
        {
            mark(rules, candidates);
        }
        if let Some(automaton) = automaton
            && b.len() >= index.min_len
        {
            bytes += text.len();
            automaton.for_each_overlapping(b, |p| {
                if seen[p / 64] & (1 << (p % 64)) == 0 {
                    seen[p / 64] |= 1 << (p % 64);
                    mark(&index.needle_clauses[p], candidates);
                }
            });
        }
    };
    match index.target {
        NeedTarget::Field(id) => eval.folded_texts(id, raw, integers, &mut visit),
        // Not reached for `raw` targets (they return above). Dropping the `raw` arguments and
        // this arm measured 41,281 instead of 40,815 instructions per Windows event (code
        // layout of the scan loops; docs/performance-matching.md, round 5), so they stay.
        NeedTarget::Keywords if raw => eval.raw_keywords(|text| visit(text, None)),
        NeedTarget::Keywords => eval.folded_keywords(raw, integers, &mut visit),
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Value;
    use proptest::prelude::*;

    /// One huge event does not leave its joined keyword strings in the scratch for good, and
    /// its keyword is still found at the far end.
    #[test]
    fn a_huge_event_does_not_keep_its_joined_strings() {
        let mut builder = RuleSet::builder();
        builder.add_yaml(
            "title: k\nlogsource: {product: windows}\ndetection:\n    keywords:\n        - 'mimikatz'\n    condition: keywords\n",
            None,
        );
        let (set, errors) = builder.build();
        assert!(errors.is_empty(), "{errors:?}");
        let mut event = Event::new();
        event.logsource = LogSource::new(Some("windows"), None, None);
        event.insert(
            "Message",
            format!("{}MimiKatz", "x".repeat(2 * SCRATCH_KEEP)),
        );
        let mut scratch = MatchScratch::new();
        let mut out = Vec::new();
        set.matches_into(&event, &mut scratch, &mut out);
        assert_eq!(out.len(), 1);
        assert!(scratch.joined.capacity() <= SCRATCH_KEEP);
    }

    /// Pieces rich in what the prefilter's kinds key on: backslashes (basenames), digits
    /// (numbers, also as floats), case and a non-ASCII letter (folding).
    fn piece() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop::sample::select(vec!["\\", "\\", "a", "B", "x.exe", "É", "1", " "]),
            0..3,
        )
        .prop_map(|p| p.concat())
    }

    fn rule_value() -> impl Strategy<Value = String> {
        (0usize..7, piece()).prop_map(|(kind, p)| {
            let quoted = format!("'{}'", p.replace('\'', "''"));
            let escaped = regex::escape(&p).replace('\'', "''");
            match kind {
                // Regular expressions: their required literals become substring needles.
                5 => format!("Image|re: '{escaped}\\d?'"),
                6 => format!("Image|re: '(?i)(?:{escaped}|x\\.EXE)'"),
                0 => format!("Image|endswith: {quoted}"),
                1 => format!("Image: {quoted}"),
                2 => format!("Image|contains: {quoted}"),
                3 => format!("Count: {}", p.bytes().filter(u8::is_ascii_digit).count()),
                _ => format!("Image|cased|endswith: {quoted}"),
            }
        })
    }

    fn event_value() -> impl Strategy<Value = Value> {
        prop_oneof![
            3 => (piece(), piece()).prop_map(|(a, b)| Value::from(format!("{a}{b}"))),
            1 => (0i64..5).prop_map(Value::Int),
            1 => (0i64..5).prop_map(|i| Value::Float(i as f64)),
            1 => prop::collection::vec(piece().prop_map(Value::from), 0..3).prop_map(Value::from),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        /// Exact-value, basename and substring lookups (and the float form of an integer) skip
        /// no rule that full evaluation of every rule would match.
        #[test]
        fn hashed_needles_equal_full_evaluation(
            rules in prop::collection::vec(prop::collection::vec(rule_value(), 1..3), 1..6),
            events in prop::collection::vec((event_value(), event_value()), 1..8),
        ) {
            let mut builder = RuleSet::builder();
            for (i, items) in rules.iter().enumerate() {
                let body: String = items.iter().map(|v| format!("        {v}\n")).collect();
                let yaml = format!(
                    "title: r{i}\nlogsource: {{product: windows}}\ndetection:\n    sel:\n{body}    condition: sel\n"
                );
                builder.add_yaml(&yaml, None);
            }
            let (set, _) = builder.build();
            for (image, count) in events {
                let mut event = Event::new();
                event.logsource = LogSource::new(Some("windows"), None, None);
                event.insert("Image", image);
                event.insert("Count", count);
                prop_assert_eq!(set.matches(&event), set.matches_exhaustive(&event));
            }
        }
    }

    /// Pieces for the case-insensitive scans of unfolded ASCII text: letters of both cases,
    /// and non-ASCII characters whose folding is or holds ASCII (the Kelvin sign folds to `k`,
    /// `İ` to `i` and a combining dot), which must not be scanned unfolded.
    fn cased_piece() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop::sample::select(vec![
                "k", "K", "\u{212A}", "iw", "IW", "İ", "é", "É", ":", "x",
            ]),
            0..5,
        )
        .prop_map(|p| p.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        /// Keywords and a field with substring needles only (scanned unfolded when ASCII, by
        /// case-insensitive DFAs) skip no rule that full evaluation would match.
        #[test]
        fn unfolded_scans_equal_full_evaluation(
            rules in prop::collection::vec((any::<bool>(), prop::collection::vec(cased_piece(), 1..3)), 1..6),
            events in prop::collection::vec(prop::collection::vec(cased_piece(), 1..4), 1..8),
        ) {
            let mut builder = RuleSet::builder();
            for (i, (keywords, values)) in rules.iter().enumerate() {
                let quoted = |v: &String| format!("'{}'", v.replace('\'', "''"));
                let body: String = if *keywords {
                    values.iter().map(|v| format!("        - {}\n", quoted(v))).collect()
                } else {
                    let list: String =
                        values.iter().map(|v| format!("            - {}\n", quoted(v))).collect();
                    format!("        CommandLine|contains:\n{list}")
                };
                let yaml = format!(
                    "title: r{i}\nlogsource: {{product: windows}}\ndetection:\n    sel:\n{body}    condition: sel\n"
                );
                builder.add_yaml(&yaml, None);
            }
            let (set, _) = builder.build();
            for texts in events {
                let mut event = Event::new();
                event.logsource = LogSource::new(Some("windows"), None, None);
                event.insert("CommandLine", texts[0].as_str());
                for (i, t) in texts.iter().enumerate().skip(1) {
                    event.insert(format!("Other{i}"), t.as_str());
                }
                prop_assert_eq!(set.matches(&event), set.matches_exhaustive(&event));
            }
        }
    }

    /// A value for keyword search: a string, a number, or a list holding strings and objects
    /// (whose strings keywords see too).
    fn keyword_value() -> impl Strategy<Value = Value> {
        prop_oneof![
            4 => cased_piece().prop_map(Value::from),
            1 => (0i64..3).prop_map(Value::Int),
            1 => prop::collection::vec(cased_piece(), 0..3).prop_map(|items| {
                Value::from_json(serde_json::json!([
                    items.first().cloned().unwrap_or_default(),
                    {"inner": items.get(1).cloned().unwrap_or_default(), "n": 1},
                    [items.get(2).cloned().unwrap_or_default()],
                ]))
            }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        /// Keyword scans that read the event's strings directly (`Eval::raw_keywords`, ASCII
        /// unfolded, lists and objects walked, `event.original` only when nothing else is a
        /// string) skip no rule that full evaluation would match.
        #[test]
        fn direct_keyword_scans_equal_full_evaluation(
            rules in prop::collection::vec(prop::collection::vec(cased_piece(), 1..3), 1..5),
            events in prop::collection::vec(
                (prop::collection::vec(keyword_value(), 0..4), prop::option::of(cased_piece())),
                1..8,
            ),
        ) {
            let mut builder = RuleSet::builder();
            for (i, values) in rules.iter().enumerate() {
                let body: String = values
                    .iter()
                    .map(|v| format!("        - '{}'\n", v.replace('\'', "''")))
                    .collect();
                let yaml = format!(
                    "title: r{i}\nlogsource: {{product: windows}}\ndetection:\n    sel:\n{body}    condition: sel\n"
                );
                builder.add_yaml(&yaml, None);
            }
            let (set, _) = builder.build();
            for (values, original) in events {
                let mut event = Event::new();
                event.logsource = LogSource::new(Some("windows"), None, None);
                if let Some(original) = original {
                    event.insert(crate::event::ORIGINAL, original);
                }
                for (i, v) in values.into_iter().enumerate() {
                    event.insert(format!("f{i}"), v);
                }
                prop_assert_eq!(set.matches(&event), set.matches_exhaustive(&event));
            }
        }
    }

    #[test]
    fn rule_set_is_send_sync() {
        fn check<T: Send + Sync>() {}
        check::<RuleSet>();
    }

    #[test]
    fn covers_follows_the_routing_rules() {
        let imp: Vec<(CompactString, CompactString)> = DEFAULT_CATEGORY_IMPLICATIONS
            .iter()
            .map(|(a, b)| ((*a).into(), (*b).into()))
            .collect();
        let k = |p: Option<&str>, c: Option<&str>, s: Option<&str>| key(&LogSource::new(p, c, s));
        assert!(covers(&k(None, None, None), &k(None, None, None), &imp));
        assert!(covers(
            &k(Some("windows"), None, None),
            &k(Some("Windows"), Some("x"), None),
            &imp
        ));
        assert!(!covers(
            &k(Some("windows"), None, None),
            &k(None, None, None),
            &imp
        ));
        assert!(covers(
            &k(None, Some("registry_event"), None),
            &k(None, Some("registry_set"), None),
            &imp
        ));
        assert!(!covers(
            &k(None, Some("registry_set"), None),
            &k(None, Some("registry_event"), None),
            &imp
        ));
        assert!(!covers(
            &k(None, Some("file_event"), None),
            &k(None, Some("file_delete"), None),
            &imp
        ));
    }
}
