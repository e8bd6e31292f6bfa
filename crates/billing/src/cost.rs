//! The one cost engine: the dashboard's running cost and the invoice's final cost are this
//! function over the same stored data, so they cannot disagree.
//!
//! Rules (also in docs/BILLING.md):
//! - The session is cut into pieces wherever a price can change (time-of-use window edges in the
//!   depot's time zone, DST included), where charging starts or stops, where the idle grace ends,
//!   and at every meter reading. Each piece is priced at the prices in effect when it begins.
//! - Energy in a piece is read off the energy register, linearly between readings (to the mWh);
//!   a register that goes backwards adds nothing.
//! - Time is charged to the millisecond, pro rata: per hour charging, per hour plugged in, per
//!   minute idle beyond the grace. Idle is the time after charging last ended (from the start when
//!   the session never charged), while not charging.
//! - Each component is summed exactly and rounded once, half away from zero, to the currency's
//!   minor unit. The session fee uses the prices at the start.
//! - Net = the rounded components, then raised to the minimum or lowered to the maximum per session
//!   (the difference is the `adjustment` component). VAT = net × rate, rounded the same way.
//!   Total = net + VAT. So the components always add up to the total.

use chrono::{
    DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Timelike, Utc,
};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::amount::round_div;
use crate::tariff::{Prices, Tariff, window_at};

/// What a session used, from the stored meter values and status history.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Usage {
    pub start: DateTime<Utc>,
    /// The stop, or now for a running session.
    pub end: DateTime<Utc>,
    /// Energy register readings in Wh: the start value, samples, the stop value.
    pub readings: Vec<(DateTime<Utc>, i64)>,
    /// When the connector reported Charging. Empty: taken from where the register rose.
    pub charging: Vec<(DateTime<Utc>, DateTime<Utc>)>,
}

/// A priced session. Amounts are in minor units of `currency` (öre, cent), net of VAT unless
/// named otherwise.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Cost {
    pub currency: String,
    /// Decimals of the minor unit (2 for SEK and EUR).
    pub decimals: u32,
    pub energy_wh: i64,
    pub charging_seconds: i64,
    pub plugged_seconds: i64,
    pub idle_seconds: i64,
    /// Idle seconds beyond the grace period: the ones charged.
    pub billed_idle_seconds: i64,
    pub energy: i64,
    pub charging_time: i64,
    pub plugged_time: i64,
    pub idle: i64,
    pub session_fee: i64,
    /// Raises the net to the session minimum or lowers it to the maximum.
    pub adjustment: i64,
    pub net: i64,
    pub vat: i64,
    pub total: i64,
}

impl Cost {
    /// What was used, in the order invoices and stored costs list it: energy (Wh), then charging,
    /// plugged, idle and billed idle seconds.
    pub fn usage(&self) -> [i64; 5] {
        [
            self.energy_wh,
            self.charging_seconds,
            self.plugged_seconds,
            self.idle_seconds,
            self.billed_idle_seconds,
        ]
    }

    /// The amounts, in the order invoices and stored costs list them: energy, charging time,
    /// plugged time, idle, session fee, adjustment, net, VAT.
    pub fn amounts(&self) -> [i64; 8] {
        [
            self.energy,
            self.charging_time,
            self.plugged_time,
            self.idle,
            self.session_fee,
            self.adjustment,
            self.net,
            self.vat,
        ]
    }
}

type Instant = DateTime<Utc>;

/// The register at `t` in mWh, linear between readings (sorted by time).
fn register_mwh(readings: &[(Instant, i64)], t: Instant) -> i128 {
    let i = readings.partition_point(|(at, _)| *at <= t);
    let mwh = |wh: i64| i128::from(wh) * 1000;
    match (i.checked_sub(1).map(|j| readings[j]), readings.get(i)) {
        (None, None) => 0,
        (None, Some(&(_, e))) | (Some((_, e)), None) => mwh(e),
        (Some((t0, e0)), Some(&(t1, e1))) => {
            let span = i128::from((t1 - t0).num_milliseconds());
            let into = i128::from((t - t0).num_milliseconds());
            mwh(e0) + i128::from(round_div((mwh(e1) - mwh(e0)) * into, span))
        }
    }
}

