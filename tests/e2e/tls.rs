//! Chargers over TLS (OCPP security profiles 2 and 3) as an installer sets them up: the charger is
//! given the depot's CA certificate (downloaded from the console) and, for profile 3, a client
//! certificate signed from its own request; the operator then raises the station's profile, and
//! every weaker way in is refused with its reason. Real TLS handshakes over loopback sockets.

use chargeyard_sim::{ChargePoint, SimConfig, SimTls};
use rcgen::{CertificateParams, DnType, Issuer, KeyPair};
use serde_json::{Value, json};

use crate::eventually;
use crate::http::{Api, start};

const KEY: &str = "depot-key-0123456789";

async fn station(api: &Api, id: &str) -> Value {
    let (s, v) = api.req("GET", &format!("/api/stations/{id}"), None).await;
    assert_eq!(s, 200, "{v}");
    v
}

/// The depot's CA certificate, as the console offers it for download.
async fn ca(api: &Api) -> String {
    let (status, disposition, pem) = api.download("/api/tls/ca.pem").await;
    assert_eq!(status, 200);
    assert!(disposition.contains("chargeyard-ca.pem"), "{disposition}");
    String::from_utf8(pem).expect("PEM text")
}

/// Ask the console to sign a request for `common_name` made on the charger: the answer, and the
/// request's key.
async fn sign(api: &Api, station: &str, common_name: &str) -> (u16, Value, KeyPair) {
    let key = KeyPair::generate().expect("key");
    let mut params = CertificateParams::default();
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params
        .distinguished_name
        .push(DnType::OrganizationName, "Depot AB");
    let csr = params
        .serialize_request(&key)
        .expect("csr")
        .pem()
        .expect("pem");
    let path = format!("/api/stations/{station}/certificate");
    let (s, v) = api
        .req("POST", &path, Some(json!({ "csr_pem": csr })))
        .await;
    (s, v, key)
}

/// A client certificate and key: from the charger's signing request, signed through the console.
async fn signed_by_depot(api: &Api, station: &str, common_name: &str) -> (String, String) {
    let (s, v, key) = sign(api, station, common_name).await;
    assert_eq!(s, 200, "{v}");
    (
        v["chain_pem"].as_str().expect("chain").to_string(),
        key.serialize_pem(),
    )
}

/// A CA of someone else's, and a certificate it issued to `common_name`.
fn foreign(common_name: &str) -> (String, String, String) {
    let ca_key = KeyPair::generate().expect("key");
    let mut ca = CertificateParams::default();
    ca.distinguished_name
        .push(DnType::CommonName, "Someone else's CA");
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca_cert = ca.self_signed(&ca_key).expect("ca");
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().expect("key");
    let mut leaf = CertificateParams::default();
    leaf.distinguished_name
        .push(DnType::CommonName, common_name);
    let cert = leaf.signed_by(&key, &issuer).expect("leaf");
    (ca_cert.pem(), cert.pem(), key.serialize_pem())
}

/// A certificate for `common_name` from the depot's own CA (read from the data dir, as one issued
/// earlier or for another station would be); `expired`: it expired yesterday.
fn from_depot_ca(api: &Api, common_name: &str, expired: bool) -> (String, String) {
    let tls = api.dir.path().join("tls");
    let read = |f: &str| std::fs::read_to_string(tls.join(f)).expect("CA file");
    let ca_key = KeyPair::from_pem(&read("ca.key.pem")).expect("CA key");
    let issuer = Issuer::from_ca_cert_pem(&read("ca.pem"), ca_key).expect("CA");
    let key = KeyPair::generate().expect("key");
    let mut leaf = CertificateParams::default();
    leaf.distinguished_name
        .push(DnType::CommonName, common_name);
    if expired {
        let day = std::time::Duration::from_secs(86400);
        let now = rcgen::date_time_ymd(2026, 1, 1);
        leaf.not_before = now - day * 400;
        leaf.not_after = now - day;
    }
    let cert = leaf.signed_by(&key, &issuer).expect("leaf");
    (cert.pem(), key.serialize_pem())
}

async fn set_profile(api: &Api, id: &str, profile: u8) -> (u16, Value) {
    let path = format!("/api/stations/{id}/security-profile");
    api.req("PUT", &path, Some(json!({ "profile": profile })))
        .await
}

