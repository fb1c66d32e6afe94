-- Mercado Pago payments, their status history and webhook notifications (issue 3).
-- One statement per `;`-terminated line block (see 0001).

-- One row per Mercado Pago payment (UNIQUE on its id), holding its latest known state: a
-- snapshot replaces it only when it is newer (date_last_updated, then status rank), so
-- duplicate, concurrent and out-of-order deliveries never move it backwards. `resolution` is
-- what the service did with the money: confirmed the reservation, found it already confirmed,
-- or left it for the admin (partial amount, orphan, needs_refund, then refunded).
CREATE TABLE IF NOT EXISTS payments (
    id INTEGER PRIMARY KEY,
    mp_payment_id TEXT NOT NULL UNIQUE,
    reservation_id INTEGER REFERENCES reservations (id),
    external_reference TEXT,
    status TEXT NOT NULL,
    status_detail TEXT,
    status_rank INTEGER NOT NULL,
    amount_cents INTEGER,
    currency TEXT,
    resolution TEXT CHECK (resolution IN ('confirmed', 'already_confirmed', 'partial', 'orphan', 'needs_refund', 'refunded')),
    date_created TEXT,
    date_approved TEXT,
    date_last_updated TEXT,
    raw TEXT NOT NULL,
    received_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE INDEX IF NOT EXISTS payments_by_reservation ON payments (reservation_id);

CREATE INDEX IF NOT EXISTS payments_by_status ON payments (status);

CREATE INDEX IF NOT EXISTS payments_by_resolution ON payments (resolution) WHERE resolution IS NOT NULL;

-- Every distinct state a payment was seen in, applied or not (a late, older snapshot is kept
-- with applied = 0): the money trail. The key makes a duplicate delivery insert nothing.
CREATE TABLE IF NOT EXISTS payment_status_changes (
    id INTEGER PRIMARY KEY,
    mp_payment_id TEXT NOT NULL,
    status TEXT NOT NULL,
    status_detail TEXT,
    -- '' when Mercado Pago sent no date, so the UNIQUE key still applies.
    date_last_updated TEXT NOT NULL DEFAULT '',
    amount_cents INTEGER,
    applied INTEGER NOT NULL CHECK (applied IN (0, 1)),
    raw TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    UNIQUE (mp_payment_id, status, date_last_updated)
);

-- A notification only says "payment X changed". One row per payment: every delivery bumps
-- received_count; a successful fetch-and-record moves processed_through up to the count it
-- started from. Rows with received_count > processed_through are waiting (the API was down)
-- and the periodic tick retries them with backoff.
CREATE TABLE IF NOT EXISTS payment_notifications (
    mp_payment_id TEXT PRIMARY KEY,
    form TEXT NOT NULL,
    received_count INTEGER NOT NULL DEFAULT 0,
    processed_through INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    last_error TEXT,
    first_received_at TEXT NOT NULL,
    last_received_at TEXT NOT NULL,
    processed_at TEXT
) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS payment_notifications_due ON payment_notifications (next_attempt_at)
    WHERE received_count > processed_through;

-- The Checkout Pro preference of a reservation's deposit, created once and reused.
CREATE TABLE IF NOT EXISTS payment_links (
    reservation_id INTEGER PRIMARY KEY REFERENCES reservations (id),
    preference_id TEXT NOT NULL,
    init_point TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- Things about a reservation an admin must look at (payment_refunded, payment_charged_back,
-- payment_cancelled, ical_conflict, ...). Raised once per kind; resolved_at set by the admin.
CREATE TABLE IF NOT EXISTS reservation_flags (
    reservation_id INTEGER NOT NULL REFERENCES reservations (id),
    flag TEXT NOT NULL,
    detail TEXT,
    created_at TEXT NOT NULL,
    resolved_at TEXT,
    PRIMARY KEY (reservation_id, flag)
) WITHOUT ROWID;
