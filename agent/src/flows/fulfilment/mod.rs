//! The fulfilment flow: ERP shipments become Shopify fulfilments, with carrier and
//! tracking, on the order's fulfillment orders, once each.
//!
//! # Data flow
//! ```text
//! ERP --shipments_since(cursor) every fulfilment.poll_interval--> poller
//!     --> one write: a Fulfil job per shipment of a Shopify order
//!         (dedup "fulfilment/shipment/<erp id>/<tracking number>"), the cursor
//! Fulfil job (one order at a time)
//!     --> ledger has the shipment? done (tracking number changed since: the fulfilment's
//!         tracking updated in Shopify; removed: dead letter tracking_removed)
//!     --> warehouse -> location ([[locations]]; unmapped: dead letter unmapped_warehouse)
//!     --> Shopify's fulfilments: one with the shipment's location, units and tracking
//!         (not recorded for another shipment)? record it, done
//!     --> Shopify's fulfillment orders --> plan (matching):
//!         lines at the location --> fulfillmentCreate (tracking, notify_customer) --> ledger
//!         only at another location --> report: dead letter location_mismatch | move, re-plan
//!         nothing left on the order --> dead letter already_fulfilled
//!         units the order does not have left --> dead letter shipment_not_on_order
//!     unknown order --> dead letter unknown_order
//! ```
//!
//! # Invariants
//! - A shipment is fulfilled once whatever the retries. `fulfillmentCreate` has no
//!   idempotency key and the client never resends it after an ambiguous failure (a
//!   transient failure for the queue); every attempt looks in Shopify for the
//!   shipment's fulfilment before creating, and jobs for one order run one at a time.
//! - The cursor moves with the work: it is stored in the write that queues the jobs for
//!   the shipments read up to it; a crash before that write re-reads, never loses.
//! - Nothing is skipped silently: what cannot be fulfilled is a dead letter with its cause.
//!
//! # Layout
//! - [`matching`]: shipment units vs fulfillment order lines; recognising an applied one.
//! - `fulfil`: the job.
//! - [`poller`]: the ERP shipment poll (a source).

mod fulfil;
pub mod matching;
pub mod poller;

use crate::store::{Failure, LeasedJob};
use crate::work::Work;
use crate::worker::{BoxFuture, Handler};

use super::FlowContext;

pub use fulfil::Fulfiller;

/// Runs the fulfilment flow's jobs.
#[derive(Debug, Clone)]
pub struct FulfilmentHandler {
    fulfiller: Fulfiller,
}

impl FulfilmentHandler {
    /// A handler working with `context`.
    pub fn new(context: FlowContext) -> FulfilmentHandler {
        FulfilmentHandler {
            fulfiller: Fulfiller::new(context),
        }
    }

    async fn handle(&self, job: &LeasedJob) -> Result<(), Failure> {
        match Work::decode(&job.payload)
            .map_err(|e| Failure::permanent("undecodable_payload", e.to_string()))?
        {
            Work::Fulfil { shipment } => self.fulfiller.fulfil(&shipment).await,
            other => Err(Failure::permanent(
                "unexpected_work",
                format!("the fulfilment flow cannot run `{}`", other.kind()),
            )),
        }
    }
}

impl Handler for FulfilmentHandler {
    fn run<'a>(&'a self, job: &'a LeasedJob) -> BoxFuture<'a, Result<(), Failure>> {
        Box::pin(self.handle(job))
    }
}
