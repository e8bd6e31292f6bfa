//! Stations as the operator sees and manages them: the list with live connection facts, one
//! station in detail, adding, accepting and rejecting, refused connections, the demo depot's
//! stations, and the logs kept per station.

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use chargeyard_store::model::*;
use chargeyard_store::transactions::{self, TransactionFilter};
use chargeyard_store::{commands, connectors, events, frames, quirks, stations};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use ts_rs::TS;

use crate::auth::hash_password;
use crate::engine::{Engine, reg_to_u8};
use crate::error::{Error, Result, or_duplicate, or_missing};
use crate::events::Event;

/// A station as the dashboard shows it.
#[derive(Debug, Clone, Serialize, TS)]
pub struct StationView {
    #[serde(flatten)]
    pub station: Station,
    pub connected: bool,
    pub connected_since: Option<DateTime<Utc>>,
    /// Last frame or pong from the station on the current connection.
    pub last_message_at: Option<DateTime<Utc>>,
    /// How the current connection reached us (TLS, client certificate).
    pub transport: Option<crate::auth::Transport>,
    /// The security profile in force (0-3; see [`crate::security::effective_profile`]).
    pub profile_in_force: u8,
    pub connectors: Vec<Connector>,
    pub open_transactions: Vec<Transaction>,
}

/// Everything about one station.
#[derive(Debug, Clone, Serialize, TS)]
pub struct StationDetail {
    #[serde(flatten)]
    pub view: StationView,
    pub status_history: Vec<StatusChange>,
    pub quirks: Vec<QuirkRecord>,
    pub unmatched_stops: Vec<UnmatchedStop>,
    pub events: Vec<StationEvent>,
    /// The sessions started since midnight in the depot's time zone, summed.
    pub today: DaySummary,
    /// Its latest sessions, newest first, each with its cost (so far, while running).
    pub recent_sessions: Vec<Transaction>,
}

/// Sessions started in one local day, summed.
#[derive(Debug, Clone, Serialize, TS)]
pub struct DaySummary {
    /// The depot's local midnight the day starts at.
    pub since: DateTime<Utc>,
    pub time_zone: String,
    pub sessions: i64,
    pub energy_wh: i64,
    /// What they cost, VAT included, per currency (one, unless tariffs in several are used).
    pub costs: Vec<CostTotal>,
}

/// An amount in minor units of a currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct CostTotal {
    pub currency: String,
    pub decimals: u32,
    pub total: i64,
}

/// How many of a station's sessions its page lists.
const RECENT_SESSIONS: i64 = 10;

/// A station the operator adds (or accepts from the inbox).
#[derive(Debug, Clone, Default, Deserialize, TS)]
pub struct NewStation {
    pub id: String,
    /// Basic-auth password (AuthorizationKey); none: the station connects without auth.
    pub password: Option<String>,
}

/// The OCPP versions a station may speak, such as only 1.6 for a charger whose 2.0.1 firmware is
/// not trusted yet. None: every version spoken here. Takes effect at its next connection.
#[derive(Debug, Clone, Deserialize, TS)]
pub struct ProtocolsRequest {
    /// Subprotocol names, e.g. `ocpp1.6`, `ocpp2.0.1`.
    pub enabled: Option<Vec<String>>,
}

/// What removing the demo did.
#[derive(Debug, Clone, Serialize, TS)]
pub struct DemoRemoval {
    pub removed_stations: u64,
    pub removed_tariffs: u64,
    /// Whether a default tariff still applies; without one, sessions on stations and tags with no
    /// tariff of their own are not priced, and the console asks for one.
    pub default_tariff: bool,
}

/// Station ids: printable, no slash, at most 48 characters (the 2.0.1 identity limit).
pub fn check_station_id(id: &str) -> Result<()> {
    if id.is_empty()
        || id.chars().count() > 48
        || id.contains('/')
        || id.chars().any(char::is_control)
    {
        return Err(Error::Invalid(format!(
            "station id {id:?} must be 1 to 48 printable characters without '/'"
        )));
    }
    Ok(())
}

impl Engine {
    pub(crate) fn live(&self, station: Station) -> StationView {
        let sessions = self.lock_sessions();
        let live = sessions.get(&station.id).map(|h| h.info.clone());
        drop(sessions);
        StationView {
            connected: live.is_some(),
            connected_since: live.as_ref().map(|l| l.connected_at),
            last_message_at: live.as_ref().and_then(|l| {
                DateTime::from_timestamp_millis(l.last_rx_ms.load(Ordering::Relaxed))
            }),
            transport: live.as_ref().map(|l| l.transport.clone()),
            profile_in_force: crate::security::effective_profile(
                station.security_profile,
                station.has_password,
            ),
            station,
            connectors: Vec::new(),
            open_transactions: Vec::new(),
        }
    }

