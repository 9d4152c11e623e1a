//! A real Tryton 8.2 for the integration tests and benchmarks, started on this machine by
//! `tests/tryton/provision.sh` (a venv and an initialised database cached under
//! `target/tryton`, a fresh copy of the database per server, a free loopback port) and
//! seeded by `tests/tryton/seed.py`.
//!
//! One server per test binary ([`TrytonServer::shared`]): starting one takes seconds, so the
//! tests of a binary share it and stay apart by using distinct SKUs and order ids. A static
//! is never dropped, so the server is stopped by the provision script's watchdog, which
//! watches this process's pid; servers a test owns ([`TrytonServer::start`]) also stop on
//! drop.
//!
//! Without `python3` (and its `venv` module) the tests fail, saying what to install: a
//! skipped integration test is a test nobody runs.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::{Map, Value, json};

use plumb_agent::erp::tryton::{DEFAULT_OVERLAP, Tryton, TrytonSettings};

/// What to install when python is missing.
pub const PYTHON_HINT: &str = "the Tryton integration tests need python3 with its venv module \
     (Debian/Ubuntu: apt-get install python3 python3-venv) and access to PyPI on the first run";

/// A running Tryton server.
#[derive(Debug)]
pub struct TrytonServer {
    /// Base URL.
    pub url: String,
    /// Database.
    pub database: String,
    /// User.
    pub user: String,
    /// Password.
    pub password: String,
    /// The lab directory (database copy, config, log, pid file).
    pub lab: PathBuf,
    /// The cached, freshly initialised database the lab's copy came from (what seeded
    /// snapshots are keyed on).
    pub base_db: PathBuf,
    /// seed.py's summary (ids of warehouses, products, customer, carrier...).
    pub seed: Value,
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(".."))
}

fn script(name: &str) -> PathBuf {
    repo().join("tests/tryton").join(name)
}

fn require_python() {
    let found = Command::new("python3")
        .arg("-c")
        .arg("import venv, ensurepip, sqlite3")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(
        found,
        "python3 with venv and ensurepip not found: {PYTHON_HINT}"
    );
}

/// The last non-empty line of a script's stdout, as JSON.
fn last_json(stdout: &[u8], what: &str) -> Value {
    let text = String::from_utf8_lossy(stdout);
    let line = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    serde_json::from_str(line)
        .unwrap_or_else(|e| panic!("{what}: last line is not JSON ({e}): {line}"))
}

