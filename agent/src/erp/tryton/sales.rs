//! Sales orders: booked once per Shopify order, read back, cancelled.
//!
//! Idempotency lives in the ERP document, not in the agent: the sale's `reference` is
//! `shopify:<order id>`, and every create looks it up first. A sale found half-way (a crash
//! or a lost answer after `create` but before `confirm`) is driven on to where a fresh one
//! would be, so the outcome does not depend on where the first attempt stopped. Two agents
//! booking the same order at the same instant could still both miss the lookup; the queue
//! runs one job per order, which is what rules that out.

use std::collections::{BTreeSet, HashMap};

use rust_decimal::prelude::ToPrimitive;
use serde_json::{Map, Value, json};

use plumb_common::{CurrencyCode, Decimal, Sku};

use super::Tryton;
use super::catalog::{Page, create_one, read_linked, read_many, search_read};
use super::pricing::{self, Charged};
use super::values::{
    date, decimal, field, related, to_decimal_or_zero, to_id, to_ids, to_sku, to_text,
};
use crate::erp::{
    Address, BookedLine, BookedOrder, BookedSale, CancelOutcome, Customer, ErpError, OrderState,
    SalesOrder, SalesOrderRef, TaxLine,
};

/// The `reference` of the sale booked for a Shopify order.
pub fn order_key(shopify_order_id: u64) -> String {
    format!("shopify:{shopify_order_id}")
}

/// The Shopify order an [`order_key`] names; `None` for any other reference.
pub fn order_of_key(reference: &str) -> Option<u64> {
    reference.strip_prefix("shopify:")?.parse().ok()
}

/// A sale found by its reference.
#[derive(Debug, Clone)]
pub struct Found {
    pub id: i64,
    pub number: Option<String>,
    pub state: String,
}

/// The sale whose reference is `key`, if any (cancelled ones included: a cancelled order
/// must not be booked again).
pub async fn find(tryton: &Tryton, key: &str) -> Result<Option<Found>, ErpError> {
    let rows = search_read(
        &tryton.session,
        "sale.sale",
        json!([["reference", "=", key]]),
        Page::by_id(),
        json!(["number", "state"]),
        None,
    )
    .await?;
    if rows.len() > 1 {
        tracing::warn!(
            key,
            count = rows.len(),
            "more than one Tryton sale carries this reference: using the first"
        );
    }
    rows.first()
        .map(|row| {
            Ok(Found {
                id: to_id(field(row, "id"))?,
                number: to_text(field(row, "number")),
                state: to_text(field(row, "state")).unwrap_or_default(),
            })
        })
        .transpose()
}

/// Calls a button on one sale.
pub async fn button(tryton: &Tryton, model: &str, name: &str, ids: &[i64]) -> Result<(), ErpError> {
    tryton
        .session
        .model(model, name, vec![json!(ids)], None)
        .await
        .map(drop)
}

/// Presses `name` ("post", "cancel") on the invoices of `document` (a row read with its
/// `invoices` field) that are not posted yet: draft or validated.
pub async fn on_unposted_invoices(
    tryton: &Tryton,
    document: &Map<String, Value>,
    name: &str,
) -> Result<(), ErpError> {
    let invoices = read_linked(
        &tryton.session,
        document,
        "invoices",
        "account.invoice",
        json!(["state"]),
    )
    .await?;
    let unposted: Vec<i64> = invoices
        .iter()
        .filter(|i| matches!(field(i, "state").as_str(), Some("draft" | "validated")))
        .filter_map(|i| to_id(field(i, "id")).ok())
        .collect();
    if unposted.is_empty() {
        return Ok(());
    }
    button(tryton, "account.invoice", name, &unposted).await
}

/// `fields` of sale `id`, which must exist.
pub async fn read_sale(
    tryton: &Tryton,
    id: i64,
    fields: Value,
) -> Result<Map<String, Value>, ErpError> {
    read_many(&tryton.session, "sale.sale", &[id], fields, None)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| ErpError::Missing(format!("sale {id} vanished from Tryton")))
}

async fn state(tryton: &Tryton, id: i64) -> Result<Found, ErpError> {
    let row = read_sale(tryton, id, json!(["number", "state"])).await?;
    Ok(Found {
        id,
        number: to_text(field(&row, "number")),
        state: to_text(field(&row, "state")).unwrap_or_default(),
    })
}

