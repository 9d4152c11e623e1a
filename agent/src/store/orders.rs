//! The orders flow's ledger (which Shopify orders the ERP has booked, under which document)
//! and the redaction of personal data in stored payloads (Shopify's compliance webhooks).
//!
//! # Invariants
//! - An order enters the ledger in the same write that puts it among the orders awaiting a
//!   stock poll. Its lines keep lowering the inventory targets until the inventory poller
//!   stores a poll that began after the booking, and stop in that very write
//!   ([`WriteCtx::release_orders_awaiting_stock`]): the ERP's figures count the sale from
//!   then on, so holding the lines as well would hide stock, and releasing them earlier
//!   would raise Shopify by the order's units until the poll (an oversell window).
//! - The ledger is a cache of the ERP's answer, never the truth: `create_sales_order` is
//!   idempotent on the Shopify id in the ERP itself, so a lost ledger books nothing twice.
//!   The ledger only spares the ERP a lookup and tells the inventory flow what is imported.

use redb::{ReadableTable, ReadableTableMetadata};
use serde::{Deserialize, Serialize};

use plumb_common::{JobId, Timestamp};

use super::records::{self, AuditRecord};
use super::schema::{AUDIT, ORDERS, ORDERS_AWAITING_STOCK, PAYLOADS};
use super::writer::WriteCtx;
use super::{Store, StoreError};

/// A Shopify order as the ERP booked it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookedOrderRecord {
    /// The ERP's id for the document.
    pub erp_id: String,
    /// The ERP's document number, when it gave one.
    pub number: Option<String>,
    /// When the agent saw it booked.
    pub booked_at: Timestamp,
    /// Whether it has been cancelled in the ERP.
    pub cancelled: bool,
}

impl WriteCtx<'_> {
    /// Records that the ERP has the order. Its lines keep lowering the inventory targets
    /// until the next stock poll releases them (see the module's invariants).
    pub fn order_booked(
        &mut self,
        order: u64,
        record: &BookedOrderRecord,
    ) -> Result<(), StoreError> {
        self.t
            .orders
            .insert(order, records::encode(record)?.as_slice())?;
        self.t
            .orders_awaiting_stock
            .insert(order, record.booked_at.0)?;
        Ok(())
    }

    /// Stops the lines of `orders` (booked, read by [`Store::orders_awaiting_stock`] before
    /// the stock poll began) lowering the inventory targets. Returns how many inventory
    /// pairs now wait to be pushed.
    pub fn release_orders_awaiting_stock(&mut self, orders: &[u64]) -> Result<usize, StoreError> {
        let mut marked = 0;
        for &order in orders {
            self.t.orders_awaiting_stock.remove(order)?;
            marked += self.mark_order_imported(order)?;
        }
        Ok(marked)
    }

    /// Rewrites every stored payload (queued, in flight, dead, and discarded dead letters
    /// kept for audit) through `rewrite`; `None` leaves one as it is. Returns how many
    /// were rewritten.
    pub fn rewrite_payloads(
        &mut self,
        rewrite: &dyn Fn(&[u8]) -> Option<Vec<u8>>,
    ) -> Result<usize, StoreError> {
        let mut changed: Vec<(u64, Vec<u8>)> = Vec::new();
        for entry in self.t.payloads.iter()? {
            let (id, bytes) = entry?;
            if let Some(new) = rewrite(bytes.value()) {
                changed.push((id.value(), new));
            }
        }
        let mut audits: Vec<(u64, Vec<u8>)> = Vec::new();
        for entry in self.t.audit.iter()? {
            let (id, bytes) = entry?;
            let mut record: AuditRecord = records::decode("audit", id.value(), bytes.value())?;
            if let Some(new) = rewrite(&record.payload) {
                record.payload = new;
                audits.push((id.value(), records::encode(&record)?));
            }
        }
        let count = changed.len() + audits.len();
        for (id, bytes) in changed {
            self.t.payloads.insert(id, bytes.as_slice())?;
        }
        for (id, bytes) in audits {
            self.t.audit.insert(id, bytes.as_slice())?;
        }
        Ok(count)
    }
}

impl Store {
    /// What the ledger knows of a Shopify order.
    pub async fn booked_order(&self, order: u64) -> Result<Option<BookedOrderRecord>, StoreError> {
        self.read(move |txn| {
            let table = txn.open_table(ORDERS)?;
            let found = table.get(order)?;
            found
                .map(|v| records::decode("orders", order, v.value()))
                .transpose()
        })
        .await
    }

    /// The jobs whose stored payload (queued, in flight or dead) `matches` says yes to, and
    /// how many discarded dead letters kept for audit it says yes to.
    pub async fn find_payloads(
        &self,
        matches: impl Fn(&[u8]) -> bool + Send + 'static,
    ) -> Result<(Vec<JobId>, usize), StoreError> {
        self.read(move |txn| {
            let mut jobs = Vec::new();
            for entry in txn.open_table(PAYLOADS)?.iter()? {
                let (id, bytes) = entry?;
                if matches(bytes.value()) {
                    jobs.push(JobId(id.value()));
                }
            }
            let mut audited = 0;
            for entry in txn.open_table(AUDIT)?.iter()? {
                let (id, bytes) = entry?;
                let record: AuditRecord = records::decode("audit", id.value(), bytes.value())?;
                if matches(&record.payload) {
                    audited += 1;
                }
            }
            Ok((jobs, audited))
        })
        .await
    }

    /// The booked orders whose lines still lower the inventory targets, oldest first.
    pub async fn orders_awaiting_stock(&self) -> Result<Vec<u64>, StoreError> {
        self.read(|txn| {
            let table = txn.open_table(ORDERS_AWAITING_STOCK)?;
            let mut orders: Vec<(u64, u64)> = table
                .iter()?
                .map(|entry| entry.map(|(order, at)| (at.value(), order.value())))
                .collect::<Result<_, _>>()?;
            orders.sort_unstable();
            Ok(orders.into_iter().map(|(_, order)| order).collect())
        })
        .await
    }

    /// How many orders the ledger holds.
    pub async fn booked_orders(&self) -> Result<u64, StoreError> {
        self.read(|txn| Ok(txn.open_table(ORDERS)?.len()?)).await
    }
}
