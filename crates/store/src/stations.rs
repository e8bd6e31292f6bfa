//! `stations`: registration, auth, boot info, connection facts.

use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnection, SqliteRow};
use sqlx::{Row, SqliteExecutor};

use crate::error::{Error, Result, one_row};
use crate::model::{BootInfo, Registration, Station};
use crate::time::{fmt, parse, parse_opt};

fn map(r: &SqliteRow) -> Station {
    Station {
        id: r.get("id"),
        registration: Registration::parse(r.get::<&str, _>("registration")),
        has_password: r.get::<Option<String>, _>("password_hash").is_some(),
        security_profile: r.get("security_profile"),
        fallback_protocol: r.get("fallback_protocol"),
        vendor: r.get("vendor"),
        model: r.get("model"),
        serial_number: r.get("serial_number"),
        charge_box_serial: r.get("charge_box_serial"),
        firmware_version: r.get("firmware_version"),
        iccid: r.get("iccid"),
        imsi: r.get("imsi"),
        meter_type: r.get("meter_type"),
        meter_serial: r.get("meter_serial"),
        protocol: r.get("protocol"),
        enabled_protocols: r.get("enabled_protocols"),
        offered_protocols: r.get("offered_protocols"),
        remote_addr: r.get("remote_addr"),
        boot_attempts: r.get("boot_attempts"),
        diagnostics_status: r.get("diagnostics_status"),
        firmware_status: r.get("firmware_status"),
        first_seen: parse_opt(r.get("first_seen")),
        last_seen: parse_opt(r.get("last_seen")),
        last_boot: parse_opt(r.get("last_boot")),
        created_at: parse(r.get::<&str, _>("created_at")),
        demo: r.get::<i64, _>("demo") != 0,
        refused_connections: r.get("refused_connections"),
        last_refused_at: parse_opt(r.get("last_refused_at")),
        last_refused_reason: r.get("last_refused_reason"),
    }
}

pub async fn get(ex: impl SqliteExecutor<'_>, id: &str) -> Result<Option<Station>> {
    let row = sqlx::query("SELECT * FROM stations WHERE id = ?")
        .bind(id)
        .fetch_optional(ex)
        .await?;
    Ok(row.as_ref().map(map))
}

pub async fn list(ex: impl SqliteExecutor<'_>) -> Result<Vec<Station>> {
    let rows = sqlx::query("SELECT * FROM stations ORDER BY id")
        .fetch_all(ex)
        .await?;
    Ok(rows.iter().map(map).collect())
}

/// What a station must present at the handshake (see [`access`]).
#[derive(Debug, Clone)]
pub struct Access {
    pub id: String,
    pub password_hash: Option<String>,
    pub security_profile: i64,
    pub serial_number: Option<String>,
    pub charge_box_serial: Option<String>,
}

/// Every station's password hash, security profile and serial numbers, for the in-memory check
/// during the handshake.
pub async fn access(ex: impl SqliteExecutor<'_>) -> Result<Vec<Access>> {
    let rows = sqlx::query(
        "SELECT id, password_hash, security_profile, serial_number, charge_box_serial FROM stations",
    )
    .fetch_all(ex)
    .await?;
    Ok(rows
        .iter()
        .map(|r| Access {
            id: r.get("id"),
            password_hash: r.get("password_hash"),
            security_profile: r.get("security_profile"),
            serial_number: r.get("serial_number"),
            charge_box_serial: r.get("charge_box_serial"),
        })
        .collect())
}

/// Set the security profile a station must connect with.
pub async fn set_security_profile(
    conn: &mut SqliteConnection,
    id: &str,
    profile: i64,
) -> Result<()> {
    let r = sqlx::query("UPDATE stations SET security_profile = ? WHERE id = ?")
        .bind(profile)
        .bind(id)
        .execute(conn)
        .await?;
    one_row(r)
}

/// Add a station the operator knows about. Fails with `Conflict` if it exists.
pub async fn create(
    conn: &mut SqliteConnection,
    id: &str,
    registration: Registration,
    password_hash: Option<&str>,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO stations (id, registration, password_hash, created_at) VALUES (?, ?, ?, ?)",
    )
    .bind(id)
    .bind(registration.as_str())
    .bind(password_hash)
    .bind(fmt(now))
    .execute(conn)
    .await
    .map_err(Error::from_db)?;
    Ok(())
}

