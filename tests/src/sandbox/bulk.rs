//! Bulk operations: `bulkOperationRunQuery` validates the query, then the sandbox runs it
//! over the state with connections unpaginated (as bulk queries are) and serves the result
//! as JSONL, nested connection nodes on their own lines with `__parentId`, the way Shopify
//! writes them.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::fmt::Write;

use apollo_compiler::ExecutableDocument;
use apollo_compiler::resolvers::Execution;
use serde_json::{Map, Value};

use super::inventory::UserError;
use super::objects::{Ctx, Root};
use super::schema::{ApiVersion, schema};
use super::state::{BulkOperation, State, now};

/// Shopify allows five concurrent bulk queries per shop since 2026-01.
pub const MAX_RUNNING: usize = 5;

thread_local! {
    static BULK: Cell<bool> = const { Cell::new(false) };
}

/// Whether the current execution is a bulk run (connections then return every item).
pub fn in_bulk() -> bool {
    BULK.with(Cell::get)
}

/// Creates the operation (`CREATED`); [`run`] completes it.
pub fn create(state: &mut State, version: ApiVersion, query: &str) -> Result<u64, Vec<UserError>> {
    let invalid = |message: String| {
        vec![UserError {
            field: vec!["query".to_owned()],
            message,
            code: Some("INVALID"),
        }]
    };
    let schema = schema(version).map_err(|error| invalid(error.to_string()))?;
    if let Err(errors) = ExecutableDocument::parse_and_validate(schema, query, "bulk.graphql") {
        return Err(invalid(format!("Invalid bulk query: {}", errors.errors)));
    }
    let running = state
        .bulk_operations
        .values()
        .filter(|op| op.status == "CREATED" || op.status == "RUNNING")
        .count();
    if running >= MAX_RUNNING {
        return Err(vec![UserError {
            field: Vec::new(),
            message: format!(
                "A bulk query operation for this app and shop is already in progress: at most {MAX_RUNNING}."
            ),
            code: Some("OPERATION_IN_PROGRESS"),
        }]);
    }
    let id = state.next_id();
    state.bulk_operations.insert(
        id,
        BulkOperation {
            id,
            query: query.to_owned(),
            status: "CREATED".to_owned(),
            object_count: 0,
            root_object_count: 0,
            result: None,
            error_code: None,
            created_at: now(),
            completed_at: None,
        },
    );
    Ok(id)
}

/// Runs operation `id` to completion and announces `bulk_operations/finish`.
pub fn run(state: &mut State, version: ApiVersion, base_url: &str, id: u64) {
    let Some(query) = state.bulk_operations.get(&id).map(|op| op.query.clone()) else {
        return;
    };
    let result = execute(state, version, base_url, &query);
    let Some(op) = state.bulk_operations.get_mut(&id) else {
        return;
    };
    op.completed_at = Some(now());
    match result {
        Ok((lines, roots)) => {
            op.status = "COMPLETED".to_owned();
            op.object_count = lines.len() as u64;
            op.root_object_count = roots;
            let mut result = String::new();
            for line in &lines {
                // Writing to a String cannot fail.
                let _ = writeln!(result, "{line}");
            }
            op.result = Some(result);
        }
        Err(message) => {
            tracing::warn!(bulk_operation = id, %message, "bulk operation failed");
            op.status = "FAILED".to_owned();
            op.error_code = Some("INTERNAL_SERVER_ERROR".to_owned());
        }
    }
    let payload = super::payloads::bulk_finish(op);
    state.announce("bulk_operations/finish", payload);
}

fn execute(
    state: &mut State,
    version: ApiVersion,
    base_url: &str,
    query: &str,
) -> Result<(Vec<Value>, u64), String> {
    let schema = schema(version).map_err(|e| e.to_string())?;
    let document = ExecutableDocument::parse_and_validate(schema, query, "bulk.graphql")
        .map_err(|e| e.errors.to_string())?;
    let ctx = Ctx {
        state: std::cell::RefCell::new(state),
        version,
        base_url: base_url.to_owned(),
        keys: BTreeMap::new(),
        stored: Default::default(),
        bulk_started: Default::default(),
    };
    BULK.with(|flag| flag.set(true));
    let response = Execution::new(schema, &document).execute_sync(&Root {
        ctx: &ctx,
        type_name: "QueryRoot",
    });
    BULK.with(|flag| flag.set(false));
    let response = response.map_err(|e| e.message().to_string())?;
    if let Some(error) = response.errors.first() {
        return Err(error.message.clone());
    }
    let data = serde_json::to_value(response.data).map_err(|e| e.to_string())?;
    let mut lines = Vec::new();
    let mut roots = 0;
    if let Value::Object(data) = data {
        for (_, value) in data {
            match connection_nodes(value) {
                Ok(nodes) => {
                    for node in nodes {
                        roots += 1;
                        flatten(node, None, &mut lines);
                    }
                }
                Err(value) => {
                    roots += 1;
                    flatten(value, None, &mut lines);
                }
            }
        }
    }
    Ok((lines, roots))
}

/// The nodes of a connection-shaped value (`edges[].node` or `nodes[]`), moved out of it;
/// any other value is handed back.
fn connection_nodes(value: Value) -> Result<Vec<Value>, Value> {
    let Value::Object(mut map) = value else {
        return Err(value);
    };
    if let Some(Value::Array(_)) = map.get("edges")
        && let Some(Value::Array(edges)) = map.remove("edges")
    {
        return Ok(edges
            .into_iter()
            .filter_map(|edge| match edge {
                Value::Object(mut edge) => edge.remove("node"),
                _ => None,
            })
            .collect());
    }
    if let Some(Value::Array(_)) = map.get("nodes")
        && let Some(Value::Array(nodes)) = map.remove("nodes")
    {
        return Ok(nodes);
    }
    Err(Value::Object(map))
}

fn flatten(node: Value, parent: Option<&str>, lines: &mut Vec<Value>) {
    let Value::Object(map) = node else {
        lines.push(node);
        return;
    };
    let mut own = Map::new();
    let mut children = Vec::new();
    for (key, value) in map {
        match connection_nodes(value) {
            Ok(nodes) => children.extend(nodes),
            Err(value) => {
                own.insert(key, value);
            }
        }
    }
    let id = own.get("id").and_then(Value::as_str).map(str::to_owned);
    if let Some(parent) = parent {
        own.insert("__parentId".to_owned(), Value::String(parent.to_owned()));
    }
    lines.push(Value::Object(own));
    for child in children {
        flatten(child, id.as_deref(), lines);
    }
}
