//! The writer thread: every state change of the store runs here, batched.
//!
//! Commands queue on a bounded channel. The thread takes one, then everything else already
//! waiting (up to [`MAX_BATCH`]), runs them all in one write transaction and commits once:
//! under load, one fsync serves many callers (group commit), and with no load a single
//! command still commits at once. Replies go out only after the commit returned.

use std::sync::{Arc, Mutex};

use redb::{Database, Table, WriteTransaction};
use tokio::sync::{Notify, broadcast, mpsc, oneshot};

use plumb_common::protocol::Event;
use plumb_common::{FlowKind, JobId, Timestamp};

use super::schema::{
    ALERT_OUTBOX, AUDIT, COALESCE, CURSORS, DEAD, DEDUP, DEDUP_EXPIRY, DONE, DONE_BY_TIME,
    FULFILMENTS, INCIDENTS, INVENTORY, INVENTORY_DIRTY, ITEM_SKUS, JOBS, LEASES, META, ORDERS,
    ORDERS_AWAITING_STOCK, PARITY_LATEST, PARITY_MISMATCHES, PARITY_RUNS, PAUSED, PAYLOADS,
    PENDING, PRODUCTS_SYNCED, SHOPIFY_LEVELS, SKU_MAPPINGS, UNIMPORTED_LINES, UNIMPORTED_TOTALS,
};
use super::stats::Stats;
use super::{StoreError, StoreSettings};

/// How many commands may wait for the writer before senders wait too (back-pressure).
pub const QUEUE_DEPTH: usize = 8192;
/// The most commands in one transaction, so one batch cannot hold replies back for long.
const MAX_BATCH: usize = 2048;

type Reply = Box<dyn FnOnce(Option<&StoreError>) + Send>;
type Op = Box<dyn FnOnce(&mut WriteCtx<'_>) -> (Reply, Option<StoreError>) + Send>;

/// Whether an operation's commit must reach the disk before its caller hears back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sync {
    /// Acknowledged work: fsync before replying.
    Durable,
    /// Losing it in a crash changes nothing (taking a job, renewing a lease: every
    /// in-flight job returns to pending on open anyway). Made durable by the next
    /// durable commit.
    Lazy,
}

/// A message to the writer thread.
pub enum Command {
    /// A state change.
    Op(Op, Sync),
    /// Finish what was sent before, then stop.
    Close(oneshot::Sender<()>),
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Command::Op(_, sync) => write!(f, "Command::Op({sync:?})"),
            Command::Close(_) => f.write_str("Command::Close"),
        }
    }
}

impl Command {
    /// Wraps a typed operation: its result is held until the commit outcome is known.
    pub fn op<T, F>(op: F, sync: Sync, reply: oneshot::Sender<Result<T, StoreError>>) -> Command
    where
        T: Send + 'static,
        F: FnOnce(&mut WriteCtx<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        Command::Op(
            Box::new(move |ctx| {
                let result = op(ctx);
                let aborts = result.as_ref().err().filter(|e| e.aborts_batch()).cloned();
                let reply: Reply = Box::new(move |commit_error| {
                    let outcome = match commit_error {
                        Some(error) => Err(error.clone()),
                        None => result,
                    };
                    // The caller may have given up waiting; the outcome is durable either way.
                    let _ = reply.send(outcome);
                });
                (reply, aborts)
            }),
            sync,
        )
    }
}

/// A state change the writer applies to the counters and publishes, once committed.
#[derive(Debug, Clone)]
pub enum Change {
    /// A job moved between places (`None`: it did not exist / no longer exists).
    Moved {
        id: JobId,
        flow: FlowKind,
        created_at: Timestamp,
        from: Option<Slot>,
        to: Option<Slot>,
    },
    /// An attempt finished well.
    Completed { flow: FlowKind, at: Timestamp },
    /// An attempt failed.
    Failed {
        flow: FlowKind,
        at: Timestamp,
        message: String,
    },
    /// A flow was paused or resumed.
    Paused {
        flow: FlowKind,
        since: Option<Timestamp>,
    },
    /// An alert incident opened, resolved or had a message delivered (its record as now).
    Incident(plumb_common::protocol::Incident),
    /// Resolved incidents pruned from the store.
    IncidentsPruned(Vec<u64>),
    /// An event for subscribers.
    Publish(Event),
}

