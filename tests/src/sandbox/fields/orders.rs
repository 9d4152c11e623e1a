//! Orders, their lines, fulfilment orders, fulfilments and refunds.

use apollo_compiler::resolvers::{FieldError, ResolveInfo};
use rust_decimal::Decimal;

use super::super::connection::connection;
use super::super::objects::{Ctx, Out, Record, Ref, unimplemented};
use super::super::state::{ADDRESS, FinancialStatus, Order, gid, iso};
use super::{gone, money_bag};

/// `Order`.
pub fn order(ctx: &Ctx<'_>, id: u64, info: &ResolveInfo<'_>) -> Result<Out, FieldError> {
    let field = info.field_name();
    let state = ctx.state.borrow();
    let order = state.orders.get(&id).ok_or_else(|| gone("Order", id))?;
    let currency = state.currency.as_str();
    let zero = || money_bag(Decimal::ZERO, currency);
    Ok(match field {
        "id" => gid("Order", id).into(),
        "legacyResourceId" => id.to_string().into(),
        "name" => order.name().into(),
        "email" => order.email.clone().into(),
        "createdAt" | "processedAt" => iso(order.created_at).into(),
        "updatedAt" => iso(order.updated_at).into(),
        "cancelledAt" => order.cancelled_at.map(iso).into(),
        "cancelReason" => order.cancel_reason.clone().into(),
        "closedAt" => order.closed_at.map(iso).into(),
        "closed" => order.closed_at.is_some().into(),
        "confirmed" => true.into(),
        "test" => false.into(),
        "taxesIncluded" => false.into(),
        "note" => Out::Null,
        "currencyCode" | "presentmentCurrencyCode" => currency.into(),
        "displayFinancialStatus" => order.financial_status.graphql().into(),
        "displayFulfillmentStatus" => order.fulfillment_status().into(),
        "fullyPaid" => matches!(order.financial_status, FinancialStatus::Paid).into(),
        "unpaid" => matches!(order.financial_status, FinancialStatus::Pending).into(),
        "subtotalPriceSet" | "totalPriceSet" | "originalTotalPriceSet" | "totalReceivedSet" => {
            money_bag(order.subtotal(), currency)
        }
        "currentSubtotalPriceSet" | "currentTotalPriceSet" => {
            money_bag(order.current_subtotal(), currency)
        }
        "totalRefundedSet" => money_bag(order.refunded_amount, currency),
        "netPaymentSet" => money_bag(order.subtotal() - order.refunded_amount, currency),
        "totalOutstandingSet" => match order.financial_status {
            FinancialStatus::Pending => money_bag(order.subtotal(), currency),
            _ => zero(),
        },
        "totalTaxSet"
        | "currentTotalTaxSet"
        | "totalDiscountsSet"
        | "currentTotalDiscountsSet"
        | "totalShippingPriceSet"
        | "currentShippingPriceSet"
        | "totalRefundedShippingSet" => zero(),
        "taxLines" => Out::List(Vec::new()),
        "discountApplications" | "shippingLines" => connection(info, Vec::new())?,
        "paymentGatewayNames" => Out::List(vec!["manual".into()]),
        "customer" => customer(order),
        "shippingAddress" | "billingAddress" => address(order),
        // the location the order was taken at, as the webhooks' `location_id` says
        "retailLocation" => Ref::Location(order.location_id).into(),
        "poNumber" | "sourceIdentifier" => Out::Null,
        "tags" | "discountCodes" | "customAttributes" => Out::List(Vec::new()),
        "phone" | "clientIp" | "discountCode" => Out::Null,
        "requiresShipping" => true.into(),
        "fulfillable" => (order.cancelled_at.is_none()
            && order.line_items.iter().any(|l| l.unfulfilled() > 0))
        .into(),
        "subtotalLineItemsQuantity" => order
            .line_items
            .iter()
            .map(|l| l.quantity)
            .sum::<i64>()
            .into(),
        "currentSubtotalLineItemsQuantity" => order
            .line_items
            .iter()
            .map(|l| l.current_quantity())
            .sum::<i64>()
            .into(),
        "returns" => connection(info, Vec::new())?,
        "sourceName" => "web".into(),
        "transactions" => {
            let mut transactions = Vec::new();
            if !matches!(
                order.financial_status,
                FinancialStatus::Pending | FinancialStatus::Voided
            ) {
                transactions.push(transaction(
                    order.id,
                    "SALE",
                    order.subtotal(),
                    order.created_at,
                    currency,
                ));
            }
            for refund in order.refunds.iter().filter_map(|r| state.refunds.get(r)) {
                transactions.push(transaction(
                    refund.id + 1,
                    "REFUND",
                    refund.total,
                    refund.created_at,
                    currency,
                ));
            }
            Out::List(transactions)
        }
        "lineItems" => {
            let items = order
                .line_items
                .iter()
                .map(|line| (line.id, Ref::LineItem(id, line.id)))
                .collect();
            connection(info, items)?
        }
        "fulfillmentOrders" => {
            let items = order
                .fulfillment_orders
                .iter()
                .map(|fo| (*fo, Ref::FulfillmentOrder(*fo)))
                .collect();
            connection(info, items)?
        }
        "fulfillments" => Out::List(
            order
                .fulfillments
                .iter()
                .map(|f| Ref::Fulfillment(*f).into())
                .collect(),
        ),
        "refunds" => Out::List(
            order
                .refunds
                .iter()
                .map(|r| Ref::Refund(*r).into())
                .collect(),
        ),
        _ => return Err(unimplemented("Order", field)),
    })
}

