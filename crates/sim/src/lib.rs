//! A simulated OCPP charge point (1.6J, or 2.0.1 when the central system chooses it) over a real
//! WebSocket.
//!
//! It boots, sends every charger-initiated message through [`ChargePoint::call`], and answers
//! every command a central system can send the way a charger would: it keeps configuration keys,
//! a local list version, reservations and charging profiles, starts and stops transactions on
//! remote request, and sends the messages a TriggerMessage asks for. Everything it received is
//! recorded for tests. Tests can make it ignore or refuse an action with [`Behaviour`].
//!
//! Layout: this file (connection, state, 1.6 command answers); [`v201`] the same charger in
//! OCPP 2.0.1; [`load`] the load generator; [`smart`] charging profiles as a charger applies
//! them; [`ev`] cars that charge under those limits;
//! [`http`] and [`ftp`] the file transfers of GetDiagnostics and UpdateFirmware;
//! `main.rs` is the `chargeyard-sim` CLI, `bin/chargeyard-load.rs` the load generator's.

pub mod ev;
pub mod fleet;
pub mod ftp;
pub mod http;
pub mod load;
pub mod smart;
pub mod v201;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use chargeyard_ocpp::lenient::{CiString, Timestamp};
use chargeyard_ocpp::v16::{self, *};
use chargeyard_ocpp::{CallError, ErrorCode, Frame, Version};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("connect: {0}")]
    Connect(String),
    #[error("the central system answered with {code}: {description}")]
    CallError { code: String, description: String },
    #[error("bad answer: {0}")]
    BadAnswer(String),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("connection closed")]
    Closed,
}

pub type Result<T> = std::result::Result<T, SimError>;

/// How to reach the central system and who to be.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Base URL; the station id is appended, percent-encoded (e.g. `ws://127.0.0.1:9000/ocpp`).
    pub url: String,
    pub station_id: String,
    pub connectors: u32,
    /// Basic-auth password, if the central system requires one.
    pub password: Option<String>,
    /// Offered subprotocols, each in its own header value; empty offers none.
    pub subprotocols: Vec<String>,
    pub vendor: String,
    pub model: String,
    pub firmware: String,
    /// How long to wait for answers to our CALLs.
    pub call_timeout: Duration,
    /// Deviations real chargers show, applied to every CALL this simulator sends.
    pub quirks: SimQuirks,
    /// Take a new `AuthorizationKey` (ChangeConfiguration) and use it from the next connection
    /// on; false: answer Rejected, as chargers without security profile 1 do.
    pub takes_authorization_key: bool,
    /// Reboot on Reset: close the connection and connect again (with the current password),
    /// boot and report, as a charger does. False: only answer it.
    pub reboot_on_reset: bool,
    /// For `wss://` URLs: the CA to trust and the client certificate to present.
    pub tls: Option<SimTls>,
}

/// What a charger connecting over `wss://` is given: the central system's CA certificate, and for
/// security profile 3 a client certificate with its key (all PEM).
#[derive(Debug, Clone, Default)]
pub struct SimTls {
    pub ca_pem: String,
    pub client_cert_pem: Option<String>,
    pub client_key_pem: Option<String>,
}

impl SimTls {
    /// The rustls configuration of a charger that trusts `ca_pem` (and only it).
    fn client_config(&self) -> Result<rustls::ClientConfig> {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let bad = |what: &str, e: &dyn std::fmt::Display| SimError::Connect(format!("{what}: {e}"));
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(self.ca_pem.as_bytes()) {
            let cert = cert.map_err(|e| bad("CA certificate", &format!("{e:?}")))?;
            roots.add(cert).map_err(|e| bad("CA certificate", &e))?;
        }
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| bad("TLS", &e))?
            .with_root_certificates(roots);
        match (&self.client_cert_pem, &self.client_key_pem) {
            (Some(cert), Some(key)) => {
                let chain = CertificateDer::pem_slice_iter(cert.as_bytes())
                    .collect::<std::result::Result<Vec<_>, _>>()
                    .map_err(|e| bad("client certificate", &format!("{e:?}")))?;
                let key = PrivateKeyDer::from_pem_slice(key.as_bytes())
                    .map_err(|e| bad("client key", &format!("{e:?}")))?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| bad("client certificate", &e))
            }
            _ => Ok(builder.with_no_client_auth()),
        }
    }
}

/// What some real chargers get wrong (OCPP-FIELD-NOTES), for exercising the engine's leniency.
/// (A charger that offers no subprotocol is `SimConfig::subprotocols` left empty.)
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SimQuirks {
    /// Integers as strings (`"connectorId": "1"`) and meter readings as numbers.
    pub numbers_as_strings: bool,
    /// Timestamps without a time zone (`2024-05-01T10:00:00.000`).
    pub timestamps_without_zone: bool,
    /// Energy register readings in kWh but labelled `Wh` (OpenEVSE).
    pub kwh_as_wh: bool,
}

impl SimQuirks {
    /// Rewrite an outgoing payload the way such a charger would.
    pub fn apply(&self, v: &mut Value) {
        match v {
            Value::Object(map) => {
                let energy = map
                    .get("measurand")
                    .and_then(Value::as_str)
                    .is_none_or(|m| m == "Energy.Active.Import.Register");
                for (key, val) in map.iter_mut() {
                    match (key.as_str(), &*val) {
                        (
                            "connectorId" | "transactionId" | "meterStart" | "meterStop",
                            Value::Number(n),
                        ) if self.numbers_as_strings => {
                            *val = Value::String(n.to_string());
                        }
                        ("timestamp", Value::String(t)) if self.timestamps_without_zone => {
                            *val = Value::String(t.trim_end_matches('Z').to_string());
                        }
                        _ => self.apply(val),
                    }
                }
                if energy
                    && self.kwh_as_wh
                    && let Some(Value::String(raw)) = map.get("value")
                    && let Ok(wh) = raw.parse::<f64>()
                {
                    map.insert("value".into(), Value::String(format!("{:.3}", wh / 1000.0)));
                }
                if self.numbers_as_strings
                    && let Some(Value::String(raw)) = map.get("value")
                    && let Some(n) = raw
                        .parse::<f64>()
                        .ok()
                        .and_then(serde_json::Number::from_f64)
                {
                    map.insert("value".into(), Value::Number(n));
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|i| self.apply(i)),
            _ => {}
        }
    }
}

impl SimConfig {
    pub fn new(url: impl Into<String>, station_id: impl Into<String>) -> Self {
        SimConfig {
            url: url.into(),
            station_id: station_id.into(),
            connectors: 2,
            password: None,
            subprotocols: vec![v16::SUBPROTOCOL.to_string()],
            vendor: "Chargeyard".into(),
            model: "SimCharger".into(),
            firmware: "sim-1.0".into(),
            call_timeout: Duration::from_secs(10),
            quirks: SimQuirks::default(),
            takes_authorization_key: true,
            reboot_on_reset: false,
            tls: None,
        }
    }

