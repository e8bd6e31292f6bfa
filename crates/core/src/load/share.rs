//! Sharing the current a site may draw among the connectors that charge: pure, no I/O, no clock.
//!
//! Circuits form a tree (the grid connection at its root); each has a limit in A per phase. A
//! load sits on one circuit and draws on one or more phases. Loads the central system cannot
//! steer (a charger that refuses profiles, one that is offline) are counted first at what they
//! may draw. Then, in order of priority and arrival, each steerable load gets its minimum if
//! every circuit above it has room on its phases, or is paused. What is left is filled level by
//! level (highest priority first) with equal increments (max-min fairness) until each load is at
//! its own maximum or one of its circuits is full.

/// Phases of a three-phase supply.
pub const PHASES: usize = 3;

/// A little under a tenth of an ampere: what counts as "full" or "at its maximum".
const EPS: f64 = 0.05;

/// One circuit: the grid connection (no parent) or a feeder inside its parent.
#[derive(Debug, Clone, PartialEq)]
pub struct Circuit {
    /// A per phase available to loads in it.
    pub limit: f64,
    pub parent: Option<usize>,
}

/// What one load may draw.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// Not steered: counted at `amps` on its phases.
    Fixed { amps: f64 },
    /// Steered: between `min` (or paused) and `max`; higher `priority` first.
    Flexible { min: f64, max: f64, priority: i32 },
}

/// One load: a charging connector (or a whole station, for the failsafe).
#[derive(Debug, Clone, PartialEq)]
pub struct Load {
    pub circuit: usize,
    /// The phases it draws on (L1, L2, L3).
    pub phases: [bool; PHASES],
    pub kind: Kind,
}

/// Why a load got what it got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// Counted at what it may draw; not steered.
    Fixed,
    /// Its own maximum (the car's, the charger's, or what it was seen to use).
    AtMax,
    /// Its share of this circuit, which is full.
    Shared { circuit: usize },
    /// No room for its minimum on this circuit: paused.
    Paused { circuit: usize },
}

/// What one load was given, in A per phase (0 when paused).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Grant {
    pub amps: f64,
    pub why: Why,
}

/// Each circuit's path to the root, itself first; a loop in the parents is cut where it closes.
pub fn paths(circuits: &[Circuit]) -> Vec<Vec<usize>> {
    (0..circuits.len())
        .map(|c| {
            let mut path = vec![c];
            let mut at = circuits[c].parent;
            while let Some(p) = at {
                if p >= circuits.len() || path.contains(&p) {
                    break;
                }
                path.push(p);
                at = circuits[p].parent;
            }
            path
        })
        .collect()
}

