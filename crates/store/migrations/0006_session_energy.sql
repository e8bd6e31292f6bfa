-- Energy per UTC hour of each stopped session (Wh), written with its stored cost from the same
-- readings: load and energy charts sum these instead of every meter sample of a year.
CREATE TABLE session_energy (
    transaction_id      INTEGER NOT NULL,
    station_id          TEXT NOT NULL,
    -- Hours since 1970-01-01T00:00Z.
    hour                INTEGER NOT NULL,
    wh                  INTEGER NOT NULL,
    PRIMARY KEY (transaction_id, hour)
);
CREATE INDEX session_energy_hour ON session_energy (hour, station_id, wh);
-- The same per station and UTC day, kept in step with session_energy: charts over months and
-- years read a row per station and day.
CREATE TABLE station_energy_daily (
    station_id          TEXT NOT NULL,
    -- Days since 1970-01-01.
    day                 INTEGER NOT NULL,
    wh                  INTEGER NOT NULL,
    PRIMARY KEY (day, station_id)
) WITHOUT ROWID;
-- Sessions whose energy per hour is not stored yet: running ones, and stopped ones not priced
-- since their last data.
CREATE INDEX transactions_unpriced ON transactions (stop_ts) WHERE cost_zone IS NULL;
