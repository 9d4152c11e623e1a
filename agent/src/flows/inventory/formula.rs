//! What Shopify's `available` should be, as pure functions, so every rule is tested
//! without a store or a network.
//!
//! target = max(0, max(0, sellable - buffer) - committed-not-imported). The buffer is
//! floored on its own first so a large buffer never "eats" into the order reservation
//! twice; the result is floored because Shopify must never be told a negative is sellable.
//! Every rounding goes toward selling less: fractional stock is floored, percentage
//! buffers are rounded up.

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use crate::config::{BufferAmount, BufferRule, BundleComponent, Sellable};
use crate::erp::StockLevel;

/// Whole sellable units of an ERP level, by the configured figure; fractions are floored.
pub fn sellable(level: &StockLevel, figure: Sellable) -> i64 {
    let amount = match figure {
        Sellable::Available => level.available,
        Sellable::OnHandMinusReserved => level.on_hand - level.reserved,
    };
    whole_units(amount)
}

/// Floors a decimal to whole units, saturating at the i64 range.
fn whole_units(amount: Decimal) -> i64 {
    amount
        .floor()
        .to_i64()
        .unwrap_or(if amount.is_sign_negative() {
            i64::MIN
        } else {
            i64::MAX
        })
}

/// Units held back for `sku` in `warehouse`: the sum of every matching rule, percentages
/// of `sellable` (when positive) rounded up.
pub fn buffer(rules: &[BufferRule], sku: &str, warehouse: &str, sellable: i64) -> i64 {
    rules
        .iter()
        .filter(|rule| rule.matches(sku, warehouse))
        .map(|rule| match rule.amount {
            BufferAmount::Units(units) => units,
            BufferAmount::Percent(percent) => {
                let base = i128::from(sellable.max(0));
                let held = (base * i128::from(percent) + 99) / 100;
                i64::try_from(held).unwrap_or(i64::MAX)
            }
        })
        .fold(0i64, i64::saturating_add)
}

/// Shopify's target: sellable less the buffer (floored at 0), less the units Shopify has
/// committed for orders the ERP has not received yet, floored at 0.
pub fn target(sellable: i64, buffer: i64, unimported: i64) -> i64 {
    sellable
        .saturating_sub(buffer)
        .max(0)
        .saturating_sub(unimported.max(0))
        .max(0)
}

/// How many bundles the components make: the minimum over components of
/// floor(component units / units per bundle). `component_units` gives each component's
/// sellable units (`None`: the ERP has no stock of it, so no bundle can be made).
pub fn bundle_units(
    components: &[BundleComponent],
    mut component_units: impl FnMut(&str) -> Option<i64>,
) -> i64 {
    components
        .iter()
        .map(|c| {
            let units = component_units(&c.sku).unwrap_or(0).max(0);
            units / c.quantity.max(1)
        })
        .min()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level(on_hand: i64, reserved: i64, available: &str) -> StockLevel {
        StockLevel {
            sku: plumb_common::Sku::new("MUG-1").expect("sku"),
            warehouse: "WH".into(),
            on_hand: Decimal::from(on_hand),
            reserved: Decimal::from(reserved),
            incoming: Decimal::ZERO,
            available: available.parse().expect("decimal"),
        }
    }

    fn rule(warehouse: Option<&str>, sku: Option<&str>, amount: BufferAmount) -> BufferRule {
        BufferRule {
            warehouse: warehouse.map(str::to_owned),
            sku: sku.map(str::to_owned),
            amount,
        }
    }

    #[test]
    fn sellable_follows_the_configured_figure_and_floors_fractions() {
        let l = level(10, 3, "6.7");
        assert_eq!(sellable(&l, Sellable::Available), 6);
        assert_eq!(sellable(&l, Sellable::OnHandMinusReserved), 7);
        assert_eq!(sellable(&level(0, 0, "-2.5"), Sellable::Available), -3);
    }

    #[test]
    fn buffers_add_up_by_location_and_pattern_and_round_up() {
        let rules = [
            rule(Some("WH-MAIN"), None, BufferAmount::Units(2)),
            rule(None, Some("GLASS-*"), BufferAmount::Percent(10)),
            rule(Some("WH-EAST"), Some("MUG-*"), BufferAmount::Units(5)),
        ];
        assert_eq!(buffer(&rules, "MUG-1", "WH-MAIN", 100), 2);
        assert_eq!(buffer(&rules, "GLASS-1", "WH-MAIN", 100), 12);
        assert_eq!(
            buffer(&rules, "GLASS-1", "WH-WEST", 11),
            2,
            "10% of 11 rounds up"
        );
        assert_eq!(buffer(&rules, "MUG-1", "WH-EAST", 100), 5);
        assert_eq!(buffer(&rules, "TEE-1", "WH-WEST", 100), 0);
        assert_eq!(buffer(&rules, "GLASS-1", "WH-WEST", -4), 0);
    }

    #[test]
    fn target_subtracts_buffer_and_unimported_orders_and_never_goes_negative() {
        assert_eq!(target(10, 2, 3), 5);
        assert_eq!(target(10, 0, 0), 10);
        assert_eq!(target(3, 5, 0), 0, "a buffer larger than stock floors at 0");
        assert_eq!(target(10, 2, 9), 0, "sold but not imported floors at 0");
        assert_eq!(
            target(-4, 0, 0),
            0,
            "an oversold ERP shows 0, not a negative"
        );
        assert_eq!(target(i64::MIN, i64::MAX, i64::MAX), 0);
        assert_eq!(
            target(i64::MAX, 0, -5),
            i64::MAX,
            "negative counts are ignored"
        );
    }

    #[test]
    fn bundles_take_the_scarcest_component() {
        let components = [
            BundleComponent {
                sku: "MUG-1".into(),
                quantity: 2,
            },
            BundleComponent {
                sku: "GLASS-1".into(),
                quantity: 4,
            },
        ];
        let stock = |mug: i64, glass: Option<i64>| {
            move |sku: &str| if sku == "MUG-1" { Some(mug) } else { glass }
        };
        assert_eq!(bundle_units(&components, stock(10, Some(40))), 5);
        assert_eq!(bundle_units(&components, stock(10, Some(11))), 2);
        assert_eq!(bundle_units(&components, stock(1, Some(40))), 0);
        assert_eq!(bundle_units(&components, stock(10, None)), 0);
        assert_eq!(bundle_units(&components, stock(-3, Some(40))), 0);
        assert_eq!(bundle_units(&[], stock(10, Some(10))), 0);
    }
}
