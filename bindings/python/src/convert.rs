//! Conversions between Python objects and siem's values.
//!
//! - [`event_from_py`]: a Python dict (nested or dotted keys) walked straight into an [`Event`],
//!   with the same precedence rule as `Event::from_json` (the fewer levels of nesting a name came
//!   from, the higher its precedence) and no JSON text in between.
//! - [`json_to_py`]: JSON text (what siem writes for events and alerts) read straight into Python
//!   objects, so that `Alert.to_dict()` is exactly `json.loads(alert.to_json())`.
//! - [`value_to_py`]: one field value, rendered as the alert JSON renders it.

use std::net::IpAddr;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, Utc};
use compact_str::CompactString;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{
    PyBool, PyBytes, PyDate, PyDateTime, PyDict, PyFloat, PyInt, PyList, PyMapping, PyString,
    PyTuple, PyType,
};
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use siem_core::event::{Event, FieldMap, LogSource, Value, format_timestamp};

use crate::errors;

/// How deep dicts and lists may nest in an event. Deeper input is refused rather than walked:
/// it is almost certainly a reference cycle (`d["self"] = d`), and recursion must stay bounded.
pub const MAX_DEPTH: usize = 64;

/// The type name of a Python object, for messages.
pub fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "object".to_string())
}

/// Calls `f` with the UTF-8 text of a Python `str`, borrowed from the string object.
///
/// `PyUnicode_AsUTF8AndSize` hands out the string's own UTF-8 (for ASCII strings, their data;
/// for others a copy CPython caches in the object) without allocating per call. It joined the
/// limited API only in 3.10, so pyo3's abi3-py39 build does not declare it, but CPython has
/// exported it with this signature since 3.3: outside Windows (where an abi3 module links
/// against `python3.dll`, which forwards only the limited API of its version), it is called
/// directly. Elsewhere the string is encoded into a temporary `bytes`.
/// Strings with lone surrogates (which UTF-8 cannot hold) are an error.
pub fn with_str<R>(s: &Bound<'_, PyString>, f: impl FnOnce(&str) -> R) -> PyResult<R> {
    #[cfg(not(windows))]
    {
        unsafe extern "C" {
            fn PyUnicode_AsUTF8AndSize(
                unicode: *mut pyo3::ffi::PyObject,
                size: *mut pyo3::ffi::Py_ssize_t,
            ) -> *const std::ffi::c_char;
        }
        let mut size: pyo3::ffi::Py_ssize_t = 0;
        // SAFETY: `s` is a live `str` (the GIL is held: `Bound`); the returned buffer belongs
        // to it and lives as long as it does, which outlasts this call.
        let data = unsafe { PyUnicode_AsUTF8AndSize(s.as_ptr(), &mut size) };
        if data.is_null() {
            return Err(PyErr::fetch(s.py()));
        }
        let len = usize::try_from(size).unwrap_or(0);
        // SAFETY: CPython returns `size` bytes of valid UTF-8 at `data`.
        let text = unsafe {
            std::str::from_utf8_unchecked(std::slice::from_raw_parts(data.cast::<u8>(), len))
        };
        Ok(f(text))
    }
    #[cfg(windows)]
    {
        let bytes = s.encode_utf8()?;
        match std::str::from_utf8(bytes.as_bytes()) {
            Ok(text) => Ok(f(text)),
            Err(e) => Err(pyo3::exceptions::PyUnicodeError::new_err(e.to_string())),
        }
    }
}

/// Reads a Python `str` as a [`CompactString`] (no allocation up to 24 bytes).
pub fn py_str(s: &Bound<'_, PyString>) -> PyResult<CompactString> {
    with_str(s, |text| CompactString::from(text))
}

// ---------------------------------------------------------------------------------------------
// Python -> Event

/// Converts an ECS event given as a Python mapping into an [`Event`].
///
/// `@timestamp` (a `datetime`, an RFC 3339 string or epoch milliseconds) becomes the event's
/// timestamp; a top-level `logsource` mapping of `product` / `category` / `service` strings
/// becomes its logsource; every other key becomes a field, nested mappings flattened into
/// dotted names.
///
/// When the same dotted name is reached by two paths (`{"a.b": 1, "a": {"b": 2}}`), the one
/// with fewer levels of nesting wins, as in `Event::from_json`. That needs a key with a dot in
/// it, so the walk first goes without bookkeeping and notes whether such keys could collide;
/// only then does it walk again keeping each name's depth.
pub fn event_from_py(obj: &Bound<'_, PyAny>) -> PyResult<Event> {
    event_from_py_sized(obj, 0)
}

