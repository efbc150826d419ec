//! The non-array functions and the dispatch over all 18.
//!
//! Behaviour comes from the conformance corpus (recorded on AWS) and, for edge cases it does
//! not cover, from public characterization suites run against AWS: argument errors are
//! `States.Runtime` / `Invalid arguments in States.<Name>`; `Base64Decode` is lenient;
//! `StringSplit` splits on any delimiter character and drops empty pieces; `Hash` accepts
//! non-string data (hashed as its JSON text); `JsonMerge` only refuses a literal `true`.
//!
//! Each function spends its result's size from a payload budget while building it, where the
//! result can outgrow its arguments; the caller checks every result's exact size afterwards.

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::lexer::StringLit;
use super::{Call, base64, hash, invalid, rounded, truncated};
use crate::entropy::Entropy;
use crate::failure::Failure;
use crate::limits::Budget;

/// Longest input (in characters) `Base64Encode`, `Base64Decode` and `Hash` accept.
pub const MAX_TEXT_CHARS: usize = 10_000;

/// Runs the function `call.name` on its evaluated arguments.
pub fn call(call: &Call<'_>, entropy: &mut Entropy) -> Result<Value, Failure> {
    let mut budget = Budget::payload();
    if let Some(result) = super::arrays::call(call, &mut budget) {
        return result;
    }
    let name = call.name;
    let bad = || Err(invalid(name));
    match (name, call.values.as_slice()) {
        ("States.Format", [Value::String(template), rest @ ..]) => {
            format(name, template, call.first_literal, rest, &mut budget)
        }
        ("States.StringToJson", [Value::String(text)]) => string_to_json(name, text),
        ("States.JsonToString", [value]) => Ok(Value::String(value.to_string())),
        ("States.JsonMerge", [Value::Object(a), Value::Object(b), deep]) => {
            // AWS supports only the shallow merge; it refuses `true` and was observed to treat
            // any other third argument (even the string "false") as shallow.
            if deep == &Value::Bool(true) {
                return bad();
            }
            // Measured before anything is copied: the members of `a` that `b` keeps, then `b`.
            for (k, v) in a.iter().filter(|(k, _)| !b.contains_key(*k)).chain(b) {
                budget.spend(k.len() + 4)?;
                budget.take(v)?;
            }
            let mut merged: Map<String, Value> = a.clone();
            for (k, v) in b {
                merged.insert(k.clone(), v.clone());
            }
            Ok(Value::Object(merged))
        }
        ("States.MathAdd", [a, b]) => math_add(name, a, b),
        ("States.MathRandom", [start, end, seed @ ..]) if seed.len() <= 1 => {
            math_random(name, start, end, seed.first(), entropy)
        }
        ("States.StringSplit", [Value::String(text), Value::String(delims)]) => {
            string_split(text, delims, &mut budget)
        }
        ("States.Base64Encode", [Value::String(text)]) if short(text) => {
            Ok(Value::String(base64::encode(text.as_bytes())))
        }
        ("States.Base64Decode", [Value::String(text)]) if short(text) => {
            let bytes = base64::decode_lenient(text);
            Ok(Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        }
        ("States.Hash", [data, Value::String(algorithm)]) => {
            let text = match data {
                Value::String(s) => s.clone(),
                Value::Null => return bad(),
                other => other.to_string(),
            };
            if !short(&text) {
                return bad();
            }
            hash::hex_digest(algorithm, text.as_bytes())
                .map(Value::String)
                .ok_or_else(|| invalid(name))
        }
        ("States.UUID", []) => Ok(Value::String(uuid_v4(entropy.next_bytes_16()))),
        (
            "States.Format"
            | "States.StringToJson"
            | "States.JsonToString"
            | "States.JsonMerge"
            | "States.MathAdd"
            | "States.MathRandom"
            | "States.StringSplit"
            | "States.Base64Encode"
            | "States.Base64Decode"
            | "States.Hash"
            | "States.UUID",
            _,
        ) => bad(),
        _ => Err(Failure::runtime(format!(
            "The intrinsic function {name} is not supported"
        ))),
    }
}

fn short(text: &str) -> bool {
    text.chars().count() <= MAX_TEXT_CHARS
}

/// Replaces each `{}` of the template with the next argument. A template written as a literal
/// may escape braces (`\{`, `\}`); any other lone brace, or a placeholder count that differs
/// from the argument count, is refused. The output is spent from `budget` as it grows (its
/// bytes; the escapes JSON adds are counted when the caller measures the whole result).
fn format(
    name: &str,
    template: &str,
    literal: Option<&StringLit>,
    args: &[Value],
    budget: &mut Budget,
) -> Result<Value, Failure> {
    let chars: Vec<(char, bool)> = match literal {
        Some(lit) => lit.chars.clone(),
        None => template.chars().map(|c| (c, false)).collect(),
    };
    // The quotes around the result.
    budget.spend(2)?;
    let mut out = String::new();
    let mut next = args.iter();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            ('{', false) if chars.get(i + 1) == Some(&('}', false)) => {
                let arg = next.next().ok_or_else(|| invalid(name))?;
                let text = format_value(arg);
                budget.spend(text.len())?;
                out.push_str(&text);
                i += 2;
            }
            ('{' | '}', false) => return Err(invalid(name)),
            (c, _) => {
                budget.spend(c.len_utf8())?;
                out.push(c);
                i += 1;
            }
        }
    }
    if next.next().is_some() {
        return Err(invalid(name));
    }
    Ok(Value::String(out))
}

