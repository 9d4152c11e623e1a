//! Orders against a real Tryton: booked once whatever happens between the create and the
//! agent's own record, with the lines, prices, discounts, taxes, shipping and currency the
//! Shopify order had.

use serde_json::json;

use plumb_agent::erp::{Erp, ErpError, OrderState};
use plumb_common::ErrorClass;
use plumb_tests::erp::orders::{dec, line, ny_state, nyc, order};
use plumb_tests::tryton::{Clerk, TrytonServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_order_twice_and_after_a_crash_is_one_sale() {
    let server = TrytonServer::shared();
    let order = order(
        910_001,
        "WH-EAST",
        vec![
            line("SKU-0001", 3, "11.00", "2.00", vec![ny_state("1.24")]),
            line("SKU-0002", 1, "12.00", "0", vec![nyc("0.54")]),
        ],
    );
    let first = server.connector();
    let booked = first.create_sales_order(&order).await.unwrap();
    assert!(booked.created);
    let again = first.create_sales_order(&order).await.unwrap();
    assert!(!again.created);
    assert_eq!(again.erp_id, booked.erp_id);
    // the agent crashed before recording the ERP id: a new process, no memory
    let amnesiac = server.connector();
    let after_crash = amnesiac.create_sales_order(&order).await.unwrap();
    assert!(!after_crash.created);
    assert_eq!(after_crash.erp_id, booked.erp_id);

    let clerk = Clerk::new(server);
    let count = clerk
        .call(
            "sale.sale",
            "search_count",
            vec![json!([["reference", "=", "shopify:910001"]])],
        )
        .await;
    assert_eq!(count, json!(1), "exactly one sale for the order");

    let sale = amnesiac
        .sales_order(910_001)
        .await
        .unwrap()
        .expect("booked");
    assert_eq!(sale.state, OrderState::Open);
    assert_eq!(sale.currency.as_str(), "USD");
    assert_eq!(sale.warehouse.as_deref(), Some("WH-EAST"));
    let lines: Vec<_> = sale
        .lines
        .iter()
        .map(|l| {
            (
                l.sku.as_ref().map(|s| s.to_string()),
                l.description.clone(),
                l.quantity,
                l.unit_price,
                l.taxes.clone(),
            )
        })
        .collect();
    let tax = |name: &str| vec![name.to_owned()];
    assert_eq!(
        lines,
        vec![
            // the discount folded into the unit price: 31.00 over 3 units, so Tryton's
            // tax on the line is Shopify's (see agent/src/erp/tryton/pricing.rs)
            (
                Some("SKU-0001".into()),
                "Plumb Product SKU-0001 (at 11.00, less discount 2.00)".into(),
                dec("3"),
                dec("10.3333"),
                tax("NY State Tax")
            ),
            (
                Some("SKU-0002".into()),
                "Plumb Product SKU-0002".into(),
                dec("1"),
                dec("12.00"),
                tax("NYC Sales Tax")
            ),
            (
                None,
                "Shipping: Standard".into(),
                dec("1"),
                dec("5.00"),
                tax("NY State Tax")
            ),
        ]
    );
    // 33 - 2 + 12 + 5 before tax; 31 x 4 % + 12 x 4.5 % + 5 x 4 % tax
    assert_eq!(sale.untaxed, dec("48.00"));
    assert_eq!(sale.tax, dec("1.98"));
    assert_eq!(sale.total, dec("49.98"));
    let shipments = clerk.shipments_of(910_001).await;
    assert_eq!(shipments.len(), 1, "one shipment, not one per attempt");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sale_left_in_draft_by_a_lost_answer_is_finished_not_duplicated() {
    let server = TrytonServer::shared();
    let clerk = Clerk::new(server);
    // what the first attempt left behind: the create went through, the answer was lost
    let seed = &server.seed;
    clerk
        .call(
            "sale.sale",
            "create",
            vec![json!([{
                "party": seed["customer"], "invoice_address": seed["customer_address"],
                "shipment_address": seed["customer_address"],
                "warehouse": server.warehouse("WH-EAST", "id"), "currency": seed["currency"],
                "reference": "shopify:910002",
                "lines": [["create", [{"type": "line", "product": server.product("SKU-0003"),
                    "unit": seed["unit"], "quantity": 1.0,
                    "unit_price": {"__class__": "Decimal", "decimal": "13.00"}}]]],
            }])],
        )
        .await;
    let order = order(
        910_002,
        "WH-EAST",
        vec![line("SKU-0003", 1, "13.00", "0", vec![])],
    );
    let booked = server.connector().create_sales_order(&order).await.unwrap();
    assert!(!booked.created);
    let sale = server
        .connector()
        .sales_order(910_002)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        sale.state,
        OrderState::Open,
        "the half-done sale was confirmed"
    );
    assert_eq!(clerk.shipments_of(910_002).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_skus_and_taxes_are_permanent_with_the_reason() {
    let server = TrytonServer::shared();
    let tryton = server.connector();
    let unknown = order(
        910_003,
        "WH-EAST",
        vec![line("NO-SUCH-SKU", 1, "1.00", "0", vec![])],
    );
    let error = tryton.create_sales_order(&unknown).await.unwrap_err();
    assert_eq!(error, ErpError::UnknownSku("NO-SUCH-SKU".into()));
    assert_eq!(error.class(), ErrorClass::Permanent);

    let mut taxed = order(
        910_004,
        "WH-EAST",
        vec![line("SKU-0004", 1, "1.00", "0", vec![])],
    );
    // an unknown tax on the shipping line
    taxed.shipping[0].taxes[0].title = "Moon Tax".into();
    let error = tryton.create_sales_order(&taxed).await.unwrap_err();
    assert!(
        matches!(&error, ErpError::Missing(m) if m.contains("Moon Tax")),
        "{error}"
    );
    assert_eq!(error.class(), ErrorClass::Permanent);

    let nowhere = order(
        910_005,
        "WH-NOWHERE",
        vec![line("SKU-0004", 1, "1.00", "0", vec![])],
    );
    let error = tryton.create_sales_order(&nowhere).await.unwrap_err();
    assert_eq!(error, ErpError::UnknownWarehouse("WH-NOWHERE".into()));
    assert!(
        tryton.sales_order(910_003).await.unwrap().is_none(),
        "nothing booked"
    );
}
