//! Product master data: SKU (`suffix_code`), title, list price, barcode (the first EAN or
//! UPC `product.identifier`), active. Inactive products are included (`active_test` off):
//! a product retired in the ERP is catalog drift to report, not something to ignore.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use plumb_common::Sku;

use super::Tryton;
use super::catalog::context;
use super::values::{field, to_decimal_or_zero, to_id, to_rows, to_sku, to_text};
use super::{READ_BATCH, id_chunks};
use crate::erp::{ErpError, ProductRecord, Selection};

const FIELDS: [&str; 4] = ["suffix_code", "name", "template.list_price", "active"];

async fn page(
    tryton: &Tryton,
    domain: Value,
    offset: usize,
    limit: Option<usize>,
    extra: &Map<String, Value>,
) -> Result<Vec<Map<String, Value>>, ErpError> {
    to_rows(
        tryton
            .session
            .model(
                "product.product",
                "search_read",
                vec![
                    domain,
                    json!(offset),
                    json!(limit),
                    json!([["id", "ASC"]]),
                    json!(FIELDS),
                ],
                Some(extra),
            )
            .await?,
    )
}

/// Products with a SKU, all or the selected ones.
pub async fn read(tryton: &Tryton, skus: Selection<'_>) -> Result<Vec<ProductRecord>, ErpError> {
    let extra = context(json!({"active_test": false}));
    let mut rows = Vec::new();
    match skus {
        Selection::All => {
            let mut offset = 0;
            loop {
                let batch = page(
                    tryton,
                    json!([["suffix_code", "!=", null]]),
                    offset,
                    Some(READ_BATCH),
                    &extra,
                )
                .await?;
                let count = batch.len();
                rows.extend(batch);
                if count < READ_BATCH {
                    break;
                }
                offset += READ_BATCH;
            }
        }
        Selection::Skus(skus) => {
            let names: Vec<&str> = skus.iter().map(Sku::as_str).collect();
            for chunk in names.chunks(READ_BATCH) {
                rows.extend(
                    page(
                        tryton,
                        json!([["suffix_code", "in", chunk]]),
                        0,
                        None,
                        &extra,
                    )
                    .await?,
                );
            }
        }
    }
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
        let price = field(row, "template.")
            .as_object()
            .map(|t| to_decimal_or_zero(t.get("list_price").unwrap_or(&Value::Null)))
            .transpose()?
            .unwrap_or_default();
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
        let rows = to_rows(
            tryton
                .session
                .model(
                    "product.identifier",
                    "search_read",
                    vec![
                        json!([["product", "in", chunk], ["type", "in", ["ean", "upc"]]]),
                        json!(0),
                        Value::Null,
                        json!([["sequence", "ASC"], ["id", "ASC"]]),
                        json!(["product", "code"]),
                    ],
                    None,
                )
                .await?,
        )?;
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