impl TrytonServer {
    /// The server this test binary shares, started and seeded with `SKUS` products on
    /// first use.
    pub fn shared() -> &'static TrytonServer {
        static SHARED: OnceLock<TrytonServer> = OnceLock::new();
        SHARED.get_or_init(|| {
            let mut server = TrytonServer::start();
            server.seed(SHARED_SKUS, &[]);
            server
        })
    }

    /// Starts a server of its own (stopped on drop). Not seeded.
    pub fn start() -> TrytonServer {
        Self::start_from(None)
    }

    /// Starts a server on a copy of `snapshot` (a database saved by [`Self::snapshot`]), or
    /// of the freshly initialised database.
    pub fn start_from(snapshot: Option<&Path>) -> TrytonServer {
        require_python();
        let mut command = Command::new("bash");
        if let Some(snapshot) = snapshot {
            command.env("PLUMB_TRYTON_DB_FROM", snapshot);
        }
        let output = command
            .arg(script("provision.sh"))
            .arg("start")
            .env("PLUMB_TRYTON_OWNER_PID", std::process::id().to_string())
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .stdout(Stdio::piped())
            .output()
            .unwrap_or_else(|e| panic!("cannot run provision.sh: {e}: {PYTHON_HINT}"));
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let hint = if output.status.code() == Some(2) {
                PYTHON_HINT
            } else {
                ""
            };
            panic!(
                "provision.sh start failed ({}): {stderr}\n{hint}",
                output.status
            );
        }
        let j = last_json(&output.stdout, "provision.sh start");
        let text = |key: &str| j[key].as_str().unwrap_or_default().to_owned();
        TrytonServer {
            url: text("url"),
            database: text("database"),
            user: text("user"),
            password: text("password"),
            lab: PathBuf::from(text("lab")),
            base_db: PathBuf::from(text("base_db")),
            seed: Value::Null,
        }
    }

    /// Runs seed.py (idempotent) for `skus` products, plus `extra` arguments; keeps and
    /// returns its summary.
    pub fn seed(&mut self, skus: usize, extra: &[&str]) -> &Value {
        let connection = json!({"url": self.url, "database": self.database,
            "user": self.user, "password": self.password});
        let output = Command::new("python3")
            .arg(script("seed.py"))
            .arg("--json")
            .arg(connection.to_string())
            .arg("--skus")
            .arg(skus.to_string())
            .args(extra)
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .stdout(Stdio::piped())
            .output()
            .unwrap_or_else(|e| panic!("cannot run seed.py: {e}: {PYTHON_HINT}"));
        assert!(
            output.status.success(),
            "seed.py failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        self.seed = last_json(&output.stdout, "seed.py");
        &self.seed
    }

    /// Connector settings for this server.
    pub fn settings(&self) -> TrytonSettings {
        TrytonSettings {
            url: self.url.clone(),
            database: self.database.clone(),
            user: self.user.clone(),
            password: self.password.clone(),
            timeout: Duration::from_secs(60),
            overlap: DEFAULT_OVERLAP,
        }
    }

    /// A fresh connector (its own session and caches: a second agent with no memory).
    pub fn connector(&self) -> Tryton {
        Tryton::new(self.settings()).expect("connector")
    }

    /// Ends every session on the server, as an expiry or a server-side logout would.
    pub fn expire_sessions(&self) {
        let db = self
            .lab
            .join("db")
            .join(format!("{}.sqlite", self.database));
        let status = Command::new("python3")
            .arg("-c")
            .arg(
                "import sqlite3,sys; c=sqlite3.connect(sys.argv[1], timeout=30); \
                 c.execute('DELETE FROM ir_session'); c.commit()",
            )
            .arg(&db)
            .status()
            .expect("python3");
        assert!(
            status.success(),
            "could not clear sessions in {}",
            db.display()
        );
    }

    /// Saves a consistent copy of the live database to `to` (SQLite's online backup), to
    /// start later servers from with [`Self::start_from`].
    pub fn snapshot(&self, to: &Path) {
        let db = self
            .lab
            .join("db")
            .join(format!("{}.sqlite", self.database));
        let partial = to.with_extension("partial");
        let status = Command::new("python3")
            .arg("-c")
            .arg(
                "import sqlite3,sys; s=sqlite3.connect(sys.argv[1], timeout=60); \
                 d=sqlite3.connect(sys.argv[2]); s.backup(d); d.close()",
            )
            .arg(&db)
            .arg(&partial)
            .status()
            .expect("python3");
        assert!(status.success(), "snapshot of {} failed", db.display());
        std::fs::rename(&partial, to).expect("snapshot into place");
    }

    /// Stops the server (idempotent).
    pub fn stop(&self) {
        if self.lab.as_os_str().is_empty() {
            return;
        }
        let _ = Command::new("bash")
            .arg(script("provision.sh"))
            .arg("stop")
            .arg(&self.lab)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }

    /// The seeded id of a warehouse's zone ("id", "storage", "input"...).
    pub fn warehouse(&self, code: &str, zone: &str) -> i64 {
        self.seed["warehouses"][code][zone]
            .as_i64()
            .unwrap_or_else(|| panic!("no {zone} for warehouse {code} in the seed"))
    }

    /// The seeded product id of a SKU.
    pub fn product(&self, sku: &str) -> i64 {
        self.seed["products"][sku]
            .as_i64()
            .unwrap_or_else(|| panic!("SKU {sku} is not seeded"))
    }
}

