//! How the rows the hot path writes most (raw frames, meter samples) are logged, indexed and kept
//! out of the way of every acknowledgement: the store's performance machinery, in one place. No
//! other module names the tables below; they read and write these rows through the views
//! (`frames`, `frame_ids`, `meter_samples`) and the functions here.
//!
//! - Appended rows go into logs (`frames_log`, `meter_samples_log`) that have no index but their
//!   primary key, so a commit only adds to their last pages however many stations it holds; they
//!   go in through statements of fixed row counts prepared once ([`append`]).
//! - The writer folds the rows logged since into index tables (`frames_by_station`,
//!   `meter_samples_by_transaction`, `meter_samples_unlinked`) every quarter second, or every
//!   second when busy, where a station's rows since the last fold share the index pages they land
//!   on; `folded` holds the last id each log's index covers, and the views read the covered rows
//!   through the index and the rest as a range of ids ([`fold`]; migrations 0010 and 0011).
//! - The WAL is checkpointed beside the writer and started over between its commits, so it stays
//!   bounded under sustained load without stalling the commits for long ([`wal`]).
//!
//! Why each piece is as it is, with the figures: docs/PERFORMANCE.md.

mod append;
pub mod fold;
pub(crate) mod wal;

use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteConnection;
use sqlx::{Executor, Row};

use crate::error::Result;
use crate::frames::NewFrame;
use crate::meter::NewSample;
use crate::text::{Text, word};
use crate::time::fmt;
use append::Append;

pub use fold::fold;

/// A frame's columns besides its id, in the order [`append_frames`] binds them.
const FRAME_COLUMNS: &str = "station_id, direction, at, message_type, message_id, action, text";

static FRAMES: Append = Append::new("frames_log", FRAME_COLUMNS);

/// A sample's columns besides its id, in the order [`append_samples`] binds them.
const SAMPLE_COLUMNS: &str = "station_id, evse_id, transaction_id, timestamp, measurand, \
    phase, location, context, format, unit, raw_value, value, value_unit, received_at, seq_no";

static SAMPLES: Append = Append::new("meter_samples_log", SAMPLE_COLUMNS);

/// Append `frames` to the message log, beginning the transaction unless `open` (`Append::run`).
pub(crate) async fn append_frames(
    conn: &mut SqliteConnection,
    frames: Vec<NewFrame>,
    open: &mut bool,
) -> sqlx::Result<()> {
    FRAMES
        .run(conn, frames, open, |q, f| {
            q.bind(f.station_id)
                .bind(word(f.direction))
                .bind(fmt(f.at))
                .bind(f.message_type)
                .bind(f.message_id)
                .bind(f.action)
                .bind(f.text)
        })
        .await
}

/// Append `samples` to the sample log, received at `now`, beginning the transaction unless
/// `open` (`Append::run`).
pub(crate) async fn append_samples(
    conn: &mut SqliteConnection,
    samples: Vec<NewSample>,
    now: DateTime<Utc>,
    open: &mut bool,
) -> sqlx::Result<()> {
    let received = Text::from(fmt(now));
    // The samples of one meter value share its timestamp, formatted once.
    let mut stamp: Option<(DateTime<Utc>, Text)> = None;
    SAMPLES
        .run(conn, samples, open, |q, s| {
            let timestamp = match &stamp {
                Some((at, text)) if *at == s.timestamp => text.clone(),
                _ => stamp
                    .insert((s.timestamp, fmt(s.timestamp).into()))
                    .1
                    .clone(),
            };
            q.bind(s.station_id)
                .bind(s.evse_id)
                .bind(s.transaction_id)
                .bind(timestamp)
                .bind(s.measurand)
                .bind(s.phase)
                .bind(s.location)
                .bind(s.context)
                .bind(s.format)
                .bind(s.unit)
                .bind(s.raw_value)
                .bind(s.value)
                .bind(s.value_unit)
                .bind(received.clone())
                .bind(s.seq_no)
        })
        .await
}

/// The latest reading (by sample time) of `$expr` over the samples of the transaction `t` (the
/// query's alias) matching `$cond` (both over the sample `m`), as a scalar subquery. Written
/// against the indexed samples and those not indexed yet, each read newest first through the
/// transaction's index entries or the range of ids not yet indexed: through the view, SQLite
/// would read every sample.
macro_rules! latest_sample {
    ($expr:literal, $cond:literal) => {
        concat!(
            "(SELECT v FROM (SELECT * FROM (SELECT ",
            $expr,
            " AS v, m.timestamp AS ts, m.id AS i
              FROM meter_samples_by_transaction x CROSS JOIN meter_samples_log m ON m.id = x.id
              WHERE x.transaction_id = t.id AND ",
            $cond,
            "
              ORDER BY x.timestamp DESC, x.id DESC LIMIT 1)
            UNION ALL SELECT * FROM (SELECT ",
            $expr,
            ", m.timestamp, m.id
              FROM meter_samples_log m WHERE m.id > (SELECT meter_samples FROM folded)
              AND m.transaction_id = t.id AND ",
            $cond,
            "
              ORDER BY m.timestamp DESC, m.id DESC LIMIT 1))
            ORDER BY ts DESC, i DESC LIMIT 1)"
        )
    };
}
pub(crate) use latest_sample;

