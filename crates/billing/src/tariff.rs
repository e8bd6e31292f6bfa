//! What a tariff says: prices, fees, VAT, limits and time-of-use windows.

use chrono::{DateTime, Datelike, TimeZone, Timelike, Utc, Weekday};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::amount::{Price, currency_decimals};

/// Prices that time-based and energy-based parts of a session are charged at. All net of VAT.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(default)]
pub struct Prices {
    /// Per kWh delivered.
    pub per_kwh: Price,
    /// Per hour the connector was charging (status Charging).
    pub per_charging_hour: Price,
    /// Per hour plugged in: the whole session.
    pub per_plugged_hour: Price,
    /// Per minute idle (plugged in, not charging, after charging ended) beyond the grace period.
    pub idle_per_minute: Price,
    /// Once per session, at the prices in effect when it starts.
    pub session_fee: Price,
}

/// Prices a time-of-use window changes; the others stay as the tariff's base prices.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(default)]
pub struct PriceChanges {
    pub per_kwh: Option<Price>,
    pub per_charging_hour: Option<Price>,
    pub per_plugged_hour: Option<Price>,
    pub idle_per_minute: Option<Price>,
    pub session_fee: Option<Price>,
}

/// Weekdays and a local time range ("22:00" to "06:00" crosses midnight: it starts on the listed
/// day and ends the next morning; "00:00" to "24:00" is the whole day).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct TimeWindow {
    #[serde(default)]
    pub name: String,
    /// 1 = Monday … 7 = Sunday.
    pub days: Vec<u8>,
    pub start: String,
    pub end: String,
    pub prices: PriceChanges,
}

/// A tariff as one version of it reads. Validated with [`Tariff::check`] before it is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Tariff {
    /// ISO 4217 code, e.g. "SEK", "EUR".
    pub currency: String,
    /// VAT in percent ("25", "12.5"), added on top of the net prices.
    pub vat_percent: Price,
    pub prices: Prices,
    /// Idle minutes not charged after charging ends.
    #[serde(default)]
    pub idle_grace_minutes: u32,
    /// Net total a session costs at least / at most (session fee included).
    #[serde(default)]
    pub min_per_session: Option<Price>,
    #[serde(default)]
    pub max_per_session: Option<Price>,
    /// The first window that covers an instant sets its prices; outside all windows the base
    /// prices apply.
    #[serde(default)]
    pub windows: Vec<TimeWindow>,
}

/// A window with its times read: minutes after local midnight, `end` up to 1440.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Span {
    pub days: [bool; 7],
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub(crate) fn crosses_midnight(&self) -> bool {
        self.end <= self.start
    }

    /// Whether local weekday `day` at minute `m` falls in this window.
    fn covers(&self, day: Weekday, m: u32) -> bool {
        let on = |d: Weekday| self.days[d.num_days_from_monday() as usize];
        if self.crosses_midnight() {
            (on(day) && m >= self.start) || (on(day.pred()) && m < self.end)
        } else {
            on(day) && m >= self.start && m < self.end
        }
    }
}

/// "HH:MM" as minutes after midnight; "24:00" allowed where `end`.
fn minutes(s: &str, end: bool) -> Option<u32> {
    let (h, m) = s.trim().split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    let v = h * 60 + m;
    (m < 60 && (v < 1440 || (end && v == 1440))).then_some(v)
}

/// Problems with a tariff, each naming its field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.join("; "))]
pub struct TariffError(pub Vec<String>);

impl Tariff {
    /// Every problem at once, each naming its field.
    pub fn check(&self) -> Result<(), TariffError> {
        let mut e = Vec::new();
        if self.currency.len() != 3 || !self.currency.bytes().all(|b| b.is_ascii_uppercase()) {
            e.push(format!(
                "currency {:?}: use a three-letter ISO 4217 code such as SEK or EUR",
                self.currency
            ));
        }
        if self.vat_percent > Price::from_ten_thousandths(100 * 10_000) {
            e.push(format!("vat_percent {}: at most 100", self.vat_percent));
        }
        if let (Some(lo), Some(hi)) = (self.min_per_session, self.max_per_session)
            && lo > hi
        {
            e.push(format!(
                "min_per_session {lo} is above max_per_session {hi}"
            ));
        }
        if self.idle_grace_minutes > 24 * 60 {
            e.push("idle_grace_minutes: at most a day (1440)".into());
        }
        for (i, w) in self.windows.iter().enumerate() {
            let at = format!("windows[{i}]");
            if w.days.is_empty() || w.days.iter().any(|d| !(1..=7).contains(d)) {
                e.push(format!("{at}.days: 1 (Monday) to 7 (Sunday), at least one"));
            }
            let (s, t) = (minutes(&w.start, false), minutes(&w.end, true));
            if s.is_none() {
                e.push(format!("{at}.start {:?}: a time like 22:00", w.start));
            }
            if t.is_none() {
                e.push(format!(
                    "{at}.end {:?}: a time like 06:00 (or 24:00)",
                    w.end
                ));
            }
            if s.is_some() && s == t {
                e.push(format!("{at}: start and end are the same time"));
            }
        }
        if e.is_empty() {
            Ok(())
        } else {
            Err(TariffError(e))
        }
    }

