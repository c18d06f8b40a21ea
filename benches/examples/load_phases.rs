//! Where rule loading spends its time: YAML parsing alone, building without pipelines, and
//! with the default pipelines (`cargo run --release -p siem-benches --example load_phases`).

use std::time::Instant;

use siem_benches::corpus;
use siem_core::sigma::{RuleSet, parse_documents};

fn main() {
    let texts = corpus::sigmahq_rule_texts();
    for _ in 0..2 {
        let t = Instant::now();
        let n: usize = texts
            .iter()
            .map(|(p, t)| parse_documents(t, Some(p)).0.len())
            .sum();
        let parse = t.elapsed();
        let t = Instant::now();
        let mut b = RuleSet::builder();
        for (p, t) in &texts {
            b.add_yaml(t, Some(p));
        }
        let added = t.elapsed();
        let t = Instant::now();
        let plain = b.build().0.len();
        let compile = t.elapsed();
        let t = Instant::now();
        let with = corpus::siem_rule_set(&texts).len();
        let defaults = t.elapsed();
        println!(
            "{n} documents: parse {parse:?}; add_yaml {added:?} + build {compile:?} ({plain} rules, no pipelines); with default pipelines {defaults:?} ({with} rules)"
        );
    }
}
