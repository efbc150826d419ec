//! Values across the boundary: `serde_json::Value` into jsonata-core's `JValue` and back.
//!
//! Both directions walk with an explicit stack, never by recursion: a value nested 100,000
//! levels deep must not overflow the thread's stack (the caller may be a tokio worker with
//! 2 MiB). Going out, the walk spends a byte budget as it goes, so that a result too large to
//! return (or one whose shared parts add up to exponentially much text) is refused before it
//! is built whole, and it refuses nesting deeper than a bound, since the caller drops a
//! `serde_json::Value` by recursion.

use std::rc::Rc;

use jsonata_core::value::{JArray, JMap, JValue};
use serde_json::{Map, Value};

use crate::error::Error;
use crate::measure::{json_number_bytes, json_string_bytes};

/// `value` as jsonata-core's value, copied once. Arrays and objects nested more than
/// `max_depth` levels are refused: some of jsonata-core's walks (a field step over nested
/// arrays) recurse once per level on the native stack.
pub(crate) fn to_jvalue(value: &Value, max_depth: usize) -> Result<JValue, Error> {
    enum Frame<'v> {
        Array {
            rest: std::slice::Iter<'v, Value>,
            out: Vec<JValue>,
        },
        Object {
            rest: serde_json::map::Iter<'v>,
            key: Option<&'v String>,
            out: Vec<(String, JValue)>,
        },
    }

    impl<'v> Frame<'v> {
        fn push(&mut self, value: JValue) {
            match self {
                Frame::Array { out, .. } => out.push(value),
                Frame::Object { out, key, .. } => {
                    out.push((key.take().cloned().unwrap_or_default(), value));
                }
            }
        }

        fn next_child(&mut self) -> Option<&'v Value> {
            match self {
                Frame::Array { rest, .. } => rest.next(),
                Frame::Object { rest, key, .. } => rest.next().map(|(k, v)| {
                    *key = Some(k);
                    v
                }),
            }
        }

        fn finish(self) -> JValue {
            match self {
                Frame::Array { out, .. } => {
                    // Input arrays are never array constructors, so they are flat when they
                    // hold no array (as jsonata-core's own conversion says).
                    let flat = !out.iter().any(|item| matches!(item, JValue::Array(_)));
                    JValue::Array(JArray::new_flat(out, flat))
                }
                Frame::Object { out, .. } => {
                    JValue::Object(Rc::new(out.into_iter().collect::<JMap>()))
                }
            }
        }
    }

    let mut stack: Vec<Frame<'_>> = Vec::new();
    let mut next = value;
    loop {
        // A leaf is finished at once; a container opens a frame.
        let mut finished = match next {
            Value::Null => Some(JValue::Null),
            Value::Bool(b) => Some(JValue::Bool(*b)),
            Value::Number(n) => Some(JValue::Number(n.as_f64().unwrap_or(0.0))),
            Value::String(s) => Some(JValue::String(Rc::from(s.as_str()))),
            Value::Array(_) | Value::Object(_) if stack.len() >= max_depth => {
                return Err(Error::limit(format!(
                    "a value passed in nests deeper than the limit of {max_depth} levels"
                )));
            }
            Value::Array(items) => {
                stack.push(Frame::Array {
                    rest: items.iter(),
                    out: Vec::with_capacity(items.len()),
                });
                None
            }
            Value::Object(map) => {
                stack.push(Frame::Object {
                    rest: map.iter(),
                    key: None,
                    out: Vec::with_capacity(map.len()),
                });
                None
            }
        };
        // Hand finished values up until some frame has another child to open.
        loop {
            let Some(top) = stack.last_mut() else {
                return Ok(finished.unwrap_or(JValue::Undefined));
            };
            if let Some(value) = finished.take() {
                top.push(value);
            }
            if let Some(child) = top.next_child() {
                next = child;
                break;
            }
            finished = stack.pop().map(Frame::finish);
        }
    }
}

