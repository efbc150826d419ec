//! The step function on small machines: every state type, tasks, timers, failures, and the
//! history's shape. The recorded AWS scenarios (`tests/step_corpus.rs`) cover far more when
//! the corpus is present.

use serde_json::{Value, json};

use super::snapshot::Status;
use super::{Effect, Event, ExecutionInfo, Machine, Transition};

fn start(definition: &Value, info: ExecutionInfo, input: Value, now: i64, seed: u64) -> Transition {
    super::start(&Machine::new(definition.clone()), info, input, now, seed)
}

fn step(
    definition: &Value,
    snapshot: super::Snapshot,
    event: &Event,
    now: i64,
    seed: u64,
) -> Transition {
    super::step(
        &Machine::new(definition.clone()),
        snapshot,
        event,
        now,
        seed,
    )
}

const T0: i64 = 1_700_000_000_000;

fn info() -> ExecutionInfo {
    ExecutionInfo {
        execution_arn: "arn:aws:states:us-east-1:123456789012:execution:m:e".into(),
        name: "e".into(),
        role_arn: "arn:aws:iam::123456789012:role/r".into(),
        state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:m".into(),
        state_machine_name: "m".into(),
        start_time_ms: T0,
        token_secret: String::new(),
        ..Default::default()
    }
}

/// Drives an execution whose only outside events are timers, collecting every event type.
fn run_timers(definition: &Value, input: Value) -> (Transition, Vec<String>) {
    let mut now = T0;
    let mut transition = start(definition, info(), input, now, 1);
    let mut types: Vec<String> = transition
        .history
        .iter()
        .map(|e| e.event_type.clone())
        .collect();
    let mut ids: Vec<u64> = transition.history.iter().map(|e| e.id).collect();
    while transition.snapshot.status == Status::Running {
        let due = transition.snapshot.next_due_ms().expect("something is due");
        now = now.max(due);
        transition = step(definition, transition.snapshot, &Event::Tick, now, 2);
        types.extend(transition.history.iter().map(|e| e.event_type.clone()));
        ids.extend(transition.history.iter().map(|e| e.id));
    }
    let expected: Vec<u64> = (1..=ids.len() as u64).collect();
    assert_eq!(ids, expected, "event ids are 1..n without gaps");
    (transition, types)
}

#[test]
fn pass_chain_runs_in_one_step() {
    let definition = json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Result": {"x": 1}, "ResultPath": "$.a", "Next": "B"},
        "B": {"Type": "Pass", "Parameters": {"y.$": "$.a.x"}, "End": true}}});
    let transition = start(&definition, info(), json!({"in": true}), T0, 1);
    assert_eq!(transition.snapshot.status, Status::Succeeded);
    assert_eq!(transition.snapshot.output, Some(json!({"y": 1})));
    let types: Vec<&str> = transition
        .history
        .iter()
        .map(|e| e.event_type.as_str())
        .collect();
    assert_eq!(
        types,
        [
            "ExecutionStarted",
            "PassStateEntered",
            "PassStateExited",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded"
        ]
    );
    // The first state's events chain from 0, as AWS's do.
    assert_eq!(transition.history[1].previous_event_id, 0);
    assert_eq!(transition.history[2].previous_event_id, 2);
}

#[test]
fn wait_is_a_timer() {
    let definition =
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 5, "End": true}}});
    let transition = start(&definition, info(), json!({}), T0, 1);
    assert_eq!(transition.snapshot.status, Status::Running);
    assert_eq!(transition.snapshot.next_due_ms(), Some(T0 + 5000));
    // Too early: nothing happens.
    let early = step(
        &definition,
        transition.snapshot.clone(),
        &Event::Tick,
        T0 + 4999,
        1,
    );
    assert!(early.history.is_empty());
    let done = step(&definition, transition.snapshot, &Event::Tick, T0 + 5000, 1);
    assert_eq!(done.snapshot.status, Status::Succeeded);
    assert_eq!(done.history[0].event_type, "WaitStateExited");
}

#[test]
fn choice_and_fail() {
    let definition = json!({"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericGreaterThan": 1, "Next": "Big"}], "Default": "Small"},
        "Big": {"Type": "Fail", "Error": "TooBig", "Cause": "n > 1"},
        "Small": {"Type": "Succeed"}}});
    let (big, _) = run_timers(&definition, json!({"n": 2}));
    assert_eq!(big.snapshot.status, Status::Failed);
    assert_eq!(big.snapshot.error.as_deref(), Some("TooBig"));
    assert_eq!(big.snapshot.cause.as_deref(), Some("n > 1"));
    let (small, _) = run_timers(&definition, json!({"n": 0}));
    assert_eq!(small.snapshot.status, Status::Succeeded);
}

