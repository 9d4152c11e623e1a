//! Webhook payloads, built from Shopify's own example payloads (the fixtures) with the
//! shop's real values filled in, so a payload carries every field Shopify's does even where
//! the sandbox has nothing better than the example's value. Ids are JSON integers (several
//! exceed 2^53, as real ones do).

use std::sync::OnceLock;

use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::state::{ADDRESS, BulkOperation, Order, State, gid, level_gid};

/// Every example payload in the fixtures: (topic, file text).
pub const EXAMPLES: &[(&str, &str)] = &[
    (
        "app/uninstalled",
        include_str!("../../fixtures/shopify/webhooks/app_uninstalled.json"),
    ),
    (
        "bulk_operations/finish",
        include_str!("../../fixtures/shopify/webhooks/bulk_operations_finish.json"),
    ),
    (
        "customers/create",
        include_str!("../../fixtures/shopify/webhooks/customers_create.json"),
    ),
    (
        "customers/update",
        include_str!("../../fixtures/shopify/webhooks/customers_update.json"),
    ),
    (
        "fulfillments/create",
        include_str!("../../fixtures/shopify/webhooks/fulfillments_create.json"),
    ),
    (
        "fulfillments/update",
        include_str!("../../fixtures/shopify/webhooks/fulfillments_update.json"),
    ),
    (
        "inventory_items/update",
        include_str!("../../fixtures/shopify/webhooks/inventory_items_update.json"),
    ),
    (
        "inventory_levels/update",
        include_str!("../../fixtures/shopify/webhooks/inventory_levels_update.json"),
    ),
    (
        "locations/update",
        include_str!("../../fixtures/shopify/webhooks/locations_update.json"),
    ),
    (
        "orders/cancelled",
        include_str!("../../fixtures/shopify/webhooks/orders_cancelled.json"),
    ),
    (
        "orders/create",
        include_str!("../../fixtures/shopify/webhooks/orders_create.json"),
    ),
    (
        "orders/edited",
        include_str!("../../fixtures/shopify/webhooks/orders_edited.json"),
    ),
    (
        "orders/fulfilled",
        include_str!("../../fixtures/shopify/webhooks/orders_fulfilled.json"),
    ),
    (
        "orders/paid",
        include_str!("../../fixtures/shopify/webhooks/orders_paid.json"),
    ),
    (
        "orders/partially_fulfilled",
        include_str!("../../fixtures/shopify/webhooks/orders_partially_fulfilled.json"),
    ),
    (
        "orders/updated",
        include_str!("../../fixtures/shopify/webhooks/orders_updated.json"),
    ),
    (
        "products/create",
        include_str!("../../fixtures/shopify/webhooks/products_create.json"),
    ),
    (
        "products/update",
        include_str!("../../fixtures/shopify/webhooks/products_update.json"),
    ),
    (
        "refunds/create",
        include_str!("../../fixtures/shopify/webhooks/refunds_create.json"),
    ),
];

