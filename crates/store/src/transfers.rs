//! `transfers`: diagnostics files stations upload and firmware they download, one row per job.

use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnection, SqliteRow};
use sqlx::{Row, SqliteExecutor};

use crate::error::{Result, one_row};
use crate::model::Transfer;
use crate::time::{fmt, fmt_opt, parse, parse_opt};

fn map(r: &SqliteRow) -> Transfer {
    Transfer {
        id: r.get("id"),
        station_id: r.get("station_id"),
        kind: r.get("kind"),
        state: r.get("state"),
        url: r.get("url"),
        file_name: r.get("file_name"),
        path: r.get("path"),
        bytes: r.get("bytes"),
        sha256: r.get("sha256"),
        created_at: parse(r.get::<&str, _>("created_at")),
        expires_at: parse(r.get::<&str, _>("expires_at")),
        finished_at: parse_opt(r.get("finished_at")),
        detail: r.get("detail"),
    }
}

/// Record a new job (state "offered"); returns its id.
pub async fn insert(conn: &mut SqliteConnection, t: &Transfer) -> Result<i64> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO transfers (station_id, kind, state, url, file_name, path, bytes, sha256,
         created_at, expires_at, finished_at, detail)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(&t.station_id)
    .bind(&t.kind)
    .bind(&t.state)
    .bind(&t.url)
    .bind(&t.file_name)
    .bind(&t.path)
    .bind(t.bytes)
    .bind(&t.sha256)
    .bind(fmt(t.created_at))
    .bind(fmt(t.expires_at))
    .bind(fmt_opt(t.finished_at))
    .bind(&t.detail)
    .fetch_one(conn)
    .await?;
    Ok(id)
}

/// Update a job's outcome (state, file, finish time, detail).
pub async fn finish(conn: &mut SqliteConnection, t: &Transfer) -> Result<()> {
    one_row(
        sqlx::query(
            "UPDATE transfers SET state = ?, file_name = ?, path = ?, bytes = ?, sha256 = ?,
         finished_at = ?, detail = ? WHERE id = ?",
        )
        .bind(&t.state)
        .bind(&t.file_name)
        .bind(&t.path)
        .bind(t.bytes)
        .bind(&t.sha256)
        .bind(fmt_opt(t.finished_at))
        .bind(&t.detail)
        .bind(t.id)
        .execute(conn)
        .await?,
    )
}

/// Note who fetched an offered file, once, leaving everything else as it is (the job may be
/// finishing at the same moment).
pub async fn note(conn: &mut SqliteConnection, id: i64, detail: &str) -> Result<()> {
    sqlx::query("UPDATE transfers SET detail = ? WHERE id = ? AND detail IS NULL")
        .bind(detail)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn get(ex: impl SqliteExecutor<'_>, id: i64) -> Result<Option<Transfer>> {
    Ok(sqlx::query("SELECT * FROM transfers WHERE id = ?")
        .bind(id)
        .fetch_optional(ex)
        .await?
        .as_ref()
        .map(map))
}

/// A station's jobs, newest first.
pub async fn list(ex: impl SqliteExecutor<'_>, station_id: &str) -> Result<Vec<Transfer>> {
    Ok(
        sqlx::query("SELECT * FROM transfers WHERE station_id = ? ORDER BY id DESC LIMIT 500")
            .bind(station_id)
            .fetch_all(ex)
            .await?
            .iter()
            .map(map)
            .collect(),
    )
}

/// Jobs still offered when the engine stopped: their endpoints are gone, so they expired.
pub async fn expire_offered(conn: &mut SqliteConnection, now: DateTime<Utc>) -> Result<u64> {
    let r = sqlx::query(
        "UPDATE transfers SET state = 'expired', finished_at = ?,
         detail = COALESCE(detail, 'the endpoint stopped with Chargeyard') WHERE state = 'offered'",
    )
    .bind(fmt(now))
    .execute(conn)
    .await?;
    Ok(r.rows_affected())
}
