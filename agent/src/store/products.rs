//! The products flow's memory: per SKU, the ERP-owned fields as Plumb last saw Shopify
//! agree with the ERP (after writing them, or finding them equal).
//!
//! A Shopify value that differs from the ERP's is a change in the ERP to push when Shopify
//! still shows what was synced, and an edit made in Shopify (a conflict, reverted or
//! reported as configured) when it differs from what was synced too.

use serde::{Deserialize, Serialize};

use plumb_common::{Decimal, Timestamp};

use super::records;
use super::schema::PRODUCTS_SYNCED;
use super::writer::WriteCtx;
use super::{Store, StoreError};

/// The ERP-owned fields of one SKU as last synced; `None` where the ERP gives no value
/// (the flow then writes nothing) or the field is not the ERP's. Amounts are kept as
/// decimal strings (postcard cannot carry `Decimal`'s own form).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncedProductRecord {
    /// The product's title.
    pub title: Option<String>,
    /// Price.
    #[serde(with = "rust_decimal::serde::str_option")]
    pub price: Option<Decimal>,
    /// Compare-at price.
    #[serde(with = "rust_decimal::serde::str_option")]
    pub compare_at_price: Option<Decimal>,
    /// Barcode.
    pub barcode: Option<String>,
    /// Unit cost.
    #[serde(with = "rust_decimal::serde::str_option")]
    pub cost: Option<Decimal>,
    /// When.
    pub synced_at: Timestamp,
}

impl WriteCtx<'_> {
    /// Records what Shopify and the ERP agree on for `sku`.
    pub fn product_synced(
        &mut self,
        sku: &str,
        record: &SyncedProductRecord,
    ) -> Result<(), StoreError> {
        self.t
            .products_synced
            .insert(sku, records::encode(record)?.as_slice())?;
        Ok(())
    }
}

impl Store {
    /// What was last synced for each of `skus` that has a record.
    pub async fn synced_products(
        &self,
        skus: Vec<String>,
    ) -> Result<Vec<(String, SyncedProductRecord)>, StoreError> {
        self.read(move |txn| {
            let table = txn.open_table(PRODUCTS_SYNCED)?;
            let mut out = Vec::new();
            for sku in skus {
                if let Some(value) = table.get(sku.as_str())? {
                    let record = records::decode("products_synced", 0, value.value())?;
                    out.push((sku, record));
                }
            }
            Ok(out)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_round_trips_through_the_store_encoding() {
        let record = SyncedProductRecord {
            title: Some("Mug".into()),
            price: Some(Decimal::new(1250, 2)),
            cost: Some(Decimal::new(525, 2)),
            synced_at: Timestamp(1),
            ..SyncedProductRecord::default()
        };
        let bytes = records::encode(&record).expect("encode");
        let back: SyncedProductRecord =
            records::decode("products_synced", 0, &bytes).expect("decode");
        assert_eq!(back, record);
    }
}