#[test]
fn parallel_and_map_gather_results_in_order() {
    let definition = json!({"StartAt": "P", "States": {
        "P": {"Type": "Parallel", "Next": "M", "Branches": [
            {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 2, "Next": "One"}, "One": {"Type": "Pass", "Result": 1, "End": true}}},
            {"StartAt": "Two", "States": {"Two": {"Type": "Pass", "Result": 2, "End": true}}}]},
        "M": {"Type": "Map", "MaxConcurrency": 1, "End": true,
              "ItemProcessor": {"StartAt": "Double", "States": {
                  "Double": {"Type": "Pass", "Parameters": {"v.$": "States.MathAdd($, $)"}, "End": true}}}}}});
    let (done, types) = run_timers(&definition, json!({}));
    assert_eq!(done.snapshot.status, Status::Succeeded);
    assert_eq!(done.snapshot.output, Some(json!([{"v": 2}, {"v": 4}])));
    assert_eq!(
        types.iter().filter(|t| *t == "MapIterationStarted").count(),
        2
    );
    assert!(types.contains(&"ParallelStateSucceeded".to_owned()));
}

#[test]
fn map_fails_with_the_iteration_error() {
    let definition = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
        "ItemProcessor": {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Bad", "Cause": "item"}}}}}});
    let (done, types) = run_timers(&definition, json!([1, 2]));
    assert_eq!(done.snapshot.status, Status::Failed);
    assert_eq!(done.snapshot.error.as_deref(), Some("Bad"));
    assert!(types.contains(&"MapStateFailed".to_owned()));
}

fn activity_machine(extra: Value) -> Value {
    let mut task = json!({"Type": "Task", "Resource": "arn:aws:states:us-east-1:123456789012:activity:a", "End": true});
    if let (Value::Object(task), Value::Object(extra)) = (&mut task, extra) {
        task.extend(extra);
    }
    json!({"StartAt": "T", "States": {"T": task, "Caught": {"Type": "Pass", "End": true}}})
}

fn scheduled_task(transition: &Transition) -> u64 {
    transition
        .effects
        .iter()
        .find_map(|e| match e {
            Effect::ScheduleActivity { task_id, .. } => Some(*task_id),
            _ => None,
        })
        .expect("an activity was scheduled")
}

#[test]
fn activity_task_succeeds_with_result_path() {
    let definition = activity_machine(json!({"ResultPath": "$.result"}));
    let started = start(&definition, info(), json!({"x": 1}), T0, 1);
    let task_id = scheduled_task(&started);
    let Some(Effect::ScheduleActivity {
        input,
        activity_arn,
        ..
    }) = started.effects.first()
    else {
        panic!("schedule effect");
    };
    assert_eq!(input, "{\"x\":1}");
    assert!(activity_arn.ends_with(":activity:a"));
    let taken = step(
        &definition,
        started.snapshot,
        &Event::TaskStarted {
            task_id,
            worker_name: "w".into(),
            at_ms: 0,
        },
        T0 + 1,
        1,
    );
    assert_eq!(taken.history[0].event_type, "ActivityStarted");
    let done = step(
        &definition,
        taken.snapshot,
        &Event::TaskSucceeded {
            task_id,
            output: "{\"ok\":true}".into(),
        },
        T0 + 2,
        1,
    );
    assert_eq!(done.snapshot.status, Status::Succeeded);
    assert_eq!(
        done.snapshot.output,
        Some(json!({"x": 1, "result": {"ok": true}}))
    );
}

#[test]
fn activity_failure_is_retried_then_caught() {
    let definition = activity_machine(json!({
        "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 1, "MaxAttempts": 1}],
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Caught"}]}));
    let first = start(&definition, info(), json!({}), T0, 1);
    let task_id = scheduled_task(&first);
    let failed = step(
        &definition,
        first.snapshot,
        &Event::TaskFailed {
            task_id,
            error: "Flaky".into(),
            cause: "c".into(),
        },
        T0,
        1,
    );
    assert_eq!(failed.snapshot.status, Status::Running);
    assert_eq!(failed.snapshot.next_due_ms(), Some(T0 + 1000));
    let retried = step(&definition, failed.snapshot, &Event::Tick, T0 + 1000, 1);
    let second = scheduled_task(&retried);
    assert_ne!(second, task_id);
    let caught = step(
        &definition,
        retried.snapshot,
        &Event::TaskFailed {
            task_id: second,
            error: "Flaky".into(),
            cause: "again".into(),
        },
        T0 + 1001,
        1,
    );
    assert_eq!(caught.snapshot.status, Status::Succeeded);
    assert_eq!(
        caught.snapshot.output,
        Some(json!({"error": {"Error": "Flaky", "Cause": "again"}}))
    );
}

#[test]
fn task_timeouts_and_heartbeats() {
    let definition = activity_machine(json!({"TimeoutSeconds": 10, "HeartbeatSeconds": 3}));
    let first = start(&definition, info(), json!({}), T0, 1);
    let task_id = scheduled_task(&first);
    // Not started: only the overall timeout is armed.
    assert_eq!(first.snapshot.next_due_ms(), Some(T0 + 10_000));
    let taken = step(
        &definition,
        first.snapshot,
        &Event::TaskStarted {
            task_id,
            worker_name: "w".into(),
            at_ms: 0,
        },
        T0 + 1000,
        1,
    );
    assert_eq!(taken.snapshot.next_due_ms(), Some(T0 + 4000));
    let beat = step(
        &definition,
        taken.snapshot,
        &Event::TaskHeartbeat {
            task_id,
            at_ms: T0 + 3000,
        },
        T0 + 3000,
        1,
    );
    assert_eq!(beat.snapshot.next_due_ms(), Some(T0 + 6000));
    let timed_out = step(&definition, beat.snapshot, &Event::Tick, T0 + 6000, 1);
    assert_eq!(timed_out.snapshot.status, Status::Failed);
    assert_eq!(
        timed_out.snapshot.error.as_deref(),
        Some("States.HeartbeatTimeout")
    );
    assert!(timed_out.effects.contains(&Effect::CancelTask { task_id }));
}

#[test]
fn stop_aborts_and_cancels_tasks() {
    let definition = activity_machine(json!({}));
    let first = start(&definition, info(), json!({}), T0, 1);
    let task_id = scheduled_task(&first);
    let stopped = step(
        &definition,
        first.snapshot,
        &Event::Stop {
            error: Some("E".into()),
            cause: None,
        },
        T0 + 5,
        1,
    );
    assert_eq!(stopped.snapshot.status, Status::Aborted);
    assert_eq!(
        stopped.history.last().map(|e| e.event_type.as_str()),
        Some("ExecutionAborted")
    );
    assert!(stopped.effects.contains(&Effect::CancelTask { task_id }));
    // A late result for an ended execution changes nothing.
    let late = step(
        &definition,
        stopped.snapshot,
        &Event::TaskSucceeded {
            task_id,
            output: "{}".into(),
        },
        T0 + 6,
        1,
    );
    assert!(late.history.is_empty());
}

#[test]
fn execution_timeout() {
    let definition = json!({"StartAt": "W", "TimeoutSeconds": 2, "States": {"W": {"Type": "Wait", "Seconds": 60, "End": true}}});
    let (done, types) = run_timers(&definition, json!({}));
    assert_eq!(done.snapshot.status, Status::TimedOut);
    assert_eq!(types.last().map(String::as_str), Some("ExecutionTimedOut"));
}

#[test]
fn an_express_execution_times_out_after_five_minutes() {
    let wait = |seconds: u64| json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": seconds, "End": true}}});
    let express = ExecutionInfo {
        execution_arn: "arn:aws:states:us-east-1:123456789012:express:m:e".into(),
        ..info()
    };
    let started = start(&wait(400), express.clone(), json!({}), T0, 1);
    assert_eq!(started.snapshot.deadline_ms, Some(T0 + 300_000));
    let timed_out = step(&wait(400), started.snapshot, &Event::Tick, T0 + 300_000, 2);
    assert_eq!(timed_out.snapshot.status, Status::TimedOut);
    // A shorter TimeoutSeconds still counts; a STANDARD execution has no limit of its own.
    let short = json!({"StartAt": "W", "TimeoutSeconds": 10, "States": {"W": {"Type": "Wait", "Seconds": 400, "End": true}}});
    let started = start(&short, express, json!({}), T0, 1);
    assert_eq!(started.snapshot.deadline_ms, Some(T0 + 10_000));
    let started = start(&wait(400), info(), json!({}), T0, 1);
    assert_eq!(started.snapshot.deadline_ms, None);
}

#[test]
fn unsupported_resources_fail_clearly() {
    // Of no known form: the state fails at once.
    let definition = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:sqs:us-east-1:123456789012:queue", "End": true}}});
    let (done, _) = run_timers(&definition, json!({}));
    assert_eq!(done.snapshot.status, Status::Failed);
    assert_eq!(done.snapshot.error.as_deref(), Some("States.Runtime"));
    assert!(
        done.snapshot
            .cause
            .as_deref()
            .unwrap_or_default()
            .contains("arn:aws:sqs:us-east-1:123456789012:queue")
    );
    // A service Switchback does not call: the call carries the reason (a mocked test case may
    // still answer it).
    let definition = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage", "End": true}}});
    let started = start(&definition, info(), json!({}), T0, 1);
    let reason = started.effects.iter().find_map(|e| match e {
        Effect::Invoke(super::Invocation {
            call: super::Call::Unsupported { reason, .. },
            ..
        }) => Some(reason.clone()),
        _ => None,
    });
    assert!(reason.is_some_and(|r| r.contains("sqs:sendMessage")));
}

#[test]
fn never_panics_on_mangled_definitions() {
    let base = json!({"StartAt": "P", "States": {
        "P": {"Type": "Parallel", "Next": "M", "Branches": [{"StartAt": "C", "States": {
            "C": {"Type": "Choice", "Choices": [{"Variable": "$.a", "IsPresent": true, "Next": "W"}], "Default": "W"},
            "W": {"Type": "Wait", "SecondsPath": "$.s", "End": true}}}]},
        "M": {"Type": "Map", "ItemsPath": "$.items", "End": true, "Retry": [{"ErrorEquals": ["States.ALL"]}],
              "ItemProcessor": {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:r:1:activity:a", "End": true}}}}}});
    let text = base.to_string();
    let inputs = [
        json!({}),
        json!({"a": 1, "s": 1, "items": [1, 2]}),
        json!(null),
        json!([1]),
        json!({"s": -1, "items": "x"}),
    ];
    // Every single-character corruption that still parses as JSON, on several inputs.
    for position in 0..text.len() {
        for replacement in ["\"", "0", "}", "x"] {
            let mut mangled = text.clone();
            mangled.replace_range(position..=position, replacement);
            let Ok(definition) = serde_json::from_str::<Value>(&mangled) else {
                continue;
            };
            for input in &inputs {
                let mut now = T0;
                let mut transition = start(&definition, info(), input.clone(), now, 3);
                let mut last_id = transition.history.last().map_or(0, |e| e.id);
                for round in 0..20 {
                    let event = match transition.effects.first() {
                        Some(Effect::ScheduleActivity { task_id, .. }) => Event::TaskSucceeded {
                            task_id: *task_id,
                            output: "1".into(),
                        },
                        _ => Event::Tick,
                    };
                    now = transition
                        .snapshot
                        .next_due_ms()
                        .unwrap_or(now + 1)
                        .max(now);
                    transition = step(&definition, transition.snapshot, &event, now, round);
                    for event in &transition.history {
                        assert_eq!(event.id, last_id + 1, "contiguous ids in {mangled}");
                        last_id = event.id;
                    }
                }
            }
        }
    }
}

/// The `assignedVariables` of each Exited event, in order (events without them are skipped).
fn assignments(transition: &Transition) -> Vec<Value> {
    transition
        .history
        .iter()
        .filter_map(|event| event.details["stateExitedEventDetails"].get("assignedVariables"))
        .cloned()
        .collect()
}

#[test]
fn variables_are_assigned_and_read_in_every_kind_of_field() {
    let definition = json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Result": {"n": 2}, "Assign": {"n.$": "$.n", "list": [1, 2], "s": "$.literal"}, "Next": "W"},
        "W": {"Type": "Wait", "SecondsPath": "$n", "Assign": {"waited.$": "$n"}, "Next": "C"},
        "C": {"Type": "Choice", "Choices": [
            {"Variable": "$n", "NumericEquals": 2, "Assign": {"rule": "matched"}, "Next": "P"}],
            "Default": "P"},
        "P": {"Type": "Pass", "Parameters": {"n.$": "$n", "f.$": "States.Format('{}-{}', $rule, $waited)", "l.$": "$list[1]"}, "End": true}
    }});
    let (done, _) = run_timers(&definition, json!({}));
    assert_eq!(done.snapshot.status, Status::Succeeded);
    assert_eq!(
        done.snapshot.output,
        Some(json!({"n": 2, "f": "matched-2", "l": 2}))
    );
}

#[test]
fn assignments_are_reported_as_json_text_and_read_as_of_state_entry() {
    let definition = json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Assign": {"x": 1}, "Next": "B"},
        // Both values read the `x` of entry time, not each other's.
        "B": {"Type": "Pass", "Assign": {"x": {"o": [true]}, "old.$": "$x"}, "End": true}
    }});
    let machine = Machine::new(definition.clone());
    let started = super::start(&machine, info(), json!({}), 0, 1);
    assert_eq!(started.snapshot.status, Status::Succeeded);
    assert_eq!(
        assignments(&started),
        vec![
            json!({"x": "1"}),
            json!({"x": "{\"o\":[true]}", "old": "1"})
        ]
    );
    let exited = &started.history[2].details["stateExitedEventDetails"];
    assert_eq!(
        exited["assignedVariablesDetails"],
        json!({"truncated": false})
    );
}

#[test]
fn inner_scopes_read_outer_variables_and_their_own_disappear() {
    let definition = json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Assign": {"outer": 10}, "Next": "M"},
        "M": {"Type": "Map", "ItemsPath": "$.items", "ItemSelector": {"v.$": "$$.Map.Item.Value", "o.$": "$outer"},
            "ItemProcessor": {"StartAt": "I", "States": {
                "I": {"Type": "Pass", "Assign": {"inner.$": "States.MathAdd($.v, $outer)"}, "Next": "J"},
                "J": {"Type": "Pass", "Parameters": {"sum.$": "$inner"}, "End": true}}},
            "Next": "After"},
        "After": {"Type": "Pass", "Parameters": {"inner.$": "$inner"}, "End": true}
    }});
    let (done, _) = run_timers(&definition, json!({"items": [1, 2]}));
    // The iterations' variable is gone once the Map ends: reading it fails the execution.
    assert_eq!(done.snapshot.status, Status::Failed);
    assert!(
        done.snapshot
            .cause
            .as_deref()
            .unwrap_or_default()
            .contains("inner"),
        "{:?}",
        done.snapshot.cause
    );
    let mut ok = definition.clone();
    ok["States"]["After"] = json!({"Type": "Pass", "End": true});
    let (done, _) = run_timers(&ok, json!({"items": [1, 2]}));
    assert_eq!(
        done.snapshot.output,
        Some(json!([{"sum": 11}, {"sum": 12}]))
    );
}

