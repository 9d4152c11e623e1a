//! The interactive console's loop: keys from an input thread, updates from the session,
//! one redraw after each batch, and a tick so ages and the retry countdown move.

use std::path::PathBuf;
use std::time::Duration;

use crossterm::event::{self as terminal_event, Event as TerminalEvent, KeyEventKind};
use ratatui::Terminal;
use ratatui::backend::Backend;
use tokio::sync::mpsc;

use plumb_common::Timestamp;

use crate::app::{App, Effect};
use crate::client::{Session, Update, spawn_session};
use crate::keys::{Key, from_crossterm};
use crate::ui::{self, Theme};

/// How often the screen is redrawn with nothing new (ages, countdowns).
const TICK: Duration = Duration::from_millis(500);
/// The most updates folded in before a redraw.
const BATCH: usize = 256;

/// Why the console stopped other than by quitting.
#[derive(Debug, thiserror::Error)]
pub enum TuiError {
    /// Drawing failed.
    #[error("terminal error: {0}")]
    Terminal(String),
    /// The session task ended (it only ends by panicking: see the log).
    #[error("the connection task stopped unexpectedly")]
    SessionEnded,
}

/// What the loop reacts to.
#[derive(Debug)]
pub enum Input {
    /// A key press.
    Key(Key),
    /// The terminal was resized (or anything else that needs a redraw).
    Redraw,
}

/// Puts the terminal in raw mode on the alternate screen and installs a panic hook that
/// logs the panic and restores the terminal (leaves the alternate screen, shows the
/// cursor, ends raw mode) before the panic message prints, so a bug never leaves an
/// on-call engineer's shell unusable. [`leave`] restores it on a normal exit.
pub fn enter() -> std::io::Result<ratatui::DefaultTerminal> {
    let terminal = ratatui::try_init()?;
    // ratatui's hook restores the terminal then prints; ours logs first (the screen
    // belongs to the console, so the log file is where the panic is kept).
    let restore_and_print = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        tracing::error!(panic = %info, "the console panicked");
        restore_and_print(info);
    }));
    Ok(terminal)
}

/// Restores the terminal [`enter`] set up.
pub fn leave() {
    ratatui::restore();
}

/// Reads terminal events on a plain thread (crossterm's read blocks) and forwards them.
/// The thread ends when the receiver is dropped.
pub fn spawn_input_thread() -> mpsc::Receiver<Input> {
    let (tx, rx) = mpsc::channel(64);
    std::thread::spawn(move || {
        loop {
            let input = match terminal_event::read() {
                Ok(TerminalEvent::Key(key)) if key.kind == KeyEventKind::Press => {
                    match from_crossterm(&key) {
                        Some(key) => Input::Key(key),
                        None => continue,
                    }
                }
                Ok(TerminalEvent::Resize(..)) => Input::Redraw,
                Ok(_) => continue,
                Err(error) => {
                    tracing::error!(%error, "cannot read the terminal");
                    return;
                }
            };
            if tx.blocking_send(input).is_err() {
                return;
            }
        }
    });
    rx
}

/// Runs the console on `terminal` until the user quits, or until `after_draw` (called
/// after every frame, for measurements on a test backend) returns true.
pub async fn run<B: Backend>(
    terminal: &mut Terminal<B>,
    socket: PathBuf,
    read_only: bool,
    theme: Theme,
    mut inputs: mpsc::Receiver<Input>,
    mut after_draw: impl FnMut(&Terminal<B>) -> bool,
) -> Result<(), TuiError> {
    let mut app = App::new(socket.display().to_string(), read_only, Timestamp::now());
    let mut session: Session = spawn_session(socket, read_only);
    let mut tick = tokio::time::interval(TICK);
    loop {
        app.now = Timestamp::now();
        app.prepare();
        terminal
            .draw(|frame| ui::render(&app, theme, frame))
            .map_err(|e| TuiError::Terminal(e.to_string()))?;
        if after_draw(terminal) {
            return Ok(());
        }
        let effects = tokio::select! {
            input = inputs.recv() => match input {
                Some(Input::Key(key)) => app.on_key(key),
                Some(Input::Redraw) => Vec::new(),
                None => vec![Effect::Quit],
            },
            update = session.updates.recv() => {
                let Some(update) = update else { return Err(TuiError::SessionEnded) };
                let mut effects = app.on_update(update);
                for _ in 0..BATCH {
                    match session.updates.try_recv() {
                        Ok(update) => effects.extend(app.on_update(update)),
                        Err(_) => break,
                    }
                }
                effects
            }
            _ = tick.tick() => Vec::new(),
        };
        for effect in effects {
            match effect {
                Effect::Quit => return Ok(()),
                Effect::Send(request) => {
                    if let Err(error) = session.requests.try_send(request) {
                        // Only when the session is gone or 64 requests wait: the
                        // answer would come too late to matter.
                        let request = match error {
                            mpsc::error::TrySendError::Full(r)
                            | mpsc::error::TrySendError::Closed(r) => r,
                        };
                        tracing::warn!(?request, "request dropped: the session is busy");
                        let refusal = plumb_common::protocol::RequestError {
                            kind: plumb_common::protocol::RequestErrorKind::Unavailable,
                            message: "too many requests waiting".into(),
                        };
                        let _ = app.on_update(Update::Answer {
                            request,
                            result: Err(refusal),
                        });
                    }
                }
            }
        }
    }
}
