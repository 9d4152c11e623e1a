//! The shop's in-memory state: what the GraphQL executor reads and the mutations and the
//! shop simulation change.
//!
//! Invariants: every id comes from one counter (ids are unique across types, as a real
//! shop's are not required to be, but it makes `node(id:)` unambiguous); `on_hand` is never
//! stored, it is always `available` + `committed` + the unavailable states, so no code path
//! can let them drift apart. Each change that Shopify would announce pushes an [`Event`];
//! the server drains them into webhook deliveries after the change.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::table::{HasSku, SkuTable};

/// An inventory quantity state, as Shopify names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum QuantityName {
    /// Sellable.
    Available,
    /// Held by unfulfilled orders.
    Committed,
    /// Unsellable: damaged.
    Damaged,
    /// On its way; not part of on hand.
    Incoming,
    /// Derived: available + committed + the unavailable states.
    OnHand,
    /// Unsellable: quality control.
    QualityControl,
    /// Unsellable: reserved.
    Reserved,
    /// Unsellable: safety stock.
    SafetyStock,
}

impl QuantityName {
    /// Every name, in Shopify's alphabetical order.
    pub const ALL: [QuantityName; 8] = [
        QuantityName::Available,
        QuantityName::Committed,
        QuantityName::Damaged,
        QuantityName::Incoming,
        QuantityName::OnHand,
        QuantityName::QualityControl,
        QuantityName::Reserved,
        QuantityName::SafetyStock,
    ];

    /// The name from Shopify's spelling.
    pub fn parse(text: &str) -> Option<QuantityName> {
        QuantityName::ALL
            .into_iter()
            .find(|name| name.as_str() == text)
    }

    /// Shopify's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            QuantityName::Available => "available",
            QuantityName::Committed => "committed",
            QuantityName::Damaged => "damaged",
            QuantityName::Incoming => "incoming",
            QuantityName::OnHand => "on_hand",
            QuantityName::QualityControl => "quality_control",
            QuantityName::Reserved => "reserved",
            QuantityName::SafetyStock => "safety_stock",
        }
    }
}

/// One inventory item's quantities at one location.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Level {
    /// Sellable.
    pub available: i64,
    /// Held by unfulfilled orders.
    pub committed: i64,
    /// Damaged.
    pub damaged: i64,
    /// Incoming (not on hand).
    pub incoming: i64,
    /// Quality control.
    pub quality_control: i64,
    /// Reserved.
    pub reserved: i64,
    /// Safety stock.
    pub safety_stock: i64,
    /// Last change.
    pub updated_at: Option<DateTime<Utc>>,
    /// When the item was stocked here.
    pub created_at: Option<DateTime<Utc>>,
}

impl Level {
    /// The quantity of one state; `on_hand` is derived.
    pub fn get(&self, name: QuantityName) -> i64 {
        match name {
            QuantityName::Available => self.available,
            QuantityName::Committed => self.committed,
            QuantityName::Damaged => self.damaged,
            QuantityName::Incoming => self.incoming,
            QuantityName::QualityControl => self.quality_control,
            QuantityName::Reserved => self.reserved,
            QuantityName::SafetyStock => self.safety_stock,
            QuantityName::OnHand => {
                self.available
                    + self.committed
                    + self.damaged
                    + self.quality_control
                    + self.reserved
                    + self.safety_stock
            }
        }
    }

    /// Moves one stored state by `delta`. Moving `on_hand` moves `available`, which is how
    /// Shopify applies an on-hand correction.
    pub fn add(&mut self, name: QuantityName, delta: i64) {
        let slot = match name {
            QuantityName::Available | QuantityName::OnHand => &mut self.available,
            QuantityName::Committed => &mut self.committed,
            QuantityName::Damaged => &mut self.damaged,
            QuantityName::Incoming => &mut self.incoming,
            QuantityName::QualityControl => &mut self.quality_control,
            QuantityName::Reserved => &mut self.reserved,
            QuantityName::SafetyStock => &mut self.safety_stock,
        };
        *slot += delta;
    }
}

