//! Generated looping definitions over generated inputs, stepped under a small stack: no step
//! panics, overflows the stack, writes more than its budget, or keeps a snapshot past a fixed
//! size, and every execution ends by AWS's history limit at the latest.
//!
//! The generator favours what grew without bound before: Pass states that nest or double their
//! input, intrinsic functions that multiply their arguments, inline Maps whose selector copies
//! the whole input, Choice loops that never end, and large strings.

use serde_json::{Value, json};
use switchback_asl::interpreter::{self, Event, ExecutionInfo, Machine, Status};
use switchback_asl::limits;

/// Deterministic generator (xorshift64*): each case is reproducible from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap_or(0)
    }

    fn pick<'a>(&mut self, options: &[&'a str]) -> &'a str {
        options[self.below(options.len())]
    }
}

/// Expressions that succeed on every generated input (an object with `a`, `s` and `items`).
const EXPRESSIONS: &[&str] = &[
    "$",
    "$.a",
    "$.s",
    "$.items",
    "$$.Execution.Input",
    "States.Array($, $)",
    "States.Array($.s, $.s, $.s, $.s)",
    "States.Format('{}{}{}{}', $.s, $.s, $.s, $.s)",
    "States.JsonMerge($, $, false)",
    "States.StringToJson(States.JsonToString($.a))",
    "States.ArrayRange(0, 999, 1)",
    "States.ArrayUnique($.items)",
    "States.ArrayLength($.items)",
];

fn template(rng: &mut Rng, depth: usize) -> Value {
    let mut fields = serde_json::Map::new();
    for i in 0..1 + rng.below(4) {
        if depth < 3 && rng.below(5) == 0 {
            fields.insert(format!("n{i}"), template(rng, depth + 1));
        } else {
            fields.insert(format!("k{i}.$"), Value::from(rng.pick(EXPRESSIONS)));
        }
    }
    Value::Object(fields)
}

/// A state of a loop body: it always goes on to `next`, and keeps `s` and `items`.
fn state(rng: &mut Rng, next: &str) -> Value {
    let with = |extra: Value| {
        let mut fields = json!({"s.$": "$.s", "items.$": "$.items"});
        if let (Some(fields), Value::Object(extra)) = (fields.as_object_mut(), extra) {
            fields.extend(extra);
        }
        fields
    };
    match rng.below(7) {
        0 | 1 => json!({"Type": "Pass", "Next": next}),
        // Nests its input one level deeper at every turn.
        2 => json!({"Type": "Pass", "Parameters": with(json!({"a.$": "$"})), "Next": next}),
        // Doubles its input at every turn.
        3 => {
            json!({"Type": "Pass", "Parameters": with(json!({"a.$": "$", "b.$": "$"})), "Next": next})
        }
        4 => {
            json!({"Type": "Pass", "ResultPath": "$.r", "Parameters": template(rng, 0), "Next": next})
        }
        5 => json!({
            "Type": "Map", "ItemsPath": "$.items", "Next": next, "ResultPath": "$.mapped",
            "ItemSelector": template(rng, 0),
            "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": true}}},
            "Catch": [{"ErrorEquals": ["States.ALL", "States.DataLimitExceeded"],
                       "ResultPath": "$.err", "Next": next}]
        }),
        _ => json!({
            "Type": "Parallel", "Next": next, "ResultPath": "$.both",
            "Branches": [
                {"StartAt": "B", "States": {"B": {"Type": "Pass", "Parameters": template(rng, 0), "End": true}}},
                {"StartAt": "C", "States": {"C": {"Type": "Pass", "End": true}}}
            ],
            "Catch": [{"ErrorEquals": ["States.ALL", "States.DataLimitExceeded"],
                       "ResultPath": "$.err", "Next": next}]
        }),
    }
}