#[test]
fn a_catcher_assigns_in_the_outer_scope_from_the_error_output() {
    let definition = json!({"StartAt": "P", "States": {
        "P": {"Type": "Parallel", "Branches": [{"StartAt": "F", "States": {
                "F": {"Type": "Fail", "Error": "Boom", "Cause": "bad"}}}],
            "Catch": [{"ErrorEquals": ["States.ALL"], "Assign": {"err.$": "$.Error"}, "ResultPath": null, "Next": "R"}]},
        "R": {"Type": "Pass", "Parameters": {"e.$": "$err"}, "End": true}
    }});
    let (done, _) = run_timers(&definition, json!({}));
    assert_eq!(done.snapshot.output, Some(json!({"e": "Boom"})));
}

#[test]
fn assignments_over_the_limits_fail_the_state() {
    let big = "x".repeat(300 * 1024);
    let definition = json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Assign": {"big.$": "$.big"}, "End": true}}});
    let (done, _) = run_timers(&definition, json!({"big": big}));
    assert_eq!(done.snapshot.status, Status::Failed);
    assert_eq!(
        done.snapshot.error.as_deref(),
        Some("States.DataLimitExceeded")
    );
}

#[test]
fn an_endless_loop_ends_at_the_history_limit() {
    let definition = json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Next": "B"},
        "B": {"Type": "Pass", "Next": "A"}}});
    let (done, types) = run_timers(&definition, json!({}));
    assert_eq!(done.snapshot.status, Status::Failed);
    assert!(
        done.snapshot
            .cause
            .as_deref()
            .unwrap_or_default()
            .contains("25000 history events")
    );
    assert!(types.len() <= 25_002, "{} events", types.len());
}