/// Delete frames logged before `before`, indexed or not; returns how many.
pub(crate) async fn delete_frames_before(
    conn: &mut SqliteConnection,
    before: DateTime<Utc>,
) -> Result<u64> {
    sqlx::query(
        "DELETE FROM frames_by_station WHERE id IN (SELECT id FROM frames_log WHERE at < ?1)",
    )
    .bind(fmt(before))
    .execute(&mut *conn)
    .await?;
    Ok(sqlx::query("DELETE FROM frames_log WHERE at < ?1")
        .bind(fmt(before))
        .execute(&mut *conn)
        .await?
        .rows_affected())
}

/// Delete every frame and sample of the stations `stations` selects (an SQL query of station
/// ids), indexed or not. Samples are found through the transactions of those stations, so this
/// runs before those transactions go.
pub(crate) async fn delete_stations(conn: &mut SqliteConnection, stations: &str) -> Result<()> {
    let steps = [
        // Log rows through the index tables (the logs have no per-station index), then the
        // index entries, then the rows logged since the last fold.
        format!(
            "DELETE FROM meter_samples_log WHERE id IN (SELECT x.id
             FROM meter_samples_by_transaction x WHERE x.transaction_id IN
             (SELECT t.id FROM transactions t WHERE t.station_id IN ({stations})))"
        ),
        format!(
            "DELETE FROM meter_samples_by_transaction WHERE transaction_id IN
             (SELECT t.id FROM transactions t WHERE t.station_id IN ({stations}))"
        ),
        format!(
            "DELETE FROM meter_samples_log WHERE id IN (SELECT u.id FROM meter_samples_unlinked u
             WHERE u.station_id IN ({stations}))"
        ),
        format!("DELETE FROM meter_samples_unlinked WHERE station_id IN ({stations})"),
        format!(
            "DELETE FROM meter_samples_log WHERE id > (SELECT meter_samples FROM folded)
             AND station_id IN ({stations})"
        ),
        // Indexed or not, a station's frames are found through `frame_ids`.
        format!(
            "DELETE FROM frames_log WHERE id IN (SELECT f.id FROM frame_ids f
             WHERE f.station_id IN ({stations}))"
        ),
        format!("DELETE FROM frames_by_station WHERE station_id IN ({stations})"),
    ];
    for step in steps {
        conn.execute(sqlx::AssertSqlSafe(step)).await?;
    }
    Ok(())
}

/// Among the samples after id `from`, up to `chunk` of them, those taken before `before` (up to
/// the first that is recent or not folded yet: only indexed samples are touched, in id order)
/// that are neither the first nor the last of their quarter hour (per session or station, EVSE,
/// measurand, phase and location) are deleted. Returns how many, the id of the last sample
/// looked at, and whether the chunk was full of old samples (more may follow); None when there
/// was nothing old to look at.
pub(crate) async fn thin_samples(
    conn: &mut SqliteConnection,
    from: i64,
    before: DateTime<Utc>,
    chunk: i64,
) -> Result<Option<(u64, i64, bool)>> {
    let rows = sqlx::query(
        "SELECT id, timestamp < ? AS old FROM meter_samples_log
         WHERE id > ? AND id <= (SELECT meter_samples FROM folded) ORDER BY id LIMIT ?",
    )
    .bind(fmt(before))
    .bind(from)
    .bind(chunk)
    .fetch_all(&mut *conn)
    .await?;
    let old = rows.iter().take_while(|r| r.get::<bool, _>("old")).count();
    let Some(upto) = old.checked_sub(1).map(|i| rows[i].get::<i64, _>("id")) else {
        return Ok(None);
    };
    sqlx::query(
        "CREATE TEMP TABLE IF NOT EXISTS thinned (
             id INTEGER PRIMARY KEY, transaction_id INTEGER, station_id TEXT, timestamp TEXT)",
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM temp.thinned")
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO temp.thinned
         SELECT id, transaction_id, station_id, timestamp FROM (
             SELECT id, transaction_id, station_id, timestamp,
                 row_number() OVER (PARTITION BY quarter ORDER BY timestamp, id) AS first,
                 row_number() OVER (PARTITION BY quarter ORDER BY timestamp DESC, id DESC) AS last
             FROM (SELECT *, json_array(transaction_id, station_id, evse_id, measurand, phase,
                       location, CAST(strftime('%s', timestamp) AS INTEGER) / 900) AS quarter
                   FROM meter_samples_log WHERE id > ? AND id <= ?))
         WHERE first > 1 AND last > 1",
    )
    .bind(from)
    .bind(upto)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "DELETE FROM meter_samples_by_transaction WHERE (transaction_id, timestamp, id) IN
             (SELECT transaction_id, timestamp, id FROM temp.thinned WHERE transaction_id IS NOT NULL);
         DELETE FROM meter_samples_unlinked WHERE (station_id, timestamp, id) IN
             (SELECT station_id, timestamp, id FROM temp.thinned WHERE transaction_id IS NULL);
         DELETE FROM meter_samples_log WHERE id IN (SELECT id FROM temp.thinned);",
    )
    .execute(&mut *conn)
    .await?;
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM temp.thinned")
        .fetch_one(&mut *conn)
        .await?;
    let more = old == rows.len() && rows.len() as i64 == chunk;
    Ok(Some((count as u64, upto, more)))
}
