//! The shop simulation's order life cycle, with Shopify's stock effects and webhooks:
//! placing commits stock (`available` down, `committed` up) and creates a fulfilment order;
//! fulfilling ships committed stock (`committed` and `on_hand` down); cancelling and
//! refunding release or restock it according to the restock type.

use rust_decimal::Decimal;
use serde_json::Value;

use super::inventory::{UserError, move_stock};
use super::payloads;
use super::state::{
    FinancialStatus, Fulfillment, FulfillmentOrder, FulfillmentOrderLine, FulfillmentOrderStatus,
    LineItem, Order, QuantityName, Refund, RefundLine, State, Tracking, now, parse_gid,
};

/// What to order.
#[derive(Debug, Clone)]
pub struct OrderSpec {
    /// (variant id, quantity) per line.
    pub lines: Vec<(u64, i64)>,
    /// Location to commit stock at; the first location when `None`.
    pub location_id: Option<u64>,
    /// Customer email.
    pub email: String,
    /// Whether the order is paid when placed (fires `orders/paid`).
    pub paid: bool,
}

/// Why the shop refused an admin action.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct ShopError(pub String);

pub(super) fn error(field: &[&str], message: &str) -> Vec<UserError> {
    vec![UserError {
        field: field.iter().map(|f| (*f).to_owned()).collect(),
        message: message.to_owned(),
        code: None,
    }]
}

fn announce_order(state: &mut State, order_id: u64, topic: &'static str) {
    let payload = payloads::order(state, order_id, topic);
    state.announce(topic, payload);
}

/// Places an order: commits stock, creates its fulfilment order, fires `orders/create`,
/// `inventory_levels/update` per level and, when paid, `orders/paid`.
pub fn place(state: &mut State, spec: &OrderSpec) -> Result<u64, ShopError> {
    let location_id = match spec.location_id {
        Some(id) if state.locations.contains_key(&id) => id,
        Some(id) => return Err(ShopError(format!("location {id} does not exist"))),
        None => *state
            .locations
            .keys()
            .next()
            .ok_or_else(|| ShopError("the shop has no location".to_owned()))?,
    };
    if spec.lines.is_empty() {
        return Err(ShopError("an order needs at least one line".to_owned()));
    }
    let mut lines = Vec::new();
    for (variant_id, quantity) in &spec.lines {
        let variant = state
            .variants
            .get(variant_id)
            .cloned()
            .ok_or_else(|| ShopError(format!("variant {variant_id} does not exist")))?;
        if *quantity <= 0 {
            return Err(ShopError(format!(
                "quantity must be positive, got {quantity}"
            )));
        }
        let title = state
            .products
            .get(&variant.product_id)
            .map(|p| p.title.clone())
            .unwrap_or_default();
        lines.push(LineItem {
            id: state.next_id(),
            variant_id: variant.id,
            product_id: variant.product_id,
            sku: variant.sku.clone(),
            title,
            variant_title: variant.title.clone(),
            quantity: *quantity,
            price: variant.price,
            fulfilled: 0,
            refunded: 0,
        });
    }
    let time = now();
    let id = state.next_id();
    let fo_id = state.next_id();
    let fo_lines = lines
        .iter()
        .map(|line| FulfillmentOrderLine {
            id: 0,
            line_item_id: line.id,
            total_quantity: line.quantity,
            remaining_quantity: line.quantity,
        })
        .collect::<Vec<_>>();
    let fo_lines = fo_lines
        .into_iter()
        .map(|mut line| {
            line.id = state.next_id();
            line
        })
        .collect();
    state.fulfillment_orders.insert(
        fo_id,
        FulfillmentOrder {
            id: fo_id,
            order_id: id,
            location_id,
            status: FulfillmentOrderStatus::Open,
            lines: fo_lines,
            created_at: time,
            updated_at: time,
        },
    );
    let number = state.next_order_number();
    let stock: Vec<(u64, i64)> = lines
        .iter()
        .filter_map(|line| {
            state
                .variants
                .get(&line.variant_id)
                .map(|v| (v.inventory_item_id, line.quantity))
        })
        .collect();
    state.orders.insert(
        id,
        Order {
            id,
            number,
            email: spec.email.clone(),
            line_items: lines,
            location_id,
            financial_status: if spec.paid {
                FinancialStatus::Paid
            } else {
                FinancialStatus::Pending
            },
            created_at: time,
            updated_at: time,
            cancelled_at: None,
            cancel_reason: None,
            closed_at: None,
            fulfillment_orders: vec![fo_id],
            fulfillments: Vec::new(),
            refunds: Vec::new(),
            refunded_amount: Decimal::ZERO,
        },
    );
    announce_order(state, id, "orders/create");
    for (item, quantity) in stock {
        let tracked = state.items.get(&item).is_some_and(|i| i.tracked);
        if tracked {
            move_stock(
                state,
                item,
                location_id,
                &[
                    (QuantityName::Available, -quantity),
                    (QuantityName::Committed, quantity),
                ],
            );
        }
    }
    if spec.paid {
        announce_order(state, id, "orders/paid");
    }
    Ok(id)
}

