//! Shopify's order and refund bodies, as the `orders/*` and `refunds/create` webhooks send
//! them (REST JSON, snake_case), and the backfill's GraphQL order turned into the same
//! shape, so one mapping serves both.
//!
//! Ids are `u64` read straight from the JSON integers (several exceed 2^53: nothing here
//! goes through `f64`). Amounts are `*_set` money bags of decimal strings. Whatever Shopify
//! may send as `null` or leave out is an `Option` (serde reads a missing one as `None`) or
//! an empty list. Unknown fields are ignored: Shopify adds fields in every version.
//!
//! The compliance topics need the personal data in a stored body: [`redact_order_body`]
//! removes it, [`order_mentions`] tells whether a body concerns a customer or an order.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use plumb_common::Decimal;

use crate::shopify::Refund as RefundRead;
use crate::shopify::money::{MoneyBag, TaxLine as GraphqlTaxLine};
use crate::shopify::orders::{self as graphql, MailingAddress, Order, PricingValue};
use crate::store::Failure;

/// A body that is not an order or refund webhook: not JSON at all, or JSON of another
/// shape. Either way retrying cannot help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct PayloadError {
    /// Where the JSON stopped matching the shape ("line_items[2].price_set", "." for the
    /// top level); `None` when the body is not JSON at all.
    pub path: Option<String>,
    /// The whole reason: "the body is not JSON: ..." or "the body is not a Shopify order:
    /// at `line_items[2].price_set`: missing field `shop_money` at line 40 column 5".
    pub message: String,
}

impl From<PayloadError> for Failure {
    fn from(error: PayloadError) -> Failure {
        Failure::permanent("malformed_payload", error.message)
    }
}

/// Reads `body` as `T`, naming where and why it does not fit.
fn parse<T: DeserializeOwned>(body: &str, what: &str) -> Result<T, PayloadError> {
    let not_json = |error: serde_json::Error| PayloadError {
        path: None,
        message: format!("the body is not JSON: {error}"),
    };
    let mut json = serde_json::Deserializer::from_str(body);
    let value = serde_path_to_error::deserialize(&mut json).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        if !inner.is_data() {
            return not_json(inner);
        }
        let place = match path.as_str() {
            "." => "the top level".to_owned(),
            path => format!("`{path}`"),
        };
        PayloadError {
            message: format!("the body is not {what}: at {place}: {inner}"),
            path: Some(path),
        }
    })?;
    json.end().map_err(not_json)?;
    Ok(value)
}

/// Serde: `null` as the type's default (Shopify sends `null` for empty lists and flags).
fn null_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// A ratio Shopify sends as a JSON number (0.045), read through its shortest decimal
/// spelling, which is the number as written: `0.045`, not `0.04499999999999999833`.
fn ratio(number: f64) -> Option<Decimal> {
    Decimal::from_str(&number.to_string()).ok()
}

/// Serde: a tax rate, a JSON number or a decimal string, or null.
fn de_rate<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Decimal>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Rate {
        Number(f64),
        Text(String),
    }
    match Option::<Rate>::deserialize(deserializer)? {
        None => Ok(None),
        Some(Rate::Number(number)) => ratio(number)
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom(format!("rate {number} is not a ratio"))),
        Some(Rate::Text(text)) => Decimal::from_str(&text)
            .map(Some)
            .map_err(|e| serde::de::Error::custom(format!("rate {text:?}: {e}"))),
    }
}

