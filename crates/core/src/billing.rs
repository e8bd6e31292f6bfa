//! Tariffs in the facade, and sessions priced by the one cost engine (`chargeyard_billing`) from
//! what is stored: the tariff version chosen at the start, the energy register readings, and the
//! connector's status history. The running cost on the dashboard and the final cost are the same
//! call.

use chargeyard_billing::{Tariff, Usage};
use chargeyard_store::model::Transaction;
use chargeyard_store::tariffs::{self, Assignment, TariffRecord};
use chargeyard_store::{connectors, meter};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::engine::Engine;
use crate::error::{Error, Result, or_duplicate};

/// A tariff as the console shows and edits it: its newest version.
#[derive(Debug, Clone, Serialize, TS)]
pub struct TariffView {
    pub id: i64,
    pub name: String,
    pub version: i64,
    pub version_id: i64,
    pub tariff: Tariff,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A tariff to create, or the new state of one (a changed definition adds a version).
#[derive(Debug, Clone, Deserialize, TS)]
pub struct TariffInput {
    pub name: String,
    pub tariff: Tariff,
}

/// Set (or with `tariff_id` null, clear) the tariff for a scope: "group" (target "kind:name",
/// e.g. "customer:Acme AB"), "station" (target a station id) or "default".
#[derive(Debug, Clone, Deserialize, TS)]
pub struct AssignmentInput {
    pub scope: String,
    #[serde(default)]
    pub target: String,
    pub tariff_id: Option<i64>,
}

fn view(r: TariffRecord) -> Result<TariffView> {
    Ok(TariffView {
        tariff: serde_json::from_str(&r.definition)
            .map_err(|e| Error::Internal(format!("tariff {} version {}: {e}", r.id, r.version)))?,
        id: r.id,
        name: r.name,
        version: r.version,
        version_id: r.version_id,
        created_at: r.created_at,
        updated_at: r.updated_at,
    })
}

fn checked(input: &TariffInput) -> Result<String> {
    let mut problems = Vec::new();
    if input.name.trim().is_empty() || input.name.chars().count() > 80 {
        problems.push("name: 1 to 80 characters".to_string());
    }
    if let Err(e) = input.tariff.check() {
        problems.extend(e.0);
    }
    if !problems.is_empty() {
        return Err(Error::Invalid(problems.join("; ")));
    }
    serde_json::to_string(&input.tariff).map_err(|e| Error::Internal(e.to_string()))
}

/// The system's time zone, or UTC when it cannot be told.
pub fn system_time_zone() -> String {
    iana_time_zone::get_timezone()
        .ok()
        .filter(|z| z.parse::<Tz>().is_ok())
        .unwrap_or_else(|| "UTC".into())
}

impl Engine {
    /// The depot's time zone: the setting, else the system's.
    pub fn time_zone(&self) -> Tz {
        self.settings()
            .time_zone
            .unwrap_or_else(system_time_zone)
            .parse()
            .unwrap_or(Tz::UTC)
    }

    pub async fn tariffs(&self) -> Result<Vec<TariffView>> {
        tariffs::list(&self.inner.store.reader)
            .await?
            .into_iter()
            .map(view)
            .collect()
    }

    pub async fn tariff(&self, id: i64) -> Result<TariffView> {
        view(
            tariffs::get(&self.inner.store.reader, id)
                .await?
                .ok_or_else(|| Error::NotFound(format!("tariff {id}")))?,
        )
    }

    pub async fn create_tariff(&self, input: TariffInput) -> Result<TariffView> {
        let definition = checked(&input)?;
        let (name, now) = (input.name.trim().to_string(), self.now());
        let shown = name.clone();
        let id = self
            .inner
            .store
            .writer
            .write(move |c| {
                Box::pin(async move { tariffs::create(c, &name, &definition, now).await })
            })
            .await
            .map_err(or_duplicate(Error::Conflict(format!("tariff {shown}"))))?;
        self.tariff(id).await
    }

