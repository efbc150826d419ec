//! One module per group of operations; `dispatch` maps the `X-Amz-Target` operation name to its
//! handler. Every handler takes the request body as JSON and returns the response body.

mod activities;
mod common;
mod executions;
mod map_runs;
mod state_machines;
mod tags;
mod tasks;
mod test_state;
mod validate_definition;
mod versions;

use serde_json::Value;
use switchback_store::Scope;

use crate::{ApiState, Error};

/// A response body: JSON to encode, or JSON text that is already encoded (history pages are
/// stored as the text the API returns and sent without decoding).
pub enum Reply {
    Json(Value),
    Text(String),
}

/// What a handler needs besides its input.
pub struct Context<'a> {
    pub state: &'a ApiState,
    /// The account and region the request acts in.
    pub scope: Scope,
}

/// Every operation of the Step Functions API (botocore's model), for telling a known but not yet
/// served operation from a name that does not exist.
pub(crate) const ALL_OPERATIONS: [&str; 37] = [
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

pub async fn dispatch(context: &Context<'_>, operation: &str, body: Value) -> Result<Reply, Error> {
    if let Some(throttle) = &context.state.config.throttle {
        // AWS sizes the buckets of starts by the machine's type.
        let bucket = match operation {
            "StartExecution" if executions::starts_express(context, throttle, &body).await? => {
                crate::throttle::START_EXPRESS
            }
            other => other,
        };
        throttle.take(&context.scope, bucket)?;
    }
    match operation {
        "CreateActivity" => activities::create(context, body).await.map(Reply::Json),
        "DescribeActivity" => activities::describe(context, body).await.map(Reply::Json),
        "DeleteActivity" => activities::delete(context, body).await.map(Reply::Json),
        "ListActivities" => activities::list(context, body).await.map(Reply::Json),
        "CreateStateMachine" => state_machines::create(context, body).await.map(Reply::Json),
        "DescribeStateMachine" => state_machines::describe(context, body)
            .await
            .map(Reply::Json),
        "DeleteStateMachine" => state_machines::delete(context, body).await.map(Reply::Json),
        "ListStateMachines" => state_machines::list(context, body).await.map(Reply::Json),
        "StartExecution" => executions::start(context, body).await.map(Reply::Json),
        "DescribeExecution" => executions::describe(context, body).await.map(Reply::Json),
        "ListExecutions" => executions::list(context, body).await.map(Reply::Json),
        "RedriveExecution" => executions::redrive(context, body).await.map(Reply::Json),
        "StartSyncExecution" => executions::start_sync(context, body).await.map(Reply::Json),
        "StopExecution" => executions::stop(context, body).await.map(Reply::Json),
        "GetExecutionHistory" => executions::history(context, body).await,
        "DescribeStateMachineForExecution" => executions::describe_state_machine(context, body)
            .await
            .map(Reply::Json),
        "GetActivityTask" => tasks::get_activity_task(context, body)
            .await
            .map(Reply::Json),
        "SendTaskSuccess" => tasks::send_success(context, body).await.map(Reply::Json),
        "SendTaskFailure" => tasks::send_failure(context, body).await.map(Reply::Json),
        "SendTaskHeartbeat" => tasks::send_heartbeat(context, body).await.map(Reply::Json),
        "UpdateStateMachine" => versions::update(context, body).await.map(Reply::Json),
        "PublishStateMachineVersion" => versions::publish(context, body).await.map(Reply::Json),
        "ListStateMachineVersions" => versions::list_versions(context, body)
            .await
            .map(Reply::Json),
        "DeleteStateMachineVersion" => versions::delete_version(context, body)
            .await
            .map(Reply::Json),
        "CreateStateMachineAlias" => versions::create_alias(context, body).await.map(Reply::Json),
        "DescribeStateMachineAlias" => versions::describe_alias(context, body)
            .await
            .map(Reply::Json),
        "UpdateStateMachineAlias" => versions::update_alias(context, body).await.map(Reply::Json),
        "DeleteStateMachineAlias" => versions::delete_alias(context, body).await.map(Reply::Json),
        "ListStateMachineAliases" => versions::list_aliases(context, body).await.map(Reply::Json),
        "DescribeMapRun" => map_runs::describe(context, body).await.map(Reply::Json),
        "ListMapRuns" => map_runs::list(context, body).await.map(Reply::Json),
        "UpdateMapRun" => map_runs::update(context, body).await.map(Reply::Json),
        "TagResource" => tags::tag(context, body).await.map(Reply::Json),
        "UntagResource" => tags::untag(context, body).await.map(Reply::Json),
        "ListTagsForResource" => tags::list(context, body).await.map(Reply::Json),
        "TestState" => test_state::test_state(context, body).await.map(Reply::Json),
        "ValidateStateMachineDefinition" => validate_definition::validate_definition(context, body)
            .await
            .map(Reply::Json),
        "" => Err(Error::UnknownOperation(
            "Missing or malformed X-Amz-Target header: expected AWSStepFunctions.<Operation>"
                .to_owned(),
        )),
        unknown => Err(Error::UnknownOperation(format!(
            "Unknown operation {unknown}"
        ))),
    }
}
