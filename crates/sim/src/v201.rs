//! The simulator speaking OCPP 2.0.1: the same charger as 1.6 (boot, statuses, transactions with
//! meter values, the offline queue, remote start and stop, resets, transfers), said in 2.0.1
//! messages, with a device model of components and variables instead of configuration keys, and
//! an answer to every 2.0.1 command a CSMS sends that a charger of this kind supports (the rest
//! get `NotImplemented`, as from a real one).
//!
//! [`ChargePoint`]'s methods keep one vocabulary for both versions (1.6 statuses and reasons, the
//! numbers `transaction` returns); when the central system chose 2.0.1 they are sent as below:
//! a connector status becomes a StatusNotification (Available, Occupied, Reserved, Unavailable,
//! Faulted) or, while a transaction runs, its charging state in a TransactionEvent; a start, meter
//! values and a stop become a transaction's TransactionEvents Started, Updated and Ended, numbered
//! by seqNo from 0.

use std::collections::BTreeMap;
use std::time::Duration;

use chargeyard_ocpp::lenient::Timestamp;
use chargeyard_ocpp::v16::{
    AuthorizationStatus, BootNotificationResponse, ChargePointStatus, MessageTrigger, Reason,
    StartTransactionResponse,
};
use chargeyard_ocpp::v201::{self, CsmsCall};
use chargeyard_ocpp::{CallError, ErrorCode};
use serde_json::{Value, json};

use crate::{ChargePoint, Result, SimConfig, SimError, lock};

/// How a variable of the device model may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mutability {
    ReadOnly,
    ReadWrite,
    WriteOnly,
}

impl Mutability {
    fn as_str(self) -> &'static str {
        match self {
            Mutability::ReadOnly => "ReadOnly",
            Mutability::ReadWrite => "ReadWrite",
            Mutability::WriteOnly => "WriteOnly",
        }
    }
}

/// The device model's variables by (component, variable): value and mutability.
pub(crate) type DeviceModel = BTreeMap<(String, String), (String, Mutability)>;

/// A transaction running on an EVSE: the station's id of it and the next seqNo.
#[derive(Debug, Clone)]
pub(crate) struct Running {
    pub id: String,
    pub seq_no: i64,
}

/// The variables a charger of this kind reports (a subset of the 2.0.1 Part 2 appendix, plus a
/// vendor one), and what may be changed.
pub(crate) fn device_model(evses: u32) -> DeviceModel {
    use Mutability::*;
    let mut m = DeviceModel::new();
    let mut put = |c: &str, v: &str, value: &str, mutability| {
        m.insert((c.into(), v.into()), (value.into(), mutability));
    };
    put("OCPPCommCtrlr", "HeartbeatInterval", "300", ReadWrite);
    put("OCPPCommCtrlr", "WebSocketPingInterval", "60", ReadWrite);
    put(
        "OCPPCommCtrlr",
        "NetworkProfileConnectionAttempts",
        "3",
        ReadWrite,
    );
    put(
        "OCPPCommCtrlr",
        "NetworkConfigurationPriority",
        "0",
        ReadWrite,
    );
    put("SampledDataCtrlr", "TxUpdatedInterval", "60", ReadWrite);
    put(
        "SampledDataCtrlr",
        "TxUpdatedMeasurands",
        "Energy.Active.Import.Register,Power.Active.Import",
        ReadWrite,
    );
    put("AuthCtrlr", "LocalPreAuthorize", "false", ReadWrite);
    put("AuthCtrlr", "AuthorizeRemoteStart", "false", ReadWrite);
    put("AuthCacheCtrlr", "Enabled", "true", ReadWrite);
    put("LocalAuthListCtrlr", "Enabled", "true", ReadWrite);
    put("LocalAuthListCtrlr", "Entries", "100", ReadOnly);
    put("TxCtrlr", "EVConnectionTimeOut", "60", ReadWrite);
    put("TxCtrlr", "StopTxOnEVSideDisconnect", "true", ReadWrite);
    put("SecurityCtrlr", "SecurityProfile", "1", ReadOnly);
    put("SecurityCtrlr", "BasicAuthPassword", "", WriteOnly);
    put("SmartChargingCtrlr", "Enabled", "true", ReadOnly);
    put(
        "ChargingStation",
        "AvailabilityState",
        "Available",
        ReadOnly,
    );
    put("EVSE", "Count", &evses.to_string(), ReadOnly);
    // A vendor variable that takes effect after a reboot, as real chargers have.
    put("VendorNetworkCtrlr", "Mode", "ethernet", ReadWrite);
    m
}

impl SimConfig {
    /// A simulated charger that offers OCPP 2.0.1 only.
    pub fn v201(url: impl Into<String>, station_id: impl Into<String>) -> SimConfig {
        SimConfig {
            subprotocols: vec![v201::SUBPROTOCOL.to_string()],
            ..SimConfig::new(url, station_id)
        }
    }

