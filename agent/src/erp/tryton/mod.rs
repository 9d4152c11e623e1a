//! The Tryton connector: JSON-RPC against a Tryton 8.2 server with `sale`, `stock` and
//! `stock_package_shipping` activated.
//!
//! # How Plumb's words map to Tryton
//! - SKU = `product.product.suffix_code`; warehouse = `stock.location` of type `warehouse`,
//!   by `code`.
//! - A Shopify order = a `sale.sale` whose `reference` is `shopify:<order id>`; one sale
//!   line per Shopify line, its discount folded into a unit price from which Tryton
//!   recomputes Shopify's amount and taxes to the cent (see `pricing`: the company's tax
//!   rounding must be per line); shipping lines have no product (their revenue account is
//!   the company default); Shopify taxes map to `account.tax` records of the same name
//!   (never created here).
//! - A refund = a return sale (`reference` `shopify-refund:<refund id>`, `origin` the
//!   order's sale) with negative quantities: its credit note is posted and its return
//!   shipment received and done when the units are restocked. A refund restocking into
//!   two or more warehouses = one return sale per warehouse (`reference`
//!   `shopify-refund:<refund id>:<warehouse code>`), money-only lines and shipping with
//!   the first in code order.
//! - Stock changes = `stock.move` by `write_date`; shipments = `stock.shipment.out` done or
//!   shipped, by `write_date` (see [`cursor`]).
//!
//! # Layout
//! `rpc` (HTTP, error classification), `session` (login, re-login, context), `values`
//! (typed JSON), `cursor`, `catalog` (warehouses, products, currencies, taxes, cached),
//! `pricing` (unit prices Tryton recomputes Shopify's figures from),
//! then one file per capability: `stock`, `sales`, `refunds`, `shipments`, `products`.

mod catalog;
pub mod cursor;
mod kits;
mod pricing;
mod products;
mod refunds;
pub mod rpc;
mod sales;
pub mod session;
mod shipments;
mod stock;
pub mod values;

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{
    BookedOrder, BookedSale, CancelOutcome, Cursor, Erp, ErpError, ErpHealth, Kits, ProductChanges,
    ProductRecord, Refund, RefundRef, SalesOrder, SalesOrderRef, Selection, ShipmentChanges,
    StockChanges, StockLevel, Warehouse,
};
use crate::config::ErpConfig;
use crate::worker::BoxFuture;

use catalog::Catalog;
use session::Session;

/// Records per create or write: Tryton's SQLite backend fails above about 85 ("parser
/// stack overflow", HTTP 503), and a batch that size is a fine unit on PostgreSQL too.
pub const WRITE_BATCH: usize = 50;

/// Records per read: large enough to keep calls few, small enough that one answer stays
/// well under the timeout on 10,000 products.
pub const READ_BATCH: usize = 1000;

/// How the connector reaches its server.
#[derive(Debug, Clone)]
pub struct TrytonSettings {
    /// Base URL (`http://127.0.0.1:8000`).
    pub url: String,
    /// Database name.
    pub database: String,
    /// User.
    pub user: String,
    /// Password.
    pub password: String,
    /// Per-call timeout.
    pub timeout: Duration,
    /// How far before its watermark a change poll re-reads (see [`cursor`]).
    pub overlap: Duration,
}

impl From<&ErpConfig> for TrytonSettings {
    fn from(config: &ErpConfig) -> Self {
        TrytonSettings {
            url: config.url.clone(),
            database: config.database.clone(),
            user: config.user.clone(),
            password: config.password.expose().to_owned(),
            timeout: config.timeout,
            overlap: DEFAULT_OVERLAP,
        }
    }
}

/// The default overlap: longer than any Tryton transaction that writes stock moves.
pub const DEFAULT_OVERLAP: Duration = Duration::from_secs(120);

/// A Tryton server, as an [`Erp`].
#[derive(Debug)]
pub struct Tryton {
    session: Session,
    catalog: Catalog,
    overlap: Duration,
}

impl Tryton {
    /// A connector; nothing is sent until the first call.
    pub fn new(settings: TrytonSettings) -> Result<Tryton, ErpError> {
        let transport = rpc::Transport::new(&settings.url, &settings.database, settings.timeout)?;
        Ok(Tryton {
            session: Session::new(transport, settings.user, settings.password),
            catalog: Catalog::default(),
            overlap: settings.overlap,
        })
    }

