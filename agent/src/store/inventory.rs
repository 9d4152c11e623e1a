//! The inventory flow's state: per (SKU, Shopify location) the ERP figure, the target,
//! Shopify's figure, what we last set, and a status; the pairs waiting to be pushed; and
//! the order lines Shopify committed that the ERP has not imported yet.
//!
//! # Invariants
//! - A pair is in `INVENTORY_DIRTY` exactly when its target waits to be pushed; the dirty
//!   entry carries the record version it was marked at, so a push that read an older
//!   target never clears a newer one.
//! - The target is `max(0, base - unimported - held)`, recomputed here whenever one of them
//!   moves, so an order sold but not imported lowers it in the same transaction that
//!   records it, and a drop found on a stale compare-and-swap lowers it before the retry.
//! - Every change of a record publishes [`Event::InventoryDelta`] after the commit.

use std::collections::HashMap;

use redb::ReadableTable;
use serde::{Deserialize, Serialize};

use plumb_common::Timestamp;
use plumb_common::protocol::{
    Event, InventoryKey, InventoryPage, InventoryQuery, InventoryRow, InventoryStatus,
};

use super::records;
use super::schema::INVENTORY;
use super::writer::{Change, WriteCtx};
use super::{Store, StoreError};

/// One SKU at one Shopify location, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryRecord {
    /// The ERP warehouse feeding the location.
    pub warehouse: String,
    /// The ERP's sellable units.
    pub erp: i64,
    /// Sellable less buffers, floored at 0: the target before unimported orders.
    pub base: i64,
    /// Units Shopify lost outside our writes, found when a compare-and-swap went stale
    /// (a sale, most likely, that the ERP has not heard of): held back from the target
    /// until the orders flow attributes them to an order line ([`WriteCtx::record_unimported_order`]).
    pub held: i64,
    /// What Shopify should show.
    pub target: i64,
    /// Shopify's `available` as last known (our writes, its webhooks, our reads).
    pub shopify: Option<i64>,
    /// What we last set, to recognise our own writes coming back as webhooks.
    pub last_set: Option<i64>,
    /// When Shopify was last brought to the target.
    pub last_sync: Option<Timestamp>,
    /// The status.
    pub status: InventoryStatus,
    /// Why it fails or drifts.
    pub cause: Option<String>,
    /// Bumped at every new target.
    pub version: u64,
}

impl InventoryRecord {
    fn row(&self, sku: &str, location: u64) -> InventoryRow {
        InventoryRow {
            sku: sku.to_owned(),
            location,
            warehouse: self.warehouse.clone(),
            erp: self.erp,
            target: self.target,
            shopify: self.shopify,
            delta: self.shopify.map(|s| s.saturating_sub(self.target)),
            last_sync: self.last_sync,
            status: self.status,
            cause: self.cause.clone(),
        }
    }
}

/// A new ERP figure for one pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetUpdate {
    /// The SKU.
    pub sku: String,
    /// The Shopify location.
    pub location: u64,
    /// The ERP warehouse.
    pub warehouse: String,
    /// The ERP's sellable units.
    pub erp: i64,
    /// Sellable less buffers, floored at 0.
    pub base: i64,
}

/// A pair waiting to be pushed, as a push job reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingPush {
    /// The SKU.
    pub sku: String,
    /// The Shopify location.
    pub location: u64,
    /// The record when it was read.
    pub record: InventoryRecord,
}

/// What a level reported by Shopify (webhook) turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShopifyReport {
    /// No record: a SKU or location the flow does not manage.
    Unmanaged,
    /// Our own write coming back, or Shopify already at the target.
    Expected,
    /// Above the target: someone else raised it (oversell risk). `revert` marked the pair
    /// to be pushed back to the target.
    DriftAbove,
    /// Below the target: a sale not imported yet, or a hand edit. Never raised by the
    /// flow, since raising it could oversell; the next ERP change brings the right figure.
    DriftBelow,
}

fn decode(bytes: &[u8]) -> Result<InventoryRecord, StoreError> {
    records::decode("inventory", 0, bytes)
}

fn key_of(key: (&str, u64)) -> InventoryKey {
    InventoryKey {
        sku: key.0.to_owned(),
        location: key.1,
    }
}

