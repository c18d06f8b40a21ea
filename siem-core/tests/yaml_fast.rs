//! The fast YAML reader against `yaml_serde`: whenever it accepts a text, it must produce the
//! very same documents (tree equality, mapping order included); when it declines, rule loading
//! falls back to `yaml_serde`. Checked on every YAML file of the SigmaHQ corpus (where it must
//! accept nearly everything) and on generated YAML-ish documents, valid or broken.
//!
//! `cargo test -p siem-core --test yaml_fast -- --nocapture` prints the fallback count.

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use siem_core::sigma::{read_yaml_fast, read_yaml_serde};

/// `Some(why)` when the fast reader accepted `text` but disagrees with `yaml_serde`.
fn disagreement(text: &str) -> Option<String> {
    let fast = read_yaml_fast(text)?;
    let reference: Result<Vec<_>, _> = read_yaml_serde(text).into_iter().collect();
    match reference {
        Err(e) => Some(format!("yaml_serde refused ({e}), fast read {fast:?}")),
        // Debug shows mapping order, which `==` on mappings ignores.
        Ok(reference) if reference != fast || format!("{reference:?}") != format!("{fast:?}") => {
            Some(format!("yaml_serde {reference:?}\nfast       {fast:?}"))
        }
        Ok(_) => None,
    }
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for p in entries.map(|e| e.unwrap().path()) {
        if p.is_dir() {
            yaml_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "yml" || e == "yaml") {
            out.push(p);
        }
    }
}

#[test]
fn every_sigmahq_yaml_file_reads_as_yaml_serde_reads_it() {
    let root = siem_testkit::corpus("sigma");
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&root).unwrap() {
        let p = entry.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if p.is_dir()
            && (name.starts_with("rules")
                || name == "deprecated"
                || name == "unsupported"
                || name == "regression_data"
                || name == "tests")
        {
            yaml_files(&p, &mut files);
        }
    }
    files.sort();
    let mut declined = Vec::new();
    let mut wrong = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        if read_yaml_fast(&text).is_none() {
            declined.push(file.strip_prefix(&root).unwrap().display().to_string());
        } else if let Some(why) = disagreement(&text) {
            wrong.push(format!("{}: {why}", file.display()));
        }
    }
    println!(
        "{} YAML files: {} read by the fast reader, {} fell back to yaml_serde",
        files.len(),
        files.len() - declined.len(),
        declined.len()
    );
    for d in &declined {
        println!("  fell back: {d}");
    }
    assert!(files.len() > 4000, "only {} files found", files.len());
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
    // Only files with YAML outside the subset (anchors, tabs, flow mappings) may fall back.
    assert!(declined.len() <= 12, "{} fell back", declined.len());
}

/// Texts the fast reader must accept (the constructs rules use), each checked against
/// `yaml_serde`.
#[test]
fn the_subset_is_accepted_and_read_identically() {
    let cases = [
        "title: t\nid: 1\n",
        "a:\n  b: c\n  d:\n    - e\n    - 'f'\n",
        "a:\n- x\n- y\nb: z\n",
        "- a: 1\n  b: 2\n- - x\n  - y\n-\n  k: v\n",
        "a: 'it''s'\nb: \"q\\t\\\"\\u00e9\\x41\\\\\"\nc: '\\\\evil.exe'\n",
        "a: one\n  two\n\n  three\nb: x # comment\n# full line\nc: d#e\n",
        "a: |\n  line 1\n    more\n\n  line 3\nb: |-\n   x\n\nc: |+\n  y\n\n\nd: >\n  f1\n  f2\n\n  f3\n   g\ne: |2\n   z\n",
        "a: [x, 'y', \"z\", [1, 2.5]]\nb: []\nc: [a b, -d]\n",
        "a: ~\nb: null\nc:\nd: true\ne: False\nf: 0x1F\ng: -0o7\nh: 007\ni: 1e3\nj: .inf\nk: -.INF\nl: +12\nm: 1.\nn: .5\no: 0b101\n",
        "1: a\ntrue: b\n'1': c\n",
        "a : b\n'k' : v\n",
        "---\na: 1\n---\nb: 2\n",
        "a: 1\n---\n",
        "",
        "# only a comment\n",
        "---\n---\n",
        "  a: 1\n  b: 2\n",
        "a: x\nb: \"multi\n  line\n\n  quoted\"\nc: 'single\n  folded'\n",
        "a: \"esc \\\n  aped\"\n",
        "a: é ü\nb: 'ü'\n",
        "a:\n  - b\n  -   c: 1\n      d: 2\n",
        "a: b:c\nd: -e\nf: ?g\nh: :i\n",
    ];
    for text in cases {
        assert!(read_yaml_fast(text).is_some(), "declined:\n{text}");
        if let Some(why) = disagreement(text) {
            panic!("{text}\n{why}");
        }
    }
}