/// Drives a sale from wherever it is to `processing` (shipments and invoice made).
pub async fn finish(tryton: &Tryton, mut sale: Found) -> Result<Found, ErpError> {
    for _ in 0..4 {
        match sale.state.as_str() {
            "draft" => button(tryton, "sale.sale", "quote", &[sale.id]).await?,
            "quotation" => button(tryton, "sale.sale", "confirm", &[sale.id]).await?,
            // confirm runs `process` after its commit and swallows its error (missing
            // account, ...): calling it again surfaces that error as a UserError.
            "confirmed" => button(tryton, "sale.sale", "process", &[sale.id]).await?,
            "processing" | "done" | "cancelled" => return Ok(sale),
            other => {
                return Err(ErpError::BadResponse(format!(
                    "sale {} is in an unknown state {other:?}",
                    sale.id
                )));
            }
        }
        sale = state(tryton, sale.id).await?;
    }
    Err(ErpError::Rejected(format!(
        "sale {} stays {:?}: Tryton did not process it",
        sale.id, sale.state
    )))
}

/// Books `order` unless it is booked already.
pub async fn create(tryton: &Tryton, order: &SalesOrder) -> Result<SalesOrderRef, ErpError> {
    let key = order_key(order.shopify_order_id);
    if let Some(found) = find(tryton, &key).await? {
        tracing::info!(%key, sale = found.id, state = %found.state, "order already booked in Tryton");
        let done = finish(tryton, found).await?;
        return Ok(SalesOrderRef {
            erp_id: done.id.to_string(),
            number: done.number,
            created: false,
        });
    }
    if order.lines.is_empty() {
        return Err(ErpError::Invalid(format!(
            "order {} has no product lines",
            order.name
        )));
    }
    let values = sale_values(tryton, order, &key).await?;
    let id = create_one(&tryton.session, "sale.sale", values).await?;
    tracing::info!(%key, sale = id, "order booked in Tryton");
    let done = finish(
        tryton,
        Found {
            id,
            number: None,
            state: "draft".into(),
        },
    )
    .await?;
    Ok(SalesOrderRef {
        erp_id: id.to_string(),
        number: done.number,
        created: true,
    })
}

/// A JSON float for a quantity field (Tryton's quantities are floats).
pub fn quantity(value: Decimal) -> Value {
    json!(value.to_f64().unwrap_or_default())
}

/// Tax ids for Shopify tax lines.
pub async fn tax_ids(tryton: &Tryton, taxes: &[TaxLine]) -> Result<Vec<i64>, ErpError> {
    let mut ids = Vec::with_capacity(taxes.len());
    for tax in taxes {
        ids.push(
            tryton
                .catalog
                .tax(&tryton.session, &tax.title, tax.rate)
                .await?,
        );
    }
    Ok(ids)
}

/// A line without a product (shipping, discount): no stock move, revenue on the default
/// account.
pub fn service_line(
    description: String,
    quantity_: Decimal,
    unit_price: Decimal,
    taxes: &[i64],
) -> Value {
    json!({
        "type": "line",
        "description": description,
        "quantity": quantity(quantity_),
        "unit_price": decimal(unit_price),
        "taxes": [["add", taxes]],
    })
}

/// A Shopify line (product or shipping) as one sale line's quantity and unit price, its
/// discount folded in, exact to the cent (see [`pricing`]).
fn priced(
    quantity: Decimal,
    price: Decimal,
    discount: Decimal,
    taxes: &[TaxLine],
    included: bool,
) -> Decimal {
    let charged: Vec<Charged> = taxes
        .iter()
        .map(|t| Charged {
            rate: t.rate,
            amount: t.amount,
        })
        .collect();
    let mut net = price * quantity - discount;
    if included {
        net -= charged.iter().map(|t| t.amount).sum::<Decimal>();
    }
    pricing::unit_price(net, quantity, &charged)
}

/// A line's description, naming its discount when it has one.
fn described(title: String, price: Decimal, discount: Decimal) -> String {
    if discount.is_zero() {
        title
    } else {
        format!("{title} (at {price}, less discount {discount})")
    }
}

