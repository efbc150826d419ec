//! The workload: one state machine per kind of work the engine does, the input and the exact
//! output of each execution, and the activity workers.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_sfn::error::ProvideErrorMetadata;
use serde_json::{Value, json};

use super::fleet::{Api, CONNECTION, Fleet};

const ROLE: &str = "arn:aws:iam::123456789012:role/chaos";

/// How long the `slow` Lambda takes: long enough for a fault to find the call in flight.
pub const SLOW_CALL_MS: u64 = 800;

/// How long the `wait` kind waits.
pub const WAIT_SECONDS: i64 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// Five Pass states.
    Pass,
    /// A Wait, then a Pass: a timer.
    Wait,
    /// Two branches of Pass states.
    Parallel,
    /// Three items, two at a time.
    Map,
    /// An activity task with a heartbeat timeout, retried when a delivery is lost.
    Activity,
    /// A Lambda call slow enough to be in flight when a fault strikes.
    Lambda,
    /// An HTTP Task through a connection.
    Http,
    /// A Lambda that always fails: retried twice, then caught.
    RetryCatch,
    /// A child execution of the `pass` machine, waited for (`.sync:2`).
    Child,
}

impl Kind {
    pub const ALL: [Kind; 9] = [
        Kind::Pass,
        Kind::Wait,
        Kind::Parallel,
        Kind::Map,
        Kind::Activity,
        Kind::Lambda,
        Kind::Http,
        Kind::RetryCatch,
        Kind::Child,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Pass => "pass",
            Kind::Wait => "wait",
            Kind::Parallel => "parallel",
            Kind::Map => "map",
            Kind::Activity => "activity",
            Kind::Lambda => "lambda",
            Kind::Http => "http",
            Kind::RetryCatch => "retry-catch",
            Kind::Child => "child",
        }
    }

    fn definition(self, targets: &Targets) -> Value {
        match self {
            Kind::Pass => json!({"StartAt": "A", "States": {
                "A": {"Type": "Pass", "Parameters": {"i.$": "$.i", "step": 1}, "Next": "B"},
                "B": {"Type": "Pass", "Parameters": {"i.$": "$.i", "step": 2}, "Next": "C"},
                "C": {"Type": "Pass", "Parameters": {"i.$": "$.i", "step": 3}, "Next": "D"},
                "D": {"Type": "Pass", "Parameters": {"i.$": "$.i", "step": 4}, "Next": "E"},
                "E": {"Type": "Pass", "Parameters": {"i.$": "$.i", "step": 5}, "End": true}}}),
            Kind::Wait => json!({"StartAt": "W", "States": {
                "W": {"Type": "Wait", "Seconds": WAIT_SECONDS, "Next": "P"},
                "P": {"Type": "Pass", "End": true}}}),
            Kind::Parallel => json!({"StartAt": "P", "States": {"P": {"Type": "Parallel",
                "End": true, "Branches": [
                {"StartAt": "X", "States": {"X": {"Type": "Pass", "InputPath": "$.i", "End": true}}},
                {"StartAt": "Y", "States": {"Y": {"Type": "Pass", "Result": "y", "End": true}}}]}}}),
            Kind::Map => json!({"StartAt": "M", "States": {"M": {"Type": "Map",
                "ItemsPath": "$.items", "MaxConcurrency": 2, "End": true,
                "ItemProcessor": {"StartAt": "D", "States": {"D": {"Type": "Pass",
                    "Parameters": {"v.$": "States.MathAdd($, $)"}, "End": true}}}}}}),
            Kind::Activity => json!({"StartAt": "T", "States": {"T": {"Type": "Task",
                "Resource": targets.activity, "HeartbeatSeconds": 5, "TimeoutSeconds": 120,
                "Retry": [{"ErrorEquals": ["States.Timeout"], "IntervalSeconds": 1,
                    "BackoffRate": 1, "MaxAttempts": 30}],
                "End": true}}}),
            Kind::Lambda => json!({"StartAt": "L", "States": {"L": {"Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "slow",
                    "Payload": {"key.$": "$.i", "sleep_ms": SLOW_CALL_MS}},
                "OutputPath": "$.Payload", "End": true}}}),
            Kind::Http => json!({"StartAt": "H", "States": {"H": {"Type": "Task",
                "Resource": "arn:aws:states:::http:invoke",
                "Parameters": {"ApiEndpoint": format!("{}/echo", targets.http),
                    "Method": "POST", "Authentication": {"ConnectionArn": CONNECTION},
                    "QueryParameters": {"i.$": "States.Format('{}', $.i)"},
                    "RequestBody": {"i.$": "$.i"}},
                "ResultSelector": {"status.$": "$.StatusCode", "query.$": "$.ResponseBody.query"},
                "End": true}}}),
            Kind::RetryCatch => json!({"StartAt": "F", "States": {
                "F": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                    "Parameters": {"FunctionName": "fail", "Payload": {"i.$": "$.i"}},
                    "Retry": [{"ErrorEquals": ["ValueError"], "IntervalSeconds": 1,
                        "BackoffRate": 1, "MaxAttempts": 2}],
                    "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.caught",
                        "Next": "Recovered"}],
                    "End": true},
                "Recovered": {"Type": "Pass",
                    "Parameters": {"i.$": "$.i", "error.$": "$.caught.Error"}, "End": true}}}),
            Kind::Child => json!({"StartAt": "C", "States": {"C": {"Type": "Task",
                "Resource": "arn:aws:states:::states:startExecution.sync:2",
                "Parameters": {"StateMachineArn": targets.pass_machine,
                    "Input": {"i.$": "$.i"}},
                "OutputPath": "$.Output", "End": true}}}),
        }
    }

    pub fn input(self, i: usize) -> Value {
        match self {
            Kind::Map => json!({"i": i, "items": [i, i + 1, i + 2]}),
            _ => json!({"i": i}),
        }
    }

    /// The exact output of execution `i`.
    pub fn output(self, i: usize) -> Value {
        match self {
            Kind::Pass | Kind::Child => json!({"i": i, "step": 5}),
            Kind::Wait | Kind::Activity => json!({"i": i}),
            Kind::Parallel => json!([i, "y"]),
            Kind::Map => json!([{"v": 2 * i}, {"v": 2 * (i + 1)}, {"v": 2 * (i + 2)}]),
            Kind::Lambda => json!({"key": i, "sleep_ms": SLOW_CALL_MS}),
            Kind::Http => json!({"status": 200, "query": format!("i={i}")}),
            Kind::RetryCatch => json!({"i": i, "error": "ValueError"}),
        }
    }
}

