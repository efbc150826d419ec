//! A path (first line) and a JSON input (the rest): evaluating the path never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};
use switchback_asl::dataflow;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (path, rest) = text.split_once('\n').unwrap_or((text, ""));
    // Input that is not JSON still exercises the path parser against a fixed document.
    let input: Value = serde_json::from_str(rest)
        .unwrap_or_else(|_| json!({ "a": [1, { "b": "c" }, null], "d": { "e": 2.5 } }));
    let context = json!({
        "Execution": { "Id": "arn:x", "Input": input.clone(), "Name": "e" },
        "State": { "Name": "S", "EnteredTime": "2024-01-01T00:00:00Z" },
        "Map": { "Item": { "Index": 0, "Value": input.clone() } },
    });
    let _ = dataflow::evaluate_path(path, &input, &context);
    let _ = dataflow::is_definite_path(path);
    let _ = dataflow::evaluate_path_for_field(path, "InputPath", &input, &context);
});
