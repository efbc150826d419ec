//! A Distributed Map's `ResultWriter`: the files a run's results are written to, as AWS lays
//! them out under `<Prefix>/<map run id>/` (`manifest.json`, `SUCCEEDED_n.json`,
//! `FAILED_n.json`, `PENDING_n.json`), their entries, and the Map state's output. Pure: the
//! engine reads the children and puts the files (the S3 client of `switchback-invoke`).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::interpreter::iso8601;

/// The error of a writer that cannot write its results.
pub const WRITER_FAILED: &str = "States.ResultWriterFailed";

/// `WriterConfig.OutputType`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum OutputType {
    /// A JSON array per file.
    #[default]
    Json,
    /// One JSON value per line.
    Jsonl,
}

/// `WriterConfig.Transformation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Transformation {
    /// Each child's record: ARN, name, input, output, status, dates.
    None,
    /// Each child's output.
    Compact,
    /// Each child's output, the elements of an array output one by one.
    Flatten,
}

/// What a `ResultWriter` writes, evaluated when the Map state starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriterSpec {
    /// Where the files go (`Resource` with `Bucket`); none: `WriterConfig` alone shapes the
    /// state's output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,
    #[serde(default)]
    pub prefix: String,
    #[serde(default)]
    pub output_type: OutputType,
    pub transformation: Transformation,
}

impl WriterSpec {
    /// The key of `file` for the run `run_id`: `<Prefix>/<run id>/<file>` (a prefix without its
    /// slash gets one).
    pub fn key(&self, run_id: &str, file: &str) -> String {
        let prefix = match self.prefix.as_str() {
            "" => String::new(),
            p if p.ends_with('/') => p.to_owned(),
            p => format!("{p}/"),
        };
        format!("{prefix}{run_id}/{file}")
    }

    /// The Map state's output once the files are written.
    pub fn details(&self, map_run_arn: &str, run_id: &str) -> Value {
        json!({
            "MapRunArn": map_run_arn,
            "ResultWriterDetails": {
                "Bucket": self.bucket.clone().unwrap_or_default(),
                "Key": self.key(run_id, "manifest.json"),
            }
        })
    }

    /// A file's text from its entries.
    pub fn file(&self, entries: &[Value]) -> String {
        match self.output_type {
            OutputType::Json => Value::Array(entries.to_vec()).to_string(),
            OutputType::Jsonl => entries
                .iter()
                .map(Value::to_string)
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }

    /// What a succeeded child adds to its file (a failed one's entry is always its record).
    pub fn succeeded_entries(&self, child: &ChildRecord<'_>) -> Vec<Value> {
        let output = child
            .output
            .and_then(|o| serde_json::from_str::<Value>(o).ok())
            .unwrap_or(Value::Null);
        match self.transformation {
            Transformation::None => vec![child.record()],
            Transformation::Compact => vec![output],
            Transformation::Flatten => match output {
                Value::Array(items) => items,
                other => vec![other],
            },
        }
    }
}

/// A child execution as its result entry describes it.
#[derive(Debug, Clone)]
pub struct ChildRecord<'a> {
    pub execution_arn: &'a str,
    pub name: &'a str,
    pub state_machine_arn: &'a str,
    pub status: &'a str,
    pub input: &'a str,
    pub output: Option<&'a str>,
    pub error: Option<&'a str>,
    pub cause: Option<&'a str>,
    pub start_ms: i64,
    pub stop_ms: Option<i64>,
}

impl ChildRecord<'_> {
    /// The entry AWS writes for a child (`Transformation: NONE`, and every failed child).
    pub fn record(&self) -> Value {
        let mut entry = json!({
            "ExecutionArn": self.execution_arn,
            "Input": self.input,
            "InputDetails": { "Included": true },
            "Name": self.name,
        });
        if let Some(output) = self.output {
            entry["Output"] = Value::from(output);
            entry["OutputDetails"] = json!({ "Included": true });
        }
        if let Some(error) = self.error {
            entry["Error"] = Value::from(error);
        }
        if let Some(cause) = self.cause {
            entry["Cause"] = Value::from(cause);
        }
        entry["RedriveCount"] = json!(0);
        if self.status == "SUCCEEDED" {
            entry["RedriveStatus"] = json!("NOT_REDRIVABLE");
            entry["RedriveStatusReason"] = json!("Execution is SUCCEEDED and cannot be redriven");
        } else {
            entry["RedriveStatus"] = json!("REDRIVABLE_BY_MAP_RUN");
        }
        entry["StartDate"] = Value::from(iso8601(self.start_ms));
        entry["StateMachineArn"] = Value::from(self.state_machine_arn);
        entry["Status"] = Value::from(self.status);
        if let Some(stop) = self.stop_ms {
            entry["StopDate"] = Value::from(iso8601(stop));
        }
        entry
    }
}

/// The entry of an item no child was started for (`PENDING_n.json`): the input its child
/// would have had.
pub fn pending_entry(input: &Value) -> Value {
    json!({
        "Input": input.to_string(),
        "InputDetails": { "Included": true },
        "Status": "PENDING",
    })
}

/// `manifest.json`: the bucket, the run, and every file written by status, each with its key
/// and size.
pub fn manifest(
    bucket: &str,
    map_run_arn: &str,
    succeeded: &[(String, usize)],
    failed: &[(String, usize)],
    pending: &[(String, usize)],
) -> Value {
    let files = |list: &[(String, usize)]| -> Value {
        list.iter()
            .map(|(key, size)| json!({ "Key": key, "Size": size }))
            .collect()
    };
    json!({
        "DestinationBucket": bucket,
        "MapRunArn": map_run_arn,
        "ResultFiles": {
            "FAILED": files(failed),
            "PENDING": files(pending),
            "SUCCEEDED": files(succeeded),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_entries_and_transformations_follow_aws() {
        let spec = WriterSpec {
            bucket: Some("out".into()),
            prefix: "jobs".into(),
            output_type: OutputType::Json,
            transformation: Transformation::Flatten,
        };
        assert_eq!(spec.key("r1", "manifest.json"), "jobs/r1/manifest.json");
        assert_eq!(
            spec.details("arn:run", "r1"),
            json!({"MapRunArn": "arn:run", "ResultWriterDetails": {"Bucket": "out", "Key": "jobs/r1/manifest.json"}})
        );
        let child = ChildRecord {
            execution_arn: "arn:e",
            name: "e",
            state_machine_arn: "arn:sm",
            status: "SUCCEEDED",
            input: "1",
            output: Some("[1,2]"),
            error: None,
            cause: None,
            start_ms: 0,
            stop_ms: Some(1),
        };
        assert_eq!(spec.succeeded_entries(&child), vec![json!(1), json!(2)]);
        let record = child.record();
        assert_eq!(record["Output"], "[1,2]");
        assert_eq!(record["StartDate"], "1970-01-01T00:00:00.000Z");
        let jsonl = WriterSpec {
            output_type: OutputType::Jsonl,
            ..spec
        };
        assert_eq!(jsonl.file(&[json!(1), json!({"a": 2})]), "1\n{\"a\":2}");
    }
}
