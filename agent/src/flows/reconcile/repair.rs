//! Repair through the normal write path: an inventory mismatch becomes the inventory
//! flow's own state change (a fresh ERP target for the pair, Shopify's figure as the
//! compare-and-swap base) and its coalesced push job, in one store write per chunk. The
//! push then does what it always does: batches of 250 rows, `changeFromQuantity` on every
//! row, idempotency keys; a level that moved since the run is re-read, never overwritten.

use std::collections::{BTreeMap, BTreeSet};

use plumb_common::Sku;
use plumb_common::protocol::{MismatchQuery, MismatchSelection, ParityDimension};

use crate::erp::{Erp, Selection};
use crate::flows::inventory::{formula, poller::targets, push_job};
use crate::flows::orders::backfill::{refund_sync_job, sync_job};
use crate::flows::products::{SKUS_PER_JOB, sync_job as products_sync_job};
use crate::store::{Failure, NewJob, TargetUpdate};

use super::super::FlowContext;
use super::findings::{OrderKind, OrderSync};

/// Pairs one repair write covers (and SKUs one ERP read asks for).
const CHUNK: usize = 2_000;
/// Mismatches read per page when repairing from a stored run.
const PAGE: u32 = 1_000;

/// One inventory mismatch to repair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockRepair {
    /// The mismatch id in its run.
    pub id: u64,
    /// The SKU.
    pub sku: String,
    /// The Shopify location.
    pub location: u64,
    /// What Shopify showed: the compare-and-swap base of the push.
    pub available: i64,
}

/// Queues the repair of `repairs` (mismatches of run `run`) and marks them repaired.
/// Returns how many were queued.
pub async fn stock(
    context: &FlowContext,
    erp: &dyn Erp,
    run: u64,
    repairs: &[StockRepair],
) -> Result<u64, Failure> {
    if repairs.is_empty() {
        return Ok(0);
    }
    let config = &context.config;
    let known: BTreeSet<String> = erp
        .warehouses()
        .await
        .map_err(Failure::from)?
        .into_iter()
        .map(|w| w.code)
        .collect();
    let locations: Vec<_> = config
        .locations
        .iter()
        .filter(|l| known.contains(&l.erp_warehouse))
        .cloned()
        .collect();
    let warehouses: Vec<String> = locations.iter().map(|l| l.erp_warehouse.clone()).collect();
    let inventory = context.inventory();
    let bundles: BTreeMap<&str, Vec<&str>> = inventory
        .bundles
        .iter()
        .map(|b| {
            (
                b.sku.as_str(),
                b.components.iter().map(|c| c.sku.as_str()).collect(),
            )
        })
        .collect();
    let mut queued = 0;
    for chunk in repairs.chunks(CHUNK) {
        // A bundle's target comes from its components: read those instead of the bundle.
        let mut read: BTreeSet<&str> = BTreeSet::new();
        for repair in chunk {
            match bundles.get(repair.sku.as_str()) {
                Some(components) => read.extend(components.iter().copied()),
                None => {
                    read.insert(repair.sku.as_str());
                }
            }
        }
        let skus: Vec<Sku> = read.iter().filter_map(|s| Sku::new(*s).ok()).collect();
        let levels = if warehouses.is_empty() {
            Vec::new()
        } else {
            erp.stock(Selection::Skus(&skus), &warehouses)
                .await
                .map_err(Failure::from)?
        };
        let mut fresh: BTreeMap<(String, u64), TargetUpdate> =
            targets(&inventory, &locations, &levels, &levels)
                .into_iter()
                .map(|u| ((u.sku.clone(), u.location), u))
                .collect();
        let mut updates = Vec::with_capacity(chunk.len());
        for repair in chunk {
            let Some(mapping) = locations
                .iter()
                .find(|l| l.shopify_location == repair.location)
            else {
                continue;
            };
            // The ERP has the SKU but no stock in the warehouse: nothing to sell.
            let update = fresh
                .remove(&(repair.sku.clone(), repair.location))
                .unwrap_or_else(|| TargetUpdate {
                    sku: repair.sku.clone(),
                    location: repair.location,
                    warehouse: mapping.erp_warehouse.clone(),
                    erp: 0,
                    base: formula::target(0, 0, 0),
                });
            updates.push((repair.id, update, repair.available));
        }
        let now = context.clock.now();
        let count = updates.len() as u64;
        context
            .store
            .write(move |ctx| {
                let mut ids = Vec::with_capacity(updates.len());
                for (id, update, available) in &updates {
                    ctx.set_inventory_target(update)?;
                    let at_target = ctx.inventory_observed(
                        &update.sku,
                        update.location,
                        *available,
                        false,
                        now,
                    )?;
                    if !at_target {
                        ctx.inventory_mark_pending(&update.sku, update.location)?;
                    }
                    ids.push((ParityDimension::Inventory, *id));
                }
                if !ids.is_empty() {
                    ctx.enqueue(push_job(), now)?;
                }
                ctx.parity_repairs_queued(run, &ids)
            })
            .await
            .map_err(Failure::from)?;
        queued += count;
    }
    tracing::info!(flow = "reconcile", run, queued, "inventory repairs queued");
    Ok(queued)
}

