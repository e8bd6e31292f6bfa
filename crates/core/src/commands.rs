//! Commands to stations: one CALL at a time per station through its session, each with its
//! outcome in the command log; typed (any version's [`Request`]) or as JSON checked strictly for
//! the station's version first (the technician's composer). Intent-level commands (start, stop,
//! reset, …) are built per version in `protocol` and sent through here.

use std::time::Duration;

use chargeyard_ocpp::{Request, Version};
use chargeyard_store::commands;
use chargeyard_store::model::CommandRecord;
use serde_json::Value;
use tokio::sync::oneshot;

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::events::Event;

/// A command on its way to a station's session.
pub(crate) struct OutboundCall {
    pub action: &'static str,
    pub payload: Value,
    /// What the frame and command logs show instead of the payload, when it holds a secret.
    pub shown: Option<Value>,
    pub reply: oneshot::Sender<std::result::Result<Value, CallFailure>>,
}

/// Why a command got no CALLRESULT.
#[derive(Debug)]
pub(crate) enum CallFailure {
    Error(String, String),
    Timeout,
    Offline,
    Busy,
}

impl Engine {
    /// The version a station speaks: its connection's, else the one it last connected with.
    pub(crate) async fn station_version(&self, station_id: &str) -> Result<Version> {
        if let Some(v) = self.lock_sessions().get(station_id).map(|h| h.info.version) {
            return Ok(v);
        }
        let station = chargeyard_store::stations::get(&self.inner.store.reader, station_id)
            .await?
            .ok_or_else(|| Error::StationNotFound(station_id.to_string()))?;
        Ok(station
            .protocol
            .as_deref()
            .and_then(Version::from_subprotocol)
            .unwrap_or(Version::V16))
    }

    /// The version to read a station's logged frames in: the one it speaks, or 1.6 for frames
    /// of a station that is no longer (or not yet) on record.
    pub(crate) async fn logged_version(&self, station_id: &str) -> Result<Version> {
        match self.station_version(station_id).await {
            Err(Error::StationNotFound(_)) => Ok(Version::V16),
            other => other,
        }
    }

    /// Send a typed command and wait for the station's typed answer. Every command and its
    /// outcome is recorded in the command log.
    pub async fn call<R: Request>(
        &self,
        station_id: &str,
        req: R,
        actor: &str,
    ) -> Result<R::Response> {
        self.call_showing(station_id, req, None, actor).await
    }

    /// As [`Engine::call`], with the logs showing `shown` instead of a request that holds a
    /// secret (a password sent to the charger).
    pub(crate) async fn call_showing<R: Request>(
        &self,
        station_id: &str,
        req: R,
        shown: Option<Value>,
        actor: &str,
    ) -> Result<R::Response> {
        let payload = serde_json::to_value(&req).map_err(|e| Error::Invalid(e.to_string()))?;
        let raw = self
            .send(station_id, R::ACTION, payload, shown, actor)
            .await?;
        let decoded = chargeyard_ocpp::decode::decode::<R::Response>(raw);
        self.answer(station_id, decoded).await
    }

    /// Check a command given as action name and JSON payload as sending it to a station of
    /// `version` would, without sending it.
    pub fn check_command(&self, version: Version, action: &str, payload: Value) -> Result<()> {
        crate::protocol::check_command(version, action, payload).map(|_| ())
    }

    /// Send a command given as action name and JSON payload (HTTP API, technician's composer),
    /// in the station's version. The payload is checked strictly first: nothing invalid is sent;
    /// a remote start gets the checks of [`Engine::start_charging`].
    pub async fn command_json(
        &self,
        station_id: &str,
        action: &str,
        payload: Value,
        actor: &str,
    ) -> Result<Value> {
        let version = self.station_version(station_id).await?;
        let checked = crate::protocol::check_command(version, action, payload)?;
        if let Some((evse, tag)) = &checked.start {
            self.check_start(station_id, *evse, tag).await?;
        }
        let raw = self
            .send(station_id, checked.action, checked.payload, None, actor)
            .await?;
        let decoded = crate::protocol::decode_answer(version, checked.action, raw);
        self.answer(station_id, decoded).await
    }

    /// A station's answer as read: its quirks recorded, or what made it unreadable.
    pub(crate) async fn answer<T>(
        &self,
        station_id: &str,
        decoded: std::result::Result<chargeyard_ocpp::Decoded<T>, chargeyard_ocpp::CallError>,
    ) -> Result<T> {
        let decoded = decoded.map_err(|error| Error::BadResponse {
            station: station_id.to_string(),
            error,
        })?;
        self.record_quirks(station_id, &decoded.quirks).await;
        Ok(decoded.value)
    }

    /// Send one CALL and wait for the station's answer payload; every command and its outcome
    /// goes into the command log (with `shown` in place of a payload that holds a secret).
    pub(crate) async fn send(
        &self,
        station_id: &str,
        action: &'static str,
        payload: Value,
        shown: Option<Value>,
        actor: &str,
    ) -> Result<Value> {
        let sent_at = self.now();
        let tx = self.lock_sessions().get(station_id).map(|h| h.tx.clone());
        let (reply, rx) = oneshot::channel();
        let outcome = match tx {
            None => Err(CallFailure::Offline),
            Some(tx) => {
                let call = OutboundCall {
                    action,
                    payload: payload.clone(),
                    shown: shown.clone(),
                    reply,
                };
                if tx.send(call).await.is_err() {
                    Err(CallFailure::Offline)
                } else {
                    // The session enforces the per-call timeout; this bounds a long queue too.
                    let limit = self.inner.config.call_timeout * 4 + Duration::from_secs(5);
                    match tokio::time::timeout(limit, rx).await {
                        Ok(Ok(r)) => r,
                        Ok(Err(_)) => Err(CallFailure::Offline),
                        Err(_) => Err(CallFailure::Timeout),
                    }
                }
            }
        };
        let (outcome_name, response, error, result) = match outcome {
            Ok(v) => ("result", Some(v.clone()), None, Ok(v)),
            Err(CallFailure::Error(code, description)) => (
                "callerror",
                None,
                Some(format!("{code}: {description}")),
                Err(Error::CallError {
                    station: station_id.to_string(),
                    code,
                    description,
                }),
            ),
            Err(CallFailure::Timeout) => {
                let secs = self.inner.config.call_timeout.as_secs();
                (
                    "timeout",
                    None,
                    None,
                    Err(Error::Timeout(station_id.to_string(), secs)),
                )
            }
            Err(CallFailure::Offline) => (
                "offline",
                None,
                None,
                Err(Error::StationOffline(station_id.to_string())),
            ),
            Err(CallFailure::Busy) => {
                ("busy", None, None, Err(Error::Busy(station_id.to_string())))
            }
        };
        let record = CommandRecord {
            id: 0,
            station_id: station_id.to_string(),
            action: action.to_string(),
            request: shown.unwrap_or(payload),
            actor: actor.to_string(),
            sent_at,
            finished_at: self.now(),
            outcome: outcome_name.to_string(),
            response,
            error,
        };
        let mut stored = record.clone();
        match self
            .inner
            .store
            .writer
            .write(move |c| Box::pin(async move { commands::insert(c, &record).await }))
            .await
        {
            Ok(id) => {
                stored.id = id;
                self.emit(Event::CommandFinished { command: stored });
            }
            Err(e) => tracing::warn!("recording command failed: {e}"),
        }
        result
    }
}
