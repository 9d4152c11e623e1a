//! The 2026-04+ request contracts Shopify enforces before executing anything: the input
//! array cap, `@idempotent(key:)` on the mutations that require it, and an explicit
//! `changeFromQuantity` on every inventory row. Each refusal is a top-level error with
//! Shopify's message and code, and no `data`.

use apollo_compiler::ExecutableDocument;
use apollo_compiler::Node;
use apollo_compiler::executable::{Field, Operation};
use serde_json::{Map, Value, json};

use super::document::{arguments, fields, location, value_json};
use super::mutations::IDEMPOTENT;

/// Input arrays hold at most 250 items.
pub const MAX_INPUT_ARRAY: usize = 250;

/// An idempotent root field of the request.
#[derive(Debug, Clone)]
pub struct KeyedField {
    /// Its response key (alias or name).
    pub response_key: String,
    /// The idempotency key.
    pub key: String,
    /// What must match for a replay: the field and its arguments as sent.
    pub fingerprint: String,
}

/// Checks the contracts; returns the idempotent fields, or the errors to answer with.
pub fn check(
    document: &ExecutableDocument,
    operation: &Node<Operation>,
    variables: &Map<String, Value>,
) -> Result<Vec<KeyedField>, Vec<Value>> {
    let mut errors = Vec::new();
    walk_arrays(
        document,
        &operation.selection_set,
        variables,
        &mut Vec::new(),
        &mut errors,
        0,
    );
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut keyed = Vec::new();
    if operation.operation_type.is_mutation() {
        for field in fields(document, &operation.selection_set) {
            let name = field.name.as_str();
            let args = arguments(field, variables);
            if IDEMPOTENT.contains(&name) {
                match idempotency_key(field, variables) {
                    Some(key) if !key.trim().is_empty() => keyed.push(KeyedField {
                        response_key: field.response_key().as_str().to_owned(),
                        fingerprint: format!("{name}:{}", Value::Object(args.clone())),
                        key,
                    }),
                    Some(_) => errors.push(json!({
                        "message": "The idempotency key cannot be an empty string or whitespace only.",
                        "locations": location(document, field),
                        "path": [name],
                        "extensions": {"code": "BAD_REQUEST"},
                    })),
                    None => errors.push(json!({
                        "message": "The @idempotent directive is required for this mutation but was not provided.",
                        "locations": location(document, field),
                        "path": [name],
                        "extensions": {"code": "BAD_REQUEST"},
                    })),
                }
            }
            let rows = match name {
                "inventorySetQuantities" => Some(("quantities", "InventoryQuantityInput")),
                "inventoryAdjustQuantities" => Some(("changes", "InventoryChangeInput")),
                _ => None,
            };
            if let Some((list, type_name)) = rows {
                let missing = args
                    .get("input")
                    .and_then(|input| input.get(list))
                    .and_then(Value::as_array)
                    .is_some_and(|rows| {
                        rows.iter()
                            .any(|row| row.get("changeFromQuantity").is_none())
                    });
                if missing {
                    errors.push(json!({
                        "message": format!("{type_name} must include the following argument: changeFromQuantity."),
                        "locations": location(document, field),
                        "path": [name, "input", list],
                        "extensions": {"code": "INVALID_FIELD_ARGUMENTS"},
                    }));
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(keyed)
    } else {
        Err(errors)
    }
}

fn idempotency_key(field: &Field, variables: &Map<String, Value>) -> Option<String> {
    let directive = field.directives.get("idempotent")?;
    let value = directive.specified_argument_by_name("key")?;
    value_json(value, variables).and_then(|value| value.as_str().map(str::to_owned))
}

fn walk_arrays(
    document: &ExecutableDocument,
    set: &apollo_compiler::executable::SelectionSet,
    variables: &Map<String, Value>,
    path: &mut Vec<String>,
    errors: &mut Vec<Value>,
    depth: usize,
) {
    if depth > 32 {
        return;
    }
    for field in fields(document, set) {
        path.push(field.response_key().as_str().to_owned());
        for (name, value) in arguments(field, variables) {
            let mut value_path = path.clone();
            value_path.push(name);
            check_array(&value, &mut value_path, document, field, errors);
        }
        walk_arrays(
            document,
            &field.selection_set,
            variables,
            path,
            errors,
            depth + 1,
        );
        path.pop();
    }
}

fn check_array(
    value: &Value,
    path: &mut Vec<String>,
    document: &ExecutableDocument,
    field: &Node<Field>,
    errors: &mut Vec<Value>,
) {
    match value {
        Value::Array(items) => {
            if items.len() > MAX_INPUT_ARRAY {
                errors.push(json!({
                    "message": format!(
                        "The input array size of {} is greater than the maximum allowed of {MAX_INPUT_ARRAY}.",
                        items.len()
                    ),
                    "locations": location(document, field),
                    "path": path.clone(),
                    "extensions": {"code": "MAX_INPUT_SIZE_EXCEEDED"},
                }));
                return;
            }
            for item in items {
                check_array(item, path, document, field, errors);
            }
        }
        Value::Object(map) => {
            for (key, value) in map {
                path.push(key.clone());
                check_array(value, path, document, field, errors);
                path.pop();
            }
        }
        _ => {}
    }
}
