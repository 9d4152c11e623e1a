//! The ERP product poller: every `products.poll_interval` it asks the ERP for products
//! changed since the stored cursor and queues sync jobs of [`super::SKUS_PER_JOB`] SKUs,
//! storing the new cursor in the same write.
//!
//! The first run takes the ERP's cursor ("now") and writes nothing: a first install does
//! not rewrite the whole catalogue's prices on its own. What already differs is catalog
//! drift for reconciliation to report and repair through the same sync jobs.

use std::sync::Arc;

use crate::erp::Erp;
use crate::flows::polling::{PollError, Polls, stored_cursor};
use crate::shutdown::Shutdown;

use super::super::FlowContext;
use super::{SKUS_PER_JOB, sync_job};

/// The store's name for the ERP product cursor.
pub const CURSOR: &str = "products/erp_products";

/// Polls until shutdown. Failures are logged and retried at the next tick.
pub async fn run(context: FlowContext, erp: Arc<dyn Erp>, shutdown: Shutdown) {
    let interval = context.config.products.poll_interval;
    let mut polls = Polls::new("products", "ERP products", interval, shutdown);
    while polls.tick().await {
        match poll_once(&context, erp.as_ref()).await {
            Ok(skus) => {
                polls.succeeded();
                if skus > 0 {
                    tracing::debug!(
                        flow = "products",
                        skus,
                        "changed products queued for Shopify"
                    );
                }
            }
            Err(error) => polls.failed(&error),
        }
    }
}

/// One poll: queues the changed products with the new cursor. Returns how many SKUs.
pub async fn poll_once(context: &FlowContext, erp: &dyn Erp) -> Result<usize, PollError> {
    let Some(cursor) = stored_cursor(&context.store, CURSOR).await? else {
        let now = erp.product_cursor().await?;
        context
            .store
            .write(move |ctx| ctx.set_cursor(CURSOR, now.0.as_bytes()))
            .await?;
        tracing::info!(
            flow = "products",
            "first run: ERP product changes are followed from now on"
        );
        return Ok(0);
    };
    let changes = erp.product_changes(&cursor).await?;
    if changes.skus.is_empty() && changes.cursor == cursor {
        return Ok(0);
    }
    let count = changes.skus.len();
    let skus: Vec<String> = changes.skus.iter().map(|s| s.to_string()).collect();
    let now = context.clock.now();
    let next = changes.cursor;
    context
        .store
        .write(move |ctx| {
            for chunk in skus.chunks(SKUS_PER_JOB) {
                ctx.enqueue(sync_job(chunk.to_vec()), now)?;
            }
            ctx.set_cursor(CURSOR, next.0.as_bytes())
        })
        .await?;
    Ok(count)
}
