//! The push job: brings every pending SKU x location to its target in Shopify, in
//! `inventorySetQuantities` calls of up to 250 rows with compare-and-swap on every row.
//!
//! One job pushes up to [`ROWS_PER_ROUND`] pending pairs a round, for at most
//! `MAX_ROUNDS` rounds, then queues a new push job for the rest. A stale row (Shopify
//! changed since we last knew it: a sale, a hand edit) changed nothing: its level is
//! re-read, the store recomputes whether it is at target, and the next round pushes the
//! rest with the fresh `changeFromQuantity`. Transient failures return to the queue, which
//! retries the job with the same id: the same rows make the same idempotency keys.

use std::collections::{BTreeMap, HashMap};

use plumb_common::Timestamp;

use crate::shopify::{BatchStatus, SetRequest, SetRow, ShopifyClient};
use crate::store::{Failure, LeasedJob, PendingPush};

use super::super::FlowContext;
use super::{item_dead_letter, push_job};

/// Pending pairs one round reads (four full calls).
pub const ROWS_PER_ROUND: usize = 1_000;
/// Rounds one job runs before it hands the rest back to the queue.
const MAX_ROUNDS: usize = 20;

/// A pair that cannot be pushed as things are, and why.
struct Unpushable<'a> {
    pair: &'a PendingPush,
    cause: &'static str,
    message: String,
}

/// Runs one push job.
pub async fn run(context: &FlowContext, job: &LeasedJob) -> Result<(), Failure> {
    let Some(client) = context.shopify.as_ref() else {
        return Err(Failure::transient(
            "shopify_not_configured",
            "no [shopify] section: inventory pushes wait until Shopify is configured",
        ));
    };
    for _ in 0..MAX_ROUNDS {
        let pending = context
            .store
            .pending_pushes(ROWS_PER_ROUND)
            .await
            .map_err(Failure::from)?;
        if pending.is_empty() {
            return Ok(());
        }
        round(context, client, job, &pending).await?;
    }
    // A large backlog (a first run, a catalogue-wide change): nothing failed, so the rest
    // goes to a fresh job behind whatever else is queued, not to a retry that counts
    // against the job's attempts.
    let now = context.clock.now();
    context
        .store
        .write(move |ctx| ctx.enqueue(push_job(), now))
        .await
        .map_err(Failure::from)?;
    tracing::info!(
        flow = "inventory",
        job = %job.id,
        rounds = MAX_ROUNDS,
        "inventory push continues in a new job"
    );
    Ok(())
}

/// One round over `pending`: resolve SKUs, learn unknown levels, push the rest.
async fn round(
    context: &FlowContext,
    client: &ShopifyClient,
    job: &LeasedJob,
    pending: &[PendingPush],
) -> Result<(), Failure> {
    let skus: Vec<String> = pending.iter().map(|p| p.sku.clone()).collect();
    let resolution = client
        .resolve_skus(&context.store, &context.clock, &skus, false)
        .await
        .map_err(Failure::from)?;
    let mut unpushable = Vec::new();
    let mut known = Vec::new();
    for pair in pending {
        match resolution.found.get(&pair.sku) {
            Some(mapping) if mapping.tracked => known.push((pair, mapping.inventory_item_id)),
            Some(_) => unpushable.push(Unpushable {
                pair,
                cause: "untracked_item",
                message: format!(
                    "SKU {} is not tracked in Shopify: turn on \"Track quantity\" for it, or stop selling it from location {}",
                    pair.sku, pair.location
                ),
            }),
            None => unpushable.push(Unpushable {
                pair,
                cause: "unknown_sku",
                message: format!(
                    "SKU {} (ERP warehouse {}) has no variant in Shopify: create it, or fix the SKU on either side",
                    pair.sku, pair.record.warehouse
                ),
            }),
        }
    }
    // Pairs whose Shopify figure was never read: read it, so every row carries a real
    // changeFromQuantity.
    let unread: Vec<(u64, u64)> = known
        .iter()
        .filter(|(pair, _)| pair.record.shopify.is_none())
        .map(|(pair, item)| (*item, pair.location))
        .collect();
    let current = read_levels(client, &unread).await?;
    let mut rows = Vec::new();
    let mut row_pairs = Vec::new();
    let mut observed = Vec::new();
    for (pair, item) in known {
        let believed = match pair.record.shopify {
            Some(value) => value,
            None => match current.get(&(item, pair.location)) {
                Some(&value) => {
                    observed.push((pair.sku.clone(), pair.location, value));
                    value
                }
                None => {
                    unpushable.push(Unpushable {
                        pair,
                        cause: "not_stocked_at_location",
                        message: format!(
                            "SKU {} is not stocked at Shopify location {}: activate the item there, or fix [[locations]] if the location does not exist",
                            pair.sku, pair.location
                        ),
                    });
                    continue;
                }
            },
        };
        if believed == pair.record.target {
            observed.push((pair.sku.clone(), pair.location, believed));
            continue;
        }
        rows.push(SetRow {
            inventory_item_id: item,
            location_id: pair.location,
            quantity: pair.record.target,
            change_from_quantity: Some(believed),
        });
        row_pairs.push(pair);
    }
    record_unpushable(context, &unpushable).await?;
    record_observed(context, observed, false).await?;
    if rows.is_empty() {
        return Ok(());
    }
    let request = SetRequest::available(job.id, rows);
    let outcome = match client.set_inventory(&request).await {
        Ok(outcome) => outcome,
        Err(error) => {
            let failure = Failure::from(error);
            mark_failing(context, &row_pairs, &failure.cause).await?;
            return Err(failure);
        }
    };
    let now = context.clock.now();
    let mut pushed = Vec::new();
    let mut stale = Vec::new();
    let mut failed = Vec::new();
    for batch in &outcome.batches {
        let pairs = row_pairs.get(batch.rows.clone()).unwrap_or_default();
        match &batch.status {
            BatchStatus::Applied => pushed.extend(pairs.iter().copied()),
            BatchStatus::Stale { rows } => {
                stale.extend(
                    rows.iter()
                        .filter_map(|&i| Some((*request.rows.get(i)?, *row_pairs.get(i)?))),
                );
            }
            BatchStatus::ConcurrentRequest | BatchStatus::Failed(_) => {
                failed.extend(pairs.iter().copied());
            }
        }
    }
    record_pushed(context, &pushed, now).await?;
    tracing::info!(flow = "inventory", job = %job.id, pushed = pushed.len(), stale = stale.len(), failed = failed.len(), "inventory pushed");
    if !stale.is_empty() {
        let keys: Vec<(u64, u64)> = stale
            .iter()
            .map(|(row, _)| (row.inventory_item_id, row.location_id))
            .collect();
        let fresh = read_levels(client, &keys).await?;
        let observed = stale
            .iter()
            .filter_map(|(row, pair)| {
                let value = fresh.get(&(row.inventory_item_id, row.location_id))?;
                Some((pair.sku.clone(), pair.location, *value))
            })
            .collect();
        record_observed(context, observed, true).await?;
    }
    if let Some(failure) = outcome.failure() {
        mark_failing(context, &failed, &failure.cause).await?;
        return Err(failure);
    }
    Ok(())
}

