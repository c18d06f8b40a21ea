//! The one event type every part of siem shares.
//!
//! An [`Event`] is what a parser produces and what rules match against: a UTC `@timestamp`,
//! typed fields named after the [Elastic Common Schema](https://www.elastic.co/guide/en/ecs/current/)
//! (`source.ip`, `user.name`, `process.command_line`, ...), the raw input in `event.original`,
//! and the Sigma [`LogSource`] (product / category / service) the parser inferred.
//!
//! # Representation and cost
//!
//! Fields are stored **flat**, keyed by their dotted ECS name, in insertion order (a vector of
//! entries with a hash index, hashed with foldhash seeded at random once per process: up to 16
//! fields the index is 32 two-byte slots inside the event, no allocation; beyond, a table of
//! eight-byte slots on the heap). Looking up
//! `"source.ip"` is therefore one hash probe, which is what the matcher does on its hot path,
//! and setting a new field is one probe too. Nested objects given to
//! [`Event::insert`] or read from JSON are flattened on the way in; [`Event::to_json`] nests
//! them again, so the JSON you get out is ordinary nested ECS that Kibana understands.
//!
//! Objects only survive inside lists (`threat.enrichments: [{...}, {...}]`), where flattening
//! would lose which values belong together; [`Event::for_each_value`] walks through them.
//!
//! When the input holds the same name both as a flat key and as a nested path
//! (`{"a.b": 1, "a": {"b": 2}}`), the flat key wins, as the Sigma specification asks
//! for dotted field names: the fewer levels of nesting a key came from, the higher its precedence.
//!
//! # Example
//!
//! ```
//! use siem_core::event::{Event, Value};
//!
//! let mut event = Event::from_json(r#"{"@timestamp":"2024-05-01T10:00:00Z",
//!     "source":{"ip":"203.0.113.7","port":51122},"user":{"name":"root"}}"#).unwrap();
//! assert_eq!(event.get("source.ip").unwrap().to_text(), "203.0.113.7");
//! assert_eq!(event.get("source.port"), Some(&Value::Int(51122)));
//! event.insert("event.outcome", "failure");
//! let json = event.to_json();
//! assert!(json.contains(r#""event":{"outcome":"failure"}"#));
//! ```

use std::borrow::Cow;
use std::fmt;
use std::net::IpAddr;

use chrono::{DateTime, SecondsFormat, Utc};
use compact_str::CompactString;
use indexmap::IndexMap;

/// The hasher used for field maps: fast, and randomly seeded so that field names chosen by an
/// attacker cannot degrade lookups.
pub type FieldHasher = foldhash::fast::RandomState;

/// A map from flattened, dotted field name to value, in insertion order.
pub type FieldMap = IndexMap<CompactString, Value, FieldHasher>;

/// The ECS field that keeps the raw input line.
pub const ORIGINAL: &str = "event.original";
/// The ECS field for the free-text message.
pub const MESSAGE: &str = "message";
/// The tag added to events that no parser could read.
pub const PARSE_FAILURE_TAG: &str = "_siem_parse_failure";

/// A typed field value.
///
/// Strings are [`CompactString`]s: up to 24 bytes are stored inline, so the short values that
/// dominate logs (user names, host names, ports, addresses) cost no allocation.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    /// JSON `null`, or a field that is explicitly empty.
    #[default]
    Null,
    /// A boolean.
    Bool(bool),
    /// A signed integer. JSON integers beyond `i64` become [`Value::Float`].
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// A string.
    Str(CompactString),
    /// An IPv4 or IPv6 address (ECS `ip` type fields such as `source.ip`).
    Ip(IpAddr),
    /// A list of values; a rule matches a list field when any element matches.
    ///
    /// Usually owned (`Value::List(vec.into())`); a parser that sets the same short list on
    /// every event (`event.category: [authentication]`) borrows a `static` one instead
    /// ([`Value::static_list`]), which costs no allocation. Read it as a `[Value]` slice; write
    /// through [`Cow::to_mut`].
    List(Cow<'static, [Value]>),
    /// An object inside a list, itself flattened.
    Object(Box<FieldMap>),
}

// Every field map bucket holds one: a larger `Value` would cost on every parser's hot path.
const _: () = assert!(std::mem::size_of::<Value>() == 32);

impl Value {
    /// The string slice when this is a [`Value::Str`].
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The integer when this is a [`Value::Int`].
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The text a string comparison sees: strings as they are, numbers in decimal, booleans as
    /// `true` / `false`, addresses in their canonical form, `null` as the empty string.
    /// Lists and objects render as compact JSON.
    ///
    /// Borrows for strings, allocates only for the other kinds.
    pub fn to_text(&self) -> Cow<'_, str> {
        match self {
            Value::Str(s) => Cow::Borrowed(s.as_str()),
            Value::Null => Cow::Borrowed(""),
            Value::Bool(true) => Cow::Borrowed("true"),
            Value::Bool(false) => Cow::Borrowed("false"),
            Value::Int(i) => Cow::Owned(i.to_string()),
            Value::Float(f) => Cow::Owned(format_float(*f)),
            Value::Ip(ip) => Cow::Owned(ip.to_string()),
            Value::List(_) | Value::Object(_) => {
                let mut out = String::new();
                write_json_value(&mut out, self);
                Cow::Owned(out)
            }
        }
    }

    /// Whether this is [`Value::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// A string known at compile time, pointing at the static text (no copy, no allocation).
    /// Usable in `const` / `static` items.
    pub const fn static_str(s: &'static str) -> Value {
        Value::Str(CompactString::const_new(s))
    }

    /// A list borrowed from a `static` slice: no allocation to build, none to free. Equal to the
    /// owned list with the same elements.
    ///
    /// ```
    /// use siem_core::event::Value;
    /// static AUTH: [Value; 1] = [Value::static_str("authentication")];
    /// assert_eq!(Value::static_list(&AUTH), Value::from(vec!["authentication"]));
    /// ```
    pub const fn static_list(items: &'static [Value]) -> Value {
        Value::List(Cow::Borrowed(items))
    }

    /// Converts a `serde_json` value, flattening objects (outside lists objects do not occur in an
    /// event; inside lists they are kept as flattened [`Value::Object`]s).
    pub fn from_json(value: serde_json::Value) -> Value {
        match value {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(b),
            serde_json::Value::Number(n) => number_value(&n),
            serde_json::Value::String(s) => Value::Str(CompactString::from(s)),
            serde_json::Value::Array(items) => {
                Value::List(items.into_iter().map(Value::from_json).collect())
            }
            serde_json::Value::Object(map) => {
                let mut flat = Flattener::default();
                flat.object("", map, 0);
                Value::Object(Box::new(flat.fields.into_map()))
            }
        }
    }

    /// Converts to a `serde_json` value (objects nested again).
    pub fn to_json_value(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(i) => serde_json::Value::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            Value::Str(s) => serde_json::Value::String(s.to_string()),
            Value::Ip(ip) => serde_json::Value::String(ip.to_string()),
            Value::List(items) => {
                serde_json::Value::Array(items.iter().map(Value::to_json_value).collect())
            }
            Value::Object(map) => {
                let mut out = String::new();
                write_nested(&mut out, map.iter().map(|(k, v)| (k.as_str(), v)));
                serde_json::from_str(&out).unwrap_or(serde_json::Value::Null)
            }
        }
    }
}

fn number_value(n: &serde_json::Number) -> Value {
    if let Some(i) = n.as_i64() {
        Value::Int(i)
    } else {
        Value::Float(n.as_f64().unwrap_or(f64::NAN))
    }
}

fn format_float(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{f:.1}")
    } else {
        f.to_string()
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Str(CompactString::from(s))
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(CompactString::from(s))
    }
}
impl From<CompactString> for Value {
    fn from(s: CompactString) -> Self {
        Value::Str(s)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}
impl From<u32> for Value {
    fn from(i: u32) -> Self {
        Value::Int(i64::from(i))
    }
}
impl From<u16> for Value {
    fn from(i: u16) -> Self {
        Value::Int(i64::from(i))
    }
}
impl From<u8> for Value {
    fn from(i: u8) -> Self {
        Value::Int(i64::from(i))
    }
}
impl From<f64> for Value {
    fn from(f: f64) -> Self {
        Value::Float(f)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl From<IpAddr> for Value {
    fn from(ip: IpAddr) -> Self {
        Value::Ip(ip)
    }
}
impl<T: Into<Value>> From<Vec<T>> for Value {
    fn from(items: Vec<T>) -> Self {
        Value::List(items.into_iter().map(Into::into).collect())
    }
}

/// The Sigma logsource of an event: which rules may see it.
///
/// Parsers fill in what they can tell (an sshd line is `product: linux, service: sshd`,
/// an Apache access line is `category: webserver`); `siem parse --logsource` and the bindings
/// let callers tag inputs the parser cannot recognise. Empty parts are `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct LogSource {
    /// Sigma `product`, e.g. `windows`, `linux`, `django`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<CompactString>,
    /// Sigma `category`, e.g. `process_creation`, `webserver`, `application`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<CompactString>,
    /// Sigma `service`, e.g. `security`, `sysmon`, `sshd`, `sudo`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<CompactString>,
}

impl LogSource {
    /// A logsource from its three optional parts.
    ///
    /// ```
    /// let ls = siem_core::event::LogSource::new(Some("linux"), None, Some("sshd"));
    /// assert_eq!(ls.to_string(), "product=linux,service=sshd");
    /// ```
    pub fn new(product: Option<&str>, category: Option<&str>, service: Option<&str>) -> Self {
        LogSource {
            product: product.map(CompactString::from),
            category: category.map(CompactString::from),
            service: service.map(CompactString::from),
        }
    }

