//! `backup`: copies of the database file, made while it is in use, checked, described, and put
//! back at the next open.
//!
//! A copy is written by `VACUUM INTO` from one read transaction: it holds exactly what was
//! committed when that transaction began, so every message acknowledged before a backup starts is
//! in it (acknowledgements follow the commit). It is written under a temporary name, checked with
//! `integrity_check` and only then given its name.
//!
//! A restore is staged: the chosen copy is placed beside the database as `<db>.restore`, and the
//! next [`crate::Store::open`] moves the current database (with its WAL) aside and puts the copy in
//! its place before anything reads it.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions, SqliteExecutor};

use crate::error::{Error, Result};

/// What a database file holds, as read from the file itself (in the console, what a backup holds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
#[ts(rename = "BackupContents")]
pub struct Contents {
    /// "ok", or what SQLite's integrity check found.
    pub integrity: String,
    /// The newest migration applied to it.
    pub schema_version: i64,
    pub stations: i64,
    pub sessions: i64,
    pub first_session: Option<DateTime<Utc>>,
    pub last_session: Option<DateTime<Utc>>,
}

impl Contents {
    pub fn is_sound(&self) -> bool {
        self.integrity == "ok"
    }
}

/// The newest migration this build knows.
pub fn known_schema_version() -> i64 {
    crate::MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0)
}

/// Copy the database `db` reads into `dest` (which must not exist), checked. `db` is any
/// connection or pool of the live database; writers carry on meanwhile.
pub async fn copy(db: impl SqliteExecutor<'_>, dest: &Path) -> Result<Contents> {
    if dest.exists() {
        return Err(Error::Conflict(dest.display().to_string()));
    }
    let partial = dest.with_extension("partial");
    let _ = std::fs::remove_file(&partial);
    let r = async {
        sqlx::query("VACUUM INTO ?")
            .bind(partial.display().to_string())
            .execute(db)
            .await?;
        let contents = describe(&partial).await?;
        if !contents.is_sound() {
            return Err(Error::Corrupt(format!(
                "the copy failed its integrity check: {}",
                contents.integrity
            )));
        }
        sync_file(&partial)?;
        std::fs::rename(&partial, dest).map_err(|e| io(dest, e))?;
        sync_dir(dest);
        Ok(contents)
    }
    .await;
    if r.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    r
}

/// Open a database file read-only and say what it holds: its integrity, schema, stations and
/// sessions. Fails when the file is not a Chargeyard database.
pub async fn describe(path: &Path) -> Result<Contents> {
    if !path.is_file() {
        return Err(Error::NotFound);
    }
    let mut conn = read_only(path).await?;
    let problems: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check(20)")
        .fetch_all(&mut conn)
        .await?;
    let integrity = problems.join("; ");
    let schema_version: Option<i64> =
        sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(&mut conn)
            .await
            .map_err(|_| {
                Error::Unusable(format!("{} is not a Chargeyard database", path.display()))
            })?;
    let count = |sql: &'static str| sqlx::query_scalar::<_, i64>(sql);
    let stations = count("SELECT count(*) FROM stations")
        .fetch_one(&mut conn)
        .await
        .unwrap_or(0);
    let (sessions, first, last): (i64, Option<String>, Option<String>) =
        sqlx::query_as("SELECT count(*), min(start_ts), max(start_ts) FROM transactions")
            .fetch_one(&mut conn)
            .await
            .unwrap_or((0, None, None));
    Ok(Contents {
        integrity,
        schema_version: schema_version.unwrap_or(0),
        stations,
        sessions,
        first_session: crate::time::parse_opt(first),
        last_session: crate::time::parse_opt(last),
    })
}

/// Where a staged restore waits for the next open.
pub fn staged_path(db: &Path) -> PathBuf {
    let mut name = db.file_name().unwrap_or_default().to_os_string();
    name.push(".restore");
    db.with_file_name(name)
}

/// Stage `backup` to replace the database `db` at its next open: checked first (sound, and not
/// from a newer Chargeyard), then copied beside the database, so the backup's folder (a USB disk)
/// need not be there at the restart.
pub async fn stage_restore(db: &Path, backup: &Path) -> Result<Contents> {
    let contents = describe(backup).await?;
    if !contents.is_sound() {
        return Err(Error::Unusable(format!(
            "{} failed its integrity check ({}); choose another backup",
            backup.display(),
            contents.integrity
        )));
    }
    if contents.schema_version > known_schema_version() {
        return Err(Error::Unusable(newer(backup, contents.schema_version)));
    }
    let staged = staged_path(db);
    let partial = staged.with_extension("restore-partial");
    std::fs::copy(backup, &partial).map_err(|e| io(&partial, e))?;
    sync_file(&partial)?;
    std::fs::rename(&partial, &staged).map_err(|e| io(&staged, e))?;
    sync_dir(&staged);
    Ok(contents)
}

/// Put a staged restore in place of `db`, keeping the current database (and its WAL) aside as
/// `before-restore-<time>.db` in the same folder. Returns where it was kept, if a restore ran.
pub(crate) fn apply_staged_restore(db: &Path) -> Result<Option<PathBuf>> {
    let staged = staged_path(db);
    if !staged.is_file() {
        return Ok(None);
    }
    let stamp = Utc::now().format("%Y%m%d-%H%M%S");
    let aside = db.with_file_name(format!("before-restore-{stamp}.db"));
    if db.exists() {
        // The WAL and its index go with the file they belong to, under the matching names.
        for suffix in ["-wal", "-shm"] {
            let from = with_suffix(db, suffix);
            if from.exists() {
                std::fs::rename(&from, with_suffix(&aside, suffix)).map_err(|e| io(&from, e))?;
            }
        }
        std::fs::rename(db, &aside).map_err(|e| io(db, e))?;
    }
    std::fs::rename(&staged, db).map_err(|e| io(db, e))?;
    sync_dir(db);
    tracing::info!(
        "restored a backup into {}; the database before it is kept as {}",
        db.display(),
        aside.display()
    );
    Ok(db.exists().then_some(aside))
}

/// What to say of a database made by a newer Chargeyard.
pub(crate) fn newer(path: &Path, version: i64) -> String {
    format!(
        "{} was written by a newer Chargeyard (schema {version}; this one knows up to {}). \
         Nothing was changed: run that newer version, or restore a backup made by this one.",
        path.display(),
        known_schema_version()
    )
}

/// The migrations applied to an existing database file (empty for a new one).
pub(crate) async fn applied(conn: &mut SqliteConnection) -> Result<Vec<i64>> {
    let exists: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
    )
    .fetch_one(&mut *conn)
    .await?;
    if exists == 0 {
        return Ok(Vec::new());
    }
    Ok(
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
            .fetch_all(conn)
            .await?,
    )
}

async fn read_only(path: &Path) -> Result<SqliteConnection> {
    let url = format!("sqlite://{}", path.display());
    Ok(SqliteConnectOptions::from_str(&url)?
        .read_only(true)
        .disable_statement_logging()
        .connect()
        .await?)
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

fn io(path: &Path, e: std::io::Error) -> Error {
    Error::NotCommitted(format!("{}: {e}", path.display()))
}

fn sync_file(path: &Path) -> Result<()> {
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| io(path, e))
}

/// Make a rename durable (best effort: not every file system lets a folder be synced).
fn sync_dir(path: &Path) {
    if let Some(dir) = path.parent()
        && let Ok(d) = std::fs::File::open(dir)
    {
        let _ = d.sync_all();
    }
}
