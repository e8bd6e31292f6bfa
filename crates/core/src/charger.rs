//! What stations tell the central system, whatever their protocol version: the version-neutral
//! operations each adapter (`protocol::v16`, `protocol::v201`) turns its messages into. A boot,
//! a status of an EVSE, a token to authorize, a transaction started, its samples, its end, and
//! the station's own reports (firmware, logs, security events, vendor data) are stored here the
//! same way for every version; what each version answers is its adapter's business.

use std::sync::atomic::Ordering;

use chargeyard_ocpp::{CallError, ErrorCode, Quirk, QuirkKind};
use chargeyard_store::meter::NewSample;
use chargeyard_store::model::{BootInfo, Connector, ConnectorState, Registration};
use chargeyard_store::text::Text;
use chargeyard_store::transactions::{self, NewTransaction, StopOutcome, StopRecord};
use chargeyard_store::{connectors, events, quirks, stations};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::engine::{Engine, LiveInfo, reg_from_u8, reg_to_u8};
use crate::error::{Error, Result};
use crate::events::Event;
use crate::meter;
use crate::tags::{Token, TokenInfo};

/// What the central system answers a boot with.
pub(crate) struct BootAnswer {
    pub registration: Registration,
    /// Heartbeat interval when accepted, else when to boot again, seconds.
    pub interval_s: i64,
    pub now: DateTime<Utc>,
}

/// A status a station reported for one of its EVSEs (0: the station as a whole).
pub(crate) struct StatusReport {
    pub evse_id: i64,
    pub connector_id: Option<i64>,
    /// As the station said it.
    pub status: String,
    pub state: ConnectorState,
    pub error_code: String,
    pub info: Option<String>,
    pub vendor_id: Option<String>,
    pub vendor_error_code: Option<String>,
    pub timestamp: Option<DateTime<Utc>>,
}

/// A transaction as a station starts it (1.6 StartTransaction, 2.x the first TransactionEvent).
pub(crate) struct TxStart {
    /// 2.x: the station's id of it; None: we issue one (1.6).
    pub charger_tx_id: Option<String>,
    pub evse_id: i64,
    pub connector_id: Option<i64>,
    /// The token presented; a 2.x transaction may start before one is.
    pub token: Option<Token>,
    pub start_ts: DateTime<Utc>,
    pub meter_start: Option<i64>,
    pub reservation_id: Option<i64>,
    pub remote_start_id: Option<i64>,
    pub charging_state: Option<String>,
}

/// A started transaction: our id, and what its token was answered with.
pub(crate) struct Started {
    pub id: i64,
    pub token: Option<TokenInfo>,
}

impl Engine {
    /// Store the quirks met in a message, and show them live.
    pub(crate) async fn record_quirks(&self, station_id: &str, list: &[Quirk]) {
        for q in list {
            let (sid, kind, detail, now) = (
                station_id.to_string(),
                q.kind.as_str(),
                q.detail.clone(),
                self.now(),
            );
            self.inner
                .store
                .writer
                .write_detached(move |c| {
                    Box::pin(async move { quirks::record(c, &sid, kind, &detail, now).await })
                })
                .await;
            tracing::debug!(station = station_id, "quirk {}: {}", kind, q.detail);
            if self.has_listeners() {
                self.emit(Event::Quirk {
                    station_id: station_id.to_string(),
                    kind: kind.to_string(),
                    detail: q.detail.clone(),
                });
            }
        }
    }

    /// Whether a CALL of `action` is taken from the station now: before it is accepted only its
    /// BootNotification is (the rest get a SecurityError, in every version).
    pub(crate) fn admitted(
        &self,
        live: Option<&LiveInfo>,
        action: &str,
    ) -> std::result::Result<(), CallError> {
        let Some(live) = live else { return Ok(()) };
        let registration = reg_from_u8(live.registration.load(Ordering::Relaxed));
        if registration == Registration::Accepted || action == "BootNotification" {
            return Ok(());
        }
        Err(CallError::new(
            ErrorCode::SecurityError,
            format!(
                "station is {}; only BootNotification is taken",
                registration.as_str()
            ),
        ))
    }

    /// A handler's failure as the station is told it: what it sent was fine, storing it was not.
    pub(crate) fn internal(&self, station_id: &str, action: &str, e: Error) -> CallError {
        tracing::error!(station = station_id, "handling {action} failed: {e}");
        if matches!(&e, Error::Store(s) if s.is_disk_full()) {
            return CallError::new(
                ErrorCode::InternalError,
                "the central system's disk is full: nothing of this message was stored; retry later",
            );
        }
        CallError::new(
            ErrorCode::InternalError,
            "the central system could not store this message; retry",
        )
    }

