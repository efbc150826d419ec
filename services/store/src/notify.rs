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
