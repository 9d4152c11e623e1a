//! Every document's requested cost by Shopify's published rules (objects 1, scalars and
//! enums 0, connections times `first`, mutations 10), at the sizes the client sends: none
//! may exceed the 1,000-point cap per query (MAX_COST_EXCEEDED is permanent, so a document
//! over it would fail every time), and the client's first estimate must not be below it.

mod shopify_support;

use std::collections::HashMap;

use apollo_compiler::ast::Value;
use apollo_compiler::executable::{Selection, SelectionSet};
use apollo_compiler::schema::ExtendedType;
use apollo_compiler::{ExecutableDocument, Schema};

use plumb_agent::shopify::documents::OPERATIONS;
use plumb_agent::shopify::inventory::ITEMS_PER_LEVELS_CALL;
use plumb_agent::shopify::pagination::PAGE_SIZE;

use shopify_support::schema;

const MAX_QUERY_COST: u64 = 1_000;

/// The sizes the client sends for list-sizing variables.
fn variable(name: &str) -> u64 {
    match name {
        "first" => u64::from(PAGE_SIZE),
        "ids" => ITEMS_PER_LEVELS_CALL as u64,
        other => panic!("no size known for ${other}"),
    }
}

fn size_of(value: &Value) -> Option<u64> {
    match value {
        Value::Int(i) => i.try_to_i32().ok().map(|n| n.max(0) as u64),
        Value::Variable(name) => Some(variable(name.as_str())),
        Value::List(items) => Some(items.len() as u64),
        _ => None,
    }
}

struct Costing<'a> {
    schema: &'a Schema,
    doc: &'a ExecutableDocument,
}

impl Costing<'_> {
    /// The cost of a selection set: the sum of its fields, plus the dearest of its
    /// fragments on different types of an interface or union.
    fn set(&self, set: &SelectionSet, page: Option<u64>) -> u64 {
        let mut plain = 0;
        let mut by_type: HashMap<String, u64> = HashMap::new();
        for selection in &set.selections {
            match selection {
                Selection::Field(field) => plain += self.field(field, page),
                Selection::FragmentSpread(spread) => {
                    let fragment = &self.doc.fragments[&spread.fragment_name];
                    plain += self.set(&fragment.selection_set, page);
                }
                Selection::InlineFragment(inline) => {
                    let key = inline
                        .type_condition
                        .as_ref()
                        .map_or(String::new(), |t| t.to_string());
                    let cost = self.set(&inline.selection_set, page);
                    let entry = by_type.entry(key).or_default();
                    *entry = (*entry).max(cost);
                }
            }
        }
        plain + by_type.values().copied().max().unwrap_or(0)
    }

    /// A field: scalars and enums 0; an object 1 plus its selection; a connection 1 plus
    /// `first` times each node (its `nodes`/`edges`), its page info once; a list sized by
    /// an argument (`first`, `ids`) that many objects. `page` is the enclosing connection's
    /// size, which applies to its `nodes` and `edges`.
    fn field(&self, field: &apollo_compiler::executable::Field, page: Option<u64>) -> u64 {
        let type_name = field.definition.ty.inner_named_type().as_str();
        let leaf = matches!(
            self.schema.types.get(type_name),
            Some(ExtendedType::Scalar(_) | ExtendedType::Enum(_))
        );
        if leaf {
            return 0;
        }
        let sized = field
            .arguments
            .iter()
            .find(|a| matches!(a.name.as_str(), "first" | "last" | "ids"))
            .and_then(|a| size_of(&a.value));
        if type_name.ends_with("Connection") {
            return 1 + self.set(&field.selection_set, Some(sized.unwrap_or(1)));
        }
        let each = 1 + self.set(&field.selection_set, None);
        let count = match (field.name.as_str(), page) {
            ("nodes" | "edges", Some(page)) => page,
            _ if field.definition.ty.is_list() => sized.unwrap_or(1),
            _ => 1,
        };
        count * each
    }
}

#[test]
fn every_document_stays_under_the_cost_cap_and_its_estimate_is_conservative() {
    let schema = schema("2026-07");
    let mut report = Vec::new();
    let mut failures = Vec::new();
    for operation in OPERATIONS {
        let doc =
            ExecutableDocument::parse_and_validate(&schema, operation.document, "doc.graphql")
                .unwrap();
        let op = doc.operations.get(Some(operation.name)).unwrap();
        let costing = Costing {
            schema: &schema,
            doc: &doc,
        };
        let cost = if op.operation_type.is_mutation() {
            10
        } else {
            costing.set(&op.selection_set, None)
        };
        report.push(format!("{:>5}  {}", cost, operation.name));
        if cost > MAX_QUERY_COST {
            failures.push(format!(
                "{} costs {cost} > {MAX_QUERY_COST}",
                operation.name
            ));
        }
        if u64::from(operation.first_estimate) < cost {
            failures.push(format!(
                "{}: first estimate {} is below its static cost {cost}",
                operation.name, operation.first_estimate
            ));
        }
    }
    eprintln!("{}", report.join("\n"));
    assert!(
        failures.is_empty(),
        "{}\n\n{}",
        failures.join("\n"),
        report.join("\n")
    );
}
