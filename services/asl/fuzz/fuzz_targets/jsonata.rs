//! Any text: parsing it as JSONata and evaluating it over a fixed input returns, within
//! libFuzzer's time and memory limits (switchback-jsonata catches panics inside jsonata-core
//! itself; what it cannot catch is an abort: a stack overflow or an allocation failure).
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use serde_json::json;
use switchback_jsonata::{Env, Expression, Limits};

fuzz_target!(|data: &[u8]| {
    let Ok(source) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(expression) = Expression::parse(source) else {
        return;
    };
    let input = json!({
        "a": [1, 2, 3], "s": "text, with commas", "n": 3.5, "o": { "k": "v" }, "z": null,
        "items": [{ "id": 1, "tags": ["x"] }, { "id": 2, "tags": [] }]
    });
    let states = json!({ "input": input.clone(), "context": { "Execution": { "Id": "arn:x" } } });
    let mut env = Env::new(Limits {
        timeout: Duration::from_millis(200),
        ..Limits::default()
    });
    env.bind("states", &states);
    env.function("random", |_| Ok(Some(json!(0.25))));
    env.function("millis", |_| Ok(Some(json!(1_714_953_600_000_i64))));
    env.function("now", |_| Ok(Some(json!("2024-05-06T00:00:00.000Z"))));
    let _ = expression.evaluate(Some(&input), &env);
});
