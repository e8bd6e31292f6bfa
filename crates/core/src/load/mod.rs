//! Load management: the depot's grid connection shared among the chargers so no circuit is
//! ever overloaded, and a failsafe on every charger that holds while Chargeyard is closed.
//!
//! A round runs on every change (a session starts or ends, a connector changes state, a charger
//! connects or goes, the site is saved) and every few seconds: it reads the running sessions and
//! what each draws, shares the limits ([`share`]), and sends each charger what changed as
//! charging profiles through the version-neutral intents: a TxProfile per running session, a
//! TxDefaultProfile at the minimum (a new session never starts above what it can be given), and
//! a station-wide maximum sized so that every charger at it keeps the site under its lowest
//! limit. A charger that refuses profiles is counted at its full rating. Every decision is
//! stored with its reason and the charger's answer.
//!
//! Layout: [`site`] — the site as described and checked; [`share`] — the sharing, pure; this
//! file — the rounds and what the screens show.

pub mod share;
pub mod site;

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use chargeyard_store::load::Decision;
use chargeyard_store::meter::NewSample;
use chargeyard_store::model::{ConnectorState, Registration, Transaction};
use chargeyard_store::{connectors, stations, transactions};
use chrono::{DateTime, Utc};
use serde::Serialize;
use ts_rs::TS;

pub use site::{Priority, Site};

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::events::Event;
use crate::protocol::{Intent, LimitPurpose};
use share::{Grant, Kind, Load, PHASES, Why};

/// Key of the site in the settings table.
const SITE_KEY: &str = "site";

/// A raise smaller than this (A) is not sent (a decrease always is).
const STEP_A: f64 = 0.5;

/// Load management's state, shared by the rounds and the facade.
#[derive(Default)]
pub(crate) struct State {
    pub wake: tokio::sync::Notify,
    /// The site's `enabled`, for the hot path (meter values) to read cheaply.
    pub enabled: std::sync::atomic::AtomicBool,
    pub site: std::sync::RwLock<Site>,
    pub live: std::sync::Mutex<Live>,
}

#[derive(Default)]
pub(crate) struct Live {
    /// What each connector was last measured to draw, by (station, EVSE).
    draws: HashMap<(String, i64), Draw>,
    /// Per running session (our id).
    sessions: HashMap<i64, SessionLoad>,
    /// Per station, what it holds on its present connection.
    stations: HashMap<String, StationLoad>,
    /// The last round, for the screens.
    last: Option<SiteLoad>,
    /// Profiles of ours may be on chargers (cleared when load management is turned off).
    applied: bool,
}

#[derive(Debug, Clone, Default)]
struct Draw {
    per_phase: [Option<f64>; PHASES],
    /// A current with no phase given.
    any: Option<f64>,
    power_w: Option<f64>,
    at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default)]
struct SessionLoad {
    /// What its charger accepted last (A); None before anything was.
    given: Option<f64>,
    /// Held under this, learned from what it draws (see [`share::learn_ceiling`]).
    ceiling: Option<f64>,
    /// The phases it was seen to draw on.
    phases: Option<[bool; PHASES]>,
    /// Its charger was asked for its composite schedule once its limit was accepted.
    checked: bool,
    /// Since when it has been given current without a break, or has waited for it (paused):
    /// cars take turns by these (see [`turn`]).
    charging_since: Option<DateTime<Utc>>,
    waiting_since: Option<DateTime<Utc>>,
}

/// Where a session stands in the queue for current (lower first): one whose turn is running or
/// that has waited a whole turn, then one that has charged a whole turn, then a newcomer still
/// waiting; within each, the longest-standing first. A car that waited its turn so goes before
/// one that charged its turn, and nobody is paused and resumed more often than once a turn.
fn turn(
    s: &SessionLoad,
    arrived: DateTime<Utc>,
    now: DateTime<Utc>,
    turn_s: u64,
) -> (u8, DateTime<Utc>) {
    let whole = chrono::Duration::seconds(turn_s as i64);
    match (s.charging_since, s.waiting_since) {
        (Some(c), _) if now - c < whole => (0, c),
        (Some(c), _) => (1, c),
        (None, Some(w)) if now - w >= whole => (0, w),
        (None, Some(w)) => (2, w),
        (None, None) => (2, arrived),
    }
}

#[derive(Debug, Clone)]
struct StationLoad {
    /// The connection these apply to: a new one starts afresh.
    conn_id: u64,
    /// The failsafe it accepted (A), and when it was last renewed.
    failsafe: Option<f64>,
    failsafe_at: Option<Instant>,
    /// What a new session on it starts with (A), as it accepted it.
    default: Option<f64>,
    /// It refused a profile (its answer): counted at full rating until it reconnects.
    refuses: Option<String>,
}

/// How a connector is steered now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
pub enum LoadState {
    /// Charging at its share of a full circuit.
    Shared,
    /// At its own maximum (the car's, the charger's, or what it was seen to use).
    Capped,
    /// No room for the minimum: paused until there is.
    Paused,
    /// The charger refuses charging profiles: counted at its full rating.
    Refuses,
    /// The charger is not connected: counted at what it was last given.
    Offline,
}

/// One connector with a session, as the last round left it.
#[derive(Debug, Clone, Serialize, TS)]
pub struct ConnectorLoad {
    pub station_id: String,
    pub evse_id: i64,
    pub transaction_id: Option<i64>,
    pub id_tag: String,
    pub priority: Priority,
    pub circuit: String,
    /// The phases it draws on (L1, L2, L3).
    pub phases: [bool; PHASES],
    /// A per phase it may draw (0: paused).
    pub allocated_a: f64,
    /// A per phase measured on each phase, when the charger reports it.
    pub drawn_a: [Option<f64>; PHASES],
    pub state: LoadState,
    pub reason: String,
}

