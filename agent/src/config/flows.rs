//! `[flows.<name>]`: per-flow switches and retry limits. Every flow has a configuration,
//! the default one when its section is absent, so callers never handle "not configured".

use std::collections::BTreeMap;

use plumb_common::FlowKind;

use super::reader::Reader;
use super::values::{boolean, integer};

/// One flow's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowConfig {
    /// Whether the flow's workers run (its jobs are still accepted and kept when off).
    pub enabled: bool,
    /// Attempts before a job becomes a dead letter.
    pub max_attempts: u32,
    /// Jobs of this flow run at once.
    pub concurrency: usize,
}

impl FlowConfig {
    /// The settings of a flow without a section.
    pub const DEFAULT: FlowConfig = FlowConfig {
        enabled: true,
        max_attempts: 10,
        concurrency: 1,
    };

    fn read(mut reader: Reader<'_>) -> Self {
        let default = FlowConfig::DEFAULT;
        let config = FlowConfig {
            enabled: reader.or("enabled", default.enabled, boolean),
            max_attempts: reader.or("max_attempts", default.max_attempts, integer(1, 100)),
            concurrency: reader.or("concurrency", default.concurrency, integer(1, 64)),
        };
        reader.finish();
        config
    }
}

impl Default for FlowConfig {
    fn default() -> Self {
        FlowConfig::DEFAULT
    }
}

/// The settings of every flow.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlowsConfig {
    /// Only the flows with a section; the others use [`FlowConfig::DEFAULT`].
    configured: BTreeMap<FlowKind, FlowConfig>,
}

impl FlowsConfig {
    /// The settings of `flow`.
    pub fn get(&self, flow: FlowKind) -> &FlowConfig {
        self.configured.get(&flow).unwrap_or(&FlowConfig::DEFAULT)
    }

    /// Every flow with its settings, in [`FlowKind::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = (FlowKind, &FlowConfig)> {
        FlowKind::ALL.into_iter().map(|flow| (flow, self.get(flow)))
    }

    pub(super) fn read(reader: Reader<'_>) -> Self {
        let mut reader = reader.naming("flow");
        let mut configured = BTreeMap::new();
        for flow in FlowKind::ALL {
            if let Some(section) = reader.table(flow.as_str()) {
                configured.insert(flow, FlowConfig::read(section));
            }
        }
        reader.finish();
        FlowsConfig { configured }
    }
}
