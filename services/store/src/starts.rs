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
        let mut inserted: HashMap<String, Execution> = match executions::insert(&pool, &news).await
        {
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
                // Not inserted (or the batch failed): the single path inserts or tells why not.
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
