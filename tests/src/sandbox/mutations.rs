//! `Mutation` fields. Idempotent fields are answered from the decision taken before
//! execution (replay, mismatch, concurrent) or applied and their payload stored.

use apollo_compiler::resolvers::{FieldError, ResolveInfo};
use serde_json::Value;

use super::fields::misc::topic_rest;
use super::fulfillment_moves;
use super::inventory::{self, UserError};
use super::objects::{Ctx, KeyDecision, Out, Record, Ref, args, unimplemented};
use super::orders;
use super::state::{Subscription, gid, now, parse_gid, text_or};

/// Mutations that require `@idempotent(key:)` since 2026-04.
pub const IDEMPOTENT: &[&str] = &[
    "inventorySetQuantities",
    "inventoryAdjustQuantities",
    "inventoryMoveQuantities",
    "inventoryActivate",
    "refundCreate",
    "inventoryTransferCreate",
    "inventoryTransferCreateAsReadyToShip",
    "inventoryShipmentCreate",
    "inventoryShipmentCreateInTransit",
    "inventoryShipmentReceive",
];

/// Resolves one root mutation field.
pub fn resolve(ctx: &Ctx<'_>, info: &ResolveInfo<'_>) -> Result<Out, FieldError> {
    let response_key = info
        .field_selections()
        .first()
        .map(|field| field.response_key().as_str().to_owned())
        .unwrap_or_default();
    match ctx.keys.get(&response_key) {
        Some(KeyDecision::Replay(out)) => Ok(out.clone()),
        Some(KeyDecision::Mismatch) => Ok(refused(
            info,
            UserError {
                field: Vec::new(),
                message:
                    "The same idempotency key cannot be used with different operation parameters."
                        .to_owned(),
                code: Some("IDEMPOTENCY_KEY_PARAMETER_MISMATCH"),
            },
        )),
        Some(KeyDecision::Concurrent) => Ok(refused(
            info,
            UserError {
                field: Vec::new(),
                message: "This request is currently in progress, please try again.".to_owned(),
                code: Some("IDEMPOTENCY_CONCURRENT_REQUEST"),
            },
        )),
        Some(KeyDecision::PreviousAttemptFailed) => Ok(refused(
            info,
            UserError {
                field: Vec::new(),
                message: "A previous request with this idempotency key failed. Retry with a new idempotency key.".to_owned(),
                code: Some("IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED"),
            },
        )),
        Some(KeyDecision::Fresh(key)) => {
            let out = apply(ctx, info)?;
            ctx.stored.borrow_mut().push((key.clone(), out.clone()));
            Ok(out)
        }
        None => apply(ctx, info),
    }
}

