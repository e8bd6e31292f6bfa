//! Data types and enums shared by the OCPP 1.6 messages.
//!
//! Enums the charger sends in its own CALLs and statuses it answers our commands with are
//! `lenient` (unknown values are kept and noted as quirks); enums only we send, and those where an
//! unknown value cannot be acted upon, are `strict`.

use serde::{Deserialize, Serialize};

use crate::lenient::{CiString, Timestamp, dec, int, opt_dec, opt_int, string};
use crate::ocpp_enum;

/// An RFID tag or other identifier (`CiString20Type`).
pub type IdToken = CiString<20>;

ocpp_enum!(strict AuthorizationStatus {
    Accepted = "Accepted", Blocked = "Blocked", Expired = "Expired", Invalid = "Invalid",
    ConcurrentTx = "ConcurrentTx",
});

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdTagInfo {
    pub status: AuthorizationStatus,
    pub expiry_date: Option<Timestamp>,
    pub parent_id_tag: Option<IdToken>,
}

ocpp_enum!(strict RegistrationStatus { Accepted = "Accepted", Pending = "Pending", Rejected = "Rejected" });

ocpp_enum!(lenient ChargePointStatus {
    Available = "Available", Preparing = "Preparing", Charging = "Charging",
    SuspendedEVSE = "SuspendedEVSE", SuspendedEV = "SuspendedEV", Finishing = "Finishing",
    Reserved = "Reserved", Unavailable = "Unavailable", Faulted = "Faulted",
});

ocpp_enum!(lenient ChargePointErrorCode {
    ConnectorLockFailure = "ConnectorLockFailure", EVCommunicationError = "EVCommunicationError",
    GroundFailure = "GroundFailure", HighTemperature = "HighTemperature",
    InternalError = "InternalError", LocalListConflict = "LocalListConflict", NoError = "NoError",
    OtherError = "OtherError", OverCurrentFailure = "OverCurrentFailure",
    PowerMeterFailure = "PowerMeterFailure", PowerSwitchFailure = "PowerSwitchFailure",
    ReaderFailure = "ReaderFailure", ResetFailure = "ResetFailure", UnderVoltage = "UnderVoltage",
    OverVoltage = "OverVoltage", WeakSignal = "WeakSignal",
});

ocpp_enum!(lenient Reason {
    EmergencyStop = "EmergencyStop", EVDisconnected = "EVDisconnected", HardReset = "HardReset",
    Local = "Local", OtherReason = "Other", PowerLoss = "PowerLoss", Reboot = "Reboot",
    Remote = "Remote", SoftReset = "SoftReset", UnlockCommand = "UnlockCommand",
    DeAuthorized = "DeAuthorized",
});

ocpp_enum!(strict DiagnosticsStatus {
    Idle = "Idle", Uploaded = "Uploaded", UploadFailed = "UploadFailed", Uploading = "Uploading",
});

ocpp_enum!(strict FirmwareStatus {
    Downloaded = "Downloaded", DownloadFailed = "DownloadFailed", Downloading = "Downloading",
    Idle = "Idle", InstallationFailed = "InstallationFailed", Installing = "Installing",
    Installed = "Installed",
});

ocpp_enum!(lenient ReadingContext {
    InterruptionBegin = "Interruption.Begin", InterruptionEnd = "Interruption.End",
    SampleClock = "Sample.Clock", SamplePeriodic = "Sample.Periodic",
    TransactionBegin = "Transaction.Begin", TransactionEnd = "Transaction.End",
    Trigger = "Trigger", OtherContext = "Other",
});

ocpp_enum!(lenient ValueFormat { Raw = "Raw", SignedData = "SignedData" });

ocpp_enum!(lenient Measurand {
    EnergyActiveExportRegister = "Energy.Active.Export.Register",
    EnergyActiveImportRegister = "Energy.Active.Import.Register",
    EnergyReactiveExportRegister = "Energy.Reactive.Export.Register",
    EnergyReactiveImportRegister = "Energy.Reactive.Import.Register",
    EnergyActiveExportInterval = "Energy.Active.Export.Interval",
    EnergyActiveImportInterval = "Energy.Active.Import.Interval",
    EnergyReactiveExportInterval = "Energy.Reactive.Export.Interval",
    EnergyReactiveImportInterval = "Energy.Reactive.Import.Interval",
    PowerActiveExport = "Power.Active.Export", PowerActiveImport = "Power.Active.Import",
    PowerOffered = "Power.Offered", PowerReactiveExport = "Power.Reactive.Export",
    PowerReactiveImport = "Power.Reactive.Import", PowerFactor = "Power.Factor",
    CurrentImport = "Current.Import", CurrentExport = "Current.Export",
    CurrentOffered = "Current.Offered", Voltage = "Voltage", Frequency = "Frequency",
    Temperature = "Temperature", SoC = "SoC", RPM = "RPM",
});

