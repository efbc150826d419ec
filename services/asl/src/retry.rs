//! Retry and Catch: which retrier or catcher matches an error, and backoff delays.
//!
//! Matching follows AWS's error-handling guide:
//! - `States.ALL` matches any error name except the terminal `States.DataLimitExceeded` and
//!   `States.Runtime`.
//! - `States.TaskFailed` "acts as a wildcard that matches any known error name except for
//!   `States.Timeout`"; a heartbeat timeout is a kind of timeout, and the terminal errors stay
//!   terminal, so those are excluded too.
//! - `States.Timeout` also matches `States.HeartbeatTimeout`: before AWS split the heartbeat error
//!   out, a Catch on `States.Timeout` covered both, and it still does (aws-cdk#16084).
//! - `States.Runtime` is never retried or caught, whatever a retrier names.
//! - Any other name matches itself exactly (case-sensitive).

use crate::entropy::Entropy;
use crate::failure::errors;
use crate::model::{Catcher, JitterStrategy, Retrier};

/// Defaults of a retrier's fields (AWS: 1 second, 3 attempts, rate 2.0).
const DEFAULT_INTERVAL_SECONDS: u64 = 1;
const DEFAULT_MAX_ATTEMPTS: u64 = 3;
const DEFAULT_BACKOFF_RATE: f64 = 2.0;

/// Upper bound of any delay: a standard execution lives at most a year, so a longer timer could
/// never fire; bounding it keeps `now + delay` far from overflowing.
const MAX_DELAY_MS: f64 = 366.0 * 24.0 * 3600.0 * 1000.0;

/// Index of the first retrier whose `ErrorEquals` matches `error`.
pub fn matching_retrier(retriers: &[Retrier], error: &str) -> Option<usize> {
    first_match(retriers.iter().map(|r| r.error_equals.as_slice()), error)
}

/// Index of the first catcher whose `ErrorEquals` matches `error`.
pub fn matching_catcher(catchers: &[Catcher], error: &str) -> Option<usize> {
    first_match(catchers.iter().map(|c| c.error_equals.as_slice()), error)
}

fn first_match<'a>(mut entries: impl Iterator<Item = &'a [String]>, error: &str) -> Option<usize> {
    if error == errors::RUNTIME {
        return None;
    }
    entries.position(|names| names.iter().any(|name| name_matches(name, error)))
}

/// Whether one `ErrorEquals` entry matches the error (never called for `States.Runtime`).
fn name_matches(name: &str, error: &str) -> bool {
    match name {
        errors::ALL => error != errors::DATA_LIMIT_EXCEEDED,
        errors::TASK_FAILED => !matches!(
            error,
            errors::TIMEOUT | errors::HEARTBEAT_TIMEOUT | errors::DATA_LIMIT_EXCEEDED
        ),
        errors::TIMEOUT => error == errors::TIMEOUT || error == errors::HEARTBEAT_TIMEOUT,
        _ => name == error,
    }
}

