//! An ERP double: a small HTTP server speaking the subset of Tryton's JSON-RPC the Tryton
//! connector uses, kept in memory, so the real connector (and a real `plumbd` with
//! `erp.url` pointing here) runs against it in the demo and in fault tests.
//!
//! Behaves like Tryton where the connector can tell: sessions and 401 on unknown tokens,
//! the context as last param (422 without), `UserError` answers with HTTP 200, sales that
//! move draft -> quotation -> confirmed -> processing and make a shipment (or a return for
//! negative lines) and an invoice, stock quantities computed from moves, `write_date`
//! stamped per request (one transaction time for everything a request writes), gzip on
//! answers over 1,400 bytes.
//!
//! [`ErpDouble`] is also the admin handle: add warehouses and products, set stock, ship,
//! inspect sales, and inject faults ([`Fault`]): an outage (503 or refused), slowness, a
//! business error, or a call that is carried out but whose answer is lost.

mod logic;
mod query;
mod records;

use std::collections::VecDeque;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use plumb_agent::erp::tryton::values::{decimal, to_decimal_or_zero};
use plumb_agent::erp::tryton::{DEFAULT_OVERLAP, Tryton, TrytonSettings};
use plumb_common::Decimal;

pub use logic::{CUSTOMER, LOST_FOUND, SUPPLIER};
use logic::{Refusal, State, obj};

/// The database name the double answers to.
pub const DATABASE: &str = "plumb";
/// The user and password it accepts.
pub const USER: &str = "admin";
/// The password.
pub const PASSWORD: &str = "double-pass";

/// A fault injected into the calls of one method (or every method, with `"*"`).
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Answer this HTTP status (503: database unavailable, 504: timeout, 429...).
    Status(u16),
    /// Close the connection without answering, before doing anything.
    Refuse,
    /// Wait this long before handling the call.
    Delay(Duration),
    /// Refuse with a business error (`UserError`) carrying this message.
    UserError(String),
    /// Carry the call out, then close the connection without answering: the document
    /// exists, the caller does not know.
    LoseResponse,
}

#[derive(Debug, Clone)]
struct Injected {
    method: String,
    fault: Fault,
    remaining: usize,
}

#[derive(Debug, Default)]
struct Shared {
    state: State,
    faults: VecDeque<Injected>,
    gzipped: usize,
}

/// A running double and its admin handle. Cloning shares the same server.
#[derive(Debug, Clone)]
pub struct ErpDouble {
    address: SocketAddr,
    shared: Arc<Mutex<Shared>>,
    server: Arc<tokio::task::JoinHandle<()>>,
}

/// A sale as the double holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct DoubleSale {
    /// Its id.
    pub id: i64,
    /// `reference` (`shopify:<order id>`).
    pub reference: String,
    /// State.
    pub state: String,
    /// (SKU or description, quantity, unit price) per line.
    pub lines: Vec<(String, Decimal, Decimal)>,
}

fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    // A panic while holding the lock leaves consistent JSON records: keep serving.
    shared
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl ErpDouble {
    /// Starts a double on a free loopback port with warehouses WH-EAST and WH-WEST, on the
    /// current tokio runtime.
    pub async fn start() -> ErpDouble {
        Self::start_on("127.0.0.1:0").await
    }

    /// Starts a double on `address`.
    pub async fn start_on(address: &str) -> ErpDouble {
        let listener = TcpListener::bind(address)
            .await
            .expect("bind the ERP double");
        let address = listener.local_addr().expect("local address");
        let mut shared = Shared::default();
        shared.state.setup(PASSWORD);
        let shared = Arc::new(Mutex::new(shared));
        let server = tokio::spawn(serve(listener, shared.clone()));
        let double = ErpDouble {
            address,
            shared,
            server: Arc::new(server),
        };
        double.add_warehouse("WH-EAST", "East");
        double.add_warehouse("WH-WEST", "West");
        double.add_tax("NY State Tax", "0.04");
        double.add_tax("NYC Sales Tax", "0.045");
        double.with(|s| {
            let party = s
                .records
                .create("party.party", &obj(json!({"name": "Plumb Parcel"})));
            s.records.create("carrier", &obj(json!({"party": party})));
        });
        double
    }

    /// The base URL (`http://127.0.0.1:PORT`).
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Connector settings for this double.
    pub fn settings(&self) -> TrytonSettings {
        TrytonSettings {
            url: self.url(),
            database: DATABASE.into(),
            user: USER.into(),
            password: PASSWORD.into(),
            timeout: Duration::from_secs(5),
            overlap: DEFAULT_OVERLAP,
        }
    }

    /// A fresh connector to this double.
    pub fn connector(&self) -> Tryton {
        Tryton::new(self.settings()).expect("connector")
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        let mut shared = lock(&self.shared);
        let state = &mut shared.state;
        state.records.now = Some(next_stamp(state.records.now));
        f(state)
    }

    /// Adds a warehouse with input, output and storage zones.
    pub fn add_warehouse(&self, code: &str, name: &str) {
        self.with(|s| {
            let r = &mut s.records;
            let wh = r.create("stock.location", &obj(json!({"name": name, "code": code, "type": "warehouse"})));
            let zone = |r: &mut records::Records, zone: &str| {
                r.create("stock.location", &obj(json!({"name": format!("{name} {zone}"), "code": format!("{code}-{zone}"), "type": "storage", "parent": wh})))
            };
            let input = zone(r, "IN");
            let output = zone(r, "OUT");
            let storage = zone(r, "STO");
            r.write("stock.location", wh, &obj(json!({"input_location": input, "output_location": output, "storage_location": storage})));
        });
    }

    /// Adds a tax.
    pub fn add_tax(&self, name: &str, rate: &str) {
        let rate: Decimal = rate.parse().expect("rate");
        self.with(|s| {
            s.records.create(
                "account.tax",
                &obj(json!({"name": name, "rate": decimal(rate), "parent": null})),
            );
        });
    }

    /// Adds a product (goods) with an EAN barcode.
    pub fn add_product(&self, sku: &str, title: &str, price: &str, barcode: Option<&str>) {
        let price: Decimal = price.parse().expect("price");
        self.with(|s| {
            let r = &mut s.records;
            let template = r.create("product.template", &obj(json!({"name": title, "list_price": decimal(price)})));
            let product = r.create("product.product", &obj(json!({"suffix_code": sku, "template": template, "type": "goods", "default_uom": 1, "active": true})));
            if let Some(code) = barcode {
                r.create("product.identifier", &obj(json!({"product": product, "type": "ean", "code": code, "sequence": 1})));
            }
        });
    }

    /// Sets a product's list price, as a user editing its template would (the template's
    /// `write_date` moves).
    pub fn set_price(&self, sku: &str, price: &str) {
        let price: Decimal = price.parse().expect("price");
        self.with(|s| {
            let template = Self::template_id(s, sku);
            s.records.write(
                "product.template",
                template,
                &obj(json!({"list_price": decimal(price)})),
            );
        });
    }

    /// Sets a product's title (its template's name).
    pub fn set_title(&self, sku: &str, title: &str) {
        self.with(|s| {
            let template = Self::template_id(s, sku);
            s.records
                .write("product.template", template, &obj(json!({"name": title})));
        });
    }

    /// Sets a product's cost price (written through the product, as Tryton does).
    pub fn set_cost(&self, sku: &str, cost: &str) {
        let cost: Decimal = cost.parse().expect("cost");
        self.with(|s| {
            let product = Self::product_id(s, sku);
            s.records.write(
                "product.product",
                product,
                &obj(json!({"cost_price": decimal(cost)})),
            );
        });
    }

    fn template_id(state: &State, sku: &str) -> i64 {
        let product = Self::product_id(state, sku);
        state
            .records
            .get("product.product", product)
            .and_then(|p| p.get("template"))
            .and_then(Value::as_i64)
            .unwrap_or_else(|| panic!("no template for {sku} in the double"))
    }

    /// Adds `count` products `SKU-0001`.. priced 10 + n, with `east` and `west` on hand.
    pub fn seed_products(&self, count: usize, east: i64, west: i64) {
        for n in 1..=count {
            let sku = format!("SKU-{n:04}");
            self.add_product(
                &sku,
                &format!("Plumb Product {sku}"),
                &format!("{}.00", 10 + n),
                None,
            );
            self.set_stock(&sku, "WH-EAST", east);
            self.set_stock(&sku, "WH-WEST", west);
        }
    }

    fn product_id(state: &State, sku: &str) -> i64 {
        state
            .records
            .search(
                "product.product",
                &json!([["suffix_code", "=", sku]]),
                &Value::Null,
            )
            .first()
            .copied()
            .unwrap_or_else(|| panic!("no product {sku} in the double"))
    }

    fn zone(state: &State, warehouse: &str, zone: &str) -> i64 {
        let id = state.records.search(
            "stock.location",
            &json!([["code", "=", warehouse]]),
            &Value::Null,
        );
        let wh = id
            .first()
            .and_then(|id| state.records.get("stock.location", *id))
            .unwrap_or_else(|| panic!("no warehouse {warehouse}"));
        wh.get(zone).and_then(Value::as_i64).unwrap_or_default()
    }

    /// Adds `count` products `<prefix>-00000`... (the sandbox's `add_catalog` SKUs), each
    /// with `on_hand` in every one of `warehouses`: a catalogue for benchmarks, made in
    /// one pass.
    pub fn seed_catalog(&self, prefix: &str, count: usize, warehouses: &[&str], on_hand: i64) {
        self.with(|s| {
            let zones: Vec<i64> = warehouses
                .iter()
                .map(|w| Self::zone(s, w, "storage_location"))
                .collect();
            let r = &mut s.records;
            for n in 0..count {
                let sku = format!("{prefix}-{n:05}");
                let template = r.create("product.template", &obj(json!({"name": sku, "list_price": "10.00"})));
                let product = r.create("product.product", &obj(json!({"suffix_code": sku, "template": template, "type": "goods", "default_uom": 1, "active": true})));
                for zone in &zones {
                    r.create("stock.move", &obj(json!({"product": product, "quantity": on_hand, "from_location": LOST_FOUND, "to_location": zone, "state": "done"})));
                }
            }
        });
    }

    /// Sets the list price of the first `count` products of a [`ErpDouble::seed_catalog`]
    /// catalogue to `price`, in one transaction (a price list import).
    pub fn set_catalog_price(&self, prefix: &str, count: usize, price: &str) {
        let price: Decimal = price.parse().expect("price");
        self.with(|s| {
            let wanted: std::collections::HashSet<String> =
                (0..count).map(|n| format!("{prefix}-{n:05}")).collect();
            let templates: Vec<i64> = s
                .records
                .all("product.product")
                .filter(|p| {
                    p.get("suffix_code")
                        .and_then(Value::as_str)
                        .is_some_and(|sku| wanted.contains(sku))
                })
                .filter_map(|p| p.get("template").and_then(Value::as_i64))
                .collect();
            for template in templates {
                s.records.write(
                    "product.template",
                    template,
                    &obj(json!({"list_price": decimal(price)})),
                );
            }
        });
    }

    /// Sets on hand of the first `count` products of a [`ErpDouble::seed_catalog`]
    /// catalogue to `on_hand` in every one of `warehouses`, in one transaction.
    pub fn set_catalog_stock(&self, prefix: &str, count: usize, warehouses: &[&str], on_hand: i64) {
        self.with(|s| {
            let wanted: std::collections::HashSet<String> =
                (0..count).map(|n| format!("{prefix}-{n:05}")).collect();
            let products: Vec<i64> = s
                .records
                .all("product.product")
                .filter(|p| p.get("suffix_code").and_then(Value::as_str).is_some_and(|sku| wanted.contains(sku)))
                .filter_map(|p| p.get("id").and_then(Value::as_i64))
                .collect();
            let mut moves = Vec::new();
            for warehouse in warehouses {
                let wh = Self::zone(s, warehouse, "id");
                let storage = Self::zone(s, warehouse, "storage_location");
                let rows = s.read("product.product", &products, &json!(["quantity"]), &json!({"locations": [wh], "stock_skip_warehouse": true}));
                for row in rows.as_array().into_iter().flatten() {
                    let current = to_decimal_or_zero(&row["quantity"]).unwrap_or_default();
                    let delta = Decimal::from(on_hand) - current;
                    let (from, to) = if delta > Decimal::ZERO { (LOST_FOUND, storage) } else { (storage, LOST_FOUND) };
                    if !delta.is_zero() {
                        moves.push(json!({"product": row["id"], "quantity": delta.abs().to_string().parse::<f64>().unwrap_or_default(), "from_location": from, "to_location": to, "state": "done"}));
                    }
                }
            }
            for mv in moves {
                s.records.create("stock.move", &obj(mv));
            }
        });
    }

    /// Sets on hand of a SKU in a warehouse (a done move from lost-and-found, as an
    /// inventory makes).
    pub fn set_stock(&self, sku: &str, warehouse: &str, on_hand: i64) {
        let current = self.on_hand(sku, warehouse);
        self.with(|s| {
            let product = Self::product_id(s, sku);
            let storage = Self::zone(s, warehouse, "storage_location");
            let delta = Decimal::from(on_hand) - current;
            if delta.is_zero() {
                return;
            }
            let (from, to) = if delta > Decimal::ZERO { (LOST_FOUND, storage) } else { (storage, LOST_FOUND) };
            s.records.create("stock.move", &obj(json!({"product": product, "quantity": delta.abs().to_string().parse::<f64>().unwrap_or_default(), "from_location": from, "to_location": to, "state": "done"})));
        });
    }

    /// On hand of a SKU in a warehouse.
    pub fn on_hand(&self, sku: &str, warehouse: &str) -> Decimal {
        let state = &lock(&self.shared).state;
        let product = Self::product_id(state, sku);
        let wh = Self::zone(state, warehouse, "id");
        let rows = state.read(
            "product.product",
            &[product],
            &json!(["quantity"]),
            &json!({"locations": [wh], "stock_skip_warehouse": true}),
        );
        to_decimal_or_zero(&rows[0]["quantity"]).unwrap_or_default()
    }

    /// Injects a fault into the next `times` calls of `method` (`"model.sale.sale.create"`,
    /// `"*"` for all).
    pub fn inject(&self, method: &str, fault: Fault, times: usize) {
        lock(&self.shared).faults.push_back(Injected {
            method: method.into(),
            fault,
            remaining: times,
        });
    }

    /// Removes every injected fault.
    pub fn heal(&self) {
        lock(&self.shared).faults.clear();
    }

    /// Forgets every session (an expiry): the next call gets 401.
    pub fn expire_sessions(&self) {
        lock(&self.shared).state.sessions.clear();
    }

    /// How many times `method` was called.
    pub fn calls(&self, method: &str) -> usize {
        lock(&self.shared)
            .state
            .calls
            .get(method)
            .copied()
            .unwrap_or_default()
    }

    /// How many answers went out gzipped (the client asked for gzip and they were large).
    pub fn gzipped_answers(&self) -> usize {
        lock(&self.shared).gzipped
    }

    /// Every sale, in creation order.
    pub fn sales(&self) -> Vec<DoubleSale> {
        let state = &lock(&self.shared).state;
        let r = &state.records;
        let get =
            |record: &records::Rec, field: &str| record.get(field).cloned().unwrap_or(Value::Null);
        r.all("sale.sale")
            .map(|sale| {
                let lines = get(sale, "lines").as_array().cloned().unwrap_or_default();
                DoubleSale {
                    id: get(sale, "id").as_i64().unwrap_or_default(),
                    reference: get(sale, "reference")
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    state: get(sale, "state").as_str().unwrap_or_default().to_owned(),
                    lines: lines
                        .iter()
                        .filter_map(|l| r.get("sale.line", l.as_i64()?))
                        .map(|l| {
                            let sku = get(l, "product")
                                .as_i64()
                                .and_then(|p| r.get("product.product", p))
                                .and_then(|p| get(p, "suffix_code").as_str().map(str::to_owned));
                            let name = sku.unwrap_or_else(|| {
                                get(l, "description")
                                    .as_str()
                                    .unwrap_or_default()
                                    .to_owned()
                            });
                            (
                                name,
                                to_decimal_or_zero(&get(l, "quantity")).unwrap_or_default(),
                                to_decimal_or_zero(&get(l, "unit_price")).unwrap_or_default(),
                            )
                        })
                        .collect(),
                }
            })
            .collect()
    }

    /// Adds a bare sale (no lines, processing) for each Shopify order of `ids`, in one
    /// transaction: booked orders for benchmarks, made in one pass.
    pub fn seed_sales(&self, ids: &[u64]) {
        self.with(|s| {
            for id in ids {
                s.records.create(
                    "sale.sale",
                    &obj(
                        json!({"reference": format!("shopify:{id}"), "state": "processing",
                        "lines": [], "shipments": [], "shipment_returns": [], "invoices": []}),
                    ),
                );
            }
        });
    }

    /// Puts the tax `name` on every line of the sale booked for a Shopify order: a tax
    /// added by hand in the ERP, which Shopify's order does not carry.
    pub fn tax_sale(&self, shopify_order_id: u64, name: &str) {
        let reference = format!("shopify:{shopify_order_id}");
        self.with(|s| {
            let tax = s
                .records
                .all("account.tax")
                .find(|t| t.get("name").and_then(Value::as_str) == Some(name))
                .and_then(|t| t.get("id").cloned())
                .unwrap_or_else(|| panic!("no tax {name} in the double"));
            let lines: Vec<i64> = s
                .records
                .all("sale.sale")
                .find(|r| r.get("reference").and_then(Value::as_str) == Some(reference.as_str()))
                .and_then(|sale| sale.get("lines"))
                .and_then(Value::as_array)
                .map(|ids| ids.iter().filter_map(Value::as_i64).collect())
                .unwrap_or_else(|| panic!("no sale {reference} in the double"));
            for line in lines {
                s.records
                    .write("sale.line", line, &obj(json!({"taxes": [tax]})));
            }
        });
    }

    /// Books a second sale carrying the same Shopify order (a copy of the first's
    /// reference, party and currency, no lines, in draft): what a second integration or a
    /// hand entry makes.
    pub fn duplicate_sale(&self, shopify_order_id: u64) {
        let reference = format!("shopify:{shopify_order_id}");
        self.with(|s| {
            let mut copy = s
                .records
                .all("sale.sale")
                .find(|r| r.get("reference").and_then(Value::as_str) == Some(reference.as_str()))
                .cloned()
                .unwrap_or_else(|| panic!("no sale {reference} in the double"));
            copy.remove("id");
            copy.insert("lines".to_owned(), json!([]));
            copy.insert("state".to_owned(), json!("draft"));
            s.records.create("sale.sale", &copy);
        });
    }

    /// Ships the order's shipment with a carrier and tracking number (reserve to done).
    pub fn ship(&self, shopify_order_id: u64, tracking: &str) {
        let mut shared = lock(&self.shared);
        let state = &mut shared.state;
        state.records.now = Some(next_stamp(state.records.now));
        let sale = sale_of(state, shopify_order_id);
        let shipment = sale["shipments"][0].as_i64().expect("a shipment");
        ship_shipment(state, shipment, tracking);
    }

    /// Ships part of the order's waiting shipment as a shipment of its own (what Tryton
    /// does when a warehouse splits a delivery): `lines` are (SKU, units) taken off the
    /// waiting shipment's moves, shipped with a carrier and tracking number. Returns the
    /// new shipment's id.
    pub fn ship_part(&self, shopify_order_id: u64, lines: &[(&str, i64)], tracking: &str) -> i64 {
        let mut shared = lock(&self.shared);
        let state = &mut shared.state;
        state.records.now = Some(next_stamp(state.records.now));
        let sale = sale_of(state, shopify_order_id);
        let sale_id = sale["id"].as_i64().expect("sale id");
        let mut shipments: Vec<i64> = sale["shipments"]
            .as_array()
            .map(|ids| ids.iter().filter_map(Value::as_i64).collect())
            .unwrap_or_default();
        let waiting = shipments
            .iter()
            .copied()
            .find(|id| {
                state
                    .records
                    .get("stock.shipment.out", *id)
                    .is_some_and(|s| s.get("state") == Some(&json!("waiting")))
            })
            .expect("a waiting shipment");
        let original = state
            .records
            .get("stock.shipment.out", waiting)
            .cloned()
            .expect("shipment");
        let part = state.records.create(
            "stock.shipment.out",
            &obj(json!({
                "state": "waiting",
                "warehouse": original.get("warehouse").cloned().unwrap_or(Value::Null),
                "number": format!("OUT-{sale_id}-{}", shipments.len() + 1),
            })),
        );
        let mut part_moves = Vec::new();
        for (sku, units) in lines {
            let product = state.records.search(
                "product.product",
                &json!([["suffix_code", "=", sku]]),
                &Value::Null,
            )[0];
            let moves = state.records.search(
                "stock.move",
                &json!([
                    ["shipment", "=", format!("stock.shipment.out,{waiting}")],
                    ["product", "=", product]
                ]),
                &Value::Null,
            );
            let mv = state
                .records
                .get("stock.move", moves[0])
                .cloned()
                .expect("move");
            let left = to_decimal_or_zero(mv.get("quantity").unwrap_or(&Value::Null))
                .unwrap_or_default()
                - Decimal::from(*units);
            assert!(
                left >= Decimal::ZERO,
                "{sku}: the shipment holds fewer than {units}"
            );
            state.records.write(
                "stock.move",
                moves[0],
                &obj(json!({"quantity": decimal(left)})),
            );
            let mut values = mv.clone();
            values.remove("id");
            values.insert("quantity".into(), decimal(Decimal::from(*units)));
            values.insert(
                "shipment".into(),
                json!(format!("stock.shipment.out,{part}")),
            );
            part_moves.push(state.records.create("stock.move", &values));
        }
        state.records.write(
            "stock.shipment.out",
            part,
            &obj(json!({"outgoing_moves": part_moves})),
        );
        shipments.push(part);
        state
            .records
            .write("sale.sale", sale_id, &obj(json!({"shipments": shipments})));
        ship_shipment(state, part, tracking);
        part
    }

    /// Gives a shipment another tracking number (a carrier relabelling a parcel): Tryton
    /// stamps it with a new `write_date`, so it is reported again.
    pub fn set_tracking(&self, shipment: i64, tracking: &str) {
        let mut shared = lock(&self.shared);
        let state = &mut shared.state;
        state.records.now = Some(next_stamp(state.records.now));
        state.records.write(
            "stock.shipment.out",
            shipment,
            &obj(json!({"shipping_reference": tracking})),
        );
    }

    /// Stops serving (an outage where nothing listens any more).
    pub fn shut_down(&self) {
        self.server.abort();
    }
}

