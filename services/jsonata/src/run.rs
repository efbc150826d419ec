//! `Run`: what the host functions of one evaluation share — its limits, the budgets they spend,
//! the host's functions, and the error one of them raised.

use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::rc::{Rc, Weak};

use jsonata_core::evaluator::EvaluatorError;
use jsonata_core::value::JValue;

use crate::env::HostFunction;
use crate::error::Error;
use crate::limits::Limits;

/// The message a host function fails jsonata-core with after recording its real error in
/// `Run::failure`: jsonata-core only carries strings, and the caller wants the variant.
const FAILURE: &str = "the evaluation was stopped by a host function";

/// How many measured function arguments `Run` remembers.
const REMEMBERED_ARGUMENTS: usize = 16;

/// Arguments with fewer items than this are measured again rather than remembered.
const REMEMBERED_ITEMS: usize = 64;

/// Strings shorter than this are counted without being tracked: tracking costs more than they
/// do, and they add up toward the same limit for good.
const TRACKED_STRING_BYTES: usize = 256;

pub(crate) struct Run {
    pub limits: Limits,
    /// The caller's functions, by name, for the built-ins that call them (`$shuffle` draws
    /// from `$random`, `$toMillis` reads `$millis` or `$now`).
    pub host: Vec<(&'static str, HostFunction)>,
    failure: RefCell<Option<Error>>,
    strings: RefCell<LiveStrings>,
    /// Elements made by ranges, `$split` and `$match`.
    generated: Cell<usize>,
    /// Bytes returned by `$replace` callbacks.
    replaced: Cell<usize>,
    /// The host's clock, read once per evaluation (JSONata's `$now` is one instant).
    pub now_millis: Cell<Option<i64>>,
    /// Function arguments measured lately, by identity. Each is held, so that its address
    /// cannot be taken by another value while it is here.
    measured: RefCell<Vec<(usize, JValue)>>,
}

impl Run {
    pub fn new(limits: Limits, host: Vec<(&'static str, HostFunction)>) -> Self {
        Self {
            limits,
            host,
            failure: RefCell::new(None),
            strings: RefCell::new(LiveStrings::default()),
            generated: Cell::new(0),
            replaced: Cell::new(0),
            now_millis: Cell::new(None),
            measured: RefCell::new(Vec::new()),
        }
    }

    pub fn host_function(&self, name: &str) -> Option<&HostFunction> {
        self.host
            .iter()
            .rev()
            .find(|(host, _)| *host == name)
            .map(|(_, f)| f)
    }

    /// Stops the evaluation with `error`.
    pub fn fail(&self, error: Error) -> EvaluatorError {
        *self.failure.borrow_mut() = Some(error);
        EvaluatorError::EvaluationError(FAILURE.to_string())
    }

    /// The error a host function stopped the evaluation with, if `error` is that stop.
    pub fn failure_behind(&self, error: &EvaluatorError) -> Option<Error> {
        if error.message() == FAILURE {
            self.failure.borrow_mut().take()
        } else {
            None
        }
    }

    /// Fails unless a value of `bytes` may be built.
    pub fn check_value_bytes(&self, what: &str, bytes: usize) -> Result<(), EvaluatorError> {
        let max = self.limits.max_value_bytes();
        if bytes > max {
            return Err(self.fail(Error::limit(format!(
                "{what} would build a value of about {bytes} bytes, more than the limit of {max}"
            ))));
        }
        Ok(())
    }

    /// Counts `n` more generated elements.
    pub fn generate(&self, what: &str, n: usize) -> Result<(), EvaluatorError> {
        let total = self.generated.get().saturating_add(n);
        self.generated.set(total);
        let max = self.limits.max_generated_items();
        if total > max {
            return Err(self.fail(Error::limit(format!(
                "{what}: ranges, $split and $match would make more than {max} elements in one evaluation"
            ))));
        }
        Ok(())
    }

    /// Counts the bytes a `$replace` callback returned.
    pub fn replaced(&self, bytes: usize) -> Result<(), EvaluatorError> {
        let total = self.replaced.get().saturating_add(bytes);
        self.replaced.set(total);
        let max = self.limits.max_live_string_bytes();
        if total > max {
            return Err(self.fail(Error::limit(format!(
                "$replace callbacks returned more than {max} bytes in one evaluation"
            ))));
        }
        Ok(())
    }

    /// Whether `value` is an array or object measured lately.
    pub fn recently_measured(&self, value: &JValue) -> bool {
        identity(value)
            .is_some_and(|id| self.measured.borrow().iter().any(|(known, _)| *known == id))
    }

    /// Remembers that `value` was measured, forgetting the oldest beyond a few.
    pub fn remember_measured(&self, value: &JValue) {
        if let Some(id) = identity(value) {
            let mut measured = self.measured.borrow_mut();
            if measured.len() >= REMEMBERED_ARGUMENTS {
                measured.remove(0);
            }
            measured.push((id, value.clone()));
        }
    }

    /// Counts a string built by a guarded built-in or `&` while it is alive.
    pub fn track(&self, what: &str, string: &Rc<str>) -> Result<(), EvaluatorError> {
        let max = self.limits.max_live_string_bytes();
        let within = self.strings.borrow_mut().add(string, max);
        if !within {
            return Err(self.fail(Error::limit(format!(
                "{what}: the strings built in this evaluation take more than {max} bytes"
            ))));
        }
        Ok(())
    }
}

/// The address of a large array's items or an object's map: the same for every `JValue` that
/// shares them, and not reused while one of those is alive.
fn identity(value: &JValue) -> Option<usize> {
    match value {
        JValue::Array(items) if items.len() >= REMEMBERED_ITEMS => Some(items.as_ptr() as usize),
        JValue::Object(map) if map.len() >= REMEMBERED_ITEMS => Some(Rc::as_ptr(map) as usize),
        _ => None,
    }
}

/// The strings built so far that are still alive, by weak reference: a loop building a string
/// step by step frees each step, while a sequence of copies keeps them all.
#[derive(Default)]
struct LiveStrings {
    tracked: Vec<(Weak<str>, usize)>,
    /// Bytes of the tracked strings, as of the last sweep plus those added since.
    tracked_bytes: usize,
    /// Bytes of short strings, never released.
    short_bytes: usize,
    /// Tracked bytes past which the next addition sweeps out the strings freed since.
    next_sweep: usize,
}

impl LiveStrings {
    /// Adds `string`; false if the live total is over `max`.
    fn add(&mut self, string: &Rc<str>, max: usize) -> bool {
        let len = string.len();
        if len < TRACKED_STRING_BYTES {
            self.short_bytes = self.short_bytes.saturating_add(len);
            return self.short_bytes.saturating_add(self.tracked_bytes) <= max || self.sweep(max);
        }
        self.tracked.push((Rc::downgrade(string), len));
        self.tracked_bytes = self.tracked_bytes.saturating_add(len);
        if self.tracked_bytes.saturating_add(self.short_bytes) <= max.max(self.next_sweep) {
            return true;
        }
        self.sweep(max)
    }

    /// Drops the strings freed since the last sweep (and duplicates); true if the rest fit.
    fn sweep(&mut self, max: usize) -> bool {
        let mut seen = HashSet::new();
        self.tracked.retain(|(weak, _)| {
            weak.strong_count() > 0 && seen.insert(weak.as_ptr() as *const u8 as usize)
        });
        self.tracked_bytes = self.tracked.iter().map(|(_, len)| len).sum();
        let live = self.tracked_bytes.saturating_add(self.short_bytes);
        // Sweeping again only after an eighth of the limit more keeps a run of small
        // additions near the limit from sweeping each time.
        self.next_sweep = max.max(live.saturating_add(max / 8));
        live <= max
    }
}
