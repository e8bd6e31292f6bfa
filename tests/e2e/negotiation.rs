//! The handshake: subprotocol negotiation, station id from the path, Basic auth.

use chargeyard_core::NewStation;
use chargeyard_sim::ChargePoint;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::{Harness, eventually};

/// Handshake with the given headers; Ok(chosen subprotocol) or Err(HTTP status, body).
async fn handshake(
    url: &str,
    protocols: &[&str],
    auth: Option<&str>,
) -> Result<Option<String>, (u16, String)> {
    let mut req = url.into_client_request().expect("request");
    for p in protocols {
        req.headers_mut().append(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_str(p).expect("header"),
        );
    }
    if let Some(a) = auth {
        req.headers_mut()
            .insert("Authorization", HeaderValue::from_str(a).expect("header"));
    }
    match tokio_tungstenite::connect_async(req).await {
        Ok((_ws, resp)) => Ok(resp
            .headers()
            .get("Sec-WebSocket-Protocol")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)),
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            let body = resp
                .body()
                .as_ref()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default();
            Err((resp.status().as_u16(), body))
        }
        Err(e) => panic!("unexpected handshake error: {e}"),
    }
}

/// A handshake written by hand, as a charger's firmware sends it; returns the status line and the
/// Sec-WebSocket-Protocol the server answered with. (tungstenite's client cannot offer a
/// comma-separated list in one header.)
async fn raw_handshake(
    addr: std::net::SocketAddr,
    path: &str,
    protocol_headers: &[&str],
) -> (String, Option<String>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("tcp");
    let mut req = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    );
    for p in protocol_headers {
        req.push_str(&format!("Sec-WebSocket-Protocol: {p}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).await.expect("write");
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = s.read(&mut chunk).await.expect("read");
        assert!(n > 0, "server closed during the handshake");
        buf.extend_from_slice(&chunk[..n]);
    }
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text.lines().next().unwrap_or_default().to_string();
    let chosen = text.lines().find_map(|l| {
        l.to_ascii_lowercase()
            .starts_with("sec-websocket-protocol:")
            .then(|| l[23..].trim().to_string())
    });
    (status, chosen)
}

/// One port for every version: the highest version we speak that the charger offers, in our
/// order of preference rather than the order offered.
#[tokio::test]
async fn subprotocols_are_chosen_from_every_offered_header() {
    let h = Harness::open().await;
    let (status, chosen) = raw_handshake(h.addr, "/ocpp/CP1", &["ocpp1.6, ocpp2.0.1"]).await;
    assert!(status.contains("101"), "{status}");
    assert_eq!(
        chosen.as_deref(),
        Some("ocpp2.0.1"),
        "from a comma-separated list"
    );
    let (status, chosen) = raw_handshake(h.addr, "/ocpp/CP2", &["ocpp1.6", "ocpp2.0.1"]).await;
    assert!(status.contains("101"), "{status}");
    assert_eq!(chosen.as_deref(), Some("ocpp2.0.1"), "from several headers");
    let (_, chosen) = raw_handshake(h.addr, "/ocpp/CP4", &["ocpp2.1, ocpp1.6"]).await;
    assert_eq!(chosen.as_deref(), Some("ocpp1.6"), "2.1 is not spoken yet");
    let (status, chosen) = raw_handshake(h.addr, "/ocpp/CP3", &[]).await;
    assert!(
        status.contains("101") && chosen.is_none(),
        "no offer: accepted, nothing echoed ({status})"
    );
}

#[tokio::test]
async fn only_unsupported_versions_get_a_400_with_a_reason() {
    let h = Harness::open().await;
    let r = handshake(&format!("{}/CP1", h.url), &["ocpp2.1", "ocpp1.5"], None).await;
    let (status, body) = r.expect_err("refused");
    assert_eq!(status, 400);
    assert!(
        body.contains("ocpp2.1, ocpp1.5") && body.contains("speaks ocpp2.0.1, ocpp1.6"),
        "the reason names offered and supported versions: {body}"
    );
}

/// A depot can hold a charger to the versions it trusts: only those are chosen, an offer of
/// none of them is refused and counted like any refused connection, and the choice is checked.
#[tokio::test]
async fn a_station_speaks_only_the_versions_enabled_for_it() {
    use chargeyard_core::{Error, ProtocolsRequest};
    let h = Harness::open().await;
    h.engine
        .create_station(NewStation {
            id: "OLD".into(),
            password: None,
        })
        .await
        .expect("created");
    let only = |v: &[&str]| ProtocolsRequest {
        enabled: Some(v.iter().map(|s| s.to_string()).collect()),
    };
    let st = h
        .engine
        .set_station_protocols("OLD", only(&["ocpp1.6"]))
        .await
        .expect("set");
    assert_eq!(
        st.view.station.enabled_protocols.as_deref(),
        Some("ocpp1.6")
    );
    let url = format!("{}/OLD", h.url);
    let (_, chosen) = raw_handshake(h.addr, "/ocpp/OLD", &["ocpp2.0.1, ocpp1.6"]).await;
    assert_eq!(chosen.as_deref(), Some("ocpp1.6"));
    let (status, body) = handshake(&url, &["ocpp2.0.1"], None)
        .await
        .expect_err("2.0.1 is not enabled for it");
    assert_eq!(status, 400);
    assert!(body.contains("speaks ocpp1.6 to this station"), "{body}");
    eventually("the refusal counted", || async {
        let st = h.engine.station("OLD").await.ok()?;
        (st.view.station.refused_connections == 1
            && st.view.station.last_refused_reason.as_deref() == Some("unsupported_protocol"))
        .then_some(())
    })
    .await;

    for bad in [only(&["ocpp9"]), only(&[])] {
        let r = h.engine.set_station_protocols("OLD", bad).await;
        assert!(matches!(r, Err(Error::Invalid(_))), "{r:?}");
    }
    let r = h
        .engine
        .set_station_protocols("NOBODY", ProtocolsRequest { enabled: None })
        .await;
    assert!(matches!(r, Err(Error::StationNotFound(_))), "{r:?}");

    h.engine
        .set_station_protocols("OLD", ProtocolsRequest { enabled: None })
        .await
        .expect("every version again");
    let (_, chosen) = raw_handshake(h.addr, "/ocpp/OLD", &["ocpp2.0.1, ocpp1.6"]).await;
    assert_eq!(chosen.as_deref(), Some("ocpp2.0.1"));
}

/// A charger that once chose 2.0.1 and later offers nothing is spoken to in 2.0.1 (noted as a
/// quirk), not in 1.6.
#[tokio::test]
async fn no_subprotocol_means_the_version_last_chosen() {
    let h = Harness::open().await;
    let (_, chosen) = raw_handshake(h.addr, "/ocpp/NEW", &["ocpp2.0.1"]).await;
    assert_eq!(chosen.as_deref(), Some("ocpp2.0.1"));
    eventually("NEW recorded", || async {
        h.engine.station("NEW").await.ok()
    })
    .await;
    let (status, chosen) = raw_handshake(h.addr, "/ocpp/NEW", &[]).await;
    assert!(status.contains("101") && chosen.is_none(), "{status}");
    eventually("the quirk names the version used", || async {
        let q = h.engine.quirks("NEW").await.ok()?;
        q.iter()
            .any(|q| q.kind == "no_subprotocol" && q.example.ends_with("using ocpp2.0.1"))
            .then_some(())
    })
    .await;
}

#[tokio::test]
async fn no_subprotocol_falls_back_to_16_and_is_recorded_as_a_quirk() {
    let h = Harness::open().await;
    let mut cfg = h.sim_config("GRIZZL-E");
    cfg.subprotocols.clear();
    let (cp, _) = ChargePoint::connect(cfg)
        .await
        .expect("connects without subprotocol");
    assert_eq!(
        cp.protocol(),
        None,
        "no subprotocol is echoed when none was offered"
    );
    let boot = cp.boot().await.expect("1.6 is spoken anyway");
    assert_eq!(boot.status.as_str(), "Accepted");
    let quirks = h.engine.quirks("GRIZZL-E").await.expect("quirks");
    assert!(
        quirks.iter().any(|q| q.kind == "no_subprotocol"),
        "quirk recorded: {quirks:?}"
    );
    let st = h.engine.station("GRIZZL-E").await.expect("station");
    assert_eq!(st.view.station.protocol.as_deref(), Some("ocpp1.6"));
}

#[tokio::test]
async fn station_ids_are_percent_decoded_and_double_slashes_tolerated() {
    let h = Harness::open().await;
    let (cp, _) = ChargePoint::connect(h.sim_config("CP 01-ä"))
        .await
        .expect("encoded id connects");
    cp.boot().await.expect("boots");
    h.engine
        .station("CP 01-ä")
        .await
        .expect("stored under the decoded id");
    let r = handshake(&format!("{}/CP%2F01", h.url), &["ocpp1.6"], None).await;
    assert_eq!(
        r.map_err(|e| e.0),
        Err(404),
        "an id with '/' cannot be addressed later, so it is refused"
    );
    let url = format!("ws://{}//ocpp//CP02", h.addr);
    assert_eq!(
        handshake(&url, &["ocpp1.6"], None).await,
        Ok(Some("ocpp1.6".into()))
    );
    eventually("CP02 recorded", || async {
        h.engine.station("CP02").await.ok()
    })
    .await;
}

#[tokio::test]
async fn basic_auth_is_required_once_a_password_is_set() {
    let h = Harness::open().await;
    h.engine
        .create_station(NewStation {
            id: "SEC1".into(),
            password: Some("0123456789abcdef".into()),
        })
        .await
        .expect("created");
    let url = format!("{}/SEC1", h.url);
    let basic = |user: &str, pw: &str| {
        use base64::Engine as _;
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pw}"))
        )
    };
    assert_eq!(
        handshake(&url, &["ocpp1.6"], None).await.map_err(|e| e.0),
        Err(401),
        "no credentials"
    );
    assert_eq!(
        handshake(&url, &["ocpp1.6"], Some(&basic("SEC1", "wrong")))
            .await
            .map_err(|e| e.0),
        Err(401),
        "wrong password"
    );
    assert_eq!(
        handshake(
            &url,
            &["ocpp1.6"],
            Some(&basic("OTHER", "0123456789abcdef"))
        )
        .await
        .map_err(|e| e.0),
        Err(401),
        "user must be the station id"
    );
    assert!(
        handshake(&url, &["ocpp1.6"], Some(&basic("SEC1", "0123456789abcdef")))
            .await
            .is_ok(),
        "right password"
    );
    let hexed: String = "0123456789abcdef"
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(
        handshake(&url, &["ocpp1.6"], Some(&basic("SEC1", &hexed)))
            .await
            .is_ok(),
        "hex-encoded key accepted"
    );

    let mut cfg = h.sim_config("SEC1");
    cfg.password = Some("0123456789abcdef".into());
    let (cp, _) = ChargePoint::connect(cfg)
        .await
        .expect("simulator with password connects");
    assert_eq!(cp.boot().await.expect("boots").status.as_str(), "Accepted");
    let stored: Option<String> =
        sqlx::query_scalar("SELECT password_hash FROM stations WHERE id = 'SEC1'")
            .fetch_one(&h.engine.store().reader)
            .await
            .expect("row");
    let stored = stored.expect("a hash is stored");
    assert!(
        !stored.contains("0123456789abcdef"),
        "the password is stored hashed, not as given"
    );
}

