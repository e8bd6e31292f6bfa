//! The cost engine against hand-worked sessions, and properties over random ones.

use chargeyard_billing::{Cost, CostPart, Tariff, Usage, price, price_parts};
use chrono::{DateTime, Duration, TimeZone, Utc};
use chrono_tz::Europe::Stockholm;
use proptest::prelude::*;
use serde_json::json;

fn tariff(v: serde_json::Value) -> Tariff {
    let t: Tariff = serde_json::from_value(v).expect("tariff");
    t.check().expect("valid");
    t
}

/// Local Stockholm wall-clock time as an instant (unambiguous times only).
fn sthlm(s: &str) -> DateTime<Utc> {
    let naive = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").expect("time");
    Stockholm
        .from_local_datetime(&naive)
        .single()
        .expect("unambiguous")
        .with_timezone(&Utc)
}

/// A session charging steadily at `kw` from start to end.
fn steady(start: DateTime<Utc>, end: DateTime<Utc>, kw: i64) -> Usage {
    let hours_ms = (end - start).num_milliseconds();
    let wh = kw * 1000 * hours_ms / 3_600_000;
    Usage {
        start,
        end,
        readings: vec![(start, 10_000), (end, 10_000 + wh)],
        charging: vec![(start, end)],
    }
}

fn adds_up(c: &Cost) {
    assert_eq!(
        c.energy + c.charging_time + c.plugged_time + c.idle + c.session_fee + c.adjustment,
        c.net,
        "{c:?}"
    );
    assert_eq!(c.net + c.vat, c.total, "{c:?}");
}

#[test]
fn a_flat_tariff_prices_energy_fee_and_vat() {
    let t = tariff(json!({"currency": "SEK", "vat_percent": "25",
        "prices": {"per_kwh": "1.85", "session_fee": "5"}}));
    // 2 h at 11 kW = 22 kWh.
    let u = steady(sthlm("2026-05-04 10:00"), sthlm("2026-05-04 12:00"), 11);
    let c = price(&t, &u, &Stockholm);
    assert_eq!((c.energy_wh, c.energy, c.session_fee), (22_000, 4_070, 500));
    assert_eq!((c.net, c.vat, c.total), (4_570, 1_143, 5_713)); // VAT 1142.5 rounds up
    assert_eq!(
        (c.charging_seconds, c.plugged_seconds, c.idle_seconds),
        (7_200, 7_200, 0)
    );
    adds_up(&c);
}

#[test]
fn a_session_across_a_time_of_use_edge_pays_each_side_its_price() {
    // Day 2.50/kWh; from 22:00 to 06:00 (crossing midnight) 0.90/kWh, every day.
    let t = tariff(
        json!({"currency": "SEK", "vat_percent": "0", "prices": {"per_kwh": "2.50"},
        "windows": [{"name": "night", "days": [1,2,3,4,5,6,7], "start": "22:00", "end": "06:00",
                     "prices": {"per_kwh": "0.90"}}]}),
    );
    // 21:00 to 23:00 at 10 kW: 10 kWh at day price, 10 kWh at night price.
    let u = steady(sthlm("2026-05-04 21:00"), sthlm("2026-05-04 23:00"), 10);
    let c = price(&t, &u, &Stockholm);
    assert_eq!(c.energy, 2_500 + 900, "{c:?}");
    // Across midnight and out of the window in the morning: 05:00–07:00.
    let u = steady(sthlm("2026-05-05 05:00"), sthlm("2026-05-05 07:00"), 10);
    assert_eq!(price(&t, &u, &Stockholm).energy, 900 + 2_500);
    // The whole night, 22:00 to 06:00 next day, all at night price.
    let u = steady(sthlm("2026-05-04 22:00"), sthlm("2026-05-05 06:00"), 10);
    assert_eq!(price(&t, &u, &Stockholm).energy, 80 * 90);
}

