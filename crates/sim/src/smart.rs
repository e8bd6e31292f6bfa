//! Smart charging as a charger does it: the profiles it was sent (1.6 or 2.0.1) read into one
//! form, and the limit in force on a connector at a moment. The composite of a station-wide
//! maximum (ChargePointMaxProfile / ChargingStationMaxProfile) and the session's own profile
//! (a TxProfile for its transaction, else a TxDefaultProfile for the connector, else one for the
//! whole station); within a purpose the highest stack level that is valid and has a period in
//! force wins. Schedules may be Absolute, Relative (to the session's start) or Recurring
//! (daily, weekly), in A or in W (turned into A per phase at the charger's voltage).

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use chargeyard_ocpp::v16::{
    ChargingProfileKindType, ChargingProfilePurposeType, ChargingRateUnitType, RecurrencyKindType,
    SetChargingProfileRequest,
};

/// Phase-to-neutral voltage the simulated chargers run on.
pub const VOLTAGE: f64 = 230.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    StationMax,
    TxDefault,
    Tx,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Absolute,
    Relative,
    Daily,
    Weekly,
}

/// One profile as installed.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub id: i64,
    /// The connector (1.6) or EVSE (2.0.1) it is set on; 0: the station.
    pub evse: i64,
    pub purpose: Purpose,
    pub stack_level: i64,
    /// A TxProfile's transaction, as the charger knows it.
    pub transaction: Option<String>,
    pub kind: Kind,
    pub start: Option<DateTime<Utc>>,
    pub duration_s: Option<i64>,
    pub valid_from: Option<DateTime<Utc>>,
    pub valid_to: Option<DateTime<Utc>>,
    pub in_watts: bool,
    /// (seconds from the schedule's start, limit, phases)
    pub periods: Vec<(i64, f64, Option<i64>)>,
}

impl Profile {
    pub fn from_v16(r: &SetChargingProfileRequest) -> Profile {
        let p = &r.cs_charging_profiles;
        let s = &p.charging_schedule;
        Profile {
            id: p.charging_profile_id,
            evse: r.connector_id,
            purpose: match p.charging_profile_purpose {
                ChargingProfilePurposeType::ChargePointMaxProfile => Purpose::StationMax,
                ChargingProfilePurposeType::TxDefaultProfile => Purpose::TxDefault,
                _ => Purpose::Tx,
            },
            stack_level: p.stack_level,
            transaction: p.transaction_id.map(|t| t.to_string()),
            kind: match (&p.charging_profile_kind, &p.recurrency_kind) {
                (ChargingProfileKindType::Relative, _) => Kind::Relative,
                (ChargingProfileKindType::Recurring, Some(RecurrencyKindType::Weekly)) => {
                    Kind::Weekly
                }
                (ChargingProfileKindType::Recurring, _) => Kind::Daily,
                _ => Kind::Absolute,
            },
            start: s.start_schedule.as_ref().map(|t| t.0),
            duration_s: s.duration,
            valid_from: p.valid_from.as_ref().map(|t| t.0),
            valid_to: p.valid_to.as_ref().map(|t| t.0),
            in_watts: s.charging_rate_unit == ChargingRateUnitType::W,
            periods: s
                .charging_schedule_period
                .iter()
                .map(|p| (p.start_period, p.limit, p.number_phases))
                .collect(),
        }
    }

    /// A 2.0.1 SetChargingProfile's profile on `evse` (its first schedule).
    pub fn from_v201(evse: i64, p: &Value) -> Profile {
        let time = |v: &Value| v.as_str().and_then(|s| s.parse::<DateTime<Utc>>().ok());
        let s = &p["chargingSchedule"][0];
        Profile {
            id: p["id"].as_i64().unwrap_or_default(),
            evse,
            purpose: match p["chargingProfilePurpose"].as_str() {
                Some("ChargingStationMaxProfile") => Purpose::StationMax,
                Some("TxDefaultProfile") => Purpose::TxDefault,
                _ => Purpose::Tx,
            },
            stack_level: p["stackLevel"].as_i64().unwrap_or_default(),
            transaction: p["transactionId"].as_str().map(str::to_string),
            kind: match (
                p["chargingProfileKind"].as_str(),
                p["recurrencyKind"].as_str(),
            ) {
                (Some("Relative"), _) => Kind::Relative,
                (Some("Recurring"), Some("Weekly")) => Kind::Weekly,
                (Some("Recurring"), _) => Kind::Daily,
                _ => Kind::Absolute,
            },
            start: time(&s["startSchedule"]),
            duration_s: s["duration"].as_i64(),
            valid_from: time(&p["validFrom"]),
            valid_to: time(&p["validTo"]),
            in_watts: s["chargingRateUnit"] == "W",
            periods: s["chargingSchedulePeriod"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| {
                    (
                        p["startPeriod"].as_i64().unwrap_or_default(),
                        p["limit"].as_f64().unwrap_or_default(),
                        p["numberPhases"].as_i64(),
                    )
                })
                .collect(),
        }
    }