    /// Whether no part is set.
    pub fn is_empty(&self) -> bool {
        self.product.is_none() && self.category.is_none() && self.service.is_none()
    }

    /// Parses `key=value,...` as given to `--logsource` (keys `product`, `category`, `service`).
    ///
    /// ```
    /// let ls = siem_core::event::LogSource::parse_spec("category=application,product=django").unwrap();
    /// assert_eq!(ls.product.as_deref(), Some("django"));
    /// assert!(siem_core::event::LogSource::parse_spec("vendor=x").is_err());
    /// ```
    pub fn parse_spec(spec: &str) -> Result<LogSource, String> {
        let mut ls = LogSource::default();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| format!("expected key=value in logsource spec, got {part:?}"))?;
            let value = Some(CompactString::from(value.trim()));
            match key.trim() {
                "product" => ls.product = value,
                "category" => ls.category = value,
                "service" => ls.service = value,
                other => {
                    return Err(format!(
                        "unknown logsource key {other:?}: expected product, category or service"
                    ));
                }
            }
        }
        Ok(ls)
    }

    /// Fills the parts that are unset here from `other`, keeping what is already known.
    pub fn fill_from(&mut self, other: &LogSource) {
        // (Only when `other` has the part: `clone_from` of a `None` is an out-of-line call
        // that does nothing, on every parsed line.)
        if self.product.is_none() && other.product.is_some() {
            self.product.clone_from(&other.product);
        }
        if self.category.is_none() && other.category.is_some() {
            self.category.clone_from(&other.category);
        }
        if self.service.is_none() && other.service.is_some() {
            self.service.clone_from(&other.service);
        }
    }

    /// Replaces the parts that `other` sets.
    pub fn override_with(&mut self, other: &LogSource) {
        if other.product.is_some() {
            self.product.clone_from(&other.product);
        }
        if other.category.is_some() {
            self.category.clone_from(&other.category);
        }
        if other.service.is_some() {
            self.service.clone_from(&other.service);
        }
    }
}

impl fmt::Display for LogSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (key, value) in [
            ("product", &self.product),
            ("category", &self.category),
            ("service", &self.service),
        ] {
            if let Some(value) = value {
                if !first {
                    f.write_str(",")?;
                }
                write!(f, "{key}={value}")?;
                first = false;
            }
        }
        Ok(())
    }
}

/// A security event: `@timestamp`, ECS fields and logsource. See the [module docs](self).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Event {
    /// `@timestamp` in UTC; `None` when the input carried no usable time.
    pub timestamp: Option<DateTime<Utc>>,
    /// The Sigma logsource the parser inferred or the caller assigned.
    pub logsource: LogSource,
    fields: Fields,
}

/// Most bytes of one out-of-line string [`Event::prefetch_for_match`] asks for: the hardware's
/// own prefetcher follows a long string read from its start.
const PREFETCH_TEXT: usize = 256;

/// Most fields [`Event::prefetch_for_match`] hints at (a Windows event holds 33 on average).
const PREFETCH_FIELDS: usize = 128;

/// Where a field was last found among an event's entries, for [`Event::get_hinted`]: a guess,
/// never trusted (any value, from any event, is safe). `FieldHint::default()` guesses the first
/// entry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FieldHint(u32);

/// Why a JSON text could not become an [`Event`].
#[derive(Debug, thiserror::Error)]
pub enum EventJsonError {
    /// Not valid JSON.
    #[error("invalid JSON: {0}")]
    Syntax(#[from] serde_json::Error),
    /// Valid JSON, but not an object.
    #[error("an event must be a JSON object, got {0}")]
    NotAnObject(&'static str),
    /// `@timestamp` present but not a time siem can read.
    #[error("unreadable @timestamp {0:?}: expected RFC 3339 or epoch milliseconds")]
    Timestamp(String),
}

impl Event {
    /// An empty event with no timestamp and no logsource.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty event with room for `fields` fields before the map has to grow. Parsers that
    /// know roughly how many fields they set use it to skip the rehashing a growing map costs.
    pub fn with_capacity(fields: usize) -> Self {
        // Every field written out: `..Self::default()` would build a default `Fields` and drop
        // it again (its `Drop` is not free).
        Event {
            timestamp: None,
            logsource: LogSource::default(),
            fields: Fields::with_capacity(fields),
        }
    }

    /// An empty event whose `event.original` is `original`.
    pub fn with_original(original: &str) -> Self {
        let mut event = Event::new();
        event.insert(ORIGINAL, original);
        event
    }

    /// The value of a field by its dotted ECS name, or `None` when absent.
    ///
    /// One hash probe. Values inside lists of objects are not reached by this call; use
    /// [`Event::for_each_value`] when a path may cross a list.
    #[inline]
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.fields.get(name)
    }

    /// [`Event::get`], first trying the position `hint` remembers: the value of `name`, or
    /// `None` when absent, whatever the hint holds.
    ///
    /// Events from one source carry their fields in the same order, so a caller that reads the
    /// same name from many events (a correlation's `group-by` field, a rule's field) keeps one
    /// [`FieldHint`] per name: when the entry at the remembered position has that name, the
    /// lookup is one comparison instead of hashing the name and probing the index; otherwise
    /// it is [`Event::get`], and the hint learns the position found. The hint only ever saves
    /// work: a stale one, one from another event or another name gives the same answer.
    ///
    /// ```
    /// use siem_core::event::{Event, FieldHint};
    ///
    /// let mut hint = FieldHint::default();
    /// for ip in ["203.0.113.7", "198.51.100.4"] {
    ///     let mut event = Event::new();
    ///     event.insert("event.outcome", "failure");
    ///     event.insert("source.ip", ip);
    ///     // The first call hashes the name and remembers position 1; the second finds it there.
    ///     assert_eq!(event.get_hinted("source.ip", &mut hint), event.get("source.ip"));
    /// }
    /// assert_eq!(Event::new().get_hinted("source.ip", &mut hint), None);
    /// ```
    #[inline]
    pub fn get_hinted(&self, name: &str, hint: &mut FieldHint) -> Option<&Value> {
        self.fields.get_hinted(name, hint)
    }

    /// [`Event::get_hinted`] for a name whose [`field_hash`] the caller keeps (a rule set's
    /// field table): no hashing on a miss either. Inlined whole, for a caller that is itself
    /// out of line (the rule set's field resolution): see `Fields::get_hinted_hashed`.
    #[inline(always)]
    pub(crate) fn get_hinted_hashed(
        &self,
        name: &str,
        hash: u64,
        hint: &mut FieldHint,
    ) -> Option<&Value> {
        debug_assert_eq!(hash, field_hash(name));
        self.fields.get_hinted_hashed(name, hash, hint)
    }

    /// The string value of a field, when it is a string.
    #[inline]
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(Value::as_str)
    }

    /// Whether the field is present (even when `null`).
    pub fn contains(&self, name: &str) -> bool {
        self.fields.contains_key(name) || self.lookup_through_lists(name, &mut |_| {})
    }

    /// Calls `f` for the value at `name`, and, when the path crosses a list of objects
    /// (`threat.enrichments.indicator.ip`), for each value reached through the list.
    /// Returns whether any value was found.
    pub fn for_each_value(&self, name: &str, f: &mut dyn FnMut(&Value)) -> bool {
        if let Some(value) = self.fields.get(name) {
            f(value);
            return true;
        }
        self.lookup_through_lists(name, f)
    }

    fn lookup_through_lists(&self, name: &str, f: &mut dyn FnMut(&Value)) -> bool {
        let mut found = false;
        for (split, _) in name.match_indices('.') {
            let (prefix, rest) = (&name[..split], &name[split + 1..]);
            if let Some(Value::List(items)) = self.fields.get(prefix) {
                for item in items.iter() {
                    if let Value::Object(map) = item
                        && let Some(value) = map.get(rest)
                    {
                        f(value);
                        found = true;
                    }
                }
            }
        }
        found
    }

