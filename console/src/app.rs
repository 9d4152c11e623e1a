//! The console's state and how keys and agent updates change it. No I/O: a key or an
//! update goes in, [`Effect`]s (requests to send, quit) come out, so every behaviour is
//! testable without a terminal or an agent. Rendering (`ui`) only reads this state.
//!
//! Invariants:
//! - Nothing mutates the agent without a key flagged `mutating` in the registry, and a
//!   read-only console refuses those keys before anything is sent.
//! - Every destructive or bulk action goes through a [`Confirmation`] that names what it
//!   affects, including rows the filter hides.
//! - The view, filters and marks survive a reconnection; the data is reloaded.

use std::cell::Cell;
use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap};

use plumb_common::protocol::{
    CauseCount, DeadLetterDetail, DeadLetterQuery, DeadLetterSelection, DeadLetterSummary, Event,
    InventoryKey, InventoryQuery, InventoryRow, InventoryStatus, JobQuery, JobSummary,
    LatestParity, Mismatch, MismatchQuery, MismatchSelection, ParityRun, ParityRunQuery, Request,
    RequestError, Response, RunState, StatusSnapshot,
};
use plumb_common::{FlowKind, JobId, Timestamp};

use crate::client::{ConnectionState, Update};
use crate::keys::{self, Action, Key};

/// Rows asked per page (the agent's cap).
pub const PAGE: u32 = 1_000;

/// Reconciliation runs the Parity view lists.
const RUNS_SHOWN: u32 = 5;

/// Mismatches of the latest run the console holds (the agent keeps them all, paged).
const MISMATCHES_HELD: usize = 10_000;

/// The console's views.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum View {
    /// Flows, queue, dead letters at a glance.
    Overview,
    /// ERP and Shopify per SKU x location.
    Inventory,
    /// Pending and in-flight jobs.
    Queue,
    /// Dead letters by cause, with detail.
    DeadLetters,
    /// Reconciliation runs.
    Parity,
    /// The key registry.
    Help,
}

impl View {
    /// Every view, in tab order.
    pub const ALL: [View; 6] = [
        View::Overview,
        View::Inventory,
        View::Queue,
        View::DeadLetters,
        View::Parity,
        View::Help,
    ];

    /// The tab title.
    pub const fn title(self) -> &'static str {
        match self {
            View::Overview => "Overview",
            View::Inventory => "Inventory",
            View::Queue => "Queue",
            View::DeadLetters => "Dead letters",
            View::Parity => "Parity",
            View::Help => "Help",
        }
    }

    /// The key that shows the view (`1`..`5`, `?`).
    pub const fn tab_key(self) -> &'static str {
        match self {
            View::Overview => "1",
            View::Inventory => "2",
            View::Queue => "3",
            View::DeadLetters => "4",
            View::Parity => "5",
            View::Help => "?",
        }
    }

    /// The view a `:command` names.
    pub fn from_command(command: &str) -> Option<View> {
        Some(match command {
            "overview" | "ov" | "flows" => View::Overview,
            "inventory" | "inv" | "stock" => View::Inventory,
            "queue" | "jobs" => View::Queue,
            "dlq" | "dead" | "deadletters" | "dead-letters" => View::DeadLetters,
            "parity" | "reconcile" => View::Parity,
            "help" | "h" => View::Help,
            _ => return None,
        })
    }

    fn index(self) -> usize {
        View::ALL.iter().position(|v| *v == self).unwrap_or(0)
    }
}

/// How the inventory is sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InventorySort {
    /// Largest |delta| first (the default: what is most wrong on top).
    Delta,
    /// By SKU, then location.
    Sku,
    /// Failing, drift, pending, in sync.
    Status,
}

impl InventorySort {
    /// How the header names it.
    pub const fn label(self) -> &'static str {
        match self {
            InventorySort::Delta => "|delta|",
            InventorySort::Sku => "SKU",
            InventorySort::Status => "status",
        }
    }
}

/// What the keyboard is doing.
#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    /// Keys are bindings.
    Normal,
    /// Keys edit the current view's filter.
    Filter,
    /// Keys edit a `:command`.
    Command(String),
    /// A dialog waits for yes or no.
    Confirm(Confirmation),
}

/// A question before a destructive or bulk action.
#[derive(Debug, Clone, PartialEq)]
pub struct Confirmation {
    /// What would be done, in one line.
    pub title: String,
    /// What it affects, line by line.
    pub lines: Vec<String>,
    /// What is sent on yes.
    pub request: Request,
}

/// A line for the status bar: the last answer or refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// The text.
    pub text: String,
    /// Whether it reports a failure.
    pub error: bool,
}

/// What the console must do after a key or an update.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Send this request to the agent.
    Send(Request),
    /// Leave.
    Quit,
}

