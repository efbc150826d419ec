//! End-to-end tests of `evaluate`: parsing, paths, nesting and every non-array function with
//! its errors (the array functions are covered next to their code too).

use serde_json::{Value, json};

use super::{evaluate, is_intrinsic};
use crate::entropy::Entropy;

fn eval_with(expr: &str, input: Value, seed: u64) -> Result<Value, String> {
    let context = json!({
        "Execution": {"Id": "arn:aws:states:us-east-1:1:execution:m:e", "Input": input.clone()},
        "StateMachine": {"Name": "alpha-beta-gamma"}
    });
    evaluate(
        expr,
        &input,
        &crate::variables::Env::context_only(context),
        &mut Entropy::new(seed),
    )
    .map_err(|f| format!("{}: {}", f.error, f.cause))
}

fn eval(expr: &str, input: Value) -> Result<Value, String> {
    eval_with(expr, input, 7)
}

fn invalid(name: &str) -> Result<Value, String> {
    Err(format!("States.Runtime: Invalid arguments in {name}"))
}

#[test]
fn recognises_intrinsics() {
    assert!(is_intrinsic("States.Format('x')"));
    assert!(is_intrinsic("  States.UUID()"));
    assert!(!is_intrinsic("$.States"));
}

#[test]
fn reads_paths_and_context() {
    let input = json!({"a": {"b": "x"}});
    assert_eq!(
        eval("States.Array($.a.b, $)", input.clone()),
        Ok(json!(["x", input]))
    );
    assert_eq!(
        eval(
            "States.ArrayGetItem(States.StringSplit($$.StateMachine.Name, '-'), 0)",
            json!({})
        ),
        Ok(json!("alpha"))
    );
    assert_eq!(
        eval(
            "States.ArrayGetItem(States.StringSplit($$.StateMachine.Name, '-'), \
             States.MathAdd(States.ArrayLength(States.StringSplit($$.StateMachine.Name, '-')), -1))",
            json!({})
        ),
        Ok(json!("gamma"))
    );
    let missing = eval("States.Array($.nope)", json!({}));
    assert!(missing.is_err_and(|e| e.starts_with("States.Runtime")));
}

#[test]
fn literals_keep_their_types() {
    assert_eq!(
        eval(
            "States.Array(42, -7, 1.5, 2e3, true, false, null, 'hi', '')",
            json!({})
        ),
        Ok(json!([42, -7, 1.5, 2000.0, true, false, null, "hi", ""]))
    );
    assert_eq!(
        eval("States.Array( 1 , 'a' )", json!({})),
        Ok(json!([1, "a"]))
    );
}

#[test]
fn malformed_expressions_fail_at_run_time() {
    for bad in [
        "States.Array(",
        "States.Array($.a) trailing",
        "States.Array(1.)",
        "States.Array([1,2])",
        "States.ArrayGetItem($.arr, )",
    ] {
        let r = eval(bad, json!({"a": 1, "arr": [1]}));
        assert!(
            r.as_ref().is_err_and(|e| e.starts_with("States.Runtime: ")),
            "{bad}: {r:?}"
        );
    }
    assert_eq!(
        eval("States.Nope(1)", json!({})),
        Err("States.Runtime: The intrinsic function States.Nope is not supported".into())
    );
}

