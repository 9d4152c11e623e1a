//! Every GraphQL document the client sends, in one place.
//!
//! The documents live in `graphql/*.graphql` and are compiled in. [`DOCUMENTS`] lists them
//! all, so the schema test (`tests/shopify_documents.rs`) and the test sandbox cannot miss
//! one: a document added here is validated against every supported API version.

/// One document: the operation name Shopify sees (and the cost model learns by), its text,
/// and a conservative first guess of its requested cost, used until a response tells the
/// real figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation {
    /// The operation's name, as written in the document.
    pub name: &'static str,
    /// The document.
    pub document: &'static str,
    /// Requested points assumed before the first response of this operation.
    pub first_estimate: u32,
    /// Whether sending it twice is harmless (a query, or a mutation carrying `@idempotent`):
    /// only such operations are retried after an ambiguous failure (a timeout or a reset
    /// after the request may have reached Shopify).
    pub replay_safe: bool,
}

macro_rules! operation {
    ($ident:ident, $name:literal, $file:literal, $estimate:expr, $replay_safe:expr) => {
        #[doc = concat!("`", $name, "` (`graphql/", $file, "`).")]
        pub const $ident: Operation = Operation {
            name: $name,
            document: include_str!(concat!("graphql/", $file)),
            first_estimate: $estimate,
            replay_safe: $replay_safe,
        };
    };
}

operation!(
    INVENTORY_SET_QUANTITIES,
    "InventorySetQuantities",
    "inventory_set_quantities.graphql",
    20,
    true
);
operation!(
    INVENTORY_ADJUST_QUANTITIES,
    "InventoryAdjustQuantities",
    "inventory_adjust_quantities.graphql",
    20,
    true
);
operation!(
    INVENTORY_LEVELS,
    "InventoryLevels",
    "inventory_levels.graphql",
    400,
    true
);
operation!(
    VARIANTS_BY_SKU,
    "VariantsBySku",
    "variants_by_sku.graphql",
    300,
    true
);
operation!(LOCATIONS, "Locations", "locations.graphql", 60, true);

/// Every operation, for the schema test and the sandbox.
pub const OPERATIONS: &[Operation] = &[
    INVENTORY_SET_QUANTITIES,
    INVENTORY_ADJUST_QUANTITIES,
    INVENTORY_LEVELS,
    VARIANTS_BY_SKU,
    LOCATIONS,
];

/// Every document as `(operation name, text)`, including the queries run as bulk
/// operations (sent as a string argument, but validated like the rest).
pub const DOCUMENTS: &[(&str, &str)] = &[
    (
        INVENTORY_SET_QUANTITIES.name,
        INVENTORY_SET_QUANTITIES.document,
    ),
    (
        INVENTORY_ADJUST_QUANTITIES.name,
        INVENTORY_ADJUST_QUANTITIES.document,
    ),
    (INVENTORY_LEVELS.name, INVENTORY_LEVELS.document),
    (VARIANTS_BY_SKU.name, VARIANTS_BY_SKU.document),
    (LOCATIONS.name, LOCATIONS.document),
];