#[test]
fn a_session_across_a_time_of_use_edge_is_explained_per_price() {
    // Day 2.50/kWh and 12/h charging; night (22:00–06:00) 0.90/kWh. Idle 1/min after 10 min.
    let t = tariff(
        json!({"currency": "SEK", "vat_percent": "25", "idle_grace_minutes": 10,
        "prices": {"per_kwh": "2.50", "per_charging_hour": "12", "idle_per_minute": "1"},
        "windows": [{"name": "Night", "days": [1,2,3,4,5,6,7], "start": "22:00", "end": "06:00",
                     "prices": {"per_kwh": "0.90"}}]}),
    );
    // Charging 21:30–22:30 at 10 kW, then plugged in and idle until 23:00.
    let mut u = steady(sthlm("2026-05-04 21:30"), sthlm("2026-05-04 22:30"), 10);
    u.end = sthlm("2026-05-04 23:00");
    u.readings.push((u.end, 20_000));
    let (c, parts) = price_parts(&t, &u, &Stockholm);
    assert_eq!(
        c,
        price(&t, &u, &Stockholm),
        "the same cost as without the explanation"
    );
    let windows: Vec<_> = parts.iter().map(|p| p.window.as_deref()).collect();
    assert_eq!(
        windows,
        [None, Some("Night")],
        "in the order the session met them"
    );
    let (day, night) = (&parts[0], &parts[1]);
    assert_eq!(
        (
            day.energy_wh,
            day.energy,
            day.charging_seconds,
            day.charging_time
        ),
        (5_000, 1_250, 1_800, 600)
    );
    assert_eq!(
        (
            night.energy_wh,
            night.energy,
            night.charging_seconds,
            night.charging_time
        ),
        (5_000, 450, 1_800, 600)
    );
    // Idle 22:30–23:00, the first 10 minutes free: 20 minutes billed, all at night.
    assert_eq!(
        (night.billed_idle_seconds, night.idle, day.idle),
        (1_200, 2_000, 0)
    );
    assert_eq!(
        (night.plugged_seconds, night.prices.per_kwh.to_string()),
        (3_600, "0.9".to_string())
    );
    adds_up(&c);
}

#[test]
fn windows_follow_weekdays_and_the_first_match_wins() {
    // Weekend (Sat, Sun) all day 1.00; weekday peak 16–20 3.00; else 2.00.
    let t = tariff(
        json!({"currency": "EUR", "vat_percent": "0", "prices": {"per_kwh": "2"},
        "windows": [{"days": [6,7], "start": "00:00", "end": "24:00", "prices": {"per_kwh": "1"}},
                    {"days": [1,2,3,4,5,6,7], "start": "16:00", "end": "20:00", "prices": {"per_kwh": "3"}}]}),
    );
    // 2026-05-08 is a Friday; 2026-05-09 a Saturday.
    let fri = steady(sthlm("2026-05-08 15:00"), sthlm("2026-05-08 17:00"), 1);
    assert_eq!(price(&t, &fri, &Stockholm).energy, 200 + 300);
    let sat = steady(sthlm("2026-05-09 15:00"), sthlm("2026-05-09 17:00"), 1);
    assert_eq!(
        price(&t, &sat, &Stockholm).energy,
        200,
        "weekend window listed first"
    );
    // Friday 23:00 to Saturday 01:00: the weekend starts at local midnight.
    let over = steady(sthlm("2026-05-08 23:00"), sthlm("2026-05-09 01:00"), 1);
    assert_eq!(price(&t, &over, &Stockholm).energy, 200 + 100);
}

#[test]
fn time_is_charged_by_real_elapsed_time_across_dst_changes() {
    let t = tariff(json!({"currency": "SEK", "vat_percent": "0",
        "prices": {"per_plugged_hour": "10"},
        "windows": [{"days": [7], "start": "02:30", "end": "03:30", "prices": {"per_plugged_hour": "100"}}]}));
    // Plugged in from `a` to `b`, local Stockholm times on `day` (unambiguous ones).
    let plugged = |day: (i32, u32, u32), a: u32, b: u32| {
        let at = |h: u32| {
            Stockholm
                .with_ymd_and_hms(day.0, day.1, day.2, h, 0, 0)
                .single()
                .expect("unambiguous")
                .with_timezone(&Utc)
        };
        let (start, end) = (at(a), at(b));
        let c = price(
            &t,
            &Usage {
                start,
                end,
                ..Default::default()
            },
            &Stockholm,
        );
        (end - start, c.plugged_seconds, c.plugged_time)
    };
    // Spring forward, Sunday 2026-03-29: 02:00 becomes 03:00. 01:00 to 04:00 local is 2 real hours,
    // and the window's 02:30 does not exist: it starts at 03:00, so 30 min at 100.
    assert_eq!(
        plugged((2026, 3, 29), 1, 4),
        (Duration::hours(2), 7_200, 1_500 + 5_000)
    );
    // Fall back, Sunday 2026-10-25: 03:00 becomes 02:00 again. 01:00 to 04:00 local is 4 real
    // hours; the window covers 02:30–03:00 twice and 03:00–03:30 once: 1.5 h at 100, 2.5 h at 10.
    assert_eq!(
        plugged((2026, 10, 25), 1, 4),
        (Duration::hours(4), 14_400, 2_500 + 15_000)
    );
}

