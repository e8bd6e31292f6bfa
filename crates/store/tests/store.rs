//! The store against a real SQLite file.

use std::sync::atomic::Ordering;

use chargeyard_store::model::Registration;
use chargeyard_store::transactions::{self, NewTransaction, StopOutcome, StopRecord};
use chargeyard_store::{Error, Store, stations};
use chrono::{TimeZone, Utc};

async fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("t.db")).await.expect("open");
    (dir, store)
}

/// A database at `path` as migration `version` left it (for tests of later migrations).
async fn migrated_to(path: &std::path::Path, version: i64) -> sqlx::SqliteConnection {
    use sqlx::ConnectOptions;
    let mut c = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .connect()
        .await
        .expect("connect");
    sqlx::migrate!("./migrations")
        .run_to(version, &mut c)
        .await
        .expect("earlier migrations");
    c
}

fn new_tx(meter_start: i64) -> NewTransaction {
    NewTransaction {
        station_id: "CP1".into(),
        evse_id: 1,
        connector_id: None,
        protocol: "ocpp1.6".into(),
        charger_tx_id: None,
        id_tag: "TAG".into(),
        id_token_type: None,
        start_ts: Utc
            .with_ymd_and_hms(2024, 1, 1, 10, 0, 0)
            .single()
            .expect("time"),
        meter_start: Some(meter_start),
        reservation_id: None,
        remote_start_id: None,
        start_auth_status: "Accepted".into(),
        charging_state: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_share_commits() {
    let (_d, store) = open().await;
    let mut handles = Vec::new();
    for i in 0..500 {
        let w = store.writer.clone();
        handles.push(tokio::spawn(async move {
            w.write(move |c| {
                Box::pin(async move { transactions::start(c, &new_tx(i), Utc::now()).await })
            })
            .await
        }));
    }
    for h in handles {
        h.await.expect("join").expect("written");
    }
    let stats = store.writer.stats();
    let (commits, jobs) = (
        stats.commits.load(Ordering::Relaxed),
        stats.jobs.load(Ordering::Relaxed),
    );
    assert_eq!(jobs, 500);
    assert!(
        commits < 250,
        "500 concurrent writes should be grouped, took {commits} commits"
    );
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM transactions")
        .fetch_one(&store.reader)
        .await
        .expect("count");
    assert_eq!(n, 500);
}

#[tokio::test]
async fn retried_start_gets_same_id_and_unknown_stop_is_recorded() {
    let (_d, store) = open().await;
    let w = &store.writer;
    let (a, new_a) = w
        .write(|c| Box::pin(async move { transactions::start(c, &new_tx(5), Utc::now()).await }))
        .await
        .expect("a");
    let (b, new_b) = w
        .write(|c| Box::pin(async move { transactions::start(c, &new_tx(5), Utc::now()).await }))
        .await
        .expect("b");
    assert_eq!(
        (a, new_a, new_b),
        (b, true, false),
        "a retried start must reuse the id"
    );
    let stop = |id| StopRecord {
        station_id: "CP1".into(),
        transaction_id: id,
        id_tag: None,
        meter_stop: 100,
        timestamp: Utc::now(),
        reason: None,
    };
    let s1 = stop(a);
    let s2 = stop(a);
    let s3 = stop(999);
    let o1 = w
        .write(move |c| Box::pin(async move { transactions::stop(c, &s1, Utc::now()).await }))
        .await
        .expect("stop");
    let o2 = w
        .write(move |c| Box::pin(async move { transactions::stop(c, &s2, Utc::now()).await }))
        .await
        .expect("stop");
    let o3 = w
        .write(move |c| Box::pin(async move { transactions::stop(c, &s3, Utc::now()).await }))
        .await
        .expect("stop");
    assert_eq!(
        (o1, o2, o3),
        (
            StopOutcome::Stopped,
            StopOutcome::AlreadyStopped,
            StopOutcome::Unknown
        )
    );
    let t = transactions::get(&store.reader, a)
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(t.energy_wh, Some(95));
    assert_eq!(
        transactions::unmatched_stops(&store.reader, "CP1")
            .await
            .expect("list")
            .len(),
        1
    );
}

#[tokio::test]
async fn a_failed_job_leaves_nothing_and_others_in_the_batch_commit() {
    let (_d, store) = open().await;
    let now = Utc::now();
    store
        .writer
        .write(move |c| {
            Box::pin(
                async move { stations::create(c, "CP1", Registration::Accepted, None, now).await },
            )
        })
        .await
        .expect("create");
    // A job that writes, then fails: its first write must be rolled back.
    let r = store
        .writer
        .write(move |c| {
            Box::pin(async move {
                stations::create(c, "CP2", Registration::Accepted, None, now).await?;
                stations::create(c, "CP1", Registration::Accepted, None, now).await
            })
        })
        .await;
    assert!(
        matches!(r, Err(Error::Conflict(_))),
        "duplicate id is a conflict: {r:?}"
    );
    assert!(
        stations::get(&store.reader, "CP2")
            .await
            .expect("get")
            .is_none(),
        "failed job was not atomic"
    );
}

/// The writer keeps more pages than SQLite's default 2 MiB (the fold touches every station's
/// index pages).
#[tokio::test]
async fn the_writer_has_a_larger_page_cache() {
    let (_d, store) = open().await;
    let kib: i64 = store
        .writer
        .write(|c| {
            Box::pin(async move {
                Ok(sqlx::query_scalar("PRAGMA cache_size")
                    .fetch_one(&mut *c)
                    .await?)
            })
        })
        .await
        .expect("pragma");
    assert_eq!(kib, -32 * 1024);
}

/// SQLite is built as `.cargo/config.toml` asks: no allocation statistics and no memory
/// management, whose global mutex every allocation and page-cache call took (PERFORMANCE item 9).
#[tokio::test]
async fn sqlite_is_built_without_allocation_statistics() {
    let (_d, store) = open().await;
    let options: Vec<String> = sqlx::query_scalar("PRAGMA compile_options")
        .fetch_all(&store.reader)
        .await
        .expect("compile options");
    assert!(
        options.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"),
        "{options:?}"
    );
    assert!(
        !options.iter().any(|o| o == "ENABLE_MEMORY_MANAGEMENT"),
        "{options:?}"
    );
}

/// A StatusNotification is history always, the current status only if not older than it, and it
/// makes a session stopped after its time be priced again; all three in one statement list.
#[tokio::test]
async fn a_status_is_history_current_unless_older_and_reprices_sessions_stopped_after_it() {
    use chargeyard_store::connectors;
    use chargeyard_store::model::Connector;
    let (_d, store) = open().await;
    let w = &store.writer;
    let at = |h| {
        Utc.with_ymd_and_hms(2024, 1, 1, h, 0, 0)
            .single()
            .expect("time")
    };
    w.write(move |c| {
        Box::pin(async move {
            stations::create(c, "CP1", Registration::Accepted, None, at(9)).await?;
            let (id, _) = transactions::start(c, &new_tx(5), at(10)).await?;
            let stop = StopRecord {
                station_id: "CP1".into(),
                transaction_id: id,
                id_tag: None,
                meter_stop: 100,
                timestamp: at(12),
                reason: None,
            };
            transactions::stop(c, &stop, at(12)).await?;
            // As if priced: a status before the stop must make it be priced again.
            sqlx::query("UPDATE transactions SET cost = '[]', cost_zone = 'UTC' WHERE id = ?")
                .bind(id)
                .execute(&mut *c)
                .await?;
            Ok(())
        })
    })
    .await
    .expect("a stopped session");
    let record = |status: &'static str, hour: u32| {
        let s = Connector {
            station_id: "CP1".into(),
            evse_id: 1,
            connector_id: None,
            status: status.into(),
            state: chargeyard_store::model::ConnectorState::parse(status),
            error_code: "NoError".into(),
            info: None,
            vendor_id: None,
            vendor_error_code: None,
            status_at: at(hour),
        };
        w.write(move |c| {
            Box::pin(async move { connectors::record_status(c, &s, Some(at(hour)), at(13)).await })
        })
    };
    let priced = || async {
        sqlx::query_as::<_, (Option<String>, i64)>("SELECT cost, cost_rev FROM transactions")
            .fetch_one(&store.reader)
            .await
            .expect("session")
    };
    assert!(
        record("Finishing", 13).await.expect("newer"),
        "newer is current"
    );
    assert_eq!(
        priced().await,
        (Some("[]".into()), 0),
        "after the stop: cost kept"
    );
    assert!(
        !record("Charging", 11).await.expect("older"),
        "older is not current"
    );
    assert_eq!(priced().await, (None, 1), "before the stop: priced again");
    let now = connectors::list(&store.reader, "CP1").await.expect("list");
    assert_eq!(
        now.iter()
            .map(|c| (c.status.as_str(), c.status_at))
            .collect::<Vec<_>>(),
        [("Finishing", at(13))],
        "the older status did not roll the current one back"
    );
    let history: i64 = sqlx::query_scalar("SELECT count(*) FROM status_history")
        .fetch_one(&store.reader)
        .await
        .expect("history");
    assert_eq!(history, 2, "both are history");
    assert!(
        record("Available", 13).await.expect("same time"),
        "as new as the current one"
    );
}

/// Jobs and appended rows that share one commit: the failed job in the middle leaves nothing,
/// the jobs before and after it and the appended rows are committed.
#[tokio::test]
async fn a_failed_job_in_a_shared_commit_leaves_the_others_committed() {
    let (_d, store) = open().await;
    let now = Utc::now();
    let w = &store.writer;
    w.write(move |c| {
        Box::pin(async move { stations::create(c, "CP1", Registration::Accepted, None, now).await })
    })
    .await
    .expect("create");
    // The writer runs on its own thread: a job holds it until the rest are queued.
    let (holding, release) = (
        tokio::sync::oneshot::channel(),
        tokio::sync::oneshot::channel(),
    );
    let (held, release) = ((holding.0, release.1), (holding.1, release.0));
    let writer = w.clone();
    let hold = tokio::spawn(async move {
        writer
            .write(move |_| {
                Box::pin(async move {
                    let _ = held.0.send(());
                    let _ = held.1.await;
                    Ok(())
                })
            })
            .await
    });
    release.0.await.expect("the writer runs the holding job");
    let commits = w.stats().commits.load(Ordering::Relaxed);
    let create = |id: &'static str| {
        w.write(move |c| {
            Box::pin(
                async move { stations::create(c, id, Registration::Accepted, None, now).await },
            )
        })
    };
    let failing = w.write(move |c| {
        Box::pin(async move {
            stations::create(c, "CP3", Registration::Accepted, None, now).await?;
            stations::create(c, "CP1", Registration::Accepted, None, now).await
        })
    });
    w.log_frame(chargeyard_store::frames::NewFrame {
        station_id: "CP1".into(),
        direction: "in",
        at: now,
        message_type: Some(2),
        message_id: Some("1".into()),
        action: Some("Heartbeat".into()),
        text: r#"[2,"1","Heartbeat",{}]"#.into(),
    });
    // All three are queued in the first round of polls; the writer is let go in the second.
    let go = async {
        tokio::task::yield_now().await;
        let _ = release.1.send(());
    };
    let (before, failed, after, ()) = tokio::join!(create("CP2"), failing, create("CP4"), go);
    hold.await.expect("join").expect("holding job");
    assert_eq!(
        w.stats().commits.load(Ordering::Relaxed),
        commits + 2,
        "after the holding job's commit, the three jobs were meant to share one"
    );
    before.expect("job before the failed one");
    after.expect("job after the failed one");
    assert!(matches!(failed, Err(Error::Conflict(_))), "{failed:?}");
    for (id, kept) in [("CP2", true), ("CP3", false), ("CP4", true)] {
        let found = stations::get(&store.reader, id).await.expect("get");
        assert_eq!(found.is_some(), kept, "{id}");
    }
    let frames = chargeyard_store::frames::list(&store.reader, "CP1", None, 10)
        .await
        .expect("frames");
    assert_eq!(frames.len(), 1, "the appended frame was committed");
}