#[test]
fn an_intrinsic_past_the_payload_limit_fails_the_state_by_name() {
    let definition = json!({"StartAt": "Grow", "States": {
        "Grow": {"Type": "Pass", "Parameters": {"a.$": "States.Array($.s, $.s, $.s)"}, "End": true}}});
    let (done, _) = run_timers(&definition, json!({"s": "x".repeat(100_000)}));
    assert_eq!(done.snapshot.status, Status::Failed);
    assert_eq!(
        done.snapshot.error.as_deref(),
        Some("States.DataLimitExceeded")
    );
    assert_eq!(
        done.snapshot.cause.as_deref(),
        Some(
            "The state/task 'Grow' returned a result with a size exceeding the maximum number of bytes service limit."
        )
    );
}

#[test]
fn fail_paths_take_intrinsic_functions() {
    let definition = json!({"StartAt": "F", "States": {"F": {"Type": "Fail",
        "ErrorPath": "States.Format('E.{}', $.code)",
        "CausePath": "States.JsonToString($.detail)"}}});
    let (done, _) = run_timers(&definition, json!({"code": 42, "detail": {"a": [1]}}));
    assert_eq!(done.snapshot.status, Status::Failed);
    assert_eq!(done.snapshot.error.as_deref(), Some("E.42"));
    assert_eq!(done.snapshot.cause.as_deref(), Some(r#"{"a":[1]}"#));
    // A value that is not a string is given as its JSON text, from a path or a function alike.
    let definition = json!({"StartAt": "F", "States": {"F": {"Type": "Fail",
        "ErrorPath": "$.code", "CausePath": "States.ArrayGetItem($.list, 0)"}}});
    let (done, _) = run_timers(&definition, json!({"code": 42, "list": [{"b": true}]}));
    assert_eq!(done.snapshot.error.as_deref(), Some("42"));
    assert_eq!(done.snapshot.cause.as_deref(), Some(r#"{"b":true}"#));
    // A function that fails fails the state as it would in a template.
    let definition = json!({"StartAt": "F", "States": {"F": {"Type": "Fail",
        "CausePath": "States.MathAdd($.code, 'x')"}}});
    let (done, _) = run_timers(&definition, json!({"code": 42}));
    assert_eq!(done.snapshot.error.as_deref(), Some("States.Runtime"));
    assert_eq!(
        done.snapshot.cause.as_deref(),
        Some(
            "An error occurred while executing the state 'F' (entered at the event id #2). Invalid arguments in States.MathAdd"
        )
    );
}

#[test]
fn map_parameters_select_items_with_an_item_processor_too() {
    let processor = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}});
    for field in ["ItemProcessor", "Iterator"] {
        let definition = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
            "ItemsPath": "$.xs", "Parameters": {"v.$": "$$.Map.Item.Value", "tag.$": "$.tag"},
            field: processor}}});
        let (done, _) = run_timers(&definition, json!({"xs": [1, 2], "tag": "t"}));
        assert_eq!(
            done.snapshot.output,
            Some(json!([{"v": 1, "tag": "t"}, {"v": 2, "tag": "t"}])),
            "{field}"
        );
    }
}

