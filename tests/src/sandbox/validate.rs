//! Parsing and validating a request against the real schema, answering what fails with
//! Shopify's error shape (HTTP 200, `errors` only, no `data`). Shopify runs graphql-ruby, so
//! codes are graphql-ruby's (`undefinedField`, `missingRequiredArguments`...); parse
//! errors and variable errors carry no code, as there.

use apollo_compiler::ExecutableDocument;
use apollo_compiler::Schema;
use apollo_compiler::executable::Operation;
use apollo_compiler::request::coerce_variable_values;
use apollo_compiler::response::JsonMap;
use apollo_compiler::validation::Valid;
use serde_json::{Value, json};

/// The body of a GraphQL request.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct GraphqlRequest {
    /// The document.
    pub query: String,
    /// Variables (absent = none).
    #[serde(default)]
    pub variables: Option<serde_json::Map<String, Value>>,
    /// Which operation to run.
    #[serde(default, rename = "operationName")]
    pub operation_name: Option<String>,
}

/// A validated request, ready to execute.
#[derive(Debug)]
pub struct Prepared {
    /// The validated document.
    pub document: Valid<ExecutableDocument>,
    /// The variables as sent.
    pub raw_variables: serde_json::Map<String, Value>,
    /// The variables coerced to the operation's types.
    pub variables: Valid<JsonMap>,
}

impl Prepared {
    /// The operation to run (validated to exist).
    pub fn operation(&self, name: Option<&str>) -> Option<&apollo_compiler::Node<Operation>> {
        self.document.operations.get(name).ok()
    }
}

/// Parses, validates and coerces; on failure the `errors` array to answer with.
pub fn prepare(schema: &Valid<Schema>, request: &GraphqlRequest) -> Result<Prepared, Vec<Value>> {
    let document = ExecutableDocument::parse_and_validate(schema, &request.query, "query.graphql")
        .map_err(|with_errors| {
            with_errors
                .errors
                .iter()
                .map(|diagnostic| {
                    let error = diagnostic.unstable_to_json_compat();
                    let mut value = json!({"message": error.message});
                    if !error.locations.is_empty() {
                        value["locations"] = json!(
                            error
                                .locations
                                .iter()
                                .map(|l| json!({"line": l.line, "column": l.column}))
                                .collect::<Vec<_>>()
                        );
                    }
                    match diagnostic.error.unstable_error_name() {
                        Some(name) => {
                            let (message, mut extensions) = ruby_message(name, &error.message);
                            value["message"] = json!(message);
                            extensions.insert("code".to_owned(), json!(ruby_code(name)));
                            value["extensions"] = Value::Object(extensions);
                        }
                        None => {
                            if let Some(message) = value["message"].as_str() {
                                value["message"] = json!(format!("Parse error: {message}"));
                            }
                        }
                    }
                    value
                })
                .collect::<Vec<_>>()
        })?;
    let operation = document
        .operations
        .get(request.operation_name.as_deref())
        .map_err(|_| {
            vec![json!({"message": match &request.operation_name {
                Some(name) => format!("No operation named \"{name}\""),
                None => "An operation name is required".to_owned(),
            }})]
        })?;
    let raw_variables = request.variables.clone().unwrap_or_default();
    let engine_variables: JsonMap = serde_json::from_value(Value::Object(raw_variables.clone()))
        .map_err(|error| vec![json!({"message": format!("invalid variables: {error}")})])?;
    let variables = coerce_variable_values(schema, operation, &engine_variables).map_err(|error| {
        let graphql = error.to_graphql_error(&document.sources);
        let mut value = json!({
            "message": graphql.message,
            "extensions": {"value": Value::Null, "problems": [{"path": [], "explanation": error.message().to_string()}]},
        });
        if !graphql.locations.is_empty() {
            value["locations"] = json!(graphql
                .locations
                .iter()
                .map(|l| json!({"line": l.line, "column": l.column}))
                .collect::<Vec<_>>());
        }
        vec![value]
    })?;
    Ok(Prepared {
        document,
        raw_variables,
        variables,
    })
}

/// graphql-ruby's message and extra extensions for the commonest errors, rebuilt from the
/// graphql-js wording apollo-compiler gives (quoted names in order); others keep it.
fn ruby_message(name: &str, compat: &str) -> (String, serde_json::Map<String, Value>) {
    let quoted: Vec<&str> = compat.split('"').skip(1).step_by(2).collect();
    let mut extensions = serde_json::Map::new();
    let message = match (name, quoted.as_slice()) {
        ("UndefinedField", [field, type_name, ..]) => {
            extensions.insert("typeName".to_owned(), json!(type_name));
            extensions.insert("fieldName".to_owned(), json!(field));
            format!("Field '{field}' doesn't exist on type '{type_name}'")
        }
        ("RequiredArgument", [field, argument, ..]) => {
            extensions.insert("className".to_owned(), json!("Field"));
            extensions.insert("name".to_owned(), json!(field));
            extensions.insert("arguments".to_owned(), json!(argument));
            format!("Field '{field}' is missing required arguments: {argument}")
        }
        ("UndefinedArgument", [argument, coordinate, ..]) => {
            let field = coordinate.rsplit('.').next().unwrap_or(coordinate);
            extensions.insert("name".to_owned(), json!(field));
            extensions.insert("typeName".to_owned(), json!("Field"));
            extensions.insert("argumentName".to_owned(), json!(argument));
            format!("Field '{field}' doesn't accept argument '{argument}'")
        }
        _ => compat.to_owned(),
    };
    (message, extensions)
}

/// graphql-ruby's code for an apollo-compiler diagnostic.
fn ruby_code(name: &str) -> &'static str {
    match name {
        "UndefinedField" => "undefinedField",
        "UndefinedArgument" => "argumentNotAccepted",
        "RequiredArgument" => "missingRequiredArguments",
        "UndefinedVariable" => "undefinedVariable",
        "UnusedVariable" => "variableNotUsed",
        "UndefinedFragment" => "undefinedFragment",
        "UnusedFragment" => "useAndDefineFragment",
        "MissingSubselection" | "SubselectionOnScalarType" | "SubselectionOnEnumType" => {
            "selectionMismatch"
        }
        "DisallowedVariableUsage" => "variableMismatch",
        "UndefinedDefinition" => "undefinedType",
        "UndefinedDirective" => "undefinedDirective",
        "UniqueArgument" => "argumentNotUnique",
        "UniqueVariable" => "variableNotUnique",
        "UnsupportedLocation" => "directiveCannotBeApplied",
        "InvalidFragmentTarget" | "InvalidFragmentSpread" => "fragmentSpreadTypeMismatch",
        "ConflictingFieldType" | "ConflictingFieldName" | "ConflictingFieldArgument" => {
            "fieldConflict"
        }
        "OperationNameCollision" => "operationNotUnique",
        "FragmentNameCollision" => "fragmentNotUnique",
        "UnsupportedValueType"
        | "IntCoercionError"
        | "FloatCoercionError"
        | "UndefinedEnumValue"
        | "UndefinedInputValue"
        | "RequiredField"
        | "UniqueInputValue" => "argumentLiteralsIncompatible",
        "VariableInputType" => "variableRequiresValidType",
        "UndefinedRootOperation" => "missingQueryConfiguration",
        _ => "validationError",
    }
}
