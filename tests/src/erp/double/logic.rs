//! What the double does with a call: login, the generic model methods (`search`,
//! `search_read`, `read`, `search_count`, `create`, `write`), computed fields (stock
//! quantities from moves, sale totals from lines; the stock ones searchable) and the
//! buttons of sales, shipments, returns and invoices, with Tryton's state rules.

use std::collections::HashMap;

use rust_decimal::prelude::ToPrimitive;
use serde_json::{Map, Value, json};

use plumb_agent::erp::tryton::values::{date, decimal, to_decimal, to_decimal_or_zero};
use plumb_common::Decimal;

use super::query::Domain;
use super::records::{Rec, Records, relation};

/// The double's whole state.
#[derive(Debug, Default)]
pub struct State {
    /// The records.
    pub records: Records,
    /// Valid session tokens.
    pub sessions: Vec<String>,
    /// The password every user logs in with.
    pub password: String,
    /// Calls seen, by method.
    pub calls: HashMap<String, usize>,
    /// Stock quantities per product, computed once per (context, forecast) and records
    /// generation: one pass over the moves instead of one per product read.
    quantities: std::sync::Mutex<QuantityCache>,
    /// The last search and its answer: the connector reads a large answer a page at a
    /// time (offset and limit), asking the same search for each page, and while the
    /// records are unchanged the answer is the same.
    last_search: Option<(SearchKey, Vec<i64>)>,
}

/// A search, at one records generation.
#[derive(Debug, PartialEq)]
struct SearchKey {
    generation: u64,
    model: String,
    domain: String,
    order: String,
}

#[derive(Debug, Default)]
struct QuantityCache {
    generation: u64,
    by_query: HashMap<(String, bool), HashMap<i64, Decimal>>,
}

/// A refusal, as Tryton sends it.
pub enum Refusal {
    /// A business error: HTTP 200, `{"error": ["UserError", [message, "", null]]}`.
    User(String),
    /// An HTTP status with an HTML body.
    Status(u16),
}

type Outcome = Result<Value, Refusal>;

fn user(message: impl Into<String>) -> Refusal {
    Refusal::User(message.into())
}

fn ids_of(value: &Value) -> Vec<i64> {
    value
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_i64).collect())
        .unwrap_or_default()
}

fn text<'a>(record: &'a Rec, field: &str) -> &'a str {
    record
        .get(field)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// Special location ids, made by [`State::setup`].
pub const CUSTOMER: i64 = 1;
/// Where inventory adjustments come from.
pub const LOST_FOUND: i64 = 2;
/// Where receipts come from.
pub const SUPPLIER: i64 = 3;

impl State {
    /// The fixed records every Tryton has: locations, the unit, USD, the company context.
    pub fn setup(&mut self, password: &str) {
        self.password = password.to_owned();
        let r = &mut self.records;
        for (name, kind) in [
            ("Customer", "customer"),
            ("Lost and Found", "lost_found"),
            ("Supplier", "supplier"),
        ] {
            r.create("stock.location", &obj(json!({"name": name, "type": kind})));
        }
        r.create(
            "currency.currency",
            &obj(json!({"code": "USD", "name": "US Dollar"})),
        );
        r.create("product.uom", &obj(json!({"symbol": "u"})));
    }