/// Appended rows go to the logs through statements of 256, 64 and 16 rows prepared once, the
/// last one's unused rows bound as NULL: every count around those sizes stores exactly its rows,
/// in order and intact, whether the writer appends them with a commit or a job inserts them.
#[tokio::test]
async fn appended_rows_of_any_count_are_stored_once_in_order() {
    use chargeyard_store::frames::{self, NewFrame};
    use chargeyard_store::meter::{self, NewSample, SampleFilter};
    use chargeyard_store::text::Text;
    let (_d, store) = open().await;
    let now = Utc
        .with_ymd_and_hms(2024, 1, 1, 10, 0, 0)
        .single()
        .expect("time");
    let rows = |station: &str, n: usize| {
        let frames: Vec<NewFrame> = (0..n)
            .map(|i| NewFrame {
                station_id: station.into(),
                direction: if i % 2 == 0 { "in" } else { "out" },
                at: now,
                message_type: Some(2),
                message_id: Some(i.to_string().into()),
                action: (i % 3 != 0).then(|| "Heartbeat".into()),
                text: format!("[2,\"{i}\",\"Heartbeat\",{{}}]").into(),
            })
            .collect();
        let samples: Vec<NewSample> = (0..n)
            .map(|i| NewSample {
                station_id: station.into(),
                evse_id: 1 + (i % 2) as i64,
                transaction_id: None,
                seq_no: None,
                timestamp: now + chrono::Duration::seconds(i as i64),
                measurand: "Energy.Active.Import.Register".into(),
                phase: (i % 2 == 0).then(|| "L1".into()),
                location: None,
                context: Some("Sample.Periodic".into()),
                format: None,
                unit: Some("Wh".into()),
                raw_value: i.to_string().into(),
                value: (i % 5 != 0).then_some(i as f64),
                value_unit: Some("Wh".into()),
            })
            .collect();
        (frames, samples)
    };
    for n in [1, 15, 16, 17, 64, 65, 255, 256, 257, 600] {
        for via_writer in [true, false] {
            let station = format!("CP{n}-{via_writer}");
            let (frames_in, samples_in) = rows(&station, n);
            if via_writer {
                for f in frames_in.clone() {
                    store.writer.log_frame(f);
                }
                store
                    .writer
                    .append_samples(samples_in.clone())
                    .await
                    .expect("append");
            } else {
                let (f, s) = (frames_in.clone(), samples_in.clone());
                store
                    .writer
                    .write(move |c| {
                        Box::pin(async move {
                            frames::insert(&mut *c, f).await?;
                            meter::insert(c, s, now).await
                        })
                    })
                    .await
                    .expect("insert");
            }
            let mut logged = frames::list(&store.reader, &station, None, 1000)
                .await
                .expect("frames");
            logged.reverse();
            let logged: Vec<_> = logged
                .into_iter()
                .map(|f| (f.direction, f.message_id, f.action, f.text))
                .collect();
            let sent: Vec<_> = frames_in
                .into_iter()
                .map(|f| {
                    let text = |t: Option<Text>| t.map(|t| t.to_string());
                    let (id, action) = (text(f.message_id), text(f.action));
                    (f.direction.to_string(), id, action, f.text.to_string())
                })
                .collect();
            assert_eq!(logged, sent, "{station}");
            let filter = SampleFilter {
                station_id: Some(station.clone()),
                ..Default::default()
            };
            // What a stored sample and the one sent have in common.
            macro_rules! sample {
                ($s:expr) => {{
                    let s = $s;
                    let text = |t: Option<_>| t.map(|t| format!("{t}"));
                    let kept = (
                        text(s.phase),
                        text(s.context),
                        s.raw_value.to_string(),
                        s.value,
                    );
                    (s.evse_id, s.timestamp, kept)
                }};
            }
            let stored: Vec<_> = meter::query(&store.reader, &filter)
                .await
                .expect("samples")
                .into_iter()
                .map(|s| sample!(s))
                .collect();
            let sent: Vec<_> = samples_in.into_iter().map(|s| sample!(s)).collect();
            assert_eq!(stored, sent, "{station}");
        }
    }
}

