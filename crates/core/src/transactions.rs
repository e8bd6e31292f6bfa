//! Charging sessions over their life, as the operator and the central system steer them: a remote
//! start is checked before it is sent (a tag we would refuse, a connector already in use), a
//! connector has one running session at a time, a session started with a refused tag is not
//! billed and is closed once the charger shows it is over, and the operator can close a session
//! the charger has forgotten (with the reason kept in the station's log).

use chargeyard_ocpp::v16;
use chargeyard_store::model::Transaction;
use chargeyard_store::transactions::{self, Closing};
use chargeyard_store::{SqliteConnection, events};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use ts_rs::TS;

use crate::engine::{Engine, TransactionDetail};
use crate::error::{Error, Result};
use crate::events::Event;

/// Connector states that mean no session runs on it: a session that started with a refused tag
/// and is still open when its connector reports one of these is closed.
const IDLE_STATES: &[&str] = &["Available", "Preparing", "Finishing", "Reserved"];

/// Start charging on a connector for a tag.
#[derive(Debug, Clone, Deserialize, TS)]
pub struct StartRequest {
    pub connector_id: i64,
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

/// The charger's answer to a start or stop: "Accepted" or "Rejected".
#[derive(Debug, Clone, Serialize, TS)]
pub struct CommandAnswer {
    pub status: String,
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
            meter_stop: t.meter_start + t.energy_wh.unwrap_or(0),
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
    connector_id: i64,
    new: i64,
    start: DateTime<Utc>,
    now: DateTime<Utc>,
) -> chargeyard_store::Result<Vec<i64>> {
    let older: Vec<Transaction> = transactions::running_on(&mut *c, station_id, connector_id)
        .await?
        .into_iter()
        .filter(|t| t.id != new && t.start_ts <= start)
        .collect();
    let how = CloseAs {
        at: start,
        reason: "Other",
        by: "system",
        note: format!("session {new} started on the same connector"),
    };
    close_all(c, older, &how, now).await
}

/// In a writer job, after connector `connector_id` reported `status` as its current state: a
/// session started there with a refused tag is over once the connector is idle.
pub(crate) async fn close_refused_on_idle(
    c: &mut SqliteConnection,
    station_id: &str,
    connector_id: i64,
    status: &str,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> chargeyard_store::Result<Vec<i64>> {
    if !IDLE_STATES.contains(&status) {
        return Ok(Vec::new());
    }
    let running = transactions::running_on(&mut *c, station_id, connector_id).await?;
    let note = format!("the tag was refused and the charger reported the connector {status}");
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

    /// Why a session for `id_tag` on `connector_id` cannot be started remotely now, if it cannot:
    /// the tag is not one we accept (the charger would be told so at its start), or the connector
    /// already has a running session.
    pub(crate) async fn check_start(
        &self,
        station_id: &str,
        connector_id: Option<i64>,
        id_tag: &str,
    ) -> Result<()> {
        let tag = id_tag.trim();
        if tag.is_empty() || tag.chars().count() > 20 {
            return Err(Error::Invalid(format!(
                "id tag {tag:?} must be 1 to 20 characters"
            )));
        }
        if let Some(c) = connector_id.filter(|c| *c < 1) {
            return Err(Error::Invalid(format!(
                "connector {c}: a session starts on a connector numbered from 1"
            )));
        }
        let known = chargeyard_store::id_tags::get(&self.inner.store.reader, tag).await?;
        let status = self.tag_info(known.clone()).status;
        if status != v16::AuthorizationStatus::Accepted {
            return Err(Error::Invalid(match known {
                None => format!(
                    "tag {tag} is not known here, so the charger would be told to stop at once; add it under ID tags first"
                ),
                Some(_) => format!(
                    "tag {tag} is {status} here, so the charger would be told to stop at once; choose an accepted tag"
                ),
            }));
        }
        let Some(connector_id) = connector_id else {
            return Ok(()); // the charger chooses the connector
        };
        if let Some(t) =
            transactions::running_on(&self.inner.store.reader, station_id, connector_id)
                .await?
                .first()
        {
            return Err(Error::State(format!(
                "connector {connector_id} already has session {} running (tag {}); stop it first, or close it if the charger no longer has it",
                t.id, t.id_tag
            )));
        }
        Ok(())
    }

    /// Ask a station to start charging on a connector for a tag, after [`Engine::check_start`].
    pub async fn start_charging(
        &self,
        station_id: &str,
        r: StartRequest,
        actor: &str,
    ) -> Result<CommandAnswer> {
        self.check_start(station_id, Some(r.connector_id), &r.id_tag)
            .await?;
        let tag = chargeyard_ocpp::CiString::new(r.id_tag.trim().to_string())
            .map_err(|e| Error::Invalid(e.to_string()))?;
        let answer = self
            .call(
                station_id,
                v16::RemoteStartTransactionRequest {
                    connector_id: Some(r.connector_id),
                    id_tag: tag,
                    charging_profile: None,
                },
                actor,
            )
            .await?;
        Ok(CommandAnswer {
            status: answer.status.as_str().to_string(),
        })
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
        let answer = self
            .call(
                station_id,
                v16::RemoteStopTransactionRequest {
                    transaction_id: t.id,
                },
                actor,
            )
            .await?;
        Ok(CommandAnswer {
            status: answer.status.as_str().to_string(),
        })
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
}
