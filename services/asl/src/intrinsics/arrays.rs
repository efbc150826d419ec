//! The array functions: `States.Array`, `ArrayPartition`, `ArrayContains`, `ArrayRange`,
//! `ArrayGetItem`, `ArrayLength` and `ArrayUnique`.
//!
//! Results that copy or multiply their arguments are spent from the caller's budget item by
//! item, before each copy is made.

use std::collections::HashSet;

use serde_json::Value;

use super::{Call, invalid, truncated};
use crate::failure::Failure;
use crate::limits::Budget;

/// `States.ArrayRange` may not produce more items than this (AWS's documented limit).
pub const MAX_RANGE_ITEMS: i128 = 1000;

/// Runs the array function `call.name`, or `None` if it is not one. Its result is spent from
/// `budget` as it is built.
pub fn call(call: &Call<'_>, budget: &mut Budget) -> Option<Result<Value, Failure>> {
    let v = &call.values;
    let bad = || Err(invalid(call.name));
    let result = match call.name {
        "States.Array" => copy_all(v, budget).map(Value::Array),
        "States.ArrayPartition" => match v.as_slice() {
            [Value::Array(items), size] => partition(call.name, items, size, budget),
            _ => bad(),
        },
        "States.ArrayContains" => match v.as_slice() {
            [Value::Array(items), needle] => Ok(Value::Bool(items.contains(needle))),
            _ => bad(),
        },
        "States.ArrayRange" => match v.as_slice() {
            [first, last, step] => range(call.name, first, last, step, budget),
            _ => bad(),
        },
        "States.ArrayGetItem" => match v.as_slice() {
            [Value::Array(items), index] => get_item(call.name, items, index),
            _ => bad(),
        },
        "States.ArrayLength" => match v.as_slice() {
            [Value::Array(items)] => Ok(Value::from(items.len())),
            _ => bad(),
        },
        "States.ArrayUnique" => match v.as_slice() {
            [Value::Array(items)] => unique(items, budget).map(Value::Array),
            _ => bad(),
        },
        _ => return None,
    };
    Some(result)
}

/// Copies of `items`, each spent from `budget` (with its comma and the brackets) first.
fn copy_all<'v>(
    items: impl IntoIterator<Item = &'v Value>,
    budget: &mut Budget,
) -> Result<Vec<Value>, Failure> {
    budget.spend(2)?;
    let mut copies = Vec::new();
    for item in items {
        if !copies.is_empty() {
            budget.spend(1)?;
        }
        budget.take(item)?;
        copies.push(item.clone());
    }
    Ok(copies)
}

/// Chunks of `size` items (the last may be shorter). The size is truncated: AWS partitions
/// by 2 for 2.6 and refuses 0.6 (which truncates to 0). Chunks of one item add two bytes
/// per item to the array, so the result is spent as it is built.
fn partition(
    name: &str,
    items: &[Value],
    size: &Value,
    budget: &mut Budget,
) -> Result<Value, Failure> {
    let size = truncated(size)
        .filter(|s| *s > 0)
        .ok_or_else(|| invalid(name))?;
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    budget.spend(2)?;
    let mut chunks = Vec::new();
    for chunk in items.chunks(size) {
        if !chunks.is_empty() {
            budget.spend(1)?;
        }
        chunks.push(Value::Array(copy_all(chunk, budget)?));
    }
    Ok(Value::Array(chunks))
}

