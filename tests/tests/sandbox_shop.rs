//! The shop simulation: orders commit stock and announce it; fulfilling, cancelling and
//! refunding move quantities and statuses as Shopify does; bulk operations.

// Helpers outside #[test] functions unwrap too: a panic there is the failure report.
#![allow(clippy::unwrap_used)]

mod sandbox_support;

use std::time::Duration;

use plumb_tests::sandbox::client::SandboxClient;
use plumb_tests::sandbox::orders::OrderSpec;
use plumb_tests::sandbox::receiver::{Received, Receiver};
use plumb_tests::sandbox::state::gid;
use plumb_tests::sandbox::{Sandbox, SandboxConfig};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use sandbox_support::{answer, assert_error_mentions, assert_no_user_errors, figures, user_error};

const TOPICS: &[&str] = &[
    "orders/create",
    "orders/paid",
    "orders/updated",
    "orders/cancelled",
    "orders/fulfilled",
    "orders/partially_fulfilled",
    "fulfillments/create",
    "refunds/create",
    "inventory_levels/update",
    "bulk_operations/finish",
];

struct Shop {
    sandbox: Sandbox,
    client: SandboxClient,
    receiver: Receiver,
    location: u64,
    variant: u64,
    item: u64,
}

async fn shop() -> Shop {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let admin = sandbox.admin();
    let location = admin.add_location("Main warehouse");
    let product = admin.add_product(
        "Aviator sunglasses",
        &[("SKU2006-001", Decimal::new(8999, 2))],
    );
    let variant = product.variants[0].variant_id;
    let item = product.variants[0].inventory_item_id;
    admin.stock(item, location, 10);
    let receiver = Receiver::start().await.unwrap();
    for topic in TOPICS {
        admin.subscribe(topic, &receiver.url());
    }
    let client = SandboxClient::new(&sandbox.url(), sandbox.access_token());
    Shop {
        sandbox,
        client,
        receiver,
        location,
        variant,
        item,
    }
}

fn of_topic<'a>(received: &'a [Received], topic: &str) -> Vec<&'a Received> {
    received
        .iter()
        .filter(|r| r.header("X-Shopify-Topic") == Some(topic))
        .collect()
}

async fn wait_topic(shop: &Shop, topic: &str, count: usize) -> Vec<Value> {
    let received = shop
        .receiver
        .wait_for(Duration::from_secs(10), |r| {
            of_topic(r, topic).len() >= count
        })
        .await;
    let bodies: Vec<Value> = of_topic(&received, topic)
        .iter()
        .map(|r| r.json())
        .collect();
    assert!(
        bodies.len() >= count,
        "expected {count} {topic}, got {}",
        bodies.len()
    );
    bodies
}

fn order_spec(shop: &Shop, quantity: i64) -> OrderSpec {
    OrderSpec {
        lines: vec![(shop.variant, quantity)],
        location_id: Some(shop.location),
        email: "jon@example.com".to_owned(),
        paid: true,
    }
}

