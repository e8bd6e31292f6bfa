//! OCPP 2.0.1 and 2.1 against their official OCA schemas, for every message of both directions.
//!
//! From each schema an example payload is built (every field once, and only the required ones);
//! it must be valid against the schema, decode through the generated types of the direction it
//! travels in with no quirk, and serialise back to itself: so what we send of any message is
//! valid, and what a conforming station sends is read whole. Then what real stations get wrong:
//! values the schema does not list, numbers as strings, error codes as each version spells them.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chargeyard_ocpp::lenient::QuirkKind;
use chargeyard_ocpp::{Direction, ErrorCode, Frame, Version, v21, v201};
use serde_json::{Value, json};

/// A version's schemas by file stem ("TransactionEventRequest").
fn schemas(module: &str) -> BTreeMap<String, Value> {
    let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo"))
        .join("schemas")
        .join(module);
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).expect("schema folder") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("schema");
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("name")
            .to_string();
        out.insert(stem, serde_json::from_str(&text).expect("schema is JSON"));
    }
    out
}

/// An instance of `s` (a schema node of `root`): every property, or only the required ones;
/// values that are not the first a decoder would try.
fn example(root: &Value, s: &Value, all: bool) -> Value {
    chargeyard_codegen::instance(root, s, all, &|s| {
        if let Some(values) = s.get("enum").and_then(Value::as_array) {
            // The last value: not always the first a decoder tries.
            return values.last().cloned().expect("an enum value");
        }
        match s.get("type").and_then(Value::as_str) {
            Some("string") if s.get("format").and_then(Value::as_str) == Some("date-time") => {
                json!("2026-10-05T17:00:00.000Z")
            }
            Some("string") => {
                let max = s.get("maxLength").and_then(Value::as_u64).unwrap_or(20) as usize;
                json!(
                    "Ab3"
                        .repeat(8)
                        .chars()
                        .take(max.min(24))
                        .collect::<String>()
                )
            }
            Some("integer") => {
                let min = s.get("minimum").and_then(Value::as_i64).unwrap_or(1);
                json!(
                    min.max(1)
                        .min(s.get("maximum").and_then(Value::as_i64).unwrap_or(i64::MAX))
                )
            }
            Some("number") => {
                let min = s.get("minimum").and_then(Value::as_f64).unwrap_or(0.5);
                let v =
                    (min + 1.5).min(s.get("maximum").and_then(Value::as_f64).unwrap_or(f64::MAX));
                json!(v)
            }
            Some("boolean") => json!(true),
            // No type: any value (DataTransfer's data).
            _ => json!({"any": ["value", 1]}),
        }
    })
}

fn assert_valid(name: &str, schema: &Value, payload: &Value) {
    let v = jsonschema::validator_for(schema).expect("schema compiles");
    let errors: Vec<String> = v.iter_errors(payload).map(|e| e.to_string()).collect();
    assert!(
        errors.is_empty(),
        "{name} payload {payload} is invalid: {errors:?}"
    );
}

/// Every message of a version: its example requests decode as the CALLs of the direction they
/// travel in, its example responses as the answers to the action, each round trip unchanged and
/// schema-valid. Returns how many payloads were checked.
macro_rules! round_trip {
    ($module:ident, $name:literal) => {{
        let all = schemas(stringify!($module));
        let mut checked = 0;
        for &action in $module::Action::ALL {
            let a = action.as_str();
            for (stem, complete) in [
                (format!("{a}Request"), true),
                (format!("{a}Request"), false),
                (format!("{a}Response"), true),
                (format!("{a}Response"), false),
            ] {
                let schema = &all[&stem];
                let payload = example(schema, schema, complete);
                assert_valid(&stem, schema, &payload);
                let (value, quirks) = if stem.ends_with("Request") {
                    let station = action.direction() != Direction::ToStation;
                    if station {
                        let d = $module::StationCall::decode(a, payload.clone())
                            .unwrap_or_else(|e| panic!("{stem}: {e}"));
                        assert_eq!(d.value.action(), action);
                        (d.value.payload(), d.quirks)
                    } else {
                        let d = $module::CsmsCall::decode(a, payload.clone())
                            .unwrap_or_else(|e| panic!("{stem}: {e}"));
                        assert_eq!(d.value.action(), action);
                        (d.value.payload(), d.quirks)
                    }
                } else {
                    let d = $module::decode_response_value(action, payload.clone())
                        .unwrap_or_else(|e| panic!("{stem}: {e}"));
                    (d.value, d.quirks)
                };
                assert!(quirks.is_empty(), "{} {stem}: {quirks:?}", $name);
                assert_eq!(value, payload, "{} {stem} round trip", $name);
                assert_valid(&stem, schema, &value);
                checked += 1;
            }
        }
        checked
    }};
}

