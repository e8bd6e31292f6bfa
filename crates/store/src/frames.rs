//! `frames`: the raw message log, both directions, pruned by a retention setting.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::QueryBuilder;
use sqlx::sqlite::{Sqlite, SqliteConnection, SqliteRow};
use sqlx::{Row, SqliteExecutor};
use ts_rs::TS;

use crate::error::Result;
use crate::model::Frame;
use crate::text::Text;
use crate::time::{fmt, parse};

#[derive(Debug, Clone)]
pub struct NewFrame {
    pub station_id: Text,
    pub direction: &'static str,
    pub at: DateTime<Utc>,
    pub message_type: Option<i64>,
    pub message_id: Option<Text>,
    pub action: Option<Text>,
    pub text: Text,
}

/// Append frames to the log now (the writer appends them with each commit).
pub async fn insert(conn: &mut SqliteConnection, frames: Vec<NewFrame>) -> Result<()> {
    Ok(crate::logs::append_frames(conn, frames, &mut true).await?)
}

/// Which frames of a station to show (the technician's message inspector).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
pub struct FrameFilter {
    /// Exact OCPP action, e.g. "MeterValues" (answers carry their CALL's action).
    pub action: Option<String>,
    /// "in" (from the charger) or "out" (to it).
    pub direction: Option<String>,
    /// Only CALLERRORs and frames that could not be read.
    pub errors: Option<bool>,
    /// Text anywhere in the raw frame (case-insensitive for ASCII).
    pub q: Option<String>,
    /// At or after.
    pub from: Option<DateTime<Utc>>,
    /// Before.
    pub to: Option<DateTime<Utc>>,
    /// Page backwards: frames logged before this one.
    pub before_id: Option<i64>,
    /// Page forwards, oldest first: frames logged after this one.
    pub after_id: Option<i64>,
    pub limit: Option<i64>,
}

fn push_filter(q: &mut QueryBuilder<Sqlite>, station_id: &str, f: &FrameFilter) {
    q.push(" WHERE station_id = ")
        .push_bind(station_id.to_string());
    if let Some(before) = f.before_id {
        q.push(" AND id < ").push_bind(before);
    }
    if let Some(after) = f.after_id {
        q.push(" AND id > ").push_bind(after);
    }
    if let Some(a) = f.action.as_deref().filter(|a| !a.is_empty()) {
        q.push(" AND action = ").push_bind(a.to_string());
    }
    if let Some(d) = f.direction.as_deref().filter(|d| !d.is_empty()) {
        q.push(" AND direction = ").push_bind(d.to_string());
    }
    if f.errors == Some(true) {
        q.push(" AND (message_type = 4 OR message_type IS NULL)");
    }
    if let Some(text) = f.q.as_deref().filter(|t| !t.is_empty()) {
        q.push(" AND text LIKE ")
            .push_bind(format!("%{}%", crate::model::like_literal(text)))
            .push(crate::model::LIKE_ESCAPE);
    }
    if let Some(from) = f.from {
        q.push(" AND at >= ").push_bind(fmt(from));
    }
    if let Some(to) = f.to {
        q.push(" AND at < ").push_bind(fmt(to));
    }
}

fn map(r: &SqliteRow) -> Frame {
    Frame {
        id: r.get("id"),
        station_id: r.get("station_id"),
        direction: r.get("direction"),
        at: parse(r.get::<&str, _>("at")),
        message_type: r.get("message_type"),
        message_id: r.get("message_id"),
        action: r.get("action"),
        text: r.get("text"),
    }
}

/// Newest first; `before_id` pages backwards.
pub async fn list(
    ex: impl SqliteExecutor<'_>,
    station_id: &str,
    before_id: Option<i64>,
    limit: i64,
) -> Result<Vec<Frame>> {
    let filter = FrameFilter {
        before_id,
        limit: Some(limit),
        ..Default::default()
    };
    search(ex, station_id, &filter).await
}

/// A station's frames matching `f`, newest first (oldest first with `after_id`).
pub async fn search(
    ex: impl SqliteExecutor<'_>,
    station_id: &str,
    f: &FrameFilter,
) -> Result<Vec<Frame>> {
    let mut q = search_query(station_id, f);
    Ok(q.build().fetch_all(ex).await?.iter().map(map).collect())
}

fn search_query(station_id: &str, f: &FrameFilter) -> QueryBuilder<Sqlite> {
    let mut q = QueryBuilder::<Sqlite>::new("SELECT * FROM frames");
    push_filter(&mut q, station_id, f);
    let order = if f.after_id.is_some() { "ASC" } else { "DESC" };
    q.push(format!(" ORDER BY id {order} LIMIT "))
        .push_bind(f.limit.unwrap_or(200).clamp(1, 5000));
    q
}

