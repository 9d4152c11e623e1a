//! Refunds as return sales: a sale with negative quantities, `origin` the order's sale.
//! Tryton turns it into a credit note (an invoice with a negative total) and, for product
//! lines, a customer return shipment into the sale's warehouse. Restocked units are product
//! lines (the return is received and done, so the stock is back); units refunded without
//! restock are lines without a product (money only); refunded shipping likewise.
//!
//! Keyed on the Shopify refund id (`reference` `shopify-refund:<id>`), and finished from
//! wherever a previous attempt stopped, like orders.

use serde_json::json;

use plumb_common::{Decimal, Sku};

use super::Tryton;
use super::catalog::read_many;
use super::sales::{self, Found, button, quantity, service_line, tax_ids};
use super::values::{decimal, field, to_decimal_or_zero, to_id, to_ids, to_text};
use crate::erp::{ErpError, Refund, RefundRef};

fn refund_key(shopify_refund_id: u64) -> String {
    format!("shopify-refund:{shopify_refund_id}")
}

/// Books `refund` unless it is booked already.
pub async fn record(tryton: &Tryton, refund: &Refund) -> Result<RefundRef, ErpError> {
    let key = refund_key(refund.shopify_refund_id);
    let (sale, created) = match sales::find(tryton, &key).await? {
        Some(found) => (found, false),
        None => (create(tryton, refund, &key).await?, true),
    };
    let sale = sales::finish(tryton, sale).await?;
    complete(tryton, sale, created).await
}

async fn create(tryton: &Tryton, refund: &Refund, key: &str) -> Result<Found, ErpError> {
    let session = &tryton.session;
    if refund.lines.is_empty() && refund.shipping.is_zero() {
        return Err(ErpError::Invalid(format!(
            "refund {} refunds nothing",
            refund.shopify_refund_id
        )));
    }
    let order_key = sales::order_key(refund.shopify_order_id);
    let original = sales::find(tryton, &order_key).await?.ok_or_else(|| {
        ErpError::Missing(format!(
            "no Tryton sale for Shopify order {}: book the order before its refund",
            refund.shopify_order_id
        ))
    })?;
    let rows = read_many(
        session,
        "sale.sale",
        &[original.id],
        json!([
            "party",
            "invoice_address",
            "shipment_address",
            "warehouse",
            "currency"
        ]),
        None,
    )
    .await?;
    let row = rows
        .first()
        .ok_or_else(|| ErpError::Missing(format!("sale {} vanished", original.id)))?;
    let currency = tryton
        .catalog
        .currency(session, refund.currency.as_str())
        .await?;
    if to_id(field(row, "currency")).ok() != Some(currency) {
        return Err(ErpError::Invalid(format!(
            "refund {} is in {} but the order was booked in another currency",
            refund.shopify_refund_id, refund.currency
        )));
    }
    // One return sale has one warehouse: every restocked line must go to the same one.
    let mut restock: Option<&str> = None;
    for line in &refund.lines {
        if let Some(code) = line.restock_warehouse.as_deref() {
            if restock.is_some_and(|first| first != code) {
                return Err(ErpError::Invalid(format!(
                    "refund {} restocks into two warehouses ({} and {code}): Plumb books one \
                     return per refund",
                    refund.shopify_refund_id,
                    restock.unwrap_or_default()
                )));
            }
            restock = Some(code);
        }
    }
    let warehouse = match restock {
        Some(code) => {
            tryton
                .catalog
                .resolve_warehouses(session, &[code.to_owned()])
                .await?
                .remove(0)
                .id
        }
        None => to_id(field(row, "warehouse"))?,
    };
    let restocked: Vec<&Sku> = refund
        .lines
        .iter()
        .filter(|l| l.restock_warehouse.is_some())
        .map(|l| &l.sku)
        .collect();
    let products = tryton.catalog.products(session, &restocked).await?;
    let mut lines = Vec::new();
    for line in &refund.lines {
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
    if !refund.shipping.is_zero() {
        lines.push(service_line(
            "Shipping refund".into(),
            -Decimal::ONE,
            refund.shipping,
            &[],
        ));
    }
    let values = json!({
        "party": field(row, "party"),
        "invoice_address": field(row, "invoice_address"),
        "shipment_address": field(row, "shipment_address"),
        "warehouse": warehouse,
        "currency": currency,
        "reference": key,
        "origin": format!("sale.sale,{}", original.id),
        "description": format!("Shopify refund {} of order {}", refund.shopify_refund_id, refund.shopify_order_id),
        "lines": [["create", lines]],
    });
    let ids = to_ids(
        &session
            .model("sale.sale", "create", vec![json!([values])], None)
            .await?,
    )?;
    let id = *ids
        .first()
        .ok_or_else(|| ErpError::BadResponse("sale.sale.create returned no id".into()))?;
    tracing::info!(%key, sale = id, "refund booked in Tryton as a return sale");
    Ok(Found {
        id,
        number: None,
        state: "draft".into(),
    })
}

/// Receives and finishes the return shipments, posts the credit notes.
async fn complete(tryton: &Tryton, sale: Found, created: bool) -> Result<RefundRef, ErpError> {
    let session = &tryton.session;
    let rows = read_many(
        session,
        "sale.sale",
        &[sale.id],
        json!(["shipment_returns", "invoices", "total_amount"]),
        None,
    )
    .await?;
    let row = rows
        .first()
        .ok_or_else(|| ErpError::Missing(format!("sale {} vanished", sale.id)))?;
    let returns = read_many(
        session,
        "stock.shipment.out.return",
        &to_ids(field(row, "shipment_returns"))?,
        json!(["state"]),
        None,
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
    let invoices = read_many(
        session,
        "account.invoice",
        &to_ids(field(row, "invoices"))?,
        json!(["state"]),
        None,
    )
    .await?;
    let drafts: Vec<i64> = invoices
        .iter()
        .filter(|i| matches!(field(i, "state").as_str(), Some("draft" | "validated")))
        .filter_map(|i| to_id(field(i, "id")).ok())
        .collect();
    if !drafts.is_empty() {
        button(tryton, "account.invoice", "post", &drafts).await?;
    }
    let numbered = read_many(
        session,
        "account.invoice",
        &to_ids(field(row, "invoices"))?,
        json!(["number"]),
        None,
    )
    .await?;
    Ok(RefundRef {
        erp_id: sale.id.to_string(),
        credit_note: numbered.first().and_then(|i| to_text(field(i, "number"))),
        credited: to_decimal_or_zero(field(row, "total_amount"))?,
        created,
    })
}
