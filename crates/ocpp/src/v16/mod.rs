//! OCPP 1.6J: actions, message types and decoding.
//!
//! Layout:
//! - `types`    — shared data types and enums (lenient or strict, see the module doc)
//! - `messages` — one request and one response struct per action
//! - `catalogue` — the standard configuration keys, and value checks before ChangeConfiguration
//! - `templates` — a valid example payload of each command, for the technician's composer
//! - this file  — [`Action`], the [`Request`] trait tying a request to its response, and
//!   [`ChargePointCall`] / [`CentralSystemCall`], the decoded CALLs of each direction.

pub mod catalogue;
pub mod messages;
pub mod templates;
pub mod types;

pub use messages::*;
pub use types::*;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::error::{CallError, ErrorCode, classify};
use crate::lenient::{self, Quirk, QuirkKind};

/// The WebSocket subprotocol name.
pub const SUBPROTOCOL: &str = "ocpp1.6";

/// Who sends the CALL of an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    ChargePointToCentralSystem,
    CentralSystemToChargePoint,
    Both,
}

/// A request type and the response type that answers it.
pub trait Request: Serialize + DeserializeOwned + std::fmt::Debug + Clone + Send + 'static {
    const ACTION: Action;
    type Response: Serialize + DeserializeOwned + std::fmt::Debug + Clone + Send + 'static;
}

/// A decoded payload and the quirks met while decoding it.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded<T> {
    pub value: T,
    pub quirks: Vec<Quirk>,
}

/// Decode a payload leniently: accept what can be understood, note quirks, and map what cannot be
/// understood to the 1.6 CALLERROR code.
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
enum Payload<'a> {
    Value(Value),
    Text(&'a str),
}

impl Payload<'_> {
    fn decode<T: DeserializeOwned>(self) -> Result<Decoded<T>, CallError> {
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

macro_rules! actions {
    ($($action:ident: $dir:ident => $req:ident, $resp:ident;)+) => {
        /// Every action of OCPP 1.6 (six feature profiles).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Action { $($action,)+ }

        impl Action {
            pub const ALL: &'static [Action] = &[$(Action::$action,)+];
            pub fn as_str(self) -> &'static str {
                match self { $(Action::$action => stringify!($action),)+ }
            }
            pub fn parse(s: &str) -> Option<Action> {
                match s { $(stringify!($action) => Some(Action::$action),)+ _ => None }
            }
            pub fn direction(self) -> Direction {
                match self { $(Action::$action => Direction::$dir,)+ }
            }
        }
        /// Decode the answer to a CALL of `action` leniently and return it normalised (as our
        /// types serialise it), with the quirks met.
        pub fn decode_response_value(action: Action, payload: Value) -> Result<Decoded<Value>, CallError> {
            match action {
                $(Action::$action => decode::<$resp>(payload).map(|d| Decoded {
                    value: serde_json::to_value(&d.value).unwrap_or(Value::Null),
                    quirks: d.quirks,
                }),)+
            }
        }
        $(impl Request for $req {
            const ACTION: Action = Action::$action;
            type Response = $resp;
        })+
    };
}

actions! {
    Authorize: ChargePointToCentralSystem => AuthorizeRequest, AuthorizeResponse;
    BootNotification: ChargePointToCentralSystem => BootNotificationRequest, BootNotificationResponse;
    DataTransfer: Both => DataTransferRequest, DataTransferResponse;
    DiagnosticsStatusNotification: ChargePointToCentralSystem => DiagnosticsStatusNotificationRequest, DiagnosticsStatusNotificationResponse;
    FirmwareStatusNotification: ChargePointToCentralSystem => FirmwareStatusNotificationRequest, FirmwareStatusNotificationResponse;
    Heartbeat: ChargePointToCentralSystem => HeartbeatRequest, HeartbeatResponse;
    MeterValues: ChargePointToCentralSystem => MeterValuesRequest, MeterValuesResponse;
    StartTransaction: ChargePointToCentralSystem => StartTransactionRequest, StartTransactionResponse;
    StatusNotification: ChargePointToCentralSystem => StatusNotificationRequest, StatusNotificationResponse;
    StopTransaction: ChargePointToCentralSystem => StopTransactionRequest, StopTransactionResponse;
    CancelReservation: CentralSystemToChargePoint => CancelReservationRequest, CancelReservationResponse;
    ChangeAvailability: CentralSystemToChargePoint => ChangeAvailabilityRequest, ChangeAvailabilityResponse;
    ChangeConfiguration: CentralSystemToChargePoint => ChangeConfigurationRequest, ChangeConfigurationResponse;
    ClearCache: CentralSystemToChargePoint => ClearCacheRequest, ClearCacheResponse;
    ClearChargingProfile: CentralSystemToChargePoint => ClearChargingProfileRequest, ClearChargingProfileResponse;
    GetCompositeSchedule: CentralSystemToChargePoint => GetCompositeScheduleRequest, GetCompositeScheduleResponse;
    GetConfiguration: CentralSystemToChargePoint => GetConfigurationRequest, GetConfigurationResponse;
    GetDiagnostics: CentralSystemToChargePoint => GetDiagnosticsRequest, GetDiagnosticsResponse;
    GetLocalListVersion: CentralSystemToChargePoint => GetLocalListVersionRequest, GetLocalListVersionResponse;
    RemoteStartTransaction: CentralSystemToChargePoint => RemoteStartTransactionRequest, RemoteStartTransactionResponse;
    RemoteStopTransaction: CentralSystemToChargePoint => RemoteStopTransactionRequest, RemoteStopTransactionResponse;
    ReserveNow: CentralSystemToChargePoint => ReserveNowRequest, ReserveNowResponse;
    Reset: CentralSystemToChargePoint => ResetRequest, ResetResponse;
    SendLocalList: CentralSystemToChargePoint => SendLocalListRequest, SendLocalListResponse;
    SetChargingProfile: CentralSystemToChargePoint => SetChargingProfileRequest, SetChargingProfileResponse;
    TriggerMessage: CentralSystemToChargePoint => TriggerMessageRequest, TriggerMessageResponse;
    UnlockConnector: CentralSystemToChargePoint => UnlockConnectorRequest, UnlockConnectorResponse;
    UpdateFirmware: CentralSystemToChargePoint => UpdateFirmwareRequest, UpdateFirmwareResponse;
}