/// A location.
#[derive(Debug, Clone)]
pub struct Location {
    /// Numeric id.
    pub id: u64,
    /// Display name.
    pub name: String,
    /// Whether it is active.
    pub active: bool,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// A product.
#[derive(Debug, Clone)]
pub struct Product {
    /// Numeric id.
    pub id: u64,
    /// Title.
    pub title: String,
    /// Handle.
    pub handle: String,
    /// Vendor.
    pub vendor: String,
    /// Its variants, in position order.
    pub variants: Vec<u64>,
    /// The description, as HTML (storefront content: Shopify's to own).
    pub description_html: String,
    /// `ACTIVE`, `DRAFT` or `ARCHIVED`.
    pub status: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// A product variant; each has exactly one inventory item.
#[derive(Debug, Clone)]
pub struct Variant {
    /// Numeric id.
    pub id: u64,
    /// Its product.
    pub product_id: u64,
    /// Variant title.
    pub title: String,
    /// SKU (also on the inventory item).
    pub sku: String,
    /// Price in shop currency.
    pub price: Decimal,
    /// The "was" price.
    pub compare_at_price: Option<Decimal>,
    /// Barcode (ISBN, UPC, GTIN...).
    pub barcode: Option<String>,
    /// Its inventory item.
    pub inventory_item_id: u64,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl HasSku for Variant {
    fn sku(&self) -> &str {
        &self.sku
    }
}

/// An inventory item.
#[derive(Debug, Clone)]
pub struct InventoryItem {
    /// Numeric id.
    pub id: u64,
    /// SKU.
    pub sku: String,
    /// Whether Shopify tracks its quantities.
    pub tracked: bool,
    /// Unit cost in shop currency.
    pub cost: Option<Decimal>,
    /// Its variant.
    pub variant_id: u64,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl HasSku for InventoryItem {
    fn sku(&self) -> &str {
        &self.sku
    }
}

/// One line of an order.
#[derive(Debug, Clone)]
pub struct LineItem {
    /// Numeric id.
    pub id: u64,
    /// Variant bought.
    pub variant_id: u64,
    /// Its product.
    pub product_id: u64,
    /// SKU at the time of sale.
    pub sku: String,
    /// Product title.
    pub title: String,
    /// Variant title.
    pub variant_title: String,
    /// Quantity ordered.
    pub quantity: i64,
    /// Unit price in shop currency.
    pub price: Decimal,
    /// Quantity fulfilled so far.
    pub fulfilled: i64,
    /// Quantity removed by refunds.
    pub refunded: i64,
}

impl LineItem {
    /// Quantity after refunds.
    pub fn current_quantity(&self) -> i64 {
        self.quantity - self.refunded
    }

    /// Quantity still to ship.
    pub fn unfulfilled(&self) -> i64 {
        (self.current_quantity() - self.fulfilled).max(0)
    }
}

/// Financial status, as `displayFinancialStatus` spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinancialStatus {
    /// Awaiting payment.
    Pending,
    /// Paid.
    Paid,
    /// Partly refunded.
    PartiallyRefunded,
    /// Fully refunded.
    Refunded,
    /// Voided (cancelled before capture).
    Voided,
}

impl FinancialStatus {
    /// The GraphQL enum value.
    pub fn graphql(self) -> &'static str {
        match self {
            FinancialStatus::Pending => "PENDING",
            FinancialStatus::Paid => "PAID",
            FinancialStatus::PartiallyRefunded => "PARTIALLY_REFUNDED",
            FinancialStatus::Refunded => "REFUNDED",
            FinancialStatus::Voided => "VOIDED",
        }
    }

    /// The REST/webhook spelling.
    pub fn rest(self) -> &'static str {
        match self {
            FinancialStatus::Pending => "pending",
            FinancialStatus::Paid => "paid",
            FinancialStatus::PartiallyRefunded => "partially_refunded",
            FinancialStatus::Refunded => "refunded",
            FinancialStatus::Voided => "voided",
        }
    }
}

/// An order.
#[derive(Debug, Clone)]
pub struct Order {
    /// Numeric id.
    pub id: u64,
    /// Order number (the name is `#<number>`).
    pub number: u64,
    /// Customer email.
    pub email: String,
    /// Lines.
    pub line_items: Vec<LineItem>,
    /// Location its stock was committed at.
    pub location_id: u64,
    /// Payment state.
    pub financial_status: FinancialStatus,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Cancellation time.
    pub cancelled_at: Option<DateTime<Utc>>,
    /// Cancellation reason (GraphQL enum spelling).
    pub cancel_reason: Option<String>,
    /// Closed time.
    pub closed_at: Option<DateTime<Utc>>,
    /// Fulfilment orders Shopify created for it.
    pub fulfillment_orders: Vec<u64>,
    /// Fulfilments.
    pub fulfillments: Vec<u64>,
    /// Refunds.
    pub refunds: Vec<u64>,
    /// Total refunded so far.
    pub refunded_amount: Decimal,
}

/// The one address every sandbox order ships and bills to (with the buyer's name), in
/// Shopify's REST spelling: (key, value).
pub const ADDRESS: [(&str, &str); 5] = [
    ("address1", "1 Main St"),
    ("zip", "10001"),
    ("city", "New York"),
    ("province_code", "NY"),
    ("country_code", "US"),
];

impl Order {
    /// `#1001`.
    pub fn name(&self) -> String {
        format!("#{}", self.number)
    }

