//! The store: the only code that touches redb.
//!
//! # Invariants
//! - One redb write transaction per state change, and every state change goes through the
//!   single writer thread ([`writer`]). Concurrent changes are batched into one transaction
//!   and one durable commit (group commit); a caller hears `Ok` only after that commit
//!   returned, so an acknowledged enqueue survives `kill -9`.
//! - redb calls never run on async worker threads: writes on the writer thread, reads in
//!   `spawn_blocking`.
//! - A job is in exactly one place: pending (in `PENDING`), in flight (in `LEASES`), dead
//!   (in `DEAD`), or done (in `DONE`, without its record). The state field of its record
//!   says which, and the indexes agree with it in every committed transaction.
//! - A job runs under a lease whose token is its attempt number; completing or failing
//!   with a stale token is refused, so a job is never finished by two workers.
//! - On open, every in-flight job goes back to pending: redb's file lock means no other
//!   process can hold a lease on this file, so those leases belonged to a dead process.
//!
//! # Layout
//! - [`schema`]: tables and the start-up migration.
//! - [`records`]: the byte encoding of job, dead-letter and audit records.
//! - [`queue`]: the queue's state changes (enqueue, take, complete, fail, dead letters).
//! - [`read`]: queries for the control socket.
//! - [`mapping`]: the cache of Shopify's ids per SKU.
//! - [`inventory`]: the inventory flow's picture per SKU x location, the pairs waiting to
//!   be pushed, and the order lines Shopify sold that the ERP has not imported yet.
//! - [`fulfilment`]: the ERP shipments Shopify has as fulfilments.
//! - [`products`]: the product fields Shopify last agreed with the ERP on.
//! - [`alerts`]: alert incidents and the outbox of their messages.
//! - [`parity`]: the reconciler's runs, their mismatches, the latest run per dimension.
//! - [`stats`]: the in-memory counters the console shows, kept by the writer.
//! - [`writer`]: the writer thread and its batching.

mod alerts;
mod fulfilment;
mod inventory;
mod mapping;
mod orders;
mod parity;
mod products;
mod queue;
mod read;
pub mod records;
mod schema;
mod stats;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use redb::{Database, ReadTransaction, ReadableDatabase};
use tokio::sync::{Notify, broadcast, mpsc, oneshot};

use plumb_common::protocol::{Event, StatusSnapshot};
use plumb_common::{FlowKind, JobId, Timestamp};

pub use alerts::{AlertMessage, AlertMessageKind, NewIncident};
pub use fulfilment::FulfilledShipmentRecord;
pub use inventory::{InventoryRecord, PendingPush, ShopifyReport, TargetUpdate};
pub use mapping::SkuMapping;
pub use orders::BookedOrderRecord;
pub use products::SyncedProductRecord;
pub use queue::{
    EnqueueOptions, EnqueueOutcome, Enqueued, FailOutcome, Failure, LeasedJob, NewJob, RetryPolicy,
};
pub use writer::WriteCtx;

use stats::Stats;

/// What the store needs from the configuration.
#[derive(Debug, Clone)]
pub struct StoreSettings {
    /// The most dead letters kept; beyond it the oldest move to the audit record.
    pub dead_letter_bound: u64,
    /// How long completed jobs are remembered.
    pub done_retention: Duration,
    /// Bytes of redb's page cache.
    pub cache_bytes: usize,
}

impl Default for StoreSettings {
    fn default() -> Self {
        StoreSettings {
            dead_letter_bound: 10_000,
            done_retention: Duration::from_secs(24 * 3600),
            cache_bytes: 64 * 1024 * 1024,
        }
    }
}

/// Why a store operation failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// redb failed (I/O, corruption, full disk). The whole batch it was in was rolled back.
    #[error("store error: {0}")]
    Storage(Arc<redb::Error>),
    /// The file could not be opened.
    #[error("cannot open the store at {path}: {message}")]
    Open {
        /// The file.
        path: PathBuf,
        /// Why (already locked by another plumbd, permissions...).
        message: String,
    },
    /// The file was written by a newer build.
    #[error(
        "store schema version {found} is newer than this build supports ({supported}): upgrade plumbd or restore a backup"
    )]
    NewerSchema {
        /// Version in the file.
        found: u64,
        /// Version this build writes.
        supported: u64,
    },
    /// A record could not be decoded.
    #[error("unreadable record {key} in table {table}: {message}")]
    Corrupt {
        /// The table.
        table: &'static str,
        /// The record's key.
        key: u64,
        /// The decoder's complaint.
        message: String,
    },
    /// A record could not be encoded.
    #[error("cannot encode record: {0}")]
    Encode(String),
    /// No such job (or not in the state the operation needs).
    #[error("job {0} not found")]
    NotFound(JobId),
    /// The job's lease was lost: it was recovered and taken again since.
    #[error("job {0}: lease lost (the job was taken again after its lease expired)")]
    LeaseLost(JobId),
    /// The store was closed.
    #[error("the store is closed")]
    Closed,
}

impl StoreError {
    /// Whether the error aborts the transaction it happened in (a storage failure), rather
    /// than only the one operation (which then must not have written anything).
    fn aborts_batch(&self) -> bool {
        matches!(self, StoreError::Storage(_) | StoreError::Encode(_))
    }
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                StoreError::Storage(Arc::new(redb::Error::from(e)))
            }
        }
    )*};
}
from_redb!(
    redb::Error,
    redb::StorageError,
    redb::TableError,
    redb::TransactionError,
    redb::CommitError,
    redb::SetDurabilityError
);