#[tokio::test]
async fn data_survives_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("t.db");
    {
        let store = Store::open(&path).await.expect("open");
        store
            .writer
            .write(|c| {
                Box::pin(async move { transactions::start(c, &new_tx(1), Utc::now()).await })
            })
            .await
            .expect("write");
    }
    let store = Store::open(&path).await.expect("reopen");
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM transactions")
        .fetch_one(&store.reader)
        .await
        .expect("count");
    assert_eq!(n, 1);
}

#[tokio::test]
async fn frame_retention_prunes_only_old_frames() {
    use chargeyard_store::frames::{self, NewFrame};
    let (_d, store) = open().await;
    let now = Utc::now();
    // Two frames indexed by a fold (one old, one recent), two logged after it.
    for days_ago in [30, 1, 20, 0] {
        let f = NewFrame {
            station_id: "CP1".into(),
            direction: "in",
            at: now - chrono::Duration::days(days_ago),
            message_type: Some(2),
            message_id: Some(format!("m{days_ago}").into()),
            action: Some("Heartbeat".into()),
            text: "[2,\"m\",\"Heartbeat\",{}]".into(),
        };
        store
            .writer
            .write(move |c| Box::pin(async move { frames::insert(c, vec![f]).await }))
            .await
            .expect("insert");
        if days_ago == 1 {
            store
                .writer
                .write(|c| Box::pin(async move { chargeyard_store::logs::fold(c).await }))
                .await
                .expect("fold");
        }
    }
    let cutoff = now - chrono::Duration::days(14);
    let removed = store
        .writer
        .write(move |c| Box::pin(async move { frames::prune(c, cutoff).await }))
        .await
        .expect("prune");
    assert_eq!(removed, 2);
    let left: Vec<_> = frames::list(&store.reader, "CP1", None, 10)
        .await
        .expect("list")
        .into_iter()
        .filter_map(|f| f.message_id)
        .collect();
    assert_eq!(left, ["m0", "m1"], "recent frames stay, newest first");
    let entries: Vec<i64> = sqlx::query_scalar("SELECT id FROM frames_by_station")
        .fetch_all(&store.reader)
        .await
        .expect("index");
    assert_eq!(entries, [2], "the pruned frame's index entry went with it");
}

