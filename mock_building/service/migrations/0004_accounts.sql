-- Schema 4: accounts as a bank would run them, and idempotent grants.
-- Sign-in throttling: one row per throttled key ("driver:<id>" or "client:<address>").
CREATE TABLE sign_in_throttle (
    key TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    last_failure_epoch REAL NOT NULL,
    blocked_until_epoch REAL NOT NULL
);
-- A token family is one sign-in and every refresh that descends from it (RFC 9700 §4.14.2).
CREATE TABLE session_families (
    id TEXT PRIMARY KEY,
    driver_id TEXT NOT NULL REFERENCES drivers(id),
    created_at TEXT NOT NULL,
    ended_at TEXT,
    end_reason TEXT
);
ALTER TABLE sessions ADD COLUMN family_id TEXT REFERENCES session_families(id);
-- A used refresh token is kept (hashed) until it would have expired, so its reuse is recognised.
ALTER TABLE sessions ADD COLUMN refresh_used_at TEXT;
CREATE INDEX sessions_by_family ON sessions(family_id);
CREATE INDEX handhelds_by_driver ON handhelds(driver_id, registered_at);
-- POST /v1/grants with an Idempotency-Key: the first answer, replayed for the same key and body.
CREATE TABLE grant_requests (
    driver_id TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    body_hash BLOB NOT NULL,
    grant_id TEXT NOT NULL REFERENCES grants(id),
    token BLOB NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (driver_id, idempotency_key)
);
