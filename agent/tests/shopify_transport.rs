//! The transport against a scripted HTTP server: pacing after THROTTLED, bounded retries of
//! busy answers, timeouts and hang-ups, no retry of refusals, gzip, and the batching and
//! idempotency keys of `set_inventory` on the wire.

mod shopify_support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use plumb_agent::config::Secret;
use plumb_agent::shopify::documents::{LOCATIONS, Operation};
use plumb_agent::shopify::{
    BatchStatus, SetRequest, SetRow, ShopifyClient, ShopifyClientConfig, ShopifyError,
};
use plumb_common::JobId;

use shopify_support::{
    Reply, Script, assert_lost_after_sending, client_with, ok_body, throttled_body,
};

const LOCATIONS_DATA: &str = r#"{"locations":{"nodes":[{"id":"gid://shopify/Location/9007199254740993","legacyResourceId":"9007199254740993","name":"Main","isActive":true}],"pageInfo":{"hasNextPage":false,"endCursor":null}}}"#;

/// The gzip of a locations answer with no nodes.
const GZIPPED: &[u8] = &[
    31, 139, 8, 0, 0, 0, 0, 0, 2, 3, 77, 142, 189, 14, 194, 48, 12, 132, 223, 197, 115, 132, 66,
    197, 64, 187, 161, 78, 44, 136, 159, 17, 49, 152, 214, 165, 149, 220, 4, 18, 7, 181, 170, 250,
    238, 36, 149, 144, 58, 249, 252, 249, 116, 231, 9, 106, 20, 132, 98, 2, 182, 21, 74, 103, 141,
    79, 139, 177, 53, 69, 113, 127, 40, 120, 227, 139, 142, 166, 177, 9, 183, 232, 79, 52, 200, 57,
    34, 40, 26, 100, 79, 10, 200, 212, 101, 112, 222, 58, 40, 76, 96, 158, 231, 57, 178, 65, 200,
    248, 127, 88, 101, 189, 164, 233, 232, 19, 200, 11, 213, 151, 64, 110, 44, 23, 186, 83, 128,
    149, 4, 228, 21, 203, 20, 72, 235, 172, 8, 211, 77, 80, 194, 18, 210, 227, 208, 245, 161, 63,
    124, 177, 99, 124, 114, 236, 207, 180, 214, 27, 173, 160, 10, 206, 145, 17, 30, 87, 183, 109,
    158, 239, 85, 44, 244, 98, 29, 93, 81, 18, 74, 238, 248, 221, 252, 3, 165, 30, 26, 4, 243, 0,
    0, 0,
];

fn client_for(script: &Script) -> ShopifyClient {
    client_with(script, |config| {
        config.request_timeout = Duration::from_millis(500);
        config.batch_concurrency = 1;
    })
}

fn vars() -> serde_json::Value {
    json!({"first": 50, "after": null})
}

