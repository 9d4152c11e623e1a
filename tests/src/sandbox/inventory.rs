//! Inventory mutations as Shopify applies them: all-or-nothing per call, compare-and-swap
//! on `changeFromQuantity` per row, `name` limited to what each mutation accepts.

use serde_json::Value;

use super::payloads;
use super::state::{AdjustmentGroup, Change, Level, QuantityName, State, now, parse_gid, text_or};

/// A user error as mutations return them.
#[derive(Debug, Clone)]
pub struct UserError {
    /// Path of the input field.
    pub field: Vec<String>,
    /// Message.
    pub message: String,
    /// Code, from the payload's error-code enum.
    pub code: Option<&'static str>,
}

impl UserError {
    fn new(field: &[&str], message: &str, code: &'static str) -> UserError {
        UserError {
            field: field.iter().map(|part| (*part).to_owned()).collect(),
            message: message.to_owned(),
            code: Some(code),
        }
    }
}

/// Reasons Shopify accepts for quantity changes.
const REASONS: &[&str] = &[
    "correction",
    "cycle_count_available",
    "damaged",
    "movement_created",
    "movement_updated",
    "movement_received",
    "movement_canceled",
    "other",
    "promotion",
    "quality_control",
    "received",
    "reservation_created",
    "reservation_deleted",
    "reservation_updated",
    "restock",
    "safety_stock",
    "shrinkage",
];

/// Quantities may not leave ±1,000,000,000.
const LIMIT: i64 = 1_000_000_000;

fn check_common(input: &Value, errors: &mut Vec<UserError>) {
    let reason = text_or(input.get("reason"), "");
    if !REASONS.contains(&reason) {
        errors.push(UserError::new(
            &["input", "reason"],
            "The specified reason is invalid.",
            "INVALID_REASON",
        ));
    }
    if let Some(uri) = input.get("referenceDocumentUri").and_then(Value::as_str)
        && !valid_uri(uri)
    {
        errors.push(UserError::new(
            &["input", "referenceDocumentUri"],
            "The specified reference document is invalid.",
            "INVALID_REFERENCE_DOCUMENT",
        ));
    }
}

/// A URI with a scheme and content; a GID must name app, type and id.
fn valid_uri(uri: &str) -> bool {
    if let Some(rest) = uri.strip_prefix("gid://") {
        let parts: Vec<&str> = rest.split('/').collect();
        return parts.len() >= 3 && parts.iter().all(|part| !part.is_empty());
    }
    match uri.split_once(':') {
        Some((scheme, rest)) => {
            !scheme.is_empty()
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
                && !rest.trim_start_matches('/').is_empty()
        }
        None => false,
    }
}

struct Row {
    item: u64,
    location: u64,
    value: i64,
    change_from: Option<i64>,
    ledger: Option<String>,
}

fn rows(
    state: &State,
    input: &Value,
    list: &str,
    value_key: &str,
    errors: &mut Vec<UserError>,
) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    let entries = input
        .get(list)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for (index, entry) in entries.iter().enumerate() {
        let index = index.to_string();
        let item_text = text_or(entry.get("inventoryItemId"), "");
        let location_text = text_or(entry.get("locationId"), "");
        let item = parse_gid("InventoryItem", item_text).filter(|id| state.items.contains_key(id));
        let location =
            parse_gid("Location", location_text).filter(|id| state.locations.contains_key(id));
        let (Some(item), Some(location)) = (item, location) else {
            if item.is_none() {
                errors.push(UserError::new(
                    &["input", list, &index, "inventoryItemId"],
                    "The specified inventory item could not be found.",
                    "INVALID_INVENTORY_ITEM",
                ));
            }
            if location.is_none() {
                errors.push(UserError::new(
                    &["input", list, &index, "locationId"],
                    "The specified location could not be found.",
                    "INVALID_LOCATION",
                ));
            }
            continue;
        };
        if !seen.insert((item, location)) {
            errors.push(UserError::new(
                &["input", list, &index, "locationId"],
                "The combination of inventoryItemId and locationId must be unique.",
                "NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR",
            ));
            continue;
        }
        if !state.levels.contains_key(&(item, location)) {
            errors.push(UserError::new(
                &["input", list, &index, "locationId"],
                "The specified inventory item is not stocked at the location.",
                "ITEM_NOT_STOCKED_AT_LOCATION",
            ));
            continue;
        }
        rows.push(Row {
            item,
            location,
            value: entry.get(value_key).and_then(Value::as_i64).unwrap_or(0),
            change_from: entry.get("changeFromQuantity").and_then(Value::as_i64),
            ledger: entry
                .get("ledgerDocumentUri")
                .and_then(Value::as_str)
                .map(str::to_owned),
        });
    }
    rows
}