    /// Sets a field. Objects are flattened into dotted names (`insert("source", {ip, port})`
    /// sets `source.ip` and `source.port`); a value set here replaces an earlier one.
    pub fn insert(&mut self, name: impl Into<CompactString>, value: impl Into<Value>) {
        let name = name.into();
        match value.into() {
            Value::Object(map) => {
                for (key, value) in *map {
                    let mut full = name.clone();
                    full.push('.');
                    full.push_str(&key);
                    self.fields.put(full, value);
                }
            }
            value => self.put(name, value),
        }
    }

    /// [`Event::insert`] of a name known at compile time whose hash is computed once per
    /// process (parsers' hot paths).
    #[inline]
    pub(crate) fn insert_static(&mut self, name: &StaticName, value: impl Into<Value>) {
        match value.into() {
            object @ Value::Object(_) => self.insert(name.name.clone(), object),
            value => self.fields.put_static(name, value),
        }
    }

    /// [`Event::insert_static`] for an event made with room for many fields
    /// ([`Event::with_capacity`] above 32, as the Windows parser's are): the same result,
    /// with the probe of the large index inlined and the small one's left out.
    #[inline]
    pub(crate) fn insert_static_large(&mut self, name: &StaticName, value: impl Into<Value>) {
        match value.into() {
            object @ Value::Object(_) => self.insert(name.name.clone(), object),
            value => self.fields.put_static_large(name, value),
        }
    }

    /// Sets a (non-object) field: see [`Fields::upsert`].
    #[inline]
    fn put(&mut self, name: CompactString, value: Value) {
        self.fields.put(name, value);
    }

    /// Sets a field only when it is not already present.
    pub fn insert_if_absent(&mut self, name: impl Into<CompactString>, value: impl Into<Value>) {
        let name = name.into();
        if !self.fields.contains_key(&name) {
            self.insert(name, value);
        }
    }

    /// Removes a field and returns its value.
    pub fn remove(&mut self, name: &str) -> Option<Value> {
        self.fields.shift_remove(name)
    }

    /// Appends a tag to the ECS `tags` list (creating it), skipping duplicates.
    pub fn add_tag(&mut self, tag: &str) {
        match self.fields.get_mut("tags") {
            Some(Value::List(tags)) => {
                if !tags.iter().any(|t| t.as_str() == Some(tag)) {
                    tags.to_mut().push(Value::from(tag));
                }
            }
            Some(other) => {
                let previous = std::mem::take(other);
                *other = Value::List(vec![previous, Value::from(tag)].into());
            }
            None => {
                self.fields
                    .put("tags".into(), Value::List(vec![Value::from(tag)].into()));
            }
        }
    }

    /// Whether `tags` holds `tag`.
    pub fn has_tag(&self, tag: &str) -> bool {
        match self.fields.get("tags") {
            Some(Value::List(tags)) => tags.iter().any(|t| t.as_str() == Some(tag)),
            Some(Value::Str(s)) => s == tag,
            _ => false,
        }
    }

    /// The raw input (`event.original`), when kept.
    pub fn original(&self) -> Option<&str> {
        self.get_str(ORIGINAL)
    }

    /// The `message` field, when present.
    pub fn message(&self) -> Option<&str> {
        self.get_str(MESSAGE)
    }

    /// All fields in insertion order, by dotted name.
    pub fn fields(&self) -> impl ExactSizeIterator<Item = (&str, &Value)> {
        self.fields.iter()
    }

    /// The number of (flattened) fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether the event has no fields.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Starts fetching the field table, which dropping the event walks first, for a caller about
    /// to drop cold events one after another (reads the event itself). A hint only.
    #[inline]
    pub(crate) fn prefetch_for_drop(&self) {
        let entries = self.fields.entries.as_ptr().cast::<u8>();
        crate::prefetch::prefetch_bytes(entries, 128);
    }

    /// Starts fetching what matching reads of an event that may not be in cache (a stored
    /// batch matched after it was parsed): the field table and its index, then the names and
    /// strings kept out of line (the first [`PREFETCH_TEXT`] bytes of each) and the elements
    /// of lists. The fetches overlap one another and the route lookup that follows, where
    /// matching would wait for them one at a time: keyword search alone copies every string
    /// of the event.
    ///
    /// Cost: a walk over the first [`PREFETCH_FIELDS`] fields, about 15 instructions each
    /// (524 per Windows event), when the event is already cached; on the cold events of the
    /// Windows corpus, matching ran 1.09x to 1.33x faster with it (docs/performance-matching.md,
    /// round 10). A hint only: reads the event, changes nothing.
    #[inline]
    pub(crate) fn prefetch_for_match(&self) {
        use crate::prefetch::{prefetch_bytes, prefetch_ptr};
        // A huge event is hinted in part: more lines than the first-level cache holds would
        // evict one another before matching reads them.
        let entries = &self.fields.entries[..self.fields.entries.len().min(PREFETCH_FIELDS)];
        prefetch_bytes(
            entries.as_ptr().cast::<u8>(),
            std::mem::size_of_val(entries),
        );
        if self.fields.in_large {
            // The index's part for that many fields: 8-byte slots, at most half of them used.
            let index = &self.fields.large;
            prefetch_bytes(
                index.as_ptr().cast::<u8>(),
                std::mem::size_of_val(index.as_slice()).min(PREFETCH_FIELDS * 16),
            );
        }
        for (name, value) in entries.iter() {
            if name.is_heap_allocated() {
                prefetch_ptr(name.as_ptr());
            }
            match value {
                Value::Str(s) if s.is_heap_allocated() => {
                    prefetch_bytes(s.as_ptr(), s.len().min(PREFETCH_TEXT));
                }
                Value::List(items) => prefetch_ptr(items.as_ptr().cast::<u8>()),
                _ => {}
            }
        }
    }

    /// The memory the event holds: its own size plus what it allocated (the field table and
    /// index at their capacities, names and strings longer than the 24 bytes kept inline,
    /// lists and list objects). An estimate of what keeping the event costs, not an exact
    /// count of the allocator's bytes. Walks every field once: about 10 instructions per field.
    ///
    /// ```
    /// use siem_core::Event;
    /// let mut event = Event::new();
    /// let empty = event.heap_bytes();
    /// event.insert("message", "a message longer than the twenty-four bytes kept inline");
    /// assert!(event.heap_bytes() > empty + 50);
    /// ```
    pub fn heap_bytes(&self) -> usize {
        fn text(s: &CompactString) -> usize {
            if s.is_heap_allocated() {
                s.capacity()
            } else {
                0
            }
        }
        fn value(v: &Value) -> usize {
            match v {
                Value::Str(s) => text(s),
                Value::List(Cow::Owned(items)) => {
                    items.capacity() * std::mem::size_of::<Value>()
                        + items.iter().map(value).sum::<usize>()
                }
                Value::Object(map) => {
                    std::mem::size_of::<FieldMap>()
                        + map.capacity() * (std::mem::size_of::<(CompactString, Value)>() + 2 * 8)
                        + map.iter().map(|(k, v)| text(k) + value(v)).sum::<usize>()
                }
                _ => 0,
            }
        }
        let logsource = [
            &self.logsource.product,
            &self.logsource.category,
            &self.logsource.service,
        ]
        .into_iter()
        .flatten()
        .map(text)
        .sum::<usize>();
        let fields = &self.fields;
        std::mem::size_of::<Event>()
            + logsource
            + fields.entries.capacity() * std::mem::size_of::<(CompactString, Value)>()
            + fields.large.capacity() * std::mem::size_of::<u64>()
            + fields
                .entries
                .iter()
                .map(|(k, v)| text(k) + value(v))
                .sum::<usize>()
    }

    /// Calls `f` with every string value of the event, including those inside lists and
    /// list objects. Stops early when `f` returns `true`,
    /// and returns whether it did.
    pub fn any_string(&self, f: &mut dyn FnMut(&str) -> bool) -> bool {
        self.fields.values().any(|v| Self::walk_strings(v, f))
    }

    /// Calls `f` with the strings a Sigma keyword search looks at, stopping early when `f`
    /// returns `true` (and returning whether it did): every string value like
    /// [`Event::any_string`], except [`ORIGINAL`] (`event.original`) when any other string is
    /// present. ECS declares `event.original` not indexed, so Elasticsearch's full-text search
    /// skips it too; and it only repeats what the parser extracted (JSON-escaped, for JSON
    /// events). An event holding nothing but its raw line is still searched through it.
    ///
    /// ```
    /// use siem_core::Event;
    /// let mut event = Event::new();
    /// event.insert("event.original", "{\"user\":\"bob\"}");
    /// event.insert("user.name", "bob");
    /// assert!(event.keyword_strings(&mut |s| s == "bob"));
    /// assert!(!event.keyword_strings(&mut |s| s.contains('{')));
    /// ```
    pub fn keyword_strings(&self, f: &mut dyn FnMut(&str) -> bool) -> bool {
        let mut seen_other = false;
        let mut found = self.fields.iter().any(|(name, value)| {
            if name == ORIGINAL {
                return false;
            }
            let mut seen = |s: &str| {
                seen_other = true;
                f(s)
            };
            Self::walk_strings(value, &mut seen)
        });
        if !found
            && !seen_other
            && let Some(original) = self.fields.get(ORIGINAL)
        {
            found = Self::walk_strings(original, f);
        }
        found
    }

