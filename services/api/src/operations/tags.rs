//! TagResource, UntagResource, ListTagsForResource on state machines and activities.
//!
//! Tags are kept as a list in the order their keys were first given; tagging a key again
//! replaces its value (as AWS lists them). The 50-tag limit applies to the result.

use serde::Deserialize;
use serde_json::{Value, json};
use switchback_asl::arn::{Arn, ResourceKind};
use switchback_store::tags::{self, Tagged};

use super::Context;
use super::common::{Tag, check_tags, in_scope, merge_tags as merged};
use crate::Error;
use crate::input::{Checks, parse};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TagInput {
    resource_arn: Option<String>,
    tags: Option<Vec<Tag>>,
    tag_keys: Option<Vec<String>>,
}

/// The resource a `resourceArn` names: its kind, when it is one this account and region hold.
fn resource(context: &Context<'_>, arn: &str) -> Result<Tagged, Error> {
    let not_found = || not_found_error(arn);
    let (parsed, kind) = match Arn::parse(arn, ResourceKind::StateMachine) {
        Ok(parsed) => (parsed, Tagged::StateMachine),
        Err(_) => match Arn::parse(arn, ResourceKind::Activity) {
            Ok(parsed) => (parsed, Tagged::Activity),
            Err(error) => return Err(Error::InvalidArn(error.to_string())),
        },
    };
    if in_scope(context, &parsed) {
        Ok(kind)
    } else {
        Err(not_found())
    }
}

/// AWS's answer for a resource that does not exist.
fn not_found_error(arn: &str) -> Error {
    Error::ResourceNotFound(format!("Resource not found: '{arn}'"))
}

fn arn_of(request: &TagInput) -> Result<String, Error> {
    Checks::new()
        .arn("resourceArn", &request.resource_arn)
        .finish()?;
    Ok(request.resource_arn.clone().unwrap_or_default())
}

pub async fn tag(context: &Context<'_>, body: Value) -> Result<Value, Error> {
    let request: TagInput = parse(body)?;
    let arn = arn_of(&request)?;
    let mut checks = Checks::new();
    checks.required("tags", &request.tags);
    let added = check_tags(
        request.tags.as_deref().unwrap_or_default(),
        &arn,
        &mut checks,
    )?;
    checks.finish()?;
    let kind = resource(context, &arn)?;
    let found = tags::change(&context.state.pool, kind, &arn, |current| {
        let all = merged(current, &added);
        // The limit holds for what the resource ends with (its message is `check_tags`').
        let all_tags: Vec<Tag> = serde_json::from_value(all.clone()).unwrap_or_default();
        check_tags(&all_tags, &arn, &mut Checks::new())?;
        Ok::<_, Error>(all)
    })
    .await?;
    if !found {
        return Err(not_found_error(&arn));
    }
    Ok(json!({}))
}

pub async fn untag(context: &Context<'_>, body: Value) -> Result<Value, Error> {
    let request: TagInput = parse(body)?;
    let arn = arn_of(&request)?;
    let mut checks = Checks::new();
    checks.required("tagKeys", &request.tag_keys);
    for (index, key) in request.tag_keys.iter().flatten().enumerate() {
        checks.length(&format!("tagKeys.{}.member", index + 1), Some(key), 1, 128);
    }
    checks.finish()?;
    let kind = resource(context, &arn)?;
    let removed = request.tag_keys.unwrap_or_default();
    let found = tags::change(&context.state.pool, kind, &arn, |current| {
        let kept: Vec<Value> = match current {
            Value::Array(list) => list
                .into_iter()
                .filter(|tag| !removed.iter().any(|key| tag["key"] == *key))
                .collect(),
            _ => Vec::new(),
        };
        Ok::<_, Error>(Value::Array(kept))
    })
    .await?;
    if !found {
        return Err(not_found_error(&arn));
    }
    Ok(json!({}))
}

pub async fn list(context: &Context<'_>, body: Value) -> Result<Value, Error> {
    let request: TagInput = parse(body)?;
    let arn = arn_of(&request)?;
    let kind = resource(context, &arn)?;
    match tags::list(&context.state.pool, kind, &arn).await? {
        Some(tags) => Ok(json!({ "tags": tags })),
        None => Err(not_found_error(&arn)),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::merged;

    #[test]
    fn tagging_a_key_again_replaces_its_value_in_place() {
        let tags = json!([{"key": "a", "value": "1"}, {"key": "b", "value": "2"}]);
        let added = json!([{"key": "b", "value": "3"}, {"key": "c", "value": ""}, {"key": "c", "value": ""}]);
        assert_eq!(
            merged(tags, &added),
            json!([{"key": "a", "value": "1"}, {"key": "b", "value": "3"}, {"key": "c", "value": ""}])
        );
    }
}
