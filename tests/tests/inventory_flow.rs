//! The inventory flow's push path in-process, its queue driven by the test: compare-and-
//! swap gone stale, lost responses, and the oversell race against the sandbox and the ERP
//! double.

use std::sync::Arc;
use std::time::Duration;

use plumb_agent::clock::Clock;
use plumb_agent::config::{Config, SystemSecrets};
use plumb_agent::erp::Erp;
use plumb_agent::flows::inventory::compare::{compare_all, missing_locations};
use plumb_agent::flows::inventory::poller::poll_once;
use plumb_agent::flows::{FlowContext, InventoryHandler};
use plumb_agent::store::{InventoryRecord, Store, StoreSettings};
use plumb_agent::worker::Handler;
use plumb_common::protocol::{
    DeadLetterQuery, DeadLetterSelection, DeadLetterSummary, InventoryStatus,
};
use plumb_common::{ErrorClass, FlowKind, Timestamp};
use plumb_tests::erp::double::ErpDouble;
use plumb_tests::sandbox::orders::OrderSpec;
use plumb_tests::sandbox::{ApiVersion, FaultConfig, Sandbox, SandboxConfig};
use plumb_tests::shopify::client_for;
use rust_decimal::Decimal;

struct Harness {
    context: FlowContext,
    erp_connector: Arc<dyn Erp>,
    handler: InventoryHandler,
    sandbox: Sandbox,
    erp: ErpDouble,
    location: u64,
    item: u64,
    variant: u64,
    _dir: tempfile::TempDir,
}

/// MUG-1 in the ERP's WH-EAST with `stock`, mapped to one sandbox location stocked with 0;
/// the first poll and push already done.
async fn harness(stock: i64) -> Harness {
    harness_with(stock, "").await
}

/// [`harness`], with `extra` TOML appended to the configuration.
async fn harness_with(stock: i64, extra: &str) -> Harness {
    let dir = tempfile::tempdir().expect("tempdir");
    let sandbox = Sandbox::start(SandboxConfig::default())
        .await
        .expect("sandbox");
    let admin = sandbox.admin();
    let location = admin.add_location("East");
    let product = admin.add_product("Mug", &[("MUG-1", Decimal::new(1000, 2))]);
    let (item, variant) = (
        product.variants[0].inventory_item_id,
        product.variants[0].variant_id,
    );
    admin.stock(item, location, 0);
    let erp = ErpDouble::start().await;
    erp.add_product("MUG-1", "Mug", "10.00", None);
    erp.set_stock("MUG-1", "WH-EAST", stock);
    let text = format!(
        "[[locations]]\nerp_warehouse = \"WH-EAST\"\nshopify_location = {location}\n{extra}"
    );
    let config = Config::from_toml_str(&text, &SystemSecrets).expect("config");
    let clock = Clock::tokio(Timestamp(1_800_000_000_000));
    let store = Store::open(
        &dir.path().join("plumb.redb"),
        StoreSettings::default(),
        clock.now(),
    )
    .expect("store");
    let context = FlowContext {
        store,
        clock,
        config: Arc::new(config),
        shopify: Some(client_for(&sandbox, ApiVersion::V2026_07, |_| {}).expect("client")),
        erp: None,
        erp_kits: Default::default(),
    };
    let harness = Harness {
        handler: InventoryHandler::new(context.clone()),
        context,
        erp_connector: Arc::new(erp.connector()),
        sandbox,
        erp,
        location,
        item,
        variant,
        _dir: dir,
    };
    harness.poll_and_push().await;
    harness
}

impl Harness {
    /// Asserts the pair is failing with `cause` and has a dead letter with that cause
    /// naming its SKU; returns the dead letter.
    async fn failing(&self, sku: &str, location: u64, cause: &str) -> DeadLetterSummary {
        let store = &self.context.store;
        let record = store.inventory(sku.into(), location).await.expect("read");
        let record = record.expect("record");
        assert_eq!(
            (record.status, record.cause.as_deref()),
            (InventoryStatus::Failing, Some(cause))
        );
        let query = DeadLetterQuery {
            limit: 100,
            ..DeadLetterQuery::default()
        };
        let dead = store.list_dead_letters(query).await.expect("dead letters");
        let letter = dead
            .page
            .items
            .into_iter()
            .find(|d| d.cause == cause && d.message.contains(sku));
        letter.unwrap_or_else(|| panic!("no dead letter {cause} for {sku}"))
    }

