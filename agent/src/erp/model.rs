//! What flows and ERP connectors exchange: plain data, free of any one ERP's shapes, so
//! NetSuite, Business Central, Odoo or a CSV feed can fill the same types as Tryton.
//!
//! Amounts are [`Decimal`] in the document's currency (one currency per document: Shopify's
//! shop currency, which is what ERPs book). Quantities are [`Decimal`] too: ERPs keep
//! fractional units (kg, m) and a rounding here would hide a mismatch.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use plumb_common::{CurrencyCode, Decimal, Sku};

/// A stock-holding place in the ERP, named by its code (what `[[locations]]` maps).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warehouse {
    /// The code the configuration uses ("WH-EAST").
    pub code: String,
    /// The name people see.
    pub name: String,
}

/// Which SKUs a stock or product read covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection<'a> {
    /// Every product with a SKU (reconciliation, start-up).
    All,
    /// These SKUs only (a change poll, a single job).
    Skus(&'a [Sku]),
}

/// Stock of one SKU in one warehouse, as the ERP counts it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockLevel {
    /// The product.
    pub sku: Sku,
    /// The warehouse code.
    pub warehouse: String,
    /// Physically in the warehouse's storage.
    pub on_hand: Decimal,
    /// Of `on_hand`, set aside for shipments already reserved.
    pub reserved: Decimal,
    /// Received but not yet put away (or otherwise arriving), not yet sellable.
    pub incoming: Decimal,
    /// What the ERP considers sellable: on hand minus what confirmed orders will take.
    /// This is the figure Shopify's "available" follows. May be negative (oversold).
    pub available: Decimal,
}

/// Where a stock change poll resumes: opaque to the flows, stored as it is (a string so any
/// ERP can put its own watermark in it). The empty cursor means "from the beginning": a flow
/// starting fresh takes `Erp::stock_cursor` first, then reads all stock once, then polls.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Cursor(pub String);

/// The SKU x warehouse pairs whose stock changed since a cursor, with their figures now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockChanges {
    /// Current levels of every pair that changed (each pair once).
    pub levels: Vec<StockLevel>,
    /// Where the next poll resumes; store it only once `levels` are safely queued.
    pub cursor: Cursor,
}

/// A customer as the order names them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Customer {
    /// Shopify's customer id, when the order has a customer.
    pub shopify_customer_id: Option<u64>,
    /// The e-mail address: the key that finds the same customer in the ERP.
    pub email: Option<String>,
    /// The name to show.
    pub name: String,
    /// A phone number.
    pub phone: Option<String>,
}

/// A postal address.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Address {
    /// Who receives it.
    pub name: String,
    /// Street lines, joined with a newline.
    pub street: String,
    /// Postal code.
    pub postal_code: String,
    /// City.
    pub city: String,
    /// Region or province code ("NY").
    pub region: Option<String>,
    /// ISO 3166-1 alpha-2 country code ("US").
    pub country: Option<String>,
}

/// One tax charged on a line, as Shopify computed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxLine {
    /// The tax's title ("NY State Tax"): the ERP must know a tax of this name.
    pub title: String,
    /// The rate as a fraction (0.04 for 4 %).
    pub rate: Decimal,
    /// The amount charged.
    pub amount: Decimal,
}

/// One product line of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    /// Shopify's line item id.
    pub shopify_line_id: u64,
    /// The product.
    pub sku: Sku,
    /// The title the buyer saw.
    pub title: String,
    /// Units ordered.
    pub quantity: Decimal,
    /// Price of one unit before discounts.
    pub unit_price: Decimal,
    /// The whole discount on this line (all units), zero if none.
    pub discount: Decimal,
    /// The taxes on this line.
    pub taxes: Vec<TaxLine>,
}

/// A shipping charge of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippingLine {
    /// The method's title ("Standard").
    pub title: String,
    /// Its price before discounts.
    pub price: Decimal,
    /// Its discount, zero if none.
    pub discount: Decimal,
    /// The taxes on it.
    pub taxes: Vec<TaxLine>,
}

