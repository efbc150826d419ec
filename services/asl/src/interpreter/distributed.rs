//! A DISTRIBUTED Map state: it starts a Map Run of its items as child executions and waits
//! for the run's end. What the run needs is evaluated here, when the state starts (the item
//! selector and what it reads, the `ItemReader`, `ItemBatcher` and `ResultWriter` settings);
//! the engine runs it (the scheduler's run driver) and answers with `Event::MapRunEnded`.

use serde_json::{Value, json};

use super::Effect;
use super::branches::{count, keep_for_redrive};
use super::runner::Runner;
use super::snapshot::{MapRunPhase, Phase, Thread};
use crate::arn::{Arn, ResourceKind};
use crate::dataflow::{self, Pipeline};
use crate::failure::Failure;
use crate::intrinsics::hash::hex_digest;
use crate::item_reader::{self, BatcherSpec, InputType, ReaderSpec, Source};
use crate::jsonata::{self, States};
use crate::limits;
use crate::map_run::{MapRunOutcome, MapRunSpec, Selector};
use crate::model::index::processor_scope;
use crate::model::{MapState, QueryLanguage};
use crate::result_writer::{self, OutputType, Transformation, WriterSpec};
use crate::variables::Env;

/// Whether the Map runs its items as child executions (`ProcessorConfig.Mode: DISTRIBUTED`).
pub(super) fn is_distributed(map: &MapState) -> bool {
    map.processor()
        .and_then(|(_, processor)| processor.processor_config.as_ref())
        .and_then(|config| config.mode.as_deref())
        == Some("DISTRIBUTED")
}

