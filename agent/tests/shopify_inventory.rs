//! Inventory reads and writes on the wire: levels per location, a key refused because its
//! first use failed, a key still running at Shopify, and adjustments.

mod shopify_support;

use plumb_agent::shopify::inventory::AdjustRow;
use plumb_agent::shopify::{BatchStatus, SetRequest, SetRow, ShopifyClient, ShopifyError};
use plumb_common::{ErrorClass, JobId};

use shopify_support::{Reply, Script, client_with, ok_body};

fn client_for(script: &Script) -> ShopifyClient {
    client_with(script, |config| config.batch_concurrency = 1)
}

fn row(item: u64) -> SetRow {
    SetRow {
        inventory_item_id: item,
        location_id: 7,
        quantity: 3,
        change_from_quantity: Some(2),
    }
}

fn user_error(code: &str) -> String {
    format!(
        r#"{{"inventorySetQuantities":{{"inventoryAdjustmentGroup":null,"userErrors":[{{"code":"{code}","field":null,"message":"{code}"}}]}}}}"#
    )
}

/// An answer refusing the whole set with `code`, the bucket left at `available`.
fn refused(code: &str, available: f64) -> Reply {
    Reply::json(200, &ok_body(&user_error(code), 13, 13, available))
}

const APPLIED: &str = r#"{"inventorySetQuantities":{"inventoryAdjustmentGroup":{"id":"gid://shopify/InventoryAdjustmentGroup/1"},"userErrors":[]}}"#;

#[tokio::test]
async fn levels_are_read_per_location_with_named_quantities() {
    let data = r#"{"nodes":[
        {"id":"gid://shopify/InventoryItem/1","inventoryLevel":{"quantities":[{"name":"available","quantity":5},{"name":"on_hand","quantity":7}]}},
        {"id":"gid://shopify/InventoryItem/2","inventoryLevel":null}
    ]}"#;
    let script = Script::start(vec![
        Reply::json(200, &ok_body(data, 8, 8, 1992.0)),
        Reply::json(200, &ok_body(r#"{"nodes":[null]}"#, 4, 2, 1990.0)),
    ])
    .await;
    let client = client_for(&script);
    let levels = client
        .inventory_levels(&[1, 2], &[9_007_199_254_740_993], &["available", "on_hand"])
        .await
        .unwrap();
    assert_eq!(levels.len(), 1, "an item not stocked there has no level");
    assert_eq!(levels[0].inventory_item_id, 1);
    assert_eq!(levels[0].location_id, 9_007_199_254_740_993);
    assert_eq!(levels[0].quantities["available"], 5);
    assert_eq!(levels[0].quantities["on_hand"], 7);
    let vars = &script.seen()[0].body["variables"];
    assert_eq!(vars["ids"][1], "gid://shopify/InventoryItem/2");
    assert_eq!(
        vars["locationId"],
        "gid://shopify/Location/9007199254740993"
    );
    assert_eq!(vars["names"][1], "on_hand");

    let error = client
        .inventory_levels(&[3], &[1], &["available"])
        .await
        .unwrap_err();
    assert!(matches!(error, ShopifyError::Invalid(_)), "{error:?}");
}

#[tokio::test]
async fn a_key_whose_first_use_failed_is_replaced_by_its_next_generation() {
    let script = Script::start(vec![
        refused("IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED", 1987.0),
        Reply::json(200, &ok_body(APPLIED, 13, 13, 1974.0)),
        // The job runs again: generation 0 is refused again, generation 1 replays.
        refused("IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED", 1987.0),
        Reply::json(200, &ok_body(APPLIED, 13, 13, 1974.0)),
    ])
    .await;
    let client = client_for(&script);
    let request = SetRequest::available(JobId(5), vec![row(1)]);
    let first = client.set_inventory(&request).await.unwrap();
    assert!(first.all_applied());
    let again = client.set_inventory(&request).await.unwrap();
    assert!(again.all_applied());
    let keys: Vec<String> = script
        .seen()
        .iter()
        .map(|s| {
            s.body["variables"]["idempotencyKey"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_ne!(keys[0], keys[1]);
    assert_eq!(keys[0], keys[2]);
    assert_eq!(keys[1], keys[3]);
    assert_eq!(first.batches[0].idempotency_key, keys[1]);
}

#[tokio::test]
async fn a_key_still_running_is_a_typed_outcome_and_a_transient_failure() {
    let script = Script::start(vec![refused("IDEMPOTENCY_CONCURRENT_REQUEST", 1987.0)]).await;
    let client = client_for(&script);
    let outcome = client
        .set_inventory(&SetRequest::available(JobId(5), vec![row(1)]))
        .await
        .unwrap();
    assert_eq!(outcome.batches[0].status, BatchStatus::ConcurrentRequest);
    let failure = outcome.failure().unwrap();
    assert_eq!(failure.class, ErrorClass::Transient);
    assert_eq!(script.seen().len(), 1);
}

#[tokio::test]
async fn a_revoked_token_stops_the_remaining_batches() {
    let script = Script::start(vec![Reply::json(
        401,
        r#"{"errors":"[API] Invalid API key or access token (unrecognized login or wrong password)"}"#,
    )])
    .await;
    let client = client_for(&script);
    let rows: Vec<SetRow> = (0..600).map(row).collect();
    let error = client
        .set_inventory(&SetRequest::available(JobId(5), rows))
        .await
        .unwrap_err();
    assert!(error.is_alert());
}

#[tokio::test]
async fn adjustments_carry_compare_and_swap_and_map_stale_rows() {
    let stale = r#"{"inventoryAdjustQuantities":{"inventoryAdjustmentGroup":null,"userErrors":[{"code":"CHANGE_FROM_QUANTITY_STALE","field":["input","changes","1","changeFromQuantity"],"message":"stale"}]}}"#;
    let script = Script::start(vec![Reply::json(200, &ok_body(stale, 13, 13, 1987.0))]).await;
    let client = client_for(&script);
    let rows = [
        AdjustRow {
            inventory_item_id: 1,
            location_id: 7,
            delta: -2,
            change_from_quantity: Some(10),
        },
        AdjustRow {
            inventory_item_id: 2,
            location_id: 7,
            delta: 4,
            change_from_quantity: None,
        },
    ];
    let outcome = client
        .adjust_inventory(JobId(9), "available", "correction", &rows)
        .await
        .unwrap();
    assert_eq!(outcome.stale_rows(), vec![1]);
    let sent = &script.seen()[0].body["variables"]["input"];
    assert_eq!(sent["changes"][0]["delta"], -2);
    assert!(
        sent["changes"][1]
            .as_object()
            .unwrap()
            .contains_key("changeFromQuantity")
    );
    assert_eq!(sent["referenceDocumentUri"], "gid://plumb/SyncJob/9");
    assert!(
        script.seen()[0].body["query"]
            .as_str()
            .unwrap()
            .contains("inventoryAdjustQuantities(input: $input) @idempotent(key: $idempotencyKey)")
    );
}