/// A value leaving jsonata-core: `None` for JSONata's undefined, JSON otherwise.
///
/// Undefined and functions have no JSON form: as `JSON.stringify` does, they are left out of
/// objects and become `null` in arrays. Whole numbers become JSON integers; infinities and
/// NaN fail (JSONata's D1001). `max_bytes` bounds the JSON text, `max_depth` the nesting.
pub(crate) fn to_json(
    value: &JValue,
    max_bytes: usize,
    max_depth: usize,
) -> Result<Option<Value>, Error> {
    struct Frame<'v> {
        kind: Kind<'v>,
        next: usize,
        /// The key this container goes under in its parent, if that is an object.
        key: Option<&'v String>,
    }
    enum Kind<'v> {
        Array(&'v [JValue], Vec<Value>),
        Object(&'v JMap, Map<String, Value>),
    }

    impl<'v> Frame<'v> {
        /// The next child to convert, with the key it goes under in an object.
        fn next_child(&mut self) -> Option<(Option<&'v String>, &'v JValue)> {
            let index = self.next;
            self.next += 1;
            match &self.kind {
                Kind::Array(items, _) => items.get(index).map(|item| (None, item)),
                Kind::Object(map, _) => map.get_index(index).map(|(k, v)| (Some(k), v)),
            }
        }

        fn finish(self) -> Value {
            match self.kind {
                Kind::Array(_, out) => Value::Array(out),
                Kind::Object(_, out) => Value::Object(out),
            }
        }
    }

    let mut budget = Budget::new(max_bytes);
    let mut stack: Vec<Frame<'_>> = Vec::new();
    let mut next: (Option<&String>, &JValue) = (None, value);
    loop {
        let (key, value) = next;
        if let Some(key) = key {
            // The key, its colon, and the comma before it.
            budget.spend(json_string_bytes(key) + 2)?;
        }
        let mut finished: Option<(Option<&String>, Value)> = match value {
            JValue::Undefined
            | JValue::Lambda(_)
            | JValue::Builtin { .. }
            | JValue::Regex { .. } => {
                match (key, stack.last()) {
                    // Left out of an object, and undefined at the top.
                    (Some(_), _) | (None, None) => None,
                    (None, Some(_)) => {
                        budget.spend(5)?;
                        Some((None, Value::Null))
                    }
                }
            }
            JValue::Null => {
                budget.spend(5)?;
                Some((key, Value::Null))
            }
            JValue::Bool(b) => {
                budget.spend(6)?;
                Some((key, Value::Bool(*b)))
            }
            JValue::Number(n) => {
                budget.spend(json_number_bytes(*n) + 1)?;
                Some((key, number(*n)?))
            }
            JValue::String(s) => {
                budget.spend(json_string_bytes(s) + 1)?;
                Some((key, Value::String(s.to_string())))
            }
            JValue::Array(items) => {
                open(&mut stack, max_depth, &mut budget)?;
                stack.push(Frame {
                    kind: Kind::Array(items, Vec::with_capacity(items.len().min(1024))),
                    next: 0,
                    key,
                });
                None
            }
            JValue::Object(map) => {
                open(&mut stack, max_depth, &mut budget)?;
                stack.push(Frame {
                    kind: Kind::Object(map, Map::new()),
                    next: 0,
                    key,
                });
                None
            }
        };
        loop {
            let Some(top) = stack.last_mut() else {
                return Ok(finished.map(|(_, value)| value));
            };
            if let Some((key, value)) = finished.take() {
                match (&mut top.kind, key) {
                    (Kind::Array(_, out), _) => out.push(value),
                    (Kind::Object(_, out), Some(key)) => {
                        out.insert(key.clone(), value);
                    }
                    (Kind::Object(_, _), None) => {}
                }
            }
            if let Some(child) = top.next_child() {
                next = child;
                break;
            }
            let Some(done) = stack.pop() else {
                return Ok(None);
            };
            finished = Some((done.key, done.finish()));
        }
    }
}

/// Opens a container one level deeper than the frames on `stack`.
fn open<T>(stack: &mut [T], max_depth: usize, budget: &mut Budget) -> Result<(), Error> {
    if stack.len() >= max_depth {
        return Err(Error::limit(format!(
            "the result nests deeper than the limit of {max_depth} levels"
        )));
    }
    // Brackets and the comma after.
    budget.spend(3)
}

/// A JSONata number as JSON: whole numbers as integers, infinities refused.
fn number(n: f64) -> Result<Value, Error> {
    if !n.is_finite() {
        return Err(Error::Evaluation {
            code: Some("D1001".to_string()),
            message: format!("D1001: Number out of range: {n}"),
        });
    }
    // Whole numbers that fit print as integers (`1`, not `1.0`), as JSON.stringify prints them.
    // (The bounds are -2^63, 2^63 and 2^64: the casts below are exact within them.)
    if n.fract() == 0.0 {
        if (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&n) {
            return Ok(Value::from(n as i64));
        }
        if (0.0..18_446_744_073_709_551_616.0).contains(&n) {
            return Ok(Value::from(n as u64));
        }
    }
    Ok(serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number))
}

/// Bytes of JSON text left to spend.
struct Budget {
    left: usize,
    max: usize,
}

impl Budget {
    fn new(max: usize) -> Self {
        Self { left: max, max }
    }

    fn spend(&mut self, bytes: usize) -> Result<(), Error> {
        match self.left.checked_sub(bytes) {
            Some(left) => {
                self.left = left;
                Ok(())
            }
            None => Err(Error::limit(format!(
                "the result is larger than the limit of {} bytes of JSON",
                self.max
            ))),
        }
    }
}