/// The order's buyer (see [`Order::customer_id`]).
fn customer(order: &Order) -> Out {
    Record::new("Customer")
        .with("id", gid("Customer", order.customer_id()))
        .with("firstName", order.first_name())
        .with("lastName", "Sandbox")
        .with(
            "defaultEmailAddress",
            Record::new("CustomerEmailAddress")
                .with("emailAddress", order.email.as_str())
                .out(),
        )
        .with("defaultPhoneNumber", Out::Null)
        .out()
}

/// The one address of every sandbox order ([`ADDRESS`]), in the buyer's name.
fn address(order: &Order) -> Out {
    let field = |key: &str| ADDRESS.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
    Record::new("MailingAddress")
        .with("name", format!("{} Sandbox", order.first_name()))
        .with("firstName", order.first_name())
        .with("lastName", "Sandbox")
        .with("company", Out::Null)
        .with("address1", field("address1"))
        .with("address2", Out::Null)
        .with("zip", field("zip"))
        .with("city", field("city"))
        .with("provinceCode", field("province_code"))
        .with("countryCodeV2", field("country_code"))
        .with("phone", Out::Null)
        .out()
}

/// `LineItem`.
pub fn line_item(
    ctx: &Ctx<'_>,
    order_id: u64,
    line_id: u64,
    info: &ResolveInfo<'_>,
) -> Result<Out, FieldError> {
    let field = info.field_name();
    let state = ctx.state.borrow();
    let order = state
        .orders
        .get(&order_id)
        .ok_or_else(|| gone("Order", order_id))?;
    let line = order
        .line_items
        .iter()
        .find(|line| line.id == line_id)
        .ok_or_else(|| gone("LineItem", line_id))?;
    let currency = state.currency.as_str();
    Ok(match field {
        "id" => gid("LineItem", line_id).into(),
        "sku" => line.sku.clone().into(),
        "name" => format!("{} - {}", line.title, line.variant_title).into(),
        "title" => line.title.clone().into(),
        "variantTitle" => line.variant_title.clone().into(),
        "vendor" => Out::Null,
        "quantity" => line.quantity.into(),
        "currentQuantity" => line.current_quantity().into(),
        "unfulfilledQuantity" => line.unfulfilled().into(),
        "refundableQuantity" => line.current_quantity().into(),
        "fulfillableQuantity" => line.unfulfilled().into(),
        "restockable" => true.into(),
        "nonFulfillableQuantity" => line.refunded.into(),
        "requiresShipping" | "taxable" => true.into(),
        "isGiftCard" => false.into(),
        "variant" => state
            .variants
            .contains_key(&line.variant_id)
            .then_some(Ref::Variant(line.variant_id))
            .into(),
        "product" => state
            .products
            .contains_key(&line.product_id)
            .then_some(Ref::Product(line.product_id))
            .into(),
        "originalUnitPriceSet"
        | "discountedUnitPriceSet"
        | "discountedUnitPriceAfterAllDiscountsSet" => money_bag(line.price, currency),
        "originalTotalSet" | "discountedTotalSet" => {
            money_bag(line.price * Decimal::from(line.quantity), currency)
        }
        "totalDiscountSet" => money_bag(Decimal::ZERO, currency),
        "taxLines" | "discountAllocations" | "duties" => Out::List(Vec::new()),
        _ => return Err(unimplemented("LineItem", field)),
    })
}

