//! JSONata as Step Functions runs it: `{% %}` fields evaluated with `$states` and the variables
//! in scope, AWS's own functions, and AWS's errors. The language itself is
//! `switchback-jsonata`'s; this module holds the Step Functions rules around it.
//!
//! - `$states` holds `input` (the state's raw input), `context` (the context object) and, where
//!   the field may read them, `result` (a Task's, Parallel's or Map's result) and `errorOutput`
//!   (`{"Error", "Cause"}` in a catcher).
//! - A field may be any JSON: every string in it that is a whole `{% … %}` expression is
//!   replaced by its value; every other value is kept as written.
//! - AWS adds `$partition`, `$range`, `$hash`, `$uuid` and `$parse` (the intrinsic functions'
//!   twins, so they share their rules and errors), `$random([seed])`, and refuses `$eval`.
//!   `$now()` and `$millis()` read the step's clock, and `$random()` the execution's entropy
//!   (`$shuffle` draws from `$random`), so that a step stays a pure function of its inputs.
//! - Failures are `States.QueryEvaluationError` with AWS's causes, naming the field
//!   (`Output/result` for a nested one); the interpreter records them as `EvaluationFailed`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use serde_json::{Map, Value};
use switchback_jsonata::{Env as Evaluation, Error, Expression, Limits};

use crate::entropy::Entropy;
use crate::failure::Failure;
use crate::intrinsics;
use crate::limits;
use crate::model::schema::{is_expression, is_expression_text};
use crate::variables::Env;

/// How long one expression may run before it fails the state: long enough for any real
/// transformation, short enough that a runaway one never holds a scheduler.
pub const EVALUATION_TIMEOUT: Duration = Duration::from_millis(1_000);

/// The deepest an evaluation may recurse (JSONata's own stack, not ours).
pub const EVALUATION_MAX_DEPTH: usize = 500;

/// The longest sequence an evaluation may build (`[1..n]`, `$map`, ...).
pub const EVALUATION_MAX_SEQUENCE: usize = 1_000_000;

/// What `$states` holds for one evaluation, besides the context object (from [`Env`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct States<'a> {
    pub input: Option<&'a Value>,
    pub result: Option<&'a Value>,
    pub error_output: Option<&'a Value>,
}

impl<'a> States<'a> {
    pub fn input(input: &'a Value) -> Self {
        Self {
            input: Some(input),
            ..Self::default()
        }
    }

    pub fn with_result(mut self, result: &'a Value) -> Self {
        self.result = Some(result);
        self
    }

    pub fn with_error_output(mut self, error_output: &'a Value) -> Self {
        self.error_output = Some(error_output);
        self
    }

    /// The members of `$states` that `expression` can read, borrowed: the evaluation copies
    /// them once, into JSONata's form. Most expressions read `$states.input` alone, and the
    /// context object is the largest member to copy.
    fn members<'v>(
        &self,
        env: &'v Env<'_>,
        expression: &Expression,
    ) -> Vec<(&'static str, &'v Value)>
    where
        'a: 'v,
    {
        [
            ("input", self.input),
            ("context", Some(&env.context)),
            ("result", self.result),
            ("errorOutput", self.error_output),
        ]
        .into_iter()
        .filter_map(|(name, value)| Some((name, value?)))
        .filter(|(name, _)| expression.reads_member("states", name))
        .collect()
    }
}

/// The expression inside a `{% … %}` string, trimmed as AWS quotes it; `None` for any other
/// value.
pub fn expression_text(value: &Value) -> Option<&str> {
    if !is_expression(value) {
        return None;
    }
    value.as_str().map(inside)
}

/// The text between `{%` and `%}`, trimmed (`text` is known to be an expression).
fn inside(text: &str) -> &str {
    text[2..text.len() - 2].trim()
}

/// Evaluates a field at `location` (e.g. `Output`): every `{% %}` string in it, at any depth,
/// is replaced by its value (nested fields report `Output/key`).
pub fn evaluate_field(
    location: &str,
    field: &Value,
    states: States<'_>,
    env: &Env<'_>,
    entropy: &mut Entropy,
) -> Result<Value, Failure> {
    let mut session = Session::new(states, env, entropy);
    session.field(location, field)
}

/// One evaluation's shared parts.
struct Session<'s, 'e> {
    states: States<'s>,
    env: &'s Env<'e>,
    entropy: &'s mut Entropy,
}

impl<'s, 'e> Session<'s, 'e> {
    fn new(states: States<'s>, env: &'s Env<'e>, entropy: &'s mut Entropy) -> Self {
        Self {
            states,
            env,
            entropy,
        }
    }

