-- The final cost of a stopped session as the cost engine priced it (JSON of
-- chargeyard_billing::Cost) and the time zone it was priced in, so invoices of many sessions need
-- not price each again. Data arriving late for a stopped session (its meter values, or a status of
-- its connector from before its stop) clears the cost and bumps cost_rev; a cost is only stored
-- for the cost_rev it was priced from.
ALTER TABLE transactions ADD COLUMN cost TEXT;
ALTER TABLE transactions ADD COLUMN cost_zone TEXT;
ALTER TABLE transactions ADD COLUMN cost_rev INTEGER NOT NULL DEFAULT 0;
CREATE INDEX transactions_connector_stop ON transactions (station_id, connector_id, stop_ts);
CREATE INDEX transactions_stop ON transactions (stop_ts);
-- Statuses are looked up by the time they carry (the receive time when they carry none).
DROP INDEX status_history_connector;
CREATE INDEX status_history_connector_at
    ON status_history (station_id, connector_id, COALESCE(timestamp, received_at));