    fn walk_strings(value: &Value, f: &mut dyn FnMut(&str) -> bool) -> bool {
        match value {
            Value::Str(s) => f(s),
            Value::List(items) => items.iter().any(|v| Self::walk_strings(v, f)),
            Value::Object(map) => map.values().any(|v| Self::walk_strings(v, f)),
            _ => false,
        }
    }

    /// Parses an ECS JSON object (nested or dotted keys). `@timestamp` becomes
    /// [`Event::timestamp`] (RFC 3339 string or epoch milliseconds) and a top-level `logsource`
    /// object becomes [`Event::logsource`]; everything else becomes fields.
    ///
    /// Reads the text in one pass straight into the flat field map, keeping the input's key order.
    pub fn from_json(text: &str) -> Result<Event, EventJsonError> {
        let mut de = serde_json::Deserializer::from_str(text);
        let (mut event, raw_timestamp) =
            match serde::Deserializer::deserialize_any(&mut de, EventVisitor) {
                Ok(parsed) => parsed,
                Err(e) => {
                    // A JSON value of another kind is reported as such, not as a syntax error.
                    if let Ok(value) = serde_json::from_str::<serde_json::Value>(text)
                        && !value.is_object()
                    {
                        return Err(EventJsonError::NotAnObject(json_kind(&value)));
                    }
                    return Err(EventJsonError::Syntax(e));
                }
            };
        de.end()?;
        if let Some(ts) = raw_timestamp {
            event.timestamp = Some(
                parse_json_timestamp(&ts)
                    .ok_or_else(|| EventJsonError::Timestamp(ts.to_string()))?,
            );
        }
        Ok(event)
    }

    /// Like [`Event::from_json`], from an already parsed JSON value.
    pub fn from_json_value(value: serde_json::Value) -> Result<Event, EventJsonError> {
        let serde_json::Value::Object(mut map) = value else {
            return Err(EventJsonError::NotAnObject(json_kind(&value)));
        };
        let mut event = Event::new();
        if let Some(ts) = map.remove("@timestamp") {
            event.timestamp = Some(
                parse_json_timestamp(&ts)
                    .ok_or_else(|| EventJsonError::Timestamp(ts.to_string()))?,
            );
        }
        if let Some(ls) = map.remove("logsource") {
            match serde_json::from_value::<LogSource>(ls.clone()) {
                Ok(parsed) => event.logsource = parsed,
                // Not ours: an application field that happens to be called `logsource`.
                Err(_) => {
                    map.insert("logsource".into(), ls);
                }
            }
        }
        let mut flat = Flattener::default();
        flat.object("", map, 0);
        event.fields = flat.fields;
        Ok(event)
    }

    /// Serializes to compact nested ECS JSON: `@timestamp` first, then fields in insertion order
    /// nested by their dots, then `logsource` when set.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(64 + self.fields.len() * 32);
        self.write_json(&mut out);
        out
    }

    /// Appends the JSON of [`Event::to_json`] to `out`.
    pub fn write_json(&self, out: &mut String) {
        let mut entries: Vec<(&str, &Value)> = Vec::with_capacity(self.fields.len() + 2);
        let ts_value;
        if let Some(ts) = self.timestamp {
            ts_value = Value::Str(CompactString::from(format_timestamp(ts)));
            entries.push(("@timestamp", &ts_value));
        }
        entries.extend(self.fields.iter().filter(|(k, _)| *k != "@timestamp"));
        let logsource;
        if !self.logsource.is_empty() {
            let mut map = FieldMap::default();
            for (key, value) in [
                ("product", &self.logsource.product),
                ("category", &self.logsource.category),
                ("service", &self.logsource.service),
            ] {
                if let Some(v) = value {
                    map.insert(key.into(), Value::Str(v.clone()));
                }
            }
            logsource = Value::Object(Box::new(map));
            entries.push(("logsource", &logsource));
        }
        write_nested(out, entries.into_iter());
    }

    /// The event as a nested `serde_json` value (same shape as [`Event::to_json`]).
    pub fn to_json_value(&self) -> serde_json::Value {
        serde_json::from_str(&self.to_json()).expect("siem writes valid JSON")
    }
}

impl serde::Serialize for Event {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let raw = serde_json::value::RawValue::from_string(self.to_json())
            .map_err(serde::ser::Error::custom)?;
        raw.serialize(serializer)
    }
}

impl<'de> serde::Deserialize<'de> for Event {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (mut event, raw_timestamp) = deserializer.deserialize_any(EventVisitor)?;
        if let Some(ts) = raw_timestamp {
            event.timestamp = Some(parse_json_timestamp(&ts).ok_or_else(|| {
                serde::de::Error::custom(EventJsonError::Timestamp(ts.to_string()))
            })?);
        }
        Ok(event)
    }
}

/// Reads a top-level JSON object into an event (and the raw `@timestamp`, parsed afterwards).
struct EventVisitor;

impl<'de> serde::de::Visitor<'de> for EventVisitor {
    type Value = (Event, Option<serde_json::Value>);

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an event as a JSON object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut event = Event::new();
        let mut raw_timestamp = None;
        let mut flat = Flattener::default();
        while let Some(key) = map.next_key::<CompactString>()? {
            match key.as_str() {
                "@timestamp" => raw_timestamp = Some(map.next_value::<serde_json::Value>()?),
                "logsource" => {
                    let value = map.next_value::<serde_json::Value>()?;
                    match serde_json::from_value::<LogSource>(value.clone()) {
                        Ok(parsed) => event.logsource = parsed,
                        // Not ours: an application field that happens to be called `logsource`.
                        Err(_) => flat.json(key, value, 0),
                    }
                }
                _ => map.next_value_seed(FieldSeed {
                    flat: &mut flat,
                    name: key,
                    depth: 0,
                })?,
            }
        }
        event.fields = flat.fields;
        Ok((event, raw_timestamp))
    }
}

/// Deserializes the value of one field into the flattener under `name`.
struct FieldSeed<'f> {
    flat: &'f mut Flattener,
    name: CompactString,
    depth: u16,
}

impl<'de> serde::de::DeserializeSeed<'de> for FieldSeed<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

macro_rules! put_scalar {
    ($($method:ident: $ty:ty => $conv:expr),* $(,)?) => {
        $(fn $method<E: serde::de::Error>(self, v: $ty) -> Result<(), E> {
            #[allow(clippy::redundant_closure_call)]
            let value = ($conv)(v);
            self.flat.put(self.name, value, self.depth);
            Ok(())
        })*
    };
}

impl<'de> serde::de::Visitor<'de> for FieldSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    put_scalar! {
        visit_bool: bool => Value::Bool,
        visit_i64: i64 => Value::Int,
        visit_u64: u64 => |v: u64| i64::try_from(v).map(Value::Int).unwrap_or(Value::Float(v as f64)),
        visit_f64: f64 => Value::Float,
        visit_str: &str => |v: &str| Value::Str(CompactString::from(v)),
        visit_string: String => |v: String| Value::Str(CompactString::from(v)),
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        self.flat.put(self.name, Value::Null, self.depth);
        Ok(())
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<(), E> {
        self.visit_unit()
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<serde_json::Value>()? {
            items.push(Value::from_json(item));
        }
        self.flat
            .put(self.name, Value::List(items.into()), self.depth);
        Ok(())
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut empty = true;
        while let Some(key) = map.next_key::<CompactString>()? {
            empty = false;
            let mut name = CompactString::with_capacity(self.name.len() + 1 + key.len());
            name.push_str(&self.name);
            name.push('.');
            name.push_str(&key);
            let depth = self.depth.saturating_add(1);
            map.next_value_seed(FieldSeed {
                flat: &mut *self.flat,
                name,
                depth,
            })?;
        }
        if empty {
            // An empty object carries no fields; keep the key so it is not lost.
            self.flat
                .put(self.name, Value::Object(Box::default()), self.depth);
        }
        Ok(())
    }
}

