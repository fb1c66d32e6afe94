-- Booking core: accommodations, reservations, the night-slot table that makes double
-- booking impossible, and stored metric counters.
-- One statement per `;`-terminated block: Spin's sqlite runs only the first statement of a
-- string, so the migrator splits on the `;` that ends a line.

CREATE TABLE IF NOT EXISTS accommodations (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    capacity INTEGER NOT NULL CHECK (capacity >= 1),
    base_price_cents INTEGER NOT NULL CHECK (base_price_cents >= 0),
    weekend_multiplier_bp INTEGER NOT NULL DEFAULT 12000 CHECK (weekend_multiplier_bp > 0),
    deposit_percent INTEGER NOT NULL DEFAULT 30 CHECK (deposit_percent BETWEEN 0 AND 100),
    active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS reservations (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    accommodation_id INTEGER NOT NULL REFERENCES accommodations (id),
    check_in TEXT NOT NULL,
    check_out TEXT NOT NULL,
    guests INTEGER NOT NULL CHECK (guests >= 1),
    channel TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pre_reserved', 'confirmed', 'cancelled', 'expired', 'blocked')),
    contact_name TEXT,
    contact_phone TEXT,
    contact_email TEXT,
    total_cents INTEGER NOT NULL,
    deposit_cents INTEGER NOT NULL,
    -- Times are RFC 3339 UTC with milliseconds and a `Z`, so text order is time order.
    created_at TEXT NOT NULL,
    expires_at TEXT,
    confirmed_at TEXT,
    confirmed_by TEXT,
    cancelled_at TEXT,
    cancel_reason TEXT,
    expired_at TEXT,
    CHECK (check_out > check_in)
);

CREATE INDEX IF NOT EXISTS reservations_live_holds ON reservations (expires_at) WHERE status = 'pre_reserved';

CREATE INDEX IF NOT EXISTS reservations_by_accommodation ON reservations (accommodation_id, check_in);

-- The guarantee: one row per (accommodation, night), written in the same transaction as the
-- reservation that takes it and deleted in the same transaction that releases it.
CREATE TABLE IF NOT EXISTS night_slots (
    accommodation_id INTEGER NOT NULL,
    night TEXT NOT NULL,
    reservation_id INTEGER NOT NULL REFERENCES reservations (id),
    PRIMARY KEY (accommodation_id, night)
) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS night_slots_by_reservation ON night_slots (reservation_id);

-- Counters live beside the data they count, so they are exact across processes and Spin
-- instances and move in the same transaction as the event.
CREATE TABLE IF NOT EXISTS metric_counters (
    name TEXT NOT NULL,
    labels TEXT NOT NULL DEFAULT '',
    value INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (name, labels)
) WITHOUT ROWID;
