//! Every table of the store, and the start-up migration that creates them.
//!
//! Keys that must sort (due times, ids) are integers in composite tuple keys, so a range
//! scan is an index scan. Values are bytes we decode ourselves ([`super::records`]), so a
//! record this build cannot read is an error we handle, never a panic in redb.

use redb::{ReadableTable, TableDefinition, WriteTransaction};

use super::StoreError;

/// Bumped whenever a table's key or value layout changes; [`migrate`] knows every older one.
pub const SCHEMA_VERSION: u64 = 6;

/// `schema_version`, `next_job_id`, `completed_total`, `next_audit_id`.
pub const META: TableDefinition<'_, &str, u64> = TableDefinition::new("meta");
/// Job id -> [`super::records::JobRecord`] for pending, in-flight and dead jobs.
pub const JOBS: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("jobs");
/// Job id -> payload bytes (decoded by the flow, not by the store).
pub const PAYLOADS: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("payloads");
/// (flow code, due ms, job id): the due-time index of pending jobs.
pub const PENDING: TableDefinition<'_, (u8, u64, u64), ()> = TableDefinition::new("pending");
/// (lease end ms, job id): in-flight jobs by lease expiry.
pub const LEASES: TableDefinition<'_, (u64, u64), ()> = TableDefinition::new("leases");
/// Dedup key -> (job id, expiry ms): the idempotency ledger of enqueues.
pub const DEDUP: TableDefinition<'_, &str, (u64, u64)> = TableDefinition::new("dedup");
/// (expiry ms, dedup key): the ledger's expiry index.
pub const DEDUP_EXPIRY: TableDefinition<'_, (u64, &str), ()> = TableDefinition::new("dedup_expiry");
/// Coalescing key -> the pending job that holds it.
pub const COALESCE: TableDefinition<'_, &str, u64> = TableDefinition::new("coalesce");
/// (dead-lettered at ms, job id): dead letters by time.
pub const DEAD: TableDefinition<'_, (u64, u64), ()> = TableDefinition::new("dead");
/// Job id -> (completed at ms, flow code): completed jobs, kept for `done_retention`.
pub const DONE: TableDefinition<'_, u64, (u64, u8)> = TableDefinition::new("done");
/// (completed at ms, job id): the expiry index of [`DONE`].
pub const DONE_BY_TIME: TableDefinition<'_, (u64, u64), ()> = TableDefinition::new("done_by_time");
/// Audit id -> [`super::records::AuditRecord`]: discarded and evicted dead letters.
pub const AUDIT: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("audit");
/// Flow code -> paused since ms. Absent: running.
pub const PAUSED: TableDefinition<'_, u8, u64> = TableDefinition::new("paused");
/// Named sync cursors of the sources (ERP change polls, Shopify backfill).
pub const CURSORS: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("cursors");
/// (inventory item id, location id) -> (available, updated at ms): the last level Shopify
/// reported, from its webhooks or our reads.
pub const SHOPIFY_LEVELS: TableDefinition<'_, (u64, u64), (i64, u64)> =
    TableDefinition::new("shopify_levels");
/// SKU -> (variant id, inventory item id, tracked, refreshed at ms): Shopify's ids for a
/// SKU, cached from lookups and refreshed on a miss.
pub const SKU_MAPPINGS: TableDefinition<'_, &str, (u64, u64, bool, u64)> =
    TableDefinition::new("sku_mappings");
/// Inventory item id -> SKU: the reverse of [`SKU_MAPPINGS`], for webhooks that name items.
pub const ITEM_SKUS: TableDefinition<'_, u64, &str> = TableDefinition::new("item_skus");
/// (SKU, Shopify location) -> [`super::inventory::InventoryRecord`]: the inventory flow's
/// picture of each pair (ERP figure, target, Shopify figure, status). Since version 2.
pub const INVENTORY: TableDefinition<'_, (&str, u64), &[u8]> = TableDefinition::new("inventory");
/// (SKU, Shopify location) -> record version: pairs whose target waits to be pushed.
pub const INVENTORY_DIRTY: TableDefinition<'_, (&str, u64), u64> =
    TableDefinition::new("inventory_dirty");
/// (Shopify order id, SKU, Shopify location) -> units: order lines Shopify committed that
/// the ERP has not imported yet, filled by the orders flow.
pub const UNIMPORTED_LINES: TableDefinition<'_, (u64, &str, u64), i64> =
    TableDefinition::new("unimported_lines");
/// (SKU, Shopify location) -> units: the sum of [`UNIMPORTED_LINES`] per pair.
pub const UNIMPORTED_TOTALS: TableDefinition<'_, (&str, u64), i64> =
    TableDefinition::new("unimported_totals");

/// Shopify order id -> [`super::orders::BookedOrderRecord`]: the orders the ERP has booked.
/// Since version 3.
pub const ORDERS: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("orders");
/// Shopify order id -> booked at (ms): orders the ERP has booked whose lines still lower
/// the inventory targets until an ERP stock poll that began after the booking (and so
/// counts the sale) is stored. Since version 4.
pub const ORDERS_AWAITING_STOCK: TableDefinition<'_, u64, u64> =
    TableDefinition::new("orders_awaiting_stock");
