use serde_json::{Value, json};

use super::{NO_NEXT_STATE_CAUSE, next_state};
use crate::failure::Failure;
use crate::failure::errors;
use crate::model::{ChoiceRule, ChoiceState, State, StateKind};

/// Evaluates a rule written as JSON (as in a definition).
fn evaluate_rule(rule: &Value, input: &Value, context: &Value) -> Result<bool, Failure> {
    let rule: ChoiceRule = serde_json::from_value(rule.clone()).expect("a well-formed rule");
    super::evaluate_rule(
        &rule,
        input,
        &crate::variables::Env::context_only(context.clone()),
        &mut crate::entropy::Entropy::new(1),
    )
}

/// Whether the model refuses a rule, so no execution ever evaluates it.
fn refused(rule: Value) -> bool {
    serde_json::from_value::<ChoiceRule>(rule).is_err()
}

fn choice_state(state: Value) -> ChoiceState {
    match serde_json::from_value::<State>(state)
        .expect("a Choice state")
        .kind
    {
        StateKind::Choice(choice) => choice,
        other => panic!("not a Choice state: {other:?}"),
    }
}

/// Evaluates `{"Variable": "$.v", <op>: <operand>}` against `{"v": <value>, "o": <other>}`.
fn test(op: &str, operand: Value, value: Value) -> bool {
    let rule = json!({"Variable": "$.v", op: operand, "Next": "X"});
    let input = json!({"v": value});
    match evaluate_rule(&rule, &input, &json!({})) {
        Ok(result) => result,
        Err(failure) => panic!("{op} {value}: {failure}"),
    }
}

/// The `…Path` twin, comparing `$.v` with `$.o`.
fn test_path(op: &str, value: Value, other: Value) -> bool {
    let rule = json!({"Variable": "$.v", format!("{op}Path"): "$.o", "Next": "X"});
    let input = json!({"v": value, "o": other});
    match evaluate_rule(&rule, &input, &json!({})) {
        Ok(result) => result,
        Err(failure) => panic!("{op}Path: {failure}"),
    }
}

/// Both the literal and the path form, which must agree.
fn both(op: &str, value: Value, operand: Value) -> bool {
    let literal = test(op, operand.clone(), value.clone());
    assert_eq!(
        literal,
        test_path(op, value, operand),
        "{op} literal vs path"
    );
    literal
}

#[test]
fn string_comparators() {
    assert!(both("StringEquals", json!("Hello"), json!("Hello")));
    assert!(!both("StringEquals", json!("Hello"), json!("hello")));
    assert!(!both("StringEquals", json!("\t\n"), json!("\t\r\n")));
    assert!(both("StringLessThan", json!("A"), json!("AB")));
    assert!(!both("StringLessThan", json!(""), json!("")));
    assert!(both("StringGreaterThan", json!("b"), json!("a")));
    assert!(!both("StringGreaterThan", json!("A"), json!("A ")));
    assert!(both("StringLessThanEquals", json!(""), json!("")));
    assert!(!both("StringLessThanEquals", json!("AB"), json!("A")));
    assert!(both("StringGreaterThanEquals", json!("AB"), json!("A")));
    assert!(!both("StringGreaterThanEquals", json!("A"), json!("AB")));
    // UTF-16 order: U+1F600 (surrogates D83D..) sorts before U+FF21 (fullwidth A).
    assert!(both(
        "StringLessThan",
        json!("\u{1F600}"),
        json!("\u{FF21}")
    ));
    for value in [
        json!(0),
        json!(null),
        json!(true),
        json!([]),
        json!({}),
        json!(["a"]),
    ] {
        assert!(!both("StringEquals", value.clone(), json!("a")), "{value}");
        assert!(!both("StringLessThan", value, json!("z")));
    }
}

#[test]
fn string_matches() {
    assert!(test(
        "StringMatches",
        json!("log-*.txt"),
        json!("log-1.txt")
    ));
    assert!(!test(
        "StringMatches",
        json!("log-*.txt"),
        json!("log-1.csv")
    ));
    assert!(test("StringMatches", json!("a\\*b"), json!("a*b")));
    assert!(!test("StringMatches", json!("a\\*b"), json!("axb")));
    assert!(!test("StringMatches", json!("*"), json!(1)));
    // No `StringMatchesPath` twin exists: the rule is refused.
    assert!(refused(
        json!({"Variable": "$.v", "StringMatchesPath": "$.o", "Next": "X"})
    ));
}

