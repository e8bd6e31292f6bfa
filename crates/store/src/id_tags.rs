//! `id_tags`: RFID tags and other identifiers the operator manages.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::sqlite::{SqliteConnection, SqliteRow};
use sqlx::{QueryBuilder, Row, Sqlite, SqliteExecutor};
use ts_rs::TS;

use crate::error::{Error, Result, one_row};
use crate::model::{IdTag, Page, PageQuery};
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
    /// 2.x: the token type it must be presented as (ISO14443, KeyCode, …); None: any.
    #[serde(default)]
    pub token_type: Option<String>,
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
        token_type: r.get("token_type"),
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

/// Which tags to list: every field narrows, `q` searches the tag, its group and its note.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
pub struct TagFilter {
    pub q: Option<String>,
    pub status: Option<String>,
    pub group_kind: Option<String>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

fn push_filter(q: &mut QueryBuilder<Sqlite>, f: &TagFilter) {
    q.push(" WHERE 1 = 1");
    if let Some(text) = f.q.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        let like = format!("%{}%", crate::model::like_literal(text));
        q.push(" AND (id_tag LIKE ")
            .push_bind(like.clone())
            .push(crate::model::LIKE_ESCAPE)
            .push(" OR group_name LIKE ")
            .push_bind(like.clone())
            .push(crate::model::LIKE_ESCAPE)
            .push(" OR note LIKE ")
            .push_bind(like)
            .push(crate::model::LIKE_ESCAPE)
            .push(")");
    }
    if let Some(s) = &f.status {
        q.push(" AND status = ").push_bind(s.clone());
    }
    if let Some(k) = &f.group_kind {
        q.push(" AND group_kind = ").push_bind(k.clone());
    }
}

/// By tag, paged (default 100, at most 1000 a page), with the number that match.
pub async fn list(ex: &sqlx::SqlitePool, f: &TagFilter) -> Result<Page<IdTag>> {
    PageQuery {
        select: "SELECT * FROM id_tags",
        count: "SELECT COUNT(*) FROM id_tags",
        filter: |q: &mut QueryBuilder<Sqlite>| push_filter(q, f),
        order: "id_tag",
        limit: f.limit.unwrap_or(100).clamp(1, 1000),
        offset: f.offset.unwrap_or(0),
    }
    .fetch(ex, map)
    .await
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
         token_type, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(id_tag)
    .bind(&f.status)
    .bind(fmt_opt(f.expiry))
    .bind(&f.parent_id_tag)
    .bind(&f.group_kind)
    .bind(&f.group_name)
    .bind(&f.note)
    .bind(&f.token_type)
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
         note = ?, token_type = ?, updated_at = ? WHERE id_tag = ?",
    )
    .bind(&f.status)
    .bind(fmt_opt(f.expiry))
    .bind(&f.parent_id_tag)
    .bind(&f.group_kind)
    .bind(&f.group_name)
    .bind(&f.note)
    .bind(&f.token_type)
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
    one_row(
        sqlx::query("DELETE FROM id_tags WHERE id_tag = ?")
            .bind(id_tag)
            .execute(conn)
            .await?,
    )
}

/// A group of tags (a customer, a driver, a vehicle) and how many tags are in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct TagGroup {
    pub kind: String,
    pub name: String,
    pub tags: i64,
}

/// Every tag group, by kind and name.
pub async fn groups(ex: impl SqliteExecutor<'_>) -> Result<Vec<TagGroup>> {
    let rows = sqlx::query(
        "SELECT group_kind, group_name, COUNT(*) AS tags FROM id_tags
         WHERE group_kind IS NOT NULL AND group_name IS NOT NULL
         GROUP BY group_kind, group_name ORDER BY group_kind, group_name",
    )
    .fetch_all(ex)
    .await?;
    Ok(rows
        .iter()
        .map(|r| TagGroup {
            kind: r.get("group_kind"),
            name: r.get("group_name"),
            tags: r.get("tags"),
        })
        .collect())
}

/// Every tag's name, in order (for a full local authorization list).
pub async fn all_ids(ex: impl SqliteExecutor<'_>) -> Result<Vec<String>> {
    Ok(
        sqlx::query_scalar("SELECT id_tag FROM id_tags ORDER BY id_tag")
            .fetch_all(ex)
            .await?,
    )
}
