//! `plumbd`, the Plumb agent, as a library: `main.rs` parses the command line and calls
//! [`run`]; the tests call the same function with their own listeners and shutdown.
pub mod clock;
pub mod shutdown;
pub mod store;
pub mod worker;
