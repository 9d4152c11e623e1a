//! SKU <-> variant <-> inventory item: Shopify lookups by SKU, and the store's cache of them.
//!
//! # Invariants
//! - A SKU maps to Shopify's ids only when exactly one variant carries exactly that SKU:
//!   Shopify's search matches loosely and allows duplicate SKUs, so results are filtered
//!   to exact matches and duplicates are reported, never guessed between.
//! - The cache answers first; SKUs it does not know are looked up, and what Shopify says
//!   (found or gone) is written back in one store write.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;
use serde_json::json;

use crate::clock::Clock;
use crate::store::{SkuMapping, Store};

use super::client::ShopifyClient;
use super::documents::{Operation, VARIANTS_BY_SKU};
use super::error::ShopifyError;
use super::ids::de_gid;
use super::pagination::{Connection, PAGE_SIZE};

/// SKUs per search: keeps the query string short and one search's results in few pages.
pub const SKUS_PER_SEARCH: usize = 50;

/// A variant found by SKU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariantMatch {
    /// The SKU.
    pub sku: String,
    /// The variant.
    pub variant_id: u64,
    /// Its inventory item.
    pub inventory_item_id: u64,
    /// Whether its inventory is tracked.
    pub tracked: bool,
}

/// What a resolution of SKUs found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SkuResolution {
    /// SKU -> its ids.
    pub found: HashMap<String, SkuMapping>,
    /// SKUs no variant carries.
    pub missing: Vec<String>,
    /// SKUs carried by more than one variant, with their variant ids.
    pub ambiguous: Vec<(String, Vec<u64>)>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct VariantsData<T> {
    product_variants: Connection<T>,
}

/// A variant node of a search by SKU.
pub(super) trait WithSku {
    /// Its SKU, if it has one.
    fn sku(&self) -> Option<&str>;
}

