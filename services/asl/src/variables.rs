//! Variables (`Assign` writes them, `$name` reads them) and [`Env`], everything a path, a
//! template, an intrinsic function or a JSONata expression reads besides the state's input.
//!
//! Scopes: a thread's own variables live in the thread (`Thread::variables`, kept in the
//! snapshot like the rest of it). A Parallel branch or a Map iteration reads the variables of
//! every thread around it, which cannot change while it runs (the outer thread waits in its
//! Parallel or Map state), and writes only its own: they disappear when it ends. The validator
//! refuses a name assigned inside that is already assigned outside, so lookups never depend on
//! the order of the scopes. A catcher's `Assign` on a Parallel or Map belongs to the outer
//! thread, so it writes the outer scope.
//!
//! Every read of a state sees the variables as they were when it was entered: a state's
//! assignments are computed first and applied together when it leaves.

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::failure::Failure;
use crate::limits;

/// One scope's variables by name.
pub type Frame = Map<String, Value>;

/// The variables visible to a state: its own thread's, then those of each enclosing thread
/// (shared, not copied: they do not change while the inner thread runs).
#[derive(Debug, Clone, Default)]
pub struct Variables<'a> {
    local: Option<&'a Frame>,
    outer: Vec<Arc<Frame>>,
}

impl<'a> Variables<'a> {
    pub fn new(local: &'a Frame, outer: Vec<Arc<Frame>>) -> Self {
        Self {
            local: Some(local),
            outer,
        }
    }

    /// The value of `name` (without `$`), from the innermost scope that has it.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.local
            .and_then(|frame| frame.get(name))
            .or_else(|| self.outer.iter().rev().find_map(|frame| frame.get(name)))
    }

    /// Every visible variable, innermost scope first.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Value)> + '_ {
        let local = self.local.into_iter().flat_map(|frame| frame.iter());
        let outer = self.outer.iter().rev().flat_map(|frame| frame.iter());
        local.chain(outer)
    }

    /// The bytes all visible variables take (for the execution-wide limit).
    pub fn bytes_except(&self, replaced: &Frame) -> usize {
        let local = self.local.map_or(0, |frame| frame_bytes(frame, replaced));
        let outer: usize = self
            .outer
            .iter()
            .map(|frame| frame_bytes(frame, &Frame::new()))
            .sum();
        local + outer
    }
}

/// What a state's paths and expressions read besides its input: the context object (`$$`,
/// `$states.context`) and the variables in scope.
#[derive(Debug, Clone)]
pub struct Env<'a> {
    pub context: Value,
    pub variables: Variables<'a>,
    /// The step's clock, for JSONata's `$now()` and `$millis()`.
    pub now_ms: i64,
}

impl<'a> Env<'a> {
    pub fn new(context: Value, variables: Variables<'a>, now_ms: i64) -> Self {
        Self {
            context,
            variables,
            now_ms,
        }
    }

    /// An environment with the context object alone (no variables, time 0): the validator's
    /// and the tests' view.
    pub fn context_only(context: Value) -> Env<'static> {
        Env {
            context,
            variables: Variables::default(),
            now_ms: 0,
        }
    }
}

/// The most bytes one variable's JSON text may take (AWS: 256 KiB).
pub const MAX_VARIABLE_BYTES: usize = limits::MAX_PAYLOAD_BYTES;
/// The most bytes the values of one `Assign` may take together (AWS: 256 KiB).
pub const MAX_ASSIGN_BYTES: usize = limits::MAX_PAYLOAD_BYTES;
/// The most bytes all variables of an execution may take at once (AWS: 10 MiB).
pub const MAX_EXECUTION_BYTES: usize = 10 * 1024 * 1024;

/// Checks one state's assignments against AWS's limits before they are applied: each value,
/// their sum, and the execution's variables once they are written (`held`: the bytes of every
/// variable of the execution other than those being replaced). Failures are
/// `States.DataLimitExceeded`, raised by the state that assigns.
pub fn check_assignments(assigned: &Frame, held: usize) -> Result<usize, Failure> {
    let mut total = 0usize;
    for (name, value) in assigned {
        let size = limits::json_size(value);
        if size > MAX_VARIABLE_BYTES {
            return Err(Failure::new(
                crate::failure::errors::DATA_LIMIT_EXCEEDED,
                format!(
                    "The variable '{name}' has a size exceeding the maximum of {MAX_VARIABLE_BYTES} bytes."
                ),
            ));
        }
        total += size;
    }
    if total > MAX_ASSIGN_BYTES {
        return Err(Failure::new(
            crate::failure::errors::DATA_LIMIT_EXCEEDED,
            format!(
                "The variables assigned by the state have a combined size exceeding the maximum of {MAX_ASSIGN_BYTES} bytes."
            ),
        ));
    }
    if held + total > MAX_EXECUTION_BYTES {
        return Err(Failure::new(
            crate::failure::errors::DATA_LIMIT_EXCEEDED,
            format!(
                "The variables of the execution would have a combined size exceeding the maximum of {MAX_EXECUTION_BYTES} bytes."
            ),
        ));
    }
    Ok(total)
}

/// The bytes of the variables a frame holds, leaving out those named in `replaced`.
pub fn frame_bytes(frame: &Frame, replaced: &Frame) -> usize {
    frame
        .iter()
        .filter(|(name, _)| !replaced.contains_key(*name))
        .map(|(_, value)| limits::json_size(value))
        .sum()
}

/// `assignedVariables` and `assignedVariablesDetails` of an Exited event: each assigned value as
/// compact JSON text, by name. Nothing when nothing was assigned.
pub fn history_members(assigned: &Frame) -> Option<(Value, Value)> {
    if assigned.is_empty() {
        return None;
    }
    let texts: Map<String, Value> = assigned
        .iter()
        .map(|(name, value)| (name.clone(), Value::String(value.to_string())))
        .collect();
    Some((
        Value::Object(texts),
        serde_json::json!({ "truncated": false }),
    ))
}

/// Whether `name` may be assigned: AWS reserves `states` (`$states` in JSONata).
pub fn is_reserved(name: &str) -> bool {
    name == "states"
}
