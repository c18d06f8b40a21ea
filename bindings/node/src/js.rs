//! Thin wrappers over the raw Node-API calls the hot paths use.
//!
//! napi-rs's typed values cost an extra call here and there (a length query before every string
//! copy, a type check before every cast). Converting an event object makes a handful of calls per
//! field, so the walk in [`crate::convert`] and the alert building talk to Node-API directly
//! through these helpers. Each one checks its status and turns a failure into a
//! [`napi::Error`]; a JavaScript exception (a throwing getter, a Proxy trap) stays pending and
//! surfaces as `Status::PendingException`, which napi-rs rethrows unchanged.

use std::ffi::CStr;
use std::ptr;

use napi::{Error, Result, Status, sys};

/// A raw value of the current callback's scope.
pub type Raw = sys::napi_value;

/// The JavaScript type of a value, from `typeof` (with `null` apart).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Undefined,
    Null,
    Boolean,
    Number,
    String,
    Symbol,
    Object,
    Function,
    External,
    BigInt,
}

impl Kind {
    /// The word an error message uses for a value of this kind.
    pub fn describe(self) -> &'static str {
        match self {
            Kind::Undefined => "undefined",
            Kind::Null => "null",
            Kind::Boolean => "a boolean",
            Kind::Number => "a number",
            Kind::String => "a string",
            Kind::Symbol => "a symbol",
            Kind::Object => "an object",
            Kind::Function => "a function",
            Kind::External => "an external value",
            Kind::BigInt => "a BigInt",
        }
    }
}

#[inline]
pub fn check(status: sys::napi_status, what: &str) -> Result<()> {
    if status == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(Error::new(Status::from(status), what.to_string()))
    }
}

/// Wraps the env of one callback: every method is a Node-API call on that thread.
#[derive(Clone, Copy)]
pub struct Js {
    pub env: sys::napi_env,
}

/// Bytes read into the stack before a string is measured and read again.
const STACK_STRING: usize = 256;

impl Js {
    pub fn new(env: sys::napi_env) -> Js {
        Js { env }
    }

    #[inline]
    pub fn kind(self, value: Raw) -> Result<Kind> {
        let mut t = 0;
        check(
            unsafe { sys::napi_typeof(self.env, value, &mut t) },
            "typeof",
        )?;
        Ok(match t {
            sys::ValueType::napi_undefined => Kind::Undefined,
            sys::ValueType::napi_null => Kind::Null,
            sys::ValueType::napi_boolean => Kind::Boolean,
            sys::ValueType::napi_number => Kind::Number,
            sys::ValueType::napi_string => Kind::String,
            sys::ValueType::napi_symbol => Kind::Symbol,
            sys::ValueType::napi_function => Kind::Function,
            sys::ValueType::napi_external => Kind::External,
            sys::ValueType::napi_bigint => Kind::BigInt,
            _ => Kind::Object,
        })
    }

    #[inline]
    pub fn is_array(self, value: Raw) -> Result<bool> {
        let mut result = false;
        check(
            unsafe { sys::napi_is_array(self.env, value, &mut result) },
            "is_array",
        )?;
        Ok(result)
    }

    #[inline]
    pub fn is_date(self, value: Raw) -> Result<bool> {
        let mut result = false;
        check(
            unsafe { sys::napi_is_date(self.env, value, &mut result) },
            "is_date",
        )?;
        Ok(result)
    }

    pub fn is_buffer(self, value: Raw) -> Result<bool> {
        let mut result = false;
        check(
            unsafe { sys::napi_is_buffer(self.env, value, &mut result) },
            "is_buffer",
        )?;
        Ok(result)
    }

    /// Milliseconds since the epoch of a `Date` (NaN for an invalid date).
    pub fn date_value(self, value: Raw) -> Result<f64> {
        let mut ms = 0.0;
        check(
            unsafe { sys::napi_get_date_value(self.env, value, &mut ms) },
            "date value",
        )?;
        Ok(ms)
    }

    #[inline]
    pub fn number(self, value: Raw) -> Result<f64> {
        let mut n = 0.0;
        check(
            unsafe { sys::napi_get_value_double(self.env, value, &mut n) },
            "number",
        )?;
        Ok(n)
    }

    #[inline]
    pub fn boolean(self, value: Raw) -> Result<bool> {
        let mut b = false;
        check(
            unsafe { sys::napi_get_value_bool(self.env, value, &mut b) },
            "boolean",
        )?;
        Ok(b)
    }