/// The daily sums follow the hours of each priced session, also when a session is priced again
/// (late data): its old hours leave the days they were in.
#[tokio::test]
async fn daily_energy_stays_in_step_with_the_hours_of_repriced_sessions() {
    let (_d, store) = open().await;
    let w = &store.writer;
    let (id, _) = w
        .write(|c| Box::pin(async move { transactions::start(c, &new_tx(0), Utc::now()).await }))
        .await
        .expect("start");
    w.write(move |c| {
        Box::pin(async move {
            let stop = StopRecord {
                station_id: "CP1".into(),
                transaction_id: id,
                id_tag: None,
                meter_stop: 9_000,
                timestamp: Utc
                    .with_ymd_and_hms(2024, 1, 2, 1, 0, 0)
                    .single()
                    .expect("t"),
                reason: None,
            };
            transactions::stop(c, &stop, Utc::now()).await
        })
    })
    .await
    .expect("stop");
    let at = |d: u32, h: u32| {
        Utc.with_ymd_and_hms(2024, 1, d, h, 0, 0)
            .single()
            .expect("t")
    };
    let priced = |rev: i64, hours: Vec<(chrono::DateTime<Utc>, i64)>| transactions::Priced {
        id,
        station_id: "CP1".into(),
        rev,
        zone: "UTC".into(),
        cost: None,
        hours,
    };
    let daily = || async {
        chargeyard_store::meter::energy_by_station(
            &store.reader,
            at(1, 0),
            at(3, 0),
            24,
            true,
            None,
        )
        .await
        .expect("daily")
    };
    let first = priced(
        0,
        vec![(at(1, 10), 1_000), (at(1, 23), 2_000), (at(2, 0), 6_000)],
    );
    w.write(move |c| Box::pin(async move { transactions::save_costs(c, &[first]).await }))
        .await
        .expect("saved");
    let day = |d: u32| at(d, 0).timestamp();
    assert_eq!(
        daily().await,
        vec![
            ("CP1".to_string(), day(1), 3_000),
            ("CP1".to_string(), day(2), 6_000)
        ]
    );
    // Priced again: the energy moved to other hours; the days follow, nothing counted twice.
    let again = priced(0, vec![(at(1, 23), 4_000), (at(2, 0), 5_000)]);
    w.write(move |c| Box::pin(async move { transactions::save_costs(c, &[again]).await }))
        .await
        .expect("saved again");
    assert_eq!(
        daily().await,
        vec![
            ("CP1".to_string(), day(1), 4_000),
            ("CP1".to_string(), day(2), 5_000)
        ]
    );
    // A cost priced from data that has since moved on is not stored.
    let stale = priced(7, vec![(at(1, 23), 1)]);
    let stored = w
        .write(move |c| Box::pin(async move { transactions::save_costs(c, &[stale]).await }))
        .await
        .expect("not saved");
    assert_eq!(stored, 0);
    assert_eq!(daily().await[0].2, 4_000);
}

