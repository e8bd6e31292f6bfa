//! Connections over time: reconnects replacing half-open sessions, pings, the connection cap.

use std::time::Duration;

use chargeyard_core::EngineConfig;
use chargeyard_core::Event;
use chargeyard_core::config::UnknownStations;
use chargeyard_core::gate::TurnAway;
use chargeyard_ocpp::lenient::CiString;
use chargeyard_ocpp::v16::*;
use chargeyard_sim::ChargePoint;

use crate::{Harness, config, eventually, raw};

#[tokio::test]
async fn a_reconnecting_station_replaces_its_stale_session() {
    let h = Harness::open().await;
    let old = h.booted("CP1").await;
    let mut events = h.engine.subscribe();
    // The charger reboots without closing the old socket (half-open); it connects again.
    let new = h.booted("CP1").await;
    assert!(
        old.closed(Duration::from_secs(5)).await,
        "the old connection is closed by the server"
    );
    let r = h
        .engine
        .call("CP1", ClearCacheRequest {}, "test")
        .await
        .expect("commands reach the new session");
    assert_eq!(r.status, ClearCacheStatus::Accepted);
    assert_eq!(new.received().len(), 1);
    assert!(old.received().is_empty());
    assert!(
        h.engine.is_connected("CP1"),
        "the old session ending does not unregister the new one"
    );
    let mut saw_disconnect = false;
    while let Ok(ev) = events.try_recv() {
        saw_disconnect |=
            matches!(ev, Event::StationDisconnected { ref station_id, .. } if station_id == "CP1");
    }
    assert!(saw_disconnect, "the replaced session reports its end");
}

#[tokio::test]
async fn a_station_that_stops_answering_pings_is_dropped() {
    let h = Harness::start(EngineConfig {
        ping_interval: Duration::from_millis(100),
        pong_timeout: Duration::from_millis(600),
        ..config()
    })
    .await;
    // A raw client that never reads: it never answers pings.
    let _silent = raw(&h.url, "MUTE").await;
    eventually("connected", || async {
        h.engine.is_connected("MUTE").then_some(())
    })
    .await;
    eventually("dropped after the pong timeout", || async {
        (!h.engine.is_connected("MUTE")).then_some(())
    })
    .await;

    // A simulator keeps reading, so it answers pings and stays.
    let cp = h.booted("LIVE").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        h.engine.is_connected("LIVE") && !cp.is_closed(),
        "a station answering pings is kept"
    );
}

#[tokio::test]
async fn connections_beyond_the_cap_are_refused() {
    let h = Harness::start(EngineConfig {
        max_connections: 2,
        ..config()
    })
    .await;
    let _a = h.booted("A").await;
    let _b = h.booted("B").await;
    let third = ChargePoint::connect(h.sim_config("C")).await;
    assert!(third.is_err(), "a third connection is refused at the cap");
}

#[tokio::test]
async fn one_address_may_hold_only_so_many_connections() {
    let h = Harness::start(EngineConfig {
        max_connections_per_address: 2,
        ..config()
    })
    .await;
    let a = raw(&h.url, "A").await;
    let _b = raw(&h.url, "B").await;
    let third = tokio_tungstenite::connect_async(format!("{}/C", h.url)).await;
    assert!(
        third.is_err(),
        "a third connection from 127.0.0.1 is refused"
    );
    let away = h.engine.info().turned_away;
    assert_eq!(away.too_many_from_address, 1);
    assert_eq!(away.recent[0].reason, TurnAway::TooManyFromAddress);
    assert!(away.recent[0].remote_addr.starts_with("127.0.0.1:"));
    // A connection that closes gives its place back.
    drop(a);
    eventually("a place is free again", || async {
        tokio_tungstenite::connect_async(format!("{}/C", h.url))
            .await
            .ok()
    })
    .await;
}

