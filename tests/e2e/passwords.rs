//! Station passwords as a depot manager sets them, and what the charger then meets: a password is
//! given to the charger before it is required (so accepting a charger with one does not lock it
//! out), OCPP's lengths are enforced, and refused connections are counted with their reason.

use chargeyard_core::{EngineConfig, UnknownStations};
use chargeyard_sim::{ChargePoint, SimConfig};
use serde_json::{Value, json};

use crate::http::{Api, start_with};
use crate::{config, eventually};

const KEY: &str = "depot-key-0123456789";

async fn pending_api() -> Api {
    start_with(EngineConfig {
        unknown_stations: UnknownStations::Pending,
        ..config()
    })
    .await
}

async fn station(api: &Api, id: &str) -> Value {
    let (s, v) = api.req("GET", &format!("/api/stations/{id}"), None).await;
    assert_eq!(s, 200, "{v}");
    v
}

/// Connect as `id` with `password`: whether the central system let it in.
async fn gets_in(api: &Api, id: &str, password: Option<&str>) -> bool {
    let mut cfg = SimConfig::new(&api.ocpp, id);
    cfg.password = password.map(str::to_string);
    match ChargePoint::connect(cfg).await {
        Ok((cp, _)) => {
            cp.close();
            true
        }
        Err(_) => false,
    }
}

/// Before, accepting a charger with the password "abc" set Basic auth the charger was never
/// told: at its next connection it got HTTP 401, and the console showed only "Offline".
#[tokio::test]
async fn accepting_with_a_password_gives_it_to_the_charger_first() {
    let api = pending_api().await;
    let (cp, _) = ChargePoint::connect(SimConfig::new(&api.ocpp, "NEW"))
        .await
        .expect("sim");
    assert_eq!(cp.boot().await.expect("boot").status.as_str(), "Pending");

    let (s, v) = api
        .req(
            "POST",
            "/api/stations/NEW/accept",
            Some(json!({"password": "abc"})),
        )
        .await;
    assert_eq!((s, v["code"].clone()), (400, json!("invalid")), "{v}");
    assert!(
        v["message"]
            .as_str()
            .is_some_and(|m| m.contains("16 to 40")),
        "{v}"
    );
    let v = station(&api, "NEW").await;
    assert_eq!(
        (v["registration"].clone(), v["has_password"].clone()),
        (json!("pending"), json!(false)),
        "a refused password changes nothing"
    );

    let (s, v) = api
        .req(
            "POST",
            "/api/stations/NEW/accept",
            Some(json!({"password": KEY})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (v["registration"].clone(), v["has_password"].clone()),
        (json!("accepted"), json!(true))
    );
    assert_eq!(
        cp.password().as_deref(),
        Some(KEY),
        "the charger was given its AuthorizationKey"
    );
    // Its next connection: with the key it gets in, without it is refused and counted.
    cp.go_offline();
    cp.reconnect()
        .await
        .expect("the charger gets in with its new key");
    assert!(!gets_in(&api, "NEW", None).await, "no password: refused");
    assert!(
        !gets_in(&api, "NEW", Some("depot-key-wrong-0000")).await,
        "wrong password: refused"
    );
    let v = eventually("both refusals counted", || async {
        let v = station(&api, "NEW").await;
        (v["refused_connections"] == json!(2)).then_some(v)
    })
    .await;
    assert_eq!(v["last_refused_reason"], json!("wrong_password"), "{v}");
    let (_, health) = api.req("GET", "/api/stations/NEW/health", None).await;
    assert_eq!(health["refused_connections"], json!(2), "{health}");

    // The change is in the logs the console keeps; the key is not.
    for log in ["frames?limit=200", "commands"] {
        let text = eventually("the change logged", || async {
            let (_, v) = api
                .req("GET", &format!("/api/stations/NEW/{log}"), None)
                .await;
            let text = v.to_string();
            text.contains("AuthorizationKey").then_some(text)
        })
        .await;
        assert!(!text.contains(KEY), "the key is in the {log}: {text}");
    }
}

/// A charger that refuses the key (no security profile 1) is not locked out: nothing is required
/// and the operator is told; one who entered the key on the charger by hand can say so.
#[tokio::test]
async fn a_charger_that_refuses_the_key_is_not_locked_out() {
    let api = pending_api().await;
    let mut cfg = SimConfig::new(&api.ocpp, "OLD");
    cfg.takes_authorization_key = false;
    let (cp, _) = ChargePoint::connect(cfg).await.expect("sim");
    cp.boot().await.expect("boot");
    let (s, v) = api
        .req(
            "POST",
            "/api/stations/OLD/accept",
            Some(json!({"password": KEY})),
        )
        .await;
    assert_eq!(
        (s, v["code"].clone()),
        (409, json!("charger_refused")),
        "{v}"
    );
    assert!(
        v["message"]
            .as_str()
            .is_some_and(|m| m.contains("Rejected")),
        "{v}"
    );
    let v = station(&api, "OLD").await;
    assert_eq!(
        (v["registration"].clone(), v["has_password"].clone()),
        (json!("pending"), json!(false))
    );
    assert!(gets_in(&api, "OLD", None).await, "still gets in");

    // Entered by hand on the charger: required from the next connection on.
    let (s, v) = api
        .req(
            "POST",
            "/api/stations/OLD/accept",
            Some(json!({"password": KEY, "on_charger": false})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert!(!gets_in(&api, "OLD", None).await);
    assert!(gets_in(&api, "OLD", Some(KEY)).await);
}

/// From the station page: change the password (set on the charger first; offline only when
/// entered by hand), or clear it.
#[tokio::test]
async fn the_password_is_changed_and_cleared_from_the_station() {
    let api = start_with(config()).await;
    let (cp, _) = ChargePoint::connect(SimConfig::new(&api.ocpp, "CP1"))
        .await
        .expect("sim");
    cp.boot_and_report().await.expect("boot");
    let put = |body: Value| {
        let api = &api;
        async move {
            api.req("PUT", "/api/stations/CP1/password", Some(body))
                .await
        }
    };
    let long = "x".repeat(41);
    let (s, v) = put(json!({"password": long})).await;
    assert_eq!((s, v["code"].clone()), (400, json!("invalid")), "{v}");
    let (s, v) = put(json!({"password": "with a space in it 123"})).await;
    assert_eq!((s, v["code"].clone()), (400, json!("invalid")), "{v}");

    let (s, v) = put(json!({"password": KEY})).await;
    assert_eq!(
        (s, v["required"].clone(), v["charger_answer"].clone()),
        (200, json!(true), json!("Accepted")),
        "{v}"
    );
    assert_eq!(cp.password().as_deref(), Some(KEY));

    cp.close();
    eventually("the station offline", || async {
        (station(&api, "CP1").await["connected"] == json!(false)).then_some(())
    })
    .await;
    let other = "another-depot-key-99";
    let (s, v) = put(json!({"password": other})).await;
    assert_eq!(
        (s, v["code"].clone()),
        (409, json!("conflict")),
        "an offline charger cannot be given it: {v}"
    );
    assert!(gets_in(&api, "CP1", Some(KEY)).await, "nothing changed");
    let (s, _) = put(json!({"password": other, "on_charger": false})).await;
    assert_eq!(s, 200);
    assert!(gets_in(&api, "CP1", Some(other)).await);

    let (s, v) = put(json!({"password": null})).await;
    assert_eq!((s, v["required"].clone()), (200, json!(false)), "{v}");
    assert!(gets_in(&api, "CP1", None).await, "no password needed now");
}