    /// Every station with its connectors and running transactions.
    pub async fn stations(&self) -> Result<Vec<StationView>> {
        let reader = &self.inner.store.reader;
        let list = stations::list(reader).await?;
        let mut by_station: HashMap<String, Vec<Connector>> = HashMap::new();
        for c in connectors::list_all(reader).await? {
            by_station.entry(c.station_id.clone()).or_default().push(c);
        }
        let open = self
            .transactions(&TransactionFilter {
                open: Some(true),
                limit: Some(1000),
                ..Default::default()
            })
            .await?;
        let mut open_by: HashMap<String, Vec<Transaction>> = HashMap::new();
        for t in open.items {
            open_by.entry(t.station_id.clone()).or_default().push(t);
        }
        Ok(list
            .into_iter()
            .map(|s| {
                let id = s.id.clone();
                let mut v = self.live(s);
                v.connectors = by_station.remove(&id).unwrap_or_default();
                v.open_transactions = open_by.remove(&id).unwrap_or_default();
                v
            })
            .collect())
    }

    pub async fn station(&self, id: &str) -> Result<StationDetail> {
        let reader = &self.inner.store.reader;
        let s = stations::get(reader, id)
            .await?
            .ok_or_else(|| Error::StationNotFound(id.to_string()))?;
        let mut view = self.live(s);
        view.connectors = connectors::list(reader, id).await?;
        view.open_transactions = transactions::list(
            reader,
            &TransactionFilter {
                station_id: Some(id.to_string()),
                open: Some(true),
                ..Default::default()
            },
        )
        .await?
        .items;
        let mut recent_sessions = transactions::list(
            reader,
            &TransactionFilter {
                station_id: Some(id.to_string()),
                limit: Some(RECENT_SESSIONS),
                ..Default::default()
            },
        )
        .await?
        .items;
        self.price_all(&mut recent_sessions).await?;
        Ok(StationDetail {
            view,
            status_history: connectors::history(reader, id, 100).await?,
            quirks: quirks::list(reader, id).await?,
            unmatched_stops: transactions::unmatched_stops(reader, id).await?,
            events: events::list(reader, id, 50).await?,
            today: self.today(Some(id)).await?,
            recent_sessions,
        })
    }

    /// The sessions started since the depot's midnight (on one station, or on all): how many,
    /// their energy and what they cost.
    pub async fn today(&self, station: Option<&str>) -> Result<DaySummary> {
        let tz = self.time_zone();
        let since = crate::charts::local_midnight(&tz, self.now().with_timezone(&tz).date_naive());
        let mut summary = DaySummary {
            since,
            time_zone: tz.name().to_string(),
            sessions: 0,
            energy_wh: 0,
            costs: Vec::new(),
        };
        let mut filter = TransactionFilter {
            station_id: station.map(str::to_string),
            from: Some(since),
            limit: Some(1000),
            offset: Some(0),
            ..Default::default()
        };
        loop {
            let mut page = transactions::list(&self.inner.store.reader, &filter).await?;
            self.price_all(&mut page.items).await?;
            for t in &page.items {
                summary.sessions += 1;
                summary.energy_wh += t.energy_wh.unwrap_or(0).max(0);
                let Some(c) = &t.cost else { continue };
                match summary.costs.iter_mut().find(|x| x.currency == c.currency) {
                    Some(x) => x.total += c.total,
                    None => summary.costs.push(CostTotal {
                        currency: c.currency.clone(),
                        decimals: c.decimals,
                        total: c.total,
                    }),
                }
            }
            if page.items.len() < 1000 {
                return Ok(summary);
            }
            filter.offset = Some(filter.offset.unwrap_or(0) + 1000);
        }
    }

    /// Add a station the operator knows; it is accepted at its first boot. A password given here
    /// is required from its first connection (the operator enters it on the charger).
    pub async fn create_station(&self, new: NewStation) -> Result<StationDetail> {
        check_station_id(&new.id)?;
        if let Some(pw) = &new.password {
            crate::auth::check_password(pw, None)?;
        }
        let hash = new.password.as_deref().map(hash_password);
        let (id, h, now) = (new.id.clone(), hash.clone(), self.now());
        self.inner
            .store
            .writer
            .write(move |c| {
                Box::pin(async move {
                    stations::create(c, &id, Registration::Accepted, h.as_deref(), now).await
                })
            })
            .await
            .map_err(or_duplicate(Error::Conflict(format!("station {}", new.id))))?;
        let id = new.id.clone();
        self.inner.credentials.update(&new.id, |a| {
            a.hash = hash;
            a.certificate_names = vec![id];
        });
        self.emit(Event::StationUpdated {
            station_id: new.id.clone(),
        });
        self.station(&new.id).await
    }