    /// A station booted: its identity is stored, sessions started with a refused tag end (a
    /// reboot ends them), and it is told whether it is admitted.
    pub(crate) async fn boot(
        &self,
        station_id: &str,
        live: &LiveInfo,
        boot: BootInfo,
    ) -> Result<BootAnswer> {
        let (sid, now) = (station_id.to_string(), self.now());
        let (station, closed) = self
            .inner
            .store
            .writer
            .write(move |c| {
                Box::pin(async move {
                    stations::record_boot(c, &sid, &boot, now).await?;
                    let closed = crate::transactions::close_refused_at_boot(c, &sid, now).await?;
                    Ok((stations::get(&mut *c, &sid).await?, closed))
                })
            })
            .await?;
        let station = station.ok_or_else(|| Error::StationNotFound(station_id.to_string()))?;
        self.closed(&closed).await;
        live.registration
            .store(reg_to_u8(station.registration), Ordering::Relaxed);
        if station.registration == Registration::Accepted {
            self.load_wake();
        }
        self.emit(Event::StationUpdated {
            station_id: station_id.to_string(),
        });
        let c = &self.inner.config;
        let interval = match station.registration {
            Registration::Accepted => c.heartbeat_interval,
            Registration::Pending | Registration::Rejected => c.boot_retry_interval,
        };
        Ok(BootAnswer {
            registration: station.registration,
            interval_s: interval.as_secs() as i64,
            now: self.now(),
        })
    }

    /// A heartbeat: the station is alive; the answer is our time.
    pub(crate) async fn heartbeat(&self, station_id: &str) -> DateTime<Utc> {
        let (sid, now) = (station_id.to_string(), self.now());
        self.inner
            .store
            .writer
            .write_detached(move |c| Box::pin(async move { stations::touch(c, &sid, now).await }))
            .await;
        now
    }

    /// A status of one EVSE: history, and its current state unless a later one is known. A
    /// session started with a refused tag ends once its EVSE is idle.
    pub(crate) async fn status(&self, station_id: &str, r: StatusReport) -> Result<()> {
        let now = self.now();
        let connector = Connector {
            station_id: station_id.to_string(),
            evse_id: r.evse_id,
            connector_id: r.connector_id,
            status: r.status,
            state: r.state,
            error_code: r.error_code,
            info: r.info,
            vendor_id: r.vendor_id,
            vendor_error_code: r.vendor_error_code,
            status_at: r.timestamp.unwrap_or(now),
        };
        let (row, timestamp) = (connector.clone(), r.timestamp);
        let (current, closed) = self
            .inner
            .store
            .writer
            .write(move |c| {
                Box::pin(async move {
                    let current = connectors::record_status(c, &row, timestamp, now).await?;
                    let closed = if current {
                        crate::transactions::close_refused_on_idle(
                            c,
                            &row.station_id,
                            row.evse_id,
                            row.state,
                            row.status_at,
                            now,
                        )
                        .await?
                    } else {
                        Vec::new()
                    };
                    Ok((current, closed))
                })
            })
            .await?;
        self.closed(&closed).await;
        // A replayed older status goes to the history only; screens show the current one.
        if current {
            self.load_wake();
            if self.has_listeners() {
                self.live_cost(crate::billing::Running::Connector(
                    station_id.to_string(),
                    connector.evse_id,
                ));
            }
            self.emit(Event::StatusChanged { connector });
        }
        Ok(())
    }

