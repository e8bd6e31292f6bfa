//! Charging sessions over their life, as the operator and the central system steer them: a remote
//! start is checked before it is sent (a tag we would refuse, a connector already in use), a
//! connector has one running session at a time, a session started with a refused tag is not
//! billed and is closed once the charger shows it is over, and the operator can close a session
//! the charger has forgotten (with the reason kept in the station's log).

use chargeyard_store::meter::SampleFilter;
use chargeyard_store::model::{ConnectorState, MeterSample, Page, Transaction};
use chargeyard_store::transactions::{self, Closing, TransactionFilter};
use chargeyard_store::{SqliteConnection, events};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use ts_rs::TS;

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::events::Event;
use crate::protocol::{CommandAnswer, Intent};
use crate::tags::TokenStatus;

/// Start charging on an EVSE (1.6: a connector) for a tag.
#[derive(Debug, Clone, Deserialize, TS)]
pub struct StartRequest {
    pub evse_id: i64,
    pub id_tag: String,
}

/// Stop a running session.
#[derive(Debug, Clone, Deserialize, TS)]
pub struct StopRequest {
    pub transaction_id: i64,
}

/// Close a session the charger no longer knows, and why.
#[derive(Debug, Clone, Deserialize, TS)]
pub struct CloseRequest {
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct TransactionDetail {
    #[serde(flatten)]
    pub transaction: Transaction,
    /// How its cost is reached; None when it is not billed or no tariff applied.
    pub explanation: Option<crate::billing::CostExplanation>,
    pub meter_samples: Vec<MeterSample>,
}

/// How a running session is closed by the central system rather than by the charger.
pub(crate) struct CloseAs<'a> {
    pub at: DateTime<Utc>,
    /// The stop reason stored (one OCPP knows: "DeAuthorized", "Other").
    pub reason: &'a str,
    pub by: &'a str,
    pub note: String,
}

/// In a writer job: close each of `running` as `how`, at its latest energy reading; returns the
/// ids closed. Each closing is also an entry in its station's log.
pub(crate) async fn close_all(
    c: &mut SqliteConnection,
    running: Vec<Transaction>,
    how: &CloseAs<'_>,
    now: DateTime<Utc>,
) -> chargeyard_store::Result<Vec<i64>> {
    let mut closed = Vec::new();
    for t in running {
        let closing = Closing {
            transaction_id: t.id,
            stop_ts: how.at.max(t.start_ts),
            meter_stop: t.meter_start.unwrap_or(0) + t.energy_wh.unwrap_or(0),
            reason: how.reason.to_string(),
            closed_by: how.by.to_string(),
            note: how.note.clone(),
        };
        if transactions::close(c, &closing, now).await? {
            let detail = json!({
                "transaction_id": t.id,
                "connector_id": t.connector_id,
                "by": how.by,
                "reason": how.note,
                "stop_ts": closing.stop_ts,
                "meter_stop": closing.meter_stop,
            });
            events::insert(c, &t.station_id, "transaction_closed", &detail, now).await?;
            closed.push(t.id);
        }
    }
    Ok(closed)
}

/// In a writer job, after a new session `new` started on a connector: the sessions the charger
/// never stopped there before it are over (a connector charges one car at a time).
pub(crate) async fn supersede(
    c: &mut SqliteConnection,
    station_id: &str,
    evse_id: i64,
    new: i64,
    start: DateTime<Utc>,
    now: DateTime<Utc>,
) -> chargeyard_store::Result<Vec<i64>> {
    let older: Vec<Transaction> = transactions::running_on(&mut *c, station_id, evse_id)
        .await?
        .into_iter()
        .filter(|t| t.id != new && t.start_ts <= start)
        .collect();
    let how = CloseAs {
        at: start,
        reason: "Other",
        by: "system",
        note: format!("session {new} started on the same EVSE"),
    };
    close_all(c, older, &how, now).await
}