/// `FulfillmentOrder`.
pub fn fulfillment_order(
    ctx: &Ctx<'_>,
    id: u64,
    info: &ResolveInfo<'_>,
) -> Result<Out, FieldError> {
    let field = info.field_name();
    let state = ctx.state.borrow();
    let fo = state
        .fulfillment_orders
        .get(&id)
        .ok_or_else(|| gone("FulfillmentOrder", id))?;
    Ok(match field {
        "id" => gid("FulfillmentOrder", id).into(),
        "status" => fo.status.graphql().into(),
        "requestStatus" => "UNSUBMITTED".into(),
        "createdAt" => iso(fo.created_at).into(),
        "updatedAt" => iso(fo.updated_at).into(),
        "orderId" => gid("Order", fo.order_id).into(),
        "orderName" => state.orders.get(&fo.order_id).map(|o| o.name()).into(),
        "order" => Ref::Order(fo.order_id).into(),
        "assignedLocation" => {
            let name = state.locations.get(&fo.location_id).map(|l| l.name.clone());
            Record::new("FulfillmentOrderAssignedLocation")
                .with("name", name)
                .with("location", Ref::Location(fo.location_id))
                .out()
        }
        "lineItems" => {
            let items = fo
                .lines
                .iter()
                .map(|line| (line.id, Ref::FulfillmentOrderLine(id, line.id)))
                .collect();
            connection(info, items)?
        }
        _ => return Err(unimplemented("FulfillmentOrder", field)),
    })
}

/// `FulfillmentOrderLineItem`.
pub fn fulfillment_order_line(
    ctx: &Ctx<'_>,
    fo_id: u64,
    line_id: u64,
    info: &ResolveInfo<'_>,
) -> Result<Out, FieldError> {
    let field = info.field_name();
    let state = ctx.state.borrow();
    let fo = state
        .fulfillment_orders
        .get(&fo_id)
        .ok_or_else(|| gone("FulfillmentOrder", fo_id))?;
    let line = fo
        .lines
        .iter()
        .find(|line| line.id == line_id)
        .ok_or_else(|| gone("FulfillmentOrderLineItem", line_id))?;
    let order_line = state
        .orders
        .get(&fo.order_id)
        .and_then(|order| order.line_items.iter().find(|l| l.id == line.line_item_id));
    Ok(match field {
        "id" => gid("FulfillmentOrderLineItem", line_id).into(),
        "totalQuantity" => line.total_quantity.into(),
        "remainingQuantity" => line.remaining_quantity.into(),
        "lineItem" => Ref::LineItem(fo.order_id, line.line_item_id).into(),
        "sku" => order_line.map(|l| l.sku.clone()).into(),
        "variant" => order_line.map(|l| Ref::Variant(l.variant_id)).into(),
        "inventoryItemId" => order_line
            .and_then(|l| state.variants.get(&l.variant_id))
            .map(|v| gid("InventoryItem", v.inventory_item_id))
            .into(),
        _ => return Err(unimplemented("FulfillmentOrderLineItem", field)),
    })
}

/// `Fulfillment`.
pub fn fulfillment(ctx: &Ctx<'_>, id: u64, info: &ResolveInfo<'_>) -> Result<Out, FieldError> {
    let field = info.field_name();
    let state = ctx.state.borrow();
    let f = state
        .fulfillments
        .get(&id)
        .ok_or_else(|| gone("Fulfillment", id))?;
    Ok(match field {
        "id" => gid("Fulfillment", id).into(),
        "legacyResourceId" => id.to_string().into(),
        "name" => f.name.clone().into(),
        "status" => "SUCCESS".into(),
        "displayStatus" => "FULFILLED".into(),
        "createdAt" | "updatedAt" => iso(f.created_at).into(),
        "order" => Ref::Order(f.order_id).into(),
        "location" => Ref::Location(f.location_id).into(),
        "totalQuantity" => f.lines.iter().map(|(_, _, q)| q).sum::<i64>().into(),
        "trackingInfo" => Out::List(
            f.tracking
                .iter()
                .map(|t| {
                    Record::new("FulfillmentTrackingInfo")
                        .with("company", t.company.clone())
                        .with("number", t.number.clone())
                        .with("url", t.url.clone())
                        .out()
                })
                .collect(),
        ),
        "fulfillmentLineItems" => {
            let items = f
                .lines
                .iter()
                .map(|(line, _, _)| (*line, Ref::FulfillmentLine(id, *line)))
                .collect();
            connection(info, items)?
        }
        _ => return Err(unimplemented("Fulfillment", field)),
    })
}