/// The sale's description: the Shopify order, and what the buyer saw and paid through.
fn description(order: &SalesOrder) -> String {
    let mut text = format!("Shopify order {}", order.name);
    if let Some(presented) = &order.presentment {
        text.push_str(&format!(
            ", presented in {} {}",
            presented.currency, presented.total
        ));
    }
    if !order.payment_gateways.is_empty() {
        text.push_str(&format!(", paid by {}", order.payment_gateways.join(", ")));
    }
    text
}

async fn sale_values(tryton: &Tryton, order: &SalesOrder, key: &str) -> Result<Value, ErpError> {
    let session = &tryton.session;
    let warehouse = tryton
        .catalog
        .resolve_warehouses(session, std::slice::from_ref(&order.warehouse))
        .await?
        .remove(0);
    let currency = tryton
        .catalog
        .currency(session, order.currency.as_str())
        .await?;
    let skus: Vec<&Sku> = order.lines.iter().map(|l| &l.sku).collect();
    let products = tryton.catalog.products(session, &skus).await?;
    let party = party(tryton, &order.customer).await?;
    let shipping = order
        .shipping_address
        .as_ref()
        .or(order.billing_address.as_ref());
    let shipment_address = address(tryton, party, shipping, &order.customer).await?;
    let invoice_address = match &order.billing_address {
        Some(billing) if Some(billing) != shipping => {
            address(tryton, party, Some(billing), &order.customer).await?
        }
        _ => shipment_address,
    };

    let mut lines = Vec::new();
    for line in &order.lines {
        let product = products
            .get(&line.sku)
            .ok_or_else(|| ErpError::UnknownSku(line.sku.to_string()))?;
        let taxes = tax_ids(tryton, &line.taxes).await?;
        let unit_price = priced(
            line.quantity,
            line.unit_price,
            line.discount,
            &line.taxes,
            order.taxes_included,
        );
        lines.push(json!({
            "type": "line",
            "product": product.id,
            "unit": product.unit,
            "quantity": quantity(line.quantity),
            "unit_price": decimal(unit_price),
            "description": described(line.title.clone(), line.unit_price, line.discount),
            "taxes": [["add", taxes]],
        }));
    }
    for shipping in &order.shipping {
        let taxes = tax_ids(tryton, &shipping.taxes).await?;
        let unit_price = priced(
            Decimal::ONE,
            shipping.price,
            shipping.discount,
            &shipping.taxes,
            order.taxes_included,
        );
        lines.push(service_line(
            described(
                format!("Shipping: {}", shipping.title),
                shipping.price,
                shipping.discount,
            ),
            Decimal::ONE,
            unit_price,
            &taxes,
        ));
    }
    Ok(json!({
        "party": party,
        "invoice_address": invoice_address,
        "shipment_address": shipment_address,
        "warehouse": warehouse.id,
        "currency": currency,
        "reference": key,
        "description": description(order),
        "sale_date": date(order.placed_at.date_naive()),
        "lines": [["create", lines]],
    }))
}

/// How many times a party is looked up and created when the create loses a race.
const PARTY_ATTEMPTS: usize = 3;

/// The customer's party: found by e-mail, else created. Orders without an e-mail (point of
/// sale, draft orders) get a party of their own.
///
/// Two orders booked at once can both miss the lookup, and two parties created at once can
/// draw the same party code from Tryton's sequence (on SQLite): the loser's create is
/// refused as "must be unique". That is a lost race, not bad data, so the lookup and create
/// run again (finding the winner's party when it is the same customer).
async fn party(tryton: &Tryton, customer: &Customer) -> Result<i64, ErpError> {
    let mut attempt = 1;
    loop {
        match find_or_create_party(tryton, customer).await {
            Err(ErpError::Rejected(message))
                if attempt < PARTY_ATTEMPTS && message.contains("must be unique") =>
            {
                tracing::debug!(attempt, %message, "party create lost a race; looking up again");
                attempt += 1;
            }
            outcome => return outcome,
        }
    }
}