    /// BootNotification with this simulator's identity, in 2.0.1.
    pub fn boot_request_v201(&self) -> Value {
        json!({
            "reason": "PowerUp",
            "chargingStation": {
                "vendorName": self.vendor,
                "model": self.model,
                "serialNumber": format!("SN-{}", self.station_id).chars().take(25).collect::<String>(),
                "firmwareVersion": self.firmware,
            }
        })
    }
}

fn now() -> Value {
    serde_json::to_value(Timestamp::now()).unwrap_or(Value::Null)
}

/// A 1.6 value of a type from the same word in 2.0.1 (statuses share their names).
fn same_word<T: serde::de::DeserializeOwned>(word: &str, fallback: T) -> T {
    serde_json::from_value(Value::String(word.to_string())).unwrap_or(fallback)
}

/// One sampled energy register reading (and power, state of charge) as a 2.0.1 meterValue,
/// taken now.
fn meter_value(context: &str, register_wh: i64, power_w: Option<f64>, soc: Option<f64>) -> Value {
    meter_value_at(now(), context, register_wh, power_w, soc)
}

fn meter_value_at(
    at: Value,
    context: &str,
    register_wh: i64,
    power_w: Option<f64>,
    soc: Option<f64>,
) -> Value {
    let mut sampled = vec![json!({
        "value": register_wh,
        "context": context,
        "measurand": "Energy.Active.Import.Register",
        "location": "Outlet",
        "unitOfMeasure": {"unit": "Wh"},
    })];
    if let Some(p) = power_w {
        sampled.push(json!({
            "value": (p * 10.0).round() / 10.0,
            "context": context,
            "measurand": "Power.Active.Import",
            "location": "Outlet",
            "unitOfMeasure": {"unit": "W"},
        }));
    }
    if let Some(s) = soc {
        sampled.push(json!({
            "value": s.round(),
            "context": context,
            "measurand": "SoC",
            "location": "EV",
            "unitOfMeasure": {"unit": "Percent"},
        }));
    }
    json!([{ "timestamp": at, "sampledValue": sampled }])
}

/// The (component, variable) a Get/SetVariables entry names.
fn variable_key(d: &Value) -> (String, String) {
    let name = |v: &Value| v["name"].as_str().unwrap_or_default().to_string();
    (name(&d["component"]), name(&d["variable"]))
}

/// A TransactionEvent's transactionInfo, to add to.
fn info(m: &mut serde_json::Map<String, Value>) -> &mut serde_json::Map<String, Value> {
    m.entry("transactionInfo")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .expect("transactionInfo is an object")
}

/// The 2.0.1 connector status a 1.6 status means (the charging ones: Occupied).
fn connector_status(s: ChargePointStatus) -> &'static str {
    match s {
        ChargePointStatus::Available => "Available",
        ChargePointStatus::Reserved => "Reserved",
        ChargePointStatus::Unavailable => "Unavailable",
        ChargePointStatus::Faulted => "Faulted",
        _ => "Occupied",
    }
}

/// A 1.6 stop reason as 2.0.1's stoppedReason and the triggerReason of the Ended event.
fn stop_reason(r: Reason) -> (&'static str, &'static str) {
    match r.as_str() {
        "Remote" => ("Remote", "RemoteStop"),
        "EVDisconnected" => ("EVDisconnected", "EVCommunicationLost"),
        "DeAuthorized" => ("DeAuthorized", "Deauthorized"),
        "EmergencyStop" => ("EmergencyStop", "AbnormalCondition"),
        "HardReset" => ("ImmediateReset", "ResetCommand"),
        "SoftReset" | "Reboot" => ("Reboot", "ResetCommand"),
        "PowerLoss" => ("PowerLoss", "AbnormalCondition"),
        "Local" => ("Local", "StopAuthorized"),
        _ => ("Other", "StopAuthorized"),
    }
}

impl ChargePoint {
    /// Whether the central system chose OCPP 2.0.1 for this connection.
    pub fn speaks_v201(&self) -> bool {
        self.protocol() == Some(v201::SUBPROTOCOL)
    }

    /// The 2.0.1 transaction id running on an EVSE, if any.
    pub fn transaction_id_v201(&self, evse: i64) -> Option<String> {
        lock(&self.inner.state)
            .running
            .get(&evse)
            .map(|r| r.id.clone())
    }

    /// CostUpdated messages received: (transaction id, total cost).
    pub fn costs_received(&self) -> Vec<(String, f64)> {
        lock(&self.inner.state).costs.clone()
    }

    /// A device-model variable's value (component, variable).
    pub fn variable(&self, component: &str, variable: &str) -> Option<String> {
        lock(&self.inner.state)
            .variables
            .get(&(component.to_string(), variable.to_string()))
            .map(|v| v.0.clone())
    }

    pub(crate) async fn boot_v201(&self) -> Result<BootNotificationResponse> {
        let a = self
            .call_raw("BootNotification", self.inner.cfg.boot_request_v201())
            .await?;
        let status = a["status"].as_str().unwrap_or("Rejected");
        serde_json::from_value(json!({
            "status": status,
            "currentTime": a["currentTime"],
            "interval": a["interval"],
        }))
        .map_err(|e| SimError::BadAnswer(e.to_string()))
    }