/// Marks an order paid: `orders/paid`, `orders/updated`.
pub fn mark_paid(state: &mut State, order_id: u64) -> Result<(), ShopError> {
    let order = state
        .orders
        .get_mut(&order_id)
        .ok_or_else(|| ShopError(format!("order {order_id} does not exist")))?;
    order.financial_status = FinancialStatus::Paid;
    order.updated_at = now();
    announce_order(state, order_id, "orders/paid");
    announce_order(state, order_id, "orders/updated");
    Ok(())
}

pub(super) fn item_of(state: &State, variant_id: u64) -> Option<u64> {
    state
        .variants
        .get(&variant_id)
        .map(|v| v.inventory_item_id)
        .filter(|item| state.items.get(item).is_some_and(|i| i.tracked))
}

/// Cancels an order: releases committed stock (back to available when `restock`), closes
/// its fulfilment orders, voids or refunds payment, fires `orders/cancelled` and
/// `orders/updated`.
pub fn cancel(
    state: &mut State,
    order_id: u64,
    reason: &str,
    restock: bool,
) -> Result<(), Vec<UserError>> {
    let order = state
        .orders
        .get(&order_id)
        .cloned()
        .ok_or_else(|| error(&["orderId"], "Order does not exist"))?;
    if order.cancelled_at.is_some() {
        return Err(vec![UserError {
            field: vec!["orderId".to_owned()],
            message: "Order has already been cancelled".to_owned(),
            code: Some("INVALID"),
        }]);
    }
    for line in &order.line_items {
        let open = line.unfulfilled();
        if open == 0 {
            continue;
        }
        if let Some(item) = item_of(state, line.variant_id) {
            let mut moves = vec![(QuantityName::Committed, -open)];
            if restock {
                moves.push((QuantityName::Available, open));
            }
            move_stock(state, item, order.location_id, &moves);
        }
    }
    let time = now();
    for fo in &order.fulfillment_orders {
        if let Some(fo) = state.fulfillment_orders.get_mut(fo)
            && fo.status != FulfillmentOrderStatus::Closed
        {
            fo.status = FulfillmentOrderStatus::Cancelled;
            fo.updated_at = time;
            for line in &mut fo.lines {
                line.remaining_quantity = 0;
            }
        }
    }
    if let Some(order) = state.orders.get_mut(&order_id) {
        order.cancelled_at = Some(time);
        order.closed_at = Some(time);
        order.cancel_reason = Some(reason.to_owned());
        order.updated_at = time;
        order.financial_status = match order.financial_status {
            FinancialStatus::Pending => FinancialStatus::Voided,
            FinancialStatus::Paid | FinancialStatus::PartiallyRefunded => {
                order.refunded_amount = order.subtotal();
                FinancialStatus::Refunded
            }
            other => other,
        };
    }
    announce_order(state, order_id, "orders/cancelled");
    announce_order(state, order_id, "orders/updated");
    Ok(())
}

