//! Shopify's global ids (`gid://shopify/InventoryItem/123`) and the numbers inside them.
//!
//! Ids exceed 2^53, so they are `u64`, never `f64`. Our own types carry the number (what
//! webhooks and the store use); documents carry the GID string.

use serde::{Deserialize, Deserializer};

use super::error::ShopifyError;

/// The kinds of objects whose ids Plumb handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `InventoryItem`.
    InventoryItem,
    /// `Location`.
    Location,
    /// `Product`.
    Product,
    /// `ProductVariant`.
    ProductVariant,
    /// `Order`.
    Order,
    /// `LineItem`.
    LineItem,
    /// `FulfillmentOrder`.
    FulfillmentOrder,
    /// `FulfillmentOrderLineItem`.
    FulfillmentOrderLineItem,
    /// `Fulfillment`.
    Fulfillment,
    /// `Refund`.
    Refund,
    /// `WebhookSubscription`.
    WebhookSubscription,
    /// `BulkOperation`.
    BulkOperation,
}

impl Kind {
    /// The type name in the GID.
    pub const fn name(self) -> &'static str {
        match self {
            Kind::InventoryItem => "InventoryItem",
            Kind::Location => "Location",
            Kind::Product => "Product",
            Kind::ProductVariant => "ProductVariant",
            Kind::Order => "Order",
            Kind::LineItem => "LineItem",
            Kind::FulfillmentOrder => "FulfillmentOrder",
            Kind::FulfillmentOrderLineItem => "FulfillmentOrderLineItem",
            Kind::Fulfillment => "Fulfillment",
            Kind::Refund => "Refund",
            Kind::WebhookSubscription => "WebhookSubscription",
            Kind::BulkOperation => "BulkOperation",
        }
    }
}

/// The GID of a `kind` object with id `id`.
pub fn gid(kind: Kind, id: u64) -> String {
    format!("gid://shopify/{}/{id}", kind.name())
}

/// The number inside a GID of any type (`gid://shopify/Type/123`, with or without a query
/// string such as `?inventory_item_id=...`).
pub fn parse_gid(text: &str) -> Result<u64, ShopifyError> {
    let bare = text.split('?').next().unwrap_or(text);
    bare.strip_prefix("gid://shopify/")
        .and_then(|rest| rest.rsplit('/').next())
        .and_then(|number| number.parse().ok())
        .ok_or_else(|| ShopifyError::Shape(format!("`{text}` is not a Shopify GID")))
}

/// Like [`parse_gid`], checking the type too.
pub fn parse_gid_of(kind: Kind, text: &str) -> Result<u64, ShopifyError> {
    let prefix = format!("gid://shopify/{}/", kind.name());
    if !text.starts_with(&prefix) {
        return Err(ShopifyError::Shape(format!(
            "`{text}` is not a {} GID",
            kind.name()
        )));
    }
    parse_gid(text)
}

/// Serde: a GID string as its number.
pub fn de_gid<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    let text = String::deserialize(deserializer)?;
    parse_gid(&text).map_err(serde::de::Error::custom)
}

/// Serde: an optional GID string as its number.
pub fn de_opt_gid<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    let text = Option::<String>::deserialize(deserializer)?;
    text.map(|t| parse_gid(&t).map_err(serde::de::Error::custom))
        .transpose()
}

/// Serde: an `UnsignedInt64` (a JSON string) as a number.
pub fn de_u64_string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Text(String),
        Number(u64),
    }
    match Either::deserialize(deserializer)? {
        Either::Text(text) => text.parse().map_err(serde::de::Error::custom),
        Either::Number(n) => Ok(n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gids_round_trip_above_2_pow_53() {
        let id = 9_007_199_254_740_993_u64;
        let text = gid(Kind::InventoryItem, id);
        assert_eq!(text, "gid://shopify/InventoryItem/9007199254740993");
        assert_eq!(parse_gid(&text).unwrap(), id);
        assert_eq!(parse_gid_of(Kind::InventoryItem, &text).unwrap(), id);
        assert!(parse_gid_of(Kind::Location, &text).is_err());
    }

    #[test]
    fn gids_with_query_strings_and_garbage() {
        assert_eq!(
            parse_gid("gid://shopify/InventoryLevel/523463154?inventory_item_id=30322695").unwrap(),
            523_463_154
        );
        assert!(parse_gid("123").is_err());
        assert!(parse_gid("gid://shopify/Order/").is_err());
        assert!(parse_gid("gid://shopify/Order/-1").is_err());
    }
}
