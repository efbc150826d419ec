//! Map states: the item processor (or legacy `Iterator`) validated as a nested machine,
//! its processor config, item sources, concurrency and failure tolerance, and `Label`.

use serde_json::{Map, Value};

use super::language;
use super::machine::{self, Scope};
use super::{Checker, child, fields};
use crate::diagnostic::{DiagnosticCode, python_repr};
use crate::model::definition::QueryLanguage;
use crate::model::schema::{FieldLanguage, is_expression};

/// AWS's limit on a Map `Label`, in characters.
const MAX_LABEL: usize = 40;

pub(crate) fn validate(
    checker: &mut Checker<'_>,
    state: &Map<String, Value>,
    location: &str,
    language: QueryLanguage,
    scope: Scope,
) {
    processor(checker, state, location, scope);
    items(checker, state, location, language);
    fields::integer(checker, state, "MaxConcurrency", location, 0, language);
    fields::integer(
        checker,
        state,
        "ToleratedFailureCount",
        location,
        0,
        language,
    );
    fields::number(
        checker,
        state,
        "ToleratedFailurePercentage",
        location,
        (0.0, 100.0),
        language,
    );
    for (value, path) in [
        ("MaxConcurrency", "MaxConcurrencyPath"),
        ("ToleratedFailureCount", "ToleratedFailureCountPath"),
        (
            "ToleratedFailurePercentage",
            "ToleratedFailurePercentagePath",
        ),
    ] {
        fields::path(checker, state, path, location, false);
        fields::at_most_one(checker, state, &[value, path], location);
    }
    // Distributed-mode sources and sinks are parsed for shape only: Switchback reads them
    // when it runs them.
    for key in ["ItemReader", "ItemBatcher", "ResultWriter"] {
        fields::object(checker, state, key, location);
    }
    if let Some(label) = fields::string(checker, state, "Label", location) {
        check_label(checker, label, &child(location, "Label"));
    }
}

/// `ItemProcessor` (or the legacy `Iterator`) holds a machine of its own.
fn processor(checker: &mut Checker<'_>, state: &Map<String, Value>, location: &str, scope: Scope) {
    let key = if state.contains_key("ItemProcessor") || !state.contains_key("Iterator") {
        "ItemProcessor"
    } else {
        "Iterator"
    };
    fields::require(checker, state, &[key], location);
    fields::at_most_one(checker, state, &["ItemProcessor", "Iterator"], location);
    let Some(processor) = fields::object(checker, state, key, location) else {
        return;
    };
    let at = child(location, key);
    // A processor cannot declare its own QueryLanguage: its states inherit the machine's.
    language::check_fields(checker, processor, QueryLanguage::JsonPath, &at, |field| {
        matches!(field, "StartAt" | "States" | "Comment" | "ProcessorConfig")
            .then_some(FieldLanguage::Both)
    });
    let express_children = processor_config(checker, processor, &at);
    let inner = Scope {
        express: scope.express || express_children,
    };
    machine::validate_scope(checker, processor, &at, inner);
}

/// Checks `ProcessorConfig`; true when the children run as Express executions.
fn processor_config(
    checker: &mut Checker<'_>,
    processor: &Map<String, Value>,
    location: &str,
) -> bool {
    let Some(config) = fields::object(checker, processor, "ProcessorConfig", location) else {
        return false;
    };
    let at = child(location, "ProcessorConfig");
    language::check_fields(checker, config, QueryLanguage::JsonPath, &at, |field| {
        matches!(field, "Mode" | "ExecutionType").then_some(FieldLanguage::Both)
    });
    let mode = fields::string(checker, config, "Mode", &at);
    if let Some(mode) = mode
        && !matches!(mode, "INLINE" | "DISTRIBUTED")
    {
        checker.schema(
            "The field 'Mode' should have one of these values: [INLINE, DISTRIBUTED]",
            &child(&at, "Mode"),
        );
    }
    if mode == Some("DISTRIBUTED") {
        fields::require(checker, config, &["ExecutionType"], &at);
    }
    let execution_type = fields::string(checker, config, "ExecutionType", &at);
    if let Some(kind) = execution_type
        && !matches!(kind, "STANDARD" | "EXPRESS")
    {
        checker.schema(
            "The field 'ExecutionType' should have one of these values: [STANDARD, EXPRESS]",
            &child(&at, "ExecutionType"),
        );
    }
    mode == Some("DISTRIBUTED") && execution_type == Some("EXPRESS")
}

