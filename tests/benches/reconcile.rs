//! Reconciliation benchmark, on the real `plumbd` between the sandbox and the ERP double:
//! a full dry run over 100,000 SKUs x 5 locations (1 % of the SKUs drifted at one location)
//! and a 20,000-order window (1 % of the orders missing in the ERP).
//!
//! Figures: the run's wall time; the agent's CPU time during the run, which is its compare
//! time without the waiting on the remote side (a process waiting on a socket uses no
//! CPU; what it spends parsing the answers and the bulk file, comparing and storing
//! counts); its peak RSS (`VmHWM`, the whole process since its start). The run's own
//! figures are checked against what was seeded, so a fast wrong answer does not pass.
//!
//! Price is made Shopify-owned for the run (`[ownership]`): the two catalogues are
//! generated with different prices, and 100,000 price mismatches are not the subject.
//!
//! Run: `cargo bench -p plumb-tests --bench reconcile`; `PLUMB_BENCH_SKUS` and
//! `PLUMB_BENCH_ORDERS` change the sizes (defaults 100000 and 20000).

// A benchmark's output is its figures on stdout.
#![allow(clippy::print_stdout)]

use std::time::{Duration, Instant};

use plumb_common::protocol::{ParityDimension, Request, RunState};
use plumb_tests::agent::{Control, cpu_ms};
use plumb_tests::bench::{runtime, status_kib};
use plumb_tests::erp::double::ErpDouble;
use plumb_tests::reconcile::{ask, runs, start_agent};
use plumb_tests::sandbox::orders::OrderSpec;
use plumb_tests::sandbox::{Sandbox, SandboxConfig};
use rust_decimal::Decimal;

const WAREHOUSES: [&str; 5] = ["WH-EAST", "WH-WEST", "WH-NORTH", "WH-SOUTH", "WH-CENTRAL"];

fn size(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn reconcile() {
    let skus = size("PLUMB_BENCH_SKUS", 100_000);
    let orders = size("PLUMB_BENCH_ORDERS", 20_000);
    let setup = Instant::now();
    // The budget is not measured here.
    let sandbox = Sandbox::start(SandboxConfig::unmetered())
        .await
        .expect("sandbox");
    let admin = sandbox.admin();
    let locations: Vec<u64> = WAREHOUSES.iter().map(|w| admin.add_location(w)).collect();
    let items = admin.add_catalog("REC", skus, &locations, 7);
    let drifted = items.iter().step_by(100).count();
    for item in items.iter().step_by(100) {
        admin.stock(item.inventory_item_id, locations[0], 9);
    }
    let erp = ErpDouble::start().await;
    for warehouse in &WAREHOUSES[2..] {
        erp.add_warehouse(warehouse, warehouse);
    }
    erp.seed_catalog("REC", skus, &WAREHOUSES, 7);
    // The orders: one product the ERP does not stock (a catalogue mismatch of its own).
    let product = admin.add_product("Orders", &[("REC-ORDERS", Decimal::new(500, 2))]);
    admin.stock(
        product.variants[0].inventory_item_id,
        locations[0],
        i64::try_from(orders).unwrap_or(i64::MAX),
    );
    let mut placed = Vec::with_capacity(orders);
    for _ in 0..orders {
        placed.push(
            admin
                .place_order(&OrderSpec {
                    lines: vec![(product.variants[0].variant_id, 1)],
                    location_id: Some(locations[0]),
                    email: "bench@example.com".to_owned(),
                    paid: true,
                })
                .expect("place"),
        );
    }
    let missing = placed.iter().step_by(100).count();
    let booked: Vec<u64> = placed
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 100 != 0)
        .map(|(_, id)| *id)
        .collect();
    erp.seed_sales(&booked);
    println!(
        "reconcile: {skus} SKUs x {} locations and {orders} orders set up in {:.0} s",
        WAREHOUSES.len(),
        setup.elapsed().as_secs_f64()
    );

    let mapping: Vec<(&str, u64)> = WAREHOUSES.iter().copied().zip(locations).collect();
    let extra = "\n[flows.inventory]\nenabled = false\n[flows.orders]\nenabled = false\n\
                 [flows.fulfilment]\nenabled = false\n\
                 [ownership]\nshopify = [\"price\"]\n\
                 [reconcile]\nenabled = false\nbulk_poll_interval = \"100ms\"\n\
                 orders_window = \"1d\"\n";
    let (_dir, agent) = start_agent(&sandbox, &erp.settings(), &mapping, extra);
    let pid = agent.pid().expect("pid");
    let mut control = Control::connect(&agent.socket(), false)
        .await
        .expect("control");
    // The start-up ERP check reads every product too: let it finish first, so the run is
    // measured on its own (its peak still counts in VmHWM, the process's since start).
    let waited = Instant::now();
    while !agent.stderr().contains("ERP check:") && waited.elapsed() < Duration::from_secs(600) {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let before = status_kib(pid, "VmRSS") / 1024;
    let (cpu, start) = (cpu_ms(pid), Instant::now());
    ask(&mut control, Request::Reconcile { dry_run: true }).await;
    let run = loop {
        if let Some(run) = runs(&mut control).await.into_iter().next()
            && run.state != RunState::Running
        {
            break run;
        }
        assert!(
            start.elapsed() < Duration::from_secs(3_600),
            "no finished run\n{}",
            agent.stderr()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let (wall, cpu) = (start.elapsed(), cpu_ms(pid) - cpu);
    assert_eq!(run.state, RunState::Done, "{run:#?}\n{}", agent.stderr());
    let figures = |d| run.dimension(d).map(|f| (f.checked, f.mismatched));
    assert_eq!(
        figures(ParityDimension::Inventory),
        Some((skus as u64 * WAREHOUSES.len() as u64, drifted as u64)),
        "{run:#?}"
    );
    assert_eq!(
        figures(ParityDimension::Orders),
        Some((orders as u64, missing as u64)),
        "{run:#?}"
    );
    assert_eq!(
        figures(ParityDimension::Catalog).map(|f| f.1),
        Some(1),
        "only REC-ORDERS: {run:#?}"
    );
    println!(
        "reconcile: full dry run {:.1} s wall; agent CPU {:.1} s (compare, parse, store; no waiting); agent RSS {before} MiB before the run, {} MiB after, peak {} MiB; {} inventory and {} order mismatches found and stored",
        wall.as_secs_f64(),
        cpu / 1000.0,
        status_kib(pid, "VmRSS") / 1024,
        status_kib(pid, "VmHWM") / 1024,
        drifted,
        missing
    );
}

fn main() {
    runtime().block_on(reconcile());
}
