//! Decoding payloads, the same for every protocol version: leniently (accept what can be
//! understood, note each deviation as a [`Quirk`]) or strictly (what we are about to send), with
//! what cannot be understood mapped to its CALLERROR code.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::error::{CallError, ErrorCode, classify};
use crate::lenient::{self, Quirk, QuirkKind};

/// A decoded payload and the quirks met while decoding it.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded<T> {
    pub value: T,
    pub quirks: Vec<Quirk>,
}

/// Decode a payload leniently: accept what can be understood, note quirks, and map what cannot be
/// understood to its CALLERROR code.
pub fn decode<T: DeserializeOwned>(payload: Value) -> Result<Decoded<T>, CallError> {
    decode_from(&payload).map_err(|e| described::<T, _>(&payload, e))
}

/// [`decode`] straight from the payload's JSON text, without building a [`Value`] first (the
/// engine's path for a plain CALL: [`crate::CallParts::find`]). Accepts and notes exactly what
/// [`decode`] does; text after the payload is an error.
pub fn decode_text<T: DeserializeOwned>(payload: &str) -> Result<Decoded<T>, CallError> {
    let mut de = serde_json::Deserializer::from_str(payload);
    decode_from(&mut de)
        .map_err(|e| described::<T, _>(&mut serde_json::Deserializer::from_str(payload), e))
        .and_then(|decoded| {
            de.end().map_err(|e| classify("", &e))?;
            Ok(decoded)
        })
}

/// A CALL's payload, parsed or still as text.
pub(crate) enum Payload<'a> {
    Value(Value),
    Text(&'a str),
}

impl Payload<'_> {
    pub(crate) fn decode<T: DeserializeOwned>(self) -> Result<Decoded<T>, CallError> {
        match self {
            Payload::Value(v) => decode(v),
            Payload::Text(t) => decode_text(t),
        }
    }
}

/// Decode with the unknown fields noted. A payload that fails is decoded again by the caller
/// through [`described`]: tracking the path costs a copy of every key, which on a payload that
/// decodes (nearly all of them) was half the decoding time (docs/PERFORMANCE.md, item 14).
fn decode_from<'de, T, D>(de: D) -> Result<Decoded<T>, CallError>
where
    T: Deserialize<'de>,
    D: Deserializer<'de, Error = serde_json::Error>,
{
    let (result, mut quirks) = lenient::collect(|| {
        let mut ignored = Vec::new();
        let mut on_ignored = |path: serde_ignored::Path<'_>| ignored.push(path.to_string());
        let r = T::deserialize(serde_ignored::Deserializer::new(de, &mut on_ignored));
        (r, ignored)
    });
    let (result, ignored) = result;
    match result {
        Ok(value) => {
            quirks.extend(ignored.into_iter().map(|p| {
                Quirk::new(
                    QuirkKind::UnknownField,
                    format!("field {p:?} is not in the schema"),
                )
            }));
            Ok(Decoded { value, quirks })
        }
        Err(e) => Err(classify("", &e)),
    }
}

/// The CALLERROR for a payload [`decode_from`] refused: decoded again with the path to the
/// failure tracked ([`serde_path_to_error`]), so the description names the field at fault.
/// `first` is the error to give should that second decode not fail.
fn described<'de, T, D>(de: D, first: CallError) -> CallError
where
    T: Deserialize<'de>,
    D: Deserializer<'de, Error = serde_json::Error>,
{
    serde_path_to_error::deserialize::<_, T>(de)
        .map_or_else(|t| classify(&t.path().to_string(), t.inner()), |_| first)
}

/// Decode strictly: anything that would be a quirk is an error. Used for what we are about to
/// send (operator input), so that every frame we send is valid against the schema.
pub fn decode_strict<T: DeserializeOwned>(payload: Value) -> Result<T, CallError> {
    let d = decode::<T>(payload)?;
    match d.quirks.first() {
        None => Ok(d.value),
        Some(q) => Err(CallError::new(
            ErrorCode::PropertyConstraintViolation,
            q.detail.clone(),
        )),
    }
}

/// Decode a payload leniently and return it normalised (as our types serialise it), with the
/// quirks met: how an answer to one of our commands is shown.
pub fn normalised<T: DeserializeOwned + Serialize>(
    payload: Value,
) -> Result<Decoded<Value>, CallError> {
    decode::<T>(payload).map(|d| Decoded {
        value: serde_json::to_value(&d.value).unwrap_or(Value::Null),
        quirks: d.quirks,
    })
}
