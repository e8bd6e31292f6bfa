//! Pure OCPP-J: framing, message types per protocol version, lenient decoding, error codes.
//! No I/O and no async: everything here is plain data and serde.
//!
//! Layout:
//! - [`frame`]   — CALL / CALLRESULT / CALLERROR framing and recovery of ids from bad frames
//! - [`error`]   — CALLERROR codes and the mapping from decode failures to them
//! - [`lenient`] — quirk collection and the lenient primitives (strings, numbers, timestamps, enums)
//! - [`v16`]     — OCPP 1.6J actions and messages (2.0.1 and 2.1 slot in beside it as `v201`, `v21`)

pub mod error;
pub mod frame;
pub mod lenient;
pub mod v16;

pub use error::{CallError, ErrorCode};
pub use frame::{CallParts, Frame, FrameError};
pub use lenient::{CiString, Quirk, QuirkKind, Timestamp};
