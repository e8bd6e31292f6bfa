//! `transactions` and `unmatched_stops`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::sqlite::{Sqlite, SqliteConnection, SqliteRow};
use sqlx::{QueryBuilder, Row, SqliteExecutor};
use ts_rs::TS;

use crate::error::{Error, Result};
use chargeyard_billing::Cost;

use crate::model::{Billable, Page, PageQuery, Transaction, UnmatchedStop};
use crate::time::{fmt, parse, parse_opt};

/// A transaction's columns, with energy so far: stop − start, or the latest whole-meter import
/// register reading − start (and the latest power and SoC while it runs), and whom its tag
/// belongs to.
macro_rules! columns {
    () => {
        concat!(
            "t.*, CASE WHEN t.meter_stop IS NOT NULL THEN t.meter_stop - t.meter_start ELSE ",
            crate::logs::latest_sample!(
                "CAST(m.value AS INTEGER) - t.meter_start",
                "m.measurand = 'Energy.Active.Import.Register' AND m.phase IS NULL
                 AND m.value IS NOT NULL"
            ),
            " END AS energy_wh, CASE WHEN t.stop_ts IS NULL THEN ",
            crate::logs::latest_sample!(
                "m.value",
                "m.measurand = 'Power.Active.Import' AND m.phase IS NULL AND m.value IS NOT NULL"
            ),
            " END AS power_w, CASE WHEN t.stop_ts IS NULL THEN ",
            crate::logs::latest_sample!("m.value", "m.measurand = 'SoC' AND m.value IS NOT NULL"),
            " END AS soc_percent,
            (SELECT g.group_kind FROM id_tags g WHERE g.id_tag = t.id_tag) AS tag_group_kind,
            (SELECT g.group_name FROM id_tags g WHERE g.id_tag = t.id_tag) AS tag_group_name"
        )
    };
}

const SELECT: &str = concat!("SELECT ", columns!(), " FROM transactions t");

fn map(r: &SqliteRow) -> Transaction {
    Transaction {
        id: r.get("id"),
        station_id: r.get("station_id"),
        evse_id: r.get("evse_id"),
        connector_id: r.get("connector_id"),
        protocol: r.get("protocol"),
        charger_tx_id: r.get("charger_tx_id"),
        id_tag: r.get("id_tag"),
        id_token_type: r.get("id_token_type"),
        start_ts: parse(r.get::<&str, _>("start_ts")),
        meter_start: r.get("meter_start"),
        reservation_id: r.get("reservation_id"),
        remote_start_id: r.get("remote_start_id"),
        start_auth_status: r.get("start_auth_status"),
        charging_state: r.get("charging_state"),
        stop_ts: parse_opt(r.get("stop_ts")),
        meter_stop: r.get("meter_stop"),
        stop_reason: r.get("stop_reason"),
        stop_id_tag: r.get("stop_id_tag"),
        closed_by: r.get("closed_by"),
        close_note: r.get("close_note"),
        energy_wh: r.get("energy_wh"),
        power_w: r.get("power_w"),
        soc_percent: r.get("soc_percent"),
        tag_group_kind: r.get("tag_group_kind"),
        tag_group_name: r.get("tag_group_name"),
        received_at: parse(r.get::<&str, _>("received_at")),
        tariff_version_id: r.get("tariff_version_id"),
        cost: None,
        stored_cost: match (
            r.get::<Option<String>, _>("cost_zone"),
            r.get::<Option<&str>, _>("cost"),
        ) {
            (Some(zone), Some(json)) => serde_json::from_str::<StoredCost>(json)
                .ok()
                .map(|c| (zone, c.into())),
            _ => None,
        },
        cost_rev: r.get("cost_rev"),
        priced: r.get::<Option<&str>, _>("cost_zone").is_some(),
    }
}

/// A transaction as it starts.
#[derive(Debug, Clone)]
pub struct NewTransaction {
    pub station_id: String,
    pub evse_id: i64,
    pub connector_id: Option<i64>,
    /// The subprotocol the station speaks.
    pub protocol: String,
    /// The station's id of it (2.x); None: we issue it (1.6), and it is our id.
    pub charger_tx_id: Option<String>,
    pub id_tag: String,
    pub id_token_type: Option<String>,
    pub start_ts: DateTime<Utc>,
    pub meter_start: Option<i64>,
    pub reservation_id: Option<i64>,
    pub remote_start_id: Option<i64>,
    pub start_auth_status: String,
    pub charging_state: Option<String>,
}

