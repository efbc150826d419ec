//! CreateStateMachine, DescribeStateMachine, DeleteStateMachine, ListStateMachines.

use serde::Deserialize;
use serde_json::{Value, json};
use switchback_asl::arn::{Arn, ResourceKind};
use switchback_asl::diagnostic::invalid_definition_message_for;
use switchback_asl::limits;
use switchback_asl::{MachineType, ValidateOptions, validate};
use switchback_store::state_machines::{self, Created, NewStateMachine, StateMachine};
use switchback_store::versions::{self, Published, Version};

use super::Context;
use super::common::{Paging, Tag, check_name, check_tags, next_token, parse_scoped_arn};
use crate::Error;
use crate::input::{Checks, parse};
use crate::protocol::epoch_seconds;

const LIST: &str = "stateMachines";
// botocore's `Definition` shape: 1 to 1,048,576 characters.
pub use switchback_asl::limits::MAX_DEFINITION_CHARS;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateInput {
    name: Option<String>,
    definition: Option<String>,
    role_arn: Option<String>,
    #[serde(rename = "type")]
    machine_type: Option<String>,
    logging_configuration: Option<Value>,
    tracing_configuration: Option<Value>,
    encryption_configuration: Option<Value>,
    #[serde(default)]
    tags: Vec<Tag>,
    publish: Option<bool>,
    version_description: Option<String>,
}

pub async fn create(context: &Context<'_>, body: Value) -> Result<Value, Error> {
    let input: CreateInput = parse(body)?;
    let mut checks = Checks::new();
    checks
        .required("name", &input.name)
        .length("name", input.name.as_deref(), 1, 80)
        .required("definition", &input.definition)
        .length(
            "definition",
            input.definition.as_deref(),
            1,
            MAX_DEFINITION_CHARS,
        )
        .arn("roleArn", &input.role_arn)
        .one_of(
            "type",
            input.machine_type.as_deref(),
            &["STANDARD", "EXPRESS"],
        )
        .length(
            "versionDescription",
            input.version_description.as_deref(),
            0,
            256,
        );
    let name = input.name.unwrap_or_default();
    let tags = check_tags(&input.tags, &name, &mut checks)?;
    checks.finish()?;
    check_name(&name)?;

    let publish = input.publish.unwrap_or(false);
    check_version_description(publish, input.version_description.as_deref())?;
    let role_arn = input.role_arn.unwrap_or_default();
    check_role_arn(&role_arn)?;
    let machine_type = input.machine_type.unwrap_or_else(|| "STANDARD".to_owned());
    let logging_configuration = check_logging(input.logging_configuration)?;
    let tracing_configuration = check_tracing(input.tracing_configuration)?;
    if let Some(config) = &input.encryption_configuration {
        check_encryption(config)?;
    }
    let encryption_configuration = input.encryption_configuration;

    let definition = input.definition.unwrap_or_default();
    check_definition(&definition, &machine_type)?;

    let scope = context.scope.clone();
    let arn = Arn::format(
        &scope.region,
        &scope.account,
        ResourceKind::StateMachine,
        &[&name],
    );
    let new = NewStateMachine {
        scope,
        name,
        arn,
        machine_type,
        definition,
        role_arn,
        logging_configuration,
        tracing_configuration,
        encryption_configuration,
        tags,
    };
    let machine = match state_machines::create(&context.state.pool, &new).await? {
        Created::New(m) | Created::Existing(m) => m,
        Created::Conflict(m) => return Err(Error::StateMachineAlreadyExists(m.arn)),
        Created::Deleting(m) => return Err(Error::StateMachineDeleting(m.arn)),
    };
    let mut output = json!({
        "stateMachineArn": machine.arn,
        "creationDate": epoch_seconds(machine.created_at),
    });
    if publish {
        let version = match versions::publish(
            &context.state.pool,
            &machine.arn,
            None,
            input.version_description,
        )
        .await?
        {
            Published::Version(version) => version,
            Published::MachineMissing | Published::RevisionConflict { .. } => {
                return Err(Error::StateMachineDoesNotExist(machine.arn));
            }
        };
        output["stateMachineVersionArn"] = Value::from(version.arn);
    }
    Ok(output)
}

