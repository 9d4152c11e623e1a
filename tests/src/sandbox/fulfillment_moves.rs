//! `fulfillmentOrderMove`: re-assigns a fulfillment order's unfulfilled lines to another
//! location, as Shopify documents it. With nothing fulfilled on it, the fulfillment order
//! itself moves; otherwise a new one at the new location takes the remaining units and the
//! original is closed with what it shipped. Committed stock follows the assignment.

use serde_json::Value;

use super::inventory::{UserError, move_stock};
use super::orders::{error, item_of};
use super::state::{
    FulfillmentOrder, FulfillmentOrderLine, FulfillmentOrderStatus, QuantityName, State, now,
};

/// The outcome: (moved fulfillment order, original fulfillment order).
pub fn move_order(
    state: &mut State,
    fo_id: Option<u64>,
    location_id: Option<u64>,
    line_items: Option<&Value>,
) -> Result<(u64, u64), Vec<UserError>> {
    if line_items.is_some_and(|v| !v.is_null()) {
        return Err(error(
            &["fulfillmentOrderLineItems"],
            "The sandbox moves whole fulfillment orders only: leave fulfillmentOrderLineItems out.",
        ));
    }
    let Some(fo) = fo_id
        .and_then(|id| state.fulfillment_orders.get(&id))
        .cloned()
    else {
        return Err(error(&["id"], "Fulfillment order does not exist."));
    };
    let Some(to) = location_id.filter(|id| state.locations.contains_key(id)) else {
        return Err(error(&["newLocationId"], "Location does not exist."));
    };
    if matches!(
        fo.status,
        FulfillmentOrderStatus::Closed | FulfillmentOrderStatus::Cancelled
    ) {
        return Err(error(
            &["id"],
            "Fulfillment order is not in a movable state.",
        ));
    }
    if fo.location_id == to {
        return Err(error(
            &["newLocationId"],
            "Fulfillment order is already assigned to this location.",
        ));
    }
    let from = fo.location_id;
    let time = now();
    let untouched = fo
        .lines
        .iter()
        .all(|l| l.remaining_quantity == l.total_quantity);
    let moving: Vec<(u64, i64)> = fo
        .lines
        .iter()
        .filter(|l| l.remaining_quantity > 0)
        .map(|l| (l.line_item_id, l.remaining_quantity))
        .collect();
    let moved = if untouched {
        if let Some(fo) = state.fulfillment_orders.get_mut(&fo.id) {
            fo.location_id = to;
            fo.updated_at = time;
        }
        fo.id
    } else {
        let new_id = state.next_id();
        let mut lines = Vec::new();
        for (line_item_id, quantity) in &moving {
            lines.push(FulfillmentOrderLine {
                id: state.next_id(),
                line_item_id: *line_item_id,
                total_quantity: *quantity,
                remaining_quantity: *quantity,
            });
        }
        if let Some(original) = state.fulfillment_orders.get_mut(&fo.id) {
            for line in &mut original.lines {
                line.total_quantity -= line.remaining_quantity;
                line.remaining_quantity = 0;
            }
            original.status = FulfillmentOrderStatus::Closed;
            original.updated_at = time;
        }
        state.fulfillment_orders.insert(
            new_id,
            FulfillmentOrder {
                id: new_id,
                order_id: fo.order_id,
                location_id: to,
                status: FulfillmentOrderStatus::Open,
                lines,
                created_at: time,
                updated_at: time,
            },
        );
        if let Some(order) = state.orders.get_mut(&fo.order_id) {
            order.fulfillment_orders.push(new_id);
        }
        new_id
    };
    for (line_item_id, quantity) in moving {
        let variant = state
            .orders
            .get(&fo.order_id)
            .and_then(|o| o.line_items.iter().find(|l| l.id == line_item_id))
            .map(|l| l.variant_id);
        if let Some(item) = variant.and_then(|v| item_of(state, v)) {
            move_stock(
                state,
                item,
                from,
                &[
                    (QuantityName::Committed, -quantity),
                    (QuantityName::Available, quantity),
                ],
            );
            move_stock(
                state,
                item,
                to,
                &[
                    (QuantityName::Available, -quantity),
                    (QuantityName::Committed, quantity),
                ],
            );
        }
    }
    Ok((moved, fo.id))
}