/// (Shopify order id, ERP shipment id) -> [`super::fulfilment::FulfilledShipmentRecord`]:
/// the ERP shipments Shopify has as fulfilments. Since version 5.
pub const FULFILMENTS: TableDefinition<'_, (u64, &str), &[u8]> =
    TableDefinition::new("fulfilments");
/// SKU -> [`super::products::SyncedProductRecord`]: the ERP-owned product fields as Plumb
/// last saw Shopify agree with the ERP, to tell an edit made in Shopify from a change
/// made in the ERP. Since version 6.
pub const PRODUCTS_SYNCED: TableDefinition<'_, &str, &[u8]> =
    TableDefinition::new("products_synced");

/// Incident id -> the protocol's `Incident`: alert incidents, open and recently
/// resolved. Since version 6.
pub const INCIDENTS: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("incidents");
/// Message id -> [`super::alerts::AlertMessage`]: alert messages not yet accepted by the
/// endpoint, delivered in id order. Since version 6.
pub const ALERT_OUTBOX: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("alert_outbox");
/// Run id -> [`plumb_common::parity::ParityRun`]: the reconciliation runs, kept for
/// `reconcile.keep_runs`. Since version 6.
pub const PARITY_RUNS: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("parity_runs");
/// (run id, mismatch id) -> [`plumb_common::parity::Mismatch`]: what each run found.
/// Since version 6.
pub const PARITY_MISMATCHES: TableDefinition<'_, (u64, u64), &[u8]> =
    TableDefinition::new("parity_mismatches");
/// Dimension code -> the latest finished run that compared it: the cheap read behind the
/// console's Parity view and the "parity below" alert rule. Since version 6.
pub const PARITY_LATEST: TableDefinition<'_, u8, u64> = TableDefinition::new("parity_latest");

pub const META_SCHEMA_VERSION: &str = "schema_version";
pub const META_NEXT_JOB_ID: &str = "next_job_id";
pub const META_COMPLETED_TOTAL: &str = "completed_total";
pub const META_NEXT_AUDIT_ID: &str = "next_audit_id";
pub const META_NEXT_INCIDENT_ID: &str = "next_incident_id";
pub const META_NEXT_ALERT_MESSAGE_ID: &str = "next_alert_message_id";
pub const META_NEXT_PARITY_RUN: &str = "next_parity_run";

/// Creates every table and records the schema version, in the caller's transaction, so a
/// store is either fully initialised or untouched. Refuses a file written by a newer build.
pub fn migrate(txn: &WriteTransaction) -> Result<(), StoreError> {
    let found = {
        let meta = txn.open_table(META)?;
        meta.get(META_SCHEMA_VERSION)?.map(|v| v.value())
    };
    match found {
        Some(version) if version > SCHEMA_VERSION => {
            return Err(StoreError::NewerSchema {
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        Some(version) if version == SCHEMA_VERSION => {}
        // Version 0 (a new file) and every older version (1 lacked the inventory tables, 2
        // the orders ledger, 3 the orders awaiting a stock poll, 4 the fulfilments ledger, 5
        // the products' synced fields, the alert incidents and their outbox, the
        // reconciliation runs, their mismatches and the latest run per dimension): create
        // what is missing.
        _ => {}
    }
    txn.open_table(JOBS)?;
    txn.open_table(PAYLOADS)?;
    txn.open_table(PENDING)?;
    txn.open_table(LEASES)?;
    txn.open_table(DEDUP)?;
    txn.open_table(DEDUP_EXPIRY)?;
    txn.open_table(COALESCE)?;
    txn.open_table(DEAD)?;
    txn.open_table(DONE)?;
    txn.open_table(DONE_BY_TIME)?;
    txn.open_table(AUDIT)?;
    txn.open_table(PAUSED)?;
    txn.open_table(CURSORS)?;
    txn.open_table(SHOPIFY_LEVELS)?;
    txn.open_table(SKU_MAPPINGS)?;
    txn.open_table(ITEM_SKUS)?;
    txn.open_table(INVENTORY)?;
    txn.open_table(INVENTORY_DIRTY)?;
    txn.open_table(UNIMPORTED_LINES)?;
    txn.open_table(UNIMPORTED_TOTALS)?;
    txn.open_table(ORDERS)?;
    txn.open_table(ORDERS_AWAITING_STOCK)?;
    txn.open_table(FULFILMENTS)?;
    txn.open_table(PRODUCTS_SYNCED)?;
    txn.open_table(INCIDENTS)?;
    txn.open_table(ALERT_OUTBOX)?;
    txn.open_table(PARITY_RUNS)?;
    txn.open_table(PARITY_MISMATCHES)?;
    txn.open_table(PARITY_LATEST)?;
    let mut meta = txn.open_table(META)?;
    meta.insert(META_SCHEMA_VERSION, SCHEMA_VERSION)?;
    for key in [
        META_NEXT_JOB_ID,
        META_NEXT_AUDIT_ID,
        META_NEXT_INCIDENT_ID,
        META_NEXT_ALERT_MESSAGE_ID,
        META_NEXT_PARITY_RUN,
    ] {
        if meta.get(key)?.is_none() {
            meta.insert(key, 1)?;
        }
    }
    if meta.get(META_COMPLETED_TOTAL)?.is_none() {
        meta.insert(META_COMPLETED_TOTAL, 0)?;
    }
    Ok(())
}
