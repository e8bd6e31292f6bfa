//! Folding: adding the keys of the rows logged since the last fold to the index tables, and
//! moving the `folded` marks past them, when the writer is due to ([`Schedule`]).

use std::time::Duration;

use sqlx::Executor;
use sqlx::sqlite::SqliteConnection;
use tokio::time::Instant;

use crate::error::Result;

/// How long appended rows wait before they are folded. Longer makes a fold cheaper per row
/// (more of a station's rows share an index page) but a longer stall for the commits waiting
/// behind it (docs/PERFORMANCE.md).
pub const FOLD_AFTER: Duration = Duration::from_millis(250);

/// Rows that make a fold big enough to wait for more: from this many the logs are folded after
/// [`FOLD_BUSY_AFTER`] instead, all at once. At saturation each fold then indexes a second's
/// rows, not a quarter's; that raised acknowledged MeterValues/s by about a fifth
/// (docs/PERFORMANCE.md, item 10), while 10,000 stations every 10 s (about 1,000 rows a quarter
/// second) still fold every 250 ms.
const FOLD_BUSY_ROWS: u64 = 5_000;

/// How long appended rows wait once there are [`FOLD_BUSY_ROWS`] of them.
const FOLD_BUSY_AFTER: Duration = Duration::from_secs(1);

/// Ids of each log that one chunk of a fold that is not busy indexes at most: commits wait
/// while a chunk runs, so the fold goes as a few short transactions with commits between
/// (docs/PERFORMANCE.md, "Tail latency").
const FOLD_CHUNK: i64 = 512;

/// When the logs are next folded: `rows` appended since the last fold at `last` (None: no
/// fold yet, so at once).
fn fold_at(last: Option<Instant>, rows: u64) -> Option<Instant> {
    match (last, rows) {
        (_, 0) => None,
        (None, _) => Some(Instant::now()),
        (Some(last), ..FOLD_BUSY_ROWS) => Some(last + FOLD_AFTER),
        (Some(last), _) => Some(last + FOLD_BUSY_AFTER),
    }
}

/// When the writer folds, and how much: the rows logged since the last fold, and whether a
/// fold is under way with rows left past its last chunk.
pub(crate) struct Schedule {
    last: Option<Instant>,
    unindexed: u64,
    folding: bool,
}

impl Schedule {
    /// Rows an earlier run left unindexed are folded first.
    pub(crate) fn new() -> Schedule {
        Schedule {
            last: None,
            unindexed: 1,
            folding: false,
        }
    }

    /// `rows` were appended to the logs.
    pub(crate) fn logged(&mut self, rows: u64) {
        self.unindexed += rows;
    }

    /// When the next chunk is due; None: nothing to fold.
    pub(crate) fn due(&self) -> Option<Instant> {
        match self.folding {
            true => Some(Instant::now()),
            false => fold_at(self.last, self.unindexed),
        }
    }

    /// A fold has rows left past its last chunk: the writer takes what waits to be committed
    /// and comes back for the next chunk without waiting for more.
    pub(crate) fn folding(&self) -> bool {
        self.folding
    }

    /// Fold the next chunk in a transaction of its own: one of [`FOLD_CHUNK`] ids per log, or
    /// everything when busy (in chunks, saturation throughput halved).
    pub(crate) async fn step(&mut self, conn: &mut SqliteConnection) {
        let limit = match self.unindexed < FOLD_BUSY_ROWS {
            true => FOLD_CHUNK,
            false => i64::MAX,
        };
        self.folding = match chunk(conn, limit).await {
            Ok(more) => more,
            Err(e) => {
                tracing::error!("indexing the logged rows failed: {e}");
                false
            }
        };
        if !self.folding {
            self.last = Some(Instant::now());
            self.unindexed = 0;
        }
    }

    /// Fold everything left (the writer is closing).
    pub(crate) async fn finish(&mut self, conn: &mut SqliteConnection) {
        if self.unindexed > 0 {
            self.unindexed = FOLD_BUSY_ROWS;
            self.step(conn).await;
        }
    }
}

/// Index the rows logged since the last fold, inside the caller's transaction (a reader then
/// sees each row through exactly one arm of the views); returns how many rows were indexed.
/// The writer does this by itself ([`Schedule`]); tools that fill the logs directly
/// (benchmarks) call it in their write to have their rows indexed at once.
pub async fn fold(conn: &mut SqliteConnection) -> Result<u64> {
    Ok(fold_some(conn, i64::MAX).await?.0)
}

