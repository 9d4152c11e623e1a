//! The control protocol between `plumbd` and its clients (the `plumb` console and scripts).
//!
//! A connection starts with a handshake: the client sends [`ClientMessage::Hello`] naming
//! its [`PROTOCOL_VERSION`] and whether it wants a read-only session; the agent answers
//! [`ServerMessage::Welcome`] or [`ServerMessage::Refused`] and closes. After that the
//! client sends requests tagged with its own ids and the agent answers each with a
//! [`ServerMessage::Response`] carrying the same id. After [`Request::Subscribe`] the agent
//! also pushes [`ServerMessage::Event`]s; a subscriber that falls behind gets
//! [`Event::Resync`] with a fresh snapshot instead of the events it missed.
//!
//! Any change that an older peer would misread bumps [`PROTOCOL_VERSION`]. A new event or
//! response variant is such a change unless the peer is known to skip unknown messages.

use serde::{Deserialize, Serialize};

use crate::{ErrorClass, FlowKind, JobId, JobState, Timestamp};

pub use crate::parity::{
    DimensionParity, KindCount, LatestParity, Mismatch, MismatchPage, MismatchQuery,
    MismatchSelection, ParityDimension, ParityRun, ParityRunPage, ParityRunQuery, RunScope,
    RunState, RunTrigger,
};

/// The protocol version this build speaks. Both sides must agree exactly.
pub const PROTOCOL_VERSION: u32 = 3;

/// The largest frame either side accepts, in bytes. Dead-letter payloads shown in full
/// are the largest messages; they are cut to [`MAX_PAYLOAD_PREVIEW`] first.
pub const MAX_FRAME_BYTES: usize = 4 * 1024 * 1024;

/// How much of a dead letter's payload the agent sends in [`DeadLetterDetail`].
pub const MAX_PAYLOAD_PREVIEW: usize = 1024 * 1024;

/// A message from a client to the agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// The first message of every connection.
    Hello(Hello),
    /// A request; the agent answers with a [`ServerMessage::Response`] of the same `id`.
    Request {
        /// Chosen by the client to match the response.
        id: u64,
        /// What is asked.
        request: Request,
    },
}

/// The client's half of the handshake.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// The client's [`PROTOCOL_VERSION`].
    pub protocol: u32,
    /// Asks for a session in which every mutation is refused.
    pub read_only: bool,
    /// A free-form client name for the agent's logs ("plumb 0.1.0").
    pub client: String,
}

/// A message from the agent to a client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// The handshake succeeded.
    Welcome(Welcome),
    /// The handshake failed; the agent closes the connection after this.
    Refused {
        /// Why, for a person to read.
        reason: String,
    },
    /// The answer to one request.
    Response {
        /// The id the client gave the request.
        id: u64,
        /// The answer or why there is none.
        result: Result<Response, RequestError>,
    },
    /// Pushed to subscribers.
    Event(Event),
}

/// The agent's half of the handshake.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Welcome {
    /// The agent's [`PROTOCOL_VERSION`] (equal to the client's, or there is no welcome).
    pub protocol: u32,
    /// The agent's crate version.
    pub agent_version: String,
    /// Whether this session refuses mutations.
    pub read_only: bool,
}

