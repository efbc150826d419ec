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

// One statement per shape, so that each is served by its index whatever plan PostgreSQL
// caches for it (a generic plan cannot use an index for `$n IS NULL OR status = $n`, nor for
// `LIKE $n`): the scope's executions newest first, with and without a status; one machine's
// (inside the scope), with and without; and a name prefix, as a range over
// `executions_by_name` (`~>=~` and `~<~` are its `text_pattern_ops` operators), whose matches
// are few enough to sort.
const IN_SCOPE: &str = "
    SELECT seq, arn, name, state_machine_arn, status, started_at, stopped_at
    FROM executions
    WHERE account = $1 AND region = $2 AND seq < $3
    ORDER BY seq DESC LIMIT $4";
const IN_SCOPE_WITH_STATUS: &str = "
    SELECT seq, arn, name, state_machine_arn, status, started_at, stopped_at
    FROM executions
    WHERE account = $1 AND region = $2 AND status = $5 AND seq < $3
    ORDER BY seq DESC LIMIT $4";
const OF_MACHINE: &str = "
    SELECT seq, arn, name, state_machine_arn, status, started_at, stopped_at
    FROM executions
    WHERE state_machine_arn = $5 AND account = $1 AND region = $2 AND seq < $3
    ORDER BY seq DESC LIMIT $4";
const OF_MACHINE_WITH_STATUS: &str = "
    SELECT seq, arn, name, state_machine_arn, status, started_at, stopped_at
    FROM executions
    WHERE state_machine_arn = $5 AND account = $1 AND region = $2 AND status = $6 AND seq < $3
    ORDER BY seq DESC LIMIT $4";
const BY_NAME: &str = "
    SELECT seq, arn, name, state_machine_arn, status, started_at, stopped_at
    FROM executions
    WHERE account = $1 AND region = $2 AND name ~>=~ $5 AND name ~<~ $6 AND name LIKE $7
        AND seq < $3 AND ($8::text IS NULL OR status = $8)
        AND ($9::text IS NULL OR state_machine_arn = $9)
    ORDER BY seq DESC LIMIT $4";

/// One page of the scope's executions (and only the scope's, whatever the filter names),
/// newest first, before position `before` (`i64::MAX` for the first page).
pub async fn executions(
    pool: &PgPool,
    scope: &Scope,
    filter: ExecutionFilter<'_>,
    before: i64,
    limit: i64,
) -> Result<Vec<ExecutionRow>, Error> {
    let query = match (filter.name_prefix, filter.state_machine_arn, filter.status) {
        (Some(_), _, _) => BY_NAME,
        (None, Some(_), Some(_)) => OF_MACHINE_WITH_STATUS,
        (None, Some(_), None) => OF_MACHINE,
        (None, None, Some(_)) => IN_SCOPE_WITH_STATUS,
        (None, None, None) => IN_SCOPE,
    };
    let mut query = sqlx::query_as(query)
        .bind(&scope.account)
        .bind(&scope.region)
        .bind(before)
        .bind(limit);
    query = match (filter.name_prefix, filter.state_machine_arn, filter.status) {
        (Some(prefix), machine, status) => query
            .bind(prefix)
            .bind(format!("{prefix}{}", char::MAX))
            .bind(format!("{}%", escape_like(prefix)))
            .bind(status)
            .bind(machine),
        (None, Some(machine), Some(status)) => query.bind(machine).bind(status),
        (None, Some(machine), None) => query.bind(machine),
        (None, None, Some(status)) => query.bind(status),
        (None, None, None) => query,
    };
    Ok(query.fetch_all(pool).await?)
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

/// A state machine as the console's list shows it (not its definition).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MachineRow {
    /// Keyset position.
    pub seq: i64,
    pub arn: String,
    pub name: String,
    #[sqlx(rename = "type")]
    pub machine_type: String,
    pub created_at: OffsetDateTime,
}

const MACHINES: &str = "
    SELECT seq, arn, name, type, created_at FROM state_machines
    WHERE account = $1 AND region = $2 AND seq > $3
    ORDER BY seq
    LIMIT $4";

/// One page of the scope's state machines in creation order, after position `after`.
pub async fn state_machines(
    pool: &PgPool,
    scope: &Scope,
    after: i64,
    limit: i64,
) -> Result<Vec<MachineRow>, Error> {
    Ok(sqlx::query_as(MACHINES)
        .bind(&scope.account)
        .bind(&scope.region)
        .bind(after)
        .bind(limit)
        .fetch_all(pool)
        .await?)
}

