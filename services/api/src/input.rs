//! Checks of the constraints botocore's model puts on request members, reported the way AWS's
//! front end reports them:
//! `1 validation error detected: Value 'x' at 'name' failed to satisfy constraint: Member must ...`.
//! Every failed constraint is collected, so one response names them all.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::Error;

/// Deserializes an operation's input. A member of the wrong JSON type is a serialization error,
/// as in AWS; missing required members are left to [`Checks::required`].
pub fn parse<T: DeserializeOwned>(body: Value) -> Result<T, Error> {
    serde_json::from_value(body).map_err(|e| Error::Serialization(e.to_string()))
}

#[derive(Default)]
pub struct Checks {
    failures: Vec<String>,
}

impl Checks {
    pub fn new() -> Self {
        Self::default()
    }

    fn fail(&mut self, value: Option<String>, field: &str, constraint: &str) {
        // A rejected value is quoted by its prefix: a request may carry megabytes of it.
        let value = match value {
            Some(v) => format!("'{}'", switchback_asl::limits::quote_prefix(&v)),
            None => "null".to_owned(),
        };
        self.failures.push(format!(
            "Value {value} at '{field}' failed to satisfy constraint: Member must {constraint}"
        ));
    }

    /// A required ARN member: present, 1 to 256 characters (botocore's `Arn` shape).
    pub fn arn(&mut self, field: &str, value: &Option<String>) -> &mut Self {
        self.required(field, value).optional_arn(field, value)
    }

    /// An optional ARN member: 1 to 256 characters when given.
    pub fn optional_arn(&mut self, field: &str, value: &Option<String>) -> &mut Self {
        self.length(field, value.as_deref(), 1, 256)
    }

    pub fn required<T>(&mut self, field: &str, value: &Option<T>) -> &mut Self {
        if value.is_none() {
            self.fail(None, field, "not be null");
        }
        self
    }

    /// Length in characters, as the model counts it.
    pub fn length(
        &mut self,
        field: &str,
        value: Option<&str>,
        min: usize,
        max: usize,
    ) -> &mut Self {
        if let Some(v) = value {
            let length = v.chars().count();
            if length < min {
                self.fail(
                    Some(v.to_owned()),
                    field,
                    &format!("have length greater than or equal to {min}"),
                );
            } else if length > max {
                self.fail(
                    Some(v.to_owned()),
                    field,
                    &format!("have length less than or equal to {max}"),
                );
            }
        }
        self
    }

    pub fn range(&mut self, field: &str, value: Option<i64>, min: i64, max: i64) -> &mut Self {
        if let Some(v) = value {
            if v < min {
                self.fail(
                    Some(v.to_string()),
                    field,
                    &format!("have value greater than or equal to {min}"),
                );
            } else if v > max {
                self.fail(
                    Some(v.to_string()),
                    field,
                    &format!("have value less than or equal to {max}"),
                );
            }
        }
        self
    }

    pub fn one_of(&mut self, field: &str, value: Option<&str>, allowed: &[&str]) -> &mut Self {
        if let Some(v) = value
            && !allowed.contains(&v)
        {
            let set = allowed.join(", ");
            self.fail(
                Some(v.to_owned()),
                field,
                &format!("satisfy enum value set: [{set}]"),
            );
        }
        self
    }

    /// Adds a failure found by the caller's own check of a nested member.
    pub fn custom(&mut self, field: &str, value: Option<String>, constraint: &str) -> &mut Self {
        self.fail(value, field, constraint);
        self
    }

    pub fn finish(&mut self) -> Result<(), Error> {
        match self.failures.len() {
            0 => Ok(()),
            n => {
                let plural = if n == 1 { "error" } else { "errors" };
                Err(Error::Validation(format!(
                    "{n} validation {plural} detected: {}",
                    self.failures.join("; ")
                )))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_failure_reads_like_aws() {
        let err = Checks::new()
            .range("maxResults", Some(1001), 0, 1000)
            .finish()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "1 validation error detected: Value '1001' at 'maxResults' failed to satisfy \
             constraint: Member must have value less than or equal to 1000"
        );
    }

    #[test]
    fn failures_are_all_reported() {
        let name: Option<String> = None;
        let err = Checks::new()
            .required("name", &name)
            .one_of("type", Some("X"), &["STANDARD", "EXPRESS"])
            .finish()
            .unwrap_err();
        let message = err.to_string();
        assert!(message.starts_with("2 validation errors detected: Value null at 'name'"));
        assert!(message.ends_with("Member must satisfy enum value set: [STANDARD, EXPRESS]"));
    }
}
