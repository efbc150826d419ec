//! switchback-store: everything Switchback keeps in PostgreSQL, and the only crate that writes SQL.
//!
//! Module map:
//! - [`pool`] — connecting, pool sizing, and the database settings.
//! - [`migrate`] — the embedded refinery migrations, run under an advisory lock, and the schema check
//!   that API and scheduler nodes make before they serve.
//! - [`meta`] — server-wide values kept in the database (the page-token signing key).
//! - [`admin`] — creating databases (the dev cluster, the test template).
//! - [`activities`] — activity rows.
//! - [`state_machines`] — state machine rows and their create-or-return-existing rule.
//! - [`executions`] — executions as the API sees them: start, describe, list, signal, history pages.
//! - [`starts`] — StartExecution calls recorded in batches: one INSERT and one commit for all waiting.
//! - [`engine`] — what schedulers do: claim due executions, take signals, write steps in one transaction.
//! - [`notify`] — LISTEN/NOTIFY channels and a listener; notifications are hints, never the truth.
//! - [`signals`] — the intents recorded for schedulers (stops, task results), as the interpreter's `Event`.
//! - [`versions`] — versions and aliases of state machines, UpdateStateMachine, and which definition a start runs.
//! - [`tags`] — tags of state machines and activities: read, and changed under a row lock.
//! - [`tasks`] — activity tasks as workers see them: take, report a result, heartbeat.
//! - [`map_runs`] — Distributed Map runs: recorded by the parent's step, driven by schedulers (children in batches, ends folded in), described and updated by the API.
//! - [`calls`] — integration calls (Lambda, HTTP, nested executions) made under a lease, their results recorded once.
//! - [`console`] — the web console's reads: lists across a scope, keyset-paged, and their counts.
//! - [`retention`] — deleting executions that ended long ago, in small batches.
//! - [`text`] — strings a user controls (errors, causes, worker names) kept losslessly: NUL included.
//! - [`error`] — the store's error enum; SQLSTATEs become domain errors here.
//!
//! Every function takes a `&PgPool` (or a connection) and runs static SQL with runtime-checked
//! `query_as`; every query is exercised by the end-to-end tests against a real PostgreSQL.

pub mod activities;
pub mod admin;
pub mod calls;
pub mod console;
pub mod engine;
pub mod error;
pub mod executions;
pub mod map_runs;
pub mod meta;
pub mod migrate;
pub mod notify;
pub mod pool;
pub mod retention;
pub mod signals;
pub mod starts;
pub mod state_machines;
pub mod tags;
pub mod tasks;
pub mod text;
pub mod versions;

pub use error::Error;
pub use pool::{DatabaseSettings, connect};
pub use sqlx::PgPool;

/// A transaction on the pool, for callers that combine store functions in one commit.
pub type Transaction = sqlx::Transaction<'static, sqlx::Postgres>;

/// A savepoint inside a [`Transaction`]: committing it keeps its work for the transaction's
/// commit, rolling it back undoes its work alone.
pub type Savepoint<'t> = sqlx::Transaction<'t, sqlx::Postgres>;

/// Opens a savepoint in `tx`.
pub async fn savepoint(tx: &mut Transaction) -> Result<Savepoint<'_>, Error> {
    Ok(sqlx::Acquire::begin(&mut **tx).await?)
}

/// Which account and region a resource belongs to. Every list is scoped by it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub account: String,
    pub region: String,
}

impl Scope {
    /// Whether the ARN names a resource of this account and region: anything else is, for a
    /// caller in this scope, a resource that does not exist.
    pub fn holds(&self, arn: &switchback_asl::arn::Arn) -> bool {
        arn.account == self.account && arn.region == self.region
    }
}
