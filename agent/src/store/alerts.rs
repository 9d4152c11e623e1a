//! Alert incidents and the outbox of their messages.
//!
//! # Invariants
//! - An incident opens, and its open message enters the outbox, in one write; it resolves,
//!   and its resolve message enters the outbox, in one write. So a crash never leaves an
//!   incident open without its message queued, and a restart finds the open incidents it
//!   must not announce again.
//! - A message leaves the outbox only in the write that records the endpoint accepted it:
//!   an undelivered message survives restarts, and messages go out in the order they were
//!   queued (an incident's open message before its resolve message).
//! - Resolved incidents whose messages were both delivered are pruned after a while; open
//!   ones never are.
//!
//! An incident is stored as the protocol's [`Incident`] (versioned postcard bytes, like
//! every record): the console shows exactly what the store holds.

use serde::{Deserialize, Serialize};

use redb::{ReadTransaction, ReadableTable};

use plumb_common::Timestamp;
use plumb_common::protocol::{AlertRule, Incident};

use super::records;
use super::schema::{ALERT_OUTBOX, INCIDENTS, META_NEXT_ALERT_MESSAGE_ID, META_NEXT_INCIDENT_ID};
use super::writer::{Change, WriteCtx};
use super::{Store, StoreError};

/// Which message of an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AlertMessageKind {
    /// The incident opened.
    Open,
    /// The incident resolved.
    Resolve,
}

/// A message waiting for the endpoint to accept it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertMessage {
    /// The incident it is about.
    pub incident: u64,
    /// Open or resolve.
    pub kind: AlertMessageKind,
    /// The request body, rendered when the message was queued.
    pub body: Vec<u8>,
    /// When it was queued.
    pub queued_at: Timestamp,
}

/// What opens an incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewIncident {
    /// The rule.
    pub rule: AlertRule,
    /// What it is about, when the rule has several subjects.
    pub subject: Option<String>,
    /// What was found.
    pub summary: String,
}

impl WriteCtx<'_> {
    fn next_meta(&mut self, key: &'static str) -> Result<u64, StoreError> {
        let id = self.t.meta.get(key)?.map_or(1, |v| v.value());
        self.t.meta.insert(key, id + 1)?;
        Ok(id)
    }

    fn incident(&self, id: u64) -> Result<Option<Incident>, StoreError> {
        self.t
            .incidents
            .get(id)?
            .map(|v| records::decode("incidents", id, v.value()))
            .transpose()
    }

    fn put_incident(&mut self, incident: &Incident) -> Result<(), StoreError> {
        self.t
            .incidents
            .insert(incident.id, records::encode(incident)?.as_slice())?;
        self.changes.push(Change::Incident(incident.clone()));
        Ok(())
    }

    /// Stores `incident` as it is now and queues its `kind` message, rendered from it.
    fn change_incident(
        &mut self,
        incident: &Incident,
        kind: AlertMessageKind,
        at: Timestamp,
        render: impl FnOnce(&Incident) -> Vec<u8>,
    ) -> Result<(), StoreError> {
        let message = AlertMessage {
            incident: incident.id,
            kind,
            body: render(incident),
            queued_at: at,
        };
        let message_id = self.next_meta(META_NEXT_ALERT_MESSAGE_ID)?;
        self.t
            .alert_outbox
            .insert(message_id, records::encode(&message)?.as_slice())?;
        self.put_incident(incident)
    }

    /// Opens an incident at `at` and queues its open message, whose body `render` makes
    /// from the incident.
    pub fn open_incident(
        &mut self,
        new: NewIncident,
        at: Timestamp,
        render: impl FnOnce(&Incident) -> Vec<u8>,
    ) -> Result<Incident, StoreError> {
        let incident = Incident {
            id: self.next_meta(META_NEXT_INCIDENT_ID)?,
            rule: new.rule,
            subject: new.subject,
            summary: new.summary,
            opened_at: at,
            resolved_at: None,
            open_delivered: false,
            resolve_delivered: false,
        };
        self.change_incident(&incident, AlertMessageKind::Open, at, render)?;
        Ok(incident)
    }

    /// Resolves open incident `id` at `at` and queues its resolve message. `None` when it
    /// is not open (unknown, or resolved already): nothing is written.
    pub fn resolve_incident(
        &mut self,
        id: u64,
        at: Timestamp,
        render: impl FnOnce(&Incident) -> Vec<u8>,
    ) -> Result<Option<Incident>, StoreError> {
        let Some(mut incident) = self.incident(id)? else {
            return Ok(None);
        };
        if incident.resolved_at.is_some() {
            return Ok(None);
        }
        incident.resolved_at = Some(at);
        self.change_incident(&incident, AlertMessageKind::Resolve, at, render)?;
        Ok(Some(incident))
    }

    /// Records that the endpoint accepted outbox message `message`: it leaves the outbox
    /// and its incident is marked delivered. An unknown message writes nothing.
    pub fn alert_delivered(&mut self, message: u64) -> Result<(), StoreError> {
        let Some(bytes) = self.t.alert_outbox.remove(message)? else {
            return Ok(());
        };
        let sent: AlertMessage = records::decode("alert_outbox", message, bytes.value())?;
        drop(bytes);
        if let Some(mut incident) = self.incident(sent.incident)? {
            match sent.kind {
                AlertMessageKind::Open => incident.open_delivered = true,
                AlertMessageKind::Resolve => incident.resolve_delivered = true,
            }
            self.put_incident(&incident)?;
        }
        Ok(())
    }

    /// Removes resolved incidents resolved before `before` whose messages were delivered.
    pub fn prune_incidents(&mut self, before: Timestamp) -> Result<usize, StoreError> {
        let mut stale = Vec::new();
        for entry in self.t.incidents.iter()? {
            let (key, value) = entry?;
            let id = key.value();
            let incident: Incident = records::decode("incidents", id, value.value())?;
            let done = incident.open_delivered && incident.resolve_delivered;
            if done && incident.resolved_at.is_some_and(|at| at < before) {
                stale.push(id);
            }
        }
        for id in &stale {
            self.t.incidents.remove(*id)?;
        }
        if !stale.is_empty() {
            self.changes.push(Change::IncidentsPruned(stale.clone()));
        }
        Ok(stale.len())
    }
}

/// Every incident in the store, for the counters at start. An unreadable record is
/// logged and left out.
pub(super) fn load_incidents(txn: &ReadTransaction) -> Result<Vec<Incident>, StoreError> {
    let table = txn.open_table(INCIDENTS)?;
    let mut incidents = Vec::new();
    for entry in table.iter()? {
        let (key, value) = entry?;
        let id = key.value();
        match records::decode::<Incident>("incidents", id, value.value()) {
            Ok(incident) => incidents.push(incident),
            Err(error) => tracing::error!(%error, "unreadable incident record left out"),
        }
    }
    Ok(incidents)
}

impl Store {
    /// The oldest message the endpoint has not accepted yet, with its id.
    pub async fn next_alert_message(&self) -> Result<Option<(u64, AlertMessage)>, StoreError> {
        self.read(|txn| {
            let table = txn.open_table(ALERT_OUTBOX)?;
            let first = table.first()?;
            first
                .map(|(key, value)| {
                    let id = key.value();
                    records::decode("alert_outbox", id, value.value()).map(|m| (id, m))
                })
                .transpose()
        })
        .await
    }

    /// Every incident the store holds (open and resolved), from the counters.
    pub fn incidents(&self) -> Vec<Incident> {
        self.lock_stats().incidents()
    }
}