/// The console's whole state.
#[derive(Debug)]
pub struct App {
    /// The time the screen shows ages against (set by the caller: a fixed one in tests).
    pub now: Timestamp,
    /// Refuse and hide mutating keys.
    pub read_only: bool,
    /// The socket, for the status bar.
    pub socket: String,
    /// Where the session stands.
    pub connection: ConnectionState,
    /// The view shown.
    pub view: View,
    /// The view to go back to from the help.
    help_return: View,
    /// What the keyboard does.
    pub mode: Mode,
    /// The agent's last snapshot.
    pub status: Option<StatusSnapshot>,
    inventory: Vec<InventoryRow>,
    inventory_index: HashMap<(String, u64), usize>,
    /// Whether the full inventory list arrived since the last (re)connection.
    pub inventory_loaded: bool,
    /// The inventory's sort order.
    pub inventory_sort: InventorySort,
    jobs: Vec<JobSummary>,
    dead: Vec<DeadLetterSummary>,
    causes: Vec<CauseCount>,
    /// The selected dead letter's detail, when it arrived.
    pub detail: Option<DeadLetterDetail>,
    /// The dead letter whose detail was last asked for (asked once per selection).
    detail_asked: Option<JobId>,
    /// Marked dead letters (kept across filters: the confirmation counts the hidden ones).
    pub marks: BTreeSet<JobId>,
    filters: HashMap<View, String>,
    /// Per view: indices into its rows that pass the filter, in display order.
    visible: HashMap<View, Vec<usize>>,
    selected: HashMap<View, usize>,
    /// Per view: the first row shown (render keeps the selection on screen).
    offsets: [Cell<usize>; 6],
    /// How many rows the last rendered list showed (for page up and down).
    page: Cell<usize>,
    /// The last answer or refusal.
    pub notice: Option<Notice>,
    /// The answer to the last reconcile request.
    pub reconcile: Option<Notice>,
    /// The latest finished report of each dimension.
    pub parity: Vec<LatestParity>,
    /// The latest reconciliation runs, newest first.
    pub runs: Vec<ParityRun>,
    /// The mismatches of [`App::mismatch_run`], in the order found.
    mismatches: Vec<Mismatch>,
    /// The run the mismatches belong to.
    pub mismatch_run: Option<u64>,
    /// Views whose visible rows must be rebuilt before the next frame.
    stale: Vec<View>,
    /// Inventory rows changed by deltas since the last frame (placed one by one).
    changed_rows: Vec<usize>,
}

impl App {
    /// A console not yet connected.
    pub fn new(socket: String, read_only: bool, now: Timestamp) -> App {
        App {
            now,
            read_only,
            socket,
            connection: ConnectionState::Connecting { attempt: 1 },
            view: View::Overview,
            help_return: View::Overview,
            mode: Mode::Normal,
            status: None,
            inventory: Vec::new(),
            inventory_index: HashMap::new(),
            inventory_loaded: false,
            inventory_sort: InventorySort::Delta,
            jobs: Vec::new(),
            dead: Vec::new(),
            causes: Vec::new(),
            detail: None,
            detail_asked: None,
            marks: BTreeSet::new(),
            filters: HashMap::new(),
            visible: HashMap::new(),
            selected: HashMap::new(),
            offsets: Default::default(),
            page: Cell::new(10),
            notice: None,
            reconcile: None,
            parity: Vec::new(),
            runs: Vec::new(),
            mismatches: Vec::new(),
            mismatch_run: None,
            stale: vec![
                View::Overview,
                View::Inventory,
                View::Queue,
                View::DeadLetters,
            ],
            changed_rows: Vec::new(),
        }
    }

    // ---- reading, for the views ------------------------------------------------------

    /// The filter typed for `view` ("" for none).
    pub fn filter(&self, view: View) -> &str {
        self.filters.get(&view).map_or("", String::as_str)
    }

    /// The selected row of `view` (an index into its visible rows).
    pub fn selected(&self, view: View) -> usize {
        self.selected.get(&view).copied().unwrap_or(0)
    }

    /// Indices of `view`'s rows that pass the filter, in display order.
    pub fn visible(&self, view: View) -> &[usize] {
        self.visible.get(&view).map_or(&[], Vec::as_slice)
    }

    /// Every inventory row the console holds (unsorted).
    pub fn inventory(&self) -> &[InventoryRow] {
        &self.inventory
    }

    /// The jobs of the queue view.
    pub fn jobs(&self) -> &[JobSummary] {
        &self.jobs
    }

    /// The dead letters loaded (newest first).
    pub fn dead_letters(&self) -> &[DeadLetterSummary] {
        &self.dead
    }

    /// Dead letters by flow and cause.
    pub fn causes(&self) -> &[CauseCount] {
        &self.causes
    }

    /// The flows as the overview lists them.
    pub fn flows(&self) -> &[plumb_common::protocol::FlowStatus] {
        self.status.as_ref().map_or(&[], |s| s.flows.as_slice())
    }