impl WriteCtx<'_> {
    pub(crate) fn inventory_record(
        &self,
        sku: &str,
        location: u64,
    ) -> Result<Option<InventoryRecord>, StoreError> {
        match self.t.inventory.get((sku, location))? {
            Some(bytes) => decode(bytes.value()).map(Some),
            None => Ok(None),
        }
    }

    fn save_inventory(
        &mut self,
        sku: &str,
        location: u64,
        record: &InventoryRecord,
    ) -> Result<(), StoreError> {
        self.t
            .inventory
            .insert((sku, location), records::encode(record)?.as_slice())?;
        self.changes.push(Change::Publish(Event::InventoryDelta(
            record.row(sku, location),
        )));
        Ok(())
    }

    fn unimported(&self, sku: &str, location: u64) -> Result<i64, StoreError> {
        Ok(self
            .t
            .unimported_totals
            .get((sku, location))?
            .map_or(0, |v| v.value()))
    }

    /// Sets a pair's target from `base` and the unimported units; marks it to be pushed
    /// when the target differs from what Shopify is believed to show. Returns whether it
    /// was marked.
    fn retarget(
        &mut self,
        sku: &str,
        location: u64,
        record: &mut InventoryRecord,
    ) -> Result<bool, StoreError> {
        let unimported = self.unimported(sku, location)?;
        let withheld = unimported.saturating_add(record.held);
        record.target = crate::flows::inventory::formula::target(record.base, 0, withheld);
        record.version = record.version.saturating_add(1);
        let push = record.shopify != Some(record.target) || record.status == InventoryStatus::Drift;
        if push {
            record.status = InventoryStatus::Pending;
            self.t
                .inventory_dirty
                .insert((sku, location), record.version)?;
        } else {
            record.status = InventoryStatus::InSync;
            record.cause = None;
            self.t.inventory_dirty.remove((sku, location))?;
        }
        Ok(push)
    }

    /// Records a new ERP figure. Returns whether the pair now waits to be pushed.
    pub fn set_inventory_target(&mut self, update: &TargetUpdate) -> Result<bool, StoreError> {
        let (sku, location) = (update.sku.as_str(), update.location);
        let existing = self.inventory_record(sku, location)?;
        if let Some(record) = &existing
            && record.erp == update.erp
            && record.base == update.base
            && record.warehouse == update.warehouse
        {
            return Ok(false);
        }
        let mut record = existing.unwrap_or(InventoryRecord {
            warehouse: update.warehouse.clone(),
            erp: update.erp,
            base: update.base,
            held: 0,
            target: 0,
            shopify: None,
            last_set: None,
            last_sync: None,
            status: InventoryStatus::Pending,
            cause: None,
            version: 0,
        });
        record.warehouse.clone_from(&update.warehouse);
        record.erp = update.erp;
        record.base = update.base;
        let marked = self.retarget(sku, location, &mut record)?;
        self.save_inventory(sku, location, &record)?;
        Ok(marked)
    }

    /// Records that Shopify now shows `value` because we set it, on behalf of the record
    /// version `version`. The pair leaves the pushed set unless a newer target came since.
    pub fn inventory_pushed(
        &mut self,
        sku: &str,
        location: u64,
        version: u64,
        value: i64,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let Some(mut record) = self.inventory_record(sku, location)? else {
            return Ok(());
        };
        record.shopify = Some(value);
        record.last_set = Some(value);
        if record.version == version && record.target == value {
            record.status = InventoryStatus::InSync;
            record.cause = None;
            record.last_sync = Some(now);
            self.t.inventory_dirty.remove((sku, location))?;
        }
        self.save_inventory(sku, location, &record)
    }

    /// Records Shopify's figure as read (first read, or after a stale compare-and-swap).
    /// Returns whether the pair is already at its target (a lost answer had applied it), in
    /// which case it leaves the pushed set.
    ///
    /// `stale`: the read follows a refused compare-and-swap, so Shopify moved without us.
    /// A drop from what we believed (and not to a figure we set) is taken as units sold
    /// that nobody has attributed yet: they are held back from the target, so the retry
    /// cannot put them on sale again.
    pub fn inventory_observed(
        &mut self,
        sku: &str,
        location: u64,
        value: i64,
        stale: bool,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let Some(mut record) = self.inventory_record(sku, location)? else {
            return Ok(false);
        };
        let believed = record.shopify;
        record.shopify = Some(value);
        if let Some(believed) = believed.filter(|b| stale && value < *b)
            && value != record.target
            && record.last_set != Some(value)
        {
            record.held = record.held.saturating_add(believed - value);
            record.cause = Some(format!(
                "{} units left Shopify outside Plumb (a sale not imported yet?): held back",
                record.held
            ));
            self.retarget(sku, location, &mut record)?;
        }
        let at_target = record.target == value;
        if at_target {
            record.status = InventoryStatus::InSync;
            record.cause = None;
            record.last_sync = Some(now);
            self.t.inventory_dirty.remove((sku, location))?;
        } else if record.status == InventoryStatus::InSync {
            // A comparison found Shopify off target: push it like any new target.
            record.status = InventoryStatus::Pending;
            self.t
                .inventory_dirty
                .insert((sku, location), record.version)?;
        }
        self.save_inventory(sku, location, &record)?;
        Ok(at_target)
    }

    /// Marks a pair failing with `cause`. `give_up`: it leaves the pushed set (it cannot
    /// succeed as things are: an unknown SKU, an untracked item), and comes back with the
    /// next ERP change or when its dead letter is retried.
    pub fn inventory_failing(
        &mut self,
        sku: &str,
        location: u64,
        cause: &str,
        give_up: bool,
    ) -> Result<(), StoreError> {
        let Some(mut record) = self.inventory_record(sku, location)? else {
            return Ok(());
        };
        record.status = InventoryStatus::Failing;
        record.cause = Some(cause.to_owned());
        if give_up {
            self.t.inventory_dirty.remove((sku, location))?;
        }
        self.save_inventory(sku, location, &record)
    }

    /// Marks a pair to be pushed again (a retried dead letter). Returns whether it exists.
    pub fn inventory_mark_pending(&mut self, sku: &str, location: u64) -> Result<bool, StoreError> {
        let Some(mut record) = self.inventory_record(sku, location)? else {
            return Ok(false);
        };
        record.version = record.version.saturating_add(1);
        record.status = InventoryStatus::Pending;
        self.t
            .inventory_dirty
            .insert((sku, location), record.version)?;
        self.save_inventory(sku, location, &record)?;
        Ok(true)
    }

    /// Judges a level Shopify reported for a pair: our own write, Shopify already at the
    /// target, or drift. `revert`: drift above the target is marked to be pushed back.
    pub fn inventory_reported(
        &mut self,
        sku: &str,
        location: u64,
        available: i64,
        revert: bool,
    ) -> Result<ShopifyReport, StoreError> {
        let Some(mut record) = self.inventory_record(sku, location)? else {
            return Ok(ShopifyReport::Unmanaged);
        };
        let previous = record.shopify;
        record.shopify = Some(available);
        let verdict = if record.last_set == Some(available) || record.target == available {
            ShopifyReport::Expected
        } else if available > record.target {
            record.status = InventoryStatus::Drift;
            record.cause = Some(format!(
                "Shopify shows {available}, above the target {}: changed outside Plumb",
                record.target
            ));
            if revert {
                record.version = record.version.saturating_add(1);
                self.t
                    .inventory_dirty
                    .insert((sku, location), record.version)?;
            }
            ShopifyReport::DriftAbove
        } else {
            record.status = InventoryStatus::Drift;
            record.cause = Some(format!(
                "Shopify shows {available}, below the target {}: a sale not imported yet or \
                 a hand edit; not raised, since that could oversell",
                record.target
            ));
            ShopifyReport::DriftBelow
        };
        if verdict != ShopifyReport::Expected || previous != Some(available) {
            self.save_inventory(sku, location, &record)?;
        }
        Ok(verdict)
    }

    /// Records the lines of a Shopify order the ERP has not imported yet, (SKU, location,
    /// units) each, and lowers those pairs' targets. Recording the same order again
    /// replaces its lines (idempotent). Returns how many pairs now wait to be pushed.
    pub fn record_unimported_order(
        &mut self,
        order: u64,
        lines: &[(String, u64, i64)],
    ) -> Result<usize, StoreError> {
        let mut touched = self.forget_order_lines(order)?;
        for (sku, location, units) in lines {
            let key = (order, sku.as_str(), *location);
            let before = self.t.unimported_lines.get(key)?.map_or(0, |v| v.value());
            self.t
                .unimported_lines
                .insert(key, before.saturating_add(*units))?;
            self.add_unimported(sku, *location, *units)?;
            self.attribute_held(sku, *location, *units)?;
            touched.push((sku.clone(), *location));
        }
        self.retarget_all(touched)
    }

    /// The ERP has the order now (its stock figures include it): its lines stop lowering
    /// the targets. Returns how many pairs now wait to be pushed.
    pub fn mark_order_imported(&mut self, order: u64) -> Result<usize, StoreError> {
        let touched = self.forget_order_lines(order)?;
        self.retarget_all(touched)
    }

    fn forget_order_lines(&mut self, order: u64) -> Result<Vec<(String, u64)>, StoreError> {
        let lines: Vec<(String, u64, i64)> = self
            .t
            .unimported_lines
            .range((order, "", 0)..=(order, "\u{10FFFF}", u64::MAX))?
            .map(|entry| {
                entry.map(|(key, value)| {
                    let (_, sku, location) = key.value();
                    (sku.to_owned(), location, value.value())
                })
            })
            .collect::<Result<_, _>>()?;
        let mut touched = Vec::with_capacity(lines.len());
        for (sku, location, units) in lines {
            self.t
                .unimported_lines
                .remove((order, sku.as_str(), location))?;
            self.add_unimported(&sku, location, -units)?;
            touched.push((sku, location));
        }
        Ok(touched)
    }

    /// Units held back since a stale compare-and-swap are now explained by an order line:
    /// stop holding them, or they would count twice.
    fn attribute_held(&mut self, sku: &str, location: u64, units: i64) -> Result<(), StoreError> {
        if let Some(mut record) = self.inventory_record(sku, location)?
            && record.held > 0
        {
            record.held = (record.held - units.max(0)).max(0);
            self.save_inventory(sku, location, &record)?;
        }
        Ok(())
    }

    fn add_unimported(&mut self, sku: &str, location: u64, units: i64) -> Result<(), StoreError> {
        let total = self.unimported(sku, location)?.saturating_add(units);
        if total <= 0 {
            self.t.unimported_totals.remove((sku, location))?;
        } else {
            self.t.unimported_totals.insert((sku, location), total)?;
        }
        Ok(())
    }

    fn retarget_all(&mut self, mut pairs: Vec<(String, u64)>) -> Result<usize, StoreError> {
        pairs.sort();
        pairs.dedup();
        let mut marked = 0;
        for (sku, location) in pairs {
            let Some(mut record) = self.inventory_record(&sku, location)? else {
                continue;
            };
            if self.retarget(&sku, location, &mut record)? {
                marked += 1;
            }
            // Saved even when the target did not move: the version did, and the pending
            // set's entry names it.
            self.save_inventory(&sku, location, &record)?;
        }
        Ok(marked)
    }
}

