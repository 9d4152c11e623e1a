//! `plumbd`, the Plumb agent, as a library: `main.rs` parses the command line and calls
//! [`run`]; the tests call the same function with their own listeners and shutdown.
pub mod alerts;
pub mod app;
pub mod clock;
pub mod config;
pub mod control;
pub mod erp;
pub mod flows;
pub mod logging;
pub mod shopify;
pub mod shutdown;
pub mod store;
pub mod webhook;
pub mod work;
pub mod worker;
