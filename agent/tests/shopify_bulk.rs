//! Bulk operations: start, wait (polling or woken by the finish webhook), and the streamed,
//! grouped JSONL result.

mod shopify_support;

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;

use plumb_agent::shopify::documents::BULK_INVENTORY_LEVELS;
use plumb_agent::shopify::{BulkLayout, ShopifyError};
use plumb_common::ErrorClass;

use shopify_support::{Reply, Script, client_for, ok_body};

fn status(id: u64, status: &str, url: Option<&str>) -> String {
    let url = url.map_or("null".to_owned(), |u| format!("\"{u}\""));
    ok_body(
        &format!(
            r#"{{"bulkOperation":{{"id":"gid://shopify/BulkOperation/{id}","status":"{status}","errorCode":null,"objectCount":"0","rootObjectCount":"0","fileSize":null,"url":{url},"partialDataUrl":null,"createdAt":"2026-11-23T10:00:00Z","completedAt":null}}}}"#
        ),
        1,
        1,
        1999.0,
    )
}

fn jsonl(roots: usize) -> String {
    let mut file = String::new();
    for i in 0..roots {
        file.push_str(&format!(
            "{{\"id\":\"gid://shopify/InventoryItem/{i}\",\"sku\":\"SKU-{i}\",\"tracked\":true}}\n"
        ));
        for location in 0..2 {
            file.push_str(&format!(
                "{{\"location\":{{\"id\":\"gid://shopify/Location/{location}\"}},\"quantities\":[{{\"name\":\"available\",\"quantity\":{i}}}],\"__parentId\":\"gid://shopify/InventoryItem/{i}\"}}\n"
            ));
        }
    }
    file
}

#[tokio::test]
async fn a_bulk_query_runs_is_awaited_and_streams_grouped_records() {
    let script = Script::start(vec![Reply::json(
        200,
        &ok_body(
            r#"{"bulkOperationRunQuery":{"bulkOperation":{"id":"gid://shopify/BulkOperation/42","status":"CREATED"},"userErrors":[]}}"#,
            10,
            10,
            1990.0,
        ),
    )])
    .await;
    let client = client_for(&script);
    let id = client
        .run_bulk_query(&BULK_INVENTORY_LEVELS, BulkLayout::Grouped)
        .await
        .unwrap();
    assert_eq!(id, 42);
    assert_eq!(
        script.seen()[0].body["variables"]["query"],
        BULK_INVENTORY_LEVELS.document
    );
    assert_eq!(script.seen()[0].body["variables"]["groupObjects"], true);

    // Running, then the finish webhook wakes the waiter long before the 1-hour poll.
    let url = format!("{}/results.jsonl", script.base_url);
    script.push(Reply::json(200, &status(42, "RUNNING", None)));
    script.push(Reply::json(200, &status(42, "COMPLETED", Some(&url))));
    let finished = Arc::new(tokio::sync::Notify::new());
    let waiter = {
        let (client, finished) = (client.clone(), finished.clone());
        tokio::spawn(async move {
            client
                .wait_bulk_operation(42, Duration::from_secs(3600), Some(finished))
                .await
        })
    };
    while script.seen().len() < 2 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    finished.notify_waiters();
    let operation = tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .expect("the webhook wakes the waiter")
        .unwrap()
        .unwrap();
    assert_eq!(operation.result_url().unwrap(), Some(url.as_str()));

    let file = jsonl(3_000);
    script.push(Reply::json(200, &file));
    let records: Vec<_> = client
        .bulk_records(&url, BulkLayout::Grouped)
        .collect()
        .await;
    assert_eq!(records.len(), 3_000);
    for (i, record) in records.into_iter().enumerate() {
        let record = record.unwrap();
        assert_eq!(record.object["sku"], format!("SKU-{i}"));
        assert_eq!(record.children.len(), 2);
        assert_eq!(record.children[1]["quantities"][0]["quantity"], i);
    }
    let download = &script.seen()[3];
    assert_eq!(download.path, "/results.jsonl");
    assert_eq!(
        download.header("x-shopify-access-token"),
        None,
        "the token must not leak to the storage URL"
    );
}

#[tokio::test]
async fn busy_failed_and_expired_bulk_operations() {
    let busy = r#"{"bulkOperationRunQuery":{"bulkOperation":null,"userErrors":[{"code":"OPERATION_IN_PROGRESS","field":null,"message":"A bulk query operation for this app and shop is already in progress"}]}}"#;
    let script = Script::start(vec![
        Reply::json(200, &ok_body(busy, 10, 10, 1990.0)),
        Reply::json(
            403,
            "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>",
        ),
        Reply::json(
            200,
            "{\"id\":\"0\"}\n{\"id\":\"1\"}\n{\"x\":1,\"__parentId\":\"2\"}\n{\"id\":\"3\"}\n",
        ),
    ])
    .await;
    let client = client_for(&script);
    let error = client
        .run_bulk_query(&BULK_INVENTORY_LEVELS, BulkLayout::Flat)
        .await
        .unwrap_err();
    assert!(matches!(error, ShopifyError::BulkBusy { .. }), "{error:?}");
    assert_eq!(error.class(), ErrorClass::Transient);
    assert_eq!(
        script.seen().len(),
        1,
        "busy is retried by the queue, not the call"
    );
    assert_eq!(script.seen()[0].body["variables"]["groupObjects"], false);

    let url = format!("{}/expired.jsonl", script.base_url);
    let records: Vec<_> = client
        .bulk_records(&url, BulkLayout::Grouped)
        .collect()
        .await;
    assert_eq!(records.len(), 1);
    let error = records[0].as_ref().unwrap_err();
    assert_eq!(error.cause(), "shopify_http_403");
    assert!(
        !error.is_alert(),
        "an expired download URL is not a revoked token"
    );

    // Records before a bad line are handed out, then the error, then nothing.
    let records: Vec<_> = client
        .bulk_records(&url, BulkLayout::Grouped)
        .collect()
        .await;
    assert_eq!(records.len(), 2, "{records:?}");
    assert_eq!(records[0].as_ref().unwrap().object["id"], "0");
    assert_eq!(
        records[1].as_ref().unwrap_err().cause(),
        "shopify_unexpected_response"
    );
}