impl Store {
    /// Per (SKU, location), the units the target holds back beyond the ERP's figure:
    /// order lines Shopify sold that the ERP has not imported, plus units held since a
    /// stale compare-and-swap. Only pairs holding some back. The reconciler applies them
    /// as [`WriteCtx::set_inventory_target`] does, so both compute the same target.
    pub async fn inventory_withheld(&self) -> Result<HashMap<(String, u64), i64>, StoreError> {
        self.read(move |txn| {
            let mut withheld: HashMap<(String, u64), i64> = HashMap::new();
            let totals = txn.open_table(super::schema::UNIMPORTED_TOTALS)?;
            for entry in totals.iter()? {
                let (key, units) = entry?;
                let (sku, location) = key.value();
                withheld.insert((sku.to_owned(), location), units.value());
            }
            let table = txn.open_table(INVENTORY)?;
            for entry in table.iter()? {
                let (key, bytes) = entry?;
                let record = decode(bytes.value())?;
                if record.held > 0 {
                    let (sku, location) = key.value();
                    let units = withheld.entry((sku.to_owned(), location)).or_default();
                    *units = units.saturating_add(record.held);
                }
            }
            Ok(withheld)
        })
        .await
    }

    /// Up to `limit` pairs waiting to be pushed, in (SKU, location) order.
    pub async fn pending_pushes(&self, limit: usize) -> Result<Vec<PendingPush>, StoreError> {
        self.read(move |txn| {
            let dirty = txn.open_table(super::schema::INVENTORY_DIRTY)?;
            let table = txn.open_table(INVENTORY)?;
            let mut found = Vec::new();
            for entry in dirty.iter()?.take(limit) {
                let (key, _) = entry?;
                let (sku, location) = key.value();
                if let Some(bytes) = table.get((sku, location))? {
                    found.push(PendingPush {
                        sku: sku.to_owned(),
                        location,
                        record: decode(bytes.value())?,
                    });
                }
            }
            Ok(found)
        })
        .await
    }