#[test]
fn format_substitutes_and_renders_like_aws() {
    let f = |e: &str, i: Value| eval(e, i);
    assert_eq!(
        f("States.Format('Hello {}', $.n)", json!({"n": "Ada"})),
        Ok(json!("Hello Ada"))
    );
    assert_eq!(
        f(
            "States.Format('{} {} {} {}', $.a, $.b, $.c, $.d)",
            json!({"a": null, "b": 1.1, "c": true, "d": 2})
        ),
        Ok(json!("null 1.1 true 2"))
    );
    assert_eq!(
        f(
            "States.Format('x={}', $.o)",
            json!({"o": {"Arg1": 1, "Arg2": [], "s": ["a", {"k": null}]}})
        ),
        Ok(json!("x={Arg1=1, Arg2=[], s=[a, {k=null}]}"))
    );
    assert_eq!(
        f("States.Format('no placeholders')", json!({})),
        Ok(json!("no placeholders"))
    );
    assert_eq!(
        f(
            r"States.Format('Name: \'{}\', \{\} \\ {}', $.a, $.b)",
            json!({"a": "G", "b": "M"})
        ),
        Ok(json!(r"Name: 'G', {} \ M"))
    );
    assert_eq!(
        f(
            "States.Format($.t, $.n)",
            json!({"t": "It's {}!", "n": "Pika"})
        ),
        Ok(json!("It's Pika!"))
    );
    for bad in [
        "States.Format('{} {}', 'x')",
        "States.Format('{}', 'x', 'y')",
        "States.Format('Hello {', 'x')",
        "States.Format('}')",
        "States.Format('Hello {{}}', 'x')",
        "States.Format(1)",
        "States.Format()",
    ] {
        assert_eq!(f(bad, json!({})), invalid("States.Format"), "{bad}");
    }
}

#[test]
fn json_conversions() {
    let e = |s: &str| eval("States.StringToJson($.s)", json!({ "s": s }));
    assert_eq!(e(""), Ok(json!(null)));
    assert_eq!(e(" "), Ok(json!(null)));
    assert_eq!(e("1"), Ok(json!(1)));
    assert_eq!(e("1.1"), Ok(json!(1.1)));
    assert_eq!(
        e("{\"Arg1\": 1, \"Arg2\": []}"),
        Ok(json!({"Arg1": 1, "Arg2": []}))
    );
    assert_eq!(e("{nope"), invalid("States.StringToJson"));
    assert_eq!(
        eval("States.StringToJson(1)", json!({})),
        invalid("States.StringToJson")
    );
    assert_eq!(
        eval(
            r#"States.StringToJson('{"text":"An \"q\" here"}')"#,
            json!({})
        ),
        Ok(json!({"text": "An \"q\" here"}))
    );
    let j = |v: Value| eval("States.JsonToString($.v)", json!({ "v": v }));
    assert_eq!(
        j(json!({"Arg1": 1, "Arg2": []})),
        Ok(json!("{\"Arg1\":1,\"Arg2\":[]}"))
    );
    assert_eq!(j(json!("HelloWorld")), Ok(json!("\"HelloWorld\"")));
    assert_eq!(
        eval("States.JsonToString()", json!({})),
        invalid("States.JsonToString")
    );
}

#[test]
fn json_merge_is_shallow_only() {
    let m = |e: &str, i: Value| eval(e, i);
    let input = json!({"a": {"x": 1, "n": {"p": 1}}, "b": {"n": {"q": 2}, "y": 3}, "s": "false"});
    assert_eq!(
        m("States.JsonMerge($.a, $.b, false)", input.clone()),
        Ok(json!({"x": 1, "n": {"q": 2}, "y": 3}))
    );
    assert_eq!(
        m("States.JsonMerge($.a, $.b, $.s)", input.clone()),
        Ok(json!({"x": 1, "n": {"q": 2}, "y": 3}))
    );
    assert_eq!(
        m("States.JsonMerge($.a, $.b, true)", input.clone()),
        invalid("States.JsonMerge")
    );
    assert_eq!(
        m("States.JsonMerge($.a, $.s, false)", input.clone()),
        invalid("States.JsonMerge")
    );
    assert_eq!(
        m("States.JsonMerge($.a, $.b)", input),
        invalid("States.JsonMerge")
    );
}