    /// A connector status in 2.0.1: a StatusNotification, or the charging state of the running
    /// transaction.
    pub(crate) async fn status_v201(&self, evse: i64, status: ChargePointStatus) -> Result<()> {
        if evse == 0 {
            // 2.0.1 reports EVSEs and connectors only; the station's own state is a variable.
            return Ok(());
        }
        let charging_state = match status {
            ChargePointStatus::Charging => Some("Charging"),
            ChargePointStatus::SuspendedEV => Some("SuspendedEV"),
            ChargePointStatus::SuspendedEVSE => Some("SuspendedEVSE"),
            _ => None,
        };
        if let Some(state) = charging_state
            && lock(&self.inner.state).running.contains_key(&evse)
        {
            return self
                .tx_event(evse, "Updated", "ChargingStateChanged", state, |_| {})
                .await
                .map(|_| ());
        }
        self.status_notification_v201(evse, connector_status(status))
            .await
    }

    async fn status_notification_v201(&self, evse: i64, status: &str) -> Result<()> {
        self.call_raw(
            "StatusNotification",
            json!({
                "timestamp": now(),
                "connectorStatus": status,
                "evseId": evse,
                "connectorId": 1,
            }),
        )
        .await
        .map(|_| ())
    }

    /// Authorize a tag (an RFID card) as 2.0.1 asks: the answer's status.
    pub(crate) async fn authorize_v201(&self, tag: &str) -> Result<AuthorizationStatus> {
        let a = self
            .call_raw(
                "Authorize",
                json!({"idToken": {"idToken": tag, "type": "ISO14443"}}),
            )
            .await?;
        let status = a["idTokenInfo"]["status"].as_str().unwrap_or("Invalid");
        Ok(same_word(status, AuthorizationStatus::Invalid))
    }

    /// Send one TransactionEvent of the transaction on `evse`, numbered with its next seqNo;
    /// `more` adds fields (idToken, meterValue, stoppedReason, …).
    async fn tx_event(
        &self,
        evse: i64,
        event: &str,
        trigger: &str,
        charging_state: &str,
        more: impl FnOnce(&mut serde_json::Map<String, Value>),
    ) -> Result<Value> {
        let (id, seq_no) = {
            let mut st = lock(&self.inner.state);
            let Some(r) = st.running.get_mut(&evse) else {
                return Err(SimError::BadAnswer(format!(
                    "no transaction on EVSE {evse}"
                )));
            };
            r.seq_no += 1;
            (r.id.clone(), r.seq_no - 1)
        };
        let mut p = json!({
            "eventType": event,
            "timestamp": now(),
            "triggerReason": trigger,
            "seqNo": seq_no,
            "transactionInfo": {"transactionId": id, "chargingState": charging_state},
            "evse": {"id": evse, "connectorId": 1},
        });
        if let Some(m) = p.as_object_mut() {
            more(m);
        }
        self.call_raw("TransactionEvent", p).await
    }

    /// Plug in and start: Occupied, TransactionEvent Started with the tag and the register
    /// reading. A tag the CSMS does not accept ends the transaction at once (Deauthorized).
    pub(crate) async fn start_transaction_v201(
        &self,
        evse: i64,
        tag: &str,
        remote_start_id: Option<i64>,
    ) -> Result<StartTransactionResponse> {
        self.status_v201(evse, ChargePointStatus::Preparing).await?;
        let (handle, register) = {
            let mut st = lock(&self.inner.state);
            st.next_local_id -= 1;
            let handle = -st.next_local_id;
            let n = self
                .inner
                .next_id
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let id = format!(
                "{:x}-{n}",
                chrono::Utc::now().timestamp_millis() & 0xff_ffff_ffff
            );
            st.running.insert(evse, Running { id, seq_no: 0 });
            (handle, st.meter_wh)
        };
        let trigger = if remote_start_id.is_some() {
            "RemoteStart"
        } else {
            "Authorized"
        };
        let answer = self
            .tx_event(evse, "Started", trigger, "Charging", |m| {
                m.insert(
                    "idToken".into(),
                    json!({"idToken": tag, "type": "ISO14443"}),
                );
                m.insert(
                    "meterValue".into(),
                    meter_value("Transaction.Begin", register, None, None),
                );
                if let Some(id) = remote_start_id {
                    info(m).insert("remoteStartId".into(), json!(id));
                }
            })
            .await;
        let answer = match answer {
            Ok(a) => a,
            Err(e) => {
                lock(&self.inner.state).running.remove(&evse);
                return Err(e);
            }
        };
        let status = answer
            .pointer("/idTokenInfo/status")
            .and_then(Value::as_str)
            .unwrap_or("Accepted");
        if status == "Accepted" {
            lock(&self.inner.state)
                .transactions
                .insert(evse, (handle, register));
        } else {
            // Not allowed to charge: the transaction ends before energy flows.
            let _ = self
                .tx_event(evse, "Ended", "Deauthorized", "EVConnected", |m| {
                    info(m).insert("stoppedReason".into(), json!("DeAuthorized"));
                    m.insert(
                        "meterValue".into(),
                        meter_value("Transaction.End", register, None, None),
                    );
                })
                .await;
            lock(&self.inner.state).running.remove(&evse);
        }
        serde_json::from_value(json!({
            "idTagInfo": {"status": status},
            "transactionId": handle,
        }))
        .map_err(|e| SimError::BadAnswer(e.to_string()))
    }

