//! The Plumb console.