/// Texts outside the subset (or invalid): the fast reader declines.
#[test]
fn outside_the_subset_falls_back() {
    let cases = [
        "a: &x 1\nb: *x\n",
        "a: !tag x\n",
        "a: {b: c}\n",
        "? a\n: b\n",
        "a:\tb\n",
        "a: b\r\n",
        "%YAML 1.2\n---\na: b\n",
        "a: b\n...\n",
        "a: b\na: c\n",
        "a: b: c\n",
        "a:\n    b: 1\n  c: 2\n",
        "a: 'unterminated\n",
        "a: 18446744073709551616\n",
        "just a scalar\n",
        "\u{feff}a: b\n",
        "a: [x,]\n",
        "a: \"\\q\"\n",
    ];
    for text in cases {
        assert!(read_yaml_fast(text).is_none(), "accepted:\n{text}");
    }
    let deep = format!(
        "{}x: 1\n",
        (0..60)
            .map(|i| format!("{}k:\n", " ".repeat(i)))
            .collect::<String>()
    );
    assert!(read_yaml_fast(&deep).is_none());
}

/// A generated tree, rendered as block YAML with choices taken from `choices`.
#[derive(Debug, Clone)]
enum Node {
    Scalar(String),
    Seq(Vec<Node>),
    Map(Vec<(String, Node)>),
}

const SCALARS: &[&str] = &[
    "a",
    "foo bar",
    "true",
    "False",
    "null",
    "~",
    "",
    "1",
    "-1",
    "+7",
    "0x1F",
    "0o17",
    "0b11",
    "007",
    "-0",
    "1.5",
    "1e3",
    "1.",
    ".5",
    ".inf",
    "-.Inf",
    ".nan",
    "nan",
    "inf",
    "1_000",
    "18446744073709551616",
    "-9223372036854775809",
    "a: b",
    "a #b",
    "a#b",
    "#x",
    "- x",
    "-x",
    "x:",
    ":x",
    "?x",
    "'q'",
    "\"d\"",
    "it's",
    "\\\\evil.exe",
    "C:\\Windows\\",
    "%ph%",
    "*.exe",
    "é ü",
    "{x}",
    "[y]",
    "a,b",
    "@x",
    "`x`",
    "!x",
    "&x",
    "|",
    ">",
    " lead",
    "trail ",
    "a\nb",
    "a\n\nb",
    "tab\there",
    "---",
    "...",
    "x: y: z",
    "\\u00e9",
    "2001:db8::1",
];

fn node() -> impl Strategy<Value = Node> {
    let leaf = proptest::sample::select(SCALARS).prop_map(|s| Node::Scalar(s.to_owned()));
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Node::Seq),
            proptest::collection::vec(
                (
                    proptest::sample::select(SCALARS).prop_map(str::to_owned),
                    inner
                ),
                1..4
            )
            .prop_map(Node::Map),
        ]
    })
}

/// A document: a mapping or a non-empty sequence, as rule files are (top-level scalars and flow
/// collections are outside the subset).
fn document() -> impl Strategy<Value = Node> {
    node().prop_map(|n| match n {
        Node::Seq(items) if !items.is_empty() => Node::Seq(items),
        Node::Map(entries) => Node::Map(entries),
        other => Node::Map(vec![("title".to_owned(), other)]),
    })
}

struct Render<'c> {
    choices: &'c [u8],
    at: usize,
    out: String,
}

