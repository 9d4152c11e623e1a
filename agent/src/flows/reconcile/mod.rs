//! The reconciler: compares both sides, reports parity per dimension, repairs through the
//! normal write path.
//!
//! Webhooks are not guaranteed and people edit both systems by hand, so the only way to
//! trust the data is to compare. A run reads the ERP through the connector (products, then
//! stock 2,000 SKUs at a time) and Shopify through a bulk operation whose JSONL result is
//! streamed item by item, never held whole; it computes what Shopify should show with the
//! inventory flow's own functions, and stores its figures and every mismatch.
//!
//! # Data flow
//! ```text
//! schedule (light / full) | control socket (Reconcile, RepairMismatches) --> job (reconcile flow)
//! job --> run stored (running) --> ERP: warehouses, products, stock in chunks --> targets
//!     --> Shopify: bulkOperationRunQuery --> poll (or bulk_operations/finish) --> JSONL stream
//!     --> per item: inventory pairs and catalogue checks --> findings
//!     --> orders changed in the window (paged walk) vs the ERP's sales by reference
//!     --> mismatches stored in batches, run stored (done, latest per dimension) --> event
//!     --> unless dry run: inventory repairs = target + CAS base + push job (inventory flow);
//!         order repairs = OrderSync jobs (orders flow)
//! ```
//!
//! # Invariants
//! - A dry run writes nothing to either system nor to the flows' state: only its report.
//! - Repairs go through the inventory flow's state and push job: compare-and-swap on every
//!   row, so a level that moved since the run is re-read, never overwritten blindly.
//! - Every mismatch names its kind, both sides' figures and, when a flow can repair it, the
//!   exact write the repair makes; those it cannot are for a person, and say what to do.
//!
//! # Layout
//! - [`compare`]: reading both sides and comparing stock and catalogue.
//! - [`findings`]: what a run found, its figures per dimension, its mismatches.
//! - [`orders`]: the orders of the window against the ERP's sales.
//! - [`repair`]: repairs through the inventory flow's push and the orders flow's sync.
//! - [`run`]: one run, stored from start to finish.
//! - [`schedule`]: the light and full passes (a source).

pub mod compare;
pub mod findings;
pub mod orders;
pub mod repair;
pub mod run;
pub mod schedule;

use std::sync::Arc;

use tokio::sync::Notify;

use crate::store::{Failure, LeasedJob};
use crate::work::Work;
use crate::worker::{BoxFuture, Handler};

use super::FlowContext;
use run::RunRequest;

/// Runs reconcile jobs.
#[derive(Debug, Clone)]
pub struct ReconcileHandler {
    context: FlowContext,
    /// Notified when Shopify's `bulk_operations/finish` webhook arrives: a run waiting on
    /// its bulk operation reads the state at once instead of at its next poll.
    bulk_finished: Arc<Notify>,
}

impl ReconcileHandler {
    /// A handler working with `context`.
    pub fn new(context: FlowContext) -> ReconcileHandler {
        ReconcileHandler {
            context,
            bulk_finished: Arc::new(Notify::new()),
        }
    }

    async fn handle(&self, job: &LeasedJob) -> Result<(), Failure> {
        let work = Work::decode(&job.payload)
            .map_err(|e| Failure::permanent("undecodable_payload", e.to_string()))?;
        if let Work::ShopifyWebhook(delivery) = &work {
            if delivery.topic == "bulk_operations/finish" {
                self.bulk_finished.notify_waiters();
                return Ok(());
            }
            return Err(Failure::permanent(
                "unexpected_work",
                format!("the reconcile flow cannot run webhook {}", delivery.topic),
            ));
        }
        let (Some(erp), Some(shopify)) = (&self.context.erp, &self.context.shopify) else {
            return Err(Failure::transient(
                "not_configured",
                "reconciliation needs both [shopify] and [erp]: it waits until both are configured",
            ));
        };
        match work {
            Work::Reconcile {
                dry_run,
                scope,
                trigger,
            } => {
                let request = RunRequest {
                    scope,
                    trigger,
                    dry_run,
                };
                run::reconcile(
                    &self.context,
                    erp.as_ref(),
                    shopify,
                    &self.bulk_finished,
                    request,
                )
                .await
            }
            Work::RepairMismatches { run, selection } => {
                repair::from_run(&self.context, erp.as_ref(), run, &selection)
                    .await
                    .map(|_| ())
            }
            other => Err(Failure::permanent(
                "unexpected_work",
                format!("the reconcile flow cannot run `{}`", other.kind()),
            )),
        }
    }
}

impl Handler for ReconcileHandler {
    fn run<'a>(&'a self, job: &'a LeasedJob) -> BoxFuture<'a, Result<(), Failure>> {
        Box::pin(self.handle(job))
    }
}
