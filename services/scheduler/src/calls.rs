//! Calls to the outside world that integration tasks make: Lambda, HTTP, and nested executions.
//!
//! A step records a call as a task row (in the step's transaction); this loop claims calls
//! under a lease, makes them, renews the lease while a call is in flight, and records each
//! result as a signal for its execution. A scheduler that dies mid-call leaves its lease to
//! expire, and another one makes the call again: calls are at least once, their results are
//! recorded once. A scheduler that stops gives its calls in flight back at once. A mocked test
//! case (`<stateMachineArn>#<case>`) answers from the mock configuration instead of calling out.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use switchback_asl::interpreter::{Call, Invocation, Pattern};
use switchback_asl::mocks::{MockConfig, Mocked};
use switchback_asl::start::{self, Refusal};
use switchback_store::calls::{self, ClaimedCall};
use switchback_store::executions::{self, NewExecution, Started};
use switchback_store::notify::Coalescer;
use switchback_store::signals::Event;
use switchback_store::versions;
use switchback_store::{PgPool, Scope};
use tokio::sync::Notify;
use tokio::task::{JoinHandle, JoinSet};
use tracing::Instrument;

use switchback_invoke::{Invoker, Outcome};

/// How often a result is offered to the database before the call is left to its lease.
const RECORD_ATTEMPTS: u32 = 4;

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

/// Claims and makes calls until `shutdown` completes; at most `concurrency` at once. Calls in
/// flight at shutdown are abandoned and their leases released, so another scheduler makes them
/// at once.
pub async fn run(
    caller: Caller,
    concurrency: usize,
    poll_interval: Duration,
    ready: Arc<Notify>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let concurrency = concurrency.max(1);
    let mut running: JoinSet<()> = JoinSet::new();
    let mut held: HashMap<tokio::task::Id, (String, i32)> = HashMap::new();
    tokio::pin!(shutdown);
    loop {
        while let Some(done) = running.try_join_next_with_id() {
            forget(&mut held, done);
        }
        let free = concurrency.saturating_sub(running.len());
        if free > 0 {
            match calls::claim(&caller.pool, free as i64, caller.lease.as_secs_f64()).await {
                Ok(claimed) => {
                    for call in claimed {
                        if call.attempts > 1 {
                            // Its earlier scheduler died or stopped mid-call.
                            metrics::counter!("switchback_task_calls_retaken_total").increment(1);
                        }
                        let lease = (call.token.clone(), call.attempts);
                        let id = running.spawn(caller.clone().make_guarded(call)).id();
                        held.insert(id, lease);
                    }
                }
                Err(error) => tracing::warn!(%error, "claiming calls failed"),
            }
        }
        let wait = if running.len() >= concurrency {
            poll_interval
        } else {
            next_wait(&caller.pool, poll_interval).await
        };
        tokio::select! {
            () = &mut shutdown => break,
            () = ready.notified() => {}
            () = tokio::time::sleep(wait) => {}
            Some(done) = running.join_next_with_id(), if !running.is_empty() => {
                forget(&mut held, done);
            }
        }
    }
    // Wait until every call stopped (no renewal can land after the release).
    running.shutdown().await;
    let held: Vec<(String, i32)> = held.into_values().collect();
    if let Err(error) = calls::release(&caller.pool, &held).await {
        tracing::warn!(%error, calls = held.len(), "releasing calls in flight failed");
    }
}

