//! The machinery every state shares: emitting events, the context object, moving to the next
//! state, Retry and Catch, and the execution's own start and end.

use std::sync::Arc;

use serde_json::{Value, json};

use super::history::{self, HistoryEvent};
use super::probe::{Inspection, Probe};
use super::snapshot::{ExecutionInfo, MapRunPhase, Phase, Snapshot, Status, Thread};
use super::{Effect, Event, Transition, clock};
use crate::dataflow::{self, Pipeline, StateData};
use crate::entropy::Entropy;
use crate::failure::{Failure, errors};
use crate::limits::{self, Budget, MAX_HISTORY_EVENTS as HISTORY_LIMIT};
use crate::model::{IndexedState, Machine};
use crate::retry;
use crate::variables::{self, Env, Frame, Variables};

pub(super) struct Runner<'a> {
    pub machine: &'a Machine,
    pub info: &'a ExecutionInfo,
    pub execution_input: &'a Value,
    pub now: i64,
    pub entropy: Entropy,
    pub last_event_id: u64,
    pub next_task_id: u64,
    pub calls: std::collections::BTreeMap<String, u32>,
    pub history: Vec<HistoryEvent>,
    pub effects: Vec<Effect>,
    /// What this step may still write before it yields (see `limits::STEP_MAX_*`).
    pub budget: StepBudget,
    /// The history reached AWS's limit: the next event would pass it. The execution fails with
    /// the one event kept for that.
    pub history_full: bool,
    /// The step stopped for its budget with work left: the execution is due again at once.
    pub yielded: bool,
    /// The execution's closing event is being written: it may take the last id.
    closing: bool,
    /// The variables of the threads around the one being advanced, outermost first: a thread
    /// pushes its own while its branches or iterations run (see `crate::variables`).
    pub outer: Vec<Arc<Frame>>,
    /// TestState's view into the step; `None` for executions.
    pub probe: Option<&'a Probe>,
}

/// What one step of an execution may still write (see `limits::STEP_MAX_*`). A scheduler
/// makes one per execution per batch and passes it to every call of the step function it makes
/// for that execution (its signals, then time), so the budget holds for the whole step; the
/// executions of a batch of `n` each get `1/n` of it, so that a batch of long runs takes about
/// as long as one and the short executions in it are not held up.
///
/// It also bounds what the step may schedule: the activities the scheduler found not to exist
/// when it tried the step before (see [`StepBudget::without_activities`]).
#[derive(Debug, Clone)]
pub struct StepBudget {
    events: usize,
    bytes: Budget,
    missing_activities: std::collections::BTreeSet<String>,
}

impl StepBudget {
    /// One execution's part of a step shared by `executions`: `1/n` of the whole, but never
    /// less than `1/16` of it, so that a short run of states (a chain of Pass states) still
    /// ends in one step in a full batch.
    pub fn shared_by(executions: usize) -> Self {
        let part = |whole: usize| (whole / executions.max(1)).max(whole / 16);
        Self {
            events: part(limits::STEP_MAX_EVENTS),
            bytes: Budget::new(part(limits::STEP_MAX_HISTORY_BYTES)),
            missing_activities: Default::default(),
        }
    }

    /// The activities that do not exist: a Task state for one fails with `States.Runtime`
    /// ("The activity … does not exist.") instead of scheduling a task no worker could poll,
    /// as AWS does. The step function cannot look them up; the scheduler steps again with
    /// those it found missing.
    pub fn without_activities(mut self, missing: impl IntoIterator<Item = String>) -> Self {
        self.missing_activities.extend(missing);
        self
    }

    pub(super) fn activity_missing(&self, arn: &str) -> bool {
        self.missing_activities.contains(arn)
    }
}

impl Default for StepBudget {
    fn default() -> Self {
        Self::shared_by(1)
    }
}

