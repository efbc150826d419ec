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
    // Over an input of 1,000 items, against jsonata-core alone (no rewrite, no guards).
    let items: Vec<_> = (0..1000)
        .map(|i| json!({ "id": i, "price": i as f64 * 1.5, "tags": ["a", "b"] }))
        .collect();
    let input = json!({ "items": items });
    let env = Env::new(Limits::default());
    for source in [
        "$sum(items.price)",
        "items[price > 100].id",
        "$map(items, function($v) { $v.price * 2 })",
        "$reduce(items, function($acc, $v) { $acc + $v.price }, 0)",
        "items.{\"id\": id, \"tag\": tags[0] & \"-\" & $string(id)}",
    ] {
        let expression = Expression::parse(source).expect("parses");
        let rounds = 200;
        let started = Instant::now();
        for _ in 0..rounds {
            std::hint::black_box(expression.evaluate(Some(&input), &env).expect("evaluates"));
        }
        let ours = started.elapsed() / rounds;
        let started = Instant::now();
        for _ in 0..rounds {
            std::hint::black_box(
                super::plain(source, Some(&input), Limits::default()).expect("evaluates"),
            );
        }
        let theirs = started.elapsed() / rounds;
        println!("{source}: {ours:?} (jsonata-core alone: {theirs:?})");
    }
}