fn items(
    checker: &mut Checker<'_>,
    state: &Map<String, Value>,
    location: &str,
    language: QueryLanguage,
) {
    fields::path(checker, state, "ItemsPath", location, false);
    if language == QueryLanguage::JsonPath {
        fields::template_field(checker, state, "ItemSelector", location, language);
    }
    // JSONata `Items` is an array, an object (iterated by key) or an expression.
    if let Some(value) = state.get("Items")
        && !(value.is_array() || value.is_object() || is_expression(value))
    {
        checker.schema(
            "The value for the field 'Items' must be an ARRAY or a JSONata expression",
            &child(location, "Items"),
        );
    }
}

/// AWS refuses labels it could not put in a Map Run ARN. It reports them as a Python
/// `ValueError`, naming only the first bad character (in Python's `repr`). The empty label's
/// wording is not recorded from AWS: it is LocalStack's, whose other two label messages match
/// AWS's recordings.
fn check_label(checker: &mut Checker<'_>, label: &str, location: &str) {
    if label.is_empty() {
        checker.error(
            DiagnosticCode::InvalidLabel,
            "Label cannot be empty",
            location,
        );
    } else if let Some(bad) = label.chars().find(|c| !label_char(*c)) {
        checker.error(
            DiagnosticCode::InvalidLabel,
            format!(
                "Label contains invalid character: {}",
                python_repr(&bad.to_string())
            ),
            location,
        );
    } else if label.chars().count() > MAX_LABEL {
        checker.error(
            DiagnosticCode::InvalidLabel,
            format!("Label cannot exceed {MAX_LABEL} characters"),
            location,
        );
    }
}

/// Whitespace, brackets, wildcards, the punctuation AWS reserves, and control characters
/// (C0, DEL and C1) are not allowed in a label.
fn label_char(c: char) -> bool {
    const RESERVED: &str = "<>{}[]?*\"#%\\^|~`$&,;:/";
    !(c.is_whitespace() || c.is_control() || RESERVED.contains(c))
}

#[cfg(test)]
mod tests {
    use crate::validate::test_support::*;

    fn map(extra: &str, processor: &str) -> String {
        single(&format!(
            r#"{{"Type":"Map",{extra}"ItemProcessor":{processor},"End":true}}"#
        ))
    }

    const INLINE: &str = r#"{"ProcessorConfig":{"Mode":"INLINE"},"StartAt":"I","States":{"I":{"Type":"Pass","End":true}}}"#;

    #[test]
    fn an_inline_map_is_clean() {
        let definition = map(
            r#""ItemsPath":"$.xs","MaxConcurrency":2,"Label":"ok-label_1","#,
            INLINE,
        );
        assert!(errors(&check(&definition)).is_empty());
    }

    #[test]
    fn the_legacy_iterator_is_accepted() {
        let definition = single(
            r#"{"Type":"Map","Iterator":{"StartAt":"I","States":{"I":{"Type":"Pass","End":true}}},"End":true}"#,
        );
        assert!(errors(&check(&definition)).is_empty());
    }