/// An order, as `orders/create`, `orders/updated`, `orders/paid` and `orders/cancelled`
/// send it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct OrderPayload {
    /// The order id (the number in `gid://shopify/Order/<id>`).
    pub id: u64,
    /// "#1001".
    pub name: String,
    /// The buyer's e-mail.
    pub email: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// When the sale happened (differs from `created_at` for imported orders).
    pub processed_at: Option<DateTime<Utc>>,
    /// Cancelled, if it was.
    pub cancelled_at: Option<DateTime<Utc>>,
    /// Why ("customer", "fraud", "inventory", "declined", "other", "staff").
    pub cancel_reason: Option<String>,
    /// "pending", "paid", "partially_refunded", "refunded", "voided"...
    pub financial_status: Option<String>,
    /// A test order.
    #[serde(default, deserialize_with = "null_default")]
    pub test: bool,
    /// The physical location a point-of-sale order was taken at.
    pub location_id: Option<u64>,
    /// The shop's currency: the books' currency.
    pub currency: String,
    /// The buyer's currency.
    pub presentment_currency: Option<String>,
    /// Whether prices include tax.
    #[serde(default, deserialize_with = "null_default")]
    pub taxes_included: bool,
    /// The total as ordered.
    pub total_price_set: MoneyBag,
    /// Lines after discounts, before shipping and tax.
    pub subtotal_price_set: Option<MoneyBag>,
    /// All taxes.
    pub total_tax_set: Option<MoneyBag>,
    /// All discounts.
    pub total_discounts_set: Option<MoneyBag>,
    /// Shipping.
    pub total_shipping_price_set: Option<MoneyBag>,
    /// The total after edits and refunds.
    pub current_total_price_set: Option<MoneyBag>,
    /// The order's taxes, summed by title.
    #[serde(default, deserialize_with = "null_default")]
    pub tax_lines: Vec<TaxLine>,
    /// The discounts; allocations name them by their position here.
    #[serde(default, deserialize_with = "null_default")]
    pub discount_applications: Vec<DiscountApplication>,
    /// The product lines.
    #[serde(default, deserialize_with = "null_default")]
    pub line_items: Vec<LineItem>,
    /// The shipping charges.
    #[serde(default, deserialize_with = "null_default")]
    pub shipping_lines: Vec<ShippingLine>,
    /// The buyer, when the order has one.
    pub customer: Option<CustomerPayload>,
    /// Where the invoice goes.
    pub billing_address: Option<MailingAddress>,
    /// Where the goods go.
    pub shipping_address: Option<MailingAddress>,
    /// The gateways paid through; `gift_card` is a gift card tender, not a discount.
    #[serde(default, deserialize_with = "null_default")]
    pub payment_gateway_names: Vec<String>,
}

/// A tax charged on a line, a shipping line or (summed) the order.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TaxLine {
    /// The tax's name ("NY State Tax").
    pub title: String,
    /// The rate as a fraction (0.04 for 4 %).
    #[serde(default, deserialize_with = "de_rate")]
    pub rate: Option<Decimal>,
    /// The amount.
    pub price_set: MoneyBag,
}

/// A discount of the order; what it is worth per line is in the lines' allocations.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DiscountApplication {
    /// "discount_code", "manual", "script", "automatic".
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// "across", "each", "one".
    pub allocation_method: Option<String>,
    /// "all", "entitled", "explicit".
    pub target_selection: Option<String>,
    /// "line_item", "shipping_line".
    pub target_type: Option<String>,
    /// "fixed_amount" or "percentage".
    pub value_type: Option<String>,
    /// The amount or the percentage, as Shopify spells it ("10.0").
    pub value: Option<String>,
    /// The code, for a discount code.
    pub code: Option<String>,
    /// The title, for the other kinds.
    pub title: Option<String>,
}

/// The part of a discount that falls on one line or shipping line.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DiscountAllocation {
    /// The amount, already split to the cent by Shopify.
    pub amount_set: MoneyBag,
    /// Which discount: a position in `discount_applications`.
    pub discount_application_index: usize,
}

/// A product line.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct LineItem {
    /// The line's id.
    pub id: u64,
    /// The variant's SKU when the line was ordered; `None` or empty if it had none.
    pub sku: Option<String>,
    /// The product's title.
    #[serde(default)]
    pub title: String,
    /// The variant's title.
    pub variant_title: Option<String>,
    /// Product and variant title, as the buyer saw them.
    pub name: Option<String>,
    /// Units ordered.
    pub quantity: i64,
    /// Units after edits and refunds.
    pub current_quantity: Option<i64>,
    /// Unit price before discounts.
    pub price_set: MoneyBag,
    /// Shopify's own sum of the line's discounts (deprecated by Shopify: the allocations
    /// are what counts).
    pub total_discount_set: Option<MoneyBag>,
    /// The discounts falling on the line, order-level and line-level alike.
    #[serde(default, deserialize_with = "null_default")]
    pub discount_allocations: Vec<DiscountAllocation>,
    /// The line's taxes.
    #[serde(default, deserialize_with = "null_default")]
    pub tax_lines: Vec<TaxLine>,
    /// A gift card being sold (not stock).
    #[serde(default, deserialize_with = "null_default")]
    pub gift_card: bool,
    /// The product, `None` once it was deleted.
    pub product_id: Option<u64>,
    /// The variant, `None` once it was deleted.
    pub variant_id: Option<u64>,
    /// Whether it ships.
    #[serde(default, deserialize_with = "null_default")]
    pub requires_shipping: bool,
    /// Whether it is taxed.
    #[serde(default, deserialize_with = "null_default")]
    pub taxable: bool,
}

