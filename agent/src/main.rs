//! `plumbd`: parse the command line, set up logging, bind the sockets, tell systemd, and
//! hand over to [`plumb_agent::app::run`].

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use plumb_agent::app::{self, Listeners};
use plumb_agent::config::Config;
use plumb_agent::{control, logging};

/// The Plumb agent: keeps a Shopify store and an ERP in line.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// The configuration file.
    #[arg(
        long,
        global = true,
        default_value = "/etc/plumb/plumb.toml",
        env = "PLUMB_CONFIG"
    )]
    config: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the agent (what systemd starts).
    Run,
    /// Validate the configuration and report every problem; exit 1 if there is any.
    CheckConfig,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(&cli.config) {
        Ok(config) => config,
        Err(problems) => {
            eprintln!("{problems}");
            return ExitCode::FAILURE;
        }
    };
    match cli.command {
        Command::CheckConfig => {
            eprintln!("{}: configuration is valid", cli.config.display());
            ExitCode::SUCCESS
        }
        Command::Run => match run(config) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("plumbd: {error:#}");
                ExitCode::FAILURE
            }
        },
    }
}

fn run(config: Config) -> anyhow::Result<()> {
    let _log_guard = logging::init(&config.agent).context("cannot set up logging")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(config.agent.workers)
        .enable_all()
        .thread_name("plumbd")
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let group = config.control.group;
        let control = control::bind(&config.control.socket, group).await?;
        let webhooks = match &config.webhooks {
            Some(webhooks) => Some(
                tokio::net::TcpListener::bind(webhooks.listen)
                    .await
                    .with_context(|| {
                        format!("cannot listen for webhooks on {}", webhooks.listen)
                    })?,
            ),
            None => None,
        };
        let listeners = Listeners { control, webhooks };
        let socket = config.control.socket.clone();
        let watchdog = tokio::spawn(systemd_watchdog());
        let result = app::run(config, listeners, stop_signal(), || {
            notify_systemd(&[sd_notify::NotifyState::Ready]);
        })
        .await;
        notify_systemd(&[sd_notify::NotifyState::Stopping]);
        watchdog.abort();
        let _ = std::fs::remove_file(&socket);
        result.map_err(anyhow::Error::from)
    })
}

/// Resolves on SIGTERM (systemd stop) or SIGINT (Ctrl-C).
async fn stop_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::error!("cannot install signal handlers; stop plumbd with SIGKILL");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM received"),
        _ = int.recv() => tracing::info!("SIGINT received"),
    }
}

fn notify_systemd(states: &[sd_notify::NotifyState<'_>]) {
    if let Err(error) = sd_notify::notify(states) {
        tracing::debug!(%error, "systemd notification not sent");
    }
}

/// Pings systemd's watchdog at half its period, when `WatchdogSec` is set.
async fn systemd_watchdog() {
    let Some(period) = sd_notify::watchdog_enabled().filter(|p| !p.is_zero()) else {
        return;
    };
    let mut tick = tokio::time::interval(period / 2);
    loop {
        tick.tick().await;
        notify_systemd(&[sd_notify::NotifyState::Watchdog]);
    }
}
