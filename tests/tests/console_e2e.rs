//! The `plumb` console in a real terminal (tmux, 120x40), attached to the real `plumbd`
//! between the Shopify sandbox and the ERP double: keys go in with `send-keys`, the
//! screen comes back with `capture-pane`, and every effect is checked on the agent
//! through its control socket. tmux is required: without it these tests fail and say
//! what to install.

use std::path::Path;
use std::time::Duration;

use plumb_common::protocol::{
    DeadLetterQuery, DeadLetterSummary, Request, Response, StatusSnapshot,
};
use plumb_common::{FlowKind, Timestamp};
use plumb_tests::agent::{Agent, Control, WEBHOOK_SECRET, plumb_binary};
use plumb_tests::erp::double::ErpDouble;
use plumb_tests::inventory::agent_toml;
use plumb_tests::sandbox::{Sandbox, SandboxConfig};
use plumb_tests::tmux::Tmux;
use plumb_tests::webhooks::{Delivery, Sender};
use rust_decimal::Decimal;

/// How long the screen or the agent has to show an effect.
const PATIENCE: Duration = Duration::from_secs(20);

struct Setup {
    dir: tempfile::TempDir,
    _sandbox: Sandbox,
    _double: ErpDouble,
    agent: Agent,
}

async fn setup() -> Setup {
    let sandbox = Sandbox::start(SandboxConfig::signed_with(WEBHOOK_SECRET))
        .await
        .expect("sandbox");
    let admin = sandbox.admin();
    let east = admin.add_location("East");
    let product = admin.add_product("Mug", &[("MUG-1", Decimal::new(1250, 2))]);
    admin.stock(product.variants[0].inventory_item_id, east, 3);
    let double = ErpDouble::start().await;
    double.add_product("MUG-1", "Mug", "12.50", None);
    double.set_stock("MUG-1", "WH-EAST", 12);
    let dir = tempfile::tempdir().expect("tempdir");
    let toml = agent_toml(
        dir.path(),
        &sandbox,
        &double.settings(),
        &[("WH-EAST", east)],
        "\n[inventory]\npoll_interval = \"200ms\"\n",
    );
    let agent = Agent::start(dir.path(), &toml);
    Setup {
        dir,
        _sandbox: sandbox,
        _double: double,
        agent,
    }
}

/// The console attached to `socket`, without colour, logging into `dir`.
fn console(socket: &Path, dir: &Path) -> Tmux {
    let command = format!(
        "NO_COLOR=1 TERM=xterm-256color '{plumb}' --socket '{socket}' --log '{log}'",
        plumb = plumb_binary().display(),
        socket = socket.display(),
        log = dir.join("plumb.log").display(),
    );
    Tmux::start(&command, 120, 40)
}

async fn control(agent: &Agent) -> Control {
    Control::connect(&agent.socket(), false)
        .await
        .expect("connect to the control socket")
}

async fn status(control: &mut Control) -> StatusSnapshot {
    match control.request(Request::Status).await {
        Ok(Response::Status(status)) => status,
        other => panic!("status: {other:?}"),
    }
}

async fn dead_letters(control: &mut Control) -> Vec<DeadLetterSummary> {
    let query = DeadLetterQuery {
        limit: 100,
        ..DeadLetterQuery::default()
    };
    match control.request(Request::ListDeadLetters(query)).await {
        Ok(Response::DeadLetters(page)) => page.page.items,
        other => panic!("dead letters: {other:?}"),
    }
}

