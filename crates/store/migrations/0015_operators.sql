-- Operator accounts for the console beyond loopback (issue 25): a name, a role, an argon2 hash
-- of the password; and their login sessions, kept as the SHA-256 of the cookie's token so that
-- reading the database does not log anyone in.
CREATE TABLE operators (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT NOT NULL UNIQUE COLLATE NOCASE,
    -- manager | technician | read_only
    role          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at    TEXT NOT NULL
);

CREATE TABLE operator_sessions (
    token_sha256  TEXT PRIMARY KEY,
    operator_id   INTEGER NOT NULL REFERENCES operators (id) ON DELETE CASCADE,
    created_at    TEXT NOT NULL,
    expires_at    TEXT NOT NULL
);
CREATE INDEX operator_sessions_by_operator ON operator_sessions (operator_id);
