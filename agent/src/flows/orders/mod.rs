//! The orders and refunds flows: Shopify orders booked in the ERP once, to the cent;
//! cancellations and refunds following them; a backfill that catches what webhooks missed;
//! and Shopify's compliance topics.
//!
//! # Data flow
//! ```text
//! orders/create|paid|updated|fulfilled|partially_fulfilled|cancelled (webhook)
//!     --parse (payload)--> booked already (ledger)? --no--> map + validate (mapping)
//!     --> unimported lines lower the inventory targets --> erp.create_sales_order
//!     --> read back: ERP total == Shopify total --> ledger + lines released (one write)
//!     --> cancelled in Shopify? --> erp.cancel_sales_order --> ledger
//! orders/edited --> booked? dead letter naming the change : read the order, book it
//! refunds/create --> order booked (or read and booked now) --> erp.record_refund
//! RefundSync (reconciliation's repair) --> the order's refunds read from Shopify, each
//!     booked once as if its refunds/create had come
//! backfill (every orders.backfill_interval) --orders updated since the cursor-->
//!     OrderSync jobs (one per change) --> booked and state matches? done : read, sync
//! customers/redact, shop/redact --> stored deliveries rewritten without personal data
//! ```
//!
//! # Invariants
//! - One ERP order per Shopify order whatever the deliveries: the ERP connector books
//!   idempotently on the Shopify id, and jobs touching one order run one at a time (a
//!   per-order lock shared by both flows), so two deliveries racing cannot both create.
//! - `orders/paid` before `orders/create` books from the paid payload: it is the whole
//!   order, as is every `orders/*` payload but `orders/edited`.
//! - Nothing is written to the ERP before the whole order validates (mapping): a bad order
//!   is a dead letter with a grouped cause, never a half-booked document.
//! - An order's lines lower the inventory targets from the first attempt until the write
//!   that records it booked: the window between a sale and its import cannot oversell.
//!
//! # Layout
//! - [`payload`]: Shopify's order and refund bodies; the personal data in them.
//! - [`mapping`]: payload -> the ERP's canonical order and refund, with the sum checks.
//! - `book`: booking, cancelling, refunding, one order at a time.
//! - [`backfill`]: the poll of orders changed since a cursor (a source).
//! - `compliance`: `customers/data_request`, `customers/redact`, `shop/redact`.

pub mod backfill;
mod book;
mod compliance;
pub mod mapping;
pub mod payload;

use crate::store::{Failure, LeasedJob};
use crate::work::{WebhookDelivery, Work};
use crate::worker::{BoxFuture, Handler};

use super::FlowContext;

pub use book::Booker;

/// Runs the jobs of the orders and refunds flows (one instance serves both, so they share
/// the per-order lock).
#[derive(Debug, Clone)]
pub struct OrdersHandler {
    booker: Booker,
}

impl OrdersHandler {
    /// A handler working with `context`.
    pub fn new(context: FlowContext) -> OrdersHandler {
        OrdersHandler {
            booker: Booker::new(context),
        }
    }

    async fn handle(&self, job: &LeasedJob) -> Result<(), Failure> {
        let work = Work::decode(&job.payload)
            .map_err(|e| Failure::permanent("undecodable_payload", e.to_string()))?;
        match work {
            Work::ShopifyWebhook(delivery) => self.webhook(&delivery).await,
            Work::OrderSync {
                order, cancelled, ..
            } => self.booker.sync_from_shopify(order, cancelled).await,
            Work::RefundSync { order } => self.booker.sync_refunds(order).await,
            other => Err(Failure::permanent(
                "unexpected_work",
                format!("the orders flow cannot run `{}`", other.kind()),
            )),
        }
    }

    async fn webhook(&self, delivery: &WebhookDelivery) -> Result<(), Failure> {
        let body = delivery.body.as_deref().ok_or_else(|| {
            Failure::permanent(
                "malformed_payload",
                format!(
                    "the {} delivery's body is not UTF-8 text, so it cannot be JSON",
                    delivery.topic
                ),
            )
        })?;
        match delivery.topic.as_str() {
            "orders/create"
            | "orders/paid"
            | "orders/updated"
            | "orders/fulfilled"
            | "orders/partially_fulfilled"
            | "orders/cancelled" => {
                let order = payload::OrderPayload::parse(body)?;
                self.booker.sync(&order).await
            }
            "orders/edited" => self.booker.edited(body).await,
            "refunds/create" => {
                let refund = payload::RefundPayload::parse(body)?;
                self.booker.refund(&refund).await
            }
            "customers/data_request" | "customers/redact" | "shop/redact" => {
                compliance::handle(self.booker.context(), &delivery.topic, body).await
            }
            topic => Err(Failure::permanent(
                "unsupported_topic",
                format!("the orders flow does not handle the webhook topic `{topic}`"),
            )),
        }
    }
}

impl Handler for OrdersHandler {
    fn run<'a>(&'a self, job: &'a LeasedJob) -> BoxFuture<'a, Result<(), Failure>> {
        Box::pin(self.handle(job))
    }
}