/// Formats a timestamp the way siem writes `@timestamp`: RFC 3339, UTC, `Z`, with as many
/// fractional digits as needed.
///
/// ```
/// use chrono::TimeZone;
/// let ts = chrono::Utc.with_ymd_and_hms(2024, 5, 1, 10, 0, 0).unwrap();
/// assert_eq!(siem_core::event::format_timestamp(ts), "2024-05-01T10:00:00Z");
/// ```
pub fn format_timestamp(ts: DateTime<Utc>) -> String {
    ts.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn parse_json_timestamp(value: &serde_json::Value) -> Option<DateTime<Utc>> {
    match value {
        serde_json::Value::String(s) => DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.with_timezone(&Utc))
            .or_else(|| {
                // ECS allows a space instead of `T`, and timestamps without a zone are UTC.
                let s = s.replacen(' ', "T", 1);
                DateTime::parse_from_rfc3339(&s)
                    .map(|t| t.with_timezone(&Utc))
                    .ok()
                    .or_else(|| {
                        chrono::NaiveDateTime::parse_from_str(&s, "%Y-%m-%dT%H:%M:%S%.f")
                            .ok()
                            .map(|n| n.and_utc())
                    })
            }),
        serde_json::Value::Number(n) => {
            let millis = n.as_i64().or_else(|| n.as_f64().map(|f| f as i64))?;
            DateTime::from_timestamp_millis(millis)
        }
        _ => None,
    }
}

fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// An event's fields: the entries in insertion order, and a hash table of their indices (the
/// layout of an `IndexMap`, by hand, so that setting a field probes the table once).
///
/// `IndexMap` offers no single-probe insert that does not hand the previous value back: its
/// entry APIs look the name up, and a vacant entry then searches the table a second time for
/// the free slot. Here one probe finds the name or the free slot, which is what a parser
/// filling a new event needs: every name it sets is new.
///
/// Up to [`SMALL_ENTRIES`] fields (every syslog and access line) the index is a table of
/// [`SMALL_SLOTS`] `u16` slots inside the struct: no allocation, at most three quarters full,
/// linear probing, each slot the top 8 bits of the name's hash and the entry's index + 1 (0 =
/// free). The 25th field moves the index into [`Fields::large`] for good: the same scheme with `u64`
/// slots on the heap (32 bits of hash, so a probe almost never compares a name that differs),
/// doubled when it would be more than half full; an event made with a capacity above
/// [`LARGE_HINT`] (JSON) starts there. It replaced a hashbrown `HashTable<usize>`, whose
/// `entry` (group probe, control bytes, growth bookkeeping) cost about 100 instructions more
/// per field on a 45-field Windows event. Entries keep no hash (56 bytes instead of 64): when
/// the index moves or grows, the names are hashed again.
#[derive(Clone, Default)]
struct Fields {
    entries: Vec<(CompactString, Value)>,
    /// The index until `in_large` (then all free).
    small: [u16; SMALL_SLOTS],
    /// The index once `in_large` (empty, unallocated, before): open addressing with linear
    /// probing, a power of two of slots, at most half full; each slot the top 32 bits of the
    /// name's hash and the entry's index + 1 (0 = free).
    large: Vec<u64>,
    /// Whether `large` is the index: set for good at the 25th field, or from the start for a
    /// capacity above [`LARGE_HINT`]. While unset, `entries.len() <= SMALL_ENTRIES`.
    in_large: bool,
}

/// The hasher of every event's field index: foldhash, seeded at random once per process (not
/// per event), so that the hash of a field name known at compile time can be computed once
/// and reused by every event ([`StaticName`]). Names an attacker picks still cannot be
/// aimed at collisions: the seed is random and never leaves the process.
static INDEX_HASHER: std::sync::LazyLock<foldhash::fast::SeedableRandomState> =
    std::sync::LazyLock::new(foldhash::fast::SeedableRandomState::random);

/// The hash of a field name in an event's field index.
#[inline]
pub(crate) fn field_hash(name: &str) -> u64 {
    use std::hash::BuildHasher;
    INDEX_HASHER.hash_one(name)
}

/// A field name known at compile time, with its [`field_hash`] computed once per process:
/// setting it ([`Event::insert_static`]) skips hashing the name, a few dozen instructions
/// for a 20-byte ECS name on every event. Made with [`static_name!`](crate::static_name).
#[derive(Clone, Debug)]
pub(crate) struct StaticName {
    /// Built once: cloning a `CompactString` copies 24 bytes, where building one from a
    /// `&'static str` outside a `const` copies a name up to 24 bytes long byte by byte.
    name: CompactString,
    hash: u64,
}

impl StaticName {
    /// The name and its hash (computes the hash: keep the result in a `static`).
    pub(crate) fn new(name: &'static str) -> StaticName {
        StaticName {
            name: CompactString::const_new(name),
            hash: field_hash(name),
        }
    }

    /// The name.
    #[cfg(test)]
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// The name as a new `CompactString`, copied bit for bit. (`Clone` rebuilds an inline
    /// string from its bytes, with a branch per length class: ~20 instructions on every field
    /// a parser sets.)
    #[inline(always)]
    fn name_copy(&self) -> CompactString {
        debug_assert!(!self.name.is_heap_allocated());
        // SAFETY: `StaticName::new` builds `name` with `CompactString::const_new`, which never
        // allocates (the text inline up to 24 bytes, else a pointer to the `&'static str`), and
        // `name` is never changed afterwards. So it owns no memory: a bitwise copy is a valid,
        // independent `CompactString` whose drop frees nothing, like the original's (and a
        // write to the copy makes it its own inline or heap buffer, leaving `name` alone).
        unsafe { std::ptr::read(&self.name) }
    }
}

/// A [`StaticName`] for a string literal, hashed on first use and kept in a `static`.
macro_rules! static_name {
    ($name:literal) => {{
        static NAME: std::sync::LazyLock<$crate::event::StaticName> =
            std::sync::LazyLock::new(|| $crate::event::StaticName::new($name));
        &*NAME
    }};
}
pub(crate) use static_name;

/// Fields indexed by [`Fields::small`]: an Apache combined line with a user name and a
/// referrer sets 18, a syslog line with `<PRI>` and an sshd login about 20. (At 16, each of
/// those paid for the move to the large index: an allocation and every name hashed again.)
const SMALL_ENTRIES: usize = 24;
/// Slots of [`Fields::small`]: more than [`SMALL_ENTRIES`], so a probe always reaches a free
/// slot (at most three quarters full).
const SMALL_SLOTS: usize = 32;
/// The bits of a large index slot that hold the name's hash (the rest is the entry's index + 1).
const LARGE_TAG: u64 = 0xffff_ffff_0000_0000;
/// A capacity above this starts the event with the large index.
const LARGE_HINT: usize = 32;

/// Spare storage of dropped large events, reused by the next ones on the same thread (see
/// [`Fields::with_capacity`] and `Drop for Fields`).
type Spare = (Vec<(CompactString, Value)>, Vec<u64>);

/// At most this many spare entry vectors and index tables are kept per thread.
const SPARE_KEPT: usize = 4;
/// Only storage of up to this many entries is kept (about 14 kB, plus its index): a huge
/// event's storage goes back to the allocator.
const SPARE_MAX_ENTRIES: usize = 256;

