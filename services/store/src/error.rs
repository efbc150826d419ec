//! The store's error type. Callers see domain outcomes (already exists, not found) as return
//! values of the repository functions; this enum holds what remains: the database failing,
//! conflicts worth retrying, and schema problems.

/// SQLSTATE for a unique-constraint violation.
const UNIQUE_VIOLATION: &str = "23505";
/// SQLSTATEs for serialization failures and deadlocks: the transaction may simply be retried.
const SERIALIZATION_FAILURE: &str = "40001";
const DEADLOCK_DETECTED: &str = "40P01";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Two writers raced on a unique key; the caller re-reads and decides.
    #[error("a concurrent write took the same key")]
    UniqueViolation,
    /// The transaction lost a serialization race or a deadlock; it can be retried as a whole.
    #[error("the transaction conflicted with another and can be retried")]
    Retryable,
    #[error("database error: {0}")]
    Database(sqlx::Error),
    #[error("migration failed: {0}")]
    Migration(String),
    #[error(
        "the database schema is at version {current} but this build needs {expected}: run `switchback migrate` first"
    )]
    SchemaBehind { current: i64, expected: i64 },
    #[error(
        "the database schema is at version {current}, newer than this build knows ({expected}): upgrade switchback"
    )]
    SchemaAhead { current: i64, expected: i64 },
    #[error("server metadata is missing: {0}")]
    MissingMeta(&'static str),
}

impl From<sqlx::Error> for Error {
    fn from(error: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &error {
            match db.code().as_deref() {
                Some(UNIQUE_VIOLATION) => return Error::UniqueViolation,
                Some(SERIALIZATION_FAILURE) | Some(DEADLOCK_DETECTED) => return Error::Retryable,
                _ => {}
            }
        }
        Error::Database(error)
    }
}
