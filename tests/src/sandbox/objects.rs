//! The executor's object model: every GraphQL object the sandbox serves is an [`Obj`], a
//! reference ([`Ref`]) into the shop state resolved one field at a time, or a [`Record`]
//! built eagerly (payloads, money, page info). apollo-compiler's resolver execution walks
//! the validated document (aliases, fragments, variables, `__typename`) and asks these for
//! fields; a field the sandbox does not implement is a loud field error naming it, never a
//! silent null.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::Arc;

use apollo_compiler::resolvers::{FieldError, ObjectValue, ResolveInfo, ResolvedValue};
use serde::Deserialize;

use super::schema::ApiVersion;
use super::state::State;

/// A reference to an object of the shop.
#[derive(Debug, Clone)]
pub enum Ref {
    /// The shop.
    Shop,
    /// A location.
    Location(u64),
    /// A product.
    Product(u64),
    /// A variant.
    Variant(u64),
    /// An inventory item.
    Item(u64),
    /// (item, location).
    Level(u64, u64),
    /// An order.
    Order(u64),
    /// (order, line item).
    LineItem(u64, u64),
    /// A fulfilment order.
    FulfillmentOrder(u64),
    /// (fulfilment order, line).
    FulfillmentOrderLine(u64, u64),
    /// A fulfilment.
    Fulfillment(u64),
    /// (fulfilment, fulfilment line).
    FulfillmentLine(u64, u64),
    /// A refund.
    Refund(u64),
    /// (refund, refund line).
    RefundLine(u64, u64),
    /// A webhook subscription.
    Subscription(u64),
    /// An inventory adjustment group.
    Group(u64),
    /// A bulk operation.
    Bulk(u64),
    /// An eagerly built object.
    Record(Arc<Record>),
}

impl Ref {
    /// The GraphQL type name.
    pub fn type_name(&self) -> &str {
        match self {
            Ref::Shop => "Shop",
            Ref::Location(_) => "Location",
            Ref::Product(_) => "Product",
            Ref::Variant(_) => "ProductVariant",
            Ref::Item(_) => "InventoryItem",
            Ref::Level(..) => "InventoryLevel",
            Ref::Order(_) => "Order",
            Ref::LineItem(..) => "LineItem",
            Ref::FulfillmentOrder(_) => "FulfillmentOrder",
            Ref::FulfillmentOrderLine(..) => "FulfillmentOrderLineItem",
            Ref::Fulfillment(_) => "Fulfillment",
            Ref::FulfillmentLine(..) => "FulfillmentLineItem",
            Ref::Refund(_) => "Refund",
            Ref::RefundLine(..) => "RefundLineItem",
            Ref::Subscription(_) => "WebhookSubscription",
            Ref::Group(_) => "InventoryAdjustmentGroup",
            Ref::Bulk(_) => "BulkOperation",
            Ref::Record(record) => &record.type_name,
        }
    }
}

/// An object built eagerly: its fields are already values.
#[derive(Debug, Clone)]
pub struct Record {
    /// GraphQL type name.
    pub type_name: String,
    /// Field values by field name.
    pub fields: BTreeMap<String, Out>,
}

impl Record {
    /// An empty record of `type_name`.
    pub fn new(type_name: impl Into<String>) -> Record {
        Record {
            type_name: type_name.into(),
            fields: BTreeMap::new(),
        }
    }

    /// Adds a field.
    pub fn with(mut self, name: &str, value: impl Into<Out>) -> Record {
        self.fields.insert(name.to_owned(), value.into());
        self
    }

    /// The record as an output value.
    pub fn out(self) -> Out {
        Out::Obj(Ref::Record(Arc::new(self)))
    }
}

/// A resolved field value.
#[derive(Debug, Clone)]
pub enum Out {
    /// A scalar or enum (enums as strings).
    Leaf(serde_json::Value),
    /// An object.
    Obj(Ref),
    /// A list.
    List(Vec<Out>),
    /// Null.
    Null,
}

impl From<serde_json::Value> for Out {
    fn from(value: serde_json::Value) -> Out {
        Out::Leaf(value)
    }
}

impl From<Ref> for Out {
    fn from(value: Ref) -> Out {
        Out::Obj(value)
    }
}

impl From<&str> for Out {
    fn from(value: &str) -> Out {
        Out::Leaf(value.into())
    }
}

impl From<String> for Out {
    fn from(value: String) -> Out {
        Out::Leaf(value.into())
    }
}

impl From<bool> for Out {
    fn from(value: bool) -> Out {
        Out::Leaf(value.into())
    }
}

impl From<i64> for Out {
    fn from(value: i64) -> Out {
        Out::Leaf(value.into())
    }
}

