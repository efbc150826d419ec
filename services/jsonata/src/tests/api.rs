//! The API as the language crate uses it: parsing, values at the boundary, bindings, host
//! functions, and the built-ins kept deterministic.

use std::cell::Cell;
use std::rc::Rc;

use serde_json::{Value, json};

use super::{eval, eval_in, value};
use crate::{Env, Error, Expression, Limits};

#[test]
fn parse_errors_carry_jsonata_codes() {
    for (source, code) in [
        ("(", "S0207"),
        ("1 +", "S0207"),
        ("\"open", "S0101"),
        ("/* open", "S0106"),
        ("$x := ", "S0207"),
        ("[1,2", "S0203"),
        ("1 2", "S0201"),
        ("{\"a\" 1}", "S0202"),
    ] {
        let error = Expression::parse(source).expect_err(source);
        assert!(matches!(error, Error::Parse { .. }), "{source}: {error:?}");
        assert_eq!(error.code(), Some(code), "{source}: {error}");
    }
}

#[test]
fn source_is_kept() {
    let expression = Expression::parse("  $states.input.a ").unwrap();
    assert_eq!(expression.source(), "  $states.input.a ");
}

#[test]
fn expressions_are_shareable_between_threads() {
    fn shareable<T: Send + Sync + Clone + std::fmt::Debug>() {}
    shareable::<Expression>();
    shareable::<Error>();
    shareable::<Limits>();
}

#[test]
fn undefined_is_none_and_null_is_null() {
    assert_eq!(eval("nothing", json!({})), Ok(None));
    assert_eq!(eval("a", json!({ "a": null })), Ok(Some(Value::Null)));
    assert_eq!(eval("null", json!({})), Ok(Some(Value::Null)));
    // No input at all: JSONata's undefined context.
    let env = Env::new(Limits::default());
    assert_eq!(eval_in("$", None, &env), Ok(None));
    assert_eq!(eval_in("1 + 1", None, &env), Ok(Some(json!(2))));
    // Undefined leaves an object, as JSON.stringify leaves it out.
    assert_eq!(
        value("{\"a\": nothing, \"b\": 1}", json!({})),
        json!({ "b": 1 })
    );
}

#[test]
fn sequences_become_arrays() {
    let input = json!({ "items": [{ "n": 1 }, { "n": 2 }, { "n": 3 }] });
    assert_eq!(value("items.n", input.clone()), json!([1, 2, 3]));
    // A sequence of one is its item, as in JSONata.
    assert_eq!(value("items[n = 2].n", input.clone()), json!(2));
    assert_eq!(value("items[n = 2].n[]", input), json!([2]));
}

#[test]
fn whole_numbers_stay_integers() {
    assert_eq!(value("1", json!(null)).to_string(), "1");
    assert_eq!(value("6 / 3", json!(null)).to_string(), "2");
    assert_eq!(value("1.5 * 2", json!(null)).to_string(), "3");
    assert_eq!(
        value("0.1 + 0.2", json!(null)).to_string(),
        "0.30000000000000004"
    );
    assert_eq!(value("-0", json!(null)).to_string(), "0");
    assert_eq!(
        value("a", json!({ "a": 12345678901_i64 })).to_string(),
        "12345678901"
    );
}

#[test]
fn infinities_are_d1001() {
    let error = eval("1e300 * 1e300", json!(null)).unwrap_err();
    assert_eq!(error.code(), Some("D1001"), "{error:?}");
    assert!(matches!(error, Error::Evaluation { .. }));
}

#[test]
fn evaluation_errors_carry_jsonata_codes() {
    let error = eval("\"a\" + 1", json!(null)).unwrap_err();
    assert_eq!(error.code(), Some("T2001"), "{error:?}");
    let error = eval("$error(\"no\")", json!(null)).unwrap_err();
    assert_eq!(error.code(), Some("D3137"), "{error:?}");
    assert_eq!(error.to_string(), "D3137: no");
    // jsonata-core reports this one as "Signature validation failed: T0410: ...".
    let error = eval("$substring(\"a\", \"b\")", json!(null)).unwrap_err();
    assert_eq!(error.code(), Some("T0410"), "{error:?}");
}

#[test]
fn bindings_are_read_and_later_binds_win() {
    let states = json!({ "input": { "a": 41 } });
    let first = json!("first");
    let second = json!("second");
    let mut env = Env::new(Limits::default());
    env.bind("states", &states);
    env.bind("name", &first);
    env.bind("name", &second);
    assert_eq!(
        eval_in("{\"x\": $states.input.a + 1, \"n\": $name}", None, &env),
        Ok(Some(json!({ "x": 42, "n": "second" })))
    );
    // A binding the expression shadows is not seen inside the shadowing scope.
    assert_eq!(
        eval_in("($name := \"own\"; $name)", None, &env),
        Ok(Some(json!("own")))
    );
}

