//! Product master data: SKU (`suffix_code`), title, list price, cost price, barcode (the
//! first EAN or UPC `product.identifier`), active. Inactive products are included
//! (`active_test` off): a product retired in the ERP is catalog drift to report, not
//! something to ignore. Tryton keeps no compare-at price, and shows an unset cost price
//! as 0 (read as no cost).
//!
//! Changes: a product's data lives on three models, each with its own `write_date`
//! watermark in one cursor: `product.product` (SKU, cost price, which Tryton writes through
//! the product), `product.template` (title, list price) and `product.identifier` (barcode).
//! A barcode deleted (not rewritten) in Tryton leaves no row to see: the next change to
//! the product, or a reconciliation, carries it.

use std::collections::HashMap;

use chrono::Utc;
use serde_json::{Map, Value, json};

use plumb_common::Sku;

use super::Tryton;
use super::catalog::{Page, context, each_written, search_read};
use super::cursor::{ReadTimes, Watermark};
use super::values::{
    datetime, field, related, to_datetime, to_decimal, to_decimal_or_zero, to_id, to_sku, to_text,
};
use super::{READ_BATCH, id_chunks};
use crate::erp::{Cursor, ErpError, ProductChanges, ProductRecord, Selection};

const FIELDS: [&str; 5] = [
    "suffix_code",
    "name",
    "template.list_price",
    "cost_price",
    "active",
];

/// Rows read per call when polling for changes (a first run reads the whole catalogue).
const CHANGES_PAGE: usize = 5_000;

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
                compare_at_price: None,
                // Tryton shows an unset cost price as 0: no value, not a cost to copy.
                cost: match field(row, "cost_price") {
                    Value::Null => None,
                    value => Some(to_decimal(value)?).filter(|c| !c.is_zero()),
                },
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

/// The cursor of [`changes`]: one watermark per model.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct ProductCursor {
    product: String,
    template: String,
    identifier: String,
}

/// The products changed since `cursor` (every product from the empty cursor).
pub async fn changes(tryton: &Tryton, cursor: &Cursor) -> Result<ProductChanges, ErpError> {
    let marks: ProductCursor = if cursor.0.is_empty() {
        ProductCursor::default()
    } else {
        serde_json::from_str(&cursor.0)
            .map_err(|e| ErpError::Invalid(format!("not a Tryton product cursor: {e}")))?
    };
    let (products, product) = written(tryton, "product.product", &marks.product, &[], true).await?;
    let mut ids: Vec<i64> = products.iter().map(|(id, _)| *id).collect();
    let (identifiers, identifier) = written(
        tryton,
        "product.identifier",
        &marks.identifier,
        &["product"],
        true,
    )
    .await?;
    for (_, row) in &identifiers {
        ids.push(to_id(field(row, "product"))?);
    }
    let (templates, template) =
        written(tryton, "product.template", &marks.template, &[], true).await?;
    let templates: Vec<i64> = templates.iter().map(|(id, _)| *id).collect();

    let extra = context(json!({"active_test": false}));
    let mut rows = Vec::new();
    for (by, ids) in [("id", &ids), ("template", &templates)] {
        for chunk in id_chunks(ids, READ_BATCH) {
            let filter = [json!([by, "in", chunk])];
            rows.extend(
                search(
                    tryton,
                    &filter,
                    Selection::All,
                    json!(["suffix_code"]),
                    Some(&extra),
                )
                .await?,
            );
        }
    }
    let mut seen = std::collections::HashSet::new();
    let skus = rows
        .iter()
        .filter_map(|row| to_sku(field(row, "suffix_code")))
        .filter(|sku| seen.insert(sku.clone()))
        .collect();
    let next = ProductCursor {
        product: product.0,
        template: template.0,
        identifier: identifier.0,
    };
    Ok(ProductChanges {
        skus,
        // Three strings always serialize.
        cursor: Cursor(serde_json::to_string(&next).unwrap_or_default()),
    })
}

/// A cursor at the newest write of each of the three models: later polls report later
/// changes only.
pub async fn cursor_now(tryton: &Tryton) -> Result<Cursor, ErpError> {
    let mut marks = Vec::new();
    for model in ["product.product", "product.template", "product.identifier"] {
        let page = Page {
            offset: 0,
            limit: Some(1),
            order: json!([["write_date", "DESC NULLS LAST"], ["id", "DESC"]]),
        };
        let extra = context(json!({"active_test": false}));
        let newest = search_read(
            &tryton.session,
            model,
            json!([]),
            page,
            json!(["write_date", "create_date"]),
            Some(&extra),
        )
        .await?;
        let Some(row) = newest.first() else {
            marks.push(String::new());
            continue;
        };
        let start = Watermark {
            at: Some(to_datetime(stamp(row))?),
            ..Watermark::default()
        };
        // Reading the overlap window before the newest write fills the "seen" set, so
        // the first poll does not report it.
        let (_, next) = written(tryton, model, &start.encode().0, &[], false).await?;
        marks.push(next.0);
    }
    let [product, template, identifier] = <[String; 3]>::try_from(marks)
        .map_err(|_| ErpError::Invalid("three product cursors expected".to_owned()))?;
    let cursor = ProductCursor {
        product,
        template,
        identifier,
    };
    // Three strings always serialize.
    Ok(Cursor(serde_json::to_string(&cursor).unwrap_or_default()))
}

/// A row's `write_date`, or its `create_date` if it was never written.
fn stamp(row: &Map<String, Value>) -> &Value {
    match field(row, "write_date") {
        Value::Null => field(row, "create_date"),
        value => value,
    }
}

/// The rows of `model` written since the watermark `mark` and not reported yet (id and
/// `fields`; none kept unless `keep`), and the watermark after them. Read page by page,
/// only the new rows kept: a bulk import can write the whole catalogue at once.
async fn written(
    tryton: &Tryton,
    model: &str,
    mark: &str,
    fields: &[&str],
    keep: bool,
) -> Result<(Vec<(i64, Map<String, Value>)>, Cursor), ErpError> {
    let mark = Watermark::decode(&Cursor(mark.to_owned()))?;
    let sent = Utc::now();
    let mut domain = vec![];
    if let Some(since) = mark.since(tryton.overlap) {
        domain.push(json!(["write_date", ">=", datetime(since)]));
    }
    let mut wanted = vec!["write_date", "create_date"];
    wanted.extend_from_slice(fields);
    let (wanted, extra) = (json!(wanted), context(json!({"active_test": false})));
    let mut reading = mark.reading();
    let mut out = Vec::new();
    let session = &tryton.session;
    each_written(
        session,
        model,
        &json!(domain),
        &wanted,
        Some(&extra),
        CHANGES_PAGE,
        |row| {
            let id = to_id(field(&row, "id"))?;
            if reading.row(id, to_datetime(stamp(&row))?) && keep {
                out.push((id, row));
            }
            Ok(())
        },
    )
    .await?;
    let (changed, next) = reading.finish(tryton.overlap, ReadTimes::answered_now(sent));
    // A stamp whose records changed: all of them again (a repeat, never a miss).
    for at in changed.into_iter().filter(|_| keep) {
        let domain = json!([["write_date", "=", datetime(at)]]);
        each_written(
            session,
            model,
            &domain,
            &wanted,
            Some(&extra),
            CHANGES_PAGE,
            |row| {
                out.push((to_id(field(&row, "id"))?, row));
                Ok(())
            },
        )
        .await?;
    }
    Ok((out, next.encode()))
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
