//! State machines: a named, typed definition that executions run.

use serde_json::Value;
use sqlx::PgPool;
use sqlx::types::Json;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{Error, Scope};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StateMachine {
    /// Keyset pagination position.
    pub seq: i64,
    pub arn: String,
    pub name: String,
    /// `STANDARD` or `EXPRESS`.
    #[sqlx(rename = "type")]
    pub machine_type: String,
    /// `ACTIVE` or `DELETING`.
    pub status: String,
    pub definition: String,
    pub role_arn: String,
    pub logging_configuration: Json<Value>,
    pub tracing_configuration: Json<Value>,
    pub encryption_configuration: Option<Json<Value>>,
    pub revision_id: Option<Uuid>,
    pub created_at: OffsetDateTime,
    /// Set by UpdateStateMachine.
    pub updated_at: Option<OffsetDateTime>,
}

/// What CreateStateMachine asks for, with defaults already filled in.
#[derive(Debug, Clone)]
pub struct NewStateMachine {
    pub scope: Scope,
    pub name: String,
    pub arn: String,
    pub machine_type: String,
    pub definition: String,
    pub role_arn: String,
    pub logging_configuration: Value,
    pub tracing_configuration: Value,
    pub encryption_configuration: Option<Value>,
    pub tags: Value,
}

impl NewStateMachine {
    /// AWS's idempotency rule: a second create with the same name succeeds, returning the
    /// existing machine, only when everything but the role and the tags is the same.
    fn same_as(&self, existing: &StateMachine) -> bool {
        self.definition == existing.definition
            && self.machine_type == existing.machine_type
            && self.logging_configuration == existing.logging_configuration.0
            && self.tracing_configuration == existing.tracing_configuration.0
            && self.encryption_configuration.as_ref()
                == existing.encryption_configuration.as_ref().map(|c| &c.0)
    }
}

const INSERT: &str = "
    INSERT INTO state_machines (arn, account, region, name, type, definition, role_arn,
        logging_configuration, tracing_configuration, encryption_configuration, tags,
        created_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, date_trunc('milliseconds', now()))
    ON CONFLICT (arn) DO NOTHING
    RETURNING seq, arn, name, type, status, definition, role_arn, logging_configuration,
        tracing_configuration, encryption_configuration, revision_id, created_at, updated_at";

const SELECT_BY_ARN: &str = "
    SELECT seq, arn, name, type, status, definition, role_arn, logging_configuration,
        tracing_configuration, encryption_configuration, revision_id, created_at, updated_at
    FROM state_machines WHERE arn = $1";

const TYPE_BY_ARN: &str = "SELECT type FROM state_machines WHERE arn = $1";

const LOCK_BY_ARN: &str = "SELECT 1 FROM state_machines WHERE arn = $1 FOR UPDATE";
const HAS_RUNNING: &str =
    "SELECT EXISTS (SELECT 1 FROM executions WHERE state_machine_arn = $1 AND status = 'RUNNING')";
const MARK_DELETING: &str = "UPDATE state_machines SET status = 'DELETING' WHERE arn = $1";
const DELETE_BY_ARN: &str = "DELETE FROM state_machines WHERE arn = $1";

const LIST_PAGE: &str = "
    SELECT seq, arn, name, type, status, definition, role_arn, logging_configuration,
        tracing_configuration, encryption_configuration, revision_id, created_at, updated_at
    FROM state_machines
    WHERE account = $1 AND region = $2 AND seq > $3
    ORDER BY seq
    LIMIT $4";

/// The result of CreateStateMachine.
#[derive(Debug)]
pub enum Created {
    New(StateMachine),
    /// The same machine was created before: AWS answers with the original.
    Existing(StateMachine),
    /// A machine of that name exists with another definition or configuration.
    Conflict(StateMachine),
    /// A machine of that name is being deleted.
    Deleting(StateMachine),
}

pub async fn create(pool: &PgPool, new: &NewStateMachine) -> Result<Created, Error> {
    // See activities::create for why a second round may be needed.
    for _ in 0..2 {
        let inserted: Option<StateMachine> = sqlx::query_as(INSERT)
            .bind(&new.arn)
            .bind(&new.scope.account)
            .bind(&new.scope.region)
            .bind(&new.name)
            .bind(&new.machine_type)
            .bind(&new.definition)
            .bind(&new.role_arn)
            .bind(Json(&new.logging_configuration))
            .bind(Json(&new.tracing_configuration))
            .bind(new.encryption_configuration.as_ref().map(Json))
            .bind(Json(&new.tags))
            .fetch_optional(pool)
            .await?;
        if let Some(machine) = inserted {
            return Ok(Created::New(machine));
        }
        if let Some(existing) = describe(pool, &new.arn).await? {
            return Ok(if existing.status == "DELETING" {
                Created::Deleting(existing)
            } else if new.same_as(&existing) {
                Created::Existing(existing)
            } else {
                Created::Conflict(existing)
            });
        }
    }
    Err(Error::Retryable)
}

pub async fn describe(pool: &PgPool, arn: &str) -> Result<Option<StateMachine>, Error> {
    Ok(sqlx::query_as(SELECT_BY_ARN)
        .bind(arn)
        .fetch_optional(pool)
        .await?)
}

/// The machine's type (`STANDARD` or `EXPRESS`), without reading its definition.
pub async fn machine_type(pool: &PgPool, arn: &str) -> Result<Option<String>, Error> {
    Ok(sqlx::query_scalar(TYPE_BY_ARN)
        .bind(arn)
        .fetch_optional(pool)
        .await?)
}

/// Deletes the state machine, or, while executions of it run, marks it DELETING: the last of
/// them to end deletes it (see `engine::apply`). Deleting one that does not exist is not an
/// error (as in AWS).
pub async fn delete(pool: &PgPool, arn: &str) -> Result<(), Error> {
    let mut tx = pool.begin().await?;
    // The row lock orders this delete against StartExecution, which holds a share lock.
    if sqlx::query(LOCK_BY_ARN)
        .bind(arn)
        .fetch_optional(&mut *tx)
        .await?
        .is_none()
    {
        return Ok(());
    }
    let (running,): (bool,) = sqlx::query_as(HAS_RUNNING)
        .bind(arn)
        .fetch_one(&mut *tx)
        .await?;
    let statement = if running {
        MARK_DELETING
    } else {
        DELETE_BY_ARN
    };
    sqlx::query(statement).bind(arn).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(())
}

/// One page of the scope's state machines in creation order, starting after position `after`.
pub async fn list(
    pool: &PgPool,
    scope: &Scope,
    after: i64,
    limit: i64,
) -> Result<Vec<StateMachine>, Error> {
    Ok(sqlx::query_as(LIST_PAGE)
        .bind(&scope.account)
        .bind(&scope.region)
        .bind(after)
        .bind(limit)
        .fetch_all(pool)
        .await?)
}
