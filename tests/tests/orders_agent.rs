//! The orders flow in the real `plumbd`, between the Shopify sandbox and the ERP double:
//! duplicates, order of deliveries, bad input, a crash after the 200, edits, compliance,
//! and the backfill that catches lost webhooks.

use std::time::Duration;

use plumb_common::protocol::{
    DeadLetterQuery, InventoryQuery, InventoryRow, InventoryStatus, Request, Response,
};
use plumb_tests::agent::{Agent, Control, WEBHOOK_SECRET, eventually};
use plumb_tests::erp::double::{ErpDouble, Fault};
use plumb_tests::inventory::agent_toml;
use plumb_tests::sandbox::orders::OrderSpec;
use plumb_tests::sandbox::payloads;
use plumb_tests::sandbox::{Sandbox, SandboxConfig};
use plumb_tests::webhooks::{Delivery, Sender};
use rust_decimal::Decimal;

const SKU: &str = "MUG-1";

/// A sandbox shop with one location mapped to WH-EAST and one product, the ERP double with
/// that product, and the agent between them.
struct Setup {
    _dir: tempfile::TempDir,
    sandbox: Sandbox,
    double: ErpDouble,
    agent: Agent,
    location: u64,
    variant: u64,
    sender: Sender,
}

impl Setup {
    async fn start(extra: &str) -> Setup {
        let sandbox = Sandbox::start(SandboxConfig {
            app_secret: WEBHOOK_SECRET.to_owned(),
            ..SandboxConfig::default()
        })
        .await
        .expect("sandbox");
        let admin = sandbox.admin();
        let location = admin.add_location("East");
        let product = admin.add_product("Mug", &[(SKU, Decimal::new(1250, 2))]);
        let variant = product.variants[0].variant_id;
        admin.stock(product.variants[0].inventory_item_id, location, 100);
        let double = ErpDouble::start().await;
        double.add_product(SKU, "Mug", "12.50", None);
        double.set_stock(SKU, "WH-EAST", 100);
        let dir = tempfile::tempdir().expect("tempdir");
        let toml = agent_toml(
            dir.path(),
            &sandbox,
            &double.settings(),
            &[("WH-EAST", location)],
            extra,
        );
        let agent = Agent::start(dir.path(), &toml);
        let sender = Sender::new(&agent.webhook_address, WEBHOOK_SECRET.as_bytes());
        Setup {
            _dir: dir,
            sandbox,
            double,
            agent,
            location,
            variant,
            sender,
        }
    }

    /// Places an order in the sandbox (no webhook reaches the agent unless subscribed).
    fn place(&self, quantity: i64, email: &str) -> u64 {
        self.sandbox
            .admin()
            .place_order(&OrderSpec {
                lines: vec![(self.variant, quantity)],
                location_id: Some(self.location),
                email: email.to_owned(),
                paid: true,
            })
            .expect("place the order")
    }

    /// The body Shopify sends for `topic` about the order as it is now.
    fn body(&self, order: u64, topic: &str) -> Vec<u8> {
        let payload = self
            .sandbox
            .admin()
            .with_state(|state| payloads::order(state, order, topic));
        serde_json::to_vec(&payload).expect("serialize")
    }

    async fn deliver(&self, topic: &str, event_id: &str, body: Vec<u8>) {
        let status = self
            .sender
            .send(&Delivery {
                topic: topic.to_owned(),
                event_id: event_id.to_owned(),
                body,
            })
            .await
            .expect("deliver");
        assert_eq!(status, 200, "{topic} {event_id}\n{}", self.agent.stderr());
    }

    /// The ERP double's sales whose reference names the Shopify order.
    fn sales_of(&self, order: u64) -> usize {
        let reference = format!("shopify:{order}");
        self.double
            .sales()
            .iter()
            .filter(|sale| sale.reference == reference)
            .count()
    }

