//! Every bound: each runaway expression fails fast with `Error::Limit`, on a small stack,
//! without allocating what it asked for.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{eval, eval_in};
use crate::{Env, Error, Expression, Limits};

/// Generous for an unoptimised build on a busy machine; a release build takes milliseconds
/// (see `speed`).
const FAST: Duration = Duration::from_secs(3);

/// Evaluates `source` on a thread with a tokio worker's 2 MiB stack, expecting a limit.
#[track_caller]
fn refused_with(source: &str, limits: Limits) -> String {
    let owned = source.to_string();
    let started = Instant::now();
    let outcome = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || eval_in(&owned, None, &Env::new(limits)))
        .expect("spawn")
        .join()
        .expect("the evaluation thread survives");
    let elapsed = started.elapsed();
    assert!(elapsed < FAST, "{source}: took {elapsed:?}");
    match outcome {
        Err(Error::Limit { message }) => message,
        other => panic!("{source}: expected a limit, got {other:?}"),
    }
}

#[track_caller]
fn refused(source: &str) -> String {
    refused_with(source, Limits::default())
}

#[test]
fn builtins_that_build_huge_values_from_small_input() {
    for source in [
        "$pad(\"x\", 2000000000)",
        "$pad(\"x\", -2000000000, \"é\")",
        "\"x\" ~> $pad(2000000000)",
        "$map([2000000000], $pad(\"x\", ?))",
        "($p := $pad; $p(\"x\", 2000000000))",
        "$formatInteger(1e15, \"I\")",
        "$formatInteger(1e12, \"i\")",
        "$fromMillis(0, \"[Y,1000000000]\")",
        "$fromMillis(0, \"[f,100000000]\")",
        "$toMillis(\"1\", \"[f,100000000]\")",
        "$replace(\"xxxxxxxxxx\", \"x\", $pad(\"\", 10000000, \"y\"))",
        "$replace(\"xxxx\", /x/, \"$0$0$0$0$0$0$0$0$0$0$0$0$0$0$0$0$0$0$0$0\" & $pad(\"\", 5000000))",
        "$replace($pad(\"\", 1000, \"x\"), /x/, function($m) { $pad(\"\", 1000000, \"y\") })",
        "$count($split($pad(\"\", 4000000, \"x\"), \"\"))",
        "$count($match($pad(\"\", 4000000, \"x\"), /x/))",
        "$string($reduce([1..40], function($a, $x) { {\"a\": $a, \"b\": $a} }, {}))",
        "$join([1..1000].$pad(\"\", 100000), \"\")",
    ] {
        refused(source);
    }
}

#[test]
fn sequences_and_ranges() {
    for source in [
        "[1..100000000]",
        "$join([1..10000000].$string())",
        "$count([1..1000].[1..1000000])",
        "$count($reduce([1..30], function($a, $x) { $append($a, $a) }, [1]))",
    ] {
        refused(source);
    }
    let message = refused_with(
        "[1..20]",
        Limits {
            max_sequence: 10,
            ..Limits::default()
        },
    );
    assert!(message.starts_with("D2015"), "{message}");
}

#[test]
fn doubling() {
    for source in [
        // Strings: each step doubles the last.
        "($f := function($s, $n) { $n = 0 ? $s : $f($s & $s, $n - 1) }; $length($f(\"x\", 40)))",
        // Arrays spliced into themselves.
        "$count($reduce([1..40], function($a, $x) { [$a, $a] }, [1]))",
        // Shared parts, nested: cheap to build, exponential to walk.
        "($d := $reduce([1..40], function($a, $x) { [[$a], [$a]] }, [1]); $count($d.x))",
        "($d := $reduce([1..25], function($a, $x) { $merge([{\"a\": $a}, {\"b\": $a}]) }, {}); $d = $d)",
        "($d := $reduce([1..40], function($a, $x) { {\"a\": $a, \"b\": $a} }, {}); $count($d.**))",
        "($d := $reduce([1..40], function($a, $x) { {\"a\": $a, \"b\": $a} }, {}); $d ~> |$|{}|)",
        "$reduce([1..40], function($a, $x) { {\"a\": $a, \"b\": $a} }, {})",
        // Copies kept alive: each is within bounds, together they are not.
        "($s := $pad(\"\", 4000000, \"x\"); $count([1..1000].($s & $s)))",
        "($s := $pad(\"\", 4000000, \"x\"); $count([1..1000].$uppercase($s)))",
        "$count([1..1000000].($pad(\"\", 1000)))",
    ] {
        refused(source);
    }
}

#[test]
fn time() {
    let limits = Limits {
        timeout: Duration::from_millis(100),
        ..Limits::default()
    };
    let message = refused_with("($f := function() { $f() }; $f())", limits);
    assert!(message.starts_with("D1012"), "{message}");
    let message = refused_with("$count([1..1000000].($string($) & \"x\"))", limits);
    assert!(message.starts_with("D1012"), "{message}");
}

#[test]
fn recursion_on_a_tokio_workers_stack() {
    // Deep, non-tail recursion: fails cleanly on a 2 MiB stack, in a debug build too.
    let message = refused("($f := function($n) { $n = 0 ? 0 : 1 + $f($n - 1) }; $f(100000))");
    assert!(message.starts_with("D1011"), "{message}");
    // Within the default depth, it works.
    let outcome = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(|| {
            eval(
                "($f := function($n) { $n = 0 ? 0 : 1 + $f($n - 1) }; $f(300))",
                json!(null),
            )
        })
        .expect("spawn")
        .join()
        .expect("the evaluation thread survives");
    assert_eq!(outcome, Ok(Some(json!(300))));
}

