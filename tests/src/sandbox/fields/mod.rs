//! Field resolution, one file per part of the shop. Each function answers one field of one
//! object type from the state, or the loud [`unimplemented`] error.

pub mod inventory;
pub mod misc;
pub mod orders;
pub mod query;

use apollo_compiler::resolvers::{FieldError, ResolveInfo};
use rust_decimal::Decimal;

use super::objects::{Ctx, Out, Record, Ref, field_error, unimplemented};

/// Resolves one field of `r`.
pub fn resolve(ctx: &Ctx<'_>, r: &Ref, info: &ResolveInfo<'_>) -> Result<Out, FieldError> {
    let field = info.field_name();
    match r {
        Ref::Record(record) => record
            .fields
            .get(field)
            .cloned()
            .ok_or_else(|| unimplemented(&record.type_name, field)),
        Ref::Shop => misc::shop(ctx, field),
        Ref::Location(id) => inventory::location(ctx, *id, info),
        Ref::Product(id) => inventory::product(ctx, *id, info),
        Ref::Variant(id) => inventory::variant(ctx, *id, info),
        Ref::Item(id) => inventory::item(ctx, *id, info),
        Ref::Level(item, location) => inventory::level(ctx, *item, *location, info),
        Ref::Group(id) => inventory::group(ctx, *id, info),
        Ref::Order(id) => orders::order(ctx, *id, info),
        Ref::LineItem(order, line) => orders::line_item(ctx, *order, *line, info),
        Ref::FulfillmentOrder(id) => orders::fulfillment_order(ctx, *id, info),
        Ref::FulfillmentOrderLine(fo, line) => {
            orders::fulfillment_order_line(ctx, *fo, *line, info)
        }
        Ref::Fulfillment(id) => orders::fulfillment(ctx, *id, info),
        Ref::FulfillmentLine(f, line) => orders::fulfillment_line(ctx, *f, *line, info),
        Ref::Refund(id) => orders::refund(ctx, *id, info),
        Ref::RefundLine(refund, line) => orders::refund_line(ctx, *refund, *line, info),
        Ref::Subscription(id) => misc::subscription(ctx, *id, info),
        Ref::Bulk(id) => misc::bulk(ctx, *id, info),
    }
}

/// The error for a reference whose object is gone.
pub fn gone(type_name: &str, id: u64) -> FieldError {
    field_error(format!("{type_name} {id} no longer exists"))
}

/// A GraphQL `Decimal`/`Money` string: `10.0`, `414.95`.
pub fn decimal(amount: Decimal) -> String {
    let normalized = amount.normalize();
    let text = normalized.to_string();
    if text.contains('.') {
        text
    } else {
        format!("{text}.0")
    }
}

/// A `MoneyBag` in the shop currency (the sandbox's buyers pay in it too).
pub fn money_bag(amount: Decimal, currency: &str) -> Out {
    let money = Record::new("MoneyV2")
        .with("amount", decimal(amount))
        .with("currencyCode", currency)
        .out();
    Record::new("MoneyBag")
        .with("shopMoney", money.clone())
        .with("presentmentMoney", money)
        .out()
}

/// `MoneyV2` in the shop currency.
pub fn money(amount: Decimal, currency: &str) -> Out {
    Record::new("MoneyV2")
        .with("amount", decimal(amount))
        .with("currencyCode", currency)
        .out()
}
