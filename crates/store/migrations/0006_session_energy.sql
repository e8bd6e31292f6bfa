-- Energy per UTC hour of each stopped session (Wh), written with its stored cost from the same
-- readings: load and energy charts sum these instead of every meter sample of a year.
CREATE TABLE session_energy (
    transaction_id      INTEGER NOT NULL,
    station_id          TEXT NOT NULL,
    -- 'YYYY-MM-DDTHH' (UTC)
    hour                TEXT NOT NULL,
    wh                  INTEGER NOT NULL,
    PRIMARY KEY (transaction_id, hour)
);
CREATE INDEX session_energy_hour ON session_energy (hour, station_id, wh);
-- Sessions whose energy per hour is not stored yet: running ones, and stopped ones not priced
-- since their last data.
CREATE INDEX transactions_unpriced ON transactions (stop_ts) WHERE cost_zone IS NULL;
