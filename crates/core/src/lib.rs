//! The Chargeyard engine: an OCPP central system on SQLite that loses nothing, speaking OCPP
//! 1.6J and 2.0.1 through one version-neutral core.
//!
//! Every front end (the headless HTTP server, the Tauri shell, tests) calls [`Engine`]; none holds
//! business logic of its own. Nothing here imports tauri.
//!
//! Layout:
//! - [`engine`]  — the facade: state, settings, what it runs with, history handed over
//! - [`server`]  — accept loop, timed handshake, choice of version, station id, Basic auth
//! - `session`   — one station's connection loop: frames in, commands out (one outstanding CALL
//!   with a timeout, the rest queued), pings, replacement on reconnect
//! - `protocol`  — one adapter per OCPP version (`protocol::v16`, `protocol::v201`): a station's
//!   messages as the engine's operations, intent-level commands as the version's messages
//! - `charger`   — the version-neutral operations: boot, status, token, transaction, samples, …
//! - [`stations`] — stations as the operator manages them; [`tags`] — tags and tokens;
//!   [`transactions`] — sessions over their life; `running` — running transactions in memory
//! - `commands`  — sending commands, the command log
//! - [`config`]  — settings and their defaults; injectable clock and message ids
//! - [`auth`]    — station passwords, and what each station must present at the handshake
//! - [`operators`] — console accounts, roles, logins with backoff
//! - [`security`] — stations' security profiles; [`tls`] — `wss://`: the depot's CA, the server
//!   certificate and its renewal, client certificates
//! - [`meter`]   — normalising sampled values of any version
//! - [`events`]  — live events for front ends
//! - [`billing`] — tariffs and pricing; [`export`] — invoice and meter-value CSV files;
//!   [`charts`] — SVG charts aggregated in SQL
//! - [`toolkit`] — the technician's message inspector, composer templates, configuration,
//!   snapshots and diffs, local list, health summary
//! - [`transfer`] — diagnostics uploads and firmware downloads over per-job HTTP endpoints
//! - [`load`]    — load management: the site's limit shared among the chargers, a failsafe on
//!   each
//! - [`backups`] — scheduled and on-demand backups to the operator's folder; restores
//! - [`error`]   — facade errors with stable codes

pub mod auth;
pub mod backups;
pub mod billing;
mod charger;
pub mod charts;
mod commands;
pub mod config;
mod deflate;
pub mod engine;
pub mod error;
pub mod events;
pub mod export;
pub mod gate;
pub mod load;
pub mod meter;
pub mod operators;
pub mod protocol;
mod running;
pub mod security;
pub mod server;
mod session;
pub mod stations;
pub mod tags;
pub mod tls;
pub mod toolkit;
pub mod transactions;
pub mod transfer;

pub use chargeyard_ocpp as ocpp;
pub use chargeyard_store as store;
pub use config::{EngineConfig, Settings, UnknownStations};
pub use engine::{Engine, EngineInfo, History};
pub use error::{Error, ErrorBody, Result};
pub use events::Event;
pub use stations::{
    DemoRemoval, NewStation, ProtocolsRequest, StationDetail, StationView, check_station_id,
};
pub use tags::{ImportPreview, ImportReport};
pub use transactions::TransactionDetail;
