//! Unit tests of the data flow: exact outputs (key order included) and AWS's error texts.

use serde_json::{Value, json};

use super::template::java_hash_map_order;
use super::*;
use crate::failure::errors;
use crate::model::{State, StateKind};

fn ctx() -> Value {
    json!({"Execution": {"Id": "arn:exec", "Name": "run-1"}, "State": {"Name": "S"},
           "Map": {"Item": {"Index": 2, "Value": {"v": 1}}}})
}

fn path(p: &str, input: &Value) -> Result<Value, Failure> {
    evaluate_path(p, input, &crate::variables::Env::context_only(ctx()))
}

fn template(t: Value, input: &Value) -> Result<Value, Failure> {
    evaluate_template(
        &t,
        input,
        &crate::variables::Env::context_only(ctx()),
        &mut Entropy::new(1),
    )
}

fn runtime(cause: &str) -> Failure {
    Failure::new(errors::RUNTIME, cause)
}

/// Serialized, so that key order is compared too.
fn text(v: &Result<Value, Failure>) -> String {
    match v {
        Ok(v) => v.to_string(),
        Err(f) => format!("ERR {f}"),
    }
}

#[test]
fn reference_paths_select_values() {
    let input = json!({"a": {"b": [10, 20, {"c": "x"}]}, "a b": 1, "n": null, "d-e": 5});
    assert_eq!(path("$", &input), Ok(input.clone()));
    assert_eq!(path("$.a.b[1]", &input), Ok(json!(20)));
    assert_eq!(path("$.a.b[2].c", &input), Ok(json!("x")));
    assert_eq!(path("$['a']['b'][-1]", &input), Ok(json!({"c": "x"})));
    assert_eq!(path("$['a b']", &input), Ok(json!(1)));
    assert_eq!(path("$[\"a b\"]", &input), Ok(json!(1)));
    assert_eq!(path("$.n", &input), Ok(Value::Null));
    assert_eq!(path("$.d-e", &input), Ok(json!(5)));
    assert!(is_definite_path("$.a['b'][0]"));
    assert!(!is_definite_path("$.a[*]"));
}

#[test]
fn context_paths_read_the_context_object() {
    let input = json!({});
    assert_eq!(path("$$.Execution.Id", &input), Ok(json!("arn:exec")));
    assert_eq!(path("$$.Map.Item.Value", &input), Ok(json!({"v": 1})));
    assert_eq!(path("$$", &input), Ok(ctx()));
}

#[test]
fn index_past_the_end_reads_null_like_jackson() {
    let input = json!({"items": [1, 2]});
    assert_eq!(path("$.items[5]", &input), Ok(Value::Null));
    assert_eq!(path("$.items[-5]", &input), Ok(Value::Null));
}

#[test]
fn missing_definite_paths_fail_with_jayway_messages() {
    let input = json!({"a": {"b": 1}, "s": "str", "arr": [1], "nul": null});
    let cases = [
        (
            "$.NoSuchInputPath",
            "No results for path: $['NoSuchInputPath']",
        ),
        ("$.a.x", "No results for path: $['a']['x']"),
        ("$.x.y", "Missing property in path $['x']"),
        (
            "$.s.y",
            "Expected to find an object with property ['y'] in path $['s'] but found 'java.lang.String'. \
             This is not a json object according to the JsonProvider: 'com.jayway.jsonpath.spi.json.JacksonJsonNodeJsonProvider'.",
        ),
        ("$.nul[0]", "The path $['nul'] is null"),
        (
            "$.s[0]",
            "Filter: [0] can only be applied to arrays. Current context is: str",
        ),
        // AWS does not support Jayway's functions: `length()` is read as a property name.
        ("$.list.length()", "Missing property in path $['list']"),
    ];
    for (p, message) in cases {
        assert_eq!(
            path(p, &input),
            Err(runtime(&format!("Invalid path '{p}' : {message}"))),
            "{p}"
        );
    }
}