fn forget(
    held: &mut HashMap<tokio::task::Id, (String, i32)>,
    done: Result<(tokio::task::Id, ()), tokio::task::JoinError>,
) {
    let id = match done {
        Ok((id, ())) => id,
        Err(error) => error.id(),
    };
    held.remove(&id);
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

/// Aborts the task it holds when dropped (the call loop aborting a call aborts the call).
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// How a `states:startExecution` call went.
enum ChildStart {
    /// The child runs and the parent's task was told.
    Started,
    /// The parent's task was closed meanwhile; nothing was started.
    NotWanted,
    /// StartExecution's own error: `StepFunctions.<code>Exception`.
    Refused(Refusal),
}

impl Caller {
    /// Makes one call; a panic while making it fails the task with `States.Runtime` instead of
    /// leaving the call to be made again forever.
    async fn make_guarded(self, claimed: ClaimedCall) {
        let span = tracing::info_span!(
            "task_call",
            execution_arn = %claimed.execution_arn,
            attempt = claimed.attempts,
        );
        let this = self.clone();
        let call = claimed.clone();
        let mut inner = AbortOnDrop(tokio::spawn(
            async move { this.make(call).await }.instrument(span.clone()),
        ));
        if let Err(error) = (&mut inner.0).await
            && error.is_panic()
        {
            let _entered = span.enter();
            tracing::error!("a task call panicked");
            let signal = Event::TaskFailed {
                task_id: 0,
                error: "States.Runtime".into(),
                cause: "Switchback failed while making this task's call".into(),
            };
            self.record(&claimed, &[signal], false).await;
        }
    }

    /// Makes one claimed call and records its result.
    async fn make(&self, claimed: ClaimedCall) {
        let invocation: Invocation = match serde_json::from_value(claimed.call.clone()) {
            Ok(invocation) => invocation,
            Err(error) => {
                let cause = format!("Switchback could not read this task's call: {error}");
                let signal = Event::TaskFailed {
                    task_id: 0,
                    error: "States.Runtime".into(),
                    cause,
                };
                return self.record(&claimed, &[signal], false).await;
            }
        };
        tracing::debug!(state = %invocation.state, resource = %invocation.resource, "making a task call");
        if let Some(mocked) = self.mocked(&claimed, &invocation) {
            return self.record_mocked(&claimed, &invocation, mocked).await;
        }
        let outcome = match &invocation.call {
            Call::StartExecution {
                state_machine_arn,
                name,
                input,
            } => {
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
            Call::Unsupported { reason, .. } => Outcome::Failed {
                error: "States.Runtime".into(),
                cause: reason.clone(),
            },
            Call::Lambda { .. } | Call::Http { .. } => {
                self.with_lease(&claimed, self.invoker.call(&invocation))
                    .await
            }
        };
        let signal = outcome.into_event(&invocation, 0);
        let waits = matches!(signal, Event::TaskSubmitted { .. });
        self.record(&claimed, &[signal], waits).await;
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
                    let lease = self.lease.as_secs_f64();
                    if let Err(error) = calls::renew(&self.pool, &claimed.token, claimed.attempts, lease).await {
                        tracing::warn!(%error, "renewing a call's lease failed");
                    }
                }
            }
        }
    }

    /// The mocked response for this call, when its execution runs a test case that mocks it.
    fn mocked(&self, claimed: &ClaimedCall, invocation: &Invocation) -> Option<Mocked> {
        let mocks = self.mocks.as_ref()?;
        let case = claimed.test_case.as_deref()?;
        let machine = claimed
            .state_machine_arn
            .rsplit(':')
            .next()
            .unwrap_or_default();
        Some(
            match mocks.response(machine, case, &invocation.state, invocation.invocation)? {
                Ok(mocked) => mocked,
                Err(failure) => Mocked::Throw {
                    error: failure.error,
                    cause: failure.cause,
                },
            },
        )
    }

    /// A mocked `Return` is the task's result, also for the patterns that would wait (the
    /// callback or child is mocked too); a `.waitForTaskToken` state first records it as its
    /// submission, as Step Functions Local does.
    async fn record_mocked(&self, claimed: &ClaimedCall, invocation: &Invocation, mocked: Mocked) {
        let signals = match mocked {
            Mocked::Return(value) => {
                let output = value.to_string();
                let succeeded = Event::TaskSucceeded {
                    task_id: 0,
                    output: output.clone(),
                };
                if invocation.pattern == Pattern::WaitForTaskToken {
                    vec![Event::TaskSubmitted { task_id: 0, output }, succeeded]
                } else {
                    vec![succeeded]
                }
            }
            Mocked::Throw { error, cause } => vec![Event::TaskFailed {
                task_id: 0,
                error,
                cause,
            }],
        };
        self.record(claimed, &signals, false).await;
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
        match self
            .try_start_child(claimed, invocation, machine_arn, name, input)
            .await
        {
            Ok(ChildStart::Started) => {
                let result = if invocation.pattern.waits_after_call() {
                    "submitted"
                } else {
                    "succeeded"
                };
                metrics::counter!("switchback_task_calls_total", "result" => result).increment(1);
                self.due.wake();
            }
            Ok(ChildStart::NotWanted) => {}
            Ok(ChildStart::Refused(refusal)) => {
                let code = refusal.code();
                let cause = format!(
                    "{refusal} (Service: AWSStepFunctions; Status Code: 400; Error Code: {code}; Request ID: {}; Proxy: null)",
                    uuid::Uuid::new_v4()
                );
                let signal = Event::TaskFailed {
                    task_id: 0,
                    error: format!("StepFunctions.{code}Exception"),
                    cause,
                };
                self.record(claimed, &[signal], false).await;
            }
            // The transaction rolled back; the lease runs out and the call is made again.
            Err(error) => tracing::warn!(%error, "starting a child execution failed"),
        }
    }

    async fn try_start_child(
        &self,
        claimed: &ClaimedCall,
        invocation: &Invocation,
        machine_arn: &str,
        name: Option<&str>,
        input: &str,
    ) -> Result<ChildStart, switchback_store::Error> {
        let name = name.map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
        let start = match start::check(machine_arn, name, Some(input.to_owned())) {
            Ok(start) => start,
            Err(refusal) => return Ok(ChildStart::Refused(refusal)),
        };
        // A state machine starts executions only in its own account: another account's machine
        // is, for it, one that does not exist (Switchback has no roles to cross accounts with).
        let parent_account = claimed.execution_arn.split(':').nth(4).unwrap_or_default();
        if start.machine.account != parent_account {
            return Ok(ChildStart::Refused(Refusal::StateMachineDoesNotExist(
                machine_arn.to_owned(),
            )));
        }
        // Only `.sync` children are tied to their parent: their end ends its task, and stopping
        // the parent stops them.
        let tied = matches!(invocation.pattern, Pattern::Sync | Pattern::Sync2);
        let scope = Scope {
            account: start.machine.account.clone(),
            region: start.machine.region.clone(),
        };
        let target = match versions::resolve(&self.pool, &start).await? {
            Ok(target) => target,
            Err(refusal) => return Ok(ChildStart::Refused(refusal)),
        };
        let new = NewExecution {
            parent_token: tied.then(|| claimed.token.clone()),
            ..NewExecution::new(scope, start, target)
        };
        let waits = invocation.pattern.waits_after_call();
        let mut tx = self.pool.begin().await?;
        let child = match executions::start_in(&mut tx, &new).await? {
            Some(child) => child,
            None => {
                tx.rollback().await?;
                return match executions::why_not_inserted(&self.pool, &new).await? {
                    // The same name and input while it runs: AWS answers with that execution,
                    // and a `.sync` task follows it when nobody else does.
                    Started::Existing(child) | Started::New(child) => {
                        let mut tx = self.pool.begin().await?;
                        if tied && !executions::adopt(&mut tx, &child.arn, &claimed.token).await? {
                            tx.rollback().await?;
                            return Ok(ChildStart::Refused(Refusal::ExecutionAlreadyExists(
                                child.arn,
                            )));
                        }
                        tell_parent(tx, claimed, invocation, &child, waits).await
                    }
                    Started::Refused(refusal) => Ok(ChildStart::Refused(refusal)),
                };
            }
        };
        tell_parent(tx, claimed, invocation, &child, waits).await
    }

    /// Records a call's results, retrying a failing database a few times before leaving the
    /// call to its lease (which makes the call again).
    async fn record(&self, claimed: &ClaimedCall, signals: &[Event], waits: bool) {
        let result = match signals.last() {
            Some(Event::TaskFailed { .. }) => "failed",
            Some(Event::TaskSubmitted { .. }) => "submitted",
            _ => "succeeded",
        };
        metrics::counter!("switchback_task_calls_total", "result" => result).increment(1);
        let mut pause = Duration::from_millis(100);
        for attempt in 1..=RECORD_ATTEMPTS {
            let recorded = match self.pool.acquire().await {
                Ok(mut conn) => calls::record(&mut conn, &claimed.token, signals, waits).await,
                Err(error) => Err(switchback_store::Error::from(error)),
            };
            match recorded {
                Ok(true) => return self.due.wake(),
                Ok(false) => {
                    return tracing::debug!(
                        execution_arn = %claimed.execution_arn,
                        "call result not wanted any more"
                    );
                }
                Err(error) if attempt < RECORD_ATTEMPTS => {
                    tracing::debug!(%error, attempt, "recording a call's result failed, retrying");
                    tokio::time::sleep(pause).await;
                    pause *= 3;
                }
                Err(error) => tracing::warn!(%error, "recording a call's result failed"),
            }
        }
    }
}

/// Records the child's start as the parent task's result and commits, with whatever the
/// transaction did for the child; when the task closed meanwhile, nothing is kept.
async fn tell_parent(
    mut tx: switchback_store::Transaction,
    claimed: &ClaimedCall,
    invocation: &Invocation,
    child: &executions::Execution,
    waits: bool,
) -> Result<ChildStart, switchback_store::Error> {
    let signal = started_signal(invocation, child);
    if calls::record(&mut tx, &claimed.token, &[signal], waits).await? {
        tx.commit().await?;
        Ok(ChildStart::Started)
    } else {
        tx.rollback().await?;
        Ok(ChildStart::NotWanted)
    }
}

/// StartExecution's answer as the task's output (request-response), or its submission.
fn started_signal(invocation: &Invocation, child: &executions::Execution) -> Event {
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
        Event::TaskSubmitted { task_id: 0, output }
    } else {
        Event::TaskSucceeded { task_id: 0, output }
    }
}