/// Where a job is, for the counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Slot {
    Pending,
    InFlight,
    Dead { cause: String },
    Done,
}

/// The tables of one write transaction, opened once per batch.
pub struct Tables<'txn> {
    pub meta: Table<'txn, &'static str, u64>,
    pub jobs: Table<'txn, u64, &'static [u8]>,
    pub payloads: Table<'txn, u64, &'static [u8]>,
    pub pending: Table<'txn, (u8, u64, u64), ()>,
    pub leases: Table<'txn, (u64, u64), ()>,
    pub dedup: Table<'txn, &'static str, (u64, u64)>,
    pub dedup_expiry: Table<'txn, (u64, &'static str), ()>,
    pub coalesce: Table<'txn, &'static str, u64>,
    pub dead: Table<'txn, (u64, u64), ()>,
    pub done: Table<'txn, u64, (u64, u8)>,
    pub done_by_time: Table<'txn, (u64, u64), ()>,
    pub audit: Table<'txn, u64, &'static [u8]>,
    pub paused: Table<'txn, u8, u64>,
    pub cursors: Table<'txn, &'static str, &'static [u8]>,
    pub shopify_levels: Table<'txn, (u64, u64), (i64, u64)>,
    pub sku_mappings: Table<'txn, &'static str, (u64, u64, bool, u64)>,
    pub item_skus: Table<'txn, u64, &'static str>,
    pub inventory: Table<'txn, (&'static str, u64), &'static [u8]>,
    pub inventory_dirty: Table<'txn, (&'static str, u64), u64>,
    pub unimported_lines: Table<'txn, (u64, &'static str, u64), i64>,
    pub unimported_totals: Table<'txn, (&'static str, u64), i64>,
    pub orders: Table<'txn, u64, &'static [u8]>,
    pub orders_awaiting_stock: Table<'txn, u64, u64>,
    pub fulfilments: Table<'txn, (u64, &'static str), &'static [u8]>,
    pub products_synced: Table<'txn, &'static str, &'static [u8]>,
    pub incidents: Table<'txn, u64, &'static [u8]>,
    pub alert_outbox: Table<'txn, u64, &'static [u8]>,
    pub parity_runs: Table<'txn, u64, &'static [u8]>,
    pub parity_mismatches: Table<'txn, (u64, u64), &'static [u8]>,
    pub parity_latest: Table<'txn, u8, u64>,
}

/// What an operation sees: the open tables, and where it records its changes.
pub struct WriteCtx<'txn> {
    pub(super) t: Tables<'txn>,
    pub(super) settings: StoreSettings,
    pub(super) changes: Vec<Change>,
    /// Set when the batch made work due, to wake the workers after the commit.
    pub(super) work_ready: bool,
}

impl std::fmt::Debug for WriteCtx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteCtx")
            .field("changes", &self.changes.len())
            .finish()
    }
}

impl<'txn> WriteCtx<'txn> {
    pub(super) fn open(
        txn: &'txn WriteTransaction,
        settings: &StoreSettings,
    ) -> Result<WriteCtx<'txn>, StoreError> {
        Ok(WriteCtx {
            settings: settings.clone(),
            t: Tables {
                meta: txn.open_table(META)?,
                jobs: txn.open_table(JOBS)?,
                payloads: txn.open_table(PAYLOADS)?,
                pending: txn.open_table(PENDING)?,
                leases: txn.open_table(LEASES)?,
                dedup: txn.open_table(DEDUP)?,
                dedup_expiry: txn.open_table(DEDUP_EXPIRY)?,
                coalesce: txn.open_table(COALESCE)?,
                dead: txn.open_table(DEAD)?,
                done: txn.open_table(DONE)?,
                done_by_time: txn.open_table(DONE_BY_TIME)?,
                audit: txn.open_table(AUDIT)?,
                paused: txn.open_table(PAUSED)?,
                cursors: txn.open_table(CURSORS)?,
                shopify_levels: txn.open_table(SHOPIFY_LEVELS)?,
                sku_mappings: txn.open_table(SKU_MAPPINGS)?,
                item_skus: txn.open_table(ITEM_SKUS)?,
                inventory: txn.open_table(INVENTORY)?,
                inventory_dirty: txn.open_table(INVENTORY_DIRTY)?,
                unimported_lines: txn.open_table(UNIMPORTED_LINES)?,
                unimported_totals: txn.open_table(UNIMPORTED_TOTALS)?,
                orders: txn.open_table(ORDERS)?,
                orders_awaiting_stock: txn.open_table(ORDERS_AWAITING_STOCK)?,
                fulfilments: txn.open_table(FULFILMENTS)?,
                products_synced: txn.open_table(PRODUCTS_SYNCED)?,
                incidents: txn.open_table(INCIDENTS)?,
                alert_outbox: txn.open_table(ALERT_OUTBOX)?,
                parity_runs: txn.open_table(PARITY_RUNS)?,
                parity_mismatches: txn.open_table(PARITY_MISMATCHES)?,
                parity_latest: txn.open_table(PARITY_LATEST)?,
            },
            changes: Vec::new(),
            work_ready: false,
        })
    }
}

