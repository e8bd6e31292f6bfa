//! A valid example payload for each command a central system sends: the starting point the
//! technician's composer offers, edited before sending. Each one is checked against the official
//! schema in the crate's tests.

use serde_json::{Value, json};

use super::{Action, Direction};

/// The example payload of a command; None for actions only a charger sends.
pub fn template(action: Action) -> Option<Value> {
    if action.direction() == Direction::FromStation {
        return None;
    }
    let schedule = json!({
        "chargingRateUnit": "A",
        "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.0}]
    });
    Some(match action {
        Action::CancelReservation => json!({"reservationId": 1}),
        Action::ChangeAvailability => json!({"connectorId": 0, "type": "Inoperative"}),
        Action::ChangeConfiguration => json!({"key": "HeartbeatInterval", "value": "300"}),
        Action::ClearCache | Action::GetLocalListVersion => json!({}),
        Action::ClearChargingProfile => json!({"connectorId": 1}),
        Action::DataTransfer => json!({"vendorId": "com.example", "messageId": "Ping", "data": ""}),
        Action::GetCompositeSchedule => json!({"connectorId": 1, "duration": 3600}),
        Action::GetConfiguration => json!({"key": ["HeartbeatInterval"]}),
        Action::GetDiagnostics => json!({"location": "http://192.0.2.1/upload"}),
        Action::RemoteStartTransaction => json!({"connectorId": 1, "idTag": "TAG0001"}),
        Action::RemoteStopTransaction => json!({"transactionId": 1}),
        Action::ReserveNow => json!({
            "connectorId": 1, "expiryDate": "2030-01-01T00:00:00Z", "idTag": "TAG0001",
            "reservationId": 1
        }),
        Action::Reset => json!({"type": "Soft"}),
        Action::SendLocalList => json!({
            "listVersion": 1, "updateType": "Full",
            "localAuthorizationList": [{"idTag": "TAG0001", "idTagInfo": {"status": "Accepted"}}]
        }),
        Action::SetChargingProfile => json!({
            "connectorId": 1,
            "csChargingProfiles": {
                "chargingProfileId": 1, "stackLevel": 0,
                "chargingProfilePurpose": "TxDefaultProfile",
                "chargingProfileKind": "Relative", "chargingSchedule": schedule
            }
        }),
        Action::TriggerMessage => {
            json!({"requestedMessage": "StatusNotification", "connectorId": 1})
        }
        Action::UnlockConnector => json!({"connectorId": 1}),
        // The security extension.
        Action::ExtendedTriggerMessage => json!({"requestedMessage": "SignChargePointCertificate"}),
        Action::CertificateSigned => json!({
            "certificateChain": "-----BEGIN CERTIFICATE-----\n…\n-----END CERTIFICATE-----\n"
        }),
        Action::InstallCertificate => json!({
            "certificateType": "CentralSystemRootCertificate",
            "certificate": "-----BEGIN CERTIFICATE-----\n…\n-----END CERTIFICATE-----\n"
        }),
        Action::GetLog => json!({
            "logType": "SecurityLog", "requestId": 1,
            "log": {"remoteLocation": "http://192.0.2.1/upload"}
        }),
        Action::SignedUpdateFirmware => json!({
            "requestId": 1,
            "firmware": {
                "location": "http://192.0.2.1/firmware.bin",
                "retrieveDateTime": "2030-01-01T00:00:00Z",
                "signingCertificate": "-----BEGIN CERTIFICATE-----\n…\n-----END CERTIFICATE-----\n",
                "signature": "c2lnbmF0dXJl"
            }
        }),
        Action::UpdateFirmware => json!({
            "location": "http://192.0.2.1/firmware.bin", "retrieveDate": "2030-01-01T00:00:00Z"
        }),
        _ => return None,
    })
}