#[test]
fn numeric_comparators() {
    assert!(both("NumericEquals", json!(1), json!(1.0)));
    assert!(both("NumericEquals", json!(0.0), json!(0)));
    assert!(both("NumericEquals", json!(2.22), json!(2.22)));
    assert!(!both("NumericEquals", json!(1.1), json!(1)));
    assert!(both("NumericEquals", json!(u64::MAX), json!(u64::MAX)));
    assert!(!both("NumericEquals", json!(i64::MAX), json!(i64::MAX - 1)));
    assert!(both("NumericLessThan", json!(-1), json!(u64::MAX)));
    assert!(both("NumericLessThan", json!(0), json!(1)));
    assert!(!both("NumericLessThan", json!(0.0), json!(0)));
    assert!(both("NumericGreaterThan", json!(1), json!(0.5)));
    assert!(!both("NumericGreaterThan", json!(1), json!(1)));
    assert!(both("NumericLessThanEquals", json!(1), json!(1.0)));
    assert!(!both("NumericLessThanEquals", json!(1.5), json!(1)));
    assert!(both("NumericGreaterThanEquals", json!(0.0), json!(0)));
    assert!(!both("NumericGreaterThanEquals", json!(0), json!(1)));
    for value in [
        json!("1"),
        json!(""),
        json!(null),
        json!(true),
        json!([1]),
        json!({"A": 1}),
    ] {
        assert!(!both("NumericEquals", value.clone(), json!(1)), "{value}");
        assert!(!both("NumericGreaterThanEquals", value, json!(0)));
    }
}

#[test]
fn boolean_equals() {
    assert!(both("BooleanEquals", json!(true), json!(true)));
    assert!(both("BooleanEquals", json!(false), json!(false)));
    assert!(!both("BooleanEquals", json!(false), json!(true)));
    assert!(!both("BooleanEquals", json!(true), json!(false)));
    for value in [
        json!(1),
        json!(0),
        json!("true"),
        json!(null),
        json!([]),
        json!({}),
    ] {
        assert!(
            !both("BooleanEquals", value.clone(), json!(true)),
            "{value}"
        );
        assert!(!both("BooleanEquals", value, json!(false)));
    }
    // Boolean has no ordering comparators.
    assert!(refused(
        json!({"Variable": "$.v", "BooleanLessThan": true, "Next": "X"})
    ));
}

#[test]
fn timestamp_comparators() {
    let t = |s: &str| json!(s);
    assert!(both(
        "TimestampEquals",
        t("2012-10-09T19:00:55Z"),
        t("2012-10-09T19:00:55Z")
    ));
    assert!(!both(
        "TimestampEquals",
        t("2012-10-09T19:00:55Z"),
        t("2012-10-09T19:00:56Z")
    ));
    // Instants, not strings: offsets and fractions compare by value.
    assert!(both(
        "TimestampEquals",
        t("2012-10-09T19:00:55+01:00"),
        t("2012-10-09T18:00:55Z")
    ));
    assert!(both(
        "TimestampEquals",
        t("2012-10-09T18:00:55.000Z"),
        t("2012-10-09T18:00:55Z")
    ));
    assert!(both(
        "TimestampLessThan",
        t("2012-10-09T18:00:55.1Z"),
        t("2012-10-09T18:00:55.2Z")
    ));
    assert!(both(
        "TimestampLessThan",
        t("2012-10-09T18:00:55.000000001Z"),
        t("2012-10-09T18:00:55.000000002Z")
    ));
    assert!(both(
        "TimestampGreaterThan",
        t("2012-10-09T20:00:00+01:00"),
        t("2012-10-09T18:59:59Z")
    ));
    assert!(!both(
        "TimestampGreaterThan",
        t("2012-10-09T19:00:55Z"),
        t("2012-10-09T19:00:56Z")
    ));
    assert!(both(
        "TimestampLessThanEquals",
        t("2012-10-09T19:00:55Z"),
        t("2012-10-09T19:00:55Z")
    ));
    assert!(!both(
        "TimestampLessThanEquals",
        t("2012-10-09T19:00:56Z"),
        t("2012-10-09T19:00:55Z")
    ));
    assert!(both(
        "TimestampGreaterThanEquals",
        t("2012-10-09T19:00:56Z"),
        t("2012-10-09T19:00:55Z")
    ));
    assert!(!both(
        "TimestampGreaterThanEquals",
        t("2012-10-09T19:00:55Z"),
        t("2012-10-09T19:00:56Z")
    ));
    for value in [
        t("2012-10-09T19:00:55"),
        t("2012-10-09t19:00:55Z"),
        t("2023-02-24"),
        t(""),
        json!(1),
        json!(null),
        json!([]),
    ] {
        assert!(
            !both("TimestampEquals", value.clone(), t("2012-10-09T19:00:55Z")),
            "{value}"
        );
        assert!(!both(
            "TimestampLessThanEquals",
            value,
            t("2099-01-01T00:00:00Z")
        ));
    }
}