impl WithSku for VariantNode {
    fn sku(&self) -> Option<&str> {
        self.sku.as_deref()
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct VariantNode {
    #[serde(deserialize_with = "de_gid")]
    id: u64,
    sku: Option<String>,
    inventory_item: ItemNode,
}

#[derive(Debug, Deserialize)]
struct ItemNode {
    #[serde(deserialize_with = "de_gid")]
    id: u64,
    tracked: bool,
}

/// A search for exactly these SKUs: `sku:"A" OR sku:"B"`, quotes and backslashes escaped.
pub fn sku_query(skus: &[String]) -> String {
    skus.iter()
        .map(|sku| {
            let escaped = sku.replace('\\', "\\\\").replace('"', "\\\"");
            format!("sku:\"{escaped}\"")
        })
        .collect::<Vec<_>>()
        .join(" OR ")
}

impl ShopifyClient {
    /// The nodes of `operation`'s search for variants whose SKU is exactly one of `skus`,
    /// 50 SKUs a search (Shopify's search matches loosely: other SKUs are left out).
    /// `variables` go with every page (the document's page size, if it has a variable).
    pub(super) async fn search_by_sku<T: WithSku + serde::de::DeserializeOwned>(
        &self,
        operation: &Operation,
        skus: &[String],
        variables: serde_json::Value,
    ) -> Result<Vec<T>, ShopifyError> {
        let mut matches = Vec::new();
        for chunk in skus.chunks(SKUS_PER_SEARCH) {
            let mut page = variables.clone();
            page["query"] = sku_query(chunk).into();
            loop {
                let data: VariantsData<T> = self.execute(operation, page.clone()).await?;
                matches.extend(
                    data.product_variants
                        .nodes
                        .into_iter()
                        .filter(|node| node.sku().is_some_and(|s| chunk.iter().any(|c| c == s))),
                );
                match data.product_variants.page_info.next() {
                    Some(cursor) => page["after"] = cursor.into(),
                    None => break,
                }
            }
        }
        Ok(matches)
    }

    /// Every variant whose SKU is exactly one of `skus`, searching 50 SKUs at a time.
    pub async fn variants_by_sku(
        &self,
        skus: &[String],
    ) -> Result<Vec<VariantMatch>, ShopifyError> {
        let nodes: Vec<VariantNode> = self
            .search_by_sku(&VARIANTS_BY_SKU, skus, json!({"first": PAGE_SIZE}))
            .await?;
        Ok(nodes
            .into_iter()
            .filter_map(|node| {
                Some(VariantMatch {
                    sku: node.sku?,
                    variant_id: node.id,
                    inventory_item_id: node.inventory_item.id,
                    tracked: node.inventory_item.tracked,
                })
            })
            .collect())
    }

    /// Shopify's ids for `skus`: from the store's cache, looking up only what it lacks (or
    /// everything, with `refresh`, after an id turned out to be stale), and caching what
    /// was found. Store failures are transient errors of the lookup.
    pub async fn resolve_skus(
        &self,
        store: &Store,
        clock: &Clock,
        skus: &[String],
        refresh: bool,
    ) -> Result<SkuResolution, StoreOrShopify> {
        let mut resolution = SkuResolution::default();
        if !refresh {
            for mapping in store.sku_mappings(skus.to_vec()).await? {
                resolution.found.insert(mapping.sku.clone(), mapping);
            }
        }
        let unknown: Vec<String> = dedup(skus)
            .into_iter()
            .filter(|sku| !resolution.found.contains_key(sku))
            .collect();
        if unknown.is_empty() {
            return Ok(resolution);
        }
        let now = clock.now();
        let mut by_sku: BTreeMap<String, Vec<VariantMatch>> = BTreeMap::new();
        for found in self.variants_by_sku(&unknown).await? {
            by_sku.entry(found.sku.clone()).or_default().push(found);
        }
        let mut fresh = Vec::new();
        let mut gone = Vec::new();
        for sku in unknown {
            match by_sku.remove(&sku) {
                None => {
                    gone.push(sku.clone());
                    resolution.missing.push(sku);
                }
                Some(variants) if variants.len() > 1 => {
                    gone.push(sku.clone());
                    let ids = variants.iter().map(|v| v.variant_id).collect();
                    resolution.ambiguous.push((sku, ids));
                }
                Some(mut variants) => {
                    if let Some(v) = variants.pop() {
                        fresh.push(SkuMapping {
                            sku: v.sku,
                            variant_id: v.variant_id,
                            inventory_item_id: v.inventory_item_id,
                            tracked: v.tracked,
                            refreshed_at: now,
                        });
                    }
                }
            }
        }
        let to_store = fresh.clone();
        store
            .write(move |ctx| {
                ctx.forget_skus(&gone)?;
                ctx.record_sku_mappings(&to_store)
            })
            .await?;
        for mapping in fresh {
            resolution.found.insert(mapping.sku.clone(), mapping);
        }
        Ok(resolution)
    }
}

/// What [`ShopifyClient::cache_skus_from_bulk`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SkuCacheFill {
    /// SKUs cached.
    pub cached: usize,
    /// SKUs carried by several variants: left out (and forgotten if cached).
    pub duplicates: usize,
    /// Variants without a SKU.
    pub without_sku: usize,
}

/// Mappings per store write when filling the cache from a bulk result.
const FILL_BATCH: usize = 1_000;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BulkVariantLine {
    #[serde(deserialize_with = "de_gid")]
    id: u64,
    sku: Option<String>,
    inventory_item: ItemNode,
}

impl ShopifyClient {
    /// Fills the SKU cache from the result of a [`super::documents::BULK_VARIANTS`] bulk
    /// operation (any layout: its lines have no children): one pass over the catalogue
    /// instead of a search per 50 SKUs. Holds only SKU -> ids while reading, never the file.
    pub async fn cache_skus_from_bulk(
        &self,
        store: &Store,
        clock: &Clock,
        url: &str,
    ) -> Result<SkuCacheFill, StoreOrShopify> {
        use futures::StreamExt;

        let mut by_sku: HashMap<String, Option<VariantMatch>> = HashMap::new();
        let mut fill = SkuCacheFill::default();
        let records = self.bulk_records(url, super::jsonl::BulkLayout::Flat);
        futures::pin_mut!(records);
        while let Some(record) = records.next().await {
            let line: BulkVariantLine = serde_json::from_value(record?.object)
                .map_err(|e| ShopifyError::Shape(format!("BulkVariants line: {e}")))?;
            let Some(sku) = line.sku.filter(|s| !s.trim().is_empty()) else {
                fill.without_sku += 1;
                continue;
            };
            let found = VariantMatch {
                sku: sku.clone(),
                variant_id: line.id,
                inventory_item_id: line.inventory_item.id,
                tracked: line.inventory_item.tracked,
            };
            by_sku
                .entry(sku)
                .and_modify(|seen| *seen = None)
                .or_insert(Some(found));
        }
        let now = clock.now();
        let mut mappings = Vec::new();
        let mut duplicates = Vec::new();
        for (sku, found) in by_sku {
            match found {
                Some(v) => mappings.push(SkuMapping {
                    sku: v.sku,
                    variant_id: v.variant_id,
                    inventory_item_id: v.inventory_item_id,
                    tracked: v.tracked,
                    refreshed_at: now,
                }),
                None => duplicates.push(sku),
            }
        }
        fill.cached = mappings.len();
        fill.duplicates = duplicates.len();
        store.write(move |ctx| ctx.forget_skus(&duplicates)).await?;
        while !mappings.is_empty() {
            let batch: Vec<SkuMapping> = mappings.drain(..mappings.len().min(FILL_BATCH)).collect();
            store
                .write(move |ctx| ctx.record_sku_mappings(&batch))
                .await?;
        }
        tracing::info!(
            cached = fill.cached,
            duplicates = fill.duplicates,
            without_sku = fill.without_sku,
            "SKU cache filled from a bulk operation"
        );
        Ok(fill)
    }
}

fn dedup(skus: &[String]) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    skus.iter()
        .filter(|s| seen.insert(s.as_str()))
        .cloned()
        .collect()
}

/// A failure of a lookup that reads and writes the store.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreOrShopify {
    /// Shopify failed.
    #[error(transparent)]
    Shopify(#[from] ShopifyError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

impl From<StoreOrShopify> for crate::store::Failure {
    fn from(error: StoreOrShopify) -> Self {
        match error {
            StoreOrShopify::Shopify(error) => error.into(),
            StoreOrShopify::Store(error) => {
                crate::store::Failure::transient("store", error.to_string())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sku_queries_quote_and_escape() {
        let skus = vec!["A-1".to_owned(), "B 2".to_owned(), r#"C"3\"#.to_owned()];
        assert_eq!(
            sku_query(&skus),
            r#"sku:"A-1" OR sku:"B 2" OR sku:"C\"3\\""#
        );
    }
}
