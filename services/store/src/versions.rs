//! Versions and aliases of state machines, UpdateStateMachine, and which definition a start
//! runs (`resolve`).
//!
//! A version is a frozen copy of the machine's definition and configuration, numbered from 1
//! per machine and never renumbered. Publishing is idempotent: while the machine has not
//! changed since its latest version (same revision), publishing again answers that version.
//! An alias routes starts to one or two versions by weight.

use serde_json::Value;
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool, Row};
use switchback_asl::start::{Refusal, Start};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::Error;

/// A published version.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Version {
    pub seq: i64,
    pub arn: String,
    pub machine_arn: String,
    pub version: i64,
    pub definition: String,
    pub role_arn: String,
    pub logging_configuration: Json<Value>,
    pub tracing_configuration: Json<Value>,
    pub encryption_configuration: Option<Json<Value>>,
    pub revision_id: Option<Uuid>,
    pub description: Option<String>,
    pub created_at: OffsetDateTime,
}

/// An alias.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Alias {
    pub seq: i64,
    pub arn: String,
    pub machine_arn: String,
    pub name: String,
    pub description: Option<String>,
    /// `[{"stateMachineVersionArn": …, "weight": …}]`.
    pub routing: Json<Value>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// What a start runs besides the machine: a version, and the alias that chose it.
#[derive(Debug, Clone, Default)]
pub struct Target {
    pub version_arn: Option<String>,
    pub alias_arn: Option<String>,
}

/// What UpdateStateMachine changes (`None`: kept).
#[derive(Debug, Clone, Default)]
pub struct Changes {
    pub definition: Option<String>,
    pub role_arn: Option<String>,
    pub logging_configuration: Option<Value>,
    pub tracing_configuration: Option<Value>,
    pub encryption_configuration: Option<Value>,
}

/// What UpdateStateMachine did.
#[derive(Debug)]
pub struct Updated {
    pub revision_id: Option<Uuid>,
    pub updated_at: OffsetDateTime,
    pub version: Option<Version>,
}

/// PublishStateMachineVersion's outcome.
#[derive(Debug)]
pub enum Published {
    Version(Box<Version>),
    MachineMissing,
    /// The caller's `revisionId` is not the machine's current one.
    RevisionConflict {
        current: Option<Uuid>,
    },
}

const LOCK_MACHINE: &str = "
    SELECT arn, definition, role_arn, logging_configuration, tracing_configuration,
        encryption_configuration, revision_id, last_version
    FROM state_machines WHERE arn = $1 AND status = 'ACTIVE' FOR UPDATE";
const UPDATE_MACHINE: &str = "
    UPDATE state_machines SET definition = $2, role_arn = $3, logging_configuration = $4,
        tracing_configuration = $5, encryption_configuration = $6, revision_id = $7,
        updated_at = date_trunc('milliseconds', now())
    WHERE arn = $1
    RETURNING updated_at";
const LATEST_VERSION: &str = "
    SELECT seq, arn, machine_arn, version, definition, role_arn, logging_configuration,
        tracing_configuration, encryption_configuration, revision_id, description, created_at
    FROM state_machine_versions WHERE machine_arn = $1 ORDER BY version DESC LIMIT 1";
const INSERT_VERSION: &str = "
    WITH numbered AS (
        UPDATE state_machines SET last_version = last_version + 1 WHERE arn = $1
        RETURNING arn, last_version, definition, role_arn, logging_configuration,
            tracing_configuration, encryption_configuration, revision_id
    )
    INSERT INTO state_machine_versions (arn, machine_arn, version, definition, role_arn,
        logging_configuration, tracing_configuration, encryption_configuration, revision_id,
        description, created_at)
    SELECT arn || ':' || last_version, arn, last_version, definition, role_arn,
        logging_configuration, tracing_configuration, encryption_configuration, revision_id, $2,
        date_trunc('milliseconds', now())
    FROM numbered
    RETURNING seq, arn, machine_arn, version, definition, role_arn, logging_configuration,
        tracing_configuration, encryption_configuration, revision_id, description, created_at";
