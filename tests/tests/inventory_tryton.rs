//! The inventory flow against a real Tryton: the real `plumbd` polls it and pushes to the
//! Shopify sandbox; stock changed by a clerk in Tryton appears at the mapped location.

use std::time::Duration;

use plumb_agent::erp::Erp;
use plumb_tests::agent::Agent;
use plumb_tests::inventory::agent_toml;
use plumb_tests::sandbox::{Sandbox, SandboxConfig};
use plumb_tests::tryton::{Clerk, TrytonServer};
use rust_decimal::Decimal;

/// The real `plumbd` on the shared Tryton and `sandbox`, polling every 500 ms.
fn start_agent(
    sandbox: &Sandbox,
    server: &TrytonServer,
    locations: &[(&str, u64)],
) -> (tempfile::TempDir, Agent) {
    let dir = tempfile::tempdir().expect("tempdir");
    let extra = "\n[inventory]\npoll_interval = \"500ms\"\n";
    let toml = agent_toml(dir.path(), sandbox, &server.settings(), locations, extra);
    let agent = Agent::start(dir.path(), &toml);
    (dir, agent)
}

/// Waits up to a minute for Shopify to show `want` of `item` at `location`.
async fn shows(sandbox: &Sandbox, agent: &Agent, item: u64, location: u64, want: i64, what: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let now = sandbox.admin().level(item, location).map(|l| l.available);
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

    let (_dir, agent) = start_agent(&sandbox, server, &[("WH-EAST", east), ("WH-WEST", west)]);
    shows(&sandbox, &agent, item, east, 17, "first run, WH-EAST").await;
    shows(&sandbox, &agent, item, west, 3, "first run, WH-WEST").await;

    // A clerk counts WH-EAST again in Tryton: only the East location follows.
    clerk.inventory(sku, "WH-EAST", 9).await;
    shows(
        &sandbox,
        &agent,
        item,
        east,
        9,
        "after the count in WH-EAST",
    )
    .await;
    assert_eq!(admin.level(item, west).map(|l| l.available), Some(3));
}

/// A kit defined in Tryton (`product_kit`: the kit's template lists 2 x SKU-0005 and
/// 1 x SKU-0006) is a bundle: Shopify shows min over components of floor(sellable /
/// units per kit), and a component's change in Tryton recomputes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kit_in_tryton_is_stocked_from_its_components() {
    let server = TrytonServer::shared();
    let clerk = Clerk::new(server);
    clerk
        .create_kit("KIT-0005", &[("SKU-0005", 2.0), ("SKU-0006", 1.0)])
        .await;
    let kits = server.connector().kits().await.expect("kits");
    assert_eq!(
        kits.kits
            .iter()
            .find(|k| k.sku.as_str() == "KIT-0005")
            .map(|k| {
                k.components
                    .iter()
                    .map(|(sku, units)| (sku.as_str().to_owned(), *units))
                    .collect::<Vec<_>>()
            }),
        Some(vec![("SKU-0005".to_owned(), 2), ("SKU-0006".to_owned(), 1)]),
        "{kits:?}"
    );
    clerk.inventory("SKU-0005", "WH-EAST", 9).await;
    clerk.inventory("SKU-0006", "WH-EAST", 3).await;

    let sandbox = Sandbox::start(SandboxConfig::default())
        .await
        .expect("sandbox");
    let admin = sandbox.admin();
    let east = admin.add_location("East");
    let product = admin.add_product("Kit", &[("KIT-0005", Decimal::new(3000, 2))]);
    let item = product.variants[0].inventory_item_id;
    admin.stock(item, east, 0);
    let (_dir, agent) = start_agent(&sandbox, server, &[("WH-EAST", east)]);
    // min(floor(9 / 2), floor(3 / 1)) = 3
    shows(
        &sandbox,
        &agent,
        item,
        east,
        3,
        "first run: the scarcest component",
    )
    .await;
    // the scarce component restocked: min(4, 10) = 4
    clerk.inventory("SKU-0006", "WH-EAST", 10).await;
    shows(
        &sandbox,
        &agent,
        item,
        east,
        4,
        "after SKU-0006 was counted again",
    )
    .await;
}
