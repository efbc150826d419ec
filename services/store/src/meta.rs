//! Server-wide values kept in the database so that every node agrees on them.

use sqlx::PgPool;

use crate::Error;

const SELECT_META: &str = "SELECT value FROM server_meta WHERE key = $1";

/// The secret that signs pagination tokens. Created by the first migration; shared by all nodes
/// so that a token issued by one API node is accepted by another.
pub async fn page_token_key(pool: &PgPool) -> Result<Vec<u8>, Error> {
    let value: Option<(String,)> = sqlx::query_as(SELECT_META)
        .bind("page_token_key")
        .fetch_optional(pool)
        .await?;
    value
        .map(|(v,)| v.into_bytes())
        .ok_or(Error::MissingMeta("page_token_key"))
}
