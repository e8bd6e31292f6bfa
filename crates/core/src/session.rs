//! One station's connection: a single loop over inbound frames, our outbound commands (one
//! outstanding CALL, the rest queued, each with a timeout), pings and shutdown.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use chargeyard_ocpp::Decoded;
use chargeyard_ocpp::lenient::{Quirk, QuirkKind};
use chargeyard_ocpp::{CallError, CallParts, Frame};
use chargeyard_store::frames::NewFrame;
use chargeyard_store::text::{Text, word};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_util::sync::CancellationToken;

use crate::commands::{CallFailure, OutboundCall};
use crate::engine::{Engine, LiveInfo};
use crate::events::Event;
use crate::protocol::{self, Incoming, Payload};

/// Where frames to the station go: the sending half of its WebSocket, compressed or not.
pub(crate) trait Outbox: futures_util::Sink<Message> + Unpin + Send {}
impl<T: futures_util::Sink<Message> + Unpin + Send> Outbox for T {}

/// Our CALL waiting for its answer.
struct Pending {
    id: String,
    action: &'static str,
    deadline: Instant,
    reply: oneshot::Sender<Result<serde_json::Value, CallFailure>>,
}

impl Engine {
    /// Append a raw frame to the log (not awaited: the log is not what we acknowledge) and show it
    /// live. `kind` is the message type and id, None when the frame could not be read.
    pub(crate) fn log_frame(
        &self,
        station_id: &Text,
        direction: &'static str,
        text: &str,
        kind: Option<(u8, &str)>,
        action: Option<&str>,
    ) {
        let row = NewFrame {
            station_id: station_id.clone(),
            direction,
            at: self.now(),
            message_type: kind.map(|(t, _)| i64::from(t)),
            message_id: kind.map(|(_, id)| id.into()),
            action: action.map(word),
            text: text.into(),
        };
        if self.has_listeners() {
            let live = chargeyard_store::model::Frame {
                id: 0,
                station_id: station_id.to_string(),
                direction: direction.to_string(),
                at: row.at,
                message_type: row.message_type,
                message_id: kind.map(|(_, id)| id.to_string()),
                action: action.map(str::to_string),
                text: text.to_string(),
            };
            self.emit(Event::Frame { frame: live });
        }
        self.store().writer.log_frame(row);
    }
}

/// Send a frame and log it (as `shown` when that is given: the frame with its secret hidden).
async fn send(
    engine: &Engine,
    station_id: &Text,
    sink: &mut impl Outbox,
    frame: &Frame,
    action: Option<&str>,
    shown: Option<&Frame>,
) -> bool {
    let text = frame.to_text();
    engine.log_frame(
        station_id,
        "out",
        &shown.map_or_else(|| text.clone(), Frame::to_text),
        Some((frame.message_type(), frame.id())),
        action,
    );
    sink.send(Message::text(text)).await.is_ok()
}

/// A read error of a station's connection, whichever WebSocket library carries it.
pub(crate) trait ReadError: std::fmt::Display {
    /// The station sent a message over the size limit.
    fn too_big(&self) -> bool;
}

impl ReadError for tokio_tungstenite::tungstenite::Error {
    fn too_big(&self) -> bool {
        matches!(self, tokio_tungstenite::tungstenite::Error::Capacity(_))
    }
}

impl ReadError for yawc::WebSocketError {
    fn too_big(&self) -> bool {
        matches!(self, yawc::WebSocketError::FrameTooLarge)
    }
}

