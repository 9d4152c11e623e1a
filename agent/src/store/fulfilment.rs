//! The fulfilment flow's ledger: which ERP shipments Shopify has as fulfilments.
//!
//! # Invariants
//! - A shipment enters the ledger in the write that follows Shopify's answer to
//!   `fulfillmentCreate` (or the re-read that found the fulfilment a lost answer hid).
//! - The ledger is a cache, never the truth: `fulfillmentCreate` has no idempotency key,
//!   so before creating, the flow also looks in Shopify for a fulfilment carrying the
//!   shipment's tracking; a lost ledger creates nothing twice for a tracked shipment.

use serde::{Deserialize, Serialize};

use plumb_common::Timestamp;

use super::records;
use super::schema::FULFILMENTS;
use super::writer::WriteCtx;
use super::{Store, StoreError};

/// An ERP shipment as Shopify fulfilled it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FulfilledShipmentRecord {
    /// Shopify's fulfilment.
    pub fulfillment_id: u64,
    /// The tracking number it was created with.
    pub tracking_number: Option<String>,
    /// When the agent saw it fulfilled.
    pub fulfilled_at: Timestamp,
}

impl WriteCtx<'_> {
    /// Records that Shopify has ERP shipment `shipment` of `order` as a fulfilment.
    pub fn shipment_fulfilled(
        &mut self,
        order: u64,
        shipment: &str,
        record: &FulfilledShipmentRecord,
    ) -> Result<(), StoreError> {
        self.t
            .fulfilments
            .insert((order, shipment), records::encode(record)?.as_slice())?;
        Ok(())
    }
}

impl Store {
    /// The fulfilment recorded for ERP shipment `shipment` of Shopify order `order`, if any.
    pub async fn fulfilled_shipment(
        &self,
        order: u64,
        shipment: String,
    ) -> Result<Option<FulfilledShipmentRecord>, StoreError> {
        self.read(move |txn| {
            let table = txn.open_table(FULFILMENTS)?;
            let found = table.get((order, shipment.as_str()))?;
            found
                .map(|v| records::decode("fulfilments", order, v.value()))
                .transpose()
        })
        .await
    }

    /// The Shopify fulfilments recorded for any shipment of `order`.
    pub async fn order_fulfilments(&self, order: u64) -> Result<Vec<u64>, StoreError> {
        self.read(move |txn| {
            let table = txn.open_table(FULFILMENTS)?;
            let mut ids = Vec::new();
            for entry in table.range((order, "")..)? {
                let (key, value) = entry?;
                if key.value().0 != order {
                    break;
                }
                let record: FulfilledShipmentRecord =
                    records::decode("fulfilments", order, value.value())?;
                ids.push(record.fulfillment_id);
            }
            Ok(ids)
        })
        .await
    }
}
