//! What the benchmarks share: Shopify budget accounting over a measured window, the
//! naive one-call-per-row loop they compare with, percentiles and process figures.

// A benchmark's output is its figures on stdout.
#![allow(clippy::print_stdout)]

use std::time::{Duration, Instant};

use plumb_agent::shopify::{ClientStats, SetRequest, SetRow, ShopifyClient};
use plumb_common::JobId;

use crate::sandbox::{Admin, ApiVersion, Sandbox, Stats};
use crate::shopify::client_for;

/// What the sandbox counted over one measured run.
#[derive(Debug)]
pub struct Window {
    /// How long the run took.
    pub elapsed: Duration,
    /// Levels updated.
    pub updates: usize,
    /// GraphQL calls executed.
    pub calls: u64,
    /// Points charged.
    pub charged: u64,
    /// THROTTLED answers.
    pub throttled: u64,
    /// The plan's restore rate.
    pub restore_rate: f64,
    /// Points in the bucket at the start.
    pub initial_points: f64,
    /// The client's own counters, when one client made the calls.
    pub client: ClientStats,
}

impl Window {
    /// The sandbox's counters between two snapshots.
    pub fn between(before: &Stats, after: &Stats, admin: &Admin, elapsed: Duration) -> Window {
        Window {
            elapsed,
            updates: 0,
            calls: after.executed - before.executed,
            charged: after.points_charged - before.points_charged,
            throttled: after.throttled - before.throttled,
            restore_rate: admin.throttle_status().restore_rate,
            initial_points: 0.0,
            client: ClientStats::default(),
        }
    }

    /// Points the accounting allowed over the run.
    pub fn allowed(&self) -> f64 {
        self.initial_points + self.restore_rate * self.elapsed.as_secs_f64()
    }

    /// Mean points a call.
    pub fn cost_per_call(&self) -> f64 {
        self.charged as f64 / self.calls.max(1) as f64
    }

    /// Prints the run's figures under the heading `what`.
    pub fn print(&self, what: &str) {
        let secs = self.elapsed.as_secs_f64();
        let rows_per_call = self.updates as f64 / self.calls.max(1) as f64;
        let limit = self.allowed() / self.cost_per_call() * rows_per_call / secs;
        println!("{what}");
        println!(
            "  {} updates in {:.2} s = {:.0} updates/s; {} calls of {:.1} points and {:.0} rows",
            self.updates,
            secs,
            self.updates as f64 / secs,
            self.calls,
            self.cost_per_call(),
            rows_per_call
        );
        println!(
            "  points charged {} / allowed {:.0} ({:.0} initial + {:.0}/s x {:.2} s) = {:.1} %",
            self.charged,
            self.allowed(),
            self.initial_points,
            self.restore_rate,
            secs,
            100.0 * self.charged as f64 / self.allowed()
        );
        println!(
            "  the accounting's limit at this cost per row: {:.0} updates/s; achieved {:.1} % of it; THROTTLED {}",
            limit,
            100.0 * self.updates as f64 / secs / limit,
            self.throttled
        );
        println!("  client: {:?}", self.client);
    }
}

/// A client that has seen no report yet: its bucket model syncs on the first answer.
pub fn fresh_client(sandbox: &Sandbox) -> ShopifyClient {
    client_for(sandbox, ApiVersion::V2026_07, |_| {}).expect("client")
}

/// One `inventorySetQuantities` call per row (each level from `from` to `from + 1`),
/// sequential, for `run_for`, through a fresh client.
pub async fn naive(
    sandbox: &Sandbox,
    admin: &Admin,
    levels: &[(u64, u64)],
    from: i64,
    run_for: Duration,
) -> Window {
    let client = fresh_client(sandbox);
    admin.set_bucket(0.0);
    let before = admin.stats();
    let start = Instant::now();
    let mut updates = 0;
    for (n, &(item, location)) in levels.iter().enumerate() {
        if start.elapsed() >= run_for {
            break;
        }
        let row = SetRow {
            inventory_item_id: item,
            location_id: location,
            quantity: from + 1,
            change_from_quantity: Some(from),
        };
        let request = SetRequest::available(JobId(1_000_000 + n as u64), vec![row]);
        let outcome = client.set_inventory(&request).await.expect("set_inventory");
        assert!(
            outcome.all_applied(),
            "not applied: {:?}",
            outcome.failure()
        );
        updates += 1;
    }
    let elapsed = start.elapsed();
    let mut window = Window::between(&before, &admin.stats(), admin, elapsed);
    window.updates = updates;
    window.client = client.stats();
    window
}

/// The `p` quantile (0..=1) of sorted samples, nearest rank.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

/// A `/proc/<pid>/status` figure in KiB (`VmRSS`, `VmHWM`...); 0 when unreadable.
pub fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix(field)
                    .and_then(|v| v.strip_prefix(':'))
                    .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
            })
        })
        .unwrap_or(0)
}

/// The runtime a benchmark's `main` runs on: two worker threads, like the machine.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}