ocpp_enum!(lenient Phase {
    L1 = "L1", L2 = "L2", L3 = "L3", N = "N", L1N = "L1-N", L2N = "L2-N", L3N = "L3-N",
    L1L2 = "L1-L2", L2L3 = "L2-L3", L3L1 = "L3-L1",
});

ocpp_enum!(lenient Location {
    Cable = "Cable", EV = "EV", Inlet = "Inlet", Outlet = "Outlet", Body = "Body",
});

ocpp_enum!(lenient UnitOfMeasure {
    Wh = "Wh", KWh = "kWh", Varh = "varh", Kvarh = "kvarh", W = "W", KW = "kW", VA = "VA",
    KVA = "kVA", Var = "var", Kvar = "kvar", A = "A", V = "V", K = "K", Celcius = "Celcius",
    Celsius = "Celsius", Fahrenheit = "Fahrenheit", Percent = "Percent", Hertz = "Hertz",
} aliases { "Hz" => Hertz, "%" => Percent, "C" => Celsius, "degC" => Celsius });

/// One sampled value of a meter reading.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SampledValue {
    /// The reading as sent: the spec says a string; some chargers send a number.
    #[serde(deserialize_with = "string")]
    pub value: String,
    pub context: Option<ReadingContext>,
    pub format: Option<ValueFormat>,
    pub measurand: Option<Measurand>,
    pub phase: Option<Phase>,
    pub location: Option<Location>,
    pub unit: Option<UnitOfMeasure>,
}

/// Sampled values taken at one moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MeterValue {
    pub timestamp: Timestamp,
    #[serde(default)]
    pub sampled_value: Vec<SampledValue>,
}

ocpp_enum!(strict DataTransferStatus {
    Accepted = "Accepted", Rejected = "Rejected", UnknownMessageId = "UnknownMessageId",
    UnknownVendorId = "UnknownVendorId",
});

ocpp_enum!(strict AvailabilityType { Inoperative = "Inoperative", Operative = "Operative" });
ocpp_enum!(lenient AvailabilityStatus { Accepted = "Accepted", Rejected = "Rejected", Scheduled = "Scheduled" });
ocpp_enum!(lenient ConfigurationStatus {
    Accepted = "Accepted", Rejected = "Rejected", RebootRequired = "RebootRequired",
    NotSupported = "NotSupported",
});
ocpp_enum!(lenient ClearCacheStatus { Accepted = "Accepted", Rejected = "Rejected" });
ocpp_enum!(strict ChargingProfilePurposeType {
    ChargePointMaxProfile = "ChargePointMaxProfile", TxDefaultProfile = "TxDefaultProfile",
    TxProfile = "TxProfile",
});
ocpp_enum!(strict ChargingProfileKindType { Absolute = "Absolute", Recurring = "Recurring", Relative = "Relative" });
ocpp_enum!(strict RecurrencyKindType { Daily = "Daily", Weekly = "Weekly" });
ocpp_enum!(strict ChargingRateUnitType { A = "A", W = "W" });
ocpp_enum!(lenient ChargingProfileStatus { Accepted = "Accepted", Rejected = "Rejected", NotSupported = "NotSupported" });
ocpp_enum!(lenient ClearChargingProfileStatus { Accepted = "Accepted", Unknown = "Unknown" });
ocpp_enum!(lenient GetCompositeScheduleStatus { Accepted = "Accepted", Rejected = "Rejected" });
ocpp_enum!(lenient RemoteStartStopStatus { Accepted = "Accepted", Rejected = "Rejected" });
ocpp_enum!(lenient ReservationStatus {
    Accepted = "Accepted", Faulted = "Faulted", Occupied = "Occupied", Rejected = "Rejected",
    Unavailable = "Unavailable",
});
ocpp_enum!(lenient CancelReservationStatus { Accepted = "Accepted", Rejected = "Rejected" });
ocpp_enum!(strict ResetType { Hard = "Hard", Soft = "Soft" });
ocpp_enum!(lenient ResetStatus { Accepted = "Accepted", Rejected = "Rejected" });
ocpp_enum!(strict UpdateType { Differential = "Differential", Full = "Full" });
ocpp_enum!(lenient UpdateStatus {
    Accepted = "Accepted", Failed = "Failed", NotSupported = "NotSupported",
    VersionMismatch = "VersionMismatch",
});
ocpp_enum!(strict MessageTrigger {
    BootNotification = "BootNotification",
    DiagnosticsStatusNotification = "DiagnosticsStatusNotification",
    FirmwareStatusNotification = "FirmwareStatusNotification", Heartbeat = "Heartbeat",
    MeterValues = "MeterValues", StatusNotification = "StatusNotification",
});
// ---- The security extension (OCPP 1.6 security whitepaper) ----