impl Drop for TrytonServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Products the shared server is seeded with (tests split them between them).
pub const SHARED_SKUS: usize = 40;

/// ERP-side actions a test performs as a warehouse clerk would, over the connector's own
/// session.
#[derive(Debug)]
pub struct Clerk<'a> {
    /// The server.
    pub server: &'a TrytonServer,
    /// A connector used for raw calls.
    pub tryton: Tryton,
}

impl<'a> Clerk<'a> {
    /// A clerk on `server`.
    pub fn new(server: &'a TrytonServer) -> Clerk<'a> {
        Clerk {
            server,
            tryton: server.connector(),
        }
    }

    /// `model.<model>.<method>(*args, ctx)`.
    pub async fn call(&self, model: &str, method: &str, args: Vec<Value>) -> Value {
        self.tryton
            .session()
            .model(model, method, args, None)
            .await
            .unwrap_or_else(|e| panic!("{model}.{method}: {e}"))
    }

    /// Sets on-hand of `sku` in a warehouse's storage through a stock inventory.
    pub async fn inventory(&self, sku: &str, warehouse: &str, quantity: i64) {
        let storage = self.server.warehouse(warehouse, "storage");
        let product = self.server.product(sku);
        let ids = self
            .call(
                "stock.inventory",
                "create",
                vec![json!([{"location": storage, "lines": [["create", [{"product": product, "quantity": quantity as f64}]]]}])],
            )
            .await;
        self.call(
            "stock.inventory",
            "complete_lines",
            vec![ids.clone(), json!(false)],
        )
        .await;
        self.call("stock.inventory", "confirm", vec![ids]).await;
    }

    /// Creates a kit product `sku` (Tryton's `product_kit`) made of `components` (SKU,
    /// units per kit), listed on its template; returns the kit's product id.
    pub async fn create_kit(&self, sku: &str, components: &[(&str, f64)]) -> i64 {
        let unit = &self.server.seed["unit"];
        let components: Vec<Value> = components
            .iter()
            .map(|(sku, quantity)| {
                json!({"product": self.server.product(sku), "quantity": quantity, "unit": unit})
            })
            .collect();
        self.call(
            "product.template",
            "create",
            vec![json!([{
                "name": format!("Kit {sku}"),
                "type": "kit",
                "default_uom": unit,
                "list_price": {"__class__": "Decimal", "decimal": "30.00"},
                "cost_price_method": "fixed",
                "salable": true,
                "sale_uom": unit,
                "products": [["create", [{"suffix_code": sku}]]],
                "components": [["create", components]],
            }])],
        )
        .await;
        let found = self
            .call(
                "product.product",
                "search",
                vec![json!([["suffix_code", "=", sku]]), json!(0), json!(1)],
            )
            .await;
        found[0].as_i64().expect("the kit's product")
    }

    /// Receives `quantity` of `sku` from a supplier straight into storage (a done move).
    pub async fn receive(&self, sku: &str, warehouse: &str, quantity: i64) {
        let supplier = self
            .call(
                "stock.location",
                "search",
                vec![json!([["type", "=", "supplier"]]), json!(0), json!(1)],
            )
            .await;
        let supplier = supplier[0].as_i64().expect("a supplier location");
        let ids = self
            .call(
                "stock.move",
                "create",
                vec![json!([{
                    "product": self.server.product(sku),
                    "unit": self.server.seed["unit"],
                    "quantity": quantity as f64,
                    "from_location": supplier,
                    "to_location": self.server.warehouse(warehouse, "storage"),
                    "unit_price": {"__class__": "Decimal", "decimal": "4.00"},
                    "currency": self.server.seed["currency"],
                    "company": self.server.seed["company"],
                }])],
            )
            .await;
        self.call("stock.move", "do", vec![ids]).await;
    }

    /// The customer shipments of the sale booked for a Shopify order.
    pub async fn shipments_of(&self, shopify_order_id: u64) -> Vec<i64> {
        let rows = self
            .call(
                "sale.sale",
                "search_read",
                vec![
                    json!([["reference", "=", format!("shopify:{shopify_order_id}")]]),
                    json!(0),
                    Value::Null,
                    Value::Null,
                    json!(["shipments"]),
                ],
            )
            .await;
        rows[0]["shipments"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_i64).collect())
            .unwrap_or_default()
    }

