//! The sync flows. A flow is a kind of work with its own queue, pause flag, retry policy and
//! counters; every job belongs to exactly one.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// One sync flow. The discriminant is the flow's code in store keys: never renumber.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum FlowKind {
    /// Shopify orders (create, paid, updated, edited, cancelled) into the ERP.
    Orders = 1,
    /// Shopify refunds into ERP credit notes and returns.
    Refunds = 2,
    /// ERP stock to Shopify available quantities, per location; Shopify level echoes.
    Inventory = 3,
    /// ERP shipments to Shopify fulfilments with tracking.
    Fulfilment = 4,
    /// ERP product master data (price, barcode...) to Shopify.
    Products = 5,
    /// Comparison of both sides and the parity report.
    Reconcile = 6,
}

impl FlowKind {
    /// Every flow, in display order.
    pub const ALL: [FlowKind; 6] = [
        FlowKind::Orders,
        FlowKind::Refunds,
        FlowKind::Inventory,
        FlowKind::Fulfilment,
        FlowKind::Products,
        FlowKind::Reconcile,
    ];

    /// The name used in the config, on the wire and on the command line.
    pub const fn as_str(self) -> &'static str {
        match self {
            FlowKind::Orders => "orders",
            FlowKind::Refunds => "refunds",
            FlowKind::Inventory => "inventory",
            FlowKind::Fulfilment => "fulfilment",
            FlowKind::Products => "products",
            FlowKind::Reconcile => "reconcile",
        }
    }

    /// The stable one-byte code used in store keys.
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// The flow for a store code; `None` for a code this build does not know.
    pub fn from_code(code: u8) -> Option<FlowKind> {
        FlowKind::ALL.into_iter().find(|flow| flow.code() == code)
    }

    /// All flow names joined for error messages ("orders, refunds, ...").
    pub fn names() -> String {
        FlowKind::ALL
            .iter()
            .map(|flow| flow.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl fmt::Display for FlowKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A flow name that is not one of [`FlowKind::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown flow `{0}` (known flows: {names})", names = FlowKind::names())]
pub struct UnknownFlow(pub String);

impl FromStr for FlowKind {
    type Err = UnknownFlow;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        FlowKind::ALL
            .into_iter()
            .find(|flow| flow.as_str() == name)
            .ok_or_else(|| UnknownFlow(name.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_codes_round_trip() {
        for flow in FlowKind::ALL {
            assert_eq!(flow.as_str().parse::<FlowKind>(), Ok(flow));
            assert_eq!(FlowKind::from_code(flow.code()), Some(flow));
        }
        assert_eq!(FlowKind::from_code(0), None);
        let err = "order".parse::<FlowKind>().unwrap_err();
        assert!(err.to_string().contains("known flows: orders, refunds"));
    }
}