#[test]
fn host_functions_are_called_and_replace_builtins() {
    let mut env = Env::new(Limits::default());
    env.function("partition", |args| match args {
        [Some(Value::Array(items)), Some(Value::Number(size))] => {
            let size = size.as_u64().unwrap_or(1).max(1) as usize;
            let chunks: Vec<Value> = items
                .chunks(size)
                .map(|c| Value::Array(c.to_vec()))
                .collect();
            Ok(Some(Value::Array(chunks)))
        }
        _ => Err("$partition takes an array and a size".to_string()),
    });
    env.function("now", |_| Ok(Some(json!("2024-05-06T13:45:00.000Z"))));
    env.function("uppercase", |_| Ok(Some(json!("replaced"))));
    env.function("sum", |_| Ok(Some(json!(-1))));
    env.function("nothing", |args| {
        assert_eq!(args, [None, Some(Value::Null)]);
        Ok(None)
    });
    assert_eq!(
        eval_in("$partition([1,2,3], 2)", None, &env),
        Ok(Some(json!([[1, 2], [3]])))
    );
    assert_eq!(
        eval_in("$now()", None, &env),
        Ok(Some(json!("2024-05-06T13:45:00.000Z")))
    );
    // Built-ins jsonata-core compiles, and guarded ones, are replaced on every route too.
    assert_eq!(
        eval_in("$uppercase(\"a\")", None, &env),
        Ok(Some(json!("replaced")))
    );
    assert_eq!(eval_in("$sum([1, 2])", None, &env), Ok(Some(json!(-1))));
    assert_eq!(eval_in("$map([1], $sum)", None, &env), Ok(Some(json!(-1))));
    assert_eq!(
        eval_in("\"a\" ~> $uppercase()", None, &env),
        Ok(Some(json!("replaced")))
    );
    assert_eq!(eval_in("$nothing(missing, null)", None, &env), Ok(None));
    // A refusal names the function.
    assert_eq!(
        eval_in("$partition(1)", None, &env),
        Err(Error::Function {
            name: "partition".to_string(),
            message: "$partition takes an array and a size".to_string()
        })
    );
}

#[test]
fn host_functions_share_state_across_calls() {
    let calls = Rc::new(Cell::new(0));
    let counter = Rc::clone(&calls);
    let mut env = Env::new(Limits::default());
    env.function("count", move |_| {
        counter.set(counter.get() + 1);
        Ok(Some(json!(counter.get())))
    });
    assert_eq!(
        eval_in("[$count(), $count(), $count()]", None, &env),
        Ok(Some(json!([1, 2, 3])))
    );
    assert_eq!(calls.get(), 3);
}

#[test]
fn eval_is_refused() {
    for source in [
        "$eval(\"1 + 1\")",
        "$map([\"1\"], $eval)",
        "($e := $eval; $e(\"2\"))",
        "\"1\" ~> $eval()",
    ] {
        assert_eq!(
            eval(source, json!(null)),
            Err(Error::Unsupported {
                function: "eval".to_string()
            }),
            "{source}"
        );
    }
}

#[test]
fn clock_and_randomness_come_only_from_the_host() {
    for name in ["random", "now", "millis"] {
        let error = eval(&format!("${name}()"), json!(null)).unwrap_err();
        assert!(
            matches!(&error, Error::Function { name: n, message } if n == name && message.contains("host")),
            "{error:?}"
        );
    }
    let error = eval("$shuffle([1, 2, 3])", json!(null)).unwrap_err();
    assert!(
        matches!(&error, Error::Function { name, .. } if name == "shuffle"),
        "{error:?}"
    );
    // A picture without a date takes it from the clock.
    let error = eval("$toMillis(\"13:45\", \"[H]:[m]\")", json!(null)).unwrap_err();
    assert!(
        matches!(&error, Error::Function { name, .. } if name == "toMillis"),
        "{error:?}"
    );
    // What needs no clock works without one.
    assert_eq!(value("$shuffle([7])", json!(null)), json!([7]));
    assert_eq!(
        value("$toMillis(\"2024-05-06\", \"[Y]-[M]-[D]\")", json!(null)),
        json!(1_714_953_600_000_i64)
    );
}

#[test]
fn the_hosts_clock_and_randomness_make_evaluations_repeatable() {
    let env = || {
        let mut env = Env::new(Limits::default());
        let state = Rc::new(Cell::new(7_u64));
        env.function("random", move |_| {
            state.set(
                state
                    .get()
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1),
            );
            Ok(Some(json!(
                (state.get() >> 11) as f64 / (1_u64 << 53) as f64
            )))
        });
        env.function("millis", |_| Ok(Some(json!(1_714_953_600_000_i64))));
        env
    };
    let source = "[$shuffle([1..20]), $random(), $toMillis(\"13:45\", \"[H]:[m]\")]";
    let first = eval_in(source, None, &env()).unwrap().unwrap();
    let second = eval_in(source, None, &env()).unwrap().unwrap();
    assert_eq!(first, second);
    // 2024-05-06T13:45Z: the date from the host's clock, the time from the timestamp.
    assert_eq!(first[21], json!(1_715_003_100_000_i64));
    let items = first.as_array().expect("an array");
    let mut shuffled: Vec<u64> = items[..20].iter().filter_map(Value::as_u64).collect();
    shuffled.sort_unstable();
    assert_eq!(shuffled, (1..=20).collect::<Vec<u64>>());
}

