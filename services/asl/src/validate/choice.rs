//! Choice states: `Choices` rules in both query languages (JSONPath comparators with
//! `And`/`Or`/`Not`, JSONata `Condition`s) and `Default`.

use serde_json::{Map, Value};

use super::language;
use super::{Checker, child, element, fields, states};
use crate::model::choice::{Comparator, OperandKind};
use crate::model::definition::QueryLanguage;
use crate::model::schema::FieldLanguage;

/// The JSON type a comparator's operand must have.
#[derive(Clone, Copy)]
enum Operand {
    String,
    Number,
    Boolean,
    Path,
}

impl Operand {
    fn accepts(self, value: &Value) -> bool {
        match self {
            Operand::String => value.is_string(),
            Operand::Number => value.is_number(),
            Operand::Boolean => value.is_boolean(),
            Operand::Path => value.as_str().is_some_and(|text| text.starts_with('$')),
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Operand::String => "a STRING",
            Operand::Number => "a NUMBER",
            Operand::Boolean => "a BOOLEAN",
            Operand::Path => "a valid JSONPath",
        }
    }
}

/// What a comparator field's value must be, from the model's one comparator table.
fn comparator(key: &str) -> Option<Operand> {
    let (comparator, path) = Comparator::from_key(key)?;
    Some(match (path, comparator.operand_kind()) {
        (true, _) => Operand::Path,
        (false, OperandKind::String) => Operand::String,
        (false, OperandKind::Number) => Operand::Number,
        (false, OperandKind::Boolean) => Operand::Boolean,
    })
}

pub(crate) fn validate(
    checker: &mut Checker<'_>,
    state: &Map<String, Value>,
    location: &str,
    language: QueryLanguage,
) {
    fields::require(checker, state, &["Choices"], location);
    fields::string(checker, state, "Default", location);
    let Some(rules) = fields::array(checker, state, "Choices", location, true) else {
        return;
    };
    let rules_location = child(location, "Choices");
    for (index, rule) in rules.iter().enumerate() {
        let rule_location = element(&rules_location, index);
        match rule {
            Value::Object(rule) => top_rule(checker, rule, &rule_location, language),
            _ => checker.schema(
                "The value for the field 'Choices' must be a OBJECT",
                &rule_location,
            ),
        }
    }
}

/// A rule directly under `Choices`: it alone carries `Next`, `Assign` and `Output`.
fn top_rule(
    checker: &mut Checker<'_>,
    rule: &Map<String, Value>,
    location: &str,
    language: QueryLanguage,
) {
    language::check_fields(checker, rule, language, location, |key| match key {
        "Next" | "Assign" | "Comment" => Some(FieldLanguage::Both),
        "Condition" | "Output" => Some(FieldLanguage::JsonataOnly),
        "Variable" | "And" | "Or" | "Not" => Some(FieldLanguage::JsonPathOnly),
        other => comparator(other).map(|_| FieldLanguage::JsonPathOnly),
    });
    fields::require(checker, rule, &["Next"], location);
    fields::string(checker, rule, "Next", location);
    fields::string(checker, rule, "Comment", location);
    states::assign(checker, rule, location, language);
    match language {
        QueryLanguage::Jsonata => {
            fields::require(checker, rule, &["Condition"], location);
            if let Some(condition) = rule.get("Condition")
                && !condition.is_string()
                && !condition.is_boolean()
            {
                checker.schema(
                    "The value for the field 'Condition' must be a STRING",
                    &child(location, "Condition"),
                );
            }
        }
        QueryLanguage::JsonPath => condition(checker, rule, location),
    }
}

/// A rule nested in `And`/`Or`/`Not`: a condition only.
fn nested_rule(checker: &mut Checker<'_>, rule: &Value, location: &str) {
    let Value::Object(rule) = rule else {
        checker.schema(
            "The value for a nested Choice Rule must be a OBJECT",
            location,
        );
        return;
    };
    language::check_fields(checker, rule, QueryLanguage::JsonPath, location, |key| {
        let known = matches!(key, "Variable" | "And" | "Or" | "Not" | "Comment")
            || comparator(key).is_some();
        known.then_some(FieldLanguage::Both)
    });
    condition(checker, rule, location);
}

/// The condition part of a JSONPath rule: exactly one of `And`, `Or`, `Not` or a
/// comparator, and a `Variable` for the comparator.
fn condition(checker: &mut Checker<'_>, rule: &Map<String, Value>, location: &str) {
    let operators: Vec<&str> = rule
        .keys()
        .map(String::as_str)
        .filter(|key| matches!(*key, "And" | "Or" | "Not") || comparator(key).is_some())
        .collect();
    if operators.len() != 1 {
        checker.schema(
            "A Choice Rule must contain exactly one comparison operator or one of: [And, Or, Not]",
            location,
        );
    }
    for key in operators {
        match key {
            "And" | "Or" => {
                if let Some(rules) = fields::array(checker, rule, key, location, true) {
                    let list_location = child(location, key);
                    for (index, inner) in rules.iter().enumerate() {
                        nested_rule(checker, inner, &element(&list_location, index));
                    }
                }
            }
            "Not" => {
                if let Some(inner) = rule.get("Not") {
                    nested_rule(checker, inner, &child(location, "Not"));
                }
            }
            _ => comparison(checker, rule, key, location),
        }
    }
}

