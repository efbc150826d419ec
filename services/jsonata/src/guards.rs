//! The internal host functions the rewritten expression calls (see `rewrite`): the checks that
//! keep one evaluation's memory and time bounded.

use std::rc::Rc;

use jsonata_core::evaluator::{Evaluator, EvaluatorError};
use jsonata_core::functions::string::build_regex;
use jsonata_core::value::JValue;

use crate::error::Error;
use crate::measure::{Exceeded, json_bytes_within, tree_within};
use crate::rewrite::{self, Uses};
use crate::run::Run;

/// Registers the internal functions `uses` asks for.
pub(crate) fn register(
    evaluator: &mut Evaluator,
    run: &Rc<Run>,
    uses: Uses,
) -> Result<(), EvaluatorError> {
    type Guard = fn(&Run, &[JValue]) -> Result<JValue, EvaluatorError>;
    let table: [(bool, &str, Guard); 10] = [
        (uses.guard_call, rewrite::GUARD_CALL, guard_call),
        (uses.guard_result, rewrite::GUARD_RESULT, guard_result),
        (uses.guard_concat, rewrite::GUARD_CONCAT, guard_concat),
        (uses.guard_tree, rewrite::GUARD_TREE, guard_tree),
        (
            uses.guard_arguments,
            rewrite::GUARD_ARGUMENTS,
            guard_arguments,
        ),
        (uses.range, rewrite::RANGE, range),
        (uses.is_builtin, rewrite::IS_BUILTIN, is_builtin),
        (uses.is_function, rewrite::IS_FUNCTION, is_function),
        (
            uses.guard_replacement,
            rewrite::GUARD_REPLACEMENT,
            guard_replacement,
        ),
        (
            uses.clock,
            rewrite::CLOCK_TIMESTAMP,
            crate::impure::clock_timestamp,
        ),
    ];
    for (used, name, guard) in table {
        if used {
            let run = Rc::clone(run);
            evaluator.register_fn(name, move |args: &[JValue]| guard(&run, args))?;
        }
    }
    if uses.clock {
        let run = Rc::clone(run);
        evaluator.register_fn(rewrite::CLOCK_PICTURE, move |args: &[JValue]| {
            crate::impure::clock_picture(&run, args)
        })?;
    }
    Ok(())
}

fn string_arg(value: Option<&JValue>) -> Option<&str> {
    value.and_then(JValue::as_str)
}

/// `[name, $name, $, arguments...]`: checks a guarded built-in's arguments before it runs.
fn guard_call(run: &Run, args: &[JValue]) -> Result<JValue, EvaluatorError> {
    let (Some(JValue::String(name)), Some(bound), Some(context)) =
        (args.first(), args.get(1), args.get(2))
    else {
        return Ok(JValue::Undefined);
    };
    // `$name` bound to something else (by the expression or the host) is not ours to check.
    if !matches!(bound, JValue::Builtin { name: builtin } if builtin == name) {
        return Ok(JValue::Undefined);
    }
    let args = &args[3..];
    match &**name {
        "pad" => check_pad(run, args, context),
        "string" => check_string(run, args, context),
        "join" => check_join(run, args),
        "replace" => check_replace(run, args, context),
        "split" => check_split(run, args, context),
        "match" => check_match(run, args, context),
        "formatInteger" => check_format_integer(run, args),
        "fromMillis" | "toMillis" => check_picture(run, name, string_arg(args.get(1))),
        "distinct" => match args.first() {
            Some(value) => check_tree(run, "$distinct", value),
            None => Ok(()),
        },
        _ => Ok(()),
    }?;
    Ok(JValue::Undefined)
}

/// A built-in whose first parameter defaults to the context (`<s-...>`) reads it when it is
/// given fewer arguments than `full`, or a first argument that is not a string.
fn subject<'a>(args: &'a [JValue], context: &'a JValue, full: usize) -> (&'a JValue, &'a [JValue]) {
    match args.first() {
        Some(first) if args.len() >= full || first.is_string() => (first, &args[1..]),
        _ => (context, args),
    }
}