#[tokio::test]
async fn an_order_commits_stock_and_fires_orders_create_and_inventory_levels_update() {
    let shop = shop().await;
    let admin = shop.sandbox.admin();
    let order = admin.place_order(&order_spec(&shop, 2)).unwrap();
    assert_eq!(figures(&shop.sandbox, shop.item, shop.location), (8, 2, 10));

    let created = wait_topic(&shop, "orders/create", 1).await;
    let body = &created[0];
    assert_eq!(
        body["id"].as_u64(),
        Some(order),
        "ids above 2^53 stay exact integers"
    );
    assert_eq!(body["admin_graphql_api_id"], gid("Order", order));
    assert_eq!(body["line_items"][0]["sku"], "SKU2006-001");
    assert_eq!(body["line_items"][0]["quantity"], 2);
    assert_eq!(
        body["line_items"][0]["variant_id"].as_u64(),
        Some(shop.variant)
    );
    assert_eq!(
        body["line_items"][0]["price_set"]["shop_money"]["amount"],
        "89.99"
    );
    assert_eq!(body["total_price"], "179.98");
    assert_eq!(body["financial_status"], "paid");
    assert_eq!(body["customer"]["email"], body["email"]);
    let body_customer_id = body["customer"]["id"].as_u64().expect("a customer id");

    let levels = wait_topic(&shop, "inventory_levels/update", 1).await;
    assert_eq!(
        levels[0],
        json!({
            "inventory_item_id": shop.item,
            "location_id": shop.location,
            "available": 8,
            "updated_at": levels[0]["updated_at"].clone(),
            "admin_graphql_api_id": format!("gid://shopify/InventoryLevel/{}?inventory_item_id={}", shop.location, shop.item),
        })
    );
    wait_topic(&shop, "orders/paid", 1).await;

    // The same order over GraphQL: money sets as decimal strings, its fulfilment order.
    let query = r#"query($id: ID!) { order(id: $id) {
        name displayFinancialStatus displayFulfillmentStatus cancelledAt updatedAt
        phone customer { id } discountCodes fulfillable subtotalLineItemsQuantity returns(first: 5) { nodes { id } }
        totalPriceSet { shopMoney { amount currencyCode } presentmentMoney { amount currencyCode } }
        lineItems(first: 10) { nodes { sku quantity originalUnitPriceSet { shopMoney { amount } } } }
        fulfillmentOrders(first: 5) { nodes { status assignedLocation { location { id } } lineItems(first: 10) { nodes { totalQuantity remainingQuantity } } } }
    } }"#;
    let body = answer(&shop.client, query, json!({"id": gid("Order", order)})).await;
    let order_json = &body["data"]["order"];
    assert_eq!(order_json["displayFinancialStatus"], "PAID", "{body}");
    assert_eq!(order_json["displayFulfillmentStatus"], "UNFULFILLED");
    assert_eq!(order_json["cancelledAt"], Value::Null);
    // the buyer, as the webhook names them
    assert_eq!(
        order_json["customer"]["id"],
        format!("gid://shopify/Customer/{}", body_customer_id)
    );
    assert_eq!(order_json["fulfillable"], true);
    assert_eq!(order_json["subtotalLineItemsQuantity"], 2);
    assert_eq!(
        order_json["totalPriceSet"]["shopMoney"],
        json!({"amount": "179.98", "currencyCode": "USD"})
    );
    assert_eq!(
        order_json["lineItems"]["nodes"][0]["originalUnitPriceSet"]["shopMoney"]["amount"],
        "89.99"
    );
    let fo = &order_json["fulfillmentOrders"]["nodes"][0];
    assert_eq!(fo["status"], "OPEN");
    assert_eq!(
        fo["assignedLocation"]["location"]["id"],
        gid("Location", shop.location)
    );
    assert_eq!(fo["lineItems"]["nodes"][0]["remainingQuantity"], 2);
}

#[tokio::test]
async fn fulfilling_ships_committed_stock_and_fires_the_fulfilment_webhooks() {
    let shop = shop().await;
    let admin = shop.sandbox.admin();
    let order = admin.place_order(&order_spec(&shop, 3)).unwrap();
    let body = answer(&shop.client, "query($id: ID!) { order(id: $id) { fulfillmentOrders(first: 5) { nodes { id lineItems(first: 5) { nodes { id } } } } } }",
            json!({"id": gid("Order", order)}),).await;
    let fo = &body["data"]["order"]["fulfillmentOrders"]["nodes"][0];
    let mutation = r#"mutation($fulfillment: FulfillmentInput!) {
      fulfillmentCreate(fulfillment: $fulfillment) {
        fulfillment { id status trackingInfo(first: 5) { number company url } }
        userErrors { field message }
      }
    }"#;
    // Ship 1 of 3 first: partially fulfilled.
    let fulfillment = json!({
        "lineItemsByFulfillmentOrder": [{
            "fulfillmentOrderId": fo["id"],
            "fulfillmentOrderLineItems": [{"id": fo["lineItems"]["nodes"][0]["id"], "quantity": 1}],
        }],
        "trackingInfo": {"number": "1Z999", "company": "UPS", "url": "https://ups.example/1Z999"},
    });
    let body = answer(&shop.client, mutation, json!({"fulfillment": fulfillment})).await;
    let payload = &body["data"]["fulfillmentCreate"];
    assert_eq!(payload["userErrors"], json!([]), "{body}");
    assert_eq!(payload["fulfillment"]["trackingInfo"][0]["number"], "1Z999");
    assert_eq!(figures(&shop.sandbox, shop.item, shop.location), (7, 2, 9));
    wait_topic(&shop, "orders/partially_fulfilled", 1).await;
    let created = wait_topic(&shop, "fulfillments/create", 1).await;
    assert_eq!(created[0]["tracking_number"], "1Z999");
    assert_eq!(created[0]["order_id"].as_u64(), Some(order));

    // Then the rest: fulfilled.
    admin.fulfil_order(order, None).unwrap();
    assert_eq!(figures(&shop.sandbox, shop.item, shop.location), (7, 0, 7));
    let fulfilled = wait_topic(&shop, "orders/fulfilled", 1).await;
    assert_eq!(fulfilled[0]["fulfillment_status"], "fulfilled");
    assert_eq!(
        admin.order(order).unwrap().fulfillment_status(),
        "FULFILLED"
    );
}