/// Actions of the 1.6 security whitepaper: recognised, not (yet) supported.
pub const SECURITY_EXTENSION_ACTIONS: &[&str] = &[
    "CertificateSigned",
    "DeleteCertificate",
    "ExtendedTriggerMessage",
    "GetInstalledCertificateIds",
    "GetLog",
    "InstallCertificate",
    "LogStatusNotification",
    "SecurityEventNotification",
    "SignCertificate",
    "SignedFirmwareStatusNotification",
    "SignedUpdateFirmware",
];

/// Which CALLERROR an action name gets when the receiver cannot handle it in this direction:
/// `NotImplemented` for names we do not know, `NotSupported` for ones we know but do not take.
fn unhandled(action: &str) -> CallError {
    if Action::parse(action).is_some() || SECURITY_EXTENSION_ACTIONS.contains(&action) {
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

macro_rules! call_enum {
    ($(#[$m:meta])* $name:ident { $($action:ident($req:ident)),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq)]
        pub enum $name { $($action($req),)+ }

        impl $name {
            /// Decode a CALL of this direction.
            pub fn decode(action: &str, payload: Value) -> Result<Decoded<$name>, CallError> {
                Self::decode_payload(action, Payload::Value(payload))
            }
            /// [`Self::decode`] from the payload's JSON text ([`decode_text`]).
            pub fn decode_text(action: &str, payload: &str) -> Result<Decoded<$name>, CallError> {
                Self::decode_payload(action, Payload::Text(payload))
            }
            fn decode_payload(action: &str, payload: Payload<'_>) -> Result<Decoded<$name>, CallError> {
                match action {
                    $(stringify!($action) => payload.decode::<$req>().map(|d| Decoded {
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
            pub fn payload(&self) -> Value {
                let v = match self { $($name::$action(r) => serde_json::to_value(r),)+ };
                v.unwrap_or(Value::Null)
            }
        }
    };
}

call_enum!(
    /// A CALL a charge point sends to the central system.
    ChargePointCall {
        Authorize(AuthorizeRequest),
        BootNotification(BootNotificationRequest),
        DataTransfer(DataTransferRequest),
        DiagnosticsStatusNotification(DiagnosticsStatusNotificationRequest),
        FirmwareStatusNotification(FirmwareStatusNotificationRequest),
        Heartbeat(HeartbeatRequest),
        MeterValues(MeterValuesRequest),
        StartTransaction(StartTransactionRequest),
        StatusNotification(StatusNotificationRequest),
        StopTransaction(StopTransactionRequest),
    }
);

call_enum!(
    /// A CALL the central system sends to a charge point (a command).
    CentralSystemCall {
        CancelReservation(CancelReservationRequest),
        ChangeAvailability(ChangeAvailabilityRequest),
        ChangeConfiguration(ChangeConfigurationRequest),
        ClearCache(ClearCacheRequest),
        ClearChargingProfile(ClearChargingProfileRequest),
        DataTransfer(DataTransferRequest),
        GetCompositeSchedule(GetCompositeScheduleRequest),
        GetConfiguration(GetConfigurationRequest),
        GetDiagnostics(GetDiagnosticsRequest),
        GetLocalListVersion(GetLocalListVersionRequest),
        RemoteStartTransaction(RemoteStartTransactionRequest),
        RemoteStopTransaction(RemoteStopTransactionRequest),
        ReserveNow(ReserveNowRequest),
        Reset(ResetRequest),
        SendLocalList(SendLocalListRequest),
        SetChargingProfile(SetChargingProfileRequest),
        TriggerMessage(TriggerMessageRequest),
        UnlockConnector(UnlockConnectorRequest),
        UpdateFirmware(UpdateFirmwareRequest),
    }
);

impl CentralSystemCall {
    /// Checks the types cannot express: the 0.1 step of charging limits.
    pub fn check(&self) -> Result<(), CallError> {
        let schedule = match self {
            CentralSystemCall::SetChargingProfile(r) => Some(&r.cs_charging_profiles),
            CentralSystemCall::RemoteStartTransaction(r) => r.charging_profile.as_ref(),
            _ => None,
        };
        match schedule.map(|p| p.charging_schedule.check()) {
            Some(Err(e)) => Err(CallError::new(ErrorCode::PropertyConstraintViolation, e)),
            _ => Ok(()),
        }
    }
}
