//! Ids of the records documents refer to (warehouses and their locations, products by SKU,
//! currencies, taxes), cached: they change rarely, and resolving them per order would double
//! the calls. A miss reloads from the server before it becomes an error, so a warehouse or
//! product added in the ERP is found without a restart.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value, json};
use tokio::sync::Mutex;

use plumb_common::{Decimal, Sku};

use super::session::Session;
use super::values::{field, to_decimal, to_id, to_ids, to_rows, to_sku, to_text};
use super::{READ_BATCH, id_chunks};
use crate::erp::ErpError;

/// A Tryton warehouse and its zones.
#[derive(Debug, Clone)]
pub struct WarehouseInfo {
    /// `stock.location` id.
    pub id: i64,
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// The input zone (received, not put away).
    pub input: i64,
    /// The storage zone (what is on hand).
    pub storage: i64,
    /// Every location inside the warehouse, itself included.
    pub locations: Vec<i64>,
}

/// A product a document can use.
#[derive(Debug, Clone, Copy)]
pub struct ProductInfo {
    /// `product.product` id.
    pub id: i64,
    /// Its default unit.
    pub unit: i64,
}

/// The caches.
#[derive(Debug, Default)]
pub struct Catalog {
    warehouses: Mutex<Option<Arc<Vec<WarehouseInfo>>>>,
    products: Mutex<HashMap<Sku, ProductInfo>>,
    currencies: Mutex<HashMap<String, i64>>,
    taxes: Mutex<HashMap<String, (i64, Decimal)>>,
}

