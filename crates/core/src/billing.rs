//! Tariffs in the facade, and sessions priced by the one cost engine (`chargeyard_billing`) from
//! what is stored: the tariff version chosen at the start, the energy register readings, and the
//! connector's status history. The running cost on the dashboard and the final cost are the same
//! call.

use chargeyard_billing::{Cost, CostPart, Tariff, Usage};
use chargeyard_store::model::{Billable, Transaction};
use chargeyard_store::tariffs::{self, Assignment, TariffRecord};
use chargeyard_store::transactions::Priced;
use chargeyard_store::{connectors, meter, transactions};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
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

/// How a session's cost is reached, for the people who pay it: the tariff version it was
/// priced with, the time zone its windows were read in, and what each set of prices charged.
#[derive(Debug, Clone, Serialize, TS)]
pub struct CostExplanation {
    pub tariff: TariffView,
    pub time_zone: String,
    pub parts: Vec<CostPart>,
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

pub(crate) fn checked(input: &TariffInput) -> Result<String> {
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

/// A tag group as "kind:name" (kind one of driver, vehicle, customer), split and trimmed.
pub(crate) fn parse_group(target: &str) -> Result<(String, String)> {
    match target.split_once(':') {
        Some((kind, name))
            if ["driver", "vehicle", "customer"].contains(&kind) && !name.trim().is_empty() =>
        {
            Ok((kind.to_string(), name.trim().to_string()))
        }
        _ => Err(Error::Invalid(format!(
            "group {target:?}: kind:name, kind one of driver, vehicle, customer"
        ))),
    }
}

/// The system's time zone, or UTC when it cannot be told.
pub fn system_time_zone() -> String {
    iana_time_zone::get_timezone()
        .ok()
        .filter(|z| z.parse::<Tz>().is_ok())
        .unwrap_or_else(|| "UTC".into())
}

/// A cost's total in the currency's major unit (12.50 for 1250 öre), as 2.x chargers take it.
fn major_units(cost: &Cost) -> f64 {
    cost.total as f64 / 10f64.powi(cost.decimals as i32)
}

/// A running session to price for the screens: by its id, or whichever runs on a connector;
/// `Tell`: by its id, and its cost sent to its charger too (2.x CostUpdated).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Running {
    Transaction(i64),
    Connector(String, i64),
    Tell(i64),
}

/// Price running sessions as their data arrives and announce each cost
/// ([`Event::TransactionCost`]), so screens show the cost so far from the one cost engine. Asks
/// that pile up while it prices are taken together, each session once.
pub(crate) async fn live_costs(
    engine: Engine,
    mut asks: tokio::sync::mpsc::UnboundedReceiver<Running>,
    stop: tokio_util::sync::CancellationToken,
) {
    loop {
        let first = tokio::select! {
            _ = stop.cancelled() => break,
            ask = asks.recv() => match ask {
                Some(a) => a,
                None => break,
            },
        };
        let mut pending = std::collections::BTreeSet::from([first]);
        while let Ok(more) = asks.try_recv() {
            pending.insert(more);
        }
        if let Err(e) = price_running(&engine, pending).await {
            tracing::warn!("pricing running sessions: {e}");
        }
    }
}

async fn price_running(engine: &Engine, asks: std::collections::BTreeSet<Running>) -> Result<()> {
    let reader = &engine.inner.store.reader;
    let (mut ids, mut tell) = (std::collections::BTreeSet::new(), Vec::new());
    for ask in asks {
        match ask {
            Running::Transaction(id) => {
                ids.insert(id);
            }
            Running::Tell(id) => {
                ids.insert(id);
                tell.push(id);
            }
            Running::Connector(station, connector) => ids.extend(
                transactions::running_on(reader, &station, connector)
                    .await?
                    .iter()
                    .map(|t| t.id),
            ),
        }
    }
    let mut pricer = Pricer::new(engine);
    for id in ids {
        let Some(mut t) = transactions::get(reader, id).await? else {
            continue;
        };
        if t.stop_ts.is_some() {
            continue;
        }
        if let Some(cost) = pricer.price(t.billable()).await? {
            if tell.contains(&t.id) {
                engine.tell_cost(&t, &cost);
            }
            engine.emit(crate::events::Event::TransactionCost {
                station_id: t.station_id,
                transaction_id: t.id,
                cost,
            });
        }
    }
    Ok(())
}

impl Engine {
    /// Send a running session's cost to its charger (2.x CostUpdated), in the background,
    /// behind other commands.
    fn tell_cost(&self, t: &Transaction, cost: &Cost) {
        let speaks_2x = self
            .connected_version(&t.station_id)
            .is_some_and(|v| v != chargeyard_ocpp::Version::V16);
        if !speaks_2x {
            return;
        }
        let intent = crate::protocol::Intent::CostUpdated {
            charger_tx_id: t.charger_tx_id.clone(),
            total: major_units(cost),
        };
        let (engine, station) = (self.clone(), t.station_id.clone());
        self.inner.tasks.spawn(async move {
            if let Err(e) = engine.intent(&station, intent, "system").await {
                tracing::info!(station = %station, "CostUpdated: {e}");
            }
        });
    }