#[test]
fn indefinite_paths_yield_arrays() {
    let input = json!({"items": [{"v": 1}, {"v": 2}, {"w": 3}, {"v": 4}],
                       "users": [{"year": 1997, "status": 0}, {"year": 1998, "status": 1}]});
    assert_eq!(path("$.items[*].v", &input), Ok(json!([1, 2, 4])));
    assert_eq!(
        path("$.items[1:3]", &input),
        Ok(json!([{"v": 2}, {"w": 3}]))
    );
    assert_eq!(path("$.items[:1]", &input), Ok(json!([{"v": 1}])));
    assert_eq!(path("$.items[0,3].v", &input), Ok(json!([1, 4])));
    assert_eq!(path("$..w", &input), Ok(json!([3])));
    assert_eq!(
        path("$.users[?(@.status == 0)]", &input),
        Ok(json!([{"year": 1997, "status": 0}]))
    );
    assert_eq!(
        path("$.users[?(@.status == 1 && @.year > 1990)].year", &input),
        Ok(json!([1998]))
    );
    // Nothing matched: an empty array, not an error (recorded AWS behaviour).
    for p in ["$.items[*].zz", "$.nothing[*]", "$.nothing[1:5].x", "$[*]"] {
        assert_eq!(path(p, &json!({})), Ok(json!([])), "{p}");
    }
}

#[test]
fn quoted_names_keep_backslashes_like_aws() {
    // Recorded: $['Test\""Name"'] reads the key `Test\""Name"`.
    let input = json!({"Test\\\"\"Name\"": "Value\"\\"});
    assert_eq!(
        path("$['Test\\\"\"Name\"']", &input),
        Ok(json!("Value\"\\"))
    );
    assert_eq!(path("$['it\\'s']", &json!({"it's": 1})), Ok(json!(1)));
}

#[test]
fn bad_syntax_is_a_runtime_failure() {
    let failure = path("a.b", &json!({})).err().map(|f| f.error);
    assert_eq!(failure.as_deref(), Some(errors::RUNTIME));
    assert!(path("$.a[", &json!({})).is_err());
    assert!(path("$.a[?(@.x == 1]", &json!({})).is_err());
}

#[test]
fn templates_copy_static_fields_and_evaluate_dollar_fields() {
    let input = json!({"vals": [0, 10, 20, 30, 40, 50], "flagged": 7});
    let t = json!({"flagged": true, "parts": {"first.$": "$.vals[0]", "last3.$": "$.vals[3:]"},
                   "list": [{"x.$": "$.flagged"}, "$.literal"], "ctx.$": "$$.State.Name"});
    assert_eq!(
        text(&template(t, &input)),
        r#"{"flagged":true,"parts":{"last3":[30,40,50],"first":0},"list":[{"x":7},"$.literal"],"ctx":"S"}"#
    );
}

