//! The comparison of stock and catalogue: the ERP side read first (products, then stock
//! 2,000 SKUs at a time, turned into targets by the inventory flow's own functions), then
//! Shopify's bulk result streamed item by item against it.
//!
//! Memory: the ERP side is held as an index of SKUs and one `i64` target per SKU x mapped
//! location (about 40 bytes a pair: 20 MB for 100,000 SKUs x 5 locations); Shopify's file
//! is never held, only one item at a time; mismatches are kept compact until the end.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use futures::StreamExt;
use plumb_common::Sku;
use plumb_common::protocol::ParityDimension;
use rust_decimal::Decimal;

use crate::config::{Field, InventoryConfig, LocationMapping, Owner};
use crate::erp::{Erp, Selection, StockLevel};
use crate::flows::inventory::formula;
use crate::flows::inventory::poller::targets;
use crate::shopify::documents::BULK_INVENTORY_LEVELS;
use crate::shopify::{BulkLayout, CatalogItem, ShopifyClient};
use crate::store::Failure;

use super::super::FlowContext;
use super::findings::{CatalogKind, Finding, Findings, InventoryKind};

/// SKUs whose stock one ERP read covers.
const STOCK_CHUNK: usize = 2_000;

/// What the ERP side says, indexed for the stream of Shopify items.
struct ErpSide {
    /// SKU -> index in `products`.
    index: HashMap<String, u32>,
    products: Vec<ErpProduct>,
    /// (SKU index, Shopify location) -> the target Shopify should show.
    targets: HashMap<(u32, u64), i64>,
    /// The mapped locations whose ERP warehouse exists, with that warehouse.
    locations: Vec<LocationMapping>,
}

struct ErpProduct {
    sku: String,
    /// `None` for a configured bundle (not an ERP product).
    price: Option<Decimal>,
    /// How many Shopify items carry the SKU (saturating).
    seen: u8,
    /// The first Shopify item carrying it.
    first_item: u64,
}

/// Reads both sides and compares them; the findings of `dimensions` (inventory and
/// catalogue) are returned with the number of things each compared.
pub async fn stock_and_catalog(
    context: &FlowContext,
    erp: &dyn Erp,
    shopify: &ShopifyClient,
    catalog: bool,
    bulk_finished: &std::sync::Arc<tokio::sync::Notify>,
    findings: &mut Findings,
) -> Result<(), Failure> {
    let erp_side = read_erp(context, erp, catalog, findings).await?;
    if catalog {
        shopify_locations(context, shopify, findings).await?;
    }
    let query = &BULK_INVENTORY_LEVELS;
    let layout = BulkLayout::Grouped;
    let url = bulk_result(
        context,
        shopify,
        query.name,
        query.document,
        layout,
        bulk_finished,
    )
    .await?;
    let mut compare = Comparison {
        erp: erp_side,
        catalog,
        compare_price: context.config.ownership.owner(Field::Price) == Owner::Erp,
        shopify_only: BTreeMap::new(),
        findings,
    };
    if let Some(url) = url {
        let records = shopify.bulk_records(&url, BulkLayout::Grouped);
        futures::pin_mut!(records);
        while let Some(record) = records.next().await {
            let item =
                CatalogItem::from_record(record.map_err(Failure::from)?).map_err(Failure::from)?;
            compare.item(&item);
        }
    }
    compare.finish();
    Ok(())
}

/// Shopify's locations against `[[locations]]`: active ones no mapping names, and mapped
/// ones Shopify does not have (or has deactivated).
async fn shopify_locations(
    context: &FlowContext,
    shopify: &ShopifyClient,
    findings: &mut Findings,
) -> Result<(), Failure> {
    let locations = shopify.locations().await.map_err(Failure::from)?;
    let mappings = &context.config.locations;
    for location in locations.iter().filter(|l| l.is_active) {
        if mappings.iter().all(|m| m.shopify_location != location.id) {
            findings.catalog(Finding {
                kind: CatalogKind::UnmappedLocation.into(),
                subject: location.name.clone(),
                location: Some(location.id),
                erp: None,
                shopify: Some(location.id.to_string()),
                detail: format!(
                    "Shopify location {} ({}) is not in [[locations]]: no ERP stock reaches it; map a warehouse to it, or deactivate it",
                    location.id, location.name
                ),
            });
        }
    }
    for mapping in mappings {
        let found = locations.iter().find(|l| l.id == mapping.shopify_location);
        if found.is_none_or(|l| !l.is_active) {
            findings.catalog(Finding {
                kind: CatalogKind::UnmappedLocation.into(),
                subject: mapping.shopify_location.to_string(),
                location: Some(mapping.shopify_location),
                erp: Some(mapping.erp_warehouse.clone()),
                shopify: None,
                detail: format!(
                    "[[locations]] maps ERP warehouse {} to Shopify location {}, which Shopify does not have or has deactivated: fix shopify_location or reactivate it",
                    mapping.erp_warehouse, mapping.shopify_location
                ),
            });
        }
    }
    findings.checked(ParityDimension::Catalog, locations.len() as u64);
    Ok(())
}

