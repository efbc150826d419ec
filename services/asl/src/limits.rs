//! AWS's service limits on data, in one place, and the checks that enforce them while values are
//! computed. Every other crate takes its numbers from here.

use serde_json::Value;

/// The largest execution input, state input/output, task result, intrinsic result or callback
/// output, in bytes of its JSON text (AWS: 256 KiB).
pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024;

/// The most events one execution's history may hold; the event past it fails the execution.
pub const MAX_HISTORY_EVENTS: u64 = 25_000;

/// The longest an Express execution may run, in seconds (AWS: five minutes); one that runs
/// longer times out as if its definition said so.
pub const EXPRESS_MAX_SECONDS: u64 = 300;

/// The largest definition, in characters.
pub const MAX_DEFINITION_CHARS: usize = 1_048_576;

/// The deepest nesting of arrays and objects a value may reach. AWS documents no number; this one
/// keeps every recursion over user data (serialising, cloning, dropping, paths, templates) far
/// from the stack's end, and stays below `serde_json`'s parse limit of 128 with room for the
/// snapshot's own nesting around a value.
pub const MAX_DEPTH: usize = 100;

/// The most characters of a rejected value an error message quotes (AWS quotes whole
/// definitions of a few hundred characters in some messages; a request may carry megabytes).
pub const MAX_QUOTED_CHARS: usize = 1024;

/// The bytes of `value`'s compact JSON text, without writing it.
pub fn json_size(value: &Value) -> usize {
    let mut budget = Budget::new(usize::MAX);
    // An unlimited budget cannot run out.
    let _ = budget.take(value);
    usize::MAX - budget.left
}

/// The most history events one step writes (shared by the executions of a batch); a step that would write more
/// stops there and the execution is due again at once, so that one execution's long run of
/// states (a loop, a large inline Map) never holds a scheduler, and other executions advance
/// in between.
pub const STEP_MAX_EVENTS: usize = 1_000;

/// The most bytes of state input and output the history events of one step carry, for the
/// same reason: a loop over a large value yields after a few iterations instead of holding
/// hundreds of megabytes. The executions of a scheduler's batch share it (see
/// `interpreter::StepBudget`).
pub const STEP_MAX_HISTORY_BYTES: usize = 1024 * 1024;

/// The nesting depth of `value` exceeds [`MAX_DEPTH`]. Iterative: a value nested too deep to
/// walk recursively is still measured.
pub fn too_deep(value: &Value) -> bool {
    Budget::new(usize::MAX).walk(value, MAX_DEPTH) == Err(Overrun::Depth)
}

/// `States.DataLimitExceeded`'s cause says the result had this (AWS's words)...
pub const TOO_LARGE: &str = "a size exceeding the maximum number of bytes service limit";
/// ...or this (ours: AWS documents no depth limit).
pub const TOO_DEEP: &str = "nesting deeper than the maximum depth";

/// A value is too large or too deep to keep: why, for `States.DataLimitExceeded`'s cause. One
/// walk, which stops at the first byte or level over.
pub fn payload_problem(value: &Value) -> Option<&'static str> {
    match Budget::payload().walk(value, MAX_DEPTH) {
        Ok(()) => None,
        Err(Overrun::Bytes) => Some(TOO_LARGE),
        Err(Overrun::Depth) => Some(TOO_DEEP),
    }
}

/// A byte budget spent while a value is built, so that the work stops as soon as the result
/// is known to be over the limit rather than after it was built whole.
#[derive(Debug, Clone)]
pub struct Budget {
    left: usize,
}

/// The budget ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exhausted;

impl Budget {
    pub fn new(bytes: usize) -> Self {
        Self { left: bytes }
    }

    /// A budget of [`MAX_PAYLOAD_BYTES`].
    pub fn payload() -> Self {
        Self::new(MAX_PAYLOAD_BYTES)
    }

    /// Spends `bytes`.
    pub fn spend(&mut self, bytes: usize) -> Result<(), Exhausted> {
        self.left = self.left.checked_sub(bytes).ok_or(Exhausted)?;
        Ok(())
    }