    /// The row index of `view` the selection is on, if any.
    fn selected_row(&self, view: View) -> Option<usize> {
        self.visible(view).get(self.selected(view)).copied()
    }

    /// The selected flow of the overview.
    pub fn selected_flow(&self) -> Option<FlowKind> {
        self.selected_row(View::Overview)
            .and_then(|i| self.flows().get(i))
            .map(|f| f.flow)
    }

    /// The selected dead letter.
    pub fn selected_dead_letter(&self) -> Option<&DeadLetterSummary> {
        self.selected_row(View::DeadLetters)
            .and_then(|i| self.dead.get(i))
    }

    /// The latest run's mismatches the console holds.
    pub fn mismatches(&self) -> &[Mismatch] {
        &self.mismatches
    }

    /// The selected mismatch, if any.
    pub fn selected_mismatch(&self) -> Option<&Mismatch> {
        self.selected_row(View::Parity)
            .and_then(|i| self.mismatches.get(i))
    }

    /// Queues the repair of the selected mismatch, when it has one not queued yet.
    fn repair_selected(&mut self) -> Vec<Effect> {
        let (Some(run), Some(mismatch)) = (self.mismatch_run, self.selected_mismatch()) else {
            return Vec::new();
        };
        let refusal = if mismatch.repair.is_none() {
            Some("this mismatch needs a person: the normal write path cannot repair it")
        } else if mismatch.repaired {
            Some("a repair of this mismatch is already queued")
        } else {
            None
        };
        if let Some(text) = refusal {
            self.notice = Some(Notice {
                text: text.into(),
                error: true,
            });
            return Vec::new();
        }
        vec![Effect::Send(Request::RepairMismatches {
            run,
            selection: MismatchSelection::Ids {
                ids: vec![mismatch.id],
            },
        })]
    }

    /// The first row to draw for a list of `height` rows in `view`, keeping the selection
    /// on screen; remembered so scrolling moves the window only when it must.
    pub fn scroll(&self, view: View, height: usize, len: usize) -> usize {
        let cell = &self.offsets[view.index()];
        let selected = self.selected(view);
        let mut offset = cell.get();
        if height == 0 {
            return offset;
        }
        if selected < offset {
            offset = selected;
        } else if selected >= offset + height {
            offset = selected + 1 - height;
        }
        offset = offset.min(len.saturating_sub(height)).min(selected);
        cell.set(offset);
        self.page.set(height.max(1));
        offset
    }

    // ---- preparing, before a frame ---------------------------------------------------

    /// Recomputes the filtered and sorted rows of the views whose data, filter or sort
    /// changed since the last call. Called once before each frame, not per event. An
    /// inventory delta moves its one row into place (a scan and a binary search), so a
    /// stream of deltas never re-sorts 100,000 rows; a new filter or sort does, once.
    pub fn prepare(&mut self) {
        let stale = std::mem::take(&mut self.stale);
        let mut changed = std::mem::take(&mut self.changed_rows);
        for view in [
            View::Overview,
            View::Inventory,
            View::Queue,
            View::DeadLetters,
            View::Parity,
        ] {
            let inventory = view == View::Inventory;
            // Many changes at once: one sort is cheaper than placing each.
            let many = changed.len() > self.visible(View::Inventory).len() / 16 + 64;
            if stale.contains(&view) || (inventory && many) {
                self.rebuild(view);
            } else if inventory && !changed.is_empty() {
                changed.sort_unstable();
                changed.dedup();
                self.place_rows(&changed);
            } else {
                continue;
            }
            let len = self.visible(view).len();
            let selected = self.selected.entry(view).or_insert(0);
            *selected = (*selected).min(len.saturating_sub(1));
        }
    }

    /// Marks `view`'s visible rows for a rebuild before the next frame.
    fn touch(&mut self, view: View) {
        if !self.stale.contains(&view) {
            self.stale.push(view);
        }
    }

    fn rebuild(&mut self, view: View) {
        let filter = self.filter(view).to_lowercase();
        let mut rows: Vec<usize> = match view {
            View::Overview => (0..self.flows().len())
                .filter(|&i| matches(&filter, || self.flows()[i].flow.as_str().to_owned()))
                .collect(),
            View::Inventory => (0..self.inventory.len())
                .filter(|&i| matches(&filter, || inventory_text(&self.inventory[i])))
                .collect(),
            View::Queue => (0..self.jobs.len())
                .filter(|&i| matches(&filter, || job_text(&self.jobs[i])))
                .collect(),
            View::Parity => (0..self.mismatches.len())
                .filter(|&i| matches(&filter, || mismatch_text(&self.mismatches[i])))
                .collect(),
            _ => (0..self.dead.len())
                .filter(|&i| matches(&filter, || dead_text(&self.dead[i])))
                .collect(),
        };
        if view == View::Inventory {
            rows.sort_unstable_by(|&a, &b| self.inventory_order(a, b));
        }
        self.visible.insert(view, rows);
    }