const SELECT_VERSION: &str = "
    SELECT seq, arn, machine_arn, version, definition, role_arn, logging_configuration,
        tracing_configuration, encryption_configuration, revision_id, description, created_at
    FROM state_machine_versions WHERE arn = $1";
const LIST_VERSIONS: &str = "
    SELECT seq, arn, machine_arn, version, definition, role_arn, logging_configuration,
        tracing_configuration, encryption_configuration, revision_id, description, created_at
    FROM state_machine_versions WHERE machine_arn = $1 AND version < $2
    ORDER BY version DESC LIMIT $3";
const ALIASES_ROUTING_TO: &str =
    "SELECT name FROM state_machine_aliases WHERE routing @> $1 ORDER BY seq";
const DELETE_VERSION: &str = "DELETE FROM state_machine_versions WHERE arn = $1";

/// UpdateStateMachine: applies `changes` (a new revision when anything differs), then
/// publishes a version when `publish` holds its description. `None`: no such machine.
pub async fn update(
    pool: &PgPool,
    machine_arn: &str,
    changes: Changes,
    publish: Option<Option<String>>,
) -> Result<Option<Updated>, Error> {
    let mut tx = pool.begin().await?;
    let Some(row) = sqlx::query(LOCK_MACHINE)
        .bind(machine_arn)
        .fetch_optional(&mut *tx)
        .await?
    else {
        return Ok(None);
    };
    let definition: String = row.try_get("definition")?;
    let role_arn: String = row.try_get("role_arn")?;
    let logging: Json<Value> = row.try_get("logging_configuration")?;
    let tracing: Json<Value> = row.try_get("tracing_configuration")?;
    let encryption: Option<Json<Value>> = row.try_get("encryption_configuration")?;
    let revision: Option<Uuid> = row.try_get("revision_id")?;
    let gave_definition = changes.definition.is_some();
    let new_definition = changes.definition.unwrap_or_else(|| definition.clone());
    let new_role = changes.role_arn.unwrap_or_else(|| role_arn.clone());
    let new_logging = changes
        .logging_configuration
        .unwrap_or_else(|| logging.0.clone());
    let new_tracing = changes
        .tracing_configuration
        .unwrap_or_else(|| tracing.0.clone());
    let new_encryption = changes
        .encryption_configuration
        .or_else(|| encryption.as_ref().map(|e| e.0.clone()));
    // AWS's rule, as recorded: an update that gives a definition makes a new revision only
    // when something differs; one without a definition always makes one.
    let differs = new_definition != definition
        || new_role != role_arn
        || new_logging != logging.0
        || new_tracing != tracing.0
        || new_encryption.as_ref() != encryption.as_ref().map(|e| &e.0);
    let changed = !gave_definition || differs;
    let revision_id = if changed {
        Some(Uuid::new_v4())
    } else {
        revision
    };
    let (updated_at,): (OffsetDateTime,) = sqlx::query_as(UPDATE_MACHINE)
        .bind(machine_arn)
        .bind(&new_definition)
        .bind(&new_role)
        .bind(Json(&new_logging))
        .bind(Json(&new_tracing))
        .bind(new_encryption.as_ref().map(Json))
        .bind(revision_id)
        .fetch_one(&mut *tx)
        .await?;
    let version = match publish {
        Some(description) => {
            Some(publish_in(&mut tx, machine_arn, revision_id, description).await?)
        }
        None => None,
    };
    tx.commit().await?;
    Ok(Some(Updated {
        revision_id,
        updated_at,
        version,
    }))
}

