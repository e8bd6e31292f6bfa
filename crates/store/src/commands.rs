//! `commands`: every command sent to a station and its answer (who, when, what, result).

use sqlx::sqlite::SqliteConnection;
use sqlx::{Row, SqliteExecutor};

use crate::error::Result;
use crate::model::CommandRecord;
use crate::time::{fmt, parse};

/// Store a finished command; returns its id.
pub async fn insert(conn: &mut SqliteConnection, c: &CommandRecord) -> Result<i64> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO commands (station_id, action, request, actor, sent_at, finished_at, outcome,
         response, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(&c.station_id)
    .bind(&c.action)
    .bind(c.request.to_string())
    .bind(&c.actor)
    .bind(fmt(c.sent_at))
    .bind(fmt(c.finished_at))
    .bind(&c.outcome)
    .bind(c.response.as_ref().map(|v| v.to_string()))
    .bind(&c.error)
    .fetch_one(conn)
    .await?;
    Ok(id)
}

/// Newest first.
pub async fn list(
    ex: impl SqliteExecutor<'_>,
    station_id: &str,
    limit: i64,
) -> Result<Vec<CommandRecord>> {
    let rows = sqlx::query("SELECT * FROM commands WHERE station_id = ? ORDER BY id DESC LIMIT ?")
        .bind(station_id)
        .bind(limit.clamp(1, 5000))
        .fetch_all(ex)
        .await?;
    Ok(rows
        .iter()
        .map(|r| CommandRecord {
            id: r.get("id"),
            station_id: r.get("station_id"),
            action: r.get("action"),
            request: serde_json::from_str(r.get::<&str, _>("request")).unwrap_or_default(),
            actor: r.get("actor"),
            sent_at: parse(r.get::<&str, _>("sent_at")),
            finished_at: parse(r.get::<&str, _>("finished_at")),
            outcome: r.get("outcome"),
            response: r
                .get::<Option<String>, _>("response")
                .and_then(|s| serde_json::from_str(&s).ok()),
            error: r.get("error"),
        })
        .collect())
}
