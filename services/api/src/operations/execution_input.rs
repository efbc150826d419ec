//! Checking an execution's input as AWS does: any JSON value up to 256 KiB, with the parser's
//! complaint in the error for anything else.

use switchback_asl::limits::{self, MAX_PAYLOAD_BYTES as MAX_INPUT_BYTES};

use crate::Error;

pub fn check_input(input: &str) -> Result<(), Error> {
    let invalid = |reason: String| {
        Error::InvalidExecutionInput(format!("Invalid State Machine Execution Input: '{reason}'"))
    };
    if input.len() > MAX_INPUT_BYTES {
        return Err(invalid(format!(
            "The input is {} bytes, more than the limit of {MAX_INPUT_BYTES} bytes",
            input.len()
        )));
    }
    if input.trim().is_empty() {
        return Err(invalid("Invalid execution input.".to_owned()));
    }
    match serde_json::from_str::<serde_json::Value>(input) {
        Ok(value) if limits::too_deep(&value) => Err(invalid(format!(
            "The input is nested deeper than the limit of {} levels",
            limits::MAX_DEPTH
        ))),
        Ok(_) => Ok(()),
        Err(error) => Err(invalid(parser_message(input, &error))),
    }
}

/// AWS reports input errors in the words of its JSON parser; the common cases are rendered the
/// same way here, anything else with this parser's own description.
fn parser_message(input: &str, error: &serde_json::Error) -> String {
    let text = input.trim_start();
    let first = text.chars().next().unwrap_or(' ');
    if first.is_alphabetic() {
        let token: String = text
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        return format!(
            "Unrecognized token '{token}': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')"
        );
    }
    // An object whose key does not start with a double quote.
    if first == '{' {
        let after = text[1..].trim_start();
        if let Some(c) = after.chars().next()
            && c != '"'
            && c != '}'
        {
            return format!(
                "Unexpected character ('{c}' (code {})): was expecting double-quote to start field name",
                c as u32
            );
        }
    }
    error.to_string()
}

#[cfg(test)]
mod tests {
    use super::check_input;

    fn message(input: &str) -> String {
        check_input(input).unwrap_err().to_string()
    }

    #[test]
    fn any_json_value_is_fine() {
        for input in ["{}", "2", "\"text\"", "null", "[1, 2]"] {
            assert!(check_input(input).is_ok(), "{input}");
        }
    }

    #[test]
    fn errors_read_like_aws() {
        assert_eq!(
            message("not some json"),
            "Invalid State Machine Execution Input: 'Unrecognized token 'not': was expecting \
             (JSON String, Number, Array, Object or token 'null', 'true' or 'false')'"
        );
        assert_eq!(
            message("{'not': 'json'"),
            "Invalid State Machine Execution Input: 'Unexpected character (''' (code 39)): \
             was expecting double-quote to start field name'"
        );
        assert_eq!(
            message(""),
            "Invalid State Machine Execution Input: 'Invalid execution input.'"
        );
        assert!(message(&"1".repeat(262_145)).contains("more than the limit"));
        let deep = format!("{}{}", "[".repeat(101), "]".repeat(101));
        assert!(message(&deep).contains("nested deeper than the limit of 100 levels"));
        let fine = format!("{}{}", "[".repeat(100), "]".repeat(100));
        assert!(check_input(&fine).is_ok());
    }
}