/// A cheap, cloneable handle on the store.
#[derive(Clone, Debug)]
pub struct Store {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    path: PathBuf,
    db: Arc<Database>,
    commands: mpsc::Sender<writer::Command>,
    stats: Arc<Mutex<Stats>>,
    events: broadcast::Sender<Event>,
    work_ready: Arc<Notify>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    settings: StoreSettings,
    started_at: Timestamp,
}

/// How many events a subscriber may lag before it is told to resync.
const EVENT_BUFFER: usize = 1024;

impl Store {
    /// Opens (or creates) the store, migrates it, recovers in-flight jobs and starts the
    /// writer thread. Blocking: call it before the runtime is busy or in `spawn_blocking`.
    pub fn open(path: &Path, settings: StoreSettings, now: Timestamp) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Open {
                path: path.to_owned(),
                message: format!("cannot create {}: {e}", dir.display()),
            })?;
        }
        let db = Database::builder()
            .set_cache_size(settings.cache_bytes)
            .create(path)
            .map_err(|e| StoreError::Open {
                path: path.to_owned(),
                message: e.to_string(),
            })?;
        let txn = db.begin_write()?;
        schema::migrate(&txn)?;
        let recovered = {
            let mut ctx = WriteCtx::open(&txn, &settings)?;
            ctx.recover_all_in_flight(now)?
        };
        txn.commit()?;
        if recovered > 0 {
            tracing::warn!(
                recovered,
                "in-flight jobs of the previous run put back on the queue"
            );
        }
        let stats = Stats::load(&db.begin_read()?)?;
        let db = Arc::new(db);
        let stats = Arc::new(Mutex::new(stats));
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        let work_ready = Arc::new(Notify::new());
        let (commands, receiver) = mpsc::channel(writer::QUEUE_DEPTH);
        let handle = writer::spawn(writer::Writer {
            db: db.clone(),
            receiver,
            stats: stats.clone(),
            events: events.clone(),
            work_ready: work_ready.clone(),
            settings: settings.clone(),
        })
        .map_err(|e| StoreError::Open {
            path: path.to_owned(),
            message: format!("cannot start the writer thread: {e}"),
        })?;
        Ok(Store {
            inner: Arc::new(Inner {
                path: path.to_owned(),
                db,
                commands,
                stats,
                events,
                work_ready,
                writer: Mutex::new(Some(handle)),
                settings,
                started_at: now,
            }),
        })
    }

    /// The file this store lives in.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `op` in the next write batch and returns its result once the batch's commit is
    /// durable. `op` must not write anything before it returns an error other than a
    /// storage error (which rolls the whole batch back).
    pub async fn write<T, F>(&self, op: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut WriteCtx<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        self.submit(op, writer::Sync::Durable).await
    }

    /// Like [`Store::write`] for operations whose loss in a crash changes nothing (taking
    /// jobs, renewing leases: in-flight jobs return to pending on open): no fsync of their
    /// own, so they do not wait on the disk.
    pub async fn write_lazy<T, F>(&self, op: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut WriteCtx<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        self.submit(op, writer::Sync::Lazy).await
    }

    async fn submit<T, F>(&self, op: F, sync: writer::Sync) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut WriteCtx<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let command = writer::Command::op(op, sync, reply);
        self.inner
            .commands
            .send(command)
            .await
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    /// Runs `query` on a snapshot of the last commit, off the async threads.
    pub async fn read<T, F>(&self, query: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&ReadTransaction) -> Result<T, StoreError> + Send + 'static,
    {
        let db = self.inner.db.clone();
        tokio::task::spawn_blocking(move || {
            let txn = db.begin_read()?;
            query(&txn)
        })
        .await
        .map_err(|_| StoreError::Closed)?
    }

    /// A snapshot of the counters, as of `now`.
    pub fn status(&self, now: Timestamp) -> StatusSnapshot {
        self.lock_stats().snapshot(
            now,
            self.inner.started_at,
            self.inner.settings.dead_letter_bound,
        )
    }

    /// Notes that a new Shopify order came in at `at` (a webhook accepted, or an order
    /// the backfill found and booked): the "no orders" alert's signal. In memory only.
    pub fn note_order_received(&self, at: Timestamp) {
        self.lock_stats().order_received(at);
    }

    /// When a new order last came in since this process started.
    pub fn last_order_received(&self) -> Option<Timestamp> {
        self.lock_stats().last_order_received()
    }

    /// Whether a flow is paused (from the counters: no store read).
    pub fn is_paused(&self, flow: FlowKind) -> bool {
        self.lock_stats().paused_since(flow).is_some()
    }

    /// The counters. A panic while they were held leaves them usable: they are plain
    /// numbers, not half-applied invariants of the store.
    fn lock_stats(&self) -> std::sync::MutexGuard<'_, Stats> {
        self.inner
            .stats
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Events for subscribers: job state changes and dead letters, after their commit.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.inner.events.subscribe()
    }

    /// Notified after a commit that made new work due (an enqueue, a retry, a resume).
    pub fn work_ready(&self) -> Arc<Notify> {
        self.inner.work_ready.clone()
    }

    /// Stops the writer after the operations already sent, and waits for it. Later
    /// operations fail with [`StoreError::Closed`].
    pub async fn close(&self) {
        let (done, wait) = oneshot::channel();
        if self
            .inner
            .commands
            .send(writer::Command::Close(done))
            .await
            .is_ok()
        {
            let _ = wait.await;
        }
        let handle = self
            .inner
            .writer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        if let Some(handle) = handle {
            let _ = tokio::task::spawn_blocking(move || handle.join()).await;
        }
    }
}
