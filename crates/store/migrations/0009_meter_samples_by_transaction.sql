-- A station's meter samples are reached through its transactions (meter_samples_tx) plus a
-- partial index for samples outside any transaction, instead of a second per-station index on
-- every sample: that index cost about a fifth of the throughput of acknowledged MeterValues
-- (a leaf page per station dirtied by every group commit; docs/PERFORMANCE.md).
--
-- For that to find every sample, a sample names a transaction only if it is one of its
-- station's; samples naming any other id are kept unlinked (the engine does so from now on and
-- records an unknown_transaction quirk).
UPDATE meter_samples SET transaction_id = NULL
WHERE transaction_id IS NOT NULL AND NOT EXISTS (
    SELECT 1 FROM transactions t
    WHERE t.id = meter_samples.transaction_id AND t.station_id = meter_samples.station_id);
DROP INDEX meter_samples_station;
CREATE INDEX meter_samples_idle ON meter_samples (station_id, timestamp)
    WHERE transaction_id IS NULL;
