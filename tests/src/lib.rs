//! Plumb's test sandbox and harness: what the end-to-end tests, the crash tests and the
//! benchmarks share.
//!
//! # Layout
//! - [`agent`]: start the real `plumbd` binary on a generated configuration, in a temporary
//!   directory, and talk to it over its control socket.
//! - [`webhooks`]: sign and send webhook deliveries the way Shopify does.

pub mod agent;
pub mod sandbox;
pub mod webhooks;
