//! The ERP double as a program, for the demo: `plumbd` with `erp.url` pointing here talks
//! to it exactly as to Tryton.
//!
//! ```sh
//! cargo run -p plumb-tests --bin erp-double -- --listen 127.0.0.1:8069 --skus 20
//! ```
//! Prints one JSON line (url, database, user, password) and serves until Ctrl-C. Seeds
//! warehouses WH-EAST and WH-WEST, taxes "NY State Tax" (4 %) and "NYC Sales Tax" (4.5 %),
//! a carrier, and SKU-0001.. with 10 on hand in WH-EAST and 5 in WH-WEST.

use plumb_tests::erp::double::{DATABASE, ErpDouble, PASSWORD, USER};

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let listen = arg(&args, "--listen").unwrap_or_else(|| "127.0.0.1:0".into());
    let skus: usize = arg(&args, "--skus")
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(20);
    let double = ErpDouble::start_on(&listen).await;
    double.seed_products(skus, 10, 5);
    let line = serde_json::json!({
        "url": double.url(), "database": DATABASE, "user": USER, "password": PASSWORD,
    });
    #[allow(clippy::print_stdout)] // the program's one output line, for scripts
    {
        println!("{line}");
    }
    tokio::signal::ctrl_c().await?;
    Ok(())
}