/// Index the next `limit` ids of each log (see [`fold`]); returns how many rows were indexed
/// and whether rows past them are left.
async fn fold_some(conn: &mut SqliteConnection, limit: i64) -> Result<(u64, bool)> {
    let indexed = conn
        .execute(sqlx::AssertSqlSafe(format!(
            "INSERT INTO frames_by_station SELECT station_id, id FROM frames_log
                 WHERE id > (SELECT frames FROM folded)
                   AND id - {limit} <= (SELECT frames FROM folded)
                 ORDER BY station_id, id;
             INSERT INTO meter_samples_by_transaction SELECT transaction_id, timestamp, id
                 FROM meter_samples_log
                 WHERE id > (SELECT meter_samples FROM folded)
                   AND id - {limit} <= (SELECT meter_samples FROM folded)
                   AND transaction_id IS NOT NULL
                 ORDER BY transaction_id, timestamp, id;
             INSERT INTO meter_samples_unlinked SELECT station_id, timestamp, id
                 FROM meter_samples_log
                 WHERE id > (SELECT meter_samples FROM folded)
                   AND id - {limit} <= (SELECT meter_samples FROM folded)
                   AND transaction_id IS NULL
                 ORDER BY station_id, timestamp, id;"
        )))
        .await?
        .rows_affected();
    let (frames, samples, last_frame, last_sample): (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT frames, meter_samples,
                coalesce((SELECT max(id) FROM frames_log), frames),
                coalesce((SELECT max(id) FROM meter_samples_log), meter_samples)
           FROM folded",
    )
    .fetch_one(&mut *conn)
    .await?;
    // Ids are never reused (AUTOINCREMENT), so the marks only move forward.
    let frames = last_frame.min(frames.saturating_add(limit)).max(frames);
    let samples = last_sample.min(samples.saturating_add(limit)).max(samples);
    sqlx::query("UPDATE folded SET frames = ?, meter_samples = ?")
        .bind(frames)
        .bind(samples)
        .execute(&mut *conn)
        .await?;
    Ok((indexed, frames < last_frame || samples < last_sample))
}

/// [`fold_some`] in a transaction of its own; returns whether rows are left to fold.
async fn chunk(conn: &mut SqliteConnection, limit: i64) -> Result<bool> {
    conn.execute("BEGIN IMMEDIATE").await?;
    let moved = match fold_some(conn, limit).await {
        Ok((_, more)) => conn
            .execute("COMMIT")
            .await
            .map(|_| more)
            .map_err(Into::into),
        Err(e) => Err(e),
    };
    if moved.is_err() {
        // Left open, the transaction would make every later BEGIN of the writer fail.
        let _ = conn.execute("ROLLBACK").await;
    }
    moved
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use crate::Store;
    use crate::frames::{self, NewFrame};

    use super::*;

    /// A fold in chunks indexes each row once and moves the mark chunk by chunk; the views see
    /// every row exactly once before, between and after the chunks.
    #[tokio::test]
    async fn a_fold_in_chunks_indexes_every_row_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("fold.db"))
            .await
            .expect("open");
        let frame = |i: usize| NewFrame {
            station_id: format!("CP{}", i % 7).into(),
            direction: "in",
            at: Utc::now(),
            message_type: Some(2),
            message_id: Some(i.to_string().into()),
            action: Some("Heartbeat".into()),
            text: "[2,\"1\",\"Heartbeat\",{}]".into(),
        };
        let logged: Vec<NewFrame> = (0..1300).map(frame).collect();
        // Inserted by a job, the rows are left to whoever folds (the writer counts appends).
        store
            .writer
            .write(|c| Box::pin(async move { frames::insert(c, logged).await }))
            .await
            .expect("insert");
        let count = |sql: &'static str| {
            let reader = store.reader.clone();
            async move {
                sqlx::query_scalar::<_, i64>(sql)
                    .fetch_one(&reader)
                    .await
                    .expect(sql)
            }
        };
        let mut chunks = Vec::new();
        loop {
            let (rows, more) = store
                .writer
                .write(|c| Box::pin(async move { fold_some(c, 512).await }))
                .await
                .expect("chunk");
            chunks.push(rows);
            assert_eq!(
                count("SELECT count(*) FROM frames").await,
                1300,
                "seen once"
            );
            assert_eq!(
                count("SELECT count(*) FROM frames_by_station").await,
                chunks.iter().sum::<u64>() as i64,
                "indexed so far"
            );
            if !more {
                break;
            }
        }
        assert_eq!(chunks, [512, 512, 276], "rows indexed by each chunk");
        assert_eq!(
            count("SELECT count(DISTINCT id) FROM frames").await,
            1300,
            "no row through two arms of the view"
        );
    }

    #[test]
    fn a_busy_writer_folds_less_often() {
        let last = Instant::now();
        assert_eq!(fold_at(Some(last), 0), None, "nothing to fold");
        assert!(fold_at(None, 1).is_some_and(|at| at <= Instant::now()));
        assert_eq!(fold_at(Some(last), 1), Some(last + FOLD_AFTER));
        assert_eq!(
            fold_at(Some(last), FOLD_BUSY_ROWS - 1),
            Some(last + FOLD_AFTER)
        );
        assert_eq!(
            fold_at(Some(last), FOLD_BUSY_ROWS),
            Some(last + FOLD_BUSY_AFTER)
        );
    }
}