    async fn control(&self) -> Control {
        Control::connect(&self.agent.socket(), false)
            .await
            .expect("connect to the control socket")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_deliveries_of_one_order_book_one_erp_order() {
    // Eight jobs at once, so the deliveries race each other in the flow too.
    let setup = Setup::start("\n[flows.orders]\nconcurrency = 8\n").await;
    let order = setup.place(2, "buyer@example.com");
    let topics = ["orders/create", "orders/paid", "orders/updated"];
    // 100 deliveries at once: 40 repeat one event (the receiver drops them), 60 are
    // distinct events of three topics (each reaches the flow).
    let deliveries = (0..100).map(|i| {
        let topic = topics[i % 3];
        let event = if i < 40 {
            "event-same".to_owned()
        } else {
            format!("event-{i}")
        };
        let body = setup.body(order, topic);
        let setup = &setup;
        async move { setup.deliver(topic, &event, body).await }
    });
    futures::future::join_all(deliveries).await;
    setup.agent.wait_drained().await;
    assert_eq!(setup.sales_of(order), 1, "{:#?}", setup.double.sales());
    let sale = setup.double.sales().pop().expect("the sale");
    assert_eq!(
        sale.lines,
        vec![(SKU.to_owned(), Decimal::from(2), Decimal::new(1250, 2))]
    );
    assert_eq!(setup.double.calls("model.sale.sale.create"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paid_before_create_books_one_order() {
    let setup = Setup::start("").await;
    let order = setup.place(1, "early@example.com");
    setup
        .deliver("orders/paid", "paid-1", setup.body(order, "orders/paid"))
        .await;
    eventually(&setup.agent, "the paid payload books the order", || {
        setup.sales_of(order) == 1
    })
    .await;
    setup
        .deliver(
            "orders/create",
            "create-1",
            setup.body(order, "orders/create"),
        )
        .await;
    setup.agent.wait_drained().await;
    assert_eq!(setup.sales_of(order), 1, "{:#?}", setup.double.sales());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_order_deliveries_are_refused_or_dead_lettered_with_their_reason() {
    let setup = Setup::start("").await;
    // Forged: refused, nothing stored.
    let forged = Delivery {
        topic: "orders/create".to_owned(),
        event_id: "forged".to_owned(),
        body: br#"{"id": 1}"#.to_vec(),
    };
    let status = setup
        .sender
        .send_signed(&forged, "bm90IHRoZSByaWdodCBzaWduYXR1cmU=")
        .await
        .expect("send");
    assert_eq!(status, 401);
    // Signed garbage and a signed body of the wrong shape: kept as dead letters.
    setup
        .deliver(
            "orders/create",
            "garbage",
            b"<html>not json</html>".to_vec(),
        )
        .await;
    let (_, detail) = setup.agent.dead_letter("malformed_payload").await;
    assert!(detail.payload.contains("not json"), "{detail:?}");
    assert!(
        detail.summary.message.contains("orders/create") || !detail.summary.message.is_empty(),
        "{detail:?}"
    );
    setup
        .deliver(
            "orders/paid",
            "shape",
            br#"{"id": "not a number"}"#.to_vec(),
        )
        .await;
    setup.agent.wait_drained().await;
    let mut control = setup.control().await;
    let Response::DeadLetters(page) = control
        .request(Request::ListDeadLetters(DeadLetterQuery {
            cause: Some("malformed_payload".to_owned()),
            limit: 10,
            ..DeadLetterQuery::default()
        }))
        .await
        .expect("list")
    else {
        panic!("not a page");
    };
    assert_eq!(page.page.items.len(), 2, "{page:#?}");
    assert!(
        setup
            .agent
            .stderr()
            .lines()
            .all(|line| !line.contains("forged")),
        "the forged delivery left a trace beyond shop and topic"
    );
    // An order with a SKU the ERP does not have: a dead letter naming it, nothing booked.
    let admin = setup.sandbox.admin();
    let other = admin.add_product("Plate", &[("PLATE-9", Decimal::new(500, 2))]);
    admin.stock(other.variants[0].inventory_item_id, setup.location, 5);
    let order = admin
        .place_order(&OrderSpec {
            lines: vec![(setup.variant, 1), (other.variants[0].variant_id, 1)],
            location_id: Some(setup.location),
            email: "plates@example.com".to_owned(),
            paid: true,
        })
        .expect("order");
    setup
        .deliver("orders/create", "plate", setup.body(order, "orders/create"))
        .await;
    let (summary, _) = setup.agent.dead_letter("unknown_sku").await;
    assert!(summary.message.contains("PLATE-9"), "{summary:?}");
    assert_eq!(setup.sales_of(order), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_acknowledged_before_a_crash_reaches_the_erp_after_restart() {
    let mut setup = Setup::start("").await;
    // The ERP is down: the job is accepted (200) and retried, never lost.
    setup.double.inject("*", Fault::Status(503), usize::MAX);
    let order = setup.place(3, "crash@example.com");
    setup
        .deliver(
            "orders/create",
            "crash-1",
            setup.body(order, "orders/create"),
        )
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    setup.agent.kill();
    assert_eq!(setup.sales_of(order), 0);
    setup.double.heal();
    setup.agent.restart();
    eventually(
        &setup.agent,
        "the order reaches the ERP after the restart",
        || setup.sales_of(order) == 1,
    )
    .await;
    setup.agent.wait_drained().await;
    assert_eq!(setup.sales_of(order), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_after_booking_is_a_dead_letter_saying_what_changed() {
    let setup = Setup::start("").await;
    let order = setup.place(1, "edit@example.com");
    setup
        .deliver(
            "orders/create",
            "edit-create",
            setup.body(order, "orders/create"),
        )
        .await;
    eventually(&setup.agent, "booked", || setup.sales_of(order) == 1).await;
    let edit = serde_json::json!({"order_edit": {
        "id": 78912328793123780u64, "order_id": order, "created_at": "2026-11-23T10:00:00Z",
        "committed_at": "2026-11-23T10:00:00Z", "notify_customer": false, "staff_note": "",
        "line_items": {"additions": [{"id": 555, "delta": 2}], "removals": []},
        "discounts": {"line_item": {"additions": [], "removals": []}},
        "shipping_lines": {"additions": [], "removals": []}
    }});
    setup
        .deliver(
            "orders/edited",
            "edit-1",
            serde_json::to_vec(&edit).expect("json"),
        )
        .await;
    let (summary, _) = setup.agent.dead_letter("order_edited_after_booking").await;
    assert!(
        summary.message.contains("line 555 x2") && summary.message.contains(&order.to_string()),
        "{summary:?}"
    );
    assert_eq!(setup.sales_of(order), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customers_redact_removes_the_buyers_data_from_stored_deliveries() {
    let setup = Setup::start("").await;
    // The ERP refuses the order: it stays stored as a dead letter, with the buyer's data.
    setup.double.inject(
        "model.sale.sale.create",
        Fault::UserError("The party is blocked".into()),
        usize::MAX,
    );
    let email = "private.person@example.com";
    let order = setup.place(1, email);
    setup
        .deliver("orders/create", "pii-1", setup.body(order, "orders/create"))
        .await;
    let (summary, detail) = setup.agent.dead_letter("erp_rejected").await;
    assert!(detail.payload.contains(email), "{detail:?}");
    let redact = serde_json::json!({
        "shop_id": 954889, "shop_domain": "plumb-test.myshopify.com",
        "customer": {"id": 191167, "email": email, "phone": "555-625-1199"},
        "orders_to_redact": [order]
    });
    setup
        .deliver(
            "customers/redact",
            "redact-1",
            serde_json::to_vec(&redact).expect("json"),
        )
        .await;
    setup.agent.wait_drained().await;
    let mut control = setup.control().await;
    let Response::DeadLetter(after) = control
        .request(Request::ShowDeadLetter { id: summary.id })
        .await
        .expect("show")
    else {
        panic!("not a dead letter");
    };
    assert!(!after.payload.contains(email), "{}", after.payload);
    assert!(
        after.payload.contains(&order.to_string()),
        "the order id stays, so the books can still be put right: {}",
        after.payload
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_backfill_books_an_order_whose_webhooks_were_lost() {
    let setup =
        Setup::start("\n[orders]\nbackfill_interval = \"1s\"\nbackfill_overlap = \"10s\"\n").await;
    // The first poll only sets the cursor; orders after it are caught.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let order = setup.place(2, "lost@example.com");
    eventually(&setup.agent, "the backfill books the order", || {
        setup.sales_of(order) == 1
    })
    .await;
    // Cancelled in Shopify, webhook lost too: the backfill cancels it in the ERP.
    setup
        .sandbox
        .admin()
        .cancel_order(order, true)
        .expect("cancel");
    // The sale is processing, so Tryton cancels its pending shipment (and keeps the sale
    // for someone to close).
    eventually(
        &setup.agent,
        "the backfill cancels the order's shipment",
        || setup.double.calls("model.stock.shipment.out.cancel") == 1,
    )
    .await;
    assert_eq!(setup.sales_of(order), 1);
}

/// The inventory row of the test SKU at the test location, once it exists.
async fn inventory_row(setup: &Setup) -> Option<InventoryRow> {
    let mut control = setup.control().await;
    match control
        .request(Request::ListInventory(InventoryQuery {
            limit: 10,
            ..InventoryQuery::default()
        }))
        .await
        .expect("list inventory")
    {
        Response::Inventory(page) => page
            .items
            .into_iter()
            .find(|row| row.sku == SKU && row.location == setup.location),
        other => panic!("list inventory: {other:?}"),
    }
}

/// Waits until the row's target and Shopify's level are both `want`, and the agent has
/// seen Shopify at it (its start-up comparison or a push done).
async fn settles_at(setup: &Setup, want: i64, what: &str) {
    let item = setup
        .sandbox
        .admin()
        .item_by_sku(SKU)
        .expect("the mug's inventory item");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let row = inventory_row(setup).await;
        let level = setup
            .sandbox
            .admin()
            .level(item, setup.location)
            .map(|l| l.available);
        let seen = row.as_ref().is_some_and(|r| {
            r.target == want && r.shopify == Some(want) && r.status == InventoryStatus::InSync
        });
        if seen && level == Some(want) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: row {row:?}, Shopify {level:?}, want {want}\n{}",
            setup.agent.stderr()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_the_erp_has_not_booked_holds_its_units_until_it_is_booked() {
    let setup = Setup::start("\n[inventory]\npoll_interval = \"200ms\"\n").await;
    settles_at(&setup, 100, "first sync").await;
    // The ERP refuses sales for now: the order waits in the queue, its 3 units sold in
    // Shopify and unknown to the ERP's stock.
    setup
        .double
        .inject("model.sale.sale.create", Fault::Status(503), usize::MAX);
    let order = setup.place(3, "window@example.com");
    setup
        .deliver(
            "orders/create",
            "window-1",
            setup.body(order, "orders/create"),
        )
        .await;
    settles_at(&setup, 97, "ERP 100 less 3 units not imported").await;
    // Booked: the ERP's own figure now counts the order, and the units stop being held,
    // so they are not taken off twice; and not before the agent has read that figure, or
    // Shopify would show the 3 units again until the next poll.
    let highest = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(i64::MIN));
    let watching = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let watcher = {
        let (admin, highest, watching) = (setup.sandbox.admin(), highest.clone(), watching.clone());
        let item = admin.item_by_sku(SKU).expect("the mug's inventory item");
        let location = setup.location;
        std::thread::spawn(move || {
            while watching.load(std::sync::atomic::Ordering::Relaxed) {
                if let Some(level) = admin.level(item, location) {
                    highest.fetch_max(level.available, std::sync::atomic::Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        })
    };
    setup.double.heal();
    eventually(&setup.agent, "booked", || setup.sales_of(order) == 1).await;
    settles_at(&setup, 97, "ERP 97 once the order is booked, nothing held").await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    settles_at(&setup, 97, "still 97 after more polls").await;
    watching.store(false, std::sync::atomic::Ordering::Relaxed);
    watcher.join().expect("the level watcher");
    assert_eq!(
        highest.load(std::sync::atomic::Ordering::Relaxed),
        97,
        "Shopify showed more than the 97 sellable units between the booking and the poll"
    );
}
