//! Calls to the outside world that integration tasks make: Lambda, HTTP, and nested executions.
//!
//! A step records a call as a task row (in the step's transaction); this loop claims calls
//! under a lease, makes them, renews the lease while a call is in flight, and records each
//! result as a signal for its execution. A scheduler that dies mid-call leaves its lease to
//! expire, and another one makes the call again: calls are at least once, their results are
//! recorded once. A mocked test case (`<stateMachineArn>#<case>`) answers from the mock
//! configuration instead of calling out.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use switchback_asl::arn::{Arn, ResourceKind};
use switchback_asl::interpreter::{Call, Invocation, Pattern};
use switchback_asl::mocks::{MockConfig, Mocked};
use switchback_asl::names;
use switchback_store::calls::{self, ClaimedCall};
use switchback_store::executions::{self, NewExecution, Started};
use switchback_store::notify::Coalescer;
use switchback_store::signals::Signal;
use switchback_store::{PgPool, Scope};
use tokio::sync::{Notify, Semaphore};

use crate::invoke::{Invoker, Outcome};

/// Lambda's own limit on a function's run time.
const LAMBDA_MAX_SECONDS: u64 = 900;
/// AWS's limit on an execution's input.
const MAX_INPUT_BYTES: usize = 256 * 1024;
/// AWS's hard limit on an HTTP Task's request.
const HTTP_MAX_SECONDS: u64 = 60;

/// What the call loop needs; cheap to clone into each call.
#[derive(Clone)]
pub struct Caller {
    pub pool: PgPool,
    pub invoker: Invoker,
    pub mocks: Option<Arc<MockConfig>>,
    /// How long a claim holds a call before another scheduler may make it again; renewed
    /// while the call runs.
    pub lease: Duration,
    /// Wakes schedulers when a result made an execution due.
    pub due: Coalescer,
}

/// Claims and makes calls until `shutdown` completes; at most `concurrency` at once.
pub async fn run(
    caller: Caller,
    concurrency: usize,
    poll_interval: Duration,
    ready: Arc<Notify>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(concurrency.max(1)));
    tokio::pin!(shutdown);
    loop {
        let free = slots.available_permits();
        let claimed = if free > 0 {
            match calls::claim(&caller.pool, free as i64, caller.lease.as_secs_f64()).await {
                Ok(claimed) => claimed,
                Err(error) => {
                    tracing::warn!(%error, "claiming calls failed");
                    Vec::new()
                }
            }
        } else {
            Vec::new()
        };
        let full = !claimed.is_empty() && claimed.len() == free;
        for call in claimed {
            let Ok(permit) = slots.clone().acquire_owned().await else {
                return;
            };
            let caller = caller.clone();
            tokio::spawn(async move {
                caller.make(call).await;
                drop(permit);
            });
        }
        if full {
            // Every slot is busy: wait for one before claiming more.
            tokio::select! {
                () = &mut shutdown => return,
                permit = slots.clone().acquire_owned() => drop(permit),
            }
            continue;
        }
        let wait = next_wait(&caller.pool, poll_interval).await;
        tokio::select! {
            () = &mut shutdown => return,
            () = ready.notified() => {}
            () = tokio::time::sleep(wait) => {}
        }
    }
}

/// Until the next call is due (a lease ends), at most `poll_interval`: other schedulers' new
/// calls are found by this poll, this one's are announced by `ready`.
async fn next_wait(pool: &PgPool, poll_interval: Duration) -> Duration {
    match calls::next_due(pool).await {
        Ok(Some(due)) => {
            let until = (due - time::OffsetDateTime::now_utc()).whole_milliseconds();
            Duration::from_millis(u64::try_from(until.max(1)).unwrap_or(1)).min(poll_interval)
        }
        _ => poll_interval,
    }
}