thread_local! {
    /// The storage of large events dropped on this thread. A Windows or JSON event asks for
    /// 64 entries (3.5 kB) and a large index (1 kB): two allocations beyond the allocator's
    /// per-thread cache, about 900 instructions to get and 300 to give back (measured with
    /// the hashbrown index this replaced), which a parser that builds and drops one event
    /// per line pays on every line.
    static SPARE: std::cell::RefCell<Vec<Spare>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl Fields {
    fn with_capacity(capacity: usize) -> Self {
        let large = capacity > LARGE_HINT;
        if large
            && let Some((entries, index)) = SPARE
                .try_with(|spare| {
                    let mut spare = spare.try_borrow_mut().ok()?;
                    match spare.last() {
                        Some((entries, index))
                            if entries.capacity() >= capacity && index.len() >= 2 * capacity =>
                        {
                            spare.pop()
                        }
                        _ => None,
                    }
                })
                .ok()
                .flatten()
        {
            return Fields {
                entries,
                small: [0; SMALL_SLOTS],
                large: index,
                in_large: true,
            };
        }
        Fields {
            entries: Vec::with_capacity(capacity),
            large: if large {
                vec![0; Self::large_slots(capacity)]
            } else {
                Vec::new()
            },
            small: [0; SMALL_SLOTS],
            in_large: large,
        }
    }

    /// Slots of the large index for `capacity` entries: at most half full.
    fn large_slots(capacity: usize) -> usize {
        (2 * capacity.max(SMALL_ENTRIES)).next_power_of_two()
    }

    /// The large index's slot value for entry `index` of a name hashed to `hash`.
    #[inline]
    fn large_slot(hash: u64, index: usize) -> u64 {
        (hash & LARGE_TAG) | (index as u64 + 1)
    }

    /// In the large index: `Ok(index)` of the entry named `name`, or `Err(slot)`, the free slot
    /// where it would go (the index is never full, so the probe ends).
    #[inline]
    fn large_find(&self, hash: u64, name: &str) -> Result<usize, usize> {
        let mask = self.large.len() - 1;
        let tag = hash & LARGE_TAG;
        let mut pos = hash as usize & mask;
        loop {
            let slot = self.large[pos];
            if slot == 0 {
                return Err(pos);
            }
            if slot & LARGE_TAG == tag {
                let index = (slot & !LARGE_TAG) as usize - 1;
                if self.entries[index].0.as_str() == name {
                    return Ok(index);
                }
            }
            pos = (pos + 1) & mask;
        }
    }

    /// The small table's slot value for entry `index` of a name hashed to `hash`.
    #[inline]
    fn small_slot(hash: u64, index: usize) -> u16 {
        (((hash >> 56) as u16) << 8) | (index as u16 + 1)
    }

    /// In the small table: `Ok(index)` of the entry named `name`, or `Err(slot)`, the free slot
    /// where it would go.
    #[inline]
    fn small_find(&self, hash: u64, name: &str) -> Result<usize, usize> {
        let tag = (hash >> 56) as u16;
        let mut pos = hash as usize;
        loop {
            pos &= SMALL_SLOTS - 1;
            let slot = self.small[pos];
            if slot == 0 {
                return Err(pos);
            }
            if slot >> 8 == tag {
                let index = usize::from(slot & 0xff) - 1;
                if self.entries[index].0.as_str() == name {
                    return Ok(index);
                }
            }
            pos += 1;
        }
    }

    #[inline]
    fn get_index_of(&self, name: &str) -> Option<usize> {
        if self.entries.is_empty() {
            return None;
        }
        self.get_index_of_hashed(name, field_hash(name))
    }

    /// [`Fields::get_index_of`] with the name's [`field_hash`] computed beforehand.
    #[inline]
    fn get_index_of_hashed(&self, name: &str, hash: u64) -> Option<usize> {
        if self.entries.is_empty() {
            return None;
        }
        if !self.in_large {
            self.small_find(hash, name).ok()
        } else {
            self.large_find(hash, name).ok()
        }
    }

    #[inline]
    fn get(&self, name: &str) -> Option<&Value> {
        self.get_index_of(name).map(|i| &self.entries[i].1)
    }

    /// [`Event::get_hinted`]: names are unique among the entries, so an entry at the hinted
    /// position with the name asked for is the one the index would find.
    #[inline]
    fn get_hinted(&self, name: &str, hint: &mut FieldHint) -> Option<&Value> {
        match self.hinted(name, *hint) {
            Some(v) => Some(v),
            None => self.get_learning(name, hint),
        }
    }

    /// The entry at the hinted position, when it has the name.
    #[inline]
    fn hinted(&self, name: &str, hint: FieldHint) -> Option<&Value> {
        let (n, v) = self.entries.get(hint.0 as usize)?;
        short_eq(n.as_bytes(), name.as_bytes()).then_some(v)
    }

    /// [`Fields::get`], remembering the position found in `hint`.
    #[inline(never)]
    fn get_learning(&self, name: &str, hint: &mut FieldHint) -> Option<&Value> {
        self.get_learning_hashed(name, field_hash(name), hint)
    }

    /// [`Fields::get_hinted`] with the name's [`field_hash`] computed beforehand, in one piece:
    /// no call per layer, so a miss, the common answer for the fields a rule set reads (a logon
    /// lacks `ObjectType`), costs the hint's comparison and one probe of the index. Through
    /// `get_learning_hashed` and `get_index_of_hashed`, out of line, the 25 misses of a
    /// Security event cost ~1,000 instructions more.
    #[inline(always)]
    fn get_hinted_hashed(&self, name: &str, hash: u64, hint: &mut FieldHint) -> Option<&Value> {
        if let Some(v) = self.hinted(name, *hint) {
            return Some(v);
        }
        if self.entries.is_empty() {
            return None;
        }
        let found = if self.in_large {
            self.large_find(hash, name)
        } else {
            self.small_find(hash, name)
        };
        let index = found.ok()?;
        *hint = FieldHint(index as u32);
        Some(&self.entries[index].1)
    }

    /// [`Fields::get_learning`] with the name's hash computed beforehand.
    #[inline(never)]
    fn get_learning_hashed(&self, name: &str, hash: u64, hint: &mut FieldHint) -> Option<&Value> {
        let index = self.get_index_of_hashed(name, hash)?;
        *hint = FieldHint(index as u32);
        Some(&self.entries[index].1)
    }

    #[inline]
    fn get_mut(&mut self, name: &str) -> Option<&mut Value> {
        self.get_index_of(name).map(|i| &mut self.entries[i].1)
    }

    #[inline]
    fn contains_key(&self, name: &str) -> bool {
        self.get_index_of(name).is_some()
    }

    /// Sets `name` to `value`, replacing an earlier value in place.
    #[inline]
    fn put(&mut self, name: CompactString, value: Value) {
        self.upsert(name, value, |_, slot, value| *slot = value);
    }

    /// [`Fields::put`] of a name whose hash is known.
    #[inline]
    fn put_static(&mut self, name: &StaticName, value: Value) {
        self.upsert_hashed(name.hash, name.name_copy(), value, |_, slot, value| {
            *slot = value
        });
    }

    /// [`Fields::put_static`] for events that start with the large index (the Windows
    /// parser's: they ask for 64 fields): a large event with room for one more entry in its
    /// vector and its index is probed and appended to here, inlined into the caller; anything
    /// else goes through [`Fields::put_static_general`]. Keeping the small index's probe out of
    /// these callers is measurably cheaper for them (~30 call sites per event).
    #[inline(always)]
    fn put_static_large(&mut self, name: &StaticName, value: Value) {
        let len = self.entries.len();
        if !(self.in_large && len < self.entries.capacity() && 2 * (len + 1) <= self.large.len()) {
            return self.put_static_general(name, value);
        }
        match self.large_find(name.hash, name.name.as_str()) {
            Ok(index) => self.entries[index].1 = value,
            Err(pos) => {
                self.large[pos] = Self::large_slot(name.hash, len);
                self.entries.push((name.name_copy(), value));
            }
        }
    }

    /// [`Fields::put_static`] out of line: where [`Fields::put_static_large`]'s index is small
    /// or would grow.
    #[inline(never)]
    fn put_static_general(&mut self, name: &StaticName, value: Value) {
        self.put_static(name, value);
    }

    /// One probe with the name's hash: when the name is present, `occupied` gets its index, its
    /// value and the new value; otherwise the entry is appended. Returns whether it was appended.
    /// Nothing is handed back by value (a returned previous value is moved through the stack,
    /// which measurably costs on every parser's path).
    #[inline(always)]
    fn upsert(
        &mut self,
        name: CompactString,
        value: Value,
        occupied: impl FnOnce(usize, &mut Value, Value),
    ) -> bool {
        let hash = field_hash(name.as_str());
        self.upsert_hashed(hash, name, value, occupied)
    }

    /// [`Fields::upsert`] with the name's hash already computed ([`field_hash`]).
    #[inline(always)]
    fn upsert_hashed(
        &mut self,
        hash: u64,
        name: CompactString,
        value: Value,
        occupied: impl FnOnce(usize, &mut Value, Value),
    ) -> bool {
        let len = self.entries.len();
        if !self.in_large && len < SMALL_ENTRIES {
            match self.small_find(hash, name.as_str()) {
                Ok(index) => {
                    occupied(index, &mut self.entries[index].1, value);
                    false
                }
                Err(pos) => {
                    self.small[pos] = Self::small_slot(hash, len);
                    self.entries.push((name, value));
                    true
                }
            }
        } else {
            self.upsert_large(hash, name, value, occupied)
        }
    }

    /// [`Fields::upsert`] in the large index; at the 25th field, moves the index there first,
    /// and doubles it when it would be more than half full.
    #[inline]
    fn upsert_large(
        &mut self,
        hash: u64,
        name: CompactString,
        value: Value,
        occupied: impl FnOnce(usize, &mut Value, Value),
    ) -> bool {
        if !self.in_large {
            if let Ok(index) = self.small_find(hash, name.as_str()) {
                occupied(index, &mut self.entries[index].1, value);
                return false;
            }
            self.index_large(self.entries.capacity().max(2 * SMALL_ENTRIES));
        }
        let len = self.entries.len();
        if 2 * (len + 1) > self.large.len() {
            self.index_large(2 * (len + 1));
        }
        match self.large_find(hash, name.as_str()) {
            Ok(index) => {
                occupied(index, &mut self.entries[index].1, value);
                false
            }
            Err(pos) => {
                self.large[pos] = Self::large_slot(hash, len);
                self.entries.push((name, value));
                true
            }
        }
    }

    /// Builds the large index of all entries (room for `capacity`), emptying the small one.
    #[cold]
    #[inline(never)]
    fn index_large(&mut self, capacity: usize) {
        self.small = [0; SMALL_SLOTS];
        self.in_large = true;
        let slots = Self::large_slots(capacity.max(self.entries.len()));
        self.large.clear();
        self.large.resize(slots, 0);
        let mask = slots - 1;
        for (index, (name, _)) in self.entries.iter().enumerate() {
            let hash = field_hash(name.as_str());
            let mut pos = hash as usize & mask;
            while self.large[pos] != 0 {
                pos = (pos + 1) & mask;
            }
            self.large[pos] = Self::large_slot(hash, index);
        }
    }

    /// Builds the index again from the entries (after a removal shifted them).
    fn reindex(&mut self) {
        if self.in_large {
            self.index_large(self.large.len() / 2);
            return;
        }
        self.small = [0; SMALL_SLOTS];
        for index in 0..self.entries.len() {
            let hash = field_hash(self.entries[index].0.as_str());
            let mut pos = hash as usize;
            while self.small[pos & (SMALL_SLOTS - 1)] != 0 {
                pos += 1;
            }
            self.small[pos & (SMALL_SLOTS - 1)] = Self::small_slot(hash, index);
        }
    }

    /// Removes `name`, shifting the later entries down (insertion order is kept).
    fn shift_remove(&mut self, name: &str) -> Option<Value> {
        let index = self.get_index_of(name)?;
        let (_, value) = self.entries.remove(index);
        self.reindex();
        Some(value)
    }

    #[inline]
    fn len(&self) -> usize {
        self.entries.len()
    }

    #[inline]
    fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    #[inline]
    fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &Value)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    #[inline]
    fn values(&self) -> impl ExactSizeIterator<Item = &Value> {
        self.entries.iter().map(|(_, v)| v)
    }

    /// The entries as a [`FieldMap`] (objects inside lists keep that public type).
    fn into_map(mut self) -> FieldMap {
        let mut map =
            FieldMap::with_capacity_and_hasher(self.entries.len(), FieldHasher::default());
        map.extend(std::mem::take(&mut self.entries));
        map
    }
}

