//! `load_decisions`: the limits load management gave chargers, and their answers.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::sqlite::SqliteConnection;
use sqlx::{Row, SqliteExecutor};
use ts_rs::TS;

use crate::error::Result;
use crate::time::{fmt, parse};

/// One limit given to a charger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Decision {
    pub at: DateTime<Utc>,
    pub station_id: String,
    /// The EVSE it applies to; 0: the whole station.
    pub evse_id: i64,
    /// The session it was for, for a transaction's own limit.
    pub transaction_id: Option<i64>,
    /// StationMax (the failsafe), TxDefault or Tx.
    pub purpose: String,
    /// A per phase; 0: paused.
    pub amps: f64,
    pub reason: String,
    /// How the charger answered (Accepted, Rejected, NotSupported) or what went wrong.
    pub answer: String,
}

pub async fn insert(conn: &mut SqliteConnection, list: &[Decision]) -> Result<()> {
    for d in list {
        sqlx::query(
            "INSERT INTO load_decisions
               (at, station_id, evse_id, transaction_id, purpose, amps, reason, answer)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(fmt(d.at))
        .bind(&d.station_id)
        .bind(d.evse_id)
        .bind(d.transaction_id)
        .bind(&d.purpose)
        .bind(d.amps)
        .bind(&d.reason)
        .bind(&d.answer)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Forget decisions made before `before`; how many.
pub async fn prune(conn: &mut SqliteConnection, before: DateTime<Utc>) -> Result<u64> {
    let r = sqlx::query("DELETE FROM load_decisions WHERE at < ?")
        .bind(fmt(before))
        .execute(conn)
        .await?;
    Ok(r.rows_affected())
}

/// The latest decisions (newest first, at most `limit`) for a station, or a session, or all.
pub async fn list(
    ex: impl SqliteExecutor<'_>,
    station_id: Option<&str>,
    transaction_id: Option<i64>,
    limit: i64,
) -> Result<Vec<Decision>> {
    let rows = sqlx::query(
        "SELECT at, station_id, evse_id, transaction_id, purpose, amps, reason, answer
         FROM load_decisions
         WHERE (?1 IS NULL OR station_id = ?1) AND (?2 IS NULL OR transaction_id = ?2)
         ORDER BY id DESC LIMIT ?3",
    )
    .bind(station_id)
    .bind(transaction_id)
    .bind(limit)
    .fetch_all(ex)
    .await?;
    Ok(rows
        .iter()
        .map(|r| Decision {
            at: parse(r.get("at")),
            station_id: r.get("station_id"),
            evse_id: r.get("evse_id"),
            transaction_id: r.get("transaction_id"),
            purpose: r.get("purpose"),
            amps: r.get("amps"),
            reason: r.get("reason"),
            answer: r.get("answer"),
        })
        .collect())
}
