//! Per-account throttling (`api.throttling`, off by default): as AWS does, each account has a
//! token bucket per region and operation; a call takes a token, the bucket refills at a fixed
//! rate up to its size, and a call that finds it empty is answered `ThrottlingException`
//! ("Rate exceeded"), which the SDKs retry with backoff. One tenant's burst then cannot starve
//! another's.
//!
//! The default quotas are AWS's published ones (service quotas, "API action throttling"), which
//! differ between AWS's three largest regions and the others; `api.throttling.quotas.<Operation>`
//! replaces one for every region. Operations AWS does not list are not throttled unless a quota
//! names them (StartSyncExecution among them: AWS counts synchronous Express calls against no
//! account quota). Buckets live in each API node's memory: with several nodes behind a load
//! balancer, an account may make each node's quota.
//!
//! A bucket is a few lines of arithmetic, so it is written here rather than taken from a rate
//! limiter crate: AWS's quotas are stated as exactly this (size, refill per second).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::Deserialize;
use switchback_store::Scope;

use crate::Error;

/// A token bucket's size and refill rate.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Quota {
    /// Calls that may be made at once after a quiet spell.
    pub bucket_size: u32,
    /// Tokens added per second, up to the size.
    pub refill_per_second: f64,
}

/// The bucket of StartExecution calls on EXPRESS state machines, which AWS sizes apart from
/// STANDARD ones.
pub const START_EXPRESS: &str = "StartExecutionExpress";

const fn quota(bucket_size: u32, refill_per_second: f64) -> Quota {
    Quota {
        bucket_size,
        refill_per_second,
    }
}

/// AWS's default quotas: (bucket, in us-east-1, us-west-2 and eu-west-1, elsewhere).
const AWS_DEFAULTS: [(&str, Quota, Quota); 24] = [
    ("StartExecution", quota(1300, 300.0), quota(800, 150.0)),
    (START_EXPRESS, quota(6000, 6000.0), quota(6000, 6000.0)),
    ("RedriveExecution", quota(1300, 300.0), quota(800, 150.0)),
    ("StopExecution", quota(1000, 200.0), quota(500, 25.0)),
    ("GetActivityTask", quota(3000, 500.0), quota(1500, 300.0)),
    ("SendTaskSuccess", quota(3000, 500.0), quota(1500, 300.0)),
    ("SendTaskFailure", quota(3000, 500.0), quota(1500, 300.0)),
    ("SendTaskHeartbeat", quota(3000, 500.0), quota(1500, 300.0)),
    ("DescribeExecution", quota(300, 15.0), quota(250, 10.0)),
    ("GetExecutionHistory", quota(400, 20.0), quota(400, 20.0)),
    ("ListExecutions", quota(200, 5.0), quota(100, 2.0)),
    ("ListActivities", quota(100, 10.0), quota(100, 5.0)),
    ("ListStateMachines", quota(100, 5.0), quota(100, 5.0)),
    ("DescribeStateMachine", quota(200, 20.0), quota(200, 20.0)),
    (
        "DescribeStateMachineForExecution",
        quota(200, 1.0),
        quota(200, 1.0),
    ),
    ("DescribeActivity", quota(200, 1.0), quota(200, 1.0)),
    ("CreateActivity", quota(100, 1.0), quota(100, 1.0)),
    ("CreateStateMachine", quota(100, 1.0), quota(100, 1.0)),
    ("DeleteActivity", quota(100, 1.0), quota(100, 1.0)),
    ("DeleteStateMachine", quota(100, 1.0), quota(100, 1.0)),
    ("UpdateStateMachine", quota(100, 1.0), quota(100, 1.0)),
    ("ListTagsForResource", quota(100, 1.0), quota(100, 1.0)),
    ("TagResource", quota(200, 1.0), quota(200, 1.0)),
    ("UntagResource", quota(200, 1.0), quota(200, 1.0)),
];

/// The regions with AWS's larger quotas.
const LARGE_REGIONS: [&str; 3] = ["us-east-1", "us-west-2", "eu-west-1"];

/// When this many buckets exist, the full ones (equivalent to none) are dropped, so that
/// callers naming many regions cannot grow the table without bound; at most once a second,
/// so that a table of buckets that are not full is not scanned on every call.
const SWEEP_AT: usize = 4096;
const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// Why a quota of the settings cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum QuotaError {
    #[error(
        "api.throttling.quotas.{0}: not an operation of the Step Functions API (or {START_EXPRESS})"
    )]
    UnknownOperation(String),
    #[error(
        "api.throttling.quotas.{0}: bucket_size must be at least 1 and refill_per_second more than 0"
    )]
    NeverAllows(String),
}

