//! Fulfilment through fulfillment orders: read what remains to fulfil, then fulfil it with
//! tracking.
//!
//! `fulfillmentCreate` has no idempotency key, so the client never resends it after an
//! ambiguous failure; a caller retrying a job must re-read the fulfillment orders first
//! (lines already fulfilled show `remaining_quantity` 0) before creating again.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::client::ShopifyClient;
use super::documents::{
    FULFILLMENT_CREATE, FULFILLMENT_ORDER_MOVE, FULFILLMENT_ORDERS, FULFILLMENT_TRACKING_UPDATE,
    ORDER_FULFILLMENTS,
};
use super::error::ShopifyError;
use super::ids::{Kind, de_gid, de_opt_gid, gid};
use super::money::Ref;
use super::response::{UserError, reject_user_errors};

/// A fulfillment order: lines of an order assigned to one location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FulfillmentOrder {
    /// The fulfillment order.
    pub id: u64,
    /// OPEN, IN_PROGRESS, CLOSED, CANCELLED, ON_HOLD, SCHEDULED, INCOMPLETE.
    pub status: String,
    /// UNSUBMITTED, SUBMITTED, ACCEPTED...
    pub request_status: String,
    /// The assigned location, if it still exists.
    pub location_id: Option<u64>,
    /// Its lines.
    pub line_items: Vec<FulfillmentOrderLine>,
    /// False when Shopify had more than 50 lines to give: the list is a prefix.
    pub line_items_complete: bool,
}

/// A line of a fulfillment order.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FulfillmentOrderLine {
    /// The fulfillment order line (what `fulfillmentCreate` names).
    #[serde(deserialize_with = "de_gid")]
    pub id: u64,
    /// The SKU.
    pub sku: Option<String>,
    /// Units on the line.
    pub total_quantity: i64,
    /// Units still to fulfil.
    pub remaining_quantity: i64,
    /// The inventory item.
    #[serde(default, deserialize_with = "de_opt_gid")]
    pub inventory_item_id: Option<u64>,
    /// The order's line.
    pub line_item: Ref,
}

/// Tracking details for a shipment.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Tracking {
    /// The carrier, as Shopify names it ("UPS", "DHL Express") or free text.
    pub company: Option<String>,
    /// The tracking number.
    pub number: Option<String>,
    /// The tracking page.
    pub url: Option<String>,
}

/// What to fulfil: lines of fulfillment orders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FulfillmentRequest {
    /// Per fulfillment order, its lines and quantities (an empty list fulfils all of it).
    pub lines: Vec<(u64, Vec<(u64, i64)>)>,
    /// Tracking.
    pub tracking: Option<Tracking>,
    /// Whether Shopify emails the buyer.
    pub notify_customer: bool,
}

/// A fulfilment Shopify created.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CreatedFulfillment {
    /// The fulfilment.
    #[serde(deserialize_with = "de_gid")]
    pub id: u64,
    /// SUCCESS, PENDING...
    pub status: String,
}

/// How many of an order's fulfilments [`ShopifyClient::order_fulfillments`] reads: an
/// answer this long may be a prefix.
pub const FULFILLMENTS_READ: usize = 15;

