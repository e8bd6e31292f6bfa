//! `settings`: operator settings that outlive a restart (key → JSON text).

use sqlx::SqliteExecutor;
use sqlx::sqlite::SqliteConnection;

use crate::error::Result;

pub async fn get(ex: impl SqliteExecutor<'_>, key: &str) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT value FROM settings WHERE key = ?")
            .bind(key)
            .fetch_optional(ex)
            .await?,
    )
}

pub async fn set(conn: &mut SqliteConnection, key: &str, value: &str) -> Result<()> {
    sqlx::query("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
        .bind(key)
        .bind(value)
        .execute(conn)
        .await?;
    Ok(())
}
