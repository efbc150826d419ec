//! Task resources: what a Task state's `Resource` names, and how Switchback runs it.
//!
//! - `arn:<partition>:states:<region>:<account>:activity:<name>` — an activity; workers poll it.
//! - `arn:<partition>:lambda:<region>:<account>:function:<name>[:<qualifier>]` — a Lambda
//!   function called directly (history `LambdaFunction*`).
//! - `arn:<partition>:states:::<service>:<action>[.sync|.sync:2|.waitForTaskToken]` — an
//!   optimized integration (history `Task*`). Switchback runs `lambda:invoke`, `http:invoke` and
//!   `states:startExecution`; other services are [`Integration::Unsupported`] (only a mocked test
//!   case answers them), and resources of no known form are [`Resource::Unsupported`].

/// How an integration's call relates to the state's end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Pattern {
    /// The state ends with the call's response.
    RequestResponse,
    /// `.sync`: the state ends when the started job ends (output as strings).
    Sync,
    /// `.sync:2`: as `.sync`, with JSON output.
    Sync2,
    /// `.waitForTaskToken`: the state ends when SendTaskSuccess/Failure names its token.
    WaitForTaskToken,
}

impl Pattern {
    /// The suffix AWS appends to the action in history (`invoke.waitForTaskToken`).
    pub fn suffix(self) -> &'static str {
        match self {
            Pattern::RequestResponse => "",
            Pattern::Sync => ".sync",
            Pattern::Sync2 => ".sync:2",
            Pattern::WaitForTaskToken => ".waitForTaskToken",
        }
    }

    /// Whether the state waits for something after the call returned.
    pub fn waits_after_call(self) -> bool {
        self != Pattern::RequestResponse
    }
}

/// The integrations Switchback runs, and the others, which only a mocked test case answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Integration {
    LambdaInvoke,
    HttpInvoke,
    StartExecution,
    /// Any other service (`sqs:sendMessage`, `aws-sdk:s3:getObject`, ...): the call fails
    /// with `States.Runtime` unless a mocked test case answers for the state.
    Unsupported,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    Activity,
    /// A Lambda function ARN; `function` is the whole ARN (with its qualifier, if any).
    LambdaFunction {
        function: String,
    },
    Integration {
        integration: Integration,
        /// AWS's `resourceType` in history, e.g. `lambda`.
        service: String,
        /// AWS's `resource` in history, e.g. `invoke.waitForTaskToken`.
        action: String,
        pattern: Pattern,
    },
    /// Named in the reason, which the state's failure carries.
    Unsupported {
        reason: String,
    },
}

impl Resource {
    pub fn parse(resource: &str) -> Resource {
        let fields: Vec<&str> = resource.splitn(7, ':').collect();
        let unsupported = |why: &str| Resource::Unsupported {
            reason: format!("The resource '{resource}' is not supported by Switchback: {why}"),
        };
        if fields.len() < 7 || fields[0] != "arn" {
            return unsupported(
                "it is not an ARN of an activity, a Lambda function or an integration",
            );
        }
        match (fields[2], fields[5]) {
            ("states", "activity") if fields[3..5].iter().all(|f| !f.is_empty()) => {
                Resource::Activity
            }
            ("lambda", "function") if !fields[6].is_empty() => Resource::LambdaFunction {
                function: resource.to_owned(),
            },
            ("states", service) if fields[3].is_empty() && fields[4].is_empty() => {
                integration(service, fields[6]).unwrap_or_else(|why| unsupported(&why))
            }
            _ => {
                unsupported("it is not an ARN of an activity, a Lambda function or an integration")
            }
        }
    }
}

