//! The sandbox refuses what Shopify refuses, with Shopify's codes and shapes.

// Helpers outside #[test] functions unwrap too: a panic there is the failure report.
#![allow(clippy::unwrap_used)]

mod sandbox_support;

use std::time::{Duration, Instant};

use plumb_tests::sandbox::client::SandboxClient;
use plumb_tests::sandbox::state::{QuantityName, gid};
use plumb_tests::sandbox::{ApiVersion, FaultConfig, Sandbox, SandboxConfig};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use sandbox_support::{
    answer, assert_error_mentions, assert_no_user_errors, available, exchange, post, refused,
    user_error,
};

const SET: &str = r#"mutation Set($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup { createdAt reason changes { name delta quantityAfterChange } }
    userErrors { field message code }
  }
}"#;

const SET_NO_KEY: &str = r#"mutation Set($input: InventorySetQuantitiesInput!) {
  inventorySetQuantities(input: $input) {
    inventoryAdjustmentGroup { createdAt }
    userErrors { field message code }
  }
}"#;

struct Shop {
    sandbox: Sandbox,
    client: SandboxClient,
    location: u64,
    other_location: u64,
    item: u64,
    other_item: u64,
}

async fn shop(config: SandboxConfig) -> Shop {
    let sandbox = Sandbox::start(config).await.unwrap();
    let admin = sandbox.admin();
    let location = admin.add_location("Main warehouse");
    let other_location = admin.add_location("Second warehouse");
    let product = admin.add_product(
        "Aviator sunglasses",
        &[
            ("SKU-A", Decimal::new(8999, 2)),
            ("SKU-B", Decimal::new(1250, 2)),
        ],
    );
    let item = product.variants[0].inventory_item_id;
    let other_item = product.variants[1].inventory_item_id;
    for (i, l) in [
        (item, location),
        (item, other_location),
        (other_item, location),
    ] {
        admin.stock(i, l, 10);
    }
    let client = SandboxClient::new(&sandbox.url(), sandbox.access_token());
    Shop {
        sandbox,
        client,
        location,
        other_location,
        item,
        other_item,
    }
}

impl Shop {
    /// `inventorySetQuantities` of `name` with `rows` under `key`: the answer.
    async fn set(&self, name: &str, rows: Vec<Value>, key: &str) -> Value {
        let vars = json!({"input": set_input(name, rows), "key": key});
        answer(&self.client, SET, vars).await
    }
}

fn row(item: u64, location: u64, quantity: i64, change_from: Option<i64>) -> Value {
    json!({
        "inventoryItemId": gid("InventoryItem", item),
        "locationId": gid("Location", location),
        "quantity": quantity,
        "changeFromQuantity": change_from,
    })
}

fn set_input(name: &str, rows: Vec<Value>) -> Value {
    json!({
        "name": name,
        "reason": "correction",
        "referenceDocumentUri": "gid://plumb/SyncJob/1",
        "quantities": rows,
    })
}

fn first_error(body: &Value) -> &Value {
    &body["errors"][0]
}

#[tokio::test]
async fn an_invalid_document_gets_shopifys_validation_error_shape() {
    let shop = shop(SandboxConfig::default()).await;
    let (status, body) = exchange(&shop.client, "{ shop { name notAField } }", json!({})).await;
    let error = refused(status, &body);
    assert_eq!(error["extensions"]["code"], "undefinedField", "{body}");
    assert_eq!(
        error["message"], "Field 'notAField' doesn't exist on type 'Shop'",
        "{body}"
    );
    assert_eq!(error["extensions"]["typeName"], "Shop");
    assert_eq!(error["extensions"]["fieldName"], "notAField");
    assert_eq!(error["locations"][0]["line"], 1, "{body}");

    let (status, body) = exchange(&shop.client, "{ shop { name ", json!({})).await;
    assert_eq!(status, 200);
    assert!(
        first_error(&body)["message"]
            .as_str()
            .unwrap()
            .starts_with("Parse error"),
        "{body}"
    );

    // A missing required argument.
    let body = answer(&shop.client, "{ inventoryItem { id } }", json!({})).await;
    assert_eq!(
        first_error(&body)["extensions"]["code"],
        "missingRequiredArguments",
        "{body}"
    );
    assert_eq!(
        first_error(&body)["message"],
        "Field 'inventoryItem' is missing required arguments: id"
    );

    // Variables of the wrong type.
    let body = answer(
        &shop.client,
        "query($id: ID!) { inventoryItem(id: $id) { id } }",
        json!({"id": null}),
    )
    .await;
    assert!(body.get("data").is_none(), "{body}");
    assert!(first_error(&body)["message"].as_str().is_some(), "{body}");
}

