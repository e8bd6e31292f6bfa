//! OCPP-J framing: `[2, id, action, payload]`, `[3, id, payload]`, `[4, id, code, description,
//! details]`.
//!
//! [`Frame::parse`] never panics on bad input. When the frame cannot be read it returns a
//! [`FrameError`] carrying the message id whenever one can be recovered, so the caller can still
//! answer with a CALLERROR and keep the connection.

use serde_json::Value;

use crate::Version;
use crate::error::{CallError, ErrorCode};

/// Longest message id the spec allows.
pub const MAX_MESSAGE_ID_LEN: usize = 36;

/// One OCPP-J message.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    Call {
        id: String,
        action: String,
        payload: Value,
    },
    CallResult {
        id: String,
        payload: Value,
    },
    CallError {
        id: String,
        code: String,
        description: String,
        details: Value,
    },
}

/// A frame that could not be read: the id (when recoverable) and the CALLERROR to answer with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error}")]
pub struct FrameError {
    /// The message id, if it could be recovered; without it no CALLERROR can be addressed.
    pub id: Option<String>,
    /// The message type id, if it could be read. A bad CALLRESULT or CALLERROR (3, 4) must not
    /// be answered; anything else with an id gets a CALLERROR.
    pub message_type: Option<u64>,
    pub error: CallError,
}

/// The message id of a CALLERROR about a frame whose own id could not be read.
pub const UNKNOWN_ID: &str = "-1";

impl FrameError {
    /// The id to address the CALLERROR for this frame to, if it gets one: a broken CALLRESULT or
    /// CALLERROR is never answered; anything else is, with `-1` when its id could not be read.
    pub fn answerable(&self) -> Option<&str> {
        match self.message_type {
            Some(3 | 4) => None,
            _ => Some(self.id.as_deref().unwrap_or(UNKNOWN_ID)),
        }
    }
}

impl Frame {
    pub fn id(&self) -> &str {
        match self {
            Frame::Call { id, .. } | Frame::CallResult { id, .. } | Frame::CallError { id, .. } => {
                id
            }
        }
    }

    /// 2 (CALL), 3 (CALLRESULT) or 4 (CALLERROR).
    pub fn message_type(&self) -> u8 {
        match self {
            Frame::Call { .. } => 2,
            Frame::CallResult { .. } => 3,
            Frame::CallError { .. } => 4,
        }
    }

    pub fn call(id: impl Into<String>, action: impl Into<String>, payload: Value) -> Frame {
        Frame::Call {
            id: id.into(),
            action: action.into(),
            payload,
        }
    }

    pub fn result(id: impl Into<String>, payload: Value) -> Frame {
        Frame::CallResult {
            id: id.into(),
            payload,
        }
    }

    /// A CALLERROR, its code spelled as `version` spells it.
    pub fn error(id: impl Into<String>, err: &CallError, version: Version) -> Frame {
        Frame::CallError {
            id: id.into(),
            code: err.code.wire(version).to_string(),
            description: err.description.clone(),
            details: Value::Object(Default::default()),
        }
    }

    /// The wire text.
    pub fn to_text(&self) -> String {
        // Written from references: building a `json!` array first copied the whole payload.
        let text = match self {
            Frame::Call {
                id,
                action,
                payload,
            } => serde_json::to_string(&(2, id, action, payload)),
            Frame::CallResult { id, payload } => serde_json::to_string(&(3, id, payload)),
            Frame::CallError {
                id,
                code,
                description,
                details,
            } => serde_json::to_string(&(4, id, code, description, details)),
        };
        // Strings and `Value`s always serialise.
        text.expect("a frame serialises")
    }

