//! The ERP side of the sandbox: order fixtures shared by the Tryton tests, the double's
//! tests and the benchmark.
//!
//! # Layout
//! - [`orders`]: Shopify-like orders and refunds in the contract's types.
//! - [`double`]: the ERP double (Tryton JSON-RPC subset, in memory, fault injection).

pub mod double;
pub mod orders;
