-- A schema that speaks of stations, EVSEs, connectors, tokens and transactions rather than of one
-- OCPP version, made before any OCPP 2.0.1 row exists (issue 22).
--
-- The unit that charges one car at a time is the EVSE: 1.6 calls it a connector (connectorId),
-- 2.0.1 an EVSE (evseId), which has connectors of its own. So the column that held the 1.6
-- connectorId is now `evse_id` everywhere (a rename: no row is rewritten), and `connector_id`,
-- where it exists, is the connector on the EVSE (2.x only; NULL for 1.6).

-- ---- Transactions -------------------------------------------------------------------------------
-- Rebuilt, to add the charger's own transaction id as the key a station's messages use (1.6: the
-- integer we issued, which is also our id; 2.0.1: the station's string, unique per station), the
-- protocol, the token's type, and a meterStart that may be unknown (a 2.0.1 station need not
-- send a reading when a transaction starts: it is then taken from its first reading).
CREATE TABLE transactions_v2 (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    station_id          TEXT NOT NULL,
    evse_id             INTEGER NOT NULL,
    connector_id        INTEGER,
    protocol            TEXT NOT NULL DEFAULT 'ocpp1.6',
    charger_tx_id       TEXT NOT NULL,
    id_tag              TEXT NOT NULL,
    -- 2.x IdTokenEnumType (ISO14443, Central, …); NULL for 1.6 idTags.
    id_token_type       TEXT,
    start_ts            TEXT NOT NULL,
    meter_start         INTEGER,
    reservation_id      INTEGER,
    -- 2.x: the remoteStartId of the RequestStartTransaction that led to it.
    remote_start_id     INTEGER,
    -- The authorization status the start was answered with.
    start_auth_status   TEXT NOT NULL,
    stop_ts             TEXT,
    meter_stop          INTEGER,
    stop_reason         TEXT,
    stop_id_tag         TEXT,
    received_at         TEXT NOT NULL,
    stop_received_at    TEXT,
    tariff_version_id   INTEGER REFERENCES tariff_versions (id),
    cost                TEXT,
    cost_zone           TEXT,
    cost_rev            INTEGER NOT NULL DEFAULT 0,
    closed_by           TEXT,
    close_note          TEXT,
    -- 2.x: the charging state the station last reported (Charging, EVConnected, SuspendedEV, …).
    charging_state      TEXT,
    UNIQUE (station_id, charger_tx_id)
);
INSERT INTO transactions_v2 (id, station_id, evse_id, connector_id, protocol, charger_tx_id, id_tag,
    id_token_type, start_ts, meter_start, reservation_id, remote_start_id, start_auth_status,
    stop_ts, meter_stop, stop_reason, stop_id_tag, received_at, stop_received_at,
    tariff_version_id, cost, cost_zone, cost_rev, closed_by, close_note, charging_state)
SELECT id, station_id, connector_id, NULL, 'ocpp1.6', CAST(id AS TEXT), id_tag, NULL, start_ts,
    meter_start, reservation_id, NULL, start_auth_status, stop_ts, meter_stop, stop_reason,
    stop_id_tag, received_at, stop_received_at, tariff_version_id, cost, cost_zone, cost_rev,
    closed_by, close_note, NULL
FROM transactions;
-- Ids are never reused: the new table continues the old one's sequence.
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'transactions_v2', seq FROM sqlite_sequence WHERE name = 'transactions'
    AND NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'transactions_v2');
UPDATE sqlite_sequence SET seq = max(seq,
    coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'transactions'), 0))
    WHERE name = 'transactions_v2';
DROP TABLE transactions;
ALTER TABLE transactions_v2 RENAME TO transactions;

-- A 1.6 StartTransaction sent again (after a reconnect) is the same transaction.
CREATE UNIQUE INDEX transactions_retried_start
    ON transactions (station_id, evse_id, id_tag, start_ts, meter_start) WHERE protocol = 'ocpp1.6';
CREATE INDEX transactions_station ON transactions (station_id, start_ts);
CREATE INDEX transactions_tag ON transactions (id_tag, start_ts);
CREATE INDEX transactions_start ON transactions (start_ts);
CREATE INDEX transactions_connector_stop ON transactions (station_id, evse_id, stop_ts);
CREATE INDEX transactions_stop ON transactions (stop_ts);
CREATE INDEX transactions_unpriced ON transactions (stop_ts) WHERE cost_zone IS NULL;
CREATE INDEX transactions_open ON transactions (station_id, evse_id) WHERE stop_ts IS NULL;

-- ---- Connectors and their statuses --------------------------------------------------------------
-- `state` is the normalised state the console and billing read (Available, Occupied, Charging,
-- SuspendedEV, …); NULL where it is the status as reported (every 1.6 row so far).
ALTER TABLE connectors RENAME COLUMN connector_id TO evse_id;
ALTER TABLE connectors ADD COLUMN connector_id INTEGER;
ALTER TABLE connectors ADD COLUMN state TEXT;
ALTER TABLE status_history RENAME COLUMN connector_id TO evse_id;
ALTER TABLE status_history ADD COLUMN connector_id INTEGER;
ALTER TABLE status_history ADD COLUMN state TEXT;

-- ---- Meter samples ------------------------------------------------------------------------------
-- The EVSE they were measured on, and for 2.x the TransactionEvent's seqNo they came with (so an
-- event sent again is recognised after a restart and stored once).
ALTER TABLE meter_samples_log RENAME COLUMN connector_id TO evse_id;
ALTER TABLE meter_samples_log ADD COLUMN seq_no INTEGER;
DROP VIEW meter_samples;
CREATE VIEW meter_samples AS
    SELECT i.id, m.station_id, m.evse_id, i.transaction_id, i.timestamp, m.measurand,
            m.phase, m.location, m.context, m.format, m.unit, m.raw_value, m.value,
            m.value_unit, m.received_at, m.seq_no
        FROM meter_samples_by_transaction i CROSS JOIN meter_samples_log m ON m.id = i.id
    UNION ALL
    SELECT i.id, i.station_id, m.evse_id, NULL, i.timestamp, m.measurand,
            m.phase, m.location, m.context, m.format, m.unit, m.raw_value, m.value,
            m.value_unit, m.received_at, m.seq_no
        FROM meter_samples_unlinked i CROSS JOIN meter_samples_log m ON m.id = i.id
    UNION ALL
    SELECT id, station_id, evse_id, transaction_id, timestamp, measurand, phase, location,
            context, format, unit, raw_value, value, value_unit, received_at, seq_no
        FROM meter_samples_log WHERE id > (SELECT meter_samples FROM folded);

-- ---- Tokens, stations, configuration ------------------------------------------------------------
-- The 2.x IdTokenEnumType a tag is presented as (ISO14443, KeyCode, …); NULL: any.
ALTER TABLE id_tags ADD COLUMN token_type TEXT;
-- Which versions a station may use (comma separated subprotocols); NULL: every one spoken.
ALTER TABLE stations ADD COLUMN enabled_protocols TEXT;
-- The version a snapshot's configuration was read with: 1.6 keys, or 2.x component/variable/
-- attribute rows (in `keys`, as JSON).
ALTER TABLE config_snapshots ADD COLUMN protocol TEXT NOT NULL DEFAULT 'ocpp1.6';