/// Share the circuits' capacity among `loads`, which are in order of arrival (earlier first
/// among equal priorities). Returns one grant per load, and each circuit's headroom per phase
/// left afterwards (negative where fixed loads alone exceed it).
pub fn share(circuits: &[Circuit], loads: &[Load]) -> (Vec<Grant>, Vec<[f64; PHASES]>) {
    let paths = paths(circuits);
    let mut room: Vec<[f64; PHASES]> = circuits.iter().map(|c| [c.limit; PHASES]).collect();
    let mut grants = vec![
        Grant {
            amps: 0.0,
            why: Why::Fixed
        };
        loads.len()
    ];
    fn on(l: &Load) -> impl Iterator<Item = usize> + '_ {
        (0..PHASES).filter(move |&p| l.phases[p])
    }
    let path_of = |l: &Load| paths.get(l.circuit).map(Vec::as_slice).unwrap_or(&[]);

    // Fixed loads first, whatever room they leave.
    for (i, l) in loads.iter().enumerate() {
        if let Kind::Fixed { amps } = l.kind {
            for &c in path_of(l) {
                for p in on(l) {
                    room[c][p] -= amps;
                }
            }
            grants[i] = Grant {
                amps,
                why: Why::Fixed,
            };
        }
    }

    // Steered loads by priority, then arrival (a stable sort keeps arrival order).
    let mut order: Vec<usize> = (0..loads.len())
        .filter(|&i| matches!(loads[i].kind, Kind::Flexible { .. }))
        .collect();
    order.sort_by_key(|&i| match loads[i].kind {
        Kind::Flexible { priority, .. } => -priority,
        Kind::Fixed { .. } => 0,
    });

    // Minimums, or paused where there is no room for one.
    let mut active = Vec::new();
    for &i in &order {
        let l = &loads[i];
        let Kind::Flexible { min, max, priority } = l.kind else {
            continue;
        };
        let min = min.min(max).max(0.0);
        let full = path_of(l)
            .iter()
            .copied()
            .find(|&c| on(l).any(|p| room[c][p] < min - 1e-9));
        match full {
            Some(c) => {
                grants[i] = Grant {
                    amps: 0.0,
                    why: Why::Paused { circuit: c },
                }
            }
            None => {
                for &c in path_of(l) {
                    for p in on(l) {
                        room[c][p] -= min;
                    }
                }
                grants[i] = Grant {
                    amps: min,
                    why: Why::AtMax,
                };
                active.push((i, max, priority));
            }
        }
    }

    // The rest, level by level, in equal increments.
    let mut levels: Vec<i32> = active.iter().map(|a| a.2).collect();
    levels.sort_unstable_by(|a, b| b.cmp(a));
    levels.dedup();
    for level in levels {
        let mut filling: Vec<(usize, f64)> = active
            .iter()
            .filter(|a| a.2 == level && grants[a.0].amps < a.1 - EPS)
            .map(|a| (a.0, a.1))
            .collect();
        let mut users = vec![[0usize; PHASES]; circuits.len()];
        while !filling.is_empty() {
            for u in users.iter_mut() {
                *u = [0; PHASES];
            }
            for &(i, _) in &filling {
                for &c in path_of(&loads[i]) {
                    for p in on(&loads[i]) {
                        users[c][p] += 1;
                    }
                }
            }
            let mut step = f64::INFINITY;
            for &(i, max) in &filling {
                step = step.min(max - grants[i].amps);
            }
            for (c, u) in users.iter().enumerate() {
                for p in 0..PHASES {
                    if u[p] > 0 {
                        step = step.min(room[c][p] / u[p] as f64);
                    }
                }
            }
            let step = step.max(0.0);
            for &(i, _) in &filling {
                grants[i].amps += step;
            }
            for (c, u) in users.iter().enumerate() {
                for p in 0..PHASES {
                    room[c][p] -= step * u[p] as f64;
                }
            }
            filling.retain(|&(i, max)| {
                if grants[i].amps >= max - EPS {
                    grants[i].why = Why::AtMax;
                    return false;
                }
                let l = &loads[i];
                match path_of(l)
                    .iter()
                    .copied()
                    .find(|&c| on(l).any(|p| room[c][p] < EPS))
                {
                    Some(c) => {
                        grants[i].why = Why::Shared { circuit: c };
                        false
                    }
                    None => true,
                }
            });
        }
    }
    // Whole tenths of an ampere, rounded down: never over a limit by rounding.
    for (g, l) in grants.iter_mut().zip(loads) {
        if matches!(l.kind, Kind::Flexible { .. }) {
            g.amps = (g.amps * 10.0 + 1e-6).floor() / 10.0;
        }
    }
    (grants, room)
}

/// The ceiling a session is steered under, learned from what it draws: a car that draws well
/// under what it was given (it is tapering, or its charger is on fewer phases than assumed)
/// is held a little above its draw so the rest goes to others, and is let up again step by step
/// while it uses what it has. None: no ceiling (its maximum).
pub fn learn_ceiling(
    given: Option<f64>,
    ceiling: Option<f64>,
    draw: Option<f64>,
    floor: f64,
) -> Option<f64> {
    /// Held this far above its draw.
    const MARGIN: f64 = 2.0;
    /// Let up by this much per round while it uses what it has.
    const GROW: f64 = 4.0;
    let (Some(given), Some(draw)) = (given, draw) else {
        return ceiling;
    };
    if given <= 0.0 {
        return ceiling;
    }
    if draw < given - 2.0 * MARGIN {
        // Never under the minimum a car charges with: one that draws nothing keeps that much.
        Some((draw + MARGIN).max(floor))
    } else if draw >= given - MARGIN {
        // Using what it has: let it up (and drop the ceiling once it is far above anything).
        ceiling.map(|c| c + GROW).filter(|&c| c < 80.0)
    } else {
        ceiling
    }
}

/// What a car still needs to be full (Wh), from how far its state of charge rose for the energy
/// it took: `first` and `now` are (SoC %, energy register Wh). None until it rose 2 points.
pub fn still_needed(first: (f64, f64), now: (f64, f64)) -> Option<f64> {
    let rose = now.0 - first.0;
    if rose < 2.0 || now.1 <= first.1 {
        return None;
    }
    let battery_wh = (now.1 - first.1) / rose * 100.0;
    Some(((100.0 - now.0) / 100.0 * battery_wh).max(0.0))
}

