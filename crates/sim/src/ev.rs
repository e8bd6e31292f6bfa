//! Cars that charge under the limits their charger was sent: each draws what its battery takes
//! (its own maximum, tapering as it fills), never more than the composite of its charger's
//! profiles ([`crate::smart`]), on its own phases (one or three), and pauses when the limit is
//! under the 6 A a car needs. The charger reports what it draws, per phase, with MeterValues.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chargeyard_ocpp::v16::{AuthorizationStatus, Reason};
use tokio_util::sync::CancellationToken;

use crate::ChargePoint;
use crate::fleet::taper;

/// The least current a car charges with (IEC 61851).
pub const MIN_A: f64 = 6.0;

/// One car.
#[derive(Debug, Clone, PartialEq)]
pub struct Car {
    /// The phases it charges on (L1, L2, L3).
    pub phases: [bool; 3],
    /// Its onboard charger's maximum, A per phase.
    pub max_a: f64,
    pub battery_wh: f64,
    /// State of charge, %.
    pub soc: f64,
    /// It leaves once it is this full, %.
    pub target: f64,
}

impl Car {
    /// What it would draw per phase with no limit.
    pub fn wants(&self) -> f64 {
        if self.soc >= self.target {
            0.0
        } else {
            taper(self.max_a, self.soc)
        }
    }

    /// What it draws on each phase under `limit` (A per phase; None: none set).
    pub fn currents(&self, limit: Option<f64>) -> [f64; 3] {
        let a = match limit {
            Some(l) if l < MIN_A => 0.0,
            Some(l) => self.wants().min(l),
            None => self.wants(),
        };
        self.phases.map(|on| if on { a } else { 0.0 })
    }

    /// Charge for `secs` at `currents`: the energy taken, Wh.
    pub fn take(&mut self, currents: [f64; 3], secs: f64) -> f64 {
        let wh = currents.iter().sum::<f64>() * crate::smart::VOLTAGE * secs / 3600.0;
        self.soc = (self.soc + 100.0 * wh / self.battery_wh).min(100.0);
        wh
    }
}

/// What a visit shares with whoever watches it: the car's draw now, and the energy it got.
#[derive(Debug, Default)]
pub struct Meter {
    pub currents: [f64; 3],
    /// What the car would draw with no limit, A per phase.
    pub wants: f64,
    pub energy_wh: f64,
    /// The limit it was under last, A per phase.
    pub limit: Option<f64>,
    /// Plugged in with a session.
    pub charging: bool,
}

/// How a visit runs.
#[derive(Debug, Clone)]
pub struct Visit {
    pub connector: i64,
    pub tag: String,
    /// How often the car adjusts its draw to the limit.
    pub tick: Duration,
    /// How often the charger reports.
    pub report_every: Duration,
    /// Simulated seconds per real second for the battery (the limits are obeyed in real time).
    pub speed: f64,
}

/// One car's visit to `cp`: plug in, start a session, draw under the limit until full or told
/// to leave (`leave`), stop and unplug. Returns false if the session could not start.
pub async fn visit(
    cp: &ChargePoint,
    v: &Visit,
    mut car: Car,
    meter: Arc<Mutex<Meter>>,
    leave: CancellationToken,
) -> bool {
    let started = match cp.start_transaction(v.connector, &v.tag).await {
        Ok(r) if r.id_tag_info.status == AuthorizationStatus::Accepted => true,
        _ => cp.transaction(v.connector).is_some(),
    };
    if !started {
        return false;
    }
    let began = chrono::Utc::now();
    let mut since_report = Duration::ZERO;
    let mut unreported_wh = 0.0;
    let set = |f: &dyn Fn(&mut Meter)| {
        if let Ok(mut m) = meter.lock() {
            f(&mut m);
        }
    };
    set(&|m| m.charging = true);
    loop {
        let limit = cp.charging_limit(v.connector, Some(began));
        // A station-wide maximum is shared by the sessions running on it.
        let sharing = cp.running_sessions().max(1) as f64;
        let limit = match (limit.station.map(|s| s / sharing), limit.connector) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let currents = car.currents(limit);
        let wants = car.wants();
        set(&|m| {
            m.currents = currents;
            m.wants = wants;
            m.limit = limit;
        });
        if car.soc >= car.target || leave.is_cancelled() {
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep(v.tick) => {}
            _ = leave.cancelled() => {}
        }
        let wh = car.take(currents, v.tick.as_secs_f64() * v.speed);
        unreported_wh += wh;
        set(&|m| m.energy_wh += wh);
        since_report += v.tick;
        if since_report >= v.report_every {
            since_report = Duration::ZERO;
            let whole = unreported_wh.floor();
            unreported_wh -= whole;
            let _ = cp
                .draw(v.connector, whole as i64, currents, Some(car.soc))
                .await;
        }
    }
    set(&|m| {
        m.currents = [0.0; 3];
        m.charging = false;
    });
    let _ = cp
        .stop_transaction(v.connector, Reason::EVDisconnected)
        .await;
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_car_draws_under_its_limit_on_its_own_phases_and_pauses_under_six_amperes() {
        let car = Car {
            phases: [true, false, false],
            max_a: 16.0,
            battery_wh: 40_000.0,
            soc: 50.0,
            target: 90.0,
        };
        assert_eq!(car.currents(None), [16.0, 0.0, 0.0]);
        assert_eq!(car.currents(Some(10.0)), [10.0, 0.0, 0.0]);
        assert_eq!(car.currents(Some(5.9)), [0.0, 0.0, 0.0]);
        let full = Car { soc: 95.0, ..car };
        assert_eq!(full.currents(None), [0.0; 3]);
    }

    #[test]
    fn a_battery_fills_with_what_it_takes() {
        let mut car = Car {
            phases: [true; 3],
            max_a: 16.0,
            battery_wh: 11_040.0,
            soc: 10.0,
            target: 100.0,
        };
        // 3 × 16 A × 230 V = 11.04 kW for an hour: the whole battery.
        let wh = car.take([16.0; 3], 360.0);
        assert!((wh - 1104.0).abs() < 1e-6, "{wh}");
        assert!((car.soc - 20.0).abs() < 1e-9, "{}", car.soc);
    }
}
