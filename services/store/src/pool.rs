//! Connecting to PostgreSQL.

use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::Error;

/// How to reach the database. Built by the binary from its settings.
#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    /// A `postgres://` URL.
    pub url: String,
    /// Pool size. Throughput on PostgreSQL peaks near 2–4 connections per database core,
    /// so small pools are the right default.
    pub max_connections: u32,
    /// How long a request waits for a free connection before failing.
    pub acquire_timeout: Duration,
}

/// Opens a pool. Connections are made lazily, so this fails only on a malformed URL.
pub fn connect(settings: &DatabaseSettings) -> Result<PgPool, Error> {
    let options: PgConnectOptions = settings.url.parse().map_err(Error::Database)?;
    Ok(PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(settings.acquire_timeout)
        .connect_lazy_with(options))
}
