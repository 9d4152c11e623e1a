//! ERP connector benchmarks (filled in below).
fn main() {}