#[test]
fn negative_tolerated_failures_from_paths_fail_the_map() {
    let map = |extra: Value| {
        let mut state = json!({"Type": "Map", "End": true, "ItemsPath": "$.xs",
            "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}});
        if let (Some(state), Value::Object(extra)) = (state.as_object_mut(), extra) {
            state.extend(extra);
        }
        json!({"StartAt": "M", "States": {"M": state}})
    };
    let cases = [
        (
            json!({"ToleratedFailureCountPath": "$.n"}),
            json!(-1),
            "ToleratedFailureCount cannot be negative.",
        ),
        (
            json!({"ToleratedFailurePercentagePath": "$.n"}),
            json!(-0.5),
            "ToleratedFailurePercentage must be between 0 and 100.",
        ),
        (
            json!({"ToleratedFailurePercentagePath": "$.n"}),
            json!(101),
            "ToleratedFailurePercentage must be between 0 and 100.",
        ),
        // Not an integer at all: AWS's recorded wording, unchanged.
        (
            json!({"ToleratedFailureCountPath": "$.n"}),
            json!(-1.5),
            "The ToleratedFailureCountPath field refers to value \"-1.5\" which is not a valid integer: $.n",
        ),
        (
            json!({"ToleratedFailureCountPath": "$.n"}),
            json!("NoNumber"),
            "The ToleratedFailureCountPath field refers to value \"NoNumber\" which is not a valid integer: $.n",
        ),
        // A string holding a negative number is read as that number.
        (
            json!({"ToleratedFailureCountPath": "$.n"}),
            json!("-1"),
            "ToleratedFailureCount cannot be negative.",
        ),
    ];
    for (fields, n, cause) in cases {
        let definition = map(fields);
        let (done, _) = run_timers(&definition, json!({"n": n, "xs": [1]}));
        assert_eq!(done.snapshot.status, Status::Failed, "{definition}");
        assert_eq!(done.snapshot.error.as_deref(), Some("States.Runtime"));
        assert_eq!(
            done.snapshot.cause,
            Some(format!(
                "An error occurred while executing the state 'M' (entered at the event id #2). {cause}"
            )),
            "{n}"
        );
    }
    let (done, _) = run_timers(
        &map(json!({"ToleratedFailureCountPath": "$.n"})),
        json!({"n": 0, "xs": [1]}),
    );
    assert_eq!(done.snapshot.status, Status::Succeeded);
    // AWS reads a number written as a string ("1" is recorded for these fields).
    for fields in [
        json!({"ToleratedFailureCountPath": "$.n"}),
        json!({"ToleratedFailurePercentagePath": "$.n"}),
        json!({"MaxConcurrencyPath": "$.n"}),
    ] {
        let definition = map(fields);
        let (done, _) = run_timers(&definition, json!({"n": "1", "xs": [1, 2]}));
        assert_eq!(done.snapshot.status, Status::Succeeded, "{definition}");
    }
}

#[test]
fn jsonata_states_read_states_and_variables_and_write_output() {
    let definition = json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": {
        "A": {"Type": "Pass", "Assign": {"x": "{% $states.input.n * 2 %}"},
            "Output": {"n": "{% $states.input.n %}", "id": "{% $states.context.Execution.Name %}"},
            "Next": "C"},
        "C": {"Type": "Choice", "Choices": [
            {"Condition": "{% $x > 3 %}", "Assign": {"big": true},
             "Output": "{% $merge([$states.input, {'x': $x}]) %}", "Next": "W"}],
            "Default": "W"},
        "W": {"Type": "Wait", "Seconds": "{% $x - 4 %}", "Next": "F"},
        "F": {"Type": "Fail", "Error": "{% 'E' & $string($x) %}", "Cause": "{% $string($big) %}"}
    }});
    let (done, _) = run_timers(&definition, json!({"n": 2}));
    assert_eq!(done.snapshot.status, Status::Failed);
    assert_eq!(done.snapshot.error.as_deref(), Some("E4"));
    assert_eq!(done.snapshot.cause.as_deref(), Some("true"));
}

