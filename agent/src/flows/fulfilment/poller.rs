//! The ERP shipment poller: every `fulfilment.poll_interval` it asks the ERP for shipments
//! that left (or whose tracking changed) since the stored cursor, and queues one job per
//! shipment of a Shopify order, storing the new cursor in the same write.
//!
//! The first run starts at the ERP's beginning: only sales Plumb booked carry a Shopify
//! order, so every shipment it finds is one of Plumb's orders that Shopify may not show
//! shipped yet (one fulfilled by hand meanwhile becomes an `already_fulfilled` dead
//! letter, visible, never a second fulfilment).

use std::sync::Arc;
use std::time::Duration;

use plumb_common::FlowKind;

use crate::erp::{Erp, Shipment};
use crate::flows::polling::{PollError, Polls, stored_cursor};
use crate::shutdown::Shutdown;
use crate::store::{EnqueueOptions, EnqueueOutcome, NewJob};
use crate::work::Work;

use super::super::FlowContext;

/// The store's name for the ERP shipment cursor.
pub const CURSOR: &str = "fulfilment/erp_shipments";

/// How long a shipment's dedup key is kept: an ERP rewriting a shipment (shipped, then
/// done) reports it again, and the key drops the repeat. After that the ledger does.
const SHIPMENT_DEDUP: Duration = Duration::from_secs(30 * 24 * 3600);

/// Polls until shutdown. Failures are logged and retried at the next tick.
pub async fn run(context: FlowContext, erp: Arc<dyn Erp>, shutdown: Shutdown) {
    let interval = context.config.fulfilment.poll_interval;
    let mut polls = Polls::new("fulfilment", "ERP shipments", interval, shutdown);
    while polls.tick().await {
        match poll_once(&context, erp.as_ref()).await {
            Ok(queued) => {
                polls.succeeded();
                if queued > 0 {
                    tracing::debug!(flow = "fulfilment", queued, "shipments queued for Shopify");
                }
            }
            Err(error) => polls.failed(&error),
        }
    }
}

/// The job that fulfils one shipment. The dedup key holds the tracking number, so a
/// tracking number added or changed after the goods left is looked at again.
pub fn fulfil_job(shipment: Shipment) -> NewJob {
    let key = format!(
        "fulfilment/shipment/{}/{}",
        shipment.erp_id,
        shipment.tracking_number.as_deref().unwrap_or("")
    );
    let work = Work::Fulfil { shipment };
    NewJob {
        flow: FlowKind::Fulfilment,
        payload_kind: work.kind(),
        payload: work.encode(),
        options: EnqueueOptions {
            dedup: Some((key, SHIPMENT_DEDUP)),
            ..EnqueueOptions::default()
        },
    }
}

/// One poll: queues the shipments of Shopify orders with the new cursor. Returns how many
/// jobs it queued (repeats the dedup ledger dropped not counted).
pub async fn poll_once(context: &FlowContext, erp: &dyn Erp) -> Result<usize, PollError> {
    let stored = stored_cursor(&context.store, CURSOR).await?;
    let cursor = stored.clone().unwrap_or_default();
    let changes = erp.shipments_since(&cursor).await?;
    let (ours, others): (Vec<Shipment>, Vec<Shipment>) = changes
        .shipments
        .into_iter()
        .partition(|s| s.shopify_order_id.is_some());
    if !others.is_empty() {
        tracing::debug!(
            flow = "fulfilment",
            skipped = others.len(),
            "shipments of ERP sales that are not Shopify orders skipped"
        );
    }
    if ours.is_empty() && stored.as_ref() == Some(&changes.cursor) {
        return Ok(0);
    }
    let now = context.clock.now();
    let next = changes.cursor;
    let queued = context
        .store
        .write(move |ctx| {
            let mut queued = 0;
            for shipment in ours {
                let enqueued = ctx.enqueue(fulfil_job(shipment), now)?;
                if enqueued.outcome == EnqueueOutcome::Created {
                    queued += 1;
                }
            }
            ctx.set_cursor(CURSOR, next.0.as_bytes())?;
            Ok(queued)
        })
        .await?;
    Ok(queued)
}