    /// A transaction started: stored (once, however often it is sent), its token answered, and
    /// a session the station never stopped on the same EVSE closed.
    pub(crate) async fn transaction_started(
        &self,
        station_id: &str,
        protocol: chargeyard_ocpp::Version,
        s: TxStart,
    ) -> Result<Started> {
        // No new session on a full disk: what little fits is left to the running ones.
        if self.inner.store.writer.is_disk_full() {
            return Err(chargeyard_store::Error::DiskFull.into());
        }
        let info = match &s.token {
            Some(t) => Some(self.authorize(t).await?),
            None => None,
        };
        let start_auth_status = match &info {
            Some(i) => i.status.as_str().to_string(),
            None if self.settings().open_charging => "Accepted".into(),
            // A 2.x session can begin before a token is presented: billed once one is.
            None => "Pending".into(),
        };
        let new = NewTransaction {
            station_id: station_id.to_string(),
            evse_id: s.evse_id,
            connector_id: s.connector_id,
            protocol: protocol.subprotocol().to_string(),
            charger_tx_id: s.charger_tx_id.clone(),
            id_tag: s.token.as_ref().map(|t| t.id.clone()).unwrap_or_default(),
            id_token_type: s.token.as_ref().and_then(|t| t.kind.clone()),
            start_ts: s.start_ts,
            meter_start: s.meter_start,
            reservation_id: s.reservation_id,
            remote_start_id: s.remote_start_id,
            start_auth_status,
            charging_state: s.charging_state,
        };
        // What the transaction's next events need of it, held from the start (not read back).
        let brief = transactions::Brief {
            evse_id: new.evse_id,
            connector_id: new.connector_id,
            id_tag: new.id_tag.clone(),
            charging_state: new.charging_state.clone(),
            remote_start_id: new.remote_start_id,
            stopped: false,
        };
        let now = self.now();
        let (id, is_new, closed) = self
            .inner
            .store
            .writer
            .write(move |c| {
                Box::pin(async move {
                    let (id, is_new) = transactions::start(c, &new, now).await?;
                    let closed = if is_new {
                        crate::transactions::supersede(
                            c,
                            &new.station_id,
                            new.evse_id,
                            id,
                            new.start_ts,
                            now,
                        )
                        .await?
                    } else {
                        Vec::new()
                    };
                    Ok((id, is_new, closed))
                })
            })
            .await?;
        // A start sent again is the same transaction, whose meterStart is this one.
        self.remember_start(id, station_id, s.charger_tx_id.as_deref(), s.meter_start);
        if is_new {
            self.no_events_stored(id);
            self.hold_brief(id, brief);
            self.load_wake();
        }
        self.closed(&closed).await;
        if is_new
            && self.has_listeners()
            && let Some(mut t) = transactions::get(&self.inner.store.reader, id).await?
        {
            self.price_all(std::slice::from_mut(&mut t)).await?;
            self.emit(Event::TransactionStarted { transaction: t });
        }
        Ok(Started { id, token: info })
    }

