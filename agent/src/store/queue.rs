//! The queue's state changes. Each function runs inside one write batch ([`WriteCtx`]) and
//! keeps the tables, the job record and the counters in agreement.
//!
//! Operations that can fail for a business reason (unknown job, lost lease) check before
//! they write, so a refused operation leaves the batch untouched.

use std::time::Duration;

use redb::{ReadableTable, ReadableTableMetadata};

use plumb_common::protocol::{DeadLetterSelection, Event};
use plumb_common::{ErrorClass, FlowKind, JobId, Timestamp};

use super::StoreError;
use super::records::{self, AuditRecord, FailureRecord, JobRecord, StoredState};
use super::schema::{META_COMPLETED_TOTAL, META_NEXT_AUDIT_ID, META_NEXT_JOB_ID};
use super::writer::{Change, Slot, WriteCtx};

/// A job to put on the queue.
#[derive(Debug, Clone)]
pub struct NewJob {
    /// The flow that will run it.
    pub flow: FlowKind,
    /// What the payload is, for people ("shopify webhook orders/create").
    pub payload_kind: String,
    /// The work itself, encoded by the flow.
    pub payload: Vec<u8>,
    /// Dedup, coalescing, delay.
    pub options: EnqueueOptions,
}

/// How an enqueue treats earlier jobs.
#[derive(Debug, Clone, Default)]
pub struct EnqueueOptions {
    /// A key and how long it is remembered: a second enqueue with the same key within that
    /// time is a no-op that returns the first job's id (a redelivered webhook).
    pub dedup: Option<(String, Duration)>,
    /// A key under which a newer job replaces the payload of an older job that is still
    /// pending (latest value wins: an inventory level per SKU and location).
    pub coalesce: Option<String>,
    /// Run no earlier than this long from now.
    pub delay: Duration,
    /// Store the job straight into the dead letters (a payload known to be unusable that
    /// must still be kept and visible).
    pub dead_on_arrival: Option<Failure>,
}

/// The job an enqueue resolved to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Enqueued {
    /// The job holding the work.
    pub id: JobId,
    /// What happened.
    pub outcome: EnqueueOutcome,
}

/// What an enqueue did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnqueueOutcome {
    /// A new job.
    Created,
    /// The dedup key was seen within its time to live: nothing stored.
    Duplicate,
    /// A pending job with the coalescing key now carries this payload.
    Coalesced,
}

/// A job taken by a worker, under a lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeasedJob {
    /// The job.
    pub id: JobId,
    /// Its flow.
    pub flow: FlowKind,
    /// This attempt's number, from 1; the lease token.
    pub attempt: u32,
    /// When it was enqueued.
    pub created_at: Timestamp,
    /// What the payload is.
    pub payload_kind: String,
    /// The work.
    pub payload: Vec<u8>,
    /// When the lease ends.
    pub lease_until: Timestamp,
}

/// Why an attempt failed, as the flow classified it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Transient (retry) or permanent (dead letter now). `Exhausted` is the store's own.
    pub class: ErrorClass,
    /// Stable across jobs failing the same way, so dead letters group ("unknown_sku").
    pub cause: String,
    /// The full message.
    pub message: String,
}

impl Failure {
    /// A failure that may pass.
    pub fn transient(cause: impl Into<String>, message: impl Into<String>) -> Failure {
        Failure {
            class: ErrorClass::Transient,
            cause: cause.into(),
            message: message.into(),
        }
    }

    /// A failure that cannot pass by retrying.
    pub fn permanent(cause: impl Into<String>, message: impl Into<String>) -> Failure {
        Failure {
            class: ErrorClass::Permanent,
            cause: cause.into(),
            message: message.into(),
        }
    }
}

/// A store that failed under a flow: the job is retried (the store is most likely full or
/// briefly unavailable, and the job's own record is intact).
impl From<StoreError> for Failure {
    fn from(error: StoreError) -> Failure {
        Failure::transient("store", error.to_string())
    }
}

