//! The site as the operator describes it: the grid connection, the circuits inside it, where
//! each charger is wired, the building's reserve, schedules and priorities; checked when saved,
//! and read at a moment as the limits the sharing works with.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Datelike, NaiveTime, Timelike, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::share::{Circuit, PHASES};

/// The id of the grid connection, the root every circuit hangs from.
pub const MAIN: &str = "main";

/// The depot's electrical site, for load management.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(default)]
pub struct Site {
    /// Share the limit among the chargers (and hold each to its failsafe); off: no profiles sent.
    pub enabled: bool,
    /// The grid connection's fuse, A per phase.
    pub limit_a: f64,
    /// And/or a limit in kW over all three phases (a subscribed power), if any.
    #[ts(optional)]
    pub limit_kw: Option<f64>,
    /// Phase-to-neutral voltage, for kW limits and W figures.
    pub voltage_v: f64,
    /// The least current a car charges with (IEC 61851: 6 A); below it a session is paused.
    pub min_a: f64,
    /// Kept for the building, A per phase, outside the schedule below.
    pub reserve_a: f64,
    /// The building's reserve by time of day and weekday (overrides `reserve_a` in its windows).
    pub reserve_schedule: Vec<Window>,
    /// The limit for charging by time of day and weekday (a lower limit during office hours):
    /// in a window, charging may use at most its figure (A per phase) of the connection.
    pub limit_schedule: Vec<Window>,
    /// Circuits inside the connection (feeders, sub-distribution boards).
    pub circuits: Vec<CircuitDef>,
    /// Where each charger is wired, and what it can deliver.
    pub stations: Vec<Placement>,
    /// Priorities by tag group (driver, vehicle or customer name); others are Normal.
    pub priorities: Vec<GroupPriority>,
    /// Steer charging to cheaper hours: while a session's energy price (its tariff's time-of-use
    /// window now, net per kWh in the tariff's currency) is above this, a session that is not
    /// High priority charges at the minimum.
    #[ts(optional)]
    pub dear_above_per_kwh: Option<f64>,
    /// Seconds between two rounds when nothing happens.
    pub interval_s: u64,
    /// When cars must wait for room, they take turns: one that has waited this long (seconds)
    /// goes before one that has charged this long.
    pub turn_s: u64,
}

impl Default for Site {
    fn default() -> Self {
        Site {
            enabled: false,
            limit_a: 63.0,
            limit_kw: None,
            voltage_v: 230.0,
            min_a: 6.0,
            reserve_a: 0.0,
            reserve_schedule: Vec::new(),
            limit_schedule: Vec::new(),
            circuits: Vec::new(),
            stations: Vec::new(),
            priorities: Vec::new(),
            dear_above_per_kwh: None,
            interval_s: 10,
            turn_s: 900,
        }
    }
}

/// A figure in force on some weekdays between two times of day (local to the depot).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Window {
    /// ISO weekdays (1 Monday … 7 Sunday); empty: every day.
    #[serde(default)]
    pub days: Vec<u8>,
    /// "HH:MM"; `to` before `from` runs over midnight.
    pub from: String,
    pub to: String,
    /// A per phase.
    pub amps: f64,
}

/// A circuit inside the connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct CircuitDef {
    pub id: String,
    pub name: String,
    /// The circuit it is fed from ("main": the connection).
    pub parent: String,
    /// Its fuse, A per phase.
    pub limit_a: f64,
}

/// One charger's place on the site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Placement {
    pub station_id: String,
    /// The circuit it is wired to ("main": straight on the connection).
    pub circuit: String,
    /// What each of its connectors can deliver, A per phase.
    pub max_a: f64,
    /// 3, or 1 for a single-phase charger.
    pub phases: u8,
    /// A single-phase charger's phase (1–3).
    #[serde(default = "first_phase")]
    pub phase: u8,
}

fn first_phase() -> u8 {
    1
}

/// Who is served first when there is not enough for everyone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub enum Priority {
    /// Served first (a vehicle that must be full in the morning).
    High,
    Normal,
    /// Served last (visitors).
    Low,
}