#[test]
fn idle_is_charged_after_the_grace_period_only() {
    let t = tariff(json!({"currency": "SEK", "vat_percent": "0",
        "prices": {"idle_per_minute": "2", "per_charging_hour": "6"}, "idle_grace_minutes": 10}));
    let start = sthlm("2026-05-04 08:00");
    let charged = start + Duration::minutes(90);
    let end = charged + Duration::minutes(45);
    let u = Usage {
        start,
        end,
        readings: vec![(start, 0), (charged, 15_000), (end, 15_000)],
        charging: vec![(start, charged)],
    };
    let c = price(&t, &u, &Stockholm);
    assert_eq!((c.idle_seconds, c.billed_idle_seconds), (45 * 60, 35 * 60));
    assert_eq!((c.idle, c.charging_time), (35 * 200, 900), "{c:?}");
    // Suspended in the middle is not idle: charging had not ended.
    let mid = start + Duration::minutes(30);
    let u = Usage {
        charging: vec![(start, mid), (mid + Duration::minutes(20), charged)],
        ..u
    };
    let c = price(&t, &u, &Stockholm);
    assert_eq!((c.idle_seconds, c.charging_seconds), (45 * 60, 70 * 60));
    adds_up(&c);
}

#[test]
fn minimum_and_maximum_show_as_an_adjustment() {
    let base = json!({"currency": "SEK", "vat_percent": "25", "prices": {"per_kwh": "2"}});
    let u = steady(sthlm("2026-05-04 10:00"), sthlm("2026-05-04 10:30"), 4); // 2 kWh = 4.00
    let mut v = base.clone();
    v["min_per_session"] = json!("10");
    let c = price(&tariff(v), &u, &Stockholm);
    assert_eq!(
        (c.energy, c.adjustment, c.net, c.total),
        (400, 600, 1_000, 1_250)
    );
    adds_up(&c);
    let mut v = base;
    v["max_per_session"] = json!("3");
    let c = price(&tariff(v), &u, &Stockholm);
    assert_eq!((c.adjustment, c.net), (-100, 300));
    adds_up(&c);
}

/// Found by the `tariff` fuzz target: a register jump no meter can make (a charger's bad reading)
/// overflowed the sum of the components and wrapped, so the session's maximum gave a negative
/// price. It saturates instead: the cap holds and the amount stays absurdly large, not negative.
#[test]
fn an_impossible_register_jump_saturates_instead_of_wrapping() {
    let t = tariff(
        json!({"currency": "BHD", "vat_percent": "25", "max_per_session": "500",
        "prices": {"per_kwh": "2.5", "idle_per_minute": "0.5", "session_fee": "5"}}),
    );
    let start = sthlm("2026-05-04 10:00");
    let end = start + Duration::hours(2);
    let u = Usage {
        start,
        end,
        readings: vec![
            (start, -4_000_000_000_000_000_000),
            (end, 4_000_000_000_000_000_000),
        ],
        charging: vec![(start, end)],
    };
    let c = price(&t, &u, &Stockholm);
    assert_eq!(c.energy, i64::MAX, "{c:?}");
    assert_eq!(c.net, 500_000, "the session's maximum, in fils: {c:?}");
    assert_eq!(c.total, 625_000);
}

#[test]
fn energy_comes_from_readings_and_charging_from_the_register_when_statuses_are_missing() {
    let t = tariff(json!({"currency": "SEK", "vat_percent": "0",
        "prices": {"per_kwh": "1", "per_charging_hour": "1"}}));
    let s = sthlm("2026-05-04 10:00");
    let at = |m: i64| s + Duration::minutes(m);
    // Rises for 60 min, flat for 30 (suspended), a meter glitch going backwards, rises again.
    let u = Usage {
        start: s,
        end: at(150),
        readings: vec![
            (s, 1_000),
            (at(60), 8_000),
            (at(90), 8_000),
            (at(91), 7_000),
            (at(92), 8_000),
            (at(150), 12_000),
        ],
        charging: vec![],
    };
    let c = price(&t, &u, &Stockholm);
    assert_eq!(
        c.energy_wh,
        7_000 + 1_000 + 4_000,
        "a backwards step adds nothing, the climb back does"
    );
    assert_eq!(c.charging_seconds, (60 + 1 + 58) * 60);
}

