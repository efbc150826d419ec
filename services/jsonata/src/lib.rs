//! switchback-jsonata: JSONata expressions for Switchback, parsed once and evaluated bounded.
//! Pure: no IO, no clock, no random source of its own.
//!
//! It wraps jsonata-core (a maintained Rust implementation of JSONata) behind a small API:
//! [`Expression::parse`], [`Expression::evaluate`] with an [`Env`] of variables and host
//! functions under [`Limits`], and one [`Error`] type. What it adds:
//!
//! - **Bounds.** Every evaluation runs under a timeout, a depth limit and a sequence limit
//!   (jsonata-core's own guardrails), and under memory and depth bounds jsonata-core lacks: the
//!   expression is rewritten at parse time so that the built-ins and operators that can build a
//!   huge value from a small input (`$pad`, `$formatInteger` in roman numerals, date picture
//!   widths, `$replace`, `$split`, `$match`, `$string`, `$join`, `&`, ranges, values doubled by
//!   array and object constructors) check their arguments first, the strings they build are
//!   counted while alive, and what constructors nest and functions receive is measured in size
//!   and depth (see `rewrite`). Input and bound values are converted without recursion and
//!   refused beyond the depth limit; the result is converted within a byte budget and the same
//!   depth. A panic inside jsonata-core is caught.
//! - **Determinism.** An execution must come out the same when it is replayed from its seed
//!   and clock, so jsonata-core's own clock and random source are never consulted: `$now`,
//!   `$millis` and `$random` are the host's ([`Env::function`]) or fail with
//!   [`Error::Function`]; `$shuffle` draws from the host's `$random`; `$toMillis` takes the date
//!   parts a picture leaves out from the host's clock. `chrono` and `rand` are still compiled,
//!   as jsonata-core's dependencies. (jsonata-core's timeout reads the monotonic clock; that
//!   decides only whether an evaluation is cut off, never what it returns.)
//! - **`$eval` is refused** ([`Error::Unsupported`]), as AWS Step Functions refuses it.
//! - **JSON at the boundary.** Undefined is `None`, JSON `null` is `Some(Value::Null)`; a
//!   sequence is an array; whole numbers are JSON integers; infinities fail (D1001).
//!
//! Module map:
//! - `expression` — [`Expression`]: parse, rewrite, free variables, evaluate (under `catch_unwind`).
//! - `env` — [`Env`]: bound values and host functions, and the adapter that gives jsonata-core a host function.
//! - `limits` — [`Limits`] and the budgets derived from them.
//! - `error` — [`Error`], and how jsonata-core's parser and evaluator errors map onto it.
//! - `names` — the `$names` an expression reads from outside, and every name it mentions.
//! - `rewrite` — the parse-time rewrite that routes risky built-ins and operators through guards.
//! - `guards` — the internal host functions the rewrite calls: argument checks, counted results, ranges.
//! - `impure` — `$eval`, `$now`, `$millis`, `$random`, `$shuffle` and `$toMillis`'s clock, kept deterministic.
//! - `run` — one evaluation's shared state: limits, budgets, the host's functions, the error a host function raised.
//! - `measure` — sizes of values (JSON bytes, nodes counted through shared parts), iteratively and within a bound.
//! - `convert` — `serde_json::Value` to jsonata-core's values and back, iteratively, within budgets.
//! - `builtins` — JSONata's built-in functions: arity, whether jsonata-core compiles them, how they are guarded.

mod builtins;
mod convert;
mod env;
mod error;
mod expression;
mod guards;
mod impure;
mod limits;
mod measure;
mod names;
mod rewrite;
mod run;

#[cfg(test)]
mod tests;

pub use env::Env;
pub use error::Error;
pub use expression::Expression;
pub use limits::Limits;
