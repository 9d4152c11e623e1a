//! The flows' handlers: what runs a job once the queue hands it out.
//!
//! Each flow gets its handler here. Flows whose handler has not been built yet are listed
//! by [`missing`]: their jobs are accepted and kept, visible in the queue, and run once an
//! upgrade brings the handler.

mod inventory;

use std::sync::Arc;

use plumb_common::FlowKind;

use crate::store::Store;
use crate::worker::Handler;

pub use inventory::InventoryHandler;

/// The handler of each flow this build can run.
pub fn handlers(store: &Store) -> Vec<(FlowKind, Arc<dyn Handler>)> {
    vec![(
        FlowKind::Inventory,
        Arc::new(InventoryHandler::new(store.clone())),
    )]
}

/// Flows without a handler in this build.
pub fn missing(store: &Store) -> Vec<FlowKind> {
    let present: Vec<FlowKind> = handlers(store).into_iter().map(|(flow, _)| flow).collect();
    FlowKind::ALL
        .into_iter()
        .filter(|flow| !present.contains(flow))
        .collect()
}