#[test]
fn jsonata_randomness_and_time_come_from_the_step() {
    let definition = json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": {
        "A": {"Type": "Pass", "Output": {"r": "{% $random() %}", "s": "{% $random(7) %}",
            "now": "{% $now() %}", "millis": "{% $millis() %}", "u": "{% $uuid() %}",
            "shuffled": "{% $sort($shuffle([1, 2, 3])) %}"}, "End": true}}});
    let machine = Machine::new(definition);
    let first = super::start(&machine, info(), json!({}), 86_400_000, 5);
    let again = super::start(&machine, info(), json!({}), 86_400_000, 5);
    // The same seed and clock give the same values: a replayed step writes what the first wrote.
    assert_eq!(first.snapshot.output, again.snapshot.output);
    let output = first.snapshot.output.unwrap_or_default();
    assert_eq!(output["now"], json!("1970-01-02T00:00:00.000Z"));
    assert_eq!(output["millis"], json!(86_400_000));
    assert_eq!(output["shuffled"], json!([1, 2, 3]));
    let other = super::start(&machine, info(), json!({}), 86_400_000, 6);
    let other = other.snapshot.output.unwrap_or_default();
    assert_ne!(output["r"], other["r"], "another seed, another number");
    assert_eq!(
        output["s"], other["s"],
        "a seeded $random does not depend on the execution"
    );
}

