//! Running transactions, held in memory for the messages that arrive every few seconds: which
//! station a transaction belongs to and its meterStart (checked for every MeterValues without a
//! database read), a 2.x station's own transaction id, and the seqNos of the TransactionEvents
//! already stored (so an event sent again is answered and not stored twice), and where it runs
//! and what it last said (so an event needs no read of its row). Filled as
//! transactions start or are first read, dropped as they end; the database stays the truth.

use std::collections::HashMap;

use chargeyard_store::transactions;

use crate::engine::Engine;
use crate::error::Result;

/// Most transactions held before the cache starts over (stops that never came leave entries).
const MAX: usize = 100_000;

/// What is known of one running transaction.
#[derive(Debug, Clone)]
pub(crate) struct RunningTx {
    station_id: String,
    meter_start: Option<i64>,
    charger_tx_id: Option<String>,
    /// 2.x: the seqNos stored, once read from the database.
    seqs: Option<SeqSet>,
    /// 2.x: where it runs and what it last said, once read from the database.
    brief: Option<transactions::Brief>,
}

/// The transactions held, by our id and by (station, the station's id).
#[derive(Default)]
pub(crate) struct Running {
    by_id: HashMap<i64, RunningTx>,
    by_charger: HashMap<(String, String), i64>,
}

/// Numbers seen, as sorted ranges: seqNos mostly arrive in order, so a transaction of an hour
/// of events is a range or a few (one per gap), not thousands of entries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SeqSet(Vec<(i64, i64)>);

impl SeqSet {
    pub(crate) fn from_sorted(seqs: impl IntoIterator<Item = i64>) -> SeqSet {
        let mut s = SeqSet::default();
        for n in seqs {
            s.insert(n);
        }
        s
    }

    /// Add `n`; false if it was there already.
    pub(crate) fn insert(&mut self, n: i64) -> bool {
        let i = self.0.partition_point(|&(_, hi)| hi < n);
        if let Some(&(lo, _)) = self.0.get(i)
            && lo <= n
        {
            return false;
        }
        let joins_left = i > 0 && self.0[i - 1].1 == n - 1;
        let joins_right = self.0.get(i).is_some_and(|&(lo, _)| lo == n + 1);
        match (joins_left, joins_right) {
            (true, true) => {
                self.0[i - 1].1 = self.0[i].1;
                self.0.remove(i);
            }
            (true, false) => self.0[i - 1].1 = n,
            (false, true) => self.0[i].0 = n,
            (false, false) => self.0.insert(i, (n, n)),
        }
        true
    }

    /// Take `n` out again (its event could not be stored).
    pub(crate) fn remove(&mut self, n: i64) {
        let i = self.0.partition_point(|&(_, hi)| hi < n);
        let Some(&(lo, hi)) = self.0.get(i) else {
            return;
        };
        if n < lo {
            return;
        }
        match (lo == n, hi == n) {
            (true, true) => {
                self.0.remove(i);
            }
            (true, false) => self.0[i].0 = n + 1,
            (false, true) => self.0[i].1 = n - 1,
            (false, false) => {
                self.0[i].1 = n - 1;
                self.0.insert(i + 1, (n + 1, hi));
            }
        }
    }
}

impl Engine {
    fn running(&self) -> std::sync::MutexGuard<'_, Running> {
        self.inner.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Hold a transaction that started (or was read): its station, its meterStart, and for 2.x
    /// the station's id of it.
    pub(crate) fn remember_start(
        &self,
        id: i64,
        station_id: &str,
        charger_tx_id: Option<&str>,
        meter_start: Option<i64>,
    ) {
        let mut r = self.running();
        if r.by_id.len() >= MAX {
            *r = Running::default();
        }
        let entry = r.by_id.entry(id).or_insert_with(|| RunningTx {
            station_id: station_id.to_string(),
            meter_start,
            charger_tx_id: None,
            seqs: None,
            brief: None,
        });
        entry.meter_start = entry.meter_start.or(meter_start);
        if let Some(tx) = charger_tx_id {
            entry.charger_tx_id = Some(tx.to_string());
            r.by_charger
                .insert((station_id.to_string(), tx.to_string()), id);
        }
    }

    /// A transaction that ended: no longer held.
    pub(crate) fn forget_start(&self, id: i64) {
        let mut r = self.running();
        if let Some(t) = r.by_id.remove(&id)
            && let Some(tx) = t.charger_tx_id
        {
            r.by_charger.remove(&(t.station_id, tx));
        }
    }

    /// Forget every transaction held (their rows are gone: the demo removed).
    pub(crate) fn forget_all_starts(&self) {
        *self.running() = Running::default();
    }

    /// The meterStart of `station_id`'s transaction `id`: None if it has no such transaction,
    /// `Some(None)` while its start reading is not known.
    pub(crate) async fn meter_start(
        &self,
        station_id: &str,
        id: i64,
    ) -> Result<Option<Option<i64>>> {
        if let Some(t) = self.running().by_id.get(&id) {
            return Ok((t.station_id == station_id).then_some(t.meter_start));
        }
        let start = transactions::meter_start(&self.inner.store.reader, station_id, id).await?;
        if let Some(start) = start {
            self.remember_start(id, station_id, None, start);
        }
        Ok(start)
    }

