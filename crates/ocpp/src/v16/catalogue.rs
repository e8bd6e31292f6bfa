//! The standard OCPP 1.6 configuration keys (section 9 of the specification): type, unit, whether
//! a central system may change them, and a short description. Values are checked here before a
//! ChangeConfiguration goes out, so a typo is caught on the laptop, not by the charger.

use serde::Serialize;

use super::types::Measurand;

/// How a key's value is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyType {
    /// "true" or "false".
    Boolean,
    /// A whole number, 0 or more.
    Integer,
    /// A comma-separated list of measurands.
    MeasurandList,
    /// A comma-separated list of connector phase rotations, e.g. "0.RST, 1.RST, 2.RTS".
    PhaseRotationList,
    /// A comma-separated list of feature profile names.
    ProfileList,
    /// A comma-separated list of "Current" and/or "Power".
    RateUnitList,
}

/// One standard key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct KeyInfo {
    pub key: &'static str,
    /// The feature profile the key belongs to.
    pub profile: &'static str,
    #[serde(rename = "type")]
    pub kind: KeyType,
    /// Unit of an integer value ("seconds", "Wh", "%", "times"), empty if none.
    pub unit: &'static str,
    /// Only the charger sets it (R in the specification).
    pub readonly: bool,
    /// Every charger implementing the profile must report it.
    pub required: bool,
    pub description: &'static str,
}

const fn k(
    key: &'static str,
    profile: &'static str,
    kind: KeyType,
    unit: &'static str,
    readonly: bool,
    required: bool,
    description: &'static str,
) -> KeyInfo {
    KeyInfo {
        key,
        profile,
        kind,
        unit,
        readonly,
        required,
        description,
    }
}

use KeyType::*;

const CORE: &str = "Core";
const LOCAL: &str = "LocalAuthListManagement";
const RESERVATION: &str = "Reservation";
const SMART: &str = "SmartCharging";

