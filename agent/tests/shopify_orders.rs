//! Orders, refunds, fulfilment and webhook subscriptions against real-shaped answers.

mod shopify_support;

use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::json;

use plumb_agent::shopify::orders::PricingValue;
use plumb_agent::shopify::{FulfillmentRequest, ShopifyClient, Tracking};

use shopify_support::{Reply, Script, assert_lost_after_sending, client_with, ok_body};

fn client_for(script: &Script) -> ShopifyClient {
    client_with(script, |config| {
        config.request_timeout = std::time::Duration::from_millis(500);
    })
}

fn bag(shop: &str, presentment: &str) -> String {
    format!(
        r#"{{"shopMoney":{{"amount":"{shop}","currencyCode":"EUR"}},"presentmentMoney":{{"amount":"{presentment}","currencyCode":"USD"}}}}"#
    )
}

fn line(id: u64, sku: &str, variant: Option<u64>) -> String {
    let variant = variant.map_or("null".to_owned(), |v| {
        format!(r#"{{"id":"gid://shopify/ProductVariant/{v}"}}"#)
    });
    format!(
        r#"{{"id":"gid://shopify/LineItem/{id}","sku":"{sku}","name":"Shirt - M","quantity":2,"currentQuantity":1,"isGiftCard":false,"requiresShipping":true,"taxable":true,"variant":{variant},"originalUnitPriceSet":{p},"totalDiscountSet":{d},"discountedTotalSet":{t},"discountAllocations":[{{"allocatedAmountSet":{d},"discountApplication":{{"index":0}}}}],"taxLines":[{{"title":"VAT","rate":0.2,"priceSet":{x}}}]}}"#,
        p = bag("19.99", "21.50"),
        d = bag("2.00", "2.15"),
        t = bag("37.98", "40.85"),
        x = bag("6.33", "6.81"),
    )
}

fn order_page(lines: &[String], next: Option<&str>) -> String {
    let info = match next {
        Some(c) => format!(r#"{{"hasNextPage":true,"endCursor":"{c}"}}"#),
        None => r#"{"hasNextPage":false,"endCursor":null}"#.to_owned(),
    };
    format!(
        r##"{{"order":{{"id":"gid://shopify/Order/9007199254740993","legacyResourceId":"9007199254740993","name":"#1001","email":"bob@example.com","createdAt":"2026-11-20T10:00:00Z","updatedAt":"2026-11-21T10:00:00Z","processedAt":"2026-11-20T09:59:58Z","cancelledAt":null,"cancelReason":null,"closedAt":null,"test":false,"currencyCode":"EUR","presentmentCurrencyCode":"USD","taxesIncluded":true,"displayFinancialStatus":"PARTIALLY_REFUNDED","displayFulfillmentStatus":"UNFULFILLED","paymentGatewayNames":["shopify_payments","gift_card"],"subtotalPriceSet":{s},"totalPriceSet":{s},"currentTotalPriceSet":{s},"totalDiscountsSet":{d},"totalShippingPriceSet":{z},"totalTaxSet":{x},"totalRefundedSet":{z},"taxLines":[{{"title":"VAT","rate":0.2,"priceSet":{x}}}],"discountApplications":{{"nodes":[{{"index":0,"allocationMethod":"ACROSS","targetSelection":"ALL","targetType":"LINE_ITEM","value":{{"__typename":"PricingPercentageValue","percentage":10.0}},"code":"TENOFF"}},{{"index":1,"allocationMethod":"ACROSS","targetSelection":"ALL","targetType":"SHIPPING_LINE","value":{{"__typename":"MoneyV2","amount":"4.90","currencyCode":"EUR"}}}}]}},"shippingLines":{{"nodes":[{{"id":"gid://shopify/ShippingLine/5","title":"Standard","code":"STD","originalPriceSet":{z},"discountedPriceSet":{z},"taxLines":[]}}]}},"lineItems":{{"nodes":[{lines}],"pageInfo":{info}}}}}}}"##,
        s = bag("37.98", "40.85"),
        d = bag("2.00", "2.15"),
        x = bag("6.33", "6.81"),
        z = bag("0.00", "0.00"),
        lines = lines.join(","),
    )
}

#[tokio::test]
async fn an_order_is_read_whole_across_line_pages_with_exact_money() {
    let script = Script::start(vec![
        Reply::json(
            200,
            &ok_body(
                &order_page(&[line(1, "A", Some(11))], Some("L1")),
                550,
                60,
                1940.0,
            ),
        ),
        Reply::json(
            200,
            &ok_body(&order_page(&[line(2, "B", None)], None), 550, 60, 1880.0),
        ),
    ])
    .await;
    let client = client_for(&script);
    let order = client.order(9_007_199_254_740_993).await.unwrap().unwrap();
    assert_eq!(order.id, 9_007_199_254_740_993);
    assert_eq!(order.line_items.len(), 2);
    assert_eq!(order.line_items[0].variant.map(|v| v.id), Some(11));
    assert_eq!(order.line_items[1].variant, None);
    assert_eq!(
        order.line_items[0]
            .original_unit_price_set
            .shop_money
            .amount,
        Decimal::from_str("19.99").unwrap()
    );
    assert_eq!(
        order.discount_applications[0].code.as_deref(),
        Some("TENOFF")
    );
    assert_eq!(
        order.discount_applications[1].value,
        PricingValue::Amount {
            amount: Decimal::from_str("4.90").unwrap(),
            currency_code: "EUR".into()
        }
    );
    assert_eq!(
        order.payment_gateway_names,
        vec!["shopify_payments", "gift_card"]
    );
    let seen = script.seen();
    assert_eq!(
        seen[0].body["variables"]["id"],
        "gid://shopify/Order/9007199254740993"
    );
    assert_eq!(seen[0].body["variables"]["linesAfter"], json!(null));
    assert_eq!(seen[1].body["variables"]["linesAfter"], "L1");
}

#[tokio::test]
async fn unknown_orders_are_none_and_the_backfill_pages() {
    let script = Script::start(vec![
        Reply::json(200, &ok_body(r#"{"order":null}"#, 550, 1, 1999.0)),
        Reply::json(
            200,
            &ok_body(
                r#"{"orders":{"nodes":[{"id":"gid://shopify/Order/1","updatedAt":"2026-11-21T10:00:00Z"}],"pageInfo":{"hasNextPage":true,"endCursor":"o1"}}}"#,
                252,
                3,
                1996.0,
            ),
        ),
    ])
    .await;
    let client = client_for(&script);
    assert_eq!(client.order(5).await.unwrap(), None);
    let since = chrono::DateTime::parse_from_rfc3339("2026-11-20T00:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let page = client.orders_updated_since(since, None).await.unwrap();
    assert_eq!(page.orders.len(), 1);
    assert_eq!(page.next.as_deref(), Some("o1"));
    let seen = script.seen();
    assert_eq!(
        seen[1].body["variables"]["query"],
        "updated_at:>='2026-11-20T00:00:00Z'"
    );
    assert!(
        seen[1].body["query"]
            .as_str()
            .unwrap()
            .contains("sortKey: UPDATED_AT")
    );
}

#[tokio::test]
async fn refunds_are_listed_then_read_one_by_one() {
    let refund = format!(
        r#"{{"refund":{{"id":"gid://shopify/Refund/77","legacyResourceId":"77","createdAt":"2026-11-21T10:00:00Z","note":null,"order":{{"id":"gid://shopify/Order/1"}},"totalRefundedSet":{r},"refundLineItems":{{"nodes":[{{"quantity":1,"restockType":"RETURN","restocked":true,"location":{{"id":"gid://shopify/Location/3"}},"lineItem":{{"id":"gid://shopify/LineItem/2","sku":"B"}},"subtotalSet":{r},"totalTaxSet":{z}}}],"pageInfo":{{"hasNextPage":false,"endCursor":null}}}},"refundShippingLines":{{"nodes":[]}},"orderAdjustments":{{"nodes":[]}},"transactions":{{"nodes":[{{"id":"gid://shopify/OrderTransaction/8","kind":"REFUND","status":"SUCCESS","gateway":"gift_card","processedAt":"2026-11-21T10:00:01Z","amountSet":{r}}}]}}}}}}"#,
        r = bag("18.99", "20.43"),
        z = bag("0.00", "0.00"),
    );
    let script = Script::start(vec![
        Reply::json(
            200,
            &ok_body(
                r#"{"order":{"id":"gid://shopify/Order/1","refunds":[{"id":"gid://shopify/Refund/77"}]}}"#,
                102,
                2,
                1998.0,
            ),
        ),
        Reply::json(200, &ok_body(&refund, 540, 30, 1970.0)),
    ])
    .await;
    let client = client_for(&script);
    let refunds = client.refunds(1).await.unwrap().unwrap();
    assert_eq!(refunds.len(), 1);
    let refund = &refunds[0];
    assert_eq!(refund.refund_line_items[0].restock_type, "RETURN");
    assert_eq!(refund.refund_line_items[0].location.map(|l| l.id), Some(3));
    assert_eq!(refund.transactions[0].gateway.as_deref(), Some("gift_card"));
    assert_eq!(
        refund.total_refunded_set.shop_money.amount,
        Decimal::from_str("18.99").unwrap()
    );
    assert_eq!(
        script.seen()[1].body["variables"]["id"],
        "gid://shopify/Refund/77"
    );
}

#[tokio::test]
async fn fulfilment_reads_remaining_lines_and_never_resends_a_create() {
    let orders = r#"{"order":{"id":"gid://shopify/Order/1","fulfillmentOrders":{"nodes":[{"id":"gid://shopify/FulfillmentOrder/10","status":"OPEN","requestStatus":"UNSUBMITTED","assignedLocation":{"location":{"id":"gid://shopify/Location/3"}},"lineItems":{"nodes":[{"id":"gid://shopify/FulfillmentOrderLineItem/100","sku":"A","totalQuantity":2,"remainingQuantity":2,"inventoryItemId":"gid://shopify/InventoryItem/55","lineItem":{"id":"gid://shopify/LineItem/1"}}],"pageInfo":{"hasNextPage":false}}}],"pageInfo":{"hasNextPage":false}}}}"#;
    let refused = r#"{"fulfillmentCreate":{"fulfillment":null,"userErrors":[{"field":["fulfillment","lineItemsByFulfillmentOrder"],"message":"Invalid fulfillment order line item quantity requested."}]}}"#;
    let script = Script::start(vec![
        Reply::json(200, &ok_body(orders, 110, 8, 1990.0)),
        Reply::Hangup,
        Reply::json(200, &ok_body(refused, 10, 10, 1980.0)),
    ])
    .await;
    let client = client_for(&script);
    let fulfillment_orders = client.fulfillment_orders(1).await.unwrap().unwrap();
    assert_eq!(fulfillment_orders[0].location_id, Some(3));
    assert!(fulfillment_orders[0].line_items_complete);
    let line = &fulfillment_orders[0].line_items[0];
    assert_eq!(
        (line.id, line.remaining_quantity, line.inventory_item_id),
        (100, 2, Some(55))
    );

    let request = FulfillmentRequest {
        lines: vec![(10, vec![(100, 2)])],
        tracking: Some(Tracking {
            company: Some("DHL Express".into()),
            number: Some("JD014600003828".into()),
            url: None,
        }),
        notify_customer: false,
    };
    // The answer is lost: the call may have been applied, so it is not resent.
    let error = client.create_fulfillment(&request).await.unwrap_err();
    assert_lost_after_sending(&error);
    assert_eq!(script.seen().len(), 2);
    // Shopify refuses: permanent, with its message.
    let error = client.create_fulfillment(&request).await.unwrap_err();
    assert_eq!(error.cause(), "shopify_user_error:UNKNOWN");
    assert!(error.to_string().contains("quantity requested"));
    let sent = &script.seen()[2].body["variables"]["fulfillment"];
    assert_eq!(sent["trackingInfo"]["company"], "DHL Express");
    assert_eq!(sent["notifyCustomer"], false);
}

#[tokio::test]
async fn webhooks_are_checked_and_missing_topics_subscribed() {
    let list = r#"{"webhookSubscriptions":{"nodes":[
        {"id":"gid://shopify/WebhookSubscription/1","topic":"ORDERS_CREATE","uri":"https://plumb.example/webhooks","format":"JSON","filter":null,"apiVersion":{"handle":"2026-07"}},
        {"id":"gid://shopify/WebhookSubscription/2","topic":"REFUNDS_CREATE","uri":"https://old.example/hooks","format":"JSON","filter":null,"apiVersion":{"handle":"2026-07"}}
    ],"pageInfo":{"hasNextPage":false,"endCursor":null}}}"#;
    let created = r#"{"webhookSubscriptionCreate":{"webhookSubscription":{"id":"gid://shopify/WebhookSubscription/3","topic":"REFUNDS_CREATE","uri":"https://plumb.example/webhooks"},"userErrors":[]}}"#;
    let script = Script::start(vec![
        Reply::json(200, &ok_body(list, 252, 3, 1997.0)),
        Reply::json(200, &ok_body(created, 10, 10, 1987.0)),
        Reply::json(200, &ok_body(list, 252, 3, 1984.0)),
    ])
    .await;
    let client = client_for(&script);
    let check = client
        .ensure_webhooks(
            &["orders/create", "refunds/create"],
            "https://plumb.example/webhooks",
            true,
        )
        .await
        .unwrap();
    assert_eq!(check.present, vec!["ORDERS_CREATE"]);
    assert_eq!(check.created, vec!["REFUNDS_CREATE"]);
    assert_eq!(check.elsewhere.len(), 1);
    assert!(check.complete());
    let sent = &script.seen()[1].body["variables"];
    assert_eq!(sent["topic"], "REFUNDS_CREATE");
    assert_eq!(
        sent["webhookSubscription"]["uri"],
        "https://plumb.example/webhooks"
    );

    // A check without repair only reports.
    let check = client
        .ensure_webhooks(&["refunds/create"], "https://plumb.example/webhooks", false)
        .await
        .unwrap();
    assert_eq!(check.missing, vec!["REFUNDS_CREATE"]);
    assert!(!check.complete());
    assert_eq!(script.seen().len(), 3);
}
