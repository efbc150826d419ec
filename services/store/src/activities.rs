//! Activities: named queues that activity workers poll for tasks.

use serde_json::Value;
use sqlx::PgPool;
use sqlx::types::Json;
use time::OffsetDateTime;

use crate::{Error, Scope};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Activity {
    /// Keyset pagination position.
    pub seq: i64,
    pub arn: String,
    pub name: String,
    pub created_at: OffsetDateTime,
    pub encryption_configuration: Option<Json<Value>>,
}

/// What CreateActivity asks for.
#[derive(Debug, Clone)]
pub struct NewActivity {
    pub scope: Scope,
    pub name: String,
    pub arn: String,
    pub tags: Value,
    pub encryption_configuration: Option<Value>,
}

// Timestamps are cut to whole milliseconds when written, so that what a client is told at
// creation is what every later read returns (the wire format carries milliseconds).
const INSERT: &str = "
    INSERT INTO activities (arn, account, region, name, tags, encryption_configuration, created_at)
    VALUES ($1, $2, $3, $4, $5, $6, date_trunc('milliseconds', now()))
    ON CONFLICT (arn) DO NOTHING
    RETURNING seq, arn, name, created_at, encryption_configuration";

const SELECT_BY_ARN: &str = "
    SELECT seq, arn, name, created_at, encryption_configuration
    FROM activities WHERE arn = $1";

const DELETE_BY_ARN: &str = "DELETE FROM activities WHERE arn = $1";

const LIST_PAGE: &str = "
    SELECT seq, arn, name, created_at, encryption_configuration
    FROM activities
    WHERE account = $1 AND region = $2 AND seq > $3
    ORDER BY seq
    LIMIT $4";

/// Whether `create` made a new row or found one with that name.
#[derive(Debug)]
pub enum Created {
    New(Activity),
    Existing(Activity),
}

/// Creates the activity, or returns the one that already has this ARN: CreateActivity is
/// idempotent on the name.
pub async fn create(pool: &PgPool, new: &NewActivity) -> Result<Created, Error> {
    // A concurrent delete can remove the row between the failed insert and the read; one more
    // round settles it.
    for _ in 0..2 {
        let inserted: Option<Activity> = sqlx::query_as(INSERT)
            .bind(&new.arn)
            .bind(&new.scope.account)
            .bind(&new.scope.region)
            .bind(&new.name)
            .bind(Json(&new.tags))
            .bind(new.encryption_configuration.as_ref().map(Json))
            .fetch_optional(pool)
            .await?;
        if let Some(activity) = inserted {
            return Ok(Created::New(activity));
        }
        if let Some(existing) = describe(pool, &new.arn).await? {
            return Ok(Created::Existing(existing));
        }
    }
    Err(Error::Retryable)
}

pub async fn describe(pool: &PgPool, arn: &str) -> Result<Option<Activity>, Error> {
    Ok(sqlx::query_as(SELECT_BY_ARN)
        .bind(arn)
        .fetch_optional(pool)
        .await?)
}

/// Deletes the activity. Deleting one that does not exist is not an error (as in AWS).
pub async fn delete(pool: &PgPool, arn: &str) -> Result<(), Error> {
    sqlx::query(DELETE_BY_ARN).bind(arn).execute(pool).await?;
    Ok(())
}

/// One page of the scope's activities in creation order, starting after position `after`.
pub async fn list(
    pool: &PgPool,
    scope: &Scope,
    after: i64,
    limit: i64,
) -> Result<Vec<Activity>, Error> {
    Ok(sqlx::query_as(LIST_PAGE)
        .bind(&scope.account)
        .bind(&scope.region)
        .bind(after)
        .bind(limit)
        .fetch_all(pool)
        .await?)
}
