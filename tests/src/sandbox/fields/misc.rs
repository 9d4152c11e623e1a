//! The shop, webhook subscriptions and bulk operations.

use apollo_compiler::resolvers::{FieldError, ResolveInfo};

use super::super::objects::{Ctx, Out, Record, unimplemented};
use super::super::state::{gid, iso};
use super::gone;

/// `Shop`.
pub fn shop(ctx: &Ctx<'_>, field: &str) -> Result<Out, FieldError> {
    let state = ctx.state.borrow();
    Ok(match field {
        "id" => gid("Shop", 1).into(),
        "name" => state.shop_name.clone().into(),
        "myshopifyDomain" => state.shop_domain.clone().into(),
        "currencyCode" => state.currency.clone().into(),
        "email" | "contactEmail" => format!("owner@{}", state.shop_domain).into(),
        "ianaTimezone" => "UTC".into(),
        "timezoneAbbreviation" => "UTC".into(),
        "plan" => Record::new("ShopPlan")
            .with("displayName", "Basic")
            .with("publicDisplayName", "Basic")
            .with("partnerDevelopment", true)
            .with("shopifyPlus", false)
            .out(),
        _ => return Err(unimplemented("Shop", field)),
    })
}

/// The GraphQL enum of a REST topic: `orders/create` -> `ORDERS_CREATE`.
pub fn topic_enum(topic: &str) -> String {
    topic.replace('/', "_").to_uppercase()
}

/// The REST topic of a GraphQL enum: `ORDERS_CREATE` -> `orders/create`. Shopify's topics
/// have exactly one slash, after the resource (which may contain underscores).
pub fn topic_rest(topic: &str) -> String {
    const RESOURCES: &[&str] = &[
        "APP_SUBSCRIPTIONS",
        "BULK_OPERATIONS",
        "INVENTORY_ITEMS",
        "INVENTORY_LEVELS",
        "FULFILLMENT_ORDERS",
        "FULFILLMENT_EVENTS",
        "ORDER_TRANSACTIONS",
        "PRODUCT_LISTINGS",
    ];
    let lower = topic.to_lowercase();
    for resource in RESOURCES {
        if let Some(rest) = topic.strip_prefix(&format!("{resource}_")) {
            return format!("{}/{}", resource.to_lowercase(), rest.to_lowercase());
        }
    }
    match lower.split_once('_') {
        Some((resource, action)) => format!("{resource}/{action}"),
        None => lower,
    }
}

/// `WebhookSubscription`.
pub fn subscription(ctx: &Ctx<'_>, id: u64, info: &ResolveInfo<'_>) -> Result<Out, FieldError> {
    let state = ctx.state.borrow();
    let field = info.field_name();
    let sub = state
        .subscriptions
        .get(&id)
        .ok_or_else(|| gone("WebhookSubscription", id))?;
    Ok(match field {
        "id" => gid("WebhookSubscription", id).into(),
        "legacyResourceId" => id.to_string().into(),
        "topic" => topic_enum(&sub.topic).into(),
        "uri" | "callbackUrl" => sub.uri.clone().into(),
        "endpoint" => Record::new("WebhookHttpEndpoint")
            .with("callbackUrl", sub.uri.clone())
            .out(),
        "format" => "JSON".into(),
        "includeFields" | "metafieldNamespaces" => Out::List(Vec::new()),
        "filter" | "name" => Out::Null,
        "createdAt" | "updatedAt" => iso(sub.created_at).into(),
        "apiVersion" => Record::new("ApiVersion")
            .with("handle", sub.api_version)
            .with("displayName", sub.api_version)
            .with("supported", true)
            .out(),
        _ => return Err(unimplemented("WebhookSubscription", field)),
    })
}

/// `BulkOperation`.
pub fn bulk(ctx: &Ctx<'_>, id: u64, info: &ResolveInfo<'_>) -> Result<Out, FieldError> {
    let state = ctx.state.borrow();
    let field = info.field_name();
    let op = state
        .bulk_operations
        .get(&id)
        .ok_or_else(|| gone("BulkOperation", id))?;
    let done = op.status == "COMPLETED";
    Ok(match field {
        "id" => gid("BulkOperation", id).into(),
        "status" => op.status.clone().into(),
        "errorCode" => op.error_code.clone().into(),
        "createdAt" => iso(op.created_at).into(),
        "completedAt" => op.completed_at.map(iso).into(),
        "objectCount" => op.object_count.to_string().into(),
        "rootObjectCount" => op.root_object_count.to_string().into(),
        "fileSize" => op
            .result
            .as_ref()
            .map(|result| result.len().to_string())
            .into(),
        "url" => (done && op.result.as_ref().is_some_and(|r| !r.is_empty()))
            .then(|| format!("{}/sandbox/bulk/{id}.jsonl", ctx.base_url))
            .into(),
        "partialDataUrl" => Out::Null,
        "query" => op.query.clone().into(),
        "type" => "QUERY".into(),
        _ => return Err(unimplemented("BulkOperation", field)),
    })
}
