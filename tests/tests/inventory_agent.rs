//! The inventory flow end to end: the real `plumbd` polls the ERP double and pushes to the
//! Shopify sandbox, which sends its level webhooks back to the agent.

use std::future::Future;
use std::time::Duration;

use plumb_agent::shopify::{SetRequest, SetRow};
use plumb_common::JobId;
use plumb_common::protocol::{
    DeadLetterQuery, InventoryQuery, InventoryRow, InventoryStatus, Request, Response,
};
use plumb_tests::agent::{Agent, Control, WEBHOOK_SECRET};
use plumb_tests::erp::double::ErpDouble;
use plumb_tests::inventory::agent_toml;
use plumb_tests::sandbox::{ApiVersion, Sandbox, SandboxConfig};
use plumb_tests::shopify::client_for;
use rust_decimal::Decimal;

/// Waits up to 30 s for `check` to give `Some`; panics with `what` and the agent's log.
async fn eventually<T, F, Fut>(agent: &Agent, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(found) = check().await {
            return found;
        }
        if tokio::time::Instant::now() >= deadline {
            panic!("timed out waiting for {what}\n{}", agent.stderr());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Everything the agent reports about its inventory.
async fn inventory(control: &mut Control) -> Vec<InventoryRow> {
    let query = InventoryQuery {
        limit: 1000,
        ..InventoryQuery::default()
    };
    match control.request(Request::ListInventory(query)).await {
        Ok(Response::Inventory(page)) => page.items,
        other => panic!("unexpected answer: {other:?}"),
    }
}

struct Shop {
    sandbox: Sandbox,
    east: u64,
    west: u64,
}

impl Shop {
    fn item(&self, sku: &str) -> u64 {
        self.sandbox.admin().item_by_sku(sku).expect("item")
    }

    fn available(&self, sku: &str, location: u64) -> Option<i64> {
        let admin = self.sandbox.admin();
        admin.level(self.item(sku), location).map(|l| l.available)
    }
}

async fn shop() -> Shop {
    let sandbox = Sandbox::start(SandboxConfig::signed_with(WEBHOOK_SECRET))
        .await
        .expect("sandbox");
    let admin = sandbox.admin();
    let east = admin.add_location("East");
    let west = admin.add_location("West");
    for sku in ["MUG-1", "GLASS-1", "GIFT-SET"] {
        let product = admin.add_product(sku, &[(sku, Decimal::new(1000, 2))]);
        for location in [east, west] {
            admin.stock(product.variants[0].inventory_item_id, location, 0);
        }
    }
    Shop {
        sandbox,
        east,
        west,
    }
}

async fn erp() -> ErpDouble {
    let erp = ErpDouble::start().await;
    for sku in ["MUG-1", "GLASS-1", "GHOST-1"] {
        erp.add_product(sku, sku, "10.00", None);
    }
    erp.set_stock("MUG-1", "WH-EAST", 12);
    erp.set_stock("MUG-1", "WH-WEST", 5);
    erp.set_stock("GLASS-1", "WH-EAST", 40);
    erp.set_stock("GHOST-1", "WH-EAST", 3);
    erp
}

fn config(dir: &std::path::Path, shop: &Shop, erp: &ErpDouble) -> String {
    let extra = r#"
[flows.inventory]
concurrency = 2

[inventory]
poll_interval = "200ms"

[[inventory.buffers]]
erp_warehouse = "WH-WEST"
units = 1

[[inventory.bundles]]
sku = "GIFT-SET"
components = [{ sku = "MUG-1", quantity = 2 }, { sku = "GLASS-1", quantity = 4 }]
"#;
    let locations = [("WH-EAST", shop.east), ("WH-WEST", shop.west)];
    agent_toml(dir, &shop.sandbox, &erp.settings(), &locations, extra)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erp_stock_reaches_the_mapped_locations_with_buffers_bundles_and_drift_reverted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let shop = shop().await;
    let erp = erp().await;
    let agent = Agent::start(dir.path(), &config(dir.path(), &shop, &erp));
    let url = format!("http://{}/webhooks/shopify", agent.webhook_address);
    shop.sandbox
        .admin()
        .subscribe("inventory_levels/update", &url);
    let expect = |sku: &'static str, location: u64, want: i64| {
        let shop = &shop;
        move || async move { (shop.available(sku, location) == Some(want)).then_some(()) }
    };

    // First run: all stock, per mapped location, with the West buffer and the bundle.
    eventually(&agent, "MUG-1 at East = 12", expect("MUG-1", shop.east, 12)).await;
    eventually(
        &agent,
        "MUG-1 at West = 5 - 1",
        expect("MUG-1", shop.west, 4),
    )
    .await;
    eventually(
        &agent,
        "GLASS-1 at East = 40",
        expect("GLASS-1", shop.east, 40),
    )
    .await;
    eventually(
        &agent,
        "GIFT-SET at East = min(12/2, 40/4)",
        expect("GIFT-SET", shop.east, 6),
    )
    .await;
    assert_eq!(shop.available("GLASS-1", shop.west), Some(0));

    // A change in the ERP, and the bundle using it follows.
    erp.set_stock("MUG-1", "WH-EAST", 7);
    eventually(&agent, "MUG-1 at East = 7", expect("MUG-1", shop.east, 7)).await;
    eventually(
        &agent,
        "GIFT-SET at East = 3",
        expect("GIFT-SET", shop.east, 3),
    )
    .await;

    // The console's picture: our own writes came back as webhooks and left the pairs in
    // sync; the SKU Shopify does not know is failing, with a dead letter naming the cause.
    let mut control = Control::connect(&agent.socket(), true)
        .await
        .expect("control");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let rows = loop {
        let rows = inventory(&mut control).await;
        let find = |sku: &str, location: u64| {
            rows.iter()
                .find(|r| r.sku == sku && r.location == location)
                .map(|r| (r.status, r.shopify))
        };
        let mug = find("MUG-1", shop.east);
        let ghost = find("GHOST-1", shop.east);
        if mug == Some((InventoryStatus::InSync, Some(7)))
            && ghost.is_some_and(|(status, _)| status == InventoryStatus::Failing)
        {
            break rows;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the picture never settled: {rows:#?}\n{}",
            agent.stderr()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let ghost = rows.iter().find(|r| r.sku == "GHOST-1").expect("ghost");
    assert_eq!(ghost.cause.as_deref(), Some("unknown_sku"));
    let dead = match control
        .request(Request::ListDeadLetters(DeadLetterQuery {
            limit: 100,
            ..DeadLetterQuery::default()
        }))
        .await
    {
        Ok(Response::DeadLetters(page)) => page,
        other => panic!("unexpected answer: {other:?}"),
    };
    assert!(
        dead.page
            .items
            .iter()
            .any(|d| d.cause == "unknown_sku" && d.message.contains("GHOST-1")),
        "{dead:#?}"
    );

    // A hand edit raising a level the ERP owns is drift: reverted to the ERP's figure.
    let merchant = client_for(&shop.sandbox, ApiVersion::V2026_07, |_| {}).expect("client");
    let raised = merchant
        .set_inventory(&SetRequest::available(
            JobId(999_999),
            vec![SetRow {
                inventory_item_id: shop.item("MUG-1"),
                location_id: shop.east,
                quantity: 50,
                change_from_quantity: Some(7),
            }],
        ))
        .await
        .expect("hand edit");
    assert!(raised.all_applied(), "{raised:?}");
    eventually(
        &agent,
        "the hand edit reverted to 7",
        expect("MUG-1", shop.east, 7),
    )
    .await;
}
