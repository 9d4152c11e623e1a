//! Queue semantics against a real redb file: dedup, coalescing, backoff, leases, pause,
//! dead letters and their bound, and recovery on reopen.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use plumb_agent::clock::Clock;
use plumb_agent::shutdown::ShutdownTrigger;
use plumb_agent::store::{
    EnqueueOptions, EnqueueOutcome, FailOutcome, Failure, LeasedJob, NewJob, RetryPolicy, Store,
    StoreError, StoreSettings,
};
use plumb_agent::worker::{BoxFuture, FlowRunner, Handler};
use plumb_common::protocol::{DeadLetterQuery, DeadLetterSelection, Event, JobQuery};
use plumb_common::{ErrorClass, FlowKind, JobId, JobState, Timestamp};

const T0: Timestamp = Timestamp(1_800_000_000_000);
const LEASE: Duration = Duration::from_secs(60);

fn open(dir: &tempfile::TempDir, settings: StoreSettings) -> Store {
    Store::open(&dir.path().join("plumb.redb"), settings, T0).expect("open store")
}

fn job(flow: FlowKind, payload: &str, options: EnqueueOptions) -> NewJob {
    NewJob {
        flow,
        payload_kind: "test".into(),
        payload: payload.as_bytes().to_vec(),
        options,
    }
}

fn policy(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        base: Duration::from_secs(1),
        cap: Duration::from_secs(10),
    }
}

async fn take(store: &Store, flow: FlowKind, now: Timestamp) -> Vec<LeasedJob> {
    store
        .write(move |ctx| ctx.take(flow, 100, LEASE, now))
        .await
        .expect("take")
}

#[tokio::test]
async fn dedup_key_returns_the_first_job_within_its_ttl() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir, StoreSettings::default());
    let options = EnqueueOptions {
        dedup: Some(("event:1".into(), Duration::from_secs(3600))),
        ..Default::default()
    };
    let first = store
        .write({
            let j = job(FlowKind::Orders, "a", options.clone());
            move |ctx| ctx.enqueue(j, T0)
        })
        .await
        .expect("enqueue");
    assert_eq!(first.outcome, EnqueueOutcome::Created);
    let again = store
        .write({
            let j = job(FlowKind::Orders, "b", options.clone());
            move |ctx| ctx.enqueue(j, T0.plus(Duration::from_secs(10)))
        })
        .await
        .expect("enqueue");
    assert_eq!(again.outcome, EnqueueOutcome::Duplicate);
    assert_eq!(again.id, first.id);
    // Completed jobs are still remembered by the ledger.
    let taken = take(&store, FlowKind::Orders, T0).await;
    assert_eq!(taken.len(), 1);
    assert_eq!(taken[0].payload, b"a");
    let (id, attempt) = (taken[0].id, taken[0].attempt);
    store
        .write(move |ctx| ctx.complete(id, attempt, T0))
        .await
        .expect("complete");
    let after_done = store
        .write({
            let j = job(FlowKind::Orders, "c", options.clone());
            move |ctx| ctx.enqueue(j, T0.plus(Duration::from_secs(20)))
        })
        .await
        .expect("enqueue");
    assert_eq!(after_done.outcome, EnqueueOutcome::Duplicate);
    // Past the TTL the key is free again.
    let later = store
        .write({
            let j = job(FlowKind::Orders, "d", options);
            move |ctx| ctx.enqueue(j, T0.plus(Duration::from_secs(3601)))
        })
        .await
        .expect("enqueue");
    assert_eq!(later.outcome, EnqueueOutcome::Created);
    assert_ne!(later.id, first.id);
}

#[tokio::test]
async fn coalescing_keeps_the_latest_payload_of_a_pending_job() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir, StoreSettings::default());
    let options = EnqueueOptions {
        coalesce: Some("SKU-1@loc-1".into()),
        ..Default::default()
    };
    let mut ids = Vec::new();
    for value in ["5", "4", "3"] {
        let j = job(FlowKind::Inventory, value, options.clone());
        ids.push(
            store
                .write(move |ctx| ctx.enqueue(j, T0))
                .await
                .expect("enqueue"),
        );
    }
    assert_eq!(ids[0].outcome, EnqueueOutcome::Created);
    assert!(
        ids[1..]
            .iter()
            .all(|e| e.outcome == EnqueueOutcome::Coalesced && e.id == ids[0].id)
    );
    let taken = take(&store, FlowKind::Inventory, T0).await;
    assert_eq!(taken.len(), 1, "one job per key");
    assert_eq!(taken[0].payload, b"3", "latest value wins");
    // A change arriving while the job runs is a new job: the running one is not rewritten.
    let j = job(FlowKind::Inventory, "2", options);
    let next = store
        .write(move |ctx| ctx.enqueue(j, T0))
        .await
        .expect("enqueue");
    assert_eq!(next.outcome, EnqueueOutcome::Created);
    assert_ne!(next.id, ids[0].id);
    let status = store.status(T0);
    let inventory = status.flow(FlowKind::Inventory).expect("flow");
    assert_eq!((inventory.pending, inventory.in_flight), (1, 1));
}

