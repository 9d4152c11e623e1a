//! The reconciler against a real Tryton: Shopify (the sandbox) is set to the ERP's figures
//! and prices, then a clerk changes stock in Tryton behind the agent's back (the inventory
//! flow is off). A dry run must find exactly those pairs, with Tryton's new figures as the
//! target, and as catalogue drift only the ERP warehouses `[[locations]]` does not map.
//! And the connector's listing of the sales booked for Shopify orders, duplicates and
//! states included, which the orders dimension compares.

use std::collections::BTreeSet;

use serde_json::json;

use plumb_agent::erp::{Erp, OrderState, Selection};
use plumb_common::protocol::{ParityDimension, Request};
use plumb_tests::agent::Control;
use plumb_tests::erp::orders::{line, order};
use plumb_tests::reconcile::{finished_run, mismatches, row, rows, shop, start_agent};
use plumb_tests::tryton::{Clerk, TrytonServer};
use rust_decimal::prelude::ToPrimitive;

/// The stock test reads the shared server's whole catalogue while the other books sales
/// (which move its stock): they take turns.
static SERVER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// SKUs of the shared server no other test of this binary touches.
const RAISED: &str = "SKU-0031";
const LOWERED: &str = "SKU-0032";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stock_changed_in_tryton_is_found_exactly() {
    let _turn = SERVER.lock().await;
    let server = TrytonServer::shared();
    let erp = server.connector();
    let warehouses = vec!["WH-EAST".to_owned(), "WH-WEST".to_owned()];

    // Shopify as the ERP is now: every product, its price, its sellable stock.
    let (sandbox, locations) = shop(&["East", "West"]).await;
    let (east, west) = (locations[0], locations[1]);
    let admin = sandbox.admin();
    let products = erp.products(Selection::All).await.expect("products");
    assert!(products.len() >= 40, "the shared server is seeded");
    let levels = erp.stock(Selection::All, &warehouses).await.expect("stock");
    for product in &products {
        let created = admin.add_product(&product.title, &[(product.sku.as_str(), product.price)]);
        let item = created.variants[0].inventory_item_id;
        for (warehouse, location) in [("WH-EAST", east), ("WH-WEST", west)] {
            let available = levels
                .iter()
                .find(|l| l.sku == product.sku && l.warehouse == warehouse)
                .map_or(0, |l| l.available.floor().to_i64().unwrap_or(0).max(0));
            admin.stock(item, location, available);
        }
    }
    let shown = |sku: &str, location: u64| {
        admin
            .level(admin.item_by_sku(sku).expect("item"), location)
            .map(|l| l.available)
            .expect("level")
    };
    let (raised_before, lowered_before) = (shown(RAISED, east), shown(LOWERED, west));

    // Stock drift in Tryton: a count raises one SKU at East, lowers another at West.
    let clerk = Clerk::new(server);
    clerk.inventory(RAISED, "WH-EAST", raised_before + 15).await;
    clerk.inventory(LOWERED, "WH-WEST", 1).await;
    assert_ne!(lowered_before, 1, "the seed stocks more than one");

    let extra = "\n[flows.inventory]\nenabled = false\n[flows.orders]\nenabled = false\n\
                 [flows.fulfilment]\nenabled = false\n\
                 [reconcile]\nenabled = false\nbulk_poll_interval = \"100ms\"\n";
    let (_dir, agent) = start_agent(
        &sandbox,
        &server.settings(),
        &[("WH-EAST", east), ("WH-WEST", west)],
        extra,
    );
    let mut control = Control::connect(&agent.socket(), false)
        .await
        .expect("control");
    let run = finished_run(&agent, &mut control, Request::Reconcile { dry_run: true }).await;

    let stock = run.dimension(ParityDimension::Inventory).expect("stock");
    assert_eq!(stock.checked, products.len() as u64 * 2, "{run:#?}");
    let found = mismatches(&mut control, run.id, ParityDimension::Inventory).await;
    let raised_to = (raised_before + 15).to_string();
    let raised_was = raised_before.to_string();
    let lowered_was = lowered_before.to_string();
    assert_eq!(
        rows(&found),
        BTreeSet::from([
            row(
                "shopify_below",
                RAISED,
                Some(east),
                Some(&raised_to),
                Some(&raised_was)
            ),
            row(
                "shopify_above",
                LOWERED,
                Some(west),
                Some("1"),
                Some(&lowered_was)
            ),
        ]),
        "{}",
        agent.stderr()
    );
    assert_eq!(stock.mismatched, 2);

    let unmapped: BTreeSet<String> = erp
        .warehouses()
        .await
        .expect("warehouses")
        .into_iter()
        .map(|w| w.code)
        .filter(|code| !warehouses.contains(code))
        .collect();
    let found = mismatches(&mut control, run.id, ParityDimension::Catalog).await;
    let listed: BTreeSet<String> = found
        .iter()
        .map(|m| {
            assert_eq!(m.kind, "unmapped_location", "{m:#?}");
            m.subject.clone()
        })
        .collect();
    assert_eq!(listed, unmapped, "{found:#?}");

    // A dry run writes nothing: Shopify still shows the old figures.
    assert_eq!(shown(RAISED, east), raised_before);
    assert_eq!(shown(LOWERED, west), lowered_before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sales_are_listed_by_shopify_order_with_duplicates_and_states() {
    let _turn = SERVER.lock().await;
    let server = TrytonServer::shared();
    let erp = server.connector();
    let first = order(
        930_001,
        "WH-EAST",
        vec![line("SKU-0035", 1, "45.00", "0", vec![])],
    );
    let second = order(
        930_002,
        "WH-EAST",
        vec![line("SKU-0036", 2, "46.00", "0", vec![])],
    );
    let booked = erp.create_sales_order(&first).await.expect("book");
    erp.create_sales_order(&second).await.expect("book");
    // A second sale for the first order, entered by hand, then cancelled.
    let clerk = Clerk::new(server);
    let id: i64 = booked.erp_id.parse().expect("id");
    let copy = clerk
        .call(
            "sale.sale",
            "copy",
            vec![json!([id]), json!({"reference": "shopify:930001"})],
        )
        .await;
    clerk.call("sale.sale", "cancel", vec![copy]).await;

    let mut sales = erp
        .sales_orders_for(&[930_001, 930_002, 930_003])
        .await
        .expect("list");
    sales.sort_by_key(|s| (s.shopify_order_id, s.erp_id.parse::<i64>().unwrap_or(0)));
    let seen: Vec<(u64, OrderState)> = sales
        .iter()
        .map(|s| (s.shopify_order_id, s.state))
        .collect();
    assert_eq!(
        seen,
        vec![
            (930_001, OrderState::Open),
            (930_001, OrderState::Cancelled),
            (930_002, OrderState::Open),
        ]
    );
    assert_eq!(sales[0].erp_id, booked.erp_id);
    assert_eq!(sales[0].total, first.total, "Tryton's total is Shopify's");
    assert_eq!(sales[2].total, second.total);
}
