//! Inventory writes and reads: `inventorySetQuantities` in batches of at most 250 rows with
//! compare-and-swap on every row, `inventoryAdjustQuantities`, and named quantities per
//! item and location.
//!
//! # Invariants
//! - Every row carries `changeFromQuantity`: the quantity the caller believes is current,
//!   or an explicit `null` when the caller chose to skip the check. A stale row is a typed
//!   outcome for the caller to resolve (re-read, decide), never blindly overwritten.
//! - A batch is one mutation with its own idempotency key, derived from the job and the
//!   batch's variables: the same job resending the same batch replays it.
//! - Shopify applies a batch whole or not at all: a batch with user errors changed nothing.

use std::collections::HashMap;

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use plumb_common::JobId;

use super::client::ShopifyClient;
use super::documents::{
    INVENTORY_ADJUST_QUANTITIES, INVENTORY_LEVELS, INVENTORY_SET_QUANTITIES, Operation,
};
use super::error::ShopifyError;
use super::idempotency::idempotency_key_generation;
use super::ids::{Kind, gid, parse_gid_of};
use super::response::UserError;

/// Shopify's cap on input arrays, and so on rows per `inventorySetQuantities` call.
pub const MAX_ROWS_PER_CALL: usize = 250;
/// Fresh keys tried after `IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED` before giving up.
const MAX_KEY_GENERATION: u32 = 2;
/// Items per levels read: about 3 points each, well under the 1,000-point cap per query.
pub const ITEMS_PER_LEVELS_CALL: usize = 100;

/// The quantity names `inventorySetQuantities` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SetName {
    /// `available`: what can be sold. Moves `on_hand` by the same delta.
    #[default]
    Available,
    /// `on_hand`.
    OnHand,
}

impl SetName {
    /// The name Shopify uses.
    pub const fn as_str(self) -> &'static str {
        match self {
            SetName::Available => "available",
            SetName::OnHand => "on_hand",
        }
    }
}

/// One level to set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetRow {
    /// The inventory item (numeric id).
    pub inventory_item_id: u64,
    /// The location (numeric id).
    pub location_id: u64,
    /// The new quantity.
    pub quantity: i64,
    /// The quantity the caller believes Shopify has now; `None` sends an explicit `null`,
    /// which skips the check (only for a caller that is the source of truth and knows it).
    pub change_from_quantity: Option<i64>,
}

/// Why the levels are being set, for the merchant's inventory history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetRequest {
    /// The job on whose behalf the change is made: it names the change in Shopify's
    /// history (`gid://plumb/SyncJob/<id>`) and seeds the idempotency keys.
    pub job: JobId,
    /// Which quantity.
    pub name: SetName,
    /// One of Shopify's reasons, e.g. "correction", "cycle_count_available", "received".
    pub reason: String,
    /// The rows, any number: the client splits them into calls of at most 250.
    pub rows: Vec<SetRow>,
}

impl SetRequest {
    /// Sets `available` for `rows` on behalf of `job`, as a correction.
    pub fn available(job: JobId, rows: Vec<SetRow>) -> SetRequest {
        SetRequest {
            job,
            name: SetName::Available,
            reason: "correction".to_owned(),
            rows,
        }
    }
}

/// The `referenceDocumentUri` for a job.
pub fn reference_document_uri(job: JobId) -> String {
    format!("gid://plumb/SyncJob/{}", job.0)
}

/// What happened to one batch.
#[derive(Debug, Clone, PartialEq)]
pub enum BatchStatus {
    /// Shopify applied every row (or replayed an earlier application of the same key).
    Applied,
    /// Some rows' `changeFromQuantity` no longer matched: nothing in the batch was applied.
    /// Re-read the listed rows (indexes into [`SetRequest::rows`]) and decide.
    Stale {
        /// The stale rows, as indexes into the request's rows.
        rows: Vec<usize>,
    },
    /// Another request with the same key is still running at Shopify: try again later,
    /// with the same key (same job, same rows).
    ConcurrentRequest,
    /// The batch failed; the error says whether a later retry can help.
    Failed(ShopifyError),
}