async fn find_or_create_party(tryton: &Tryton, customer: &Customer) -> Result<i64, ErpError> {
    let session = &tryton.session;
    if let Some(email) = customer.email.as_deref().filter(|e| !e.is_empty()) {
        let page = Page {
            limit: Some(1),
            ..Page::by_id()
        };
        let rows = search_read(
            session,
            "party.contact_mechanism",
            json!([["type", "=", "email"], ["value", "=", email]]),
            page,
            json!(["party"]),
            None,
        )
        .await?;
        if let Some(row) = rows.first() {
            return to_id(field(row, "party"));
        }
    }
    let name = if customer.name.trim().is_empty() {
        customer
            .email
            .clone()
            .unwrap_or_else(|| "Shopify customer".into())
    } else {
        customer.name.clone()
    };
    let mut mechanisms = Vec::new();
    if let Some(email) = customer.email.as_deref().filter(|e| !e.is_empty()) {
        mechanisms.push(json!({"type": "email", "value": email}));
    }
    if let Some(phone) = customer.phone.as_deref().filter(|p| !p.is_empty()) {
        mechanisms.push(json!({"type": "phone", "value": phone}));
    }
    let values = json!({"name": name, "contact_mechanisms": [["create", mechanisms]]});
    create_one(session, "party.party", values).await
}

/// The party's address matching `address` (street, postal code, city), created if new.
/// Without an address, the party's first one (created empty if it has none).
async fn address(
    tryton: &Tryton,
    party: i64,
    address: Option<&Address>,
    customer: &Customer,
) -> Result<i64, ErpError> {
    let session = &tryton.session;
    let mut domain = vec![json!(["party", "=", party])];
    let mut values = Map::new();
    values.insert("party".into(), json!(party));
    if let Some(a) = address {
        domain.push(json!(["street", "=", a.street]));
        domain.push(json!(["postal_code", "=", a.postal_code]));
        domain.push(json!(["city", "=", a.city]));
        values.insert("street".into(), json!(a.street));
        values.insert("postal_code".into(), json!(a.postal_code));
        values.insert("city".into(), json!(a.city));
        if !a.name.is_empty() && a.name != customer.name {
            values.insert("party_name".into(), json!(a.name));
        }
    }
    let found = to_ids(
        &session
            .model(
                "party.address",
                "search",
                vec![json!(domain), json!(0), json!(1), json!([["id", "ASC"]])],
                None,
            )
            .await?,
    )?;
    if let Some(id) = found.first() {
        return Ok(*id);
    }
    create_one(session, "party.address", json!(values)).await
}

fn order_state(state: &str) -> OrderState {
    match state {
        "draft" | "quotation" => OrderState::Draft,
        "done" => OrderState::Done,
        "cancelled" => OrderState::Cancelled,
        _ => OrderState::Open,
    }
}

/// The sale booked under `key`, with its lines.
pub async fn read(tryton: &Tryton, key: String) -> Result<Option<BookedOrder>, ErpError> {
    let session = &tryton.session;
    let Some(found) = find(tryton, &key).await? else {
        return Ok(None);
    };
    let row = &read_sale(
        tryton,
        found.id,
        json!([
            "number",
            "state",
            "currency.code",
            "warehouse.code",
            "untaxed_amount",
            "tax_amount",
            "total_amount",
            "lines"
        ]),
    )
    .await?;
    let currency = to_text(related(row, "currency.code")).unwrap_or_default();
    let currency = CurrencyCode::new(currency).map_err(|e| ErpError::BadResponse(e.to_string()))?;
    let lines = read_linked(
        session,
        row,
        "lines",
        "sale.line",
        json!([
            "product.suffix_code",
            "description",
            "quantity",
            "unit_price",
            "amount",
            "taxes",
            "sequence"
        ]),
    )
    .await?;
    let tax_ids: BTreeSet<i64> = lines
        .iter()
        .flat_map(|l| to_ids(field(l, "taxes")).unwrap_or_default())
        .collect();
    let tax_names: HashMap<i64, String> = read_many(
        session,
        "account.tax",
        &tax_ids.into_iter().collect::<Vec<_>>(),
        json!(["name"]),
        None,
    )
    .await?
    .iter()
    .filter_map(|t| Some((to_id(field(t, "id")).ok()?, to_text(field(t, "name"))?)))
    .collect();
    let mut booked = Vec::with_capacity(lines.len());
    for line in &lines {
        booked.push(BookedLine {
            sku: to_sku(related(line, "product.suffix_code")),
            description: to_text(field(line, "description")).unwrap_or_default(),
            quantity: to_decimal_or_zero(field(line, "quantity"))?,
            unit_price: to_decimal_or_zero(field(line, "unit_price"))?,
            amount: to_decimal_or_zero(field(line, "amount"))?,
            taxes: to_ids(field(line, "taxes"))?
                .iter()
                .filter_map(|id| tax_names.get(id).cloned())
                .collect(),
        });
    }
    let shopify_order_id = key
        .rsplit(':')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_default();
    Ok(Some(BookedOrder {
        reference: SalesOrderRef {
            erp_id: found.id.to_string(),
            number: to_text(field(row, "number")),
            created: false,
        },
        shopify_order_id,
        state: order_state(&found.state),
        currency,
        warehouse: to_text(related(row, "warehouse.code")),
        lines: booked,
        untaxed: to_decimal_or_zero(field(row, "untaxed_amount"))?,
        tax: to_decimal_or_zero(field(row, "tax_amount"))?,
        total: to_decimal_or_zero(field(row, "total_amount"))?,
    }))
}