impl Runner<'_> {
    /// A Distributed Map starts a run of its items as child executions (`MapRunStarted`) and
    /// waits for its end (`Event::MapRunEnded`).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn start_map_run(
        &mut self,
        thread: &mut Thread,
        flow: Pipeline<'_>,
        map: &MapState,
        items: Vec<Value>,
        effective: Value,
        max_concurrency: usize,
        (tolerated_count, tolerated_percentage): (Option<usize>, Option<f64>),
    ) -> Result<(), Failure> {
        let def = self.state_def(thread)?;
        let language = def.language;
        let field = map.processor().map_or("ItemProcessor", |(field, _)| field);
        let scope = processor_scope(&thread.scope, &thread.state, field);
        let definition = child_definition(self.machine.definition(), &scope, language)?;
        let express = map
            .processor()
            .and_then(|(_, p)| p.processor_config.as_ref())
            .and_then(|c| c.execution_type.as_deref())
            == Some("EXPRESS");
        let (reader, batcher, writer) = {
            let env = self.env(thread);
            let mut entropy = std::mem::replace(&mut self.entropy, crate::entropy::Entropy::new(0));
            let specs = (|| {
                let reader = reader_spec(map, language, &effective, &env, &mut entropy)?;
                let batcher = batcher_spec(map, language, &effective, &env, &mut entropy)?;
                let writer = writer_spec(map, language, &effective, &env, &mut entropy)?;
                Ok::<_, Failure>((reader, batcher, writer))
            })();
            self.entropy = entropy;
            specs?
        };
        let selector = match map.selector() {
            Some(template) => {
                let env = self.env(thread);
                let mut variables = crate::variables::Frame::new();
                for (name, value) in env.variables.iter() {
                    if !variables.contains_key(name) {
                        variables.insert(name.clone(), value.clone());
                    }
                }
                Some(Selector {
                    template: template.clone(),
                    language,
                    input: effective,
                    variables,
                    context: env.context,
                })
            }
            None => None,
        };
        // Without a Label, AWS names the run with a label of its own making, UUID-like; this
        // one is the same for every run of the state.
        let label = map.label.clone().unwrap_or_else(|| {
            let key = format!("{}#{}", self.info.state_machine_arn, scope);
            let digest = hex_digest("SHA-256", key.as_bytes()).unwrap_or_default();
            let mut bytes = [0u8; 16];
            for (i, byte) in bytes.iter_mut().enumerate() {
                *byte = digest
                    .get(i * 2..i * 2 + 2)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .unwrap_or(0);
            }
            crate::intrinsics::uuid_v4(bytes)
        });
        let machine = format!("{}/{label}", self.info.state_machine_name);
        let (region, account) = {
            let mut parts = self.info.execution_arn.split(':').skip(3);
            (
                parts.next().unwrap_or_default().to_owned(),
                parts.next().unwrap_or_default().to_owned(),
            )
        };
        let run_id = crate::intrinsics::uuid_v4(self.entropy.next_bytes_16());
        let arn = Arn::format(
            &region,
            &account,
            ResourceKind::MapRun,
            &[&machine, &run_id],
        );
        let state_machine_arn =
            Arn::format(&region, &account, ResourceKind::StateMachine, &[&machine]);
        let task_id = self.next_task_id;
        self.next_task_id += 1;
        let gather_results = !flow.discards_result() && writer.is_none();
        self.emit_for(
            thread,
            "MapRunStarted",
            json!({ "mapRunStartedEventDetails": { "mapRunArn": arn } }),
        );
        self.effects.push(Effect::StartMapRun(Box::new(MapRunSpec {
            arn: arn.clone(),
            task_id,
            state_machine_arn,
            definition,
            role_arn: self.info.role_arn.clone(),
            express,
            items,
            reader,
            batcher,
            writer,
            selector,
            max_concurrency: u32::try_from(max_concurrency).unwrap_or(u32::MAX),
            tolerated_count: tolerated_count.map(|n| n as u64),
            tolerated_percentage,
            gather_results,
        })));
        thread.phase = Phase::MapRun(MapRunPhase {
            task_id,
            arn,
            redrive_count: 0,
        });
        Ok(())
    }

    /// The run of a Distributed Map ended: `MapRunSucceeded` and the children's outputs as the
    /// state's result, or `MapRunFailed` and the state fails (Retry and Catch apply).
    pub fn map_run_ended(&mut self, thread: &mut Thread, outcome: &MapRunOutcome) {
        let def = match self.state_def(thread) {
            Ok(def) => def,
            Err(failure) => {
                self.fail_thread(thread, failure);
                return;
            }
        };
        match outcome {
            MapRunOutcome::Succeeded { results } => {
                let result = match results.as_deref().map(serde_json::from_str::<Value>) {
                    None => Value::Array(Vec::new()),
                    Some(Ok(result)) => result,
                    Some(Err(error)) => {
                        let failure =
                            Failure::runtime(format!("unreadable map run results: {error}"));
                        self.give_up_or_retry(thread, def, failure, "MapStateFailed");
                        return;
                    }
                };
                // AWS chains MapRunSucceeded to MapRunStarted, MapStateSucceeded to
                // MapRunSucceeded, and the state's Exited event to MapRunStarted. (So its
                // recordings since November 2024; earlier ones chained Exited to
                // MapRunSucceeded: docs/compatibility.md, "Where AWS changed".)
                let started = thread.last_event;
                let mut last = started;
                self.emit(&mut last, "MapRunSucceeded", json!({}));
                if let Some(problem) = limits::payload_problem(&result) {
                    thread.last_event = last;
                    let failure = Failure::data_limit_exceeded(problem);
                    self.give_up_or_retry(thread, def, failure, "MapStateFailed");
                    return;
                }
                self.emit(&mut last, "MapStateSucceeded", json!({}));
                thread.last_event = started;
                self.exit_with_result(thread, def, result);
            }
            MapRunOutcome::Failed { error, cause } => {
                let run = thread.phase.clone();
                let mut last = thread.last_event;
                self.emit(
                    &mut last,
                    "MapRunFailed",
                    crate::interpreter::history::failed("mapRunFailedEventDetails", error, cause),
                );
                thread.last_event = last;
                let failure = Failure::new(error.clone(), cause.clone());
                self.give_up_or_retry(thread, def, failure, "MapStateFailed");
                // A redrive of the execution redrives the run (its children that did not
                // succeed, and its items not yet run).
                keep_for_redrive(thread, run);
            }
        }
    }
}

/// The item processor of the Map at `scope` as a state machine of its own: its `StartAt` and
/// `States` (and `Comment`), in the Map state's query language.
fn child_definition(
    definition: &Value,
    scope: &str,
    language: QueryLanguage,
) -> Result<String, Failure> {
    let Some(Value::Object(processor)) = definition.pointer(scope) else {
        return Err(Failure::runtime(format!("no item processor at '{scope}'")));
    };
    let mut child = serde_json::Map::new();
    for key in ["Comment", "StartAt", "States"] {
        if let Some(value) = processor.get(key) {
            child.insert(key.to_owned(), value.clone());
        }
    }
    if language == QueryLanguage::Jsonata {
        child.insert("QueryLanguage".to_owned(), json!("JSONata"));
    }
    Ok(Value::Object(child).to_string())
}

