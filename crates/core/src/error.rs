//! Errors of the engine's facade. Each carries a stable [`Error::code`] that front ends branch
//! on; the message is for people.

use chargeyard_ocpp::CallError;
use serde::Serialize;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum Error {
    #[error("station {0} is not connected")]
    StationOffline(String),
    #[error("no station {0}")]
    StationNotFound(String),
    #[error("station {0} did not answer within {1} s")]
    Timeout(String, u64),
    #[error("station {station} answered with an error: {code}: {description}")]
    CallError {
        station: String,
        code: String,
        description: String,
    },
    #[error("station {station} sent an answer that could not be read: {error}")]
    BadResponse { station: String, error: CallError },
    #[error("{0}")]
    Invalid(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0} already exists")]
    Conflict(String),
    /// What is asked for cannot be done in the present state (a connector in use, a session
    /// that has ended).
    #[error("{0}")]
    State(String),
    /// The charger answered, and refused (e.g. a configuration change): nothing changed.
    #[error("{0}")]
    ChargerRefused(String),
    /// What a station sent cannot be taken: it is answered with this CALLERROR.
    #[error("{0}")]
    Refused(CallError),
    #[error("too many commands waiting for station {0}")]
    Busy(String),
    #[error("storage: {0}")]
    Store(#[from] chargeyard_store::Error),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Internal(String),
    /// A login with a wrong name or password (which of the two is not said).
    #[error("wrong name or password")]
    LoginFailed,
    /// Too many failed logins for this name: wait this many seconds.
    #[error("too many failed logins: try again in {0} s")]
    TooManyAttempts(u64),
}

impl Error {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Error::StationOffline(_) => "station_offline",
            Error::StationNotFound(_) => "station_not_found",
            Error::Timeout(..) => "timeout",
            Error::CallError { .. } => "call_error",
            Error::BadResponse { .. } => "bad_response",
            Error::Invalid(_) => "invalid",
            Error::NotFound(_) => "not_found",
            Error::Conflict(_) | Error::State(_) => "conflict",
            Error::ChargerRefused(_) => "charger_refused",
            Error::Refused(_) => "invalid",
            Error::Busy(_) => "busy",
            Error::Store(e) if e.is_disk_full() => "disk_full",
            Error::Store(_) | Error::Io(_) | Error::Internal(_) => "internal",
            Error::LoginFailed => "login_failed",
            Error::TooManyAttempts(_) => "too_many_attempts",
        }
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            code: self.code(),
            message: self.to_string(),
        }
    }
}

/// What a front end receives.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct ErrorBody {
    pub code: &'static str,
    pub message: String,
}

pub type Result<T> = std::result::Result<T, Error>;

/// Map a store error, reporting a missing row as `err` (for `.map_err`).
pub(crate) fn or_missing(err: Error) -> impl FnOnce(chargeyard_store::Error) -> Error {
    move |e| match e {
        chargeyard_store::Error::NotFound => err,
        e => e.into(),
    }
}

/// Map a store error, reporting a duplicate as `err` (for `.map_err`).
pub(crate) fn or_duplicate(err: Error) -> impl FnOnce(chargeyard_store::Error) -> Error {
    move |e| match e {
        chargeyard_store::Error::Conflict(_) => err,
        e => e.into(),
    }
}

/// A range given as `from` and `to` (either may be open) is in order: else [`Error::Invalid`]
/// naming both ends and what the range is of.
pub(crate) fn check_order<T: PartialOrd + std::fmt::Display>(
    what: &str,
    from: Option<T>,
    to: Option<T>,
) -> Result<()> {
    match (from, to) {
        (Some(from), Some(to)) if from > to => Err(Error::Invalid(format!(
            "{what}: from {from} is after to {to}"
        ))),
        _ => Ok(()),
    }
}