ocpp_enum!(lenient GenericStatus { Accepted = "Accepted", Rejected = "Rejected" });
ocpp_enum!(strict CertificateUse {
    CentralSystemRootCertificate = "CentralSystemRootCertificate",
    ManufacturerRootCertificate = "ManufacturerRootCertificate",
});
ocpp_enum!(lenient InstallCertificateStatus {
    Accepted = "Accepted", Failed = "Failed", Rejected = "Rejected",
});
ocpp_enum!(strict LogType { DiagnosticsLog = "DiagnosticsLog", SecurityLog = "SecurityLog" });
ocpp_enum!(lenient LogStatus {
    Accepted = "Accepted", Rejected = "Rejected", AcceptedCanceled = "AcceptedCanceled",
});
ocpp_enum!(lenient SignedUpdateFirmwareStatus {
    Accepted = "Accepted", Rejected = "Rejected", AcceptedCanceled = "AcceptedCanceled",
    InvalidCertificate = "InvalidCertificate", RevokedCertificate = "RevokedCertificate",
});
ocpp_enum!(strict ExtendedMessageTrigger {
    BootNotification = "BootNotification", LogStatusNotification = "LogStatusNotification",
    FirmwareStatusNotification = "FirmwareStatusNotification", Heartbeat = "Heartbeat",
    MeterValues = "MeterValues", SignChargePointCertificate = "SignChargePointCertificate",
    StatusNotification = "StatusNotification",
});
ocpp_enum!(lenient UploadLogStatus {
    BadMessage = "BadMessage", Idle = "Idle", NotSupportedOperation = "NotSupportedOperation",
    PermissionDenied = "PermissionDenied", Uploaded = "Uploaded", UploadFailure = "UploadFailure",
    Uploading = "Uploading",
});
ocpp_enum!(lenient SignedFirmwareStatus {
    Downloaded = "Downloaded", DownloadFailed = "DownloadFailed", Downloading = "Downloading",
    DownloadScheduled = "DownloadScheduled", DownloadPaused = "DownloadPaused", Idle = "Idle",
    InstallationFailed = "InstallationFailed", Installing = "Installing", Installed = "Installed",
    InstallRebooting = "InstallRebooting", InstallScheduled = "InstallScheduled",
    InstallVerificationFailed = "InstallVerificationFailed", InvalidSignature = "InvalidSignature",
    SignatureVerified = "SignatureVerified",
});

ocpp_enum!(lenient TriggerMessageStatus {
    Accepted = "Accepted", Rejected = "Rejected", NotImplemented = "NotImplemented",
});
ocpp_enum!(lenient UnlockStatus { Unlocked = "Unlocked", UnlockFailed = "UnlockFailed", NotSupported = "NotSupported" });

/// One period of a charging schedule.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChargingSchedulePeriod {
    #[serde(deserialize_with = "int")]
    pub start_period: i64,
    /// In the schedule's unit (A or W); the schema requires a multiple of 0.1.
    #[serde(deserialize_with = "dec")]
    pub limit: f64,
    #[serde(default, deserialize_with = "opt_int")]
    pub number_phases: Option<i64>,
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChargingSchedule {
    #[serde(default, deserialize_with = "opt_int")]
    pub duration: Option<i64>,
    pub start_schedule: Option<Timestamp>,
    pub charging_rate_unit: ChargingRateUnitType,
    pub charging_schedule_period: Vec<ChargingSchedulePeriod>,
    #[serde(default, deserialize_with = "opt_dec")]
    pub min_charging_rate: Option<f64>,
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChargingProfile {
    #[serde(deserialize_with = "int")]
    pub charging_profile_id: i64,
    #[serde(default, deserialize_with = "opt_int")]
    pub transaction_id: Option<i64>,
    #[serde(deserialize_with = "int")]
    pub stack_level: i64,
    pub charging_profile_purpose: ChargingProfilePurposeType,
    pub charging_profile_kind: ChargingProfileKindType,
    pub recurrency_kind: Option<RecurrencyKindType>,
    pub valid_from: Option<Timestamp>,
    pub valid_to: Option<Timestamp>,
    pub charging_schedule: ChargingSchedule,
}

impl ChargingSchedule {
    /// The schema allows limits and the minimum rate only in steps of 0.1.
    pub fn check(&self) -> Result<(), String> {
        let tenth = |v: f64| ((v * 10.0).round() - v * 10.0).abs() < 1e-6;
        for p in &self.charging_schedule_period {
            if !tenth(p.limit) {
                return Err(format!("limit {} is not a multiple of 0.1", p.limit));
            }
        }
        match self.min_charging_rate {
            Some(r) if !tenth(r) => Err(format!("minChargingRate {r} is not a multiple of 0.1")),
            _ => Ok(()),
        }
    }
}

/// One configuration key as GetConfiguration reports it.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyValue {
    pub key: CiString<50>,
    pub readonly: bool,
    pub value: Option<CiString<500>>,
}

/// One entry of a local authorization list.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizationData {
    pub id_tag: IdToken,
    pub id_tag_info: Option<IdTagInfo>,
}