impl Render<'_> {
    fn pick(&mut self, n: u8) -> u8 {
        let c = self.choices[self.at % self.choices.len()];
        self.at += 1;
        c % n
    }

    fn scalar(&mut self, s: &str, indent: usize, block_ok: bool) {
        match self.pick(if block_ok { 7 } else { 5 }) {
            0 | 1 => self.out.push_str(s),
            2 => {
                self.out.push('\'');
                self.out.push_str(&s.replace('\'', "''"));
                self.out.push('\'');
            }
            3 => {
                let esc = s
                    .replace('\\', "\\\\")
                    .replace('"', "\\\"")
                    .replace('\n', "\\n")
                    .replace('\t', "\\t");
                self.out.push('"');
                self.out.push_str(&esc);
                self.out.push('"');
            }
            4 => {
                // A multi-line quoted or plain scalar.
                let q = ["", "'", "\""][usize::from(self.pick(3))];
                self.out.push_str(q);
                for (i, word) in s.split(' ').enumerate() {
                    if i > 0 {
                        self.out.push('\n');
                        let n = indent + 1 + usize::from(self.pick(3));
                        self.out.push_str(&" ".repeat(n));
                    }
                    self.out.push_str(word);
                }
                self.out.push_str(q);
            }
            k => {
                let header = ["|", ">", "|-", "|+", ">-", "|2", "|1-"][usize::from(self.pick(7))];
                self.out.push_str(if k == 5 { header } else { ">" });
                let pad = " ".repeat(indent + 1 + usize::from(self.pick(3)));
                for line in s.split('\n') {
                    self.out.push('\n');
                    if !line.is_empty() || self.pick(2) == 0 {
                        self.out.push_str(&pad);
                    }
                    self.out.push_str(line);
                }
                if self.pick(2) == 0 {
                    self.out.push('\n');
                }
            }
        }
    }

    fn end_line(&mut self) {
        match self.pick(6) {
            0 => self.out.push_str(" # note"),
            1 => self.out.push_str("  "),
            2 => self.out.push_str("\n\n# c\n"),
            _ => {}
        }
        if !self.out.ends_with('\n') {
            self.out.push('\n');
        }
    }

    /// A node as a block collection starting on a fresh line at `indent`, or after `- `.
    fn block(&mut self, node: &Node, indent: usize, first_inline: bool) {
        let pad = " ".repeat(indent);
        match node {
            Node::Scalar(s) => {
                if !first_inline {
                    self.out.push_str(&pad);
                }
                self.scalar(s, indent, true);
                self.end_line();
            }
            Node::Seq(items) if items.is_empty() => {
                if !first_inline {
                    self.out.push_str(&pad);
                }
                self.out.push_str("[]");
                self.end_line();
            }
            Node::Seq(items) => {
                for (i, item) in items.iter().enumerate() {
                    if i > 0 || !first_inline {
                        self.out.push_str(&pad);
                    }
                    self.out.push('-');
                    self.item(item, indent);
                }
            }
            Node::Map(entries) => {
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 || !first_inline {
                        self.out.push_str(&pad);
                    }
                    self.scalar(k, indent, false);
                    let colon = [":", " :"][usize::from(self.pick(8) / 7)];
                    self.out.push_str(colon);
                    self.value(v, indent);
                }
            }
        }
    }

    fn item(&mut self, item: &Node, indent: usize) {
        let step = 1 + usize::from(self.pick(4));
        match (item, self.pick(3)) {
            (Node::Scalar(s), _) => {
                self.out.push(' ');
                self.scalar(s, indent, true);
                self.end_line();
            }
            (Node::Seq(v), 0) if !v.is_empty() => self.flow(item, indent),
            (_, 1) => {
                self.out.push_str(&" ".repeat(step));
                self.block(item, indent + 1 + step, true);
            }
            _ => {
                self.out.push('\n');
                self.block(item, indent + step, false);
            }
        }
    }

    fn value(&mut self, v: &Node, indent: usize) {
        let step = 1 + usize::from(self.pick(4));
        match (v, self.pick(3)) {
            (Node::Scalar(s), _) => {
                self.out.push(' ');
                self.scalar(s, indent, true);
                self.end_line();
            }
            (Node::Seq(items), 0) if !items.is_empty() => self.flow(v, indent),
            (Node::Seq(items), 1) if !items.is_empty() => {
                // An indentless sequence.
                self.out.push('\n');
                self.block(v, indent, false);
            }
            _ => {
                self.out.push('\n');
                self.block(v, indent + step, false);
            }
        }
    }

    fn flow(&mut self, node: &Node, indent: usize) {
        self.out.push(' ');
        self.flow_node(node, indent);
        self.end_line();
    }

    fn flow_node(&mut self, node: &Node, indent: usize) {
        match node {
            Node::Scalar(s) => self.scalar(s, indent, false),
            Node::Seq(items) => {
                self.out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        let sep = [", ", ",", " , ", ",\n   "][usize::from(self.pick(4))];
                        self.out.push_str(sep);
                    }
                    self.flow_node(item, indent);
                }
                self.out.push(']');
            }
            Node::Map(_) => self.out.push_str("{}"),
        }
    }
}

fn render(docs: &[Node], choices: &[u8]) -> String {
    let mut r = Render {
        choices,
        at: 0,
        out: String::new(),
    };
    for (i, doc) in docs.iter().enumerate() {
        if i > 0 || r.pick(2) == 0 {
            r.out.push_str("---\n");
        }
        let indent = usize::from(r.pick(3));
        r.block(doc, indent, false);
    }
    r.out
}

/// Small edits that turn rendered YAML into near-misses: characters that matter to YAML
/// inserted, deleted or replaced.
fn mutate(text: &str, edits: &[(usize, u8, u8)]) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for &(at, op, ch) in edits {
        const CHARS: &[u8] = b" \n-:#'\"[],|>{}&*!?\\0a\t";
        let ch = CHARS[usize::from(ch) % CHARS.len()];
        if bytes.is_empty() {
            bytes.push(ch);
            continue;
        }
        let at = at % bytes.len();
        match op % 3 {
            0 => bytes.insert(at, ch),
            1 => {
                bytes.remove(at);
            }
            _ => bytes[at] = ch,
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn fast_reader_agrees_with_yaml_serde_when_it_accepts(
        docs in proptest::collection::vec(document(), 1..3),
        choices in proptest::collection::vec(any::<u8>(), 1..64),
        edits in proptest::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 0..3),
    ) {
        let text = mutate(&render(&docs, &choices), &edits);
        if let Some(why) = disagreement(&text) {
            prop_assert!(false, "text:\n{}\n---- {:?}\n{}", text, text, why);
        }
    }

    #[test]
    fn fast_reader_is_total(text in "[ \\n\\-:#'\"\\[\\],|>{}&*!?\\\\a-c0-2é\\t.]{0,120}") {
        if let Some(why) = disagreement(&text) {
            prop_assert!(false, "text: {:?}\n{}", text, why);
        }
    }
}