/// `refundCreate`: removes the refunded quantities from the order and restocks them by
/// restock type (`CANCEL` returns unfulfilled stock to available, `RETURN` puts shipped
/// stock back on hand, `NO_RESTOCK` only releases what was committed); fires
/// `refunds/create` and `orders/updated`.
pub fn refund(state: &mut State, input: &Value) -> Result<(u64, u64), Vec<UserError>> {
    let order_id = parse_gid(
        "Order",
        input.get("orderId").and_then(Value::as_str).unwrap_or(""),
    )
    .filter(|id| state.orders.contains_key(id))
    .ok_or_else(|| error(&["orderId"], "Order does not exist"))?;
    let order = state
        .orders
        .get(&order_id)
        .cloned()
        .ok_or_else(|| error(&["orderId"], "Order does not exist"))?;
    let requested = input
        .get("refundLineItems")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut lines = Vec::new();
    for (index, entry) in requested.iter().enumerate() {
        let index = index.to_string();
        let line_id = parse_gid(
            "LineItem",
            entry
                .get("lineItemId")
                .and_then(Value::as_str)
                .unwrap_or(""),
        );
        let Some(line) = line_id.and_then(|id| order.line_items.iter().find(|l| l.id == id)) else {
            return Err(error(
                &["refundLineItems", &index, "lineItemId"],
                "Line item does not exist",
            ));
        };
        let quantity = entry.get("quantity").and_then(Value::as_i64).unwrap_or(0);
        if quantity <= 0 || quantity > line.current_quantity() {
            return Err(error(
                &["refundLineItems", &index, "quantity"],
                "Quantity cannot refund more items than were purchased",
            ));
        }
        let restock_type = entry
            .get("restockType")
            .and_then(Value::as_str)
            .unwrap_or("NO_RESTOCK")
            .to_owned();
        let location = match entry.get("locationId").and_then(Value::as_str) {
            Some(text) => Some(
                parse_gid("Location", text)
                    .filter(|id| state.locations.contains_key(id))
                    .ok_or_else(|| {
                        error(
                            &["refundLineItems", &index, "locationId"],
                            "Location does not exist",
                        )
                    })?,
            ),
            None => None,
        };
        lines.push((line.clone(), quantity, restock_type, location));
    }
    let refund_id = state.next_id();
    let time = now();
    let mut refund_lines = Vec::new();
    let mut total = Decimal::ZERO;
    for (line, quantity, restock_type, location) in lines {
        let unfulfilled_part = quantity.min(line.unfulfilled());
        let shipped_part = quantity - unfulfilled_part;
        let at = location.unwrap_or(order.location_id);
        if let Some(item) = item_of(state, line.variant_id) {
            let mut moves = Vec::new();
            if unfulfilled_part > 0 {
                moves.push((QuantityName::Committed, -unfulfilled_part));
            }
            match restock_type.as_str() {
                "CANCEL" | "LEGACY_RESTOCK" if unfulfilled_part > 0 => {
                    moves.push((QuantityName::Available, unfulfilled_part))
                }
                _ => {}
            }
            if unfulfilled_part > 0 {
                move_stock(state, item, order.location_id, &moves);
            }
            if matches!(restock_type.as_str(), "RETURN" | "LEGACY_RESTOCK") && shipped_part > 0 {
                move_stock(state, item, at, &[(QuantityName::Available, shipped_part)]);
            }
        }
        if unfulfilled_part > 0 {
            for fo in &order.fulfillment_orders {
                if let Some(fo) = state.fulfillment_orders.get_mut(fo) {
                    for fo_line in fo.lines.iter_mut().filter(|l| l.line_item_id == line.id) {
                        fo_line.remaining_quantity =
                            (fo_line.remaining_quantity - unfulfilled_part).max(0);
                    }
                    if fo.lines.iter().all(|l| l.remaining_quantity == 0) {
                        fo.status = FulfillmentOrderStatus::Closed;
                    }
                    fo.updated_at = time;
                }
            }
        }
        let subtotal = line.price * Decimal::from(quantity);
        total += subtotal;
        let restocked = restock_type != "NO_RESTOCK";
        refund_lines.push(RefundLine {
            id: state.next_id(),
            line_item_id: line.id,
            quantity,
            restock_type,
            location_id: restocked.then_some(at),
            subtotal,
        });
    }
    if let Some(order) = state.orders.get_mut(&order_id) {
        for refund_line in &refund_lines {
            if let Some(line) = order
                .line_items
                .iter_mut()
                .find(|l| l.id == refund_line.line_item_id)
            {
                line.refunded += refund_line.quantity;
            }
        }
        order.refunded_amount += total;
        order.financial_status = if order.refunded_amount >= order.subtotal() {
            FinancialStatus::Refunded
        } else {
            FinancialStatus::PartiallyRefunded
        };
        order.refunds.push(refund_id);
        order.updated_at = time;
    }
    state.refunds.insert(
        refund_id,
        Refund {
            id: refund_id,
            order_id,
            note: input.get("note").and_then(Value::as_str).map(str::to_owned),
            lines: refund_lines,
            total,
            created_at: time,
        },
    );
    let payload = payloads::refund(state, refund_id);
    state.announce("refunds/create", payload);
    announce_order(state, order_id, "orders/updated");
    Ok((order_id, refund_id))
}

