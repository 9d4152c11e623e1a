//! Every view rendered from a scripted state into an 80x24 `TestBackend`, without
//! colour, and compared with the committed snapshot (`tests/snapshots/`). A change to a
//! view shows as a diff here; accept it with `INSTA_UPDATE=always cargo test -p
//! plumb-console --test views` and review the `.snap` files.

use plumb_common::protocol::{InventoryPage, JobQuery, Page, ParityRunPage, Request, Response};
use plumb_console::app::{App, View};
use plumb_console::client::{ConnectionState, Update};
use plumb_console::keys::Key;
use plumb_console::sample;
use plumb_console::ui::{self, Theme};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn app(read_only: bool) -> App {
    let mut app = App::new("/run/plumb/plumbd.sock".into(), read_only, sample::NOW);
    let answers = [
        (Request::Subscribe, Response::Status(sample::status())),
        (
            Request::ListInventory(Default::default()),
            Response::Inventory(InventoryPage {
                items: sample::inventory(200),
                next: None,
            }),
        ),
        (
            Request::ListJobs(JobQuery::default()),
            Response::Jobs(Page {
                items: sample::jobs(),
                next: None,
            }),
        ),
        (
            Request::ListDeadLetters(Default::default()),
            Response::DeadLetters(sample::dead_letter_page()),
        ),
        (
            Request::ShowDeadLetter {
                id: plumb_common::JobId(42),
            },
            Response::DeadLetter(sample::detail()),
        ),
    ];
    app.on_update(Update::Connection(ConnectionState::Connected {
        since: sample::before(754),
        agent_version: "0.1.0".into(),
    }));
    for (request, response) in answers {
        app.on_update(Update::Answer {
            request,
            result: Ok(response),
        });
    }
    app
}

fn screen(app: &mut App) -> String {
    screen_of(app, 80, 24)
}

fn screen_of(app: &mut App, width: u16, height: u16) -> String {
    app.prepare();
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("terminal");
    terminal
        .draw(|frame| ui::render(app, Theme { color: false }, frame))
        .expect("draw");
    terminal.backend().to_string()
}

fn press(app: &mut App, keys: &[Key]) {
    for key in keys {
        app.on_key(*key);
    }
}

#[test]
fn overview() {
    insta::assert_snapshot!(screen(&mut app(false)));
}

#[test]
fn overview_waiting_for_the_agent() {
    let mut app = App::new("/run/plumb/plumbd.sock".into(), false, sample::NOW);
    insta::assert_snapshot!(screen(&mut app));
}

#[test]
fn overview_disconnected() {
    let mut app = app(false);
    app.on_update(Update::Connection(ConnectionState::Disconnected {
        reason: "the agent closed the connection".into(),
        retry_at: sample::NOW.plus(std::time::Duration::from_secs(4)),
    }));
    insta::assert_snapshot!(screen(&mut app));
}

#[test]
fn inventory_sorted_by_delta() {
    let mut app = app(false);
    press(&mut app, &[Key::Char('2')]);
    insta::assert_snapshot!(screen(&mut app));
}

#[test]
fn inventory_wide_shows_shopify_locations() {
    let mut app = app(false);
    press(&mut app, &[Key::Char('2')]);
    insta::assert_snapshot!(screen_of(&mut app, 120, 16));
}

#[test]
fn inventory_filtered_and_scrolled() {
    let mut app = app(false);
    press(&mut app, &[Key::Char('2'), Key::Char('s'), Key::Char('/')]);
    press(
        &mut app,
        &"WH-WEST".chars().map(Key::Char).collect::<Vec<_>>(),
    );
    press(
        &mut app,
        &[Key::Enter, Key::PageDown, Key::PageDown, Key::Down],
    );
    insta::assert_snapshot!(screen(&mut app));
}

#[test]
fn queue() {
    let mut app = app(false);
    press(&mut app, &[Key::Char('3')]);
    insta::assert_snapshot!(screen(&mut app));
}

#[test]
fn dead_letters_with_detail() {
    let mut app = app(false);
    press(&mut app, &[Key::Char('4'), Key::Char(' ')]);
    press(&mut app, &[Key::Up]);
    insta::assert_snapshot!(screen(&mut app));
}

#[test]
fn dead_letters_discard_confirmation() {
    let mut app = app(false);
    press(&mut app, &[Key::Char('4'), Key::Char(' '), Key::Char(' ')]);
    press(
        &mut app,
        &[Key::Char('/'), Key::Char('G'), Key::Char('H'), Key::Enter],
    );
    press(&mut app, &[Key::Char('D')]);
    insta::assert_snapshot!(screen(&mut app));
}

#[test]
fn dead_letters_discard_one_with_a_long_error() {
    let mut app = app(false);
    press(&mut app, &[Key::Char('4'), Key::Char('D')]);
    insta::assert_snapshot!(screen(&mut app));
}

#[test]
fn parity_before_any_run() {
    let mut app = app(false);
    press(&mut app, &[Key::Char('5')]);
    app.on_update(Update::Answer {
        request: Request::Reconcile { dry_run: true },
        result: Ok(Response::Queued {
            job: plumb_common::JobId(77),
        }),
    });
    insta::assert_snapshot!(screen(&mut app));
}

#[test]
fn parity_after_a_run_with_mismatches() {
    let mut app = app(false);
    press(&mut app, &[Key::Char('5')]);
    for (request, response) in [
        (
            Request::ParityLatest,
            Response::ParityLatest {
                dimensions: sample::parity_latest(),
            },
        ),
        (
            Request::ListParityRuns(Default::default()),
            Response::ParityRuns(ParityRunPage {
                items: vec![sample::parity_run(3)],
                next: None,
            }),
        ),
        (
            Request::ListMismatches(Default::default()),
            Response::Mismatches(sample::mismatch_page()),
        ),
    ] {
        app.on_update(Update::Answer {
            request,
            result: Ok(response),
        });
    }
    app.prepare();
    press(&mut app, &[Key::Char('j')]);
    insta::assert_snapshot!(screen(&mut app));
}

#[test]
fn help() {
    let mut app = app(false);
    press(&mut app, &[Key::Char('?')]);
    insta::assert_snapshot!(screen(&mut app));
}

#[test]
fn help_read_only() {
    let mut app = app(true);
    press(&mut app, &[Key::Char('?')]);
    assert_eq!(app.view, View::Help);
    insta::assert_snapshot!(screen(&mut app));
}

#[test]
fn command_mode() {
    let mut app = app(false);
    press(&mut app, &[Key::Char(':'), Key::Char('d'), Key::Char('l')]);
    insta::assert_snapshot!(screen(&mut app));
}