/// The ERP's products, its warehouses against `[[locations]]`, and the target of every
/// SKU x mapped location.
async fn read_erp(
    context: &FlowContext,
    erp: &dyn Erp,
    catalog: bool,
    findings: &mut Findings,
) -> Result<ErpSide, Failure> {
    let config = &context.config;
    let warehouses = erp.warehouses().await.map_err(Failure::from)?;
    let known: BTreeSet<&str> = warehouses.iter().map(|w| w.code.as_str()).collect();
    let locations: Vec<LocationMapping> = config
        .locations
        .iter()
        .filter(|l| known.contains(l.erp_warehouse.as_str()))
        .cloned()
        .collect();
    if catalog {
        for mapping in config
            .locations
            .iter()
            .filter(|l| !known.contains(l.erp_warehouse.as_str()))
        {
            findings.catalog(Finding {
                kind: CatalogKind::UnmappedLocation.into(),
                subject: mapping.erp_warehouse.clone(),
                location: Some(mapping.shopify_location),
                erp: None,
                shopify: Some(mapping.shopify_location.to_string()),
                detail: format!(
                    "[[locations]] maps ERP warehouse {} to Shopify location {}, but the ERP has no such warehouse: fix erp_warehouse",
                    mapping.erp_warehouse, mapping.shopify_location
                ),
            });
        }
        let mapped: BTreeSet<&str> = config
            .locations
            .iter()
            .map(|l| l.erp_warehouse.as_str())
            .collect();
        for warehouse in warehouses
            .iter()
            .filter(|w| !mapped.contains(w.code.as_str()))
        {
            findings.catalog(Finding {
                kind: CatalogKind::UnmappedLocation.into(),
                subject: warehouse.code.clone(),
                location: None,
                erp: Some(warehouse.code.clone()),
                shopify: None,
                detail: format!(
                    "ERP warehouse {} ({}) is not in [[locations]]: its stock reaches no Shopify location; map it, or ignore this if it sells nowhere",
                    warehouse.code, warehouse.name
                ),
            });
        }
    }
    findings.checked(
        ParityDimension::Catalog,
        warehouses.len() as u64 + config.locations.len() as u64,
    );
    let products = erp.products(Selection::All).await.map_err(Failure::from)?;
    let mut side = ErpSide {
        index: HashMap::with_capacity(products.len()),
        products: Vec::with_capacity(products.len()),
        targets: HashMap::with_capacity(products.len() * locations.len()),
        locations,
    };
    let mut duplicates: BTreeMap<String, u32> = BTreeMap::new();
    for product in products {
        if side.index.contains_key(product.sku.as_str()) {
            *duplicates
                .entry(product.sku.as_str().to_owned())
                .or_insert(1) += 1;
            continue;
        }
        side.add(product.sku.as_str(), Some(product.price));
    }
    if catalog {
        for (sku, count) in duplicates {
            findings.catalog(Finding {
                kind: CatalogKind::DuplicateSkuErp.into(),
                subject: sku.clone(),
                location: None,
                erp: Some(format!("{count} products")),
                shopify: None,
                detail: format!(
                    "{count} ERP products carry SKU {sku}: its stock and price are ambiguous; make the SKU unique in the ERP"
                ),
            });
        }
    }
    let inventory = context.inventory();
    for bundle in &inventory.bundles {
        if !side.index.contains_key(&bundle.sku) {
            side.add(&bundle.sku, None);
        }
    }
    let warehouses: Vec<String> = side
        .locations
        .iter()
        .map(|l| l.erp_warehouse.clone())
        .collect();
    if warehouses.is_empty() {
        return Ok(side);
    }
    let skus: Vec<Sku> = side
        .products
        .iter()
        .filter(|p| p.price.is_some())
        .filter_map(|p| Sku::new(&p.sku).ok())
        .collect();
    for chunk in skus.chunks(STOCK_CHUNK) {
        let levels = erp
            .stock(Selection::Skus(chunk), &warehouses)
            .await
            .map_err(Failure::from)?;
        side.add_targets(&inventory, &levels, &[]);
    }
    if !inventory.bundles.is_empty() {
        // Each component once, however many bundles share it.
        let components: BTreeSet<&str> = inventory
            .bundles
            .iter()
            .flat_map(|b| b.components.iter().map(|c| c.sku.as_str()))
            .collect();
        let components: Vec<Sku> = components
            .into_iter()
            .filter_map(|sku| Sku::new(sku).ok())
            .collect();
        // The components' figures make the bundles, as the poller computes them.
        let levels = erp
            .stock(Selection::Skus(&components), &warehouses)
            .await
            .map_err(Failure::from)?;
        side.add_targets(&inventory, &levels, &levels);
    }
    let withheld = context
        .store
        .inventory_withheld()
        .await
        .map_err(Failure::from)?;
    for ((sku, location), units) in withheld {
        if let Some(&index) = side.index.get(&sku)
            && let Some(target) = side.targets.get_mut(&(index, location))
        {
            *target = formula::target(*target, 0, units);
        }
    }
    Ok(side)
}