/// Whether a session that must be full by a deadline `left_h` hours away is served first: once
/// the time left is not much more (a quarter) than it needs at its maximum `max_w`. Not knowing
/// what it needs (`needed_wh` None), it is.
pub fn urgent(left_h: f64, needed_wh: Option<f64>, max_w: f64) -> bool {
    if left_h <= 0.0 {
        return false;
    }
    needed_wh.is_none_or(|wh| wh / max_w.max(1.0) * 1.25 >= left_h)
}

/// The phases a car draws on, from its current per phase: those carrying more than 1 A, when
/// it draws at all.
pub fn phases_used(per_phase: [Option<f64>; PHASES]) -> Option<[bool; PHASES]> {
    let drawn: Vec<f64> = per_phase.iter().map(|a| a.unwrap_or(0.0)).collect();
    if drawn.iter().all(|&a| a <= 1.0) || per_phase.iter().all(Option::is_none) {
        return None;
    }
    Some([drawn[0] > 1.0, drawn[1] > 1.0, drawn[2] > 1.0])
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [bool; 3] = [true, true, true];
    const L1: [bool; 3] = [true, false, false];

    fn car(circuit: usize, max: f64) -> Load {
        Load {
            circuit,
            phases: ALL,
            kind: Kind::Flexible {
                min: 6.0,
                max,
                priority: 0,
            },
        }
    }

    fn site(main: f64, feeder: f64) -> Vec<Circuit> {
        vec![
            Circuit {
                limit: main,
                parent: None,
            },
            Circuit {
                limit: feeder,
                parent: Some(0),
            },
        ]
    }

    /// Every circuit's load per phase stays within its limit.
    fn within(circuits: &[Circuit], loads: &[Load], grants: &[Grant]) {
        let paths = paths(circuits);
        for (c, circuit) in circuits.iter().enumerate() {
            for p in 0..PHASES {
                let sum: f64 = loads
                    .iter()
                    .zip(grants)
                    .filter(|(l, _)| paths[l.circuit].contains(&c) && l.phases[p])
                    .map(|(_, g)| g.amps)
                    .sum();
                assert!(
                    sum <= circuit.limit + 1e-9,
                    "circuit {c} phase L{} carries {sum} A over its {} A",
                    p + 1,
                    circuit.limit
                );
            }
        }
    }

    #[test]
    fn equal_cars_share_equally_and_use_the_whole_limit() {
        let circuits = site(63.0, 63.0);
        let loads: Vec<Load> = (0..4).map(|_| car(0, 32.0)).collect();
        let (grants, room) = share(&circuits, &loads);
        within(&circuits, &loads, &grants);
        for g in &grants {
            assert_eq!(g.amps, 15.7, "63 A over four cars: {grants:?}");
            assert_eq!(g.why, Why::Shared { circuit: 0 });
        }
        assert!(room[0][0] < 0.5, "the limit is used: {room:?}");
    }

    #[test]
    fn a_feeder_caps_its_cars_and_the_rest_goes_to_the_others() {
        // Four cars on a 32 A feeder, two on the main 63 A connection.
        let circuits = site(63.0, 32.0);
        let mut loads: Vec<Load> = (0..4).map(|_| car(1, 32.0)).collect();
        loads.extend((0..2).map(|_| car(0, 32.0)));
        let (grants, _) = share(&circuits, &loads);
        within(&circuits, &loads, &grants);
        assert!(grants[..4].iter().all(|g| g.amps == 8.0), "{grants:?}");
        // 63 − 32 = 31 A left for the two outside the feeder.
        assert!(grants[4..].iter().all(|g| g.amps == 15.5), "{grants:?}");
        assert_eq!(grants[0].why, Why::Shared { circuit: 1 });
    }

    #[test]
    fn below_the_minimum_the_last_to_arrive_is_paused() {
        let circuits = site(20.0, 20.0);
        let loads: Vec<Load> = (0..4).map(|_| car(0, 32.0)).collect();
        let (grants, _) = share(&circuits, &loads);
        within(&circuits, &loads, &grants);
        let amps: Vec<f64> = grants.iter().map(|g| g.amps).collect();
        // Three fit at 6 A; they share the 20 A; the fourth waits.
        assert_eq!(amps, vec![6.6, 6.6, 6.6, 0.0], "{grants:?}");
        assert_eq!(grants[3].why, Why::Paused { circuit: 0 });
    }

    #[test]
    fn what_a_car_does_not_use_goes_to_the_others() {
        let circuits = site(63.0, 63.0);
        // One car held at 10 A (it was seen to draw 8), one single-phase.
        let mut loads = vec![car(0, 10.0), car(0, 32.0), car(0, 32.0)];
        loads.push(Load {
            phases: L1,
            ..car(0, 16.0)
        });
        let (grants, _) = share(&circuits, &loads);
        within(&circuits, &loads, &grants);
        assert_eq!(grants[0].amps, 10.0);
        assert_eq!(grants[0].why, Why::AtMax);
        // L1: 10 + 2x + 16 ≤ 63 → x = 18.5; L2/L3 have room to spare.
        assert_eq!(grants[1].amps, 18.5, "{grants:?}");
        assert_eq!(grants[3].amps, 16.0, "{grants:?}");
    }

    #[test]
    fn a_higher_priority_fills_first_but_nobody_goes_below_the_minimum() {
        let circuits = site(40.0, 40.0);
        let mut loads: Vec<Load> = (0..3).map(|_| car(0, 32.0)).collect();
        loads[2].kind = Kind::Flexible {
            min: 6.0,
            max: 32.0,
            priority: 1,
        };
        let (grants, _) = share(&circuits, &loads);
        within(&circuits, &loads, &grants);
        assert_eq!(grants[2].amps, 28.0, "{grants:?}");
        assert_eq!(grants[0].amps, 6.0);
        assert_eq!(grants[1].amps, 6.0);
    }

    #[test]
    fn fixed_loads_are_counted_first() {
        let circuits = site(63.0, 32.0);
        let loads = vec![
            Load {
                circuit: 1,
                phases: ALL,
                kind: Kind::Fixed { amps: 32.0 },
            },
            car(1, 32.0),
            car(0, 32.0),
        ];
        let (grants, room) = share(&circuits, &loads);
        assert_eq!(grants[1].amps, 0.0, "the feeder is full: {grants:?}");
        assert_eq!(grants[1].why, Why::Paused { circuit: 1 });
        assert_eq!(grants[2].amps, 31.0);
        assert!(room[1][0].abs() < 1e-9);
    }

    #[test]
    fn a_loop_in_the_circuits_does_not_hang() {
        let circuits = vec![
            Circuit {
                limit: 10.0,
                parent: Some(1),
            },
            Circuit {
                limit: 10.0,
                parent: Some(0),
            },
        ];
        let (grants, _) = share(&circuits, &[car(0, 32.0)]);
        assert_eq!(grants[0].amps, 10.0);
    }

    #[test]
    fn a_ceiling_follows_what_a_car_draws() {
        // Given 32, draws 10: held at 12.
        assert_eq!(learn_ceiling(Some(32.0), None, Some(10.0), 6.0), Some(12.0));
        // Uses its 12: let up to 16.
        assert_eq!(
            learn_ceiling(Some(12.0), Some(12.0), Some(11.5), 6.0),
            Some(16.0)
        );
        // Uses what it has without a ceiling: stays without one.
        assert_eq!(learn_ceiling(Some(16.0), None, Some(15.8), 6.0), None);
        // Drawing nothing of 16 A: held at the 6 A minimum, not under it.
        assert_eq!(learn_ceiling(Some(16.0), None, Some(0.0), 6.0), Some(6.0));
        // Paused or not measured: unchanged.
        assert_eq!(
            learn_ceiling(Some(0.0), Some(12.0), Some(0.0), 6.0),
            Some(12.0)
        );
        assert_eq!(learn_ceiling(Some(16.0), Some(12.0), None, 6.0), Some(12.0));
    }

    #[test]
    fn a_deadline_turns_urgent_when_the_time_left_is_about_what_the_car_needs() {
        // SoC 20 % → 30 % for 4 kWh: a 40 kWh battery, 28 kWh to go.
        let need = still_needed((20.0, 1_000_000.0), (30.0, 1_004_000.0)).expect("known");
        assert!((need - 28_000.0).abs() < 1e-6, "{need}");
        // At 22 kW that is 1.27 h: with 2 h left it can wait, with 1.5 h it cannot.
        assert!(!urgent(2.0, Some(need), 22_000.0));
        assert!(urgent(1.5, Some(need), 22_000.0));
        // A deadline passed is no reason; not knowing what it needs is.
        assert!(!urgent(0.0, Some(need), 22_000.0));
        assert!(urgent(8.0, None, 22_000.0));
        assert_eq!(still_needed((20.0, 100.0), (21.0, 900.0)), None);
    }

    #[test]
    fn phases_are_learned_from_the_current_on_each() {
        assert_eq!(
            phases_used([Some(15.9), Some(0.2), Some(0.0)]),
            Some([true, false, false])
        );
        assert_eq!(
            phases_used([Some(10.0), Some(10.1), Some(9.8)]),
            Some([true, true, true])
        );
        assert_eq!(phases_used([Some(0.3), Some(0.2), Some(0.0)]), None);
        assert_eq!(phases_used([None, None, None]), None);
    }
}