fn check_cas(
    state: &State,
    rows: &[Row],
    name: QuantityName,
    list: &str,
    errors: &mut Vec<UserError>,
) {
    for (index, row) in rows.iter().enumerate() {
        let current = state
            .levels
            .get(&(row.item, row.location))
            .map(|l| l.get(name))
            .unwrap_or(0);
        if let Some(expected) = row.change_from
            && expected != current
        {
            errors.push(UserError::new(
                &["input", list, &index.to_string(), "changeFromQuantity"],
                "The changeFromQuantity value does not match persisted value.",
                "CHANGE_FROM_QUANTITY_STALE",
            ));
        }
    }
}

/// `inventorySetQuantities`: the new adjustment group (none when nothing changed), or the
/// user errors (then nothing was applied).
pub fn set_quantities(state: &mut State, input: &Value) -> Result<Option<u64>, Vec<UserError>> {
    let mut errors = Vec::new();
    let name_text = text_or(input.get("name"), "");
    let name = match QuantityName::parse(name_text) {
        Some(name @ (QuantityName::Available | QuantityName::OnHand)) => name,
        _ => {
            errors.push(UserError::new(
                &["input", "name"],
                "The quantity name must be either 'available' or 'on_hand'.",
                "INVALID_NAME",
            ));
            return Err(errors);
        }
    };
    check_common(input, &mut errors);
    let rows = rows(state, input, "quantities", "quantity", &mut errors);
    for (index, row) in rows.iter().enumerate() {
        if row.value > LIMIT {
            errors.push(UserError::new(
                &["input", "quantities", &index.to_string(), "quantity"],
                "The total quantity can't be higher than 1,000,000,000.",
                "INVALID_QUANTITY_TOO_HIGH",
            ));
        } else if row.value < -LIMIT {
            errors.push(UserError::new(
                &["input", "quantities", &index.to_string(), "quantity"],
                "The total quantity can't be lower than -1,000,000,000.",
                "INVALID_QUANTITY_TOO_LOW",
            ));
        } else if name == QuantityName::OnHand && row.value < 0 {
            errors.push(UserError::new(
                &["input", "quantities", &index.to_string(), "quantity"],
                "The quantity can't be negative.",
                "INVALID_QUANTITY_NEGATIVE",
            ));
        }
    }
    check_cas(state, &rows, name, "quantities", &mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    let changes = rows
        .iter()
        .map(|row| {
            let current = state
                .levels
                .get(&(row.item, row.location))
                .map(|l| l.get(name))
                .unwrap_or(0);
            (row.item, row.location, name, row.value - current, None)
        })
        .collect();
    Ok(apply(state, input, changes))
}

/// `inventoryAdjustQuantities`.
pub fn adjust_quantities(state: &mut State, input: &Value) -> Result<Option<u64>, Vec<UserError>> {
    let mut errors = Vec::new();
    let name_text = text_or(input.get("name"), "");
    let name = match QuantityName::parse(name_text) {
        Some(name) if !matches!(name, QuantityName::OnHand | QuantityName::Committed) => name,
        _ => {
            errors.push(UserError::new(
                &["input", "name"],
                "The quantity name must be one of: available, damaged, incoming, quality_control, reserved, safety_stock.",
                "INVALID_QUANTITY_NAME",
            ));
            return Err(errors);
        }
    };
    check_common(input, &mut errors);
    let rows = rows(state, input, "changes", "delta", &mut errors);
    for (index, row) in rows.iter().enumerate() {
        if name != QuantityName::Available && row.ledger.is_none() {
            errors.push(UserError::new(
                &["input", "changes", &index.to_string(), "ledgerDocumentUri"],
                "A ledger document URI is required for quantity names other than available.",
                "INVALID_LEDGER_DOCUMENT",
            ));
        }
        let current = state
            .levels
            .get(&(row.item, row.location))
            .map(|l| l.get(name))
            .unwrap_or(0);
        if (current + row.value).abs() > LIMIT {
            errors.push(UserError::new(
                &["input", "changes", &index.to_string(), "delta"],
                "The total quantity can't be higher than 1,000,000,000.",
                "INVALID_QUANTITY_TOO_HIGH",
            ));
        }
    }
    check_cas(state, &rows, name, "changes", &mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    let changes = rows
        .into_iter()
        .map(|row| (row.item, row.location, name, row.value, row.ledger))
        .collect();
    Ok(apply(state, input, changes))
}

type Delta = (u64, u64, QuantityName, i64, Option<String>);

/// Applies deltas, records them in one adjustment group, announces changed levels.
fn apply(state: &mut State, input: &Value, deltas: Vec<Delta>) -> Option<u64> {
    let time = now();
    let mut changes = Vec::new();
    for (item, location, name, delta, ledger) in deltas {
        if delta == 0 {
            continue;
        }
        let Some(level) = state.levels.get_mut(&(item, location)) else {
            continue;
        };
        let on_hand_before = level.get(QuantityName::OnHand);
        level.add(name, delta);
        level.updated_at = Some(time);
        let on_hand_after = level.get(QuantityName::OnHand);
        let reported = if name == QuantityName::OnHand {
            QuantityName::Available
        } else {
            name
        };
        changes.push(Change {
            name: reported,
            delta,
            after: level.get(reported),
            item_id: item,
            location_id: location,
            ledger_document_uri: ledger.clone(),
        });
        if on_hand_after != on_hand_before {
            changes.push(Change {
                name: QuantityName::OnHand,
                delta: on_hand_after - on_hand_before,
                after: on_hand_after,
                item_id: item,
                location_id: location,
                ledger_document_uri: ledger,
            });
        }
        if let Some(mut item) = state.items.get_mut(&item) {
            item.updated_at = time;
        }
        let payload = payloads::inventory_level(state, item, location);
        state.announce("inventory_levels/update", payload);
    }
    if changes.is_empty() {
        return None;
    }
    let id = state.next_id();
    state.adjustment_groups.insert(
        id,
        AdjustmentGroup {
            id,
            reason: text_or(input.get("reason"), "").to_owned(),
            reference_document_uri: input
                .get("referenceDocumentUri")
                .and_then(Value::as_str)
                .map(str::to_owned),
            changes,
            created_at: time,
        },
    );
    Some(id)
}

/// Moves stock between states at one level, as orders do (no adjustment group), and
/// announces the level when `available` changed.
pub fn move_stock(state: &mut State, item: u64, location: u64, moves: &[(QuantityName, i64)]) {
    let time = now();
    let level = state.level_at(item, location, time);
    let before = level.available;
    for (name, delta) in moves {
        level.add(*name, *delta);
    }
    level.updated_at = Some(time);
    let changed = level.available != before;
    if changed {
        let payload = payloads::inventory_level(state, item, location);
        state.announce("inventory_levels/update", payload);
    }
}

/// `inventoryActivate`: stocks `item` at `location` (a no-op if it already is), with
/// `available` if given; announces the level when it is new or changed.
pub fn activate(state: &mut State, item: u64, location: u64, available: Option<i64>) {
    let time = now();
    let existed = state.levels.contains_key(&(item, location));
    let level = state
        .levels
        .entry((item, location))
        .or_insert_with(|| Level {
            created_at: Some(time),
            updated_at: Some(time),
            ..Level::default()
        });
    let changed = match available {
        Some(available) if level.available != available => {
            level.available = available;
            level.updated_at = Some(time);
            true
        }
        _ => false,
    };
    if !existed || changed {
        let payload = payloads::inventory_level(state, item, location);
        state.announce("inventory_levels/update", payload);
    }
}