/// A version description is only for a request that publishes (AWS's rule and words).
pub fn check_version_description(publish: bool, description: Option<&str>) -> Result<(), Error> {
    if description.is_some() && !publish {
        return Err(Error::Validation(
            "Version description can only be set when publish is true".to_owned(),
        ));
    }
    Ok(())
}

/// Refuses a definition with any error, in AWS's InvalidDefinition words.
pub fn check_definition(definition: &str, machine_type: &str) -> Result<(), Error> {
    let options = ValidateOptions {
        machine_type: if machine_type == "EXPRESS" {
            MachineType::Express
        } else {
            MachineType::Standard
        },
    };
    let diagnostics = validate(definition, &options);
    if diagnostics
        .iter()
        .any(|d| d.severity == switchback_asl::Severity::Error)
    {
        return Err(Error::InvalidDefinition(invalid_definition_message_for(
            definition,
            &diagnostics,
        )));
    }
    Ok(())
}

/// The role must look like an IAM role's ARN (Switchback does not assume roles): an ARN whose
/// account is 12 digits.
pub fn check_role_arn(role_arn: &str) -> Result<(), Error> {
    let fields: Vec<&str> = role_arn.split(':').collect();
    let names_role = fields.len() >= 6
        && fields[0] == "arn"
        && !role_arn.chars().any(char::is_control)
        && fields[4].len() == 12
        && fields[4].bytes().all(|byte| byte.is_ascii_digit());
    if names_role {
        return Ok(());
    }
    Err(Error::InvalidRoleArn(
        limits::quote_prefix(role_arn).into_owned(),
    ))
}

const LOG_LEVELS: [&str; 4] = ["ALL", "ERROR", "FATAL", "OFF"];

/// Fills in AWS's defaults and rejects what AWS rejects.
pub fn check_logging(config: Option<Value>) -> Result<Value, Error> {
    let mut config = config.unwrap_or_else(|| json!({}));
    let Some(object) = config.as_object_mut() else {
        return Err(Error::Serialization(
            "loggingConfiguration must be a structure".to_owned(),
        ));
    };
    let level = object
        .entry("level")
        .or_insert_with(|| Value::from("OFF"))
        .clone();
    let level = level.as_str().unwrap_or_default().to_owned();
    let mut checks = Checks::new();
    checks.one_of("loggingConfiguration.level", Some(&level), &LOG_LEVELS);
    checks.finish()?;
    object
        .entry("includeExecutionData")
        .or_insert(Value::Bool(false));
    let destinations = object
        .get("destinations")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    if level != "OFF" && destinations != 1 {
        return Err(Error::InvalidLoggingConfiguration(
            "Invalid Logging Configuration: Must specify exactly one Log Destination.".to_owned(),
        ));
    }
    if destinations > 1 {
        return Err(Error::InvalidLoggingConfiguration(
            "Invalid Logging Configuration: Must specify exactly one Log Destination.".to_owned(),
        ));
    }
    // An ARN holds no control characters (and the NUL character could not be stored).
    let group = config
        .pointer("/destinations/0/cloudWatchLogsLogGroup/logGroupArn")
        .and_then(Value::as_str);
    if let Some(group) = group.filter(|g| g.chars().any(char::is_control)) {
        return Err(Error::InvalidLoggingConfiguration(format!(
            "Invalid Logging Configuration: Log Group ARN '{}' is not valid.",
            limits::quote_prefix(group)
        )));
    }
    Ok(config)
}

pub fn check_tracing(config: Option<Value>) -> Result<Value, Error> {
    match config {
        None => Ok(json!({ "enabled": false })),
        Some(config) => match config.get("enabled") {
            None | Some(Value::Bool(_)) => {
                let enabled = config
                    .get("enabled")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                Ok(json!({ "enabled": enabled }))
            }
            Some(_) => Err(Error::InvalidTracingConfiguration(
                "Invalid Tracing Configuration: enabled must be a boolean".to_owned(),
            )),
        },
    }
}