/// What a client can ask.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// A snapshot of every flow, the queue and the dead letters.
    Status,
    /// A snapshot now, then events as they happen.
    Subscribe,
    /// Jobs by flow and state, oldest first.
    ListJobs(JobQuery),
    /// Dead letters, newest first, with their counts by cause.
    ListDeadLetters(DeadLetterQuery),
    /// One dead letter with its payload.
    ShowDeadLetter {
        /// The dead job.
        id: JobId,
    },
    /// Put dead letters back on the queue, due now, with their attempts reset.
    RetryDeadLetters {
        /// Which.
        selection: DeadLetterSelection,
    },
    /// Remove dead letters for good (an audit record is kept).
    DiscardDeadLetters {
        /// Which.
        selection: DeadLetterSelection,
    },
    /// Stop running a flow's jobs; its jobs are still accepted and stored.
    Pause {
        /// The flow.
        flow: FlowKind,
    },
    /// Run a paused flow's jobs again.
    Resume {
        /// The flow.
        flow: FlowKind,
    },
    /// Queue a full reconciliation run; unless `dry_run`, it repairs every repairable
    /// mismatch it finds.
    Reconcile {
        /// Report what would be repaired (each mismatch's `repair`) without writing it.
        dry_run: bool,
    },
    /// The inventory picture per SKU x location, in (SKU, location) order.
    ListInventory(InventoryQuery),
    /// The latest finished report of every dimension that has one (since version 3).
    ParityLatest,
    /// Reconciliation runs, newest first (since version 3).
    ListParityRuns(ParityRunQuery),
    /// One run's mismatches, filtered by dimension and kind (since version 3).
    ListMismatches(MismatchQuery),
    /// Queue the repair of some of a finished run's mismatches (since version 3).
    RepairMismatches {
        /// The run.
        run: u64,
        /// Which of its mismatches.
        selection: MismatchSelection,
    },
}

impl Request {
    /// Whether the request changes the agent's state (refused on read-only sessions).
    pub const fn is_mutation(&self) -> bool {
        match self {
            Request::Status
            | Request::Subscribe
            | Request::ListJobs(_)
            | Request::ListDeadLetters(_)
            | Request::ShowDeadLetter { .. }
            | Request::ListInventory(_)
            | Request::ParityLatest
            | Request::ListParityRuns(_)
            | Request::ListMismatches(_) => false,
            Request::RetryDeadLetters { .. }
            | Request::RepairMismatches { .. }
            | Request::DiscardDeadLetters { .. }
            | Request::Pause { .. }
            | Request::Resume { .. }
            | Request::Reconcile { .. } => true,
        }
    }
}

/// A page of jobs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobQuery {
    /// Only this flow.
    pub flow: Option<FlowKind>,
    /// Only this state; `None` lists pending and in-flight jobs.
    pub state: Option<JobState>,
    /// Start after this id (the previous page's `next`).
    pub after: Option<JobId>,
    /// At most this many (the agent caps it).
    pub limit: u32,
}

/// A page of dead letters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetterQuery {
    /// Only this flow.
    pub flow: Option<FlowKind>,
    /// Only this cause.
    pub cause: Option<String>,
    /// Start after this id, going to older ones (the previous page's `next`).
    pub before: Option<JobId>,
    /// At most this many (the agent caps it).
    pub limit: u32,
}

/// Which dead letters a bulk action applies to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum DeadLetterSelection {
    /// Exactly these (marked rows, or one).
    Ids {
        /// The dead jobs.
        ids: Vec<JobId>,
    },
    /// Every dead letter matching both filters (`None` matches all): a whole cause group,
    /// a flow, or everything.
    Matching {
        /// Only this flow.
        flow: Option<FlowKind>,
        /// Only this cause.
        cause: Option<String>,
    },
}

/// A successful answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Response {
    /// For [`Request::Status`] and [`Request::Subscribe`].
    Status(StatusSnapshot),
    /// For [`Request::ListJobs`].
    Jobs(Page<JobSummary>),
    /// For [`Request::ListDeadLetters`].
    DeadLetters(DeadLetterPage),
    /// For [`Request::ShowDeadLetter`].
    DeadLetter(DeadLetterDetail),
    /// For retry and discard: how many dead letters were affected.
    Affected {
        /// The count.
        count: u64,
    },
    /// For pause and resume: the flow's state now.
    Flow {
        /// The flow.
        flow: FlowKind,
        /// Paused since, if paused.
        paused_since: Option<Timestamp>,
    },
    /// For [`Request::Reconcile`]: the job that will run it.
    Queued {
        /// The job.
        job: JobId,
    },
    /// For [`Request::ListInventory`].
    Inventory(InventoryPage),
    /// For [`Request::ParityLatest`]: one entry per dimension that has a finished report,
    /// in [`ParityDimension::ALL`] order.
    ParityLatest {
        /// The reports.
        dimensions: Vec<LatestParity>,
    },
    /// For [`Request::ListParityRuns`].
    ParityRuns(ParityRunPage),
    /// For [`Request::ListMismatches`].
    Mismatches(MismatchPage),
}

