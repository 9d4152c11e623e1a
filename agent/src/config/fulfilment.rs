//! `[fulfilment]`: how ERP shipments become Shopify fulfilments: how often the ERP is asked
//! for shipments, whether Shopify emails the buyer, and what a shipment from another
//! location than the one Shopify assigned leads to.

use std::time::Duration;

use toml::Value;

use super::reader::{Parse, Reader};
use super::values::{boolean, erp_poll_interval, string};

/// What a shipment that left from another location than the one Shopify assigned the
/// order's lines to leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LocationMismatch {
    /// A dead letter naming both locations, for a person to decide.
    #[default]
    Report,
    /// Move the fulfillment order to the shipment's location, then fulfil it there.
    Move,
}

/// `[fulfilment]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FulfilmentConfig {
    /// How often the ERP is asked for shipments since the last poll.
    pub poll_interval: Duration,
    /// Whether Shopify emails the buyer for each fulfilment.
    pub notify_customer: bool,
    /// What a shipment from an unexpected location leads to.
    pub on_location_mismatch: LocationMismatch,
}

impl Default for FulfilmentConfig {
    fn default() -> Self {
        FulfilmentConfig {
            poll_interval: Duration::from_secs(30),
            notify_customer: false,
            on_location_mismatch: LocationMismatch::default(),
        }
    }
}

impl FulfilmentConfig {
    pub(super) fn read(mut reader: Reader<'_>) -> Self {
        let default = FulfilmentConfig::default();
        let poll_interval = reader.or("poll_interval", default.poll_interval, erp_poll_interval);
        let notify_customer = reader.or("notify_customer", default.notify_customer, boolean);
        let on_location_mismatch = reader.or(
            "on_location_mismatch",
            default.on_location_mismatch,
            location_mismatch,
        );
        reader.finish();
        FulfilmentConfig {
            poll_interval,
            notify_customer,
            on_location_mismatch,
        }
    }
}

fn location_mismatch(value: Value) -> Parse<LocationMismatch> {
    match string(value)?.as_str() {
        "report" => Ok(LocationMismatch::Report),
        "move" => Ok(LocationMismatch::Move),
        other => Err(format!(
            r#"unknown action {other:?}: write "report" (a dead letter naming both locations) or "move" (move the fulfillment order to the shipment's location)"#
        )),
    }
}
