use plumb_common::protocol::{DeadLetterSelection, InventoryPage, Request, Response};
use plumb_common::{FlowKind, JobId};

use super::*;
use crate::sample;

fn connected() -> App {
    let mut app = App::new("/run/plumb/plumbd.sock".into(), false, sample::NOW);
    let effects = app.on_update(Update::Connection(ConnectionState::Connected {
        since: sample::before(60),
        agent_version: "0.1.0".into(),
    }));
    assert!(effects.contains(&Effect::Send(dead_letters_request())));
    app.on_update(Update::Answer {
        request: Request::Subscribe,
        result: Ok(Response::Status(sample::status())),
    });
    app.on_update(Update::Answer {
        request: dead_letters_request(),
        result: Ok(Response::DeadLetters(sample::dead_letter_page())),
    });
    app.prepare();
    app
}

fn keys(app: &mut App, keys: &[Key]) -> Vec<Effect> {
    keys.iter().flat_map(|key| app.on_key(*key)).collect()
}

#[test]
fn pause_then_resume_the_selected_flow() {
    let mut app = connected();
    // Orders is running: p pauses it.
    assert_eq!(
        keys(&mut app, &[Key::Char('p')]),
        vec![Effect::Send(Request::Pause {
            flow: FlowKind::Orders
        })]
    );
    // Inventory (third row) is paused: p resumes it.
    assert_eq!(
        keys(&mut app, &[Key::Down, Key::Char('j'), Key::Char('p')]),
        vec![Effect::Send(Request::Resume {
            flow: FlowKind::Inventory
        })]
    );
}

#[test]
fn read_only_refuses_mutating_keys_before_sending() {
    let mut app = connected();
    app.read_only = true;
    assert!(keys(&mut app, &[Key::Char('p')]).is_empty());
    assert!(app.notice.as_ref().is_some_and(|n| n.error));
    assert!(keys(&mut app, &[Key::Char('4'), Key::Char('r'), Key::Char('D')]).is_empty());
    assert_eq!(app.mode, Mode::Normal);
}

#[test]
fn one_retry_goes_at_once_and_a_discard_asks_first() {
    let mut app = connected();
    // The detail of the selected letter was asked for when the list arrived.
    assert!(keys(&mut app, &[Key::Char('4')]).is_empty());
    assert_eq!(
        keys(&mut app, &[Key::Down]),
        vec![Effect::Send(Request::ShowDeadLetter { id: JobId(41) })]
    );
    keys(&mut app, &[Key::Up]);
    let effects = keys(&mut app, &[Key::Char('r')]);
    assert_eq!(
        effects,
        vec![Effect::Send(Request::RetryDeadLetters {
            selection: DeadLetterSelection::Ids {
                ids: vec![JobId(42)]
            }
        })]
    );
    assert!(keys(&mut app, &[Key::Char('D')]).is_empty());
    let Mode::Confirm(confirmation) = &app.mode else {
        panic!("discard must ask: {:?}", app.mode)
    };
    assert!(confirmation.title.contains("42"));
    assert!(keys(&mut app, &[Key::Char('n')]).is_empty());
    assert_eq!(app.mode, Mode::Normal);
}

#[test]
fn a_bulk_retry_counts_the_marked_rows_the_filter_hides() {
    let mut app = connected();
    keys(
        &mut app,
        &[
            Key::Char('4'),
            Key::Char(' '),
            Key::Char(' '),
            Key::Char(' '),
        ],
    );
    assert_eq!(app.marks.len(), 3);
    // Filter to the inventory letter only: two marks are hidden.
    keys(&mut app, &[Key::Char('/')]);
    keys(
        &mut app,
        &"unknown".chars().map(Key::Char).collect::<Vec<_>>(),
    );
    keys(&mut app, &[Key::Enter]);
    assert_eq!(app.visible(View::DeadLetters).len(), 1);
    assert!(keys(&mut app, &[Key::Char('r')]).is_empty());
    let Mode::Confirm(confirmation) = app.mode.clone() else {
        panic!("a bulk retry must ask")
    };
    assert!(
        confirmation.lines[0].contains("3 marked dead letters, 2 of them hidden by the filter"),
        "{confirmation:?}"
    );
    let effects = keys(&mut app, &[Key::Char('y')]);
    assert!(matches!(
        effects.first(),
        Some(Effect::Send(Request::RetryDeadLetters {
            selection: DeadLetterSelection::Ids { ids }
        })) if ids.len() == 3
    ));
}

#[test]
fn a_group_retry_names_the_group_and_its_hidden_rows() {
    let mut app = connected();
    keys(&mut app, &[Key::Char('4'), Key::Char('g')]);
    let Mode::Confirm(confirmation) = app.mode.clone() else {
        panic!("a group retry must ask")
    };
    assert!(confirmation.title.contains("orders / malformed_payload"));
    assert!(confirmation.lines[0].starts_with("2 dead letters in this group, 0 of them"));
    assert_eq!(
        confirmation.request,
        Request::RetryDeadLetters {
            selection: DeadLetterSelection::Matching {
                flow: Some(FlowKind::Orders),
                cause: Some("malformed_payload".into())
            }
        }
    );
}

