//! Intrinsic functions (`States.Format(...)` and the other 17) of JSONPath states.
//!
//! An expression is tokenized (`lexer`), parsed into a call tree (`parser`) and evaluated
//! bottom-up: literals become JSON values, path arguments are read with
//! [`crate::dataflow::evaluate_path`], and each call runs its function (`functions`, `arrays`).
//!
//! Errors follow what AWS was observed to return at run time (public characterization suites
//! executed against AWS, see the module notes in `functions`): a bad argument fails the state
//! with `States.Runtime` and the cause `Invalid arguments in States.<Name>`. The caller puts
//! AWS's prefix in front (`An error occurred while executing the state '<name>' (entered at the
//! event id #<id>). `), because only it knows the state and the event. A path that is missing
//! fails with whatever `evaluate_path` reports (also `States.Runtime`).
//!
//! Sizes are bounded while values are built, never after: the arguments an evaluation holds at
//! once, and each function's result, stay within [`limits::MAX_PAYLOAD_BYTES`], else the state
//! fails with `States.DataLimitExceeded` ([`Failure::data_limit_exceeded`]). Without this a
//! `States.Array` of a thousand copies of a large input value would build hundreds of megabytes
//! before anything could refuse it.

mod arrays;
mod base64;
mod functions;
pub(crate) use functions::uuid_v4;
pub(crate) mod hash;
mod lexer;
mod parser;
#[cfg(test)]
mod tests;

use serde_json::{Number, Value};

use crate::entropy::Entropy;
use crate::failure::Failure;
use crate::limits::{self, Budget};
use crate::variables::Env as VarEnv;

use lexer::StringLit;
use parser::Expr;

/// Whether a `.$` value is an intrinsic function call rather than a path.
pub fn is_intrinsic(expression: &str) -> bool {
    expression.trim_start().starts_with("States.")
}

/// Evaluates an intrinsic function call. Path arguments (`$.x`, `$$.Execution.Id`) read from
/// `input` and `context`. Errors are `States.Runtime` with AWS's cause text (see the module
/// documentation), or `States.DataLimitExceeded` for a value past the limits; `States.UUID` and
/// unseeded `States.MathRandom` draw from `entropy`.
pub fn evaluate(
    expression: &str,
    input: &Value,
    env: &VarEnv<'_>,
    entropy: &mut Entropy,
) -> Result<Value, Failure> {
    let tree = parser::parse(expression).map_err(|detail| {
        Failure::runtime(format!(
            "The intrinsic function call '{expression}' is not valid: {detail}"
        ))
    })?;
    let mut eval = Evaluation {
        input,
        env,
        entropy,
        live: Budget::payload(),
    };
    let value = eval.eval(&tree, "")?;
    // Nested calls can wrap a value in more arrays than any later walk over it expects.
    if limits::too_deep(&value) {
        return Err(Failure::data_limit_exceeded(limits::TOO_DEEP));
    }
    Ok(value)
}

/// What an evaluation reads from and draws on.
struct Evaluation<'a> {
    input: &'a Value,
    env: &'a VarEnv<'a>,
    entropy: &'a mut Entropy,
    /// What is left of the payload limit for the values held at once: the arguments gathered
    /// so far by every call on the way down to the one being evaluated.
    live: Budget,
}

/// The evaluated arguments of one call, plus the first argument's literal form when it was a
/// string literal (`States.Format` needs to tell `\{` from `{`).
pub(crate) struct Call<'a> {
    pub name: &'a str,
    pub values: Vec<Value>,
    pub first_literal: Option<&'a StringLit>,
}

impl Evaluation<'_> {
    /// Evaluates `expr`, an argument of the function `parent` (used to word literal errors),
    /// and spends its size from the live budget: the caller holds it until its own call ran.
    fn eval(&mut self, expr: &Expr, parent: &str) -> Result<Value, Failure> {
        let value = match expr {
            Expr::Str(lit) => Value::String(lit.value.clone()),
            Expr::Number(text) => number_literal(text).ok_or_else(|| invalid(parent))?,
            Expr::Bool(b) => Value::Bool(*b),
            Expr::Null => Value::Null,
            Expr::Path(path) => crate::dataflow::evaluate_path(path, self.input, self.env)?,
            Expr::Call { name, args } => {
                // The arguments are dropped once the function ran: their bytes are free again
                // for the result and for the caller's next arguments.
                let held_before = self.live.clone();
                let mut values = Vec::with_capacity(args.len());
                for arg in args {
                    values.push(self.eval(arg, name)?);
                }
                let first_literal = match args.first() {
                    Some(Expr::Str(lit)) => Some(lit),
                    _ => None,
                };
                let call = Call {
                    name,
                    values,
                    first_literal,
                };
                let result = functions::call(&call, self.entropy)?;
                self.live = held_before;
                result
            }
        };
        self.live.take(&value)?;
        Ok(value)
    }
}

/// Runs the intrinsic function `name` (`States.ArrayPartition`, ...) on values: JSONata's
/// Step Functions functions (`$partition`, `$range`, `$hash`, `$uuid`, `$parse`) are these.
pub fn call_function(
    name: &str,
    values: Vec<Value>,
    entropy: &mut Entropy,
) -> Result<Value, Failure> {
    let call = Call {
        name,
        values,
        first_literal: None,
    };
    functions::call(&call, entropy)
}

/// The cause AWS gives for any argument a function cannot use (wrong count, type or range).
pub(crate) fn invalid(name: &str) -> Failure {
    Failure::runtime(format!("Invalid arguments in {name}"))
}

/// A number literal as JSON: integers stay integers; `None` if it is not a finite number.
fn number_literal(text: &str) -> Option<Value> {
    if !text.contains(['.', 'e', 'E']) {
        if let Ok(i) = text.parse::<i64>() {
            return Some(Value::from(i));
        }
        if let Ok(u) = text.parse::<u64>() {
            return Some(Value::from(u));
        }
    }
    let f = text.parse::<f64>().ok()?;
    Number::from_f64(f).map(Value::Number)
}

/// A number cut toward zero, as a Java `(int)`/`(long)` cast does. AWS truncates the sizes,
/// indexes and bounds of `ArrayPartition`, `ArrayRange`, `ArrayGetItem` and `MathRandom`
/// (e.g. `ArrayPartition(a, 2.6)` partitions by 2).
pub(crate) fn truncated(value: &Value) -> Option<i64> {
    if let Some(i) = value.as_i64() {
        return Some(i);
    }
    let f = value.as_f64()?;
    (f.is_finite() && f.abs() < 9.2e18).then(|| f.trunc() as i64)
}

/// A number rounded half up, as Java's `Math.round` does: AWS's `MathAdd` of -1.5 and 0 is -1,
/// of 2.5 and 0 is 3 (recorded in the corpus).
pub(crate) fn rounded(value: &Value) -> Option<i64> {
    if let Some(i) = value.as_i64() {
        return Some(i);
    }
    let f = value.as_f64()?;
    (f.is_finite() && f.abs() < 9.2e18).then(|| (f + 0.5).floor() as i64)
}