    /// Read one frame as a charger sends it.
    pub fn parse(text: &str) -> Result<Frame, FrameError> {
        let value: Value = match serde_json::from_str(text) {
            Ok(v) => v,
            Err(e) => {
                let (id, message_type) = recover_id(text);
                return Err(FrameError {
                    id,
                    message_type,
                    error: CallError::new(
                        ErrorCode::FormationViolation,
                        format!("message is not valid JSON: {e}"),
                    ),
                });
            }
        };
        let Value::Array(items) = value else {
            return Err(FrameError {
                id: None,
                message_type: None,
                error: CallError::new(ErrorCode::RpcFrameworkError, "message is not a JSON array"),
            });
        };
        let type_id = items.first().and_then(Value::as_u64);
        // A message id is a string. A number is not answered as if it were one (the answer would
        // carry an id the sender never sent): it gets a CALLERROR addressed to `-1`.
        let id = match items.get(1) {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            _ => None,
        };
        let fail = |code, msg: String| FrameError {
            id: id.clone(),
            message_type: type_id,
            error: CallError::new(code, msg),
        };
        let Some(type_id) = type_id else {
            return Err(fail(
                ErrorCode::RpcFrameworkError,
                "first element must be the message type id 2, 3 or 4".into(),
            ));
        };
        let Some(msg_id) = id.clone() else {
            return Err(fail(
                ErrorCode::RpcFrameworkError,
                "second element must be a non-empty message id string".into(),
            ));
        };
        if msg_id.len() > MAX_MESSAGE_ID_LEN {
            return Err(fail(
                ErrorCode::RpcFrameworkError,
                format!("message id is longer than {MAX_MESSAGE_ID_LEN} characters"),
            ));
        }
        match type_id {
            2 => {
                if items.len() < 4 {
                    return Err(fail(
                        ErrorCode::ProtocolError,
                        "CALL needs 4 elements: [2, id, action, payload]".into(),
                    ));
                }
                let Some(action) = items[2].as_str().filter(|a| !a.is_empty()) else {
                    return Err(fail(
                        ErrorCode::RpcFrameworkError,
                        "third element must be the action name".into(),
                    ));
                };
                if !items[3].is_object() {
                    return Err(fail(
                        ErrorCode::FormationViolation,
                        "payload must be a JSON object".into(),
                    ));
                }
                let action = action.to_string();
                let mut items = items;
                Ok(Frame::Call {
                    id: msg_id,
                    action,
                    payload: items.swap_remove(3),
                })
            }
            3 => {
                if items.len() < 3 {
                    return Err(fail(
                        ErrorCode::ProtocolError,
                        "CALLRESULT needs 3 elements".into(),
                    ));
                }
                let mut items = items;
                Ok(Frame::CallResult {
                    id: msg_id,
                    payload: items.swap_remove(2),
                })
            }
            4 => {
                if items.len() < 4 {
                    return Err(fail(
                        ErrorCode::ProtocolError,
                        "CALLERROR needs 5 elements".into(),
                    ));
                }
                Ok(Frame::CallError {
                    id: msg_id,
                    code: items[2].as_str().unwrap_or("GenericError").to_string(),
                    description: items[3].as_str().unwrap_or_default().to_string(),
                    details: items.get(4).cloned().unwrap_or(Value::Null),
                })
            }
            other => Err(fail(
                ErrorCode::MessageTypeNotSupported,
                format!("unknown message type id {other}"),
            )),
        }
    }
}

/// A CALL's parts as they stand in its text, its payload not parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallParts<'a> {
    pub id: &'a str,
    pub action: &'a str,
    /// The payload's JSON text, from `{` to `}`; not yet checked to be one valid JSON object
    /// ([`crate::v16::decode_text`] checks that; when it fails, [`Frame::parse`] gives the answer).
    pub payload: &'a str,
}

