//! Alert incidents and their outbox against a real redb file: open and resolve queue one
//! message each, in order; delivery removes them; all of it survives a reopen; pruning
//! keeps open and undelivered incidents.

use std::time::Duration;

use plumb_agent::store::{AlertMessageKind, NewIncident, Store, StoreSettings};
use plumb_common::Timestamp;
use plumb_common::protocol::AlertRule;

const T0: Timestamp = Timestamp(1_800_000_000_000);

fn open(dir: &tempfile::TempDir) -> Store {
    Store::open(&dir.path().join("plumb.redb"), StoreSettings::default(), T0).expect("open store")
}

fn paused_orders() -> NewIncident {
    NewIncident {
        rule: AlertRule::FlowPaused,
        subject: Some("orders".into()),
        summary: "the orders flow has been paused".into(),
    }
}

#[tokio::test]
async fn incidents_and_undelivered_messages_survive_a_reopen_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir);
    let opened = store
        .write(|ctx| {
            ctx.open_incident(paused_orders(), T0, |i| {
                format!("open {}", i.id).into_bytes()
            })
        })
        .await
        .expect("open");
    let later = T0.plus(Duration::from_secs(60));
    let id = opened.id;
    let resolved = store
        .write(move |ctx| {
            ctx.resolve_incident(id, later, |i| format!("resolve {}", i.id).into_bytes())
        })
        .await
        .expect("resolve")
        .expect("was open");
    assert_eq!(resolved.resolved_at, Some(later));
    // Resolving twice writes nothing.
    let again = store
        .write(move |ctx| ctx.resolve_incident(id, later, |_| Vec::new()))
        .await
        .expect("resolve again");
    assert_eq!(again, None);
    store.close().await;
    drop(store);

    let store = open(&dir);
    let incidents = store.incidents();
    assert_eq!(incidents.len(), 1);
    assert!(!incidents[0].open_delivered && !incidents[0].resolve_delivered);
    let (first, message) = store
        .next_alert_message()
        .await
        .expect("read")
        .expect("queued");
    assert_eq!(message.kind, AlertMessageKind::Open);
    assert_eq!(message.body, format!("open {id}").into_bytes());
    store
        .write(move |ctx| ctx.alert_delivered(first))
        .await
        .expect("delivered");
    let (second, message) = store
        .next_alert_message()
        .await
        .expect("read")
        .expect("queued");
    assert_eq!(message.kind, AlertMessageKind::Resolve);
    store
        .write(move |ctx| ctx.alert_delivered(second))
        .await
        .expect("delivered");
    assert_eq!(store.next_alert_message().await.expect("read"), None);
    let incidents = store.incidents();
    assert!(incidents[0].open_delivered && incidents[0].resolve_delivered);
    let status = store.status(later);
    assert_eq!(status.incidents, incidents);
}

#[tokio::test]
async fn pruning_keeps_open_and_undelivered_incidents() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir);
    let mut ids = Vec::new();
    for _ in 0..3 {
        let incident = store
            .write(|ctx| ctx.open_incident(paused_orders(), T0, |_| b"open".to_vec()))
            .await
            .expect("open");
        ids.push(incident.id);
    }
    // The first two resolve; only the first has both messages delivered.
    for id in &ids[..2] {
        let id = *id;
        store
            .write(move |ctx| ctx.resolve_incident(id, T0, |_| b"resolve".to_vec()))
            .await
            .expect("resolve");
    }
    // Outbox order: open 1, open 2, open 3, resolve 1, resolve 2: deliver the first four.
    for _ in 0..4 {
        let (message, _) = store
            .next_alert_message()
            .await
            .expect("read")
            .expect("queued");
        store
            .write(move |ctx| ctx.alert_delivered(message))
            .await
            .expect("delivered");
    }
    let removed = store
        .write(|ctx| ctx.prune_incidents(T0.plus(Duration::from_secs(1))))
        .await
        .expect("prune");
    assert_eq!(removed, 1);
    let left: Vec<u64> = store.incidents().iter().map(|i| i.id).collect();
    assert_eq!(left, ids[1..].to_vec());
}
