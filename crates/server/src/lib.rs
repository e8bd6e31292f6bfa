//! Headless Chargeyard: the engine plus a JSON HTTP API, a live WebSocket of events, and the built
//! UI, with no display and no WebKit.
//!
//! Layout:
//! - [`api`] — HTTP routes over the engine's facade, error mapping, the live event stream
//! - [`guard`] — host names and origins the console answers to: no other web page can drive it
//! - [`login`] — operator logins where required, roles, and who made each change
//! - [`https`] — the console over HTTPS beyond loopback
//! - [`serve`] — start the OCPP and HTTP listeners for one engine (used by `main.rs` and tests)
//! - [`demo`] — the demo depot: simulated fleet and backfilled history

pub mod api;
pub mod demo;
pub mod guard;
pub mod https;
pub mod login;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use chargeyard_core::Engine;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::services::{ServeDir, ServeFile};

/// How the console is served.
#[derive(Debug, Clone, Default)]
pub struct ConsoleOptions {
    /// The built UI (none: a page that says so).
    pub ui_dir: Option<PathBuf>,
    /// Further host names the console answers to.
    pub allow_hosts: Vec<String>,
    /// Ask for a login even on loopback (it is always asked for beyond loopback).
    pub require_login: bool,
    /// Serve over HTTPS even on loopback (it always is beyond loopback).
    pub https: bool,
}

/// The whole HTTP surface: the API, plus the UI from `ui_dir` when it has been built, for the
/// host names in `hosts` and pages of its own origin only, with a login when `login` requires it.
pub fn app(
    engine: Engine,
    ui_dir: Option<PathBuf>,
    hosts: guard::Hosts,
    login: login::Policy,
) -> Router {
    let api = api::router(engine.clone());
    let app = match ui_dir.filter(|d| d.join("index.html").is_file()) {
        Some(dir) => {
            let index = dir.join("index.html");
            api.fallback_service(ServeDir::new(dir).fallback(ServeFile::new(index)))
        }
        None => api.fallback(|| async {
            axum::response::Html(
                "<!doctype html><title>Chargeyard</title><h1>Chargeyard is running</h1>\
                 <p>The console UI has not been built; the JSON API is at <a href=\"/api/stations\">/api/stations</a>.</p>",
            )
        }),
    };
    app.layer(axum::middleware::from_fn_with_state(
        (engine, login),
        login::check,
    ))
    .layer(axum::middleware::from_fn_with_state(
        Arc::new(hosts),
        guard::check,
    ))
}

/// Addresses to listen on.
#[derive(Debug, Clone, Copy)]
pub struct Addresses {
    /// Chargers over `ws://`.
    pub ocpp: SocketAddr,
    /// Chargers over `wss://`.
    pub ocpp_tls: SocketAddr,
    /// The console and API.
    pub http: SocketAddr,
}

impl Addresses {
    /// Every address on an unused port of loopback (tests).
    pub fn loopback() -> Addresses {
        let any = SocketAddr::from(([127, 0, 0, 1], 0));
        Addresses {
            ocpp: any,
            ocpp_tls: any,
            http: any,
        }
    }
}

/// Addresses a running server listens on.
#[derive(Debug, Clone, Copy)]
pub struct Bound {
    pub ocpp: SocketAddr,
    /// None when its address could not be bound (the console says why).
    pub ocpp_tls: Option<SocketAddr>,
    pub http: SocketAddr,
    /// The console is served over HTTPS.
    pub https: bool,
}

/// Bind the listeners and serve until `shutdown`; returns once they are listening. The console
/// answers to the names of the address it listens on and to `console.allow_hosts`, and asks for a
/// login beyond loopback or when `console.require_login`.
pub async fn serve(
    engine: Engine,
    at: Addresses,
    console: ConsoleOptions,
    shutdown: CancellationToken,
) -> std::io::Result<(Bound, tokio::task::JoinHandle<()>)> {
    let http_listener = TcpListener::bind(at.http).await?;
    let chargers =
        chargeyard_core::server::listen(&engine, at.ocpp, at.ocpp_tls, &shutdown).await?;
    let http = http_listener.local_addr()?;
    let bound = Bound {
        ocpp: chargers.ocpp,
        ocpp_tls: chargers.ocpp_tls,
        http,
        https: console.https || !http.ip().is_loopback(),
    };
    let login = login::Policy {
        required: console.require_login || !http.ip().is_loopback(),
        secure: bound.https,
    };
    let app = app(
        engine.clone(),
        console.ui_dir,
        guard::Hosts::new(bound.http, &console.allow_hosts),
        login,
    );
    let stop = shutdown.clone();
    let https = bound.https.then(|| engine.clone());
    let handle = tokio::spawn(async move {
        match https {
            Some(engine) => https::serve(http_listener, app, engine, stop).await,
            None => {
                let http = axum::serve(http_listener, app)
                    .with_graceful_shutdown(async move { stop.cancelled().await });
                if let Err(e) = http.await {
                    tracing::error!("HTTP server failed: {e}");
                }
            }
        }
        let _ = chargers.task.await;
        engine.shutdown().await;
    });
    Ok((bound, handle))
}