pub(crate) async fn run<W, E>(
    engine: Engine,
    ws: W,
    station_id: Text,
    conn_id: u64,
    info: Arc<LiveInfo>,
    mut rx: mpsc::Receiver<OutboundCall>,
    cancel: CancellationToken,
) where
    W: futures_util::Stream<Item = Result<Message, E>> + futures_util::Sink<Message> + Unpin + Send,
    E: ReadError,
{
    let cfg = engine.config().clone();
    let (mut sink, mut stream) = ws.split();
    let mut queue: VecDeque<OutboundCall> = VecDeque::new();
    let mut pending: Option<Pending> = None;
    let mut ping = tokio::time::interval_at(Instant::now() + cfg.ping_interval, cfg.ping_interval);
    let mut last_rx = Instant::now();
    // When the unanswered ping went out, for its round-trip time.
    let mut ping_sent: Option<Instant> = None;
    let reason: &str = 'session: loop {
        if pending.is_none()
            && let Some(call) = queue.pop_front()
        {
            let id = (cfg.message_ids)();
            let frame = Frame::call(&id, call.action, call.payload);
            let shown = call.shown.map(|v| Frame::call(&id, call.action, v));
            if !send(
                &engine,
                &station_id,
                &mut sink,
                &frame,
                Some(call.action),
                shown.as_ref(),
            )
            .await
            {
                let _ = call.reply.send(Err(CallFailure::Offline));
                break 'session "send failed";
            }
            pending = Some(Pending {
                id,
                action: call.action,
                deadline: Instant::now() + cfg.call_timeout,
                reply: call.reply,
            });
        }
        let deadline = pending.as_ref().map(|p| p.deadline);
        tokio::select! {
            _ = cancel.cancelled() => break 'session "replaced by a new connection, removed, or shutting down",
            msg = stream.next() => {
                let msg = match msg {
                    Some(Ok(m)) => m,
                    // A message over the size limit ends the connection with 1009, as RFC 6455
                    // has it, and the reason stays in the station's log.
                    Some(Err(e)) if e.too_big() => {
                        tracing::warn!("a message over {} bytes: closing with 1009", cfg.max_message_size);
                        let close = CloseFrame {
                            code: CloseCode::Size,
                            reason: format!("message over {} bytes", cfg.max_message_size).into(),
                        };
                        let _ = sink.send(Message::Close(Some(close))).await;
                        break 'session "a message over the size limit (closed with 1009)";
                    }
                    Some(Err(e)) => {
                        tracing::info!("read error: {e}");
                        break 'session "connection error";
                    }
                    None => break 'session "connection closed",
                };
                last_rx = Instant::now();
                info.last_rx_ms.store(engine.now().timestamp_millis(), Ordering::Relaxed);
                match msg {
                    Message::Text(text) => {
                        if !on_text(&engine, &station_id, &info, &mut sink, &mut pending, text.as_str()).await {
                            break 'session "send failed";
                        }
                    }
                    Message::Binary(_) => {
                        let q = Quirk::new(QuirkKind::MalformedFrame, "binary WebSocket message ignored");
                        engine.record_quirks(&station_id, &[q]).await;
                    }
                    Message::Close(_) => break 'session "closed by the station",
                    Message::Pong(_) => {
                        if let Some(sent) = ping_sent.take() {
                            let rtt = sent.elapsed().as_micros().min(i64::MAX as u128) as i64;
                            info.ping_rtt_us.store(rtt, Ordering::Relaxed);
                        }
                    }
                    Message::Ping(_) | Message::Frame(_) => {}
                }
            }
            Some(call) = rx.recv() => {
                if queue.len() >= cfg.max_queued_calls {
                    let _ = call.reply.send(Err(CallFailure::Busy));
                } else {
                    queue.push_back(call);
                }
            }
            _ = tokio::time::sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                if let Some(p) = pending.take() {
                    tracing::info!("{} {} timed out", p.action, p.id);
                    let _ = p.reply.send(Err(CallFailure::Timeout));
                }
            }
            _ = ping.tick() => {
                if last_rx.elapsed() >= cfg.pong_timeout {
                    break 'session "no answer to pings";
                }
                if sink.send(Message::Ping(Default::default())).await.is_err() {
                    break 'session "send failed";
                }
                ping_sent = Some(Instant::now());
            }
        }
    };

    tracing::info!("station disconnected: {reason}");
    let (sid, now) = (station_id.clone(), engine.now());
    engine
        .store()
        .writer
        .write_detached(move |c| {
            Box::pin(async move {
                let detail = serde_json::json!({ "reason": reason });
                chargeyard_store::events::insert(c, &sid, "disconnected", &detail, now).await
            })
        })
        .await;
    if let Some(p) = pending.take() {
        let _ = p.reply.send(Err(CallFailure::Offline));
    }
    for call in queue.drain(..) {
        let _ = call.reply.send(Err(CallFailure::Offline));
    }
    rx.close();
    while let Ok(call) = rx.try_recv() {
        let _ = call.reply.send(Err(CallFailure::Offline));
    }
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), sink.close()).await;
    {
        let mut sessions = engine.lock_sessions();
        if sessions
            .get(&*station_id)
            .is_some_and(|h| h.conn_id == conn_id)
        {
            sessions.remove(&*station_id);
        }
    }
    engine.load_wake();
    engine.emit(Event::StationDisconnected {
        station_id: station_id.to_string(),
        reason: reason.to_string(),
        at: engine.now(),
    });
}

