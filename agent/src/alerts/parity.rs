//! The parity input of the "parity below Y" rule: the latest result of the reconciler per
//! dimension, published through a [`ParityFeed`] (a `tokio::sync::watch` channel).
//!
//! The reconciler publishes one [`ParityReading`] per dimension it compared after each
//! run ([`ParityFeed::publish`]); the alerts engine reads the latest readings at each
//! check, so it never waits on the reconciler and never reads the store for them. A
//! dimension that was published stays until it is published again or [`ParityFeed::forget`]
//! removes it (its incident, if open, then resolves).

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use tokio::sync::watch;

use tokio::sync::broadcast;

use plumb_common::Timestamp;
use plumb_common::protocol::{Event, RunState};

use crate::shutdown::Shutdown;
use crate::store::Store;

/// One dimension's result: how many items were compared and how many disagreed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParityReading {
    /// Items compared (SKU x location pairs, orders...).
    pub checked: u64,
    /// Items that disagreed.
    pub mismatched: u64,
    /// When the run that measured it finished.
    pub measured_at: Timestamp,
}

impl ParityReading {
    /// The share of items that agreed, in percent (100 when nothing was compared).
    pub fn percent(&self) -> Decimal {
        if self.checked == 0 {
            return Decimal::ONE_HUNDRED;
        }
        let agreed = Decimal::from(self.checked.saturating_sub(self.mismatched));
        agreed * Decimal::ONE_HUNDRED / Decimal::from(self.checked)
    }
}

/// The latest reading per dimension (`"inventory"`, `"orders"`, `"totals"`...).
pub type ParityReadings = BTreeMap<String, ParityReading>;

/// The reconciler's side of the parity input. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ParityFeed {
    sender: std::sync::Arc<watch::Sender<ParityReadings>>,
}

impl Default for ParityFeed {
    fn default() -> Self {
        ParityFeed::new()
    }
}

impl ParityFeed {
    /// A feed with no readings yet.
    pub fn new() -> ParityFeed {
        let (sender, _) = watch::channel(ParityReadings::new());
        ParityFeed {
            sender: std::sync::Arc::new(sender),
        }
    }

    /// Records `dimension`'s latest reading, replacing the previous one.
    pub fn publish(&self, dimension: impl Into<String>, reading: ParityReading) {
        let dimension = dimension.into();
        self.sender.send_modify(|readings| {
            readings.insert(dimension, reading);
        });
    }

    /// Removes a dimension that is no longer compared.
    pub fn forget(&self, dimension: &str) {
        self.sender
            .send_if_modified(|readings| readings.remove(dimension).is_some());
    }

    /// The readings as of now.
    pub fn latest(&self) -> ParityReadings {
        self.sender.borrow().clone()
    }

    /// A receiver of the readings (the alerts engine's side).
    pub fn subscribe(&self) -> watch::Receiver<ParityReadings> {
        self.sender.subscribe()
    }
}

/// Feeds `feed` from the reconciler's stored reports: the latest report of every
/// dimension at start (so a restart keeps the rule's input), then again whenever a run
/// finishes (`Event::ParityRun` from the store; a lagging receiver re-reads too). Stops on
/// `shutdown`.
pub async fn feed_from_store(store: Store, feed: ParityFeed, mut shutdown: Shutdown) {
    let mut events = store.subscribe();
    publish_latest(&store, &feed).await;
    loop {
        let event = tokio::select! {
            event = events.recv() => event,
            () = shutdown.wait() => return,
        };
        match event {
            Ok(Event::ParityRun(run)) if run.state == RunState::Done => {
                publish_latest(&store, &feed).await;
            }
            Ok(_) => {}
            Err(broadcast::error::RecvError::Lagged(_)) => publish_latest(&store, &feed).await,
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

async fn publish_latest(store: &Store, feed: &ParityFeed) {
    match store.parity_latest().await {
        Ok(latest) => {
            for report in latest {
                feed.publish(
                    report.parity.dimension.as_str(),
                    ParityReading {
                        checked: report.parity.checked,
                        mismatched: report.parity.mismatched,
                        measured_at: report.at,
                    },
                );
            }
        }
        Err(error) => {
            tracing::warn!(%error, "the latest parity reports could not be read for the alerts; the parity rule keeps its last readings");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_is_exact_and_empty_runs_are_full_parity() {
        let reading = |checked, mismatched| ParityReading {
            checked,
            mismatched,
            measured_at: Timestamp(0),
        };
        assert_eq!(reading(200, 1).percent(), Decimal::new(995, 1));
        assert_eq!(reading(0, 0).percent(), Decimal::ONE_HUNDRED);
        assert_eq!(reading(3, 5).percent(), Decimal::ZERO);
    }

    #[test]
    fn published_readings_replace_and_forget() {
        let feed = ParityFeed::new();
        let receiver = feed.subscribe();
        let at = Timestamp(1);
        feed.publish(
            "inventory",
            ParityReading {
                checked: 10,
                mismatched: 1,
                measured_at: at,
            },
        );
        feed.publish(
            "inventory",
            ParityReading {
                checked: 10,
                mismatched: 0,
                measured_at: at,
            },
        );
        assert_eq!(
            receiver.borrow().get("inventory").map(|r| r.mismatched),
            Some(0)
        );
        feed.forget("inventory");
        assert!(feed.latest().is_empty());
    }
}