fn over_tls(api: &Api, id: &str, tls: SimTls) -> SimConfig {
    let mut cfg = SimConfig::new(&api.ocpp_tls, id);
    cfg.tls = Some(tls);
    cfg
}

/// Connect with `cfg`: whether the central system let it in (or the error).
async fn gets_in(cfg: SimConfig) -> Result<(), String> {
    match ChargePoint::connect(cfg).await {
        Ok((cp, _)) => {
            cp.close();
            Ok(())
        }
        Err(e) => Err(e.to_string()),
    }
}

/// A station's Health, and the kinds of its security log, newest first.
async fn security_log(api: &Api, id: &str) -> (Value, Vec<String>) {
    let (s, health) = api
        .req("GET", &format!("/api/stations/{id}/health"), None)
        .await;
    assert_eq!(s, 200, "{health}");
    let kinds = health["security"]
        .as_array()
        .expect("a security log")
        .iter()
        .filter_map(|e| e["kind"].as_str().map(str::to_string))
        .collect();
    (health, kinds)
}

async fn last_refusal(api: &Api, id: &str, count: u64) -> Value {
    eventually("the refusal counted", || async {
        let v = station(api, id).await;
        (v["refused_connections"] == json!(count)).then_some(v["last_refused_reason"].clone())
    })
    .await
}

