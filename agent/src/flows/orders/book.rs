//! Booking, cancelling and refunding, one Shopify order at a time.

use std::sync::Arc;

use rust_decimal::prelude::ToPrimitive;
use serde::Deserialize;

use plumb_common::Sku;

use crate::erp::{Erp, SalesOrder};
use crate::shopify::ShopifyClient;
use crate::store::{BookedOrderRecord, Failure};

use super::super::FlowContext;
use super::super::inventory::push_job;
use super::super::locks::OrderLocks;
use super::mapping::{self, OrderRules};
use super::payload::{OrderPayload, RefundPayload};

/// `orders/edited`: only what says whether lines changed.
#[derive(Debug, Deserialize)]
struct EditedBody {
    order_edit: OrderEdit,
}

#[derive(Debug, Deserialize)]
struct OrderEdit {
    order_id: u64,
    #[serde(default)]
    line_items: LineChanges,
}

#[derive(Debug, Default, Deserialize)]
struct LineChanges {
    #[serde(default)]
    additions: Vec<LineDelta>,
    #[serde(default)]
    removals: Vec<LineDelta>,
}

#[derive(Debug, Deserialize)]
struct LineDelta {
    id: u64,
    delta: i64,
}

/// Books orders and their refunds and cancellations.
#[derive(Debug, Clone)]
pub struct Booker {
    context: FlowContext,
    rules: Arc<OrderRules>,
    locks: Arc<OrderLocks>,
}

impl Booker {
    /// A booker working with `context`.
    pub fn new(context: FlowContext) -> Booker {
        let orders = &context.config.orders;
        let rules = OrderRules {
            locations: context.config.locations.clone(),
            default_warehouse: orders.default_warehouse.clone(),
            gift_card_sku: orders.gift_card_sku.clone(),
        };
        Booker {
            context,
            rules: Arc::new(rules),
            locks: Arc::default(),
        }
    }

    /// The context.
    pub fn context(&self) -> &FlowContext {
        &self.context
    }

    fn erp(&self) -> Result<&dyn Erp, Failure> {
        self.context.erp.as_deref().ok_or_else(|| {
            Failure::transient(
                "erp_not_configured",
                "no [erp] section in the configuration: orders wait until one is set",
            )
        })
    }

    fn shopify(&self) -> Result<&ShopifyClient, Failure> {
        self.context.shopify.as_ref().ok_or_else(|| {
            Failure::transient(
                "shopify_not_configured",
                "no [shopify] section in the configuration: the order cannot be read from \
                 Shopify until one is set",
            )
        })
    }

    /// Brings the ERP in line with an order payload: booked once, cancelled if Shopify
    /// cancelled it.
    pub async fn sync(&self, order: &OrderPayload) -> Result<(), Failure> {
        let _guard = self.locks.lock(order.id).await;
        self.sync_locked(order).await
    }

    /// The backfill's job: nothing to do when the ledger already agrees with what the walk
    /// saw; otherwise the order is read whole from Shopify and synced.
    pub async fn sync_from_shopify(&self, order: u64, cancelled: bool) -> Result<(), Failure> {
        let _guard = self.locks.lock(order).await;
        if let Some(record) = self.context.store.booked_order(order).await?
            && (record.cancelled || !cancelled)
        {
            return Ok(());
        }
        let Some(payload) = self.read_order(order).await? else {
            tracing::info!(
                flow = "orders",
                order,
                "order gone from Shopify; nothing to sync"
            );
            return Ok(());
        };
        self.sync_locked(&payload).await
    }

    async fn read_order(&self, order: u64) -> Result<Option<OrderPayload>, Failure> {
        let read = self.shopify()?.order(order).await?;
        Ok(read.as_ref().map(OrderPayload::from_graphql))
    }

    async fn sync_locked(&self, order: &OrderPayload) -> Result<(), Failure> {
        let record = self.ensure_booked(order).await?;
        if order.cancelled_at.is_some() && !record.cancelled {
            let outcome = self.erp()?.cancel_sales_order(order.id).await?;
            tracing::info!(flow = "orders", order = order.id, name = %order.name, ?outcome, "order cancelled in the ERP");
            let cancelled = BookedOrderRecord {
                cancelled: true,
                ..record
            };
            self.record_booked(order.id, cancelled).await?;
        }
        Ok(())
    }

