//! Field types shared by the model: paths that may be JSON `null`, numbers that JSONata states
//! may give as `{% %}` expressions, and optional raw fields that keep an explicit `null`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Number, Value};

use super::definition::QueryLanguage;

/// `InputPath`, `OutputPath` and `ResultPath`: absent (the default path `$`) is not the same as
/// `null` (discard the input, the output or the result), so both are kept apart from a path.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum NullablePath {
    #[default]
    Absent,
    Null,
    Path(String),
}

impl NullablePath {
    pub fn is_absent(&self) -> bool {
        matches!(self, NullablePath::Absent)
    }
}

// `Absent` is never serialized (fields skip it), and a present field is `null` or a string.
impl Serialize for NullablePath {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            NullablePath::Absent | NullablePath::Null => serializer.serialize_none(),
            NullablePath::Path(path) => serializer.serialize_str(path),
        }
    }
}

impl<'de> Deserialize<'de> for NullablePath {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(match Option::<String>::deserialize(deserializer)? {
            None => NullablePath::Null,
            Some(path) => NullablePath::Path(path),
        })
    }
}

/// A number a JSONata state may compute instead: `"TimeoutSeconds": "{% $t %}"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OrExpression<T> {
    Literal(T),
    Expression(String),
}

/// Every integer field of the language has a minimum of 0 or 1, so `u64` holds all valid ones.
pub type IntegerField = OrExpression<u64>;
/// Kept as a JSON number so `50` and `50.0` survive a round trip as written.
pub type NumberField = OrExpression<Number>;

impl IntegerField {
    /// The literal as `i64`, as the interpreter computes with it; `None` for an expression.
    pub fn literal_i64(&self) -> Option<i64> {
        match self {
            OrExpression::Literal(n) => i64::try_from(*n).ok(),
            OrExpression::Expression(_) => None,
        }
    }
}

impl NumberField {
    pub fn literal_f64(&self) -> Option<f64> {
        match self {
            OrExpression::Literal(n) => n.as_f64(),
            OrExpression::Expression(_) => None,
        }
    }
}

/// For `Option<Value>` fields where `null` is a value (`"Result": null` is a null result): plain
/// `Option` would read a present `null` as absent. Use with `#[serde(default)]`.
pub fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

/// The data-flow fields of a state, held the same way by every state type; a field the type does
/// not take stays absent (the model refuses it).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct DataFlowFields {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_language: Option<QueryLanguage>,
    #[serde(default, skip_serializing_if = "NullablePath::is_absent")]
    pub input_path: NullablePath,
    #[serde(default, skip_serializing_if = "NullablePath::is_absent")]
    pub output_path: NullablePath,
    #[serde(default, skip_serializing_if = "NullablePath::is_absent")]
    pub result_path: NullablePath,
    /// A payload template (`Parameters` is present even when `null`).
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub parameters: Option<Value>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub result_selector: Option<Value>,
    /// JSONata: what the state works on (any JSON, `{% %}` strings inside).
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub arguments: Option<Value>,
    /// JSONata: the state's output.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub output: Option<Value>,
    /// Variables to assign when the state ends.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub assign: Option<Value>,
}