/// Evaluates an integration's `Parameters` (JSONPath) or `Arguments` (JSONata) over the Map
/// state's input.
fn arguments(
    field: &str,
    template: Option<&Value>,
    language: QueryLanguage,
    input: &Value,
    env: &Env<'_>,
    entropy: &mut crate::entropy::Entropy,
) -> Result<Value, Failure> {
    let Some(template) = template else {
        return Ok(json!({}));
    };
    match language {
        QueryLanguage::Jsonata => {
            jsonata::evaluate_field(field, template, States::input(input), env, entropy)
        }
        QueryLanguage::JsonPath => dataflow::evaluate_template(template, input, env, entropy),
    }
}

fn text_field(value: &Value, name: &str) -> Option<String> {
    value.get(name).and_then(Value::as_str).map(str::to_owned)
}

/// The `ItemReader`: where the items come from and how they are read.
fn reader_spec(
    map: &MapState,
    language: QueryLanguage,
    input: &Value,
    env: &Env<'_>,
    entropy: &mut crate::entropy::Entropy,
) -> Result<Option<ReaderSpec>, Failure> {
    let Some(reader) = &map.item_reader else {
        return Ok(None);
    };
    let failed = |cause: String| Failure::new(item_reader::READER_FAILED, cause);
    let template = reader.arguments.as_ref().or(reader.parameters.as_ref());
    let field = if reader.arguments.is_some() {
        "ItemReader.Arguments"
    } else {
        "ItemReader.Parameters"
    };
    let params = arguments(field, template, language, input, env, entropy)?;
    let bucket = text_field(&params, "Bucket")
        .ok_or_else(|| failed("The ItemReader's parameters name no Bucket".to_owned()))?;
    let resource = reader.resource.as_deref().unwrap_or_default();
    let source = match resource.rsplit(':').next().unwrap_or_default() {
        "getObject" => Source::GetObject {
            bucket,
            key: text_field(&params, "Key")
                .ok_or_else(|| failed("The ItemReader's parameters name no Key".to_owned()))?,
            version_id: text_field(&params, "VersionId"),
        },
        "listObjectsV2" => Source::ListObjects {
            bucket,
            prefix: text_field(&params, "Prefix").unwrap_or_default(),
        },
        _ => {
            return Err(failed(format!(
                "The ItemReader resource '{resource}' is not supported: use arn:aws:states:::s3:getObject or arn:aws:states:::s3:listObjectsV2"
            )));
        }
    };
    let config = reader.reader_config.clone().unwrap_or_else(|| json!({}));
    let input_type = match config.get("InputType").and_then(Value::as_str) {
        None | Some("JSON") => InputType::Json,
        Some("JSONL") => InputType::Jsonl,
        Some("CSV") => InputType::Csv,
        Some("MANIFEST") => InputType::Manifest,
        Some(other) => {
            return Err(failed(format!(
                "InputType {other} is not supported by Switchback (JSON, JSONL, CSV and MANIFEST are)"
            )));
        }
    };
    if let Some(other) = config
        .get("ManifestType")
        .and_then(Value::as_str)
        .filter(|t| *t != "S3_INVENTORY")
    {
        return Err(failed(format!(
            "ReaderConfig ManifestType {other} is not supported by Switchback (S3_INVENTORY is)"
        )));
    }
    if let Some(other) = config
        .get("Transformation")
        .and_then(Value::as_str)
        .filter(|t| *t != "NONE")
    {
        return Err(failed(format!(
            "ReaderConfig Transformation {other} is not supported by Switchback (NONE is)"
        )));
    }
    let csv_headers = match config.get("CSVHeaderLocation").and_then(Value::as_str) {
        Some("GIVEN") => Some(
            config
                .get("CSVHeaders")
                .and_then(Value::as_array)
                .map(|headers| {
                    headers
                        .iter()
                        .map(|h| h.as_str().map_or_else(|| h.to_string(), str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
        ),
        _ => None,
    };
    let csv_delimiter = match config.get("CSVDelimiter").and_then(Value::as_str) {
        None => b',',
        Some(name) => item_reader::delimiter(name).ok_or_else(|| {
            failed(format!(
                "CSVDelimiter {name} is not one of COMMA, PIPE, SEMICOLON, SPACE, TAB"
            ))
        })?,
    };
    let max_items = match (
        config.get("MaxItems"),
        config.get("MaxItemsPath").and_then(Value::as_str),
    ) {
        (Some(Value::String(expression)), _) if language == QueryLanguage::Jsonata => {
            let field = Value::String(expression.clone());
            let text = jsonata::expression_text(&field).unwrap_or_default();
            let n =
                jsonata::evaluate_integer("MaxItems", text, 0, States::input(input), env, entropy)?;
            u64::try_from(n).ok()
        }
        (Some(value), _) => value.as_u64(),
        (None, Some(path)) => {
            let value = dataflow::evaluate_path(path, input, env)?;
            match value.as_u64() {
                Some(n) => Some(n),
                None => {
                    return Err(failed(format!(
                        "The MaxItemsPath field refers to value \"{value}\" which is not a valid positive integer: {path}"
                    )));
                }
            }
        }
        (None, None) => None,
    };
    Ok(Some(ReaderSpec {
        source,
        input_type,
        csv_headers,
        csv_delimiter,
        // 0 reads every item.
        max_items: max_items.filter(|n| *n > 0),
        items_pointer: text_field(&config, "ItemsPointer"),
    }))
}

/// The `ItemBatcher`: how many items and bytes each child gets, and what it adds to them.
fn batcher_spec(
    map: &MapState,
    language: QueryLanguage,
    input: &Value,
    env: &Env<'_>,
    entropy: &mut crate::entropy::Entropy,
) -> Result<Option<BatcherSpec>, Failure> {
    let Some(batcher) = &map.item_batcher else {
        return Ok(None);
    };
    let max_items = count(
        batcher.max_items_per_batch.as_ref(),
        batcher.max_items_per_batch_path.as_deref(),
        ("MaxItemsPerBatch", "MaxItemsPerBatchPath", None),
        input,
        env,
        entropy,
    )?;
    let max_bytes = count(
        batcher.max_input_bytes_per_batch.as_ref(),
        batcher.max_input_bytes_per_batch_path.as_deref(),
        ("MaxInputBytesPerBatch", "MaxInputBytesPerBatchPath", None),
        input,
        env,
        entropy,
    )?;
    let batch_input = match &batcher.batch_input {
        Some(template) => Some(arguments(
            "ItemBatcher.BatchInput",
            Some(template),
            language,
            input,
            env,
            entropy,
        )?),
        None => None,
    };
    Ok(Some(BatcherSpec {
        max_items: max_items.map(|n| n as u64).filter(|n| *n > 0),
        max_bytes: max_bytes.map(|n| n as u64).filter(|n| *n > 0),
        batch_input,
    }))
}

/// The `ResultWriter`: where the results go and in which form.
fn writer_spec(
    map: &MapState,
    language: QueryLanguage,
    input: &Value,
    env: &Env<'_>,
    entropy: &mut crate::entropy::Entropy,
) -> Result<Option<WriterSpec>, Failure> {
    let Some(writer) = &map.result_writer else {
        return Ok(None);
    };
    let failed = |cause: String| Failure::new(result_writer::WRITER_FAILED, cause);
    let (bucket, prefix) = match &writer.resource {
        Some(resource) => {
            if resource.rsplit(':').next() != Some("putObject") {
                return Err(failed(format!(
                    "The ResultWriter resource '{resource}' is not supported: use arn:aws:states:::s3:putObject"
                )));
            }
            let template = writer.arguments.as_ref().or(writer.parameters.as_ref());
            let field = if writer.arguments.is_some() {
                "ResultWriter.Arguments"
            } else {
                "ResultWriter.Parameters"
            };
            let params = arguments(field, template, language, input, env, entropy)?;
            let bucket = text_field(&params, "Bucket")
                .ok_or_else(|| failed("The ResultWriter's parameters name no Bucket".to_owned()))?;
            (
                Some(bucket),
                text_field(&params, "Prefix").unwrap_or_default(),
            )
        }
        None => (None, String::new()),
    };
    let config = writer.writer_config.clone().unwrap_or_else(|| json!({}));
    let output_type = match config.get("OutputType").and_then(Value::as_str) {
        Some("JSONL") => OutputType::Jsonl,
        _ => OutputType::Json,
    };
    let transformation = match config.get("Transformation").and_then(Value::as_str) {
        Some("COMPACT") => Transformation::Compact,
        Some("FLATTEN") => Transformation::Flatten,
        Some(_) => Transformation::None,
        // Exported files hold the children's records; the state's own output their outputs.
        None if bucket.is_some() => Transformation::None,
        None => Transformation::Compact,
    };
    Ok(Some(WriterSpec {
        bucket,
        prefix,
        output_type,
        transformation,
    }))
}
