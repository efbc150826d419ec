//! switchback-asl: the Amazon States Language, as pure functions (no IO, no clock).
//!
//! Module map:
//! - `interpreter` — the step function: start and step an execution; snapshot, events, effects, history.
//! - `model` — the typed model of the whole language (serde, round-trips) and `Machine`: a definition
//!   parsed once, indexed by (scope, state name), shared by every step of its executions.
//!   - `model::definition` — the top level (`StateMachine`), Parallel `Branch`es, `QueryLanguage`.
//!   - `model::state` — `State`: its type (`StateKind`, the eight types' own fields) and its data-flow fields.
//!   - `model::schema` — which fields each state type takes, in which query language (shared with the validator).
//!   - `model::choice` — Choice rules: `And`/`Or`/`Not`, comparators and `…Path` twins, `Condition`.
//!   - `model::retry` — `Retrier`, `Catcher`.
//!   - `model::map` — Map states: item processor, processor config, reader, batcher, writer.
//!   - `model::fields` — `NullablePath` (absent vs `null`), numbers-or-JSONata, raw fields keeping `null`,
//!     `DataFlowFields` (every state's data-flow fields, one struct).
//!   - `model::index` — scopes by JSON pointer, states by name (with their resolved language and
//!     pipeline): what the interpreter looks up.
//! - `dataflow` — the data-flow `Pipeline` of a state (its stages in its query language), and the
//!   paths, templates and ResultPath writing it is made of.
//! - `jsonata` — JSONata as Step Functions runs it: `{% %}` fields, `$states`, AWS's functions and
//!   errors (the language itself is `switchback-jsonata`).
//! - `intrinsics` — the intrinsic functions (`States.Format` and the rest).
//! - `choice` — evaluating Choice rules.
//! - `retry` — Retry and Catch matching, backoff delays.
//! - `start` — StartExecution's rules (ARN, name, input) and `Refusal`, shared by the API and tasks that start executions.
//! - `mock_shapes` — TestState's check of a mocked result against the response shape of the call it stands for.
//! - `test_state` — TestState: one state run once, alone, by the interpreter, a Task answered by its mock.
//! - `map_run` — Distributed Map runs: the `MapRunSpec` a DISTRIBUTED Map hands the engine, a
//!   child's input from its item, the tolerated-failure rule, `MapRunOutcome`.
//! - `item_reader` — `ItemReader` and `ItemBatcher`: the items of an S3 object's bytes, a chunk at
//!   a time with the cursor after each, listings' items, batches.
//! - `result_writer` — `ResultWriter`: the result files, their entries and the manifest.
//! - `wait` — when a Wait state ends.
//! - `variables` — variables: scopes, `Env` (the context object and the variables a state reads),
//!   the limits on `Assign`, `assignedVariables` in history.
//! - `limits` — AWS's data limits (payload bytes, history events, nesting depth) and the checks
//!   that enforce them while values are computed.
//! - `failure` — `Failure` (error + cause) and the predefined `States.*` error names.
//! - `entropy` — randomness passed in by the caller (jitter, `States.UUID`, `States.MathRandom`).
//! - `resource` — what a Task's `Resource` names (activity, Lambda function, integration) and its pattern.
//! - `mocks` — mocked task responses in AWS Step Functions Local's mock configuration format.
//! - `arn` — ARNs of activities, state machines, executions and map runs: formatting and parsing.
//! - `names` — the naming rule for activities, state machines and executions.
//! - `diagnostic` — `Diagnostic`, `Severity`, `DiagnosticCode`, and the InvalidDefinition message AWS renders from them.
//! - `validate` — `validate()`, `ValidateOptions`, `MachineType`: every problem in a definition, in AWS's words.
//!   - `validate::machine` — a machine or nested scope: `StartAt`, `States`, top-level fields, state names.
//!   - `validate::states` — one state: `Type`, the field table per type and query language, `Next`/`End`,
//!     data-flow fields, and the Pass, Wait, Succeed, Fail and Parallel states.
//!   - `validate::task` — Task states: resource (and Express restrictions), timeouts, credentials.
//!   - `validate::choice` — Choice rules (JSONPath comparators, JSONata conditions).
//!   - `validate::map` — Map states: item processor, processor config, concurrency, tolerance, `Label`.
//!   - `validate::retry_catch` — retriers and catchers.
//!   - `validate::reachability` — dangling targets, missing end state, unreachable states.
//!   - `validate::language` — JSONPath vs JSONata: a state's language, fields of the other language.
//!   - `validate::fields` — shared field checks: presence, JSON types, ranges, paths, payload templates.
//!   - `validate::timestamp` — RFC 3339 timestamps.
//!   - `validate::variables` — variable names, scopes and references (on the typed model).

pub mod arn;
pub mod choice;
pub mod dataflow;
pub mod diagnostic;
pub mod entropy;
pub mod failure;
pub mod interpreter;
pub mod intrinsics;
pub mod item_reader;
pub mod jsonata;
pub mod limits;
pub mod map_run;
pub mod mock_shapes;
pub mod mocks;
pub mod model;
pub mod names;
pub mod resource;
pub mod result_writer;
pub mod retry;
pub mod start;
pub mod test_state;
pub mod validate;
pub mod variables;
pub mod wait;

pub use diagnostic::{Diagnostic, DiagnosticCode, Severity};
pub use validate::{MachineType, ValidateOptions, validate};