/// What definitions point at.
struct Targets {
    activity: String,
    pass_machine: String,
    http: String,
}

/// One started execution.
#[derive(Debug, Clone)]
pub struct Started {
    pub kind: Kind,
    pub i: usize,
    pub arn: String,
}

/// The state machines, and every execution started on them.
pub struct Workload {
    pub api: Api,
    pub activity: String,
    pub machines: Vec<(Kind, String)>,
    next: AtomicUsize,
    started: Mutex<Vec<Started>>,
}

impl Workload {
    pub async fn create(fleet: &Fleet) -> Workload {
        let api = fleet.api.clone();
        let activity = api
            .must(0, "create activity", |c| async move {
                c.create_activity().name("chaos-work").send().await
            })
            .await
            .activity_arn()
            .to_owned();
        let mut targets = Targets {
            activity: activity.clone(),
            pass_machine: String::new(),
            http: fleet.http.endpoint(),
        };
        let mut machines = Vec::new();
        // `pass` first: `child` starts it.
        for kind in Kind::ALL {
            let definition = kind.definition(&targets).to_string();
            let arn = api
                .must(0, "create state machine", |c| {
                    let definition = definition.clone();
                    async move {
                        c.create_state_machine()
                            .name(kind.name())
                            .definition(definition)
                            .role_arn(ROLE)
                            .send()
                            .await
                    }
                })
                .await
                .state_machine_arn()
                .to_owned();
            if kind == Kind::Pass {
                targets.pass_machine = arn.clone();
            }
            machines.push((kind, arn));
        }
        Workload {
            api,
            activity,
            machines,
            next: AtomicUsize::new(0),
            started: Mutex::new(Vec::new()),
        }
    }

