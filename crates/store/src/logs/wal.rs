//! Keeping the WAL bounded: checkpoints beside the writer, and the writer finishing them between
//! its commits so the WAL starts over.

use std::path::PathBuf;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnection, SqlitePool};

use crate::error::Result;
use crate::writer::WeakWriter;

/// The most the WAL file may keep once checkpointed: SQLite truncates it to this when the WAL
/// starts over after a checkpoint that emptied it (`journal_size_limit`).
const WAL_KEEP_BYTES: i64 = 64 * 1024 * 1024;

/// How often the WAL is copied back beside the writer. Each checkpoint ends with an fsync of the
/// database file, and commits that fsync the WAL meanwhile wait behind it: more often, each waits
/// for less (docs/PERFORMANCE.md, "Tail latency").
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// From this much in the WAL the writer finishes the background checkpoint between commits, so
/// the WAL starts over: under sustained writes a checkpoint beside the writer never finds it
/// fully copied back (a commit always lands while it copies), and the WAL only starts over
/// after a checkpoint that left nothing behind.
const WAL_RESTART_BYTES: i64 = 16 * 1024 * 1024;

/// From this large a WAL file (a reader held older pages for long, or a burst) the writer
/// checkpoints and truncates it, waiting briefly for readers.
const WAL_TRUNCATE_BYTES: u64 = 48 * 1024 * 1024;

/// From this large a WAL file the writer truncates it once writes pause: a WAL started over keeps
/// its file at its high-water mark, which an idle depot need not keep.
const WAL_IDLE_BYTES: u64 = 4 * 1024 * 1024;

/// How long [`truncate`] waits for readers of older pages before giving up until next time:
/// every write waits with it.
const TRUNCATE_WAIT_MS: u32 = 100;

/// Set the writer's connection up: no checkpoints inside its commits, where they would stall
/// every caller waiting on that commit ([`checkpoints`] runs them beside it), and the WAL kept
/// at most [`WAL_KEEP_BYTES`]. Returns the page size.
pub(crate) async fn configure(conn: &mut SqliteConnection) -> Result<i64> {
    sqlx::query("PRAGMA wal_autocheckpoint = 0")
        .execute(&mut *conn)
        .await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "PRAGMA journal_size_limit = {WAL_KEEP_BYTES}"
    )))
    .execute(&mut *conn)
    .await?;
    Ok(sqlx::query_scalar("PRAGMA page_size")
        .fetch_one(&mut *conn)
        .await?)
}

/// Copy the WAL back into the database file every [`CHECKPOINT_EVERY`] without blocking the writer
/// (PASSIVE), then have the writer copy the rest so the WAL starts over
/// ([`WAL_RESTART_BYTES`]), or truncate a WAL file grown too large ([`WAL_TRUNCATE_BYTES`]) or
/// left large once writes pause ([`WAL_IDLE_BYTES`]). Each time, the writer also looks at the
/// disk: whether it is full, or can be written again (`Writer::check_disk`).
/// Ends with the writer.
pub(crate) async fn checkpoints(
    pool: SqlitePool,
    writer: WeakWriter,
    page_size: i64,
    wal: PathBuf,
) {
    let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
    let mut before = None;
    loop {
        tick.tick().await;
        let Some(w) = writer.upgrade() else { break };
        w.check_disk();
        let now = sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(&pool)
            .await;
        let file = std::fs::metadata(&wal).map_or(0, |m| m.len());
        match now {
            Ok(_) if file > WAL_TRUNCATE_BYTES => w.checkpoint(true),
            // Nothing written since the last tick and all of it copied back: idle, so
            // truncating the file costs no one a wait. Before the restart below, which would
            // otherwise be asked for again and again while the WAL holds what it held.
            Ok((_, log, done)) if log == done && before == Some(log) && file > WAL_IDLE_BYTES => {
                w.checkpoint(true)
            }
            Ok((_, log, _)) if log * page_size > WAL_RESTART_BYTES => w.checkpoint(false),
            Ok(_) => {}
            Err(ref e) => tracing::debug!("checkpoint: {e}"),
        }
        before = now.ok().map(|(_, log, _)| log);
    }
}

/// Whether a write goes through: one that changes nothing but is written to the WAL as a commit
/// of one row would be.
pub(crate) async fn probe(conn: &mut SqliteConnection) -> bool {
    sqlx::query("UPDATE folded SET frames = frames")
        .execute(&mut *conn)
        .await
        .is_ok()
}

/// Copy what the background checkpoint has not yet copied (on the writer's connection, between
/// commits: nothing is written meanwhile, so it completes unless a reader is on older pages):
/// the next commit then writes the WAL from its beginning, over the file's old pages.
pub(crate) async fn restart(conn: &mut SqliteConnection) {
    match sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(PASSIVE)")
        .fetch_one(&mut *conn)
        .await
    {
        Ok((_, log, done)) if done < log => {
            tracing::debug!(log, done, "WAL held by readers; it starts over later")
        }
        Ok(_) => {}
        Err(e) => tracing::warn!("WAL checkpoint: {e}"),
    }
}