/// Makes a thread of an execution that ended unsuccessfully run again after event `after`: a
/// Parallel or Map state resumes its branches or iterations (those that failed, were stopped
/// or were never started), redriving each; any other state is entered again with the input it
/// had. Retries count from zero; what succeeded stays as it is.
pub(super) fn redrive_thread(thread: &mut Thread, after: u64, runs: &mut Vec<MapRunPhase>) {
    if let Some(children) = thread.unfinished.take() {
        thread.phase = *children;
    }
    // A Map stored before failed iterations were kept has only their error outputs: it runs
    // again whole.
    if let Phase::Iterations(phase) = &thread.phase
        && phase.failures > phase.failed.len()
    {
        thread.phase = Phase::Failed {
            error: String::new(),
            cause: String::new(),
        };
    }
    thread.attempts.clear();
    match &mut thread.phase {
        Phase::Enter | Phase::Succeeded { .. } => {}
        Phase::Branches(phase) => {
            for branch in &mut phase.branches {
                redrive_thread(branch, after, runs);
            }
        }
        Phase::Iterations(phase) => {
            // The failed iterations run again: their error outputs are no longer results.
            for (index, child) in phase.failed.drain(..) {
                if let Some(result) = phase.results.get_mut(index) {
                    *result = None;
                }
                phase.running.push((index, child));
            }
            phase.failures = 0;
            phase.result_bytes = 1 + phase
                .results
                .iter()
                .flatten()
                .map(|result| limits::json_size(result) + 1)
                .sum::<usize>();
            for (_, child) in &mut phase.running {
                redrive_thread(child, after, runs);
            }
        }
        // A Distributed Map's run goes on where it stopped (the engine redrives it).
        Phase::MapRun(run) => {
            run.redrive_count += 1;
            runs.push(run.clone());
        }
        Phase::Waiting { .. } | Phase::Backoff { .. } | Phase::Task(_) | Phase::Failed { .. } => {
            thread.phase = Phase::Enter;
            thread.last_event = after;
        }
    }
}

/// When an execution that starts (or is redriven) at `now` times out: after its definition's
/// `TimeoutSeconds`, and at the latest after Express's limit for an Express execution.
fn execution_deadline(machine: &Machine, info: &ExecutionInfo, now: i64) -> Option<i64> {
    let defined = machine.model().ok().and_then(|model| model.timeout_seconds);
    let express = crate::arn::names_express_execution(&info.execution_arn)
        .then_some(limits::EXPRESS_MAX_SECONDS);
    let seconds = [defined, express].into_iter().flatten().min()?;
    // Saturating: a huge timeout means none in practice, and must not overflow.
    let seconds = i64::try_from(seconds).unwrap_or(i64::MAX);
    Some(now.saturating_add(seconds.saturating_mul(1000)))
}

pub(super) fn start(
    machine: &Machine,
    info: ExecutionInfo,
    input: Value,
    now: i64,
    seed: u64,
    budget: &mut StepBudget,
    probe: Option<&Probe>,
) -> Transition {
    // A machine whose definition did not parse has no scopes: the first step fails it.
    let start_at = machine
        .scope("")
        .map(|scope| scope.start_at.clone())
        .unwrap_or_default();
    let deadline_ms = execution_deadline(machine, &info, now);
    let snapshot = Snapshot {
        status: Status::Running,
        root: Thread::new(String::new(), start_at, input.clone(), 0),
        input: input.clone(),
        info,
        last_event_id: 1,
        deadline_ms,
        next_task_id: 1,
        calls: Default::default(),
        resume_at_ms: None,
        output: None,
        error: None,
        cause: None,
    };
    let mut details = json!({
        "input": history::text(&input),
        "inputDetails": { "truncated": false },
        "roleArn": snapshot.info.role_arn,
    });
    if let Some(version) = &snapshot.info.state_machine_version_arn {
        details["stateMachineVersionArn"] = json!(version);
    }
    if let Some(alias) = &snapshot.info.state_machine_alias_arn {
        details["stateMachineAliasArn"] = json!(alias);
    }
    let started = HistoryEvent {
        id: 1,
        previous_event_id: 0,
        timestamp_ms: now,
        event_type: "ExecutionStarted".into(),
        details: json!({ "executionStartedEventDetails": details }),
    };
    // ExecutionStarted is event 1; AWS chains the first state's events from 0, not from it.
    let mut snapshot = snapshot;
    if let Some(probe) = probe {
        snapshot.root.variables = probe.variables.clone();
    }
    let mut transition = step(machine, snapshot, &Event::Tick, now, seed, budget, probe);
    transition.history.insert(0, started);
    transition
}

