//! LISTEN/NOTIFY. A notification is only a hint that something may be ready: every waiter
//! re-checks the tables after a wake, a timeout or a reconnect, so a lost notification costs
//! latency, never correctness.

use sqlx::PgPool;
use sqlx::postgres::PgListener;

use crate::Error;

/// Executions became due now (a start, a signal).
pub const DUE: &str = "switchback_due";
/// Activity tasks were scheduled; the payload is the activity ARN.
pub const TASKS: &str = "switchback_tasks";

/// One LISTEN connection.
pub struct Listener {
    inner: PgListener,
}

/// What a wake-up says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wake {
    Notified {
        channel: String,
        payload: String,
    },
    /// The connection dropped and was re-established: anything may have been missed.
    Reconnected,
}

impl Listener {
    pub async fn connect(pool: &PgPool, channels: &[&str]) -> Result<Self, Error> {
        let mut inner = PgListener::connect_with(pool).await?;
        inner.listen_all(channels.iter().copied()).await?;
        Ok(Self { inner })
    }

    /// Waits for the next notification.
    pub async fn recv(&mut self) -> Result<Wake, Error> {
        Ok(match self.inner.try_recv().await? {
            Some(notification) => Wake::Notified {
                channel: notification.channel().to_owned(),
                payload: notification.payload().to_owned(),
            },
            None => Wake::Reconnected,
        })
    }
}

/// Sends NOTIFYs outside the transactions that make work ready, coalesced: however many wake
/// requests arrive while one NOTIFY is on its way, one more follows it. A NOTIFY inside a
/// transaction takes a cluster-wide lock at commit, which serialises every committing
/// transaction that notifies; sent afterwards and coalesced, commits stay parallel.
#[derive(Clone)]
pub struct Coalescer {
    wanted: std::sync::Arc<tokio::sync::Notify>,
}

impl Coalescer {
    /// Starts the sender for `channel`; it ends when `stop` completes.
    pub fn start(
        pool: PgPool,
        channel: &'static str,
        stop: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Self {
        let wanted = std::sync::Arc::new(tokio::sync::Notify::new());
        let waiting = wanted.clone();
        tokio::spawn(async move {
            tokio::pin!(stop);
            loop {
                tokio::select! {
                    () = waiting.notified() => {}
                    () = &mut stop => return,
                }
                if let Err(error) = sqlx::query(NOTIFY).bind(channel).execute(&pool).await {
                    // Waiters fall back to their periodic re-check; nothing is lost.
                    tracing::debug!(%error, channel, "notify failed");
                }
            }
        });
        Self { wanted }
    }

    /// Asks for a NOTIFY; returns at once.
    pub fn wake(&self) {
        self.wanted.notify_one();
    }
}

const NOTIFY: &str = "SELECT pg_notify($1, '')";
