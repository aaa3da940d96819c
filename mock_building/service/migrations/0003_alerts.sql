-- Schema 3: alerts a building cannot miss, each with its evidence; deliveries keep the handheld's
-- claimed time apart from the time the service accepted.
CREATE TABLE alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,            -- a ReasonCode slug (receipt_gap, chain_fork, door_forced, ...)
    severity TEXT NOT NULL,
    building_id TEXT NOT NULL REFERENCES buildings(id),
    door_id TEXT,
    grant_id TEXT,
    carrier_id TEXT,
    event_time TEXT,               -- when it happened as the evidence says (e.g. the door's time)
    raised_at TEXT NOT NULL,       -- the service's clock
    evidence TEXT NOT NULL,        -- JSON object
    dedup_key TEXT NOT NULL UNIQUE,
    acknowledged_at TEXT,
    acknowledged_by TEXT,
    acknowledgement_note TEXT
);
CREATE INDEX alerts_by_building ON alerts(building_id, id);
CREATE TABLE receipt_gaps (       -- a door's missing receipts, kept current by every upload
    door_id TEXT NOT NULL REFERENCES doors(id),
    first_seq INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    open_since TEXT NOT NULL,      -- when the service first knew receipts were missing here
    PRIMARY KEY (door_id, first_seq)
);
CREATE INDEX receipt_gaps_by_age ON receipt_gaps(open_since);
CREATE TABLE alert_sweeps (
    name TEXT PRIMARY KEY,
    watermark TEXT NOT NULL
);
CREATE INDEX receipts_by_grant ON receipts(grant_id);
CREATE INDEX grants_by_expiry ON grants(expires_at);
ALTER TABLE deliveries ADD COLUMN claimed_delivered_at TEXT;