#[test]
fn backoff_ceiling_doubles_and_caps() {
    let p = policy(10);
    let ceilings: Vec<u64> = (1..=6).map(|a| p.ceiling(a).as_secs()).collect();
    assert_eq!(ceilings, [1, 2, 4, 8, 10, 10]);
    assert_eq!(p.delay(3, 0.5), Duration::from_secs(2));
    assert_eq!(p.delay(3, 0.0), Duration::ZERO);
    assert_eq!(p.ceiling(200), Duration::from_secs(10), "no overflow");
}

/// Fails transiently every time and records when (in tokio time) each attempt ran.
struct AlwaysTransient {
    attempts: Arc<Mutex<Vec<tokio::time::Instant>>>,
}

impl Handler for AlwaysTransient {
    fn run<'a>(&'a self, _job: &'a LeasedJob) -> BoxFuture<'a, Result<(), Failure>> {
        Box::pin(async move {
            self.attempts
                .lock()
                .expect("lock")
                .push(tokio::time::Instant::now());
            Err(Failure::transient("erp_unreachable", "connection refused"))
        })
    }
}

#[tokio::test(start_paused = true)]
async fn transient_failures_follow_the_backoff_schedule_then_dead_letter() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir, StoreSettings::default());
    let clock = Clock::tokio(T0);
    let attempts = Arc::new(Mutex::new(Vec::new()));
    let (trigger, shutdown) = ShutdownTrigger::new();
    let runner = FlowRunner {
        flow: FlowKind::Orders,
        handler: Arc::new(AlwaysTransient {
            attempts: attempts.clone(),
        }),
        concurrency: 1,
        policy: policy(6),
        lease: LEASE,
        grace: Duration::from_secs(1),
        store: store.clone(),
        clock,
        // Full jitter drawn at its top: the delay is exactly the ceiling.
        jitter: Arc::new(|| 1.0),
    };
    // The test waits on the store's events, not on a timer of its own: with paused time
    // the runtime jumps to the next timer whenever it idles, so the only timers must be the
    // runner's.
    let mut events = store.subscribe();
    let task = tokio::spawn(runner.run(shutdown));
    let start = tokio::time::Instant::now();
    let j = job(FlowKind::Orders, "order", EnqueueOptions::default());
    let enqueued = store
        .write(move |ctx| ctx.enqueue(j, T0))
        .await
        .expect("enqueue");
    loop {
        match events.recv().await.expect("event") {
            Event::DeadLetter(dead) if dead.id == enqueued.id => break,
            _ => {}
        }
    }
    trigger.trigger();
    task.await.expect("runner");
    let offsets: Vec<u64> = attempts
        .lock()
        .expect("lock")
        .iter()
        .map(|at| at.duration_since(start).as_secs())
        .collect();
    assert_eq!(
        offsets,
        [0, 1, 3, 7, 15, 25],
        "attempt times follow base*2^n capped at 10 s"
    );
    assert_eq!(
        store.job_state(enqueued.id).await.expect("state"),
        Some(JobState::Dead)
    );
    let dead = store.dead_letter(enqueued.id).await.expect("dead letter");
    assert_eq!(dead.summary.class, ErrorClass::Exhausted);
    assert_eq!(dead.summary.cause, "erp_unreachable");
    assert_eq!(dead.summary.attempts, 6);
    assert_eq!(dead.payload, "order");
    assert_eq!(dead.summary.first_failed_at, T0);
    assert_eq!(
        dead.summary.last_failed_at,
        T0.plus(Duration::from_secs(25))
    );
}

