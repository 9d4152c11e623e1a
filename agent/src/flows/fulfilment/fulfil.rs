//! One ERP shipment to one Shopify fulfilment, once, one order at a time.

use std::sync::Arc;

use crate::config::LocationMismatch;
use crate::erp::Shipment;
use crate::shopify::{FULFILLMENTS_READ, FulfillmentRequest, ShopifyClient, Tracking};
use crate::store::{Failure, FulfilledShipmentRecord};

use super::super::FlowContext;
use super::super::locks::OrderLocks;
use super::matching::{self, Plan};

/// Turns shipments into fulfilments.
#[derive(Debug, Clone)]
pub struct Fulfiller {
    context: FlowContext,
    locks: Arc<OrderLocks>,
}

impl Fulfiller {
    /// A fulfiller working with `context`.
    pub fn new(context: FlowContext) -> Fulfiller {
        Fulfiller {
            context,
            locks: Arc::default(),
        }
    }

    fn shopify(&self) -> Result<&ShopifyClient, Failure> {
        self.context.shopify.as_ref().ok_or_else(|| {
            Failure::transient(
                "shopify_not_configured",
                "no [shopify] section in the configuration: shipments wait until one is set",
            )
        })
    }

    /// The Shopify location `[[locations]]` maps the shipment's warehouse to.
    fn location(&self, shipment: &Shipment) -> Result<u64, Failure> {
        let warehouse = shipment.warehouse.as_deref().unwrap_or_default();
        self.context
            .config
            .locations
            .iter()
            .find(|l| l.erp_warehouse == warehouse)
            .map(|l| l.shopify_location)
            .ok_or_else(|| {
                Failure::permanent(
                    "unmapped_warehouse",
                    format!(
                        "shipment {} left from ERP warehouse {warehouse:?}, which no \
                         [[locations]] entry maps to a Shopify location: add one, then retry",
                        shipment.erp_id
                    ),
                )
            })
    }

    /// Fulfils `shipment` in Shopify unless it already is (see the flow's invariants).
    pub async fn fulfil(&self, shipment: &Shipment) -> Result<(), Failure> {
        let order = shipment.shopify_order_id.ok_or_else(|| {
            Failure::permanent(
                "not_a_shopify_order",
                format!(
                    "shipment {} belongs to no Shopify order: nothing to fulfil",
                    shipment.erp_id
                ),
            )
        })?;
        let _guard = self.locks.lock(order).await;
        let store = &self.context.store;
        if let Some(done) = store
            .fulfilled_shipment(order, shipment.erp_id.clone())
            .await?
        {
            return self.follow_tracking(order, shipment, &done).await;
        }
        let units = matching::shipment_units(shipment)?;
        let location = self.location(shipment)?;
        let shopify = self.shopify()?;

        // fulfillmentCreate has no idempotency key: a previous attempt (or a lost ledger
        // write) may have created this shipment's fulfilment already. Look before creating.
        let existing = shopify
            .order_fulfillments(order)
            .await?
            .ok_or_else(|| unknown_order(shipment, order))?;
        let taken = store.order_fulfilments(order).await?;
        let tracking_number = shipment.tracking_number.as_deref();
        if let Some(found) = matching::applied(&units, tracking_number, location, &existing, &taken)
        {
            tracing::info!(flow = "fulfilment", order, shipment = %shipment.erp_id, fulfillment = found.id, "shipment already fulfilled in Shopify; recorded");
            return self.record(order, shipment, found.id).await;
        }
        if existing.len() >= FULFILLMENTS_READ {
            return Err(Failure::permanent(
                "fulfilments_unverifiable",
                format!(
                    "order {order} has at least {FULFILLMENTS_READ} fulfilments and Plumb \
                     reads that many: it cannot tell whether shipment {} is among the \
                     others. Check the order in Shopify; fulfil the shipment by hand if it \
                     is missing",
                    shipment.erp_id
                ),
            ));
        }

        let mut moved = false;
        loop {
            let orders = shopify
                .fulfillment_orders(order)
                .await?
                .ok_or_else(|| unknown_order(shipment, order))?;
            match matching::plan(&units, location, &orders) {
                Plan::Fulfil(lines) => return self.create(order, shipment, lines).await,
                Plan::NothingLeft => {
                    return Err(Failure::permanent(
                        "already_fulfilled",
                        format!(
                            "shipment {} of order {order}: Shopify has nothing left to fulfil \
                             on the order (fulfilled by hand, or by another shipment)",
                            shipment.erp_id
                        ),
                    ));
                }
                Plan::Unmatched(problems) => {
                    return Err(Failure::permanent(
                        "shipment_not_on_order",
                        format!(
                            "shipment {} of order {order} ships what the order does not have \
                             left to fulfil: {}",
                            shipment.erp_id,
                            problems.join("; ")
                        ),
                    ));
                }
                Plan::Elsewhere {
                    fulfillment_orders,
                    locations,
                } => {
                    let policy = self.context.config.fulfilment.on_location_mismatch;
                    if policy == LocationMismatch::Report || moved {
                        return Err(location_mismatch(shipment, order, location, &locations));
                    }
                    for fulfillment_order in fulfillment_orders {
                        let to = shopify
                            .move_fulfillment_order(fulfillment_order, location)
                            .await?;
                        tracing::info!(
                            flow = "fulfilment",
                            order,
                            fulfillment_order,
                            location,
                            moved_to = to,
                            "fulfillment order moved to the shipment's location"
                        );
                    }
                    moved = true;
                }
            }
        }
    }

