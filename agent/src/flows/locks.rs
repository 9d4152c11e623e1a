//! One async lock per Shopify order, shared by the jobs of a flow (or of several flows
//! served by one handler), so two jobs touching one order never interleave whatever the
//! flow's concurrency.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// One async lock per order id, dropped when nobody holds or waits for it.
#[derive(Debug, Default)]
pub struct OrderLocks {
    held: Mutex<HashMap<u64, Arc<tokio::sync::Mutex<()>>>>,
}

/// Holds an order's lock; releases it (and forgets it when unused) on drop.
pub struct OrderGuard<'a> {
    locks: &'a OrderLocks,
    order: u64,
    guard: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl OrderLocks {
    /// Waits for `order`'s lock.
    pub async fn lock(&self, order: u64) -> OrderGuard<'_> {
        let lock = {
            let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
            held.entry(order).or_default().clone()
        };
        OrderGuard {
            locks: self,
            order,
            guard: Some(lock.lock_owned().await),
        }
    }
}

impl Drop for OrderGuard<'_> {
    fn drop(&mut self) {
        drop(self.guard.take());
        let mut held = self.locks.held.lock().unwrap_or_else(|p| p.into_inner());
        if held
            .get(&self.order)
            .is_some_and(|lock| Arc::strong_count(lock) == 1)
        {
            held.remove(&self.order);
        }
    }
}