/// Log a CALL from the station, handle it and send the answer; false if sending failed.
#[allow(clippy::too_many_arguments)] // the session state on_text holds, as the frame handlers take it
async fn answer_call(
    engine: &Engine,
    station_id: &Text,
    info: &LiveInfo,
    sink: &mut impl Outbox,
    text: &str,
    id: &str,
    action: &str,
    decoded: Result<Decoded<Incoming>, CallError>,
) -> bool {
    engine.log_frame(station_id, "in", text, Some((2, id)), Some(action));
    let handled = match decoded {
        Ok(call) => protocol::handle(engine, station_id, Some(info), action, call).await,
        Err(e) => Err(e),
    };
    let answer = match handled {
        Ok(v) => Frame::result(id, v),
        Err(e) => Frame::error(id, &e, info.version),
    };
    send(engine, station_id, sink, &answer, Some(action), None).await
}

/// Handle one text frame; false if answering it failed (the connection is gone).
async fn on_text(
    engine: &Engine,
    station_id: &Text,
    info: &LiveInfo,
    sink: &mut impl Outbox,
    pending: &mut Option<Pending>,
    text: &str,
) -> bool {
    // A plain CALL whose payload decodes is read straight from its text; anything else (and any
    // payload that does not decode) goes through `Frame::parse`, which answers what is wrong.
    if let Some(call) = CallParts::find(text)
        && let Ok(decoded) =
            protocol::decode(info.version, call.action, Payload::Text(call.payload))
    {
        let (id, action) = (call.id, call.action);
        return answer_call(
            engine,
            station_id,
            info,
            sink,
            text,
            id,
            action,
            Ok(decoded),
        )
        .await;
    }
    match Frame::parse(text) {
        Ok(Frame::Call {
            id,
            action,
            payload,
        }) => {
            let decoded = protocol::decode(info.version, &action, Payload::Value(payload));
            answer_call(engine, station_id, info, sink, text, &id, &action, decoded).await
        }
        Ok(frame) => {
            let id = frame.id().to_string();
            let matched = pending.take_if(|p| p.id == id);
            let action = matched.as_ref().map(|p| p.action);
            let kind = Some((frame.message_type(), id.as_str()));
            engine.log_frame(station_id, "in", text, kind, action);
            match (matched, frame) {
                (Some(p), Frame::CallResult { payload, .. }) => {
                    let _ = p.reply.send(Ok(payload));
                }
                (
                    Some(p),
                    Frame::CallError {
                        code, description, ..
                    },
                ) => {
                    let _ = p.reply.send(Err(CallFailure::Error(code, description)));
                }
                _ => tracing::info!("answer {id} matches no outstanding CALL; ignored"),
            }
            true
        }
        Err(bad) => {
            engine.log_frame(station_id, "in", text, None, None);
            let q = Quirk::new(QuirkKind::MalformedFrame, bad.error.description.clone());
            engine.record_quirks(station_id, &[q]).await;
            match bad.answerable() {
                Some(id) => {
                    send(
                        engine,
                        station_id,
                        sink,
                        &Frame::error(id, &bad.error, info.version),
                        None,
                        None,
                    )
                    .await
                }
                None => true,
            }
        }
    }
}
