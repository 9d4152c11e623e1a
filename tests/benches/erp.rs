//! ERP connector benchmarks against a real Tryton 8.2 (SQLite backend, on this machine):
//! - a full stock read: 10,000 SKUs x 3 warehouses;
//! - one stock change poll that finds 100 changes;
//! - sales orders booked per second (create, quote, confirm, process).
//!
//! Seeding 10,000 products takes minutes, so the seeded database is saved once under
//! `target/tryton/db/` (keyed on the initialised database, seed.py and the sizes) and later
//! runs start from a copy of it.
//!
//! Run: `cargo bench -p plumb-tests --bench erp`. Prints its figures.

#![allow(clippy::print_stdout)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use plumb_agent::erp::{Erp, Selection};
use plumb_tests::erp::orders::{line, order};
use plumb_tests::tryton::TrytonServer;

const SKUS: usize = 10_000;
const WAREHOUSES: [&str; 3] = ["WH-EAST", "WH-WEST", "WH-NORTH"];
const CHANGES: usize = 100;
const ORDERS: usize = 40;

fn snapshot_path(base_db: &std::path::Path) -> PathBuf {
    let seed =
        std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tryton/seed.py")).unwrap_or_default();
    let mut hash = Sha256::new();
    hash.update(base_db.to_string_lossy().as_bytes());
    hash.update(&seed);
    hash.update(format!("{SKUS}x{}", WAREHOUSES.len()).as_bytes());
    let key: String = hash
        .finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect();
    base_db.with_file_name(format!("bench-{SKUS}-{key}.sqlite"))
}

fn server() -> TrytonServer {
    // a first start tells us which initialised database the snapshot builds on
    let mut probe = TrytonServer::start();
    let snapshot = snapshot_path(&probe.base_db);
    if snapshot.exists() {
        probe.stop();
        println!("seeded database: {} (cached)", snapshot.display());
        return TrytonServer::start_from(Some(&snapshot));
    }
    println!(
        "seeding {SKUS} products x {} warehouses (once; cached afterwards)...",
        WAREHOUSES.len()
    );
    let started = Instant::now();
    probe.seed(SKUS, &["--warehouses", "3"]);
    println!("seeded in {:.0} s", started.elapsed().as_secs_f64());
    probe.snapshot(&snapshot);
    println!("seeded database saved: {}", snapshot.display());
    probe
}

fn stats(samples: &mut [Duration]) -> (f64, f64) {
    samples.sort();
    let median = samples[samples.len() / 2].as_secs_f64();
    (samples[0].as_secs_f64(), median)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let server = server();
    let tryton = server.connector();
    let warehouses: Vec<String> = WAREHOUSES.iter().map(|w| (*w).to_owned()).collect();
    tryton.health().await.expect("Tryton answers");

    // 1. full stock read
    let mut samples = Vec::new();
    let mut count = 0;
    for _ in 0..3 {
        let started = Instant::now();
        let levels = tryton
            .stock(Selection::All, &warehouses)
            .await
            .expect("stock");
        samples.push(started.elapsed());
        count = levels.len();
    }
    let (best, median) = stats(&mut samples);
    println!(
        "stock read, {count} levels ({SKUS} SKUs x {} warehouses): best {best:.2} s, median {median:.2} s ({:.0} levels/s)",
        WAREHOUSES.len(),
        count as f64 / median
    );

    // 2. one change poll finding 100 changes (an inventory of 100 lines in WH-EAST)
    let session = tryton.session();
    let storage = session
        .model(
            "stock.location",
            "search",
            vec![json!([["code", "=", "WH-EAST-STO"]])],
            None,
        )
        .await
        .expect("storage");
    let storage = storage[0].as_i64().expect("storage id");
    let products = session
        .model(
            "product.product",
            "search",
            vec![
                json!([["suffix_code", "like", "SKU-%"]]),
                json!(0),
                json!(CHANGES),
                json!([["id", "DESC"]]),
            ],
            None,
        )
        .await
        .expect("products");
    let mut samples = Vec::new();
    let mut found = 0;
    for round in 0..3 {
        let cursor = tryton.stock_cursor().await.expect("cursor");
        let lines: Vec<Value> = products
            .as_array()
            .map(|ids| {
                ids.iter()
                    .map(|p| json!({"product": p, "quantity": (20 + round) as f64}))
                    .collect()
            })
            .unwrap_or_default();
        let inventory = session
            .model(
                "stock.inventory",
                "create",
                vec![json!([{"location": storage}])],
                None,
            )
            .await
            .expect("inventory");
        let inventory_id = inventory[0].clone();
        for chunk in lines.chunks(50) {
            let chunk: Vec<Value> = chunk
                .iter()
                .map(|l| {
                    let mut l = l.clone();
                    l["inventory"] = inventory_id.clone();
                    l
                })
                .collect();
            session
                .model("stock.inventory.line", "create", vec![json!(chunk)], None)
                .await
                .expect("lines");
        }
        session
            .model("stock.inventory", "confirm", vec![inventory], None)
            .await
            .expect("confirm");
        let started = Instant::now();
        let changes = tryton
            .stock_changes(&cursor, &warehouses)
            .await
            .expect("poll");
        samples.push(started.elapsed());
        found = changes.levels.len();
    }
    let (best, median) = stats(&mut samples);
    println!(
        "change poll finding {found} changed SKU x warehouse pairs: best {:.0} ms, median {:.0} ms",
        best * 1e3,
        median * 1e3
    );

    // 3. sales orders booked per second (sequential, then 4 at once)
    let base = 5_000_000 + (std::process::id() as u64 % 1000) * 1000;
    let started = Instant::now();
    for n in 0..ORDERS {
        let sku = format!("SKU-{:04}", 100 + n);
        let sale = order(
            base + n as u64,
            "WH-EAST",
            vec![line(&sku, 1, "20.00", "0", vec![])],
        );
        tryton.create_sales_order(&sale).await.expect("order");
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "sales orders, sequential: {ORDERS} in {elapsed:.1} s = {:.1} orders/s",
        ORDERS as f64 / elapsed
    );

    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..4u64 {
        let tryton = server.connector();
        tasks.push(tokio::spawn(async move {
            let mut total_retries = 0;
            for n in 0..(ORDERS as u64 / 4) {
                let id = base + 500 + worker * 100 + n;
                let sku = format!("SKU-{:04}", 200 + worker * 10 + n);
                let sale = order(id, "WH-WEST", vec![line(&sku, 1, "20.00", "0", vec![])]);
                // as the queue would: retry what is transient (SQLite lets one writer in)
                let mut retries = 0;
                loop {
                    match tryton.create_sales_order(&sale).await {
                        Ok(_) => break,
                        Err(error) if error.is_transient() && retries < 10 => retries += 1,
                        Err(error) => panic!("order {id}: {error}"),
                    }
                }
                total_retries += retries;
            }
            total_retries
        }));
    }
    let mut retries = 0;
    for task in tasks {
        retries += task.await.expect("task");
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "sales orders, 4 at once: {ORDERS} in {elapsed:.1} s = {:.1} orders/s ({retries} transient retries)",
        ORDERS as f64 / elapsed
    );
}
