//! The web console's reads: lists across a scope's state machines, paged by key (never by
//! offset), and the counts its pages show. Every list reads only the columns it shows.

use std::collections::HashMap;

use sqlx::PgPool;
use time::OffsetDateTime;

use crate::{Error, Scope};

/// An execution as a list shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ExecutionRow {
    /// Keyset position.
    pub seq: i64,
    pub arn: String,
    pub name: String,
    pub state_machine_arn: String,
    pub status: String,
    pub started_at: OffsetDateTime,
    pub stopped_at: Option<OffsetDateTime>,
}

/// Which executions a list holds.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExecutionFilter<'a> {
    pub status: Option<&'a str>,
    /// One state machine's executions only.
    pub state_machine_arn: Option<&'a str>,
    /// Names that begin with this.
    pub name_prefix: Option<&'a str>,
}

// Three shapes, so that each is served by its index: the scope's executions (optionally of one
// status) newest first; one machine's; and a name prefix (`text_pattern_ops`), whose matches
// are few enough to sort.
const EXECUTIONS_IN_SCOPE: &str = "
    SELECT seq, arn, name, state_machine_arn, status, started_at, stopped_at
    FROM executions
    WHERE account = $1 AND region = $2 AND seq < $3 AND ($4::text IS NULL OR status = $4)
    ORDER BY seq DESC
    LIMIT $5";
const EXECUTIONS_OF_MACHINE: &str = "
    SELECT seq, arn, name, state_machine_arn, status, started_at, stopped_at
    FROM executions
    WHERE state_machine_arn = $1 AND seq < $2 AND ($3::text IS NULL OR status = $3)
    ORDER BY seq DESC
    LIMIT $4";
const EXECUTIONS_BY_NAME: &str = "
    SELECT seq, arn, name, state_machine_arn, status, started_at, stopped_at
    FROM executions
    WHERE account = $1 AND region = $2 AND name LIKE $3 AND seq < $4
        AND ($5::text IS NULL OR status = $5) AND ($6::text IS NULL OR state_machine_arn = $6)
    ORDER BY seq DESC
    LIMIT $7";

/// One page of the scope's executions, newest first, before position `before` (`i64::MAX`
/// for the first page).
pub async fn executions(
    pool: &PgPool,
    scope: &Scope,
    filter: ExecutionFilter<'_>,
    before: i64,
    limit: i64,
) -> Result<Vec<ExecutionRow>, Error> {
    let rows = match (filter.name_prefix, filter.state_machine_arn) {
        (Some(prefix), machine) => {
            sqlx::query_as(EXECUTIONS_BY_NAME)
                .bind(&scope.account)
                .bind(&scope.region)
                .bind(format!("{}%", escape_like(prefix)))
                .bind(before)
                .bind(filter.status)
                .bind(machine)
                .bind(limit)
                .fetch_all(pool)
                .await?
        }
        (None, Some(machine)) => {
            sqlx::query_as(EXECUTIONS_OF_MACHINE)
                .bind(machine)
                .bind(before)
                .bind(filter.status)
                .bind(limit)
                .fetch_all(pool)
                .await?
        }
        (None, None) => {
            sqlx::query_as(EXECUTIONS_IN_SCOPE)
                .bind(&scope.account)
                .bind(&scope.region)
                .bind(before)
                .bind(filter.status)
                .bind(limit)
                .fetch_all(pool)
                .await?
        }
    };
    Ok(rows)
}

/// `LIKE` treats `%`, `_` and `\` specially; a name prefix means them literally.
fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

const RUNNING_COUNTS: &str = "
    SELECT state_machine_arn, count(*) FROM executions
    WHERE state_machine_arn = ANY($1) AND status = 'RUNNING'
    GROUP BY state_machine_arn";
const FAILED_COUNTS: &str = "
    SELECT state_machine_arn, count(*) FROM executions
    WHERE state_machine_arn = ANY($1) AND status = 'FAILED'
    GROUP BY state_machine_arn";

/// Running and failed executions of each machine (by ARN; machines with none are absent).
pub async fn execution_counts(
    pool: &PgPool,
    machine_arns: &[String],
) -> Result<HashMap<String, (i64, i64)>, Error> {
    let mut counts: HashMap<String, (i64, i64)> = HashMap::new();
    let running: Vec<(String, i64)> = sqlx::query_as(RUNNING_COUNTS)
        .bind(machine_arns)
        .fetch_all(pool)
        .await?;
    for (arn, count) in running {
        counts.entry(arn).or_default().0 = count;
    }
    let failed: Vec<(String, i64)> = sqlx::query_as(FAILED_COUNTS)
        .bind(machine_arns)
        .fetch_all(pool)
        .await?;
    for (arn, count) in failed {
        counts.entry(arn).or_default().1 = count;
    }
    Ok(counts)
}

const WAITING_TASKS: &str = "
    SELECT activity_arn, count(*) FROM tasks
    WHERE activity_arn = ANY($1) AND status = 'SCHEDULED'
    GROUP BY activity_arn";

/// Scheduled tasks no worker has taken yet, by activity ARN.
pub async fn waiting_tasks(
    pool: &PgPool,
    activity_arns: &[String],
) -> Result<HashMap<String, i64>, Error> {
    let rows: Vec<(String, i64)> = sqlx::query_as(WAITING_TASKS)
        .bind(activity_arns)
        .fetch_all(pool)
        .await?;
    Ok(rows.into_iter().collect())
}

const HISTORY_TEXTS: &str = "
    SELECT event FROM history_events WHERE execution_seq = $1 ORDER BY id LIMIT $2";

/// The execution's first `limit` events as stored (JSON text), for the graph's colours and
/// the timeline.
pub async fn history_texts(
    pool: &PgPool,
    execution_seq: i64,
    limit: i64,
) -> Result<Vec<String>, Error> {
    Ok(sqlx::query_scalar(HISTORY_TEXTS)
        .bind(execution_seq)
        .bind(limit)
        .fetch_all(pool)
        .await?)
}

#[cfg(test)]
mod tests {
    #[test]
    fn like_wildcards_in_a_prefix_are_literal() {
        assert_eq!(super::escape_like(r"a%b_c\d"), r"a\%b\_c\\d");
    }
}