/// The tariff version that applies to a session of station ?1 for tag ?2: the tag's group's,
/// else the station's, else the default one (its newest version).
const TARIFF_FOR: &str = "(SELECT id FROM tariff_versions WHERE tariff_id = (
    SELECT a.tariff_id FROM tariff_assignments a WHERE
       (a.scope = 'group' AND a.target =
           (SELECT group_kind || ':' || group_name FROM id_tags WHERE id_tag = ?2))
       OR (a.scope = 'station' AND a.target = ?1) OR a.scope = 'default'
    ORDER BY CASE a.scope WHEN 'group' THEN 0 WHEN 'station' THEN 1 ELSE 2 END LIMIT 1)
  ORDER BY version DESC LIMIT 1)";

/// Store a start and return its id and whether it is new. A start sent again is the same
/// transaction: for 1.6 the same station, connector, tag, timestamp and meterStart; for 2.x the
/// same station and transaction id.
pub async fn start(
    conn: &mut SqliteConnection,
    t: &NewTransaction,
    now: DateTime<Utc>,
) -> Result<(i64, bool)> {
    let start_ts = fmt(t.start_ts);
    // 1.6: the id we issue is the station's id of it, set once the row has it.
    let conflict = match t.charger_tx_id {
        None => {
            "ON CONFLICT (station_id, evse_id, id_tag, start_ts, meter_start)
             WHERE protocol = 'ocpp1.6' DO NOTHING"
        }
        Some(_) => "ON CONFLICT (station_id, charger_tx_id) DO NOTHING",
    };
    let inserted: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "INSERT INTO transactions (station_id, id_tag, evse_id, start_ts, meter_start,
         reservation_id, start_auth_status, received_at, connector_id, protocol, charger_tx_id,
         id_token_type, remote_start_id, charging_state, tariff_version_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, coalesce(?11, ''), ?12, ?13, ?14,
         {TARIFF_FOR}) {conflict} RETURNING id"
    )))
    .bind(&t.station_id)
    .bind(&t.id_tag)
    .bind(t.evse_id)
    .bind(&start_ts)
    .bind(t.meter_start)
    .bind(t.reservation_id)
    .bind(&t.start_auth_status)
    .bind(fmt(now))
    .bind(t.connector_id)
    .bind(&t.protocol)
    .bind(&t.charger_tx_id)
    .bind(&t.id_token_type)
    .bind(t.remote_start_id)
    .bind(&t.charging_state)
    .fetch_optional(&mut *conn)
    .await
    .map_err(Error::from_db)?;
    if let Some(id) = inserted {
        if t.charger_tx_id.is_none() {
            sqlx::query("UPDATE transactions SET charger_tx_id = CAST(id AS TEXT) WHERE id = ?")
                .bind(id)
                .execute(&mut *conn)
                .await?;
        }
        return Ok((id, true));
    }
    let id: i64 = match &t.charger_tx_id {
        None => sqlx::query_scalar(
            "SELECT id FROM transactions WHERE station_id = ? AND evse_id = ? AND id_tag = ?
             AND start_ts = ? AND meter_start = ? AND protocol = 'ocpp1.6'",
        )
        .bind(&t.station_id)
        .bind(t.evse_id)
        .bind(&t.id_tag)
        .bind(&start_ts)
        .bind(t.meter_start)
        .fetch_one(conn)
        .await
        .map_err(Error::from_db)?,
        Some(tx) => find_id(conn, &t.station_id, tx)
            .await?
            .ok_or(Error::NotFound)?,
    };
    Ok((id, false))
}

/// Our id of a station's transaction, by the station's id of it.
pub async fn find_id(
    ex: impl SqliteExecutor<'_>,
    station_id: &str,
    charger_tx_id: &str,
) -> Result<Option<i64>> {
    Ok(
        sqlx::query_scalar(
            "SELECT id FROM transactions WHERE station_id = ? AND charger_tx_id = ?",
        )
        .bind(station_id)
        .bind(charger_tx_id)
        .fetch_optional(ex)
        .await?,
    )
}