/// A shipping charge.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ShippingLine {
    /// Its id.
    pub id: Option<u64>,
    /// The method's title ("Standard").
    pub title: String,
    /// The carrier's code.
    pub code: Option<String>,
    /// Price before discounts.
    pub price_set: MoneyBag,
    /// Price after discounts.
    pub discounted_price_set: Option<MoneyBag>,
    /// The discounts falling on it.
    #[serde(default, deserialize_with = "null_default")]
    pub discount_allocations: Vec<DiscountAllocation>,
    /// Its taxes.
    #[serde(default, deserialize_with = "null_default")]
    pub tax_lines: Vec<TaxLine>,
}

/// The buyer, as the order names them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CustomerPayload {
    /// The customer id.
    pub id: u64,
    /// E-mail.
    pub email: Option<String>,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Phone.
    pub phone: Option<String>,
}

impl OrderPayload {
    /// Reads an `orders/*` webhook body.
    pub fn parse(body: &str) -> Result<OrderPayload, PayloadError> {
        parse(body, "a Shopify order")
    }

    /// The order the backfill read through GraphQL, in the webhooks' shape. What the
    /// GraphQL read does not select is `None`: `product_id` (a line's `variant_id` tells a
    /// deleted product) and `total_discount_set` on lines (the allocations count).
    pub fn from_graphql(order: &Order) -> OrderPayload {
        let mut applications: Vec<&graphql::DiscountApplication> =
            order.discount_applications.iter().collect();
        applications.sort_by_key(|a| a.index);
        OrderPayload {
            id: order.legacy_resource_id,
            name: order.name.clone(),
            email: order.email.clone(),
            created_at: order.created_at,
            updated_at: order.updated_at,
            processed_at: Some(order.processed_at),
            cancelled_at: order.cancelled_at,
            cancel_reason: order.cancel_reason.as_deref().map(str::to_lowercase),
            financial_status: order
                .display_financial_status
                .as_deref()
                .map(str::to_lowercase),
            test: order.test,
            location_id: order.retail_location.map(|l| l.id),
            currency: order.currency_code.clone(),
            presentment_currency: Some(order.presentment_currency_code.clone()),
            taxes_included: order.taxes_included,
            total_price_set: order.total_price_set.clone(),
            subtotal_price_set: order.subtotal_price_set.clone(),
            total_tax_set: order.total_tax_set.clone(),
            total_discounts_set: order.total_discounts_set.clone(),
            total_shipping_price_set: Some(order.total_shipping_price_set.clone()),
            current_total_price_set: Some(order.current_total_price_set.clone()),
            tax_lines: taxes(&order.tax_lines),
            discount_applications: applications.into_iter().map(application).collect(),
            line_items: order.line_items.iter().map(line_item).collect(),
            shipping_lines: order.shipping_lines.iter().map(shipping_line).collect(),
            customer: order.customer.as_ref().map(|c| CustomerPayload {
                id: c.id,
                email: c.email().map(str::to_owned),
                first_name: c.first_name.clone(),
                last_name: c.last_name.clone(),
                phone: c.phone().map(str::to_owned),
            }),
            billing_address: order.billing_address.clone(),
            shipping_address: order.shipping_address.clone(),
            payment_gateway_names: order.payment_gateway_names.clone(),
        }
    }
}

fn taxes(lines: &[GraphqlTaxLine]) -> Vec<TaxLine> {
    lines
        .iter()
        .map(|t| TaxLine {
            title: t.title.clone(),
            rate: t.rate.and_then(ratio),
            price_set: t.price_set.clone(),
        })
        .collect()
}

