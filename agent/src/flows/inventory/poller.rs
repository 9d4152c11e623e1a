//! The ERP stock poller: every `inventory.poll_interval` it asks the ERP what changed
//! since the stored cursor, turns each change into a target per SKU x Shopify location,
//! and stores the targets, the new cursor and the push job in one write.
//!
//! The first run has no cursor: it takes the ERP's cursor first, then reads all stock, so
//! a change made during the full read is reported again by the next poll (never lost). It
//! reads and stores the stock `FIRST_RUN_CHUNK` SKUs at a time, so a large catalogue does
//! not have to fit in memory at once; the cursor is stored after the last chunk.
//!
//! Orders the ERP booked before a poll began stop being held back in the write that stores
//! that poll's figures, which count their sales: never earlier (Shopify would be raised by
//! their units until the poll), never later (they would count twice).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use plumb_common::Sku;

use crate::config::{InventoryConfig, LocationMapping};
use crate::erp::{Cursor, Erp, ErpError, Selection, StockLevel};
use crate::flows::polling::{PollError, Polls, stored_cursor};
use crate::shutdown::Shutdown;
use crate::store::TargetUpdate;

use super::super::FlowContext;
use super::{formula, kits, push_job};

/// The store's name for the ERP stock cursor.
pub const CURSOR: &str = "inventory/erp_stock";

/// Polls until shutdown. Failures are logged and retried at the next tick.
pub async fn run(context: FlowContext, erp: Arc<dyn Erp>, shutdown: Shutdown) {
    let interval = context.config.inventory.poll_interval;
    let mut polls = Polls::new("inventory", "ERP stock", interval, shutdown);
    // Webhooks may have been missed while the agent was down: once the first poll has
    // stored the ERP's figures, every pair is compared with Shopify.
    let mut compared = false;
    let mut kits_read: Option<std::time::Instant> = None;
    while polls.tick().await {
        if context.config.inventory.erp_kits
            && kits_read.is_none_or(|at| at.elapsed() >= kits::REFRESH)
        {
            match refresh_kits(&context, erp.as_ref()).await {
                Ok(()) => kits_read = Some(std::time::Instant::now()),
                Err(error) => tracing::warn!(
                    flow = "inventory",
                    %error,
                    "cannot read the ERP's kits; trying again at the next poll"
                ),
            }
        }
        match poll_once(&context, erp.as_ref()).await {
            Ok(marked) => {
                polls.succeeded();
                if marked > 0 {
                    tracing::debug!(
                        flow = "inventory",
                        marked,
                        "stock changes queued for Shopify"
                    );
                }
                if !compared {
                    compared = compare_at_start(&context).await;
                }
            }
            Err(error) => polls.failed(&error),
        }
    }
}

/// Reads the ERP's kits; once the first run has stored the stock, the targets of kits new
/// or changed are computed from their components' stock now (a kit defined later, or
/// changed while the agent was down, does not wait for a component to move).
async fn refresh_kits(context: &FlowContext, erp: &dyn Erp) -> Result<(), PollError> {
    let changed = kits::refresh(context, erp).await?;
    if changed.is_empty() || context.store.cursor(CURSOR.to_owned()).await?.is_none() {
        return Ok(());
    }
    let kits = context.erp_kits.get();
    let skus: BTreeSet<Sku> = kits
        .iter()
        .filter(|kit| changed.contains(&kit.sku))
        .flat_map(|kit| kit.components.iter())
        .filter_map(|c| Sku::new(&c.sku).ok())
        .collect();
    let skus: Vec<Sku> = skus.into_iter().collect();
    let warehouses: Vec<String> = (context.config.locations.iter())
        .map(|l| l.erp_warehouse.clone())
        .collect();
    if skus.is_empty() || warehouses.is_empty() {
        return Ok(());
    }
    let levels = erp.stock(Selection::Skus(&skus), &warehouses).await?;
    let marked = store_targets(context, erp, &levels, &warehouses, None, Vec::new()).await?;
    tracing::info!(
        flow = "inventory",
        kits = changed.len(),
        marked,
        "targets of new or changed ERP kits computed from their components"
    );
    Ok(())
}

/// The start-up comparison; `false` if it must be tried again at the next tick.
async fn compare_at_start(context: &FlowContext) -> bool {
    let compared = async {
        super::compare::missing_locations(context).await?;
        super::compare::compare_all(context).await
    };
    match compared.await {
        Ok(off) => {
            tracing::info!(
                flow = "inventory",
                off_target = off,
                "start-up comparison with Shopify done"
            );
            true
        }
        Err(failure) => {
            tracing::warn!(flow = "inventory", cause = %failure.cause, error = %failure.message, "start-up comparison with Shopify failed; retrying at the next tick");
            false
        }
    }
}

/// SKUs a first run reads at a time: their stock in every warehouse is read, turned into
/// targets and stored before the next chunk is read, so the agent's memory does not grow
/// with the catalogue.
const FIRST_RUN_CHUNK: usize = 2_000;