#[test]
fn a_jsonata_evaluation_failure_is_recorded_and_caught() {
    let definition = json!({"QueryLanguage": "JSONata", "StartAt": "M", "States": {
        "M": {"Type": "Map", "Items": "{% $states.input.missing %}",
            "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
            "Catch": [{"ErrorEquals": ["States.QueryEvaluationError"],
                "Output": {"caught": "{% $states.errorOutput.Error %}"}, "Next": "D"}],
            "End": true},
        "D": {"Type": "Succeed"}}});
    let (done, _) = run_timers(&definition, json!({}));
    assert_eq!(
        done.snapshot.output,
        Some(json!({"caught": "States.QueryEvaluationError"}))
    );
}

#[test]
fn states_holds_every_member_however_it_is_read() {
    // `$states.input…` paths bind `input` alone; any other reading sees every member.
    let definition = json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": {
        "A": {"Type": "Pass", "Output": {
            "keys": "{% $keys($states) %}",
            "name": "{% $lookup($states, 'context').State.Name %}",
            "n": "{% $states.input.n %}",
            "state": "{% $states.context.State.Name %}"}, "End": true}}});
    let (done, _) = run_timers(&definition, json!({"n": 1}));
    assert_eq!(
        done.snapshot.output,
        Some(json!({"keys": ["input", "context", "result"], "name": "A", "n": 1, "state": "A"}))
    );
}

#[test]
fn a_redrive_enters_the_failed_state_again_and_keeps_what_ran_before() {
    let definition = json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Assign": {"seen": 1}, "Next": "F"},
        "F": {"Type": "Fail", "Error": "E", "Cause": "c"}}});
    let failed = start(&definition, info(), json!({"in": 1}), T0, 1);
    assert_eq!(failed.snapshot.status, Status::Failed);
    let last = failed.snapshot.last_event_id;
    // Only an ended, unsuccessful execution is redriven; anything else is left alone.
    let succeeded = start(
        &json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}),
        info(),
        json!({}),
        T0,
        1,
    );
    let unchanged = step(
        &definition,
        succeeded.snapshot.clone(),
        &Event::Redrive,
        T0,
        1,
    );
    assert_eq!(unchanged.snapshot, succeeded.snapshot);
    assert!(unchanged.history.is_empty());

    let redriven = step(&definition, failed.snapshot, &Event::Redrive, T0 + 5, 1);
    let types: Vec<&str> = redriven
        .history
        .iter()
        .map(|e| e.event_type.as_str())
        .collect();
    assert_eq!(
        types,
        ["ExecutionRedriven", "FailStateEntered", "ExecutionFailed"]
    );
    assert_eq!(redriven.history[0].id, last + 1);
    assert_eq!(redriven.history[0].previous_event_id, last);
    assert_eq!(
        redriven.history[0].details,
        json!({"executionRedrivenEventDetails": {"redriveCount": 1}})
    );
    assert_eq!(redriven.snapshot.info.redrive_count, 1);
    assert_eq!(
        redriven.snapshot.root.variables.get("seen"),
        Some(&json!(1))
    );
    assert_eq!(redriven.snapshot.status, Status::Failed);
}

/// The activity tasks a transition scheduled, with their inputs.
fn scheduled_tasks(transition: &Transition) -> Vec<(u64, Value)> {
    transition
        .effects
        .iter()
        .filter_map(|e| match e {
            Effect::ScheduleActivity { task_id, input, .. } => {
                Some((*task_id, serde_json::from_str(input).unwrap_or(Value::Null)))
            }
            _ => None,
        })
        .collect()
}

fn succeed(task_id: u64, output: &str) -> Event {
    Event::TaskSucceeded {
        task_id,
        output: output.into(),
    }
}

fn fail(task_id: u64) -> Event {
    Event::TaskFailed {
        task_id,
        error: "E".into(),
        cause: "c".into(),
    }
}

fn event_types(transition: &Transition) -> Vec<&str> {
    transition
        .history
        .iter()
        .map(|e| e.event_type.as_str())
        .collect()
}

