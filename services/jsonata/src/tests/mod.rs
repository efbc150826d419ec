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