/// Log `rows`, then read `station`'s frames back, oldest first.
async fn log_and_read(
    store: &Store,
    rows: Vec<chargeyard_store::frames::NewFrame>,
    station: &str,
) -> Vec<chargeyard_store::model::Frame> {
    use chargeyard_store::frames::{self, FrameFilter};
    store
        .writer
        .write(move |c| Box::pin(async move { frames::insert(c, rows).await }))
        .await
        .expect("insert");
    let filter = FrameFilter {
        after_id: Some(0),
        limit: Some(5000),
        ..Default::default()
    };
    frames::search(&store.reader, station, &filter)
        .await
        .expect("frames")
}

/// Each frame's partner id, looked for within 125 s (after a CALL, before an answer).
async fn partner_ids<'a>(
    store: &Store,
    frames: impl IntoIterator<Item = &'a chargeyard_store::model::Frame>,
) -> Vec<Option<i64>> {
    let window = chrono::Duration::seconds(125);
    let mut partners = Vec::new();
    for fr in frames {
        let until = if fr.message_type == Some(2) {
            fr.at + window
        } else {
            fr.at - window
        };
        let p = chargeyard_store::frames::partner(&store.reader, fr, until)
            .await
            .expect("partner");
        partners.push(p.map(|p| p.id));
    }
    partners
}

/// A partner is looked for among the next (or previous) `PARTNER_REACH` frames of the station:
/// the one exactly that far is found, one frame further is not.
#[tokio::test]
async fn a_partner_is_found_up_to_the_reach_and_not_beyond() {
    use chargeyard_store::frames::{NewFrame, PARTNER_REACH};
    let (_dir, store) = open().await;
    let t0 = chrono::DateTime::from_timestamp(1_700_000_000, 0).expect("time");
    let f = |dir: &'static str, kind: i64, id: String| NewFrame {
        station_id: "R".into(),
        direction: dir,
        at: t0,
        message_type: Some(kind),
        message_id: Some(id.into()),
        action: Some("Heartbeat".into()),
        text: "[]".into(),
    };
    // 0: CALL x, 1: CALL y, fillers, REACH: answer to x, a filler, REACH + 2: answer to y.
    let mut rows = vec![f("in", 2, "x".into()), f("in", 2, "y".into())];
    rows.extend((2..PARTNER_REACH).map(|i| f("in", 2, format!("filler {i}"))));
    rows.push(f("out", 3, "x".into()));
    rows.push(f("in", 2, "one more".into()));
    rows.push(f("out", 3, "y".into()));
    let page = log_and_read(&store, rows, "R").await;
    let n = page.len();
    assert_eq!(n as i64, PARTNER_REACH + 3);
    let partners = partner_ids(&store, [&page[0], &page[1], &page[n - 3], &page[n - 1]]).await;
    assert_eq!(
        partners,
        [Some(page[n - 3].id), None, Some(page[0].id), None],
        "x and its answer are {PARTNER_REACH} frames apart, y and its answer one more"
    );
}

#[tokio::test]
async fn a_frame_pairs_with_its_answer_even_when_message_ids_repeat() {
    use chargeyard_store::frames::NewFrame;
    let (_dir, store) = open().await;
    let t0 = chrono::DateTime::from_timestamp(1_700_000_000, 0).expect("time");
    let f = |dir: &'static str, secs: i64, kind: i64, id: &str| NewFrame {
        station_id: "S".into(),
        direction: dir,
        at: t0 + chrono::Duration::seconds(secs),
        message_type: Some(kind),
        message_id: Some(id.into()),
        action: Some("Heartbeat".into()),
        text: "[]".into(),
    };
    let rows = vec![
        f("in", 0, 2, "1"),
        f("out", 1, 3, "1"),
        // Another station's frame with the same id in between.
        NewFrame {
            station_id: "T".into(),
            ..f("out", 2, 3, "1")
        },
        // The charger restarted and counts from 1 again; this CALL is never answered.
        f("in", 10, 2, "1"),
        // An hour later, the same id again, answered with a CALLERROR.
        f("in", 3600, 2, "1"),
        f("out", 3602, 4, "1"),
    ];
    let page = log_and_read(&store, rows, "S").await;
    let partners = partner_ids(&store, &page).await;
    // ids: 1 2 (3 is T's) 4 5 6
    assert_eq!(
        partners,
        [Some(2), Some(1), None, Some(6), Some(5)],
        "each CALL with the next answer from the other side within the window, never another station's"
    );
}

