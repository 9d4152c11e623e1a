//! The ERP side: the contract every flow uses ([`Erp`]) and its connectors.
//!
//! # Layout
//! - [`model`]: the data the flows and connectors exchange (orders, refunds, stock,
//!   shipments, products), free of any one ERP's shapes.
//! - [`error`]: [`ErpError`], classified transient / permanent at this boundary, with
//!   stable causes, convertible to the store's `Failure`.
//! - [`check`]: the start-up check of the configuration against the ERP (SKUs unique,
//!   warehouses mapped both ways).
//! - [`tryton`]: the Tryton connector (JSON-RPC).
//!
//! # Invariants the contract promises
//! - `create_sales_order` and `record_refund` are idempotent on the Shopify id stored in the
//!   ERP document: they look it up before creating, so a retry after a lost response, or a
//!   second agent with no memory of the first, books exactly one document (for a refund
//!   that restocks into several warehouses, exactly one per warehouse: a return goes into
//!   one warehouse).
//! - Cursors come from the ERP's own clock, never the agent's: clocks drift.
//! - A change poll may report a pair twice (overlap windows), never miss one.

pub mod check;
pub mod error;
pub mod model;
pub mod tryton;

use std::sync::Arc;

pub use check::{CheckProblem, CheckReport, check};
pub use error::ErpError;
pub use model::*;

use crate::config::{ErpConfig, ErpKind};
use crate::worker::BoxFuture;

/// What the flows need from an ERP. Object-safe: the flows hold an `Arc<dyn Erp>`.
pub trait Erp: Send + Sync + std::fmt::Debug + 'static {
    /// The server answers and Plumb may log in.
    fn health(&self) -> BoxFuture<'_, Result<ErpHealth, ErpError>>;

    /// The warehouses the ERP has.
    fn warehouses(&self) -> BoxFuture<'_, Result<Vec<Warehouse>, ErpError>>;

    /// Stock per SKU in each of `warehouses` (codes). SKUs the ERP does not have are absent
    /// from the answer; an unknown warehouse is an error.
    fn stock<'a>(
        &'a self,
        skus: Selection<'a>,
        warehouses: &'a [String],
    ) -> BoxFuture<'a, Result<Vec<StockLevel>, ErpError>>;

    /// A cursor at the ERP's "now": polling from it reports only later changes.
    fn stock_cursor(&self) -> BoxFuture<'_, Result<Cursor, ErpError>>;

    /// The SKU x warehouse pairs (of `warehouses`) whose stock changed since `cursor`, with
    /// their current levels, and the cursor to poll from next.
    fn stock_changes<'a>(
        &'a self,
        cursor: &'a Cursor,
        warehouses: &'a [String],
    ) -> BoxFuture<'a, Result<StockChanges, ErpError>>;

    /// Books a Shopify order, once: an order already booked under the same Shopify id is
    /// returned (and finished, if a crash left it half-done) instead of booked again.
    fn create_sales_order<'a>(
        &'a self,
        order: &'a SalesOrder,
    ) -> BoxFuture<'a, Result<SalesOrderRef, ErpError>>;

    /// The order booked for a Shopify order id, if any.
    fn sales_order(
        &self,
        shopify_order_id: u64,
    ) -> BoxFuture<'_, Result<Option<BookedOrder>, ErpError>>;

    /// Every sale booked for one of `shopify_order_ids` (reconciliation): several for one
    /// id are a duplicate, none means the order is missing. Cancelled sales included.
    fn sales_orders_for<'a>(
        &'a self,
        shopify_order_ids: &'a [u64],
    ) -> BoxFuture<'a, Result<Vec<BookedSale>, ErpError>>;

    /// Cancels the order booked for a Shopify order id. Unknown order: `ErpError::Missing`.
    fn cancel_sales_order(
        &self,
        shopify_order_id: u64,
    ) -> BoxFuture<'_, Result<CancelOutcome, ErpError>>;

    /// Books a refund, once (keyed on the Shopify refund id): a credit note, and a return
    /// of the restocked units to their warehouse; with units restocked into several
    /// warehouses, a credit note and a return per warehouse, each booked once (a retry
    /// books only those a previous attempt did not get to).
    fn record_refund<'a>(
        &'a self,
        refund: &'a Refund,
    ) -> BoxFuture<'a, Result<RefundRef, ErpError>>;

    /// Shipments that left, or whose carrier or tracking changed, since `cursor`.
    fn shipments_since<'a>(
        &'a self,
        cursor: &'a Cursor,
    ) -> BoxFuture<'a, Result<ShipmentChanges, ErpError>>;

    /// Product master data.
    fn products<'a>(
        &'a self,
        skus: Selection<'a>,
    ) -> BoxFuture<'a, Result<Vec<ProductRecord>, ErpError>>;

    /// The kits the ERP defines (none when it has no such notion).
    fn kits(&self) -> BoxFuture<'_, Result<Kits, ErpError>>;

    /// A cursor at the ERP's "now" for [`Erp::product_changes`]: polling from it reports
    /// only later changes.
    fn product_cursor(&self) -> BoxFuture<'_, Result<Cursor, ErpError>>;

    /// The products whose master data (title, prices, cost, barcode) changed since
    /// `cursor`; the empty cursor reports every product.
    fn product_changes<'a>(
        &'a self,
        cursor: &'a Cursor,
    ) -> BoxFuture<'a, Result<ProductChanges, ErpError>>;
}

/// The connector a configuration asks for. Connects lazily: the first call logs in, so an
/// unreachable ERP does not stop the agent from starting.
pub fn connect(config: &ErpConfig) -> Result<Arc<dyn Erp>, ErpError> {
    match config.kind {
        ErpKind::Tryton => Ok(Arc::new(tryton::Tryton::new(
            tryton::TrytonSettings::from(config),
        )?)),
    }
}