#[tokio::test]
async fn cancelling_with_restock_returns_committed_stock() {
    let shop = shop().await;
    let admin = shop.sandbox.admin();
    let order = admin.place_order(&order_spec(&shop, 4)).unwrap();
    let mutation = r#"mutation($id: ID!) {
      orderCancel(orderId: $id, reason: CUSTOMER, restock: true, refundMethod: {originalPaymentMethodsRefund: true}) {
        job { id done }
        orderCancelUserErrors { field message code }
      }
    }"#;
    let body = answer(&shop.client, mutation, json!({"id": gid("Order", order)})).await;
    assert_eq!(
        body["data"]["orderCancel"]["orderCancelUserErrors"],
        json!([]),
        "{body}"
    );
    let (available, committed, _) = figures(&shop.sandbox, shop.item, shop.location);
    assert_eq!((available, committed), (10, 0));
    let cancelled = wait_topic(&shop, "orders/cancelled", 1).await;
    assert_eq!(cancelled[0]["cancel_reason"], "customer");
    assert!(cancelled[0]["cancelled_at"].is_string());
    assert_eq!(cancelled[0]["financial_status"], "refunded");

    // Cancelling again is refused.
    let body = answer(&shop.client, mutation, json!({"id": gid("Order", order)})).await;
    assert_eq!(
        body["data"]["orderCancel"]["orderCancelUserErrors"][0]["code"], "INVALID",
        "{body}"
    );
}

#[tokio::test]
async fn refunds_restock_by_type_and_fire_refunds_create() {
    let shop = shop().await;
    let admin = shop.sandbox.admin();
    let order = admin.place_order(&order_spec(&shop, 4)).unwrap();
    let line = admin.order(order).unwrap().line_items[0].id;
    // Ship 2 of 4.
    let body = answer(&shop.client, "query($id: ID!) { order(id: $id) { fulfillmentOrders(first: 5) { nodes { id lineItems(first: 5) { nodes { id } } } } } }",
            json!({"id": gid("Order", order)}),).await;
    let fo = &body["data"]["order"]["fulfillmentOrders"]["nodes"][0];
    let body = answer(&shop.client, "mutation($f: FulfillmentInput!) { fulfillmentCreate(fulfillment: $f) { userErrors { message } } }",
            json!({"f": {"lineItemsByFulfillmentOrder": [{
                "fulfillmentOrderId": fo["id"],
                "fulfillmentOrderLineItems": [{"id": fo["lineItems"]["nodes"][0]["id"], "quantity": 2}],
            }]}}),).await;
    assert_no_user_errors(&body, "fulfillmentCreate");
    // available 6, committed 2, on hand 8.

    let refund = r#"mutation($input: RefundInput!, $key: String!) {
      refundCreate(input: $input) @idempotent(key: $key) {
        refund { id totalRefundedSet { shopMoney { amount } } refundLineItems(first: 5) { nodes { quantity restockType location { id } } } }
        order { displayFinancialStatus }
        userErrors { field message }
      }
    }"#;
    // Refund 1 unfulfilled with CANCEL: committed back to available.
    let input = json!({"orderId": gid("Order", order), "refundLineItems": [{
        "lineItemId": gid("LineItem", line), "quantity": 1, "restockType": "CANCEL", "locationId": gid("Location", shop.location),
    }]});
    let body = answer(
        &shop.client,
        refund,
        json!({"input": input, "key": "refund-1"}),
    )
    .await;
    let payload = &body["data"]["refundCreate"];
    assert_eq!(payload["userErrors"], json!([]), "{body}");
    assert_eq!(
        payload["refund"]["totalRefundedSet"]["shopMoney"]["amount"],
        "89.99"
    );
    assert_eq!(
        payload["order"]["displayFinancialStatus"],
        "PARTIALLY_REFUNDED"
    );
    assert_eq!(figures(&shop.sandbox, shop.item, shop.location), (7, 1, 8));

    // Refund 2 shipped with RETURN: back on hand and available.
    admin.refund(order, &[(line, 1, "CANCEL", None)]).unwrap();
    admin
        .refund(order, &[(line, 2, "RETURN", Some(shop.location))])
        .unwrap();
    assert_eq!(
        figures(&shop.sandbox, shop.item, shop.location),
        (10, 0, 10)
    );
    let refunds = wait_topic(&shop, "refunds/create", 3).await;
    let returned = refunds
        .iter()
        .find(|r| r["refund_line_items"][0]["restock_type"] == "return")
        .unwrap();
    assert_eq!(
        returned["refund_line_items"][0]["location_id"].as_u64(),
        Some(shop.location)
    );
    assert_eq!(returned["refund_line_items"][0]["quantity"], 2);
    assert_eq!(returned["order_id"].as_u64(), Some(order));
    assert_eq!(
        admin.order(order).unwrap().financial_status.rest(),
        "refunded"
    );

    // Payments as transactions: the sale, then one refund each.
    let body = answer(&shop.client, "query($id: ID!) { order(id: $id) { displayFinancialStatus transactions { kind status amountSet { shopMoney { amount } } } refunds { transactions(first: 5) { nodes { kind amountSet { shopMoney { amount } } } } } } }",
            json!({"id": gid("Order", order)}),).await;
    let order_json = &body["data"]["order"];
    assert_eq!(order_json["displayFinancialStatus"], "REFUNDED", "{body}");
    assert_eq!(
        order_json["transactions"][0],
        json!({"kind": "SALE", "status": "SUCCESS", "amountSet": {"shopMoney": {"amount": "359.96"}}})
    );
    assert_eq!(order_json["transactions"].as_array().unwrap().len(), 4);
    assert_eq!(
        order_json["refunds"][2]["transactions"]["nodes"][0]["amountSet"]["shopMoney"]["amount"],
        "179.98"
    );

    // Refunding more than is left is refused.
    assert!(
        admin
            .refund(order, &[(line, 1, "NO_RESTOCK", None)])
            .is_err()
    );
}

