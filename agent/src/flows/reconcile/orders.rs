//! The orders of the window: every order Shopify changed within `reconcile.orders_window`
//! (the backfill's cheap walk: ids, times, the cancelled flag, 250 a call) against the
//! sales the ERP booked for them (looked up by their reference, 500 a call).

use std::collections::HashMap;

use plumb_common::protocol::ParityDimension;

use crate::erp::{BookedSale, Erp, OrderState};
use crate::shopify::{OrderRef, ShopifyClient};
use crate::store::Failure;

use super::super::FlowContext;
use super::findings::{Findings, OrderFinding, OrderKind, OrderSync};

/// Compares the window's orders; their findings go to `findings`.
pub async fn compare(
    context: &FlowContext,
    erp: &dyn Erp,
    shopify: &ShopifyClient,
    findings: &mut Findings,
) -> Result<(), Failure> {
    let Some(now) = context.clock.now().to_utc() else {
        return Ok(());
    };
    let window = chrono::Duration::from_std(context.config.reconcile.orders_window)
        .unwrap_or(chrono::Duration::zero());
    let mut orders: Vec<OrderRef> = Vec::new();
    let mut after = None;
    loop {
        let page = shopify
            .orders_updated_since(now - window, after)
            .await
            .map_err(Failure::from)?;
        orders.extend(page.orders);
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    // An order changed during the walk can come twice: keep its latest change.
    orders.sort_by_key(|o| (o.id, std::cmp::Reverse(o.updated_at)));
    orders.dedup_by_key(|o| o.id);
    findings.checked(ParityDimension::Orders, orders.len() as u64);
    let ids: Vec<u64> = orders.iter().map(|o| o.id).collect();
    let mut sales: HashMap<u64, Vec<BookedSale>> = HashMap::new();
    for sale in erp.sales_orders_for(&ids).await.map_err(Failure::from)? {
        sales.entry(sale.shopify_order_id).or_default().push(sale);
    }
    for order in &orders {
        let Some(mut finding) = judge(order, sales.get(&order.id).map_or(&[], Vec::as_slice))
        else {
            continue;
        };
        // Tryton cannot cancel a sale it is processing: the orders flow cancelled its
        // shipments and invoices and recorded the order cancelled. Syncing again changes
        // nothing; a person closes the sale.
        if finding.kind == OrderKind::StateMismatch && finding.repairable {
            let ledger = context
                .store
                .booked_order(order.id)
                .await
                .map_err(Failure::from)?;
            if ledger.is_some_and(|l| l.cancelled) {
                finding.repairable = false;
                finding.detail.push_str(
                    ": the orders flow cancelled its pending shipments and invoices, and the ERP keeps the sale open; close it in the ERP",
                );
            }
        }
        findings.order(finding);
    }
    Ok(())
}

fn state(state: OrderState) -> &'static str {
    match state {
        OrderState::Draft => "draft",
        OrderState::Open => "open",
        OrderState::Done => "done",
        OrderState::Cancelled => "cancelled",
    }
}

/// What is wrong with one order, if anything.
fn judge(order: &OrderRef, sales: &[BookedSale]) -> Option<OrderFinding> {
    let sync = OrderSync {
        order: order.id,
        updated_at: order.updated_at,
        cancelled: order.cancelled_at.is_some(),
    };
    let erp = |sales: &[BookedSale]| {
        let each: Vec<String> = sales
            .iter()
            .map(|s| {
                format!(
                    "{} {}",
                    s.number.as_deref().unwrap_or(&s.erp_id),
                    state(s.state)
                )
            })
            .collect();
        each.join(", ")
    };
    let finding = |kind, repairable, detail| OrderFinding {
        kind,
        order: order.id,
        erp: (!sales.is_empty()).then(|| erp(sales)),
        detail,
        shopify: sync,
        repairable,
    };
    match sales {
        [] => Some(finding(
            OrderKind::MissingInErp,
            true,
            format!(
                "Shopify order {} has no sale in the ERP: its webhooks and the backfill missed it",
                order.id
            ),
        )),
        [sale] => {
            let erp_cancelled = sale.state == OrderState::Cancelled;
            match (sync.cancelled, erp_cancelled) {
                (true, false) => Some(finding(
                    OrderKind::StateMismatch,
                    true,
                    format!(
                        "Shopify order {} is cancelled, its ERP sale is {}",
                        order.id,
                        state(sale.state)
                    ),
                )),
                (false, true) => Some(finding(
                    OrderKind::StateMismatch,
                    false,
                    format!(
                        "the ERP sale of Shopify order {} is cancelled, Shopify's order is not: cancel it in Shopify, or book it again in the ERP",
                        order.id
                    ),
                )),
                _ => None,
            }
        }
        several => Some(finding(
            OrderKind::DuplicatedInErp,
            false,
            format!(
                "{} ERP sales carry Shopify order {}: cancel all but one in the ERP",
                several.len(),
                order.id
            ),
        )),
    }
}