/// [`event_from_py`] with a guess of the number of fields (the previous event's, in a batch),
/// so that the field map rarely has to grow and rehash while it fills; 0 for no guess.
pub fn event_from_py_sized(obj: &Bound<'_, PyAny>, fields: usize) -> PyResult<Event> {
    // Nested events have more fields than top-level keys.
    let top = obj.len().unwrap_or(0);
    let capacity = if fields > 0 {
        fields.max(top)
    } else {
        top.saturating_mul(4).clamp(16, 64)
    };
    let mut fast = Flat::new(false, capacity);
    fast.run(obj)?;
    if !fast.may_collide() {
        return Ok(fast.into_event());
    }
    let mut exact = Flat::new(true, capacity);
    exact.run(obj)?;
    Ok(exact.into_event())
}

/// Calls `f` with each (key, value) of a dict or other mapping. `path` names the mapping in
/// error messages (`None` for the event itself).
fn for_each_item<'py>(
    obj: &Bound<'py, PyAny>,
    path: Option<&str>,
    mut f: impl FnMut(&str, Bound<'py, PyAny>) -> PyResult<()>,
) -> PyResult<()> {
    let py = obj.py();
    let bad_key = |k: &Bound<'py, PyAny>, e: Option<PyErr>| key_error(py, path, k, e);
    let mut item = |k: Bound<'py, PyAny>, v: Bound<'py, PyAny>| -> PyResult<()> {
        match k.cast::<PyString>() {
            Ok(s) => match with_str(s, |key| f(key, v)) {
                Ok(result) => result,
                Err(e) => Err(bad_key(&k, Some(e))),
            },
            Err(_) => Err(bad_key(&k, None)),
        }
    };
    if let Ok(dict) = obj.cast::<PyDict>() {
        for (k, v) in dict.iter() {
            item(k, v)?;
        }
        return Ok(());
    }
    if let Ok(mapping) = obj.cast::<PyMapping>() {
        for entry in mapping.items()?.iter() {
            let (k, v) = entry.extract::<(Bound<'py, PyAny>, Bound<'py, PyAny>)>()?;
            item(k, v)?;
        }
        return Ok(());
    }
    Err(errors::event_error(
        py,
        match path {
            None => format!(
                "an event must be a dict of ECS fields (nested or dotted keys), got {}; \
                 use process_line() for raw log lines",
                type_name(obj)
            ),
            Some(p) => format!("{p}: expected a dict, got {}", type_name(obj)),
        },
        path,
    ))
}

/// The error for a key that is not a string (`e` is `None`) or not valid text.
fn key_error(py: Python<'_>, path: Option<&str>, k: &Bound<'_, PyAny>, e: Option<PyErr>) -> PyErr {
    let what = match e {
        Some(e) => format!("key is not valid text: {e}"),
        None => format!(
            "keys must be strings, got {} ({})",
            type_name(k),
            k.repr().map(|r| r.to_string()).unwrap_or_default()
        ),
    };
    errors::event_error(py, format!("{}: {what}", path.unwrap_or("event")), path)
}

/// Whether `obj` is a dict or another mapping. The common scalar types are ruled out first:
/// the check for other mappings asks `collections.abc.Mapping`, which costs a Python call.
fn is_mapping(obj: &Bound<'_, PyAny>) -> bool {
    if obj.is_instance_of::<PyDict>() {
        return true;
    }
    if obj.is_instance_of::<PyString>()
        || obj.is_none()
        || obj.is_instance_of::<PyInt>()
        || obj.is_instance_of::<PyFloat>()
        || obj.is_instance_of::<PyList>()
        || obj.is_instance_of::<PyTuple>()
    {
        return false;
    }
    obj.cast::<PyMapping>().is_ok()
}

/// A top-level `logsource` that is a mapping of the three Sigma keys to strings (or `None`);
/// anything else is an ordinary field, as in `Event::from_json`.
fn logsource_from_py(value: &Bound<'_, PyAny>) -> PyResult<Option<LogSource>> {
    let Ok(dict) = value.cast::<PyDict>() else {
        return Ok(None);
    };
    let mut ls = LogSource::default();
    for (k, v) in dict.iter() {
        let Ok(k) = k.cast::<PyString>() else {
            return Ok(None);
        };
        let part = if v.is_none() {
            None
        } else if let Ok(s) = v.cast::<PyString>() {
            Some(py_str(s)?)
        } else {
            return Ok(None);
        };
        match &*k.to_cow()? {
            "product" => ls.product = part,
            "category" => ls.category = part,
            "service" => ls.service = part,
            _ => return Ok(None),
        }
    }
    Ok(Some(ls))
}

