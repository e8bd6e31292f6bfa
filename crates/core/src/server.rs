//! The OCPP-J WebSocket server: accept loops (plain `ws://`, and `wss://` over rustls) with a
//! connection cap, a timed handshake that negotiates the subprotocol, reads the station id from
//! the path and checks what the station must present (password, TLS, client certificate), then one
//! session task per station.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU8, Ordering};

use chargeyard_ocpp::lenient::{Quirk, QuirkKind};
use chargeyard_store::model::Registration;
use chargeyard_store::{events, stations};
use percent_encoding::percent_decode_str;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};

use crate::deflate::Deflated;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::auth::{AuthDecision, Refusal, Transport};
use crate::config::UnknownStations;
use crate::engine::{Engine, LiveInfo, SUPPORTED_PROTOCOLS, SessionHandle, reg_to_u8};
use crate::events::Event;
use crate::gate::{AddressPermit, TurnAway, TurnedAwayEntry};
use crate::session;

/// Where chargers reach a running engine.
#[derive(Debug)]
pub struct Listening {
    /// The `ws://` listener.
    pub ocpp: SocketAddr,
    /// The `wss://` listener; None when its address could not be bound (said in the console).
    pub ocpp_tls: Option<SocketAddr>,
    /// Ends when both accept loops have.
    pub task: tokio::task::JoinHandle<()>,
}

/// Bind the `ws://` listener on `ocpp` (an error if it cannot be bound: chargers could not
/// connect at all) and the `wss://` one on `ocpp_tls` (a warning and a note for the console if it
/// cannot: plain chargers still can), and accept stations on both until `shutdown`.
pub async fn listen(
    engine: &Engine,
    ocpp: SocketAddr,
    ocpp_tls: SocketAddr,
    shutdown: &CancellationToken,
) -> std::io::Result<Listening> {
    let plain = TcpListener::bind(ocpp).await?;
    let ocpp = plain.local_addr()?;
    let secure = match TcpListener::bind(ocpp_tls).await {
        Ok(l) => Some(l),
        Err(e) => {
            tracing::warn!("wss:// is not available: cannot listen on {ocpp_tls}: {e}");
            engine
                .inner
                .tls
                .set_listen_error(Some(format!("cannot listen on {ocpp_tls}: {e}")));
            None
        }
    };
    let ocpp_tls = secure.as_ref().and_then(|l| l.local_addr().ok());
    let plain = tokio::spawn(run(engine.clone(), plain, shutdown.clone()));
    let secure = secure.map(|l| tokio::spawn(run_tls(engine.clone(), l, shutdown.clone())));
    let task = tokio::spawn(async move {
        let _ = plain.await;
        if let Some(s) = secure {
            let _ = s.await;
        }
    });
    Ok(Listening {
        ocpp,
        ocpp_tls,
        task,
    })
}

/// Accept stations on `listener` (plain `ws://`) until `shutdown` fires. Sessions end with
/// [`Engine::shutdown`].
pub async fn run(engine: Engine, listener: TcpListener, shutdown: CancellationToken) {
    accept(engine, listener, shutdown, false).await
}

/// Accept stations over TLS (`wss://`, security profiles 2 and 3) on `listener` until `shutdown`
/// fires.
pub async fn run_tls(engine: Engine, listener: TcpListener, shutdown: CancellationToken) {
    accept(engine, listener, shutdown, true).await
}

