//! `[[locations]]`: which ERP warehouse feeds which Shopify location. The mapping must be
//! one-to-one: a warehouse sent to two locations would count its stock twice, and a
//! location fed by two warehouses would flip between their quantities.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use toml::Value;

use super::reader::{Parse, Reader, mismatch};
use super::values::string;

/// One warehouse-to-location pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocationMapping {
    /// The ERP warehouse (its code or name in the ERP).
    pub erp_warehouse: String,
    /// The Shopify location id (the number in `gid://shopify/Location/<id>`).
    pub shopify_location: u64,
}

const GID_PREFIX: &str = "gid://shopify/Location/";

/// Reads every `[[locations]]` entry and reports the warehouses and locations mapped twice.
pub(super) fn read(document: &mut Reader<'_>) -> Vec<LocationMapping> {
    let entries = document.tables("locations", |mut entry| {
        let erp_warehouse = entry.required(
            "erp_warehouse",
            "set it to the ERP warehouse's code, e.g. \"WH-MAIN\"",
            string,
        );
        let shopify_location = entry.required(
            "shopify_location",
            "set it to the Shopify location id, e.g. 12345678 or \
             \"gid://shopify/Location/12345678\"",
            location_id,
        );
        entry.finish();
        Some(LocationMapping {
            erp_warehouse: erp_warehouse?,
            shopify_location: shopify_location?,
        })
    });
    let mut warehouses = BTreeMap::new();
    let mut locations = BTreeMap::new();
    for (key, mapping) in &entries {
        if let Some(first) = first_entry(&mut warehouses, mapping.erp_warehouse.as_str(), key) {
            let message = format!(
                "warehouse {:?} is mapped twice ({first} and {key}): map each ERP warehouse to one \
                 Shopify location, or its stock is counted twice",
                mapping.erp_warehouse
            );
            document.report(format!("{key}.erp_warehouse"), message);
        }
        if let Some(first) = first_entry(&mut locations, mapping.shopify_location, key) {
            let message = format!(
                "Shopify location {} is mapped twice ({first} and {key}): feed each Shopify \
                 location from one ERP warehouse, or its quantity flips between them",
                mapping.shopify_location
            );
            document.report(format!("{key}.shopify_location"), message);
        }
    }
    entries.into_iter().map(|(_, mapping)| mapping).collect()
}

/// Remembers that `entry` maps `value`; returns the entry that mapped it first, if any.
fn first_entry<'e, V: Ord>(
    seen: &mut BTreeMap<V, &'e str>,
    value: V,
    entry: &'e str,
) -> Option<&'e str> {
    match seen.entry(value) {
        Entry::Occupied(first) => Some(*first.get()),
        Entry::Vacant(slot) => {
            slot.insert(entry);
            None
        }
    }
}

/// A location id: a positive integer, or its GraphQL id "gid://shopify/Location/<id>".
fn location_id(value: Value) -> Parse<u64> {
    let expected = r#"a Shopify location id like 12345678 or "gid://shopify/Location/12345678""#;
    let id = match &value {
        Value::Integer(id) => u64::try_from(*id).ok(),
        Value::String(text) => text
            .strip_prefix(GID_PREFIX)
            .filter(|digits| digits.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|digits| digits.parse().ok()),
        other => return Err(mismatch(expected, other)),
    };
    match id {
        Some(id) if id > 0 => Ok(id),
        _ => Err(format!("expected {expected}, got {value}")),
    }
}