    /// The value of a BigInt when it fits in an `i64`.
    pub fn bigint_i64(self, value: Raw) -> Result<Option<i64>> {
        let mut n = 0i64;
        let mut lossless = false;
        check(
            unsafe { sys::napi_get_value_bigint_int64(self.env, value, &mut n, &mut lossless) },
            "bigint",
        )?;
        Ok(lossless.then_some(n))
    }

    /// Calls `f` with the UTF-8 text of a string value. Short strings (the common case: keys,
    /// names, addresses) are copied once into a stack buffer; longer ones are measured and read
    /// into a heap buffer. Lone surrogates become U+FFFD (Node-API's conversion).
    #[inline]
    pub fn with_str<T>(self, value: Raw, f: impl FnOnce(&str) -> T) -> Result<T> {
        let mut buf = [0u8; STACK_STRING];
        let mut len = 0usize;
        check(
            unsafe {
                sys::napi_get_value_string_utf8(
                    self.env,
                    value,
                    buf.as_mut_ptr().cast(),
                    STACK_STRING,
                    &mut len,
                )
            },
            "string",
        )?;
        if len + 1 < STACK_STRING
            && let Ok(text) = std::str::from_utf8(&buf[..len])
        {
            return Ok(f(text));
        }
        let text = self.string(value)?;
        Ok(f(&text))
    }