/// A Shopify order, as the ERP should book it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SalesOrder {
    /// Shopify's order id: the idempotency key, stored on the ERP document.
    pub shopify_order_id: u64,
    /// The order's name ("#1001").
    pub name: String,
    /// When the buyer placed it.
    pub placed_at: DateTime<Utc>,
    /// The currency of every amount in the order.
    pub currency: CurrencyCode,
    /// Whether prices include tax (then the connector books net prices).
    pub taxes_included: bool,
    /// Who bought.
    pub customer: Customer,
    /// Where the invoice goes (the shipping address when absent).
    pub billing_address: Option<Address>,
    /// Where the goods go.
    pub shipping_address: Option<Address>,
    /// The ERP warehouse code that ships it.
    pub warehouse: String,
    /// Product lines (at least one).
    pub lines: Vec<OrderLine>,
    /// Shipping charges.
    pub shipping: Vec<ShippingLine>,
    /// Shopify's total in `currency`: what the booked order must come to.
    pub total: Decimal,
    /// What the buyer saw, when they paid in another currency than the shop's.
    pub presentment: Option<Presentment>,
    /// The gateways paid through ("shopify_payments", "gift_card"): a gift card is a
    /// tender, never a discount.
    pub payment_gateways: Vec<String>,
}

/// An order's total in the currency the buyer saw, kept for reference (the books use the
/// shop's currency).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Presentment {
    /// The buyer's currency.
    pub currency: CurrencyCode,
    /// The total in it.
    pub total: Decimal,
}

/// An order as booked in the ERP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SalesOrderRef {
    /// The ERP's id for the document.
    pub erp_id: String,
    /// The ERP's document number, when it has given one.
    pub number: Option<String>,
    /// Whether this call created it (false: it already existed).
    pub created: bool,
}

/// A state of an ERP sales document, in words common to ERPs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderState {
    /// Being entered (not yet committed to).
    Draft,
    /// Confirmed, being shipped and invoiced.
    Open,
    /// Shipped and invoiced.
    Done,
    /// Cancelled.
    Cancelled,
}

/// One line of a booked order, read back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookedLine {
    /// The product, or none for shipping and discount lines.
    pub sku: Option<Sku>,
    /// What the line says.
    pub description: String,
    /// Units (negative on returns).
    pub quantity: Decimal,
    /// Unit price.
    pub unit_price: Decimal,
    /// quantity x unit price, before tax.
    pub amount: Decimal,
    /// Names of the taxes applied.
    pub taxes: Vec<String>,
}

/// An order as the ERP holds it: for checks and reconciliation (totals, tax).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookedOrder {
    /// The reference.
    pub reference: SalesOrderRef,
    /// Shopify's order id.
    pub shopify_order_id: u64,
    /// State.
    pub state: OrderState,
    /// Currency.
    pub currency: CurrencyCode,
    /// The warehouse code.
    pub warehouse: Option<String>,
    /// Lines, in order.
    pub lines: Vec<BookedLine>,
    /// Total before tax.
    pub untaxed: Decimal,
    /// Tax.
    pub tax: Decimal,
    /// Total.
    pub total: Decimal,
}

/// A sale booked for a Shopify order, as reconciliation lists them: its state and totals,
/// without its lines. Two for one Shopify order are a duplicate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookedSale {
    /// Shopify's order id (from the document's reference).
    pub shopify_order_id: u64,
    /// The ERP's id for the document.
    pub erp_id: String,
    /// The ERP's document number, when it has given one.
    pub number: Option<String>,
    /// State.
    pub state: OrderState,
    /// Its currency (ISO 4217).
    pub currency: String,
    /// Tax.
    pub tax: Decimal,
    /// Total.
    pub total: Decimal,
    /// What its credits add up to (positive; the refunds booked for it, cancelled ones
    /// not counted).
    pub refunded: Decimal,
    /// Whether goods left for it (a shipment shipped or done).
    pub shipped: bool,
}

/// What cancelling an order did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CancelOutcome {
    /// It is cancelled now.
    Cancelled,
    /// It already was.
    AlreadyCancelled,
    /// Its pending shipments and invoices were cancelled; the ERP keeps the document for
    /// someone to close (Tryton: a sale in "processing" cannot be cancelled itself).
    DocumentsCancelled,
}

/// One refunded line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundLine {
    /// The product.
    pub sku: Sku,
    /// Units refunded (positive).
    pub quantity: Decimal,
    /// Amount refunded for one unit, before tax.
    pub unit_amount: Decimal,
    /// Taxes refunded on the line.
    pub taxes: Vec<TaxLine>,
    /// The warehouse the goods go back to, when they are restocked; `None`: money only.
    pub restock_warehouse: Option<String>,
}

