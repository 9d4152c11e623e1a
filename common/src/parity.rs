//! Reconciliation results as the agent stores them and publishes them on the control
//! socket: a run ([`ParityRun`]) with its parity per dimension ([`DimensionParity`]), and
//! the mismatches it found ([`Mismatch`]), listed a page at a time.
//!
//! Parity of a dimension = the share of what was compared that agrees on both sides:
//! `100 * (checked - mismatched) / checked` (100 when nothing was compared).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::Timestamp;

/// What a reconciliation compares. The discriminant is the dimension's code in store keys:
/// never renumber.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum ParityDimension {
    /// Stock per SKU x mapped location: what Shopify should show (the inventory flow's
    /// formula over the ERP's figures) against what it shows.
    Inventory = 1,
    /// The catalogue: SKUs on one side only, duplicate SKUs, unmapped locations, untracked
    /// items, items not stocked at a mapped location, ERP-owned fields that differ.
    Catalog = 2,
    /// Orders in a time window: missing or duplicated in the ERP, state mismatches.
    Orders = 3,
    /// Order, tax and refund totals per day and currency.
    Money = 4,
}

impl ParityDimension {
    /// Every dimension, in display order.
    pub const ALL: [ParityDimension; 4] = [
        ParityDimension::Inventory,
        ParityDimension::Catalog,
        ParityDimension::Orders,
        ParityDimension::Money,
    ];

    /// The wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            ParityDimension::Inventory => "inventory",
            ParityDimension::Catalog => "catalog",
            ParityDimension::Orders => "orders",
            ParityDimension::Money => "money",
        }
    }

    /// The stable one-byte code used in store keys.
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// The dimension for a store code; `None` for a code this build does not know.
    pub fn from_code(code: u8) -> Option<ParityDimension> {
        ParityDimension::ALL.into_iter().find(|d| d.code() == code)
    }
}

impl fmt::Display for ParityDimension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How much a run compares (`[reconcile]` in the configuration says when each runs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunScope {
    /// The hourly pass: stock per SKU x location, and the orders of the window.
    Light,
    /// The daily pass, and every run asked for on the control socket: every dimension.
    #[default]
    Full,
}

impl RunScope {
    /// The scope in words: "light" or "full".
    pub const fn as_str(self) -> &'static str {
        match self {
            RunScope::Light => "light",
            RunScope::Full => "full",
        }
    }

    /// The dimensions a run of this scope compares (those this build implements).
    pub const fn dimensions(self) -> &'static [ParityDimension] {
        match self {
            RunScope::Light => &[ParityDimension::Inventory, ParityDimension::Orders],
            RunScope::Full => &[
                ParityDimension::Inventory,
                ParityDimension::Catalog,
                ParityDimension::Orders,
                ParityDimension::Money,
            ],
        }
    }
}

/// Why a run ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunTrigger {
    /// The `[reconcile]` schedule.
    Schedule,
    /// A request on the control socket (`plumb reconcile`, the console's `R` / `d`).
    #[default]
    OnDemand,
}

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    /// Reading and comparing.
    Running,
    /// Finished: its figures are final.
    Done,
    /// Stopped by an error (`error` says which); its figures are partial and it is not
    /// anyone's latest report. The job retries it as a new run.
    Failed,
}

/// The number of mismatches of one kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KindCount {
    /// The kind ("shopify_below", "erp_only"...).
    pub kind: String,
    /// How many.
    pub count: u64,
}

/// One dimension's figures in one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DimensionParity {
    /// The dimension.
    pub dimension: ParityDimension,
    /// What was compared (pairs, SKUs, orders, days x currencies).
    pub checked: u64,
    /// Of those, how many disagree.
    pub mismatched: u64,
    /// `100 * (checked - mismatched) / checked`; 100 when nothing was compared.
    pub parity_percent: f64,
    /// Mismatches by kind, largest first.
    pub kinds: Vec<KindCount>,
    /// Mismatches the normal write path can repair (the others need a person).
    pub repairable: u64,
    /// Repair jobs queued for this dimension's mismatches (0 for a dry run).
    pub repairs_queued: u64,
}

impl DimensionParity {
    /// Figures with the percentage and kinds computed from the counts.
    pub fn new(
        dimension: ParityDimension,
        checked: u64,
        kinds: Vec<KindCount>,
        repairable: u64,
    ) -> DimensionParity {
        let mut kinds = kinds;
        kinds.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.kind.cmp(&b.kind)));
        let mismatched: u64 = kinds.iter().map(|k| k.count).sum();
        DimensionParity {
            dimension,
            checked,
            mismatched,
            parity_percent: parity_percent(checked, mismatched),
            kinds,
            repairable,
            repairs_queued: 0,
        }
    }
}

/// `100 * (checked - mismatched) / checked`, 100 when nothing was compared.
pub fn parity_percent(checked: u64, mismatched: u64) -> f64 {
    if checked == 0 {
        return 100.0;
    }
    let agreeing = checked.saturating_sub(mismatched.min(checked));
    // u64 -> f64 loses precision only beyond 2^53 compared items.
    100.0 * agreeing as f64 / checked as f64
}

