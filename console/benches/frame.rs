//! Console benchmarks (figures in docs/BENCHMARKS.md, "Console"):
//!
//! 1. Frame time with 100,000 inventory rows: the Inventory view rendered into a
//!    `TestBackend` while scrolling (key, state, render), at 80x24 and 200x60; a frame
//!    that brings one inventory delta; and the full sort a new filter or sort order costs.
//! 2. Agent event -> on screen: an in-process agent stand-in speaking the real protocol on
//!    a Unix socket sends an `InventoryDelta`; the console's real loop (session task, state,
//!    render) draws frames into a `TestBackend` until the new figure is on screen.
//!
//! ```sh
//! cargo bench -p plumb-console --bench frame
//! ```
//! Speed targets are reported, never asserted.

#![allow(clippy::print_stdout)] // a benchmark reports on stdout

use std::time::{Duration, Instant};

use plumb_common::frame::{read_frame, write_frame};
use plumb_common::protocol::{
    ClientMessage, Event, InventoryPage, JobQuery, MAX_FRAME_BYTES, PROTOCOL_VERSION, Page,
    Request, Response, ServerMessage, Welcome,
};
use plumb_console::app::App;
use plumb_console::client::{ConnectionState, Update};
use plumb_console::keys::Key;
use plumb_console::sample;
use plumb_console::tui::{self, Input};
use plumb_console::ui::{self, Theme};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::net::UnixListener;
use tokio::sync::mpsc;

const ROWS: usize = 100_000;

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1_000.0
}

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "{name}: n={} p50={:.3} ms p99={:.3} ms max={:.3} ms",
        samples.len(),
        percentile(&samples, 0.5),
        percentile(&samples, 0.99),
        percentile(&samples, 1.0)
    );
}

fn loaded_app() -> App {
    let mut app = App::new("bench.sock".into(), false, sample::NOW);
    app.on_update(Update::Connection(ConnectionState::Connected {
        since: sample::NOW,
        agent_version: "bench".into(),
    }));
    app.on_update(Update::Answer {
        request: Request::ListInventory(Default::default()),
        result: Ok(Response::Inventory(InventoryPage {
            items: sample::inventory(ROWS),
            next: None,
        })),
    });
    app.on_key(Key::Char('2'));
    app
}

/// 3,000 frames of the Inventory view, each after `step` (a key, a delta) changed the
/// state; the time of one frame is the step, the preparation and the render.
fn frames(name: &str, width: u16, height: u16, mut step: impl FnMut(&mut App, usize)) {
    let mut app = loaded_app();
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("terminal");
    let theme = Theme { color: true };
    let mut samples = Vec::new();
    for n in 0..3_000 {
        let start = Instant::now();
        step(&mut app, n);
        app.prepare();
        terminal
            .draw(|frame| ui::render(&app, theme, frame))
            .expect("draw");
        samples.push(start.elapsed());
    }
    report(
        &format!("{name}, {ROWS} inventory rows, {width}x{height}"),
        samples,
    );
}

/// Scrolls a page every frame, back to the top every 400.
fn scrolling(app: &mut App, n: usize) {
    app.on_key(if n % 400 == 399 {
        Key::Home
    } else {
        Key::PageDown
    });
}

/// A new filter or sort order: every row filtered and sorted again.
fn resort() {
    let mut app = loaded_app();
    let mut samples = Vec::new();
    for _ in 0..30 {
        let start = Instant::now();
        app.on_key(Key::Char('s'));
        app.prepare();
        samples.push(start.elapsed());
    }
    report(
        &format!("new sort order (full sort), {ROWS} inventory rows"),
        samples,
    );
}