    /// Moves each changed inventory row (`changed` sorted) to its place in the sorted,
    /// filtered order.
    fn place_rows(&mut self, changed: &[usize]) {
        let filter = self.filter(View::Inventory).to_lowercase();
        let mut rows = self.visible.remove(&View::Inventory).unwrap_or_default();
        // All changed rows out first: what stays is in order, so binary search holds.
        rows.retain(|r| changed.binary_search(r).is_err());
        for &i in changed.iter().filter(|&&i| i < self.inventory.len()) {
            if matches(&filter, || inventory_text(&self.inventory[i])) {
                let at = rows.partition_point(|&r| self.inventory_order(r, i) == Ordering::Less);
                rows.insert(at, i);
            }
        }
        self.visible.insert(View::Inventory, rows);
    }

    /// The inventory's display order (total: SKU and location are unique).
    fn inventory_order(&self, a: usize, b: usize) -> Ordering {
        let (x, y) = (&self.inventory[a], &self.inventory[b]);
        let place = || x.sku.cmp(&y.sku).then(x.location.cmp(&y.location));
        let status = || status_rank(x.status).cmp(&status_rank(y.status));
        match self.inventory_sort {
            InventorySort::Delta => {
                let size = |row: &InventoryRow| row.delta.map_or(0, i64::unsigned_abs);
                size(y).cmp(&size(x)).then_with(status).then_with(place)
            }
            InventorySort::Sku => place(),
            InventorySort::Status => status().then_with(place),
        }
    }

    // ---- agent updates ---------------------------------------------------------------

    /// Folds one update from the session into the state.
    pub fn on_update(&mut self, update: Update) -> Vec<Effect> {
        match update {
            Update::Connection(state) => {
                let connected = matches!(state, ConnectionState::Connected { .. });
                self.connection = state;
                if connected {
                    self.inventory_loaded = false;
                    self.detail_asked = None;
                    return self.reload();
                }
                Vec::new()
            }
            Update::Event(event) => self.on_event(event),
            Update::Answer { request, result } => self.on_answer(request, result),
        }
    }

    /// Everything to ask after (re)connecting.
    fn reload(&self) -> Vec<Effect> {
        let mut effects = vec![
            Effect::Send(inventory_page(None)),
            Effect::Send(dead_letters_request()),
            Effect::Send(jobs_request()),
        ];
        effects.extend(parity_requests());
        effects
    }

    fn on_event(&mut self, event: Event) -> Vec<Effect> {
        match event {
            Event::Stats(snapshot) => self.on_snapshot(snapshot, false),
            Event::Resync(snapshot) => {
                let mut effects = self.on_snapshot(snapshot, true);
                effects.push(Effect::Send(inventory_page(None)));
                effects
            }
            Event::Job(_) => {
                if self.view == View::Queue {
                    vec![Effect::Send(jobs_request())]
                } else {
                    Vec::new()
                }
            }
            Event::DeadLetter(_) => vec![Effect::Send(dead_letters_request())],
            Event::InventoryDelta(row) => {
                let i = self.upsert_inventory(row);
                self.changed_rows.push(i);
                Vec::new()
            }
            Event::ParityRun(run) => {
                let finished = run.state != RunState::Running;
                match self.runs.iter_mut().find(|r| r.id == run.id) {
                    Some(known) => *known = run,
                    None => {
                        self.runs.insert(0, run);
                        self.runs.sort_by_key(|r| std::cmp::Reverse(r.id));
                        self.runs.truncate(RUNS_SHOWN as usize);
                    }
                }
                // A finished run (or repairs queued) changes the reports and mismatches.
                if finished {
                    parity_requests()
                } else {
                    Vec::new()
                }
            }
        }
    }

    fn on_snapshot(&mut self, snapshot: StatusSnapshot, force: bool) -> Vec<Effect> {
        let mut effects = Vec::new();
        let dead_changed = self.status.as_ref().is_none_or(|old| {
            old.dead_letters != snapshot.dead_letters
                || old.dead_letter_causes != snapshot.dead_letter_causes
        });
        if force || dead_changed {
            effects.push(Effect::Send(dead_letters_request()));
        }
        if force || self.view == View::Queue {
            effects.push(Effect::Send(jobs_request()));
        }
        self.status = Some(snapshot);
        self.touch(View::Overview);
        effects
    }

    /// Stores a row; returns its index.
    fn upsert_inventory(&mut self, row: InventoryRow) -> usize {
        let key = (row.sku.clone(), row.location);
        match self.inventory_index.get(&key) {
            Some(&i) => {
                self.inventory[i] = row;
                i
            }
            None => {
                let i = self.inventory.len();
                self.inventory_index.insert(key, i);
                self.inventory.push(row);
                i
            }
        }
    }

