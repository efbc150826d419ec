//! Any expression: evaluating it as an intrinsic function never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::json;
use switchback_asl::entropy::Entropy;
use switchback_asl::intrinsics;

fuzz_target!(|data: &[u8]| {
    let Ok(expression) = std::str::from_utf8(data) else {
        return;
    };
    let input = json!({ "a": [1, 2, 3], "s": "text", "n": 3.5, "o": { "k": "v" }, "z": null });
    let context = json!({ "Execution": { "Id": "arn:x", "Input": input.clone() } });
    let mut entropy = Entropy::new(data.len() as u64);
    let _ = intrinsics::evaluate(expression, &input, &context, &mut entropy);
});