/// Serves the console like an agent: handshake, answers, then `rounds` inventory deltas,
/// each sent when the previous one was seen on screen.
async fn stand_in(
    listener: UnixListener,
    mut seen: mpsc::Receiver<()>,
    sent: mpsc::Sender<Instant>,
) {
    let Ok((stream, _)) = listener.accept().await else {
        return;
    };
    let (mut reader, mut writer) = stream.into_split();
    let Ok(Some(ClientMessage::Hello(_))) =
        read_frame::<_, ClientMessage>(&mut reader, MAX_FRAME_BYTES).await
    else {
        return;
    };
    let welcome = ServerMessage::Welcome(Welcome {
        protocol: PROTOCOL_VERSION,
        agent_version: "bench".into(),
        read_only: false,
    });
    if write_frame(&mut writer, &welcome, MAX_FRAME_BYTES)
        .await
        .is_err()
    {
        return;
    }
    let (requests_tx, mut requests) = mpsc::channel(16);
    tokio::spawn(async move {
        while let Ok(Some(message)) =
            read_frame::<_, ClientMessage>(&mut reader, MAX_FRAME_BYTES).await
        {
            if requests_tx.send(message).await.is_err() {
                return;
            }
        }
    });
    let mut round = 0i64;
    loop {
        tokio::select! {
            message = requests.recv() => {
                let Some(ClientMessage::Request { id, request }) = message else { return };
                let response = match request {
                    Request::Subscribe | Request::Status => Response::Status(sample::status()),
                    Request::ListInventory(_) => Response::Inventory(InventoryPage {
                        items: sample::inventory(1_000),
                        next: None,
                    }),
                    Request::ListDeadLetters(_) => Response::DeadLetters(sample::dead_letter_page()),
                    Request::ShowDeadLetter { .. } => Response::DeadLetter(sample::detail()),
                    Request::ListJobs(JobQuery { .. }) => Response::Jobs(Page { items: sample::jobs(), next: None }),
                    _ => Response::Affected { count: 0 },
                };
                let answer = ServerMessage::Response { id, result: Ok(response) };
                if write_frame(&mut writer, &answer, MAX_FRAME_BYTES).await.is_err() {
                    return;
                }
                if round == 0 {
                    // The console asked for its data: start the rounds after it settles.
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    round = 1;
                    if send_delta(&mut writer, round, &sent).await.is_err() { return; }
                }
            }
            ack = seen.recv() => {
                if ack.is_none() { return; }
                round += 1;
                if send_delta(&mut writer, round, &sent).await.is_err() { return; }
            }
        }
    }
}

async fn send_delta(
    writer: &mut tokio::net::unix::OwnedWriteHalf,
    round: i64,
    sent: &mpsc::Sender<Instant>,
) -> Result<(), ()> {
    let mut row = sample::inventory(1).remove(0);
    row.shopify = Some(10_000 + round);
    row.delta = Some(10_000 + round - row.target);
    let event = ServerMessage::Event(Event::InventoryDelta(row));
    let _ = sent.send(Instant::now()).await;
    write_frame(writer, &event, MAX_FRAME_BYTES)
        .await
        .map_err(|_| ())
}

fn event_to_screen() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let socket = dir.path().join("agent.sock");
        let listener = UnixListener::bind(&socket).expect("bind");
        let (seen_tx, seen_rx) = mpsc::channel(1);
        let (sent_tx, mut sent_rx) = mpsc::channel(1);
        tokio::spawn(stand_in(listener, seen_rx, sent_tx));
        let (keys, inputs) = mpsc::channel(4);
        keys.send(Input::Key(Key::Char('2'))).await.expect("key");
        let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("terminal");
        let rounds = 200;
        let mut round = 1i64;
        let mut samples = Vec::new();
        tui::run(
            &mut terminal,
            socket,
            false,
            Theme { color: true },
            inputs,
            |terminal| {
                let needle = format!("{}", 10_000 + round);
                let on_screen = terminal
                    .backend()
                    .buffer()
                    .content()
                    .chunks(120)
                    .any(|line| {
                        line.iter()
                            .map(|cell| cell.symbol())
                            .collect::<String>()
                            .contains(&needle)
                    });
                if on_screen && let Ok(sent) = sent_rx.try_recv() {
                    samples.push(sent.elapsed());
                    round += 1;
                    let _ = seen_tx.try_send(());
                }
                round > rounds
            },
        )
        .await
        .expect("console loop");
        report("agent event -> on screen (console path)", samples);
    });
}

fn main() {
    frames("frame while scrolling", 80, 24, scrolling);
    frames("frame while scrolling", 200, 60, scrolling);
    // Every frame brings one inventory delta (a row moving in the |delta| order).
    let rows = sample::inventory(ROWS);
    frames("frame with one delta", 80, 24, |app, n| {
        let mut row = rows[(n * 7_919) % ROWS].clone();
        let shopify = (n % 40) as i64;
        row.shopify = Some(shopify);
        row.delta = Some(shopify - row.target);
        app.on_update(Update::Event(Event::InventoryDelta(row)));
    });
    resort();
    event_to_screen();
}