    fn on_answer(
        &mut self,
        request: Request,
        result: Result<Response, RequestError>,
    ) -> Vec<Effect> {
        let response = match result {
            Ok(response) => response,
            Err(error) => {
                let text = format!("{}: {}", describe(&request), error_text(&error));
                if matches!(request, Request::Reconcile { .. }) {
                    self.reconcile = Some(Notice {
                        text: text.clone(),
                        error: true,
                    });
                }
                self.notice = Some(Notice { text, error: true });
                return Vec::new();
            }
        };
        match (request, response) {
            (_, Response::Status(snapshot)) => self.on_snapshot(snapshot, false),
            (Request::ListInventory(query), Response::Inventory(page)) => {
                if query.after.is_none() {
                    self.inventory.clear();
                    self.inventory_index.clear();
                }
                for row in page.items {
                    self.upsert_inventory(row);
                }
                self.touch(View::Inventory);
                match page.next {
                    Some(next) => vec![Effect::Send(inventory_page(Some(next)))],
                    None => {
                        self.inventory_loaded = true;
                        Vec::new()
                    }
                }
            }
            (_, Response::Jobs(page)) => {
                self.jobs = page.items;
                self.touch(View::Queue);
                Vec::new()
            }
            (_, Response::DeadLetters(page)) => {
                self.dead = page.page.items;
                self.causes = page.causes;
                self.touch(View::DeadLetters);
                let ids: BTreeSet<JobId> = self.dead.iter().map(|d| d.id).collect();
                self.marks.retain(|id| ids.contains(id));
                if self
                    .detail
                    .as_ref()
                    .is_some_and(|d| !ids.contains(&d.summary.id))
                {
                    self.detail = None;
                    self.detail_asked = None;
                }
                // The selection may now be on another letter: ask for its detail.
                self.prepare();
                self.detail_request()
            }
            (_, Response::DeadLetter(detail)) => {
                self.detail = Some(detail);
                Vec::new()
            }
            (request, Response::Affected { count }) => {
                let verb = match request {
                    Request::DiscardDeadLetters { .. } => "discarded",
                    _ => "retried",
                };
                self.notice = Some(Notice {
                    text: format!("{count} dead letter{} {verb}", plural(count)),
                    error: false,
                });
                self.marks.clear();
                vec![Effect::Send(dead_letters_request())]
            }
            (_, Response::Flow { flow, paused_since }) => {
                if let Some(status) = self.status.as_mut()
                    && let Some(entry) = status.flows.iter_mut().find(|f| f.flow == flow)
                {
                    entry.paused_since = paused_since;
                }
                let state = if paused_since.is_some() {
                    "paused"
                } else {
                    "resumed"
                };
                self.notice = Some(Notice {
                    text: format!("{flow} {state}"),
                    error: false,
                });
                Vec::new()
            }
            (Request::RepairMismatches { run, .. }, Response::Queued { job }) => {
                let text = format!("repair of run {run}'s mismatch queued as job {job}");
                self.reconcile = Some(Notice {
                    text: text.clone(),
                    error: false,
                });
                self.notice = Some(Notice { text, error: false });
                Vec::new()
            }
            (request, Response::Queued { job }) => {
                let dry = matches!(request, Request::Reconcile { dry_run: true });
                let text = format!(
                    "reconciliation{} queued as job {job} at {}",
                    if dry { " (dry run)" } else { "" },
                    clock(self.now)
                );
                self.reconcile = Some(Notice {
                    text: text.clone(),
                    error: false,
                });
                self.notice = Some(Notice { text, error: false });
                Vec::new()
            }
            (_, Response::Inventory(_)) => Vec::new(),
            (_, Response::ParityLatest { dimensions }) => {
                self.parity = dimensions;
                Vec::new()
            }
            (_, Response::ParityRuns(page)) => {
                self.runs = page.items;
                Vec::new()
            }
            (request, Response::Mismatches(page)) => {
                let first = matches!(&request, Request::ListMismatches(q) if q.after.is_none());
                if first {
                    self.mismatches.clear();
                }
                self.mismatch_run = page.run;
                self.mismatches.extend(page.items);
                self.touch(View::Parity);
                match page.next {
                    Some(after) if self.mismatches.len() < MISMATCHES_HELD => {
                        vec![Effect::Send(mismatch_page(Some(after), page.run))]
                    }
                    _ => Vec::new(),
                }
            }
        }
    }

    /// Asks for the selected dead letter's detail if it was not asked for yet.
    fn detail_request(&mut self) -> Vec<Effect> {
        match self.selected_dead_letter().map(|letter| letter.id) {
            Some(id) if self.detail_asked != Some(id) => {
                self.detail_asked = Some(id);
                vec![Effect::Send(Request::ShowDeadLetter { id })]
            }
            _ => Vec::new(),
        }
    }

    // ---- keys ------------------------------------------------------------------------

