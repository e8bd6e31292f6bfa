-- The OCPP security profile each station must connect with (issue 25): below 2, plain ws:// is
-- allowed (with its password, if it has one: profile 1); 2 requires TLS and the password; 3 TLS
-- with a client certificate issued to the station.
ALTER TABLE stations ADD COLUMN security_profile INTEGER NOT NULL DEFAULT 0;
