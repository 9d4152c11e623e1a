//! Agent core benchmarks: durable enqueue from 64 producers, the full enqueue -> take ->
//! complete cycle, agent idle RSS, and the cost of 10 subscribed consoles on webhook
//! ingest. Prints its figures; `docs/BENCHMARKS.md` records them.
//!
//! Run: `cargo bench -p plumb-tests --bench core`

// A benchmark's output is its figures on stdout.
#![allow(clippy::print_stdout)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use plumb_agent::clock::Clock;
use plumb_agent::shutdown::ShutdownTrigger;
use plumb_agent::store::{
    EnqueueOptions, Failure, LeasedJob, NewJob, RetryPolicy, Store, StoreSettings,
};
use plumb_agent::worker::{BoxFuture, FlowRunner, Handler, random_jitter};
use plumb_common::{FlowKind, Timestamp};
use plumb_tests::agent::{Agent, WEBHOOK_SECRET, cpu_ms, subscribed_consoles};
use plumb_tests::webhooks::{Sender, send_level_updates};

const PRODUCERS: u64 = 64;

fn job(n: u64) -> NewJob {
    NewJob {
        flow: FlowKind::Orders,
        payload_kind: "bench".into(),
        payload: format!("{{\"order\":{n},\"padding\":\"{}\"}}", "x".repeat(400)).into_bytes(),
        options: EnqueueOptions {
            dedup: Some((format!("bench:{n}"), Duration::from_secs(7 * 86_400))),
            ..Default::default()
        },
    }
}

async fn enqueue_all(store: &Store, total: u64) -> Duration {
    let start = Instant::now();
    let mut tasks = Vec::new();
    for p in 0..PRODUCERS {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for n in (p..total).step_by(PRODUCERS as usize) {
                let j = job(n);
                store
                    .write(move |ctx| ctx.enqueue(j, Timestamp::now()))
                    .await
                    .expect("enqueue");
            }
        }));
    }
    for task in tasks {
        task.await.expect("producer");
    }
    start.elapsed()
}

struct Noop(Arc<AtomicU64>);

impl Handler for Noop {
    fn run<'a>(&'a self, _job: &'a LeasedJob) -> BoxFuture<'a, Result<(), Failure>> {
        Box::pin(async move {
            self.0.fetch_add(1, Ordering::Relaxed);
            Ok(())
        })
    }
}

/// A fresh store in a temporary directory (kept alive by the returned guard).
fn temp_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bench.redb");
    let store = Store::open(&path, StoreSettings::default(), Timestamp::now()).expect("open");
    (dir, store)
}

/// Prints a throughput line.
fn report(what: &str, total: u64, elapsed: Duration, goal: u64) {
    println!(
        "{what}: {total} jobs in {:.2} s = {:.0} jobs/s (goal >= {goal})",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64()
    );
}

async fn durable_enqueue() {
    let (_dir, store) = temp_store();
    let total = 50_000;
    let elapsed = enqueue_all(&store, total).await;
    report(
        &format!("durable enqueue, {PRODUCERS} producers"),
        total,
        elapsed,
        5_000,
    );
    store.close().await;
}

async fn full_cycle() {
    let (_dir, store) = temp_store();
    let done = Arc::new(AtomicU64::new(0));
    let (trigger, shutdown) = ShutdownTrigger::new();
    let runner = FlowRunner {
        flow: FlowKind::Orders,
        handler: Arc::new(Noop(done.clone())),
        concurrency: 64,
        policy: RetryPolicy {
            max_attempts: 3,
            base: Duration::from_secs(1),
            cap: Duration::from_secs(10),
        },
        lease: Duration::from_secs(60),
        grace: Duration::from_secs(5),
        store: store.clone(),
        clock: Clock::System,
        jitter: random_jitter(),
    };
    let worker = tokio::spawn(runner.run(shutdown));
    let total = 30_000;
    let start = Instant::now();
    enqueue_all(&store, total).await;
    while store.completed_total().await.expect("total") < total {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let elapsed = start.elapsed();
    report(
        "full cycle enqueue -> take -> complete, durable",
        total,
        elapsed,
        2_000,
    );
    trigger.trigger();
    worker.await.expect("worker");
    store.close().await;
}

fn rss_kib(pid: u32) -> u64 {
    plumb_tests::bench::status_kib(pid, "VmRSS")
}

/// Webhooks/s through the real agent over HTTP with `subscribers` consoles attached, and
/// the agent's CPU milliseconds per 1,000 webhooks (ingest plus running their jobs).
async fn ingest_rate(agent: &Agent, subscribers: usize, offset: u64) -> (f64, f64) {
    agent.wait_drained().await;
    let pid = agent.pid().expect("pid");
    let cpu_before = cpu_ms(pid);
    let consoles = subscribed_consoles(&agent.socket(), subscribers)
        .await
        .expect("consoles");
    let sender = Sender::new(&agent.webhook_address, WEBHOOK_SECRET.as_bytes());
    let per_task = 250;
    let start = Instant::now();
    send_level_updates(&sender, "b", offset, PRODUCERS, per_task).await;
    let rate = (PRODUCERS * per_task) as f64 / start.elapsed().as_secs_f64();
    agent.wait_drained().await;
    let cpu_per_1000 = (cpu_ms(pid) - cpu_before) / (PRODUCERS * per_task) as f64 * 1000.0;
    for console in consoles {
        console.abort();
    }
    (rate, cpu_per_1000)
}

async fn agent_figures() {
    let dir = tempfile::tempdir().expect("tempdir");
    let agent = Agent::start(dir.path(), "");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let pid = agent.pid().expect("pid");
    println!("agent idle RSS: {} KiB (goal <= 30 MiB)", rss_kib(pid));
    // Alternate the two conditions so the store's growth does not favour either.
    let _warm = ingest_rate(&agent, 0, 0).await;
    let (mut alone, mut watched) = (Vec::new(), Vec::new());
    for round in 0..3u64 {
        alone.push(ingest_rate(&agent, 0, (2 * round + 1) * 100_000).await);
        watched.push(ingest_rate(&agent, 10, (2 * round + 2) * 100_000).await);
    }
    let mean = |v: &[(f64, f64)], pick: fn(&(f64, f64)) -> f64| {
        v.iter().map(pick).sum::<f64>() / v.len() as f64
    };
    let (rate_alone, rate_watched) = (mean(&alone, |r| r.0), mean(&watched, |r| r.0));
    let (cpu_alone, cpu_watched) = (mean(&alone, |r| r.1), mean(&watched, |r| r.1));
    println!("  runs alone (webhooks/s, agent CPU ms per 1000): {alone:.0?}");
    println!("  runs with 10 subscribed consoles:              {watched:.0?}");
    println!(
        "webhook ingest over HTTP, {PRODUCERS} connections, mean of 3 alternating runs: {rate_alone:.0}/s alone, {rate_watched:.0}/s with 10 subscribed consoles"
    );
    println!(
        "agent CPU per 1000 webhooks: {cpu_alone:.0} ms alone, {cpu_watched:.0} ms with 10 subscribed consoles ({:+.1}%; goal: cost <= 5%)",
        (cpu_watched - cpu_alone) / cpu_alone * 100.0
    );
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        durable_enqueue().await;
        full_cycle().await;
        agent_figures().await;
    });
}