    /// The order's ledger record, booking it first if the ledger does not have it.
    async fn ensure_booked(&self, order: &OrderPayload) -> Result<BookedOrderRecord, Failure> {
        if let Some(record) = self.context.store.booked_order(order.id).await? {
            return Ok(record);
        }
        let sales = mapping::sales_order(order, &self.rules)?;
        let erp = self.erp()?;
        if order.cancelled_at.is_none() {
            self.hold_lines(&sales).await?;
        }
        let reference = erp.create_sales_order(&sales).await?;
        let record = BookedOrderRecord {
            erp_id: reference.erp_id.clone(),
            number: reference.number.clone(),
            booked_at: self.context.clock.now(),
            cancelled: false,
        };
        self.record_booked(order.id, record.clone()).await?;
        tracing::info!(
            flow = "orders",
            order = order.id,
            name = %order.name,
            erp_id = %reference.erp_id,
            number = reference.number.as_deref().unwrap_or(""),
            created = reference.created,
            "order booked in the ERP"
        );
        if reference.created {
            // A new order, also when the backfill found it: the "no orders" alert's signal.
            self.context.store.note_order_received(record.booked_at);
            self.check_totals(&sales, &record).await?;
        }
        Ok(record)
    }

    /// Until the ERP has it, an order's units lower the inventory targets at its location.
    async fn hold_lines(&self, sales: &SalesOrder) -> Result<(), Failure> {
        let Some(location) = self
            .context
            .config
            .locations
            .iter()
            .find(|m| m.erp_warehouse == sales.warehouse)
            .map(|m| m.shopify_location)
        else {
            return Ok(());
        };
        let gift_card: Option<&Sku> = self.rules.gift_card_sku.as_ref();
        let lines: Vec<(String, u64, i64)> = sales
            .lines
            .iter()
            .filter(|line| Some(&line.sku) != gift_card)
            .filter_map(|line| {
                let units = line.quantity.trunc().to_i64()?;
                Some((line.sku.as_str().to_owned(), location, units))
            })
            .collect();
        if lines.is_empty() {
            return Ok(());
        }
        let order = sales.shopify_order_id;
        let now = self.context.clock.now();
        self.context
            .store
            .write(move |ctx| {
                if ctx.record_unimported_order(order, &lines)? > 0 {
                    ctx.enqueue(push_job(), now)?;
                }
                Ok(())
            })
            .await?;
        Ok(())
    }

    /// Records the order in the ledger; its held lines stop lowering the targets once the
    /// next ERP stock poll counts the sale.
    async fn record_booked(&self, order: u64, record: BookedOrderRecord) -> Result<(), Failure> {
        self.context
            .store
            .write(move |ctx| ctx.order_booked(order, &record))
            .await?;
        Ok(())
    }

    /// The booked document must add up to what Shopify charged: a difference (a tax the ERP
    /// computes otherwise, a rounding rule) is a dead letter naming both figures. The order
    /// stays booked; retrying the dead letter, once the ERP is put right, completes it.
    async fn check_totals(
        &self,
        sales: &SalesOrder,
        record: &BookedOrderRecord,
    ) -> Result<(), Failure> {
        let booked = self
            .erp()?
            .sales_order(sales.shopify_order_id)
            .await?
            .ok_or_else(|| {
                Failure::transient(
                    "erp_order_not_readable",
                    format!(
                        "order {} was booked as {} but the ERP does not find it yet",
                        sales.name, record.erp_id
                    ),
                )
            })?;
        if booked.total != sales.total {
            return Err(Failure::permanent(
                "erp_total_mismatch",
                format!(
                    "total mismatch {} on order {} (id {}): the ERP booked {} ({} {}), Shopify \
                     charged {} {}: correct the ERP document, then retry this dead letter",
                    (booked.total - sales.total).abs(),
                    sales.name,
                    sales.shopify_order_id,
                    record.number.as_deref().unwrap_or(&record.erp_id),
                    booked.total,
                    sales.currency,
                    sales.total,
                    sales.currency,
                ),
            ));
        }
        Ok(())
    }