    pub fn decimals(&self) -> u32 {
        currency_decimals(&self.currency)
    }

    /// The windows with their times read (checked tariffs only: others are skipped).
    pub(crate) fn spans(&self) -> Vec<(Span, &TimeWindow)> {
        self.windows
            .iter()
            .filter_map(|w| {
                let mut days = [false; 7];
                for &d in &w.days {
                    *days.get_mut(usize::from(d).checked_sub(1)?)? = true;
                }
                Some((
                    Span {
                        days,
                        start: minutes(&w.start, false)?,
                        end: minutes(&w.end, true)?,
                    },
                    w,
                ))
            })
            .collect()
    }

    /// The prices in effect at `t`, in the depot's time zone `tz`.
    pub fn prices_at<Tz: TimeZone>(&self, t: DateTime<Utc>, tz: &Tz) -> Prices {
        let spans = self.spans();
        self.prices_with(window_at(&spans, t, tz).map(|i| spans[i].1))
    }

    /// The base prices with `window`'s changes (None: the base prices).
    pub(crate) fn prices_with(&self, window: Option<&TimeWindow>) -> Prices {
        let p = self.prices.clone();
        let Some(c) = window.map(|w| &w.prices) else {
            return p;
        };
        let or = |o: Option<Price>, base: Price| o.unwrap_or(base);
        Prices {
            per_kwh: or(c.per_kwh, p.per_kwh),
            per_charging_hour: or(c.per_charging_hour, p.per_charging_hour),
            per_plugged_hour: or(c.per_plugged_hour, p.per_plugged_hour),
            idle_per_minute: or(c.idle_per_minute, p.idle_per_minute),
            session_fee: or(c.session_fee, p.session_fee),
        }
    }
}

/// The first of `spans` covering `t` in the depot's time zone `tz` (its index), if any.
pub(crate) fn window_at<Tz: TimeZone>(
    spans: &[(Span, &TimeWindow)],
    t: DateTime<Utc>,
    tz: &Tz,
) -> Option<usize> {
    let local = t.with_timezone(tz);
    let m = local.hour() * 60 + local.minute();
    spans.iter().position(|(s, _)| s.covers(local.weekday(), m))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tariff(json: serde_json::Value) -> Tariff {
        serde_json::from_value(json).expect("tariff")
    }

    #[test]
    fn every_problem_is_named_with_its_field() {
        let t = tariff(serde_json::json!({
            "currency": "kr", "vat_percent": "125", "prices": {},
            "min_per_session": "10", "max_per_session": "5",
            "windows": [{"days": [0, 8], "start": "25:00", "end": "6", "prices": {}},
                        {"days": [1], "start": "06:00", "end": "06:00", "prices": {}}]
        }));
        let e = t.check().expect_err("refused").0;
        for part in [
            "currency",
            "vat_percent",
            "min_per_session",
            "windows[0].days",
            "windows[0].start",
            "windows[0].end",
            "windows[1]: start and end",
        ] {
            assert!(e.iter().any(|m| m.starts_with(part)), "{part} in {e:?}");
        }
        assert_eq!(e.len(), 7, "{e:?}");
    }

    #[test]
    fn prices_are_decimal_strings_never_json_numbers() {
        let t = tariff(serde_json::json!({
            "currency": "SEK", "vat_percent": "25",
            "prices": {"per_kwh": "1.85", "session_fee": "5"},
        }));
        t.check().expect("valid");
        assert_eq!(t.prices.per_kwh.ten_thousandths(), 18_500);
        assert_eq!(t.prices.idle_per_minute, Price::ZERO);
        let bad = serde_json::from_value::<Tariff>(serde_json::json!({
            "currency": "SEK", "vat_percent": "25", "prices": {"per_kwh": 1.85}}));
        assert!(bad.is_err(), "a JSON number is not taken as a price");
    }
}
