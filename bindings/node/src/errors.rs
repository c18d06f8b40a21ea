//! The package's error classes, thrown from Rust.
//!
//! `RuleError` and `EventError` are JavaScript classes (`node/lib/errors.js`, real `Error`
//! subclasses so that `instanceof` works). The loader hands them to the addon once per
//! JavaScript environment (main thread or worker) through `_setErrorClasses`; the addon keeps
//! references to them, and to `JSON.parse`, in the environment's instance data. Loaded without
//! the loader, the addon throws plain `Error`s carrying the same properties.

use std::ffi::CStr;

use napi::{Env, Result, sys};
use siem_core::sigma::RuleError as CoreRuleError;

use crate::convert::EventError;
use crate::js::{Js, Raw};

/// What the loader registered for one environment.
pub struct State {
    rule_error: sys::napi_ref,
    event_error: sys::napi_ref,
    json_parse: sys::napi_ref,
}

/// Registers the error classes (and caches `JSON.parse`) for this environment.
pub fn register(env: &Env, rule_error: Raw, event_error: Raw) -> Result<()> {
    let js = Js::new(env.raw());
    let json = js.named(js.global()?, c"JSON")?;
    let parse = js.named(json, c"parse")?;
    let state = State {
        rule_error: js.reference(rule_error)?,
        event_error: js.reference(event_error)?,
        json_parse: js.reference(parse)?,
    };
    // The references die with the environment; nothing to release by hand.
    env.set_instance_data(state, (), |_| {})
}

fn state(js: Js) -> Option<&'static State> {
    Env::from_raw(js.env)
        .get_instance_data::<State>()
        .ok()
        .flatten()
        .map(|s| &*s)
}

/// `JSON.parse(text)`: the one way alerts and events cross back, so that what JavaScript gets
/// is exactly the contract JSON (see the crate docs for why this is also the fastest way).
pub fn json_parse(js: Js, text: &str) -> Result<Raw> {
    let parse = match state(js) {
        Some(state) => js.deref(state.json_parse)?,
        None => js.named(js.named(js.global()?, c"JSON")?, c"parse")?,
    };
    let text = js.create_string(text)?;
    js.call(js.undefined()?, parse, &[text])
}

fn string_or_null(js: Js, value: Option<&str>) -> Result<Raw> {
    match value {
        Some(s) => js.create_string(s),
        None => js.null(),
    }
}

/// `new Class(message, details)`, or an `Error` with `name` and the details as properties when
/// no class was registered.
fn construct(
    js: Js,
    class: Option<sys::napi_ref>,
    name: &str,
    message: &str,
    details: &[(&CStr, Raw)],
) -> Result<Raw> {
    let message_value = js.create_string(message)?;
    if let Some(class) = class {
        let object = js.create_object()?;
        for (key, value) in details {
            js.set_named(object, key, *value)?;
        }
        return js.new_instance(js.deref(class)?, &[message_value, object]);
    }
    let mut error = std::ptr::null_mut();
    crate::js::check(
        unsafe { sys::napi_create_error(js.env, std::ptr::null_mut(), message_value, &mut error) },
        "create error",
    )?;
    js.set_named(error, c"name", js.create_string(name)?)?;
    for (key, value) in details {
        js.set_named(error, key, *value)?;
    }
    Ok(error)
}

/// One rule that could not be loaded, as a `RuleError`.
pub fn rule_error(js: Js, error: &RuleProblem) -> Result<Raw> {
    let class = state(js).map(|s| s.rule_error);
    let details = [
        (c"path", string_or_null(js, error.path.as_deref())?),
        (c"ruleId", string_or_null(js, error.rule_id.as_deref())?),
        (c"reason", js.create_string(&error.reason)?),
        (c"document", js.create_number(error.document as f64)?),
    ];
    construct(js, class, "RuleError", &error.message, &details)
}

/// Several rules that could not be loaded: one `RuleError` whose `errors` lists them all (and
/// whose own `path`, `ruleId` and `reason` are the first one's).
pub fn rule_errors(js: Js, errors: &[RuleProblem]) -> Result<Raw> {
    let Some(first) = errors.first() else {
        return js.null();
    };
    let list = js.create_array(errors.len())?;
    for (i, e) in errors.iter().enumerate() {
        js.set_element(list, i as u32, rule_error(js, e)?)?;
    }
    let message = if errors.len() == 1 {
        first.message.clone()
    } else {
        let mut m = format!("{} rules could not be loaded:", errors.len());
        for e in errors.iter().take(20) {
            m.push_str("\n  ");
            m.push_str(&e.message);
        }
        if errors.len() > 20 {
            m.push_str(&format!("\n  ... and {} more", errors.len() - 20));
        }
        m
    };
    let class = state(js).map(|s| s.rule_error);
    let details = [
        (c"path", string_or_null(js, first.path.as_deref())?),
        (c"ruleId", string_or_null(js, first.rule_id.as_deref())?),
        (c"reason", js.create_string(&first.reason)?),
        (c"document", js.create_number(first.document as f64)?),
        (c"errors", list),
    ];
    construct(js, class, "RuleError", &message, &details)
}

/// A value that is not an event (or a line that is not a line), as an `EventError`; `index` is
/// its position in a batch.
pub fn event_error(js: Js, error: &EventError, index: Option<usize>) -> Result<Raw> {
    let class = state(js).map(|s| s.event_error);
    let message = match index {
        Some(i) => format!("event {i} of the batch: {error}"),
        None => error.to_string(),
    };
    let details = [
        (c"field", string_or_null(js, error.field())?),
        (c"reason", js.create_string(&error.reason())?),
        (
            c"index",
            match index {
                Some(i) => js.create_number(i as f64)?,
                None => js.null()?,
            },
        ),
    ];
    construct(js, class, "EventError", &message, &details)
}

/// A rule (or rule file) that could not be loaded, in the terms the JavaScript error uses.
#[derive(Debug, Clone)]
pub struct RuleProblem {
    /// The file, when the rule came from one (or the caller named the text).
    pub path: Option<String>,
    /// The rule's id, else its name or title.
    pub rule_id: Option<String>,
    /// Why, without the path and rule in front.
    pub reason: String,
    /// The 1-based YAML document in the file.
    pub document: usize,
    /// The whole message: `path: rule id: reason`.
    pub message: String,
}

impl From<&CoreRuleError> for RuleProblem {
    fn from(e: &CoreRuleError) -> Self {
        RuleProblem {
            path: e.path.clone(),
            rule_id: e.rule.as_ref().map(|r| r.to_string()),
            reason: e.kind.to_string(),
            document: e.document,
            message: e.to_string(),
        }
    }
}