/// Migration 0009 drops the per-station index of meter samples, so a station's samples are found
/// through its transactions: samples stored earlier naming a transaction that is not the
/// station's are unlinked by it, and still found by station.
#[tokio::test]
async fn samples_naming_another_stations_transaction_are_unlinked_by_the_migration() {
    use chargeyard_store::meter::{self, SampleFilter};
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("t.db");
    // The database as 0008 left it, holding a sample of CP2 that names CP1's transaction and one
    // of CP1's own.
    let own = {
        let mut c = migrated_to(&path, 8).await;
        // The transactions table as 0008 had it.
        let own: i64 = sqlx::query_scalar(
            "INSERT INTO transactions (station_id, connector_id, id_tag, start_ts, meter_start,
             start_auth_status, received_at)
             VALUES ('CP1', 1, 'TAG', '2024-01-01T10:00:00Z', 1, 'Accepted',
             '2024-01-01T10:00:00Z') RETURNING id",
        )
        .fetch_one(&mut c)
        .await
        .expect("start");
        for (station, raw) in [("CP2", "stray"), ("CP1", "own")] {
            sqlx::query(
                "INSERT INTO meter_samples (station_id, connector_id, transaction_id, timestamp,
                 measurand, raw_value, received_at)
                 VALUES (?, 1, ?, '2024-01-01T10:05:00Z', 'Energy.Active.Import.Register', ?,
                 '2024-01-01T10:05:00Z')",
            )
            .bind(station)
            .bind(own)
            .bind(raw)
            .execute(&mut c)
            .await
            .expect("sample");
        }
        own
    };
    let store = Store::open(&path).await.expect("open runs 0009 and later");
    let by = |station: &str| {
        let f = SampleFilter {
            station_id: Some(station.into()),
            ..Default::default()
        };
        let reader = store.reader.clone();
        async move { meter::query(&reader, &f).await.expect("query") }
    };
    let cp2 = by("CP2").await;
    assert_eq!(cp2.len(), 1, "{cp2:?}");
    assert_eq!(
        (cp2[0].raw_value.as_str(), cp2[0].transaction_id),
        ("stray", None),
        "kept with its station, unlinked"
    );
    let cp1 = by("CP1").await;
    assert_eq!(cp1.len(), 1, "{cp1:?}");
    assert_eq!(
        (cp1[0].raw_value.as_str(), cp1[0].transaction_id),
        ("own", Some(own)),
        "the station's own transaction keeps its samples"
    );
    // Found through the index tables of migration 0011: the stray as an unlinked sample of CP2.
    let unlinked: Vec<String> = sqlx::query_scalar("SELECT station_id FROM meter_samples_unlinked")
        .fetch_all(&store.reader)
        .await
        .expect("unlinked");
    assert_eq!(unlinked, ["CP2"]);
}

/// Frames and meter samples are logged once and indexed by the writer's folds (migration 0011):
/// read from the moment they are committed, through the index tables once folded, never read
/// twice, and numbered on from the rows a database held before (indexed or still in 0010's
/// inboxes).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_are_read_before_and_after_the_fold_indexes_them() {
    use chargeyard_store::frames::{self, NewFrame};
    use chargeyard_store::meter::{self, NewSample, SampleFilter};
    let frame = |id: &str| NewFrame {
        station_id: "CP1".into(),
        direction: "in",
        at: Utc::now(),
        message_type: Some(2),
        message_id: Some(id.into()),
        action: Some("Heartbeat".into()),
        text: format!("[2,\"{id}\",\"Heartbeat\",{{}}]").into(),
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("t.db");
    // The database as 0010 left it: two frames folded, one still in the inbox.
    {
        let mut c = migrated_to(&path, 10).await;
        for (table, n, id) in [
            ("frames_indexed", 1, "old1"),
            ("frames_indexed", 2, "old2"),
            ("frames_inbox", 3, "inbox"),
        ] {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO {table} (id, station_id, direction, at, message_type, message_id, text)
                 VALUES (?, 'CP1', 'in', '2024-01-01T00:00:00.000Z', 2, ?, '[]')"
            )))
            .bind(n)
            .bind(id)
            .execute(&mut c)
            .await
            .expect("frame");
        }
    }
    let store = Store::open(&path).await.expect("open runs 0011");
    let count = |table: &'static str| {
        let reader = store.reader.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(format!(
                "SELECT count(*) FROM {table}"
            )))
            .fetch_one(&reader)
            .await
            .expect("count")
        }
    };
    let logged = |store: &Store| {
        let reader = store.reader.clone();
        async move {
            frames::list(&reader, "CP1", None, 10)
                .await
                .expect("list")
                .into_iter()
                .map(|f| (f.id, f.message_id.unwrap_or_default()))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        (count("frames_log").await, count("frames_by_station").await),
        (3, 3),
        "the migration indexes every frame it moves"
    );
    // Written by a job, the frame is not indexed (only appends set off a fold) and is read from
    // the log, numbered after the frames stored before.
    let f = frame("job");
    store
        .writer
        .write(move |c| Box::pin(async move { frames::insert(c, vec![f]).await }))
        .await
        .expect("insert");
    assert_eq!(
        (count("frames_log").await, count("frames_by_station").await),
        (4, 3)
    );
    let expected = vec![
        (4, "job".to_string()),
        (3, "inbox".into()),
        (2, "old2".into()),
        (1, "old1".into()),
    ];
    assert_eq!(logged(&store).await, expected);

    // Appended rows set off the next fold: everything ends up indexed, ids unchanged.
    store.writer.log_frame(frame("appended"));
    let sample = NewSample {
        station_id: "CP1".into(),
        evse_id: 1,
        transaction_id: None,
        seq_no: None,
        timestamp: Utc::now(),
        measurand: "Power.Active.Import".into(),
        phase: None,
        location: None,
        context: None,
        format: None,
        unit: Some("W".into()),
        raw_value: "7400".into(),
        value: Some(7400.0),
        value_unit: Some("W".into()),
    };
    store
        .writer
        .append_samples(vec![sample])
        .await
        .expect("append");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while count("frames_by_station").await + count("meter_samples_unlinked").await < 6 {
        assert!(
            std::time::Instant::now() < deadline,
            "the writer never folded"
        );
        tokio::time::sleep(chargeyard_store::logs::fold::FOLD_AFTER / 4).await;
    }
    let mut expected = expected;
    expected.insert(0, (5, "appended".into()));
    assert_eq!(
        logged(&store).await,
        expected,
        "each frame once, with its id"
    );
    let samples = meter::query(
        &store.reader,
        &SampleFilter {
            station_id: Some("CP1".into()),
            ..Default::default()
        },
    )
    .await
    .expect("samples");
    assert_eq!(samples.len(), 1, "{samples:?}");
    assert_eq!(
        (count("meter_samples_log").await, count("frames_log").await),
        (1, 5),
        "logged once"
    );
}

