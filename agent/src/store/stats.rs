//! The counters the console shows, kept in memory by the writer thread from the changes it
//! commits, and rebuilt from the tables at start. Reading them never touches redb.

use std::collections::{BTreeMap, BTreeSet};

use redb::{ReadTransaction, ReadableTable};

use plumb_common::protocol::{
    CauseCount, FlowStatus, Incident, LastError, MAX_RESOLVED_INCIDENTS, StatusSnapshot,
};
use plumb_common::{FlowKind, JobId, Timestamp};

use super::StoreError;
use super::records::{self, JobRecord, StoredState};
use super::schema::{JOBS, PAUSED};
use super::writer::{Change, Slot};

/// Counts over the last 60 seconds, in one-second buckets.
#[derive(Debug, Clone)]
struct MinuteWindow {
    /// (second since epoch, count) per bucket, indexed by second % 60.
    buckets: [(u64, u64); 60],
}

impl Default for MinuteWindow {
    fn default() -> Self {
        MinuteWindow {
            buckets: [(0, 0); 60],
        }
    }
}

impl MinuteWindow {
    fn add(&mut self, at: Timestamp) {
        let second = at.0 / 1000;
        let bucket = &mut self.buckets[(second % 60) as usize];
        if bucket.0 != second {
            *bucket = (second, 0);
        }
        bucket.1 += 1;
    }

    fn total(&self, now: Timestamp) -> u64 {
        let second = now.0 / 1000;
        self.buckets
            .iter()
            .filter(|(s, _)| *s + 60 > second && *s <= second)
            .map(|(_, n)| n)
            .sum()
    }
}

#[derive(Debug, Default, Clone)]
struct FlowStats {
    pending: u64,
    in_flight: u64,
    dead: u64,
    /// (created at, id) of every pending job: the first is the queue's oldest.
    pending_by_age: BTreeSet<(Timestamp, JobId)>,
    completed: MinuteWindow,
    failed: MinuteWindow,
    last_success: Option<Timestamp>,
    last_error: Option<LastError>,
    paused_since: Option<Timestamp>,
}

/// How long a resolved incident stays in the status snapshot.
const RESOLVED_SHOWN_MS: u64 = 24 * 3_600_000;

/// Every flow's counters, the dead letters by cause, the alert incidents, and when an
/// order last came in.
#[derive(Debug, Default)]
pub struct Stats {
    flows: BTreeMap<FlowKind, FlowStats>,
    dead_causes: BTreeMap<(FlowKind, String), u64>,
    /// Every incident in the store, by id.
    incidents: BTreeMap<u64, Incident>,
    /// When this process last received a new Shopify order (webhook or backfill).
    last_order_received: Option<Timestamp>,
}

impl Stats {
    /// Rebuilds the counters from the tables.
    pub fn load(txn: &ReadTransaction) -> Result<Stats, StoreError> {
        let mut stats = Stats::default();
        let jobs = txn.open_table(JOBS)?;
        for entry in jobs.iter()? {
            let (key, value) = entry?;
            let id = key.value();
            let record: JobRecord = match records::decode("jobs", id, value.value()) {
                Ok(record) => record,
                Err(error) => {
                    tracing::error!(%error, "unreadable job record left out of the counters");
                    continue;
                }
            };
            let slot = match record.state {
                StoredState::Pending => Slot::Pending,
                StoredState::InFlight => Slot::InFlight,
                StoredState::Dead => Slot::Dead {
                    cause: record
                        .failure
                        .as_ref()
                        .map_or_else(String::new, |f| f.cause.clone()),
                },
            };
            stats.enter(record.flow, JobId(id), record.created_at, &slot);
        }
        let paused = txn.open_table(PAUSED)?;
        for entry in paused.iter()? {
            let (flow, since) = entry?;
            if let Some(flow) = FlowKind::from_code(flow.value()) {
                stats.flow(flow).paused_since = Some(Timestamp(since.value()));
            }
        }
        for incident in super::alerts::load_incidents(txn)? {
            stats.incidents.insert(incident.id, incident);
        }
        Ok(stats)
    }

    fn flow(&mut self, flow: FlowKind) -> &mut FlowStats {
        self.flows.entry(flow).or_default()
    }

    fn enter(&mut self, flow: FlowKind, id: JobId, created_at: Timestamp, slot: &Slot) {
        let stats = self.flow(flow);
        match slot {
            Slot::Pending => {
                stats.pending += 1;
                stats.pending_by_age.insert((created_at, id));
            }
            Slot::InFlight => stats.in_flight += 1,
            Slot::Dead { cause } => {
                stats.dead += 1;
                *self.dead_causes.entry((flow, cause.clone())).or_default() += 1;
            }
            Slot::Done => {}
        }
    }

    fn leave(&mut self, flow: FlowKind, id: JobId, created_at: Timestamp, slot: &Slot) {
        let stats = self.flow(flow);
        match slot {
            Slot::Pending => {
                stats.pending = stats.pending.saturating_sub(1);
                stats.pending_by_age.remove(&(created_at, id));
            }
            Slot::InFlight => stats.in_flight = stats.in_flight.saturating_sub(1),
            Slot::Dead { cause } => {
                stats.dead = stats.dead.saturating_sub(1);
                let key = (flow, cause.clone());
                if let Some(count) = self.dead_causes.get_mut(&key) {
                    *count = count.saturating_sub(1);
                    if *count == 0 {
                        self.dead_causes.remove(&key);
                    }
                }
            }
            Slot::Done => {}
        }
    }

