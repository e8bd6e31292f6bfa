-- The technician's toolkit.

-- The message inspector pairs each CALL with its answer by message id.
CREATE INDEX frames_message ON frames (station_id, message_id);

-- Saved configurations of a station, to compare later or with another station.
CREATE TABLE config_snapshots (
    id                  INTEGER PRIMARY KEY,
    station_id          TEXT NOT NULL,
    name                TEXT NOT NULL,
    taken_at            TEXT NOT NULL,
    -- JSON [{"key", "value", "readonly"}] as the station reported them.
    keys                TEXT NOT NULL,
    -- JSON ["key"]: keys asked for that the station did not know.
    unknown             TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX config_snapshots_station ON config_snapshots (station_id, id);

-- Files exchanged with a station over the laptop's transfer endpoint: diagnostics it uploads,
-- firmware it downloads. One row per job; the endpoint serves only that job's random path.
CREATE TABLE transfers (
    id                  INTEGER PRIMARY KEY,
    station_id          TEXT NOT NULL,
    -- diagnostics | firmware
    kind                TEXT NOT NULL,
    -- offered | transferred | expired | failed
    state               TEXT NOT NULL,
    url                 TEXT NOT NULL,
    -- Firmware: the file offered. Diagnostics: the file received (NULL until then).
    file_name           TEXT,
    path                TEXT,
    bytes               INTEGER,
    sha256              TEXT,
    created_at          TEXT NOT NULL,
    expires_at          TEXT NOT NULL,
    finished_at         TEXT,
    detail              TEXT
);
CREATE INDEX transfers_station ON transfers (station_id, id);
