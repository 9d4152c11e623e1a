//! The agent's Shopify client against the sandbox, one test per operation family, each on
//! API versions 2026-07 and 2026-10: what the client returns is checked against the
//! sandbox's own state, set up through `Admin`.

// Helpers outside #[test] functions unwrap too: a panic there is the failure report.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use chrono::Utc;
use futures::StreamExt;
use plumb_agent::clock::Clock;
use plumb_agent::flows::orders::mapping::{OrderRules, sales_order};
use plumb_agent::flows::orders::payload::OrderPayload;
use plumb_agent::shopify::inventory::AdjustRow;
use plumb_agent::shopify::{
    BatchStatus, BulkLayout, FulfillmentRequest, SetRequest, SetRow, ShopifyClient, Tracking,
};
use plumb_agent::store::{Store, StoreSettings};
use plumb_common::{JobId, Timestamp};
use plumb_tests::sandbox::orders::OrderSpec;
use plumb_tests::sandbox::state::QuantityName;
use plumb_tests::sandbox::{Admin, ApiVersion, Sandbox, SandboxConfig};
use plumb_tests::shopify::client_for;
use rust_decimal::Decimal;

/// A sandbox with two locations and three single-variant products stocked at both.
struct Shop {
    sandbox: Sandbox,
    admin: Admin,
    client: ShopifyClient,
    locations: [u64; 2],
    /// (sku, variant, inventory item)
    variants: Vec<(String, u64, u64)>,
}

async fn shop(version: ApiVersion) -> Shop {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let admin = sandbox.admin();
    let locations = [admin.add_location("Main"), admin.add_location("Outlet")];
    let mut variants = Vec::new();
    for (n, sku) in ["OP-RED", "OP-BLUE", "OP-GREEN"].iter().enumerate() {
        let product = admin.add_product(sku, &[(sku, Decimal::new(1999 + n as i64, 2))]);
        let v = &product.variants[0];
        for location in locations {
            admin.stock(v.inventory_item_id, location, 10 + n as i64);
        }
        variants.push(((*sku).to_owned(), v.variant_id, v.inventory_item_id));
    }
    let client = client_for(&sandbox, version, |_| {}).unwrap();
    Shop {
        sandbox,
        admin,
        client,
        locations,
        variants,
    }
}

/// One `#[tokio::test]` per API version for an `async fn(ApiVersion)`.
macro_rules! on_both_versions {
    ($check:ident) => {
        mod $check {
            use super::*;
            #[tokio::test]
            async fn v2026_07() {
                super::$check(ApiVersion::V2026_07).await;
            }
            #[tokio::test]
            async fn v2026_10() {
                super::$check(ApiVersion::V2026_10).await;
            }
        }
    };
}

on_both_versions!(locations);
async fn locations(version: ApiVersion) {
    let shop = shop(version).await;
    let mut found = shop.client.locations().await.unwrap();
    found.sort_by_key(|l| l.id);
    let names: Vec<(u64, &str, bool)> = found
        .iter()
        .map(|l| (l.id, l.name.as_str(), l.is_active))
        .collect();
    assert_eq!(
        names,
        vec![
            (shop.locations[0], "Main", true),
            (shop.locations[1], "Outlet", true)
        ]
    );
    assert!(found.iter().all(|l| l.legacy_resource_id == l.id));
}

