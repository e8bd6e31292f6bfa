//! The console's login, as a browser uses it over a real socket: nothing without a session
//! cookie, roles decide what may change, failed logins slow down, logout ends the session, and a
//! command is logged under the operator who sent it.

use chargeyard_core::operators::{NewOperator, Role};
use chargeyard_server::ConsoleOptions;
use serde_json::{Value, json};

use crate::config;
use crate::http::{Api, start_console};

async fn console() -> Api {
    let options = ConsoleOptions {
        require_login: true,
        ..Default::default()
    };
    start_console(config(), options).await
}

/// Log in: the session token from the cookie, and the answer.
async fn login(api: &Api, name: &str, password: &str) -> (u16, Option<String>, Value) {
    let (s, cookie, v) = api
        .as_operator(
            "",
            "POST",
            "/api/login",
            Some(json!({"name": name, "password": password})),
        )
        .await;
    let token = cookie
        .split(';')
        .next()
        .and_then(|c| c.strip_prefix("chargeyard_session="))
        .filter(|t| !t.is_empty())
        .map(str::to_string);
    if s == 200 {
        for flag in ["HttpOnly", "SameSite=Strict", "Path=/"] {
            assert!(cookie.contains(flag), "{flag} in {cookie}");
        }
    }
    (s, token, v)
}

#[tokio::test]
async fn operators_log_in_with_roles_and_out_again() {
    let api = console().await;
    let (s, v) = api.req("GET", "/api/stations", None).await;
    assert_eq!((s, v["code"].clone()), (401, json!("login_required")));
    let (s, v) = api.req("GET", "/api/session", None).await;
    assert_eq!(s, 200);
    assert_eq!(v["login_required"], json!(true));
    assert_eq!(v["has_operators"], json!(false));
    // The first account, as `chargeyard-server operator add` makes it.
    api.engine
        .create_operator(NewOperator {
            name: "Ann".into(),
            role: Role::Manager,
            password: "ann-secret-pw".into(),
        })
        .await
        .expect("first account");

    let (s, token, v) = login(&api, "Ann", "wrong-password").await;
    assert_eq!(
        (s, token, v["code"].clone()),
        (401, None, json!("login_failed"))
    );
    let (s, ann, v) = login(&api, "ann", "ann-secret-pw").await;
    assert_eq!(s, 200, "{v}");
    let ann = ann.expect("a session cookie");
    assert_eq!(v["operator"]["name"], json!("Ann"));
    let (s, _, v) = api.as_operator(&ann, "GET", "/api/session", None).await;
    assert_eq!((s, v["operator"]["role"].clone()), (200, json!("manager")));
    let (s, _, _) = api.as_operator(&ann, "GET", "/api/stations", None).await;
    assert_eq!(s, 200);

    // Short passwords and taken names are refused; a read-only and a technician are added.
    let (s, _, v) = api
        .as_operator(
            &ann,
            "POST",
            "/api/operators",
            Some(json!({"name": "Rita", "role": "read_only", "password": "short"})),
        )
        .await;
    assert_eq!(s, 400, "{v}");
    for (name, role) in [("Rita", "read_only"), ("Tom", "technician")] {
        let (s, _, v) = api
            .as_operator(
                &ann,
                "POST",
                "/api/operators",
                Some(json!({"name": name, "role": role, "password": format!("{name}-pw-0123")})),
            )
            .await;
        assert_eq!(s, 201, "{v}");
    }
    let (s, _, _) = api
        .as_operator(
            &ann,
            "POST",
            "/api/operators",
            Some(json!({"name": "RITA", "role": "manager", "password": "another-pw-0123"})),
        )
        .await;
    assert_eq!(s, 409, "names are unique in any case");

    // The read-only operator looks and cannot start charging; the technician cannot change
    // tariffs.
    let (_, rita, _) = login(&api, "Rita", "Rita-pw-0123").await;
    let rita = rita.expect("Rita's session");
    let (s, _, _) = api
        .as_operator(&rita, "GET", "/api/transactions", None)
        .await;
    assert_eq!(s, 200);
    let (s, _, v) = api
        .as_operator(
            &rita,
            "POST",
            "/api/stations/CP1/start",
            Some(json!({"evse_id": 1, "id_tag": "T1"})),
        )
        .await;
    assert_eq!((s, v["code"].clone()), (403, json!("forbidden")), "{v}");
    assert!(
        v["message"]
            .as_str()
            .is_some_and(|m| m.contains("read-only"))
    );
    let (_, tom, _) = login(&api, "Tom", "Tom-pw-0123").await;
    let tom = tom.expect("Tom's session");
    let (s, _, _) = api
        .as_operator(&tom, "POST", "/api/tariffs", Some(json!({})))
        .await;
    assert_eq!(s, 403);

    // A command is logged under the operator who sent it, whatever the request says.
    let hub = api.ocpp.clone();
    let (cp, _) = chargeyard_sim::ChargePoint::connect(chargeyard_sim::SimConfig::new(&hub, "CP1"))
        .await
        .expect("sim");
    cp.boot_and_report().await.expect("boot");
    let (s, _, v) = api
        .as_operator(
            &tom,
            "POST",
            "/api/stations/CP1/trigger?actor=someone-else",
            Some(json!({"message": "Heartbeat"})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (_, _, log) = api
        .as_operator(&ann, "GET", "/api/stations/CP1/commands", None)
        .await;
    assert_eq!(log[0]["actor"], json!("Tom"), "{log}");

    // The last manager stays.
    let (_, _, list) = api.as_operator(&ann, "GET", "/api/operators", None).await;
    let ann_id = list
        .as_array()
        .and_then(|l| l.iter().find(|o| o["name"] == json!("Ann")))
        .map(|o| o["id"].clone())
        .expect("Ann listed");
    let (s, _, v) = api
        .as_operator(&ann, "DELETE", &format!("/api/operators/{ann_id}"), None)
        .await;
    assert_eq!(s, 409, "{v}");

    // Logging out ends that session, not the others.
    let (s, cookie, _) = api.as_operator(&rita, "POST", "/api/logout", None).await;
    assert_eq!(s, 204);
    assert!(cookie.contains("Max-Age=0"), "{cookie}");
    let (s, _, _) = api.as_operator(&rita, "GET", "/api/stations", None).await;
    assert_eq!(s, 401);
    let (s, _, _) = api.as_operator(&ann, "GET", "/api/stations", None).await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn failed_logins_slow_down_per_name() {
    let api = console().await;
    for (name, password) in [("Ann", "ann-secret-pw"), ("Bob", "bob-secret-pw")] {
        api.engine
            .create_operator(NewOperator {
                name: name.into(),
                role: Role::Manager,
                password: password.into(),
            })
            .await
            .expect("account");
    }
    for _ in 0..5 {
        let (s, _, _) = login(&api, "Bob", "guess-guess").await;
        assert_eq!(s, 401);
    }
    // Now even the right password waits, and says how long; another name does not.
    let (s, token, v) = login(&api, "Bob", "bob-secret-pw").await;
    assert_eq!(
        (s, token, v["code"].clone()),
        (429, None, json!("too_many_attempts")),
        "{v}"
    );
    let (s, _, _) = login(&api, "Ann", "ann-secret-pw").await;
    assert_eq!(s, 200);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (s, _, _) = login(&api, "Bob", "bob-secret-pw").await;
    assert_eq!(s, 200, "after the wait");
}