    /// Handles one key press.
    pub fn on_key(&mut self, key: Key) -> Vec<Effect> {
        let effects = match std::mem::replace(&mut self.mode, Mode::Normal) {
            Mode::Normal => self.on_normal_key(key),
            Mode::Filter => self.on_filter_key(key),
            Mode::Command(text) => self.on_command_key(key, text),
            Mode::Confirm(confirmation) => self.on_confirm_key(key, confirmation),
        };
        self.prepare();
        let mut effects = effects;
        if self.view == View::DeadLetters && self.mode == Mode::Normal {
            effects.extend(self.detail_request());
        }
        effects
    }

    fn on_filter_key(&mut self, key: Key) -> Vec<Effect> {
        self.touch(self.view);
        let filter = self.filters.entry(self.view).or_default();
        match key {
            Key::Enter => {}
            Key::Esc => {
                filter.clear();
            }
            Key::Backspace => {
                filter.pop();
                self.mode = Mode::Filter;
            }
            Key::Char(c) => {
                filter.push(c);
                self.mode = Mode::Filter;
            }
            _ => self.mode = Mode::Filter,
        }
        self.selected.insert(self.view, 0);
        Vec::new()
    }

    fn on_command_key(&mut self, key: Key, mut text: String) -> Vec<Effect> {
        match key {
            Key::Esc => Vec::new(),
            Key::Enter => self.run_command(text.trim()),
            Key::Backspace => {
                if text.pop().is_some() {
                    self.mode = Mode::Command(text);
                }
                Vec::new()
            }
            Key::Char(c) => {
                text.push(c);
                self.mode = Mode::Command(text);
                Vec::new()
            }
            _ => {
                self.mode = Mode::Command(text);
                Vec::new()
            }
        }
    }

    fn run_command(&mut self, command: &str) -> Vec<Effect> {
        if matches!(command, "q" | "quit" | "exit") {
            return vec![Effect::Quit];
        }
        match View::from_command(command) {
            Some(view) => self.go_to(view),
            None => {
                self.notice = Some(Notice {
                    text: format!(
                        "unknown command :{command} (try :overview :inventory :queue :dlq :parity :help :quit)"
                    ),
                    error: true,
                });
            }
        }
        Vec::new()
    }

    fn on_confirm_key(&mut self, key: Key, confirmation: Confirmation) -> Vec<Effect> {
        match key {
            Key::Char('y') | Key::Enter => vec![Effect::Send(confirmation.request)],
            Key::Char('n') | Key::Esc | Key::Char('q') => {
                self.notice = Some(Notice {
                    text: "cancelled".into(),
                    error: false,
                });
                Vec::new()
            }
            _ => {
                self.mode = Mode::Confirm(confirmation);
                Vec::new()
            }
        }
    }

    fn go_to(&mut self, view: View) {
        if view == View::Help && self.view != View::Help {
            self.help_return = self.view;
        }
        self.view = view;
    }

    fn on_normal_key(&mut self, key: Key) -> Vec<Effect> {
        let Some(binding) = keys::lookup(key, self.view) else {
            return Vec::new();
        };
        if binding.mutating && self.read_only {
            self.notice = Some(Notice {
                text: format!(
                    "read-only console: {} ({}) is disabled",
                    binding.label, binding.hint
                ),
                error: true,
            });
            return Vec::new();
        }
        match binding.action {
            Action::Quit => return vec![Effect::Quit],
            Action::Help => {
                if self.view == View::Help {
                    self.view = self.help_return;
                } else {
                    self.go_to(View::Help);
                }
            }
            Action::Filter => self.mode = Mode::Filter,
            Action::Command => self.mode = Mode::Command(String::new()),
            Action::Escape => {
                if self.view == View::Help {
                    self.view = self.help_return;
                } else if !self.filter(self.view).is_empty() {
                    self.filters.remove(&self.view);
                    self.touch(self.view);
                } else {
                    self.marks.clear();
                }
            }
            Action::Up => self.move_by(-1),
            Action::Down => self.move_by(1),
            Action::PageUp => self.move_by(-(self.page.get() as isize)),
            Action::PageDown => self.move_by(self.page.get() as isize),
            Action::Top => self.move_by(isize::MIN / 2),
            Action::Bottom => self.move_by(isize::MAX / 2),
            Action::NextView => {
                let next = (self.view.index() + 1) % View::ALL.len();
                self.go_to(View::ALL[next]);
            }
            Action::PreviousView => {
                let previous = (self.view.index() + View::ALL.len() - 1) % View::ALL.len();
                self.go_to(View::ALL[previous]);
            }
            Action::GoTo(view) => self.go_to(view),
            Action::Sort => {
                self.touch(View::Inventory);
                self.inventory_sort = match self.inventory_sort {
                    InventorySort::Delta => InventorySort::Sku,
                    InventorySort::Sku => InventorySort::Status,
                    InventorySort::Status => InventorySort::Delta,
                };
            }
            Action::Mark => {
                if let Some(id) = self.selected_dead_letter().map(|d| d.id) {
                    if !self.marks.remove(&id) {
                        self.marks.insert(id);
                    }
                    self.move_by(1);
                }
            }
            Action::TogglePause => {
                if let Some(flow) = self.selected_flow() {
                    let paused = self
                        .status
                        .as_ref()
                        .and_then(|s| s.flow(flow))
                        .is_some_and(|f| f.paused_since.is_some());
                    let request = if paused {
                        Request::Resume { flow }
                    } else {
                        Request::Pause { flow }
                    };
                    return vec![Effect::Send(request)];
                }
            }
            Action::Retry => return self.act_on_letters(false),
            Action::Discard => return self.act_on_letters(true),
            Action::RetryGroup => self.confirm_group(false),
            Action::DiscardGroup => self.confirm_group(true),
            Action::Reconcile => {
                self.mode = Mode::Confirm(Confirmation {
                    title: "Queue a reconciliation run that repairs?".into(),
                    lines: vec![
                        "Compares both sides and repairs what differs through the normal".into(),
                        "write path. Use d in the Parity view for a dry run.".into(),
                    ],
                    request: Request::Reconcile { dry_run: false },
                });
            }
            Action::ReconcileDryRun => {
                return vec![Effect::Send(Request::Reconcile { dry_run: true })];
            }
            Action::RepairMismatch => return self.repair_selected(),
        }
        Vec::new()
    }

