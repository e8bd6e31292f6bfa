//! Who may open a connection: at most so many at once from one address, and a record of the
//! connections turned away (from one address too many, beyond the overall cap, or an unknown
//! station while the inbox is full) for the operator to see.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Serialize;
use ts_rs::TS;

/// Connections turned away that are kept to show, newest first.
const KEPT: usize = 20;
/// At most one event per this long announces turned-away connections (a flood must not flood
/// the screens too).
const ANNOUNCE_EVERY: Duration = Duration::from_secs(2);

/// Why a connection was turned away.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum TurnAway {
    /// This address already has as many connections open as one address may.
    TooManyFromAddress,
    /// The central system has as many connections open as it takes.
    TooManyConnections,
    /// A station never seen before, while as many stations as the inbox holds are waiting.
    InboxFull,
}

/// One connection turned away.
#[derive(Debug, Clone, Serialize, TS)]
pub struct TurnedAwayEntry {
    pub at: DateTime<Utc>,
    pub remote_addr: String,
    /// The station id it gave, when it got as far as saying one.
    pub station_id: Option<String>,
    pub reason: TurnAway,
}

/// Connections turned away since the start, by reason, and the latest ones.
#[derive(Debug, Clone, Default, Serialize, TS)]
pub struct TurnedAway {
    #[ts(type = "number")]
    pub too_many_from_address: u64,
    #[ts(type = "number")]
    pub too_many_connections: u64,
    #[ts(type = "number")]
    pub inbox_full: u64,
    /// Newest first.
    pub recent: Vec<TurnedAwayEntry>,
}

#[derive(Default)]
struct Record {
    counts: TurnedAway,
    recent: VecDeque<TurnedAwayEntry>,
    announced: Option<Instant>,
}

/// Open connections per address and the record of those turned away.
pub struct Gate {
    per_address: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
    record: Mutex<Record>,
}

/// One open connection from an address; counted until dropped.
pub struct AddressPermit {
    gate: Arc<Gate>,
    ip: IpAddr,
}

impl Drop for AddressPermit {
    fn drop(&mut self) {
        let mut open = self.gate.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = open.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

impl Gate {
    /// `per_address`: connections one address may have open at once (0: no limit).
    pub fn new(per_address: usize) -> Arc<Gate> {
        Arc::new(Gate {
            per_address,
            open: Mutex::new(HashMap::new()),
            record: Mutex::new(Record::default()),
        })
    }

    /// Count a connection from `ip`, or None if that address already has as many open as it may.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<AddressPermit> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let n = open.entry(ip).or_insert(0);
        if self.per_address > 0 && *n >= self.per_address {
            return None;
        }
        *n += 1;
        Some(AddressPermit {
            gate: self.clone(),
            ip,
        })
    }

    /// Note a connection turned away. True when the screens should be told (at most once per
    /// [`ANNOUNCE_EVERY`]).
    pub fn turned_away(&self, entry: TurnedAwayEntry) -> bool {
        let mut r = self.record.lock().unwrap_or_else(|p| p.into_inner());
        match entry.reason {
            TurnAway::TooManyFromAddress => r.counts.too_many_from_address += 1,
            TurnAway::TooManyConnections => r.counts.too_many_connections += 1,
            TurnAway::InboxFull => r.counts.inbox_full += 1,
        }
        r.recent.push_front(entry);
        r.recent.truncate(KEPT);
        let now = Instant::now();
        let announce = r.announced.is_none_or(|t| now - t >= ANNOUNCE_EVERY);
        if announce {
            r.announced = Some(now);
        }
        announce
    }

    pub fn summary(&self) -> TurnedAway {
        let r = self.record.lock().unwrap_or_else(|p| p.into_inner());
        TurnedAway {
            recent: r.recent.iter().cloned().collect(),
            ..r.counts.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_gets_its_slots_back_when_connections_close() {
        let gate = Gate::new(2);
        let ip = IpAddr::from([10, 0, 0, 7]);
        let other = IpAddr::from([10, 0, 0, 8]);
        let a = gate.admit(ip).expect("first");
        let _b = gate.admit(ip).expect("second");
        assert!(
            gate.admit(ip).is_none(),
            "a third from one address is refused"
        );
        assert!(
            gate.admit(other).is_some(),
            "another address is not affected"
        );
        drop(a);
        assert!(
            gate.admit(ip).is_some(),
            "a closed connection frees its slot"
        );
    }

    #[test]
    fn turned_away_connections_are_counted_and_the_latest_kept() {
        let gate = Gate::new(0);
        let entry = |reason| TurnedAwayEntry {
            at: Utc::now(),
            remote_addr: "10.0.0.7:5000".into(),
            station_id: None,
            reason,
        };
        assert!(
            gate.turned_away(entry(TurnAway::InboxFull)),
            "the first is announced"
        );
        assert!(
            !gate.turned_away(entry(TurnAway::InboxFull)),
            "the next within 2 s is not"
        );
        for _ in 0..30 {
            gate.turned_away(entry(TurnAway::TooManyFromAddress));
        }
        let s = gate.summary();
        assert_eq!((s.inbox_full, s.too_many_from_address), (2, 30));
        assert_eq!(s.recent.len(), KEPT);
        assert_eq!(s.recent[0].reason, TurnAway::TooManyFromAddress);
    }
}