    /// Applies one committed change.
    pub fn apply(&mut self, change: &Change) {
        match change {
            Change::Moved {
                id,
                flow,
                created_at,
                from,
                to,
            } => {
                if let Some(from) = from {
                    self.leave(*flow, *id, *created_at, from);
                }
                if let Some(to) = to {
                    self.enter(*flow, *id, *created_at, to);
                }
            }
            Change::Completed { flow, at } => {
                let stats = self.flow(*flow);
                stats.completed.add(*at);
                stats.last_success = Some(*at);
            }
            Change::Failed { flow, at, message } => {
                let stats = self.flow(*flow);
                stats.failed.add(*at);
                stats.last_error = Some(LastError {
                    at: *at,
                    message: message.clone(),
                });
            }
            Change::Paused { flow, since } => self.flow(*flow).paused_since = *since,
            Change::Incident(incident) => {
                self.incidents.insert(incident.id, incident.clone());
            }
            Change::IncidentsPruned(ids) => {
                for id in ids {
                    self.incidents.remove(id);
                }
            }
            Change::Publish(_) => {}
        }
    }

    /// Every incident, by id.
    pub fn incidents(&self) -> Vec<Incident> {
        self.incidents.values().cloned().collect()
    }

    /// Notes that a new order came in at `at`.
    pub fn order_received(&mut self, at: Timestamp) {
        self.last_order_received = self.last_order_received.max(Some(at));
    }

    /// When a new order last came in, since this process started.
    pub fn last_order_received(&self) -> Option<Timestamp> {
        self.last_order_received
    }

    /// The open incidents (oldest first), then those resolved within a day (newest first,
    /// at most [`MAX_RESOLVED_INCIDENTS`]).
    fn shown_incidents(&self, now: Timestamp) -> Vec<Incident> {
        let mut shown: Vec<Incident> = self
            .incidents
            .values()
            .filter(|i| i.resolved_at.is_none())
            .cloned()
            .collect();
        let mut resolved: Vec<&Incident> = self
            .incidents
            .values()
            .filter(|i| {
                i.resolved_at
                    .is_some_and(|at| at.0.saturating_add(RESOLVED_SHOWN_MS) > now.0)
            })
            .collect();
        resolved.sort_by_key(|i| std::cmp::Reverse((i.resolved_at, i.id)));
        shown.extend(resolved.into_iter().take(MAX_RESOLVED_INCIDENTS).cloned());
        shown
    }

    /// Since when a flow is paused, if it is.
    pub fn paused_since(&self, flow: FlowKind) -> Option<Timestamp> {
        self.flows.get(&flow).and_then(|stats| stats.paused_since)
    }

    /// Dead letters by flow and cause, largest groups first.
    fn dead_letter_causes(&self) -> Vec<CauseCount> {
        let mut causes: Vec<CauseCount> = self
            .dead_causes
            .iter()
            .map(|((flow, cause), count)| CauseCount {
                flow: *flow,
                cause: cause.clone(),
                count: *count,
            })
            .collect();
        // Stable: equal counts keep the map's (flow, cause) order.
        causes.sort_by_key(|c| std::cmp::Reverse(c.count));
        causes
    }

    /// The counters as the protocol carries them.
    pub fn snapshot(&self, now: Timestamp, started_at: Timestamp, bound: u64) -> StatusSnapshot {
        let empty = FlowStats::default();
        let flows = FlowKind::ALL
            .into_iter()
            .map(|flow| {
                let stats = self.flows.get(&flow).unwrap_or(&empty);
                FlowStatus {
                    flow,
                    paused_since: stats.paused_since,
                    pending: stats.pending,
                    in_flight: stats.in_flight,
                    oldest_pending: stats.pending_by_age.first().map(|(at, _)| *at),
                    dead: stats.dead,
                    completed_last_minute: stats.completed.total(now),
                    failed_last_minute: stats.failed.total(now),
                    last_success: stats.last_success,
                    last_error: stats.last_error.clone(),
                }
            })
            .collect::<Vec<_>>();
        let causes = self.dead_letter_causes();
        StatusSnapshot {
            agent_version: env!("CARGO_PKG_VERSION").to_owned(),
            started_at,
            taken_at: now,
            dead_letters: flows.iter().map(|f| f.dead).sum(),
            flows,
            dead_letter_bound: bound,
            dead_letter_causes: causes,
            incidents: self.shown_incidents(now),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minute_window_forgets_old_seconds() {
        let mut window = MinuteWindow::default();
        window.add(Timestamp(1_000_000));
        window.add(Timestamp(1_000_500));
        window.add(Timestamp(1_030_000));
        assert_eq!(window.total(Timestamp(1_030_000)), 3);
        assert_eq!(window.total(Timestamp(1_061_000)), 1);
        assert_eq!(window.total(Timestamp(1_091_000)), 0);
        // A bucket reused 60 s later starts from zero.
        window.add(Timestamp(1_060_000));
        assert_eq!(window.total(Timestamp(1_060_000)), 2);
    }
}
