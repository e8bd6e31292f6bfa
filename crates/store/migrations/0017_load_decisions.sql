-- Load management (issue 24): every limit the central system decided for a charger, and how
-- the charger answered, so an operator can see who got what and why, per station and session.
CREATE TABLE load_decisions (
    id             INTEGER PRIMARY KEY,
    at             TEXT NOT NULL,
    station_id     TEXT NOT NULL,
    -- The EVSE (1.6: connector) it applies to; 0: the whole station.
    evse_id        INTEGER NOT NULL,
    -- Our id of the session, for a transaction's own limit.
    transaction_id INTEGER,
    -- StationMax (the failsafe), TxDefault or Tx.
    purpose        TEXT NOT NULL,
    -- A per phase; 0: paused.
    amps           REAL NOT NULL,
    reason         TEXT NOT NULL,
    -- Accepted, Rejected, NotSupported, or what went wrong sending it.
    answer         TEXT NOT NULL
);
CREATE INDEX load_decisions_by_station ON load_decisions (station_id, id);
CREATE INDEX load_decisions_by_transaction ON load_decisions (transaction_id)
    WHERE transaction_id IS NOT NULL;
