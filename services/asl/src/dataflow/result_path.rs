//! `ResultPath`: writing a state's result into a copy of its raw input at a reference path.

use serde_json::{Map, Value};

use super::path::{self, Segment};
use crate::failure::{Failure, errors};

/// Writes `result` into a copy of `raw_input` at the reference path `reference`, creating missing
/// intermediate objects. Writing through something that is not an object (or, for an index, an
/// array long enough) fails with `States.ResultPathMatchFailure`.
pub fn write(reference: &str, raw_input: &Value, result: Value) -> Result<Value, Failure> {
    let mismatch = || {
        Failure::new(
            errors::RESULT_PATH_MATCH_FAILURE,
            format!("Unable to apply ReferencePath {reference} to input {raw_input}"),
        )
    };
    let parsed = path::parse(reference).map_err(|_| mismatch())?;
    if parsed.root != path::Root::Input {
        return Err(mismatch());
    }
    let Some((last, parents)) = parsed.segments.split_last() else {
        // `$`: the result replaces the input.
        return Ok(result);
    };
    let mut output = raw_input.clone();
    let mut current = &mut output;
    for segment in parents {
        current = match (segment, current) {
            (Segment::Key(key), Value::Object(map)) => map
                .entry(key.clone())
                .or_insert_with(|| Value::Object(Map::new())),
            (Segment::Index(index), Value::Array(items)) => {
                element(items, *index).ok_or_else(mismatch)?
            }
            _ => return Err(mismatch()),
        };
    }
    match (last, current) {
        (Segment::Key(key), Value::Object(map)) => {
            // `insert` keeps an existing key where it is and appends a new one, as AWS does.
            map.insert(key.clone(), result);
        }
        (Segment::Index(index), Value::Array(items)) => {
            *element(items, *index).ok_or_else(mismatch)? = result;
        }
        _ => return Err(mismatch()),
    }
    Ok(output)
}

/// The element at `index` (negative counts from the end), if it exists.
fn element(items: &mut [Value], index: i64) -> Option<&mut Value> {
    let len = i64::try_from(items.len()).ok()?;
    let effective = if index < 0 { len + index } else { index };
    items.get_mut(usize::try_from(effective).ok()?)
}
