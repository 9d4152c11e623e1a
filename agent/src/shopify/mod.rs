//! The Shopify Admin GraphQL client: the only code that calls Shopify.
//!
//! # Invariants
//! - Every call is paced by a model of Shopify's cost bucket, fed only by Shopify's own
//!   `throttleStatus` reports ([`bucket`]); concurrent callers reserve points before
//!   sending, so they never overdraw it together.
//! - Every failure is classified once ([`response::classify`], [`error::ShopifyError`]):
//!   transient failures are retried a bounded number of times inside the client and then
//!   surface as transient for the queue; permanent ones surface at once.
//! - A change is never applied twice by a retry: mutations Shopify makes idempotent carry
//!   `@idempotent(key:)` with a key derived from the job and the variables
//!   ([`idempotency`]); other mutations are not resent after an ambiguous failure.
//! - Every document lives in `graphql/*.graphql` and is listed in [`documents::DOCUMENTS`],
//!   which a test validates against every supported API version.
//! - Ids are `u64` (they exceed 2^53), money is `rust_decimal::Decimal` from strings.
//!
//! # Layout
//! - [`client`]: settings, the transport and its retry loop, counters.
//! - [`bucket`]: the cost bucket model.
//! - [`response`]: the GraphQL envelope and the classification of answers.
//! - [`error`]: the error type, its class and its stable cause.
//! - [`documents`]: the GraphQL documents.
//! - [`idempotency`]: idempotency keys.
//! - [`ids`]: Shopify's global ids and the numbers in them.
//! - [`inventory`]: setting, adjusting and reading levels.
//! - [`locations`]: the shop's locations.
//! - [`orders`], [`refunds`], [`fulfillment`]: what the order flows read and write.
//! - [`money`]: decimal money and shared shapes.
//! - [`webhooks`]: checking and repairing the app's webhook subscriptions.
//! - [`bulk`], [`jsonl`]: bulk operations and their streamed JSONL results.
//! - [`catalog`]: the catalogue's inventory items as reconciliation reads them (bulk).
//! - [`mapping`]: SKU <-> variant <-> inventory item, cached in the store.
//! - [`pagination`]: cursor pagination.

pub mod bucket;
pub mod bulk;
pub mod catalog;
pub mod client;
pub mod documents;
pub mod error;
pub mod fulfillment;
pub mod idempotency;
pub mod ids;
pub mod inventory;
pub mod jsonl;
pub mod locations;
pub mod mapping;
pub mod money;
pub mod orders;
pub mod pagination;
pub mod products;
pub mod refunds;
pub mod response;
pub mod webhooks;

pub use bucket::CostBucket;
pub use bulk::BulkOperation;
pub use catalog::CatalogItem;
pub use client::{ClientStats, ShopifyClient, ShopifyClientConfig, TokenStatus};
pub use error::ShopifyError;
pub use fulfillment::{
    CreatedFulfillment, ExistingFulfillment, FULFILLMENTS_READ, FulfillmentOrder,
    FulfillmentOrderLine, FulfillmentRequest, Tracking,
};
pub use inventory::{
    AdjustRow, BatchOutcome, BatchStatus, InventoryLevel, SetName, SetOutcome, SetRequest, SetRow,
};
pub use jsonl::{BulkLayout, BulkRecord, JsonlError, JsonlGrouper};
pub use locations::Location;
pub use mapping::{SkuCacheFill, SkuResolution, StoreOrShopify, VariantMatch};
pub use money::{Money, MoneyBag};
pub use orders::{LineItem, Order, OrderRef, OrdersPage};
pub use products::{NewProduct, VariantFields, VariantUpdate};
pub use refunds::Refund;
pub use webhooks::{WebhookCheck, WebhookSubscription};