/// `available` of each (item, location), read through the client; pairs the item is not
/// stocked at are absent.
pub(super) async fn read_levels(
    client: &ShopifyClient,
    pairs: &[(u64, u64)],
) -> Result<HashMap<(u64, u64), i64>, Failure> {
    let mut by_location: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    for &(item, location) in pairs {
        by_location.entry(location).or_default().push(item);
    }
    let mut current = HashMap::new();
    for (location, items) in by_location {
        let levels = client
            .inventory_levels(&items, &[location], &["available"])
            .await
            .map_err(Failure::from)?;
        for level in levels {
            if let Some(&available) = level.quantities.get("available") {
                current.insert((level.inventory_item_id, level.location_id), available);
            }
        }
    }
    Ok(current)
}

async fn record_unpushable(context: &FlowContext, items: &[Unpushable<'_>]) -> Result<(), Failure> {
    if items.is_empty() {
        return Ok(());
    }
    for item in items {
        tracing::error!(flow = "inventory", sku = %item.pair.sku, location = item.pair.location, cause = item.cause, "{}", item.message);
    }
    let entries: Vec<(String, u64, u64, Failure)> = items
        .iter()
        .map(|i| {
            (
                i.pair.sku.clone(),
                i.pair.location,
                i.pair.record.version,
                Failure::permanent(i.cause, i.message.clone()),
            )
        })
        .collect();
    let now = context.clock.now();
    context
        .store
        .write(move |ctx| {
            for (sku, location, version, failure) in entries {
                ctx.inventory_failing(&sku, location, &failure.cause, true)?;
                ctx.enqueue(item_dead_letter(&sku, location, version, failure), now)?;
            }
            Ok(())
        })
        .await
        .map_err(Failure::from)
}

async fn record_observed(
    context: &FlowContext,
    observed: Vec<(String, u64, i64)>,
    stale: bool,
) -> Result<(), Failure> {
    if observed.is_empty() {
        return Ok(());
    }
    let now = context.clock.now();
    context
        .store
        .write(move |ctx| {
            for (sku, location, value) in &observed {
                ctx.inventory_observed(sku, *location, *value, stale, now)?;
            }
            Ok(())
        })
        .await
        .map_err(Failure::from)
}

async fn record_pushed(
    context: &FlowContext,
    pushed: &[&PendingPush],
    now: Timestamp,
) -> Result<(), Failure> {
    if pushed.is_empty() {
        return Ok(());
    }
    let entries: Vec<(String, u64, u64, i64)> = pushed
        .iter()
        .map(|p| (p.sku.clone(), p.location, p.record.version, p.record.target))
        .collect();
    context
        .store
        .write(move |ctx| {
            for (sku, location, version, value) in &entries {
                ctx.inventory_pushed(sku, *location, *version, *value, now)?;
            }
            Ok(())
        })
        .await
        .map_err(Failure::from)
}

async fn mark_failing(
    context: &FlowContext,
    pairs: &[&PendingPush],
    cause: &str,
) -> Result<(), Failure> {
    if pairs.is_empty() {
        return Ok(());
    }
    let keys: Vec<(String, u64)> = pairs.iter().map(|p| (p.sku.clone(), p.location)).collect();
    let cause = cause.to_owned();
    context
        .store
        .write(move |ctx| {
            for (sku, location) in &keys {
                ctx.inventory_failing(sku, *location, &cause, false)?;
            }
            Ok(())
        })
        .await
        .map_err(Failure::from)
}