    async fn create(
        &self,
        order: u64,
        shipment: &Shipment,
        lines: Vec<(u64, Vec<(u64, i64)>)>,
    ) -> Result<(), Failure> {
        let request = FulfillmentRequest {
            lines,
            tracking: tracking(shipment),
            notify_customer: self.context.config.fulfilment.notify_customer,
        };
        let created = self.shopify()?.create_fulfillment(&request).await?;
        tracing::info!(
            flow = "fulfilment",
            order,
            shipment = %shipment.erp_id,
            fulfillment = created.id,
            tracking = shipment.tracking_number.as_deref().unwrap_or(""),
            "shipment fulfilled in Shopify"
        );
        self.record(order, shipment, created.id).await
    }

    /// A shipment the ledger has: done, unless its tracking number changed since, in
    /// which case the fulfilment's tracking is replaced with the ERP's (the ERP owns
    /// tracking), then the ledger. A number removed in the ERP is left to a person:
    /// Shopify keeps a fulfilment's last tracking.
    async fn follow_tracking(
        &self,
        order: u64,
        shipment: &Shipment,
        done: &FulfilledShipmentRecord,
    ) -> Result<(), Failure> {
        if done.tracking_number == shipment.tracking_number {
            tracing::debug!(flow = "fulfilment", order, shipment = %shipment.erp_id, fulfillment = done.fulfillment_id, "shipment already fulfilled");
            return Ok(());
        }
        let (Some(new), Some(details)) = (&shipment.tracking_number, tracking(shipment)) else {
            return Err(Failure::permanent(
                "tracking_removed",
                format!(
                    "shipment {} of order {order} was fulfilled as Shopify fulfilment {} \
                     with tracking number {:?}; the ERP now has none: remove or correct the \
                     tracking on that fulfilment in Shopify",
                    shipment.erp_id,
                    done.fulfillment_id,
                    done.tracking_number.as_deref().unwrap_or("")
                ),
            ));
        };
        let notify = self.context.config.fulfilment.notify_customer;
        self.shopify()?
            .update_tracking(done.fulfillment_id, &details, notify)
            .await?;
        tracing::info!(
            flow = "fulfilment",
            order,
            shipment = %shipment.erp_id,
            fulfillment = done.fulfillment_id,
            was = done.tracking_number.as_deref().unwrap_or(""),
            tracking = %new,
            "fulfilment tracking updated from the ERP"
        );
        self.record(order, shipment, done.fulfillment_id).await
    }

    async fn record(&self, order: u64, shipment: &Shipment, id: u64) -> Result<(), Failure> {
        let record = FulfilledShipmentRecord {
            fulfillment_id: id,
            tracking_number: shipment.tracking_number.clone(),
            fulfilled_at: self.context.clock.now(),
        };
        let erp_id = shipment.erp_id.clone();
        self.context
            .store
            .write(move |ctx| ctx.shipment_fulfilled(order, &erp_id, &record))
            .await?;
        Ok(())
    }
}

/// Tracking details for Shopify, when the ERP gave any.
fn tracking(shipment: &Shipment) -> Option<Tracking> {
    let tracking = Tracking {
        company: shipment.carrier.clone(),
        number: shipment.tracking_number.clone(),
        url: shipment.tracking_url.clone(),
    };
    (tracking != Tracking::default()).then_some(tracking)
}

fn unknown_order(shipment: &Shipment, order: u64) -> Failure {
    Failure::permanent(
        "unknown_order",
        format!(
            "shipment {} is for Shopify order {order}, which Shopify does not know (deleted, \
             or booked from another shop)",
            shipment.erp_id
        ),
    )
}

fn location_mismatch(shipment: &Shipment, order: u64, location: u64, assigned: &[u64]) -> Failure {
    let assigned: Vec<String> = assigned.iter().map(u64::to_string).collect();
    Failure::permanent(
        "location_mismatch",
        format!(
            "shipment {} of order {order} left from ERP warehouse {:?} (Shopify location \
             {location}), but Shopify assigned the units to location {}: move the \
             fulfillment order in Shopify (or set fulfilment.on_location_mismatch = \
             \"move\"), then retry",
            shipment.erp_id,
            shipment.warehouse.as_deref().unwrap_or_default(),
            assigned.join(", ")
        ),
    )
}
