//! The agent's Shopify client pointed at the sandbox, and a level-sync driver that does
//! what the inventory flow does with a [`SetOutcome`]: the fault test and the benchmark
//! share it.
//!
//! The driver's rules are the flow's: applied batches are done; a batch that failed
//! transiently (or whose key was still running) is retried as the queue retries a job,
//! with the same job id and the same rows, so every batch keeps its idempotency key; a
//! stale batch changed nothing, so its rows are re-read, rows already at their target are
//! dropped, and the rest go out as a new job with the quantities just read.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use plumb_agent::config::Secret;
use plumb_agent::shopify::{
    BatchStatus, SetRequest, SetRow, ShopifyClient, ShopifyClientConfig, ShopifyError,
};
use plumb_common::{ErrorClass, JobId};

use crate::sandbox::{ApiVersion, Sandbox};

/// A client for `sandbox` on `version`, with `configure` applied to the defaults.
pub fn client_for(
    sandbox: &Sandbox,
    version: ApiVersion,
    configure: impl FnOnce(&mut ShopifyClientConfig),
) -> Result<ShopifyClient, ShopifyError> {
    let mut config = ShopifyClientConfig::new(
        sandbox.url(),
        version.as_str(),
        Secret::new(sandbox.access_token()),
    );
    configure(&mut config);
    ShopifyClient::new(config)
}

/// One level to bring to its target, and the quantity the caller believes it has now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LevelTarget {
    /// The inventory item.
    pub item: u64,
    /// The location.
    pub location: u64,
    /// The quantity the caller last saw.
    pub believed: i64,
    /// The quantity to set.
    pub target: i64,
}

/// What [`sync_levels`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Jobs started (a stale re-read starts a new one).
    pub jobs: u64,
    /// Jobs retried with the same id after a transient failure.
    pub job_retries: u64,
    /// Rows found stale and re-read.
    pub stale_rows: u64,
    /// Rows found already at their target on re-read (a lost answer had applied them).
    pub already_at_target: u64,
}

/// Why [`sync_levels`] gave up.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// A permanent failure: the job would be dead-lettered.
    #[error("permanent failure: {0}")]
    Permanent(ShopifyError),
    /// Still failing after the queue's attempts.
    #[error("still failing after {attempts} attempts: {last}")]
    Exhausted {
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        last: String,
    },
}

/// How [`sync_levels`] behaves.
#[derive(Debug, Clone)]
pub struct SyncSettings {
    /// Rows per job (the client splits a job into calls of 250).
    pub rows_per_job: usize,
    /// Jobs in flight at once.
    pub concurrency: usize,
    /// Attempts of one job before giving up (the queue's `max_attempts`).
    pub max_attempts: u32,
    /// Delay before the queue retries a job.
    pub retry_delay: Duration,
}

impl Default for SyncSettings {
    fn default() -> SyncSettings {
        SyncSettings {
            rows_per_job: 1_000,
            concurrency: 2,
            max_attempts: 20,
            retry_delay: Duration::from_millis(50),
        }
    }
}

/// Brings every level in `targets` to its target through `client`, as the inventory flow
/// would, job ids counting up from `first_job`.
pub async fn sync_levels(
    client: &ShopifyClient,
    targets: &[LevelTarget],
    settings: &SyncSettings,
    first_job: u64,
) -> Result<SyncReport, SyncError> {
    use futures::StreamExt;
    let next_job = Arc::new(AtomicU64::new(first_job));
    let reports: Vec<Result<SyncReport, SyncError>> =
        futures::stream::iter(targets.chunks(settings.rows_per_job.max(1)))
            .map(|chunk| run_job(client, chunk.to_vec(), settings, next_job.clone()))
            .buffer_unordered(settings.concurrency.max(1))
            .collect()
            .await;
    let mut total = SyncReport::default();
    for report in reports {
        let report = report?;
        total.jobs += report.jobs;
        total.job_retries += report.job_retries;
        total.stale_rows += report.stale_rows;
        total.already_at_target += report.already_at_target;
    }
    Ok(total)
}

