//! switchback-scheduler: the only place that advances executions.
//!
//! Module map:
//! - this file: the scheduler's settings and its run loop.
//!
//! The scheduler meets the API only in the database (rows plus NOTIFY); it never imports the
//! API crate. Executions, and so the claim loop that drives them, arrive with the execution
//! engine; until then a scheduler node checks its database and holds no work.

use std::future::Future;

use switchback_store::PgPool;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Store(#[from] switchback_store::Error),
}

/// Runs the scheduler until `shutdown` completes.
pub async fn run(pool: PgPool, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
    switchback_store::migrate::check_current(&pool).await?;
    tracing::info!("scheduler started");
    shutdown.await;
    tracing::info!("scheduler stopped");
    Ok(())
}
