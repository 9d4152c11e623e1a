//! Customer shipments that left (state `shipped` or `done`), by `write_date`, so a tracking
//! number added after the goods left is reported too. The Shopify order comes from the
//! sale the shipment belongs to (`sale.sale.shipments`); the carrier is its name
//! (its party's name, what Shopify calls the company), the tracking number `shipping_reference`.

use std::collections::HashMap;

use chrono::Utc;
use serde_json::json;

use plumb_common::Decimal;

use super::Tryton;
use super::catalog::{Page, read_many, search_read};
use super::cursor::{ReadTimes, Watermark};
use super::values::{
    datetime, field, related, to_date, to_datetime, to_decimal_or_zero, to_id, to_ids, to_sku,
    to_text,
};
use super::{READ_BATCH, id_chunks};
use crate::erp::{Cursor, ErpError, Shipment, ShipmentChanges, ShipmentLine};

/// Shipments changed since `cursor`.
pub async fn since(tryton: &Tryton, cursor: &Cursor) -> Result<ShipmentChanges, ErpError> {
    let session = &tryton.session;
    let mark = Watermark::decode(cursor)?;
    let sent = Utc::now();
    let mut domain = vec![json!(["state", "in", ["shipped", "done"]])];
    if let Some(since) = mark.since(tryton.overlap) {
        domain.push(json!(["write_date", ">=", datetime(since)]));
    }
    let page = Page::ordered(json!([["write_date", "ASC"], ["id", "ASC"]]));
    let fields = json!([
        "number",
        "write_date",
        "warehouse.code",
        "carrier.party.name",
        "shipping_reference",
        "effective_date",
        "outgoing_moves"
    ]);
    let rows = search_read(
        session,
        "stock.shipment.out",
        json!(domain),
        page,
        fields,
        None,
    )
    .await?;
    let keys = rows
        .iter()
        .map(|row| {
            Ok((
                to_id(field(row, "id"))?,
                to_datetime(field(row, "write_date"))?,
            ))
        })
        .collect::<Result<Vec<_>, ErpError>>()?;
    let times = ReadTimes::answered_now(sent);
    let (fresh, next) = mark.advance(&keys, tryton.overlap, times);
    let rows: Vec<_> = fresh.into_iter().map(|i| &rows[i]).collect();

    let ids: Vec<i64> = rows
        .iter()
        .map(|row| to_id(field(row, "id")))
        .collect::<Result<_, _>>()?;
    let orders = shopify_orders(tryton, &ids).await?;
    let move_ids: Vec<i64> = rows
        .iter()
        .flat_map(|row| to_ids(field(row, "outgoing_moves")).unwrap_or_default())
        .collect();
    let moves: HashMap<i64, ShipmentLine> = read_many(
        session,
        "stock.move",
        &move_ids,
        json!(["product.suffix_code", "quantity", "state"]),
        None,
    )
    .await?
    .iter()
    .filter(|m| field(m, "state").as_str() != Some("cancelled"))
    .filter_map(|m| {
        let sku = to_sku(related(m, "product.suffix_code"))?;
        let quantity = to_decimal_or_zero(field(m, "quantity")).unwrap_or(Decimal::ZERO);
        Some((to_id(field(m, "id")).ok()?, ShipmentLine { sku, quantity }))
    })
    .collect();

    let mut shipments = Vec::with_capacity(rows.len());
    for row in rows {
        let id = to_id(field(row, "id"))?;
        shipments.push(Shipment {
            erp_id: id.to_string(),
            number: to_text(field(row, "number")),
            shopify_order_id: orders.get(&id).copied(),
            warehouse: to_text(related(row, "warehouse.code")),
            carrier: to_text(related(row, "carrier.party.name")),
            tracking_number: to_text(field(row, "shipping_reference"))
                .filter(|t| !t.trim().is_empty()),
            tracking_url: None,
            shipped_on: to_date(field(row, "effective_date"))?,
            lines: to_ids(field(row, "outgoing_moves"))?
                .iter()
                .filter_map(|m| moves.get(m).cloned())
                .collect(),
        });
    }
    Ok(ShipmentChanges {
        shipments,
        cursor: next.encode(),
    })
}

/// Shipment id -> the Shopify order id of its sale.
async fn shopify_orders(tryton: &Tryton, shipments: &[i64]) -> Result<HashMap<i64, u64>, ErpError> {
    let mut out = HashMap::new();
    for chunk in id_chunks(shipments, READ_BATCH) {
        let sales = search_read(
            &tryton.session,
            "sale.sale",
            json!([["shipments", "in", chunk]]),
            Page::all(),
            json!(["reference", "shipments"]),
            None,
        )
        .await?;
        for sale in sales {
            let Some(order) =
                to_text(field(&sale, "reference")).and_then(|r| super::sales::order_of_key(&r))
            else {
                continue;
            };
            for shipment in to_ids(field(&sale, "shipments"))? {
                out.insert(shipment, order);
            }
        }
    }
    Ok(out)
}