#[test]
fn command_mode_switches_views_and_esc_clears_the_filter() {
    let mut app = connected();
    keys(&mut app, &[Key::Char(':')]);
    keys(
        &mut app,
        &"inventory".chars().map(Key::Char).collect::<Vec<_>>(),
    );
    keys(&mut app, &[Key::Enter]);
    assert_eq!(app.view, View::Inventory);
    keys(&mut app, &[Key::Char('/'), Key::Char('x'), Key::Enter]);
    assert_eq!(app.filter(View::Inventory), "x");
    keys(&mut app, &[Key::Esc]);
    assert_eq!(app.filter(View::Inventory), "");
    assert_eq!(
        keys(&mut app, &[Key::Char(':'), Key::Char('q'), Key::Enter]),
        vec![Effect::Quit]
    );
}

#[test]
fn inventory_loads_page_by_page_then_follows_deltas_sorted_by_delta() {
    let mut app = connected();
    let rows = sample::inventory(100);
    let first = InventoryPage {
        items: rows[..60].to_vec(),
        next: Some(InventoryKey {
            sku: rows[59].sku.clone(),
            location: rows[59].location,
        }),
    };
    let effects = app.on_update(Update::Answer {
        request: inventory_page(None),
        result: Ok(Response::Inventory(first)),
    });
    assert!(matches!(
        effects.as_slice(),
        [Effect::Send(Request::ListInventory(InventoryQuery {
            after: Some(_),
            ..
        }))]
    ));
    let rest = InventoryPage {
        items: rows[60..].to_vec(),
        next: None,
    };
    app.on_update(Update::Answer {
        request: inventory_page(Some(InventoryKey {
            sku: rows[59].sku.clone(),
            location: rows[59].location,
        })),
        result: Ok(Response::Inventory(rest)),
    });
    assert!(app.inventory_loaded);
    let mut changed = rows[10].clone();
    changed.shopify = Some(99);
    changed.delta = Some(89);
    app.on_update(Update::Event(Event::InventoryDelta(changed)));
    app.prepare();
    assert_eq!(app.inventory().len(), 100);
    let top = app.visible(View::Inventory)[0];
    assert_eq!(app.inventory()[top].delta, Some(89));
}

#[test]
fn the_view_survives_a_reconnection() {
    let mut app = connected();
    keys(&mut app, &[Key::Char('4')]);
    app.on_update(Update::Connection(ConnectionState::Disconnected {
        reason: "gone".into(),
        retry_at: sample::NOW,
    }));
    let effects = app.on_update(Update::Connection(ConnectionState::Connected {
        since: sample::NOW,
        agent_version: "0.1.0".into(),
    }));
    assert_eq!(app.view, View::DeadLetters);
    assert!(effects.contains(&Effect::Send(inventory_page(None))));
}

#[test]
fn deltas_placed_one_by_one_give_the_order_a_full_sort_gives() {
    let mut app = connected();
    app.on_update(Update::Answer {
        request: inventory_page(None),
        result: Ok(Response::Inventory(InventoryPage {
            items: sample::inventory(500),
            next: None,
        })),
    });
    app.prepare();
    let mut rng_state = 17u64;
    for n in 0..40 {
        rng_state = rng_state.wrapping_mul(6364136223846793005).wrapping_add(1);
        let i = (rng_state >> 33) as usize % 500;
        let mut row = app.inventory()[i].clone();
        row.shopify = Some(n * 3 % 23);
        row.delta = row.shopify.map(|s| s - row.target);
        app.on_update(Update::Event(Event::InventoryDelta(row)));
        if n % 7 == 0 {
            app.prepare();
        }
    }
    app.prepare();
    let placed = app.visible(View::Inventory).to_vec();
    app.touch(View::Inventory);
    app.prepare();
    assert_eq!(placed, app.visible(View::Inventory));
}

#[test]
fn the_parity_view_repairs_the_selected_mismatch_and_follows_finished_runs() {
    let mut app = connected();
    // A connection asks for the reports, the runs and the latest run's mismatches.
    let reload = app.on_update(Update::Connection(ConnectionState::Connected {
        since: sample::before(1),
        agent_version: "0.1.0".into(),
    }));
    assert!(reload.contains(&Effect::Send(Request::ParityLatest)));
    assert!(reload.contains(&Effect::Send(mismatch_page(None, None))));
    app.on_update(Update::Answer {
        request: mismatch_page(None, None),
        result: Ok(Response::Mismatches(sample::mismatch_page())),
    });
    app.prepare();
    // f on the stock mismatch queues its repair, by id, from its run.
    assert_eq!(
        keys(&mut app, &[Key::Char('5'), Key::Char('f')]),
        vec![Effect::Send(Request::RepairMismatches {
            run: 3,
            selection: MismatchSelection::Ids { ids: vec![1] },
        })]
    );
    // f on one only a person can fix sends nothing and says why.
    assert!(keys(&mut app, &[Key::Char('j'), Key::Char('f')]).is_empty());
    assert!(
        app.notice
            .as_ref()
            .is_some_and(|n| n.error && n.text.contains("needs a person")),
        "{:?}",
        app.notice
    );
    // Read-only: refused before sending.
    app.read_only = true;
    assert!(keys(&mut app, &[Key::Char('k'), Key::Char('f')]).is_empty());
    // A run that starts changes nothing to ask; one that finishes asks for all three again.
    let mut run = sample::parity_run(4);
    run.state = RunState::Running;
    assert!(
        app.on_update(Update::Event(Event::ParityRun(run.clone())))
            .is_empty()
    );
    run.state = RunState::Done;
    let effects = app.on_update(Update::Event(Event::ParityRun(run)));
    assert_eq!(effects, parity_requests());
    assert_eq!(app.runs.first().map(|r| r.id), Some(4));
}
