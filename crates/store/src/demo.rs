//! Demo data: stations and tags of the simulated fleet, marked `demo = 1`, seeded and removed here.

use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteConnection;

use crate::error::Result;
use crate::time::fmt;

/// Create the demo stations (accepted) and tags, marked as demo. Existing rows are left alone.
pub async fn seed(
    conn: &mut SqliteConnection,
    stations: &[String],
    tags: &[String],
    now: DateTime<Utc>,
) -> Result<()> {
    let now = fmt(now);
    for id in stations {
        sqlx::query(
            "INSERT INTO stations (id, registration, created_at, demo) VALUES (?, 'accepted', ?, 1)
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(id)
        .bind(&now)
        .execute(&mut *conn)
        .await?;
    }
    for (n, tag) in tags.iter().enumerate() {
        sqlx::query(
            "INSERT INTO id_tags (id_tag, status, group_kind, group_name, note, created_at, updated_at, demo)
             VALUES (?, 'Accepted', 'driver', ?, 'demo data', ?, ?, 1) ON CONFLICT (id_tag) DO NOTHING",
        )
        .bind(tag)
        .bind(format!("Demo driver {}", n + 1))
        .bind(&now)
        .bind(&now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// With no tariff yet, the demo's own (marked demo), applying by default; false when there was a
/// tariff already.
pub async fn seed_tariff(
    conn: &mut SqliteConnection,
    name: &str,
    definition: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    let any: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tariffs")
        .fetch_one(&mut *conn)
        .await?;
    if any > 0 {
        return Ok(false);
    }
    let id = crate::tariffs::create(conn, name, definition, now).await?;
    sqlx::query("UPDATE tariffs SET demo = 1 WHERE id = ?")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    crate::tariffs::assign(conn, "default", "", Some(id)).await?;
    Ok(true)
}

/// What removing the demo removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Removed {
    pub stations: u64,
    /// Demo tariffs deleted (one that priced a session of a real station stays, unassigned).
    pub tariffs: u64,
}

/// Delete every demo station with everything recorded about it, the demo tags, and the demo
/// tariffs with where they apply.
pub async fn remove(conn: &mut SqliteConnection) -> Result<Removed> {
    const PER_STATION: &[&str] = &[
        "DELETE FROM session_energy WHERE station_id IN (SELECT id FROM stations WHERE demo = 1)",
        "DELETE FROM station_energy_daily WHERE station_id IN (SELECT id FROM stations WHERE demo = 1)",
        "DELETE FROM transactions WHERE station_id IN (SELECT id FROM stations WHERE demo = 1)",
        "DELETE FROM unmatched_stops WHERE station_id IN (SELECT id FROM stations WHERE demo = 1)",
        "DELETE FROM status_history WHERE station_id IN (SELECT id FROM stations WHERE demo = 1)",
        "DELETE FROM connectors WHERE station_id IN (SELECT id FROM stations WHERE demo = 1)",
        "DELETE FROM commands WHERE station_id IN (SELECT id FROM stations WHERE demo = 1)",
        "DELETE FROM quirks WHERE station_id IN (SELECT id FROM stations WHERE demo = 1)",
        "DELETE FROM station_events WHERE station_id IN (SELECT id FROM stations WHERE demo = 1)",
        "DELETE FROM id_tags WHERE demo = 1",
    ];
    // Samples are found through the transactions they belong to, so they go first.
    crate::logs::delete_stations(conn, "SELECT id FROM stations WHERE demo = 1").await?;
    for q in PER_STATION {
        sqlx::query(*q).execute(&mut *conn).await?;
    }
    let stations = sqlx::query("DELETE FROM stations WHERE demo = 1")
        .execute(&mut *conn)
        .await?
        .rows_affected();
    sqlx::query(
        "DELETE FROM tariff_assignments WHERE tariff_id IN (SELECT id FROM tariffs WHERE demo = 1)",
    )
    .execute(&mut *conn)
    .await?;
    const UNUSED: &str = "(SELECT id FROM tariffs f WHERE f.demo = 1 AND NOT EXISTS (
        SELECT 1 FROM transactions t JOIN tariff_versions v ON v.id = t.tariff_version_id
        WHERE v.tariff_id = f.id))";
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DELETE FROM tariff_versions WHERE tariff_id IN {UNUSED}"
    )))
    .execute(&mut *conn)
    .await?;
    let tariffs = sqlx::query(
        "DELETE FROM tariffs WHERE demo = 1
         AND NOT EXISTS (SELECT 1 FROM tariff_versions v WHERE v.tariff_id = tariffs.id)",
    )
    .execute(conn)
    .await?
    .rows_affected();
    Ok(Removed { stations, tariffs })
}