    /// The buyer: one customer per e-mail address, its id drawn from the address (FNV-1a,
    /// kept below 2^53 so JavaScript clients could read it too).
    pub fn customer_id(&self) -> u64 {
        self.email
            .bytes()
            .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
                (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
            })
            >> 11
    }

    /// The buyer's first name: the e-mail's local part (the last name is "Sandbox").
    pub fn first_name(&self) -> &str {
        self.email.split('@').next().unwrap_or(&self.email)
    }

    /// Sum of the original lines.
    pub fn subtotal(&self) -> Decimal {
        self.line_items
            .iter()
            .map(|line| line.price * Decimal::from(line.quantity))
            .sum()
    }

    /// Sum of the lines after refunds.
    pub fn current_subtotal(&self) -> Decimal {
        self.line_items
            .iter()
            .map(|line| line.price * Decimal::from(line.current_quantity()))
            .sum()
    }

    /// GraphQL `displayFulfillmentStatus`.
    pub fn fulfillment_status(&self) -> &'static str {
        let shipped: i64 = self.line_items.iter().map(|line| line.fulfilled).sum();
        let open: i64 = self.line_items.iter().map(LineItem::unfulfilled).sum();
        match (shipped, open) {
            (0, _) => "UNFULFILLED",
            (_, 0) => "FULFILLED",
            _ => "PARTIALLY_FULFILLED",
        }
    }
}

/// Status of a fulfilment order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FulfillmentOrderStatus {
    /// Nothing shipped yet.
    Open,
    /// Partly shipped.
    InProgress,
    /// Everything shipped.
    Closed,
    /// Cancelled with its order.
    Cancelled,
}

impl FulfillmentOrderStatus {
    /// The GraphQL enum value.
    pub fn graphql(self) -> &'static str {
        match self {
            FulfillmentOrderStatus::Open => "OPEN",
            FulfillmentOrderStatus::InProgress => "IN_PROGRESS",
            FulfillmentOrderStatus::Closed => "CLOSED",
            FulfillmentOrderStatus::Cancelled => "CANCELLED",
        }
    }
}

/// One line of a fulfilment order.
#[derive(Debug, Clone)]
pub struct FulfillmentOrderLine {
    /// Numeric id.
    pub id: u64,
    /// The order line.
    pub line_item_id: u64,
    /// Quantity assigned.
    pub total_quantity: i64,
    /// Quantity not yet fulfilled.
    pub remaining_quantity: i64,
}

