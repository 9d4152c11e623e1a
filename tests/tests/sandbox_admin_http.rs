//! The admin HTTP API the demo drives: set up the shop, place and handle orders, inject
//! faults, read counters and the delivery log.

// Helpers outside #[test] functions unwrap too: a panic there is the failure report.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use plumb_tests::sandbox::receiver::Receiver;
use plumb_tests::sandbox::{Sandbox, SandboxConfig};
use serde_json::{Value, json};

async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    body: Value,
) -> (u16, Value) {
    let response = http.request(method, url).json(&body).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_demo_can_set_up_order_break_and_inspect_over_http() {
    use reqwest::Method;
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let admin_url = format!("{}/sandbox", sandbox.url());
    let http = reqwest::Client::new();
    let receiver = Receiver::start().await.unwrap();

    let (status, location) = call(
        &http,
        Method::POST,
        format!("{admin_url}/locations"),
        json!({"name": "Main"}),
    )
    .await;
    assert_eq!(status, 201);
    let location_id = location["id"].as_u64().unwrap();
    let (status, product) = call(
        &http,
        Method::POST,
        format!("{admin_url}/products"),
        json!({"title": "Mug", "variants": [{"sku": "MUG-1", "price": "12.50", "stock": {location_id.to_string(): 7}}]}),
    )
    .await;
    assert_eq!(status, 201, "{product}");
    let item = product["variants"][0]["inventory_item_id"]
        .as_u64()
        .unwrap();
    let (status, _) = call(
        &http,
        Method::POST,
        format!("{admin_url}/webhooks"),
        json!({"topic": "orders/create", "uri": receiver.url()}),
    )
    .await;
    assert_eq!(status, 201);

    let (status, order) = call(
        &http,
        Method::POST,
        format!("{admin_url}/orders"),
        json!({"lines": [{"sku": "MUG-1", "quantity": 3}]}),
    )
    .await;
    assert_eq!(status, 201, "{order}");
    let order_id = order["id"].as_u64().unwrap();
    let (_, levels) = call(
        &http,
        Method::GET,
        format!("{admin_url}/levels"),
        Value::Null,
    )
    .await;
    let level = levels
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["inventory_item_id"] == item)
        .unwrap();
    assert_eq!(
        (level["available"].as_i64(), level["committed"].as_i64()),
        (Some(4), Some(3))
    );
    receiver
        .wait_for(Duration::from_secs(10), |r| !r.is_empty())
        .await;
    let (_, deliveries) = call(
        &http,
        Method::GET,
        format!("{admin_url}/deliveries"),
        Value::Null,
    )
    .await;
    assert_eq!(deliveries[0]["topic"], "orders/create");

    let (status, _) = call(
        &http,
        Method::POST,
        format!("{admin_url}/orders/{order_id}/fulfil"),
        json!({"tracking_number": "1Z"}),
    )
    .await;
    assert_eq!(status, 200);
    let (_, order) = call(
        &http,
        Method::GET,
        format!("{admin_url}/orders/{order_id}"),
        Value::Null,
    )
    .await;
    assert_eq!(order["fulfillment_status"], "FULFILLED");
    let line = order["line_items"][0]["id"].as_u64().unwrap();
    let (status, refund) = call(
        &http,
        Method::POST,
        format!("{admin_url}/orders/{order_id}/refund"),
        json!({"lines": [{"line_item_id": line, "quantity": 1, "restock_type": "return", "location_id": location_id}]}),
    )
    .await;
    assert_eq!(status, 200, "{refund}");

    let (status, _) = call(
        &http,
        Method::PUT,
        format!("{admin_url}/faults"),
        json!({"server_error": 1.0, "seed": 7}),
    )
    .await;
    assert_eq!(status, 200);
    let response = http
        .post(sandbox.graphql_url(plumb_tests::sandbox::ApiVersion::V2026_07))
        .header("X-Shopify-Access-Token", sandbox.access_token())
        .json(&json!({"query": "{ shop { name } }"}))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_server_error());
    let (_, stats) = call(
        &http,
        Method::GET,
        format!("{admin_url}/stats"),
        Value::Null,
    )
    .await;
    assert_eq!(stats["faults"]["server_error"], 1);
    assert_eq!(stats["stats"]["requests"], 1);
    assert_eq!(stats["throttle_status"]["maximumAvailable"], 2000.0);

    let (status, _) = call(
        &http,
        Method::GET,
        format!("{admin_url}/nothing-here"),
        Value::Null,
    )
    .await;
    assert_eq!(status, 404);
}
