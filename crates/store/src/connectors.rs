//! `connectors` (current status) and `status_history` (every StatusNotification).

use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnection, SqliteRow};
use sqlx::{Row, SqliteExecutor};

use crate::error::Result;
use crate::model::{Connector, ConnectorState, StatusChange};
use crate::time::{fmt, fmt_opt, parse, parse_opt};

/// A row's state: the normalised one stored, else the status as reported (1.6 rows).
fn state(r: &SqliteRow) -> ConnectorState {
    ConnectorState::parse(
        r.get::<Option<&str>, _>("state")
            .unwrap_or_else(|| r.get::<&str, _>("status")),
    )
}

fn map(r: &SqliteRow) -> Connector {
    Connector {
        station_id: r.get("station_id"),
        evse_id: r.get("evse_id"),
        connector_id: r.get("connector_id"),
        state: state(r),
        status: r.get("status"),
        error_code: r.get("error_code"),
        info: r.get("info"),
        vendor_id: r.get("vendor_id"),
        vendor_error_code: r.get("vendor_error_code"),
        status_at: parse(r.get::<&str, _>("status_at")),
    }
}

/// Store a status in the history and make it the connector's current status, unless the current
/// status carries a later timestamp (replayed notifications do not roll back). The state is
/// stored only where it differs from the status as reported.
/// `s.status_at` is the charger's timestamp, or the receive time when it sent none; `timestamp` is
/// what the charger sent, kept as such in the history. Returns whether it became the current
/// status.
pub async fn record_status(
    conn: &mut SqliteConnection,
    s: &Connector,
    timestamp: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<bool> {
    // One statement list: one hand-off to the SQLite thread instead of three. A status from
    // before a session's stop changes what that session costs.
    let current = sqlx::query(
        "INSERT INTO status_history (station_id, evse_id, status, error_code, info, vendor_id,
         vendor_error_code, timestamp, received_at, connector_id, state)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?11, ?12);
         UPDATE transactions SET cost = NULL, cost_zone = NULL, cost_rev = cost_rev + 1
         WHERE station_id = ?1 AND evse_id = ?2 AND stop_ts > ?10;
         INSERT INTO connectors (station_id, evse_id, status, error_code, info, vendor_id,
         vendor_error_code, status_at, connector_id, state)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?10, ?11, ?12)
         ON CONFLICT (station_id, evse_id) DO UPDATE SET status = excluded.status,
         error_code = excluded.error_code, info = excluded.info, vendor_id = excluded.vendor_id,
         vendor_error_code = excluded.vendor_error_code, status_at = excluded.status_at,
         connector_id = excluded.connector_id, state = excluded.state
         WHERE excluded.status_at >= connectors.status_at
         RETURNING 1",
    )
    .bind(&s.station_id)
    .bind(s.evse_id)
    .bind(&s.status)
    .bind(&s.error_code)
    .bind(&s.info)
    .bind(&s.vendor_id)
    .bind(&s.vendor_error_code)
    .bind(fmt_opt(timestamp))
    .bind(fmt(now))
    .bind(fmt(s.status_at))
    .bind(s.connector_id)
    .bind((s.state.as_str() != s.status).then(|| s.state.as_str()))
    .fetch_all(conn)
    .await?;
    Ok(!current.is_empty())
}

pub async fn list(ex: impl SqliteExecutor<'_>, station_id: &str) -> Result<Vec<Connector>> {
    let rows = sqlx::query("SELECT * FROM connectors WHERE station_id = ? ORDER BY evse_id")
        .bind(station_id)
        .fetch_all(ex)
        .await?;
    Ok(rows.iter().map(map).collect())
}

pub async fn list_all(ex: impl SqliteExecutor<'_>) -> Result<Vec<Connector>> {
    let rows = sqlx::query("SELECT * FROM connectors ORDER BY station_id, evse_id")
        .fetch_all(ex)
        .await?;
    Ok(rows.iter().map(map).collect())
}

/// Latest status changes of a station, newest first.
fn map_change(r: &SqliteRow) -> StatusChange {
    StatusChange {
        id: r.get("id"),
        station_id: r.get("station_id"),
        evse_id: r.get("evse_id"),
        connector_id: r.get("connector_id"),
        state: state(r),
        status: r.get("status"),
        error_code: r.get("error_code"),
        info: r.get("info"),
        vendor_id: r.get("vendor_id"),
        vendor_error_code: r.get("vendor_error_code"),
        timestamp: parse_opt(r.get("timestamp")),
        received_at: parse(r.get::<&str, _>("received_at")),
    }
}

pub async fn history(
    ex: impl SqliteExecutor<'_>,
    station_id: &str,
    limit: i64,
) -> Result<Vec<StatusChange>> {
    let rows =
        sqlx::query("SELECT * FROM status_history WHERE station_id = ? ORDER BY id DESC LIMIT ?")
            .bind(station_id)
            .bind(limit)
            .fetch_all(ex)
            .await?;
    Ok(rows.iter().map(map_change).collect())
}

/// A station's reported faults (an error code other than NoError, or a vendor code), newest first.
pub async fn errors(
    ex: impl SqliteExecutor<'_>,
    station_id: &str,
    limit: i64,
) -> Result<Vec<StatusChange>> {
    let rows = sqlx::query(
        "SELECT * FROM status_history WHERE station_id = ?
         AND (error_code <> 'NoError' OR vendor_error_code IS NOT NULL) ORDER BY id DESC LIMIT ?",
    )
    .bind(station_id)
    .bind(limit)
    .fetch_all(ex)
    .await?;
    Ok(rows.iter().map(map_change).collect())
}

/// An EVSE's states from the one in effect at `from` up to `to`, oldest first, each with the
/// charger's time (the receive time when it sent none): for the cost engine's charging time.
pub async fn states_between(
    ex: &sqlx::SqlitePool,
    station_id: &str,
    evse_id: i64,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<(DateTime<Utc>, ConnectorState)>> {
    let rows = sqlx::query(
        "SELECT at, state FROM (
            SELECT * FROM (SELECT COALESCE(timestamp, received_at) AS at,
              COALESCE(state, status) AS state, id FROM status_history
              WHERE station_id = ?1 AND evse_id = ?2 AND COALESCE(timestamp, received_at) <= ?3
              ORDER BY at DESC, id DESC LIMIT 1)
            UNION ALL
            SELECT COALESCE(timestamp, received_at) AS at, COALESCE(state, status) AS state, id
              FROM status_history
              WHERE station_id = ?1 AND evse_id = ?2 AND COALESCE(timestamp, received_at) > ?3
              AND COALESCE(timestamp, received_at) < ?4)
         ORDER BY at, id",
    )
    .bind(station_id)
    .bind(evse_id)
    .bind(fmt(from))
    .bind(fmt(to))
    .fetch_all(ex)
    .await?;
    Ok(rows
        .iter()
        .map(|r| {
            (
                parse(r.get::<&str, _>("at")),
                ConnectorState::parse(r.get::<&str, _>("state")),
            )
        })
        .collect())
}
