//! One reconciliation run: stored as running, both sides read and compared, the figures
//! and mismatches stored, then (unless a dry run) the repairs queued.

use std::sync::Arc;

use plumb_common::FlowKind;
use plumb_common::protocol::{ParityDimension, ParityRun, RunScope, RunState, RunTrigger};
use tokio::sync::Notify;

use crate::erp::Erp;
use crate::shopify::ShopifyClient;
use crate::store::Failure;

use super::super::FlowContext;
use super::findings::Findings;
use super::repair::{self, StockRepair};
use super::{compare, orders};

/// Mismatches per store write.
const BATCH: usize = 2_000;

/// What a run is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunRequest {
    /// How much to compare.
    pub scope: RunScope,
    /// Why.
    pub trigger: RunTrigger,
    /// List the repairs without queuing them.
    pub dry_run: bool,
}

/// Runs one reconciliation; the run, its figures and its repairs are in the store. A
/// failure is stored on the run (state `failed`) and returned, so the queue retries the
/// job (as a new run).
pub async fn reconcile(
    context: &FlowContext,
    erp: &dyn Erp,
    shopify: &ShopifyClient,
    bulk_finished: &Arc<Notify>,
    request: RunRequest,
) -> Result<(), Failure> {
    let mut run = ParityRun {
        id: 0,
        scope: request.scope,
        trigger: request.trigger,
        dry_run: request.dry_run,
        started_at: context.clock.now(),
        finished_at: None,
        state: RunState::Running,
        error: None,
        dimensions: Vec::new(),
    };
    let started = run.clone();
    run.id = context
        .store
        .write(move |ctx| {
            let mut started = started;
            ctx.parity_run_started(&mut started)
        })
        .await
        .map_err(Failure::from)?;
    tracing::info!(flow = "reconcile", run = run.id, scope = ?run.scope, trigger = ?run.trigger, dry_run = run.dry_run, "reconciliation started");
    let dimensions = request.scope.dimensions();
    let mut findings = Findings::default();
    findings.products_flow = context.config.flows.get(FlowKind::Products).enabled;
    let catalog = dimensions.contains(&ParityDimension::Catalog);
    let compared = async {
        compare::stock_and_catalog(context, erp, shopify, catalog, bulk_finished, &mut findings)
            .await?;
        if dimensions.contains(&ParityDimension::Orders) {
            let money = dimensions.contains(&ParityDimension::Money);
            orders::compare(context, erp, shopify, money, bulk_finished, &mut findings).await?;
        }
        Ok::<(), Failure>(())
    };
    if let Err(failure) = compared.await {
        run.error = Some(failure.message.clone());
        finish(context, &mut run, RunState::Failed).await?;
        tracing::warn!(flow = "reconcile", run = run.id, cause = %failure.cause, error = %failure.message, "reconciliation failed");
        return Err(failure);
    }
    findings.sort();
    run.dimensions = findings.figures(dimensions);
    let mut mismatches = findings.mismatches(dimensions);
    loop {
        let mut batch = Vec::with_capacity(BATCH);
        batch.extend(mismatches.by_ref().take(BATCH));
        if batch.is_empty() {
            break;
        }
        let id = run.id;
        context
            .store
            .write(move |ctx| ctx.parity_mismatches_found(id, &batch))
            .await
            .map_err(Failure::from)?;
    }
    finish(context, &mut run, RunState::Done).await?;
    for figures in &run.dimensions {
        tracing::info!(
            flow = "reconcile",
            run = run.id,
            dimension = %figures.dimension,
            checked = figures.checked,
            mismatched = figures.mismatched,
            parity = figures.parity_percent,
            "parity"
        );
    }
    if !request.dry_run {
        // Inventory mismatches are numbered first, in the sorted order.
        let repairs: Vec<StockRepair> = findings
            .stock()
            .zip(1u64..)
            .map(|((sku, f), id)| StockRepair {
                id,
                sku: sku.to_owned(),
                location: f.location,
                available: f.available,
            })
            .collect();
        let syncs = findings.order_syncs(dimensions);
        let product_syncs = findings.product_syncs(dimensions);
        repair::stock(context, erp, run.id, &repairs).await?;
        repair::orders(context, run.id, &syncs).await?;
        repair::products(context, run.id, &product_syncs).await?;
    }
    Ok(())
}

/// Stores `run` as finished in `state` (a done run becomes its dimensions' latest).
async fn finish(
    context: &FlowContext,
    run: &mut ParityRun,
    state: RunState,
) -> Result<(), Failure> {
    run.state = state;
    run.finished_at = Some(context.clock.now());
    let finished = run.clone();
    let keep = context.config.reconcile.keep_runs;
    context
        .store
        .write(move |ctx| ctx.parity_run_finished(&finished, keep))
        .await
        .map_err(Failure::from)
}
