//! Orders for the order flows and the backfill: the walk over orders changed since a
//! cursor, and one order read whole (all line item pages).

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::json;

use super::client::ShopifyClient;
use super::documents::{ORDER, ORDERS_UPDATED_SINCE};
use super::error::ShopifyError;
use super::ids::{Kind, de_gid, de_opt_gid, de_u64_string, gid};
use super::jsonl::BulkRecord;
use super::money::{MoneyBag, Ref, TaxLine};
use super::pagination::{Connection, PAGE_SIZE, de_nodes};

/// An order changed since the cursor: what the backfill enqueues.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderRef {
    /// The order.
    #[serde(deserialize_with = "de_gid")]
    pub id: u64,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When it was cancelled, if it was.
    pub cancelled_at: Option<DateTime<Utc>>,
}

/// An order as reconciliation compares it: a line of the [`super::documents::BULK_ORDERS`]
/// result.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderFigures {
    /// The order.
    #[serde(deserialize_with = "de_gid")]
    pub id: u64,
    /// When it was placed.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When it was cancelled, if it was.
    pub cancelled_at: Option<DateTime<Utc>>,
    /// `FULFILLED`, `PARTIALLY_FULFILLED`, `UNFULFILLED`...
    pub display_fulfillment_status: String,
    /// Its total (lines after discounts, shipping, taxes), as placed or edited.
    #[serde(rename = "totalPriceSet")]
    pub total: ShopAmount,
    /// Its taxes.
    #[serde(rename = "totalTaxSet")]
    pub tax: ShopAmount,
    /// What its refunds gave back.
    #[serde(rename = "totalRefundedSet")]
    pub refunded: ShopAmount,
}

impl OrderFigures {
    /// Whether some of its goods were fulfilled.
    pub fn fulfilled(&self) -> bool {
        matches!(
            self.display_fulfillment_status.as_str(),
            "FULFILLED" | "PARTIALLY_FULFILLED"
        )
    }

    /// Reads one line of the bulk result.
    pub fn from_record(record: BulkRecord) -> Result<OrderFigures, ShopifyError> {
        serde_json::from_value(record.object)
            .map_err(|e| ShopifyError::Shape(format!("BulkOrders line: {e}")))
    }
}

/// An amount in the shop's currency: the part of a `MoneyBag` the books use.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShopAmount {
    /// In the shop's currency.
    pub shop_money: super::money::Money,
}

/// One page of the backfill walk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrdersPage {
    /// The orders, oldest change first.
    pub orders: Vec<OrderRef>,
    /// The cursor of the next page, if any.
    pub next: Option<String>,
}

/// An order, as the order flows need it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    /// The order id.
    #[serde(deserialize_with = "de_gid")]
    pub id: u64,
    /// The id webhooks carry.
    #[serde(deserialize_with = "de_u64_string")]
    pub legacy_resource_id: u64,
    /// "#1001".
    pub name: String,
    /// The buyer's email.
    pub email: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// When the sale happened (differs from `created_at` for imported orders).
    pub processed_at: DateTime<Utc>,
    /// Cancelled, if it was.
    pub cancelled_at: Option<DateTime<Utc>>,
    /// Why (CUSTOMER, FRAUD, INVENTORY, DECLINED, OTHER, STAFF).
    pub cancel_reason: Option<String>,
    /// Closed (archived), if it was.
    pub closed_at: Option<DateTime<Utc>>,
    /// A test order.
    pub test: bool,
    /// The shop's currency.
    pub currency_code: String,
    /// The buyer's currency.
    pub presentment_currency_code: String,
    /// Whether prices include tax.
    pub taxes_included: bool,
    /// PAID, PARTIALLY_REFUNDED...
    pub display_financial_status: Option<String>,
    /// FULFILLED, UNFULFILLED...
    pub display_fulfillment_status: String,
    /// Gateways used; a gift card payment is the gateway `gift_card`, not a discount.
    pub payment_gateway_names: Vec<String>,
    /// The physical location a point-of-sale order was taken at.
    #[serde(default)]
    pub retail_location: Option<Ref>,
    /// The buyer, when the order has one.
    #[serde(default)]
    pub customer: Option<Customer>,
    /// Where the invoice goes.
    #[serde(default)]
    pub billing_address: Option<MailingAddress>,
    /// Where the goods go.
    #[serde(default)]
    pub shipping_address: Option<MailingAddress>,
    /// Line items' total after discounts, before shipping and taxes.
    pub subtotal_price_set: Option<MoneyBag>,
    /// The total as ordered.
    pub total_price_set: MoneyBag,
    /// The total after edits and refunds.
    pub current_total_price_set: MoneyBag,
    /// All discounts.
    pub total_discounts_set: Option<MoneyBag>,
    /// Shipping.
    pub total_shipping_price_set: MoneyBag,
    /// All taxes.
    pub total_tax_set: Option<MoneyBag>,
    /// Refunded so far.
    pub total_refunded_set: MoneyBag,
    /// Order-level taxes.
    pub tax_lines: Vec<TaxLine>,
    /// The discounts, referred to by index from the allocations.
    #[serde(deserialize_with = "de_nodes")]
    pub discount_applications: Vec<DiscountApplication>,
    /// Shipping lines.
    #[serde(deserialize_with = "de_nodes")]
    pub shipping_lines: Vec<ShippingLine>,
    /// Every line item (all pages).
    #[serde(deserialize_with = "de_nodes")]
    pub line_items: Vec<LineItem>,
}