/// Delay in milliseconds before retry number `attempt` (1-based: the first retry is attempt 1)
/// of this retrier, or `None` when its `MaxAttempts` is exhausted (or `attempt` is 0, which is
/// not a retry).
///
/// The delay is `IntervalSeconds × BackoffRate^(attempt−1)`, capped by `MaxDelaySeconds`; with
/// `JitterStrategy: "FULL"` it is then drawn uniformly from `[0, delay]`.
pub fn retry_delay_ms(retrier: &Retrier, attempt: u32, entropy: &mut Entropy) -> Option<u64> {
    let max_attempts = retrier.max_attempts.unwrap_or(DEFAULT_MAX_ATTEMPTS);
    if attempt == 0 || u64::from(attempt) > max_attempts {
        return None;
    }
    let interval = retrier.interval_seconds.unwrap_or(DEFAULT_INTERVAL_SECONDS) as f64;
    let rate = retrier
        .backoff_rate
        .as_ref()
        .and_then(serde_json::Number::as_f64)
        .unwrap_or(DEFAULT_BACKOFF_RATE);
    // powi needs an i32; beyond that the product is infinite (or stuck at 1.0) anyway, and
    // the cap below handles infinity.
    let exponent = i32::try_from(attempt - 1).unwrap_or(i32::MAX);
    let mut delay_ms = interval * 1000.0 * rate.powi(exponent);
    if let Some(max_delay) = retrier.max_delay_seconds {
        delay_ms = delay_ms.min(max_delay as f64 * 1000.0);
    }
    // NaN cannot arise from validated fields, but `max` would turn it into 0 rather than panic.
    delay_ms = delay_ms.clamp(0.0, MAX_DELAY_MS).max(0.0);
    if retrier.jitter_strategy == Some(JitterStrategy::Full) {
        delay_ms *= entropy.next_f64();
    }
    // Round to the nearest millisecond: fractional seconds (e.g. 1 × 1.5) stay exact.
    Some(delay_ms.round() as u64)
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::{matching_catcher, matching_retrier, retry_delay_ms};
    use crate::entropy::Entropy;
    use crate::failure::errors;
    use crate::model::{Catcher, Retrier};

    fn retriers(lists: &[&[&str]]) -> Vec<Retrier> {
        lists
            .iter()
            .map(|names| retrier(json!({"ErrorEquals": names})))
            .collect()
    }

    fn catchers(lists: &[&[&str]]) -> Vec<Catcher> {
        lists
            .iter()
            .map(|names| {
                serde_json::from_value(json!({"ErrorEquals": names, "Next": "N"}))
                    .expect("a catcher")
            })
            .collect()
    }

    /// A retrier as written in a definition (`ErrorEquals` added when the test leaves it out).
    fn retrier(mut fields: Value) -> Retrier {
        if fields.get("ErrorEquals").is_none() {
            fields["ErrorEquals"] = json!(["X"]);
        }
        serde_json::from_value(fields).expect("a retrier")
    }

    #[test]
    fn first_matching_entry_wins() {
        let list = retriers(&[&["A", "B"], &["B"], &["States.ALL"]]);
        assert_eq!(matching_retrier(&list, "A"), Some(0));
        assert_eq!(matching_retrier(&list, "B"), Some(0));
        assert_eq!(matching_retrier(&list, "C"), Some(2));
        let exact = catchers(&[&["FailureType"], &["State.ALL"]]);
        assert_eq!(matching_catcher(&exact, "FailureType"), Some(0));
        assert_eq!(matching_catcher(&exact, "failuretype"), None);
        // "State.ALL" (sic) is an ordinary custom name, not the wildcard.
        assert_eq!(matching_catcher(&exact, "Other"), None);
        assert_eq!(matching_catcher(&exact, "State.ALL"), Some(1));
        assert_eq!(matching_catcher(&[], "A"), None);
    }

    #[test]
    fn states_all_skips_terminal_errors() {
        let list = catchers(&[&["States.ALL"]]);
        for error in [
            "Custom",
            "States.TaskFailed",
            "States.Timeout",
            "States.BranchFailed",
        ] {
            assert_eq!(matching_catcher(&list, error), Some(0), "{error}");
        }
        assert_eq!(matching_catcher(&list, errors::RUNTIME), None);
        assert_eq!(matching_catcher(&list, errors::DATA_LIMIT_EXCEEDED), None);
        // Named explicitly, DataLimitExceeded is matched; Runtime never is.
        let named = catchers(&[&["States.DataLimitExceeded", "States.Runtime"]]);
        assert_eq!(
            matching_catcher(&named, errors::DATA_LIMIT_EXCEEDED),
            Some(0)
        );
        assert_eq!(matching_catcher(&named, errors::RUNTIME), None);
    }

    #[test]
    fn task_failed_and_timeout_wildcards() {
        let list = retriers(&[&["States.TaskFailed"], &["States.Timeout"]]);
        assert_eq!(matching_retrier(&list, "Lambda.ServiceException"), Some(0));
        assert_eq!(matching_retrier(&list, "States.TaskFailed"), Some(0));
        assert_eq!(matching_retrier(&list, "States.Permissions"), Some(0));
        assert_eq!(matching_retrier(&list, "States.Timeout"), Some(1));
        assert_eq!(matching_retrier(&list, "States.HeartbeatTimeout"), Some(1));
        assert_eq!(matching_retrier(&list, errors::DATA_LIMIT_EXCEEDED), None);
        let heartbeat = retriers(&[&["States.HeartbeatTimeout"]]);
        assert_eq!(matching_retrier(&heartbeat, "States.Timeout"), None);
        assert_eq!(
            matching_retrier(&heartbeat, "States.HeartbeatTimeout"),
            Some(0)
        );
    }

    fn delays(fields: Value, attempts: u32) -> Vec<Option<u64>> {
        let retrier = retrier(fields);
        let mut entropy = Entropy::new(1);
        (1..=attempts)
            .map(|n| retry_delay_ms(&retrier, n, &mut entropy))
            .collect()
    }

    #[test]
    fn defaults_are_one_second_doubling_three_times() {
        let d = delays(json!({"ErrorEquals": ["X"]}), 4);
        assert_eq!(d, vec![Some(1000), Some(2000), Some(4000), None]);
        let mut entropy = Entropy::new(1);
        assert_eq!(retry_delay_ms(&retrier(json!({})), 0, &mut entropy), None);
    }

    #[test]
    fn max_attempts_zero_never_retries() {
        assert_eq!(delays(json!({"MaxAttempts": 0}), 2), vec![None, None]);
        assert_eq!(
            delays(json!({"MaxAttempts": 2}), 3),
            vec![Some(1000), Some(2000), None]
        );
    }

    #[test]
    fn interval_rate_and_cap() {
        let r = json!({"IntervalSeconds": 3, "BackoffRate": 1.5, "MaxAttempts": 5});
        let d = delays(r, 5);
        assert_eq!(
            d,
            vec![Some(3000), Some(4500), Some(6750), Some(10125), Some(15188)]
        );
        let capped = json!({"IntervalSeconds": 2, "MaxAttempts": 6, "MaxDelaySeconds": 10});
        let d = delays(capped, 6);
        assert_eq!(
            d,
            vec![
                Some(2000),
                Some(4000),
                Some(8000),
                Some(10000),
                Some(10000),
                Some(10000)
            ]
        );
        let flat = json!({"IntervalSeconds": 5, "BackoffRate": 1.0, "MaxAttempts": 3});
        assert_eq!(delays(flat, 3), vec![Some(5000); 3]);
    }

    #[test]
    fn huge_backoff_is_bounded() {
        let r = retrier(
            json!({"IntervalSeconds": 99999999, "BackoffRate": 99.0, "MaxAttempts": 99999999}),
        );
        let mut entropy = Entropy::new(1);
        let delay = retry_delay_ms(&r, 99_999_999, &mut entropy);
        assert_eq!(delay, Some(366 * 24 * 3600 * 1000));
    }

    #[test]
    fn full_jitter_stays_within_the_capped_delay() {
        let r = retrier(
            json!({"IntervalSeconds": 1, "MaxAttempts": 10, "MaxDelaySeconds": 5,
                       "JitterStrategy": "FULL"}),
        );
        let mut entropy = Entropy::new(42);
        let mut seen_distinct = std::collections::BTreeSet::new();
        for _ in 0..200 {
            for attempt in 1..=10 {
                let cap = (1000u64 << (attempt - 1)).min(5000);
                let delay = retry_delay_ms(&r, attempt, &mut entropy);
                assert!(delay.is_some_and(|d| d <= cap), "{attempt}: {delay:?}");
                seen_distinct.insert(delay);
            }
        }
        assert!(seen_distinct.len() > 100, "jitter should vary");
        // Same seed, same delays: a replayed step is deterministic.
        let (mut a, mut b) = (Entropy::new(9), Entropy::new(9));
        assert_eq!(retry_delay_ms(&r, 3, &mut a), retry_delay_ms(&r, 3, &mut b));
        // NONE (or no strategy) is exact and draws nothing.
        let none = retrier(json!({"JitterStrategy": "NONE"}));
        let mut entropy = Entropy::new(5);
        assert_eq!(retry_delay_ms(&none, 2, &mut entropy), Some(2000));
        assert_eq!(entropy.next_u64(), Entropy::new(5).next_u64());
    }
}
