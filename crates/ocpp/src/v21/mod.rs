//! OCPP 2.1: the message types, every enum and the decoded CALLs of each direction, generated
//! from the official OCA schemas (`generated.rs`, by `chargeyard-codegen`), and what is written by
//! hand around them.
//!
//! Layout:
//! - `generated` — every message of both directions and their data types; [`Action`], the
//!   [`crate::Request`] pairing, [`StationCall`] and [`CsmsCall`]
//! - this file  — the subprotocol and the answer to actions not taken in a direction
//!
//! 2.1 is not negotiated yet: its types exist and are checked against its schemas, so the 2.0.1
//! adapter can serve it with per-station capability flags when it is.

mod generated;

pub use generated::*;

use crate::error::{CallError, ErrorCode};

/// The WebSocket subprotocol name.
pub const SUBPROTOCOL: &str = "ocpp2.1";

/// Which CALLERROR an action name gets when it cannot be handled in this direction:
/// `NotImplemented` for names 2.1 does not know, `NotSupported` for ones it does.
fn unhandled(action: &str) -> CallError {
    if Action::parse(action).is_some() {
        CallError::new(
            ErrorCode::NotSupported,
            format!("{action} is not supported in this direction"),
        )
    } else {
        CallError::new(
            ErrorCode::NotImplemented,
            format!("unknown action {action:?}"),
        )
    }
}
