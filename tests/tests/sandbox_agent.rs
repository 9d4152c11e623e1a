//! The sandbox's webhooks against the real `plumbd` receiver: its signature check and
//! header handling accept what the sandbox sends, as they must accept Shopify's.

use std::time::Duration;

use plumb_tests::agent::{Agent, WEBHOOK_SECRET};
use plumb_tests::sandbox::orders::OrderSpec;
use plumb_tests::sandbox::webhooks::Outcome;
use plumb_tests::sandbox::{FaultConfig, Sandbox, SandboxConfig};
use rust_decimal::Decimal;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plumbd_accepts_the_sandboxs_signed_deliveries() {
    let dir = tempfile::tempdir().expect("tempdir");
    let agent = Agent::start(dir.path(), "");
    let sandbox = Sandbox::start(SandboxConfig::signed_with(WEBHOOK_SECRET))
        .await
        .expect("sandbox");
    let admin = sandbox.admin();
    let url = format!("http://{}/webhooks/shopify", agent.webhook_address);
    for topic in ["orders/create", "orders/paid", "inventory_levels/update"] {
        admin.subscribe(topic, &url);
    }
    let location = admin.add_location("Main");
    let product = admin.add_product("Mug", &[("MUG-1", Decimal::new(1250, 2))]);
    admin.stock(product.variants[0].inventory_item_id, location, 5);
    admin.set_faults(FaultConfig {
        webhook_duplicate: 1.0,
        ..FaultConfig::default()
    });
    admin
        .place_order(&OrderSpec {
            lines: vec![(product.variants[0].variant_id, 1)],
            location_id: Some(location),
            email: "buyer@example.com".to_owned(),
            paid: true,
        })
        .expect("order");

    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let deliveries = loop {
        let deliveries = admin.deliveries();
        let settled =
            deliveries.len() == 6 && deliveries.iter().all(|d| d.outcome != Outcome::Pending);
        if settled || tokio::time::Instant::now() >= deadline {
            break deliveries;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(
        deliveries.len(),
        6,
        "3 events, each delivered twice: {deliveries:#?}"
    );
    for delivery in &deliveries {
        assert_eq!(
            delivery.outcome,
            Outcome::Delivered,
            "{} was refused: {:?}\n{}",
            delivery.topic,
            delivery.attempts,
            agent.stderr()
        );
        assert_eq!(delivery.attempts.len(), 1, "{delivery:?}");
    }
}
