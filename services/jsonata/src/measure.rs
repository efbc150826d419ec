//! Measuring values without building anything: the size of their JSON text and the number of
//! nodes they hold when shared parts count each time they appear.
//!
//! Every walk is iterative and stops as soon as it passes the bound it was given, so measuring
//! a value costs at most that bound, however deep it nests or however often its parts are
//! shared.

use jsonata_core::value::{JMap, JValue};

/// Bytes of `s` as a JSON string, quotes and escapes included.
pub(crate) fn json_string_bytes(s: &str) -> usize {
    let escapes: usize = s
        .bytes()
        .map(|b| match b {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 1,
            0..=0x1f => 5,
            _ => 0,
        })
        .sum();
    s.len() + 2 + escapes
}

/// Bytes of `n` as JSON: exact for whole numbers, an upper bound for the rest.
pub(crate) fn json_number_bytes(n: f64) -> usize {
    if n.fract() == 0.0 && n.abs() < 1e21 {
        // Digits of the integer part, and a sign.
        let digits = if n.abs() < 1.0 {
            1
        } else {
            n.abs().log10().floor() as usize + 1
        };
        digits + usize::from(n < 0.0)
    } else {
        // The longest shortest-round-trip form: a sign, 17 digits, a point and an exponent.
        24
    }
}

/// One step of a walk: a node, how deep it is, and the key it sits under in an object.
struct Visit<'v> {
    value: &'v JValue,
    depth: usize,
    key: Option<&'v str>,
}

/// A pre-order walk over a value's nodes, shared parts visited each time they appear.
struct Walk<'v> {
    stack: Vec<Container<'v>>,
    first: Option<&'v JValue>,
}

enum Container<'v> {
    Items(&'v [JValue], usize),
    Entries(&'v JMap, usize),
}

impl<'v> Walk<'v> {
    fn new(value: &'v JValue) -> Self {
        Self {
            stack: Vec::new(),
            first: Some(value),
        }
    }

    fn enter(&mut self, value: &'v JValue) {
        match value {
            JValue::Array(items) => self.stack.push(Container::Items(items, 0)),
            JValue::Object(map) => self.stack.push(Container::Entries(map, 0)),
            _ => {}
        }
    }
}

impl<'v> Iterator for Walk<'v> {
    type Item = Visit<'v>;

    fn next(&mut self) -> Option<Visit<'v>> {
        if let Some(value) = self.first.take() {
            self.enter(value);
            return Some(Visit {
                value,
                depth: 0,
                key: None,
            });
        }
        loop {
            let depth = self.stack.len();
            let top = self.stack.last_mut()?;
            let visit = match top {
                Container::Items(items, next) => {
                    let item = items.get(*next);
                    *next += 1;
                    item.map(|value| Visit {
                        value,
                        depth,
                        key: None,
                    })
                }
                Container::Entries(map, next) => {
                    let entry = map.get_index(*next);
                    *next += 1;
                    entry.map(|(key, value)| Visit {
                        value,
                        depth,
                        key: Some(key.as_str()),
                    })
                }
            };
            match visit {
                Some(visit) => {
                    self.enter(visit.value);
                    return Some(visit);
                }
                None => {
                    self.stack.pop();
                }
            }
        }
    }
}

/// What a value exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exceeded {
    /// More nodes below it than allowed, shared parts counted each time they appear.
    Nodes,
    /// Arrays and objects nested deeper than allowed.
    Depth,
}

/// Whether `value` holds at most `max_nodes` nodes below itself (shared parts counted each
/// time they appear) and nests arrays and objects at most `max_depth` levels deep.
pub(crate) fn tree_within(
    value: &JValue,
    max_nodes: usize,
    max_depth: usize,
) -> Result<(), Exceeded> {
    if !matches!(value, JValue::Array(_) | JValue::Object(_)) {
        return Ok(());
    }
    // The walk's first visit is `value` itself, at depth 0: a container at depth `d` is the
    // `d + 1`th level.
    for (count, visit) in Walk::new(value).enumerate() {
        if count > max_nodes {
            return Err(Exceeded::Nodes);
        }
        if visit.depth >= max_depth && matches!(visit.value, JValue::Array(_) | JValue::Object(_)) {
            return Err(Exceeded::Depth);
        }
    }
    Ok(())
}

/// The bytes of `value`'s JSON text (as `$string` writes it: pretty-printed with two spaces per
/// level when `pretty`), if they are at most `max`.
pub(crate) fn json_bytes_within(value: &JValue, max: usize, pretty: bool) -> Option<usize> {
    let mut total: usize = 0;
    for visit in Walk::new(value) {
        let mut bytes = match visit.value {
            JValue::Null | JValue::Undefined => 4,
            JValue::Bool(_) => 5,
            JValue::Number(n) => json_number_bytes(*n),
            JValue::String(s) => json_string_bytes(s),
            JValue::Array(_) | JValue::Object(_) => 2,
            JValue::Lambda(_) | JValue::Builtin { .. } | JValue::Regex { .. } => 2,
        };
        // A comma, and a key with its colon.
        bytes += 1 + visit.key.map_or(0, |key| json_string_bytes(key) + 2);
        if pretty {
            // A line break and the indentation, before the node and before its closing bracket.
            bytes += 2 * (1 + 2 * visit.depth);
        }
        total = total.saturating_add(bytes);
        if total > max {
            return None;
        }
    }
    Some(total)
}