#[test]
fn a_running_session_priced_now_is_what_it_costs_when_it_stops_now() {
    let t = tariff(json!({"currency": "SEK", "vat_percent": "25",
        "prices": {"per_kwh": "1.85", "per_plugged_hour": "3", "session_fee": "5"}}));
    let start = sthlm("2026-05-04 10:00");
    let now = start + Duration::minutes(37);
    // Live: readings so far, charging until now.
    let live = Usage {
        start,
        end: now,
        readings: vec![
            (start, 500),
            (start + Duration::minutes(30), 5_500),
            (now, 6_700),
        ],
        charging: vec![(start, now)],
    };
    // Stopped now: StopTransaction's meterStop is the last reading.
    let stopped = live.clone();
    assert_eq!(
        price(&t, &live, &Stockholm),
        price(&t, &stopped, &Stockholm)
    );
}

fn arb_tariff() -> impl Strategy<Value = Tariff> {
    let price = || 0i64..50_000;
    (
        (price(), price(), price(), price(), price()),
        (0u32..60, 0i64..3_000, prop::option::of(0i64..200_000), prop::option::of(0i64..200_000)),
        (0u8..4, 0u32..1440, 1u32..1440, 0i64..30_000),
    )
        .prop_map(|((kwh, ch, pl, idle, fee), (grace, vat, lo, hi), (windows, ws, wl, wkwh))| {
            let p = |v: i64| format!("{}.{:04}", v / 10_000, v % 10_000);
            let (lo, hi) = match (lo, hi) {
                (Some(a), Some(b)) => (Some(a.min(b)), Some(a.max(b))),
                x => x,
            };
            let we = (ws + wl) % 1440;
            let hm = |m: u32| format!("{:02}:{:02}", m / 60, m % 60);
            let windows: Vec<_> = (0..windows)
                .map(|i| json!({"days": [1 + i, 3 + i, 5], "start": hm(ws), "end": if we == ws { "24:00".into() } else { hm(we) },
                    "prices": {"per_kwh": p(wkwh), "per_plugged_hour": p(wkwh / 3)}}))
                .collect();
            tariff(json!({"currency": "SEK", "vat_percent": p(vat * 100), "idle_grace_minutes": grace,
                "prices": {"per_kwh": p(kwh), "per_charging_hour": p(ch), "per_plugged_hour": p(pl),
                           "idle_per_minute": p(idle), "session_fee": p(fee)},
                "min_per_session": lo.map(p), "max_per_session": hi.map(p), "windows": windows}))
        })
}

