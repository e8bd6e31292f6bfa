//! The console over HTTPS, with the certificate chargers are shown (the depot's server
//! certificate, or the operator's own), whenever the console listens beyond loopback or `--https`
//! asks for it: a login and its session cookie never cross the network in the clear. A browser that
//! comes by plain `http://` on the same port is sent on to `https://` instead of being given bytes
//! it cannot read.
//!
//! axum's own `serve` takes plain TCP only, so connections are accepted here: TLS by rustls
//! (the acceptor in force when the connection comes, so a renewed certificate applies at once),
//! HTTP/1.1 with upgrades (the live WebSocket) by hyper, as axum's `serve` does it.

use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use chargeyard_core::Engine;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// The first byte of a TLS record that starts a handshake.
const TLS_HANDSHAKE: u8 = 0x16;
/// How long a connection may take to say what it is and to finish the TLS handshake.
const HANDSHAKE: Duration = Duration::from_secs(10);

/// Serve `app` on `listener` until `shutdown`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    engine: Engine,
    shutdown: CancellationToken,
) {
    loop {
        let tcp = tokio::select! {
            _ = shutdown.cancelled() => break,
            r = listener.accept() => match r {
                Ok((tcp, _)) => tcp,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little instead of spinning.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let (app, engine, stop) = (app.clone(), engine.clone(), shutdown.clone());
        tokio::spawn(async move {
            tokio::select! {
                _ = stop.cancelled() => {}
                _ = connection(tcp, app, engine) => {}
            }
        });
    }
}

async fn connection(tcp: TcpStream, app: Router, engine: Engine) {
    let _ = tcp.set_nodelay(true);
    let mut first = [0u8; 1];
    let peeked = tokio::time::timeout(HANDSHAKE, tcp.peek(&mut first)).await;
    if !matches!(peeked, Ok(Ok(1))) {
        return;
    }
    if first[0] != TLS_HANDSHAKE {
        return http1(tcp, Router::new().fallback(to_https)).await;
    }
    match tokio::time::timeout(HANDSHAKE, engine.console_tls().accept(tcp)).await {
        Ok(Ok(tls)) => http1(tls, app).await,
        Ok(Err(e)) => tracing::debug!("console TLS handshake failed: {e}"),
        Err(_) => tracing::debug!("console TLS handshake timed out"),
    }
}

async fn http1<S>(stream: S, app: Router)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = TowerToHyperService::new(app);
    let served = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades()
        .await;
    if let Err(e) = served {
        tracing::debug!("console connection ended: {e}");
    }
}

/// The same address over https://.
async fn to_https(headers: HeaderMap, uri: Uri) -> Response {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    Redirect::permanent(&format!("https://{host}{path}")).into_response()
}