#[tokio::test]
async fn profile_two_is_tls_with_the_password_and_plain_ws_is_then_refused() {
    let api = start().await;
    let ca = ca(&api).await;
    let tls = SimTls {
        ca_pem: ca.clone(),
        ..SimTls::default()
    };

    // On plain ws:// with its password, the profile cannot be raised: it would lock it out.
    let (cp, _) = ChargePoint::connect(SimConfig::new(&api.ocpp, "TLS2"))
        .await
        .expect("plain");
    cp.boot_and_report().await.expect("boot");
    let (s, v) = set_profile(&api, "TLS2", 2).await;
    assert_eq!(s, 400, "no password yet: {v}");
    assert!(
        v["message"]
            .as_str()
            .is_some_and(|m| m.contains("set one first")),
        "{v}"
    );
    let (s, v) = api
        .req(
            "PUT",
            "/api/stations/TLS2/password",
            Some(json!({"password": KEY})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = set_profile(&api, "TLS2", 2).await;
    assert_eq!(s, 409, "{v}");
    assert!(
        v["message"]
            .as_str()
            .is_some_and(|m| m.contains("plain ws://")),
        "{v}"
    );
    cp.close();

    // Switched to wss:// (with the CA installed): now it can be required.
    let mut secure = over_tls(&api, "TLS2", tls.clone());
    secure.password = Some(KEY.into());
    let (cp, _) = ChargePoint::connect(secure.clone()).await.expect("wss");
    cp.boot_and_report().await.expect("boot over TLS");
    let v = station(&api, "TLS2").await;
    assert_eq!(v["transport"]["tls"], json!(true), "{v}");
    assert_eq!(v["profile_in_force"], json!(1));
    let (s, v) = set_profile(&api, "TLS2", 2).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["profile_in_force"], json!(2));
    let (s, v) = api
        .req(
            "PUT",
            "/api/stations/TLS2/password",
            Some(json!({"password": null})),
        )
        .await;
    assert_eq!(s, 409, "the password is profile 2's: {v}");
    cp.close();

    let mut plain = SimConfig::new(&api.ocpp, "TLS2");
    plain.password = Some(KEY.into());
    assert!(gets_in(plain).await.is_err(), "plain ws:// refused");
    assert_eq!(last_refusal(&api, "TLS2", 1).await, json!("tls_required"));
    let mut no_password = over_tls(&api, "TLS2", tls.clone());
    no_password.password = None;
    assert!(
        gets_in(no_password).await.is_err(),
        "TLS without the password refused"
    );
    assert_eq!(last_refusal(&api, "TLS2", 2).await, json!("no_password"));
    gets_in(secure)
        .await
        .expect("TLS with the password gets in");

    // A charger that was not given the depot's CA does not trust the server, and the console
    // says so.
    let (other_ca, _, _) = foreign("x");
    let untrusting = over_tls(
        &api,
        "TLS2",
        SimTls {
            ca_pem: other_ca,
            ..SimTls::default()
        },
    );
    assert!(gets_in(untrusting).await.is_err());
    let refused = eventually("the TLS refusal shown", || async {
        let (_, v) = api.req("GET", "/api/tls", None).await;
        v["refused"].as_array().filter(|r| !r.is_empty()).cloned()
    })
    .await;
    assert!(
        refused[0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("does not trust this server's certificate")),
        "{refused:?}"
    );
}

#[tokio::test]
async fn profile_three_takes_a_client_certificate_issued_to_the_station_by_a_trusted_ca() {
    let api = start().await;
    let ca = ca(&api).await;
    // The installer adds the charger, then has a signing request for its station id signed (its
    // serial number is known once it has connected).
    let (s, v) = api
        .req("POST", "/api/stations", Some(json!({"id": "TLS3"})))
        .await;
    assert_eq!(s, 201, "{v}");
    let (chain, key) = signed_by_depot(&api, "TLS3", "TLS3").await;
    let with = |cert: &str, key: &str| {
        over_tls(
            &api,
            "TLS3",
            SimTls {
                ca_pem: ca.clone(),
                client_cert_pem: Some(cert.to_string()),
                client_key_pem: Some(key.to_string()),
            },
        )
    };
    // An unknown station cannot have a certificate signed: 404.
    let (s, _) = api
        .req(
            "POST",
            "/api/stations/NOPE/certificate",
            Some(json!({"csr_pem": "x"})),
        )
        .await;
    assert_eq!(s, 404);

    let (cp, _) = ChargePoint::connect(with(&chain, &key)).await.expect("wss");
    cp.boot_and_report().await.expect("boot");
    let v = station(&api, "TLS3").await;
    let cert = &v["transport"]["client_certificate"];
    assert_eq!(cert["subject"], json!("TLS3"), "{v}");
    assert_eq!(cert["organization"], json!("Depot AB"));
    let (_, info) = api.req("GET", "/api/tls", None).await;
    assert_eq!(cert["issuer"], info["ca"]["subject"]);
    let (s, v) = set_profile(&api, "TLS3", 3).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["profile_in_force"], json!(3));
    cp.close();

    gets_in(with(&chain, &key))
        .await
        .expect("its certificate gets in");
    let mut password_only = over_tls(
        &api,
        "TLS3",
        SimTls {
            ca_pem: ca.clone(),
            ..SimTls::default()
        },
    );
    password_only.password = Some(KEY.into());
    assert!(
        gets_in(password_only).await.is_err(),
        "TLS without a certificate"
    );
    assert_eq!(
        last_refusal(&api, "TLS3", 1).await,
        json!("certificate_required")
    );
    assert!(
        gets_in(SimConfig::new(&api.ocpp, "TLS3")).await.is_err(),
        "plain ws://"
    );
    assert_eq!(last_refusal(&api, "TLS3", 2).await, json!("tls_required"));
    // The console signs only requests for the station's own names...
    let (s, v, _) = sign(&api, "TLS3", "SN-SOMEONE-ELSE").await;
    assert_eq!(s, 400, "{v}");
    assert!(
        v["message"]
            .as_str()
            .is_some_and(|m| m.contains("issued to its id or serial number")),
        "{v}"
    );
    // ... and one the CA issued to another name does not get in.
    let (other_chain, other_key) = from_depot_ca(&api, "SN-SOMEONE-ELSE", false);
    assert!(
        gets_in(with(&other_chain, &other_key)).await.is_err(),
        "another station's certificate"
    );
    assert_eq!(
        last_refusal(&api, "TLS3", 3).await,
        json!("certificate_mismatch")
    );

    // Refused in the TLS handshake, before any station id is known: shown in the TLS view.
    let tls_refusal = |n: usize, words: &'static str| {
        let api = &api;
        async move {
            eventually(words, || async {
                let (_, v) = api.req("GET", "/api/tls", None).await;
                let refused = v["refused"].as_array()?.clone();
                (refused.len() == n)
                    .then(|| refused[0]["reason"].as_str().unwrap_or("").to_string())
            })
            .await
        }
    };
    let (foreign_ca, foreign_cert, foreign_key) = foreign("SN-TLS3");
    assert!(gets_in(with(&foreign_cert, &foreign_key)).await.is_err());
    let reason = tls_refusal(1, "a foreign CA refused").await;
    assert!(reason.contains("not signed by the depot's CA"), "{reason}");
    let (old_cert, old_key) = from_depot_ca(&api, "SN-TLS3", true);
    assert!(gets_in(with(&old_cert, &old_key)).await.is_err());
    let reason = tls_refusal(2, "an expired certificate refused").await;
    assert!(reason.contains("expired"), "{reason}");

    // Once the operator trusts that CA, its certificate for this station gets in.
    let (s, v) = api
        .req("PUT", "/api/tls/trusted", Some(json!({"pem": foreign_ca})))
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["trusted"][0]["subject"], json!("Someone else's CA"));
    gets_in(with(&foreign_cert, &foreign_key))
        .await
        .expect("a trusted CA's certificate gets in");
    let (s, v) = api
        .req(
            "PUT",
            "/api/tls/trusted",
            Some(json!({"pem": "not a certificate"})),
        )
        .await;
    assert_eq!(s, 400, "{v}");
}