/// `first`, `first + step`, … while not past `last` (inclusive); a negative step counts
/// down, a step pointing away from `last` gives `[]`. Arguments are truncated (AWS treats
/// `ArrayRange(1.6, 1.4, 1)` as `(1, 1, 1)`); a zero step or more than 1000 items is refused.
fn range(
    name: &str,
    first: &Value,
    last: &Value,
    step: &Value,
    budget: &mut Budget,
) -> Result<Value, Failure> {
    let (Some(first), Some(last), Some(step)) =
        (truncated(first), truncated(last), truncated(step))
    else {
        return Err(invalid(name));
    };
    if step == 0 {
        return Err(invalid(name));
    }
    let (first, last, step) = (i128::from(first), i128::from(last), i128::from(step));
    let span = last - first;
    let count = if span == 0 || (span > 0) == (step > 0) {
        span / step + 1
    } else {
        0
    };
    if count > MAX_RANGE_ITEMS {
        return Err(invalid(name));
    }
    // Spent before allocating: no item is wider than the wider bound, plus a comma each.
    let widest = first.to_string().len().max(last.to_string().len());
    let items = usize::try_from(count).unwrap_or(usize::MAX);
    budget.spend(items.saturating_mul(widest + 1).saturating_add(2))?;
    // Every item lies between `first` and `last`, both i64, so the conversion cannot fail.
    Ok(Value::Array(
        (0..count)
            .map(|i| Value::from(i64::try_from(first + i * step).unwrap_or_default()))
            .collect(),
    ))
}

/// The item at a zero-based index (truncated: AWS returns item 1 for 1.2). AWS was observed
/// to return `null` for any index into an empty array; elsewhere out of range is refused.
fn get_item(name: &str, items: &[Value], index: &Value) -> Result<Value, Failure> {
    let index = truncated(index).ok_or_else(|| invalid(name))?;
    if items.is_empty() {
        return Ok(Value::Null);
    }
    usize::try_from(index)
        .ok()
        .and_then(|i| items.get(i))
        .cloned()
        .ok_or_else(|| invalid(name))
}

/// The items without repeats, first occurrences kept in order. Objects compare regardless of
/// key order (as JSON equality does), so they are keyed by a canonical text with sorted keys.
fn unique(items: &[Value], budget: &mut Budget) -> Result<Vec<Value>, Failure> {
    let mut seen = HashSet::new();
    copy_all(
        items.iter().filter(|item| seen.insert(canonical(item))),
        budget,
    )
}