/// The latest version when it was published from `revision`, else a new one.
async fn publish_in(
    tx: &mut PgConnection,
    machine_arn: &str,
    revision: Option<Uuid>,
    description: Option<String>,
) -> Result<Version, Error> {
    let latest: Option<Version> = sqlx::query_as(LATEST_VERSION)
        .bind(machine_arn)
        .fetch_optional(&mut *tx)
        .await?;
    if let Some(latest) = latest
        && latest.revision_id == revision
    {
        return Ok(latest);
    }
    Ok(sqlx::query_as(INSERT_VERSION)
        .bind(machine_arn)
        .bind(description)
        .fetch_one(&mut *tx)
        .await?)
}

/// A revision as the API names it: `INITIAL` before the first update (AWS's word).
pub fn revision_text(revision: Option<Uuid>) -> String {
    revision.map_or_else(|| "INITIAL".to_owned(), |r| r.to_string())
}

/// PublishStateMachineVersion (and CreateStateMachine with `publish`).
pub async fn publish(
    pool: &PgPool,
    machine_arn: &str,
    expected_revision: Option<&str>,
    description: Option<String>,
) -> Result<Published, Error> {
    let mut tx = pool.begin().await?;
    let Some(row) = sqlx::query(LOCK_MACHINE)
        .bind(machine_arn)
        .fetch_optional(&mut *tx)
        .await?
    else {
        return Ok(Published::MachineMissing);
    };
    let revision: Option<Uuid> = row.try_get("revision_id")?;
    if let Some(expected) = expected_revision {
        let current = revision_text(revision);
        if expected != current {
            return Ok(Published::RevisionConflict { current: revision });
        }
    }
    let version = publish_in(&mut tx, machine_arn, revision, description).await?;
    tx.commit().await?;
    Ok(Published::Version(Box::new(version)))
}

pub async fn describe_version(pool: &PgPool, arn: &str) -> Result<Option<Version>, Error> {
    Ok(sqlx::query_as(SELECT_VERSION)
        .bind(arn)
        .fetch_optional(pool)
        .await?)
}

/// A page of the machine's versions, newest first, below version number `below`.
pub async fn list_versions(
    pool: &PgPool,
    machine_arn: &str,
    below: i64,
    limit: i64,
) -> Result<Vec<Version>, Error> {
    Ok(sqlx::query_as(LIST_VERSIONS)
        .bind(machine_arn)
        .bind(below)
        .bind(limit)
        .fetch_all(pool)
        .await?)
}

/// DeleteStateMachineVersion's outcome.
#[derive(Debug)]
pub enum VersionDeleted {
    /// Deleted, or there was no such version (not an error, as in AWS).
    Deleted,
    /// Aliases route to it (their names): AWS refuses.
    Routed(Vec<String>),
}

/// Deletes a version unless an alias routes to it. The version's row is locked first: an
/// alias being created or updated to route to it holds it shared until it commits.
pub async fn delete_version(pool: &PgPool, arn: &str) -> Result<VersionDeleted, Error> {
    let mut tx = pool.begin().await?;
    sqlx::query(LOCK_VERSION)
        .bind(arn)
        .execute(&mut *tx)
        .await?;
    let aliases: Vec<String> = sqlx::query_scalar(ALIASES_ROUTING_TO)
        .bind(routed_to(arn))
        .fetch_all(&mut *tx)
        .await?;
    if !aliases.is_empty() {
        return Ok(VersionDeleted::Routed(aliases));
    }
    sqlx::query(DELETE_VERSION)
        .bind(arn)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(VersionDeleted::Deleted)
}

const INSERT_ALIAS: &str = "
    INSERT INTO state_machine_aliases (arn, machine_arn, name, description, routing, created_at,
        updated_at)
    VALUES ($1, $2, $3, $4, $5, date_trunc('milliseconds', now()), date_trunc('milliseconds', now()))
    ON CONFLICT (arn) DO NOTHING
    RETURNING seq, arn, machine_arn, name, description, routing, created_at, updated_at";
const SELECT_ALIAS: &str = "
    SELECT seq, arn, machine_arn, name, description, routing, created_at, updated_at
    FROM state_machine_aliases WHERE arn = $1";
