//! The reconciler end to end: the real `plumbd` between the Shopify sandbox and the ERP
//! double. Every kind of stock and catalogue drift is seeded; a dry run must find, count
//! and list exactly those (and nothing else) while writing nothing; the repairs (a
//! selection from a stored run, then a repairing run) must bring inventory parity to
//! 100 %; and the schedule must queue passes on its own.

use std::collections::BTreeSet;

use plumb_common::FlowKind;
use plumb_common::protocol::{
    LatestParity, MismatchQuery, MismatchSelection, ParityDimension, Request, Response, RunScope,
    RunState, RunTrigger,
};
use plumb_tests::agent::{Agent, Control};
use plumb_tests::erp::double::ErpDouble;
use plumb_tests::reconcile::{
    ask, eventually, finished_run, live_jobs, mismatches, row, rows, runs, shop, start_agent,
};
use plumb_tests::sandbox::Sandbox;
use rust_decimal::Decimal;

struct Setup {
    _dir: tempfile::TempDir,
    sandbox: Sandbox,
    _erp: ErpDouble,
    agent: Agent,
    east: u64,
    west: u64,
    popup: u64,
}

impl Setup {
    fn price(&self, sku: &str) -> Option<Decimal> {
        let variant = self.sandbox.admin().variant_by_sku(sku)?;
        self.sandbox
            .admin()
            .with_state(|state| state.variants.get(&variant).map(|v| v.price))
    }

    fn available(&self, sku: &str, location: u64) -> Option<i64> {
        let admin = self.sandbox.admin();
        admin
            .level(admin.item_by_sku(sku)?, location)
            .map(|l| l.available)
    }
}

/// SKUs in both systems, stocked at both locations, all in sync once the flow ran.
const BOTH: [&str; 5] = ["RC-OK", "RC-LOW", "RC-HIGH", "RC-PRICE", "RC-UNTRACKED"];

