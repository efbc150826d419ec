//! The typed model: every field of both query languages parses and writes back as written,
//! absent is kept apart from `null`, malformed rules are refused, and the machine's index.

use serde::Deserialize;
use serde_json::{Value, json};

use super::*;
use crate::interpreter::{self, Event, ExecutionInfo, Status};

fn parse(definition: &Value) -> StateMachine {
    StateMachine::deserialize(definition).expect("definition parses")
}

/// Parses, and checks the model writes back exactly what it read.
fn round_trip(definition: Value) -> StateMachine {
    let model = parse(&definition);
    let written = serde_json::to_value(&model).expect("model serializes");
    assert_eq!(written, definition);
    assert_eq!(parse(&written), model);
    model
}

#[test]
fn every_jsonpath_field_round_trips() {
    let retry = json!([{ "ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 2,
        "BackoffRate": 1.5, "MaxDelaySeconds": 9, "JitterStrategy": "FULL", "Comment": "r" }]);
    let catch = json!([{ "ErrorEquals": ["E"], "Next": "S", "ResultPath": "$.e", "Comment": "c" }]);
    let inner = json!({ "StartAt": "P", "States": { "P": { "Type": "Pass", "End": true } } });
    round_trip(json!({
        "Comment": "all", "Version": "1.0", "TimeoutSeconds": 60, "QueryLanguage": "JSONPath",
        "StartAt": "Pass",
        "States": {
            "Pass": { "Type": "Pass", "Comment": "p", "InputPath": "$.a", "OutputPath": null,
                "Parameters": { "x.$": "$.y" }, "Result": null, "ResultPath": "$.r",
                "Assign": { "v": 1 }, "Next": "Task" },
            "Task": { "Type": "Task", "Resource": "arn:aws:states:us-east-1:1:activity:a",
                "Parameters": { "a": 1 }, "ResultSelector": { "b.$": "$.c" }, "ResultPath": null,
                "TimeoutSecondsPath": "$.t", "HeartbeatSeconds": 5,
                "Credentials": { "RoleArn": "r" }, "Retry": retry, "Catch": catch, "Next": "Choice" },
            "Choice": { "Type": "Choice", "InputPath": "$", "Default": "Wait", "Choices": [
                { "Variable": "$.n", "NumericGreaterThanEquals": 1.0, "Next": "Wait" },
                { "And": [ { "Variable": "$.s", "StringMatches": "a*" },
                           { "Not": { "Variable": "$.b", "BooleanEqualsPath": "$.c" } } ],
                  "Next": "Wait", "Comment": "and" },
                { "Or": [ { "Variable": "$.t", "TimestampLessThan": "2024-01-01T00:00:00Z" },
                          { "Variable": "$.x", "IsPresent": false } ], "Next": "Wait" } ] },
            "Wait": { "Type": "Wait", "SecondsPath": "$.s", "Next": "Par" },
            "Par": { "Type": "Parallel", "Branches": [inner.clone(), inner.clone()],
                "ResultSelector": { "r.$": "$[0]" }, "Retry": [], "Next": "Map" },
            "Map": { "Type": "Map", "ItemsPath": "$.items", "ItemSelector": { "i.$": "$$.Map.Item.Value" },
                "MaxConcurrencyPath": "$.m", "ToleratedFailurePercentage": 50, "Label": "L",
                "ItemProcessor": { "ProcessorConfig": { "Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS" },
                    "StartAt": "P", "States": { "P": { "Type": "Pass", "End": true } } },
                "ItemReader": { "Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": { "InputType": "CSV" },
                    "Parameters": { "Bucket": "b" }, "Future": 1 },
                "ItemBatcher": { "MaxItemsPerBatch": 10, "BatchInput": { "k": 1 } },
                "ResultWriter": { "Resource": "arn:aws:states:::s3:putObject", "Parameters": {} },
                "Next": "Legacy" },
            "Legacy": { "Type": "Map", "Parameters": { "p.$": "$$.Map.Item.Index" }, "MaxConcurrency": 2,
                "Iterator": inner, "ToleratedFailureCountPath": "$.n", "Next": "Fail" },
            "Fail": { "Type": "Fail", "ErrorPath": "$.e", "Cause": "c" },
            "S": { "Type": "Succeed", "OutputPath": "$.o" }
        }
    }));
}

