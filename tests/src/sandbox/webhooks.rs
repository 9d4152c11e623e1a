//! Webhook delivery as Shopify does it: one POST per subscription and event, signed with
//! base64 HMAC-SHA256 of the raw body under the app secret, all the `X-Shopify-*` headers,
//! 1 s connect / 5 s total timeout, anything but 2xx a failure, 8 retries with exponential
//! backoff, and the subscription deleted after the last failure. Duplicates and reordering
//! come from the fault injector. Every attempt is logged for tests to inspect.

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::Shared;
use super::state::{Event, State, now};

/// Base64 HMAC-SHA256 of `body` under `secret`.
pub fn sign(body: &[u8], secret: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail; fall back to an empty
    // signature rather than panic if it ever did.
    match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(mut mac) => {
            mac.update(body);
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
        }
        Err(_) => String::new(),
    }
}

/// One delivery to make: an event for one subscription.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The subscription.
    pub subscription_id: u64,
    /// Callback URL.
    pub uri: String,
    /// REST topic, e.g. `orders/create`.
    pub topic: String,
    /// The raw body (what is signed).
    pub body: Vec<u8>,
    /// `X-Shopify-Webhook-Id`: this delivery.
    pub webhook_id: String,
    /// `X-Shopify-Event-Id`: the event, shared by every subscription's delivery of it.
    pub event_id: String,
    /// `X-Shopify-Triggered-At`.
    pub triggered_at: String,
    /// `X-Shopify-API-Version`: the subscription's version.
    pub api_version: &'static str,
}

/// How a delivery ended (so far).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Still trying.
    Pending,
    /// A 2xx answer.
    Delivered,
    /// Every attempt failed; the subscription was removed.
    Failed,
    /// Never sent (an injected fault).
    Dropped,
}

/// One attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    /// HTTP status, if there was an answer.
    pub status: Option<u16>,
    /// Transport error, if there was no answer.
    pub error: Option<String>,
    /// Milliseconds since the delivery's first attempt.
    pub at_ms: u64,
}

/// The log of one delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryRecord {
    /// `X-Shopify-Webhook-Id`.
    pub webhook_id: String,
    /// `X-Shopify-Event-Id`.
    pub event_id: String,
    /// Topic.
    pub topic: String,
    /// Callback URL.
    pub uri: String,
    /// Subscription.
    pub subscription_id: u64,
    /// Whether this is an injected duplicate.
    pub duplicate: bool,
    /// Attempts so far.
    pub attempts: Vec<Attempt>,
    /// Outcome.
    pub outcome: Outcome,
    /// Whether the subscription was deleted after the last failure.
    pub subscription_removed: bool,
    /// The body sent.
    pub body: String,
    /// The signature sent.
    pub hmac: String,
}

/// Deliveries for `events`, one per matching subscription.
pub fn route(state: &State, events: Vec<Event>) -> Vec<Delivery> {
    let mut deliveries = Vec::new();
    for event in events {
        let body = serde_json::to_vec(&event.payload).unwrap_or_default();
        let event_id = uuid::Uuid::new_v4().to_string();
        let triggered_at = super::payloads::stamp(now());
        for sub in state
            .subscriptions
            .values()
            .filter(|s| s.topic == event.topic)
        {
            deliveries.push(Delivery {
                subscription_id: sub.id,
                uri: sub.uri.clone(),
                topic: event.topic.to_owned(),
                body: body.clone(),
                webhook_id: uuid::Uuid::new_v4().to_string(),
                event_id: event_id.clone(),
                triggered_at: triggered_at.clone(),
                api_version: sub.api_version,
            });
        }
    }
    deliveries
}

