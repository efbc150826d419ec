//! `Env`: what an evaluation sees besides its input — variables and the host's functions.

use std::rc::Rc;

use jsonata_core::evaluator::EvaluatorError;
use jsonata_core::value::{JMap, JValue};
use serde_json::Value;

use crate::convert;
use crate::error::Error;
use crate::limits::Limits;
use crate::run::Run;

/// A function the host supplies: arguments in (`None` for undefined), a result out (`None`
/// for undefined), or a refusal.
pub(crate) type HostFunction = Rc<dyn Fn(&[Option<Value>]) -> Result<Option<Value>, String>>;

/// What an evaluation sees besides its input.
///
/// Values are borrowed and copied into jsonata-core's form once per evaluation, and only
/// those the expression names. Functions are shared by reference counting, so an `Env` is
/// neither `Send` nor `Sync`: build one per evaluation, on the thread that evaluates.
pub struct Env<'a> {
    pub(crate) limits: Limits,
    pub(crate) bindings: Vec<(&'a str, Binding<'a>)>,
    pub(crate) functions: Vec<(&'static str, HostFunction)>,
}

impl<'a> Env<'a> {
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            bindings: Vec::new(),
            functions: Vec::new(),
        }
    }

    /// The limits evaluations with this environment run under.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Binds `$name` (name without `$`) to a value. Later binds of the same name win.
    pub fn bind(&mut self, name: &'a str, value: &'a Value) {
        self.bindings.push((name, Binding::Value(value)));
    }

    /// Binds `$name` to an object of these members, each borrowed: the same as binding the
    /// object, without the caller first copying the members into one `Value` (a host that
    /// assembles `$name` from parts per evaluation would otherwise copy them twice).
    pub fn bind_object(&mut self, name: &'a str, members: Vec<(&'a str, &'a Value)>) {
        self.bindings.push((name, Binding::Object(members)));
    }

    /// Registers `$name` as a host function; it replaces a built-in of that name if there is
    /// one (this is how the caller supplies `$random`, `$now`, `$millis` and Step Functions'
    /// own functions), and wins over a value bound to the same name. Arguments: `None` for an
    /// undefined argument (and for a function passed as one). `Err(message)` fails the
    /// evaluation with `Error::Function { name, message }`.
    ///
    /// The function must be `'static`: jsonata-core keeps host functions as
    /// `Rc<dyn Fn + 'static>`, and nothing short of `unsafe` could hand it a borrowed closure.
    /// Share mutable state (a clock, a random source) through `Rc<Cell<_>>` or
    /// `Rc<RefCell<_>>`.
    pub fn function(
        &mut self,
        name: &'static str,
        f: impl Fn(&[Option<Value>]) -> Result<Option<Value>, String> + 'static,
    ) {
        self.functions.push((name, Rc::new(f)));
    }
}

/// A bound value: whole, or an object assembled from borrowed members.
pub(crate) enum Binding<'a> {
    Value(&'a Value),
    Object(Vec<(&'a str, &'a Value)>),
}

impl Binding<'_> {
    /// The value in jsonata-core's form, copied once.
    pub(crate) fn to_jvalue(&self, max_depth: usize) -> Result<JValue, Error> {
        match self {
            Binding::Value(value) => convert::to_jvalue(value, max_depth),
            Binding::Object(members) => {
                let depth = max_depth.saturating_sub(1);
                let object = members
                    .iter()
                    .map(|(key, value)| Ok(((*key).to_owned(), convert::to_jvalue(value, depth)?)))
                    .collect::<Result<JMap, Error>>()?;
                Ok(JValue::Object(Rc::new(object)))
            }
        }
    }
}

impl Default for Env<'_> {
    fn default() -> Self {
        Self::new(Limits::default())
    }
}

/// The name a host function is registered under in jsonata-core: `$name` is bound to it as a
/// function value, which every route to `$name` (a call, a reference, a partial application)
/// finds before any built-in of that name.
pub(crate) fn registered_name(name: &str) -> String {
    format!("host {name}")
}

/// `f` as a jsonata-core host function.
pub(crate) fn adapt(
    name: &'static str,
    f: HostFunction,
    run: &Rc<Run>,
) -> impl Fn(&[JValue]) -> Result<JValue, EvaluatorError> + 'static {
    let run = Rc::clone(run);
    move |args: &[JValue]| {
        let max_bytes = run.limits.max_value_bytes();
        let max_depth = run.limits.max_depth;
        let args = args
            .iter()
            .map(|arg| convert::to_json(arg, max_bytes, max_depth))
            .collect::<Result<Vec<_>, Error>>()
            .map_err(|error| run.fail(error))?;
        match f(&args) {
            Ok(Some(value)) => {
                convert::to_jvalue(&value, max_depth).map_err(|error| run.fail(error))
            }
            Ok(None) => Ok(JValue::Undefined),
            Err(message) => Err(run.fail(Error::Function {
                name: name.to_string(),
                message,
            })),
        }
    }
}
