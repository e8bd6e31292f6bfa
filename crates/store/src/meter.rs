//! `meter_samples`: every sampled value, raw and normalised.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::sqlite::{Sqlite, SqliteConnection, SqliteRow};
use sqlx::{QueryBuilder, Row};
use ts_rs::TS;

use crate::error::Result;
use crate::model::MeterSample;
use crate::text::Text;
use crate::time::{fmt, parse};

/// One sampled value to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSample {
    pub station_id: Text,
    /// The EVSE (1.6: the connector) it was measured on; 0 for the station as a whole.
    pub evse_id: i64,
    pub transaction_id: Option<i64>,
    /// 2.x: the seqNo of the TransactionEvent it came with.
    pub seq_no: Option<i64>,
    pub timestamp: DateTime<Utc>,
    pub measurand: Text,
    pub phase: Option<Text>,
    pub location: Option<Text>,
    pub context: Option<Text>,
    pub format: Option<Text>,
    pub unit: Option<Text>,
    pub raw_value: Text,
    pub value: Option<f64>,
    pub value_unit: Option<Text>,
}

/// Store samples now (the writer appends them with its commits).
pub async fn insert(
    conn: &mut SqliteConnection,
    samples: Vec<NewSample>,
    now: DateTime<Utc>,
) -> Result<()> {
    let late = transactions_of(&samples);
    crate::logs::append_samples(&mut *conn, samples, now, &mut true).await?;
    let mut q = QueryBuilder::<Sqlite>::new("");
    crate::transactions::push_forget_costs(&mut q, &late);
    Ok(crate::execute_once(conn, q).await?)
}

/// The transactions `samples` belong to (sorted, once each): samples for a stopped session
/// change what it costs, so whoever stores them forgets those costs in the same transaction.
pub(crate) fn transactions_of(samples: &[NewSample]) -> Vec<i64> {
    let mut ids: Vec<i64> = samples.iter().filter_map(|s| s.transaction_id).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

fn map(r: &SqliteRow) -> MeterSample {
    MeterSample {
        id: r.get("id"),
        station_id: r.get("station_id"),
        evse_id: r.get("evse_id"),
        transaction_id: r.get("transaction_id"),
        timestamp: parse(r.get::<&str, _>("timestamp")),
        measurand: r.get("measurand"),
        phase: r.get("phase"),
        location: r.get("location"),
        context: r.get("context"),
        format: r.get("format"),
        unit: r.get("unit"),
        raw_value: r.get("raw_value"),
        value: r.get("value"),
        value_unit: r.get("value_unit"),
    }
}

/// Which samples to read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
pub struct SampleFilter {
    pub station_id: Option<String>,
    pub evse_id: Option<i64>,
    pub transaction_id: Option<i64>,
    pub measurand: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub limit: Option<i64>,
}

/// Oldest first (the order charts draw them), at most 100 000.
///
/// A station's samples are read through its transactions (`meter_samples_by_transaction`) and
/// the index of samples outside any transaction (`meter_samples_unlinked`): there is no
/// per-station index on every sample (migrations 0009 and 0011).
pub async fn query(ex: &sqlx::SqlitePool, f: &SampleFilter) -> Result<Vec<MeterSample>> {
    let mut q = QueryBuilder::<Sqlite>::new("SELECT * FROM ");
    match (&f.station_id, f.transaction_id) {
        (Some(station), None) => {
            q.push("(SELECT * FROM meter_samples WHERE transaction_id IS NULL AND station_id = ")
                .push_bind(station.clone());
            push_filter(&mut q, f);
            q.push(
                " UNION ALL SELECT * FROM meter_samples WHERE transaction_id IN
                 (SELECT id FROM transactions WHERE station_id = ",
            )
            .push_bind(station.clone())
            .push(") AND station_id = ")
            .push_bind(station.clone());
            push_filter(&mut q, f);
            q.push(")");
        }
        _ => {
            q.push("meter_samples WHERE 1 = 1");
            if let Some(t) = f.transaction_id {
                q.push(" AND transaction_id = ").push_bind(t);
            }
            if let Some(s) = &f.station_id {
                q.push(" AND station_id = ").push_bind(s.clone());
            }
            push_filter(&mut q, f);
        }
    }
    q.push(" ORDER BY timestamp, id LIMIT ")
        .push_bind(f.limit.unwrap_or(10_000).clamp(1, 100_000));
    let rows = q.build().fetch_all(ex).await?;
    Ok(rows.iter().map(map).collect())
}

/// The filter's terms other than station and transaction.
fn push_filter(q: &mut QueryBuilder<Sqlite>, f: &SampleFilter) {
    if let Some(c) = f.evse_id {
        q.push(" AND evse_id = ").push_bind(c);
    }
    if let Some(m) = &f.measurand {
        q.push(" AND measurand = ").push_bind(m.clone());
    }
    if let Some(from) = f.from {
        q.push(" AND timestamp >= ").push_bind(fmt(from));
    }
    if let Some(to) = f.to {
        q.push(" AND timestamp < ").push_bind(fmt(to));
    }
}

/// The seqNos of the TransactionEvents whose samples a transaction has (2.x).
pub async fn seq_nos(ex: &sqlx::SqlitePool, transaction_id: i64) -> Result<Vec<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT seq_no FROM meter_samples WHERE transaction_id = ? AND seq_no IS NOT NULL
         ORDER BY seq_no",
    )
    .bind(transaction_id)
    .fetch_all(ex)
    .await?)
}

