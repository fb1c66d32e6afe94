//! The outbox's rules: what a message is about, how long to wait before trying again, when
//! to give up, and what a provider's answer means.

use std::time::Duration;

/// What a guest message is about. Stored as [`MessageKind::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageKind {
    HoldCreated,
    ExpiryReminder,
    Confirmed,
    Expired,
    Cancelled,
    PaymentReceived,
}

impl MessageKind {
    pub const ALL: [MessageKind; 6] = [
        MessageKind::HoldCreated,
        MessageKind::ExpiryReminder,
        MessageKind::Confirmed,
        MessageKind::Expired,
        MessageKind::Cancelled,
        MessageKind::PaymentReceived,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::HoldCreated => "hold_created",
            MessageKind::ExpiryReminder => "expiry_reminder",
            MessageKind::Confirmed => "confirmed",
            MessageKind::Expired => "expired",
            MessageKind::Cancelled => "cancelled",
            MessageKind::PaymentReceived => "payment_received",
        }
    }

    pub fn parse(text: &str) -> Option<MessageKind> {
        MessageKind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// Where a message stands. `Dead` is the dead letter: every attempt failed, or the provider
/// refused the message itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryStatus {
    Pending,
    Sent,
    Dead,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Dead => "dead",
        }
    }

    pub fn parse(text: &str) -> Option<DeliveryStatus> {
        [DeliveryStatus::Pending, DeliveryStatus::Sent, DeliveryStatus::Dead].into_iter().find(|s| s.as_str() == text)
    }
}

/// The longest wait between two attempts, however many failed: past a day, waiting longer
/// only hides the message from the guest.
pub const MAX_BACKOFF: Duration = Duration::from_secs(24 * 3600);

/// The wait after the `attempts`-th failed attempt: `base`, then doubling (`base`, `2 base`,
/// `4 base`, ...), capped at [`MAX_BACKOFF`].
pub fn backoff(base: Duration, attempts: u32) -> Duration {
    let doublings = attempts.saturating_sub(1).min(31);
    base.checked_mul(1u32 << doublings).map_or(MAX_BACKOFF, |d| d.min(MAX_BACKOFF))
}

/// What to do with a message after one failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterFailure {
    /// Try again once `wait` has passed.
    RetryIn(Duration),
    /// Give up: the message becomes a dead letter.
    Dead,
}

/// Decides after the `attempts`-th attempt (counting this one) failed. A `permanent` failure
/// (the provider refused the message itself) is dead at once; otherwise the message waits
/// its backoff until `max_attempts` is reached.
pub fn after_failure(attempts: u32, max_attempts: u32, base: Duration, permanent: bool) -> AfterFailure {
    if permanent || attempts >= max_attempts {
        AfterFailure::Dead
    } else {
        AfterFailure::RetryIn(backoff(base, attempts))
    }
}

/// How an email API's HTTP status reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderVerdict {
    Accepted,
    /// Worth retrying: the provider, the network or our credentials may recover (an operator
    /// fixing a key must not find the messages gone).
    Transient,
    /// The provider refuses this message as such (malformed, invalid recipient): retrying
    /// the same request cannot succeed.
    Permanent,
}

pub fn verdict(status: u16) -> ProviderVerdict {
    match status {
        200..=299 => ProviderVerdict::Accepted,
        400 | 404 | 413 | 415 | 422 => ProviderVerdict::Permanent,
        _ => ProviderVerdict::Transient,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_base() {
        let base = Duration::from_secs(30);
        let waits: Vec<u64> = (1..=5).map(|n| backoff(base, n).as_secs()).collect();
        assert_eq!(waits, vec![30, 60, 120, 240, 480]);
    }

    #[test]
    fn backoff_is_capped_and_never_overflows() {
        let base = Duration::from_secs(30);
        assert_eq!(backoff(base, 40), MAX_BACKOFF);
        assert_eq!(backoff(base, u32::MAX), MAX_BACKOFF);
        assert_eq!(backoff(Duration::ZERO, 3), Duration::ZERO);
    }

    #[test]
    fn the_last_attempt_makes_a_dead_letter() {
        let base = Duration::from_secs(10);
        assert_eq!(after_failure(1, 3, base, false), AfterFailure::RetryIn(Duration::from_secs(10)));
        assert_eq!(after_failure(2, 3, base, false), AfterFailure::RetryIn(Duration::from_secs(20)));
        assert_eq!(after_failure(3, 3, base, false), AfterFailure::Dead);
        assert_eq!(after_failure(1, 3, base, true), AfterFailure::Dead);
    }

    #[test]
    fn provider_statuses() {
        assert_eq!(verdict(200), ProviderVerdict::Accepted);
        assert_eq!(verdict(202), ProviderVerdict::Accepted);
        assert_eq!(verdict(422), ProviderVerdict::Permanent);
        assert_eq!(verdict(429), ProviderVerdict::Transient);
        assert_eq!(verdict(401), ProviderVerdict::Transient);
        assert_eq!(verdict(503), ProviderVerdict::Transient);
    }

    #[test]
    fn kinds_and_statuses_round_trip() {
        for kind in MessageKind::ALL {
            assert_eq!(MessageKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(DeliveryStatus::parse("dead"), Some(DeliveryStatus::Dead));
        assert_eq!(DeliveryStatus::parse("lost"), None);
    }
}