async fn accept(engine: Engine, listener: TcpListener, shutdown: CancellationToken, tls: bool) {
    let limit = Arc::new(Semaphore::new(engine.config().max_connections));
    let engine_stop = engine.shutdown_token();
    let tasks = engine.inner.tasks.clone();
    let slot = if tls {
        &engine.inner.tls_listen
    } else {
        &engine.inner.ocpp_listen
    };
    if let (Ok(addr), Ok(mut slot)) = (listener.local_addr(), slot.lock()) {
        *slot = Some(addr);
    }
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = engine_stop.cancelled() => break,
            r = listener.accept() => r,
        };
        match accepted {
            Ok((stream, addr)) => {
                let Ok(total) = limit.clone().try_acquire_owned() else {
                    tracing::warn!(%addr, "connection cap reached; refusing");
                    drop(stream);
                    turn_away(&engine, addr, None, TurnAway::TooManyConnections);
                    continue;
                };
                let Some(address) = engine.inner.gate.admit(addr.ip()) else {
                    tracing::warn!(%addr, "too many connections from this address; refusing");
                    drop(stream);
                    turn_away(&engine, addr, None, TurnAway::TooManyFromAddress);
                    continue;
                };
                let permit = Permit {
                    _total: total,
                    _address: address,
                };
                let _ = stream.set_nodelay(true);
                let span = tracing::info_span!("station", %addr, id = tracing::field::Empty);
                let local_addr = stream.local_addr().ok();
                let engine = engine.clone();
                if tls {
                    tasks.spawn(secure(engine, stream, addr, local_addr, permit).instrument(span));
                } else {
                    let conn = plain_or_tls(engine, stream, addr, local_addr, permit);
                    tasks.spawn(conn.instrument(span));
                }
            }
            Err(e) => {
                // Out of file descriptors and the like: wait a little instead of spinning.
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
}

/// What a connection holds while it is open: its place under the overall cap and under its
/// address's.
struct Permit {
    _total: OwnedSemaphorePermit,
    _address: AddressPermit,
}

/// Note a connection turned away, and tell the screens (at most every few seconds).
fn turn_away(engine: &Engine, addr: SocketAddr, station_id: Option<String>, reason: TurnAway) {
    let entry = TurnedAwayEntry {
        at: engine.now(),
        remote_addr: addr.to_string(),
        station_id,
        reason,
    };
    if engine.inner.gate.turned_away(entry.clone()) {
        engine.emit(Event::TurnedAway { entry });
    }
}

/// On the `ws://` port: a connection that opens with a TLS handshake record gets `wss://`, so a
/// charger moved to a higher security profile needs only its URL's scheme changed.
async fn plain_or_tls(
    engine: Engine,
    stream: TcpStream,
    addr: SocketAddr,
    local_addr: Option<SocketAddr>,
    permit: Permit,
) {
    const TLS_HANDSHAKE: u8 = 0x16;
    let mut first = [0u8; 1];
    let timeout = engine.config().handshake_timeout;
    match tokio::time::timeout(timeout, stream.peek(&mut first)).await {
        Ok(Ok(1)) if first[0] == TLS_HANDSHAKE => {
            secure(engine, stream, addr, local_addr, permit).await
        }
        Ok(Ok(1)) => {
            let plain = Transport::default();
            connection(engine, stream, addr, local_addr, permit, plain).await
        }
        Ok(_) => {}
        Err(_) => tracing::info!("handshake timed out"),
    }
}

/// The TLS handshake, then the WebSocket one over it. A handshake refused at the TLS layer is
/// noted for the console with the reason in an installer's words.
async fn secure(
    engine: Engine,
    stream: TcpStream,
    addr: SocketAddr,
    local_addr: Option<SocketAddr>,
    permit: Permit,
) {
    let acceptor = engine.inner.tls.acceptor();
    let timeout = engine.config().handshake_timeout;
    match tokio::time::timeout(timeout, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => {
            let client_certificate = tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|c| c.first())
                .and_then(|c| crate::tls::summary(c).ok());
            let transport = Transport {
                tls: true,
                client_certificate,
            };
            connection(engine, tls, addr, local_addr, permit, transport).await
        }
        Ok(Err(e)) => {
            let reason = crate::tls::refusal_reason(&e);
            tracing::info!("TLS handshake refused or failed: {e}");
            engine
                .inner
                .tls
                .refused(&addr.to_string(), reason, engine.now());
        }
        Err(_) => tracing::info!("TLS handshake timed out"),
    }
}

/// What the handshake learned.
#[derive(Debug, Default)]
struct Handshake {
    station_id: String,
    protocol: String,
    offered: Vec<String>,
    no_subprotocol: bool,
    /// Why a known station's connection was refused (counted for the operator to see).
    refused: Option<Refusal>,
    /// The permessage-deflate agreed (our `Sec-WebSocket-Extensions` answer), if any.
    deflate: Option<String>,
}

fn reject(status: StatusCode, reason: &str) -> ErrorResponse {
    let mut r = ErrorResponse::new(Some(reason.to_string()));
    *r.status_mut() = status;
    if status == StatusCode::UNAUTHORIZED {
        r.headers_mut().insert(
            "WWW-Authenticate",
            HeaderValue::from_static("Basic realm=\"Chargeyard\""),
        );
    }
    r
}

/// The station id from a path such as `/ocpp/CP%2001`, `//ocpp//CP01/` or `/CP01`.
pub fn station_id_from_path(path: &str) -> Result<String, String> {
    let path = path.split('?').next().unwrap_or_default();
    let mut segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    if segments.first() == Some(&"ocpp") {
        segments.remove(0);
    }
    let Some(last) = segments.last() else {
        return Err("the URL must end with the station id, e.g. /ocpp/CP01".into());
    };
    let id = percent_decode_str(last)
        .decode_utf8()
        .map_err(|_| "the station id is not valid UTF-8".to_string())?
        .into_owned();
    crate::stations::check_station_id(&id).map_err(|e| e.to_string())?;
    Ok(id)
}

