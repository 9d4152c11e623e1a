//! The ERP's kits as bundles. Read when the inventory flow starts and every
//! [`REFRESH`] after, they join the configuration's bundles (which win for a SKU both
//! define): a kit's availability is then the minimum over its components of their
//! sellable units divided by the units one kit takes, and a component's change recomputes
//! every kit that uses it, exactly as for a configured bundle.

use std::collections::BTreeSet;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use crate::config::{BundleComponent, BundleDefinition, InventoryConfig};
use crate::erp::{Erp, ErpError, Kits};

use super::super::FlowContext;

/// How often the kits are read again.
pub const REFRESH: Duration = Duration::from_secs(600);

/// The kits last read from the ERP, as bundles. Cheap to clone (shared).
#[derive(Debug, Clone, Default)]
pub struct ErpKits(Arc<RwLock<Vec<BundleDefinition>>>);

impl ErpKits {
    /// The kits last read.
    pub fn get(&self) -> Vec<BundleDefinition> {
        self.0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Replaces them; returns the SKUs of the kits that are new or changed.
    fn set(&self, kits: Vec<BundleDefinition>) -> Vec<String> {
        let mut held = self
            .0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let changed = kits
            .iter()
            .filter(|kit| !held.contains(kit))
            .map(|kit| kit.sku.clone())
            .collect();
        *held = kits;
        changed
    }
}

impl FlowContext {
    /// `[inventory]` with the ERP's kits among its bundles.
    pub fn inventory(&self) -> InventoryConfig {
        let mut inventory = self.config.inventory.clone();
        inventory.bundles.extend(self.erp_kits.get());
        inventory
    }
}

/// The kits as bundles, leaving out those the configuration defines (it wins) and
/// logging those that cannot be bundles.
pub fn as_bundles(kits: Kits, configured: &[BundleDefinition]) -> Vec<BundleDefinition> {
    for (sku, why) in &kits.unusable {
        tracing::error!(
            flow = "inventory",
            %sku,
            cause = "kit_not_supported",
            "ERP kit {sku} cannot be synced as a bundle: {why}; define it in [[inventory.bundles]] or change the kit"
        );
    }
    let configured: BTreeSet<&str> = configured.iter().map(|b| b.sku.as_str()).collect();
    kits.kits
        .into_iter()
        .filter(|kit| {
            let both = configured.contains(kit.sku.as_str());
            if both {
                tracing::warn!(
                    flow = "inventory",
                    sku = %kit.sku,
                    "SKU {} is a kit in the ERP and a bundle in [[inventory.bundles]]: the configured bundle is used",
                    kit.sku
                );
            }
            !both
        })
        .map(|kit| BundleDefinition {
            sku: kit.sku.as_str().to_owned(),
            components: kit
                .components
                .into_iter()
                .map(|(sku, quantity)| BundleComponent {
                    sku: sku.as_str().to_owned(),
                    quantity,
                })
                .collect(),
        })
        .collect()
}

/// Reads the kits and keeps them; returns the SKUs of those new or changed since the last
/// read (all of them at the first).
pub async fn refresh(context: &FlowContext, erp: &dyn Erp) -> Result<Vec<String>, ErpError> {
    let kits = erp.kits().await?;
    let bundles = as_bundles(kits, &context.config.inventory.bundles);
    let count = bundles.len();
    let changed = context.erp_kits.set(bundles);
    if !changed.is_empty() {
        tracing::info!(
            flow = "inventory",
            kits = count,
            changed = changed.len(),
            "ERP kits read as bundles"
        );
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use plumb_common::Sku;

    use super::*;
    use crate::erp::Kit;

    fn sku(text: &str) -> Sku {
        Sku::new(text).unwrap()
    }

    #[test]
    fn kits_become_bundles_unless_configured_and_changes_are_named() {
        let configured = vec![BundleDefinition {
            sku: "GIFT".into(),
            components: vec![BundleComponent {
                sku: "MUG".into(),
                quantity: 1,
            }],
        }];
        let kits = Kits {
            kits: vec![
                Kit {
                    sku: sku("GIFT"),
                    components: vec![(sku("MUG"), 3)],
                },
                Kit {
                    sku: sku("PAIR"),
                    components: vec![(sku("MUG"), 2)],
                },
            ],
            unusable: vec![(sku("HALF"), "a fraction".into())],
        };
        let bundles = as_bundles(kits.clone(), &configured);
        assert_eq!(
            bundles.len(),
            1,
            "the configured GIFT wins, HALF is left out"
        );
        assert_eq!(bundles[0].sku, "PAIR");
        assert_eq!(bundles[0].components[0].quantity, 2);

        let held = ErpKits::default();
        assert_eq!(held.set(bundles.clone()), vec!["PAIR".to_owned()]);
        assert!(held.set(bundles.clone()).is_empty(), "unchanged");
        let mut more = bundles;
        more[0].components[0].quantity = 4;
        assert_eq!(held.set(more), vec!["PAIR".to_owned()]);
        assert_eq!(held.get()[0].components[0].quantity, 4);
    }
}
