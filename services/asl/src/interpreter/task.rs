//! Task states: activities, Lambda functions called by ARN, and integrations
//! (`arn:aws:states:::<service>:<action>`). A task is scheduled as an effect; its result,
//! failure, submission or child execution's end comes back as an event for its `task_id`;
//! TimeoutSeconds and HeartbeatSeconds are deadlines in the snapshot.
//!
//! The three kinds write three families of history events with the same stages:
//! `Activity*`, `LambdaFunction*` and `Task*` (the last with `resourceType` and `resource`).

use serde_json::{Map, Value, json};

use super::runner::Runner;
use super::snapshot::{Phase, TaskKind, TaskPhase, Thread};
use super::{Call, ChildExecution, Effect, Event, Invocation, history};
use crate::dataflow::{self, Pipeline};
use crate::entropy::Entropy;
use crate::failure::{Failure, errors};
use crate::intrinsics::hash::hex_digest;
use crate::jsonata::{self, States};
use crate::model::{IntegerField, TaskState};
use crate::resource::{Integration, Pattern, Resource, unsupported_reason};
use crate::variables::Env;

// AWS's limit on a task's result; a larger one fails the state with
// `States.DataLimitExceeded`.
use crate::limits::MAX_PAYLOAD_BYTES as MAX_RESULT_BYTES;

/// AWS's default task timeout: 99999999 seconds, i.e. none in practice.
const NO_TIMEOUT: i64 = 99_999_999;

/// The token of task `task_id` of the execution whose secret is `secret`: unguessable without
/// the secret, and the same every time it is computed (a step may be replayed).
pub fn task_token(secret: &str, task_id: u64) -> String {
    hex_digest("SHA-256", format!("{secret}:{task_id}").as_bytes()).unwrap_or_default()
}

