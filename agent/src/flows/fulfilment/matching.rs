//! Matching an ERP shipment to an order's fulfillment orders, and recognising a fulfilment
//! Shopify already has for it. Pure: the handler reads both sides, this decides.

use std::collections::BTreeMap;

use rust_decimal::prelude::ToPrimitive;

use crate::erp::Shipment;
use crate::shopify::{ExistingFulfillment, FulfillmentOrder};
use crate::store::Failure;

/// Units per SKU, the shape both sides are compared in.
pub type Units = BTreeMap<String, i64>;

/// What a shipment asks of Shopify, given the order's fulfillment orders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Fulfil these lines (per fulfillment order: its lines and units).
    Fulfil(Vec<(u64, Vec<(u64, i64)>)>),
    /// Nothing is left to fulfil on the order.
    NothingLeft,
    /// The units are left to fulfil, but (some of them) on fulfillment orders assigned to
    /// other locations than the one the shipment left from.
    Elsewhere {
        /// The fulfillment orders holding them.
        fulfillment_orders: Vec<u64>,
        /// Their locations.
        locations: Vec<u64>,
    },
    /// The shipment holds what the order does not have left to fulfil, one line per SKU.
    Unmatched(Vec<String>),
}

/// Fulfillment order statuses a fulfilment may name.
fn fulfillable(order: &FulfillmentOrder) -> bool {
    matches!(order.status.as_str(), "OPEN" | "IN_PROGRESS")
}

/// The shipment's units per SKU: whole, positive (zero lines are dropped); anything else
/// is a permanent failure naming the line.
pub fn shipment_units(shipment: &Shipment) -> Result<Units, Failure> {
    let mut units = Units::new();
    for line in &shipment.lines {
        let whole = line
            .quantity
            .trunc()
            .eq(&line.quantity)
            .then(|| line.quantity.to_i64())
            .flatten()
            .filter(|q| *q >= 0)
            .ok_or_else(|| {
                Failure::permanent(
                    "fractional_quantity",
                    format!(
                        "shipment {} ships {} of {}: Shopify fulfils whole units only; fix \
                         the ERP shipment",
                        shipment.erp_id, line.quantity, line.sku
                    ),
                )
            })?;
        if whole > 0 {
            *units.entry(line.sku.as_str().to_owned()).or_default() += whole;
        }
    }
    if units.is_empty() {
        return Err(Failure::permanent(
            "empty_shipment",
            format!(
                "shipment {} has no line with a SKU and units: nothing to fulfil",
                shipment.erp_id
            ),
        ));
    }
    Ok(units)
}

/// Decides how `units` shipped from `location` are fulfilled on `orders`: from the
/// fulfillment orders assigned to that location, line by line in Shopify's order.
pub fn plan(units: &Units, location: u64, orders: &[FulfillmentOrder]) -> Plan {
    let open: Vec<&FulfillmentOrder> = orders.iter().filter(|o| fulfillable(o)).collect();
    let left: i64 = open
        .iter()
        .flat_map(|o| &o.line_items)
        .map(|l| l.remaining_quantity.max(0))
        .sum();
    if left == 0 {
        return Plan::NothingLeft;
    }
    let mut picked: Vec<(u64, Vec<(u64, i64)>)> = Vec::new();
    let mut unmatched = Vec::new();
    let mut elsewhere: Vec<(u64, u64)> = Vec::new();
    for (sku, &wanted) in units {
        let mut need = wanted;
        for order in open.iter().filter(|o| o.location_id == Some(location)) {
            for line in &order.line_items {
                if need == 0 {
                    break;
                }
                if line.sku.as_deref() != Some(sku.as_str()) || line.remaining_quantity <= 0 {
                    continue;
                }
                let take = need.min(line.remaining_quantity);
                need -= take;
                match picked.iter_mut().find(|(id, _)| *id == order.id) {
                    Some((_, lines)) => lines.push((line.id, take)),
                    None => picked.push((order.id, vec![(line.id, take)])),
                }
            }
        }
        if need == 0 {
            continue;
        }
        let others: Vec<(u64, u64, i64)> = open
            .iter()
            .filter(|o| o.location_id != Some(location))
            .flat_map(|o| {
                o.line_items
                    .iter()
                    .filter(|l| l.sku.as_deref() == Some(sku.as_str()))
                    .map(|l| {
                        (
                            o.id,
                            o.location_id.unwrap_or(0),
                            l.remaining_quantity.max(0),
                        )
                    })
            })
            .filter(|(_, _, left)| *left > 0)
            .collect();
        let there: i64 = others.iter().map(|(_, _, left)| left).sum();
        if there >= need {
            elsewhere.extend(others.iter().map(|(order, at, _)| (*order, *at)));
        } else {
            unmatched.push(format!(
                "{sku}: shipped {wanted}, Shopify has {} left to fulfil",
                wanted - need + there
            ));
        }
    }
    if !unmatched.is_empty() {
        return Plan::Unmatched(unmatched);
    }
    if !elsewhere.is_empty() {
        elsewhere.sort_unstable();
        elsewhere.dedup();
        let mut locations: Vec<u64> = elsewhere.iter().map(|(_, at)| *at).collect();
        locations.sort_unstable();
        locations.dedup();
        return Plan::Elsewhere {
            fulfillment_orders: elsewhere.into_iter().map(|(order, _)| order).collect(),
            locations,
        };
    }
    Plan::Fulfil(picked)
}

