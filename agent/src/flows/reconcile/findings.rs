//! What a run found, before it becomes stored mismatches and figures: compact while the
//! comparison runs (an inventory mismatch is a SKU index, a location and two numbers),
//! turned into [`Mismatch`]es with their repair text once the run is over.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use plumb_common::protocol::{DimensionParity, KindCount, Mismatch, ParityDimension};

/// The kinds of inventory mismatch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InventoryKind {
    /// Shopify shows more than the target: units that may not exist are on sale.
    ShopifyAbove,
    /// Shopify shows less than the target: sales lost.
    ShopifyBelow,
}

impl InventoryKind {
    /// The kind's stable name.
    pub const fn as_str(self) -> &'static str {
        match self {
            InventoryKind::ShopifyAbove => "shopify_above",
            InventoryKind::ShopifyBelow => "shopify_below",
        }
    }
}

/// The kinds of catalogue drift. An ERP-owned field that differs is repaired by the
/// products flow's sync of the SKU; every other kind names what a person does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatalogKind {
    /// A SKU in the ERP that no Shopify variant carries.
    ErpOnly,
    /// A SKU in Shopify that the ERP does not have.
    ShopifyOnly,
    /// Several Shopify variants carry the SKU.
    DuplicateSkuShopify,
    /// Several ERP products carry the SKU.
    DuplicateSkuErp,
    /// The Shopify item does not track its quantity.
    UntrackedItem,
    /// The Shopify item is not stocked at a mapped location.
    NotStockedAtLocation,
    /// An ERP warehouse not in `[[locations]]`, or a mapping to a warehouse the ERP lacks.
    UnmappedLocation,
    /// An ERP-owned product field (price) differs.
    FieldDiffers,
}

impl CatalogKind {
    /// The kind's stable name.
    pub const fn as_str(self) -> &'static str {
        match self {
            CatalogKind::ErpOnly => "erp_only",
            CatalogKind::ShopifyOnly => "shopify_only",
            CatalogKind::DuplicateSkuShopify => "duplicate_sku_shopify",
            CatalogKind::DuplicateSkuErp => "duplicate_sku_erp",
            CatalogKind::UntrackedItem => "untracked_item",
            CatalogKind::NotStockedAtLocation => "not_stocked_at_location",
            CatalogKind::UnmappedLocation => "unmapped_location",
            CatalogKind::FieldDiffers => "field_differs",
        }
    }
}

impl From<CatalogKind> for &'static str {
    fn from(kind: CatalogKind) -> Self {
        kind.as_str()
    }
}

/// A mismatch other than inventory's, whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The kind's name.
    pub kind: &'static str,
    /// What disagrees.
    pub subject: String,
    /// The Shopify location, if any.
    pub location: Option<u64>,
    /// The ERP's side.
    pub erp: Option<String>,
    /// Shopify's side.
    pub shopify: Option<String>,
    /// In words.
    pub detail: String,
}

/// The kinds of order mismatch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderKind {
    /// Shopify has the order, the ERP has no sale for it.
    MissingInErp,
    /// The ERP has several sales for one Shopify order.
    DuplicatedInErp,
    /// Cancelled on one side only.
    StateMismatch,
    /// Shopify's refunds and the ERP's credits for the order differ.
    RefundDiffers,
    /// Shopify shows goods fulfilled, the ERP has shipped nothing.
    FulfilledInShopifyOnly,
    /// The ERP shipped goods, Shopify shows nothing fulfilled.
    ShippedInErpOnly,
}

impl OrderKind {
    /// The kind's stable name.
    pub const fn as_str(self) -> &'static str {
        match self {
            OrderKind::MissingInErp => "missing_in_erp",
            OrderKind::DuplicatedInErp => "duplicated_in_erp",
            OrderKind::StateMismatch => "state_mismatch",
            OrderKind::RefundDiffers => "refund_differs",
            OrderKind::FulfilledInShopifyOnly => "fulfilled_in_shopify_only",
            OrderKind::ShippedInErpOnly => "shipped_in_erp_only",
        }
    }
}