#[test]
fn template_dynamic_fields_follow_java_hash_map_order() {
    // Recorded AWS outputs: statics in template order, then `.$` fields in HashMap order.
    let input = json!({"q": 1, "a": 2});
    let t = json!({"Question.$": "$.q", "Answer.$": "$.a"});
    assert_eq!(text(&template(t, &input)), r#"{"Answer":2,"Question":1}"#);
    let t = json!({"value.$": "$.q", "bucketName": "b"});
    assert_eq!(
        text(&template(t, &input)),
        r#"{"bucketName":"b","value":1}"#
    );
    let t = json!({"original_input.$": "$.q", "iteration_input_value.$": "$.q",
                   "iteration_index.$": "$.q", "from_input_constant.$": "$.q", "constant_value": 0});
    let out = template(t, &input)
        .ok()
        .map(|v| v.as_object().map(|m| m.keys().cloned().collect::<Vec<_>>()));
    assert_eq!(
        out,
        Some(Some(vec![
            "constant_value".to_string(),
            "iteration_input_value".into(),
            "from_input_constant".into(),
            "iteration_index".into(),
            "original_input".into()
        ]))
    );
    // More than 12 keys: the table has 32 buckets (recorded context-object scenario).
    let keys = [
        "context_object",
        "execution",
        "execution_id",
        "execution_input",
        "execution_name",
        "execution_rolearn",
        "execution_starttime",
        "state",
        "state_enteredtime",
        "state_name",
        "statemachine",
        "statemachine_id",
        "statemachine_name",
    ];
    let order: Vec<&str> = java_hash_map_order(&keys)
        .into_iter()
        .map(|i| keys[i])
        .collect();
    assert_eq!(
        order,
        [
            "execution",
            "execution_rolearn",
            "execution_name",
            "statemachine_id",
            "execution_id",
            "execution_input",
            "execution_starttime",
            "state_name",
            "state_enteredtime",
            "statemachine",
            "state",
            "context_object",
            "statemachine_name",
        ]
    );
}

#[test]
fn template_missing_path_fails_with_aws_cause() {
    let r = template(json!({"missing.$": "$.nope.deep"}), &json!({"other": 1}));
    assert_eq!(
        r,
        Err(runtime(
            "The JSONPath '$.nope.deep' specified for the field 'missing.$' could not be found in the input '{\"other\":1}'"
        ))
    );
    let r = template(
        json!({"outer": {"address.$": "$.application.address"}}),
        &json!({"flagged": false}),
    );
    assert_eq!(
        r,
        Err(runtime(
            "The JSONPath '$.application.address' specified for the field 'address.$' could not be found in the input '{\"flagged\":false}'"
        ))
    );
}

#[test]
fn template_path_on_null_input_fails() {
    let r = template(json!({"Input.$": "$"}), &Value::Null);
    assert_eq!(
        r,
        Err(runtime(
            "Unable to apply Path transformation to null or empty input."
        ))
    );
    // Context paths still work.
    assert_eq!(
        template(json!({"n.$": "$$.State.Name"}), &Value::Null),
        Ok(json!({"n": "S"}))
    );
}

#[test]
fn template_intrinsics_go_to_the_intrinsics_module() {
    let r = template(json!({"a.$": "States.Array(1)"}), &json!({}));
    let expected = crate::intrinsics::evaluate(
        "States.Array(1)",
        &json!({}),
        &crate::variables::Env::context_only(ctx()),
        &mut Entropy::new(1),
    )
    .map(|v| json!({"a": v}));
    assert_eq!(r, expected);
}

#[test]
fn path_for_field_names_the_field() {
    let r = evaluate_path_for_field(
        "$.ErrorX",
        "ErrorPath",
        &json!({"a": 1}),
        &crate::variables::Env::context_only(ctx()),
    );
    assert_eq!(
        r,
        Err(runtime(
            "The JSONPath '$.ErrorX' specified for the field 'ErrorPath' could not be found in the input '{\"a\":1}'"
        ))
    );
}

/// A JSONPath Task state with these data-flow fields (a Task has them all).
fn task(fields: Value) -> State {
    let mut state = fields;
    state["Type"] = json!("Task");
    state["Resource"] = json!("arn:aws:states:::lambda:invoke");
    state["End"] = json!(true);
    serde_json::from_value(state).expect("a well-formed Task state")
}

fn pipeline(state: &State) -> Pipeline<'_> {
    Pipeline::new(&state.flow)
}

#[test]
fn input_and_output_paths() {
    let input = json!({"a": {"b": 1}});
    let c = crate::variables::Env::context_only(ctx());
    let input_of = |fields: Value| pipeline(&task(fields)).input(&input, &c);
    let output_of = |fields: Value| {
        pipeline(&task(fields)).output(&input, input.clone(), &c, &mut Entropy::new(1))
    };
    assert_eq!(input_of(json!({})), Ok(input.clone()));
    assert_eq!(input_of(json!({"InputPath": null})), Ok(json!({})));
    assert_eq!(input_of(json!({"InputPath": "$.a"})), Ok(json!({"b": 1})));
    assert_eq!(
        input_of(json!({"InputPath": "$.NoSuchInputPath"})),
        Err(runtime(
            "Invalid path '$.NoSuchInputPath' : No results for path: $['NoSuchInputPath']"
        ))
    );
    assert_eq!(output_of(json!({})), Ok(input.clone()));
    assert_eq!(output_of(json!({"OutputPath": null})), Ok(json!({})));
    assert_eq!(output_of(json!({"OutputPath": "$.a.b"})), Ok(json!(1)));
    assert_eq!(
        output_of(json!({"OutputPath": "$.a.c"})),
        Err(runtime(
            "Invalid path '$.a.c' : No results for path: $['a']['c']"
        ))
    );
}

