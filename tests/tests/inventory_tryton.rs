//! The inventory flow against a real Tryton: the real `plumbd` polls it and pushes to the
//! Shopify sandbox; stock changed by a clerk in Tryton appears at the mapped location.

use std::time::Duration;

use plumb_tests::agent::Agent;
use plumb_tests::inventory::agent_toml;
use plumb_tests::sandbox::{Sandbox, SandboxConfig};
use plumb_tests::tryton::{Clerk, TrytonServer};
use rust_decimal::Decimal;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stock_changed_in_tryton_appears_at_the_mapped_location() {
    let server = TrytonServer::shared();
    let sandbox = Sandbox::start(SandboxConfig::default())
        .await
        .expect("sandbox");
    let admin = sandbox.admin();
    let east = admin.add_location("East");
    let west = admin.add_location("West");
    let sku = "SKU-0031";
    let product = admin.add_product("Tryton mug", &[(sku, Decimal::new(1000, 2))]);
    let item = product.variants[0].inventory_item_id;
    for location in [east, west] {
        admin.stock(item, location, 0);
    }
    let clerk = Clerk::new(server);
    clerk.inventory(sku, "WH-EAST", 17).await;
    clerk.inventory(sku, "WH-WEST", 3).await;

    let dir = tempfile::tempdir().expect("tempdir");
    let locations = [("WH-EAST", east), ("WH-WEST", west)];
    let extra = "\n[inventory]\npoll_interval = \"500ms\"\n";
    let toml = agent_toml(dir.path(), &sandbox, &server.settings(), &locations, extra);
    let agent = Agent::start(dir.path(), &toml);
    let wait_for = |location: u64, want: i64, what: &'static str| {
        let (admin, agent) = (&admin, &agent);
        async move {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
            loop {
                let now = admin.level(item, location).map(|l| l.available);
                if now == Some(want) {
                    return;
                }
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "{what}: Shopify shows {now:?}, expected {want}\n{}",
                    agent.stderr()
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    wait_for(east, 17, "first run, WH-EAST").await;
    wait_for(west, 3, "first run, WH-WEST").await;

    // A clerk counts WH-EAST again in Tryton: only the East location follows.
    clerk.inventory(sku, "WH-EAST", 9).await;
    wait_for(east, 9, "after the count in WH-EAST").await;
    assert_eq!(admin.level(item, west).map(|l| l.available), Some(3));
}