    fn move_by(&mut self, delta: isize) {
        let len = self.visible(self.view).len();
        let row = if self.view == View::Help {
            keys::help(self.read_only).count()
        } else {
            len
        };
        let current = self.selected(self.view) as isize;
        let last = row.saturating_sub(1) as isize;
        let next = current.saturating_add(delta).clamp(0, last.max(0));
        self.selected.insert(self.view, next as usize);
    }

    /// Retry or discard: the marked letters if any, else the selected one. A single
    /// retry goes at once; a bulk action or any discard asks first.
    fn act_on_letters(&mut self, discard: bool) -> Vec<Effect> {
        let verb = if discard { "Discard" } else { "Retry" };
        if self.marks.is_empty() {
            let Some(letter) = self.selected_dead_letter() else {
                return Vec::new();
            };
            let selection = DeadLetterSelection::Ids {
                ids: vec![letter.id],
            };
            if !discard {
                return vec![Effect::Send(Request::RetryDeadLetters { selection })];
            }
            self.mode = Mode::Confirm(Confirmation {
                title: format!("Discard dead letter {}?", letter.id),
                lines: vec![
                    format!("{} / {}: {}", letter.flow, letter.cause, letter.message),
                    "It is removed for good (the agent keeps an audit record).".into(),
                ],
                request: Request::DiscardDeadLetters { selection },
            });
            return Vec::new();
        }
        let shown: BTreeSet<JobId> = self
            .visible(View::DeadLetters)
            .iter()
            .filter_map(|&i| self.dead.get(i))
            .map(|d| d.id)
            .collect();
        let hidden = self.marks.iter().filter(|id| !shown.contains(id)).count();
        let count = self.marks.len();
        let mut lines = vec![format!(
            "{count} marked dead letter{}, {hidden} of them hidden by the filter.",
            plural(count as u64)
        )];
        if discard {
            lines.push("They are removed for good (the agent keeps an audit record).".into());
        }
        let selection = DeadLetterSelection::Ids {
            ids: self.marks.iter().copied().collect(),
        };
        self.mode = Mode::Confirm(Confirmation {
            title: format!("{verb} {count} marked dead letter{}?", plural(count as u64)),
            lines,
            request: if discard {
                Request::DiscardDeadLetters { selection }
            } else {
                Request::RetryDeadLetters { selection }
            },
        });
        Vec::new()
    }

    fn confirm_group(&mut self, discard: bool) {
        let Some(letter) = self.selected_dead_letter() else {
            return;
        };
        let (flow, cause) = (letter.flow, letter.cause.clone());
        let total = self
            .causes
            .iter()
            .find(|c| c.flow == flow && c.cause == cause)
            .map_or(0, |c| c.count);
        let shown = self
            .visible(View::DeadLetters)
            .iter()
            .filter_map(|&i| self.dead.get(i))
            .filter(|d| d.flow == flow && d.cause == cause)
            .count() as u64;
        let verb = if discard { "Discard" } else { "Retry" };
        let mut lines = vec![format!(
            "{total} dead letter{} in this group, {} of them not shown (filter or not loaded).",
            plural(total),
            total.saturating_sub(shown)
        )];
        if discard {
            lines.push("They are removed for good (the agent keeps an audit record).".into());
        }
        let selection = DeadLetterSelection::Matching {
            flow: Some(flow),
            cause: Some(cause.clone()),
        };
        self.mode = Mode::Confirm(Confirmation {
            title: format!("{verb} every {flow} / {cause} dead letter?"),
            lines,
            request: if discard {
                Request::DiscardDeadLetters { selection }
            } else {
                Request::RetryDeadLetters { selection }
            },
        });
    }
}