/// States S0..Sn-1 in a chain, then a Choice that loops back while `$.stop` is absent (it
/// never appears): only limits end these executions.
fn definition(rng: &mut Rng) -> Value {
    let n = 1 + rng.below(4);
    let mut states = serde_json::Map::new();
    for i in 0..n {
        let next = if i + 1 == n {
            "Loop".to_owned()
        } else {
            format!("S{}", i + 1)
        };
        states.insert(format!("S{i}"), state(rng, &next));
    }
    states.insert(
        "Loop".into(),
        json!({"Type": "Choice",
               "Choices": [{"Variable": "$.stop", "IsPresent": true, "Next": "End"}],
               "Default": "S0"}),
    );
    states.insert("End".into(), json!({"Type": "Succeed"}));
    json!({"StartAt": "S0", "States": states})
}

fn input(rng: &mut Rng) -> Value {
    let mut nested = json!(1);
    for _ in 0..rng.below(60) {
        nested = json!({ "a": nested });
    }
    let longest = if rng.below(2) == 0 { 100 } else { 20_000 };
    let s = "xy".repeat(rng.below(longest));
    let items: Vec<Value> = (0..rng.below(300)).map(|i| Value::from(i % 7)).collect();
    json!({ "a": nested, "s": s, "items": items })
}

// The promises, as numbers of their own (not the crate's constants, so that a build that
// loosened those fails here):
/// Events one step writes: 1,000, plus the action under way when the budget ran out (a Map
/// gathering up to 40 iterations) and the closing event.
const MAX_STEP_EVENTS: usize = 1_200;
/// Bytes of state data one step's events carry: 1 MiB, plus the events of the action under way
/// when the budget ran out (a few events of at most two 256 KiB payloads each).
const MAX_STEP_BYTES: usize = 1024 * 1024 + 8 * 256 * 1024;
/// Nesting of the snapshot: values nest at most 100 deep, and a Map's iteration a few levels
/// more inside the snapshot.
const MAX_SNAPSHOT_DEPTH: usize = 140;
/// A snapshot holds the execution's input, one state input per running thread (at most 40
/// Map iterations and their parent here) and the gathered results, each within 256 KiB.
const MAX_SNAPSHOT_BYTES: usize = 48 * 1024 * 1024;

fn run_case(seed: u64) {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let definition = definition(&mut rng);
    let input = input(&mut rng);
    run(seed, definition, input);
}

/// The shapes that once overflowed the stack or exhausted memory, with the inputs that did it.
fn known_cases() -> Vec<(Value, Value)> {
    let looping = |body: Value| {
        json!({"StartAt": "S0", "States": {
            "S0": body,
            "Loop": {"Type": "Choice",
                     "Choices": [{"Variable": "$.stop", "IsPresent": true, "Next": "End"}],
                     "Default": "S0"},
            "End": {"Type": "Succeed"}}})
    };
    let big = json!({"s": "b".repeat(200 * 1024), "items": [1, 2, 3]});
    vec![
        (
            looping(json!({"Type": "Pass", "Parameters": {"a.$": "$"}, "Next": "Loop"})),
            json!({}),
        ),
        (
            looping(
                json!({"Type": "Pass", "Parameters": {"a.$": "$", "b.$": "$"}, "Next": "Loop"}),
            ),
            json!({"s": "x"}),
        ),
        (
            looping(json!({"Type": "Pass", "Next": "Loop"})),
            big.clone(),
        ),
        (
            looping(
                json!({"Type": "Map", "Next": "Loop", "ItemsPath": "$.items",
                "ItemSelector": {"all.$": "$"}, "ResultPath": "$.r",
                "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": true}}}}),
            ),
            json!({"s": "b".repeat(100 * 1024), "items": vec![0; 1000]}),
        ),
    ]
}

