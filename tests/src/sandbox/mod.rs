//! A Shopify Admin API double that behaves like Shopify, faults included, so the agent can
//! be tested against it: "if the sandbox is kinder than Shopify, the agent will fail in
//! production".
//!
//! It serves `POST /admin/api/{2026-07|2026-10}/graphql.json`, validates each document
//! against that version's real schema, executes it over an in-memory shop, charges cost
//! to a leaky bucket and answers THROTTLED, MAX_COST_EXCEEDED and the 2026-04 contracts
//! (`@idempotent`, `changeFromQuantity`) exactly as Shopify does. It delivers signed
//! webhooks with Shopify's retries and subscription removal, simulates orders, and
//! injects faults from a seeded RNG.
//!
//! # Use
//! ```text
//! let sandbox = Sandbox::start(SandboxConfig::default()).await?;   // 127.0.0.1:0
//! let admin = sandbox.admin();
//! let location = admin.add_location("Main");
//! let items = admin.add_catalog("SKU", 10_000, &[location], 5);
//! admin.set_faults(FaultConfig { server_error: 0.05, response_lost: 0.01, ..Default::default() });
//! // point the client at sandbox.graphql_url(ApiVersion::V2026_07) with sandbox.access_token()
//! let stats = admin.stats();            // requests, throttled, points charged, per operation
//! let level = admin.level(items[0].inventory_item_id, location);
//! ```
//!
//! # Invariants
//! - Nothing is kinder than Shopify: every refusal Shopify makes for the operations served
//!   is made with Shopify's shape; anything not implemented is a loud error naming it.
//! - A request sees one consistent state: execution holds the state lock throughout.
//! - A mutation is applied at most once per idempotency key; faults that lose or replace a
//!   response never change that.
//!
//! # Fidelity notes
//! Taken from Shopify's documentation, schema and recorded responses: the cost rules and
//! bucket numbers, the THROTTLED and MAX_COST_EXCEEDED bodies, the `@idempotent` message,
//! the user-error codes (from the schema's enums), the webhook headers, signature,
//! timeouts, retry count and removal. Best guesses, to check against a real store when
//! one is at hand: the `INVALID_FIELD_ARGUMENTS` message for a missing
//! `changeFromQuantity` (from one public report), the `MAX_INPUT_SIZE_EXCEEDED` message,
//! `IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED` for a key whose first attempt ended in user
//! errors, an adjustment group of `null` when nothing changed, the retry spacing (56 s
//! doubling), and that invalid documents carry no `extensions.cost`.
//!
//! # Layout
//! - [`Sandbox`], [`SandboxConfig`]: start it in-process (port 0), get its URL and an
//!   [`admin::Admin`] handle; `src/bin/shopify-sandbox.rs` runs it as a process.
//! - `server`: HTTP (hyper): routing, token check, gzip; `admin_http`: `/sandbox/...`.
//! - `graphql`: one request through faults, validation, contracts, cost, bucket,
//!   idempotency and execution. `validate`, `contracts`, `cost`, `bucket`,
//!   `idempotency`, `faults`, `stats`: one concern each.
//! - `objects`, `fields/`, `connection`, `search`, `mutations`: the executor's object
//!   model over the state (apollo-compiler walks the document; these answer fields).
//! - `state`: the shop; `inventory`, `orders`, `fulfillment_moves`, `products`, `bulk`:
//!   what changes it.
//! - `payloads`, `webhooks`: webhook bodies from Shopify's examples, and delivery.
//! - `client`, `receiver`: a bare GraphQL client and a webhook receiver for tests,
//!   benchmarks and the demo.

pub mod admin;
mod admin_http;
pub mod bucket;
pub mod bulk;
pub mod client;
mod connection;
mod contracts;
pub mod cost;
mod document;
pub mod faults;
mod fields;
mod fulfillment_moves;
mod graphql;
pub mod idempotency;
pub mod inventory;
mod mutations;
pub mod objects;
pub mod orders;
pub mod payloads;
pub mod products;
pub mod receiver;
pub mod schema;
mod search;
mod server;
pub mod state;
pub mod stats;
pub mod table;
mod validate;
pub mod webhooks;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;

pub use admin::Admin;
pub use bucket::Plan;
pub use faults::{FaultConfig, FaultCounters};
pub use schema::ApiVersion;
pub use stats::Stats;