    /// `orders/edited`: an edit that changes lines cannot be applied to a booked order
    /// (the ERP has confirmed it and may have shipped or invoiced it): a dead letter says
    /// what changed. An order not booked yet is read whole and booked as it is now.
    pub async fn edited(&self, body: &str) -> Result<(), Failure> {
        let edit: EditedBody = serde_json::from_str(body).map_err(|e| {
            Failure::permanent(
                "malformed_payload",
                format!("orders/edited body is not an order edit: {e}"),
            )
        })?;
        let edit = edit.order_edit;
        let changes = &edit.line_items;
        if changes.additions.is_empty() && changes.removals.is_empty() {
            return Ok(());
        }
        let _guard = self.locks.lock(edit.order_id).await;
        if let Some(record) = self.context.store.booked_order(edit.order_id).await? {
            let describe = |deltas: &[LineDelta]| {
                deltas
                    .iter()
                    .map(|d| format!("line {} x{}", d.id, d.delta))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            return Err(Failure::permanent(
                "order_edited_after_booking",
                format!(
                    "order {} was edited in Shopify after the ERP booked it as {} (added: {}; \
                     removed: {}): Plumb does not rewrite a confirmed ERP order; change it in \
                     the ERP, then discard this dead letter",
                    edit.order_id,
                    record.number.as_deref().unwrap_or(&record.erp_id),
                    if changes.additions.is_empty() {
                        "none".to_owned()
                    } else {
                        describe(&changes.additions)
                    },
                    if changes.removals.is_empty() {
                        "none".to_owned()
                    } else {
                        describe(&changes.removals)
                    },
                ),
            ));
        }
        match self.read_order(edit.order_id).await? {
            Some(order) => self.sync_locked(&order).await,
            None => Ok(()),
        }
    }

    /// `refunds/create`: a credit (and a return of restocked units) in the ERP, once. The
    /// order is booked first if the ERP does not have it yet (its create may still come,
    /// or be lost).
    pub async fn refund(&self, refund: &RefundPayload) -> Result<(), Failure> {
        let _guard = self.locks.lock(refund.order_id).await;
        let order = match self.context.store.booked_order(refund.order_id).await? {
            Some(_) => None,
            None => {
                let order = self.read_order(refund.order_id).await?.ok_or_else(|| {
                    Failure::permanent(
                        "refund_of_unknown_order",
                        format!(
                            "refund {} is for order {}, which Shopify no longer has and the \
                             ERP never booked",
                            refund.id, refund.order_id
                        ),
                    )
                })?;
                self.sync_locked(&order).await?;
                Some(order)
            }
        };
        self.book_refund(refund, order.as_ref()).await
    }

    /// Reconciliation's repair of refunds the ERP lacks: every refund Shopify has for the
    /// order, read through GraphQL and booked (each once: one booked already is found, not
    /// booked again); the order first if the ERP does not have it.
    pub async fn sync_refunds(&self, order_id: u64) -> Result<(), Failure> {
        let _guard = self.locks.lock(order_id).await;
        let Some(order) = self.read_order(order_id).await? else {
            tracing::info!(
                flow = "refunds",
                order = order_id,
                "order gone from Shopify; no refund to sync"
            );
            return Ok(());
        };
        if self.context.store.booked_order(order_id).await?.is_none() {
            self.sync_locked(&order).await?;
        }
        let refunds = self.shopify()?.refunds(order_id).await?.unwrap_or_default();
        for refund in &refunds {
            let refund = RefundPayload::from_graphql(refund, &order);
            self.book_refund(&refund, Some(&order)).await?;
        }
        Ok(())
    }

    async fn book_refund(
        &self,
        refund: &RefundPayload,
        order: Option<&OrderPayload>,
    ) -> Result<(), Failure> {
        let credit = mapping::refund(refund, order, &self.rules)?;
        let booked = self.erp()?.record_refund(&credit).await?;
        tracing::info!(
            flow = "refunds",
            order = refund.order_id,
            refund = refund.id,
            credited = %booked.credited,
            documents = booked.documents.len(),
            created = booked.created,
            "refund booked in the ERP"
        );
        Ok(())
    }
}