/// An `encryptionConfiguration` as AWS describes it: the one chosen, or `AWS_OWNED_KEY` (AWS
/// always encrypts at rest; since customer managed keys came in 2024 every description of a
/// state machine, version or activity names the key, the default included).
pub fn described_encryption(chosen: Option<&Value>) -> Value {
    chosen
        .cloned()
        .unwrap_or_else(|| json!({ "type": "AWS_OWNED_KEY" }))
}

/// Checks an `EncryptionConfiguration` (state machines and activities share the shape).
pub fn check_encryption(config: &Value) -> Result<(), Error> {
    let kind = config.get("type").and_then(Value::as_str);
    let mut checks = Checks::new();
    checks
        .required("encryptionConfiguration.type", &kind)
        .one_of(
            "encryptionConfiguration.type",
            kind,
            &["AWS_OWNED_KEY", "CUSTOMER_MANAGED_KMS_KEY"],
        )
        .length(
            "encryptionConfiguration.kmsKeyId",
            config.get("kmsKeyId").and_then(Value::as_str),
            1,
            2048,
        )
        .range(
            "encryptionConfiguration.kmsDataKeyReusePeriodSeconds",
            config
                .get("kmsDataKeyReusePeriodSeconds")
                .and_then(Value::as_i64),
            60,
            900,
        );
    checks.finish()?;
    // A key id, ARN or alias holds no control characters (and NUL could not be stored).
    if let Some(key) = config
        .get("kmsKeyId")
        .and_then(Value::as_str)
        .filter(|k| k.chars().any(char::is_control))
    {
        return Err(Error::InvalidEncryptionConfiguration(format!(
            "Invalid Encryption Configuration: kmsKeyId '{}' is not a valid KMS key identifier",
            limits::quote_prefix(key)
        )));
    }
    let has_key = config.get("kmsKeyId").is_some();
    match (kind, has_key) {
        (Some("CUSTOMER_MANAGED_KMS_KEY"), false) => Err(Error::InvalidEncryptionConfiguration(
            "Invalid Encryption Configuration: kmsKeyId is required for CUSTOMER_MANAGED_KMS_KEY"
                .to_owned(),
        )),
        (Some("AWS_OWNED_KEY"), true) => Err(Error::InvalidEncryptionConfiguration(
            "Invalid Encryption Configuration: kmsKeyId must not be set for AWS_OWNED_KEY"
                .to_owned(),
        )),
        _ => Ok(()),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ArnInput {
    state_machine_arn: Option<String>,
}

/// The `stateMachineArn` member, and whether it names a machine of the request's scope.
fn state_machine_arn(context: &Context<'_>, body: Value) -> Result<(String, bool), Error> {
    let input: ArnInput = parse(body)?;
    Checks::new()
        .arn("stateMachineArn", &input.state_machine_arn)
        .finish()?;
    let arn = input.state_machine_arn.unwrap_or_default();
    let here = parse_scoped_arn(context, &arn, ResourceKind::StateMachine)?.is_some();
    Ok((arn, here))
}

pub async fn describe(context: &Context<'_>, body: Value) -> Result<Value, Error> {
    let input: ArnInput = parse(body)?;
    let arn = checked_arn(input.state_machine_arn)?;
    let (machine, qualifier) =
        Arn::parse_qualified_machine(&arn).map_err(|error| Error::InvalidArn(error.to_string()))?;
    let missing = || Error::StateMachineDoesNotExist(arn.clone());
    if !super::common::in_scope(context, &machine) {
        return Err(missing());
    }
    if qualifier.is_some() {
        // A version (an alias names no definition of its own).
        let version = versions::describe_version(&context.state.pool, &arn)
            .await?
            .ok_or_else(missing)?;
        let machine = state_machines::describe(&context.state.pool, &version.machine_arn)
            .await?
            .ok_or_else(missing)?;
        return Ok(version_description(&machine, &version));
    }
    let machine = state_machines::describe(&context.state.pool, &arn)
        .await?
        .ok_or_else(missing)?;
    Ok(description(&machine))
}

/// DescribeStateMachine's answer for a version: the version's definition and configuration.
fn version_description(machine: &StateMachine, version: &Version) -> Value {
    let mut output = json!({
        "stateMachineArn": version.arn,
        "name": machine.name,
        "status": machine.status,
        "definition": version.definition,
        "roleArn": version.role_arn,
        "type": machine.machine_type,
        "creationDate": epoch_seconds(version.created_at),
        "loggingConfiguration": version.logging_configuration.0,
        "tracingConfiguration": version.tracing_configuration.0,
    });
    output["encryptionConfiguration"] =
        described_encryption(version.encryption_configuration.as_ref().map(|c| &c.0));
    if let Some(revision) = version.revision_id {
        output["revisionId"] = Value::from(revision.to_string());
    }
    if let Some(description) = &version.description {
        output["description"] = Value::from(description.as_str());
    }
    add_variable_references(&mut output, &version.definition);
    output
}

/// A required `stateMachineArn`-like member, checked for presence and length.
fn checked_arn(arn: Option<String>) -> Result<String, Error> {
    Checks::new().arn("stateMachineArn", &arn).finish()?;
    Ok(arn.unwrap_or_default())
}

/// DescribeStateMachine's answer.
fn description(machine: &StateMachine) -> Value {
    let mut output = json!({
        "stateMachineArn": machine.arn,
        "name": machine.name,
        "status": machine.status,
        "definition": machine.definition,
        "roleArn": machine.role_arn,
        "type": machine.machine_type,
        "creationDate": epoch_seconds(machine.created_at),
        "loggingConfiguration": machine.logging_configuration.0,
        "tracingConfiguration": machine.tracing_configuration.0,
    });
    output["encryptionConfiguration"] =
        described_encryption(machine.encryption_configuration.as_ref().map(|c| &c.0));
    if let Some(revision) = machine.revision_id {
        output["revisionId"] = Value::from(revision.to_string());
    }
    if let Some(updated) = machine.updated_at {
        output["updateDate"] = epoch_seconds(updated);
    }
    add_variable_references(&mut output, &machine.definition);
    output
}

/// `variableReferences` of a description: which variables each state reads, left out when no
/// state reads any (as AWS does).
pub fn add_variable_references(output: &mut Value, definition: &str) {
    let references = switchback_asl::model::variable_references_of(definition);
    if !references.is_empty() {
        output["variableReferences"] = json!(references);
    }
}

pub async fn delete(context: &Context<'_>, body: Value) -> Result<Value, Error> {
    let (arn, here) = state_machine_arn(context, body)?;
    if here {
        state_machines::delete(&context.state.pool, &arn).await?;
    }
    Ok(json!({}))
}

pub async fn list(context: &Context<'_>, body: Value) -> Result<Value, Error> {
    let paging: Paging = parse(body)?;
    let mut checks = Checks::new();
    paging.check(&mut checks);
    checks.finish()?;
    let page = paging.page(context, LIST)?;
    let rows = state_machines::list(
        &context.state.pool,
        &context.scope,
        page.after,
        page.size + 1,
    )
    .await?;
    let positions: Vec<i64> = rows.iter().map(|m| m.seq).collect();
    let items: Vec<Value> = rows
        .iter()
        .take(usize::try_from(page.size).unwrap_or(usize::MAX))
        .map(|m| {
            json!({
                "stateMachineArn": m.arn,
                "name": m.name,
                "type": m.machine_type,
                "creationDate": epoch_seconds(m.created_at),
            })
        })
        .collect();
    let mut output = json!({ "stateMachines": items });
    if let Some(token) = next_token(context, LIST, &page, &positions) {
        output["nextToken"] = Value::from(token);
    }
    Ok(output)
}