#[tokio::test]
async fn an_expired_lease_returns_the_job_and_the_old_holder_cannot_finish_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir, StoreSettings::default());
    let j = job(FlowKind::Refunds, "r", EnqueueOptions::default());
    store
        .write(move |ctx| ctx.enqueue(j, T0))
        .await
        .expect("enqueue");
    let first = take(&store, FlowKind::Refunds, T0).await.remove(0);
    assert!(
        take(&store, FlowKind::Refunds, T0).await.is_empty(),
        "leased jobs are not taken twice"
    );
    let before_expiry = T0.plus(LEASE - Duration::from_secs(1));
    let recovered = store
        .write(move |ctx| ctx.recover_expired_leases(before_expiry))
        .await
        .expect("recover");
    assert_eq!(recovered, 0);
    let after_expiry = T0.plus(LEASE + Duration::from_secs(1));
    let recovered = store
        .write(move |ctx| ctx.recover_expired_leases(after_expiry))
        .await
        .expect("recover");
    assert_eq!(recovered, 1);
    let second = take(&store, FlowKind::Refunds, after_expiry)
        .await
        .remove(0);
    assert_eq!(second.id, first.id);
    assert_eq!(second.attempt, 2);
    let (id, stale) = (first.id, first.attempt);
    let refused = store
        .write(move |ctx| ctx.complete(id, stale, after_expiry))
        .await;
    assert!(
        matches!(refused, Err(StoreError::LeaseLost(_))),
        "{refused:?}"
    );
    let refused = store
        .write(move |ctx| {
            ctx.fail(
                id,
                stale,
                Failure::permanent("x", "x"),
                policy(3),
                0.5,
                after_expiry,
            )
        })
        .await;
    assert!(
        matches!(refused, Err(StoreError::LeaseLost(_))),
        "{refused:?}"
    );
    let current = second.attempt;
    store
        .write(move |ctx| ctx.complete(id, current, after_expiry))
        .await
        .expect("complete");
    assert_eq!(store.completed_total().await.expect("total"), 1);
    let again = store
        .write(move |ctx| ctx.complete(id, current, after_expiry))
        .await;
    assert!(
        matches!(again, Err(StoreError::NotFound(_))),
        "completed once only: {again:?}"
    );
}

#[tokio::test]
async fn a_paused_flow_stores_jobs_and_runs_none() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir, StoreSettings::default());
    let since = store
        .write(|ctx| ctx.set_paused(FlowKind::Orders, true, T0))
        .await
        .expect("pause");
    assert_eq!(since, Some(T0));
    assert!(store.is_paused(FlowKind::Orders));
    let j = job(FlowKind::Orders, "o", EnqueueOptions::default());
    let enqueued = store
        .write(move |ctx| ctx.enqueue(j, T0))
        .await
        .expect("enqueue while paused");
    assert!(take(&store, FlowKind::Orders, T0).await.is_empty());
    let j = job(FlowKind::Refunds, "r", EnqueueOptions::default());
    store
        .write(move |ctx| ctx.enqueue(j, T0))
        .await
        .expect("enqueue");
    assert_eq!(
        take(&store, FlowKind::Refunds, T0).await.len(),
        1,
        "other flows run"
    );
    store
        .write(|ctx| ctx.set_paused(FlowKind::Orders, false, T0))
        .await
        .expect("resume");
    let taken = take(&store, FlowKind::Orders, T0).await;
    assert_eq!(
        taken.iter().map(|j| j.id).collect::<Vec<_>>(),
        [enqueued.id]
    );
}

async fn dead_job(store: &Store, cause: &str, now: Timestamp) -> JobId {
    let j = job(FlowKind::Orders, cause, EnqueueOptions::default());
    let id = store
        .write(move |ctx| ctx.enqueue(j, now))
        .await
        .expect("enqueue")
        .id;
    let leased = take(store, FlowKind::Orders, now).await.remove(0);
    let attempt = leased.attempt;
    let failure = Failure::permanent(cause, format!("{cause} on job {id}"));
    let outcome = store
        .write(move |ctx| ctx.fail(id, attempt, failure, policy(5), 0.5, now))
        .await
        .expect("fail");
    assert_eq!(
        outcome,
        FailOutcome::Dead,
        "permanent failures do not retry"
    );
    id
}