/// Migration 0013 makes the schema version-neutral: a 1.6 database keeps every session, status
/// and sample, now by EVSE, and its transactions keep their ids and stay findable by the id the
/// charger was given; a 1.6 start sent again is still the same transaction, and new ids continue
/// the old sequence.
#[tokio::test]
async fn a_16_database_is_carried_into_the_version_neutral_schema() {
    use chargeyard_store::connectors;
    use chargeyard_store::meter::{self, SampleFilter};
    use chargeyard_store::model::ConnectorState;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("t.db");
    {
        let mut c = migrated_to(&path, 12).await;
        for sql in [
            "INSERT INTO stations (id, registration, created_at)
             VALUES ('CP1', 'accepted', '2024-01-01T00:00:00.000Z')",
            // Ids 1..=41 were used; 41 was the last.
            "INSERT INTO transactions (id, station_id, connector_id, id_tag, start_ts,
             meter_start, start_auth_status, received_at, stop_ts, meter_stop, stop_reason,
             cost, cost_zone)
             VALUES (41, 'CP1', 2, 'TAG', '2024-01-01T10:00:00.000Z', 1000, 'Accepted',
             '2024-01-01T10:00:00.000Z', '2024-01-01T11:00:00.000Z', 8000, 'Local', '2.10',
             'UTC')",
            "INSERT INTO connectors (station_id, connector_id, status, error_code, status_at)
             VALUES ('CP1', 2, 'SuspendedEV', 'NoError', '2024-01-01T10:30:00.000Z')",
            "INSERT INTO status_history (station_id, connector_id, status, error_code,
             timestamp, received_at)
             VALUES ('CP1', 2, 'SuspendedEV', 'NoError', '2024-01-01T10:30:00.000Z',
             '2024-01-01T10:30:00.000Z')",
            "INSERT INTO meter_samples_log (station_id, connector_id, transaction_id, timestamp,
             measurand, raw_value, value, received_at)
             VALUES ('CP1', 2, 41, '2024-01-01T10:30:00.000Z', 'Energy.Active.Import.Register',
             '4500', 4500, '2024-01-01T10:30:00.000Z')",
        ] {
            sqlx::query(sql).execute(&mut c).await.expect(sql);
        }
    }
    let store = Store::open(&path).await.expect("open runs 0013");
    let t = transactions::get(&store.reader, 41)
        .await
        .expect("get")
        .expect("kept");
    assert_eq!(
        (
            t.evse_id,
            t.connector_id,
            t.protocol.as_str(),
            t.charger_tx_id.as_str()
        ),
        (2, None, "ocpp1.6", "41")
    );
    assert_eq!((t.meter_start, t.meter_stop), (Some(1000), Some(8000)));
    assert_eq!(
        transactions::find_id(&store.reader, "CP1", "41")
            .await
            .expect("find"),
        Some(41)
    );
    let cs = connectors::list(&store.reader, "CP1").await.expect("list");
    assert_eq!(
        cs.iter()
            .map(|c| (c.evse_id, c.connector_id, c.state))
            .collect::<Vec<_>>(),
        [(2, None, ConnectorState::SuspendedEV)]
    );
    let samples = meter::query(
        &store.reader,
        &SampleFilter {
            transaction_id: Some(41),
            ..Default::default()
        },
    )
    .await
    .expect("samples");
    assert_eq!(
        samples
            .iter()
            .map(|s| (s.evse_id, s.value))
            .collect::<Vec<_>>(),
        [(2, Some(4500.0))]
    );

    let mut retried = new_tx(1000);
    retried.evse_id = 2;
    retried.start_ts = Utc
        .with_ymd_and_hms(2024, 1, 1, 10, 0, 0)
        .single()
        .expect("time");
    let mut c = store.reader.acquire().await.expect("conn");
    assert_eq!(
        transactions::start(&mut c, &retried, Utc::now())
            .await
            .expect("again"),
        (41, false),
        "a 1.6 start sent again is the transaction it was"
    );
    let (next, new) = transactions::start(&mut c, &new_tx(9000), Utc::now())
        .await
        .expect("new");
    assert!(new && next > 41, "ids continue the old sequence: {next}");
    let mut v2 = new_tx(0);
    v2.protocol = "ocpp2.0.1".into();
    v2.charger_tx_id = Some("b7e1-33".into());
    v2.meter_start = None;
    let (first, new) = transactions::start(&mut c, &v2, Utc::now())
        .await
        .expect("2.0.1");
    assert!(new && first > next);
    assert_eq!(
        transactions::start(&mut c, &v2, Utc::now())
            .await
            .expect("2.0.1 again"),
        (first, false),
        "a 2.0.1 transaction is known by the station's id of it"
    );
    assert_eq!(
        transactions::get(&store.reader, first)
            .await
            .expect("get")
            .map(|t| (t.charger_tx_id, t.meter_start)),
        Some(("b7e1-33".to_string(), None))
    );
}