impl Runner<'_> {
    pub fn run_task(
        &mut self,
        thread: &mut Thread,
        flow: Pipeline<'_>,
        task: &TaskState,
    ) -> Result<(), Failure> {
        let resource_text = task.resource.as_str();
        let resource = Resource::parse(resource_text);
        if let Resource::Unsupported { reason } = resource {
            return Err(Failure::runtime(reason));
        }
        let task_id = self.next_task_id;
        let token = task_token(&self.info.token_secret, task_id);
        let mut env = self.env(thread);
        if matches!(
            resource,
            Resource::Integration {
                pattern: Pattern::WaitForTaskToken,
                ..
            }
        ) {
            env.context["Task"] = json!({ "Token": token });
        }
        let effective = flow.input(&thread.input, &env)?;
        let parameters = flow.arguments(&effective, &env, &mut self.entropy)?;
        let timeout = seconds(
            task.timeout_seconds.as_ref(),
            task.timeout_seconds_path.as_deref(),
            ("TimeoutSeconds", "TimeoutSecondsPath"),
            &effective,
            &env,
            &mut self.entropy,
        )?;
        let heartbeat = seconds(
            task.heartbeat_seconds.as_ref(),
            task.heartbeat_seconds_path.as_deref(),
            ("HeartbeatSeconds", "HeartbeatSecondsPath"),
            &effective,
            &env,
            &mut self.entropy,
        )?;
        drop(env);
        let input = history::text(&parameters);
        let (kind, call) = match resource {
            Resource::Activity if self.budget.activity_missing(resource_text) => {
                return Err(Failure::runtime(format!(
                    "The activity {resource_text} does not exist."
                )));
            }
            Resource::Activity => {
                let mut details = json!({
                    "resource": resource_text,
                    "input": input,
                    "inputDetails": { "truncated": false },
                });
                with_timeouts(&mut details, timeout, heartbeat);
                self.emit_for(
                    thread,
                    "ActivityScheduled",
                    json!({ "activityScheduledEventDetails": details }),
                );
                self.effects.push(Effect::ScheduleActivity {
                    task_id,
                    activity_arn: resource_text.to_owned(),
                    input,
                    timeout_seconds: timeout,
                    heartbeat_seconds: heartbeat,
                });
                (TaskKind::Activity, None)
            }
            Resource::LambdaFunction { function } => {
                let mut details = json!({
                    "resource": resource_text,
                    "input": input,
                    "inputDetails": { "truncated": false },
                });
                with_timeouts(&mut details, timeout, None);
                self.emit_for(
                    thread,
                    "LambdaFunctionScheduled",
                    json!({ "lambdaFunctionScheduledEventDetails": details }),
                );
                self.emit_for(thread, "LambdaFunctionStarted", json!({}));
                let call = Call::Lambda {
                    function_name: function,
                    qualifier: None,
                    payload: input,
                    direct: true,
                };
                (
                    TaskKind::LambdaFunction,
                    Some((Pattern::RequestResponse, call)),
                )
            }
            Resource::Integration {
                integration,
                service,
                action,
                pattern,
            } => {
                let call = integration_call(integration, resource_text, &parameters)?;
                let mut details = Map::new();
                details.insert("resourceType".into(), Value::from(service.as_str()));
                details.insert("resource".into(), Value::from(action.as_str()));
                details.insert("region".into(), Value::from(self.region()));
                details.insert("parameters".into(), Value::from(input));
                let mut details = Value::Object(details);
                with_timeouts(&mut details, timeout, heartbeat);
                self.emit_for(
                    thread,
                    "TaskScheduled",
                    json!({ "taskScheduledEventDetails": details }),
                );
                self.emit_for(
                    thread,
                    "TaskStarted",
                    json!({ "taskStartedEventDetails": {
                        "resourceType": service,
                        "resource": action,
                    }}),
                );
                let kind = TaskKind::Integration {
                    service,
                    action,
                    pattern,
                };
                (kind, Some((pattern, call)))
            }
            Resource::Unsupported { .. } => return Ok(()),
        };
        self.next_task_id += 1;
        let started = call.is_some();
        if let Some((pattern, call)) = call {
            let calls = self.calls.entry(thread.state.clone()).or_default();
            let invocation = *calls;
            *calls += 1;
            self.effects.push(Effect::Invoke(Invocation {
                task_id,
                resource: resource_text.to_owned(),
                token,
                state: thread.state.clone(),
                invocation,
                timeout_seconds: timeout,
                pattern,
                call,
            }));
        }
        thread.phase = Phase::Task(TaskPhase {
            task_id,
            resource: resource_text.to_owned(),
            kind,
            // Activities start when a worker takes them; calls start at once.
            started,
            // Saturating: a literal of any size must not overflow the deadline.
            timeout_at_ms: Some(deadline(self.now, timeout.unwrap_or(NO_TIMEOUT))),
            heartbeat_seconds: heartbeat,
            heartbeat_at_ms: if started {
                heartbeat.map(|h| deadline(self.now, h))
            } else {
                None
            },
        });
        Ok(())
    }

    /// The region of this execution, from its ARN.
    fn region(&self) -> String {
        self.info
            .execution_arn
            .split(':')
            .nth(3)
            .unwrap_or_default()
            .to_owned()
    }

    /// Emits an event chained to the thread's previous one.
    pub(super) fn emit_for(&mut self, thread: &mut Thread, event_type: &str, details: Value) {
        let mut last = thread.last_event;
        self.emit(&mut last, event_type, details);
        thread.last_event = last;
    }

    /// Routes a task event to the thread waiting on that task. Returns whether one was found.
    pub fn deliver(&mut self, thread: &mut Thread, event: &Event) -> bool {
        let task_id = match event {
            Event::TaskStarted { task_id, .. }
            | Event::TaskHeartbeat { task_id, .. }
            | Event::TaskSucceeded { task_id, .. }
            | Event::TaskFailed { task_id, .. }
            | Event::TaskSubmitted { task_id, .. }
            | Event::ChildEnded { task_id, .. }
            | Event::MapRunEnded { task_id, .. } => *task_id,
            Event::Tick | Event::Stop { .. } | Event::Redrive => return false,
        };
        match &mut thread.phase {
            Phase::Task(task) if task.task_id == task_id => {}
            Phase::MapRun(run) if run.task_id == task_id => {
                if let Event::MapRunEnded { outcome, .. } = event {
                    self.map_run_ended(thread, outcome);
                }
                return true;
            }
            Phase::Branches(_) | Phase::Iterations(_) => {
                // The outer thread's variables are visible to the one the event reaches.
                let mut phase = std::mem::replace(&mut thread.phase, Phase::Enter);
                let found = self.with_scope_of(thread, |runner| match &mut phase {
                    Phase::Branches(b) => b.branches.iter_mut().any(|t| runner.deliver(t, event)),
                    Phase::Iterations(i) => {
                        i.running.iter_mut().any(|(_, t)| runner.deliver(t, event))
                    }
                    _ => false,
                });
                thread.phase = phase;
                return found;
            }
            _ => return false,
        }
        let Phase::Task(task) = &mut thread.phase else {
            return false;
        };
        let kind = task.kind.clone();
        match event {
            Event::TaskStarted {
                worker_name, at_ms, ..
            } => {
                if task.started {
                    return true;
                }
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
            Event::TaskSubmitted { output, .. } => {
                if let TaskKind::Integration {
                    service, action, ..
                } = &kind
                {
                    let details = json!({ "taskSubmittedEventDetails": {
                        "resourceType": service,
                        "resource": action,
                        "output": output,
                        "outputDetails": { "truncated": false },
                    }});
                    self.emit_for(thread, "TaskSubmitted", details);
                }
            }
            Event::TaskSucceeded { output, .. } => self.task_succeeded(thread, &kind, output),
            Event::TaskFailed { error, cause, .. } => {
                self.task_failed(thread, &kind, Failure::new(error.clone(), cause.clone()));
            }
            Event::ChildEnded { child, .. } => {
                // Only `.sync` tasks end with their child; the others ended at the call or wait
                // for a callback.
                let pattern = match &kind {
                    TaskKind::Integration {
                        pattern: pattern @ (Pattern::Sync | Pattern::Sync2),
                        ..
                    } => *pattern,
                    _ => return true,
                };
                match child_result(child, pattern) {
                    Ok(output) => self.task_succeeded(thread, &kind, &output.to_string()),
                    Err(failure) => self.task_failed(thread, &kind, failure),
                }
            }
            Event::Tick | Event::Stop { .. } | Event::Redrive | Event::MapRunEnded { .. } => {}
        }
        true
    }

    fn task_succeeded(&mut self, thread: &mut Thread, kind: &TaskKind, output: &str) {
        if output.len() > MAX_RESULT_BYTES {
            let cause = format!(
                "The state/task '{}' returned a result with a size exceeding the maximum number of bytes service limit.",
                thread.state
            );
            return self.task_failed(
                thread,
                kind,
                Failure::new(errors::DATA_LIMIT_EXCEEDED, cause),
            );
        }
        let (event_type, member) = names(kind, "Succeeded");
        let mut details = resource_fields(kind);
        details.insert("output".into(), Value::from(output));
        details.insert("outputDetails".into(), json!({ "truncated": false }));
        self.emit_for(thread, &event_type, one(member, details));
        let result = serde_json::from_str(output).unwrap_or(Value::Null);
        self.complete_task(thread, result);
    }

    fn task_failed(&mut self, thread: &mut Thread, kind: &TaskKind, failure: Failure) {
        let (event_type, member) = names(kind, "Failed");
        self.emit_for(
            thread,
            &event_type,
            error_details(kind, &member, &failure.error, &failure.cause),
        );
        let def = match self.state_def(thread) {
            Ok(def) => def,
            Err(failure) => return self.fail_thread(thread, failure),
        };
        self.handle_failure(thread, def, failure);
    }

    /// The task's result goes through ResultSelector, ResultPath and OutputPath.
    fn complete_task(&mut self, thread: &mut Thread, result: Value) {
        match self.state_def(thread) {
            Ok(def) => self.exit_with_result(thread, def, result),
            Err(failure) => self.fail_thread(thread, failure),
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
        let kind = task.kind.clone();
        self.effects.push(Effect::CancelTask { task_id });
        let (event_type, member) = names(&kind, "TimedOut");
        self.emit_for(
            thread,
            &event_type,
            error_details(&kind, &member, error, ""),
        );
        match self.state_def(thread) {
            Ok(def) => self.handle_failure(thread, def, Failure::new(error, "")),
            Err(failure) => self.fail_thread(thread, failure),
        }
        true
    }
}

/// The call an integration makes with its evaluated Parameters.
fn integration_call(
    integration: Integration,
    resource: &str,
    parameters: &Value,
) -> Result<Call, Failure> {
    let text_field = |name: &str| -> Result<Option<String>, Failure> {
        match parameters.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(Failure::runtime(format!(
                "The field '{name}' must be a string, but it is {other}"
            ))),
        }
    };
    let required = |name: &str| -> Result<String, Failure> {
        text_field(name)?.ok_or_else(|| {
            Failure::runtime(format!(
                "The field '{name}' is required in the Parameters of this task"
            ))
        })
    };
    if !parameters.is_object() {
        return Err(Failure::runtime(format!(
            "The Parameters of this task must be a JSON object, but they are {parameters}"
        )));
    }
    Ok(match integration {
        Integration::LambdaInvoke => Call::Lambda {
            function_name: required("FunctionName")?,
            qualifier: text_field("Qualifier")?,
            // No Payload: the function receives an empty object, as from the Lambda console.
            payload: parameters
                .get("Payload")
                .map_or_else(|| "{}".to_owned(), history::text),
            direct: false,
        },
        Integration::HttpInvoke => {
            required("ApiEndpoint")?;
            required("Method")?;
            Call::Http {
                parameters: parameters.clone(),
            }
        }
        Integration::Unsupported => Call::Unsupported {
            parameters: parameters.clone(),
            reason: unsupported_reason(resource),
        },
        Integration::StartExecution => Call::StartExecution {
            state_machine_arn: required("StateMachineArn")?,
            name: text_field("Name")?,
            // Input given as JSON is sent as its text; a string is sent as it is.
            input: match parameters.get("Input") {
                None | Some(Value::Null) => "{}".to_owned(),
                Some(Value::String(s)) => s.clone(),
                Some(other) => history::text(other),
            },
        },
    })
}

