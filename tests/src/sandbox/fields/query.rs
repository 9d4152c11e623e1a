//! `QueryRoot`: single objects by id, connections with their search filters, `node`.

use std::collections::BTreeSet;

use apollo_compiler::resolvers::{FieldError, ResolveInfo};

use super::super::connection::{connection, connection_ordered};
use super::super::objects::{Ctx, Out, Ref, args, unimplemented};
use super::super::search::{Filter, SearchValue};
use super::super::state::{Product, State, parse_gid, parse_level_gid, split_gid};
use super::inventory::query_arg;
use super::misc::topic_rest;

/// Resolves one root query field.
pub fn resolve(ctx: &Ctx<'_>, info: &ResolveInfo<'_>) -> Result<Out, FieldError> {
    let field = info.field_name();
    let state = ctx.state.borrow();
    let args = args(info);
    let id_text = args
        .get("id")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("");
    let by_id = |type_name: &str| parse_gid(type_name, id_text);
    let query = query_arg(info).unwrap_or_default();
    Ok(match field {
        "shop" => Ref::Shop.into(),
        "location" => match args.get("id").and_then(serde_json::Value::as_str) {
            // No id means the shop's primary location: the first one.
            None => state
                .locations
                .keys()
                .next()
                .map(|id| Ref::Location(*id))
                .into(),
            Some(_) => by_id("Location")
                .filter(|id| state.locations.contains_key(id))
                .map(Ref::Location)
                .into(),
        },
        "inventoryItem" => by_id("InventoryItem")
            .filter(|id| state.items.contains_key(id))
            .map(Ref::Item)
            .into(),
        "inventoryLevel" => parse_level_gid(id_text)
            .filter(|key| state.levels.contains_key(key))
            .map(|(item, location)| Ref::Level(item, location))
            .into(),
        "productVariant" => by_id("ProductVariant")
            .filter(|id| state.variants.contains_key(id))
            .map(Ref::Variant)
            .into(),
        "product" => by_id("Product")
            .filter(|id| state.products.contains_key(id))
            .map(Ref::Product)
            .into(),
        "order" => by_id("Order")
            .filter(|id| state.orders.contains_key(id))
            .map(Ref::Order)
            .into(),
        "fulfillmentOrder" => by_id("FulfillmentOrder")
            .filter(|id| state.fulfillment_orders.contains_key(id))
            .map(Ref::FulfillmentOrder)
            .into(),
        "fulfillment" => by_id("Fulfillment")
            .filter(|id| state.fulfillments.contains_key(id))
            .map(Ref::Fulfillment)
            .into(),
        "refund" => by_id("Refund")
            .filter(|id| state.refunds.contains_key(id))
            .map(Ref::Refund)
            .into(),
        "webhookSubscription" => by_id("WebhookSubscription")
            .filter(|id| state.subscriptions.contains_key(id))
            .map(Ref::Subscription)
            .into(),
        "bulkOperation" => by_id("BulkOperation")
            .filter(|id| state.bulk_operations.contains_key(id))
            .map(Ref::Bulk)
            .into(),
        "currentBulkOperation" => state
            .bulk_operations
            .keys()
            .next_back()
            .map(|id| Ref::Bulk(*id))
            .into(),
        "node" => node(&state, id_text).into(),
        "nodes" => Out::List(
            args.get("ids")
                .and_then(serde_json::Value::as_array)
                .map(|ids| {
                    ids.iter()
                        .map(|id| node(&state, id.as_str().unwrap_or("")).into())
                        .collect()
                })
                .unwrap_or_default(),
        ),
        "locations" => {
            let filter = Filter::parse(&query, &["id", "name", "active"])?;
            let include_inactive = args
                .get("includeInactive")
                .and_then(serde_json::Value::as_bool)
                == Some(true);
            let items = state
                .locations
                .values()
                .filter(|l| include_inactive || l.active)
                .filter(|l| {
                    filter.matches(|name| match name {
                        "id" => Some(SearchValue::Number(l.id)),
                        "name" => Some(SearchValue::Text(l.name.clone())),
                        "active" => Some(SearchValue::Text(l.active.to_string())),
                        _ => None,
                    })
                })
                .map(|l| (l.id, Ref::Location(l.id)))
                .collect();
            connection(info, items)?
        }
        "inventoryItems" => {
            let filter = Filter::parse(&query, &["id", "sku", "updated_at", "created_at"])?;
            let items = state
                .items
                .searched(&filter)
                .into_iter()
                .filter(|i| {
                    filter.matches(|name| match name {
                        "id" => Some(SearchValue::Number(i.id)),
                        "sku" => Some(SearchValue::Text(i.sku.clone())),
                        "updated_at" => Some(SearchValue::Time(i.updated_at)),
                        "created_at" => Some(SearchValue::Time(i.created_at)),
                        _ => None,
                    })
                })
                .map(|i| (i.id, Ref::Item(i.id)))
                .collect();
            connection(info, items)?
        }
        "productVariants" => {
            let filter = Filter::parse(
                &query,
                &[
                    "id",
                    "sku",
                    "product_id",
                    "title",
                    "updated_at",
                    "created_at",
                ],
            )?;
            let items = state
                .variants
                .searched(&filter)
                .into_iter()
                .filter(|v| {
                    filter.matches(|name| match name {
                        "id" => Some(SearchValue::Number(v.id)),
                        "sku" => Some(SearchValue::Text(v.sku.clone())),
                        "product_id" => Some(SearchValue::Number(v.product_id)),
                        "title" => Some(SearchValue::Text(v.title.clone())),
                        "updated_at" => Some(SearchValue::Time(v.updated_at)),
                        "created_at" => Some(SearchValue::Time(v.created_at)),
                        _ => None,
                    })
                })
                .collect::<Vec<_>>();
            let mut keyed = Vec::new();
            for v in items {
                let key = match sort_key(&args) {
                    "ID" => SortValue::Number(v.id),
                    "SKU" => SortValue::Text(v.sku.clone()),
                    "TITLE" => SortValue::Text(v.title.to_lowercase()),
                    other => return Err(unsupported_sort("productVariants", other)),
                };
                keyed.push((key, v.id, Ref::Variant(v.id)));
            }
            connection_ordered(info, sorted(keyed))?
        }
        "products" => {
            let filter = Filter::parse(
                &query,
                &["id", "sku", "title", "handle", "updated_at", "created_at"],
            )?;
            // Asked for SKUs: the products of the variants that have them.
            let products: Vec<&Product> = match state.variants.candidates(&filter) {
                Some(variants) => variants
                    .iter()
                    .filter_map(|v| state.variants.get(v))
                    .map(|v| v.product_id)
                    .collect::<BTreeSet<u64>>()
                    .iter()
                    .filter_map(|p| state.products.get(p))
                    .collect(),
                None => state.products.values().collect(),
            };
            let items = products
                .into_iter()
                .filter(|p| {
                    filter.matches(|name| match name {
                        "id" => Some(SearchValue::Number(p.id)),
                        "sku" => Some(SearchValue::Many(
                            p.variants
                                .iter()
                                .filter_map(|v| state.variants.get(v))
                                .map(|v| SearchValue::Text(v.sku.clone()))
                                .collect(),
                        )),
                        "title" => Some(SearchValue::Text(p.title.clone())),
                        "handle" => Some(SearchValue::Text(p.handle.clone())),
                        "updated_at" => Some(SearchValue::Time(p.updated_at)),
                        "created_at" => Some(SearchValue::Time(p.created_at)),
                        _ => None,
                    })
                })
                .collect::<Vec<_>>();
            let mut keyed = Vec::new();
            for p in items {
                let key = match sort_key(&args) {
                    "ID" => SortValue::Number(p.id),
                    "UPDATED_AT" => SortValue::Time(p.updated_at),
                    "CREATED_AT" => SortValue::Time(p.created_at),
                    "TITLE" => SortValue::Text(p.title.to_lowercase()),
                    other => return Err(unsupported_sort("products", other)),
                };
                keyed.push((key, p.id, Ref::Product(p.id)));
            }
            connection_ordered(info, sorted(keyed))?
        }
        "orders" => {
            let filter = Filter::parse(
                &query,
                &[
                    "id",
                    "name",
                    "updated_at",
                    "created_at",
                    "processed_at",
                    "financial_status",
                    "fulfillment_status",
                    "status",
                    "sku",
                ],
            )?;
            let items = state
                .orders
                .values()
                .filter(|o| {
                    filter.matches(|name| match name {
                        "id" => Some(SearchValue::Number(o.id)),
                        "name" => Some(SearchValue::Many(vec![
                            SearchValue::Text(o.name()),
                            SearchValue::Text(o.number.to_string()),
                        ])),
                        "updated_at" => Some(SearchValue::Time(o.updated_at)),
                        "created_at" | "processed_at" => Some(SearchValue::Time(o.created_at)),
                        "financial_status" => {
                            Some(SearchValue::Text(o.financial_status.rest().to_owned()))
                        }
                        "fulfillment_status" => {
                            Some(SearchValue::Text(match o.fulfillment_status() {
                                "FULFILLED" => "shipped".to_owned(),
                                "PARTIALLY_FULFILLED" => "partial".to_owned(),
                                _ => "unshipped".to_owned(),
                            }))
                        }
                        "status" => Some(SearchValue::Text(
                            if o.cancelled_at.is_some() {
                                "cancelled"
                            } else if o.closed_at.is_some() {
                                "closed"
                            } else {
                                "open"
                            }
                            .to_owned(),
                        )),
                        "sku" => Some(SearchValue::Many(
                            o.line_items
                                .iter()
                                .map(|l| SearchValue::Text(l.sku.clone()))
                                .collect(),
                        )),
                        _ => None,
                    })
                })
                .collect::<Vec<_>>();
            let mut keyed = Vec::new();
            for o in items {
                let key = match sort_key(&args) {
                    "PROCESSED_AT" | "CREATED_AT" => SortValue::Time(o.created_at),
                    "UPDATED_AT" => SortValue::Time(o.updated_at),
                    "ID" => SortValue::Number(o.id),
                    "ORDER_NUMBER" => SortValue::Number(o.number),
                    other => return Err(unsupported_sort("orders", other)),
                };
                keyed.push((key, o.id, Ref::Order(o.id)));
            }
            connection_ordered(info, sorted(keyed))?
        }
        "fulfillmentOrders" => {
            let filter = Filter::parse(
                &query,
                &[
                    "id",
                    "status",
                    "order_id",
                    "assigned_location_id",
                    "updated_at",
                ],
            )?;
            let include_closed = args
                .get("includeClosed")
                .and_then(serde_json::Value::as_bool)
                == Some(true);
            let items = state
                .fulfillment_orders
                .values()
                .filter(|fo| include_closed || fo.status.graphql() != "CLOSED")
                .filter(|fo| {
                    filter.matches(|name| match name {
                        "id" => Some(SearchValue::Number(fo.id)),
                        "status" => Some(SearchValue::Text(fo.status.graphql().to_owned())),
                        "order_id" => Some(SearchValue::Number(fo.order_id)),
                        "assigned_location_id" => Some(SearchValue::Number(fo.location_id)),
                        "updated_at" => Some(SearchValue::Time(fo.updated_at)),
                        _ => None,
                    })
                })
                .map(|fo| (fo.id, Ref::FulfillmentOrder(fo.id)))
                .collect();
            connection(info, items)?
        }
        "webhookSubscriptions" => {
            let topics: Option<Vec<String>> = args
                .get("topics")
                .and_then(serde_json::Value::as_array)
                .map(|topics| {
                    topics
                        .iter()
                        .filter_map(|t| t.as_str().map(topic_rest))
                        .collect()
                });
            let uri = args
                .get("uri")
                .or_else(|| args.get("callbackUrl"))
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned);
            let items = state
                .subscriptions
                .values()
                .filter(|s| {
                    topics
                        .as_ref()
                        .is_none_or(|topics| topics.contains(&s.topic))
                })
                .filter(|s| uri.as_ref().is_none_or(|uri| *uri == s.uri))
                .map(|s| (s.id, Ref::Subscription(s.id)))
                .collect();
            connection(info, items)?
        }
        _ => return Err(unimplemented("QueryRoot", field)),
    })
}

