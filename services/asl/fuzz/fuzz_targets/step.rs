//! Any definition text: building the machine, starting an execution and stepping it (timers,
//! task results, a stop) never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::json;
use switchback_asl::interpreter::{self, Event, ExecutionInfo, Machine, Status};

const T0: i64 = 1_700_000_000_000;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let machine = Machine::parse(text);
    let info = ExecutionInfo {
        execution_arn: "arn:aws:states:us-east-1:123456789012:execution:m:e".into(),
        name: "e".into(),
        role_arn: "arn:aws:iam::123456789012:role/r".into(),
        state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:m".into(),
        state_machine_name: "m".into(),
        start_time_ms: T0,
        token_secret: String::new(),
        ..Default::default()
    };
    let input = json!({ "a": 1, "items": [1, 2, 3], "s": "x", "t": "2024-01-01T00:00:00Z" });
    let mut transition = interpreter::start(&machine, info, input, T0, 7);
    let mut now = T0;
    for round in 0..8u64 {
        if transition.snapshot.status != Status::Running {
            break;
        }
        // Answer the first open task in turn with a start, a success and a failure; otherwise
        // let time pass to the next timer.
        let task = transition.effects.iter().find_map(|e| match e {
            interpreter::Effect::ScheduleActivity { task_id, .. } => Some(*task_id),
            _ => None,
        });
        let event = match (task, round % 3) {
            (Some(task_id), 0) => Event::TaskStarted {
                task_id,
                worker_name: "w".into(),
            },
            (Some(task_id), 1) => Event::TaskSucceeded {
                task_id,
                output: r#"{"r":1}"#.into(),
            },
            (Some(task_id), _) => Event::TaskFailed {
                task_id,
                error: "E".into(),
                cause: "c".into(),
            },
            (None, _) => Event::Tick,
        };
        now = transition
            .snapshot
            .next_due_ms()
            .map_or(now + 1, |due| due.max(now));
        transition = interpreter::step(&machine, transition.snapshot, &event, now, round);
    }
    let _ = interpreter::step(
        &machine,
        transition.snapshot,
        &Event::Stop {
            error: None,
            cause: None,
        },
        now,
        99,
    );
});