    /// The UTF-8 text of a string value, measured first.
    pub fn string(self, value: Raw) -> Result<String> {
        let mut len = 0usize;
        check(
            unsafe {
                sys::napi_get_value_string_utf8(self.env, value, ptr::null_mut(), 0, &mut len)
            },
            "string length",
        )?;
        let mut bytes = vec![0u8; len + 1];
        let mut written = 0usize;
        check(
            unsafe {
                sys::napi_get_value_string_utf8(
                    self.env,
                    value,
                    bytes.as_mut_ptr().cast(),
                    len + 1,
                    &mut written,
                )
            },
            "string",
        )?;
        bytes.truncate(written);
        Ok(String::from_utf8(bytes)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
    }

    /// The text of a string value read as UTF-16 (lone surrogates become U+FFFD). V8 writes a
    /// string built by concatenation (a rope) out as UTF-16 without flattening it first, which
    /// its UTF-8 writer does: for the fast path's long encoded batches this is the cheaper read.
    pub fn string_utf16(self, value: Raw) -> Result<String> {
        let mut len = 0usize;
        check(
            unsafe {
                sys::napi_get_value_string_utf16(self.env, value, ptr::null_mut(), 0, &mut len)
            },
            "string length",
        )?;
        let mut units = vec![0u16; len + 1];
        let mut written = 0usize;
        check(
            unsafe {
                sys::napi_get_value_string_utf16(
                    self.env,
                    value,
                    units.as_mut_ptr(),
                    len + 1,
                    &mut written,
                )
            },
            "string",
        )?;
        units.truncate(written);
        // Logs are mostly ASCII: narrow it in one pass the compiler vectorizes, and decode
        // UTF-16 only when a unit says it is needed.
        if units.iter().all(|&u| u < 0x80) {
            let bytes: Vec<u8> = units.iter().map(|&u| u as u8).collect();
            return Ok(String::from_utf8(bytes).unwrap_or_default());
        }
        Ok(String::from_utf16_lossy(&units))
    }

    /// The own enumerable string keys of an object, as an array (what `Object.keys` returns).
    #[inline]
    pub fn own_keys(self, object: Raw) -> Result<Raw> {
        let mut keys = ptr::null_mut();
        check(
            unsafe {
                sys::napi_get_all_property_names(
                    self.env,
                    object,
                    sys::KeyCollectionMode::own_only,
                    sys::KeyFilter::enumerable | sys::KeyFilter::skip_symbols,
                    sys::KeyConversion::numbers_to_strings,
                    &mut keys,
                )
            },
            "property names",
        )?;
        Ok(keys)
    }

    #[inline]
    pub fn array_len(self, array: Raw) -> Result<u32> {
        let mut len = 0u32;
        check(
            unsafe { sys::napi_get_array_length(self.env, array, &mut len) },
            "array length",
        )?;
        Ok(len)
    }

    #[inline]
    pub fn element(self, array: Raw, index: u32) -> Result<Raw> {
        let mut value = ptr::null_mut();
        check(
            unsafe { sys::napi_get_element(self.env, array, index, &mut value) },
            "element",
        )?;
        Ok(value)
    }

    #[inline]
    pub fn property(self, object: Raw, key: Raw) -> Result<Raw> {
        let mut value = ptr::null_mut();
        check(
            unsafe { sys::napi_get_property(self.env, object, key, &mut value) },
            "property",
        )?;
        Ok(value)
    }

    pub fn named(self, object: Raw, name: &CStr) -> Result<Raw> {
        let mut value = ptr::null_mut();
        check(
            unsafe { sys::napi_get_named_property(self.env, object, name.as_ptr(), &mut value) },
            "named property",
        )?;
        Ok(value)
    }

    pub fn set_named(self, object: Raw, name: &CStr, value: Raw) -> Result<()> {
        check(
            unsafe { sys::napi_set_named_property(self.env, object, name.as_ptr(), value) },
            "set property",
        )
    }

    pub fn set_element(self, array: Raw, index: u32, value: Raw) -> Result<()> {
        check(
            unsafe { sys::napi_set_element(self.env, array, index, value) },
            "set element",
        )
    }

    pub fn create_string(self, s: &str) -> Result<Raw> {
        let mut value = ptr::null_mut();
        check(
            unsafe {
                sys::napi_create_string_utf8(
                    self.env,
                    s.as_ptr().cast(),
                    s.len() as isize,
                    &mut value,
                )
            },
            "create string",
        )?;
        Ok(value)
    }

    pub fn create_number(self, n: f64) -> Result<Raw> {
        let mut value = ptr::null_mut();
        check(
            unsafe { sys::napi_create_double(self.env, n, &mut value) },
            "create number",
        )?;
        Ok(value)
    }

    pub fn create_array(self, len: usize) -> Result<Raw> {
        let mut value = ptr::null_mut();
        check(
            unsafe { sys::napi_create_array_with_length(self.env, len, &mut value) },
            "create array",
        )?;
        Ok(value)
    }

    pub fn create_object(self) -> Result<Raw> {
        let mut value = ptr::null_mut();
        check(
            unsafe { sys::napi_create_object(self.env, &mut value) },
            "create object",
        )?;
        Ok(value)
    }

    pub fn null(self) -> Result<Raw> {
        let mut value = ptr::null_mut();
        check(unsafe { sys::napi_get_null(self.env, &mut value) }, "null")?;
        Ok(value)
    }

    pub fn undefined(self) -> Result<Raw> {
        let mut value = ptr::null_mut();
        check(
            unsafe { sys::napi_get_undefined(self.env, &mut value) },
            "undefined",
        )?;
        Ok(value)
    }

    pub fn global(self) -> Result<Raw> {
        let mut value = ptr::null_mut();
        check(
            unsafe { sys::napi_get_global(self.env, &mut value) },
            "global",
        )?;
        Ok(value)
    }

    pub fn call(self, this: Raw, function: Raw, args: &[Raw]) -> Result<Raw> {
        let mut result = ptr::null_mut();
        check(
            unsafe {
                sys::napi_call_function(
                    self.env,
                    this,
                    function,
                    args.len(),
                    args.as_ptr(),
                    &mut result,
                )
            },
            "call",
        )?;
        Ok(result)
    }

    pub fn new_instance(self, constructor: Raw, args: &[Raw]) -> Result<Raw> {
        let mut result = ptr::null_mut();
        check(
            unsafe {
                sys::napi_new_instance(
                    self.env,
                    constructor,
                    args.len(),
                    args.as_ptr(),
                    &mut result,
                )
            },
            "new",
        )?;
        Ok(result)
    }

    /// Throws `value` and returns the error that tells napi-rs an exception is pending.
    pub fn throw(self, value: Raw) -> Error {
        match check(unsafe { sys::napi_throw(self.env, value) }, "throw") {
            Ok(()) => Error::new(Status::PendingException, String::new()),
            Err(e) => e,
        }
    }

    pub fn reference(self, value: Raw) -> Result<sys::napi_ref> {
        let mut reference = ptr::null_mut();
        check(
            unsafe { sys::napi_create_reference(self.env, value, 1, &mut reference) },
            "reference",
        )?;
        Ok(reference)
    }

    pub fn deref(self, reference: sys::napi_ref) -> Result<Raw> {
        let mut value = ptr::null_mut();
        check(
            unsafe { sys::napi_get_reference_value(self.env, reference, &mut value) },
            "reference value",
        )?;
        Ok(value)
    }

    /// Runs `f` inside a fresh handle scope, so the values it creates are released when it
    /// returns (a batch of thousands of events does not pile them up in the caller's scope).
    #[inline]
    pub fn scoped<T>(self, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let mut scope = ptr::null_mut();
        check(
            unsafe { sys::napi_open_handle_scope(self.env, &mut scope) },
            "open scope",
        )?;
        let result = f();
        let closed = check(
            unsafe { sys::napi_close_handle_scope(self.env, scope) },
            "close scope",
        );
        let value = result?;
        closed?;
        Ok(value)
    }
}
