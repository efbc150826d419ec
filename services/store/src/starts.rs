//! StartExecution calls that arrive together are recorded together: one multi-row INSERT and
//! one commit (one WAL flush) for all of them, instead of one each. A batch is whatever is
//! waiting when the previous one finished, so a lone call pays nothing extra.

use std::collections::HashMap;

use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};

use crate::Error;
use crate::executions::{self, Execution, NewExecution, Started};

/// At most this many executions per statement.
const MAX_BATCH: usize = 256;

type Request = (NewExecution, oneshot::Sender<Result<Started, Error>>);

/// A process's recorder of new executions. Cheap to clone.
#[derive(Clone)]
pub struct Starter {
    requests: mpsc::Sender<Request>,
    pool: PgPool,
}

impl Starter {
    /// Starts the recorder; it ends when every clone is dropped.
    pub fn start(pool: PgPool) -> Self {
        let (requests, queue) = mpsc::channel(4 * MAX_BATCH);
        tokio::spawn(run(pool.clone(), queue));
        Self { requests, pool }
    }

    /// Records one new execution, batched with any others waiting.
    pub async fn record(&self, new: NewExecution) -> Result<Started, Error> {
        let (reply, answer) = oneshot::channel();
        if let Err(mpsc::error::SendError((new, _))) = self.requests.send((new, reply)).await {
            return executions::start(&self.pool, &new).await;
        }
        match answer.await {
            Ok(result) => result,
            // The recorder went away mid-request (shutdown): the caller sees a retryable error.
            Err(_) => Err(Error::Retryable),
        }
    }
}

async fn run(pool: PgPool, mut queue: mpsc::Receiver<Request>) {
    while let Some(first) = queue.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(request) => batch.push(request),
                Err(_) => break,
            }
        }
        let news: Vec<&NewExecution> = batch.iter().map(|(new, _)| new).collect();
        let mut inserted: HashMap<String, Execution> = match insert(&pool, &news).await {
            Ok(rows) => rows.into_iter().map(|e| (e.arn.clone(), e)).collect(),
            Err(error) => {
                // Nothing of the batch was written: each call takes the single path, which
                // reports its own error if the database is the problem.
                tracing::debug!(%error, "batched start failed, recording one by one");
                HashMap::new()
            }
        };
        for (new, reply) in batch {
            let found = inserted
                .remove(&new.arn)
                .or_else(|| inserted.remove(&new.express_arn));
            match found {
                Some(execution) => {
                    let _ = reply.send(Ok(Started::New(execution)));
                }
                // Not inserted: the machine is missing or deleting, or the name is taken. The
                // single path tells which.
                None => {
                    let pool = pool.clone();
                    tokio::spawn(async move {
                        let _ = reply.send(executions::start(&pool, &new).await);
                    });
                }
            }
        }
    }
}

// As `executions::start`'s statement, for many rows: each row's machine is read and
// share-locked; rows whose machine is missing or deleting, or whose ARN is taken, are skipped.
const INSERT_MANY: &str = "
    INSERT INTO executions (arn, account, region, state_machine_arn, name, machine_type, definition,
        role_arn, input, trace_header, started_at, due_at)
    SELECT CASE WHEN sm.type = 'EXPRESS' THEN r.express_arn ELSE r.arn END, r.account, r.region,
        sm.arn, r.name, sm.type, sm.definition, sm.role_arn, r.input, r.trace_header,
        date_trunc('milliseconds', now()), now()
    FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                $7::text[], $8::text[])
        AS r(arn, express_arn, account, region, machine_arn, name, input, trace_header)
    JOIN state_machines sm ON sm.arn = r.machine_arn AND sm.status = 'ACTIVE'
    FOR SHARE OF sm
    ON CONFLICT (arn) DO NOTHING
    RETURNING seq, arn, state_machine_arn, name, machine_type, definition, role_arn, input, status,
        output, error, cause, trace_header, started_at, stopped_at";

async fn insert(pool: &PgPool, news: &[&NewExecution]) -> Result<Vec<Execution>, Error> {
    let column = |f: fn(&NewExecution) -> &str| news.iter().map(|n| f(n)).collect::<Vec<&str>>();
    let trace_headers: Vec<Option<&str>> = news.iter().map(|n| n.trace_header.as_deref()).collect();
    Ok(sqlx::query_as(INSERT_MANY)
        .bind(column(|n| &n.arn))
        .bind(column(|n| &n.express_arn))
        .bind(column(|n| &n.scope.account))
        .bind(column(|n| &n.scope.region))
        .bind(column(|n| &n.state_machine_arn))
        .bind(column(|n| &n.name))
        .bind(column(|n| &n.input))
        .bind(&trace_headers)
        .fetch_all(pool)
        .await?)
}