/// A transaction's energy register readings (Wh, the whole-meter import register), oldest first.
pub async fn energy_readings(
    ex: &sqlx::SqlitePool,
    transaction_id: i64,
) -> Result<Vec<(DateTime<Utc>, i64)>> {
    let rows = sqlx::query(
        "SELECT timestamp, value FROM meter_samples WHERE transaction_id = ?
         AND measurand = 'Energy.Active.Import.Register' AND phase IS NULL AND value IS NOT NULL
         ORDER BY timestamp, id",
    )
    .bind(transaction_id)
    .fetch_all(ex)
    .await?;
    Ok(rows
        .iter()
        .map(|r| {
            let wh: f64 = r.get("value");
            (parse(r.get::<&str, _>("timestamp")), wh.round() as i64)
        })
        .collect())
}

/// A running transaction's first state of charge (%) and the energy register (Wh) read with
/// it, if it reported both together: with the latest of each, how big its battery is.
pub async fn first_soc(ex: &sqlx::SqlitePool, transaction_id: i64) -> Result<Option<(f64, f64)>> {
    let row = sqlx::query(
        "SELECT s.value AS soc, (SELECT e.value FROM meter_samples e
            WHERE e.transaction_id = s.transaction_id AND e.timestamp = s.timestamp
            AND e.measurand = 'Energy.Active.Import.Register' AND e.phase IS NULL
            AND e.value IS NOT NULL LIMIT 1) AS wh
         FROM meter_samples s WHERE s.transaction_id = ? AND s.measurand = 'SoC'
         AND s.value IS NOT NULL ORDER BY s.timestamp, s.id LIMIT 1",
    )
    .bind(transaction_id)
    .fetch_optional(ex)
    .await?;
    Ok(row.and_then(|r| {
        let wh: Option<f64> = r.get("wh");
        wh.map(|wh| (r.get("soc"), wh))
    }))
}

/// A transaction's power (W, mean), energy register (Wh, highest) and state of charge (%, mean)
/// per `bucket_seconds`, as `(bucket start, unix seconds; measurand; value)`, oldest first:
/// aggregated here, so a chart gets about one point per pixel however dense the samples are.
pub async fn session_series(
    ex: &sqlx::SqlitePool,
    transaction_id: i64,
    bucket_seconds: i64,
) -> Result<Vec<(i64, String, f64)>> {
    let rows = sqlx::query(
        "SELECT measurand, (CAST(strftime('%s', timestamp) AS INTEGER) / ?2) * ?2 AS at,
            CASE measurand WHEN 'Energy.Active.Import.Register' THEN max(value) ELSE avg(value)
            END AS v
         FROM meter_samples WHERE transaction_id = ?1 AND phase IS NULL AND value IS NOT NULL
         AND measurand IN ('Power.Active.Import', 'Energy.Active.Import.Register', 'SoC')
         GROUP BY measurand, at ORDER BY at",
    )
    .bind(transaction_id)
    .bind(bucket_seconds.max(1))
    .fetch_all(ex)
    .await?;
    Ok(rows
        .iter()
        .map(|r| (r.get("at"), r.get("measurand"), r.get("v")))
        .collect())
}

/// Stopped sessions' energy per station over `[from, to)`, as `(station, bucket start in unix
/// seconds, Wh)`: in buckets of `bucket_hours` UTC hours, or with `daily`, per UTC day (the days
/// `from` and `to` fall in included). Read from the energy per hour (or day) stored with each
/// session's cost, not from the samples.
pub async fn energy_by_station(
    ex: &sqlx::SqlitePool,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    bucket_hours: i64,
    daily: bool,
    station_id: Option<&str>,
) -> Result<Vec<(String, i64, i64)>> {
    // One JSON document for all buckets: a row each through sqlx costs more than the query.
    let (sql, first, last) = if daily {
        (
            "SELECT json_group_array(json_array(station_id, day * 86400, wh)) FROM station_energy_daily
             WHERE day >= ?1 AND day < ?2 AND (?4 IS NULL OR station_id = ?4) AND wh != 0",
            from.timestamp().div_euclid(86_400),
            (to.timestamp() + 86_399).div_euclid(86_400),
        )
    } else {
        (
            "SELECT json_group_array(json_array(station_id, at * 3600, wh)) FROM (
                SELECT station_id, (hour / ?3) * ?3 AS at, sum(wh) AS wh FROM session_energy
                WHERE hour >= ?1 AND hour < ?2 AND (?4 IS NULL OR station_id = ?4)
                GROUP BY station_id, at)",
            from.timestamp().div_euclid(3600),
            (to.timestamp() + 3599).div_euclid(3600),
        )
    };
    let json: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(first)
        .bind(last)
        .bind(bucket_hours.max(1))
        .bind(station_id)
        .fetch_one(ex)
        .await?;
    serde_json::from_str(json.as_deref().unwrap_or("[]"))
        .map_err(|e| crate::Error::Corrupt(format!("energy per station: {e}")))
}

