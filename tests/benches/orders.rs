//! Orders flow benchmarks, on the real `plumbd`:
//! 1. signed `orders/create` webhooks (Shopify's example body, about 6 KB) durably accepted
//!    from 64 connections, the orders flow paused so only ingest is measured;
//! 2. the acknowledgement latency (send to 200) at a paced 1,000 webhooks/s, p50/p99;
//! 3. orders booked end to end, webhook to ERP document, against the ERP double and a real
//!    Tryton.
//!
//! Prints its figures; `docs/BENCHMARKS.md` records them.
//! Run: `cargo bench -p plumb-tests --bench orders` (`-- ingest` for parts 1 and 2 only)

// A benchmark's output is its figures on stdout.
#![allow(clippy::print_stdout)]

use std::time::{Duration, Instant};

use plumb_agent::erp::Erp;
use plumb_agent::erp::tryton::TrytonSettings;
use plumb_common::FlowKind;
use plumb_common::protocol::{Request, Response};
use plumb_tests::agent::{Agent, Control, WEBHOOK_SECRET, cpu_ms};
use plumb_tests::bench::percentile;
use plumb_tests::erp::double::ErpDouble;
use plumb_tests::inventory::agent_toml;
use plumb_tests::sandbox::orders::OrderSpec;
use plumb_tests::sandbox::payloads;
use plumb_tests::sandbox::{Sandbox, SandboxConfig};
use plumb_tests::tryton::{Clerk, TrytonServer};
use plumb_tests::webhooks::{Delivery, Sender};
use rust_decimal::Decimal;

const CONNECTIONS: usize = 64;
const EXAMPLE: &str = include_str!("../fixtures/shopify/webhooks/orders_create.json");

fn delivery(n: usize) -> Delivery {
    Delivery {
        topic: "orders/create".into(),
        event_id: format!("bench-order-{n}"),
        body: EXAMPLE.as_bytes().to_vec(),
    }
}

async fn paused_agent(dir: &std::path::Path) -> Agent {
    let agent = Agent::start(dir, "");
    let mut control = Control::connect(&agent.socket(), false)
        .await
        .expect("control");
    match control
        .request(Request::Pause {
            flow: FlowKind::Orders,
        })
        .await
    {
        Ok(Response::Flow { .. }) => {}
        other => panic!("pause: {other:?}"),
    }
    agent
}

