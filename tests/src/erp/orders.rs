//! Orders and refunds as the flows would hand them to an ERP connector.

use chrono::{TimeZone, Utc};

use plumb_agent::erp::{
    Address, Customer, OrderLine, Refund, RefundLine, RefundRef, SalesOrder, ShippingLine, TaxLine,
};
use plumb_common::{CurrencyCode, Decimal, Sku};

/// A decimal from text.
pub fn dec(text: &str) -> Decimal {
    text.parse().expect("decimal literal")
}

/// The seeded 4 % tax.
pub fn ny_state(amount: &str) -> TaxLine {
    TaxLine {
        title: "NY State Tax".into(),
        rate: dec("0.04"),
        amount: dec(amount),
    }
}

/// The seeded 4.5 % tax.
pub fn nyc(amount: &str) -> TaxLine {
    TaxLine {
        title: "NYC Sales Tax".into(),
        rate: dec("0.045"),
        amount: dec(amount),
    }
}

/// A product line.
pub fn line(
    sku: &str,
    quantity: i64,
    price: &str,
    discount: &str,
    taxes: Vec<TaxLine>,
) -> OrderLine {
    OrderLine {
        shopify_line_id: 1_000 + quantity as u64,
        sku: Sku::new(sku).expect("sku"),
        title: format!("Plumb Product {sku}"),
        quantity: Decimal::from(quantity),
        unit_price: dec(price),
        discount: dec(discount),
        taxes,
    }
}

/// An order shipped from `warehouse`, with a 5.00 "Standard" shipping line taxed at 4 %;
/// its total is what the lines and shipping come to with their tax amounts.
pub fn order(shopify_order_id: u64, warehouse: &str, lines: Vec<OrderLine>) -> SalesOrder {
    let shipping = ShippingLine {
        title: "Standard".into(),
        price: dec("5.00"),
        discount: Decimal::ZERO,
        taxes: vec![ny_state("0.20")],
    };
    let taxes = |taxes: &[TaxLine]| taxes.iter().map(|t| t.amount).sum::<Decimal>();
    let total = lines
        .iter()
        .map(|l| l.unit_price * l.quantity - l.discount + taxes(&l.taxes))
        .sum::<Decimal>()
        + shipping.price
        - shipping.discount
        + taxes(&shipping.taxes);
    let address = Address {
        name: "Ada Lovelace".into(),
        street: "1 Main St".into(),
        postal_code: "10001".into(),
        city: "New York".into(),
        region: Some("NY".into()),
        country: Some("US".into()),
    };
    SalesOrder {
        shopify_order_id,
        name: format!("#{shopify_order_id}"),
        placed_at: Utc
            .with_ymd_and_hms(2026, 11, 23, 12, 0, 0)
            .single()
            .expect("date"),
        currency: CurrencyCode::new("USD").expect("currency"),
        taxes_included: false,
        customer: Customer {
            shopify_customer_id: Some(7),
            email: Some("ada@example.com".into()),
            name: "Ada Lovelace".into(),
            phone: None,
        },
        billing_address: Some(address.clone()),
        shipping_address: Some(address),
        warehouse: warehouse.into(),
        lines,
        shipping: vec![shipping],
        total,
        presentment: None,
        payment_gateways: vec!["manual".into()],
    }
}

/// A refunded line; `restock` names the warehouse the units go back to.
pub fn refund_line(sku: &str, quantity: i64, unit: &str, restock: Option<&str>) -> RefundLine {
    RefundLine {
        sku: Sku::new(sku).expect("sku"),
        quantity: Decimal::from(quantity),
        unit_amount: dec(unit),
        taxes: vec![],
        restock_warehouse: restock.map(str::to_owned),
    }
}

/// A refund of `lines` on an order.
pub fn refund(shopify_refund_id: u64, shopify_order_id: u64, lines: Vec<RefundLine>) -> Refund {
    Refund {
        shopify_refund_id,
        shopify_order_id,
        currency: CurrencyCode::new("USD").expect("currency"),
        lines,
        shipping: Decimal::ZERO,
    }
}

/// How a booked refund was split: (restock warehouse, credited, created) per document, so
/// a test compares the whole split in one assertion.
pub fn refund_split(booked: &RefundRef) -> Vec<(Option<&str>, Decimal, bool)> {
    booked
        .documents
        .iter()
        .map(|d| (d.warehouse.as_deref(), d.credited, d.created))
        .collect()
}