const UPDATE_ALIAS: &str = "
    UPDATE state_machine_aliases SET description = COALESCE($2, description),
        routing = COALESCE($3, routing), updated_at = date_trunc('milliseconds', now())
    WHERE arn = $1
    RETURNING seq, arn, machine_arn, name, description, routing, created_at, updated_at";
const DELETE_ALIAS: &str = "DELETE FROM state_machine_aliases WHERE arn = $1";
const LIST_ALIASES: &str = "
    SELECT seq, arn, machine_arn, name, description, routing, created_at, updated_at
    FROM state_machine_aliases WHERE machine_arn = $1 AND seq > $2 ORDER BY seq LIMIT $3";
const LIST_ALIASES_ROUTING_TO: &str = "
    SELECT seq, arn, machine_arn, name, description, routing, created_at, updated_at
    FROM state_machine_aliases WHERE routing @> $1 AND seq > $2 ORDER BY seq LIMIT $3";
// Shared: a version an alias is about to route to is not deleted before the alias commits.
const LOCK_VERSIONS: &str = "SELECT arn FROM state_machine_versions WHERE arn = ANY($1) FOR SHARE";
const LOCK_VERSION: &str = "SELECT 1 FROM state_machine_versions WHERE arn = $1 FOR UPDATE";

/// CreateStateMachineAlias's outcome.
#[derive(Debug)]
pub enum AliasCreated {
    New(Alias),
    /// An alias of that name exists: the same routing and description answer it again.
    Existing(Alias),
    /// A version in the routing does not exist.
    VersionMissing,
}

/// Whether every one of `version_arns` exists, holding them until the transaction ends.
async fn lock_versions(tx: &mut PgConnection, version_arns: &[String]) -> Result<bool, Error> {
    let found: Vec<String> = sqlx::query_scalar(LOCK_VERSIONS)
        .bind(version_arns)
        .fetch_all(&mut *tx)
        .await?;
    Ok(version_arns.iter().all(|arn| found.contains(arn)))
}

pub async fn create_alias(
    pool: &PgPool,
    arn: &str,
    machine_arn: &str,
    name: &str,
    description: Option<&str>,
    routing: &Value,
    version_arns: &[String],
) -> Result<AliasCreated, Error> {
    let mut tx = pool.begin().await?;
    if !lock_versions(&mut tx, version_arns).await? {
        return Ok(AliasCreated::VersionMissing);
    }
    let inserted: Option<Alias> = sqlx::query_as(INSERT_ALIAS)
        .bind(arn)
        .bind(machine_arn)
        .bind(name)
        .bind(description)
        .bind(Json(routing))
        .fetch_optional(&mut *tx)
        .await?;
    tx.commit().await?;
    match inserted {
        Some(alias) => Ok(AliasCreated::New(alias)),
        None => match describe_alias(pool, arn).await? {
            Some(existing) => Ok(AliasCreated::Existing(existing)),
            None => Err(Error::Retryable),
        },
    }
}

pub async fn describe_alias(pool: &PgPool, arn: &str) -> Result<Option<Alias>, Error> {
    Ok(sqlx::query_as(SELECT_ALIAS)
        .bind(arn)
        .fetch_optional(pool)
        .await?)
}

/// UpdateStateMachineAlias's outcome.
#[derive(Debug)]
pub enum AliasUpdated {
    Updated(Box<Alias>),
    AliasMissing,
    /// A version in the new routing does not exist.
    VersionMissing,
}

