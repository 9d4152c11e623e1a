//! The workers: one loop per flow takes due jobs from the store and runs them through the
//! flow's [`Handler`], at most `concurrency` at once.
//!
//! The loop sleeps until the next due time or until the store says new work is ready (a
//! commit that enqueued, retried or resumed), never polling. A job's lease is renewed while
//! it runs, so a long job is not taken again by mistake; on shutdown, jobs get a grace
//! period to finish and the rest are released to run again after the restart.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;
use tracing::Instrument;

use plumb_common::{FlowKind, JobId};

use crate::clock::Clock;
use crate::shutdown::Shutdown;
use crate::store::{FailOutcome, Failure, LeasedJob, RetryPolicy, Store, StoreError};

/// A boxed future, for handlers behind `dyn`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Runs one job of a flow. Returning `Err` with a transient failure asks for a retry;
/// a permanent failure dead-letters the job at once.
pub trait Handler: Send + Sync + 'static {
    /// Does the work. Must be safe to run twice for the same job (at-least-once delivery).
    fn run<'a>(&'a self, job: &'a LeasedJob) -> BoxFuture<'a, Result<(), Failure>>;
}

/// A source of jitter in [0, 1) for retry backoff.
pub type Jitter = Arc<dyn Fn() -> f64 + Send + Sync>;

/// How one flow's jobs are run.
#[derive(Clone)]
pub struct FlowRunner {
    /// The flow.
    pub flow: FlowKind,
    /// What runs its jobs.
    pub handler: Arc<dyn Handler>,
    /// Jobs at once.
    pub concurrency: usize,
    /// Retry policy for transient failures.
    pub policy: RetryPolicy,
    /// Lease length; renewed every third of it while the job runs.
    pub lease: Duration,
    /// How long running jobs may take to finish after shutdown starts.
    pub grace: Duration,
    /// The store.
    pub store: Store,
    /// The clock.
    pub clock: Clock,
    /// Backoff jitter.
    pub jitter: Jitter,
}

impl std::fmt::Debug for FlowRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlowRunner")
            .field("flow", &self.flow)
            .field("concurrency", &self.concurrency)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// The default jitter: uniform in [0, 1).
pub fn random_jitter() -> Jitter {
    Arc::new(fastrand::f64)
}

type JobKey = (JobId, u32);

/// Drops a job that finished from the in-flight list. A task that panicked or was aborted
/// stays listed, so its lease is released on shutdown.
fn forget(in_flight: &mut Vec<JobKey>, finished: Result<JobKey, tokio::task::JoinError>) {
    if let Ok(key) = finished {
        in_flight.retain(|job| *job != key);
    }
}

