//! Schema migrations: the SQL files in `migrations/`, embedded at build time and applied by
//! refinery over a tokio-postgres connection.
//!
//! refinery takes no lock of its own, so two nodes starting together would race. Every run holds
//! a PostgreSQL advisory lock for its whole duration; the second node waits, then finds nothing
//! left to do.

use sqlx::PgPool;

use crate::Error;

mod embedded {
    refinery::embed_migrations!("../../migrations");
}

/// Arbitrary but fixed: the advisory lock key every Switchback node uses for migrations.
const MIGRATION_LOCK_KEY: i64 = 0x5357_4954_4348_4241; // "SWITCHBA"

const TAKE_LOCK: &str = "SELECT pg_advisory_lock($1)";
const RELEASE_LOCK: &str = "SELECT pg_advisory_unlock($1)";
const CURRENT_VERSION: &str =
    "SELECT COALESCE(MAX(version), 0)::bigint FROM refinery_schema_history";
const HISTORY_EXISTS: &str = "SELECT to_regclass('refinery_schema_history') IS NOT NULL";

/// The newest migration version this build carries.
pub fn expected_version() -> i64 {
    embedded::migrations::runner()
        .get_migrations()
        .iter()
        .map(|m| i64::from(m.version()))
        .max()
        .unwrap_or(0)
}

/// Applies every pending migration. Safe to run from several processes at once.
/// Returns the versions applied by this call.
pub async fn run(url: &str) -> Result<Vec<i64>, Error> {
    let (mut client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .map_err(|e| Error::Migration(format!("cannot connect: {e}")))?;
    let driver = tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::warn!(%error, "migration connection ended with an error");
        }
    });

    let result = async {
        client
            .execute(TAKE_LOCK, &[&MIGRATION_LOCK_KEY])
            .await
            .map_err(|e| Error::Migration(format!("cannot take the migration lock: {e}")))?;
        let report = embedded::migrations::runner()
            .run_async(&mut client)
            .await
            .map_err(|e| Error::Migration(e.to_string()));
        // Unlock even when the run failed; the lock would otherwise live as long as the session.
        let unlock = client.execute(RELEASE_LOCK, &[&MIGRATION_LOCK_KEY]).await;
        let report = report?;
        unlock.map_err(|e| Error::Migration(format!("cannot release the migration lock: {e}")))?;
        Ok(report
            .applied_migrations()
            .iter()
            .map(|m| i64::from(m.version()))
            .collect())
    }
    .await;

    drop(client);
    let _ = driver.await;
    result
}

/// The version the database is at (0 when it was never migrated).
pub async fn current_version(pool: &PgPool) -> Result<i64, Error> {
    let (exists,): (bool,) = sqlx::query_as(HISTORY_EXISTS).fetch_one(pool).await?;
    if !exists {
        return Ok(0);
    }
    let (version,): (i64,) = sqlx::query_as(CURRENT_VERSION).fetch_one(pool).await?;
    Ok(version)
}

/// Fails unless the database schema is exactly the one this build was made for. API and
/// scheduler nodes call this at start-up instead of migrating, so that a rolling upgrade runs
/// migrations once, from a dedicated step.
pub async fn check_current(pool: &PgPool) -> Result<(), Error> {
    let current = current_version(pool).await?;
    let expected = expected_version();
    match current.cmp(&expected) {
        std::cmp::Ordering::Less => Err(Error::SchemaBehind { current, expected }),
        std::cmp::Ordering::Greater => Err(Error::SchemaAhead { current, expected }),
        std::cmp::Ordering::Equal => Ok(()),
    }
}