/// `fulfillmentCreate`: ships committed stock from the fulfilment orders' location; fires
/// `fulfillments/create`, `orders/fulfilled` or `orders/partially_fulfilled`, and
/// `orders/updated`.
pub fn fulfil(state: &mut State, input: &Value) -> Result<u64, Vec<UserError>> {
    let groups = input
        .get("lineItemsByFulfillmentOrder")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut shipments: Vec<(u64, u64, i64)> = Vec::new(); // (fo, fo line, quantity)
    let mut order_id = None;
    let mut location_id = None;
    for (index, group) in groups.iter().enumerate() {
        let index = index.to_string();
        let fo_id = parse_gid(
            "FulfillmentOrder",
            group
                .get("fulfillmentOrderId")
                .and_then(Value::as_str)
                .unwrap_or(""),
        );
        let Some(fo) = fo_id.and_then(|id| state.fulfillment_orders.get(&id)) else {
            return Err(error(
                &[
                    "fulfillment",
                    "lineItemsByFulfillmentOrder",
                    &index,
                    "fulfillmentOrderId",
                ],
                "Fulfillment order does not exist.",
            ));
        };
        if matches!(
            fo.status,
            FulfillmentOrderStatus::Closed | FulfillmentOrderStatus::Cancelled
        ) {
            return Err(error(
                &[
                    "fulfillment",
                    "lineItemsByFulfillmentOrder",
                    &index,
                    "fulfillmentOrderId",
                ],
                "Fulfillment order is not in a fulfillable state.",
            ));
        }
        if order_id.is_some_and(|id| id != fo.order_id) {
            return Err(error(
                &["fulfillment"],
                "All fulfillment orders must belong to the same order.",
            ));
        }
        order_id = Some(fo.order_id);
        location_id = Some(fo.location_id);
        match group
            .get("fulfillmentOrderLineItems")
            .and_then(Value::as_array)
        {
            Some(items) if !items.is_empty() => {
                for item in items {
                    let line_id = parse_gid(
                        "FulfillmentOrderLineItem",
                        item.get("id").and_then(Value::as_str).unwrap_or(""),
                    );
                    let quantity = item.get("quantity").and_then(Value::as_i64).unwrap_or(0);
                    let Some(line) = line_id.and_then(|id| fo.lines.iter().find(|l| l.id == id))
                    else {
                        return Err(error(
                            &["fulfillment"],
                            "Fulfillment order line item does not exist.",
                        ));
                    };
                    if quantity <= 0 || quantity > line.remaining_quantity {
                        return Err(error(
                            &["fulfillment"],
                            "Invalid fulfillment order line item quantity requested.",
                        ));
                    }
                    shipments.push((fo.id, line.id, quantity));
                }
            }
            _ => {
                for line in fo.lines.iter().filter(|l| l.remaining_quantity > 0) {
                    shipments.push((fo.id, line.id, line.remaining_quantity));
                }
            }
        }
    }
    let (Some(order_id), Some(location_id)) = (order_id, location_id) else {
        return Err(error(
            &["fulfillment", "lineItemsByFulfillmentOrder"],
            "No fulfillment order given.",
        ));
    };
    if shipments.is_empty() {
        return Err(error(&["fulfillment"], "Nothing left to fulfill."));
    }
    let time = now();
    let mut lines = Vec::new();
    for (fo_id, fo_line_id, quantity) in shipments {
        let Some(fo) = state.fulfillment_orders.get_mut(&fo_id) else {
            continue;
        };
        let Some(fo_line) = fo.lines.iter_mut().find(|l| l.id == fo_line_id) else {
            continue;
        };
        fo_line.remaining_quantity -= quantity;
        let line_item_id = fo_line.line_item_id;
        fo.status = if fo.lines.iter().all(|l| l.remaining_quantity == 0) {
            FulfillmentOrderStatus::Closed
        } else {
            FulfillmentOrderStatus::InProgress
        };
        fo.updated_at = time;
        let variant = state
            .orders
            .get_mut(&order_id)
            .and_then(|o| o.line_items.iter_mut().find(|l| l.id == line_item_id))
            .map(|line| {
                line.fulfilled += quantity;
                line.variant_id
            });
        if let Some(item) = variant.and_then(|v| item_of(state, v)) {
            move_stock(
                state,
                item,
                location_id,
                &[(QuantityName::Committed, -quantity)],
            );
        }
        let id = state.next_id();
        lines.push((id, line_item_id, quantity));
    }
    let tracking = tracking_info(input.get("trackingInfo").unwrap_or(&Value::Null));
    let id = state.next_id();
    let (name, status) = match state.orders.get_mut(&order_id) {
        Some(order) => {
            order.fulfillments.push(id);
            order.updated_at = time;
            (
                format!("{}.{}", order.name(), order.fulfillments.len()),
                order.fulfillment_status(),
            )
        }
        None => (String::new(), "UNFULFILLED"),
    };
    state.fulfillments.insert(
        id,
        Fulfillment {
            id,
            order_id,
            name,
            location_id,
            tracking,
            lines,
            notify_customer: input
                .get("notifyCustomer")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            created_at: time,
        },
    );
    let payload = payloads::fulfillment(state, id);
    state.announce("fulfillments/create", payload);
    if status == "FULFILLED" {
        announce_order(state, order_id, "orders/fulfilled");
    } else {
        announce_order(state, order_id, "orders/partially_fulfilled");
    }
    announce_order(state, order_id, "orders/updated");
    Ok(id)
}