    /// BootNotification with this simulator's identity.
    pub fn boot_request(&self) -> BootNotificationRequest {
        BootNotificationRequest {
            charge_point_vendor: ci(&self.vendor),
            charge_point_model: ci(&self.model),
            charge_point_serial_number: Some(ci(&format!("SN-{}", self.station_id))),
            charge_box_serial_number: None,
            firmware_version: Some(ci(&self.firmware)),
            iccid: None,
            imsi: None,
            meter_type: Some(ci("SimMeter")),
            meter_serial_number: None,
        }
    }
}

/// What a test wants the simulator to do with one command action instead of its normal answer.
#[derive(Debug, Clone)]
pub enum Behaviour {
    /// Never answer (to test timeouts).
    Ignore,
    /// Answer with a CALLERROR.
    Error(ErrorCode),
}

/// A command the simulator received and how it answered.
#[derive(Debug, Clone)]
pub struct Received {
    pub action: String,
    pub payload: Value,
    /// The CALLRESULT payload, or None when it answered with an error or not at all.
    pub answer: Option<Value>,
}

/// The charger's own state, kept like firmware would.
#[derive(Debug, Default)]
struct State {
    config: BTreeMap<String, (String, bool)>,
    local_list_version: i64,
    reservations: HashMap<i64, i64>,
    profiles: Vec<SetChargingProfileRequest>,
    /// connector → (transaction id, meter register Wh)
    transactions: HashMap<i64, (i64, i64)>,
    /// Tags the central system accepted (AuthorizationCacheEnabled): while offline these still
    /// start a transaction (LocalAuthorizeOffline).
    auth_cache: HashSet<String>,
    /// Transactions started offline get a local id (-1, -2, …) until their StartTransaction is
    /// replayed; then every message still carrying the local id is sent with the real one.
    local_ids: HashMap<i64, i64>,
    next_local_id: i64,
    meter_wh: i64,
    /// The Basic-auth password used when connecting (AuthorizationKey; starts as configured).
    password: Option<String>,
    received: Vec<Received>,
    behaviours: HashMap<String, Behaviour>,
    /// Firmware files downloaded (URL, bytes), for tests.
    firmware: Vec<(String, Vec<u8>)>,
    /// 2.0.1: the device model, the transactions running by EVSE, charging profiles by EVSE,
    /// and the CostUpdated messages received.
    variables: v201::DeviceModel,
    running: HashMap<i64, v201::Running>,
    profiles_v201: Vec<(i64, Value)>,
    costs: Vec<(String, f64)>,
    /// 2.0.1: the key of the signing request sent (SignCertificate), until its certificate comes.
    pending_key: Option<String>,
    /// The client certificate (chain PEM) and key installed by CertificateSigned: presented over
    /// wss:// from the next connection on.
    certificate: Option<(String, String)>,
    /// The central system's root certificate (InstallCertificate), trusted over wss://.
    root_ca: Option<String>,
    /// 1.6: the SecurityProfile key the central system set (2 and 3: wss:// from the next
    /// connection on, to the same URL).
    security_profile: Option<u8>,
    /// 2.0.1: network profiles by configuration slot (SetNetworkProfile): the CSMS URL; the one
    /// first in NetworkConfigurationPriority is used from the next connection on.
    network_profiles: BTreeMap<i64, String>,
    /// The signatures of signed firmware it was sent (SignedUpdateFirmware), for tests.
    firmware_signatures: Vec<String>,
}

impl State {
    /// Where to connect from now on, if the central system moved this charger to `wss://`: the
    /// URL and the CA to trust there.
    fn secure_endpoint(&self, url: &str) -> Option<(String, String)> {
        let ca = self.root_ca.clone()?;
        if let Some(p) = self.security_profile {
            return (p >= 2).then(|| (url.replacen("ws://", "wss://", 1), ca));
        }
        let priority = self.variables.get(&(
            "OCPPCommCtrlr".to_string(),
            "NetworkConfigurationPriority".to_string(),
        ))?;
        let first: i64 = priority.0.split(',').next()?.trim().parse().ok()?;
        let url = self.network_profiles.get(&first)?;
        Some((url.clone(), ca))
    }