/// How AWS renders a value into a `Format` string: strings bare, scalars as JSON, and
/// containers the way Java prints maps and lists (`{Arg1=1, Arg2=[]}`, recorded in the corpus).
fn format_value(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(format_value).collect();
            format!("[{}]", parts.join(", "))
        }
        Value::Object(map) => {
            let parts: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{k}={}", format_value(v)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
        other => other.to_string(),
    }
}

/// Parses JSON text; blank text is `null` (recorded: `""` and `" "` give `null`).
fn string_to_json(name: &str, text: &str) -> Result<Value, Failure> {
    if text.trim().is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_str(text).map_err(|_| invalid(name))
}

/// The sum of two 32-bit integers. Each operand is rounded half up first (recorded:
/// 1.5 + 1.51 = 4, -1.5 + 0 = -1); operands or sums outside the 32-bit range are refused.
fn math_add(name: &str, a: &Value, b: &Value) -> Result<Value, Failure> {
    let int32 = |v: &Value| {
        rounded(v)
            .and_then(|n| i32::try_from(n).ok())
            .ok_or_else(|| invalid(name))
    };
    let sum = int32(a)?
        .checked_add(int32(b)?)
        .ok_or_else(|| invalid(name))?;
    Ok(Value::from(sum))
}

/// A random integer in `[start, end)`, bounds truncated to 32-bit integers (AWS accepts
/// `MathRandom(1.6, 5.4)` returning 1 and refuses `(1.4, 1.6)`). With a seed the result is a
/// pure function of the arguments; we use Java's `new Random(seed).nextInt(end - start)`,
/// since AWS runs on the JVM, but no seeded AWS output has been recorded to confirm it.
fn math_random(
    name: &str,
    start: &Value,
    end: &Value,
    seed: Option<&Value>,
    entropy: &mut Entropy,
) -> Result<Value, Failure> {
    let int32 = |v: &Value| {
        truncated(v)
            .and_then(|n| i32::try_from(n).ok())
            .map(i64::from)
            .ok_or_else(|| invalid(name))
    };
    let (start, end) = (int32(start)?, int32(end)?);
    if start >= end {
        return Err(invalid(name));
    }
    let bound = end - start;
    let offset = match seed {
        Some(seed) => {
            let seed = truncated(seed).ok_or_else(|| invalid(name))?;
            java_random_below(seed, bound)
        }
        None => (entropy.next_f64() * bound as f64) as i64,
    };
    Ok(Value::from(start + offset.clamp(0, bound - 1)))
}

/// `new java.util.Random(seed).nextInt(bound)` (a 48-bit LCG); bounds beyond `i32::MAX` fall
/// back to the generator's 62 high bits modulo the bound.
fn java_random_below(seed: i64, bound: i64) -> i64 {
    const MULTIPLIER: u64 = 0x5_DEEC_E66D;
    const MASK: u64 = (1 << 48) - 1;
    let mut state = (seed as u64 ^ MULTIPLIER) & MASK;
    let mut next = |bits: u32| {
        state = state.wrapping_mul(MULTIPLIER).wrapping_add(0xB) & MASK;
        (state >> (48 - bits)) as i64
    };
    let Ok(bound32) = i32::try_from(bound) else {
        return ((next(31) << 31) | next(31)) % bound;
    };
    let bound = i64::from(bound32);
    if bound & -bound == bound {
        return (bound * next(31)) >> 31;
    }
    loop {
        let bits = next(31);
        let value = bits % bound;
        // Java rejects the last partial run of values so every result is equally likely.
        if bits - value + (bound - 1) <= i64::from(i32::MAX) {
            return value;
        }
    }
}

/// Splits on every character of `delims`, dropping empty pieces (recorded: `",,,,"` gives `[]`,
/// `", , ,"` gives `[" ", " "]`). An empty delimiter leaves the text whole. Each piece's quotes
/// and comma are spent as well: `"a,b,c"` splits into twice its size.
fn string_split(text: &str, delims: &str, budget: &mut Budget) -> Result<Value, Failure> {
    // A set, so that a long delimiter string costs once, not once per character of the text.
    let delims: HashSet<char> = delims.chars().collect();
    budget.spend(2)?;
    let mut pieces = Vec::new();
    for piece in text
        .split(|c| delims.contains(&c))
        .filter(|piece| !piece.is_empty())
    {
        budget.spend(piece.len() + 3)?;
        pieces.push(Value::String(piece.to_string()));
    }
    Ok(Value::Array(pieces))
}

/// A version-4 UUID, lowercase and hyphenated, from 16 random bytes.
pub(crate) fn uuid_v4(mut bytes: [u8; 16]) -> String {
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}
