//! Queries on a read snapshot, for the control socket, the workers' sleep and the tests.

use redb::{ReadTransaction, ReadableTable};

use plumb_common::protocol::{
    CauseCount, DeadLetterDetail, DeadLetterPage, DeadLetterQuery, DeadLetterSummary, JobQuery,
    JobSummary, MAX_PAYLOAD_PREVIEW, Page,
};
use plumb_common::{FlowKind, JobId, JobState, Timestamp};

use super::records::{self, JobRecord, StoredState};
use super::schema::{
    CURSORS, DEAD, DEDUP, DONE, ITEM_SKUS, JOBS, META, META_COMPLETED_TOTAL, PAYLOADS, PENDING,
    SHOPIFY_LEVELS, SKU_MAPPINGS,
};
use super::{SkuMapping, Store, StoreError};

/// The most rows one page returns, whatever the client asks.
pub const MAX_PAGE: u32 = 1_000;

fn page_limit(asked: u32) -> usize {
    asked.clamp(1, MAX_PAGE) as usize
}

fn load(txn: &ReadTransaction, id: JobId) -> Result<Option<JobRecord>, StoreError> {
    let jobs = txn.open_table(JOBS)?;
    let found = match jobs.get(id.0)? {
        Some(bytes) => Some(records::decode("jobs", id.0, bytes.value())?),
        None => None,
    };
    Ok(found)
}

impl Store {
    /// Jobs oldest first; by default the live ones (pending and in flight).
    pub async fn list_jobs(&self, query: JobQuery) -> Result<Page<JobSummary>, StoreError> {
        self.read(move |txn| {
            let limit = page_limit(query.limit);
            let start = query.after.map_or(0, |id| id.0.saturating_add(1));
            let mut items = Vec::new();
            let mut next = None;
            if query.state == Some(JobState::Done) {
                let done = txn.open_table(DONE)?;
                for entry in done.range(start..)? {
                    let (id, value) = entry?;
                    let (at, code) = value.value();
                    let Some(flow) = FlowKind::from_code(code) else {
                        continue;
                    };
                    if query.flow.is_some_and(|f| f != flow) {
                        continue;
                    }
                    if items.len() == limit {
                        next = items.last().map(|j: &JobSummary| j.id);
                        break;
                    }
                    items.push(JobSummary {
                        id: JobId(id.value()),
                        flow,
                        state: JobState::Done,
                        attempts: 0,
                        created_at: Timestamp(at),
                        due_at: None,
                        last_error: None,
                    });
                }
                return Ok(Page { items, next });
            }
            let jobs = txn.open_table(JOBS)?;
            for entry in jobs.range(start..)? {
                let (key, bytes) = entry?;
                let id = JobId(key.value());
                let record: JobRecord = records::decode("jobs", id.0, bytes.value())?;
                let state = record.state.public();
                let state_ok = match query.state {
                    Some(wanted) => wanted == state,
                    None => record.state != StoredState::Dead,
                };
                if !state_ok || query.flow.is_some_and(|f| f != record.flow) {
                    continue;
                }
                if items.len() == limit {
                    next = items.last().map(|j: &JobSummary| j.id);
                    break;
                }
                items.push(record.summary(id));
            }
            Ok(Page { items, next })
        })
        .await
    }

    /// Dead letters newest first, and their counts by cause. Both come from one read
    /// snapshot so the page and its counts always agree; the writer's in-memory counters
    /// are a different moment. The scan is bounded by `queue.max_dead_letters`.
    pub async fn list_dead_letters(
        &self,
        query: DeadLetterQuery,
    ) -> Result<DeadLetterPage, StoreError> {
        self.read(move |txn| {
            let limit = page_limit(query.limit);
            let dead = txn.open_table(DEAD)?;
            let jobs = txn.open_table(JOBS)?;
            let upper = match query.before {
                Some(id) => {
                    let record = load(txn, id)?.ok_or(StoreError::NotFound(id))?;
                    (record.failure.map_or(0, |f| f.last_failed_at.0), id.0)
                }
                None => (u64::MAX, u64::MAX),
            };
            let mut items = Vec::new();
            let mut next = None;
            let mut causes: std::collections::BTreeMap<(FlowKind, String), u64> =
                Default::default();
            for entry in dead.iter()?.rev() {
                let (key, _) = entry?;
                let (at, id) = key.value();
                let Some(bytes) = jobs.get(id)? else { continue };
                let record: JobRecord = records::decode("jobs", id, bytes.value())?;
                let Some(summary) = record.dead_letter(JobId(id)) else {
                    continue;
                };
                if query.flow.is_some_and(|f| f != summary.flow) {
                    continue;
                }
                *causes
                    .entry((summary.flow, summary.cause.clone()))
                    .or_default() += 1;
                let in_page =
                    (at, id) < upper && query.cause.as_deref().is_none_or(|c| c == summary.cause);
                if !in_page || next.is_some() {
                    continue;
                }
                if items.len() == limit {
                    next = items.last().map(|d: &DeadLetterSummary| d.id);
                    continue;
                }
                items.push(summary);
            }
            let mut causes: Vec<CauseCount> = causes
                .into_iter()
                .map(|((flow, cause), count)| CauseCount { flow, cause, count })
                .collect();
            causes.sort_by_key(|c| std::cmp::Reverse(c.count));
            Ok(DeadLetterPage {
                page: Page { items, next },
                causes,
            })
        })
        .await
    }