pub(super) fn step(
    machine: &Machine,
    mut snapshot: Snapshot,
    event: &Event,
    now: i64,
    seed: u64,
    budget: &mut StepBudget,
    probe: Option<&Probe>,
) -> Transition {
    if *event == Event::Redrive {
        return redrive(machine, snapshot, now, seed, budget);
    }
    if snapshot.status != Status::Running {
        return Transition {
            snapshot,
            history: Vec::new(),
            effects: Vec::new(),
        };
    }
    let mut root = std::mem::replace(
        &mut snapshot.root,
        Thread::new(String::new(), String::new(), Value::Null, 0),
    );
    let mut runner = Runner {
        machine,
        info: &snapshot.info,
        execution_input: &snapshot.input,
        now,
        entropy: Entropy::new(seed),
        last_event_id: snapshot.last_event_id,
        next_task_id: snapshot.next_task_id,
        calls: std::mem::take(&mut snapshot.calls),
        history: Vec::new(),
        effects: Vec::new(),
        budget: std::mem::take(budget),
        history_full: false,
        yielded: false,
        closing: false,
        outer: Vec::new(),
        probe,
    };
    snapshot.resume_at_ms = None;

    let mut ending: Option<(Status, Value)> = None;
    match event {
        Event::Stop { error, cause } => {
            runner.cancel_tasks(&root);
            let details = history::failed(
                "executionAbortedEventDetails",
                error.as_deref().unwrap_or_default(),
                cause.as_deref().unwrap_or_default(),
            );
            // AWS chains ExecutionAborted and ExecutionTimedOut to no event (previousEventId 0).
            let mut last = 0;
            runner.closing = true;
            runner.emit(&mut last, "ExecutionAborted", details);
            ending = Some((Status::Aborted, Value::Null));
        }
        Event::Tick => {}
        task_event => {
            runner.deliver(&mut root, task_event);
        }
    }

    if ending.is_none() && snapshot.deadline_ms.is_some_and(|d| d <= now) {
        runner.cancel_tasks(&root);
        let mut last = 0;
        runner.closing = true;
        runner.emit(
            &mut last,
            "ExecutionTimedOut",
            history::failed("executionTimedOutEventDetails", errors::TIMEOUT, ""),
        );
        ending = Some((Status::TimedOut, Value::Null));
    }

    if ending.is_none() {
        runner.advance(&mut root);
        if runner.history_full {
            // Whatever ran when the history filled up stops here: the execution fails.
            runner.cancel_tasks(&root);
            root.phase = Phase::Failed {
                error: errors::RUNTIME.to_owned(),
                cause: format!("The execution reached the limit of {HISTORY_LIMIT} history events"),
            };
        }
        runner.closing = true;
        match &root.phase {
            Phase::Succeeded { output } => {
                let mut last = root.last_event;
                runner.emit(
                    &mut last,
                    "ExecutionSucceeded",
                    json!({ "executionSucceededEventDetails": {
                        "output": history::text(output),
                        "outputDetails": { "truncated": false },
                    }}),
                );
                ending = Some((Status::Succeeded, output.clone()));
            }
            Phase::Failed { error, cause } => {
                let mut last = root.last_event;
                runner.emit(
                    &mut last,
                    "ExecutionFailed",
                    history::failed("executionFailedEventDetails", error, cause),
                );
                ending = Some((Status::Failed, Value::Null));
            }
            _ => {}
        }
    }

    let Runner {
        last_event_id,
        next_task_id,
        calls,
        history,
        effects,
        yielded,
        budget: left,
        ..
    } = runner;
    *budget = left;
    if yielded && ending.is_none() {
        snapshot.resume_at_ms = Some(now);
    }
    snapshot.last_event_id = last_event_id;
    snapshot.next_task_id = next_task_id;
    snapshot.calls = calls;
    if let Some((status, output)) = ending {
        snapshot.status = status;
        match &root.phase {
            Phase::Failed { error, cause } if status == Status::Failed => {
                snapshot.error = Some(error.clone());
                snapshot.cause = Some(cause.clone());
            }
            _ => {}
        }
        if status == Status::Succeeded {
            snapshot.output = Some(output);
        }
        if let Event::Stop { error, cause } = event {
            snapshot.error = error.clone();
            snapshot.cause = cause.clone();
        }
        if status == Status::TimedOut {
            snapshot.error = Some(errors::TIMEOUT.to_owned());
        }
    }
    snapshot.root = root;
    Transition {
        snapshot,
        history,
        effects,
    }
}