#[test]
fn math_add_rounds_half_up_within_int32() {
    let a = |x: Value, y: Value| eval("States.MathAdd($.x, $.y)", json!({"x": x, "y": y}));
    assert_eq!(a(json!(-9), json!(3)), Ok(json!(-6)));
    assert_eq!(a(json!(1.49), json!(1.5)), Ok(json!(3)));
    assert_eq!(a(json!(-1.5), json!(-1.51)), Ok(json!(-3)));
    assert_eq!(a(json!(-2.5), json!(0)), Ok(json!(-2)));
    assert_eq!(a(json!(2147483646), json!(1)), Ok(json!(2147483647)));
    assert_eq!(a(json!(-2147483647), json!(-1)), Ok(json!(-2147483648)));
    for (x, y) in [
        (json!(2147483647), json!(1)),
        (json!(3000000000u64), json!(1)),
        (json!("1"), json!(2)),
        (json!(true), json!(1)),
        (json!(null), json!(1)),
        (json!([1]), json!(1)),
    ] {
        assert_eq!(a(x, y), invalid("States.MathAdd"));
    }
    assert_eq!(
        eval("States.MathAdd(1)", json!({})),
        invalid("States.MathAdd")
    );
}

#[test]
fn math_random_stays_in_range_and_seeds_deterministically() {
    for seed in 0..200 {
        let v = eval_with("States.MathRandom(1.6, 5.4)", json!({}), seed);
        assert!(
            v.as_ref()
                .is_ok_and(|v| v.as_i64().is_some_and(|n| (1..5).contains(&n))),
            "{v:?}"
        );
        let v = eval_with("States.MathRandom(-99999, -9999)", json!({}), seed);
        assert!(v.is_ok_and(|v| v.as_i64().is_some_and(|n| (-99999..-9999).contains(&n))));
    }
    let seeded = |s: u64| eval_with("States.MathRandom(0, 999, 3)", json!({}), s);
    assert_eq!(seeded(1), seeded(2));
    assert!(seeded(1).is_ok_and(|v| v.as_i64().is_some_and(|n| (0..999).contains(&n))));
    assert!(eval("States.MathRandom(2147483640, 2147483647, 1)", json!({})).is_ok());
    // Seeded values equal `new java.util.Random(seed).nextInt(end - start) + start` (from jshell).
    for (expr, want) in [
        ("States.MathRandom(0, 999, 3)", 239),
        ("States.MathRandom(0, 100, 42)", 30),
        ("States.MathRandom(1, 10, -10)", 1),
        ("States.MathRandom(0, 7, 1)", 4),
        ("States.MathRandom(0, 64, 0)", 46),
    ] {
        assert_eq!(eval(expr, json!({})), Ok(json!(want)), "{expr}");
    }
    for bad in [
        "States.MathRandom(1, 1)",
        "States.MathRandom(10, 5)",
        "States.MathRandom(1.4, 1.6)",
        "States.MathRandom('a', 10)",
        "States.MathRandom(1, 10, 'seed')",
        "States.MathRandom(1, 10, null)",
        "States.MathRandom(1)",
        "States.MathRandom(1, 10, 5, 99)",
    ] {
        assert_eq!(eval(bad, json!({})), invalid("States.MathRandom"), "{bad}");
    }
}

#[test]
fn string_split_uses_a_delimiter_set() {
    let s = |t: &str, d: &str| eval("States.StringSplit($.t, $.d)", json!({"t": t, "d": d}));
    assert_eq!(s("1,2,3", ","), Ok(json!(["1", "2", "3"])));
    assert_eq!(s(", , ,", ","), Ok(json!([" ", " "])));
    assert_eq!(s(",,,,", ","), Ok(json!([])));
    assert_eq!(
        s("This.is+a,test=string", ".+,="),
        Ok(json!(["This", "is", "a", "test", "string"]))
    );
    assert_eq!(s("", ","), Ok(json!([])));
    assert_eq!(s("abc", ""), Ok(json!(["abc"])));
    assert_eq!(
        eval("States.StringSplit('Hello\nWorld', '\n')", json!({})),
        Ok(json!(["Hello", "World"]))
    );
    assert_eq!(
        eval("States.StringSplit(1, ',')", json!({})),
        invalid("States.StringSplit")
    );
    assert_eq!(
        eval("States.StringSplit('a', null)", json!({})),
        invalid("States.StringSplit")
    );
    assert_eq!(
        eval("States.StringSplit('a')", json!({})),
        invalid("States.StringSplit")
    );
}

