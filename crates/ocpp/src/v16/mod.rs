//! OCPP 1.6J: actions, message types and decoding.
//!
//! Layout:
//! - `types`    — shared data types and enums (lenient or strict, see the module doc)
//! - `messages` — one request and one response struct per action
//! - `catalogue` — the standard configuration keys, and value checks before ChangeConfiguration
//! - `templates` — a valid example payload of each command, for the technician's composer
//! - this file  — [`Action`], each request tied to its response ([`crate::Request`]), and
//!   [`ChargePointCall`] / [`CentralSystemCall`], the decoded CALLs of each direction.

pub mod catalogue;
pub mod messages;
pub mod templates;
pub mod types;

pub use messages::*;
pub use types::*;

use serde_json::Value;

pub use crate::decode::{Decoded, decode, decode_strict, decode_text};
use crate::error::{CallError, ErrorCode};
pub use crate::{Direction, Request};

/// The WebSocket subprotocol name.
pub const SUBPROTOCOL: &str = "ocpp1.6";

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
                $(Action::$action => crate::decode::normalised::<$resp>(payload),)+
            }
        }
        $(impl Request for $req {
            const VERSION: crate::Version = crate::Version::V16;
            const ACTION: &'static str = stringify!($action);
            type Response = $resp;
        })+
    };
}

actions! {
    Authorize: FromStation => AuthorizeRequest, AuthorizeResponse;
    BootNotification: FromStation => BootNotificationRequest, BootNotificationResponse;
    DataTransfer: Both => DataTransferRequest, DataTransferResponse;
    DiagnosticsStatusNotification: FromStation => DiagnosticsStatusNotificationRequest, DiagnosticsStatusNotificationResponse;
    FirmwareStatusNotification: FromStation => FirmwareStatusNotificationRequest, FirmwareStatusNotificationResponse;
    Heartbeat: FromStation => HeartbeatRequest, HeartbeatResponse;
    MeterValues: FromStation => MeterValuesRequest, MeterValuesResponse;
    StartTransaction: FromStation => StartTransactionRequest, StartTransactionResponse;
    StatusNotification: FromStation => StatusNotificationRequest, StatusNotificationResponse;
    StopTransaction: FromStation => StopTransactionRequest, StopTransactionResponse;
    CancelReservation: ToStation => CancelReservationRequest, CancelReservationResponse;
    ChangeAvailability: ToStation => ChangeAvailabilityRequest, ChangeAvailabilityResponse;
    ChangeConfiguration: ToStation => ChangeConfigurationRequest, ChangeConfigurationResponse;
    ClearCache: ToStation => ClearCacheRequest, ClearCacheResponse;
    ClearChargingProfile: ToStation => ClearChargingProfileRequest, ClearChargingProfileResponse;
    GetCompositeSchedule: ToStation => GetCompositeScheduleRequest, GetCompositeScheduleResponse;
    GetConfiguration: ToStation => GetConfigurationRequest, GetConfigurationResponse;
    GetDiagnostics: ToStation => GetDiagnosticsRequest, GetDiagnosticsResponse;
    GetLocalListVersion: ToStation => GetLocalListVersionRequest, GetLocalListVersionResponse;
    RemoteStartTransaction: ToStation => RemoteStartTransactionRequest, RemoteStartTransactionResponse;
    RemoteStopTransaction: ToStation => RemoteStopTransactionRequest, RemoteStopTransactionResponse;
    ReserveNow: ToStation => ReserveNowRequest, ReserveNowResponse;
    Reset: ToStation => ResetRequest, ResetResponse;
    SendLocalList: ToStation => SendLocalListRequest, SendLocalListResponse;
    SetChargingProfile: ToStation => SetChargingProfileRequest, SetChargingProfileResponse;
    TriggerMessage: ToStation => TriggerMessageRequest, TriggerMessageResponse;
    UnlockConnector: ToStation => UnlockConnectorRequest, UnlockConnectorResponse;
    UpdateFirmware: ToStation => UpdateFirmwareRequest, UpdateFirmwareResponse;
    // The security extension.
    SecurityEventNotification: FromStation => SecurityEventNotificationRequest, SecurityEventNotificationResponse;
    SignCertificate: FromStation => SignCertificateRequest, SignCertificateResponse;
    LogStatusNotification: FromStation => LogStatusNotificationRequest, LogStatusNotificationResponse;
    SignedFirmwareStatusNotification: FromStation => SignedFirmwareStatusNotificationRequest, SignedFirmwareStatusNotificationResponse;
    CertificateSigned: ToStation => CertificateSignedRequest, CertificateSignedResponse;
    ExtendedTriggerMessage: ToStation => ExtendedTriggerMessageRequest, ExtendedTriggerMessageResponse;
    InstallCertificate: ToStation => InstallCertificateRequest, InstallCertificateResponse;
    GetLog: ToStation => GetLogRequest, GetLogResponse;
    SignedUpdateFirmware: ToStation => SignedUpdateFirmwareRequest, SignedUpdateFirmwareResponse;
}

/// Actions of the 1.6 security whitepaper not spoken (yet): recognised, answered NotSupported.
pub const SECURITY_EXTENSION_ACTIONS: &[&str] =
    &["DeleteCertificate", "GetInstalledCertificateIds"];

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

crate::call_enum!(
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
        SecurityEventNotification(SecurityEventNotificationRequest),
        SignCertificate(SignCertificateRequest),
        LogStatusNotification(LogStatusNotificationRequest),
        SignedFirmwareStatusNotification(SignedFirmwareStatusNotificationRequest),
    }
);

crate::call_enum!(
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
        CertificateSigned(CertificateSignedRequest),
        ExtendedTriggerMessage(ExtendedTriggerMessageRequest),
        InstallCertificate(InstallCertificateRequest),
        GetLog(GetLogRequest),
        SignedUpdateFirmware(SignedUpdateFirmwareRequest),
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