    fn field(&mut self, location: &str, field: &Value) -> Result<Value, Failure> {
        if let Some(text) = expression_text(field) {
            return self.expression(location, text);
        }
        match field {
            Value::Object(members) => {
                let mut out = Map::with_capacity(members.len());
                for (key, value) in members {
                    let value = self.field(&format!("{location}/{key}"), value)?;
                    out.insert(key.clone(), value);
                }
                Ok(Value::Object(out))
            }
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(index, item)| self.field(&format!("{location}/{index}"), item))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            other => Ok(other.clone()),
        }
    }

    /// One expression, which must return something.
    fn expression(&mut self, location: &str, text: &str) -> Result<Value, Failure> {
        let parsed = parse(text).map_err(|error| {
            Failure::query_evaluation(
                Some(location),
                format!(
                    "The JSONata expression '{text}' specified for the field '{location}' is not valid: {error}"
                ),
            )
        })?;
        let (expression, free) = (&parsed.expression, &parsed.free);
        let mut evaluation = Evaluation::new(Limits {
            timeout: EVALUATION_TIMEOUT,
            max_depth: EVALUATION_MAX_DEPTH,
            max_sequence: EVALUATION_MAX_SEQUENCE,
            max_output_bytes: limits::MAX_PAYLOAD_BYTES,
        });
        if free.iter().any(|name| name == "states") {
            evaluation.bind_object("states", self.states.members(self.env, expression));
        }
        for name in free {
            if name != "states"
                && let Some(value) = self.env.variables.get(name)
            {
                evaluation.bind(name, value);
            }
        }
        // Host functions are `'static`: they share a copy of the entropy, written back after.
        let entropy = Rc::new(RefCell::new(self.entropy.clone()));
        add_step_functions(&mut evaluation, expression, &entropy, self.env.now_ms);
        let result = expression.evaluate(None, &evaluation);
        drop(evaluation);
        *self.entropy = entropy.borrow().clone();
        match result {
            Ok(Some(value)) => Ok(value),
            Ok(None) => Err(Failure::query_evaluation(
                Some(location),
                format!(
                    "The JSONata expression '{text}' specified for the field '{location}' returned nothing (undefined)."
                ),
            )),
            Err(error) => Err(evaluation_error(location, text, &error)),
        }
    }
}

/// An expression parsed once, with the variables it reads from outside.
struct Parsed {
    expression: Expression,
    free: Vec<String>,
}

/// The most parsed expressions a thread keeps.
const MAX_PARSED: usize = 4_096;

thread_local! {
    /// Parsed expressions by text: a workflow evaluates the same few expressions over and over,
    /// on whichever scheduler thread steps it. A cache only: emptied when full.
    static PARSED: RefCell<HashMap<String, Rc<Parsed>>> = RefCell::new(HashMap::new());
}

fn parse(text: &str) -> Result<Rc<Parsed>, Error> {
    PARSED.with(|cache| {
        if let Some(parsed) = cache.borrow().get(text) {
            return Ok(Rc::clone(parsed));
        }
        let expression = Expression::parse(text)?;
        let free = expression.free_variables();
        let parsed = Rc::new(Parsed { expression, free });
        let mut cache = cache.borrow_mut();
        if cache.len() >= MAX_PARSED {
            cache.clear();
        }
        cache.insert(text.to_owned(), Rc::clone(&parsed));
        Ok(parsed)
    })
}

/// AWS's cause for an expression that raised an error.
fn evaluation_error(location: &str, text: &str, error: &Error) -> Failure {
    let detail = match error.code() {
        Some(code) => format!("{code}: {error}"),
        None => error.to_string(),
    };
    Failure::query_evaluation(
        Some(location),
        format!(
            "The JSONata expression '{text}' specified for the field '{location}' threw an error during evaluation. {detail}"
        ),
    )
}

/// A field's value has the wrong JSON type for it: AWS's cause.
pub fn unexpected_type(location: &str, text: &str, expected: &str, value: &Value) -> Failure {
    Failure::query_evaluation(
        Some(location),
        format!(
            "The JSONata expression '{text}' specified for the field '{location}' returned an unexpected result type. Expected '{expected}', but was '{}' for value: {value}",
            type_name(value)
        ),
    )
}

/// JSONata's (and AWS's) names of JSON types.
pub fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Step Functions' functions that are intrinsic functions under another name.
const INTRINSIC_TWINS: [(&str, &str); 5] = [
    ("partition", "States.ArrayPartition"),
    ("range", "States.ArrayRange"),
    ("hash", "States.Hash"),
    ("parse", "States.StringToJson"),
    ("uuid", "States.UUID"),
];

