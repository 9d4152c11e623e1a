//! The cache of Shopify's ids per SKU: which variant and inventory item a SKU is, both
//! ways. Filled by the Shopify client's lookups and refreshed when a lookup misses or an
//! id turns out to be gone; never the truth, so losing it costs only lookups.

use redb::ReadableTable;

use plumb_common::Timestamp;

use super::StoreError;
use super::writer::WriteCtx;

/// Shopify's ids for one SKU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkuMapping {
    /// The SKU, exactly as Shopify spells it.
    pub sku: String,
    /// The product variant.
    pub variant_id: u64,
    /// The variant's inventory item.
    pub inventory_item_id: u64,
    /// Whether Shopify tracks the item's inventory (untracked items have no levels to set).
    pub tracked: bool,
    /// When the mapping was read from Shopify.
    pub refreshed_at: Timestamp,
}

impl WriteCtx<'_> {
    /// Records mappings, replacing what was known for their SKUs and inventory items (a SKU
    /// moved to another variant, an item renamed to another SKU).
    pub fn record_sku_mappings(&mut self, mappings: &[SkuMapping]) -> Result<(), StoreError> {
        for mapping in mappings {
            let old = self
                .t
                .sku_mappings
                .get(mapping.sku.as_str())?
                .map(|v| v.value().1);
            if let Some(old_item) = old.filter(|item| *item != mapping.inventory_item_id) {
                self.t.item_skus.remove(old_item)?;
            }
            let old_sku = self
                .t
                .item_skus
                .get(mapping.inventory_item_id)?
                .map(|v| v.value().to_owned());
            if let Some(old_sku) = old_sku.filter(|sku| *sku != mapping.sku) {
                self.t.sku_mappings.remove(old_sku.as_str())?;
            }
            self.t.sku_mappings.insert(
                mapping.sku.as_str(),
                (
                    mapping.variant_id,
                    mapping.inventory_item_id,
                    mapping.tracked,
                    mapping.refreshed_at.0,
                ),
            )?;
            self.t
                .item_skus
                .insert(mapping.inventory_item_id, mapping.sku.as_str())?;
        }
        Ok(())
    }

    /// Forgets SKUs Shopify no longer knows.
    pub fn forget_skus(&mut self, skus: &[String]) -> Result<(), StoreError> {
        for sku in skus {
            let removed = self
                .t
                .sku_mappings
                .remove(sku.as_str())?
                .map(|v| v.value().1);
            if let Some(item) = removed {
                self.t.item_skus.remove(item)?;
            }
        }
        Ok(())
    }
}