    /// The JSON-RPC session, for callers that need a call the contract does not have
    /// (tests, tools).
    pub fn session(&self) -> &Session {
        &self.session
    }

    async fn health_now(&self) -> Result<ErpHealth, ErpError> {
        let started = Instant::now();
        let version = self
            .session
            .server("common.server.version", json!([]))
            .await?;
        self.session.user_id().await?;
        Ok(ErpHealth {
            version: version.as_str().unwrap_or_default().to_owned(),
            latency_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        })
    }
}

/// `[[...], ...]` chunks of `ids` as JSON arrays.
pub(crate) fn id_chunks(ids: &[i64], size: usize) -> impl Iterator<Item = Value> + '_ {
    ids.chunks(size.max(1)).map(|chunk| json!(chunk))
}

impl Erp for Tryton {
    fn health(&self) -> BoxFuture<'_, Result<ErpHealth, ErpError>> {
        Box::pin(self.health_now())
    }

    fn warehouses(&self) -> BoxFuture<'_, Result<Vec<Warehouse>, ErpError>> {
        Box::pin(async move {
            let all = self.catalog.warehouses(&self.session, true).await?;
            Ok(all
                .iter()
                .map(|w| Warehouse {
                    code: w.code.clone(),
                    name: w.name.clone(),
                })
                .collect())
        })
    }

    fn stock<'a>(
        &'a self,
        skus: Selection<'a>,
        warehouses: &'a [String],
    ) -> BoxFuture<'a, Result<Vec<StockLevel>, ErpError>> {
        Box::pin(stock::levels(self, skus, warehouses))
    }

    fn stock_cursor(&self) -> BoxFuture<'_, Result<Cursor, ErpError>> {
        Box::pin(stock::cursor_now(self))
    }

    fn stock_changes<'a>(
        &'a self,
        cursor: &'a Cursor,
        warehouses: &'a [String],
    ) -> BoxFuture<'a, Result<StockChanges, ErpError>> {
        Box::pin(stock::changes(self, cursor, warehouses))
    }

    fn create_sales_order<'a>(
        &'a self,
        order: &'a SalesOrder,
    ) -> BoxFuture<'a, Result<SalesOrderRef, ErpError>> {
        Box::pin(sales::create(self, order))
    }

    fn sales_order(
        &self,
        shopify_order_id: u64,
    ) -> BoxFuture<'_, Result<Option<BookedOrder>, ErpError>> {
        Box::pin(sales::read(self, sales::order_key(shopify_order_id)))
    }

    fn sales_orders_for<'a>(
        &'a self,
        shopify_order_ids: &'a [u64],
    ) -> BoxFuture<'a, Result<Vec<BookedSale>, ErpError>> {
        Box::pin(sales::for_orders(self, shopify_order_ids))
    }

    fn cancel_sales_order(
        &self,
        shopify_order_id: u64,
    ) -> BoxFuture<'_, Result<CancelOutcome, ErpError>> {
        Box::pin(sales::cancel(self, shopify_order_id))
    }

    fn record_refund<'a>(
        &'a self,
        refund: &'a Refund,
    ) -> BoxFuture<'a, Result<RefundRef, ErpError>> {
        Box::pin(refunds::record(self, refund))
    }

    fn shipments_since<'a>(
        &'a self,
        cursor: &'a Cursor,
    ) -> BoxFuture<'a, Result<ShipmentChanges, ErpError>> {
        Box::pin(shipments::since(self, cursor))
    }

    fn products<'a>(
        &'a self,
        skus: Selection<'a>,
    ) -> BoxFuture<'a, Result<Vec<ProductRecord>, ErpError>> {
        Box::pin(products::read(self, skus))
    }

    fn kits(&self) -> BoxFuture<'_, Result<Kits, ErpError>> {
        Box::pin(kits::read(self))
    }

    fn product_cursor(&self) -> BoxFuture<'_, Result<Cursor, ErpError>> {
        Box::pin(products::cursor_now(self))
    }

    fn product_changes<'a>(
        &'a self,
        cursor: &'a Cursor,
    ) -> BoxFuture<'a, Result<ProductChanges, ErpError>> {
        Box::pin(products::changes(self, cursor))
    }
}