#[tokio::test]
async fn a_bulk_query_yields_jsonl_with_parent_ids() {
    let shop = shop().await;
    let bulk_query = r#"{ inventoryItems { edges { node { id sku inventoryLevels { edges { node { id quantities(names: ["available"]) { name quantity } } } } } } } }"#;
    let body = answer(&shop.client, "mutation($q: String!) { bulkOperationRunQuery(query: $q) { bulkOperation { id status } userErrors { field message code } } }",
            json!({"q": bulk_query}),).await;
    assert_no_user_errors(&body, "bulkOperationRunQuery");
    let id = body["data"]["bulkOperationRunQuery"]["bulkOperation"]["id"].clone();
    let mut url = Value::Null;
    for _ in 0..200 {
        let body = answer(
            &shop.client,
            "{ currentBulkOperation { id status objectCount url } }",
            json!({}),
        )
        .await;
        let op = &body["data"]["currentBulkOperation"];
        assert_eq!(op["id"], id);
        if op["status"] == "COMPLETED" {
            url = op["url"].clone();
            assert_eq!(op["objectCount"], "2");
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let text = reqwest::get(url.as_str().unwrap())
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["sku"], "SKU2006-001");
    assert_eq!(lines[0]["id"], gid("InventoryItem", shop.item));
    assert_eq!(lines[1]["__parentId"], gid("InventoryItem", shop.item));
    assert_eq!(
        lines[1]["quantities"],
        json!([{"name": "available", "quantity": 10}])
    );
    wait_topic(&shop, "bulk_operations/finish", 1).await;

    // An invalid bulk query is a user error.
    let body = answer(
        &shop.client,
        "mutation { bulkOperationRunQuery(query: \"{ nope }\") { userErrors { field message } } }",
        json!({}),
    )
    .await;
    assert_eq!(
        user_error(&body, "bulkOperationRunQuery")["field"],
        json!(["query"]),
        "{body}"
    );
}

#[tokio::test]
async fn webhook_subscriptions_are_managed_over_graphql() {
    let shop = shop().await;
    let create = r#"mutation($uri: String!) {
      webhookSubscriptionCreate(topic: ORDERS_CREATE, webhookSubscription: {uri: $uri, format: JSON}) {
        webhookSubscription { id topic uri }
        userErrors { field message }
      }
    }"#;
    let other = Receiver::start().await.unwrap();
    let body = answer(&shop.client, create, json!({"uri": other.url()})).await;
    let sub = &body["data"]["webhookSubscriptionCreate"]["webhookSubscription"];
    assert_eq!(sub["topic"], "ORDERS_CREATE", "{body}");
    let body = answer(
        &shop.client,
        "{ webhookSubscriptions(first: 50, topics: [ORDERS_CREATE]) { nodes { id uri } } }",
        json!({}),
    )
    .await;
    assert_eq!(
        body["data"]["webhookSubscriptions"]["nodes"]
            .as_array()
            .unwrap()
            .len(),
        2,
        "{body}"
    );
    shop.sandbox
        .admin()
        .place_order(&order_spec(&shop, 1))
        .unwrap();
    let received = other
        .wait_for(Duration::from_secs(10), |r| !r.is_empty())
        .await;
    assert_eq!(received[0].header("X-Shopify-Topic"), Some("orders/create"));

    let body = answer(&shop.client, "mutation($id: ID!) { webhookSubscriptionDelete(id: $id) { deletedWebhookSubscriptionId userErrors { message } } }",
            json!({"id": sub["id"]}),).await;
    assert_eq!(
        body["data"]["webhookSubscriptionDelete"]["deletedWebhookSubscriptionId"],
        sub["id"]
    );
}