    /// `inventorySetQuantities` calls the sandbox executed.
    fn set_calls(&self) -> u64 {
        let stats = self.sandbox.admin().stats();
        stats
            .operations
            .iter()
            .filter(|(name, _)| name.to_lowercase().contains("inventorysetquantities"))
            .map(|(_, op)| op.executed)
            .sum()
    }

    fn shopify(&self) -> i64 {
        let level = self.sandbox.admin().level(self.item, self.location);
        level.expect("level").available
    }

    async fn record(&self) -> InventoryRecord {
        let store = &self.context.store;
        let record = store.inventory("MUG-1".into(), self.location).await;
        record.expect("read").expect("record")
    }

    async fn poll(&self) {
        poll_once(&self.context, self.erp_connector.as_ref())
            .await
            .expect("poll");
    }

    async fn poll_and_push(&self) {
        self.poll().await;
        self.push().await;
    }

    /// Runs inventory jobs as the queue would until none is left; a transient failure puts
    /// its job straight back (the queue's retry, without the wait).
    async fn push(&self) {
        let store = &self.context.store;
        for _ in 0..100 {
            let now = self.context.clock.now();
            let jobs = store
                .write(move |ctx| ctx.take(FlowKind::Inventory, 10, Duration::from_secs(60), now))
                .await
                .expect("take");
            if jobs.is_empty() {
                return;
            }
            for job in jobs {
                let (id, attempt) = (job.id, job.attempt);
                match self.handler.run(&job).await {
                    Ok(()) => store.write(move |ctx| ctx.complete(id, attempt, now)).await,
                    Err(failure) => {
                        assert_eq!(failure.class, ErrorClass::Transient, "{failure:?}");
                        store.write(move |ctx| ctx.release(id, attempt, now)).await
                    }
                }
                .expect("record outcome");
            }
        }
        panic!("the inventory queue never drained");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_level_is_reread_and_the_retry_lands() {
    let h = harness(12).await;
    assert_eq!(h.shopify(), 12);
    // Someone raises the level behind the agent's back (no webhook reaches it).
    h.sandbox.admin().stock(h.item, h.location, 15);
    h.erp.set_stock("MUG-1", "WH-EAST", 7);
    let calls = h.set_calls();
    h.poll_and_push().await;
    assert_eq!(
        h.set_calls() - calls,
        2,
        "one refused as stale, one applied"
    );
    assert_eq!(h.shopify(), 7, "the stale row was re-read and set");
    let record = h.record().await;
    assert_eq!(
        (record.status, record.shopify, record.held),
        (InventoryStatus::InSync, Some(7), 0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_responses_are_replayed_under_the_same_key_and_land_once() {
    let h = harness(20).await;
    let admin = h.sandbox.admin();
    admin.set_faults(FaultConfig {
        response_lost: 0.5,
        server_error_after_apply: 0.2,
        ..FaultConfig::default()
    });
    for stock in [18, 11, 4, 9] {
        h.erp.set_stock("MUG-1", "WH-EAST", stock);
        h.poll_and_push().await;
        assert_eq!(h.shopify(), stock);
        let record = h.record().await;
        assert_eq!((record.status, record.held), (InventoryStatus::InSync, 0));
    }
    let counters = admin.fault_counters();
    assert!(
        counters.response_lost > 0,
        "no response was lost: {counters:?}"
    );
}

/// An order takes 2 units in Shopify while a push computed from the old level is under
/// way: the push goes stale, and the retry must not put the 2 units on sale again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_during_a_push_is_never_sold_twice() {
    let h = harness(10).await;
    assert_eq!(h.shopify(), 10);
    // A receipt in the ERP: the push of 12 is computed against Shopify's 10 and sent; the
    // sandbox holds the request 400 ms before running it...
    h.erp.set_stock("MUG-1", "WH-EAST", 12);
    h.poll().await;
    h.sandbox.admin().set_faults(FaultConfig {
        latency: 1.0,
        latency_ms: Some(400),
        ..FaultConfig::default()
    });
    let sets = h.set_calls();
    let ((), (order, during)) = tokio::join!(h.push(), async {
        // ...and a customer buys 2 while it is in flight.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let order = h.sandbox.admin().place_order(&OrderSpec {
            lines: vec![(h.variant, 2)],
            location_id: Some(h.location),
            email: "buyer@example.com".into(),
            paid: true,
        });
        (order.expect("order"), h.shopify())
    });
    assert_eq!(during, 8, "the order landed while the push was in flight");
    assert!(
        h.set_calls() - sets >= 2,
        "the push went stale and was redone"
    );
    h.sandbox.admin().set_faults(FaultConfig::default());
    assert_eq!(
        h.shopify(),
        10,
        "12 in the ERP, 2 sold and not imported: 10 sellable"
    );
    assert_eq!(h.record().await.held, 2);

    // The orders flow records the order: the held units are now attributed, not doubled.
    let location = h.location;
    let lines = vec![("MUG-1".to_owned(), location, 2)];
    h.context
        .store
        .write(move |ctx| ctx.record_unimported_order(order, &lines))
        .await
        .expect("record order");
    h.push().await;
    assert_eq!(h.shopify(), 10);
    assert_eq!(h.record().await.held, 0);

    // The ERP imports and ships it: its stock drops by 2 as the order stops counting.
    h.erp.set_stock("MUG-1", "WH-EAST", 10);
    h.context
        .store
        .write(move |ctx| ctx.mark_order_imported(order))
        .await
        .expect("imported");
    h.poll_and_push().await;
    assert_eq!(h.shopify(), 10);
    assert_eq!(h.record().await.status, InventoryStatus::InSync);
}

/// A SKU Shopify does not know is a failing pair and a dead letter naming it; once the
/// product exists, retrying the dead letter pushes the pair.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_sku_is_a_dead_letter_that_a_retry_pushes_once_fixed() {
    let h = harness(5).await;
    h.erp.add_product("LAMP-1", "Lamp", "30.00", None);
    h.erp.set_stock("LAMP-1", "WH-EAST", 6);
    h.poll_and_push().await;
    let letter = h.failing("LAMP-1", h.location, "unknown_sku").await;
    let store = &h.context.store;
    assert!(letter.message.contains("LAMP-1"), "{letter:?}");
    assert!(store.pending_pushes(10).await.expect("read").is_empty());

    // The merchant creates the product; the engineer retries the dead letter.
    let admin = h.sandbox.admin();
    let product = admin.add_product("Lamp", &[("LAMP-1", Decimal::new(3000, 2))]);
    let item = product.variants[0].inventory_item_id;
    admin.stock(item, h.location, 0);
    let selection = DeadLetterSelection::Ids {
        ids: vec![letter.id],
    };
    let now = h.context.clock.now();
    let retried = store
        .write(move |ctx| ctx.retry_dead(&selection, now))
        .await
        .expect("retry");
    assert_eq!(retried, 1);
    h.push().await;
    assert_eq!(admin.level(item, h.location).map(|l| l.available), Some(6));
    let lamp = store
        .inventory("LAMP-1".into(), h.location)
        .await
        .expect("read");
    assert_eq!(lamp.map(|r| r.status), Some(InventoryStatus::InSync));
}

/// After an outage (webhooks missed), the start-up comparison reads Shopify: a level
/// raised outside Plumb is set back, a level that dropped is taken as sold and not raised.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_comparison_after_an_outage_lowers_but_never_raises_into_a_sale() {
    let h = harness(10).await;
    let admin = h.sandbox.admin();
    let glass = admin.add_product("Glass", &[("GLASS-1", Decimal::new(500, 2))]);
    let glass_item = glass.variants[0].inventory_item_id;
    admin.stock(glass_item, h.location, 0);
    h.erp.add_product("GLASS-1", "Glass", "5.00", None);
    h.erp.set_stock("GLASS-1", "WH-EAST", 6);
    h.poll_and_push().await;
    assert_eq!(
        admin.level(glass_item, h.location).map(|l| l.available),
        Some(6)
    );