    /// Rename and/or change a tariff; a changed definition becomes a new version, and sessions
    /// already priced keep theirs.
    pub async fn update_tariff(&self, id: i64, input: TariffInput) -> Result<TariffView> {
        let definition = checked(&input)?;
        let (name, now) = (input.name.trim().to_string(), self.now());
        let shown = name.clone();
        self.inner
            .store
            .writer
            .write(move |c| {
                Box::pin(async move { tariffs::update(c, id, &name, &definition, now).await })
            })
            .await
            .map_err(|e| match e {
                chargeyard_store::Error::NotFound => Error::NotFound(format!("tariff {id}")),
                chargeyard_store::Error::Conflict(_) => Error::Conflict(format!("tariff {shown}")),
                e => e.into(),
            })?;
        self.tariff(id).await
    }

    /// Delete a tariff no session was priced with.
    pub async fn delete_tariff(&self, id: i64) -> Result<()> {
        self.tariff(id).await?;
        let deleted = self
            .inner
            .store
            .writer
            .write(move |c| Box::pin(async move { tariffs::delete(c, id).await }))
            .await?;
        if deleted {
            Ok(())
        } else {
            Err(Error::Conflict(format!(
                "tariff {id} priced past sessions; it stays so their invoices stay as they were"
            )))
        }
    }

    /// Where tariffs apply, in priority order: groups, then stations, then the default.
    pub async fn tariff_assignments(&self) -> Result<Vec<Assignment>> {
        Ok(tariffs::assignments(&self.inner.store.reader).await?)
    }

    pub async fn assign_tariff(&self, a: AssignmentInput) -> Result<Vec<Assignment>> {
        let target = match a.scope.as_str() {
            "default" => String::new(),
            "station" if !a.target.trim().is_empty() => a.target.trim().to_string(),
            "group" => match a.target.split_once(':') {
                Some((kind, name))
                    if ["driver", "vehicle", "customer"].contains(&kind)
                        && !name.trim().is_empty() =>
                {
                    format!("{kind}:{}", name.trim())
                }
                _ => {
                    return Err(Error::Invalid(format!(
                        "target {:?}: a group is kind:name, kind one of driver, vehicle, customer",
                        a.target
                    )));
                }
            },
            "station" => return Err(Error::Invalid("target: the station id".into())),
            s => {
                return Err(Error::Invalid(format!(
                    "scope {s:?}: one of group, station, default"
                )));
            }
        };
        if let Some(id) = a.tariff_id {
            self.tariff(id).await?;
        }
        let scope = a.scope.clone();
        self.inner
            .store
            .writer
            .write(move |c| {
                Box::pin(async move { tariffs::assign(c, &scope, &target, a.tariff_id).await })
            })
            .await?;
        self.tariff_assignments().await
    }

    /// Fill in `t.cost` (up to now while it runs). Sessions started with no tariff in place have
    /// none.
    pub(crate) async fn price(&self, t: &mut Transaction) -> Result<()> {
        let Some(version) = t.tariff_version_id else {
            return Ok(());
        };
        let reader = &self.inner.store.reader;
        let Some(definition) = tariffs::version(reader, version).await? else {
            return Ok(());
        };
        let tariff: Tariff = serde_json::from_str(&definition)
            .map_err(|e| Error::Internal(format!("tariff version {version}: {e}")))?;
        let end = t.stop_ts.unwrap_or_else(|| self.now()).max(t.start_ts);
        let mut readings = vec![(t.start_ts, t.meter_start)];
        readings.extend(
            meter::energy_readings(reader, t.id)
                .await?
                .into_iter()
                .filter(|(at, _)| *at > t.start_ts && *at < end),
        );
        if let (Some(stop), Some(wh)) = (t.stop_ts, t.meter_stop) {
            readings.push((stop, wh));
        }
        let statuses =
            connectors::statuses_between(reader, &t.station_id, t.connector_id, t.start_ts, end)
                .await?;
        let mut charging = Vec::new();
        for (i, (at, status)) in statuses.iter().enumerate() {
            if status == "Charging" {
                let until = statuses.get(i + 1).map_or(end, |(next, _)| *next);
                charging.push(((*at).max(t.start_ts), until.min(end)));
            }
        }
        let usage = Usage {
            start: t.start_ts,
            end,
            readings,
            charging,
        };
        t.cost = Some(chargeyard_billing::price(
            &tariff,
            &usage,
            &self.time_zone(),
        ));
        Ok(())
    }
}