    /// The limit it sets at `now` (A per phase), if it is in force then. `tx_start`: when the
    /// session began (Relative schedules count from it).
    pub fn limit_at(&self, now: DateTime<Utc>, tx_start: Option<DateTime<Utc>>) -> Option<f64> {
        if self.valid_from.is_some_and(|f| now < f) || self.valid_to.is_some_and(|t| now >= t) {
            return None;
        }
        let start = match self.kind {
            Kind::Absolute => self.start.or(self.valid_from).unwrap_or(now),
            Kind::Relative => tx_start.unwrap_or(now),
            Kind::Daily | Kind::Weekly => {
                let first = self.start.unwrap_or(now);
                let every = if self.kind == Kind::Daily {
                    Duration::days(1)
                } else {
                    Duration::weeks(1)
                };
                if now < first {
                    return None;
                }
                let cycles = (now - first).num_seconds() / every.num_seconds();
                first + every * cycles as i32
            }
        };
        let elapsed = (now - start).num_seconds();
        if elapsed < 0 || self.duration_s.is_some_and(|d| elapsed >= d) {
            return None;
        }
        let (_, limit, phases) = self
            .periods
            .iter()
            .filter(|p| p.0 <= elapsed)
            .max_by_key(|p| p.0)?;
        Some(if self.in_watts {
            limit / (VOLTAGE * phases.unwrap_or(3).max(1) as f64)
        } else {
            *limit
        })
    }
}

/// The limits in force on one connector.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Composite {
    /// The station's maximum, for all its connectors together (A per phase).
    pub station: Option<f64>,
    /// The session's own limit (A per phase).
    pub connector: Option<f64>,
}

impl Composite {
    /// The lower of the two, if any.
    pub fn lowest(&self) -> Option<f64> {
        match (self.station, self.connector) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// The highest stack level among `candidates` in force at `now`: its limit.
fn winner<'a>(
    candidates: impl Iterator<Item = &'a Profile>,
    now: DateTime<Utc>,
    tx_start: Option<DateTime<Utc>>,
) -> Option<f64> {
    candidates
        .filter_map(|p| p.limit_at(now, tx_start).map(|l| (p.stack_level, l)))
        .max_by_key(|(level, _)| *level)
        .map(|(_, l)| l)
}

/// What `evse` may draw at `now`, with the session `tx` (the charger's id of it and when it
/// began) if one runs there.
pub fn composite(
    profiles: &[Profile],
    evse: i64,
    tx: Option<(&str, DateTime<Utc>)>,
    now: DateTime<Utc>,
) -> Composite {
    let tx_start = tx.map(|t| t.1);
    let station = winner(
        profiles
            .iter()
            .filter(|p| p.purpose == Purpose::StationMax && p.evse == 0),
        now,
        tx_start,
    );
    let own = tx.and_then(|(id, _)| {
        winner(
            profiles.iter().filter(|p| {
                p.purpose == Purpose::Tx
                    && p.evse == evse
                    && p.transaction.as_deref().is_none_or(|t| t == id)
            }),
            now,
            tx_start,
        )
    });
    let default = || {
        winner(
            profiles
                .iter()
                .filter(|p| p.purpose == Purpose::TxDefault && p.evse == evse),
            now,
            tx_start,
        )
        .or_else(|| {
            winner(
                profiles
                    .iter()
                    .filter(|p| p.purpose == Purpose::TxDefault && p.evse == 0),
                now,
                tx_start,
            )
        })
    };
    Composite {
        station,
        connector: own.or_else(default),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().expect("a time")
    }

    fn profile(purpose: Purpose, evse: i64, level: i64, limit: f64) -> Profile {
        Profile {
            id: level,
            evse,
            purpose,
            stack_level: level,
            transaction: None,
            kind: Kind::Relative,
            start: None,
            duration_s: None,
            valid_from: None,
            valid_to: None,
            in_watts: false,
            periods: vec![(0, limit, None)],
        }
    }

    #[test]
    fn the_session_profile_wins_over_the_default_and_the_station_maximum_caps_both() {
        let now = at("2026-12-04T18:00:00Z");
        let mut tx = profile(Purpose::Tx, 1, 1, 20.0);
        tx.transaction = Some("7".into());
        let list = vec![
            profile(Purpose::StationMax, 0, 1, 16.0),
            profile(Purpose::TxDefault, 0, 0, 6.0),
            profile(Purpose::TxDefault, 0, 3, 10.0),
            tx,
        ];
        let c = composite(&list, 1, Some(("7", now)), now);
        assert_eq!(c.connector, Some(20.0));
        assert_eq!(c.lowest(), Some(16.0));
        // Another session on connector 1 gets the highest default.
        let c = composite(&list, 1, Some(("8", now)), now);
        assert_eq!(c.connector, Some(10.0));
        // Connector 2 has no session: the station's default applies, unless it has its own.
        assert_eq!(composite(&list, 2, None, now).connector, Some(10.0));
        let mut own = list.clone();
        own.push(profile(Purpose::TxDefault, 2, 0, 8.0));
        assert_eq!(composite(&own, 2, None, now).connector, Some(8.0));
    }

    #[test]
    fn schedules_follow_their_periods_units_and_recurrence() {
        let start = at("2026-12-04T00:00:00Z");
        let mut p = profile(Purpose::TxDefault, 0, 0, 0.0);
        p.kind = Kind::Daily;
        p.start = Some(start);
        p.in_watts = true;
        // 11 kW over three phases at night, 4.6 kW on one phase from 07:00.
        p.periods = vec![(0, 11040.0, Some(3)), (7 * 3600, 4600.0, Some(1))];
        let night = p.limit_at(at("2026-12-06T02:00:00Z"), None).expect("night");
        assert!((night - 16.0).abs() < 1e-9, "{night}");
        let day = p.limit_at(at("2026-12-06T09:00:00Z"), None).expect("day");
        assert!((day - 20.0).abs() < 1e-9, "{day}");
        let mut q = profile(Purpose::Tx, 1, 0, 32.0);
        q.duration_s = Some(600);
        let began = at("2026-12-04T18:00:00Z");
        assert_eq!(
            q.limit_at(at("2026-12-04T18:05:00Z"), Some(began)),
            Some(32.0)
        );
        assert_eq!(q.limit_at(at("2026-12-04T18:15:00Z"), Some(began)), None);
    }
}
