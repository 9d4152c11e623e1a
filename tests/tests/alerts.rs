//! Alerts in the real `plumbd`, delivered to a local HTTP receiver: each rule's incident
//! opens with one message and resolves with one message, however many checks run; a
//! failing endpoint gets the messages retried, in order, until it accepts them; a restart
//! neither repeats an open message nor loses an undelivered one. The parity rule reads the
//! reconciler's stored reports: a stock drift opens it, a repairing run resolves it.

use std::path::Path;
use std::time::Duration;

use plumb_common::FlowKind;
use plumb_common::protocol::{Incident, Request, Response};
use plumb_tests::agent::{Agent, Control, WEBHOOK_SECRET};
use plumb_tests::erp::double::{ErpDouble, Fault};
use plumb_tests::inventory::agent_toml;
use plumb_tests::sandbox::faults::FaultConfig;
use plumb_tests::sandbox::receiver::{Received, Receiver};
use plumb_tests::sandbox::{Sandbox, SandboxConfig};
use plumb_tests::webhooks::{Delivery, Sender};
use serde_json::Value;

/// The rules that are on unless turned off.
const DEFAULT_ON: [&str; 6] = [
    "queue_age",
    "dead_letters",
    "parity",
    "flow_paused",
    "shopify_auth",
    "erp_unreachable",
];

/// How long to wait for something that should happen (generous: a loaded CI machine).
const PATIENCE: Duration = Duration::from_secs(30);

/// An `[alerts]` section POSTing to `receiver`, checking every 100 ms, with only the rules
/// in `rules` on (each `(name, its keys)`); the URL goes in a file, as a secret should.
fn alerts_toml(dir: &Path, receiver: &Receiver, rules: &[(&str, &str)]) -> String {
    let url_file = dir.join("alert-url");
    std::fs::write(&url_file, receiver.url()).expect("write the endpoint file");
    let mut toml = format!(
        "\n[alerts]\nendpoint = {{ file = \"{}\" }}\ncheck_interval = \"100ms\"\n\
         delivery_timeout = \"2s\"\nretry_base = \"50ms\"\nretry_cap = \"200ms\"\n",
        url_file.display()
    );
    for name in DEFAULT_ON {
        if !rules.iter().any(|(rule, _)| *rule == name) {
            toml.push_str(&format!("\n[alerts.{name}]\nenabled = false\n"));
        }
    }
    for (name, keys) in rules {
        toml.push_str(&format!("\n[alerts.{name}]\n{keys}\n"));
    }
    toml
}

/// The messages received about `rule` with event `event` ("open" or "resolved").
fn messages(received: &[Received], rule: &str, event: &str) -> Vec<Value> {
    received
        .iter()
        .map(Received::json)
        .filter(|m| m["plumb"]["rule"] == rule && m["plumb"]["event"] == event)
        .collect()
}

/// Waits until `rule` has had at least `count` messages of `event`.
async fn wait_for(receiver: &Receiver, agent: &Agent, rule: &str, event: &str, count: usize) {
    let received = receiver
        .wait_for(PATIENCE, |r| messages(r, rule, event).len() >= count)
        .await;
    assert!(
        messages(&received, rule, event).len() >= count,
        "no {event} message for {rule}; received: {:?}\n{}",
        received.iter().map(Received::json).collect::<Vec<_>>(),
        agent.stderr()
    );
}

/// Asserts `rule` got exactly one open message and one resolve message, for the same
/// incident, the open one first; returns the incident id.
fn exactly_once(received: &[Received], rule: &str) -> u64 {
    let all: Vec<Value> = received
        .iter()
        .map(Received::json)
        .filter(|m| m["plumb"]["rule"] == rule)
        .collect();
    let events: Vec<&str> = all
        .iter()
        .filter_map(|m| m["plumb"]["event"].as_str())
        .collect();
    assert_eq!(events, ["open", "resolved"], "{rule}: {all:?}");
    let id = all[0]["plumb"]["incident"].as_u64().expect("incident id");
    assert_eq!(all[1]["plumb"]["incident"].as_u64(), Some(id), "{all:?}");
    assert!(
        all[0]["text"].as_str().is_some_and(|t| t.contains("OPEN")),
        "{all:?}"
    );
    assert!(all[1]["plumb"]["resolved_at"].is_string(), "{all:?}");
    id
}

