//! Bounded YAML loading and legacy collections (`action: global / reset / repeat`).
//!
//! YAML is read with `yaml_serde`, the YAML Organization's maintained continuation of the
//! archived `serde_yaml` (same API, same libyaml-derived parser; RSigma reads rules with it too).
//! Rules come from users and from the network, so the loader bounds what one text may cost
//! before any of it reaches the rule parser: the text size, the number of nodes it expands into
//! (aliases can repeat an anchor many times: "billion laughs"), the bytes of string data after
//! alias expansion, and the nesting depth. Each bound produces an error, never a panic.

use std::fmt;

use serde::de::{self, DeserializeSeed, Visitor};
use yaml_serde::{Mapping, Value};

use super::error::ErrorKind;

/// Largest YAML text accepted (SigmaHQ's largest rule file is 0.3 MB).
pub const MAX_TEXT_BYTES: usize = 8 << 20;
/// Most YAML nodes one text may expand into, aliases included.
pub const MAX_NODES: usize = 1 << 21;
/// Most string bytes one text may expand into, aliases included.
pub const MAX_STRING_BYTES: usize = 64 << 20;
/// Deepest nesting of mappings and sequences accepted.
pub const MAX_DEPTH: usize = 48;

struct Budget {
    nodes: usize,
    bytes: usize,
}

/// Builds a `yaml_serde::Value` while charging every node against the budget.
struct Bounded<'b> {
    budget: &'b mut Budget,
    depth: usize,
}

impl Bounded<'_> {
    fn charge<E: de::Error>(&mut self, bytes: usize) -> Result<(), E> {
        if self.budget.nodes == 0 {
            return Err(E::custom(format_args!(
                "more than {MAX_NODES} YAML nodes after alias expansion"
            )));
        }
        self.budget.nodes -= 1;
        if bytes > self.budget.bytes {
            return Err(E::custom(format_args!(
                "more than {MAX_STRING_BYTES} bytes of strings after alias expansion"
            )));
        }
        self.budget.bytes -= bytes;
        Ok(())
    }

    fn child(&mut self) -> Bounded<'_> {
        Bounded {
            budget: self.budget,
            depth: self.depth + 1,
        }
    }
}

impl<'de> DeserializeSeed<'de> for Bounded<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Bounded<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E: de::Error>(mut self, v: bool) -> Result<Value, E> {
        self.charge(0)?;
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(mut self, v: i64) -> Result<Value, E> {
        self.charge(0)?;
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E: de::Error>(mut self, v: u64) -> Result<Value, E> {
        self.charge(0)?;
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(mut self, v: f64) -> Result<Value, E> {
        self.charge(0)?;
        Ok(Value::Number(v.into()))
    }

    fn visit_str<E: de::Error>(mut self, v: &str) -> Result<Value, E> {
        self.charge(v.len())?;
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(mut self, v: String) -> Result<Value, E> {
        self.charge(v.len())?;
        Ok(Value::String(v))
    }

    fn visit_unit<E: de::Error>(mut self) -> Result<Value, E> {
        self.charge(0)?;
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        self.visit_unit()
    }

    fn visit_some<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A: de::SeqAccess<'de>>(mut self, mut seq: A) -> Result<Value, A::Error> {
        self.charge(0)?;
        if self.depth >= MAX_DEPTH {
            return Err(de::Error::custom(format_args!(
                "nesting deeper than {MAX_DEPTH} levels"
            )));
        }
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self.child())? {
            items.push(item);
        }
        Ok(Value::Sequence(items))
    }

    fn visit_map<A: de::MapAccess<'de>>(mut self, mut map: A) -> Result<Value, A::Error> {
        self.charge(0)?;
        if self.depth >= MAX_DEPTH {
            return Err(de::Error::custom(format_args!(
                "nesting deeper than {MAX_DEPTH} levels"
            )));
        }
        let mut out = Mapping::new();
        while let Some(key) = map.next_key_seed(self.child())? {
            let value = map.next_value_seed(self.child())?;
            if out.contains_key(&key) {
                return Err(de::Error::custom(format_args!(
                    "duplicate key `{}`",
                    scalar_text(&key).unwrap_or_else(|| "(complex key)".into())
                )));
            }
            out.insert(key, value);
        }
        Ok(Value::Mapping(out))
    }