/// A `.sync` task's result from its child execution: the child's description as
/// DescribeExecution gives it, keys in AWS's (alphabetical) order, input and output as text for
/// `.sync` and as JSON for `.sync:2`. A child that did not succeed fails the task with
/// `States.TaskFailed` and that description as the cause.
fn child_result(child: &ChildExecution, pattern: Pattern) -> Result<Value, Failure> {
    let data = |text: &str| -> Value {
        if pattern == Pattern::Sync2 {
            serde_json::from_str(text).unwrap_or_else(|_| Value::from(text))
        } else {
            Value::from(text)
        }
    };
    let succeeded = child.status == "SUCCEEDED";
    let mut described = Map::new();
    if !succeeded {
        if let Some(cause) = &child.cause {
            described.insert("Cause".into(), Value::from(cause.as_str()));
        }
        if let Some(error) = &child.error {
            described.insert("Error".into(), Value::from(error.as_str()));
        }
    }
    described.insert(
        "ExecutionArn".into(),
        Value::from(child.execution_arn.as_str()),
    );
    described.insert("Input".into(), data(&child.input));
    described.insert("InputDetails".into(), json!({ "Included": true }));
    described.insert("Name".into(), Value::from(child.name.as_str()));
    if let Some(output) = child.output.as_deref().filter(|_| succeeded) {
        described.insert("Output".into(), data(output));
        described.insert("OutputDetails".into(), json!({ "Included": true }));
    }
    described.insert("RedriveCount".into(), Value::from(0));
    if succeeded {
        described.insert("RedriveStatus".into(), Value::from("NOT_REDRIVABLE"));
        described.insert(
            "RedriveStatusReason".into(),
            Value::from("Execution is SUCCEEDED and cannot be redriven"),
        );
    } else {
        described.insert("RedriveStatus".into(), Value::from("REDRIVABLE"));
    }
    described.insert("StartDate".into(), Value::from(child.start_ms));
    described.insert(
        "StateMachineArn".into(),
        Value::from(child.state_machine_arn.as_str()),
    );
    described.insert("Status".into(), Value::from(child.status.as_str()));
    described.insert("StopDate".into(), Value::from(child.stop_ms));
    if succeeded {
        Ok(Value::Object(described))
    } else {
        Err(Failure::new(
            errors::TASK_FAILED,
            Value::Object(described).to_string(),
        ))
    }
}