impl ErpSide {
    fn add(&mut self, sku: &str, price: Option<Decimal>) {
        let index = u32::try_from(self.products.len()).unwrap_or(u32::MAX);
        self.index.insert(sku.to_owned(), index);
        self.products.push(ErpProduct {
            sku: sku.to_owned(),
            price,
            seen: 0,
            first_item: 0,
        });
    }

    /// Stores the base target (sellable less buffers) of every pair `levels` make, by the
    /// inventory flow's own [`targets`].
    fn add_targets(
        &mut self,
        inventory: &InventoryConfig,
        levels: &[StockLevel],
        bundles: &[StockLevel],
    ) {
        let updates = targets(inventory, &self.locations, levels, bundles);
        for update in updates {
            if let Some(&index) = self.index.get(&update.sku) {
                self.targets.insert((index, update.location), update.base);
            }
        }
    }
}

/// Runs `document` (named `name`) as a bulk operation with `layout`, waits for it (reading
/// its state every `reconcile.bulk_poll_interval`, or sooner when the
/// `bulk_operations/finish` webhook notifies `bulk_finished`) and returns its result's
/// address (`None`: no result, nothing matched).
pub(super) async fn bulk_result(
    context: &FlowContext,
    shopify: &ShopifyClient,
    name: &str,
    document: &str,
    layout: BulkLayout,
    bulk_finished: &std::sync::Arc<tokio::sync::Notify>,
) -> Result<Option<String>, Failure> {
    let operation = shopify
        .run_bulk_document(name, document, layout)
        .await
        .map_err(Failure::from)?;
    let finished = shopify
        .wait_bulk_operation(
            operation,
            context.config.reconcile.bulk_poll_interval,
            Some(bulk_finished.clone()),
        )
        .await
        .map_err(Failure::from)?;
    Ok(finished
        .result_url()
        .map_err(Failure::from)?
        .map(str::to_owned))
}

/// An amount as people write it: at least two decimals ("12.00", not "12.0" or "12").
pub(super) fn money(amount: Decimal) -> String {
    let mut amount = amount;
    if amount.scale() < 2 {
        amount.rescale(2);
    }
    amount.to_string()
}

/// The stream of Shopify items against the ERP side.
struct Comparison<'a> {
    erp: ErpSide,
    catalog: bool,
    compare_price: bool,
    /// SKUs only Shopify has -> the items carrying them.
    shopify_only: BTreeMap<String, Vec<u64>>,
    findings: &'a mut Findings,
}