/// One poll: reads the changes, stores their targets with the new cursor. Returns how many
/// pairs now wait to be pushed.
pub async fn poll_once(context: &FlowContext, erp: &dyn Erp) -> Result<usize, PollError> {
    let locations = &context.config.locations;
    // Read before the ERP is: these orders were booked before this poll began, so the
    // figures it reads count their sales, and their held lines are released in the same
    // write that stores those figures.
    let booked = context.store.orders_awaiting_stock().await?;
    if locations.is_empty() {
        if !booked.is_empty() {
            context
                .store
                .write(move |ctx| ctx.release_orders_awaiting_stock(&booked))
                .await?;
        }
        return Ok(0);
    }
    let warehouses: Vec<String> = locations.iter().map(|l| l.erp_warehouse.clone()).collect();
    match stored_cursor(&context.store, CURSOR).await? {
        Some(cursor) => {
            let changes = erp.stock_changes(&cursor, &warehouses).await?;
            let moved = (changes.cursor != cursor).then_some(changes.cursor);
            store_targets(context, erp, &changes.levels, &warehouses, moved, booked).await
        }
        None => {
            // The cursor first: a change made during the full read is reported again by
            // the next poll, never lost. Chunks are stored as they are read; the cursor
            // only once all are.
            let cursor = erp.stock_cursor().await?;
            let products = erp.products(Selection::All).await?;
            let skus: Vec<Sku> = products.into_iter().map(|p| p.sku).collect();
            let (mut read, mut marked) = (0, 0);
            for chunk in skus.chunks(FIRST_RUN_CHUNK) {
                let levels = erp.stock(Selection::Skus(chunk), &warehouses).await?;
                read += levels.len();
                marked +=
                    store_targets(context, erp, &levels, &warehouses, None, Vec::new()).await?;
            }
            tracing::info!(
                flow = "inventory",
                levels = read,
                skus = skus.len(),
                "first run: all ERP stock read"
            );
            Ok(
                marked
                    + store_targets(context, erp, &[], &warehouses, Some(cursor), booked).await?,
            )
        }
    }
}

/// Stores the targets `levels` make (with the bundles their components make), the new
/// `cursor` if it moved, and releases the `booked` orders' held lines, in one write that
/// queues the push if a pair now waits. Returns how many pairs wait.
async fn store_targets(
    context: &FlowContext,
    erp: &dyn Erp,
    levels: &[StockLevel],
    warehouses: &[String],
    cursor: Option<Cursor>,
    booked: Vec<u64>,
) -> Result<usize, PollError> {
    let inventory = context.inventory();
    let bundle_levels = bundle_component_levels(&inventory, erp, levels, warehouses).await?;
    let updates = targets(
        &inventory,
        &context.config.locations,
        levels,
        &bundle_levels,
    );
    if updates.is_empty() && cursor.is_none() && booked.is_empty() {
        return Ok(0);
    }
    let now = context.clock.now();
    let marked = context
        .store
        .write(move |ctx| {
            let mut marked = 0;
            for update in &updates {
                if ctx.set_inventory_target(update)? {
                    marked += 1;
                }
            }
            marked += ctx.release_orders_awaiting_stock(&booked)?;
            if let Some(cursor) = &cursor {
                ctx.set_cursor(CURSOR, cursor.0.as_bytes())?;
            }
            if marked > 0 {
                ctx.enqueue(push_job(), now)?;
            }
            Ok(marked)
        })
        .await?;
    Ok(marked)
}

/// The current stock of every component of every bundle that one of `levels` is a
/// component of, read fresh from the ERP: a component change recomputes its bundles, and
/// the other components' figures must be today's, not remembered ones.
async fn bundle_component_levels(
    config: &InventoryConfig,
    erp: &dyn Erp,
    levels: &[StockLevel],
    warehouses: &[String],
) -> Result<Vec<StockLevel>, ErpError> {
    let changed: BTreeSet<&str> = levels.iter().map(|l| l.sku.as_str()).collect();
    let components: BTreeSet<&str> = config
        .bundles
        .iter()
        .filter(|b| {
            b.components
                .iter()
                .any(|c| changed.contains(c.sku.as_str()))
        })
        .flat_map(|b| b.components.iter().map(|c| c.sku.as_str()))
        .collect();
    if components.is_empty() {
        return Ok(Vec::new());
    }
    let skus: Vec<Sku> = components
        .into_iter()
        .filter_map(|sku| Sku::new(sku).ok())
        .collect();
    erp.stock(Selection::Skus(&skus), warehouses).await
}