/// One circuit's load, as the last round left it.
#[derive(Debug, Clone, Serialize, TS)]
pub struct CircuitLoad {
    pub id: String,
    pub name: String,
    pub parent: Option<String>,
    /// Its limit for charging now, A per phase.
    pub limit_a: f64,
    /// Allocated per phase (A).
    pub allocated_a: [f64; PHASES],
    /// Measured per phase (A), from what the chargers on it report.
    pub drawn_a: [f64; PHASES],
    /// What it would carry with every charger on it at its failsafe, A per phase (highest).
    pub failsafe_a: f64,
}

/// What the depot does while Chargeyard is closed.
#[derive(Debug, Clone, Serialize, TS)]
pub struct Failsafe {
    /// Each charger's own station-wide maximum, A per phase.
    pub stations: Vec<StationFailsafe>,
    /// All chargers at their failsafe together, on the most loaded phase (A).
    pub site_a: f64,
    /// The lowest limit of the connection it must hold (schedule and reserve at their worst).
    pub limit_a: f64,
    pub summary: String,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct StationFailsafe {
    pub station_id: String,
    pub amps: f64,
    /// Whether the charger has it (accepted on its present connection).
    pub held: bool,
}

/// The site's load as the last round left it.
#[derive(Debug, Clone, Serialize, TS)]
pub struct SiteLoad {
    pub at: DateTime<Utc>,
    /// The connection's limit for charging now (schedule and reserve applied), A per phase.
    pub limit_a: f64,
    /// The same limit in kW over three phases at the site's voltage.
    pub limit_kw: f64,
    pub circuits: Vec<CircuitLoad>,
    pub connectors: Vec<ConnectorLoad>,
    pub failsafe: Failsafe,
    /// Chargers counted on the connection because the site does not place them.
    pub unplaced: Vec<String>,
    /// How long the round took, ms: sharing, and the chargers' answers.
    pub round_ms: f64,
}

/// A station as a round sees it.
struct StationView<'a> {
    id: &'a str,
    circuit: usize,
    circuit_id: String,
    max_a: f64,
    mask: [bool; PHASES],
    evses: i64,
    conn_id: Option<u64>,
}

/// One load of a round: what the sharing sees, where it stands in the queue, its session and
/// what the screens show of it.
struct Entry<'a> {
    load: Load,
    key: (u8, DateTime<Utc>),
    tx: Option<&'a Transaction>,
    row: ConnectorLoad,
}

impl<'a> Entry<'a> {
    /// A load not steered, counted at `amps`: first in the queue.
    fn fixed(
        circuit: usize,
        phases: [bool; PHASES],
        amps: f64,
        tx: Option<&'a Transaction>,
        row: ConnectorLoad,
    ) -> Entry<'a> {
        Entry {
            load: Load {
                circuit,
                phases,
                kind: Kind::Fixed { amps },
            },
            key: (0, DateTime::<Utc>::MIN_UTC),
            tx,
            row,
        }
    }
}

/// One charging profile to send in a round, and why.
struct Send {
    station_id: String,
    transaction_id: Option<i64>,
    purpose: LimitPurpose,
    amps: f64,
    /// After so many seconds, this figure (the failsafe).
    then: Option<(i64, f64)>,
    /// The same failsafe again, only to keep it from falling back: not logged when accepted.
    renewal: bool,
    reason: String,
}