#[test]
fn guarded_builtins_behave_as_jsonata_defines_them() {
    for (source, expected) in [
        ("$pad(\"x\", 3)", json!("x  ")),
        ("$pad(\"x\", -3, \"#\")", json!("##x")),
        ("\"abc\" ~> $pad(5, \"-\")", json!("abc--")),
        ("[\"a\", \"b\"].$pad(2, \"*\")", json!(["a*", "b*"])),
        ("($p := $pad; $p(\"a\", 2, \"*\"))", json!("a*")),
        ("$pad(?, 3, \"*\")(\"z\")", json!("z**")),
        ("$map([1, 2], $string)", json!(["1", "2"])),
        ("$string({\"a\": [1, 2]})", json!("{\"a\":[1,2]}")),
        ("[\"a\"].$string()", json!("a")),
        ("$join([\"a\", \"b\"], \"-\")", json!("a-b")),
        ("$replace(\"abcb\", \"b\", \"x\")", json!("axcx")),
        ("$replace(\"abc\", /(b)/, \"[$1]\")", json!("a[b]c")),
        (
            "$replace(\"abc\", /b/, function($m) { $uppercase($m.match) })",
            json!("aBc"),
        ),
        ("$split(\"a,b,c\", \",\")", json!(["a", "b", "c"])),
        ("$count($match(\"a1b22\", /\\d+/))", json!(2)),
        ("$formatInteger(1999, \"I\")", json!("MCMXCIX")),
        ("$fromMillis(0, \"[Y]-[M01]\")", json!("1970-01")),
        ("$distinct([1, 1, 2])", json!([1, 2])),
        ("\"a\" & 1 & true", json!("a1true")),
        ("[1..3]", json!([1, 2, 3])),
        ("[0..2, 5]", json!([0, 1, 2, 5])),
        ("$string := 5", json!(5)),
        (
            "($string := function($x) { \"mine\" }; $string(1))",
            json!("mine"),
        ),
        ("{\"a\": 1} ~> |$|{\"b\": 2}|", json!({ "a": 1, "b": 2 })),
        ("[[1, 2], [3]]", json!([[1, 2], [3]])),
    ] {
        assert_eq!(value(source, json!(null)), expected, "{source}");
    }
}

#[test]
fn guarded_builtins_passed_as_values_check_their_arguments_as_the_builtins_do() {
    // `$pad` needs a width: called through a reference with only a string, it fails as a
    // direct call does.
    for source in [
        "\"13:45\" ~> $pad",
        "($p := $pad; $p(\"13:45\"))",
        "$pad(\"13:45\")",
    ] {
        let error = eval(source, json!(null)).unwrap_err();
        assert_eq!(error.code(), Some("T0410"), "{source}: {error:?}");
    }
}

#[test]
fn recursion_costs_the_same_depth_as_in_jsonata() {
    // The JSONata suite's own accounting: 99 non-tail calls fit in 302 levels. The checks on a
    // function's arguments must not add a level per call.
    let limits = Limits {
        max_depth: 302,
        ..Limits::default()
    };
    let source = "($f := function($n) { $n = 0 ? 1 : $n * $f($n - 1) }; $f(99))";
    assert!(matches!(
        eval_in(source, None, &Env::new(limits)),
        Ok(Some(_))
    ));
}

#[test]
fn a_panic_inside_the_evaluator_is_an_error() {
    // jsonata-core computes 10^64 for this picture, which overflows.
    let error = eval("$fromMillis(0, \"[Y,*-64]\")", json!(null)).unwrap_err();
    assert!(
        matches!(&error, Error::Evaluation { code: None, message } if message.contains("failed")),
        "{error:?}"
    );
}

#[test]
fn a_panicking_host_function_is_an_error() {
    let mut env = Env::new(Limits::default());
    env.function("explode", |_| panic!("host function gave up"));
    let error = eval_in("$explode()", None, &env).unwrap_err();
    assert!(
        matches!(&error, Error::Evaluation { message, .. } if message.contains("host function gave up")),
        "{error:?}"
    );
    // The next evaluation is unaffected.
    assert_eq!(eval_in("1", None, &env), Ok(Some(json!(1))));
}

#[test]
fn functions_have_no_json_form() {
    assert_eq!(eval("function($x) { $x }", json!(null)), Ok(None));
    assert_eq!(
        value("{\"f\": $uppercase, \"a\": 1}", json!(null)),
        json!({ "a": 1 })
    );
    assert_eq!(value("[1, $uppercase]", json!(null)), json!([1, null]));
}