impl Priority {
    pub(crate) fn rank(self) -> i32 {
        match self {
            Priority::High => 1,
            Priority::Normal => 0,
            Priority::Low => -1,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct GroupPriority {
    pub group: String,
    pub priority: Priority,
    /// "HH:MM": its vehicles must be full by then (local time, the next one after a session
    /// starts); a session is served first once the time left is not much more than it needs.
    #[serde(default)]
    #[ts(optional)]
    pub ready_by: Option<String>,
}

fn time_of(s: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(s, "%H:%M").ok()
}

impl Window {
    /// Whether `at` (local) is in the window.
    fn holds(&self, at: &DateTime<Tz>) -> bool {
        let (Some(from), Some(to)) = (time_of(&self.from), time_of(&self.to)) else {
            return false;
        };
        let t = at.time().with_second(0).unwrap_or(at.time());
        let day = at.weekday().number_from_monday() as u8;
        let yesterday = if day == 1 { 7 } else { day - 1 };
        let on = |d: u8| self.days.is_empty() || self.days.contains(&d);
        if from <= to {
            on(day) && from <= t && t < to
        } else {
            // Over midnight: the evening belongs to today, the morning to yesterday's window.
            (on(day) && t >= from) || (on(yesterday) && t < to)
        }
    }
}

/// The circuits as the sharing sees them at one moment: the connection first, then each
/// circuit in the order given.
#[derive(Debug, Clone)]
pub struct Limits {
    pub circuits: Vec<Circuit>,
    /// Circuit ids, index for index (`main` first).
    pub ids: Vec<String>,
}

impl Limits {
    pub fn index(&self, id: &str) -> Option<usize> {
        self.ids.iter().position(|i| i == id)
    }
}

impl Site {
    /// The connection's limit for charging at `at` (local time): its fuse or kW figure, lowered
    /// by the schedule, less the building's reserve.
    pub fn main_limit(&self, at: &DateTime<Tz>) -> f64 {
        let mut limit = self.fuse();
        if let Some(w) = self.limit_schedule.iter().find(|w| w.holds(at)) {
            limit = limit.min(w.amps);
        }
        let reserve = self
            .reserve_schedule
            .iter()
            .find(|w| w.holds(at))
            .map_or(self.reserve_a, |w| w.amps);
        (limit - reserve).max(0.0)
    }

    /// The connection's fuse or kW figure, whichever is lower, A per phase.
    pub fn fuse(&self) -> f64 {
        match self.limit_kw {
            Some(kw) if self.voltage_v > 0.0 => self
                .limit_a
                .min(kw * 1000.0 / (PHASES as f64 * self.voltage_v)),
            _ => self.limit_a,
        }
    }

    /// The lowest the connection's limit for charging is at any time of the week: what the
    /// failsafe must hold while no one is there to follow the schedule.
    pub fn lowest_main_limit(&self) -> f64 {
        let fuse = self.fuse();
        let lowest_limit = self
            .limit_schedule
            .iter()
            .map(|w| w.amps)
            .fold(fuse, f64::min);
        let highest_reserve = self
            .reserve_schedule
            .iter()
            .map(|w| w.amps)
            .fold(self.reserve_a, f64::max);
        (lowest_limit - highest_reserve).max(0.0)
    }

    /// The circuits with the connection's limit `main`.
    pub fn limits(&self, main: f64) -> Limits {
        let mut ids = vec![MAIN.to_string()];
        ids.extend(self.circuits.iter().map(|c| c.id.clone()));
        let index = |id: &str| ids.iter().position(|i| i == id);
        let mut circuits = vec![Circuit {
            limit: main,
            parent: None,
        }];
        circuits.extend(self.circuits.iter().map(|c| Circuit {
            limit: c.limit_a,
            parent: Some(index(&c.parent).unwrap_or(0)),
        }));
        Limits { circuits, ids }
    }

    pub fn placement(&self, station_id: &str) -> Option<&Placement> {
        self.stations.iter().find(|p| p.station_id == station_id)
    }

    pub fn priority_of(&self, group: Option<&str>) -> Priority {
        group
            .and_then(|g| self.priorities.iter().find(|p| p.group == g))
            .map_or(Priority::Normal, |p| p.priority)
    }

    /// When a session of `group` that began at `start` must be full: the first `ready_by` after
    /// its start, in the depot's time.
    pub fn deadline(
        &self,
        group: Option<&str>,
        start: DateTime<Utc>,
        tz: Tz,
    ) -> Option<DateTime<Utc>> {
        let at = group
            .and_then(|g| self.priorities.iter().find(|p| p.group == g))
            .and_then(|p| p.ready_by.as_deref())
            .and_then(time_of)?;
        let local = start.with_timezone(&tz);
        (0..3)
            .filter_map(|d| {
                let day = local.date_naive() + chrono::Duration::days(d);
                day.and_time(at).and_local_timezone(tz).earliest()
            })
            .map(|t| t.with_timezone(&Utc))
            .find(|t| *t > start)
    }

    /// Every problem with the site, each as a sentence; `stations`: the registered chargers
    /// (each must be placed while load management is on).
    pub fn problems(&self, stations: &[String]) -> Vec<String> {
        let mut out = Vec::new();
        let positive = |what: &str, v: f64, out: &mut Vec<String>| {
            if !(v.is_finite() && v > 0.0) {
                out.push(format!(
                    "{what} must be a positive number of amperes (got {v})"
                ));
            }
        };
        positive("The connection's limit", self.limit_a, &mut out);
        if let Some(kw) = self.limit_kw
            && !(kw.is_finite() && kw > 0.0)
        {
            out.push(format!("The kW limit must be positive (got {kw})"));
        }
        if !(100.0..=400.0).contains(&self.voltage_v) {
            out.push(format!(
                "The voltage {} V is not a phase-to-neutral voltage (100–400 V)",
                self.voltage_v
            ));
        }
        if !(1.0..=32.0).contains(&self.min_a) {
            out.push(format!(
                "The minimum charging current {} A is outside 1–32 A (cars need 6 A)",
                self.min_a
            ));
        }
        if !(self.reserve_a.is_finite() && self.reserve_a >= 0.0) {
            out.push(format!(
                "The building's reserve cannot be {} A",
                self.reserve_a
            ));
        }
        if !(5..=3600).contains(&self.interval_s) {
            out.push(format!(
                "A round every {} s is outside 5–3600 s",
                self.interval_s
            ));
        }
        if let Some(p) = self.dear_above_per_kwh
            && !(p.is_finite() && p >= 0.0)
        {
            out.push(format!(
                "An energy price of {p} per kWh cannot steer charging"
            ));
        }
        for g in &self.priorities {
            if let Some(t) = &g.ready_by
                && time_of(t).is_none()
            {
                out.push(format!(
                    "Group {:?} is to be ready by {t:?}: give the time as HH:MM",
                    g.group
                ));
            }
        }
        if !(10..=86_400).contains(&self.turn_s) {
            out.push(format!(
                "Turns of {} s are outside 10 s – 24 h",
                self.turn_s
            ));
        }
        for (what, list) in [
            ("building reserve", &self.reserve_schedule),
            ("limit schedule", &self.limit_schedule),
        ] {
            for w in list {
                if time_of(&w.from).is_none() || time_of(&w.to).is_none() {
                    out.push(format!(
                        "A {what} window runs from {:?} to {:?}: give times as HH:MM",
                        w.from, w.to
                    ));
                }
                if let Some(d) = w.days.iter().find(|d| !(1..=7).contains(*d)) {
                    out.push(format!(
                        "A {what} window names weekday {d} (1 is Monday, 7 Sunday)"
                    ));
                }
                if !(w.amps.is_finite() && w.amps >= 0.0) {
                    out.push(format!("A {what} window cannot be {} A", w.amps));
                }
            }
        }
        let lowest = self.lowest_main_limit();
        if self.enabled && lowest < self.min_a {
            out.push(format!(
                "At its lowest the connection leaves {lowest:.1} A for charging, under the {} A a car needs",
                self.min_a
            ));
        }
        // Circuits: unique ids, known parents, no loops, none larger than its parent.
        let mut seen = HashSet::from([MAIN]);
        for c in &self.circuits {
            if c.id.trim().is_empty() {
                out.push("A circuit has no id".into());
            } else if !seen.insert(c.id.as_str()) {
                out.push(format!("Circuit {:?} is defined twice", c.id));
            }
            positive(&format!("Circuit {:?}'s limit", c.id), c.limit_a, &mut out);
            if c.limit_a < self.min_a {
                out.push(format!(
                    "Circuit {:?} ({} A) is under the {} A one car needs",
                    c.id, c.limit_a, self.min_a
                ));
            }
        }
        let by_id: HashMap<&str, &CircuitDef> =
            self.circuits.iter().map(|c| (c.id.as_str(), c)).collect();
        for c in &self.circuits {
            if c.parent != MAIN && !by_id.contains_key(c.parent.as_str()) {
                out.push(format!(
                    "Circuit {:?} is fed from {:?}, which is not a circuit",
                    c.id, c.parent
                ));
                continue;
            }
            let parent_limit = by_id
                .get(c.parent.as_str())
                .map_or(self.limit_a, |p| p.limit_a);
            if c.limit_a > parent_limit {
                out.push(format!(
                    "Circuit {:?} ({} A) is larger than {:?} it is fed from ({} A)",
                    c.id, c.limit_a, c.parent, parent_limit
                ));
            }
            let mut at = c.parent.as_str();
            let mut hops = 0;
            while at != MAIN && hops <= self.circuits.len() {
                if at == c.id {
                    out.push(format!("Circuit {:?} is fed from itself", c.id));
                    break;
                }
                at = by_id.get(at).map_or(MAIN, |p| p.parent.as_str());
                hops += 1;
            }
        }
        // Chargers: each known, placed once, on a circuit, with a sane rating.
        let mut placed = HashSet::new();
        for p in &self.stations {
            if !placed.insert(p.station_id.as_str()) {
                out.push(format!("Charger {} is placed twice", p.station_id));
            }
            if !stations.contains(&p.station_id) {
                out.push(format!("There is no charger {}", p.station_id));
            }
            if p.circuit != MAIN && !by_id.contains_key(p.circuit.as_str()) {
                out.push(format!(
                    "Charger {} is on circuit {:?}, which does not exist",
                    p.station_id, p.circuit
                ));
            }
            if !(p.max_a.is_finite() && p.max_a >= self.min_a && p.max_a <= 630.0) {
                out.push(format!(
                    "Charger {} delivers {} A: give its rating per phase, at least the {} A a car needs",
                    p.station_id, p.max_a, self.min_a
                ));
            }
            if p.phases != 1 && p.phases != 3 {
                out.push(format!(
                    "Charger {} has {} phases: 1 or 3",
                    p.station_id, p.phases
                ));
            }
            if !(1..=3).contains(&p.phase) {
                out.push(format!(
                    "Charger {} is on phase L{}: L1, L2 or L3",
                    p.station_id, p.phase
                ));
            }
        }
        if self.enabled {
            for s in stations {
                if !placed.contains(s.as_str()) {
                    out.push(format!("Charger {s} is on no circuit"));
                }
            }
        }
        out
    }
}

/// A placement's phases as a mask.
pub fn phase_mask(p: Option<&Placement>) -> [bool; PHASES] {
    match p {
        Some(p) if p.phases == 1 => {
            let mut m = [false; PHASES];
            m[usize::from(p.phase.clamp(1, 3)) - 1] = true;
            m
        }
        _ => [true; PHASES],
    }
}

/// The local time in `tz` of `at`.
pub fn local(at: DateTime<Utc>, tz: Tz) -> DateTime<Tz> {
    at.with_timezone(&tz)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placed(id: &str, circuit: &str) -> Placement {
        Placement {
            station_id: id.into(),
            circuit: circuit.into(),
            max_a: 32.0,
            phases: 3,
            phase: 1,
        }
    }

    fn depot() -> Site {
        Site {
            enabled: true,
            circuits: vec![CircuitDef {
                id: "feeder".into(),
                name: "Feeder A".into(),
                parent: MAIN.into(),
                limit_a: 32.0,
            }],
            stations: vec![placed("CP1", "feeder"), placed("CP2", MAIN)],
            ..Site::default()
        }
    }

    fn ids() -> Vec<String> {
        vec!["CP1".into(), "CP2".into()]
    }

    #[test]
    fn a_sound_site_has_no_problems() {
        assert_eq!(depot().problems(&ids()), Vec::<String>::new());
    }

    #[test]
    fn the_mistakes_an_operator_makes_are_named() {
        let mut s = depot();
        s.circuits[0].limit_a = 80.0;
        s.stations[1].circuit = "feeder-b".into();
        s.stations.push(placed("CP9", MAIN));
        let p = s.problems(&["CP1".into(), "CP2".into(), "CP3".into()]);
        let all = p.join("\n");
        assert!(
            all.contains("\"feeder\" (80 A) is larger than \"main\""),
            "{all}"
        );
        assert!(
            all.contains("CP2 is on circuit \"feeder-b\", which does not exist"),
            "{all}"
        );
        assert!(all.contains("Charger CP3 is on no circuit"), "{all}");
        assert!(all.contains("There is no charger CP9"), "{all}");

        let mut s = depot();
        s.circuits[0].limit_a = 4.0;
        s.dear_above_per_kwh = Some(-1.0);
        s.limit_schedule.push(Window {
            days: vec![],
            from: "07:00".into(),
            to: "25:00".into(),
            amps: 3.0,
        });
        let all = s.problems(&ids()).join("\n");
        assert!(
            all.contains("\"feeder\" (4 A) is under the 6 A one car needs"),
            "{all}"
        );
        assert!(all.contains("give times as HH:MM"), "{all}");
        assert!(all.contains("-1 per kWh cannot steer charging"), "{all}");
        assert!(all.contains("leaves 3.0 A for charging"), "{all}");
    }

    #[test]
    fn a_loop_of_circuits_is_named() {
        let mut s = depot();
        s.circuits.push(CircuitDef {
            id: "a".into(),
            name: "A".into(),
            parent: "b".into(),
            limit_a: 20.0,
        });
        s.circuits.push(CircuitDef {
            id: "b".into(),
            name: "B".into(),
            parent: "a".into(),
            limit_a: 20.0,
        });
        let all = s.problems(&ids()).join("\n");
        assert!(all.contains("\"a\" is fed from itself"), "{all}");
    }

    #[test]
    fn a_deadline_is_the_next_ready_by_after_the_session_starts() {
        let tz: Tz = "Europe/Stockholm".parse().expect("a zone");
        let mut s = depot();
        s.priorities.push(GroupPriority {
            group: "Night vans".into(),
            priority: Priority::Normal,
            ready_by: Some("06:00".into()),
        });
        let at = |iso: &str| iso.parse::<DateTime<Utc>>().expect("a time");
        // Plugged in at 18:00 local: ready by 06:00 the next morning (05:00 UTC in winter).
        assert_eq!(
            s.deadline(Some("Night vans"), at("2026-12-02T17:00:00Z"), tz),
            Some(at("2026-12-03T05:00:00Z"))
        );
        // Plugged in at 03:00 local: the same morning.
        assert_eq!(
            s.deadline(Some("Night vans"), at("2026-12-03T02:00:00Z"), tz),
            Some(at("2026-12-03T05:00:00Z"))
        );
        assert_eq!(
            s.deadline(Some("Visitors"), at("2026-12-03T02:00:00Z"), tz),
            None
        );
        s.priorities[0].ready_by = Some("6 am".into());
        assert!(
            s.problems(&ids())
                .join("\n")
                .contains("give the time as HH:MM")
        );
    }

    #[test]
    fn schedules_and_the_reserve_set_the_limit_by_the_local_clock() {
        let tz: Tz = "Europe/Stockholm".parse().expect("a zone");
        let mut s = depot();
        s.limit_kw = Some(34.5); // 50 A per phase at 230 V
        s.reserve_a = 5.0;
        s.limit_schedule.push(Window {
            days: vec![1, 2, 3, 4, 5],
            from: "07:00".into(),
            to: "17:00".into(),
            amps: 30.0,
        });
        s.reserve_schedule.push(Window {
            days: vec![],
            from: "22:00".into(),
            to: "06:00".into(),
            amps: 0.0,
        });
        let at = |iso: &str| local(iso.parse::<DateTime<Utc>>().expect("a time"), tz);
        // Wednesday 10:00 local (09:00 UTC in winter): the office-hours window.
        assert_eq!(s.main_limit(&at("2026-12-02T09:00:00Z")), 25.0);
        // Wednesday 19:00 local: the kW figure less the reserve.
        assert_eq!(s.main_limit(&at("2026-12-02T18:00:00Z")), 45.0);
        // Saturday 02:00 local: over midnight from Friday, no reserve.
        assert_eq!(s.main_limit(&at("2026-12-05T01:00:00Z")), 50.0);
        assert_eq!(s.lowest_main_limit(), 25.0);
    }
}