/// Why a request got no answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{kind:?}: {message}")]
pub struct RequestError {
    /// The class, for scripts.
    pub kind: RequestErrorKind,
    /// The detail, for people.
    pub message: String,
}

/// The classes of [`RequestError`], stable for scripts' exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestErrorKind {
    /// A mutation on a read-only session.
    ReadOnly,
    /// The thing named does not exist.
    NotFound,
    /// The request cannot be served as asked.
    BadRequest,
    /// The agent could not serve it now (store error, shutting down).
    Unavailable,
}

/// Pushed to subscribers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// Periodic, coalesced statistics.
    Stats(StatusSnapshot),
    /// A job that has failed changed state: a retry was scheduled, it was dead-lettered,
    /// or it was retried from the dead letters. Routine progress is in [`Event::Stats`].
    Job(JobSummary),
    /// A job was dead-lettered.
    DeadLetter(DeadLetterSummary),
    /// The subscriber fell behind and missed events: this snapshot replaces its state.
    Resync(StatusSnapshot),
    /// One SKU x location's inventory changed (ERP figure, Shopify figure or status).
    InventoryDelta(InventoryRow),
    /// A reconciliation run started, finished or failed, or repairs were queued for its
    /// mismatches (since version 3).
    ParityRun(ParityRun),
}

/// Everything the overview shows, as of `taken_at`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusSnapshot {
    /// The agent's crate version.
    pub agent_version: String,
    /// When the agent process started.
    pub started_at: Timestamp,
    /// When this snapshot was taken.
    pub taken_at: Timestamp,
    /// One entry per flow, in [`FlowKind::ALL`] order.
    pub flows: Vec<FlowStatus>,
    /// Dead letters in total (all flows).
    pub dead_letters: u64,
    /// The most dead letters kept; the oldest are moved to the audit record beyond it.
    pub dead_letter_bound: u64,
    /// Dead letters by flow and cause, largest groups first.
    pub dead_letter_causes: Vec<CauseCount>,
    /// Alert incidents: every open one (oldest first), then the most recently resolved
    /// ones (newest first, at most [`MAX_RESOLVED_INCIDENTS`], resolved within a day).
    /// Since protocol version 3.
    #[serde(default)]
    pub incidents: Vec<Incident>,
}

/// How many resolved incidents a [`StatusSnapshot`] carries at most.
pub const MAX_RESOLVED_INCIDENTS: usize = 20;

/// The alert rules the agent evaluates (`[alerts.<rule>]` in its configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertRule {
    /// A flow's oldest pending job is older than the threshold (subject: the flow).
    QueueAge,
    /// Dead letters grew by at least the threshold within the window.
    DeadLetters,
    /// A reconciliation dimension's parity is below the threshold (subject: the dimension).
    Parity,
    /// No order received for the threshold during trading hours.
    NoOrders,
    /// A flow has been paused longer than the threshold (subject: the flow).
    FlowPaused,
    /// Shopify refuses the access token.
    ShopifyAuth,
    /// The ERP cannot be reached.
    ErpUnreachable,
    /// A webhook topic Plumb needs has no subscription to its receiver at Shopify.
    WebhookSubscriptions,
}

impl AlertRule {
    /// Every rule, in a stable order.
    pub const ALL: [AlertRule; 8] = [
        AlertRule::QueueAge,
        AlertRule::DeadLetters,
        AlertRule::Parity,
        AlertRule::NoOrders,
        AlertRule::FlowPaused,
        AlertRule::ShopifyAuth,
        AlertRule::ErpUnreachable,
        AlertRule::WebhookSubscriptions,
    ];

