//! A model of Shopify's cost bucket, so calls wait here instead of being throttled there.
//!
//! # Invariants
//! - The model holds only what Shopify reported: size, level and restore rate come from the
//!   last `throttleStatus`, never from a plan table. Before the first report, one call at a
//!   time goes out to get one.
//! - A call reserves its expected cost before it is sent and gives the reservation back when
//!   its answer is in (or it is dropped), so concurrent callers never spend the same points
//!   twice: `level + restored - reserved` must cover a cost before it is reserved.
//! - A report is the bucket as Shopify read it at some moment between sending and
//!   receiving; dating it on receipt under-counts the refill since, which errs towards
//!   waiting. Answers come back out of order, so a report may predate spending a newer
//!   answer already showed: the model takes the lower of its own projection and the
//!   report, so a late answer never lifts it. Spending lowers every next report below the
//!   projection, so the model keeps following Shopify's figures.
//! - A call answered without a report (a lost response, a 5xx, a timeout) may have been
//!   charged: Shopify applies a mutation and then the answer can be lost. Its points stay
//!   counted as spent until a report from a call sent after it ended (which includes the
//!   charge if there was one), or until the time the bucket takes to refill from empty.
//! - The expected cost of an operation is the `requestedQueryCost` Shopify last reported for
//!   it; before that, the operation's static estimate.
//! - All waiting is on tokio time, so tests run it under `tokio::time::pause()`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::documents::Operation;
use super::response::ThrottleStatus;

/// Rounding slack, in points: waits are computed in f64 and slept in whole nanoseconds.
const EPSILON: f64 = 1e-6;
/// How long to wait when Shopify reported a restore rate of zero (never seen; defensive).
const NO_RESTORE_WAIT: Duration = Duration::from_secs(1);

/// The shared bucket model. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct CostBucket {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    state: Mutex<State>,
    /// Woken when points come back (a reservation settled) or a reading arrived.
    changed: Notify,
}

#[derive(Debug, Default)]
struct State {
    reading: Option<Reading>,
    /// Points reserved by calls in flight.
    reserved: f64,
    /// Calls in flight.
    in_flight: u32,
    /// Points of calls answered without a report, which Shopify may have charged, and when
    /// each call ended.
    unreported: Vec<(f64, Instant)>,
    /// Operation name -> the last requested cost Shopify reported for it.
    learned: HashMap<&'static str, f64>,
}

/// One report of the bucket, and when it was taken.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Reading {
    max: f64,
    available: f64,
    restore: f64,
    at: Instant,
}

impl Reading {
    /// The level now, restored since the reading, capped at the size.
    fn level(&self, now: Instant) -> f64 {
        let restored = self.restore * now.saturating_duration_since(self.at).as_secs_f64();
        (self.available + restored).min(self.max)
    }
}

/// Points held for one call in flight. Settle it with the answer's report; dropping it
/// unsettled (a cancelled call) gives the points back.
#[derive(Debug)]
pub struct Reservation {
    bucket: Arc<Inner>,
    cost: f64,
    settled: bool,
    /// When the call was let out: a report it brings back covers every call that ended
    /// before then.
    reserved_at: Instant,
}

/// A snapshot of the model, for logs and tests.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BucketSnapshot {
    /// Bucket size, once known.
    pub maximum: Option<f64>,
    /// Level now (restored since the last report), once known.
    pub available: Option<f64>,
    /// Restore rate, once known.
    pub restore_rate: Option<f64>,
    /// Points reserved by calls in flight.
    pub reserved: f64,
}

