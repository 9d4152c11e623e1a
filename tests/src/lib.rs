//! The Plumb test sandbox.