    /// Whether session `id`'s charger is due a CostUpdated: one
    /// [`crate::EngineConfig::cost_update_interval`] after its first meter values, then once per
    /// interval; if so, it counts as asked for now.
    pub(crate) fn claim_cost_update(&self, id: i64) -> bool {
        let mut asked = match self.inner.cost_updates.lock() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        let now = std::time::Instant::now();
        let last = *asked.entry(id).or_insert(now);
        let due = last < now && now.duration_since(last) >= self.inner.config.cost_update_interval;
        if due {
            asked.insert(id, now);
        }
        due
    }

    /// A session ended: its charger needs no more cost updates.
    pub(crate) fn forget_cost_updates(&self, id: i64) {
        if let Ok(mut m) = self.inner.cost_updates.lock() {
            m.remove(&id);
        }
    }

    /// Have a running session's cost so far announced (see [`live_costs`]).
    pub(crate) fn live_cost(&self, ask: Running) {
        let _ = self.inner.live_costs.send(ask);
    }

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
            "group" => {
                let (kind, name) = parse_group(&a.target)?;
                format!("{kind}:{name}")
            }
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

    /// Fill in the cost of each (up to now while running). Stopped sessions' costs are stored
    /// once priced, so lists and invoices need not price them again.
    pub(crate) async fn price_all(&self, transactions: &mut [Transaction]) -> Result<()> {
        let mut pricer = Pricer::new(self);
        for t in transactions.iter_mut() {
            t.cost = pricer.price(t.billable()).await?;
        }
        pricer.save().await
    }

    /// What a session cost, VAT included, in the currency's major units (2.x `totalCost`); None
    /// when it is not billed or no tariff applied.
    pub(crate) async fn total_cost(&self, id: i64) -> Result<Option<f64>> {
        let Some(mut t) = transactions::get(&self.inner.store.reader, id).await? else {
            return Ok(None);
        };
        self.price_all(std::slice::from_mut(&mut t)).await?;
        Ok(t.cost.map(|c| major_units(&c)))
    }

    /// Price a session that just stopped and store its cost.
    pub(crate) fn price_stopped(&self, id: i64) {
        let engine = self.clone();
        self.inner.tasks.spawn(async move {
            let stored = async {
                if let Some(t) = transactions::get(&engine.inner.store.reader, id).await? {
                    engine.price_all(&mut [t]).await?;
                }
                Ok::<_, Error>(())
            };
            if let Err(e) = stored.await {
                tracing::warn!(transaction = id, error = %e, "pricing a stopped session");
            }
        });
    }
}

/// The tariff version a session is priced with; None when it is not billed (started with a tag
/// we refused: it only has its energy) or no tariff applied.
fn billed_version(t: &Billable) -> Option<i64> {
    t.tariff_version_id.filter(|_| t.billed)
}

/// A session's energy register readings up to `end`: meterStart (when known; else the first
/// reading counts from the start), the samples, meterStop.
pub(crate) async fn readings(
    engine: &Engine,
    t: &Billable,
    end: DateTime<Utc>,
) -> Result<Vec<(DateTime<Utc>, i64)>> {
    let mut readings: Vec<(DateTime<Utc>, i64)> = t
        .meter_start
        .map(|wh| (t.start_ts, wh))
        .into_iter()
        .collect();
    readings.extend(
        meter::energy_readings(&engine.inner.store.reader, t.id)
            .await?
            .into_iter()
            .filter(|(at, _)| *at > t.start_ts && *at < end),
    );
    if let (Some(stop), Some(wh)) = (t.stop_ts, t.meter_stop) {
        readings.push((stop, wh));
    }
    Ok(readings)
}

/// Prices sessions one after another, parsing each tariff version once and storing the costs of
/// stopped sessions together.
pub(crate) struct Pricer<'a> {
    engine: &'a Engine,
    zone: String,
    tz: Tz,
    tariffs: HashMap<i64, Option<Tariff>>,
    saves: Vec<Priced>,
}

impl<'a> Pricer<'a> {
    pub(crate) fn new(engine: &'a Engine) -> Self {
        let tz = engine.time_zone();
        Pricer {
            engine,
            zone: tz.name().to_string(),
            tz,
            tariffs: HashMap::new(),
            saves: Vec::new(),
        }
    }

    pub(crate) fn time_zone(&self) -> Tz {
        self.tz
    }