/// A fulfilment order: the unit of work a location fulfils.
#[derive(Debug, Clone)]
pub struct FulfillmentOrder {
    /// Numeric id.
    pub id: u64,
    /// Its order.
    pub order_id: u64,
    /// Assigned location.
    pub location_id: u64,
    /// Status.
    pub status: FulfillmentOrderStatus,
    /// Lines.
    pub lines: Vec<FulfillmentOrderLine>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// Tracking information of a fulfilment.
#[derive(Debug, Clone, Default)]
pub struct Tracking {
    /// Carrier.
    pub company: Option<String>,
    /// Tracking number.
    pub number: Option<String>,
    /// Tracking URL.
    pub url: Option<String>,
}

/// A fulfilment (a shipment).
#[derive(Debug, Clone)]
pub struct Fulfillment {
    /// Numeric id.
    pub id: u64,
    /// Its order.
    pub order_id: u64,
    /// `#1001.1`.
    pub name: String,
    /// Location shipped from.
    pub location_id: u64,
    /// Tracking.
    pub tracking: Vec<Tracking>,
    /// (fulfilment line id, order line id, quantity).
    pub lines: Vec<(u64, u64, i64)>,
    /// Whether the buyer was to be emailed (`notifyCustomer`).
    pub notify_customer: bool,
    /// Created.
    pub created_at: DateTime<Utc>,
}

/// One refunded line.
#[derive(Debug, Clone)]
pub struct RefundLine {
    /// Numeric id.
    pub id: u64,
    /// The order line.
    pub line_item_id: u64,
    /// Quantity refunded.
    pub quantity: i64,
    /// `RETURN`, `CANCEL`, `LEGACY_RESTOCK` or `NO_RESTOCK`.
    pub restock_type: String,
    /// Where stock went back to, if restocked.
    pub location_id: Option<u64>,
    /// Amount refunded for the line.
    pub subtotal: Decimal,
}

/// A refund.
#[derive(Debug, Clone)]
pub struct Refund {
    /// Numeric id.
    pub id: u64,
    /// Its order.
    pub order_id: u64,
    /// Note.
    pub note: Option<String>,
    /// Lines.
    pub lines: Vec<RefundLine>,
    /// Total refunded.
    pub total: Decimal,
    /// Created.
    pub created_at: DateTime<Utc>,
}

/// A webhook subscription.
#[derive(Debug, Clone)]
pub struct Subscription {
    /// Numeric id.
    pub id: u64,
    /// REST topic spelling, e.g. `orders/create`.
    pub topic: String,
    /// Where deliveries go.
    pub uri: String,
    /// The API version payloads are rendered for (`X-Shopify-API-Version`).
    pub api_version: &'static str,
    /// Created.
    pub created_at: DateTime<Utc>,
}

/// One change recorded in an adjustment group.
#[derive(Debug, Clone)]
pub struct Change {
    /// Quantity name.
    pub name: QuantityName,
    /// Delta.
    pub delta: i64,
    /// Quantity after the change.
    pub after: i64,
    /// Item.
    pub item_id: u64,
    /// Location.
    pub location_id: u64,
    /// Ledger document, if any.
    pub ledger_document_uri: Option<String>,
}

/// The record of one inventory mutation.
#[derive(Debug, Clone)]
pub struct AdjustmentGroup {
    /// Numeric id.
    pub id: u64,
    /// Reason given.
    pub reason: String,
    /// Reference document given.
    pub reference_document_uri: Option<String>,
    /// Changes.
    pub changes: Vec<Change>,
    /// Created.
    pub created_at: DateTime<Utc>,
}

/// A bulk operation.
#[derive(Debug, Clone)]
pub struct BulkOperation {
    /// Numeric id.
    pub id: u64,
    /// The query it ran.
    pub query: String,
    /// `CREATED`, `RUNNING`, `COMPLETED`, `FAILED`.
    pub status: String,
    /// Lines written.
    pub object_count: u64,
    /// Root objects written.
    pub root_object_count: u64,
    /// The JSONL result.
    pub result: Option<String>,
    /// Error code when failed.
    pub error_code: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Completed.
    pub completed_at: Option<DateTime<Utc>>,
}

/// Something Shopify would announce with a webhook.
#[derive(Debug, Clone)]
pub struct Event {
    /// REST topic spelling, e.g. `orders/create`.
    pub topic: &'static str,
    /// The payload.
    pub payload: serde_json::Value,
}

/// The shop.
#[derive(Debug)]
pub struct State {
    next_id: u64,
    next_order_number: u64,
    /// `<name>.myshopify.com`.
    pub shop_domain: String,
    /// Shop name.
    pub shop_name: String,
    /// Shop currency.
    pub currency: String,
    /// Locations by id.
    pub locations: BTreeMap<u64, Location>,
    /// Products by id.
    pub products: BTreeMap<u64, Product>,
    /// Variants by id (and SKU).
    pub variants: SkuTable<Variant>,
    /// Inventory items by id (and SKU).
    pub items: SkuTable<InventoryItem>,
    /// Levels by (item, location).
    pub levels: BTreeMap<(u64, u64), Level>,
    /// Orders by id.
    pub orders: BTreeMap<u64, Order>,
    /// Fulfilment orders by id.
    pub fulfillment_orders: BTreeMap<u64, FulfillmentOrder>,
    /// Fulfilments by id.
    pub fulfillments: BTreeMap<u64, Fulfillment>,
    /// Refunds by id.
    pub refunds: BTreeMap<u64, Refund>,
    /// Webhook subscriptions by id.
    pub subscriptions: BTreeMap<u64, Subscription>,
    /// Adjustment groups by id.
    pub adjustment_groups: BTreeMap<u64, AdjustmentGroup>,
    /// Bulk operations by id.
    pub bulk_operations: BTreeMap<u64, BulkOperation>,
    /// Announcements not yet turned into deliveries.
    pub events: Vec<Event>,
}

impl State {
    /// The level of `item` at `location`, created at `time` if there is none.
    pub fn level_at(&mut self, item: u64, location: u64, time: DateTime<Utc>) -> &mut Level {
        self.levels
            .entry((item, location))
            .or_insert_with(|| Level {
                created_at: Some(time),
                ..Level::default()
            })
    }