impl CostBucket {
    /// An empty model: nothing known until Shopify reports.
    pub fn new() -> CostBucket {
        CostBucket::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.inner)
    }

    /// The cost `operation` is expected to request.
    pub fn expected_cost(&self, operation: &Operation) -> f64 {
        self.lock()
            .learned
            .get(operation.name)
            .copied()
            .unwrap_or(f64::from(operation.first_estimate))
    }

    /// Waits until the bucket holds `operation`'s expected cost, then reserves it.
    pub async fn reserve(&self, operation: &Operation) -> Reservation {
        let cost = self.expected_cost(operation);
        self.reserve_points(cost).await
    }

    /// Waits until the bucket holds `cost` points beyond what is reserved, then reserves them.
    pub async fn reserve_points(&self, cost: f64) -> Reservation {
        loop {
            // Register before looking, so a settle between the look and the wait is seen.
            let changed = self.inner.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let wait = {
                let mut state = self.lock();
                match state.reading {
                    None if state.in_flight == 0 => {
                        state.in_flight += 1;
                        state.reserved += cost;
                        return self.reservation(cost);
                    }
                    // Nothing known yet and a call is out to learn it: wait for its report.
                    None => None,
                    Some(reading) => {
                        let now = Instant::now();
                        // A cost above the bucket's size can never fit: ask for a full bucket
                        // and let Shopify judge the call.
                        let needed = cost.min(reading.max);
                        let horizon = refill_time(reading.max, reading.restore);
                        state
                            .unreported
                            .retain(|(_, ended)| now.saturating_duration_since(*ended) < horizon);
                        let unreported: f64 =
                            state.unreported.iter().map(|(points, _)| points).sum();
                        let free = reading.level(now) - state.reserved - unreported;
                        if free + EPSILON >= needed {
                            state.in_flight += 1;
                            state.reserved += cost;
                            return self.reservation(cost);
                        }
                        Some(refill_time(needed - free, reading.restore))
                    }
                }
            };
            match wait {
                Some(wait) => {
                    tokio::select! {
                        () = tokio::time::sleep(wait) => {}
                        () = &mut changed => {}
                    }
                }
                None => changed.await,
            }
        }
    }

    fn reservation(&self, cost: f64) -> Reservation {
        Reservation {
            bucket: self.inner.clone(),
            cost,
            settled: false,
            reserved_at: Instant::now(),
        }
    }

    /// Remembers what an operation requested, for its next call.
    pub fn learn(&self, operation: &Operation, requested: f64) {
        if requested.is_finite() && requested >= 0.0 {
            self.lock().learned.insert(operation.name, requested);
        }
    }

    /// Takes a report of the bucket as the new truth.
    pub fn observe(&self, status: &ThrottleStatus) {
        observe(&self.inner, status);
    }

    /// How long until the bucket holds `requested` points, from a throttled answer's report:
    /// exactly the deficit over the restore rate.
    pub fn throttle_wait(requested: f64, status: &ThrottleStatus) -> Duration {
        refill_time(requested - status.currently_available, status.restore_rate)
    }

    /// The model now.
    pub fn snapshot(&self) -> BucketSnapshot {
        let state = self.lock();
        let now = Instant::now();
        BucketSnapshot {
            maximum: state.reading.map(|r| r.max),
            available: state.reading.map(|r| r.level(now)),
            restore_rate: state.reading.map(|r| r.restore),
            reserved: state.reserved,
        }
    }
}

impl Reservation {
    /// The points held.
    pub fn cost(&self) -> f64 {
        self.cost
    }

    /// Gives the points back and takes the answer's report. Without one, the points stay
    /// counted as possibly spent until a later report covers them (see the module doc).
    pub fn settle(mut self, status: Option<&ThrottleStatus>) {
        self.release();
        let now = Instant::now();
        {
            let mut state = lock(&self.bucket);
            match status.filter(|s| usable(s)) {
                Some(status) => {
                    let mut reading = Reading::from_status(status, now);
                    if let Some(current) = state.reading {
                        reading.available = reading.available.min(current.level(now));
                    }
                    state.reading = Some(reading);
                    let sent = self.reserved_at;
                    state.unreported.retain(|(_, ended)| *ended >= sent);
                }
                None => state.unreported.push((self.cost, now)),
            }
        }
        self.bucket.changed.notify_waiters();
    }