    fn visit_enum<A: de::EnumAccess<'de>>(mut self, data: A) -> Result<Value, A::Error> {
        use de::VariantAccess;
        self.charge(0)?;
        let (tag, contents) = data.variant::<String>()?;
        let value = contents.newtype_variant_seed(self.child())?;
        Ok(Value::Tagged(Box::new(yaml_serde::value::TaggedValue {
            tag: yaml_serde::value::Tag::new(tag),
            value,
        })))
    }
}

/// The text of a scalar (strings as they are, numbers and booleans in YAML form).
pub(crate) fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Tagged(tagged) => scalar_text(&tagged.value),
        _ => None,
    }
}

/// What kind of YAML value this is, for messages.
pub(crate) fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

/// Reads every document of a YAML stream. Stops at the first document that does not parse
/// (the parser cannot resynchronise after a syntax error); each entry is the document's value or
/// why it could not be read.
///
/// Texts in the part of YAML that rules use go through the fast reader (`yaml_fast`), which
/// builds the same tree several times faster; anything else, errors included, goes through
/// `yaml_serde`.
pub(crate) fn load_documents(text: &str) -> Vec<Result<Value, ErrorKind>> {
    if text.len() > MAX_TEXT_BYTES {
        return vec![Err(ErrorKind::TooLarge {
            size: text.len(),
            limit: MAX_TEXT_BYTES,
        })];
    }
    if let Some(values) = super::yaml_fast::load(text) {
        return values.into_iter().map(Ok).collect();
    }
    load_with_yaml_serde(text)
}

/// Reads a YAML stream with the fast reader alone: every document, or `None` when the text is
/// outside the subset it handles (anchors, aliases, tags, flow mappings, tabs, CR line ends,
/// errors...), where rule loading falls back to `yaml_serde`. Whatever it accepts it reads as
/// [`read_yaml_serde`] does. Public for differential tests and benchmarks; loading rules uses
/// it already.
///
/// ```
/// let docs = siem_core::sigma::read_yaml_fast("title: t\ntags: [a, b]\n").unwrap();
/// assert_eq!(docs[0]["tags"][1], "b");
/// assert!(siem_core::sigma::read_yaml_fast("a: &x 1\nb: *x\n").is_none());
/// ```
pub fn read_yaml_fast(text: &str) -> Option<Vec<Value>> {
    if text.len() > MAX_TEXT_BYTES {
        return None;
    }
    super::yaml_fast::load(text)
}

/// Reads a YAML stream with `yaml_serde` alone, with the loader's bounds (size, nodes, string
/// bytes, depth, duplicate keys): the reference [`read_yaml_fast`] is checked against. Each
/// entry is a document or why it could not be read (reading stops at the first error).
pub fn read_yaml_serde(text: &str) -> Vec<Result<Value, ErrorKind>> {
    if text.len() > MAX_TEXT_BYTES {
        return vec![Err(ErrorKind::TooLarge {
            size: text.len(),
            limit: MAX_TEXT_BYTES,
        })];
    }
    load_with_yaml_serde(text)
}

fn load_with_yaml_serde(text: &str) -> Vec<Result<Value, ErrorKind>> {
    let mut budget = Budget {
        nodes: MAX_NODES,
        bytes: MAX_STRING_BYTES,
    };
    let mut out = Vec::new();
    for document in yaml_serde::Deserializer::from_str(text) {
        match (Bounded {
            budget: &mut budget,
            depth: 0,
        })
        .deserialize(document)
        {
            Ok(value) => out.push(Ok(value)),
            Err(e) => {
                out.push(Err(ErrorKind::Yaml(e.to_string())));
                break;
            }
        }
    }
    out
}

/// Merges `src` into `dest`: mappings recursively, anything else replaced by `src`'s value.
/// This is how Sigma 1 collections combined an `action: global` document with the documents
/// after it. Takes `src` by value so nothing is copied (an ordinary rule file merges every
/// node of its one document).
fn deep_merge(dest: &mut Mapping, src: Mapping) {
    for (key, value) in src {
        match (dest.get_mut(&key), value) {
            (Some(Value::Mapping(d)), Value::Mapping(s)) => deep_merge(d, s),
            (_, value) => {
                dest.insert(key, value);
            }
        }
    }
}

