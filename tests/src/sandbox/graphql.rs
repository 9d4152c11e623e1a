//! One GraphQL request through the sandbox, in Shopify's order: faults that replace the
//! request, parse and validate against the version's schema, the request contracts, the
//! requested cost (MAX_COST_EXCEEDED), the bucket (THROTTLED), idempotency keys, added
//! latency, execution against the locked state, refund of unused points, webhooks.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use apollo_compiler::resolvers::Execution;
use serde_json::{Value, json};

use super::Shared;
use super::bucket::ThrottleStatus;
use super::contracts;
use super::cost::{Costing, MAX_COST};
use super::faults::Early;
use super::objects::{Ctx, KeyDecision, Root};
use super::schema::{ApiVersion, schema};
use super::validate::{GraphqlRequest, prepare};

/// What the HTTP layer does with the request.
#[derive(Debug)]
pub enum Reply {
    /// Answer with this status and JSON body.
    Json(u16, Value),
    /// Drop the connection without answering (the response is lost).
    Drop,
    /// Hold the request for this long, then drop it (a timeout).
    Hold(Duration),
}

fn cost_extension(requested: u64, actual: Option<u64>, status: ThrottleStatus) -> Value {
    json!({"cost": {
        "requestedQueryCost": requested,
        "actualQueryCost": actual,
        "throttleStatus": status.json(),
    }})
}

fn throttled(requested: u64, status: ThrottleStatus) -> Value {
    json!({
        "errors": [{
            "message": "Throttled",
            "extensions": {"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"},
        }],
        "extensions": cost_extension(requested, None, status),
    })
}

