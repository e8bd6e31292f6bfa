//! `config_snapshots`: a station's configuration saved at one moment, to compare later.

use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnection, SqliteRow};
use sqlx::{Row, SqliteExecutor};

use crate::error::{Error, Result, one_row};
use crate::model::{ConfigKey, ConfigSnapshot};
use crate::time::{fmt, parse};

fn map(r: &SqliteRow) -> Result<ConfigSnapshot> {
    let keys: Vec<ConfigKey> = serde_json::from_str(r.get::<&str, _>("keys"))
        .map_err(|e| Error::Corrupt(format!("snapshot keys: {e}")))?;
    let unknown: Vec<String> = serde_json::from_str(r.get::<&str, _>("unknown"))
        .map_err(|e| Error::Corrupt(format!("snapshot unknown keys: {e}")))?;
    Ok(ConfigSnapshot {
        id: r.get("id"),
        station_id: r.get("station_id"),
        protocol: r.get("protocol"),
        name: r.get("name"),
        taken_at: parse(r.get::<&str, _>("taken_at")),
        keys,
        unknown,
    })
}

/// Save a snapshot; returns it with its id.
pub async fn insert(
    conn: &mut SqliteConnection,
    station_id: &str,
    protocol: &str,
    name: &str,
    keys: &[ConfigKey],
    unknown: &[String],
    taken_at: DateTime<Utc>,
) -> Result<ConfigSnapshot> {
    let keys_json = serde_json::to_string(keys).map_err(|e| Error::Corrupt(e.to_string()))?;
    let unknown_json = serde_json::to_string(unknown).map_err(|e| Error::Corrupt(e.to_string()))?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO config_snapshots (station_id, protocol, name, taken_at, keys, unknown)
         VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(station_id)
    .bind(protocol)
    .bind(name)
    .bind(fmt(taken_at))
    .bind(keys_json)
    .bind(unknown_json)
    .fetch_one(conn)
    .await?;
    Ok(ConfigSnapshot {
        id,
        station_id: station_id.to_string(),
        protocol: protocol.to_string(),
        name: name.to_string(),
        taken_at,
        keys: keys.to_vec(),
        unknown: unknown.to_vec(),
    })
}

pub async fn get(ex: impl SqliteExecutor<'_>, id: i64) -> Result<Option<ConfigSnapshot>> {
    sqlx::query("SELECT * FROM config_snapshots WHERE id = ?")
        .bind(id)
        .fetch_optional(ex)
        .await?
        .as_ref()
        .map(map)
        .transpose()
}

/// Every snapshot, or one station's, newest first.
pub async fn list(
    ex: impl SqliteExecutor<'_>,
    station_id: Option<&str>,
) -> Result<Vec<ConfigSnapshot>> {
    sqlx::query(
        "SELECT * FROM config_snapshots WHERE ?1 IS NULL OR station_id = ?1 ORDER BY id DESC",
    )
    .bind(station_id)
    .fetch_all(ex)
    .await?
    .iter()
    .map(map)
    .collect()
}

pub async fn delete(conn: &mut SqliteConnection, id: i64) -> Result<()> {
    one_row(
        sqlx::query("DELETE FROM config_snapshots WHERE id = ?")
            .bind(id)
            .execute(conn)
            .await?,
    )
}
