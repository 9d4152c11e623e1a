//! Products flow benchmark, on the real `plumbd` (release build) against the sandbox and
//! the ERP double: 10,000 ERP price changes (a price list import, one transaction) pushed
//! to Shopify, from an empty bucket at the change to the last price written (the flow's
//! reads of the variants included), as a share of what the sandbox's cost accounting
//! allowed. Measured on the Plus plan (1,000 points/s) so the run is minutes,
//! not half an hour: the share of the budget is what is compared, and it does not depend
//! on the plan's size.
//!
//! Prints its figures; `docs/BENCHMARKS.md` records them.
//! Run: `cargo bench -p plumb-tests --bench products`.

// A benchmark's output is its figures on stdout.
#![allow(clippy::print_stdout)]

use std::time::{Duration, Instant};

use plumb_tests::agent::Agent;
use plumb_tests::bench::Window;
use plumb_tests::erp::double::ErpDouble;
use plumb_tests::inventory::agent_toml;
use plumb_tests::sandbox::{Admin, Plan, Sandbox, SandboxConfig};
use rust_decimal::Decimal;

const ITEMS: usize = 10_000;
const PREFIX: &str = "PRICE";

fn priced_at(admin: &Admin, price: Decimal) -> usize {
    admin.with_state(|state| state.variants.values().filter(|v| v.price == price).count())
}

async fn push() {
    let sandbox = Sandbox::start(SandboxConfig {
        plan: Plan::Enterprise,
        ..SandboxConfig::default()
    })
    .await
    .expect("sandbox");
    let admin = sandbox.admin();
    let east = admin.add_location("East");
    admin.add_catalog(PREFIX, ITEMS, &[east], 1);
    let erp = ErpDouble::start().await;
    erp.seed_catalog(PREFIX, ITEMS, &["WH-EAST"], 1);
    let dir = tempfile::tempdir().expect("tempdir");
    let toml = agent_toml(
        dir.path(),
        &sandbox,
        &erp.settings(),
        &[],
        "\n[flows.inventory]\nenabled = false\n[products]\npoll_interval = \"1s\"\n",
    );
    let agent = Agent::start(dir.path(), &toml);
    let start = Instant::now();
    while !agent
        .stderr()
        .contains("ERP product changes are followed from now on")
    {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "{}",
            agent.stderr()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    admin.set_plan(Plan::Plus);
    admin.set_bucket(0.0);
    // Above every catalogue price (10.00 to 99.99), so no variant has it before.
    let new_price = Decimal::new(12345, 2);
    erp.set_catalog_price(PREFIX, ITEMS, "123.45");
    // The window runs from the ERP change, the bucket empty then: the flow's reads of
    // Shopify (the variants by SKU) are part of what the budget pays for, and every point
    // charged had to be restored during the run.
    let changed = Instant::now();
    let before = admin.stats();
    let mut first_write = None;
    loop {
        let done = priced_at(&admin, new_price);
        if done > 0 && first_write.is_none() {
            first_write = Some(changed.elapsed());
        }
        if done == ITEMS {
            break;
        }
        assert!(
            changed.elapsed() < Duration::from_secs(1_800),
            "{done} of {ITEMS} prices written\n{}",
            agent.stderr()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let all = changed.elapsed();
    let mut window = Window::between(&before, &admin.stats(), &admin, all);
    window.updates = ITEMS;
    println!(
        "Products flow, {ITEMS} ERP price changes (one product each), Plus plan: ERP change to the last price {:.2} s, the first price written after {:.2} s",
        all.as_secs_f64(),
        first_write.unwrap_or_default().as_secs_f64()
    );
    window.print(
        "From the ERP change (bucket empty) to the last price, reads included (allowed = 1,000/s x elapsed):",
    );
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(push());
}