    /// Our id of a station's transaction, by the station's own id of it (2.x).
    pub(crate) async fn transaction_by_charger_id(
        &self,
        station_id: &str,
        charger_tx_id: &str,
    ) -> Result<Option<i64>> {
        let key = (station_id.to_string(), charger_tx_id.to_string());
        if let Some(id) = self.running().by_charger.get(&key) {
            return Ok(Some(*id));
        }
        let id = transactions::find_id(&self.inner.store.reader, station_id, charger_tx_id).await?;
        Ok(id)
    }

    /// Claim seqNo `seq` of transaction `id` for storing: false when an event with it was
    /// stored already (it is being sent again). The seqNos stored are read from the database the
    /// first time a transaction is asked about.
    pub(crate) async fn claim_seq(&self, station_id: &str, id: i64, seq: i64) -> Result<bool> {
        let loaded = self
            .running()
            .by_id
            .get(&id)
            .is_some_and(|t| t.seqs.is_some());
        if !loaded {
            let seqs = chargeyard_store::meter::seq_nos(&self.inner.store.reader, id).await?;
            self.remember_start(id, station_id, None, None);
            if let Some(t) = self.running().by_id.get_mut(&id)
                && t.seqs.is_none()
            {
                t.seqs = Some(SeqSet::from_sorted(seqs));
            }
        }
        Ok(self
            .running()
            .by_id
            .get_mut(&id)
            .and_then(|t| t.seqs.as_mut())
            .is_none_or(|s| s.insert(seq)))
    }

    /// Where running transaction `id` of `station_id` runs and what it last said (read once, then
    /// held); a stopped one is read each time.
    pub(crate) async fn transaction_brief(
        &self,
        station_id: &str,
        id: i64,
    ) -> Result<Option<transactions::Brief>> {
        if let Some(b) = self.running().by_id.get(&id).and_then(|t| t.brief.clone()) {
            return Ok(Some(b));
        }
        let brief = transactions::brief(&self.inner.store.reader, id).await?;
        if let Some(b) = brief.as_ref().filter(|b| !b.stopped) {
            self.remember_start(id, station_id, None, None);
            self.hold_brief(id, b.clone());
        }
        Ok(brief)
    }

    /// Hold what a transaction just stored is (see [`Self::transaction_brief`]).
    pub(crate) fn hold_brief(&self, id: i64, brief: transactions::Brief) {
        if let Some(t) = self.running().by_id.get_mut(&id) {
            t.brief = Some(brief);
        }
    }

    /// Keep what is held of transaction `id` in step with the progress stored of it.
    pub(crate) fn note_progress(&self, id: i64, p: &transactions::Progress) {
        if let Some(b) = self
            .running()
            .by_id
            .get_mut(&id)
            .and_then(|t| t.brief.as_mut())
        {
            if let Some((tag, ..)) = &p.token {
                b.id_tag = tag.clone();
            }
            if let Some(c) = &p.charging_state {
                b.charging_state = Some(c.clone());
            }
            b.remote_start_id = p.remote_start_id.or(b.remote_start_id);
        }
    }

    /// A transaction that has just been stored: none of its events' samples are (no need to
    /// read which).
    pub(crate) fn no_events_stored(&self, id: i64) {
        if let Some(t) = self.running().by_id.get_mut(&id) {
            t.seqs.get_or_insert_with(SeqSet::default);
        }
    }

    /// Give back a seqNo claimed for an event that could not be stored (it will be sent again).
    pub(crate) fn release_seq(&self, id: i64, seq: i64) {
        if let Some(s) = self
            .running()
            .by_id
            .get_mut(&id)
            .and_then(|t| t.seqs.as_mut())
        {
            s.remove(seq);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seq_numbers_are_kept_as_ranges_in_any_order_with_gaps() {
        let mut s = SeqSet::default();
        for n in [0, 1, 2, 5, 4, 9] {
            assert!(s.insert(n), "{n} is new");
        }
        assert_eq!(s.0, vec![(0, 2), (4, 5), (9, 9)]);
        for n in [0, 2, 4, 9] {
            assert!(!s.insert(n), "{n} was seen");
        }
        assert!(s.insert(3), "the gap filled");
        assert_eq!(s.0, vec![(0, 5), (9, 9)]);
        s.remove(3);
        assert_eq!(s.0, vec![(0, 2), (4, 5), (9, 9)]);
        s.remove(9);
        s.remove(0);
        assert_eq!(s.0, vec![(1, 2), (4, 5)]);
        assert!(s.insert(0));
        assert_eq!(SeqSet::from_sorted([3, 4, 5, 7]).0, vec![(3, 5), (7, 7)]);
    }
}