fn allocations(allocations: &[graphql::DiscountAllocation]) -> Vec<DiscountAllocation> {
    allocations
        .iter()
        .map(|a| DiscountAllocation {
            amount_set: a.allocated_amount_set.clone(),
            discount_application_index: usize::try_from(a.discount_application.index)
                .unwrap_or(usize::MAX),
        })
        .collect()
}

fn application(application: &graphql::DiscountApplication) -> DiscountApplication {
    let (value_type, value) = match &application.value {
        PricingValue::Amount { amount, .. } => ("fixed_amount", amount.to_string()),
        PricingValue::Percentage { percentage } => ("percentage", percentage.to_string()),
    };
    let lower = |text: &str| Some(text.to_lowercase());
    DiscountApplication {
        kind: None,
        allocation_method: lower(&application.allocation_method),
        target_selection: lower(&application.target_selection),
        target_type: lower(&application.target_type),
        value_type: Some(value_type.into()),
        value: Some(value),
        code: application.code.clone(),
        title: None,
    }
}

fn line_item(line: &graphql::LineItem) -> LineItem {
    LineItem {
        id: line.id,
        sku: line.sku.clone(),
        title: line.name.clone(),
        variant_title: None,
        name: Some(line.name.clone()),
        quantity: line.quantity,
        current_quantity: Some(line.current_quantity),
        price_set: line.original_unit_price_set.clone(),
        total_discount_set: Some(line.total_discount_set.clone()),
        discount_allocations: allocations(&line.discount_allocations),
        tax_lines: taxes(&line.tax_lines),
        gift_card: line.is_gift_card,
        product_id: None,
        variant_id: line.variant.map(|v| v.id),
        requires_shipping: line.requires_shipping,
        taxable: line.taxable,
    }
}

fn shipping_line(line: &graphql::ShippingLine) -> ShippingLine {
    ShippingLine {
        id: line.id,
        title: line.title.clone(),
        code: line.code.clone(),
        price_set: line.original_price_set.clone(),
        discounted_price_set: Some(line.discounted_price_set.clone()),
        discount_allocations: allocations(&line.discount_allocations),
        tax_lines: taxes(&line.tax_lines),
    }
}

/// A refund, as `refunds/create` sends it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RefundPayload {
    /// The refund id: the idempotency key of its booking.
    pub id: u64,
    /// The refunded order.
    pub order_id: u64,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// When it was processed.
    pub processed_at: Option<DateTime<Utc>>,
    /// The merchant's note.
    pub note: Option<String>,
    /// The refunded lines.
    #[serde(default, deserialize_with = "null_default")]
    pub refund_line_items: Vec<RefundLineItem>,
    /// Shipping refunded (newer API versions; older ones use an order adjustment).
    #[serde(default, deserialize_with = "null_default")]
    pub refund_shipping_lines: Vec<RefundShippingLine>,
    /// Shipping refunds and refund discrepancies.
    #[serde(default, deserialize_with = "null_default")]
    pub order_adjustments: Vec<OrderAdjustment>,
    /// The money movements.
    #[serde(default, deserialize_with = "null_default")]
    pub transactions: Vec<Transaction>,
}

/// What happens to the refunded units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RestockType {
    /// Returned by the buyer: back into stock.
    Return,
    /// Not shipped yet and cancelled: back into stock.
    Cancel,
    /// Restocked, in an older API's words.
    LegacyRestock,
    /// Money only; the goods stay where they are.
    NoRestock,
}

impl RestockType {
    /// Whether the units go back into stock.
    pub fn restocks(self) -> bool {
        !matches!(self, RestockType::NoRestock)
    }
}

/// One refunded line.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RefundLineItem {
    /// Its id.
    pub id: u64,
    /// The order's line item.
    pub line_item_id: u64,
    /// Units refunded.
    pub quantity: i64,
    /// What happens to the units.
    pub restock_type: RestockType,
    /// Where restocked units go back to.
    pub location_id: Option<u64>,
    /// The amount refunded for the units, after their discounts, before tax.
    pub subtotal_set: MoneyBag,
    /// The tax refunded on them.
    pub total_tax_set: MoneyBag,
    /// The order's line, as it was.
    pub line_item: Option<LineItem>,
}