/// The kinds of money mismatch: one figure of one day and currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum MoneyKind {
    /// The orders' totals.
    OrderTotal,
    /// Their taxes.
    TaxTotal,
    /// What their refunds gave back.
    RefundTotal,
}

impl MoneyKind {
    /// Every kind, in the order they are compared.
    pub const ALL: [MoneyKind; 3] = [
        MoneyKind::OrderTotal,
        MoneyKind::TaxTotal,
        MoneyKind::RefundTotal,
    ];

    /// The kind's stable name.
    pub const fn as_str(self) -> &'static str {
        match self {
            MoneyKind::OrderTotal => "order_total_differs",
            MoneyKind::TaxTotal => "tax_total_differs",
            MoneyKind::RefundTotal => "refund_total_differs",
        }
    }

    /// The figure in words.
    pub const fn figure(self) -> &'static str {
        match self {
            MoneyKind::OrderTotal => "order totals",
            MoneyKind::TaxTotal => "tax totals",
            MoneyKind::RefundTotal => "refund totals",
        }
    }
}

/// The orders flow's sync of one order: what repairs an order mismatch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderSync {
    /// The Shopify order.
    pub order: u64,
    /// When Shopify last changed it.
    pub updated_at: DateTime<Utc>,
    /// Whether Shopify has cancelled it.
    pub cancelled: bool,
    /// Whether the repair books the order's refunds (a `refund_differs`) rather than the
    /// order itself.
    pub refunds: bool,
}

impl OrderSync {
    /// Shopify's side of the order as a mismatch shows it, and [`OrderSync::parse`] reads
    /// it back: "cancelled, updated 2026-12-06T05:00:00+00:00".
    pub fn shopify(&self) -> String {
        let state = if self.cancelled { "cancelled" } else { "open" };
        format!("{state}, updated {}", self.updated_at.to_rfc3339())
    }

    /// The sync of `order` from its mismatch's Shopify side.
    pub fn parse(order: u64, shopify: &str) -> Option<OrderSync> {
        let (state, updated) = shopify.split_once(", updated ")?;
        Some(OrderSync {
            order,
            updated_at: DateTime::parse_from_rfc3339(updated)
                .ok()?
                .with_timezone(&Utc),
            cancelled: state == "cancelled",
            refunds: false,
        })
    }
}

/// An order mismatch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderFinding {
    /// The kind.
    pub kind: OrderKind,
    /// The Shopify order.
    pub order: u64,
    /// The ERP's side (its sales' states and numbers).
    pub erp: Option<String>,
    /// In words.
    pub detail: String,
    /// Shopify's side, and the sync that repairs it when the orders flow can.
    pub shopify: OrderSync,
    /// Whether the orders flow's sync repairs it.
    pub repairable: bool,
}

/// An inventory mismatch, compact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StockFinding {
    /// Index into [`Findings::skus`].
    pub sku: u32,
    /// The Shopify location.
    pub location: u64,
    /// Above or below.
    pub kind: InventoryKind,
    /// What Shopify should show.
    pub target: i64,
    /// What it shows.
    pub available: i64,
}

/// Everything a run found, per dimension.
#[derive(Debug, Default)]
pub struct Findings {
    checked: BTreeMap<ParityDimension, u64>,
    stock: Vec<StockFinding>,
    catalog: Vec<Finding>,
    orders: Vec<OrderFinding>,
    money: Vec<Finding>,
    /// SKU index -> SKU, for [`StockFinding::sku`].
    pub skus: Vec<String>,
    /// Whether the products flow runs, and so repairs a field the ERP owns that differs
    /// (the reconciler compares only those).
    pub products_flow: bool,
}

impl Findings {
    /// Whether a flow's normal write repairs a catalogue mismatch.
    fn catalog_repairable(&self, finding: &Finding) -> bool {
        self.products_flow && finding.kind == CatalogKind::FieldDiffers.as_str()
    }

    /// Counts `count` more things compared in `dimension`.
    pub fn checked(&mut self, dimension: ParityDimension, count: u64) {
        *self.checked.entry(dimension).or_default() += count;
    }