fn matches(filter: &str, text: impl FnOnce() -> String) -> bool {
    filter.is_empty() || text().to_lowercase().contains(filter)
}

fn inventory_text(row: &InventoryRow) -> String {
    format!(
        "{} {} {} {} {}",
        row.sku,
        row.location,
        row.warehouse,
        status_label(row.status),
        row.cause.as_deref().unwrap_or("")
    )
}

fn job_text(job: &JobSummary) -> String {
    format!(
        "{} {} {} {}",
        job.id,
        job.flow,
        job.state,
        job.last_error.as_deref().unwrap_or("")
    )
}

fn mismatch_text(mismatch: &Mismatch) -> String {
    format!(
        "{} {} {} {}",
        mismatch.dimension, mismatch.kind, mismatch.subject, mismatch.detail
    )
}

fn dead_text(letter: &DeadLetterSummary) -> String {
    format!(
        "{} {} {} {}",
        letter.id, letter.flow, letter.cause, letter.message
    )
}

const fn status_rank(status: InventoryStatus) -> u8 {
    match status {
        InventoryStatus::Failing => 0,
        InventoryStatus::Drift => 1,
        InventoryStatus::Pending => 2,
        InventoryStatus::InSync => 3,
    }
}

/// How an inventory status is written on screen and matched by filters.
pub const fn status_label(status: InventoryStatus) -> &'static str {
    match status {
        InventoryStatus::InSync => "in sync",
        InventoryStatus::Pending => "pending",
        InventoryStatus::Failing => "failing",
        InventoryStatus::Drift => "drift",
    }
}

/// `HH:MM:SS` of a timestamp, UTC.
pub fn clock(at: Timestamp) -> String {
    let text = at.to_string();
    text.get(11..19).unwrap_or(&text).to_owned()
}

fn plural(count: u64) -> &'static str {
    if count == 1 { "" } else { "s" }
}

/// What a request does, for messages.
pub fn describe(request: &Request) -> String {
    match request {
        Request::Status | Request::Subscribe => "status".into(),
        Request::ListJobs(_) => "list jobs".into(),
        Request::ListDeadLetters(_) => "list dead letters".into(),
        Request::ShowDeadLetter { id } => format!("show dead letter {id}"),
        Request::RetryDeadLetters { .. } => "retry".into(),
        Request::DiscardDeadLetters { .. } => "discard".into(),
        Request::Pause { flow } => format!("pause {flow}"),
        Request::Resume { flow } => format!("resume {flow}"),
        Request::Reconcile { dry_run: true } => "reconcile (dry run)".into(),
        Request::Reconcile { dry_run: false } => "reconcile".into(),
        Request::ListInventory(_) => "list inventory".into(),
        Request::ParityLatest => "parity".into(),
        Request::ListParityRuns(_) => "list reconciliation runs".into(),
        Request::ListMismatches(_) => "list mismatches".into(),
        Request::RepairMismatches { run, .. } => format!("repair mismatches of run {run}"),
    }
}

/// An agent's refusal as one line.
pub fn error_text(error: &RequestError) -> String {
    let kind = match error.kind {
        plumb_common::protocol::RequestErrorKind::ReadOnly => "read-only",
        plumb_common::protocol::RequestErrorKind::NotFound => "not found",
        plumb_common::protocol::RequestErrorKind::BadRequest => "refused",
        plumb_common::protocol::RequestErrorKind::Unavailable => "unavailable",
    };
    format!("{kind}: {}", error.message)
}

fn inventory_page(after: Option<InventoryKey>) -> Request {
    Request::ListInventory(InventoryQuery {
        after,
        status: None,
        limit: PAGE,
    })
}

fn dead_letters_request() -> Request {
    Request::ListDeadLetters(DeadLetterQuery {
        limit: PAGE,
        ..DeadLetterQuery::default()
    })
}

/// The first page of the latest run's mismatches (`run` `None`), or the next page of the
/// run the first came from, so a run finishing meanwhile does not mix two runs' lists.
fn mismatch_page(after: Option<u64>, run: Option<u64>) -> Request {
    Request::ListMismatches(MismatchQuery {
        run,
        after,
        limit: PAGE,
        ..MismatchQuery::default()
    })
}

/// What the Parity view shows: the latest reports, the runs, the latest mismatches.
fn parity_requests() -> Vec<Effect> {
    vec![
        Effect::Send(Request::ParityLatest),
        Effect::Send(Request::ListParityRuns(ParityRunQuery {
            before: None,
            limit: RUNS_SHOWN,
        })),
        Effect::Send(mismatch_page(None, None)),
    ]
}

fn jobs_request() -> Request {
    Request::ListJobs(JobQuery {
        limit: PAGE,
        ..JobQuery::default()
    })
}

#[cfg(test)]
mod tests;