/// A context with extra keys.
pub fn context(pairs: Value) -> Map<String, Value> {
    match pairs {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

impl Catalog {
    /// Every warehouse; `refresh` reloads first.
    pub async fn warehouses(
        &self,
        session: &Session,
        refresh: bool,
    ) -> Result<Arc<Vec<WarehouseInfo>>, ErpError> {
        let mut cached = self.warehouses.lock().await;
        if let Some(all) = cached.as_ref().filter(|_| !refresh) {
            return Ok(all.clone());
        }
        let page = Page::ordered(json!([["code", "ASC"]]));
        let rows = search_read(
            session,
            "stock.location",
            json!([["type", "=", "warehouse"]]),
            page,
            json!(["code", "name", "input_location", "storage_location"]),
            None,
        )
        .await?;
        let mut all = Vec::with_capacity(rows.len());
        for row in rows {
            let id = to_id(field(&row, "id"))?;
            // A warehouse without a code cannot be mapped: it is reported by its name.
            let name = to_text(field(&row, "name")).unwrap_or_default();
            let code = to_text(field(&row, "code")).unwrap_or_else(|| name.clone());
            let locations = to_ids(
                &session
                    .model(
                        "stock.location",
                        "search",
                        vec![json!([["parent", "child_of", [id]]])],
                        None,
                    )
                    .await?,
            )?;
            all.push(WarehouseInfo {
                id,
                code,
                name,
                input: to_id(field(&row, "input_location")).unwrap_or(id),
                storage: to_id(field(&row, "storage_location")).unwrap_or(id),
                locations,
            });
        }
        let all = Arc::new(all);
        *cached = Some(all.clone());
        Ok(all)
    }

    /// The named warehouses, in order; an unknown code is an error after one reload.
    pub async fn resolve_warehouses(
        &self,
        session: &Session,
        codes: &[String],
    ) -> Result<Vec<WarehouseInfo>, ErpError> {
        let mut all = self.warehouses(session, false).await?;
        if codes.iter().any(|c| !all.iter().any(|w| &w.code == c)) {
            all = self.warehouses(session, true).await?;
        }
        codes
            .iter()
            .map(|code| {
                all.iter()
                    .find(|w| &w.code == code)
                    .cloned()
                    .ok_or_else(|| ErpError::UnknownWarehouse(code.clone()))
            })
            .collect()
    }

    /// Products by SKU; unknown and duplicated SKUs are errors.
    pub async fn products(
        &self,
        session: &Session,
        skus: &[&Sku],
    ) -> Result<HashMap<Sku, ProductInfo>, ErpError> {
        let mut cache = self.products.lock().await;
        let missing: Vec<&str> = skus
            .iter()
            .filter(|s| !cache.contains_key(**s))
            .map(|s| s.as_str())
            .collect();
        for chunk in missing.chunks(READ_BATCH) {
            let rows = search_read(
                session,
                "product.product",
                json!([["suffix_code", "in", chunk]]),
                Page::all(),
                json!(["suffix_code", "default_uom"]),
                None,
            )
            .await?;
            let mut found: HashMap<Sku, ProductInfo> = HashMap::new();
            for row in rows {
                let Some(sku) = to_sku(field(&row, "suffix_code")) else {
                    continue;
                };
                let info = ProductInfo {
                    id: to_id(field(&row, "id"))?,
                    unit: to_id(field(&row, "default_uom"))?,
                };
                if found.insert(sku.clone(), info).is_some() {
                    return Err(ErpError::DuplicateSku(sku.to_string()));
                }
            }
            cache.extend(found);
        }
        skus.iter()
            .map(|sku| {
                cache
                    .get(*sku)
                    .map(|info| ((*sku).clone(), *info))
                    .ok_or_else(|| ErpError::UnknownSku(sku.to_string()))
            })
            .collect()
    }

    /// A currency's id by ISO code.
    pub async fn currency(&self, session: &Session, code: &str) -> Result<i64, ErpError> {
        let mut cache = self.currencies.lock().await;
        if let Some(id) = cache.get(code) {
            return Ok(*id);
        }
        let ids = to_ids(
            &session
                .model(
                    "currency.currency",
                    "search",
                    vec![json!([["code", "=", code]]), json!(0), json!(1)],
                    None,
                )
                .await?,
        )?;
        let id = ids.first().copied().ok_or_else(|| {
            ErpError::Missing(format!(
                "currency {code} does not exist in Tryton: add it (Currency > Currencies)"
            ))
        })?;
        cache.insert(code.to_owned(), id);
        Ok(id)
    }

    /// A tax's id by its name, checked against the rate Shopify charged.
    pub async fn tax(&self, session: &Session, name: &str, rate: Decimal) -> Result<i64, ErpError> {
        let mut cache = self.taxes.lock().await;
        if !cache.contains_key(name) {
            let rows = search_read(
                session,
                "account.tax",
                json!([["name", "=", name], ["parent", "=", null]]),
                Page::first(),
                json!(["rate"]),
                None,
            )
            .await?;
            let row = rows.first().ok_or_else(|| {
                ErpError::Missing(format!(
                    "no tax named {name:?} in Tryton: create it (Financial > Taxes) with the \
                     rate Shopify charges"
                ))
            })?;
            let rate = match field(row, "rate") {
                Value::Null => Decimal::ZERO,
                value => to_decimal(value)?,
            };
            cache.insert(name.to_owned(), (to_id(field(row, "id"))?, rate));
        }
        let (id, known) = cache
            .get(name)
            .copied()
            .ok_or_else(|| ErpError::Missing(format!("tax {name:?}")))?;
        if known.normalize() != rate.normalize() {
            return Err(ErpError::Rejected(format!(
                "tax {name:?} is {known} in Tryton but Shopify charged {rate}: align the rates"
            )));
        }
        Ok(id)
    }
}

/// Reads `fields` of `ids` in batches.
pub async fn read_many(
    session: &Session,
    model: &str,
    ids: &[i64],
    fields: Value,
    extra: Option<&Map<String, Value>>,
) -> Result<Vec<Map<String, Value>>, ErpError> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in id_chunks(ids, READ_BATCH) {
        out.extend(to_rows(
            session
                .model(model, "read", vec![chunk, fields.clone()], extra)
                .await?,
        )?);
    }
    Ok(out)
}

/// Reads `fields` of the `model` records that `row`'s `link` field (a list of ids) names.
pub async fn read_linked(
    session: &Session,
    row: &Map<String, Value>,
    link: &str,
    model: &str,
    fields: Value,
) -> Result<Vec<Map<String, Value>>, ErpError> {
    read_many(session, model, &to_ids(field(row, link))?, fields, None).await
}

/// Creates one `model` record from `values`; its id.
pub async fn create_one(session: &Session, model: &str, values: Value) -> Result<i64, ErpError> {
    let ids = to_ids(
        &session
            .model(model, "create", vec![json!([values])], None)
            .await?,
    )?;
    ids.first()
        .copied()
        .ok_or_else(|| ErpError::BadResponse(format!("{model}.create returned no id")))
}

/// Which rows of a `search_read`, in which order: its positional arguments after the domain.
#[derive(Debug, Clone)]
pub struct Page {
    /// Rows to skip.
    pub offset: usize,
    /// At most this many rows; `None`: all.
    pub limit: Option<usize>,
    /// Tryton's order clause (`[["id", "ASC"]]`), or null for the model's default.
    pub order: Value,
}

impl Page {
    /// Every matching row, in the model's default order.
    pub fn all() -> Page {
        Page {
            offset: 0,
            limit: None,
            order: Value::Null,
        }
    }

    /// The first matching row, in the model's default order.
    pub fn first() -> Page {
        Page {
            limit: Some(1),
            ..Page::all()
        }
    }

    /// Every matching row, in `order` (Tryton's order clause).
    pub fn ordered(order: Value) -> Page {
        Page {
            order,
            ..Page::all()
        }
    }

    /// Every matching row, in id order.
    pub fn by_id() -> Page {
        Page::ordered(json!([["id", "ASC"]]))
    }
}

/// Hands the rows of `model` matching `domain` to `each`, `size` at a time, in write order
/// (`write_date`, then id): a change poll's read, which a bulk import can make hundreds of
/// thousands of rows long, never held whole. A row rewritten while paging moves to the end
/// and is read there; a row skipped meanwhile changes its stamp's digest, and the caller's
/// cursor reads that stamp again (see [`super::cursor`]).
pub async fn each_written(
    session: &Session,
    model: &str,
    domain: &Value,
    fields: &Value,
    extra: Option<&Map<String, Value>>,
    size: usize,
    mut each: impl FnMut(Map<String, Value>) -> Result<(), ErpError>,
) -> Result<(), ErpError> {
    let mut offset = 0;
    loop {
        let page = Page {
            offset,
            limit: Some(size),
            order: json!([["write_date", "ASC"], ["id", "ASC"]]),
        };
        let rows = search_read(session, model, domain.clone(), page, fields.clone(), extra).await?;
        let count = rows.len();
        for row in rows {
            each(row)?;
        }
        offset += count;
        if count < size {
            return Ok(());
        }
    }
}

/// `search_read` of `fields` on the rows of `model` matching `domain`.
pub async fn search_read(
    session: &Session,
    model: &str,
    domain: Value,
    page: Page,
    fields: Value,
    extra: Option<&Map<String, Value>>,
) -> Result<Vec<Map<String, Value>>, ErpError> {
    let params = vec![
        domain,
        json!(page.offset),
        page.limit.map_or(Value::Null, |limit| json!(limit)),
        page.order,
        fields,
    ];
    to_rows(session.model(model, "search_read", params, extra).await?)
}