#[test]
fn base64_round_trips_and_limits_length() {
    assert_eq!(
        eval("States.Base64Encode('Data to encode')", json!({})),
        Ok(json!("RGF0YSB0byBlbmNvZGU="))
    );
    assert_eq!(
        eval("States.Base64Decode('RGF0YSB0byBlbmNvZGU=')", json!({})),
        Ok(json!("Data to encode"))
    );
    assert_eq!(
        eval("States.Base64Decode('44GT44KT44Gr44Gh44Gv')", json!({})),
        Ok(json!("こんにちは"))
    );
    assert_eq!(
        eval("States.Base64Decode(States.Base64Encode('✓'))", json!({})),
        Ok(json!("✓"))
    );
    let long = json!({"s": "a".repeat(10_001), "ok": "a".repeat(10_000)});
    assert!(eval("States.Base64Encode($.ok)", long.clone()).is_ok());
    assert_eq!(
        eval("States.Base64Encode($.s)", long.clone()),
        invalid("States.Base64Encode")
    );
    assert_eq!(
        eval("States.Base64Decode($.s)", long),
        invalid("States.Base64Decode")
    );
    assert_eq!(
        eval("States.Base64Decode(123)", json!({})),
        invalid("States.Base64Decode")
    );
    assert_eq!(
        eval("States.Base64Encode('a', 'b')", json!({})),
        invalid("States.Base64Encode")
    );
}

#[test]
fn hash_supports_the_five_algorithms() {
    let h = |alg: &str| {
        eval(
            "States.Hash($.d, $.a)",
            json!({"d": "input data", "a": alg}),
        )
    };
    assert_eq!(h("MD5"), Ok(json!("812f45842bc6d66ee14572ce20db8e86")));
    assert_eq!(
        h("SHA-1"),
        Ok(json!("aaff4a450a104cd177d28d18d74485e8cae074b7"))
    );
    assert_eq!(
        h("SHA-256"),
        Ok(json!(
            "b4a697a057313163aee33cd8d40c66e9f0f177e00cac2de32475ffff6169c3e3"
        ))
    );
    for bad in ["sha-256", "SHA256", "", "MD-5"] {
        assert_eq!(h(bad), invalid("States.Hash"));
    }
    let long = json!({"s": "a".repeat(10_001)});
    assert_eq!(
        eval("States.Hash($.s, 'MD5')", long),
        invalid("States.Hash")
    );
    assert_eq!(
        eval("States.Hash('hello', 123)", json!({})),
        invalid("States.Hash")
    );
    assert_eq!(
        eval("States.Hash('hello')", json!({})),
        invalid("States.Hash")
    );
    assert_eq!(
        eval("States.Hash(null, 'MD5')", json!({})),
        invalid("States.Hash")
    );
    // AWS hashes non-string data instead of refusing it; we hash its JSON text.
    assert_eq!(
        eval("States.Hash(123, 'MD5')", json!({})),
        eval("States.Hash('123', 'MD5')", json!({}))
    );
}