    /// Handles one JSON-RPC call (the context is the last param).
    pub fn call(&mut self, method: &str, params: &[Value], authorized: bool) -> Outcome {
        *self.calls.entry(method.to_owned()).or_default() += 1;
        match method {
            "common.server.version" => return Ok(json!("8.2.0-double")),
            "common.db.login" => {
                let password = params
                    .get(1)
                    .and_then(|p| p.get("password"))
                    .and_then(Value::as_str);
                if password != Some(self.password.as_str()) {
                    return Err(Refusal::Status(401));
                }
                let token = format!("token-{}-{}", self.sessions.len(), fastrand::u64(..));
                self.sessions.push(token.clone());
                return Ok(json!([1, token, null]));
            }
            _ => {}
        }
        if !authorized {
            return Err(Refusal::Status(401));
        }
        let Some(rest) = method.strip_prefix("model.") else {
            return Err(Refusal::Status(403));
        };
        let Some((model, name)) = rest.rsplit_once('.') else {
            return Err(Refusal::Status(403));
        };
        let Some((context, args)) = params.split_last() else {
            return Err(Refusal::Status(422));
        };
        if !context.is_object() {
            return Err(Refusal::Status(422));
        }
        let arg = |i: usize| args.get(i).cloned().unwrap_or(Value::Null);
        match name {
            "get_preferences" => Ok(json!({"company": 1, "language": "en"})),
            "search" => {
                let domain = self.computed(model, arg(0), context);
                Ok(json!(page(
                    self.search(model, &domain, &arg(3)),
                    &arg(1),
                    &arg(2)
                )))
            }
            "search_count" => {
                let domain = self.computed(model, arg(0), context);
                Ok(json!(self.search(model, &domain, &Value::Null).len()))
            }
            "search_read" => {
                let domain = self.computed(model, arg(0), context);
                let ids = page(self.search(model, &domain, &arg(3)), &arg(1), &arg(2));
                Ok(self.read(model, &ids, &arg(4), context))
            }
            "read" => Ok(self.read(model, &ids_of(&arg(0)), &arg(1), context)),
            "create" => {
                let mut ids = Vec::new();
                for values in arg(0).as_array().cloned().unwrap_or_default() {
                    let values = values.as_object().cloned().unwrap_or_default();
                    ids.push(json!(self.create(model, &values)?));
                }
                Ok(Value::Array(ids))
            }
            "write" => {
                let values = arg(1).as_object().cloned().unwrap_or_default();
                for id in ids_of(&arg(0)) {
                    self.records.write(model, id, &values);
                }
                Ok(Value::Null)
            }
            button => {
                for id in ids_of(&arg(0)) {
                    self.button(model, button, id)?;
                }
                Ok(Value::Null)
            }
        }
    }

    /// `domain` with its clauses on computed stock fields resolved, as Tryton searches
    /// them: on `product.product`, a clause on `quantity` or `forecast_quantity` (at any
    /// depth) becomes `["id", "in", ids]` of the products whose figure under `context`
    /// satisfies it.
    fn computed(&self, model: &str, domain: Value, context: &Value) -> Value {
        let Value::Array(clauses) = domain else {
            return domain;
        };
        if model != "product.product" {
            return Value::Array(clauses);
        }
        let clauses = clauses.into_iter().map(|clause| {
            let field = match clause.as_array().map(Vec::as_slice) {
                Some([Value::String(field), Value::String(_), _])
                    if field == "quantity" || field == "forecast_quantity" =>
                {
                    field.clone()
                }
                // Other clauses, in the order the domain reads them: a nested domain
                // starts with "OR".
                Some(
                    [Value::String(_), Value::String(_), _]
                    | [Value::String(_), Value::String(_), _, Value::String(_)],
                ) => return clause,
                _ if clause.get(0).and_then(Value::as_str) == Some("OR") => {
                    return self.computed(model, clause, context);
                }
                _ => return clause,
            };
            let alone = Value::Array(vec![clause]);
            let domain = Domain::new(&alone);
            let holds = |quantity: Decimal| {
                let row = obj(json!({ field.as_str(): figure(quantity) }));
                domain.matches(&self.records, model, &row)
            };
            let forecast = field == "forecast_quantity";
            let mut ids: Vec<i64> = self.with_quantities(context, forecast, |quantities| {
                let mut ids: Vec<i64> = quantities
                    .iter()
                    .filter(|(id, quantity)| {
                        self.records.get(model, **id).is_some() && holds(**quantity)
                    })
                    .map(|(id, _)| *id)
                    .collect();
                // The products without counted moves all read 0.
                if holds(Decimal::ZERO) {
                    ids.extend(
                        self.records
                            .all(model)
                            .filter_map(|product| product.get("id")?.as_i64())
                            .filter(|id| !quantities.contains_key(id)),
                    );
                }
                ids
            });
            ids.sort_unstable();
            json!(["id", "in", ids])
        });
        Value::Array(clauses.collect())
    }

