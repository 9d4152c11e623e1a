//! `plumb`: parse the command line; run a scripting subcommand, or open the console.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

use plumb_console::cli::{self, Cli};
use plumb_console::tui;
use plumb_console::ui::Theme;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(path) = &cli.log
        && let Err(error) = init_log(path)
    {
        let _ = writeln!(std::io::stderr(), "plumb: {error:#}");
        return ExitCode::from(cli::EXIT_USAGE);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            let _ = writeln!(std::io::stderr(), "plumb: cannot start: {error}");
            return ExitCode::FAILURE;
        }
    };
    match &cli.command {
        Some(command) => {
            let code = runtime.block_on(cli::run(
                command,
                &cli.socket,
                cli.read_only,
                &mut std::io::stdout(),
                &mut std::io::stderr(),
            ));
            ExitCode::from(code)
        }
        None => match runtime.block_on(console(&cli)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                let _ = writeln!(std::io::stderr(), "plumb: {error:#}");
                ExitCode::FAILURE
            }
        },
    }
}

/// The interactive console, in a terminal set up by [`tui::enter`] (which restores it on
/// panic too).
async fn console(cli: &Cli) -> anyhow::Result<()> {
    let color = std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty());
    let mut terminal = tui::enter().context("cannot set up the terminal")?;
    let inputs = tui::spawn_input_thread();
    let result = tui::run(
        &mut terminal,
        cli.socket.clone(),
        cli.read_only,
        Theme { color },
        inputs,
        |_| false,
    )
    .await;
    tui::leave();
    result.context("the console stopped")
}

/// Tracing to a file: the screen belongs to the console.
fn init_log(path: &std::path::Path) -> anyhow::Result<()> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open the log file {}", path.display()))?;
    tracing_subscriber::fmt()
        .with_writer(std::sync::Mutex::new(file))
        .with_ansi(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    Ok(())
}
