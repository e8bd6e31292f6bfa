//! `frames`: the raw message log, both directions, pruned by a retention setting.

use chrono::{DateTime, Utc};
use sqlx::QueryBuilder;
use sqlx::sqlite::{Sqlite, SqliteConnection};
use sqlx::{Row, SqliteExecutor};

use crate::error::Result;
use crate::model::Frame;
use crate::time::{fmt, parse};

#[derive(Debug, Clone)]
pub struct NewFrame {
    pub station_id: String,
    pub direction: &'static str,
    pub at: DateTime<Utc>,
    pub message_type: Option<i64>,
    pub message_id: Option<String>,
    pub action: Option<String>,
    pub text: String,
}

/// SQLite allows 32766 bound parameters; 7 per row.
const ROWS_PER_INSERT: usize = 2000;

/// Append frames with multi-row inserts (the writer batches the log this way).
pub async fn insert(conn: &mut SqliteConnection, mut frames: Vec<NewFrame>) -> Result<()> {
    while !frames.is_empty() {
        let rest = frames.split_off(frames.len().min(ROWS_PER_INSERT));
        let chunk = std::mem::replace(&mut frames, rest);
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO frames (station_id, direction, at, message_type, message_id, action, text) ",
        );
        q.push_values(chunk, |mut b, f| {
            b.push_bind(f.station_id)
                .push_bind(f.direction)
                .push_bind(fmt(f.at))
                .push_bind(f.message_type)
                .push_bind(f.message_id)
                .push_bind(f.action)
                .push_bind(f.text);
        });
        q.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// Newest first; `before_id` pages backwards.
pub async fn list(
    ex: impl SqliteExecutor<'_>,
    station_id: &str,
    before_id: Option<i64>,
    limit: i64,
) -> Result<Vec<Frame>> {
    let rows = sqlx::query(
        "SELECT * FROM frames WHERE station_id = ? AND id < ? ORDER BY id DESC LIMIT ?",
    )
    .bind(station_id)
    .bind(before_id.unwrap_or(i64::MAX))
    .bind(limit.clamp(1, 5000))
    .fetch_all(ex)
    .await?;
    Ok(rows
        .iter()
        .map(|r| Frame {
            id: r.get("id"),
            station_id: r.get("station_id"),
            direction: r.get("direction"),
            at: parse(r.get::<&str, _>("at")),
            message_type: r.get("message_type"),
            message_id: r.get("message_id"),
            action: r.get("action"),
            text: r.get("text"),
        })
        .collect())
}

/// Delete frames older than `before`; returns how many.
pub async fn prune(conn: &mut SqliteConnection, before: DateTime<Utc>) -> Result<u64> {
    let r = sqlx::query("DELETE FROM frames WHERE at < ?")
        .bind(fmt(before))
        .execute(conn)
        .await?;
    Ok(r.rows_affected())
}
