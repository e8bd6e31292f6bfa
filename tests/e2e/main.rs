//! End-to-end tests: the real engine on `127.0.0.1:0`, real SQLite files in temp dirs, and the
//! simulator (or raw WebSocket clients) over real sockets.
//!
//! Modules mirror what a charger or a user does: `negotiation` (handshake, auth), `handlers`
//! (charger-initiated messages), `malformed` (bad frames), `commands` (every command round trip),
//! `backups` (backups and restores through the API and the real binary),
//! `sessions` (reconnects, pings, caps), `http` (the JSON API and live stream), `durability`
//! (SIGKILL of the real server binary), `toolkit` (the technician's inspector, configuration,
//! files and health), `v201` (an OCPP 2.0.1 charger served end to end), `load` (load management
//! against simulated cars).

mod backups;
mod billing;
mod commands;
mod diskfull;
mod durability;
mod exports;
mod handlers;
mod http;
mod interop;
mod lifecycle;
mod load;
mod login;
mod malformed;
mod negotiation;
mod passwords;
mod sessions;
mod tls;
mod toolkit;
mod v201;

use std::future::Future;
use std::time::Duration;

use chargeyard_core::{Engine, EngineConfig, UnknownStations};
use chargeyard_sim::{ChargePoint, SimConfig};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;

/// A running engine with its OCPP server on a loopback port.
pub struct Harness {
    pub engine: Engine,
    pub url: String,
    /// The same over TLS (the server certificate is for 127.0.0.1, signed by the depot's CA).
    pub tls_url: String,
    pub addr: std::net::SocketAddr,
    pub dir: tempfile::TempDir,
    stop: CancellationToken,
}

impl Harness {
    pub async fn start(config: EngineConfig) -> Harness {
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = Engine::open(config, &dir.path().join("chargeyard.db"))
            .await
            .expect("engine opens");
        let stop = CancellationToken::new();
        let any = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
        let listening = chargeyard_core::server::listen(&engine, any, any, &stop)
            .await
            .expect("listen");
        let addr = listening.ocpp;
        let tls = listening.ocpp_tls.expect("wss:// listens");
        Harness {
            engine,
            url: format!("ws://{addr}/ocpp"),
            tls_url: format!("wss://{tls}/ocpp"),
            addr,
            dir,
            stop,
        }
    }

    /// Unknown stations accepted, short timeouts: most tests want this.
    pub async fn open() -> Harness {
        Harness::start(config()).await
    }

    pub fn sim_config(&self, id: &str) -> SimConfig {
        SimConfig::new(&self.url, id)
    }

    /// A simulator that is connected and booted (Accepted), with connectors reported.
    pub async fn booted(&self, id: &str) -> ChargePoint {
        let (cp, _) = ChargePoint::connect(self.sim_config(id))
            .await
            .expect("connects");
        let boot = cp.boot_and_report().await.expect("boots");
        assert_eq!(
            boot.status.as_str(),
            "Accepted",
            "station {id} should be accepted"
        );
        cp
    }

    pub async fn stop(self) {
        self.stop.cancel();
        self.engine.shutdown().await;
    }
}

pub fn config() -> EngineConfig {
    EngineConfig {
        unknown_stations: UnknownStations::Accept,
        call_timeout: Duration::from_secs(5),
        ..EngineConfig::default()
    }
}

/// Poll `check` until it returns Some, or panic with `what` after 10 s.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out waiting for: {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One sampled value as a charger would send it.
pub fn sample(
    value: &str,
    measurand: Option<chargeyard_ocpp::v16::Measurand>,
    phase: Option<chargeyard_ocpp::v16::Phase>,
    unit: Option<chargeyard_ocpp::v16::UnitOfMeasure>,
) -> chargeyard_ocpp::v16::SampledValue {
    chargeyard_ocpp::v16::SampledValue {
        value: value.into(),
        context: None,
        format: None,
        measurand,
        phase,
        location: None,
        unit,
    }
}

