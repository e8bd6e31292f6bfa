//! `frames`: the raw message log, both directions, pruned by a retention setting.

use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteConnection;
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

pub async fn insert(conn: &mut SqliteConnection, f: &NewFrame) -> Result<()> {
    sqlx::query(
        "INSERT INTO frames (station_id, direction, at, message_type, message_id, action, text)
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&f.station_id)
    .bind(f.direction)
    .bind(fmt(f.at))
    .bind(f.message_type)
    .bind(&f.message_id)
    .bind(&f.action)
    .bind(&f.text)
    .execute(conn)
    .await?;
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
