//! A text frame as a charger could send it, read the way the engine reads one: the hot path's
//! `CallParts::find`, else `Frame::parse`, then the payload decoded as every version's CALL in
//! both directions, and an answer's payload as every version's response. Whatever decodes must
//! go out again as a frame and a payload that read back the same.

#![no_main]

use chargeyard_ocpp::{CallParts, Frame, v16, v21, v201};
use libfuzzer_sys::fuzz_target;

/// Decode `payload` as a CALL of `action` with `decode`; what decodes must survive a trip
/// through its own wire form unchanged.
macro_rules! round_trip {
    ($ty:ty, $action:expr, $payload:expr) => {
        if let Ok(d) = <$ty>::decode($action, $payload.clone()) {
            let again = <$ty>::decode($action, d.value.payload()).unwrap_or_else(|e| {
                panic!(
                    "{} {}: our own payload is refused: {e:?}",
                    stringify!($ty),
                    $action
                )
            });
            assert_eq!(
                again.value,
                d.value,
                "{} {} changes on a round trip",
                stringify!($ty),
                $action
            );
        }
    };
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(parts) = CallParts::find(text) {
        let _ = v16::ChargePointCall::decode_text(parts.action, parts.payload);
        let _ = v201::StationCall::decode_text(parts.action, parts.payload);
    }
    let Ok(frame) = Frame::parse(text) else {
        return;
    };
    let back = Frame::parse(&frame.to_text()).expect("a frame we write reads back");
    assert_eq!(back, frame, "a frame changes on a round trip");
    match &frame {
        Frame::Call {
            action, payload, ..
        } => {
            round_trip!(v16::ChargePointCall, action, payload);
            round_trip!(v16::CentralSystemCall, action, payload);
            round_trip!(v201::StationCall, action, payload);
            round_trip!(v201::CsmsCall, action, payload);
            round_trip!(v21::StationCall, action, payload);
            round_trip!(v21::CsmsCall, action, payload);
        }
        // The answer's action is the one we asked for; here the message id names it.
        Frame::CallResult { id, payload } => {
            if let Some(a) = v16::Action::parse(id) {
                let _ = v16::decode_response_value(a, payload.clone());
            }
            if let Some(a) = v201::Action::parse(id) {
                let _ = v201::decode_response_value(a, payload.clone());
            }
            if let Some(a) = v21::Action::parse(id) {
                let _ = v21::decode_response_value(a, payload.clone());
            }
        }
        Frame::CallError { .. } => {}
    }
});