/// Counts stop here: a list of machines shows "10000+" rather than counting every failed
/// execution ever kept.
pub const COUNT_CAP: i64 = 10_000;

// Each count reads at most `$2` rows of its partial index.
const RUNNING_COUNTS: &str = "
    SELECT m.arn, (SELECT count(*) FROM (SELECT 1 FROM executions e
        WHERE e.state_machine_arn = m.arn AND e.status = 'RUNNING' LIMIT $2) c)
    FROM unnest($1::text[]) AS m(arn)";
const FAILED_COUNTS: &str = "
    SELECT m.arn, (SELECT count(*) FROM (SELECT 1 FROM executions e
        WHERE e.state_machine_arn = m.arn AND e.status = 'FAILED' LIMIT $2) c)
    FROM unnest($1::text[]) AS m(arn)";

/// Running and failed executions of each machine (by ARN), each counted up to [`COUNT_CAP`].
pub async fn execution_counts(
    pool: &PgPool,
    machine_arns: &[String],
) -> Result<HashMap<String, (i64, i64)>, Error> {
    let mut counts: HashMap<String, (i64, i64)> = HashMap::new();
    let running: Vec<(String, i64)> = sqlx::query_as(RUNNING_COUNTS)
        .bind(machine_arns)
        .bind(COUNT_CAP)
        .fetch_all(pool)
        .await?;
    for (arn, count) in running {
        counts.entry(arn).or_default().0 = count;
    }
    let failed: Vec<(String, i64)> = sqlx::query_as(FAILED_COUNTS)
        .bind(machine_arns)
        .bind(COUNT_CAP)
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

/// What the graph and the timeline need of an event, without its inputs and outputs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventOutline {
    pub id: i64,
    /// `previousEventId`: the event that caused this one.
    pub previous: i64,
    /// `type`, e.g. `TaskStateEntered`.
    pub kind: String,
    /// Epoch seconds.
    pub at: f64,
    /// The state a `…StateEntered` event enters, or a `…StateExited` event leaves.
    pub entered: Option<String>,
    pub exited: Option<String>,
    /// A `MapIterationStarted` event's Map state and index.
    pub iteration_of: Option<String>,
    pub iteration: Option<i64>,
}

/// How much of each stored event is read for its outline, in characters. Events are stored in
/// AWS's wire form with their members in a fixed order (`timestamp`, `type`, `id`,
/// `previousEventId`, then the details with `name` or `index` before any input or output), so
/// the outline is in the first ~230 characters of a name of 80 ordinary characters, however
/// large the event. Reading whole events made a 24,000-event history of 5 KiB events take
/// 2.5 s to outline.
const OUTLINE_PREFIX: i32 = 320;
/// Enough for a name of 80 characters each written as an escape (`\u0001`): the events whose
/// name the short prefix cut are read again this far.
const LONG_PREFIX: i32 = 640;

const HISTORY_PREFIXES: &str = "
    SELECT id, left(event, $4) FROM history_events
    WHERE execution_seq = $1 AND id > $2
    ORDER BY id
    LIMIT $3";
const LONG_PREFIXES: &str = "
    SELECT id, left(event, $3) FROM history_events
    WHERE execution_seq = $1 AND id = ANY($2)";

/// The outline of the execution's events after event `after` (0: from the first), at most
/// `limit` of them, in order.
pub async fn history_outline(
    pool: &PgPool,
    execution_seq: i64,
    after: i64,
    limit: i64,
) -> Result<Vec<EventOutline>, Error> {
    let after = i32::try_from(after).unwrap_or(i32::MAX);
    let prefixes: Vec<(i32, String)> = sqlx::query_as(HISTORY_PREFIXES)
        .bind(execution_seq)
        .bind(after)
        .bind(limit)
        .bind(OUTLINE_PREFIX)
        .fetch_all(pool)
        .await?;
    // The id is the row's own: an event that does not read still keeps its place.
    let mut outlines: Vec<EventOutline> = prefixes
        .iter()
        .map(|(id, prefix)| EventOutline {
            id: i64::from(*id),
            ..outline(prefix)
        })
        .collect();
    let cut: Vec<i32> = outlines
        .iter()
        .filter(|o| {
            (o.kind.ends_with("StateEntered") && o.entered.is_none())
                || (o.kind.ends_with("StateExited") && o.exited.is_none())
        })
        .filter_map(|o| i32::try_from(o.id).ok())
        .collect();
    if !cut.is_empty() {
        let longer: Vec<(i32, String)> = sqlx::query_as(LONG_PREFIXES)
            .bind(execution_seq)
            .bind(&cut)
            .bind(LONG_PREFIX)
            .fetch_all(pool)
            .await?;
        let longer: HashMap<i64, EventOutline> = longer
            .iter()
            .map(|(id, prefix)| (i64::from(*id), outline(prefix)))
            .collect();
        for outline in &mut outlines {
            if let Some(read) = longer.get(&outline.id) {
                outline.entered = read.entered.clone();
                outline.exited = read.exited.clone();
            }
        }
    }
    Ok(outlines)
}