async fn setup(extra: &str) -> Setup {
    let (sandbox, locations) = shop(&["East", "West", "Popup"]).await;
    let (east, west, popup) = (locations[0], locations[1], locations[2]);
    let admin = sandbox.admin();
    let price = Decimal::new(1000, 2);
    for sku in BOTH {
        let shop_price = if sku == "RC-PRICE" {
            Decimal::new(1200, 2)
        } else {
            price
        };
        let product = admin.add_product(sku, &[(sku, shop_price)]);
        for location in [east, west] {
            admin.stock(product.variants[0].inventory_item_id, location, 0);
        }
    }
    // Two variants carry one SKU; both show the ERP's figures.
    for _ in 0..2 {
        let product = admin.add_product("Dup", &[("RC-DUP", price)]);
        admin.stock(product.variants[0].inventory_item_id, east, 6);
        admin.stock(product.variants[0].inventory_item_id, west, 6);
    }
    // Stocked at East only.
    let product = admin.add_product("Unstocked", &[("RC-UNSTOCKED", price)]);
    admin.stock(product.variants[0].inventory_item_id, east, 0);
    // Only in Shopify.
    let product = admin.add_product("Shop only", &[("RC-SHOPONLY", price)]);
    admin.stock(product.variants[0].inventory_item_id, east, 3);

    let erp = ErpDouble::start().await;
    erp.add_warehouse("WH-NORTH", "North");
    for sku in BOTH
        .into_iter()
        .chain(["RC-DUP", "RC-UNSTOCKED", "RC-ERPONLY"])
    {
        erp.add_product(sku, sku, "10.00", None);
        erp.set_stock(sku, "WH-EAST", 6);
        erp.set_stock(sku, "WH-WEST", 6);
    }
    erp.set_stock("RC-OK", "WH-EAST", 12);
    erp.set_stock("RC-LOW", "WH-EAST", 20);
    erp.set_stock("RC-HIGH", "WH-WEST", 4);

    let extra = format!(
        "\n[queue]\nbackoff_base = \"100ms\"\nbackoff_cap = \"1s\"\n\
         [inventory]\npoll_interval = \"200ms\"\n\
         [flows.orders]\nenabled = false\n\
         [[inventory.buffers]]\nerp_warehouse = \"WH-WEST\"\nsku = \"RC-OK\"\nunits = 1\n{extra}"
    );
    let (dir, agent) = start_agent(
        &sandbox,
        &erp.settings(),
        &[("WH-EAST", east), ("WH-WEST", west)],
        &extra,
    );
    Setup {
        _dir: dir,
        sandbox,
        _erp: erp,
        agent,
        east,
        west,
        popup,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_drift_is_found_exactly_and_repairs_converge() {
    let reconcile = "\n[reconcile]\nenabled = false\nbulk_poll_interval = \"100ms\"\n";
    let s = setup(reconcile).await;
    let (east, west) = (s.east, s.west);

    // The inventory flow brings Shopify to the ERP's figures first (RC-OK at West with its
    // one-unit buffer); nothing tells it about the hand edits that follow (no webhooks).
    for (sku, location, want) in [
        ("RC-OK", east, 12),
        ("RC-OK", west, 5),
        ("RC-LOW", east, 20),
        ("RC-HIGH", west, 4),
        ("RC-PRICE", east, 6),
        ("RC-UNTRACKED", west, 6),
        ("RC-UNSTOCKED", east, 6),
    ] {
        eventually(
            &s.agent,
            &format!("{sku} at {location} = {want}"),
            || async { (s.available(sku, location) == Some(want)).then_some(()) },
        )
        .await;
    }
    s.agent.wait_drained().await;

    // The drift: two hand edits of levels, and an item whose tracking was turned off.
    let admin = s.sandbox.admin();
    let item = |sku: &str| admin.item_by_sku(sku).expect("item");
    admin.stock(item("RC-LOW"), east, 17);
    admin.stock(item("RC-HIGH"), west, 9);
    admin.set_tracked(item("RC-UNTRACKED"), false);

    let mut control = Control::connect(&s.agent.socket(), false)
        .await
        .expect("control");
    let inventory_before = s.sandbox.admin().levels();

    // A dry run: everything found, counted and listed, nothing written.
    let run = finished_run(&s.agent, &mut control, Request::Reconcile { dry_run: true }).await;
    assert_eq!(
        (run.scope, run.trigger, run.dry_run),
        (RunScope::Full, RunTrigger::OnDemand, true)
    );
    let stock = run
        .dimension(ParityDimension::Inventory)
        .expect("inventory figures");
    // Compared pairs: five SKUs in both (tracked ones) x 2, the duplicate's first item x 2,
    // RC-UNSTOCKED at East; RC-UNTRACKED is not compared.
    assert_eq!(stock.checked, 4 * 2 + 2 + 1, "{run:#?}");
    assert_eq!(stock.mismatched, 2, "{run:#?}");
    assert_eq!((stock.repairable, stock.repairs_queued), (2, 0));
    let found = mismatches(&mut control, run.id, ParityDimension::Inventory).await;
    assert_eq!(
        rows(&found),
        BTreeSet::from([
            row(
                "shopify_below",
                "RC-LOW",
                Some(east),
                Some("20"),
                Some("17")
            ),
            row("shopify_above", "RC-HIGH", Some(west), Some("4"), Some("9")),
        ])
    );
    assert!(found.iter().all(|m| m.repair.is_some() && !m.repaired));
    let low = found.iter().find(|m| m.subject == "RC-LOW").expect("low");
    assert_eq!(
        low.repair.as_deref(),
        Some(
            format!(
                "set available of RC-LOW at location {east} from 17 to 20 (inventory push, compare-and-swap)"
            )
            .as_str()
        )
    );

    let catalog = run.dimension(ParityDimension::Catalog).expect("catalog");
    let found = mismatches(&mut control, run.id, ParityDimension::Catalog).await;
    let popup = s.popup.to_string();
    assert_eq!(
        rows(&found),
        BTreeSet::from([
            row("erp_only", "RC-ERPONLY", None, Some("10.00"), None),
            row(
                "shopify_only",
                "RC-SHOPONLY",
                None,
                None,
                found
                    .iter()
                    .find(|m| m.kind == "shopify_only")
                    .and_then(|m| m.shopify.as_deref())
            ),
            row(
                "duplicate_sku_shopify",
                "RC-DUP",
                None,
                None,
                found
                    .iter()
                    .find(|m| m.kind == "duplicate_sku_shopify")
                    .and_then(|m| m.shopify.as_deref())
            ),
            row(
                "untracked_item",
                "RC-UNTRACKED",
                None,
                None,
                Some(format!("inventory item {}", item("RC-UNTRACKED")).as_str())
            ),
            row(
                "not_stocked_at_location",
                "RC-UNSTOCKED",
                Some(west),
                Some("6"),
                None
            ),
            row(
                "field_differs",
                "RC-PRICE",
                None,
                Some("10.00"),
                Some("12.00")
            ),
            row(
                "unmapped_location",
                "Popup",
                Some(s.popup),
                None,
                Some(popup.as_str())
            ),
            row(
                "unmapped_location",
                "WH-NORTH",
                None,
                Some("WH-NORTH"),
                None
            ),
        ]),
        "{found:#?}"
    );
    assert_eq!(catalog.mismatched, 8);
    // The price the ERP owns is repaired by the products flow; the rest needs a person.
    assert_eq!((catalog.repairable, catalog.repairs_queued), (1, 0));
    for m in &found {
        let want = (m.kind == "field_differs").then(|| {
            "write the ERP's values of RC-PRICE to Shopify (products flow sync)".to_owned()
        });
        assert_eq!(m.repair, want, "{m:#?}");
    }
    let kinds: Vec<(&str, u64)> = catalog
        .kinds
        .iter()
        .map(|k| (k.kind.as_str(), k.count))
        .collect();
    assert_eq!(kinds[0], ("unmapped_location", 2), "largest first");
    assert!(catalog.parity_percent < 100.0 && catalog.parity_percent > 0.0);

    // Filtered by kind.
    let only = match ask(
        &mut control,
        Request::ListMismatches(MismatchQuery {
            run: None,
            dimension: Some(ParityDimension::Catalog),
            kind: Some("unmapped_location".into()),
            after: None,
            limit: 100,
        }),
    )
    .await
    {
        Response::Mismatches(page) => page,
        other => panic!("unexpected answer: {other:?}"),
    };
    assert_eq!(
        only.run,
        Some(run.id),
        "no run: the latest comparing catalogue"
    );
    assert_eq!(only.items.len(), 2);

    // The dry run wrote nothing: Shopify as it was, no inventory job queued.
    assert_eq!(s.sandbox.admin().levels(), inventory_before);
    let jobs = live_jobs(&mut control, FlowKind::Inventory).await;
    assert!(jobs.is_empty(), "{jobs:#?}");

    // The latest report per dimension (what the console and the alert rules read).
    let latest: Vec<LatestParity> = match ask(&mut control, Request::ParityLatest).await {
        Response::ParityLatest { dimensions } => dimensions,
        other => panic!("unexpected answer: {other:?}"),
    };
    let dims: Vec<(ParityDimension, u64, bool)> = latest
        .iter()
        .map(|l| (l.parity.dimension, l.run, l.dry_run))
        .collect();
    assert_eq!(
        dims,
        vec![
            (ParityDimension::Inventory, run.id, true),
            (ParityDimension::Catalog, run.id, true),
            (ParityDimension::Orders, run.id, true),
            (ParityDimension::Money, run.id, true),
        ]
    );

    // Repair a selection from the stored run: RC-LOW only.
    let queued = ask(
        &mut control,
        Request::RepairMismatches {
            run: run.id,
            selection: MismatchSelection::Ids { ids: vec![low.id] },
        },
    )
    .await;
    assert!(matches!(queued, Response::Queued { .. }), "{queued:?}");
    eventually(&s.agent, "RC-LOW repaired to 20", || async {
        (s.available("RC-LOW", east) == Some(20)).then_some(())
    })
    .await;
    s.agent.wait_drained().await;
    assert_eq!(s.available("RC-HIGH", west), Some(9), "not selected");
    let repaired = mismatches(&mut control, run.id, ParityDimension::Inventory).await;
    assert_eq!(
        repaired
            .iter()
            .map(|m| (m.subject.as_str(), m.repaired))
            .collect::<Vec<_>>(),
        vec![("RC-HIGH", false), ("RC-LOW", true)]
    );
    let stored = runs(&mut control).await;
    let stored = stored.iter().find(|r| r.id == run.id).expect("run");
    assert_eq!(
        stored
            .dimension(ParityDimension::Inventory)
            .map(|d| d.repairs_queued),
        Some(1)
    );

    // A repairing run finds what is left (RC-HIGH, and RC-PRICE's price) and repairs it.
    let repairing = finished_run(
        &s.agent,
        &mut control,
        Request::Reconcile { dry_run: false },
    )
    .await;
    assert_eq!(
        repairing
            .dimension(ParityDimension::Inventory)
            .map(|d| d.mismatched),
        Some(1),
        "{repairing:#?}"
    );
    assert_eq!(
        repairing
            .dimension(ParityDimension::Catalog)
            .map(|d| (d.repairable, d.repairs_queued)),
        Some((1, 1)),
        "{repairing:#?}"
    );
    eventually(&s.agent, "RC-HIGH repaired to 4", || async {
        (s.available("RC-HIGH", west) == Some(4)).then_some(())
    })
    .await;
    eventually(&s.agent, "RC-PRICE's price repaired to 10.00", || async {
        (s.price("RC-PRICE") == Some(Decimal::new(1000, 2))).then_some(())
    })
    .await;
    s.agent.wait_drained().await;

    // Converged: inventory at 100 %; the catalogue drift left is for a person.
    let after = finished_run(&s.agent, &mut control, Request::Reconcile { dry_run: true }).await;
    let stock = after.dimension(ParityDimension::Inventory).expect("stock");
    assert_eq!(
        (stock.mismatched, stock.parity_percent),
        (0, 100.0),
        "{after:#?}"
    );
    assert_eq!(stock.checked, 4 * 2 + 2 + 1);
    assert_eq!(
        after
            .dimension(ParityDimension::Catalog)
            .map(|d| (d.mismatched, d.repairable)),
        Some((7, 0))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_schedule_runs_light_and_full_passes_as_dry_runs() {
    let reconcile = "\n[reconcile]\nlight_interval = \"1s\"\nfull_interval = \"3s\"\n\
                     bulk_poll_interval = \"100ms\"\n";
    let s = setup(reconcile).await;
    let socket = s.agent.socket();
    let found = eventually(&s.agent, "a scheduled light and full pass", || {
        let socket = socket.clone();
        async move {
            let mut control = Control::connect(&socket, true).await.ok()?;
            let runs = runs(&mut control).await;
            let done = |scope| {
                runs.iter()
                    .find(|r| r.scope == scope && r.state == RunState::Done)
                    .cloned()
            };
            Some((done(RunScope::Light)?, done(RunScope::Full)?))
        }
    })
    .await;
    for run in [&found.0, &found.1] {
        assert_eq!(run.trigger, RunTrigger::Schedule);
        assert!(run.dry_run, "auto_repair is off by default");
    }
    let light: Vec<ParityDimension> = found.0.dimensions.iter().map(|d| d.dimension).collect();
    assert_eq!(
        light,
        vec![ParityDimension::Inventory, ParityDimension::Orders]
    );
    let full: Vec<ParityDimension> = found.1.dimensions.iter().map(|d| d.dimension).collect();
    assert_eq!(
        full,
        vec![
            ParityDimension::Inventory,
            ParityDimension::Catalog,
            ParityDimension::Orders,
            ParityDimension::Money
        ]
    );
}
