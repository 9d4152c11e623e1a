//! Webhook deliveries signed and sent like Shopify's.

use std::time::Duration;

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Base64 HMAC-SHA256 of `body` under `secret`, computed independently of the agent's code.
pub fn sign(body: &[u8], secret: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(body);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// One delivery.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// `X-Shopify-Topic`.
    pub topic: String,
    /// `X-Shopify-Event-Id`.
    pub event_id: String,
    /// The raw body.
    pub body: Vec<u8>,
}

/// Sends deliveries to one receiver.
#[derive(Debug, Clone)]
pub struct Sender {
    client: reqwest::Client,
    url: String,
    secret: Vec<u8>,
}

impl Sender {
    /// A sender to `http://{address}/webhooks/shopify`, signing with `secret`.
    pub fn new(address: &str, secret: &[u8]) -> Sender {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .connect_timeout(Duration::from_secs(1))
            .build()
            .expect("reqwest client");
        Sender {
            client,
            url: format!("http://{address}/webhooks/shopify"),
            secret: secret.to_vec(),
        }
    }

    /// Sends one delivery signed with the right secret; returns the HTTP status.
    pub async fn send(&self, delivery: &Delivery) -> Result<u16, reqwest::Error> {
        self.send_signed(delivery, &sign(&delivery.body, &self.secret))
            .await
    }

    /// Sends one delivery with the given signature header.
    pub async fn send_signed(
        &self,
        delivery: &Delivery,
        signature: &str,
    ) -> Result<u16, reqwest::Error> {
        let response = self
            .client
            .post(&self.url)
            .header("Content-Type", "application/json")
            .header("X-Shopify-Topic", &delivery.topic)
            .header("X-Shopify-Hmac-Sha256", signature)
            .header("X-Shopify-Shop-Domain", "plumb-test.myshopify.com")
            .header("X-Shopify-API-Version", "2026-07")
            .header("X-Shopify-Event-Id", &delivery.event_id)
            .header("X-Shopify-Webhook-Id", format!("wh-{}", delivery.event_id))
            .header("X-Shopify-Triggered-At", "2026-11-23T12:00:00Z")
            .body(delivery.body.clone())
            .send()
            .await?;
        Ok(response.status().as_u16())
    }
}

/// An `inventory_levels/update` body shaped like Shopify's example payload, updated `seq`
/// seconds after midnight.
pub fn level_update(inventory_item_id: u64, location_id: u64, available: i64, seq: u64) -> Vec<u8> {
    // One second per sequence number, so later deliveries carry later times (within a day).
    let (hours, minutes, seconds) = ((seq / 3600) % 24, (seq / 60) % 60, seq % 60);
    format!(
        r#"{{"inventory_item_id":{inventory_item_id},"location_id":{location_id},"available":{available},"updated_at":"2026-11-23T{hours:02}:{minutes:02}:{seconds:02}-05:00","admin_graphql_api_id":"gid://shopify/InventoryLevel/{location_id}?inventory_item_id={inventory_item_id}"}}"#
    )
    .into_bytes()
}

/// Sends `per_producer` signed `inventory_levels/update` deliveries from each of
/// `producers` concurrent connections, event ids `{prefix}{seq}` for seq from `first`, and
/// asserts every one is answered 200. The load the benchmarks put on a real agent.
pub async fn send_level_updates(
    sender: &Sender,
    prefix: &str,
    first: u64,
    producers: u64,
    per_producer: u64,
) {
    let mut tasks = Vec::new();
    for t in 0..producers {
        let sender = sender.clone();
        let prefix = prefix.to_owned();
        tasks.push(tokio::spawn(async move {
            for n in 0..per_producer {
                let seq = first + t * per_producer + n;
                let delivery = Delivery {
                    topic: "inventory_levels/update".into(),
                    event_id: format!("{prefix}{seq}"),
                    body: level_update(seq % 500, 1, 1, seq),
                };
                let status = sender.send(&delivery).await.expect("send a webhook");
                assert_eq!(status, 200, "the agent refused delivery {seq}");
            }
        }));
    }
    for task in tasks {
        task.await.expect("producer task");
    }
}