/// Polls the agent until `check` holds.
async fn agent_shows<T>(
    agent: &Agent,
    what: &str,
    mut check: impl AsyncFnMut(&mut Control) -> Option<T>,
) -> T {
    let mut control = control(agent).await;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if let Some(found) = check(&mut control).await {
            return found;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the agent did not show {what}\n{}",
            agent.stderr()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn paused(status: &StatusSnapshot, flow: FlowKind) -> bool {
    status.flow(flow).is_some_and(|f| f.paused_since.is_some())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_switch_views_filter_retry_a_dead_letter_and_pause_a_flow() {
    let setup = setup().await;
    // A signed delivery that is not JSON: a malformed_payload dead letter.
    let sender = Sender::new(&setup.agent.webhook_address, WEBHOOK_SECRET.as_bytes());
    let delivery = Delivery {
        topic: "orders/create".into(),
        event_id: "garbage-1".into(),
        body: b"<html>not json</html>".to_vec(),
    };
    assert_eq!(sender.send(&delivery).await.expect("deliver"), 200);
    let letter = agent_shows(&setup.agent, "a dead letter", async |control| {
        dead_letters(control).await.into_iter().next()
    })
    .await;
    assert_eq!(letter.cause, "malformed_payload");

    let tmux = console(&setup.agent.socket(), setup.dir.path());
    tmux.wait_for("the console connected", PATIENCE, |s| {
        s.contains("connected since") && s.contains("reconcile")
    });

    // p on the first flow (orders) pauses it on the agent, p again resumes it.
    tmux.keys(&["p"]);
    tmux.wait_for("orders paused on screen", PATIENCE, |s| {
        s.contains("orders paused")
    });
    agent_shows(&setup.agent, "orders paused", async |control| {
        paused(&status(control).await, FlowKind::Orders).then_some(())
    })
    .await;
    tmux.keys(&["p"]);
    tmux.wait_for("orders resumed on screen", PATIENCE, |s| {
        s.contains("orders resumed")
    });
    agent_shows(&setup.agent, "orders running", async |control| {
        (!paused(&status(control).await, FlowKind::Orders)).then_some(())
    })
    .await;

    // :inventory, the row the poller read, then a filter that hides it and Esc.
    tmux.keys(&[":"]);
    tmux.type_text("inventory");
    tmux.keys(&["Enter"]);
    tmux.wait_for("the inventory row", PATIENCE, |s| {
        s.contains("[2 Inventory]") && s.contains("MUG-1") && s.contains("WH-EAST")
    });
    tmux.keys(&["/"]);
    tmux.type_text("nothing-like-this");
    tmux.keys(&["Enter"]);
    tmux.wait_for("the filter hiding every row", PATIENCE, |s| {
        s.contains("Nothing matches the filter") && !s.contains("MUG-1")
    });
    tmux.keys(&["Escape"]);
    tmux.wait_for("the filter cleared", PATIENCE, |s| s.contains("MUG-1"));

    // The dead letter with its detail; r retries it: the agent runs it again (and, the
    // payload being what it is, dead-letters it again, later).
    tmux.keys(&["4"]);
    tmux.wait_for("the dead letter and its payload", PATIENCE, |s| {
        s.contains("malformed_payload") && s.contains("not json")
    });
    tmux.keys(&["r"]);
    tmux.wait_for("the retry acknowledged", PATIENCE, |s| {
        s.contains("1 dead letter retried")
    });
    let before: Timestamp = letter.last_failed_at;
    agent_shows(&setup.agent, "the dead letter run again", async |control| {
        dead_letters(control)
            .await
            .into_iter()
            .find(|d| d.id == letter.id && d.last_failed_at > before)
    })
    .await;
    assert!(
        setup.agent.stderr().contains("dead letter retried"),
        "{}",
        setup.agent.stderr()
    );

    tmux.keys(&["q"]);
    tmux.wait_for("the console to exit cleanly", PATIENCE, |s| {
        s.contains("[exited with 0]")
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_reconnects_after_the_agent_restarts_on_the_same_view() {
    let mut setup = setup().await;
    let tmux = console(&setup.agent.socket(), setup.dir.path());
    tmux.wait_for("the console connected", PATIENCE, |s| {
        s.contains("connected since")
    });
    tmux.keys(&["4"]);
    tmux.wait_for("the dead letters view", PATIENCE, |s| {
        s.contains("[4 Dead letters]")
    });
    setup.agent.kill();
    tmux.wait_for("the disconnection", PATIENCE, |s| {
        s.contains("disconnected - retrying in") && s.contains("[4 Dead letters]")
    });
    setup.agent.restart();
    tmux.wait_for("the reconnection on the same view", PATIENCE, |s| {
        s.contains("connected since") && s.contains("[4 Dead letters]")
    });
    // The session works again: a pause from the console reaches the new agent process.
    tmux.keys(&["1", "p"]);
    agent_shows(
        &setup.agent,
        "orders paused after the restart",
        async |control| paused(&status(control).await, FlowKind::Orders).then_some(()),
    )
    .await;
    tmux.keys(&["q"]);
}

/// Runs `plumb --socket SOCKET args...`; returns (exit code, stdout, stderr).
fn plumb(socket: &Path, args: &[&str]) -> (i32, String, String) {
    let output = std::process::Command::new(plumb_binary())
        .arg("--socket")
        .arg(socket)
        .args(args)
        .output()
        .expect("run plumb");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scripting_cli_acts_on_the_agent_with_its_documented_exit_codes() {
    let setup = setup().await;
    let socket = setup.agent.socket();
    let sender = Sender::new(&setup.agent.webhook_address, WEBHOOK_SECRET.as_bytes());
    let delivery = Delivery {
        topic: "orders/create".into(),
        event_id: "garbage-cli".into(),
        body: b"<html>not json</html>".to_vec(),
    };
    assert_eq!(sender.send(&delivery).await.expect("deliver"), 200);
    let letter = agent_shows(&setup.agent, "a dead letter", async |control| {
        dead_letters(control).await.into_iter().next()
    })
    .await;
    let id = letter.id.to_string();

    let (code, out, err) = plumb(&socket, &["status", "--json"]);
    assert_eq!(code, 0, "{err}");
    let snapshot: StatusSnapshot = serde_json::from_str(&out).expect("status JSON");
    assert_eq!(snapshot.flows.len(), FlowKind::ALL.len());
    let (code, out, _) = plumb(&socket, &["status"]);
    assert_eq!(code, 0);
    assert!(out.contains("orders") && out.contains("running"), "{out}");

    let (code, out, _) = plumb(&socket, &["dlq", "list"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("malformed_payload") && out.contains(&id),
        "{out}"
    );
    let (code, out, _) = plumb(&socket, &["dlq", "show", &id, "--json"]);
    assert_eq!(code, 0);
    assert!(out.contains("not json"), "{out}");
    let (code, _, err) = plumb(&socket, &["dlq", "show", "987654321"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("not found"), "{err}");

    // Read-only sessions are refused by the agent: exit 4, nothing paused.
    let (code, _, err) = plumb(&socket, &["--read-only", "pause", "orders"]);
    assert_eq!(code, 4, "{err}");
    let mut control = control(&setup.agent).await;
    assert!(!paused(&status(&mut control).await, FlowKind::Orders));
    let (code, out, _) = plumb(&socket, &["pause", "orders"]);
    assert_eq!(
        (code, out.trim().starts_with("orders paused since")),
        (0, true)
    );
    assert!(paused(&status(&mut control).await, FlowKind::Orders));
    let (code, out, _) = plumb(&socket, &["resume", "orders"]);
    assert_eq!((code, out.trim()), (0, "orders running"));
    assert!(!paused(&status(&mut control).await, FlowKind::Orders));

    let (code, out, err) = plumb(&socket, &["dlq", "retry", &id]);
    assert_eq!((code, out.trim()), (0, "1"), "{err}");
    let (code, _, err) = plumb(&socket, &["dlq", "retry", "--cause", "no_such_cause"]);
    assert_eq!(code, 1, "nothing matched: {err}");
    let (code, _, err) = plumb(&socket, &["dlq", "discard", &id]);
    assert_eq!(code, 2, "discard without --yes: {err}");
    let (code, _, _) = plumb(&socket, &["pause", "nonsense"]);
    assert_eq!(code, 2);

    // The agent queues reconciliation runs (nothing runs them yet): the job is reported.
    let (code, out, err) = plumb(&socket, &["reconcile", "--dry-run"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("queued as job "), "{out}");

    let (code, _, err) = plumb(&setup.dir.path().join("absent.sock"), &["status"]);
    assert_eq!(code, 3, "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_refuses_mutations_and_a_discard_asks_first() {
    let setup = setup().await;
    let sender = Sender::new(&setup.agent.webhook_address, WEBHOOK_SECRET.as_bytes());
    let delivery = Delivery {
        topic: "orders/create".into(),
        event_id: "garbage-discard".into(),
        body: b"<html>not json</html>".to_vec(),
    };
    assert_eq!(sender.send(&delivery).await.expect("deliver"), 200);
    let letter = agent_shows(&setup.agent, "a dead letter", async |control| {
        dead_letters(control).await.into_iter().next()
    })
    .await;

    // Read-only: the footer has no mutating key, and p is refused before it is sent.
    let command = format!(
        "NO_COLOR=1 '{}' --read-only --socket '{}'",
        plumb_binary().display(),
        setup.agent.socket().display()
    );
    let tmux = Tmux::start(&command, 120, 40);
    let screen = tmux.wait_for("the read-only console", PATIENCE, |s| {
        s.contains("connected since") && s.contains("[read-only]")
    });
    assert!(!screen.contains("pause/resume"), "{screen}");
    tmux.keys(&["p"]);
    tmux.wait_for("the refusal", PATIENCE, |s| {
        s.contains("read-only console: p (pause/resume) is disabled")
    });
    let mut control = control(&setup.agent).await;
    assert!(!paused(&status(&mut control).await, FlowKind::Orders));
    tmux.keys(&["q"]);
    tmux.wait_for("the exit", PATIENCE, |s| s.contains("[exited with 0]"));
    drop(tmux);

    // Read-write: D asks, n keeps the letter, D then y discards it.
    let tmux = console(&setup.agent.socket(), setup.dir.path());
    tmux.keys(&["4"]);
    tmux.wait_for("the dead letter", PATIENCE, |s| {
        s.contains("malformed_payload")
    });
    tmux.keys(&["D"]);
    tmux.wait_for("the confirmation", PATIENCE, |s| {
        s.contains(&format!("Discard dead letter {}?", letter.id)) && s.contains("y confirm")
    });
    tmux.keys(&["n"]);
    tmux.wait_for("the cancellation", PATIENCE, |s| s.contains("cancelled"));
    assert_eq!(dead_letters(&mut control).await.len(), 1);
    tmux.keys(&["D"]);
    tmux.wait_for("the confirmation again", PATIENCE, |s| {
        s.contains("y confirm")
    });
    tmux.keys(&["y"]);
    tmux.wait_for("the discard acknowledged", PATIENCE, |s| {
        s.contains("1 dead letter discarded") && s.contains("No dead letters")
    });
    assert!(dead_letters(&mut control).await.is_empty());
    tmux.keys(&["q"]);
}

/// A panic in the console's loop leaves a usable terminal: off the alternate screen,
/// cursor shown, raw mode ended (the shell's `stty` shows canonical mode and echo again),
/// and the panic's message printed on the normal screen and kept in the log. The probe
/// runs the real loop in the terminal set up by `plumb_console::tui::enter` (as `plumb`
/// does) and panics on the first key.
#[test]
fn a_panic_restores_the_terminal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("probe.log");
    // No agent: the console shows its disconnected state, which is enough to draw.
    let command = format!(
        "TERM=xterm-256color RUST_BACKTRACE=0 '{probe}' '{socket}' '{log}'; code=$?; stty -a; (exit $code)",
        probe = env!("CARGO_BIN_EXE_console-panic-probe"),
        socket = dir.path().join("no-agent.sock").display(),
        log = log.display(),
    );
    let tmux = Tmux::start(&command, 120, 40);
    tmux.wait_for("the console drawn", PATIENCE, |s| s.contains("Overview"));
    assert_eq!(
        tmux.pane_format("#{alternate_on}"),
        "1",
        "the console draws on the alternate screen"
    );

    tmux.keys(&["x"]);
    let screen = tmux.wait_for("the probe to exit", PATIENCE, |s| {
        s.contains("[exited with")
    });
    assert!(
        screen.contains("[exited with 101]"),
        "a panic exits with 101:\n{screen}"
    );
    assert!(
        screen.contains("console-panic-probe: a bug in the console"),
        "the panic message is printed on the normal screen:\n{screen}"
    );
    assert_eq!(
        tmux.pane_format("#{alternate_on} #{cursor_flag}"),
        "0 1",
        "off the alternate screen with the cursor shown"
    );
    let stty = screen.split_whitespace().collect::<Vec<_>>();
    for mode in ["icanon", "echo", "isig"] {
        assert!(
            stty.contains(&mode) && !stty.contains(&format!("-{mode}").as_str()),
            "raw mode ended: stty shows {mode}:\n{screen}"
        );
    }
    let logged = std::fs::read_to_string(&log).expect("the probe's log");
    assert!(
        logged.contains("the console panicked") && logged.contains("a bug in the console"),
        "the panic is logged: {logged}"
    );
}