/// What sessions that stopped in an hour cost in one currency: (currency, decimals, total with
/// VAT in minor units).
pub type CurrencyTotal = (String, u32, i64);

/// Per UTC hour over `[from, to)`: the energy stopped sessions delivered, and the totals of the
/// sessions that stopped in it per currency, as `(hour start in unix seconds, Wh, totals)`. For
/// energy and cost per day or month.
pub async fn hourly_totals(
    ex: &sqlx::SqlitePool,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<(i64, i64, Vec<CurrencyTotal>)>> {
    let (first, last) = (
        from.timestamp().div_euclid(3600),
        (to.timestamp() + 3599).div_euclid(3600),
    );
    let energy: Option<String> = sqlx::query_scalar(
        "SELECT json_group_array(json_array(hour * 3600, wh)) FROM (
            SELECT hour, sum(wh) AS wh FROM session_energy WHERE hour >= ?1 AND hour < ?2
            GROUP BY hour)",
    )
    .bind(first)
    .bind(last)
    .fetch_one(ex)
    .await?;
    // Stored costs are `[currency, decimals, [usage…], [parts…], total]`.
    let costs: Option<String> = sqlx::query_scalar(
        "SELECT json_group_array(json_array(at, currency, decimals, total)) FROM (
            SELECT CAST(strftime('%s', substr(stop_ts, 1, 13) || ':00:00Z') AS INTEGER) AS at,
                json_extract(cost, '$[0]') AS currency, json_extract(cost, '$[1]') AS decimals,
                sum(json_extract(cost, '$[4]')) AS total
            FROM transactions WHERE stop_ts >= ?1 AND stop_ts < ?2 AND cost IS NOT NULL
            GROUP BY at, currency)",
    )
    .bind(crate::time::fmt(from))
    .bind(crate::time::fmt(to))
    .fetch_one(ex)
    .await?;
    let parse = |what: &str, json: Option<String>| {
        serde_json::from_str::<serde_json::Value>(json.as_deref().unwrap_or("[]"))
            .map_err(|e| crate::Error::Corrupt(format!("{what}: {e}")))
    };
    let mut hours: std::collections::BTreeMap<i64, (i64, Vec<CurrencyTotal>)> = Default::default();
    for e in parse("energy per hour", energy)?
        .as_array()
        .into_iter()
        .flatten()
    {
        hours
            .entry(e[0].as_i64().unwrap_or_default())
            .or_default()
            .0 += e[1].as_i64().unwrap_or_default();
    }
    for c in parse("costs per hour", costs)?
        .as_array()
        .into_iter()
        .flatten()
    {
        hours
            .entry(c[0].as_i64().unwrap_or_default())
            .or_default()
            .1
            .push((
                c[1].as_str().unwrap_or_default().to_string(),
                c[2].as_u64().unwrap_or_default() as u32,
                c[3].as_i64().unwrap_or_default(),
            ));
    }
    Ok(hours
        .into_iter()
        .map(|(at, (wh, costs))| (at, wh, costs))
        .collect())
}

/// Where [`thin`] got to: the id of the last sample it has looked at (settings table).
const THINNED_TO: &str = "meter_samples_thinned_to";

/// Thin the readings taken before `before` to the first and the last of each quarter hour (per
/// session or station, EVSE, measurand, phase and location), looking at up to `chunk` samples
/// after those an earlier call looked at. Only indexed (folded) samples are touched, and only
/// in id order, so a call is bounded whatever the database holds. Returns how many were
/// deleted and whether older samples remain to look at (call again).
pub async fn thin(
    conn: &mut SqliteConnection,
    before: DateTime<Utc>,
    chunk: i64,
) -> Result<(u64, bool)> {
    let from: i64 = crate::settings::get(&mut *conn, THINNED_TO)
        .await?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let Some((count, upto, more)) = crate::logs::thin_samples(conn, from, before, chunk).await?
    else {
        return Ok((0, false));
    };
    crate::settings::set(conn, THINNED_TO, &upto.to_string()).await?;
    Ok((count, more))
}