    /// Install a certificate chain sent for the key of the request made; false when none was
    /// asked for or it is not a certificate.
    fn install_certificate(&mut self, chain: &str) -> bool {
        match self.pending_key.take() {
            Some(key) if chain.contains("BEGIN CERTIFICATE") => {
                self.certificate = Some((chain.to_string(), key));
                true
            }
            _ => false,
        }
    }
}

type Waiter = oneshot::Sender<std::result::Result<Value, SimError>>;

struct Inner {
    cfg: SimConfig,
    /// The current socket; replaced by [`ChargePoint::reconnect`].
    link: Mutex<Link>,
    /// While offline (see [`ChargePoint::go_offline`]) transaction messages wait here, in order;
    /// a queued StartTransaction carries the local transaction id it was given.
    offline_queue: Mutex<Vec<(String, Value, Option<i64>)>>,
    offline: std::sync::atomic::AtomicBool,
    /// Our outstanding CALL (one at a time), by message id.
    waiting: Mutex<Option<(String, Waiter)>>,
    /// Serialises our CALLs: one outstanding per direction.
    call_lock: tokio::sync::Mutex<()>,
    state: Mutex<State>,
    next_id: std::sync::atomic::AtomicU64,
    protocol: Option<String>,
    /// Frames the central system sent that were not answers to our CALLs (for tests).
    unsolicited: Mutex<mpsc::UnboundedSender<Frame>>,
}

/// One WebSocket connection: where frames go, and the token that ends it.
#[derive(Clone)]
struct Link {
    out: mpsc::UnboundedSender<Message>,
    closed: tokio_util::sync::CancellationToken,
}

/// A connected simulated charge point. Cheap to clone.
#[derive(Clone)]
pub struct ChargePoint {
    inner: Arc<Inner>,
}

/// An integer, also when a quirky charger sends it as a string.
fn lenient_i64(v: &Value) -> Option<i64> {
    v.as_i64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn ci<const N: usize>(s: &str) -> CiString<N> {
    CiString::new(s.chars().take(N).collect::<String>()).unwrap_or_default()
}

const WRITABLE_KEYS: &[(&str, &str)] = &[
    ("HeartbeatInterval", "300"),
    ("MeterValueSampleInterval", "60"),
    ("ClockAlignedDataInterval", "0"),
    ("ConnectionTimeOut", "60"),
    ("LocalPreAuthorize", "false"),
    ("LocalAuthorizeOffline", "true"),
    ("AuthorizeRemoteTxRequests", "false"),
    (
        "MeterValuesSampledData",
        "Energy.Active.Import.Register,Power.Active.Import",
    ),
    ("StopTransactionOnEVSideDisconnect", "true"),
    ("WebSocketPingInterval", "60"),
    // Vendor keys, as real chargers add them; the network mode takes effect after a reboot.
    ("VendorDisplayLanguage", "en"),
    ("VendorNetworkMode", "ethernet"),
];
const READONLY_KEYS: &[(&str, &str)] = &[
    ("NumberOfConnectors", ""),
    (
        "SupportedFeatureProfiles",
        "Core,FirmwareManagement,LocalAuthListManagement,Reservation,SmartCharging,RemoteTrigger",
    ),
    ("ChargeProfileMaxStackLevel", "8"),
    ("LocalAuthListMaxLength", "100"),
    ("VendorModemImei", "356938035643809"),
];

impl ChargePoint {
    /// Connect (no BootNotification yet; see [`ChargePoint::boot`]).
    pub async fn connect(cfg: SimConfig) -> Result<(ChargePoint, mpsc::UnboundedReceiver<Frame>)> {
        let (ws, protocol) = open_socket(&cfg).await?;
        let (unsolicited_tx, unsolicited_rx) = mpsc::unbounded_channel();
        let mut state = State {
            meter_wh: 1_000_000,
            password: cfg.password.clone(),
            variables: v201::device_model(cfg.connectors),
            ..Default::default()
        };
        for (k, v) in WRITABLE_KEYS {
            state.config.insert(k.to_string(), (v.to_string(), false));
        }
        for (k, v) in READONLY_KEYS {
            let v = if *k == "NumberOfConnectors" {
                cfg.connectors.to_string()
            } else {
                v.to_string()
            };
            state.config.insert(k.to_string(), (v, true));
        }
        let (out, _) = mpsc::unbounded_channel();
        let cp = ChargePoint {
            inner: Arc::new(Inner {
                cfg,
                link: Mutex::new(Link {
                    out,
                    closed: tokio_util::sync::CancellationToken::new(),
                }),
                offline_queue: Mutex::new(Vec::new()),
                offline: std::sync::atomic::AtomicBool::new(false),
                waiting: Mutex::new(None),
                call_lock: tokio::sync::Mutex::new(()),
                state: Mutex::new(state),
                next_id: std::sync::atomic::AtomicU64::new(1),
                protocol,
                unsolicited: Mutex::new(unsolicited_tx),
            }),
        };
        cp.attach(ws);
        Ok((cp, unsolicited_rx))
    }

    fn link(&self) -> Link {
        lock(&self.inner.link).clone()
    }

    /// Serve a new socket: a writer task for our frames and a reader task for the server's.
    fn attach(&self, ws: Socket) {
        let (out, mut out_rx) = mpsc::unbounded_channel::<Message>();
        let closed = tokio_util::sync::CancellationToken::new();
        *lock(&self.inner.link) = Link {
            out,
            closed: closed.clone(),
        };
        let (mut sink, mut stream) = ws.split();
        let writer_closed = closed.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = writer_closed.cancelled() => {
                        let _ = sink.send(Message::Close(None)).await;
                        break;
                    }
                    m = out_rx.recv() => match m {
                        Some(m) => if sink.send(m).await.is_err() { break },
                        None => break,
                    }
                }
            }
        });
        let reader = self.clone();
        tokio::spawn(async move {
            loop {
                let msg = tokio::select! {
                    _ = closed.cancelled() => break,
                    m = stream.next() => m,
                };
                match msg {
                    Some(Ok(Message::Text(t))) => reader.on_text(t.as_str()),
                    Some(Ok(_)) => {}
                    None | Some(Err(_)) => break,
                }
            }
            closed.cancel();
            if let Some((_, w)) = lock(&reader.inner.waiting).take() {
                let _ = w.send(Err(SimError::Closed));
            }
        });
    }

    /// Lose the connection the way a charger does (its socket just goes away), and keep working:
    /// tags in the authorization cache are accepted locally, StartTransaction (answered with a
    /// local transaction id), MeterValues and StopTransaction are queued with their original
    /// timestamps, status changes are reported again after reconnecting; nothing else can be sent.
    pub fn go_offline(&self) {
        self.inner
            .offline
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.link().closed.cancel();
    }

    pub fn is_offline(&self) -> bool {
        self.inner.offline.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Connect again after [`ChargePoint::go_offline`] (or a dropped connection), boot, and replay
    /// the queued messages in order, before anything new: the station stays offline for new
    /// messages until its queue is empty. A replayed StartTransaction's real id replaces the local
    /// one in everything after it. Returns how many were replayed.
    pub async fn reconnect(&self) -> Result<usize> {
        let mut cfg = SimConfig {
            password: self.password(),
            ..self.inner.cfg.clone()
        };
        // Moved to wss:// by the central system: its URL and CA from now on.
        let moved = lock(&self.inner.state).secure_endpoint(&cfg.url);
        if let Some((url, ca_pem)) = moved {
            cfg.url = url;
            cfg.tls = Some(SimTls {
                ca_pem,
                ..SimTls::default()
            });
        }
        // A certificate the central system installed is presented from now on.
        if let (Some(tls), Some((cert, key))) = (&mut cfg.tls, self.certificate()) {
            tls.client_cert_pem = Some(cert);
            tls.client_key_pem = Some(key);
        }
        let (ws, _) = open_socket(&cfg).await?;
        self.attach(ws);
        let mut boot = if self.speaks_v201() {
            self.inner.cfg.boot_request_v201()
        } else {
            serde_json::to_value(self.inner.cfg.boot_request())
                .map_err(|e| SimError::BadAnswer(e.to_string()))?
        };
        self.inner.cfg.quirks.apply(&mut boot);
        self.send_call(BootNotificationRequest::ACTION, boot)
            .await?;
        let mut n = 0;
        loop {
            let mut queued = {
                let mut q = lock(&self.inner.offline_queue);
                if q.is_empty() {
                    self.inner
                        .offline
                        .store(false, std::sync::atomic::Ordering::SeqCst);
                    return Ok(n);
                }
                std::mem::take(&mut *q)
            };
            while let Some((action, payload, local)) = queued.first().cloned() {
                match self.send_call(&action, payload).await {
                    Ok(answer) => {
                        if let Some(local) = local {
                            self.learn_transaction_id(local, &answer);
                        }
                    }
                    Err(e) => {
                        // Keep what was not delivered, in order, ahead of anything queued since.
                        let mut q = lock(&self.inner.offline_queue);
                        queued.append(&mut q);
                        *q = queued;
                        return Err(e);
                    }
                }
                queued.remove(0);
                n += 1;
            }
        }
    }

    /// The central system answered a replayed StartTransaction: use its id from now on.
    fn learn_transaction_id(&self, local: i64, answer: &Value) {
        let Some(real) = answer.get("transactionId").and_then(lenient_i64) else {
            return;
        };
        let mut st = lock(&self.inner.state);
        st.local_ids.insert(local, real);
        for t in st.transactions.values_mut() {
            if t.0 == local {
                t.0 = real;
            }
        }
    }

    /// The password it connects with now (its AuthorizationKey).
    pub fn password(&self) -> Option<String> {
        lock(&self.inner.state).password.clone()
    }

    /// The client certificate (chain PEM) and key the central system installed, if any.
    pub fn certificate(&self) -> Option<(String, String)> {
        lock(&self.inner.state).certificate.clone()
    }

    pub fn station_id(&self) -> &str {
        &self.inner.cfg.station_id
    }

    /// The subprotocol the central system chose, if any.
    pub fn protocol(&self) -> Option<&str> {
        self.inner.protocol.as_deref()
    }

    pub fn is_closed(&self) -> bool {
        self.link().closed.is_cancelled()
    }

    /// Close the connection.
    pub fn close(&self) {
        self.link().closed.cancel();
    }

    /// Wait until the connection is closed (or `limit` passes).
    pub async fn closed(&self, limit: Duration) -> bool {
        let token = self.link().closed;
        tokio::time::timeout(limit, token.cancelled()).await.is_ok()
    }

    pub fn set_behaviour(&self, action: &str, b: Option<Behaviour>) {
        let mut st = lock(&self.inner.state);
        match b {
            Some(b) => st.behaviours.insert(action.to_string(), b),
            None => st.behaviours.remove(action),
        };
    }

    /// Commands received so far.
    pub fn received(&self) -> Vec<Received> {
        lock(&self.inner.state).received.clone()
    }

    /// The running transaction on a connector, if any.
    pub fn transaction(&self, connector: i64) -> Option<i64> {
        lock(&self.inner.state)
            .transactions
            .get(&connector)
            .map(|t| t.0)
    }

    pub fn config_value(&self, key: &str) -> Option<String> {
        lock(&self.inner.state).config.get(key).map(|v| v.0.clone())
    }

    /// Send raw text as a frame (for malformed-frame tests).
    pub fn send_text(&self, text: impl Into<String>) -> Result<()> {
        self.link()
            .out
            .send(Message::text(text.into()))
            .map_err(|_| SimError::Closed)
    }

    /// Send a typed CALL and wait for the typed answer.
    pub async fn call<R: Request>(&self, req: R) -> Result<R::Response> {
        let payload = serde_json::to_value(&req).map_err(|e| SimError::BadAnswer(e.to_string()))?;
        let v = self.call_raw(R::ACTION, payload).await?;
        v16::decode::<R::Response>(v)
            .map(|d| d.value)
            .map_err(|e| SimError::BadAnswer(e.to_string()))
    }

    /// Send any CALL and wait for its CALLRESULT payload.
    pub async fn call_raw(&self, action: &str, mut payload: Value) -> Result<Value> {
        let tag = payload
            .get("idTag")
            .or_else(|| payload.pointer("/idToken/idToken"))
            .and_then(Value::as_str)
            .map(str::to_string);
        self.inner.cfg.quirks.apply(&mut payload);
        {
            let mut queue = lock(&self.inner.offline_queue);
            if self.is_offline() {
                return self.offline_answer(&mut queue, action, payload, tag);
            }
        }
        let answer = self.send_call(action, payload).await?;
        let status = answer
            .pointer("/idTagInfo/status")
            .or_else(|| answer.pointer("/idTokenInfo/status"));
        if let Some(tag) = tag
            && matches!(
                action,
                "Authorize" | "StartTransaction" | "TransactionEvent"
            )
            && status.and_then(Value::as_str) == Some("Accepted")
        {
            lock(&self.inner.state).auth_cache.insert(tag);
        }
        Ok(answer)
    }

    /// What a charger does with a CALL while it has no connection.
    fn offline_answer(
        &self,
        queue: &mut Vec<(String, Value, Option<i64>)>,
        action: &str,
        payload: Value,
        tag: Option<String>,
    ) -> Result<Value> {
        let ok = Value::Object(Default::default());
        let cached = || {
            tag.as_ref()
                .is_some_and(|t| lock(&self.inner.state).auth_cache.contains(t))
        };
        match action {
            "Authorize" if cached() => Ok(serde_json::json!({"idTagInfo": {"status": "Accepted"}})),
            "StartTransaction" if cached() => {
                let local = {
                    let mut st = lock(&self.inner.state);
                    st.next_local_id -= 1;
                    st.next_local_id
                };
                queue.push((action.to_string(), payload, Some(local)));
                Ok(serde_json::json!({"idTagInfo": {"status": "Accepted"}, "transactionId": local}))
            }
            "MeterValues" | "StopTransaction" => {
                queue.push((action.to_string(), payload, None));
                Ok(ok)
            }
            // 2.0.1: every event of a transaction is kept, marked as having happened offline.
            "TransactionEvent" if tag.is_none() || cached() => {
                let mut payload = payload;
                payload["offline"] = Value::Bool(true);
                queue.push((action.to_string(), payload, None));
                Ok(if tag.is_some() {
                    serde_json::json!({"idTokenInfo": {"status": "Accepted"}})
                } else {
                    ok
                })
            }
            // The current status is reported again after reconnecting.
            "StatusNotification" => Ok(ok),
            _ => Err(SimError::Closed),
        }
    }

    /// Send one CALL on the current connection and wait for its answer.
    async fn send_call(&self, action: &str, mut payload: Value) -> Result<Value> {
        let _one_at_a_time = self.inner.call_lock.lock().await;
        // A transaction started offline goes out with its real id once the central system gave one.
        if let Some(v) = payload.get_mut("transactionId")
            && let Some(local) = lenient_i64(v)
            && let Some(real) = lock(&self.inner.state).local_ids.get(&local).copied()
        {
            *v = if v.is_string() {
                Value::String(real.to_string())
            } else {
                Value::from(real)
            };
        }
        let n = self
            .inner
            .next_id
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let id = format!(
            "{}-{n}",
            self.inner
                .cfg
                .station_id
                .chars()
                .take(20)
                .collect::<String>()
        );
        let (tx, rx) = oneshot::channel();
        *lock(&self.inner.waiting) = Some((id.clone(), tx));
        self.link()
            .out
            .send(Message::text(Frame::call(&id, action, payload).to_text()))
            .map_err(|_| SimError::Closed)?;
        let limit = self.inner.cfg.call_timeout;
        match tokio::time::timeout(limit, rx).await {
            Ok(Ok(r)) => r,
            Ok(Err(_)) => Err(SimError::Closed),
            Err(_) => {
                lock(&self.inner.waiting).take();
                Err(SimError::Timeout(limit))
            }
        }
    }

    fn on_text(&self, text: &str) {
        let frame = match Frame::parse(text) {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!("central system sent a bad frame: {e}");
                return;
            }
        };
        match frame {
            Frame::Call {
                id,
                action,
                payload,
            } => self.on_command(id, action, payload),
            Frame::CallResult {
                ref id,
                ref payload,
            } => {
                let mut w = lock(&self.inner.waiting);
                if w.as_ref().is_some_and(|(wid, _)| wid == id) {
                    if let Some((_, tx)) = w.take() {
                        let _ = tx.send(Ok(payload.clone()));
                    }
                } else {
                    drop(w);
                    let _ = lock(&self.inner.unsolicited).send(frame.clone());
                }
            }
            Frame::CallError {
                ref id,
                ref code,
                ref description,
                ..
            } => {
                let mut w = lock(&self.inner.waiting);
                if w.as_ref().is_some_and(|(wid, _)| wid == id) {
                    if let Some((_, tx)) = w.take() {
                        let _ = tx.send(Err(SimError::CallError {
                            code: code.clone(),
                            description: description.clone(),
                        }));
                    }
                } else {
                    drop(w);
                    let _ = lock(&self.inner.unsolicited).send(frame.clone());
                }
            }
        }
    }

    fn on_command(&self, id: String, action: String, payload: Value) {
        let behaviour = lock(&self.inner.state).behaviours.get(&action).cloned();
        let answer: std::result::Result<Value, CallError> = match behaviour {
            Some(Behaviour::Ignore) => {
                self.record(&action, &payload, None);
                return;
            }
            Some(Behaviour::Error(code)) => Err(CallError::new(code, "refused by test behaviour")),
            None if self.speaks_v201() => self.answer_v201(&action, &payload),
            None => match CentralSystemCall::decode(&action, payload.clone()) {
                Ok(d) => Ok(self.answer(d.value)),
                Err(e) => Err(e),
            },
        };
        let version = if self.speaks_v201() {
            Version::V201
        } else {
            Version::V16
        };
        let frame = match &answer {
            Ok(v) => Frame::result(id, v.clone()),
            Err(e) => Frame::error(id, e, version),
        };
        self.record(&action, &payload, answer.ok());
        let _ = self.link().out.send(Message::text(frame.to_text()));
    }

    fn record(&self, action: &str, payload: &Value, answer: Option<Value>) {
        lock(&self.inner.state).received.push(Received {
            action: action.to_string(),
            payload: payload.clone(),
            answer,
        });
    }

    /// Answer a command like a charger, and start whatever follows from it.
    fn answer(&self, call: CentralSystemCall) -> Value {
        let connectors = self.inner.cfg.connectors as i64;
        let mut st = lock(&self.inner.state);
        match call {
            CentralSystemCall::CancelReservation(r) => {
                let status = if st.reservations.remove(&r.reservation_id).is_some() {
                    CancelReservationStatus::Accepted
                } else {
                    CancelReservationStatus::Rejected
                };
                json(&CancelReservationResponse { status })
            }
            CentralSystemCall::ChangeAvailability(r) => {
                let ok = (0..=connectors).contains(&r.connector_id);
                if ok {
                    let status = match r.kind {
                        AvailabilityType::Inoperative => ChargePointStatus::Unavailable,
                        AvailabilityType::Operative => ChargePointStatus::Available,
                    };
                    let cp = self.clone();
                    tokio::spawn(async move { cp.status(r.connector_id, status).await });
                }
                json(&ChangeAvailabilityResponse {
                    status: if ok {
                        AvailabilityStatus::Accepted
                    } else {
                        AvailabilityStatus::Rejected
                    },
                })
            }
            // Write-only (never in GetConfiguration); used from the next connection on.
            CentralSystemCall::ChangeConfiguration(r) if r.key.as_str() == "AuthorizationKey" => {
                let key = r.value.to_string();
                let fits = (16..=40).contains(&key.chars().count());
                let status = if self.inner.cfg.takes_authorization_key && fits {
                    st.password = Some(key);
                    ConfigurationStatus::Accepted
                } else {
                    ConfigurationStatus::Rejected
                };
                json(&ChangeConfigurationResponse { status })
            }
            // Security profile 2 or 3 needs the central system's CA first; the charger then
            // reconnects with it (the 1.6 security whitepaper).
            CentralSystemCall::ChangeConfiguration(r) if r.key.as_str() == "SecurityProfile" => {
                let status = match r.value.as_str().parse::<u8>() {
                    Ok(p @ 0..=3) if p < 2 || st.root_ca.is_some() => {
                        st.security_profile = Some(p);
                        let cp = self.clone();
                        tokio::spawn(async move { cp.reboot().await });
                        ConfigurationStatus::Accepted
                    }
                    _ => ConfigurationStatus::Rejected,
                };
                json(&ChangeConfigurationResponse { status })
            }
            CentralSystemCall::InstallCertificate(r) => {
                let pem = r.certificate.to_string();
                let status = if pem.contains("BEGIN CERTIFICATE") {
                    st.root_ca = Some(pem);
                    chargeyard_ocpp::v16::InstallCertificateStatus::Accepted
                } else {
                    chargeyard_ocpp::v16::InstallCertificateStatus::Rejected
                };
                json(&chargeyard_ocpp::v16::InstallCertificateResponse { status })
            }
            CentralSystemCall::ChangeConfiguration(r) => {
                let status = match st.config.get_mut(r.key.as_str()) {
                    None => ConfigurationStatus::NotSupported,
                    Some((_, true)) => ConfigurationStatus::Rejected,
                    Some((value, false)) => {
                        *value = r.value.to_string();
                        if r.key.as_str() == "VendorNetworkMode" {
                            ConfigurationStatus::RebootRequired
                        } else {
                            ConfigurationStatus::Accepted
                        }
                    }
                };
                json(&ChangeConfigurationResponse { status })
            }
            CentralSystemCall::ClearCache(_) => {
                st.auth_cache.clear();
                json(&ClearCacheResponse {
                    status: ClearCacheStatus::Accepted,
                })
            }
            CentralSystemCall::ClearChargingProfile(r) => {
                let before = st.profiles.len();
                st.profiles.retain(|p| {
                    let m = &p.cs_charging_profiles;
                    !(r.id.is_none_or(|id| id == m.charging_profile_id)
                        && r.connector_id.is_none_or(|c| c == p.connector_id)
                        && r.stack_level.is_none_or(|s| s == m.stack_level)
                        && r.charging_profile_purpose
                            .is_none_or(|x| x == m.charging_profile_purpose))
                });
                let status = if st.profiles.len() < before {
                    ClearChargingProfileStatus::Accepted
                } else {
                    ClearChargingProfileStatus::Unknown
                };
                json(&ClearChargingProfileResponse { status })
            }
            CentralSystemCall::DataTransfer(r) => {
                if r.vendor_id.as_str() == "chargeyard.sim" {
                    json(&DataTransferResponse {
                        status: DataTransferStatus::Accepted,
                        data: r.data,
                    })
                } else {
                    json(&DataTransferResponse {
                        status: DataTransferStatus::UnknownVendorId,
                        data: None,
                    })
                }
            }
            CentralSystemCall::GetCompositeSchedule(r) => {
                let profiles: Vec<smart::Profile> =
                    st.profiles.iter().map(smart::Profile::from_v16).collect();
                let tx = st
                    .transactions
                    .get(&r.connector_id)
                    .map(|t| t.0.to_string());
                let now = chrono::Utc::now();
                let c = smart::composite(
                    &profiles,
                    r.connector_id,
                    tx.as_deref().map(|t| (t, now)),
                    now,
                );
                let limit = if r.connector_id == 0 {
                    c.station
                } else {
                    c.lowest()
                };
                match limit {
                    Some(limit) => json(&GetCompositeScheduleResponse {
                        status: GetCompositeScheduleStatus::Accepted,
                        connector_id: Some(r.connector_id),
                        schedule_start: Some(Timestamp::now()),
                        charging_schedule: Some(ChargingSchedule {
                            duration: Some(r.duration),
                            start_schedule: Some(Timestamp::now()),
                            charging_rate_unit: ChargingRateUnitType::A,
                            charging_schedule_period: vec![ChargingSchedulePeriod {
                                start_period: 0,
                                limit: (limit * 10.0).floor() / 10.0,
                                number_phases: None,
                            }],
                            min_charging_rate: None,
                        }),
                    }),
                    None => json(&GetCompositeScheduleResponse {
                        status: GetCompositeScheduleStatus::Rejected,
                        connector_id: None,
                        schedule_start: None,
                        charging_schedule: None,
                    }),
                }
            }
            CentralSystemCall::GetConfiguration(r) => {
                let (mut known, mut unknown) = (Vec::new(), Vec::new());
                let keys: Vec<String> = match r.key {
                    Some(k) if !k.is_empty() => k.iter().map(|k| k.to_string()).collect(),
                    _ => st.config.keys().cloned().collect(),
                };
                for k in keys {
                    match st.config.get(&k) {
                        Some((v, ro)) => known.push(KeyValue {
                            key: ci(&k),
                            readonly: *ro,
                            value: Some(ci(v)),
                        }),
                        None => unknown.push(ci(&k)),
                    }
                }
                json(&GetConfigurationResponse {
                    configuration_key: Some(known),
                    unknown_key: (!unknown.is_empty()).then_some(unknown),
                })
            }
            CentralSystemCall::GetDiagnostics(r) => {
                let cp = self.clone();
                let name = format!("diagnostics-{}.log", self.inner.cfg.station_id);
                let file = name.clone();
                tokio::spawn(async move { cp.upload_diagnostics(&r.location, &file).await });
                json(&GetDiagnosticsResponse {
                    file_name: Some(ci(&name)),
                })
            }
            CentralSystemCall::GetLocalListVersion(_) => json(&GetLocalListVersionResponse {
                list_version: st.local_list_version,
            }),
            CentralSystemCall::RemoteStartTransaction(r) => {
                let connector = r.connector_id.unwrap_or(1);
                let free = (1..=connectors).contains(&connector)
                    && !st.transactions.contains_key(&connector);
                if free {
                    let cp = self.clone();
                    let tag = r.id_tag.to_string();
                    tokio::spawn(async move {
                        if let Err(e) = cp.start_transaction(connector, &tag).await {
                            tracing::warn!("remote start failed: {e}");
                        }
                    });
                }
                json(&RemoteStartTransactionResponse {
                    status: if free {
                        RemoteStartStopStatus::Accepted
                    } else {
                        RemoteStartStopStatus::Rejected
                    },
                })
            }
            CentralSystemCall::RemoteStopTransaction(r) => {
                let connector = st
                    .transactions
                    .iter()
                    .find(|(_, (t, _))| *t == r.transaction_id)
                    .map(|(c, _)| *c);
                if let Some(c) = connector {
                    let cp = self.clone();
                    tokio::spawn(async move {
                        if let Err(e) = cp.stop_transaction(c, Reason::Remote).await {
                            tracing::warn!("remote stop failed: {e}");
                        }
                    });
                }
                json(&RemoteStopTransactionResponse {
                    status: if connector.is_some() {
                        RemoteStartStopStatus::Accepted
                    } else {
                        RemoteStartStopStatus::Rejected
                    },
                })
            }
            CentralSystemCall::ReserveNow(r) => {
                let status = if st.transactions.contains_key(&r.connector_id) {
                    ReservationStatus::Occupied
                } else {
                    st.reservations.insert(r.reservation_id, r.connector_id);
                    ReservationStatus::Accepted
                };
                json(&ReserveNowResponse { status })
            }
            CentralSystemCall::Reset(_) => {
                if self.inner.cfg.reboot_on_reset {
                    let cp = self.clone();
                    tokio::spawn(async move { cp.reboot().await });
                }
                json(&ResetResponse {
                    status: ResetStatus::Accepted,
                })
            }
            CentralSystemCall::SendLocalList(r) => {
                st.local_list_version = r.list_version;
                json(&SendLocalListResponse {
                    status: UpdateStatus::Accepted,
                })
            }
            CentralSystemCall::SetChargingProfile(r) => {
                st.profiles.retain(|p| {
                    p.cs_charging_profiles.charging_profile_id
                        != r.cs_charging_profiles.charging_profile_id
                });
                st.profiles.push(r);
                json(&SetChargingProfileResponse {
                    status: ChargingProfileStatus::Accepted,
                })
            }
            CentralSystemCall::TriggerMessage(r) => {
                let cp = self.clone();
                let connector = r.connector_id;
                tokio::spawn(async move {
                    if let Err(e) = cp.triggered(r.requested_message, connector).await {
                        tracing::warn!("triggered message failed: {e}");
                    }
                });
                json(&TriggerMessageResponse {
                    status: TriggerMessageStatus::Accepted,
                })
            }
            CentralSystemCall::UnlockConnector(r) => json(&UnlockConnectorResponse {
                status: if (1..=connectors).contains(&r.connector_id) {
                    UnlockStatus::Unlocked
                } else {
                    UnlockStatus::NotSupported
                },
            }),
            CentralSystemCall::UpdateFirmware(r) => {
                let cp = self.clone();
                tokio::spawn(async move {
                    cp.download_firmware(&r.location, r.retrieve_date, None)
                        .await
                });
                json(&UpdateFirmwareResponse {})
            }
            // The security extension: signed firmware (the signature kept for tests) and logs.
            CentralSystemCall::SignedUpdateFirmware(r) => {
                let f = r.firmware;
                st.firmware_signatures.push(f.signature.to_string());
                let cp = self.clone();
                let (location, at, id) =
                    (f.location.to_string(), f.retrieve_date_time, r.request_id);
                tokio::spawn(async move { cp.download_firmware(&location, at, Some(id)).await });
                json(&chargeyard_ocpp::v16::SignedUpdateFirmwareResponse {
                    status: chargeyard_ocpp::v16::SignedUpdateFirmwareStatus::Accepted,
                })
            }
            CentralSystemCall::GetLog(r) => {
                let kind = match r.log_type {
                    chargeyard_ocpp::v16::LogType::SecurityLog => "security",
                    _ => "diagnostics",
                };
                let name = format!("{kind}-{}.log", self.inner.cfg.station_id);
                let (cp, file, id) = (self.clone(), name.clone(), r.request_id);
                let location = r.log.remote_location.to_string();
                tokio::spawn(async move { cp.upload_log(&location, &file, id).await });
                json(&chargeyard_ocpp::v16::GetLogResponse {
                    status: chargeyard_ocpp::v16::LogStatus::Accepted,
                    filename: Some(ci(&name)),
                })
            }
            // The security extension: a new certificate asked for, and installed when it comes.
            CentralSystemCall::ExtendedTriggerMessage(r) => {
                let status = if r.requested_message
                    == chargeyard_ocpp::v16::ExtendedMessageTrigger::SignChargePointCertificate
                {
                    let cp = self.clone();
                    tokio::spawn(async move {
                        if let Err(e) = cp.request_certificate().await {
                            tracing::warn!("asking for a certificate failed: {e}");
                        }
                    });
                    TriggerMessageStatus::Accepted
                } else {
                    TriggerMessageStatus::NotImplemented
                };
                json(&chargeyard_ocpp::v16::ExtendedTriggerMessageResponse { status })
            }
            CentralSystemCall::CertificateSigned(r) => {
                let status = if st.install_certificate(r.certificate_chain.as_str()) {
                    chargeyard_ocpp::v16::GenericStatus::Accepted
                } else {
                    chargeyard_ocpp::v16::GenericStatus::Rejected
                };
                json(&chargeyard_ocpp::v16::CertificateSignedResponse { status })
            }
        }
    }

    /// Make a new key and ask the central system to sign a certificate for it (SignCertificate),
    /// issued to this charger's serial number, as a charger renewing its client certificate does.
    /// The key waits for the CertificateSigned that follows. Returns the central system's answer.
    pub async fn request_certificate(&self) -> Result<Value> {
        let key = rcgen::KeyPair::generate().map_err(|e| SimError::BadAnswer(e.to_string()))?;
        let mut params = rcgen::CertificateParams::default();
        let serial = format!("SN-{}", self.inner.cfg.station_id);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, serial);
        params
            .distinguished_name
            .push(rcgen::DnType::OrganizationName, "Chargeyard simulator");
        let csr = params
            .serialize_request(&key)
            .and_then(|r| r.pem())
            .map_err(|e| SimError::BadAnswer(e.to_string()))?;
        lock(&self.inner.state).pending_key = Some(key.serialize_pem());
        let mut payload = serde_json::json!({ "csr": csr });
        if self.speaks_v201() {
            payload["certificateType"] = "ChargingStationCertificate".into();
        }
        self.send_call("SignCertificate", payload).await
    }

    /// Upload a diagnostics log to `location`, reporting progress like a charger.
    async fn upload_diagnostics(&self, location: &str, file_name: &str) {
        let _ = self
            .call(DiagnosticsStatusNotificationRequest {
                status: DiagnosticsStatus::Uploading,
            })
            .await;
        let status = match self.send_log(location, file_name).await {
            Ok(()) => DiagnosticsStatus::Uploaded,
            Err(e) => {
                tracing::warn!("diagnostics upload failed: {e}");
                DiagnosticsStatus::UploadFailed
            }
        };
        let _ = self
            .call(DiagnosticsStatusNotificationRequest { status })
            .await;
    }

    /// Upload this charger's log as `file_name` to `location` (FTP or HTTP).
    async fn send_log(&self, location: &str, file_name: &str) -> std::result::Result<(), String> {
        let log = format!(
            "{} diagnostics\nvendor={} model={} firmware={}\nconnectors={}\n",
            self.inner.cfg.station_id,
            self.inner.cfg.vendor,
            self.inner.cfg.model,
            self.inner.cfg.firmware,
            self.inner.cfg.connectors
        );
        let sent = if location.starts_with("ftp://") {
            ftp::put(location, file_name, log.as_bytes()).await
        } else {
            http::post_file(location, file_name, log.as_bytes()).await
        };
        sent.map_err(|e| e.to_string())
    }

    /// Download a firmware file and keep it (for tests).
    async fn fetch_firmware(&self, location: &str) -> std::result::Result<(), String> {
        let bytes = http::get(location).await.map_err(|e| e.to_string())?;
        lock(&self.inner.state)
            .firmware
            .push((location.to_string(), bytes));
        Ok(())
    }

    /// Download firmware from `location` once `retrieve_date` has come, then "install" it. Signed
    /// firmware (the 1.6 security extension's SignedUpdateFirmware, with its request id) is
    /// reported with SignedFirmwareStatusNotification, its signature verified before installing.
    async fn download_firmware(
        &self,
        location: &str,
        retrieve_date: Timestamp,
        signed: Option<i64>,
    ) {
        let wait = (retrieve_date.0 - chrono::Utc::now())
            .to_std()
            .unwrap_or_default();
        tokio::time::sleep(wait.min(Duration::from_secs(3600))).await;
        let report = async |status: &str| {
            let _ = match signed {
                Some(id) => {
                    let p = serde_json::json!({ "status": status, "requestId": id });
                    self.send_call("SignedFirmwareStatusNotification", p).await
                }
                None => {
                    let p = serde_json::json!({ "status": status });
                    self.send_call(FirmwareStatusNotificationRequest::ACTION, p)
                        .await
                }
            };
        };
        report("Downloading").await;
        match self.fetch_firmware(location).await {
            Ok(()) => {
                let verified = signed.map(|_| "SignatureVerified");
                for s in ["Downloaded"]
                    .into_iter()
                    .chain(verified)
                    .chain(["Installing", "Installed"])
                {
                    report(s).await;
                }
            }
            Err(e) => {
                tracing::warn!("firmware download failed: {e}");
                report("DownloadFailed").await;
            }
        }
    }

    /// Restart like a charger after a Reset: the connection goes once the answer is out, then it
    /// connects again until it gets in, boots and reports its connectors.
    async fn reboot(&self) {
        tokio::time::sleep(Duration::from_millis(300)).await;
        self.go_offline();
        self.reconnect_until_in().await;
    }

    /// Connect again (boot and replay what was queued) until the central system lets it in,
    /// waiting a little longer after each refusal, as chargers do; then report its connectors.
    pub async fn reconnect_until_in(&self) {
        let mut wait = Duration::from_millis(500);
        loop {
            match self.reconnect().await {
                Ok(_) => break,
                Err(e) => {
                    tracing::info!("reconnecting: {e}");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(10));
                }
            }
        }
        let _ = self.report_connectors().await;
    }

    /// The signatures of the signed firmware sent to it (1.6 SignedUpdateFirmware).
    pub fn firmware_signatures(&self) -> Vec<String> {
        lock(&self.inner.state).firmware_signatures.clone()
    }

    /// Firmware files downloaded so far: (URL, content).
    pub fn firmware_downloads(&self) -> Vec<(String, Vec<u8>)> {
        lock(&self.inner.state).firmware.clone()
    }

    // ---- Charger behaviour ---------------------------------------------------------------------

    /// BootNotification with this simulator's identity.
    pub async fn boot(&self) -> Result<BootNotificationResponse> {
        if self.speaks_v201() {
            return self.boot_v201().await;
        }
        self.call(self.inner.cfg.boot_request()).await
    }

    /// Ask whether a tag may charge; the central system's answer.
    pub async fn authorize(&self, tag: &str) -> Result<AuthorizationStatus> {
        if self.speaks_v201() {
            return self.authorize_v201(tag).await;
        }
        let r = self.call(AuthorizeRequest { id_tag: ci(tag) }).await?;
        Ok(r.id_tag_info.status)
    }

    pub async fn status(&self, connector: i64, status: ChargePointStatus) -> Result<()> {
        if self.speaks_v201() {
            return self.status_v201(connector, status).await;
        }
        self.call(status_request(connector, status, Timestamp::now()))
            .await
            .map(|_| ())
    }

    /// Boot, then report every connector (and the station, connector 0) Available.
    pub async fn boot_and_report(&self) -> Result<BootNotificationResponse> {
        let r = self.boot().await?;
        if r.status == RegistrationStatus::Accepted {
            self.report_connectors().await?;
        }
        Ok(r)
    }

    /// Report the station (connector 0) and each connector: Charging where a transaction runs,
    /// else Available.
    async fn report_connectors(&self) -> Result<()> {
        // 2.0.1 reports EVSEs only, not the station as a whole.
        let first = i64::from(self.speaks_v201());
        for c in first..=self.inner.cfg.connectors as i64 {
            let charging = lock(&self.inner.state).transactions.contains_key(&c);
            let status = if charging {
                ChargePointStatus::Charging
            } else {
                ChargePointStatus::Available
            };
            self.status(c, status).await?;
        }
        Ok(())
    }

    /// Plug in and start charging: Preparing, StartTransaction, Charging. Returns the id.
    pub async fn start_transaction(
        &self,
        connector: i64,
        id_tag: &str,
    ) -> Result<StartTransactionResponse> {
        if self.speaks_v201() {
            return self.start_transaction_v201(connector, id_tag, None).await;
        }
        self.status(connector, ChargePointStatus::Preparing).await?;
        let meter_start = lock(&self.inner.state).meter_wh;
        let r = self
            .call(StartTransactionRequest {
                connector_id: connector,
                id_tag: ci(id_tag),
                meter_start,
                reservation_id: None,
                timestamp: Timestamp::now(),
            })
            .await?;
        if r.id_tag_info.status == AuthorizationStatus::Accepted {
            lock(&self.inner.state)
                .transactions
                .insert(connector, (r.transaction_id, meter_start));
            self.status(connector, ChargePointStatus::Charging).await?;
        } else {
            self.status(connector, ChargePointStatus::Finishing).await?;
        }
        Ok(r)
    }

    /// Deliver `wh` more energy on a connector and report it with MeterValues.
    pub async fn charge(&self, connector: i64, wh: i64, power_w: f64) -> Result<()> {
        self.deliver(connector, wh, power_w, None).await
    }

    /// As [`ChargePoint::charge`], also reporting the EV's state of charge.
    pub async fn charge_with_soc(
        &self,
        connector: i64,
        wh: i64,
        power_w: f64,
        soc: f64,
    ) -> Result<()> {
        self.deliver(connector, wh, power_w, Some(soc)).await
    }

    async fn deliver(&self, connector: i64, wh: i64, power_w: f64, soc: Option<f64>) -> Result<()> {
        self.report(connector, wh, power_w, None, soc).await
    }

    /// Deliver `wh` more energy drawing `currents` (A on L1, L2, L3) and report it with the
    /// current on each phase, as a charger under load management does.
    pub async fn draw(
        &self,
        connector: i64,
        wh: i64,
        currents: [f64; 3],
        soc: Option<f64>,
    ) -> Result<()> {
        let power_w = currents.iter().sum::<f64>() * smart::VOLTAGE;
        self.report(connector, wh, power_w, Some(currents), soc)
            .await
    }

    async fn report(
        &self,
        connector: i64,
        wh: i64,
        power_w: f64,
        currents: Option<[f64; 3]>,
        soc: Option<f64>,
    ) -> Result<()> {
        let (tx, register_wh) = {
            let mut st = lock(&self.inner.state);
            st.meter_wh += wh;
            (st.transactions.get(&connector).map(|t| t.0), st.meter_wh)
        };
        if self.speaks_v201() {
            return self
                .meter_values_v201(connector, register_wh, power_w, currents, soc)
                .await;
        }
        let mut r =
            meter_values_request(connector, tx, register_wh, power_w, soc, Timestamp::now());
        if let Some(currents) = currents {
            for (a, phase) in currents.iter().zip([Phase::L1, Phase::L2, Phase::L3]) {
                r.meter_value[0].sampled_value.push(SampledValue {
                    value: format!("{a:.1}"),
                    context: Some(ReadingContext::SamplePeriodic),
                    format: None,
                    measurand: Some(Measurand::CurrentImport),
                    phase: Some(phase),
                    location: Some(Location::Outlet),
                    unit: Some(UnitOfMeasure::A),
                });
            }
        }
        self.call(r).await.map(|_| ())
    }

    /// How many sessions run on the charger now.
    pub fn running_sessions(&self) -> usize {
        let st = lock(&self.inner.state);
        st.transactions.len().max(st.running.len())
    }

    /// The charging profiles installed, as the charger reads them.
    pub fn profiles(&self) -> Vec<smart::Profile> {
        let st = lock(&self.inner.state);
        st.profiles
            .iter()
            .map(smart::Profile::from_v16)
            .chain(
                st.profiles_v201
                    .iter()
                    .map(|(evse, p)| smart::Profile::from_v201(*evse, p)),
            )
            .collect()
    }

    /// The charger's id of the session running on a connector (EVSE), as its profiles name it.
    fn charger_tx_id(&self, connector: i64) -> Option<String> {
        let st = lock(&self.inner.state);
        st.running
            .get(&connector)
            .map(|r| r.id.clone())
            .or_else(|| st.transactions.get(&connector).map(|t| t.0.to_string()))
    }

    /// The limits in force on a connector now; `began`: when its session started.
    pub fn charging_limit(
        &self,
        connector: i64,
        began: Option<chrono::DateTime<chrono::Utc>>,
    ) -> smart::Composite {
        let now = chrono::Utc::now();
        let tx = self.charger_tx_id(connector);
        smart::composite(
            &self.profiles(),
            connector,
            tx.as_deref().map(|t| (t, began.unwrap_or(now))),
            now,
        )
    }

    /// Stop the connector's transaction: StopTransaction, Finishing, Available.
    pub async fn stop_transaction(&self, connector: i64, reason: Reason) -> Result<Option<i64>> {
        let stopped = self.stop_transaction_idle(connector, reason).await?;
        if stopped.is_some() {
            self.status(connector, ChargePointStatus::Available).await?;
        }
        Ok(stopped)
    }

    /// Stop the connector's transaction and stay plugged in: StopTransaction, Finishing.
    pub async fn stop_transaction_idle(
        &self,
        connector: i64,
        reason: Reason,
    ) -> Result<Option<i64>> {
        if self.speaks_v201() {
            return self.stop_transaction_v201(connector, reason).await;
        }
        let (t, register) = {
            let mut st = lock(&self.inner.state);
            let t = st.transactions.remove(&connector);
            // A session's own profile ends with it.
            st.profiles.retain(|p| {
                !(p.connector_id == connector
                    && p.cs_charging_profiles.charging_profile_purpose
                        == ChargingProfilePurposeType::TxProfile)
            });
            (t, st.meter_wh)
        };
        let Some((tx, _)) = t else {
            return Ok(None);
        };
        self.call(StopTransactionRequest {
            id_tag: None,
            meter_stop: register,
            timestamp: Timestamp::now(),
            transaction_id: tx,
            reason: Some(reason),
            transaction_data: None,
        })
        .await?;
        self.status(connector, ChargePointStatus::Finishing).await?;
        Ok(Some(tx))
    }

    async fn triggered(&self, what: MessageTrigger, connector: Option<i64>) -> Result<()> {
        match what {
            MessageTrigger::BootNotification => self.boot_and_report().await.map(|_| ()),
            MessageTrigger::Heartbeat => self.call(HeartbeatRequest {}).await.map(|_| ()),
            MessageTrigger::StatusNotification => {
                let c = connector.unwrap_or(0);
                let charging = lock(&self.inner.state).transactions.contains_key(&c);
                let s = if charging {
                    ChargePointStatus::Charging
                } else {
                    ChargePointStatus::Available
                };
                self.status(c, s).await
            }
            MessageTrigger::MeterValues => {
                let c = connector.unwrap_or(1);
                self.report(c, 0, 0.0, None, None).await
            }
            MessageTrigger::DiagnosticsStatusNotification => self
                .call(DiagnosticsStatusNotificationRequest {
                    status: DiagnosticsStatus::Idle,
                })
                .await
                .map(|_| ()),
            MessageTrigger::FirmwareStatusNotification => self
                .call(FirmwareStatusNotificationRequest {
                    status: FirmwareStatus::Idle,
                })
                .await
                .map(|_| ()),
        }
    }
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Open a WebSocket to the central system as this station: subprotocols, Basic auth, small
/// buffers, no Nagle. Returns the socket and the subprotocol the server chose.
async fn open_socket(cfg: &SimConfig) -> Result<(Socket, Option<String>)> {
    let id = percent_encode(&cfg.station_id);
    let url = format!("{}/{}", cfg.url.trim_end_matches('/'), id);
    let mut req = url
        .into_client_request()
        .map_err(|e| SimError::Connect(e.to_string()))?;
    for p in &cfg.subprotocols {
        let v = HeaderValue::from_str(p).map_err(|e| SimError::Connect(e.to_string()))?;
        req.headers_mut().append("Sec-WebSocket-Protocol", v);
    }
    if let Some(pw) = &cfg.password {
        let token =
            base64::engine::general_purpose::STANDARD.encode(format!("{}:{pw}", cfg.station_id));
        let v = HeaderValue::from_str(&format!("Basic {token}"))
            .map_err(|e| SimError::Connect(e.to_string()))?;
        req.headers_mut().insert("Authorization", v);
    }
    // Small buffers (thousands of simulated stations share one process) and no Nagle delay: a
    // charger's frames are small and latency is what the load generator measures.
    let ws_config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0);
    let connector = match &cfg.tls {
        Some(tls) => Some(tokio_tungstenite::Connector::Rustls(std::sync::Arc::new(
            tls.client_config()?,
        ))),
        None => None,
    };
    let (ws, resp) =
        tokio_tungstenite::connect_async_tls_with_config(req, Some(ws_config), true, connector)
            .await
            .map_err(|e| SimError::Connect(e.to_string()))?;
    let protocol = resp
        .headers()
        .get("Sec-WebSocket-Protocol")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    Ok((ws, protocol))
}