impl Comparison<'_> {
    fn item(&mut self, item: &CatalogItem) {
        let Some(sku) = item.sku.as_deref() else {
            return;
        };
        let Some(&index) = self.erp.index.get(sku) else {
            if self.catalog {
                self.shopify_only
                    .entry(sku.to_owned())
                    .or_default()
                    .push(item.inventory_item_id);
            }
            return;
        };
        let product = &mut self.erp.products[index as usize];
        product.seen = product.seen.saturating_add(1);
        if product.seen == 1 {
            product.first_item = item.inventory_item_id;
        } else {
            if self.catalog && product.seen == 2 {
                self.findings.catalog(Finding {
                    kind: CatalogKind::DuplicateSkuShopify.into(),
                    subject: sku.to_owned(),
                    location: None,
                    erp: None,
                    shopify: Some(format!(
                        "inventory items {} and {}",
                        product.first_item, item.inventory_item_id
                    )),
                    detail: format!(
                        "several Shopify variants carry SKU {sku}: the inventory flow cannot tell which to stock; make the SKU unique in Shopify"
                    ),
                });
            }
            // Its levels were compared on the first item; the flow pushes to no duplicate.
            return;
        }
        let erp_price = product.price;
        if self.catalog
            && self.compare_price
            && let (Some(erp), Some(shop)) = (erp_price, item.price)
            && erp != shop
        {
            self.findings.catalog(Finding {
                kind: CatalogKind::FieldDiffers.into(),
                subject: sku.to_owned(),
                location: None,
                erp: Some(money(erp)),
                shopify: Some(money(shop)),
                detail: format!(
                    "price of {sku}: the ERP (its owner) says {}, Shopify shows {}",
                    money(erp),
                    money(shop)
                ),
            });
        }
        if !item.tracked {
            if self.catalog {
                self.findings.catalog(Finding {
                    kind: CatalogKind::UntrackedItem.into(),
                    subject: sku.to_owned(),
                    location: None,
                    erp: None,
                    shopify: Some(format!("inventory item {}", item.inventory_item_id)),
                    detail: format!(
                        "SKU {sku} is not tracked in Shopify, so its stock is not synced: turn on \"Track quantity\""
                    ),
                });
            }
            return;
        }
        for mapping in &self.erp.locations {
            let location = mapping.shopify_location;
            let target = self
                .erp
                .targets
                .get(&(index, location))
                .copied()
                .unwrap_or(0);
            match item.levels.iter().find(|(l, _)| *l == location) {
                Some((_, Some(available))) => {
                    self.findings.checked(ParityDimension::Inventory, 1);
                    if *available != target {
                        self.findings.inventory(
                            index,
                            location,
                            if *available > target {
                                InventoryKind::ShopifyAbove
                            } else {
                                InventoryKind::ShopifyBelow
                            },
                            target,
                            *available,
                        );
                    }
                }
                _ => {
                    if self.catalog {
                        self.findings.catalog(Finding {
                            kind: CatalogKind::NotStockedAtLocation.into(),
                            subject: sku.to_owned(),
                            location: Some(location),
                            erp: Some(target.to_string()),
                            shopify: None,
                            detail: format!(
                                "SKU {sku} is not stocked at Shopify location {location} (ERP warehouse {}): activate it there",
                                mapping.erp_warehouse
                            ),
                        });
                    }
                }
            }
        }
    }

    fn finish(self) {
        let Comparison {
            erp,
            catalog,
            shopify_only,
            findings,
            ..
        } = self;
        if catalog {
            let mut union = erp.products.len() as u64;
            for (sku, items) in shopify_only {
                union += 1;
                let kind = CatalogKind::ShopifyOnly;
                let items: Vec<String> = items.iter().map(u64::to_string).collect();
                findings.catalog(Finding {
                    kind: kind.into(),
                    subject: sku.clone(),
                    location: None,
                    erp: None,
                    shopify: Some(format!("inventory items {}", items.join(", "))),
                    detail: format!(
                        "SKU {sku} is in Shopify but not in the ERP: create it in the ERP, or fix the SKU on either side"
                    ),
                });
            }
            for product in erp.products.iter().filter(|p| p.seen == 0) {
                if product.price.is_none() {
                    // A configured bundle Shopify does not sell: nothing to sync.
                    union = union.saturating_sub(1);
                    continue;
                }
                findings.catalog(Finding {
                    kind: CatalogKind::ErpOnly.into(),
                    subject: product.sku.clone(),
                    location: None,
                    erp: product.price.map(money),
                    shopify: None,
                    detail: format!(
                        "SKU {} is in the ERP but no Shopify variant carries it: create it in Shopify, or fix the SKU on either side",
                        product.sku
                    ),
                });
            }
            findings.checked(ParityDimension::Catalog, union);
        }
        findings.skus = erp.products.into_iter().map(|p| p.sku).collect();
    }
}
