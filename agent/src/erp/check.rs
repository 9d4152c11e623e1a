//! The start-up check: does the configuration agree with the ERP?
//!
//! SKUs join Shopify to the ERP, and `[[locations]]` joins warehouses to Shopify locations.
//! A SKU on two ERP products, an ERP warehouse nobody mapped, or a mapped warehouse the ERP
//! does not have would make the flows write wrong stock or skip it silently, so each is
//! reported here, by name, as a problem.

use std::collections::BTreeMap;
use std::fmt;

use super::{Erp, ErpError, Selection};
use crate::config::LocationMapping;

/// One disagreement between the configuration and the ERP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckProblem {
    /// More than one ERP product carries this SKU.
    DuplicateSku {
        /// The SKU.
        sku: String,
        /// The ERP ids of the products carrying it.
        erp_ids: Vec<String>,
    },
    /// An ERP warehouse no `[[locations]]` entry maps: its stock reaches no Shopify location.
    UnmappedWarehouse {
        /// Its code.
        code: String,
    },
    /// A `[[locations]]` entry names a warehouse the ERP does not have.
    MissingWarehouse {
        /// The configured code.
        code: String,
    },
}

impl fmt::Display for CheckProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckProblem::DuplicateSku { sku, erp_ids } => write!(
                f,
                "SKU {sku:?} is on {} ERP products (ids {}): give each product its own SKU",
                erp_ids.len(),
                erp_ids.join(", ")
            ),
            CheckProblem::UnmappedWarehouse { code } => write!(
                f,
                "ERP warehouse {code:?} has no [[locations]] entry: map it to a Shopify \
                 location, or its stock is never synced"
            ),
            CheckProblem::MissingWarehouse { code } => write!(
                f,
                "[[locations]] maps warehouse {code:?}, which the ERP does not have: fix the \
                 code (ERP warehouse codes are case-sensitive)"
            ),
        }
    }
}

/// The outcome of [`check`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CheckReport {
    /// What disagrees; empty when all is well.
    pub problems: Vec<CheckProblem>,
    /// Products with a SKU seen in the ERP.
    pub products: usize,
    /// ERP warehouses seen.
    pub warehouses: usize,
}

impl CheckReport {
    /// Whether nothing disagrees.
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Compares the ERP's products and warehouses with the location mapping.
pub async fn check(erp: &dyn Erp, locations: &[LocationMapping]) -> Result<CheckReport, ErpError> {
    let warehouses = erp.warehouses().await?;
    let products = erp.products(Selection::All).await?;
    let mut problems = Vec::new();

    let mut by_sku: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for product in &products {
        by_sku
            .entry(product.sku.as_str())
            .or_default()
            .push(product.erp_id.clone());
    }
    for (sku, erp_ids) in by_sku {
        if erp_ids.len() > 1 {
            problems.push(CheckProblem::DuplicateSku {
                sku: sku.to_owned(),
                erp_ids,
            });
        }
    }
    for warehouse in &warehouses {
        if !locations.iter().any(|m| m.erp_warehouse == warehouse.code) {
            problems.push(CheckProblem::UnmappedWarehouse {
                code: warehouse.code.clone(),
            });
        }
    }
    for mapping in locations {
        if !warehouses.iter().any(|w| w.code == mapping.erp_warehouse) {
            problems.push(CheckProblem::MissingWarehouse {
                code: mapping.erp_warehouse.clone(),
            });
        }
    }
    Ok(CheckReport {
        problems,
        products: products.len(),
        warehouses: warehouses.len(),
    })
}