    /// Spends the size of `value`'s compact JSON text, walking it iteratively and stopping at
    /// the first byte over.
    pub fn take(&mut self, value: &Value) -> Result<(), Exhausted> {
        self.walk(value, usize::MAX).map_err(|_| Exhausted)
    }

    /// Spends `value`'s size as [`Budget::take`] does, and fails as well on an array or object
    /// nested more than `max_depth` levels deep.
    fn walk(&mut self, value: &Value, max_depth: usize) -> Result<(), Overrun> {
        let mut stack: Vec<(&Value, usize)> = vec![(value, 1)];
        while let Some((value, depth)) = stack.pop() {
            let nested = matches!(value, Value::Array(_) | Value::Object(_));
            if nested && depth > max_depth {
                return Err(Overrun::Depth);
            }
            match value {
                Value::Null => self.spend(4)?,
                Value::Bool(b) => self.spend(if *b { 4 } else { 5 })?,
                Value::Number(n) => self.spend(n.to_string().len())?,
                Value::String(s) => self.spend(string_size(s))?,
                Value::Array(items) => {
                    // Brackets and commas.
                    self.spend(2 + items.len().saturating_sub(1))?;
                    stack.extend(items.iter().map(|item| (item, depth + 1)));
                }
                Value::Object(map) => {
                    // Braces, commas and a colon per member.
                    self.spend(2 + map.len().saturating_sub(1) + map.len())?;
                    for (key, value) in map {
                        self.spend(string_size(key))?;
                        stack.push((value, depth + 1));
                    }
                }
            }
        }
        Ok(())
    }
}

/// What a walk ran over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Overrun {
    Bytes,
    Depth,
}

impl From<Exhausted> for Overrun {
    fn from(_: Exhausted) -> Self {
        Overrun::Bytes
    }
}

/// The bytes of `s` as a JSON string literal, with its quotes and escapes.
fn string_size(s: &str) -> usize {
    let escapes: usize = s
        .chars()
        .map(|c| match c {
            '"' | '\\' | '\n' | '\r' | '\t' | '\u{08}' | '\u{0c}' => 1,
            c if c < ' ' => 5,
            _ => 0,
        })
        .sum();
    s.len() + escapes + 2
}

/// At most [`MAX_QUOTED_CHARS`] characters of `text`, with `...` when it was cut: error
/// messages quote rejected values by this.
pub fn quote_prefix(text: &str) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(MAX_QUOTED_CHARS) {
        None => std::borrow::Cow::Borrowed(text),
        Some((at, _)) => std::borrow::Cow::Owned(format!("{}...", &text[..at])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sizes_match_serde_json() {
        for value in [
            json!(null),
            json!({"a": [1, 2.5, "x\"y\n\u{0}"], "b": {"c": true, "d": false}, "": []}),
            json!("é and 漢字"),
            json!([[], {}, [[]]]),
        ] {
            let len = value.to_string().len();
            assert_eq!(json_size(&value), len, "{value}");
            assert!(Budget::new(len).take(&value).is_ok(), "{value}");
            assert!(Budget::new(len - 1).take(&value).is_err(), "{value}");
        }
    }

    #[test]
    fn depth_is_measured_without_recursion() {
        let mut deep = json!(1);
        for _ in 0..1_000_000 {
            // Not `json!([deep])`, which copies `deep` through a recursive serializer.
            deep = Value::Array(vec![deep]);
        }
        assert!(too_deep(&deep));
        // Dropping it recursively would overflow the stack: take it apart by hand.
        let mut value = deep;
        while let Value::Array(mut items) = value {
            value = items.pop().unwrap_or(Value::Null);
        }
        let mut ok = json!(1);
        for _ in 0..MAX_DEPTH {
            ok = Value::Object([("a".to_owned(), ok)].into_iter().collect());
        }
        assert!(!too_deep(&ok));
        assert!(too_deep(&Value::Array(vec![ok])));
    }

    #[test]
    fn quotes_are_bounded() {
        assert_eq!(quote_prefix("short"), "short");
        let long = "é".repeat(MAX_QUOTED_CHARS * 2);
        assert_eq!(quote_prefix(&long).chars().count(), MAX_QUOTED_CHARS + 3);
    }
}