    /// An inventory mismatch.
    pub fn inventory(
        &mut self,
        sku: u32,
        location: u64,
        kind: InventoryKind,
        target: i64,
        available: i64,
    ) {
        self.stock.push(StockFinding {
            sku,
            location,
            kind,
            target,
            available,
        });
    }

    /// A catalogue mismatch.
    pub fn catalog(&mut self, finding: Finding) {
        self.catalog.push(finding);
    }

    /// An order mismatch.
    pub fn order(&mut self, finding: OrderFinding) {
        self.orders.push(finding);
    }

    /// A money mismatch (one figure of one day and currency).
    pub fn money(&mut self, finding: Finding) {
        self.money.push(finding);
    }

    /// The id of the first mismatch of `dimension` among `dimensions`, as
    /// [`Self::mismatches`] numbers them: inventory, then catalogue, then orders.
    fn first_id(&self, dimension: ParityDimension, dimensions: &[ParityDimension]) -> u64 {
        let count = |d: ParityDimension| match d {
            ParityDimension::Inventory => self.stock.len(),
            ParityDimension::Catalog => self.catalog.len(),
            ParityDimension::Orders => self.orders.len(),
            ParityDimension::Money => self.money.len(),
        };
        let before: usize = dimensions
            .iter()
            .filter(|d| **d < dimension)
            .map(|d| count(*d))
            .sum();
        before as u64 + 1
    }

    /// The order mismatches the orders flow repairs, with their mismatch ids among
    /// `dimensions`.
    pub fn order_syncs(&self, dimensions: &[ParityDimension]) -> Vec<(u64, OrderSync)> {
        let first = self.first_id(ParityDimension::Orders, dimensions);
        self.orders
            .iter()
            .zip(first..)
            .filter(|(f, _)| f.repairable)
            .map(|(f, id)| (id, f.shopify))
            .collect()
    }

    /// The catalogue mismatches the products flow repairs (mismatch id, SKU), when
    /// `dimensions` has the catalogue.
    pub fn product_syncs(&self, dimensions: &[ParityDimension]) -> Vec<(u64, String)> {
        if !dimensions.contains(&ParityDimension::Catalog) {
            return Vec::new();
        }
        let first = self.first_id(ParityDimension::Catalog, dimensions);
        self.catalog
            .iter()
            .zip(first..)
            .filter(|(f, _)| self.catalog_repairable(f))
            .map(|(f, id)| (id, f.subject.clone()))
            .collect()
    }

    /// The inventory mismatches, with their SKUs.
    pub fn stock(&self) -> impl Iterator<Item = (&str, &StockFinding)> {
        self.stock
            .iter()
            .map(|f| (self.skus.get(f.sku as usize).map_or("", String::as_str), f))
    }

    /// The figures of each of `dimensions`.
    pub fn figures(&self, dimensions: &[ParityDimension]) -> Vec<DimensionParity> {
        dimensions
            .iter()
            .map(|&dimension| {
                let mut kinds: BTreeMap<&str, u64> = BTreeMap::new();
                let repairable = match dimension {
                    ParityDimension::Inventory => {
                        for f in &self.stock {
                            *kinds.entry(f.kind.as_str()).or_default() += 1;
                        }
                        self.stock.len() as u64
                    }
                    ParityDimension::Catalog => {
                        for f in &self.catalog {
                            *kinds.entry(f.kind).or_default() += 1;
                        }
                        let repairable = self.catalog.iter().filter(|f| self.catalog_repairable(f));
                        repairable.count() as u64
                    }
                    ParityDimension::Orders => {
                        for f in &self.orders {
                            *kinds.entry(f.kind.as_str()).or_default() += 1;
                        }
                        self.orders.iter().filter(|f| f.repairable).count() as u64
                    }
                    ParityDimension::Money => {
                        for f in &self.money {
                            *kinds.entry(f.kind).or_default() += 1;
                        }
                        0
                    }
                };
                let kinds = kinds
                    .into_iter()
                    .map(|(kind, count)| KindCount {
                        kind: kind.to_owned(),
                        count,
                    })
                    .collect();
                DimensionParity::new(
                    dimension,
                    self.checked.get(&dimension).copied().unwrap_or(0),
                    kinds,
                    repairable,
                )
            })
            .collect()
    }

