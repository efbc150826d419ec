//! Field-level checks shared by every rule: presence, JSON type, numeric ranges, paths and
//! payload templates. Each returns the value when it is usable so rules can go on checking.

use serde_json::{Map, Value};

use super::{Checker, child};
use crate::model::definition::QueryLanguage;
use crate::model::schema::is_expression;

/// Reports the missing ones among `names`, all in one AWS-style message.
pub(crate) fn require(
    checker: &mut Checker<'_>,
    object: &Map<String, Value>,
    names: &[&str],
    location: &str,
) {
    let missing: Vec<&str> = names
        .iter()
        .copied()
        .filter(|name| !object.contains_key(*name))
        .collect();
    if !missing.is_empty() {
        checker.schema(
            format!("These fields are required: [{}]", missing.join(", ")),
            location,
        );
    }
}

/// Reports when more than one of `names` is present.
pub(crate) fn at_most_one(
    checker: &mut Checker<'_>,
    object: &Map<String, Value>,
    names: &[&str],
    location: &str,
) {
    let present = names
        .iter()
        .filter(|name| object.contains_key(**name))
        .count();
    if present > 1 {
        checker.schema(
            format!(
                "Only one of these fields is allowed: [{}]",
                names.join(", ")
            ),
            location,
        );
    }
}

fn wrong_type(checker: &mut Checker<'_>, key: &str, expected: &str, location: &str) {
    checker.schema(
        format!("The value for the field '{key}' must be a {expected}"),
        &child(location, key),
    );
}

pub(crate) fn string<'v>(
    checker: &mut Checker<'_>,
    object: &'v Map<String, Value>,
    key: &str,
    location: &str,
) -> Option<&'v str> {
    match object.get(key)? {
        Value::String(text) => Some(text),
        _ => {
            wrong_type(checker, key, "STRING", location);
            None
        }
    }
}

pub(crate) fn boolean(
    checker: &mut Checker<'_>,
    object: &Map<String, Value>,
    key: &str,
    location: &str,
) -> Option<bool> {
    match object.get(key)? {
        Value::Bool(flag) => Some(*flag),
        _ => {
            wrong_type(checker, key, "BOOLEAN", location);
            None
        }
    }
}

pub(crate) fn object<'v>(
    checker: &mut Checker<'_>,
    object: &'v Map<String, Value>,
    key: &str,
    location: &str,
) -> Option<&'v Map<String, Value>> {
    match object.get(key)? {
        Value::Object(inner) => Some(inner),
        _ => {
            wrong_type(checker, key, "OBJECT", location);
            None
        }
    }
}

/// An array field; an empty one is refused with AWS's `Value cannot be empty` when
/// `non_empty` is set.
pub(crate) fn array<'v>(
    checker: &mut Checker<'_>,
    object: &'v Map<String, Value>,
    key: &str,
    location: &str,
    non_empty: bool,
) -> Option<&'v Vec<Value>> {
    match object.get(key)? {
        Value::Array(items) if non_empty && items.is_empty() => {
            checker.schema("Value cannot be empty", &child(location, key));
            None
        }
        Value::Array(items) => Some(items),
        _ => {
            wrong_type(checker, key, "ARRAY", location);
            None
        }
    }
}

/// An integer field of at least `min`. In JSONata states a `{% %}` expression stands in for
/// the number and yields `None` (its value is only known at run time).
pub(crate) fn integer(
    checker: &mut Checker<'_>,
    object: &Map<String, Value>,
    key: &str,
    location: &str,
    min: i64,
    language: QueryLanguage,
) -> Option<i64> {
    let value = object.get(key)?;
    if language == QueryLanguage::Jsonata && is_expression(value) {
        return None;
    }
    let Some(number) = value.as_i64().or_else(|| value.as_u64().map(|_| i64::MAX)) else {
        wrong_type(checker, key, "INTEGER", location);
        return None;
    };
    if number < min {
        checker.schema(
            format!("The value for the field '{key}' must be greater than or equal to {min}"),
            &child(location, key),
        );
        return None;
    }
    Some(number)
}

/// A number field within `min..=max` (JSONata expressions allowed as for [`integer`]).
pub(crate) fn number(
    checker: &mut Checker<'_>,
    object: &Map<String, Value>,
    key: &str,
    location: &str,
    (min, max): (f64, f64),
    language: QueryLanguage,
) -> Option<f64> {
    let value = object.get(key)?;
    if language == QueryLanguage::Jsonata && is_expression(value) {
        return None;
    }
    let Some(number) = value.as_f64() else {
        wrong_type(checker, key, "NUMBER", location);
        return None;
    };
    if number < min || number > max {
        let bound = if number < min {
            format!("greater than or equal to {min}")
        } else {
            format!("less than or equal to {max}")
        };
        checker.schema(
            format!("The value for the field '{key}' must be {bound}"),
            &child(location, key),
        );
        return None;
    }
    Some(number)
}