/// How many state machines' types are remembered for StartExecution's bucket.
const TYPES_KEPT: usize = 10_000;

/// The quotas in force and the buckets. Cheap to clone (shared).
#[derive(Clone)]
pub struct Throttle {
    overrides: Arc<HashMap<&'static str, Quota>>,
    buckets: Arc<Mutex<Buckets>>,
    /// Whether a state machine (by ARN) is EXPRESS, so that a start finds its bucket without
    /// reading the machine each time. A machine's type never changes; one deleted and created
    /// again with another type under the same ARN draws on the other bucket until the table
    /// is next emptied, which costs nothing but accuracy.
    express: Arc<Mutex<HashMap<String, bool>>>,
}

impl std::fmt::Debug for Throttle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Throttle")
            .field("overrides", &self.overrides)
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Buckets {
    by_key: HashMap<BucketKey, Bucket>,
    swept: Option<Instant>,
}

#[derive(PartialEq, Eq, Hash)]
struct BucketKey {
    account: String,
    region: String,
    name: &'static str,
}

struct Bucket {
    quota: Quota,
    tokens: f64,
    at: Instant,
}

impl Bucket {
    /// The tokens there are at `now`.
    fn level(&self, now: Instant) -> f64 {
        let refilled =
            now.saturating_duration_since(self.at).as_secs_f64() * self.quota.refill_per_second;
        (self.tokens + refilled).min(f64::from(self.quota.bucket_size))
    }
}

impl Throttle {
    /// AWS's default quotas, with `overrides` (by operation name, any case, or
    /// [`START_EXPRESS`]) in their place. Refuses names that are neither and quotas that
    /// would never let a call through.
    pub fn new(overrides: HashMap<String, Quota>) -> Result<Self, QuotaError> {
        let mut checked = HashMap::new();
        for (name, quota) in overrides {
            let Some(canonical) = bucket_name(&name) else {
                return Err(QuotaError::UnknownOperation(name));
            };
            let refill = quota.refill_per_second;
            if quota.bucket_size == 0 || !refill.is_finite() || refill <= 0.0 {
                return Err(QuotaError::NeverAllows(name));
            }
            checked.insert(canonical, quota);
        }
        Ok(Self {
            overrides: Arc::new(checked),
            buckets: Arc::default(),
            express: Arc::default(),
        })
    }

    /// The quota of bucket `name` in `region`, if it is throttled.
    fn quota(&self, region: &str, name: &str) -> Option<(&'static str, Quota)> {
        if let Some((&canonical, &quota)) = self.overrides.get_key_value(name) {
            return Some((canonical, quota));
        }
        let (canonical, large, other) = AWS_DEFAULTS.iter().find(|(known, ..)| *known == name)?;
        let quota = if LARGE_REGIONS.contains(&region) {
            *large
        } else {
            *other
        };
        Some((canonical, quota))
    }

    /// Takes a token from the scope's bucket `name` (an operation, or [`START_EXPRESS`]), or
    /// answers `ThrottlingException` when it is empty.
    pub fn take(&self, scope: &Scope, name: &str) -> Result<(), Error> {
        let Some((name, quota)) = self.quota(&scope.region, name) else {
            return Ok(());
        };
        let now = Instant::now();
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let due = buckets
            .swept
            .is_none_or(|at| now.saturating_duration_since(at) >= SWEEP_EVERY);
        if buckets.by_key.len() >= SWEEP_AT && due {
            buckets
                .by_key
                .retain(|_, bucket| bucket.level(now) < f64::from(bucket.quota.bucket_size));
            buckets.swept = Some(now);
        }
        let key = BucketKey {
            account: scope.account.clone(),
            region: scope.region.clone(),
            name,
        };
        let bucket = buckets.by_key.entry(key).or_insert(Bucket {
            quota,
            tokens: f64::from(quota.bucket_size),
            at: now,
        });
        let tokens = bucket.level(now);
        bucket.at = now;
        if tokens >= 1.0 {
            bucket.tokens = tokens - 1.0;
            Ok(())
        } else {
            bucket.tokens = tokens;
            Err(Error::Throttling)
        }
    }
}

