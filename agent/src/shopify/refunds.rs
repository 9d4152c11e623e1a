//! Refunds of an order, read for the ERP (credit notes, restocks) and for reconciliation.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;

use super::client::ShopifyClient;
use super::documents::{ORDER_REFUND_IDS, REFUND};
use super::error::ShopifyError;
use super::ids::{Kind, de_gid, de_opt_gid, de_u64_string, gid};
use super::money::{MoneyBag, Ref};
use super::pagination::de_nodes;

/// A refund.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Refund {
    /// The refund.
    #[serde(deserialize_with = "de_gid")]
    pub id: u64,
    /// The id webhooks carry.
    #[serde(deserialize_with = "de_u64_string")]
    pub legacy_resource_id: u64,
    /// When it was made.
    pub created_at: Option<DateTime<Utc>>,
    /// The merchant's note.
    pub note: Option<String>,
    /// Its order.
    pub order: Ref,
    /// The money refunded.
    pub total_refunded_set: MoneyBag,
    /// Refunded lines (all pages).
    #[serde(deserialize_with = "de_nodes")]
    pub refund_line_items: Vec<RefundLineItem>,
    /// Refunded shipping.
    #[serde(deserialize_with = "de_nodes")]
    pub refund_shipping_lines: Vec<RefundShippingLine>,
    /// Discrepancies (refund differs from the lines' value).
    #[serde(deserialize_with = "de_nodes")]
    pub order_adjustments: Vec<OrderAdjustment>,
    /// The money movements.
    #[serde(deserialize_with = "de_nodes")]
    pub transactions: Vec<Transaction>,
}

/// A refunded line.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundLineItem {
    /// The refund line (the webhooks' `refund_line_items[].id`).
    #[serde(default, deserialize_with = "de_opt_gid")]
    pub id: Option<u64>,
    /// Units refunded.
    pub quantity: i64,
    /// RETURN, CANCEL, LEGACY_RESTOCK, NO_RESTOCK.
    pub restock_type: String,
    /// Whether stock went back.
    pub restocked: bool,
    /// Where it was restocked.
    pub location: Option<Ref>,
    /// The order's line.
    pub line_item: RefundedLine,
    /// Before tax.
    pub subtotal_set: MoneyBag,
    /// Tax refunded.
    pub total_tax_set: MoneyBag,
}

/// The order line a refund line refers to.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RefundedLine {
    /// The line.
    #[serde(deserialize_with = "de_gid")]
    pub id: u64,
    /// Its SKU.
    pub sku: Option<String>,
}

/// Refunded shipping.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundShippingLine {
    /// Before tax.
    pub subtotal_amount_set: MoneyBag,
    /// Tax.
    pub tax_amount_set: MoneyBag,
}

/// An order adjustment.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderAdjustment {
    /// The adjustment.
    #[serde(deserialize_with = "de_gid")]
    pub id: u64,
    /// Why.
    pub reason: Option<String>,
    /// The amount.
    pub amount_set: MoneyBag,
    /// Its tax.
    pub tax_amount_set: MoneyBag,
}

/// A money movement.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Transaction {
    /// The transaction.
    #[serde(deserialize_with = "de_gid")]
    pub id: u64,
    /// REFUND, SALE, ...
    pub kind: String,
    /// SUCCESS, FAILURE, ...
    pub status: String,
    /// `gift_card`, `shopify_payments`, `manual`...
    pub gateway: Option<String>,
    /// When.
    pub processed_at: Option<DateTime<Utc>>,
    /// How much.
    pub amount_set: MoneyBag,
}

#[derive(Debug, Deserialize)]
struct RefundIdsData {
    order: Option<RefundIds>,
}

#[derive(Debug, Deserialize)]
struct RefundIds {
    refunds: Vec<Ref>,
}

impl ShopifyClient {
    /// Every refund of an order; `None` if Shopify does not know the order.
    pub async fn refunds(&self, order: u64) -> Result<Option<Vec<Refund>>, ShopifyError> {
        let data: RefundIdsData = self
            .execute(&ORDER_REFUND_IDS, json!({"id": gid(Kind::Order, order)}))
            .await?;
        let Some(ids) = data.order else {
            return Ok(None);
        };
        let mut refunds = Vec::with_capacity(ids.refunds.len());
        for id in ids.refunds {
            if let Some(refund) = self.refund(id.id).await? {
                refunds.push(refund);
            }
        }
        Ok(Some(refunds))
    }

    /// One refund, with all its lines; `None` if Shopify does not know it.
    pub async fn refund(&self, id: u64) -> Result<Option<Refund>, ShopifyError> {
        self.read_whole(
            &REFUND,
            gid(Kind::Refund, id),
            "refund",
            "refundLineItems",
            |first: &mut Refund, next| first.refund_line_items.extend(next.refund_line_items),
        )
        .await
    }
}
