//! The orders flow: Shopify orders and refunds booked in the ERP.
//!
//! - [`payload`]: the webhook bodies (and the backfill's GraphQL order in the same shape),
//!   parsed with a precise reason when they do not fit; personal data redaction.
//! - [`mapping`]: payloads as the ERP's sales orders and refunds, checked to the cent.

pub mod mapping;
pub mod payload;