    // While the agent is away: MUG-1 sells 3, GLASS-1 is raised by hand to 20.
    admin.stock(h.item, h.location, 7);
    admin.stock(glass_item, h.location, 20);
    let off = compare_all(&h.context).await.expect("compare");
    assert_eq!(off, 2);
    h.push().await;
    assert_eq!(
        h.shopify(),
        7,
        "the 3 units gone are held back, not put on sale again"
    );
    assert_eq!(h.record().await.held, 3);
    assert_eq!(
        admin.level(glass_item, h.location).map(|l| l.available),
        Some(6)
    );
    assert_eq!(
        compare_all(&h.context).await.expect("compare"),
        0,
        "in line now"
    );
}

/// A warehouse mapped to a location Shopify does not have: found at start, and each of its
/// pairs fails visibly with a dead letter instead of being skipped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_location_shopify_does_not_have_is_reported_not_skipped() {
    let extra = "[[locations]]\nerp_warehouse = \"WH-WEST\"\nshopify_location = 987654321\n";
    let h = harness_with(4, extra).await;
    assert_eq!(
        missing_locations(&h.context).await.expect("locations"),
        vec![987_654_321]
    );
    h.erp.set_stock("MUG-1", "WH-WEST", 8);
    h.poll_and_push().await;
    assert_eq!(h.shopify(), 4, "the mapped location is unaffected");
    h.failing("MUG-1", 987_654_321, "not_stocked_at_location")
        .await;
}

