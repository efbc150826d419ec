//! TestState: one state run once, alone, by the same interpreter that runs executions.
//!
//! The state (given alone, or named by `stateName` inside a whole definition, at any depth) is
//! placed in a machine of its own whose other states are `Succeed` states standing in for every
//! state it can go to. That machine starts with the test's input; a Task's call is answered by
//! the mock. The outcome is read from where the execution stopped: in a stand-in (the state
//! went there: SUCCEEDED, or CAUGHT_ERROR when a catcher sent it), ended in the state itself
//! (an end state, or FAILED), or waiting to retry (RETRIABLE). Nothing is stored: the API node
//! answers from this alone.

use serde_json::{Map, Value, json};

use crate::diagnostic::{Diagnostic, Severity};
use crate::failure::Failure;
use crate::interpreter::probe::{Inspection, Probe, StateMock};
use crate::interpreter::snapshot::Phase;
use crate::interpreter::{self, Effect, Event, ExecutionInfo, Invocation, Status, Transition};
use crate::mock_shapes::{self, FieldValidation};
use crate::model::Machine;
use crate::resource::{Integration, Pattern, Resource};
use crate::validate::{MachineType, ValidateOptions, validate};
use crate::variables::Frame;

/// What the test runs.
#[derive(Debug, Clone)]
pub struct TestRequest {
    /// A single state, or a whole state machine with `state_name` choosing the state.
    pub definition: Value,
    pub state_name: Option<String>,
    pub input: Value,
    pub mock: Option<Mock>,
    /// How a mocked result is checked against the response it stands for.
    pub field_validation: FieldValidation,
    /// Who runs it: `$$.Execution` and `$$.StateMachine` come from here.
    pub info: ExecutionInfo,
    /// Replaces the whole context object (`$$`), when given.
    pub context: Option<Value>,
    /// The variables in scope.
    pub variables: Frame,
    /// Retries already made by the retrier that matches the state's error.
    pub retries_made: Option<u32>,
    /// How many iterations of a mocked Map state failed.
    pub map_iteration_failures: Option<u32>,
    /// The state inside a mocked Map or Parallel state that raised the mock's error.
    pub error_caused_by_state: Option<String>,
    /// The items a Map state's `ItemReader` would have read.
    pub map_items: Option<Value>,
    pub now_ms: i64,
    pub seed: u64,
}

/// A Task's answer in place of its call (or a Map's or Parallel's in place of its work).
#[derive(Debug, Clone, PartialEq)]
pub enum Mock {
    /// The result, and the JSON text it was given as.
    Result {
        value: Value,
        text: String,
    },
    Error {
        error: String,
        cause: String,
    },
}

/// How the state ended, in TestState's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestStatus {
    Succeeded,
    Failed,
    Retriable,
    CaughtError,
}

impl TestStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TestStatus::Succeeded => "SUCCEEDED",
            TestStatus::Failed => "FAILED",
            TestStatus::Retriable => "RETRIABLE",
            TestStatus::CaughtError => "CAUGHT_ERROR",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct TestOutcome {
    pub status: TestStatus,
    pub output: Option<Value>,
    pub next_state: Option<String>,
    pub error: Option<String>,
    pub cause: Option<String>,
    /// What the state's stages produced.
    pub inspection: Inspection,
}

/// Why a test does not run.
#[derive(Debug, Clone, PartialEq)]
pub enum TestRefusal {
    /// `stateName` names no state of the definition (or a whole definition came without one).
    StateNotFound,
    /// The state is not valid: AWS's diagnostics, as CreateStateMachine reports them.
    Invalid(Vec<Diagnostic>),
    /// A state TestState does not run as given (AWS's `InvalidDefinition`, in its words).
    NotTestable(String),
    /// A request AWS refuses (`ValidationException`, in its words).
    Refused(String),
    /// Something this version cannot test yet, in words for the caller.
    Unsupported(String),
}

/// The states a mock stands in for the work of.
const MOCKABLE: [&str; 3] = ["Task", "Map", "Parallel"];

