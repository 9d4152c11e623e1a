//! Relay connections, handled once for every list the sandbox serves: `first`/`last`,
//! `after`/`before`, `reverse`, `edges { cursor node }`, `nodes` and `pageInfo`.
//!
//! Items are ordered by id (the sandbox ignores `sortKey`); a cursor encodes the id of its
//! item, so pages stay stable while the shop changes between requests.

use apollo_compiler::resolvers::{FieldError, ResolveInfo};
use base64::Engine;

use super::objects::{Out, Record, Ref, args, field_error};

/// The most items one page may hold, as on Shopify.
pub const MAX_PAGE: i64 = 250;

/// One page of `items` (id, object), ordered by id, as the connection type the field
/// returns.
pub fn connection(info: &ResolveInfo<'_>, mut items: Vec<(u64, Ref)>) -> Result<Out, FieldError> {
    items.sort_by_key(|(id, _)| *id);
    connection_ordered(info, items)
}

/// One page of `items` in the order given (a `sortKey` already applied).
pub fn connection_ordered(
    info: &ResolveInfo<'_>,
    mut items: Vec<(u64, Ref)>,
) -> Result<Out, FieldError> {
    let args = args(info);
    let first = args.get("first").and_then(serde_json::Value::as_i64);
    let last = args.get("last").and_then(serde_json::Value::as_i64);
    if super::bulk::in_bulk() {
        // Bulk queries are not paginated: every item, whatever first/last say.
        return build(info, &items, false, false);
    }
    if first.is_none() && last.is_none() {
        return Err(field_error("you must provide one of first or last"));
    }
    for count in [first, last].into_iter().flatten() {
        if !(0..=MAX_PAGE).contains(&count) {
            return Err(field_error(format!(
                "the page size must be between 0 and {MAX_PAGE}, got {count}"
            )));
        }
    }
    if args.get("reverse").and_then(serde_json::Value::as_bool) == Some(true) {
        items.reverse();
    }
    let position = |cursor: &str| -> Result<usize, FieldError> {
        let id = decode_cursor(cursor)?;
        Ok(items
            .iter()
            .position(|(item, _)| *item == id)
            .unwrap_or(items.len()))
    };
    let mut start = 0;
    let mut end = items.len();
    if let Some(after) = args.get("after").and_then(serde_json::Value::as_str) {
        start = (position(after)? + 1).min(items.len());
    }
    if let Some(before) = args.get("before").and_then(serde_json::Value::as_str) {
        end = position(before)?.max(start);
    }
    let (mut page_start, mut page_end) = (start, end);
    if let Some(first) = first {
        page_end = page_end.min(page_start + usize::try_from(first).unwrap_or(0));
    }
    if let Some(last) = last {
        page_start = page_start.max(page_end.saturating_sub(usize::try_from(last).unwrap_or(0)));
    }
    let has_next = page_end < end || (last.is_some() && end < items.len());
    let has_previous = page_start > start || (first.is_none() && start > 0);
    build(info, &items[page_start..page_end], has_next, has_previous)
}

fn build(
    info: &ResolveInfo<'_>,
    page: &[(u64, Ref)],
    has_next: bool,
    has_previous: bool,
) -> Result<Out, FieldError> {
    let connection_type = info
        .field_definition()
        .ty
        .inner_named_type()
        .as_str()
        .to_owned();
    let edge_type = info
        .schema()
        .type_field(&connection_type, "edges")
        .map(|field| field.ty.inner_named_type().as_str().to_owned())
        .unwrap_or_else(|_| connection_type.replace("Connection", "Edge"));
    let edges = page
        .iter()
        .map(|(id, r)| {
            Record::new(edge_type.clone())
                .with("cursor", encode_cursor(*id))
                .with("node", r.clone())
                .out()
        })
        .collect::<Vec<_>>();
    let nodes = page
        .iter()
        .map(|(_, r)| Out::Obj(r.clone()))
        .collect::<Vec<_>>();
    let page_info = Record::new("PageInfo")
        .with("hasNextPage", has_next)
        .with("hasPreviousPage", has_previous)
        .with(
            "startCursor",
            page.first().map(|(id, _)| encode_cursor(*id)),
        )
        .with("endCursor", page.last().map(|(id, _)| encode_cursor(*id)));
    Ok(Record::new(connection_type)
        .with("edges", edges)
        .with("nodes", nodes)
        .with("pageInfo", page_info.out())
        .out())
}

/// Shopify-like opaque cursor: base64 of `{"last_id":N,"last_value":"N"}`.
pub fn encode_cursor(id: u64) -> String {
    base64::engine::general_purpose::STANDARD
        .encode(format!(r#"{{"last_id":{id},"last_value":"{id}"}}"#))
}

fn decode_cursor(cursor: &str) -> Result<u64, FieldError> {
    let invalid = || field_error(format!("Invalid cursor for current pagination: {cursor}"));
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(cursor)
        .map_err(|_| invalid())?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    value
        .get("last_id")
        .and_then(serde_json::Value::as_u64)
        .ok_or_else(invalid)
}