    /// One pair's record.
    pub async fn inventory(
        &self,
        sku: String,
        location: u64,
    ) -> Result<Option<InventoryRecord>, StoreError> {
        self.read(move |txn| {
            let table = txn.open_table(INVENTORY)?;
            let found = match table.get((sku.as_str(), location))? {
                Some(bytes) => Some(decode(bytes.value())?),
                None => None,
            };
            Ok(found)
        })
        .await
    }

    /// A page of the inventory picture, for the console.
    pub async fn list_inventory(&self, query: InventoryQuery) -> Result<InventoryPage, StoreError> {
        self.read(move |txn| {
            let limit = query.limit.clamp(1, super::read::MAX_PAGE) as usize;
            let table = txn.open_table(INVENTORY)?;
            let mut page = InventoryPage::default();
            let range = match &query.after {
                Some(after) => table.range((after.sku.as_str(), after.location)..)?,
                None => table.range::<(&str, u64)>(..)?,
            };
            for entry in range {
                let (key, bytes) = entry?;
                let (sku, location) = key.value();
                if query
                    .after
                    .as_ref()
                    .is_some_and(|a| a.sku == sku && a.location == location)
                {
                    continue;
                }
                let record = decode(bytes.value())?;
                if query.status.is_some_and(|s| s != record.status) {
                    continue;
                }
                if page.items.len() == limit {
                    page.next = page
                        .items
                        .last()
                        .map(|r| key_of((r.sku.as_str(), r.location)));
                    break;
                }
                page.items.push(record.row(sku, location));
            }
            Ok(page)
        })
        .await
    }
}