/// A large event's entry vector and index table go to this thread's [`SPARE`] list, emptied,
/// for the next large event (up to [`SPARE_KEPT`] of them; otherwise, or when the thread is
/// exiting, they are freed as usual).
impl Drop for Fields {
    fn drop(&mut self) {
        let capacity = self.entries.capacity();
        if !self.in_large || capacity <= LARGE_HINT || capacity > SPARE_MAX_ENTRIES {
            return;
        }
        let mut entries = std::mem::take(&mut self.entries);
        entries.clear();
        let mut index = std::mem::take(&mut self.large);
        index.fill(0);
        let _ = SPARE.try_with(|spare| {
            if let Ok(mut spare) = spare.try_borrow_mut()
                && spare.len() < SPARE_KEPT
            {
                spare.push((entries, index));
            }
        });
    }
}

/// `a == b`, for short texts (field names, group values) without a call to `memcmp`: texts of
/// 4 to 16 bytes compare as two overlapping words.
#[inline]
pub(crate) fn short_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    match a.len() {
        8..=16 => {
            a.first_chunk::<8>() == b.first_chunk::<8>()
                && a.last_chunk::<8>() == b.last_chunk::<8>()
        }
        4..=7 => {
            a.first_chunk::<4>() == b.first_chunk::<4>()
                && a.last_chunk::<4>() == b.last_chunk::<4>()
        }
        _ => a == b,
    }
}

/// Equal when they hold the same names with equal values, in any order (as `IndexMap`'s `==`).
impl PartialEq for Fields {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|(k, v)| other.get(k) == Some(v))
    }
}

impl fmt::Debug for Fields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// Flattens nested JSON objects into dotted names; on a name collision the key that came from
/// fewer levels of nesting wins.
#[derive(Default)]
struct Flattener {
    fields: Fields,
    /// Nesting depth each entry of `fields` came from, by index; only consulted on collisions.
    depths: Vec<u16>,
}

impl Flattener {
    fn object(
        &mut self,
        prefix: &str,
        map: serde_json::Map<String, serde_json::Value>,
        depth: u16,
    ) {
        for (key, value) in map {
            let name = if prefix.is_empty() {
                CompactString::from(key)
            } else {
                let mut name = CompactString::with_capacity(prefix.len() + 1 + key.len());
                name.push_str(prefix);
                name.push('.');
                name.push_str(&key);
                name
            };
            self.json(name, value, depth);
        }
    }

    fn json(&mut self, name: CompactString, value: serde_json::Value, depth: u16) {
        match value {
            serde_json::Value::Object(inner) if !inner.is_empty() => {
                self.object(&name, inner, depth.saturating_add(1));
            }
            // An empty object carries no fields; keep the key so it is not lost.
            serde_json::Value::Object(_) => self.put(name, Value::Object(Box::default()), depth),
            other => self.put(name, Value::from_json(other), depth),
        }
    }

    fn put(&mut self, name: CompactString, value: Value, depth: u16) {
        let depths = &mut self.depths;
        let inserted = self.fields.upsert(name, value, |index, slot, value| {
            if depth <= depths[index] {
                *slot = value;
                depths[index] = depth;
            }
        });
        if inserted {
            depths.push(depth);
        }
    }
}

/// Writes flat `(dotted name, value)` entries as one nested JSON object, keeping first-seen
/// order. A name that is both a value and a prefix of other names (`a` and `a.b`) keeps its
/// value under `a` and writes the others as dotted keys (`"a.b"`) beside it.
fn write_nested<'a>(out: &mut String, entries: impl Iterator<Item = (&'a str, &'a Value)>) {
    #[derive(Default)]
    struct Node<'a> {
        value: Option<&'a Value>,
        children: IndexMap<&'a str, Node<'a>, FieldHasher>,
    }
    fn write_node(out: &mut String, node: &Node<'_>) {
        out.push('{');
        let mut first = true;
        for (name, child) in &node.children {
            write_member(out, &mut first, name, child, "");
        }
        out.push('}');
    }
    fn write_member(out: &mut String, first: &mut bool, name: &str, node: &Node<'_>, prefix: &str) {
        let full = if prefix.is_empty() {
            Cow::Borrowed(name)
        } else {
            Cow::Owned(format!("{prefix}.{name}"))
        };
        match node.value {
            Some(value) => {
                comma(out, first);
                write_json_string(out, &full);
                out.push(':');
                write_json_value(out, value);
                // Children of a name that also has a value: written flat beside it.
                for (child_name, child) in &node.children {
                    write_member(out, first, child_name, child, &full);
                }
            }
            None => {
                comma(out, first);
                write_json_string(out, &full);
                out.push(':');
                write_node(out, node);
            }
        }
    }
    fn comma(out: &mut String, first: &mut bool) {
        if !*first {
            out.push(',');
        }
        *first = false;
    }

    let mut root = Node::default();
    for (name, value) in entries {
        let mut node = &mut root;
        for part in name.split('.') {
            node = node.children.entry(part).or_default();
        }
        node.value = Some(value);
    }
    write_node(out, &root);
}

/// Appends `value` as JSON (objects inside lists are nested again).
pub(crate) fn write_json_value(out: &mut String, value: &Value) {
    use std::fmt::Write;
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(f) if f.is_finite() => {
            let _ = write!(out, "{}", format_float(*f));
        }
        Value::Float(_) => out.push_str("null"),
        Value::Str(s) => write_json_string(out, s),
        Value::Ip(ip) => {
            let _ = write!(out, "\"{ip}\"");
        }
        Value::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => write_nested(out, map.iter().map(|(k, v)| (k.as_str(), v))),
    }
}