/// A charger on wss:// is asked to renew its certificate (2.0.1 TriggerMessage, 1.6 the security
/// extension's ExtendedTriggerMessage); it sends a signing request, gets the certificate
/// (CertificateSigned), connects with it, and the station is raised to profile 3: no certificate
/// ever handled by hand. Returns the charger.
async fn renews_its_certificate_over_ocpp(api: &Api, id: &str, protocol: &str) -> ChargePoint {
    let mut cfg = over_tls(
        api,
        id,
        SimTls {
            ca_pem: ca(api).await,
            ..SimTls::default()
        },
    );
    cfg.subprotocols = vec![protocol.into()];
    cfg.password = Some(KEY.into());
    let (cp, _) = ChargePoint::connect(cfg).await.expect("wss");
    cp.boot_and_report().await.expect("boot");
    let (s, v) = api
        .req(
            "POST",
            &format!("/api/stations/{id}/trigger"),
            Some(json!({"message": "SignCertificate"})),
        )
        .await;
    assert_eq!((s, v["status"].clone()), (200, json!("Accepted")), "{v}");
    let (chain, _) = eventually("the certificate installed", || async { cp.certificate() }).await;
    assert!(chain.contains("BEGIN CERTIFICATE"));
    let subject = format!("SN-{id}");
    let logged = eventually("the certificate logged", || async {
        let v = station(api, id).await;
        v["events"]
            .as_array()?
            .iter()
            .find(|e| e["kind"] == json!("certificate_signed"))
            .cloned()
    })
    .await;
    assert_eq!(logged["detail"]["subject"], json!(subject), "{logged}");

    // With it, the charger comes back presenting it, and may be held to profile 3.
    cp.go_offline();
    cp.reconnect()
        .await
        .expect("reconnects with its certificate");
    let v = eventually("connected with the certificate", || async {
        let v = station(api, id).await;
        (v["transport"]["client_certificate"]["subject"] == json!(subject)).then_some(v)
    })
    .await;
    assert_eq!(v["protocol"], json!(protocol));
    let (s, v) = set_profile(api, id, 3).await;
    assert_eq!((s, v["profile_in_force"].clone()), (200, json!(3)), "{v}");
    cp
}

#[tokio::test]
async fn a_two_oh_one_charger_gets_its_certificate_over_ocpp_and_moves_to_profile_three() {
    let api = start().await;
    renews_its_certificate_over_ocpp(&api, "CS201", "ocpp2.0.1").await;
}