pub async fn update_alias(
    pool: &PgPool,
    arn: &str,
    description: Option<&str>,
    routing: Option<&Value>,
    version_arns: &[String],
) -> Result<AliasUpdated, Error> {
    let mut tx = pool.begin().await?;
    if !lock_versions(&mut tx, version_arns).await? {
        return Ok(AliasUpdated::VersionMissing);
    }
    let updated: Option<Alias> = sqlx::query_as(UPDATE_ALIAS)
        .bind(arn)
        .bind(description)
        .bind(routing.map(Json))
        .fetch_optional(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(updated.map_or(AliasUpdated::AliasMissing, |alias| {
        AliasUpdated::Updated(Box::new(alias))
    }))
}

pub async fn delete_alias(pool: &PgPool, arn: &str) -> Result<(), Error> {
    sqlx::query(DELETE_ALIAS).bind(arn).execute(pool).await?;
    Ok(())
}

pub async fn list_aliases(
    pool: &PgPool,
    machine_arn: &str,
    after: i64,
    limit: i64,
) -> Result<Vec<Alias>, Error> {
    Ok(sqlx::query_as(LIST_ALIASES)
        .bind(machine_arn)
        .bind(after)
        .bind(limit)
        .fetch_all(pool)
        .await?)
}

/// A page of the aliases that route to version `version_arn`, oldest first.
pub async fn list_aliases_routing_to(
    pool: &PgPool,
    version_arn: &str,
    after: i64,
    limit: i64,
) -> Result<Vec<Alias>, Error> {
    Ok(sqlx::query_as(LIST_ALIASES_ROUTING_TO)
        .bind(routed_to(version_arn))
        .bind(after)
        .bind(limit)
        .fetch_all(pool)
        .await?)
}

/// A routing that contains `version_arn`, for `@>` (the JSON as `Route` serializes it).
fn routed_to(version_arn: &str) -> Json<Value> {
    Json(serde_json::json!([{ "stateMachineVersionArn": version_arn }]))
}

/// Which definition a start runs: for `…:name:N` that version, for `…:name:alias` a version
/// the alias's routing picks by weight, else the machine's current one. A qualifier naming
/// nothing is refused as a machine that does not exist (as AWS words it).
pub async fn resolve(pool: &PgPool, start: &Start) -> Result<Result<Target, Refusal>, Error> {
    let Some(qualifier) = &start.qualifier else {
        return Ok(Ok(Target::default()));
    };
    let missing = || Refusal::StateMachineDoesNotExist(start.machine_arn.clone());
    let qualified = format!("{}:{qualifier}", start.machine.text());
    if switchback_asl::arn::names_version(qualifier) {
        return Ok(match describe_version(pool, &qualified).await? {
            Some(version) => Ok(Target {
                version_arn: Some(version.arn),
                alias_arn: None,
            }),
            None => Err(missing()),
        });
    }
    let Some(alias) = describe_alias(pool, &qualified).await? else {
        return Ok(Err(missing()));
    };
    Ok(
        match pick(&alias.routing.0, Uuid::new_v4().as_u128() % 100) {
            Some(version_arn) => Ok(Target {
                version_arn: Some(version_arn),
                alias_arn: Some(alias.arn),
            }),
            None => Err(missing()),
        },
    )
}

/// The version a draw in `0..100` lands on, walking the routing's weights in order.
fn pick(routing: &Value, draw: u128) -> Option<String> {
    let mut below = 0u128;
    let entries = routing.as_array()?;
    for entry in entries {
        below += entry["weight"].as_u64().map_or(0, u128::from);
        if draw < below {
            return entry["stateMachineVersionArn"].as_str().map(str::to_owned);
        }
    }
    entries
        .last()
        .and_then(|entry| entry["stateMachineVersionArn"].as_str())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::pick;

    #[test]
    fn weights_split_the_draws() {
        let routing = json!([
            {"stateMachineVersionArn": "v1", "weight": 90},
            {"stateMachineVersionArn": "v2", "weight": 10}
        ]);
        let ones = (0..100)
            .filter(|d| pick(&routing, *d).as_deref() == Some("v1"))
            .count();
        assert_eq!(ones, 90);
        assert_eq!(pick(&routing, 99).as_deref(), Some("v2"));
    }
}