/// Every standard 1.6 key, in the specification's order.
#[rustfmt::skip]
pub const KEYS: &[KeyInfo] = &[
    k("AllowOfflineTxForUnknownId", CORE, Boolean, "", false, false,
      "Start transactions for unknown tags while offline."),
    k("AuthorizationCacheEnabled", CORE, Boolean, "", false, false,
      "Keep a cache of tags the central system accepted."),
    k("AuthorizeRemoteTxRequests", CORE, Boolean, "", false, true,
      "Authorize the tag of a RemoteStartTransaction before starting."),
    k("BlinkRepeat", CORE, Integer, "times", false, false,
      "How often the lights blink when asked to."),
    k("ClockAlignedDataInterval", CORE, Integer, "seconds", false, true,
      "Interval of clock-aligned meter values (0: none)."),
    k("ConnectionTimeOut", CORE, Integer, "seconds", false, true,
      "How long after authorizing the driver has to plug in."),
    k("ConnectorPhaseRotation", CORE, PhaseRotationList, "", false, true,
      "How each connector is wired to the grid's phases."),
    k("ConnectorPhaseRotationMaxLength", CORE, Integer, "", true, false,
      "Most entries ConnectorPhaseRotation can hold."),
    k("GetConfigurationMaxKeys", CORE, Integer, "", true, true,
      "Most keys one GetConfiguration may ask for."),
    k("HeartbeatInterval", CORE, Integer, "seconds", false, true,
      "Idle time after which the charger sends a Heartbeat."),
    k("LightIntensity", CORE, Integer, "%", false, false,
      "Brightness of the charger's lights."),
    k("LocalAuthorizeOffline", CORE, Boolean, "", false, true,
      "Accept tags from the local list or cache while offline."),
    k("LocalPreAuthorize", CORE, Boolean, "", false, true,
      "Start at once for tags the local list or cache accepts, without asking first."),
    k("MaxEnergyOnInvalidId", CORE, Integer, "Wh", false, false,
      "Energy still delivered after a tag turns out invalid."),
    k("MeterValuesAlignedData", CORE, MeasurandList, "", false, true,
      "Measurands sent at each clock-aligned interval."),
    k("MeterValuesAlignedDataMaxLength", CORE, Integer, "", true, false,
      "Most measurands MeterValuesAlignedData can hold."),
    k("MeterValuesSampledData", CORE, MeasurandList, "", false, true,
      "Measurands sent during a transaction at each sample interval."),
    k("MeterValuesSampledDataMaxLength", CORE, Integer, "", true, false,
      "Most measurands MeterValuesSampledData can hold."),
    k("MeterValueSampleInterval", CORE, Integer, "seconds", false, true,
      "Interval of meter values during a transaction (0: none)."),
    k("MinimumStatusDuration", CORE, Integer, "seconds", false, false,
      "How long a status must last before it is reported."),
    k("NumberOfConnectors", CORE, Integer, "", true, true,
      "Connectors on the charger."),
    k("ResetRetries", CORE, Integer, "times", false, true,
      "Attempts at a reset that failed."),
    k("StopTransactionOnEVSideDisconnect", CORE, Boolean, "", false, true,
      "End the transaction when the cable is pulled at the car."),
    k("StopTransactionOnInvalidId", CORE, Boolean, "", false, true,
      "End a running transaction when its tag is found invalid."),
    k("StopTxnAlignedData", CORE, MeasurandList, "", false, true,
      "Clock-aligned measurands put in StopTransaction's transactionData."),
    k("StopTxnAlignedDataMaxLength", CORE, Integer, "", true, false,
      "Most measurands StopTxnAlignedData can hold."),
    k("StopTxnSampledData", CORE, MeasurandList, "", false, true,
      "Sampled measurands put in StopTransaction's transactionData."),
    k("StopTxnSampledDataMaxLength", CORE, Integer, "", true, false,
      "Most measurands StopTxnSampledData can hold."),
    k("SupportedFeatureProfiles", CORE, ProfileList, "", true, true,
      "The feature profiles the charger implements."),
    k("SupportedFeatureProfilesMaxLength", CORE, Integer, "", true, false,
      "Most entries SupportedFeatureProfiles can hold."),
    k("TransactionMessageAttempts", CORE, Integer, "times", false, true,
      "Tries to deliver a transaction message the central system did not take."),
    k("TransactionMessageRetryInterval", CORE, Integer, "seconds", false, true,
      "Wait before retrying a transaction message (grows with each try)."),
    k("UnlockConnectorOnEVSideDisconnect", CORE, Boolean, "", false, true,
      "Release the cable at the charger when it is pulled at the car."),
    k("WebSocketPingInterval", CORE, Integer, "seconds", false, false,
      "Interval of WebSocket pings (0: none)."),
    k("LocalAuthListEnabled", LOCAL, Boolean, "", false, true,
      "Use the local authorization list."),
    k("LocalAuthListMaxLength", LOCAL, Integer, "", true, true,
      "Most tags the local list holds."),
    k("SendLocalListMaxLength", LOCAL, Integer, "", true, true,
      "Most tags one SendLocalList may carry."),
    k("ReserveConnectorZeroSupported", RESERVATION, Boolean, "", true, false,
      "Reservations of the whole charger (connector 0) are possible."),
    k("ChargeProfileMaxStackLevel", SMART, Integer, "", true, true,
      "Highest stack level of a charging profile."),
    k("ChargingScheduleAllowedChargingRateUnit", SMART, RateUnitList, "", true, true,
      "Units a charging schedule may use: Current, Power."),
    k("ChargingScheduleMaxPeriods", SMART, Integer, "", true, true,
      "Most periods in one charging schedule."),
    k("ConnectorSwitch3to1PhaseSupported", SMART, Boolean, "", true, false,
      "The charger can switch from three phases to one during a transaction."),
    k("MaxChargingProfilesInstalled", SMART, Integer, "", true, true,
      "Most charging profiles installed at once."),
];

/// The catalogue entry of a standard key (matched exactly, as keys are case-sensitive).
pub fn key_info(key: &str) -> Option<&'static KeyInfo> {
    KEYS.iter().find(|k| k.key == key)
}

/// The longest key and value ChangeConfiguration carries.
pub const MAX_KEY_LEN: usize = 50;
pub const MAX_VALUE_LEN: usize = 500;