impl Engine {
    /// The site, as saved.
    pub fn site(&self) -> Site {
        self.inner
            .load
            .site
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Check and save the site; a round follows at once. Turning it off takes our profiles off
    /// the chargers.
    pub async fn set_site(&self, site: Site) -> Result<Site> {
        let known: Vec<String> = stations::list(&self.inner.store.reader)
            .await?
            .into_iter()
            .filter(|s| s.registration == Registration::Accepted)
            .map(|s| s.id)
            .collect();
        let problems = site.problems(&known);
        if !problems.is_empty() {
            return Err(Error::Invalid(problems.join("; ")));
        }
        let text = serde_json::to_string(&site).map_err(|e| Error::Internal(e.to_string()))?;
        self.inner
            .store
            .writer
            .write(move |c| {
                Box::pin(async move { chargeyard_store::settings::set(c, SITE_KEY, &text).await })
            })
            .await?;
        *self
            .inner
            .load
            .site
            .write()
            .unwrap_or_else(|p| p.into_inner()) = site.clone();
        self.inner
            .load
            .enabled
            .store(site.enabled, Ordering::Relaxed);
        self.load_wake();
        Ok(site)
    }

    /// Read the saved site at start.
    pub(crate) async fn load_site(&self) -> Result<()> {
        if let Some(text) =
            chargeyard_store::settings::get(&self.inner.store.reader, SITE_KEY).await?
        {
            match serde_json::from_str::<Site>(&text) {
                Ok(site) => {
                    self.inner
                        .load
                        .enabled
                        .store(site.enabled, Ordering::Relaxed);
                    *self
                        .inner
                        .load
                        .site
                        .write()
                        .unwrap_or_else(|p| p.into_inner()) = site;
                }
                Err(e) => {
                    tracing::warn!("the saved site could not be read ({e}); load management is off")
                }
            }
        }
        Ok(())
    }

    /// The site's load as the last round left it (None before the first round, or while load
    /// management is off).
    pub fn site_load(&self) -> Option<SiteLoad> {
        self.lock_live().last.clone()
    }

    /// The latest limits decided (newest first), for a station, a session, or the whole site.
    pub async fn load_decisions(
        &self,
        station_id: Option<&str>,
        transaction_id: Option<i64>,
        limit: i64,
    ) -> Result<Vec<Decision>> {
        Ok(chargeyard_store::load::list(
            &self.inner.store.reader,
            station_id,
            transaction_id,
            limit.clamp(1, 1000),
        )
        .await?)
    }

    /// Something changed that the sharing depends on: a round soon.
    pub(crate) fn load_wake(&self) {
        self.inner.load.wake.notify_one();
    }

    fn lock_live(&self) -> std::sync::MutexGuard<'_, Live> {
        self.inner
            .load
            .live
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Note what a connector draws, from the samples just stored.
    pub(crate) fn note_draw(&self, station_id: &str, evse_id: i64, samples: &[NewSample]) {
        if !self.inner.load.enabled.load(Ordering::Relaxed) {
            return;
        }
        let mut draw = Draw::default();
        for s in samples {
            let Some(v) = s.value else { continue };
            match s.measurand.as_ref() {
                "Current.Import" => match s.phase.as_deref().and_then(phase_index) {
                    Some(p) => draw.per_phase[p] = Some(v),
                    None => draw.any = Some(v),
                },
                "Power.Active.Import" if s.phase.is_none() => draw.power_w = Some(v),
                _ => continue,
            }
            draw.at = Some(s.timestamp);
        }
        if draw.at.is_none() {
            return;
        }
        let started = {
            let mut live = self.lock_live();
            let key = (station_id.to_string(), evse_id);
            let before = live.draws.get(&key).map(|d| amps_of(d, 230.0, 3) > 1.0);
            let now = amps_of(&draw, 230.0, 3) > 1.0;
            live.draws.insert(key, draw);
            before != Some(now)
        };
        // A car that starts or stops drawing changes what the others can have.
        if started {
            self.load_wake();
        }
    }

    /// Run rounds until shutdown.
    pub(crate) fn spawn_load_manager(&self) {
        let engine = self.clone();
        let cancel = self.inner.shutdown.clone();
        self.inner.tasks.spawn(async move {
            loop {
                let every = Duration::from_secs(engine.site().interval_s.max(1));
                tokio::select! {
                    _ = cancel.cancelled() => break,
                    _ = engine.inner.load.wake.notified() => {
                        // Let changes that come together make one round.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    _ = tokio::time::sleep(every) => {}
                }
                if let Err(e) = engine.load_round().await {
                    tracing::warn!("load management round failed: {e}");
                }
            }
        });
    }

    /// One round: share, send what changed, record why.
    pub(crate) async fn load_round(&self) -> Result<()> {
        let site = self.site();
        if !site.enabled {
            return self.load_off().await;
        }
        let started = Instant::now();
        let now = self.now();
        let reader = &self.inner.store.reader;
        let registered: Vec<String> = stations::list(reader)
            .await?
            .into_iter()
            .filter(|s| s.registration == Registration::Accepted)
            .map(|s| s.id)
            .collect();
        let running = transactions::running(reader).await?;
        let states: HashMap<(String, i64), ConnectorState> = connectors::list_all(reader)
            .await?
            .into_iter()
            .map(|c| ((c.station_id, c.evse_id), c.state))
            .collect();
        let conns: HashMap<String, u64> = self
            .lock_sessions()
            .iter()
            .map(|(id, h)| (id.clone(), h.conn_id))
            .collect();
        let limits = site.limits(site.main_limit(&site::local(now, self.time_zone())));
        let voltage = site.voltage_v;

        let mut unplaced = Vec::new();
        let views: Vec<StationView> = registered
            .iter()
            .map(|id| {
                let placement = site.placement(id);
                if placement.is_none() {
                    unplaced.push(id.clone());
                }
                let circuit_id = placement.map_or(site::MAIN, |p| p.circuit.as_str());
                let evses = states
                    .keys()
                    .filter(|(s, e)| s == id && *e > 0)
                    .count()
                    .max(1) as i64;
                StationView {
                    id,
                    circuit: limits.index(circuit_id).unwrap_or(0),
                    circuit_id: circuit_id.to_string(),
                    max_a: placement.map_or(32.0, |p| p.max_a),
                    mask: site::phase_mask(placement),
                    evses,
                    conn_id: conns.get(id.as_str()).copied(),
                }
            })
            .collect();

        // What each load is, with the sessions' ceilings learned from their draws.
        // Sessions whose energy costs more now than the site steers away from.
        let mut dear: HashMap<i64, f64> = HashMap::new();
        if let Some(above) = site.dear_above_per_kwh {
            let mut pricer = crate::billing::Pricer::new(self);
            let tz = pricer.time_zone();
            for t in &running {
                let Some(version) = t.tariff_version_id else {
                    continue;
                };
                if let Some(tariff) = pricer.tariff(version).await? {
                    let per_kwh = tariff.prices_at(now, &tz).per_kwh.ten_thousandths() as f64 / 1e4;
                    if per_kwh > above {
                        dear.insert(t.id, per_kwh);
                    }
                }
            }
        }
        // Sessions that must be full by a deadline and have little time to spare: served first.
        let mut urgent: HashMap<i64, String> = HashMap::new();
        let tz = self.time_zone();
        for t in &running {
            let group = t.tag_group_name.as_deref();
            let Some(deadline) = site.deadline(group, t.start_ts, tz) else {
                continue;
            };
            let left_h = (deadline - now).num_seconds() as f64 / 3600.0;
            let needed = match (t.soc_percent, t.energy_wh, t.meter_start) {
                (Some(soc), Some(e), Some(start)) => {
                    chargeyard_store::meter::first_soc(reader, t.id)
                        .await?
                        .and_then(|first| share::still_needed(first, (soc, (start + e) as f64)))
                }
                _ => None,
            };
            let placement = site.placement(&t.station_id);
            let phases = site::phase_mask(placement).iter().filter(|&&b| b).count() as f64;
            let max_w = placement.map_or(32.0, |p| p.max_a) * phases * voltage;
            if share::urgent(left_h, needed, max_w) {
                let by = deadline.with_timezone(&tz).format("%H:%M");
                urgent.insert(
                    t.id,
                    match needed {
                        Some(wh) => format!(
                            "to be full by {by}: about {:.1} kWh to go, {:.1} h at its maximum, {:.1} h left; served first",
                            wh / 1000.0,
                            wh / max_w,
                            left_h
                        ),
                        None => format!(
                            "to be full by {by}, and it does not say how full it is: served first"
                        ),
                    },
                );
            }
        }
        let mut entries: Vec<Entry> = Vec::new();
        {
            let mut live = self.lock_live();
            live.applied = true;
            let Live {
                draws,
                sessions,
                stations: held,
                ..
            } = &mut *live;
            sessions.retain(|id, _| running.iter().any(|t| t.id == *id));
            draws.retain(|(s, e), _| {
                running
                    .iter()
                    .any(|t| &t.station_id == s && t.evse_id == *e)
            });
            for v in &views {
                let fresh = held.get(v.id).is_none_or(|h| Some(h.conn_id) != v.conn_id);
                if fresh && let Some(conn_id) = v.conn_id {
                    held.insert(
                        v.id.to_string(),
                        StationLoad {
                            conn_id,
                            failsafe: None,
                            failsafe_at: None,
                            default: None,
                            refuses: None,
                        },
                    );
                    for t in running.iter().filter(|t| t.station_id == v.id) {
                        if let Some(s) = sessions.get_mut(&t.id) {
                            s.given = None;
                            s.checked = false;
                        }
                    }
                }
                let refuses = held.get(v.id).and_then(|h| h.refuses.clone());
                if let Some(answer) = refuses {
                    for evse in 1..=v.evses {
                        let t = running
                            .iter()
                            .find(|t| t.station_id == v.id && t.evse_id == evse);
                        entries.push(Entry::fixed(v.circuit, v.mask, v.max_a, t, row(
                            v,
                            evse,
                            t,
                            &site,
                            draws,
                            LoadState::Refuses,
                            format!(
                                "refuses charging profiles ({answer}): counted at its full {} A",
                                v.max_a
                            ),
                        )));
                    }
                    continue;
                }
                for t in running.iter().filter(|t| t.station_id == v.id) {
                    let s = sessions.entry(t.id).or_default();
                    let draw = draws.get(&(v.id.to_string(), t.evse_id));
                    let phases_seen = draw.and_then(|d| share::phases_used(d.per_phase));
                    if let Some(p) = phases_seen {
                        s.phases = Some(p);
                    }
                    let mask = match s.phases {
                        Some(seen) if (0..PHASES).any(|p| seen[p] && v.mask[p]) => {
                            std::array::from_fn(|p| seen[p] && v.mask[p])
                        }
                        _ => v.mask,
                    };
                    let phase_count = mask.iter().filter(|&&b| b).count().max(1);
                    let drawn = draw
                        .filter(|d| {
                            d.at.is_some_and(|at| {
                                now - at < chrono::Duration::seconds(3 * site.interval_s as i64)
                            })
                        })
                        .map(|d| amps_of(d, voltage, phase_count));
                    s.ceiling = share::learn_ceiling(s.given, s.ceiling, drawn, site.min_a);
                    if v.conn_id.is_none() {
                        let amps = s.given.unwrap_or(v.max_a);
                        let mut r = row(
                            v,
                            t.evse_id,
                            Some(t),
                            &site,
                            draws,
                            LoadState::Offline,
                            format!("not connected: counted at the {amps} A it was last given"),
                        );
                        r.allocated_a = amps;
                        entries.push(Entry::fixed(v.circuit, mask, amps, Some(t), r));
                        continue;
                    }
                    let wants_none = matches!(
                        states.get(&(v.id.to_string(), t.evse_id)),
                        Some(ConnectorState::SuspendedEV | ConnectorState::Finishing)
                    );
                    let mut max = s.ceiling.map_or(v.max_a, |c| c.min(v.max_a));
                    let priority = if urgent.contains_key(&t.id) {
                        Priority::High
                    } else {
                        site.priority_of(t.tag_group_name.as_deref())
                    };
                    let waits_for_cheaper = priority != Priority::High && dear.contains_key(&t.id);
                    if wants_none || waits_for_cheaper {
                        max = max.min(site.min_a);
                    }
                    let load = Load {
                        circuit: v.circuit,
                        phases: mask,
                        kind: Kind::Flexible {
                            min: site.min_a,
                            max,
                            priority: priority.rank(),
                        },
                    };
                    let key = turn(s, t.start_ts, now, site.turn_s);
                    let mut r = row(
                        v,
                        t.evse_id,
                        Some(t),
                        &site,
                        draws,
                        LoadState::Shared,
                        String::new(),
                    );
                    r.phases = mask;
                    r.priority = priority;
                    entries.push(Entry {
                        load,
                        key,
                        tx: Some(t),
                        row: r,
                    });
                }
            }
        }

        // In turn order (a stable sort: sessions in the same place stay in order of arrival).
        entries.sort_by_key(|e| e.key);
        let loads: Vec<Load> = entries.iter().map(|e| e.load.clone()).collect();
        let tx_of: Vec<Option<&Transaction>> = entries.iter().map(|e| e.tx).collect();
        let mut rows: Vec<ConnectorLoad> = entries.into_iter().map(|e| e.row).collect();
        let (grants, room) = share::share(&limits.circuits, &loads);
        let name_of = |c: usize| {
            site.circuits
                .iter()
                .find(|d| Some(&d.id) == limits.ids.get(c))
                .map_or_else(
                    || "the connection".to_string(),
                    |d| format!("circuit {}", d.name),
                )
        };

        // Each session's share, where it changed.
        let mut sends = Vec::new();
        {
            let mut live = self.lock_live();
            for ((row, grant), (load, t)) in
                rows.iter_mut().zip(&grants).zip(loads.iter().zip(&tx_of))
            {
                let Kind::Flexible { max, .. } = load.kind else {
                    continue;
                };
                let Some(t) = t else { continue };
                row.allocated_a = grant.amps;
                let session = live.sessions.get(&t.id);
                let (state, reason) = explain(
                    grant,
                    max,
                    session.and_then(|s| s.ceiling),
                    &site,
                    &limits,
                    &name_of,
                );
                let reason = match (dear.get(&t.id), urgent.get(&t.id)) {
                    (_, Some(why)) => format!("{reason}; {why}"),
                    (Some(price), None) if grant.amps > 0.0 && row.priority != Priority::High => {
                        format!(
                            "held at the minimum while energy costs {price:.2} per kWh (above {:.2})",
                            site.dear_above_per_kwh.unwrap_or_default()
                        )
                    }
                    _ => reason,
                };
                row.state = state;
                row.reason = reason.clone();
                let given = session.and_then(|s| s.given);
                if let Some(s) = live.sessions.get_mut(&t.id) {
                    if grant.amps > 0.0 {
                        s.waiting_since = None;
                        s.charging_since.get_or_insert(now);
                    } else {
                        s.charging_since = None;
                        s.waiting_since.get_or_insert(now);
                    }
                }
                let changed = worth_sending(given, grant.amps);
                if changed {
                    sends.push(Send {
                        station_id: t.station_id.clone(),
                        transaction_id: Some(t.id),
                        purpose: LimitPurpose::Tx {
                            evse_id: t.evse_id,
                            charger_tx_id: t.charger_tx_id.clone(),
                        },
                        amps: grant.amps,
                        then: None,
                        renewal: false,
                        reason,
                    });
                }
            }
        }

        // Each station's failsafe, and the default for new sessions.
        let failsafe = failsafe(&site, &views, &running, &self.lock_live().stations);
        let hold = Duration::from_secs((3 * site.interval_s).max(15));
        let paths = share::paths(&limits.circuits);
        let room = &room;
        {
            let live = self.lock_live();
            for (v, f) in views.iter().zip(&failsafe.stations) {
                let Some(h) = live.stations.get(v.id) else {
                    continue;
                };
                if v.conn_id != Some(h.conn_id) || h.refuses.is_some() {
                    continue;
                }
                let due = h.failsafe_at.is_none_or(|at| at.elapsed() >= hold / 2);
                let changed = worth_sending(h.failsafe, f.amps);
                if due || changed {
                    sends.push(Send {
                        station_id: v.id.to_string(),
                        transaction_id: None,
                        purpose: LimitPurpose::StationMax,
                        amps: v.max_a * v.evses as f64,
                        then: Some((hold.as_secs() as i64, f.amps)),
                        renewal: !changed,
                        reason: format!(
                            "failsafe {:.1} A unless renewed within {} s; {}",
                            f.amps,
                            hold.as_secs(),
                            failsafe.summary
                        ),
                    });
                }
                // A new session starts at the minimum while its circuits have room for it, else
                // waits for its share.
                let headroom = paths[v.circuit]
                    .iter()
                    .flat_map(|&c| (0..PHASES).filter(|&p| v.mask[p]).map(move |p| room[c][p]))
                    .fold(f64::INFINITY, f64::min);
                let default = if headroom >= site.min_a - 1e-9 {
                    site.min_a
                } else {
                    0.0
                };
                if h.default.is_none_or(|d| d != default) {
                    sends.push(Send {
                        station_id: v.id.to_string(),
                        transaction_id: None,
                        purpose: LimitPurpose::TxDefault,
                        amps: default,
                        then: None,
                        renewal: false,
                        reason: if default > 0.0 {
                            format!(
                                "a new session starts at {default} A until it is given its share"
                            )
                        } else {
                            "the site is full: a new session waits for its share".to_string()
                        },
                    });
                }
            }
        }

        // Lower limits first, then raise others: the sum stays under the limits in between.
        let lowers = |s: &Send| {
            let live = self.lock_live();
            match &s.purpose {
                LimitPurpose::Tx { .. } => s
                    .transaction_id
                    .and_then(|id| live.sessions.get(&id))
                    .and_then(|x| x.given)
                    .is_some_and(|g| s.amps < g),
                _ => false,
            }
        };
        let (first, second): (Vec<&Send>, Vec<&Send>) = sends.iter().partition(|s| lowers(s));
        let mut answers = Vec::with_capacity(sends.len());
        let mut ordered = Vec::with_capacity(sends.len());
        for batch in [first, second] {
            let sent = futures_util::future::join_all(batch.iter().map(|s| {
                self.intent(
                    &s.station_id,
                    Intent::ChargingLimit {
                        purpose: s.purpose.clone(),
                        amps: s.amps,
                        from: now,
                        then: s.then,
                    },
                    "load management",
                )
            }))
            .await;
            answers.extend(sent);
            ordered.extend(batch);
        }

        let mut decisions = Vec::new();
        let mut checks = Vec::new();
        let mut refused_now = false;
        {
            let mut live = self.lock_live();
            for (s, answer) in ordered.into_iter().zip(answers) {
                let status = match &answer {
                    Ok(a) => a.status.clone(),
                    Err(Error::CallError { code, .. })
                        if code == "NotImplemented" || code == "NotSupported" =>
                    {
                        "NotSupported".to_string()
                    }
                    Err(e) => e.to_string(),
                };
                let accepted = status == "Accepted";
                let refused = (answer.is_ok() && !accepted) || status == "NotSupported";
                if refused && let Some(h) = live.stations.get_mut(&s.station_id) {
                    h.refuses = Some(status.clone());
                    refused_now = true;
                }
                if accepted {
                    match &s.purpose {
                        LimitPurpose::Tx { evse_id, .. } => {
                            if let Some(id) = s.transaction_id
                                && let Some(sess) = live.sessions.get_mut(&id)
                            {
                                sess.given = Some(s.amps);
                                if !sess.checked {
                                    sess.checked = true;
                                    checks.push((s.station_id.clone(), *evse_id, Some(id), s.amps));
                                }
                            }
                        }
                        LimitPurpose::StationMax => {
                            if let Some(h) = live.stations.get_mut(&s.station_id) {
                                let first = h.failsafe.is_none();
                                h.failsafe = s.then.map(|t| t.1);
                                h.failsafe_at = Some(Instant::now());
                                if first {
                                    checks.push((s.station_id.clone(), 0, None, s.amps));
                                }
                            }
                        }
                        LimitPurpose::TxDefault => {
                            if let Some(h) = live.stations.get_mut(&s.station_id) {
                                h.default = Some(s.amps);
                            }
                        }
                    }
                }
                if s.renewal && accepted {
                    continue;
                }
                decisions.push(Decision {
                    at: now,
                    station_id: s.station_id.clone(),
                    evse_id: s.purpose.evse_id(),
                    transaction_id: s.transaction_id,
                    purpose: purpose_name(&s.purpose).into(),
                    amps: s.then.map_or(s.amps, |t| t.1),
                    reason: s.reason.clone(),
                    answer: status,
                });
            }
        }
        if !decisions.is_empty() {
            self.record_decisions(decisions).await?;
        }
        for (station_id, evse_id, tx, amps) in checks {
            let engine = self.clone();
            self.inner.tasks.spawn(async move {
                engine
                    .check_composite(&station_id, evse_id, tx, amps, voltage)
                    .await;
            });
        }

        let round_ms = started.elapsed().as_secs_f64() * 1000.0;
        let snapshot = snapshot(
            &site,
            &limits,
            &loads,
            &grants,
            rows,
            failsafe,
            unplaced,
            now,
            round_ms,
            &self.lock_live().draws,
            &views,
        );
        self.lock_live().last = Some(snapshot.clone());
        if self.has_listeners() {
            self.emit(Event::SiteLoad {
                load: Some(Box::new(snapshot)),
            });
        }
        if refused_now {
            self.load_wake();
        }
        Ok(())
    }

    async fn record_decisions(&self, decisions: Vec<Decision>) -> Result<()> {
        self.inner
            .store
            .writer
            .write(move |c| {
                Box::pin(async move { chargeyard_store::load::insert(c, &decisions).await })
            })
            .await?;
        Ok(())
    }

    /// Ask the charger what it will keep to, and note whether it is what it was given.
    async fn check_composite(
        &self,
        station_id: &str,
        evse_id: i64,
        transaction_id: Option<i64>,
        amps: f64,
        voltage: f64,
    ) {
        let intent = Intent::CompositeSchedule {
            evse_id,
            duration_s: 300,
        };
        let (reason, answer) = match self.intent(station_id, intent, "load management").await {
            Ok(a) => match crate::protocol::composite_limit(&a.answer, voltage) {
                Some(limit) if limit <= amps + 0.1 => (
                    format!("checked: the charger will keep to {limit:.1} A"),
                    a.status,
                ),
                Some(limit) => (
                    format!(
                        "checked: the charger's schedule allows {limit:.1} A, above the {amps} A it was given"
                    ),
                    a.status,
                ),
                None => (
                    "checked: the charger gave no schedule".to_string(),
                    a.status,
                ),
            },
            Err(e) => (
                "checked: the charger could not say".to_string(),
                e.to_string(),
            ),
        };
        let d = Decision {
            at: self.now(),
            station_id: station_id.to_string(),
            evse_id,
            transaction_id,
            purpose: "Check".into(),
            amps,
            reason,
            answer,
        };
        if let Err(e) = self.record_decisions(vec![d]).await {
            tracing::warn!("recording a load check failed: {e}");
        }
    }

    /// Load management is off: take our profiles off the chargers once.
    async fn load_off(&self) -> Result<()> {
        let (applied, stations, shown) = {
            let mut live = self.lock_live();
            let applied = std::mem::take(&mut live.applied);
            let shown = live.last.take().is_some();
            live.sessions.clear();
            (applied, std::mem::take(&mut live.stations), shown)
        };
        if shown && self.has_listeners() {
            self.emit(Event::SiteLoad { load: None });
        }
        if !applied {
            return Ok(());
        }
        let evses = connectors::list_all(&self.inner.store.reader).await?;
        let connected: Vec<String> = stations
            .keys()
            .filter(|id| self.is_connected(id))
            .cloned()
            .collect();
        let mut clears = Vec::new();
        for id in &connected {
            clears.push((id.clone(), LimitPurpose::StationMax));
            clears.push((id.clone(), LimitPurpose::TxDefault));
            for c in evses
                .iter()
                .filter(|c| &c.station_id == id && c.evse_id > 0)
            {
                clears.push((
                    id.clone(),
                    LimitPurpose::Tx {
                        evse_id: c.evse_id,
                        charger_tx_id: String::new(),
                    },
                ));
            }
        }
        let answers = futures_util::future::join_all(clears.iter().map(|(id, p)| {
            self.intent(
                id,
                Intent::ClearChargingLimit { purpose: p.clone() },
                "load management",
            )
        }))
        .await;
        let now = self.now();
        let decisions = clears
            .iter()
            .zip(answers)
            .map(|((id, p), a)| Decision {
                at: now,
                station_id: id.clone(),
                evse_id: p.evse_id(),
                transaction_id: None,
                purpose: purpose_name(p).into(),
                amps: 0.0,
                reason: "load management turned off: limit removed".into(),
                answer: a.map_or_else(|e| e.to_string(), |a| a.status),
            })
            .collect::<Vec<_>>();
        if !decisions.is_empty() {
            self.record_decisions(decisions).await?;
        }
        Ok(())
    }
}

/// Whether a new limit must be sent to a charger that holds `given`: any decrease (the sum must
/// stay under the limits), a pause or a resume, and a raise once it is worth a message.
fn worth_sending(given: Option<f64>, new: f64) -> bool {
    given.is_none_or(|g| new < g - 0.05 || new - g >= STEP_A || (g == 0.0) != (new == 0.0))
}

fn purpose_name(p: &LimitPurpose) -> &'static str {
    match p {
        LimitPurpose::StationMax => "StationMax",
        LimitPurpose::TxDefault => "TxDefault",
        LimitPurpose::Tx { .. } => "Tx",
    }
}

/// The phase of a sample ("L2", "L2-N"): its index.
fn phase_index(phase: &str) -> Option<usize> {
    match phase.get(..2)? {
        "L1" => Some(0),
        "L2" => Some(1),
        "L3" => Some(2),
        _ => None,
    }
}

/// What a draw comes to in A per phase: the highest phase current, else a current with no
/// phase, else the power over `phases` at `voltage`.
fn amps_of(d: &Draw, voltage: f64, phases: usize) -> f64 {
    let phase_max = d
        .per_phase
        .iter()
        .flatten()
        .copied()
        .fold(f64::NAN, f64::max);
    if phase_max.is_finite() {
        return phase_max;
    }
    if let Some(a) = d.any {
        return a;
    }
    d.power_w
        .map_or(0.0, |w| w / (voltage * phases.max(1) as f64))
}

/// What a draw comes to on each phase: as measured, else a current with no phase or the power
/// spread over the charger's phases.
fn per_phase(d: &Draw, voltage: f64, mask: &[bool; PHASES]) -> [Option<f64>; PHASES] {
    if d.per_phase.iter().any(Option::is_some) {
        return d.per_phase;
    }
    let on = mask.iter().filter(|&&b| b).count();
    let each = d
        .any
        .or_else(|| d.power_w.map(|w| w / (voltage * on.max(1) as f64)));
    std::array::from_fn(|p| if mask[p] { each } else { None })
}

/// A connector's row before its grant is known.
fn row(
    v: &StationView,
    evse_id: i64,
    t: Option<&Transaction>,
    site: &Site,
    draws: &HashMap<(String, i64), Draw>,
    state: LoadState,
    reason: String,
) -> ConnectorLoad {
    let allocated_a = match state {
        LoadState::Refuses => v.max_a,
        _ => 0.0,
    };
    ConnectorLoad {
        station_id: v.id.to_string(),
        evse_id,
        transaction_id: t.map(|t| t.id),
        id_tag: t.map(|t| t.id_tag.clone()).unwrap_or_default(),
        priority: site.priority_of(t.and_then(|t| t.tag_group_name.as_deref())),
        circuit: v.circuit_id.clone(),
        phases: v.mask,
        allocated_a,
        drawn_a: draws
            .get(&(v.id.to_string(), evse_id))
            .map_or([None; PHASES], |d| per_phase(d, site.voltage_v, &v.mask)),
        state,
        reason,
    }
}

/// How a grant reads to the operator.
fn explain(
    g: &Grant,
    max: f64,
    ceiling: Option<f64>,
    site: &Site,
    limits: &site::Limits,
    name_of: &dyn Fn(usize) -> String,
) -> (LoadState, String) {
    match g.why {
        Why::Paused { circuit } => (
            LoadState::Paused,
            format!(
                "paused: {} ({:.0} A) has no room for another {} A",
                name_of(circuit),
                limits.circuits[circuit].limit,
                site.min_a
            ),
        ),
        Why::Shared { circuit } => (
            LoadState::Shared,
            format!(
                "its share of {} ({:.0} A), which is full",
                name_of(circuit),
                limits.circuits[circuit].limit
            ),
        ),
        Why::AtMax | Why::Fixed => {
            let what = match ceiling {
                Some(c) if c <= max + 1e-9 => format!("held near what it draws ({c:.1} A)"),
                _ if max <= site.min_a + 1e-9 => {
                    "the car is not drawing: kept at the minimum".into()
                }
                _ => format!("its maximum ({max:.1} A)"),
            };
            (LoadState::Capped, what)
        }
    }
}

/// Each station's failsafe: what it falls back to unless renewed, so that every charger at its
/// failsafe at once keeps the connection (and each circuit) under its lowest limit. Stations
/// with a session come first (the earliest first): each gets the minimum a car needs while
/// there is room for it, the rest get nothing, and what is left is shared out. A charger that
/// refuses profiles is counted at its full rating.
fn failsafe(
    site: &Site,
    views: &[StationView],
    running: &[Transaction],
    held: &HashMap<String, StationLoad>,
) -> Failsafe {
    let lowest = site.lowest_main_limit();
    let limits = site.limits(lowest);
    let since = |v: &StationView| {
        running
            .iter()
            .filter(|t| t.station_id == v.id)
            .map(|t| t.start_ts)
            .min()
    };
    let mut order: Vec<usize> = (0..views.len()).collect();
    order.sort_by_key(|&i| match since(&views[i]) {
        Some(t) => (0, t),
        None => (1, DateTime::<Utc>::MIN_UTC),
    });
    let loads: Vec<Load> = order
        .iter()
        .map(|&i| {
            let v = &views[i];
            let rating = v.max_a * v.evses as f64;
            let refuses = held.get(v.id).is_some_and(|h| h.refuses.is_some());
            Load {
                circuit: v.circuit,
                phases: v.mask,
                kind: if refuses {
                    Kind::Fixed { amps: rating }
                } else {
                    Kind::Flexible {
                        min: site.min_a,
                        max: rating,
                        priority: 0,
                    }
                },
            }
        })
        .collect();
    let (ordered_grants, room) = share::share(&limits.circuits, &loads);
    let mut grants = vec![
        Grant {
            amps: 0.0,
            why: Why::Fixed
        };
        views.len()
    ];
    for (k, &i) in order.iter().enumerate() {
        grants[i] = ordered_grants[k];
    }

    let stations: Vec<StationFailsafe> = views
        .iter()
        .zip(&grants)
        .map(|(v, g)| StationFailsafe {
            station_id: v.id.to_string(),
            amps: g.amps,
            held: held
                .get(v.id)
                .is_some_and(|h| h.failsafe.is_some_and(|a| (a - g.amps).abs() < STEP_A)),
        })
        .collect();
    let site_a = room.first().map_or(0.0, |r| {
        lowest - r.iter().copied().fold(f64::INFINITY, f64::min)
    });
    let stopped = stations.iter().filter(|s| s.amps < site.min_a).count();
    let (lo, hi) = stations
        .iter()
        .map(|s| s.amps)
        .filter(|&a| a >= site.min_a)
        .fold((f64::INFINITY, 0.0f64), |(lo, hi), a| {
            (lo.min(a), hi.max(a))
        });
    let summary = if stations.is_empty() {
        "No charger is placed yet.".to_string()
    } else {
        let each = if stopped == stations.len() {
            "none can charge".to_string()
        } else if (hi - lo).abs() < 0.05 {
            format!("{} at {lo:.1} A", stations.len() - stopped)
        } else {
            format!("{} at {lo:.1}–{hi:.1} A", stations.len() - stopped)
        };
        let rest = if stopped > 0 {
            format!(", {stopped} stopped (no room for {} A each)", site.min_a)
        } else {
            String::new()
        };
        format!(
            "If Chargeyard stops, the chargers fall back to their failsafe ({each}{rest}): together at most {site_a:.1} A of the {lowest:.1} A the connection allows at its lowest"
        )
    };
    Failsafe {
        stations,
        site_a,
        limit_a: lowest,
        summary,
    }
}

#[allow(clippy::too_many_arguments)]
fn snapshot(
    site: &Site,
    limits: &site::Limits,
    loads: &[Load],
    grants: &[Grant],
    connectors: Vec<ConnectorLoad>,
    failsafe: Failsafe,
    unplaced: Vec<String>,
    at: DateTime<Utc>,
    round_ms: f64,
    draws: &HashMap<(String, i64), Draw>,
    views: &[StationView],
) -> SiteLoad {
    let paths = share::paths(&limits.circuits);
    let add = |acc: &mut [f64; PHASES], mask: &[bool; PHASES], amps: f64| {
        for (a, on) in acc.iter_mut().zip(mask) {
            if *on {
                *a += amps;
            }
        }
    };
    let mut allocated = vec![[0.0; PHASES]; limits.circuits.len()];
    for (l, g) in loads.iter().zip(grants) {
        for &c in &paths[l.circuit] {
            add(&mut allocated[c], &l.phases, g.amps);
        }
    }
    let mut drawn = vec![[0.0; PHASES]; limits.circuits.len()];
    let mut fail = vec![[0.0; PHASES]; limits.circuits.len()];
    for (v, f) in views.iter().zip(&failsafe.stations) {
        for &c in &paths[v.circuit] {
            add(&mut fail[c], &v.mask, f.amps);
        }
        for ((s, _), d) in draws.iter() {
            if s != v.id {
                continue;
            }
            for &c in &paths[v.circuit] {
                for (p, a) in per_phase(d, site.voltage_v, &v.mask).iter().enumerate() {
                    drawn[c][p] += a.unwrap_or(0.0);
                }
            }
        }
    }
    let circuits = limits
        .ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let def = site.circuits.iter().find(|c| &c.id == id);
            CircuitLoad {
                id: id.clone(),
                name: def.map_or_else(|| "Grid connection".to_string(), |d| d.name.clone()),
                parent: def.map(|d| d.parent.clone()),
                limit_a: limits.circuits[i].limit,
                allocated_a: allocated[i].map(|a| (a * 10.0).round() / 10.0),
                drawn_a: drawn[i].map(|a| (a * 10.0).round() / 10.0),
                failsafe_a: fail[i].iter().copied().fold(0.0, f64::max),
            }
        })
        .collect();
    SiteLoad {
        at,
        limit_a: limits.circuits[0].limit,
        limit_kw: (limits.circuits[0].limit * PHASES as f64 * site.voltage_v / 100.0).round()
            / 10.0,
        circuits,
        connectors,
        failsafe,
        unplaced,
        round_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_decrease_is_sent_and_small_raises_wait() {
        assert!(worth_sending(None, 6.0));
        assert!(worth_sending(Some(8.1), 8.0), "a decrease of 0.1 A is sent");
        assert!(!worth_sending(Some(8.0), 8.1), "a raise of 0.1 A waits");
        assert!(worth_sending(Some(8.0), 8.5));
        assert!(!worth_sending(Some(0.0), 0.0));
        assert!(worth_sending(Some(6.0), 0.0), "a pause is sent");
    }
}
