//! Query cost by Shopify's rules: scalars and enums 0, objects 1, a connection 2 plus its
//! page size (`first`/`last`) times the cost of one item, multiplied through nesting, a
//! mutation field 10 (its payload object free, the payload's children charged as usual).
//!
//! The requested cost is computed from the document before execution; the actual cost
//! walks the same selections over the response data, counting the items connections
//! really returned, so the difference can be refunded to the bucket.

use apollo_compiler::ExecutableDocument;
use apollo_compiler::Schema;
use apollo_compiler::executable::{Field, Operation, SelectionSet};
use apollo_compiler::schema::ExtendedType;
use serde_json::{Map, Value};

use super::document::{arguments, fields};

/// One query may request at most this much.
pub const MAX_COST: u64 = 1000;

/// What a mutation field costs.
pub const MUTATION_COST: u64 = 10;

/// Computes costs for one operation.
#[derive(Debug)]
pub struct Costing<'a> {
    /// The schema.
    pub schema: &'a Schema,
    /// The document.
    pub document: &'a ExecutableDocument,
    /// Variables as sent.
    pub variables: &'a Map<String, Value>,
}

#[derive(Debug, PartialEq, Eq)]
enum Kind {
    Leaf,
    Connection,
    Object,
}

impl Costing<'_> {
    fn kind(&self, field: &Field) -> Kind {
        let name = field.definition.ty.inner_named_type();
        match self.schema.types.get(name) {
            Some(ExtendedType::Scalar(_) | ExtendedType::Enum(_)) | None => Kind::Leaf,
            Some(_) if name.as_str().ends_with("Connection") => Kind::Connection,
            Some(_) => Kind::Object,
        }
    }

    fn page_size(&self, field: &Field) -> u64 {
        let args = arguments(field, self.variables);
        ["first", "last"]
            .iter()
            .filter_map(|name| args.get(*name).and_then(Value::as_u64))
            .max()
            .unwrap_or(0)
    }

    /// The requested cost of `operation`.
    pub fn requested(&self, operation: &Operation) -> u64 {
        let mutation = operation.operation_type.is_mutation();
        fields(self.document, &operation.selection_set)
            .into_iter()
            .map(|field| {
                if mutation && field.name.as_str() != "__typename" {
                    MUTATION_COST + self.selection(&field.selection_set)
                } else {
                    self.field(field)
                }
            })
            .sum()
    }

    fn selection(&self, set: &SelectionSet) -> u64 {
        fields(self.document, set)
            .into_iter()
            .map(|field| self.field(field))
            .sum()
    }

    fn field(&self, field: &Field) -> u64 {
        match self.kind(field) {
            Kind::Leaf => 0,
            Kind::Object => 1 + self.selection(&field.selection_set),
            Kind::Connection => 2 + self.page_size(field) * self.item(&field.selection_set),
        }
    }

    /// The cost of one item of a connection: its node (via `edges.node` or `nodes`).
    fn item(&self, set: &SelectionSet) -> u64 {
        let mut cost = 0;
        for field in fields(self.document, set) {
            match field.name.as_str() {
                "edges" => {
                    for inner in fields(self.document, &field.selection_set) {
                        if inner.name.as_str() == "node" {
                            cost = cost.max(1 + self.selection(&inner.selection_set));
                        }
                    }
                }
                "nodes" => cost = cost.max(1 + self.selection(&field.selection_set)),
                _ => {}
            }
        }
        cost
    }

    /// The per-field breakdown Shopify adds under `extensions.cost.fields` when asked with
    /// `Shopify-GraphQL-Cost-Debug: 1`: path, the field's own cost, its total and its
    /// children's.
    pub fn breakdown(&self, operation: &Operation) -> Vec<Value> {
        let mutation = operation.operation_type.is_mutation();
        let mut out = Vec::new();
        for field in fields(self.document, &operation.selection_set) {
            let path = vec![field.response_key().as_str().to_owned()];
            if mutation && field.name.as_str() != "__typename" {
                let children = self.selection(&field.selection_set);
                out.push(entry(
                    &path,
                    MUTATION_COST,
                    MUTATION_COST + children,
                    children,
                ));
                self.breakdown_children(&field.selection_set, &path, 1, &mut out);
            } else {
                self.breakdown_field(field, &path, 1, &mut out);
            }
        }
        out
    }

    fn breakdown_field(
        &self,
        field: &Field,
        path: &[String],
        multiplier: u64,
        out: &mut Vec<Value>,
    ) {
        match self.kind(field) {
            Kind::Leaf => {}
            Kind::Object => {
                let children = self.selection(&field.selection_set);
                out.push(entry(
                    path,
                    1,
                    multiplier * (1 + children),
                    multiplier * children,
                ));
                self.breakdown_children(&field.selection_set, path, multiplier, out);
            }
            Kind::Connection => {
                let page = self.page_size(field);
                let children = page * self.item(&field.selection_set);
                out.push(entry(
                    path,
                    2,
                    multiplier * (2 + children),
                    multiplier * children,
                ));
                self.breakdown_children(&field.selection_set, path, multiplier * page.max(1), out);
            }
        }
    }

    fn breakdown_children(
        &self,
        set: &SelectionSet,
        path: &[String],
        multiplier: u64,
        out: &mut Vec<Value>,
    ) {
        for child in fields(self.document, set) {
            let mut child_path = path.to_vec();
            child_path.push(child.response_key().as_str().to_owned());
            // `edges` and `node` are the connection's own structure, charged with it.
            if matches!(child.name.as_str(), "edges" | "node" | "nodes") {
                self.breakdown_children(&child.selection_set, &child_path, multiplier, out);
            } else {
                self.breakdown_field(child, &child_path, multiplier, out);
            }
        }
    }

    /// The actual cost of `operation` given the response `data`.
    pub fn actual(&self, operation: &Operation, data: &Value) -> u64 {
        let mutation = operation.operation_type.is_mutation();
        fields(self.document, &operation.selection_set)
            .into_iter()
            .map(|field| {
                let value = data
                    .get(field.response_key().as_str())
                    .unwrap_or(&Value::Null);
                if mutation && field.name.as_str() != "__typename" {
                    MUTATION_COST + self.actual_selection(&field.selection_set, value)
                } else {
                    self.actual_field(field, value)
                }
            })
            .sum()
    }

    fn actual_selection(&self, set: &SelectionSet, value: &Value) -> u64 {
        if value.is_null() {
            return 0;
        }
        fields(self.document, set)
            .into_iter()
            .map(|field| {
                let inner = value
                    .get(field.response_key().as_str())
                    .unwrap_or(&Value::Null);
                self.actual_field(field, inner)
            })
            .sum()
    }

    fn actual_field(&self, field: &Field, value: &Value) -> u64 {
        match self.kind(field) {
            Kind::Leaf => 0,
            Kind::Object => {
                let first = match value {
                    Value::Array(items) => items.first().unwrap_or(&Value::Null),
                    other => other,
                };
                1 + self.actual_selection(&field.selection_set, first)
            }
            Kind::Connection => {
                if value.is_null() {
                    return 2;
                }
                let mut edges_cost = 0;
                let mut nodes_cost = 0;
                for inner in fields(self.document, &field.selection_set) {
                    let items = value
                        .get(inner.response_key().as_str())
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default();
                    match inner.name.as_str() {
                        "edges" => {
                            for node_field in fields(self.document, &inner.selection_set) {
                                if node_field.name.as_str() == "node" {
                                    let sum: u64 = items
                                        .iter()
                                        .map(|edge| {
                                            let node = edge
                                                .get(node_field.response_key().as_str())
                                                .unwrap_or(&Value::Null);
                                            1 + self
                                                .actual_selection(&node_field.selection_set, node)
                                        })
                                        .sum();
                                    edges_cost = edges_cost.max(sum);
                                }
                            }
                        }
                        "nodes" => {
                            let sum: u64 = items
                                .iter()
                                .map(|node| 1 + self.actual_selection(&inner.selection_set, node))
                                .sum();
                            nodes_cost = nodes_cost.max(sum);
                        }
                        _ => {}
                    }
                }
                2 + edges_cost.max(nodes_cost)
            }
        }
    }
}

fn entry(path: &[String], defined: u64, total: u64, children: u64) -> Value {
    serde_json::json!({
        "path": path,
        "definedCost": defined,
        "requestedTotalCost": total,
        "requestedChildrenCost": children,
    })
}
