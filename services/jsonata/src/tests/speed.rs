//! How long small evaluations take: `cargo test --release -p switchback-jsonata -- --ignored
//! --nocapture speed`.

use std::time::Instant;

use serde_json::json;

use crate::{Env, Expression, Limits};

#[test]
#[ignore = "a timing, not a check: run it in release"]
fn speed_of_small_evaluations() {
    let states = json!({
        "input": { "a": 41, "name": "order", "items": [1, 2, 3] },
        "context": { "Execution": { "Id": "arn:aws:states:us-east-1:123456789012:execution:m:e" } }
    });
    let mut env = Env::new(Limits::default());
    env.bind("states", &states);
    for source in [
        "$states.input.a",
        "{\"x\": $states.input.a + 1}",
        "$states.input.items[$ > 1]",
        "$string($states.input.a) & \"-\" & $uppercase($states.input.name)",
    ] {
        let expression = Expression::parse(source).expect("parses");
        let rounds = 100_000;
        let started = Instant::now();
        for _ in 0..rounds {
            std::hint::black_box(expression.evaluate(None, &env).expect("evaluates"));
        }
        let each = started.elapsed() / rounds;
        println!("{source}: {each:?} per evaluation");
    }
}
