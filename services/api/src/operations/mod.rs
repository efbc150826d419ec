//! One module per group of operations; `dispatch` maps the `X-Amz-Target` operation name to its
//! handler. Every handler takes the request body as JSON and returns the response body.

mod activities;
mod common;
mod execution_input;
mod executions;
mod state_machines;
mod tasks;
mod validate_definition;

use serde_json::Value;
use switchback_store::Scope;

use crate::{ApiState, Error};

/// What a handler needs besides its input.
pub struct Context<'a> {
    pub state: &'a ApiState,
    /// The account and region the request acts in.
    pub scope: Scope,
}

/// Every operation of the Step Functions API (botocore's model), for telling a known but not yet
/// served operation from a name that does not exist.
const ALL_OPERATIONS: [&str; 37] = [
    "CreateActivity",
    "CreateStateMachine",
    "CreateStateMachineAlias",
    "DeleteActivity",
    "DeleteStateMachine",
    "DeleteStateMachineAlias",
    "DeleteStateMachineVersion",
    "DescribeActivity",
    "DescribeExecution",
    "DescribeMapRun",
    "DescribeStateMachine",
    "DescribeStateMachineAlias",
    "DescribeStateMachineForExecution",
    "GetActivityTask",
    "GetExecutionHistory",
    "ListActivities",
    "ListExecutions",
    "ListMapRuns",
    "ListStateMachineAliases",
    "ListStateMachineVersions",
    "ListStateMachines",
    "ListTagsForResource",
    "PublishStateMachineVersion",
    "RedriveExecution",
    "SendTaskFailure",
    "SendTaskHeartbeat",
    "SendTaskSuccess",
    "StartExecution",
    "StartSyncExecution",
    "StopExecution",
    "TagResource",
    "TestState",
    "UntagResource",
    "UpdateMapRun",
    "UpdateStateMachine",
    "UpdateStateMachineAlias",
    "ValidateStateMachineDefinition",
];

/// The operation's name as a `'static` string, if it is one of the API's.
pub fn known_operation(name: &str) -> Option<&'static str> {
    ALL_OPERATIONS.iter().copied().find(|known| *known == name)
}

pub async fn dispatch(context: &Context<'_>, operation: &str, body: Value) -> Result<Value, Error> {
    match operation {
        "CreateActivity" => activities::create(context, body).await,
        "DescribeActivity" => activities::describe(context, body).await,
        "DeleteActivity" => activities::delete(context, body).await,
        "ListActivities" => activities::list(context, body).await,
        "CreateStateMachine" => state_machines::create(context, body).await,
        "DescribeStateMachine" => state_machines::describe(context, body).await,
        "DeleteStateMachine" => state_machines::delete(context, body).await,
        "ListStateMachines" => state_machines::list(context, body).await,
        "StartExecution" => executions::start(context, body).await,
        "DescribeExecution" => executions::describe(context, body).await,
        "ListExecutions" => executions::list(context, body).await,
        "StopExecution" => executions::stop(context, body).await,
        "GetExecutionHistory" => executions::history(context, body).await,
        "DescribeStateMachineForExecution" => {
            executions::describe_state_machine(context, body).await
        }
        "GetActivityTask" => tasks::get_activity_task(context, body).await,
        "SendTaskSuccess" => tasks::send_success(context, body).await,
        "SendTaskFailure" => tasks::send_failure(context, body).await,
        "SendTaskHeartbeat" => tasks::send_heartbeat(context, body).await,
        "ValidateStateMachineDefinition" => {
            validate_definition::validate_definition(context, body).await
        }
        known if ALL_OPERATIONS.contains(&known) => Err(Error::UnknownOperation(format!(
            "Operation {known} is not supported by this version of Switchback"
        ))),
        "" => Err(Error::UnknownOperation(
            "Missing or malformed X-Amz-Target header: expected AWSStepFunctions.<Operation>"
                .to_owned(),
        )),
        unknown => Err(Error::UnknownOperation(format!(
            "Unknown operation {unknown}"
        ))),
    }
}
