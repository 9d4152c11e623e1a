//! The console's real loop in the real terminal set-up (`plumb_console::tui::enter`, as
//! `plumb` uses it) that panics on the first key pressed: the end-to-end test of the
//! terminal's restoration on panic (`tests/console_e2e.rs`) drives it in tmux. Not a
//! program for anything else.
//!
//! ```sh
//! console-panic-probe SOCKET LOG
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use plumb_console::tui::{self, Input};
use plumb_console::ui::Theme;
use tokio::sync::mpsc;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args_os().skip(1);
    let (Some(socket), Some(log)) = (args.next(), args.next()) else {
        anyhow::bail!("usage: console-panic-probe SOCKET LOG");
    };
    let file = std::fs::File::create(&log).context("cannot create the log file")?;
    tracing_subscriber::fmt()
        .with_writer(std::sync::Mutex::new(file))
        .with_ansi(false)
        .init();
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let mut terminal = tui::enter().context("cannot set up the terminal")?;
        let pressed = Arc::new(AtomicBool::new(false));
        let inputs = forward_keys(tui::spawn_input_thread(), pressed.clone());
        let theme = Theme { color: false };
        tui::run(&mut terminal, socket.into(), false, theme, inputs, |_| {
            assert!(
                !pressed.load(Ordering::SeqCst),
                "console-panic-probe: a bug in the console"
            );
            false
        })
        .await?;
        tui::leave();
        Ok(())
    })
}

/// Passes on everything but keys; a key sets `pressed` and asks for a redraw, in which
/// the loop panics.
fn forward_keys(
    mut keys: mpsc::Receiver<Input>,
    pressed: Arc<AtomicBool>,
) -> mpsc::Receiver<Input> {
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(async move {
        while let Some(input) = keys.recv().await {
            let input = match input {
                Input::Key(_) => {
                    pressed.store(true, Ordering::SeqCst);
                    Input::Redraw
                }
                other => other,
            };
            if tx.send(input).await.is_err() {
                return;
            }
        }
    });
    rx
}
