//! Kits (Tryton's `product_kit` module): a product of type `kit` whose components
//! (`product.component`, on the variant or on its template) make it. Tryton computes a
//! kit's quantity from its components' on hand; the agent computes its availability from
//! their sellable figures instead, as it does for the bundles of its configuration, so
//! the kits are read as bundle definitions.
//!
//! A database without the module has no `product.component` model: no kits.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value, json};

use plumb_common::Sku;

use super::Tryton;
use super::catalog::{Page, read_many, search_read};
use super::values::{field, to_id, to_ids, to_sku, to_text};
use crate::erp::{ErpError, Kit, Kits};

/// Every kit with a SKU.
pub async fn read(tryton: &Tryton) -> Result<Kits, ErpError> {
    let session = &tryton.session;
    let installed = search_read(
        session,
        "ir.model",
        json!([["name", "=", "product.component"]]),
        Page::all(),
        json!(["name"]),
        None,
    )
    .await?;
    if installed.is_empty() {
        return Ok(Kits::default());
    }
    let lines = search_read(
        session,
        "product.component",
        json!([]),
        Page::by_id(),
        json!([
            "parent_template",
            "parent_product",
            "product",
            "quantity",
            "unit",
            "fixed"
        ]),
        None,
    )
    .await?;
    // A template's components make each of its variants that has none of its own.
    let mut templates: Vec<i64> = lines
        .iter()
        .filter(|l| field(l, "parent_product").is_null())
        .map(|l| to_id(field(l, "parent_template")))
        .collect::<Result<_, _>>()?;
    templates.sort_unstable();
    templates.dedup();
    let variants_of: HashMap<i64, Vec<i64>> = read_many(
        session,
        "product.template",
        &templates,
        json!(["products"]),
        None,
    )
    .await?
    .iter()
    .map(|t| Ok((to_id(field(t, "id"))?, to_ids(field(t, "products"))?)))
    .collect::<Result<_, ErpError>>()?;
    let mut own: BTreeMap<i64, Vec<&Map<String, Value>>> = BTreeMap::new();
    let mut inherited: BTreeMap<i64, Vec<&Map<String, Value>>> = BTreeMap::new();
    for line in &lines {
        match field(line, "parent_product") {
            Value::Null => {
                let template = to_id(field(line, "parent_template"))?;
                for variant in variants_of.get(&template).into_iter().flatten() {
                    inherited.entry(*variant).or_default().push(line);
                }
            }
            parent => own.entry(to_id(parent)?).or_default().push(line),
        }
    }
    for (variant, lines) in inherited {
        own.entry(variant).or_insert(lines);
    }
    let mut ids: Vec<i64> = own.keys().copied().collect();
    for line in &lines {
        ids.push(to_id(field(line, "product"))?);
    }
    ids.sort_unstable();
    ids.dedup();
    let products: HashMap<i64, Map<String, Value>> = read_many(
        session,
        "product.product",
        &ids,
        json!(["suffix_code", "type", "default_uom"]),
        None,
    )
    .await?
    .into_iter()
    .map(|p| Ok((to_id(field(&p, "id"))?, p)))
    .collect::<Result<_, ErpError>>()?;
    let mut kits = Kits::default();
    for (kit, lines) in own {
        let Some(product) = products.get(&kit) else {
            continue;
        };
        if to_text(field(product, "type")).as_deref() != Some("kit") {
            continue;
        }
        let Some(sku) = to_sku(field(product, "suffix_code")) else {
            continue;
        };
        match components(&lines, &products) {
            Ok(components) => kits.kits.push(Kit { sku, components }),
            Err(why) => kits.unusable.push((sku, why)),
        }
    }
    Ok(kits)
}

/// A kit's components as (SKU, whole units per kit), or why they cannot be.
fn components(
    lines: &[&Map<String, Value>],
    products: &HashMap<i64, Map<String, Value>>,
) -> Result<Vec<(Sku, i64)>, String> {
    let mut out = Vec::with_capacity(lines.len());
    for line in lines {
        let id = to_id(field(line, "product")).map_err(|e| e.to_string())?;
        let product = products
            .get(&id)
            .ok_or_else(|| format!("its component product {id} cannot be read"))?;
        let sku = to_sku(field(product, "suffix_code"))
            .ok_or_else(|| format!("its component product {id} has no code"))?;
        if field(line, "fixed").as_bool() == Some(true) {
            return Err(format!(
                "component {sku} is fixed (the same quantity whatever the kit count)"
            ));
        }
        if field(line, "unit") != field(product, "default_uom") {
            return Err(format!(
                "component {sku} is counted in another unit than its product's"
            ));
        }
        let quantity = field(line, "quantity").as_f64().unwrap_or_default();
        if quantity < 1.0 || quantity.fract() != 0.0 {
            return Err(format!(
                "component {sku} is {quantity} units a kit, not a whole number of units"
            ));
        }
        // Whole and at least 1: exact in an i64.
        #[allow(clippy::cast_possible_truncation)]
        out.push((sku, quantity as i64));
    }
    if out.is_empty() {
        return Err("it has no components".to_owned());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn only_whole_units_of_the_products_own_unit_make_a_bundle() {
        let products: HashMap<i64, Map<String, Value>> = [
            (
                5,
                row(json!({"id": 5, "suffix_code": "MUG", "default_uom": 1})),
            ),
            (
                6,
                row(json!({"id": 6, "suffix_code": null, "default_uom": 1})),
            ),
        ]
        .into_iter()
        .collect();
        let line = |product: i64, quantity: f64, unit: i64, fixed: bool| {
            row(json!({"product": product, "quantity": quantity, "unit": unit, "fixed": fixed}))
        };
        let whole = line(5, 2.0, 1, false);
        assert_eq!(
            components(&[&whole], &products),
            Ok(vec![(Sku::new("MUG").unwrap(), 2)])
        );
        for (bad, why) in [
            (line(5, 1.5, 1, false), "not a whole number"),
            (line(5, 2.0, 2, false), "another unit"),
            (line(5, 2.0, 1, true), "fixed"),
            (line(6, 1.0, 1, false), "no code"),
        ] {
            let error = components(&[&bad], &products).unwrap_err();
            assert!(error.contains(why), "{error}");
        }
        assert!(components(&[], &products).is_err());
    }
}
