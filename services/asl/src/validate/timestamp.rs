//! RFC 3339 timestamps as a Wait state's `Timestamp` must write them:
//! `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`, with real calendar values. The validator accepts
//! exactly what executions can run, so it asks the runtime's parser.

pub(crate) fn is_rfc3339(text: &str) -> bool {
    crate::wait::timestamp::parse_instant(text).is_some()
}

#[cfg(test)]
mod tests {
    use super::is_rfc3339;

    #[test]
    fn accepts_rfc3339() {
        for text in [
            "2016-03-14T01:59:00Z",
            "2016-03-14T01:59:00.123Z",
            "2016-03-14T01:59:00+05:30",
            "2024-02-29T23:59:59-08:00",
        ] {
            assert!(is_rfc3339(text), "{text}");
        }
    }

    #[test]
    fn refuses_what_aws_refuses() {
        for text in [
            "2016-13-05T21:29:29Z",
            "05-12-2016T21:29:29Z",
            "2016-12-05T25:29:29Z",
            "2016-12-05 21:29:29Z",
            "2016-12-05T21:29:29",
            "2023-02-29T00:00:00Z",
            "2016-12-05T21:29:29.Z",
            "{% '2016-03-14T01:59:00Z' %}",
            "",
            "2016-12-05T21:29:29+0530",
        ] {
            assert!(!is_rfc3339(text), "{text}");
        }
    }
}