impl<'a> CallParts<'a> {
    /// The parts of a plain CALL, `[2, "<id>", "<action>", {…}]`, found without parsing the
    /// payload: for the engine's hot path, which decodes the payload from its text. `None` for
    /// anything else (an id or action with escapes, a numeric id, extra elements, any other
    /// message type): [`Frame::parse`] reads those, and answers what is wrong with them.
    pub fn find(text: &'a str) -> Option<CallParts<'a>> {
        let rest = skip_ws(skip_ws(text).strip_prefix('[')?);
        let rest = skip_ws(rest.strip_prefix('2')?).strip_prefix(',')?;
        let (id, rest) = plain_string(rest)?;
        let (action, rest) = plain_string(skip_ws(rest).strip_prefix(',')?)?;
        let payload = skip_ws(skip_ws(rest).strip_prefix(',')?);
        let payload = payload.trim_end_matches(JSON_WS).strip_suffix(']')?;
        let payload = payload.trim_end_matches(JSON_WS);
        let ok =
            id.len() <= MAX_MESSAGE_ID_LEN && payload.starts_with('{') && payload.ends_with('}');
        ok.then_some(CallParts {
            id,
            action,
            payload,
        })
    }
}

/// What JSON counts as whitespace.
const JSON_WS: [char; 4] = [' ', '\t', '\n', '\r'];

fn skip_ws(text: &str) -> &str {
    text.trim_start_matches(JSON_WS)
}

/// A non-empty JSON string with neither escapes nor control characters at the start of `text`
/// (after whitespace), and what follows it.
fn plain_string(text: &str) -> Option<(&str, &str)> {
    let rest = skip_ws(text).strip_prefix('"')?;
    let end = rest.find('"')?;
    let s = &rest[..end];
    let plain = end > 0 && !s.contains(|c: char| c == '\\' || c.is_control());
    plain.then(|| (s, &rest[end + 1..]))
}

/// Best effort: find `[<type>, "<id>"` at the start of a frame that is not valid JSON.
fn recover_id(text: &str) -> (Option<String>, Option<u64>) {
    let rest = text.trim_start();
    let Some(rest) = rest.strip_prefix('[') else {
        return (None, None);
    };
    let rest = rest.trim_start();
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let message_type = digits.parse::<u64>().ok();
    let rest = rest[digits.len()..].trim_start();
    let Some(rest) = rest.strip_prefix(',') else {
        return (None, message_type);
    };
    let rest = rest.trim_start();
    let Some(rest) = rest.strip_prefix('"') else {
        return (None, message_type);
    };
    match rest.find('"') {
        Some(end) if end > 0 && end <= MAX_MESSAGE_ID_LEN && !rest[..end].contains('\\') => {
            (Some(rest[..end].to_string()), message_type)
        }
        _ => (None, message_type),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> FrameError {
        Frame::parse(text).expect_err("should be rejected")
    }

    #[test]
    fn bad_frames_map_to_error_codes_and_keep_ids() {
        let e = err(r#"[2,"abc","Heartbeat",{"#);
        assert_eq!(
            (e.id.as_deref(), e.error.code),
            (Some("abc"), ErrorCode::FormationViolation)
        );
        let e = err(r#"{"not":"array"}"#);
        assert_eq!(
            (e.answerable(), e.error.code),
            (Some("-1"), ErrorCode::RpcFrameworkError),
            "valid JSON but not a frame: answered, to -1"
        );
        let e = err(r#"[2,17,"Heartbeat",{}]"#);
        assert_eq!(
            (e.answerable(), e.error.code),
            (Some("-1"), ErrorCode::RpcFrameworkError),
            "a numeric message id is not taken as a string it never was"
        );
        let e = err(r#"[3,17,{}]"#);
        assert_eq!(e.answerable(), None, "a broken answer is never answered");
        let e = err(r#"[7,"x1",{}]"#);
        assert_eq!(
            (e.id.as_deref(), e.error.code),
            (Some("x1"), ErrorCode::MessageTypeNotSupported)
        );
        for (code, v16, v201, v21) in [
            (
                ErrorCode::FormationViolation,
                "FormationViolation",
                "FormatViolation",
                "FormatViolation",
            ),
            (
                ErrorCode::OccurenceConstraintViolation,
                "OccurenceConstraintViolation",
                "OccurenceConstraintViolation",
                "OccurrenceConstraintViolation",
            ),
            (
                ErrorCode::MessageTypeNotSupported,
                "FormationViolation",
                "MessageTypeNotSupported",
                "MessageTypeNotSupported",
            ),
            (
                ErrorCode::RpcFrameworkError,
                "FormationViolation",
                "RpcFrameworkError",
                "RpcFrameworkError",
            ),
        ] {
            assert_eq!(
                [Version::V16, Version::V201, Version::V21].map(|v| code.wire(v)),
                [v16, v201, v21],
                "{code:?}"
            );
        }
        let e = err(r#"[2,"x2","Heartbeat"]"#);
        assert_eq!(
            (e.id.as_deref(), e.error.code),
            (Some("x2"), ErrorCode::ProtocolError)
        );
        let e = err(r#"[2,"x3","Heartbeat",[]]"#);
        assert_eq!(
            (e.id.as_deref(), e.error.code),
            (Some("x3"), ErrorCode::FormationViolation)
        );
        let e = err(&format!(r#"[2,"{}","Heartbeat",{{}}]"#, "a".repeat(37)));
        assert_eq!(e.error.code, ErrorCode::RpcFrameworkError);
    }

    #[test]
    fn call_parts_are_found_in_plain_calls_only() {
        let parts = |t| CallParts::find(t).map(|p| (p.id, p.action, p.payload));
        assert_eq!(
            parts(r#"[2,"a1","Heartbeat",{}]"#),
            Some(("a1", "Heartbeat", "{}"))
        );
        assert_eq!(
            parts(" [ 2 ,\r\n\"a2\" ,\t\"MeterValues\" , {\"x\": [1]} ] "),
            Some(("a2", "MeterValues", r#"{"x": [1]}"#))
        );
        // Left to `Frame::parse`: escapes, control characters, numbers as ids, an empty or
        // over-long id, an empty action, other message types, a payload that is no object, and
        // anything that does not end the array.
        for text in [
            r#"[2,"a\"3","Heartbeat",{}]"#,
            "[2,\"a\t4\",\"Heartbeat\",{}]",
            r#"[2,5,"Heartbeat",{}]"#,
            r#"[2,"","Heartbeat",{}]"#,
            &format!(r#"[2,"{}","Heartbeat",{{}}]"#, "a".repeat(37)),
            r#"[2,"a6","",{}]"#,
            r#"[3,"a7",{}]"#,
            r#"[20,"a8","Heartbeat",{}]"#,
            r#"[2,"a9","Heartbeat",[]]"#,
            r#"[2,"a10","Heartbeat",{},"extra"]"#,
            r#"[2,"a11","Heartbeat",{}"#,
            r#"{"not":"array"}"#,
        ] {
            assert_eq!(parts(text), None, "{text}");
        }
    }

    #[test]
    fn frames_round_trip() {
        let f = Frame::call("1", "Heartbeat", serde_json::json!({}));
        assert_eq!(f.to_text(), r#"[2,"1","Heartbeat",{}]"#);
        assert_eq!(Frame::parse(&f.to_text()), Ok(f));
        let e = Frame::error(
            "9",
            &CallError::new(ErrorCode::NotImplemented, "nope"),
            Version::V16,
        );
        assert_eq!(e.to_text(), r#"[4,"9","NotImplemented","nope",{}]"#);
        let payload = serde_json::json!({"idTagInfo": {"status": "Accepted"}, "n": [1.5, null]});
        let r = Frame::result("a\"b", payload);
        assert_eq!(
            r.to_text(),
            r#"[3,"a\"b",{"idTagInfo":{"status":"Accepted"},"n":[1.5,null]}]"#
        );
        assert_eq!(Frame::parse(&r.to_text()), Ok(r));
    }
}
