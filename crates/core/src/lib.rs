//! The Chargeyard engine: an OCPP 1.6J central system on SQLite that loses nothing.
//!
//! Every front end (the headless HTTP server, the Tauri shell, tests) calls [`Engine`]; none holds
//! business logic of its own. Nothing here imports tauri.
//!
//! Layout:
//! - [`engine`]  — the facade, and the handlers of charger-initiated messages
//! - [`server`]  — accept loop, timed handshake, subprotocol negotiation, station id, Basic auth
//! - `session`   — one station's connection loop: frames in, commands out (one outstanding CALL
//!   with a timeout, the rest queued), pings, replacement on reconnect
//! - [`config`]  — settings and their defaults; injectable clock and message ids
//! - [`auth`]    — station passwords
//! - [`meter`]   — normalising sampled values
//! - [`events`]  — live events for front ends
//! - [`billing`] — tariffs and pricing; [`export`] — invoice and meter-value CSV files;
//!   [`charts`] — SVG charts aggregated in SQL
//! - [`toolkit`] — the technician's message inspector, composer templates, configuration,
//!   snapshots and diffs, local list, health summary
//! - [`transactions`] — sessions over their life: remote start and stop checked first, one
//!   running session per connector, sessions started with a refused tag, closing a forgotten one
//! - [`transfer`] — diagnostics uploads and firmware downloads over per-job HTTP endpoints
//! - [`error`]   — facade errors with stable codes

pub mod auth;
pub mod billing;
pub mod charts;
pub mod config;
pub mod engine;
pub mod error;
pub mod events;
pub mod export;
pub mod meter;
pub mod server;
mod session;
pub mod toolkit;
pub mod transactions;
pub mod transfer;

pub use chargeyard_ocpp as ocpp;
pub use chargeyard_store as store;
pub use config::{EngineConfig, Settings, UnknownStations};
pub use engine::{
    DemoRemoval, Engine, EngineInfo, History, ImportReport, NewStation, StationDetail, StationView,
    TransactionDetail,
};
pub use error::{Error, ErrorBody, Result};
pub use events::Event;