impl Drop for ErpDouble {
    fn drop(&mut self) {
        if Arc::strong_count(&self.server) == 1 {
            self.server.abort();
        }
    }
}

/// The next transaction time: the wall clock, strictly after the previous one.
/// The sale booked for a Shopify order.
fn sale_of(state: &State, shopify_order_id: u64) -> records::Rec {
    let sale = state.records.search(
        "sale.sale",
        &json!([["reference", "=", format!("shopify:{shopify_order_id}")]]),
        &Value::Null,
    );
    state
        .records
        .get("sale.sale", sale[0])
        .cloned()
        .expect("sale")
}

/// Sets the seeded carrier and `tracking` on a shipment, then takes it from waiting to done.
fn ship_shipment(state: &mut State, shipment: i64, tracking: &str) {
    let ctx = json!({});
    let carrier = state.records.search("carrier", &json!([]), &Value::Null)[0];
    state.records.write(
        "stock.shipment.out",
        shipment,
        &obj(json!({"carrier": carrier, "shipping_reference": tracking})),
    );
    for step in ["assign_try", "pick", "pack", "ship", "do"] {
        let _ = state.call(
            &format!("model.stock.shipment.out.{step}"),
            &[json!([shipment]), ctx.clone()],
            true,
        );
    }
}

fn next_stamp(previous: Option<chrono::NaiveDateTime>) -> chrono::NaiveDateTime {
    let now = chrono::Utc::now().naive_utc();
    match previous {
        Some(previous) if previous >= now => previous + chrono::Duration::microseconds(1),
        _ => now,
    }
}