#[test]
fn uuid_is_a_lowercase_version_4() {
    let a = eval_with("States.UUID()", json!({}), 1);
    let b = eval_with("States.UUID()", json!({}), 2);
    assert_ne!(a, b);
    assert_eq!(a, eval_with("States.UUID()", json!({}), 1));
    let text = a
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let parts: Vec<&str> = text.split('-').collect();
    assert_eq!(
        parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
        [8, 4, 4, 4, 12]
    );
    assert!(
        text.chars()
            .all(|c| c == '-' || c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    );
    assert!(parts[2].starts_with('4'));
    assert!(parts[3].starts_with(['8', '9', 'a', 'b']));
    assert_eq!(eval("States.UUID(1)", json!({})), invalid("States.UUID"));
}

const TOO_LARGE: &str = "States.DataLimitExceeded: The state/task returned a result with a size exceeding the maximum number of bytes service limit.";

/// The size of a result's JSON text, so that a failing assertion does not print megabytes.
fn size_of(expr: &str, input: Value) -> Result<usize, String> {
    eval(expr, input).map(|value| value.to_string().len())
}

#[test]
fn format_stops_at_the_payload_limit() {
    // A thousand 90 KB arguments would make a 90 MB string; the arguments gathered pass the
    // limit at the third.
    let input = json!({"s": "x".repeat(90_000)});
    let expression = format!(
        "States.Format('{}', {})",
        "{}".repeat(1000),
        vec!["$.s"; 1000].join(", ")
    );
    assert_eq!(size_of(&expression, input.clone()), Err(TOO_LARGE.into()));
    // Two of them fit.
    assert_eq!(
        size_of("States.Format('{} {}', $.s, $.s)", input),
        Ok(180_003)
    );
}

#[test]
fn array_stops_at_the_payload_limit() {
    let input = json!({"big": {"v": "y".repeat(200_000)}});
    let expression = format!("States.Array({})", vec!["$.big"; 1000].join(", "));
    assert_eq!(size_of(&expression, input.clone()), Err(TOO_LARGE.into()));
    // Nested calls share the limit with the arguments their callers already hold.
    assert_eq!(
        size_of("States.Array($.big, States.Array($.big))", input.clone()),
        Err(TOO_LARGE.into())
    );
    // A value no longer held does not count: each inner call's arguments are dropped.
    assert_eq!(
        eval(
            "States.ArrayLength(States.Array(States.ArrayLength(States.Array($.big)), $.big))",
            input
        ),
        Ok(json!(2))
    );
}

#[test]
fn results_that_outgrow_their_arguments_are_refused() {
    // 200 KB of text, split into 100,000 one-character strings: 400 KB of JSON.
    let text = "a,".repeat(100_000);
    assert_eq!(
        size_of("States.StringSplit($.t, ',')", json!({ "t": text })),
        Err(TOO_LARGE.into())
    );
    // 80,000 zeros (160 KB) in chunks of one: two more bytes per item.
    let zeros = vec![0; 80_000];
    assert_eq!(
        size_of(
            "States.ArrayPartition($.z, 1)",
            json!({ "z": zeros.clone() })
        ),
        Err(TOO_LARGE.into())
    );
    assert!(size_of("States.ArrayPartition($.z, 1000)", json!({ "z": zeros })).is_ok());
    // JSON text as a string: every `"` is escaped again.
    let quotes = vec!["a"; 50_000];
    assert_eq!(
        size_of("States.JsonToString($.q)", json!({ "q": quotes })),
        Err(TOO_LARGE.into())
    );
    // Format counts its template's literal text too.
    let template = "z".repeat(200_000);
    assert_eq!(
        size_of(
            &format!("States.Format('{template}{{}}', $.s)"),
            json!({"s": "x".repeat(100_000)})
        ),
        Err(TOO_LARGE.into())
    );
}

#[test]
fn merge_unique_and_range_within_the_limit() {
    let half = "m".repeat(100_000);
    let input = json!({"a": {"a": half, "k": 1}, "b": {"b": half, "k": 2}, "u": [half, half]});
    let merged = eval("States.JsonMerge($.a, $.b, false)", input.clone());
    assert_eq!(merged.map(|m| m["k"].clone()), Ok(json!(2)));
    assert_eq!(
        eval("States.ArrayLength(States.ArrayUnique($.u))", input),
        Ok(json!(1))
    );
    assert!(
        size_of(
            "States.ArrayRange(-1000000000, -1000000, 1000000)",
            json!({})
        )
        .is_ok()
    );
}