/// The buyer of an order.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Customer {
    /// The customer id.
    #[serde(deserialize_with = "de_gid")]
    pub id: u64,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// The e-mail address.
    pub default_email_address: Option<EmailAddress>,
    /// The phone number.
    pub default_phone_number: Option<PhoneNumber>,
}

impl Customer {
    /// The e-mail address, if any.
    pub fn email(&self) -> Option<&str> {
        self.default_email_address
            .as_ref()
            .and_then(|e| e.email_address.as_deref())
    }

    /// The phone number, if any.
    pub fn phone(&self) -> Option<&str> {
        self.default_phone_number
            .as_ref()
            .and_then(|p| p.phone_number.as_deref())
    }
}

/// A customer's e-mail address.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmailAddress {
    /// The address.
    pub email_address: Option<String>,
}

/// A customer's phone number.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PhoneNumber {
    /// The number.
    pub phone_number: Option<String>,
}

/// A postal address. Reads the webhooks' snake_case too (`first_name`, `country_code`),
/// so an order's address is one type whichever way it came; what is absent is `None`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MailingAddress {
    /// Full name.
    pub name: Option<String>,
    /// First name.
    #[serde(alias = "first_name")]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(alias = "last_name")]
    pub last_name: Option<String>,
    /// Company.
    pub company: Option<String>,
    /// Street.
    pub address1: Option<String>,
    /// Street, second line.
    pub address2: Option<String>,
    /// Postal code.
    pub zip: Option<String>,
    /// City.
    pub city: Option<String>,
    /// Region code ("NY").
    #[serde(alias = "province_code")]
    pub province_code: Option<String>,
    /// ISO 3166-1 alpha-2 country code.
    #[serde(alias = "country_code")]
    pub country_code_v2: Option<String>,
    /// Phone.
    pub phone: Option<String>,
}

/// A discount applied to the order.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiscountApplication {
    /// What allocations refer to.
    pub index: i64,
    /// ACROSS, EACH, ONE.
    pub allocation_method: String,
    /// ALL, ENTITLED, EXPLICIT.
    pub target_selection: String,
    /// LINE_ITEM, SHIPPING_LINE.
    pub target_type: String,
    /// An amount or a percentage.
    pub value: PricingValue,
    /// The code, for a discount code.
    #[serde(default)]
    pub code: Option<String>,
}

/// A discount's value.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "__typename")]
pub enum PricingValue {
    /// A fixed amount.
    #[serde(rename = "MoneyV2", rename_all = "camelCase")]
    Amount {
        /// The amount, from a decimal string.
        #[serde(with = "rust_decimal::serde::str")]
        amount: rust_decimal::Decimal,
        /// Its currency.
        currency_code: String,
    },
    /// A percentage (10.0 for 10 %).
    #[serde(rename = "PricingPercentageValue")]
    Percentage {
        /// The percentage.
        percentage: f64,
    },
}

/// A shipping line.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShippingLine {
    /// Its id (absent on some old orders).
    #[serde(default, deserialize_with = "de_opt_gid")]
    pub id: Option<u64>,
    /// The method's name.
    pub title: String,
    /// The carrier's code.
    pub code: Option<String>,
    /// Before discounts.
    pub original_price_set: MoneyBag,
    /// After discounts.
    pub discounted_price_set: MoneyBag,
    /// How discounts fell on it.
    #[serde(default)]
    pub discount_allocations: Vec<DiscountAllocation>,
    /// Its taxes.
    pub tax_lines: Vec<TaxLine>,
}

/// A line item.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LineItem {
    /// The line.
    #[serde(deserialize_with = "de_gid")]
    pub id: u64,
    /// The SKU, if the variant had one.
    pub sku: Option<String>,
    /// Product and variant title.
    pub name: String,
    /// Ordered.
    pub quantity: i64,
    /// After edits and refunds.
    pub current_quantity: i64,
    /// A gift card being sold (not stock).
    pub is_gift_card: bool,
    /// Whether it ships.
    pub requires_shipping: bool,
    /// Whether it is taxed.
    pub taxable: bool,
    /// The variant, unless it was deleted since.
    pub variant: Option<Ref>,
    /// Unit price before discounts.
    pub original_unit_price_set: MoneyBag,
    /// Discounts on the line.
    pub total_discount_set: MoneyBag,
    /// The line's total after its discounts.
    pub discounted_total_set: MoneyBag,
    /// How discounts fell on the line.
    pub discount_allocations: Vec<DiscountAllocation>,
    /// Its taxes.
    pub tax_lines: Vec<TaxLine>,
}