/// A Shopify refund, as the ERP should book it: a credit note, and a return of the
/// restocked units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refund {
    /// Shopify's refund id: the idempotency key.
    pub shopify_refund_id: u64,
    /// The refunded order.
    pub shopify_order_id: u64,
    /// Currency of the amounts.
    pub currency: CurrencyCode,
    /// Refunded lines.
    pub lines: Vec<RefundLine>,
    /// Shipping refunded, before tax; zero if none.
    pub shipping: Decimal,
}

/// A refund as booked. A return goes into one warehouse, so a refund whose restocked
/// units go back to several warehouses is booked as one document per warehouse: the
/// flows see them all, with the total credited, and need not know how the ERP split it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundRef {
    /// The credit documents, in a stable order (at least one).
    pub documents: Vec<RefundDocument>,
    /// Total credited over all documents, tax included (negative: money back).
    pub credited: Decimal,
    /// Whether this call booked any document (false: all of them existed already).
    pub created: bool,
}

impl RefundRef {
    /// The numbers of the documents' credit notes, those numbered.
    pub fn credit_notes(&self) -> Vec<&str> {
        self.documents
            .iter()
            .filter_map(|d| d.credit_note.as_deref())
            .collect()
    }
}

/// One credit document of a refund (with its return, when units are restocked).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundDocument {
    /// The ERP's id for the credit document.
    pub erp_id: String,
    /// The warehouse code its restocked units went back to; `None`: money only.
    pub warehouse: Option<String>,
    /// The credit note's number, once numbered.
    pub credit_note: Option<String>,
    /// Credited by this document, tax included (negative: money back).
    pub credited: Decimal,
    /// Whether this call created it.
    pub created: bool,
}

/// Goods that left a warehouse for a customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shipment {
    /// The ERP's id for the shipment.
    pub erp_id: String,
    /// Its number.
    pub number: Option<String>,
    /// The Shopify order it ships, when it came from one.
    pub shopify_order_id: Option<u64>,
    /// The warehouse code.
    pub warehouse: Option<String>,
    /// The carrier's name.
    pub carrier: Option<String>,
    /// The tracking number.
    pub tracking_number: Option<String>,
    /// A tracking URL, when the ERP has one.
    pub tracking_url: Option<String>,
    /// When it left.
    pub shipped_on: Option<NaiveDate>,
    /// What it holds.
    pub lines: Vec<ShipmentLine>,
}

/// One product in a shipment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShipmentLine {
    /// The product.
    pub sku: Sku,
    /// Units.
    pub quantity: Decimal,
}

/// Shipments done or changed since a cursor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShipmentChanges {
    /// Shipments that left (or whose tracking changed) since the cursor.
    pub shipments: Vec<Shipment>,
    /// Where the next poll resumes.
    pub cursor: Cursor,
}

/// A product's master data, owned by the ERP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductRecord {
    /// The SKU.
    pub sku: Sku,
    /// The ERP's id.
    pub erp_id: String,
    /// Title.
    pub title: String,
    /// List price, in the company currency.
    pub price: Decimal,
    /// The "was" price shown struck through, if the ERP keeps one (Tryton does not).
    pub compare_at_price: Option<Decimal>,
    /// Unit cost, in the company currency, if the ERP gives one.
    pub cost: Option<Decimal>,
    /// Barcode (EAN/UPC/GTIN), if any.
    pub barcode: Option<String>,
    /// Whether it is active.
    pub active: bool,
}

/// The products whose master data changed since a cursor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductChanges {
    /// The SKUs of the products changed (each once), in the ERP's order.
    pub skus: Vec<Sku>,
    /// Where the next poll resumes; store it only once `skus` are safely queued.
    pub cursor: Cursor,
}

/// The ERP answered and Plumb may log in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErpHealth {
    /// The server's version, as it reports it.
    pub version: String,
    /// How long the round trip took, in milliseconds.
    pub latency_ms: u64,
}

/// A kit the ERP defines (Tryton's `product_kit`): a product sold under its own SKU and
/// stocked as its components, so its availability is computed from theirs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kit {
    /// The kit's SKU.
    pub sku: Sku,
    /// (component SKU, units of it in one kit).
    pub components: Vec<(Sku, i64)>,
}

/// The ERP's kits: those a bundle can stand for, and those it cannot, with why.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kits {
    /// Kits of whole units of components.
    pub kits: Vec<Kit>,
    /// (kit SKU, why it cannot be a bundle): a fixed component, a fraction of a unit, a
    /// component counted in another unit than its product's, a component without a SKU.
    pub unusable: Vec<(Sku, String)>,
}