/// Whether `$name` is a function Step Functions adds to JSONata (not a variable).
pub fn is_step_functions_function(name: &str) -> bool {
    name == "random" || INTRINSIC_TWINS.iter().any(|(twin, _)| *twin == name)
}

/// Step Functions' functions, and the clock and randomness of the step: those `expression`
/// names (most name none, and each costs an allocation per evaluation).
fn add_step_functions(
    evaluation: &mut Evaluation<'_>,
    expression: &Expression,
    entropy: &Rc<RefCell<Entropy>>,
    now_ms: i64,
) {
    for (name, intrinsic) in INTRINSIC_TWINS {
        if !expression.reaches(name) {
            continue;
        }
        let entropy = Rc::clone(entropy);
        evaluation.function(name, move |args: &[Option<Value>]| {
            let values: Vec<Value> = args
                .iter()
                .map(|arg| arg.clone().unwrap_or(Value::Null))
                .collect();
            let mut entropy = entropy.borrow_mut();
            intrinsics::call_function(intrinsic, values, &mut entropy)
                .map(Some)
                .map_err(|failure| failure.cause.replace(intrinsic, &format!("${name}")))
        });
    }
    if expression.reaches("random") {
        let shared = Rc::clone(entropy);
        evaluation.function("random", move |args: &[Option<Value>]| {
            let number = match args.first().and_then(Option::as_ref) {
                None => shared.borrow_mut().next_f64(),
                Some(seed) => {
                    let seed = intrinsics::truncated(seed)
                        .ok_or_else(|| "The seed of $random must be a number".to_owned())?;
                    Entropy::new(seed as u64).next_f64()
                }
            };
            Ok(serde_json::Number::from_f64(number).map(Value::Number))
        });
    }
    if expression.reaches("millis") {
        evaluation.function("millis", move |_: &[Option<Value>]| {
            Ok(Some(Value::from(now_ms)))
        });
    }
    if expression.reaches("now") {
        evaluation.function("now", move |args: &[Option<Value>]| now(now_ms, args));
    }
}

/// `$now([picture [, timezone]])`: the step's time, as ISO 8601 or through `$fromMillis`.
fn now(now_ms: i64, args: &[Option<Value>]) -> Result<Option<Value>, String> {
    let given: Vec<&Value> = args.iter().map_while(Option::as_ref).collect();
    let call = match given.len() {
        0 => return Ok(Some(Value::String(crate::interpreter::iso8601(now_ms)))),
        1 => "$fromMillis($t, $p)",
        _ => "$fromMillis($t, $p, $z)",
    };
    let millis = Value::from(now_ms);
    let formatted = Expression::parse(call).map_err(|error| error.to_string())?;
    let mut evaluation = Evaluation::new(Limits::default());
    evaluation.bind("t", &millis);
    let names = ["p", "z"];
    for (name, value) in names.iter().zip(&given) {
        evaluation.bind(name, value);
    }
    formatted
        .evaluate(None, &evaluation)
        .map_err(|error| error.to_string())
}

/// A number field given as an expression (`"TimeoutSeconds": "{% $t %}"`): its value, which
/// must be a number.
pub fn evaluate_number(
    location: &str,
    expression: &str,
    states: States<'_>,
    env: &Env<'_>,
    entropy: &mut Entropy,
) -> Result<serde_json::Number, Failure> {
    let field = Value::String(expression.to_owned());
    match evaluate_field(location, &field, states, env, entropy)? {
        Value::Number(number) => Ok(number),
        other => Err(unexpected_type(
            location,
            quoted(expression),
            "number",
            &other,
        )),
    }
}

/// How a field's expression is quoted in a cause: the expression inside the braces.
fn quoted(expression: &str) -> &str {
    if is_expression_text(expression) {
        inside(expression)
    } else {
        expression
    }
}

/// An integer field given as an expression: its value, which must be an integer of at least
/// `min`.
pub fn evaluate_integer(
    location: &str,
    expression: &str,
    min: i64,
    states: States<'_>,
    env: &Env<'_>,
    entropy: &mut Entropy,
) -> Result<i64, Failure> {
    let number = evaluate_number(location, expression, states, env, entropy)?;
    let text = quoted(expression);
    let integer = number.as_i64().or_else(|| {
        number
            .as_f64()
            .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
            .map(|f| f as i64)
    });
    match integer {
        Some(n) if n >= min => Ok(n),
        _ => Err(Failure::query_evaluation(
            Some(location),
            format!(
                "The JSONata expression '{text}' specified for the field '{location}' returned an unexpected result. Expected an integer of at least {min}, but was: {number}"
            ),
        )),
    }
}
