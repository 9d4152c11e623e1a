//! The flows: what runs a job once the queue hands it out ([`handlers`]), and what puts
//! jobs on the queue besides webhooks ([`spawn_sources`]: ERP pollers, backfills,
//! schedules).
//!
//! Every flow gets the same [`FlowContext`]: the store, the clock, the configuration and
//! the two sides' clients, built once at start. Flows whose handler has not been built yet
//! are named by [`missing`]: their jobs are accepted and kept, visible in the queue, and
//! run once an upgrade brings the handler.

pub mod fulfilment;
pub mod inventory;
mod locks;
pub mod orders;
pub mod polling;
pub mod products;
pub mod reconcile;

use std::sync::Arc;

use tokio::task::JoinSet;

use plumb_common::FlowKind;

use crate::clock::Clock;
use crate::config::Config;
use crate::erp::Erp;
use crate::shopify::ShopifyClient;
use crate::shutdown::Shutdown;
use crate::store::Store;
use crate::worker::Handler;

pub use fulfilment::FulfilmentHandler;
pub use inventory::InventoryHandler;
pub use orders::OrdersHandler;
pub use products::ProductsHandler;
pub use reconcile::ReconcileHandler;

/// What every flow works with. Cheap to clone.
#[derive(Debug, Clone)]
pub struct FlowContext {
    /// The store.
    pub store: Store,
    /// The clock.
    pub clock: Clock,
    /// The configuration the agent runs with.
    pub config: Arc<Config>,
    /// The Shopify client; `None` when `[shopify]` is not configured.
    pub shopify: Option<ShopifyClient>,
    /// The ERP connector; `None` when `[erp]` is not configured.
    pub erp: Option<Arc<dyn Erp>>,
    /// The ERP's kits, as the inventory flow last read them ([`FlowContext::inventory`]).
    pub erp_kits: inventory::kits::ErpKits,
}

/// The handler of each flow this build can run.
pub fn handlers(context: &FlowContext) -> Vec<(FlowKind, Arc<dyn Handler>)> {
    let orders: Arc<dyn Handler> = Arc::new(OrdersHandler::new(context.clone()));
    vec![
        (
            FlowKind::Inventory,
            Arc::new(InventoryHandler::new(context.clone())),
        ),
        (FlowKind::Orders, orders.clone()),
        (FlowKind::Refunds, orders),
        (
            FlowKind::Fulfilment,
            Arc::new(FulfilmentHandler::new(context.clone())),
        ),
        (
            FlowKind::Products,
            Arc::new(ProductsHandler::new(context.clone())),
        ),
        (
            FlowKind::Reconcile,
            Arc::new(ReconcileHandler::new(context.clone())),
        ),
    ]
}

/// Starts the flows' sources (pollers and schedules) on `tasks`; each stops on `shutdown`.
pub fn spawn_sources(context: &FlowContext, tasks: &mut JoinSet<()>, shutdown: &Shutdown) {
    let inventory = context.config.flows.get(FlowKind::Inventory);
    match &context.erp {
        Some(erp) if inventory.enabled && !context.config.locations.is_empty() => {
            tasks.spawn(inventory::poller::run(
                context.clone(),
                erp.clone(),
                shutdown.clone(),
            ));
        }
        Some(_) if inventory.enabled => {
            tracing::warn!(
                flow = "inventory",
                "no [[locations]] mapped: ERP stock is not pushed to Shopify"
            );
        }
        _ => {}
    }
    let fulfilment = context.config.flows.get(FlowKind::Fulfilment);
    match (&context.erp, &context.shopify) {
        (Some(erp), Some(_)) if fulfilment.enabled && !context.config.locations.is_empty() => {
            tasks.spawn(fulfilment::poller::run(
                context.clone(),
                erp.clone(),
                shutdown.clone(),
            ));
        }
        // Not polled, so the cursor stays where it was: once warehouses are mapped, the
        // shipments made meanwhile are read then, not lost.
        (Some(_), Some(_)) if fulfilment.enabled => {
            tracing::warn!(
                flow = "fulfilment",
                "no [[locations]] mapped: ERP shipments are not fulfilled in Shopify"
            );
        }
        _ => {}
    }
    if let (Some(erp), Some(_)) = (&context.erp, &context.shopify)
        && context.config.flows.get(FlowKind::Products).enabled
    {
        let uncarried: Vec<&str> = crate::config::Field::ALL
            .iter()
            .filter(|f| !products::CARRIED.contains(f) && **f != crate::config::Field::Sku)
            .filter(|f| **f != crate::config::Field::Inventory)
            .filter(|f| context.config.ownership.owner(**f) == crate::config::Owner::Erp)
            .map(|f| f.as_str())
            .collect();
        if !uncarried.is_empty() {
            tracing::warn!(
                flow = "products",
                fields = %uncarried.join(", "),
                "[ownership] gives these fields to the ERP, but the products flow carries only \
                 title, price, compare_at_price, cost and barcode: they are written by neither side"
            );
        }
        tasks.spawn(products::poller::run(
            context.clone(),
            erp.clone(),
            shutdown.clone(),
        ));
    }
    if context.shopify.is_some()
        && context.erp.is_some()
        && context.config.reconcile.enabled
        && context.config.flows.get(FlowKind::Reconcile).enabled
    {
        tasks.spawn(reconcile::schedule::run(context.clone(), shutdown.clone()));
    }
    if let Some(shopify) = &context.shopify
        && context.config.flows.get(FlowKind::Orders).enabled
    {
        tasks.spawn(orders::backfill::run(
            context.clone(),
            shopify.clone(),
            shutdown.clone(),
        ));
    }
}

/// A job stored straight as a dead letter: something a flow cannot do as things are,
/// kept visible with `failure`; `key` dedups it for 7 days, so a poll or webhook repeating
/// the same problem does not pile up copies. Retrying it runs `work`.
pub fn dead_letter_job(
    flow: FlowKind,
    work: &crate::work::Work,
    key: String,
    failure: crate::store::Failure,
) -> crate::store::NewJob {
    crate::store::NewJob {
        flow,
        payload_kind: work.kind(),
        payload: work.encode(),
        options: crate::store::EnqueueOptions {
            dedup: Some((key, std::time::Duration::from_secs(7 * 24 * 3600))),
            dead_on_arrival: Some(failure),
            ..crate::store::EnqueueOptions::default()
        },
    }
}

/// The flows that have no handler among `handlers`.
pub fn missing(handlers: &[(FlowKind, Arc<dyn Handler>)]) -> Vec<FlowKind> {
    FlowKind::ALL
        .into_iter()
        .filter(|flow| handlers.iter().all(|(present, _)| present != flow))
        .collect()
}
