//! `issued_certificates`: the client certificates the depot's CA signed for stations, and which
//! of them are revoked.

use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteConnection;
use sqlx::{Row, SqliteExecutor};

use crate::error::Result;
use crate::time::fmt;

/// Note a certificate issued to `station_id`.
pub async fn issued(
    conn: &mut SqliteConnection,
    serial: &str,
    station_id: &str,
    subject: &str,
    not_after: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO issued_certificates (serial, station_id, subject, not_after, issued_at)
         VALUES (?, ?, ?, ?, ?) ON CONFLICT (serial) DO NOTHING",
    )
    .bind(serial)
    .bind(station_id)
    .bind(subject)
    .bind(fmt(not_after))
    .bind(fmt(now))
    .execute(conn)
    .await?;
    Ok(())
}

/// Revoke every certificate issued to `station_id` not revoked yet; their serials.
pub async fn revoke_station(
    conn: &mut SqliteConnection,
    station_id: &str,
    why: &str,
    now: DateTime<Utc>,
) -> Result<Vec<String>> {
    let rows = sqlx::query(
        "UPDATE issued_certificates SET revoked_at = ?, revoked_why = ?
         WHERE station_id = ? AND revoked_at IS NULL RETURNING serial",
    )
    .bind(fmt(now))
    .bind(why)
    .bind(station_id)
    .fetch_all(conn)
    .await?;
    Ok(rows.iter().map(|r| r.get("serial")).collect())
}

/// The serials of every revoked certificate.
pub async fn revoked(ex: impl SqliteExecutor<'_>) -> Result<Vec<String>> {
    let rows = sqlx::query("SELECT serial FROM issued_certificates WHERE revoked_at IS NOT NULL")
        .fetch_all(ex)
        .await?;
    Ok(rows.iter().map(|r| r.get("serial")).collect())
}
