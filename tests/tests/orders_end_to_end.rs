//! End to end: the Shopify sandbox places, cancels and refunds orders and delivers their
//! webhooks with its duplicates, reordering and losses; the real `plumbd` books them in a
//! real Tryton. Every order is booked once, with Shopify's total to the cent; the
//! cancelled one is cancelled there and the refund credited, the lost webhooks caught by
//! the backfill.

use std::collections::BTreeMap;
use std::time::Duration;

use plumb_agent::erp::{Erp, OrderState};
use plumb_tests::agent::{Agent, WEBHOOK_SECRET};
use plumb_tests::inventory::agent_toml;
use plumb_tests::sandbox::orders::OrderSpec;
use plumb_tests::sandbox::{FaultConfig, Sandbox, SandboxConfig};
use plumb_tests::tryton::{Clerk, TrytonServer};
use rust_decimal::Decimal;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sandbox_orders_reach_tryton_once_with_shopifys_totals() {
    let server = TrytonServer::shared();
    let sandbox = Sandbox::start(SandboxConfig {
        app_secret: WEBHOOK_SECRET.to_owned(),
        ..SandboxConfig::default()
    })
    .await
    .expect("sandbox");
    let admin = sandbox.admin();
    let east = admin.add_location("East");
    let west = admin.add_location("West");
    let mug = admin.add_product("Mug", &[("SKU-0033", Decimal::new(1234, 2))]);
    let bowl = admin.add_product("Bowl", &[("SKU-0034", Decimal::new(555, 2))]);
    for product in [&mug, &bowl] {
        for location in [east, west] {
            admin.stock(product.variants[0].inventory_item_id, location, 500);
        }
    }
    let clerk = Clerk::new(server);
    for sku in ["SKU-0033", "SKU-0034"] {
        for warehouse in ["WH-EAST", "WH-WEST"] {
            clerk.inventory(sku, warehouse, 500).await;
        }
    }

    let dir = tempfile::tempdir().expect("tempdir");
    let extra = "\n[orders]\nbackfill_interval = \"1s\"\nbackfill_overlap = \"30s\"\n";
    let toml = agent_toml(
        dir.path(),
        &sandbox,
        &server.settings(),
        &[("WH-EAST", east), ("WH-WEST", west)],
        extra,
    );
    let agent = Agent::start(dir.path(), &toml);
    let url = format!("http://{}/webhooks/shopify", agent.webhook_address);
    for topic in [
        "orders/create",
        "orders/paid",
        "orders/updated",
        "orders/cancelled",
        "refunds/create",
    ] {
        admin.subscribe(topic, &url);
    }
    // Let the backfill's first poll set its cursor before the first order.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    admin.set_faults(FaultConfig {
        webhook_duplicate: 0.3,
        webhook_reorder: 0.3,
        webhook_reorder_ms: Some(300),
        webhook_drop: 0.15,
        ..FaultConfig::default()
    });

    let mut orders = Vec::new();
    for i in 0..12u64 {
        let location = if i % 2 == 0 { east } else { west };
        let mut lines = vec![(mug.variants[0].variant_id, 1 + (i as i64 % 3))];
        if i % 3 == 0 {
            lines.push((bowl.variants[0].variant_id, 2));
        }
        let id = admin
            .place_order(&OrderSpec {
                lines,
                location_id: Some(location),
                email: format!("buyer{i}@example.com"),
                paid: i % 4 != 1,
            })
            .expect("place");
        orders.push(id);
    }
    let cancelled = orders[2];
    admin.cancel_order(cancelled, true).expect("cancel");
    let refunded = orders[4];
    let line = admin.order(refunded).expect("order").line_items[0].id;
    let refund = admin
        .refund(refunded, &[(line, 1, "RETURN", Some(east))])
        .expect("refund");

    let erp = server.connector();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    let booked = loop {
        let mut booked = BTreeMap::new();
        for id in &orders {
            if let Some(order) = erp.sales_order(*id).await.expect("read the sale") {
                booked.insert(*id, order);
            }
        }
        // Tryton books a refund as a return sale (credit note and return shipment).
        let credited = return_sale(&clerk, refund).await;
        let cancel_done = match booked.get(&cancelled) {
            Some(order) if order.state == OrderState::Cancelled => true,
            Some(_) => cancelled_shipments(&clerk, cancelled).await,
            None => false,
        };
        let done = booked.len() == orders.len()
            && cancel_done
            && credited.as_array().is_some_and(|rows| !rows.is_empty());
        if done {
            break booked;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "booked {} of {} orders; log:\n{}",
            booked.len(),
            orders.len(),
            agent.stderr()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    for id in &orders {
        let sales = clerk
            .call(
                "sale.sale",
                "search",
                vec![json!([["reference", "=", format!("shopify:{id}")]])],
            )
            .await;
        assert_eq!(
            sales.as_array().map(Vec::len),
            Some(1),
            "order {id} booked once"
        );
        let shopify_total = admin.order(*id).expect("order").subtotal();
        assert_eq!(
            booked[id].total, shopify_total,
            "order {id}: Tryton's total equals Shopify's"
        );
    }
    let refund_total = return_sale(&clerk, refund).await;
    assert_eq!(
        refund_total[0]["total_amount"]["decimal"], "-12.34",
        "one mug (12.34, no tax) credited: {refund_total}"
    );
    let faults = admin.fault_counters();
    assert!(
        faults.webhook_duplicate > 0 && faults.webhook_drop > 0,
        "the run exercised duplicates and losses: {faults:?}"
    );
}

/// Whether the order's shipments in Tryton are all cancelled (a processing sale keeps its
/// state; its pending shipment is what a cancellation cancels).
async fn cancelled_shipments(clerk: &Clerk<'_>, order: u64) -> bool {
    let shipments = clerk.shipments_of(order).await;
    let states = clerk
        .read("stock.shipment.out", &shipments, &["state"])
        .await;
    !states.is_empty() && states.iter().all(|s| s["state"] == "cancelled")
}

/// The return sale Tryton booked for a Shopify refund, with its total (none yet: empty).
async fn return_sale(clerk: &Clerk<'_>, refund: u64) -> Value {
    clerk
        .call(
            "sale.sale",
            "search_read",
            vec![
                json!([["reference", "=", format!("shopify-refund:{refund}")]]),
                json!(0),
                Value::Null,
                Value::Null,
                json!(["total_amount"]),
            ],
        )
        .await
}
