//! Cost accounting: requested and actual costs of representative documents, computed by
//! Shopify's rules, and what the bucket and the counters record.

// Helpers outside #[test] functions unwrap too: a panic there is the failure report.
#![allow(clippy::unwrap_used)]

mod sandbox_support;

use plumb_tests::sandbox::client::SandboxClient;
use plumb_tests::sandbox::state::gid;
use plumb_tests::sandbox::{Sandbox, SandboxConfig};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use sandbox_support::{answer, assert_no_user_errors, available};

struct Shop {
    sandbox: Sandbox,
    client: SandboxClient,
    location: u64,
    item: u64,
}

/// Two locations, two items: the first stocked at both, the second at one.
async fn shop() -> Shop {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let admin = sandbox.admin();
    let location = admin.add_location("A");
    let other = admin.add_location("B");
    let product = admin.add_product("P", &[("S1", Decimal::ONE), ("S2", Decimal::ONE)]);
    let item = product.variants[0].inventory_item_id;
    admin.stock(item, location, 5);
    admin.stock(item, other, 5);
    admin.stock(product.variants[1].inventory_item_id, location, 5);
    let client = SandboxClient::new(&sandbox.url(), sandbox.access_token());
    Shop {
        sandbox,
        client,
        location,
        item,
    }
}

fn cost(body: &Value) -> (u64, u64) {
    let cost = &body["extensions"]["cost"];
    (
        cost["requestedQueryCost"]
            .as_u64()
            .unwrap_or_else(|| panic!("{body}")),
        cost["actualQueryCost"]
            .as_u64()
            .unwrap_or_else(|| panic!("{body}")),
    )
}

#[tokio::test]
async fn an_object_costs_one_and_scalars_nothing() {
    let shop = shop().await;
    let body = answer(
        &shop.client,
        "{ shop { name currencyCode myshopifyDomain } }",
        json!({}),
    )
    .await;
    assert_eq!(cost(&body), (1, 1));
}

#[tokio::test]
async fn a_connection_costs_two_plus_its_page_and_actual_counts_what_came_back() {
    let shop = shop().await;
    let body = answer(
        &shop.client,
        "{ locations(first: 10) { edges { cursor node { id name } } pageInfo { hasNextPage } } }",
        json!({}),
    )
    .await;
    // 2 + 10 x 1 requested; 2 + 2 x 1 actual (two locations).
    assert_eq!(cost(&body), (12, 4));
}

#[tokio::test]
async fn nested_connections_multiply() {
    let shop = shop().await;
    let query = r#"{
      inventoryItems(first: 5) {
        nodes {
          id sku
          inventoryLevels(first: 3) { nodes { quantities(names: ["available", "on_hand"]) { name quantity } } }
        }
      }
    }"#;
    let body = answer(&shop.client, query, json!({})).await;
    // Level: 1 + quantities (a list of objects) 1 = 2; levels: 2 + 3 x 2 = 8;
    // item: 1 + 8 = 9; items: 2 + 5 x 9 = 47.
    // Actual: item 1 has 2 levels (1 + 2 + 2 x 2 = 7), item 2 has 1 (1 + 2 + 2 = 5): 2 + 12.
    assert_eq!(cost(&body), (47, 14));
}

#[tokio::test]
async fn variables_set_the_page_size() {
    let shop = shop().await;
    let body = answer(
        &shop.client,
        "query($n: Int!) { productVariants(first: $n) { nodes { id sku } } }",
        json!({"n": 50}),
    )
    .await;
    assert_eq!(cost(&body), (52, 4));
}

#[tokio::test]
async fn a_mutation_costs_ten_plus_its_selection() {
    let shop = shop().await;
    let query = r#"mutation($input: InventorySetQuantitiesInput!) {
      inventorySetQuantities(input: $input) @idempotent(key: "cost-1") {
        inventoryAdjustmentGroup { createdAt reason changes { name delta } }
        userErrors { field message }
      }
    }"#;
    let input = json!({
        "name": "available",
        "reason": "correction",
        "quantities": [{
            "inventoryItemId": gid("InventoryItem", shop.item),
            "locationId": gid("Location", shop.location),
            "quantity": 9,
            "changeFromQuantity": 5,
        }],
    });
    let body = answer(&shop.client, query, json!({"input": input})).await;
    // 10 + group 1 + changes 1 + userErrors 1: the 13 Shopify recorded.
    assert_eq!(cost(&body), (13, 13));
}

