//! The schedule: a full pass every `reconcile.full_interval`, a light pass every
//! `reconcile.light_interval`, as jobs on the reconcile flow's queue.
//!
//! When each pass last went to the queue is a store cursor, written in the write that
//! queues it, so a restart neither repeats a pass nor skips one; the very first start
//! waits one interval (the inventory flow's own first run is still settling then). A full
//! pass covers a light one: queuing it also moves the light pass's time.

use std::time::Duration;

use plumb_common::protocol::{RunScope, RunTrigger};
use plumb_common::{FlowKind, Timestamp};

use crate::shutdown::Shutdown;
use crate::store::{EnqueueOptions, NewJob, StoreError};
use crate::work::Work;

use super::super::FlowContext;

/// When the last full pass was queued (ms since the epoch, decimal text).
pub const FULL_CURSOR: &str = "reconcile/last_full";
/// When the last light pass was queued.
pub const LIGHT_CURSOR: &str = "reconcile/last_light";

/// Queues passes when they are due, until shutdown.
pub async fn run(context: FlowContext, mut shutdown: Shutdown) {
    let config = &context.config.reconcile;
    let tick = config
        .light_interval
        .min(config.full_interval)
        .div_f64(4.0)
        .clamp(Duration::from_millis(250), Duration::from_secs(60));
    let mut failing = false;
    loop {
        match queue_due(&context).await {
            Ok(()) if failing => {
                tracing::info!(flow = "reconcile", "reconciliation schedule recovered");
                failing = false;
            }
            Ok(()) => {}
            Err(error) if !failing => {
                tracing::warn!(flow = "reconcile", %error, "reconciliation schedule failed; retrying");
                failing = true;
            }
            Err(_) => {}
        }
        tokio::select! {
            () = tokio::time::sleep(tick) => {}
            () = shutdown.wait() => return,
        }
    }
}

fn parse(bytes: Option<Vec<u8>>) -> Option<Timestamp> {
    let text = String::from_utf8(bytes?).ok()?;
    text.trim().parse().ok().map(Timestamp)
}

/// Queues the pass that is due, if one is.
async fn queue_due(context: &FlowContext) -> Result<(), StoreError> {
    let config = &context.config.reconcile;
    let now = context.clock.now();
    let full = parse(context.store.cursor(FULL_CURSOR.to_owned()).await?);
    let light = parse(context.store.cursor(LIGHT_CURSOR.to_owned()).await?);
    let due = |last: Option<Timestamp>, every: Duration| last.map(|at| now >= at.plus(every));
    let scope = match (
        due(full, config.full_interval),
        due(light, config.light_interval),
    ) {
        (Some(true), _) => Some(RunScope::Full),
        (_, Some(true)) => Some(RunScope::Light),
        _ => None,
    };
    let stamp = now.0.to_string();
    let first = full.is_none() || light.is_none();
    if scope.is_none() && !first {
        return Ok(());
    }
    let job = scope.map(|scope| pass(scope, !config.auto_repair));
    context
        .store
        .write(move |ctx| {
            if let Some(job) = job {
                ctx.enqueue(job, now)?;
            }
            // The first start only sets the clocks; a full pass moves both.
            if first || scope == Some(RunScope::Full) {
                ctx.set_cursor(FULL_CURSOR, stamp.as_bytes())?;
            }
            ctx.set_cursor(LIGHT_CURSOR, stamp.as_bytes())?;
            Ok(())
        })
        .await?;
    if let Some(scope) = scope {
        tracing::info!(
            flow = "reconcile",
            ?scope,
            "scheduled reconciliation queued"
        );
    }
    Ok(())
}

/// A scheduled pass's job; one of each scope waits at a time.
fn pass(scope: RunScope, dry_run: bool) -> NewJob {
    let work = Work::Reconcile {
        dry_run,
        scope,
        trigger: RunTrigger::Schedule,
    };
    let key = match scope {
        RunScope::Light => "reconcile:schedule:light",
        RunScope::Full => "reconcile:schedule:full",
    };
    NewJob {
        flow: FlowKind::Reconcile,
        payload_kind: work.kind(),
        payload: work.encode(),
        options: EnqueueOptions {
            coalesce: Some(key.to_owned()),
            ..EnqueueOptions::default()
        },
    }
}
