//! `[inventory]`: how ERP stock becomes Shopify's `available`: how often the ERP is polled,
//! which ERP figure is sellable, the safety buffers, the bundles, and what a hand edit in
//! Shopify (drift) leads to.

use std::collections::BTreeSet;
use std::time::Duration;

use toml::Value;

use super::reader::{Need, Parse, Reader, mismatch};
use super::values::{boolean, erp_poll_interval, integer, string};

/// Which ERP figure is sellable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sellable {
    /// The ERP's own `available` (on hand minus what confirmed orders will take).
    #[default]
    Available,
    /// On hand minus reserved.
    OnHandMinusReserved,
}

/// What a hand edit in Shopify of a level the ERP owns leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DriftAction {
    /// Record it, alert, and set the ERP's figure back.
    #[default]
    Revert,
    /// Record it and alert only.
    Alert,
}

/// How much stock is held back from Shopify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BufferAmount {
    /// Whole units.
    Units(i64),
    /// A percentage of the sellable stock, rounded up (holding back too much is safe).
    Percent(u32),
}

/// One buffer rule; every rule that matches a SKU x location applies (they add up).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BufferRule {
    /// Only this ERP warehouse; `None`: every warehouse.
    pub warehouse: Option<String>,
    /// Only SKUs matching this pattern (`*` matches any run of characters); `None`: all.
    pub sku: Option<String>,
    /// How much.
    pub amount: BufferAmount,
}

/// One component of a bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleComponent {
    /// The component's SKU.
    pub sku: String,
    /// Units of it in one bundle (at least 1).
    pub quantity: i64,
}

/// A bundle sold in Shopify under its own SKU, stocked in the ERP only as its components.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleDefinition {
    /// The bundle's SKU in Shopify.
    pub sku: String,
    /// What one bundle is made of.
    pub components: Vec<BundleComponent>,
}

/// `[inventory]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventoryConfig {
    /// How often the ERP is asked for stock changes.
    pub poll_interval: Duration,
    /// Which ERP figure is sellable.
    pub sellable: Sellable,
    /// What drift leads to.
    pub on_drift: DriftAction,
    /// Safety buffers.
    pub buffers: Vec<BufferRule>,
    /// Bundles.
    pub bundles: Vec<BundleDefinition>,
    /// Whether the ERP's own kits (Tryton's `product_kit`) are bundles too.
    pub erp_kits: bool,
}

impl Default for InventoryConfig {
    fn default() -> Self {
        InventoryConfig {
            poll_interval: Duration::from_secs(1),
            sellable: Sellable::default(),
            on_drift: DriftAction::default(),
            buffers: Vec::new(),
            bundles: Vec::new(),
            erp_kits: true,
        }
    }
}

impl BufferRule {
    /// Whether the rule applies to `sku` in `warehouse`.
    pub fn matches(&self, sku: &str, warehouse: &str) -> bool {
        self.warehouse.as_deref().is_none_or(|w| w == warehouse)
            && self.sku.as_deref().is_none_or(|p| glob_matches(p, sku))
    }
}

