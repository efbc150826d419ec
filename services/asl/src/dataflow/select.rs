//! Selecting from a document with a parsed path, with Jayway's semantics (the JSONPath library
//! behind AWS's messages): definite paths yield one value or a Jayway error message; indefinite
//! paths yield the array of matches, empty when nothing matches.

use serde_json::Value;
use serde_json_path::JsonPath;

use super::path::{self, ParsedPath, Root, Segment};
use crate::variables::Env;

/// Why a path selected nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelectError {
    /// The path does not parse; the message says why.
    Syntax(String),
    /// A definite path found nothing; the message is Jayway's (e.g. "No results for path: $['x']").
    NotFound(String),
    /// The path reads a variable that has not been assigned.
    UndefinedVariable(String),
}

impl SelectError {
    pub fn message(&self) -> &str {
        match self {
            SelectError::Syntax(m) | SelectError::NotFound(m) => m,
            SelectError::UndefinedVariable(_) => "The variable is not defined",
        }
    }
}

/// The provider named in Jayway's type-mismatch messages: AWS's documents are Jackson trees.
const PROVIDER: &str = "com.jayway.jsonpath.spi.json.JacksonJsonNodeJsonProvider";

/// Evaluates `path` (`$…` against `input`, `$$…` against the context object, `$name…` against
/// the variable `name`).
pub fn select(path_text: &str, input: &Value, env: &Env<'_>) -> Result<Value, SelectError> {
    let parsed = path::parse(path_text).map_err(SelectError::Syntax)?;
    let document = match &parsed.root {
        Root::Input => input,
        Root::Context => &env.context,
        Root::Variable(name) => env
            .variables
            .get(name)
            .ok_or_else(|| SelectError::UndefinedVariable(name.clone()))?,
    };
    if parsed.is_definite() {
        select_definite(&parsed, document).cloned()
    } else {
        select_indefinite(&parsed, document)
    }
}

/// Walks names and indices the way Jayway does with a Jackson provider: a missing key is an
/// error, an index past the end reads as `null` (Jackson's `ArrayNode.get` returns null).
pub fn select_definite<'a>(
    parsed: &ParsedPath,
    document: &'a Value,
) -> Result<&'a Value, SelectError> {
    static NULL: Value = Value::Null;
    let mut current = document;
    let mut current_path = String::from("$");
    let last = parsed.segments.len().saturating_sub(1);
    for (position, segment) in parsed.segments.iter().enumerate() {
        match segment {
            Segment::Key(key) => {
                let fragment = path::bracket_key(key);
                let Value::Object(map) = current else {
                    return Err(SelectError::NotFound(format!(
                        "Expected to find an object with property {fragment} in path {current_path} but found '{}'. \
                         This is not a json object according to the JsonProvider: '{PROVIDER}'.",
                        path::java_class_name(current)
                    )));
                };
                current_path.push_str(&fragment);
                current = match map.get(key) {
                    Some(value) => value,
                    None if position == last => {
                        return Err(SelectError::NotFound(format!(
                            "No results for path: {}",
                            parsed.to_rfc9535()
                        )));
                    }
                    None => {
                        return Err(SelectError::NotFound(format!(
                            "Missing property in path {current_path}"
                        )));
                    }
                };
            }
            Segment::Index(index) => {
                let items = match current {
                    Value::Array(items) => items,
                    Value::Null => {
                        return Err(SelectError::NotFound(format!(
                            "The path {current_path} is null"
                        )));
                    }
                    other => {
                        return Err(SelectError::NotFound(format!(
                            "Filter: [{index}] can only be applied to arrays. Current context is: {}",
                            java_to_string(other)
                        )));
                    }
                };
                current_path.push_str(&format!("[{index}]"));
                let effective = if *index < 0 {
                    i64::try_from(items.len()).unwrap_or(i64::MAX) + index
                } else {
                    *index
                };
                current = usize::try_from(effective)
                    .ok()
                    .and_then(|i| items.get(i))
                    .unwrap_or(&NULL);
            }
            Segment::Indefinite(_) => {
                return Err(SelectError::Syntax(
                    "indefinite segment in a definite path".into(),
                ));
            }
        }
    }
    Ok(current)
}

/// Wildcards, slices, unions, filters and `..`: the array of matches in document order.
fn select_indefinite(parsed: &ParsedPath, document: &Value) -> Result<Value, SelectError> {
    let text = parsed.to_rfc9535();
    let compiled = JsonPath::parse(&text).map_err(|e| SelectError::Syntax(e.to_string()))?;
    let matches = compiled.query(document).all();
    Ok(Value::Array(matches.into_iter().cloned().collect()))
}

/// How Java prints the value in Jayway's array message: strings raw, Jackson nodes as JSON.
fn java_to_string(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
