//! Every GraphQL document the client sends, in one place.
//!
//! The documents live in `graphql/*.graphql` and are compiled in. [`DOCUMENTS`] lists them
//! all, so the schema test (`tests/shopify_documents.rs`) and the test sandbox cannot miss
//! one: a document added here is validated against every supported API version.

/// One document: the operation name Shopify sees (and the cost model learns by), its text,
/// and a conservative first guess of its requested cost, used until a response tells the
/// real figure. The guesses are the documents' static costs by Shopify's rules at the sizes
/// the client sends, rounded up; `tests/shopify_cost.rs` recomputes them and fails if a
/// guess is below its cost or a document exceeds the 1,000-point cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation {
    /// The operation's name, as written in the document.
    pub name: &'static str,
    /// The document.
    pub document: &'static str,
    /// Requested points assumed before the first response of this operation.
    pub first_estimate: u32,
    /// Whether sending it twice is harmless (a query, a mutation carrying `@idempotent`, or
    /// one that sets fields to absolute values):
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
    300,
    true
);
operation!(
    VARIANTS_BY_SKU,
    "VariantsBySku",
    "variants_by_sku.graphql",
    510,
    true
);
operation!(
    VARIANTS_FOR_SYNC,
    "VariantsForSync",
    "variants_for_sync.graphql",
    410,
    true
);
// Both set fields to absolute values: a second application changes nothing.
operation!(
    PRODUCT_VARIANTS_UPDATE,
    "ProductVariantsUpdate",
    "product_variants_update.graphql",
    20,
    true
);
operation!(
    PRODUCT_TITLE_UPDATE,
    "ProductTitleUpdate",
    "product_title_update.graphql",
    20,
    true
);
// Keyed on the product's handle: a second application updates the same product.
operation!(
    PRODUCT_CREATE,
    "ProductCreate",
    "product_create.graphql",
    20,
    true
);
operation!(LOCATIONS, "Locations", "locations.graphql", 260, true);
operation!(
    ORDERS_UPDATED_SINCE,
    "OrdersUpdatedSince",
    "orders_updated_since.graphql",
    260,
    true
);
operation!(ORDER, "Order", "order.graphql", 640, true);
operation!(
    ORDER_REFUND_IDS,
    "OrderRefundIds",
    "order_refund_ids.graphql",
    110,
    true
);
operation!(REFUND, "Refund", "refund.graphql", 600, true);
operation!(
    FULFILLMENT_ORDERS,
    "FulfillmentOrders",
    "fulfillment_orders.graphql",
    600,
    true
);
operation!(
    ORDER_FULFILLMENTS,
    "OrderFulfillments",
    "order_fulfillments.graphql",
    590,
    true
);
// No idempotency key exists for it: never resent after an ambiguous failure.
operation!(
    FULFILLMENT_CREATE,
    "FulfillmentCreate",
    "fulfillment_create.graphql",
    20,
    false
);
// Not replay-safe: a second move of the same fulfillment order is refused.
operation!(
    FULFILLMENT_ORDER_MOVE,
    "FulfillmentOrderMove",
    "fulfillment_order_move.graphql",
    20,
    false
);
// Sets the tracking outright, but may notify the customer again: like the other
// fulfilment mutations, not resent after an ambiguous failure (the job's retry sends it
// again, to the same effect on the fulfilment).
operation!(
    FULFILLMENT_TRACKING_UPDATE,
    "FulfillmentTrackingUpdate",
    "fulfillment_tracking_update.graphql",
    20,
    false
);
operation!(
    WEBHOOK_SUBSCRIPTIONS,
    "WebhookSubscriptions",
    "webhook_subscriptions.graphql",
    510,
    true
);
operation!(
    WEBHOOK_SUBSCRIPTION_CREATE,
    "WebhookSubscriptionCreate",
    "webhook_subscription_create.graphql",
    20,
    false
);
// Starting a bulk operation twice runs it twice (and may hit the concurrency cap): not
// resent after an ambiguous failure.
operation!(
    BULK_OPERATION_RUN_QUERY,
    "BulkOperationRunQuery",
    "bulk_operation_run_query.graphql",
    20,
    false
);
operation!(
    BULK_OPERATION,
    "BulkOperation",
    "bulk_operation.graphql",
    10,
    true
);

