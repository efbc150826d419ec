//! Distributed Map runs: what a DISTRIBUTED Map state hands the engine ([`MapRunSpec`]), how
//! the engine makes each child execution's input from its item, when a run has failed more
//! than it tolerates, and how a run ended ([`MapRunOutcome`]). Pure like the rest of the
//! crate: the scheduler drives runs and calls these.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::dataflow;
use crate::entropy::Entropy;
use crate::failure::{Failure, errors};
use crate::item_reader::{BatcherSpec, ReaderSpec};
use crate::jsonata::{self, States};
use crate::model::QueryLanguage;
use crate::result_writer::WriterSpec;
use crate::variables::{Env, Frame, Variables};

/// The most children a Distributed Map runs at once (AWS's limit, and what it runs when
/// `MaxConcurrency` is 0 or absent).
pub const MAX_CONCURRENCY: u32 = 10_000;

/// AWS's cause when a run's failures pass what it tolerates (inline Maps say the same).
pub const EXCEEDED_CAUSE: &str = "The specified tolerated failure threshold was exceeded";

/// Everything the engine needs to run a Distributed Map's items as child executions, fixed
/// when the Map state starts the run (`Effect::StartMapRun`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MapRunSpec {
    /// `…:mapRun:<machine>/<label>:<id>`.
    pub arn: String,
    /// The parent's task for the run: the run's end comes back as `Event::MapRunEnded` for it.
    pub task_id: u64,
    /// The children's state machine: `…:stateMachine:<machine>/<label>`.
    pub state_machine_arn: String,
    /// The item processor as a state machine definition of its own.
    pub definition: String,
    pub role_arn: String,
    /// `ProcessorConfig.ExecutionType` is EXPRESS.
    pub express: bool,
    /// The items, when the state's input held them (none with a reader).
    pub items: Vec<Value>,
    /// `ItemReader`: the items come from S3, read as the run goes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reader: Option<ReaderSpec>,
    /// `ItemBatcher`: each child runs a batch of items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batcher: Option<BatcherSpec>,
    /// `ResultWriter`: where and how the results are written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub writer: Option<WriterSpec>,
    /// `ItemSelector` (or the legacy `Parameters`), with what it reads besides the item.
    pub selector: Option<Selector>,
    /// 0 in the state means [`MAX_CONCURRENCY`].
    pub max_concurrency: u32,
    pub tolerated_count: Option<u64>,
    pub tolerated_percentage: Option<f64>,
    /// Whether the parent uses the children's outputs (`ResultPath: null` discards them, and
    /// a run of millions of items then never gathers them).
    pub gather_results: bool,
}

/// What an `ItemSelector` reads: the Map state's input and, as they were when it started,
/// the variables in scope and the context object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Selector {
    pub template: Value,
    pub language: QueryLanguage,
    pub input: Value,
    pub variables: Frame,
    pub context: Value,
}

impl MapRunSpec {
    /// The input of the child for item `index`: the item, or what the selector makes of it
    /// with `$$.Map.Item` set. `now_ms` and `seed` are the clock and randomness of the
    /// selector's functions.
    pub fn child_input(
        &self,
        index: usize,
        item: Value,
        now_ms: i64,
        seed: u64,
    ) -> Result<Value, Failure> {
        let Some(selector) = &self.selector else {
            return Ok(item);
        };
        let mut context = selector.context.clone();
        if !context.is_object() {
            context = json!({});
        }
        context["Map"] = json!({ "Item": { "Index": index, "Value": item } });
        let env = Env::new(
            context,
            Variables::new(&selector.variables, Vec::new()),
            now_ms,
        );
        let mut entropy = Entropy::new(seed);
        match selector.language {
            QueryLanguage::Jsonata => jsonata::evaluate_field(
                "ItemSelector",
                &selector.template,
                States::input(&selector.input),
                &env,
                &mut entropy,
            ),
            QueryLanguage::JsonPath => {
                dataflow::evaluate_template(&selector.template, &selector.input, &env, &mut entropy)
            }
        }
    }