/// A reference path (`InputPath`, `ItemsPath`, `SecondsPath`, ...): a string starting with
/// `$` (`$.x`, `$$.x`, `$var`). `nullable` paths may also be `null`.
pub(crate) fn path(
    checker: &mut Checker<'_>,
    object: &Map<String, Value>,
    key: &str,
    location: &str,
    nullable: bool,
) {
    match object.get(key) {
        None => {}
        Some(Value::Null) if nullable => {}
        Some(Value::String(text)) if text.starts_with('$') => {}
        Some(_) => checker.schema(
            format!("The value for the field '{key}' must be a valid JSONPath"),
            &child(location, key),
        ),
    }
}

/// A reference path or an intrinsic function call (`ErrorPath`, `CausePath`), worded as AWS
/// words a `.$` template value, which takes the same two.
pub(crate) fn path_or_intrinsic(
    checker: &mut Checker<'_>,
    object: &Map<String, Value>,
    key: &str,
    location: &str,
) {
    if let Some(Value::String(text)) = object.get(key)
        && !is_path_or_intrinsic(text)
    {
        checker.schema(
            format!(
                "The value for the field '{key}' must be a valid JSONPath or a valid intrinsic function call"
            ),
            &child(location, key),
        );
    }
}

fn is_path_or_intrinsic(text: &str) -> bool {
    text.starts_with('$') || text.starts_with("States.")
}

/// A JSONPath payload template (`Parameters`, `ResultSelector`, `ItemSelector`, `Assign`):
/// every key ending in `.$` must hold a path or an intrinsic function call.
pub(crate) fn template(checker: &mut Checker<'_>, value: &Value, location: &str) {
    match value {
        Value::Object(fields) => {
            for (key, inner) in fields {
                if key.ends_with(".$") {
                    let dynamic = inner.as_str().is_some_and(is_path_or_intrinsic);
                    if !dynamic {
                        checker.schema(
                            format!(
                                "The value for the field '{key}' must be a valid JSONPath or a valid intrinsic function call"
                            ),
                            location,
                        );
                    }
                } else {
                    template(checker, inner, &child(location, key));
                }
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                template(checker, item, &super::element(location, index));
            }
        }
        _ => {}
    }
}

/// A template field that must be an object in JSONPath states, and an object or an
/// expression in JSONata ones.
pub(crate) fn template_field(
    checker: &mut Checker<'_>,
    object: &Map<String, Value>,
    key: &str,
    location: &str,
    language: QueryLanguage,
) {
    let Some(value) = object.get(key) else {
        return;
    };
    match (value, language) {
        (Value::Object(_), QueryLanguage::JsonPath) => {
            template(checker, value, &child(location, key))
        }
        (Value::Object(_), QueryLanguage::Jsonata) => {}
        (_, QueryLanguage::Jsonata) if is_expression(value) => {}
        _ => wrong_type(checker, key, "OBJECT", location),
    }
}

#[cfg(test)]
mod tests {
    use crate::validate::test_support::*;

    #[test]
    fn wrong_types_name_the_expected_type() {
        let definition = single(r#"{"Type":"Pass","Comment":1,"End":"yes"}"#);
        assert_eq!(
            errors(&check(&definition)),
            vec![
                schema(
                    "The value for the field 'Comment' must be a STRING",
                    "/States/A/Comment"
                ),
                schema(
                    "The value for the field 'End' must be a BOOLEAN",
                    "/States/A/End"
                ),
                // A malformed End ends nothing.
                (
                    "MISSING_END_STATE",
                    "Workflow has no terminal state".to_owned(),
                    String::new()
                ),
            ]
        );
    }

    #[test]
    fn paths_must_start_with_a_dollar() {
        let definition =
            single(r#"{"Type":"Pass","InputPath":"a.b","ResultPath":null,"End":true}"#);
        assert_eq!(
            errors(&check(&definition)),
            vec![schema(
                "The value for the field 'InputPath' must be a valid JSONPath",
                "/States/A/InputPath"
            )]
        );
    }

    #[test]
    fn dynamic_template_keys_need_a_path_or_an_intrinsic() {
        let definition = single(
            r#"{"Type":"Pass","Parameters":{"ok.$":"$.a","fn.$":"States.UUID()","nested":{"bad.$":"plain"}},"End":true}"#,
        );
        assert_eq!(
            errors(&check(&definition)),
            vec![schema(
                "The value for the field 'bad.$' must be a valid JSONPath or a valid intrinsic function call",
                "/States/A/Parameters/nested"
            )]
        );
    }

    #[test]
    fn integers_have_lower_bounds() {
        let definition = single(r#"{"Type":"Wait","Seconds":-1,"End":true}"#);
        assert_eq!(
            errors(&check(&definition)),
            vec![schema(
                "The value for the field 'Seconds' must be greater than or equal to 0",
                "/States/A/Seconds"
            )]
        );
    }
}
