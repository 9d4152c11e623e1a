//! `[reconcile]`: when the reconciler compares both sides on its own (a light pass and a
//! full pass, each on its interval), whether those scheduled runs repair what they find,
//! how many runs are kept, how often a running bulk operation is polled, and which orders
//! are compared.

use std::time::Duration;

use super::reader::Reader;
use super::values::{boolean, duration_at_least, format_duration, integer};

/// `[reconcile]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconcileConfig {
    /// Whether the schedule runs (runs asked for on the control socket always run).
    pub enabled: bool,
    /// How often the light pass (stock per SKU x location) runs.
    pub light_interval: Duration,
    /// How often the full pass (every dimension) runs.
    pub full_interval: Duration,
    /// Whether scheduled runs queue repairs (`false`: they report, like a dry run, and
    /// a person repairs from the report).
    pub auto_repair: bool,
    /// Runs kept with their mismatches; older ones are removed.
    pub keep_runs: usize,
    /// How often a running bulk operation's state is read (the `bulk_operations/finish`
    /// webhook, when subscribed, wakes the reconciler sooner).
    pub bulk_poll_interval: Duration,
    /// The orders compared: those Shopify changed within this window before the run.
    pub orders_window: Duration,
}

impl Default for ReconcileConfig {
    fn default() -> Self {
        ReconcileConfig {
            enabled: true,
            light_interval: Duration::from_secs(3600),
            full_interval: Duration::from_secs(24 * 3600),
            auto_repair: false,
            keep_runs: 50,
            bulk_poll_interval: Duration::from_secs(5),
            orders_window: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

impl ReconcileConfig {
    pub(super) fn read(mut reader: Reader<'_>) -> Self {
        let default = ReconcileConfig::default();
        let enabled = reader.or("enabled", default.enabled, boolean);
        let interval = || {
            duration_at_least(
                Duration::from_secs(1),
                "every pass reads the whole catalogue from both sides",
            )
        };
        let light_interval = reader.or("light_interval", default.light_interval, interval());
        let full_interval = reader.or("full_interval", default.full_interval, interval());
        let auto_repair = reader.or("auto_repair", default.auto_repair, boolean);
        let keep_runs = reader.or("keep_runs", default.keep_runs, integer::<usize>(1, 10_000));
        let bulk_poll_interval = reader.or(
            "bulk_poll_interval",
            default.bulk_poll_interval,
            duration_at_least(
                Duration::from_millis(100),
                "a shorter poll only spends Shopify's API budget",
            ),
        );
        let orders_window = reader.or(
            "orders_window",
            default.orders_window,
            duration_at_least(
                Duration::from_secs(60),
                "orders younger than the backfill's overlap are still on their way",
            ),
        );
        if full_interval < light_interval {
            let key = reader.key("full_interval");
            reader.report(
                key,
                format!(
                    "the full pass (every \"{}\") must not run more often than the light pass \
                     (every \"{}\"): raise full_interval or lower light_interval",
                    format_duration(full_interval),
                    format_duration(light_interval)
                ),
            );
        }
        reader.finish();
        ReconcileConfig {
            enabled,
            light_interval,
            full_interval,
            auto_repair,
            keep_runs,
            bulk_poll_interval,
            orders_window,
        }
    }
}
