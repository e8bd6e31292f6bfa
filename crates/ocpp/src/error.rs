//! OCPP-J CALLERROR codes and the mapping from decode failures to them.

use serde::{Deserialize, Serialize};

/// CALLERROR codes as OCPP 1.6 spells them (`FormationViolation`, `OccurenceConstraintViolation`).
/// 2.0.1 spells two of them differently; [`ErrorCode::wire`] takes the version into account when
/// that module lands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ErrorCode {
    /// Requested Action is not known by receiver.
    NotImplemented,
    /// Requested Action is recognized but not supported by the receiver.
    NotSupported,
    /// An internal error occurred and the receiver was not able to process the requested Action.
    InternalError,
    /// Payload for Action is incomplete.
    ProtocolError,
    /// During the processing of Action a security issue occurred.
    SecurityError,
    /// Payload for Action is syntactically incorrect or not conform the PDU structure for Action.
    FormationViolation,
    /// Payload is syntactically correct but at least one field contains an invalid value.
    PropertyConstraintViolation,
    /// Payload violates occurrence constraints (1.6 spelling: one "r").
    OccurenceConstraintViolation,
    /// Payload violates data type constraints.
    TypeConstraintViolation,
    /// Any other error not covered by the previous ones.
    GenericError,
}

impl ErrorCode {
    /// The 1.6 wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::NotImplemented => "NotImplemented",
            ErrorCode::NotSupported => "NotSupported",
            ErrorCode::InternalError => "InternalError",
            ErrorCode::ProtocolError => "ProtocolError",
            ErrorCode::SecurityError => "SecurityError",
            ErrorCode::FormationViolation => "FormationViolation",
            ErrorCode::PropertyConstraintViolation => "PropertyConstraintViolation",
            ErrorCode::OccurenceConstraintViolation => "OccurenceConstraintViolation",
            ErrorCode::TypeConstraintViolation => "TypeConstraintViolation",
            ErrorCode::GenericError => "GenericError",
        }
    }

    /// Read a code a peer sent, accepting the 2.0.1 spellings too; unknown codes are `GenericError`.
    pub fn parse(s: &str) -> ErrorCode {
        match s {
            "NotImplemented" => ErrorCode::NotImplemented,
            "NotSupported" => ErrorCode::NotSupported,
            "InternalError" => ErrorCode::InternalError,
            "ProtocolError" => ErrorCode::ProtocolError,
            "SecurityError" => ErrorCode::SecurityError,
            "FormationViolation" | "FormatViolation" => ErrorCode::FormationViolation,
            "PropertyConstraintViolation" => ErrorCode::PropertyConstraintViolation,
            "OccurenceConstraintViolation" | "OccurrenceConstraintViolation" => {
                ErrorCode::OccurenceConstraintViolation
            }
            "TypeConstraintViolation" => ErrorCode::TypeConstraintViolation,
            _ => ErrorCode::GenericError,
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failure to understand a CALL (or a reply), ready to be sent back as a CALLERROR.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {description}")]
pub struct CallError {
    pub code: ErrorCode,
    pub description: String,
}

impl CallError {
    pub fn new(code: ErrorCode, description: impl Into<String>) -> Self {
        let mut description = description.into();
        // errorDescription is a free string; keep it short enough for small chargers' buffers.
        if description.len() > 255 {
            let mut cut = 252;
            while !description.is_char_boundary(cut) {
                cut -= 1;
            }
            description.truncate(cut);
            description.push_str("...");
        }
        CallError { code, description }
    }
}

/// Map a payload decode error (serde, with its path) to the 1.6 CALLERROR code.
pub fn classify(path: &str, err: &serde_json::Error) -> CallError {
    let msg = err.to_string();
    let code = if msg.starts_with("missing field") {
        ErrorCode::OccurenceConstraintViolation
    } else if msg.starts_with("invalid type") {
        ErrorCode::TypeConstraintViolation
    } else if msg.starts_with("invalid length") {
        ErrorCode::OccurenceConstraintViolation
    } else if msg.starts_with(crate::lenient::PROPERTY_ERROR)
        || msg.starts_with("unknown variant")
        || msg.starts_with("invalid value")
    {
        ErrorCode::PropertyConstraintViolation
    } else {
        ErrorCode::FormationViolation
    };
    let msg = msg
        .strip_prefix(crate::lenient::PROPERTY_ERROR)
        .unwrap_or(&msg)
        .trim();
    let description = if path.is_empty() || path == "." {
        msg.to_string()
    } else {
        format!("{path}: {msg}")
    };
    CallError::new(code, description)
}