/// The frame a CALL or answer pairs with: for a CALL (type 2), the first answer (3 or 4) with
/// its message id from the other side logged after it and by `until`; for an answer, the last
/// CALL with its id from the other side logged before it and since `until`. Message ids repeat
/// (chargers count from 1 again after a restart), hence "first after" and "last before".
///
/// Only the station's next (or previous) [`PARTNER_REACH`] frames are looked at, walked by
/// `(station_id, id)`: no index on message ids or times, which every logged frame would pay for.
pub async fn partner(
    ex: impl SqliteExecutor<'_>,
    frame: &Frame,
    until: DateTime<Utc>,
) -> Result<Option<Frame>> {
    let Some(message_id) = frame.message_id.as_deref() else {
        return Ok(None);
    };
    let sql = match frame.message_type {
        Some(2) => ANSWER_TO,
        Some(3 | 4) => CALL_OF,
        _ => return Ok(None),
    };
    let row = sqlx::query(sql)
        .bind(&frame.station_id)
        .bind(message_id)
        .bind(&frame.direction)
        .bind(frame.id)
        .bind(fmt(until))
        .bind(PARTNER_REACH)
        .fetch_optional(ex)
        .await?;
    Ok(row.as_ref().map(map))
}

/// The answer to a CALL: ?1 station, ?2 message id, ?3 the CALL's direction, ?4 its id, ?5 until,
/// ?6 reach.
const ANSWER_TO: &str = "SELECT * FROM frames WHERE station_id = ?1 AND id > ?4
    AND id <= coalesce((SELECT id FROM frame_ids WHERE station_id = ?1 AND id > ?4
        ORDER BY id LIMIT 1 OFFSET ?6 - 1), 9223372036854775807)
    AND message_id = ?2 AND direction <> ?3 AND message_type IN (3, 4) AND at <= ?5
    ORDER BY id LIMIT 1";

/// The CALL an answer belongs to; parameters as for [`ANSWER_TO`], ?5 being since.
///
/// Both read frames in id order only until the first that pairs (usually the next or previous
/// one); the reach is the id of the last frame within it, found in the index alone.
const CALL_OF: &str = "SELECT * FROM frames WHERE station_id = ?1 AND id < ?4
    AND id >= coalesce((SELECT id FROM frame_ids WHERE station_id = ?1 AND id < ?4
        ORDER BY id DESC LIMIT 1 OFFSET ?6 - 1), 0)
    AND message_id = ?2 AND direction <> ?3 AND message_type = 2 AND at >= ?5
    ORDER BY id DESC LIMIT 1";

/// How many of a station's frames around a CALL or answer its partner is looked for in: far
/// more than a station sends while one CALL waits for its answer.
pub const PARTNER_REACH: i64 = 500;

/// Delete frames older than `before`; returns how many.
pub async fn prune(conn: &mut SqliteConnection, before: DateTime<Utc>) -> Result<u64> {
    crate::logs::delete_frames_before(conn, before).await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pages of the inspector and partner lookups walk the station's frames in `frames_by_station`
    /// and the frames not yet indexed by id, merged in order: no sort of all of a station's
    /// frames, no scan of the whole log (both are behind the `frames` view).
    #[tokio::test]
    async fn inspector_queries_walk_the_station_index() {
        let filters = [
            FrameFilter::default(),
            FrameFilter {
                before_id: Some(10),
                action: Some("MeterValues".into()),
                ..Default::default()
            },
            FrameFilter {
                after_id: Some(10),
                q: Some("x".into()),
                ..Default::default()
            },
        ];
        let mut queries: Vec<String> = filters
            .iter()
            .map(|f| search_query("CP1", f).sql().as_str().to_string())
            .collect();
        queries.extend([ANSWER_TO.to_string(), CALL_OF.to_string()]);
        for sql in queries {
            let plan = crate::explain(&sql).await;
            if sql == ANSWER_TO || sql == CALL_OF {
                assert!(
                    plan.contains("SEARCH frames_by_station USING PRIMARY KEY (station_id=?"),
                    "the reach of a partner lookup from the index table alone:\n{sql}\n{plan}"
                );
            }
            assert!(
                plan.contains("SEARCH i USING PRIMARY KEY (station_id=?"),
                "{sql}\n{plan}"
            );
            assert!(
                plan.contains("SEARCH frames_log USING INTEGER PRIMARY KEY (rowid>?"),
                "{sql}\n{plan}"
            );
            assert!(
                !plan.contains("TEMP B-TREE")
                    && plan
                        .lines()
                        .all(|l| !l.starts_with("SCAN") || l == "SCAN folded"),
                "{sql}\n{plan}"
            );
        }
    }
}