impl FlowRunner {
    /// Runs the flow until shutdown, then drains.
    pub async fn run(self, mut shutdown: Shutdown) {
        let work_ready = self.store.work_ready();
        let mut running: JoinSet<JobKey> = JoinSet::new();
        let mut in_flight: Vec<JobKey> = Vec::new();
        loop {
            // Register for the wake-up before looking, so a commit between the look and the
            // sleep is not missed.
            let notified = work_ready.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if shutdown.is_triggered() {
                break;
            }
            let free = self.concurrency.saturating_sub(running.len());
            let paused = self.store.is_paused(self.flow);
            if free > 0 && !paused {
                let (flow, lease, now) = (self.flow, self.lease, self.clock.now());
                match self
                    .store
                    .write(move |ctx| ctx.take(flow, free, lease, now))
                    .await
                {
                    Ok(jobs) => {
                        let took_all = jobs.len() == free;
                        for job in jobs {
                            in_flight.push((job.id, job.attempt));
                            let runner = self.clone();
                            running.spawn(async move {
                                let key = (job.id, job.attempt);
                                runner.run_one(job).await;
                                key
                            });
                        }
                        if took_all && running.len() < self.concurrency {
                            continue;
                        }
                    }
                    Err(error) => {
                        tracing::error!(flow = %self.flow, %error, "cannot take jobs; retrying in 1 s");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        continue;
                    }
                }
            }
            let wake_at = if running.len() >= self.concurrency || paused {
                None
            } else {
                match self.store.next_due(self.flow).await {
                    Ok(next) => next.map(|at| self.clock.instant_at(at)),
                    Err(error) => {
                        tracing::error!(flow = %self.flow, %error, "cannot read the next due time");
                        Some(tokio::time::Instant::now() + Duration::from_secs(1))
                    }
                }
            };
            let sleep = async {
                match wake_at {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = &mut notified => {}
                () = sleep => {}
                Some(finished) = running.join_next(), if !running.is_empty() => {
                    // Collect every job that finished meanwhile, so the next take fills
                    // all free slots in one store round trip instead of one per job.
                    let mut finished = Some(finished);
                    while let Some(result) = finished {
                        forget(&mut in_flight, result);
                        finished = running.try_join_next();
                    }
                }
                () = shutdown.wait() => {}
            }
        }
        self.drain(running, in_flight).await;
    }

    /// Lets running jobs finish within the grace period; releases the rest.
    async fn drain(&self, mut running: JoinSet<JobKey>, mut in_flight: Vec<JobKey>) {
        if !running.is_empty() {
            tracing::info!(flow = %self.flow, jobs = running.len(), grace = ?self.grace, "waiting for running jobs");
        }
        let deadline = tokio::time::Instant::now() + self.grace;
        while let Ok(Some(finished)) = tokio::time::timeout_at(deadline, running.join_next()).await
        {
            forget(&mut in_flight, finished);
        }
        running.abort_all();
        while let Some(finished) = running.join_next().await {
            forget(&mut in_flight, finished);
        }
        for (id, attempt) in in_flight {
            let now = self.clock.now();
            match self
                .store
                .write(move |ctx| ctx.release(id, attempt, now))
                .await
            {
                Ok(()) => {
                    tracing::warn!(flow = %self.flow, job = %id, "job did not finish within the grace period; released")
                }
                Err(StoreError::LeaseLost(_) | StoreError::NotFound(_)) => {}
                Err(error) => {
                    tracing::error!(flow = %self.flow, job = %id, %error, "cannot release job; it runs again after restart")
                }
            }
        }
    }

    async fn run_one(&self, job: LeasedJob) {
        let span =
            tracing::info_span!("job", flow = %job.flow, job = %job.id, attempt = job.attempt);
        // The whole attempt runs instrumented: a span entered by a guard held across an
        // `.await` would be exited on whichever thread resumes the task, corrupting the
        // subscriber's span stack (tracing-subscriber then panics on a closed span).
        self.attempt(job).instrument(span).await;
    }

    /// Runs one attempt and records its outcome.
    async fn attempt(&self, job: LeasedJob) {
        let (id, attempt) = (job.id, job.attempt);
        let outcome = self.run_with_lease(&job).await;
        let now = self.clock.now();
        let recorded = match outcome {
            Ok(()) => {
                self.store
                    .write(move |ctx| ctx.complete(id, attempt, now))
                    .await
            }
            Err(failure) => {
                let (policy, jitter) = (self.policy, (self.jitter)());
                let message = failure.message.clone();
                let class = failure.class;
                let outcome = self
                    .store
                    .write(move |ctx| ctx.fail(id, attempt, failure, policy, jitter, now))
                    .await;
                if let Ok(FailOutcome::Retry { due }) = outcome {
                    // Retries are expected: warn. Giving up is logged at error by the store.
                    tracing::warn!(error = %message, %class, retry_at = %due, "attempt failed; will retry");
                }
                outcome.map(|_| ())
            }
        };
        if let Err(error) = recorded {
            tracing::error!(%error, "cannot record the job's outcome; it will run again");
        }
    }

    /// Runs the handler, renewing the lease every third of its length.
    async fn run_with_lease(&self, job: &LeasedJob) -> Result<(), Failure> {
        let (id, attempt) = (job.id, job.attempt);
        let work = self.handler.run(job);
        tokio::pin!(work);
        let period = self.lease / 3;
        let mut renew = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        loop {
            tokio::select! {
                outcome = &mut work => return outcome,
                _ = renew.tick() => {
                    let until = self.clock.now().plus(self.lease);
                    if let Err(error) = self.store.write_lazy(move |ctx| ctx.extend_lease(id, attempt, until)).await {
                        tracing::warn!(%error, "cannot renew the lease");
                    }
                }
            }
        }
    }
}