/// Sends `total` deliveries from 64 connections as fast as they are answered.
async fn ingest(sender: &Sender, first: usize, total: usize) -> Duration {
    let start = Instant::now();
    let tasks: Vec<_> = (0..CONNECTIONS)
        .map(|c| {
            let sender = sender.clone();
            tokio::spawn(async move {
                for n in (first + c..first + total).step_by(CONNECTIONS) {
                    let status = sender.send(&delivery(n)).await.expect("send");
                    assert_eq!(status, 200, "delivery {n} refused");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("producer");
    }
    start.elapsed()
}

/// Sends at a paced `rate` per second for `seconds`, spread over 64 connections; returns
/// every acknowledgement latency, sorted.
async fn paced(sender: &Sender, first: usize, rate: usize, seconds: usize) -> Vec<Duration> {
    let per_connection = rate / CONNECTIONS;
    let interval = Duration::from_secs_f64(CONNECTIONS as f64 / rate as f64);
    let tasks: Vec<_> = (0..CONNECTIONS)
        .map(|c| {
            let sender = sender.clone();
            tokio::spawn(async move {
                // Connections start spread over one interval, not in lockstep.
                tokio::time::sleep(interval.mul_f64(c as f64 / CONNECTIONS as f64)).await;
                let mut ticker = tokio::time::interval(interval);
                ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
                let mut latencies = Vec::new();
                for k in 0..per_connection * seconds {
                    ticker.tick().await;
                    let n = first + c + k * CONNECTIONS;
                    let sent = Instant::now();
                    let status = sender.send(&delivery(n)).await.expect("send");
                    latencies.push(sent.elapsed());
                    assert_eq!(status, 200);
                }
                latencies
            })
        })
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.expect("producer"));
    }
    all.sort();
    all
}

/// Places `count` orders in a sandbox, delivers their `orders/create` to an agent on `erp`,
/// and times until `booked` says all are in the ERP.
async fn end_to_end(erp: &TrytonSettings, skus: &[&str], count: usize) -> (Duration, usize) {
    let sandbox = Sandbox::start(SandboxConfig::default())
        .await
        .expect("sandbox");
    let admin = sandbox.admin();
    let location = admin.add_location("East");
    let variants: Vec<u64> = skus
        .iter()
        .map(|sku| {
            let product = admin.add_product(sku, &[(sku, Decimal::new(1999, 2))]);
            admin.stock(product.variants[0].inventory_item_id, location, 10_000);
            product.variants[0].variant_id
        })
        .collect();
    let orders: Vec<u64> = (0..count)
        .map(|i| {
            admin
                .place_order(&OrderSpec {
                    lines: vec![(variants[i % variants.len()], 1)],
                    location_id: Some(location),
                    email: format!("bench{i}@example.com"),
                    paid: true,
                })
                .expect("place")
        })
        .collect();
    let bodies: Vec<Vec<u8>> = orders
        .iter()
        .map(|id| {
            let payload = admin.with_state(|state| payloads::order(state, *id, "orders/create"));
            serde_json::to_vec(&payload).expect("json")
        })
        .collect();
    let dir = tempfile::tempdir().expect("tempdir");
    let toml = agent_toml(dir.path(), &sandbox, erp, &[("WH-EAST", location)], "");
    let agent = Agent::start(dir.path(), &toml);
    let sender = Sender::new(&agent.webhook_address, WEBHOOK_SECRET.as_bytes());
    let connector = plumb_agent::erp::tryton::Tryton::new(erp.clone()).expect("connector");
    let start = Instant::now();
    for (i, body) in bodies.into_iter().enumerate() {
        let status = sender
            .send(&Delivery {
                topic: "orders/create".into(),
                event_id: format!("e2e-{i}"),
                body,
            })
            .await
            .expect("send");
        assert_eq!(status, 200);
    }
    agent.wait_drained().await;
    let elapsed = start.elapsed();
    let mut booked = 0;
    for id in &orders {
        if connector.sales_order(*id).await.expect("read").is_some() {
            booked += 1;
        }
    }
    (elapsed, booked)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let agent = paused_agent(dir.path()).await;
        let sender = Sender::new(&agent.webhook_address, WEBHOOK_SECRET.as_bytes());
        ingest(&sender, 0, 2_000).await;
        let mut rates = Vec::new();
        let pid = agent.pid().expect("the agent runs");
        let cpu_before = cpu_ms(pid);
        let client_before = cpu_ms(std::process::id());
        for run in 0..3 {
            let total = 20_000;
            let elapsed = ingest(&sender, 10_000 + run * total, total).await;
            rates.push(total as f64 / elapsed.as_secs_f64());
        }
        let cpu_per_webhook_us = (cpu_ms(pid) - cpu_before) / 60_000.0 * 1_000.0;
        let client_per_webhook_us =
            (cpu_ms(std::process::id()) - client_before) / 60_000.0 * 1_000.0;
        let mean = rates.iter().sum::<f64>() / rates.len() as f64;
        println!(
            "orders/create ingest, {CONNECTIONS} connections, {} bytes a body, 3 x 20,000: {} -> mean {mean:.0}/s; CPU a webhook: agent {cpu_per_webhook_us:.0} us, sending client {client_per_webhook_us:.0} us",
            EXAMPLE.len(),
            rates
                .iter()
                .map(|r| format!("{r:.0}/s"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let latencies = paced(&sender, 100_000, 1_000, 10).await;
        println!(
            "ack latency at 1,000/s for 10 s ({} webhooks): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            latencies.len(),
            percentile(&latencies, 0.50).as_secs_f64() * 1e3,
            percentile(&latencies, 0.99).as_secs_f64() * 1e3,
            latencies.last().map_or(0.0, |d| d.as_secs_f64() * 1e3),
        );
        drop(agent);
        if std::env::args().any(|arg| arg == "ingest") {
            return;
        }

        let double = ErpDouble::start().await;
        let skus = ["BENCH-1", "BENCH-2", "BENCH-3"];
        for sku in skus {
            double.add_product(sku, sku, "19.99", None);
            double.set_stock(sku, "WH-EAST", 10_000);
        }
        let (elapsed, booked) = end_to_end(&double.settings(), &skus, 200).await;
        println!(
            "orders booked end to end, ERP double: {booked} of 200 in {:.2} s = {:.1} orders/s",
            elapsed.as_secs_f64(),
            booked as f64 / elapsed.as_secs_f64()
        );

        let server = TrytonServer::shared();
        let clerk = Clerk::new(server);
        let skus = ["SKU-0035", "SKU-0036", "SKU-0037"];
        for sku in skus {
            clerk.inventory(sku, "WH-EAST", 10_000).await;
        }
        let (elapsed, booked) = end_to_end(&server.settings(), &skus, 40).await;
        println!(
            "orders booked end to end, Tryton 8.2: {booked} of 40 in {:.2} s = {:.2} orders/s",
            elapsed.as_secs_f64(),
            booked as f64 / elapsed.as_secs_f64()
        );
    });
}
