//! The products flow: ERP product master data to Shopify, only the fields the ERP owns.
//!
//! # Data flow
//! ```text
//! ERP --product_changes(cursor) every products.poll_interval--> poller
//!     --> one write: ProductSync jobs of 250 SKUs, and the cursor
//! Shopify --products/update--> ProductSync of the payload's SKUs (an edit made in Shopify)
//! ProductSync --> ERP records + Shopify variants (by SKU) + what was last synced (store)
//!     --> per ERP-owned field ([ownership]) the ERP gives a value for:
//!         Shopify == ERP: in sync
//!         Shopify == last synced (or never synced): the ERP changed: write it
//!         otherwise an edit made in Shopify: products.on_conflict
//!             revert: write the ERP's value (warn) | report: dead letter owned_field_edited
//!     --> productVariantsBulkUpdate per product (price, compare-at, barcode, cost),
//!         productUpdate (title, only if the ERP owns it)
//!     --> one write: what is now in sync, dead letters per SKU (duplicate_sku, ...)
//! ```
//!
//! # Invariants
//! - A field the ERP does not own is never in a write: the inputs carry only owned fields
//!   that differ, so a description, image or SEO edited in Shopify survives any sync.
//! - The cursor moves in the write that queues the jobs for the changes read up to it.
//! - Writes set absolute values: a retried job, or two jobs for one SKU, write the ERP's
//!   current values (read when the job runs), never an older one.
//! - A SKU carried by two Shopify variants is a dead letter `duplicate_sku`, never guessed.
//!
//! # Layout
//! - [`poller`]: the ERP product poller (a source).
//! - [`sync`]: the comparison and the writes.

pub mod poller;
pub mod sync;

use serde::Deserialize;

use plumb_common::FlowKind;

use crate::store::{EnqueueOptions, Failure, LeasedJob, NewJob};
use crate::work::{WebhookDelivery, Work};
use crate::worker::{BoxFuture, Handler};

use super::FlowContext;

/// The fields the flow carries from the ERP to Shopify when the ERP owns them (the SKU is
/// the key itself; inventory is the inventory flow's).
pub const CARRIED: &[crate::config::Field] = &[
    crate::config::Field::Title,
    crate::config::Field::Price,
    crate::config::Field::CompareAtPrice,
    crate::config::Field::Cost,
    crate::config::Field::Barcode,
];

/// SKUs per sync job.
pub const SKUS_PER_JOB: usize = 250;

/// A sync job for `skus`.
pub fn sync_job(skus: Vec<String>) -> NewJob {
    let work = Work::ProductSync { skus };
    NewJob {
        flow: FlowKind::Products,
        payload_kind: work.kind(),
        payload: work.encode(),
        options: EnqueueOptions::default(),
    }
}

/// A dead letter for one SKU; one per SKU, cause and detail, so a poll or webhook
/// repeating the same problem does not pile up copies.
pub fn item_dead_letter(sku: &str, detail: &str, failure: Failure) -> NewJob {
    let work = Work::ProductItem {
        sku: sku.to_owned(),
    };
    let key = format!("products/{}/{sku}/{detail}", failure.cause);
    super::dead_letter_job(FlowKind::Products, &work, key, failure)
}

/// The part of `products/create` and `products/update` bodies the flow reads.
#[derive(Debug, Deserialize)]
struct ProductBody {
    #[serde(default)]
    variants: Vec<VariantBody>,
}

#[derive(Debug, Deserialize)]
struct VariantBody {
    sku: Option<String>,
}

/// The SKUs a product webhook names.
fn webhook_skus(delivery: &WebhookDelivery) -> Result<Vec<String>, Failure> {
    if !matches!(
        delivery.topic.as_str(),
        "products/update" | "products/create"
    ) {
        return Err(Failure::permanent(
            "unexpected_topic",
            format!("the products flow does not handle `{}`", delivery.topic),
        ));
    }
    let body = delivery.body.as_deref().unwrap_or_default();
    let product: ProductBody = serde_json::from_str(body).map_err(|e| {
        Failure::permanent(
            "malformed_payload",
            format!("{} body is not the expected shape: {e}", delivery.topic),
        )
    })?;
    let mut skus: Vec<String> = product
        .variants
        .into_iter()
        .filter_map(|v| v.sku.filter(|s| !s.trim().is_empty()))
        .collect();
    skus.sort();
    skus.dedup();
    Ok(skus)
}

/// Runs products jobs.
#[derive(Debug, Clone)]
pub struct ProductsHandler {
    context: FlowContext,
}

impl ProductsHandler {
    /// A handler working with `context`.
    pub fn new(context: FlowContext) -> ProductsHandler {
        ProductsHandler { context }
    }

    async fn handle(&self, job: &LeasedJob) -> Result<(), Failure> {
        let work = Work::decode(&job.payload)
            .map_err(|e| Failure::permanent("undecodable_payload", e.to_string()))?;
        match work {
            Work::ProductSync { skus } => sync::run(&self.context, &skus, false).await,
            Work::ShopifyWebhook(delivery) => {
                let skus = webhook_skus(&delivery)?;
                sync::run(&self.context, &skus, false).await
            }
            Work::ProductItem { sku } => sync::run(&self.context, &[sku], true).await,
            other => Err(Failure::permanent(
                "unexpected_work",
                format!("the products flow cannot run `{}`", other.kind()),
            )),
        }
    }
}

impl Handler for ProductsHandler {
    fn run<'a>(&'a self, job: &'a LeasedJob) -> BoxFuture<'a, Result<(), Failure>> {
        Box::pin(self.handle(job))
    }
}