/// Redrives an execution that failed, timed out or was aborted (anything else is left as it
/// is): `ExecutionRedriven`, then the state where it stopped is entered again with the input
/// it had, its retries counted from zero, the variables assigned before it kept, and the
/// execution's timeout counted from now. In a Parallel or Map state, only the branches and
/// iterations that did not succeed run again, each from where it stopped.
fn redrive(
    machine: &Machine,
    mut snapshot: Snapshot,
    now: i64,
    seed: u64,
    budget: &mut StepBudget,
) -> Transition {
    if !matches!(
        snapshot.status,
        Status::Failed | Status::TimedOut | Status::Aborted
    ) {
        return Transition {
            snapshot,
            history: Vec::new(),
            effects: Vec::new(),
        };
    }
    snapshot.info.redrive_count += 1;
    snapshot.status = Status::Running;
    snapshot.output = None;
    snapshot.error = None;
    snapshot.cause = None;
    snapshot.resume_at_ms = None;
    snapshot.deadline_ms = execution_deadline(machine, &snapshot.info, now);
    let id = snapshot.last_event_id + 1;
    let redriven = HistoryEvent {
        id,
        previous_event_id: snapshot.last_event_id,
        timestamp_ms: now,
        event_type: "ExecutionRedriven".into(),
        details: json!({ "executionRedrivenEventDetails": {
            "redriveCount": snapshot.info.redrive_count,
        }}),
    };
    snapshot.last_event_id = id;
    let mut runs = Vec::new();
    redrive_thread(&mut snapshot.root, id, &mut runs);
    // Each Distributed Map run that goes on says so, after ExecutionRedriven.
    let mut events = vec![redriven];
    for run in &runs {
        let run_event = snapshot.last_event_id + 1;
        events.push(HistoryEvent {
            id: run_event,
            previous_event_id: id,
            timestamp_ms: now,
            event_type: "MapRunRedriven".into(),
            details: json!({ "mapRunRedrivenEventDetails": {
                "mapRunArn": run.arn,
                "redriveCount": run.redrive_count,
            }}),
        });
        snapshot.last_event_id = run_event;
        snapshot.root.chain_map_run(run.task_id, run_event);
    }
    let mut transition = step(machine, snapshot, &Event::Tick, now, seed, budget, None);
    transition.history.splice(0..0, events);
    transition
        .effects
        .extend(runs.iter().map(|run| Effect::RedriveMapRun {
            task_id: run.task_id,
        }));
    transition
}

impl<'a> Runner<'a> {
    /// Appends an event to the history, chained to the thread's previous event.
    pub fn emit(&mut self, thread_last: &mut u64, event_type: &str, details: Value) -> u64 {
        self.emit_at(self.now, thread_last, event_type, details)
    }

