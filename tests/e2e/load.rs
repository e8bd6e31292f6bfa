//! Load management against chargers that obey: the site set up through the API, profiles sent to
//! 1.6 and 2.0.1 chargers, a charger that refuses them, and an evening of twenty simulated cars
//! on a 3×63 A connection with a 3×32 A feeder inside, ended by stopping the server.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chargeyard_ocpp::ErrorCode;
use chargeyard_sim::ev::{self, Car, Meter, Visit};
use chargeyard_sim::smart::Purpose;
use chargeyard_sim::{Behaviour, ChargePoint, SimConfig};
use chargeyard_store::id_tags::TagFields;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::http::{Api, start};
use crate::{assert_frames_schema_valid, eventually};

async fn tag(api: &Api, id: &str, group: Option<&str>) {
    api.engine
        .create_id_tag(
            id,
            TagFields {
                status: "Accepted".into(),
                group_kind: group.map(|_| "vehicle".into()),
                group_name: group.map(str::to_string),
                ..Default::default()
            },
        )
        .await
        .expect("tag");
}

async fn charger(cfg: SimConfig) -> ChargePoint {
    let (cp, _) = ChargePoint::connect(cfg).await.expect("connects");
    let boot = cp.boot_and_report().await.expect("boots");
    assert_eq!(boot.status.as_str(), "Accepted");
    cp
}

fn placed(id: &str, circuit: &str, max_a: f64) -> Value {
    json!({"station_id": id, "circuit": circuit, "max_a": max_a, "phases": 3})
}

/// The session limit (TxProfile) a charger holds for its connector 1, if any.
fn tx_limit(cp: &ChargePoint) -> Option<f64> {
    cp.charging_limit(1, None).connector.filter(|_| {
        cp.profiles()
            .iter()
            .any(|p| p.purpose == Purpose::Tx && p.evse == 1)
    })
}