/// Delivers in the background, with retries, duplicates and reordering.
pub fn spawn(shared: Arc<Shared>, delivery: Delivery) {
    tokio::spawn(async move {
        let dropped = shared.lock_faults().drop_webhook();
        if dropped {
            tracing::info!(topic = %delivery.topic, event_id = %delivery.event_id, "fault: webhook dropped");
            shared.lock_deliveries().push(DeliveryRecord {
                webhook_id: delivery.webhook_id.clone(),
                event_id: delivery.event_id.clone(),
                topic: delivery.topic.clone(),
                uri: delivery.uri.clone(),
                subscription_id: delivery.subscription_id,
                duplicate: false,
                attempts: Vec::new(),
                outcome: Outcome::Dropped,
                subscription_removed: false,
                body: String::from_utf8_lossy(&delivery.body).into_owned(),
                hmac: String::new(),
            });
            return;
        }
        let delay = shared.lock_faults().reorder_webhook();
        if let Some(delay) = delay {
            tokio::time::sleep(delay).await;
        }
        let duplicate = shared.lock_faults().duplicate_webhook();
        run(&shared, &delivery, false).await;
        if duplicate {
            run(&shared, &delivery, true).await;
        }
    });
}

async fn run(shared: &Arc<Shared>, delivery: &Delivery, duplicate: bool) {
    let config = &shared.config;
    let hmac = sign(&delivery.body, config.app_secret.as_bytes());
    let index = {
        let mut log = shared.lock_deliveries();
        log.push(DeliveryRecord {
            webhook_id: delivery.webhook_id.clone(),
            event_id: delivery.event_id.clone(),
            topic: delivery.topic.clone(),
            uri: delivery.uri.clone(),
            subscription_id: delivery.subscription_id,
            duplicate,
            attempts: Vec::new(),
            outcome: Outcome::Pending,
            subscription_removed: false,
            body: String::from_utf8_lossy(&delivery.body).into_owned(),
            hmac: hmac.clone(),
        });
        log.len() - 1
    };
    let started = Instant::now();
    let shop_domain = format!("{}.myshopify.com", config.shop_name);
    for attempt in 0..=config.webhook_retries {
        if attempt > 0 {
            let factor = 2f64.powi(attempt as i32 - 1);
            let delay =
                config.webhook_retry_base.as_secs_f64() * factor * config.webhook_time_scale;
            tokio::time::sleep(Duration::from_secs_f64(delay.max(0.0))).await;
        }
        let result = shared
            .webhook_client
            .post(&delivery.uri)
            .header("Content-Type", "application/json")
            .header("X-Shopify-Topic", &delivery.topic)
            .header("X-Shopify-Hmac-Sha256", &hmac)
            .header("X-Shopify-Shop-Domain", &shop_domain)
            .header("X-Shopify-API-Version", delivery.api_version)
            .header("X-Shopify-Webhook-Id", &delivery.webhook_id)
            .header("X-Shopify-Event-Id", &delivery.event_id)
            .header("X-Shopify-Triggered-At", &delivery.triggered_at)
            .header(
                "X-Shopify-Name",
                format!("plumb-sandbox-{}", delivery.subscription_id),
            )
            .body(delivery.body.clone())
            .send()
            .await;
        let (status, error) = match result {
            Ok(response) => (Some(response.status().as_u16()), None),
            Err(error) => (None, Some(error.to_string())),
        };
        let delivered = status.is_some_and(|s| (200..300).contains(&s));
        {
            let mut log = shared.lock_deliveries();
            if let Some(record) = log.get_mut(index) {
                record.attempts.push(Attempt {
                    status,
                    error: error.clone(),
                    at_ms: started.elapsed().as_millis() as u64,
                });
                if delivered {
                    record.outcome = Outcome::Delivered;
                }
            }
        }
        if delivered {
            return;
        }
        tracing::warn!(topic = %delivery.topic, uri = %delivery.uri, attempt, ?status, error = error.as_deref().unwrap_or(""), "webhook delivery failed");
    }
    let removed = shared
        .lock_state()
        .subscriptions
        .remove(&delivery.subscription_id)
        .is_some();
    tracing::error!(topic = %delivery.topic, uri = %delivery.uri, removed, "webhook delivery gave up; subscription deleted");
    let mut log = shared.lock_deliveries();
    if let Some(record) = log.get_mut(index) {
        record.outcome = Outcome::Failed;
        record.subscription_removed = removed;
    }
}
