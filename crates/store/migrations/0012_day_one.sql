-- What the console needs on day one (issue 23, part 1).

-- A session the central system closed itself: who closed it ('system' or the operator's name)
-- and why. A stop the charger sends later replaces the closing values with its own.
ALTER TABLE transactions ADD COLUMN closed_by TEXT;
ALTER TABLE transactions ADD COLUMN close_note TEXT;
-- Running sessions per connector (the one running session of a connector is looked up at every
-- start and status change).
CREATE INDEX transactions_open ON transactions (station_id, connector_id) WHERE stop_ts IS NULL;

-- Connections refused at the handshake (a wrong or missing password, an unsupported
-- subprotocol): how many, the last one and why, so a locked-out charger is not just "offline".
ALTER TABLE stations ADD COLUMN refused_connections INTEGER NOT NULL DEFAULT 0;
ALTER TABLE stations ADD COLUMN last_refused_at TEXT;
ALTER TABLE stations ADD COLUMN last_refused_reason TEXT;

-- The demo's tariff goes with the demo. A database made before this marks the tariff the demo
-- created, as long as nobody has edited it (one version, its original name).
ALTER TABLE tariffs ADD COLUMN demo INTEGER NOT NULL DEFAULT 0;
UPDATE tariffs SET demo = 1 WHERE name = 'Demo depot'
    AND (SELECT COUNT(*) FROM tariff_versions v WHERE v.tariff_id = tariffs.id) = 1;
