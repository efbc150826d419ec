//! Runs the JSONata project's language-neutral test suite through this crate's API and prints
//! the pass count, the percentage, and every failing case with a one-line reason.
//!
//! ```sh
//! cargo run --release -p switchback-jsonata --example suite -- [PATH]
//! ```
//!
//! PATH defaults to `../shared/reference/jsonata-test-suite` relative to the workspace root. If
//! it is absent the run says so and exits 0: CI must not depend on a checkout beside ours.
//!
//! Cases are judged as the suite's TESTSUITE.md says: `result` (as a multiset where
//! `unordered` is set), `undefinedResult`, or an error `code` (also under `error`). Its
//! `timelimit` and `depth` become `Limits::timeout` and `Limits::max_depth`. jsonata-js's test
//! harness raises U1001 when either runs out; jsonata-core names the two D1012 and D1011, so a
//! `Limit` error carrying either counts for an expected U1001.

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use switchback_jsonata::{Env, Error, Expression, Limits};

fn main() {
    let root = match std::env::args().nth(1) {
        Some(path) => PathBuf::from(path),
        None => Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join("../shared/reference/jsonata-test-suite"),
    };
    let groups = root.join("groups");
    if !groups.is_dir() {
        println!(
            "no JSONata test suite at {} (pass its path as the first argument); nothing to run",
            root.display()
        );
        return;
    }

    let mut failures = Vec::new();
    let mut total = 0;
    for group in sorted_entries(&groups) {
        for file in sorted_entries(&group) {
            if file.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let name = format!(
                "{}/{}",
                group.file_name().unwrap_or_default().to_string_lossy(),
                file.file_name().unwrap_or_default().to_string_lossy()
            );
            let Some(text) = std::fs::read_to_string(&file).ok() else {
                total += 1;
                failures.push((name, "unreadable case file".to_string()));
                continue;
            };
            let cases = match serde_json::from_str::<Value>(&text) {
                Ok(Value::Array(cases)) => cases,
                Ok(case) => vec![case],
                Err(e) => {
                    // serde_json refuses lone surrogates (`"\ud800"`), which JavaScript strings
                    // may hold: such a case cannot reach this API at all.
                    total += 1;
                    failures.push((name, format!("the case cannot be read as serde_json: {e}")));
                    continue;
                }
            };
            let several = cases.len() > 1;
            for (i, case) in cases.iter().enumerate() {
                total += 1;
                let label = if several {
                    format!("{name}[{i}]")
                } else {
                    name.clone()
                };
                if let Err(reason) = run_case(&root, &group, case) {
                    failures.push((label, reason));
                }
            }
        }
    }

    let passed = total - failures.len();
    println!(
        "{passed} of {total} cases pass ({:.2}%)",
        100.0 * passed as f64 / total.max(1) as f64
    );
    for (case, reason) in &failures {
        println!("FAIL {case}: {reason}");
    }
}

fn sorted_entries(dir: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    entries.sort();
    entries
}

