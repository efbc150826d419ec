//! `Limits`: how much one evaluation may take, and the budgets derived from it.

use std::time::Duration;

use jsonata_core::evaluator::EvaluatorOptions;

/// How much time, depth and memory one evaluation may take. Every bound fails the evaluation
/// with `Error::Limit`; none truncates a result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock time of one evaluation (jsonata-core checks it at every node it evaluates).
    pub timeout: Duration,
    /// How deep evaluation may nest (about three levels per non-tail recursive call), and how
    /// deep arrays and objects may nest: in the input and bound values, in what constructors
    /// build and functions receive, and in the result. (Some of jsonata-core's walks recurse
    /// once per level of a value on the native stack, and a caller drops a
    /// `serde_json::Value` by recursion.)
    pub max_depth: usize,
    /// The longest sequence or array the evaluation may build. Ranges (`[a..b]`), `$split` and
    /// `$match` may produce four times this many elements in one evaluation, together; a value
    /// that is compared, nested or copied may hold this many nodes, counting shared parts each
    /// time they appear.
    pub max_sequence: usize,
    /// The largest result, in bytes of its JSON text. Values built on the way may reach four
    /// times this; strings built by the guarded built-ins sixteen times this together.
    pub max_output_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(1),
            // jsonata-core moves deep evaluation onto heap-allocated stack segments (`stacker`),
            // so the thread's own stack (2 MiB for a tokio worker) is not what runs out; this
            // bounds those segments (about 10 MiB at the limit in a debug build). Values this
            // deep are walked safely on a 2 MiB stack even unoptimised; real expressions and
            // Step Functions payloads (100 levels) stay far below (`tests::bounds` checks both).
            max_depth: 2_000,
            max_sequence: 1_000_000,
            max_output_bytes: 4 * 1024 * 1024,
        }
    }
}

impl Limits {
    /// jsonata-core's own guardrails for these limits.
    pub(crate) fn evaluator_options(&self) -> EvaluatorOptions {
        // jsonata-core counts whole milliseconds; a timeout under one would fail at once.
        let millis = u64::try_from(self.timeout.as_millis()).unwrap_or(u64::MAX);
        EvaluatorOptions {
            timeout_ms: Some(millis.max(1)),
            cancel: None,
            max_stack_depth: Some(self.max_depth),
            max_sequence_length: Some(self.max_sequence),
        }
    }

    /// The largest value (string, or JSON text of anything else) a guarded built-in, `&`, or
    /// a constructor may build. Larger than the output limit, since intermediate values carry
    /// what the result leaves out; bounded, so that no single step can allocate gigabytes.
    pub(crate) fn max_value_bytes(&self) -> usize {
        self.max_output_bytes.saturating_mul(4)
    }

    /// The bytes of strings built by guarded built-ins and `&` that may be alive at once.
    pub(crate) fn max_live_string_bytes(&self) -> usize {
        self.max_output_bytes.saturating_mul(16)
    }

    /// The elements all ranges, `$split`s and `$match`es of one evaluation may produce.
    pub(crate) fn max_generated_items(&self) -> usize {
        self.max_sequence.saturating_mul(4)
    }

    /// The most nodes a value that is compared, searched, copied or nested into a new one may
    /// hold when its shared parts are counted each time they appear: an expression can build
    /// a value whose parts are shared exponentially often in a few steps, and walking it
    /// would take forever without ever passing a timeout check.
    pub(crate) fn max_tree_nodes(&self) -> usize {
        self.max_sequence
    }
}