#[test]
fn parameters_and_result_selector_apply_only_when_present() {
    let input = json!({"x": 1});
    let c = crate::variables::Env::context_only(ctx());
    let mut e = Entropy::new(1);
    let plain = task(json!({}));
    assert_eq!(
        pipeline(&plain).arguments(&input, &c, &mut e),
        Ok(input.clone())
    );
    let parameters = task(json!({"Parameters": {"y.$": "$.x"}}));
    assert_eq!(
        pipeline(&parameters).arguments(&input, &c, &mut e),
        Ok(json!({"y": 1}))
    );
    assert_eq!(
        pipeline(&plain).select_result(input.clone(), &c, &mut e),
        Ok(input.clone())
    );
    let selector = task(json!({"ResultSelector": {"r.$": "$.x", "k": 2}}));
    assert_eq!(
        pipeline(&selector).select_result(input.clone(), &c, &mut e),
        Ok(json!({"k": 2, "r": 1}))
    );
    // A Map's legacy `Parameters` selects items; it is not the state's arguments.
    let map: State = serde_json::from_value(json!({"Type": "Map", "End": true,
        "Parameters": {"v.$": "$$.Map.Item.Value", "i.$": "$$.Map.Item.Index"},
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}))
    .expect("a Map state");
    assert_eq!(
        pipeline(&map).arguments(&input, &c, &mut e),
        Ok(input.clone())
    );
    let StateKind::Map(map) = &map.kind else {
        panic!("a Map state")
    };
    let selector = map.selector().expect("the legacy selector");
    assert_eq!(
        text(&evaluate_template(selector, &input, &c, &mut e)),
        r#"{"v":{"v":1},"i":2}"#
    );
}

fn result_path(path: Value) -> NullablePath {
    serde_json::from_value(path).expect("a ResultPath")
}

#[test]
fn result_path_writes_into_a_copy_of_the_input() {
    let raw = json!({"a": 1, "b": {"c": 2}, "list": [1, 2]});
    let r = |path: Option<Value>, result: Value| {
        let path = path.map_or(NullablePath::Absent, result_path);
        write_result(&path, &raw, result)
    };
    assert_eq!(r(None, json!("R")), Ok(json!("R")));
    assert_eq!(r(Some(json!("$")), json!("R")), Ok(json!("R")));
    assert_eq!(r(Some(json!(null)), json!("R")), Ok(raw.clone()));
    assert_eq!(
        text(&r(Some(json!("$.a")), json!("R"))),
        r#"{"a":"R","b":{"c":2},"list":[1,2]}"#
    );
    assert_eq!(
        text(&r(Some(json!("$.new.deep")), json!("R"))),
        r#"{"a":1,"b":{"c":2},"list":[1,2],"new":{"deep":"R"}}"#
    );
    assert_eq!(
        text(&r(Some(json!("$.b['d e']")), json!(3))),
        r#"{"a":1,"b":{"c":2,"d e":3},"list":[1,2]}"#
    );
    assert_eq!(
        text(&r(Some(json!("$.list[1]")), json!(9))),
        r#"{"a":1,"b":{"c":2},"list":[1,9]}"#
    );
}

#[test]
fn result_path_mismatch_fails_with_result_path_match_failure() {
    let mismatch = |path: &str, input: &str| {
        Failure::new(
            errors::RESULT_PATH_MATCH_FAILURE,
            format!("Unable to apply ReferencePath {path} to input {input}"),
        )
    };
    let write = |path: &str, raw: &Value| write_result(&result_path(json!(path)), raw, json!(1));
    assert_eq!(
        write("$.x", &json!("hello")),
        Err(mismatch("$.x", "\"hello\""))
    );
    let raw = json!({"a": 1, "list": [1]});
    assert_eq!(
        write("$.a.b", &raw),
        Err(mismatch("$.a.b", r#"{"a":1,"list":[1]}"#))
    );
    assert_eq!(
        write("$.list[4]", &raw),
        Err(mismatch("$.list[4]", r#"{"a":1,"list":[1]}"#))
    );
    assert_eq!(
        write("$.list.x", &raw),
        Err(mismatch("$.list.x", r#"{"a":1,"list":[1]}"#))
    );
}

#[test]
fn parsed_paths_expose_segments() {
    let parsed = parse_path("$$.Map.Item['Value'][0]").ok();
    assert_eq!(
        parsed,
        Some(ParsedPath {
            root: Root::Context,
            segments: vec![
                Segment::Key("Map".into()),
                Segment::Key("Item".into()),
                Segment::Key("Value".into()),
                Segment::Index(0),
            ],
        })
    );
}