    /// The rule's name, as in the configuration (`queue_age`).
    pub const fn as_str(self) -> &'static str {
        match self {
            AlertRule::QueueAge => "queue_age",
            AlertRule::DeadLetters => "dead_letters",
            AlertRule::Parity => "parity",
            AlertRule::NoOrders => "no_orders",
            AlertRule::FlowPaused => "flow_paused",
            AlertRule::ShopifyAuth => "shopify_auth",
            AlertRule::ErpUnreachable => "erp_unreachable",
            AlertRule::WebhookSubscriptions => "webhook_subscriptions",
        }
    }
}

impl std::fmt::Display for AlertRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One alert incident: a rule's condition from the check that found it to the check that
/// found it cleared. One message is delivered when it opens and one when it resolves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incident {
    /// Unique per agent store, increasing.
    pub id: u64,
    /// The rule.
    pub rule: AlertRule,
    /// What the rule is about, when it has several (a flow, a parity dimension).
    pub subject: Option<String>,
    /// What was found when it opened, for people ("orders: oldest pending job 12m old,
    /// threshold 10m").
    pub summary: String,
    /// When it opened.
    pub opened_at: Timestamp,
    /// When it resolved; `None` while open.
    pub resolved_at: Option<Timestamp>,
    /// Whether the endpoint has accepted the open message.
    pub open_delivered: bool,
    /// Whether the endpoint has accepted the resolve message (false while open).
    pub resolve_delivered: bool,
}

impl StatusSnapshot {
    /// The status of one flow.
    pub fn flow(&self, flow: FlowKind) -> Option<&FlowStatus> {
        self.flows.iter().find(|status| status.flow == flow)
    }
}

/// One flow's state and counters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowStatus {
    /// The flow.
    pub flow: FlowKind,
    /// Paused since, if paused.
    pub paused_since: Option<Timestamp>,
    /// Pending jobs (due or waiting for a retry).
    pub pending: u64,
    /// Jobs taken by a worker now.
    pub in_flight: u64,
    /// When the oldest pending job was created: its age is the queue's age.
    pub oldest_pending: Option<Timestamp>,
    /// Dead letters of this flow.
    pub dead: u64,
    /// Jobs completed in the last 60 s.
    pub completed_last_minute: u64,
    /// Failed attempts (transient or permanent) in the last 60 s.
    pub failed_last_minute: u64,
    /// When a job of this flow last completed.
    pub last_success: Option<Timestamp>,
    /// The last failure, when and why.
    pub last_error: Option<LastError>,
}

/// A flow's most recent failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastError {
    /// When.
    pub at: Timestamp,
    /// The job's error message.
    pub message: String,
}

/// The size of one group of dead letters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CauseCount {
    /// The flow.
    pub flow: FlowKind,
    /// The cause, stable across jobs that fail the same way ("unknown_sku").
    pub cause: String,
    /// How many dead letters have it.
    pub count: u64,
}

/// A page of results with the cursor for the next one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    /// This page.
    pub items: Vec<T>,
    /// Pass as `after`/`before` to get the next page; `None` on the last one.
    pub next: Option<JobId>,
}

/// A page of dead letters and the groups they fall in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetterPage {
    /// The dead letters.
    pub page: Page<DeadLetterSummary>,
    /// Counts by cause over every dead letter the query's flow filter matches.
    pub causes: Vec<CauseCount>,
}

/// A job as lists show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobSummary {
    /// The job.
    pub id: JobId,
    /// Its flow.
    pub flow: FlowKind,
    /// Its state.
    pub state: JobState,
    /// Attempts started so far.
    pub attempts: u32,
    /// When it was enqueued.
    pub created_at: Timestamp,
    /// When it is due (pending jobs) or its lease runs out (in-flight jobs).
    pub due_at: Option<Timestamp>,
    /// The last attempt's error.
    pub last_error: Option<String>,
}

/// A dead letter as lists show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetterSummary {
    /// The job.
    pub id: JobId,
    /// Its flow.
    pub flow: FlowKind,
    /// Permanent, or transient until attempts ran out.
    pub class: ErrorClass,
    /// The group it belongs to.
    pub cause: String,
    /// The full error message.
    pub message: String,
    /// Attempts made.
    pub attempts: u32,
    /// When the job was enqueued.
    pub created_at: Timestamp,
    /// When its first attempt failed.
    pub first_failed_at: Timestamp,
    /// When its last attempt failed.
    pub last_failed_at: Timestamp,
}