/// `fulfillmentTrackingInfoUpdate`: replaces a fulfilment's tracking; fires
/// `fulfillments/update` and `orders/updated`.
pub fn update_tracking(
    state: &mut State,
    fulfillment_id: Option<u64>,
    input: &Value,
    notify_customer: Option<bool>,
) -> Result<u64, Vec<UserError>> {
    let tracking = tracking_info(input);
    let Some(fulfillment) = fulfillment_id.and_then(|id| state.fulfillments.get_mut(&id)) else {
        return Err(error(&["fulfillmentId"], "Fulfillment does not exist."));
    };
    fulfillment.tracking = tracking;
    if let Some(notify) = notify_customer {
        fulfillment.notify_customer = notify;
    }
    let (id, order_id) = (fulfillment.id, fulfillment.order_id);
    if let Some(order) = state.orders.get_mut(&order_id) {
        order.updated_at = now();
    }
    let payload = payloads::fulfillment(state, id);
    state.announce("fulfillments/update", payload);
    announce_order(state, order_id, "orders/updated");
    Ok(id)
}

/// A `FulfillmentTrackingInput`: one entry per tracking number (`number` first, then
/// `numbers`), each with the URL at its index; a company or URL without a number is one
/// entry without a number.
fn tracking_info(input: &Value) -> Vec<Tracking> {
    let mut tracking = Vec::new();
    let company = input
        .get("company")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let mut numbers = strings(input, "numbers");
    if let Some(number) = input.get("number").and_then(Value::as_str) {
        numbers.insert(0, number.to_owned());
    }
    let mut urls = strings(input, "urls");
    if let Some(url) = input.get("url").and_then(Value::as_str) {
        urls.insert(0, url.to_owned());
    }
    for (index, number) in numbers.iter().enumerate() {
        tracking.push(Tracking {
            company: company.clone(),
            number: Some(number.clone()),
            url: urls.get(index).cloned(),
        });
    }
    if tracking.is_empty() && (company.is_some() || !urls.is_empty()) {
        tracking.push(Tracking {
            company,
            number: None,
            url: urls.first().cloned(),
        });
    }
    tracking
}

/// The strings of the array `key` of `input` (absent or not an array: none).
fn strings(input: &Value, key: &str) -> Vec<String> {
    input
        .get(key)
        .and_then(Value::as_array)
        .map(|values| {
            values
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}
