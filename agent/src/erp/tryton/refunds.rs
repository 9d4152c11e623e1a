//! Refunds as return sales: a sale with negative quantities, `origin` the order's sale.
//! Tryton turns it into a credit note (an invoice with a negative total) and, for product
//! lines, a customer return shipment into the sale's warehouse. Restocked units are product
//! lines (the return is received and done, so the stock is back); units refunded without
//! restock are lines without a product (money only); refunded shipping likewise.
//!
//! A return sale has one warehouse, and Shopify restocks each refunded line into its own
//! location, so a refund is booked as one return sale per restock warehouse (see
//! [`groups`]). Each is keyed on the Shopify refund id (`reference`
//! `shopify-refund:<id>`, or `shopify-refund:<id>:<warehouse code>` when the refund
//! restocks into two or more warehouses), looked up before it is created, and finished
//! from wherever a previous attempt stopped, like orders: a retry after a lost answer or a
//! crash between two groups finds the returns that exist and books only the missing ones.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use plumb_common::{Decimal, Sku};

use super::Tryton;
use super::catalog::{create_one, read_linked};
use super::sales::{self, Found, button, quantity, service_line, tax_ids};
use super::values::{decimal, field, to_decimal_or_zero, to_id, to_text};
use crate::erp::{ErpError, Refund, RefundDocument, RefundLine, RefundRef};

fn refund_key(shopify_refund_id: u64) -> String {
    format!("shopify-refund:{shopify_refund_id}")
}

/// The part of a refund one return sale books.
#[derive(Debug)]
struct Group<'a> {
    /// The return sale's `reference`.
    key: String,
    /// The warehouse its restocked units go back to; `None`: nothing is restocked.
    warehouse: Option<&'a str>,
    /// Its lines, in the refund's order.
    lines: Vec<&'a RefundLine>,
    /// The shipping it refunds (zero but in one group).
    shipping: Decimal,
}

/// Splits a refund into one group per restock warehouse, in code order so every retry
/// splits it the same way whatever order Shopify lists the lines in.
///
/// Lines refunded without restock and refunded shipping go with the first group rather
/// than a group of their own: they move no stock, so any return sale can carry them, and a
/// refund restocking into one warehouse (or none) stays the one document, under the plain
/// key, that it always was; refunds booked before the split are still found on retry.
/// Only a refund restocking into two or more warehouses gets per-warehouse keys; the set
/// of warehouses is fixed by the refund, so the keys are the same on every attempt.
fn groups(refund: &Refund) -> Vec<Group<'_>> {
    let codes: BTreeSet<&str> = refund
        .lines
        .iter()
        .filter_map(|l| l.restock_warehouse.as_deref())
        .collect();
    if codes.len() < 2 {
        return vec![Group {
            key: refund_key(refund.shopify_refund_id),
            warehouse: codes.first().copied(),
            lines: refund.lines.iter().collect(),
            shipping: refund.shipping,
        }];
    }
    codes
        .iter()
        .enumerate()
        .map(|(index, &code)| {
            let first = index == 0;
            Group {
                key: format!("{}:{code}", refund_key(refund.shopify_refund_id)),
                warehouse: Some(code),
                lines: refund
                    .lines
                    .iter()
                    .filter(|l| match l.restock_warehouse.as_deref() {
                        Some(restock) => restock == code,
                        None => first,
                    })
                    .collect(),
                shipping: if first {
                    refund.shipping
                } else {
                    Decimal::ZERO
                },
            }
        })
        .collect()
}

/// Books `refund` unless it is booked already; books the groups a previous attempt did
/// not get to.
pub async fn record(tryton: &Tryton, refund: &Refund) -> Result<RefundRef, ErpError> {
    if refund.lines.is_empty() && refund.shipping.is_zero() {
        return Err(ErpError::Invalid(format!(
            "refund {} refunds nothing",
            refund.shopify_refund_id
        )));
    }
    let mut original: Option<Original> = None;
    let mut documents = Vec::new();
    // One group after the other: a failure in a later group leaves the earlier ones booked
    // and complete, and the retry (the same refund, so the same groups) picks up there.
    for group in groups(refund) {
        let (sale, created) = match sales::find(tryton, &group.key).await? {
            Some(found) => (found, false),
            None => {
                let order = match original.take() {
                    Some(order) => order,
                    None => Original::read(tryton, refund).await?,
                };
                let sale = create(tryton, refund, &group, &order).await?;
                original = Some(order);
                (sale, true)
            }
        };
        let sale = sales::finish(tryton, sale).await?;
        documents.push(complete(tryton, sale, &group, created).await?);
    }
    Ok(RefundRef {
        credited: documents.iter().map(|d| d.credited).sum(),
        created: documents.iter().any(|d| d.created),
        documents,
    })
}

/// The refunded order's sale, as the return sales copy it.
struct Original {
    id: i64,
    row: Map<String, Value>,
    currency: i64,
}

