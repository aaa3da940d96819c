-- Schema 3: signed maintenance statements queued per door for any phone to relay (SPEC section 14).
CREATE TABLE door_statements (
    door_id TEXT NOT NULL REFERENCES doors(id),
    counter INTEGER NOT NULL,
    kind INTEGER NOT NULL,
    value INTEGER,
    raw BLOB,
    created_at TEXT NOT NULL,
    PRIMARY KEY (door_id, counter)
);
-- Revocations already turned into statements for a door (so each is sent once per door).
CREATE TABLE door_revocations_sent (
    door_id TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_id TEXT NOT NULL,
    PRIMARY KEY (door_id, target_kind, target_id)
);
-- A carrier's current grant-signing key after a rotation (mock-grade: the private key is stored).
CREATE TABLE carrier_keys (
    carrier_id TEXT PRIMARY KEY REFERENCES carriers(id),
    kid TEXT NOT NULL,
    private_key BLOB NOT NULL,
    created_at TEXT NOT NULL
);
