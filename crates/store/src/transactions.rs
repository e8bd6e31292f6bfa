//! `transactions` and `unmatched_stops`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::sqlite::{Sqlite, SqliteConnection, SqliteRow};
use sqlx::{QueryBuilder, Row, SqliteExecutor};
use ts_rs::TS;

use crate::error::{Error, Result};
use crate::model::{Page, PageQuery, Transaction, UnmatchedStop};
use crate::time::{fmt, parse, parse_opt};

/// Energy so far: stop − start, or the latest whole-meter import register reading − start.
const SELECT: &str =
    "SELECT t.*, CASE WHEN t.meter_stop IS NOT NULL THEN t.meter_stop - t.meter_start
    ELSE (SELECT CAST(m.value AS INTEGER) - t.meter_start FROM meter_samples m
          WHERE m.transaction_id = t.id AND m.station_id = t.station_id AND m.measurand = 'Energy.Active.Import.Register'
          AND m.phase IS NULL AND m.value IS NOT NULL ORDER BY m.timestamp DESC, m.id DESC LIMIT 1)
    END AS energy_wh,
    CASE WHEN t.stop_ts IS NULL THEN (SELECT m.value FROM meter_samples m
          WHERE m.transaction_id = t.id AND m.station_id = t.station_id AND m.measurand = 'Power.Active.Import'
          AND m.phase IS NULL AND m.value IS NOT NULL ORDER BY m.timestamp DESC, m.id DESC LIMIT 1)
    END AS power_w,
    CASE WHEN t.stop_ts IS NULL THEN (SELECT m.value FROM meter_samples m
          WHERE m.transaction_id = t.id AND m.station_id = t.station_id AND m.measurand = 'SoC'
          AND m.value IS NOT NULL ORDER BY m.timestamp DESC, m.id DESC LIMIT 1)
    END AS soc_percent
    FROM transactions t";

fn map(r: &SqliteRow) -> Transaction {
    Transaction {
        id: r.get("id"),
        station_id: r.get("station_id"),
        connector_id: r.get("connector_id"),
        id_tag: r.get("id_tag"),
        start_ts: parse(r.get::<&str, _>("start_ts")),
        meter_start: r.get("meter_start"),
        reservation_id: r.get("reservation_id"),
        start_auth_status: r.get("start_auth_status"),
        stop_ts: parse_opt(r.get("stop_ts")),
        meter_stop: r.get("meter_stop"),
        stop_reason: r.get("stop_reason"),
        stop_id_tag: r.get("stop_id_tag"),
        energy_wh: r.get("energy_wh"),
        power_w: r.get("power_w"),
        soc_percent: r.get("soc_percent"),
        received_at: parse(r.get::<&str, _>("received_at")),
        tariff_version_id: r.get("tariff_version_id"),
        cost: None,
    }
}

/// A StartTransaction as stored.
#[derive(Debug, Clone)]
pub struct NewTransaction {
    pub station_id: String,
    pub connector_id: i64,
    pub id_tag: String,
    pub start_ts: DateTime<Utc>,
    pub meter_start: i64,
    pub reservation_id: Option<i64>,
    pub start_auth_status: String,
}

/// Store a start and return its id. A retried start (same station, connector, tag, timestamp and
/// meterStart) returns the id of the first one and `false`.
pub async fn start(
    conn: &mut SqliteConnection,
    t: &NewTransaction,
    now: DateTime<Utc>,
) -> Result<(i64, bool)> {
    let start_ts = fmt(t.start_ts);
    let inserted: Option<i64> = sqlx::query_scalar(
        "INSERT INTO transactions (station_id, connector_id, id_tag, start_ts, meter_start,
         reservation_id, start_auth_status, received_at, tariff_version_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, (SELECT id FROM tariff_versions WHERE tariff_id = (
             SELECT a.tariff_id FROM tariff_assignments a WHERE
                (a.scope = 'group' AND a.target =
                    (SELECT group_kind || ':' || group_name FROM id_tags WHERE id_tag = ?3))
                OR (a.scope = 'station' AND a.target = ?1) OR a.scope = 'default'
             ORDER BY CASE a.scope WHEN 'group' THEN 0 WHEN 'station' THEN 1 ELSE 2 END LIMIT 1)
           ORDER BY version DESC LIMIT 1))
         ON CONFLICT (station_id, connector_id, id_tag, start_ts, meter_start) DO NOTHING
         RETURNING id",
    )
    .bind(&t.station_id)
    .bind(t.connector_id)
    .bind(&t.id_tag)
    .bind(&start_ts)
    .bind(t.meter_start)
    .bind(t.reservation_id)
    .bind(&t.start_auth_status)
    .bind(fmt(now))
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(id) = inserted {
        return Ok((id, true));
    }
    let id: i64 = sqlx::query_scalar(
        "SELECT id FROM transactions WHERE station_id = ? AND connector_id = ? AND id_tag = ?
         AND start_ts = ? AND meter_start = ?",
    )
    .bind(&t.station_id)
    .bind(t.connector_id)
    .bind(&t.id_tag)
    .bind(&start_ts)
    .bind(t.meter_start)
    .fetch_one(conn)
    .await
    .map_err(Error::from_db)?;
    Ok((id, false))
}