/// A fulfilment an order already has, as a retried job compares it with its shipment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingFulfillment {
    /// The fulfilment.
    pub id: u64,
    /// SUCCESS, CANCELLED, ERROR, FAILURE...
    pub status: String,
    /// Where it shipped from.
    pub location_id: Option<u64>,
    /// Its tracking numbers.
    pub tracking_numbers: Vec<String>,
    /// (SKU, units) per line.
    pub lines: Vec<(Option<String>, i64)>,
    /// False when Shopify had more than 15 lines to give: the list is a prefix.
    pub lines_complete: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FulfillmentsData {
    order: Option<FulfillmentsOrder>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FulfillmentsOrder {
    fulfillments: Vec<FulfillmentNode>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FulfillmentNode {
    #[serde(deserialize_with = "de_gid")]
    id: u64,
    status: String,
    location: Option<Ref>,
    tracking_info: Vec<TrackingNode>,
    fulfillment_line_items: Page<FulfillmentLineNode>,
}

#[derive(Debug, Deserialize)]
struct TrackingNode {
    number: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FulfillmentLineNode {
    quantity: i64,
    line_item: SkuNode,
}

#[derive(Debug, Deserialize)]
struct SkuNode {
    sku: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OrdersData {
    order: Option<OrderNode>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OrderNode {
    fulfillment_orders: Page<FulfillmentOrderNode>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Page<T> {
    nodes: Vec<T>,
    page_info: More,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct More {
    has_next_page: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FulfillmentOrderNode {
    #[serde(deserialize_with = "de_gid")]
    id: u64,
    status: String,
    request_status: String,
    assigned_location: AssignedLocation,
    line_items: Page<FulfillmentOrderLine>,
}

#[derive(Debug, Deserialize)]
struct AssignedLocation {
    location: Option<Ref>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateData {
    fulfillment_create: Option<CreatePayload>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreatePayload {
    fulfillment: Option<CreatedFulfillment>,
    #[serde(default)]
    user_errors: Vec<UserError>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TrackingUpdateData {
    fulfillment_tracking_info_update: Option<CreatePayload>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct MoveData {
    fulfillment_order_move: Option<MovePayload>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct MovePayload {
    moved_fulfillment_order: Option<Ref>,
    #[serde(default)]
    user_errors: Vec<UserError>,
}

/// The `fulfillment` input of `fulfillmentCreate`.
pub fn fulfillment_input(request: &FulfillmentRequest) -> serde_json::Value {
    let by_order: Vec<serde_json::Value> = request
        .lines
        .iter()
        .map(|(order, lines)| {
            let mut entry = json!({"fulfillmentOrderId": gid(Kind::FulfillmentOrder, *order)});
            if !lines.is_empty() {
                entry["fulfillmentOrderLineItems"] = lines
                    .iter()
                    .map(|(line, quantity)| {
                        json!({"id": gid(Kind::FulfillmentOrderLineItem, *line), "quantity": quantity})
                    })
                    .collect();
            }
            entry
        })
        .collect();
    let mut input = json!({
        "lineItemsByFulfillmentOrder": by_order,
        "notifyCustomer": request.notify_customer,
    });
    if let Some(tracking) = &request.tracking {
        input["trackingInfo"] = json!(tracking);
    }
    input
}

impl ShopifyClient {
    /// An order's fulfillment orders (at most 5, each with at most 50 lines; the flags say
    /// when Shopify had more). `None` if Shopify does not know the order.
    pub async fn fulfillment_orders(
        &self,
        order: u64,
    ) -> Result<Option<Vec<FulfillmentOrder>>, ShopifyError> {
        let data: OrdersData = self
            .execute(&FULFILLMENT_ORDERS, json!({"id": gid(Kind::Order, order)}))
            .await?;
        let Some(order_node) = data.order else {
            return Ok(None);
        };
        if order_node.fulfillment_orders.page_info.has_next_page {
            return Err(ShopifyError::Invalid(format!(
                "order {order} has more than 5 fulfillment orders; not supported yet"
            )));
        }
        Ok(Some(
            order_node
                .fulfillment_orders
                .nodes
                .into_iter()
                .map(|node| FulfillmentOrder {
                    id: node.id,
                    status: node.status,
                    request_status: node.request_status,
                    location_id: node.assigned_location.location.map(|l| l.id),
                    line_items_complete: !node.line_items.page_info.has_next_page,
                    line_items: node.line_items.nodes,
                })
                .collect(),
        ))
    }

    /// An order's fulfilments (the first [`FULFILLMENTS_READ`], each with its first 15
    /// lines). `None` if Shopify does not know the order.
    pub async fn order_fulfillments(
        &self,
        order: u64,
    ) -> Result<Option<Vec<ExistingFulfillment>>, ShopifyError> {
        let data: FulfillmentsData = self
            .execute(&ORDER_FULFILLMENTS, json!({"id": gid(Kind::Order, order)}))
            .await?;
        Ok(data.order.map(|order| {
            order
                .fulfillments
                .into_iter()
                .map(|node| ExistingFulfillment {
                    id: node.id,
                    status: node.status,
                    location_id: node.location.map(|l| l.id),
                    tracking_numbers: node
                        .tracking_info
                        .into_iter()
                        .filter_map(|t| t.number)
                        .collect(),
                    lines_complete: !node.fulfillment_line_items.page_info.has_next_page,
                    lines: node
                        .fulfillment_line_items
                        .nodes
                        .into_iter()
                        .map(|line| (line.line_item.sku, line.quantity))
                        .collect(),
                })
                .collect()
        }))
    }

    /// Re-assigns a fulfillment order's unfulfilled lines to `location`; returns the
    /// fulfillment order that now holds them there (the same one when nothing on it was
    /// fulfilled). Not resent after an ambiguous failure: the caller re-reads.
    pub async fn move_fulfillment_order(
        &self,
        fulfillment_order: u64,
        location: u64,
    ) -> Result<u64, ShopifyError> {
        let data: MoveData = self
            .execute(
                &FULFILLMENT_ORDER_MOVE,
                json!({
                    "id": gid(Kind::FulfillmentOrder, fulfillment_order),
                    "newLocationId": gid(Kind::Location, location),
                }),
            )
            .await?;
        let payload = data
            .fulfillment_order_move
            .ok_or_else(|| ShopifyError::Shape("fulfillmentOrderMove returned null".to_owned()))?;
        reject_user_errors(payload.user_errors)?;
        payload
            .moved_fulfillment_order
            .map(|moved| moved.id)
            .ok_or_else(|| {
                ShopifyError::Shape(
                    "fulfillmentOrderMove returned neither an order nor errors".to_owned(),
                )
            })
    }

    /// Fulfils lines with tracking. User errors (already fulfilled, bad quantity) are
    /// permanent errors; an ambiguous failure is returned, not resent.
    pub async fn create_fulfillment(
        &self,
        request: &FulfillmentRequest,
    ) -> Result<CreatedFulfillment, ShopifyError> {
        let data: CreateData = self
            .execute(
                &FULFILLMENT_CREATE,
                json!({"fulfillment": fulfillment_input(request)}),
            )
            .await?;
        let payload = data
            .fulfillment_create
            .ok_or_else(|| ShopifyError::Shape("fulfillmentCreate returned null".to_owned()))?;
        reject_user_errors(payload.user_errors)?;
        payload.fulfillment.ok_or_else(|| {
            ShopifyError::Shape(
                "fulfillmentCreate returned neither a fulfilment nor errors".to_owned(),
            )
        })
    }

    /// Replaces the tracking of fulfilment `fulfillment`. User errors (unknown or
    /// cancelled fulfilment) are permanent errors; an ambiguous failure is returned, not
    /// resent.
    pub async fn update_tracking(
        &self,
        fulfillment: u64,
        tracking: &Tracking,
        notify_customer: bool,
    ) -> Result<(), ShopifyError> {
        let data: TrackingUpdateData = self
            .execute(
                &FULFILLMENT_TRACKING_UPDATE,
                json!({
                    "fulfillmentId": gid(Kind::Fulfillment, fulfillment),
                    "tracking": tracking,
                    "notifyCustomer": notify_customer,
                }),
            )
            .await?;
        let payload = data.fulfillment_tracking_info_update.ok_or_else(|| {
            ShopifyError::Shape("fulfillmentTrackingInfoUpdate returned null".to_owned())
        })?;
        reject_user_errors(payload.user_errors)?;
        payload.fulfillment.map(|_| ()).ok_or_else(|| {
            ShopifyError::Shape(
                "fulfillmentTrackingInfoUpdate returned neither a fulfilment nor errors".to_owned(),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_input_names_lines_by_fulfillment_order_with_tracking() {
        let request = FulfillmentRequest {
            lines: vec![(1, vec![(11, 2)]), (2, vec![])],
            tracking: Some(Tracking {
                company: Some("UPS".into()),
                number: Some("1Z999".into()),
                url: Some("https://ups.example/1Z999".into()),
            }),
            notify_customer: true,
        };
        let input = fulfillment_input(&request);
        assert_eq!(
            input,
            json!({
                "lineItemsByFulfillmentOrder": [
                    {"fulfillmentOrderId": "gid://shopify/FulfillmentOrder/1",
                     "fulfillmentOrderLineItems": [{"id": "gid://shopify/FulfillmentOrderLineItem/11", "quantity": 2}]},
                    {"fulfillmentOrderId": "gid://shopify/FulfillmentOrder/2"}
                ],
                "notifyCustomer": true,
                "trackingInfo": {"company": "UPS", "number": "1Z999", "url": "https://ups.example/1Z999"}
            })
        );
    }
}