impl Throttle {
    /// Whether the machine is EXPRESS, if known.
    pub fn known_express(&self, machine_arn: &str) -> Option<bool> {
        let types = self
            .express
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        types.get(machine_arn).copied()
    }

    /// Remembers the machine's type.
    pub fn remember_express(&self, machine_arn: &str, express: bool) {
        let mut types = self
            .express
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if types.len() >= TYPES_KEPT {
            types.clear();
        }
        types.insert(machine_arn.to_owned(), express);
    }
}

/// The canonical bucket name for a name given in the settings.
fn bucket_name(name: &str) -> Option<&'static str> {
    if name.eq_ignore_ascii_case(START_EXPRESS) {
        return Some(START_EXPRESS);
    }
    crate::operations::ALL_OPERATIONS
        .iter()
        .copied()
        .find(|known| known.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(account: &str, region: &str) -> Scope {
        Scope {
            account: account.to_owned(),
            region: region.to_owned(),
        }
    }

    #[test]
    fn an_empty_bucket_refuses_until_it_refills_and_accounts_are_apart() {
        let throttle = Throttle::new(HashMap::from([(
            "startexecution".to_owned(),
            quota(2, 1000.0),
        )]))
        .expect("valid");
        let alice = scope("111111111111", "us-east-1");
        assert!(throttle.take(&alice, "StartExecution").is_ok());
        assert!(throttle.take(&alice, "StartExecution").is_ok());
        assert!(matches!(
            throttle.take(&alice, "StartExecution"),
            Err(Error::Throttling)
        ));
        // Another account, and another region, have buckets of their own.
        assert!(
            throttle
                .take(&scope("222222222222", "us-east-1"), "StartExecution")
                .is_ok()
        );
        assert!(
            throttle
                .take(&scope("111111111111", "eu-west-2"), "StartExecution")
                .is_ok()
        );
        // 1,000 tokens a second: one is back within a few milliseconds.
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert!(throttle.take(&alice, "StartExecution").is_ok());
    }

    #[test]
    fn defaults_are_aws_quotas_by_region_and_unlisted_operations_pass() {
        let throttle = Throttle::new(HashMap::new()).expect("valid");
        assert_eq!(
            throttle.quota("us-east-1", "StopExecution"),
            Some(("StopExecution", quota(1000, 200.0)))
        );
        assert_eq!(
            throttle.quota("ap-south-1", "StopExecution"),
            Some(("StopExecution", quota(500, 25.0)))
        );
        assert_eq!(throttle.quota("us-east-1", "TestState"), None);
        let caller = scope("111111111111", "us-east-1");
        for _ in 0..10_000 {
            assert!(throttle.take(&caller, "ListStateMachineVersions").is_ok());
        }
    }

    #[test]
    fn unknown_names_and_useless_quotas_are_refused() {
        let refused = |name: &str, quota: Quota| {
            Throttle::new(HashMap::from([(name.to_owned(), quota)]))
                .expect_err("refused")
                .to_string()
        };
        assert!(refused("StartExecutions", quota(1, 1.0)).contains("not an operation"));
        assert!(refused("StartExecution", quota(0, 1.0)).contains("bucket_size"));
        assert!(refused("StartExecution", quota(1, 0.0)).contains("refill_per_second"));
        assert!(refused("StartExecution", quota(1, f64::NAN)).contains("refill_per_second"));
    }

    #[test]
    fn full_buckets_are_swept_when_the_table_is_large() {
        let throttle = Throttle::new(HashMap::from([(
            "StartExecution".to_owned(),
            quota(10, 1_000_000.0),
        )]))
        .expect("valid");
        let take_in = |region: usize| {
            let caller = scope("111111111111", &format!("xx-{region}-1"));
            throttle
                .take(&caller, "StartExecution")
                .expect("a full bucket");
        };
        (0..SWEEP_AT).for_each(take_in);
        // A million tokens a second: every bucket is full again a microsecond later, and a
        // full bucket is the same as none.
        std::thread::sleep(std::time::Duration::from_millis(2));
        (SWEEP_AT..SWEEP_AT + 3).for_each(take_in);
        let len = throttle
            .buckets
            .lock()
            .map(|b| b.by_key.len())
            .unwrap_or(usize::MAX);
        assert_eq!(len, 3);
    }
}
