//! Shopify's order and refund payloads as the ERP's canonical documents, checked at the
//! boundary before anything is written.
//!
//! # Rules
//! - The books are in the shop's currency: every amount is `shop_money`; the presentment
//!   total is kept for reference only.
//! - Discounts are the lines' `discount_allocations` as Shopify gives them (order-level and
//!   line-level alike): Shopify has already split them to the cent, so they are summed,
//!   never split again, and the cents are conserved exactly.
//! - A gift card sold is a line booked on `orders.gift_card_sku`; paying with a gift card
//!   (gateway `gift_card`) is a tender and changes no line.
//! - A tax line Shopify charged nothing on (0.00) is not booked: the ERP would recompute a
//!   tax Shopify did not charge.
//! - The sums must hold to the cent: lines - discounts + shipping (+ taxes, unless prices
//!   include them) = Shopify's total, and the tax lines sum to Shopify's total tax. An
//!   order that does not balance is refused with the figures, never booked approximately.
//! - A refund line's subtotal is split into whole cents: when it does not divide by the
//!   quantity, it becomes two lines of the same SKU (`q - r` units at the lower cent and
//!   `r` units one cent higher), so quantity x unit amount is Shopify's subtotal exactly.

use std::fmt::Write as _;

use plumb_common::{CurrencyCode, Decimal, Sku};

use super::payload::{
    DiscountAllocation, LineItem, OrderPayload, RefundLineItem, RefundPayload,
    TaxLine as TaxPayload,
};
use crate::config::LocationMapping;
use crate::erp::{
    Address, Customer, OrderLine, Presentment, Refund, RefundLine, SalesOrder, ShippingLine,
    TaxLine,
};
use crate::shopify::money::MoneyBag;
use crate::shopify::orders::MailingAddress;
use crate::store::Failure;

/// What the mapping needs from the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OrderRules {
    /// `[[locations]]`: the warehouse of an order's or a restock's location.
    pub locations: Vec<LocationMapping>,
    /// The warehouse of orders whose location is not mapped (online orders have none).
    pub default_warehouse: Option<String>,
    /// The ERP product gift cards sold are booked on (`orders.gift_card_sku`).
    pub gift_card_sku: Option<Sku>,
}

impl OrderRules {
    /// The warehouse for a Shopify location: the mapped one, else the default, else the
    /// first mapping.
    fn warehouse(&self, location: Option<u64>) -> Option<String> {
        location
            .and_then(|id| self.mapped(id))
            .or_else(|| self.default_warehouse.clone())
            .or_else(|| self.locations.first().map(|m| m.erp_warehouse.clone()))
    }

    /// The warehouse `[[locations]]` maps to this location.
    fn mapped(&self, location: u64) -> Option<String> {
        self.locations
            .iter()
            .find(|m| m.shopify_location == location)
            .map(|m| m.erp_warehouse.clone())
    }
}

/// An order or refund the ERP must not book as it is. Permanent: the same payload fails
/// the same way.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct MappingError {
    /// Stable, so dead letters group ("total_mismatch", "line_without_sku").
    pub cause: &'static str,
    /// Every problem found, with the figures.
    pub message: String,
}

impl From<MappingError> for Failure {
    fn from(error: MappingError) -> Failure {
        Failure::permanent(error.cause, error.message)
    }
}

/// The problems found in one document, in the order found.
struct Problems {
    /// "order #1001 (id 820982911946154508)".
    subject: String,
    found: Vec<(&'static str, String)>,
}

impl Problems {
    fn new(subject: String) -> Problems {
        Problems {
            subject,
            found: Vec::new(),
        }
    }

    /// A problem: `headline` ("total mismatch 0.01") and what it is about.
    fn add(&mut self, cause: &'static str, headline: impl Into<String>, detail: String) {
        let headline = headline.into();
        let text = if detail.is_empty() {
            headline
        } else {
            format!("{headline}: {detail}")
        };
        self.found.push((cause, text));
    }

