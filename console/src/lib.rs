//! `plumb`: the Plumb console and scripting CLI.
//!
//! # Layout
//! - [`client`]: the control socket from the console's side: one handshaken
//!   [`client::Connection`] for scripts, and the reconnecting session the console runs
//!   ([`client::spawn_session`]: `Connecting`, `Connected { since }`,
//!   `Disconnected { retry_at }`).
//! - [`app`]: the console's state and how keys and agent updates change it; no I/O.
//! - [`keys`]: the one key registry; footer hints and help are generated from it.
//! - [`ui`]: rendering, a pure function of the state; one module per view.
//! - [`tui`]: the terminal loop (raw mode, input thread, redraws), generic over the
//!   ratatui backend.
//! - [`cli`]: the command line and the scripting subcommands, with their exit codes.
//! - [`sample`]: scripted states for the snapshot tests and the frame benchmark.

pub mod app;
pub mod cli;
pub mod client;
pub mod keys;
pub mod sample;
pub mod tui;
pub mod ui;
