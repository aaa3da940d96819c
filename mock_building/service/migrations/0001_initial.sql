-- LobbyKey access service, schema 1. Times are ISO-8601 UTC text unless named *_epoch (seconds).
CREATE TABLE carriers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    kid TEXT NOT NULL UNIQUE,
    public_key BLOB NOT NULL
);
CREATE TABLE buildings (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    address TEXT NOT NULL,
    manager_token_hash BLOB
);
CREATE TABLE building_carriers (
    building_id TEXT NOT NULL REFERENCES buildings(id),
    carrier_id TEXT NOT NULL REFERENCES carriers(id),
    PRIMARY KEY (building_id, carrier_id)
);
CREATE TABLE doors (
    id TEXT PRIMARY KEY,
    building_id TEXT NOT NULL REFERENCES buildings(id),
    name TEXT NOT NULL,
    public_key BLOB NOT NULL
);
CREATE TABLE drivers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    carrier_id TEXT NOT NULL REFERENCES carriers(id),
    password_hash TEXT NOT NULL,
    revoked_at TEXT
);
CREATE TABLE handhelds (
    key_id TEXT PRIMARY KEY,
    driver_id TEXT NOT NULL REFERENCES drivers(id),
    public_key BLOB NOT NULL,
    registered_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE TABLE sessions (
    access_hash BLOB PRIMARY KEY,
    refresh_hash BLOB NOT NULL UNIQUE,
    driver_id TEXT NOT NULL REFERENCES drivers(id),
    access_expires_epoch REAL NOT NULL,
    refresh_expires_epoch REAL NOT NULL
);
CREATE INDEX sessions_by_driver ON sessions(driver_id);
CREATE TABLE routes (
    id TEXT PRIMARY KEY,
    driver_id TEXT NOT NULL REFERENCES drivers(id),
    day TEXT NOT NULL,
    UNIQUE (driver_id, day)
);
CREATE TABLE stops (
    route_id TEXT NOT NULL REFERENCES routes(id),
    id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    building_id TEXT NOT NULL REFERENCES buildings(id),
    address TEXT NOT NULL,
    window_start TEXT,
    window_end TEXT,
    completed_at TEXT,
    PRIMARY KEY (route_id, id)
);
CREATE TABLE packages (
    route_id TEXT NOT NULL,
    id TEXT NOT NULL,
    stop_id TEXT NOT NULL,
    barcode TEXT NOT NULL,
    unit TEXT,
    delivered_at TEXT,
    PRIMARY KEY (route_id, id),
    FOREIGN KEY (route_id, stop_id) REFERENCES stops(route_id, id)
);
CREATE TABLE grants (
    id TEXT PRIMARY KEY,
    driver_id TEXT NOT NULL,
    carrier_id TEXT NOT NULL,
    handheld_key_id TEXT NOT NULL,
    route_id TEXT NOT NULL,
    stop_id TEXT NOT NULL,
    door_id TEXT NOT NULL,
    package_id TEXT NOT NULL,
    issued_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE TABLE receipts (
    door_id TEXT NOT NULL REFERENCES doors(id),
    seq INTEGER NOT NULL,
    digest BLOB NOT NULL,
    prev_digest BLOB NOT NULL,
    grant_id TEXT,
    outcome TEXT NOT NULL,
    reason TEXT NOT NULL,
    door_time TEXT NOT NULL,
    raw BLOB NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (door_id, seq)
);
CREATE TABLE deliveries (
    id TEXT PRIMARY KEY,
    driver_id TEXT NOT NULL,
    route_id TEXT NOT NULL,
    stop_id TEXT NOT NULL,
    package_ids TEXT NOT NULL,
    grant_id TEXT,
    delivered_at TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);
CREATE TABLE audit_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    building_id TEXT,
    door_id TEXT,
    stop_id TEXT,
    carrier_id TEXT,
    driver_ref TEXT,
    outcome TEXT NOT NULL,
    reason TEXT NOT NULL,
    grant_id TEXT
);
CREATE INDEX audit_by_building ON audit_events(building_id, id);