    /// As [`Runner::emit`], for an event that happened at `at_ms` (outside, before this step).
    pub fn emit_at(
        &mut self,
        at_ms: i64,
        thread_last: &mut u64,
        event_type: &str,
        details: Value,
    ) -> u64 {
        // The last id is kept for the execution's closing event; an event past it is not
        // written, and the step fails the execution (see `history_full`).
        if !self.closing && self.last_event_id + 1 >= HISTORY_LIMIT {
            self.history_full = true;
            return self.last_event_id;
        }
        self.budget.events = self.budget.events.saturating_sub(1);
        if self.budget.bytes.take(&details).is_err() {
            self.budget.events = 0;
        }
        self.last_event_id += 1;
        let id = self.last_event_id;
        self.history.push(HistoryEvent {
            id,
            previous_event_id: *thread_last,
            timestamp_ms: at_ms,
            event_type: event_type.to_owned(),
            details,
        });
        *thread_last = id;
        id
    }

    /// The thread's current state, from the machine's index.
    pub fn state_def(&self, thread: &Thread) -> Result<&'a IndexedState, Failure> {
        if let Err(reason) = self.machine.model() {
            return Err(Failure::runtime(format!(
                "The state machine definition is invalid: {reason}"
            )));
        }
        self.machine
            .state(&thread.scope, &thread.state)
            .ok_or_else(|| Failure::runtime(format!("State '{}' does not exist", thread.state)))
    }

    /// The state's data-flow stages; under TestState, inspected when it is the state under test.
    pub fn flow(&self, thread: &Thread, def: &'a IndexedState) -> Pipeline<'a> {
        def.pipeline().inspected(self.inspection(thread))
    }

    /// The inspection of the state under test, when this thread is at it.
    pub fn inspection(&self, thread: &Thread) -> Option<&'a std::cell::RefCell<Inspection>> {
        self.probe
            .and_then(|probe| probe.watching(&thread.scope, &thread.state))
    }

    /// The context object (`$$`) as the thread's current state sees it; an empty one for a
    /// state that never reads it (building it copies the execution's input).
    pub fn context(&self, thread: &Thread) -> Value {
        let reads = self
            .machine
            .state(&thread.scope, &thread.state)
            .is_none_or(|def| def.reads_context);
        if !reads {
            return Value::Object(serde_json::Map::new());
        }
        let retries: u32 = thread.attempts.iter().sum();
        // TestState: the test's own context object replaces the whole of it.
        if let Some(context) = self.probe.and_then(|probe| probe.context.as_ref()) {
            return context.clone();
        }
        // Key order as AWS writes the context object.
        let mut context = json!({
            "Execution": {
                "Id": self.info.execution_arn,
                "Input": self.execution_input,
                "StartTime": clock::iso8601(self.info.start_time_ms),
                "Name": self.info.name,
                "RoleArn": self.info.role_arn,
                "RedriveCount": self.info.redrive_count,
            },
            "StateMachine": {
                "Id": self.info.state_machine_arn,
                "Name": self.info.state_machine_name,
            },
            "State": {
                "Name": thread.state,
                "EnteredTime": clock::iso8601(thread.entered_ms),
            },
        });
        // AWS shows RetryCount only once the state has been retried; TestState always shows
        // it, and no redrive count.
        if retries > 0 || self.probe.is_some() {
            context["State"]["RetryCount"] = Value::from(retries);
        }
        if self.probe.is_some()
            && let Some(execution) = context["Execution"].as_object_mut()
        {
            execution.remove("RedriveCount");
        }
        if let Some(item) = &thread.map_item {
            context["Map"] = json!({ "Item": item });
        }
        context
    }

    /// What the thread's current state reads besides its input: the context object and the
    /// variables in scope.
    pub fn env<'t>(&self, thread: &'t Thread) -> Env<'t> {
        Env::new(
            self.context(thread),
            Variables::new(&thread.variables, self.outer.clone()),
            self.now,
        )
    }

    /// Runs `f` with `thread`'s variables visible to the threads it advances (its branches or
    /// iterations), which read them and cannot change them.
    pub fn with_scope_of<T>(&mut self, thread: &mut Thread, f: impl FnOnce(&mut Self) -> T) -> T {
        let frame = Arc::new(std::mem::take(&mut thread.variables));
        self.outer.push(Arc::clone(&frame));
        let result = f(self);
        self.outer.pop();
        thread.variables = Arc::try_unwrap(frame).unwrap_or_else(|shared| (*shared).clone());
        result
    }

    /// Applies a state's assignments to its thread, within AWS's limits.
    pub fn apply_assignments(&self, thread: &mut Thread, assigned: &Frame) -> Result<(), Failure> {
        if assigned.is_empty() {
            return Ok(());
        }
        let held = Variables::new(&thread.variables, self.outer.clone()).bytes_except(assigned);
        variables::check_assignments(assigned, held)?;
        for (name, value) in assigned {
            thread.variables.insert(name.clone(), value.clone());
        }
        Ok(())
    }

    /// Runs the thread until it waits or finishes, or the step's budget is spent (the thread
    /// then goes on in the next step).
    pub fn advance(&mut self, thread: &mut Thread) {
        loop {
            if self.out_of_budget() {
                return;
            }
            if !self.act(thread) {
                return;
            }
        }
    }

    /// This step must write no more: its budget is spent (it yields), or the history is full.
    pub fn out_of_budget(&mut self) -> bool {
        if self.history_full {
            return true;
        }
        if self.budget.events == 0 {
            self.yielded = true;
            return true;
        }
        false
    }

    /// One action on the thread; false when it is waiting or finished.
    fn act(&mut self, thread: &mut Thread) -> bool {
        match &thread.phase {
            Phase::Enter => {
                self.enter(thread);
                true
            }
            Phase::Waiting {
                until_ms,
                output,
                assigned,
            } if *until_ms <= self.now => {
                let (output, assigned) = (output.clone(), assigned.clone());
                self.exit_and_transition(thread, output, assigned);
                true
            }
            Phase::Backoff { until_ms } if *until_ms <= self.now => {
                self.run_state(thread);
                true
            }
            Phase::Task(_) => self.check_task_deadlines(thread),
            Phase::Branches(_) => self.advance_branches(thread),
            Phase::Iterations(_) => self.advance_iterations(thread),
            _ => false,
        }
    }

    fn enter(&mut self, thread: &mut Thread) {
        let def = match self.state_def(thread) {
            Ok(def) => def,
            Err(failure) => {
                self.fail_thread(thread, failure);
                return;
            }
        };
        let event = format!("{}Entered", history::state_prefix(def.state.type_name()));
        let mut last = thread.last_event;
        thread.entered_after = last;
        thread.entered_event = self.emit(
            &mut last,
            &event,
            history::entered(&thread.state, &thread.input),
        );
        thread.last_event = last;
        thread.entered_ms = self.now;
        thread.attempts = vec![0; def.state.retriers().len()];
        self.run_state(thread);
    }

    /// Applies the state's assignments, emits its Exited event with `output` and moves on. An
    /// output or assignments over AWS's limits fail the state with `States.DataLimitExceeded`
    /// instead.
    pub fn exit_and_transition(&mut self, thread: &mut Thread, output: Value, assigned: Frame) {
        let def = match self.state_def(thread) {
            Ok(def) => def,
            Err(failure) => return self.fail_thread(thread, failure),
        };
        if let Some(problem) = limits::payload_problem(&output) {
            return self.handle_failure(thread, def, Failure::data_limit_exceeded(problem));
        }
        if let Err(failure) = self.apply_assignments(thread, &assigned) {
            return self.handle_failure(thread, def, failure);
        }
        let event = format!("{}Exited", history::state_prefix(def.state.type_name()));
        let mut last = thread.last_event;
        self.emit(
            &mut last,
            &event,
            history::exited_assigning(&thread.state, &output, &assigned),
        );
        thread.last_event = last;
        self.transition(thread, def, output);
    }

    /// A Task, Parallel or Map state's result through ResultSelector, ResultPath and
    /// OutputPath, then out of the state; a failure of that data flow goes to Retry and Catch.
    pub fn exit_with_result(&mut self, thread: &mut Thread, def: &IndexedState, result: Value) {
        let env = self.env(thread);
        let flow = self.flow(thread, def);
        let data = StateData {
            input: &thread.input,
            effective: &thread.input,
            result: Some(&result),
        };
        let outcome = flow
            .assign(data, &env, &mut self.entropy)
            .and_then(|assigned| {
                let selected = flow.select_result(result, &env, &mut self.entropy)?;
                let output = flow.output(&thread.input, selected, &env, &mut self.entropy)?;
                Ok((output, assigned))
            });
        drop(env);
        match outcome {
            Ok((output, assigned)) => self.exit_and_transition(thread, output, assigned),
            Err(failure) => self.handle_failure(thread, def, failure),
        }
    }

    /// Follows `Next`, or ends the thread at an `End` (or Succeed) state.
    pub fn transition(&mut self, thread: &mut Thread, def: &IndexedState, output: Value) {
        match def.state.next() {
            Some(next) => self.go_to(thread, next, output),
            None => thread.phase = Phase::Succeeded { output },
        }
    }

    pub fn go_to(&mut self, thread: &mut Thread, next: &str, input: Value) {
        thread.state = next.to_owned();
        thread.input = input;
        thread.attempts.clear();
        thread.phase = Phase::Enter;
    }

    /// The thread ends with this failure, unrecoverably.
    pub fn fail_thread(&mut self, thread: &mut Thread, failure: Failure) {
        thread.phase = Phase::Failed {
            error: failure.error,
            cause: failure.cause,
        };
    }

    /// AWS wraps runtime errors of the data flow with the state they happened in, and names it
    /// in data limit errors.
    pub fn explain_failure(&self, thread: &Thread, failure: Failure) -> Failure {
        const PREFIX: &str = "An error occurred while executing the state";
        let mut failure = failure.name_state(&thread.state);
        let explained =
            [errors::RUNTIME, errors::QUERY_EVALUATION_ERROR].contains(&failure.error.as_str());
        if explained && !failure.cause.starts_with(PREFIX) {
            failure.cause = format!(
                "{PREFIX} '{}' (entered at the event id #{}). {}",
                thread.state, thread.entered_event, failure.cause
            );
        }
        failure
    }

    /// A JSONata evaluation failed: AWS records an `EvaluationFailed` event (naming the state
    /// and the field) before the state's own failure events.
    pub fn report_evaluation(&mut self, thread: &mut Thread, failure: &Failure) {
        if failure.error != errors::QUERY_EVALUATION_ERROR {
            return;
        }
        let mut details = serde_json::Map::new();
        details.insert("error".into(), Value::from(failure.error.as_str()));
        details.insert("cause".into(), Value::from(failure.cause.as_str()));
        if let Some(location) = &failure.location {
            details.insert("location".into(), Value::from(location.as_str()));
        }
        details.insert("state".into(), Value::from(thread.state.as_str()));
        let mut last = thread.entered_after;
        self.emit(
            &mut last,
            "EvaluationFailed",
            json!({ "evaluationFailedEventDetails": details }),
        );
        thread.last_event = last;
    }

    /// An error in the current state: Retry, then Catch, else the thread fails.
    pub fn handle_failure(&mut self, thread: &mut Thread, def: &IndexedState, failure: Failure) {
        let failure = self.explain_failure(thread, failure);
        self.report_evaluation(thread, &failure);
        self.recover(thread, def, failure);
    }

    /// Retry, then Catch, else the thread fails, for a failure already explained and reported.
    fn recover(&mut self, thread: &mut Thread, def: &IndexedState, failure: Failure) {
        let retriers = def.state.retriers();
        let inspection = self.inspection(thread);
        let record = |write: &dyn Fn(&mut Inspection)| {
            if let Some(inspection) = inspection {
                write(&mut inspection.borrow_mut());
            }
        };
        record(&|i| i.failure = Some(failure.clone()));
        if let Some(index) = retry::matching_retrier(retriers, &failure.error) {
            if thread.attempts.len() < retriers.len() {
                thread.attempts.resize(retriers.len(), 0);
            }
            // A test says how many retries were made before.
            if let Some(made) = self.probe.and_then(|probe| probe.retries_made) {
                thread.attempts[index] = thread.attempts[index].max(made);
            }
            let attempt = thread.attempts[index].saturating_add(1);
            record(&|i| i.retry_index = Some(index));
            if let Some(delay) = retry::retry_delay_ms(&retriers[index], attempt, &mut self.entropy)
            {
                record(&|i| i.retry_backoff_seconds = Some(delay / 1000));
                thread.attempts[index] = attempt;
                thread.phase = Phase::Backoff {
                    until_ms: self
                        .now
                        .saturating_add(i64::try_from(delay).unwrap_or(i64::MAX / 2)),
                };
                return;
            }
        }
        let catchers = def.state.catchers();
        if let Some(index) = retry::matching_catcher(catchers, &failure.error) {
            record(&|i| i.catch_index = Some(index));
            let catcher = &catchers[index];
            let env = self.env(thread);
            let caught = dataflow::error_output(
                def.language,
                catcher,
                &thread.input,
                &failure,
                &env,
                &mut self.entropy,
            )
            .and_then(|(output, assigned)| {
                match limits::payload_problem(&output) {
                    // Not caught again: the Catch's own output is over the limits.
                    Some(problem) => Err(Failure::data_limit_exceeded(problem)),
                    None => Ok((output, assigned)),
                }
            });
            drop(env);
            let caught = caught.and_then(|(output, assigned)| {
                self.apply_assignments(thread, &assigned)?;
                Ok((output, assigned))
            });
            match caught {
                Ok((output, assigned)) => {
                    let event = format!("{}Exited", history::state_prefix(def.state.type_name()));
                    let mut last = thread.last_event;
                    self.emit(
                        &mut last,
                        &event,
                        history::exited_assigning(&thread.state, &output, &assigned),
                    );
                    thread.last_event = last;
                    let next = catcher.next.clone();
                    self.go_to(thread, &next, output);
                }
                Err(path_failure) => {
                    let failure = self.explain_failure(thread, path_failure);
                    self.report_evaluation(thread, &failure);
                    self.fail_thread(thread, failure);
                }
            }
            return;
        }
        self.fail_thread(thread, failure);
    }

    /// A Parallel or Map state failed: when a retrier will run it again, nothing is written yet;
    /// otherwise the `…StateFailed` event, then Catch or the thread's failure.
    pub fn give_up_or_retry(
        &mut self,
        thread: &mut Thread,
        def: &IndexedState,
        failure: Failure,
        failed_event: &str,
    ) {
        let failure = self.explain_failure(thread, failure);
        self.report_evaluation(thread, &failure);
        let retriers = def.state.retriers();
        let will_retry = retry::matching_retrier(retriers, &failure.error).is_some_and(|index| {
            let attempt = thread.attempts.get(index).copied().unwrap_or(0) + 1;
            let mut probe = self.entropy.clone();
            retry::retry_delay_ms(&retriers[index], attempt, &mut probe).is_some()
        });
        if !will_retry {
            let mut last = thread.last_event;
            self.emit(&mut last, failed_event, json!({}));
            thread.last_event = last;
        }
        self.recover(thread, def, failure);
    }

    /// Refuses every task still open in this subtree.
    pub fn cancel_tasks(&mut self, thread: &Thread) {
        let (mut tasks, mut runs) = (Vec::new(), Vec::new());
        thread.open_tasks(&mut tasks, &mut runs);
        self.effects.extend(
            tasks
                .into_iter()
                .map(|task_id| Effect::CancelTask { task_id }),
        );
        self.effects.extend(
            runs.into_iter()
                .map(|task_id| Effect::AbortMapRun { task_id }),
        );
    }
}
