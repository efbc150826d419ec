//! The crate's tests: the API (`api`), every bound (`bounds`), free variables (`names`),
//! generated expressions (`property`) and a timing (`speed`, ignored by default).

mod api;
mod bounds;
mod names;
mod property;
mod speed;

use serde_json::Value;

use crate::{Env, Error, Expression, Limits};

/// `expression` over `input`, with default limits and nothing bound.
fn eval(expression: &str, input: Value) -> Result<Option<Value>, Error> {
    eval_in(expression, Some(&input), &Env::new(Limits::default()))
}

fn eval_in(expression: &str, input: Option<&Value>, env: &Env<'_>) -> Result<Option<Value>, Error> {
    Expression::parse(expression)?.evaluate(input, env)
}

/// `expression`'s value, which must be defined.
#[track_caller]
fn value(expression: &str, input: Value) -> Value {
    match eval(expression, input) {
        Ok(Some(value)) => value,
        other => panic!("{expression}: {other:?}"),
    }
}

/// `source` through jsonata-core alone: no rewrite, no guards.
pub(super) fn plain(
    source: &str,
    input: Option<&Value>,
    limits: Limits,
) -> Result<Option<Value>, Error> {
    use jsonata_core::evaluator::{Context, Evaluator};
    let ast = jsonata_core::parser::parse(source)?;
    let data = match input {
        Some(input) => crate::convert::to_jvalue(input, limits.max_depth)?,
        None => jsonata_core::value::JValue::Undefined,
    };
    let mut evaluator = Evaluator::with_options(Context::new(), limits.evaluator_options());
    let value = evaluator.evaluate(&ast, &data)?;
    crate::convert::to_json(&value, limits.max_output_bytes, limits.max_depth)
}
