//! Map states: the item processor (or legacy `Iterator`), item selection, concurrency and
//! failure tolerance, and the distributed-mode `ItemReader`/`ItemBatcher`/`ResultWriter`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::fields::{IntegerField, NumberField, present};
use super::retry::{Catcher, Retrier};
use super::state::State;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct MapState {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_processor: Option<ItemProcessor>,
    /// The legacy name of `ItemProcessor` (with `Parameters` in place of `ItemSelector`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iterator: Option<ItemProcessor>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items_path: Option<String>,
    /// JSONata: the items (an array, or an expression).
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub items: Option<Value>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub item_selector: Option<Value>,
    /// Legacy Map states: the item selector (not a state-level `Parameters`).
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub parameters: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_reader: Option<ItemReader>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_batcher: Option<ItemBatcher>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_writer: Option<ResultWriter>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_concurrency: Option<IntegerField>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_concurrency_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tolerated_failure_count: Option<IntegerField>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tolerated_failure_count_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tolerated_failure_percentage: Option<NumberField>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tolerated_failure_percentage_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry: Option<Vec<Retrier>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub catch: Option<Vec<Catcher>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end: Option<bool>,
}

impl MapState {
    /// `ItemProcessor`, else the legacy `Iterator`, with the field name (the scope of the
    /// iterations' states is named after it).
    pub fn processor(&self) -> Option<(&'static str, &ItemProcessor)> {
        match (&self.item_processor, &self.iterator) {
            (Some(processor), _) => Some(("ItemProcessor", processor)),
            (None, Some(iterator)) => Some(("Iterator", iterator)),
            (None, None) => None,
        }
    }

    /// What makes each iteration's input from its item: `ItemSelector`, or `Parameters`, its
    /// older name, which AWS still applies (with `ItemProcessor` as with `Iterator`).
    pub fn selector(&self) -> Option<&Value> {
        self.item_selector.as_ref().or(self.parameters.as_ref())
    }
}

/// The machine each item runs through.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ItemProcessor {
    pub start_at: String,
    pub states: BTreeMap<String, State>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub processor_config: Option<ProcessorConfig>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ProcessorConfig {
    /// `INLINE` or `DISTRIBUTED`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// `STANDARD` or `EXPRESS` (distributed mode).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_type: Option<String>,
}

// Distributed-mode sources and sinks are integration configurations AWS keeps extending: known
// fields are typed, anything else is kept as written rather than refused.

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ItemReader {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub reader_config: Option<Value>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub parameters: Option<Value>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub arguments: Option<Value>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ItemBatcher {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_items_per_batch: Option<IntegerField>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_items_per_batch_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_input_bytes_per_batch: Option<IntegerField>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_input_bytes_per_batch_path: Option<String>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub batch_input: Option<Value>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResultWriter {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub writer_config: Option<Value>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub parameters: Option<Value>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub arguments: Option<Value>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}