/// Reads `@timestamp`: an aware `datetime` (a naive one is taken as UTC), an RFC 3339 string
/// (as `Event::from_json` reads it) or epoch milliseconds.
pub fn timestamp_from_py(value: &Bound<'_, PyAny>) -> PyResult<DateTime<Utc>> {
    let py = value.py();
    let bad =
        |what: String| errors::event_error(py, format!("@timestamp: {what}"), Some("@timestamp"));
    if value.is_instance_of::<PyDateTime>() {
        return datetime_to_utc(value).map_err(|e| bad(e.to_string()));
    }
    if let Ok(s) = value.cast::<PyString>() {
        let text = s.to_cow()?;
        return parse_time_text(&text).ok_or_else(|| {
            bad(format!(
                "unreadable time {text:?}: expected RFC 3339 (2024-05-01T10:00:00Z) or epoch \
                 milliseconds"
            ))
        });
    }
    if value.is_instance_of::<PyBool>() {
        return Err(bad("expected a datetime, got bool".into()));
    }
    if value.is_instance_of::<PyInt>() || value.is_instance_of::<PyFloat>() {
        let millis: f64 = value.extract()?;
        if millis.is_finite()
            && millis.abs() < 1e17
            && let Some(t) = DateTime::from_timestamp_millis(millis as i64)
        {
            return Ok(t);
        }
        return Err(bad(format!("epoch milliseconds {millis} out of range")));
    }
    if value.is_instance_of::<PyDate>() {
        return Err(bad(
            "a date is not a point in time: give a datetime".to_string()
        ));
    }
    Err(bad(format!(
        "expected a datetime, an RFC 3339 string or epoch milliseconds, got {}",
        type_name(value)
    )))
}

/// An aware `datetime` in UTC; a naive one is read as UTC.
pub fn datetime_to_utc(value: &Bound<'_, PyAny>) -> PyResult<DateTime<Utc>> {
    if value.getattr("tzinfo")?.is_none() {
        let naive: NaiveDateTime = value.extract()?;
        Ok(naive.and_utc())
    } else {
        let aware: DateTime<FixedOffset> = value.extract()?;
        Ok(aware.with_timezone(&Utc))
    }
}