    /// An empty shop whose ids start at `id_base`.
    pub fn new(shop_name: &str, currency: &str, id_base: u64) -> State {
        State {
            next_id: id_base,
            next_order_number: 1001,
            shop_domain: format!("{shop_name}.myshopify.com"),
            shop_name: shop_name.to_owned(),
            currency: currency.to_owned(),
            locations: BTreeMap::new(),
            products: BTreeMap::new(),
            variants: SkuTable::default(),
            items: SkuTable::default(),
            levels: BTreeMap::new(),
            orders: BTreeMap::new(),
            fulfillment_orders: BTreeMap::new(),
            fulfillments: BTreeMap::new(),
            refunds: BTreeMap::new(),
            subscriptions: BTreeMap::new(),
            adjustment_groups: BTreeMap::new(),
            bulk_operations: BTreeMap::new(),
            events: Vec::new(),
        }
    }

    /// A fresh id.
    pub fn next_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// A fresh order number.
    pub fn next_order_number(&mut self) -> u64 {
        let number = self.next_order_number;
        self.next_order_number += 1;
        number
    }

    /// Queues a webhook announcement.
    pub fn announce(&mut self, topic: &'static str, payload: serde_json::Value) {
        self.events.push(Event { topic, payload });
    }

    /// The inventory item with `sku`, if any (the first, by id).
    pub fn item_by_sku(&self, sku: &str) -> Option<&InventoryItem> {
        self.items.with_sku(sku).next()
    }

    /// The levels of `item`: (location, level), by location.
    pub fn levels_of(&self, item: u64) -> impl Iterator<Item = (u64, &Level)> {
        self.levels
            .range((item, 0)..=(item, u64::MAX))
            .map(|((_, location), level)| (*location, level))
    }

    /// Total available of `item` over all locations.
    pub fn available_total(&self, item: u64) -> i64 {
        self.levels_of(item).map(|(_, level)| level.available).sum()
    }
}

/// Now, the one clock the shop reads.
pub fn now() -> DateTime<Utc> {
    Utc::now()
}

/// A GraphQL `DateTime`: `2026-11-23T12:00:00Z`.
pub fn iso(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A GID: `gid://shopify/<Type>/<id>`.
pub fn gid(type_name: &str, id: u64) -> String {
    format!("gid://shopify/{type_name}/{id}")
}

/// The numeric id of a GID of `type_name`, or of a bare number.
pub fn parse_gid(type_name: &str, text: &str) -> Option<u64> {
    let rest = text
        .strip_prefix("gid://shopify/")
        .and_then(|rest| rest.strip_prefix(type_name))
        .and_then(|rest| rest.strip_prefix('/'))?;
    let digits = rest.split(['?', '/']).next()?;
    digits.parse().ok()
}

/// A string argument or field, `default` when absent or not a string.
pub fn text_or<'v>(value: Option<&'v serde_json::Value>, default: &'v str) -> &'v str {
    value.and_then(serde_json::Value::as_str).unwrap_or(default)
}

/// The type and numeric id of any Shopify GID.
pub fn split_gid(text: &str) -> Option<(&str, u64)> {
    let rest = text.strip_prefix("gid://shopify/")?;
    let (type_name, rest) = rest.split_once('/')?;
    let digits = rest.split(['?', '/']).next()?;
    Some((type_name, digits.parse().ok()?))
}

/// The id of an `InventoryLevel` GID: `gid://shopify/InventoryLevel/<loc>?inventory_item_id=<item>`.
pub fn level_gid(item_id: u64, location_id: u64) -> String {
    format!("gid://shopify/InventoryLevel/{location_id}?inventory_item_id={item_id}")
}

/// (item, location) of an `InventoryLevel` GID.
pub fn parse_level_gid(text: &str) -> Option<(u64, u64)> {
    let rest = text.strip_prefix("gid://shopify/InventoryLevel/")?;
    let (location, query) = rest.split_once('?')?;
    let item = query.strip_prefix("inventory_item_id=")?;
    Some((item.parse().ok()?, location.parse().ok()?))
}
