//! `operators`: console accounts and their login sessions.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::sqlite::{SqliteConnection, SqliteRow};
use sqlx::{Row, SqliteExecutor};
use ts_rs::TS;

use crate::error::{Error, Result, one_row};
use crate::time::{fmt, parse};

/// An operator account as the console lists it (never its hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct Operator {
    pub id: i64,
    pub name: String,
    /// `manager`, `technician` or `read_only`.
    pub role: String,
    pub created_at: DateTime<Utc>,
}

fn map(r: &SqliteRow) -> Operator {
    Operator {
        id: r.get("id"),
        name: r.get("name"),
        role: r.get("role"),
        created_at: parse(r.get::<&str, _>("created_at")),
    }
}

pub async fn list(ex: impl SqliteExecutor<'_>) -> Result<Vec<Operator>> {
    let rows = sqlx::query("SELECT * FROM operators ORDER BY name")
        .fetch_all(ex)
        .await?;
    Ok(rows.iter().map(map).collect())
}

pub async fn count(ex: impl SqliteExecutor<'_>) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT count(*) FROM operators")
        .fetch_one(ex)
        .await?)
}

/// An operator and its password hash, by name (any case).
pub async fn by_name(
    ex: impl SqliteExecutor<'_>,
    name: &str,
) -> Result<Option<(Operator, String)>> {
    let row = sqlx::query("SELECT * FROM operators WHERE name = ?")
        .bind(name)
        .fetch_optional(ex)
        .await?;
    Ok(row.map(|r| (map(&r), r.get("password_hash"))))
}

/// Add an operator; `Conflict` if the name is taken (in any case).
pub async fn create(
    conn: &mut SqliteConnection,
    name: &str,
    role: &str,
    password_hash: &str,
    now: DateTime<Utc>,
) -> Result<i64> {
    let r = sqlx::query(
        "INSERT INTO operators (name, role, password_hash, created_at) VALUES (?, ?, ?, ?)",
    )
    .bind(name)
    .bind(role)
    .bind(password_hash)
    .bind(fmt(now))
    .execute(conn)
    .await
    .map_err(Error::from_db)?;
    Ok(r.last_insert_rowid())
}

/// Change an operator's role and, when given, password; its sessions end when the password does.
pub async fn update(
    conn: &mut SqliteConnection,
    id: i64,
    role: &str,
    password_hash: Option<&str>,
) -> Result<()> {
    let r = sqlx::query(
        "UPDATE operators SET role = ?, password_hash = coalesce(?, password_hash) WHERE id = ?",
    )
    .bind(role)
    .bind(password_hash)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    one_row(r)?;
    if password_hash.is_some() {
        end_sessions_of(conn, id).await?;
    }
    Ok(())
}

pub async fn delete(conn: &mut SqliteConnection, id: i64) -> Result<()> {
    end_sessions_of(&mut *conn, id).await?;
    let r = sqlx::query("DELETE FROM operators WHERE id = ?")
        .bind(id)
        .execute(conn)
        .await?;
    one_row(r)
}

async fn end_sessions_of(conn: &mut SqliteConnection, id: i64) -> Result<()> {
    sqlx::query("DELETE FROM operator_sessions WHERE operator_id = ?")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn start_session(
    conn: &mut SqliteConnection,
    token_sha256: &str,
    operator_id: i64,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO operator_sessions (token_sha256, operator_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
    )
    .bind(token_sha256)
    .bind(operator_id)
    .bind(fmt(now))
    .bind(fmt(expires_at))
    .execute(&mut *conn)
    .await?;
    // Expired sessions of anyone go at the same time.
    sqlx::query("DELETE FROM operator_sessions WHERE expires_at <= ?")
        .bind(fmt(now))
        .execute(conn)
        .await?;
    Ok(())
}

/// The operator a session token (its SHA-256) belongs to, if it has not expired.
pub async fn session(
    ex: impl SqliteExecutor<'_>,
    token_sha256: &str,
    now: DateTime<Utc>,
) -> Result<Option<Operator>> {
    let row = sqlx::query(
        "SELECT o.* FROM operator_sessions s JOIN operators o ON o.id = s.operator_id \
         WHERE s.token_sha256 = ? AND s.expires_at > ?",
    )
    .bind(token_sha256)
    .bind(fmt(now))
    .fetch_optional(ex)
    .await?;
    Ok(row.as_ref().map(map))
}

pub async fn end_session(conn: &mut SqliteConnection, token_sha256: &str) -> Result<()> {
    sqlx::query("DELETE FROM operator_sessions WHERE token_sha256 = ?")
        .bind(token_sha256)
        .execute(conn)
        .await?;
    Ok(())
}
