//! The admin API over HTTP (`/sandbox/...`), for the demo and anything out of process:
//! the same operations as [`super::Admin`], JSON in and out. Ids are JSON integers.
//!
//! - `GET /sandbox/health`
//! - `POST /sandbox/locations {name}` -> `{id, gid}`
//! - `POST /sandbox/products {title, variants: [{sku, price, stock: {"<location id>": qty}}]}`
//!   -> `{product_id, variants: [{variant_id, inventory_item_id, sku}]}`
//! - `POST /sandbox/levels {inventory_item_id, location_id, available}`; `GET /sandbox/levels`
//!   (every quantity name per level)
//! - `POST /sandbox/orders {lines: [{sku | variant_id, quantity}], location_id?, email?, paid?}`
//!   -> `{id, gid}`; `GET /sandbox/orders/{id}`
//! - `POST /sandbox/orders/{id}/cancel {restock}`, `.../paid`, `.../fulfil {tracking_number?}`,
//!   `.../refund {lines: [{line_item_id, quantity, restock_type, location_id?}]}`
//! - `GET /sandbox/faults` (config and counters); `PUT /sandbox/faults {<FaultConfig>, seed?}`
//! - `GET /sandbox/stats` (counters, fault counters, throttle status);
//!   `POST /sandbox/bucket {available}`
//! - `POST /sandbox/webhooks {topic, uri}`; `GET /sandbox/webhooks`; `GET /sandbox/deliveries`
//! - `GET /sandbox/bulk/{id}.jsonl` (bulk operation results)

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Method, Response};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::Shared;
use super::admin::Admin;
use super::faults::FaultConfig;
use super::orders::OrderSpec;
use super::server::json_response;

fn bad(message: impl Into<String>) -> Response<Full<Bytes>> {
    json_response(400, &json!({"error": message.into()}))
}

fn u64_of(value: &Value, key: &str) -> Option<u64> {
    value.get(key).and_then(|v| {
        v.as_u64()
            .or_else(|| v.as_str().and_then(|s| s.rsplit('/').next()?.parse().ok()))
    })
}