/// A dead letter with its payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetterDetail {
    /// As listed.
    pub summary: DeadLetterSummary,
    /// A short description of the payload ("shopify webhook orders/create").
    pub payload_kind: String,
    /// The payload as text (lossy UTF-8), cut to [`MAX_PAYLOAD_PREVIEW`] bytes.
    pub payload: String,
    /// The payload's full size in bytes.
    pub payload_bytes: u64,
}

/// Where one SKU x location stands between the ERP and Shopify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InventoryStatus {
    /// Shopify shows the target.
    InSync,
    /// A new target waits to be pushed.
    Pending,
    /// Pushing it fails (the cause says why: unknown SKU, untracked item, Shopify error).
    Failing,
    /// Shopify was changed by someone else (a hand edit) away from the target.
    Drift,
}

/// One SKU at one Shopify location.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryRow {
    /// The SKU.
    pub sku: String,
    /// The Shopify location id.
    pub location: u64,
    /// The ERP warehouse feeding it.
    pub warehouse: String,
    /// The ERP's sellable units (for a bundle: bundles the components make).
    pub erp: i64,
    /// What Shopify's `available` should be (after buffers and unimported orders).
    pub target: i64,
    /// Shopify's `available` as last known; `None` before it was read.
    pub shopify: Option<i64>,
    /// `shopify - target`, when Shopify's figure is known.
    pub delta: Option<i64>,
    /// When Shopify was last brought to the target.
    pub last_sync: Option<Timestamp>,
    /// The status.
    pub status: InventoryStatus,
    /// Why it is failing or drifting.
    pub cause: Option<String>,
}

/// Where an inventory page starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryKey {
    /// The SKU.
    pub sku: String,
    /// The Shopify location id.
    pub location: u64,
}

/// Which inventory rows to list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryQuery {
    /// Start after this row; `None`: from the first.
    pub after: Option<InventoryKey>,
    /// Only rows with this status.
    pub status: Option<InventoryStatus>,
    /// The most rows (capped by the agent).
    pub limit: u32,
}

/// A page of inventory rows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryPage {
    /// The rows.
    pub items: Vec<InventoryRow>,
    /// Pass as `after` to get the next page; `None` on the last one.
    pub next: Option<InventoryKey>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_have_a_readable_stable_shape() {
        let hello = ClientMessage::Hello(Hello {
            protocol: PROTOCOL_VERSION,
            read_only: true,
            client: "plumb".into(),
        });
        assert_eq!(
            serde_json::to_string(&hello).ok().as_deref(),
            Some(r#"{"type":"hello","protocol":3,"read_only":true,"client":"plumb"}"#)
        );
        let pause = ClientMessage::Request {
            id: 7,
            request: Request::Pause {
                flow: FlowKind::Inventory,
            },
        };
        assert_eq!(
            serde_json::to_string(&pause).ok().as_deref(),
            Some(r#"{"type":"request","id":7,"request":{"op":"pause","flow":"inventory"}}"#)
        );
        let list = Request::ListInventory(InventoryQuery {
            after: None,
            status: Some(InventoryStatus::Drift),
            limit: 50,
        });
        assert_eq!(
            serde_json::to_string(&list).ok().as_deref(),
            Some(r#"{"op":"list_inventory","after":null,"status":"drift","limit":50}"#)
        );
    }

    #[test]
    fn mutations_are_classified() {
        assert!(!Request::Status.is_mutation());
        assert!(!Request::ShowDeadLetter { id: JobId(1) }.is_mutation());
        assert!(Request::Reconcile { dry_run: true }.is_mutation());
        assert!(
            Request::DiscardDeadLetters {
                selection: DeadLetterSelection::Matching {
                    flow: None,
                    cause: None
                }
            }
            .is_mutation()
        );
    }
}
