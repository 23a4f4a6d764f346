//! Criterion benches (written below).
fn main() {}