/// Handles `/sandbox/...`.
pub async fn handle(
    shared: &Arc<Shared>,
    method: &Method,
    path: &str,
    _query: Option<&str>,
    body: &[u8],
) -> Response<Full<Bytes>> {
    let admin = Admin::new(shared.clone());
    let input: Value = if body.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice(body) {
            Ok(value) => value,
            Err(error) => return bad(format!("invalid JSON: {error}")),
        }
    };
    let parts: Vec<&str> = path.trim_start_matches("/sandbox/").split('/').collect();
    match (method.clone(), parts.as_slice()) {
        (Method::GET, ["health"]) => json_response(200, &json!({"ok": true})),
        (Method::GET, ["bulk", file]) => {
            let id = file.trim_end_matches(".jsonl").parse::<u64>().ok();
            let result = id.and_then(|id| {
                admin.with_state(|s| s.bulk_operations.get(&id).and_then(|op| op.result.clone()))
            });
            match result {
                Some(text) => {
                    let mut response = Response::new(Full::new(Bytes::from(text)));
                    response.headers_mut().insert(
                        hyper::header::CONTENT_TYPE,
                        hyper::header::HeaderValue::from_static("application/jsonl"),
                    );
                    response
                }
                None => json_response(404, &json!({"error": "no such bulk result"})),
            }
        }
        (Method::POST, ["locations"]) => {
            let name = input
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("Warehouse");
            let id = admin.add_location(name);
            json_response(
                201,
                &json!({"id": id, "gid": super::state::gid("Location", id)}),
            )
        }
        (Method::POST, ["products"]) => {
            let title = input
                .get("title")
                .and_then(Value::as_str)
                .unwrap_or("Product");
            let variants: Vec<(String, Decimal, Value)> = input
                .get("variants")
                .and_then(Value::as_array)
                .map(|variants| {
                    variants
                        .iter()
                        .map(|v| {
                            (
                                v.get("sku")
                                    .and_then(Value::as_str)
                                    .unwrap_or("")
                                    .to_owned(),
                                v.get("price")
                                    .and_then(|p| {
                                        p.as_str()
                                            .map(str::to_owned)
                                            .or_else(|| p.as_f64().map(|f| f.to_string()))
                                    })
                                    .and_then(|p| p.parse().ok())
                                    .unwrap_or(Decimal::ZERO),
                                v.get("stock").cloned().unwrap_or(json!({})),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            if variants.is_empty() {
                return bad(
                    "a product needs variants: [{sku, price, stock: {<location id>: qty}}]",
                );
            }
            let refs: Vec<(&str, Decimal)> = variants
                .iter()
                .map(|(sku, price, _)| (sku.as_str(), *price))
                .collect();
            let created = admin.add_product(title, &refs);
            for (variant, (_, _, stock)) in created.variants.iter().zip(&variants) {
                if let Some(stock) = stock.as_object() {
                    for (location, quantity) in stock {
                        if let (Ok(location), Some(quantity)) =
                            (location.parse::<u64>(), quantity.as_i64())
                        {
                            admin.stock(variant.inventory_item_id, location, quantity);
                        }
                    }
                }
            }
            json_response(201, &serde_json::to_value(&created).unwrap_or_default())
        }
        (Method::POST, ["levels"]) => {
            let (Some(item), Some(location)) = (
                u64_of(&input, "inventory_item_id"),
                u64_of(&input, "location_id"),
            ) else {
                return bad("need inventory_item_id and location_id");
            };
            admin.stock(
                item,
                location,
                input.get("available").and_then(Value::as_i64).unwrap_or(0),
            );
            json_response(200, &json!({"ok": true}))
        }
        (Method::GET, ["levels"]) => {
            let levels: Vec<Value> = admin
                .levels()
                .into_iter()
                .map(|((item, location), level)| {
                    let mut row = json!({"inventory_item_id": item, "location_id": location});
                    for name in super::state::QuantityName::ALL {
                        row[name.as_str()] = json!(level.get(name));
                    }
                    row
                })
                .collect();
            json_response(200, &json!(levels))
        }
        (Method::POST, ["orders"]) => {
            let mut lines = Vec::new();
            for line in input
                .get("lines")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
            {
                let variant = u64_of(&line, "variant_id").or_else(|| {
                    line.get("sku")
                        .and_then(Value::as_str)
                        .and_then(|sku| admin.variant_by_sku(sku))
                });
                let Some(variant) = variant else {
                    return bad(format!("unknown line {line}"));
                };
                lines.push((
                    variant,
                    line.get("quantity").and_then(Value::as_i64).unwrap_or(1),
                ));
            }
            let spec = OrderSpec {
                lines,
                location_id: u64_of(&input, "location_id"),
                email: input
                    .get("email")
                    .and_then(Value::as_str)
                    .unwrap_or("buyer@example.com")
                    .to_owned(),
                paid: input.get("paid").and_then(Value::as_bool).unwrap_or(true),
            };
            match admin.place_order(&spec) {
                Ok(id) => json_response(
                    201,
                    &json!({"id": id, "gid": super::state::gid("Order", id)}),
                ),
                Err(error) => bad(error.to_string()),
            }
        }
        (Method::GET, ["orders", id]) => match id.parse().ok().and_then(|id| admin.order(id)) {
            Some(order) => json_response(
                200,
                &json!({
                    "id": order.id,
                    "name": order.name(),
                    "financial_status": order.financial_status.rest(),
                    "fulfillment_status": order.fulfillment_status(),
                    "cancelled": order.cancelled_at.is_some(),
                    "line_items": order.line_items.iter().map(|l| json!({
                        "id": l.id, "sku": l.sku, "quantity": l.quantity,
                        "fulfilled": l.fulfilled, "refunded": l.refunded,
                    })).collect::<Vec<_>>(),
                }),
            ),
            None => json_response(404, &json!({"error": "no such order"})),
        },
        (Method::POST, ["orders", id, action]) => {
            let Ok(id) = id.parse::<u64>() else {
                return bad("order id must be a number");
            };
            let result = match *action {
                "cancel" => admin
                    .cancel_order(
                        id,
                        input
                            .get("restock")
                            .and_then(Value::as_bool)
                            .unwrap_or(true),
                    )
                    .map(|()| json!({"ok": true})),
                "paid" => admin.mark_paid(id).map(|()| json!({"ok": true})),
                "fulfil" | "fulfill" => admin
                    .fulfil_order(id, input.get("tracking_number").and_then(Value::as_str))
                    .map(|f| json!({"fulfillment_id": f})),
                "refund" => {
                    let lines: Vec<(u64, i64, String, Option<u64>)> = input
                        .get("lines")
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default()
                        .iter()
                        .map(|l| {
                            (
                                u64_of(l, "line_item_id").unwrap_or(0),
                                l.get("quantity").and_then(Value::as_i64).unwrap_or(1),
                                l.get("restock_type")
                                    .and_then(Value::as_str)
                                    .unwrap_or("no_restock")
                                    .to_uppercase(),
                                u64_of(l, "location_id"),
                            )
                        })
                        .collect();
                    let refs: Vec<(u64, i64, &str, Option<u64>)> = lines
                        .iter()
                        .map(|(a, b, c, d)| (*a, *b, c.as_str(), *d))
                        .collect();
                    admin.refund(id, &refs).map(|r| json!({"refund_id": r}))
                }
                _ => return json_response(404, &json!({"error": "unknown order action"})),
            };
            match result {
                Ok(value) => json_response(200, &value),
                Err(error) => bad(error.to_string()),
            }
        }
        (Method::GET, ["faults"]) => json_response(
            200,
            &json!({"config": admin.faults(), "counters": admin.fault_counters()}),
        ),
        (Method::PUT | Method::POST, ["faults"]) => {
            match serde_json::from_value::<FaultConfig>(input.clone()) {
                Ok(config) => {
                    if let Some(seed) = input.get("seed").and_then(Value::as_u64) {
                        admin.reseed(seed);
                    }
                    admin.set_faults(config);
                    json_response(200, &json!({"ok": true}))
                }
                Err(error) => bad(error.to_string()),
            }
        }
        (Method::GET, ["stats"]) => json_response(
            200,
            &json!({"stats": admin.stats(), "faults": admin.fault_counters(), "throttle_status": admin.throttle_status().json()}),
        ),
        (Method::POST, ["bucket"]) => {
            admin.set_bucket(
                input
                    .get("available")
                    .and_then(Value::as_f64)
                    .unwrap_or(0.0),
            );
            json_response(200, &admin.throttle_status().json())
        }
        (Method::GET, ["deliveries"]) => json_response(
            200,
            &serde_json::to_value(admin.deliveries()).unwrap_or_default(),
        ),
        (Method::GET, ["webhooks"]) => json_response(
            200,
            &json!(
                admin
                    .subscriptions()
                    .iter()
                    .map(|s| json!({"id": s.id, "topic": s.topic, "uri": s.uri}))
                    .collect::<Vec<_>>()
            ),
        ),
        (Method::POST, ["webhooks"]) => {
            let (Some(topic), Some(uri)) = (
                input.get("topic").and_then(Value::as_str),
                input.get("uri").and_then(Value::as_str),
            ) else {
                return bad("need topic and uri");
            };
            let id = admin.subscribe(topic, uri);
            json_response(201, &json!({"id": id}))
        }
        _ => json_response(
            404,
            &json!({"error": format!("no admin route {method} {path}")}),
        ),
    }
}
