-- Frames and meter samples are written once, into logs that have no index but their primary
-- key, and stay there. The indexes the readers need are tables of their own (key columns and the
-- row's id, WITHOUT ROWID), which the writer's fold fills from the rows logged since the last
-- fold (`writer::fold`): it now copies a few key columns per row where before it copied every
-- row (a frame's whole text) from an inbox into an indexed table and emptied the inbox, about
-- half of the writer's time at saturation (docs/PERFORMANCE.md, item 11).
--
-- `folded` holds the last id of each log that the index tables cover. The views `frames` and
-- `meter_samples` read the covered rows through the index tables and the rest straight from the
-- log (a range of ids), so every row is seen exactly once. The logs number rows with
-- AUTOINCREMENT: an id is never reused, even after retention deletes the newest rows, so a new
-- row is always above the mark.
DROP VIEW frames;
DROP VIEW meter_samples;

ALTER TABLE frames_inbox RENAME TO frames_log;
INSERT INTO frames_log SELECT * FROM frames_indexed;
DROP TABLE frames_indexed;

ALTER TABLE meter_samples_inbox RENAME TO meter_samples_log;
INSERT INTO meter_samples_log SELECT * FROM meter_samples_indexed;
DROP TABLE meter_samples_indexed;

-- A station's frames in id order (the message inspector; pairing a CALL with its answer).
CREATE TABLE frames_by_station (
    station_id          TEXT NOT NULL,
    id                  INTEGER NOT NULL,
    PRIMARY KEY (station_id, id)
) WITHOUT ROWID;

-- A transaction's samples in time order (charts, costs, the latest reading of a session).
CREATE TABLE meter_samples_by_transaction (
    transaction_id      INTEGER NOT NULL,
    timestamp           TEXT NOT NULL,
    id                  INTEGER NOT NULL,
    PRIMARY KEY (transaction_id, timestamp, id)
) WITHOUT ROWID;

-- A station's samples that belong to no transaction, in time order (migration 0009: a
-- station's other samples are reached through its transactions).
CREATE TABLE meter_samples_unlinked (
    station_id          TEXT NOT NULL,
    timestamp           TEXT NOT NULL,
    id                  INTEGER NOT NULL,
    PRIMARY KEY (station_id, timestamp, id)
) WITHOUT ROWID;

CREATE TABLE folded (
    one                 INTEGER PRIMARY KEY CHECK (one = 1),
    frames              INTEGER NOT NULL,
    meter_samples       INTEGER NOT NULL
);

INSERT INTO frames_by_station SELECT station_id, id FROM frames_log ORDER BY station_id, id;
INSERT INTO meter_samples_by_transaction
    SELECT transaction_id, timestamp, id FROM meter_samples_log WHERE transaction_id IS NOT NULL
    ORDER BY transaction_id, timestamp, id;
INSERT INTO meter_samples_unlinked
    SELECT station_id, timestamp, id FROM meter_samples_log WHERE transaction_id IS NULL
    ORDER BY station_id, timestamp, id;
INSERT INTO folded (one, frames, meter_samples) VALUES (
    1,
    coalesce((SELECT max(id) FROM frames_log), 0),
    coalesce((SELECT max(id) FROM meter_samples_log), 0));

-- The index arms name the index table first and CROSS JOIN the log, so SQLite walks the index
-- and looks each row up by id (a condition on station or transaction lands on the index).
CREATE VIEW frames AS
    SELECT i.id, i.station_id, f.direction, f.at, f.message_type, f.message_id, f.action, f.text
        FROM frames_by_station i CROSS JOIN frames_log f ON f.id = i.id
    UNION ALL
    SELECT * FROM frames_log WHERE id > (SELECT frames FROM folded);

CREATE VIEW meter_samples AS
    SELECT i.id, m.station_id, m.connector_id, i.transaction_id, i.timestamp, m.measurand,
            m.phase, m.location, m.context, m.format, m.unit, m.raw_value, m.value,
            m.value_unit, m.received_at
        FROM meter_samples_by_transaction i CROSS JOIN meter_samples_log m ON m.id = i.id
    UNION ALL
    SELECT i.id, i.station_id, m.connector_id, NULL, i.timestamp, m.measurand,
            m.phase, m.location, m.context, m.format, m.unit, m.raw_value, m.value,
            m.value_unit, m.received_at
        FROM meter_samples_unlinked i CROSS JOIN meter_samples_log m ON m.id = i.id
    UNION ALL
    SELECT * FROM meter_samples_log WHERE id > (SELECT meter_samples FROM folded);

-- Every frame's station and id, without the frame: what walking a station's frames by id needs
-- (the reach of a partner lookup), read from the index table alone.
CREATE VIEW frame_ids AS
    SELECT station_id, id FROM frames_by_station
    UNION ALL
    SELECT station_id, id FROM frames_log WHERE id > (SELECT frames FROM folded);
