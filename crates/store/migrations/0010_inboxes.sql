-- The two tables every MeterValues writes to are split in two. New rows go into an inbox with no
-- index but its primary key, where each group commit appends to the last pages only; the writer
-- moves the inbox into the indexed table every quarter second (`writer::fold`). The per-station
-- and per-transaction indexes then get each station's rows since the last fold in one go,
-- instead of a leaf page per station dirtied by every group commit (docs/PERFORMANCE.md).
--
-- `frames` and `meter_samples` become views over both halves, so reads see every row. Only the
-- fold writes to the indexed tables; the inboxes number rows with AUTOINCREMENT, starting after
-- the rows already stored, so ids stay unique and increasing across both.
ALTER TABLE frames RENAME TO frames_indexed;
ALTER TABLE meter_samples RENAME TO meter_samples_indexed;

CREATE TABLE frames_inbox (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    station_id          TEXT NOT NULL,
    direction           TEXT NOT NULL,
    at                  TEXT NOT NULL,
    message_type        INTEGER,
    message_id          TEXT,
    action              TEXT,
    text                TEXT NOT NULL
);

CREATE TABLE meter_samples_inbox (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
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
    value               REAL,
    value_unit          TEXT,
    received_at         TEXT NOT NULL
);

INSERT INTO sqlite_sequence (name, seq)
    SELECT 'frames_inbox', coalesce(max(id), 0) FROM frames_indexed;
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'meter_samples_inbox', coalesce(max(id), 0) FROM meter_samples_indexed;

CREATE VIEW frames AS
    SELECT * FROM frames_indexed UNION ALL SELECT * FROM frames_inbox;
CREATE VIEW meter_samples AS
    SELECT * FROM meter_samples_indexed UNION ALL SELECT * FROM meter_samples_inbox;
