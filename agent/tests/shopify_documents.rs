//! Every GraphQL document the client sends validates against every API version Plumb
//! supports, as Shopify itself would check it before running it.

mod shopify_support;

use std::path::PathBuf;

use apollo_compiler::ExecutableDocument;

use plumb_agent::shopify::documents::{BULK_QUERIES, DOCUMENTS, OPERATIONS};

use shopify_support::schema;

/// The API versions whose schemas are in the fixtures.
const VERSIONS: &[&str] = &["2026-07", "2026-10"];

#[test]
fn every_document_validates_against_every_supported_version() {
    let mut failures = Vec::new();
    for version in VERSIONS {
        let schema = schema(version);
        for (name, text) in DOCUMENTS {
            if let Err(errors) =
                ExecutableDocument::parse_and_validate(&schema, *text, format!("{name}.graphql"))
            {
                failures.push(format!("{name} against {version}:\n{}", errors.errors));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} document(s) do not validate:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn every_operation_is_listed_as_a_document_under_its_own_name() {
    for operation in OPERATIONS {
        assert!(
            DOCUMENTS
                .iter()
                .any(|(name, text)| *name == operation.name && *text == operation.document),
            "{} is missing from DOCUMENTS",
            operation.name
        );
        let declared = format!(" {}(", operation.name);
        let declared_bare = format!(" {} {{", operation.name);
        assert!(
            operation.document.contains(&declared) || operation.document.contains(&declared_bare),
            "{}: the document does not declare an operation of that name",
            operation.name
        );
    }
}

#[test]
fn idempotent_mutations_carry_the_directive_on_the_field() {
    for field in [
        "inventorySetQuantities",
        "inventoryAdjustQuantities",
        "inventoryMoveQuantities",
        "inventoryActivate",
        "refundCreate",
    ] {
        for (name, text) in DOCUMENTS {
            if let Some(at) = text.find(&format!("{field}(")) {
                let rest = &text[at..];
                let field_end = rest.find('{').unwrap_or(rest.len());
                assert!(
                    rest[..field_end].contains("@idempotent(key: $idempotencyKey)"),
                    "{name}: `{field}` must carry @idempotent(key: $idempotencyKey)"
                );
            }
        }
    }
}

#[test]
fn every_graphql_file_is_listed() {
    let dir: PathBuf = [env!("CARGO_MANIFEST_DIR"), "src", "shopify", "graphql"]
        .iter()
        .collect();
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "graphql") {
            files += 1;
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(
                DOCUMENTS.iter().any(|(_, d)| *d == text),
                "{} is not listed in DOCUMENTS",
                path.display()
            );
        }
    }
    assert_eq!(files, DOCUMENTS.len(), "a document is listed twice");
}

#[test]
fn bulk_queries_take_no_variables() {
    for query in BULK_QUERIES {
        assert!(
            !query.document.contains('$'),
            "{}: bulk queries cannot take variables",
            query.name
        );
        assert!(DOCUMENTS.contains(&(query.name, query.document)));
    }
}