/// Copy the whole WAL into the database and truncate it (on the writer's connection, between
/// commits). Readers still on older pages are waited for briefly; if they are still there, it
/// is tried again at the next ask.
pub(crate) async fn truncate(conn: &mut SqliteConnection) {
    let busy: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
        .fetch_one(&mut *conn)
        .await
        .unwrap_or(10_000);
    let set_busy = |ms: i64| format!("PRAGMA busy_timeout = {ms}");
    let _ = sqlx::query(sqlx::AssertSqlSafe(set_busy(TRUNCATE_WAIT_MS.into())))
        .execute(&mut *conn)
        .await;
    match sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(TRUNCATE)")
        .fetch_one(&mut *conn)
        .await
    {
        Ok((0, ..)) => {}
        Ok((_, log, done)) => {
            tracing::debug!(
                log,
                done,
                "WAL checkpoint held up by readers; tried again later"
            )
        }
        Err(e) => tracing::warn!("WAL checkpoint: {e}"),
    }
    let _ = sqlx::query(sqlx::AssertSqlSafe(set_busy(busy)))
        .execute(&mut *conn)
        .await;
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::atomic::Ordering;

    use crate::Store;

    use super::*;

    fn wal_bytes(db: &Path) -> u64 {
        std::fs::metadata(db.with_extension("db-wal")).map_or(0, |m| m.len())
    }

    /// One statement through the writer.
    async fn write(store: &Store, sql: &'static str) {
        store
            .writer
            .write(move |c| {
                Box::pin(async move {
                    sqlx::query(sql).execute(c).await?;
                    Ok(())
                })
            })
            .await
            .expect(sql);
    }

    /// A fresh store in `dir` with an empty table to fill.
    async fn filler_store(dir: &Path) -> (Store, std::path::PathBuf) {
        let db = dir.join("wal.db");
        let store = Store::open(&db).await.expect("open");
        write(&store, "CREATE TABLE filler (b BLOB)").await;
        (store, db)
    }

    /// Wait up to `within` for the WAL file to be at most `most` bytes and the writer to have
    /// counted a truncation (the file shrinks inside the checkpoint, a moment before the writer
    /// counts it: both are waited for). Returns the WAL's size and the truncations counted.
    async fn truncated(store: &Store, db: &Path, most: u64, within: Duration) -> (u64, u64) {
        let truncations = || store.writer.stats().wal_truncations.load(Ordering::Relaxed);
        let deadline = std::time::Instant::now() + within;
        while (wal_bytes(db) > most || truncations() == 0) && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        (wal_bytes(db), truncations())
    }

    /// Under writes that never pause for long, a checkpoint beside the writer never finds the
    /// WAL copied back before the next commit: the writer finishes it between commits, so the
    /// WAL starts over instead of growing with all that was written; once they pause, the file
    /// is truncated.
    #[tokio::test]
    async fn under_steady_writes_the_wal_starts_over_instead_of_growing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (store, db) = filler_store(dir.path()).await;
        // 64 MiB in 64 KiB commits over about 6 s: four times what starts the WAL over.
        let started = std::time::Instant::now();
        let mut peak = 0;
        for i in 0..1024u32 {
            write(&store, "INSERT INTO filler VALUES (randomblob(65536))").await;
            peak = peak.max(wal_bytes(&db));
            let due = started + Duration::from_millis(6 * u64::from(i));
            tokio::time::sleep_until(due.into()).await;
        }
        // Usually three or four restarts; on a disk slow enough that the checkpoints beside
        // the writer fall behind, the WAL reaches the truncation mark in between and is cut
        // instead (seen once, right after a build): bounded either way, the file never holds
        // all that was written.
        let stats = store.writer.stats();
        let restarts = stats.wal_restarts.load(Ordering::Relaxed);
        assert!(restarts >= 1, "the writer never started the WAL over");
        assert!(
            peak < WAL_KEEP_BYTES as u64,
            "the WAL reached {peak} bytes of 64 MiB written"
        );
        assert!(
            wal_bytes(&db) < 32 << 20,
            "the WAL kept {} bytes of 64 MiB written",
            wal_bytes(&db)
        );
        // Once the writes pause, the file it kept is cut back.
        let (left, truncations) =
            truncated(&store, &db, WAL_IDLE_BYTES, Duration::from_secs(5)).await;
        assert!(
            left <= WAL_IDLE_BYTES,
            "idle, the WAL still holds {left} bytes"
        );
        assert!(truncations >= 1, "the writer never truncated the idle WAL");
    }

    /// A reader holding an old snapshot keeps every checkpoint from finishing, so the WAL grows
    /// past what steady load needs; once it lets go, the writer empties and truncates the WAL by
    /// itself instead of keeping the file at its largest.
    #[tokio::test]
    async fn the_wal_is_truncated_once_it_has_grown() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (store, db) = filler_store(dir.path()).await;
        let mut reading = store.reader.begin().await.expect("reader");
        sqlx::query("SELECT count(*) FROM filler")
            .execute(&mut *reading)
            .await
            .expect("snapshot");
        for _ in 0..60 {
            write(&store, "INSERT INTO filler VALUES (randomblob(1048576))").await;
        }
        let grown = wal_bytes(&db);
        assert!(
            grown > WAL_TRUNCATE_BYTES,
            "the WAL grew behind the reader: {grown} bytes"
        );
        reading.rollback().await.expect("let go");
        let (left, truncations) = truncated(&store, &db, 1 << 20, Duration::from_secs(10)).await;
        assert!(left <= 1 << 20, "still {left} bytes");
        assert!(truncations >= 1, "the writer never truncated the WAL");
    }
}