impl Caller {
    /// Makes one claimed call and records its result.
    async fn make(&self, claimed: ClaimedCall) {
        let invocation: Invocation = match serde_json::from_value(claimed.call.clone()) {
            Ok(invocation) => invocation,
            Err(error) => {
                let cause = format!("Switchback could not read this task's call: {error}");
                let signal = Signal::TaskFailed {
                    task_id: 0,
                    error: "States.Runtime".into(),
                    cause,
                };
                return self.record(&claimed, &signal, false).await;
            }
        };
        let span = tracing::info_span!(
            "task_call",
            execution_arn = %claimed.execution_arn,
            state = %invocation.state,
            resource = %invocation.resource,
            attempt = claimed.attempts,
        );
        let _entered = span.enter();
        drop(_entered);
        if let Some(mocked) = self.mocked(&claimed, &invocation) {
            return self.record_mocked(&claimed, &invocation, mocked).await;
        }
        if let Call::StartExecution {
            state_machine_arn,
            name,
            input,
        } = &invocation.call
        {
            return self
                .start_child(
                    &claimed,
                    &invocation,
                    state_machine_arn,
                    name.as_deref(),
                    input,
                )
                .await;
        }
        let outcome = self.with_lease(&claimed, self.call_out(&invocation)).await;
        let waits = invocation.pattern.waits_after_call();
        let signal = match outcome {
            Outcome::Succeeded(output) => {
                let output = match &invocation.call {
                    // A function called by its ARN answers with its payload alone.
                    Call::Lambda { direct: true, .. } => {
                        output.get("Payload").cloned().unwrap_or(Value::Null)
                    }
                    _ => output,
                };
                if waits {
                    Signal::TaskSubmitted {
                        task_id: 0,
                        output: output.to_string(),
                    }
                } else {
                    Signal::TaskSucceeded {
                        task_id: 0,
                        output: output.to_string(),
                    }
                }
            }
            Outcome::Failed { error, cause } => Signal::TaskFailed {
                task_id: 0,
                error,
                cause,
            },
        };
        let waits = waits && matches!(signal, Signal::TaskSubmitted { .. });
        self.record(&claimed, &signal, waits).await;
    }

    /// Lambda or HTTP.
    async fn call_out(&self, invocation: &Invocation) -> Outcome {
        let limit = |max: u64| {
            let seconds = invocation
                .timeout_seconds
                .and_then(|s| u64::try_from(s).ok())
                .unwrap_or(max)
                .min(max);
            Duration::from_secs(seconds.max(1))
        };
        match &invocation.call {
            Call::Lambda {
                function_name,
                qualifier,
                payload,
                ..
            } => {
                self.invoker
                    .lambda_invoke(
                        function_name,
                        qualifier.as_deref(),
                        payload,
                        limit(LAMBDA_MAX_SECONDS),
                    )
                    .await
            }
            Call::Http { parameters } => {
                self.invoker
                    .http_invoke(parameters, limit(HTTP_MAX_SECONDS))
                    .await
            }
            Call::StartExecution { .. } => Outcome::Failed {
                error: "States.Runtime".into(),
                cause: "a nested execution is not an outbound call".into(),
            },
        }
    }

    /// Runs `call` while renewing the lease, so a long call is not made twice.
    async fn with_lease<T>(&self, claimed: &ClaimedCall, call: impl Future<Output = T>) -> T {
        tokio::pin!(call);
        let mut renew = tokio::time::interval(self.lease / 3);
        renew.tick().await;
        loop {
            tokio::select! {
                result = &mut call => return result,
                _ = renew.tick() => {
                    if let Err(error) = calls::renew(&self.pool, &claimed.token, self.lease.as_secs_f64()).await {
                        tracing::warn!(%error, "renewing a call's lease failed");
                    }
                }
            }
        }
    }

    /// The mocked response for this call, when its execution runs a test case that mocks it.
    fn mocked(&self, claimed: &ClaimedCall, invocation: &Invocation) -> Option<MockedOutcome> {
        let mocks = self.mocks.as_ref()?;
        let case = claimed.test_case.as_deref()?;
        let machine = claimed
            .state_machine_arn
            .rsplit(':')
            .next()
            .unwrap_or_default();
        match mocks.response(machine, case, &invocation.state, invocation.invocation)? {
            Ok(Mocked::Return(value)) => Some(MockedOutcome::Return(value)),
            Ok(Mocked::Throw { error, cause }) => Some(MockedOutcome::Throw { error, cause }),
            Err(failure) => Some(MockedOutcome::Throw {
                error: failure.error,
                cause: failure.cause,
            }),
        }
    }