    /// Reserves a shipment's goods (`assign_try`).
    pub async fn reserve(&self, shipment: i64) {
        self.call("stock.shipment.out", "assign_try", vec![json!([shipment])])
            .await;
    }

    /// Ships a shipment with the seeded carrier and a tracking number: reserve, pick,
    /// pack, ship, done.
    pub async fn ship(&self, shipment: i64, tracking: &str) {
        self.call(
            "stock.shipment.out",
            "write",
            vec![
                json!([shipment]),
                json!({"carrier": self.server.seed["carrier"], "shipping_reference": tracking}),
            ],
        )
        .await;
        for step in ["assign_try", "pick", "pack", "ship", "do"] {
            self.call("stock.shipment.out", step, vec![json!([shipment])])
                .await;
        }
    }

    /// Splits a waiting customer shipment as a warehouse does to ship part of it first:
    /// back to draft, `lines` ((SKU, units)) moved onto a new shipment for the same
    /// customer (a move split in two when only part of it goes), both set waiting again.
    /// The moves keep their sale line as origin, so the sale lists both shipments. Returns
    /// the new shipment.
    pub async fn split(&self, shipment: i64, lines: &[(&str, i64)]) -> i64 {
        let model = "stock.shipment.out";
        self.call(model, "draft", vec![json!([shipment])]).await;
        let header = &self
            .read(
                model,
                &[shipment],
                &[
                    "customer",
                    "delivery_address",
                    "warehouse",
                    "warehouse_storage",
                    "warehouse_output",
                    "company",
                    "outgoing_moves",
                ],
            )
            .await[0];
        let created = self
            .call(
                model,
                "create",
                vec![json!([header
                    .iter()
                    .filter(|(name, _)| *name != "id" && *name != "outgoing_moves")
                    .map(|(name, value)| (name.clone(), value.clone()))
                    .collect::<Map<_, _>>()])],
            )
            .await;
        let part = created[0].as_i64().expect("the new shipment");
        let on_part = format!("{model},{part}");
        let move_ids: Vec<i64> = header["outgoing_moves"]
            .as_array()
            .map(|ids| ids.iter().filter_map(Value::as_i64).collect())
            .unwrap_or_default();
        let moves = self
            .read("stock.move", &move_ids, &["product", "quantity"])
            .await;
        for (sku, units) in lines {
            let product = self.server.product(sku);
            let found = moves
                .iter()
                .find(|m| m["product"].as_i64() == Some(product))
                .unwrap_or_else(|| panic!("{sku} is not on shipment {shipment}"));
            let id = found["id"].as_i64().expect("move id");
            let quantity = found["quantity"].as_f64().expect("move quantity");
            let units = *units as f64;
            if (quantity - units).abs() < f64::EPSILON {
                self.call(
                    "stock.move",
                    "write",
                    vec![json!([id]), json!({"shipment": on_part})],
                )
                .await;
            } else {
                self.call(
                    "stock.move",
                    "copy",
                    vec![json!([id]), json!({"quantity": units, "shipment": on_part})],
                )
                .await;
                self.call(
                    "stock.move",
                    "write",
                    vec![json!([id]), json!({"quantity": quantity - units})],
                )
                .await;
            }
        }
        self.call(model, "wait", vec![json!([shipment, part])])
            .await;
        part
    }

    /// Reads fields of records.
    pub async fn read(&self, model: &str, ids: &[i64], fields: &[&str]) -> Vec<Map<String, Value>> {
        let rows = self
            .call(model, "read", vec![json!(ids), json!(fields)])
            .await;
        serde_json::from_value(rows).expect("rows")
    }
}