/// Shipping refunded.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RefundShippingLine {
    /// Its id.
    pub id: Option<u64>,
    /// The order's shipping line.
    pub shipping_line_id: Option<u64>,
    /// Refunded, before tax.
    pub subtotal_amount_set: MoneyBag,
    /// Its tax.
    pub total_tax_amount_set: Option<MoneyBag>,
}

/// An amount refunded that is not a line: `shipping_refund` or `refund_discrepancy`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OrderAdjustment {
    /// Its id.
    pub id: Option<u64>,
    /// "shipping_refund" or "refund_discrepancy".
    pub kind: String,
    /// Why, in words.
    pub reason: Option<String>,
    /// The amount (negative: money back to the buyer).
    pub amount_set: MoneyBag,
    /// Its tax.
    pub tax_amount_set: Option<MoneyBag>,
}

/// A money movement of the refund.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Transaction {
    /// Its id.
    pub id: u64,
    /// "refund".
    pub kind: String,
    /// "bogus", "shopify_payments", "gift_card"...
    pub gateway: Option<String>,
    /// "success", "failure", "pending".
    pub status: Option<String>,
    /// The amount, in the transaction's currency.
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
    /// Its currency, when Shopify says.
    pub currency: Option<String>,
}

impl RefundPayload {
    /// Reads a `refunds/create` webhook body.
    pub fn parse(body: &str) -> Result<RefundPayload, PayloadError> {
        parse(body, "a Shopify refund")
    }

    /// A refund read through GraphQL, in the webhooks' shape, for `order` (read through
    /// GraphQL too): each refunded line is the order's line (its SKU and taxes), GraphQL's
    /// order adjustments are refund discrepancies (shipping comes as its own lines), and
    /// what GraphQL does not give is `None`.
    pub fn from_graphql(refund: &RefundRead, order: &OrderPayload) -> RefundPayload {
        let restock = |text: &str| match text {
            "RETURN" => RestockType::Return,
            "CANCEL" => RestockType::Cancel,
            "LEGACY_RESTOCK" => RestockType::LegacyRestock,
            _ => RestockType::NoRestock,
        };
        RefundPayload {
            id: refund.legacy_resource_id,
            order_id: order.id,
            created_at: refund.created_at.unwrap_or(order.updated_at),
            processed_at: refund.created_at,
            note: refund.note.clone(),
            refund_line_items: refund
                .refund_line_items
                .iter()
                .map(|line| RefundLineItem {
                    id: line.id.unwrap_or_default(),
                    line_item_id: line.line_item.id,
                    quantity: line.quantity,
                    restock_type: restock(&line.restock_type),
                    location_id: line.location.as_ref().map(|l| l.id),
                    subtotal_set: line.subtotal_set.clone(),
                    total_tax_set: line.total_tax_set.clone(),
                    line_item: order
                        .line_items
                        .iter()
                        .find(|l| l.id == line.line_item.id)
                        .cloned(),
                })
                .collect(),
            refund_shipping_lines: refund
                .refund_shipping_lines
                .iter()
                .map(|line| RefundShippingLine {
                    id: None,
                    shipping_line_id: None,
                    subtotal_amount_set: line.subtotal_amount_set.clone(),
                    total_tax_amount_set: Some(line.tax_amount_set.clone()),
                })
                .collect(),
            order_adjustments: refund
                .order_adjustments
                .iter()
                .map(|adjustment| OrderAdjustment {
                    id: Some(adjustment.id),
                    kind: "refund_discrepancy".to_owned(),
                    reason: adjustment.reason.as_deref().map(str::to_lowercase),
                    amount_set: adjustment.amount_set.clone(),
                    tax_amount_set: Some(adjustment.tax_amount_set.clone()),
                })
                .collect(),
            transactions: refund
                .transactions
                .iter()
                .map(|t| Transaction {
                    id: t.id,
                    kind: t.kind.to_lowercase(),
                    gateway: t.gateway.clone(),
                    status: Some(t.status.to_lowercase()),
                    amount: t.amount_set.shop_money.amount,
                    currency: Some(t.amount_set.shop_money.currency_code.clone()),
                })
                .collect(),
        }
    }
}

