//! What 10 subscribed consoles cost the agent, counted in instructions rather than time.
//!
//! Throughput on this two-core machine varies by about ±10 % between runs, so it cannot
//! show a 5 % difference. Here the real `plumbd` runs under valgrind's callgrind, which
//! counts every instruction the agent executes; the count does not depend on what else the
//! machine is doing. For each condition (no consoles, 10 subscribed consoles) a fresh agent
//! takes a warm-up batch of signed webhooks, then the counters are zeroed, a measured batch
//! is sent and worked off, and the counters are dumped: instructions per webhook, ingest
//! plus running the job. The conditions alternate, three times each.
//!
//! Under valgrind the agent runs about 50 times slower, so its once-a-second work (the
//! statistics pushed to each console) weighs about 50 times more per webhook than at full
//! speed: the figure overstates what consoles cost, never understates it.
//!
//! `cargo bench -p plumb-tests --bench consoles` (needs valgrind: `apt-get install valgrind`).
// A benchmark's output is its figures.
#![allow(clippy::print_stdout)]

use std::path::Path;
use std::process::Command;

use plumb_tests::agent::{Agent, WEBHOOK_SECRET, subscribed_consoles};
use plumb_tests::webhooks::{Sender, send_level_updates};

/// Webhooks before the counters are zeroed (connections, caches, tables warm).
const WARM_UP: u64 = 200;
/// Webhooks counted.
const MEASURED: u64 = 2_000;
/// Concurrent HTTP connections sending them.
const PRODUCERS: u64 = 8;
/// Runs of each condition.
const ROUNDS: u64 = 3;
/// Consoles in the watched condition.
const CONSOLES: usize = 10;

fn require(tool: &str) {
    let found = Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success());
    assert!(
        found,
        "{tool} is needed for this benchmark: install valgrind (apt-get install valgrind)"
    );
}

async fn send(agent: &Agent, first: u64, count: u64) {
    let sender = Sender::new(&agent.webhook_address, WEBHOOK_SECRET.as_bytes());
    send_level_updates(&sender, "c", first, PRODUCERS, count / PRODUCERS).await;
}

fn callgrind_control(pid: u32, action: &str) {
    let status = Command::new("callgrind_control")
        .args([action, &pid.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("run callgrind_control");
    assert!(status.success(), "callgrind_control {action} {pid} failed");
}

/// The `summary:` (or `totals:`) instruction count of the newest dump in `dir`.
fn dumped_instructions(dir: &Path) -> u64 {
    let mut dumps: Vec<_> = std::fs::read_dir(dir)
        .expect("read dump dir")
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.starts_with("callgrind.out."))
        })
        .collect();
    dumps.sort_by_key(|path| std::fs::metadata(path).and_then(|m| m.modified()).ok());
    let newest = dumps.last().expect("callgrind wrote no dump");
    let text = std::fs::read_to_string(newest).expect("read dump");
    text.lines()
        .find_map(|line| {
            line.strip_prefix("summary:")
                .or_else(|| line.strip_prefix("totals:"))
        })
        .and_then(|value| value.split_whitespace().next()?.parse().ok())
        .expect("dump has no summary line")
}

/// Instructions the agent executes per webhook with `consoles` subscribed.
async fn instructions_per_webhook(consoles: usize, round: u64) -> f64 {
    let dir = tempfile::tempdir().expect("tempdir");
    let dumps = dir.path().join("dumps");
    std::fs::create_dir(&dumps).expect("dump dir");
    let out_file = format!("--callgrind-out-file={}/callgrind.out", dumps.display());
    let mut agent = Agent::start_under(
        dir.path(),
        "",
        &["valgrind", "--tool=callgrind", "--dump-instr=no", &out_file],
    );
    let pid = agent.pid().expect("pid");
    let readers = subscribed_consoles(&agent.socket(), consoles)
        .await
        .expect("consoles");
    let base = round * 1_000_000;
    send(&agent, base, WARM_UP).await;
    agent.wait_drained().await;
    callgrind_control(pid, "--zero");
    send(&agent, base + WARM_UP, MEASURED).await;
    agent.wait_drained().await;
    callgrind_control(pid, "--dump");
    let instructions = dumped_instructions(&dumps);
    for reader in readers {
        reader.abort();
    }
    assert!(agent.stop(), "plumbd did not stop cleanly");
    instructions as f64 / MEASURED as f64
}

fn main() {
    require("valgrind");
    require("callgrind_control");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let (mut alone, mut watched) = (Vec::new(), Vec::new());
        for round in 0..ROUNDS {
            alone.push(instructions_per_webhook(0, 2 * round).await);
            watched.push(instructions_per_webhook(CONSOLES, 2 * round + 1).await);
        }
        let mean = |runs: &[f64]| runs.iter().sum::<f64>() / runs.len() as f64;
        let (alone_mean, watched_mean) = (mean(&alone), mean(&watched));
        println!("agent instructions per webhook (ingest + job), {MEASURED} webhooks per run:");
        println!("  no consoles:          {alone:.0?}");
        println!("  {CONSOLES} subscribed consoles: {watched:.0?}");
        println!(
            "cost of {CONSOLES} consoles: {alone_mean:.0} -> {watched_mean:.0} instructions per webhook ({:+.2}%; goal: <= 5%)",
            (watched_mean - alone_mean) / alone_mean * 100.0
        );
    });
}
