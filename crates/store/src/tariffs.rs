//! `tariffs`, `tariff_versions`, `tariff_assignments`: versioned tariffs and where they apply.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::sqlite::{SqliteConnection, SqliteRow};
use sqlx::{Row, SqliteExecutor};
use ts_rs::TS;

use crate::error::{Error, Result};
use crate::time::{fmt, parse};

/// A tariff with its newest version.
#[derive(Debug, Clone, PartialEq)]
pub struct TariffRecord {
    pub id: i64,
    pub name: String,
    pub version: i64,
    pub version_id: i64,
    /// The version's definition, JSON.
    pub definition: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Where a tariff applies: `scope` "group" (target "kind:name"), "station" (target the station
/// id) or "default" (target "").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Assignment {
    pub scope: String,
    #[serde(default)]
    pub target: String,
    pub tariff_id: i64,
}

/// Each tariff with its newest version (a macro so the queries stay static strings).
macro_rules! newest {
    () => {
        "SELECT t.id, t.name, t.created_at, v.id AS version_id, v.version,
    v.definition, v.created_at AS updated_at
    FROM tariffs t JOIN tariff_versions v ON v.tariff_id = t.id
    AND v.version = (SELECT MAX(version) FROM tariff_versions WHERE tariff_id = t.id)"
    };
}

fn map(r: &SqliteRow) -> TariffRecord {
    TariffRecord {
        id: r.get("id"),
        name: r.get("name"),
        version: r.get("version"),
        version_id: r.get("version_id"),
        definition: r.get("definition"),
        created_at: parse(r.get::<&str, _>("created_at")),
        updated_at: parse(r.get::<&str, _>("updated_at")),
    }
}

pub async fn list(ex: impl SqliteExecutor<'_>) -> Result<Vec<TariffRecord>> {
    let rows = sqlx::query(concat!(newest!(), " ORDER BY t.name"))
        .fetch_all(ex)
        .await?;
    Ok(rows.iter().map(map).collect())
}

pub async fn get(ex: impl SqliteExecutor<'_>, id: i64) -> Result<Option<TariffRecord>> {
    let row = sqlx::query(concat!(newest!(), " WHERE t.id = ?"))
        .bind(id)
        .fetch_optional(ex)
        .await?;
    Ok(row.as_ref().map(map))
}

/// One version's definition, as the sessions priced with it read it.
pub async fn version(ex: impl SqliteExecutor<'_>, version_id: i64) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT definition FROM tariff_versions WHERE id = ?")
            .bind(version_id)
            .fetch_optional(ex)
            .await?,
    )
}

/// The tariff a version belongs to, as that version reads (its name, number and definition).
pub async fn of_version(
    ex: impl SqliteExecutor<'_>,
    version_id: i64,
) -> Result<Option<TariffRecord>> {
    let row = sqlx::query(
        "SELECT t.id, t.name, t.created_at, v.id AS version_id, v.version, v.definition,
         v.created_at AS updated_at
         FROM tariff_versions v JOIN tariffs t ON t.id = v.tariff_id WHERE v.id = ?",
    )
    .bind(version_id)
    .fetch_optional(ex)
    .await?;
    Ok(row.as_ref().map(map))
}

/// A new tariff at version 1; its id.
pub async fn create(
    conn: &mut SqliteConnection,
    name: &str,
    definition: &str,
    now: DateTime<Utc>,
) -> Result<i64> {
    let id: i64 =
        sqlx::query_scalar("INSERT INTO tariffs (name, created_at) VALUES (?, ?) RETURNING id")
            .bind(name)
            .bind(fmt(now))
            .fetch_one(&mut *conn)
            .await?;
    add_version(conn, id, 1, definition, now).await?;
    Ok(id)
}

pub(crate) async fn add_version(
    conn: &mut SqliteConnection,
    id: i64,
    version: i64,
    definition: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO tariff_versions (tariff_id, version, definition, created_at)
         VALUES (?, ?, ?, ?)",
    )
    .bind(id)
    .bind(version)
    .bind(definition)
    .bind(fmt(now))
    .execute(conn)
    .await?;
    Ok(())
}

/// Rename, and add a version when the definition changed (sessions keep theirs).
pub async fn update(
    conn: &mut SqliteConnection,
    id: i64,
    name: &str,
    definition: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let current = get(&mut *conn, id).await?.ok_or(Error::NotFound)?;
    // An edited demo tariff is the operator's own from now on: it stays when the demo goes.
    sqlx::query("UPDATE tariffs SET name = ?, demo = 0 WHERE id = ?")
        .bind(name)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    if current.definition != definition {
        add_version(conn, id, current.version + 1, definition, now).await?;
    }
    Ok(())
}

/// Delete a tariff no session was priced with (and its assignments); false when one was.
pub async fn delete(conn: &mut SqliteConnection, id: i64) -> Result<bool> {
    let used: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM transactions WHERE tariff_version_id IN
         (SELECT id FROM tariff_versions WHERE tariff_id = ?)",
    )
    .bind(id)
    .fetch_one(&mut *conn)
    .await?;
    if used > 0 {
        return Ok(false);
    }
    for sql in [
        "DELETE FROM tariff_assignments WHERE tariff_id = ?",
        "DELETE FROM tariff_versions WHERE tariff_id = ?",
        "DELETE FROM tariffs WHERE id = ?",
    ] {
        sqlx::query(sql).bind(id).execute(&mut *conn).await?;
    }
    Ok(true)
}

pub async fn assignments(ex: impl SqliteExecutor<'_>) -> Result<Vec<Assignment>> {
    let rows = sqlx::query(
        "SELECT scope, target, tariff_id FROM tariff_assignments
         ORDER BY CASE scope WHEN 'group' THEN 0 WHEN 'station' THEN 1 ELSE 2 END, target",
    )
    .fetch_all(ex)
    .await?;
    Ok(rows
        .iter()
        .map(|r| Assignment {
            scope: r.get("scope"),
            target: r.get("target"),
            tariff_id: r.get("tariff_id"),
        })
        .collect())
}

/// Set where a tariff applies, replacing what applied there; `tariff_id` None removes it.
pub async fn assign(
    conn: &mut SqliteConnection,
    scope: &str,
    target: &str,
    tariff_id: Option<i64>,
) -> Result<()> {
    match tariff_id {
        Some(t) => {
            sqlx::query(
                "INSERT INTO tariff_assignments (scope, target, tariff_id) VALUES (?, ?, ?)
                 ON CONFLICT (scope, target) DO UPDATE SET tariff_id = excluded.tariff_id",
            )
            .bind(scope)
            .bind(target)
            .bind(t)
            .execute(conn)
            .await?
        }
        None => {
            sqlx::query("DELETE FROM tariff_assignments WHERE scope = ? AND target = ?")
                .bind(scope)
                .bind(target)
                .execute(conn)
                .await?
        }
    };
    Ok(())
}