fn rows_of(targets: &[LevelTarget]) -> Vec<SetRow> {
    targets
        .iter()
        .map(|t| SetRow {
            inventory_item_id: t.item,
            location_id: t.location,
            quantity: t.target,
            change_from_quantity: Some(t.believed),
        })
        .collect()
}

/// One job and its retries; a stale batch makes the rest a new job.
async fn run_job(
    client: &ShopifyClient,
    mut targets: Vec<LevelTarget>,
    settings: &SyncSettings,
    next_job: Arc<AtomicU64>,
) -> Result<SyncReport, SyncError> {
    let mut report = SyncReport::default();
    let mut attempts = 0u32;
    let mut job = JobId(next_job.fetch_add(1, Ordering::Relaxed));
    report.jobs += 1;
    while !targets.is_empty() {
        attempts += 1;
        let request = SetRequest::available(job, rows_of(&targets));
        let outcome = match client.set_inventory(&request).await {
            Ok(outcome) => outcome,
            Err(error) => return Err(SyncError::Permanent(error)),
        };
        if outcome.all_applied() {
            return Ok(report);
        }
        if let Some(error) = outcome.first_error()
            && error.class() == ErrorClass::Permanent
        {
            return Err(SyncError::Permanent(error.clone()));
        }
        let stale = outcome.stale_rows();
        if stale.is_empty() {
            // Transient failures only: the queue retries the same job, so applied batches
            // replay under their keys and failed ones are sent again under theirs.
            if attempts >= settings.max_attempts {
                let last = outcome
                    .failure()
                    .map(|f| format!("{f:?}"))
                    .unwrap_or_default();
                return Err(SyncError::Exhausted { attempts, last });
            }
            report.job_retries += 1;
            tokio::time::sleep(settings.retry_delay).await;
            continue;
        }
        // Stale rows: whatever was not applied is re-read and goes out as a new job.
        report.stale_rows += stale.len() as u64;
        let pending: Vec<LevelTarget> = outcome
            .batches
            .iter()
            .filter(|b| b.status != BatchStatus::Applied)
            .flat_map(|b| {
                targets
                    .get(b.rows.clone())
                    .unwrap_or_default()
                    .iter()
                    .copied()
            })
            .collect();
        let current = read_available(client, &pending).await?;
        let before = pending.len();
        targets = pending
            .into_iter()
            .filter_map(|t| {
                let now = current.get(&(t.item, t.location)).copied()?;
                (now != t.target).then_some(LevelTarget { believed: now, ..t })
            })
            .collect();
        report.already_at_target += (before - targets.len()) as u64;
        job = JobId(next_job.fetch_add(1, Ordering::Relaxed));
        report.jobs += 1;
        attempts = 0;
    }
    Ok(report)
}

/// `available` of each (item, location) in `targets`, read through the client.
async fn read_available(
    client: &ShopifyClient,
    targets: &[LevelTarget],
) -> Result<HashMap<(u64, u64), i64>, SyncError> {
    // In a fixed order, so a seeded fault run sends its requests alike.
    let mut by_location: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    for t in targets {
        by_location.entry(t.location).or_default().push(t.item);
    }
    let mut current = HashMap::new();
    for (location, items) in by_location {
        let mut attempts = 0;
        let levels = loop {
            attempts += 1;
            match client
                .inventory_levels(&items, &[location], &["available"])
                .await
            {
                Ok(levels) => break levels,
                Err(error) if error.class() == ErrorClass::Permanent => {
                    return Err(SyncError::Permanent(error));
                }
                Err(error) if attempts >= 20 => {
                    return Err(SyncError::Exhausted {
                        attempts,
                        last: error.to_string(),
                    });
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        };
        for level in levels {
            if let Some(available) = level.quantities.get("available") {
                current.insert((level.inventory_item_id, level.location_id), *available);
            }
        }
    }
    Ok(current)
}
