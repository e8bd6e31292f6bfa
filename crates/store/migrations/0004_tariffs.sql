-- Tariffs are versioned: editing one adds a version, and each session keeps the version it was
-- priced with, so past invoices never change.
CREATE TABLE tariffs (
    id                  INTEGER PRIMARY KEY,
    name                TEXT NOT NULL UNIQUE,
    created_at          TEXT NOT NULL
);
CREATE TABLE tariff_versions (
    id                  INTEGER PRIMARY KEY,
    tariff_id           INTEGER NOT NULL REFERENCES tariffs (id),
    version             INTEGER NOT NULL,
    -- The tariff as JSON (chargeyard_billing::Tariff).
    definition          TEXT NOT NULL,
    created_at          TEXT NOT NULL,
    UNIQUE (tariff_id, version)
);
-- Which tariff applies: the tag's group ('group', target 'kind:name', e.g. 'customer:Acme AB')
-- before the station's ('station', target the station id) before the default ('default', '').
CREATE TABLE tariff_assignments (
    scope               TEXT NOT NULL CHECK (scope IN ('group', 'station', 'default')),
    target              TEXT NOT NULL DEFAULT '',
    tariff_id           INTEGER NOT NULL REFERENCES tariffs (id),
    PRIMARY KEY (scope, target)
);
ALTER TABLE transactions ADD COLUMN tariff_version_id INTEGER REFERENCES tariff_versions (id);
CREATE INDEX status_history_connector ON status_history (station_id, connector_id, timestamp);
