//! `[products]`: how ERP product master data reaches Shopify: how often the ERP is asked
//! for changed products, and what an edit made in Shopify to a field the ERP owns leads to.
//! Which fields flow is `[ownership]`'s business.

use std::time::Duration;

use toml::Value;

use super::reader::{Parse, Reader};
use super::values::{boolean, erp_poll_interval, string};

/// What an edit made in Shopify to a field the ERP owns leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnConflict {
    /// The ERP's value is written back (logged at warn).
    #[default]
    Revert,
    /// A dead letter naming the field and both values; Shopify's value stays.
    Report,
}

/// `[products]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductsConfig {
    /// How often the ERP is asked for products changed since the last poll.
    pub poll_interval: Duration,
    /// What a conflicting edit in Shopify leads to.
    pub on_conflict: OnConflict,
    /// Whether an ERP product no Shopify variant carries is created in Shopify (as a
    /// draft); otherwise it is skipped.
    pub create_missing: bool,
}

impl Default for ProductsConfig {
    fn default() -> Self {
        ProductsConfig {
            poll_interval: Duration::from_secs(60),
            on_conflict: OnConflict::default(),
            create_missing: false,
        }
    }
}

impl ProductsConfig {
    pub(super) fn read(mut reader: Reader<'_>) -> Self {
        let default = ProductsConfig::default();
        let poll_interval = reader.or("poll_interval", default.poll_interval, erp_poll_interval);
        let on_conflict = reader.or("on_conflict", default.on_conflict, on_conflict);
        let create_missing = reader.or("create_missing", default.create_missing, boolean);
        reader.finish();
        ProductsConfig {
            poll_interval,
            on_conflict,
            create_missing,
        }
    }
}

fn on_conflict(value: Value) -> Parse<OnConflict> {
    match string(value)?.as_str() {
        "revert" => Ok(OnConflict::Revert),
        "report" => Ok(OnConflict::Report),
        other => Err(format!(
            r#"unknown action {other:?}: write "revert" (the ERP's value is written back) or "report" (a dead letter; Shopify's value stays)"#
        )),
    }
}
