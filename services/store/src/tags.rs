//! Tags of state machines and activities: read, and changed under a row lock so that two
//! concurrent TagResource calls both land.

use serde_json::Value;
use sqlx::types::Json;
use sqlx::{PgPool, Row};

use crate::Error;

/// What can carry tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tagged {
    StateMachine,
    Activity,
}

const SELECT_MACHINE: &str = "SELECT tags FROM state_machines WHERE arn = $1 AND status = 'ACTIVE'";
const SELECT_ACTIVITY: &str = "SELECT tags FROM activities WHERE arn = $1";
const LOCK_MACHINE: &str =
    "SELECT tags FROM state_machines WHERE arn = $1 AND status = 'ACTIVE' FOR UPDATE";
const LOCK_ACTIVITY: &str = "SELECT tags FROM activities WHERE arn = $1 FOR UPDATE";
const UPDATE_MACHINE: &str = "UPDATE state_machines SET tags = $2 WHERE arn = $1";
const UPDATE_ACTIVITY: &str = "UPDATE activities SET tags = $2 WHERE arn = $1";

/// The resource's tags (a JSON list of `{key, value}`), `None` when it does not exist.
pub async fn list(pool: &PgPool, kind: Tagged, arn: &str) -> Result<Option<Value>, Error> {
    let sql = match kind {
        Tagged::StateMachine => SELECT_MACHINE,
        Tagged::Activity => SELECT_ACTIVITY,
    };
    let row = sqlx::query(sql).bind(arn).fetch_optional(pool).await?;
    Ok(match row {
        Some(row) => Some(row.try_get::<Json<Value>, _>("tags")?.0),
        None => None,
    })
}

/// Replaces the resource's tags by `change(current)`, in one transaction holding the row.
/// `Ok(false)` when the resource does not exist; `change`'s error leaves the tags as they were.
pub async fn change<E: From<Error>>(
    pool: &PgPool,
    kind: Tagged,
    arn: &str,
    change: impl FnOnce(Value) -> Result<Value, E>,
) -> Result<bool, E> {
    let (lock, update) = match kind {
        Tagged::StateMachine => (LOCK_MACHINE, UPDATE_MACHINE),
        Tagged::Activity => (LOCK_ACTIVITY, UPDATE_ACTIVITY),
    };
    let mut tx = pool.begin().await.map_err(Error::from)?;
    let Some(row) = sqlx::query(lock)
        .bind(arn)
        .fetch_optional(&mut *tx)
        .await
        .map_err(Error::from)?
    else {
        return Ok(false);
    };
    let current = row
        .try_get::<Json<Value>, _>("tags")
        .map_err(Error::from)?
        .0;
    let changed = change(current)?;
    sqlx::query(update)
        .bind(arn)
        .bind(Json(changed))
        .execute(&mut *tx)
        .await
        .map_err(Error::from)?;
    tx.commit().await.map_err(Error::from)?;
    Ok(true)
}
