//! Product mutations the agent uses for what the ERP owns (price, SKU):
//! `productVariantsBulkUpdate`, all or nothing unless partial updates are allowed;
//! announces `products/update`.

use rust_decimal::Decimal;
use serde_json::Value;

use super::inventory::UserError;
use super::payloads;
use super::state::{State, now, parse_gid};

fn error(field: Vec<String>, message: &str, code: &'static str) -> UserError {
    UserError {
        field,
        message: message.to_owned(),
        code: Some(code),
    }
}

/// Updates variants of `product_id`; returns the product and the variants updated.
pub fn bulk_update_variants(
    state: &mut State,
    args: &serde_json::Map<String, Value>,
) -> Result<(u64, Vec<u64>), Vec<UserError>> {
    let product_id = parse_gid(
        "Product",
        args.get("productId").and_then(Value::as_str).unwrap_or(""),
    )
    .filter(|id| state.products.contains_key(id))
    .ok_or_else(|| {
        vec![error(
            vec!["productId".to_owned()],
            "Product does not exist",
            "PRODUCT_DOES_NOT_EXIST",
        )]
    })?;
    let partial = args.get("allowPartialUpdates").and_then(Value::as_bool) == Some(true);
    let rows = args
        .get("variants")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut errors = Vec::new();
    let mut updates = Vec::new();
    for (index, row) in rows.iter().enumerate() {
        let field = |name: &str| vec!["variants".to_owned(), index.to_string(), name.to_owned()];
        let Some(variant_id) = parse_gid(
            "ProductVariant",
            row.get("id").and_then(Value::as_str).unwrap_or(""),
        )
        .filter(|id| state.variants.contains_key(id)) else {
            errors.push(error(
                field("id"),
                "Product variant does not exist",
                "PRODUCT_VARIANT_DOES_NOT_EXIST",
            ));
            continue;
        };
        if state
            .variants
            .get(&variant_id)
            .is_some_and(|v| v.product_id != product_id)
        {
            errors.push(error(
                field("id"),
                "Product variant must be for this product",
                "MUST_BE_FOR_THIS_PRODUCT",
            ));
            continue;
        }
        if row.get("inventoryQuantities").is_some_and(|q| !q.is_null()) {
            errors.push(error(
                field("inventoryQuantities"),
                "Inventory quantities can only be provided during create. To update inventory for existing variants, use inventoryAdjustQuantities.",
                "NO_INVENTORY_QUANTITIES_ON_VARIANTS_UPDATE",
            ));
            continue;
        }
        let price = match row.get("price").and_then(Value::as_str) {
            Some(text) => match text.parse::<Decimal>() {
                Ok(price) if price.is_sign_negative() => {
                    errors.push(error(
                        field("price"),
                        "Price must be greater than or equal to 0",
                        "NEGATIVE_PRICE_VALUE",
                    ));
                    continue;
                }
                Ok(price) => Some(price),
                Err(_) => {
                    errors.push(error(field("price"), "Price is invalid", "INVALID_INPUT"));
                    continue;
                }
            },
            None => None,
        };
        let item = row.get("inventoryItem").cloned().unwrap_or(Value::Null);
        let sku = item.get("sku").and_then(Value::as_str).map(str::to_owned);
        let tracked = item.get("tracked").and_then(Value::as_bool);
        updates.push((variant_id, price, sku, tracked));
    }
    if !errors.is_empty() && !partial {
        return Err(errors);
    }
    let time = now();
    let mut updated = Vec::new();
    for (variant_id, price, sku, tracked) in updates {
        let Some(variant) = state.variants.get_mut(&variant_id) else {
            continue;
        };
        if let Some(price) = price {
            variant.price = price;
        }
        if let Some(sku) = &sku {
            variant.sku = sku.clone();
        }
        variant.updated_at = time;
        let item_id = variant.inventory_item_id;
        if let Some(item) = state.items.get_mut(&item_id) {
            if let Some(sku) = sku {
                item.sku = sku;
            }
            if let Some(tracked) = tracked {
                item.tracked = tracked;
            }
            item.updated_at = time;
        }
        updated.push(variant_id);
    }
    if let Some(product) = state.products.get_mut(&product_id) {
        product.updated_at = time;
    }
    if !updated.is_empty() {
        let payload = payloads::product(state, product_id, "products/update");
        state.announce("products/update", payload);
    }
    if errors.is_empty() {
        Ok((product_id, updated))
    } else {
        Err(errors)
    }
}