#[tokio::test]
async fn variant_prices_and_skus_are_updated_in_bulk_and_announced() {
    let shop = shop().await;
    let admin = shop.sandbox.admin();
    admin.subscribe("products/update", &shop.receiver.url());
    let product = admin.with_state(|s| s.variants[&shop.variant].product_id);
    let mutation = r#"mutation($product: ID!, $variants: [ProductVariantsBulkInput!]!) {
      productVariantsBulkUpdate(productId: $product, variants: $variants) {
        productVariants { id price sku }
        userErrors { field message code }
      }
    }"#;
    let vars = json!({
        "product": gid("Product", product),
        "variants": [{"id": gid("ProductVariant", shop.variant), "price": "74.50", "inventoryItem": {"sku": "SKU2006-002"}}],
    });
    let body = answer(&shop.client, mutation, vars).await;
    let payload = &body["data"]["productVariantsBulkUpdate"];
    assert_eq!(payload["userErrors"], json!([]), "{body}");
    assert_eq!(payload["productVariants"][0]["price"], "74.5");
    assert_eq!(payload["productVariants"][0]["sku"], "SKU2006-002");
    assert_eq!(admin.item_by_sku("SKU2006-002"), Some(shop.item));
    let updates = wait_topic(&shop, "products/update", 1).await;
    assert_eq!(updates[0]["variants"][0]["price"], "74.50");
    assert_eq!(
        updates[0]["variants"][0]["inventory_item_id"].as_u64(),
        Some(shop.item)
    );

    let vars = json!({
        "product": gid("Product", product),
        "variants": [{"id": gid("ProductVariant", shop.variant), "price": "-1.00"}],
    });
    let body = answer(&shop.client, mutation, vars).await;
    assert_eq!(
        user_error(&body, "productVariantsBulkUpdate")["code"],
        "NEGATIVE_PRICE_VALUE",
        "{body}"
    );
}

#[tokio::test]
async fn orders_page_by_their_sort_key() {
    let shop = shop().await;
    let admin = shop.sandbox.admin();
    let mut spec = order_spec(&shop, 1);
    spec.paid = false;
    let first = admin.place_order(&spec).unwrap();
    let second = admin.place_order(&spec).unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    admin.mark_paid(first).unwrap();
    let query = r#"query($after: String) {
      orders(first: 1, after: $after, sortKey: UPDATED_AT, query: "updated_at:>=2020-01-01") {
        nodes { id } pageInfo { hasNextPage endCursor }
      }
    }"#;
    let body = answer(&shop.client, query, json!({})).await;
    assert_eq!(
        body["data"]["orders"]["nodes"][0]["id"],
        gid("Order", second),
        "{body}"
    );
    let cursor = body["data"]["orders"]["pageInfo"]["endCursor"].clone();
    let body = answer(&shop.client, query, json!({"after": cursor})).await;
    assert_eq!(
        body["data"]["orders"]["nodes"][0]["id"],
        gid("Order", first),
        "{body}"
    );
    assert_eq!(body["data"]["orders"]["pageInfo"]["hasNextPage"], false);

    let body = answer(
        &shop.client,
        "{ orders(first: 5, sortKey: TOTAL_PRICE) { nodes { id } } }",
        json!({}),
    )
    .await;
    assert_error_mentions(&body, "TOTAL_PRICE");
}

