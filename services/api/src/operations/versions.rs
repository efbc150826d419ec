//! UpdateStateMachine, versions (PublishStateMachineVersion, ListStateMachineVersions,
//! DeleteStateMachineVersion) and aliases (Create/Describe/Update/Delete/ListStateMachineAliases).

use serde::Deserialize;
use serde_json::{Value, json};
use switchback_asl::arn::{Arn, names_version};
use switchback_store::state_machines;
use switchback_store::versions::{
    self, AliasCreated, AliasUpdated, Changes, Published, VersionDeleted,
};

use super::Context;
use super::common::{Paging, check_name, in_scope, page_of};
use super::state_machines::{
    MAX_DEFINITION_CHARS, check_definition, check_encryption, check_logging, check_role_arn,
    check_tracing, check_version_description,
};
use crate::Error;
use crate::input::{Checks, parse};
use crate::protocol::epoch_seconds;

const VERSIONS: &str = "stateMachineVersions";
const ALIASES: &str = "stateMachineAliases";

/// The unqualified machine an ARN names in the request's scope, or StateMachineDoesNotExist.
fn machine_in_scope(context: &Context<'_>, arn: &str) -> Result<Arn, Error> {
    let (machine, qualifier) =
        Arn::parse_qualified_machine(arn).map_err(|error| Error::InvalidArn(error.to_string()))?;
    if qualifier.is_some() || !in_scope(context, &machine) {
        return Err(Error::StateMachineDoesNotExist(arn.to_owned()));
    }
    Ok(machine)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateInput {
    state_machine_arn: Option<String>,
    definition: Option<String>,
    role_arn: Option<String>,
    logging_configuration: Option<Value>,
    tracing_configuration: Option<Value>,
    encryption_configuration: Option<Value>,
    publish: Option<bool>,
    version_description: Option<String>,
}

pub async fn update(context: &Context<'_>, body: Value) -> Result<Value, Error> {
    let input: UpdateInput = parse(body)?;
    Checks::new()
        .arn("stateMachineArn", &input.state_machine_arn)
        .length(
            "definition",
            input.definition.as_deref(),
            1,
            MAX_DEFINITION_CHARS,
        )
        .optional_arn("roleArn", &input.role_arn)
        .length(
            "versionDescription",
            input.version_description.as_deref(),
            0,
            256,
        )
        .finish()?;
    let arn = input.state_machine_arn.unwrap_or_default();
    let publish = input.publish.unwrap_or(false);
    check_version_description(publish, input.version_description.as_deref())?;
    if input.definition.is_none()
        && input.role_arn.is_none()
        && input.logging_configuration.is_none()
        && input.tracing_configuration.is_none()
        && input.encryption_configuration.is_none()
    {
        return Err(Error::MissingRequiredParameter(
            "Either the definition, the role ARN, the LoggingConfiguration, the EncryptionConfiguration or the TracingConfiguration must be specified".to_owned(),
        ));
    }
    machine_in_scope(context, &arn)?;
    let machine = state_machines::describe(&context.state.pool, &arn)
        .await?
        .filter(|m| m.status == "ACTIVE")
        .ok_or_else(|| Error::StateMachineDoesNotExist(arn.clone()))?;
    if let Some(role) = &input.role_arn {
        check_role_arn(role)?;
    }
    if let Some(definition) = &input.definition {
        check_definition(definition, &machine.machine_type)?;
    }
    let logging_configuration = match input.logging_configuration {
        Some(config) => Some(check_logging(Some(config))?),
        None => None,
    };
    let tracing_configuration = match input.tracing_configuration {
        Some(config) => Some(check_tracing(Some(config))?),
        None => None,
    };
    if let Some(config) = &input.encryption_configuration {
        check_encryption(config)?;
    }
    let changes = Changes {
        definition: input.definition,
        role_arn: input.role_arn,
        logging_configuration,
        tracing_configuration,
        encryption_configuration: input.encryption_configuration,
    };
    let publish = publish.then_some(input.version_description);
    let updated = versions::update(&context.state.pool, &arn, changes, publish)
        .await?
        .ok_or_else(|| Error::StateMachineDoesNotExist(arn.clone()))?;
    let mut output = json!({ "updateDate": epoch_seconds(updated.updated_at) });
    if let Some(revision) = updated.revision_id {
        output["revisionId"] = Value::from(revision.to_string());
    }
    if let Some(version) = updated.version {
        output["stateMachineVersionArn"] = Value::from(version.arn);
    }
    Ok(output)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PublishInput {
    state_machine_arn: Option<String>,
    revision_id: Option<String>,
    description: Option<String>,
}

pub async fn publish(context: &Context<'_>, body: Value) -> Result<Value, Error> {
    let input: PublishInput = parse(body)?;
    Checks::new()
        .arn("stateMachineArn", &input.state_machine_arn)
        .length("revisionId", input.revision_id.as_deref(), 0, 2048)
        .length("description", input.description.as_deref(), 0, 256)
        .finish()?;
    let arn = input.state_machine_arn.unwrap_or_default();
    machine_in_scope(context, &arn)?;
    let published = versions::publish(
        &context.state.pool,
        &arn,
        input.revision_id.as_deref(),
        input.description,
    )
    .await?;
    match published {
        Published::Version(version) => Ok(json!({
            "stateMachineVersionArn": version.arn,
            "creationDate": epoch_seconds(version.created_at),
        })),
        Published::MachineMissing => Err(Error::StateMachineDoesNotExist(arn)),
        Published::RevisionConflict { current } => Err(Error::Conflict(format!(
            "Failed to publish the State Machine version for revision {}. The current State Machine revision is {}.",
            input.revision_id.unwrap_or_default(),
            versions::revision_text(current)
        ))),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListInput {
    state_machine_arn: Option<String>,
    #[serde(flatten)]
    paging: Paging,
}

pub async fn list_versions(context: &Context<'_>, body: Value) -> Result<Value, Error> {
    let input: ListInput = parse(body)?;
    let mut checks = Checks::new();
    checks.arn("stateMachineArn", &input.state_machine_arn);
    input.paging.check(&mut checks);
    checks.finish()?;
    let arn = input.state_machine_arn.unwrap_or_default();
    machine_in_scope(context, &arn)?;
    // A token is good only for the machine it listed.
    let list = format!("{VERSIONS}/{arn}");
    // Newest first: a page continues below the last version number it listed.
    let page = input.paging.newest_first(context, &list)?;
    let below = page.after;
    let rows = versions::list_versions(&context.state.pool, &arn, below, page.size + 1).await?;
    Ok(page_of(
        context,
        &list,
        &page,
        &rows,
        VERSIONS,
        |v| v.version,
        |v| {
            json!({
                "stateMachineVersionArn": v.arn,
                "creationDate": epoch_seconds(v.created_at),
            })
        },
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct VersionInput {
    state_machine_version_arn: Option<String>,
}

pub async fn delete_version(context: &Context<'_>, body: Value) -> Result<Value, Error> {
    let input: VersionInput = parse(body)?;
    Checks::new()
        .arn("stateMachineVersionArn", &input.state_machine_version_arn)
        .finish()?;
    let arn = input.state_machine_version_arn.unwrap_or_default();
    let (machine, qualifier) =
        Arn::parse_qualified_machine(&arn).map_err(|error| Error::InvalidArn(error.to_string()))?;
    if !qualifier.as_deref().is_some_and(names_version) {
        return Err(Error::Validation(format!(
            "Invalid State Machine Version Arn: '{arn}'"
        )));
    }
    if !in_scope(context, &machine) {
        return Ok(json!({}));
    }
    match versions::delete_version(&context.state.pool, &arn).await? {
        VersionDeleted::Deleted => Ok(json!({})),
        VersionDeleted::Routed(aliases) => Err(Error::Conflict(format!(
            "Version to be deleted must not be referenced by an alias. Current list of aliases referencing this version: [{}]",
            aliases.join(", ")
        ))),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AliasInput {
    name: Option<String>,
    description: Option<String>,
    routing_configuration: Option<Vec<Route>>,
    state_machine_alias_arn: Option<String>,
}

#[derive(Deserialize, serde::Serialize, Clone)]
#[serde(rename_all = "camelCase")]
struct Route {
    state_machine_version_arn: Option<String>,
    weight: Option<i64>,
}

/// Checks a routing configuration as AWS does; returns the machine its versions belong to
/// and the version ARNs.
fn check_routing(context: &Context<'_>, routes: &[Route]) -> Result<(String, Vec<String>), Error> {
    let mut checks = Checks::new();
    for (index, route) in routes.iter().enumerate() {
        let n = index + 1;
        checks
            .required(
                &format!("routingConfiguration.{n}.member.stateMachineVersionArn"),
                &route.state_machine_version_arn,
            )
            .required(
                &format!("routingConfiguration.{n}.member.weight"),
                &route.weight,
            )
            .range(
                &format!("routingConfiguration.{n}.member.weight"),
                route.weight,
                0,
                100,
            );
    }
    if routes.len() > 2 || routes.is_empty() {
        let items: Vec<String> = routes
            .iter()
            .map(|r| {
                format!(
                    "RoutingConfigurationListItem(stateMachineVersionArn={}, weight={})",
                    r.state_machine_version_arn.as_deref().unwrap_or("null"),
                    r.weight
                        .map_or_else(|| "null".to_owned(), |w| w.to_string())
                )
            })
            .collect();
        let bound = if routes.is_empty() {
            "greater than or equal to 1"
        } else {
            "less than or equal to 2"
        };
        checks.custom(
            "routingConfiguration",
            Some(format!("[{}]", items.join(", "))),
            &format!("have length {bound}"),
        );
    }
    checks.finish()?;
    let arns: Vec<String> = routes
        .iter()
        .filter_map(|r| r.state_machine_version_arn.clone())
        .collect();
    let received = format!("[{}]", arns.join(", "));
    let mut machines = Vec::new();
    for arn in &arns {
        match Arn::parse_qualified_machine(arn) {
            Ok((machine, Some(q))) if names_version(&q) => machines.push(machine),
            _ => {
                return Err(Error::Validation(format!(
                    "Routing configuration must contain state machine version ARNs. Received: {received}"
                )));
            }
        }
    }
    if arns.len() == 2 && arns[0] == arns[1] {
        return Err(Error::Validation(format!(
            "Routing configuration must contain distinct state machine version ARNs. Received: {received}"
        )));
    }
    if machines.len() == 2 && machines[0] != machines[1] {
        return Err(Error::Validation(format!(
            "Routing configuration must contain state machine version ARNs of the same state machine. Received: {received}"
        )));
    }
    let weights: Vec<i64> = routes.iter().filter_map(|r| r.weight).collect();
    if weights.iter().sum::<i64>() != 100 {
        let listed: Vec<String> = weights.iter().map(i64::to_string).collect();
        return Err(Error::Validation(format!(
            "Sum of routing configuration weights must equal 100. Received: [{}]",
            listed.join(", ")
        )));
    }
    let machine = machines.first().map(Arn::text).unwrap_or_default();
    if machines.first().is_some_and(|m| !in_scope(context, m)) {
        return Err(no_such_alias());
    }
    Ok((machine, arns))
}

fn routing_value(routes: &[Route]) -> Value {
    serde_json::to_value(routes).unwrap_or_default()
}

pub async fn create_alias(context: &Context<'_>, body: Value) -> Result<Value, Error> {
    let input: AliasInput = parse(body)?;
    Checks::new()
        .required("name", &input.name)
        .length("name", input.name.as_deref(), 1, 80)
        .length("description", input.description.as_deref(), 0, 256)
        .required("routingConfiguration", &input.routing_configuration)
        .finish()?;
    let name = input.name.unwrap_or_default();
    check_name(&name)?;
    if names_version(&name) {
        return Err(Error::InvalidName(name));
    }
    let routes = input.routing_configuration.unwrap_or_default();
    let (machine, version_arns) = check_routing(context, &routes)?;
    let arn = format!("{machine}:{name}");
    let created = versions::create_alias(
        &context.state.pool,
        &arn,
        &machine,
        &name,
        input.description.as_deref(),
        &routing_value(&routes),
        &version_arns,
    )
    .await?;
    let alias = match created {
        AliasCreated::New(alias) => alias,
        AliasCreated::Existing(alias)
            if alias.routing.0 == routing_value(&routes)
                && alias.description == input.description =>
        {
            alias
        }
        AliasCreated::Existing(alias) => {
            return Err(Error::Conflict(format!(
                "Failed to create alias because an alias with the same name and a different routing configuration already exists: {}",
                alias.arn
            )));
        }
        AliasCreated::VersionMissing => return Err(no_such_alias()),
    };
    Ok(json!({
        "stateMachineAliasArn": alias.arn,
        "creationDate": epoch_seconds(alias.created_at),
    }))
}

/// The alias ARN a request names, checked: `None` when it is of another scope.
fn alias_arn(context: &Context<'_>, arn: Option<String>) -> Result<Option<String>, Error> {
    Checks::new().arn("stateMachineAliasArn", &arn).finish()?;
    let arn = arn.unwrap_or_default();
    let (machine, qualifier) =
        Arn::parse_qualified_machine(&arn).map_err(|error| Error::InvalidArn(error.to_string()))?;
    if qualifier.as_deref().is_none_or(names_version) {
        return Err(Error::InvalidArn(format!("Invalid Arn: '{arn}'")));
    }
    Ok(in_scope(context, &machine).then_some(arn))
}

/// AWS's answer for an alias, or a version an alias would route to, that does not exist.
fn no_such_alias() -> Error {
    Error::ResourceNotFound("Request references a resource that does not exist.".to_owned())
}

pub async fn describe_alias(context: &Context<'_>, body: Value) -> Result<Value, Error> {
    let input: AliasInput = parse(body)?;
    let arn = alias_arn(context, input.state_machine_alias_arn)?.ok_or_else(no_such_alias)?;
    let alias = versions::describe_alias(&context.state.pool, &arn)
        .await?
        .ok_or_else(no_such_alias)?;
    let mut output = json!({
        "stateMachineAliasArn": alias.arn,
        "name": alias.name,
        "routingConfiguration": alias.routing.0,
        "creationDate": epoch_seconds(alias.created_at),
        "updateDate": epoch_seconds(alias.updated_at),
    });
    if let Some(description) = alias.description {
        output["description"] = Value::from(description);
    }
    Ok(output)
}

pub async fn update_alias(context: &Context<'_>, body: Value) -> Result<Value, Error> {
    let input: AliasInput = parse(body)?;
    Checks::new()
        .length("description", input.description.as_deref(), 0, 256)
        .finish()?;
    let arn = alias_arn(context, input.state_machine_alias_arn)?.ok_or_else(no_such_alias)?;
    if input.description.is_none() && input.routing_configuration.is_none() {
        return Err(Error::MissingRequiredParameter(
            "Either the description or the RoutingConfiguration must be specified".to_owned(),
        ));
    }
    let (routing, version_arns) = match &input.routing_configuration {
        Some(routes) => {
            let (machine, arns) = check_routing(context, routes)?;
            if !arn.starts_with(&format!("{machine}:")) {
                return Err(Error::Validation(format!(
                    "Routing configuration must contain state machine version ARNs of the alias's state machine. Received: [{}]",
                    arns.join(", ")
                )));
            }
            (Some(routing_value(routes)), arns)
        }
        None => (None, Vec::new()),
    };
    let updated = versions::update_alias(
        &context.state.pool,
        &arn,
        input.description.as_deref(),
        routing.as_ref(),
        &version_arns,
    )
    .await?;
    match updated {
        AliasUpdated::Updated(alias) => {
            Ok(json!({ "updateDate": epoch_seconds(alias.updated_at) }))
        }
        AliasUpdated::AliasMissing | AliasUpdated::VersionMissing => Err(no_such_alias()),
    }
}

pub async fn delete_alias(context: &Context<'_>, body: Value) -> Result<Value, Error> {
    let input: AliasInput = parse(body)?;
    if let Some(arn) = alias_arn(context, input.state_machine_alias_arn)? {
        versions::delete_alias(&context.state.pool, &arn).await?;
    }
    Ok(json!({}))
}

pub async fn list_aliases(context: &Context<'_>, body: Value) -> Result<Value, Error> {
    let input: ListInput = parse(body)?;
    let mut checks = Checks::new();
    checks.arn("stateMachineArn", &input.state_machine_arn);
    input.paging.check(&mut checks);
    checks.finish()?;
    // Checked above.
    let arn = input.state_machine_arn.unwrap_or_default();
    // A machine lists its aliases; a version, the aliases that route to it.
    let (machine, qualifier) =
        Arn::parse_qualified_machine(&arn).map_err(|error| Error::InvalidArn(error.to_string()))?;
    let exists = match &qualifier {
        _ if !in_scope(context, &machine) => false,
        None => state_machines::describe(&context.state.pool, &arn)
            .await?
            .is_some(),
        Some(q) if names_version(q) => versions::describe_version(&context.state.pool, &arn)
            .await?
            .is_some(),
        Some(_) => false,
    };
    if !exists {
        return Err(Error::StateMachineDoesNotExist(arn));
    }
    let routing_to = qualifier.is_some().then_some(arn.as_str());
    // AWS words a bad token of this list without repeating it. A token is good only for the
    // machine it listed.
    let list = format!("{ALIASES}/{arn}");
    let page = input
        .paging
        .page(context, &list)
        .map_err(|error| match error {
            Error::InvalidToken(_) => {
                Error::InvalidToken("Invalid Token: 'Invalid token'".to_owned())
            }
            other => other,
        })?;
    let rows = match routing_to {
        Some(version) => {
            versions::list_aliases_routing_to(
                &context.state.pool,
                version,
                page.after,
                page.size + 1,
            )
            .await?
        }
        None => {
            versions::list_aliases(&context.state.pool, &arn, page.after, page.size + 1).await?
        }
    };
    Ok(page_of(
        context,
        &list,
        &page,
        &rows,
        ALIASES,
        |a| a.seq,
        |a| {
            json!({
                "stateMachineAliasArn": a.arn,
                "creationDate": epoch_seconds(a.created_at),
            })
        },
    ))
}