fn check_pad(run: &Run, args: &[JValue], context: &JValue) -> Result<(), EvaluatorError> {
    let (subject, rest) = subject(args, context, 2);
    let Some(width) = rest.first().and_then(JValue::as_f64) else {
        return Ok(());
    };
    let padding = string_arg(rest.get(1))
        .filter(|s| !s.is_empty())
        .map_or(1, |s| s.chars().map(char::len_utf8).max().unwrap_or(1));
    let subject_bytes = subject.as_str().map_or(0, str::len);
    // jsonata-core pads to `width as i32` characters.
    let width = width.abs().min(f64::from(i32::MAX)) as usize;
    run.check_value_bytes(
        "$pad",
        subject_bytes.saturating_add(width.saturating_mul(padding)),
    )
}

fn check_string(run: &Run, args: &[JValue], context: &JValue) -> Result<(), EvaluatorError> {
    let value = args.first().unwrap_or(context);
    if matches!(value, JValue::Array(_) | JValue::Object(_)) {
        let pretty = matches!(args.get(1), Some(JValue::Bool(true)));
        let max = run.limits.max_value_bytes();
        if json_bytes_within(value, max, pretty).is_none() {
            return Err(run.fail(Error::limit(format!(
                "$string would write more than {max} bytes"
            ))));
        }
    }
    Ok(())
}

fn check_join(run: &Run, args: &[JValue]) -> Result<(), EvaluatorError> {
    let Some(JValue::Array(items)) = args.first() else {
        return Ok(());
    };
    let separator = string_arg(args.get(1)).map_or(0, str::len);
    let bytes = items
        .iter()
        .map(|item| item.as_str().map_or(0, str::len).saturating_add(separator))
        .fold(0usize, usize::saturating_add);
    run.check_value_bytes("$join", bytes)
}

/// How many times `pattern` (a string or a regex) matches in `subject`, counting no further
/// than `cap`; `None` when it cannot be known (a custom matcher function, a bad regex).
fn count_matches(pattern: &JValue, subject: &str, cap: usize) -> Option<usize> {
    match pattern {
        JValue::String(p) if p.is_empty() => Some(subject.chars().count().min(cap)),
        JValue::String(p) => Some(subject.matches(&**p).take(cap).count()),
        JValue::Regex { pattern, flags } => {
            let regex = build_regex(pattern, flags).ok()?;
            Some(regex.find_iter(subject).take(cap).count())
        }
        _ => None,
    }
}

/// The `limit` argument of `$replace`, `$split` and `$match`, as a count.
fn limit_arg(value: Option<&JValue>) -> Option<usize> {
    value
        .and_then(JValue::as_f64)
        .filter(|n| *n >= 0.0)
        .map(|n| n.min(usize::MAX as f64) as usize)
}

fn check_replace(run: &Run, args: &[JValue], context: &JValue) -> Result<(), EvaluatorError> {
    let (subject, rest) = subject(args, context, 3);
    let Some(subject) = subject.as_str() else {
        return Ok(());
    };
    let (Some(pattern), Some(replacement)) = (rest.first(), rest.get(1)) else {
        return Ok(());
    };
    // A callback's results are counted as it returns them (`GUARD_REPLACEMENT`).
    let Some(replacement) = replacement.as_str() else {
        return Ok(());
    };
    let cap = limit_arg(rest.get(2)).unwrap_or(usize::MAX);
    let matches = count_matches(pattern, subject, cap).unwrap_or(subject.len() + 1);
    // Each match becomes the replacement, whose `$n`s each insert a captured group: no longer
    // than the subject, all matches together.
    let references = replacement.matches('$').count();
    let bytes = subject
        .len()
        .saturating_add(matches.saturating_mul(replacement.len()))
        .saturating_add(references.saturating_mul(subject.len()));
    run.check_value_bytes("$replace", bytes)
}

fn check_split(run: &Run, args: &[JValue], context: &JValue) -> Result<(), EvaluatorError> {
    let (subject, rest) = subject(args, context, 2);
    let (Some(subject), Some(separator)) = (subject.as_str(), rest.first()) else {
        return Ok(());
    };
    // jsonata-core splits the whole string before it applies the limit.
    let cap = run.limits.max_sequence.saturating_add(1);
    let pieces = count_matches(separator, subject, cap)
        .unwrap_or(subject.len())
        .saturating_add(1);
    check_pieces(run, "$split", pieces, subject.len(), 3)
}

