//! Shopify's mandatory compliance topics. The personal data Plumb holds is in the order and
//! refund deliveries it stores until they are booked (queued, in flight, dead letters, and
//! discarded dead letters kept for audit); completed jobs keep no payload. The ERP's copy
//! is the ERP's records, under the merchant's own retention duty: Plumb does not touch it.

use serde::Deserialize;

use crate::store::Failure;
use crate::work::Work;

use super::super::FlowContext;
use super::payload::{order_mentions, redact_order_body};

/// The customer a data request or redaction is about.
#[derive(Debug, Default, Deserialize)]
struct CustomerRef {
    id: Option<u64>,
    email: Option<String>,
}

/// `customers/data_request` and `customers/redact` bodies (`shop/redact` has neither list).
#[derive(Debug, Deserialize)]
struct ComplianceBody {
    #[serde(default)]
    customer: CustomerRef,
    #[serde(default)]
    orders_to_redact: Vec<u64>,
    #[serde(default)]
    orders_requested: Vec<u64>,
}

/// Whether a stored job payload is a webhook whose body names the customer.
fn names(payload: &[u8], customer: &CustomerRef, orders: &[u64]) -> bool {
    match Work::decode(payload) {
        Ok(Work::ShopifyWebhook(delivery)) => delivery.body.as_deref().is_some_and(|body| {
            order_mentions(body, customer.id, customer.email.as_deref(), orders)
        }),
        _ => false,
    }
}

/// The payload with its webhook body redacted, when `select` picks it.
fn redacted(payload: &[u8], select: &dyn Fn(&str) -> bool) -> Option<Vec<u8>> {
    let Ok(Work::ShopifyWebhook(mut delivery)) = Work::decode(payload) else {
        return None;
    };
    let body = delivery.body.as_deref()?;
    if !select(body) {
        return None;
    }
    let clean = redact_order_body(body)?;
    if clean == body {
        return None;
    }
    delivery.body = Some(clean);
    Some(Work::ShopifyWebhook(delivery).encode())
}

/// Runs one compliance delivery.
pub async fn handle(context: &FlowContext, topic: &str, body: &str) -> Result<(), Failure> {
    let request: ComplianceBody = serde_json::from_str(body).map_err(|e| {
        Failure::permanent(
            "malformed_payload",
            format!("{topic} body is not what Shopify sends: {e}"),
        )
    })?;
    match topic {
        "customers/data_request" => {
            let customer = request.customer;
            let orders = request.orders_requested;
            let customer_id = customer.id;
            let (jobs, audited) = context
                .store
                .find_payloads(move |payload| names(payload, &customer, &orders))
                .await?;
            let jobs: Vec<String> = jobs.iter().map(ToString::to_string).collect();
            tracing::warn!(
                flow = "orders",
                topic,
                customer = customer_id,
                stored_jobs = %jobs.join(","),
                audited,
                "customer data request: these stored deliveries hold the customer's data \
                 (`plumb dlq show ID` prints one); Plumb holds none elsewhere"
            );
            Ok(())
        }
        "customers/redact" => {
            let customer = request.customer;
            let orders = request.orders_to_redact;
            let customer_id = customer.id;
            let rewritten = context
                .store
                .write(move |ctx| {
                    ctx.rewrite_payloads(&|payload| {
                        redacted(payload, &|body| {
                            order_mentions(body, customer.id, customer.email.as_deref(), &orders)
                        })
                    })
                })
                .await?;
            tracing::info!(
                flow = "orders",
                topic,
                customer = customer_id,
                rewritten,
                "customer's personal data removed from stored deliveries"
            );
            Ok(())
        }
        _ => {
            let rewritten = context
                .store
                .write(|ctx| ctx.rewrite_payloads(&|payload| redacted(payload, &|_| true)))
                .await?;
            tracing::info!(
                flow = "orders",
                topic,
                rewritten,
                "shop redaction: personal data removed from every stored delivery"
            );
            Ok(())
        }
    }
}
