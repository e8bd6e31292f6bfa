//! Chargeyard desktop console: a thin Tauri shell over `chargeyard_core::Engine`.
//!
//! It opens the engine on the app's data dir, runs the OCPP server for chargers on the LAN, and
//! exposes the facade to the window as commands plus one live event channel. No business logic
//! lives here: every command is a call into the engine.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use std::net::SocketAddr;

use anyhow::Context;
use chargeyard_core::{Engine, EngineConfig, config};
use tauri::ipc::Channel;
use tauri::menu::{Menu, MenuItem};
use tauri::tray::{MouseButton, MouseButtonState, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Manager, State, WindowEvent};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

struct Shell {
    engine: Engine,
    /// The same HTTP API the headless server serves, called in-process: the window and a browser
    /// reach the engine through one surface.
    api: axum::Router,
}

/// An API answer: HTTP status and body (JSON when the route answers JSON, else text).
#[derive(serde::Serialize)]
struct ApiAnswer {
    status: u16,
    body: serde_json::Value,
}

/// One request to the engine's HTTP API (`/api/...`), without a socket.
#[tauri::command]
async fn api(
    app: AppHandle,
    shell: State<'_, Shell>,
    method: String,
    path: String,
    body: Option<String>,
    content_type: Option<String>,
) -> Result<ApiAnswer, String> {
    if !path.starts_with("/api/") {
        return Err(format!("{path} is not an API path"));
    }
    if path == AUTOSTART_PATH {
        return Ok(autostart(&app, &method, body.as_deref()));
    }
    let request = axum::http::Request::builder()
        .method(method.as_str())
        .uri(&path)
        .header(
            "content-type",
            content_type.as_deref().unwrap_or("application/json"),
        )
        .body(axum::body::Body::from(body.unwrap_or_default()))
        .map_err(|e| e.to_string())?;
    let response = shell
        .api
        .clone()
        .oneshot(request)
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), 256 * 1024 * 1024)
        .await
        .map_err(|e| e.to_string())?;
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(&bytes).into()));
    Ok(ApiAnswer { status, body })
}

/// What only the desktop app has, answered by the shell: whether it starts at login.
const AUTOSTART_PATH: &str = "/api/desktop/autostart";
/// The argument a start at login passes: the window stays hidden, the tray icon shows.
const MINIMIZED: &str = "--minimized";

/// `GET` whether Chargeyard starts at login (minimised to the tray); `PUT {"enabled": bool}`
/// to change it (an XDG autostart entry, by tauri-plugin-autostart).
fn autostart(app: &AppHandle, method: &str, body: Option<&str>) -> ApiAnswer {
    use tauri_plugin_autostart::ManagerExt;
    let launcher = app.autolaunch();
    let answer = |status: u16, body: serde_json::Value| ApiAnswer { status, body };
    if method == "PUT" {
        let wanted = body
            .and_then(|b| serde_json::from_str::<serde_json::Value>(b).ok())
            .and_then(|v| v["enabled"].as_bool());
        let done = match wanted {
            Some(true) => launcher.enable(),
            Some(false) => launcher.disable(),
            None => {
                return answer(
                    400,
                    serde_json::json!({"code": "invalid", "message": "send {\"enabled\": true|false}"}),
                );
            }
        };
        if let Err(e) = done {
            return answer(
                500,
                serde_json::json!({"code": "internal", "message": format!("start at login: {e}")}),
            );
        }
    }
    answer(
        200,
        serde_json::json!({"enabled": launcher.is_enabled().unwrap_or(false)}),
    )
}

/// Stream live events to the window until it goes away. When the window falls behind, it is told
/// how many events it missed (as the headless server's live socket does) and reloads.
#[tauri::command]
fn subscribe(shell: State<'_, Shell>, on_event: Channel<serde_json::Value>) {
    let mut rx = shell.engine.subscribe();
    tauri::async_runtime::spawn(async move {
        loop {
            let message = match rx.recv().await {
                Ok(ev) => serde_json::to_value(ev).unwrap_or_default(),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    serde_json::json!({"type": "lagged", "missed": n})
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            };
            if on_event.send(message).is_err() {
                break;
            }
        }
    });
}

/// Bring the console window back (from the tray, or when the app is started a second time).
fn show_window(app: &AppHandle) {
    if let Some(w) = app.get_webview_window("main") {
        let _ = w.unminimize();
        let _ = w.show();
        let _ = w.set_focus();
    }
}

/// The tray icon: the central system keeps running while the window is closed.
fn tray(app: &tauri::App) -> tauri::Result<()> {
    let open = MenuItem::with_id(app, "open", "Open Chargeyard", true, None::<&str>)?;
    let quit = MenuItem::with_id(
        app,
        "quit",
        "Quit (chargers lose their central system)",
        true,
        None::<&str>,
    )?;
    let menu = Menu::with_items(app, &[&open, &quit])?;
    let mut builder = TrayIconBuilder::with_id("main")
        .tooltip("Chargeyard: central system running")
        .menu(&menu)
        .on_menu_event(|app, event| match event.id().as_ref() {
            "open" => show_window(app),
            "quit" => app.exit(0),
            _ => {}
        })
        .on_tray_icon_event(|tray, event| {
            if let TrayIconEvent::Click {
                button: MouseButton::Left,
                button_state: MouseButtonState::Up,
                ..
            } = event
            {
                show_window(tray.app_handle());
            }
        });
    if let Some(icon) = app.default_window_icon() {
        builder = builder.icon(icon.clone());
    }
    builder.build(app)?;
    Ok(())
}