#[test]
fn a_redriven_parallel_state_runs_only_the_branches_that_failed() {
    let activity = "arn:aws:states:us-east-1:123456789012:activity:a";
    let definition = json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true,
    "Branches": [
        {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "Result": "first", "End": true}}},
        {"StartAt": "Before", "States": {
            "Before": {"Type": "Pass", "Result": "second", "Next": "Work"},
            "Work": {"Type": "Task", "Resource": activity, "End": true}}}
    ]}}});
    let started = start(&definition, info(), json!({}), T0, 1);
    let [(task, input)] = &scheduled_tasks(&started)[..] else {
        panic!("one task: {:?}", started.effects);
    };
    let (task, input) = (*task, input.clone());
    assert_eq!(input, json!("second"));
    let failed = step(&definition, started.snapshot, &fail(task), T0 + 1, 1);
    assert_eq!(failed.snapshot.status, Status::Failed);

    let redriven = step(&definition, failed.snapshot, &Event::Redrive, T0 + 2, 1);
    // Only the failed branch's failed state runs again, with the input it had.
    assert_eq!(
        event_types(&redriven),
        ["ExecutionRedriven", "TaskStateEntered", "ActivityScheduled"]
    );
    let [(again, input)] = &scheduled_tasks(&redriven)[..] else {
        panic!("one task: {:?}", redriven.effects);
    };
    let (again, input) = (*again, input.clone());
    assert_eq!(input, json!("second"));
    let done = step(
        &definition,
        redriven.snapshot,
        &succeed(again, r#""worked""#),
        T0 + 3,
        1,
    );
    assert_eq!(done.snapshot.status, Status::Succeeded);
    assert_eq!(done.snapshot.output, Some(json!(["first", "worked"])));
}

#[test]
fn a_redriven_map_state_runs_only_the_iterations_that_did_not_succeed() {
    let activity = "arn:aws:states:us-east-1:123456789012:activity:a";
    let definition = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
        "ItemProcessor": {"StartAt": "Work", "States": {
            "Work": {"Type": "Task", "Resource": activity, "End": true}}}}}});
    let started = start(&definition, info(), json!([0, 1, 2, 3]), T0, 1);
    let tasks = scheduled_tasks(&started);
    assert_eq!(tasks.len(), 4);
    let by_item = |item: i64| {
        tasks
            .iter()
            .find(|(_, input)| *input == json!(item))
            .map(|(id, _)| *id)
            .expect("a task per item")
    };
    let mut snapshot = started.snapshot;
    for (event, at) in [
        (succeed(by_item(0), "10"), 1),
        (succeed(by_item(3), "13"), 2),
    ] {
        snapshot = step(&definition, snapshot, &event, T0 + at, 1).snapshot;
    }
    // Item 1 fails the Map; item 2's task is cancelled with it.
    let failed = step(&definition, snapshot, &fail(by_item(1)), T0 + 3, 1);
    assert_eq!(failed.snapshot.status, Status::Failed);
    assert!(failed.effects.contains(&Effect::CancelTask {
        task_id: by_item(2)
    }));

    let redriven = step(&definition, failed.snapshot, &Event::Redrive, T0 + 4, 1);
    let mut inputs: Vec<Value> = scheduled_tasks(&redriven)
        .into_iter()
        .map(|(_, input)| input)
        .collect();
    inputs.sort_by_key(|input| input.as_i64());
    assert_eq!(inputs, [json!(1), json!(2)]);
    assert!(!event_types(&redriven).contains(&"MapIterationStarted"));
    let tasks = scheduled_tasks(&redriven);
    let mut snapshot = redriven.snapshot;
    for (at, (task, input)) in tasks.into_iter().enumerate() {
        let output = format!("{}", input.as_i64().unwrap_or_default() + 10);
        let at = T0 + 5 + i64::try_from(at).unwrap_or_default();
        snapshot = step(&definition, snapshot, &succeed(task, &output), at, 1).snapshot;
    }
    assert_eq!(snapshot.status, Status::Succeeded);
    assert_eq!(snapshot.output, Some(json!([10, 11, 12, 13])));
}

#[test]
fn a_map_stored_without_its_failed_iterations_is_redriven_whole() {
    let activity = "arn:aws:states:us-east-1:123456789012:activity:a";
    let definition = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
        "ItemProcessor": {"StartAt": "Work", "States": {
            "Work": {"Type": "Task", "Resource": activity, "End": true}}}}}});
    let started = start(&definition, info(), json!([0, 1]), T0, 1);
    let tasks = scheduled_tasks(&started);
    let failed = step(&definition, started.snapshot, &fail(tasks[0].0), T0 + 1, 1);
    assert_eq!(failed.snapshot.status, Status::Failed);
    // As a snapshot written before failed iterations were kept would read.
    let mut old = failed.snapshot;
    if let Some(unfinished) = old.root.unfinished.as_deref_mut()
        && let super::snapshot::Phase::Iterations(phase) = unfinished
    {
        phase.failed.clear();
    }
    let redriven = step(&definition, old, &Event::Redrive, T0 + 2, 1);
    let types = event_types(&redriven);
    assert!(types.contains(&"MapStateEntered"), "{types:?}");
    assert_eq!(scheduled_tasks(&redriven).len(), 2, "both items run again");
}