    /// Whether its `ResultWriter` puts the results in S3 (rather than only shaping the state's
    /// output): such a run writes them however it ends.
    pub fn exports(&self) -> bool {
        self.writer.as_ref().is_some_and(|w| w.bucket.is_some())
    }

    /// The most children to run at once.
    pub fn concurrency(max_concurrency: u32) -> u32 {
        match max_concurrency {
            0 => MAX_CONCURRENCY,
            n => n.min(MAX_CONCURRENCY),
        }
    }
}

/// Whether `failures` of `total` items are more than a Map tolerates: with neither a count
/// nor a percentage set, any failure is; otherwise the failures must stay within one of them.
pub fn exceeds_tolerance(
    failures: u64,
    total: u64,
    count: Option<u64>,
    percentage: Option<f64>,
) -> bool {
    if failures == 0 {
        return false;
    }
    let by_count = count.is_some_and(|n| failures <= n);
    let by_percentage =
        percentage.is_some_and(|p| total > 0 && (failures as f64) * 100.0 / (total as f64) <= p);
    !(by_count || by_percentage)
}

/// How a run ended, as its parent's Map state learns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MapRunOutcome {
    /// Every item ran, or the failures stayed within what the Map tolerates. `results`: the
    /// JSON array of the children's outputs in item order (a failed child's is its error
    /// output), unless the spec did not gather them.
    Succeeded {
        results: Option<String>,
    },
    Failed {
        error: String,
        cause: String,
    },
}

impl MapRunOutcome {
    /// The run failed more than it tolerates.
    pub fn exceeded() -> Self {
        MapRunOutcome::Failed {
            error: errors::EXCEED_TOLERATED_FAILURE_THRESHOLD.to_owned(),
            cause: EXCEEDED_CAUSE.to_owned(),
        }
    }
}

/// The error output a failed child leaves among a run's results.
pub fn error_output(error: &str, cause: &str) -> Value {
    json!({ "Error": error, "Cause": cause })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerance_is_either_limit_or_none() {
        assert!(!exceeds_tolerance(0, 10, None, None));
        assert!(exceeds_tolerance(1, 10, None, None));
        assert!(!exceeds_tolerance(2, 10, Some(2), None));
        assert!(exceeds_tolerance(3, 10, Some(2), None));
        assert!(!exceeds_tolerance(3, 10, Some(2), Some(30.0)));
        assert!(exceeds_tolerance(4, 10, Some(2), Some(30.0)));
        assert!(exceeds_tolerance(1, 0, None, Some(100.0)));
    }

    #[test]
    fn a_selector_sees_the_item_its_index_the_input_and_the_variables() {
        let mut variables = Frame::new();
        variables.insert("bucket".into(), json!("b"));
        let spec = MapRunSpec {
            arn: String::new(),
            task_id: 1,
            state_machine_arn: String::new(),
            definition: String::new(),
            role_arn: String::new(),
            express: false,
            items: vec![],
            reader: None,
            batcher: None,
            writer: None,
            selector: Some(Selector {
                template: json!({"v.$": "$$.Map.Item.Value", "i.$": "$$.Map.Item.Index",
                                 "all.$": "$.k", "b.$": "$bucket"}),
                language: QueryLanguage::JsonPath,
                input: json!({"k": 7}),
                variables,
                context: json!({}),
            }),
            max_concurrency: 0,
            tolerated_count: None,
            tolerated_percentage: None,
            gather_results: true,
        };
        let input = spec.child_input(3, json!("x"), 0, 1).expect("selected");
        assert_eq!(input, json!({"v": "x", "i": 3, "all": 7, "b": "b"}));
        assert_eq!(MapRunSpec::concurrency(0), MAX_CONCURRENCY);
        assert_eq!(MapRunSpec::concurrency(20_000), MAX_CONCURRENCY);
        assert_eq!(MapRunSpec::concurrency(5), 5);
    }
}
