-- iCal feeds, imported blocks, conflicts, export tokens (issue 4).
-- One statement per `;`-terminated line block (see 0001).

-- The export token's version per accommodation (no row = version 0): rotating bumps it, and
-- the HMAC covers it, so old URLs stop working.
CREATE TABLE IF NOT EXISTS ical_export_tokens (
    accommodation_id INTEGER PRIMARY KEY REFERENCES accommodations (id),
    version INTEGER NOT NULL CHECK (version >= 0),
    rotated_at TEXT NOT NULL
);

-- Calendar feeds the periodic job pulls. AUTOINCREMENT: a deleted feed's id is never reused,
-- so its conflict history never points at another feed.
CREATE TABLE IF NOT EXISTS ical_feeds (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    accommodation_id INTEGER NOT NULL REFERENCES accommodations (id),
    platform TEXT NOT NULL,
    url TEXT NOT NULL,
    label TEXT,
    etag TEXT,
    last_modified TEXT,
    last_attempt_at TEXT,
    last_success_at TEXT,
    last_error TEXT,
    last_error_at TEXT,
    events INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);

CREATE INDEX IF NOT EXISTS ical_feeds_by_accommodation ON ical_feeds (accommodation_id);

-- The last snapshot of each source: one row per (accommodation, source, UID). `source` is
-- `feed:<id>` for a configured feed or `import:<platform>` for bodies posted to the import
-- endpoint. `complete` is 1 when the event's blocks hold every one of its nights.
CREATE TABLE IF NOT EXISTS ical_events (
    id INTEGER PRIMARY KEY,
    accommodation_id INTEGER NOT NULL REFERENCES accommodations (id),
    source TEXT NOT NULL,
    feed_id INTEGER,
    platform TEXT NOT NULL,
    uid TEXT NOT NULL,
    check_in TEXT NOT NULL,
    check_out TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('reserved', 'unavailable')),
    complete INTEGER NOT NULL DEFAULT 0 CHECK (complete IN (0, 1)),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (accommodation_id, source, uid),
    CHECK (check_out > check_in)
);

-- The reservations (channel `ical`, status `blocked`) that hold an event's free nights: one
-- per contiguous run of nights, usually exactly one.
CREATE TABLE IF NOT EXISTS ical_blocks (
    reservation_id INTEGER PRIMARY KEY REFERENCES reservations (id),
    event_id INTEGER NOT NULL REFERENCES ical_events (id)
);

CREATE INDEX IF NOT EXISTS ical_blocks_by_event ON ical_blocks (event_id);

-- Clashes between an imported event and one of our own holds or confirmed stays. At most one
-- open row per (event, our reservation); it closes itself when a later sync no longer sees it.
CREATE TABLE IF NOT EXISTS ical_conflicts (
    id INTEGER PRIMARY KEY,
    accommodation_id INTEGER NOT NULL REFERENCES accommodations (id),
    source TEXT NOT NULL,
    feed_id INTEGER,
    platform TEXT NOT NULL,
    uid TEXT NOT NULL,
    check_in TEXT NOT NULL,
    check_out TEXT NOT NULL,
    reservation_id INTEGER NOT NULL REFERENCES reservations (id),
    reservation_code TEXT NOT NULL,
    likely_echo INTEGER NOT NULL DEFAULT 0 CHECK (likely_echo IN (0, 1)),
    status TEXT NOT NULL CHECK (status IN ('open', 'resolved')),
    detected_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    resolved_at TEXT,
    resolution TEXT
);

CREATE UNIQUE INDEX IF NOT EXISTS ical_conflicts_open ON ical_conflicts (accommodation_id, source, uid, reservation_id) WHERE status = 'open';

CREATE INDEX IF NOT EXISTS ical_conflicts_by_status ON ical_conflicts (status, id);
