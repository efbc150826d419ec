//! Pass, Task, Choice, Wait, Succeed and Fail.

use serde_json::{Value, json};

use super::Effect;
use super::Event;
use super::history;
use super::runner::Runner;
use super::snapshot::{Phase, TaskPhase, Thread};
use crate::failure::{Failure, errors};
use crate::model::definition::QueryLanguage;
use crate::model::{FailState, IntegerField, State, TaskState};
use crate::{choice, dataflow, wait};

/// AWS's default task timeout: 99999999 seconds, i.e. none in practice.
const NO_TIMEOUT: i64 = 99_999_999;

impl Runner<'_> {
    /// Runs the current state (after its Entered event, or again after a retry backoff).
    pub fn run_state(&mut self, thread: &mut Thread) {
        let def = match self.state_def(thread) {
            Ok(def) => def,
            Err(failure) => return self.fail_thread(thread, failure),
        };
        let raw = &def.raw;
        if let Some(missing) = self.unsupported(&def.state, raw) {
            let failure = self.explain_failure(thread, Failure::runtime(missing));
            return self.fail_thread(thread, failure);
        }
        let result = match &def.state {
            State::Pass(_) => self.run_pass(thread, raw),
            State::Task(task) => self.run_task(thread, raw, task),
            State::Choice(_) => self.run_choice(thread, raw),
            State::Wait(_) => self.run_wait(thread, raw),
            State::Succeed(_) => self.run_succeed(thread, raw),
            State::Fail(fail) => self.run_fail(thread, fail),
            State::Parallel(parallel) => self.run_parallel(thread, raw, parallel),
            State::Map(map) => self.run_map(thread, raw, map),
        };
        if let Err(failure) = result {
            // Only states with Retry and Catch recover; the others fail their thread.
            if matches!(
                def.state,
                State::Task(_) | State::Parallel(_) | State::Map(_)
            ) {
                self.handle_failure(thread, def, failure);
            } else {
                let failure = self.explain_failure(thread, failure);
                self.fail_thread(thread, failure);
            }
        }
    }

    /// Language features this version cannot run yet fail the state loudly rather than being
    /// skipped: a JSONata state would otherwise pass its input through unevaluated.
    fn unsupported(&self, state: &State, raw: &Value) -> Option<&'static str> {
        let machine_language = self.machine.model().ok().and_then(|m| m.query_language);
        let language = state.query_language().or(machine_language);
        if language == Some(QueryLanguage::Jsonata) {
            return Some("JSONata is not supported by this version of Switchback");
        }
        if raw.get("Assign").is_some() {
            return Some("Variables (Assign) are not supported by this version of Switchback");
        }
        None
    }

    fn run_pass(&mut self, thread: &mut Thread, def: &Value) -> Result<(), Failure> {
        let context = self.context(thread);
        let effective = dataflow::apply_input_path(def, &thread.input, &context)?;
        let result = match def.get("Result") {
            Some(result) => result.clone(),
            None => dataflow::apply_parameters(def, &effective, &context, &mut self.entropy)?,
        };
        let output = dataflow::apply_result_path(def, &thread.input, result)?;
        let output = dataflow::apply_output_path(def, &output, &context)?;
        self.exit_and_transition(thread, output);
        Ok(())
    }

    fn run_choice(&mut self, thread: &mut Thread, def: &Value) -> Result<(), Failure> {
        let context = self.context(thread);
        let effective = dataflow::apply_input_path(def, &thread.input, &context)?;
        let next = choice::next_state(def, &effective, &context)?;
        let output = dataflow::apply_output_path(def, &effective, &context)?;
        let mut last = thread.last_event;
        self.emit(
            &mut last,
            "ChoiceStateExited",
            history::exited(&thread.state, &output),
        );
        thread.last_event = last;
        self.go_to(thread, &next, output);
        Ok(())
    }

    fn run_wait(&mut self, thread: &mut Thread, def: &Value) -> Result<(), Failure> {
        let context = self.context(thread);
        let effective = dataflow::apply_input_path(def, &thread.input, &context)?;
        let until_ms = wait::wait_until_ms(def, &effective, &context, self.now)?;
        let output = dataflow::apply_output_path(def, &effective, &context)?;
        thread.phase = Phase::Waiting { until_ms, output };
        Ok(())
    }

    fn run_succeed(&mut self, thread: &mut Thread, def: &Value) -> Result<(), Failure> {
        let context = self.context(thread);
        let effective = dataflow::apply_input_path(def, &thread.input, &context)?;
        let output = dataflow::apply_output_path(def, &effective, &context)?;
        let mut last = thread.last_event;
        self.emit(
            &mut last,
            "SucceedStateExited",
            history::exited(&thread.state, &output),
        );
        thread.last_event = last;
        thread.phase = Phase::Succeeded { output };
        Ok(())
    }

    fn run_fail(&mut self, thread: &mut Thread, def: &FailState) -> Result<(), Failure> {
        let context = self.context(thread);
        let text = |value: &Option<String>,
                    path: &Option<String>,
                    path_field: &str|
         -> Result<String, Failure> {
            if let Some(value) = value {
                return Ok(value.clone());
            }
            match path {
                Some(path) => {
                    let value = dataflow::evaluate_path(path, &thread.input, &context).map_err(|_| {
                        Failure::runtime(format!(
                            "The JSONPath '{path}' specified for the field '{path_field}' could not be found in the input '{}'",
                            thread.input
                        ))
                    })?;
                    Ok(match value {
                        Value::String(s) => s,
                        other => other.to_string(),
                    })
                }
                None => Ok(String::new()),
            }
        };
        let error = text(&def.error, &def.error_path, "ErrorPath")?;
        let cause = text(&def.cause, &def.cause_path, "CausePath")?;
        thread.phase = Phase::Failed { error, cause };
        Ok(())
    }

    fn run_task(
        &mut self,
        thread: &mut Thread,
        def: &Value,
        task: &TaskState,
    ) -> Result<(), Failure> {
        let context = self.context(thread);
        let effective = dataflow::apply_input_path(def, &thread.input, &context)?;
        let parameters = dataflow::apply_parameters(def, &effective, &context, &mut self.entropy)?;
        let resource = task.resource.as_str();
        if !is_activity(resource) {
            return Err(Failure::new(
                errors::RUNTIME,
                format!(
                    "The resource '{resource}' is not supported by this version of Switchback: only activity tasks run"
                ),
            ));
        }
        let timeout = seconds(
            task.timeout_seconds.as_ref(),
            task.timeout_seconds_path.as_deref(),
            "TimeoutSecondsPath",
            &effective,
            &context,
        )?;
        let heartbeat = seconds(
            task.heartbeat_seconds.as_ref(),
            task.heartbeat_seconds_path.as_deref(),
            "HeartbeatSecondsPath",
            &effective,
            &context,
        )?;
        let task_id = self.next_task_id;
        self.next_task_id += 1;
        let input = history::text(&parameters);
        let mut details = json!({
            "resource": resource,
            "input": input,
            "inputDetails": { "truncated": false },
        });
        if let Some(t) = timeout {
            details["timeoutInSeconds"] = Value::from(t);
        }
        if let Some(h) = heartbeat {
            details["heartbeatInSeconds"] = Value::from(h);
        }
        let mut last = thread.last_event;
        self.emit(
            &mut last,
            "ActivityScheduled",
            json!({ "activityScheduledEventDetails": details }),
        );
        thread.last_event = last;
        self.effects.push(Effect::ScheduleActivity {
            task_id,
            activity_arn: resource.to_owned(),
            input,
            timeout_seconds: timeout,
            heartbeat_seconds: heartbeat,
        });
        thread.phase = Phase::Task(TaskPhase {
            task_id,
            resource: resource.to_owned(),
            started: false,
            // Saturating: a literal of any size must not overflow the deadline.
            timeout_at_ms: Some(deadline(self.now, timeout.unwrap_or(NO_TIMEOUT))),
            heartbeat_seconds: heartbeat,
            heartbeat_at_ms: None,
        });
        Ok(())
    }

    /// Routes a task event to the thread waiting on that task. Returns whether one was found.
    pub fn deliver(&mut self, thread: &mut Thread, event: &Event) -> bool {
        let task_id = match event {
            Event::TaskStarted { task_id, .. }
            | Event::TaskHeartbeat { task_id, .. }
            | Event::TaskSucceeded { task_id, .. }
            | Event::TaskFailed { task_id, .. } => *task_id,
            Event::Tick | Event::Stop { .. } => return false,
        };
        match &mut thread.phase {
            Phase::Task(task) if task.task_id == task_id => {}
            Phase::Branches(b) => return b.branches.iter_mut().any(|t| self.deliver(t, event)),
            Phase::Iterations(i) => {
                return i.running.iter_mut().any(|(_, t)| self.deliver(t, event));
            }
            _ => return false,
        }
        let Phase::Task(task) = &mut thread.phase else {
            return false;
        };
        match event {
            Event::TaskStarted {
                worker_name, at_ms, ..
            } => {
                let taken = if *at_ms > 0 {
                    (*at_ms).min(self.now)
                } else {
                    self.now
                };
                task.started = true;
                task.heartbeat_at_ms = task.heartbeat_seconds.map(|h| deadline(taken, h));
                let mut last = thread.last_event;
                self.emit_at(
                    taken,
                    &mut last,
                    "ActivityStarted",
                    // A worker that gave no name leaves the details empty, as in AWS.
                    if worker_name.is_empty() {
                        json!({ "activityStartedEventDetails": {} })
                    } else {
                        json!({ "activityStartedEventDetails": { "workerName": worker_name } })
                    },
                );
                thread.last_event = last;
            }
            Event::TaskHeartbeat { at_ms, .. } => {
                // A heartbeat read late (when the deadline fired) still counts from when it was
                // sent; one older than the current deadline's start changes nothing.
                let moved = task.heartbeat_seconds.map(|h| deadline(*at_ms, h));
                task.heartbeat_at_ms = match (task.heartbeat_at_ms, moved) {
                    (Some(current), Some(moved)) => Some(current.max(moved)),
                    (current, moved) => moved.or(current),
                };
            }
            Event::TaskSucceeded { output, .. } => {
                let mut last = thread.last_event;
                self.emit(
                    &mut last,
                    "ActivitySucceeded",
                    json!({ "activitySucceededEventDetails": {
                        "output": output,
                        "outputDetails": { "truncated": false },
                    }}),
                );
                thread.last_event = last;
                let result = serde_json::from_str(output).unwrap_or(Value::Null);
                self.complete_task(thread, result);
            }
            Event::TaskFailed { error, cause, .. } => {
                let mut last = thread.last_event;
                self.emit(
                    &mut last,
                    "ActivityFailed",
                    history::failed("activityFailedEventDetails", error, cause),
                );
                thread.last_event = last;
                let def = match self.state_def(thread) {
                    Ok(def) => def,
                    Err(failure) => {
                        self.fail_thread(thread, failure);
                        return true;
                    }
                };
                self.handle_failure(thread, def, Failure::new(error.clone(), cause.clone()));
            }
            Event::Tick | Event::Stop { .. } => {}
        }
        true
    }

    /// The task's result goes through ResultSelector, ResultPath and OutputPath.
    fn complete_task(&mut self, thread: &mut Thread, result: Value) {
        let def = match self.state_def(thread) {
            Ok(def) => def,
            Err(failure) => return self.fail_thread(thread, failure),
        };
        let context = self.context(thread);
        let raw = &def.raw;
        let output = dataflow::apply_result_selector(raw, &result, &context, &mut self.entropy)
            .and_then(|r| dataflow::apply_result_path(raw, &thread.input, r))
            .and_then(|o| dataflow::apply_output_path(raw, &o, &context));
        match output {
            Ok(output) => self.exit_and_transition(thread, output),
            Err(failure) => self.handle_failure(thread, def, failure),
        }
    }

    /// Fires the task's timeout or heartbeat timeout when due.
    pub fn check_task_deadlines(&mut self, thread: &mut Thread) -> bool {
        let Phase::Task(task) = &thread.phase else {
            return false;
        };
        let now = self.now;
        let error = if task.timeout_at_ms.is_some_and(|t| t <= now) {
            errors::TIMEOUT
        } else if task.heartbeat_at_ms.is_some_and(|t| t <= now) {
            errors::HEARTBEAT_TIMEOUT
        } else {
            return false;
        };
        let task_id = task.task_id;
        self.effects.push(Effect::CancelTask { task_id });
        let mut last = thread.last_event;
        self.emit(
            &mut last,
            "ActivityTimedOut",
            history::failed("activityTimedOutEventDetails", error, ""),
        );
        thread.last_event = last;
        match self.state_def(thread) {
            Ok(def) => self.handle_failure(thread, def, Failure::new(error, "")),
            Err(failure) => self.fail_thread(thread, failure),
        }
        true
    }
}

/// `now` plus `seconds`, saturating.
fn deadline(now: i64, seconds: i64) -> i64 {
    now.saturating_add(seconds.saturating_mul(1000))
}

/// `arn:<partition>:states:<region>:<account>:activity:<name>`.
fn is_activity(resource: &str) -> bool {
    let fields: Vec<&str> = resource.split(':').collect();
    fields.len() == 7 && fields[0] == "arn" && fields[2] == "states" && fields[5] == "activity"
}

/// A seconds field given directly or through a path (which must select a positive integer).
/// A JSONata expression counts as absent: JSONata states do not run yet.
fn seconds(
    literal: Option<&IntegerField>,
    path: Option<&str>,
    path_field: &str,
    input: &Value,
    context: &Value,
) -> Result<Option<i64>, Failure> {
    if let Some(value) = literal.and_then(IntegerField::literal_i64) {
        return Ok(Some(value));
    }
    let Some(path) = path else {
        return Ok(None);
    };
    let value = dataflow::evaluate_path(path, input, context)?;
    match value.as_i64() {
        Some(n) if n > 0 => Ok(Some(n)),
        _ => Err(Failure::runtime(format!(
            "The {path_field} field refers to value '{value}' which is not a valid positive integer"
        ))),
    }
}