/// References asked for in one search (a short request, one page of answers).
const REFERENCES_PER_SEARCH: usize = 500;

/// Every sale whose reference is the order key of one of `ids`, in id order, with what
/// its refunds credited (the return sales whose `origin` it is) and whether its goods left
/// (one of its shipments shipped or done).
pub async fn for_orders(tryton: &Tryton, ids: &[u64]) -> Result<Vec<BookedSale>, ErpError> {
    let session = &tryton.session;
    let mut found = Vec::new();
    for chunk in ids.chunks(REFERENCES_PER_SEARCH) {
        let keys: Vec<String> = chunk.iter().map(|id| order_key(*id)).collect();
        let rows = search_read(
            session,
            "sale.sale",
            json!([["reference", "in", keys]]),
            Page::by_id(),
            json!([
                "reference",
                "number",
                "state",
                "currency.code",
                "tax_amount",
                "total_amount",
                "shipments"
            ]),
            None,
        )
        .await?;
        let sale_ids = rows
            .iter()
            .map(|row| to_id(field(row, "id")))
            .collect::<Result<Vec<_>, _>>()?;
        let refunded = credited(tryton, &sale_ids).await?;
        let shipments: Vec<Vec<i64>> = rows
            .iter()
            .map(|row| to_ids(field(row, "shipments")))
            .collect::<Result<_, _>>()?;
        let gone: BTreeSet<i64> = read_many(
            session,
            "stock.shipment.out",
            &shipments.concat(),
            json!(["state"]),
            None,
        )
        .await?
        .iter()
        .filter(|s| matches!(field(s, "state").as_str(), Some("shipped" | "done")))
        .map(|s| to_id(field(s, "id")))
        .collect::<Result<_, _>>()?;
        for ((row, id), shipments) in rows.iter().zip(sale_ids).zip(shipments) {
            let reference = to_text(field(row, "reference")).unwrap_or_default();
            let Some(shopify_order_id) = order_of_key(&reference) else {
                continue;
            };
            found.push(BookedSale {
                shopify_order_id,
                erp_id: id.to_string(),
                number: to_text(field(row, "number")),
                state: order_state(&to_text(field(row, "state")).unwrap_or_default()),
                currency: to_text(related(row, "currency.code")).unwrap_or_default(),
                tax: to_decimal_or_zero(field(row, "tax_amount"))?,
                total: to_decimal_or_zero(field(row, "total_amount"))?,
                refunded: refunded.get(&id).copied().unwrap_or_default(),
                shipped: shipments.iter().any(|s| gone.contains(s)),
            });
        }
    }
    Ok(found)
}