/// A 2.0.1 handshake offering `extensions`: the connection's TCP stream (for what follows the
/// handshake, written and read by the caller) and the extensions agreed.
async fn offer_extensions(
    url: &str,
    station: &str,
    extensions: Option<&'static str>,
) -> (tokio::net::TcpStream, Option<String>) {
    let mut req = format!("{url}/{station}")
        .into_client_request()
        .expect("request");
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static("ocpp2.0.1"),
    );
    if let Some(e) = extensions {
        req.headers_mut()
            .insert("Sec-WebSocket-Extensions", HeaderValue::from_static(e));
    }
    let (ws, resp) = tokio_tungstenite::connect_async(req)
        .await
        .expect("connects");
    let agreed = resp
        .headers()
        .get("Sec-WebSocket-Extensions")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    match ws.into_inner() {
        tokio_tungstenite::MaybeTlsStream::Plain(tcp) => (tcp, agreed),
        _ => panic!("plain ws"),
    }
}

/// permessage-deflate (RFC 7692, which OCPP 2.0.1 Part 4 asks a central system to support): a
/// charger that offers it gets it agreed at the handshake and talks compressed frames both ways
/// (here yawc, a second WebSocket implementation, compresses and inflates on the charger's
/// side); one that does not offer it is answered without it, as before.
#[tokio::test]
async fn a_charger_offering_compression_talks_compressed_frames() {
    use futures_util::{SinkExt, StreamExt};
    use yawc::frame::{Frame, OpCode};
    let h = Harness::open().await;
    let (tcp, agreed) = offer_extensions(
        &h.url,
        "DEFLATE-1",
        Some("permessage-deflate; client_max_window_bits"),
    )
    .await;
    let agreed = agreed.expect("compression agreed");
    assert_eq!(agreed, "permessage-deflate");
    let mut ws = yawc::WebSocket::from_stream_with_extensions(
        tcp,
        yawc::Role::Client,
        Some(&agreed),
        yawc::Options::default().with_balanced_compression(),
    )
    .expect("compressed client");
    let mut exchange = async |text: String| {
        ws.send(Frame::text(text)).await.expect("send");
        loop {
            let f = tokio::time::timeout(std::time::Duration::from_secs(10), ws.next())
                .await
                .expect("an answer")
                .expect("open");
            if f.opcode() == OpCode::Text {
                return serde_json::from_str::<serde_json::Value>(f.as_str()).expect("JSON");
            }
        }
    };
    let boot = exchange(
        r#"[2,"b1","BootNotification",{"reason":"PowerUp","chargingStation":{"model":"M","vendorName":"V"}}]"#.into(),
    )
    .await;
    assert_eq!(boot[2]["status"], "Accepted", "{boot}");
    // A long, repetitive payload (what compression is for) arrives whole.
    let custom = "x".repeat(20_000);
    let answer = exchange(format!(
        r#"[2,"d1","DataTransfer",{{"vendorId":"org.example","data":"{custom}"}}]"#
    ))
    .await;
    assert_eq!(answer[2]["status"], "UnknownVendorId", "{answer}");
    crate::flush(&h.engine).await;
    let frames = h
        .engine
        .frames("DEFLATE-1", None, 10)
        .await
        .expect("frames");
    assert!(
        frames.iter().any(|f| f.text.contains(&custom)),
        "the inflated text is what is logged"
    );
    assert_eq!(
        h.engine
            .station("DEFLATE-1")
            .await
            .expect("station")
            .view
            .station
            .protocol
            .as_deref(),
        Some("ocpp2.0.1")
    );

    // On the wire: a plain (uncompressed, which the extension allows) CALL written by hand is
    // answered with a compressed frame (RSV1 set).
    let (mut tcp, _) = offer_extensions(&h.url, "DEFLATE-2", Some("permessage-deflate")).await;
    let call = br#"[2,"h1","Heartbeat",{}]"#;
    let mut frame = vec![0x81, 0x80 | call.len() as u8, 0, 0, 0, 0];
    frame.extend_from_slice(call);
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    tcp.write_all(&frame).await.expect("write");
    let mut first = [0u8; 1];
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        tcp.read_exact(&mut first),
    )
    .await
    .expect("an answer")
    .expect("read");
    assert_eq!(first[0], 0xC1, "FIN, RSV1 (compressed), text");

    // Without an offer, nothing is agreed.
    assert_eq!(offer_extensions(&h.url, "PLAIN-1", None).await.1, None);
    h.stop().await;
}
