//! Crash safety: the real `plumbd`, fed signed webhooks through its real HTTP path by
//! concurrent producers, is killed with SIGKILL at random moments and restarted, 20 times.
//! Every delivery the agent acknowledged with 200 must then be stored exactly once and run
//! to completion exactly once, and redeliveries after a crash must not create new jobs.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use plumb_agent::store::{Store, StoreSettings};
use plumb_common::protocol::JobQuery;
use plumb_common::{FlowKind, JobId, JobState, Timestamp};
use plumb_tests::agent::{Agent, WEBHOOK_SECRET};
use plumb_tests::webhooks::{Delivery, Sender, level_update};

const ROUNDS: usize = 20;
const PRODUCERS: usize = 16;
const ITEMS: u64 = 40;
const LOCATIONS: [u64; 3] = [101, 102, 103];

/// What a producer sent: (inventory item, location, available). `available` is the
/// delivery's sequence number, so a later delivery always carries a larger figure.
type Sent = (u64, u64, i64);

fn delivery(seq: u64) -> (Delivery, Sent) {
    let item = 1_000 + seq % ITEMS;
    let location = LOCATIONS[(seq / ITEMS) as usize % LOCATIONS.len()];
    let available = seq as i64;
    let body = level_update(item, location, available, seq);
    (
        Delivery {
            topic: "inventory_levels/update".into(),
            event_id: format!("evt-{seq}"),
            body,
        },
        (item, location, available),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_webhooks_survive_kill_9_exactly_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut agent = Agent::start(dir.path(), "");
    let sender = Sender::new(&agent.webhook_address, WEBHOOK_SECRET.as_bytes());
    let acked: Arc<Mutex<BTreeMap<u64, Sent>>> = Arc::default();
    let next_seq = Arc::new(AtomicU64::new(1));
    let mut rng = fastrand::Rng::with_seed(0x0b1d);
    let mut redelivered = 0;

    for round in 0..ROUNDS {
        let mut producers = Vec::new();
        for _ in 0..PRODUCERS {
            let (sender, acked, next_seq) = (sender.clone(), acked.clone(), next_seq.clone());
            producers.push(tokio::spawn(async move {
                loop {
                    let seq = next_seq.fetch_add(1, Ordering::Relaxed);
                    let (delivery, sent) = delivery(seq);
                    match sender.send(&delivery).await {
                        Ok(200) => {
                            acked.lock().expect("lock").insert(seq, sent);
                        }
                        Ok(status) => panic!("delivery {seq} answered {status}"),
                        // The agent was killed: this delivery's fate is unknown, which is
                        // allowed; only acknowledged ones must survive.
                        Err(_) => return,
                    }
                }
            }));
        }
        tokio::time::sleep(Duration::from_millis(rng.u64(30..300))).await;
        agent.kill();
        for producer in producers {
            producer.await.expect("producer");
        }
        agent.restart();
        // Shopify redelivers: some acknowledged events come again after the crash.
        let sample: Vec<u64> = {
            let acked = acked.lock().expect("lock");
            let keys: Vec<u64> = acked.keys().copied().collect();
            if keys.is_empty() {
                Vec::new()
            } else {
                (0..5).map(|_| keys[rng.usize(..keys.len())]).collect()
            }
        };
        for seq in sample {
            let (delivery, _) = delivery(seq);
            let status = sender.send(&delivery).await.expect("redelivery");
            assert_eq!(status, 200, "round {round}: redelivery of {seq}");
            redelivered += 1;
        }
    }
    let acked = acked.lock().expect("lock").clone();
    assert!(
        acked.len() > 500,
        "the producers got too little through: {}",
        acked.len()
    );
    assert!(redelivered > 0);

    // Let the agent finish the queue, then stop it cleanly.
    let mut control = plumb_tests::agent::Control::connect(&agent.socket(), true)
        .await
        .expect("control");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let status = match control
            .request(plumb_common::protocol::Request::Status)
            .await
        {
            Ok(plumb_common::protocol::Response::Status(status)) => status,
            other => panic!("status: {other:?}"),
        };
        let inventory = status.flow(FlowKind::Inventory).expect("inventory flow");
        if inventory.pending == 0 && inventory.in_flight == 0 {
            assert_eq!(inventory.dead, 0, "no delivery should have failed");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "queue not drained: {inventory:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(control);
    assert!(
        agent.stop(),
        "plumbd exits 0 on SIGTERM:\n{}",
        agent.stderr()
    );

    let store = Store::open(
        &dir.path().join("state/plumb.redb"),
        StoreSettings::default(),
        Timestamp::now(),
    )
    .expect("open the agent's store");
    let mut jobs_of_acked = std::collections::BTreeSet::new();
    for seq in acked.keys() {
        let id = store
            .dedup_job(format!("shopify:event:evt-{seq}"))
            .await
            .expect("dedup read")
            .unwrap_or_else(|| panic!("acknowledged delivery {seq} was lost"));
        assert_eq!(
            store.job_state(id).await.expect("state"),
            Some(JobState::Done),
            "delivery {seq}"
        );
        assert!(
            jobs_of_acked.insert(id),
            "two acknowledged events share job {id}"
        );
    }
    let mut done = Vec::new();
    let mut after: Option<JobId> = None;
    loop {
        let page = store
            .list_jobs(JobQuery {
                state: Some(JobState::Done),
                after,
                limit: 1000,
                ..Default::default()
            })
            .await
            .expect("list done");
        done.extend(page.items.iter().map(|j| j.id));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let sent_total = next_seq.load(Ordering::Relaxed) - 1;
    assert!(
        done.len() as u64 <= sent_total,
        "more jobs ({}) than distinct deliveries ({sent_total}): a redelivery made a second job",
        done.len()
    );
    let completed_total = store.completed_total().await.expect("total");
    assert_eq!(
        completed_total,
        done.len() as u64,
        "a job ran to completion twice"
    );

    // The recorded level per (item, location) is at least the newest acknowledged one.
    let mut newest: BTreeMap<(u64, u64), i64> = BTreeMap::new();
    for (item, location, available) in acked.values() {
        let entry = newest.entry((*item, *location)).or_insert(*available);
        *entry = (*entry).max(*available);
    }
    for ((item, location), available) in newest {
        let (recorded, _) = store
            .shopify_level(item, location)
            .await
            .expect("level")
            .expect("level recorded");
        assert!(
            recorded >= available,
            "item {item} at {location}: recorded {recorded}, acknowledged {available}"
        );
    }
    store.close().await;
}
