-- Chargeyard schema v1. Times are UTC text 'YYYY-MM-DDTHH:MM:SS.mmmZ' (sortable).

CREATE TABLE stations (
    id                  TEXT PRIMARY KEY,
    -- pending | accepted | rejected: unknown stations are never silently admitted.
    registration        TEXT NOT NULL DEFAULT 'pending',
    -- 'sha256$<salt hex>$<digest hex>' or NULL for no Basic auth.
    password_hash       TEXT,
    -- Version used when a charger offers no subprotocol.
    fallback_protocol   TEXT NOT NULL DEFAULT 'ocpp1.6',
    vendor              TEXT,
    model               TEXT,
    serial_number       TEXT,
    charge_box_serial   TEXT,
    firmware_version    TEXT,
    iccid               TEXT,
    imsi                TEXT,
    meter_type          TEXT,
    meter_serial        TEXT,
    protocol            TEXT,
    offered_protocols   TEXT,
    remote_addr         TEXT,
    boot_attempts       INTEGER NOT NULL DEFAULT 0,
    diagnostics_status  TEXT,
    firmware_status     TEXT,
    first_seen          TEXT,
    last_seen           TEXT,
    last_boot           TEXT,
    created_at          TEXT NOT NULL
);

CREATE TABLE connectors (
    station_id          TEXT NOT NULL REFERENCES stations(id) ON DELETE CASCADE,
    connector_id        INTEGER NOT NULL,
    status              TEXT NOT NULL,
    error_code          TEXT NOT NULL,
    info                TEXT,
    vendor_id           TEXT,
    vendor_error_code   TEXT,
    status_at           TEXT NOT NULL,
    PRIMARY KEY (station_id, connector_id)
);

CREATE TABLE status_history (
    id                  INTEGER PRIMARY KEY,
    station_id          TEXT NOT NULL,
    connector_id        INTEGER NOT NULL,
    status              TEXT NOT NULL,
    error_code          TEXT NOT NULL,
    info                TEXT,
    vendor_id           TEXT,
    vendor_error_code   TEXT,
    timestamp           TEXT,
    received_at         TEXT NOT NULL
);
CREATE INDEX status_history_station ON status_history (station_id, id);

CREATE TABLE id_tags (
    id_tag              TEXT PRIMARY KEY,
    status              TEXT NOT NULL DEFAULT 'Accepted',
    expiry              TEXT,
    parent_id_tag       TEXT,
    -- driver | vehicle | customer: who the tag belongs to, for tariffs and statements.
    group_kind          TEXT,
    group_name          TEXT,
    note                TEXT,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL
);

CREATE TABLE transactions (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    station_id          TEXT NOT NULL,
    connector_id        INTEGER NOT NULL,
    id_tag              TEXT NOT NULL,
    start_ts            TEXT NOT NULL,
    meter_start         INTEGER NOT NULL,
    reservation_id      INTEGER,
    -- idTagInfo.status we answered the StartTransaction with.
    start_auth_status   TEXT NOT NULL,
    stop_ts             TEXT,
    meter_stop          INTEGER,
    stop_reason         TEXT,
    stop_id_tag         TEXT,
    received_at         TEXT NOT NULL,
    stop_received_at    TEXT,
    -- A retried StartTransaction gets the same id.
    UNIQUE (station_id, connector_id, id_tag, start_ts, meter_start)
);
CREATE INDEX transactions_station ON transactions (station_id, start_ts);
CREATE INDEX transactions_tag ON transactions (id_tag, start_ts);
CREATE INDEX transactions_start ON transactions (start_ts);

CREATE TABLE meter_samples (
    id                  INTEGER PRIMARY KEY,
    station_id          TEXT NOT NULL,
    connector_id        INTEGER NOT NULL,
    transaction_id      INTEGER,
    timestamp           TEXT NOT NULL,
    measurand           TEXT NOT NULL,
    phase               TEXT,
    location            TEXT,
    context             TEXT,
    format              TEXT,
    unit                TEXT,
    raw_value           TEXT NOT NULL,
    -- Normalised: energy in Wh, power in W; NULL when the raw value is not a number.
    value               REAL,
    value_unit          TEXT,
    received_at         TEXT NOT NULL
);
CREATE INDEX meter_samples_tx ON meter_samples (transaction_id, timestamp);
CREATE INDEX meter_samples_station ON meter_samples (station_id, timestamp);

CREATE TABLE unmatched_stops (
    id                  INTEGER PRIMARY KEY,
    station_id          TEXT NOT NULL,
    transaction_id      INTEGER NOT NULL,
    id_tag              TEXT,
    meter_stop          INTEGER NOT NULL,
    timestamp           TEXT NOT NULL,
    reason              TEXT,
    received_at         TEXT NOT NULL
);

CREATE TABLE frames (
    id                  INTEGER PRIMARY KEY,
    station_id          TEXT NOT NULL,
    -- in: from the charger; out: to the charger.
    direction           TEXT NOT NULL,
    at                  TEXT NOT NULL,
    message_type        INTEGER,
    message_id          TEXT,
    action              TEXT,
    text                TEXT NOT NULL
);
CREATE INDEX frames_station ON frames (station_id, id);
CREATE INDEX frames_at ON frames (at);

CREATE TABLE commands (
    id                  INTEGER PRIMARY KEY,
    station_id          TEXT NOT NULL,
    action              TEXT NOT NULL,
    request             TEXT NOT NULL,
    actor               TEXT NOT NULL,
    sent_at             TEXT NOT NULL,
    finished_at         TEXT NOT NULL,
    -- result | callerror | timeout | offline | invalid
    outcome             TEXT NOT NULL,
    response            TEXT,
    error               TEXT
);
CREATE INDEX commands_station ON commands (station_id, id);

CREATE TABLE quirks (
    station_id          TEXT NOT NULL,
    kind                TEXT NOT NULL,
    count               INTEGER NOT NULL,
    first_seen          TEXT NOT NULL,
    last_seen           TEXT NOT NULL,
    example             TEXT NOT NULL,
    PRIMARY KEY (station_id, kind)
);

CREATE TABLE station_events (
    id                  INTEGER PRIMARY KEY,
    station_id          TEXT NOT NULL,
    -- data_transfer | diagnostics_status | firmware_status
    kind                TEXT NOT NULL,
    detail              TEXT NOT NULL,
    at                  TEXT NOT NULL
);
CREATE INDEX station_events_station ON station_events (station_id, id);

CREATE TABLE settings (
    key                 TEXT PRIMARY KEY,
    value               TEXT NOT NULL
);