    /// Puts the inventory mismatches in (SKU, location) order, the order they are listed.
    pub fn sort(&mut self) {
        let skus = &self.skus;
        let name = |f: &StockFinding| skus.get(f.sku as usize).map_or("", String::as_str);
        self.stock
            .sort_unstable_by(|a, b| (name(a), a.location).cmp(&(name(b), b.location)));
    }

    /// Every mismatch of `dimensions`, numbered from 1: inventory (after [`Self::sort`],
    /// by SKU and location), then catalogue, orders and money (in the order found). Made one at a time, so
    /// the caller stores them in batches without holding them all.
    pub fn mismatches<'a>(
        &'a self,
        dimensions: &'a [ParityDimension],
    ) -> impl Iterator<Item = Mismatch> + 'a {
        let stock = dimensions
            .contains(&ParityDimension::Inventory)
            .then(|| self.stock())
            .into_iter()
            .flatten()
            .map(|(sku, f)| Mismatch {
                id: 0,
                dimension: ParityDimension::Inventory,
                kind: f.kind.as_str().to_owned(),
                subject: sku.to_owned(),
                location: Some(f.location),
                erp: Some(f.target.to_string()),
                shopify: Some(f.available.to_string()),
                detail: format!(
                    "{sku} at location {}: Shopify shows {}, the ERP's figures make {}",
                    f.location, f.available, f.target
                ),
                repair: Some(format!(
                    "set available of {sku} at location {} from {} to {} (inventory push, compare-and-swap)",
                    f.location, f.available, f.target
                )),
                repaired: false,
            });
        let whole = |dimension: ParityDimension, f: &Finding, repair: Option<String>| Mismatch {
            id: 0,
            dimension,
            kind: f.kind.to_owned(),
            subject: f.subject.clone(),
            location: f.location,
            erp: f.erp.clone(),
            shopify: f.shopify.clone(),
            detail: f.detail.clone(),
            repair,
            repaired: false,
        };
        let catalog = dimensions
            .contains(&ParityDimension::Catalog)
            .then_some(&self.catalog)
            .into_iter()
            .flatten()
            .map(move |f| {
                let repair = self.catalog_repairable(f).then(|| {
                    format!(
                        "write the ERP's values of {} to Shopify (products flow sync)",
                        f.subject
                    )
                });
                whole(ParityDimension::Catalog, f, repair)
            });
        // Money follows the orders: a person fixes the documents the detail names.
        let money = dimensions
            .contains(&ParityDimension::Money)
            .then_some(&self.money)
            .into_iter()
            .flatten()
            .map(move |f| whole(ParityDimension::Money, f, None));
        let orders = dimensions
            .contains(&ParityDimension::Orders)
            .then_some(&self.orders)
            .into_iter()
            .flatten()
            .map(|f| Mismatch {
                id: 0,
                dimension: ParityDimension::Orders,
                kind: f.kind.as_str().to_owned(),
                subject: f.order.to_string(),
                location: None,
                erp: f.erp.clone(),
                shopify: Some(f.shopify.shopify()),
                detail: f.detail.clone(),
                repair: f.repairable.then(|| {
                    format!(
                        "sync order {} through the orders flow ({})",
                        f.order,
                        match f.kind {
                            OrderKind::MissingInErp => "book it in the ERP",
                            OrderKind::RefundDiffers => "book its refunds in the ERP, each once",
                            _ => "cancel it in the ERP",
                        }
                    )
                }),
                repaired: false,
            });
        stock
            .chain(catalog)
            .chain(orders)
            .chain(money)
            .zip(1u64..)
            .map(|(mut mismatch, id)| {
                mismatch.id = id;
                mismatch
            })
    }
}
