//! SKU resolution: exact matches only, duplicates reported, the store's cache answering
//! before Shopify, and the cache kept consistent both ways. Also the locations walk.

mod shopify_support;

use plumb_agent::clock::Clock;
use plumb_agent::store::{SkuMapping, Store, StoreSettings};
use plumb_common::Timestamp;

use shopify_support::{Reply, Script, client_for, ok_body};

const T0: Timestamp = Timestamp(1_800_000_000_000);

fn variant(id: u64, sku: &str, item: u64) -> String {
    format!(
        r#"{{"id":"gid://shopify/ProductVariant/{id}","sku":"{sku}","inventoryItem":{{"id":"gid://shopify/InventoryItem/{item}","tracked":true}}}}"#
    )
}

fn page(nodes: &[String], next: Option<&str>) -> String {
    let info = match next {
        Some(cursor) => format!(r#"{{"hasNextPage":true,"endCursor":"{cursor}"}}"#),
        None => r#"{"hasNextPage":false,"endCursor":null}"#.to_owned(),
    };
    format!(
        r#"{{"productVariants":{{"nodes":[{}],"pageInfo":{info}}}}}"#,
        nodes.join(",")
    )
}

#[tokio::test]
async fn resolves_from_shopify_once_then_from_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("plumb.redb"), StoreSettings::default(), T0).unwrap();
    let clock = Clock::tokio(T0);
    let script = Script::start(vec![
        // Page 1: A-1 and a loose match "A-10" Shopify's search also returned.
        Reply::json(
            200,
            &ok_body(
                &page(
                    &[
                        variant(11, "A-1", 9_007_199_254_740_993),
                        variant(12, "A-10", 102),
                    ],
                    Some("c1"),
                ),
                30,
                10,
                1990.0,
            ),
        ),
        // Page 2: two variants share DUP.
        Reply::json(
            200,
            &ok_body(
                &page(&[variant(13, "DUP", 103), variant(14, "DUP", 104)], None),
                30,
                10,
                1980.0,
            ),
        ),
    ])
    .await;
    let client = client_for(&script);
    let skus: Vec<String> = ["A-1", "DUP", "GONE", "A-1"].map(String::from).to_vec();
    let first = client
        .resolve_skus(&store, &clock, &skus, false)
        .await
        .unwrap();
    assert_eq!(first.found.len(), 1);
    let a1 = &first.found["A-1"];
    assert_eq!(
        (a1.variant_id, a1.inventory_item_id),
        (11, 9_007_199_254_740_993)
    );
    assert_eq!(first.missing, vec!["GONE".to_owned()]);
    assert_eq!(first.ambiguous, vec![("DUP".to_owned(), vec![13, 14])]);
    let seen = script.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(
        seen[0].body["variables"]["query"],
        r#"sku:"A-1" OR sku:"DUP" OR sku:"GONE""#
    );
    assert_eq!(seen[1].body["variables"]["after"], "c1");
    assert_eq!(
        store.sku_of_item(9_007_199_254_740_993).await.unwrap(),
        Some("A-1".to_owned())
    );
    assert_eq!(
        store.sku_of_item(102).await.unwrap(),
        None,
        "loose matches are not cached"
    );

    // Cached: no call to Shopify.
    let again = client
        .resolve_skus(&store, &clock, &["A-1".to_owned()], false)
        .await
        .unwrap();
    assert_eq!(again.found["A-1"], *a1);
    assert_eq!(script.seen().len(), 2);

    // Refresh: the SKU moved to another variant and item; the old item forgets it.
    script.push(Reply::json(
        200,
        &ok_body(&page(&[variant(21, "A-1", 201)], None), 30, 10, 1990.0),
    ));
    let refreshed = client
        .resolve_skus(&store, &clock, &["A-1".to_owned()], true)
        .await
        .unwrap();
    assert_eq!(refreshed.found["A-1"].inventory_item_id, 201);
    assert_eq!(
        store.sku_of_item(9_007_199_254_740_993).await.unwrap(),
        None
    );
    assert_eq!(
        store.sku_of_item(201).await.unwrap(),
        Some("A-1".to_owned())
    );
    store.close().await;
}