/// One batch's rows and outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchOutcome {
    /// The batch's rows, as a range of indexes into the request's rows.
    pub rows: std::ops::Range<usize>,
    /// The idempotency key the batch was sent with.
    pub idempotency_key: String,
    /// What happened.
    pub status: BatchStatus,
}

/// What a [`ShopifyClient::set_inventory`] call did, batch by batch, in row order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SetOutcome {
    /// The batches.
    pub batches: Vec<BatchOutcome>,
}

impl SetOutcome {
    /// Rows applied.
    pub fn applied_rows(&self) -> usize {
        self.batches
            .iter()
            .filter(|b| b.status == BatchStatus::Applied)
            .map(|b| b.rows.len())
            .sum()
    }

    /// Whether every batch was applied.
    pub fn all_applied(&self) -> bool {
        self.batches
            .iter()
            .all(|b| b.status == BatchStatus::Applied)
    }

    /// The stale rows of every batch, as indexes into the request's rows.
    pub fn stale_rows(&self) -> Vec<usize> {
        self.batches
            .iter()
            .filter_map(|b| match &b.status {
                BatchStatus::Stale { rows } => Some(rows.iter().copied()),
                _ => None,
            })
            .flatten()
            .collect()
    }

    /// What the job should report when not everything was applied, stale rows aside
    /// (those are the caller's to resolve): a permanent failure if any batch had one, else
    /// a transient one (a batch failed transiently, or Shopify was still running the same
    /// key). `None` when every batch was applied or stale.
    pub fn failure(&self) -> Option<crate::store::Failure> {
        if let Some(error) = self.first_error() {
            return Some(error.clone().into());
        }
        self.batches
            .iter()
            .any(|b| b.status == BatchStatus::ConcurrentRequest)
            .then(|| {
                crate::store::Failure::transient(
                    "shopify_idempotency_concurrent_request",
                    "Shopify is still running an earlier attempt of this change; retry later with the same key",
                )
            })
    }

    /// The first failure, preferring permanent ones (they decide the job's fate).
    pub fn first_error(&self) -> Option<&ShopifyError> {
        let mut errors = self.batches.iter().filter_map(|b| match &b.status {
            BatchStatus::Failed(error) => Some(error),
            _ => None,
        });
        let first = errors.next()?;
        Some(
            std::iter::once(first)
                .chain(errors)
                .find(|e| e.class() == plumb_common::ErrorClass::Permanent)
                .unwrap_or(first),
        )
    }
}