#[test]
fn type_tests() {
    let cases = [
        (json!(null), "IsNull"),
        (json!(0), "IsNumeric"),
        (json!(1.5), "IsNumeric"),
        (json!(""), "IsString"),
        (json!("2012-10-09T19:00:55"), "IsString"),
        (json!(false), "IsBoolean"),
        (json!("2012-10-09T19:00:55Z"), "IsTimestamp"),
        (json!("2012-10-09T19:00:55+01:00"), "IsTimestamp"),
    ];
    let all = [
        "IsNull",
        "IsNumeric",
        "IsString",
        "IsBoolean",
        "IsTimestamp",
    ];
    for (value, holds) in &cases {
        for op in all {
            // A timestamp is also a string.
            let expected = op == *holds || (op == "IsString" && *holds == "IsTimestamp");
            assert_eq!(
                test(op, json!(true), value.clone()),
                expected,
                "{op} {value}"
            );
            assert_eq!(
                test(op, json!(false), value.clone()),
                !expected,
                "{op} false {value}"
            );
        }
    }
    for value in [json!([]), json!({}), json!(["x"])] {
        for op in all {
            assert!(!test(op, json!(true), value.clone()), "{op} {value}");
        }
    }
    assert!(!test(
        "IsTimestamp",
        json!(true),
        json!("2012-10-09T19:00:55")
    ));
}

#[test]
fn is_present_and_missing_paths() {
    let ctx = json!({});
    let rule = |op: &str, v: Value| json!({"Variable": "$.missing", op: v, "Next": "X"});
    assert_eq!(
        evaluate_rule(&rule("IsPresent", json!(true)), &json!({}), &ctx),
        Ok(false)
    );
    assert_eq!(
        evaluate_rule(&rule("IsPresent", json!(false)), &json!({}), &ctx),
        Ok(true)
    );
    assert!(test("IsPresent", json!(true), json!(null)));
    assert!(!test("IsPresent", json!(false), json!(null)));
    let expected_cause =
        "Invalid path '$.missing': The choice state's condition path references an invalid value.";
    for (op, operand) in [
        ("IsNull", json!(true)),
        ("NumericEquals", json!(1)),
        ("StringEquals", json!("a")),
        ("BooleanEquals", json!(true)),
        ("TimestampEquals", json!("2012-10-09T19:00:55Z")),
    ] {
        let failure = evaluate_rule(&rule(op, operand), &json!({}), &ctx).err();
        assert_eq!(
            failure.as_ref().map(|f| f.error.as_str()),
            Some(errors::RUNTIME)
        );
        assert_eq!(
            failure.map(|f| f.cause).as_deref(),
            Some(expected_cause),
            "{op}"
        );
    }
    // A missing `…Path` operand names that path.
    let twin = json!({"Variable": "$.v", "NumericEqualsPath": "$.nope", "Next": "X"});
    let failure = evaluate_rule(&twin, &json!({"v": 1}), &ctx).err();
    assert_eq!(
        failure.map(|f| f.cause).as_deref(),
        Some(
            "Invalid path '$.nope': The choice state's condition path references an invalid value."
        )
    );
}

