//! The one-command demo (README's first command):
//!
//! ```sh
//! cargo run -p plumb-tests --bin plumb-demo
//! ```
//! Starts the Shopify sandbox and the ERP double in this process, writes a configuration
//! under `target/demo/`, runs the real `plumbd` on it, generates traffic (orders placed
//! in the sandbox and delivered as signed webhooks, ERP stock changes, a few bad
//! payloads, a short ERP outage) and opens the `plumb` console attached. Quitting the
//! console stops everything the demo started.
//!
//! `--no-console --for SECS` runs the traffic for that long without the console, then
//! prints the agent's status and exits 0 only if orders went through and the bad
//! payloads became dead letters (what the demo's test checks). `--dir PATH` puts the
//! agent's files elsewhere; `--skus N` sets the catalogue size (default 20).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use plumb_common::protocol::{Request, Response, StatusSnapshot};
use plumb_tests::agent::{Agent, Control, WEBHOOK_SECRET, plumb_binary};
use plumb_tests::erp::double::{ErpDouble, Fault};
use plumb_tests::inventory::agent_toml;
use plumb_tests::sandbox::orders::OrderSpec;
use plumb_tests::sandbox::{Sandbox, SandboxConfig, payloads};
use plumb_tests::webhooks::{Delivery, Sender};
use rust_decimal::Decimal;

/// The demo's command line.
#[derive(Debug)]
struct Options {
    dir: PathBuf,
    skus: usize,
    console: bool,
    run_for: Duration,
}

fn options() -> anyhow::Result<Options> {
    let mut options = Options {
        dir: default_dir()?,
        skus: 20,
        console: true,
        run_for: Duration::from_secs(10),
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--dir" => options.dir = PathBuf::from(value()?),
            "--skus" => options.skus = value()?.parse().context("--skus")?,
            "--for" => {
                options.run_for = Duration::from_secs(value()?.parse().context("--for")?);
            }
            "--no-console" => options.console = false,
            "--help" | "-h" => {
                bail!("usage: plumb-demo [--dir PATH] [--skus N] [--no-console [--for SECS]]")
            }
            other => bail!("unknown argument {other} (try --help)"),
        }
    }
    if options.skus == 0 {
        bail!("--skus must be at least 1");
    }
    Ok(options)
}

/// `target/demo`, next to the profile directory this binary was built in.
fn default_dir() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot find the demo's own path")?;
    let target = exe
        .parent()
        .and_then(Path::parent)
        .context("the demo binary is not inside a target directory")?;
    Ok(target.join("demo"))
}

fn say(line: &str) {
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "plumb-demo: {line}");
    let _ = stdout.flush();
}

/// The shop, the ERP and the agent between them.
struct Demo {
    sandbox: Sandbox,
    double: ErpDouble,
    agent: Agent,
    /// (variant id, SKU) of every product.
    variants: Vec<(u64, String)>,
    east: u64,
}

async fn start(options: &Options) -> anyhow::Result<Demo> {
    // A fresh store each time: the sandbox's ids are new on every start.
    if options.dir.exists() {
        std::fs::remove_dir_all(&options.dir)
            .with_context(|| format!("cannot clear {}", options.dir.display()))?;
    }
    std::fs::create_dir_all(&options.dir)
        .with_context(|| format!("cannot create {}", options.dir.display()))?;
    let sandbox = Sandbox::start(SandboxConfig::signed_with(WEBHOOK_SECRET))
        .await
        .context("starting the Shopify sandbox")?;
    let admin = sandbox.admin();
    let east = admin.add_location("East");
    let west = admin.add_location("West");
    let double = ErpDouble::start().await;
    double.seed_products(options.skus, 10, 5);
    let mut variants = Vec::new();
    for n in 1..=options.skus {
        let sku = format!("SKU-{n:04}");
        let product = admin.add_product(
            &format!("Plumb Product {sku}"),
            &[(sku.as_str(), Decimal::from(10 + n))],
        );
        let variant = &product.variants[0];
        admin.stock(variant.inventory_item_id, east, 10);
        admin.stock(variant.inventory_item_id, west, 5);
        variants.push((variant.variant_id, sku));
    }
    // One SKU Shopify has and the ERP does not: its orders become dead letters.
    let ghost = admin.add_product("Ghost", &[("GHOST-1", Decimal::from(5))]);
    admin.stock(ghost.variants[0].inventory_item_id, east, 3);
    variants.push((ghost.variants[0].variant_id, "GHOST-1".into()));
    let toml = agent_toml(
        &options.dir,
        &sandbox,
        &double.settings(),
        &[("WH-EAST", east), ("WH-WEST", west)],
        // Reconciliation passes often enough that the Parity view has runs to show (the
        // first one a light pass after 20 s; the Ghost SKU is catalogue drift).
        "\n[inventory]\npoll_interval = \"1s\"\n\
         [reconcile]\nlight_interval = \"20s\"\nfull_interval = \"1m\"\n",
    );
    say(&format!("starting plumbd in {}", options.dir.display()));
    let agent = tokio::task::spawn_blocking({
        let dir = options.dir.clone();
        move || Agent::start(&dir, &toml)
    })
    .await
    .context("starting plumbd")?;
    Ok(Demo {
        sandbox,
        double,
        agent,
        variants,
        east,
    })
}