/// Thinning keeps the first and the last reading of each quarter hour per session (or station),
/// measurand and phase, only for old and indexed readings, and takes the index entries with the
/// readings it deletes. A small chunk gets to the same place in more calls.
#[tokio::test]
async fn old_meter_readings_are_thinned_to_each_quarter_hours_ends() {
    use chargeyard_store::meter::{self, NewSample, SampleFilter};
    for chunk in [10_000, 37] {
        let (_d, store) = open().await;
        let at = |d: u32, h: u32, m: u32| Utc.with_ymd_and_hms(2024, 1, d, h, m, 0).unwrap();
        let sample =
            |tx: Option<i64>, measurand: &str, t: chrono::DateTime<Utc>, v: f64| NewSample {
                station_id: "CP1".into(),
                evse_id: 1,
                transaction_id: tx,
                seq_no: None,
                timestamp: t,
                measurand: measurand.into(),
                phase: None,
                location: None,
                context: Some("Sample.Periodic".into()),
                format: None,
                unit: None,
                raw_value: v.to_string().into(),
                value: Some(v),
                value_unit: Some("Wh".into()),
            };
        let energy = "Energy.Active.Import.Register";
        let mut old = Vec::new();
        for m in 0..60 {
            old.push(sample(Some(7), energy, at(1, 10, m), 1000.0 + m as f64));
            old.push(sample(Some(7), "Power.Active.Import", at(1, 10, m), 7000.0));
        }
        for m in 0..30 {
            old.push(sample(None, energy, at(1, 12, m), 5000.0));
        }
        let recent: Vec<_> = (0..10)
            .map(|m| sample(Some(8), energy, at(10, 9, m), m as f64))
            .collect();
        store.writer.append_samples(old).await.expect("old");
        store.writer.append_samples(recent).await.expect("recent");
        store
            .writer
            .write(|c| Box::pin(async move { chargeyard_store::logs::fold(c).await }))
            .await
            .expect("fold");
        // Appended after the fold: old, but not indexed yet, so left alone.
        store
            .writer
            .append_samples(vec![sample(Some(7), energy, at(1, 10, 30), 9.0)])
            .await
            .expect("late");

        let before = at(8, 0, 0);
        let (mut thinned, mut calls) = (0, 0);
        loop {
            let (n, more) = store
                .writer
                .write(move |c| Box::pin(async move { meter::thin(c, before, chunk).await }))
                .await
                .expect("thin");
            thinned += n;
            calls += 1;
            if !more {
                break;
            }
        }
        let readings = |tx: Option<i64>, m: &'static str| {
            let f = SampleFilter {
                station_id: Some("CP1".into()),
                transaction_id: tx,
                measurand: Some(m.into()),
                ..Default::default()
            };
            let reader = store.reader.clone();
            async move { meter::query(&reader, &f).await.expect("query") }
        };
        let tx7 = readings(Some(7), energy).await;
        let minutes: Vec<u32> = tx7
            .iter()
            .filter(|s| s.raw_value != "9")
            .map(|s| chrono::Timelike::minute(&s.timestamp))
            .collect();
        if chunk == 10_000 {
            assert_eq!(calls, 1);
            // 60 energy and 60 power readings in an hour keep 8 each; 30 unlinked keep 4.
            assert_eq!(thinned, 52 + 52 + 26);
            assert_eq!(minutes, [0, 14, 15, 29, 30, 44, 45, 59]);
            assert_eq!(readings(Some(7), "Power.Active.Import").await.len(), 8);
            assert_eq!(readings(None, energy).await.len(), 4);
        } else {
            assert!(calls > 3, "{calls} calls of {chunk}");
            // Where a chunk ends inside a quarter, both halves keep their ends.
            for m in [0, 14, 15, 29, 30, 44, 45, 59] {
                assert!(minutes.contains(&m), "{m} in {minutes:?}");
            }
            assert!(minutes.len() < 20, "{minutes:?}");
        }
        assert_eq!(
            tx7.iter().filter(|s| s.raw_value == "9").count(),
            1,
            "the unindexed one stays"
        );
        assert_eq!(
            readings(Some(8), energy).await.len(),
            10,
            "recent ones stay"
        );
        // The index tables hold exactly the readings left.
        let linked: i64 = sqlx::query_scalar("SELECT count(*) FROM meter_samples_by_transaction")
            .fetch_one(&store.reader)
            .await
            .expect("count");
        let unlinked: i64 = sqlx::query_scalar("SELECT count(*) FROM meter_samples_unlinked")
            .fetch_one(&store.reader)
            .await
            .expect("count");
        let folded_left: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM meter_samples_log WHERE id <= (SELECT meter_samples FROM folded)",
        )
        .fetch_one(&store.reader)
        .await
        .expect("count");
        assert_eq!(linked + unlinked, folded_left);
        // Nothing more to do until newer readings grow old.
        let again = store
            .writer
            .write(move |c| Box::pin(async move { meter::thin(c, before, chunk).await }))
            .await
            .expect("thin again");
        assert_eq!(again, (0, false));
    }
}