#[test]
fn jsonata_fields_parse_for_shape() {
    let model = round_trip(json!({
        "QueryLanguage": "JSONata", "StartAt": "T",
        "States": {
            "T": { "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                "Arguments": { "x": "{% $states.input.x %}" }, "Output": "{% $states.result %}",
                "Assign": { "v": "{% 1 %}" }, "TimeoutSeconds": "{% $t %}",
                "Catch": [{ "ErrorEquals": ["States.ALL"], "Next": "C", "Output": {}, "Assign": {} }],
                "Next": "C" },
            "C": { "Type": "Choice", "Default": "M", "Choices": [
                { "Condition": "{% $v = 1 %}", "Next": "M", "Output": 1, "Assign": { "w": 2 } } ] },
            "M": { "Type": "Map", "Items": "{% [1, 2] %}", "MaxConcurrency": "{% 2 %}",
                "ToleratedFailurePercentage": "{% 5 %}", "ItemSelector": "{% $states.context.Map.Item.Value %}",
                "ItemProcessor": { "StartAt": "P", "States": { "P": { "Type": "Pass", "Output": null, "End": true } } },
                "Next": "W" },
            "W": { "Type": "Wait", "Timestamp": "{% $x %}", "Next": "F" },
            "F": { "Type": "Fail", "Error": "{% 'E' %}", "Cause": "{% 'c' %}" }
        }
    }));
    let Some(StateKind::Task(task)) = model.states.get("T").map(|s| &s.kind) else {
        panic!("T is a Task");
    };
    assert_eq!(
        task.timeout_seconds,
        Some(OrExpression::Expression("{% $t %}".into()))
    );
    let Some(StateKind::Choice(choice)) = model.states.get("C").map(|s| &s.kind) else {
        panic!("C is a Choice");
    };
    assert_eq!(
        choice.choices[0].condition,
        Condition::Jsonata(json!("{% $v = 1 %}"))
    );
}

#[test]
fn absent_and_null_stay_apart() {
    let model = parse(&json!({ "StartAt": "A", "States": {
        "A": { "Type": "Pass", "ResultPath": null, "Result": null, "Next": "B" },
        "B": { "Type": "Pass", "End": true } } }));
    let (Some(a), Some(b)) = (model.states.get("A"), model.states.get("B")) else {
        panic!("two states");
    };
    let (StateKind::Pass(a_pass), StateKind::Pass(b_pass)) = (&a.kind, &b.kind) else {
        panic!("two Pass states");
    };
    assert_eq!(a.flow.result_path, NullablePath::Null);
    assert_eq!(a_pass.result, Some(Value::Null));
    assert_eq!(b.flow.result_path, NullablePath::Absent);
    assert_eq!(b_pass.result, None);
    assert_eq!(a.flow.input_path, NullablePath::Absent);
}

#[test]
fn comparators_and_their_twins() {
    assert_eq!(
        Comparator::from_key("NumericEqualsPath"),
        Some((Comparator::NumericEquals, true))
    );
    assert_eq!(Comparator::from_key("StringMatchesPath"), None);
    assert_eq!(Comparator::from_key("IsNullPath"), None);
    assert_eq!(Comparator::ALL.len(), 23);
}

#[test]
fn malformed_rules_and_fields_are_refused() {
    let with_rule = |rule: Value| {
        json!({ "StartAt": "C", "States": {
            "C": { "Type": "Choice", "Choices": [rule], "Default": "D" },
            "D": { "Type": "Succeed" } } })
    };
    for rule in [
        json!({ "Variable": "$.a", "StringEquals": "x", "IsNull": true, "Next": "D" }),
        json!({ "Variable": "$.a", "Next": "D" }),
        json!({ "StringEquals": "x", "Next": "D" }),
        json!({ "Variable": "$.a", "NumericEquals": "1", "Next": "D" }),
        json!({ "Variable": "$.a", "StringMatchesPath": "$.b", "Next": "D" }),
        json!({ "Variable": "$.a", "And": [], "Next": "D" }),
        json!({ "Not": [], "Next": "D" }),
    ] {
        assert!(
            StateMachine::deserialize(&with_rule(rule.clone())).is_err(),
            "{rule}"
        );
    }
    let unknown =
        json!({ "StartAt": "A", "States": { "A": { "Type": "Pass", "Foo": 1, "End": true } } });
    assert!(StateMachine::deserialize(&unknown).is_err());
    let bad_type = json!({ "StartAt": "A", "States": { "A": { "Type": "Nope", "End": true } } });
    assert!(StateMachine::deserialize(&bad_type).is_err());
}