/// A query run as a bulk operation: sent as the `query` string of `bulkOperationRunQuery`,
/// so it takes no variables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BulkQuery {
    /// The operation's name, as written in the document.
    pub name: &'static str,
    /// The document.
    pub document: &'static str,
}

impl BulkQuery {
    /// The document with its search string `{search}` replaced by `search` (a search
    /// holds no double quote or backslash: refused otherwise, as it would end the string).
    pub fn with_search(&self, search: &str) -> Result<String, super::ShopifyError> {
        if search.contains(['"', '\\']) || !self.document.contains(SEARCH) {
            return Err(super::ShopifyError::Invalid(format!(
                "{}: cannot search for {search:?}",
                self.name
            )));
        }
        Ok(self.document.replacen(SEARCH, search, 1))
    }
}

/// What [`BulkQuery::with_search`] replaces.
const SEARCH: &str = "{search}";

/// Every inventory item with its levels at every location.
pub const BULK_INVENTORY_LEVELS: BulkQuery = BulkQuery {
    name: "BulkInventoryLevels",
    document: include_str!("graphql/bulk_inventory_levels.graphql"),
};

/// Every variant with its SKU and inventory item.
pub const BULK_VARIANTS: BulkQuery = BulkQuery {
    name: "BulkVariants",
    document: include_str!("graphql/bulk_variants.graphql"),
};

/// Every order changed since a time, with the figures reconciliation compares: run with
/// [`BulkQuery::with_search`] and [`super::orders::updated_since_query`].
pub const BULK_ORDERS: BulkQuery = BulkQuery {
    name: "BulkOrders",
    document: include_str!("graphql/bulk_orders.graphql"),
};

/// Every operation, for the schema test and the sandbox.
pub const OPERATIONS: &[Operation] = &[
    INVENTORY_SET_QUANTITIES,
    INVENTORY_ADJUST_QUANTITIES,
    INVENTORY_LEVELS,
    VARIANTS_BY_SKU,
    VARIANTS_FOR_SYNC,
    PRODUCT_VARIANTS_UPDATE,
    PRODUCT_TITLE_UPDATE,
    PRODUCT_CREATE,
    LOCATIONS,
    ORDERS_UPDATED_SINCE,
    ORDER,
    ORDER_REFUND_IDS,
    REFUND,
    FULFILLMENT_ORDERS,
    ORDER_FULFILLMENTS,
    FULFILLMENT_CREATE,
    FULFILLMENT_ORDER_MOVE,
    FULFILLMENT_TRACKING_UPDATE,
    WEBHOOK_SUBSCRIPTIONS,
    WEBHOOK_SUBSCRIPTION_CREATE,
    BULK_OPERATION_RUN_QUERY,
    BULK_OPERATION,
];

/// Every bulk query.
pub const BULK_QUERIES: &[BulkQuery] = &[BULK_INVENTORY_LEVELS, BULK_VARIANTS, BULK_ORDERS];

const DOCUMENT_COUNT: usize = OPERATIONS.len() + BULK_QUERIES.len();

/// [`OPERATIONS`] then [`BULK_QUERIES`], as `(operation name, text)`.
const fn documents() -> [(&'static str, &'static str); DOCUMENT_COUNT] {
    let mut out = [("", ""); DOCUMENT_COUNT];
    let mut i = 0;
    while i < OPERATIONS.len() {
        out[i] = (OPERATIONS[i].name, OPERATIONS[i].document);
        i += 1;
    }
    let mut j = 0;
    while j < BULK_QUERIES.len() {
        out[i + j] = (BULK_QUERIES[j].name, BULK_QUERIES[j].document);
        j += 1;
    }
    out
}

/// Every document as `(operation name, text)`: the operations and the bulk queries.
pub const DOCUMENTS: &[(&str, &str)] = &documents();
