use thiserror::Error;

#[derive(Debug, Error)]
pub enum Error {
    #[error("not found")]
    NotFound,
    #[error("already exists: {0}")]
    Conflict(String),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The writer task is gone (shutting down) or its commit failed; nothing of the write is on disk.
    #[error("write not committed: {0}")]
    NotCommitted(String),
    /// A database file that cannot be used as it is (made by a newer Chargeyard, damaged), with
    /// what to do about it.
    #[error("{0}")]
    Unusable(String),
    /// The disk holding the database is full: nothing of the write is on disk. Writes work again
    /// once space is freed.
    #[error("the disk holding the database is full; nothing was stored")]
    DiskFull,
    /// Stored data that cannot be read back.
    #[error("unreadable data: {0}")]
    Corrupt(String),
}

/// SQLite's primary result code for a full disk (SQLITE_FULL).
const SQLITE_FULL: i32 = 13;

/// Whether SQLite failed because the disk (or the file system holding the database) is full.
/// sqlx gives the extended result code, whose low byte is the primary one.
pub(crate) fn disk_full(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .and_then(|d| d.code())
        .and_then(|c| c.parse::<i32>().ok())
        .is_some_and(|c| c & 0xff == SQLITE_FULL)
}

impl Error {
    /// Whether this failure is a full disk (see [`Error::DiskFull`]).
    pub fn is_disk_full(&self) -> bool {
        match self {
            Error::DiskFull => true,
            Error::Db(e) => disk_full(e),
            _ => false,
        }
    }

    /// Map constraint violations and missing rows to typed errors.
    pub(crate) fn from_db(e: sqlx::Error) -> Error {
        match &e {
            sqlx::Error::RowNotFound => Error::NotFound,
            sqlx::Error::Database(d) if d.is_unique_violation() => {
                Error::Conflict(d.message().to_string())
            }
            _ => Error::Db(e),
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// An UPDATE or DELETE of one row by its key: [`Error::NotFound`] when there was none.
pub(crate) fn one_row(r: sqlx::sqlite::SqliteQueryResult) -> Result<()> {
    if r.rows_affected() == 0 {
        return Err(Error::NotFound);
    }
    Ok(())
}
