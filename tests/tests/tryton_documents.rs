//! Refunds, cancellations, shipments and product data against a real Tryton.

use plumb_agent::erp::{CancelOutcome, Cursor, Erp, ErpError, Selection};
use plumb_common::{Decimal, Sku};
use plumb_tests::erp::orders::{dec, line, order, refund, refund_line};
use plumb_tests::tryton::{Clerk, TrytonServer};

async fn on_hand(server: &TrytonServer, sku: &str, warehouse: &str) -> Decimal {
    let skus = [Sku::new(sku).expect("sku")];
    let levels = server
        .connector()
        .stock(Selection::Skus(&skus), &[warehouse.to_owned()])
        .await
        .expect("stock");
    levels[0].on_hand
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_with_restock_credits_and_returns_to_the_right_warehouse() {
    let server = TrytonServer::shared();
    let tryton = server.connector();
    let sale = order(
        930_001,
        "WH-EAST",
        vec![
            line("SKU-0020", 3, "30.00", "0", vec![]),
            line("SKU-0021", 1, "31.00", "0", vec![]),
        ],
    );
    tryton.create_sales_order(&sale).await.unwrap();
    let west_before = on_hand(server, "SKU-0020", "WH-WEST").await;
    let east_before = on_hand(server, "SKU-0020", "WH-EAST").await;

    // 2 x SKU-0020 come back into WH-WEST; SKU-0021 is refunded without a return
    let refund = refund(
        77_001,
        930_001,
        vec![
            refund_line("SKU-0020", 2, "30.00", Some("WH-WEST")),
            refund_line("SKU-0021", 1, "31.00", None),
        ],
    );
    let booked = tryton.record_refund(&refund).await.unwrap();
    assert!(booked.created);
    assert_eq!(booked.credited, dec("-91.00"));
    assert_eq!(booked.documents.len(), 1, "one warehouse, one return");
    assert_eq!(booked.documents[0].warehouse.as_deref(), Some("WH-WEST"));
    let number = booked.documents[0]
        .credit_note
        .clone()
        .expect("the credit note is posted and numbered");
    assert!(number.starts_with("CN"), "{number}");
    assert_eq!(
        on_hand(server, "SKU-0020", "WH-WEST").await,
        west_before + dec("2")
    );
    assert_eq!(
        on_hand(server, "SKU-0020", "WH-EAST").await,
        east_before,
        "not the order's warehouse"
    );

    // again, from an agent with no memory: the same credit, no second return
    let again = server.connector().record_refund(&refund).await.unwrap();
    assert!(!again.created);
    assert_eq!(again.documents.len(), 1);
    assert_eq!(again.documents[0].erp_id, booked.documents[0].erp_id);
    assert_eq!(again.credit_notes(), vec![number.as_str()]);
    assert_eq!(
        on_hand(server, "SKU-0020", "WH-WEST").await,
        west_before + dec("2")
    );

    let orphan = plumb_tests::erp::orders::refund(
        77_002,
        939_999,
        vec![refund_line("SKU-0020", 1, "1", None)],
    );
    assert!(matches!(
        tryton.record_refund(&orphan).await,
        Err(ErpError::Missing(_))
    ));
}

async fn available(server: &TrytonServer, sku: &str) -> Decimal {
    let skus = [Sku::new(sku).expect("sku")];
    let levels = server
        .connector()
        .stock(Selection::Skus(&skus), &["WH-EAST".to_owned()])
        .await
        .expect("stock");
    levels[0].available
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_an_unshipped_order_releases_its_stock_and_a_shipped_one_is_refused() {
    let server = TrytonServer::shared();
    let tryton = server.connector();
    let clerk = Clerk::new(server);
    let before = available(server, "SKU-0022").await;
    tryton
        .create_sales_order(&order(
            930_002,
            "WH-EAST",
            vec![line("SKU-0022", 4, "32.00", "0", vec![])],
        ))
        .await
        .unwrap();
    assert_eq!(available(server, "SKU-0022").await, before - dec("4"));
    assert_eq!(
        tryton.cancel_sales_order(930_002).await.unwrap(),
        CancelOutcome::DocumentsCancelled
    );
    assert_eq!(
        available(server, "SKU-0022").await,
        before,
        "the shipment's demand is gone"
    );
    let shipment = clerk.shipments_of(930_002).await[0];
    let rows = clerk
        .read("stock.shipment.out", &[shipment], &["state"])
        .await;
    assert_eq!(rows[0]["state"], "cancelled");

    tryton
        .create_sales_order(&order(
            930_003,
            "WH-EAST",
            vec![line("SKU-0022", 1, "32.00", "0", vec![])],
        ))
        .await
        .unwrap();
    clerk
        .ship(clerk.shipments_of(930_003).await[0], "1ZSHIPPED")
        .await;
    let error = tryton.cancel_sales_order(930_003).await.unwrap_err();
    assert!(
        matches!(&error, ErpError::Rejected(m) if m.contains("refund")),
        "{error}"
    );
    assert!(matches!(
        tryton.cancel_sales_order(939_998).await,
        Err(ErpError::Missing(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shipments_with_carrier_and_tracking_are_read_back_once() {
    let server = TrytonServer::shared();
    let tryton = server.connector();
    let clerk = Clerk::new(server);
    let first = tryton.shipments_since(&Cursor::default()).await.unwrap();
    let mut cursor = first.cursor;
    tryton
        .create_sales_order(&order(
            930_004,
            "WH-WEST",
            vec![line("SKU-0025", 2, "35.00", "0", vec![])],
        ))
        .await
        .unwrap();
    let shipment = clerk.shipments_of(930_004).await[0];
    clerk.ship(shipment, "1Z999AA10123456784").await;

    let changes = tryton.shipments_since(&cursor).await.unwrap();
    cursor = changes.cursor;
    let mine: Vec<_> = changes
        .shipments
        .iter()
        .filter(|s| s.shopify_order_id == Some(930_004))
        .collect();
    assert_eq!(mine.len(), 1, "{:?}", changes.shipments);
    let shipped = mine[0];
    assert_eq!(shipped.erp_id, shipment.to_string());
    assert_eq!(shipped.carrier.as_deref(), Some("Plumb Parcel"));
    assert_eq!(
        shipped.tracking_number.as_deref(),
        Some("1Z999AA10123456784")
    );
    assert_eq!(shipped.warehouse.as_deref(), Some("WH-WEST"));
    assert!(shipped.shipped_on.is_some());
    assert_eq!(shipped.lines.len(), 1);
    assert_eq!(shipped.lines[0].sku.as_str(), "SKU-0025");
    assert_eq!(shipped.lines[0].quantity, dec("2"));

    let again = tryton.shipments_since(&cursor).await.unwrap();
    assert!(
        !again
            .shipments
            .iter()
            .any(|s| s.shopify_order_id == Some(930_004)),
        "reported once"
    );

    // a corrected tracking number after the goods left is reported again
    clerk
        .call(
            "stock.shipment.out",
            "write",
            vec![
                serde_json::json!([shipment]),
                serde_json::json!({"shipping_reference": "1ZFIXED"}),
            ],
        )
        .await;
    let fixed = tryton.shipments_since(&again.cursor).await.unwrap();
    let fixed: Vec<_> = fixed
        .shipments
        .iter()
        .filter(|s| s.shopify_order_id == Some(930_004))
        .collect();
    assert_eq!(fixed.len(), 1);
    assert_eq!(fixed[0].tracking_number.as_deref(), Some("1ZFIXED"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn product_master_data_and_health() {
    let server = TrytonServer::shared();
    let tryton = server.connector();
    let skus = [Sku::new("SKU-0001").unwrap(), Sku::new("SKU-0039").unwrap()];
    let mut products = tryton.products(Selection::Skus(&skus)).await.unwrap();
    products.sort_by(|a, b| a.sku.cmp(&b.sku));
    assert_eq!(products.len(), 2);
    assert_eq!(products[0].title, "Plumb Product SKU-0001");
    assert_eq!(products[0].price, dec("11.00"));
    assert_eq!(products[0].barcode.as_deref(), Some("2000000000015"));
    assert_eq!(products[1].price, dec("49.00"));
    assert!(products.iter().all(|p| p.active));
    let all = tryton.products(Selection::All).await.unwrap();
    assert!(all.len() >= 40);
    let health = tryton.health().await.unwrap();
    assert!(health.version.starts_with("8.2"), "{}", health.version);
    let warehouses = tryton.warehouses().await.unwrap();
    let codes: Vec<_> = warehouses.iter().map(|w| w.code.as_str()).collect();
    assert!(
        codes.contains(&"WH-EAST") && codes.contains(&"WH-WEST"),
        "{codes:?}"
    );
}
