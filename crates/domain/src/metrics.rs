//! Metric names, shared by every writer and the exposition. Names are registered without
//! `_total`: prometheus-client appends it to counters.

pub const RESERVATIONS_CREATED: &str = "reservations_created";
pub const RESERVATIONS_DATE_OVERLAP: &str = "reservations_date_overlap";
pub const RESERVATIONS_LOCK_FAILED: &str = "reservations_lock_failed";
pub const PRERESERVATIONS_EXPIRED: &str = "prereservations_expired";
pub const PRERESERVATION_REMINDERS_PROCESSED: &str = "prereservation_reminders_processed";
pub const RESERVATIONS_CONFIRMED: &str = "reservations_confirmed";
pub const RESERVATIONS_CANCELLED: &str = "reservations_cancelled";
pub const ICAL_CONFLICTS: &str = "ical_conflicts";
pub const OUTBOX_SENT: &str = "outbox_messages_sent";
pub const OUTBOX_FAILED_ATTEMPTS: &str = "outbox_failed_attempts";
pub const OUTBOX_DEAD: &str = "outbox_messages_dead";
pub const ADMIN_LOGIN_RATE_LIMITED: &str = "admin_login_rate_limited";
pub const PAYMENTS_RECEIVED: &str = "payments_received";
pub const WEBHOOK_SIGNATURE_FAILURES: &str = "webhook_signature_failures";

/// A stored counter: its name, help text and, when its samples carry a label, the label's
/// name and the values exported as 0 before anything happened (so dashboards and alerts see
/// every series from the start).
pub struct CounterSpec {
    pub name: &'static str,
    pub help: &'static str,
    pub label: Option<(&'static str, &'static [&'static str])>,
}

const CHANNELS: &[&str] = &["whatsapp", "web", "admin", "email", "phone"];
/// The channels guest messages go out on.
const OUTBOX_CHANNELS: &[&str] = &["email", "whatsapp"];
/// Mercado Pago payment statuses (`mercadopago::PaymentStatus::as_str`; unknown ones are `other`).
const PAYMENT_STATUSES: &[&str] = &[
    "pending",
    "in_process",
    "authorized",
    "approved",
    "rejected",
    "cancelled",
    "in_mediation",
    "refunded",
    "charged_back",
    "other",
];

const fn counter(
    name: &'static str,
    help: &'static str,
    label: Option<(&'static str, &'static [&'static str])>,
) -> CounterSpec {
    CounterSpec { name, help, label }
}

/// Every counter; counters are stored, so this list is what `/metrics` reports even before
/// anything happened.
pub const COUNTERS: &[CounterSpec] = &[
    counter(RESERVATIONS_CREATED, "Holds created, by channel", Some(("channel", CHANNELS))),
    counter(
        RESERVATIONS_DATE_OVERLAP,
        "Pre-reserves refused because a night was taken, by channel",
        Some(("channel", CHANNELS)),
    ),
    counter(
        RESERVATIONS_LOCK_FAILED,
        "Pre-reserves turned away by the key-value lock, by channel",
        Some(("channel", CHANNELS)),
    ),
    counter(PRERESERVATIONS_EXPIRED, "Holds that expired unpaid", None),
    counter(PRERESERVATION_REMINDERS_PROCESSED, "Reminders queued before a hold expires", None),
    counter(RESERVATIONS_CONFIRMED, "Reservations confirmed, by source", Some(("source", &["admin", "payment"]))),
    counter(RESERVATIONS_CANCELLED, "Reservations cancelled", None),
    counter(ICAL_CONFLICTS, "Clashes between an imported calendar event and one of our own stays, recorded", None),
    counter(OUTBOX_SENT, "Guest messages delivered, by channel", Some(("channel", OUTBOX_CHANNELS))),
    counter(
        OUTBOX_FAILED_ATTEMPTS,
        "Guest message delivery attempts that failed, by channel",
        Some(("channel", OUTBOX_CHANNELS)),
    ),
    counter(OUTBOX_DEAD, "Guest messages given up on (dead letters), by channel", Some(("channel", OUTBOX_CHANNELS))),
    counter(ADMIN_LOGIN_RATE_LIMITED, "Admin logins refused by the rate limit", None),
    counter(
        PAYMENTS_RECEIVED,
        "Mercado Pago payments seen in each status, once per payment and status",
        Some(("status", PAYMENT_STATUSES)),
    ),
    counter(
        WEBHOOK_SIGNATURE_FAILURES,
        "Webhook deliveries refused for a missing, malformed or wrong signature, by provider",
        Some(("provider", &["mercadopago", "whatsapp"])),
    ),
];

/// Request-latency histogram bucket bounds, in seconds.
pub const LATENCY_BUCKETS: &[f64] = &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