/// Wait until every write queued so far (the frame log is written in the background) is committed:
/// the writer is first-in first-out, so an awaited write is a barrier.
pub async fn flush(engine: &Engine) {
    engine
        .store()
        .writer
        .write(|_| Box::pin(async { Ok(()) }))
        .await
        .expect("writer alive");
}

/// Every frame exchanged with `station` (both directions, from the raw frame log) is valid against
/// the official OCA schema of its action in the version the station speaks: 1.6 CALLs against
/// `<Action>.json` and results against `<Action>Response.json`; 2.0.1 against
/// `<Action>Request.json` and `<Action>Response.json`. Returns how many were checked.
pub async fn assert_frames_schema_valid(engine: &Engine, station: &str) -> usize {
    flush(engine).await;
    let protocol = engine
        .station(station)
        .await
        .ok()
        .and_then(|s| s.view.station.protocol)
        .unwrap_or_else(|| "ocpp1.6".into());
    let (folder, request_suffix) = match protocol.as_str() {
        "ocpp2.0.1" => ("v201", "Request"),
        _ => ("v16", ""),
    };
    let dir = std::path::PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo"))
        .join("../crates/ocpp/schemas")
        .join(folder);
    let frames = engine.frames(station, None, 5000).await.expect("frames");
    let mut validators = std::collections::HashMap::new();
    let mut checked = 0;
    for f in &frames {
        let (Some(action), Some(kind)) = (&f.action, f.message_type) else {
            continue;
        };
        let v: serde_json::Value = serde_json::from_str(&f.text).expect("logged frames are JSON");
        let (schema, payload) = match kind {
            2 => (format!("{action}{request_suffix}"), &v[3]),
            3 => (format!("{action}Response"), &v[2]),
            _ => continue,
        };
        let validator = validators.entry(schema.clone()).or_insert_with(|| {
            let text = std::fs::read_to_string(dir.join(format!("{schema}.json")))
                .unwrap_or_else(|e| panic!("schema {schema}: {e}"));
            jsonschema::validator_for(&serde_json::from_str(&text).expect("json")).expect("schema")
        });
        let errors: Vec<String> = validator
            .iter_errors(payload)
            .map(|e| e.to_string())
            .collect();
        assert!(
            errors.is_empty(),
            "{} frame {} is not valid {folder} {schema}: {errors:?}",
            f.direction,
            f.text
        );
        checked += 1;
    }
    checked
}

pub type Raw = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A raw WebSocket client offering `ocpp1.6`, for frames the simulator would never send.
pub async fn raw(url: &str, station: &str) -> Raw {
    raw_with(url, station, "ocpp1.6").await
}

/// A raw WebSocket client offering `protocol`.
pub async fn raw_with(url: &str, station: &str, protocol: &str) -> Raw {
    let mut req = format!("{url}/{station}")
        .into_client_request()
        .expect("request");
    req.headers_mut()
        .insert("Sec-WebSocket-Protocol", protocol.parse().expect("header"));
    tokio_tungstenite::connect_async(req)
        .await
        .expect("connects")
        .0
}

/// A raw client for `station` (see [`raw`]), booted and accepted.
pub async fn raw_booted(url: &str, station: &str) -> Raw {
    let mut ws = raw(url, station).await;
    let boot = exchange(
        &mut ws,
        r#"[2,"b","BootNotification",{"chargePointVendor":"V","chargePointModel":"M"}]"#,
    )
    .await;
    assert_eq!(boot[2]["status"], serde_json::json!("Accepted"), "{boot}");
    ws
}

/// Send text and return the next text frame as JSON.
pub async fn exchange(ws: &mut Raw, text: &str) -> serde_json::Value {
    ws.send(Message::text(text.to_string()))
        .await
        .expect("send");
    next_json(ws).await
}

pub async fn next_json(ws: &mut Raw) -> serde_json::Value {
    let deadline = Duration::from_secs(10);
    loop {
        let msg = tokio::time::timeout(deadline, ws.next())
            .await
            .expect("an answer within 10 s")
            .expect("connection open")
            .expect("valid message");
        if let Message::Text(t) = msg {
            return serde_json::from_str(t.as_str()).expect("answer is JSON");
        }
    }
}