/// RFC 3339, with a space instead of `T` too, or a zone-less ISO 8601 time (read as UTC):
/// what `Event::from_json` accepts for `@timestamp`.
fn parse_time_text(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    let s = s.replacen(' ', "T", 1);
    if let Ok(t) = DateTime::parse_from_rfc3339(&s) {
        return Some(t.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(&s, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|n| n.and_utc())
}

/// Flattens nested mappings into an event.
///
/// Without `exact`, fields go straight into the event and the walk only notes whether two
/// paths could reach the same name ([`Flat::may_collide`]). With `exact`, fields go into a map
/// that keeps each name's nesting depth, as `Event::from_json` does.
struct Flat {
    exact: bool,
    event: Event,
    logsource: Option<LogSource>,
    timestamp: Option<DateTime<Utc>>,
    /// Exact mode: the fields, and the depth each name came from.
    fields: FieldMap,
    depths: Vec<u16>,
    /// A top-level key with a dot, a top-level mapping, a nested key with a dot.
    dotted_top: bool,
    nested: bool,
    dotted_deep: bool,
    /// The dotted name being built.
    name: String,
}

impl Flat {
    fn new(exact: bool, capacity: usize) -> Flat {
        Flat {
            exact,
            event: if exact {
                Event::new()
            } else {
                Event::with_capacity(capacity)
            },
            logsource: None,
            timestamp: None,
            fields: FieldMap::default(),
            depths: Vec::new(),
            dotted_top: false,
            nested: false,
            dotted_deep: false,
            name: String::with_capacity(64),
        }
    }

    /// Walks the event's top level.
    fn run(&mut self, obj: &Bound<'_, PyAny>) -> PyResult<()> {
        for_each_item(obj, None, |key, value| {
            match key {
                "@timestamp" => {
                    self.timestamp = Some(timestamp_from_py(&value)?);
                    return Ok(());
                }
                "logsource" => {
                    if let Some(ls) = logsource_from_py(&value)? {
                        self.logsource = Some(ls);
                        return Ok(());
                    }
                }
                _ => {}
            }
            self.dotted_top |= key.contains('.');
            self.name.clear();
            self.name.push_str(key);
            self.walk(&value, 0)
        })
    }

    /// Whether two paths could have reached the same dotted name: only through a key with a
    /// dot, beside a mapping.
    fn may_collide(&self) -> bool {
        self.dotted_deep || (self.dotted_top && self.nested)
    }

    fn into_event(self) -> Event {
        let mut event = self.event;
        if self.exact {
            for (name, value) in self.fields {
                event.insert(name, value);
            }
        }
        event.timestamp = self.timestamp;
        if let Some(ls) = self.logsource {
            event.logsource = ls;
        }
        event
    }

    /// Walks the value of the field named `self.name`, at nesting `depth`.
    fn walk(&mut self, value: &Bound<'_, PyAny>, depth: usize) -> PyResult<()> {
        if depth >= MAX_DEPTH {
            return Err(too_deep(value.py(), &self.name));
        }
        if let Ok(s) = value.cast::<PyString>() {
            let text = py_str(s).map_err(|e| not_text(value.py(), &self.name, e))?;
            self.put(Value::Str(text), depth);
            return Ok(());
        }
        if let Some(scalar) = scalar_from_py(value)? {
            self.put(scalar, depth);
            return Ok(());
        }
        if is_mapping(value) {
            if depth == 0 {
                self.nested = true;
            }
            // An empty mapping sets nothing: `Event::insert` flattens objects into their members.
            if let Ok(dict) = value.cast::<PyDict>() {
                // The common case, without the path copy `for_each_item` needs for its errors.
                for (k, inner) in dict.iter() {
                    let Ok(key) = k.cast::<PyString>() else {
                        return Err(key_error(value.py(), Some(&self.name), &k, None));
                    };
                    let walked = with_str(key, |key| {
                        self.dotted_deep |= key.contains('.');
                        let len = self.name.len();
                        self.name.push('.');
                        self.name.push_str(key);
                        let result = self.walk(&inner, depth + 1);
                        self.name.truncate(len);
                        result
                    });
                    match walked {
                        Ok(result) => result?,
                        Err(e) => return Err(key_error(value.py(), Some(&self.name), &k, Some(e))),
                    }
                }
                return Ok(());
            }
            let path = self.name.clone();
            return for_each_item(value, Some(&path), |key, inner| {
                self.dotted_deep |= key.contains('.');
                let len = self.name.len();
                self.name.push('.');
                self.name.push_str(key);
                let result = self.walk(&inner, depth + 1);
                self.name.truncate(len);
                result
            });
        }
        let value = value_from_py(value, &self.name, depth)?;
        self.put(value, depth);
        Ok(())
    }

    fn put(&mut self, value: Value, depth: usize) {
        let name = CompactString::from(self.name.as_str());
        if !self.exact {
            self.event.insert(name, value);
            return;
        }
        let depth = depth as u16;
        match self.fields.get_index_of(&name) {
            Some(i) => {
                if depth <= self.depths[i] {
                    self.fields[i] = value;
                    self.depths[i] = depth;
                }
            }
            None => {
                self.fields.insert(name, value);
                self.depths.push(depth);
            }
        }
    }
}

fn not_text(py: Python<'_>, name: &str, e: PyErr) -> PyErr {
    errors::event_error(
        py,
        format!("{name}: string is not valid text: {e}"),
        Some(name),
    )
}

fn too_deep(py: Python<'_>, name: &str) -> PyErr {
    errors::event_error(
        py,
        format!("{name}: nested deeper than {MAX_DEPTH} levels (a reference cycle?)"),
        Some(name),
    )
}

static IPV4: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static IPV6: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static UUID: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static DECIMAL: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// The common scalars (None, bool, int, float) without further type tests; `None` for
/// anything else.
#[inline]
fn scalar_from_py(obj: &Bound<'_, PyAny>) -> PyResult<Option<Value>> {
    if obj.is_none() {
        return Ok(Some(Value::Null));
    }
    if let Ok(b) = obj.cast_exact::<PyBool>() {
        return Ok(Some(Value::Bool(b.is_true())));
    }
    if let Ok(i) = obj.cast_exact::<PyInt>() {
        return Ok(Some(match i.extract::<i64>() {
            Ok(i) => Value::Int(i),
            // Beyond i64, as JSON integers beyond i64 do.
            Err(_) => Value::Float(i.extract::<f64>()?),
        }));
    }
    if let Ok(f) = obj.cast_exact::<PyFloat>() {
        return Ok(Some(Value::Float(f.value())));
    }
    Ok(None)
}

/// One field value: str, bool, int, float, None, list/tuple, a mapping inside a list, datetime
/// and date (as RFC 3339 / ISO text), `ipaddress` addresses, `uuid.UUID` and `decimal.Decimal`.
fn value_from_py(obj: &Bound<'_, PyAny>, name: &str, depth: usize) -> PyResult<Value> {
    let py = obj.py();
    if depth >= MAX_DEPTH {
        return Err(too_deep(py, name));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return py_str(s).map(Value::Str).map_err(|e| not_text(py, name, e));
    }
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if obj.is_instance_of::<PyInt>() {
        return Ok(match obj.extract::<i64>() {
            Ok(i) => Value::Int(i),
            // Beyond i64, as JSON integers beyond i64 do.
            Err(_) => Value::Float(obj.extract::<f64>()?),
        });
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        return Ok(Value::Float(f.value()));
    }
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        let mut items = Vec::with_capacity(obj.len().unwrap_or(0));
        for item in obj.try_iter()? {
            items.push(list_item_from_py(&item?, name, depth + 1)?);
        }
        return Ok(Value::List(items.into()));
    }
    if obj.is_instance_of::<PyDateTime>() {
        let t = datetime_to_utc(obj)
            .map_err(|e| errors::event_error(py, format!("{name}: {e}"), Some(name)))?;
        return Ok(Value::Str(format_timestamp(t).into()));
    }
    if obj.is_instance_of::<PyDate>() {
        let d: NaiveDate = obj.extract()?;
        return Ok(Value::Str(d.format("%Y-%m-%d").to_string().into()));
    }
    let ipv4 = IPV4.import(py, "ipaddress", "IPv4Address")?;
    let ipv6 = IPV6.import(py, "ipaddress", "IPv6Address")?;
    if obj.is_instance(ipv4)? || obj.is_instance(ipv6)? {
        let text = obj.str()?.to_cow()?.into_owned();
        if let Ok(ip) = text.parse::<IpAddr>() {
            return Ok(Value::Ip(ip));
        }
        return Ok(Value::Str(text.into()));
    }
    if obj.is_instance(UUID.import(py, "uuid", "UUID")?)? {
        return Ok(Value::Str(obj.str()?.to_cow()?.as_ref().into()));
    }
    if obj.is_instance(DECIMAL.import(py, "decimal", "Decimal")?)? {
        return Ok(Value::Float(obj.extract::<f64>()?));
    }
    if is_mapping(obj) {
        // A mapping as a field value outside a list is flattened by the caller; here it can
        // only be inside a list.
        return list_item_from_py(obj, name, depth);
    }
    if obj.is_instance_of::<PyBytes>() {
        return Err(errors::event_error(
            py,
            format!("{name}: bytes are not a field value: decode them to str first"),
            Some(name),
        ));
    }
    Err(errors::event_error(
        py,
        format!(
            "{name}: unsupported value of type {} (expected str, int, float, bool, None, list, \
             dict, datetime, date, ipaddress, UUID or Decimal)",
            type_name(obj)
        ),
        Some(name),
    ))
}

/// An item of a list field: a mapping becomes a flattened [`Value::Object`] (objects survive
/// only inside lists, see `siem_core::event`), anything else a value.
fn list_item_from_py(obj: &Bound<'_, PyAny>, name: &str, depth: usize) -> PyResult<Value> {
    if depth >= MAX_DEPTH {
        return Err(too_deep(obj.py(), name));
    }
    if is_mapping(obj) {
        let mut map = FieldMap::default();
        let mut depths: Vec<u16> = Vec::new();
        object_into(obj, "", name, depth, 0, &mut map, &mut depths)?;
        return Ok(Value::Object(Box::new(map)));
    }
    value_from_py(obj, name, depth)
}

/// Flattens a mapping inside a list into `map` (keys relative to the object), with the same
/// precedence as the event's own fields.
fn object_into(
    obj: &Bound<'_, PyAny>,
    prefix: &str,
    name: &str,
    depth: usize,
    level: u16,
    map: &mut FieldMap,
    depths: &mut Vec<u16>,
) -> PyResult<()> {
    if depth >= MAX_DEPTH {
        return Err(too_deep(obj.py(), name));
    }
    let mut empty = true;
    for_each_item(obj, Some(name), |key, inner| {
        empty = false;
        let full: CompactString = if prefix.is_empty() {
            key.into()
        } else {
            let mut full = CompactString::with_capacity(prefix.len() + 1 + key.len());
            full.push_str(prefix);
            full.push('.');
            full.push_str(key);
            full
        };
        if is_mapping(&inner) {
            return object_into(&inner, &full, name, depth + 1, level + 1, map, depths);
        }
        let value = value_from_py(&inner, name, depth + 1)?;
        match map.get_index_of(&full) {
            Some(i) => {
                if level <= depths[i] {
                    map[i] = value;
                    depths[i] = level;
                }
            }
            None => {
                map.insert(full, value);
                depths.push(level);
            }
        }
        Ok(())
    })?;
    if empty && !prefix.is_empty() && !map.contains_key(prefix) {
        map.insert(prefix.into(), Value::Object(Box::default()));
        depths.push(level);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// JSON text -> Python

/// Reads JSON text into Python objects (dict, list, str, int, float, bool, None), keeping key
/// order, as `json.loads` does.
pub fn json_to_py<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyAny>> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = PySeed { py }
        .deserialize(&mut de)
        .map_err(|e| errors::siem_error(py, format!("internal error reading siem's JSON: {e}")))?;
    de.end()
        .map_err(|e| errors::siem_error(py, format!("internal error reading siem's JSON: {e}")))?;
    Ok(value)
}

struct PySeed<'py> {
    py: Python<'py>,
}

impl<'de, 'py> DeserializeSeed<'de> for PySeed<'py> {
    type Value = Bound<'py, PyAny>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

fn de_err<E: serde::de::Error>(e: PyErr) -> E {
    E::custom(e.to_string())
}

impl<'de, 'py> Visitor<'de> for PySeed<'py> {
    type Value = Bound<'py, PyAny>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(PyBool::new(self.py, v).to_owned().into_any())
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(PyInt::new(self.py, v).into_any())
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(PyInt::new(self.py, v).into_any())
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Self::Value, E> {
        float_to_py(self.py, v).map_err(de_err)
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(PyString::new(self.py, v).into_any())
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(self.py.None().into_bound(self.py))
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        self.visit_unit()
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let list = PyList::empty(self.py);
        while let Some(item) = seq.next_element_seed(PySeed { py: self.py })? {
            list.append(item).map_err(de_err)?;
        }
        Ok(list.into_any())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let dict = PyDict::new(self.py);
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            let value = map.next_value_seed(PySeed { py: self.py })?;
            dict.set_item(PyString::new(self.py, &key), value)
                .map_err(de_err)?;
        }
        Ok(dict.into_any())
    }
}

// ---------------------------------------------------------------------------------------------
// Value -> Python

/// One value as the alert JSON renders it: addresses as strings, non-finite floats as `None`,
/// objects as nested dicts.
pub fn value_to_py<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Int(i) => PyInt::new(py, *i).into_any(),
        Value::Float(f) if f.is_finite() => float_to_py(py, *f)?,
        Value::Float(_) => py.None().into_bound(py),
        Value::Str(s) => PyString::new(py, s).into_any(),
        Value::Ip(ip) => PyString::new(py, &ip.to_string()).into_any(),
        Value::List(items) => {
            let list = PyList::empty(py);
            for item in items.iter() {
                list.append(value_to_py(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(_) => json_to_py(py, &value.to_json_value().to_string())?,
    })
}

/// A float as `json.loads` reads siem's JSON for it. siem writes integral floats of 1e15 and
/// more as integer literals (Rust's `Display`: shortest round-trip digits, then zeros, never an
/// exponent), which `json.loads` reads as `int`; serde_json hands integer literals beyond `u64`
/// over as `f64`. Both sides agree only if such a float becomes the `int` of that literal.
fn float_to_py(py: Python<'_>, v: f64) -> PyResult<Bound<'_, PyAny>> {
    if v.is_finite() && v.fract() == 0.0 && v.abs() >= 1e15 {
        let literal = v.to_string();
        return py.get_type::<PyInt>().call1((PyString::new(py, &literal),));
    }
    Ok(PyFloat::new(py, v).into_any())
}

/// A UTC time as an aware `datetime`.
pub fn time_to_py<'py>(py: Python<'py>, t: DateTime<Utc>) -> PyResult<Bound<'py, PyAny>> {
    Ok(t.into_pyobject(py)?.into_any())
}