/// The name a state given alone runs under (AWS's `$$.State.Name` for it).
pub const SINGLE_STATE_NAME: &str = "StateName";

/// A test in progress: started, then (for a Task without a mock) waiting for the caller to make
/// the call and [`TestRun::answer`] it, then finished.
pub struct TestRun {
    name: String,
    state: Value,
    machine: Machine,
    probe: Probe,
    transition: Transition,
    now_ms: i64,
    seed: u64,
}

impl TestRun {
    /// Checks the request, then runs the state until it ends or waits for its Task's answer
    /// (the mock's, when there is one, is given at once).
    pub fn start(request: TestRequest) -> Result<TestRun, TestRefusal> {
        let (name, state, language) =
            chosen_state(&request.definition, request.state_name.as_deref())?;
        let machine_json = machine_around(&name, &state, language);
        let text = machine_json.to_string();
        let diagnostics: Vec<Diagnostic> = validate(
            &text,
            &ValidateOptions {
                machine_type: MachineType::Standard,
            },
        )
        .into_iter()
        .filter(|d| d.severity == Severity::Error)
        .collect();
        if !diagnostics.is_empty() {
            return Err(TestRefusal::Invalid(diagnostics));
        }
        let kind = state
            .get("Type")
            .and_then(Value::as_str)
            .unwrap_or_default();
        check_mock(kind, &state, &request)?;
        if kind == "Task" && request.mock.is_none() {
            check_call(&state, &request)?;
        }
        let state_mock = match (&request.mock, kind) {
            (Some(mock), "Map" | "Parallel") => Some(state_mock(&state, mock)),
            _ => None,
        };
        let machine = Machine::new(machine_json);
        let probe = Probe {
            state: name.clone(),
            context: request.context,
            variables: request.variables,
            retries_made: request.retries_made,
            state_mock,
            map_iteration_failures: request.map_iteration_failures,
            map_items: match request.map_items {
                Some(Value::Array(items)) => Some(items),
                _ => None,
            },
            inspection: Default::default(),
        };
        let transition = interpreter::start_probed(
            &machine,
            request.info,
            request.input,
            request.now_ms,
            request.seed,
            &probe,
        );
        let mut run = TestRun {
            name,
            state,
            machine,
            probe,
            transition,
            now_ms: request.now_ms,
            seed: request.seed,
        };
        // A Task waits for its call's answer: the mock gives it (once; a retry is the
        // caller's next test, with `stateConfiguration`).
        if let (Some(mock), Some(task_id)) = (&request.mock, run.waiting_task()) {
            let event = match mock {
                Mock::Result { value, .. } => Event::TaskSucceeded {
                    task_id,
                    output: value.to_string(),
                },
                Mock::Error { error, cause } => Event::TaskFailed {
                    task_id,
                    error: error.clone(),
                    cause: cause.clone(),
                },
            };
            run.answer(&event);
        }
        Ok(run)
    }

    /// The call the state waits for, when no mock answered it: the caller makes it.
    pub fn call_to_make(&self) -> Option<&Invocation> {
        if self.transition.snapshot.status != Status::Running {
            return None;
        }
        self.transition
            .effects
            .iter()
            .find_map(|effect| match effect {
                Effect::Invoke(invocation) => Some(invocation),
                _ => None,
            })
    }

    /// Gives the state its call's answer (the event names the task).
    pub fn answer(&mut self, event: &Event) {
        let snapshot = self.transition.snapshot.clone();
        self.transition = interpreter::step_probed(
            &self.machine,
            snapshot,
            event,
            self.now_ms,
            self.seed,
            &self.probe,
        );
    }

    /// How the state ended.
    pub fn finish(self) -> TestOutcome {
        outcome(
            &self.name,
            &self.state,
            &self.transition,
            self.probe.inspection.into_inner(),
        )
    }

    fn waiting_task(&self) -> Option<u64> {
        if self.transition.snapshot.status != Status::Running {
            return None;
        }
        called_task(&self.transition)
    }
}

