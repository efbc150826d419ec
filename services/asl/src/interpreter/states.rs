//! Pass, Task, Choice, Wait, Succeed and Fail.

use serde_json::{Value, json};

use super::Effect;
use super::Event;
use super::history;
use super::runner::Runner;
use super::snapshot::{Phase, TaskPhase, Thread};
use crate::failure::{Failure, errors};
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
        let state_type = def.get("Type").and_then(Value::as_str).unwrap_or_default();
        let result = match state_type {
            "Pass" => self.run_pass(thread, def),
            "Task" => self.run_task(thread, def),
            "Choice" => self.run_choice(thread, def),
            "Wait" => self.run_wait(thread, def),
            "Succeed" => self.run_succeed(thread, def),
            "Fail" => self.run_fail(thread, def),
            "Parallel" => self.run_parallel(thread, def),
            "Map" => self.run_map(thread, def),
            other => Err(Failure::runtime(format!(
                "Unsupported state type '{other}'"
            ))),
        };
        if let Err(failure) = result {
            if matches!(state_type, "Task" | "Parallel" | "Map") {
                self.handle_failure(thread, def, failure);
            } else {
                let failure = self.explain_failure(thread, failure);
                self.fail_thread(thread, failure);
            }
        }
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

    fn run_fail(&mut self, thread: &mut Thread, def: &Value) -> Result<(), Failure> {
        let context = self.context(thread);
        let text = |field: &str, path_field: &str| -> Result<String, Failure> {
            if let Some(value) = def.get(field).and_then(Value::as_str) {
                return Ok(value.to_owned());
            }
            match def.get(path_field).and_then(Value::as_str) {
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
        let error = text("Error", "ErrorPath")?;
        let cause = text("Cause", "CausePath")?;
        thread.phase = Phase::Failed { error, cause };
        Ok(())
    }

    fn run_task(&mut self, thread: &mut Thread, def: &Value) -> Result<(), Failure> {
        let context = self.context(thread);
        let effective = dataflow::apply_input_path(def, &thread.input, &context)?;
        let parameters = dataflow::apply_parameters(def, &effective, &context, &mut self.entropy)?;
        let resource = def
            .get("Resource")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !is_activity(resource) {
            return Err(Failure::new(
                errors::RUNTIME,
                format!(
                    "The resource '{resource}' is not supported by this version of Switchback: only activity tasks run"
                ),
            ));
        }
        let timeout = seconds(
            def,
            "TimeoutSeconds",
            "TimeoutSecondsPath",
            &effective,
            &context,
        )?;
        let heartbeat = seconds(
            def,
            "HeartbeatSeconds",
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
            timeout_at_ms: Some(self.now + timeout.unwrap_or(NO_TIMEOUT) * 1000),
            heartbeat_seconds: heartbeat,
            heartbeat_at_ms: None,
        });
        Ok(())
    }

    /// Routes a task event to the thread waiting on that task. Returns whether one was found.
    pub fn deliver(&mut self, thread: &mut Thread, event: &Event) -> bool {
        let task_id = match event {
            Event::TaskStarted { task_id, .. }
            | Event::TaskHeartbeat { task_id }
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
            Event::TaskStarted { worker_name, .. } => {
                task.started = true;
                task.heartbeat_at_ms = task.heartbeat_seconds.map(|h| self.now + h * 1000);
                let mut last = thread.last_event;
                self.emit(
                    &mut last,
                    "ActivityStarted",
                    json!({ "activityStartedEventDetails": { "workerName": worker_name } }),
                );
                thread.last_event = last;
            }
            Event::TaskHeartbeat { .. } => {
                task.heartbeat_at_ms = task.heartbeat_seconds.map(|h| self.now + h * 1000);
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
        let output = dataflow::apply_result_selector(def, &result, &context, &mut self.entropy)
            .and_then(|r| dataflow::apply_result_path(def, &thread.input, r))
            .and_then(|o| dataflow::apply_output_path(def, &o, &context));
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

/// `arn:<partition>:states:<region>:<account>:activity:<name>`.
fn is_activity(resource: &str) -> bool {
    let fields: Vec<&str> = resource.split(':').collect();
    fields.len() == 7 && fields[0] == "arn" && fields[2] == "states" && fields[5] == "activity"
}

/// A seconds field given directly or through a path (which must select a positive integer).
fn seconds(
    def: &Value,
    field: &str,
    path_field: &str,
    input: &Value,
    context: &Value,
) -> Result<Option<i64>, Failure> {
    if let Some(value) = def.get(field).and_then(Value::as_i64) {
        return Ok(Some(value));
    }
    let Some(path) = def.get(path_field).and_then(Value::as_str) else {
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