fn json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// Percent-encode a station id for the URL path.
pub fn percent_encode(id: &str) -> String {
    let mut out = String::new();
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A MeterValues as the simulator sends it: energy register and power at the outlet, and the
/// EV's state of charge when known.
pub fn meter_values_request(
    connector: i64,
    tx: Option<i64>,
    register_wh: i64,
    power_w: f64,
    soc: Option<f64>,
    at: Timestamp,
) -> MeterValuesRequest {
    let sample = |value: String, measurand, location, unit| SampledValue {
        value,
        context: Some(ReadingContext::SamplePeriodic),
        format: None,
        measurand: Some(measurand),
        phase: None,
        location: Some(location),
        unit: Some(unit),
    };
    let mut sampled_value = vec![
        sample(
            register_wh.to_string(),
            Measurand::EnergyActiveImportRegister,
            Location::Outlet,
            UnitOfMeasure::Wh,
        ),
        sample(
            format!("{power_w:.1}"),
            Measurand::PowerActiveImport,
            Location::Outlet,
            UnitOfMeasure::W,
        ),
    ];
    if let Some(soc) = soc {
        sampled_value.push(sample(
            format!("{soc:.0}"),
            Measurand::SoC,
            Location::EV,
            UnitOfMeasure::Percent,
        ));
    }
    MeterValuesRequest {
        connector_id: connector,
        transaction_id: tx,
        meter_value: vec![MeterValue {
            timestamp: at,
            sampled_value,
        }],
    }
}

/// A StatusNotification without an error.
pub fn status_request(
    connector: i64,
    status: ChargePointStatus,
    at: Timestamp,
) -> StatusNotificationRequest {
    StatusNotificationRequest {
        connector_id: connector,
        error_code: ChargePointErrorCode::NoError,
        info: None,
        status,
        timestamp: Some(at),
        vendor_id: None,
        vendor_error_code: None,
    }
}