/// A flood of made-up station ids: the inbox takes so many, the rest are turned away with 1013
/// and leave nothing in the database; known stations still connect, and a place freed by the
/// operator is taken by the next newcomer.
#[tokio::test]
async fn a_flood_of_unknown_stations_does_not_grow_the_inbox() {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
    let h = Harness::start(EngineConfig {
        max_waiting_stations: 3,
        ..config()
    })
    .await;
    let _known = h.booted("KNOWN").await;
    let mut settings = h.engine.settings();
    settings.unknown_stations = UnknownStations::Pending;
    h.engine.update_settings(settings).await.expect("settings");
    let mut open = Vec::new();
    for i in 0..3 {
        open.push(raw(&h.url, &format!("NEW-{i}")).await);
    }
    eventually("three wait in the inbox", || async {
        let n = h.engine.stations().await.ok()?.len();
        (n == 4).then_some(())
    })
    .await;
    for i in 3..20 {
        let mut ws = raw(&h.url, &format!("NEW-{i}")).await;
        let Some(Ok(Message::Close(Some(close)))) = ws.next().await else {
            panic!("NEW-{i} is closed with a reason");
        };
        assert_eq!(close.code, CloseCode::Again);
        assert!(close.reason.contains("waiting for approval"), "{close:?}");
    }
    let ids: Vec<String> = h
        .engine
        .stations()
        .await
        .expect("stations")
        .into_iter()
        .map(|s| s.station.id)
        .collect();
    assert_eq!(ids.len(), 4, "no row for those turned away: {ids:?}");
    assert_eq!(h.engine.info().turned_away.inbox_full, 17);
    assert_eq!(
        h.engine.info().turned_away.recent[0].station_id.as_deref(),
        Some("NEW-19")
    );
    // Known stations are not affected, and a station the operator deals with frees a place.
    let again = h.booted("KNOWN").await;
    assert!(!again.is_closed());
    h.engine
        .accept_station("NEW-0", Default::default(), "test")
        .await
        .expect("accept");
    let _late = raw(&h.url, "LATE").await;
    eventually("the newcomer waits in the inbox", || async {
        let list = h.engine.stations().await.ok()?;
        list.iter().any(|s| s.station.id == "LATE").then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_stalled_handshake_is_cut_off() {
    let h = Harness::start(EngineConfig {
        handshake_timeout: Duration::from_millis(300),
        max_connections: 1,
        ..config()
    })
    .await;
    // Open TCP and say nothing: it must not hold the only connection slot for ever.
    let _idle = tokio::net::TcpStream::connect(h.addr).await.expect("tcp");
    tokio::time::sleep(Duration::from_millis(800)).await;
    let cp = h.booted("AFTER").await;
    assert!(!cp.is_closed());
}

#[tokio::test]
async fn an_oversized_message_closes_that_connection_only() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let h = Harness::start(EngineConfig {
        max_message_size: 4096,
        ..config()
    })
    .await;
    let other = h.booted("OTHER").await;
    let mut ws = raw(&h.url, "BIG").await;
    let big = format!(
        r#"[2,"x","DataTransfer",{{"vendorId":"v","data":"{}"}}]"#,
        "a".repeat(10_000)
    );
    ws.send(Message::text(big)).await.expect("sent");
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match ws.next().await {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break,
                Some(Ok(_)) => continue,
            }
        }
    })
    .await;
    assert!(
        closed.is_ok(),
        "a message over the limit ends that connection"
    );
    eventually("BIG unregistered", || async {
        (!h.engine.is_connected("BIG")).then_some(())
    })
    .await;
    assert!(
        h.engine.is_connected("OTHER") && !other.is_closed(),
        "other stations are untouched"
    );
    let again = h.booted("BIG").await;
    assert!(!again.is_closed(), "the station can reconnect");
}

async fn accepted_tag(h: &Harness, id: &str) {
    let tag = chargeyard_core::store::id_tags::TagFields {
        status: "Accepted".into(),
        ..Default::default()
    };
    h.engine.create_id_tag(id, tag).await.expect("tag");
}