#[tokio::test]
async fn a_bad_missing_or_revoked_token_gets_401() {
    let shop = shop(SandboxConfig::default()).await;
    let url = shop.client.url(ApiVersion::V2026_07);
    let http = reqwest::Client::new();
    for token in [None, Some("shpat_wrong")] {
        let mut request = http.post(&url).json(&json!({"query": "{ shop { name } }"}));
        if let Some(token) = token {
            request = request.header("X-Shopify-Access-Token", token);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), 401);
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            body["errors"],
            "[API] Invalid API key or access token (unrecognized login or wrong password)"
        );
    }
    shop.sandbox.admin().set_faults(FaultConfig {
        token_revoked: true,
        ..FaultConfig::default()
    });
    let (status, _) = exchange(&shop.client, "{ shop { name } }", json!({})).await;
    assert_eq!(status, 401);
    assert_eq!(shop.sandbox.admin().fault_counters().token_revoked, 1);
}

#[tokio::test]
async fn both_versions_are_served_with_their_own_schema() {
    let shop = shop(SandboxConfig::default()).await;
    for version in ApiVersion::ALL {
        let (status, body) = shop
            .client
            .graphql_version(version, "{ shop { name myshopifyDomain } }", json!({}))
            .await
            .unwrap();
        assert_eq!(status, 200);
        assert_eq!(
            body["data"]["shop"]["myshopifyDomain"], "plumb-sandbox.myshopify.com",
            "{body}"
        );
    }
    let response = reqwest::Client::new()
        .post(format!(
            "{}/admin/api/2019-01/graphql.json",
            shop.sandbox.url()
        ))
        .header("X-Shopify-Access-Token", shop.sandbox.access_token())
        .json(&json!({"query": "{ shop { name } }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);
}

#[tokio::test]
async fn a_gzipped_request_body_is_accepted() {
    use std::io::Write;
    let shop = shop(SandboxConfig::default()).await;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder
        .write_all(json!({"query": "{ shop { name } }"}).to_string().as_bytes())
        .unwrap();
    let response = post(&reqwest::Client::new(), &shop.sandbox, ApiVersion::V2026_07)
        .header("Content-Type", "application/json")
        .header("Content-Encoding", "gzip")
        .body(encoder.finish().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"]["shop"]["name"], "plumb-sandbox");
}

#[tokio::test]
async fn a_bare_application_graphql_body_is_accepted() {
    let shop = shop(SandboxConfig::default()).await;
    let response = post(&reqwest::Client::new(), &shop.sandbox, ApiVersion::V2026_07)
        .header("Content-Type", "application/graphql")
        .body("{ shop { name } }")
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"]["shop"]["name"], "plumb-sandbox");
}

#[tokio::test]
async fn a_mutation_without_idempotent_is_refused_with_bad_request() {
    let shop = shop(SandboxConfig::default()).await;
    let input = set_input(
        "available",
        vec![row(shop.item, shop.location, 5, Some(10))],
    );
    let (status, body) = exchange(&shop.client, SET_NO_KEY, json!({"input": input})).await;
    let error = refused(status, &body);
    assert_eq!(
        error["message"],
        "The @idempotent directive is required for this mutation but was not provided."
    );
    assert_eq!(error["extensions"]["code"], "BAD_REQUEST");
    assert_eq!(available(&shop.sandbox, shop.item, shop.location), 10);
}

#[tokio::test]
async fn the_same_key_and_variables_replay_without_applying_again() {
    let shop = shop(SandboxConfig::default()).await;
    let admin = shop.sandbox.admin();
    // No compare-and-swap, so only the key can stop a second application.
    let vars = json!({
        "input": {
            "name": "available",
            "reason": "correction",
            "quantities": [row(shop.item, shop.location, 7, None)],
        },
        "key": "0b6f7c9e-0000-4000-8000-000000000001",
    });
    let first = answer(&shop.client, SET, vars.clone()).await;
    assert_no_user_errors(&first, "inventorySetQuantities");
    admin.set_quantity(shop.item, shop.location, QuantityName::Available, 3);
    let second = answer(&shop.client, SET, vars).await;
    assert_eq!(
        first["data"], second["data"],
        "a replay answers the stored payload"
    );
    assert_eq!(
        available(&shop.sandbox, shop.item, shop.location),
        3,
        "a replay does not apply again"
    );
    assert_eq!(admin.stats().idempotent_replays, 1);
}

#[tokio::test]
async fn the_same_key_with_other_variables_is_a_parameter_mismatch() {
    let shop = shop(SandboxConfig::default()).await;
    let key = "0b6f7c9e-0000-4000-8000-000000000002";
    let vars = |quantity| {
        json!({
            "input": set_input("available", vec![row(shop.item, shop.location, quantity, None)]),
            "key": key,
        })
    };
    let first = answer(&shop.client, SET, vars(4)).await;
    assert_no_user_errors(&first, "inventorySetQuantities");
    let (status, second) = exchange(&shop.client, SET, vars(6)).await;
    assert_eq!(status, 200);
    let payload = &second["data"]["inventorySetQuantities"];
    assert_eq!(
        payload["userErrors"][0]["code"], "IDEMPOTENCY_KEY_PARAMETER_MISMATCH",
        "{second}"
    );
    assert_eq!(payload["inventoryAdjustmentGroup"], Value::Null);
    assert!(second.get("errors").is_none(), "{second}");
    assert_eq!(available(&shop.sandbox, shop.item, shop.location), 4);
}

#[tokio::test]
async fn a_key_still_in_flight_is_a_concurrent_request() {
    let shop = shop(SandboxConfig::default()).await;
    // Warm the schema so the first request's latency is the injected one.
    exchange(&shop.client, "{ shop { name } }", json!({})).await;
    shop.sandbox.admin().set_faults(FaultConfig {
        latency: 1.0,
        latency_ms: Some(1000),
        ..FaultConfig::default()
    });
    let vars = json!({
        "input": set_input("available", vec![row(shop.item, shop.location, 2, Some(10))]),
        "key": "0b6f7c9e-0000-4000-8000-000000000003",
    });
    let first = {
        let client = shop.client.clone();
        let vars = vars.clone();
        tokio::spawn(async move { client.graphql(SET, vars).await.unwrap() })
    };
    // The latency is injected after the key is registered: once it is counted, the
    // first request is in flight.
    let admin = shop.sandbox.admin();
    while admin.fault_counters().latency == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let second = answer(&shop.client, SET, vars).await;
    assert_eq!(
        user_error(&second, "inventorySetQuantities")["code"],
        "IDEMPOTENCY_CONCURRENT_REQUEST",
        "{second}"
    );
    let (_, first) = first.await.unwrap();
    assert_no_user_errors(&first, "inventorySetQuantities");
    assert_eq!(available(&shop.sandbox, shop.item, shop.location), 2);
}

#[tokio::test]
async fn change_from_quantity_is_required_and_checked() {
    let shop = shop(SandboxConfig::default()).await;
    // Missing on one row: a top-level error, nothing applied.
    let mut missing = row(shop.item, shop.location, 5, Some(10));
    missing
        .as_object_mut()
        .unwrap()
        .remove("changeFromQuantity");
    let vars = json!({
        "input": set_input("available", vec![row(shop.item, shop.other_location, 5, Some(10)), missing]),
        "key": "k-missing",
    });
    let (status, body) = exchange(&shop.client, SET, vars).await;
    let error = refused(status, &body);
    assert_eq!(error["extensions"]["code"], "INVALID_FIELD_ARGUMENTS");
    assert_eq!(
        error["message"],
        "InventoryQuantityInput must include the following argument: changeFromQuantity."
    );
    assert_eq!(available(&shop.sandbox, shop.item, shop.other_location), 10);

    // Stale: a user error, nothing applied (all or nothing).
    let stale = vec![
        row(shop.item, shop.other_location, 5, Some(10)),
        row(shop.item, shop.location, 5, Some(9)),
    ];
    let body = shop.set("available", stale.clone(), "k-stale").await;
    let error = user_error(&body, "inventorySetQuantities");
    assert_eq!(error["code"], "CHANGE_FROM_QUANTITY_STALE", "{body}");
    assert_eq!(
        error["field"],
        json!(["input", "quantities", "1", "changeFromQuantity"])
    );
    assert_eq!(available(&shop.sandbox, shop.item, shop.other_location), 10);

    // The stale attempt spent its key: retrying it, even corrected, is refused.
    let body = shop.set("available", stale, "k-stale").await;
    assert_eq!(
        user_error(&body, "inventorySetQuantities")["code"],
        "IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED",
        "{body}"
    );
    // A refusal is a payload (null group, one user error), not a field error beside it.
    assert!(body.get("errors").is_none(), "{body}");
    assert_eq!(
        body["data"]["inventorySetQuantities"]["inventoryAdjustmentGroup"],
        Value::Null
    );

    // Right: applied. Explicit null: the check is skipped.
    let body = shop
        .set(
            "available",
            vec![
                row(shop.item, shop.other_location, 5, Some(10)),
                row(shop.item, shop.location, 8, None),
            ],
            "k-right",
        )
        .await;
    assert_no_user_errors(&body, "inventorySetQuantities");
    assert_eq!(available(&shop.sandbox, shop.item, shop.other_location), 5);
    assert_eq!(available(&shop.sandbox, shop.item, shop.location), 8);
}

#[tokio::test]
async fn more_than_250_rows_exceed_the_input_array_cap() {
    let shop = shop(SandboxConfig::default()).await;
    let rows = (0..251)
        .map(|_| row(shop.item, shop.location, 1, None))
        .collect();
    let vars = json!({"input": set_input("available", rows), "key": "k-251"});
    let (status, body) = exchange(&shop.client, SET, vars).await;
    let error = refused(status, &body);
    assert_eq!(
        error["extensions"]["code"], "MAX_INPUT_SIZE_EXCEEDED",
        "{body}"
    );
    assert_eq!(
        error["message"],
        "The input array size of 251 is greater than the maximum allowed of 250."
    );
}

#[tokio::test]
async fn duplicate_pairs_and_bad_names_are_user_errors() {
    let shop = shop(SandboxConfig::default()).await;
    let body = shop
        .set(
            "available",
            vec![
                row(shop.item, shop.location, 1, None),
                row(shop.item, shop.location, 2, None),
            ],
            "k-dup",
        )
        .await;
    assert_eq!(
        user_error(&body, "inventorySetQuantities")["code"],
        "NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR",
        "{body}"
    );
    for name in ["committed", "damaged", "nonsense"] {
        let body = shop
            .set(
                name,
                vec![row(shop.item, shop.location, 1, None)],
                &format!("k-name-{name}"),
            )
            .await;
        let error = &user_error(&body, "inventorySetQuantities");
        assert_eq!(error["code"], "INVALID_NAME", "{body}");
        assert_eq!(error["field"], json!(["input", "name"]));
    }
    assert_eq!(available(&shop.sandbox, shop.item, shop.location), 10);
}

#[tokio::test]
async fn setting_available_moves_on_hand_and_every_quantity_name_is_served() {
    let shop = shop(SandboxConfig::default()).await;
    let admin = shop.sandbox.admin();
    admin.set_quantity(shop.item, shop.location, QuantityName::Damaged, 2);
    admin.set_quantity(shop.item, shop.location, QuantityName::Incoming, 7);
    let body = shop
        .set(
            "available",
            vec![row(shop.item, shop.location, 4, Some(10))],
            "k-on-hand",
        )
        .await;
    let changes = &body["data"]["inventorySetQuantities"]["inventoryAdjustmentGroup"]["changes"];
    assert_eq!(
        changes[0],
        json!({"name": "available", "delta": -6, "quantityAfterChange": 4}),
        "{body}"
    );
    assert_eq!(
        changes[1],
        json!({"name": "on_hand", "delta": -6, "quantityAfterChange": 6}),
        "{body}"
    );

    let query = r#"query($id: ID!, $loc: ID!) {
      inventoryItem(id: $id) {
        inventoryLevel(locationId: $loc) {
          quantities(names: ["available", "committed", "damaged", "incoming", "on_hand", "quality_control", "reserved", "safety_stock"]) { name quantity }
        }
      }
    }"#;
    let body = answer(
        &shop.client,
        query,
        json!({"id": gid("InventoryItem", shop.item), "loc": gid("Location", shop.location)}),
    )
    .await;
    let quantities: Vec<(String, i64)> =
        body["data"]["inventoryItem"]["inventoryLevel"]["quantities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|q| {
                (
                    q["name"].as_str().unwrap().to_owned(),
                    q["quantity"].as_i64().unwrap(),
                )
            })
            .collect();
    let get = |name: &str| quantities.iter().find(|(n, _)| n == name).unwrap().1;
    assert_eq!(quantities.len(), 8, "{body}");
    assert_eq!(get("available"), 4);
    assert_eq!(get("damaged"), 2);
    assert_eq!(get("incoming"), 7);
    assert_eq!(
        get("on_hand"),
        get("available")
            + get("committed")
            + get("damaged")
            + get("quality_control")
            + get("reserved")
            + get("safety_stock")
    );

    // Setting on_hand moves available by the same delta.
    let body = shop
        .set(
            "on_hand",
            vec![row(shop.item, shop.location, 10, Some(6))],
            "k-set-on-hand",
        )
        .await;
    assert_no_user_errors(&body, "inventorySetQuantities");
    assert_eq!(available(&shop.sandbox, shop.item, shop.location), 8);
}

#[tokio::test]
async fn a_query_over_the_max_cost_is_refused_before_running() {
    let shop = shop(SandboxConfig::default()).await;
    let query = "{ products(first: 250) { edges { node { variants(first: 250) { edges { node { id } } } } } } }";
    let (status, body) = exchange(&shop.client, query, json!({})).await;
    let error = refused(status, &body);
    assert_eq!(error["extensions"]["code"], "MAX_COST_EXCEEDED", "{body}");
    let requested = 2 + 250 * (1 + 2 + 250);
    assert_eq!(error["extensions"]["cost"], requested);
    assert_eq!(error["extensions"]["maxCost"], 1000);
    assert_eq!(body["extensions"]["cost"]["requestedQueryCost"], requested);
    assert_eq!(
        shop.sandbox.admin().throttle_status().currently_available,
        2000.0
    );
}

#[tokio::test]
async fn throttled_has_shopifys_exact_shape_and_the_bucket_refills_at_the_restore_rate() {
    let shop = shop(SandboxConfig::default()).await;
    let admin = shop.sandbox.admin();
    exchange(&shop.client, "{ shop { name } }", json!({})).await;
    admin.set_bucket(0.0);
    // 252 points: the bucket cannot refill that much while the request is parsed, however
    // loaded the machine.
    let (status, body) = exchange(
        &shop.client,
        "{ locations(first: 250) { nodes { id } } }",
        json!({}),
    )
    .await;
    assert_eq!(status, 200);
    let status_json = &body["extensions"]["cost"]["throttleStatus"];
    assert_eq!(
        body,
        json!({
            "errors": [{
                "message": "Throttled",
                "extensions": {"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"},
            }],
            "extensions": {"cost": {
                "requestedQueryCost": 252,
                "actualQueryCost": null,
                "throttleStatus": {
                    "maximumAvailable": 2000.0,
                    "currentlyAvailable": status_json["currentlyAvailable"].clone(),
                    "restoreRate": 100.0,
                },
            }},
        })
    );
    assert_eq!(admin.stats().throttled, 1);

    // Refill: after a wait, the bucket holds the restore rate times the time passed
    // (minus this query's cost), never more.
    admin.set_bucket(0.0);
    let started = Instant::now();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let body = answer(&shop.client, "{ shop { name } }", json!({})).await;
    let elapsed = started.elapsed().as_secs_f64();
    let available = body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"]
        .as_f64()
        .unwrap();
    assert!(
        available >= 0.5 * 100.0 - 1.0 - 1.0,
        "{available} after {elapsed}s"
    );
    assert!(available <= elapsed * 100.0, "{available} after {elapsed}s");
    assert_eq!(body["extensions"]["cost"]["actualQueryCost"], 1);
}

#[tokio::test]
async fn plans_set_the_restore_rate_and_the_bucket_size() {
    for (plan, rate) in [
        (plumb_tests::sandbox::Plan::Advanced, 200.0),
        (plumb_tests::sandbox::Plan::Plus, 1000.0),
        (plumb_tests::sandbox::Plan::Enterprise, 2000.0),
    ] {
        let sandbox = Sandbox::start(SandboxConfig {
            plan,
            ..SandboxConfig::default()
        })
        .await
        .unwrap();
        let status = sandbox.admin().throttle_status();
        assert_eq!(status.restore_rate, rate);
        assert_eq!(status.maximum_available, rate * 20.0);
    }
}

#[tokio::test]
async fn an_unimplemented_field_is_a_loud_error_naming_it() {
    let shop = shop(SandboxConfig::default()).await;
    let body = answer(
        &shop.client,
        "{ shop { name billingAddress { city } } }",
        json!({}),
    )
    .await;
    let message = body["errors"][0]["message"].as_str().unwrap_or("");
    assert!(message.contains("Shop.billingAddress"), "{body}");
}

#[tokio::test]
async fn the_executor_handles_aliases_fragments_typename_pagination_and_search() {
    let shop = shop(SandboxConfig::default()).await;
    let query = r#"
      fragment Item on InventoryItem { id sku tracked }
      query Items($after: String) {
        page: inventoryItems(first: 1, after: $after, query: "sku:SKU-A OR sku:SKU-B") {
          edges { cursor node { __typename ...Item } }
          pageInfo { hasNextPage endCursor }
        }
        one: inventoryItems(first: 5, query: "sku:SKU-B") { nodes { ... on InventoryItem { sku } } }
        none: inventoryItems(first: 5, query: "updated_at:>=2999-01-01T00:00:00Z") { nodes { id } }
      }"#;
    let body = answer(&shop.client, query, json!({})).await;
    let page = &body["data"]["page"];
    assert_eq!(
        page["edges"][0]["node"]["__typename"], "InventoryItem",
        "{body}"
    );
    assert_eq!(page["edges"][0]["node"]["sku"], "SKU-A");
    assert_eq!(
        page["edges"][0]["node"]["id"],
        gid("InventoryItem", shop.item)
    );
    assert_eq!(page["pageInfo"]["hasNextPage"], true);
    assert_eq!(body["data"]["one"]["nodes"], json!([{"sku": "SKU-B"}]));
    assert_eq!(body["data"]["none"]["nodes"], json!([]));
    let cursor = page["pageInfo"]["endCursor"].clone();
    let body = answer(&shop.client, query, json!({"after": cursor})).await;
    assert_eq!(
        body["data"]["page"]["edges"][0]["node"]["id"],
        gid("InventoryItem", shop.other_item)
    );
    assert_eq!(body["data"]["page"]["pageInfo"]["hasNextPage"], false);

    // Ids above 2^53 survive as strings in GIDs.
    assert!(shop.item > 1 << 53);

    // node(id:) and an unknown search filter.
    let body = answer(
        &shop.client,
        "query($id: ID!) { node(id: $id) { __typename ... on Location { name } } }",
        json!({"id": gid("Location", shop.location)}),
    )
    .await;
    assert_eq!(
        body["data"]["node"],
        json!({"__typename": "Location", "name": "Main warehouse"})
    );
    let body = answer(
        &shop.client,
        "{ inventoryItems(first: 5, query: \"vendor:x\") { nodes { id } } }",
        json!({}),
    )
    .await;
    assert_error_mentions(&body, "vendor");
}

#[tokio::test]
async fn faults_are_injected_and_counted() {
    let shop = shop(SandboxConfig::default()).await;
    let admin = shop.sandbox.admin();
    exchange(&shop.client, "{ shop { name } }", json!({})).await;

    admin.set_faults(FaultConfig {
        server_error: 1.0,
        ..FaultConfig::default()
    });
    let (status, _) = exchange(&shop.client, "{ shop { name } }", json!({})).await;
    assert!([500, 502, 503].contains(&status), "{status}");

    admin.set_faults(FaultConfig {
        too_many_requests: 1.0,
        ..FaultConfig::default()
    });
    let (status, _) = exchange(&shop.client, "{ shop { name } }", json!({})).await;
    assert_eq!(status, 429);

    admin.set_faults(FaultConfig {
        throttled: 1.0,
        ..FaultConfig::default()
    });
    let (status, body) = exchange(&shop.client, "{ shop { name } }", json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(body["errors"][0]["extensions"]["code"], "THROTTLED");

    admin.set_faults(FaultConfig {
        timeout: 1.0,
        timeout_hold_ms: Some(300),
        ..FaultConfig::default()
    });
    let result = post(
        &reqwest::Client::builder()
            .timeout(Duration::from_millis(100))
            .build()
            .unwrap(),
        &shop.sandbox,
        ApiVersion::V2026_07,
    )
    .json(&json!({"query": "{ shop { name } }"}))
    .send()
    .await;
    assert!(result.is_err_and(|e| e.is_timeout()));

    // The nasty one: applied, then the connection drops.
    admin.set_faults(FaultConfig {
        response_lost: 1.0,
        ..FaultConfig::default()
    });
    let vars = json!({
        "input": set_input("available", vec![row(shop.item, shop.location, 3, Some(10))]),
        "key": "k-lost",
    });
    let result = shop.client.graphql(SET, vars).await;
    assert!(result.is_err(), "{result:?}");
    assert_eq!(
        available(&shop.sandbox, shop.item, shop.location),
        3,
        "the mutation was applied"
    );

    // Applied, then a 5xx from the proxy.
    admin.set_faults(FaultConfig {
        server_error_after_apply: 1.0,
        ..FaultConfig::default()
    });
    let vars = json!({
        "input": set_input("available", vec![row(shop.item, shop.location, 2, Some(3))]),
        "key": "k-5xx-after",
    });
    let (status, _) = exchange(&shop.client, SET, vars).await;
    assert!([502, 503, 504].contains(&status), "{status}");
    assert_eq!(
        available(&shop.sandbox, shop.item, shop.location),
        2,
        "the mutation was applied"
    );
    assert_eq!(admin.fault_counters().server_error_after_apply, 1);

    admin.set_faults(FaultConfig::default());
    let counters = admin.fault_counters();
    assert_eq!(
        (
            counters.server_error,
            counters.too_many_requests,
            counters.throttled,
            counters.timeout,
            counters.response_lost
        ),
        (1, 1, 1, 1, 1)
    );
}

const ADJUST: &str = r#"mutation Adjust($input: InventoryAdjustQuantitiesInput!, $key: String!) {
  inventoryAdjustQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup { reason referenceDocumentUri changes { name delta quantityAfterChange } }
    userErrors { field message code }
  }
}"#;

fn change(item: u64, location: u64, delta: i64, change_from: Option<i64>) -> Value {
    json!({
        "inventoryItemId": gid("InventoryItem", item),
        "locationId": gid("Location", location),
        "delta": delta,
        "changeFromQuantity": change_from,
    })
}

#[tokio::test]
async fn inventory_adjust_quantities_keeps_the_same_contracts() {
    let shop = shop(SandboxConfig::default()).await;
    let admin = shop.sandbox.admin();
    let adjust = |name: &str, changes: Vec<Value>, key: &str| {
        let input = json!({"name": name, "reason": "correction", "referenceDocumentUri": "gid://plumb/SyncJob/2", "changes": changes});
        answer(&shop.client, ADJUST, json!({"input": input, "key": key}))
    };

    let mut missing = change(shop.item, shop.location, -3, None);
    missing
        .as_object_mut()
        .unwrap()
        .remove("changeFromQuantity");
    let body = adjust("available", vec![missing], "a-missing").await;
    assert_eq!(
        first_error(&body)["message"],
        "InventoryChangeInput must include the following argument: changeFromQuantity.",
        "{body}"
    );

    let body = adjust(
        "available",
        vec![change(shop.item, shop.location, -3, Some(11))],
        "a-stale",
    )
    .await;
    assert_eq!(
        user_error(&body, "inventoryAdjustQuantities")["code"],
        "CHANGE_FROM_QUANTITY_STALE",
        "{body}"
    );

    let body = adjust(
        "available",
        vec![change(shop.item, shop.location, -3, Some(10))],
        "a-ok",
    )
    .await;
    let group = &body["data"]["inventoryAdjustQuantities"]["inventoryAdjustmentGroup"];
    assert_eq!(
        group["referenceDocumentUri"], "gid://plumb/SyncJob/2",
        "{body}"
    );
    assert_eq!(
        group["changes"][0],
        json!({"name": "available", "delta": -3, "quantityAfterChange": 7})
    );
    let level = admin.level(shop.item, shop.location).unwrap();
    assert_eq!((level.available, level.get(QuantityName::OnHand)), (7, 7));

    // Unavailable states need a ledger document and move on hand, not available.
    let body = adjust(
        "damaged",
        vec![change(shop.item, shop.location, 2, Some(0))],
        "a-no-ledger",
    )
    .await;
    assert_eq!(
        user_error(&body, "inventoryAdjustQuantities")["code"],
        "INVALID_LEDGER_DOCUMENT",
        "{body}"
    );
    let mut with_ledger = change(shop.item, shop.location, 2, Some(0));
    with_ledger["ledgerDocumentUri"] = json!("gid://plumb/Inspection/9");
    let body = adjust("damaged", vec![with_ledger], "a-ledger").await;
    assert_no_user_errors(&body, "inventoryAdjustQuantities");
    let level = admin.level(shop.item, shop.location).unwrap();
    assert_eq!(
        (
            level.available,
            level.damaged,
            level.get(QuantityName::OnHand)
        ),
        (7, 2, 9)
    );

    let body = adjust(
        "on_hand",
        vec![change(shop.item, shop.location, 1, None)],
        "a-name",
    )
    .await;
    assert_eq!(
        user_error(&body, "inventoryAdjustQuantities")["code"],
        "INVALID_QUANTITY_NAME",
        "{body}"
    );
}

#[tokio::test]
async fn responses_carry_shopifys_headers() {
    let shop = shop(SandboxConfig::default()).await;
    let response = post(&reqwest::Client::new(), &shop.sandbox, ApiVersion::V2026_10)
        .json(&json!({"query": "{ shop { name } }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-shopify-api-version"], "2026-10");
    assert!(response.headers().contains_key("x-request-id"));
    shop.sandbox.admin().set_faults(FaultConfig {
        too_many_requests: 1.0,
        ..FaultConfig::default()
    });
    let response = post(&reqwest::Client::new(), &shop.sandbox, ApiVersion::V2026_07)
        .json(&json!({"query": "{ shop { name } }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 429);
    assert_eq!(response.headers()["retry-after"], "2.0");
}

#[tokio::test]
async fn inventory_activate_stocks_an_item_at_a_location() {
    let shop = shop(SandboxConfig::default()).await;
    let query = r#"mutation($item: ID!, $loc: ID!) {
      inventoryActivate(inventoryItemId: $item, locationId: $loc, available: 4) @idempotent(key: "activate-1") {
        inventoryLevel { id quantities(names: ["available"]) { quantity } }
        userErrors { field message }
      }
    }"#;
    let vars = json!({"item": gid("InventoryItem", shop.other_item), "loc": gid("Location", shop.other_location)});
    let body = answer(&shop.client, query, vars).await;
    assert_no_user_errors(&body, "inventoryActivate");
    assert_eq!(
        body["data"]["inventoryActivate"]["inventoryLevel"]["quantities"][0]["quantity"],
        4
    );
    assert_eq!(
        available(&shop.sandbox, shop.other_item, shop.other_location),
        4
    );
}

#[tokio::test]
async fn a_lost_response_retried_with_the_same_key_is_replayed_not_reapplied() {
    let shop = shop(SandboxConfig::default()).await;
    let admin = shop.sandbox.admin();
    exchange(&shop.client, "{ shop { name } }", json!({})).await;
    let vars = json!({
        "input": {
            "name": "available",
            "reason": "correction",
            "quantities": [row(shop.item, shop.location, 6, None)],
        },
        "key": "k-lost-retry",
    });
    admin.set_faults(FaultConfig {
        response_lost: 1.0,
        ..FaultConfig::default()
    });
    assert!(shop.client.graphql(SET, vars.clone()).await.is_err());
    admin.set_faults(FaultConfig::default());
    // Someone else changes the level meanwhile; the retry must not overwrite it.
    admin.set_quantity(shop.item, shop.location, QuantityName::Available, 9);
    let body = answer(&shop.client, SET, vars).await;
    assert_no_user_errors(&body, "inventorySetQuantities");
    assert_eq!(
        body["data"]["inventorySetQuantities"]["inventoryAdjustmentGroup"]["changes"][0]["quantityAfterChange"],
        6,
        "the stored payload of the first application"
    );
    assert_eq!(available(&shop.sandbox, shop.item, shop.location), 9);
    assert_eq!(admin.stats().idempotent_replays, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_clients_under_mixed_faults_apply_each_key_once() {
    let shop = shop(SandboxConfig {
        plan: plumb_tests::sandbox::Plan::Enterprise,
        seed: 42,
        ..SandboxConfig::default()
    })
    .await;
    let admin = shop.sandbox.admin();
    exchange(&shop.client, "{ shop { name } }", json!({})).await;
    admin.set_faults(FaultConfig {
        server_error: 0.1,
        too_many_requests: 0.1,
        throttled: 0.1,
        latency: 0.2,
        latency_ms: Some(20),
        response_lost: 0.1,
        server_error_after_apply: 0.1,
        ..FaultConfig::default()
    });
    // Each task adjusts by +1 under its own keys, retrying each key until it gets an
    // answer: whatever the faults, every key must count exactly once.
    let adjust = r#"mutation($input: InventoryAdjustQuantitiesInput!, $key: String!) {
      inventoryAdjustQuantities(input: $input) @idempotent(key: $key) { userErrors { code } }
    }"#;
    let mut tasks = Vec::new();
    for task in 0..8 {
        let client = shop.client.clone();
        let (item, location) = (shop.item, shop.location);
        tasks.push(tokio::spawn(async move {
            for n in 0..10 {
                let vars = json!({
                    "input": {"name": "available", "reason": "correction", "changes": [change(item, location, 1, None)]},
                    "key": format!("task-{task}-{n}"),
                });
                loop {
                    match client.graphql(adjust, vars.clone()).await {
                        Ok((200, body)) if body.get("data").is_some() => {
                            let errors = &body["data"]["inventoryAdjustQuantities"]["userErrors"];
                            if errors == &json!([]) {
                                break;
                            }
                            // In flight elsewhere (a lost response's twin): try again.
                            assert_eq!(errors[0]["code"], "IDEMPOTENCY_CONCURRENT_REQUEST", "{body}");
                        }
                        _ => tokio::time::sleep(Duration::from_millis(5)).await,
                    }
                }
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(available(&shop.sandbox, shop.item, shop.location), 10 + 80);
    let counters = admin.fault_counters();
    assert!(
        counters.response_lost + counters.server_error_after_apply > 0,
        "{counters:?}"
    );
}