/// A part of a discount falling on a line.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiscountAllocation {
    /// The amount.
    pub allocated_amount_set: MoneyBag,
    /// Which discount (by index).
    pub discount_application: DiscountIndex,
}

/// A discount application's index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct DiscountIndex {
    /// The index.
    pub index: i64,
}

#[derive(Debug, Deserialize)]
struct OrdersData {
    orders: Connection<OrderRef>,
}

/// The search for orders changed at or after `since`.
pub fn updated_since_query(since: DateTime<Utc>) -> String {
    format!(
        "updated_at:>='{}'",
        since.to_rfc3339_opts(SecondsFormat::Secs, true)
    )
}

impl ShopifyClient {
    /// One page of orders changed at or after `since`, oldest change first. Orders changed
    /// exactly at `since` come again: the order flows are idempotent per order.
    pub async fn orders_updated_since(
        &self,
        since: DateTime<Utc>,
        after: Option<String>,
    ) -> Result<OrdersPage, ShopifyError> {
        let data: OrdersData = self
            .execute(
                &ORDERS_UPDATED_SINCE,
                json!({"query": updated_since_query(since), "first": PAGE_SIZE, "after": after}),
            )
            .await?;
        Ok(OrdersPage {
            next: data.orders.page_info.next(),
            orders: data.orders.nodes,
        })
    }

    /// One order, whole; `None` if Shopify does not know it (deleted).
    pub async fn order(&self, id: u64) -> Result<Option<Order>, ShopifyError> {
        self.read_whole(
            &ORDER,
            gid(Kind::Order, id),
            "order",
            "lineItems",
            |first: &mut Order, next| first.line_items.extend(next.line_items),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::super::documents::BULK_ORDERS;
    use super::*;
    use rust_decimal::Decimal;

    #[test]
    fn bulk_order_lines_read_their_figures() {
        let money = |amount: &str| json!({"shopMoney": {"amount": amount, "currencyCode": "EUR"}});
        let record = BulkRecord {
            object: json!({"id": "gid://shopify/Order/9007199254740993",
                "createdAt": "2026-12-05T23:59:59Z", "updatedAt": "2026-12-06T08:00:00Z",
                "cancelledAt": null, "displayFulfillmentStatus": "PARTIALLY_FULFILLED",
                "totalPriceSet": money("107.99"), "totalTaxSet": money("7.99"),
                "totalRefundedSet": money("0.00")}),
            children: Vec::new(),
        };
        let order = OrderFigures::from_record(record).expect("figures");
        assert_eq!(order.id, 9_007_199_254_740_993, "beyond 2^53");
        assert!(order.fulfilled());
        assert_eq!(order.total.shop_money.amount, Decimal::new(10799, 2));
        assert_eq!(order.tax.shop_money.currency_code, "EUR");
        let float = BulkRecord {
            object: json!({"id": "gid://shopify/Order/1", "createdAt": "2026-12-05T23:59:59Z",
                "updatedAt": "2026-12-06T08:00:00Z", "displayFulfillmentStatus": "UNFULFILLED",
                "totalPriceSet": {"shopMoney": {"amount": 1.5, "currencyCode": "EUR"}},
                "totalTaxSet": money("0"), "totalRefundedSet": money("0")}),
            children: Vec::new(),
        };
        assert!(
            OrderFigures::from_record(float).is_err(),
            "a float amount is refused"
        );
    }

    #[test]
    fn a_bulk_search_is_put_in_the_query_string() {
        let since = DateTime::parse_from_rfc3339("2026-11-23T16:05:00+01:00")
            .unwrap()
            .with_timezone(&Utc);
        let text = BULK_ORDERS
            .with_search(&updated_since_query(since))
            .expect("a plain search");
        assert!(text.contains(r#"orders(query: "updated_at:>='2026-11-23T15:05:00Z'")"#));
        assert!(BULK_ORDERS.with_search(r#"x") { id } #"#).is_err());
        assert!(BULK_ORDERS.with_search("a\\").is_err());
    }

    #[test]
    fn the_backfill_query_names_the_time_in_utc() {
        let since = DateTime::parse_from_rfc3339("2026-11-23T16:05:00+01:00")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            updated_since_query(since),
            "updated_at:>='2026-11-23T15:05:00Z'"
        );
    }
}