impl<T: Into<Out>> From<Option<T>> for Out {
    fn from(value: Option<T>) -> Out {
        value.map_or(Out::Null, Into::into)
    }
}

impl From<Vec<Out>> for Out {
    fn from(value: Vec<Out>) -> Out {
        Out::List(value)
    }
}

/// How one idempotent mutation field of this request is to be answered, decided before
/// execution (see `idempotency`).
#[derive(Debug, Clone)]
pub enum KeyDecision {
    /// A fresh key: apply, and store the payload.
    Fresh(String),
    /// The stored payload of an earlier request with the same key and variables.
    Replay(Out),
    /// Same key, other parameters.
    Mismatch,
    /// Same key, still in flight.
    Concurrent,
    /// Same key and parameters, but the first attempt failed with user errors.
    PreviousAttemptFailed,
}

/// What one execution shares: the locked state and the request's context.
#[derive(Debug)]
pub struct Ctx<'a> {
    /// The shop, locked for the whole execution so a request sees one consistent state.
    pub state: RefCell<&'a mut State>,
    /// The API version the request targets.
    pub version: ApiVersion,
    /// The sandbox's base URL, for bulk operation result URLs.
    pub base_url: String,
    /// Decisions for the idempotent fields, by response key.
    pub keys: BTreeMap<String, KeyDecision>,
    /// Payloads produced under fresh keys, by key, to be stored after execution.
    pub stored: RefCell<Vec<(String, Out)>>,
    /// Bulk operations started by this request, to be run after execution.
    pub bulk_started: RefCell<Vec<u64>>,
}

/// A GraphQL object: a reference resolved against the state of `ctx`.
#[derive(Debug)]
pub struct Obj<'a, 's> {
    /// The execution context.
    pub ctx: &'a Ctx<'s>,
    /// What it is.
    pub r: Ref,
}

/// A field error naming what the sandbox does not implement.
pub fn unimplemented(type_name: &str, field: &str) -> FieldError {
    FieldError {
        message: format!(
            "the Shopify sandbox does not implement field `{type_name}.{field}`: add it to tests/src/sandbox"
        ),
    }
}

/// A field error with a message.
pub fn field_error(message: impl Into<String>) -> FieldError {
    FieldError {
        message: message.into(),
    }
}

/// The field's coerced arguments, as `serde_json`.
pub fn args(info: &ResolveInfo<'_>) -> serde_json::Map<String, serde_json::Value> {
    serde_json::to_value(info.arguments())
        .ok()
        .and_then(|value| match value {
            serde_json::Value::Object(map) => Some(map),
            _ => None,
        })
        .unwrap_or_default()
}

/// A `serde_json` value as apollo-compiler's JSON.
pub fn to_engine_json(value: serde_json::Value) -> apollo_compiler::response::JsonValue {
    apollo_compiler::response::JsonValue::deserialize(value)
        .unwrap_or(apollo_compiler::response::JsonValue::Null)
}

fn convert<'c, 's: 'c>(ctx: &'c Ctx<'s>, out: Out) -> ResolvedValue<'c> {
    match out {
        Out::Leaf(value) => ResolvedValue::leaf(to_engine_json(value)),
        Out::Null => ResolvedValue::null(),
        Out::Obj(r) => ResolvedValue::object(Obj { ctx, r }),
        Out::List(items) => ResolvedValue::List(Box::new(
            items.into_iter().map(move |item| Ok(convert(ctx, item))),
        )),
    }
}

impl ObjectValue for Obj<'_, '_> {
    fn type_name(&self) -> &str {
        self.r.type_name()
    }

    fn resolve_field<'b>(
        &'b self,
        info: &'b ResolveInfo<'b>,
    ) -> Result<ResolvedValue<'b>, FieldError> {
        let out = super::fields::resolve(self.ctx, &self.r, info)?;
        Ok(convert(self.ctx, out))
    }
}

/// The root object of an operation.
#[derive(Debug)]
pub struct Root<'a, 's> {
    /// The execution context.
    pub ctx: &'a Ctx<'s>,
    /// `QueryRoot` or `Mutation`.
    pub type_name: &'static str,
}

impl ObjectValue for Root<'_, '_> {
    fn type_name(&self) -> &str {
        self.type_name
    }

    fn resolve_field<'b>(
        &'b self,
        info: &'b ResolveInfo<'b>,
    ) -> Result<ResolvedValue<'b>, FieldError> {
        let out = if self.type_name == "Mutation" {
            super::mutations::resolve(self.ctx, info)?
        } else {
            super::fields::query::resolve(self.ctx, info)?
        };
        Ok(convert(self.ctx, out))
    }
}