const PROFILES: &[&str] = &[
    "Core",
    "FirmwareManagement",
    "LocalAuthListManagement",
    "Reservation",
    "SmartCharging",
    "RemoteTrigger",
];

fn list_items(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').map(str::trim)
}

/// Check a value before it is sent with ChangeConfiguration. Standard keys are checked against
/// their type and whether they can be changed at all; vendor keys only for length (the charger
/// decides).
pub fn check_value(key: &str, value: &str) -> Result<(), String> {
    if key.is_empty() || key.chars().count() > MAX_KEY_LEN {
        return Err(format!("a key is 1 to {MAX_KEY_LEN} characters"));
    }
    if value.chars().count() > MAX_VALUE_LEN {
        return Err(format!(
            "{key}: a value is at most {MAX_VALUE_LEN} characters"
        ));
    }
    let Some(info) = key_info(key) else {
        return Ok(());
    };
    if info.readonly {
        return Err(format!("{key} is read-only: only the charger sets it"));
    }
    match info.kind {
        Boolean if value == "true" || value == "false" => Ok(()),
        Boolean => Err(format!("{key} is true or false, not {value:?}")),
        Integer => match value.parse::<u32>() {
            Ok(_) => Ok(()),
            Err(_) => Err(format!(
                "{key} is a whole number of 0 or more, not {value:?}"
            )),
        },
        MeasurandList => {
            for item in list_items(value).filter(|i| !i.is_empty()) {
                if !Measurand::ALL.iter().any(|m| m.as_str() == item) {
                    return Err(format!("{key}: {item:?} is not a measurand"));
                }
            }
            Ok(())
        }
        PhaseRotationList => {
            for item in list_items(value) {
                let ok = item.split_once('.').is_some_and(|(c, r)| {
                    c.parse::<u32>().is_ok()
                        && [
                            "NotApplicable",
                            "Unknown",
                            "RST",
                            "RTS",
                            "SRT",
                            "STR",
                            "TRS",
                            "TSR",
                        ]
                        .contains(&r)
                });
                if !ok {
                    return Err(format!(
                        "{key}: {item:?} is not like \"1.RST\" (connector.rotation)"
                    ));
                }
            }
            Ok(())
        }
        ProfileList | RateUnitList => {
            let allowed: &[&str] = if info.kind == ProfileList {
                PROFILES
            } else {
                &["Current", "Power"]
            };
            match list_items(value).find(|i| !allowed.contains(i)) {
                Some(bad) => Err(format!(
                    "{key}: {bad:?} is not one of {}",
                    allowed.join(", ")
                )),
                None => Ok(()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_checked_against_the_key_type() {
        assert!(check_value("HeartbeatInterval", "300").is_ok());
        let e = check_value("HeartbeatInterval", "5 min").expect_err("not a number");
        assert!(e.contains("whole number"), "{e}");
        assert!(check_value("HeartbeatInterval", "-1").is_err());
        assert!(check_value("LocalPreAuthorize", "true").is_ok());
        assert!(check_value("LocalPreAuthorize", "yes").is_err());
        assert!(
            check_value(
                "MeterValuesSampledData",
                "Energy.Active.Import.Register, Power.Active.Import,SoC"
            )
            .is_ok()
        );
        let e = check_value("MeterValuesSampledData", "Energy,Power").expect_err("bad measurand");
        assert!(e.contains("\"Energy\""), "{e}");
        assert!(check_value("ConnectorPhaseRotation", "0.RST, 1.RTS").is_ok());
        assert!(check_value("ConnectorPhaseRotation", "RST").is_err());
        let e = check_value("NumberOfConnectors", "3").expect_err("read-only");
        assert!(e.contains("read-only"), "{e}");
        // Vendor keys: only the length is ours to check.
        assert!(check_value("VendorThing", "anything at all").is_ok());
        assert!(check_value("VendorThing", &"x".repeat(501)).is_err());
        assert!(check_value(&"K".repeat(51), "1").is_err());
    }

    #[test]
    fn the_catalogue_has_each_key_once() {
        let mut names: Vec<&str> = KEYS.iter().map(|k| k.key).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(names.len(), before, "a key is listed twice");
        assert!(KEYS.len() >= 43, "the 1.6 catalogue has 43 standard keys");
    }
}