fn check_match(run: &Run, args: &[JValue], context: &JValue) -> Result<(), EvaluatorError> {
    let (subject, rest) = subject(args, context, 2);
    let (Some(subject), Some(pattern)) = (subject.as_str(), rest.first()) else {
        return Ok(());
    };
    let cap = limit_arg(rest.get(1))
        .unwrap_or(usize::MAX)
        .min(run.limits.max_sequence.saturating_add(1));
    let matches = count_matches(pattern, subject, cap).unwrap_or(subject.len() + 1);
    // A match object: `{"match": ..., "index": ..., "groups": [...]}`.
    check_pieces(run, "$match", matches, subject.len(), 64)
}

/// `pieces` new values of `overhead` bytes each, holding parts of `subject_bytes` between them.
fn check_pieces(
    run: &Run,
    what: &str,
    pieces: usize,
    subject_bytes: usize,
    overhead: usize,
) -> Result<(), EvaluatorError> {
    let max = run.limits.max_sequence;
    if pieces > max {
        return Err(run.fail(Error::limit(format!(
            "{what} would make more than {max} items"
        ))));
    }
    run.generate(what, pieces)?;
    run.check_value_bytes(
        what,
        subject_bytes.saturating_add(pieces.saturating_mul(overhead)),
    )
}

fn check_format_integer(run: &Run, args: &[JValue]) -> Result<(), EvaluatorError> {
    let (Some(value), Some(picture)) = (
        args.first().and_then(JValue::as_f64),
        string_arg(args.get(1)),
    ) else {
        return Ok(());
    };
    // Roman numerals spell thousands as one `m` each.
    if picture.contains(['I', 'i']) {
        let bytes = (value.abs() / 1000.0).min(usize::MAX as f64) as usize;
        run.check_value_bytes("$formatInteger", bytes.saturating_add(32))?;
    }
    Ok(())
}

/// A date/time picture's widths (`[f,100000000]`) pad a component to any length.
fn check_picture(run: &Run, name: &str, picture: Option<&str>) -> Result<(), EvaluatorError> {
    let Some(picture) = picture else {
        return Ok(());
    };
    let mut bytes = picture.len().saturating_mul(4);
    for marker in markers(picture) {
        if let Some((_, widths)) = marker.rsplit_once(',') {
            for width in widths.split('-') {
                let digits = width.trim();
                if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                    let width = digits.parse::<usize>().unwrap_or(usize::MAX);
                    bytes = bytes.saturating_add(width);
                }
            }
        }
    }
    run.check_value_bytes(&format!("${name}"), bytes)
}

/// The contents of a date/time picture's `[...]` markers (`[[` and `]]` are literal brackets).
pub(crate) fn markers(picture: &str) -> impl Iterator<Item = &str> {
    let mut rest = picture;
    std::iter::from_fn(move || {
        loop {
            let open = rest.find('[')?;
            if rest[open..].starts_with("[[") {
                rest = &rest[open + 2..];
                continue;
            }
            let after = &rest[open + 1..];
            let close = after.find(']').unwrap_or(after.len());
            let marker = &after[..close];
            rest = &after[(close + 1).min(after.len())..];
            return Some(marker);
        }
    })
}

/// `[name, value]`: counts a string a guarded call or `&` built.
fn guard_result(run: &Run, args: &[JValue]) -> Result<JValue, EvaluatorError> {
    let value = args.get(1).cloned().unwrap_or(JValue::Undefined);
    if let (Some(JValue::String(name)), JValue::String(string)) = (args.first(), &value) {
        let what = if &**name == "&" {
            "&".to_string()
        } else {
            format!("${name}")
        };
        run.track(&what, string)?;
    }
    Ok(value)
}

/// An operand of `&`: its text may not exceed the value limit.
fn guard_concat(run: &Run, args: &[JValue]) -> Result<JValue, EvaluatorError> {
    let value = args.first().cloned().unwrap_or(JValue::Undefined);
    let max = run.limits.max_value_bytes();
    let within = match &value {
        JValue::String(s) => s.len() <= max,
        // `&` writes other values as `$string` does.
        JValue::Array(_) | JValue::Object(_) => json_bytes_within(&value, max, false).is_some(),
        _ => true,
    };
    if !within {
        return Err(run.fail(Error::limit(format!(
            "an operand of & is larger than the limit of {max} bytes"
        ))));
    }
    Ok(value)
}

