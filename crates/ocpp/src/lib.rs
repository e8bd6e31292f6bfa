//! Pure OCPP-J: framing, message types per protocol version, lenient decoding, error codes.
//! No I/O and no async: everything here is plain data and serde.
//!
//! Layout:
//! - [`frame`]   — CALL / CALLRESULT / CALLERROR framing and recovery of ids from bad frames,
//!   the same for every version
//! - [`error`]   — CALLERROR codes, spelled on the wire as each [`Version`] spells them
//! - [`decode`]  — lenient and strict decoding of payloads, the same for every version
//! - [`lenient`] — quirk collection and the lenient primitives (strings, numbers, timestamps, enums)
//! - [`v16`]     — OCPP 1.6J, hand-written
//! - [`v201`], [`v21`] — OCPP 2.0.1 and 2.1, their types generated from the official schemas by
//!   `chargeyard-codegen`

pub mod decode;
pub mod error;
pub mod frame;
pub mod lenient;
pub mod v16;
pub mod v201;
pub mod v21;

pub use decode::Decoded;
pub use error::{CallError, ErrorCode};
pub use frame::{CallParts, Frame, FrameError};
pub use lenient::{CiString, Quirk, QuirkKind, Timestamp};

use serde::Serialize;
use serde::de::DeserializeOwned;

/// An OCPP-J protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Version {
    V16,
    V201,
    V21,
}

impl Version {
    /// The WebSocket subprotocol that names it.
    pub fn subprotocol(self) -> &'static str {
        match self {
            Version::V16 => v16::SUBPROTOCOL,
            Version::V201 => v201::SUBPROTOCOL,
            Version::V21 => v21::SUBPROTOCOL,
        }
    }

    /// The version a subprotocol names (case-insensitive, as chargers vary).
    pub fn from_subprotocol(s: &str) -> Option<Version> {
        [Version::V16, Version::V201, Version::V21]
            .into_iter()
            .find(|v| v.subprotocol().eq_ignore_ascii_case(s.trim()))
    }

    /// "1.6", "2.0.1", "2.1".
    pub fn number(self) -> &'static str {
        match self {
            Version::V16 => "1.6",
            Version::V201 => "2.0.1",
            Version::V21 => "2.1",
        }
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.subprotocol())
    }
}

/// Who sends the CALL of an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// The charging station (1.6: charge point) sends it to the central system.
    FromStation,
    /// The central system sends it to the station: a command.
    ToStation,
    Both,
}

/// A request type, the action it is, and the response type that answers it.
pub trait Request: Serialize + DeserializeOwned + std::fmt::Debug + Clone + Send + 'static {
    const VERSION: Version;
    const ACTION: &'static str;
    type Response: Serialize + DeserializeOwned + std::fmt::Debug + Clone + Send + 'static;
}

/// Declares the decoded CALLs of one direction of one version: an enum with a variant per
/// action, decoded from the payload (parsed, or still as text) by action name. Used in a version
/// module that has an `Action` enum and an `unhandled(action) -> CallError` for names it does not
/// take in this direction.
#[macro_export]
macro_rules! call_enum {
    ($(#[$m:meta])* $name:ident { $($action:ident($req:ident)),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq)]
        pub enum $name { $($action($req),)+ }

        impl $name {
            /// Decode a CALL of this direction.
            pub fn decode(
                action: &str,
                payload: serde_json::Value,
            ) -> Result<$crate::Decoded<$name>, $crate::CallError> {
                Self::decode_payload(action, $crate::decode::Payload::Value(payload))
            }
            /// [`Self::decode`] from the payload's JSON text ([`$crate::decode::decode_text`]).
            pub fn decode_text(
                action: &str,
                payload: &str,
            ) -> Result<$crate::Decoded<$name>, $crate::CallError> {
                Self::decode_payload(action, $crate::decode::Payload::Text(payload))
            }
            fn decode_payload(
                action: &str,
                payload: $crate::decode::Payload<'_>,
            ) -> Result<$crate::Decoded<$name>, $crate::CallError> {
                match action {
                    $(stringify!($action) => payload.decode::<$req>().map(|d| $crate::Decoded {
                        value: $name::$action(d.value),
                        quirks: d.quirks,
                    }),)+
                    other => Err(unhandled(other)),
                }
            }
            pub fn action(&self) -> Action {
                match self { $($name::$action(_) => Action::$action,)+ }
            }
            /// The payload as it goes on the wire.
            pub fn payload(&self) -> serde_json::Value {
                let v = match self { $($name::$action(r) => serde_json::to_value(r),)+ };
                v.unwrap_or(serde_json::Value::Null)
            }
        }
    };
}