/// `(event type, details member)` of a stage (`Succeeded`, `Failed`, `TimedOut`) for a kind.
fn names(kind: &TaskKind, stage: &str) -> (String, String) {
    let (event, member) = match kind {
        TaskKind::Activity => ("Activity", "activity"),
        TaskKind::LambdaFunction => ("LambdaFunction", "lambdaFunction"),
        TaskKind::Integration { .. } => ("Task", "task"),
    };
    (
        format!("{event}{stage}"),
        format!("{member}{stage}EventDetails"),
    )
}

/// `resourceType` and `resource`, which lead every `Task*` event's details.
fn resource_fields(kind: &TaskKind) -> Map<String, Value> {
    let mut fields = Map::new();
    if let TaskKind::Integration {
        service, action, ..
    } = kind
    {
        fields.insert("resourceType".into(), Value::from(service.as_str()));
        fields.insert("resource".into(), Value::from(action.as_str()));
    }
    fields
}

/// Error and cause details, leaving out empty members as AWS does.
fn error_details(kind: &TaskKind, member: &str, error: &str, cause: &str) -> Value {
    let mut details = resource_fields(kind);
    if !error.is_empty() {
        details.insert("error".into(), Value::from(error));
    }
    if !cause.is_empty() {
        details.insert("cause".into(), Value::from(cause));
    }
    one(member.to_owned(), details)
}