#[tokio::test]
async fn throttled_waits_for_the_deficit_then_succeeds() {
    // 30 points missing at 300 points/s: 100 ms.
    let script = Script::start(vec![
        Reply::json(200, &throttled_body(40, 10, 300)),
        Reply::json(200, &ok_body(LOCATIONS_DATA, 40, 3, 1900.0)),
    ])
    .await;
    let client = client_for(&script);
    let start = Instant::now();
    let data = client.execute_raw(&LOCATIONS, vars()).await.unwrap();
    assert!(
        start.elapsed() >= Duration::from_millis(100),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(data["locations"]["nodes"][0]["name"], "Main");
    let stats = client.stats();
    assert_eq!(
        (
            stats.calls,
            stats.throttled,
            stats.retries,
            stats.points_spent
        ),
        (2, 1, 0, 3)
    );
    let seen = script.seen();
    assert_eq!(seen[0].path, "/admin/api/2026-07/graphql.json");
    assert_eq!(seen[0].header("x-shopify-access-token"), Some("shpat_test"));
    assert_eq!(seen[0].body["operationName"], "Locations");
    assert_eq!(seen[0].body["query"], LOCATIONS.document);
    // The next call of the same operation expects the learned 40 points.
    assert_eq!(client.bucket().expected_cost(&LOCATIONS), 40.0);
}

#[tokio::test]
async fn busy_answers_are_retried_a_bounded_number_of_times() {
    let script = Script::start(vec![
        Reply::json(503, "<html>Service Unavailable</html>"),
        Reply::json(
            429,
            r#"{"errors":"Exceeded 2 calls per second for api client."}"#,
        ),
        Reply::json(200, &ok_body(LOCATIONS_DATA, 4, 4, 1996.0)),
    ])
    .await;
    let client = client_for(&script);
    client.execute_raw(&LOCATIONS, vars()).await.unwrap();
    let stats = client.stats();
    assert_eq!((stats.calls, stats.retries, stats.failures), (3, 2, 0));

    let script = Script::start(vec![
        Reply::json(502, "<html>Bad Gateway</html>"),
        Reply::json(502, "<html>Bad Gateway</html>"),
        Reply::json(502, "<html>Bad Gateway</html>"),
        Reply::json(502, "<html>Bad Gateway</html>"),
        Reply::json(200, &ok_body(LOCATIONS_DATA, 4, 4, 1996.0)),
    ])
    .await;
    let client = client_for(&script);
    let error = client.execute_raw(&LOCATIONS, vars()).await.unwrap_err();
    assert_eq!(error.cause(), "shopify_server_error");
    assert_eq!(error.class(), plumb_common::ErrorClass::Transient);
    assert_eq!(script.seen().len(), 4, "max_attempts is 4");
}

#[tokio::test]
async fn a_revoked_token_is_not_retried() {
    let script = Script::start(vec![Reply::json(
        401,
        r#"{"errors":"[API] Invalid API key or access token (unrecognized login or wrong password)"}"#,
    )])
    .await;
    let client = client_for(&script);
    let error = client.execute_raw(&LOCATIONS, vars()).await.unwrap_err();
    assert!(
        matches!(error, ShopifyError::Unauthorized { status: 401, .. }),
        "{error:?}"
    );
    assert!(error.is_alert());
    assert_eq!(script.seen().len(), 1);
    assert_eq!(client.stats().failures, 1);
}

#[tokio::test]
async fn timeouts_are_retried_then_surface_as_transient() {
    let late = ok_body(LOCATIONS_DATA, 4, 4, 1996.0);
    let script = Script::start(vec![
        Reply::late(&late, Duration::from_secs(3)),
        Reply::late(&late, Duration::from_secs(3)),
        Reply::late(&late, Duration::from_secs(3)),
        Reply::late(&late, Duration::from_secs(3)),
    ])
    .await;
    let client = client_for(&script);
    let error = client.execute_raw(&LOCATIONS, vars()).await.unwrap_err();
    assert_eq!(error, ShopifyError::Timeout);
    assert_eq!(
        plumb_agent::store::Failure::from(error).cause,
        "shopify_timeout"
    );
    assert_eq!(script.seen().len(), 4);
}

#[tokio::test]
async fn a_hang_up_is_resent_only_when_replay_is_safe() {
    let script = Script::start(vec![
        Reply::Hangup,
        Reply::json(200, &ok_body(LOCATIONS_DATA, 4, 4, 1996.0)),
    ])
    .await;
    let client = client_for(&script);
    client.execute_raw(&LOCATIONS, vars()).await.unwrap();
    assert_eq!(script.seen().len(), 2);

    // A mutation without an idempotency key may have been applied: not resent.
    const UNSAFE: Operation = Operation {
        replay_safe: false,
        ..LOCATIONS
    };
    let script = Script::start(vec![
        Reply::Hangup,
        Reply::json(200, &ok_body(LOCATIONS_DATA, 4, 4, 1996.0)),
    ])
    .await;
    let client = client_for(&script);
    let error = client.execute_raw(&UNSAFE, vars()).await.unwrap_err();
    assert_lost_after_sending(&error);
    assert_eq!(error.class(), plumb_common::ErrorClass::Transient);
    assert_eq!(script.seen().len(), 1);
}

#[tokio::test]
async fn a_refused_connection_is_transient() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let mut config = ShopifyClientConfig::new(base_url, "2026-07", Secret::new("t"));
    config.jitter = Arc::new(|| 0.0);
    config.max_attempts = 2;
    let client = ShopifyClient::new(config).unwrap();
    let error = client.execute_raw(&LOCATIONS, vars()).await.unwrap_err();
    assert!(
        matches!(
            error,
            ShopifyError::Connection {
                before_send: true,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(client.stats().calls, 2);
}

#[tokio::test]
async fn gzip_answers_are_decoded() {
    let script = Script::start(vec![Reply::Answer {
        status: 200,
        body: GZIPPED.to_vec(),
        gzip: true,
        delay: Duration::ZERO,
    }])
    .await;
    let client = client_for(&script);
    let data = client.execute_raw(&LOCATIONS, vars()).await.unwrap();
    assert_eq!(data["locations"]["nodes"], json!([]));
    assert!(
        script.seen()[0]
            .header("accept-encoding")
            .is_some_and(|v| v.contains("gzip"))
    );
    assert_eq!(client.stats().points_spent, 2);
}

const SET_OK: &str = r#"{"inventorySetQuantities":{"inventoryAdjustmentGroup":{"id":"gid://shopify/InventoryAdjustmentGroup/1"},"userErrors":[]}}"#;
const SET_STALE: &str = r#"{"inventorySetQuantities":{"inventoryAdjustmentGroup":null,"userErrors":[{"code":"CHANGE_FROM_QUANTITY_STALE","field":["input","quantities","3","changeFromQuantity"],"message":"The specified compare quantity does not match the current quantity."}]}}"#;

#[tokio::test]
async fn set_inventory_batches_by_250_with_stable_keys_and_compare_and_swap() {
    let script = Script::start(vec![
        // The first batch's answer is lost: resent with the same key.
        Reply::Hangup,
        Reply::json(200, &ok_body(SET_OK, 13, 13, 1987.0)),
        Reply::json(200, &ok_body(SET_STALE, 13, 13, 1974.0)),
        Reply::json(200, &ok_body(SET_OK, 13, 13, 1961.0)),
    ])
    .await;
    let client = client_for(&script);
    let rows: Vec<SetRow> = (0..600)
        .map(|i| SetRow {
            inventory_item_id: 1_000 + i,
            location_id: 9_007_199_254_740_993,
            quantity: 5,
            change_from_quantity: if i == 0 { None } else { Some(4) },
        })
        .collect();
    let request = SetRequest::available(JobId(42), rows);
    let outcome = client.set_inventory(&request).await.unwrap();
    assert_eq!(outcome.batches.len(), 3);
    assert_eq!(outcome.batches[0].status, BatchStatus::Applied);
    assert_eq!(
        outcome.batches[1].status,
        BatchStatus::Stale { rows: vec![253] }
    );
    assert_eq!(outcome.batches[2].status, BatchStatus::Applied);
    assert_eq!(outcome.applied_rows(), 350);
    assert_eq!(outcome.stale_rows(), vec![253]);

    let seen = script.seen();
    assert_eq!(seen.len(), 4);
    let keys: Vec<&str> = seen
        .iter()
        .map(|s| s.body["variables"]["idempotencyKey"].as_str().unwrap())
        .collect();
    assert_eq!(keys[0], keys[1], "a resend must reuse its key");
    assert_ne!(keys[1], keys[2]);
    assert_ne!(keys[2], keys[3]);
    assert_eq!(outcome.batches[0].idempotency_key, keys[0]);
    let sizes: Vec<usize> = seen[1..]
        .iter()
        .map(|s| {
            s.body["variables"]["input"]["quantities"]
                .as_array()
                .unwrap()
                .len()
        })
        .collect();
    assert_eq!(sizes, vec![250, 250, 100]);
    for s in &seen {
        let input = &s.body["variables"]["input"];
        assert_eq!(input["name"], "available");
        assert_eq!(input["referenceDocumentUri"], "gid://plumb/SyncJob/42");
        assert!(input["reason"].is_string());
        for row in input["quantities"].as_array().unwrap() {
            let row = row.as_object().unwrap();
            assert!(row.contains_key("changeFromQuantity"), "{row:?}");
            assert_eq!(row["locationId"], "gid://shopify/Location/9007199254740993");
        }
        assert!(
            s.body["query"]
                .as_str()
                .unwrap()
                .contains("@idempotent(key: $idempotencyKey)")
        );
    }
    assert_eq!(
        seen[1].body["variables"]["input"]["quantities"][0]["changeFromQuantity"],
        json!(null)
    );

    // The same job sending the same rows again reuses the keys (a retry of the job).
    let again = client.set_inventory(&request).await.unwrap();
    assert_eq!(again.batches[0].idempotency_key, keys[0]);
}

#[tokio::test]
async fn endless_throttling_gives_up_after_its_bound_as_transient() {
    // Nothing missing, so every wait is zero: only the bound ends the loop.
    let replies = (0..10)
        .map(|_| Reply::json(200, &throttled_body(10, 10, 100)))
        .collect();
    let script = Script::start(replies).await;
    let mut config = ShopifyClientConfig::new(script.base_url.clone(), "2026-07", Secret::new("t"));
    config.max_throttled_waits = 3;
    config.jitter = Arc::new(|| 0.0);
    let client = ShopifyClient::new(config).expect("the HTTP client builds");
    let error = client.execute_raw(&LOCATIONS, vars()).await.unwrap_err();
    assert_eq!(error, ShopifyError::Throttled { waits: 3 });
    assert_eq!(error.class(), plumb_common::ErrorClass::Transient);
    assert_eq!(script.seen().len(), 4, "3 waits, then the queue takes over");
    assert_eq!(client.stats().throttled, 4);
}