#[tokio::test]
async fn moving_a_fulfillment_order_takes_its_lines_and_committed_stock_along() {
    let shop = shop().await;
    let admin = shop.sandbox.admin();
    let second = admin.add_location("Second warehouse");
    admin.stock(shop.item, second, 10);
    let order = admin.place_order(&order_spec(&shop, 3)).unwrap();
    let orders_query = "query($id: ID!) { order(id: $id) { fulfillmentOrders(first: 5) { nodes { id status assignedLocation { location { id } } lineItems(first: 5) { nodes { id remainingQuantity } } } } } }";
    let read = |body: &Value| body["data"]["order"]["fulfillmentOrders"]["nodes"].clone();
    let body = answer(
        &shop.client,
        orders_query,
        json!({"id": gid("Order", order)}),
    )
    .await;
    let fo = read(&body)[0]["id"].clone();
    let mutation = r#"mutation($id: ID!, $to: ID!) {
      fulfillmentOrderMove(id: $id, newLocationId: $to) {
        movedFulfillmentOrder { id assignedLocation { location { id } } }
        originalFulfillmentOrder { id status }
        userErrors { field message }
      }
    }"#;

    // Nothing fulfilled yet: the fulfillment order itself moves, its stock with it.
    let body = answer(
        &shop.client,
        mutation,
        json!({"id": fo, "to": gid("Location", second)}),
    )
    .await;
    assert_no_user_errors(&body, "fulfillmentOrderMove");
    let moved = &body["data"]["fulfillmentOrderMove"]["movedFulfillmentOrder"];
    assert_eq!(moved["id"], fo);
    assert_eq!(
        moved["assignedLocation"]["location"]["id"],
        json!(gid("Location", second))
    );
    assert_eq!(
        figures(&shop.sandbox, shop.item, shop.location),
        (10, 0, 10)
    );
    assert_eq!(figures(&shop.sandbox, shop.item, second), (7, 3, 10));

    // To where it already is: refused.
    let body = answer(
        &shop.client,
        mutation,
        json!({"id": fo, "to": gid("Location", second)}),
    )
    .await;
    assert!(
        user_error(&body, "fulfillmentOrderMove")["message"].is_string(),
        "{body}"
    );

    // One unit shipped, then moved back: a new fulfillment order takes the two left and
    // the original closes with what it shipped.
    let line = read(
        &answer(
            &shop.client,
            orders_query,
            json!({"id": gid("Order", order)}),
        )
        .await,
    )[0]["lineItems"]["nodes"][0]["id"]
        .clone();
    let body = answer(&shop.client, "mutation($f: FulfillmentInput!) { fulfillmentCreate(fulfillment: $f) { userErrors { message } } }",
        json!({"f": {"lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": fo, "fulfillmentOrderLineItems": [{"id": line, "quantity": 1}]}]}})).await;
    assert_no_user_errors(&body, "fulfillmentCreate");
    let body = answer(
        &shop.client,
        mutation,
        json!({"id": fo, "to": gid("Location", shop.location)}),
    )
    .await;
    assert_no_user_errors(&body, "fulfillmentOrderMove");
    let payload = &body["data"]["fulfillmentOrderMove"];
    assert_ne!(payload["movedFulfillmentOrder"]["id"], fo);
    assert_eq!(payload["originalFulfillmentOrder"]["status"], "CLOSED");
    let nodes = read(
        &answer(
            &shop.client,
            orders_query,
            json!({"id": gid("Order", order)}),
        )
        .await,
    );
    let remaining: Vec<(Value, i64)> = nodes
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["assignedLocation"]["location"]["id"].clone(),
                n["lineItems"]["nodes"][0]["remainingQuantity"]
                    .as_i64()
                    .unwrap(),
            )
        })
        .collect();
    assert_eq!(
        remaining,
        vec![
            (json!(gid("Location", second)), 0),
            (json!(gid("Location", shop.location)), 2)
        ]
    );
    assert_eq!(figures(&shop.sandbox, shop.item, shop.location), (8, 2, 10));
    assert_eq!(figures(&shop.sandbox, shop.item, second), (9, 0, 9));
}