#[test]
fn machine_indexes_every_scope() {
    let inner = json!({ "StartAt": "In", "States": { "In": { "Type": "Pass", "End": true } } });
    let machine = Machine::new(json!({ "StartAt": "a/b~c", "States": {
        "a/b~c": { "Type": "Parallel", "Branches": [inner.clone(), inner.clone()], "Next": "M" },
        "M": { "Type": "Map", "Iterator": inner, "End": true } } }));
    assert!(machine.model().is_ok());
    assert_eq!(
        machine.scope("").map(|s| s.start_at.as_str()),
        Some("a/b~c")
    );
    let branch = index::branch_scope("", "a/b~c", 1);
    assert_eq!(branch, "/States/a~1b~0c/Branches/1");
    assert!(machine.state(&branch, "In").is_some());
    let processor = index::processor_scope("", "M", "Iterator");
    let state = machine.state(&processor, "In").expect("indexed");
    assert_eq!(state.state.type_name(), "Pass");
    assert!(!state.reads_context);
    assert!(machine.state("", "In").is_none());
}

/// The model takes exactly the data-flow fields the field table gives each state type, and
/// holds them in the state's one `DataFlowFields` (a Map's `Parameters` stays its item selector).
#[test]
fn the_model_takes_the_data_flow_fields_the_table_gives_each_type() {
    let minimal = |state_type: &str| match state_type {
        "Task" => json!({"Resource": "arn:aws:states:::lambda:invoke", "End": true}),
        "Choice" => json!({"Choices": [{"Variable": "$.a", "IsPresent": true, "Next": "X"}]}),
        "Wait" => json!({"Seconds": 1, "End": true}),
        "Parallel" => json!({"Branches": [], "End": true}),
        "Map" => json!({"ItemProcessor": {"StartAt": "P",
            "States": {"P": {"Type": "Pass", "End": true}}}, "End": true}),
        "Succeed" | "Fail" => json!({}),
        _ => json!({"End": true}),
    };
    for state_type in schema::STATE_TYPES {
        for key in schema::DATA_FLOW_KEYS {
            let mut state = minimal(state_type);
            state["Type"] = json!(state_type);
            state[key] = match key {
                "QueryLanguage" => json!("JSONPath"),
                "InputPath" | "OutputPath" | "ResultPath" => json!("$.x"),
                _ => json!({"k": 1}),
            };
            let parsed = serde_json::from_value::<State>(state);
            let allowed = schema::state_field(state_type, key).is_some();
            assert_eq!(
                parsed.is_ok(),
                allowed,
                "{state_type} with {key}: {parsed:?}"
            );
            let Ok(parsed) = parsed else { continue };
            let in_flow = serde_json::to_value(&parsed.flow)
                .ok()
                .and_then(|flow| flow.get(key).cloned())
                .is_some();
            assert_eq!(
                in_flow,
                schema::is_data_flow_field(state_type, key),
                "{state_type}.{key}"
            );
        }
    }
}