fn apply(ctx: &Ctx<'_>, info: &ResolveInfo<'_>) -> Result<Out, FieldError> {
    let field = info.field_name();
    let args = args(info);
    let input = args.get("input").cloned().unwrap_or(Value::Null);
    let mut state = ctx.state.borrow_mut();
    let out = match field {
        "inventorySetQuantities" | "inventoryAdjustQuantities" => {
            let result = if field == "inventorySetQuantities" {
                inventory::set_quantities(&mut state, &input)
            } else {
                inventory::adjust_quantities(&mut state, &input)
            };
            match result {
                Ok(group) => payload(
                    info,
                    vec![("inventoryAdjustmentGroup", group.map(Ref::Group).into())],
                    Vec::new(),
                ),
                Err(errors) => payload(info, vec![("inventoryAdjustmentGroup", Out::Null)], errors),
            }
        }
        "productVariantsBulkUpdate" => {
            match super::products::bulk_update_variants(&mut state, &args) {
                Ok((product, variants)) => payload(
                    info,
                    vec![
                        ("product", Ref::Product(product).into()),
                        (
                            "productVariants",
                            Out::List(
                                variants
                                    .into_iter()
                                    .map(|v| Ref::Variant(v).into())
                                    .collect(),
                            ),
                        ),
                    ],
                    Vec::new(),
                ),
                Err(errors) => payload(
                    info,
                    vec![("product", Out::Null), ("productVariants", Out::Null)],
                    errors,
                ),
            }
        }
        "productSet" => match super::products::product_set(&mut state, &args) {
            Ok(product) => payload(
                info,
                vec![
                    ("product", Ref::Product(product).into()),
                    ("productSetOperation", Out::Null),
                ],
                Vec::new(),
            ),
            Err(errors) => payload(
                info,
                vec![("product", Out::Null), ("productSetOperation", Out::Null)],
                errors,
            ),
        },
        "productUpdate" => match super::products::update_product(&mut state, &args) {
            Ok(product) => payload(
                info,
                vec![("product", Ref::Product(product).into())],
                Vec::new(),
            ),
            Err(errors) => payload(info, vec![("product", Out::Null)], errors),
        },
        "inventoryActivate" => {
            let item = parse_gid("InventoryItem", text_or(args.get("inventoryItemId"), ""))
                .filter(|id| state.items.contains_key(id));
            let location = parse_gid("Location", text_or(args.get("locationId"), ""))
                .filter(|id| state.locations.contains_key(id));
            match (item, location) {
                (Some(item), Some(location)) => {
                    let available = args.get("available").and_then(Value::as_i64);
                    inventory::activate(&mut state, item, location, available);
                    payload(
                        info,
                        vec![("inventoryLevel", Ref::Level(item, location).into())],
                        Vec::new(),
                    )
                }
                _ => payload(
                    info,
                    vec![("inventoryLevel", Out::Null)],
                    vec![UserError {
                        field: vec![
                            if item.is_none() {
                                "inventoryItemId"
                            } else {
                                "locationId"
                            }
                            .to_owned(),
                        ],
                        message: if item.is_none() {
                            "Inventory item does not exist".to_owned()
                        } else {
                            "Location does not exist".to_owned()
                        },
                        code: None,
                    }],
                ),
            }
        }
        "fulfillmentCreate" => {
            let fulfillment = args.get("fulfillment").cloned().unwrap_or(Value::Null);
            match orders::fulfil(&mut state, &fulfillment) {
                Ok(id) => payload(
                    info,
                    vec![("fulfillment", Ref::Fulfillment(id).into())],
                    Vec::new(),
                ),
                Err(errors) => payload(info, vec![("fulfillment", Out::Null)], errors),
            }
        }
        "fulfillmentTrackingInfoUpdate" => {
            let id = parse_gid("Fulfillment", text_or(args.get("fulfillmentId"), ""));
            let input = args
                .get("trackingInfoInput")
                .cloned()
                .unwrap_or(Value::Null);
            let notify = args.get("notifyCustomer").and_then(Value::as_bool);
            match orders::update_tracking(&mut state, id, &input, notify) {
                Ok(id) => payload(
                    info,
                    vec![("fulfillment", Ref::Fulfillment(id).into())],
                    Vec::new(),
                ),
                Err(errors) => payload(info, vec![("fulfillment", Out::Null)], errors),
            }
        }
        "fulfillmentOrderMove" => {
            let id = parse_gid("FulfillmentOrder", text_or(args.get("id"), ""));
            let to = parse_gid("Location", text_or(args.get("newLocationId"), ""));
            let lines = args.get("fulfillmentOrderLineItems");
            match fulfillment_moves::move_order(&mut state, id, to, lines) {
                Ok((moved, original)) => payload(
                    info,
                    vec![
                        ("movedFulfillmentOrder", Ref::FulfillmentOrder(moved).into()),
                        (
                            "originalFulfillmentOrder",
                            Ref::FulfillmentOrder(original).into(),
                        ),
                        ("remainingFulfillmentOrder", Out::Null),
                    ],
                    Vec::new(),
                ),
                Err(errors) => payload(
                    info,
                    vec![
                        ("movedFulfillmentOrder", Out::Null),
                        ("originalFulfillmentOrder", Out::Null),
                        ("remainingFulfillmentOrder", Out::Null),
                    ],
                    errors,
                ),
            }
        }
        "refundCreate" => match orders::refund(&mut state, &input) {
            Ok((order, refund)) => payload(
                info,
                vec![
                    ("order", Ref::Order(order).into()),
                    ("refund", Ref::Refund(refund).into()),
                ],
                Vec::new(),
            ),
            Err(errors) => payload(
                info,
                vec![("order", Out::Null), ("refund", Out::Null)],
                errors,
            ),
        },
        "orderCancel" => {
            let order_id = parse_gid("Order", text_or(args.get("orderId"), ""));
            let reason = text_or(args.get("reason"), "OTHER");
            let restock = args
                .get("restock")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let result = match order_id {
                Some(id) => orders::cancel(&mut state, id, reason, restock),
                None => Err(vec![UserError {
                    field: vec!["orderId".to_owned()],
                    message: "Order does not exist".to_owned(),
                    code: Some("NOT_FOUND"),
                }]),
            };
            let (job, errors) = match result {
                Ok(()) => (
                    Record::new("Job")
                        .with("id", format!("gid://shopify/Job/{}", uuid::Uuid::new_v4()))
                        .with("done", true)
                        .out(),
                    Vec::new(),
                ),
                Err(errors) => (Out::Null, errors),
            };
            let mut out = payload(info, vec![("job", job)], errors.clone());
            if let Out::Obj(Ref::Record(record)) = &mut out {
                let mut record = (**record).clone();
                record.fields.insert(
                    "orderCancelUserErrors".to_owned(),
                    user_errors(info, "orderCancelUserErrors", &errors),
                );
                out = record.out();
            }
            out
        }
        "webhookSubscriptionCreate" => {
            let topic = args
                .get("topic")
                .and_then(Value::as_str)
                .map(topic_rest)
                .unwrap_or_default();
            let sub = args
                .get("webhookSubscription")
                .cloned()
                .unwrap_or(Value::Null);
            let uri = sub
                .get("uri")
                .or_else(|| sub.get("callbackUrl"))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            if uri.is_empty() {
                payload(
                    info,
                    vec![("webhookSubscription", Out::Null)],
                    vec![UserError {
                        field: vec!["webhookSubscription".to_owned(), "uri".to_owned()],
                        message: "Address can't be blank".to_owned(),
                        code: None,
                    }],
                )
            } else if state
                .subscriptions
                .values()
                .any(|s| s.topic == topic && s.uri == uri)
            {
                payload(
                    info,
                    vec![("webhookSubscription", Out::Null)],
                    vec![UserError {
                        field: vec!["webhookSubscription".to_owned(), "callbackUrl".to_owned()],
                        message: "Address for this topic has already been taken".to_owned(),
                        code: None,
                    }],
                )
            } else {
                let id = state.next_id();
                state.subscriptions.insert(
                    id,
                    Subscription {
                        id,
                        topic,
                        uri,
                        api_version: ctx.version.as_str(),
                        created_at: now(),
                    },
                );
                payload(
                    info,
                    vec![("webhookSubscription", Ref::Subscription(id).into())],
                    Vec::new(),
                )
            }
        }
        "webhookSubscriptionDelete" => {
            let text = text_or(args.get("id"), "");
            match parse_gid("WebhookSubscription", text)
                .and_then(|id| state.subscriptions.remove(&id))
            {
                Some(sub) => payload(
                    info,
                    vec![(
                        "deletedWebhookSubscriptionId",
                        gid("WebhookSubscription", sub.id).into(),
                    )],
                    Vec::new(),
                ),
                None => payload(
                    info,
                    vec![("deletedWebhookSubscriptionId", Out::Null)],
                    vec![UserError {
                        field: vec!["id".to_owned()],
                        message: "Webhook subscription does not exist".to_owned(),
                        code: None,
                    }],
                ),
            }
        }
        "bulkOperationRunQuery" => {
            let query = text_or(args.get("query"), "").to_owned();
            match super::bulk::create(&mut state, ctx.version, &query) {
                Ok(id) => {
                    ctx.bulk_started.borrow_mut().push(id);
                    payload(
                        info,
                        vec![("bulkOperation", Ref::Bulk(id).into())],
                        Vec::new(),
                    )
                }
                Err(errors) => payload(info, vec![("bulkOperation", Out::Null)], errors),
            }
        }
        _ => return Err(unimplemented("Mutation", field)),
    };
    Ok(out)
}