/// When a transient failure is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts before a transient failure becomes a dead letter.
    pub max_attempts: u32,
    /// The first retry's ceiling.
    pub base: Duration,
    /// The largest ceiling.
    pub cap: Duration,
}

impl RetryPolicy {
    /// The ceiling of the delay after attempt `attempt` (from 1): `base * 2^(attempt-1)`,
    /// capped.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let factor = 1u32
            .checked_shl(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// Full jitter: a delay drawn uniformly from zero to the ceiling, `jitter` in [0, 1).
    /// Spreading retries over the whole interval is what keeps a crowd of failed jobs from
    /// retrying in lockstep against a recovering service.
    pub fn delay(&self, attempt: u32, jitter: f64) -> Duration {
        self.ceiling(attempt).mul_f64(jitter.clamp(0.0, 1.0))
    }
}

/// What a failure led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOutcome {
    /// Back on the queue, due then.
    Retry {
        /// The due time.
        due: Timestamp,
    },
    /// In the dead letters.
    Dead,
}

/// The most expired entries one maintenance pass removes, so it never holds a batch long.
const PRUNE_LIMIT: usize = 5_000;

impl WriteCtx<'_> {
    /// Puts a job on the queue (or finds the one that already holds its work).
    pub fn enqueue(&mut self, job: NewJob, now: Timestamp) -> Result<Enqueued, StoreError> {
        if let Some((key, _)) = &job.options.dedup
            && let Some((id, expires)) = self.t.dedup.get(key.as_str())?.map(|v| v.value())
        {
            if expires > now.0 {
                return Ok(Enqueued {
                    id: JobId(id),
                    outcome: EnqueueOutcome::Duplicate,
                });
            }
            self.t.dedup_expiry.remove((expires, key.as_str()))?;
        }
        if job.options.dead_on_arrival.is_none()
            && let Some(coalesced) = self.coalesce_into_pending(&job, now)?
        {
            return Ok(coalesced);
        }
        let id = self.next_id(META_NEXT_JOB_ID)?;
        let mut record = JobRecord {
            flow: job.flow,
            state: StoredState::Pending,
            attempts: 0,
            created_at: now,
            due_at: now.plus(job.options.delay),
            payload_kind: job.payload_kind,
            dedup_key: job.options.dedup.as_ref().map(|(key, _)| key.clone()),
            coalesce_key: job.options.coalesce.clone(),
            failure: None,
        };
        self.t.payloads.insert(id, job.payload.as_slice())?;
        self.remember_dedup(&job.options, JobId(id), now)?;
        match job.options.dead_on_arrival {
            Some(failure) => {
                record.coalesce_key = None;
                self.bury(JobId(id), &mut record, failure, None, now)?;
            }
            None => {
                if let Some(key) = &job.options.coalesce {
                    self.t.coalesce.insert(key.as_str(), id)?;
                }
                self.t
                    .pending
                    .insert((job.flow.code(), record.due_at.0, id), ())?;
                self.save(JobId(id), &record)?;
                self.moved(JobId(id), &record, None, Some(Slot::Pending));
                self.work_ready = true;
            }
        }
        Ok(Enqueued {
            id: JobId(id),
            outcome: EnqueueOutcome::Created,
        })
    }

    /// Latest value wins: a pending job under the same coalescing key takes the new payload
    /// and keeps its place (id, creation time, due time) in the queue.
    fn coalesce_into_pending(
        &mut self,
        job: &NewJob,
        now: Timestamp,
    ) -> Result<Option<Enqueued>, StoreError> {
        let Some(key) = &job.options.coalesce else {
            return Ok(None);
        };
        let Some(id) = self.t.coalesce.get(key.as_str())?.map(|v| JobId(v.value())) else {
            return Ok(None);
        };
        let Some(mut record) = self.load(id)? else {
            return Ok(None);
        };
        if record.state != StoredState::Pending || record.flow != job.flow {
            return Ok(None);
        }
        record.payload_kind.clone_from(&job.payload_kind);
        self.t.payloads.insert(id.0, job.payload.as_slice())?;
        self.save(id, &record)?;
        self.remember_dedup(&job.options, id, now)?;
        Ok(Some(Enqueued {
            id,
            outcome: EnqueueOutcome::Coalesced,
        }))
    }

    fn remember_dedup(
        &mut self,
        options: &EnqueueOptions,
        id: JobId,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        if let Some((key, ttl)) = &options.dedup {
            let expires = now.plus(*ttl).0;
            self.t.dedup.insert(key.as_str(), (id.0, expires))?;
            self.t.dedup_expiry.insert((expires, key.as_str()), ())?;
        }
        Ok(())
    }

    /// Takes up to `max` due jobs of one flow under a lease; none while the flow is paused.
    pub fn take(
        &mut self,
        flow: FlowKind,
        max: usize,
        lease: Duration,
        now: Timestamp,
    ) -> Result<Vec<LeasedJob>, StoreError> {
        if max == 0 || self.t.paused.get(flow.code())?.is_some() {
            return Ok(Vec::new());
        }
        let code = flow.code();
        let due: Vec<(u64, u64)> = self
            .t
            .pending
            .range((code, 0, 0)..=(code, now.0, u64::MAX))?
            .take(max)
            .map(|entry| {
                entry.map(|(key, _)| {
                    let (_, due, id) = key.value();
                    (due, id)
                })
            })
            .collect::<Result<_, _>>()?;
        let mut taken = Vec::with_capacity(due.len());
        for (due_at, id) in due {
            self.t.pending.remove((code, due_at, id))?;
            let mut record = match self.load(JobId(id)) {
                Ok(Some(record)) => record,
                Ok(None) => {
                    tracing::error!(
                        job = id,
                        "pending index named a job without a record; index entry dropped"
                    );
                    continue;
                }
                Err(StoreError::Corrupt { message, .. }) => {
                    self.bury_unreadable(JobId(id), flow, message, now)?;
                    continue;
                }
                Err(other) => return Err(other),
            };
            if let Some(key) = record.coalesce_key.take() {
                // Work that arrives from now on must not rewrite a payload being worked on.
                if self.t.coalesce.get(key.as_str())?.map(|v| v.value()) == Some(id) {
                    self.t.coalesce.remove(key.as_str())?;
                }
            }
            record.state = StoredState::InFlight;
            record.attempts = record.attempts.saturating_add(1);
            record.due_at = now.plus(lease);
            self.t.leases.insert((record.due_at.0, id), ())?;
            self.save(JobId(id), &record)?;
            self.moved(
                JobId(id),
                &record,
                Some(Slot::Pending),
                Some(Slot::InFlight),
            );
            let payload = self
                .t
                .payloads
                .get(id)?
                .map(|v| v.value().to_vec())
                .unwrap_or_default();
            taken.push(LeasedJob {
                id: JobId(id),
                flow,
                attempt: record.attempts,
                created_at: record.created_at,
                payload_kind: record.payload_kind.clone(),
                payload,
                lease_until: record.due_at,
            });
        }
        Ok(taken)
    }

    /// Loads an in-flight job and checks the caller still holds its lease.
    fn leased(&self, id: JobId, attempt: u32) -> Result<JobRecord, StoreError> {
        let record = self.load(id)?.ok_or(StoreError::NotFound(id))?;
        if record.state != StoredState::InFlight || record.attempts != attempt {
            return Err(StoreError::LeaseLost(id));
        }
        Ok(record)
    }

    /// Records success: the job leaves the queue and is remembered as done.
    pub fn complete(&mut self, id: JobId, attempt: u32, now: Timestamp) -> Result<(), StoreError> {
        let record = self.leased(id, attempt)?;
        self.t.leases.remove((record.due_at.0, id.0))?;
        self.t.jobs.remove(id.0)?;
        self.t.payloads.remove(id.0)?;
        self.t.done.insert(id.0, (now.0, record.flow.code()))?;
        self.t.done_by_time.insert((now.0, id.0), ())?;
        let total = self
            .t
            .meta
            .get(META_COMPLETED_TOTAL)?
            .map_or(0, |v| v.value());
        self.t.meta.insert(META_COMPLETED_TOTAL, total + 1)?;
        self.moved(id, &record, Some(Slot::InFlight), Some(Slot::Done));
        self.changes.push(Change::Completed {
            flow: record.flow,
            at: now,
        });
        Ok(())
    }

    /// Records a failed attempt: retried after a backoff, or dead-lettered.
    pub fn fail(
        &mut self,
        id: JobId,
        attempt: u32,
        failure: Failure,
        policy: RetryPolicy,
        jitter: f64,
        now: Timestamp,
    ) -> Result<FailOutcome, StoreError> {
        let mut record = self.leased(id, attempt)?;
        self.t.leases.remove((record.due_at.0, id.0))?;
        self.changes.push(Change::Failed {
            flow: record.flow,
            at: now,
            message: failure.message.clone(),
        });
        let exhausted = record.attempts >= policy.max_attempts;
        if failure.class != ErrorClass::Transient || exhausted {
            let failure = Failure {
                class: if failure.class == ErrorClass::Transient {
                    ErrorClass::Exhausted
                } else {
                    failure.class
                },
                ..failure
            };
            self.bury(id, &mut record, failure, Some(Slot::InFlight), now)?;
            return Ok(FailOutcome::Dead);
        }
        record.failure = Some(merge_failure(record.failure.take(), failure, now));
        record.state = StoredState::Pending;
        record.due_at = now.plus(policy.delay(record.attempts, jitter));
        self.t
            .pending
            .insert((record.flow.code(), record.due_at.0, id.0), ())?;
        self.save(id, &record)?;
        self.moved(id, &record, Some(Slot::InFlight), Some(Slot::Pending));
        self.work_ready = true;
        Ok(FailOutcome::Retry { due: record.due_at })
    }

    /// Moves an in-flight job's lease end (a long job still running).
    pub fn extend_lease(
        &mut self,
        id: JobId,
        attempt: u32,
        until: Timestamp,
    ) -> Result<(), StoreError> {
        let mut record = self.leased(id, attempt)?;
        self.t.leases.remove((record.due_at.0, id.0))?;
        record.due_at = until;
        self.t.leases.insert((until.0, id.0), ())?;
        self.save(id, &record)
    }

    /// Gives a job back without counting the attempt (shutdown before it finished).
    pub fn release(&mut self, id: JobId, attempt: u32, now: Timestamp) -> Result<(), StoreError> {
        let mut record = self.leased(id, attempt)?;
        self.t.leases.remove((record.due_at.0, id.0))?;
        self.requeue(id, &mut record, now)?;
        record.attempts = record.attempts.saturating_sub(1);
        self.save(id, &record)
    }

    /// Puts in-flight jobs whose lease ended back on the queue, due now. Their attempt
    /// counts: a job that kills its worker every time ends in the dead letters.
    pub fn recover_expired_leases(&mut self, now: Timestamp) -> Result<usize, StoreError> {
        self.recover_leases_until(now.0, now)
    }

    /// Puts every in-flight job back on the queue (at start: their process is gone).
    pub fn recover_all_in_flight(&mut self, now: Timestamp) -> Result<usize, StoreError> {
        self.recover_leases_until(u64::MAX, now)
    }

    fn recover_leases_until(&mut self, until: u64, now: Timestamp) -> Result<usize, StoreError> {
        let expired: Vec<(u64, u64)> = self
            .t
            .leases
            .range((0, 0)..=(until, u64::MAX))?
            .map(|entry| entry.map(|(key, _)| key.value()))
            .collect::<Result<_, _>>()?;
        for &(lease_end, id) in &expired {
            self.t.leases.remove((lease_end, id))?;
            match self.load(JobId(id))? {
                Some(mut record) if record.state == StoredState::InFlight => {
                    tracing::warn!(job = id, flow = %record.flow, attempt = record.attempts, "lease expired; job back on the queue");
                    self.requeue(JobId(id), &mut record, now)?;
                    self.save(JobId(id), &record)?;
                }
                _ => tracing::error!(
                    job = id,
                    "lease index named a job not in flight; entry dropped"
                ),
            }
        }
        Ok(expired.len())
    }

    fn requeue(
        &mut self,
        id: JobId,
        record: &mut JobRecord,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        record.state = StoredState::Pending;
        record.due_at = now;
        self.t
            .pending
            .insert((record.flow.code(), now.0, id.0), ())?;
        self.moved(id, record, Some(Slot::InFlight), Some(Slot::Pending));
        self.work_ready = true;
        Ok(())
    }

    /// Moves a job into the dead letters and keeps them within their bound.
    fn bury(
        &mut self,
        id: JobId,
        record: &mut JobRecord,
        failure: Failure,
        from: Option<Slot>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        tracing::error!(job = %id, flow = %record.flow, cause = %failure.cause, class = %failure.class, error = %failure.message, "job dead-lettered");
        record.failure = Some(merge_failure(record.failure.take(), failure, now));
        record.state = StoredState::Dead;
        self.t.dead.insert((now.0, id.0), ())?;
        self.save(id, record)?;
        self.moved(
            id,
            record,
            from,
            Some(Slot::Dead {
                cause: cause_of(record),
            }),
        );
        if let Some(summary) = record.dead_letter(id) {
            self.changes
                .push(Change::Publish(Event::DeadLetter(summary)));
        }
        self.enforce_dead_letter_bound(now)
    }

    /// A record this build cannot decode still has its payload: keep both, as a dead letter.
    fn bury_unreadable(
        &mut self,
        id: JobId,
        flow: FlowKind,
        message: String,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let mut record = JobRecord {
            flow,
            state: StoredState::Pending,
            attempts: 0,
            created_at: now,
            due_at: now,
            payload_kind: "unreadable record".into(),
            dedup_key: None,
            coalesce_key: None,
            failure: None,
        };
        let failure = Failure::permanent(
            "unreadable_record",
            format!("the job record could not be decoded: {message}"),
        );
        self.bury(id, &mut record, failure, None, now)
    }

    fn enforce_dead_letter_bound(&mut self, now: Timestamp) -> Result<(), StoreError> {
        let bound = self.settings.dead_letter_bound;
        let excess = self.t.dead.len()?.saturating_sub(bound);
        for _ in 0..excess {
            let Some((_, id)) = self.t.dead.first()?.map(|(key, _)| key.value()) else {
                break;
            };
            tracing::warn!(
                job = id,
                bound,
                "dead-letter bound reached; oldest dead letter moved to the audit record"
            );
            self.remove_dead(JobId(id), "evicted: dead-letter bound reached", now)?;
        }
        Ok(())
    }

    /// Removes a dead letter from the queue into the audit record.
    fn remove_dead(&mut self, id: JobId, reason: &str, now: Timestamp) -> Result<(), StoreError> {
        let Some(record) = self.load(id)? else {
            return Ok(());
        };
        let dead_at = record.failure.as_ref().map_or(0, |f| f.last_failed_at.0);
        self.t.dead.remove((dead_at, id.0))?;
        self.t.jobs.remove(id.0)?;
        let payload = self
            .t
            .payloads
            .remove(id.0)?
            .map(|v| v.value().to_vec())
            .unwrap_or_default();
        self.moved(
            id,
            &record,
            Some(Slot::Dead {
                cause: cause_of(&record),
            }),
            None,
        );
        let audit = AuditRecord {
            job: id,
            record,
            payload,
            removed_at: now,
            reason: reason.to_owned(),
        };
        let audit_id = self.next_id(META_NEXT_AUDIT_ID)?;
        self.t
            .audit
            .insert(audit_id, records::encode(&audit)?.as_slice())?;
        let excess = self
            .t
            .audit
            .len()?
            .saturating_sub(self.settings.dead_letter_bound);
        for _ in 0..excess {
            if self.t.audit.pop_first()?.is_none() {
                break;
            }
        }
        Ok(())
    }

    /// Resolves a selection to dead jobs (unknown or not-dead ids are skipped).
    fn select_dead(
        &self,
        selection: &DeadLetterSelection,
    ) -> Result<Vec<(JobId, JobRecord)>, StoreError> {
        let mut chosen = Vec::new();
        match selection {
            DeadLetterSelection::Ids { ids } => {
                for &id in ids {
                    if let Some(record) = self.load(id)?.filter(|r| r.state == StoredState::Dead) {
                        chosen.push((id, record));
                    }
                }
            }
            DeadLetterSelection::Matching { flow, cause } => {
                for entry in self.t.dead.iter()? {
                    let (_, id) = entry?.0.value();
                    let Some(record) = self.load(JobId(id))? else {
                        continue;
                    };
                    let flow_ok = flow.is_none_or(|f| f == record.flow);
                    let cause_ok = cause.as_deref().is_none_or(|c| c == cause_of(&record));
                    if flow_ok && cause_ok {
                        chosen.push((JobId(id), record));
                    }
                }
            }
        }
        Ok(chosen)
    }

    /// Puts dead letters back on the queue, due now, with a fresh set of attempts.
    pub fn retry_dead(
        &mut self,
        selection: &DeadLetterSelection,
        now: Timestamp,
    ) -> Result<u64, StoreError> {
        let chosen = self.select_dead(selection)?;
        let count = chosen.len() as u64;
        for (id, mut record) in chosen {
            let dead_at = record.failure.as_ref().map_or(0, |f| f.last_failed_at.0);
            let cause = cause_of(&record);
            self.t.dead.remove((dead_at, id.0))?;
            record.state = StoredState::Pending;
            record.attempts = 0;
            record.due_at = now;
            self.t
                .pending
                .insert((record.flow.code(), now.0, id.0), ())?;
            self.save(id, &record)?;
            self.moved(id, &record, Some(Slot::Dead { cause }), Some(Slot::Pending));
            tracing::info!(job = %id, flow = %record.flow, "dead letter retried");
        }
        if count > 0 {
            self.work_ready = true;
        }
        Ok(count)
    }

    /// Removes dead letters for good, keeping an audit record of each.
    pub fn discard_dead(
        &mut self,
        selection: &DeadLetterSelection,
        now: Timestamp,
    ) -> Result<u64, StoreError> {
        let chosen = self.select_dead(selection)?;
        for (id, record) in &chosen {
            tracing::warn!(job = %id, flow = %record.flow, "dead letter discarded");
            self.remove_dead(*id, "discarded", now)?;
        }
        Ok(chosen.len() as u64)
    }

    /// Pauses or resumes a flow; returns since when it is paused, if it is.
    pub fn set_paused(
        &mut self,
        flow: FlowKind,
        paused: bool,
        now: Timestamp,
    ) -> Result<Option<Timestamp>, StoreError> {
        let since = if paused {
            let since = self.t.paused.get(flow.code())?.map_or(now.0, |v| v.value());
            self.t.paused.insert(flow.code(), since)?;
            Some(Timestamp(since))
        } else {
            self.t.paused.remove(flow.code())?;
            self.work_ready = true;
            None
        };
        self.changes.push(Change::Paused { flow, since });
        Ok(since)
    }

    /// Forgets dedup keys past their time to live and completed jobs past retention.
    pub fn prune(&mut self, now: Timestamp) -> Result<usize, StoreError> {
        let expired: Vec<(u64, String)> = self
            .t
            .dedup_expiry
            .range((0, "")..(now.0, ""))?
            .take(PRUNE_LIMIT)
            .map(|entry| {
                entry.map(|(key, _)| {
                    let (at, k) = key.value();
                    (at, k.to_owned())
                })
            })
            .collect::<Result<_, _>>()?;
        for (at, key) in &expired {
            self.t.dedup_expiry.remove((*at, key.as_str()))?;
            let current = self.t.dedup.get(key.as_str())?.map(|v| v.value());
            if current.is_some_and(|(_, expires)| expires == *at) {
                self.t.dedup.remove(key.as_str())?;
            }
        }
        let horizon = now.minus(self.settings.done_retention).0;
        let old_done: Vec<(u64, u64)> = self
            .t
            .done_by_time
            .range((0, 0)..(horizon, 0))?
            .take(PRUNE_LIMIT)
            .map(|entry| entry.map(|(key, _)| key.value()))
            .collect::<Result<_, _>>()?;
        for &(at, id) in &old_done {
            self.t.done_by_time.remove((at, id))?;
            self.t.done.remove(id)?;
        }
        Ok(expired.len() + old_done.len())
    }

    /// Stores a named cursor (ERP change poll, Shopify backfill).
    pub fn set_cursor(&mut self, name: &str, value: &[u8]) -> Result<(), StoreError> {
        self.t.cursors.insert(name, value)?;
        Ok(())
    }

    /// Records the level Shopify reported for an inventory item at a location, unless a
    /// newer report is already known (webhooks arrive out of order).
    pub fn record_shopify_level(
        &mut self,
        inventory_item: u64,
        location: u64,
        available: i64,
        updated_at: Timestamp,
    ) -> Result<bool, StoreError> {
        let key = (inventory_item, location);
        let newer_known = self
            .t
            .shopify_levels
            .get(key)?
            .is_some_and(|v| v.value().1 > updated_at.0);
        if !newer_known {
            self.t
                .shopify_levels
                .insert(key, (available, updated_at.0))?;
        }
        Ok(!newer_known)
    }

    pub(super) fn next_id(&mut self, counter: &str) -> Result<u64, StoreError> {
        let id = self.t.meta.get(counter)?.map_or(1, |v| v.value());
        self.t.meta.insert(counter, id + 1)?;
        Ok(id)
    }

    fn load(&self, id: JobId) -> Result<Option<JobRecord>, StoreError> {
        match self.t.jobs.get(id.0)? {
            Some(bytes) => records::decode("jobs", id.0, bytes.value()).map(Some),
            None => Ok(None),
        }
    }

    fn save(&mut self, id: JobId, record: &JobRecord) -> Result<(), StoreError> {
        self.t
            .jobs
            .insert(id.0, records::encode(record)?.as_slice())?;
        Ok(())
    }

    fn moved(&mut self, id: JobId, record: &JobRecord, from: Option<Slot>, to: Option<Slot>) {
        self.changes.push(Change::Moved {
            id,
            flow: record.flow,
            created_at: record.created_at,
            from,
            to: to.clone(),
        });
        // Routine progress reaches subscribers as periodic statistics; only jobs that have
        // failed (retry scheduled, dead-lettered, retried) are worth an event each. At
        // thousands of jobs a second, per-job events would cost every console more than
        // the work itself.
        if record.failure.is_some() && to.is_some_and(|slot| slot != Slot::Done) {
            self.changes
                .push(Change::Publish(Event::Job(record.summary(id))));
        }
    }
}

fn cause_of(record: &JobRecord) -> String {
    record
        .failure
        .as_ref()
        .map_or_else(String::new, |f| f.cause.clone())
}

fn merge_failure(
    previous: Option<FailureRecord>,
    failure: Failure,
    now: Timestamp,
) -> FailureRecord {
    FailureRecord {
        class: failure.class,
        cause: failure.cause,
        message: failure.message,
        first_failed_at: previous.map_or(now, |p| p.first_failed_at),
        last_failed_at: now,
    }
}
