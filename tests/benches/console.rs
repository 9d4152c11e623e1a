//! Agent state change -> on the console's screen, with the real `plumbd` (figures in
//! docs/BENCHMARKS.md, "Console"). The console's real loop (session, state, render) draws
//! into a `TestBackend`; a flow is paused and resumed, alternately by the console's own
//! `p` key and by another control client, and each round is timed until the Overview's
//! row shows the new state.
//!
//! ```sh
//! cargo bench -p plumb-tests --bench console
//! ```

#![allow(clippy::print_stdout)] // a benchmark reports on stdout

use std::time::{Duration, Instant};

use plumb_common::FlowKind;
use plumb_common::protocol::Request;
use plumb_console::keys::Key;
use plumb_console::tui::{self, Input};
use plumb_console::ui::Theme;
use plumb_tests::agent::{Agent, Control};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::sync::mpsc;

const ROUNDS: usize = 40;
const WIDTH: u16 = 120;

fn screen_has(terminal: &Terminal<TestBackend>, needle: &str) -> bool {
    terminal
        .backend()
        .buffer()
        .content()
        .chunks(usize::from(WIDTH))
        .any(|line| {
            line.iter()
                .map(|cell| cell.symbol())
                .collect::<String>()
                .contains(needle)
        })
}

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let ms = |p: f64| {
        let i = ((samples.len() as f64 - 1.0) * p).round() as usize;
        samples[i].as_secs_f64() * 1_000.0
    };
    println!(
        "{name}: n={} p50={:.1} ms p99={:.1} ms max={:.1} ms",
        samples.len(),
        ms(0.5),
        ms(0.99),
        ms(1.0)
    );
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let agent = Agent::start(dir.path(), "");
        let (keys, inputs) = mpsc::channel(4);
        // Another client's pauses and resumes, sent when asked.
        let (other_tx, mut other_rx) = mpsc::channel::<bool>(1);
        let mut other = Control::connect(&agent.socket(), false)
            .await
            .expect("control");
        tokio::spawn(async move {
            while let Some(pause) = other_rx.recv().await {
                let flow = FlowKind::Orders;
                let request = if pause {
                    Request::Pause { flow }
                } else {
                    Request::Resume { flow }
                };
                let _ = other.request(request).await;
            }
        });
        let mut terminal = Terminal::new(TestBackend::new(WIDTH, 40)).expect("terminal");
        let (mut own, mut others) = (Vec::new(), Vec::new());
        let mut round = 0usize;
        let mut started: Option<Instant> = None;
        tui::run(
            &mut terminal,
            agent.socket(),
            false,
            Theme { color: false },
            inputs,
            |terminal| {
                // Round n expects orders paused when n is even (it was running before).
                let want = if round.is_multiple_of(2) {
                    "orders     paused"
                } else {
                    "orders     running"
                };
                match started {
                    None => {
                        if !screen_has(terminal, "orders     running") {
                            return false;
                        }
                    }
                    Some(start) => {
                        if !screen_has(terminal, want) {
                            return false;
                        }
                        // Rounds alternate in pairs: own key (pause, resume), other client.
                        if (round / 2).is_multiple_of(2) {
                            own.push(start.elapsed());
                        } else {
                            others.push(start.elapsed());
                        }
                        round += 1;
                    }
                }
                if round == ROUNDS {
                    return true;
                }
                started = Some(Instant::now());
                if (round / 2).is_multiple_of(2) {
                    let _ = keys.try_send(Input::Key(Key::Char('p')));
                } else {
                    let _ = other_tx.try_send(round.is_multiple_of(2));
                }
                false
            },
        )
        .await
        .expect("console loop");
        report("pause/resume by the console's key -> on screen", own);
        report("pause/resume by another client -> on screen", others);
        drop(agent);
    });
}
