//! Locations, products, variants, inventory items, levels and adjustment groups.

use apollo_compiler::resolvers::{FieldError, ResolveInfo};

use super::super::connection::connection;
use super::super::objects::{Ctx, Out, Record, Ref, args, field_error, unimplemented};
use super::super::search::{Filter, SearchValue};
use super::super::state::{QuantityName, gid, iso, level_gid, parse_gid};
use super::{decimal, gone, money};

/// `Location`.
pub fn location(ctx: &Ctx<'_>, id: u64, info: &ResolveInfo<'_>) -> Result<Out, FieldError> {
    let field = info.field_name();
    let state = ctx.state.borrow();
    let location = state
        .locations
        .get(&id)
        .ok_or_else(|| gone("Location", id))?;
    Ok(match field {
        "id" => gid("Location", id).into(),
        "legacyResourceId" => id.to_string().into(),
        "name" => location.name.clone().into(),
        "isActive"
        | "activatable"
        | "shipsInventory"
        | "fulfillsOnlineOrders"
        | "hasActiveInventory" => location.active.into(),
        "deactivatable" => (!location.active).into(),
        "isFulfillmentService" | "isPrimary" => false.into(),
        "deactivatedAt" => Out::Null,
        "address" => Record::new("LocationAddress")
            .with("address1", Out::Null)
            .with("address2", Out::Null)
            .with("city", Out::Null)
            .with("province", Out::Null)
            .with("provinceCode", Out::Null)
            .with("country", "United States")
            .with("countryCode", "US")
            .with("zip", Out::Null)
            .with("phone", Out::Null)
            .with("formatted", Out::List(vec![Out::from("United States")]))
            .out(),
        "createdAt" => iso(location.created_at).into(),
        "updatedAt" => iso(location.updated_at).into(),
        "inventoryLevel" => {
            let item = id_arg(info, "inventoryItemId", "InventoryItem")?;
            state
                .levels
                .contains_key(&(item, id))
                .then_some(Ref::Level(item, id))
                .into()
        }
        "inventoryLevels" => {
            let filter = Filter::parse(
                query_arg(info).as_deref().unwrap_or(""),
                &["inventory_item_id", "updated_at"],
            )?;
            let items = state
                .levels
                .iter()
                .filter(|((_, location), _)| *location == id)
                .filter(|((item, _), level)| {
                    filter.matches(|name| match name {
                        "inventory_item_id" => Some(SearchValue::Number(*item)),
                        "updated_at" => level.updated_at.map(SearchValue::Time),
                        _ => None,
                    })
                })
                .map(|((item, location), _)| (*item, Ref::Level(*item, *location)))
                .collect();
            drop(state);
            connection(info, items)?
        }
        _ => return Err(unimplemented("Location", field)),
    })
}

/// `Product`.
pub fn product(ctx: &Ctx<'_>, id: u64, info: &ResolveInfo<'_>) -> Result<Out, FieldError> {
    let field = info.field_name();
    let state = ctx.state.borrow();
    let product = state.products.get(&id).ok_or_else(|| gone("Product", id))?;
    Ok(match field {
        "id" => gid("Product", id).into(),
        "legacyResourceId" => id.to_string().into(),
        "title" => product.title.clone().into(),
        "handle" => product.handle.clone().into(),
        "descriptionHtml" => product.description_html.clone().into(),
        "vendor" => product.vendor.clone().into(),
        "productType" => "".into(),
        "status" => product.status.clone().into(),
        "tracksInventory" => true.into(),
        "createdAt" => iso(product.created_at).into(),
        "updatedAt" => iso(product.updated_at).into(),
        "totalInventory" => {
            let total: i64 = product
                .variants
                .iter()
                .filter_map(|variant| state.variants.get(variant))
                .map(|variant| state.available_total(variant.inventory_item_id))
                .sum();
            total.into()
        }
        "variants" => {
            let items = product
                .variants
                .iter()
                .map(|v| (*v, Ref::Variant(*v)))
                .collect();
            drop(state);
            connection(info, items)?
        }
        _ => return Err(unimplemented("Product", field)),
    })
}

