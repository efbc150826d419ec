//! Waking GetActivityTask long polls. One LISTEN connection per API process receives
//! "tasks scheduled for activity X" notifications and wakes the polls waiting on X, in memory.
//! A notification is only a hint: a woken poll tries to take a task and waits again if another
//! poll was faster. Polls also re-check on a slow timer, so a lost notification (a dropped
//! connection) costs latency, never a task.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use switchback_store::PgPool;
use switchback_store::notify::{self, Listener, Wake};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// The polls waiting in this process, by activity ARN.
#[derive(Default)]
pub struct Hub {
    waiting: Mutex<HashMap<String, Arc<Notify>>>,
}

impl Hub {
    /// The wake-up handle for polls of `activity_arn`.
    pub fn handle(&self, activity_arn: &str) -> Arc<Notify> {
        let mut waiting = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
        waiting
            .entry(activity_arn.to_owned())
            .or_insert_with(|| Arc::new(Notify::new()))
            .clone()
    }

    /// How many polls of the activity wait on this node now.
    pub fn polling(&self, activity_arn: &str) -> usize {
        let waiting = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
        waiting
            .get(activity_arn)
            .map_or(0, |notify| Arc::strong_count(notify) - 1)
    }

    /// Drops handles no poll holds any more, so the map does not grow with every activity ever
    /// polled.
    pub fn release(&self, activity_arn: &str) {
        let mut waiting = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
        if waiting
            .get(activity_arn)
            .is_some_and(|notify| Arc::strong_count(notify) == 1)
        {
            waiting.remove(activity_arn);
        }
    }

    /// Wakes one poll of the activity (the longest waiting). Each poll that takes a task wakes
    /// the next one, so a burst of tasks is spread over the polls one by one instead of every
    /// poll racing for every task.
    pub fn wake_one(&self, activity_arn: &str) {
        let waiting = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(notify) = waiting.get(activity_arn) {
            notify.notify_one();
        }
    }

    fn wake_all(&self) {
        let waiting = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
        for notify in waiting.values() {
            notify.notify_waiters();
        }
    }

    /// Runs the process's listener until `stop`, reconnecting after failures.
    pub async fn listen(self: Arc<Self>, pool: PgPool, stop: CancellationToken) {
        tokio::select! {
            () = self.listen_forever(pool) => {}
            () = stop.cancelled() => {}
        }
    }

    async fn listen_forever(&self, pool: PgPool) {
        loop {
            match Listener::connect(&pool, &[notify::TASKS]).await {
                Ok(mut listener) => {
                    // Anything scheduled while no listener was connected is found by waking all.
                    self.wake_all();
                    loop {
                        match listener.recv().await {
                            Ok(Wake::Notified { payload, .. }) => self.wake_one(&payload),
                            Ok(Wake::Reconnected) => self.wake_all(),
                            Err(error) => {
                                tracing::warn!(%error, "task listener failed, reconnecting");
                                break;
                            }
                        }
                    }
                }
                Err(error) => tracing::warn!(%error, "cannot listen for tasks, retrying"),
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}
