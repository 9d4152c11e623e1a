//! Walking a validated document: fields with fragments flattened, argument values with
//! variables substituted. Shared by the contract checks, cost and idempotency.

use apollo_compiler::ExecutableDocument;
use apollo_compiler::Node;
use apollo_compiler::ast;
use apollo_compiler::executable::{Field, Selection, SelectionSet};
use serde_json::{Map, Value};

/// The fields of `set`, fragments and inline fragments flattened.
pub fn fields<'d>(document: &'d ExecutableDocument, set: &'d SelectionSet) -> Vec<&'d Node<Field>> {
    let mut out = Vec::new();
    collect(document, set, &mut out, 0);
    out
}

fn collect<'d>(
    document: &'d ExecutableDocument,
    set: &'d SelectionSet,
    out: &mut Vec<&'d Node<Field>>,
    depth: usize,
) {
    // Validation rejects fragment cycles; the depth guard only bounds the recursion.
    if depth > 64 {
        return;
    }
    for selection in &set.selections {
        match selection {
            Selection::Field(field) => out.push(field),
            Selection::FragmentSpread(spread) => {
                if let Some(fragment) = document.fragments.get(&spread.fragment_name) {
                    collect(document, &fragment.selection_set, out, depth + 1);
                }
            }
            Selection::InlineFragment(inline) => {
                collect(document, &inline.selection_set, out, depth + 1)
            }
        }
    }
}

/// A literal or variable as JSON; `None` when it names a variable that was not sent.
pub fn value_json(value: &ast::Value, variables: &Map<String, Value>) -> Option<Value> {
    Some(match value {
        ast::Value::Null => Value::Null,
        ast::Value::Enum(name) => Value::String(name.as_str().to_owned()),
        ast::Value::Variable(name) => return variables.get(name.as_str()).cloned(),
        ast::Value::String(text) => Value::String(text.clone()),
        ast::Value::Float(float) => float
            .try_to_f64()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map_or(Value::Null, Value::Number),
        ast::Value::Int(int) => int
            .as_str()
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::String(int.as_str().to_owned())),
        ast::Value::Boolean(flag) => Value::Bool(*flag),
        ast::Value::List(items) => Value::Array(
            items
                .iter()
                .filter_map(|item| value_json(item, variables))
                .collect(),
        ),
        ast::Value::Object(entries) => Value::Object(
            entries
                .iter()
                .filter_map(|(name, value)| {
                    Some((name.as_str().to_owned(), value_json(value, variables)?))
                })
                .collect(),
        ),
    })
}

/// The field's arguments as sent (absent stays absent, explicit null stays null).
pub fn arguments(field: &Field, variables: &Map<String, Value>) -> Map<String, Value> {
    field
        .arguments
        .iter()
        .filter_map(|argument| {
            Some((
                argument.name.as_str().to_owned(),
                value_json(&argument.value, variables)?,
            ))
        })
        .collect()
}

/// 1-based line and column of a field, for error locations.
pub fn location(document: &ExecutableDocument, field: &Node<Field>) -> Value {
    field
        .location()
        .and_then(|span| span.line_column_range(&document.sources))
        .map(|range| serde_json::json!([{"line": range.start.line, "column": range.start.column}]))
        .unwrap_or_else(|| serde_json::json!([]))
}