    /// The first problem's cause; every problem in the message.
    fn finish(self) -> Result<(), MappingError> {
        let Some(((cause, first), rest)) = self.found.split_first() else {
            return Ok(());
        };
        let mut message = match first.split_once(": ") {
            Some((headline, detail)) => format!("{headline} on {}: {detail}", self.subject),
            None => format!("{first} on {}", self.subject),
        };
        for (_, text) in rest {
            let _ = write!(message, "; also {text}");
        }
        Err(MappingError { cause, message })
    }

    /// The currency, once [`Problems::finish`] found nothing (a bad one is a problem).
    fn currency(currency: Option<CurrencyCode>) -> Result<CurrencyCode, MappingError> {
        currency.ok_or(MappingError {
            cause: "bad_currency",
            message: "no currency".into(),
        })
    }
}

/// Amounts shown with at least `scale` decimals (Shopify's own: "0.00", not "0").
#[derive(Clone, Copy)]
struct Shown(u32);

impl Shown {
    fn of(amount: Decimal) -> String {
        Shown(2).show(amount)
    }

    fn show(self, mut amount: Decimal) -> String {
        if amount.scale() < self.0 {
            amount.rescale(self.0);
        }
        amount.to_string()
    }
}

/// The largest amount or quantity accepted: far above any real order, and low enough that
/// no sum or product of them can overflow a `Decimal`.
const LIMIT: i64 = 1_000_000_000_000_000;

/// Checks that every shop-money amount is in `currency` and within [`LIMIT`].
struct Currency<'a> {
    expected: &'a str,
    foreign: Vec<String>,
    huge: Vec<String>,
}