/// Appends `s` as a JSON string literal.
pub(crate) fn write_json_string(out: &mut String, s: &str) {
    use std::fmt::Write;
    out.push('"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if escape.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u8, i64),
        InsertIfAbsent(u8, i64),
        /// `Event::insert_static`, whose name is a bitwise copy of the `StaticName`'s.
        InsertStatic(u8, i64),
        /// `Event::insert_static_large` (any event: small ones take the general path).
        InsertStaticLarge(u8, i64),
        Remove(u8),
    }

    /// `op_name(n)` for every `n` as a `StaticName` (leaked once, as a `static` would hold it).
    fn static_op_name(n: u8) -> &'static StaticName {
        static NAMES: std::sync::LazyLock<Vec<StaticName>> = std::sync::LazyLock::new(|| {
            (0..40)
                .map(|n| StaticName::new(Box::leak(op_name(n).into_boxed_str())))
                .collect()
        });
        &NAMES[usize::from(n)]
    }

    fn op() -> impl proptest::strategy::Strategy<Value = Op> {
        use proptest::prelude::*;
        // Names from a small set (so that replacing and removing happen), some of them longer
        // than the 24 bytes a `CompactString` keeps inline.
        prop_oneof![
            4 => (0u8..40, any::<i64>()).prop_map(|(n, v)| Op::Insert(n, v)),
            1 => (0u8..40, any::<i64>()).prop_map(|(n, v)| Op::InsertIfAbsent(n, v)),
            2 => (0u8..40, any::<i64>()).prop_map(|(n, v)| Op::InsertStatic(n, v)),
            2 => (0u8..40, any::<i64>()).prop_map(|(n, v)| Op::InsertStaticLarge(n, v)),
            1 => (0u8..40).prop_map(Op::Remove),
        ]
    }

    fn op_name(n: u8) -> String {
        if n.is_multiple_of(3) {
            format!("a.rather.long.field.name.number.{n}")
        } else {
            format!("f.{n}")
        }
    }

    proptest::proptest! {
        /// The hand-made field map against an `IndexMap` model: same values, same order, with
        /// and without a capacity hint (the small index, the move to the large index at the 25th
        /// name, the large index from the start, its growth), removals shifting indices.
        #[test]
        fn fields_behave_like_an_index_map(
            ops in proptest::collection::vec(op(), 0..200),
            capacity in 0usize..48,
            hints in proptest::collection::vec(proptest::prop_oneof![0u32..48, proptest::prelude::any::<u32>()], 1..8),
        ) {
            let mut event = Event::with_capacity(capacity);
            let mut model: IndexMap<String, i64> = IndexMap::new();
            for op in ops {
                match op {
                    Op::Insert(n, v) => {
                        event.insert(op_name(n), v);
                        model.insert(op_name(n), v);
                    }
                    Op::InsertIfAbsent(n, v) => {
                        event.insert_if_absent(op_name(n), v);
                        model.entry(op_name(n)).or_insert(v);
                    }
                    Op::InsertStatic(n, v) => {
                        event.insert_static(static_op_name(n), v);
                        model.insert(op_name(n), v);
                    }
                    Op::InsertStaticLarge(n, v) => {
                        event.insert_static_large(static_op_name(n), v);
                        model.insert(op_name(n), v);
                    }
                    Op::Remove(n) => {
                        let got = event.remove(&op_name(n));
                        proptest::prop_assert_eq!(got, model.shift_remove(&op_name(n)).map(Value::Int));
                    }
                }
                proptest::prop_assert_eq!(event.len(), model.len());
            }
            let fields: Vec<(String, Value)> =
                event.fields().map(|(k, v)| (k.to_string(), v.clone())).collect();
            let expected: Vec<(String, Value)> =
                model.iter().map(|(k, v)| (k.clone(), Value::Int(*v))).collect();
            proptest::prop_assert_eq!(fields, expected);
            for n in 0..40 {
                let expected = model.get(&op_name(n)).map(|v| Value::Int(*v));
                proptest::prop_assert_eq!(event.get(&op_name(n)), expected.as_ref());
                proptest::prop_assert_eq!(event.contains(&op_name(n)), model.contains_key(&op_name(n)));
            }
            // A hinted lookup equals `get` whatever the hint: any position, in or out of
            // range, learnt from this event or from another one.
            let mut other = Event::new();
            for n in (0..40).rev().step_by(3) {
                other.insert(op_name(n), i64::from(n));
            }
            for (n, start) in (0..40).zip(hints.iter().cycle()) {
                let mut hint = FieldHint(*start);
                let name = op_name(n);
                proptest::prop_assert_eq!(event.get_hinted(&name, &mut hint), event.get(&name));
                proptest::prop_assert_eq!(event.get_hinted(&name, &mut hint), event.get(&name));
                proptest::prop_assert_eq!(other.get_hinted(&name, &mut hint), other.get(&name));
                proptest::prop_assert_eq!(event.get_hinted(&name, &mut hint), event.get(&name));
                let mut stale = FieldHint(*start);
                proptest::prop_assert_eq!(event.get_hinted(&op_name(n + 1), &mut stale), event.get(&op_name(n + 1)));
                proptest::prop_assert_eq!(event.get_hinted(&name, &mut stale), event.get(&name));
                // With the hash computed beforehand (a rule set's field table).
                let mut hashed = FieldHint(*start);
                let hash = field_hash(&name);
                proptest::prop_assert_eq!(event.get_hinted_hashed(&name, hash, &mut hashed), event.get(&name));
                proptest::prop_assert_eq!(other.get_hinted_hashed(&name, hash, &mut hashed), other.get(&name));
                proptest::prop_assert_eq!(event.get_hinted_hashed(&name, hash, &mut hashed), event.get(&name));
            }
            // Equality ignores order, as `IndexMap`'s does.
            let mut reversed = Event::new();
            for (k, v) in model.iter().rev() {
                reversed.insert(k.as_str(), *v);
            }
            proptest::prop_assert_eq!(&reversed, &event);
            if let Some((k, _)) = model.first() {
                reversed.insert(k.as_str(), "other");
                proptest::prop_assert_ne!(&reversed, &event);
            }
        }
    }

    #[test]
    fn flat_key_wins_over_nested_path_in_either_order() {
        let a = Event::from_json(r#"{"a.b":1,"a":{"b":2}}"#).unwrap();
        let b = Event::from_json(r#"{"a":{"b":2},"a.b":1}"#).unwrap();
        assert_eq!(a.get("a.b"), Some(&Value::Int(1)));
        assert_eq!(b.get("a.b"), Some(&Value::Int(1)));
    }

    #[test]
    fn json_round_trip_nests_again() {
        let text = r#"{"@timestamp":"2024-05-01T10:00:00.123Z","source":{"ip":"203.0.113.7","port":22},"tags":["a","b"],"n":null,"f":1.5,"logsource":{"product":"linux","service":"sshd"}}"#;
        let event = Event::from_json(text).unwrap();
        assert_eq!(event.logsource.service.as_deref(), Some("sshd"));
        assert_eq!(event.to_json(), text);
        assert_eq!(Event::from_json(&event.to_json()).unwrap(), event);
    }

    #[test]
    fn value_and_prefix_coexist() {
        let mut event = Event::new();
        event.insert("a", 1i64);
        event.insert("a.b", 2i64);
        assert_eq!(event.to_json(), r#"{"a":1,"a.b":2}"#);
        let back = Event::from_json(&event.to_json()).unwrap();
        assert_eq!(back, event);
    }

    #[test]
    fn lists_of_objects_are_reached_by_for_each_value() {
        let event = Event::from_json(
            r#"{"threat":{"enrichments":[{"indicator":{"ip":"1.2.3.4"}},{"indicator":{"ip":"5.6.7.8"}}]}}"#,
        )
        .unwrap();
        let mut seen = Vec::new();
        assert!(
            event.for_each_value("threat.enrichments.indicator.ip", &mut |v| seen
                .push(v.to_text().into_owned()))
        );
        assert_eq!(seen, ["1.2.3.4", "5.6.7.8"]);
        assert!(event.contains("threat.enrichments.indicator.ip"));
        assert!(!event.contains("threat.enrichments.indicator.port"));
    }

    #[test]
    fn timestamps_accept_epoch_millis_and_reject_garbage() {
        let event = Event::from_json(r#"{"@timestamp":1714557600000}"#).unwrap();
        assert_eq!(
            event.timestamp,
            Some(Utc.with_ymd_and_hms(2024, 5, 1, 10, 0, 0).unwrap())
        );
        assert!(matches!(
            Event::from_json(r#"{"@timestamp":"yesterday"}"#),
            Err(EventJsonError::Timestamp(_))
        ));
        assert!(matches!(
            Event::from_json("[1]"),
            Err(EventJsonError::NotAnObject("an array"))
        ));
    }

    #[test]
    fn strings_are_escaped() {
        let mut event = Event::new();
        event.insert("message", "a\"b\\c\nd\u{1}é");
        let json = event.to_json();
        assert_eq!(json, "{\"message\":\"a\\\"b\\\\c\\nd\\u0001é\"}");
        assert_eq!(Event::from_json(&json).unwrap(), event);
    }

    #[test]
    fn tags_and_keyword_walk() {
        let mut event = Event::with_original("raw line");
        event.add_tag(PARSE_FAILURE_TAG);
        event.add_tag(PARSE_FAILURE_TAG);
        assert!(event.has_tag(PARSE_FAILURE_TAG));
        assert_eq!(
            event.get("tags"),
            Some(&Value::List(vec![Value::from(PARSE_FAILURE_TAG)].into()))
        );
        assert!(event.any_string(&mut |s| s == "raw line"));
        assert!(!event.any_string(&mut |s| s == "nope"));
    }

    #[test]
    fn prefetching_reads_any_event_and_changes_nothing() {
        let mut huge = Event::new();
        for i in 0..1_000 {
            huge.insert(
                format!("winlog.event_data.a_field_name_longer_than_inline_{i}"),
                format!("a string value longer than the twenty-four inline bytes {i}"),
            );
        }
        huge.insert("short", 1i64);
        huge.insert("event.category", vec![Value::from("process")]);
        for event in [Event::new(), huge] {
            let before = event.clone();
            event.prefetch_for_match();
            event.prefetch_for_drop();
            assert_eq!(event, before);
        }
    }
}