    /// Accept a pending (or rejected) station. With a password, that is set first (see
    /// [`Engine::set_station_password`]); if the charger refuses it, the station stays as it was.
    /// A connected station is asked to boot again at once.
    pub async fn accept_station(
        &self,
        id: &str,
        password: crate::auth::PasswordChange,
        actor: &str,
    ) -> Result<StationDetail> {
        if password.password.is_some() {
            self.set_station_password(id, password, actor).await?;
        }
        self.set_registration(id, Registration::Accepted).await?;
        if self.is_connected(id) {
            let engine = self.clone();
            let id = id.to_string();
            // Best effort: a charger that ignores it boots again after its retry interval.
            tokio::spawn(async move {
                let boot = crate::protocol::Intent::Trigger {
                    message: crate::protocol::TriggerMessage::BootNotification,
                    evse_id: None,
                };
                if let Err(e) = engine.intent(&id, boot, "system").await {
                    tracing::info!(station = %id, "triggering a BootNotification after accept: {e}");
                }
            });
        }
        self.station(id).await
    }

    /// Reject a station: its BootNotification is answered Rejected, and the client certificates
    /// the depot's CA issued to it stop working.
    pub async fn reject_station(&self, id: &str) -> Result<StationDetail> {
        self.set_registration(id, Registration::Rejected).await?;
        self.revoke_certificates(id, "the station was rejected")
            .await?;
        self.station(id).await
    }

    async fn set_registration(&self, id: &str, reg: Registration) -> Result<()> {
        let sid = id.to_string();
        self.inner
            .store
            .writer
            .write(move |c| {
                Box::pin(async move { stations::set_registration(c, &sid, reg, None).await })
            })
            .await
            .map_err(or_missing(Error::StationNotFound(id.to_string())))?;
        if let Some(h) = self.lock_sessions().get(id) {
            h.info.registration.store(reg_to_u8(reg), Ordering::Relaxed);
        }
        self.emit(Event::StationUpdated {
            station_id: id.to_string(),
        });
        Ok(())
    }

    /// Store (or with None clear) the password a station must present, effective at its next
    /// connection.
    pub(crate) async fn store_password(&self, id: &str, password: Option<&str>) -> Result<()> {
        let hash = password.map(hash_password);
        let reg = stations::get(&self.inner.store.reader, id)
            .await?
            .ok_or_else(|| Error::StationNotFound(id.to_string()))?
            .registration;
        let (sid, h) = (id.to_string(), hash.clone());
        self.inner
            .store
            .writer
            .write(move |c| {
                Box::pin(async move {
                    stations::set_registration(c, &sid, reg, Some(h.as_deref())).await
                })
            })
            .await?;
        self.inner.credentials.update(id, |a| a.hash = hash);
        self.emit(Event::StationUpdated {
            station_id: id.to_string(),
        });
        Ok(())
    }

    /// Count a connection refused at the handshake (`why`: a [`crate::auth::Refusal`] code), for a
    /// station known here (others are not recorded: a flood of made-up ids must not grow the
    /// database).
    pub(crate) async fn record_refusal(&self, id: &str, why: &str) {
        let (sid, why, now) = (id.to_string(), why.to_string(), self.now());
        let known = self
            .inner
            .store
            .writer
            .write(move |c| {
                Box::pin(async move { stations::record_refusal(c, &sid, &why, now).await })
            })
            .await;
        match known {
            Ok(true) => self.emit(Event::StationUpdated {
                station_id: id.to_string(),
            }),
            Ok(false) => {}
            Err(e) => tracing::warn!("recording a refused connection: {e}"),
        }
    }

    /// Choose the OCPP versions a station may speak; see [`ProtocolsRequest`].
    pub async fn set_station_protocols(
        &self,
        id: &str,
        r: ProtocolsRequest,
    ) -> Result<StationDetail> {
        let supported = crate::engine::SUPPORTED_PROTOCOLS;
        let enabled = match r.enabled {
            None => None,
            Some(list) => {
                if let Some(bad) = list.iter().find(|p| !supported.contains(&p.as_str())) {
                    return Err(Error::Invalid(format!(
                        "unknown OCPP version {bad:?}; this central system speaks {}",
                        supported.join(", ")
                    )));
                }
                if list.is_empty() {
                    return Err(Error::Invalid(
                        "a station needs at least one OCPP version".into(),
                    ));
                }
                // Kept in the order of preference, once each.
                let kept: Vec<&str> = supported
                    .iter()
                    .copied()
                    .filter(|p| list.iter().any(|l| l == p))
                    .collect();
                Some(kept.join(","))
            }
        };
        let sid = id.to_string();
        self.inner
            .store
            .writer
            .write(move |c| {
                Box::pin(async move {
                    stations::set_enabled_protocols(c, &sid, enabled.as_deref()).await
                })
            })
            .await
            .map_err(or_missing(Error::StationNotFound(id.to_string())))?;
        let detail = self.station(id).await?;
        self.remember_protocols(&detail.view.station);
        self.emit(Event::StationUpdated {
            station_id: id.to_string(),
        });
        Ok(detail)
    }