/// `ProductVariant`.
pub fn variant(ctx: &Ctx<'_>, id: u64, info: &ResolveInfo<'_>) -> Result<Out, FieldError> {
    let field = info.field_name();
    let state = ctx.state.borrow();
    let variant = state
        .variants
        .get(&id)
        .ok_or_else(|| gone("ProductVariant", id))?;
    let product = state.products.get(&variant.product_id);
    Ok(match field {
        "id" => gid("ProductVariant", id).into(),
        "legacyResourceId" => id.to_string().into(),
        "sku" => variant.sku.clone().into(),
        "title" => variant.title.clone().into(),
        "displayName" => format!(
            "{} - {}",
            product.map(|p| p.title.as_str()).unwrap_or(""),
            variant.title
        )
        .into(),
        "price" => decimal(variant.price).into(),
        "compareAtPrice" => variant.compare_at_price.map(decimal).into(),
        "barcode" => variant.barcode.clone().into(),
        "position" => product
            .and_then(|p| p.variants.iter().position(|v| *v == id))
            .map(|position| position as i64 + 1)
            .unwrap_or(1)
            .into(),
        "inventoryPolicy" => "DENY".into(),
        "availableForSale" => (state.available_total(variant.inventory_item_id) > 0).into(),
        "inventoryQuantity" => state.available_total(variant.inventory_item_id).into(),
        "inventoryItem" => Ref::Item(variant.inventory_item_id).into(),
        "product" => Ref::Product(variant.product_id).into(),
        "createdAt" => iso(variant.created_at).into(),
        "updatedAt" => iso(variant.updated_at).into(),
        _ => return Err(unimplemented("ProductVariant", field)),
    })
}

/// `InventoryItem`.
pub fn item(ctx: &Ctx<'_>, id: u64, info: &ResolveInfo<'_>) -> Result<Out, FieldError> {
    let field = info.field_name();
    let state = ctx.state.borrow();
    let item = state
        .items
        .get(&id)
        .ok_or_else(|| gone("InventoryItem", id))?;
    Ok(match field {
        "id" => gid("InventoryItem", id).into(),
        "legacyResourceId" => id.to_string().into(),
        "sku" => item.sku.clone().into(),
        "tracked" => item.tracked.into(),
        "requiresShipping" => true.into(),
        "duplicateSkuCount" => (state.items.with_sku(&item.sku).count() as i64 - 1).into(),
        "countryCodeOfOrigin" | "harmonizedSystemCode" | "provinceCodeOfOrigin" => Out::Null,
        "unitCost" => match item.cost {
            Some(cost) => money(cost, &state.currency),
            None => Out::Null,
        },
        "createdAt" => iso(item.created_at).into(),
        "updatedAt" => iso(item.updated_at).into(),
        "variant" => Ref::Variant(item.variant_id).into(),
        "locationsCount" => Record::new("Count")
            .with("count", state.levels_of(id).count() as i64)
            .with("precision", "EXACT")
            .out(),
        "inventoryLevel" => {
            let location = id_arg(info, "locationId", "Location")?;
            state
                .levels
                .contains_key(&(id, location))
                .then_some(Ref::Level(id, location))
                .into()
        }
        "inventoryLevels" => {
            let filter = Filter::parse(
                query_arg(info).as_deref().unwrap_or(""),
                &["location_id", "updated_at"],
            )?;
            let items = state
                .levels_of(id)
                .filter(|(location, level)| {
                    filter.matches(|name| match name {
                        "location_id" => Some(SearchValue::Number(*location)),
                        "updated_at" => level.updated_at.map(SearchValue::Time),
                        _ => None,
                    })
                })
                .map(|(location, _)| (location, Ref::Level(id, location)))
                .collect();
            drop(state);
            connection(info, items)?
        }
        _ => return Err(unimplemented("InventoryItem", field)),
    })
}