async fn serve(listener: TcpListener, shared: Arc<Mutex<Shared>>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let service =
                hyper::service::service_fn(move |request| handle(request, shared.clone()));
            // Like Tryton's Werkzeug server: one request per connection.
            let _ = hyper::server::conn::http1::Builder::new()
                .keep_alive(false)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// What to do with a call after the faults had their say.
enum Plan {
    Normal,
    Lose,
}

#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by fault injection")
    }
}

impl std::error::Error for Dropped {}

fn take_fault(shared: &Mutex<Shared>, method: &str) -> Option<Fault> {
    let mut shared = lock(shared);
    let index = shared
        .faults
        .iter()
        .position(|f| f.method == "*" || f.method == method)?;
    let injected = &mut shared.faults[index];
    let fault = injected.fault.clone();
    injected.remaining = injected.remaining.saturating_sub(1);
    if injected.remaining == 0 {
        shared.faults.remove(index);
    }
    Some(fault)
}

fn html(status: u16) -> Result<Response<Full<Bytes>>, Dropped> {
    Ok(Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("content-type", "text/html")
        .body(Full::new(Bytes::from(format!(
            "<!doctype html><title>{status}</title>"
        ))))
        .unwrap_or_default())
}

async fn handle(
    request: Request<Incoming>,
    shared: Arc<Mutex<Shared>>,
) -> Result<Response<Full<Bytes>>, Dropped> {
    let path = request.uri().path().to_owned();
    let gzip_ok = request
        .headers()
        .get("accept-encoding")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("gzip"));
    let token = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Session "))
        .and_then(|v| base64::Engine::decode(&base64::engine::general_purpose::STANDARD, v).ok())
        .and_then(|v| String::from_utf8(v).ok())
        .and_then(|v| v.rsplit(':').next().map(str::to_owned));
    let body = request
        .into_body()
        .collect()
        .await
        .map_err(|_| Dropped)?
        .to_bytes();
    let Ok(call) = serde_json::from_slice::<Value>(&body) else {
        return html(400);
    };
    let method = call["method"].as_str().unwrap_or_default().to_owned();
    let params = call["params"].as_array().cloned().unwrap_or_default();
    if path != "/rpc/" && path != format!("/{DATABASE}/rpc/") {
        return html(404);
    }
    let mut plan = Plan::Normal;
    if let Some(fault) = take_fault(&shared, &method) {
        match fault {
            Fault::Status(status) => return html(status),
            Fault::Refuse => return Err(Dropped),
            Fault::Delay(delay) => tokio::time::sleep(delay).await,
            Fault::UserError(message) => {
                return Ok(json_response(
                    json!({"id": call["id"], "error": ["UserError", [message, "", null]]}),
                    gzip_ok,
                ));
            }
            Fault::LoseResponse => plan = Plan::Lose,
        }
    }
    let outcome = {
        let mut shared = lock(&shared);
        let state = &mut shared.state;
        state.records.now = Some(next_stamp(state.records.now));
        let authorized = token.is_some_and(|t| state.sessions.contains(&t));
        state.call(&method, &params, authorized)
    };
    if matches!(plan, Plan::Lose) {
        return Err(Dropped);
    }
    match outcome {
        Ok(result) => {
            let response = json_response(json!({"id": call["id"], "result": result}), gzip_ok);
            if response.headers().contains_key("content-encoding") {
                lock(&shared).gzipped += 1;
            }
            Ok(response)
        }
        Err(Refusal::User(message)) => Ok(json_response(
            json!({"id": call["id"], "error": ["UserError", [message, "", null]]}),
            gzip_ok,
        )),
        Err(Refusal::Status(status)) => html(status),
    }
}