/// The parsed example of `topic` (an empty object if there is none).
pub fn example(topic: &str) -> Value {
    static PARSED: OnceLock<Vec<(&'static str, Value)>> = OnceLock::new();
    let parsed = PARSED.get_or_init(|| {
        EXAMPLES
            .iter()
            .map(|(topic, text)| {
                (
                    *topic,
                    serde_json::from_str(text).unwrap_or_else(|_| json!({})),
                )
            })
            .collect()
    });
    parsed
        .iter()
        .find(|(name, _)| *name == topic)
        .map(|(_, value)| value.clone())
        .unwrap_or_else(|| json!({}))
}

/// A webhook timestamp, in the shop's offset form: `2026-11-23T12:00:00+00:00`.
pub fn stamp(time: chrono::DateTime<chrono::Utc>) -> String {
    time.to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

/// A REST decimal: `89.99`, `10.00`.
pub fn amount(value: Decimal) -> String {
    format!("{:.2}", value.round_dp(2))
}

/// A REST `*_set`.
pub fn money_set(value: Decimal, currency: &str) -> Value {
    let money = json!({"amount": amount(value), "currency_code": currency});
    json!({"shop_money": money, "presentment_money": money})
}

fn set(target: &mut Value, key: &str, value: Value) {
    if let Some(map) = target.as_object_mut() {
        map.insert(key.to_owned(), value);
    }
}

/// `inventory_levels/update`: only these five fields, as on Shopify.
pub fn inventory_level(state: &State, item: u64, location: u64) -> Value {
    let level = state.levels.get(&(item, location));
    let mut payload = example("inventory_levels/update");
    set(&mut payload, "inventory_item_id", json!(item));
    set(&mut payload, "location_id", json!(location));
    set(
        &mut payload,
        "available",
        json!(level.map(|l| l.available).unwrap_or(0)),
    );
    set(
        &mut payload,
        "updated_at",
        json!(level.and_then(|l| l.updated_at).map(stamp)),
    );
    set(
        &mut payload,
        "admin_graphql_api_id",
        json!(level_gid(item, location)),
    );
    payload
}

/// The order's buyer, as the GraphQL `Order.customer` names them.
fn customer(order: &Order) -> Value {
    let id = order.customer_id();
    json!({
        "id": id,
        "admin_graphql_api_id": gid("Customer", id),
        "email": order.email,
        "first_name": order.first_name(),
        "last_name": "Sandbox",
        "phone": null,
        "state": "enabled",
    })
}

/// The order's one address ([`ADDRESS`]), in the buyer's name.
fn address(order: &Order) -> Value {
    let mut address = json!({
        "name": format!("{} Sandbox", order.first_name()),
        "first_name": order.first_name(),
        "last_name": "Sandbox",
        "company": null,
        "address2": null,
        "phone": null,
    });
    for (key, value) in ADDRESS {
        set(&mut address, key, json!(value));
    }
    address
}

/// An order payload (`orders/*`), from the `topic` example.
pub fn order(state: &State, order_id: u64, topic: &str) -> Value {
    let mut payload = example(topic);
    let Some(order) = state.orders.get(&order_id) else {
        return payload;
    };
    let currency = state.currency.as_str();
    let line_template = payload
        .get("line_items")
        .and_then(Value::as_array)
        .and_then(|lines| lines.first().cloned())
        .unwrap_or_else(|| json!({}));
    let subtotal = order.subtotal();
    let current = order.current_subtotal();
    let zero = money_set(Decimal::ZERO, currency);
    for (key, value) in [
        ("id", json!(order.id)),
        ("admin_graphql_api_id", json!(gid("Order", order.id))),
        ("name", json!(order.name())),
        ("number", json!(order.number - 1000)),
        ("order_number", json!(order.number)),
        ("email", json!(order.email)),
        ("contact_email", json!(order.email)),
        ("created_at", json!(stamp(order.created_at))),
        ("processed_at", json!(stamp(order.created_at))),
        ("updated_at", json!(stamp(order.updated_at))),
        ("cancelled_at", json!(order.cancelled_at.map(stamp))),
        (
            "cancel_reason",
            json!(order.cancel_reason.as_ref().map(|r| r.to_lowercase())),
        ),
        ("closed_at", json!(order.closed_at.map(stamp))),
        ("currency", json!(currency)),
        ("presentment_currency", json!(currency)),
        ("financial_status", json!(order.financial_status.rest())),
        (
            "fulfillment_status",
            match order.fulfillment_status() {
                "FULFILLED" => json!("fulfilled"),
                "PARTIALLY_FULFILLED" => json!("partial"),
                _ => Value::Null,
            },
        ),
        ("location_id", json!(order.location_id)),
        ("subtotal_price", json!(amount(subtotal))),
        ("subtotal_price_set", money_set(subtotal, currency)),
        ("total_price", json!(amount(subtotal))),
        ("total_price_set", money_set(subtotal, currency)),
        ("total_line_items_price", json!(amount(subtotal))),
        ("total_line_items_price_set", money_set(subtotal, currency)),
        ("current_subtotal_price", json!(amount(current))),
        ("current_subtotal_price_set", money_set(current, currency)),
        ("current_total_price", json!(amount(current))),
        ("current_total_price_set", money_set(current, currency)),
        ("total_discounts", json!("0.00")),
        ("total_discounts_set", zero.clone()),
        ("current_total_discounts", json!("0.00")),
        ("current_total_discounts_set", zero.clone()),
        ("total_tax", json!("0.00")),
        ("total_tax_set", zero.clone()),
        ("current_total_tax", json!("0.00")),
        ("current_total_tax_set", zero.clone()),
        ("total_shipping_price_set", zero.clone()),
        ("current_shipping_price_set", zero),
        ("taxes_included", json!(false)),
        ("tax_lines", json!([])),
        ("discount_codes", json!([])),
        ("discount_applications", json!([])),
        ("shipping_lines", json!([])),
        ("payment_gateway_names", json!(["manual"])),
        ("test", json!(false)),
        (
            "total_outstanding",
            json!(if order.financial_status.rest() == "pending" {
                amount(subtotal)
            } else {
                "0.00".to_owned()
            }),
        ),
        (
            "fulfillments",
            Value::Array(
                order
                    .fulfillments
                    .iter()
                    .map(|f| fulfillment(state, *f))
                    .collect(),
            ),
        ),
        (
            "refunds",
            Value::Array(order.refunds.iter().map(|r| refund(state, *r)).collect()),
        ),
        ("customer", customer(order)),
        ("billing_address", address(order)),
        ("shipping_address", address(order)),
    ] {
        set(&mut payload, key, value);
    }
    let lines = order
        .line_items
        .iter()
        .map(|line| {
            let mut value = line_template.clone();
            for (key, field) in [
                ("id", json!(line.id)),
                ("admin_graphql_api_id", json!(gid("LineItem", line.id))),
                ("variant_id", json!(line.variant_id)),
                ("product_id", json!(line.product_id)),
                (
                    "product_exists",
                    json!(state.products.contains_key(&line.product_id)),
                ),
                ("sku", json!(line.sku)),
                ("title", json!(line.title)),
                ("variant_title", json!(line.variant_title)),
                (
                    "name",
                    json!(format!("{} - {}", line.title, line.variant_title)),
                ),
                ("quantity", json!(line.quantity)),
                ("current_quantity", json!(line.current_quantity())),
                ("fulfillable_quantity", json!(line.unfulfilled())),
                (
                    "fulfillment_status",
                    if line.unfulfilled() == 0 && line.fulfilled > 0 {
                        json!("fulfilled")
                    } else if line.fulfilled > 0 {
                        json!("partial")
                    } else {
                        Value::Null
                    },
                ),
                ("variant_inventory_management", json!("shopify")),
                ("price", json!(amount(line.price))),
                ("price_set", money_set(line.price, currency)),
                ("total_discount", json!("0.00")),
                ("total_discount_set", money_set(Decimal::ZERO, currency)),
                ("discount_allocations", json!([])),
                ("tax_lines", json!([])),
                ("duties", json!([])),
            ] {
                set(&mut value, key, field);
            }
            value
        })
        .collect();
    set(&mut payload, "line_items", Value::Array(lines));
    payload
}

/// `refunds/create`.
pub fn refund(state: &State, refund_id: u64) -> Value {
    let mut payload = example("refunds/create");
    let Some(refund) = state.refunds.get(&refund_id) else {
        return payload;
    };
    let currency = state.currency.as_str();
    let template = payload
        .get("refund_line_items")
        .and_then(Value::as_array)
        .and_then(|lines| lines.first().cloned())
        .unwrap_or_else(|| json!({}));
    let order = state.orders.get(&refund.order_id);
    let lines = refund
        .lines
        .iter()
        .map(|line| {
            let mut value = template.clone();
            let order_line =
                order.and_then(|o| o.line_items.iter().find(|l| l.id == line.line_item_id));
            for (key, field) in [
                ("id", json!(line.id)),
                ("line_item_id", json!(line.line_item_id)),
                ("quantity", json!(line.quantity)),
                ("restock_type", json!(line.restock_type.to_lowercase())),
                ("location_id", json!(line.location_id)),
                (
                    "subtotal",
                    json!(amount(line.subtotal).parse::<f64>().unwrap_or(0.0)),
                ),
                ("subtotal_set", money_set(line.subtotal, currency)),
                ("total_tax", json!(0)),
                ("total_tax_set", money_set(Decimal::ZERO, currency)),
            ] {
                set(&mut value, key, field);
            }
            if let (Some(order_line), Some(item)) = (order_line, value.get_mut("line_item")) {
                for (key, field) in [
                    ("id", json!(order_line.id)),
                    (
                        "admin_graphql_api_id",
                        json!(gid("LineItem", order_line.id)),
                    ),
                    ("variant_id", json!(order_line.variant_id)),
                    ("product_id", json!(order_line.product_id)),
                    ("sku", json!(order_line.sku)),
                    ("title", json!(order_line.title)),
                    ("quantity", json!(order_line.quantity)),
                    ("current_quantity", json!(order_line.current_quantity())),
                    ("price", json!(amount(order_line.price))),
                    ("price_set", money_set(order_line.price, currency)),
                ] {
                    set(item, key, field);
                }
            }
            value
        })
        .collect();
    for (key, value) in [
        ("id", json!(refund.id)),
        ("admin_graphql_api_id", json!(gid("Refund", refund.id))),
        ("order_id", json!(refund.order_id)),
        ("created_at", json!(stamp(refund.created_at))),
        ("processed_at", json!(stamp(refund.created_at))),
        ("note", json!(refund.note)),
        (
            "restock",
            json!(refund.lines.iter().any(|l| l.restock_type != "NO_RESTOCK")),
        ),
        ("refund_line_items", Value::Array(lines)),
        ("order_adjustments", json!([])),
        ("refund_shipping_lines", json!([])),
        (
            "transactions",
            json!([{
                "id": refund.id + 1,
                "admin_graphql_api_id": gid("OrderTransaction", refund.id + 1),
                "order_id": refund.order_id,
                "kind": "refund",
                "gateway": "manual",
                "status": "success",
                "amount": amount(refund.total),
                "currency": currency,
                "created_at": stamp(refund.created_at),
                "processed_at": stamp(refund.created_at),
            }]),
        ),
    ] {
        set(&mut payload, key, value);
    }
    payload
}

/// `fulfillments/create`.
pub fn fulfillment(state: &State, fulfillment_id: u64) -> Value {
    let mut payload = example("fulfillments/create");
    let Some(f) = state.fulfillments.get(&fulfillment_id) else {
        return payload;
    };
    let currency = state.currency.as_str();
    let template = payload
        .get("line_items")
        .and_then(Value::as_array)
        .and_then(|lines| lines.first().cloned())
        .unwrap_or_else(|| json!({}));
    let order = state.orders.get(&f.order_id);
    let lines = f
        .lines
        .iter()
        .filter_map(|(_, line_id, quantity)| {
            let line = order?.line_items.iter().find(|l| l.id == *line_id)?;
            let mut value = template.clone();
            for (key, field) in [
                ("id", json!(line.id)),
                ("admin_graphql_api_id", json!(gid("LineItem", line.id))),
                ("variant_id", json!(line.variant_id)),
                ("product_id", json!(line.product_id)),
                ("sku", json!(line.sku)),
                ("title", json!(line.title)),
                ("quantity", json!(quantity)),
                ("price", json!(amount(line.price))),
                ("price_set", money_set(line.price, currency)),
                ("fulfillment_status", json!("fulfilled")),
            ] {
                set(&mut value, key, field);
            }
            Some(value)
        })
        .collect();
    let tracking = f.tracking.first().cloned().unwrap_or_default();
    for (key, value) in [
        ("id", json!(f.id)),
        ("admin_graphql_api_id", json!(gid("Fulfillment", f.id))),
        ("order_id", json!(f.order_id)),
        ("name", json!(f.name)),
        ("status", json!("success")),
        ("location_id", json!(f.location_id)),
        ("created_at", json!(stamp(f.created_at))),
        ("updated_at", json!(stamp(f.created_at))),
        ("email", json!(order.map(|o| o.email.clone()))),
        ("tracking_company", json!(tracking.company)),
        ("tracking_number", json!(tracking.number)),
        (
            "tracking_numbers",
            json!(
                f.tracking
                    .iter()
                    .filter_map(|t| t.number.clone())
                    .collect::<Vec<_>>()
            ),
        ),
        ("tracking_url", json!(tracking.url)),
        (
            "tracking_urls",
            json!(
                f.tracking
                    .iter()
                    .filter_map(|t| t.url.clone())
                    .collect::<Vec<_>>()
            ),
        ),
        ("line_items", Value::Array(lines)),
    ] {
        set(&mut payload, key, value);
    }
    payload
}

/// `bulk_operations/finish`.
pub fn bulk_finish(op: &BulkOperation) -> Value {
    let mut payload = example("bulk_operations/finish");
    for (key, value) in [
        ("admin_graphql_api_id", json!(gid("BulkOperation", op.id))),
        ("created_at", json!(stamp(op.created_at))),
        ("completed_at", json!(op.completed_at.map(stamp))),
        (
            "error_code",
            json!(op.error_code.as_ref().map(|c| c.to_lowercase())),
        ),
        ("status", json!(op.status.to_lowercase())),
        ("type", json!("query")),
    ] {
        set(&mut payload, key, value);
    }
    payload
}

/// `products/update` (and `products/create`).
pub fn product(state: &State, product_id: u64, topic: &str) -> Value {
    let mut payload = example(topic);
    let Some(product) = state.products.get(&product_id) else {
        return payload;
    };
    let template = payload
        .get("variants")
        .and_then(Value::as_array)
        .and_then(|variants| variants.first().cloned())
        .unwrap_or_else(|| json!({}));
    let variants: Vec<Value> = product
        .variants
        .iter()
        .filter_map(|id| state.variants.get(id))
        .enumerate()
        .map(|(index, variant)| {
            let available = state.available_total(variant.inventory_item_id);
            let mut value = template.clone();
            for (key, field) in [
                ("id", json!(variant.id)),
                (
                    "admin_graphql_api_id",
                    json!(gid("ProductVariant", variant.id)),
                ),
                ("product_id", json!(product.id)),
                ("title", json!(variant.title)),
                ("option1", json!(variant.title)),
                ("sku", json!(variant.sku)),
                ("price", json!(amount(variant.price))),
                (
                    "compare_at_price",
                    variant
                        .compare_at_price
                        .map_or(Value::Null, |p| json!(amount(p))),
                ),
                ("barcode", json!(variant.barcode)),
                ("position", json!(index + 1)),
                ("inventory_item_id", json!(variant.inventory_item_id)),
                ("inventory_quantity", json!(available)),
                ("old_inventory_quantity", json!(available)),
                ("created_at", json!(stamp(variant.created_at))),
                ("updated_at", json!(stamp(variant.updated_at))),
            ] {
                set(&mut value, key, field);
            }
            value
        })
        .collect();
    for (key, value) in [
        ("id", json!(product.id)),
        ("admin_graphql_api_id", json!(gid("Product", product.id))),
        ("title", json!(product.title)),
        ("handle", json!(product.handle)),
        ("body_html", json!(product.description_html)),
        ("vendor", json!(product.vendor)),
        ("created_at", json!(stamp(product.created_at))),
        ("updated_at", json!(stamp(product.updated_at))),
        (
            "variant_gids",
            json!(product
                .variants
                .iter()
                .map(|id| json!({"admin_graphql_api_id": gid("ProductVariant", *id), "updated_at": stamp(product.updated_at)}))
                .collect::<Vec<_>>()),
        ),
        ("variants", Value::Array(variants)),
    ] {
        set(&mut payload, key, value);
    }
    payload
}
