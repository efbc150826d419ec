//! Amazon Resource Names of Step Functions resources: how they are built and parsed.
//!
//! `arn:<partition>:states:<region>:<account>:<kind>:<name>[...]`. Parsing reports problems in
//! the words AWS uses inside its `InvalidArn` errors.

use std::fmt;

/// The resource kinds this service names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceKind {
    Activity,
    StateMachine,
    Execution,
    /// A Distributed Map's run: `…:mapRun:<machine>/<label>:<id>`.
    MapRun,
}

impl ResourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::Activity => "activity",
            ResourceKind::StateMachine => "stateMachine",
            ResourceKind::Execution => "execution",
            ResourceKind::MapRun => "mapRun",
        }
    }
}

/// A parsed Step Functions ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arn {
    pub partition: String,
    pub region: String,
    pub account: String,
    pub kind: ResourceKind,
    /// Everything after the kind, split on `:` (a state machine name; or machine and execution).
    pub parts: Vec<String>,
}

/// Why an ARN was rejected; `Display` gives AWS's wording (the text inside `Invalid Arn: '…'`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArnError {
    Prefix(String),
    Service(String),
    ResourceType(String),
    Qualifier(String),
}

impl fmt::Display for ArnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A rejected value is quoted by its prefix: a request may carry megabytes of it.
        let quote = crate::limits::quote_prefix;
        match self {
            ArnError::Prefix(arn) => write!(f, "Invalid ARN prefix: {}", quote(arn)),
            ArnError::Service(arn) => write!(f, "Invalid ARN service: {}", quote(arn)),
            ArnError::ResourceType(kind) => {
                write!(
                    f,
                    "Resource type not valid in this context: {}",
                    quote(kind)
                )
            }
            ArnError::Qualifier(arn) => write!(f, "Invalid Arn: {}", quote(arn)),
        }
    }
}

/// Whether `region` has a region's form (`us-east-1`): lowercase letters, digits and dashes,
/// at most 32 characters. A request's region names where its resources live, so nothing else
/// may pass for one.
pub fn is_region(region: &str) -> bool {
    !region.is_empty()
        && region.len() <= 32
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The partition a region belongs to, as botocore's partitions name them (an unknown region
/// is in `aws`).
pub fn partition_of(region: &str) -> &'static str {
    // Longest prefixes first: `us-isob-` before `us-iso-`.
    const PREFIXES: [(&str, &str); 7] = [
        ("cn-", "aws-cn"),
        ("us-gov-", "aws-us-gov"),
        ("us-isob-", "aws-iso-b"),
        ("us-isof-", "aws-iso-f"),
        ("us-iso-", "aws-iso"),
        ("eu-isoe-", "aws-iso-e"),
        ("eusc-", "aws-eusc"),
    ];
    PREFIXES
        .iter()
        .find(|(prefix, _)| region.starts_with(prefix))
        .map_or("aws", |(_, partition)| partition)
}

/// Whether the qualifier of a state machine's ARN names a version (`…:name:3`); any other
/// names an alias (`…:name:prod`), and an alias name is therefore never all digits.
pub fn names_version(qualifier: &str) -> bool {
    !qualifier.is_empty() && qualifier.chars().all(|c| c.is_ascii_digit())
}

/// Whether an execution's ARN is one an EXPRESS machine gives (`…:express:…`, see
/// [`Arn::execution_arns`]).
pub fn names_express_execution(arn: &str) -> bool {
    arn.split(':').nth(5) == Some("express")
}

impl Arn {
    /// Builds the ARN of a resource, in the partition of its region.
    pub fn format(region: &str, account: &str, kind: ResourceKind, parts: &[&str]) -> String {
        let partition = partition_of(region);
        let mut arn = format!(
            "arn:{partition}:states:{region}:{account}:{}",
            kind.as_str()
        );
        for part in parts {
            arn.push(':');
            arn.push_str(part);
        }
        arn
    }

    /// Parses `input`, requiring it to name a resource of `expected` kind.
    pub fn parse(input: &str, expected: ResourceKind) -> Result<Arn, ArnError> {
        let fields: Vec<&str> = input.split(':').collect();
        if fields.len() < 7 || fields[0] != "arn" || fields[1].is_empty() {
            return Err(ArnError::Prefix(input.to_owned()));
        }
        if fields[2] != "states" {
            return Err(ArnError::Service(input.to_owned()));
        }
        let kind = match fields[5] {
            "activity" => ResourceKind::Activity,
            "stateMachine" => ResourceKind::StateMachine,
            "execution" => ResourceKind::Execution,
            "mapRun" => ResourceKind::MapRun,
            other => return Err(ArnError::ResourceType(other.to_owned())),
        };
        if kind != expected {
            return Err(ArnError::ResourceType(kind.as_str().to_owned()));
        }
        let parts: Vec<String> = fields[6..].iter().map(|s| (*s).to_owned()).collect();
        let expected_parts = match kind {
            ResourceKind::Activity | ResourceKind::StateMachine => 1,
            ResourceKind::Execution | ResourceKind::MapRun => 2,
        };
        // No ARN holds a control character (and PostgreSQL's text could not hold NUL).
        let malformed = parts.iter().any(|p| p.is_empty()) || input.chars().any(char::is_control);
        if parts.len() != expected_parts || malformed {
            return Err(ArnError::Qualifier(input.to_owned()));
        }
        Ok(Arn {
            partition: fields[1].to_owned(),
            region: fields[3].to_owned(),
            account: fields[4].to_owned(),
            kind,
            parts,
        })
    }