#[tokio::test]
async fn the_limit_is_shared_by_profiles_and_a_charger_that_refuses_them_counts_in_full() {
    let api = start().await;
    tag(&api, "VAN1", None).await;
    tag(&api, "VAN2", None).await;
    let a = charger(SimConfig::new(&api.ocpp, "LM-A")).await;
    let b = charger(SimConfig::v201(&api.ocpp, "LM-B")).await;
    // A single-outlet charger that refuses profiles.
    let c = charger(SimConfig {
        connectors: 1,
        ..SimConfig::new(&api.ocpp, "LM-C")
    })
    .await;
    c.set_behaviour(
        "SetChargingProfile",
        Some(Behaviour::Error(ErrorCode::NotSupported)),
    );

    // Mistakes are named, and nothing is saved.
    let mut site = json!({
        "enabled": true,
        "limit_a": 40.0,
        "interval_s": 5,
        "circuits": [{"id": "feeder", "name": "Feeder A", "parent": "main", "limit_a": 50.0}],
        "stations": [placed("LM-A", "feeder", 32.0), placed("LM-B", "feeder", 32.0)],
    });
    let (status, err) = api.req("PUT", "/api/site", Some(site.clone())).await;
    assert_eq!(status, 400, "{err}");
    let text = err["message"].as_str().unwrap_or_default().to_string();
    assert!(
        text.contains("\"feeder\" (50 A) is larger than \"main\"")
            && text.contains("Charger LM-C is on no circuit"),
        "{err}"
    );
    assert_eq!(api.req("GET", "/api/site", None).await.1["enabled"], false);

    site["circuits"][0]["limit_a"] = json!(32.0);
    site["stations"]
        .as_array_mut()
        .expect("list")
        .push(placed("LM-C", "main", 16.0));
    let (status, saved) = api.req("PUT", "/api/site", Some(site)).await;
    assert_eq!(status, 200, "{saved}");

    // Every charger gets a failsafe that falls back after a while, and a default of 6 A.
    for cp in [&a, &b] {
        eventually("a failsafe and a default on each charger", || async {
            let p = cp.profiles();
            let max = p.iter().find(|p| p.purpose == Purpose::StationMax)?;
            let default = p.iter().find(|p| p.purpose == Purpose::TxDefault)?;
            (max.periods.len() == 2 && default.periods[0].1 == 6.0).then_some(())
        })
        .await;
    }

    a.start_transaction(1, "VAN1").await.expect("starts");
    b.start_transaction(1, "VAN2").await.expect("starts");
    // The refusing charger takes 16 of the 40 A: the two others share 24.
    eventually("12 A each", || async {
        (tx_limit(&a) == Some(12.0) && tx_limit(&b) == Some(12.0)).then_some(())
    })
    .await;
    let load = eventually("the site's load", || async {
        let (_, v) = api.req("GET", "/api/site/load", None).await;
        (v["connectors"].as_array().map(Vec::len) == Some(3)).then_some(v)
    })
    .await;
    let state_of = |id: &str| {
        load["connectors"]
            .as_array()
            .and_then(|l| l.iter().find(|c| c["station_id"] == id))
            .map(|c| (c["state"].clone(), c["reason"].clone()))
            .unwrap_or_default()
    };
    // The connection's limit, in kW too (the dashboard sets power now against it).
    assert_eq!(load["limit_a"], 40.0, "{load}");
    assert_eq!(load["limit_kw"], 27.6, "3 × 40 A at 230 V: {load}");
    assert_eq!(state_of("LM-C").0, "Refuses", "{load}");
    assert_eq!(state_of("LM-A").0, "Shared", "{load}");
    assert!(
        state_of("LM-A")
            .1
            .as_str()
            .is_some_and(|r| r.contains("the connection (40 A)")),
        "{load}"
    );
    let failsafe = load["failsafe"]["summary"].as_str().unwrap_or_default();
    assert!(failsafe.contains("If Chargeyard stops"), "{failsafe}");
    // The depot's load chart draws the limit: 40 A × 3 × 230 V = 27.6 kW.
    let today = chrono::Utc::now().date_naive();
    let (status, _, svg) = api
        .download(&format!("/api/charts/depot?from={today}&to={today}"))
        .await;
    let svg = String::from_utf8_lossy(&svg);
    assert_eq!(status, 200);
    assert!(
        svg.contains("Limit: 27.6 kW") && svg.contains("#C81E1E"),
        "the limit is drawn and named"
    );

    // Decisions are kept per station and per session, with the charger's answer.
    let (_, mine) = api
        .req("GET", "/api/site/decisions?station_id=LM-A", None)
        .await;
    assert!(
        mine.as_array().is_some_and(|l| l
            .iter()
            .any(|d| d["purpose"] == "Tx" && d["amps"] == 12.0 && d["answer"] == "Accepted")),
        "{mine}"
    );
    let (_, theirs) = api
        .req("GET", "/api/site/decisions?station_id=LM-C", None)
        .await;
    assert!(
        theirs
            .as_array()
            .is_some_and(|l| l.iter().any(|d| d["answer"] == "NotSupported")),
        "{theirs}"
    );
    // Each charger was asked what it will keep to, and said so.
    eventually("a composite schedule checked", || async {
        let (_, l) = api
            .req("GET", "/api/site/decisions?station_id=LM-B", None)
            .await;
        l.as_array()?
            .iter()
            .any(|d| {
                d["purpose"] == "Check"
                    && d["reason"]
                        .as_str()
                        .is_some_and(|r| r.contains("will keep to"))
            })
            .then_some(())
    })
    .await;

    // A session's chart draws what it was given over its power.
    let tx = a.transaction(1).expect("a session on A");
    let (status, _, chart) = api.download(&format!("/api/charts/sessions/{tx}")).await;
    assert_eq!(status, 200);
    assert!(
        String::from_utf8_lossy(&chart).contains("#C81E1E"),
        "the limit given is drawn"
    );

    // One leaves: the other may take what the refusing charger leaves.
    b.stop_transaction(1, chargeyard_ocpp::v16::Reason::Local)
        .await
        .expect("stops");
    eventually("24 A for the one left", || async {
        (tx_limit(&a) == Some(24.0)).then_some(())
    })
    .await;
    // Off: our profiles leave the chargers.
    let (_, mut site) = api.req("GET", "/api/site", None).await;
    site["enabled"] = json!(false);
    let (status, _) = api.req("PUT", "/api/site", Some(site)).await;
    assert_eq!(status, 200);
    eventually("profiles cleared", || async {
        (a.profiles().is_empty() && b.profiles().is_empty()).then_some(())
    })
    .await;
    // Every profile, check and clearing sent was valid against the OCA schemas.
    assert!(assert_frames_schema_valid(&api.engine, "LM-A").await > 10);
    assert!(assert_frames_schema_valid(&api.engine, "LM-B").await > 10);
}

