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

/// SQLSTATE classes of a statement whose data the database refused: data exceptions (a NUL
/// character, a malformed value), integrity violations, program limits (a value too large).
const REFUSED_DATA_CLASSES: [&str; 3] = ["22", "23", "54"];

impl Error {
    /// The database refused what a statement carried, as opposed to failing itself: the same
    /// write will be refused again however often it is retried.
    pub fn is_refused_data(&self) -> bool {
        match self {
            Error::UniqueViolation => true,
            Error::Database(sqlx::Error::Database(db)) => db
                .code()
                .is_some_and(|code| REFUSED_DATA_CLASSES.iter().any(|c| code.starts_with(c))),
            Error::Database(sqlx::Error::Encode(_)) => true,
            _ => false,
        }
    }
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