/// How to run the sandbox.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Address to bind; port 0 picks a free one.
    pub bind: SocketAddr,
    /// The token `X-Shopify-Access-Token` must carry.
    pub access_token: String,
    /// The app's client secret, which signs webhooks.
    pub app_secret: String,
    /// The shop's name (`<name>.myshopify.com`).
    pub shop_name: String,
    /// The shop's currency.
    pub currency: String,
    /// The plan, which sets the restore rate (bucket = 20 x rate).
    pub plan: Plan,
    /// Overrides the bucket size.
    pub bucket_size: Option<f64>,
    /// Overrides the restore rate (points/s).
    pub restore_rate: Option<f64>,
    /// Seed of the fault RNG.
    pub seed: u64,
    /// First id handed out; the default is above 2^53 so ids that go through f64 break.
    pub id_base: u64,
    /// Faults from the start.
    pub faults: FaultConfig,
    /// Webhook retries after the first attempt (Shopify: 8).
    pub webhook_retries: u32,
    /// First retry delay, doubled each time (56 s makes 8 retries span about 4 hours).
    pub webhook_retry_base: Duration,
    /// Multiplies every webhook delay, so tests run retries in milliseconds.
    pub webhook_time_scale: f64,
    /// Connect timeout of a delivery (Shopify: 1 s).
    pub webhook_connect_timeout: Duration,
    /// Total timeout of a delivery (Shopify: 5 s).
    pub webhook_timeout: Duration,
}

impl SandboxConfig {
    /// The defaults with a bucket that never runs dry (10,000,000 points, 1,000,000 a
    /// second): for benchmarks that measure something other than the budget.
    pub fn unmetered() -> SandboxConfig {
        SandboxConfig {
            restore_rate: Some(1_000_000.0),
            bucket_size: Some(10_000_000.0),
            ..SandboxConfig::default()
        }
    }

    /// The defaults, with webhooks signed with `app_secret`.
    pub fn signed_with(app_secret: &str) -> SandboxConfig {
        SandboxConfig {
            app_secret: app_secret.to_owned(),
            ..SandboxConfig::default()
        }
    }
}

impl Default for SandboxConfig {
    fn default() -> SandboxConfig {
        SandboxConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            access_token: "shpat_sandbox_token".to_owned(),
            app_secret: "sandbox-app-secret".to_owned(),
            shop_name: "plumb-sandbox".to_owned(),
            currency: "USD".to_owned(),
            plan: Plan::Standard,
            bucket_size: None,
            restore_rate: None,
            seed: 0x5eed,
            id_base: 9_007_199_254_740_993,
            faults: FaultConfig::default(),
            webhook_retries: 8,
            webhook_retry_base: Duration::from_secs(56),
            webhook_time_scale: 1.0,
            webhook_connect_timeout: Duration::from_secs(1),
            webhook_timeout: Duration::from_secs(5),
        }
    }
}

/// Why the sandbox could not start.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// Binding the listener failed.
    #[error("cannot bind {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// The schema fixture did not parse (a corrupted fixture).
    #[error("cannot load the Admin API schema: {0}")]
    Schema(String),
    /// The HTTP client for webhooks could not be built.
    #[error("cannot build the webhook client: {0}")]
    Client(#[from] reqwest::Error),
}

/// What every part of a running sandbox shares.
#[derive(Debug)]
pub struct Shared {
    config: SandboxConfig,
    base_url: String,
    state: Mutex<state::State>,
    bucket: Mutex<bucket::Bucket>,
    keys: Mutex<idempotency::KeyStore>,
    faults: Mutex<faults::Faults>,
    stats: Mutex<Stats>,
    deliveries: Mutex<Vec<webhooks::DeliveryRecord>>,
    webhook_client: reqwest::Client,
}