fn canonical(value: &Value) -> String {
    match value {
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(canonical).collect();
            format!("[{}]", parts.join(","))
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            let parts: Vec<String> = entries
                .into_iter()
                .map(|(k, v)| format!("{}:{}", Value::String(k.clone()), canonical(v)))
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::{Call, call};

    fn run(name: &str, values: Vec<Value>) -> Result<Value, String> {
        let c = Call {
            name,
            values,
            first_literal: None,
        };
        match call(&c, &mut crate::limits::Budget::payload()) {
            Some(r) => r.map_err(|f| format!("{}: {}", f.error, f.cause)),
            None => Err("not an array function".into()),
        }
    }

    fn invalid(name: &str) -> Result<Value, String> {
        Err(format!("States.Runtime: Invalid arguments in {name}"))
    }

    #[test]
    fn array_collects_arguments() {
        assert_eq!(run("States.Array", vec![]), Ok(json!([])));
        assert_eq!(
            run("States.Array", vec![json!(1), json!("a"), json!(null)]),
            Ok(json!([1, "a", null]))
        );
    }

    #[test]
    fn partition_chunks_and_truncates_the_size() {
        let p = |a: Value, s: Value| run("States.ArrayPartition", vec![a, s]);
        assert_eq!(
            p(json!([1, 2, 3, 4, 5]), json!(2)),
            Ok(json!([[1, 2], [3, 4], [5]]))
        );
        assert_eq!(
            p(json!([1, 2, 3, 4, 5]), json!(2.6)),
            Ok(json!([[1, 2], [3, 4], [5]]))
        );
        assert_eq!(p(json!([]), json!(3)), Ok(json!([])));
        assert_eq!(
            p(json!([1, 2, 3]), json!(2147483647)),
            Ok(json!([[1, 2, 3]]))
        );
        for size in [json!(0), json!(0.6), json!(-1), json!("2"), json!(null)] {
            assert_eq!(p(json!([1]), size), invalid("States.ArrayPartition"));
        }
        assert_eq!(p(json!("x"), json!(2)), invalid("States.ArrayPartition"));
        assert_eq!(
            run("States.ArrayPartition", vec![json!([1])]),
            invalid("States.ArrayPartition")
        );
    }

    #[test]
    fn contains_uses_deep_equality() {
        let c = |a: Value, v: Value| run("States.ArrayContains", vec![a, v]);
        assert_eq!(
            c(json!([{"1": 2, "2": []}]), json!({"2": [], "1": 2})),
            Ok(json!(true))
        );
        assert_eq!(c(json!([[1, 2, 3], 2]), json!(null)), Ok(json!(false)));
        assert_eq!(c(json!([]), json!(1)), Ok(json!(false)));
        assert_eq!(c(json!({}), json!(1)), invalid("States.ArrayContains"));
    }

    #[test]
    fn range_counts_both_ways_and_limits_size() {
        let r = |a: Value, b: Value, s: Value| run("States.ArrayRange", vec![a, b, s]);
        assert_eq!(r(json!(1), json!(9), json!(2)), Ok(json!([1, 3, 5, 7, 9])));
        assert_eq!(r(json!(0), json!(10), json!(3)), Ok(json!([0, 3, 6, 9])));
        assert_eq!(r(json!(5), json!(1), json!(-2)), Ok(json!([5, 3, 1])));
        assert_eq!(r(json!(3), json!(3), json!(-1)), Ok(json!([3])));
        assert_eq!(r(json!(5), json!(1), json!(1)), Ok(json!([])));
        assert_eq!(r(json!(1.6), json!(1.4), json!(1)), Ok(json!([1])));
        assert_eq!(
            r(json!(5.4), json!(-0.6), json!(-2.4)),
            Ok(json!([5, 3, 1]))
        );
        assert_eq!(
            r(json!(1), json!(1000), json!(1)).map(|v| v.as_array().map(Vec::len)),
            Ok(Some(1000))
        );
        for (a, b, s) in [(1, 1001, 1), (1001, 1, -1), (1, 10, 0)] {
            assert_eq!(
                r(json!(a), json!(b), json!(s)),
                invalid("States.ArrayRange")
            );
        }
        assert_eq!(
            r(json!(1), json!(10), json!(0.49)),
            invalid("States.ArrayRange")
        );
        assert_eq!(
            r(json!("a"), json!(5), json!(1)),
            invalid("States.ArrayRange")
        );
        assert_eq!(
            run("States.ArrayRange", vec![json!(1), json!(5)]),
            invalid("States.ArrayRange")
        );
    }

    #[test]
    fn get_item_indexes_from_zero() {
        let g = |a: Value, i: Value| run("States.ArrayGetItem", vec![a, i]);
        assert_eq!(
            g(json!([1, 2, 3, 4, 5, 6, 7, 8, 9]), json!(5)),
            Ok(json!(6))
        );
        assert_eq!(g(json!([10, 20, 30]), json!(1.2)), Ok(json!(20)));
        assert_eq!(g(json!([]), json!(999)), Ok(json!(null)));
        for i in [json!(3), json!(-1), json!("1"), json!(null)] {
            assert_eq!(g(json!([10, 20, 30]), i), invalid("States.ArrayGetItem"));
        }
        assert_eq!(g(json!("abc"), json!(0)), invalid("States.ArrayGetItem"));
    }

    #[test]
    fn length_and_unique() {
        assert_eq!(
            run("States.ArrayLength", vec![json!([1, 2, 3])]),
            Ok(json!(3))
        );
        assert_eq!(
            run("States.ArrayLength", vec![json!("abc")]),
            invalid("States.ArrayLength")
        );
        let items = json!([null, null, true, true, 1, 1, 1.1, "a", "a", [], [], [null], [null],
            {"a": 1, "b": 2}, {"b": 2, "a": 1}, {"a": 1, "b": 1}]);
        assert_eq!(
            run("States.ArrayUnique", vec![items]),
            Ok(json!([null, true, 1, 1.1, "a", [], [null], {"a": 1, "b": 2}, {"a": 1, "b": 1}]))
        );
        assert_eq!(
            run("States.ArrayUnique", vec![json!(1)]),
            invalid("States.ArrayUnique")
        );
        assert_eq!(
            run("States.Nope", vec![]),
            Err("not an array function".into())
        );
    }
}