/// Record a connection; creates the station with `registration` if it is new. A version the
/// station chose from an offer is what it speaks when it next offers none. Returns the row.
/// Note a station's connection; a station never seen before is added with `registration`, unless
/// it would wait in the inbox (not accepted) while `max_waiting` stations already do there: then
/// nothing is written and None is returned.
#[allow(clippy::too_many_arguments)]
pub async fn record_connect(
    conn: &mut SqliteConnection,
    id: &str,
    registration: Registration,
    max_waiting: usize,
    remote_addr: &str,
    offered: &str,
    protocol: &str,
    now: DateTime<Utc>,
) -> Result<Option<Station>> {
    let now = fmt(now);
    sqlx::query(
        "INSERT INTO stations (id, registration, created_at, first_seen) SELECT ?1, ?2, ?3, ?3
         WHERE ?2 = 'accepted'
            OR (SELECT COUNT(*) FROM stations WHERE registration <> 'accepted') < ?4
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(id)
    .bind(registration.as_str())
    .bind(&now)
    .bind(i64::try_from(max_waiting).unwrap_or(i64::MAX))
    .execute(&mut *conn)
    .await?;
    if get(&mut *conn, id).await?.is_none() {
        return Ok(None);
    }
    sqlx::query(
        "UPDATE stations SET remote_addr = ?1, offered_protocols = ?2, protocol = ?3,
         fallback_protocol = CASE WHEN ?2 = '' THEN fallback_protocol ELSE ?3 END,
         last_seen = ?4, first_seen = COALESCE(first_seen, ?4) WHERE id = ?5",
    )
    .bind(remote_addr)
    .bind(offered)
    .bind(protocol)
    .bind(&now)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    get(&mut *conn, id).await
}

pub async fn record_boot(
    conn: &mut SqliteConnection,
    id: &str,
    boot: &BootInfo,
    now: DateTime<Utc>,
) -> Result<()> {
    let now = fmt(now);
    sqlx::query(
        "UPDATE stations SET vendor = ?, model = ?, serial_number = ?, charge_box_serial = ?,
         firmware_version = ?, iccid = ?, imsi = ?, meter_type = ?, meter_serial = ?,
         boot_attempts = boot_attempts + 1, last_boot = ?, last_seen = ? WHERE id = ?",
    )
    .bind(&boot.vendor)
    .bind(&boot.model)
    .bind(&boot.serial_number)
    .bind(&boot.charge_box_serial)
    .bind(&boot.firmware_version)
    .bind(&boot.iccid)
    .bind(&boot.imsi)
    .bind(&boot.meter_type)
    .bind(&boot.meter_serial)
    .bind(&now)
    .bind(&now)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Count a connection refused at the handshake; false when there is no such station.
pub async fn record_refusal(
    conn: &mut SqliteConnection,
    id: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE stations SET refused_connections = refused_connections + 1, last_refused_at = ?,
         last_refused_reason = ? WHERE id = ?",
    )
    .bind(fmt(now))
    .bind(reason)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn touch(conn: &mut SqliteConnection, id: &str, now: DateTime<Utc>) -> Result<()> {
    sqlx::query("UPDATE stations SET last_seen = ? WHERE id = ?")
        .bind(fmt(now))
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Change registration; `password_hash: Some(..)` also sets (or with `Some(None)` clears) the
/// password.
pub async fn set_registration(
    conn: &mut SqliteConnection,
    id: &str,
    registration: Registration,
    password_hash: Option<Option<&str>>,
) -> Result<()> {
    let r = match password_hash {
        Some(hash) => {
            sqlx::query("UPDATE stations SET registration = ?, password_hash = ? WHERE id = ?")
                .bind(registration.as_str())
                .bind(hash)
                .bind(id)
                .execute(conn)
                .await?
        }
        None => {
            sqlx::query("UPDATE stations SET registration = ? WHERE id = ?")
                .bind(registration.as_str())
                .bind(id)
                .execute(conn)
                .await?
        }
    };
    if r.rows_affected() == 0 {
        return Err(Error::NotFound);
    }
    Ok(())
}

/// Which versions a station may use (comma-separated subprotocols; None: every one spoken).
pub async fn set_enabled_protocols(
    conn: &mut SqliteConnection,
    id: &str,
    protocols: Option<&str>,
) -> Result<()> {
    one_row(
        sqlx::query("UPDATE stations SET enabled_protocols = ? WHERE id = ?")
            .bind(protocols)
            .bind(id)
            .execute(conn)
            .await?,
    )
}

/// Station ids and the versions each may use (None: every one), for the handshake.
pub async fn protocols(
    ex: impl SqliteExecutor<'_>,
) -> Result<Vec<(String, String, Option<String>)>> {
    let rows = sqlx::query("SELECT id, fallback_protocol, enabled_protocols FROM stations")
        .fetch_all(ex)
        .await?;
    Ok(rows
        .iter()
        .map(|r| {
            (
                r.get("id"),
                r.get("fallback_protocol"),
                r.get("enabled_protocols"),
            )
        })
        .collect())
}

/// `column` is one of the two status columns; the value is what the charger last reported.
pub async fn set_diagnostics_status(
    conn: &mut SqliteConnection,
    id: &str,
    status: &str,
) -> Result<()> {
    sqlx::query("UPDATE stations SET diagnostics_status = ? WHERE id = ?")
        .bind(status)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn set_firmware_status(
    conn: &mut SqliteConnection,
    id: &str,
    status: &str,
) -> Result<()> {
    sqlx::query("UPDATE stations SET firmware_status = ? WHERE id = ?")
        .bind(status)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Remove a station and its connectors (history of its transactions and frames is kept).
pub async fn delete(conn: &mut SqliteConnection, id: &str) -> Result<()> {
    sqlx::query("DELETE FROM connectors WHERE station_id = ?")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    one_row(
        sqlx::query("DELETE FROM stations WHERE id = ?")
            .bind(id)
            .execute(conn)
            .await?,
    )
}
