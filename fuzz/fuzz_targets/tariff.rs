//! A tariff as the console or the API could be given one (JSON), checked as it is before it is
//! stored; one that passes prices a session made from the rest of the input (meter readings as a
//! charger could report them, charging spans) in a time zone with daylight saving. Pricing must
//! not panic, and its parts must add up to the total.

#![no_main]

use chargeyard_billing::{Tariff, Usage, price_parts};
use chrono::{DateTime, Duration, Utc};
use libfuzzer_sys::fuzz_target;

/// Little-endian integers from the front of `bytes`, while they last.
fn take<const N: usize>(bytes: &mut &[u8]) -> Option<[u8; N]> {
    let (head, rest) = bytes.split_first_chunk::<N>()?;
    *bytes = rest;
    Some(*head)
}

fuzz_target!(|data: &[u8]| {
    // The tariff's JSON, then a NUL, then the session.
    let split = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    let (json, mut rest) = data.split_at(split);
    let Ok(tariff) = serde_json::from_slice::<Tariff>(json) else {
        return;
    };
    if tariff.check().is_err() {
        return;
    }
    rest = rest.get(1..).unwrap_or_default();
    // 2020-01-01 plus up to ten years, to the second.
    let base = DateTime::<Utc>::from_timestamp(1_577_836_800, 0).expect("date");
    let offset = take::<4>(&mut rest).map_or(0, u32::from_le_bytes) % (10 * 365 * 86_400);
    let start = base + Duration::seconds(i64::from(offset));
    let mut at = start;
    let mut readings = Vec::new();
    let mut charging = Vec::new();
    // Each step: seconds on (up to a day), a register reading as a charger could send any,
    // and whether the car was charging over the step.
    while let (Some(step), Some(wh), Some(flag)) = (
        take::<4>(&mut rest),
        take::<8>(&mut rest),
        take::<1>(&mut rest),
    ) {
        let next = at + Duration::seconds(i64::from(u32::from_le_bytes(step) % 86_400));
        readings.push((next, i64::from_le_bytes(wh)));
        if flag[0] & 1 == 1 {
            charging.push((at, next));
        }
        at = next;
    }
    let usage = Usage {
        start,
        end: at,
        readings,
        charging,
    };
    let (cost, parts) = price_parts(&tariff, &usage, &chrono_tz::Europe::Stockholm);
    // Amounts past i64 saturate (a reading no meter can make); short of that, exact.
    let amounts = |e: i64, c: i64, p: i64, i: i64| [e, c, p, i].map(i128::from);
    let session = amounts(
        cost.energy,
        cost.charging_time,
        cost.plugged_time,
        cost.idle,
    );
    let saturated = |v: &i128| v.abs() >= i128::from(i64::MAX) / 2;
    if parts.is_empty() || session.iter().any(saturated) || saturated(&i128::from(cost.energy_wh)) {
        return;
    }
    let energy: i128 = parts.iter().map(|p| i128::from(p.energy_wh)).sum();
    assert_eq!(
        energy,
        i128::from(cost.energy_wh),
        "the parts' energy is the session's"
    );
    let mut sums = [0i128; 4];
    for p in &parts {
        for (s, v) in
            sums.iter_mut()
                .zip(amounts(p.energy, p.charging_time, p.plugged_time, p.idle))
        {
            *s += v;
        }
    }
    assert_eq!(sums, session, "the parts' amounts are the session's");
});