/// Queues the orders flow's sync of each of `syncs` (mismatch id, sync) of run `run` (a
/// sync already queued for the same change is not queued twice: the job's dedup key) and
/// marks them repaired. Returns how many were queued.
pub async fn orders(
    context: &FlowContext,
    run: u64,
    syncs: &[(u64, OrderSync)],
) -> Result<u64, Failure> {
    let jobs = syncs
        .iter()
        .map(|(id, sync)| {
            let job = if sync.refunds {
                refund_sync_job(sync.order, sync.updated_at)
            } else {
                sync_job(sync.order, sync.updated_at, sync.cancelled)
            };
            (job, vec![*id])
        })
        .collect();
    queue(
        context,
        run,
        ParityDimension::Orders,
        jobs,
        "order syncs queued",
    )
    .await
}

/// Queues the products flow's sync of each SKU of `syncs` (mismatch id, SKU) of run `run`,
/// in jobs of [`SKUS_PER_JOB`], and marks them repaired. The sync writes the fields the
/// ERP owns as it always does (`[products] on_conflict` applies: a field edited in Shopify
/// since the last sync is reverted or reported). Returns how many were queued.
pub async fn products(
    context: &FlowContext,
    run: u64,
    syncs: &[(u64, String)],
) -> Result<u64, Failure> {
    let jobs = syncs
        .chunks(SKUS_PER_JOB)
        .map(|chunk| {
            let skus = chunk.iter().map(|(_, sku)| sku.clone()).collect();
            let ids = chunk.iter().map(|(id, _)| *id).collect();
            (products_sync_job(skus), ids)
        })
        .collect();
    queue(
        context,
        run,
        ParityDimension::Catalog,
        jobs,
        "product syncs queued",
    )
    .await
}

/// Enqueues `jobs`, each with the mismatches of `dimension` in run `run` it repairs, and
/// marks those repaired in the same write ([`CHUNK`] jobs a write). Returns how many
/// mismatches.
async fn queue(
    context: &FlowContext,
    run: u64,
    dimension: ParityDimension,
    jobs: Vec<(NewJob, Vec<u64>)>,
    what: &'static str,
) -> Result<u64, Failure> {
    let mut queued = 0;
    let mut jobs = jobs.into_iter().peekable();
    while jobs.peek().is_some() {
        let chunk: Vec<_> = jobs.by_ref().take(CHUNK).collect();
        let now = context.clock.now();
        queued += chunk.iter().map(|(_, ids)| ids.len() as u64).sum::<u64>();
        context
            .store
            .write(move |ctx| {
                let mut repaired = Vec::new();
                for (job, ids) in &chunk {
                    ctx.enqueue(job.clone(), now)?;
                    repaired.extend(ids.iter().map(|id| (dimension, *id)));
                }
                ctx.parity_repairs_queued(run, &repaired)
            })
            .await
            .map_err(Failure::from)?;
    }
    if queued > 0 {
        tracing::info!(flow = "reconcile", run, queued, "{what}");
    }
    Ok(queued)
}

/// Repairs the selected mismatches of a finished run (those not repaired yet and that the
/// normal write path can repair); the others are left for a person.
pub async fn from_run(
    context: &FlowContext,
    erp: &dyn Erp,
    run: u64,
    selection: &MismatchSelection,
) -> Result<u64, Failure> {
    let mut repairs = Vec::new();
    let mut syncs = Vec::new();
    let mut products_syncs = Vec::new();
    let mut after = None;
    loop {
        let page = context
            .store
            .mismatches(MismatchQuery {
                run: Some(run),
                dimension: None,
                kind: None,
                after,
                limit: PAGE,
            })
            .await
            .map_err(Failure::from)?;
        for mismatch in &page.items {
            if mismatch.repaired || mismatch.repair.is_none() || !selection.selects(mismatch) {
                continue;
            }
            match mismatch.dimension {
                ParityDimension::Inventory => {
                    let (Some(location), Some(available)) = (
                        mismatch.location,
                        mismatch.shopify.as_deref().and_then(|s| s.parse().ok()),
                    ) else {
                        continue;
                    };
                    repairs.push(StockRepair {
                        id: mismatch.id,
                        sku: mismatch.subject.clone(),
                        location,
                        available,
                    });
                }
                ParityDimension::Orders => {
                    let sync = mismatch.subject.parse().ok().and_then(|order| {
                        OrderSync::parse(order, mismatch.shopify.as_deref().unwrap_or_default())
                    });
                    if let Some(sync) = sync {
                        let refunds = mismatch.kind == OrderKind::RefundDiffers.as_str();
                        syncs.push((mismatch.id, OrderSync { refunds, ..sync }));
                    }
                }
                // Only the kinds a flow repairs have a repair.
                ParityDimension::Catalog => {
                    products_syncs.push((mismatch.id, mismatch.subject.clone()))
                }
                ParityDimension::Money => {}
            }
        }
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    Ok(stock(context, erp, run, &repairs).await?
        + orders(context, run, &syncs).await?
        + products(context, run, &products_syncs).await?)
}