    fn release(&mut self) {
        if !self.settled {
            self.settled = true;
            let mut state = lock(&self.bucket);
            state.reserved = (state.reserved - self.cost).max(0.0);
            state.in_flight = state.in_flight.saturating_sub(1);
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if !self.settled {
            self.release();
            self.bucket.changed.notify_waiters();
        }
    }
}

/// The model's numbers stay usable after a panic elsewhere: they are a cache of Shopify's
/// report, rebuilt by the next answer.
fn lock(inner: &Inner) -> MutexGuard<'_, State> {
    inner
        .state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn observe(inner: &Inner, status: &ThrottleStatus) {
    if usable(status) {
        lock(inner).reading = Some(Reading::from_status(status, Instant::now()));
        inner.changed.notify_waiters();
    }
}

fn usable(status: &ThrottleStatus) -> bool {
    let usable = [
        status.maximum_available,
        status.currently_available,
        status.restore_rate,
    ]
    .iter()
    .all(|n| n.is_finite() && *n >= 0.0);
    if !usable {
        tracing::warn!(?status, "ignoring an unusable throttle status from Shopify");
    }
    usable
}

impl Reading {
    fn from_status(status: &ThrottleStatus, at: Instant) -> Reading {
        Reading {
            max: status.maximum_available,
            available: status.currently_available,
            restore: status.restore_rate,
            at,
        }
    }
}

fn refill_time(deficit: f64, restore: f64) -> Duration {
    if deficit <= 0.0 {
        return Duration::ZERO;
    }
    if restore <= 0.0 {
        return NO_RESTORE_WAIT;
    }
    Duration::try_from_secs_f64(deficit / restore).unwrap_or(NO_RESTORE_WAIT)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tokio::sync::Mutex as AsyncMutex;

    use super::*;

    const OP: Operation = Operation {
        name: "Op",
        document: "query Op { shop { id } }",
        first_estimate: 50,
        replay_safe: true,
    };
    const OTHER: Operation = Operation {
        name: "Other",
        document: "query Other { shop { id } }",
        first_estimate: 7,
        replay_safe: true,
    };

    fn status(max: f64, current: f64, restore: f64) -> ThrottleStatus {
        ThrottleStatus {
            maximum_available: max,
            currently_available: current,
            restore_rate: restore,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn waits_exactly_the_deficit_over_the_restore_rate() {
        let bucket = CostBucket::new();
        bucket.observe(&status(2000.0, 100.0, 100.0));
        let start = Instant::now();
        let reservation = bucket.reserve_points(300.0).await;
        assert_eq!(start.elapsed(), Duration::from_secs(2));
        assert_eq!(reservation.cost(), 300.0);
        // Enough in the bucket: no wait at all.
        let bucket = CostBucket::new();
        bucket.observe(&status(2000.0, 1000.0, 100.0));
        let start = Instant::now();
        let _r = bucket.reserve_points(1000.0).await;
        assert_eq!(start.elapsed(), Duration::ZERO);
    }

    #[test]
    fn a_throttled_answer_waits_deficit_over_restore() {
        let wait = CostBucket::throttle_wait(502.0, &status(2000.0, 2.0, 100.0));
        assert_eq!(wait, Duration::from_secs(5));
        let wait = CostBucket::throttle_wait(13.0, &status(1000.0, 3.0, 50.0));
        assert_eq!(wait, Duration::from_millis(200));
        assert_eq!(
            CostBucket::throttle_wait(10.0, &status(1000.0, 30.0, 50.0)),
            Duration::ZERO
        );
    }

    #[test]
    fn learns_the_expected_cost_per_operation() {
        let bucket = CostBucket::new();
        assert_eq!(bucket.expected_cost(&OP), 50.0);
        bucket.learn(&OP, 13.0);
        assert_eq!(bucket.expected_cost(&OP), 13.0);
        assert_eq!(bucket.expected_cost(&OTHER), 7.0);
        bucket.learn(&OP, f64::NAN);
        assert_eq!(bucket.expected_cost(&OP), 13.0);
    }

    #[tokio::test(start_paused = true)]
    async fn the_learned_cost_decides_the_wait() {
        let bucket = CostBucket::new();
        bucket.observe(&status(1000.0, 0.0, 50.0));
        bucket.learn(&OP, 100.0);
        let start = Instant::now();
        let _r = bucket.reserve(&OP).await;
        assert_eq!(start.elapsed(), Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_reservations_never_overdraw() {
        let bucket = CostBucket::new();
        bucket.observe(&status(1000.0, 100.0, 50.0));
        let start = Instant::now();
        let held = Arc::new(AsyncMutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for _ in 0..5 {
            let (bucket, held) = (bucket.clone(), held.clone());
            tasks.push(tokio::spawn(async move {
                let reservation = bucket.reserve_points(100.0).await;
                let at = start.elapsed();
                // Never more reserved than the bucket holds.
                let snapshot = bucket.snapshot();
                let level = snapshot.available.unwrap_or_default();
                assert!(
                    snapshot.reserved <= level + 1e-6,
                    "reserved {} with only {level} in the bucket",
                    snapshot.reserved
                );
                held.lock().await.push(reservation);
                at
            }));
        }
        let mut times = Vec::new();
        for task in tasks {
            times.push(task.await.unwrap());
        }
        times.sort();
        // 100 points now, then one more call per 100 / 50 = 2 s.
        let expected: Vec<Duration> = (0..5).map(|i| Duration::from_secs(2 * i)).collect();
        assert_eq!(times, expected);
        assert_eq!(bucket.snapshot().reserved, 500.0);
        held.lock().await.clear();
        assert_eq!(bucket.snapshot().reserved, 0.0);
    }

    #[tokio::test(start_paused = true)]
    async fn settling_with_a_refund_wakes_a_waiter_early() {
        let bucket = CostBucket::new();
        bucket.observe(&status(1000.0, 100.0, 10.0));
        let first = bucket.reserve_points(100.0).await;
        let waiter = {
            let bucket = bucket.clone();
            tokio::spawn(async move {
                let start = Instant::now();
                let _r = bucket.reserve_points(50.0).await;
                start.elapsed()
            })
        };
        tokio::time::sleep(Duration::from_secs(1)).await;
        // The call only cost 20 of its 100: Shopify reports 80 back in the bucket.
        first.settle(Some(&status(1000.0, 80.0, 10.0)));
        assert_eq!(waiter.await.unwrap(), Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn before_the_first_report_one_call_at_a_time() {
        let bucket = CostBucket::new();
        let first = bucket.reserve_points(10.0).await;
        let second = {
            let bucket = bucket.clone();
            tokio::spawn(async move { bucket.reserve_points(10.0).await.cost() })
        };
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert!(
            !second.is_finished(),
            "a second call went out before any report"
        );
        first.settle(Some(&status(2000.0, 1990.0, 100.0)));
        assert_eq!(second.await.unwrap(), 10.0);
    }

    #[tokio::test(start_paused = true)]
    async fn an_answer_without_a_report_counts_as_spent_until_a_later_report() {
        let bucket = CostBucket::new();
        bucket.observe(&status(100.0, 30.0, 10.0));
        // Sent before the lost answer ended: its report may predate the charge.
        let early = bucket.reserve_points(1.0).await;
        // Applied by Shopify, answer lost: the 20 points may be gone.
        bucket.reserve_points(20.0).await.settle(None);
        let start = Instant::now();
        let waiter = {
            let bucket = bucket.clone();
            tokio::spawn(async move {
                let _r = bucket.reserve_points(20.0).await;
                start.elapsed()
            })
        };
        tokio::time::sleep(Duration::from_millis(1)).await;
        early.settle(Some(&status(100.0, 29.0, 10.0)));
        // 29 - 20 unreported = 9 free: 11 points to restore at 10/s.
        let waited = waiter.await.unwrap();
        assert!(
            waited >= Duration::from_millis(1_090) && waited <= Duration::from_millis(1_110),
            "{waited:?}"
        );
        // A call sent after the loss brings a report that covers it: the hold is lifted.
        let later = bucket.reserve_points(1.0).await;
        later.settle(Some(&status(100.0, 40.0, 10.0)));
        assert_eq!(bucket.snapshot().reserved, 0.0);
        let start = Instant::now();
        let _r = bucket.reserve_points(39.0).await;
        assert_eq!(start.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn an_unreported_charge_expires_once_the_bucket_could_have_refilled() {
        let bucket = CostBucket::new();
        bucket.observe(&status(100.0, 100.0, 10.0));
        bucket.reserve_points(100.0).await.settle(None);
        let start = Instant::now();
        let _r = bucket.reserve_points(100.0).await;
        assert_eq!(start.elapsed(), Duration::from_secs(10));
    }

    #[tokio::test(start_paused = true)]
    async fn a_dropped_reservation_gives_its_points_back() {
        let bucket = CostBucket::new();
        bucket.observe(&status(1000.0, 100.0, 1.0));
        let reservation = bucket.reserve_points(100.0).await;
        assert_eq!(bucket.snapshot().reserved, 100.0);
        drop(reservation);
        assert_eq!(bucket.snapshot().reserved, 0.0);
        let start = Instant::now();
        let _r = bucket.reserve_points(100.0).await;
        assert_eq!(start.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn a_report_never_lifts_the_model_above_its_projection() {
        let bucket = CostBucket::new();
        bucket.observe(&status(1000.0, 500.0, 0.0));
        let (a, b) = (
            bucket.reserve_points(100.0).await,
            bucket.reserve_points(100.0).await,
        );
        // B was answered first: Shopify had run A and B by then.
        b.settle(Some(&status(1000.0, 300.0, 0.0)));
        assert_eq!(bucket.snapshot().available, Some(300.0));
        // A's answer is older news (Shopify read 400 before running B): not a refund.
        a.settle(Some(&status(1000.0, 400.0, 0.0)));
        assert_eq!(bucket.snapshot().available, Some(300.0));
        assert_eq!(bucket.snapshot().reserved, 0.0);
        // A lower report always wins.
        let c = bucket.reserve_points(10.0).await;
        c.settle(Some(&status(1000.0, 250.0, 0.0)));
        assert_eq!(bucket.snapshot().available, Some(250.0));
    }
}