/// The payload object of the field, with `userErrors` typed from the schema.
/// A payload refusing the whole mutation before it ran (an idempotency refusal): every
/// field but `userErrors` is null, so any selection the schema allows resolves.
fn refused(info: &ResolveInfo<'_>, error: UserError) -> Out {
    let type_name = info.field_definition().ty.inner_named_type();
    let nulls: Vec<(&str, Out)> = info
        .schema()
        .get_object(type_name)
        .map(|object| {
            object
                .fields
                .keys()
                .filter(|name| name.as_str() != "userErrors")
                .map(|name| (name.as_str(), Out::Null))
                .collect()
        })
        .unwrap_or_default();
    payload(info, nulls, vec![error])
}

fn payload(info: &ResolveInfo<'_>, fields: Vec<(&str, Out)>, errors: Vec<UserError>) -> Out {
    let type_name = info
        .field_definition()
        .ty
        .inner_named_type()
        .as_str()
        .to_owned();
    let mut record = Record::new(type_name);
    for (name, value) in fields {
        record = record.with(name, value);
    }
    record
        .with("userErrors", user_errors(info, "userErrors", &errors))
        .out()
}

fn user_errors(info: &ResolveInfo<'_>, field: &str, errors: &[UserError]) -> Out {
    let payload_type = info
        .field_definition()
        .ty
        .inner_named_type()
        .as_str()
        .to_owned();
    let error_type = info
        .schema()
        .type_field(&payload_type, field)
        .map(|definition| definition.ty.inner_named_type().as_str().to_owned())
        .unwrap_or_else(|_| "UserError".to_owned());
    Out::List(
        errors
            .iter()
            .map(|error| {
                Record::new(error_type.clone())
                    .with(
                        "field",
                        if error.field.is_empty() {
                            Out::Null
                        } else {
                            Out::List(error.field.iter().map(|part| part.clone().into()).collect())
                        },
                    )
                    .with("message", error.message.clone())
                    .with("code", error.code.map(str::to_owned))
                    .out()
            })
            .collect(),
    )
}