    /// A mocked `Return` is the task's result, also for the patterns that would wait (the
    /// callback or child is mocked too), after a `TaskSubmitted` with the same output.
    async fn record_mocked(
        &self,
        claimed: &ClaimedCall,
        invocation: &Invocation,
        mocked: MockedOutcome,
    ) {
        match mocked {
            MockedOutcome::Return(value) => {
                let output = value.to_string();
                if invocation.pattern == Pattern::WaitForTaskToken {
                    let submitted = Signal::TaskSubmitted {
                        task_id: 0,
                        output: output.clone(),
                    };
                    self.record(claimed, &submitted, true).await;
                    let outcome = switchback_store::tasks::Outcome::Succeeded { output };
                    if let Err(error) =
                        switchback_store::tasks::report(&self.pool, &claimed.token, outcome).await
                    {
                        tracing::warn!(%error, "recording a mocked callback failed");
                    }
                    self.due.wake();
                } else {
                    let signal = Signal::TaskSucceeded { task_id: 0, output };
                    self.record(claimed, &signal, false).await;
                }
            }
            MockedOutcome::Throw { error, cause } => {
                let signal = Signal::TaskFailed {
                    task_id: 0,
                    error,
                    cause,
                };
                self.record(claimed, &signal, false).await;
            }
        }
    }

    /// `states:startExecution`: the child is recorded and the parent's task told in one
    /// transaction, so a retried call cannot start a second child.
    async fn start_child(
        &self,
        claimed: &ClaimedCall,
        invocation: &Invocation,
        machine_arn: &str,
        name: Option<&str>,
        input: &str,
    ) {
        let failed = |error: &str, cause: String| Signal::TaskFailed {
            task_id: 0,
            error: format!("StepFunctions.{error}"),
            cause,
        };
        let signal = match self
            .try_start_child(claimed, invocation, machine_arn, name, input)
            .await
        {
            Ok(true) => {
                self.due.wake();
                return;
            }
            // The call was no longer wanted (the parent's state ended meanwhile).
            Ok(false) => return,
            Err(ChildError::Refused { code, message }) => {
                let cause = format!(
                    "{message} (Service: AWSStepFunctions; Status Code: 400; Error Code: {code}; Request ID: {}; Proxy: null)",
                    uuid::Uuid::new_v4()
                );
                failed(&format!("{code}Exception"), cause)
            }
            Err(ChildError::Store(error)) => {
                // The transaction rolled back; the lease runs out and the call is made again.
                tracing::warn!(%error, "starting a child execution failed");
                return;
            }
        };
        self.record(claimed, &signal, false).await;
    }

    /// Ok(false): the parent's task was closed meanwhile and nothing was started.
    async fn try_start_child(
        &self,
        claimed: &ClaimedCall,
        invocation: &Invocation,
        machine_arn: &str,
        name: Option<&str>,
        input: &str,
    ) -> Result<bool, ChildError> {
        let refused = |code: &str, message: String| ChildError::Refused {
            code: code.to_owned(),
            message,
        };
        let parsed = Arn::parse(machine_arn, ResourceKind::StateMachine)
            .map_err(|e| refused("InvalidArn", format!("Invalid Arn: '{e}'")))?;
        let name = name.map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
        if !names::is_valid_resource_name(&name) || name.chars().count() > 80 {
            return Err(refused("InvalidName", format!("Invalid Name: '{name}'")));
        }
        if input.len() > MAX_INPUT_BYTES || serde_json::from_str::<Value>(input).is_err() {
            return Err(refused(
                "InvalidExecutionInput",
                format!("Invalid Execution Input: '{input}'"),
            ));
        }
        let arn_of = |kind: &str| {
            format!(
                "arn:{}:states:{}:{}:{kind}:{}:{name}",
                parsed.partition,
                parsed.region,
                parsed.account,
                parsed.name()
            )
        };
        // Only `.sync` children are tied to their parent: their end ends its task, and stopping
        // the parent stops them.
        let tied = matches!(invocation.pattern, Pattern::Sync | Pattern::Sync2);
        let new = NewExecution {
            scope: Scope {
                account: parsed.account.clone(),
                region: parsed.region.clone(),
            },
            arn: arn_of("execution"),
            express_arn: arn_of("express"),
            state_machine_arn: machine_arn.to_owned(),
            name: name.clone(),
            input: input.to_owned(),
            trace_header: None,
            parent_token: tied.then(|| claimed.token.clone()),
            test_case: None,
        };
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(switchback_store::Error::from)?;
        let child = match executions::start_in(&mut tx, &new).await? {
            Some(child) => child,
            None => {
                tx.rollback().await.map_err(switchback_store::Error::from)?;
                return match executions::why_not_inserted(&self.pool, &new).await? {
                    // The same name and input while it runs: AWS answers with that execution.
                    Started::Existing(child) | Started::New(child) => {
                        self.record_started(claimed, invocation, &child).await
                    }
                    Started::AlreadyExists(existing) => Err(refused(
                        "ExecutionAlreadyExists",
                        format!("Execution Already Exists: '{}'", existing.arn),
                    )),
                    Started::MachineMissing => Err(refused(
                        "StateMachineDoesNotExist",
                        format!("State Machine Does Not Exist: '{machine_arn}'"),
                    )),
                    Started::MachineDeleting => Err(refused(
                        "StateMachineDeleting",
                        format!("State Machine is being deleted: '{machine_arn}'"),
                    )),
                };
            }
        };
        let signal = started_signal(invocation, &child);
        let recorded = calls::record(
            &mut tx,
            &claimed.token,
            &signal,
            tied || invocation.pattern == Pattern::WaitForTaskToken,
        )
        .await?;
        if recorded {
            tx.commit().await.map_err(switchback_store::Error::from)?;
        } else {
            tx.rollback().await.map_err(switchback_store::Error::from)?;
        }
        Ok(recorded)
    }

