//! The shop's catalogue as reconciliation reads it: every inventory item of a
//! [`super::documents::BULK_INVENTORY_LEVELS`] bulk result (grouped), typed, one record
//! at a time, so a 100,000-item catalogue is never held whole.

use rust_decimal::Decimal;
use serde::Deserialize;

use super::error::ShopifyError;
use super::ids::{de_gid, parse_gid};
use super::jsonl::BulkRecord;

/// One inventory item with its variant's price and its `available` per location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogItem {
    /// The inventory item.
    pub inventory_item_id: u64,
    /// Its SKU (`None` or empty: the item has none).
    pub sku: Option<String>,
    /// Whether Shopify tracks its quantity.
    pub tracked: bool,
    /// Its variant, when it has one.
    pub variant_id: Option<u64>,
    /// The variant's price.
    pub price: Option<Decimal>,
    /// `available` per location the item is stocked at (`None`: not reported).
    pub levels: Vec<(u64, Option<i64>)>,
}

#[derive(Debug, Deserialize)]
struct ItemLine {
    #[serde(deserialize_with = "de_gid")]
    id: u64,
    sku: Option<String>,
    tracked: bool,
    variant: Option<VariantLine>,
}

#[derive(Debug, Deserialize)]
struct VariantLine {
    #[serde(deserialize_with = "de_gid")]
    id: u64,
    #[serde(default, with = "rust_decimal::serde::str_option")]
    price: Option<Decimal>,
}

#[derive(Debug, Deserialize)]
struct LevelLine {
    location: LocationRef,
    #[serde(default)]
    quantities: Vec<Quantity>,
}

#[derive(Debug, Deserialize)]
struct LocationRef {
    id: String,
}

#[derive(Debug, Deserialize)]
struct Quantity {
    name: String,
    quantity: i64,
}

impl CatalogItem {
    /// Reads one grouped record: the item line, then its level lines.
    pub fn from_record(record: BulkRecord) -> Result<CatalogItem, ShopifyError> {
        let item: ItemLine = serde_json::from_value(record.object)
            .map_err(|e| ShopifyError::Shape(format!("BulkInventoryLevels item line: {e}")))?;
        let mut levels = Vec::with_capacity(record.children.len());
        for child in record.children {
            let level: LevelLine = serde_json::from_value(child)
                .map_err(|e| ShopifyError::Shape(format!("BulkInventoryLevels level line: {e}")))?;
            let available = level
                .quantities
                .iter()
                .find(|q| q.name == "available")
                .map(|q| q.quantity);
            levels.push((parse_gid(&level.location.id)?, available));
        }
        Ok(CatalogItem {
            inventory_item_id: item.id,
            sku: item.sku.filter(|s| !s.trim().is_empty()),
            tracked: item.tracked,
            variant_id: item.variant.as_ref().map(|v| v.id),
            price: item.variant.and_then(|v| v.price),
            levels,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn items_read_their_variant_and_levels() {
        let record = BulkRecord {
            object: json!({"id": "gid://shopify/InventoryItem/9", "sku": "MUG-1", "tracked": true,
                "variant": {"id": "gid://shopify/ProductVariant/4", "price": "12.50"}}),
            children: vec![
                json!({"location": {"id": "gid://shopify/Location/7"},
                    "quantities": [{"name": "on_hand", "quantity": 5}, {"name": "available", "quantity": 3}],
                    "__parentId": "gid://shopify/InventoryItem/9"}),
                json!({"location": {"id": "gid://shopify/Location/8"}, "quantities": [],
                    "__parentId": "gid://shopify/InventoryItem/9"}),
            ],
        };
        let item = CatalogItem::from_record(record).expect("item");
        assert_eq!(item.inventory_item_id, 9);
        assert_eq!(item.sku.as_deref(), Some("MUG-1"));
        assert_eq!(item.variant_id, Some(4));
        assert_eq!(item.price, Some(Decimal::new(1250, 2)));
        assert_eq!(item.levels, vec![(7, Some(3)), (8, None)]);
        let blank = BulkRecord {
            object: json!({"id": "gid://shopify/InventoryItem/1", "sku": " ", "tracked": false, "variant": null}),
            children: Vec::new(),
        };
        let item = CatalogItem::from_record(blank).expect("item");
        assert_eq!((item.sku, item.variant_id), (None, None));
        let bad = BulkRecord {
            object: json!({"id": 5}),
            children: Vec::new(),
        };
        assert!(CatalogItem::from_record(bad).is_err());
    }
}