/// One document of a stream after collection processing.
pub(crate) struct Document {
    /// 1-based position in the stream.
    pub index: usize,
    /// The (merged) document, or why it is unusable.
    pub value: Result<Mapping, ErrorKind>,
}

/// Applies Sigma 1 collection actions: an `action: global` document is merged into every
/// following document, `action: reset` forgets it, `action: repeat` takes the previous rule and
/// merges the document into it. Documents without `action` are ordinary documents (merged with
/// the current global part, empty when there is none). Empty documents are skipped.
pub(crate) fn expand_collection(documents: Vec<Result<Value, ErrorKind>>) -> Vec<Document> {
    let mut global = Mapping::new();
    // Where in `out` the previous rule is (for `repeat`): cloned only when repeated.
    let mut previous: Option<usize> = None;
    let mut out: Vec<Document> = Vec::new();
    for (i, document) in documents.into_iter().enumerate() {
        let index = i + 1;
        let mut map = match document {
            Ok(Value::Mapping(map)) => map,
            Ok(Value::Null) => continue,
            Ok(other) => {
                out.push(Document {
                    index,
                    value: Err(ErrorKind::NotAMapping(kind_of(&other))),
                });
                continue;
            }
            Err(e) => {
                out.push(Document {
                    index,
                    value: Err(e),
                });
                continue;
            }
        };
        let action = map.shift_remove("action");
        match action.as_ref().map(|a| scalar_text(a).unwrap_or_default()) {
            None => {
                // Merging into an empty global part gives the document itself.
                let merged = if global.is_empty() {
                    map
                } else {
                    let mut merged = global.clone();
                    deep_merge(&mut merged, map);
                    merged
                };
                previous = Some(out.len());
                out.push(Document {
                    index,
                    value: Ok(merged),
                });
            }
            Some(action) => match action.as_str() {
                "global" => deep_merge(&mut global, map),
                "reset" => global = Mapping::new(),
                "repeat" => match previous.and_then(|p| out.get(p)).map(|d| &d.value) {
                    Some(Ok(prev)) => {
                        let mut merged = prev.clone();
                        deep_merge(&mut merged, map);
                        previous = Some(out.len());
                        out.push(Document {
                            index,
                            value: Ok(merged),
                        });
                    }
                    _ => out.push(Document {
                        index,
                        value: Err(ErrorKind::RepeatWithoutRule),
                    }),
                },
                _ => out.push(Document {
                    index,
                    value: Err(ErrorKind::UnknownAction(action)),
                }),
            },
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alias_bombs_are_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let prev = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"
            ));
        }
        let docs = load_documents(&text);
        assert!(
            matches!(&docs[0], Err(ErrorKind::Yaml(m)) if m.contains("limit") || m.contains("nodes")),
            "{docs:?}"
        );
    }

    #[test]
    fn deep_nesting_is_refused() {
        let text = format!("{}{}", "[".repeat(500), "]".repeat(500));
        assert!(matches!(&load_documents(&text)[0], Err(ErrorKind::Yaml(_))));
    }

    #[test]
    fn duplicate_keys_are_refused() {
        let docs = load_documents("a: 1\na: 2\n");
        assert!(matches!(&docs[0], Err(ErrorKind::Yaml(m)) if m.contains("duplicate key `a`")));
    }

    #[test]
    fn collections_merge_global_reset_and_repeat() {
        let docs = load_documents(
            "action: global\nt: g\nd: {a: 1}\n---\nd: {b: 2}\n---\naction: repeat\nd: {c: 3}\n---\naction: reset\n---\nd: {e: 5}\n",
        );
        let out = expand_collection(docs);
        let maps: Vec<_> = out.into_iter().map(|d| d.value.unwrap()).collect();
        assert_eq!(maps.len(), 3);
        assert_eq!(
            yaml_serde::to_string(&maps[0]).unwrap(),
            "t: g\nd:\n  a: 1\n  b: 2\n"
        );
        assert_eq!(
            yaml_serde::to_string(&maps[1]).unwrap(),
            "t: g\nd:\n  a: 1\n  b: 2\n  c: 3\n"
        );
        assert_eq!(yaml_serde::to_string(&maps[2]).unwrap(), "d:\n  e: 5\n");
    }
}
