//! What every poller of the ERP shares: the tick until shutdown, and logging a failure
//! once (warn) rather than at every tick, then its recovery (info).

use std::time::Duration;

use crate::erp::{Cursor, ErpError};
use crate::shutdown::Shutdown;
use crate::store::StoreError;

/// Why an ERP poll failed; the next poll tries again from the same cursor.
#[derive(Debug, thiserror::Error)]
pub enum PollError {
    /// The ERP failed.
    #[error(transparent)]
    Erp(#[from] ErpError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The ticks of one poller and whether its last poll failed.
#[derive(Debug)]
pub struct Polls {
    flow: &'static str,
    poll: &'static str,
    ticker: tokio::time::Interval,
    shutdown: Shutdown,
    failing: bool,
}

impl Polls {
    /// Ticks every `interval` (the first at once; a late tick delays the next ones).
    pub fn new(
        flow: &'static str,
        poll: &'static str,
        interval: Duration,
        shutdown: Shutdown,
    ) -> Polls {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Polls {
            flow,
            poll,
            ticker,
            shutdown,
            failing: false,
        }
    }

    /// Waits for the next tick; `false` once shutdown has begun.
    pub async fn tick(&mut self) -> bool {
        tokio::select! {
            _ = self.ticker.tick() => true,
            () = self.shutdown.wait() => false,
        }
    }

    /// A poll went well.
    pub fn succeeded(&mut self) {
        if self.failing {
            tracing::info!(flow = self.flow, poll = self.poll, "poll recovered");
            self.failing = false;
        }
    }

    /// A poll failed: warn the first time, then only debug until it recovers.
    pub fn failed(&mut self, error: &dyn std::fmt::Display) {
        if self.failing {
            tracing::debug!(flow = self.flow, poll = self.poll, %error, "poll still failing");
        } else {
            tracing::warn!(flow = self.flow, poll = self.poll, %error, "poll failed; retrying at the next tick");
            self.failing = true;
        }
    }
}

/// The ERP cursor a poller stored under `name`, if it stored one.
pub async fn stored_cursor(
    store: &crate::store::Store,
    name: &str,
) -> Result<Option<Cursor>, StoreError> {
    let stored = store.cursor(name.to_owned()).await?;
    Ok(stored.map(|bytes| Cursor(String::from_utf8_lossy(&bytes).into_owned())))
}