/// Lets more than ten checks run, so a duplicate would have been sent.
async fn more_checks() {
    tokio::time::sleep(Duration::from_millis(1_500)).await;
}

async fn control(agent: &Agent) -> Control {
    Control::connect(&agent.socket(), false)
        .await
        .expect("connect to the control socket")
}

async fn incidents(control: &mut Control) -> Vec<Incident> {
    match control.request(Request::Status).await {
        Ok(Response::Status(status)) => status.incidents,
        other => panic!("status: {other:?}"),
    }
}

/// Waits until the incidents the agent reports satisfy `done`; returns them.
async fn incidents_until(
    control: &mut Control,
    agent: &Agent,
    done: impl Fn(&[Incident]) -> bool,
) -> Vec<Incident> {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let shown = incidents(control).await;
        if done(&shown) {
            return shown;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "incidents: {shown:?}\n{}",
            agent.stderr()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn set_paused(control: &mut Control, flow: FlowKind, paused: bool) {
    let request = if paused {
        Request::Pause { flow }
    } else {
        Request::Resume { flow }
    };
    control.request(request).await.expect("pause or resume");
}

async fn deliver(agent: &Agent, topic: &str, event_id: &str, body: &[u8]) {
    let sender = Sender::new(&agent.webhook_address, WEBHOOK_SECRET.as_bytes());
    let status = sender
        .send(&Delivery {
            topic: topic.to_owned(),
            event_id: event_id.to_owned(),
            body: body.to_vec(),
        })
        .await
        .expect("deliver the webhook");
    assert_eq!(status, 200, "{}", agent.stderr());
}

#[tokio::test]
async fn queue_age_paused_flow_and_dead_letters_open_once_and_resolve_once() {
    let receiver = Receiver::start().await.expect("receiver");
    let dir = tempfile::tempdir().expect("tempdir");
    let toml = alerts_toml(
        dir.path(),
        &receiver,
        &[
            ("queue_age", "older_than = \"500ms\""),
            ("flow_paused", "longer_than = \"500ms\""),
            ("dead_letters", "growth = 1\nwindow = \"2s\""),
        ],
    );
    let agent = Agent::start(dir.path(), &toml);
    let mut control = control(&agent).await;

    // Paused, the orders flow keeps a job pending: both conditions hold.
    set_paused(&mut control, FlowKind::Orders, true).await;
    deliver(&agent, "orders/create", "alerts-1", b"not json").await;
    wait_for(&receiver, &agent, "flow_paused", "open", 1).await;
    wait_for(&receiver, &agent, "queue_age", "open", 1).await;
    let open = incidents(&mut control).await;
    assert!(
        open.iter().any(|i| i.subject.as_deref() == Some("orders")
            && i.resolved_at.is_none()
            && i.summary.contains("paused")),
        "{open:?}"
    );

    // Resumed: the job runs and becomes a dead letter (not JSON), so the queue empties,
    // the pause ends, and the dead letters grow; after a quiet window that resolves too.
    set_paused(&mut control, FlowKind::Orders, false).await;
    wait_for(&receiver, &agent, "flow_paused", "resolved", 1).await;
    wait_for(&receiver, &agent, "queue_age", "resolved", 1).await;
    wait_for(&receiver, &agent, "dead_letters", "open", 1).await;
    wait_for(&receiver, &agent, "dead_letters", "resolved", 1).await;

    more_checks().await;
    let received = receiver.received();
    for rule in ["flow_paused", "queue_age", "dead_letters"] {
        exactly_once(&received, rule);
    }
    assert_eq!(received.len(), 6, "one open and one resolve per rule");
    let shown = incidents(&mut control).await;
    assert_eq!(shown.len(), 3, "{shown:?}");
    assert!(
        shown
            .iter()
            .all(|i| i.resolved_at.is_some() && i.open_delivered && i.resolve_delivered),
        "{shown:?}"
    );
    assert!(agent.stderr().contains("alert incident opened"));
    assert!(
        !agent.stderr().contains(&receiver.url()),
        "the endpoint URL is a secret and must not be logged"
    );
}

#[tokio::test]
async fn no_orders_during_trading_hours_opens_once_and_an_order_resolves_it() {
    let receiver = Receiver::start().await.expect("receiver");
    let dir = tempfile::tempdir().expect("tempdir");
    let toml = alerts_toml(
        dir.path(),
        &receiver,
        &[(
            "no_orders",
            "after = \"4s\"\ntrading_hours = \"00:00-24:00\"\nutc_offset = \"+00:00\"",
        )],
    );
    let agent = Agent::start(dir.path(), &toml);
    wait_for(&receiver, &agent, "no_orders", "open", 1).await;
    // Still quiet: no second open message.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(messages(&receiver.received(), "no_orders", "open").len(), 1);

    // An order webhook is an order received, whatever becomes of its job.
    deliver(&agent, "orders/create", "alerts-order-1", b"{}").await;
    wait_for(&receiver, &agent, "no_orders", "resolved", 1).await;
    // Less than `after` (4 s) since the order: nothing more may be sent.
    tokio::time::sleep(Duration::from_millis(500)).await;
    exactly_once(&receiver.received(), "no_orders");
}

#[tokio::test]
async fn shopify_auth_and_missing_webhook_subscriptions_open_once_and_resolve_once() {
    let receiver = Receiver::start().await.expect("receiver");
    let sandbox = Sandbox::start(SandboxConfig::signed_with(WEBHOOK_SECRET))
        .await
        .expect("sandbox");
    let admin = sandbox.admin();
    let uri = "https://plumb.example.com/webhooks";
    admin.subscribe("orders/create", uri);
    // Another app's subscription for the missing topic does not count.
    admin.subscribe("refunds/create", "https://elsewhere.example.com/hooks");
    let double = ErpDouble::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let alerts = alerts_toml(
        dir.path(),
        &receiver,
        &[
            ("shopify_auth", "longer_than = \"0s\""),
            (
                "webhook_subscriptions",
                &format!(
                    "uri = \"{uri}\"\ntopics = [\"orders/create\", \"refunds/create\"]\n\
                     interval = \"200ms\""
                ),
            ),
        ],
    );
    let toml = agent_toml(dir.path(), &sandbox, &double.settings(), &[], &alerts);
    let agent = Agent::start(dir.path(), &toml);

    wait_for(&receiver, &agent, "webhook_subscriptions", "open", 1).await;
    let open = messages(&receiver.received(), "webhook_subscriptions", "open");
    let summary = open[0]["plumb"]["summary"].as_str().unwrap_or_default();
    assert!(
        summary.contains("refunds/create") && !summary.contains("orders/create"),
        "{summary}"
    );
    admin.subscribe("refunds/create", uri);
    wait_for(&receiver, &agent, "webhook_subscriptions", "resolved", 1).await;

    // The token revoked: the periodic subscription check is refused.
    admin.set_faults(FaultConfig {
        token_revoked: true,
        ..FaultConfig::default()
    });
    wait_for(&receiver, &agent, "shopify_auth", "open", 1).await;
    more_checks().await;
    assert_eq!(
        messages(&receiver.received(), "shopify_auth", "open").len(),
        1
    );
    admin.set_faults(FaultConfig::default());
    wait_for(&receiver, &agent, "shopify_auth", "resolved", 1).await;

    more_checks().await;
    let received = receiver.received();
    exactly_once(&received, "webhook_subscriptions");
    exactly_once(&received, "shopify_auth");
    assert_eq!(
        received.len(),
        4,
        "{:?}",
        received.iter().map(Received::json).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn an_unreachable_erp_opens_once_and_resolves_once_when_it_answers_again() {
    let receiver = Receiver::start().await.expect("receiver");
    let sandbox = Sandbox::start(SandboxConfig::default())
        .await
        .expect("sandbox");
    let double = ErpDouble::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let alerts = alerts_toml(
        dir.path(),
        &receiver,
        &[("erp_unreachable", "longer_than = \"300ms\"")],
    );
    let toml = agent_toml(dir.path(), &sandbox, &double.settings(), &[], &alerts);
    let agent = Agent::start(dir.path(), &toml);
    // Reachable: several checks, nothing sent.
    more_checks().await;
    assert!(receiver.received().is_empty(), "{:?}", receiver.received());

    double.inject("*", Fault::Status(503), usize::MAX);
    wait_for(&receiver, &agent, "erp_unreachable", "open", 1).await;
    more_checks().await;
    assert_eq!(
        messages(&receiver.received(), "erp_unreachable", "open").len(),
        1
    );
    double.heal();
    wait_for(&receiver, &agent, "erp_unreachable", "resolved", 1).await;
    more_checks().await;
    exactly_once(&receiver.received(), "erp_unreachable");
}

#[tokio::test]
async fn a_failing_endpoint_gets_both_messages_retried_in_order_until_it_accepts() {
    let PausedFlow {
        receiver,
        _dir,
        agent,
    } = PausedFlow::start(500).await;
    let mut control = control(&agent).await;
    // The open message is refused and sent again.
    wait_for(&receiver, &agent, "flow_paused", "open", 3).await;
    // Resolved while the endpoint still fails: the resolve message waits behind the open one.
    set_paused(&mut control, FlowKind::Fulfilment, false).await;
    let shown = incidents_until(&mut control, &agent, |shown| {
        shown.iter().any(|i| i.resolved_at.is_some())
    })
    .await;
    assert!(
        shown
            .iter()
            .all(|i| !i.open_delivered && !i.resolve_delivered),
        "{shown:?}"
    );
    more_checks().await;
    assert!(
        messages(&receiver.received(), "flow_paused", "resolved").is_empty(),
        "a resolve message overtook its open message"
    );

    receiver.set_status(200);
    wait_for(&receiver, &agent, "flow_paused", "resolved", 1).await;
    incidents_until(&mut control, &agent, |shown| {
        shown
            .iter()
            .all(|i| i.open_delivered && i.resolve_delivered)
    })
    .await;
    let attempts = receiver.received().len();
    more_checks().await;
    let received = receiver.received();
    assert_eq!(
        received.len(),
        attempts,
        "accepted messages are not sent again"
    );
    let events: Vec<Value> = received.iter().map(Received::json).collect();
    let resolved = messages(&received, "flow_paused", "resolved");
    assert_eq!(resolved.len(), 1, "{events:?}");
    // Every attempt before the last was the open message, for the same incident.
    let (last, before) = events.split_last().expect("messages");
    assert_eq!(last["plumb"]["event"], "resolved");
    assert!(
        before.iter().all(|m| m["plumb"]["event"] == "open"
            && m["plumb"]["incident"] == last["plumb"]["incident"]),
        "{events:?}"
    );
    assert!(agent.stderr().contains("alert delivery failed; retrying"));
}

/// An agent with only the `flow_paused` rule on, whose fulfilment flow was paused until
/// the incident opened (its open message sent at least once to a receiver answering
/// `status`).
struct PausedFlow {
    receiver: Receiver,
    _dir: tempfile::TempDir,
    agent: Agent,
}

impl PausedFlow {
    async fn start(status: u16) -> PausedFlow {
        let receiver = Receiver::start().await.expect("receiver");
        receiver.set_status(status);
        let dir = tempfile::tempdir().expect("tempdir");
        let toml = alerts_toml(
            dir.path(),
            &receiver,
            &[("flow_paused", "longer_than = \"200ms\"")],
        );
        let agent = Agent::start(dir.path(), &toml);
        let mut control_socket = control(&agent).await;
        set_paused(&mut control_socket, FlowKind::Fulfilment, true).await;
        wait_for(&receiver, &agent, "flow_paused", "open", 1).await;
        PausedFlow {
            receiver,
            _dir: dir,
            agent,
        }
    }
}

#[tokio::test]
async fn a_restart_neither_repeats_an_open_message_nor_loses_an_undelivered_one() {
    let PausedFlow {
        receiver,
        _dir,
        mut agent,
    } = PausedFlow::start(503).await;

    // Killed before the endpoint accepted the open message: it is sent after the restart.
    agent.kill();
    receiver.set_status(200);
    let refused = receiver.received().len();
    agent.restart();
    let mut control_socket = control(&agent).await;
    let shown = incidents_until(&mut control_socket, &agent, |shown| {
        shown.iter().any(|i| i.open_delivered)
    })
    .await;
    let incident = shown[0].clone();
    assert_eq!(incident.resolved_at, None);
    let accepted = receiver.received().len();
    assert_eq!(accepted, refused + 1, "one open message after the restart");

    // Restarted again while the incident is open (the flow is still paused): the open
    // message is not sent again, and the incident is the same one.
    assert!(agent.stop(), "clean stop");
    agent.restart();
    more_checks().await;
    let mut control_socket = control(&agent).await;
    let shown = incidents(&mut control_socket).await;
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert_eq!(shown[0].id, incident.id);
    assert_eq!(
        receiver.received().len(),
        accepted,
        "no repeated open message"
    );

    set_paused(&mut control_socket, FlowKind::Fulfilment, false).await;
    wait_for(&receiver, &agent, "flow_paused", "resolved", 1).await;
    more_checks().await;
    let resolved = messages(&receiver.received(), "flow_paused", "resolved");
    assert_eq!(resolved.len(), 1);
    assert_eq!(resolved[0]["plumb"]["incident"].as_u64(), Some(incident.id));
}

#[tokio::test]
async fn an_open_incident_of_a_rule_turned_off_resolves_after_the_restart() {
    let PausedFlow {
        receiver,
        _dir,
        mut agent,
    } = PausedFlow::start(200).await;

    // The rule turned off while its incident is open (the flow stays paused): the
    // incident is no longer checked, so it resolves, once.
    assert!(agent.stop(), "clean stop");
    let config = std::fs::read_to_string(agent.config_path()).expect("read the config");
    let config = config.replace(
        "[alerts.flow_paused]\nlonger_than = \"200ms\"",
        "[alerts.flow_paused]\nenabled = false",
    );
    std::fs::write(agent.config_path(), config).expect("write the config");
    agent.restart();
    wait_for(&receiver, &agent, "flow_paused", "resolved", 1).await;
    more_checks().await;
    exactly_once(&receiver.received(), "flow_paused");
    assert!(agent.stderr().contains("no longer checked"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parity_below_the_threshold_opens_once_and_a_repairing_run_resolves_it() {
    use plumb_common::protocol::{Request as R, RunScope};
    use plumb_tests::reconcile::{finished_run, shop};

    let receiver = Receiver::start().await.expect("receiver");
    let (sandbox, locations) = shop(&["East"]).await;
    let east = locations[0];
    let admin = sandbox.admin();
    let item = admin
        .add_product("Lamp", &[("PA-1", rust_decimal::Decimal::TEN)])
        .variants[0]
        .inventory_item_id;
    admin.stock(item, east, 0);
    let erp = ErpDouble::start().await;
    erp.add_product("PA-1", "Lamp", "10.00", None);
    erp.set_stock("PA-1", "WH-EAST", 8);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut toml = agent_toml(
        dir.path(),
        &sandbox,
        &erp.settings(),
        &[("WH-EAST", east)],
        "\n[inventory]\npoll_interval = \"200ms\"\n[flows.orders]\nenabled = false\n",
    );
    toml.push_str(&alerts_toml(
        dir.path(),
        &receiver,
        &[("parity", "below = 100")],
    ));
    let agent = Agent::start(dir.path(), &toml);
    let level = || admin.level(item, east).map(|l| l.available);
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while level() != Some(8) {
        assert!(tokio::time::Instant::now() < deadline, "{}", agent.stderr());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Changed in Shopify behind the flow's back (no webhook): only a comparison sees it.
    admin.stock(item, east, 3);
    let mut control = control(&agent).await;
    let run = finished_run(&agent, &mut control, R::Reconcile { dry_run: true }).await;
    assert_eq!(run.scope, RunScope::Full);
    wait_for(&receiver, &agent, "parity", "open", 1).await;

    // A repairing run sets the level back; the next run finds full parity.
    finished_run(&agent, &mut control, R::Reconcile { dry_run: false }).await;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while level() != Some(8) {
        assert!(tokio::time::Instant::now() < deadline, "{}", agent.stderr());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    finished_run(&agent, &mut control, R::Reconcile { dry_run: true }).await;
    wait_for(&receiver, &agent, "parity", "resolved", 1).await;
    more_checks().await;
    // Per dimension: inventory opened once and resolved once; the catalogue's incident
    // (the double's WH-WEST is mapped to no location) stays open, sent once.
    let received = receiver.received();
    let of = |subject: &str| -> Vec<String> {
        received
            .iter()
            .map(Received::json)
            .filter(|m| m["plumb"]["rule"] == "parity" && m["plumb"]["subject"] == subject)
            .filter_map(|m| m["plumb"]["event"].as_str().map(str::to_owned))
            .collect()
    };
    assert_eq!(of("inventory"), ["open", "resolved"]);
    assert_eq!(of("catalog"), ["open"]);
}