/// Energy per UTC hour over `[start, end)` in Wh, read off the register the way [`price`] reads
/// it (linear between readings, nothing for a register going backwards): `(hour start, Wh)` for
/// each hour the session touches, adding up to the session's energy. For load charts.
pub fn energy_by_hour(
    readings: &[(Instant, i64)],
    start: Instant,
    end: Instant,
) -> Vec<(Instant, i64)> {
    let hour = |t: Instant| {
        t.with_minute(0)
            .and_then(|t| t.with_second(0))
            .and_then(|t| t.with_nanosecond(0))
            .unwrap_or(t)
    };
    // Cut at every reading (so a backwards step adds nothing) and every hour edge.
    let mut cuts: Vec<Instant> = readings
        .iter()
        .map(|r| r.0)
        .filter(|t| *t > start && *t < end)
        .collect();
    let mut edge = hour(start) + Duration::hours(1);
    while edge < end {
        cuts.push(edge);
        edge += Duration::hours(1);
    }
    cuts.push(end);
    cuts.sort_unstable();
    // Each piece lies within one hour (the hour edges are cuts).
    let mut per_hour: Vec<(Instant, i128)> = Vec::new();
    let mut from = start;
    for to in cuts {
        let delta = (register_mwh(readings, to) - register_mwh(readings, from)).max(0);
        match per_hour.last_mut() {
            Some((h, mwh)) if *h == hour(from) => *mwh += delta,
            _ => per_hour.push((hour(from), delta)),
        }
        from = to;
    }
    // Rounded on the running total, so the hours add up to the rounded whole.
    let (mut total, mut shown) = (0i128, 0i64);
    let mut out = Vec::with_capacity(per_hour.len());
    for (h, mwh) in per_hour {
        total += mwh;
        let upto = round_div(total, 1000);
        if upto != shown {
            out.push((h, upto - shown));
            shown = upto;
        }
    }
    out
}

/// The instants a local wall-clock time maps to: one, two (DST fall-back), or the first valid
/// minute after a DST gap.
fn instants<Tz: TimeZone>(tz: &Tz, local: NaiveDateTime) -> Vec<Instant> {
    let mut at = local;
    for _ in 0..=180 {
        let found: Vec<Instant> = match tz.from_local_datetime(&at) {
            chrono::LocalResult::Single(t) => vec![t.with_timezone(&Utc)],
            chrono::LocalResult::Ambiguous(a, b) => {
                vec![a.with_timezone(&Utc), b.with_timezone(&Utc)]
            }
            chrono::LocalResult::None => Vec::new(),
        };
        if !found.is_empty() {
            return found;
        }
        at += Duration::minutes(1);
    }
    Vec::new()
}

impl Usage {
    /// Charging intervals, clipped to the session, sorted, overlaps merged. Without reported
    /// Charging statuses, the stretches between readings where the register rose.
    fn charging_intervals(&self, readings: &[(Instant, i64)]) -> Vec<(Instant, Instant)> {
        let mut v: Vec<(Instant, Instant)> = if self.charging.is_empty() {
            readings
                .windows(2)
                .filter(|w| w[1].1 > w[0].1)
                .map(|w| (w[0].0, w[1].0))
                .collect()
        } else {
            self.charging.clone()
        };
        v = v
            .into_iter()
            .map(|(a, b)| (a.max(self.start), b.min(self.end)))
            .filter(|(a, b)| a < b)
            .collect();
        v.sort();
        let mut merged: Vec<(Instant, Instant)> = Vec::with_capacity(v.len());
        for (a, b) in v {
            match merged.last_mut() {
                Some(last) if a <= last.1 => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        merged
    }
}

/// What one set of prices charged in a session: the tariff's base prices or one time-of-use
/// window's. A session's parts add up to its usage and its components exactly (each part is
/// rounded on the running total); the session fee, adjustment and VAT are the session's alone.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct CostPart {
    /// The window's name ("" when it has none); None for the base prices.
    pub window: Option<String>,
    pub prices: Prices,
    pub energy_wh: i64,
    pub charging_seconds: i64,
    pub plugged_seconds: i64,
    pub billed_idle_seconds: i64,
    pub energy: i64,
    pub charging_time: i64,
    pub plugged_time: i64,
    pub idle: i64,
}

/// Usage and amounts summed exactly, before rounding. Amounts in ten-thousandths of the price
/// times mWh or ms.
#[derive(Debug, Clone, Copy, Default)]
struct Raw {
    energy_mwh: i128,
    charging_ms: i64,
    plugged_ms: i64,
    billed_idle_ms: i64,
    energy: i128,
    charging_time: i128,
    plugged_time: i128,
    idle: i128,
}

impl Raw {
    fn add(&mut self, o: &Raw) {
        self.energy_mwh += o.energy_mwh;
        self.charging_ms += o.charging_ms;
        self.plugged_ms += o.plugged_ms;
        self.billed_idle_ms += o.billed_idle_ms;
        self.energy += o.energy;
        self.charging_time += o.charging_time;
        self.plugged_time += o.plugged_time;
        self.idle += o.idle;
    }