    /// One dead letter with its payload.
    pub async fn dead_letter(&self, id: JobId) -> Result<DeadLetterDetail, StoreError> {
        self.read(move |txn| {
            let record = load(txn, id)?.ok_or(StoreError::NotFound(id))?;
            let summary = record.dead_letter(id).ok_or(StoreError::NotFound(id))?;
            let payloads = txn.open_table(PAYLOADS)?;
            let payload = payloads
                .get(id.0)?
                .map(|v| v.value().to_vec())
                .unwrap_or_default();
            let shown = &payload[..payload.len().min(MAX_PAYLOAD_PREVIEW)];
            Ok(DeadLetterDetail {
                summary,
                payload_kind: record.payload_kind,
                payload: String::from_utf8_lossy(shown).into_owned(),
                payload_bytes: payload.len() as u64,
            })
        })
        .await
    }

    /// The raw payload of a job that still has one (pending, in flight or dead).
    pub async fn payload(&self, id: JobId) -> Result<Option<Vec<u8>>, StoreError> {
        self.read(move |txn| {
            let payloads = txn.open_table(PAYLOADS)?;
            let found = payloads.get(id.0)?.map(|v| v.value().to_vec());
            Ok(found)
        })
        .await
    }

    /// Where a job is; `None` if it never existed or its done record was pruned.
    pub async fn job_state(&self, id: JobId) -> Result<Option<JobState>, StoreError> {
        self.read(move |txn| {
            if let Some(record) = load(txn, id)? {
                return Ok(Some(record.state.public()));
            }
            let done = txn.open_table(DONE)?;
            let is_done = done.get(id.0)?.is_some();
            Ok(is_done.then_some(JobState::Done))
        })
        .await
    }

    /// The job a dedup key points to, if remembered.
    pub async fn dedup_job(&self, key: String) -> Result<Option<JobId>, StoreError> {
        self.read(move |txn| {
            let dedup = txn.open_table(DEDUP)?;
            let found = dedup.get(key.as_str())?.map(|v| JobId(v.value().0));
            Ok(found)
        })
        .await
    }

    /// How many jobs ever completed in this store.
    pub async fn completed_total(&self) -> Result<u64, StoreError> {
        self.read(|txn| {
            let meta = txn.open_table(META)?;
            let total = meta.get(META_COMPLETED_TOTAL)?.map_or(0, |v| v.value());
            Ok(total)
        })
        .await
    }

    /// When the next pending job of a flow is due, if any.
    pub async fn next_due(&self, flow: FlowKind) -> Result<Option<Timestamp>, StoreError> {
        self.read(move |txn| {
            let pending = txn.open_table(PENDING)?;
            let code = flow.code();
            let first = pending
                .range((code, 0, 0)..=(code, u64::MAX, u64::MAX))?
                .next()
                .transpose()?
                .map(|(key, _)| Timestamp(key.value().1));
            Ok(first)
        })
        .await
    }

    /// A named cursor.
    pub async fn cursor(&self, name: String) -> Result<Option<Vec<u8>>, StoreError> {
        self.read(move |txn| {
            let cursors = txn.open_table(CURSORS)?;
            let found = cursors.get(name.as_str())?.map(|v| v.value().to_vec());
            Ok(found)
        })
        .await
    }

    /// The last level Shopify reported: (available, updated at).
    pub async fn shopify_level(
        &self,
        inventory_item: u64,
        location: u64,
    ) -> Result<Option<(i64, Timestamp)>, StoreError> {
        self.read(move |txn| {
            let levels = txn.open_table(SHOPIFY_LEVELS)?;
            let found = levels.get((inventory_item, location))?.map(|v| {
                let (available, at) = v.value();
                (available, Timestamp(at))
            });
            Ok(found)
        })
        .await
    }

    /// The cached Shopify ids of each of `skus` that has them.
    pub async fn sku_mappings(&self, skus: Vec<String>) -> Result<Vec<SkuMapping>, StoreError> {
        self.read(move |txn| {
            let table = txn.open_table(SKU_MAPPINGS)?;
            let mut found = Vec::with_capacity(skus.len());
            for sku in skus {
                if let Some(value) = table.get(sku.as_str())? {
                    let (variant_id, inventory_item_id, tracked, at) = value.value();
                    found.push(SkuMapping {
                        sku: sku.clone(),
                        variant_id,
                        inventory_item_id,
                        tracked,
                        refreshed_at: Timestamp(at),
                    });
                }
            }
            Ok(found)
        })
        .await
    }

    /// The SKU of a cached inventory item.
    pub async fn sku_of_item(&self, inventory_item: u64) -> Result<Option<String>, StoreError> {
        self.read(move |txn| {
            let table = txn.open_table(ITEM_SKUS)?;
            let found = table.get(inventory_item)?.map(|v| v.value().to_owned());
            Ok(found)
        })
        .await
    }
}
