//! Shopify client throughput against the sandbox on the Standard plan (100 points/s,
//! bucket 2,000): 10,002 level updates (3 locations x 3,334 items) through
//! `set_inventory`, measured against what the sandbox's cost accounting allowed over the
//! same time, side by side with a naive loop of one `inventorySetQuantities` per row.
//! Prints its figures; `docs/BENCHMARKS.md` records them.
//!
//! Run: `cargo bench -p plumb-tests --bench shopify`
//!
//! The measured runs start with the bucket empty, so every point charged had to be
//! restored during the run: allowed = 0 + 100 x elapsed. A fresh app starts with the
//! bucket full (2,000 points), which covers 10,002 updates (about 41 calls x 13 points)
//! outright; that run is printed too, but it measures the sandbox's speed, not the budget.

// A benchmark's output is its figures on stdout.
#![allow(clippy::print_stdout)]

use std::time::{Duration, Instant};

use plumb_agent::shopify::{SetRequest, SetRow};
use plumb_common::JobId;
use plumb_tests::bench::{Window, fresh_client, naive};
use plumb_tests::sandbox::{Admin, Plan, Sandbox, SandboxConfig};

const ITEMS: usize = 3_334;
const LOCATIONS: usize = 3;
/// How long the naive loop runs before its rate is extrapolated.
const NAIVE_FOR: Duration = Duration::from_secs(20);

fn rows(
    admin_levels: &[(u64, u64)],
    quantity: impl Fn(usize) -> i64,
    believed: i64,
) -> Vec<SetRow> {
    admin_levels
        .iter()
        .enumerate()
        .map(|(n, &(item, location))| SetRow {
            inventory_item_id: item,
            location_id: location,
            quantity: quantity(n),
            change_from_quantity: Some(believed),
        })
        .collect()
}

/// Sets every level in one `set_inventory` call (split into calls of 250 by the client),
/// through a fresh client.
async fn batched(
    sandbox: &Sandbox,
    admin: &Admin,
    levels: &[(u64, u64)],
    job: u64,
    from: i64,
    to: i64,
    initial_points: f64,
) -> Window {
    let client = fresh_client(sandbox);
    admin.set_bucket(initial_points);
    let before = admin.stats();
    let start = Instant::now();
    let request = SetRequest::available(JobId(job), rows(levels, |_| to, from));
    let outcome = client.set_inventory(&request).await.expect("set_inventory");
    let elapsed = start.elapsed();
    assert!(
        outcome.all_applied(),
        "not all applied: {:?}",
        outcome.failure()
    );
    let mut window = Window::between(&before, &admin.stats(), admin, elapsed);
    window.updates = outcome.applied_rows();
    window.initial_points = initial_points;
    window.client = client.stats();
    window
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run());
}

async fn run() {
    let sandbox = Sandbox::start(SandboxConfig {
        plan: Plan::Standard,
        ..SandboxConfig::default()
    })
    .await
    .expect("sandbox");
    let admin = sandbox.admin();
    let locations: Vec<u64> = (0..LOCATIONS)
        .map(|n| admin.add_location(&format!("Warehouse {n}")))
        .collect();
    let items = admin.add_catalog("BENCH", ITEMS, &locations, 10);
    let levels: Vec<(u64, u64)> = items
        .iter()
        .flat_map(|v| locations.iter().map(|&l| (v.inventory_item_id, l)))
        .collect();
    let status = admin.throttle_status();
    println!(
        "Standard plan: restore {:.0} points/s, bucket {:.0}; {} levels; client batch_concurrency {}",
        status.restore_rate,
        status.maximum_available,
        levels.len(),
        fresh_client(&sandbox).config().batch_concurrency
    );

    // Every run has a fresh client, so its model syncs on its first answer as an agent's
    // does at start-up. The bucket starts empty: every point must be restored in the run,
    // and the first call is THROTTLED (that answer is what syncs the model).
    let steady = batched(&sandbox, &admin, &levels, 1, 10, 20, 0.0).await;
    steady.print("Batched, bucket empty at the start (the budget is the limit):");

    // A fresh app's bucket starts full, as Shopify's does: the burst covers the run.
    let fresh = batched(
        &sandbox,
        &admin,
        &levels,
        2,
        20,
        30,
        status.maximum_available,
    )
    .await;
    fresh.print("Batched, bucket full at the start (fresh app; the burst covers the run):");

    let naive = naive(&sandbox, &admin, &levels, 30, NAIVE_FOR).await;
    naive.print(&format!(
        "Naive, one call per row, sequential, bucket empty at the start, for {} s:",
        NAIVE_FOR.as_secs()
    ));
    let naive_rate = naive.updates as f64 / naive.elapsed.as_secs_f64();
    let naive_cost = naive.cost_per_call();
    // From a full bucket the first 2,000 points go at once; everything after waits for
    // the restore rate: a lower bound that ignores the burst's own time.
    let naive_full = (levels.len() as f64 * naive_cost - status.maximum_available).max(0.0)
        / status.restore_rate;
    println!(
        "  extrapolated to {} updates: {:.0} s from an empty bucket ({} / {:.2} per s); at least {:.0} s from a full one (({} x {:.1} points - {:.0}) / {:.0} per s)",
        levels.len(),
        levels.len() as f64 / naive_rate,
        levels.len(),
        naive_rate,
        naive_full,
        levels.len(),
        naive_cost,
        status.maximum_available,
        status.restore_rate
    );
    println!(
        "Batched vs naive, bucket empty at the start: {:.0} vs {:.2} updates/s = {:.0} x",
        steady.updates as f64 / steady.elapsed.as_secs_f64(),
        naive_rate,
        steady.updates as f64 / steady.elapsed.as_secs_f64() / naive_rate
    );
    sandbox.shutdown().await;
}
