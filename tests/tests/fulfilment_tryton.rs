//! End to end with a real Tryton: Shopify orders booked by the real `plumbd`, shipped in
//! Tryton by a clerk with the carrier and a tracking number (whole, or split into two
//! shipments), appear in the sandbox as fulfilments with that tracking, each exactly once
//! (Tryton reports a shipment again whenever it is rewritten, and every poll re-reads an
//! overlap window).

use std::time::Duration;

use plumb_agent::erp::Erp;
use plumb_tests::agent::Agent;
use plumb_tests::fulfilment::{self, Seen};
use plumb_tests::inventory::agent_toml;
use plumb_tests::sandbox::Sandbox;
use plumb_tests::sandbox::orders::OrderSpec;
use plumb_tests::tryton::{Clerk, TrytonServer};
use rust_decimal::Decimal;

const MUG: &str = "SKU-0017";
const TEE: &str = "SKU-0018";
const CARRIER: &str = "Plumb Parcel";

/// The sandbox with East (mapped to WH-EAST), both products stocked on both sides, the
/// agent between the sandbox and the shared Tryton.
struct Setup {
    _dir: tempfile::TempDir,
    server: &'static TrytonServer,
    sandbox: Sandbox,
    agent: Agent,
    east: u64,
    variants: Vec<u64>,
}

impl Setup {
    async fn start() -> Setup {
        let server = TrytonServer::shared();
        let sandbox = fulfilment::sandbox().await;
        let admin = sandbox.admin();
        let east = admin.add_location("East");
        let clerk = Clerk::new(server);
        let mut variants = Vec::new();
        for (sku, title) in [(MUG, "Mug"), (TEE, "Tee")] {
            let product = admin.add_product(title, &[(sku, Decimal::new(1250, 2))]);
            admin.stock(product.variants[0].inventory_item_id, east, 50);
            variants.push(product.variants[0].variant_id);
            clerk.inventory(sku, "WH-EAST", 50).await;
        }
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
        Setup {
            _dir: dir,
            server,
            sandbox,
            agent,
            east,
            variants,
        }
    }

    /// Places an order of `units` per product at East; waits until Tryton has booked it
    /// with its shipment, which it returns with the order id.
    async fn book(&self, units: &[i64]) -> (u64, i64) {
        let lines = self.variants.iter().copied().zip(units.iter().copied());
        let order = self
            .sandbox
            .admin()
            .place_order(&OrderSpec {
                lines: lines.filter(|(_, q)| *q > 0).collect(),
                location_id: Some(self.east),
                email: "buyer@example.com".to_owned(),
                paid: true,
            })
            .expect("place");
        let erp = self.server.connector();
        let clerk = Clerk::new(self.server);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            if erp.sales_order(order).await.expect("read").is_some()
                && let Some(shipment) = clerk.shipments_of(order).await.first()
            {
                return (order, *shipment);
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the order was not booked with a shipment\n{}",
                self.agent.stderr()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    fn fulfilments(&self, order: u64) -> Vec<Seen> {
        fulfilment::fulfilments(&self.sandbox, order)
    }

    async fn settle(&self, order: u64, count: usize) -> Vec<Seen> {
        let quiet = Duration::from_secs(2);
        fulfilment::settle(&self.agent, &self.sandbox, order, count, quiet).await
    }
}

/// A fulfilment from East with the carrier and `number`.
fn tracked(setup: &Setup, number: &str, units: i64) -> Seen {
    Seen {
        location: setup.east,
        tracking: vec![(Some(CARRIER.to_owned()), Some(number.to_owned()))],
        units,
        notify_customer: false,
    }
}

/// One test, one shop: the sandboxes of two tests would give their orders the same ids,
/// and the shared Tryton would hold them as one sale.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sales_shipped_in_tryton_whole_or_split_become_one_fulfilment_per_shipment() {
    let setup = Setup::start().await;
    let clerk = Clerk::new(setup.server);

    // Shipped whole.
    let (order, shipment) = setup.book(&[3, 0]).await;
    assert!(
        setup.fulfilments(order).is_empty(),
        "nothing is fulfilled before Tryton ships"
    );
    clerk.ship(shipment, "1ZTRYTON0001").await;
    let found = setup.settle(order, 1).await;
    assert_eq!(found, vec![tracked(&setup, "1ZTRYTON0001", 3)]);
    assert_eq!(status(&setup, order), Some("FULFILLED"));

    // Split: one mug leaves first; the other mug and the tee follow in the original
    // shipment.
    let (order, shipment) = setup.book(&[2, 1]).await;
    let first = clerk.split(shipment, &[(MUG, 1)]).await;
    clerk.ship(first, "1ZTRYPART01").await;
    let found = setup.settle(order, 1).await;
    assert_eq!(found, vec![tracked(&setup, "1ZTRYPART01", 1)]);
    assert_eq!(status(&setup, order), Some("PARTIALLY_FULFILLED"));
    clerk.ship(shipment, "1ZTRYPART02").await;
    let found = setup.settle(order, 2).await;
    assert_eq!(found[1], tracked(&setup, "1ZTRYPART02", 2));
    assert_eq!(status(&setup, order), Some("FULFILLED"));
}

fn status(setup: &Setup, order: u64) -> Option<&'static str> {
    setup
        .sandbox
        .admin()
        .order(order)
        .map(|o| o.fulfillment_status())
}