/// `*` matches any run of characters, everything else itself.
pub fn glob_matches(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

fn sellable(value: Value) -> Parse<Sellable> {
    match string(value)?.as_str() {
        "available" => Ok(Sellable::Available),
        "on_hand_minus_reserved" => Ok(Sellable::OnHandMinusReserved),
        other => Err(format!(
            r#"unknown figure {other:?}: write "available" (the ERP's own) or "on_hand_minus_reserved""#
        )),
    }
}

fn drift_action(value: Value) -> Parse<DriftAction> {
    match string(value)?.as_str() {
        "revert" => Ok(DriftAction::Revert),
        "alert" => Ok(DriftAction::Alert),
        other => Err(format!(
            r#"unknown action {other:?}: write "revert" (set the ERP's figure back) or "alert""#
        )),
    }
}

fn component(value: Value) -> Parse<BundleComponent> {
    let expected = r#"a component like { sku = "MUG-1", quantity = 2 }"#;
    let Value::Table(mut table) = value else {
        return Err(mismatch(expected, &value));
    };
    let sku = table.remove("sku").map(string).transpose()?;
    let quantity = table
        .remove("quantity")
        .map(integer::<i64>(1, 1_000_000))
        .transpose()?;
    match (sku, quantity, table.keys().next()) {
        (_, _, Some(extra)) => Err(format!("unknown key `{extra}`: expected {expected}")),
        (Some(sku), Some(quantity), None) => Ok(BundleComponent { sku, quantity }),
        _ => Err(format!("incomplete: expected {expected}")),
    }
}

impl InventoryConfig {
    pub(super) fn read(mut reader: Reader<'_>) -> Self {
        let default = InventoryConfig::default();
        let poll_interval = reader.or("poll_interval", default.poll_interval, erp_poll_interval);
        let sellable = reader.or("sellable", default.sellable, sellable);
        let on_drift = reader.or("on_drift", default.on_drift, drift_action);
        let erp_kits = reader.or("erp_kits", default.erp_kits, boolean);
        let buffers = reader
            .tables("buffers", read_buffer)
            .into_iter()
            .map(|(_, rule)| rule)
            .collect();
        let bundles = reader.tables("bundles", read_bundle);
        let mut seen = BTreeSet::new();
        for (key, bundle) in &bundles {
            if !seen.insert(bundle.sku.clone()) {
                reader.report(
                    format!("{key}.sku"),
                    format!(
                        "bundle {:?} is defined twice: keep one definition",
                        bundle.sku
                    ),
                );
            }
        }
        let bundle_skus: BTreeSet<&str> = bundles.iter().map(|(_, b)| b.sku.as_str()).collect();
        for (key, bundle) in &bundles {
            for component in &bundle.components {
                if bundle_skus.contains(component.sku.as_str()) {
                    reader.report(
                        format!("{key}.components"),
                        format!(
                            "component {:?} of bundle {:?} is itself a bundle: nested bundles are not supported, list its components in {:?} directly",
                            component.sku, bundle.sku, bundle.sku
                        ),
                    );
                }
            }
        }
        reader.finish();
        InventoryConfig {
            poll_interval,
            sellable,
            on_drift,
            buffers,
            bundles: bundles.into_iter().map(|(_, b)| b).collect(),
            erp_kits,
        }
    }
}

fn read_buffer(mut entry: Reader<'_>) -> Option<BufferRule> {
    let warehouse = entry.optional("erp_warehouse", string);
    let sku = entry.optional("sku", string);
    let units = entry.optional("units", integer::<i64>(0, i64::MAX));
    let percent = entry.optional("percent", integer::<u32>(0, 100));
    let amount = match (units, percent) {
        (Some(units), None) => Some(BufferAmount::Units(units)),
        (None, Some(percent)) => Some(BufferAmount::Percent(percent)),
        (Some(_), Some(_)) => {
            let key = entry.key("units");
            entry.report(
                key,
                "both units and percent are set: keep one (add a second rule for the other)",
            );
            None
        }
        (None, None) => {
            let key = entry.key("units");
            entry.report(
                key,
                "missing: set units = <whole units> or percent = <0..100> to hold back",
            );
            None
        }
    };
    entry.finish();
    Some(BufferRule {
        warehouse,
        sku,
        amount: amount?,
    })
}

fn read_bundle(mut entry: Reader<'_>) -> Option<BundleDefinition> {
    let sku = entry.required(
        "sku",
        "set it to the bundle's SKU in Shopify, e.g. \"GIFT-SET\"",
        string,
    );
    let components = entry.array(
        "components",
        Need::AtLeastOne(r#"list what one bundle holds, e.g. [{ sku = "MUG-1", quantity = 2 }]"#),
        component,
    );
    if let Some(sku) = &sku
        && components.iter().any(|(_, c)| &c.sku == sku)
    {
        let key = entry.key("components");
        entry.report(
            key,
            format!("bundle {sku:?} lists itself as a component: remove it"),
        );
    }
    entry.finish();
    Some(BundleDefinition {
        sku: sku?,
        components: components.into_iter().map(|(_, c)| c).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_matches("MUG-*", "MUG-1"));
        assert!(glob_matches("*", "anything"));
        assert!(glob_matches("A*B*C", "AxxBxxC"));
        assert!(!glob_matches("A*B*C", "AxxCxxB"));
        assert!(glob_matches("EXACT", "EXACT"));
        assert!(!glob_matches("EXACT", "EXACTLY"));
        assert!(!glob_matches("*-XL", "TEE-L"));
    }
}