/// A first run reads a catalogue larger than one chunk chunk by chunk: every SKU gets its
/// target, the cursor is stored after the last chunk, and the next poll reads only what
/// changed since; a change to more moves than one page of the ERP's answer is read whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_run_larger_than_a_chunk_stores_every_sku_then_polls_changes() {
    const SKUS: usize = 5_500;
    let dir = tempfile::tempdir().expect("tempdir");
    let erp = ErpDouble::start().await;
    erp.seed_catalog("CHUNK", SKUS, &["WH-EAST"], 3);
    let location = 77;
    let text =
        format!("[[locations]]\nerp_warehouse = \"WH-EAST\"\nshopify_location = {location}\n");
    let config = Config::from_toml_str(&text, &SystemSecrets).expect("config");
    let clock = Clock::tokio(Timestamp(1_800_000_000_000));
    let store = Store::open(
        &dir.path().join("plumb.redb"),
        StoreSettings::default(),
        clock.now(),
    )
    .expect("store");
    let context = FlowContext {
        store: store.clone(),
        clock,
        config: Arc::new(config),
        shopify: None,
        erp: None,
        erp_kits: Default::default(),
    };
    let connector = erp.connector();
    let marked = poll_once(&context, &connector).await.expect("first run");
    assert_eq!(marked, SKUS, "every SKU waits to be pushed");
    for n in [0, 1_999, 2_000, 5_499] {
        let sku = format!("CHUNK-{n:05}");
        let record = store.inventory(sku.clone(), location).await.expect("read");
        assert_eq!(record.map(|r| (r.erp, r.target)), Some((3, 3)), "{sku}");
    }
    let cursor = store
        .cursor(plumb_agent::flows::inventory::poller::CURSOR.to_owned())
        .await
        .expect("cursor");
    assert!(cursor.is_some(), "the cursor is stored once all chunks are");

    erp.set_catalog_stock("CHUNK", 1, &["WH-EAST"], 9);
    let reads_before = erp.calls("model.product.product.read");
    assert_eq!(poll_once(&context, &connector).await.expect("poll"), 1);
    let record = store
        .inventory("CHUNK-00000".into(), location)
        .await
        .expect("read");
    assert_eq!(record.map(|r| r.erp), Some(9));
    assert!(
        erp.calls("model.product.product.read") - reads_before < 10,
        "the next poll reads the change, not the catalogue"
    );

    // A bulk change: 5,500 moves at once, more than one page of moves (5,000).
    erp.set_catalog_stock("CHUNK", SKUS, &["WH-EAST"], 4);
    assert_eq!(poll_once(&context, &connector).await.expect("poll"), SKUS);
    let last = store
        .inventory("CHUNK-05499".into(), location)
        .await
        .expect("read");
    assert_eq!(last.map(|r| r.erp), Some(4));
}
