//! What a job carries: the agent's payload type, encoded as JSON so a dead letter reads as
//! what it is when an engineer opens it.

use serde::{Deserialize, Serialize};

use plumb_common::Timestamp;

/// The work of one job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Work {
    /// A verified Shopify webhook delivery, kept exactly as received.
    ShopifyWebhook(WebhookDelivery),
    /// A reconciliation run.
    Reconcile {
        /// Report only; write nothing.
        dry_run: bool,
    },
    /// Push every SKU x location whose target waits (the store's pending set) to Shopify.
    /// One job stands for the whole set, coalesced while pending, so pushes go out in
    /// batches of 250 rows rather than one call per pair.
    InventoryPush,
    /// An order the backfill found changed in Shopify: booked in the ERP if it is missing
    /// there, cancelled there if Shopify cancelled it (the webhooks may have been lost).
    OrderSync {
        /// The Shopify order id.
        order: u64,
        /// When Shopify last changed it (part of the dedup key: each change syncs once).
        updated_at: chrono::DateTime<chrono::Utc>,
        /// Whether Shopify has cancelled it.
        cancelled: bool,
    },
    /// One SKU x location the inventory flow cannot push as things are (unknown SKU,
    /// untracked item, item not stocked at the location): kept as a dead letter so it is
    /// visible; retrying it marks the pair to be pushed again.
    InventoryItem {
        /// The SKU.
        sku: String,
        /// The Shopify location.
        location: u64,
    },
}

/// A webhook as Shopify delivered it: the headers that identify it and the raw body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookDelivery {
    /// `X-Shopify-Topic`, e.g. `orders/create`.
    pub topic: String,
    /// `X-Shopify-Shop-Domain`.
    pub shop: String,
    /// `X-Shopify-Event-Id`: the same for every delivery of one event.
    pub event_id: Option<String>,
    /// `X-Shopify-Webhook-Id`: one per delivery attempt.
    pub webhook_id: Option<String>,
    /// `X-Shopify-API-Version`.
    pub api_version: Option<String>,
    /// `X-Shopify-Triggered-At`.
    pub triggered_at: Option<String>,
    /// When the agent stored it.
    pub received_at: Timestamp,
    /// The body, when it is UTF-8 (always, for a well-formed delivery).
    pub body: Option<String>,
    /// The body as base64 when it is not UTF-8, so nothing is lost.
    pub body_base64: Option<String>,
}

/// A payload that does not decode as [`Work`].
#[derive(Debug, thiserror::Error)]
#[error("undecodable job payload: {0}")]
pub struct UndecodableWork(#[from] serde_json::Error);

impl Work {
    /// The payload bytes.
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self)
            .expect("Work is plain structs and strings: JSON serialization cannot fail")
    }

    /// Decodes payload bytes.
    pub fn decode(bytes: &[u8]) -> Result<Work, UndecodableWork> {
        Ok(serde_json::from_slice(bytes)?)
    }

    /// A short description for lists ("shopify webhook orders/create").
    pub fn kind(&self) -> String {
        match self {
            Work::ShopifyWebhook(delivery) => format!("shopify webhook {}", delivery.topic),
            Work::Reconcile { dry_run: true } => "reconcile (dry run)".into(),
            Work::Reconcile { dry_run: false } => "reconcile".into(),
            Work::InventoryPush => "inventory push".into(),
            Work::OrderSync { order, .. } => format!("order sync {order}"),
            Work::InventoryItem { sku, location } => {
                format!("inventory item {sku} at location {location}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_garbage() {
        let work = Work::Reconcile { dry_run: true };
        assert_eq!(Work::decode(&work.encode()).expect("decode"), work);
        assert!(Work::decode(b"{\"nope\":1}").is_err());
        assert_eq!(work.kind(), "reconcile (dry run)");
    }
}