fn one(member: String, details: Map<String, Value>) -> Value {
    let mut outer = Map::new();
    outer.insert(member, Value::Object(details));
    Value::Object(outer)
}

fn with_timeouts(details: &mut Value, timeout: Option<i64>, heartbeat: Option<i64>) {
    if let Some(t) = timeout {
        details["timeoutInSeconds"] = Value::from(t);
    }
    if let Some(h) = heartbeat {
        details["heartbeatInSeconds"] = Value::from(h);
    }
}

/// `now` plus `seconds`, saturating.
fn deadline(now: i64, seconds: i64) -> i64 {
    now.saturating_add(seconds.saturating_mul(1000))
}

/// A seconds field given directly, as a JSONata expression, or through a path (which must
/// select a positive integer).
fn seconds(
    literal: Option<&IntegerField>,
    path: Option<&str>,
    (field, path_field): (&str, &str),
    input: &Value,
    env: &Env<'_>,
    entropy: &mut Entropy,
) -> Result<Option<i64>, Failure> {
    match literal {
        Some(IntegerField::Literal(_)) => return Ok(literal.and_then(IntegerField::literal_i64)),
        Some(IntegerField::Expression(text)) => {
            return jsonata::evaluate_integer(field, text, 1, States::input(input), env, entropy)
                .map(Some);
        }
        None => {}
    }
    let Some(path) = path else {
        return Ok(None);
    };
    let value = dataflow::evaluate_path(path, input, env)?;
    match value.as_i64() {
        Some(n) if n > 0 => Ok(Some(n)),
        _ => Err(Failure::runtime(format!(
            "The {path_field} field refers to value '{value}' which is not a valid positive integer"
        ))),
    }
}