/// A StopTransaction as stored.
#[derive(Debug, Clone)]
pub struct StopRecord {
    pub station_id: String,
    pub transaction_id: i64,
    pub id_tag: Option<String>,
    pub meter_stop: i64,
    pub timestamp: DateTime<Utc>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopOutcome {
    Stopped,
    /// A retried stop for a transaction already stopped: nothing changes.
    AlreadyStopped,
    /// No such transaction of this station: recorded in `unmatched_stops`.
    Unknown,
}

pub async fn stop(
    conn: &mut SqliteConnection,
    s: &StopRecord,
    now: DateTime<Utc>,
) -> Result<StopOutcome> {
    let r = sqlx::query(
        "UPDATE transactions SET stop_ts = ?, meter_stop = ?, stop_reason = ?, stop_id_tag = ?,
         stop_received_at = ? WHERE id = ? AND station_id = ? AND stop_ts IS NULL",
    )
    .bind(fmt(s.timestamp))
    .bind(s.meter_stop)
    .bind(&s.reason)
    .bind(&s.id_tag)
    .bind(fmt(now))
    .bind(s.transaction_id)
    .bind(&s.station_id)
    .execute(&mut *conn)
    .await?;
    if r.rows_affected() == 1 {
        return Ok(StopOutcome::Stopped);
    }
    let exists: Option<i64> =
        sqlx::query_scalar("SELECT id FROM transactions WHERE id = ? AND station_id = ?")
            .bind(s.transaction_id)
            .bind(&s.station_id)
            .fetch_optional(&mut *conn)
            .await?;
    if exists.is_some() {
        return Ok(StopOutcome::AlreadyStopped);
    }
    sqlx::query(
        "INSERT INTO unmatched_stops (station_id, transaction_id, id_tag, meter_stop, timestamp,
         reason, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&s.station_id)
    .bind(s.transaction_id)
    .bind(&s.id_tag)
    .bind(s.meter_stop)
    .bind(fmt(s.timestamp))
    .bind(&s.reason)
    .bind(fmt(now))
    .execute(conn)
    .await?;
    Ok(StopOutcome::Unknown)
}

/// The meterStart (Wh) of one of the station's transactions.
pub async fn meter_start(
    ex: impl SqliteExecutor<'_>,
    station_id: &str,
    id: i64,
) -> Result<Option<i64>> {
    Ok(
        sqlx::query_scalar("SELECT meter_start FROM transactions WHERE id = ? AND station_id = ?")
            .bind(id)
            .bind(station_id)
            .fetch_optional(ex)
            .await?,
    )
}

pub async fn get(ex: impl SqliteExecutor<'_>, id: i64) -> Result<Option<Transaction>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("{SELECT} WHERE t.id = ?")))
        .bind(id)
        .fetch_optional(ex)
        .await?;
    Ok(row.as_ref().map(map))
}

/// Which transactions to list.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
pub struct TransactionFilter {
    pub station_id: Option<String>,
    pub connector_id: Option<i64>,
    pub id_tag: Option<String>,
    /// `Some(true)`: only running; `Some(false)`: only finished.
    pub open: Option<bool>,
    /// Started at or after.
    pub from: Option<DateTime<Utc>>,
    /// Started before.
    pub to: Option<DateTime<Utc>>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

fn push_filter(q: &mut QueryBuilder<Sqlite>, f: &TransactionFilter) {
    q.push(" WHERE 1 = 1");
    if let Some(s) = &f.station_id {
        q.push(" AND t.station_id = ").push_bind(s.clone());
    }
    if let Some(c) = f.connector_id {
        q.push(" AND t.connector_id = ").push_bind(c);
    }
    if let Some(tag) = &f.id_tag {
        q.push(" AND t.id_tag = ").push_bind(tag.clone());
    }
    match f.open {
        Some(true) => {
            q.push(" AND t.stop_ts IS NULL");
        }
        Some(false) => {
            q.push(" AND t.stop_ts IS NOT NULL");
        }
        None => {}
    }
    if let Some(from) = f.from {
        q.push(" AND t.start_ts >= ").push_bind(fmt(from));
    }
    if let Some(to) = f.to {
        q.push(" AND t.start_ts < ").push_bind(fmt(to));
    }
}

/// Newest first, paged (default 50, at most 1000 a page).
pub async fn list(ex: &sqlx::SqlitePool, f: &TransactionFilter) -> Result<Page<Transaction>> {
    PageQuery {
        select: SELECT,
        count: "SELECT COUNT(*) FROM transactions t",
        filter: |q: &mut QueryBuilder<Sqlite>| push_filter(q, f),
        order: "t.start_ts DESC, t.id DESC",
        limit: f.limit.unwrap_or(50).clamp(1, 1000),
        offset: f.offset.unwrap_or(0),
    }
    .fetch(ex, map)
    .await
}

pub async fn unmatched_stops(
    ex: impl SqliteExecutor<'_>,
    station_id: &str,
) -> Result<Vec<UnmatchedStop>> {
    let rows = sqlx::query("SELECT * FROM unmatched_stops WHERE station_id = ? ORDER BY id DESC")
        .bind(station_id)
        .fetch_all(ex)
        .await?;
    Ok(rows
        .iter()
        .map(|r| UnmatchedStop {
            id: r.get("id"),
            station_id: r.get("station_id"),
            transaction_id: r.get("transaction_id"),
            id_tag: r.get("id_tag"),
            meter_stop: r.get("meter_stop"),
            timestamp: parse(r.get::<&str, _>("timestamp")),
            reason: r.get("reason"),
            received_at: parse(r.get::<&str, _>("received_at")),
        })
        .collect())
}
