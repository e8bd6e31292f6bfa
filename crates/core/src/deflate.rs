//! WebSocket compression (permessage-deflate, RFC 7692; OCPP 2.0.1 Part 4 has the central
//! system support it). tungstenite, which carries every other connection, has no compression;
//! a connection whose charger offers it is handed after the handshake to yawc, which does, and
//! reads and writes the same messages as tungstenite's, so a session runs the same either way.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures_util::{Sink, Stream};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::http::HeaderMap;
use yawc::frame::{Frame, OpCode};

/// The permessage-deflate we agree to, as the `Sec-WebSocket-Extensions` answer, if the charger
/// offers one we can take: the first offer whose parameters we can honour (context takeover
/// either way, as asked; our window is the full 15 bits, so an offer that limits the server's
/// window is passed over).
pub(crate) fn agree(headers: &HeaderMap) -> Option<String> {
    let offers = headers
        .get_all("Sec-WebSocket-Extensions")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','));
    'offer: for offer in offers {
        let mut params = offer.split(';').map(str::trim);
        if !params
            .next()
            .is_some_and(|name| name.eq_ignore_ascii_case("permessage-deflate"))
        {
            continue;
        }
        let mut answer = vec!["permessage-deflate"];
        for p in params.filter(|p| !p.is_empty()) {
            let name = p.split('=').next().unwrap_or_default().trim();
            match name.to_ascii_lowercase().as_str() {
                "client_no_context_takeover" => answer.push("client_no_context_takeover"),
                "server_no_context_takeover" => answer.push("server_no_context_takeover"),
                // The charger says it can take a smaller window of ours; we send the default.
                "client_max_window_bits" => {}
                _ => continue 'offer,
            }
        }
        return Some(answer.join("; "));
    }
    None
}

/// A charger's connection with permessage-deflate, as a stream and sink of tungstenite messages.
pub(crate) struct Deflated<S>(yawc::WebSocket<S>);

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Deflated<S> {
    /// Take over `tcp` (or TLS over it) after a handshake that agreed `extensions`.
    pub(crate) fn new(
        tcp: S,
        extensions: &str,
        max_message_size: usize,
    ) -> Result<Deflated<S>, yawc::WebSocketError> {
        let options = yawc::Options::default()
            .with_balanced_compression()
            .with_utf8()
            .with_max_payload_read(max_message_size);
        yawc::WebSocket::from_stream_with_extensions(
            tcp,
            yawc::Role::Server,
            Some(extensions),
            options,
        )
        .map(Deflated)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Stream for Deflated<S> {
    type Item = Result<Message, yawc::WebSocketError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            let Some(frame) = ready!(Pin::new(&mut self.0).poll_next(cx)) else {
                return Poll::Ready(None);
            };
            let payload = frame.payload().clone();
            let message = match frame.opcode() {
                OpCode::Text => match payload.try_into() {
                    Ok(text) => Message::Text(text),
                    Err(_) => return Poll::Ready(Some(Err(yawc::WebSocketError::InvalidUTF8))),
                },
                OpCode::Binary => Message::Binary(payload),
                OpCode::Ping => Message::Ping(payload),
                OpCode::Pong => Message::Pong(payload),
                OpCode::Close => Message::Close(None),
                // Fragments arrive put together.
                OpCode::Continuation => continue,
            };
            return Poll::Ready(Some(Ok(message)));
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Sink<Message> for Deflated<S> {
    type Error = yawc::WebSocketError;

    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Pin::new(&mut self.0).poll_ready(cx)
    }

    fn start_send(mut self: Pin<&mut Self>, item: Message) -> Result<(), Self::Error> {
        let frame = match item {
            Message::Text(t) => Frame::text(bytes_of(t)),
            Message::Binary(b) => Frame::binary(b),
            Message::Ping(p) => Frame::ping(p),
            Message::Pong(p) => Frame::pong(p),
            Message::Close(Some(c)) => Frame::close(u16::from(c.code).into(), c.reason.as_bytes()),
            Message::Close(None) => Frame::close(yawc::close::CloseCode::Normal, ""),
            Message::Frame(_) => return Ok(()),
        };
        Pin::new(&mut self.0).start_send(frame)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Pin::new(&mut self.0).poll_close(cx)
    }
}

fn bytes_of(t: tokio_tungstenite::tungstenite::Utf8Bytes) -> tokio_tungstenite::tungstenite::Bytes {
    t.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer(values: &[&str]) -> Option<String> {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("Sec-WebSocket-Extensions", v.parse().expect("header"));
        }
        agree(&h)
    }

    #[test]
    fn the_first_offer_we_can_honour_is_agreed() {
        assert_eq!(offer(&[]), None);
        assert_eq!(offer(&["x-webkit-deflate-frame"]), None);
        assert_eq!(
            offer(&["permessage-deflate; client_max_window_bits"]).as_deref(),
            Some("permessage-deflate")
        );
        assert_eq!(
            offer(&["permessage-deflate; server_no_context_takeover; client_no_context_takeover"])
                .as_deref(),
            Some("permessage-deflate; server_no_context_takeover; client_no_context_takeover")
        );
        // A limit on our window we do not take: the next offer is.
        assert_eq!(
            offer(&["permessage-deflate; server_max_window_bits=10, permessage-deflate"])
                .as_deref(),
            Some("permessage-deflate")
        );
        assert_eq!(
            offer(&["permessage-deflate; server_max_window_bits=10"]),
            None
        );
    }
}
