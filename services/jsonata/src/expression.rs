//! `Expression`: a JSONata expression parsed (and rewritten) once, evaluated many times.

use std::collections::BTreeSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;

use jsonata_core::ast::AstNode;
use jsonata_core::evaluator::{Context, Evaluator, EvaluatorError};
use jsonata_core::value::JValue;
use serde_json::Value;

use crate::env::{self, Env};
use crate::error::Error;
use crate::names::{self, Names};
use crate::rewrite::{self, Uses};
use crate::run::Run;
use crate::{convert, guards, impure};

/// A parsed JSONata expression (the text between `{%` and `%}`), parsed once.
///
/// `Send` and `Sync`: it holds only the syntax tree, so one parsed machine can be shared by
/// every thread that evaluates its states. Each evaluation builds its own evaluator.
#[derive(Debug, Clone)]
pub struct Expression {
    source: String,
    ast: AstNode,
    names: Names,
    uses: Uses,
}

impl Expression {
    pub fn parse(source: &str) -> Result<Expression, Error> {
        let ast = catch_unwind(|| jsonata_core::parser::parse(source)).map_err(|panic| {
            Error::Parse {
                code: "S0201".to_string(),
                message: format!(
                    "the JSONata parser failed on this text: {}",
                    panic_text(&panic)
                ),
                position: None,
            }
        })??;
        let names = names::analyse(&ast);
        let (ast, uses) = rewrite::rewrite(ast);
        Ok(Expression {
            source: source.to_string(),
            ast,
            names,
            uses,
        })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// Names (without `$`) of the variables the expression reads from outside: every `$name`
    /// reference not bound inside the expression by `:=`, as a lambda parameter or as a path's
    /// focus or index variable, and not a function call of a built-in (`$sum(...)`). A built-in
    /// named without being called (`$map(xs, $string)`) is listed, as a variable of that name
    /// would be read. Over-approximates (a name bound in one block but read in another is
    /// listed), never misses one. Sorted, unique.
    pub fn free_variables(&self) -> Vec<String> {
        self.names.free.clone()
    }

    /// Whether an evaluation can read `member` of the free variable `$name`: `false` when every
    /// reading of `$name` is a path `$name.other…`, so a host may bind `$name` without
    /// `member` (and skip building it).
    pub fn reads_member(&self, name: &str, member: &str) -> bool {
        self.names.reads_member(name, member)
    }

    /// Whether an evaluation can reach host function `$name`: the expression names it, or
    /// names a built-in that calls it (`$shuffle` calls `$random`). A host need not supply a
    /// function no evaluation of this expression reaches.
    pub fn reaches(&self, name: &str) -> bool {
        self.names.mentioned.contains(name)
            || self
                .names
                .mentioned
                .iter()
                .any(|mentioned| impure::host_functions_needed(mentioned).contains(&name))
    }

    /// Evaluates over `input` (None = no input, JSONata's undefined context). `Ok(None)` = the
    /// expression returned nothing (undefined).
    ///
    /// Never panics: a panic inside jsonata-core (or a host function) is caught and reported as
    /// `Error::Evaluation`.
    pub fn evaluate(&self, input: Option<&Value>, env: &Env<'_>) -> Result<Option<Value>, Error> {
        // The evaluator and every value it made are dropped inside, so a panic leaves nothing
        // half-built behind.
        catch_unwind(AssertUnwindSafe(|| self.run(input, env))).unwrap_or_else(|panic| {
            Err(Error::Evaluation {
                code: None,
                message: format!(
                    "the JSONata evaluator failed on this expression: {}",
                    panic_text(&panic)
                ),
            })
        })
    }

    fn run(&self, input: Option<&Value>, env: &Env<'_>) -> Result<Option<Value>, Error> {
        let limits = env.limits;
        let mentioned = &self.names.mentioned;
        // The host functions this evaluation can reach: those it names, and those the
        // built-ins it names call.
        let mut reachable: BTreeSet<&str> = mentioned.iter().map(String::as_str).collect();
        for name in mentioned {
            reachable.extend(impure::host_functions_needed(name));
        }
        let host: Vec<_> = env
            .functions
            .iter()
            .filter(|(name, _)| reachable.contains(name))
            .cloned()
            .collect();
        let run = Rc::new(Run::new(limits, host));

        let mut context = Context::new();
        for (name, binding) in &env.bindings {
            if mentioned.contains(*name) {
                context.bind((*name).to_string(), binding.to_jvalue(limits.max_depth)?);
            }
        }
        // Host functions, and the replacements of the impure built-ins, are values bound to
        // their `$name`: found before any built-in on every route to it.
        let mut functions: Vec<(String, Native)> = Vec::new();
        for (name, f) in &run.host {
            if mentioned.contains(*name) {
                functions.push((
                    env::registered_name(name),
                    Box::new(env::adapt(name, Rc::clone(f), &run)),
                ));
                context.bind(
                    (*name).to_string(),
                    JValue::builtin(env::registered_name(name)),
                );
            }
        }
        for (builtin, internal) in impure::REPLACED {
            if mentioned.contains(builtin) && run.host_function(builtin).is_none() {
                functions.push((
                    internal.to_string(),
                    Box::new(impure::replacement(builtin, &run)),
                ));
                context.bind(builtin.to_string(), JValue::builtin(internal));
            }
        }

        let mut evaluator = Evaluator::with_options(context, limits.evaluator_options());
        for (name, f) in functions {
            evaluator.register_fn(name, f)?;
        }
        guards::register(&mut evaluator, &run, self.uses)?;

        let data = match input {
            Some(input) => convert::to_jvalue(input, limits.max_depth)?,
            None => JValue::Undefined,
        };
        match evaluator.evaluate(&self.ast, &data) {
            Ok(value) => convert::to_json(&value, limits.max_output_bytes, limits.max_depth),
            Err(error) => Err(run.failure_behind(&error).unwrap_or_else(|| error.into())),
        }
    }
}

/// A function as jsonata-core calls it.
type Native = Box<dyn Fn(&[JValue]) -> Result<JValue, EvaluatorError>>;

/// What a caught panic said.
fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".to_string())
}