    /// Sampled values from `station_id` (for one of its transactions, or none): normalised,
    /// checked against the transaction (a reading in kWh labelled Wh is recognised against its
    /// start), stored, and shown live with the cost so far. Values naming a transaction the
    /// station does not have are kept without it. `seq_no`: the 2.x event they came with.
    pub(crate) async fn meter_values<'a>(
        &self,
        station_id: &Text,
        evse_id: i64,
        transaction: Option<i64>,
        seq_no: Option<i64>,
        readings: impl IntoIterator<Item = meter::Reading<'a>>,
    ) -> Result<()> {
        // Samples are found by their transaction, so they only name one of this station's.
        let known = match transaction {
            Some(tx) => self.meter_start(station_id, tx).await?,
            None => None,
        };
        let transaction = match (transaction, &known) {
            (Some(tx), None) => {
                let q = Quirk::new(
                    QuirkKind::UnknownTransaction,
                    format!("meter values for unknown transaction {tx}; kept without it"),
                );
                self.record_quirks(station_id, &[q]).await;
                None
            }
            (tx, _) => tx,
        };
        let mut samples = meter::normalise(station_id, evse_id, transaction, seq_no, readings);
        if samples.is_empty() {
            return Ok(());
        }
        if let (Some(tx), Some(Some(start))) = (transaction, known)
            && meter::kwh_candidates(&samples)
            && meter::fix_kwh_labelled_as_wh(&mut samples, start)
        {
            let q = Quirk::new(
                QuirkKind::KwhLabelledAsWh,
                format!(
                    "energy register labelled Wh is ~1000× below meterStart {start} Wh of transaction {tx}; read as kWh"
                ),
            );
            self.record_quirks(station_id, &[q]).await;
        }
        // A 2.x transaction whose start had no reading takes its first one.
        if let (Some(tx), Some(None)) = (transaction, known)
            && let Some(first) = first_register(&samples)
        {
            self.set_meter_start(station_id, tx, first).await?;
        }
        let event = self.has_listeners().then(|| Event::MeterValues {
            station_id: station_id.to_string(),
            evse_id,
            transaction_id: transaction,
            timestamp: samples
                .iter()
                .map(|s| s.timestamp)
                .max()
                .unwrap_or_else(|| self.now()),
            energy_wh: meter::latest(&samples, "Energy.Active.Import.Register"),
            power_w: meter::latest(&samples, "Power.Active.Import"),
            soc_percent: meter::latest(&samples, "SoC"),
        });
        self.note_draw(station_id, evse_id, &samples);
        self.inner.store.writer.append_samples(samples).await?;
        let shown = event.is_some();
        if let Some(event) = event {
            self.emit(event);
        }
        // The cost so far, for the screens and, when it is due one, for a 2.x charger's display.
        if let Some(tx) = transaction {
            let tell = self
                .connected_version(station_id)
                .is_some_and(|v| v != chargeyard_ocpp::Version::V16)
                && self.claim_cost_update(tx);
            if tell {
                self.live_cost(crate::billing::Running::Tell(tx));
            } else if shown {
                self.live_cost(crate::billing::Running::Transaction(tx));
            }
        }
        Ok(())
    }

    /// A transaction's first register reading becomes its meterStart (2.x, when its start had
    /// none).
    async fn set_meter_start(&self, station_id: &str, id: i64, wh: i64) -> Result<()> {
        let sid = station_id.to_string();
        let progress = transactions::Progress {
            meter_start: Some(wh),
            ..Default::default()
        };
        self.inner
            .store
            .writer
            .write(move |c| {
                Box::pin(async move { transactions::progress(c, &sid, id, &progress).await })
            })
            .await?;
        self.remember_start(id, station_id, None, Some(wh));
        Ok(())
    }

    /// A transaction ended, as the station says (`samples`: what came with its end), and its
    /// cost worked out and stored after the answer. A stop for a transaction the station does
    /// not have is kept apart (and its samples without one).
    pub(crate) async fn transaction_ended(
        &self,
        station_id: &str,
        stop: StopRecord,
        samples: Vec<NewSample>,
    ) -> Result<StopOutcome> {
        let id = stop.transaction_id;
        let outcome = self.end_transaction(station_id, stop, samples).await?;
        if outcome == StopOutcome::Stopped {
            self.price_stopped(id);
        }
        Ok(outcome)
    }

    /// A transaction ended, as [`Self::transaction_ended`], its cost left to the caller (a 2.x
    /// answer carries it: see [`Self::total_cost`], which stores it too).
    pub(crate) async fn end_transaction(
        &self,
        station_id: &str,
        stop: StopRecord,
        samples: Vec<NewSample>,
    ) -> Result<StopOutcome> {
        let id = stop.transaction_id;
        let now = self.now();
        let outcome = self
            .inner
            .store
            .writer
            .write(move |c| {
                Box::pin(async move {
                    let outcome = transactions::stop(c, &stop, now).await?;
                    let evse = match outcome {
                        _ if samples.is_empty() => None,
                        StopOutcome::Unknown => None,
                        _ => transactions::brief(&mut *c, stop.transaction_id)
                            .await?
                            .map(|t| t.evse_id),
                    };
                    let samples = samples
                        .into_iter()
                        .map(|s| NewSample {
                            evse_id: evse.unwrap_or(0),
                            transaction_id: evse.map(|_| stop.transaction_id),
                            ..s
                        })
                        .collect();
                    chargeyard_store::meter::insert(c, samples, now).await?;
                    Ok(outcome)
                })
            })
            .await?;
        if outcome != StopOutcome::Unknown {
            self.forget_start(id);
        }
        match outcome {
            StopOutcome::Stopped => {
                self.forget_cost_updates(id);
                self.load_wake();
                if self.has_listeners()
                    && let Some(t) = transactions::get(&self.inner.store.reader, id).await?
                {
                    self.emit(Event::TransactionStopped { transaction: t });
                }
            }
            StopOutcome::AlreadyStopped => {}
            StopOutcome::Unknown => {
                let q = Quirk::new(
                    QuirkKind::UnknownTransaction,
                    format!("a stop for unknown transaction {id}"),
                );
                self.record_quirks(station_id, &[q]).await;
            }
        }
        Ok(outcome)
    }

    /// Something a station reports about itself (vendor data, a security event, …), kept in its
    /// log.
    pub(crate) async fn station_event(
        &self,
        station_id: &str,
        kind: &'static str,
        detail: Value,
    ) -> Result<()> {
        let (sid, now) = (station_id.to_string(), self.now());
        self.inner
            .store
            .writer
            .write(move |c| {
                Box::pin(async move { events::insert(c, &sid, kind, &detail, now).await })
            })
            .await?;
        Ok(())
    }

    /// Where a station's diagnostics or log upload (`"diagnostics_status"`) or firmware update
    /// (`"firmware_status"`) has got to: kept on the station, in its log, and on its transfer.
    pub(crate) async fn station_status(
        &self,
        station_id: &str,
        kind: &'static str,
        status: String,
    ) -> Result<()> {
        let (sid, st) = (station_id.to_string(), status.clone());
        self.inner
            .store
            .writer
            .write(move |c| {
                Box::pin(async move {
                    if kind == "diagnostics_status" {
                        stations::set_diagnostics_status(c, &sid, &st).await
                    } else {
                        stations::set_firmware_status(c, &sid, &st).await
                    }
                })
            })
            .await?;
        self.station_event(station_id, kind, json!({ "status": status }))
            .await?;
        self.transfer_status(station_id, kind, &status).await;
        self.emit(Event::StationUpdated {
            station_id: station_id.to_string(),
        });
        Ok(())
    }
}

/// The first whole-meter import register reading among samples, in Wh.
fn first_register(samples: &[NewSample]) -> Option<i64> {
    samples
        .iter()
        .filter(|s| &*s.measurand == "Energy.Active.Import.Register" && s.phase.is_none())
        .min_by_key(|s| s.timestamp)
        .and_then(|s| s.value)
        .map(|v| v.round() as i64)
}