    /// Meter values of an EVSE: a TransactionEvent Updated while a transaction runs, else
    /// MeterValues.
    pub(crate) async fn meter_values_v201(
        &self,
        evse: i64,
        register_wh: i64,
        power_w: f64,
        currents: Option<[f64; 3]>,
        soc: Option<f64>,
    ) -> Result<()> {
        let mut sample = meter_value("Sample.Periodic", register_wh, Some(power_w), soc);
        if let Some(currents) = currents
            && let Some(list) = sample[0]["sampledValue"].as_array_mut()
        {
            for (a, phase) in currents.iter().zip(["L1-N", "L2-N", "L3-N"]) {
                list.push(json!({
                    "value": (a * 10.0).round() / 10.0,
                    "context": "Sample.Periodic",
                    "measurand": "Current.Import",
                    "phase": phase,
                    "location": "Outlet",
                    "unitOfMeasure": {"unit": "A"},
                }));
            }
        }
        let running = lock(&self.inner.state).running.contains_key(&evse);
        if running {
            self.tx_event(evse, "Updated", "MeterValuePeriodic", "Charging", |m| {
                m.insert("meterValue".into(), sample);
            })
            .await
            .map(|_| ())
        } else {
            self.call_raw(
                "MeterValues",
                json!({
                    "evseId": evse,
                    "meterValue": sample,
                }),
            )
            .await
            .map(|_| ())
        }
    }

    /// End the transaction on an EVSE (TransactionEvent Ended with the final reading) and stay
    /// plugged in (Occupied). Returns the number [`ChargePoint::transaction`] gave it.
    pub(crate) async fn stop_transaction_v201(
        &self,
        evse: i64,
        reason: Reason,
    ) -> Result<Option<i64>> {
        let (handle, register) = {
            let mut st = lock(&self.inner.state);
            (st.transactions.remove(&evse), st.meter_wh)
        };
        let Some((handle, _)) = handle else {
            return Ok(None);
        };
        let (stopped, trigger) = stop_reason(reason);
        let sent = self
            .tx_event(evse, "Ended", trigger, "EVConnected", |m| {
                info(m).insert("stoppedReason".into(), json!(stopped));
                m.insert(
                    "meterValue".into(),
                    meter_value("Transaction.End", register, None, None),
                );
            })
            .await;
        {
            let mut st = lock(&self.inner.state);
            st.running.remove(&evse);
            // A session's own profile ends with it.
            st.profiles_v201
                .retain(|(e, p)| !(*e == evse && p["chargingProfilePurpose"] == "TxProfile"));
        }
        sent?;
        self.status_v201(evse, ChargePointStatus::Finishing).await?;
        Ok(Some(handle))
    }

    /// What a TriggerMessage asked for, in 2.0.1.
    pub(crate) async fn triggered_v201(
        &self,
        what: MessageTrigger,
        evse: Option<i64>,
    ) -> Result<()> {
        match what {
            MessageTrigger::DiagnosticsStatusNotification => self
                .call_raw("LogStatusNotification", json!({"status": "Idle"}))
                .await
                .map(|_| ()),
            MessageTrigger::StatusNotification => {
                let e = evse.unwrap_or(1);
                let busy = lock(&self.inner.state).transactions.contains_key(&e);
                self.status_notification_v201(e, if busy { "Occupied" } else { "Available" })
                    .await
            }
            MessageTrigger::MeterValues => {
                let e = evse.unwrap_or(1);
                let register = lock(&self.inner.state).meter_wh;
                self.meter_values_v201(e, register, 0.0, None, None).await
            }
            // The rest are the same messages in 2.0.1.
            other => self.triggered(other, evse).await,
        }
    }

