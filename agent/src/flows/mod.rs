//! The flows' handlers: what runs a job once the queue hands it out.
//!
//! Each flow gets its handler here. Flows whose handler has not been built yet are named
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

/// The flows that have no handler among `handlers`.
pub fn missing(handlers: &[(FlowKind, Arc<dyn Handler>)]) -> Vec<FlowKind> {
    FlowKind::ALL
        .into_iter()
        .filter(|flow| handlers.iter().all(|(present, _)| present != flow))
        .collect()
}