/// One sample of the site: what each circuit carries and what its cars would draw, per phase.
struct Sample {
    at: Duration,
    main: [f64; 3],
    feeder: [f64; 3],
    main_wants: [f64; 3],
}

/// A car being watched: its charger (0-based), its meter and its phases.
type Watched = (usize, Arc<Mutex<Meter>>, [bool; 3]);

/// Per phase, what `cars` draw and would draw.
fn sum(cars: &[Watched], on: impl Fn(usize) -> bool) -> ([f64; 3], [f64; 3]) {
    let (mut draw, mut wants) = ([0.0; 3], [0.0; 3]);
    for (station, meter, phases) in cars {
        if !on(*station) {
            continue;
        }
        let m = meter.lock().expect("meter");
        for p in 0..3 {
            draw[p] += m.currents[p];
            if m.charging && phases[p] {
                wants[p] += m.wants;
            }
        }
    }
    (draw, wants)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_evening_of_twenty_cars_keeps_every_circuit_under_its_limit() {
    const MAIN: f64 = 63.0;
    const FEEDER: f64 = 32.0;
    let api = start().await;
    let mut stations = Vec::new();
    let mut cps = Vec::new();
    for n in 1..=20 {
        let id = format!("EV{n:02}");
        tag(&api, &format!("VAN{n:02}"), None).await;
        // Every fourth charger speaks 2.0.1; five sit on the feeder.
        let cfg = if n % 4 == 0 {
            SimConfig::v201(&api.ocpp, &id)
        } else {
            SimConfig::new(&api.ocpp, &id)
        };
        cps.push(charger(cfg).await);
        let circuit = if n <= 5 { "feeder" } else { "main" };
        stations.push(placed(&id, circuit, 32.0));
    }
    let site = json!({
        "enabled": true,
        "limit_a": MAIN,
        "interval_s": 5,
        "turn_s": 20,
        "circuits": [{"id": "feeder", "name": "Feeder A", "parent": "main", "limit_a": FEEDER}],
        "stations": stations,
    });
    let (status, saved) = api.req("PUT", "/api/site", Some(site)).await;
    assert_eq!(status, 200, "{saved}");

    // Twenty cars arrive over 30 s: a third single-phase, 16 or 32 A, some nearly full (they
    // taper); eight stay the night, the others leave after 20–40 s.
    let mut rng = StdRng::seed_from_u64(24);
    let begin = Instant::now();
    let stop_all = CancellationToken::new();
    let mut cars = Vec::new();
    let mut visits = Vec::new();
    for (n, cp) in cps.iter().enumerate() {
        let phases = if rng.random_bool(0.35) {
            [true, false, false]
        } else {
            [true; 3]
        };
        let car = Car {
            phases,
            max_a: if rng.random_bool(0.5) { 16.0 } else { 32.0 },
            battery_wh: rng.random_range(40_000.0..80_000.0),
            soc: rng.random_range(20.0..85.0),
            target: 100.0,
        };
        let arrive = Duration::from_millis(rng.random_range(0..30_000));
        let stay = (n >= 8).then(|| Duration::from_millis(rng.random_range(20_000..40_000)));
        let meter = Arc::new(Mutex::new(Meter::default()));
        cars.push((n, meter.clone(), phases));
        let leave = stop_all.child_token();
        let v = Visit {
            connector: 1,
            tag: format!("VAN{:02}", n + 1),
            tick: Duration::from_millis(250),
            report_every: Duration::from_secs(1),
            speed: 30.0,
        };
        let cp = cp.clone();
        visits.push(tokio::spawn(async move {
            tokio::time::sleep(arrive).await;
            if let Some(stay) = stay {
                let leave = leave.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(stay).await;
                    leave.cancel();
                });
            }
            ev::visit(&cp, &v, car, meter, leave).await
        }));
    }

    // The site as a meter at the connection and at the feeder would see it.
    let mut samples = Vec::new();
    while begin.elapsed() < Duration::from_secs(75) {
        let (main, main_wants) = sum(&cars, |_| true);
        let (feeder, _) = sum(&cars, |s| s < 5);
        samples.push(Sample {
            at: begin.elapsed(),
            main,
            feeder,
            main_wants,
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Over a limit only for as long as one reallocation and the charger's reaction take.
    let mut worst = Duration::ZERO;
    let mut over_since: Option<Duration> = None;
    for s in &samples {
        let over = (0..3).any(|p| s.main[p] > MAIN + 0.5 || s.feeder[p] > FEEDER + 0.5);
        match (over, over_since) {
            (true, None) => over_since = Some(s.at),
            (false, Some(t)) => {
                worst = worst.max(s.at - t);
                over_since = None;
            }
            _ => {}
        }
    }
    if let Some(t) = over_since {
        worst = worst.max(begin.elapsed() - t);
    }
    let peak = samples.iter().flat_map(|s| s.main).fold(0.0, f64::max);
    let peak_feeder = samples.iter().flat_map(|s| s.feeder).fold(0.0, f64::max);
    // When the cars want more than the connection gives, the connection is used.
    let busy: Vec<f64> = samples
        .iter()
        .filter(|s| s.at > Duration::from_secs(5))
        .filter_map(|s| {
            let p = (0..3).max_by(|&a, &b| s.main_wants[a].total_cmp(&s.main_wants[b]))?;
            (s.main_wants[p] > MAIN * 1.05).then(|| s.main[p] / MAIN)
        })
        .collect();
    let used = busy.iter().sum::<f64>() / busy.len().max(1) as f64;
    let energy: Vec<f64> = cars
        .iter()
        .map(|(_, m, _)| m.lock().expect("meter").energy_wh)
        .collect();
    let load = api.engine.site_load().expect("a round ran");
    let decisions = api
        .engine
        .load_decisions(None, None, 1000)
        .await
        .expect("decisions")
        .len();
    println!(
        "evening: peak {peak:.1} A on the connection ({MAIN} A), {peak_feeder:.1} A on the feeder ({FEEDER} A); longest over a limit {:.1} s; {:.1}% of the connection used over {} samples where the cars wanted more; last round {:.1} ms; {decisions} decisions stored; energy per car {:?} Wh",
        worst.as_secs_f64(),
        used * 100.0,
        busy.len(),
        load.round_ms,
        energy.iter().map(|e| e.round()).collect::<Vec<_>>()
    );
    assert!(
        worst <= Duration::from_secs(3),
        "a circuit was over its limit for {worst:?}: longer than a reallocation and the charger's reaction"
    );
    assert!(
        energy.iter().all(|&e| e > 0.0),
        "every car receives energy: {energy:?}"
    );
    assert!(
        busy.len() > 50 && used >= 0.95,
        "when the cars want more than the connection gives, it is used: {:.1}% over {} samples",
        used * 100.0,
        busy.len()
    );

    // The server stops; once the failsafe takes over, every charger keeps to it.
    let failsafe: std::collections::HashMap<String, f64> = load
        .failsafe
        .stations
        .iter()
        .map(|s| (s.station_id.clone(), s.amps))
        .collect();
    let engine = api.engine.clone();
    drop(api);
    engine.shutdown().await;
    tokio::time::sleep(Duration::from_secs(17)).await;
    for _ in 0..10 {
        let (main, _) = sum(&cars, |_| true);
        let (feeder, _) = sum(&cars, |s| s < 5);
        assert!(
            main.iter().all(|&a| a <= MAIN + 0.01) && feeder.iter().all(|&a| a <= FEEDER + 0.01),
            "with the server gone the site stays under its limits: {main:?} {feeder:?}"
        );
        for (n, meter, _) in &cars {
            let m = meter.lock().expect("meter");
            let cap = failsafe[&format!("EV{:02}", n + 1)];
            assert!(
                m.currents.iter().all(|&a| a <= cap + 0.01),
                "EV{:02} draws {:?} over its failsafe {cap} A",
                n + 1,
                m.currents
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    stop_all.cancel();
    for v in visits {
        let _ = v.await;
    }
}

#[tokio::test]
async fn dear_hours_hold_sessions_at_the_minimum_unless_they_are_high_priority() {
    let api = start().await;
    tag(&api, "VAN1", None).await;
    tag(&api, "BOSS", Some("Night vans")).await;
    let (status, tariff) = api
        .req(
            "POST",
            "/api/tariffs",
            Some(
                json!({"name": "Peak", "tariff": {"currency": "SEK", "vat_percent": "25",
                "prices": {"per_kwh": "5"}}}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{tariff}");
    let (status, v) = api
        .req(
            "PUT",
            "/api/tariff-assignments",
            Some(json!({"scope": "default", "target": "", "tariff_id": tariff["id"]})),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    let a = charger(SimConfig::new(&api.ocpp, "TOU-A")).await;
    let b = charger(SimConfig::new(&api.ocpp, "TOU-B")).await;
    let mut site = json!({
        "enabled": true,
        "limit_a": 63.0,
        "dear_above_per_kwh": 3.0,
        "stations": [placed("TOU-A", "main", 32.0), placed("TOU-B", "main", 32.0)],
        "priorities": [{"group": "Night vans", "priority": "High"}],
    });
    let (status, saved) = api.req("PUT", "/api/site", Some(site.clone())).await;
    assert_eq!(status, 200, "{saved}");
    a.start_transaction(1, "VAN1").await.expect("starts");
    b.start_transaction(1, "BOSS").await.expect("starts");
    // 5 SEK/kWh is dear: the ordinary van waits at 6 A, the high-priority one charges in full.
    eventually("the van held at the minimum", || async {
        (tx_limit(&a) == Some(6.0) && tx_limit(&b) == Some(32.0)).then_some(())
    })
    .await;
    let (_, load) = api.req("GET", "/api/site/load", None).await;
    let reason = load["connectors"]
        .as_array()
        .and_then(|l| l.iter().find(|c| c["station_id"] == "TOU-A"))
        .map(|c| c["reason"].to_string())
        .unwrap_or_default();
    assert!(
        reason.contains("held at the minimum while energy costs 5.00 per kWh (above 3.00)"),
        "{reason}"
    );
    // Above 6 SEK/kWh only: the van takes what is left of the connection.
    site["dear_above_per_kwh"] = json!(6.0);
    let (status, _) = api.req("PUT", "/api/site", Some(site)).await;
    assert_eq!(status, 200);
    eventually("the van back to its share", || async {
        (tx_limit(&a) == Some(31.0)).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_van_that_must_be_full_soon_is_served_first_until_it_has_time_to_spare() {
    let api = start().await;
    tag(&api, "VAN-N", None).await;
    tag(&api, "VAN-D", Some("Night vans")).await;
    let a = charger(SimConfig::new(&api.ocpp, "DL-A")).await;
    let b = charger(SimConfig::new(&api.ocpp, "DL-B")).await;
    // Ready within the hour, in the depot's time.
    let ready_by = (chrono::Utc::now() + chrono::Duration::minutes(60))
        .with_timezone(&api.engine.time_zone())
        .format("%H:%M")
        .to_string();
    let site = json!({
        "enabled": true,
        "limit_a": 40.0,
        "interval_s": 5,
        "stations": [placed("DL-A", "main", 32.0), placed("DL-B", "main", 32.0)],
        "priorities": [{"group": "Night vans", "priority": "Normal", "ready_by": ready_by}],
    });
    let (status, saved) = api.req("PUT", "/api/site", Some(site)).await;
    assert_eq!(status, 200, "{saved}");
    a.start_transaction(1, "VAN-N").await.expect("starts");
    b.start_transaction(1, "VAN-D").await.expect("starts");
    // Not saying how full it is, the van due within the hour is served first.
    eventually("the van due soon first", || async {
        (tx_limit(&b) == Some(32.0) && tx_limit(&a) == Some(8.0)).then_some(())
    })
    .await;
    // It says it is at 90 %, then 95 % after 4 kWh: an 80 kWh battery, 4 kWh to go, 11 minutes
    // at 22 kW with an hour left: it can share again.
    b.draw(1, 0, [32.0; 3], Some(90.0)).await.expect("meter");
    b.draw(1, 4000, [32.0; 3], Some(95.0)).await.expect("meter");
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while !(tx_limit(&a) == Some(20.0) && tx_limit(&b) == Some(20.0)) {
        assert!(
            std::time::Instant::now() < deadline,
            "the two share once the van has time to spare: {:?} {:?}",
            tx_limit(&a),
            tx_limit(&b)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
