//! The backfill: every `orders.backfill_interval`, the orders Shopify changed since the
//! stored cursor become `OrderSync` jobs (one per order change), so an order whose webhooks
//! were all lost still reaches the ERP within the interval.
//!
//! The walk is cheap (ids, times and the cancelled flag: about a point per order); a job
//! reads an order whole only when the ledger does not already agree with what the walk saw.
//! Each page's jobs and the cursor it reached are stored in one write, so a crash repeats
//! at most a page (whose jobs the dedup ledger drops) and never skips one. Each poll starts
//! `orders.backfill_overlap` before the cursor: Shopify's search index trails its writes.
//! The first run only sets the cursor: orders from before Plumb was installed are the
//! reconciliation's business, not the backfill's.

use std::time::Duration;

use chrono::{DateTime, Utc};

use plumb_common::FlowKind;

use crate::shopify::{ShopifyClient, ShopifyError};
use crate::shutdown::Shutdown;
use crate::store::{EnqueueOptions, EnqueueOutcome, NewJob, StoreError};
use crate::work::Work;

use super::super::FlowContext;

/// The store's name for the backfill cursor (an RFC 3339 time).
pub const CURSOR: &str = "orders/shopify_backfill";

/// How long a sync job's dedup key is kept: longer than any overlap.
const SYNC_DEDUP: Duration = Duration::from_secs(7 * 24 * 3600);

/// Why a poll failed; the next poll tries again from the same cursor.
#[derive(Debug, thiserror::Error)]
pub enum BackfillError {
    /// Shopify failed.
    #[error(transparent)]
    Shopify(#[from] ShopifyError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Polls until shutdown. Failures are logged and retried at the next tick.
pub async fn run(context: FlowContext, shopify: ShopifyClient, mut shutdown: Shutdown) {
    let mut ticker = tokio::time::interval(context.config.orders.backfill_interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            () = shutdown.wait() => return,
        }
        match poll_once(&context, &shopify).await {
            Ok(0) => {}
            Ok(queued) => tracing::info!(flow = "orders", queued, "backfill queued order syncs"),
            Err(error) => {
                tracing::warn!(flow = "orders", %error, "order backfill failed; retrying at the next poll")
            }
        }
    }
}

/// The job that syncs one order change.
pub fn sync_job(order: u64, updated_at: DateTime<Utc>, cancelled: bool) -> NewJob {
    let work = Work::OrderSync {
        order,
        updated_at,
        cancelled,
    };
    // Shopify's times have whole seconds: two changes in one second share `updated_at`,
    // so the key also holds what the job decides on (the cancelled flag).
    let key = format!(
        "orders/sync/{order}/{}/{}",
        updated_at.timestamp_millis(),
        if cancelled { "cancelled" } else { "open" }
    );
    NewJob {
        flow: FlowKind::Orders,
        payload_kind: work.kind(),
        payload: work.encode(),
        options: EnqueueOptions {
            dedup: Some((key, SYNC_DEDUP)),
            ..EnqueueOptions::default()
        },
    }
}

/// The job that books every refund Shopify has for `order` as it was at `updated_at` (the
/// refunds flow's; each refund is booked once whatever runs it, and each change of the
/// order is synced once: a later refund changes the order, so its sync is queued too).
pub fn refund_sync_job(order: u64, updated_at: DateTime<Utc>) -> NewJob {
    let work = Work::RefundSync { order };
    let key = format!("refunds/sync/{order}/{}", updated_at.timestamp_millis());
    NewJob {
        flow: FlowKind::Refunds,
        payload_kind: work.kind(),
        payload: work.encode(),
        options: EnqueueOptions {
            dedup: Some((key, SYNC_DEDUP)),
            ..EnqueueOptions::default()
        },
    }
}

/// One poll: walks every page changed since the cursor. Returns how many jobs were queued
/// (duplicates of earlier polls not counted).
pub async fn poll_once(
    context: &FlowContext,
    shopify: &ShopifyClient,
) -> Result<usize, BackfillError> {
    let store = &context.store;
    let cursor = store
        .cursor(CURSOR.to_owned())
        .await?
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| DateTime::parse_from_rfc3339(&text).ok())
        .map(|time| time.with_timezone(&Utc));
    let Some(cursor) = cursor else {
        let Some(now) = context.clock.now().to_utc() else {
            return Ok(0);
        };
        store
            .write(move |ctx| ctx.set_cursor(CURSOR, now.to_rfc3339().as_bytes()))
            .await?;
        return Ok(0);
    };
    let overlap = chrono::Duration::from_std(context.config.orders.backfill_overlap)
        .unwrap_or(chrono::Duration::zero());
    let since = cursor - overlap;
    let mut after = None;
    let mut queued = 0;
    let mut reached = cursor;
    loop {
        let page = shopify.orders_updated_since(since, after).await?;
        let jobs: Vec<NewJob> = page
            .orders
            .iter()
            .map(|o| sync_job(o.id, o.updated_at, o.cancelled_at.is_some()))
            .collect();
        reached = page
            .orders
            .iter()
            .map(|o| o.updated_at)
            .fold(reached, DateTime::max);
        let now = context.clock.now();
        let stamp = reached.to_rfc3339();
        queued += store
            .write(move |ctx| {
                let mut fresh = 0;
                for job in jobs {
                    if ctx.enqueue(job, now)?.outcome == EnqueueOutcome::Created {
                        fresh += 1;
                    }
                }
                ctx.set_cursor(CURSOR, stamp.as_bytes())?;
                Ok(fresh)
            })
            .await?;
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(queued),
        }
    }
}
