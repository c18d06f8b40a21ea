//! Arbitrary bytes as a Sigma rule: loading, compiling and matching must never panic, whatever
//! the YAML, the modifiers or the condition.
#![no_main]

use libfuzzer_sys::fuzz_target;
use siem_core::event::Event;
use siem_core::sigma::RuleSet;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut builder = RuleSet::builder();
    builder.placeholder("ph", ["a*", "b?c"]);
    builder.add_yaml(&text, Some("fuzz.yml"));
    let (rules, errors) = builder.build();
    for error in &errors {
        let _ = error.to_string();
    }
    if rules.is_empty() {
        return;
    }
    // Exercise the compiled form on a few events built from the input itself.
    let mut event = Event::new();
    for (i, line) in text.lines().take(8).enumerate() {
        event.insert(
            [
                "a",
                "b",
                "CommandLine",
                "Image",
                "EventID",
                "message",
                "c.d",
                "tags",
            ][i],
            line,
        );
    }
    let _ = rules.matches(&event);
    let _ = rules.matches_exhaustive(&Event::new());
});