#[tokio::test]
async fn an_item_renamed_to_another_sku_drops_the_old_sku() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("plumb.redb"), StoreSettings::default(), T0).unwrap();
    let mapping = |sku: &str| SkuMapping {
        sku: sku.to_owned(),
        variant_id: 1,
        inventory_item_id: 7,
        tracked: true,
        refreshed_at: T0,
    };
    let old = mapping("OLD");
    store
        .write(move |ctx| ctx.record_sku_mappings(&[old]))
        .await
        .unwrap();
    let new = mapping("NEW");
    store
        .write(move |ctx| ctx.record_sku_mappings(&[new]))
        .await
        .unwrap();
    let cached = store
        .sku_mappings(vec!["OLD".to_owned(), "NEW".to_owned()])
        .await
        .unwrap();
    assert_eq!(cached, vec![mapping("NEW")]);
    assert_eq!(store.sku_of_item(7).await.unwrap(), Some("NEW".to_owned()));
    store.close().await;
}

#[tokio::test]
async fn locations_walk_every_page_and_keep_big_ids() {
    let page1 = r#"{"locations":{"nodes":[{"id":"gid://shopify/Location/9007199254740993","legacyResourceId":"9007199254740993","name":"Main","isActive":true}],"pageInfo":{"hasNextPage":true,"endCursor":"p2"}}}"#;
    let page2 = r#"{"locations":{"nodes":[{"id":"gid://shopify/Location/2","legacyResourceId":"2","name":"Old","isActive":false}],"pageInfo":{"hasNextPage":false,"endCursor":"p3"}}}"#;
    let script = Script::start(vec![
        Reply::json(200, &ok_body(page1, 5, 3, 1997.0)),
        Reply::json(200, &ok_body(page2, 5, 3, 1994.0)),
    ])
    .await;
    let client = client_for(&script);
    let locations = client.locations().await.unwrap();
    assert_eq!(locations.len(), 2);
    assert_eq!(locations[0].id, 9_007_199_254_740_993);
    assert_eq!(locations[0].legacy_resource_id, 9_007_199_254_740_993);
    assert!(!locations[1].is_active);
    assert_eq!(script.seen()[1].body["variables"]["after"], "p2");
}

#[tokio::test]
async fn the_cache_fills_from_a_bulk_variants_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("plumb.redb"), StoreSettings::default(), T0).unwrap();
    let clock = Clock::tokio(T0);
    let line = |id: u64, sku: &str, item: u64| {
        format!(
            "{{\"id\":\"gid://shopify/ProductVariant/{id}\",\"sku\":{sku},\"inventoryItem\":{{\"id\":\"gid://shopify/InventoryItem/{item}\",\"tracked\":true}}}}\n"
        )
    };
    let mut file = String::new();
    for i in 0..2_500u64 {
        file.push_str(&line(i, &format!("\"S-{i}\""), 10_000 + i));
    }
    file.push_str(&line(9_001, "\"S-7\"", 99_001));
    file.push_str(&line(9_002, "null", 99_002));
    file.push_str(&line(9_003, "\"  \"", 99_003));
    // A stale cache entry for the SKU that turned out to be duplicated.
    let stale = SkuMapping {
        sku: "S-7".into(),
        variant_id: 7,
        inventory_item_id: 10_007,
        tracked: true,
        refreshed_at: T0,
    };
    store
        .write(move |ctx| ctx.record_sku_mappings(&[stale]))
        .await
        .unwrap();
    let script = Script::start(vec![Reply::json(200, &file)]).await;
    let client = client_for(&script);
    let url = format!("{}/variants.jsonl", script.base_url);
    let fill = client
        .cache_skus_from_bulk(&store, &clock, &url)
        .await
        .unwrap();
    assert_eq!(
        (fill.cached, fill.duplicates, fill.without_sku),
        (2_499, 1, 2)
    );
    let cached = store
        .sku_mappings(vec!["S-0".into(), "S-2499".into(), "S-7".into()])
        .await
        .unwrap();
    let skus: Vec<&str> = cached.iter().map(|m| m.sku.as_str()).collect();
    assert_eq!(skus, vec!["S-0", "S-2499"]);
    assert_eq!(store.sku_of_item(10_007).await.unwrap(), None);
    assert_eq!(
        store.sku_of_item(12_499).await.unwrap(),
        Some("S-2499".into())
    );
    store.close().await;
}
