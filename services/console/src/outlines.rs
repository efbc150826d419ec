//! The outlines of recently viewed histories, kept in memory: a history only grows, so a page
//! reads only the events after those it already has. A running execution's page refreshes
//! every 2 seconds and reads only what happened since; an ended one's is read once.
//!
//! An outline takes about 200 bytes with its strings; the cache holds at most [`MAX_EVENTS`]
//! of them in all (about 20 MB per API node), dropping the longest unused histories first.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use switchback_store::PgPool;
use switchback_store::console::{self, EventOutline};

/// Events kept in all.
const MAX_EVENTS: usize = 100_000;

#[derive(Clone, Default)]
pub struct Outlines {
    inner: Arc<Mutex<Cache>>,
}

#[derive(Default)]
struct Cache {
    /// By execution (its `seq`, never reused): the outline, and when it was last used.
    histories: HashMap<i64, (Arc<Vec<EventOutline>>, u64)>,
    events: usize,
    clock: u64,
}

impl Outlines {
    /// The outline of the execution's first `limit` events.
    pub async fn read(
        &self,
        pool: &PgPool,
        execution_seq: i64,
        limit: i64,
    ) -> Result<Arc<Vec<EventOutline>>, switchback_store::Error> {
        let known = self.get(execution_seq);
        let have = known.as_ref().map_or(0, |k| k.len());
        let after = known.as_ref().and_then(|k| k.last()).map_or(0, |e| e.id);
        let wanted = limit - i64::try_from(have).unwrap_or(i64::MAX);
        if wanted <= 0 {
            return Ok(known.unwrap_or_default());
        }
        let new = console::history_outline(pool, execution_seq, after, wanted).await?;
        if new.is_empty()
            && let Some(known) = known
        {
            return Ok(known);
        }
        let mut whole = known.map(|k| k.as_ref().clone()).unwrap_or_default();
        whole.extend(new);
        let whole = Arc::new(whole);
        self.put(execution_seq, whole.clone());
        Ok(whole)
    }

    fn get(&self, execution_seq: i64) -> Option<Arc<Vec<EventOutline>>> {
        let mut cache = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        cache.clock += 1;
        let now = cache.clock;
        let entry = cache.histories.get_mut(&execution_seq)?;
        entry.1 = now;
        Some(entry.0.clone())
    }

    fn put(&self, execution_seq: i64, outline: Arc<Vec<EventOutline>>) {
        let mut cache = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        cache.clock += 1;
        let now = cache.clock;
        let added = outline.len();
        if let Some((old, _)) = cache.histories.insert(execution_seq, (outline, now)) {
            cache.events -= old.len();
        }
        cache.events += added;
        // The least recently used go first; the one just read stays.
        while cache.events > MAX_EVENTS && cache.histories.len() > 1 {
            let Some(oldest) = cache
                .histories
                .iter()
                .filter(|(seq, _)| **seq != execution_seq)
                .min_by_key(|(_, (_, used))| *used)
                .map(|(seq, _)| *seq)
            else {
                break;
            };
            if let Some((dropped, _)) = cache.histories.remove(&oldest) {
                cache.events -= dropped.len();
            }
        }
    }
}