    /// The ids matching `domain`, ordered: the last answer again if it is the same search
    /// on the same records.
    fn search(&mut self, model: &str, domain: &Value, order: &Value) -> &[i64] {
        let key = SearchKey {
            generation: self.records.generation,
            model: model.to_owned(),
            domain: domain.to_string(),
            order: order.to_string(),
        };
        let (_, ids) = match self.last_search.take() {
            Some(last) if last.0 == key => self.last_search.insert(last),
            _ => {
                let ids = self.records.search(model, domain, order);
                self.last_search.insert((key, ids))
            }
        };
        ids
    }

    fn create(&mut self, model: &str, values: &Rec) -> Result<i64, Refusal> {
        let mut values = values.clone();
        match model {
            "sale.sale" => {
                values.insert("state".into(), json!("draft"));
                values.insert("shipments".into(), json!([]));
                values.insert("shipment_returns".into(), json!([]));
                values.insert("invoices".into(), json!([]));
            }
            "product.product" if !values.contains_key("active") => {
                values.insert("active".into(), json!(true));
            }
            _ => {}
        }
        Ok(self.records.create(model, &values))
    }

    /// Reads fields, computed ones and dotted ones included.
    pub fn read(&self, model: &str, ids: &[i64], fields: &Value, context: &Value) -> Value {
        let fields: Vec<&str> = fields
            .as_array()
            .map(|f| f.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let rows: Vec<Value> = ids
            .iter()
            .filter_map(|id| {
                let record = self.records.get(model, *id)?;
                let mut row = Map::new();
                row.insert("id".into(), json!(id));
                for field in &fields {
                    match field.split_once('.') {
                        Some((head, tail)) => {
                            row.insert(
                                format!("{head}."),
                                self.dotted(model, record, head, tail, context),
                            );
                        }
                        None => {
                            row.insert(
                                (*field).to_owned(),
                                self.field(model, record, field, context),
                            );
                        }
                    }
                }
                Some(Value::Object(row))
            })
            .collect();
        Value::Array(rows)
    }

    fn dotted(&self, model: &str, record: &Rec, head: &str, tail: &str, context: &Value) -> Value {
        let (Some(target), Some(id)) = (
            relation(model, head),
            record.get(head).and_then(Value::as_i64),
        ) else {
            return Value::Null;
        };
        match self.read(target, &[id], &json!([tail]), context) {
            Value::Array(mut rows) if !rows.is_empty() => rows.swap_remove(0),
            _ => Value::Null,
        }
    }

    fn field(&self, model: &str, record: &Rec, field: &str, context: &Value) -> Value {
        match (model, field) {
            ("product.product", "quantity" | "forecast_quantity") => {
                let id = record.get("id").and_then(Value::as_i64).unwrap_or_default();
                figure(self.quantity(id, context, field == "forecast_quantity"))
            }
            ("product.product", "name") => self
                .records
                .get(
                    "product.template",
                    record
                        .get("template")
                        .and_then(Value::as_i64)
                        .unwrap_or_default(),
                )
                .and_then(|t| t.get("name").cloned())
                .unwrap_or(Value::Null),
            ("sale.line", "amount") => decimal(line_amount(record)),
            ("stock.move", "internal_quantity") => {
                record.get("quantity").cloned().unwrap_or(Value::Null)
            }
            ("sale.sale", "untaxed_amount" | "tax_amount" | "total_amount") => {
                let (untaxed, tax) = self.sale_totals(record);
                decimal(match field {
                    "untaxed_amount" => untaxed,
                    "tax_amount" => tax,
                    _ => untaxed + tax,
                })
            }
            _ => record.get(field).cloned().unwrap_or(Value::Null),
        }
    }

    /// Locations counted for a stock context: the storage subtree of a warehouse (with
    /// `stock_skip_warehouse`), or the location's subtree.
    fn counted(&self, context: &Value) -> Vec<i64> {
        let mut roots = ids_of(context.get("locations").unwrap_or(&Value::Null));
        for root in roots.iter_mut() {
            if let Some(location) = self.records.get("stock.location", *root)
                && text(location, "type") == "warehouse"
                && let Some(storage) = location.get("storage_location").and_then(Value::as_i64)
            {
                *root = storage;
            }
        }
        self.records.search(
            "stock.location",
            &json!([["parent", "child_of", roots]]),
            &Value::Null,
        )
    }

    fn quantity(&self, product: i64, context: &Value, forecast: bool) -> Decimal {
        self.with_quantities(context, forecast, |quantities| {
            quantities.get(&product).copied().unwrap_or_default()
        })
    }

    /// `f` of the quantities under `context` of the products with counted moves (the
    /// others have none), computed once per records generation.
    fn with_quantities<T>(
        &self,
        context: &Value,
        forecast: bool,
        f: impl FnOnce(&HashMap<i64, Decimal>) -> T,
    ) -> T {
        let mut cache = self
            .quantities
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if cache.generation != self.records.generation {
            cache.generation = self.records.generation;
            cache.by_query.clear();
        }
        f(cache
            .by_query
            .entry((context.to_string(), forecast))
            .or_insert_with(|| self.quantities_of_all(context, forecast)))
    }

    /// The quantity under `context` of every product with counted moves in or out, in
    /// one pass over the moves.
    fn quantities_of_all(&self, context: &Value, forecast: bool) -> HashMap<i64, Decimal> {
        let locations = self.counted(context);
        let assign = context
            .get("stock_assign")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let mut totals: HashMap<i64, Decimal> = HashMap::new();
        for mv in self.records.all("stock.move") {
            let Some(product) = mv.get("product").and_then(Value::as_i64) else {
                continue;
            };
            let state = text(mv, "state");
            let counts = match state {
                "done" => true,
                "draft" | "assigned" => forecast,
                _ => false,
            };
            let from = mv
                .get("from_location")
                .and_then(Value::as_i64)
                .unwrap_or_default();
            let to = mv
                .get("to_location")
                .and_then(Value::as_i64)
                .unwrap_or_default();
            let qty =
                to_decimal_or_zero(mv.get("quantity").unwrap_or(&Value::Null)).unwrap_or_default();
            let leaving = locations.contains(&from) && !locations.contains(&to);
            let arriving = locations.contains(&to) && !locations.contains(&from);
            // Only moves in or out make an entry: the others' products have none here.
            if (counts || (assign && state == "assigned" && leaving)) && (arriving || leaving) {
                let total = totals.entry(product).or_default();
                if arriving {
                    *total += qty;
                }
                if leaving {
                    *total -= qty;
                }
            }
        }
        totals
    }

    fn taxes_rate(&self, line: &Rec) -> Decimal {
        ids_of(line.get("taxes").unwrap_or(&Value::Null))
            .iter()
            .filter_map(|t| self.records.get("account.tax", *t))
            .map(|t| to_decimal_or_zero(t.get("rate").unwrap_or(&Value::Null)).unwrap_or_default())
            .sum()
    }

    fn sale_totals(&self, sale: &Rec) -> (Decimal, Decimal) {
        let mut untaxed = Decimal::ZERO;
        let mut tax = Decimal::ZERO;
        for line in ids_of(sale.get("lines").unwrap_or(&Value::Null)) {
            if let Some(line) = self.records.get("sale.line", line) {
                let amount = line_amount(line);
                untaxed += amount;
                tax += (amount * self.taxes_rate(line)).round_dp(2);
            }
        }
        (untaxed, tax)
    }

    fn button(&mut self, model: &str, button: &str, id: i64) -> Result<(), Refusal> {
        let record = self
            .records
            .get(model, id)
            .cloned()
            .ok_or_else(|| user(format!("{model} {id} does not exist")))?;
        let state = text(&record, "state").to_owned();
        let set = |s: &mut State, model: &str, id: i64, state: &str| {
            s.records.write(model, id, &obj(json!({"state": state})));
        };
        match (model, button, state.as_str()) {
            ("sale.sale", "quote", "draft") => {
                if ids_of(record.get("lines").unwrap_or(&Value::Null)).is_empty() {
                    return Err(user("The sale has no lines."));
                }
                set(self, model, id, "quotation");
            }
            ("sale.sale", "confirm", "quotation") => {
                set(self, model, id, "confirmed");
                self.process(id);
            }
            ("sale.sale", "process", "confirmed") => self.process(id),
            ("sale.sale", "cancel", "draft" | "quotation") => set(self, model, id, "cancelled"),
            ("sale.sale", "draft", "confirmed" | "quotation" | "cancelled") => {
                set(self, model, id, "draft")
            }
            ("stock.shipment.out", "assign_try", "waiting") => {
                self.moves_to(model, id, "assigned");
                set(self, model, id, "assigned");
            }
            ("stock.shipment.out", "pick", "assigned") => set(self, model, id, "picked"),
            ("stock.shipment.out", "pack", "picked") => set(self, model, id, "packed"),
            ("stock.shipment.out", "ship", "packed") => set(self, model, id, "shipped"),
            ("stock.shipment.out", "do", "packed" | "shipped") => {
                self.moves_to(model, id, "done");
                let today = date(self.records.now.unwrap_or_default().date());
                self.records.write(
                    model,
                    id,
                    &obj(json!({"state": "done", "effective_date": today})),
                );
            }
            ("stock.shipment.out", "cancel", "waiting" | "assigned" | "draft") => {
                self.moves_to(model, id, "cancelled");
                set(self, model, id, "cancelled");
            }
            ("stock.shipment.out.return", "receive", "draft") => set(self, model, id, "received"),
            ("stock.shipment.out.return", "do", "received") => {
                self.moves_to(model, id, "done");
                set(self, model, id, "done");
            }
            ("account.invoice", "post", "draft" | "validated") => {
                let total = to_decimal_or_zero(record.get("total_amount").unwrap_or(&Value::Null))
                    .unwrap_or_default();
                let prefix = if total < Decimal::ZERO { "CN" } else { "INV" };
                let number = format!("{prefix}2026-{id}");
                self.records.write(
                    model,
                    id,
                    &obj(json!({"state": "posted", "number": number})),
                );
            }
            ("account.invoice", "cancel", "draft" | "validated") => {
                set(self, model, id, "cancelled")
            }
            (model, button, state) => {
                return Err(user(format!(
                    "{model} {id} cannot {button} in state {state:?}"
                )));
            }
        }
        Ok(())
    }

    fn moves_to(&mut self, model: &str, shipment: i64, state: &str) {
        let reference = format!("{model},{shipment}");
        let ids = self.records.search(
            "stock.move",
            &json!([["shipment", "=", reference]]),
            &Value::Null,
        );
        for mv in ids {
            self.records
                .write("stock.move", mv, &obj(json!({"state": state})));
        }
    }

    /// A confirmed sale's shipment, return and invoice, as Tryton's `process` makes them.
    fn process(&mut self, sale_id: i64) {
        let Some(sale) = self.records.get("sale.sale", sale_id).cloned() else {
            return;
        };
        let warehouse = sale
            .get("warehouse")
            .and_then(Value::as_i64)
            .unwrap_or_default();
        let (storage, _input) = self
            .records
            .get("stock.location", warehouse)
            .map(|w| {
                (
                    w.get("storage_location")
                        .and_then(Value::as_i64)
                        .unwrap_or_default(),
                    w.get("input_location")
                        .and_then(Value::as_i64)
                        .unwrap_or_default(),
                )
            })
            .unwrap_or_default();
        let lines: Vec<Rec> = ids_of(sale.get("lines").unwrap_or(&Value::Null))
            .iter()
            .filter_map(|l| self.records.get("sale.line", *l).cloned())
            .collect();
        let goods = |negative: bool| -> Vec<&Rec> {
            lines
                .iter()
                .filter(|l| l.get("product").is_some_and(|p| !p.is_null()))
                .filter(|l| {
                    (to_decimal_or_zero(l.get("quantity").unwrap_or(&Value::Null))
                        .unwrap_or_default()
                        < Decimal::ZERO)
                        == negative
                })
                .collect()
        };
        let mut shipments = Vec::new();
        let out = goods(false);
        if !out.is_empty() {
            let shipment = self.records.create("stock.shipment.out", &obj(json!({"state": "waiting", "warehouse": warehouse, "number": format!("OUT-{sale_id}")})));
            for line in out {
                self.records.create("stock.move", &obj(json!({"product": line["product"], "quantity": line["quantity"], "from_location": storage, "to_location": CUSTOMER, "state": "draft", "shipment": format!("stock.shipment.out,{shipment}")})));
            }
            let moves = self.records.search(
                "stock.move",
                &json!([["shipment", "=", format!("stock.shipment.out,{shipment}")]]),
                &Value::Null,
            );
            self.records.write(
                "stock.shipment.out",
                shipment,
                &obj(json!({"outgoing_moves": moves})),
            );
            shipments.push(shipment);
        }
        let mut returns = Vec::new();
        let back = goods(true);
        if !back.is_empty() {
            let shipment = self.records.create(
                "stock.shipment.out.return",
                &obj(json!({"state": "draft", "warehouse": warehouse})),
            );
            for line in back {
                let quantity = -to_decimal_or_zero(&line["quantity"]).unwrap_or_default();
                self.records.create("stock.move", &obj(json!({"product": line["product"], "quantity": quantity.to_f64(), "from_location": CUSTOMER, "to_location": storage, "state": "draft", "shipment": format!("stock.shipment.out.return,{shipment}")})));
            }
            returns.push(shipment);
        }
        let (untaxed, tax) = self.sale_totals(&sale);
        let invoice = self.records.create(
            "account.invoice",
            &obj(json!({"state": "draft", "total_amount": decimal(untaxed + tax)})),
        );
        self.records.write("sale.sale", sale_id, &obj(json!({"state": "processing", "number": format!("SO{sale_id}"), "shipments": shipments, "shipment_returns": returns, "invoices": [invoice]})));
    }
}

/// A JSON object as a record (anything else: empty).
pub fn obj(value: Value) -> Rec {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// A stock quantity as a read answers it.
fn figure(quantity: Decimal) -> Value {
    json!(quantity.to_f64().unwrap_or_default())
}

fn line_amount(line: &Rec) -> Decimal {
    let quantity =
        to_decimal_or_zero(line.get("quantity").unwrap_or(&Value::Null)).unwrap_or_default();
    let price = line
        .get("unit_price")
        .map(to_decimal)
        .and_then(Result::ok)
        .unwrap_or_default();
    (quantity * price).round_dp(2)
}

fn page(ids: &[i64], offset: &Value, limit: &Value) -> Vec<i64> {
    let offset = offset.as_u64().unwrap_or(0) as usize;
    let limit = limit.as_u64().map(|l| l as usize).unwrap_or(usize::MAX);
    ids.iter().skip(offset).take(limit).copied().collect()
}