    /// Parses a state machine's ARN that may carry a qualifier: a version number
    /// (`…:stateMachine:name:3`) or an alias name (`…:stateMachine:name:prod`). Returns the
    /// unqualified machine and the qualifier.
    pub fn parse_qualified_machine(input: &str) -> Result<(Arn, Option<String>), ArnError> {
        let fields: Vec<&str> = input.split(':').collect();
        if fields.len() == 8 && fields[5] == "stateMachine" && !fields[7].is_empty() {
            let base = fields[..7].join(":");
            let machine = Arn::parse(&base, ResourceKind::StateMachine)
                .map_err(|_| ArnError::Qualifier(input.to_owned()))?;
            if fields[7].chars().any(char::is_control) {
                return Err(ArnError::Qualifier(input.to_owned()));
            }
            return Ok((machine, Some(fields[7].to_owned())));
        }
        Arn::parse(input, ResourceKind::StateMachine).map(|machine| (machine, None))
    }

    /// This ARN as text.
    pub fn text(&self) -> String {
        format!(
            "arn:{}:states:{}:{}:{}:{}",
            self.partition,
            self.region,
            self.account,
            self.kind.as_str(),
            self.parts.join(":")
        )
    }

    /// The resource's own name (the last part).
    pub fn name(&self) -> &str {
        self.parts.last().map(String::as_str).unwrap_or_default()
    }

    /// For a state machine's ARN: the ARNs of its execution `name`, as a STANDARD and as an
    /// EXPRESS machine names it (`…:execution:…` and `…:express:…`).
    pub fn execution_arns(&self, name: &str) -> (String, String) {
        let arn_of = |kind: &str| {
            format!(
                "arn:{}:states:{}:{}:{kind}:{}:{name}",
                self.partition,
                self.region,
                self.account,
                self.name()
            )
        };
        (arn_of("execution"), arn_of("express"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_back() {
        let arn = Arn::format(
            "us-east-1",
            "123456789012",
            ResourceKind::StateMachine,
            &["m"],
        );
        assert_eq!(arn, "arn:aws:states:us-east-1:123456789012:stateMachine:m");
        let parsed = Arn::parse(&arn, ResourceKind::StateMachine).expect("valid");
        assert_eq!(parsed.name(), "m");
        assert_eq!(parsed.account, "123456789012");
        assert_eq!(parsed.region, "us-east-1");
    }

    #[test]
    fn rejects_with_aws_words() {
        let err = Arn::parse("no_an_activity_arn", ResourceKind::Activity).unwrap_err();
        assert_eq!(err.to_string(), "Invalid ARN prefix: no_an_activity_arn");
        let nul = "arn:aws:states:us-east-1:123456789012:activity:a\0";
        assert!(Arn::parse(nul, ResourceKind::Activity).is_err());
        let arn = "arn:aws:states:us-east-1:123456789012:activity:a";
        let err = Arn::parse(arn, ResourceKind::StateMachine).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Resource type not valid in this context: activity"
        );
        let err = Arn::parse(
            "arn:aws:lambda:us-east-1:1:function:f",
            ResourceKind::Activity,
        )
        .unwrap_err();
        assert!(matches!(err, ArnError::Service(_)));
        let err = Arn::parse(
            "arn:aws:states:us-east-1:1:activity:a:b",
            ResourceKind::Activity,
        )
        .unwrap_err();
        assert!(matches!(err, ArnError::Qualifier(_)));
    }

    #[test]
    fn arns_are_in_the_partition_of_their_region() {
        for (region, partition) in [
            ("us-east-1", "aws"),
            ("cn-north-1", "aws-cn"),
            ("us-gov-west-1", "aws-us-gov"),
            ("us-iso-east-1", "aws-iso"),
            ("us-isob-east-1", "aws-iso-b"),
            ("eu-isoe-west-1", "aws-iso-e"),
        ] {
            let arn = Arn::format(region, "123456789012", ResourceKind::Activity, &["a"]);
            assert_eq!(
                arn,
                format!("arn:{partition}:states:{region}:123456789012:activity:a")
            );
            assert_eq!(
                Arn::parse(&arn, ResourceKind::Activity).map(|a| a.partition),
                Ok(partition.to_owned())
            );
        }
    }

    #[test]
    fn a_machine_may_be_qualified_by_a_version_or_an_alias() {
        let base = "arn:aws-cn:states:cn-north-1:123456789012:stateMachine:m";
        for (arn, qualifier) in [
            (base.to_owned(), None),
            (format!("{base}:3"), Some("3")),
            (format!("{base}:prod"), Some("prod")),
        ] {
            let (machine, found) = Arn::parse_qualified_machine(&arn).expect("valid");
            assert_eq!(machine.text(), base);
            assert_eq!(found.as_deref(), qualifier);
        }
        assert!(Arn::parse_qualified_machine(&format!("{base}:a:b")).is_err());
        assert!(
            Arn::parse(
                "arn:aws:states:r:1:stateMachine:m:1",
                ResourceKind::StateMachine
            )
            .is_err()
        );
    }
}
