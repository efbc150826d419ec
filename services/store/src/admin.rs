//! Creating databases: for `switchback dev`'s embedded cluster and for the test harness, which
//! clones a migrated template for every test.

use sqlx::{Connection, PgConnection};

use crate::Error;

const DATABASE_EXISTS: &str = "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)";

/// Creates database `name` on the server `admin_url` points to, unless it exists.
/// `template` names a database to copy.
pub async fn create_database(
    admin_url: &str,
    name: &str,
    template: Option<&str>,
) -> Result<(), Error> {
    let mut connection = PgConnection::connect(admin_url).await?;
    let (exists,): (bool,) = sqlx::query_as(DATABASE_EXISTS)
        .bind(name)
        .fetch_one(&mut connection)
        .await?;
    if !exists {
        // CREATE DATABASE takes no parameters; names are quoted as identifiers.
        let statement = match template {
            Some(template) => format!(
                "CREATE DATABASE {} TEMPLATE {}",
                quote_identifier(name),
                quote_identifier(template)
            ),
            None => format!("CREATE DATABASE {}", quote_identifier(name)),
        };
        sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
            .execute(&mut connection)
            .await?;
    }
    connection.close().await?;
    Ok(())
}

fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
