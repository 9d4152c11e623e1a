//! Product mutations the agent uses for what the ERP owns: `productVariantsBulkUpdate`
//! (price, compare-at price, barcode, SKU, cost, tracking), all or nothing unless partial
//! updates are allowed, and `productUpdate` (title, description); both announce
//! `products/update`. A field absent from the input is left as it is.

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

/// One row of `productVariantsBulkUpdate`, parsed.
struct Update {
    variant_id: u64,
    price: Option<Decimal>,
    compare_at_price: Option<Decimal>,
    barcode: Option<String>,
    sku: Option<String>,
    tracked: Option<bool>,
    cost: Option<Decimal>,
}

/// A money or decimal input (a decimal string): absent is `None`; a negative or
/// unparseable one is Shopify's user error.
fn amount(value: Option<&Value>, label: &str) -> Result<Option<Decimal>, (String, &'static str)> {
    let Some(text) = value.and_then(Value::as_str) else {
        return Ok(None);
    };
    match text.parse::<Decimal>() {
        Ok(amount) if amount.is_sign_negative() => Err((
            format!("{label} must be greater than or equal to 0"),
            "NEGATIVE_PRICE_VALUE",
        )),
        Ok(amount) => Ok(Some(amount)),
        Err(_) => Err((format!("{label} is invalid"), "INVALID_INPUT")),
    }
}

/// `productUpdate(product: {id, title, descriptionHtml})`: the product's own fields;
/// returns its id.
pub fn update_product(
    state: &mut State,
    args: &serde_json::Map<String, Value>,
) -> Result<u64, Vec<UserError>> {
    let input = args.get("product").cloned().unwrap_or(Value::Null);
    let product_id = parse_gid(
        "Product",
        input.get("id").and_then(Value::as_str).unwrap_or(""),
    )
    .filter(|id| state.products.contains_key(id))
    .ok_or_else(|| {
        vec![UserError {
            field: vec!["id".to_owned()],
            message: "Product does not exist".to_owned(),
            code: None,
        }]
    })?;
    let title = input.get("title").and_then(Value::as_str);
    if title.is_some_and(|t| t.trim().is_empty()) {
        return Err(vec![UserError {
            field: vec!["title".to_owned()],
            message: "Title can't be blank".to_owned(),
            code: None,
        }]);
    }
    if let Some(product) = state.products.get_mut(&product_id) {
        if let Some(title) = title {
            product.title = title.to_owned();
        }
        if let Some(html) = input.get("descriptionHtml").and_then(Value::as_str) {
            product.description_html = html.to_owned();
        }
        product.updated_at = now();
    }
    let payload = payloads::product(state, product_id, "products/update");
    state.announce("products/update", payload);
    Ok(product_id)
}