/// Orders, stock changes, bad payloads and one short ERP outage, until aborted.
async fn traffic(
    sandbox_admin: plumb_tests::sandbox::Admin,
    double: ErpDouble,
    sender: Sender,
    variants: Vec<(u64, String)>,
    east: u64,
) {
    let mut rng = fastrand::Rng::with_seed(7);
    let mut tick = tokio::time::interval(Duration::from_millis(400));
    for n in 0u64.. {
        tick.tick().await;
        let delivery = match n % 5 {
            // An order on a random product, delivered as Shopify would.
            0 | 2 => {
                let (variant, _) = &variants[rng.usize(..variants.len())];
                let spec = OrderSpec {
                    lines: vec![(*variant, rng.i64(1..=2))],
                    location_id: Some(east),
                    email: format!("buyer{n}@example.com"),
                    paid: true,
                };
                match sandbox_admin.place_order(&spec) {
                    Ok(order) => {
                        let body = sandbox_admin
                            .with_state(|state| payloads::order(state, order, "orders/create"));
                        Some(Delivery {
                            topic: "orders/create".into(),
                            event_id: format!("demo-order-{n}"),
                            body: serde_json::to_vec(&body).unwrap_or_default(),
                        })
                    }
                    // Out of stock in the sandbox: the ERP restocks it below.
                    Err(_) => None,
                }
            }
            // A stock change in the ERP (never for the ghost SKU, the ERP does not have it).
            1 | 3 => {
                let known = variants.len() - 1;
                let (_, sku) = &variants[rng.usize(..known)];
                let warehouse = if rng.bool() { "WH-EAST" } else { "WH-WEST" };
                double.set_stock(sku, warehouse, rng.i64(0..=30));
                None
            }
            // Now and then a signed payload that is not an order.
            _ if n % 25 == 4 => Some(Delivery {
                topic: "orders/create".into(),
                event_id: format!("demo-garbage-{n}"),
                body: b"<html>502 Bad Gateway</html>".to_vec(),
            }),
            _ => None,
        };
        // A short ERP outage: the next calls fail as an unavailable database would.
        if n == 30 {
            double.inject("*", Fault::Status(503), 12);
        }
        if let Some(delivery) = delivery {
            let _ = sender.send(&delivery).await;
        }
    }
}

async fn status(agent: &Agent) -> anyhow::Result<StatusSnapshot> {
    let mut control = Control::connect(&agent.socket(), true)
        .await
        .map_err(|reason| anyhow::anyhow!("cannot connect to plumbd: {reason}"))?;
    match control.request(Request::Status).await {
        Ok(Response::Status(status)) => Ok(status),
        other => bail!("unexpected status answer: {other:?}"),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = options()?;
    let demo = start(&options).await?;
    let sender = Sender::new(&demo.agent.webhook_address, WEBHOOK_SECRET.as_bytes());
    let traffic = tokio::spawn(traffic(
        demo.sandbox.admin(),
        demo.double.clone(),
        sender,
        demo.variants.clone(),
        demo.east,
    ));
    let outcome = if options.console {
        say("opening the console (q quits and stops everything)");
        let socket = demo.agent.socket();
        let log = options.dir.join("plumb.log");
        let console = tokio::task::spawn_blocking(move || {
            std::process::Command::new(plumb_binary())
                .arg("--socket")
                .arg(socket)
                .arg("--log")
                .arg(log)
                .status()
        })
        .await
        .context("running the console")?;
        match console {
            Ok(status) if status.success() => Ok(()),
            Ok(status) => Err(anyhow::anyhow!("the console exited with {status}")),
            Err(error) => Err(anyhow::anyhow!("cannot run the console: {error}")),
        }
    } else {
        tokio::time::sleep(options.run_for).await;
        check(&demo.agent).await
    };
    traffic.abort();
    let Demo {
        sandbox, mut agent, ..
    } = demo;
    let stopped = tokio::task::spawn_blocking(move || agent.stop()).await;
    sandbox.shutdown().await;
    say(match stopped {
        Ok(true) => "stopped plumbd, the sandbox and the ERP double",
        _ => "plumbd did not stop cleanly; see its log",
    });
    outcome
}

/// Orders went through and the bad payloads became dead letters.
async fn check(agent: &Agent) -> anyhow::Result<()> {
    let status = status(agent).await?;
    let mut stdout = std::io::stdout();
    let _ = plumb_console::cli::print_status(&mut stdout, &status, plumb_common::Timestamp::now());
    let orders = status
        .flow(plumb_common::FlowKind::Orders)
        .context("no orders flow in the status")?;
    if orders.last_success.is_none() {
        bail!("no order went through:\n{}", agent.stderr());
    }
    if status.dead_letters == 0 {
        bail!("no dead letter from the bad payloads:\n{}", agent.stderr());
    }
    Ok(())
}
