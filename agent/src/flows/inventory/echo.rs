//! Shopify's `inventory_levels/update` webhooks. Each keeps the Shopify side of the
//! picture current (newest report wins), and is judged against the flow's record: our own
//! write coming back (an echo: ignored), Shopify already at the target, or drift, a change
//! made outside Plumb to a level the ERP owns (reverted or only reported, as configured).

use chrono::DateTime;
use serde::Deserialize;

use plumb_common::Timestamp;

use crate::config::DriftAction;
use crate::store::{Failure, ShopifyReport};
use crate::work::WebhookDelivery;

use super::super::FlowContext;
use super::push_job;

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

/// Handles one verified webhook delivery routed to the inventory flow.
pub async fn handle(context: &FlowContext, delivery: &WebhookDelivery) -> Result<(), Failure> {
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
    let (item, location) = (update.inventory_item_id, update.location_id);
    let Some(available) = update.available else {
        tracing::info!(
            flow = "inventory",
            item,
            location,
            "level of an untracked item reported; nothing to record"
        );
        return Ok(());
    };
    let sku = context
        .store
        .sku_of_item(item)
        .await
        .map_err(Failure::from)?;
    let revert = context.config.inventory.on_drift == DriftAction::Revert;
    let now = context.clock.now();
    let (recorded, report) = context
        .store
        .write(move |ctx| {
            if !ctx.record_shopify_level(item, location, available, updated_at)? {
                return Ok((false, None));
            }
            let Some(sku) = sku else {
                return Ok((true, None));
            };
            let report = ctx.inventory_reported(&sku, location, available, revert)?;
            if report == ShopifyReport::DriftAbove && revert {
                ctx.enqueue(push_job(), now)?;
            }
            Ok((true, Some((sku, report))))
        })
        .await
        .map_err(Failure::from)?;
    match report {
        _ if !recorded => tracing::debug!(item, location, "older level report ignored"),
        Some((sku, ShopifyReport::DriftAbove)) => tracing::warn!(
            flow = "inventory",
            %sku,
            location,
            available,
            revert,
            "Shopify level raised outside Plumb (drift)"
        ),
        Some((sku, ShopifyReport::DriftBelow)) => tracing::info!(
            flow = "inventory",
            %sku,
            location,
            available,
            "Shopify level below the target (a sale not imported yet, or a hand edit)"
        ),
        _ => {}
    }
    Ok(())
}