    /// A tariff version, read and parsed once.
    pub(crate) async fn tariff(&mut self, version: i64) -> Result<Option<&Tariff>> {
        if !self.tariffs.contains_key(&version) {
            let text = tariffs::version(&self.engine.inner.store.reader, version).await?;
            let parsed = text
                .map(|d| serde_json::from_str::<Tariff>(&d))
                .transpose()
                .map_err(|e| Error::Internal(format!("tariff version {version}: {e}")))?;
            self.tariffs.insert(version, parsed);
        }
        Ok(self.tariffs[&version].as_ref())
    }

    /// A session's cost: the stored one when it was priced in the depot's time zone, else from
    /// its tariff version, energy readings and the connector's statuses (and then stored if the
    /// session has stopped). Sessions started with no tariff in place have none.
    pub(crate) async fn price(&mut self, mut t: Billable) -> Result<Option<Cost>> {
        if let Some((zone, cost)) = t.stored_cost.take()
            && zone == self.zone
        {
            return Ok(Some(cost));
        }
        let tariff = self.tariff_of(&t).await?;
        // With no tariff there is nothing to price, but the energy per hour is stored once.
        if tariff.is_none() && (t.stop_ts.is_none() || t.priced) {
            return Ok(None);
        }
        let end = self.end_of(&t);
        let readings = readings(self.engine, &t, end).await?;
        if t.stop_ts.is_some() {
            self.saves.push(Priced {
                hours: chargeyard_billing::energy_by_hour(&readings, t.start_ts, end),
                id: t.id,
                station_id: t.station_id.clone(),
                rev: t.cost_rev,
                zone: self.zone.clone(),
                cost: None,
            });
        }
        let Some(tariff) = tariff else {
            return Ok(None);
        };
        let usage = self.usage(&t, end, readings).await?;
        let cost = chargeyard_billing::price(&tariff, &usage, &self.tz);
        if let Some(saved) = self.saves.last_mut().filter(|p| p.id == t.id) {
            saved.cost = Some(cost.clone());
        }
        Ok(Some(cost))
    }

    /// How a billed session's cost is reached: its tariff version and what each set of prices
    /// (the base prices, each time-of-use window) charged, by the same engine as [`Self::price`].
    pub(crate) async fn explain(&mut self, t: &Billable) -> Result<Option<CostExplanation>> {
        let Some(version) = billed_version(t) else {
            return Ok(None);
        };
        let reader = &self.engine.inner.store.reader;
        let Some(record) = tariffs::of_version(reader, version).await? else {
            return Ok(None);
        };
        let tariff = view(record)?;
        let end = self.end_of(t);
        let usage = self
            .usage(t, end, readings(self.engine, t, end).await?)
            .await?;
        Ok(Some(CostExplanation {
            parts: chargeyard_billing::price_parts(&tariff.tariff, &usage, &self.tz).1,
            tariff,
            time_zone: self.zone.clone(),
        }))
    }

    /// The tariff version a session is priced with (see [`billed_version`]).
    async fn tariff_of(&mut self, t: &Billable) -> Result<Option<Tariff>> {
        match billed_version(t) {
            Some(version) => Ok(self.tariff(version).await?.cloned()),
            None => Ok(None),
        }
    }

    /// Where a session is priced to: its stop, or now while it runs.
    fn end_of(&self, t: &Billable) -> DateTime<Utc> {
        t.stop_ts
            .unwrap_or_else(|| self.engine.now())
            .max(t.start_ts)
    }

    /// What a session used up to `end`: its `readings`, and when its connector was charging.
    async fn usage(
        &self,
        t: &Billable,
        end: DateTime<Utc>,
        readings: Vec<(DateTime<Utc>, i64)>,
    ) -> Result<Usage> {
        let reader = &self.engine.inner.store.reader;
        let states =
            connectors::states_between(reader, &t.station_id, t.evse_id, t.start_ts, end).await?;
        let mut charging = Vec::new();
        for (i, (at, state)) in states.iter().enumerate() {
            if *state == chargeyard_store::model::ConnectorState::Charging {
                let until = states.get(i + 1).map_or(end, |(next, _)| *next);
                charging.push(((*at).max(t.start_ts), until.min(end)));
            }
        }
        Ok(Usage {
            start: t.start_ts,
            end,
            readings,
            charging,
        })
    }

    /// Store the final costs priced so far.
    pub(crate) async fn save(&mut self) -> Result<()> {
        if self.saves.is_empty() {
            return Ok(());
        }
        let saves = std::mem::take(&mut self.saves);
        self.engine
            .inner
            .store
            .writer
            .write(move |c| Box::pin(async move { transactions::save_costs(c, &saves).await }))
            .await?;
        Ok(())
    }
}