/// The charger loses its connection (and keeps working); returns once the engine has noticed.
async fn go_offline(h: &Harness, cp: &ChargePoint) {
    cp.go_offline();
    eventually("the engine sees the station gone", || async {
        (!h.engine.is_connected(cp.station_id())).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_charger_that_was_offline_replays_its_queue_with_old_timestamps() {
    let h = Harness::open().await;
    accepted_tag(&h, "OFFTAG").await;
    let cp = h.booted("OFF1").await;
    let tx = cp
        .start_transaction(1, "OFFTAG")
        .await
        .expect("start")
        .transaction_id;
    cp.charge(1, 1000, 7400.0).await.expect("online sample");

    go_offline(&h, &cp).await;
    // The charger keeps charging and the driver stops while it is offline.
    cp.charge(1, 500, 7400.0).await.expect("queued");
    cp.charge(1, 500, 7400.0).await.expect("queued");
    cp.stop_transaction(1, Reason::Local)
        .await
        .expect("queued stop");
    let stopped_at = chrono::Utc::now();
    let t = h.engine.transaction(tx).await.expect("detail").transaction;
    assert!(
        t.stop_ts.is_none(),
        "nothing reached the engine while offline"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;

    let replayed = cp.reconnect().await.expect("reconnects and replays");
    assert_eq!(replayed, 3, "two MeterValues and the StopTransaction");
    let d = h.engine.transaction(tx).await.expect("detail");
    assert_eq!(
        d.transaction.energy_wh,
        Some(2000),
        "every queued reading counted"
    );
    let stop_ts = d
        .transaction
        .stop_ts
        .expect("stopped by the replayed message");
    assert!(
        stop_ts <= stopped_at,
        "stopped at the charger's own (old) time, not at replay time"
    );
    assert_eq!(
        d.meter_samples
            .iter()
            .filter(|s| s.measurand == "Energy.Active.Import.Register")
            .count(),
        3
    );
    assert!(h.engine.is_connected("OFF1"));
}

#[tokio::test]
async fn a_transaction_started_offline_is_replayed_with_the_id_the_engine_gives_it() {
    use chargeyard_core::store::transactions::TransactionFilter;
    let h = Harness::open().await;
    accepted_tag(&h, "KNOWN").await;
    let cp = h.booted("OFF2").await;
    // The charger has seen KNOWN accepted (authorization cache), never STRANGER.
    let a = cp
        .call(AuthorizeRequest {
            id_tag: CiString::new("KNOWN").expect("tag"),
        })
        .await
        .expect("authorize");
    assert_eq!(a.id_tag_info.status, AuthorizationStatus::Accepted);

    go_offline(&h, &cp).await;
    assert!(
        cp.call(AuthorizeRequest {
            id_tag: CiString::new("STRANGER").expect("tag"),
        })
        .await
        .is_err(),
        "an unknown tag cannot be authorized offline"
    );
    let started = cp
        .start_transaction(1, "KNOWN")
        .await
        .expect("offline start");
    assert!(started.transaction_id < 0, "a local id while offline");
    cp.charge(1, 700, 7400.0).await.expect("queued");
    cp.stop_transaction(1, Reason::Local)
        .await
        .expect("queued stop");
    let all = TransactionFilter {
        station_id: Some("OFF2".into()),
        ..Default::default()
    };
    assert_eq!(h.engine.transactions(&all).await.expect("list").total, 0);
    let stopped_at = chrono::Utc::now();
    tokio::time::sleep(Duration::from_millis(300)).await;

    let replayed = cp.reconnect().await.expect("reconnects and replays");
    assert_eq!(
        replayed, 3,
        "StartTransaction, MeterValues, StopTransaction"
    );
    let page = h.engine.transactions(&all).await.expect("list");
    assert_eq!(page.total, 1);
    let t = &page.items[0];
    assert!(
        t.id > 0 && t.stop_ts.is_some(),
        "one closed transaction: {t:?}"
    );
    let stop_ts = t.stop_ts.expect("stop");
    assert!(
        t.start_ts <= stop_ts && stop_ts <= stopped_at,
        "the charger's own times, not the replay's"
    );
    let d = h.engine.transaction(t.id).await.expect("detail");
    assert_eq!(d.transaction.energy_wh, Some(700));
    assert_eq!(
        d.meter_samples
            .iter()
            .filter(|s| s.measurand == "Energy.Active.Import.Register")
            .count(),
        1,
        "the queued reading carries the real transaction id"
    );
    let quirks = h.engine.quirks("OFF2").await.expect("quirks");
    assert!(
        quirks.iter().all(|q| q.kind != "offline_transaction_id"),
        "no message went out with the local id: {quirks:?}"
    );
}
