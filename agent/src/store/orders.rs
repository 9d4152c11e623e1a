//! The orders flow's ledger (which Shopify orders the ERP has booked, under which document)
//! and the redaction of personal data in stored payloads (Shopify's compliance webhooks).
//!
//! # Invariants
//! - An order enters the ledger in the same write that stops its lines from lowering the
//!   inventory targets ([`WriteCtx::mark_order_imported`]): the ERP's stock figures include
//!   it from then on, so counting it as well would hide stock.
//! - The ledger is a cache of the ERP's answer, never the truth: `create_sales_order` is
//!   idempotent on the Shopify id in the ERP itself, so a lost ledger books nothing twice.
//!   The ledger only spares the ERP a lookup and tells the inventory flow what is imported.

use redb::{ReadableTable, ReadableTableMetadata};
use serde::{Deserialize, Serialize};

use plumb_common::{JobId, Timestamp};

use super::records::{self, AuditRecord};
use super::schema::{AUDIT, ORDERS, PAYLOADS};
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
    /// Records that the ERP has the order, and stops its lines lowering the inventory
    /// targets. Returns how many inventory pairs now wait to be pushed.
    pub fn order_booked(
        &mut self,
        order: u64,
        record: &BookedOrderRecord,
    ) -> Result<usize, StoreError> {
        self.t
            .orders
            .insert(order, records::encode(record)?.as_slice())?;
        self.mark_order_imported(order)
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

    /// How many orders the ledger holds.
    pub async fn booked_orders(&self) -> Result<u64, StoreError> {
        self.read(|txn| Ok(txn.open_table(ORDERS)?.len()?)).await
    }
}
