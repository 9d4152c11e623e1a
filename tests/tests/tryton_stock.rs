//! Stock against a real Tryton: levels per warehouse, and every kind of stock change
//! (inventory, receipt, sale, reservation, shipment) reported by the next change poll with
//! the right figures, per warehouse. Also the start-up check.

use serde_json::json;

use plumb_agent::config::LocationMapping;
use plumb_agent::erp::tryton::Tryton;
use plumb_agent::erp::{CheckProblem, Cursor, Erp, Selection, StockLevel, check};
use plumb_common::{Decimal, Sku};
use plumb_tests::erp::orders::{line, order};
use plumb_tests::tryton::{Clerk, TrytonServer};

fn both() -> Vec<String> {
    vec!["WH-EAST".into(), "WH-WEST".into()]
}

/// Polls once; returns the levels of `sku` (other tests change other SKUs meanwhile).
async fn poll(tryton: &Tryton, cursor: &mut Cursor, sku: &str) -> Vec<StockLevel> {
    let changes = tryton
        .stock_changes(cursor, &both())
        .await
        .expect("stock change poll");
    *cursor = changes.cursor;
    let mut mine: Vec<_> = changes
        .levels
        .into_iter()
        .filter(|l| l.sku.as_str() == sku)
        .collect();
    mine.sort_by(|a, b| a.warehouse.cmp(&b.warehouse));
    mine
}

fn level(sku: &str, warehouse: &str, on_hand: i64, reserved: i64, available: i64) -> StockLevel {
    StockLevel {
        sku: Sku::new(sku).expect("sku"),
        warehouse: warehouse.into(),
        on_hand: Decimal::from(on_hand),
        reserved: Decimal::from(reserved),
        incoming: Decimal::ZERO,
        available: Decimal::from(available),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn levels_per_warehouse_for_selected_and_all_skus() {
    let server = TrytonServer::shared();
    let tryton = server.connector();
    let skus = [
        Sku::new("SKU-0010").unwrap(),
        Sku::new("NOT-IN-ERP").unwrap(),
    ];
    let mut levels = tryton.stock(Selection::Skus(&skus), &both()).await.unwrap();
    levels.sort_by(|a, b| a.warehouse.cmp(&b.warehouse));
    assert_eq!(
        levels,
        vec![
            level("SKU-0010", "WH-EAST", 10, 0, 10),
            level("SKU-0010", "WH-WEST", 5, 0, 5)
        ]
    );
    let all = tryton
        .stock(Selection::All, &["WH-WEST".into()])
        .await
        .unwrap();
    assert!(all.len() >= 40, "{} levels", all.len());
    assert!(all.iter().all(|l| l.warehouse == "WH-WEST"));
    assert!(
        all.iter().all(|l| l.sku.as_str() != "SHIPPING"),
        "services have no stock"
    );
    let error = tryton
        .stock(Selection::All, &["WH-MOON".into()])
        .await
        .unwrap_err();
    assert_eq!(error.cause(), "unknown_warehouse");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_stock_change_is_reported_by_the_next_poll() {
    let server = TrytonServer::shared();
    let tryton = server.connector();
    let clerk = Clerk::new(server);
    let mut cursor = tryton.stock_cursor().await.unwrap();
    assert!(poll(&tryton, &mut cursor, "SKU-0011").await.is_empty());

    // an inventory in one warehouse
    clerk.inventory("SKU-0011", "WH-EAST", 25).await;
    assert_eq!(
        poll(&tryton, &mut cursor, "SKU-0011").await,
        vec![level("SKU-0011", "WH-EAST", 25, 0, 25)]
    );
    assert!(
        poll(&tryton, &mut cursor, "SKU-0011").await.is_empty(),
        "reported once"
    );

    // a receipt in the other
    clerk.receive("SKU-0011", "WH-WEST", 7).await;
    assert_eq!(
        poll(&tryton, &mut cursor, "SKU-0011").await,
        vec![level("SKU-0011", "WH-WEST", 12, 0, 12)]
    );

    // a sale: on hand stays, available drops
    let sale = order(
        920_001,
        "WH-EAST",
        vec![line("SKU-0011", 3, "21.00", "0", vec![])],
    );
    tryton.create_sales_order(&sale).await.unwrap();
    assert_eq!(
        poll(&tryton, &mut cursor, "SKU-0011").await,
        vec![level("SKU-0011", "WH-EAST", 25, 0, 22)]
    );

    // reserved for the shipment
    let shipment = clerk.shipments_of(920_001).await[0];
    clerk.reserve(shipment).await;
    assert_eq!(
        poll(&tryton, &mut cursor, "SKU-0011").await,
        vec![level("SKU-0011", "WH-EAST", 25, 3, 22)]
    );

    // shipped: on hand drops, nothing reserved any more
    clerk.ship(shipment, "1ZTEST0001").await;
    assert_eq!(
        poll(&tryton, &mut cursor, "SKU-0011").await,
        vec![level("SKU-0011", "WH-EAST", 22, 0, 22)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_connector_resumes_from_a_stored_cursor() {
    let server = TrytonServer::shared();
    let clerk = Clerk::new(server);
    let cursor = server.connector().stock_cursor().await.unwrap();
    clerk.inventory("SKU-0012", "WH-WEST", 9).await;
    // the agent restarted: the cursor came from the store
    let mut cursor = Cursor(cursor.0.clone());
    let levels = poll(&server.connector(), &mut cursor, "SKU-0012").await;
    assert_eq!(levels, vec![level("SKU-0012", "WH-WEST", 9, 0, 9)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_start_up_check_names_duplicate_skus_and_unmapped_warehouses() {
    let server = TrytonServer::shared();
    let clerk = Clerk::new(server);
    let seed = &server.seed;
    // Tryton keeps full codes (template code + suffix) unique among active products, not
    // the suffix Plumb uses as the SKU: two templates with their own codes can share one
    for prefix in ["A-", "B-"] {
        clerk
            .call(
                "product.template",
                "create",
                vec![json!([{"name": "Twin", "code": prefix, "type": "goods", "default_uom": seed["unit"],
                    "products": [["create", [{"suffix_code": "DUP-0001"}]]]}])],
            )
            .await;
    }
    let mapping = |code: &str, id: u64| LocationMapping {
        erp_warehouse: code.into(),
        shopify_location: id,
    };
    let locations = [
        mapping("WH-EAST", 1),
        mapping("WH-WEST", 2),
        mapping("WH-GONE", 3),
    ];
    let tryton = server.connector();
    let report = check(&tryton, &locations).await.unwrap();
    assert!(!report.is_clean());
    assert!(report.problems.iter().any(|p| matches!(p,
        CheckProblem::DuplicateSku { sku, erp_ids } if sku == "DUP-0001" && erp_ids.len() == 2)));
    // Tryton ships a default warehouse "WH" nobody mapped
    assert!(
        report
            .problems
            .contains(&CheckProblem::UnmappedWarehouse { code: "WH".into() })
    );
    assert!(report.problems.contains(&CheckProblem::MissingWarehouse {
        code: "WH-GONE".into()
    }));
    assert!(!report.problems.iter().any(|p| matches!(p,
        CheckProblem::UnmappedWarehouse { code } if code == "WH-EAST")));
    assert!(report.problems.iter().all(|p| !p.to_string().is_empty()));
    let error = tryton
        .create_sales_order(&order(
            920_002,
            "WH-EAST",
            vec![line("DUP-0001", 1, "1.00", "0", vec![])],
        ))
        .await
        .unwrap_err();
    assert_eq!(error.cause(), "duplicate_sku");
}