fn run(seed: u64, definition: Value, input: Value) {
    let machine = Machine::new(definition.clone());
    let info = info();
    let mut now = 1_000;
    let mut transition = interpreter::start(&machine, info, input, now, seed);
    for round in 0..40u64 {
        let events = transition.history.len();
        assert!(
            events <= MAX_STEP_EVENTS,
            "seed {seed}: a step wrote {events} events\n{definition}"
        );
        let bytes: usize = transition
            .history
            .iter()
            .map(|e| limits::json_size(&e.details))
            .sum();
        assert!(
            bytes <= MAX_STEP_BYTES,
            "seed {seed}: a step wrote {bytes} bytes of history\n{definition}"
        );
        let snapshot = serde_json::to_string(&transition.snapshot).expect("snapshot");
        assert!(
            snapshot.len() <= MAX_SNAPSHOT_BYTES,
            "seed {seed}: a snapshot of {} bytes\n{definition}",
            snapshot.len()
        );
        let depth = nesting(&snapshot);
        assert!(
            depth <= MAX_SNAPSHOT_DEPTH,
            "seed {seed}: a snapshot nested {depth} deep\n{definition}"
        );
        assert!(
            transition.snapshot.last_event_id <= 25_000,
            "seed {seed}: {} events\n{definition}",
            transition.snapshot.last_event_id
        );
        if transition.snapshot.status != Status::Running {
            return;
        }
        let due = transition
            .snapshot
            .next_due_ms()
            .unwrap_or_else(|| panic!("seed {seed}: a running execution waits on nothing"));
        now = now.max(due);
        transition = interpreter::step(&machine, transition.snapshot, &Event::Tick, now, round);
    }
}

fn info() -> ExecutionInfo {
    ExecutionInfo {
        execution_arn: "arn:aws:states:us-east-1:123456789012:execution:m:e".into(),
        name: "e".into(),
        role_arn: "arn:aws:iam::123456789012:role/r".into(),
        state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:m".into(),
        state_machine_name: "m".into(),
        start_time_ms: 0,
        token_secret: "secret".into(),
        ..Default::default()
    }
}

/// The deepest nesting of arrays and objects in JSON text, read without recursion.
fn nesting(text: &str) -> usize {
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for c in text.chars() {
        match (in_string, escaped, c) {
            (true, true, _) => escaped = false,
            (true, false, '\\') => escaped = true,
            (true, false, '"') => in_string = false,
            (true, false, _) => {}
            (false, _, '"') => in_string = true,
            (false, _, '[' | '{') => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            (false, _, ']' | '}') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

#[test]
fn generated_loops_stay_within_their_budgets() {
    let cases: u64 = std::env::var("SWITCHBACK_PROPERTY_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(24);
    // A small stack: any recursion over user data that is not bounded overflows it.
    let worker = std::thread::Builder::new()
        .stack_size(1024 * 1024)
        .spawn(move || {
            for (i, (definition, input)) in known_cases().into_iter().enumerate() {
                run(u64::MAX - i as u64, definition, input);
            }
            for seed in 1..=cases {
                run_case(seed);
            }
        })
        .expect("spawn");
    worker.join().expect("no case panicked");
}

#[test]
fn one_budget_holds_for_every_call_of_a_step() {
    // A loop of a Pass and a Choice over a small input: only the budget stops a step.
    let (definition, _) = known_cases().swap_remove(2);
    let input = json!({});
    let machine = Machine::new(definition);
    let info = info();
    // As a scheduler steps one execution of a batch of one: its start, then several events.
    let mut budget = interpreter::StepBudget::shared_by(1);
    let mut transition = interpreter::start_within(&machine, info, input, 1_000, 1, &mut budget);
    let mut events = transition.history.len();
    for _ in 0..5 {
        transition = interpreter::step_within(
            &machine,
            transition.snapshot,
            &Event::Tick,
            1_000,
            1,
            &mut budget,
        );
        events += transition.history.len();
    }
    assert!(events <= MAX_STEP_EVENTS, "{events} events in one step");
    assert_eq!(transition.snapshot.status, Status::Running);
    // A batch of 64 shares it: each execution gets a sixteenth at least.
    let mut shared = interpreter::StepBudget::shared_by(64);
    let small = interpreter::step_within(
        &machine,
        transition.snapshot,
        &Event::Tick,
        2_000,
        2,
        &mut shared,
    );
    assert!(!small.history.is_empty() && small.history.len() <= MAX_STEP_EVENTS / 16 + 8);
}