impl<'a> Currency<'a> {
    fn new(expected: &'a str) -> Currency<'a> {
        Currency {
            expected,
            foreign: Vec::new(),
            huge: Vec::new(),
        }
    }

    fn check(&mut self, path: impl FnOnce() -> String, bag: &MoneyBag) {
        let money = &bag.shop_money;
        if money.currency_code != self.expected {
            self.foreign
                .push(format!("{} is in {}", path(), money.currency_code));
        } else if money.amount.abs() >= Decimal::from(LIMIT) {
            self.huge.push(format!("{} is {}", path(), money.amount));
        }
    }

    fn taxes(&mut self, path: &str, taxes: &[TaxPayload]) {
        for (i, tax) in taxes.iter().enumerate() {
            self.check(|| format!("{path}.tax_lines[{i}]"), &tax.price_set);
        }
    }

    fn allocations(&mut self, path: &str, allocations: &[DiscountAllocation]) {
        for (i, a) in allocations.iter().enumerate() {
            self.check(
                || format!("{path}.discount_allocations[{i}]"),
                &a.amount_set,
            );
        }
    }

    fn report(self, problems: &mut Problems) {
        let list = |items: &[String]| {
            let mut text = items.iter().take(3).cloned().collect::<Vec<_>>().join(", ");
            if items.len() > 3 {
                let _ = write!(text, " and {} more", items.len() - 3);
            }
            text
        };
        if !self.foreign.is_empty() {
            problems.add(
                "mixed_currency",
                "amounts in more than one currency",
                format!(
                    "the shop's currency is {}, but {}",
                    self.expected,
                    list(&self.foreign)
                ),
            );
        }
        if !self.huge.is_empty() {
            problems.add(
                "amount_out_of_range",
                "amounts out of range",
                list(&self.huge),
            );
        }
    }
}

/// The shop amount of a money bag.
fn shop(bag: &MoneyBag) -> Decimal {
    bag.shop_money.amount
}

/// The sum of allocations, as Shopify split them.
fn allocated(allocations: &[DiscountAllocation]) -> Decimal {
    allocations.iter().map(|a| shop(&a.amount_set)).sum()
}

/// The sum of tax lines.
fn taxed(taxes: &[TaxPayload]) -> Decimal {
    taxes.iter().map(|t| shop(&t.price_set)).sum()
}

/// Tax lines as the ERP books them: those Shopify charged something on.
fn tax_lines(taxes: &[TaxPayload], what: &str, problems: &mut Problems) -> Vec<TaxLine> {
    let mut out = Vec::new();
    for tax in taxes {
        let amount = shop(&tax.price_set);
        if amount.is_zero() {
            continue;
        }
        match tax.rate {
            Some(rate) => out.push(TaxLine {
                title: tax.title.clone(),
                rate,
                amount,
            }),
            None => problems.add(
                "tax_without_rate",
                format!("tax {:?} on {what} has no rate", tax.title),
                "the ERP finds taxes by title and rate".into(),
            ),
        }
    }
    out
}

/// A non-empty, trimmed text.
fn text(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

/// "First Last", from the parts present.
fn full_name(first: Option<&str>, last: Option<&str>) -> Option<String> {
    let name = [text(first), text(last)]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    text(Some(&name))
}

fn address(address: &MailingAddress) -> Option<Address> {
    let street = [
        text(address.address1.as_deref()),
        text(address.address2.as_deref()),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join("\n");
    let mapped = Address {
        name: text(address.name.as_deref())
            .or_else(|| full_name(address.first_name.as_deref(), address.last_name.as_deref()))
            .unwrap_or_default(),
        street,
        postal_code: text(address.zip.as_deref()).unwrap_or_default(),
        city: text(address.city.as_deref()).unwrap_or_default(),
        region: text(address.province_code.as_deref()),
        country: text(address.country_code_v2.as_deref()),
    };
    (mapped != Address::default()).then_some(mapped)
}

fn customer(order: &OrderPayload, billing: Option<&Address>) -> Customer {
    let account = order.customer.as_ref();
    let email = account
        .and_then(|c| text(c.email.as_deref()))
        .or_else(|| text(order.email.as_deref()));
    let name = account
        .and_then(|c| full_name(c.first_name.as_deref(), c.last_name.as_deref()))
        .or_else(|| billing.and_then(|a| text(Some(&a.name))))
        .or_else(|| email.clone())
        .unwrap_or_else(|| format!("Shopify order {}", order.name));
    let phone = account.and_then(|c| text(c.phone.as_deref())).or_else(|| {
        [&order.billing_address, &order.shipping_address]
            .into_iter()
            .flatten()
            .find_map(|a| text(a.phone.as_deref()))
    });
    Customer {
        shopify_customer_id: account.map(|c| c.id),
        email,
        name,
        phone,
    }
}

/// The SKU a line books on: its own, or the gift card product for a gift card sold.
fn line_sku(
    line: &LineItem,
    rules: &OrderRules,
    what: &str,
    problems: &mut Problems,
) -> Option<Sku> {
    if line.gift_card {
        if rules.gift_card_sku.is_none() {
            problems.add(
                "gift_card_product_unset",
                format!("{what} sells a gift card"),
                "set `orders.gift_card_sku` to the ERP product gift cards are booked on".into(),
            );
        }
        return rules.gift_card_sku.clone();
    }
    let Some(raw) = line.sku.as_deref().filter(|sku| !sku.trim().is_empty()) else {
        problems.add(
            "line_without_sku",
            format!("{what} has no SKU"),
            "give the variant a SKU in Shopify (the ERP books products by SKU)".into(),
        );
        return None;
    };
    match Sku::new(raw) {
        Ok(sku) => Some(sku),
        Err(error) => {
            problems.add(
                "bad_sku",
                format!("{what} has a bad SKU"),
                error.to_string(),
            );
            None
        }
    }
}

fn line_label(line: &LineItem) -> String {
    let title = line.name.clone().unwrap_or_else(|| line.title.clone());
    format!("line {} ({title})", line.id)
}

fn positive(quantity: i64, what: &str, problems: &mut Problems) -> bool {
    if quantity <= 0 || quantity >= LIMIT {
        problems.add(
            "bad_quantity",
            format!("{what} has quantity {quantity}"),
            "quantities must be positive".into(),
        );
        return false;
    }
    true
}

/// The ERP sales order for `order`, or every reason it cannot be booked as it is.
pub fn sales_order(order: &OrderPayload, rules: &OrderRules) -> Result<SalesOrder, MappingError> {
    let mut problems = Problems::new(format!("order {} (id {})", order.name, order.id));
    let currency = match CurrencyCode::new(order.currency.clone()) {
        Ok(code) => Some(code),
        Err(error) => {
            problems.add("bad_currency", "bad currency", error.to_string());
            None
        }
    };

    let mut money = Currency::new(&order.currency);
    money.check(|| "total_price_set".into(), &order.total_price_set);
    let totals = [
        ("subtotal_price_set", &order.subtotal_price_set),
        ("total_tax_set", &order.total_tax_set),
        ("total_discounts_set", &order.total_discounts_set),
        ("total_shipping_price_set", &order.total_shipping_price_set),
        ("current_total_price_set", &order.current_total_price_set),
    ];
    for (path, bag) in totals {
        if let Some(bag) = bag {
            money.check(|| path.into(), bag);
        }
    }
    money.taxes("order", &order.tax_lines);
    for (i, line) in order.line_items.iter().enumerate() {
        let path = format!("line_items[{i}]");
        money.check(|| format!("{path}.price_set"), &line.price_set);
        money.allocations(&path, &line.discount_allocations);
        money.taxes(&path, &line.tax_lines);
    }
    for (i, line) in order.shipping_lines.iter().enumerate() {
        let path = format!("shipping_lines[{i}]");
        money.check(|| format!("{path}.price_set"), &line.price_set);
        money.allocations(&path, &line.discount_allocations);
        money.taxes(&path, &line.tax_lines);
    }
    let balanced_currency = money.foreign.is_empty() && money.huge.is_empty();
    money.report(&mut problems);

    if order.line_items.is_empty() {
        problems.add("no_lines", "no product lines", String::new());
    }
    let mut lines = Vec::new();
    for line in &order.line_items {
        let what = line_label(line);
        let quantity_ok = positive(line.quantity, &what, &mut problems);
        let sku = line_sku(line, rules, &what, &mut problems);
        let taxes = tax_lines(&line.tax_lines, &what, &mut problems);
        if let (Some(sku), true) = (sku, quantity_ok) {
            lines.push(OrderLine {
                shopify_line_id: line.id,
                sku,
                title: line
                    .name
                    .clone()
                    .unwrap_or_else(|| match &line.variant_title {
                        Some(variant) => format!("{} - {variant}", line.title),
                        None => line.title.clone(),
                    }),
                quantity: Decimal::from(line.quantity),
                unit_price: shop(&line.price_set),
                discount: allocated(&line.discount_allocations),
                taxes,
            });
        }
    }
    let mut shipping = Vec::new();
    for line in &order.shipping_lines {
        let what = format!("shipping line {:?}", line.title);
        let taxes = tax_lines(&line.tax_lines, &what, &mut problems);
        shipping.push(ShippingLine {
            title: line.title.clone(),
            price: shop(&line.price_set),
            discount: allocated(&line.discount_allocations),
            taxes,
        });
    }

    let warehouse = rules.warehouse(order.location_id);
    if warehouse.is_none() {
        let location = order
            .location_id
            .map_or("no location".to_owned(), |id| format!("location {id}"));
        problems.add(
            "no_warehouse",
            "no ERP warehouse",
            format!(
                "the order has {location}, no [[locations]] entry maps it, and \
                 `orders.default_warehouse` is not set"
            ),
        );
    }

    if balanced_currency {
        check_sums(order, &mut problems);
    }

    let billing = order
        .billing_address
        .as_ref()
        .or(order.shipping_address.as_ref())
        .and_then(address);
    let presentment = order
        .presentment_currency
        .as_ref()
        .filter(|code| **code != order.currency)
        .and_then(|code| CurrencyCode::new(code.clone()).ok())
        .map(|currency| Presentment {
            currency,
            total: order.total_price_set.presentment_money.amount,
        });
    problems.finish()?;
    Ok(SalesOrder {
        shopify_order_id: order.id,
        name: order.name.clone(),
        placed_at: order.processed_at.unwrap_or(order.created_at),
        currency: Problems::currency(currency)?,
        taxes_included: order.taxes_included,
        customer: customer(order, billing.as_ref()),
        billing_address: billing,
        shipping_address: order.shipping_address.as_ref().and_then(address),
        warehouse: warehouse.unwrap_or_default(),
        lines,
        shipping,
        total: shop(&order.total_price_set),
        presentment,
        payment_gateways: order.payment_gateway_names.clone(),
    })
}

/// The sum of `amount` over `items`.
fn sum<T>(items: &[T], amount: impl Fn(&T) -> Decimal) -> Decimal {
    items.iter().map(amount).sum()
}

/// The sum checks: the total and the tax, to the cent.
fn check_sums(order: &OrderPayload, problems: &mut Problems) {
    let shown = Shown(order.total_price_set.shop_money.amount.scale().max(2));
    let lines = sum(&order.line_items, |l| {
        shop(&l.price_set) * Decimal::from(l.quantity)
    });
    let discounts = sum(&order.line_items, |l| allocated(&l.discount_allocations))
        + sum(&order.shipping_lines, |l| {
            allocated(&l.discount_allocations)
        });
    let shipping = sum(&order.shipping_lines, |l| shop(&l.price_set));
    let line_tax = sum(&order.line_items, |l| taxed(&l.tax_lines));
    let shipping_tax = sum(&order.shipping_lines, |l| taxed(&l.tax_lines));
    let tax = line_tax + shipping_tax;
    let added_tax = if order.taxes_included {
        Decimal::ZERO
    } else {
        tax
    };
    let expected = lines - discounts + shipping + added_tax;
    let total = shop(&order.total_price_set);
    if expected != total {
        let tax_text = if order.taxes_included {
            format!(
                "{} ({} included in prices)",
                shown.show(added_tax),
                shown.show(tax)
            )
        } else {
            shown.show(tax)
        };
        problems.add(
            "total_mismatch",
            format!("total mismatch {}", shown.show((expected - total).abs())),
            format!(
                "lines {} - discounts {} + shipping {} + tax {tax_text} = {}, Shopify says {}",
                shown.show(lines),
                shown.show(discounts),
                shown.show(shipping),
                shown.show(expected),
                shown.show(total)
            ),
        );
    }
    if let Some(total_tax) = order.total_tax_set.as_ref().map(shop)
        && total_tax != tax
    {
        problems.add(
            "tax_mismatch",
            format!("tax mismatch {}", shown.show((tax - total_tax).abs())),
            format!(
                "line taxes {} + shipping taxes {} = {}, Shopify says {}",
                shown.show(line_tax),
                shown.show(shipping_tax),
                shown.show(tax),
                shown.show(total_tax)
            ),
        );
    }
}

/// The ERP refund for `refund`. `order`, the original order when the caller has it,
/// supplies a line's SKU or taxes when the refund's own copy of the line lacks them.
pub fn refund(
    refund: &RefundPayload,
    order: Option<&OrderPayload>,
    rules: &OrderRules,
) -> Result<Refund, MappingError> {
    let mut problems = Problems::new(format!("refund {} of order {}", refund.id, refund.order_id));
    let code = refund_currency(refund, order);
    let currency = match code.as_deref().map(CurrencyCode::new) {
        Some(Ok(code)) => Some(code),
        Some(Err(error)) => {
            problems.add("bad_currency", "bad currency", error.to_string());
            None
        }
        None => {
            problems.add(
                "bad_currency",
                "no currency",
                "the refund has no amounts and the order is not at hand".into(),
            );
            None
        }
    };
    if let Some(code) = code.as_deref() {
        let mut money = Currency::new(code);
        for (i, line) in refund.refund_line_items.iter().enumerate() {
            money.check(
                || format!("refund_line_items[{i}].subtotal_set"),
                &line.subtotal_set,
            );
            money.check(
                || format!("refund_line_items[{i}].total_tax_set"),
                &line.total_tax_set,
            );
        }
        for (i, line) in refund.refund_shipping_lines.iter().enumerate() {
            let path = format!("refund_shipping_lines[{i}].subtotal_amount_set");
            money.check(|| path, &line.subtotal_amount_set);
        }
        for (i, adjustment) in refund.order_adjustments.iter().enumerate() {
            money.check(
                || format!("order_adjustments[{i}].amount_set"),
                &adjustment.amount_set,
            );
        }
        money.report(&mut problems);
    }

    let mut lines = Vec::new();
    for item in &refund.refund_line_items {
        lines.extend(refund_lines(item, order, rules, &mut problems));
    }

    let shipping = if refund.refund_shipping_lines.is_empty() {
        refund
            .order_adjustments
            .iter()
            .filter(|a| a.kind == "shipping_refund")
            .map(|a| shop(&a.amount_set).abs())
            .sum()
    } else {
        refund
            .refund_shipping_lines
            .iter()
            .map(|l| shop(&l.subtotal_amount_set))
            .sum()
    };
    for adjustment in &refund.order_adjustments {
        let amount = shop(&adjustment.amount_set);
        if adjustment.kind != "shipping_refund" && !amount.is_zero() {
            problems.add(
                "refund_discrepancy",
                format!("{} of {}", adjustment.kind, Shown::of(amount)),
                format!(
                    "{}: the ERP refund books lines and shipping only; book this amount by hand",
                    adjustment.reason.as_deref().unwrap_or("no reason given")
                ),
            );
        }
    }

    problems.finish()?;
    Ok(Refund {
        shopify_refund_id: refund.id,
        shopify_order_id: refund.order_id,
        currency: Problems::currency(currency)?,
        lines,
        shipping,
    })
}

/// The refund's currency: its shop money's, else the order's, else its transactions'.
fn refund_currency(refund: &RefundPayload, order: Option<&OrderPayload>) -> Option<String> {
    let bags = refund
        .refund_line_items
        .iter()
        .map(|l| &l.subtotal_set)
        .chain(
            refund
                .refund_shipping_lines
                .iter()
                .map(|l| &l.subtotal_amount_set),
        )
        .chain(refund.order_adjustments.iter().map(|a| &a.amount_set));
    bags.map(|bag| bag.shop_money.currency_code.clone())
        .next()
        .or_else(|| order.map(|o| o.currency.clone()))
        .or_else(|| refund.transactions.iter().find_map(|t| t.currency.clone()))
}

/// One refunded line as ERP refund lines: one, or two when its subtotal does not divide
/// into whole cents per unit.
fn refund_lines(
    item: &RefundLineItem,
    order: Option<&OrderPayload>,
    rules: &OrderRules,
    problems: &mut Problems,
) -> Vec<RefundLine> {
    let original = order.and_then(|o| o.line_items.iter().find(|l| l.id == item.line_item_id));
    let Some(line) = item.line_item.as_ref().or(original) else {
        problems.add(
            "line_without_sku",
            format!("refund line {} has no line item", item.id),
            format!(
                "its line {} is neither in the refund nor in the order at hand",
                item.line_item_id
            ),
        );
        return Vec::new();
    };
    let what = format!("refunded {}", line_label(line));
    let quantity_ok = positive(item.quantity, &what, problems);
    // the refund's copy of the line names the SKU; the order's when the copy has none
    let sku = match (text(line.sku.as_deref()), original) {
        (None, Some(original)) if !line.gift_card => line_sku(original, rules, &what, problems),
        _ => line_sku(line, rules, &what, problems),
    };
    let taxes = if line.tax_lines.is_empty() {
        original.map_or(&line.tax_lines, |o| &o.tax_lines)
    } else {
        &line.tax_lines
    };
    let taxes = refunded_taxes(item, taxes, &what, problems);
    let warehouse = restock_warehouse(item, rules, &what, problems);
    let (Some(sku), true) = (sku, quantity_ok) else {
        return Vec::new();
    };
    let subtotal = shop(&item.subtotal_set);
    let parts = split_in_cents(subtotal, item.quantity);
    // the taxes follow the amounts: each part but the last its share, the last the rest
    let mut left = taxes.clone();
    let last = parts.len().saturating_sub(1);
    parts
        .into_iter()
        .enumerate()
        .map(|(i, (quantity, unit_amount))| {
            let part = unit_amount * Decimal::from(quantity);
            let taxes = if i == last {
                left.clone()
            } else {
                let share: Vec<TaxLine> = taxes
                    .iter()
                    .map(|tax| TaxLine {
                        amount: (tax.amount * part / subtotal).round_dp(tax.amount.scale()),
                        ..tax.clone()
                    })
                    .collect();
                for (rest, taken) in left.iter_mut().zip(&share) {
                    rest.amount -= taken.amount;
                }
                share
            };
            RefundLine {
                sku: sku.clone(),
                quantity: Decimal::from(quantity),
                unit_amount,
                taxes,
                restock_warehouse: warehouse.clone(),
            }
        })
        .collect()
}

/// Where restocked units go: the line's location's warehouse.
fn restock_warehouse(
    item: &RefundLineItem,
    rules: &OrderRules,
    what: &str,
    problems: &mut Problems,
) -> Option<String> {
    if !item.restock_type.restocks() {
        return None;
    }
    match item.location_id {
        Some(location) => {
            let warehouse = rules.mapped(location);
            if warehouse.is_none() {
                problems.add(
                    "unmapped_location",
                    format!("{what} restocks at Shopify location {location}, which is not mapped"),
                    format!(
                        "add a [[locations]] entry with shopify_location = {location} and the ERP \
                         warehouse the goods go back to"
                    ),
                );
            }
            warehouse
        }
        None => {
            let warehouse = rules.warehouse(None);
            if warehouse.is_none() {
                problems.add(
                    "no_warehouse",
                    format!("{what} restocks at no location"),
                    "no [[locations]] entry and no `orders.default_warehouse` to restock to".into(),
                );
            }
            warehouse
        }
    }
}

/// The tax refunded on a line, under the line's taxes: all of it under a single tax, in
/// proportion to what each tax charged when there are several (the last takes the
/// remainder, so the cents add up).
fn refunded_taxes(
    item: &RefundLineItem,
    taxes: &[TaxPayload],
    what: &str,
    problems: &mut Problems,
) -> Vec<TaxLine> {
    let refunded = shop(&item.total_tax_set);
    if refunded.is_zero() {
        return Vec::new();
    }
    let charged = tax_lines(taxes, what, problems);
    let weight: Decimal = charged.iter().map(|tax| tax.amount).sum();
    if charged.is_empty() || weight.is_zero() {
        problems.add(
            "refund_tax_unknown",
            format!("{what} refunds tax {} under no tax", Shown::of(refunded)),
            "the line has no tax lines to book it under".into(),
        );
        return Vec::new();
    }
    let scale = refunded.scale();
    let mut left = refunded;
    let count = charged.len();
    charged
        .into_iter()
        .enumerate()
        .map(|(i, tax)| {
            let share = if i + 1 == count {
                left
            } else {
                (refunded * tax.amount / weight).round_dp(scale)
            };
            left -= share;
            TaxLine {
                amount: share,
                ..tax
            }
        })
        .collect()
}

/// `quantity` units sharing `subtotal` in whole minor units (the subtotal's own scale, at
/// least cents): `[(quantity, unit)]` when it divides, else `[(q - r, low), (r, low +
/// one cent)]`.
fn split_in_cents(subtotal: Decimal, quantity: i64) -> Vec<(i64, Decimal)> {
    let scale = subtotal.scale().max(2);
    let mut minor = subtotal;
    minor.rescale(scale);
    let units = minor.mantissa();
    let count = i128::from(quantity.max(1));
    let low = units.div_euclid(count);
    let rest = units.rem_euclid(count);
    let amount = |units: i128| Decimal::from_i128_with_scale(units, scale);
    if rest == 0 {
        return vec![(quantity, amount(low))];
    }
    // rest < count = quantity, so both fit in an i64
    let high_units = i64::try_from(rest).unwrap_or(quantity);
    vec![
        (quantity - high_units, amount(low)),
        (high_units, amount(low + 1)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    #[test]
    fn a_subtotal_that_divides_is_one_line() {
        assert_eq!(split_in_cents(dec("30.00"), 3), vec![(3, dec("10.00"))]);
        assert_eq!(split_in_cents(dec("5"), 2), vec![(2, dec("2.50"))]);
    }

    #[test]
    fn a_subtotal_that_does_not_divide_is_split_in_whole_cents() {
        let parts = split_in_cents(dec("10.00"), 3);
        assert_eq!(parts, vec![(2, dec("3.33")), (1, dec("3.34"))]);
        let total: Decimal = parts.iter().map(|(q, u)| u * Decimal::from(*q)).sum();
        assert_eq!(total, dec("10.00"));
        let parts = split_in_cents(dec("0.05"), 7);
        assert_eq!(parts, vec![(2, dec("0.00")), (5, dec("0.01"))]);
    }

    #[test]
    fn several_problems_keep_the_first_cause_and_name_all() {
        let mut problems = Problems::new("order #1 (id 1)".into());
        problems.add("no_lines", "no product lines", String::new());
        problems.add(
            "tax_mismatch",
            "tax mismatch 0.01",
            "a 1, Shopify says 2".into(),
        );
        let error = problems.finish().unwrap_err();
        assert_eq!(error.cause, "no_lines");
        assert_eq!(
            error.message,
            "no product lines on order #1 (id 1); also tax mismatch 0.01: a 1, Shopify says 2"
        );
        let failure = Failure::from(error);
        assert_eq!(failure.class, plumb_common::ErrorClass::Permanent);
        assert_eq!(failure.cause, "no_lines");
    }

    #[test]
    fn warehouses_by_location_then_default_then_first() {
        let rules = OrderRules {
            locations: vec![
                LocationMapping {
                    erp_warehouse: "WH-EAST".into(),
                    shopify_location: 1,
                },
                LocationMapping {
                    erp_warehouse: "WH-WEST".into(),
                    shopify_location: 2,
                },
            ],
            default_warehouse: None,
            gift_card_sku: None,
        };
        assert_eq!(rules.warehouse(Some(2)).as_deref(), Some("WH-WEST"));
        assert_eq!(rules.warehouse(Some(9)).as_deref(), Some("WH-EAST"));
        assert_eq!(rules.warehouse(None).as_deref(), Some("WH-EAST"));
        let with_default = OrderRules {
            default_warehouse: Some("WH-MAIN".into()),
            ..rules
        };
        assert_eq!(with_default.warehouse(None).as_deref(), Some("WH-MAIN"));
        assert_eq!(with_default.warehouse(Some(2)).as_deref(), Some("WH-WEST"));
        assert_eq!(OrderRules::default().warehouse(Some(1)), None);
    }
}
