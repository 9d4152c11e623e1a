//! Where the agent's "now" comes from.
//!
//! Stored times are wall-clock milliseconds, since they outlive the process. In tests the
//! clock follows tokio's (pausable) time from a fixed start, so backoff schedules can be
//! checked with `tokio::time::pause()` instead of real sleeps.

use plumb_common::Timestamp;

/// The agent's clock.
#[derive(Debug, Clone, Copy)]
pub enum Clock {
    /// The system's wall clock.
    System,
    /// `start` plus the tokio time elapsed since `base`: follows `tokio::time::pause()`.
    Tokio {
        /// The wall time at `base`.
        start: Timestamp,
        /// The tokio instant the clock started at.
        base: tokio::time::Instant,
    },
}

impl Clock {
    /// A clock driven by tokio time, starting at `start`. Call inside a runtime.
    pub fn tokio(start: Timestamp) -> Clock {
        Clock::Tokio {
            start,
            base: tokio::time::Instant::now(),
        }
    }

    /// The current time.
    pub fn now(&self) -> Timestamp {
        match self {
            Clock::System => Timestamp::now(),
            Clock::Tokio { start, base } => start.plus(base.elapsed()),
        }
    }

    /// The tokio instant at which this clock shows `at` (now if `at` is past).
    pub fn instant_at(&self, at: Timestamp) -> tokio::time::Instant {
        tokio::time::Instant::now() + self.now().until(at)
    }
}
