//! The Shopify sandbox as a process, for the demo and manual runs.
//!
//! ```text
//! shopify-sandbox [--bind 127.0.0.1:0] [--token T] [--secret S] [--shop NAME]
//!                 [--plan standard|advanced|plus|enterprise] [--seed N]
//!                 [--webhook-time-scale F] [--demo-skus N]
//! ```
//! On start it prints one JSON line on stdout (`url`, `graphql_url`, `token`,
//! `shop_domain`, `admin_url`) so a script can read where it listens; logs go to stderr.
//! It runs until SIGINT or SIGTERM. Set up, inspect and break it through `/sandbox/...`.

use std::io::Write;

use anyhow::{Context, bail};
use plumb_tests::sandbox::{ApiVersion, Plan, Sandbox, SandboxConfig};
use rust_decimal::Decimal;

fn parse(args: &[String]) -> anyhow::Result<(SandboxConfig, usize)> {
    let mut config = SandboxConfig::default();
    let mut demo_skus = 0;
    let mut iter = args.iter();
    while let Some(flag) = iter.next() {
        let mut value = || iter.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--bind" => config.bind = value()?.parse().context("--bind")?,
            "--token" => config.access_token = value()?.clone(),
            "--secret" => config.app_secret = value()?.clone(),
            "--shop" => config.shop_name = value()?.clone(),
            "--seed" => config.seed = value()?.parse().context("--seed")?,
            "--webhook-time-scale" => {
                config.webhook_time_scale = value()?.parse().context("--webhook-time-scale")?
            }
            "--demo-skus" => demo_skus = value()?.parse().context("--demo-skus")?,
            "--plan" => {
                config.plan = match value()?.as_str() {
                    "standard" => Plan::Standard,
                    "advanced" => Plan::Advanced,
                    "plus" => Plan::Plus,
                    "enterprise" => Plan::Enterprise,
                    other => bail!("unknown plan {other}"),
                }
            }
            "--help" | "-h" => {
                bail!(
                    "usage: shopify-sandbox [--bind ADDR] [--token T] [--secret S] [--shop NAME] [--plan P] [--seed N] [--webhook-time-scale F] [--demo-skus N]"
                )
            }
            other => bail!("unknown argument {other} (try --help)"),
        }
    }
    Ok((config, demo_skus))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (config, demo_skus) = parse(&args)?;
    let sandbox = Sandbox::start(config)
        .await
        .context("starting the sandbox")?;
    if demo_skus > 0 {
        let admin = sandbox.admin();
        let main = admin.add_location("Main warehouse");
        let second = admin.add_location("Second warehouse");
        for n in 0..demo_skus {
            let sku = format!("SKU-{n:05}");
            let product = admin.add_product(
                &format!("Demo product {n}"),
                &[(sku.as_str(), Decimal::new(1999, 2))],
            );
            for variant in &product.variants {
                admin.stock(variant.inventory_item_id, main, 10);
                admin.stock(variant.inventory_item_id, second, 5);
            }
        }
    }
    let line = serde_json::json!({
        "url": sandbox.url(),
        "graphql_url": sandbox.graphql_url(ApiVersion::V2026_07),
        "admin_url": format!("{}/sandbox", sandbox.url()),
        "token": sandbox.access_token(),
        "shop_domain": sandbox.shop_domain(),
    });
    let mut stdout = std::io::stdout();
    writeln!(stdout, "{line}")?;
    stdout.flush()?;
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
    tracing::info!("shutting down");
    sandbox.shutdown().await;
    Ok(())
}
