//! `station_events`: DataTransfer, DiagnosticsStatusNotification, FirmwareStatusNotification,
//! and each connection opened and closed.

use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnection, SqliteRow};
use sqlx::{Row, SqliteExecutor};

use crate::error::Result;
use crate::model::StationEvent;
use crate::time::{fmt, parse};

pub async fn insert(
    conn: &mut SqliteConnection,
    station_id: &str,
    kind: &str,
    detail: &serde_json::Value,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query("INSERT INTO station_events (station_id, kind, detail, at) VALUES (?, ?, ?, ?)")
        .bind(station_id)
        .bind(kind)
        .bind(detail.to_string())
        .bind(fmt(now))
        .execute(conn)
        .await?;
    Ok(())
}

fn map(r: &SqliteRow) -> StationEvent {
    StationEvent {
        id: r.get("id"),
        station_id: r.get("station_id"),
        kind: r.get("kind"),
        detail: serde_json::from_str(r.get::<&str, _>("detail")).unwrap_or_default(),
        at: parse(r.get::<&str, _>("at")),
    }
}

/// Newest first.
pub async fn list(
    ex: impl SqliteExecutor<'_>,
    station_id: &str,
    limit: i64,
) -> Result<Vec<StationEvent>> {
    let rows =
        sqlx::query("SELECT * FROM station_events WHERE station_id = ? ORDER BY id DESC LIMIT ?")
            .bind(station_id)
            .bind(limit.clamp(1, 5000))
            .fetch_all(ex)
            .await?;
    Ok(rows.iter().map(map).collect())
}

/// Events of some kinds, newest first.
pub async fn list_kinds(
    ex: impl SqliteExecutor<'_>,
    station_id: &str,
    kinds: &[&str],
    limit: i64,
) -> Result<Vec<StationEvent>> {
    let kinds = serde_json::to_string(kinds).unwrap_or_default();
    let rows = sqlx::query(
        "SELECT * FROM station_events WHERE station_id = ?
         AND kind IN (SELECT value FROM json_each(?)) ORDER BY id DESC LIMIT ?",
    )
    .bind(station_id)
    .bind(kinds)
    .bind(limit.clamp(1, 5000))
    .fetch_all(ex)
    .await?;
    Ok(rows.iter().map(map).collect())
}