/// Like Tryton: answers over about 1,400 bytes are gzipped whatever was asked (we only do
/// it when asked, and count on the connector always asking).
fn json_response(value: Value, gzip_ok: bool) -> Response<Full<Bytes>> {
    let body = value.to_string().into_bytes();
    let builder = Response::builder().header("content-type", "application/json");
    if body.len() > 1400 && gzip_ok {
        let mut encoder = flate2_free_gzip(&body);
        if let Some(compressed) = encoder.take() {
            return builder
                .header("content-encoding", "gzip")
                .body(Full::new(Bytes::from(compressed)))
                .unwrap_or_default();
        }
    }
    builder
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_default()
}

/// A gzip stream with "stored" (uncompressed) deflate blocks: valid gzip without a
/// compression library, which is all a double needs to exercise the client's decoding.
fn flate2_free_gzip(data: &[u8]) -> Option<Vec<u8>> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    let mut chunks = data.chunks(65_535).peekable();
    if chunks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(chunk) = chunks.next() {
        let last = u8::from(chunks.peek().is_none());
        let len = u16::try_from(chunk.len()).ok()?;
        out.push(last);
        out.write_all(&len.to_le_bytes()).ok()?;
        out.write_all(&(!len).to_le_bytes()).ok()?;
        out.extend_from_slice(chunk);
    }
    out.write_all(&crc32(data).to_le_bytes()).ok()?;
    out.write_all(&(data.len() as u32).to_le_bytes()).ok()?;
    Some(out)
}

/// CRC-32 (IEEE) of every byte value, for [`crc32`] to take a byte at a time.
const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut n = 0;
    while n < 256 {
        let mut crc = n as u32;
        let mut bit = 0;
        while bit < 8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xedb8_8320 & mask);
            bit += 1;
        }
        table[n] = crc;
        n += 1;
    }
    table
};

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for byte in data {
        crc = CRC_TABLE[((crc ^ u32::from(*byte)) & 0xff) as usize] ^ (crc >> 8);
    }
    !crc
}