/// What an event of a known transaction needs of it: where it runs and what it last said,
/// without the energy figures [`get`] works out.
#[derive(Debug, Clone, PartialEq)]
pub struct Brief {
    pub evse_id: i64,
    pub connector_id: Option<i64>,
    pub id_tag: String,
    pub charging_state: Option<String>,
    pub remote_start_id: Option<i64>,
    pub stopped: bool,
}

pub async fn brief(ex: impl SqliteExecutor<'_>, id: i64) -> Result<Option<Brief>> {
    let row = sqlx::query(
        "SELECT evse_id, connector_id, id_tag, charging_state, remote_start_id,
                stop_ts IS NOT NULL AS stopped
         FROM transactions WHERE id = ?",
    )
    .bind(id)
    .fetch_optional(ex)
    .await?;
    Ok(row.map(|r| Brief {
        evse_id: r.get("evse_id"),
        connector_id: r.get("connector_id"),
        id_tag: r.get("id_tag"),
        charging_state: r.get("charging_state"),
        remote_start_id: r.get("remote_start_id"),
        stopped: r.get("stopped"),
    }))
}

/// What a 2.x TransactionEvent tells of a running transaction besides its samples; each field
/// set replaces the stored one.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    /// The token (id, type, the status it was answered with), taken only when the transaction
    /// has none yet (a 2.x session that began before one was presented): the tariff of its
    /// group applies from then on if it has one.
    pub token: Option<(String, Option<String>, String)>,
    pub charging_state: Option<String>,
    /// The first register reading, for a transaction whose start had none.
    pub meter_start: Option<i64>,
    pub remote_start_id: Option<i64>,
}

/// Apply `p` to `station_id`'s transaction `id`.
pub async fn progress(
    conn: &mut SqliteConnection,
    station_id: &str,
    id: i64,
    p: &Progress,
) -> Result<()> {
    if let Some((tag, kind, status)) = &p.token {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE transactions SET id_tag = ?2, id_token_type = ?3, start_auth_status = ?4,
             tariff_version_id = coalesce({TARIFF_FOR}, tariff_version_id)
             WHERE id = ?5 AND station_id = ?1 AND id_tag = ''"
        )))
        .bind(station_id)
        .bind(tag)
        .bind(kind)
        .bind(status)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    }
    sqlx::query(
        "UPDATE transactions SET charging_state = coalesce(?, charging_state),
         meter_start = coalesce(meter_start, ?), remote_start_id = coalesce(remote_start_id, ?)
         WHERE id = ?",
    )
    .bind(&p.charging_state)
    .bind(p.meter_start)
    .bind(p.remote_start_id)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
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
    // A session the central system closed itself takes the charger's own stop when it comes:
    // the charger knows when and at what reading it really ended (its cost is priced again).
    let r = sqlx::query(
        "UPDATE transactions SET stop_ts = ?, meter_stop = ?, stop_reason = ?, stop_id_tag = ?,
         stop_received_at = ?, closed_by = NULL, close_note = NULL, cost = NULL,
         cost_zone = NULL, cost_rev = cost_rev + (stop_ts IS NOT NULL)
         WHERE id = ? AND station_id = ? AND (stop_ts IS NULL OR closed_by IS NOT NULL)",
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

/// The central system closing a running session the charger no longer reports on.
#[derive(Debug, Clone)]
pub struct Closing {
    pub transaction_id: i64,
    pub stop_ts: DateTime<Utc>,
    pub meter_stop: i64,
    /// Stored as the stop reason.
    pub reason: String,
    /// "system", or the operator.
    pub closed_by: String,
    pub note: String,
}

/// Close a running session; false when it is not running (anymore).
pub async fn close(conn: &mut SqliteConnection, c: &Closing, now: DateTime<Utc>) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE transactions SET stop_ts = ?, meter_stop = ?, stop_reason = ?, closed_by = ?,
         close_note = ?, stop_received_at = ? WHERE id = ? AND stop_ts IS NULL",
    )
    .bind(fmt(c.stop_ts))
    .bind(c.meter_stop)
    .bind(&c.reason)
    .bind(&c.closed_by)
    .bind(&c.note)
    .bind(fmt(now))
    .bind(c.transaction_id)
    .execute(conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// A session's latest energy register reading (time, Wh), if it has one.
pub async fn last_reading(
    ex: impl SqliteExecutor<'_>,
    id: i64,
) -> Result<Option<(DateTime<Utc>, i64)>> {
    let row = sqlx::query(
        "SELECT timestamp, value FROM meter_samples WHERE transaction_id = ?
         AND measurand = 'Energy.Active.Import.Register' AND phase IS NULL AND value IS NOT NULL
         ORDER BY timestamp DESC, id DESC LIMIT 1",
    )
    .bind(id)
    .fetch_optional(ex)
    .await?;
    Ok(row.map(|r| {
        let wh: f64 = r.get("value");
        (parse(r.get::<&str, _>("timestamp")), wh.round() as i64)
    }))
}

/// The running sessions of one EVSE, oldest first.
pub async fn running_on(
    ex: impl SqliteExecutor<'_>,
    station_id: &str,
    evse_id: i64,
) -> Result<Vec<Transaction>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE t.station_id = ? AND t.evse_id = ? AND t.stop_ts IS NULL
         ORDER BY t.start_ts, t.id"
    )))
    .bind(station_id)
    .bind(evse_id)
    .fetch_all(ex)
    .await?;
    Ok(rows.iter().map(map).collect())
}