    /// Forget a station (its transaction and frame history stay). A connected one is dropped.
    pub async fn delete_station(&self, id: &str) -> Result<()> {
        if stations::get(&self.inner.store.reader, id).await?.is_none() {
            return Err(Error::StationNotFound(id.to_string()));
        }
        self.revoke_certificates(id, "the station was removed")
            .await?;
        let sid = id.to_string();
        self.inner
            .store
            .writer
            .write(move |c| Box::pin(async move { stations::delete(c, &sid).await }))
            .await
            .map_err(or_missing(Error::StationNotFound(id.to_string())))?;
        self.inner.credentials.remove(id);
        self.forget_protocols(id);
        if let Some(h) = self.lock_sessions().get(id) {
            h.cancel.cancel();
        }
        self.emit(Event::StationUpdated {
            station_id: id.to_string(),
        });
        Ok(())
    }

    // ---- Demo data ------------------------------------------------------------------------------

    /// Create the demo fleet's stations (accepted) and tags, all marked as demo data.
    pub async fn seed_demo(&self, stations: Vec<String>, tags: Vec<String>) -> Result<()> {
        let now = self.now();
        self.inner
            .store
            .writer
            .write(move |c| {
                Box::pin(
                    async move { chargeyard_store::demo::seed(c, &stations, &tags, now).await },
                )
            })
            .await?;
        Ok(())
    }

    /// Register the token that stops the running demo fleet (see [`Engine::remove_demo`]).
    pub fn set_demo_fleet(&self, stop: CancellationToken) {
        if let Ok(mut slot) = self.inner.demo_fleet.lock() {
            *slot = Some(stop);
        }
    }

    /// The demo's own tariff (marked demo, applying by default), unless there is a tariff already.
    pub async fn seed_demo_tariff(&self, input: crate::billing::TariffInput) -> Result<()> {
        let definition = crate::billing::checked(&input)?;
        let (name, now) = (input.name, self.now());
        self.inner
            .store
            .writer
            .write(move |c| {
                Box::pin(async move {
                    chargeyard_store::demo::seed_tariff(c, &name, &definition, now).await
                })
            })
            .await?;
        Ok(())
    }

    /// Stop the demo fleet and delete every demo station with all its history, the demo tags, and
    /// the demo's tariff with where it applied (sessions are not billed demo prices after it).
    pub async fn remove_demo(&self) -> Result<DemoRemoval> {
        if let Some(stop) = self.inner.demo_fleet.lock().ok().and_then(|mut s| s.take()) {
            stop.cancel();
        }
        let demo: Vec<String> = stations::list(&self.inner.store.reader)
            .await?
            .into_iter()
            .filter(|s| s.demo)
            .map(|s| s.id)
            .collect();
        for id in &demo {
            if let Some(h) = self.lock_sessions().get(id) {
                h.cancel.cancel();
            }
        }
        // A message a demo station sent just before may still be on its way to the database: let
        // the sessions finish (they end after the message in hand) so nothing lands after the
        // delete.
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
        while demo.iter().any(|id| self.lock_sessions().contains_key(id))
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let removed = self
            .inner
            .store
            .writer
            .write(|c| Box::pin(async move { chargeyard_store::demo::remove(c).await }))
            .await?;
        // Their running transactions are gone.
        self.forget_all_starts();
        for id in demo {
            self.emit(Event::StationUpdated { station_id: id });
        }
        let default_tariff = self
            .tariff_assignments()
            .await?
            .iter()
            .any(|a| a.scope == "default");
        Ok(DemoRemoval {
            removed_stations: removed.stations,
            removed_tariffs: removed.tariffs,
            default_tariff,
        })
    }

    pub async fn status_history(&self, id: &str, limit: i64) -> Result<Vec<StatusChange>> {
        Ok(connectors::history(&self.inner.store.reader, id, limit).await?)
    }

    pub async fn frames(
        &self,
        station_id: &str,
        before_id: Option<i64>,
        limit: i64,
    ) -> Result<Vec<Frame>> {
        Ok(frames::list(&self.inner.store.reader, station_id, before_id, limit).await?)
    }

    pub async fn command_log(&self, station_id: &str, limit: i64) -> Result<Vec<CommandRecord>> {
        Ok(commands::list(&self.inner.store.reader, station_id, limit).await?)
    }

    pub async fn quirks(&self, station_id: &str) -> Result<Vec<QuirkRecord>> {
        Ok(quirks::list(&self.inner.store.reader, station_id).await?)
    }
}
