//! The vocabulary `plumbd` and `plumb` share.
//!
//! # Layout
//! - [`domain`]: domain values shared by the flows and the connectors ([`Sku`],
//!   [`CurrencyCode`], [`Money`], [`Decimal`]).
//! - [`flow`]: the sync flows ([`FlowKind`]) and their wire names.
//! - [`job`]: job identity and state as the console sees them ([`JobId`], [`JobState`],
//!   [`ErrorClass`]).
//! - [`time`]: [`Timestamp`], milliseconds since the Unix epoch, the one time type on the
//!   wire and in the store.
//! - [`parity`]: reconciliation runs, their parity per dimension and their mismatches.
//! - [`protocol`]: the versioned control protocol (handshake, requests, responses, events).
//! - [`frame`]: length-prefixed framing of protocol messages on a byte stream, with a size
//!   cap so a bad peer cannot make either side allocate without bound.

pub mod domain;
pub mod flow;
pub mod frame;
pub mod job;
pub mod parity;
pub mod protocol;
pub mod time;

pub use domain::{CurrencyCode, Decimal, DomainError, Money, Sku};
pub use flow::FlowKind;
pub use job::{ErrorClass, JobId, JobState};
pub use time::Timestamp;