/// `FulfillmentLineItem`.
pub fn fulfillment_line(
    ctx: &Ctx<'_>,
    f_id: u64,
    line_id: u64,
    info: &ResolveInfo<'_>,
) -> Result<Out, FieldError> {
    let field = info.field_name();
    let state = ctx.state.borrow();
    let f = state
        .fulfillments
        .get(&f_id)
        .ok_or_else(|| gone("Fulfillment", f_id))?;
    let (_, order_line, quantity) = f
        .lines
        .iter()
        .find(|(id, _, _)| *id == line_id)
        .copied()
        .ok_or_else(|| gone("FulfillmentLineItem", line_id))?;
    Ok(match field {
        "id" => gid("FulfillmentLineItem", line_id).into(),
        "quantity" => quantity.into(),
        "lineItem" => Ref::LineItem(f.order_id, order_line).into(),
        _ => return Err(unimplemented("FulfillmentLineItem", field)),
    })
}

/// `Refund`.
pub fn refund(ctx: &Ctx<'_>, id: u64, info: &ResolveInfo<'_>) -> Result<Out, FieldError> {
    let field = info.field_name();
    let state = ctx.state.borrow();
    let refund = state.refunds.get(&id).ok_or_else(|| gone("Refund", id))?;
    let currency = state.currency.as_str();
    Ok(match field {
        "id" => gid("Refund", id).into(),
        "legacyResourceId" => id.to_string().into(),
        "note" => refund.note.clone().into(),
        "createdAt" | "updatedAt" => iso(refund.created_at).into(),
        "order" => Ref::Order(refund.order_id).into(),
        "totalRefundedSet" => money_bag(refund.total, currency),
        "refundLineItems" => {
            let items = refund
                .lines
                .iter()
                .map(|line| (line.id, Ref::RefundLine(id, line.id)))
                .collect();
            connection(info, items)?
        }
        "duties" => Out::List(Vec::new()),
        "refundShippingLines" | "orderAdjustments" => connection(info, Vec::new())?,
        "transactions" => {
            let record = transaction(
                refund.id + 1,
                "REFUND",
                refund.total,
                refund.created_at,
                currency,
            );
            let Out::Obj(r) = record else {
                return Err(unimplemented("Refund", field));
            };
            connection(info, vec![(refund.id + 1, r)])?
        }
        _ => return Err(unimplemented("Refund", field)),
    })
}

/// `RefundLineItem`.
pub fn refund_line(
    ctx: &Ctx<'_>,
    refund_id: u64,
    line_id: u64,
    info: &ResolveInfo<'_>,
) -> Result<Out, FieldError> {
    let field = info.field_name();
    let state = ctx.state.borrow();
    let refund = state
        .refunds
        .get(&refund_id)
        .ok_or_else(|| gone("Refund", refund_id))?;
    let line = refund
        .lines
        .iter()
        .find(|line| line.id == line_id)
        .ok_or_else(|| gone("RefundLineItem", line_id))?;
    let currency = state.currency.as_str();
    let unit = if line.quantity == 0 {
        Decimal::ZERO
    } else {
        line.subtotal / Decimal::from(line.quantity)
    };
    Ok(match field {
        "id" => gid("RefundLineItem", line_id).into(),
        "quantity" => line.quantity.into(),
        "restockType" => line.restock_type.clone().into(),
        "restocked" => (line.restock_type != "NO_RESTOCK").into(),
        "location" => line.location_id.map(Ref::Location).into(),
        "lineItem" => Ref::LineItem(refund.order_id, line.line_item_id).into(),
        "subtotalSet" => money_bag(line.subtotal, currency),
        "priceSet" => money_bag(unit, currency),
        "totalTaxSet" => money_bag(Decimal::ZERO, currency),
        _ => return Err(unimplemented("RefundLineItem", field)),
    })
}

/// An `OrderTransaction` (the sandbox's payments are manual and always succeed).
fn transaction(
    id: u64,
    kind: &str,
    amount: Decimal,
    at: chrono::DateTime<chrono::Utc>,
    currency: &str,
) -> Out {
    Record::new("OrderTransaction")
        .with("id", gid("OrderTransaction", id))
        .with("kind", kind)
        .with("status", "SUCCESS")
        .with("gateway", "manual")
        .with("test", false)
        .with("amountSet", money_bag(amount, currency))
        .with("createdAt", iso(at))
        .with("processedAt", iso(at))
        .out()
}