/// A value to order a connection by.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum SortValue {
    Number(u64),
    Text(String),
    Time(chrono::DateTime<chrono::Utc>),
}

fn sort_key(args: &serde_json::Map<String, serde_json::Value>) -> &str {
    args.get("sortKey")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("ID")
}

/// Orders by the key, then by id, as Shopify breaks ties.
fn sorted(mut keyed: Vec<(SortValue, u64, Ref)>) -> Vec<(u64, Ref)> {
    keyed.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    keyed.into_iter().map(|(_, id, r)| (id, r)).collect()
}

fn unsupported_sort(field: &str, key: &str) -> FieldError {
    super::super::objects::field_error(format!(
        "the Shopify sandbox does not implement sortKey {key} on {field}: add it to tests/src/sandbox/fields/query.rs"
    ))
}

/// The object a GID names, if it exists.
pub fn node(state: &State, id: &str) -> Option<Ref> {
    if let Some((item, location)) = parse_level_gid(id) {
        return state
            .levels
            .contains_key(&(item, location))
            .then_some(Ref::Level(item, location));
    }
    let (type_name, n) = split_gid(id)?;
    match type_name {
        "Location" => state.locations.contains_key(&n).then_some(Ref::Location(n)),
        "Product" => state.products.contains_key(&n).then_some(Ref::Product(n)),
        "ProductVariant" => state.variants.contains_key(&n).then_some(Ref::Variant(n)),
        "InventoryItem" => state.items.contains_key(&n).then_some(Ref::Item(n)),
        "Order" => state.orders.contains_key(&n).then_some(Ref::Order(n)),
        "FulfillmentOrder" => state
            .fulfillment_orders
            .contains_key(&n)
            .then_some(Ref::FulfillmentOrder(n)),
        "Fulfillment" => state
            .fulfillments
            .contains_key(&n)
            .then_some(Ref::Fulfillment(n)),
        "Refund" => state.refunds.contains_key(&n).then_some(Ref::Refund(n)),
        "WebhookSubscription" => state
            .subscriptions
            .contains_key(&n)
            .then_some(Ref::Subscription(n)),
        "BulkOperation" => state
            .bulk_operations
            .contains_key(&n)
            .then_some(Ref::Bulk(n)),
        "InventoryAdjustmentGroup" => state
            .adjustment_groups
            .contains_key(&n)
            .then_some(Ref::Group(n)),
        _ => None,
    }
}