/// Keys whose value is personal data wherever they appear in an order or refund body.
const PERSONAL: &[&str] = &[
    "email",
    "contact_email",
    "phone",
    "browser_ip",
    "client_details",
    "note",
    "note_attributes",
    "properties",
    "customer_locale",
    "landing_site",
    "referring_site",
    "order_status_url",
    "token",
    "cart_token",
    "checkout_token",
    "payment_details",
    "receipt",
];

/// Keys holding a postal address (or a list of them) in an order, refund or fulfilment.
const ADDRESSES: &[&str] = &[
    "billing_address",
    "shipping_address",
    "default_address",
    "addresses",
    "destination",
];

/// Of an address, what stays: where it is for tax (country and region), nothing of who or
/// which street.
const ADDRESS_KEPT: &[&str] = &[
    "country",
    "country_code",
    "country_name",
    "province",
    "province_code",
    "id",
    "customer_id",
    "default",
];

/// Of a customer, what stays: the ids that join the order to the books.
const CUSTOMER_KEPT: &[&str] = &["id", "admin_graphql_api_id"];

/// The body with the buyer's personal data removed: names, e-mail and phone, street,
/// postal code and city, the browser and device, notes and custom attributes, card
/// details. Ids, amounts, SKUs, line items, currencies, taxes and the country and region
/// stay, so the job can still be replayed for the books. A removed value becomes `null`
/// (a list becomes empty) and the keys stay. `None` if the body is not JSON.
pub fn redact_order_body(body: &str) -> Option<String> {
    let mut value: Value = serde_json::from_str(body).ok()?;
    redact(&mut value);
    serde_json::to_string(&value).ok()
}

fn blank(value: &mut Value) {
    *value = match value {
        Value::Array(_) => Value::Array(Vec::new()),
        _ => Value::Null,
    };
}