#[test]
fn context_paths() {
    let rule = json!({"Variable": "$$.Execution.Name", "StringEquals": "run-1", "Next": "X"});
    let context = json!({"Execution": {"Name": "run-1"}});
    assert_eq!(evaluate_rule(&rule, &json!({}), &context), Ok(true));
}

#[test]
fn boolean_combinators() {
    let ctx = json!({});
    let input = json!({"type": "Private", "value": 25});
    let t = json!({"Variable": "$.value", "NumericEquals": 25});
    let f = json!({"Variable": "$.value", "NumericEquals": 0});
    let boom = json!({"Variable": "$.missing", "NumericEquals": 0});
    let eval = |rule: Value| evaluate_rule(&rule, &input, &ctx).map_err(|f| f.error);
    assert_eq!(eval(json!({"And": [t, t]})), Ok(true));
    assert_eq!(eval(json!({"And": [t, f]})), Ok(false));
    assert_eq!(eval(json!({"Or": [f, t]})), Ok(true));
    assert_eq!(eval(json!({"Or": [f, f]})), Ok(false));
    assert_eq!(eval(json!({"Not": f})), Ok(true));
    assert_eq!(eval(json!({"Not": {"Not": t}})), Ok(true));
    assert_eq!(eval(json!({"And": [t, {"Or": [f, {"Not": f}]}]})), Ok(true));
    // Short-circuit: the missing path is never looked at once the outcome is known.
    assert_eq!(eval(json!({"And": [f, boom]})), Ok(false));
    assert_eq!(eval(json!({"Or": [t, boom]})), Ok(true));
    assert_eq!(
        eval(json!({"And": [t, boom]})),
        Err(errors::RUNTIME.to_string())
    );
}

#[test]
fn next_state_picks_first_match_then_default() {
    let ctx = json!({});
    let state = choice_state(json!({
        "Type": "Choice",
        "Choices": [
            {"Not": {"Variable": "$.type", "StringEquals": "Private"}, "Next": "One"},
            {"Variable": "$.value", "NumericEquals": 0, "Next": "Two"},
            {"And": [{"Variable": "$.value", "NumericGreaterThanEquals": 20},
                     {"Variable": "$.value", "NumericLessThan": 30}], "Next": "Three"}
        ],
        "Default": "Fallback"
    }));
    let next = |input: Value| {
        next_state(
            &state,
            &input,
            &crate::variables::Env::context_only(ctx.clone()),
            &mut crate::entropy::Entropy::new(1),
        )
        .ok()
        .map(|(next, _)| next)
    };
    assert_eq!(
        next(json!({"type": "Public", "value": 3})).as_deref(),
        Some("One")
    );
    assert_eq!(
        next(json!({"type": "Private", "value": 0})).as_deref(),
        Some("Two")
    );
    assert_eq!(
        next(json!({"type": "Private", "value": 25})).as_deref(),
        Some("Three")
    );
    assert_eq!(
        next(json!({"type": "Private", "value": 5})).as_deref(),
        Some("Fallback")
    );
}

#[test]
fn no_match_without_default_fails_as_aws_does() {
    let state = choice_state(json!({"Type": "Choice",
                       "Choices": [{"Variable": "$.x", "StringEquals": "never", "Next": "Done"}]}));
    let failure = next_state(
        &state,
        &json!({"x": "a"}),
        &crate::variables::Env::context_only(json!({})),
        &mut crate::entropy::Entropy::new(1),
    )
    .err();
    assert_eq!(
        failure.as_ref().map(|f| f.error.as_str()),
        Some(errors::RUNTIME)
    );
    assert_eq!(
        failure.map(|f| f.cause).as_deref(),
        Some(NO_NEXT_STATE_CAUSE)
    );
    // An error in a rule stops the scan even when a Default exists.
    let erring = choice_state(json!({"Type": "Choice", "Default": "D",
                        "Choices": [{"Variable": "$.gone", "IsNull": true, "Next": "N"}]}));
    assert!(
        next_state(
            &erring,
            &json!({}),
            &crate::variables::Env::context_only(json!({})),
            &mut crate::entropy::Entropy::new(1),
        )
        .is_err()
    );
}