/// The writer thread's state.
pub struct Writer {
    pub db: Arc<Database>,
    pub receiver: mpsc::Receiver<Command>,
    pub stats: Arc<Mutex<Stats>>,
    pub events: broadcast::Sender<Event>,
    pub work_ready: Arc<Notify>,
    pub settings: StoreSettings,
}

pub fn spawn(writer: Writer) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("plumb-store".into())
        .spawn(move || writer.run())
}

impl Writer {
    fn run(mut self) {
        let mut closing: Option<oneshot::Sender<()>> = None;
        while closing.is_none() {
            let Some(first) = self.receiver.blocking_recv() else {
                break;
            };
            let mut ops = Vec::new();
            let mut sync = Sync::Lazy;
            let mut add = |command: Command, ops: &mut Vec<Op>| match command {
                Command::Op(op, op_sync) => {
                    if op_sync == Sync::Durable {
                        sync = Sync::Durable;
                    }
                    ops.push(op);
                    None
                }
                Command::Close(done) => Some(done),
            };
            closing = add(first, &mut ops);
            while closing.is_none() && ops.len() < MAX_BATCH {
                match self.receiver.try_recv() {
                    Ok(command) => closing = add(command, &mut ops),
                    Err(_) => break,
                }
            }
            if !ops.is_empty() {
                self.run_batch(ops, sync);
            }
        }
        self.receiver.close();
        if let Some(done) = closing {
            let _ = done.send(());
        }
    }

    fn run_batch(&self, ops: Vec<Op>, sync: Sync) {
        let mut replies = Vec::with_capacity(ops.len());
        let outcome = self.transact(ops, sync, &mut replies);
        let error = outcome.as_ref().err();
        if let Some(error) = error {
            tracing::error!(%error, ops = replies.len(), "store batch rolled back");
        }
        match outcome {
            Ok((changes, work_ready)) => {
                self.apply(changes);
                if work_ready {
                    self.work_ready.notify_waiters();
                }
                for reply in replies {
                    reply(None);
                }
            }
            Err(error) => {
                for reply in replies {
                    reply(Some(&error));
                }
            }
        }
    }

    /// Runs every op in one transaction. On a storage error the transaction is dropped
    /// (rolled back) and every op in it is told so.
    fn transact(
        &self,
        ops: Vec<Op>,
        sync: Sync,
        replies: &mut Vec<Reply>,
    ) -> Result<(Vec<Change>, bool), StoreError> {
        let mut txn = self.db.begin_write()?;
        if sync == Sync::Lazy {
            txn.set_durability(redb::Durability::None)?;
        }
        let mut first_abort: Option<StoreError> = None;
        let (changes, work_ready) = {
            let mut ctx = WriteCtx::open(&txn, &self.settings)?;
            for op in ops {
                let (reply, aborts) = op(&mut ctx);
                first_abort = first_abort.or(aborts);
                replies.push(reply);
            }
            (ctx.changes, ctx.work_ready)
        };
        if let Some(error) = first_abort {
            // The transaction may be half-written: dropping it rolls everything back.
            drop(txn);
            return Err(error);
        }
        txn.commit()?;
        Ok((changes, work_ready))
    }

    fn apply(&self, changes: Vec<Change>) {
        let mut stats = self
            .stats
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for change in changes {
            match change {
                Change::Publish(event) => {
                    // No subscriber is fine; a lagging one gets a resync from its reader.
                    let _ = self.events.send(event);
                }
                other => stats.apply(&other),
            }
        }
    }
}
