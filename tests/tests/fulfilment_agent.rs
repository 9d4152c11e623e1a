//! The fulfilment flow in the real `plumbd`, between the Shopify sandbox and the ERP double:
//! an order booked by the orders flow, shipped in the ERP (whole, in parts), becomes
//! fulfilments with tracking exactly once, whatever the lost answers; what cannot be
//! fulfilled is a dead letter with its reason.

use std::time::Duration;

use plumb_tests::agent::{Agent, WEBHOOK_SECRET, eventually};
use plumb_tests::erp::double::ErpDouble;
use plumb_tests::fulfilment::{self, Seen};
use plumb_tests::inventory::agent_toml;
use plumb_tests::sandbox::Sandbox;
use plumb_tests::sandbox::faults::FaultConfig;
use plumb_tests::sandbox::orders::OrderSpec;
use plumb_tests::sandbox::payloads;
use plumb_tests::webhooks::{Delivery, Sender};
use rust_decimal::Decimal;

const MUG: &str = "MUG-1";
const TEE: &str = "TEE-1";

/// Polls fast and retries fast, so the tests wait for little.
/// Ends in `[fulfilment]`, so a test's extra keys land there.
const FAST: &str = "\n[queue]\nbackoff_base = \"50ms\"\nbackoff_cap = \"200ms\"\n\
                    [fulfilment]\npoll_interval = \"100ms\"\n";

/// A sandbox shop with East (mapped to WH-EAST) and North (not mapped), two products
/// stocked at both; the ERP double with them; the agent between.
struct Setup {
    _dir: tempfile::TempDir,
    sandbox: Sandbox,
    double: ErpDouble,
    agent: Agent,
    east: u64,
    north: u64,
    mug: u64,
    tee: u64,
    sender: Sender,
}

