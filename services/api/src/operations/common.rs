//! Pieces several operations share: ARN arguments, names, paging, tags.

use serde::Deserialize;
use serde_json::Value;
use switchback_asl::arn::{Arn, ResourceKind};
use switchback_asl::names::is_valid_resource_name;

use super::Context;
use crate::Error;
use crate::input::Checks;

/// `maxResults` of 0 (or none) means the default page size.
const DEFAULT_PAGE_SIZE: i64 = 100;

/// Parses an ARN argument that must name a resource of `kind`.
pub fn parse_arn(value: &str, kind: ResourceKind) -> Result<Arn, Error> {
    Arn::parse(value, kind).map_err(|e| Error::InvalidArn(e.to_string()))
}

/// Whether an ARN names a resource of the request's account and region. Requests act only
/// there: a resource of another region is, for this request, one that does not exist.
pub fn in_scope(context: &Context<'_>, arn: &Arn) -> bool {
    context.scope.holds(arn)
}

/// Parses an ARN argument that must name a resource of `kind`; `None` when it names one outside
/// the request's account and region (see [`in_scope`]).
pub fn parse_scoped_arn(
    context: &Context<'_>,
    value: &str,
    kind: ResourceKind,
) -> Result<Option<Arn>, Error> {
    let arn = parse_arn(value, kind)?;
    Ok(in_scope(context, &arn).then_some(arn))
}

/// Checks a resource name beyond its length (which the model's constraint covers).
pub fn check_name(name: &str) -> Result<(), Error> {
    if is_valid_resource_name(name) {
        Ok(())
    } else {
        Err(Error::InvalidName(name.to_owned()))
    }
}

/// The paging members every List operation has.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Paging {
    pub max_results: Option<i64>,
    pub next_token: Option<String>,
}

/// Where a page starts and how many rows it holds.
pub struct Page {
    pub after: i64,
    pub size: i64,
}

impl Paging {
    pub fn check(&self, checks: &mut Checks) {
        checks
            .range("maxResults", self.max_results, 0, 1000)
            .length("nextToken", self.next_token.as_deref(), 1, 1024);
    }

    /// Resolves the request into a page, verifying the token against the list it must belong to.
    pub fn page(&self, context: &Context<'_>, list: &str) -> Result<Page, Error> {
        let after = match &self.next_token {
            Some(token) => context
                .state
                .page_tokens
                .read(&list_key(context, list), token)?,
            None => 0,
        };
        let size = match self.max_results {
            None | Some(0) => DEFAULT_PAGE_SIZE,
            Some(n) => n,
        };
        Ok(Page { after, size })
    }

    /// As [`Paging::page`], for a list read newest first (positions decreasing): `after` is the
    /// position the page starts below, every position for the first page.
    pub fn newest_first(&self, context: &Context<'_>, list: &str) -> Result<Page, Error> {
        let mut page = self.page(context, list)?;
        if self.next_token.is_none() {
            page.after = i64::MAX;
        }
        Ok(page)
    }
}

/// Tokens are bound to the list and to the scope they were issued in.
fn list_key(context: &Context<'_>, list: &str) -> String {
    format!("{list}/{}/{}", context.scope.account, context.scope.region)
}

/// A List operation's answer: `member` holds the first `page.size` of `rows` (fetched with
/// one extra, to know whether more follow) as `item` renders them, and `nextToken` resumes
/// after the last one's `position`.
pub fn page_of<T>(
    context: &Context<'_>,
    list: &str,
    page: &Page,
    rows: &[T],
    member: &str,
    position: impl Fn(&T) -> i64,
    item: impl Fn(&T) -> Value,
) -> Value {
    let positions: Vec<i64> = rows.iter().map(position).collect();
    let items: Vec<Value> = rows
        .iter()
        .take(usize::try_from(page.size).unwrap_or(usize::MAX))
        .map(item)
        .collect();
    let mut output = serde_json::json!({ member: items });
    if let Some(token) = next_token(context, list, page, &positions) {
        output["nextToken"] = Value::from(token);
    }
    output
}

/// The token for the page after this one: rows were fetched with one extra to know whether
/// there is more, so `positions` may hold `size + 1` entries.
pub fn next_token(
    context: &Context<'_>,
    list: &str,
    page: &Page,
    positions: &[i64],
) -> Option<String> {
    let size = usize::try_from(page.size).unwrap_or(usize::MAX);
    if positions.len() > size {
        let last = positions[size - 1];
        Some(
            context
                .state
                .page_tokens
                .issue(&list_key(context, list), last),
        )
    } else {
        None
    }
}

/// One tag as the API carries it.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
pub struct Tag {
    pub key: Option<String>,
    pub value: Option<String>,
}

/// What AWS allows in tag keys and values: "Unicode letters, digits, white space, or these
/// symbols: _ . : / = + - @" (the `Tag` type of the Step Functions API reference).
const TAG_PATTERN: &str = r"^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$";

fn is_tag_character(c: char) -> bool {
    c.is_alphanumeric() || (c.is_whitespace() && !c.is_control()) || "_.:/=+-@".contains(c)
}

/// AWS allows 50 tags per resource.
const MAX_TAGS: usize = 50;

/// Checks tags and returns them as stored (a JSON list of `{key, value}`, a key given twice
/// kept once with its last value).
pub fn check_tags(tags: &[Tag], resource: &str, checks: &mut Checks) -> Result<Value, Error> {
    if tags.len() > MAX_TAGS {
        return Err(Error::TooManyTags(format!(
            "Too many tags: {} (at most {MAX_TAGS}) for resource '{resource}'",
            tags.len()
        )));
    }
    for (i, tag) in tags.iter().enumerate() {
        let n = i + 1;
        checks
            .required(&format!("tags.{n}.member.key"), &tag.key)
            .length(&format!("tags.{n}.member.key"), tag.key.as_deref(), 1, 128)
            .length(
                &format!("tags.{n}.member.value"),
                tag.value.as_deref(),
                0,
                256,
            );
        for (member, text) in [("key", &tag.key), ("value", &tag.value)] {
            if let Some(text) = text
                && !text.chars().all(is_tag_character)
            {
                checks.custom(
                    &format!("tags.{n}.member.{member}"),
                    Some(text.clone()),
                    &format!("satisfy regular expression pattern: {TAG_PATTERN}"),
                );
            }
        }
    }
    Ok(merge_tags(
        Value::Array(Vec::new()),
        &serde_json::to_value(tags).unwrap_or_default(),
    ))
}

/// `tags` with `added` merged in: a key already there takes the new value in its place.
pub fn merge_tags(tags: Value, added: &Value) -> Value {
    let mut list: Vec<Value> = match tags {
        Value::Array(list) => list,
        _ => Vec::new(),
    };
    for tag in added.as_array().into_iter().flatten() {
        match list.iter_mut().find(|old| old["key"] == tag["key"]) {
            Some(old) => *old = tag.clone(),
            None => list.push(tag.clone()),
        }
    }
    Value::Array(list)
}