fn operation_label(prepared: &super::validate::Prepared, name: Option<&str>) -> String {
    prepared
        .operation(name)
        .map(|operation| {
            super::document::fields(&prepared.document, &operation.selection_set)
                .iter()
                .map(|field| field.name.as_str().to_owned())
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default()
}

/// Handles one request body for `version`.
pub async fn handle(
    shared: &Arc<Shared>,
    version: ApiVersion,
    body: &[u8],
    debug_cost: bool,
) -> Reply {
    let early = shared.lock_faults().early();
    match early {
        Some(Early::Status(429)) => {
            return Reply::Json(
                429,
                json!({"errors": "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service."}),
            );
        }
        Some(Early::Status(status)) => {
            return Reply::Json(status, json!({"errors": "Internal Server Error"}));
        }
        Some(Early::Timeout(hold)) => return Reply::Hold(hold),
        Some(Early::Throttled) | None => {}
    }
    let request: GraphqlRequest = match serde_json::from_slice(body) {
        Ok(request) => request,
        Err(_) => {
            shared.lock_stats().invalid += 1;
            return Reply::Json(
                400,
                json!({"errors": {"query": "Required parameter missing or invalid"}}),
            );
        }
    };
    let schema = match schema(version) {
        Ok(schema) => schema,
        Err(error) => return Reply::Json(500, json!({"errors": [{"message": error.to_string()}]})),
    };
    let prepared = match prepare(schema, &request) {
        Ok(prepared) => prepared,
        Err(errors) => {
            shared.lock_stats().invalid += 1;
            return Reply::Json(200, json!({"errors": errors}));
        }
    };
    let name = request.operation_name.as_deref();
    let Some(operation) = prepared.operation(name) else {
        return Reply::Json(200, json!({"errors": [{"message": "No operation to run"}]}));
    };
    let keyed = match contracts::check(&prepared.document, operation, &prepared.raw_variables) {
        Ok(keyed) => keyed,
        Err(errors) => {
            shared.lock_stats().invalid += 1;
            return Reply::Json(200, json!({"errors": errors}));
        }
    };
    let label = operation_label(&prepared, name);
    let costing = Costing {
        schema,
        document: &prepared.document,
        variables: &prepared.raw_variables,
    };
    let requested = costing.requested(operation);
    if requested > MAX_COST {
        let status = shared.lock_bucket().status();
        shared.lock_stats().max_cost_exceeded += 1;
        return Reply::Json(
            200,
            json!({
                "errors": [{
                    "message": format!(
                        "Query cost is {requested}, which exceeds the single query max cost limit ({MAX_COST}).\n\nSee https://shopify.dev/concepts/about-apis/rate-limits for more information on how the\ncost of a query is calculated.\n\nTo query larger amounts of data with fewer limits, bulk operations should be used instead.\nSee https://shopify.dev/tutorials/perform-bulk-operations-with-admin-api for usage details.\n"
                    ),
                    "extensions": {
                        "code": "MAX_COST_EXCEEDED",
                        "cost": requested,
                        "maxCost": MAX_COST,
                        "documentation": "https://shopify.dev/api/usage/rate-limits",
                    },
                }],
                "extensions": cost_extension(requested, None, status),
            }),
        );
    }
    let taken = if early == Some(Early::Throttled) {
        Err(shared.lock_bucket().status())
    } else {
        shared.lock_bucket().take(requested)
    };
    if let Err(status) = taken {
        let mut stats = shared.lock_stats();
        stats.throttled += 1;
        stats.operations.entry(label).or_default().throttled += 1;
        return Reply::Json(200, throttled(requested, status));
    }

    let keys: BTreeMap<String, KeyDecision> = {
        let mut store = shared.lock_keys();
        keyed
            .iter()
            .map(|field| {
                (
                    field.response_key.clone(),
                    store.begin(&field.key, &field.fingerprint),
                )
            })
            .collect()
    };
    let replays = keys
        .values()
        .filter(|d| matches!(d, KeyDecision::Replay(_)))
        .count() as u64;
    let latency = shared.lock_faults().latency();
    if let Some(latency) = latency {
        tokio::time::sleep(latency).await;
    }

    let is_mutation = operation.operation_type.is_mutation();
    let (response, stored, bulk_started, deliveries) = {
        let mut state = shared.lock_state();
        let (response, stored, bulk_started) = {
            let ctx = Ctx {
                state: std::cell::RefCell::new(&mut state),
                version,
                base_url: shared.base_url.clone(),
                keys,
                stored: Default::default(),
                bulk_started: Default::default(),
            };
            let root = Root {
                ctx: &ctx,
                type_name: if is_mutation { "Mutation" } else { "QueryRoot" },
            };
            let response = Execution::new(schema, &prepared.document)
                .operation(operation)
                .coerced_variable_values(&prepared.variables)
                .execute_sync(&root);
            (response, ctx.stored.take(), ctx.bulk_started.take())
        };
        let deliveries = shared.route_events(&mut state);
        (response, stored, bulk_started, deliveries)
    };
    {
        let mut store = shared.lock_keys();
        let mut finished = Vec::new();
        for (key, payload) in stored {
            finished.push(key.clone());
            store.finish(&key, Some(payload));
        }
        for field in &keyed {
            if !finished.contains(&field.key) {
                store.finish(&field.key, None);
            }
        }
    }
    shared.deliver(deliveries);
    for id in bulk_started {
        shared.spawn_bulk(version, id);
    }

    let response = match response {
        Ok(response) => response,
        Err(error) => {
            let status = shared.lock_bucket().refund(requested);
            return Reply::Json(
                200,
                json!({"errors": [{"message": error.message().to_string()}], "extensions": cost_extension(requested, Some(0), status)}),
            );
        }
    };
    let mut body = serde_json::to_value(&response).unwrap_or_else(|_| json!({}));
    let data = body.get("data").cloned().unwrap_or(Value::Null);
    let actual = costing.actual(operation, &data).min(requested);
    let status = shared.lock_bucket().refund(requested - actual);
    {
        let mut stats = shared.lock_stats();
        stats.executed += 1;
        stats.points_charged += actual;
        stats.points_requested += requested;
        stats.idempotent_replays += replays;
        let op = stats.operations.entry(label).or_default();
        op.executed += 1;
        op.requested_points += requested;
        op.charged_points += actual;
    }
    if let Some(map) = body.as_object_mut() {
        let mut extension = cost_extension(requested, Some(actual), status);
        if debug_cost {
            extension["cost"]["fields"] = Value::Array(costing.breakdown(operation));
        }
        map.insert("extensions".to_owned(), extension);
    }
    let after_apply = if is_mutation {
        shared.lock_faults().error_after_apply()
    } else {
        None
    };
    if let Some(status) = after_apply {
        tracing::info!(
            status,
            "fault: mutation applied, answered with a server error"
        );
        return Reply::Json(status, json!({"errors": "Bad Gateway"}));
    }
    if is_mutation && shared.lock_faults().lose_response() {
        tracing::info!("fault: mutation applied, response dropped");
        return Reply::Drop;
    }
    Reply::Json(200, body)
}