/// Locks `mutex`, taking the data even if a panicking thread poisoned it: the sandbox's
/// state stays usable for the rest of a test run.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Shared {
    fn lock_state(&self) -> MutexGuard<'_, state::State> {
        lock(&self.state)
    }
    fn lock_bucket(&self) -> MutexGuard<'_, bucket::Bucket> {
        lock(&self.bucket)
    }
    fn lock_keys(&self) -> MutexGuard<'_, idempotency::KeyStore> {
        lock(&self.keys)
    }
    fn lock_faults(&self) -> MutexGuard<'_, faults::Faults> {
        lock(&self.faults)
    }
    fn lock_stats(&self) -> MutexGuard<'_, Stats> {
        lock(&self.stats)
    }
    fn lock_deliveries(&self) -> MutexGuard<'_, Vec<webhooks::DeliveryRecord>> {
        lock(&self.deliveries)
    }

    /// Turns the state's pending events into deliveries for the matching subscriptions.
    fn route_events(&self, state: &mut state::State) -> Vec<webhooks::Delivery> {
        let events = std::mem::take(&mut state.events);
        webhooks::route(state, events)
    }

    /// Starts delivering.
    fn deliver(self: &Arc<Self>, deliveries: Vec<webhooks::Delivery>) {
        for delivery in deliveries {
            webhooks::spawn(self.clone(), delivery);
        }
    }

    /// Runs a bulk operation in the background, as Shopify does.
    fn spawn_bulk(self: &Arc<Self>, version: ApiVersion, id: u64) {
        let shared = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            let deliveries = {
                let mut state = shared.lock_state();
                if let Some(op) = state.bulk_operations.get_mut(&id) {
                    op.status = "RUNNING".to_owned();
                }
                bulk::run(&mut state, version, &shared.base_url, id);
                shared.route_events(&mut state)
            };
            shared.deliver(deliveries);
        });
    }
}

/// A running sandbox. Dropping it stops the server.
#[derive(Debug)]
pub struct Sandbox {
    shared: Arc<Shared>,
    addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Sandbox {
    /// Binds `config.bind` and serves until dropped or [`Sandbox::shutdown`]. Returns once
    /// the 2026-07 schema is parsed (seconds in a debug build, once per process), so the
    /// first request is not slower than Shopify would be and trips no client timeout.
    pub async fn start(config: SandboxConfig) -> Result<Sandbox, SandboxError> {
        tokio::task::spawn_blocking(|| schema::schema(ApiVersion::V2026_07).map(|_| ()))
            .await
            .map_err(|error| SandboxError::Schema(error.to_string()))?
            .map_err(|error| SandboxError::Schema(error.to_string()))?;
        let listener =
            TcpListener::bind(config.bind)
                .await
                .map_err(|source| SandboxError::Bind {
                    addr: config.bind,
                    source,
                })?;
        Sandbox::serve(listener, config)
    }

    /// Serves on an already bound listener.
    pub fn serve(listener: TcpListener, config: SandboxConfig) -> Result<Sandbox, SandboxError> {
        let addr = listener.local_addr().map_err(|source| SandboxError::Bind {
            addr: config.bind,
            source,
        })?;
        let restore = config
            .restore_rate
            .unwrap_or_else(|| config.plan.restore_rate());
        let size = config.bucket_size.unwrap_or(restore * 20.0);
        let mut faults = faults::Faults::new(config.seed);
        faults.config = config.faults.clone();
        let webhook_client = reqwest::Client::builder()
            .connect_timeout(config.webhook_connect_timeout)
            .timeout(config.webhook_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let shared = Arc::new(Shared {
            base_url: format!("http://{addr}"),
            state: Mutex::new(state::State::new(
                &config.shop_name,
                &config.currency,
                config.id_base,
            )),
            bucket: Mutex::new(bucket::Bucket::new(size, restore)),
            keys: Mutex::new(idempotency::KeyStore::default()),
            faults: Mutex::new(faults),
            stats: Mutex::new(Stats::default()),
            deliveries: Mutex::new(Vec::new()),
            webhook_client,
            config,
        });
        // Parse the default schema now, off the request path: it takes seconds in debug.
        std::thread::spawn(|| {
            let _ = schema::schema(ApiVersion::V2026_07);
        });
        let (shutdown, receiver) = watch::channel(false);
        let task = tokio::spawn(server::serve(listener, shared.clone(), receiver));
        tracing::info!(%addr, "Shopify sandbox listening");
        Ok(Sandbox {
            shared,
            addr,
            shutdown,
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The GraphQL endpoint of `version`.
    pub fn graphql_url(&self, version: ApiVersion) -> String {
        format!("{}/admin/api/{}/graphql.json", self.url(), version.as_str())
    }

    /// The access token requests must carry.
    pub fn access_token(&self) -> &str {
        &self.shared.config.access_token
    }

    /// The shop domain (`<name>.myshopify.com`).
    pub fn shop_domain(&self) -> String {
        format!("{}.myshopify.com", self.shared.config.shop_name)
    }

    /// The handle to set up, inspect and break the shop.
    pub fn admin(&self) -> Admin {
        Admin::new(self.shared.clone())
    }

    /// Stops serving and waits for the listener task.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}