    async fn record_started(
        &self,
        claimed: &ClaimedCall,
        invocation: &Invocation,
        child: &executions::Execution,
    ) -> Result<bool, ChildError> {
        let signal = started_signal(invocation, child);
        let waits = invocation.pattern.waits_after_call();
        let mut conn = self
            .pool
            .acquire()
            .await
            .map_err(switchback_store::Error::from)?;
        Ok(calls::record(&mut conn, &claimed.token, &signal, waits).await?)
    }

    async fn record(&self, claimed: &ClaimedCall, signal: &Signal, waits: bool) {
        let recorded = match self.pool.acquire().await {
            Ok(mut conn) => calls::record(&mut conn, &claimed.token, signal, waits).await,
            Err(error) => Err(switchback_store::Error::from(error)),
        };
        match recorded {
            Ok(true) => self.due.wake(),
            Ok(false) => tracing::debug!(
                execution_arn = %claimed.execution_arn,
                "call result not wanted any more"
            ),
            // Not recorded: the lease runs out and the call is made again.
            Err(error) => tracing::warn!(%error, "recording a call's result failed"),
        }
    }
}

enum MockedOutcome {
    Return(Value),
    Throw { error: String, cause: String },
}

#[derive(Debug, thiserror::Error)]
enum ChildError {
    #[error("{code}: {message}")]
    Refused { code: String, message: String },
    #[error(transparent)]
    Store(#[from] switchback_store::Error),
}

/// StartExecution's answer as the task's output (request-response), or its submission.
fn started_signal(invocation: &Invocation, child: &executions::Execution) -> Signal {
    let start_ms = crate::advance::millis(child.started_at);
    let request_id = uuid::Uuid::new_v4().to_string();
    let body =
        json!({ "executionArn": child.arn, "startDate": start_ms as f64 / 1000.0 }).to_string();
    let length = body.len().to_string();
    let output = json!({
        "ExecutionArn": child.arn,
        "SdkHttpMetadata": {
            "AllHttpHeaders": {
                "x-amzn-RequestId": [request_id],
                "Content-Length": [length],
                "Content-Type": ["application/x-amz-json-1.0"],
            },
            "HttpHeaders": {
                "Content-Length": length,
                "Content-Type": "application/x-amz-json-1.0",
                "x-amzn-RequestId": request_id,
            },
            "HttpStatusCode": 200,
        },
        "SdkResponseMetadata": { "RequestId": request_id },
        "StartDate": start_ms,
    })
    .to_string();
    if invocation.pattern.waits_after_call() {
        Signal::TaskSubmitted { task_id: 0, output }
    } else {
        Signal::TaskSucceeded { task_id: 0, output }
    }
}
