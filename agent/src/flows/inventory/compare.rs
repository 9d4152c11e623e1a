//! The full comparison: at start (after an outage, webhooks may have been missed) every
//! pair's Shopify level is read and judged as a stale compare-and-swap would be: a drop
//! not made by us is held back as sold, anything else off target is pushed through the
//! normal path.

use std::collections::BTreeMap;

use plumb_common::protocol::{InventoryKey, InventoryQuery};

use crate::store::Failure;

use super::super::FlowContext;
use super::push::read_levels;
use super::push_job;

/// Pairs read per page of the store and per round of Shopify reads.
const PAGE: u32 = 1_000;

/// The mapped Shopify locations that do not exist or are inactive in Shopify, each
/// logged at error: their pairs cannot be pushed, and each shows as failing with a dead
/// letter when the push meets it.
pub async fn missing_locations(context: &FlowContext) -> Result<Vec<u64>, Failure> {
    let Some(client) = context.shopify.as_ref() else {
        return Ok(Vec::new());
    };
    let known = client.locations().await.map_err(Failure::from)?;
    let mut missing = Vec::new();
    for mapping in &context.config.locations {
        let found = known.iter().find(|l| l.id == mapping.shopify_location);
        if found.is_none_or(|l| !l.is_active) {
            tracing::error!(
                flow = "inventory",
                location = mapping.shopify_location,
                warehouse = %mapping.erp_warehouse,
                state = if found.is_some() { "inactive" } else { "unknown" },
                "the Shopify location mapped from this ERP warehouse is unknown or inactive in \
                 Shopify: fix [[locations]] or reactivate the location; its stock cannot be pushed"
            );
            missing.push(mapping.shopify_location);
        }
    }
    Ok(missing)
}

/// Compares every pair with Shopify; returns how many were off target.
pub async fn compare_all(context: &FlowContext) -> Result<usize, Failure> {
    let Some(client) = context.shopify.as_ref() else {
        return Ok(0);
    };
    let mut after: Option<InventoryKey> = None;
    let mut off = 0;
    loop {
        let page = context
            .store
            .list_inventory(InventoryQuery {
                after: after.clone(),
                status: None,
                limit: PAGE,
            })
            .await
            .map_err(Failure::from)?;
        let skus: Vec<String> = page.items.iter().map(|r| r.sku.clone()).collect();
        let resolution = client
            .resolve_skus(&context.store, &context.clock, &skus, false)
            .await
            .map_err(Failure::from)?;
        let mut pairs = BTreeMap::new();
        for row in &page.items {
            if let Some(mapping) = resolution.found.get(&row.sku).filter(|m| m.tracked) {
                pairs.insert((mapping.inventory_item_id, row.location), row);
            }
        }
        let keys: Vec<(u64, u64)> = pairs.keys().copied().collect();
        let current = read_levels(client, &keys).await?;
        // With the Shopify figure the store had when the page was listed: a push (or a
        // webhook) that changed it since makes this read stale, and it is skipped rather
        // than taken as units sold.
        let observed: Vec<(String, u64, i64, Option<i64>)> = pairs
            .iter()
            .filter_map(|(key, row)| {
                let value = *current.get(key)?;
                (row.shopify != Some(value) || value != row.target)
                    .then(|| (row.sku.clone(), row.location, value, row.shopify))
            })
            .collect();
        off += observed.len();
        if !observed.is_empty() {
            let now = context.clock.now();
            context
                .store
                .write(move |ctx| {
                    let mut pending = false;
                    for (sku, location, value, listed) in &observed {
                        let now_known = ctx.inventory_record(sku, *location)?.map(|r| r.shopify);
                        if now_known != Some(*listed) {
                            continue;
                        }
                        pending |= !ctx.inventory_observed(sku, *location, *value, true, now)?;
                    }
                    if pending {
                        ctx.enqueue(push_job(), now)?;
                    }
                    Ok(())
                })
                .await
                .map_err(Failure::from)?;
        }
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(off),
        }
    }
}