impl Setup {
    async fn start(extra: &str) -> Setup {
        let sandbox = fulfilment::sandbox().await;
        let admin = sandbox.admin();
        let east = admin.add_location("East");
        let north = admin.add_location("North");
        let double = ErpDouble::start().await;
        let mut variants = Vec::new();
        for (sku, title) in [(MUG, "Mug"), (TEE, "Tee")] {
            let product = admin.add_product(title, &[(sku, Decimal::new(1250, 2))]);
            let variant = &product.variants[0];
            admin.stock(variant.inventory_item_id, east, 100);
            admin.stock(variant.inventory_item_id, north, 100);
            variants.push(variant.variant_id);
            double.add_product(sku, title, "12.50", None);
            double.set_stock(sku, "WH-EAST", 100);
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let toml = agent_toml(
            dir.path(),
            &sandbox,
            &double.settings(),
            &[("WH-EAST", east)],
            &format!("{FAST}{extra}"),
        );
        let agent = Agent::start(dir.path(), &toml);
        let sender = Sender::new(&agent.webhook_address, WEBHOOK_SECRET.as_bytes());
        Setup {
            _dir: dir,
            sandbox,
            double,
            agent,
            east,
            north,
            mug: variants[0],
            tee: variants[1],
            sender,
        }
    }

    /// Places an order at `location` and delivers its `orders/create` (with its id replaced
    /// by `as_id`, if given); waits until the ERP has booked it. Returns the id booked.
    async fn book(&self, lines: Vec<(u64, i64)>, location: u64, as_id: Option<u64>) -> u64 {
        let admin = self.sandbox.admin();
        let placed = admin
            .place_order(&OrderSpec {
                lines,
                location_id: Some(location),
                email: "buyer@example.com".to_owned(),
                paid: true,
            })
            .expect("place the order");
        let mut payload = admin.with_state(|state| payloads::order(state, placed, "orders/create"));
        let order = as_id.unwrap_or(placed);
        payload["id"] = order.into();
        let status = self
            .sender
            .send(&Delivery {
                topic: "orders/create".to_owned(),
                event_id: format!("create-{order}"),
                body: serde_json::to_vec(&payload).expect("serialize"),
            })
            .await
            .expect("deliver");
        assert_eq!(status, 200, "{}", self.agent.stderr());
        let reference = format!("shopify:{order}");
        eventually(
            &self.agent,
            "the ERP books the order (shipment made)",
            || {
                self.double
                    .sales()
                    .iter()
                    .any(|s| s.reference == reference && s.state == "processing")
            },
        )
        .await;
        order
    }

    fn fulfilments(&self, order: u64) -> Vec<Seen> {
        fulfilment::fulfilments(&self.sandbox, order)
    }

    async fn settle(&self, order: u64, count: usize) -> Vec<Seen> {
        let quiet = Duration::from_millis(500);
        fulfilment::settle(&self.agent, &self.sandbox, order, count, quiet).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shipped_order_becomes_one_fulfilment_with_tracking() {
    let setup = Setup::start("notify_customer = true\n").await;
    let order = setup.book(vec![(setup.mug, 3)], setup.east, None).await;
    setup.double.ship(order, "1ZSHIP0001");
    let found = setup.settle(order, 1).await;
    assert_eq!(
        found[0],
        Seen {
            location: setup.east,
            tracking: vec![(Some("Plumb Parcel".into()), Some("1ZSHIP0001".into()))],
            units: 3,
            notify_customer: true,
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_and_split_shipments_fulfil_each_part_once() {
    let setup = Setup::start("").await;
    let order = setup
        .book(vec![(setup.mug, 2), (setup.tee, 1)], setup.east, None)
        .await;
    setup.double.ship_part(order, &[(MUG, 1)], "1ZPART0001");
    let first = setup.settle(order, 1).await;
    assert_eq!(
        (first[0].numbers(), first[0].units),
        (vec!["1ZPART0001"], 1)
    );
    setup
        .double
        .ship_part(order, &[(MUG, 1), (TEE, 1)], "1ZPART0002");
    let both = setup.settle(order, 2).await;
    assert_eq!((both[1].numbers(), both[1].units), (vec!["1ZPART0002"], 2));
    let status = setup
        .sandbox
        .admin()
        .order(order)
        .map(|o| o.fulfillment_status());
    assert_eq!(status, Some("FULFILLED"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tracking_number_changed_after_the_fulfilment_updates_it_and_fulfils_nothing_again() {
    let setup = Setup::start("").await;
    let order = setup.book(vec![(setup.mug, 3)], setup.east, None).await;
    let shipment = setup.double.ship_part(order, &[(MUG, 1)], "1ZFIRST001");
    setup.settle(order, 1).await;
    // Corrected in the ERP: the fulfilment's tracking follows (the ERP owns tracking), and
    // nothing is fulfilled twice (Shopify would take it: two units are left).
    setup.double.set_tracking(shipment, "1ZSECOND01");
    eventually(
        &setup.agent,
        "the fulfilment carries the new number",
        || {
            setup
                .fulfilments(order)
                .first()
                .is_some_and(|f| f.numbers() == vec!["1ZSECOND01"])
        },
    )
    .await;
    let found = setup.settle(order, 1).await;
    assert_eq!(
        (found[0].numbers(), found[0].units),
        (vec!["1ZSECOND01"], 1)
    );
    assert_eq!(setup.agent.status().await.dead_letters, 0);

    // Removed in the ERP: Shopify keeps the fulfilment's last tracking, so a person is told.
    setup.double.set_tracking(shipment, "");
    let (_, detail) = setup.agent.dead_letter("tracking_removed").await;
    let message = &detail.summary.message;
    assert!(message.contains("1ZSECOND01"), "{message}");
    assert_eq!(setup.fulfilments(order)[0].numbers(), vec!["1ZSECOND01"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_answer_to_fulfillment_create_gives_one_fulfilment() {
    let setup = Setup::start("").await;
    let order = setup.book(vec![(setup.mug, 3)], setup.east, None).await;
    // Every mutation is applied, then its answer lost: the job fails transiently after
    // Shopify created the fulfilment, and its retry must find it rather than create again
    // (a partial shipment: Shopify would accept a second fulfilment of the units left).
    setup.sandbox.admin().set_faults(FaultConfig {
        response_lost: 1.0,
        ..FaultConfig::default()
    });
    setup.double.ship_part(order, &[(MUG, 1)], "1ZLOST0001");
    eventually(&setup.agent, "the fulfilment is created", || {
        !setup.fulfilments(order).is_empty()
    })
    .await;
    // Answers come back again; the job's retry finds what its lost attempt created.
    setup.sandbox.admin().set_faults(FaultConfig::default());
    let found = setup.settle(order, 1).await;
    assert_eq!(
        (found[0].numbers(), found[0].units),
        (vec!["1ZLOST0001"], 1)
    );
    assert!(setup.sandbox.admin().fault_counters().response_lost >= 1);
    assert!(
        setup
            .agent
            .stderr()
            .contains("shipment already fulfilled in Shopify; recorded"),
        "{}",
        setup.agent.stderr()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_and_already_fulfilled_orders_are_dead_letters() {
    let setup = Setup::start("").await;
    // Booked in the ERP under an id Shopify does not know.
    let stranger = 990_000_001;
    setup
        .book(vec![(setup.mug, 1)], setup.east, Some(stranger))
        .await;
    setup.double.ship(stranger, "1ZUNKNOWN1");
    let (summary, detail) = setup.agent.dead_letter("unknown_order").await;
    assert!(
        detail.summary.message.contains(&stranger.to_string()),
        "{summary:?} {detail:?}"
    );

    // Fulfilled by hand in Shopify before the ERP shipped it.
    let order = setup.book(vec![(setup.mug, 1)], setup.east, None).await;
    setup
        .sandbox
        .admin()
        .fulfil_order(order, None)
        .expect("fulfil by hand");
    setup.double.ship(order, "1ZTWICE001");
    let (_, detail) = setup.agent.dead_letter("already_fulfilled").await;
    assert!(
        detail.summary.message.contains(&order.to_string()),
        "{detail:?}"
    );
    assert_eq!(
        setup.fulfilments(order).len(),
        1,
        "only the one made by hand"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shipment_from_another_location_is_reported_by_default() {
    let setup = Setup::start("").await;
    // North is not mapped: the ERP books (and ships) from the default warehouse, WH-EAST.
    let order = setup.book(vec![(setup.mug, 1)], setup.north, None).await;
    setup.double.ship(order, "1ZNORTH001");
    let (_, detail) = setup.agent.dead_letter("location_mismatch").await;
    assert!(
        detail.summary.message.contains(&setup.east.to_string())
            && detail.summary.message.contains(&setup.north.to_string()),
        "{detail:?}"
    );
    assert!(setup.fulfilments(order).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shipment_from_another_location_moves_the_order_when_configured() {
    let setup = Setup::start("on_location_mismatch = \"move\"\n").await;
    let order = setup.book(vec![(setup.mug, 2)], setup.north, None).await;
    setup.double.ship(order, "1ZMOVED001");
    let found = setup.settle(order, 1).await;
    assert_eq!(
        (found[0].location, found[0].numbers(), found[0].units),
        (setup.east, vec!["1ZMOVED001"], 2)
    );
}
