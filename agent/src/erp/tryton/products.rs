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
    let mut rows = Vec::new();
    search_pages(tryton, filter, skus, fields, extra, |page| {
        rows.extend(page);
        Ok(())
    })
    .await?;
    Ok(rows)
}

/// Like [`search`], handing each answer's rows to `each` as it comes, so a caller that
/// keeps less than the rows (typed records) never holds the whole catalogue as JSON.
async fn search_pages(
    tryton: &Tryton,
    filter: &[Value],
    skus: Selection<'_>,
    fields: Value,
    extra: Option<&Map<String, Value>>,
    mut each: impl FnMut(Vec<Map<String, Value>>) -> Result<(), ErpError>,
) -> Result<(), ErpError> {
    let session = &tryton.session;
    let domain = |sku: Value| {
        let mut domain = filter.to_vec();
        domain.push(sku);
        Value::Array(domain)
    };
    match skus {
        Selection::All => {
            let mut offset = 0;
            loop {
                let page = Page {
                    offset,
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
                offset += count;
                each(batch)?;
                if count < READ_BATCH {
                    break;
                }
            }
        }
        Selection::Skus(skus) => {
            let names: Vec<&str> = skus.iter().map(Sku::as_str).collect();
            for chunk in names.chunks(READ_BATCH) {
                let domain = domain(json!(["suffix_code", "in", chunk]));
                each(
                    search_read(
                        session,
                        "product.product",
                        domain,
                        Page::by_id(),
                        fields.clone(),
                        extra,
                    )
                    .await?,
                )?;
            }
        }
    }
    Ok(())
}

/// Products with a SKU, all or the selected ones. Each answer is turned into records as
/// it arrives (100,000 products as JSON rows would be a few hundred MB; as records, a
/// tenth of that).
pub async fn read(tryton: &Tryton, skus: Selection<'_>) -> Result<Vec<ProductRecord>, ErpError> {
    let extra = context(json!({"active_test": false}));
    let mut out = Vec::new();
    search_pages(tryton, &[], skus, json!(FIELDS), Some(&extra), |rows| {
        out.reserve(rows.len());
        for row in &rows {
            let Some(sku) = to_sku(field(row, "suffix_code")) else {
                continue;
            };
            out.push(ProductRecord {
                sku,
                erp_id: to_id(field(row, "id"))?.to_string(),
                title: to_text(field(row, "name")).unwrap_or_default(),
                price: to_decimal_or_zero(related(row, "template.list_price"))?,
                barcode: None,
                active: field(row, "active").as_bool().unwrap_or(true),
            });
        }
        Ok(())
    })
    .await?;
    let ids: Vec<i64> = out.iter().filter_map(|p| p.erp_id.parse().ok()).collect();
    let mut barcodes = barcodes(tryton, &ids).await?;
    for product in &mut out {
        if let Ok(id) = product.erp_id.parse::<i64>() {
            product.barcode = barcodes.remove(&id);
        }
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