fn arb_usage() -> impl Strategy<Value = Usage> {
    // Up to 3 days, starting any minute of 2026 (DST days included), steps of up to 2 h.
    (
        0i64..525_600,
        prop::collection::vec((1i64..7_200_000, 0i64..30_000, any::<bool>()), 0..40),
    )
        .prop_map(|(minute, steps)| {
            let start = Utc
                .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
                .single()
                .unwrap_or_default()
                + Duration::minutes(minute);
            let (mut t, mut e) = (start, 1_000_000i64);
            let mut readings = vec![(t, e)];
            let mut charging = Vec::new();
            for (ms, wh, ch) in steps {
                let next = t + Duration::milliseconds(ms);
                if ch {
                    e += wh;
                    charging.push((t, next));
                }
                t = next;
                readings.push((t, e));
            }
            Usage {
                start,
                end: t,
                readings,
                charging,
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn components_always_add_up_to_the_total(t in arb_tariff(), u in arb_usage()) {
        let c = price(&t, &u, &Stockholm);
        prop_assert_eq!(c.energy + c.charging_time + c.plugged_time + c.idle + c.session_fee + c.adjustment, c.net);
        prop_assert_eq!(c.net + c.vat, c.total);
        prop_assert!(c.idle_seconds + c.charging_seconds <= c.plugged_seconds);
        prop_assert!(c.billed_idle_seconds <= c.idle_seconds);
        if let Some(lo) = t.min_per_session { prop_assert!(c.net >= lo.to_minor(2)); }
        if let Some(hi) = t.max_per_session { prop_assert!(c.net <= hi.to_minor(2)); }
        let delivered = u.readings.last().map_or(0, |r| r.1) - u.readings.first().map_or(0, |r| r.1);
        prop_assert_eq!(c.energy_wh, delivered);
    }

    #[test]
    fn the_parts_of_an_explanation_add_up_to_the_cost(t in arb_tariff(), u in arb_usage()) {
        let (c, parts) = price_parts(&t, &u, &Stockholm);
        prop_assert_eq!(&c, &price(&t, &u, &Stockholm));
        let sum = |f: fn(&CostPart) -> i64| parts.iter().map(f).sum::<i64>();
        prop_assert_eq!(sum(|p| p.energy_wh), c.energy_wh);
        prop_assert_eq!(sum(|p| p.charging_seconds), c.charging_seconds);
        prop_assert_eq!(sum(|p| p.plugged_seconds), c.plugged_seconds);
        prop_assert_eq!(sum(|p| p.billed_idle_seconds), c.billed_idle_seconds);
        prop_assert_eq!(sum(|p| p.energy), c.energy);
        prop_assert_eq!(sum(|p| p.charging_time), c.charging_time);
        prop_assert_eq!(sum(|p| p.plugged_time), c.plugged_time);
        prop_assert_eq!(sum(|p| p.idle), c.idle);
        prop_assert!(parts.len() <= 1 + t.windows.len());
    }

    #[test]
    fn without_windows_energy_costs_the_same_however_densely_it_was_sampled(t in arb_tariff(), u in arb_usage()) {
        let flat = Tariff { windows: vec![], ..t };
        let sparse = Usage { readings: vec![u.readings[0], *u.readings.last().unwrap_or(&u.readings[0])], charging: vec![(u.start, u.end)], ..u.clone() };
        let dense = Usage { charging: vec![(u.start, u.end)], ..u };
        let (a, b) = (price(&flat, &sparse, &Stockholm), price(&flat, &dense, &Stockholm));
        // The register only rises in these sessions, so the energy and its price are the same.
        prop_assert_eq!(a.energy_wh, b.energy_wh);
        prop_assert_eq!(a.energy, b.energy);
        prop_assert_eq!(a.plugged_time, b.plugged_time);
    }
}

#[test]
fn energy_by_hour_splits_at_hour_edges_and_adds_up() {
    // 11 kW from 10:30 to 12:15 UTC: 5.5 kWh, 11 kWh, 2.75 kWh.
    let start: DateTime<Utc> = "2026-05-04T10:30:00Z".parse().expect("t");
    let end: DateTime<Utc> = "2026-05-04T12:15:00Z".parse().expect("t");
    let u = steady(start, end, 11);
    let hours = chargeyard_billing::energy_by_hour(&u.readings, start, end);
    let at = |s: &str| s.parse::<DateTime<Utc>>().expect("t");
    assert_eq!(
        hours,
        vec![
            (at("2026-05-04T10:00:00Z"), 5_500),
            (at("2026-05-04T11:00:00Z"), 11_000),
            (at("2026-05-04T12:00:00Z"), 2_750)
        ]
    );
    let c = price(
        &tariff(json!({"currency": "SEK", "vat_percent": "0", "prices": {}})),
        &u,
        &Stockholm,
    );
    assert_eq!(hours.iter().map(|h| h.1).sum::<i64>(), c.energy_wh);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    /// However the readings fall (backwards steps included), the hours add up to the energy the
    /// cost engine bills.
    #[test]
    fn energy_by_hour_adds_up_to_the_billed_energy(
        steps in proptest::collection::vec((1i64..7_200, -500i64..20_000), 1..40),
    ) {
        let start: DateTime<Utc> = "2026-03-29T00:17:00Z".parse().expect("t");
        let (mut t, mut wh) = (start, 1_000i64);
        let mut readings = vec![(start, wh)];
        for (secs, d) in steps {
            t += Duration::seconds(secs);
            wh += d;
            readings.push((t, wh));
        }
        let u = Usage { start, end: t, readings: readings.clone(), charging: vec![] };
        let c = price(&tariff(json!({"currency": "SEK", "vat_percent": "0", "prices": {}})), &u, &Stockholm);
        let hours = chargeyard_billing::energy_by_hour(&readings, start, t);
        prop_assert_eq!(hours.iter().map(|h| h.1).sum::<i64>(), c.energy_wh);
        prop_assert!(hours.windows(2).all(|w| w[0].0 < w[1].0));
    }
}
