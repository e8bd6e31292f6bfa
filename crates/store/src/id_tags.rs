//! `id_tags`: RFID tags and other identifiers the operator manages.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::sqlite::{SqliteConnection, SqliteRow};
use sqlx::{Row, SqliteExecutor};
use ts_rs::TS;

use crate::error::{Error, Result};
use crate::model::IdTag;
use crate::time::{fmt, fmt_opt, parse, parse_opt};

/// The editable fields of a tag.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
pub struct TagFields {
    pub status: String,
    pub expiry: Option<DateTime<Utc>>,
    pub parent_id_tag: Option<String>,
    pub group_kind: Option<String>,
    pub group_name: Option<String>,
    pub note: Option<String>,
}

fn map(r: &SqliteRow) -> IdTag {
    IdTag {
        id_tag: r.get("id_tag"),
        status: r.get("status"),
        expiry: parse_opt(r.get("expiry")),
        parent_id_tag: r.get("parent_id_tag"),
        group_kind: r.get("group_kind"),
        group_name: r.get("group_name"),
        note: r.get("note"),
        created_at: parse(r.get::<&str, _>("created_at")),
        updated_at: parse(r.get::<&str, _>("updated_at")),
    }
}

pub async fn get(ex: impl SqliteExecutor<'_>, id_tag: &str) -> Result<Option<IdTag>> {
    let row = sqlx::query("SELECT * FROM id_tags WHERE id_tag = ?")
        .bind(id_tag)
        .fetch_optional(ex)
        .await?;
    Ok(row.as_ref().map(map))
}

pub async fn list(ex: impl SqliteExecutor<'_>) -> Result<Vec<IdTag>> {
    let rows = sqlx::query("SELECT * FROM id_tags ORDER BY id_tag")
        .fetch_all(ex)
        .await?;
    Ok(rows.iter().map(map).collect())
}

pub async fn create(
    conn: &mut SqliteConnection,
    id_tag: &str,
    f: &TagFields,
    now: DateTime<Utc>,
) -> Result<IdTag> {
    let now = fmt(now);
    sqlx::query(
        "INSERT INTO id_tags (id_tag, status, expiry, parent_id_tag, group_kind, group_name, note,
         created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(id_tag)
    .bind(&f.status)
    .bind(fmt_opt(f.expiry))
    .bind(&f.parent_id_tag)
    .bind(&f.group_kind)
    .bind(&f.group_name)
    .bind(&f.note)
    .bind(&now)
    .bind(&now)
    .execute(&mut *conn)
    .await
    .map_err(Error::from_db)?;
    get(conn, id_tag).await?.ok_or(Error::NotFound)
}

pub async fn update(
    conn: &mut SqliteConnection,
    id_tag: &str,
    f: &TagFields,
    now: DateTime<Utc>,
) -> Result<IdTag> {
    let r = sqlx::query(
        "UPDATE id_tags SET status = ?, expiry = ?, parent_id_tag = ?, group_kind = ?, group_name = ?,
         note = ?, updated_at = ? WHERE id_tag = ?",
    )
    .bind(&f.status)
    .bind(fmt_opt(f.expiry))
    .bind(&f.parent_id_tag)
    .bind(&f.group_kind)
    .bind(&f.group_name)
    .bind(&f.note)
    .bind(fmt(now))
    .bind(id_tag)
    .execute(&mut *conn)
    .await?;
    if r.rows_affected() == 0 {
        return Err(Error::NotFound);
    }
    get(conn, id_tag).await?.ok_or(Error::NotFound)
}

pub async fn delete(conn: &mut SqliteConnection, id_tag: &str) -> Result<()> {
    let r = sqlx::query("DELETE FROM id_tags WHERE id_tag = ?")
        .bind(id_tag)
        .execute(conn)
        .await?;
    if r.rows_affected() == 0 {
        return Err(Error::NotFound);
    }
    Ok(())
}
