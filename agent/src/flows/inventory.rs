//! The inventory flow's handler. For now it keeps the Shopify side of the per-location
//! picture current from `inventory_levels/update` webhooks, newest report wins; pushing ERP
//! stock to Shopify builds on it.

use chrono::DateTime;
use serde::Deserialize;

use plumb_common::Timestamp;

use crate::store::{Failure, LeasedJob, Store};
use crate::work::Work;
use crate::worker::{BoxFuture, Handler};

/// Runs inventory jobs.
#[derive(Debug, Clone)]
pub struct InventoryHandler {
    store: Store,
}

/// The body of `inventory_levels/update`: no on_hand, no committed, only `available`.
#[derive(Debug, Deserialize)]
struct LevelUpdate {
    /// Ids can exceed 2^53: read as integers, never through f64.
    inventory_item_id: u64,
    location_id: u64,
    /// Null for an untracked item.
    available: Option<i64>,
    updated_at: String,
}

impl InventoryHandler {
    /// A handler writing to `store`.
    pub fn new(store: Store) -> InventoryHandler {
        InventoryHandler { store }
    }

    async fn handle(&self, job: &LeasedJob) -> Result<(), Failure> {
        let work = Work::decode(&job.payload)
            .map_err(|e| Failure::permanent("undecodable_payload", e.to_string()))?;
        let Work::ShopifyWebhook(delivery) = work else {
            return Err(Failure::permanent(
                "unexpected_work",
                format!("the inventory flow cannot run `{}`", work.kind()),
            ));
        };
        if delivery.topic != "inventory_levels/update" {
            return Err(Failure::permanent(
                "unexpected_topic",
                format!("the inventory flow does not handle `{}`", delivery.topic),
            ));
        }
        let body = delivery.body.as_deref().unwrap_or_default();
        let update: LevelUpdate = serde_json::from_str(body).map_err(|e| {
            Failure::permanent(
                "invalid_payload",
                format!("inventory_levels/update body is not the expected shape: {e}"),
            )
        })?;
        let updated_at = DateTime::parse_from_rfc3339(&update.updated_at)
            .ok()
            .and_then(|t| u64::try_from(t.timestamp_millis()).ok())
            .map(Timestamp)
            .ok_or_else(|| {
                Failure::permanent(
                    "invalid_payload",
                    format!("updated_at `{}` is not an RFC 3339 time", update.updated_at),
                )
            })?;
        let Some(available) = update.available else {
            tracing::info!(
                item = update.inventory_item_id,
                location = update.location_id,
                "level of an untracked item reported; nothing to record"
            );
            return Ok(());
        };
        let (item, location) = (update.inventory_item_id, update.location_id);
        let recorded = self
            .store
            .write(move |ctx| ctx.record_shopify_level(item, location, available, updated_at))
            .await
            .map_err(|e| Failure::transient("store", e.to_string()))?;
        if !recorded {
            tracing::debug!(item, location, "older level report ignored");
        }
        Ok(())
    }
}

impl Handler for InventoryHandler {
    fn run<'a>(&'a self, job: &'a LeasedJob) -> BoxFuture<'a, Result<(), Failure>> {
        Box::pin(self.handle(job))
    }
}