    pub fn machine(&self, kind: Kind) -> &str {
        self.machines
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, arn)| arn.as_str())
            .expect("a machine per kind")
    }

    /// Starts one execution of `kind` (named after its number, so a retried start is the same
    /// start) and remembers it.
    pub async fn start(&self, kind: Kind) -> Started {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        let machine = self.machine(kind).to_owned();
        let input = kind.input(i).to_string();
        let name = format!("{}-{i}", kind.name());
        let answer = self
            .api
            .call(i, |c| {
                let (machine, input, name) = (machine.clone(), input.clone(), name.clone());
                async move {
                    c.start_execution()
                        .state_machine_arn(machine)
                        .name(name)
                        .input(input)
                        .send()
                        .await
                }
            })
            .await;
        let arn = match answer.result {
            Ok(started) => started.execution_arn().to_owned(),
            // A start whose answer was cut landed, and its execution ended before the retry:
            // the name is then taken by that very execution.
            Err(error)
                if answer.may_have_landed && error.code() == Some("ExecutionAlreadyExists") =>
            {
                format!(
                    "{}:{name}",
                    machine.replacen(":stateMachine:", ":execution:", 1)
                )
            }
            Err(error) => panic!("start execution failed: {error:?}"),
        };
        let started = Started { kind, i, arn };
        self.started
            .lock()
            .expect("started list")
            .push(started.clone());
        started
    }

    pub fn started(&self) -> Vec<Started> {
        self.started.lock().expect("started list").clone()
    }
}

/// What the activity workers saw.
#[derive(Debug, Default)]
pub struct WorkerTally {
    pub answered: AtomicUsize,
    /// Second answers to a task already answered, refused as AWS refuses them.
    pub late_refused: AtomicUsize,
    /// Second answers that were accepted: each one is a result recorded twice.
    pub late_accepted: Mutex<Vec<String>>,
    /// First answers refused because the task had timed out meanwhile.
    pub timed_out: AtomicUsize,
}

/// Activity workers: each polls any node, heartbeats, answers with the task's input, and then
/// answers again, which must be refused (a late result).
pub fn spawn_workers(
    workload: &Arc<Workload>,
    count: usize,
    stop: &Arc<AtomicBool>,
    tally: &Arc<WorkerTally>,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..count)
        .map(|w| {
            let (workload, stop, tally) = (workload.clone(), stop.clone(), tally.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    work_once(&workload, w, &tally).await;
                }
            })
        })
        .collect()
}

async fn work_once(workload: &Workload, w: usize, tally: &WorkerTally) {
    let api = &workload.api;
    let activity = workload.activity.clone();
    let polled = api
        .call(w, |c| {
            let activity = activity.clone();
            async move {
                c.get_activity_task()
                    .activity_arn(activity)
                    .worker_name(format!("w{w}"))
                    .send()
                    .await
            }
        })
        .await;
    let Ok(task) = polled.result else {
        tokio::time::sleep(Duration::from_millis(100)).await;
        return;
    };
    let Some(token) = task.task_token().map(str::to_owned) else {
        return;
    };
    let input = task.input().unwrap_or("{}").to_owned();
    let _ = api
        .call(w + 1, |c| {
            let token = token.clone();
            async move { c.send_task_heartbeat().task_token(token).send().await }
        })
        .await;
    let answer = |node: usize| {
        let (token, input) = (token.clone(), input.clone());
        api.call(node, move |c| {
            let (token, input) = (token.clone(), input.clone());
            async move {
                c.send_task_success()
                    .task_token(token)
                    .output(input)
                    .send()
                    .await
            }
        })
    };
    let first = answer(w).await;
    match &first.result {
        Ok(_) => {}
        // A refusal after a try that may have landed: that try was the answer.
        Err(_) if first.may_have_landed => {}
        Err(error) if error.code() == Some("TaskTimedOut") => {
            tally.timed_out.fetch_add(1, Ordering::Relaxed);
            return;
        }
        Err(error) => panic!("an activity answer was refused: {error:?}"),
    }
    tally.answered.fetch_add(1, Ordering::Relaxed);
    let late = answer(w + 1).await;
    match &late.result {
        Err(error) if error.code() == Some("TaskTimedOut") => {
            tally.late_refused.fetch_add(1, Ordering::Relaxed);
        }
        Err(error) => panic!("a late answer got {error:?}, not TaskTimedOut"),
        Ok(_) => tally
            .late_accepted
            .lock()
            .expect("tally")
            .push(token.clone()),
    }
}