/// Splits `len` rows into consecutive ranges of at most `size` (at least 1).
pub fn batch_ranges(len: usize, size: usize) -> Vec<std::ops::Range<usize>> {
    let size = size.max(1);
    (0..len)
        .step_by(size)
        .map(|start| start..(start + size).min(len))
        .collect()
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct QuantityInput {
    inventory_item_id: String,
    location_id: String,
    quantity: i64,
    /// Always present, `null` included: Shopify refuses a row without it.
    change_from_quantity: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct MutationPayload {
    #[serde(default)]
    user_errors: Vec<UserError>,
}

/// The outcome of one mutation's user errors, for a batch starting at row `offset` whose
/// rows are the input list `list` (`quantities`, `changes`).
fn batch_status(errors: Vec<UserError>, list: &str, offset: usize, len: usize) -> BatchStatus {
    if errors.is_empty() {
        return BatchStatus::Applied;
    }
    if errors
        .iter()
        .any(|e| e.code() == "IDEMPOTENCY_CONCURRENT_REQUEST")
    {
        return BatchStatus::ConcurrentRequest;
    }
    let (stale, other): (Vec<UserError>, Vec<UserError>) = errors
        .into_iter()
        .partition(|e| e.code() == "CHANGE_FROM_QUANTITY_STALE");
    if let Some(first) = other.into_iter().next() {
        return BatchStatus::Failed(first.into_error());
    }
    let mut rows: Vec<usize> = stale
        .iter()
        .filter_map(|e| e.row(list))
        .filter(|row| *row < len)
        .map(|row| row + offset)
        .collect();
    if rows.is_empty() {
        // Shopify did not say which rows: all of them must be re-read.
        rows = (offset..offset + len).collect();
    }
    rows.sort_unstable();
    rows.dedup();
    BatchStatus::Stale { rows }
}

/// The named quantities of one item at one location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventoryLevel {
    /// The inventory item.
    pub inventory_item_id: u64,
    /// The location.
    pub location_id: u64,
    /// Name -> quantity, for the names asked for.
    pub quantities: HashMap<String, i64>,
}

#[derive(Debug, Deserialize)]
struct LevelsData {
    nodes: Vec<Option<LevelsNode>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LevelsNode {
    /// Absent when the id named another type (`nodes` returns `{}` for it).
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    inventory_level: Option<LevelNode>,
}

#[derive(Debug, Deserialize)]
struct LevelNode {
    quantities: Vec<QuantityNode>,
}

#[derive(Debug, Deserialize)]
struct QuantityNode {
    name: String,
    quantity: i64,
}

/// One inventory change by delta.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdjustRow {
    /// The inventory item.
    pub inventory_item_id: u64,
    /// The location.
    pub location_id: u64,
    /// The change.
    pub delta: i64,
    /// The quantity the caller believes is current; `None` skips the check.
    pub change_from_quantity: Option<i64>,
}

impl ShopifyClient {
    /// Sets levels, in calls of at most 250 rows, each with its own idempotency key, paced
    /// by the bucket. Returns every batch's outcome; only an authorisation failure stops
    /// the remaining batches (they would fail the same way) and is returned as `Err`.
    pub async fn set_inventory(&self, request: &SetRequest) -> Result<SetOutcome, ShopifyError> {
        let ranges = batch_ranges(request.rows.len(), MAX_ROWS_PER_CALL);
        let concurrency = self.config().batch_concurrency.max(1);
        let mut outcomes: Vec<BatchOutcome> = futures::stream::iter(ranges)
            .map(|range| self.set_batch(request, range))
            .buffer_unordered(concurrency)
            .collect()
            .await;
        outcomes.sort_by_key(|b| b.rows.start);
        if let Some(error) = outcomes.iter().find_map(|b| match &b.status {
            BatchStatus::Failed(error) if error.is_alert() => Some(error.clone()),
            _ => None,
        }) {
            return Err(error);
        }
        Ok(SetOutcome { batches: outcomes })
    }

    async fn set_batch(&self, request: &SetRequest, range: std::ops::Range<usize>) -> BatchOutcome {
        let rows = request.rows.get(range.clone()).unwrap_or_default();
        let quantities: Vec<QuantityInput> = rows
            .iter()
            .map(|row| QuantityInput {
                inventory_item_id: gid(Kind::InventoryItem, row.inventory_item_id),
                location_id: gid(Kind::Location, row.location_id),
                quantity: row.quantity,
                change_from_quantity: row.change_from_quantity,
            })
            .collect();
        let input = json!({
            "name": request.name.as_str(),
            "reason": request.reason,
            "referenceDocumentUri": reference_document_uri(request.job),
            "quantities": quantities,
        });
        let outcome = self
            .keyed_batch(
                &INVENTORY_SET_QUANTITIES,
                "inventorySetQuantities",
                "quantities",
                request.job,
                input,
                range,
            )
            .await;
        if let BatchStatus::Stale { rows } = &outcome.status {
            tracing::info!(
                job = %request.job,
                stale = rows.len(),
                "inventory batch refused: levels changed since they were read"
            );
        }
        outcome
    }

    /// Sends one batch mutation under its idempotency key. Shopify refuses a key whose
    /// first use failed (`IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED`); that attempt applied
    /// nothing, so the batch is sent again under the key's next generation, a key just as
    /// deterministic, so a later retry of the job finds the same one.
    async fn keyed_batch(
        &self,
        operation: &Operation,
        field: &str,
        list: &str,
        job: JobId,
        input: Value,
        range: std::ops::Range<usize>,
    ) -> BatchOutcome {
        let mut generation = 0;
        loop {
            let key = idempotency_key_generation(job, operation.name, &input, generation);
            let variables = json!({"input": input, "idempotencyKey": key});
            let status = match self.execute_raw(operation, variables).await {
                Ok(data) => match data.get(field).cloned().map(serde_json::from_value) {
                    Some(Ok(MutationPayload { user_errors })) => {
                        let failed_before = user_errors
                            .iter()
                            .any(|e| e.code() == "IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED");
                        if failed_before && generation < MAX_KEY_GENERATION {
                            generation += 1;
                            tracing::info!(%job, generation, "earlier attempt under this key failed; sending under the next key");
                            continue;
                        }
                        batch_status(user_errors, list, range.start, range.len())
                    }
                    Some(Err(e)) => {
                        BatchStatus::Failed(ShopifyError::Shape(format!("{field}: {e}")))
                    }
                    None => {
                        BatchStatus::Failed(ShopifyError::Shape(format!("{field} returned null")))
                    }
                },
                Err(error) => BatchStatus::Failed(error),
            };
            return BatchOutcome {
                rows: range,
                idempotency_key: key,
                status,
            };
        }
    }

    /// Moves `available` (or another name) by deltas, at most 250 rows per call.
    pub async fn adjust_inventory(
        &self,
        job: JobId,
        name: &str,
        reason: &str,
        rows: &[AdjustRow],
    ) -> Result<SetOutcome, ShopifyError> {
        let mut batches = Vec::new();
        for range in batch_ranges(rows.len(), MAX_ROWS_PER_CALL) {
            let changes: Vec<Value> = rows
                .get(range.clone())
                .unwrap_or_default()
                .iter()
                .map(|row| {
                    json!({
                        "inventoryItemId": gid(Kind::InventoryItem, row.inventory_item_id),
                        "locationId": gid(Kind::Location, row.location_id),
                        "delta": row.delta,
                        "changeFromQuantity": row.change_from_quantity,
                    })
                })
                .collect();
            let input = json!({
                "name": name,
                "reason": reason,
                "referenceDocumentUri": reference_document_uri(job),
                "changes": changes,
            });
            let outcome = self
                .keyed_batch(
                    &INVENTORY_ADJUST_QUANTITIES,
                    "inventoryAdjustQuantities",
                    "changes",
                    job,
                    input,
                    range,
                )
                .await;
            if let BatchStatus::Failed(error) = &outcome.status
                && error.is_alert()
            {
                return Err(error.clone());
            }
            batches.push(outcome);
        }
        Ok(SetOutcome { batches })
    }

    /// The named quantities (`available`, `on_hand`, `committed`...) of `items` at each of
    /// `locations`. One call per location and 100 items. An item not stocked at a location
    /// has no entry for it; an id that is not an inventory item is an error.
    pub async fn inventory_levels(
        &self,
        items: &[u64],
        locations: &[u64],
        names: &[&str],
    ) -> Result<Vec<InventoryLevel>, ShopifyError> {
        let mut levels = Vec::new();
        for &location in locations {
            for chunk in items.chunks(ITEMS_PER_LEVELS_CALL) {
                let ids: Vec<String> = chunk.iter().map(|&i| gid(Kind::InventoryItem, i)).collect();
                let variables = json!({
                    "ids": ids,
                    "locationId": gid(Kind::Location, location),
                    "names": names,
                });
                let data: LevelsData = self.execute(&INVENTORY_LEVELS, variables).await?;
                for (asked, node) in chunk.iter().zip(data.nodes) {
                    let Some(node) = node else {
                        return Err(ShopifyError::Invalid(format!(
                            "inventory item {asked} does not exist"
                        )));
                    };
                    let id = node
                        .id
                        .as_deref()
                        .ok_or_else(|| {
                            ShopifyError::Invalid(format!("{asked} is not an inventory item id"))
                        })
                        .and_then(|id| parse_gid_of(Kind::InventoryItem, id))?;
                    if let Some(level) = node.inventory_level {
                        levels.push(InventoryLevel {
                            inventory_item_id: id,
                            location_id: location,
                            quantities: level
                                .quantities
                                .into_iter()
                                .map(|q| (q.name, q.quantity))
                                .collect(),
                        });
                    }
                }
            }
        }
        Ok(levels)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_split_at_250() {
        assert!(batch_ranges(0, 250).is_empty());
        assert_eq!(batch_ranges(1, 250), vec![0..1]);
        assert_eq!(batch_ranges(250, 250), vec![0..250]);
        assert_eq!(batch_ranges(251, 250), vec![0..250, 250..251]);
        let ranges = batch_ranges(10_000, MAX_ROWS_PER_CALL);
        assert_eq!(ranges.len(), 40);
        assert!(ranges.iter().all(|r| r.len() == 250));
        assert_eq!(ranges.last(), Some(&(9_750..10_000)));
    }

    fn user_error(code: &str, field: &[&str]) -> UserError {
        UserError {
            code: Some(code.to_owned()),
            field: Some(field.iter().map(|f| (*f).to_owned()).collect()),
            message: format!("{code} happened"),
        }
    }

    #[test]
    fn stale_rows_are_mapped_to_request_indexes() {
        let errors = vec![
            user_error(
                "CHANGE_FROM_QUANTITY_STALE",
                &["input", "quantities", "3", "changeFromQuantity"],
            ),
            user_error(
                "CHANGE_FROM_QUANTITY_STALE",
                &["input", "quantities", "0", "changeFromQuantity"],
            ),
        ];
        assert_eq!(
            batch_status(errors, "quantities", 250, 250),
            BatchStatus::Stale {
                rows: vec![250, 253]
            }
        );
        let unplaced = vec![user_error("CHANGE_FROM_QUANTITY_STALE", &[])];
        assert_eq!(
            batch_status(unplaced, "quantities", 10, 2),
            BatchStatus::Stale { rows: vec![10, 11] }
        );
    }

    #[test]
    fn concurrent_request_and_other_codes() {
        assert_eq!(
            batch_status(
                vec![user_error("IDEMPOTENCY_CONCURRENT_REQUEST", &[])],
                "quantities",
                0,
                1
            ),
            BatchStatus::ConcurrentRequest
        );
        let status = batch_status(
            vec![
                user_error("CHANGE_FROM_QUANTITY_STALE", &["input", "quantities", "0"]),
                user_error("INVALID_QUANTITY_TOO_HIGH", &["input", "quantities", "1"]),
            ],
            "quantities",
            0,
            2,
        );
        let BatchStatus::Failed(error) = status else {
            panic!("expected a failure, got {status:?}");
        };
        assert_eq!(
            error.cause(),
            "shopify_user_error:INVALID_QUANTITY_TOO_HIGH"
        );
        assert_eq!(error.class(), plumb_common::ErrorClass::Permanent);
        assert_eq!(
            batch_status(Vec::new(), "quantities", 0, 1),
            BatchStatus::Applied
        );
    }

    #[test]
    fn the_outcome_becomes_the_job_failure() {
        let batch = |status| BatchOutcome {
            rows: 0..1,
            idempotency_key: String::new(),
            status,
        };
        let outcome = SetOutcome {
            batches: vec![
                batch(BatchStatus::Applied),
                batch(BatchStatus::Stale { rows: vec![0] }),
            ],
        };
        assert_eq!(outcome.failure(), None);
        let outcome = SetOutcome {
            batches: vec![
                batch(BatchStatus::ConcurrentRequest),
                batch(BatchStatus::Failed(ShopifyError::Timeout)),
                batch(BatchStatus::Failed(ShopifyError::UserError {
                    code: "INVALID_LOCATION".into(),
                    field: vec![],
                    message: "no".into(),
                })),
            ],
        };
        let failure = outcome.failure().unwrap();
        assert_eq!(failure.cause, "shopify_user_error:INVALID_LOCATION");
        assert_eq!(failure.class, plumb_common::ErrorClass::Permanent);
        let outcome = SetOutcome {
            batches: vec![batch(BatchStatus::ConcurrentRequest)],
        };
        assert_eq!(
            outcome.failure().unwrap().class,
            plumb_common::ErrorClass::Transient
        );
    }
}
