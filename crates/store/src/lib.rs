//! SQLite storage for Chargeyard, via sqlx.
//!
//! One process owns one database file. Reads go through a small pool; every write goes through
//! the single [`Writer`] task, which group-commits all pending writes in one durable transaction
//! (WAL, `synchronous = FULL`) before any caller is told its write is done. That is what lets the
//! engine promise: anything acknowledged to a charger is on disk first.
//!
//! Layout:
//! - [`writer`]       — the group-committing writer task
//! - [`logs`]         — how frames and meter samples are logged, indexed and the WAL kept
//!   bounded: the performance machinery no other module knows about
//! - [`backup`]       — online copies, checked and described; restores staged for the next open
//! - [`model`]        — row types (plain data, no sqlx derives)
//! - [`demo`]         — seeding and removing the demo fleet's rows
//! - [`stations`], [`connectors`], [`id_tags`], [`transactions`], [`meter`], [`frames`],
//!   [`commands`], [`quirks`], [`events`], [`settings`], [`config_snapshots`], [`transfers`],
//!   [`load`] (load management's decisions)
//!   — queries, one module per table
//! - [`time`]         — the stored time format
//! - [`text`]         — shared text for the rows the writer appends
//! - `migrations/`    — embedded with `sqlx::migrate!`, run at open; never edit a shipped one

pub mod backup;
pub mod certificates;
pub mod commands;
pub mod config_snapshots;
pub mod connectors;
pub mod demo;
pub mod error;
pub mod events;
pub mod frames;
pub mod id_tags;
pub mod load;
pub mod logs;
pub mod meter;
pub mod model;
pub mod operators;
pub mod quirks;
pub mod settings;
pub mod stations;
pub mod tariffs;
pub mod text;
pub mod time;
pub mod transactions;
pub mod transfers;
pub mod writer;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::ConnectOptions;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

pub use error::{Error, Result};
pub use sqlx::sqlite::SqliteConnection;
pub use writer::{BoxFuture, Writer};

/// The writer connection's page cache, as SQLite's `cache_size` takes it (negative: KiB).
const WRITER_CACHE_KIB: i64 = -32 * 1024;

/// The schema's migrations, embedded.
pub(crate) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// An open database: a read pool and the one writer.
#[derive(Clone)]
pub struct Store {
    pub reader: SqlitePool,
    pub writer: Writer,
    path: PathBuf,
}

impl Store {
    /// Open (creating if missing) the database file, run migrations, start the writer.
    pub async fn open(path: &Path) -> Result<Store> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::NotCommitted(format!("{}: {e}", dir.display())))?;
        }
        backup::apply_staged_restore(path)?;
        let url = format!("sqlite://{}", path.display());
        let options = SqliteConnectOptions::from_str(&url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a commit is an fsync of the WAL, so a committed write survives power loss.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            .disable_statement_logging();
        // The writer's page cache holds the index pages a fold adds every station's rows to
        // (SQLite's default is 2 MiB); grown only as pages are used.
        let mut conn = options
            .clone()
            .pragma("cache_size", WRITER_CACHE_KIB.to_string())
            .connect()
            .await?;
        prepare(path, &mut conn).await?;
        MIGRATOR.run(&mut conn).await?;
        let page_size = logs::wal::configure(&mut conn).await?;
        // Readers map the file instead of copying each page through a read call: long reports
        // (a year of invoices) touch far more pages than the page cache holds.
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.pragma("mmap_size", "1073741824"))
            .await?;
        let (writer, _task) = Writer::spawn(conn, path);
        let mut wal = path.as_os_str().to_owned();
        wal.push("-wal");
        tokio::spawn(logs::wal::checkpoints(
            reader.clone(),
            writer.weak(),
            page_size,
            wal.into(),
        ));
        Ok(Store {
            reader,
            writer,
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Before migrations run on an existing database: refuse one made by a newer Chargeyard (nothing
/// changed), report one that fails its check, and copy one that is about to be upgraded into
/// `backups/` beside it.
async fn prepare(path: &Path, conn: &mut SqliteConnection) -> Result<()> {
    let damaged = |what: String| {
        Error::Unusable(format!(
            "{} is damaged ({what}). Restore a backup: `chargeyard-server restore FILE`, or \
             Settings → Backups in the console.",
            path.display()
        ))
    };
    let applied = backup::applied(conn)
        .await
        .map_err(|e| damaged(e.to_string()))?;
    let Some(&newest) = applied.last() else {
        return Ok(());
    };
    if newest > backup::known_schema_version() {
        return Err(Error::Unusable(backup::newer(path, newest)));
    }
    let problems: Vec<String> = sqlx::query_scalar("PRAGMA quick_check(5)")
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| damaged(e.to_string()))?;
    if problems != ["ok"] {
        return Err(damaged(problems.join("; ")));
    }
    if MIGRATOR.iter().any(|m| !applied.contains(&m.version)) {
        let dir = path.with_file_name("backups");
        std::fs::create_dir_all(&dir)
            .map_err(|e| Error::NotCommitted(format!("{}: {e}", dir.display())))?;
        let dest = dir.join(format!(
            "before-upgrade-schema-{newest}-{}.db",
            chrono::Utc::now().format("%Y%m%d-%H%M%S")
        ));
        backup::copy(&mut *conn, &dest).await?;
        tracing::info!(
            "upgrading the database; a copy from before is {}",
            dest.display()
        );
    }
    Ok(())
}

/// Run a statement list built for one use (its text varies with the number of rows it carries),
/// kept out of sqlx's statement cache, where such lists would evict the fixed statements. An
/// empty list runs nothing.
pub(crate) async fn execute_once(
    conn: &mut SqliteConnection,
    mut q: sqlx::QueryBuilder<sqlx::Sqlite>,
) -> sqlx::Result<()> {
    if !q.sql().as_str().is_empty() {
        q.build().persistent(false).execute(conn).await?;
    }
    Ok(())
}

/// What SQLite plans for a query on a fresh database: the detail column of EXPLAIN QUERY PLAN,
/// one step a line. For tests that keep queries on their indexes.
#[cfg(test)]
pub(crate) async fn explain(sql: &str) -> String {
    use sqlx::Row;
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("plan.db"))
        .await
        .expect("open");
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}")))
        .fetch_all(&store.reader)
        .await
        .expect("explain");
    rows.iter()
        .map(|r| r.get::<String, _>("detail"))
        .collect::<Vec<_>>()
        .join("\n")
}
