-- The WhatsApp conversation (issue 6).
-- One statement per `;`-terminated line block (see 0001).

-- Every inbound message, written before anything else is done with it. The UNIQUE wamid is
-- the dedupe: Meta's redeliveries (even 20 at once) insert nothing, so they are never
-- processed twice. A row stays `pending` until the transaction that writes its reply (and
-- the conversation's new state) marks it `done`; a lease keeps two processors off the same
-- guest at once, and a dead processor's lease runs out for the tick to take over.
CREATE TABLE IF NOT EXISTS whatsapp_inbox (
    id INTEGER PRIMARY KEY,
    wamid TEXT NOT NULL UNIQUE,
    phone TEXT NOT NULL,
    kind TEXT NOT NULL,
    -- Text typed, or the id of the button tapped.
    body TEXT,
    media_id TEXT,
    mime_type TEXT,
    profile_name TEXT,
    -- The message's own timestamp (dates are resolved against it).
    sent_at TEXT NOT NULL,
    received_at TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done')),
    attempts INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_until TEXT,
    -- What came of it: replied, audio_unclear, handed_off, silenced, rate_limited, failed.
    outcome TEXT,
    transcript TEXT,
    confidence REAL,
    processed_at TEXT
);

CREATE INDEX IF NOT EXISTS whatsapp_inbox_pending ON whatsapp_inbox (phone, id) WHERE status = 'pending';

CREATE INDEX IF NOT EXISTS whatsapp_inbox_by_phone ON whatsapp_inbox (phone, id);

-- One row per guest number: the time of their last message (Meta's 24-hour window) and the
-- hand-off to a human (the bot stays silent while `handoff_at` is set). The dialogue state
-- lives in the key-value store (`conv:<phone>`, a day's expiry).
CREATE TABLE IF NOT EXISTS whatsapp_conversations (
    phone TEXT PRIMARY KEY,
    profile_name TEXT,
    last_inbound_at TEXT,
    handoff_at TEXT,
    handoff_reason TEXT,
    released_at TEXT,
    released_by TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE INDEX IF NOT EXISTS whatsapp_conversations_handoff ON whatsapp_conversations (handoff_at, phone)
    WHERE handoff_at IS NOT NULL;

CREATE INDEX IF NOT EXISTS outbox_by_recipient ON outbox (channel, recipient, created_at);