impl Original {
    async fn read(tryton: &Tryton, refund: &Refund) -> Result<Original, ErpError> {
        let session = &tryton.session;
        let order_key = sales::order_key(refund.shopify_order_id);
        let original = sales::find(tryton, &order_key).await?.ok_or_else(|| {
            ErpError::Missing(format!(
                "no Tryton sale for Shopify order {}: book the order before its refund",
                refund.shopify_order_id
            ))
        })?;
        let row = sales::read_sale(
            tryton,
            original.id,
            json!([
                "party",
                "invoice_address",
                "shipment_address",
                "warehouse",
                "currency"
            ]),
        )
        .await?;
        let currency = tryton
            .catalog
            .currency(session, refund.currency.as_str())
            .await?;
        if to_id(field(&row, "currency")).ok() != Some(currency) {
            return Err(ErpError::Invalid(format!(
                "refund {} is in {} but the order was booked in another currency",
                refund.shopify_refund_id, refund.currency
            )));
        }
        Ok(Original {
            id: original.id,
            row,
            currency,
        })
    }
}

async fn create(
    tryton: &Tryton,
    refund: &Refund,
    group: &Group<'_>,
    original: &Original,
) -> Result<Found, ErpError> {
    let session = &tryton.session;
    let row = &original.row;
    let warehouse = match group.warehouse {
        Some(code) => {
            tryton
                .catalog
                .resolve_warehouses(session, &[code.to_owned()])
                .await?
                .into_iter()
                .next()
                .ok_or_else(|| ErpError::Missing(format!("warehouse {code} unknown to Tryton")))?
                .id
        }
        None => to_id(field(row, "warehouse"))?,
    };
    let restocked: Vec<&Sku> = group
        .lines
        .iter()
        .filter(|l| l.restock_warehouse.is_some())
        .map(|l| &l.sku)
        .collect();
    let products = tryton.catalog.products(session, &restocked).await?;
    let mut lines = Vec::new();
    for line in &group.lines {
        let taxes = tax_ids(tryton, &line.taxes).await?;
        match products
            .get(&line.sku)
            .filter(|_| line.restock_warehouse.is_some())
        {
            Some(product) => lines.push(json!({
                "type": "line",
                "product": product.id,
                "unit": product.unit,
                "quantity": quantity(-line.quantity),
                "unit_price": decimal(line.unit_amount),
                "description": format!("Return of {}", line.sku),
                "taxes": [["add", taxes]],
            })),
            None => lines.push(service_line(
                format!("Refund of {} (not restocked)", line.sku),
                -line.quantity,
                line.unit_amount,
                &taxes,
            )),
        }
    }
    if !group.shipping.is_zero() {
        lines.push(service_line(
            "Shipping refund".into(),
            -Decimal::ONE,
            group.shipping,
            &[],
        ));
    }
    let description = match group.warehouse {
        Some(code) => format!(
            "Shopify refund {} of order {} (return to {code})",
            refund.shopify_refund_id, refund.shopify_order_id
        ),
        None => format!(
            "Shopify refund {} of order {}",
            refund.shopify_refund_id, refund.shopify_order_id
        ),
    };
    let values = json!({
        "party": field(row, "party"),
        "invoice_address": field(row, "invoice_address"),
        "shipment_address": field(row, "shipment_address"),
        "warehouse": warehouse,
        "currency": original.currency,
        "reference": group.key,
        "origin": format!("sale.sale,{}", original.id),
        "description": description,
        "lines": [["create", lines]],
    });
    let id = create_one(session, "sale.sale", values).await?;
    tracing::info!(key = %group.key, sale = id, "refund booked in Tryton as a return sale");
    Ok(Found {
        id,
        number: None,
        state: "draft".into(),
    })
}

/// Receives and finishes the return shipments, posts the credit notes.
async fn complete(
    tryton: &Tryton,
    sale: Found,
    group: &Group<'_>,
    created: bool,
) -> Result<RefundDocument, ErpError> {
    let session = &tryton.session;
    let fields = json!(["shipment_returns", "invoices", "total_amount"]);
    let row = &sales::read_sale(tryton, sale.id, fields).await?;
    let returns = read_linked(
        session,
        row,
        "shipment_returns",
        "stock.shipment.out.return",
        json!(["state"]),
    )
    .await?;
    for shipment in &returns {
        let id = to_id(field(shipment, "id"))?;
        match field(shipment, "state").as_str() {
            Some("draft") => {
                button(tryton, "stock.shipment.out.return", "receive", &[id]).await?;
                button(tryton, "stock.shipment.out.return", "do", &[id]).await?;
            }
            Some("received") => button(tryton, "stock.shipment.out.return", "do", &[id]).await?,
            _ => {}
        }
    }
    sales::on_unposted_invoices(tryton, row, "post").await?;
    let numbered = read_linked(
        session,
        row,
        "invoices",
        "account.invoice",
        json!(["number"]),
    )
    .await?;
    Ok(RefundDocument {
        erp_id: sale.id.to_string(),
        warehouse: group.warehouse.map(str::to_owned),
        credit_note: numbered.first().and_then(|i| to_text(field(i, "number"))),
        credited: to_decimal_or_zero(field(row, "total_amount"))?,
        created,
    })
}