/// What the return sales of each of `sales` credit (a return sale's total is negative),
/// cancelled ones left out.
async fn credited(tryton: &Tryton, sales: &[i64]) -> Result<HashMap<i64, Decimal>, ErpError> {
    let mut credited = HashMap::new();
    if sales.is_empty() {
        return Ok(credited);
    }
    let origins: Vec<String> = sales.iter().map(|id| format!("sale.sale,{id}")).collect();
    let returns = search_read(
        &tryton.session,
        "sale.sale",
        json!([["origin", "in", origins], ["state", "!=", "cancelled"]]),
        Page::by_id(),
        json!(["origin", "total_amount"]),
        None,
    )
    .await?;
    for row in &returns {
        let origin = to_text(field(row, "origin")).unwrap_or_default();
        let Some(sale) = origin
            .strip_prefix("sale.sale,")
            .and_then(|id| id.parse::<i64>().ok())
        else {
            continue;
        };
        let total = to_decimal_or_zero(field(row, "total_amount"))?;
        *credited.entry(sale).or_insert(Decimal::ZERO) -= total;
    }
    Ok(credited)
}

/// Cancels the order. A sale not yet processing is cancelled outright; a processing one
/// has its pending shipments and draft invoices cancelled (Tryton keeps the sale, with a
/// shipment exception for someone to acknowledge); one with goods gone is refused.
pub async fn cancel(tryton: &Tryton, shopify_order_id: u64) -> Result<CancelOutcome, ErpError> {
    let key = order_key(shopify_order_id);
    let found = find(tryton, &key).await?.ok_or_else(|| {
        ErpError::Missing(format!(
            "no Tryton sale for Shopify order {shopify_order_id}"
        ))
    })?;
    match found.state.as_str() {
        "cancelled" => return Ok(CancelOutcome::AlreadyCancelled),
        "draft" | "quotation" => {
            button(tryton, "sale.sale", "cancel", &[found.id]).await?;
            return Ok(CancelOutcome::Cancelled);
        }
        "confirmed" => {
            button(tryton, "sale.sale", "draft", &[found.id]).await?;
            button(tryton, "sale.sale", "cancel", &[found.id]).await?;
            return Ok(CancelOutcome::Cancelled);
        }
        _ => {}
    }
    let sale = &read_sale(tryton, found.id, json!(["shipments", "invoices"])).await?;
    let shipments = read_linked(
        &tryton.session,
        sale,
        "shipments",
        "stock.shipment.out",
        json!(["state", "number"]),
    )
    .await?;
    let mut pending = Vec::new();
    for shipment in &shipments {
        let state = to_text(field(shipment, "state")).unwrap_or_default();
        match state.as_str() {
            "cancelled" => {}
            "shipped" | "done" => {
                return Err(ErpError::Rejected(format!(
                    "Shopify order {shopify_order_id} has left the warehouse (shipment {}): \
                     refund it instead of cancelling",
                    to_text(field(shipment, "number")).unwrap_or_default()
                )));
            }
            _ => pending.push(to_id(field(shipment, "id"))?),
        }
    }
    if !pending.is_empty() {
        button(tryton, "stock.shipment.out", "cancel", &pending).await?;
    }
    on_unposted_invoices(tryton, sale, "cancel").await?;
    Ok(CancelOutcome::DocumentsCancelled)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tax(rate: &str, amount: &str) -> TaxLine {
        TaxLine {
            title: "T".into(),
            rate: rate.parse().unwrap(),
            amount: amount.parse().unwrap(),
        }
    }

    fn dec(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    #[test]
    fn lines_are_booked_at_their_discounted_net_price() {
        // 3 x 11.00 less 2.00 at 4 %: 31.00 over 3 units
        let taxes = [tax("0.04", "1.24")];
        assert_eq!(
            priced(dec("3"), dec("11.00"), dec("2.00"), &taxes, false),
            dec("10.3333")
        );
        // 10.40 with 4 % included: Shopify's tax 0.40, so 10.00 net
        let taxes = [tax("0.04", "0.40")];
        assert_eq!(
            priced(dec("1"), dec("10.40"), dec("0"), &taxes, true),
            dec("10.00")
        );
        assert_eq!(
            priced(dec("2"), dec("10.40"), dec("0"), &[], true),
            dec("10.40")
        );
    }

    #[test]
    fn order_states_map_to_the_contract() {
        assert_eq!(order_state("quotation"), OrderState::Draft);
        assert_eq!(order_state("processing"), OrderState::Open);
        assert_eq!(order_state("cancelled"), OrderState::Cancelled);
    }
}