/// A state is handed the context object when anything in it mentions `$$`: its fields, a
/// nested state, a catcher, even a comment; otherwise it gets an empty one.
#[test]
fn states_that_mention_the_context_object_are_marked() {
    let pass = |fields: Value| {
        let mut state = fields;
        state["Type"] = json!("Pass");
        state["End"] = json!(true);
        state
    };
    let reads = |state: Value| {
        let machine = Machine::new(json!({ "StartAt": "S", "States": { "S": state } }));
        machine.state("", "S").map(|s| s.reads_context)
    };
    assert_eq!(reads(pass(json!({}))), Some(false));
    assert_eq!(
        reads(pass(json!({"Parameters": {"a.$": "$.a"}}))),
        Some(false)
    );
    assert_eq!(
        reads(pass(json!({"Parameters": {"a.$": "$$.Execution.Id"}}))),
        Some(true)
    );
    assert_eq!(reads(pass(json!({"Comment": "not $$ really"}))), Some(true));
    let inner = json!({ "StartAt": "In", "States": { "In": {
        "Type": "Pass", "Parameters": {"i.$": "$$.Map.Item.Index"}, "End": true } } });
    assert_eq!(
        reads(json!({"Type": "Map", "ItemProcessor": inner, "End": true})),
        Some(true)
    );
    assert_eq!(
        reads(
            json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true,
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.e", "Next": "S",
                       "Comment": "$$"}]})
        ),
        Some(true)
    );
}

/// Each state's language is resolved once: its own `QueryLanguage`, else the machine's (also
/// inside a Map's processor or a Parallel's branch), else JSONPath.
#[test]
fn every_state_speaks_its_own_language_or_the_machines() {
    use crate::model::definition::QueryLanguage::{self, JsonPath, Jsonata};
    let inner = json!({ "StartAt": "In", "States": { "In": { "Type": "Pass", "End": true } } });
    let language = |top: Value, own: Value| {
        let mut definition = json!({ "StartAt": "P", "States": {
            "P": { "Type": "Pass", "Next": "M" },
            "M": { "Type": "Map", "ItemProcessor": inner.clone(), "End": true } } });
        if !top.is_null() {
            definition["QueryLanguage"] = top;
        }
        if !own.is_null() {
            definition["States"]["P"]["QueryLanguage"] = own;
        }
        let machine = Machine::new(definition);
        let processor = index::processor_scope("", "M", "ItemProcessor");
        (
            machine.state("", "P").map(|s| s.language),
            machine.state(&processor, "In").map(|s| s.language),
        )
    };
    assert_eq!(
        language(Value::Null, Value::Null),
        (Some(JsonPath), Some(JsonPath))
    );
    assert_eq!(
        language(json!("JSONata"), Value::Null),
        (Some(Jsonata), Some(Jsonata))
    );
    assert_eq!(
        language(Value::Null, json!("JSONata")),
        (Some(Jsonata), Some(JsonPath))
    );
    assert_eq!(
        language(json!("JSONPath"), json!("JSONata")),
        (Some(Jsonata), Some(JsonPath))
    );
    assert!(QueryLanguage::steps_back(Jsonata, Some(JsonPath)));
    assert!(!QueryLanguage::steps_back(JsonPath, Some(Jsonata)));
}

#[test]
fn an_unparsable_definition_fails_its_executions_at_the_first_step() {
    let info = ExecutionInfo {
        execution_arn: "arn:aws:states:us-east-1:1:execution:m:e".into(),
        name: "e".into(),
        role_arn: "arn:aws:iam::1:role/r".into(),
        state_machine_arn: "arn:aws:states:us-east-1:1:stateMachine:m".into(),
        state_machine_name: "m".into(),
        start_time_ms: 0,
        token_secret: String::new(),
        ..Default::default()
    };
    for text in [
        "not json",
        r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Bogus":1,"End":true}}}"#,
    ] {
        let machine = Machine::parse(text);
        assert!(machine.model().is_err());
        let started = interpreter::start(&machine, info.clone(), json!({}), 0, 1);
        assert_eq!(started.snapshot.status, Status::Failed);
        assert_eq!(started.snapshot.error.as_deref(), Some("States.Runtime"));
        let types: Vec<&str> = started
            .history
            .iter()
            .map(|e| e.event_type.as_str())
            .collect();
        assert_eq!(types, ["ExecutionStarted", "ExecutionFailed"]);
        // A step on an execution that ended is a no-op, not a panic.
        let again = interpreter::step(&machine, started.snapshot, &Event::Tick, 1, 2);
        assert!(again.history.is_empty());
    }
}