    #[test]
    fn a_map_needs_a_processor() {
        assert_eq!(
            errors(&check(&single(r#"{"Type":"Map","End":true}"#))),
            vec![schema(
                "These fields are required: [ItemProcessor]",
                "/States/A"
            )]
        );
    }

    #[test]
    fn processors_cannot_declare_a_query_language() {
        let processor = r#"{"QueryLanguage":"JSONata","StartAt":"I","States":{"I":{"Type":"Pass","End":true}}}"#;
        assert_eq!(
            errors(&check(&map("", processor))),
            vec![schema(
                "Field 'QueryLanguage' is not supported",
                "/States/A/ItemProcessor"
            )]
        );
    }

    #[test]
    fn distributed_maps_need_an_execution_type() {
        let processor = r#"{"ProcessorConfig":{"Mode":"DISTRIBUTED"},"StartAt":"I","States":{"I":{"Type":"Pass","End":true}}}"#;
        assert_eq!(
            errors(&check(&map("", processor))),
            vec![schema(
                "These fields are required: [ExecutionType]",
                "/States/A/ItemProcessor/ProcessorConfig"
            )]
        );
    }

    #[test]
    fn processor_states_are_validated_in_their_own_scope() {
        let processor = r#"{"StartAt":"I","States":{"I":{"Type":"Pass","Next":"A"}}}"#;
        let found = errors(&check(&map("", processor)));
        assert_eq!(
            found[0],
            (
                "MISSING_TRANSITION_TARGET",
                "Missing 'Next' target: A".to_owned(),
                "/States/A/ItemProcessor/States/I/Next".to_owned()
            )
        );
    }

    #[test]
    fn labels_refuse_reserved_characters_in_python_repr() {
        for (label, shown) in [
            ("label_ ", "' '"),
            ("label_\\\"", "'\"'"),
            ("label_\\u0092", "'\\x92'"),
            ("label_\\n", "'\\n'"),
        ] {
            let definition = map(&format!(r#""Label":"{label}","#), INLINE);
            assert_eq!(
                errors(&check(&definition)),
                vec![(
                    "INVALID_LABEL",
                    format!("Label contains invalid character: {shown}"),
                    "/States/A/Label".to_owned()
                )],
                "{label}"
            );
        }
    }

    #[test]
    fn labels_are_at_most_forty_characters() {
        let definition = map(
            r#""Label":"12345678901234567890123456789012345678901","#,
            INLINE,
        );
        assert_eq!(
            errors(&check(&definition)),
            vec![(
                "INVALID_LABEL",
                "Label cannot exceed 40 characters".to_owned(),
                "/States/A/Label".to_owned()
            )]
        );
    }

    #[test]
    fn tolerated_failures_cannot_be_negative() {
        let definition = map(
            r#""ToleratedFailureCount":-1,"ToleratedFailurePercentage":-0.5,"#,
            INLINE,
        );
        assert_eq!(
            errors(&check(&definition)),
            vec![
                schema(
                    "The value for the field 'ToleratedFailureCount' must be greater than or equal to 0",
                    "/States/A/ToleratedFailureCount"
                ),
                schema(
                    "The value for the field 'ToleratedFailurePercentage' must be greater than or equal to 0",
                    "/States/A/ToleratedFailurePercentage"
                ),
            ]
        );
    }

    #[test]
    fn labels_cannot_be_empty() {
        let definition = map(r#""Label":"","#, INLINE);
        assert_eq!(
            errors(&check(&definition)),
            vec![(
                "INVALID_LABEL",
                "Label cannot be empty".to_owned(),
                "/States/A/Label".to_owned()
            )]
        );
    }

    #[test]
    fn express_children_refuse_sync_integrations() {
        let processor = r#"{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"EXPRESS"},"StartAt":"I","States":{"I":{"Type":"Task","Resource":"arn:aws:states:::glue:startJobRun.sync","End":true}}}"#;
        assert_eq!(
            errors(&check(&map("", processor))),
            vec![schema(
                "Express state machine does not support '.sync' service integration",
                "/States/A/ItemProcessor/States/I/Resource"
            )]
        );
    }
}