fn check_tree(run: &Run, what: &str, value: &JValue) -> Result<(), EvaluatorError> {
    let max_nodes = run.limits.max_tree_nodes();
    let max_depth = run.limits.max_depth;
    let message = match tree_within(value, max_nodes, max_depth) {
        Ok(()) => return Ok(()),
        Err(Exceeded::Nodes) => format!(
            "{what}: a value holds more than {max_nodes} items, counting each time a shared part appears"
        ),
        Err(Exceeded::Depth) => {
            format!("{what}: a value nests deeper than the limit of {max_depth} levels")
        }
    };
    Err(run.fail(Error::limit(message)))
}

/// A value spliced into an array, nested into an object, compared, or transformed.
fn guard_tree(run: &Run, args: &[JValue]) -> Result<JValue, EvaluatorError> {
    let value = args.first().cloned().unwrap_or(JValue::Undefined);
    check_tree(run, "building or comparing values", &value)?;
    Ok(value)
}

/// The arguments a function of the expression was called with. A higher-order function hands
/// its callback the same array on every call (`$map`'s third argument), so arguments measured
/// recently are remembered (`Run::measured`) rather than walked again.
fn guard_arguments(run: &Run, args: &[JValue]) -> Result<JValue, EvaluatorError> {
    for arg in args {
        if run.recently_measured(arg) {
            continue;
        }
        check_tree(run, "calling a function", arg)?;
        run.remember_measured(arg);
    }
    Ok(JValue::Undefined)
}

/// `[start, end]`: jsonata's range operator (as jsonata-core implements it), counted.
fn range(run: &Run, args: &[JValue]) -> Result<JValue, EvaluatorError> {
    let operand = |value: Option<&JValue>, side: &str, code: &str| match value {
        Some(JValue::Number(n)) if n.fract() != 0.0 => Err(EvaluatorError::EvaluationError(
            format!("{code}: {side} operand of range operator must be an integer"),
        )),
        Some(JValue::Number(n)) => Ok(Some(*n)),
        None | Some(JValue::Null | JValue::Undefined) => Ok(None),
        Some(_) => Err(EvaluatorError::EvaluationError(format!(
            "{code}: {side} operand of range operator must be a number"
        ))),
    };
    let start = operand(args.first(), "Left", "T2003")?;
    let end = operand(args.get(1), "Right", "T2004")?;
    let (Some(start), Some(end)) = (start, end) else {
        return Ok(JValue::sequence(Vec::new()));
    };
    let size = if start <= end { end - start + 1.0 } else { 0.0 };
    if size > 10_000_000.0 {
        return Err(EvaluatorError::EvaluationError(
            "D2014: Range operator results in too many elements (> 10,000,000)".to_string(),
        ));
    }
    let size = size as usize;
    let max = run.limits.max_sequence;
    if size > max {
        return Err(EvaluatorError::EvaluationError(format!(
            "D2015: The maximum sequence length of {max} was exceeded."
        )));
    }
    run.generate("the range operator (..)", size)?;
    let start = start as i64;
    let items = (0..size as i64)
        .map(|i| JValue::Number((start + i) as f64))
        .collect();
    Ok(JValue::sequence_flat(items, true))
}

/// `[$name, name]`: whether `$name` is the built-in of that name.
fn is_builtin(_run: &Run, args: &[JValue]) -> Result<JValue, EvaluatorError> {
    let builtin = match (args.first(), args.get(1)) {
        (Some(JValue::Builtin { name }), Some(JValue::String(expected))) => name == expected,
        _ => false,
    };
    Ok(JValue::Bool(builtin))
}

fn is_function(_run: &Run, args: &[JValue]) -> Result<JValue, EvaluatorError> {
    Ok(JValue::Bool(args.first().is_some_and(JValue::is_function)))
}

/// What a `$replace` callback returned, counted.
fn guard_replacement(run: &Run, args: &[JValue]) -> Result<JValue, EvaluatorError> {
    let value = args.first().cloned().unwrap_or(JValue::Undefined);
    if let JValue::String(s) = &value {
        run.replaced(s.len())?;
    }
    Ok(value)
}