#[test]
fn every_201_message_of_both_directions_round_trips_valid() {
    let checked = round_trip!(v201, "2.0.1");
    assert_eq!(v201::Action::ALL.len(), 64, "the 64 messages of 2.0.1");
    assert_eq!(checked, 64 * 4);
    let commands = v201::Action::ALL
        .iter()
        .filter(|a| a.direction() != Direction::FromStation)
        .count();
    assert_eq!(commands, 40, "39 commands and DataTransfer");
}

#[test]
fn every_21_message_of_both_directions_round_trips_valid() {
    let checked = round_trip!(v21, "2.1");
    assert_eq!(
        v21::Action::ALL.len(),
        90,
        "the 90 request/response messages of 2.1"
    );
    assert_eq!(checked, 90 * 4);
    // The SEND message has a type too.
    let all = schemas("v21");
    let s = &all["NotifyPeriodicEventStream"];
    let payload = example(s, s, true);
    let back: v21::NotifyPeriodicEventStream =
        serde_json::from_value(payload.clone()).expect("decodes");
    assert_eq!(serde_json::to_value(&back).expect("json"), payload);
}

/// What real stations get wrong is read, and each deviation is named.
#[test]
fn lenient_in_what_a_201_station_sends() {
    let event = json!({
        "eventType": "Updated", "timestamp": "2026-10-05T17:00:00", "triggerReason": "MeterValuePeriodic",
        "seqNo": "3", "offline": "false",
        "transactionInfo": {"transactionId": "tx-1", "chargingState": "Charging"},
        "evse": {"id": 1, "connectorId": 1},
        "meterValue": [{"timestamp": "2026-10-05T17:00:00Z", "sampledValue": [
            {"value": "1234.5", "measurand": "Energy.Active.Import.Register", "unitOfMeasure": {"unit": "kWh"}},
            {"value": 7400, "measurand": "Power.Active.Import", "context": "Sample.Periodic", "phase": "L4"}]}],
        "idToken": {"idToken": "04A1B2C3", "type": "ISO14443"},
        "vendorField": 1
    });
    let d = v201::StationCall::decode("TransactionEvent", event).expect("read");
    let v201::StationCall::TransactionEvent(e) = d.value else {
        panic!("a TransactionEvent");
    };
    assert_eq!((e.seq_no, e.offline), (3, Some(false)));
    assert_eq!(e.transaction_info.transaction_id.as_str(), "tx-1");
    let kinds: Vec<QuirkKind> = d.quirks.iter().map(|q| q.kind).collect();
    for k in [
        QuirkKind::TimestampWithoutZone,
        QuirkKind::StringAsNumber,
        QuirkKind::UnknownEnumValue,
        QuirkKind::UnknownField,
    ] {
        assert!(kinds.contains(&k), "{k:?} noted: {:?}", d.quirks);
    }
    let phase = &e.meter_value.expect("values")[0].sampled_value[1].phase;
    assert_eq!(
        phase.as_ref().map(|p| p.as_str()),
        Some("L4"),
        "an unknown value is kept as sent"
    );
    // What cannot be read gets its 2.0.1 error, spelled as 2.0.1 spells it.
    let e = v201::StationCall::decode("TransactionEvent", json!({"eventType": "Started"}))
        .expect_err("refused");
    assert_eq!(e.code, ErrorCode::OccurenceConstraintViolation);
    let f = Frame::error("m1", &e, Version::V201);
    assert!(
        f.to_text()
            .starts_with(r#"[4,"m1","OccurenceConstraintViolation""#),
        "{}",
        f.to_text()
    );
    let e = v201::StationCall::decode("Foo", json!({})).expect_err("unknown");
    assert_eq!(e.code, ErrorCode::NotImplemented);
    let e =
        v201::StationCall::decode("Reset", json!({"type": "Immediate"})).expect_err("wrong way");
    assert_eq!(e.code, ErrorCode::NotSupported);
    let bad = Frame::parse(r#"[2,"m2","Heartbeat",[]]"#).expect_err("payload not an object");
    let f = Frame::error("m2", &bad.error, Version::V201);
    assert!(
        f.to_text().starts_with(r#"[4,"m2","FormatViolation""#),
        "{}",
        f.to_text()
    );
}