#[tokio::test]
async fn dead_letters_list_group_retry_and_discard() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir, StoreSettings::default());
    let a = dead_job(&store, "unknown_sku", T0).await;
    let b = dead_job(&store, "unknown_sku", T0.plus(Duration::from_secs(1))).await;
    let c = dead_job(&store, "total_mismatch", T0.plus(Duration::from_secs(2))).await;
    let page = store
        .list_dead_letters(DeadLetterQuery {
            limit: 2,
            ..Default::default()
        })
        .await
        .expect("list");
    assert_eq!(
        page.page.items.iter().map(|d| d.id).collect::<Vec<_>>(),
        [c, b],
        "newest first"
    );
    assert_eq!(page.page.next, Some(b));
    let rest = store
        .list_dead_letters(DeadLetterQuery {
            limit: 2,
            before: Some(b),
            ..Default::default()
        })
        .await
        .expect("list");
    assert_eq!(
        rest.page.items.iter().map(|d| d.id).collect::<Vec<_>>(),
        [a]
    );
    assert_eq!(rest.page.next, None);
    let causes: Vec<(String, u64)> = page
        .causes
        .iter()
        .map(|c| (c.cause.clone(), c.count))
        .collect();
    assert_eq!(
        causes,
        [
            ("unknown_sku".to_owned(), 2),
            ("total_mismatch".to_owned(), 1)
        ]
    );
    // Retry a whole cause group.
    let group = DeadLetterSelection::Matching {
        flow: Some(FlowKind::Orders),
        cause: Some("unknown_sku".into()),
    };
    let now = T0.plus(Duration::from_secs(5));
    let retried = store
        .write(move |ctx| ctx.retry_dead(&group, now))
        .await
        .expect("retry");
    assert_eq!(retried, 2);
    assert_eq!(
        store.job_state(a).await.expect("state"),
        Some(JobState::Pending)
    );
    let retaken = take(&store, FlowKind::Orders, now).await;
    assert_eq!(retaken.len(), 2);
    assert!(
        retaken.iter().all(|j| j.attempt == 1),
        "attempts start over"
    );
    // Discard one by id.
    let selection = DeadLetterSelection::Ids {
        ids: vec![c, JobId(999)],
    };
    let discarded = store
        .write(move |ctx| ctx.discard_dead(&selection, now))
        .await
        .expect("discard");
    assert_eq!(discarded, 1, "unknown ids are not counted");
    assert_eq!(store.job_state(c).await.expect("state"), None);
    let status = store.status(now);
    assert_eq!(status.dead_letters, 0);
    assert_eq!(status.flow(FlowKind::Orders).map(|f| f.in_flight), Some(2));
}

#[tokio::test]
async fn dead_letters_stay_within_their_bound() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(
        &dir,
        StoreSettings {
            dead_letter_bound: 3,
            ..Default::default()
        },
    );
    let mut ids = Vec::new();
    for n in 0..5u64 {
        ids.push(dead_job(&store, "bad_payload", T0.plus(Duration::from_secs(n))).await);
    }
    let page = store
        .list_dead_letters(DeadLetterQuery {
            limit: 10,
            ..Default::default()
        })
        .await
        .expect("list");
    assert_eq!(
        page.page.items.iter().map(|d| d.id).collect::<Vec<_>>(),
        [ids[4], ids[3], ids[2]]
    );
    let status = store.status(T0);
    assert_eq!((status.dead_letters, status.dead_letter_bound), (3, 3));
    assert_eq!(
        store.job_state(ids[0]).await.expect("state"),
        None,
        "evicted to the audit record"
    );
}

#[tokio::test]
async fn reopening_recovers_in_flight_jobs_and_rebuilds_counters() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir, StoreSettings::default());
    for n in 0..3 {
        let j = job(
            FlowKind::Products,
            &n.to_string(),
            EnqueueOptions::default(),
        );
        store
            .write(move |ctx| ctx.enqueue(j, T0))
            .await
            .expect("enqueue");
    }
    let taken = store
        .write(|ctx| ctx.take(FlowKind::Products, 2, LEASE, T0))
        .await
        .expect("take");
    assert_eq!(taken.len(), 2);
    dead_job(&store, "bad", T0).await;
    store.close().await;
    drop(store);
    let store = open(&dir, StoreSettings::default());
    let status = store.status(T0);
    let products = status.flow(FlowKind::Products).expect("flow");
    assert_eq!(
        (products.pending, products.in_flight),
        (3, 0),
        "in-flight jobs are pending again"
    );
    assert_eq!(products.oldest_pending, Some(T0));
    assert_eq!(status.dead_letters, 1);
    let live = store
        .list_jobs(JobQuery {
            flow: Some(FlowKind::Products),
            limit: 10,
            ..Default::default()
        })
        .await
        .expect("list");
    assert_eq!(live.items.len(), 3);
    assert!(live.items.iter().all(|j| j.state == JobState::Pending));
    let retaken = store
        .write(|ctx| ctx.take(FlowKind::Products, 10, LEASE, T0))
        .await
        .expect("take");
    let attempts: Vec<u32> = retaken.iter().map(|j| j.attempt).collect();
    assert_eq!(attempts, [2, 2, 1], "the interrupted attempts counted");
}

#[tokio::test]
async fn a_store_from_a_newer_build_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("plumb.redb");
    {
        let db = redb::Database::create(&path).expect("create");
        let txn = db.begin_write().expect("txn");
        {
            let mut meta = txn
                .open_table(redb::TableDefinition::<&str, u64>::new("meta"))
                .expect("meta");
            meta.insert("schema_version", 99).expect("insert");
        }
        txn.commit().expect("commit");
    }
    let err = Store::open(&path, StoreSettings::default(), T0).expect_err("refused");
    assert!(
        err.to_string().contains("schema version 99 is newer"),
        "{err}"
    );
}
