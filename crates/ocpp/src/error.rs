//! OCPP-J CALLERROR codes and the mapping from decode failures to them.

use serde::{Deserialize, Serialize};

use crate::Version;

/// CALLERROR codes, by what they mean. Each version spells some of them its own way on the wire
/// ([`ErrorCode::wire`]): 1.6 `FormationViolation`, 2.0.1 and 2.1 `FormatViolation`; 1.6 and
/// 2.0.1 `OccurenceConstraintViolation`, 2.1 `OccurrenceConstraintViolation`; 1.6 has no
/// `MessageTypeNotSupported` or `RpcFrameworkError` and says `FormationViolation` for both.
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
    /// A message type id the receiver does not know (2.0.1).
    MessageTypeNotSupported,
    /// Not a valid RPC frame: not an array, no readable message id (2.0.1).
    RpcFrameworkError,
}

impl ErrorCode {
    /// The wire spelling of `version`.
    pub fn wire(self, version: Version) -> &'static str {
        match (self, version) {
            (ErrorCode::FormationViolation, Version::V201 | Version::V21) => "FormatViolation",
            (ErrorCode::OccurenceConstraintViolation, Version::V21) => {
                "OccurrenceConstraintViolation"
            }
            (ErrorCode::MessageTypeNotSupported | ErrorCode::RpcFrameworkError, Version::V16) => {
                "FormationViolation"
            }
            (code, _) => code.as_str(),
        }
    }

    /// The name of the code (the 1.6 spelling of the codes 1.6 has).
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
            ErrorCode::MessageTypeNotSupported => "MessageTypeNotSupported",
            ErrorCode::RpcFrameworkError => "RpcFrameworkError",
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
            "MessageTypeNotSupported" => ErrorCode::MessageTypeNotSupported,
            "RpcFrameworkError" => ErrorCode::RpcFrameworkError,
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

/// Map a payload decode error (serde, with its path) to its CALLERROR code.
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