/// `InventoryLevel`.
pub fn level(
    ctx: &Ctx<'_>,
    item: u64,
    location: u64,
    info: &ResolveInfo<'_>,
) -> Result<Out, FieldError> {
    let field = info.field_name();
    let state = ctx.state.borrow();
    let level = state
        .levels
        .get(&(item, location))
        .ok_or_else(|| field_error(format!("InventoryLevel {location}/{item} no longer exists")))?;
    Ok(match field {
        "id" => level_gid(item, location).into(),
        "item" => Ref::Item(item).into(),
        "location" => Ref::Location(location).into(),
        "isActive" | "canDeactivate" => true.into(),
        "deactivationAlert" => Out::Null,
        "createdAt" => level.created_at.map(iso).into(),
        "updatedAt" => level.updated_at.map(iso).into(),
        "quantities" => {
            let names = args(info)
                .get("names")
                .and_then(serde_json::Value::as_array)
                .cloned()
                .unwrap_or_default();
            let mut out = Vec::new();
            for name in names {
                let text = name.as_str().unwrap_or("");
                let quantity = QuantityName::parse(text).ok_or_else(|| {
                    field_error(format!(
                        "Invalid quantity name: '{text}'. Valid names are: available, committed, damaged, incoming, on_hand, quality_control, reserved, safety_stock"
                    ))
                })?;
                out.push(
                    Record::new("InventoryQuantity")
                        .with("id", format!("gid://shopify/InventoryQuantity/{location}?inventory_item_id={item}&name={text}"))
                        .with("name", text)
                        .with("quantity", level.get(quantity))
                        .with("updatedAt", level.updated_at.map(iso))
                        .out(),
                );
            }
            Out::List(out)
        }
        _ => return Err(unimplemented("InventoryLevel", field)),
    })
}

/// `InventoryAdjustmentGroup`.
pub fn group(ctx: &Ctx<'_>, id: u64, info: &ResolveInfo<'_>) -> Result<Out, FieldError> {
    let field = info.field_name();
    let state = ctx.state.borrow();
    let group = state
        .adjustment_groups
        .get(&id)
        .ok_or_else(|| gone("InventoryAdjustmentGroup", id))?;
    Ok(match field {
        "id" => gid("InventoryAdjustmentGroup", id).into(),
        "createdAt" => iso(group.created_at).into(),
        "reason" => group.reason.clone().into(),
        "referenceDocumentUri" => group.reference_document_uri.clone().into(),
        "app" | "staffMember" => Out::Null,
        "changes" => {
            let args = args(info);
            let wanted = |key: &str| -> Option<Vec<String>> {
                args.get(key)
                    .and_then(serde_json::Value::as_array)
                    .map(|values| {
                        values
                            .iter()
                            .filter_map(|v| v.as_str().map(str::to_owned))
                            .collect()
                    })
            };
            let (items, locations, names) = (
                wanted("inventoryItemIds"),
                wanted("locationIds"),
                wanted("quantityNames"),
            );
            Out::List(
                group
                    .changes
                    .iter()
                    .filter(|c| {
                        items
                            .as_ref()
                            .is_none_or(|ids| ids.contains(&gid("InventoryItem", c.item_id)))
                    })
                    .filter(|c| {
                        locations
                            .as_ref()
                            .is_none_or(|ids| ids.contains(&gid("Location", c.location_id)))
                    })
                    .filter(|c| {
                        names
                            .as_ref()
                            .is_none_or(|names| names.iter().any(|n| n == c.name.as_str()))
                    })
                    .map(|c| {
                        Record::new("InventoryChange")
                            .with("name", c.name.as_str())
                            .with("delta", c.delta)
                            .with("quantityAfterChange", c.after)
                            .with("item", Ref::Item(c.item_id))
                            .with("location", Ref::Location(c.location_id))
                            .with("ledgerDocumentUri", c.ledger_document_uri.clone())
                            .out()
                    })
                    .collect(),
            )
        }
        _ => return Err(unimplemented("InventoryAdjustmentGroup", field)),
    })
}

/// The numeric id of a GID argument of type `type_name`.
pub fn id_arg(info: &ResolveInfo<'_>, name: &str, type_name: &str) -> Result<u64, FieldError> {
    let args = args(info);
    let text = args
        .get(name)
        .and_then(serde_json::Value::as_str)
        .unwrap_or("");
    parse_gid(type_name, text).ok_or_else(|| field_error(format!("Invalid global id '{text}'")))
}

/// The `query:` argument, if any.
pub fn query_arg(info: &ResolveInfo<'_>) -> Option<String> {
    args(info)
        .get("query")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
}
