//! Bad frames get the right 1.6 CALLERROR (when an id can be recovered) and never cost the
//! connection.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use crate::{Harness, eventually, exchange, raw_booted};

#[tokio::test]
async fn each_malformed_frame_gets_its_error_code_and_the_connection_stays_open() {
    let h = Harness::open().await;
    let mut ws = raw_booted(&h.url, "BROKEN").await;
    let cases = [
        (r#"[2,"j1","Heartbeat",{"#, "j1", "FormationViolation"),
        (r#"[9,"t1",{}]"#, "t1", "FormationViolation"),
        (r#"[2,"p1","Heartbeat"]"#, "p1", "ProtocolError"),
        (r#"[2,"p2","Heartbeat",[]]"#, "p2", "FormationViolation"),
        (r#"[2,"a1","FooBar",{}]"#, "a1", "NotImplemented"),
        (r#"[2,"a2","Reset",{"type":"Hard"}]"#, "a2", "NotSupported"),
        (
            r#"[2,"a3","InstallCertificate",{"certificateType":"CentralSystemRootCertificate","certificate":"x"}]"#,
            "a3",
            "NotSupported",
        ),
        (
            r#"[2,"o1","StartTransaction",{"connectorId":1,"meterStart":0,"timestamp":"2024-01-01T00:00:00Z"}]"#,
            "o1",
            "OccurenceConstraintViolation",
        ),
        (
            r#"[2,"y1","StartTransaction",{"connectorId":true,"idTag":"T","meterStart":0,"timestamp":"2024-01-01T00:00:00Z"}]"#,
            "y1",
            "TypeConstraintViolation",
        ),
        (
            r#"[2,"e1","FirmwareStatusNotification",{"status":"Exploded"}]"#,
            "e1",
            "PropertyConstraintViolation",
        ),
        (
            r#"[2,"e2","StartTransaction",{"connectorId":1,"idTag":"T","meterStart":0,"timestamp":"noon"}]"#,
            "e2",
            "PropertyConstraintViolation",
        ),
    ];
    for (frame, id, code) in cases {
        let answer = exchange(&mut ws, frame).await;
        assert_eq!(answer[0], json!(4), "{frame} gets a CALLERROR: {answer}");
        assert_eq!(
            (answer[1].as_str(), answer[2].as_str()),
            (Some(id), Some(code)),
            "{frame}: {answer}"
        );
        assert!(
            answer[3].as_str().is_some_and(|d| !d.is_empty()),
            "a description says why: {answer}"
        );
        assert!(answer[4].is_object(), "errorDetails is an object");
    }
    // No id can be read: answered all the same, addressed to -1 (before, a frame that was JSON
    // but not an array got no answer at all).
    for frame in [
        r#"{"not":"an array"}"#,
        "garbage",
        r#"[2,17,"Heartbeat",{}]"#,
    ] {
        let answer = exchange(&mut ws, frame).await;
        assert_eq!(
            (answer[0].clone(), answer[1].as_str(), answer[2].as_str()),
            (json!(4), Some("-1"), Some("FormationViolation")),
            "{frame}: {answer}"
        );
    }
    // A stray answer is never answered; the connection stays.
    for (n, frame) in [
        r#"[3,"nobody-asked",{}]"#,
        r#"[4,"x","GenericError","",{}]"#,
    ]
    .into_iter()
    .enumerate()
    {
        ws.send(Message::text(frame)).await.expect("send");
        let hb = exchange(&mut ws, &format!(r#"[2,"hb{n}","Heartbeat",{{}}]"#)).await;
        assert_eq!(
            (hb[0].clone(), hb[1].as_str()),
            (json!(3), Some(format!("hb{n}").as_str())),
            "after {frame}: {hb}"
        );
    }
    // Quirks and the frame log are written in the background: wait for them.
    eventually(
        "bad frames are visible to the technician as a quirk",
        || async {
            let q = h.engine.quirks("BROKEN").await.ok()?;
            q.iter().any(|q| q.kind == "malformed_frame").then_some(())
        },
    )
    .await;
    eventually("the raw text is logged", || async {
        let f = h.engine.frames("BROKEN", None, 500).await.ok()?;
        f.iter()
            .any(|f| f.direction == "in" && f.text == "garbage")
            .then_some(())
    })
    .await;
}

/// A plain CALL is read straight from its text (`CallParts`, `decode_text`); every frame that
/// path leaves alone, or whose payload it cannot decode, is read in full and answered exactly as
/// before: odd spacing, escaped ids, extra elements, a duplicated key, trailing text. (A numeric
/// id gets a CALLERROR: see the test above.)
#[tokio::test]
async fn calls_the_text_path_leaves_alone_are_answered_as_before() {
    let h = Harness::open().await;
    let mut ws = raw_booted(&h.url, "ODD").await;
    let status = r#"{"connectorId":1,"errorCode":"NoError","status":"Available"}"#;
    let twice = r#"{"connectorId":2,"connectorId":1,"errorCode":"NoError","status":"Faulted"}"#;
    let cases = [
        (
            " [ 2 ,\n \"s1\" , \"Heartbeat\" ,\t{ } ] ".to_string(),
            "s1",
            3,
        ),
        (r#"[2,"s\"2","Heartbeat",{}]"#.to_string(), "s\"2", 3),
        (r#"[2,"s4","Heartbeat",{},"extra"]"#.to_string(), "s4", 3),
        (
            format!(r#"[2,"s5","StatusNotification",{status}]"#),
            "s5",
            3,
        ),
        (format!(r#"[2,"s6","StatusNotification",{twice}]"#), "s6", 3),
        (r#"[2,"s7","Heartbeat",{} {}]"#.to_string(), "s7", 4),
    ];
    for (frame, id, kind) in cases {
        let answer = exchange(&mut ws, &frame).await;
        assert_eq!(
            (answer[0].as_u64(), answer[1].as_str()),
            (Some(kind), Some(id)),
            "{frame}: {answer}"
        );
    }
    // The duplicated key was read as the full parser reads it: the last one counts.
    let e = &h.engine;
    eventually("connector 1 reported Faulted", || async {
        let st = e.station("ODD").await.ok()?;
        let faulted = |id| {
            st.view
                .connectors
                .iter()
                .any(|c| c.evse_id == id && c.status == "Faulted")
        };
        (faulted(1) && !faulted(2)).then_some(())
    })
    .await;
}

/// A message over the size limit (1 MiB) ends the connection with close code 1009, and the
/// station's log says why it went; the station connects again as before.
#[tokio::test]
async fn an_oversized_message_closes_with_1009_and_the_reason_is_logged() {
    let h = Harness::open().await;
    let mut ws = raw_booted(&h.url, "HUGE").await;
    let data = "x".repeat((1 << 20) + 1);
    let frame = format!(r#"[2,"big","DataTransfer",{{"vendorId":"V","data":"{data}"}}]"#);
    ws.send(Message::text(frame)).await.expect("send");
    let code = loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("closed within 10 s");
        match msg {
            Some(Ok(Message::Close(Some(c)))) => break u16::from(c.code),
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    assert_eq!(code, 1009);
    let reason = eventually("the disconnect logged with its reason", || async {
        let st = h.engine.station("HUGE").await.ok()?;
        st.events
            .iter()
            .find(|e| e.kind == "disconnected")
            .map(|e| e.detail["reason"].clone())
    })
    .await;
    assert_eq!(
        reason,
        json!("a message over the size limit (closed with 1009)")
    );
    raw_booted(&h.url, "HUGE").await;
}
