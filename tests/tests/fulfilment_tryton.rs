//! End to end with a real Tryton: a Shopify order booked by the real `plumbd`, shipped in
//! Tryton by a clerk with the carrier and a tracking number, appears in the sandbox as a
//! fulfilment with that tracking, exactly once (Tryton reports the shipment again when it
//! goes from shipped to done, and every poll re-reads an overlap window).

use std::time::Duration;

use plumb_agent::erp::Erp;
use plumb_tests::agent::{Agent, WEBHOOK_SECRET, eventually};
use plumb_tests::inventory::agent_toml;
use plumb_tests::sandbox::orders::OrderSpec;
use plumb_tests::sandbox::{Sandbox, SandboxConfig};
use plumb_tests::tryton::{Clerk, TrytonServer};
use rust_decimal::Decimal;

const MUG: &str = "SKU-0017";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sale_shipped_in_tryton_becomes_one_fulfilment_with_tracking() {
    let server = TrytonServer::shared();
    let sandbox = Sandbox::start(SandboxConfig {
        app_secret: WEBHOOK_SECRET.to_owned(),
        ..SandboxConfig::default()
    })
    .await
    .expect("sandbox");
    let admin = sandbox.admin();
    let east = admin.add_location("East");
    let mug = admin.add_product("Mug", &[(MUG, Decimal::new(1250, 2))]);
    admin.stock(mug.variants[0].inventory_item_id, east, 50);
    let clerk = Clerk::new(server);
    clerk.inventory(MUG, "WH-EAST", 50).await;

    let dir = tempfile::tempdir().expect("tempdir");
    let extra = "\n[queue]\nbackoff_base = \"100ms\"\nbackoff_cap = \"1s\"\n\
                 [flows.inventory]\nenabled = false\n\
                 [fulfilment]\npoll_interval = \"200ms\"\n";
    let toml = agent_toml(
        dir.path(),
        &sandbox,
        &server.settings(),
        &[("WH-EAST", east)],
        extra,
    );
    let agent = Agent::start(dir.path(), &toml);
    let url = format!("http://{}/webhooks/shopify", agent.webhook_address);
    admin.subscribe("orders/create", &url);

    let order = admin
        .place_order(&OrderSpec {
            lines: vec![(mug.variants[0].variant_id, 3)],
            location_id: Some(east),
            email: "buyer@example.com".to_owned(),
            paid: true,
        })
        .expect("place");
    let erp = server.connector();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let shipment = loop {
        if erp.sales_order(order).await.expect("read").is_some()
            && let Some(shipment) = clerk.shipments_of(order).await.first()
        {
            break *shipment;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the order was not booked with a shipment\n{}",
            agent.stderr()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(
        admin.with_state(|s| s.fulfillments.values().all(|f| f.order_id != order)),
        "nothing is fulfilled before Tryton ships"
    );

    clerk.ship(shipment, "1ZTRYTON0001").await;
    let fulfilments = || {
        admin.with_state(|s| {
            s.fulfillments
                .values()
                .filter(|f| f.order_id == order)
                .map(|f| {
                    (
                        f.location_id,
                        f.tracking
                            .iter()
                            .map(|t| (t.company.clone(), t.number.clone()))
                            .collect::<Vec<_>>(),
                        f.lines.iter().map(|(_, _, q)| q).sum::<i64>(),
                    )
                })
                .collect::<Vec<_>>()
        })
    };
    eventually(&agent, "the shipment is fulfilled in the sandbox", || {
        !fulfilments().is_empty()
    })
    .await;
    // Several more polls: the shipment is re-read in every overlap window.
    tokio::time::sleep(Duration::from_secs(2)).await;
    agent.wait_drained().await;
    let carrier = "Plumb Parcel".to_owned();
    assert_eq!(
        fulfilments(),
        vec![(
            east,
            vec![(Some(carrier), Some("1ZTRYTON0001".to_owned()))],
            3
        )],
        "{}",
        agent.stderr()
    );
    assert_eq!(
        admin.order(order).map(|o| o.fulfillment_status()),
        Some("FULFILLED")
    );
    let log = agent.stderr();
    assert!(
        !log.lines()
            .any(|l| l.contains("dead-lettered") && l.contains("flow=fulfilment")),
        "{log}"
    );
}