fn keep_only(value: &mut Value, kept: &[&str]) {
    match value {
        Value::Object(map) => {
            for (key, field) in map.iter_mut() {
                if !kept.contains(&key.as_str()) {
                    blank(field);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| keep_only(item, kept)),
        _ => {}
    }
}

fn redact(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, field) in map.iter_mut() {
                let key = key.as_str();
                if PERSONAL.contains(&key) {
                    blank(field);
                } else if ADDRESSES.contains(&key) {
                    keep_only(field, ADDRESS_KEPT);
                } else if key == "customer" {
                    keep_only(field, CUSTOMER_KEPT);
                } else {
                    redact(field);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

/// Whether an order, refund or order-edit body concerns this customer (by id or e-mail,
/// e-mail compared without case) or one of these orders. A refund names its order in
/// `order_id`, an order edit in `order_edit.order_id`, an order in `id`. `false` if the
/// body is not JSON.
pub fn order_mentions(
    body: &str,
    customer_id: Option<u64>,
    email: Option<&str>,
    order_ids: &[u64],
) -> bool {
    let Ok(value) = serde_json::from_str::<Value>(body) else {
        return false;
    };
    let order_id = value
        .get("order_id")
        .or_else(|| value.pointer("/order_edit/order_id"))
        .or_else(|| value.get("id"))
        .and_then(Value::as_u64);
    if order_id.is_some_and(|id| order_ids.contains(&id)) {
        return true;
    }
    let customer = value.get("customer");
    if let Some(wanted) = customer_id
        && customer.and_then(|c| c.get("id")).and_then(Value::as_u64) == Some(wanted)
    {
        return true;
    }
    let Some(wanted) = email else {
        return false;
    };
    [
        value.get("email"),
        value.get("contact_email"),
        customer.and_then(|c| c.get("email")),
    ]
    .into_iter()
    .flatten()
    .filter_map(Value::as_str)
    .any(|found| found.eq_ignore_ascii_case(wanted))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORDER: &str =
        include_str!("../../../../tests/fixtures/shopify/webhooks/orders_create.json");
    const REFUND: &str =
        include_str!("../../../../tests/fixtures/shopify/webhooks/refunds_create.json");

    fn minimal(id: &str) -> String {
        format!(
            r##"{{"id":{id},"name":"#1","created_at":"2026-01-02T03:04:05Z",
            "updated_at":"2026-01-02T03:04:05Z","currency":"USD",
            "total_price_set":{{"shop_money":{{"amount":"0.00","currency_code":"USD"}},
            "presentment_money":{{"amount":"0.00","currency_code":"USD"}}}},
            "line_items":[{{"id":{id},"quantity":1,"sku":null,"product_id":null,
            "price_set":{{"shop_money":{{"amount":"0.00","currency_code":"USD"}},
            "presentment_money":{{"amount":"0.00","currency_code":"USD"}}}},
            "tax_lines":null,"discount_allocations":null}}],
            "customer":null,"tax_lines":null,"email":null}}"##
        )
    }

    #[test]
    fn ids_above_2_pow_53_are_read_exactly() {
        let order = OrderPayload::parse(&minimal("9007199254740993")).unwrap();
        assert_eq!(order.id, 9_007_199_254_740_993);
        assert_eq!(order.line_items[0].id, 9_007_199_254_740_993);
        // through f64 it would have become ...992
        assert_ne!(9_007_199_254_740_993_f64 as u64, 9_007_199_254_740_993);
        let largest = OrderPayload::parse(&minimal(&u64::MAX.to_string())).unwrap();
        assert_eq!(largest.id, u64::MAX);
    }

    #[test]
    fn nulls_and_missing_fields_are_optional() {
        let order = OrderPayload::parse(&minimal("1")).unwrap();
        assert!(order.customer.is_none() && order.email.is_none());
        assert!(order.tax_lines.is_empty() && order.shipping_lines.is_empty());
        assert!(!order.taxes_included && !order.test);
        let line = &order.line_items[0];
        assert!(line.sku.is_none() && line.product_id.is_none());
        assert!(line.tax_lines.is_empty() && line.discount_allocations.is_empty());
    }

    #[test]
    fn shopifys_example_order_is_read_whole() {
        let order = OrderPayload::parse(ORDER).unwrap();
        assert_eq!(order.id, 820_982_911_946_154_500);
        assert_eq!(order.name, "#9999");
        assert_eq!(order.line_items.len(), 5);
        assert_eq!(order.line_items[1].product_id, None);
        assert_eq!(order.line_items[0].sku.as_deref(), Some("SKU2006-001"));
        assert_eq!(
            order.total_price_set.shop_money.amount,
            Decimal::from_str("404.95").unwrap()
        );
        assert_eq!(order.customer.as_ref().unwrap().id, 115_310_627_314_723_950);
        let billing = order.billing_address.as_ref().unwrap();
        assert_eq!(billing.province_code.as_deref(), Some("KY"));
        assert_eq!(order.payment_gateway_names, vec!["visa", "bogus"]);
        assert!(order.cancelled_at.is_some());
    }

    #[test]
    fn rates_keep_the_decimal_as_written() {
        let tax: TaxLine = serde_json::from_str(
            r#"{"title":"NYC","rate":0.045,"price_set":{"shop_money":{"amount":"0.45","currency_code":"USD"},"presentment_money":{"amount":"0.45","currency_code":"USD"}}}"#,
        )
        .unwrap();
        assert_eq!(tax.rate, Some(Decimal::from_str("0.045").unwrap()));
        assert_eq!(tax.rate.unwrap().to_string(), "0.045");
    }

    #[test]
    fn a_body_that_is_not_json_says_so_with_the_position() {
        let error = OrderPayload::parse("{\"id\": 1,").unwrap_err();
        assert_eq!(error.path, None);
        assert_eq!(
            error.to_string(),
            "the body is not JSON: EOF while parsing a value at line 1 column 9"
        );
        let trailing = OrderPayload::parse(&format!("{} x", minimal("1"))).unwrap_err();
        assert_eq!(trailing.path, None, "{trailing}");
    }

    #[test]
    fn a_body_of_another_shape_names_the_path() {
        let body = minimal("1").replace(r#""quantity":1"#, r#""quantity":"one""#);
        let error = OrderPayload::parse(&body).unwrap_err();
        assert_eq!(error.path.as_deref(), Some("line_items[0].quantity"));
        assert_eq!(
            error.to_string(),
            "the body is not a Shopify order: at `line_items[0].quantity`: invalid type: \
             string \"one\", expected i64 at line 5 column 50"
        );
        let failure = Failure::from(error);
        assert_eq!(failure.cause, "malformed_payload");
        assert_eq!(failure.class, plumb_common::ErrorClass::Permanent);
        // an amount as a float went through f64 somewhere: refused, with its path
        let float = minimal("1").replacen(r#""amount":"0.00""#, r#""amount":0.1"#, 1);
        let error = OrderPayload::parse(&float).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("at `total_price_set.shop_money.amount`"),
            "{error}"
        );
    }

    #[test]
    fn shopifys_example_refund_is_read_whole() {
        let refund = RefundPayload::parse(REFUND).unwrap();
        assert_eq!(refund.id, 890_088_186_047_892_400);
        assert_eq!(refund.order_id, 820_982_911_946_154_500);
        assert_eq!(refund.refund_line_items.len(), 5);
        let first = &refund.refund_line_items[0];
        assert_eq!(first.restock_type, RestockType::NoRestock);
        assert_eq!(first.location_id, None);
        assert_eq!(
            first.line_item.as_ref().unwrap().sku.as_deref(),
            Some("SKU2006-001")
        );
        assert!(refund.order_adjustments.is_empty());
        assert_eq!(refund.transactions.len(), 2);
        assert_eq!(
            refund.transactions[0].amount,
            Decimal::from_str("75.00").unwrap()
        );
        // an order body is not a refund
        let error = RefundPayload::parse(ORDER).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the body is not a Shopify refund: at the top level: missing field `order_id` at \
             line 583 column 1"
        );
    }

    #[test]
    fn redaction_removes_the_person_and_keeps_the_books() {
        let redacted = redact_order_body(ORDER).unwrap();
        for personal in [
            "jon@example.com",
            "john@example.com",
            "Steve",
            "Shipper",
            "123 Shipping Street",
            "555-555-SHIP",
            "Shippington",
            "40003",
            "123 Elm St.",
            "123-123-1234",
            "K2H7A8",
            "Smith",
            "authenticate?key",
        ] {
            assert!(!redacted.contains(personal), "{personal} left in the body");
        }
        let order = OrderPayload::parse(&redacted).unwrap();
        let original = OrderPayload::parse(ORDER).unwrap();
        assert_eq!(order.id, original.id);
        assert_eq!(order.line_items, original.line_items);
        assert_eq!(order.total_price_set, original.total_price_set);
        assert_eq!(
            order.customer.as_ref().map(|c| c.id),
            Some(115_310_627_314_723_950)
        );
        assert_eq!(order.email, None);
        let shipping = order.shipping_address.unwrap();
        assert_eq!(shipping.country_code_v2.as_deref(), Some("US"));
        assert_eq!(shipping.province_code.as_deref(), Some("KY"));
        assert_eq!(
            (shipping.name, shipping.address1, shipping.zip),
            (None, None, None)
        );
        assert!(redact_order_body("not json").is_none());
    }

    #[test]
    fn redaction_of_a_refund_keeps_its_lines() {
        let redacted = redact_order_body(REFUND).unwrap();
        assert!(!redacted.contains("Things were damaged"));
        let refund = RefundPayload::parse(&redacted).unwrap();
        assert_eq!(
            refund,
            RefundPayload {
                note: None,
                ..RefundPayload::parse(REFUND).unwrap()
            }
        );
    }

    #[test]
    fn mentions_by_customer_email_or_order() {
        let customer = 115_310_627_314_723_950;
        let order = 820_982_911_946_154_500;
        assert!(order_mentions(ORDER, Some(customer), None, &[]));
        assert!(order_mentions(ORDER, None, Some("JOHN@example.com"), &[]));
        assert!(order_mentions(ORDER, None, Some("jon@example.com"), &[]));
        assert!(order_mentions(ORDER, None, None, &[1, order]));
        assert!(!order_mentions(ORDER, Some(1), Some("x@example.com"), &[2]));
        // a refund names its order, not a customer
        assert!(order_mentions(REFUND, None, None, &[order]));
        assert!(!order_mentions(
            REFUND,
            Some(customer),
            Some("john@example.com"),
            &[]
        ));
        let refund_id = 890_088_186_047_892_400;
        assert!(!order_mentions(REFUND, None, None, &[refund_id]));
        // an order edit names its order inside
        let edit = include_str!("../../../../tests/fixtures/shopify/webhooks/orders_edited.json");
        assert!(order_mentions(edit, None, None, &[order]));
        assert!(!order_mentions("not json", Some(customer), None, &[order]));
    }
}