on_both_versions!(variants_by_sku_and_the_sku_cache);
async fn variants_by_sku_and_the_sku_cache(version: ApiVersion) {
    let shop = shop(version).await;
    // A loose match the search returns too ("OP-RED-2" contains "OP-RED"), and a duplicate.
    shop.admin
        .add_product("Red 2", &[("OP-RED-2", Decimal::new(500, 2))]);
    let skus: Vec<String> = ["OP-RED", "OP-BLUE", "NOPE"].map(String::from).to_vec();
    let mut found = shop.client.variants_by_sku(&skus).await.unwrap();
    found.sort_by(|a, b| a.sku.cmp(&b.sku));
    let got: Vec<(&str, u64, u64, bool)> = found
        .iter()
        .map(|m| (m.sku.as_str(), m.variant_id, m.inventory_item_id, m.tracked))
        .collect();
    let (red, blue) = (&shop.variants[0], &shop.variants[1]);
    assert_eq!(
        got,
        vec![
            ("OP-BLUE", blue.1, blue.2, true),
            ("OP-RED", red.1, red.2, true)
        ]
    );

    // The cache: resolved from Shopify once, then from the store.
    let (_dir, store, clock) = temp_store();
    let first = shop
        .client
        .resolve_skus(&store, &clock, &skus, false)
        .await
        .unwrap();
    assert_eq!(first.found.len(), 2);
    assert_eq!(first.found["OP-RED"].inventory_item_id, red.2);
    let calls = shop.client.stats().calls;
    let again = shop
        .client
        .resolve_skus(&store, &clock, &skus[..2], false)
        .await
        .unwrap();
    let ids = |r: &plumb_agent::shopify::SkuResolution| {
        let mut ids: Vec<(String, u64, u64)> = r
            .found
            .values()
            .map(|m| (m.sku.clone(), m.variant_id, m.inventory_item_id))
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(ids(&again), ids(&first));
    assert_eq!(shop.client.stats().calls, calls, "the cache answered");
    assert_eq!(first.missing, vec!["NOPE".to_owned()]);

    // More SKUs than one search takes (50), and a SKU two variants share.
    let many = shop.admin.add_catalog("MANY", 60, &shop.locations, 1);
    let twins = [
        shop.admin.add_product("Twin A", &[("TWIN", Decimal::ONE)]),
        shop.admin.add_product("Twin B", &[("TWIN", Decimal::ONE)]),
    ];
    let mut skus: Vec<String> = many.iter().map(|v| v.sku.clone()).collect();
    skus.push("TWIN".to_owned());
    let found = shop.client.variants_by_sku(&skus).await.unwrap();
    assert_eq!(found.len(), 62);
    for v in &many {
        let hit: Vec<_> = found.iter().filter(|m| m.sku == v.sku).collect();
        assert_eq!(hit.len(), 1, "{}", v.sku);
        assert_eq!(hit[0].inventory_item_id, v.inventory_item_id);
    }
    let resolved = shop
        .client
        .resolve_skus(&store, &clock, &skus, false)
        .await
        .unwrap();
    assert_eq!(resolved.found.len(), 60);
    let mut twin_ids: Vec<u64> = twins.iter().map(|p| p.variants[0].variant_id).collect();
    twin_ids.sort_unstable();
    let mut ambiguous = resolved.ambiguous.clone();
    for (_, ids) in &mut ambiguous {
        ids.sort_unstable();
    }
    assert_eq!(ambiguous, vec![("TWIN".to_owned(), twin_ids)]);
}

on_both_versions!(inventory_levels_set_and_adjust);
async fn inventory_levels_set_and_adjust(version: ApiVersion) {
    let shop = shop(version).await;
    let items: Vec<u64> = shop.variants.iter().map(|v| v.2).collect();
    shop.admin
        .set_quantity(items[0], shop.locations[0], QuantityName::Damaged, 2);

    // Levels read back as the sandbox holds them.
    let levels = shop
        .client
        .inventory_levels(
            &items,
            &shop.locations,
            &["available", "on_hand", "damaged"],
        )
        .await
        .unwrap();
    assert_eq!(levels.len(), 6);
    for level in &levels {
        let held = shop
            .admin
            .level(level.inventory_item_id, level.location_id)
            .unwrap();
        assert_eq!(level.quantities["available"], held.available);
        assert_eq!(level.quantities["on_hand"], held.get(QuantityName::OnHand));
        assert_eq!(level.quantities["damaged"], held.damaged);
    }

    // Set with compare-and-swap: one batch applied, one refused as stale.
    let row = |item: u64, quantity: i64, from: i64| SetRow {
        inventory_item_id: item,
        location_id: shop.locations[0],
        quantity,
        change_from_quantity: Some(from),
    };
    let applied = shop
        .client
        .set_inventory(&SetRequest::available(JobId(1), vec![row(items[0], 4, 10)]))
        .await
        .unwrap();
    assert!(applied.all_applied());
    let held = shop.admin.level(items[0], shop.locations[0]).unwrap();
    assert_eq!((held.available, held.get(QuantityName::OnHand)), (4, 6));

    let stale = shop
        .client
        .set_inventory(&SetRequest::available(
            JobId(2),
            vec![row(items[1], 3, 11), row(items[2], 3, 99)],
        ))
        .await
        .unwrap();
    assert_eq!(stale.stale_rows(), vec![1]);
    assert_eq!(stale.applied_rows(), 0);
    assert!(stale.failure().is_none(), "stale rows are the caller's");
    assert_eq!(
        shop.admin
            .level(items[1], shop.locations[0])
            .unwrap()
            .available,
        11,
        "a stale batch changes nothing"
    );

    // The same job resending the same rows replays; the level moves once.
    let replay = shop
        .client
        .set_inventory(&SetRequest::available(JobId(1), vec![row(items[0], 4, 10)]))
        .await
        .unwrap();
    assert_eq!(replay.batches[0].status, BatchStatus::Applied);
    assert_eq!(
        replay.batches[0].idempotency_key,
        applied.batches[0].idempotency_key
    );
    assert_eq!(shop.admin.stats().idempotent_replays, 1);

    // Adjust by deltas, with and without the check.
    let adjusted = shop
        .client
        .adjust_inventory(
            JobId(3),
            "available",
            "correction",
            &[
                AdjustRow {
                    inventory_item_id: items[1],
                    location_id: shop.locations[1],
                    delta: -5,
                    change_from_quantity: Some(11),
                },
                AdjustRow {
                    inventory_item_id: items[2],
                    location_id: shop.locations[1],
                    delta: 3,
                    change_from_quantity: None,
                },
            ],
        )
        .await
        .unwrap();
    assert!(adjusted.all_applied(), "{adjusted:?}");
    assert_eq!(
        shop.admin
            .level(items[1], shop.locations[1])
            .unwrap()
            .available,
        6
    );
    assert_eq!(
        shop.admin
            .level(items[2], shop.locations[1])
            .unwrap()
            .available,
        15
    );
}

fn place(shop: &Shop, lines: &[(usize, i64)]) -> u64 {
    shop.admin
        .place_order(&OrderSpec {
            lines: lines
                .iter()
                .map(|&(v, q)| (shop.variants[v].1, q))
                .collect(),
            location_id: Some(shop.locations[0]),
            email: "buyer@example.com".to_owned(),
            paid: true,
        })
        .unwrap()
}

on_both_versions!(orders_updated_since_and_order);
async fn orders_updated_since_and_order(version: ApiVersion) {
    let shop = shop(version).await;
    let since = Utc::now() - chrono::Duration::seconds(5);
    let first = place(&shop, &[(0, 2), (1, 1)]);
    let second = place(&shop, &[(2, 3)]);

    let page = shop.client.orders_updated_since(since, None).await.unwrap();
    let mut ids: Vec<u64> = page.orders.iter().map(|o| o.id).collect();
    ids.sort_unstable();
    assert_eq!(ids, vec![first, second]);
    assert!(page.next.is_none());
    let later = Utc::now() + chrono::Duration::seconds(5);
    let none = shop.client.orders_updated_since(later, None).await.unwrap();
    assert!(none.orders.is_empty());

    let order = shop.client.order(first).await.unwrap().unwrap();
    let held = shop.admin.order(first).unwrap();
    assert_eq!(order.id, first);
    assert_eq!(order.name, format!("#{}", held.number));
    assert_eq!(order.email.as_deref(), Some("buyer@example.com"));
    let lines: Vec<(u64, Option<&str>, i64)> = order
        .line_items
        .iter()
        .map(|l| (l.id, l.sku.as_deref(), l.quantity))
        .collect();
    let expected: Vec<(u64, Option<&str>, i64)> = held
        .line_items
        .iter()
        .map(|l| (l.id, Some(l.sku.as_str()), l.quantity))
        .collect();
    assert_eq!(lines, expected);
    let total: Decimal = held
        .line_items
        .iter()
        .map(|l| l.price * Decimal::from(l.quantity))
        .sum();
    assert_eq!(
        order.line_items[0]
            .original_unit_price_set
            .shop_money
            .amount,
        held.line_items[0].price
    );
    assert_eq!(
        order.subtotal_price_set.as_ref().unwrap().shop_money.amount,
        total
    );
    let customer = order.customer.as_ref().expect("a customer");
    assert_eq!(customer.email(), Some("buyer@example.com"));
    let shipping = order.shipping_address.as_ref().expect("an address");
    assert_eq!(shipping.country_code_v2.as_deref(), Some("US"));
    assert_eq!(order.retail_location.map(|l| l.id), Some(held.location_id));
    // the backfill's order maps through the webhooks' mapping, and balances
    let rules = OrderRules {
        locations: vec![plumb_agent::config::LocationMapping {
            erp_warehouse: "WH-EAST".into(),
            shopify_location: held.location_id,
        }],
        ..OrderRules::default()
    };
    let sale = sales_order(&OrderPayload::from_graphql(&order), &rules).unwrap();
    assert_eq!(sale.warehouse, "WH-EAST");
    assert_eq!(sale.total, total);
    assert_eq!(sale.customer.email.as_deref(), Some("buyer@example.com"));
    assert_eq!(sale.lines.len(), held.line_items.len());
    assert!(
        shop.client
            .order(first + 1_000_000)
            .await
            .unwrap()
            .is_none()
    );
    // More orders than a page: the cursor walk sees each once.
    let page_size = plumb_agent::shopify::pagination::PAGE_SIZE as usize;
    let mut placed = vec![first, second];
    placed.extend((0..page_size).map(|_| place(&shop, &[(0, 1)])));
    let mut walked = Vec::new();
    let mut after = None;
    loop {
        let page = shop
            .client
            .orders_updated_since(since, after)
            .await
            .unwrap();
        walked.extend(page.orders.iter().map(|o| o.id));
        match page.next {
            Some(cursor) => after = Some(cursor),
            None => break,
        }
    }
    assert_eq!(walked.len(), placed.len());
    walked.sort_unstable();
    placed.sort_unstable();
    assert_eq!(walked, placed);
}

on_both_versions!(refunds);
async fn refunds(version: ApiVersion) {
    let shop = shop(version).await;
    let order = place(&shop, &[(0, 3)]);
    assert!(
        shop.client
            .refunds(order)
            .await
            .unwrap()
            .unwrap()
            .is_empty()
    );
    let line = shop.admin.order(order).unwrap().line_items[0].id;
    let refund = shop
        .admin
        .refund(order, &[(line, 2, "RETURN", Some(shop.locations[0]))])
        .unwrap();

    let refunds = shop.client.refunds(order).await.unwrap().unwrap();
    assert_eq!(refunds.len(), 1);
    let read = shop.client.refund(refund).await.unwrap().unwrap();
    assert_eq!(read, refunds[0]);
    assert_eq!(read.id, refund);
    assert_eq!(read.order.id, order);
    assert_eq!(read.refund_line_items.len(), 1);
    let refunded = &read.refund_line_items[0];
    assert_eq!(
        (refunded.line_item.id, refunded.quantity),
        (line, 2),
        "{refunded:?}"
    );
    assert_eq!(refunded.restock_type.to_ascii_uppercase(), "RETURN");
    assert_eq!(
        refunded.location.as_ref().map(|l| l.id),
        Some(shop.locations[0])
    );
    let price = shop.admin.order(order).unwrap().line_items[0].price;
    assert_eq!(
        refunded.subtotal_set.shop_money.amount,
        price * Decimal::TWO
    );
    assert!(
        shop.client
            .refund(refund + 1_000_000)
            .await
            .unwrap()
            .is_none()
    );
}

on_both_versions!(fulfillment_orders_and_fulfillment_create);
async fn fulfillment_orders_and_fulfillment_create(version: ApiVersion) {
    let shop = shop(version).await;
    let order = place(&shop, &[(0, 2), (1, 1)]);
    let fos = shop
        .client
        .fulfillment_orders(order)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(fos.len(), 1);
    let fo = &fos[0];
    assert_eq!(fo.location_id, Some(shop.locations[0]));
    assert!(fo.line_items_complete);
    let mut lines: Vec<(Option<&str>, i64, i64)> = fo
        .line_items
        .iter()
        .map(|l| (l.sku.as_deref(), l.total_quantity, l.remaining_quantity))
        .collect();
    lines.sort();
    assert_eq!(lines, vec![(Some("OP-BLUE"), 1, 1), (Some("OP-RED"), 2, 2)]);

    // Ship one of the two reds, with tracking.
    let red = fo
        .line_items
        .iter()
        .find(|l| l.sku.as_deref() == Some("OP-RED"))
        .unwrap();
    let created = shop
        .client
        .create_fulfillment(&FulfillmentRequest {
            lines: vec![(fo.id, vec![(red.id, 1)])],
            tracking: Some(Tracking {
                company: Some("UPS".into()),
                number: Some("1Z999AA10123456784".into()),
                url: None,
            }),
            notify_customer: false,
        })
        .await
        .unwrap();
    assert_eq!(created.status, "SUCCESS");
    let (fulfilled, tracking) = shop.admin.with_state(|state| {
        let f = &state.fulfillments[&created.id];
        (
            f.lines.clone(),
            f.tracking
                .iter()
                .map(|t| t.number.clone())
                .collect::<Vec<_>>(),
        )
    });
    assert_eq!(fulfilled.iter().map(|l| l.2).sum::<i64>(), 1);
    assert_eq!(tracking, vec![Some("1Z999AA10123456784".to_owned())]);
    let after = shop
        .client
        .fulfillment_orders(order)
        .await
        .unwrap()
        .unwrap();
    let red_after = after[0].line_items.iter().find(|l| l.id == red.id).unwrap();
    assert_eq!(red_after.remaining_quantity, 1);

    // Shipping more than remains is refused, permanently.
    let refused = shop
        .client
        .create_fulfillment(&FulfillmentRequest {
            lines: vec![(fo.id, vec![(red.id, 5)])],
            tracking: None,
            notify_customer: false,
        })
        .await
        .unwrap_err();
    assert_eq!(refused.class(), plumb_common::ErrorClass::Permanent);
}

on_both_versions!(webhook_subscriptions);
async fn webhook_subscriptions(version: ApiVersion) {
    let shop = shop(version).await;
    let uri = "https://plumb.example/webhooks";
    shop.admin.subscribe("orders/create", uri);
    shop.admin
        .subscribe("orders/paid", "https://old.example/webhooks");
    let topics = ["orders/create", "orders/paid", "inventory_levels/update"];

    let check = shop
        .client
        .ensure_webhooks(&topics, uri, false)
        .await
        .unwrap();
    assert_eq!(check.present, vec!["ORDERS_CREATE"]);
    assert_eq!(
        check.missing,
        vec!["ORDERS_PAID", "INVENTORY_LEVELS_UPDATE"]
    );
    assert_eq!(check.elsewhere.len(), 1);
    assert!(!check.complete());
    assert_eq!(
        shop.admin.subscriptions().len(),
        2,
        "a check changes nothing"
    );

    let repaired = shop
        .client
        .ensure_webhooks(&topics, uri, true)
        .await
        .unwrap();
    assert_eq!(
        repaired.created,
        vec!["ORDERS_PAID", "INVENTORY_LEVELS_UPDATE"]
    );
    assert!(repaired.complete());
    let mut ours: Vec<String> = shop
        .admin
        .subscriptions()
        .into_iter()
        .filter(|s| s.uri == uri)
        .map(|s| s.topic)
        .collect();
    ours.sort();
    assert_eq!(
        ours,
        vec!["inventory_levels/update", "orders/create", "orders/paid"]
    );
    let again = shop
        .client
        .ensure_webhooks(&topics, uri, true)
        .await
        .unwrap();
    assert!(again.created.is_empty() && again.complete());
    // Subscriptions take the API version of the request that made them: the one made
    // through Admin (2026-07) is reported when the client speaks another version.
    let other: Vec<&str> = again
        .other_version
        .iter()
        .map(|s| s.topic.as_str())
        .collect();
    if version == ApiVersion::V2026_07 {
        assert!(other.is_empty(), "{other:?}");
    } else {
        assert_eq!(other, vec!["ORDERS_CREATE"]);
    }
    let listed = shop.client.webhook_subscriptions().await.unwrap();
    assert_eq!(listed.len(), 4);
}

/// Runs a bulk query to completion and returns its result URL.
async fn bulk_result(
    client: &ShopifyClient,
    query: &plumb_agent::shopify::documents::BulkQuery,
    layout: BulkLayout,
) -> String {
    let id = client.run_bulk_query(query, layout).await.unwrap();
    let done = client
        .wait_bulk_operation(id, Duration::from_millis(50), None)
        .await
        .unwrap();
    assert_eq!(done.status, "COMPLETED");
    done.result_url().unwrap().unwrap().to_owned()
}

/// A store in a temporary directory, and its clock.
fn temp_store() -> (tempfile::TempDir, Store, Clock) {
    let dir = tempfile::tempdir().unwrap();
    let t0 = Timestamp(1_800_000_000_000);
    let store = Store::open(&dir.path().join("plumb.redb"), StoreSettings::default(), t0).unwrap();
    (dir, store, Clock::tokio(t0))
}

on_both_versions!(bulk_queries_stream_jsonl);
async fn bulk_queries_stream_jsonl(version: ApiVersion) {
    let shop = shop(version).await;
    let extra = shop.admin.add_catalog("BULK", 20, &shop.locations, 7);

    // Grouped: each inventory item with its levels at both locations.
    let url = bulk_result(
        &shop.client,
        &plumb_agent::shopify::documents::BULK_INVENTORY_LEVELS,
        BulkLayout::Grouped,
    )
    .await;
    let records: Vec<_> = shop
        .client
        .bulk_records(&url, BulkLayout::Grouped)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(records.len(), shop.variants.len() + extra.len());
    for record in &records {
        assert_eq!(record.children.len(), 2, "{record:?}");
        let item =
            plumb_agent::shopify::ids::parse_gid(record.object["id"].as_str().unwrap()).unwrap();
        for child in &record.children {
            let location =
                plumb_agent::shopify::ids::parse_gid(child["location"]["id"].as_str().unwrap())
                    .unwrap();
            let available = child["quantities"]
                .as_array()
                .unwrap()
                .iter()
                .find(|q| q["name"] == "available")
                .unwrap()["quantity"]
                .as_i64()
                .unwrap();
            assert_eq!(
                Some(available),
                shop.admin.level(item, location).map(|l| l.available)
            );
        }
    }

    // Flat: the variants file fills the SKU cache in one pass.
    let url = bulk_result(
        &shop.client,
        &plumb_agent::shopify::documents::BULK_VARIANTS,
        BulkLayout::Flat,
    )
    .await;
    let (_dir, store, clock) = temp_store();
    let fill = shop
        .client
        .cache_skus_from_bulk(&store, &clock, &url)
        .await
        .unwrap();
    assert_eq!(fill.cached, shop.variants.len() + extra.len());
    assert_eq!(fill.duplicates, 0);
    let calls = shop.client.stats().calls;
    let skus = vec![extra[3].sku.clone()];
    let resolved = shop
        .client
        .resolve_skus(&store, &clock, &skus, false)
        .await
        .unwrap();
    assert_eq!(
        resolved.found[&extra[3].sku].inventory_item_id,
        extra[3].inventory_item_id
    );
    assert_eq!(shop.client.stats().calls, calls, "the cache answered");
    drop(shop.sandbox);
}