/// Where the database and the logs live: CHARGEYARD_DATA_DIR, else the OS's app data dir.
fn data_dir(app: &tauri::App) -> anyhow::Result<std::path::PathBuf> {
    match std::env::var_os("CHARGEYARD_DATA_DIR") {
        Some(d) => Ok(d.into()),
        None => app.path().app_data_dir().context("no app data dir"),
    }
}

/// Log to standard error and to a file a day in `<data>/logs/` (the last 14 kept), so a
/// technician finds what happened while nobody watched.
fn start_logging(dir: &std::path::Path) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    use tracing_subscriber::prelude::*;
    let filter =
        || tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let stderr = tracing_subscriber::fmt::layer().with_filter(filter());
    // Made first: the appender prunes old files before it creates the folder, and says so.
    let _ = std::fs::create_dir_all(dir.join("logs"));
    let file = tracing_appender::rolling::Builder::new()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix("chargeyard")
        .filename_suffix("log")
        .max_log_files(14)
        .build(dir.join("logs"));
    match file {
        Ok(appender) => {
            let (writer, guard) = tracing_appender::non_blocking(appender);
            let file = tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(writer)
                .with_filter(filter());
            tracing_subscriber::registry()
                .with(stderr)
                .with(file)
                .init();
            Some(guard)
        }
        Err(e) => {
            tracing_subscriber::registry().with(stderr).init();
            tracing::warn!("no log file in {}: {e}", dir.display());
            None
        }
    }
}

fn start_engine(app: &tauri::App, data_dir: &std::path::Path) -> anyhow::Result<Shell> {
    let db = data_dir.join("chargeyard.db");
    tauri::async_runtime::block_on(async move {
        let engine = Engine::open(EngineConfig::default(), &db)
            .await
            .with_context(|| format!("opening {}", db.display()))?;
        let settings = engine.settings();
        let address =
            |var: &str, saved: &Option<String>, default: &str| -> anyhow::Result<SocketAddr> {
                match std::env::var(var) {
                    Ok(v) => v.parse().with_context(|| var.to_string()),
                    Err(_) => saved
                        .as_deref()
                        .unwrap_or(default)
                        .parse()
                        .context("a saved listen address"),
                }
            };
        let listen = address(
            "CHARGEYARD_OCPP_LISTEN",
            &settings.ocpp_listen,
            config::DEFAULT_OCPP_LISTEN,
        )?;
        let listen_tls = address(
            "CHARGEYARD_OCPP_TLS_LISTEN",
            &settings.ocpp_tls_listen,
            config::DEFAULT_OCPP_TLS_LISTEN,
        )?;
        let shutdown = CancellationToken::new();
        let chargers = chargeyard_core::server::listen(&engine, listen, listen_tls, &shutdown)
            .await
            .with_context(|| format!("binding {listen}"))?;
        let ocpp = chargers.ocpp;
        // CHARGEYARD_DEMO=N starts a simulated demo fleet (scripts/run sets it; 0 or unset: none).
        let demo: usize = std::env::var("CHARGEYARD_DEMO")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        if demo > 0 && settings.demo {
            chargeyard_server::demo::start(
                &engine,
                ocpp,
                demo.min(100),
                10.0,
                chargeyard_server::demo::HISTORY_DAYS,
                &shutdown,
            )
            .await
            .context("starting the demo fleet")?;
        }
        tracing::info!("chargers connect to ws://{ocpp}/ocpp/<stationId>");
        // A restored backup is applied as the database opens: start again (chargers reconnect).
        let restart = engine.restart_requested();
        let (stopping, handle) = (engine.clone(), app.handle().clone());
        tauri::async_runtime::spawn(async move {
            restart.cancelled().await;
            tracing::warn!("restoring a backup: restarting");
            shutdown.cancel();
            stopping.shutdown().await;
            handle.restart();
        });
        let api = chargeyard_server::api::router(engine.clone());
        Ok(Shell { engine, api })
    })
}

fn main() {
    let result = tauri::Builder::default()
        // A second start shows the running console instead of a second central system.
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            show_window(app)
        }))
        .plugin(tauri_plugin_window_state::Builder::default().build())
        .plugin(tauri_plugin_autostart::init(
            tauri_plugin_autostart::MacosLauncher::LaunchAgent,
            Some(vec![MINIMIZED]),
        ))
        .setup(|app| {
            let dir = data_dir(app)?;
            if let Some(guard) = start_logging(&dir) {
                app.manage(guard);
            }
            let shell = start_engine(app, &dir)?;
            app.manage(shell);
            tray(app)?;
            // Started at login: the central system runs, the window waits in the tray.
            if std::env::args().any(|a| a == MINIMIZED)
                && let Some(w) = app.get_webview_window("main")
            {
                let _ = w.hide();
            }
            Ok(())
        })
        .on_window_event(|window, event| {
            // Closing the window hides it: chargers keep their central system (quit from the tray).
            if let WindowEvent::CloseRequested { api, .. } = event
                && std::env::var_os("CHARGEYARD_EXIT_ON_CLOSE").is_none()
            {
                api.prevent_close();
                let _ = window.hide();
            }
        })
        .invoke_handler(tauri::generate_handler![api, subscribe])
        .run(tauri::generate_context!());
    if let Err(e) = result {
        eprintln!("Chargeyard could not start: {e}");
        std::process::exit(1);
    }
}
