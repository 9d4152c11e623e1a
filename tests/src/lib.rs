//! Plumb's test sandbox and harness: what the end-to-end tests, the crash tests and the
//! benchmarks share.
//!
//! # Layout
//! - [`agent`]: start the real `plumbd` binary on a generated configuration, in a temporary
//!   directory, and talk to it over its control socket.
//! - [`bench`]: what the benchmarks share (budget accounting, the naive loop, percentiles).
//! - [`erp`]: order fixtures and the ERP double.
//! - [`fulfilment`]: an order's fulfilments in the sandbox, and the wait until they settle.
//! - [`reconcile`]: the reconciler over the control socket: runs, mismatches, waits.
//! - [`sandbox`]: the Shopify sandbox, an Admin GraphQL API and webhook double that
//!   behaves like Shopify (schema validation, cost and throttling, the 2026-04 contracts,
//!   faults, signed webhooks with retries, orders); run in-process or as the
//!   `shopify-sandbox` binary.
//! - [`shopify`]: the agent's Shopify client pointed at the sandbox, and a level-sync
//!   driver that handles outcomes as the inventory flow does.
//! - [`tmux`]: a program in a real terminal (tmux): send keys, read the screen.
//! - [`tryton`]: start, seed and stop a real Tryton ERP; act on it as a warehouse clerk.
//! - [`webhooks`]: sign and send webhook deliveries the way Shopify does.

pub mod agent;
pub mod bench;
pub mod erp;
pub mod fulfilment;
pub mod inventory;
pub mod reconcile;
pub mod sandbox;
pub mod shopify;
pub mod tmux;
pub mod tryton;
pub mod webhooks;