/// Every running session, oldest first.
pub async fn running(ex: impl SqliteExecutor<'_>) -> Result<Vec<Transaction>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE t.stop_ts IS NULL ORDER BY t.start_ts, t.id"
    )))
    .fetch_all(ex)
    .await?;
    Ok(rows.iter().map(map).collect())
}

/// The running sessions of one station, oldest first.
pub async fn running_at(ex: impl SqliteExecutor<'_>, station_id: &str) -> Result<Vec<Transaction>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE t.station_id = ? AND t.stop_ts IS NULL ORDER BY t.start_ts, t.id"
    )))
    .bind(station_id)
    .fetch_all(ex)
    .await?;
    Ok(rows.iter().map(map).collect())
}

/// The meterStart (Wh) of one of the station's transactions: None when it has no such
/// transaction, `Some(None)` while its start reading is not known (2.x).
pub async fn meter_start(
    ex: impl SqliteExecutor<'_>,
    station_id: &str,
    id: i64,
) -> Result<Option<Option<i64>>> {
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
    pub evse_id: Option<i64>,
    pub id_tag: Option<String>,
    /// Tags starting with this, in any case (a search as typed).
    #[serde(default)]
    pub tag_prefix: Option<String>,
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
    if let Some(c) = f.evse_id {
        q.push(" AND t.evse_id = ").push_bind(c);
    }
    if let Some(tag) = &f.id_tag {
        q.push(" AND t.id_tag = ").push_bind(tag.clone());
    }
    if let Some(prefix) = f.tag_prefix.as_deref().filter(|p| !p.is_empty()) {
        // SQLite's LIKE ignores the case of ASCII letters (what tag ids are made of).
        q.push(" AND t.id_tag LIKE ")
            .push_bind(format!("{}%", crate::model::like_literal(prefix)))
            .push(crate::model::LIKE_ESCAPE);
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

/// A cost as stored: a JSON array in the order of [`Cost`]'s fields, a third the size of the
/// object and read without matching names (an invoice reads 100 000 of them).
#[derive(Serialize, Deserialize)]
struct StoredCost(String, u32, [i64; 5], [i64; 8], i64);

impl From<&Cost> for StoredCost {
    fn from(c: &Cost) -> Self {
        StoredCost(
            c.currency.clone(),
            c.decimals,
            c.usage(),
            c.amounts(),
            c.total,
        )
    }
}

/// The inverse of [`Cost::usage`] and [`Cost::amounts`].
impl From<StoredCost> for Cost {
    fn from(StoredCost(currency, decimals, usage, parts, total): StoredCost) -> Self {
        let [
            energy_wh,
            charging_seconds,
            plugged_seconds,
            idle_seconds,
            billed_idle_seconds,
        ] = usage;
        let [
            energy,
            charging_time,
            plugged_time,
            idle,
            session_fee,
            adjustment,
            net,
            vat,
        ] = parts;
        Cost {
            currency,
            decimals,
            energy_wh,
            charging_seconds,
            plugged_seconds,
            idle_seconds,
            billed_idle_seconds,
            energy,
            charging_time,
            plugged_time,
            idle,
            session_fee,
            adjustment,
            net,
            vat,
            total,
        }
    }
}

/// A stopped session as priced: its cost and energy per hour, from the data as of `rev`.
#[derive(Debug, Clone)]
pub struct Priced {
    pub id: i64,
    pub station_id: String,
    /// The cost_rev it was priced from.
    pub rev: i64,
    pub zone: String,
    /// None: no tariff applied; the energy per hour is stored all the same.
    pub cost: Option<Cost>,
    /// Energy per UTC hour (hour start, Wh).
    pub hours: Vec<(DateTime<Utc>, i64)>,
}

/// Store final costs and energy per hour as priced. A session that received late data since (its
/// cost_rev moved on) is left as it is. Returns how many were stored.
pub async fn save_costs(conn: &mut SqliteConnection, priced: &[Priced]) -> Result<u64> {
    let mut saved = 0;
    for p in priced {
        let json = p
            .cost
            .as_ref()
            .map(|c| serde_json::to_string(&StoredCost::from(c)))
            .transpose()
            .map_err(|e| Error::Corrupt(format!("cost of session {}: {e}", p.id)))?;
        let stored = sqlx::query(
            "UPDATE transactions SET cost = ?, cost_zone = ? WHERE id = ? AND cost_rev = ?
             AND stop_ts IS NOT NULL",
        )
        .bind(json)
        .bind(&p.zone)
        .bind(p.id)
        .bind(p.rev)
        .execute(&mut *conn)
        .await?
        .rows_affected();
        if stored == 0 {
            continue;
        }
        saved += stored;
        // Out with the session's old hours (and their share of the daily sums), in with the new.
        sqlx::query(
            "UPDATE station_energy_daily AS d SET wh = d.wh - o.wh
             FROM (SELECT station_id, hour / 24 AS day, sum(wh) AS wh FROM session_energy
                   WHERE transaction_id = ? GROUP BY station_id, day) AS o
             WHERE d.station_id = o.station_id AND d.day = o.day",
        )
        .bind(p.id)
        .execute(&mut *conn)
        .await?;
        sqlx::query("DELETE FROM session_energy WHERE transaction_id = ?")
            .bind(p.id)
            .execute(&mut *conn)
            .await?;
        if !p.hours.is_empty() {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO session_energy (transaction_id, station_id, hour, wh) ",
            );
            q.push_values(&p.hours, |mut b, (hour, wh)| {
                b.push_bind(p.id)
                    .push_bind(&p.station_id)
                    .push_bind(hour.timestamp().div_euclid(3600))
                    .push_bind(*wh);
            });
            q.build().execute(&mut *conn).await?;
            sqlx::query(
                "INSERT INTO station_energy_daily (station_id, day, wh)
                 SELECT station_id, hour / 24 AS day, sum(wh) FROM session_energy
                 WHERE transaction_id = ? GROUP BY station_id, day
                 ON CONFLICT (day, station_id) DO UPDATE SET wh = wh + excluded.wh",
            )
            .bind(p.id)
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(saved)
}

/// Late data for stopped sessions: forget their stored costs.
pub(crate) fn push_forget_costs(q: &mut QueryBuilder<Sqlite>, ids: &[i64]) {
    // SQLite allows 32766 bound parameters per statement.
    for chunk in ids.chunks(10_000) {
        q.push(
            "UPDATE transactions SET cost = NULL, cost_zone = NULL, cost_rev = cost_rev + 1
             WHERE stop_ts IS NOT NULL AND id IN (",
        );
        let mut list = q.separated(", ");
        for id in chunk {
            list.push_bind(*id);
        }
        q.push(");");
    }
}

/// Which finished sessions go on an invoice: stopped in `[stopped_from, stopped_to)`, for one
/// tag group ("kind", "name") or one tag, or all.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InvoiceFilter {
    pub stopped_from: DateTime<Utc>,
    pub stopped_to: DateTime<Utc>,
    pub group: Option<(String, String)>,
    pub id_tag: Option<String>,
    /// The sessions not billed instead: started with a tag we refused (for counting them).
    pub unbilled: bool,
}

/// A session with what its invoice line needs besides the cost.
#[derive(Debug, Clone)]
pub struct InvoiceRow {
    pub session: Billable,
    pub id_tag: String,
    pub group_kind: Option<String>,
    pub group_name: Option<String>,
    pub tariff_name: Option<String>,
    pub tariff_version: Option<i64>,
}

/// An invoice row as SQLite writes it: `[[columns of invoice_page], cost]`, the cost as stored.
#[derive(Deserialize)]
struct RawInvoiceRow(RawColumns, Option<StoredCost>);

#[derive(Deserialize)]
struct RawColumns(
    i64,
    String,
    i64,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    i64,
    Option<String>,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i64>,
);

impl From<RawInvoiceRow> for InvoiceRow {
    fn from(RawInvoiceRow(r, cost): RawInvoiceRow) -> Self {
        InvoiceRow {
            session: Billable {
                id: r.0,
                station_id: r.1,
                evse_id: r.2,
                start_ts: r.3,
                stop_ts: r.4,
                meter_start: r.5,
                meter_stop: r.6,
                tariff_version_id: r.7,
                billed: true,
                cost_rev: r.8,
                priced: r.9.is_some(),
                stored_cost: r.9.zip(cost.map(Cost::from)),
            },
            id_tag: r.10,
            group_kind: r.11,
            group_name: r.12,
            tariff_name: r.13,
            tariff_version: r.14,
        }
    }
}

/// The filter, from `after` (stop time, id) on when given: the index on stop_ts then starts each
/// page where the last ended instead of at the start of the period.
fn push_invoice_filter(
    q: &mut QueryBuilder<Sqlite>,
    f: &InvoiceFilter,
    after: Option<(DateTime<Utc>, i64)>,
) {
    match after {
        Some((stop, id)) => {
            let stop = fmt(stop);
            q.push(" WHERE t.stop_ts >= ")
                .push_bind(stop.clone())
                .push(" AND (t.stop_ts > ")
                .push_bind(stop)
                .push(" OR t.id > ")
                .push_bind(id)
                .push(")");
        }
        None => {
            q.push(" WHERE t.stop_ts >= ")
                .push_bind(fmt(f.stopped_from));
        }
    }
    q.push(" AND t.stop_ts < ").push_bind(fmt(f.stopped_to));
    q.push(if f.unbilled {
        " AND t.start_auth_status <> 'Accepted'"
    } else {
        " AND t.start_auth_status = 'Accepted'"
    });
    if let Some((kind, name)) = &f.group {
        q.push(" AND g.group_kind = ")
            .push_bind(kind.clone())
            .push(" AND g.group_name = ")
            .push_bind(name.clone());
    }
    if let Some(tag) = &f.id_tag {
        q.push(" AND t.id_tag = ").push_bind(tag.clone());
    }
}

const INVOICE_FROM: &str = " FROM transactions t LEFT JOIN id_tags g ON g.id_tag = t.id_tag";

pub async fn invoice_count(ex: &sqlx::SqlitePool, f: &InvoiceFilter) -> Result<i64> {
    // The tags are only joined to filter by their group.
    let from = if f.group.is_some() {
        INVOICE_FROM
    } else {
        " FROM transactions t"
    };
    let mut q = QueryBuilder::<Sqlite>::new(format!("SELECT COUNT(*){from}"));
    push_invoice_filter(&mut q, f, None);
    Ok(q.build_query_scalar().fetch_one(ex).await?)
}

/// A page of invoice sessions as SQLite wrote it, and the key (stop time, id) of its last one.
pub struct InvoicePage {
    json: String,
    pub last: Option<(DateTime<Utc>, i64)>,
}

impl InvoicePage {
    /// The sessions, in the order they stopped.
    pub fn rows(&self) -> Result<Vec<InvoiceRow>> {
        let raw: Vec<RawInvoiceRow> = serde_json::from_str(&self.json)
            .map_err(|e| Error::Corrupt(format!("invoice page: {e}")))?;
        let mut rows: Vec<InvoiceRow> = raw.into_iter().map(InvoiceRow::from).collect();
        // The aggregate keeps the inner order in practice; make sure.
        rows.sort_by_key(|a| (a.session.stop_ts, a.session.id));
        Ok(rows)
    }
}

/// The next `limit` invoice sessions after `after` (stop time, id), in the order they stopped.
/// A page comes back as one JSON document built by SQLite, the stored costs spliced in as they
/// are: a row per session through sqlx costs more than all the work on it otherwise. The key of
/// the last comes with it, so the next page can be asked for before this one is parsed.
pub async fn invoice_page(
    ex: &sqlx::SqlitePool,
    f: &InvoiceFilter,
    after: Option<(DateTime<Utc>, i64)>,
    limit: i64,
) -> Result<InvoicePage> {
    let mut q = QueryBuilder::<Sqlite>::new(
        "SELECT '[' || COALESCE(group_concat('[' || json_array(t.id, t.station_id, t.evse_id,
            t.start_ts, t.stop_ts, t.meter_start, t.meter_stop, t.tariff_version_id, t.cost_rev,
            t.cost_zone, t.id_tag, t.group_kind, t.group_name, f.name, v.version)
            || ',' || COALESCE(t.cost, 'null') || ']', ','), '') || ']',
            max(printf('%s %020d', t.stop_ts, t.id))
         FROM (SELECT t.*, g.group_kind, g.group_name",
    );
    q.push(INVOICE_FROM);
    push_invoice_filter(&mut q, f, after);
    q.push(" ORDER BY t.stop_ts, t.id LIMIT ")
        .push_bind(limit)
        .push(
            ") t LEFT JOIN tariff_versions v ON v.id = t.tariff_version_id
             LEFT JOIN tariffs f ON f.id = v.tariff_id",
        );
    let row = q.build().fetch_one(ex).await?;
    let last = row
        .get::<Option<&str>, _>(1)
        .and_then(|k| k.split_once(' '))
        .and_then(|(stop, id)| Some((parse(stop), id.parse().ok()?)));
    Ok(InvoicePage {
        json: row.get(0),
        last,
    })
}

/// Sessions overlapping `[from, to)` (of one station, or all) whose energy per hour is not stored:
/// running ones, and stopped ones not priced since their last data.
pub async fn unpriced(
    ex: &sqlx::SqlitePool,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    station_id: Option<&str>,
) -> Result<Vec<Transaction>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE t.cost_zone IS NULL AND (t.stop_ts IS NULL OR t.stop_ts >= ?1)
         AND t.start_ts < ?2 AND (?3 IS NULL OR t.station_id = ?3)"
    )))
    .bind(fmt(from))
    .bind(fmt(to))
    .bind(station_id)
    .fetch_all(ex)
    .await?;
    Ok(rows.iter().map(map).collect())
}

#[cfg(test)]
mod tests {
    /// The latest readings are read through the transaction's entries in
    /// `meter_samples_by_transaction` (and the range of samples not indexed yet), never by reading
    /// every sample: through the view, SQLite would scan all of them for each transaction listed.
    #[tokio::test]
    async fn latest_readings_use_the_transaction_index() {
        let plan = crate::explain(&format!("{} WHERE t.id = 1", super::SELECT)).await;
        let by_index = plan
            .lines()
            .filter(|l| l.starts_with("SEARCH x USING PRIMARY KEY (transaction_id=?)"))
            .count();
        assert_eq!(by_index, 3, "energy, power and SoC each by index:\n{plan}");
        let unindexed = plan
            .lines()
            .filter(|l| l.starts_with("SEARCH m USING INTEGER PRIMARY KEY (rowid>?)"))
            .count();
        assert_eq!(
            unindexed, 3,
            "and each by the range not yet indexed:\n{plan}"
        );
        assert!(!plan.contains("SCAN m"), "{plan}");
    }
}
