//! The inventory flow: ERP stock to Shopify's `available` per mapped location, within
//! seconds, never oversold.
//!
//! # Data flow
//! ```text
//! ERP --stock_changes(cursor)--> poller --target per SKU x location (formula)-->
//!     store: records + pending set + cursor + one coalesced InventoryPush job (one write)
//! InventoryPush job --> push: pending pairs --resolve SKUs, read unknown levels-->
//!     inventorySetQuantities, 250 rows a call, changeFromQuantity = last known Shopify figure
//!     --> applied: in sync | stale: re-read, recompute, retry | failed: retry / dead letter
//! Shopify --inventory_levels/update--> echo: our own write (ignore) | drift (revert or alert)
//! start (after an outage) --> compare: read every pair's level, judge it as a stale CAS
//! ```
//!
//! # Invariants
//! - The ERP cursor advances only in the write that stores the targets read up to it and
//!   queues their push: a crash loses no change.
//! - Every row carries `changeFromQuantity`: a level Shopify changed since we read it (a
//!   sale) is re-read and the target recomputed, never overwritten blindly.
//! - The flow never raises a Shopify level it finds below its target on its own (that
//!   might be a sale the ERP has not imported): it lowers, or waits for the ERP's figure.
//! - What cannot be pushed (unknown SKU, untracked item, not stocked at the location) is a
//!   visible `failing` status and a dead letter naming the cause, never a silent skip.
//!
//! # Layout
//! - [`formula`]: the target, as pure functions.
//! - [`poller`]: the ERP stock poller (a source).
//! - [`push`]: the push job.
//! - [`echo`]: Shopify's level webhooks: echoes of our writes, drift.
//! - [`compare`]: the full comparison with Shopify at start.

pub mod compare;
mod echo;
pub mod formula;
pub mod kits;
pub mod poller;
mod push;

use crate::store::{EnqueueOptions, Failure, LeasedJob, NewJob};
use crate::work::Work;
use crate::worker::{BoxFuture, Handler};
use plumb_common::FlowKind;

use super::FlowContext;

/// The coalescing key of the push job: at most one waits at a time; it pushes whatever is
/// pending when it runs.
pub const PUSH_KEY: &str = "inventory/push";

/// The push job, to enqueue in the same write that marked pairs pending.
pub fn push_job() -> NewJob {
    let work = Work::InventoryPush;
    NewJob {
        flow: FlowKind::Inventory,
        payload_kind: work.kind(),
        payload: work.encode(),
        options: EnqueueOptions {
            coalesce: Some(PUSH_KEY.to_owned()),
            ..EnqueueOptions::default()
        },
    }
}

/// A dead letter for one pair that cannot be pushed; one per pair, cause and target
/// version, so a poll repeating the same figure does not pile up copies.
pub fn item_dead_letter(sku: &str, location: u64, version: u64, failure: Failure) -> NewJob {
    let work = Work::InventoryItem {
        sku: sku.to_owned(),
        location,
    };
    let key = format!("inventory/{}/{sku}/{location}/{version}", failure.cause);
    super::dead_letter_job(FlowKind::Inventory, &work, key, failure)
}

/// Runs inventory jobs.
#[derive(Debug, Clone)]
pub struct InventoryHandler {
    context: FlowContext,
}

impl InventoryHandler {
    /// A handler working with `context`.
    pub fn new(context: FlowContext) -> InventoryHandler {
        InventoryHandler { context }
    }

    async fn handle(&self, job: &LeasedJob) -> Result<(), Failure> {
        let work = Work::decode(&job.payload)
            .map_err(|e| Failure::permanent("undecodable_payload", e.to_string()))?;
        match work {
            Work::ShopifyWebhook(delivery) => echo::handle(&self.context, &delivery).await,
            Work::InventoryPush => push::run(&self.context, job).await,
            Work::InventoryItem { sku, location } => {
                let now = self.context.clock.now();
                self.context
                    .store
                    .write(move |ctx| {
                        if ctx.inventory_mark_pending(&sku, location)? {
                            ctx.enqueue(push_job(), now)?;
                        }
                        Ok(())
                    })
                    .await
                    .map_err(|e| Failure::transient("store", e.to_string()))
            }
            other => Err(Failure::permanent(
                "unexpected_work",
                format!("the inventory flow cannot run `{}`", other.kind()),
            )),
        }
    }
}

impl Handler for InventoryHandler {
    fn run<'a>(&'a self, job: &'a LeasedJob) -> BoxFuture<'a, Result<(), Failure>> {
        Box::pin(self.handle(job))
    }
}
