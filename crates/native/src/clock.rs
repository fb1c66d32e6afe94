//! The `Clock` port natively: the system clock, optionally shifted by an offset that tests
//! move instead of sleeping.

use chrono::{DateTime, Utc};
use reservas_app::ports::Clock;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

/// The wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// The wall clock plus an offset in milliseconds that can be moved at any time, from any
/// thread.
#[derive(Debug, Default)]
pub struct OffsetClock {
    offset_ms: AtomicI64,
}

impl OffsetClock {
    pub fn new() -> OffsetClock {
        OffsetClock::default()
    }

    /// Moves the clock forward by `by` (backward if negative).
    pub fn advance(&self, by: chrono::Duration) {
        self.offset_ms.fetch_add(by.num_milliseconds(), Ordering::SeqCst);
    }

    /// Sets the offset from the wall clock.
    pub fn set_offset(&self, offset: chrono::Duration) {
        self.offset_ms.store(offset.num_milliseconds(), Ordering::SeqCst);
    }

    /// The current offset from the wall clock.
    pub fn offset(&self) -> chrono::Duration {
        chrono::Duration::milliseconds(self.offset_ms.load(Ordering::SeqCst))
    }
}

impl Clock for OffsetClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.offset()
    }
}

/// The host's clock: a cheap, cloneable handle to one shared [`OffsetClock`] (offset zero
/// unless someone moves it). Tests keep a clone and move time while the server reads it.
#[derive(Debug, Clone, Default)]
pub struct NativeClock(Arc<OffsetClock>);

impl NativeClock {
    /// The wall clock, offset zero.
    pub fn new() -> NativeClock {
        NativeClock::default()
    }

    /// Moves the clock forward by `by` (backward if negative), for every holder of a clone.
    pub fn advance(&self, by: chrono::Duration) {
        self.0.advance(by);
    }

    /// Sets the offset from the wall clock, for every holder of a clone.
    pub fn set_offset(&self, offset: chrono::Duration) {
        self.0.set_offset(offset);
    }

    /// The current offset from the wall clock.
    pub fn offset(&self) -> chrono::Duration {
        self.0.offset()
    }
}

impl Clock for NativeClock {
    fn now(&self) -> DateTime<Utc> {
        self.0.now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn close(a: DateTime<Utc>, b: DateTime<Utc>) -> bool {
        (a - b).num_milliseconds().abs() < 1_000
    }

    #[test]
    fn system_clock_is_now() {
        assert!(close(SystemClock.now(), Utc::now()));
    }

    #[test]
    fn offset_clock_moves() {
        let c = OffsetClock::new();
        assert!(close(c.now(), Utc::now()));
        c.advance(Duration::hours(2));
        c.advance(Duration::minutes(30));
        assert_eq!(c.offset(), Duration::minutes(150));
        assert!(close(c.now(), Utc::now() + Duration::minutes(150)));
        c.set_offset(Duration::days(-1));
        assert!(close(c.now(), Utc::now() - Duration::days(1)));
    }

    #[test]
    fn native_clock_clones_share_the_offset() {
        let server = NativeClock::new();
        let test_handle = server.clone();
        test_handle.advance(Duration::days(3));
        assert!(close(server.now(), Utc::now() + Duration::days(3)));
        let shared: Arc<dyn Clock> = Arc::new(server.clone());
        test_handle.set_offset(Duration::zero());
        assert!(close(shared.now(), Utc::now()));
    }
}
