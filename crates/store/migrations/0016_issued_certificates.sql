-- Client certificates the depot's CA issued to stations (issue 25), so that the certificate of a
-- station the operator rejects or removes stops working: its serial is revoked and refused at
-- the handshake. Kept after the station is removed.
CREATE TABLE issued_certificates (
    -- Hex, colon-separated, as the certificate summary shows it.
    serial        TEXT PRIMARY KEY,
    station_id    TEXT NOT NULL,
    subject       TEXT NOT NULL,
    not_after     TEXT NOT NULL,
    issued_at     TEXT NOT NULL,
    revoked_at    TEXT,
    revoked_why   TEXT
);
CREATE INDEX issued_certificates_by_station ON issued_certificates (station_id);