/// A Task without a mock makes its call for real: it needs a role (AWS's rule), and only the
/// calls Switchback makes outside an execution (Lambda and HTTP, request-response) can be.
fn check_call(state: &Value, request: &TestRequest) -> Result<(), TestRefusal> {
    if request.info.role_arn.is_empty() {
        return Err(TestRefusal::Refused(
            "RoleArn must be specified when testing a Task state".to_owned(),
        ));
    }
    let resource = state
        .get("Resource")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let callable = matches!(
        Resource::parse(resource),
        Resource::LambdaFunction { .. }
            | Resource::Integration {
                integration: Integration::LambdaInvoke | Integration::HttpInvoke,
                pattern: Pattern::RequestResponse,
                ..
            }
    );
    if callable {
        return Ok(());
    }
    Err(TestRefusal::Unsupported(format!(
        "Switchback runs a Task state without a mock only for Lambda and HTTP Tasks that answer at once; give 'mock' to test '{resource}'"
    )))
}

/// AWS's rules for a mock: which states take one, which need one, and its shape for a Map or
/// Parallel state.
fn check_mock(kind: &str, state: &Value, request: &TestRequest) -> Result<(), TestRefusal> {
    let refused = |message: &str| Err(TestRefusal::Refused(message.to_owned()));
    let Some(mock) = &request.mock else {
        if request.map_iteration_failures.is_some() {
            return refused(
                "TestState does not support MapIterationFailureCount when a mock is not specified.",
            );
        }
        if matches!(kind, "Map" | "Parallel") {
            return Err(TestRefusal::NotTestable(
                "TestState API does not support Map or Parallel states. Supported state types include: [Task, Wait, Pass, Succeed, Fail, Choice]"
                    .to_owned(),
            ));
        }
        return Ok(());
    };
    if !MOCKABLE.contains(&kind) {
        return Err(TestRefusal::Refused(format!(
            "State type '{kind}' is not supported when a mock is specified"
        )));
    }
    if let Some(items) = &request.map_items {
        if kind != "Map" || state.get("ItemReader").is_none() {
            return refused(
                "stateConfiguration.mapItemReaderData is only for a Map state with an ItemReader",
            );
        }
        if !items.is_array() {
            return refused("stateConfiguration.mapItemReaderData must be a JSON array");
        }
    }
    if let Some(cause) = &request.error_caused_by_state {
        let inside = Map::from_iter([("States".to_owned(), json!({ "S": state }))]);
        if !matches!(kind, "Map" | "Parallel") || find_state(&inside, cause).is_none() {
            return Err(TestRefusal::Refused(format!(
                "stateConfiguration.errorCausedByState '{cause}' names no state inside the Map or Parallel state under test"
            )));
        }
    }
    let Mock::Result { value, .. } = mock else {
        return Ok(());
    };
    if kind == "Task" {
        let resource = state
            .get("Resource")
            .and_then(Value::as_str)
            .unwrap_or_default();
        return mock_shapes::check(resource, value, request.field_validation)
            .map_err(TestRefusal::Refused);
    }
    let writes_results = state.get("ResultWriter").is_some();
    match (kind, value) {
        ("Parallel", Value::Array(results)) => {
            let branches = state
                .get("Branches")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            if results.len() != branches {
                return refused(
                    "Mocked result must contain the same number of items as number of Parallel branches.",
                );
            }
        }
        ("Map", Value::Array(results)) => {
            let failures = request.map_iteration_failures.unwrap_or(0) as usize;
            if failures > results.len() {
                return refused(
                    "Map iteration failure count must be less than or equal to the number of Map iterations",
                );
            }
        }
        ("Parallel", _) => return refused("Mocked result must be an array."),
        ("Map", _) if !writes_results => return refused("Mocked result must be an array."),
        _ => {}
    }
    Ok(())
}