/// One reconciliation run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParityRun {
    /// The run (increasing).
    pub id: u64,
    /// How much it compares.
    pub scope: RunScope,
    /// Why it ran.
    pub trigger: RunTrigger,
    /// A dry run lists the writes a repair would make and writes nothing.
    pub dry_run: bool,
    /// When it started.
    pub started_at: Timestamp,
    /// When it finished (done or failed).
    pub finished_at: Option<Timestamp>,
    /// Where it stands.
    pub state: RunState,
    /// Why it failed.
    pub error: Option<String>,
    /// The figures per dimension compared, in [`ParityDimension::ALL`] order.
    pub dimensions: Vec<DimensionParity>,
}

impl ParityRun {
    /// The figures of one dimension, if the run compared it.
    pub fn dimension(&self, dimension: ParityDimension) -> Option<&DimensionParity> {
        self.dimensions.iter().find(|d| d.dimension == dimension)
    }
}

/// The latest finished report of one dimension: what the console's Parity view and the
/// alert rules read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatestParity {
    /// The run it comes from.
    pub run: u64,
    /// When that run finished.
    pub at: Timestamp,
    /// The run's scope.
    pub scope: RunScope,
    /// Whether it was a dry run.
    pub dry_run: bool,
    /// The figures.
    pub parity: DimensionParity,
}

/// One disagreement between the two sides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mismatch {
    /// The mismatch within its run (increasing in the order found).
    pub id: u64,
    /// The dimension.
    pub dimension: ParityDimension,
    /// The kind, stable for filters and alerts: inventory `shopify_above`,
    /// `shopify_below`; catalog `erp_only`, `shopify_only`, `duplicate_sku_shopify`,
    /// `duplicate_sku_erp`, `untracked_item`, `not_stocked_at_location`,
    /// `unmapped_location`, `field_differs`; orders `missing_in_erp`, `duplicated_in_erp`,
    /// `state_mismatch`.
    pub kind: String,
    /// What disagrees: a SKU, a location, an order.
    pub subject: String,
    /// The Shopify location, when the mismatch is about one.
    pub location: Option<u64>,
    /// What the ERP side says (inventory: the target the formula makes of its figures).
    pub erp: Option<String>,
    /// What Shopify says.
    pub shopify: Option<String>,
    /// The mismatch in words, with what to do when it needs a person.
    pub detail: String,
    /// The write a repair makes ("set available of MUG-1 at 7 from 3 to 12"); `None` when
    /// the normal write path cannot repair it.
    pub repair: Option<String>,
    /// Whether a repair was queued for it.
    pub repaired: bool,
}

/// A page of runs, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParityRunQuery {
    /// Start before this run (the previous page's `next`).
    pub before: Option<u64>,
    /// At most this many (the agent caps it).
    pub limit: u32,
}

/// Runs, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParityRunPage {
    /// The runs.
    pub items: Vec<ParityRun>,
    /// Pass as `before` for the next page; `None` on the last one.
    pub next: Option<u64>,
}

/// Which mismatches to list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MismatchQuery {
    /// The run; `None`: the latest finished run comparing `dimension` (or any dimension).
    pub run: Option<u64>,
    /// Only this dimension.
    pub dimension: Option<ParityDimension>,
    /// Only this kind.
    pub kind: Option<String>,
    /// Start after this mismatch id (the previous page's `next`).
    pub after: Option<u64>,
    /// At most this many (the agent caps it).
    pub limit: u32,
}

/// A page of one run's mismatches, in the order found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MismatchPage {
    /// The run they belong to (`None`: no finished run yet).
    pub run: Option<u64>,
    /// The mismatches.
    pub items: Vec<Mismatch>,
    /// Pass as `after` for the next page; `None` on the last one.
    pub next: Option<u64>,
}

/// Which of a run's mismatches a repair covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum MismatchSelection {
    /// Exactly these (marked rows).
    Ids {
        /// Mismatch ids of the run.
        ids: Vec<u64>,
    },
    /// Every mismatch matching both filters (`None` matches all).
    Matching {
        /// Only this dimension.
        dimension: Option<ParityDimension>,
        /// Only this kind.
        kind: Option<String>,
    },
}

impl MismatchSelection {
    /// Whether `mismatch` is selected.
    pub fn selects(&self, mismatch: &Mismatch) -> bool {
        match self {
            MismatchSelection::Ids { ids } => ids.contains(&mismatch.id),
            MismatchSelection::Matching { dimension, kind } => {
                dimension.is_none_or(|d| d == mismatch.dimension)
                    && kind.as_deref().is_none_or(|k| k == mismatch.kind)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parity_is_the_agreeing_share() {
        assert_eq!(parity_percent(0, 0), 100.0);
        assert_eq!(parity_percent(200, 1), 99.5);
        assert_eq!(parity_percent(4, 9), 0.0);
        let figures = DimensionParity::new(
            ParityDimension::Catalog,
            10,
            vec![
                KindCount {
                    kind: "a".into(),
                    count: 1,
                },
                KindCount {
                    kind: "b".into(),
                    count: 3,
                },
            ],
            0,
        );
        assert_eq!(figures.mismatched, 4);
        assert_eq!(figures.parity_percent, 60.0);
        assert_eq!(figures.kinds[0].kind, "b", "largest first");
        for dimension in ParityDimension::ALL {
            assert_eq!(
                ParityDimension::from_code(dimension.code()),
                Some(dimension)
            );
        }
    }
}
