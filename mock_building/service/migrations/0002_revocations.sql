-- Schema 2: grants can be revoked, and every revocation keeps its stated reason.
ALTER TABLE grants ADD COLUMN revoked_at TEXT;
CREATE TABLE revocations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_id TEXT NOT NULL,
    reason TEXT NOT NULL
);