/// What a mocked Map or Parallel state answers. AWS passes the mock on as the JSON text it was
/// given (a string) when the state has no stage that reads its result; any stage that does
/// reads the parsed value.
fn state_mock(state: &Value, mock: &Mock) -> StateMock {
    match mock {
        Mock::Error { error, cause } => {
            StateMock::Error(Failure::new(error.clone(), cause.clone()))
        }
        Mock::Result { value, text } => {
            let reads_result = ["ResultSelector", "ResultPath", "OutputPath", "Output"]
                .iter()
                .any(|field| state.get(field).is_some());
            let items = value.as_array().map_or(0, Vec::len);
            let value = if reads_result {
                value.clone()
            } else {
                Value::String(text.clone())
            };
            StateMock::Result { value, items }
        }
    }
}

/// The state to test: its name, its definition and the query language it inherits.
fn chosen_state(
    definition: &Value,
    state_name: Option<&str>,
) -> Result<(String, Value, Option<Value>), TestRefusal> {
    let Some(root) = definition.as_object() else {
        return Err(TestRefusal::Unsupported(
            "The definition must be a JSON object".to_owned(),
        ));
    };
    if !root.contains_key("States") {
        // A single state.
        return Ok((SINGLE_STATE_NAME.to_owned(), definition.clone(), None));
    }
    let name = state_name.ok_or(TestRefusal::StateNotFound)?;
    let language = root.get("QueryLanguage").cloned();
    find_state(root, name)
        .map(|state| (name.to_owned(), state.clone(), language))
        .ok_or(TestRefusal::StateNotFound)
}

/// A state of this scope or of any scope nested in its Parallel and Map states.
fn find_state<'a>(scope: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    let states = scope.get("States")?.as_object()?;
    if let Some(state) = states.get(name) {
        return Some(state);
    }
    states.values().find_map(|state| {
        let nested: Vec<&Value> = ["Branches"]
            .iter()
            .filter_map(|field| state.get(field)?.as_array())
            .flatten()
            .chain(
                ["ItemProcessor", "Iterator"]
                    .iter()
                    .filter_map(|field| state.get(field)),
            )
            .collect();
        nested
            .into_iter()
            .filter_map(Value::as_object)
            .find_map(|inner| find_state(inner, name))
    })
}

/// A machine that starts at the state, with a `Succeed` state for each state it names.
fn machine_around(name: &str, state: &Value, language: Option<Value>) -> Value {
    let mut states = Map::new();
    for target in targets(state) {
        if target != name {
            states.insert(target, json!({ "Type": "Succeed" }));
        }
    }
    states.insert(name.to_owned(), state.clone());
    let mut machine = Map::new();
    if let Some(language) = language {
        machine.insert("QueryLanguage".into(), language);
    }
    machine.insert("StartAt".into(), Value::from(name));
    machine.insert("States".into(), Value::Object(states));
    Value::Object(machine)
}

/// Every state a state can go to: `Next`, `Default`, its Choice rules' and catchers' `Next`.
fn targets(state: &Value) -> Vec<String> {
    let mut found = Vec::new();
    let mut add = |value: Option<&Value>| {
        if let Some(Value::String(target)) = value {
            found.push(target.clone());
        }
    };
    add(state.get("Next"));
    add(state.get("Default"));
    for list in ["Choices", "Catch"] {
        for item in state
            .get(list)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            add(item.get("Next"));
        }
    }
    found
}

/// The task the state called, if it waits for one.
fn called_task(transition: &Transition) -> Option<u64> {
    transition.effects.iter().find_map(|effect| match effect {
        Effect::ScheduleActivity { task_id, .. } => Some(*task_id),
        Effect::Invoke(invocation) => Some(invocation.task_id),
        Effect::CancelTask { .. }
        | Effect::StartMapRun(_)
        | Effect::AbortMapRun { .. }
        | Effect::RedriveMapRun { .. } => None,
    })
}