// tungstenite's handshake callback fixes the error type (an HTTP response).
#[allow(clippy::result_large_err)]
fn negotiate(
    engine: &Engine,
    transport: &Transport,
    req: &Request,
    mut resp: Response,
    out: &mut Handshake,
) -> Result<Response, ErrorResponse> {
    let station_id =
        station_id_from_path(req.uri().path()).map_err(|e| reject(StatusCode::NOT_FOUND, &e))?;
    out.station_id = station_id.clone();
    // Every Sec-WebSocket-Protocol header, each possibly a comma-separated list.
    let offered: Vec<String> = req
        .headers()
        .get_all("Sec-WebSocket-Protocol")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect();
    // The highest version we speak that the station offers and may use; with none offered,
    // the station's own (1.6 for one never seen), noted as a quirk.
    let allowed = engine.station_protocols(&station_id);
    let protocol = if offered.is_empty() {
        out.no_subprotocol = true;
        allowed.fallback.subprotocol().to_string()
    } else {
        let chosen = SUPPORTED_PROTOCOLS
            .iter()
            .filter(|ours| {
                chargeyard_ocpp::Version::from_subprotocol(ours).is_some_and(|v| allowed.allows(v))
            })
            .find(|ours| offered.iter().any(|o| o.eq_ignore_ascii_case(ours)))
            .ok_or_else(|| {
                let why = format!(
                    "unsupported subprotocol(s) {}; this central system speaks {} to this station",
                    offered.join(", "),
                    SUPPORTED_PROTOCOLS
                        .iter()
                        .filter(|p| chargeyard_ocpp::Version::from_subprotocol(p)
                            .is_some_and(|v| allowed.allows(v)))
                        .copied()
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                out.refused = Some(Refusal::UnsupportedProtocol);
                reject(StatusCode::BAD_REQUEST, &why)
            })?;
        let value = HeaderValue::from_str(chosen)
            .map_err(|_| reject(StatusCode::BAD_REQUEST, "bad subprotocol"))?;
        resp.headers_mut().insert("Sec-WebSocket-Protocol", value);
        chosen.to_string()
    };
    let auth = req
        .headers()
        .get("Authorization")
        .and_then(|v| v.to_str().ok());
    if let AuthDecision::Denied(why) = engine.inner.credentials.check(&station_id, auth, transport)
    {
        out.refused = Some(why);
        return Err(reject(StatusCode::UNAUTHORIZED, why.message()));
    }
    let deflate = crate::deflate::agree(req.headers());
    if let Some(d) = &deflate {
        let value = HeaderValue::from_str(d)
            .map_err(|_| reject(StatusCode::BAD_REQUEST, "bad extension"))?;
        resp.headers_mut().insert("Sec-WebSocket-Extensions", value);
    }
    *out = Handshake {
        station_id,
        protocol,
        offered,
        no_subprotocol: out.no_subprotocol,
        refused: None,
        deflate,
    };
    Ok(resp)
}

#[allow(clippy::result_large_err)] // the handshake callback closure, as above
async fn connection<S>(
    engine: Engine,
    stream: S,
    addr: SocketAddr,
    // The address the station reached us on: file transfers offered to it use the same one.
    local_addr: Option<SocketAddr>,
    _permit: Permit,
    transport: Transport,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let cfg = engine.config().clone();
    // OCPP messages are small: the default 128 KiB read buffer per connection would dominate
    // memory with thousands of stations. Writes go out at once (no write buffering).
    let ws_config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0)
        .max_message_size(Some(cfg.max_message_size))
        .max_frame_size(Some(cfg.max_message_size));
    let mut hs = Handshake::default();
    let callback =
        |req: &Request, resp: Response| negotiate(&engine, &transport, req, resp, &mut hs);
    let accepted = tokio::time::timeout(
        cfg.handshake_timeout,
        tokio_tungstenite::accept_hdr_async_with_config(stream, callback, Some(ws_config)),
    )
    .await;
    let ws = match accepted {
        Ok(Ok(ws)) => ws,
        Ok(Err(e)) => {
            tracing::info!("handshake refused or failed: {e}");
            if let Some(why) = hs.refused.take() {
                engine.record_refusal(&hs.station_id, why.code()).await;
            }
            return;
        }
        Err(_) => {
            tracing::info!("handshake timed out");
            return;
        }
    };
    tracing::Span::current().record("id", hs.station_id.as_str());
    let station_id = hs.station_id.clone();

    let registration = match engine.settings().unknown_stations {
        UnknownStations::Accept => Registration::Accepted,
        UnknownStations::Pending => Registration::Pending,
        UnknownStations::Reject => Registration::Rejected,
    };
    let max_waiting = cfg.max_waiting_stations;
    let (sid, remote, offered, protocol, now) = (
        station_id.clone(),
        addr.to_string(),
        hs.offered.join(","),
        hs.protocol.clone(),
        engine.now(),
    );
    let tls = transport.tls;
    let client_certificate = transport.client_certificate.as_ref().map(|c| {
        format!(
            "{} (serial {}, issued by {})",
            c.subject, c.serial, c.issuer
        )
    });
    let station = engine
        .store()
        .writer
        .write(move |c| {
            Box::pin(async move {
                let Some(station) = stations::record_connect(
                    c,
                    &sid,
                    registration,
                    max_waiting,
                    &remote,
                    &offered,
                    &protocol,
                    now,
                )
                .await?
                else {
                    return Ok(None);
                };
                let detail = serde_json::json!({
                    "remote_addr": remote, "protocol": protocol, "tls": tls,
                    "client_certificate": client_certificate,
                });
                events::insert(c, &sid, "connected", &detail, now).await?;
                Ok(Some(station))
            })
        })
        .await;
    let station = match station {
        Ok(Some(s)) => s,
        Ok(None) => {
            tracing::warn!("an unknown station while the inbox is full: turned away");
            let close = CloseFrame {
                code: CloseCode::Again,
                reason: format!(
                    "{} chargers are already waiting for approval; try again later",
                    cfg.max_waiting_stations
                )
                .into(),
            };
            let mut ws = ws;
            let _ = ws.close(Some(close)).await;
            turn_away(&engine, addr, Some(station_id), TurnAway::InboxFull);
            return;
        }
        Err(e) => {
            tracing::error!("could not record the connection: {e}");
            return;
        }
    };
    engine.remember_protocols(&station);
    if hs.no_subprotocol {
        let q = Quirk::new(
            QuirkKind::NoSubprotocol,
            format!("no Sec-WebSocket-Protocol offered; using {}", hs.protocol),
        );
        engine.record_quirks(&station_id, &[q]).await;
    }

    let info = Arc::new(LiveInfo {
        connected_at: engine.now(),
        last_rx_ms: AtomicI64::new(engine.now().timestamp_millis()),
        registration: AtomicU8::new(reg_to_u8(station.registration)),
        local_addr,
        ping_rtt_us: AtomicI64::new(-1),
        version: chargeyard_ocpp::Version::from_subprotocol(&hs.protocol)
            .unwrap_or(chargeyard_ocpp::Version::V16),
        transport,
    });
    let (tx, rx) = mpsc::channel(cfg.max_queued_calls.max(1));
    let cancel = engine.shutdown_token().child_token();
    let conn_id = engine.inner.next_conn_id.fetch_add(1, Ordering::Relaxed);
    let previous = engine.lock_sessions().insert(
        station_id.clone(),
        SessionHandle {
            conn_id,
            tx,
            cancel: cancel.clone(),
            info: info.clone(),
        },
    );
    if let Some(old) = previous {
        tracing::info!("replacing the previous connection of this station");
        old.cancel.cancel();
    }
    tracing::info!(protocol = %hs.protocol, "station connected");
    engine.emit(Event::StationConnected {
        station_id: station_id.clone(),
        protocol: hs.protocol.clone(),
        remote_addr: addr.to_string(),
        at: engine.now(),
    });
    // A station told to upgrade its security profile is back: raised if this connection meets it.
    if engine
        .inner
        .upgrades
        .lock()
        .is_ok_and(|u| u.contains_key(&station_id))
    {
        let (engine, id) = (engine.clone(), station_id.clone());
        engine
            .inner
            .tasks
            .clone()
            .spawn(async move { engine.finish_upgrade(&id).await });
    }
    match hs.deflate {
        // Compressed from here on: the same session over a connection that inflates and deflates.
        Some(agreed) => match Deflated::new(ws.into_inner(), &agreed, cfg.max_message_size) {
            Ok(ws) => session::run(engine, ws, station_id.into(), conn_id, info, rx, cancel).await,
            Err(e) => tracing::warn!("permessage-deflate {agreed:?} could not be set up: {e}"),
        },
        None => session::run(engine, ws, station_id.into(), conn_id, info, rx, cancel).await,
    }
}