/// `<service>:<action><pattern>` of `arn:aws:states:::…`.
fn integration(service: &str, action_and_pattern: &str) -> Result<Resource, String> {
    let (action, pattern) = split_pattern(action_and_pattern).ok_or_else(|| {
        format!("'{action_and_pattern}' is not an action with a known integration pattern")
    })?;
    let (integration, allowed): (Integration, &[Pattern]) = match (service, action) {
        ("lambda", "invoke") => (
            Integration::LambdaInvoke,
            &[Pattern::RequestResponse, Pattern::WaitForTaskToken],
        ),
        ("http", "invoke") => (Integration::HttpInvoke, &[Pattern::RequestResponse]),
        ("states", "startExecution") => (
            Integration::StartExecution,
            &[
                Pattern::RequestResponse,
                Pattern::Sync,
                Pattern::Sync2,
                Pattern::WaitForTaskToken,
            ],
        ),
        _ => (
            Integration::Unsupported,
            &[
                Pattern::RequestResponse,
                Pattern::Sync,
                Pattern::Sync2,
                Pattern::WaitForTaskToken,
            ],
        ),
    };
    if !allowed.contains(&pattern) {
        return Err(format!(
            "the integration '{service}:{action}' does not support the '{}' pattern",
            pattern.suffix().trim_start_matches('.')
        ));
    }
    // `aws-sdk:s3:getObject` is service `aws-sdk:s3`, action `getObject` in history.
    let (service, action_and_pattern) = match action_and_pattern.rsplit_once(':') {
        Some((sdk_service, rest)) if service == "aws-sdk" && !rest.starts_with('2') => {
            (format!("aws-sdk:{sdk_service}"), rest)
        }
        _ => (service.to_owned(), action_and_pattern),
    };
    Ok(Resource::Integration {
        integration,
        service,
        action: action_and_pattern.to_owned(),
        pattern,
    })
}

/// Why Switchback does not call `resource` itself.
pub fn unsupported_reason(resource: &str) -> String {
    format!(
        "The resource '{resource}' is not supported by Switchback: the integration is not \
         available here (Switchback runs lambda:invoke, http:invoke and states:startExecution; \
         other integrations run only when a mocked test case answers them; see \
         docs/compatibility.md)"
    )
}

fn split_pattern(text: &str) -> Option<(&str, Pattern)> {
    for pattern in [Pattern::Sync2, Pattern::WaitForTaskToken, Pattern::Sync] {
        if let Some(action) = text.strip_suffix(pattern.suffix()) {
            return Some((action, pattern));
        }
    }
    (!text.contains('.') && !text.is_empty()).then_some((text, Pattern::RequestResponse))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_every_form() {
        assert_eq!(
            Resource::parse("arn:aws:states:us-east-1:123456789012:activity:a"),
            Resource::Activity
        );
        assert_eq!(
            Resource::parse("arn:aws:lambda:us-east-1:123456789012:function:f:live"),
            Resource::LambdaFunction {
                function: "arn:aws:lambda:us-east-1:123456789012:function:f:live".into()
            }
        );
        let Resource::Integration {
            integration,
            service,
            action,
            pattern,
        } = Resource::parse("arn:aws:states:::states:startExecution.sync:2")
        else {
            panic!("not an integration");
        };
        assert_eq!(integration, Integration::StartExecution);
        assert_eq!(
            (service.as_str(), action.as_str()),
            ("states", "startExecution.sync:2")
        );
        assert_eq!(pattern, Pattern::Sync2);
        assert!(matches!(
            Resource::parse("arn:aws:states:::lambda:invoke.waitForTaskToken"),
            Resource::Integration {
                pattern: Pattern::WaitForTaskToken,
                ..
            }
        ));
    }

    #[test]
    fn names_what_it_cannot_run() {
        for (resource, says) in [
            (
                "arn:aws:states:::http:invoke.sync",
                "does not support the 'sync'",
            ),
            ("arn:aws:states:::lambda:invoke.sync", "does not support"),
            ("not-an-arn", "not an ARN"),
        ] {
            let Resource::Unsupported { reason } = Resource::parse(resource) else {
                panic!("{resource} should be unsupported");
            };
            assert!(reason.contains(resource), "{reason}");
            assert!(reason.contains(says), "{reason}");
        }
        // Other services parse (a mock may answer them); AWS names their parts in history.
        for (resource, service, action) in [
            ("arn:aws:states:::sqs:sendMessage", "sqs", "sendMessage"),
            (
                "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "sqs",
                "sendMessage.waitForTaskToken",
            ),
            (
                "arn:aws:states:::aws-sdk:s3:getObject",
                "aws-sdk:s3",
                "getObject",
            ),
        ] {
            let Resource::Integration {
                integration,
                service: s,
                action: a,
                ..
            } = Resource::parse(resource)
            else {
                panic!("{resource} should parse");
            };
            assert_eq!(integration, Integration::Unsupported);
            assert_eq!((s.as_str(), a.as_str()), (service, action));
        }
    }
}
