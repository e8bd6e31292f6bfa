//! Every OCPP 1.6 message of the six feature profiles (Core, FirmwareManagement,
//! LocalAuthListManagement, Reservation, SmartCharging, RemoteTrigger), request and response, and
//! those of the security whitepaper's extension that Chargeyard speaks (at the end).

use serde::{Deserialize, Serialize};

use super::types::*;
use crate::lenient::{CiString, Timestamp, int, opt_int, opt_string, string};

// ---- Initiated by the charge point -------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizeRequest {
    pub id_tag: IdToken,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizeResponse {
    pub id_tag_info: IdTagInfo,
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BootNotificationRequest {
    pub charge_point_vendor: CiString<20>,
    pub charge_point_model: CiString<20>,
    pub charge_point_serial_number: Option<CiString<25>>,
    pub charge_box_serial_number: Option<CiString<25>>,
    pub firmware_version: Option<CiString<50>>,
    pub iccid: Option<CiString<20>>,
    pub imsi: Option<CiString<20>>,
    pub meter_type: Option<CiString<25>>,
    pub meter_serial_number: Option<CiString<25>>,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BootNotificationResponse {
    pub status: RegistrationStatus,
    pub current_time: Timestamp,
    /// Heartbeat interval when Accepted; retry interval when Pending or Rejected (seconds).
    #[serde(deserialize_with = "int")]
    pub interval: i64,
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataTransferRequest {
    pub vendor_id: CiString<255>,
    pub message_id: Option<CiString<50>>,
    #[serde(default, deserialize_with = "opt_string")]
    pub data: Option<String>,
}
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataTransferResponse {
    pub status: DataTransferStatus,
    #[serde(default, deserialize_with = "opt_string")]
    pub data: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiagnosticsStatusNotificationRequest {
    pub status: DiagnosticsStatus,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct DiagnosticsStatusNotificationResponse {}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FirmwareStatusNotificationRequest {
    pub status: FirmwareStatus,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct FirmwareStatusNotificationResponse {}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct HeartbeatRequest {}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HeartbeatResponse {
    pub current_time: Timestamp,
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MeterValuesRequest {
    #[serde(deserialize_with = "int")]
    pub connector_id: i64,
    #[serde(default, deserialize_with = "opt_int")]
    pub transaction_id: Option<i64>,
    /// The schema asks for at least one; some chargers send an empty list, which we accept.
    #[serde(default)]
    pub meter_value: Vec<MeterValue>,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct MeterValuesResponse {}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StartTransactionRequest {
    #[serde(deserialize_with = "int")]
    pub connector_id: i64,
    pub id_tag: IdToken,
    /// Energy register at start, Wh.
    #[serde(deserialize_with = "int")]
    pub meter_start: i64,
    #[serde(default, deserialize_with = "opt_int")]
    pub reservation_id: Option<i64>,
    pub timestamp: Timestamp,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StartTransactionResponse {
    pub id_tag_info: IdTagInfo,
    #[serde(deserialize_with = "int")]
    pub transaction_id: i64,
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusNotificationRequest {
    #[serde(deserialize_with = "int")]
    pub connector_id: i64,
    pub error_code: ChargePointErrorCode,
    pub info: Option<CiString<50>>,
    pub status: ChargePointStatus,
    pub timestamp: Option<Timestamp>,
    pub vendor_id: Option<CiString<255>>,
    pub vendor_error_code: Option<CiString<50>>,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct StatusNotificationResponse {}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StopTransactionRequest {
    pub id_tag: Option<IdToken>,
    /// Energy register at stop, Wh.
    #[serde(deserialize_with = "int")]
    pub meter_stop: i64,
    pub timestamp: Timestamp,
    #[serde(deserialize_with = "int")]
    pub transaction_id: i64,
    pub reason: Option<Reason>,
    pub transaction_data: Option<Vec<MeterValue>>,
}
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct StopTransactionResponse {
    pub id_tag_info: Option<IdTagInfo>,
}

// ---- Initiated by the central system -----------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CancelReservationRequest {
    #[serde(deserialize_with = "int")]
    pub reservation_id: i64,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CancelReservationResponse {
    pub status: CancelReservationStatus,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeAvailabilityRequest {
    #[serde(deserialize_with = "int")]
    pub connector_id: i64,
    #[serde(rename = "type")]
    pub kind: AvailabilityType,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeAvailabilityResponse {
    pub status: AvailabilityStatus,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeConfigurationRequest {
    pub key: CiString<50>,
    pub value: CiString<500>,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeConfigurationResponse {
    pub status: ConfigurationStatus,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ClearCacheRequest {}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClearCacheResponse {
    pub status: ClearCacheStatus,
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ClearChargingProfileRequest {
    #[serde(default, deserialize_with = "opt_int")]
    pub id: Option<i64>,
    #[serde(default, deserialize_with = "opt_int")]
    pub connector_id: Option<i64>,
    pub charging_profile_purpose: Option<ChargingProfilePurposeType>,
    #[serde(default, deserialize_with = "opt_int")]
    pub stack_level: Option<i64>,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClearChargingProfileResponse {
    pub status: ClearChargingProfileStatus,
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetCompositeScheduleRequest {
    #[serde(deserialize_with = "int")]
    pub connector_id: i64,
    /// Seconds.
    #[serde(deserialize_with = "int")]
    pub duration: i64,
    pub charging_rate_unit: Option<ChargingRateUnitType>,
}
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetCompositeScheduleResponse {
    pub status: GetCompositeScheduleStatus,
    #[serde(default, deserialize_with = "opt_int")]
    pub connector_id: Option<i64>,
    pub schedule_start: Option<Timestamp>,
    pub charging_schedule: Option<ChargingSchedule>,
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct GetConfigurationRequest {
    pub key: Option<Vec<CiString<50>>>,
}
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct GetConfigurationResponse {
    pub configuration_key: Option<Vec<KeyValue>>,
    pub unknown_key: Option<Vec<CiString<50>>>,
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetDiagnosticsRequest {
    /// Where the charger uploads the file (FTP or HTTP URL).
    #[serde(deserialize_with = "string")]
    pub location: String,
    #[serde(default, deserialize_with = "opt_int")]
    pub retries: Option<i64>,
    #[serde(default, deserialize_with = "opt_int")]
    pub retry_interval: Option<i64>,
    pub start_time: Option<Timestamp>,
    pub stop_time: Option<Timestamp>,
}
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct GetDiagnosticsResponse {
    pub file_name: Option<CiString<255>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct GetLocalListVersionRequest {}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetLocalListVersionResponse {
    #[serde(deserialize_with = "int")]
    pub list_version: i64,
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RemoteStartTransactionRequest {
    #[serde(default, deserialize_with = "opt_int")]
    pub connector_id: Option<i64>,
    pub id_tag: IdToken,
    pub charging_profile: Option<ChargingProfile>,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemoteStartTransactionResponse {
    pub status: RemoteStartStopStatus,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RemoteStopTransactionRequest {
    #[serde(deserialize_with = "int")]
    pub transaction_id: i64,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemoteStopTransactionResponse {
    pub status: RemoteStartStopStatus,
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReserveNowRequest {
    #[serde(deserialize_with = "int")]
    pub connector_id: i64,
    pub expiry_date: Timestamp,
    pub id_tag: IdToken,
    pub parent_id_tag: Option<IdToken>,
    #[serde(deserialize_with = "int")]
    pub reservation_id: i64,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReserveNowResponse {
    pub status: ReservationStatus,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResetRequest {
    #[serde(rename = "type")]
    pub kind: ResetType,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResetResponse {
    pub status: ResetStatus,
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SendLocalListRequest {
    #[serde(deserialize_with = "int")]
    pub list_version: i64,
    pub local_authorization_list: Option<Vec<AuthorizationData>>,
    pub update_type: UpdateType,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SendLocalListResponse {
    pub status: UpdateStatus,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SetChargingProfileRequest {
    #[serde(deserialize_with = "int")]
    pub connector_id: i64,
    pub cs_charging_profiles: ChargingProfile,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SetChargingProfileResponse {
    pub status: ChargingProfileStatus,
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TriggerMessageRequest {
    pub requested_message: MessageTrigger,
    #[serde(default, deserialize_with = "opt_int")]
    pub connector_id: Option<i64>,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TriggerMessageResponse {
    pub status: TriggerMessageStatus,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnlockConnectorRequest {
    #[serde(deserialize_with = "int")]
    pub connector_id: i64,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnlockConnectorResponse {
    pub status: UnlockStatus,
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateFirmwareRequest {
    /// Where the charger downloads the firmware from.
    #[serde(deserialize_with = "string")]
    pub location: String,
    #[serde(default, deserialize_with = "opt_int")]
    pub retries: Option<i64>,
    pub retrieve_date: Timestamp,
    #[serde(default, deserialize_with = "opt_int")]
    pub retry_interval: Option<i64>,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct UpdateFirmwareResponse {}

// ---- The security extension (OCPP 1.6 security whitepaper, edition 2) --------------------------

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecurityEventNotificationRequest {
    /// The event, as the whitepaper's list names it (FirmwareUpdated, TamperDetectionActivated, …)
    /// or the vendor's own.
    #[serde(rename = "type")]
    pub kind: CiString<50>,
    pub timestamp: Timestamp,
    pub tech_info: Option<CiString<255>>,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct SecurityEventNotificationResponse {}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignCertificateRequest {
    /// A PEM certificate signing request for the charge point's client certificate.
    pub csr: CiString<5500>,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignCertificateResponse {
    pub status: GenericStatus,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateSignedRequest {
    /// PEM, the charge point's certificate first, then the CAs that signed it.
    pub certificate_chain: CiString<10000>,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CertificateSignedResponse {
    pub status: GenericStatus,
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogParameters {
    /// Where the charger uploads the log (FTP or HTTP URL).
    pub remote_location: CiString<512>,
    pub oldest_timestamp: Option<Timestamp>,
    pub latest_timestamp: Option<Timestamp>,
}
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetLogRequest {
    pub log: LogParameters,
    pub log_type: LogType,
    #[serde(deserialize_with = "int")]
    pub request_id: i64,
    #[serde(default, deserialize_with = "opt_int")]
    pub retries: Option<i64>,
    #[serde(default, deserialize_with = "opt_int")]
    pub retry_interval: Option<i64>,
}
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GetLogResponse {
    pub status: LogStatus,
    pub filename: Option<CiString<255>>,
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignedFirmware {
    pub location: CiString<512>,
    pub retrieve_date_time: Timestamp,
    pub install_date_time: Option<Timestamp>,
    /// PEM: the certificate whose key signed the firmware (the charger checks it chains to its
    /// manufacturer root).
    pub signing_certificate: CiString<5500>,
    /// Base64: the firmware file's signature.
    pub signature: CiString<800>,
}
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignedUpdateFirmwareRequest {
    #[serde(default, deserialize_with = "opt_int")]
    pub retries: Option<i64>,
    #[serde(default, deserialize_with = "opt_int")]
    pub retry_interval: Option<i64>,
    #[serde(deserialize_with = "int")]
    pub request_id: i64,
    pub firmware: SignedFirmware,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignedUpdateFirmwareResponse {
    pub status: SignedUpdateFirmwareStatus,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstallCertificateRequest {
    pub certificate_type: CertificateUse,
    /// PEM.
    pub certificate: CiString<5500>,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstallCertificateResponse {
    pub status: InstallCertificateStatus,
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExtendedTriggerMessageRequest {
    pub requested_message: ExtendedMessageTrigger,
    #[serde(default, deserialize_with = "opt_int")]
    pub connector_id: Option<i64>,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExtendedTriggerMessageResponse {
    pub status: TriggerMessageStatus,
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogStatusNotificationRequest {
    pub status: UploadLogStatus,
    #[serde(default, deserialize_with = "opt_int")]
    pub request_id: Option<i64>,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct LogStatusNotificationResponse {}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignedFirmwareStatusNotificationRequest {
    pub status: SignedFirmwareStatus,
    #[serde(default, deserialize_with = "opt_int")]
    pub request_id: Option<i64>,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct SignedFirmwareStatusNotificationResponse {}