/// The targets for `levels` (and the bundles their components make, from
/// `bundle_levels`), for mapped warehouses only.
pub fn targets(
    config: &InventoryConfig,
    locations: &[LocationMapping],
    levels: &[StockLevel],
    bundle_levels: &[StockLevel],
) -> Vec<TargetUpdate> {
    let location_of: HashMap<&str, u64> = locations
        .iter()
        .map(|l| (l.erp_warehouse.as_str(), l.shopify_location))
        .collect();
    let update = |sku: &str, warehouse: &str, location: u64, erp: i64| {
        let buffer = formula::buffer(&config.buffers, sku, warehouse, erp);
        TargetUpdate {
            sku: sku.to_owned(),
            location,
            warehouse: warehouse.to_owned(),
            erp,
            base: formula::target(erp, buffer, 0),
        }
    };
    let bundle_skus: BTreeSet<&str> = config.bundles.iter().map(|b| b.sku.as_str()).collect();
    let mut updates = Vec::new();
    for level in levels {
        let Some(&location) = location_of.get(level.warehouse.as_str()) else {
            continue;
        };
        if bundle_skus.contains(level.sku.as_str()) {
            // Two figures for one SKU: the configured bundle wins, and someone must know.
            tracing::error!(
                flow = "inventory",
                sku = %level.sku,
                warehouse = %level.warehouse,
                cause = "bundle_stocked_in_erp",
                "SKU {} is a bundle in [[inventory.bundles]] but the ERP also stocks it in {}: its ERP stock is ignored and the bundle is computed from its components; remove the bundle definition or the ERP stock",
                level.sku,
                level.warehouse
            );
            continue;
        }
        let erp = formula::sellable(level, config.sellable);
        updates.push(update(level.sku.as_str(), &level.warehouse, location, erp));
    }
    let mut by_warehouse: BTreeMap<&str, HashMap<&str, i64>> = BTreeMap::new();
    for level in bundle_levels {
        by_warehouse
            .entry(level.warehouse.as_str())
            .or_default()
            .insert(
                level.sku.as_str(),
                formula::sellable(level, config.sellable),
            );
    }
    let moved: HashSet<&str> = levels.iter().map(|l| l.sku.as_str()).collect();
    for (warehouse, stock) in &by_warehouse {
        let Some(&location) = location_of.get(warehouse) else {
            continue;
        };
        for bundle in &config.bundles {
            let touched = bundle
                .components
                .iter()
                .any(|c| moved.contains(c.sku.as_str()));
            if touched {
                let units =
                    formula::bundle_units(&bundle.components, |sku| stock.get(sku).copied());
                updates.push(update(&bundle.sku, warehouse, location, units));
            }
        }
    }
    updates
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;

    use super::*;
    use crate::config::{BufferAmount, BufferRule, BundleComponent, BundleDefinition};

    fn level(sku: &str, warehouse: &str, available: i64) -> StockLevel {
        StockLevel {
            sku: Sku::new(sku).expect("sku"),
            warehouse: warehouse.to_owned(),
            on_hand: Decimal::from(available + 1),
            reserved: Decimal::ONE,
            incoming: Decimal::ZERO,
            available: Decimal::from(available),
        }
    }

    fn config() -> InventoryConfig {
        InventoryConfig {
            buffers: vec![BufferRule {
                warehouse: Some("WH-EAST".into()),
                sku: None,
                amount: BufferAmount::Units(1),
            }],
            bundles: vec![BundleDefinition {
                sku: "SET".into(),
                components: vec![
                    BundleComponent {
                        sku: "MUG".into(),
                        quantity: 2,
                    },
                    BundleComponent {
                        sku: "GLASS".into(),
                        quantity: 1,
                    },
                ],
            }],
            ..InventoryConfig::default()
        }
    }

    #[test]
    fn targets_follow_the_mapping_buffers_and_bundles() {
        let locations = [LocationMapping {
            erp_warehouse: "WH-EAST".into(),
            shopify_location: 7,
        }];
        let levels = [level("MUG", "WH-EAST", 9), level("MUG", "WH-WEST", 50)];
        let components = [level("MUG", "WH-EAST", 9), level("GLASS", "WH-EAST", 3)];
        let updates = targets(&config(), &locations, &levels, &components);
        let found: Vec<(&str, u64, i64, i64)> = updates
            .iter()
            .map(|u| (u.sku.as_str(), u.location, u.erp, u.base))
            .collect();
        assert_eq!(
            found,
            vec![("MUG", 7, 9, 8), ("SET", 7, 3, 2)],
            "WH-WEST is not mapped; the buffer applies to the bundle too"
        );
        // The ERP stocking the bundle's own SKU does not override the bundle.
        let direct = [level("SET", "WH-EAST", 50), level("MUG", "WH-EAST", 9)];
        let found: Vec<(String, i64)> = targets(&config(), &locations, &direct, &components)
            .into_iter()
            .map(|u| (u.sku, u.base))
            .collect();
        assert_eq!(
            found,
            vec![("MUG".to_owned(), 8), ("SET".to_owned(), 2)],
            "the bundle comes from its components only"
        );
        // A level of an unrelated SKU recomputes no bundle.
        let other = [level("TEE", "WH-EAST", 4)];
        assert_eq!(targets(&config(), &locations, &other, &[]).len(), 1);
    }
}
