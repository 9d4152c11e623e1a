//! `[orders]`: how Shopify orders are booked in the ERP: the warehouse an order ships from
//! when its location is not mapped, the ERP product a sold gift card is booked on, and how
//! often the backfill asks Shopify for orders a webhook may have missed.

use std::time::Duration;

use toml::Value;

use plumb_common::Sku;

use super::reader::{Parse, Reader};
use super::values::{duration, duration_at_least, string};

/// `[orders]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrdersConfig {
    /// The ERP warehouse code for orders whose Shopify location is not in `[[locations]]`;
    /// `None`: the first `[[locations]]` entry's warehouse.
    pub default_warehouse: Option<String>,
    /// The ERP product (by SKU) a gift card sold is booked on; `None`: an order selling a
    /// gift card is a dead letter naming this key.
    pub gift_card_sku: Option<Sku>,
    /// How often Shopify is asked for orders changed since the last poll, so an order whose
    /// webhooks were all lost reaches the ERP within this interval.
    pub backfill_interval: Duration,
    /// How far behind the cursor each poll starts again: Shopify's search index lags the
    /// orders a little, and an order changed just before the cursor must not be missed.
    pub backfill_overlap: Duration,
}

impl Default for OrdersConfig {
    fn default() -> Self {
        OrdersConfig {
            default_warehouse: None,
            gift_card_sku: None,
            backfill_interval: Duration::from_secs(300),
            backfill_overlap: Duration::from_secs(300),
        }
    }
}

impl OrdersConfig {
    pub(super) fn read(mut reader: Reader<'_>) -> Self {
        let default = OrdersConfig::default();
        let default_warehouse = reader.optional("default_warehouse", string);
        let gift_card_sku = reader.optional("gift_card_sku", sku);
        let backfill_interval = reader.or(
            "backfill_interval",
            default.backfill_interval,
            duration_at_least(
                Duration::from_secs(1),
                "a shorter poll only spends the Shopify budget",
            ),
        );
        let backfill_overlap = reader.or("backfill_overlap", default.backfill_overlap, duration);
        reader.finish();
        OrdersConfig {
            default_warehouse,
            gift_card_sku,
            backfill_interval,
            backfill_overlap,
        }
    }
}

fn sku(value: Value) -> Parse<Sku> {
    Sku::new(string(value)?)
        .map_err(|e| format!("{e}: write the ERP product's SKU, e.g. \"GIFT-CARD\""))
}
