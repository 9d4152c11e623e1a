//! Product master data: SKU (`suffix_code`), title, list price, barcode (the first EAN or
//! UPC `product.identifier`), active. Inactive products are included (`active_test` off):
//! a product retired in the ERP is catalog drift to report, not something to ignore.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use plumb_common::Sku;

use super::Tryton;
use super::catalog::{Page, context, search_read};
use super::values::{field, related, to_decimal_or_zero, to_id, to_sku, to_text};
use super::{READ_BATCH, id_chunks};
use crate::erp::{ErpError, ProductRecord, Selection};

const FIELDS: [&str; 4] = ["suffix_code", "name", "template.list_price", "active"];

/// `fields` of the `product.product` rows with a SKU, in id order: all of them (read a page
/// of [`READ_BATCH`] at a time) or those of the selected SKUs; `filter` adds domain clauses.
pub(super) async fn search(
    tryton: &Tryton,
    filter: &[Value],
    skus: Selection<'_>,
    fields: Value,
    extra: Option<&Map<String, Value>>,
) -> Result<Vec<Map<String, Value>>, ErpError> {
    let session = &tryton.session;
    let domain = |sku: Value| {
        let mut domain = filter.to_vec();
        domain.push(sku);
        Value::Array(domain)
    };
    let mut rows = Vec::new();
    match skus {
        Selection::All => loop {
            let page = Page {
                offset: rows.len(),
                limit: Some(READ_BATCH),
                ..Page::by_id()
            };
            let domain = domain(json!(["suffix_code", "!=", null]));
            let batch = search_read(
                session,
                "product.product",
                domain,
                page,
                fields.clone(),
                extra,
            )
            .await?;
            let count = batch.len();
            rows.extend(batch);
            if count < READ_BATCH {
                break;
            }
        },
        Selection::Skus(skus) => {
            let names: Vec<&str> = skus.iter().map(Sku::as_str).collect();
            for chunk in names.chunks(READ_BATCH) {
                let domain = domain(json!(["suffix_code", "in", chunk]));
                rows.extend(
                    search_read(
                        session,
                        "product.product",
                        domain,
                        Page::by_id(),
                        fields.clone(),
                        extra,
                    )
                    .await?,
                );
            }
        }
    }
    Ok(rows)
}

/// Products with a SKU, all or the selected ones.
pub async fn read(tryton: &Tryton, skus: Selection<'_>) -> Result<Vec<ProductRecord>, ErpError> {
    let extra = context(json!({"active_test": false}));
    let rows = search(tryton, &[], skus, json!(FIELDS), Some(&extra)).await?;
    let ids: Vec<i64> = rows
        .iter()
        .map(|row| to_id(field(row, "id")))
        .collect::<Result<_, _>>()?;
    let barcodes = barcodes(tryton, &ids).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let Some(sku) = to_sku(field(row, "suffix_code")) else {
            continue;
        };
        let id = to_id(field(row, "id"))?;
        let price = to_decimal_or_zero(related(row, "template.list_price"))?;
        out.push(ProductRecord {
            sku,
            erp_id: id.to_string(),
            title: to_text(field(row, "name")).unwrap_or_default(),
            price,
            barcode: barcodes.get(&id).cloned(),
            active: field(row, "active").as_bool().unwrap_or(true),
        });
    }
    Ok(out)
}

async fn barcodes(tryton: &Tryton, ids: &[i64]) -> Result<HashMap<i64, String>, ErpError> {
    let mut out = HashMap::new();
    for chunk in id_chunks(ids, READ_BATCH) {
        let page = Page::ordered(json!([["sequence", "ASC"], ["id", "ASC"]]));
        let rows = search_read(
            &tryton.session,
            "product.identifier",
            json!([["product", "in", chunk], ["type", "in", ["ean", "upc"]]]),
            page,
            json!(["product", "code"]),
            None,
        )
        .await?;
        for row in rows {
            if let (Ok(product), Some(code)) =
                (to_id(field(&row, "product")), to_text(field(&row, "code")))
            {
                out.entry(product).or_insert(code);
            }
        }
    }
    Ok(out)
}