#[tokio::test]
async fn the_bucket_is_charged_the_actual_cost_and_the_counters_add_up() {
    let shop = shop().await;
    let admin = shop.sandbox.admin();
    answer(&shop.client, "{ shop { name } }", json!({})).await;
    admin.set_bucket(1000.0);
    let started = std::time::Instant::now();
    let body = answer(
        &shop.client,
        "{ locations(first: 10) { nodes { id } } }",
        json!({}),
    )
    .await;
    let elapsed = started.elapsed().as_secs_f64();
    let available = body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"]
        .as_f64()
        .unwrap();
    // Charged 4 (actual), not 12 (requested); refilled at most 100/s meanwhile.
    assert!(
        available >= 996.0 && available <= 996.0 + elapsed * 100.0 + 1.0,
        "{body}"
    );

    let stats = admin.stats();
    assert_eq!(stats.executed, 2);
    assert_eq!(stats.points_requested, 1 + 12);
    assert_eq!(stats.points_charged, 1 + 4);
    assert_eq!(stats.operations["locations"].charged_points, 4);
    assert_eq!(stats.operations["shop"].executed, 1);
}

#[tokio::test]
async fn a_full_page_of_250_rows_costs_what_shopify_recorded_and_fits_the_accounting() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let admin = sandbox.admin();
    let location = admin.add_location("A");
    let catalog = admin.add_catalog("BULK", 250, &[location], 0);
    let client = SandboxClient::new(&sandbox.url(), sandbox.access_token());
    let started = std::time::Instant::now();
    let query = r#"mutation($input: InventorySetQuantitiesInput!, $key: String!) {
      inventorySetQuantities(input: $input) @idempotent(key: $key) {
        inventoryAdjustmentGroup { createdAt reason changes { name delta } }
        userErrors { field message }
      }
    }"#;
    let rows: Vec<Value> = catalog
        .iter()
        .map(|v| {
            json!({
                "inventoryItemId": gid("InventoryItem", v.inventory_item_id),
                "locationId": gid("Location", location),
                "quantity": 3,
                "changeFromQuantity": 0,
            })
        })
        .collect();
    let input = json!({"name": "available", "reason": "correction", "quantities": rows});
    let body = answer(&client, query, json!({"input": input, "key": "full-page"})).await;
    assert_no_user_errors(&body, "inventorySetQuantities");
    assert_eq!(cost(&body), (13, 13));
    let stats = admin.stats();
    assert!(stats.points_charged as f64 <= admin.allowed_points(started.elapsed()));
    assert_eq!(
        available(&sandbox, catalog[249].inventory_item_id, location),
        3
    );
}

#[tokio::test]
async fn the_cost_debug_header_breaks_the_cost_down_per_field() {
    let shop = shop().await;
    let response = reqwest::Client::new()
        .post(shop.client.url(plumb_tests::sandbox::ApiVersion::V2026_07))
        .header("X-Shopify-Access-Token", shop.sandbox.access_token())
        .header("Shopify-GraphQL-Cost-Debug", "1")
        .json(&json!({"query": "{ shop { name } items: inventoryItems(first: 5) { nodes { id variant { id } } } }"}))
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    let fields = body["extensions"]["cost"]["fields"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"));
    let find = |path: Value| {
        fields
            .iter()
            .find(|f| f["path"] == path)
            .unwrap_or_else(|| panic!("{path} in {body}"))
    };
    assert_eq!(find(json!(["shop"]))["requestedTotalCost"], 1);
    let items = find(json!(["items"]));
    // 2 + 5 x (node 1 + variant 1).
    assert_eq!(
        (
            items["definedCost"].as_u64(),
            items["requestedTotalCost"].as_u64()
        ),
        (Some(2), Some(12))
    );
    assert_eq!(
        find(json!(["items", "nodes", "variant"]))["requestedTotalCost"],
        5
    );
    assert_eq!(body["extensions"]["cost"]["requestedQueryCost"], 13);
}