fn run_case(root: &Path, group: &Path, case: &Value) -> Result<(), String> {
    let expr = match (case.get("expr"), case.get("expr-file")) {
        (Some(Value::String(expr)), _) => expr.clone(),
        (_, Some(Value::String(file))) => std::fs::read_to_string(group.join(file))
            .map_err(|e| format!("cannot read {file}: {e}"))?,
        _ => return Err("case has no expression".to_string()),
    };
    let input: Option<Value> = match (case.get("data"), case.get("dataset")) {
        (Some(data), _) => Some(data.clone()),
        (None, Some(Value::String(dataset))) => {
            let path = root.join("datasets").join(format!("{dataset}.json"));
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read dataset {dataset}: {e}"))?;
            Some(serde_json::from_str(&text).map_err(|e| format!("dataset {dataset}: {e}"))?)
        }
        _ => None,
    };

    let mut limits = Limits::default();
    if let Some(ms) = case.get("timelimit").and_then(Value::as_u64) {
        limits.timeout = Duration::from_millis(ms);
    }
    if let Some(depth) = case.get("depth").and_then(Value::as_u64) {
        limits.max_depth = depth as usize;
    }
    let bindings: Vec<(String, Value)> = case
        .get("bindings")
        .and_then(Value::as_object)
        .map(|b| b.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    let mut env = Env::new(limits);
    for (name, value) in &bindings {
        env.bind(name, value);
    }
    supply_clock_and_randomness(&mut env);

    let expected_code = case
        .get("code")
        .or_else(|| case.get("error").and_then(|e| e.get("code")))
        .and_then(Value::as_str);
    let outcome = Expression::parse(&expr).and_then(|e| e.evaluate(input.as_ref(), &env));

    match (outcome, expected_code) {
        (Err(error), Some(code)) => {
            if error.code() == Some(code) || harness_limit(&error, code) {
                Ok(())
            } else {
                Err(format!(
                    "expected error {code}, got {}",
                    describe_error(&error)
                ))
            }
        }
        (Ok(value), Some(code)) => Err(format!(
            "expected error {code}, got {}",
            describe_value(value.as_ref())
        )),
        (Err(error), None) => Err(format!(
            "expected {}, got {}",
            describe_expected(case),
            describe_error(&error)
        )),
        (Ok(value), None) => {
            if case.get("undefinedResult") == Some(&Value::Bool(true)) {
                return match value {
                    None => Ok(()),
                    Some(v) => Err(format!("expected undefined, got {}", short(&v))),
                };
            }
            let Some(expected) = case.get("result") else {
                return Err("case states no expected outcome".to_string());
            };
            let unordered = case.get("unordered") == Some(&Value::Bool(true));
            match value {
                Some(actual) if same(&actual, expected, unordered) => Ok(()),
                other => Err(format!(
                    "expected {}, got {}",
                    short(expected),
                    describe_value(other.as_ref())
                )),
            }
        }
    }
}

/// jsonata-js's harness reports both of its boxes (time and depth) as U1001.
fn harness_limit(error: &Error, code: &str) -> bool {
    code == "U1001"
        && matches!(error, Error::Limit { .. })
        && matches!(error.code(), Some("D1011" | "D1012" | "U1001"))
}

/// jsonata's own `$now`, `$millis` and `$random`: the wall clock at the start of the evaluation
/// and a pseudo-random source seeded from it.
fn supply_clock_and_randomness(env: &mut Env<'_>) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    env.function("millis", move |_| Ok(Some(Value::from(now))));
    env.function("now", move |_| Ok(Some(Value::String(iso(now)))));
    let state = Rc::new(Cell::new((now as u64) | 1));
    env.function("random", move |_| {
        // xorshift64*
        let mut x = state.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        state.set(x);
        let bits = x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11;
        Ok(Some(Value::from(bits as f64 / (1u64 << 53) as f64)))
    });
}

/// `millis` as `YYYY-MM-DDTHH:MM:SS.sssZ`.
fn iso(millis: i64) -> String {
    let days = millis.div_euclid(86_400_000);
    let in_day = millis.rem_euclid(86_400_000);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000
    )
}

/// JSON equality with numbers compared as numbers (`1e7` is `10000000`), and the top-level
/// array as a multiset when `unordered`.
fn same(actual: &Value, expected: &Value, unordered: bool) -> bool {
    match (actual, expected) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (Value::Array(a), Value::Array(b)) if unordered => {
            let mut left: Vec<&Value> = a.iter().collect();
            a.len() == b.len()
                && b.iter().all(|item| {
                    match left
                        .iter()
                        .position(|candidate| same(candidate, item, false))
                    {
                        Some(i) => {
                            left.swap_remove(i);
                            true
                        }
                        None => false,
                    }
                })
        }
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y, false))
        }
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(k, v)| b.get(k).is_some_and(|w| same(v, w, false)))
        }
        _ => actual == expected,
    }
}

fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 120 {
        format!("{}…", text.chars().take(120).collect::<String>())
    } else {
        text
    }
}

fn describe_value(value: Option<&Value>) -> String {
    value.map_or_else(|| "undefined".to_string(), short)
}

fn describe_expected(case: &Value) -> String {
    if case.get("undefinedResult") == Some(&Value::Bool(true)) {
        "undefined".to_string()
    } else {
        case.get("result").map_or_else(|| "?".to_string(), short)
    }
}

fn describe_error(error: &Error) -> String {
    let kind = match error {
        Error::Parse { .. } => "Parse",
        Error::Evaluation { .. } => "Evaluation",
        Error::Function { .. } => "Function",
        Error::Limit { .. } => "Limit",
        Error::Unsupported { .. } => "Unsupported",
    };
    let text = error.to_string();
    let text: String = text.chars().take(140).collect();
    format!("{kind} error: {text}")
}