#[test]
fn result_size() {
    let limits = Limits {
        max_output_bytes: 100,
        ..Limits::default()
    };
    let env = Env::new(limits);
    assert!(matches!(
        eval_in("$pad(\"\", 200)", None, &env),
        Err(Error::Limit { .. })
    ));
    assert!(matches!(
        eval_in("[1..50]", None, &env),
        Err(Error::Limit { .. })
    ));
    assert_eq!(
        eval_in("[1..10]", None, &env),
        Ok(Some(json!([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])))
    );
}

/// A value nested `depth` arrays deep, built without recursion.
fn deep_array(depth: usize) -> Value {
    let mut value = json!(1);
    for _ in 0..depth {
        value = Value::Array(vec![value]);
    }
    value
}

/// Drops `value` without recursion: serde_json's own drop recurses once per level.
fn dismantle(value: Value) {
    let mut stack = vec![value];
    while let Some(value) = stack.pop() {
        match value {
            Value::Array(items) => stack.extend(items),
            Value::Object(map) => stack.extend(map.into_iter().map(|(_, v)| v)),
            _ => {}
        }
    }
}

#[test]
fn deep_input_on_a_small_stack() {
    let outcome = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(|| {
            let env = Env::new(Limits::default());
            // Refused as it is converted, without recursion: some of jsonata-core's walks (a
            // field step over nested arrays) recurse once per level.
            let deep = deep_array(100_000);
            let refused = eval_in("$count($)", Some(&deep), &env);
            let mut bound_env = Env::new(Limits::default());
            bound_env.bind("deep", &deep);
            let refused_binding = eval_in("$count($deep)", None, &bound_env);
            drop(bound_env);
            dismantle(deep);
            // Just within the limit, every walk works on this stack.
            let within = deep_array(1_999);
            let results: Vec<_> = [
                "$count($)",
                "$.a.b ~> $type",
                "$lookup($, \"a\")",
                "$ = $",
                "$string($) ~> $length",
                "$count($.**)",
                "$",
            ]
            .iter()
            .map(|source| eval_in(source, Some(&within), &env))
            .collect();
            dismantle(within);
            (refused, refused_binding, results)
        })
        .expect("spawn")
        .join()
        .expect("the evaluation thread survives");
    let (refused, refused_binding, results) = outcome;
    assert!(
        matches!(&refused, Err(Error::Limit { message }) if message.contains("nests deeper")),
        "{refused:?}"
    );
    assert!(
        matches!(&refused_binding, Err(Error::Limit { .. })),
        "{refused_binding:?}"
    );
    assert_eq!(results[0], Ok(Some(json!(1))));
    assert_eq!(results[1], Ok(None));
    assert_eq!(results[2], Ok(None));
    assert_eq!(results[3], Ok(Some(json!(true))));
    assert_eq!(results[4], Ok(Some(json!(3_999))));
    assert_eq!(results[5], Ok(Some(json!(1))));
    assert!(matches!(&results[6], Ok(Some(Value::Array(_)))));
    if let [.., Ok(Some(value))] = results.as_slice() {
        dismantle(value.clone());
    }
}

#[test]
fn values_deepened_one_level_per_step_are_refused() {
    for source in [
        "($d := $reduce([1..20000], function($a, $x) { [[$a]] }, [1]); $d.x)",
        "($d := $reduce([1..20000], function($a, $x) { $zip($a) }, [1]); $lookup($d, \"x\"))",
        "($d := $reduce([1..20000], function($a, $x) { {\"a\": $a} }, {}); $d.a.a)",
        "($d := $reduce([1..20000], function($a, $x) { $spread({\"a\": $a}) }, {}); $d.a)",
        "($d := $reduce([1..20000], function($a, $x) { $map([1, 2], function() { $a }) }, [1]); $d.x)",
        "($f := function($x, $n) { $n = 0 ? $x : $f([[$x]], $n - 1) }; $f(1, 20000).x)",
        "($d := $reduce([1..20000], function($a, $x) { $a ~> |$|{\"b\": $a}| }, {}); $d.a)",
    ] {
        refused(source);
    }
}

#[test]
fn the_deepest_expressions_the_parser_takes_on_a_small_stack() {
    let sources = [
        format!("{}1{}", "(".repeat(900), ")".repeat(900)),
        format!("{}1{}", "[".repeat(900), "]".repeat(900)),
        format!("{}1{}", "$string(".repeat(300), ")".repeat(300)),
        format!("{}{}", "1 & ".repeat(900), "1"),
        format!("{}$x{}", "{\"a\": ".repeat(300), "}".repeat(300)),
    ];
    let outcomes = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            sources
                .iter()
                .map(|source| match Expression::parse(source) {
                    Ok(expression) => expression
                        .evaluate(None, &Env::new(Limits::default()))
                        .map(|_| ()),
                    Err(error) => Err(error),
                })
                .collect::<Vec<_>>()
        })
        .expect("spawn")
        .join()
        .expect("the thread survives");
    for outcome in outcomes {
        // Within the depth limit or not, each one returns.
        assert!(
            !matches!(outcome, Err(Error::Evaluation { code: None, .. })),
            "{outcome:?}"
        );
    }
}

#[test]
fn deep_expressions_are_parse_errors() {
    let source = format!("{}1{}", "(".repeat(5_000), ")".repeat(5_000));
    let outcome = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || Expression::parse(&source).map(|_| ()))
        .expect("spawn")
        .join()
        .expect("the parsing thread survives");
    assert!(matches!(outcome, Err(Error::Parse { .. })), "{outcome:?}");
}