/// The outline of an event from the start of its text: the members are taken as they are
/// read, so that the text may end anywhere after them.
fn outline(prefix: &str) -> EventOutline {
    use serde::de::DeserializeSeed;
    let mut outline = EventOutline::default();
    let mut reader = serde_json::Deserializer::from_str(prefix);
    // The error is the cut: what was read before it is kept.
    let _ = OutlineSeed(&mut outline).deserialize(&mut reader);
    outline
}

/// Reads an event's members into an outline as they come.
struct OutlineSeed<'o>(&'o mut EventOutline);

impl<'de> serde::de::DeserializeSeed<'de> for OutlineSeed<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, reader: D) -> Result<(), D::Error> {
        reader.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for OutlineSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a history event")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        use serde::de::IgnoredAny;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            let outline = &mut *self.0;
            match key.as_ref() {
                "id" => outline.id = map.next_value()?,
                "previousEventId" => outline.previous = map.next_value()?,
                "type" => outline.kind = map.next_value()?,
                "timestamp" => outline.at = map.next_value()?,
                "stateEnteredEventDetails" => map.next_value_seed(DetailsSeed {
                    name: &mut outline.entered,
                    index: None,
                })?,
                "stateExitedEventDetails" => map.next_value_seed(DetailsSeed {
                    name: &mut outline.exited,
                    index: None,
                })?,
                "mapIterationStartedEventDetails" => map.next_value_seed(DetailsSeed {
                    name: &mut outline.iteration_of,
                    index: Some(&mut outline.iteration),
                })?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// Reads a details member's `name` (and `index`) as they come.
struct DetailsSeed<'o> {
    name: &'o mut Option<String>,
    index: Option<&'o mut Option<i64>>,
}

impl<'de> serde::de::DeserializeSeed<'de> for DetailsSeed<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, reader: D) -> Result<(), D::Error> {
        reader.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for DetailsSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an event's details")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match (key.as_ref(), self.index.as_mut()) {
                ("name", _) => *self.name = Some(map.next_value()?),
                ("index", Some(index)) => **index = Some(map.next_value()?),
                _ => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_wildcards_in_a_prefix_are_literal() {
        assert_eq!(escape_like(r"a%b_c\d"), r"a\%b\_c\\d");
    }

    #[test]
    fn an_outline_is_read_from_the_start_of_an_event_however_it_is_cut() {
        let event = format!(
            r#"{{"timestamp":1.5,"type":"TaskStateEntered","id":7,"previousEventId":6,"stateEnteredEventDetails":{{"name":"Caf\u00e9 \"x\"","input":"{}","inputDetails":{{"truncated":false}}}}}}"#,
            "y".repeat(5000)
        );
        let cut: String = event.chars().take(OUTLINE_PREFIX as usize).collect();
        let expected = EventOutline {
            id: 7,
            previous: 6,
            kind: "TaskStateEntered".to_owned(),
            at: 1.5,
            entered: Some("Café \"x\"".to_owned()),
            ..EventOutline::default()
        };
        assert_eq!(outline(&cut), expected);
        assert_eq!(outline(&event), expected);
        let iteration = r#"{"timestamp":2,"type":"MapIterationStarted","id":9,"previousEventId":3,"mapIterationStartedEventDetails":{"index":4,"name":"Each"}}"#;
        let read = outline(iteration);
        assert_eq!(
            (read.iteration_of.as_deref(), read.iteration),
            (Some("Each"), Some(4))
        );
        assert_eq!(outline("not json"), EventOutline::default());
    }
}
