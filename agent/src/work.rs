//! What a job carries: the agent's payload type, encoded as JSON so a dead letter reads as
//! what it is when an engineer opens it.
//!
//! A webhook delivery is the exception that carries most of the bytes: its body is kept
//! verbatim after a one-line JSON header (`{"shopify_webhook_v2":{..headers..}}`, a
//! newline, then the body as received), not as an escaped JSON string. Escaping a 15 KB
//! order body was the largest single cost of accepting a webhook; the raw form is also what
//! an engineer wants to read in a dead letter. Payloads stored as plain JSON `Work` by
//! earlier builds still decode.

use base64::Engine;
use serde::{Deserialize, Serialize};

use plumb_common::Timestamp;
use plumb_common::protocol::{MismatchSelection, RunScope, RunTrigger};

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
        /// How much it compares (payloads of earlier builds: a full run).
        #[serde(default)]
        scope: RunScope,
        /// Why it runs (payloads of earlier builds: on demand).
        #[serde(default)]
        trigger: RunTrigger,
    },
    /// The repair of some of a finished reconciliation run's mismatches.
    RepairMismatches {
        /// The run.
        run: u64,
        /// Which of its mismatches.
        selection: MismatchSelection,
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
    /// Every refund Shopify has for an order, booked in the ERP (each once): the repair of
    /// refunds the ERP lacks (a lost `refunds/create`), queued by reconciliation.
    RefundSync {
        /// The Shopify order id.
        order: u64,
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
    /// An ERP shipment to become a Shopify fulfilment (with its carrier and tracking) on
    /// the order's fulfillment orders.
    Fulfil {
        /// The shipment as the ERP reported it.
        shipment: crate::erp::Shipment,
    },
    /// Products the ERP changed (or Shopify reported): their ERP-owned fields compared
    /// with Shopify's and written where they differ.
    ProductSync {
        /// The SKUs.
        skus: Vec<String>,
    },
    /// One SKU the products flow could not sync (a conflicting edit in Shopify, a SKU on
    /// two variants, a refusal): kept as a dead letter so it is visible; retrying it writes
    /// the ERP's values (the ERP owns them).
    ProductItem {
        /// The SKU.
        sku: String,
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

/// The header line of a webhook delivery payload: the delivery without its body.
#[derive(Debug, Serialize, Deserialize)]
struct WebhookHeader {
    shopify_webhook_v2: HeaderFields,
}

#[derive(Debug, Serialize, Deserialize)]
struct HeaderFields {
    topic: String,
    shop: String,
    event_id: Option<String>,
    webhook_id: Option<String>,
    api_version: Option<String>,
    triggered_at: Option<String>,
    received_at: Timestamp,
}

const WEBHOOK_PREFIX: &[u8] = b"{\"shopify_webhook_v2\":";

impl WebhookDelivery {
    /// The payload: the header line, a newline, the body's bytes as received.
    fn encode(&self) -> Vec<u8> {
        let header = WebhookHeader {
            shopify_webhook_v2: HeaderFields {
                topic: self.topic.clone(),
                shop: self.shop.clone(),
                event_id: self.event_id.clone(),
                webhook_id: self.webhook_id.clone(),
                api_version: self.api_version.clone(),
                triggered_at: self.triggered_at.clone(),
                received_at: self.received_at,
            },
        };
        let body: std::borrow::Cow<'_, [u8]> = match (&self.body, &self.body_base64) {
            (Some(text), _) => text.as_bytes().into(),
            (None, Some(encoded)) => base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .map_or_else(|_| encoded.as_bytes().into(), Into::into),
            (None, None) => (&[][..]).into(),
        };
        let mut out = serde_json::to_vec(&header)
            .expect("the header is plain strings: JSON serialization cannot fail");
        out.reserve(body.len() + 1);
        out.push(b'\n');
        out.extend_from_slice(&body);
        out
    }

    /// Builds a delivery from its raw body, UTF-8 or not (then kept as base64).
    pub fn with_body(mut self, body: Vec<u8>) -> WebhookDelivery {
        match String::from_utf8(body) {
            Ok(text) => {
                self.body = Some(text);
                self.body_base64 = None;
            }
            Err(raw) => {
                self.body = None;
                self.body_base64 =
                    Some(base64::engine::general_purpose::STANDARD.encode(raw.as_bytes()));
            }
        }
        self
    }

    fn decode(bytes: &[u8]) -> Result<WebhookDelivery, UndecodableWork> {
        let split = bytes
            .iter()
            .position(|b| *b == b'\n')
            .unwrap_or(bytes.len());
        let header: WebhookHeader = serde_json::from_slice(&bytes[..split])?;
        let h = header.shopify_webhook_v2;
        let body = bytes.get(split + 1..).unwrap_or_default().to_vec();
        Ok(WebhookDelivery {
            topic: h.topic,
            shop: h.shop,
            event_id: h.event_id,
            webhook_id: h.webhook_id,
            api_version: h.api_version,
            triggered_at: h.triggered_at,
            received_at: h.received_at,
            body: None,
            body_base64: None,
        }
        .with_body(body))
    }
}

/// A payload that does not decode as [`Work`].
#[derive(Debug, thiserror::Error)]
#[error("undecodable job payload: {0}")]
pub struct UndecodableWork(#[from] serde_json::Error);

impl Work {
    /// The payload bytes.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Work::ShopifyWebhook(delivery) => delivery.encode(),
            other => serde_json::to_vec_pretty(other)
                .expect("Work is plain structs and strings: JSON serialization cannot fail"),
        }
    }

    /// Decodes payload bytes (both the webhook envelope and plain JSON `Work`).
    pub fn decode(bytes: &[u8]) -> Result<Work, UndecodableWork> {
        if bytes.starts_with(WEBHOOK_PREFIX) {
            return Ok(Work::ShopifyWebhook(WebhookDelivery::decode(bytes)?));
        }
        Ok(serde_json::from_slice(bytes)?)
    }

    /// A short description for lists ("shopify webhook orders/create").
    pub fn kind(&self) -> String {
        match self {
            Work::ShopifyWebhook(delivery) => format!("shopify webhook {}", delivery.topic),
            Work::Reconcile { dry_run, scope, .. } => {
                let dry = if *dry_run { " (dry run)" } else { "" };
                format!("reconcile {}{dry}", scope.as_str())
            }
            Work::RepairMismatches { run, .. } => format!("repair mismatches of run {run}"),
            Work::InventoryPush => "inventory push".into(),
            Work::OrderSync { order, .. } => format!("order sync {order}"),
            Work::RefundSync { order } => format!("refund sync of order {order}"),
            Work::ProductSync { skus } => format!("product sync of {} SKUs", skus.len()),
            Work::ProductItem { sku } => format!("product {sku}"),
            Work::InventoryItem { sku, location } => {
                format!("inventory item {sku} at location {location}")
            }
            Work::Fulfil { shipment } => format!(
                "fulfil shipment {} of order {}",
                shipment.number.as_deref().unwrap_or(&shipment.erp_id),
                shipment
                    .shopify_order_id
                    .map_or_else(|| "(none)".to_owned(), |id| id.to_string())
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_garbage() {
        let work = Work::Reconcile {
            dry_run: true,
            scope: RunScope::Full,
            trigger: RunTrigger::OnDemand,
        };
        assert_eq!(Work::decode(&work.encode()).expect("decode"), work);
        assert!(Work::decode(b"{\"nope\":1}").is_err());
        assert_eq!(work.kind(), "reconcile full (dry run)");
        // What earlier builds queued still decodes, as a full run asked for on demand.
        let legacy = br#"{"reconcile":{"dry_run":false}}"#;
        assert_eq!(
            Work::decode(legacy).expect("decode"),
            Work::Reconcile {
                dry_run: false,
                scope: RunScope::Full,
                trigger: RunTrigger::OnDemand,
            }
        );
    }

    fn delivery(body: &[u8]) -> WebhookDelivery {
        WebhookDelivery {
            topic: "orders/create".into(),
            shop: "plumb-test.myshopify.com".into(),
            event_id: Some("e-1".into()),
            webhook_id: None,
            api_version: Some("2026-07".into()),
            triggered_at: None,
            received_at: Timestamp(1_795_000_000_000),
            body: None,
            body_base64: None,
        }
        .with_body(body.to_vec())
    }

    #[test]
    fn a_webhook_keeps_its_body_verbatim_after_one_header_line() {
        let body = b"{\"id\": 1,\n \"note\": \"a \\\"quoted\\\" line\"}";
        let work = Work::ShopifyWebhook(delivery(body));
        let bytes = work.encode();
        assert!(bytes.ends_with(body), "{}", String::from_utf8_lossy(&bytes));
        assert_eq!(bytes.iter().filter(|b| **b == b'\n').count(), 2);
        assert_eq!(Work::decode(&bytes).expect("decode"), work);
        // Not UTF-8: kept as bytes, read back as base64.
        let raw = Work::ShopifyWebhook(delivery(&[0xff, 0xfe, b'{']));
        let decoded = Work::decode(&raw.encode()).expect("decode");
        assert_eq!(decoded, raw);
        // What earlier builds stored (plain JSON) still decodes.
        let legacy = serde_json::to_vec_pretty(&work).expect("json");
        assert_eq!(Work::decode(&legacy).expect("decode"), work);
    }
}