/// The 1.6 security extension: the same renewal, and the security events a charger reports kept
/// as its security log, with the certificate and the profile change, in Health.
#[tokio::test]
async fn a_one_six_charger_with_the_security_extension_renews_its_certificate_and_reports_events() {
    let api = start().await;
    let cp = renews_its_certificate_over_ocpp(&api, "CP16", "ocpp1.6").await;
    cp.call(chargeyard_ocpp::v16::SecurityEventNotificationRequest {
        kind: chargeyard_ocpp::lenient::CiString::new("TamperDetectionActivated").expect("fits"),
        timestamp: chargeyard_ocpp::lenient::Timestamp::now(),
        tech_info: chargeyard_ocpp::lenient::CiString::new("cabinet door opened").ok(),
    })
    .await
    .expect("answered");
    let (health, kinds) = security_log(&api, "CP16").await;
    assert_eq!(
        kinds,
        ["security_event", "security_profile", "certificate_signed"],
        "newest first: {health}"
    );
    assert_eq!(
        health["security"][0]["detail"]["type"],
        json!("TamperDetectionActivated")
    );
    assert_eq!(
        health["security"][0]["detail"]["techInfo"],
        json!("cabinet door opened")
    );
}

/// A charger on plain `ws://` with its password is moved to profile 2 from the console, over OCPP:
/// it is given the depot's CA and its new profile (1.6: SecurityProfile; 2.0.1: a network profile
/// for `wss://`, put first, and a reset), comes back over `wss://` on the same port, and is then
/// held to profile 2: plain `ws://` is refused from then on.
async fn moves_to_profile_two_over_ocpp(protocol: &str) {
    let api = start().await;
    let id = format!("UP-{}", protocol.replace('.', ""));
    let mut cfg = SimConfig::new(&api.ocpp, &id);
    cfg.subprotocols = vec![protocol.into()];
    cfg.reboot_on_reset = true;
    let (cp, _) = ChargePoint::connect(cfg.clone()).await.expect("plain");
    cp.boot_and_report().await.expect("boot");
    let upgrade = format!("/api/stations/{id}/security-profile/upgrade");
    let (s, v) = api.req("POST", &upgrade, Some(json!({"profile": 2}))).await;
    assert_eq!(s, 400, "no password yet: {v}");
    let (s, v) = api
        .req(
            "PUT",
            &format!("/api/stations/{id}/password"),
            Some(json!({"password": KEY})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = api.req("POST", &upgrade, Some(json!({"profile": 3}))).await;
    assert_eq!(s, 409, "profile 3 needs a certificate first: {v}");
    assert!(
        v["message"]
            .as_str()
            .is_some_and(|m| m.contains("renew its certificate first")),
        "{v}"
    );

    let (s, v) = api.req("POST", &upgrade, Some(json!({"profile": 2}))).await;
    assert_eq!(s, 200, "{v}");
    let port = api
        .ocpp
        .split(':')
        .nth(2)
        .and_then(|p| p.split('/').next())
        .expect("port");
    assert_eq!(
        v["url"],
        json!(format!("wss://127.0.0.1:{port}/ocpp/")),
        "the same port, wss://"
    );
    let steps: Vec<&str> = v["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(steps[0], "InstallCertificate: Accepted", "{v}");
    let v = eventually("back over wss:// and held to profile 2", || async {
        let v = station(&api, &id).await;
        (v["transport"]["tls"] == json!(true) && v["profile_in_force"] == json!(2)).then_some(v)
    })
    .await;
    assert_eq!(v["protocol"], json!(protocol));
    cfg.password = Some(KEY.into());
    let refused = gets_in(cfg).await;
    assert!(refused.is_err(), "plain ws:// is refused at profile 2");
    let (health, kinds) = security_log(&api, &id).await;
    assert_eq!(
        kinds[..2],
        ["security_profile", "security_profile_upgrade"],
        "{health}"
    );
    assert!(
        health["security"][0]["detail"]["by"]
            .as_str()
            .is_some_and(|b| b.starts_with("upgrade over OCPP")),
        "{health}"
    );
}

#[tokio::test]
async fn a_one_six_charger_is_moved_to_profile_two_over_ocpp() {
    moves_to_profile_two_over_ocpp("ocpp1.6").await;
}

#[tokio::test]
async fn a_two_oh_one_charger_is_moved_to_profile_two_over_ocpp() {
    moves_to_profile_two_over_ocpp("ocpp2.0.1").await;
}

/// A charger that takes the new profile but comes back over plain `ws://` is not locked out: it
/// keeps its old profile and the security log says why.
#[tokio::test]
async fn a_charger_that_comes_back_on_plain_ws_keeps_its_profile() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let api = start().await;
    let url = api.ocpp.trim_end_matches('/').to_string();
    let mut ws = crate::raw_booted(&url, "STAYS").await;
    let (s, v) = api
        .req(
            "PUT",
            "/api/stations/STAYS/password",
            Some(json!({"password": KEY, "on_charger": false})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    // The charger: Accepted to every command (InstallCertificate, ChangeConfiguration).
    let answering = tokio::spawn(async move {
        while let Some(Ok(Message::Text(t))) = ws.next().await {
            let f: Value = serde_json::from_str(&t).expect("json");
            if f[0] == json!(2) {
                let reply = json!([3, f[1], {"status": "Accepted"}]).to_string();
                ws.send(Message::text(reply)).await.expect("send");
            }
        }
    });
    let (s, v) = api
        .req(
            "POST",
            "/api/stations/STAYS/security-profile/upgrade",
            Some(json!({"profile": 2})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    answering.abort();
    // Back on plain ws:// with its password.
    let mut cfg = SimConfig::new(&api.ocpp, "STAYS");
    cfg.password = Some(KEY.into());
    let (cp, _) = ChargePoint::connect(cfg).await.expect("still gets in");
    cp.boot_and_report().await.expect("boot");
    let log = eventually("the failed upgrade logged", || async {
        let (_, h) = api.req("GET", "/api/stations/STAYS/health", None).await;
        let first = h["security"].as_array()?.first()?.clone();
        (first["kind"] == json!("security_profile_upgrade_failed")).then_some(first)
    })
    .await;
    assert!(
        log["detail"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("plain ws://")),
        "{log}"
    );
    assert_eq!(station(&api, "STAYS").await["profile_in_force"], json!(1));
}

/// A station the operator rejects or removes loses its certificates: the connection presenting
/// one is closed, and the certificate is refused from then on (as `certificate_revoked`, shown on
/// the station), even once the station is accepted again; a newly signed one gets in.
#[tokio::test]
async fn a_rejected_or_removed_stations_certificate_stops_working() {
    let api = start().await;
    let ca = ca(&api).await;
    let with = |id: &str, (cert, key): &(String, String)| {
        over_tls(
            &api,
            id,
            SimTls {
                ca_pem: ca.clone(),
                client_cert_pem: Some(cert.clone()),
                client_key_pem: Some(key.clone()),
            },
        )
    };
    for id in ["REJ", "GONE"] {
        let (s, v) = api
            .req("POST", "/api/stations", Some(json!({"id": id})))
            .await;
        assert_eq!(s, 201, "{v}");
    }
    let old = signed_by_depot(&api, "REJ", "REJ").await;
    let (cp, _) = ChargePoint::connect(with("REJ", &old)).await.expect("wss");
    cp.boot_and_report().await.expect("boot");

    let (s, v) = api.req("POST", "/api/stations/REJ/reject", None).await;
    assert_eq!(s, 200, "{v}");
    assert!(
        cp.closed(std::time::Duration::from_secs(5)).await,
        "the connection with the revoked certificate is closed"
    );
    let refused = gets_in(with("REJ", &old)).await;
    assert!(refused.is_err(), "the revoked certificate is refused");
    assert_eq!(
        last_refusal(&api, "REJ", 1).await,
        json!("certificate_revoked")
    );
    let (s, v) = api
        .req("POST", "/api/stations/REJ/accept", Some(json!({})))
        .await;
    assert_eq!(s, 200, "{v}");
    assert!(
        gets_in(with("REJ", &old)).await.is_err(),
        "accepting again does not bring it back"
    );
    let new = signed_by_depot(&api, "REJ", "REJ").await;
    gets_in(with("REJ", &new))
        .await
        .expect("a new certificate gets in");
    let (_, kinds) = security_log(&api, "REJ").await;
    assert!(
        kinds.iter().any(|k| k == "certificate_revoked"),
        "{kinds:?}"
    );

    // Removed: the same id connecting again with the old certificate (unknown stations are
    // accepted here) is refused.
    let gone = signed_by_depot(&api, "GONE", "GONE").await;
    let (s, _) = api.req("DELETE", "/api/stations/GONE", None).await;
    assert_eq!(s, 204);
    let refused = gets_in(with("GONE", &gone)).await;
    assert!(
        refused.is_err(),
        "a removed station's certificate is refused"
    );
}
