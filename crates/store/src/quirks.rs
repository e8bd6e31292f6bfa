//! `quirks`: per station, each kind of deviation seen, how often, and one example.

use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteConnection;
use sqlx::{Row, SqliteExecutor};

use crate::error::Result;
use crate::model::QuirkRecord;
use crate::time::{fmt, parse};

pub async fn record(
    conn: &mut SqliteConnection,
    station_id: &str,
    kind: &str,
    example: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let now = fmt(now);
    sqlx::query(
        "INSERT INTO quirks (station_id, kind, count, first_seen, last_seen, example)
         VALUES (?, ?, 1, ?, ?, ?)
         ON CONFLICT (station_id, kind) DO UPDATE SET count = count + 1, last_seen = excluded.last_seen,
         example = excluded.example",
    )
    .bind(station_id)
    .bind(kind)
    .bind(&now)
    .bind(&now)
    .bind(example)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn list(ex: impl SqliteExecutor<'_>, station_id: &str) -> Result<Vec<QuirkRecord>> {
    let rows = sqlx::query("SELECT * FROM quirks WHERE station_id = ? ORDER BY kind")
        .bind(station_id)
        .fetch_all(ex)
        .await?;
    Ok(rows
        .iter()
        .map(|r| QuirkRecord {
            station_id: r.get("station_id"),
            kind: r.get("kind"),
            count: r.get("count"),
            first_seen: parse(r.get::<&str, _>("first_seen")),
            last_seen: parse(r.get::<&str, _>("last_seen")),
            example: r.get("example"),
        })
        .collect())
}
