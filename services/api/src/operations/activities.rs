//! CreateActivity, DescribeActivity, DeleteActivity, ListActivities.

use serde::Deserialize;
use serde_json::{Value, json};
use switchback_asl::arn::{Arn, ResourceKind};
use switchback_store::activities::{self, Activity, Created, NewActivity};

use super::Context;
use super::common::{Paging, Tag, check_name, check_tags, next_token, parse_scoped_arn};
use super::state_machines::{check_encryption, described_encryption};
use crate::Error;
use crate::input::{Checks, parse};
use crate::protocol::epoch_seconds;

const LIST: &str = "activities";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateInput {
    name: Option<String>,
    #[serde(default)]
    tags: Vec<Tag>,
    encryption_configuration: Option<Value>,
}

pub async fn create(context: &Context<'_>, body: Value) -> Result<Value, Error> {
    let input: CreateInput = parse(body)?;
    let mut checks = Checks::new();
    checks
        .required("name", &input.name)
        .length("name", input.name.as_deref(), 1, 80);
    let name = input.name.unwrap_or_default();
    let tags = check_tags(&input.tags, &name, &mut checks)?;
    checks.finish()?;
    check_name(&name)?;
    if let Some(config) = &input.encryption_configuration {
        check_encryption(config)?;
    }

    let scope = context.scope.clone();
    let arn = Arn::format(
        &scope.region,
        &scope.account,
        ResourceKind::Activity,
        &[&name],
    );
    let new = NewActivity {
        scope,
        name,
        arn,
        tags,
        encryption_configuration: input.encryption_configuration,
    };
    let activity = match activities::create(&context.state.pool, &new).await? {
        Created::New(a) => a,
        // The same name again answers the activity, unless it asks for another encryption.
        Created::Existing(a)
            if described_encryption(a.encryption_configuration.as_ref().map(|c| &c.0))
                != described_encryption(new.encryption_configuration.as_ref()) =>
        {
            return Err(Error::ActivityAlreadyExists(format!(
                "Activity already exists. EncryptionConfiguration may not be updated: '{}'",
                a.arn
            )));
        }
        Created::Existing(a) => a,
    };
    Ok(json!({
        "activityArn": activity.arn,
        "creationDate": epoch_seconds(activity.created_at),
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ArnInput {
    activity_arn: Option<String>,
}

/// The `activityArn` member, and whether it names an activity of the request's scope.
fn activity_arn(context: &Context<'_>, body: Value) -> Result<(String, bool), Error> {
    let input: ArnInput = parse(body)?;
    Checks::new()
        .arn("activityArn", &input.activity_arn)
        .finish()?;
    let arn = input.activity_arn.unwrap_or_default();
    let here = parse_scoped_arn(context, &arn, ResourceKind::Activity)?.is_some();
    Ok((arn, here))
}

pub async fn describe(context: &Context<'_>, body: Value) -> Result<Value, Error> {
    let (arn, here) = activity_arn(context, body)?;
    let found = match here {
        true => activities::describe(&context.state.pool, &arn).await?,
        false => None,
    };
    let activity = found.ok_or(Error::ActivityDoesNotExist(arn))?;
    let mut output = summary(&activity);
    output["encryptionConfiguration"] =
        described_encryption(activity.encryption_configuration.as_ref().map(|c| &c.0));
    Ok(output)
}

pub async fn delete(context: &Context<'_>, body: Value) -> Result<Value, Error> {
    let (arn, here) = activity_arn(context, body)?;
    if here {
        activities::delete(&context.state.pool, &arn).await?;
    }
    Ok(json!({}))
}

pub async fn list(context: &Context<'_>, body: Value) -> Result<Value, Error> {
    let paging: Paging = parse(body)?;
    let mut checks = Checks::new();
    paging.check(&mut checks);
    checks.finish()?;
    let page = paging.page(context, LIST)?;
    let rows = activities::list(
        &context.state.pool,
        &context.scope,
        page.after,
        page.size + 1,
    )
    .await?;
    let positions: Vec<i64> = rows.iter().map(|a| a.seq).collect();
    let items: Vec<Value> = rows
        .iter()
        .take(usize::try_from(page.size).unwrap_or(usize::MAX))
        .map(summary)
        .collect();
    let mut output = json!({ "activities": items });
    if let Some(token) = next_token(context, LIST, &page, &positions) {
        output["nextToken"] = Value::from(token);
    }
    Ok(output)
}

fn summary(activity: &Activity) -> Value {
    json!({
        "activityArn": activity.arn,
        "name": activity.name,
        "creationDate": epoch_seconds(activity.created_at),
    })
}