    /// Whole Wh and seconds (cut off), then the amounts in minor units of a currency with `d`
    /// decimals (rounded half away from zero), in [`CostPart`]'s order.
    fn rounded(&self, d: u32) -> [i64; 8] {
        // mWh × 1e-4/kWh = 1e-10 of the major unit; ms × 1e-4/h = 1e-4/3.6e6; ms × 1e-4/min.
        let minor = |raw: i128, per_major: i128| round_div(raw * 10i128.pow(d), per_major);
        [
            i64::try_from(self.energy_mwh / 1000).unwrap_or(i64::MAX),
            self.charging_ms / 1000,
            self.plugged_ms / 1000,
            self.billed_idle_ms / 1000,
            minor(self.energy, 10_000_000_000),
            minor(self.charging_time, 36_000_000_000),
            minor(self.plugged_time, 36_000_000_000),
            minor(self.idle, 600_000_000),
        ]
    }
}

/// Price `usage` with `tariff` in the depot's time zone `tz`.
pub fn price<Tz: TimeZone>(tariff: &Tariff, usage: &Usage, tz: &Tz) -> Cost {
    price_parts(tariff, usage, tz).0
}

/// [`price`], with what each set of prices charged, in the order the session met them.
pub fn price_parts<Tz: TimeZone>(tariff: &Tariff, usage: &Usage, tz: &Tz) -> (Cost, Vec<CostPart>) {
    let (start, end) = (usage.start, usage.end.max(usage.start));
    let d = tariff.decimals();
    let mut readings = usage.readings.clone();
    readings.sort_by_key(|(t, _)| *t);
    let charging = usage.charging_intervals(&readings);
    let idle_from = charging.last().map_or(start, |(_, b)| *b);
    let grace_end = idle_from + Duration::minutes(i64::from(tariff.idle_grace_minutes));

    // Every instant where something that sets a price or a component can change.
    let mut cuts: Vec<Instant> = vec![start, end, idle_from, grace_end];
    cuts.extend(charging.iter().flat_map(|(a, b)| [*a, *b]));
    cuts.extend(readings.iter().map(|(t, _)| *t));
    let spans = tariff.spans();
    if !spans.is_empty() {
        // Where the wall clock jumps (DST), a window can begin or end without a local edge time.
        cuts.extend(offset_changes(tz, start, end));
        let first = start.with_timezone(tz).date_naive() - Duration::days(1);
        let last = end.with_timezone(tz).date_naive() + Duration::days(1);
        let mut day = first;
        while day <= last {
            let wd = chrono::Datelike::weekday(&day).num_days_from_monday() as usize;
            for (s, _) in spans.iter().filter(|(s, _)| s.days[wd]) {
                let end_day = if s.crosses_midnight() {
                    day + Duration::days(1)
                } else {
                    day
                };
                for (date, m) in [(day, s.start), (end_day, s.end)] {
                    cuts.extend(instants(tz, local(date, m)));
                }
            }
            day += Duration::days(1);
        }
    }
    cuts.retain(|t| *t >= start && *t <= end);
    cuts.sort();
    cuts.dedup();

    // Summed per set of prices: the base prices (None) or a window (its index in `spans`).
    let mut groups: Vec<(Option<usize>, Raw)> = Vec::new();
    let mut idle_ms = 0i64;
    let mut ci = 0;
    for w in cuts.windows(2) {
        let (a, b) = (w[0], w[1]);
        let ms = (b - a).num_milliseconds();
        let window = window_at(&spans, a, tz);
        let p = tariff.prices_with(window.map(|i| spans[i].1));
        let g = match groups.iter().position(|(k, _)| *k == window) {
            Some(g) => g,
            None => {
                groups.push((window, Raw::default()));
                groups.len() - 1
            }
        };
        let r = &mut groups[g].1;
        let delta = (register_mwh(&readings, b) - register_mwh(&readings, a)).max(0);
        r.energy_mwh += delta;
        r.energy += delta * i128::from(p.per_kwh.ten_thousandths());
        r.plugged_ms += ms;
        r.plugged_time += i128::from(ms) * i128::from(p.per_plugged_hour.ten_thousandths());
        while ci < charging.len() && charging[ci].1 <= a {
            ci += 1;
        }
        let is_charging = charging.get(ci).is_some_and(|(x, _)| *x <= a);
        if is_charging {
            r.charging_ms += ms;
            r.charging_time += i128::from(ms) * i128::from(p.per_charging_hour.ten_thousandths());
        } else if a >= idle_from {
            idle_ms += ms;
            if a >= grace_end {
                r.billed_idle_ms += ms;
                r.idle += i128::from(ms) * i128::from(p.idle_per_minute.ten_thousandths());
            }
        }
    }

    // Each part is what the running total reached after it, less what it had reached before.
    let (mut sum, mut shown) = (Raw::default(), [0i64; 8]);
    let mut parts = Vec::with_capacity(groups.len());
    for (window, r) in &groups {
        sum.add(r);
        let upto = sum.rounded(d);
        let v: Vec<i64> = upto
            .iter()
            .zip(shown)
            .map(|(u, s)| u.saturating_sub(s))
            .collect();
        let window = window.map(|i| spans[i].1);
        parts.push(CostPart {
            window: window.map(|w| w.name.clone()),
            prices: tariff.prices_with(window),
            energy_wh: v[0],
            charging_seconds: v[1],
            plugged_seconds: v[2],
            billed_idle_seconds: v[3],
            energy: v[4],
            charging_time: v[5],
            plugged_time: v[6],
            idle: v[7],
        });
        shown = upto;
    }
    let [
        energy_wh,
        charging_seconds,
        _,
        billed_idle_seconds,
        energy,
        charging_time,
        plugged_time,
        idle,
    ] = shown;
    let session_fee = tariff
        .prices_with(window_at(&spans, start, tz).map(|i| spans[i].1))
        .session_fee
        .to_minor(d);
    // Saturating: a register jump no meter can make (a charger's bad reading) must give an
    // absurd amount to look into, not a wrapped one.
    let sum = [charging_time, plugged_time, idle, session_fee]
        .into_iter()
        .fold(energy, i64::saturating_add);
    let lo = tariff.min_per_session.map(|p| p.to_minor(d));
    let hi = tariff.max_per_session.map(|p| p.to_minor(d));
    let net = sum.max(lo.unwrap_or(i64::MIN)).min(hi.unwrap_or(i64::MAX));
    let vat = round_div(
        i128::from(net) * i128::from(tariff.vat_percent.ten_thousandths()),
        1_000_000,
    );
    let cost = Cost {
        currency: tariff.currency.clone(),
        decimals: d,
        energy_wh,
        charging_seconds,
        plugged_seconds: (end - start).num_seconds(),
        idle_seconds: idle_ms / 1000,
        billed_idle_seconds,
        energy,
        charging_time,
        plugged_time,
        idle,
        session_fee,
        adjustment: net.saturating_sub(sum),
        net,
        vat,
        total: net.saturating_add(vat),
    };
    (cost, parts)
}

/// The instants in (start, end] where the zone's UTC offset changes, to the second: probed every
/// 6 hours (offsets change at most twice a year), then found by bisection.
fn offset_changes<Tz: TimeZone>(tz: &Tz, start: Instant, end: Instant) -> Vec<Instant> {
    let offset = |t: Instant| tz.offset_from_utc_datetime(&t.naive_utc()).fix();
    let mut found = Vec::new();
    let mut a = start;
    while a < end {
        let b = (a + Duration::hours(6)).min(end);
        if offset(a) != offset(b) {
            let (mut lo, mut hi) = (a, b);
            while hi - lo > Duration::seconds(1) {
                let mid = lo + (hi - lo) / 2;
                if offset(mid) == offset(lo) {
                    lo = mid
                } else {
                    hi = mid
                }
            }
            found.push(hi.with_nanosecond(0).unwrap_or(hi));
        }
        a = b;
    }
    found
}

/// `date` at `minutes` after its midnight (1440: the next midnight).
fn local(date: NaiveDate, minutes: u32) -> NaiveDateTime {
    let day = date + Duration::days(i64::from(minutes / 1440));
    let m = minutes % 1440;
    day.and_time(NaiveTime::from_hms_opt(m / 60, m % 60, 0).unwrap_or(NaiveTime::MIN))
}