fn outcome(
    name: &str,
    state: &Value,
    transition: &Transition,
    inspection: Inspection,
) -> TestOutcome {
    let snapshot = &transition.snapshot;
    let thread = &snapshot.root;
    let mut outcome = TestOutcome {
        status: TestStatus::Succeeded,
        output: None,
        next_state: None,
        error: None,
        cause: None,
        inspection: Inspection::default(),
    };
    // The error a retrier or catcher took, if any.
    let handled = inspection.failure.clone();
    outcome.inspection = inspection;
    if !thread.variables.is_empty() {
        outcome.inspection.variables = Some(Value::Object(thread.variables.clone()));
    }
    if thread.state != name {
        // It went on: the stand-in received the state's output as its input.
        outcome.next_state = Some(thread.state.clone());
        outcome.output = Some(thread.input.clone());
        if let Some(failure) = handled.filter(|_| outcome.inspection.catch_index.is_some()) {
            outcome.status = TestStatus::CaughtError;
            outcome.error = Some(failure.error);
            outcome.cause = Some(failure.cause);
        }
        return outcome;
    }
    match &thread.phase {
        Phase::Succeeded { output } => outcome.output = Some(output.clone()),
        Phase::Failed { error, cause } => {
            outcome.status = TestStatus::Failed;
            outcome.error = Some(error.clone());
            outcome.cause = Some(cause.clone());
        }
        Phase::Backoff { .. } => {
            outcome.status = TestStatus::Retriable;
            if let Some(failure) = handled {
                outcome.error = Some(failure.error);
                outcome.cause = Some(failure.cause);
            }
        }
        // A Wait state does not wait in a test: it goes on at once.
        Phase::Waiting { output, .. } => {
            outcome.output = Some(output.clone());
            outcome.next_state = state.get("Next").and_then(Value::as_str).map(str::to_owned);
        }
        _ => {
            outcome.status = TestStatus::Failed;
            outcome.error = Some(crate::failure::errors::RUNTIME.to_owned());
            outcome.cause = Some(format!("The state '{name}' did not finish in the test"));
        }
    }
    if snapshot.status == Status::Failed && outcome.error.is_none() {
        outcome.status = TestStatus::Failed;
        outcome.error = snapshot.error.clone();
        outcome.cause = snapshot.cause.clone();
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(definition: Value, state_name: Option<&str>, input: Value) -> TestOutcome {
        TestRun::start(TestRequest {
            definition,
            state_name: state_name.map(str::to_owned),
            input,
            mock: None,
            field_validation: FieldValidation::Strict,
            info: ExecutionInfo::default(),
            context: None,
            variables: Frame::new(),
            retries_made: None,
            map_iteration_failures: None,
            error_caused_by_state: None,
            map_items: None,
            now_ms: 1_700_000_000_000,
            seed: 1,
        })
        .expect("the test runs")
        .finish()
    }

    #[test]
    fn a_state_inside_a_map_is_found_by_name() {
        let machine = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
            "ItemProcessor": {"StartAt": "Inner", "States": {
                "Inner": {"Type": "Pass", "Result": "inner", "End": true}}}}}});
        let outcome = run(machine, Some("Inner"), json!({}));
        assert_eq!(outcome.status, TestStatus::Succeeded);
        assert_eq!(outcome.output, Some(json!("inner")));
    }

    #[test]
    fn a_wait_state_goes_on_at_once() {
        let wait = json!({"Type": "Wait", "Seconds": 3600, "Next": "Later"});
        let outcome = run(wait, None, json!({"a": 1}));
        assert_eq!(outcome.status, TestStatus::Succeeded);
        assert_eq!(outcome.next_state.as_deref(), Some("Later"));
        assert_eq!(outcome.output, Some(json!({"a": 1})));
    }

    #[test]
    fn an_invalid_state_is_refused_with_its_diagnostics() {
        let refused = TestRun::start(TestRequest {
            definition: json!({"Type": "Nope"}),
            state_name: None,
            input: json!({}),
            mock: None,
            field_validation: FieldValidation::Strict,
            info: ExecutionInfo::default(),
            context: None,
            variables: Frame::new(),
            retries_made: None,
            map_iteration_failures: None,
            error_caused_by_state: None,
            map_items: None,
            now_ms: 0,
            seed: 1,
        });
        assert!(matches!(refused.err(), Some(TestRefusal::Invalid(d)) if !d.is_empty()));
    }
}