/// `productSet(identifier: {handle | id}, input:, synchronous: true)` for a product with
/// one variant: updates the product the identifier names (title, status, its variant's
/// price, compare-at price, barcode, SKU, cost), or creates it with its variant and
/// inventory item; announces `products/update` or `products/create`. Returns its id.
pub fn product_set(
    state: &mut State,
    args: &serde_json::Map<String, Value>,
) -> Result<u64, Vec<UserError>> {
    let input = args.get("input").cloned().unwrap_or(Value::Null);
    let identifier = args.get("identifier").cloned().unwrap_or(Value::Null);
    let handle = identifier
        .get("handle")
        .or_else(|| input.get("handle"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let existing = match parse_gid(
        "Product",
        identifier.get("id").and_then(Value::as_str).unwrap_or(""),
    ) {
        Some(id) if state.products.contains_key(&id) => Some(id),
        Some(_) => {
            return Err(vec![error(
                vec!["identifier".into(), "id".into()],
                "Product does not exist",
                "PRODUCT_DOES_NOT_EXIST",
            )]);
        }
        None => handle.as_ref().and_then(|h| {
            state
                .products
                .values()
                .find(|p| &p.handle == h)
                .map(|p| p.id)
        }),
    };
    let variants = input
        .get("variants")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if variants.len() > 1 {
        return Err(vec![error(
            vec!["input".into(), "variants".into()],
            "The sandbox's productSet takes one variant",
            "INVALID_INPUT",
        )]);
    }
    let title = input
        .get("title")
        .and_then(Value::as_str)
        .map(str::to_owned);
    if existing.is_none() && title.as_deref().is_none_or(|t| t.trim().is_empty()) {
        return Err(vec![error(
            vec!["input".into(), "title".into()],
            "Title can't be blank",
            "BLANK",
        )]);
    }
    let row = variants.first().cloned().unwrap_or(Value::Null);
    let item = row.get("inventoryItem").cloned().unwrap_or(Value::Null);
    let price = amount(row.get("price"), "Price").map_err(|(m, c)| {
        vec![error(
            vec![
                "input".into(),
                "variants".into(),
                "0".into(),
                "price".into(),
            ],
            &m,
            c,
        )]
    })?;
    let compare_at = amount(row.get("compareAtPrice"), "Compare at price").map_err(|(m, c)| {
        vec![error(
            vec![
                "input".into(),
                "variants".into(),
                "0".into(),
                "compareAtPrice".into(),
            ],
            &m,
            c,
        )]
    })?;
    let cost = amount(item.get("cost"), "Cost").map_err(|(m, c)| {
        vec![error(
            vec![
                "input".into(),
                "variants".into(),
                "0".into(),
                "inventoryItem".into(),
                "cost".into(),
            ],
            &m,
            c,
        )]
    })?;
    let sku = row
        .get("sku")
        .or_else(|| item.get("sku"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let barcode = row
        .get("barcode")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let status = input
        .get("status")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let time = now();
    let (product_id, topic) = match existing {
        Some(id) => (id, "products/update"),
        None => {
            let id = state.next_id();
            state.products.insert(
                id,
                super::state::Product {
                    id,
                    title: title.clone().unwrap_or_default(),
                    handle: handle.clone().unwrap_or_else(|| format!("product-{id}")),
                    vendor: String::new(),
                    variants: Vec::new(),
                    description_html: String::new(),
                    status: "ACTIVE".to_owned(),
                    created_at: time,
                    updated_at: time,
                },
            );
            (id, "products/create")
        }
    };
    let first = state
        .products
        .get(&product_id)
        .and_then(|p| p.variants.first().copied());
    let variant_id = match first {
        Some(id) => id,
        None => {
            let variant_id = state.next_id();
            let item_id = state.next_id();
            state.variants.insert(
                variant_id,
                super::state::Variant {
                    id: variant_id,
                    product_id,
                    title: "Default Title".to_owned(),
                    sku: String::new(),
                    price: Decimal::ZERO,
                    compare_at_price: None,
                    barcode: None,
                    inventory_item_id: item_id,
                    created_at: time,
                    updated_at: time,
                },
            );
            state.items.insert(
                item_id,
                super::state::InventoryItem {
                    id: item_id,
                    sku: String::new(),
                    tracked: item.get("tracked").and_then(Value::as_bool).unwrap_or(true),
                    cost: None,
                    variant_id,
                    created_at: time,
                    updated_at: time,
                },
            );
            if let Some(product) = state.products.get_mut(&product_id) {
                product.variants.push(variant_id);
            }
            variant_id
        }
    };
    if let Some(product) = state.products.get_mut(&product_id) {
        if let Some(title) = title {
            product.title = title;
        }
        if let Some(status) = status {
            product.status = status;
        }
        product.updated_at = time;
    }
    if let Some(mut variant) = state.variants.get_mut(&variant_id) {
        if let Some(price) = price {
            variant.price = price;
        }
        if compare_at.is_some() {
            variant.compare_at_price = compare_at;
        }
        if barcode.is_some() {
            variant.barcode = barcode;
        }
        if let Some(sku) = &sku {
            variant.sku = sku.clone();
        }
        variant.updated_at = time;
        let item_id = variant.inventory_item_id;
        if let Some(mut item) = state.items.get_mut(&item_id) {
            if let Some(sku) = sku {
                item.sku = sku;
            }
            if cost.is_some() {
                item.cost = cost;
            }
            item.updated_at = time;
        }
    }
    let payload = payloads::product(state, product_id, topic);
    state.announce(topic, payload);
    Ok(product_id)
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
        let item = row.get("inventoryItem").cloned().unwrap_or(Value::Null);
        let amounts = [
            ("price", row.get("price"), "Price"),
            (
                "compareAtPrice",
                row.get("compareAtPrice"),
                "Compare at price",
            ),
            ("cost", item.get("cost"), "Cost"),
        ]
        .map(|(name, value, label)| amount(value, label).map_err(|e| (name, e)));
        let mut parsed = [None; 3];
        let mut bad = false;
        for (slot, result) in parsed.iter_mut().zip(amounts) {
            match result {
                Ok(value) => *slot = value,
                Err((name, (message, code))) => {
                    let path = if name == "cost" {
                        vec![
                            "variants".to_owned(),
                            index.to_string(),
                            "inventoryItem".to_owned(),
                            "cost".to_owned(),
                        ]
                    } else {
                        field(name)
                    };
                    errors.push(error(path, &message, code));
                    bad = true;
                }
            }
        }
        if bad {
            continue;
        }
        let [price, compare_at_price, cost] = parsed;
        updates.push(Update {
            variant_id,
            price,
            compare_at_price,
            barcode: row
                .get("barcode")
                .and_then(Value::as_str)
                .map(str::to_owned),
            sku: item.get("sku").and_then(Value::as_str).map(str::to_owned),
            tracked: item.get("tracked").and_then(Value::as_bool),
            cost,
        });
    }
    if !errors.is_empty() && !partial {
        return Err(errors);
    }
    let time = now();
    let mut updated = Vec::new();
    for update in updates {
        let Some(mut variant) = state.variants.get_mut(&update.variant_id) else {
            continue;
        };
        if let Some(price) = update.price {
            variant.price = price;
        }
        if let Some(price) = update.compare_at_price {
            variant.compare_at_price = Some(price);
        }
        if let Some(barcode) = &update.barcode {
            variant.barcode = Some(barcode.clone());
        }
        if let Some(sku) = &update.sku {
            variant.sku = sku.clone();
        }
        variant.updated_at = time;
        let item_id = variant.inventory_item_id;
        if let Some(mut item) = state.items.get_mut(&item_id) {
            if let Some(sku) = update.sku {
                item.sku = sku;
            }
            if let Some(tracked) = update.tracked {
                item.tracked = tracked;
            }
            if let Some(cost) = update.cost {
                item.cost = Some(cost);
            }
            item.updated_at = time;
        }
        updated.push(update.variant_id);
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
