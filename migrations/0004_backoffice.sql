-- The outbox of guest messages and admin rate limits (issue 5).
-- One statement per `;`-terminated line block (see 0001).

-- Every message to a guest, written in the transaction of the event that causes it and
-- delivered later by the periodic tick. `channel` is `email` today (WhatsApp joins later).
-- The content is rendered at the first delivery attempt and then frozen, so every retry
-- sends the same message under the same idempotency key.
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY,
    reservation_id INTEGER REFERENCES reservations (id),
    channel TEXT NOT NULL,
    kind TEXT NOT NULL,
    recipient TEXT NOT NULL,
    -- Sent to the provider with every attempt, so a retry after a lost response is not a
    -- second message.
    idempotency_key TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at TEXT NOT NULL,
    -- A claim by one tick: no other tick takes the row before `lease_until`.
    lease_owner TEXT,
    lease_until TEXT,
    subject TEXT,
    body_text TEXT,
    body_html TEXT,
    last_error TEXT,
    provider_message_id TEXT,
    -- Who asked for it when it is not an event's own message (an admin's resend).
    requested_by TEXT,
    created_at TEXT NOT NULL,
    sent_at TEXT,
    dead_at TEXT
);

CREATE INDEX IF NOT EXISTS outbox_due ON outbox (next_attempt_at, id) WHERE status = 'pending';

CREATE INDEX IF NOT EXISTS outbox_by_status ON outbox (status, id);

CREATE INDEX IF NOT EXISTS outbox_by_reservation ON outbox (reservation_id, id);

-- One row per hold whose expiry reminder has been processed: the primary key makes the
-- reminder happen once, whichever tick gets there first.
CREATE TABLE IF NOT EXISTS hold_reminders (
    reservation_id INTEGER PRIMARY KEY REFERENCES reservations (id),
    queued_at TEXT NOT NULL,
    messages INTEGER NOT NULL DEFAULT 0
);

-- Admin login attempts that count against the limits: one row per attempt, written before
-- the credentials are checked (so a burst cannot slip past the limit) and deleted when the
-- attempt succeeds. Keys are HMACs, so the table holds no email or address in clear.
CREATE TABLE IF NOT EXISTS login_failures (
    id INTEGER PRIMARY KEY,
    email_key TEXT NOT NULL,
    client_key TEXT NOT NULL,
    at TEXT NOT NULL
);

CREATE INDEX IF NOT EXISTS login_failures_by_email ON login_failures (email_key, at);

CREATE INDEX IF NOT EXISTS login_failures_by_client ON login_failures (client_key, at);

CREATE INDEX IF NOT EXISTS login_failures_by_time ON login_failures (at);
