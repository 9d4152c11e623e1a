//! Inventory flow benchmarks, on the real `plumbd`:
//! 1. `latency`: ERP change -> Shopify level updated, p50 and p95, with the default 1 s
//!    poll, against the ERP double and against a real Tryton. Each change is made at a
//!    random moment of the poll cycle, on its own SKU.
//! 2. `budget`: 10,002 changes (3,334 SKUs x 3 locations) pushed by the flow on the
//!    Standard plan, the bucket empty at the start, as a share of what the sandbox's cost
//!    accounting allowed; beside the naive one-call-per-row loop.
//! 3. `memory`: 100,000 SKUs x 5 locations held by the agent: its RSS once they are all
//!    in sync, and its peak.
//! 4. `doubles`: the two doubles alone at the same scale (`PLUMB_BENCH_SKUS`, default
//!    100,000, x 5 locations), driven by the agent's own clients: seeding, the ERP reads
//!    the flows make (products, stock by SKU, the change cursor), and the sandbox's SKU
//!    searches, level reads, pushes and the bulk file of every level. Not in the default
//!    run: it measures the test doubles, not the agent.
//!
//! Prints its figures; `docs/BENCHMARKS.md` records them.
//! Run: `cargo bench -p plumb-tests --bench inventory` (or `-- latency`, `-- budget`,
//! `-- memory`, `-- doubles` for one part).

// A benchmark's output is its figures on stdout.
#![allow(clippy::print_stdout)]

use std::time::{Duration, Instant};

use plumb_agent::erp::tryton::TrytonSettings;
use plumb_agent::erp::{Erp, Selection};
use plumb_agent::shopify::documents::BULK_INVENTORY_LEVELS;
use plumb_agent::shopify::{BulkLayout, SetRequest, SetRow};
use plumb_common::protocol::{InventoryQuery, InventoryStatus, Request, Response};
use plumb_common::{JobId, Sku};
use plumb_tests::agent::{Agent, Control};
use plumb_tests::bench::{Window, fresh_client, naive, percentile, status_kib};
use plumb_tests::erp::double::ErpDouble;
use plumb_tests::inventory::agent_toml;
use plumb_tests::sandbox::{Admin, Plan, Sandbox, SandboxConfig};
use plumb_tests::tryton::{Clerk, TrytonServer};