    /// Answer a 2.0.1 command like a charger, and start whatever follows from it.
    pub(crate) fn answer_v201(
        &self,
        action: &str,
        payload: &Value,
    ) -> std::result::Result<Value, CallError> {
        // A command that is not valid 2.0.1 is refused, as a strict charger does.
        let call = CsmsCall::decode(action, payload.clone())?;
        let evses = self.inner.cfg.connectors as i64;
        let p = payload;
        let spawn = |f: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>| {
            tokio::spawn(f);
        };
        let mut st = lock(&self.inner.state);
        let status = |ok: bool, no: &str| json!({"status": if ok { "Accepted" } else { no }});
        Ok(match call.value {
            CsmsCall::CancelReservation(_) => {
                let id = p["reservationId"].as_i64().unwrap_or_default();
                status(st.reservations.remove(&id).is_some(), "Rejected")
            }
            CsmsCall::ChangeAvailability(_) => {
                let evse = p.pointer("/evse/id").and_then(Value::as_i64);
                let ok = evse.is_none_or(|e| (1..=evses).contains(&e));
                if ok {
                    let to = if p["operationalStatus"] == "Operative" {
                        ChargePointStatus::Available
                    } else {
                        ChargePointStatus::Unavailable
                    };
                    let cp = self.clone();
                    let which: Vec<i64> = match evse {
                        Some(e) => vec![e],
                        None => (1..=evses).collect(),
                    };
                    spawn(Box::pin(async move {
                        for e in which {
                            let _ = cp.status_v201(e, to.clone()).await;
                        }
                    }));
                }
                status(ok, "Rejected")
            }
            CsmsCall::ClearCache(_) => {
                st.auth_cache.clear();
                status(true, "")
            }
            CsmsCall::ClearChargingProfile(_) => {
                let id = p["chargingProfileId"].as_i64();
                let before = st.profiles_v201.len();
                st.profiles_v201
                    .retain(|(_, prof)| id.is_some_and(|id| prof["id"].as_i64() != Some(id)));
                status(st.profiles_v201.len() < before, "Unknown")
            }
            CsmsCall::CostUpdated(_) => {
                let tx = p["transactionId"].as_str().unwrap_or_default().to_string();
                let cost = p["totalCost"].as_f64().unwrap_or_default();
                st.costs.push((tx, cost));
                json!({})
            }
            CsmsCall::DataTransfer(_) => {
                if p["vendorId"] == "chargeyard.sim" {
                    let mut a = json!({"status": "Accepted"});
                    if let Some(d) = p.get("data") {
                        a["data"] = d.clone();
                    }
                    a
                } else {
                    json!({"status": "UnknownVendorId"})
                }
            }
            CsmsCall::GetBaseReport(_) => {
                let request_id = p["requestId"].as_i64().unwrap_or_default();
                let cp = self.clone();
                spawn(Box::pin(async move { cp.notify_report(request_id).await }));
                status(true, "")
            }
            CsmsCall::GetChargingProfiles(_) => {
                let request_id = p["requestId"].as_i64().unwrap_or_default();
                let evse = p["evseId"].as_i64();
                let found: Vec<(i64, Value)> = st
                    .profiles_v201
                    .iter()
                    .filter(|(e, _)| evse.is_none_or(|x| x == *e))
                    .cloned()
                    .collect();
                if found.is_empty() {
                    json!({"status": "NoProfiles"})
                } else {
                    let cp = self.clone();
                    spawn(Box::pin(async move {
                        for (i, (e, prof)) in found.iter().enumerate() {
                            let _ = cp
                                .call_raw(
                                    "ReportChargingProfiles",
                                    json!({
                                        "requestId": request_id,
                                        "chargingLimitSource": "CSO",
                                        "evseId": e,
                                        "chargingProfile": [prof],
                                        "tbc": i + 1 < found.len(),
                                    }),
                                )
                                .await;
                        }
                    }));
                    status(true, "")
                }
            }
            CsmsCall::GetCompositeSchedule(_) => {
                let evse = p["evseId"].as_i64().unwrap_or_default();
                let profiles: Vec<crate::smart::Profile> = st
                    .profiles_v201
                    .iter()
                    .map(|(e, prof)| crate::smart::Profile::from_v201(*e, prof))
                    .collect();
                let tx = st.running.get(&evse).map(|r| r.id.clone());
                let at = chrono::Utc::now();
                let c =
                    crate::smart::composite(&profiles, evse, tx.as_deref().map(|t| (t, at)), at);
                let limit = if evse == 0 { c.station } else { c.lowest() };
                match limit {
                    Some(limit) => json!({
                        "status": "Accepted",
                        "schedule": {
                            "evseId": evse,
                            "duration": p["duration"],
                            "scheduleStart": now(),
                            "chargingRateUnit": "A",
                            "chargingSchedulePeriod": [
                                {"startPeriod": 0, "limit": (limit * 10.0).floor() / 10.0}
                            ],
                        }
                    }),
                    None => json!({"status": "Rejected"}),
                }
            }
            CsmsCall::GetLocalListVersion(_) => json!({"versionNumber": st.local_list_version}),
            CsmsCall::GetLog(_) => {
                let request_id = p["requestId"].as_i64().unwrap_or_default();
                let url = p["log"]["remoteLocation"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                let name = format!("log-{}.txt", self.inner.cfg.station_id);
                let (cp, file) = (self.clone(), name.clone());
                spawn(Box::pin(async move {
                    cp.upload_log(&url, &file, request_id).await
                }));
                json!({"status": "Accepted", "filename": name})
            }
            CsmsCall::GetTransactionStatus(_) => {
                let queued = !lock(&self.inner.offline_queue).is_empty();
                match p["transactionId"].as_str() {
                    Some(id) => json!({
                        "messagesInQueue": queued,
                        "ongoingIndicator": st.running.values().any(|r| r.id == id),
                    }),
                    None => json!({"messagesInQueue": queued}),
                }
            }
            CsmsCall::GetVariables(_) => {
                let results: Vec<Value> = p["getVariableData"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|d| {
                        let key = variable_key(d);
                        let mut r = json!({"component": d["component"], "variable": d["variable"]});
                        match st.variables.get(&key) {
                            Some((_, Mutability::WriteOnly)) => {
                                r["attributeStatus"] = json!("Rejected")
                            }
                            Some((v, _)) => {
                                r["attributeStatus"] = json!("Accepted");
                                r["attributeValue"] = json!(v);
                            }
                            None if st.variables.keys().any(|(c, _)| *c == key.0) => {
                                r["attributeStatus"] = json!("UnknownVariable")
                            }
                            None => r["attributeStatus"] = json!("UnknownComponent"),
                        }
                        r
                    })
                    .collect();
                json!({"getVariableResult": results})
            }
            CsmsCall::RequestStartTransaction(_) => {
                let evse = p["evseId"].as_i64().unwrap_or(1);
                let free = (1..=evses).contains(&evse) && !st.running.contains_key(&evse);
                if free {
                    let cp = self.clone();
                    let tag = p["idToken"]["idToken"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string();
                    let remote = p["remoteStartId"].as_i64();
                    spawn(Box::pin(async move {
                        if let Err(e) = cp.start_transaction_v201(evse, &tag, remote).await {
                            tracing::warn!("remote start failed: {e}");
                        }
                    }));
                }
                status(free, "Rejected")
            }
            CsmsCall::RequestStopTransaction(_) => {
                let id = p["transactionId"].as_str().unwrap_or_default();
                let evse = st.running.iter().find(|(_, r)| r.id == id).map(|(e, _)| *e);
                if let Some(e) = evse {
                    let cp = self.clone();
                    spawn(Box::pin(async move {
                        if let Err(err) = cp.stop_transaction(e, Reason::Remote).await {
                            tracing::warn!("remote stop failed: {err}");
                        }
                    }));
                }
                status(evse.is_some(), "Rejected")
            }
            CsmsCall::ReserveNow(_) => {
                let evse = p["evseId"].as_i64().unwrap_or(1);
                if st.running.contains_key(&evse) {
                    json!({"status": "Occupied"})
                } else {
                    st.reservations
                        .insert(p["id"].as_i64().unwrap_or_default(), evse);
                    status(true, "")
                }
            }
            CsmsCall::Reset(_) => {
                if self.inner.cfg.reboot_on_reset {
                    let cp = self.clone();
                    spawn(Box::pin(async move { cp.reboot().await }));
                }
                status(true, "")
            }
            CsmsCall::SendLocalList(_) => {
                st.local_list_version = p["versionNumber"].as_i64().unwrap_or_default();
                status(true, "")
            }
            CsmsCall::SetChargingProfile(_) => {
                let evse = p["evseId"].as_i64().unwrap_or_default();
                let prof = p["chargingProfile"].clone();
                st.profiles_v201.retain(|(_, x)| x["id"] != prof["id"]);
                st.profiles_v201.push((evse, prof));
                status(true, "")
            }
            CsmsCall::SetVariables(_) => {
                let takes_key = self.inner.cfg.takes_authorization_key;
                let mut results = Vec::new();
                for d in p["setVariableData"].as_array().into_iter().flatten() {
                    let key = variable_key(d);
                    let value = d["attributeValue"].as_str().unwrap_or_default().to_string();
                    let known_component = st.variables.keys().any(|(c, _)| *c == key.0);
                    let result = match st.variables.get_mut(&key) {
                        None if known_component => "UnknownVariable",
                        None => "UnknownComponent",
                        Some((_, Mutability::ReadOnly)) => "Rejected",
                        Some(_) if key.1 == "BasicAuthPassword" => {
                            if takes_key && (16..=64).contains(&value.chars().count()) {
                                st.password = Some(value);
                                "Accepted"
                            } else {
                                "Rejected"
                            }
                        }
                        Some((v, _)) => {
                            *v = value;
                            if key.0 == "VendorNetworkCtrlr" {
                                "RebootRequired"
                            } else {
                                "Accepted"
                            }
                        }
                    };
                    results.push(json!({
                        "attributeStatus": result,
                        "component": d["component"],
                        "variable": d["variable"],
                    }));
                }
                json!({"setVariableResult": results})
            }
            CsmsCall::TriggerMessage(_) => {
                let what = match p["requestedMessage"].as_str().unwrap_or_default() {
                    "BootNotification" => Some(MessageTrigger::BootNotification),
                    "Heartbeat" => Some(MessageTrigger::Heartbeat),
                    "StatusNotification" => Some(MessageTrigger::StatusNotification),
                    "MeterValues" => Some(MessageTrigger::MeterValues),
                    "FirmwareStatusNotification" => {
                        Some(MessageTrigger::FirmwareStatusNotification)
                    }
                    "LogStatusNotification" => Some(MessageTrigger::DiagnosticsStatusNotification),
                    "SignChargingStationCertificate" => {
                        let cp = self.clone();
                        spawn(Box::pin(async move {
                            if let Err(e) = cp.request_certificate().await {
                                tracing::warn!("asking for a certificate failed: {e}");
                            }
                        }));
                        return Ok(status(true, ""));
                    }
                    _ => None,
                };
                match what {
                    Some(w) => {
                        let cp = self.clone();
                        let evse = p.pointer("/evse/id").and_then(Value::as_i64);
                        spawn(Box::pin(async move {
                            if let Err(e) = cp.triggered_v201(w, evse).await {
                                tracing::warn!("triggered message failed: {e}");
                            }
                        }));
                        status(true, "")
                    }
                    None => json!({"status": "NotImplemented"}),
                }
            }
            CsmsCall::InstallCertificate(_) => {
                let pem = p["certificate"].as_str().unwrap_or_default();
                let ok = p["certificateType"] == "CSMSRootCertificate"
                    && pem.contains("BEGIN CERTIFICATE");
                if ok {
                    st.root_ca = Some(pem.to_string());
                }
                status(ok, "Rejected")
            }
            // Stored; used once first in NetworkConfigurationPriority, from the next connection.
            CsmsCall::SetNetworkProfile(_) => {
                let slot = p["configurationSlot"].as_i64().unwrap_or_default();
                let url = p["connectionData"]["ocppCsmsUrl"]
                    .as_str()
                    .unwrap_or_default();
                let tls = url.starts_with("wss://");
                let ok = slot > 0 && (!tls || st.root_ca.is_some());
                if ok {
                    st.network_profiles.insert(slot, url.to_string());
                }
                status(ok, "Rejected")
            }
            CsmsCall::CertificateSigned(_) => {
                let chain = p["certificateChain"].as_str().unwrap_or_default();
                status(st.install_certificate(chain), "Rejected")
            }
            CsmsCall::UnlockConnector(_) => {
                let evse = p["evseId"].as_i64().unwrap_or_default();
                let ok = (1..=evses).contains(&evse) && p["connectorId"] == 1;
                json!({"status": if ok { "Unlocked" } else { "UnknownConnector" }})
            }
            CsmsCall::UpdateFirmware(_) => {
                let request_id = p["requestId"].as_i64().unwrap_or_default();
                let url = p["firmware"]["location"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                let at =
                    serde_json::from_value::<Timestamp>(p["firmware"]["retrieveDateTime"].clone())
                        .unwrap_or_else(|_| Timestamp::now());
                let cp = self.clone();
                spawn(Box::pin(async move {
                    cp.update_firmware_v201(&url, at, request_id).await
                }));
                status(true, "")
            }
            other => {
                return Err(CallError::new(
                    ErrorCode::NotImplemented,
                    format!(
                        "{} is not supported by this charger",
                        other.action().as_str()
                    ),
                ));
            }
        })
    }

    /// The device model in NotifyReport parts (two, the first with `tbc`), as GetBaseReport asks.
    async fn notify_report(&self, request_id: i64) {
        let data: Vec<Value> = lock(&self.inner.state)
            .variables
            .iter()
            .map(|((c, v), (value, m))| {
                let mut attr = json!({"type": "Actual", "mutability": m.as_str()});
                if *m != Mutability::WriteOnly {
                    attr["value"] = json!(value);
                }
                json!({
                    "component": {"name": c},
                    "variable": {"name": v},
                    "variableAttribute": [attr],
                    "variableCharacteristics": {"dataType": "string", "supportsMonitoring": false},
                })
            })
            .collect();
        let half = data.len().div_ceil(2);
        let parts: Vec<&[Value]> = data.chunks(half.max(1)).collect();
        for (i, part) in parts.iter().enumerate() {
            let _ = self
                .call_raw(
                    "NotifyReport",
                    json!({
                        "requestId": request_id,
                        "generatedAt": now(),
                        "seqNo": i,
                        "tbc": i + 1 < parts.len(),
                        "reportData": part,
                    }),
                )
                .await;
        }
    }

    /// Upload a log as GetLog asks (2.0.1, and the 1.6 security extension), reporting progress
    /// with LogStatusNotification.
    pub(crate) async fn upload_log(&self, url: &str, file: &str, request_id: i64) {
        let report = async |status: &str| {
            let _ = self
                .call_raw(
                    "LogStatusNotification",
                    json!({"status": status, "requestId": request_id}),
                )
                .await;
        };
        report("Uploading").await;
        match self.send_log(url, file).await {
            Ok(()) => report("Uploaded").await,
            Err(e) => {
                tracing::warn!("log upload failed: {e}");
                report("UploadFailure").await;
            }
        }
    }

    /// Download and "install" firmware once its retrieval time has come, reporting each step.
    async fn update_firmware_v201(&self, url: &str, at: Timestamp, request_id: i64) {
        let wait = (at.0 - chrono::Utc::now()).to_std().unwrap_or_default();
        tokio::time::sleep(wait.min(Duration::from_secs(3600))).await;
        let report = async |status: &str| {
            let _ = self
                .call_raw(
                    "FirmwareStatusNotification",
                    json!({"status": status, "requestId": request_id}),
                )
                .await;
        };
        report("Downloading").await;
        match self.fetch_firmware(url).await {
            Ok(()) => {
                for s in ["Downloaded", "Installing", "Installed"] {
                    report(s).await;
                }
            }
            Err(e) => {
                tracing::warn!("firmware download failed: {e}");
                report("DownloadFailed").await;
            }
        }
    }
}

/// A connector's backfilled history ([`crate::fleet::history`], told in 1.6 words) as the 2.0.1
/// messages a charger of that version would have sent: statuses as StatusNotification (or the
/// running transaction's charging state), each session as TransactionEvents Started, Updated
/// and Ended, numbered from seqNo 0, with transaction ids made from the station, EVSE and start.
pub struct PastTranslator {
    station: String,
    evse: i64,
    running: Option<Running>,
}

impl PastTranslator {
    pub fn new(station: &str, evse: i64) -> PastTranslator {
        PastTranslator {
            station: station.to_string(),
            evse,
            running: None,
        }
    }

    fn event(
        &mut self,
        kind: &str,
        at: &Timestamp,
        trigger: &str,
        state: &str,
        more: impl FnOnce(&mut serde_json::Map<String, Value>),
    ) -> Option<(&'static str, Value)> {
        let r = self.running.as_mut()?;
        let mut p = json!({
            "eventType": kind,
            "timestamp": at,
            "triggerReason": trigger,
            "seqNo": r.seq_no,
            "transactionInfo": {"transactionId": r.id, "chargingState": state},
            "evse": {"id": self.evse, "connectorId": 1},
        });
        r.seq_no += 1;
        if let Some(m) = p.as_object_mut() {
            more(m);
        }
        Some(("TransactionEvent", p))
    }

    /// The 2.0.1 message for one past event (None: nothing a 2.0.1 charger would send).
    pub fn translate(&mut self, e: &crate::fleet::PastEvent) -> Option<(&'static str, Value)> {
        use crate::fleet::PastEvent;
        match e {
            PastEvent::Status(r) => {
                let at = r.timestamp.unwrap_or_else(Timestamp::now);
                let state = match r.status {
                    ChargePointStatus::Charging => Some("Charging"),
                    ChargePointStatus::SuspendedEV => Some("SuspendedEV"),
                    ChargePointStatus::SuspendedEVSE => Some("SuspendedEVSE"),
                    _ => None,
                };
                if let Some(state) = state
                    && self.running.is_some()
                {
                    return self.event("Updated", &at, "ChargingStateChanged", state, |_| {});
                }
                Some((
                    "StatusNotification",
                    json!({
                        "timestamp": at,
                        "connectorStatus": connector_status(r.status.clone()),
                        "evseId": self.evse,
                        "connectorId": 1,
                    }),
                ))
            }
            PastEvent::Start(r) => {
                // At most 36 characters, as the schema allows.
                let station: String = self.station.chars().take(20).collect();
                let id = format!("{station}-{}-{}", self.evse, r.timestamp.0.timestamp());
                self.running = Some(Running { id, seq_no: 0 });
                let at = r.timestamp;
                let tag = r.id_tag.to_string();
                let mv = meter_value_at(json!(at), "Transaction.Begin", r.meter_start, None, None);
                self.event("Started", &at, "Authorized", "Charging", |m| {
                    m.insert(
                        "idToken".into(),
                        json!({"idToken": tag, "type": "ISO14443"}),
                    );
                    m.insert("meterValue".into(), mv);
                })
            }
            PastEvent::Meter(r) => {
                let mv = r.meter_value.first()?;
                let num = |m: &str| {
                    mv.sampled_value
                        .iter()
                        .find(|s| s.measurand.as_ref().is_some_and(|x| x.as_str() == m))
                        .and_then(|s| s.value.parse::<f64>().ok())
                };
                let register = num("Energy.Active.Import.Register")? as i64;
                let value = meter_value_at(
                    json!(mv.timestamp),
                    "Sample.Periodic",
                    register,
                    num("Power.Active.Import"),
                    num("SoC"),
                );
                let at = mv.timestamp;
                self.event("Updated", &at, "MeterValuePeriodic", "Charging", |m| {
                    m.insert("meterValue".into(), value);
                })
            }
            PastEvent::Stop(r) => {
                let (stopped, trigger) = stop_reason(r.reason.clone().unwrap_or(Reason::Local));
                let mv = meter_value_at(
                    json!(r.timestamp),
                    "Transaction.End",
                    r.meter_stop,
                    None,
                    None,
                );
                let ended = self.event("Ended", &r.timestamp, trigger, "EVConnected", |m| {
                    info(m).insert("stoppedReason".into(), json!(stopped));
                    m.insert("meterValue".into(), mv);
                });
                self.running = None;
                ended
            }
        }
    }
}