/// The fulfilment among `existing` that is this shipment's: same location, same units per
/// SKU, and the shipment's tracking number (or, for a shipment without one, none), not
/// cancelled, and not already recorded for another shipment (`taken`). A fulfilment whose
/// lines Shopify cut short matches when the lines shown fit within the shipment.
pub fn applied<'a>(
    units: &Units,
    tracking_number: Option<&str>,
    location: u64,
    existing: &'a [ExistingFulfillment],
    taken: &[u64],
) -> Option<&'a ExistingFulfillment> {
    existing.iter().find(|f| {
        let mut lines = Units::new();
        for (sku, quantity) in &f.lines {
            *lines.entry(sku.clone().unwrap_or_default()).or_default() += quantity;
        }
        let tracked = match tracking_number {
            Some(number) => f.tracking_numbers.iter().any(|n| n == number),
            None => f.tracking_numbers.is_empty(),
        };
        // Lines cut at Shopify's page: what is shown must fit within the shipment.
        let same_units = if f.lines_complete {
            lines == *units
        } else {
            lines
                .iter()
                .all(|(sku, q)| units.get(sku).is_some_and(|u| q <= u))
        };
        !matches!(f.status.as_str(), "CANCELLED" | "ERROR" | "FAILURE")
            && f.location_id == Some(location)
            && !taken.contains(&f.id)
            && tracked
            && same_units
    })
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;

    use plumb_common::Sku;

    use super::*;
    use crate::erp::ShipmentLine;
    use crate::shopify::FulfillmentOrderLine;

    fn line(id: u64, sku: &str, total: i64, remaining: i64) -> FulfillmentOrderLine {
        FulfillmentOrderLine {
            id,
            sku: Some(sku.to_owned()),
            total_quantity: total,
            remaining_quantity: remaining,
            inventory_item_id: None,
            line_item: serde_json::from_value(
                serde_json::json!({"id": "gid://shopify/LineItem/1"}),
            )
            .expect("ref"),
        }
    }

    fn order(
        id: u64,
        location: u64,
        status: &str,
        lines: Vec<FulfillmentOrderLine>,
    ) -> FulfillmentOrder {
        FulfillmentOrder {
            id,
            status: status.to_owned(),
            request_status: "UNSUBMITTED".to_owned(),
            location_id: Some(location),
            line_items: lines,
            line_items_complete: true,
        }
    }

    fn units(pairs: &[(&str, i64)]) -> Units {
        pairs.iter().map(|(s, q)| ((*s).to_owned(), *q)).collect()
    }

    #[test]
    fn a_partial_shipment_takes_only_its_units_at_its_location() {
        let orders = [order(
            1,
            7,
            "OPEN",
            vec![line(11, "MUG", 3, 3), line(12, "TEE", 1, 1)],
        )];
        assert_eq!(
            plan(&units(&[("MUG", 2)]), 7, &orders),
            Plan::Fulfil(vec![(1, vec![(11, 2)])])
        );
        // A SKU on two lines is taken from both, in Shopify's order.
        let orders = [order(
            1,
            7,
            "IN_PROGRESS",
            vec![line(11, "MUG", 1, 1), line(12, "MUG", 2, 2)],
        )];
        assert_eq!(
            plan(&units(&[("MUG", 3)]), 7, &orders),
            Plan::Fulfil(vec![(1, vec![(11, 1), (12, 2)])])
        );
    }

    #[test]
    fn nothing_left_elsewhere_and_unmatched_are_told_apart() {
        let closed = [order(1, 7, "CLOSED", vec![line(11, "MUG", 3, 0)])];
        assert_eq!(plan(&units(&[("MUG", 1)]), 7, &closed), Plan::NothingLeft);
        let other = [order(2, 9, "OPEN", vec![line(21, "MUG", 3, 3)])];
        assert_eq!(
            plan(&units(&[("MUG", 1)]), 7, &other),
            Plan::Elsewhere {
                fulfillment_orders: vec![2],
                locations: vec![9]
            }
        );
        let open = [order(1, 7, "OPEN", vec![line(11, "MUG", 3, 1)])];
        assert_eq!(
            plan(&units(&[("MUG", 2), ("CAP", 1)]), 7, &open),
            Plan::Unmatched(vec![
                "CAP: shipped 1, Shopify has 0 left to fulfil".to_owned(),
                "MUG: shipped 2, Shopify has 1 left to fulfil".to_owned(),
            ])
        );
    }

    fn shipment(lines: &[(&str, &str)]) -> Shipment {
        Shipment {
            erp_id: "5".into(),
            number: None,
            shopify_order_id: Some(1),
            warehouse: Some("WH".into()),
            carrier: None,
            tracking_number: None,
            tracking_url: None,
            shipped_on: None,
            lines: lines
                .iter()
                .map(|(sku, q)| ShipmentLine {
                    sku: Sku::new(*sku).expect("sku"),
                    quantity: q.parse::<Decimal>().expect("decimal"),
                })
                .collect(),
        }
    }

    #[test]
    fn shipment_units_are_whole_and_summed_per_sku() {
        let found = shipment_units(&shipment(&[("MUG", "1"), ("MUG", "2.000"), ("TEE", "0")]));
        assert_eq!(found.expect("units"), units(&[("MUG", 3)]));
        let half = shipment_units(&shipment(&[("MUG", "1.5")])).expect_err("fraction");
        assert_eq!(half.cause, "fractional_quantity");
        let none = shipment_units(&shipment(&[("MUG", "0")])).expect_err("empty");
        assert_eq!(none.cause, "empty_shipment");
    }

    #[test]
    fn an_applied_shipment_is_recognised_by_location_units_and_tracking() {
        let existing = vec![ExistingFulfillment {
            id: 40,
            status: "SUCCESS".into(),
            location_id: Some(7),
            tracking_numbers: vec!["1Z9".into()],
            lines: vec![(Some("MUG".into()), 1), (Some("MUG".into()), 1)],
            lines_complete: true,
        }];
        let mugs = units(&[("MUG", 2)]);
        assert_eq!(
            applied(&mugs, Some("1Z9"), 7, &existing, &[]).map(|f| f.id),
            Some(40)
        );
        assert!(
            applied(&mugs, Some("1Z9"), 7, &existing, &[40]).is_none(),
            "taken"
        );
        assert!(applied(&mugs, Some("OTHER"), 7, &existing, &[]).is_none());
        assert!(applied(&mugs, None, 7, &existing, &[]).is_none());
        assert!(applied(&mugs, Some("1Z9"), 8, &existing, &[]).is_none());
        assert!(applied(&units(&[("MUG", 1)]), Some("1Z9"), 7, &existing, &[]).is_none());
    }
}