/// In a writer job, after EVSE `evse_id` reported `state` as its current one: a session started
/// there with a refused tag is over once the EVSE is idle.
pub(crate) async fn close_refused_on_idle(
    c: &mut SqliteConnection,
    station_id: &str,
    evse_id: i64,
    state: ConnectorState,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> chargeyard_store::Result<Vec<i64>> {
    if !state.is_idle() {
        return Ok(Vec::new());
    }
    let running = transactions::running_on(&mut *c, station_id, evse_id).await?;
    let note = format!(
        "the tag was refused and the charger reported the connector {}",
        state.as_str()
    );
    close_refused(c, running, at, note, now).await
}

/// In a writer job, at a station's BootNotification: it rebooted, and a session that started
/// with a refused tag does not survive that.
pub(crate) async fn close_refused_at_boot(
    c: &mut SqliteConnection,
    station_id: &str,
    now: DateTime<Utc>,
) -> chargeyard_store::Result<Vec<i64>> {
    let running = transactions::running_at(&mut *c, station_id).await?;
    let note = "the tag was refused and the charger booted again".to_string();
    close_refused(c, running, now, note, now).await
}

/// Close those of `running` that started with a refused tag, at `at`, as the system.
async fn close_refused(
    c: &mut SqliteConnection,
    running: Vec<Transaction>,
    at: DateTime<Utc>,
    note: String,
    now: DateTime<Utc>,
) -> chargeyard_store::Result<Vec<i64>> {
    let refused = running.into_iter().filter(|t| !t.is_billed()).collect();
    let how = CloseAs {
        at,
        reason: "DeAuthorized",
        by: "system",
        note,
    };
    close_all(c, refused, &how, now).await
}

impl Engine {
    /// Sessions closed by the central system: forget their starts, price them, announce them.
    pub(crate) async fn closed(&self, ids: &[i64]) {
        if !ids.is_empty() {
            self.load_wake();
        }
        for &id in ids {
            self.forget_start(id);
            self.price_stopped(id);
            if self.has_listeners()
                && let Ok(Some(t)) = transactions::get(&self.inner.store.reader, id).await
            {
                self.emit(Event::TransactionStopped { transaction: t });
            }
        }
    }

    /// Why a session for `id_tag` on `evse_id` cannot be started remotely now, if it cannot: the
    /// tag is not one we accept (the charger would be told so at its start), or the EVSE already
    /// has a running session.
    pub(crate) async fn check_start(
        &self,
        station_id: &str,
        evse_id: Option<i64>,
        id_tag: &str,
    ) -> Result<()> {
        if self.inner.store.writer.is_disk_full() {
            return Err(Error::State(
                "the disk holding Chargeyard's database is full, so a new session could not be recorded; free space on it first".into(),
            ));
        }
        let tag = id_tag.trim();
        if tag.is_empty() || tag.chars().count() > 20 {
            return Err(Error::Invalid(format!(
                "id tag {tag:?} must be 1 to 20 characters"
            )));
        }
        if let Some(c) = evse_id.filter(|c| *c < 1) {
            return Err(Error::Invalid(format!(
                "connector {c}: a session starts on a connector numbered from 1"
            )));
        }
        let known = chargeyard_store::id_tags::get(&self.inner.store.reader, tag).await?;
        let status = self.tag_info(known.clone()).status;
        if status != TokenStatus::Accepted {
            return Err(Error::Invalid(match known {
                None => format!(
                    "tag {tag} is not known here, so the charger would be told to stop at once; add it under ID tags first"
                ),
                Some(_) => format!(
                    "tag {tag} is {status} here, so the charger would be told to stop at once; choose an accepted tag"
                ),
            }));
        }
        let Some(evse_id) = evse_id else {
            return Ok(()); // the charger chooses the connector
        };
        if let Some(t) = transactions::running_on(&self.inner.store.reader, station_id, evse_id)
            .await?
            .first()
        {
            return Err(Error::State(format!(
                "connector {evse_id} already has session {} running (tag {}); stop it first, or close it if the charger no longer has it",
                t.id, t.id_tag
            )));
        }
        Ok(())
    }

    /// Ask a station to start charging on an EVSE for a tag, after [`Engine::check_start`].
    pub async fn start_charging(
        &self,
        station_id: &str,
        r: StartRequest,
        actor: &str,
    ) -> Result<CommandAnswer> {
        let tag = r.id_tag.trim().to_string();
        self.check_start(station_id, Some(r.evse_id), &tag).await?;
        let token_type = chargeyard_store::id_tags::get(&self.inner.store.reader, &tag)
            .await?
            .and_then(|t| t.token_type);
        // 2.x links the transaction to the request by this number; a clock's milliseconds are
        // unique enough per station and fit the schema's integer.
        let remote_start_id = self.now().timestamp_millis() % 2_000_000_000;
        let intent = Intent::Start {
            evse_id: r.evse_id,
            id_tag: tag,
            token_type,
            remote_start_id,
        };
        self.intent(station_id, intent, actor).await
    }

    /// Ask a station to stop one of its running sessions. "Rejected" usually means the charger
    /// no longer has it: see [`Engine::close_transaction`].
    pub async fn stop_charging(
        &self,
        station_id: &str,
        r: StopRequest,
        actor: &str,
    ) -> Result<CommandAnswer> {
        let t = transactions::get(&self.inner.store.reader, r.transaction_id)
            .await?
            .filter(|t| t.station_id == station_id)
            .ok_or_else(|| {
                Error::NotFound(format!(
                    "session {} of station {station_id}",
                    r.transaction_id
                ))
            })?;
        if t.stop_ts.is_some() {
            return Err(Error::State(format!("session {} has ended", t.id)));
        }
        let intent = Intent::Stop {
            charger_tx_id: t.charger_tx_id,
        };
        self.intent(station_id, intent, actor).await
    }

    /// Close a running session the charger has forgotten (it will never send its stop): it ends
    /// at its latest energy reading, is priced to then, and the operator, the time and `reason`
    /// go into the station's log. A stop the charger sends after all replaces these values.
    pub async fn close_transaction(
        &self,
        id: i64,
        r: CloseRequest,
        actor: &str,
    ) -> Result<TransactionDetail> {
        let reason = r.reason.trim().to_string();
        if reason.is_empty() || reason.chars().count() > 500 {
            return Err(Error::Invalid(
                "reason: say in 1 to 500 characters why the session is closed".into(),
            ));
        }
        let t = transactions::get(&self.inner.store.reader, id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("session {id}")))?;
        if t.stop_ts.is_some() {
            return Err(Error::State(format!("session {id} has ended already")));
        }
        let at = transactions::last_reading(&self.inner.store.reader, id)
            .await?
            .map_or(t.start_ts, |(at, _)| at);
        let (by, now) = (actor.to_string(), self.now());
        let closed = self
            .inner
            .store
            .writer
            .write(move |c| {
                Box::pin(async move {
                    let running: Vec<Transaction> = transactions::get(&mut *c, id)
                        .await?
                        .into_iter()
                        .filter(|t| t.stop_ts.is_none())
                        .collect();
                    let how = CloseAs {
                        at,
                        reason: "Other",
                        by: &by,
                        note: reason,
                    };
                    close_all(c, running, &how, now).await
                })
            })
            .await?;
        if closed.is_empty() {
            return Err(Error::State(format!("session {id} has ended already")));
        }
        self.closed(&closed).await;
        self.emit(Event::StationUpdated {
            station_id: t.station_id,
        });
        self.transaction(id).await
    }

    /// Transactions, each with its cost (so far, when running).
    pub async fn transactions(&self, filter: &TransactionFilter) -> Result<Page<Transaction>> {
        crate::error::check_order("sessions", filter.from, filter.to)?;
        let mut page = transactions::list(&self.inner.store.reader, filter).await?;
        self.price_all(&mut page.items).await?;
        Ok(page)
    }

    pub async fn transaction(&self, id: i64) -> Result<TransactionDetail> {
        let reader = &self.inner.store.reader;
        let mut t = transactions::get(reader, id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("transaction {id}")))?;
        self.price_all(std::slice::from_mut(&mut t)).await?;
        let explanation = crate::billing::Pricer::new(self)
            .explain(&t.billable())
            .await?;
        let samples = chargeyard_store::meter::query(
            reader,
            &SampleFilter {
                transaction_id: Some(id),
                limit: Some(100_000),
                ..Default::default()
            },
        )
        .await?;
        Ok(TransactionDetail {
            transaction: t,
            explanation,
            meter_samples: samples,
        })
    }

    pub async fn meter_samples(&self, filter: &SampleFilter) -> Result<Vec<MeterSample>> {
        Ok(chargeyard_store::meter::query(&self.inner.store.reader, filter).await?)
    }
}