fn comparison(checker: &mut Checker<'_>, rule: &Map<String, Value>, key: &str, location: &str) {
    fields::require(checker, rule, &["Variable"], location);
    fields::path(checker, rule, "Variable", location, false);
    let (Some(operand), Some(value)) = (comparator(key), rule.get(key)) else {
        return;
    };
    if !operand.accepts(value) {
        checker.schema(
            format!(
                "The value for the field '{key}' must be {}",
                operand.describe()
            ),
            &child(location, key),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::validate::test_support::*;

    fn choice(rules: &str) -> String {
        format!(
            r#"{{"StartAt":"C","States":{{"C":{{"Type":"Choice","Choices":{rules},"Default":"D"}},"D":{{"Type":"Succeed"}}}}}}"#
        )
    }

    #[test]
    fn comparators_and_combinators_are_clean() {
        let definition = choice(
            r#"[{"Variable":"$.a","NumericGreaterThanEquals":1,"Next":"D"},
                {"And":[{"Variable":"$.b","IsPresent":true},{"Not":{"Variable":"$.c","StringMatches":"x*"}}],"Next":"D"},
                {"Variable":"$.d","TimestampLessThanPath":"$.e","Next":"D"}]"#,
        );
        assert!(errors(&check(&definition)).is_empty());
    }

    #[test]
    fn choices_must_not_be_empty() {
        assert_eq!(
            errors(&check(&choice("[]"))),
            vec![schema("Value cannot be empty", "/States/C/Choices")]
        );
    }

    #[test]
    fn top_rules_need_next_and_nested_rules_take_none() {
        let definition = choice(
            r#"[{"Variable":"$.a","IsNull":true},{"Not":{"Variable":"$.a","IsNull":true,"Next":"D"},"Next":"D"}]"#,
        );
        assert_eq!(
            errors(&check(&definition)),
            vec![
                schema("These fields are required: [Next]", "/States/C/Choices[0]"),
                schema("Field 'Next' is not supported", "/States/C/Choices[1]/Not"),
            ]
        );
    }

    #[test]
    fn a_rule_holds_exactly_one_operator() {
        let definition = choice(
            r#"[{"Variable":"$.a","StringEquals":"x","IsNull":true,"Next":"D"},{"Variable":"$.a","Next":"D"}]"#,
        );
        let message =
            "A Choice Rule must contain exactly one comparison operator or one of: [And, Or, Not]";
        assert_eq!(
            errors(&check(&definition)),
            vec![
                schema(message, "/States/C/Choices[0]"),
                schema(message, "/States/C/Choices[1]"),
            ]
        );
    }

    #[test]
    fn operands_have_the_comparator_type() {
        let definition = choice(
            r#"[{"Variable":"$.a","NumericEquals":"1","Next":"D"},{"Variable":"a","BooleanEqualsPath":"b","Next":"D"}]"#,
        );
        assert_eq!(
            errors(&check(&definition)),
            vec![
                schema(
                    "The value for the field 'NumericEquals' must be a NUMBER",
                    "/States/C/Choices[0]/NumericEquals"
                ),
                schema(
                    "The value for the field 'Variable' must be a valid JSONPath",
                    "/States/C/Choices[1]/Variable"
                ),
                schema(
                    "The value for the field 'BooleanEqualsPath' must be a valid JSONPath",
                    "/States/C/Choices[1]/BooleanEqualsPath"
                ),
            ]
        );
    }

    #[test]
    fn jsonata_rules_use_conditions() {
        let good = r#"{"StartAt":"C","QueryLanguage":"JSONata","States":{"C":{"Type":"Choice","Choices":[{"Condition":"{% $states.input.a %}","Next":"D","Output":1}],"Default":"D"},"D":{"Type":"Succeed"}}}"#;
        assert!(errors(&check(good)).is_empty());
        let bad = r#"{"StartAt":"C","QueryLanguage":"JSONata","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.a","IsNull":true,"Next":"D"}]},"D":{"Type":"Succeed"}}}"#;
        assert_eq!(
            errors(&check(bad)),
            vec![
                schema(
                    "The QueryLanguage is set to 'JSONata', but field 'Variable' is only supported for the 'JSONPath' QueryLanguage",
                    "/States/C/Choices[0]"
                ),
                schema(
                    "The QueryLanguage is set to 'JSONata', but field 'IsNull' is only supported for the 'JSONPath' QueryLanguage",
                    "/States/C/Choices[0]"
                ),
                schema(
                    "These fields are required: [Condition]",
                    "/States/C/Choices[0]"
                ),
            ]
        );
    }
}