/// Polls `check` every 2 ms until it holds; the time it took, or `None` after `limit`.
async fn until(limit: Duration, check: impl Fn() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if check() {
            return Some(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    None
}

/// Waits until the agent's first run is over (all ERP stock read, every level compared
/// with Shopify) and no inventory pair waits to be pushed.
async fn settled(agent: &Agent, limit: Duration) {
    let start = Instant::now();
    while !agent
        .stderr()
        .contains("start-up comparison with Shopify done")
    {
        assert!(
            start.elapsed() < limit,
            "no start-up comparison after {limit:?}\n{}",
            agent.stderr()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut control = Control::connect(&agent.socket(), false)
        .await
        .expect("control");
    loop {
        let query = InventoryQuery {
            status: Some(InventoryStatus::Pending),
            limit: 1,
            ..InventoryQuery::default()
        };
        match control.request(Request::ListInventory(query)).await {
            Ok(Response::Inventory(page)) if page.items.is_empty() => return,
            Ok(Response::Inventory(_)) => {}
            other => panic!("inventory: {other:?}"),
        }
        assert!(
            start.elapsed() < limit,
            "inventory still pending after {limit:?}\n{}",
            agent.stderr()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn print_latencies(what: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "{what}: {} changes, p50 {:.0} ms, p95 {:.0} ms, max {:.0} ms",
        samples.len(),
        percentile(&samples, 0.50).as_secs_f64() * 1e3,
        percentile(&samples, 0.95).as_secs_f64() * 1e3,
        samples.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );
}

/// A shop with one location and `skus` stocked there with `available` each.
async fn shop_with(skus: &[String], available: i64) -> (Sandbox, u64) {
    let sandbox = Sandbox::start(SandboxConfig::default())
        .await
        .expect("sandbox");
    let admin = sandbox.admin();
    let east = admin.add_location("East");
    for sku in skus {
        let product = admin.add_product(sku, &[(sku.as_str(), rust_decimal::Decimal::TEN)]);
        admin.stock(product.variants[0].inventory_item_id, east, available);
    }
    (sandbox, east)
}

/// Changes each SKU once, at a random point of the poll cycle, and times until the
/// sandbox shows the new level. `change` makes the ERP change (and returns once the ERP
/// has committed it).
async fn change_latencies<F, Fut>(
    sandbox: &Sandbox,
    location: u64,
    skus: &[String],
    new_level: impl Fn(usize) -> i64,
    change: F,
) -> Vec<Duration>
where
    F: Fn(String, i64) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let admin = sandbox.admin();
    let mut samples = Vec::with_capacity(skus.len());
    for (n, sku) in skus.iter().enumerate() {
        tokio::time::sleep(Duration::from_millis(fastrand::u64(0..1_000))).await;
        let item = admin.item_by_sku(sku).expect("item");
        let want = new_level(n);
        change(sku.clone(), want).await;
        let seen = until(Duration::from_secs(60), || {
            admin.level(item, location).map(|l| l.available) == Some(want)
        })
        .await
        .unwrap_or_else(|| panic!("{sku} never reached {want}"));
        samples.push(seen);
    }
    samples
}

async fn latency_double() {
    let skus: Vec<String> = (0..60).map(|n| format!("LAT-{n:03}")).collect();
    let (sandbox, east) = shop_with(&skus, 100).await;
    let erp = ErpDouble::start().await;
    for sku in &skus {
        erp.add_product(sku, sku, "10.00", None);
        erp.set_stock(sku, "WH-EAST", 100);
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let toml = agent_toml(
        dir.path(),
        &sandbox,
        &erp.settings(),
        &[("WH-EAST", east)],
        "\n[inventory]\npoll_interval = \"1s\"\n",
    );
    let agent = Agent::start(dir.path(), &toml);
    settled(&agent, Duration::from_secs(60)).await;
    let samples = change_latencies(
        &sandbox,
        east,
        &skus,
        |n| 50 + n as i64,
        |sku, want| {
            erp.set_stock(&sku, "WH-EAST", want);
            std::future::ready(())
        },
    )
    .await;
    print_latencies("ERP double -> sandbox, poll 1 s", samples);
}

async fn latency_tryton() {
    let mut server = TrytonServer::start();
    let skus: Vec<String> = (1..=12).map(|n| format!("SKU-{n:04}")).collect();
    server.seed(skus.len(), &[]);
    let server = &server;
    let clerk = Clerk::new(server);
    for sku in &skus {
        clerk.inventory(sku, "WH-EAST", 100).await;
    }
    let (sandbox, east) = shop_with(&skus, 100).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let settings: TrytonSettings = server.settings();
    let toml = agent_toml(
        dir.path(),
        &sandbox,
        &settings,
        &[("WH-EAST", east)],
        "\n[inventory]\npoll_interval = \"1s\"\n",
    );
    let agent = Agent::start(dir.path(), &toml);
    settled(&agent, Duration::from_secs(120)).await;
    let clerk = &clerk;
    let samples = change_latencies(
        &sandbox,
        east,
        &skus,
        |n| 50 + n as i64,
        |sku, want| async move { clerk.inventory(&sku, "WH-EAST", want).await },
    )
    .await;
    print_latencies(
        "real Tryton -> sandbox, poll 1 s (from the inventory's commit)",
        samples,
    );
    server.stop();
}

/// A sandbox (on `config`) and an ERP double with `items` SKUs (`<prefix>-00000`...) at each of
/// `warehouses`, `available` everywhere, the locations mapped one to one.
async fn catalog(
    config: SandboxConfig,
    prefix: &str,
    items: usize,
    warehouses: &[&str],
    available: i64,
) -> (Sandbox, ErpDouble, Vec<(String, u64)>) {
    let sandbox = Sandbox::start(config).await.expect("sandbox");
    let admin = sandbox.admin();
    let locations: Vec<u64> = warehouses.iter().map(|w| admin.add_location(w)).collect();
    admin.add_catalog(prefix, items, &locations, available);
    let erp = ErpDouble::start().await;
    for warehouse in warehouses {
        if !["WH-EAST", "WH-WEST"].contains(warehouse) {
            erp.add_warehouse(warehouse, warehouse);
        }
    }
    erp.seed_catalog(prefix, items, warehouses, available);
    let mapping = warehouses
        .iter()
        .zip(&locations)
        .map(|(w, l)| ((*w).to_owned(), *l))
        .collect();
    (sandbox, erp, mapping)
}

fn start_on(
    dir: &std::path::Path,
    sandbox: &Sandbox,
    erp: &ErpDouble,
    mapping: &[(String, u64)],
) -> Agent {
    let locations: Vec<(&str, u64)> = mapping.iter().map(|(w, l)| (w.as_str(), *l)).collect();
    let toml = agent_toml(
        dir,
        sandbox,
        &erp.settings(),
        &locations,
        "\n[inventory]\npoll_interval = \"1s\"\n",
    );
    // A profiler around the agent, e.g. PLUMB_BENCH_AGENT_WRAPPER="heaptrack -o /tmp/ht"
    // (the RSS figures are then the wrapper's, not the agent's).
    match std::env::var("PLUMB_BENCH_AGENT_WRAPPER") {
        Ok(wrapper) if !wrapper.trim().is_empty() => {
            let wrapper: Vec<&str> = wrapper.split_whitespace().collect();
            Agent::start_under(dir, &toml, &wrapper)
        }
        _ => Agent::start(dir, &toml),
    }
}

fn levels_at(admin: &Admin, mapping: &[(String, u64)], want: i64) -> usize {
    let locations: Vec<u64> = mapping.iter().map(|(_, l)| *l).collect();
    admin
        .levels()
        .iter()
        .filter(|((_, location), level)| locations.contains(location) && level.available == want)
        .count()
}

async fn budget() {
    const ITEMS: usize = 3_334;
    let warehouses = ["WH-EAST", "WH-WEST", "WH-NORTH"];
    let (sandbox, erp, mapping) = catalog(
        SandboxConfig {
            plan: Plan::Enterprise,
            ..SandboxConfig::default()
        },
        "BUDGET",
        ITEMS,
        &warehouses,
        10,
    )
    .await;
    let admin = sandbox.admin();
    let dir = tempfile::tempdir().expect("tempdir");
    // Set up on a large plan: the first run reads every level once.
    let agent = start_on(dir.path(), &sandbox, &erp, &mapping);
    settled(&agent, Duration::from_secs(300)).await;
    let total = ITEMS * warehouses.len();
    // Measured on the Standard plan with the bucket empty: every point charged had to be
    // restored during the run.
    admin.set_plan(Plan::Standard);
    admin.set_bucket(0.0);
    erp.set_catalog_stock("BUDGET", ITEMS, &warehouses, 20);
    let changed = Instant::now();
    // The agent reads the 10,002 changes from the ERP before it pushes anything; the
    // bucket is held empty meanwhile, so the push starts from an empty bucket and every
    // point it spends must be restored during it.
    // The push starts after the last check that saw no level moved: its time and the
    // sandbox's counters then are the baseline (a conservative start).
    let mut baseline = (Instant::now(), admin.stats());
    let mut started = false;
    loop {
        let done = levels_at(&admin, &mapping, 20);
        if !started {
            if done == 0 {
                admin.set_bucket(0.0);
                baseline = (Instant::now(), admin.stats());
            } else {
                started = true;
            }
        }
        if done == total {
            break;
        }
        assert!(
            changed.elapsed() < Duration::from_secs(600),
            "{done} of {total} levels at 20\n{}",
            agent.stderr()
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let all = changed.elapsed();
    let (push_start, before) = baseline;
    let push = push_start.elapsed();
    let mut pushing = Window::between(&before, &admin.stats(), &admin, push);
    pushing.updates = total;
    println!(
        "Inventory flow, {total} ERP changes ({ITEMS} SKUs x 3 locations), Standard plan: ERP change to the last level {:.2} s, of which reading the changes from the ERP double {:.2} s",
        all.as_secs_f64(),
        (all - push).as_secs_f64()
    );
    pushing.print(
        "The push, from an empty bucket, first level set to last (allowed = 100/s x elapsed):",
    );
    // The naive loop on the same shop, for 20 s.
    let levels: Vec<(u64, u64)> = admin
        .levels()
        .into_iter()
        .filter(|(_, level)| level.available == 20)
        .map(|(key, _)| key)
        .take(5_000)
        .collect();
    drop(agent);
    let naive = naive(&sandbox, &admin, &levels, 20, Duration::from_secs(20)).await;
    naive.print("Naive, one inventorySetQuantities a row, sequential, bucket empty, 20 s:");
    let flow_rate = total as f64 / push.as_secs_f64();
    let naive_rate = naive.updates as f64 / naive.elapsed.as_secs_f64();
    println!(
        "Flow vs naive: {flow_rate:.0} vs {naive_rate:.2} updates/s = {:.0} x",
        flow_rate / naive_rate
    );
}

async fn memory() {
    let items: usize = std::env::var("PLUMB_BENCH_SKUS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let warehouses = ["WH-EAST", "WH-WEST", "WH-NORTH", "WH-SOUTH", "WH-CENTRAL"];
    let setup = Instant::now();
    let (sandbox, erp, mapping) = catalog(
        // Memory is measured, not the budget.
        SandboxConfig::unmetered(),
        "MEM",
        items,
        &warehouses,
        7,
    )
    .await;
    println!(
        "memory: {} SKUs x {} locations set up in {:.0} s",
        items,
        warehouses.len(),
        setup.elapsed().as_secs_f64()
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let start = Instant::now();
    let agent = start_on(dir.path(), &sandbox, &erp, &mapping);
    let pid = agent.pid().expect("pid");
    settled(&agent, Duration::from_secs(3_600)).await;
    let first = start.elapsed();
    // One change per location, to see the steady state after a poll.
    erp.set_catalog_stock("MEM", 10, &warehouses, 8);
    let admin = sandbox.admin();
    until(Duration::from_secs(120), || {
        levels_at(&admin, &mapping, 8) == 10 * warehouses.len()
    })
    .await
    .expect("the changes pushed");
    let store = std::fs::metadata(dir.path().join("state/plumb.redb")).map_or(0, |m| m.len());
    println!(
        "memory: first run (read all ERP stock, resolve every SKU, read and compare every level) {:.0} s; agent RSS {} MiB, peak {} MiB; store file {} MiB",
        first.as_secs_f64(),
        status_kib(pid, "VmRSS") / 1024,
        status_kib(pid, "VmHWM") / 1024,
        store / (1024 * 1024)
    );
}

/// Prints how long `work` took, and returns what it made.
async fn timed<T>(what: &str, work: impl std::future::Future<Output = T>) -> T {
    let start = Instant::now();
    let out = work.await;
    println!("doubles: {what}: {:.2} s", start.elapsed().as_secs_f64());
    out
}

async fn doubles() {
    let items: usize = std::env::var("PLUMB_BENCH_SKUS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let warehouses = ["WH-EAST", "WH-WEST", "WH-NORTH", "WH-SOUTH", "WH-CENTRAL"];
    let codes: Vec<String> = warehouses.iter().map(|w| (*w).to_owned()).collect();
    println!("doubles: {items} SKUs x {} locations", warehouses.len());

    let erp = ErpDouble::start().await;
    for warehouse in &warehouses[2..] {
        erp.add_warehouse(warehouse, warehouse);
    }
    timed("ERP double seeded", async {
        erp.seed_catalog("DBL", items, &warehouses, 7);
    })
    .await;
    let tryton = erp.connector();
    let products = timed("ERP products, all (the start-up read)", async {
        tryton.products(Selection::All).await.expect("products")
    })
    .await;
    let skus: Vec<Sku> = products.into_iter().map(|p| p.sku).collect();
    assert_eq!(skus.len(), items);
    let levels = timed(
        "ERP stock of every SKU, 2,000 SKUs a call (the first run)",
        async {
            let mut levels = 0;
            for chunk in skus.chunks(2_000) {
                levels += tryton
                    .stock(Selection::Skus(chunk), &codes)
                    .await
                    .expect("stock")
                    .len();
            }
            levels
        },
    )
    .await;
    assert_eq!(levels, items * warehouses.len());
    timed("ERP stock cursor (reads the import's moves)", async {
        tryton.stock_cursor().await.expect("cursor")
    })
    .await;

    let sandbox = Sandbox::start(SandboxConfig::unmetered())
        .await
        .expect("sandbox");
    let admin = sandbox.admin();
    let locations: Vec<u64> = warehouses.iter().map(|w| admin.add_location(w)).collect();
    let created = timed("sandbox seeded", async {
        admin.add_catalog("DBL", items, &locations, 7)
    })
    .await;
    let client = fresh_client(&sandbox);
    let sample = items.min(10_000);
    let names: Vec<String> = created[..sample].iter().map(|v| v.sku.clone()).collect();
    let found = timed(
        &format!("sandbox: {sample} SKUs searched, 50 a search"),
        async { client.variants_by_sku(&names).await.expect("variants") },
    )
    .await;
    assert_eq!(found.len(), sample);
    let ids: Vec<u64> = created[..sample]
        .iter()
        .map(|v| v.inventory_item_id)
        .collect();
    let read = timed(
        &format!(
            "sandbox: {} levels read, 100 a call",
            sample * locations.len()
        ),
        async {
            client
                .inventory_levels(&ids, &locations, &["available", "on_hand"])
                .await
                .expect("levels")
        },
    )
    .await;
    assert_eq!(read.len(), sample * locations.len());
    let rows: Vec<SetRow> = ids
        .iter()
        .flat_map(|&item| {
            locations.iter().map(move |&location| SetRow {
                inventory_item_id: item,
                location_id: location,
                quantity: 8,
                change_from_quantity: Some(7),
            })
        })
        .collect();
    let pushed = timed(
        &format!("sandbox: {} levels pushed, 250 a call", rows.len()),
        async {
            client
                .set_inventory(&SetRequest::available(JobId(1), rows))
                .await
                .expect("set")
        },
    )
    .await;
    assert!(pushed.all_applied());
    let operation = timed("sandbox: bulk file of every level made", async {
        let id = client
            .run_bulk_query(&BULK_INVENTORY_LEVELS, BulkLayout::Grouped)
            .await
            .expect("bulk");
        client
            .wait_bulk_operation(id, Duration::from_millis(100), None)
            .await
            .expect("bulk finished")
    })
    .await;
    let url = operation.url.expect("a result");
    let bytes = timed("sandbox: bulk file downloaded", async {
        reqwest::get(url)
            .await
            .expect("download")
            .bytes()
            .await
            .expect("body")
            .len()
    })
    .await;
    println!("doubles: bulk file {} MiB", bytes / (1024 * 1024));
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wants = |part: &str| only.is_empty() || only.iter().any(|o| o == part);
    runtime.block_on(async {
        if wants("latency") {
            latency_double().await;
            latency_tryton().await;
        }
        if wants("budget") {
            budget().await;
        }
        if wants("memory") {
            memory().await;
        }
        // Only when asked for: it measures the doubles, not the agent.
        if only.iter().any(|o| o == "doubles") {
            doubles().await;
        }
    });
}
